/* fs.aio-max-nr used up by another process while kaio runs (tests/fault.sh
 * lowers it and starts fault/aiomax_grab, which takes every slot left).
 *   aiomax DIR hold: a process that already made its context: 32 O_DIRECT
 *     reads in flight, then DIR/ready, then it waits for DIR/go (the slots
 *     are gone by then), completes them, and does 300 more requests: file
 *     reads, writes read back with pread, pipe reads, aio_fsync, a
 *     lio_listio. Everything must be right.
 *   aiomax DIR new: a process started while no slot is left: the same
 *     requests (served by kaio's fallback) must be right.
 * Prints one line per phase; exit 1 on a wrong result. */
#include "../prog/common.h"

#define BS 4096
#define NB 256
#define SEED 111

static int rfd, wfd, dfd;
static char *dir;

static int exists(const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

static void touch(const char *name)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	close(xopen(p, O_WRONLY | O_CREAT));
}

/* n requests of each kind; returns how many went wrong. */
static int work(int n)
{
	int wrong = 0;
	unsigned char *b = xalign(BS), *w = xalign(BS);
	for (int i = 0; i < n; i++) {
		struct aiocb cb;
		off_t off = (off_t)((i * 13) % NB) * BS;
		memset(b, 0xEE, BS);
		setup_cb(&cb, rfd, b, BS, off);
		if (aio_read(&cb) || wait_one(&cb) || aio_return(&cb) != BS ||
		    check_pat(b, BS, (uint64_t)off, SEED) >= 0)
			wrong++;
		fill_pat(w, BS, (uint64_t)off, SEED + 1 + (unsigned)i);
		setup_cb(&cb, wfd, w, BS, off);
		if (aio_write(&cb) || wait_one(&cb) || aio_return(&cb) != BS)
			wrong++;
		xpread_all(wfd, b, BS, off);
		if (check_pat(b, BS, (uint64_t)off, SEED + 1 + (unsigned)i) >= 0)
			wrong++;
		if (i % 16 == 0) {
			int p[2];
			char c = 0;
			if (pipe(p))
				DIE("pipe");
			setup_cb(&cb, p[0], &c, 1, 0);
			if (aio_read(&cb))
				wrong++;
			else {
				usleep(1000);
				if (write(p[1], "z", 1) != 1)
					DIE("write");
				if (wait_one(&cb) || aio_return(&cb) != 1 || c != 'z')
					wrong++;
			}
			close(p[0]);
			close(p[1]);
			setup_cb(&cb, wfd, NULL, 0, 0);
			if (aio_fsync(O_DSYNC, &cb) || wait_one(&cb) || aio_return(&cb))
				wrong++;
		}
	}
	/* a list */
	struct aiocb cbs[8], *list[8];
	unsigned char *lb = xalign(8 * BS);
	for (int i = 0; i < 8; i++) {
		setup_cb(&cbs[i], rfd, lb + i * BS, BS, (off_t)i * BS);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	if (lio_listio(LIO_WAIT, list, 8, NULL))
		wrong++;
	for (int i = 0; i < 8; i++)
		if (aio_error(&cbs[i]) || aio_return(&cbs[i]) != BS ||
		    check_pat(lb + i * BS, BS, (uint64_t)i * BS, SEED) >= 0)
			wrong++;
	free(lb);
	free(b);
	free(w);
	return wrong;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	if (argc < 3)
		DIE("usage: aiomax DIR hold|new");
	dir = argv[1];
	int hold = !strcmp(argv[2], "hold");
	char *rp = tpath(hold ? "hold_r" : "new_r"), *wp = tpath(hold ? "hold_w" : "new_w");
	make_pat_file(rp, NB * BS, SEED);
	dfd = open_direct(rp, O_RDONLY);
	rfd = dfd >= 0 ? dfd : xopen(rp, O_RDONLY);
	wfd = xopen(wp, O_RDWR | O_CREAT | O_TRUNC);
	say("%s: before: %d wrong", argv[2], work(8));

	if (hold) {
		struct aiocb cbs[32];
		unsigned char *b = xalign(32 * BS);
		for (int i = 0; i < 32; i++) {
			setup_cb(&cbs[i], rfd, b + i * BS, BS, (off_t)(NB - 1 - i) * BS);
			if (aio_read(&cbs[i]))
				DIE("aio_read");
		}
		touch("ready");
		double end = now_sec() + 30;
		while (!exists("go"))
			if (now_sec() > end)
				DIE("no go");
			else
				usleep(5000);
		int wrong = 0;
		for (int i = 0; i < 32; i++)
			if (wait_one(&cbs[i]) || aio_return(&cbs[i]) != BS ||
			    check_pat(b + i * BS, BS, (uint64_t)(NB - 1 - i) * BS, SEED) >= 0)
				wrong++;
		say("hold: the 32 reads in flight: %d wrong", wrong);
		CHECK(!wrong, "in-flight reads");
	}
	int wrong = work(300);
	say("%s: 300 rounds while exhausted: %d wrong", argv[2], wrong);
	CHECK(!wrong, "rounds");
	return t_finish();
}
