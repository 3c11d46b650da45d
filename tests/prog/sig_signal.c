/* SIGEV_SIGNAL delivered while the program is NOT inside an aio call.
 *
 * 64 reads (O_DIRECT where the file system allows it, so they really
 * complete later), each with signal SIGRTMIN+1 and sigev_value = its index.
 * A SA_SIGINFO handler records si_code, si_value, si_pid, si_uid, and calls
 * aio_error and aio_return on the aiocb si_value names: the result must
 * already be final (error 0, return = bytes) when the signal arrives.
 * Every request must give exactly one signal, with si_code SI_ASYNCIO,
 * si_pid = getpid(), si_uid = getuid().
 *
 * The main thread waits without calling kaio, five ways:
 *   sigsuspend    signal blocked, sigsuspend loop (alarm as a safety net)
 *   pause         signal unblocked, pause() loop woken by a 50 ms itimer
 *   sigwaitinfo   signal blocked, sigtimedwait; no handler, checks in main
 *   busy          signal unblocked, a loop on a volatile counter, no syscalls
 *   read          signal unblocked, read() on a pipe that the handler
 *                 writes to when the 64th signal arrived (SA_RESTART)
 * Threads: measure threads_notify (kaio: at most 2, its one notifier). */
#include "common.h"
#include <sys/time.h>

#define N 64
#define BS 4096
#define SEED 21

static struct aiocb cbs[N];
static unsigned char *bufs;
static int sig;
static int wake_fd = -1;

/* Written by the handler (main thread) only. */
static volatile sig_atomic_t hits[N], arrived, bad_code, bad_pid, bad_uid,
	bad_value, not_final, alarm_hit;

static void record(const siginfo_t *si)
{
	int i = si->si_value.sival_int;
	if (si->si_code != SI_ASYNCIO)
		bad_code++;
	if (si->si_pid != getpid())
		bad_pid++;
	if (si->si_uid != getuid())
		bad_uid++;
	if (i < 0 || i >= N) {
		bad_value++;
		return;
	}
	if (aio_error(&cbs[i]) != 0 || aio_return(&cbs[i]) != BS)
		not_final++;
	hits[i]++;
	arrived++;
	if (arrived == N && wake_fd >= 0) {
		ssize_t w = write(wake_fd, "x", 1);
		(void)w;
	}
}

static void on_sig(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	record(si);
}

static void on_alarm(int s)
{
	(void)s;
	alarm_hit++;
	if (wake_fd >= 0) {
		ssize_t w = write(wake_fd, "a", 1);
		(void)w;
	}
}

static void reset(void)
{
	for (int i = 0; i < N; i++)
		hits[i] = 0;
	arrived = bad_code = bad_pid = bad_uid = bad_value = not_final = 0;
	alarm_hit = 0;
}

static void submit(int fd)
{
	memset(bufs, 0xEE, (size_t)N * BS);
	for (int i = 0; i < N; i++) {
		setup_cb(&cbs[i], fd, bufs + (size_t)i * BS, BS, (off_t)i * BS);
		cbs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
		cbs[i].aio_sigevent.sigev_signo = sig;
		cbs[i].aio_sigevent.sigev_value.sival_int = i;
		if (aio_read(&cbs[i]))
			DIE("aio_read %d: %s", i, errname(errno));
	}
}

