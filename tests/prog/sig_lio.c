/* lio_listio and its list sigevent.
 *
 *   two signals:  LIO_NOWAIT, 16 reads with their own SIGEV_SIGNAL (A) and a
 *                 list SIGEV_SIGNAL (B): each A once, B exactly once, and B
 *                 handled after all 16 A's (an atomic sequence number in the
 *                 handler) with every request final.
 *   one signal:   the same with A and B the same real-time signal, told
 *                 apart by si_value: queued signals of one number are
 *                 delivered in the order sent, so B being last proves it was
 *                 SENT after every A (with two numbers the kernel delivers
 *                 the lower one first anyway).
 *   list thread:  a list SIGEV_THREAD callback runs once, with its value,
 *                 after all requests are final.
 *   all failed:   every entry has a bad aio_reqprio, so none is queued:
 *                 lio_listio's answer, each aiocb's result, no per-request
 *                 signal, and the list signal, which glibc sends anyway.
 *   some failed:  4 good entries and 2 with a bad aio_reqprio.
 *   LIO_WAIT:     a list sigevent is ignored (no signal, no callback).
 *   EINTR:        a handler (SIGALRM, no SA_RESTART) runs during LIO_WAIT:
 *                 -1 EINTR. Once with a pipe read that cannot complete, once
 *                 with big O_DIRECT reads and a 1 ms interval timer; then
 *                 the requests complete with the right data (kaio only:
 *                 glibc 2.36 crashes there, see part_eintr). */
#include "common.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>

#define N 16
#define BS 4096
#define SEED 27
#define LISTVAL 1000

static struct aiocb cbs[N];
static struct aiocb *list[N];
static unsigned char *bufs;
static int fd, sig_a, sig_b;

static int seq;			/* next sequence number, any handler */
static int a_seq[N], a_hits[N], a_max_seq, b_seq, b_hits, b_not_final,
	bad_info;
static volatile sig_atomic_t alarms;

static void reset(void)
{
	seq = 0;
	for (int i = 0; i < N; i++)
		a_seq[i] = -1, a_hits[i] = 0;
	a_max_seq = -1;
	b_seq = -1;
	b_hits = b_not_final = bad_info = 0;
}

static void on_sig(int s, siginfo_t *si, void *uc)
{
	(void)uc;
	int n = __atomic_fetch_add(&seq, 1, __ATOMIC_SEQ_CST);
	int v = si->si_value.sival_int;
	if (si->si_code != SI_ASYNCIO || si->si_pid != getpid())
		bad_info++;
	if (v == LISTVAL && s == sig_b) {
		b_hits++;
		b_seq = n;
		for (int i = 0; i < N; i++)
			if (list[i] && aio_error(list[i]) == EINPROGRESS)
				b_not_final++;
	} else if (v >= 0 && v < N && s == sig_a) {
		a_hits[v]++;
		a_seq[v] = n;
		if (n > a_max_seq)
			a_max_seq = n;
	} else {
		bad_info++;
	}
}

static void on_alarm(int s)
{
	(void)s;
	alarms++;
}

static void setup_list(int n, int notify, int signo)
{
	memset(bufs, 0xEE, (size_t)N * BS);
	for (int i = 0; i < N; i++) {
		list[i] = NULL;
		if (i >= n)
			continue;
		setup_cb(&cbs[i], fd, bufs + (size_t)i * BS, BS, (off_t)i * BS);
		cbs[i].aio_lio_opcode = LIO_READ;
		cbs[i].aio_sigevent.sigev_notify = notify;
		cbs[i].aio_sigevent.sigev_signo = signo;
		cbs[i].aio_sigevent.sigev_value.sival_int = i;
		list[i] = &cbs[i];
	}
}

static struct sigevent list_signal(int signo)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = signo;
	sev.sigev_value.sival_int = LISTVAL;
	return sev;
}

static int data_ok(int n)
{
	int good = 0;
	for (int i = 0; i < n; i++)
		good += check_pat(bufs + (size_t)i * BS, BS, (uint64_t)i * BS,
				  SEED) < 0;
	return good;
}

/* Sleeps (outside aio calls) until cond() or T_STUCK_SEC, then 200 ms. */
static void sleep_until(int (*cond)(void), const char *what)
{
	double end = now_sec() + T_STUCK_SEC;
	struct timespec ms = { 0, 1000000 };
	while (!cond()) {
		if (now_sec() > end)
			DIE("%s: waited %d s", what, T_STUCK_SEC);
		nanosleep(&ms, NULL);
	}
	struct timespec extra = { 0, 200000000 };
	nanosleep(&extra, NULL);
}

