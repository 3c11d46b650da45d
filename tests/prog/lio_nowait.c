/* lio_listio LIO_NOWAIT with 32 entries (reads and writes) and a NULL list
 * sigevent, then aio_suspend over the list until all are done; each entry's
 * result and data are right. Also LIO_NOWAIT with sigevent SIGEV_NONE, and a
 * second list submitted while the first is still running. */
#include "common.h"

#define BS 4096
#define N 32

static void batch(int fd, struct sigevent *sev, unsigned seed, const char *what)
{
	struct aiocb cbs[N];
	struct aiocb *list[N];
	unsigned char *bufs = xmalloc(N * BS);
	/* Even entries write blocks N..2N-1; odd ones read blocks 0..N-1. */
	for (int i = 0; i < N; i++) {
		unsigned char *b = bufs + (size_t)i * BS;
		if (i % 2 == 0) {
			fill_pat(b, BS, (uint64_t)(N + i) * BS, seed);
			setup_cb(&cbs[i], fd, b, BS, (off_t)(N + i) * BS);
			cbs[i].aio_lio_opcode = LIO_WRITE;
		} else {
			memset(b, 0xEE, BS);
			setup_cb(&cbs[i], fd, b, BS, (off_t)i * BS);
			cbs[i].aio_lio_opcode = LIO_READ;
		}
		list[i] = &cbs[i];
	}
	say("%s: %s", what, RC(lio_listio(LIO_NOWAIT, list, N, sev)));

	/* Wait as POSIX programs do: suspend on the whole list, then look. */
	double end = now_sec() + T_STUCK_SEC;
	int rounds = 0;
	for (;;) {
		int pending = 0;
		for (int i = 0; i < N; i++)
			if (aio_error(&cbs[i]) == EINPROGRESS)
				pending++;
		if (!pending)
			break;
		int r = aio_suspend((const struct aiocb *const *)list, N, NULL);
		CHECK(r == 0 || errno == EINTR, "aio_suspend %s", rc(r, errno));
		rounds++;
		if (now_sec() > end)
			DIE("stuck");
	}
	say("measure: suspend_rounds %d", rounds);
	int good = 0;
	for (int i = 0; i < N; i++) {
		int e = aio_error(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		int ok = e == 0 && r == BS;
		if (i % 2 == 1)
			ok = ok && check_pat(bufs + (size_t)i * BS, BS, (uint64_t)i * BS, 8) < 0;
		good += ok;
	}
	unsigned char *chk = xmalloc(BS);
	for (int i = 0; i < N; i += 2) {
		xpread_all(fd, chk, BS, (off_t)(N + i) * BS);
		if (check_pat(chk, BS, (uint64_t)(N + i) * BS, seed) >= 0)
			good--;
	}
	say("%s: %d of %d right", what, good, N);
	CHECK(good == N, "%d good", good);
	free(chk);
	free(bufs);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("lio_nowait");
	make_pat_file(path, 2 * N * BS, 8);
	int fd = xopen(path, O_RDWR);
	batch(fd, NULL, 11, "LIO_NOWAIT sig NULL");
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_NONE;
	batch(fd, &sev, 12, "LIO_NOWAIT SIGEV_NONE");

	/* Two lists in flight at once, on two fds of the same file. */
	int fd2 = xopen(path, O_RDONLY);
	struct aiocb a[N], b[N];
	struct aiocb *la[N], *lb[N];
	unsigned char *ba = xmalloc(N * BS), *bb = xmalloc(N * BS);
	for (int i = 0; i < N; i++) {
		setup_cb(&a[i], fd, ba + (size_t)i * BS, BS, (off_t)i * BS);
		setup_cb(&b[i], fd2, bb + (size_t)i * BS, BS, (off_t)(N - 1 - i) * BS);
		a[i].aio_lio_opcode = b[i].aio_lio_opcode = LIO_READ;
		la[i] = &a[i];
		lb[i] = &b[i];
	}
	say("list a: %s", RC(lio_listio(LIO_NOWAIT, la, N, NULL)));
	say("list b: %s", RC(lio_listio(LIO_NOWAIT, lb, N, NULL)));
	wait_list(lb, N);
	wait_list(la, N);
	int good = 0;
	for (int i = 0; i < N; i++) {
		good += aio_return(&a[i]) == BS &&
			check_pat(ba + (size_t)i * BS, BS, (uint64_t)i * BS, 8) < 0;
		good += aio_return(&b[i]) == BS &&
			check_pat(bb + (size_t)i * BS, BS, (uint64_t)(N - 1 - i) * BS, 8) < 0;
	}
	say("two lists: %d of %d right", good, 2 * N);
	CHECK(good == 2 * N, "%d", good);
	return t_finish();
}
