/* The notifier's lifetime: across fork, at exit, and when idle.
 *
 *   fork:    the parent has 16 SIGEV_SIGNAL reads in flight (1 MiB,
 *            O_DIRECT where it works) and forks at once. The child does its
 *            own SIGEV_SIGNAL round trip of 8 reads, on a fd of its own: it
 *            gets exactly its own 8 signals and none of the parent's (values
 *            tell them apart), then exits 0. The parent gets exactly its own
 *            16, none of the child's. Then the child reads once more on the
 *            parent's fd (measure fork_child_same_fd, kaio: ok): glibc
 *            never completes that read (its child inherits the parent's
 *            AIO bookkeeping, requests "running" on that fd and helper
 *            threads, but none of the threads).
 *   exit:    children that exit (exit(0), as a return from main does) while
 *            SIGEV_THREAD requests are pending, or while a callback is
 *            running (it has started and sleeps 5 s): exit status 0, and
 *            the process ended before that callback did (the callback
 *            writes to a pipe when it ends: the parent finds nothing). A
 *            child still there after T_STUCK_SEC is a hang. And this
 *            program itself returns from main with SIGEV_THREAD requests
 *            pending (run.sh's timeout catches a hang).
 *   idle:    after all notifications the process is back to one thread
 *            once idle (measure threads_idle: kaio 1, its notifier gone;
 *            counted as soon as it is 1, at most T_STUCK_SEC).
 *   linger:  the notifier waits about 1 s idle before it exits, counted
 *            from its LAST delivery: a note delivered 0.8 s into an idle
 *            stretch, then 0.4 s later the notifier is still there
 *            (measure threads_linger: kaio 2). A sample counts only if the
 *            program kept to that schedule (second request made within
 *            0.95 s of the first, the count taken within 0.9 s of the second
 *            request and over 1.05 s after the first delivery): else it is
 *            taken again, at most 5 times ("unmeasured" then). */
#include "common.h"
#include <pthread.h>
#include <sys/wait.h>

#define NP 16
#define NC 8
#define PBS (1 << 20)
#define SEED 39

static int fd, sig;
static char *path;
static unsigned char *pbuf, *cbuf;
static struct aiocb pcbs[NP], ccbs[NC];
/* si_value: 100+i for the parent's, 200+i for the child's requests. */
static volatile sig_atomic_t phits[NP], chits[NC], other, bad;
static volatile sig_atomic_t alarm_hit;

static void on_sig(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	int v = si->si_value.sival_int;
	if (si->si_code != SI_ASYNCIO || si->si_pid != getpid())
		bad++;
	if (v >= 100 && v < 100 + NP)
		phits[v - 100]++;
	else if (v >= 200 && v < 200 + NC)
		chits[v - 200]++;
	else
		other++;
}

static void on_alarm(int s)
{
	(void)s;
	alarm_hit++;
}

static void submit_fd(int sfd, struct aiocb *cbs, unsigned char *buf, int n,
		      size_t bs, int value0)
{
	for (int i = 0; i < n; i++) {
		setup_cb(&cbs[i], sfd, buf + (size_t)i * bs, bs, (off_t)i * (off_t)bs);
		cbs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
		cbs[i].aio_sigevent.sigev_signo = sig;
		cbs[i].aio_sigevent.sigev_value.sival_int = value0 + i;
		if (aio_read(&cbs[i]))
			DIE("aio_read: %s", errname(errno));
	}
}

static void submit(struct aiocb *cbs, unsigned char *buf, int n, size_t bs,
		   int value0)
{
	submit_fd(fd, cbs, buf, n, bs, value0);
}

/* sigsuspend (signal blocked outside) until all n hits are in. */
static void wait_hits(volatile sig_atomic_t *hits, int n, const sigset_t *old,
		      const char *who)
{
	alarm_hit = 0;
	alarm(T_STUCK_SEC);
	for (;;) {
		int all = 1;
		for (int i = 0; i < n; i++)
			all &= hits[i] > 0;
		if (all || alarm_hit)
			break;
		sigsuspend(old);
	}
	alarm(0);
	if (alarm_hit)
		DIE("%s: signals missing after %d s", who, T_STUCK_SEC);
}

