/* SIGEV_THREAD callbacks.
 *
 *   once:       64 reads with a callback; each callback runs exactly once,
 *               with its request's sigev_value, not on the main thread, and
 *               sees the final result (aio_error 0, aio_return = bytes).
 *               The main thread waits in nanosleep, outside kaio.
 *   chain:      a callback submits more I/O itself and waits for it inside
 *               the callback: callback k reads a side block (SIGEV_NONE) and
 *               aio_suspends on it, then submits link k+1 (SIGEV_THREAD) and
 *               aio_suspends on that too; 20 links. Must not deadlock, even
 *               though kaio runs callbacks on its notifier thread, which
 *               then can't announce link k+1 until callback k returned.
 *   attributes: sigev_notify_attributes with PTHREAD_CREATE_DETACHED and a
 *               1 MiB stack: accepted, each callback runs once and has at
 *               least 1 MiB of stack (it uses 512 KiB of it).
 *   bigstack:   a 16 MiB stack asked for (twice the usual default) while
 *               another callback is running: each such callback has at
 *               least 16 MiB of stack (pthread_getattr_np), as a program
 *               that sized its callbacks' stack may rely on.
 *   pending:    16 callbacks that block on a gate until the main thread
 *               opens it. Meanwhile the threads are counted.
 *
 * kaio differs from glibc on purpose: glibc runs each callback in a new
 * thread, kaio runs them all, one at a time, on its single notifier thread.
 * So while callbacks are pending glibc has many threads and kaio at most 2
 * (measure threads_cb_pending), only one callback is ever inside its
 * function (callbacks_concurrent), and all callbacks of a busy stretch run
 * on one thread (callback_tids). Rules in run.sh. */
#include "common.h"
#include <pthread.h>
#include <sys/syscall.h>

#define N 64
#define BS 4096
#define SEED 23
#define CHAIN 20
#define NATTR 8
#define NPEND 16

static int fd;
static pid_t main_tid;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static struct aiocb cbs[N];
static unsigned char *bufs;
static int hits[N], bad_value, not_final, on_main;
#define MAXTIDS 256
static pid_t tids[MAXTIDS];
static int ntids;

static void note_tid(void)
{
	pid_t t = gettid();
	for (int i = 0; i < ntids; i++)
		if (tids[i] == t)
			return;
	if (ntids < MAXTIDS)
		tids[ntids++] = t;
}

