/* aio_error and aio_return are async-signal-safe (POSIX requires it).
 *
 * A 1 ms interval timer (setitimer ITIMER_REAL, SIGALRM) fires while the
 * main thread loops over aio_read, aio_suspend, aio_error, aio_return,
 * aio_write, lio_listio (both modes) and aio_cancel on regular files. The
 * handler calls aio_error and aio_return on a request completed long ago
 * and on one in flight; aio_error must answer EINPROGRESS, 0 or ECANCELED.
 * The loop must finish (no deadlock) with every answer right.
 *
 * Two phases (2 runs first, in a child forked before any AIO), because
 * glibc 2.36 is not async-signal-safe here: its
 * aio_error takes __aio_requests_mutex (rt/aio_error.c:41), so a handler
 * that interrupts the main thread inside an aio call holding that lock
 * deadlocks (measured: both threads in __lll_lock_wait).
 *   1. compared with glibc: the handler calls them only while the main
 *      thread is in its own code between aio calls (requests in flight);
 *      300 rounds; the answers and the handler's bad aio_error count are
 *      printed.
 *   2. anywhere, as POSIX allows: for about 3 s the handler calls them
 *      wherever it lands, inside kaio's lock too. It runs in a child that
 *      the parent watches for progress (killed after 3 s without one), and
 *      its results are measure lines: kaio must finish with everything
 *      right (rules in run.sh); glibc hangs.
 * Handler-side counts are measure lines (timing-dependent).
 *
 * The handler may take the in-flight request's aio_return before the main
 * thread does: kaio then answers the main thread -1 EINVAL (the status was
 * retrieved; glibc answers the value again). The handler records what it
 * took, and the main thread accepts either its own value or that. */
#include "common.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

#define BS 4096
#define SEED 31
#define NBLK 256		/* blocks in the pattern file */
#define LN 4
#define P1_ROUNDS 300
#define P2_SEC 3.0

static int rfd, bfd, wfd;
static unsigned char *rb, *wb;

static struct aiocb done_cb;		/* completed at the start */
static unsigned char done_buf[BS] __attribute__((aligned(4096)));
static struct aiocb *volatile cur;	/* a request in flight, or NULL */
static volatile ssize_t took;		/* what the handler's aio_return got */
static volatile sig_atomic_t took_set;
static volatile sig_atomic_t anywhere, outside;

struct result {
	long rounds, requests, right, eintr_suspend, eintr_lio, canceled;
	int wblocks, wgood, finished;
	int ticks, calls, bad_error, bad_value, inprogress, zero, ecanceled;
	int done_value, done_einval;
	volatile long progress;
};
static struct result *res;

static void on_alarm(int s)
{
	(void)s;
	int saved = errno;
	res->ticks++;
	if (!anywhere && !outside) {
		errno = saved;
		return;
	}
	res->calls++;
	int e = aio_error(&done_cb);
	if (e != 0) {
		res->bad_error++;
		res->bad_value = e;
	}
	ssize_t r = aio_return(&done_cb);
	if (r == BS)
		res->done_value++;
	else if (r == -1 && errno == EINVAL)
		res->done_einval++;
	struct aiocb *c = cur;
	if (c) {
		e = aio_error(c);
		if (e == EINPROGRESS)
			res->inprogress++;
		else if (e == 0)
			res->zero++;
		else if (e == ECANCELED)
			res->ecanceled++;
		else {
			res->bad_error++;
			res->bad_value = e;
		}
		/* In flight or not: just call it (the value is not compared,
		 * but one it took is remembered for the main thread; it may
		 * have completed since aio_error). glibc answers 0 for one in
		 * flight, but never refuses the main thread's aio_return. */
		r = aio_return(c);
		if (r >= 0) {
			took = r;
			took_set = 1;
		}
	}
	errno = saved;
}

/* cb was submitted: the handler may look at it from now on. */
static void publish(struct aiocb *cb)
{
	took_set = 0;
	took = -2;
	cur = cb;
}

/* The main thread's aio_return on cb, which the handler may have taken. */
static int return_ok(struct aiocb *cb, ssize_t want)
{
	errno = 0;
	ssize_t r = aio_return(cb);
	int e = errno;
	if (r == want)
		return 1;
	return cur == cb && r == -1 && e == EINVAL && took_set && took == want;
}

/* Phase 1's window: ~1 ms in the program's own code, the handler allowed. */
static void window(void)
{
	if (anywhere)
		return;
	outside = 1;
	double end = now_sec() + 0.001;
	while (now_sec() < end)
		;
	outside = 0;
}

