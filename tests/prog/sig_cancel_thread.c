/* pthread_cancel of a thread blocked in aio_suspend (a cancellation point).
 *
 * The victims wait on pipe reads that nobody writes to yet, so they really
 * block (under kaio the read is kaio's own request, waiting in a kernel
 * poll; the victim sleeps in kaio's wait as the reaper in io_getevents or
 * as a futex waiter). Each cancelled thread must be joined with
 * PTHREAD_CANCELED (a join that takes T_STUCK_SEC is a hang; how long it
 * took: measure cancel_join_ms_*), and afterwards the process's AIO must work:
 * nothing the victim held (reaper role, waiter count) may be left behind.
 *
 *   alone:    one victim, no timeout; then one with a 10 s timeout. After
 *             each, the pipe read still completes when written to, and a
 *             regular-file round trip with aio_suspend works in another
 *             thread and in the main thread.
 *   pair:     two victims on two pipes; one is cancelled, then the other's
 *             pipe is written: it must return 0 (woken, whichever of the
 *             two was reaping). Both orders.
 *   workers:  two threads doing regular-file round trips with aio_suspend
 *             in a loop while a victim on a pipe is cancelled: both keep
 *             going (at least 50 more round trips each), all data right. */
#include "common.h"
#include <pthread.h>

#define BS 4096
#define SEED 37
#define NBLK 64

static int ffd;			/* the regular file */

struct victim {
	int p[2];
	char c;
	struct aiocb cb;
	struct timespec *timeout;
	pthread_t t;
	volatile int waiting;
	int result;		/* what aio_suspend returned, if it did */
};

static void *victim_main(void *arg)
{
	struct victim *v = arg;
	const struct aiocb *one[1] = { &v->cb };
	v->waiting = 1;
	for (;;) {
		int r = aio_suspend(one, 1, v->timeout);
		if (r == 0 || errno != EINTR) {
			v->result = r == 0 ? 0 : errno;
			break;
		}
	}
	v->waiting = 0;
	return NULL;
}

static void victim_start(struct victim *v, struct timespec *timeout)
{
	memset(v, 0, sizeof *v);
	if (pipe(v->p))
		DIE("pipe");
	setup_cb(&v->cb, v->p[0], &v->c, 1, 0);
	if (aio_read(&v->cb))
		DIE("aio_read pipe: %s", errname(errno));
	v->timeout = timeout;
	v->result = -1;
	if (pthread_create(&v->t, NULL, victim_main, v))
		DIE("pthread_create");
	while (!v->waiting)
		usleep(1000);
}

/* "PTHREAD_CANCELED" or "returned"; dies if the thread is not joined
 * within T_STUCK_SEC. */
static const char *join(struct victim *v, double *took)
{
	struct timespec abs;
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_sec += T_STUCK_SEC;
	double t0 = now_sec();
	void *ret = NULL;
	int r = pthread_timedjoin_np(v->t, &ret, &abs);
	*took = now_sec() - t0;
	if (r)
		DIE("join: %s", errname(r));
	return ret == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "returned";
}

static const char *cancel_join(struct victim *v, const char *what)
{
	usleep(200000); /* well inside aio_suspend */
	double took;
	pthread_cancel(v->t);
	const char *r = join(v, &took);
	say("measure: cancel_join_ms_%s %.0f", what, took * 1000);
	return r;
}

/* The victim's pipe read is still in flight: complete it. */
static void victim_finish(struct victim *v, const char *what)
{
	say("%s: pipe read after the cancel: %s", what, errname(aio_error(&v->cb)));
	if (write(v->p[1], "v", 1) != 1)
		DIE("write");
	wait_one(&v->cb);
	say("%s: then %s byte %c", what, result(&v->cb), v->c);
	close(v->p[0]);
	close(v->p[1]);
}

/* A regular-file round trip with aio_suspend: 1 if right. */
static int round_trip(unsigned char *buf, int blk)
{
	struct aiocb cb;
	setup_cb(&cb, ffd, buf, BS, (off_t)blk * BS);
	memset(buf, 0xEE, BS);
	if (aio_read(&cb))
		return 0;
	const struct aiocb *one[1] = { &cb };
	double end = now_sec() + T_STUCK_SEC;
	while (aio_error(&cb) == EINPROGRESS) {
		struct timespec ts = { 1, 0 };
		aio_suspend(one, 1, &ts);
		if (now_sec() > end)
			DIE("round trip stuck");
	}
	return aio_error(&cb) == 0 && aio_return(&cb) == BS &&
	       check_pat(buf, BS, (uint64_t)blk * BS, SEED) < 0;
}

