/* Many requests at once while reads wait on idle pipes. Meant to be run
 * with a small kernel ring too (tests/env.sh: fs.aio-max-nr lowered so
 * io_setup only gets a few slots, or KAIO_QUEUE_DEPTH small); run.sh runs
 * it as is. argv[2]: how many idle pipes (default 16, below glibc's 20
 * helper threads, so glibc serves the file reads beside them).
 *   1. One 1-byte aio_read pending on each idle pipe.
 *   2. 4096 reads of 4 KiB of a 16 MiB file, submitted in a scattered order
 *      before any wait: all complete with the right block while the pipes
 *      stay idle (a wait that makes no progress for T_STUCK_SEC s is reported as
 *      "stuck", then the pipes are fed so the program can finish).
 *   3. 1024 aio_writes of 4 KiB to another file, then its content.
 *   4. Each pipe gets its byte: every pending read completes with it.
 * Threads: measure threads_none (kaio: 1). */
#include "common.h"

#define NREQ 4096
#define BS 4096
#define NW 1024

int main(int argc, char **argv)
{
	t_init(argc, argv);
	int np = argc > 2 ? atoi(argv[2]) : 16;
	if (np < 0 || np > 200)
		DIE("pipes: %d", np);
	char *path = tpath("aiomax");
	make_pat_file(path, (size_t)NREQ * BS, 23);
	int fd = xopen(path, O_RDONLY);

	int (*pp)[2] = xcalloc((size_t)np, sizeof *pp);
	char *pb = xcalloc((size_t)np, 1);
	struct aiocb *pc = xcalloc((size_t)np, sizeof *pc);
	for (int i = 0; i < np; i++) {
		if (pipe(pp[i]))
			DIE("pipe");
		setup_cb(&pc[i], pp[i][0], &pb[i], 1, 0);
		if (aio_read(&pc[i]))
			DIE("pipe aio_read %d: %s", i, strerror(errno));
	}
	say("%d idle pipe reads submitted", np);

	unsigned char *buf = xalign((size_t)NREQ * BS);
	memset(buf, 0xEE, (size_t)NREQ * BS);
	struct aiocb *cbs = xcalloc(NREQ, sizeof *cbs);
	int refused = 0;
	for (int k = 0; k < NREQ; k++) {
		int i = (int)(((unsigned)k * 2897u) % NREQ); /* scattered */
		setup_cb(&cbs[i], fd, buf + (size_t)i * BS, BS, (off_t)i * BS);
		if (aio_read(&cbs[i])) {
			refused++;
			cbs[i].aio_nbytes = 0;
		}
	}
	say("file reads refused: %d", refused);
	say("measure: threads_none %d", count_threads());
	int done = 0, stuck = 0;
	for (int i = 0; i < NREQ; i++) {
		if (!cbs[i].aio_nbytes)
			continue;
		if (wait_bounded(&cbs[i], T_STUCK_SEC) == EINPROGRESS) {
			stuck = 1;
			break;
		}
		done++;
	}
	if (stuck) {
		say("file reads: STUCK after %d done, with the pipes idle", done);
		for (int i = 0; i < np; i++)
			if (write(pp[i][1], "p", 1) != 1)
				DIE("write");
		for (int i = 0; i < NREQ; i++)
			if (cbs[i].aio_nbytes)
				wait_one(&cbs[i]);
	}
	int good = 0;
	for (int i = 0; i < NREQ; i++)
		good += cbs[i].aio_nbytes && aio_error(&cbs[i]) == 0 && aio_return(&cbs[i]) == BS &&
			check_pat(buf + (size_t)i * BS, BS, (uint64_t)i * BS, 23) < 0;
	say("file reads: %d of %d right", good, NREQ);

	char *path2 = tpath("aiomax_w");
	int wfd = xopen(path2, O_RDWR | O_CREAT | O_TRUNC);
	struct aiocb *wc = xcalloc(NW, sizeof *wc);
	for (int i = 0; i < NW; i++) {
		setup_cb(&wc[i], wfd, buf + (size_t)i * BS, BS, (off_t)i * BS);
		if (aio_write(&wc[i]))
			DIE("aio_write %d: %s", i, strerror(errno));
	}
	int wgood = 0;
	for (int i = 0; i < NW; i++) {
		if (wait_bounded(&wc[i], T_STUCK_SEC) == EINPROGRESS)
			break;
		wgood += aio_error(&wc[i]) == 0 && aio_return(&wc[i]) == BS;
	}
	unsigned char *back = xmalloc((size_t)NW * BS);
	if (wgood == NW)
		xpread_all(wfd, back, (size_t)NW * BS, 0);
	say("writes: %d of %d right, content %s", wgood, NW,
	    wgood == NW && check_pat(back, (size_t)NW * BS, 0, 23) < 0 ? "ok" : "WRONG");

	if (!stuck)
		for (int i = 0; i < np; i++)
			if (write(pp[i][1], "p", 1) != 1)
				DIE("write");
	int pgood = 0;
	for (int i = 0; i < np; i++) {
		wait_one(&pc[i]);
		pgood += aio_return(&pc[i]) == 1 && pb[i] == 'p';
	}
	say("pipe reads: %d of %d right", pgood, np);
	say("measure: threads_none %d", count_threads());
	return t_finish();
}