static void on_done(union sigval v)
{
	int i = v.sival_int;
	int fin = i >= 0 && i < N && aio_error(&cbs[i]) == 0 &&
		  aio_return(&cbs[i]) == BS;
	pthread_mutex_lock(&lock);
	if (i < 0 || i >= N)
		bad_value++;
	else {
		hits[i]++;
		not_final += !fin;
	}
	on_main += gettid() == main_tid;
	note_tid();
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* Waits (nanosleep, outside kaio) until *count reaches want; then a little
 * more, so that an extra call would be seen. */
static void wait_count(int *count, int want, const char *what)
{
	double end = now_sec() + T_STUCK_SEC;
	for (;;) {
		pthread_mutex_lock(&lock);
		int c = *count;
		pthread_mutex_unlock(&lock);
		if (c >= want)
			break;
		if (now_sec() > end)
			DIE("%s: %d of %d after %d s", what, c, want, T_STUCK_SEC);
		usleep(1000);
	}
	usleep(200000);
}

static int total_hits(void)
{
	int t = 0;
	for (int i = 0; i < N; i++)
		t += hits[i];
	return t;
}

static void part_once(void)
{
	static int total;
	memset(bufs, 0xEE, (size_t)N * BS);
	drop_cache(fd);
	for (int i = 0; i < N; i++) {
		setup_cb(&cbs[i], fd, bufs + (size_t)i * BS, BS, (off_t)i * BS);
		cbs[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
		cbs[i].aio_sigevent.sigev_notify_function = on_done;
		cbs[i].aio_sigevent.sigev_value.sival_int = i;
		if (aio_read(&cbs[i]))
			DIE("aio_read: %s", errname(errno));
	}
	say("measure: threads_notify %d", count_threads());
	double end = now_sec() + T_STUCK_SEC;
	for (;;) {
		pthread_mutex_lock(&lock);
		total = total_hits();
		pthread_mutex_unlock(&lock);
		if (total >= N)
			break;
		if (now_sec() > end)
			DIE("once: %d of %d callbacks", total, N);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	usleep(200000);
	int once = 0, extra = 0, good = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < N; i++) {
		once += hits[i] == 1;
		extra += hits[i] > 1 ? hits[i] - 1 : 0;
		good += check_pat(bufs + (size_t)i * BS, BS, (uint64_t)i * BS,
				  SEED) < 0;
	}
	say("once: %d of %d callbacks ran exactly once, %d extra", once, N, extra);
	say("once: bad value %d, result not final %d, ran on the main thread %d",
	    bad_value, not_final, on_main);
	say("once: %d of %d data right", good, N);
	say("measure: callback_tids %d", ntids);
	CHECK(once == N && !extra && !bad_value && !not_final && !on_main &&
		      good == N,
	      "once");
	pthread_mutex_unlock(&lock);
}

/* The chain. */
static struct aiocb links[CHAIN], sides[CHAIN];
static unsigned char *lbufs, *sbufs;
static int link_runs[CHAIN], chain_bad, chain_done;

static int suspend_until_done(const struct aiocb *cb)
{
	const struct aiocb *l[1] = { cb };
	double end = now_sec() + T_STUCK_SEC;
	while (aio_error(cb) == EINPROGRESS) {
		struct timespec ts = { 1, 0 };
		if (aio_suspend(l, 1, &ts) && errno != EAGAIN && errno != EINTR)
			return -1;
		if (now_sec() > end)
			return -1;
	}
	return aio_error(cb);
}

static void submit_link(int k);

static void on_link(union sigval v)
{
	int k = v.sival_int, bad = 0;
	if (k < 0 || k >= CHAIN)
		bad++;
	else {
		if (aio_error(&links[k]) != 0 || aio_return(&links[k]) != BS ||
		    check_pat(lbufs + (size_t)k * BS, BS, (uint64_t)k * BS,
			      SEED) >= 0)
			bad++;
		/* A whole round trip inside the callback. */
		unsigned char *sb = sbufs + (size_t)k * BS;
		off_t soff = (off_t)(CHAIN + k) * BS;
		setup_cb(&sides[k], fd, sb, BS, soff);
		if (aio_read(&sides[k]) || suspend_until_done(&sides[k]) != 0 ||
		    aio_return(&sides[k]) != BS ||
		    check_pat(sb, BS, (uint64_t)soff, SEED) >= 0)
			bad++;
		/* The next link, and wait for its result (not its callback). */
		if (k + 1 < CHAIN) {
			submit_link(k + 1);
			if (suspend_until_done(&links[k + 1]) != 0)
				bad++;
		}
	}
	pthread_mutex_lock(&lock);
	if (k >= 0 && k < CHAIN)
		link_runs[k]++;
	chain_bad += bad;
	chain_done++;
	pthread_mutex_unlock(&lock);
}

static void submit_link(int k)
{
	setup_cb(&links[k], fd, lbufs + (size_t)k * BS, BS, (off_t)k * BS);
	links[k].aio_sigevent.sigev_notify = SIGEV_THREAD;
	links[k].aio_sigevent.sigev_notify_function = on_link;
	links[k].aio_sigevent.sigev_value.sival_int = k;
	if (aio_read(&links[k])) {
		pthread_mutex_lock(&lock);
		chain_bad++;
		pthread_mutex_unlock(&lock);
	}
}

static void part_chain(void)
{
	lbufs = xalign((size_t)CHAIN * BS);
	sbufs = xalign((size_t)CHAIN * BS);
	submit_link(0);
	wait_count(&chain_done, CHAIN, "chain");
	int once = 0;
	pthread_mutex_lock(&lock);
	for (int k = 0; k < CHAIN; k++)
		once += link_runs[k] == 1;
	say("chain: %d of %d links ran exactly once, %d callbacks in all, %d bad",
	    once, CHAIN, chain_done, chain_bad);
	CHECK(once == CHAIN && chain_done == CHAIN && !chain_bad, "chain");
	pthread_mutex_unlock(&lock);
}

/* Attributes: detached, 1 MiB stack. */
static struct aiocb acbs[NATTR];
static unsigned char abufs[NATTR][BS] __attribute__((aligned(4096)));
static int attr_runs[NATTR], attr_bad, attr_small, attr_done;
static size_t attr_stack_min = (size_t)-1;

static void __attribute__((noinline)) use_stack(void)
{
	volatile unsigned char big[512 << 10];
	for (size_t i = 0; i < sizeof big; i += 4096)
		big[i] = (unsigned char)i;
	big[sizeof big - 1] = 1;
}

static void on_attr(union sigval v)
{
	int i = v.sival_int, bad = 0;
	size_t ss = 0;
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstacksize(&a, &ss);
		pthread_attr_destroy(&a);
	}
	use_stack();
	if (i < 0 || i >= NATTR || aio_error(&acbs[i]) != 0 ||
	    aio_return(&acbs[i]) != BS ||
	    check_pat(abufs[i], BS, (uint64_t)i * BS, SEED) >= 0)
		bad++;
	pthread_mutex_lock(&lock);
	if (i >= 0 && i < NATTR)
		attr_runs[i]++;
	attr_bad += bad;
	attr_small += ss < (1u << 20);
	if (ss < attr_stack_min)
		attr_stack_min = ss;
	attr_done++;
	pthread_mutex_unlock(&lock);
}

static void part_attr(void)
{
	static pthread_attr_t attr;
	pthread_attr_init(&attr);
	say("attr: setdetachstate %d",
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED));
	say("attr: setstacksize 1 MiB %d",
	    pthread_attr_setstacksize(&attr, 1 << 20));
	int refused = 0;
	for (int i = 0; i < NATTR; i++) {
		setup_cb(&acbs[i], fd, abufs[i], BS, (off_t)i * BS);
		acbs[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
		acbs[i].aio_sigevent.sigev_notify_function = on_attr;
		acbs[i].aio_sigevent.sigev_notify_attributes = &attr;
		acbs[i].aio_sigevent.sigev_value.sival_int = i;
		refused += aio_read(&acbs[i]) != 0;
	}
	say("attr: %d aio_read refused", refused);
	wait_count(&attr_done, NATTR, "attr");
	int once = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < NATTR; i++)
		once += attr_runs[i] == 1;
	say("attr: %d of %d ran exactly once, %d bad, %d with a stack under 1 MiB",
	    once, NATTR, attr_bad, attr_small);
	say("measure: attr_stack_min %zu", attr_stack_min);
	CHECK(once == NATTR && !attr_bad && !attr_small, "attr");
	pthread_mutex_unlock(&lock);
}

