/* Completion notifications, with the program waiting outside AIO calls:
 *   SIGEV_SIGNAL: 16 reads, each with signal SIGRTMIN+1 and its own
 *   sigev_value; the program waits in sigsuspend. Each signal arrives once,
 *   with si_code SI_ASYNCIO, si_pid = our pid and the request's value, and
 *   the handler sees the request's final result (aio_error 0, aio_return).
 *   The same, waited for with sigwaitinfo (signal blocked).
 *   SIGEV_THREAD: 16 reads; each function runs once with its value and sees
 *   the final result; the program waits with nanosleep.
 *   lio_listio LIO_NOWAIT with a list SIGEV_SIGNAL: it arrives once, after
 *   every request of the list is done.
 * Threads: measure threads_notify (kaio: at most 2, its one notifier). */
#include "common.h"
#include <pthread.h>

#define N 16
#define BS 4096

static struct aiocb cbs[N];
static unsigned char bufs[N][BS];
static volatile sig_atomic_t hits[N], bad_info, bad_result, list_sig, list_bad;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int thread_hits[N], thread_bad;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	(void)sig;
	int i = si->si_value.sival_int;
	if (i < 0 || i >= N || si->si_code != SI_ASYNCIO || si->si_pid != getpid()) {
		bad_info++;
		return;
	}
	hits[i]++;
	if (aio_error(&cbs[i]) != 0 || aio_return(&cbs[i]) != BS)
		bad_result++;
}

static void on_list_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	(void)sig;
	if (si->si_code != SI_ASYNCIO || si->si_value.sival_int != 4242)
		bad_info++;
	list_sig++;
	for (int i = 0; i < N; i++)
		if (aio_error(&cbs[i]) == EINPROGRESS)
			list_bad++;
}

static void on_thread(union sigval v)
{
	int i = v.sival_int;
	pthread_mutex_lock(&lock);
	if (i < 0 || i >= N)
		thread_bad++;
	else {
		thread_hits[i]++;
		if (aio_error(&cbs[i]) != 0 || aio_return(&cbs[i]) != BS)
			thread_bad++;
	}
	pthread_mutex_unlock(&lock);
}

static void submit(int fd, int notify, int signo)
{
	for (int i = 0; i < N; i++) {
		memset(bufs[i], 0xEE, BS);
		setup_cb(&cbs[i], fd, bufs[i], BS, (off_t)i * BS);
		cbs[i].aio_sigevent.sigev_notify = notify;
		cbs[i].aio_sigevent.sigev_signo = signo;
		cbs[i].aio_sigevent.sigev_value.sival_int = i;
		if (notify == SIGEV_THREAD)
			cbs[i].aio_sigevent.sigev_notify_function = on_thread;
		if (aio_read(&cbs[i]))
			DIE("aio_read: %s", errname(errno));
	}
}

static int data_ok(void)
{
	int good = 0;
	for (int i = 0; i < N; i++)
		good += check_pat(bufs[i], BS, (uint64_t)i * BS, 5) < 0;
	return good;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("notify");
	make_pat_file(path, N * BS, 5);
	int fd = xopen(path, O_RDONLY);
	int sig = SIGRTMIN + 1, lsig = SIGRTMIN + 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	sa.sa_sigaction = on_list_sig;
	sigaction(lsig, &sa, NULL);

	/* SIGEV_SIGNAL, waiting in sigsuspend. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, sig);
	sigprocmask(SIG_BLOCK, &block, &old);
	drop_cache(fd);
	submit(fd, SIGEV_SIGNAL, sig);
	double end = now_sec() + T_STUCK_SEC;
	for (;;) {
		int all = 1;
		for (int i = 0; i < N; i++)
			all &= hits[i] > 0;
		if (all)
			break;
		if (now_sec() > end)
			DIE("signals missing");
		struct timespec ts = { 0, 10000000 };
		sigprocmask(SIG_SETMASK, &old, NULL);
		nanosleep(&ts, NULL); /* the signal may arrive here */
		sigprocmask(SIG_BLOCK, &block, NULL);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	usleep(100000);
	int once = 0;
	for (int i = 0; i < N; i++)
		once += hits[i] == 1;
	say("SIGEV_SIGNAL: %d of %d signals arrived once", once, N);
	say("SIGEV_SIGNAL: bad siginfo %d, result not final in handler %d",
	    (int)bad_info, (int)bad_result);
	say("SIGEV_SIGNAL: %d of %d data right", data_ok(), N);
	say("measure: threads_notify %d", count_threads());

	/* SIGEV_SIGNAL, waited for with sigwaitinfo. */
	sigprocmask(SIG_BLOCK, &block, NULL);
	submit(fd, SIGEV_SIGNAL, sig);
	int seen[N] = { 0 }, badw = 0;
	for (int k = 0; k < N; k++) {
		siginfo_t si;
		struct timespec ts = { T_STUCK_SEC, 0 };
		if (sigtimedwait(&block, &si, &ts) != sig)
			DIE("sigtimedwait: %s", errname(errno));
		int i = si.si_value.sival_int;
		if (i < 0 || i >= N || si.si_code != SI_ASYNCIO || aio_error(&cbs[i]) != 0) {
			badw++;
			continue;
		}
		seen[i]++;
		aio_return(&cbs[i]);
	}
	once = 0;
	for (int i = 0; i < N; i++)
		once += seen[i] == 1;
	say("sigwaitinfo: %d of %d once, %d bad", once, N, badw);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* SIGEV_THREAD. */
	submit(fd, SIGEV_THREAD, 0);
	end = now_sec() + T_STUCK_SEC;
	for (;;) {
		int all = 1;
		pthread_mutex_lock(&lock);
		for (int i = 0; i < N; i++)
			all &= thread_hits[i] > 0;
		pthread_mutex_unlock(&lock);
		if (all)
			break;
		if (now_sec() > end)
			DIE("SIGEV_THREAD functions missing");
		usleep(1000);
	}
	usleep(100000);
	once = 0;
	for (int i = 0; i < N; i++)
		once += thread_hits[i] == 1;
	say("SIGEV_THREAD: %d of %d ran once, %d bad", once, N, thread_bad);
	say("SIGEV_THREAD: %d of %d data right", data_ok(), N);
	say("measure: threads_notify %d", count_threads());

	/* lio_listio LIO_NOWAIT with a list signal. */
	struct aiocb *list[N];
	for (int i = 0; i < N; i++) {
		memset(bufs[i], 0xEE, BS);
		setup_cb(&cbs[i], fd, bufs[i], BS, (off_t)i * BS);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	struct sigevent lsev;
	memset(&lsev, 0, sizeof lsev);
	lsev.sigev_notify = SIGEV_SIGNAL;
	lsev.sigev_signo = lsig;
	lsev.sigev_value.sival_int = 4242;
	drop_cache(fd);
	say("lio_listio LIO_NOWAIT: %s", RC(lio_listio(LIO_NOWAIT, list, N, &lsev)));
	end = now_sec() + T_STUCK_SEC;
	while (!list_sig) {
		if (now_sec() > end)
			DIE("list signal missing");
		usleep(1000);
	}
	usleep(100000);
	say("list signal: arrived %d time(s), %d requests not done then, bad info %d",
	    (int)list_sig, (int)list_bad, (int)bad_info);
	say("lio_listio: %d of %d data right", data_ok(), N);
	say("measure: threads_notify %d", count_threads());
	return t_finish();
}