static int count_once(volatile sig_atomic_t *hits, int n)
{
	int once = 0;
	for (int i = 0; i < n; i++)
		once += hits[i] == 1;
	return once;
}

static int data_ok(const unsigned char *buf, int n, size_t bs)
{
	int good = 0;
	for (int i = 0; i < n; i++)
		good += check_pat(buf + (size_t)i * bs, bs, (uint64_t)i * bs,
				  SEED) < 0;
	return good;
}

static void part_fork(void)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, sig);
	sigprocmask(SIG_BLOCK, &block, &old);
	drop_cache(fd);
	memset(pbuf, 0xEE, (size_t)NP * PBS);
	submit(pcbs, pbuf, NP, PBS, 100);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		DIE("fork");
	if (pid == 0) {
		/* Whatever the parent had counted is not ours. */
		for (int i = 0; i < NP; i++)
			phits[i] = 0;
		other = bad = 0;
		say("child: threads at start %d", count_threads());
		memset(cbuf, 0xEE, (size_t)NC * 4096);
		int cfd = xopen(path, O_RDONLY);
		submit_fd(cfd, ccbs, cbuf, NC, 4096, 200);
		wait_hits(chits, NC, &old, "child");
		sigprocmask(SIG_SETMASK, &old, NULL);
		usleep(300000); /* a stray signal would arrive here */
		int pstray = 0;
		for (int i = 0; i < NP; i++)
			pstray += phits[i];
		say("child: %d of %d own signals exactly once, %d of the "
		    "parent's, %d others, %d bad",
		    count_once(chits, NC), NC, pstray, (int)other, (int)bad);
		say("child: %d of %d data right", data_ok(cbuf, NC, 4096), NC);
		CHECK(count_once(chits, NC) == NC && !pstray && !other && !bad,
		      "child signals");
		/* The parent's fd (see above): at most 2 s. */
		struct aiocb same;
		setup_cb(&same, fd, cbuf, 4096, 0);
		int e = aio_read(&same) ? -1 : EINPROGRESS;
		for (int i = 0; i < 200 && e == EINPROGRESS; i++) {
			usleep(10000);
			e = aio_error(&same);
		}
		say("measure: fork_child_same_fd %s",
		    e == 0 && aio_return(&same) == 4096 &&
				    check_pat(cbuf, 4096, 0, SEED) < 0
			    ? "ok"
			    : e == EINPROGRESS ? "stuck" : "wrong");
		fflush(stdout);
		_exit(t_failures ? 1 : 0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		DIE("waitpid");
	say("parent: child exit %s",
	    WIFEXITED(st) ? (WEXITSTATUS(st) ? "nonzero" : "0") : "by a signal");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child");
	wait_hits(phits, NP, &old, "parent");
	sigprocmask(SIG_SETMASK, &old, NULL);
	usleep(300000);
	int cstray = 0;
	for (int i = 0; i < NC; i++)
		cstray += chits[i];
	say("parent: %d of %d own signals exactly once, %d of the child's, "
	    "%d others, %d bad",
	    count_once(phits, NP), NP, cstray, (int)other, (int)bad);
	int rights = 0;
	for (int i = 0; i < NP; i++)
		rights += aio_error(&pcbs[i]) == 0 && aio_return(&pcbs[i]) == PBS;
	say("parent: %d of %d returns right, %d of %d data right", rights, NP,
	    data_ok(pbuf, NP, PBS), NP);
	CHECK(count_once(phits, NP) == NP && !cstray && !other && !bad,
	      "parent signals");
}

/* SIGEV_THREAD callbacks for the exit cases: they count their starts and,
 * in a child, write a byte to ended_fd when they end. */
static unsigned sleep_ms;
static _Atomic int cb_started;
static int ended_fd = -1;
static void on_thread(union sigval v)
{
	(void)v;
	cb_started++;
	if (sleep_ms)
		usleep(sleep_ms * 1000);
	if (ended_fd >= 0 && write(ended_fd, "e", 1) != 1)
		bad++;
}

static struct aiocb tcbs[32];

static void submit_threads(int n, unsigned ms)
{
	sleep_ms = ms;
	for (int i = 0; i < n; i++) {
		setup_cb(&tcbs[i], fd, pbuf + (size_t)i * 4096, 4096,
			 (off_t)i * 4096);
		tcbs[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
		tcbs[i].aio_sigevent.sigev_notify_function = on_thread;
		tcbs[i].aio_sigevent.sigev_value.sival_int = i;
		if (aio_read(&tcbs[i]))
			DIE("aio_read: %s", errname(errno));
	}
}

/* A child that exits with callbacks pending or running. */
static void exit_child(const char *what, int n, unsigned ms, int wait_first)
{
	int ended[2];
	if (pipe(ended))
		DIE("pipe");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		DIE("fork");
	if (pid == 0) {
		close(ended[0]);
		ended_fd = ended[1];
		drop_cache(fd);
		submit_threads(n, ms);
		if (wait_first) { /* until a callback is running */
			double end = now_sec() + T_STUCK_SEC;
			while (!cb_started && now_sec() < end)
				usleep(1000);
			if (!cb_started)
				_exit(3);
		}
		exit(0);
	}
	close(ended[1]);
	double t0 = now_sec();
	int st = 0, done = 0;
	while (now_sec() - t0 < T_STUCK_SEC) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			done = 1;
			break;
		}
		usleep(10000);
	}
	double took = now_sec() - t0;
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	char b[64];
	ssize_t k = read(ended[0], b, sizeof b);
	close(ended[0]);
	say("exit, %s: %s", what,
	    !done ? "HUNG" : WIFEXITED(st) ? (WEXITSTATUS(st) ? "exit nonzero" : "exit 0")
				  : "killed by a signal");
	if (wait_first)
		say("exit, %s: the process ended before the callback: %s", what,
		    k == 0 ? "yes" : "no");
	else
		say("measure: exit_callbacks_ended %zd", k);
	say("measure: exit_ms_%s %.0f", wait_first ? "running" : "pending",
	    took * 1000);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	sig = SIGRTMIN + 1;
	path = tpath("fork_exit");
	make_pat_file(path, (size_t)NP * PBS, SEED);
	fd = open_direct(path, O_RDONLY);
	say("measure: direct %d", fd >= 0);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	pbuf = xalign((size_t)NP * PBS);
	cbuf = xalign((size_t)NC * 4096);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	part_fork();

	exit_child("callbacks pending", 32, 20, 0);
	exit_child("a callback running", 4, 5000, 1);

	/* Idle: a SIGEV_THREAD round, then 2 s without anything owed. */
	submit_threads(8, 0);
	for (int i = 0; i < 8; i++)
		wait_one(&tcbs[i]);
	usleep(100000);
	say("measure: threads_notify %d", count_threads());
	double end = now_sec() + T_STUCK_SEC;
	int nt;
	while ((nt = count_threads()) > 1 && now_sec() < end)
		usleep(50000);
	say("measure: threads_idle %d", nt);

	/* Linger: counted from the last delivery, not the first idle moment. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, sig);
	char linger[32] = "unmeasured";
	int tries = 0;
	while (tries++ < 5) {
		for (int i = 0; i < NP; i++)
			phits[i] = 0;
		sigprocmask(SIG_BLOCK, &block, &old);
		double s1 = now_sec();
		submit(pcbs, pbuf, 1, 4096, 100);
		wait_hits(phits, 1, &old, "linger 1");
		double d1 = now_sec();
		usleep(800000);
		phits[0] = 0;
		double s2 = now_sec();
		submit(pcbs, pbuf, 1, 4096, 100);
		wait_hits(phits, 1, &old, "linger 2");
		sigprocmask(SIG_SETMASK, &old, NULL);
		usleep(400000);
		int n = count_threads();
		double t3 = now_sec();
		if (s2 - s1 < 0.95 && t3 - s2 < 0.9 && t3 - d1 > 1.05) {
			snprintf(linger, sizeof linger, "%d", n);
			break;
		}
	}
	say("measure: threads_linger %s", linger);
	say("measure: linger_tries %d", tries);

	/* Return from main with SIGEV_THREAD requests pending. */
	drop_cache(fd);
	submit_threads(32, 20);
	say("returning from main with callbacks pending");
	free(path);
	return t_finish();
}