static void arm(int us)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_usec = us;
	it.it_interval.tv_usec = us;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void one_round(long round, uint64_t *rnd)
{
	*rnd = *rnd * 6364136223846793005ull + 1442695040888963407ull;
	int fdr = (*rnd >> 33) & 1 ? rfd : bfd;
	off_t off = (off_t)((*rnd >> 40) % NBLK) * BS;
	struct aiocb cb, side, lc[LN], cc[2];
	struct aiocb *ll[LN];

	/* aio_read + aio_suspend. */
	memset(rb, 0xEE, BS);
	setup_cb(&cb, fdr, rb, BS, off);
	if (aio_read(&cb))
		DIE("aio_read: %s", errname(errno));
	publish(&cb);
	window();
	const struct aiocb *one[1] = { &cb };
	while (aio_error(&cb) == EINPROGRESS)
		if (aio_suspend(one, 1, NULL) && errno == EINTR)
			res->eintr_suspend++;
	res->requests++;
	res->right += aio_error(&cb) == 0 && return_ok(&cb, BS) &&
		      check_pat(rb, BS, (uint64_t)off, SEED) < 0;
	cur = NULL;

	/* aio_write of a block of the second file, polled. */
	int wblk = (int)(round % 64);
	fill_pat(wb, BS, (uint64_t)wblk * BS, SEED + 1);
	setup_cb(&cb, wfd, wb, BS, (off_t)wblk * BS);
	if (aio_write(&cb))
		DIE("aio_write: %s", errname(errno));
	publish(&cb);
	window();
	int e = poll_one(&cb);
	res->requests++;
	res->right += e == 0 && return_ok(&cb, BS);
	cur = NULL;

	/* lio_listio, LIO_WAIT or LIO_NOWAIT; during it the handler looks at
	 * a separate read submitted just before. */
	memset(rb, 0xEE, (size_t)(LN + 1) * BS);
	setup_cb(&side, fdr, rb + (size_t)LN * BS, BS, off);
	if (aio_read(&side))
		DIE("aio_read: %s", errname(errno));
	publish(&side);
	for (int i = 0; i < LN; i++) {
		setup_cb(&lc[i], fdr, rb + (size_t)i * BS, BS,
			 (off + (off_t)i * BS) % (NBLK * BS));
		lc[i].aio_lio_opcode = LIO_READ;
		ll[i] = &lc[i];
	}
	if (round & 1) {
		if (lio_listio(LIO_WAIT, ll, LN, NULL)) {
			if (errno != EINTR)
				DIE("lio_listio: %s", errname(errno));
			res->eintr_lio++;
		}
	} else if (lio_listio(LIO_NOWAIT, ll, LN, NULL)) {
		DIE("lio_listio: %s", errname(errno));
	}
	window();
	wait_list(ll, LN);
	wait_one(&side);
	res->requests++;
	res->right += aio_error(&side) == 0 && return_ok(&side, BS) &&
		      check_pat(rb + (size_t)LN * BS, BS, (uint64_t)off, SEED) < 0;
	cur = NULL;
	for (int i = 0; i < LN; i++) {
		off_t o = (off + (off_t)i * BS) % (NBLK * BS);
		res->requests++;
		res->right += aio_error(&lc[i]) == 0 && return_ok(&lc[i], BS) &&
			      check_pat(rb + (size_t)i * BS, BS, (uint64_t)o,
					SEED) < 0;
	}

	/* Two reads and aio_cancel on the fd. */
	for (int i = 0; i < 2; i++) {
		setup_cb(&cc[i], fdr, rb + (size_t)i * BS, BS,
			 (off + (off_t)i * BS) % (NBLK * BS));
		if (aio_read(&cc[i]))
			DIE("aio_read: %s", errname(errno));
	}
	publish(&cc[1]);
	int c = aio_cancel(fdr, NULL);
	if (c != AIO_CANCELED && c != AIO_NOTCANCELED && c != AIO_ALLDONE)
		DIE("aio_cancel: %d %s", c, errname(errno));
	window();
	for (int i = 0; i < 2; i++) {
		off_t o = (off + (off_t)i * BS) % (NBLK * BS);
		e = wait_one(&cc[i]);
		res->requests++;
		if (e == ECANCELED) {
			res->canceled++;
			res->right += return_ok(&cc[i], -1);
		} else {
			res->right += e == 0 && return_ok(&cc[i], BS) &&
				      check_pat(rb + (size_t)i * BS, BS,
						(uint64_t)o, SEED) < 0;
		}
	}
	cur = NULL;
}