/* A big stack asked for while a callback runs (kaio: its notifier is up). */
#define BIG_STACK (16u << 20)
static struct aiocb bcbs[NATTR + 1];
static unsigned char bbufs[NATTR + 1][BS] __attribute__((aligned(4096)));
static int big_gate, big_in, big_done, big_small, big_bad;
static size_t big_stack_min = (size_t)-1;

static void on_big_first(union sigval v)
{
	(void)v;
	pthread_mutex_lock(&lock);
	big_in = 1;
	pthread_cond_broadcast(&cond);
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += T_STUCK_SEC;
	while (!big_gate)
		if (pthread_cond_timedwait(&cond, &lock, &end) == ETIMEDOUT) {
			big_bad++;
			break;
		}
	big_done++;
	pthread_mutex_unlock(&lock);
}

static void on_big(union sigval v)
{
	int i = v.sival_int;
	size_t ss = 0;
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		pthread_attr_getstacksize(&a, &ss);
		pthread_attr_destroy(&a);
	}
	int bad = i < 1 || i > NATTR || aio_error(&bcbs[i]) != 0 ||
		  aio_return(&bcbs[i]) != BS;
	pthread_mutex_lock(&lock);
	big_bad += bad;
	big_small += ss < BIG_STACK;
	if (ss < big_stack_min)
		big_stack_min = ss;
	big_done++;
	pthread_mutex_unlock(&lock);
}

