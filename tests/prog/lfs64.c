/* Built with _FILE_OFFSET_BITS 64, so the program references only the *64
 * names (aio_read64, aio_write64, aio_error64, aio_return64, aio_suspend64,
 * aio_fsync64, aio_cancel64, lio_listio64): a round trip, one past 4 GiB in
 * a sparse file, an fsync, a cancel after completion, and lio_listio64. */
#define _FILE_OFFSET_BITS 64
#include "common.h"

#define BS 4096

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("lfs64");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	static const off_t offs[] = { 0, 4096, (off_t)5 << 30, ((off_t)1 << 32) - 100 };
	unsigned char w[BS], r[BS];
	for (int i = 0; i < 4; i++) {
		struct aiocb cb;
		fill_pat(w, BS, (uint64_t)offs[i], 7);
		setup_cb(&cb, fd, w, BS, offs[i]);
		say("aio_write @%jd: %s", (intmax_t)offs[i], RC(aio_write(&cb)));
		wait_one(&cb);
		say("write: %s", result(&cb));
		memset(r, 0, BS);
		setup_cb(&cb, fd, r, BS, offs[i]);
		say("aio_read @%jd: %s", (intmax_t)offs[i], RC(aio_read(&cb)));
		wait_one(&cb);
		say("read: %s", result(&cb));
		say("data %s", memcmp(w, r, BS) ? "DIFFERS" : "ok");
		CHECK(memcmp(w, r, BS) == 0, "data @%jd", (intmax_t)offs[i]);
	}
	struct stat st;
	fstat(fd, &st);
	say("size %jd", (intmax_t)st.st_size);

	struct aiocb fs;
	setup_cb(&fs, fd, NULL, 0, 0);
	say("aio_fsync: %s", RC(aio_fsync(O_SYNC, &fs)));
	wait_one(&fs);
	say("fsync: %s", result(&fs));
	say("aio_cancel done: %s", cancelname(aio_cancel(fd, &fs)));

	/* lio_listio64: 8 writes beyond 4 GiB, then 8 reads of them. */
	struct aiocb cbs[8];
	struct aiocb *list[8];
	unsigned char *bufs = xmalloc(8 * BS);
	off_t base = (off_t)6 << 30;
	for (int i = 0; i < 8; i++) {
		fill_pat(bufs + i * BS, BS, (uint64_t)(base + i * BS), 8);
		setup_cb(&cbs[i], fd, bufs + i * BS, BS, base + i * BS);
		cbs[i].aio_lio_opcode = LIO_WRITE;
		list[i] = &cbs[i];
	}
	say("lio_listio writes: %s", RC(lio_listio(LIO_WAIT, list, 8, NULL)));
	int good = 0;
	for (int i = 0; i < 8; i++)
		good += aio_error(&cbs[i]) == 0 && aio_return(&cbs[i]) == BS;
	say("%d writes right", good);
	memset(bufs, 0, 8 * BS);
	for (int i = 0; i < 8; i++)
		cbs[i].aio_lio_opcode = LIO_READ;
	say("lio_listio reads: %s", RC(lio_listio(LIO_NOWAIT, list, 8, NULL)));
	wait_list(list, 8);
	good = 0;
	for (int i = 0; i < 8; i++)
		good += aio_error(&cbs[i]) == 0 && aio_return(&cbs[i]) == BS &&
			check_pat(bufs + i * BS, BS, (uint64_t)(base + i * BS), 8) < 0;
	say("%d reads right", good);
	CHECK(good == 8, "reads");
	close(fd);
	unlink(path);
	return t_finish();
}