static void run(long min_rounds, double min_sec)
{
	uint64_t rnd = 12345;
	double start = now_sec();
	arm(1000);
	for (res->rounds = 0;; res->rounds++) {
		if (res->rounds >= min_rounds && now_sec() - start >= min_sec)
			break;
		one_round(res->rounds, &rnd);
		res->progress++;
	}
	arm(0);
	/* The written file, through a plain pread. */
	res->wblocks = res->rounds < 64 ? (int)res->rounds : 64;
	for (int b = 0; b < res->wblocks; b++) {
		xpread_all(wfd, wb, BS, (off_t)b * BS);
		res->wgood += check_pat(wb, BS, (uint64_t)b * BS, SEED + 1) < 0;
	}
	res->finished = 1;
}

static int all_right(const struct result *r)
{
	return r->finished && r->right == r->requests &&
	       r->wgood == r->wblocks && !r->bad_error;
}

static void first_read(void)
{
	setup_cb(&done_cb, bfd, done_buf, BS, 0);
	if (aio_read(&done_cb) || wait_one(&done_cb) != 0)
		DIE("first read");
}

static void handler_measures(const char *ph, const struct result *r)
{
	say("measure: safety_%s_handler ticks=%d calls=%d inprogress=%d done=%d "
	    "canceled=%d",
	    ph, r->ticks, r->calls, r->inprogress, r->zero, r->ecanceled);
	say("measure: safety_%s_done_return value=%d einval=%d", ph,
	    r->done_value, r->done_einval);
	say("measure: safety_%s_eintr suspend=%ld lio=%ld; canceled %ld", ph,
	    r->eintr_suspend, r->eintr_lio, r->canceled);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *rpath = tpath("safety_r"), *wpath = tpath("safety_w");
	make_pat_file(rpath, (size_t)NBLK * BS, SEED);
	rfd = open_direct(rpath, O_RDONLY);
	say("measure: direct %d", rfd >= 0);
	bfd = xopen(rpath, O_RDONLY);	/* buffered, same file */
	if (rfd < 0)
		rfd = bfd;
	wfd = xopen(wpath, O_RDWR | O_CREAT | O_TRUNC);
	rb = xalign((size_t)(LN + 1) * BS);
	wb = xalign(BS);
	res = mmap(NULL, sizeof *res, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		DIE("mmap");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	/* SA_RESTART: without it glibc 2.36 crashes after an interrupted
	 * LIO_WAIT (see sig_lio.c). aio_suspend and LIO_WAIT may still answer
	 * EINTR; the loop accepts that. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);

	/* Phase 2 (first): anywhere, in a child watched for progress. */
	memset(res, 0, sizeof *res);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		DIE("fork");
	if (pid == 0) {
		/* Forked before the parent did any AIO: glibc's child inherits
		 * the parent's AIO bookkeeping but none of its threads, and
		 * would not serve requests made soon after the parent's. */
		anywhere = 1;
		first_read();
		run(1, P2_SEC);
		_exit(0);
	}
	long last = -1;
	double stalled = now_sec();
	int st = 0, hung = 0;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (res->progress != last) {
			last = res->progress;
			stalled = now_sec();
		} else if (now_sec() - stalled > T_STUCK_SEC) {
			hung = 1;
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(20000);
	}
	if (hung)
		say("measure: safety_anywhere_child hung");
	else if (WIFEXITED(st))
		say("measure: safety_anywhere_child exit%d", WEXITSTATUS(st));
	else
		say("measure: safety_anywhere_child signal%d", WTERMSIG(st));
	say("measure: safety_anywhere_right %s", all_right(res) ? "all" : "NOT");
	say("measure: safety_anywhere_bad_error %d", res->bad_error);
	if (res->bad_error)
		say("measure: safety_anywhere_bad %s", errname(res->bad_value));
	say("measure: safety_anywhere_rounds %ld requests %ld right %ld",
	    res->rounds, res->requests, res->right);
	handler_measures("anywhere", res);
	/* Phase 1: compared with glibc. */
	first_read();
	anywhere = 0;
	memset(res, 0, sizeof *res);
	run(P1_ROUNDS, 0);
	say("between calls: %ld rounds, %ld requests, %ld right", res->rounds,
	    res->requests, res->right);
	say("between calls: written file %s", res->wgood == res->wblocks ?
	    "right" : "WRONG");
	say("between calls: handler ran %s, bad aio_error answers %d",
	    res->calls > 0 ? "yes" : "NEVER", res->bad_error);
	if (res->bad_error)
		say("measure: safety_between_bad %s", errname(res->bad_value));
	CHECK(all_right(res) && res->calls > 0, "between calls");
	handler_measures("between", res);

	say("measure: threads_after %d", count_threads());
	free(rpath);
	free(wpath);
	return t_finish();
}
