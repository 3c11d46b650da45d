/* lio_listio:
 *   LIO_WAIT with 16 entries (8 writes, 8 reads), NULL entries and LIO_NOP
 *   entries in the list, which are skipped; on return every request is done
 *   with its own result, and the data is right;
 *   nent 0 -> 0 (LIO_WAIT and LIO_NOWAIT); a list of only NULL/LIO_NOP -> 0;
 *   mode other than LIO_WAIT/LIO_NOWAIT -> -1 EINVAL, nothing submitted. */
#include "common.h"

#define BS 4096

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("lio_basic");
	make_pat_file(path, 32 * BS, 4);
	int fd = xopen(path, O_RDWR);

	struct aiocb cbs[20];
	struct aiocb *list[24];
	unsigned char *bufs = xmalloc(20 * BS);
	int n = 0;
	for (int i = 0; i < 20; i++) {
		unsigned char *b = bufs + (size_t)i * BS;
		if (i < 8) { /* writes to blocks 16..23 with seed 40 */
			fill_pat(b, BS, (uint64_t)(16 + i) * BS, 40);
			setup_cb(&cbs[i], fd, b, BS, (off_t)(16 + i) * BS);
			cbs[i].aio_lio_opcode = LIO_WRITE;
		} else if (i < 16) { /* reads of blocks 0..7 */
			memset(b, 0xEE, BS);
			setup_cb(&cbs[i], fd, b, BS, (off_t)(i - 8) * BS);
			cbs[i].aio_lio_opcode = LIO_READ;
		} else { /* NOPs pointing at a bad fd: must be ignored */
			setup_cb(&cbs[i], 999, b, BS, -1);
			cbs[i].aio_lio_opcode = LIO_NOP;
		}
		list[n++] = &cbs[i];
		if (i % 5 == 0)
			list[n++] = NULL;
	}
	say("lio_listio LIO_WAIT %d entries: %s", n,
	    RC(lio_listio(LIO_WAIT, list, n, NULL)));
	int bad = 0;
	for (int i = 0; i < 16; i++) {
		int e = aio_error(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		if (e != 0 || r != BS) {
			say("entry %d: error %s return %zd", i, errname(e), r);
			bad++;
		}
	}
	say("16 requests: %d with a wrong result", bad);
	CHECK(bad == 0, "%d bad", bad);
	int dbad = 0;
	for (int i = 8; i < 16; i++)
		if (check_pat(bufs + (size_t)i * BS, BS, (uint64_t)(i - 8) * BS, 4) >= 0)
			dbad++;
	unsigned char *chk = xmalloc(8 * BS);
	xpread_all(fd, chk, 8 * BS, 16 * BS);
	if (check_pat(chk, 8 * BS, 16 * BS, 40) >= 0)
		dbad++;
	say("data %s", dbad ? "DIFFERS" : "ok");
	CHECK(dbad == 0, "data");

	/* nent 0, and lists with nothing to do. */
	say("LIO_WAIT nent 0: %s", RC(lio_listio(LIO_WAIT, list, 0, NULL)));
	say("LIO_NOWAIT nent 0: %s", RC(lio_listio(LIO_NOWAIT, list, 0, NULL)));
	struct aiocb *nops[4] = { NULL, &cbs[16], NULL, &cbs[17] };
	say("LIO_WAIT only NULL/NOP: %s", RC(lio_listio(LIO_WAIT, nops, 4, NULL)));
	say("LIO_NOWAIT only NULL/NOP: %s", RC(lio_listio(LIO_NOWAIT, nops, 4, NULL)));

	/* Bad mode: nothing may be submitted. */
	struct aiocb w;
	char x = 'Z';
	setup_cb(&w, fd, &x, 1, 0);
	w.aio_lio_opcode = LIO_WRITE;
	struct aiocb *one[1] = { &w };
	say("mode 2: %s", RC(lio_listio(2, one, 1, NULL)));
	say("mode -1: %s", RC(lio_listio(-1, one, 1, NULL)));
	say("mode 12345 nent 0: %s", RC(lio_listio(12345, one, 0, NULL)));
	usleep(100000);
	char first;
	xpread_all(fd, &first, 1, 0);
	say("file byte 0 %s", first == (char)pat(0, 4) ? "unchanged" : "CHANGED");

	/* LIO_WAIT on one write, then a read of it, from the same aiocbs. */
	say("LIO_WAIT one write: %s", RC(lio_listio(LIO_WAIT, one, 1, NULL)));
	say("write: %s", result(&w));
	x = 0;
	w.aio_lio_opcode = LIO_READ;
	say("LIO_WAIT one read: %s", RC(lio_listio(LIO_WAIT, one, 1, NULL)));
	say("read: %s byte %c", result(&w), x);
	close(fd);
	return t_finish();
}
