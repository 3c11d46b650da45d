/* SIGEV_THREAD_ID: the signal goes to the thread named by _sigev_un._tid.
 *
 * A second thread (the target) records its tid and waits in sigsuspend with
 * nothing blocked; the main thread does not block the signal either and
 * waits in nanosleep, so a signal sent to the process instead of the thread
 * would likely land on the main thread and be caught. 16 reads name the
 * target; then a lio_listio LIO_NOWAIT whose list sigevent names it.
 *
 * kaio deliberately differs from glibc here: glibc ignores SIGEV_THREAD_ID
 * (no signal at all), kaio honours it (rt_tgsigqueueinfo to that thread,
 * si_code SI_ASYNCIO, the request's value, result already final). The
 * differing facts are measure lines with rules in run.sh:
 *   threadid_on_target     kaio 16, glibc 0
 *   threadid_list_on_target kaio 1, glibc 0
 * What both must agree on is printed: the requests complete with the right
 * data, and no signal lands anywhere but on the target. */
#include "common.h"
#include <pthread.h>

#define N 16
#define BS 4096
#define SEED 25
#define LISTVAL 777

static struct aiocb cbs[N], lcbs[N];
static unsigned char *bufs, *lbufs;
static int sig;
static volatile pid_t target_tid;
static volatile int stop;
static int on_target, elsewhere, list_on_target, bad_info, not_final;
static int hits[N];

static void on_sig(int s, siginfo_t *si, void *uc)
{
	(void)s;
	(void)uc;
	int v = si->si_value.sival_int;
	int here = gettid() == target_tid;
	if (si->si_code != SI_ASYNCIO || si->si_pid != getpid() ||
	    si->si_uid != getuid())
		__atomic_fetch_add(&bad_info, 1, __ATOMIC_RELAXED);
	if (!here) {
		__atomic_fetch_add(&elsewhere, 1, __ATOMIC_RELAXED);
		return;
	}
	if (v == LISTVAL) {
		__atomic_fetch_add(&list_on_target, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < N; i++)
			if (aio_error(&lcbs[i]) == EINPROGRESS)
				__atomic_fetch_add(&not_final, 1, __ATOMIC_RELAXED);
		return;
	}
	if (v < 0 || v >= N) {
		__atomic_fetch_add(&bad_info, 1, __ATOMIC_RELAXED);
		return;
	}
	if (aio_error(&cbs[v]) != 0 || aio_return(&cbs[v]) != BS)
		__atomic_fetch_add(&not_final, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&hits[v], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&on_target, 1, __ATOMIC_RELAXED);
}

static void on_stop(int s)
{
	(void)s;
}

/* Blocks only SIGUSR1 (its stop signal) outside sigsuspend, nothing in it. */
static void *target(void *arg)
{
	(void)arg;
	sigset_t usr, none;
	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR1);
	sigemptyset(&none);
	pthread_sigmask(SIG_BLOCK, &usr, NULL);
	target_tid = gettid();
	while (!stop)
		sigsuspend(&none);
	return NULL;
}

static int load(int *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Waits (nanosleep) until every cb is done, then until want signals came:
 * once one came, the rest must (T_STUCK_SEC); until then at most 1 s, as
 * glibc sends none; then 200 ms for extra ones. */
static void settle(struct aiocb *list, int *count, int want)
{
	double end = now_sec() + T_STUCK_SEC;
	struct timespec ms = { 0, 1000000 };
	for (int i = 0; i < N; i++)
		while (aio_error(&list[i]) == EINPROGRESS) {
			if (now_sec() > end)
				DIE("request %d stuck", i);
			nanosleep(&ms, NULL);
		}
	double first = now_sec() + 1;
	end = now_sec() + T_STUCK_SEC;
	while (load(count) < want && now_sec() < end && (load(count) || now_sec() < first))
		nanosleep(&ms, NULL);
	struct timespec extra = { 0, 200000000 };
	nanosleep(&extra, NULL);
}

static int data_ok(const unsigned char *b)
{
	int good = 0;
	for (int i = 0; i < N; i++)
		good += check_pat(b + (size_t)i * BS, BS, (uint64_t)i * BS,
				  SEED) < 0;
	return good;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	sig = SIGRTMIN + 3;
	char *path = tpath("thread_id");
	make_pat_file(path, (size_t)N * BS, SEED);
	int fd = open_direct(path, O_RDONLY);
	say("measure: direct %d", fd >= 0);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	bufs = xalign((size_t)N * BS);
	lbufs = xalign((size_t)N * BS);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	pthread_t t;
	if (pthread_create(&t, NULL, target, NULL))
		DIE("pthread_create");
	while (!target_tid)
		usleep(1000);
	usleep(50000); /* the target is in sigsuspend */

	/* 16 reads, each naming the target. */
	drop_cache(fd);
	int refused = 0;
	for (int i = 0; i < N; i++) {
		setup_cb(&cbs[i], fd, bufs + (size_t)i * BS, BS, (off_t)i * BS);
		cbs[i].aio_sigevent.sigev_notify = SIGEV_THREAD_ID;
		cbs[i].aio_sigevent._sigev_un._tid = target_tid;
		cbs[i].aio_sigevent.sigev_signo = sig;
		cbs[i].aio_sigevent.sigev_value.sival_int = i;
		refused += aio_read(&cbs[i]) != 0;
	}
	say("reads: %d refused", refused);
	settle(cbs, &on_target, N);
	say("reads: %d of %d data right", data_ok(bufs), N);
	int once = 0;
	for (int i = 0; i < N; i++)
		once += load(&hits[i]) == 1;
	say("measure: threadid_on_target %d", load(&on_target));
	say("measure: threadid_once %d", once);

	/* lio_listio LIO_NOWAIT, the list sigevent naming the target. */
	struct aiocb *list[N];
	for (int i = 0; i < N; i++) {
		setup_cb(&lcbs[i], fd, lbufs + (size_t)i * BS, BS, (off_t)i * BS);
		lcbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &lcbs[i];
	}
	struct sigevent lsev;
	memset(&lsev, 0, sizeof lsev);
	lsev.sigev_notify = SIGEV_THREAD_ID;
	lsev._sigev_un._tid = target_tid;
	lsev.sigev_signo = sig;
	lsev.sigev_value.sival_int = LISTVAL;
	drop_cache(fd);
	say("lio_listio LIO_NOWAIT: %s", RC(lio_listio(LIO_NOWAIT, list, N, &lsev)));
	settle(lcbs, &list_on_target, 1);
	say("lio_listio: %d of %d data right", data_ok(lbufs), N);
	int lgood = 0;
	for (int i = 0; i < N; i++)
		lgood += aio_return(&lcbs[i]) == BS;
	say("lio_listio: %d of %d returns right", lgood, N);
	say("measure: threadid_list_on_target %d", load(&list_on_target));

	/* Agreed by both: nothing lands elsewhere, and whatever arrived was
	 * well-formed and after the result was final. */
	say("signals on another thread: %d", load(&elsewhere));
	say("bad siginfo %d, result not final %d", load(&bad_info),
	    load(&not_final));
	CHECK(!load(&elsewhere) && !load(&bad_info) && !load(&not_final),
	      "signal delivery");

	stop = 1;
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	free(path);
	return t_finish();
}