static void itimer(int ms)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	it.it_interval = it.it_value;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void report(const char *how)
{
	int once = 0, extra = 0, good = 0;
	for (int i = 0; i < N; i++) {
		once += hits[i] == 1;
		extra += hits[i] > 1 ? hits[i] - 1 : 0;
		good += check_pat(bufs + (size_t)i * BS, BS, (uint64_t)i * BS,
				  SEED) < 0;
	}
	say("%s: %d of %d signals arrived exactly once, %d extra", how, once,
	    N, extra);
	say("%s: bad si_code %d, bad si_pid %d, bad si_uid %d, bad si_value %d",
	    how, (int)bad_code, (int)bad_pid, (int)bad_uid, (int)bad_value);
	say("%s: result not final when signalled %d", how, (int)not_final);
	say("%s: %d of %d data right", how, good, N);
	CHECK(once == N && !extra && !bad_code && !bad_pid && !bad_uid &&
		      !bad_value && !not_final && good == N,
	      "%s", how);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	sig = SIGRTMIN + 1;
	char *path = tpath("signal");
	make_pat_file(path, (size_t)N * BS, SEED);
	int fd = open_direct(path, O_RDONLY);
	say("measure: direct %d", fd >= 0);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	bufs = xalign((size_t)N * BS);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, sig);
	struct timespec settle = { 0, 200000000 };

	/* 1. sigsuspend, the signal blocked outside it. */
	reset();
	sigprocmask(SIG_BLOCK, &block, &old);
	drop_cache(fd);
	submit(fd);
	say("measure: threads_notify %d", count_threads());
	alarm(T_STUCK_SEC);
	while (arrived < N && !alarm_hit)
		sigsuspend(&old);
	alarm(0);
	if (alarm_hit)
		DIE("sigsuspend: %d of %d signals after %d s", (int)arrived, N,
		    T_STUCK_SEC);
	sigprocmask(SIG_SETMASK, &old, NULL);
	nanosleep(&settle, NULL); /* an extra signal would arrive here */
	report("sigsuspend");

	/* 2. pause, the signal unblocked; a 50 ms itimer ends each pause
	 * should a signal land between the test and pause(). */
	reset();
	drop_cache(fd);
	itimer(50);
	submit(fd);
	double end = now_sec() + T_STUCK_SEC;
	while (arrived < N) {
		pause();
		if (now_sec() > end)
			DIE("pause: %d of %d signals", (int)arrived, N);
	}
	itimer(0);
	nanosleep(&settle, NULL);
	report("pause");

	/* 3. sigwaitinfo: blocked, no handler runs, main checks each. */
	reset();
	sigprocmask(SIG_BLOCK, &block, NULL);
	drop_cache(fd);
	submit(fd);
	for (int k = 0; k < N; k++) {
		siginfo_t si;
		struct timespec ts = { T_STUCK_SEC, 0 };
		if (sigtimedwait(&block, &si, &ts) != sig)
			DIE("sigtimedwait: %d of %d: %s", k, N, errname(errno));
		record(&si);
	}
	{
		siginfo_t si;
		struct timespec ts = { 0, 200000000 };
		int r = sigtimedwait(&block, &si, &ts);
		say("sigwaitinfo: after the last, one more: %s",
		    r == -1 ? errname(errno) : "A SIGNAL");
		if (r == sig)
			record(&si);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	report("sigwaitinfo");

	/* 4. A busy loop: no system call while waiting (clock_gettime is the
	 * vDSO, and only every 2^20 turns). */
	reset();
	drop_cache(fd);
	submit(fd);
	volatile unsigned long spins = 0;
	end = now_sec() + T_STUCK_SEC;
	while (arrived < N) {
		spins++;
		if ((spins & 0xfffff) == 0 && now_sec() > end)
			DIE("busy: %d of %d signals", (int)arrived, N);
	}
	say("measure: busy_spins %lu", (unsigned long)spins);
	nanosleep(&settle, NULL);
	report("busy");

	/* 5. read() on a pipe: the handler of the 64th signal writes to it
	 * (SA_RESTART: the earlier signals restart the read). */
	int p[2];
	if (pipe(p))
		DIE("pipe");
	reset();
	drop_cache(fd);
	wake_fd = p[1];
	alarm(T_STUCK_SEC);
	submit(fd);
	char c = 0;
	ssize_t n = read(p[0], &c, 1);
	alarm(0);
	if (n != 1 || c != 'x')
		DIE("read: %zd '%c', %d of %d signals", n, c, (int)arrived, N);
	wake_fd = -1;
	nanosleep(&settle, NULL);
	report("read");
	say("measure: threads_notify %d", count_threads());

	free(bufs);
	free(path);
	return t_finish();
}
