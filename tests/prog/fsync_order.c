/* aio_fsync completes only after every write queued before it on that fd:
 * 64 writes, then aio_fsync(O_SYNC) on the same fd without waiting; poll the
 * fsync's aio_error until it is no longer EINPROGRESS and, right then, every
 * one of the 64 writes must be done (aio_error not EINPROGRESS). The file
 * then holds the data. Same with O_DSYNC; buffered and O_DIRECT. Also a
 * fsync between two batches: writes after it need not be done. */
#include "common.h"

#define N 64
#define BS 4096

static void round_(int fd, int op, unsigned seed, const char *what)
{
	struct aiocb cbs[N], fs;
	unsigned char *bufs = xalign(N * BS);
	for (int i = 0; i < N; i++) {
		fill_pat(bufs + (size_t)i * BS, BS, (uint64_t)i * BS, seed);
		setup_cb(&cbs[i], fd, bufs + (size_t)i * BS, BS, (off_t)i * BS);
		CHECK(aio_write(&cbs[i]) == 0, "aio_write: %s", errname(errno));
	}
	setup_cb(&fs, fd, NULL, 0, 0);
	say("%s: aio_fsync: %s", what, RC(aio_fsync(op, &fs)));
	int e;
	double end = now_sec() + T_STUCK_SEC;
	unsigned long spins = 0;
	/* Poll the fsync alone; nothing else is asked about meanwhile. */
	while ((e = aio_error(&fs)) == EINPROGRESS) {
		if (++spins % 64 == 0) {
			sched_yield();
			if (now_sec() > end)
				DIE("fsync stuck");
		}
	}
	int pending = 0;
	for (int i = 0; i < N; i++)
		pending += aio_error(&cbs[i]) == EINPROGRESS;
	say("%s: fsync %s", what, result(&fs));
	say("%s: writes still in progress when the fsync was done: %d", what, pending);
	CHECK(pending == 0, "%d pending", pending);
	int bad = 0;
	for (int i = 0; i < N; i++)
		bad += wait_one(&cbs[i]) != 0 || aio_return(&cbs[i]) != BS;
	unsigned char *chk = xalign(N * BS);
	xpread_all(fd, chk, N * BS, 0);
	bad += check_pat(chk, N * BS, 0, seed) >= 0;
	say("%s: writes and file %s", what, bad ? "WRONG" : "ok");
	CHECK(bad == 0, "bad");
	free(chk);
	free(bufs);
}

/* Same, but waiting for the fsync with aio_suspend on it alone. */
static void round_suspend(int fd, int op, unsigned seed, const char *what)
{
	struct aiocb cbs[N], fs;
	unsigned char *bufs = xalign(N * BS);
	for (int i = 0; i < N; i++) {
		fill_pat(bufs + (size_t)i * BS, BS, (uint64_t)i * BS, seed);
		setup_cb(&cbs[i], fd, bufs + (size_t)i * BS, BS, (off_t)i * BS);
		CHECK(aio_write(&cbs[i]) == 0, "aio_write: %s", errname(errno));
	}
	setup_cb(&fs, fd, NULL, 0, 0);
	say("%s: aio_fsync: %s", what, RC(aio_fsync(op, &fs)));
	const struct aiocb *l[1] = { &fs };
	while (aio_error(&fs) == EINPROGRESS)
		aio_suspend(l, 1, NULL);
	int pending = 0;
	for (int i = 0; i < N; i++)
		pending += aio_error(&cbs[i]) == EINPROGRESS;
	say("%s: fsync %s", what, result(&fs));
	say("%s: writes still in progress when the fsync was done: %d", what, pending);
	CHECK(pending == 0, "%d pending", pending);
	for (int i = 0; i < N; i++)
		wait_one(&cbs[i]);
	free(bufs);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("fsync_order");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	round_(fd, O_SYNC, 1, "buffered O_SYNC");
	round_(fd, O_DSYNC, 2, "buffered O_DSYNC");
	round_suspend(fd, O_SYNC, 3, "buffered O_SYNC, suspend");
	close(fd);
	fd = open_direct(path, O_RDWR);
	if (fd < 0) {
		say("measure: direct 0");
		fd = xopen(path, O_RDWR);
	}
	round_(fd, O_SYNC, 4, "direct O_SYNC");
	round_(fd, O_DSYNC, 5, "direct O_DSYNC");
	round_suspend(fd, O_DSYNC, 6, "direct O_DSYNC, suspend");

	/* Writes on another fd of the same file are not ordered by this fsync,
	 * but those on this fd are, even with another fd's fsync in between. */
	int fd2 = xopen(path, O_RDWR);
	struct aiocb w[8], f1, f2;
	unsigned char *b = xalign(8 * BS);
	for (int i = 0; i < 8; i++) {
		fill_pat(b + i * BS, BS, (uint64_t)i * BS, 7);
		setup_cb(&w[i], fd, b + i * BS, BS, (off_t)i * BS);
		aio_write(&w[i]);
	}
	setup_cb(&f2, fd2, NULL, 0, 0);
	setup_cb(&f1, fd, NULL, 0, 0);
	say("fsync other fd: %s", RC(aio_fsync(O_SYNC, &f2)));
	say("fsync this fd: %s", RC(aio_fsync(O_DSYNC, &f1)));
	poll_one(&f1);
	int pending = 0;
	for (int i = 0; i < 8; i++)
		pending += aio_error(&w[i]) == EINPROGRESS;
	say("this fd's writes pending after its fsync: %d", pending);
	CHECK(pending == 0, "pending %d", pending);
	wait_one(&f2);
	say("fsync other fd: %s", result(&f2));
	say("fsync this fd: %s", result(&f1));
	for (int i = 0; i < 8; i++)
		wait_one(&w[i]);
	return t_finish();
}