static int b_arrived(void)
{
	return b_hits > 0;
}

static void report_ab(const char *how)
{
	int once = 0, a_before_b = 0;
	for (int i = 0; i < N; i++) {
		once += a_hits[i] == 1;
		a_before_b += a_seq[i] >= 0 && a_seq[i] < b_seq;
	}
	say("%s: %d of %d request signals once; list signal %d time(s)", how,
	    once, N, b_hits);
	say("%s: %d of %d request signals handled before the list signal; "
	    "%d requests not final then; bad info %d",
	    how, a_before_b, N, b_not_final, bad_info);
	say("%s: %d of %d data right", how, data_ok(N), N);
	CHECK(once == N && b_hits == 1 && a_before_b == N && !b_not_final &&
		      !bad_info,
	      "%s", how);
}

/* List SIGEV_THREAD callback. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int cb_runs, cb_bad_value, cb_not_final;

static void on_list(union sigval v)
{
	int nf = 0;
	for (int i = 0; i < N; i++)
		if (list[i] && aio_error(list[i]) == EINPROGRESS)
			nf++;
	pthread_mutex_lock(&lock);
	cb_runs++;
	cb_bad_value += v.sival_int != LISTVAL;
	cb_not_final += nf;
	pthread_mutex_unlock(&lock);
}

static int cb_ran(void)
{
	pthread_mutex_lock(&lock);
	int r = cb_runs;
	pthread_mutex_unlock(&lock);
	return r > 0;
}

static void arm(int first_us, int interval_us)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = first_us / 1000000;
	it.it_value.tv_usec = first_us % 1000000;
	it.it_interval.tv_sec = interval_us / 1000000;
	it.it_interval.tv_usec = interval_us % 1000000;
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * The EINTR cases run in a child each, because glibc 2.36 is broken after an
 * interrupted LIO_WAIT: the list's waitlist lives in lio_listio's stack
 * frame and stays linked to the requests, so when they complete glibc's
 * helper thread writes through a dangling pointer (measured: SIGSEGV in
 * __aio_notify, rt/aio_notify.c:132, or the request never completes). The child records what lio_listio
 * answered in shared memory at once (long before the requests can
 * complete); the parent prints that. What happens after (the requests
 * complete with the right data, the child exits 0) is a measure line with a
 * rule for kaio only.
 */
struct eintr_rec {
	int r, e, alarms, state, interrupted, tries, others, after_ok;
};
static struct eintr_rec *rec;

static void eintr_pipe_child(void)
{
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c = 0;
	struct aiocb pcb;
	setup_cb(&pcb, p[0], &c, 1, 0);
	pcb.aio_lio_opcode = LIO_READ;
	struct aiocb *pl[1] = { &pcb };
	alarms = 0;
	arm(200000, 0);
	errno = 0;
	rec->r = lio_listio(LIO_WAIT, pl, 1, NULL);
	rec->e = errno;
	rec->alarms = alarms;
	rec->state = aio_error(&pcb);
	if (write(p[1], "q", 1) != 1)
		DIE("write");
	/* Not wait_one: glibc may never finish it (see above); 3 s is plenty. */
	const struct aiocb *l[1] = { &pcb };
	struct timespec ms = { 0, 10000000 };
	for (int i = 0; i < 300 && aio_error(&pcb) == EINPROGRESS; i++)
		aio_suspend(l, 1, &ms);
	rec->after_ok = aio_error(&pcb) == 0 && aio_return(&pcb) == 1 && c == 'q';
}

#define BIG (16 << 20)
#define NBIG 4