static void *trip_thread(void *arg)
{
	unsigned char *buf = xalign(BS);
	*(int *)arg = round_trip(buf, 3);
	free(buf);
	return NULL;
}

static void trips(const char *what)
{
	int ok = 0;
	pthread_t t;
	if (pthread_create(&t, NULL, trip_thread, &ok))
		DIE("pthread_create");
	pthread_join(t, NULL);
	unsigned char *buf = xalign(BS);
	int mine = round_trip(buf, 5);
	free(buf);
	say("%s: round trip in another thread %s, in the main thread %s", what,
	    ok ? "ok" : "WRONG", mine ? "ok" : "WRONG");
	CHECK(ok && mine, "%s round trips", what);
}

static void alone(void)
{
	struct victim v;
	victim_start(&v, NULL);
	say("alone, no timeout: %s", cancel_join(&v, "alone"));
	victim_finish(&v, "alone, no timeout");
	trips("alone, no timeout");

	struct timespec ten = { 10, 0 };
	victim_start(&v, &ten);
	say("alone, 10 s timeout: %s", cancel_join(&v, "timeout"));
	victim_finish(&v, "alone, 10 s timeout");
	trips("alone, 10 s timeout");
}

static void pair(int first)
{
	struct victim v[2];
	victim_start(&v[0], NULL);
	victim_start(&v[1], NULL);
	const char *what = first ? "pair, second cancelled" : "pair, first cancelled";
	say("%s: %s", what, cancel_join(&v[first], first ? "pair1" : "pair0"));
	struct victim *o = &v[!first];
	usleep(100000);
	say("%s: the other still waits: %s", what, o->waiting ? "yes" : "NO");
	if (write(o->p[1], "o", 1) != 1)
		DIE("write");
	double took;
	const char *how = join(o, &took);
	say("%s: the other, its pipe written: %s, aio_suspend %s", what, how,
	    o->result == 0 ? "0" : errname(o->result));
	say("%s: the other's read %s", what, result(&o->cb));
	close(o->p[0]);
	close(o->p[1]);
	victim_finish(&v[first], what);
}

static volatile int stop;

struct worker {
	pthread_t t;
	int blk;
	volatile long trips, wrong;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned char *buf = xalign(BS);
	while (!stop) {
		if (!round_trip(buf, w->blk))
			w->wrong++;
		w->trips++;
		w->blk = (w->blk + 7) % NBLK;
	}
	free(buf);
	return NULL;
}

static void workers(void)
{
	struct worker w[2];
	memset(w, 0, sizeof w);
	for (int i = 0; i < 2; i++) {
		w[i].blk = i * 11;
		if (pthread_create(&w[i].t, NULL, worker_main, &w[i]))
			DIE("pthread_create");
	}
	double end = now_sec() + T_STUCK_SEC;
	while (w[0].trips < 50 || w[1].trips < 50)
		if (now_sec() > end)
			DIE("workers do not start");
		else
			usleep(1000);
	struct victim v;
	victim_start(&v, NULL);
	say("workers: %s", cancel_join(&v, "workers"));
	long base[2] = { w[0].trips, w[1].trips };
	end = now_sec() + T_STUCK_SEC;
	while (w[0].trips < base[0] + 50 || w[1].trips < base[1] + 50)
		if (now_sec() > end)
			break;
		else
			usleep(1000);
	int going = w[0].trips >= base[0] + 50 && w[1].trips >= base[1] + 50;
	say("workers: both kept going after the cancel: %s", going ? "yes" : "NO");
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(w[i].t, NULL);
	say("workers: wrong round trips %ld", w[0].wrong + w[1].wrong);
	say("measure: cancel_worker_trips %ld %ld", w[0].trips, w[1].trips);
	CHECK(going && !w[0].wrong && !w[1].wrong, "workers");
	victim_finish(&v, "workers");
	trips("workers");
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("cancel_thread");
	make_pat_file(path, (size_t)NBLK * BS, SEED);
	ffd = open_direct(path, O_RDONLY);
	say("measure: direct %d", ffd >= 0);
	if (ffd < 0)
		ffd = xopen(path, O_RDONLY);

	alone();
	pair(0);
	pair(1);
	workers();
	free(path);
	return t_finish();
}