static void part_bigstack(void)
{
	static pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, BIG_STACK);
	for (int i = 0; i <= NATTR; i++) {
		setup_cb(&bcbs[i], fd, bbufs[i], BS, (off_t)i * BS);
		bcbs[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
		bcbs[i].aio_sigevent.sigev_notify_function = i ? on_big : on_big_first;
		bcbs[i].aio_sigevent.sigev_notify_attributes = i ? &attr : NULL;
		bcbs[i].aio_sigevent.sigev_value.sival_int = i;
		if (aio_read(&bcbs[i]))
			DIE("aio_read: %s", errname(errno));
		if (i == 0) { /* its callback is running before the others */
			pthread_mutex_lock(&lock);
			struct timespec end;
			clock_gettime(CLOCK_REALTIME, &end);
			end.tv_sec += T_STUCK_SEC;
			while (!big_in)
				if (pthread_cond_timedwait(&cond, &lock, &end) == ETIMEDOUT)
					DIE("bigstack: no first callback after %d s", T_STUCK_SEC);
			pthread_mutex_unlock(&lock);
		}
	}
	pthread_mutex_lock(&lock);
	big_gate = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	wait_count(&big_done, NATTR + 1, "bigstack");
	pthread_mutex_lock(&lock);
	say("bigstack: %d callbacks, %d bad, %d with a stack under 16 MiB",
	    big_done, big_bad, big_small);
	say("measure: big_stack_min %zu", big_stack_min);
	CHECK(big_done == NATTR + 1 && !big_bad && !big_small, "bigstack");
	pthread_mutex_unlock(&lock);
}

/* Callbacks that block until the gate opens. */
static struct aiocb pcbs[NPEND];
static unsigned char pbufs[NPEND][BS] __attribute__((aligned(4096)));
static int gate_open, inside, inside_max, pend_runs[NPEND], pend_bad,
	pend_done;

static void on_pend(union sigval v)
{
	int i = v.sival_int;
	int bad = i < 0 || i >= NPEND || aio_error(&pcbs[i]) != 0 ||
		  aio_return(&pcbs[i]) != BS;
	pthread_mutex_lock(&lock);
	inside++;
	if (inside > inside_max)
		inside_max = inside;
	pthread_cond_broadcast(&cond);
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += T_STUCK_SEC;
	while (!gate_open)
		if (pthread_cond_timedwait(&cond, &lock, &end) == ETIMEDOUT) {
			bad++;
			break;
		}
	inside--;
	if (i >= 0 && i < NPEND)
		pend_runs[i]++;
	pend_bad += bad;
	pend_done++;
	pthread_mutex_unlock(&lock);
}

static void part_pending(void)
{
	for (int i = 0; i < NPEND; i++) {
		setup_cb(&pcbs[i], fd, pbufs[i], BS, (off_t)i * BS);
		pcbs[i].aio_sigevent.sigev_notify = SIGEV_THREAD;
		pcbs[i].aio_sigevent.sigev_notify_function = on_pend;
		pcbs[i].aio_sigevent.sigev_value.sival_int = i;
		if (aio_read(&pcbs[i]))
			DIE("aio_read: %s", errname(errno));
	}
	/* Wait for a first callback to be blocked in the gate, then give the
	 * others time to be started (glibc) or queued (kaio). */
	pthread_mutex_lock(&lock);
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += T_STUCK_SEC;
	while (!inside)
		if (pthread_cond_timedwait(&cond, &lock, &end) == ETIMEDOUT)
			DIE("pending: no callback after %d s", T_STUCK_SEC);
	pthread_mutex_unlock(&lock);
	usleep(300000);
	say("measure: threads_cb_pending %d", count_threads());
	pthread_mutex_lock(&lock);
	say("measure: callbacks_concurrent %d", inside_max);
	gate_open = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	wait_count(&pend_done, NPEND, "pending");
	int once = 0;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < NPEND; i++)
		once += pend_runs[i] == 1;
	say("pending: %d of %d ran exactly once, %d bad", once, NPEND, pend_bad);
	CHECK(once == NPEND && !pend_bad, "pending");
	pthread_mutex_unlock(&lock);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	main_tid = gettid();
	char *path = tpath("thread");
	make_pat_file(path, (size_t)N * BS, SEED);
	fd = open_direct(path, O_RDONLY);
	say("measure: direct %d", fd >= 0);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	bufs = xalign((size_t)N * BS);

	part_once();
	part_chain();
	part_attr();
	part_bigstack();
	part_pending();
	say("measure: threads_notify %d", count_threads());
	free(path);
	return t_finish();
}