static void eintr_direct_child(void)
{
	char *path = tpath("lio_big");
	make_pat_file(path, (size_t)NBIG * BIG, SEED + 1);
	int dfd = open_direct(path, O_RDONLY);
	if (dfd < 0) {
		rec->interrupted = -1;
		return;
	}
	unsigned char *big = xalign((size_t)NBIG * BIG);
	struct aiocb bc[NBIG];
	struct aiocb *bl[NBIG];
	int rights = 0;
	rec->after_ok = 1;
	for (rec->tries = 1; rec->tries <= 10; rec->tries++) {
		memset(big, 0xEE, (size_t)NBIG * BIG);
		for (int i = 0; i < NBIG; i++) {
			setup_cb(&bc[i], dfd, big + (size_t)i * BIG, BIG,
				 (off_t)i * BIG);
			bc[i].aio_lio_opcode = LIO_READ;
			bl[i] = &bc[i];
		}
		arm(1000, 1000);
		errno = 0;
		int r = lio_listio(LIO_WAIT, bl, NBIG, NULL);
		int e = errno;
		arm(0, 0);
		if (r == -1 && e == EINTR)
			rec->interrupted = 1;
		else if (r != 0)
			rec->others++;
		wait_list(bl, NBIG);
		int good = 0;
		for (int i = 0; i < NBIG; i++)
			good += aio_error(&bc[i]) == 0 &&
				aio_return(&bc[i]) == BIG &&
				check_pat(big + (size_t)i * BIG, BIG,
					  (uint64_t)i * BIG, SEED + 1) < 0;
		rights += good == NBIG;
		if (good != NBIG)
			rec->after_ok = 0;
		if (rec->interrupted)
			break;
	}
	close(dfd);
	free(big);
	free(path);
}

static const char *fate(int st)
{
	static char buf[32];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exit%d", WEXITSTATUS(st));
	else
		snprintf(buf, sizeof buf, "signal%d", WTERMSIG(st));
	return buf;
}

