/* lio_listio LIO_WAIT where some entries fail in flight (bad fd, write on an
 * O_RDONLY fd, negative offset): -1 EIO, and every aiocb still holds its own
 * result (the bad ones their error and -1, the others the right byte count
 * and data). Then LIO_NOWAIT with the same list: returns 0 (the errors are
 * deferred), and after waiting each aiocb holds its own result. */
#include "common.h"

#define BS 4096
#define N 12

static void run(int mode, int fd, int rdonly)
{
	struct aiocb cbs[N];
	struct aiocb *list[N];
	unsigned char *bufs = xmalloc(N * BS);
	for (int i = 0; i < N; i++) {
		unsigned char *b = bufs + (size_t)i * BS;
		memset(b, 0xEE, BS);
		setup_cb(&cbs[i], fd, b, BS, (off_t)i * BS);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	cbs[3].aio_fildes = 999;		/* EBADF */
	cbs[7].aio_lio_opcode = LIO_WRITE;	/* EBADF: O_RDONLY fd */
	cbs[7].aio_fildes = rdonly;
	cbs[9].aio_offset = -BS;		/* EINVAL */
	cbs[11].aio_fildes = 999;		/* EBADF, last */

	const char *m = mode == LIO_WAIT ? "LIO_WAIT" : "LIO_NOWAIT";
	say("%s: %s", m, RC(lio_listio(mode, list, N, NULL)));
	if (mode == LIO_NOWAIT)
		wait_list(list, N);
	int good = 0;
	for (int i = 0; i < N; i++) {
		int e = aio_error(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		if (i == 3 || i == 7 || i == 9 || i == 11) {
			say("%s entry %d: error %s return %zd", m, i, errname(e), r);
			continue;
		}
		if (e == 0 && r == BS &&
		    check_pat(bufs + (size_t)i * BS, BS, (uint64_t)i * BS, 6) < 0)
			good++;
		else
			say("%s entry %d: error %s return %zd (WRONG)", m, i, errname(e), r);
	}
	say("%s: %d good entries of %d", m, good, N - 4);
	CHECK(good == N - 4, "good %d", good);
	free(bufs);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("lio_eio");
	make_pat_file(path, N * BS, 6);
	int fd = xopen(path, O_RDONLY);
	int rdonly = xopen(path, O_RDONLY);
	run(LIO_WAIT, fd, rdonly);
	run(LIO_NOWAIT, fd, rdonly);

	/* All entries fail. */
	struct aiocb a, b;
	char x[8];
	setup_cb(&a, 999, x, 8, 0);
	setup_cb(&b, 998, x, 8, 0);
	a.aio_lio_opcode = LIO_READ;
	b.aio_lio_opcode = LIO_WRITE;
	struct aiocb *l2[2] = { &a, &b };
	say("LIO_WAIT all bad: %s", RC(lio_listio(LIO_WAIT, l2, 2, NULL)));
	say("a: %s", result(&a));
	say("b: %s", result(&b));
	return t_finish();
}