static int in_child(void (*fn)(void))
{
	memset(rec, 0, sizeof *rec);
	rec->state = -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		DIE("fork");
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(t_failures ? 1 : 0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		DIE("waitpid");
	return st;
}

static void part_eintr(void)
{
	rec = mmap(NULL, sizeof *rec, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rec == MAP_FAILED)
		DIE("mmap");

	int st = in_child(eintr_pipe_child);
	say("EINTR pipe: LIO_WAIT: %s", rc(rec->r, rec->e));
	say("EINTR pipe: handler ran %d time(s); the read then: %s",
	    rec->alarms, rec->state < 0 ? "?" : errname(rec->state));
	say("measure: eintr_pipe_after %s", rec->after_ok ? "ok" : "bad");
	say("measure: eintr_pipe_child %s", fate(st));

	st = in_child(eintr_direct_child);
	if (rec->interrupted < 0) {
		say("EINTR direct: interrupted yes"); /* no O_DIRECT here */
		say("measure: eintr_direct_skipped 1");
	} else {
		say("EINTR direct: interrupted %s, %d other answers",
		    rec->interrupted ? "yes" : "no", rec->others);
		say("measure: eintr_direct_tries %d", rec->tries);
		say("measure: eintr_direct_after %s", rec->after_ok ? "ok" : "bad");
		say("measure: eintr_direct_child %s", fate(st));
	}
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	sig_a = SIGRTMIN + 2;
	sig_b = SIGRTMIN + 3;
	char *path = tpath("lio");
	make_pat_file(path, (size_t)N * BS, SEED);
	fd = open_direct(path, O_RDONLY);
	say("measure: direct %d", fd >= 0);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	bufs = xalign((size_t)N * BS);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	/* Both blocked in either handler: else B could be handled inside an
	 * A handler while the last A waits, blocked, and look early. */
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig_a);
	sigaddset(&sa.sa_mask, sig_b);
	sigaction(sig_a, &sa, NULL);
	sigaction(sig_b, &sa, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);

	/* Two signals. */
	reset();
	setup_list(N, SIGEV_SIGNAL, sig_a);
	struct sigevent sev = list_signal(sig_b);
	drop_cache(fd);
	say("two signals: LIO_NOWAIT: %s", RC(lio_listio(LIO_NOWAIT, list, N, &sev)));
	sleep_until(b_arrived, "two signals");
	report_ab("two signals");
	say("measure: threads_notify %d", count_threads());

	/* One signal number for both. */
	int two_b = sig_b;
	sig_b = sig_a;
	reset();
	setup_list(N, SIGEV_SIGNAL, sig_a);
	sev = list_signal(sig_a);
	drop_cache(fd);
	say("one signal: LIO_NOWAIT: %s", RC(lio_listio(LIO_NOWAIT, list, N, &sev)));
	sleep_until(b_arrived, "one signal");
	report_ab("one signal");
	sig_b = two_b;

	/* The list's callback. */
	setup_list(N, SIGEV_NONE, 0);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = on_list;
	sev.sigev_value.sival_int = LISTVAL;
	drop_cache(fd);
	say("list thread: LIO_NOWAIT: %s", RC(lio_listio(LIO_NOWAIT, list, N, &sev)));
	sleep_until(cb_ran, "list thread");
	pthread_mutex_lock(&lock);
	say("list thread: ran %d time(s), bad value %d, requests not final %d",
	    cb_runs, cb_bad_value, cb_not_final);
	CHECK(cb_runs == 1 && !cb_bad_value && !cb_not_final, "list thread");
	pthread_mutex_unlock(&lock);
	say("list thread: %d of %d data right", data_ok(N), N);

	/* Every entry fails at once. */
	reset();
	setup_list(4, SIGEV_SIGNAL, sig_a);
	for (int i = 0; i < 4; i++)
		cbs[i].aio_reqprio = AIO_PRIO_DELTA_MAX + 1 + i;
	sev = list_signal(sig_b);
	say("all failed: LIO_NOWAIT: %s", RC(lio_listio(LIO_NOWAIT, list, 4, &sev)));
	for (int i = 0; i < 4; i++)
		say("all failed: entry %d: %s", i, result(&cbs[i]));
	sleep_until(b_arrived, "all failed");
	int as = 0;
	for (int i = 0; i < N; i++)
		as += a_hits[i];
	say("all failed: %d request signals, list signal %d time(s), bad info %d",
	    as, b_hits, bad_info);

	/* Some fail at once, the others are queued. */
	reset();
	setup_list(6, SIGEV_SIGNAL, sig_a);
	cbs[1].aio_reqprio = -1;
	cbs[4].aio_reqprio = AIO_PRIO_DELTA_MAX + 1;
	sev = list_signal(sig_b);
	drop_cache(fd);
	say("some failed: LIO_NOWAIT: %s", RC(lio_listio(LIO_NOWAIT, list, 6, &sev)));
	sleep_until(b_arrived, "some failed");
	{
		int once = 0, a_before_b = 0, good = 0;
		for (int i = 0; i < 6; i++) {
			once += a_hits[i] == 1;
			a_before_b += a_seq[i] >= 0 && a_seq[i] < b_seq;
		}
		for (int i = 0; i < 6; i++) {
			say("some failed: entry %d: %s", i, result(&cbs[i]));
			good += i != 1 && i != 4 &&
				check_pat(bufs + (size_t)i * BS, BS,
					  (uint64_t)i * BS, SEED) < 0;
		}
		say("some failed: %d request signals once, %d before the list "
		    "signal, list signal %d time(s), %d not final then, bad info %d",
		    once, a_before_b, b_hits, b_not_final, bad_info);
		say("some failed: %d of 4 data right", good);
	}

	/* LIO_WAIT ignores the list sigevent: a signal, then a callback. */
	reset();
	setup_list(N, SIGEV_NONE, 0);
	sev = list_signal(sig_b);
	drop_cache(fd);
	say("LIO_WAIT, list signal: %s", RC(lio_listio(LIO_WAIT, list, N, &sev)));
	{
		struct timespec w = { 0, 300000000 };
		nanosleep(&w, NULL);
	}
	int lw = 0;
	for (int i = 0; i < N; i++)
		lw += aio_return(&cbs[i]) == BS;
	say("LIO_WAIT, list signal: %d of %d returns, %d of %d data right, list "
	    "signal %d time(s)",
	    lw, N, data_ok(N), N, b_hits);
	cb_runs = 0;
	setup_list(N, SIGEV_NONE, 0);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = on_list;
	sev.sigev_value.sival_int = LISTVAL;
	say("LIO_WAIT, list thread: %s", RC(lio_listio(LIO_WAIT, list, N, &sev)));
	{
		struct timespec w = { 0, 300000000 };
		nanosleep(&w, NULL);
	}
	pthread_mutex_lock(&lock);
	say("LIO_WAIT, list thread: callback ran %d time(s)", cb_runs);
	pthread_mutex_unlock(&lock);
	lw = 0;
	for (int i = 0; i < N; i++)
		lw += aio_return(&cbs[i]) == BS;
	say("LIO_WAIT, list thread: %d of %d returns", lw, N);

	/* A handler runs during LIO_WAIT. */
	part_eintr();
	free(path);
	return t_finish();
}
