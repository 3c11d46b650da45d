/* Threads cancelled inside aio_suspend while others keep using AIO
 * (argv[1]: scratch). 4 workers loop on round trips: an O_DIRECT file read
 * waited with aio_suspend (timeouts of 0, 1 ms and none, in turn), and a
 * pipe round trip (aio_read on a pipe a worker writes itself). Meanwhile
 * 60 victims, one at a time, submit a pipe read (a third of them a file
 * read that completes at once) and wait in aio_suspend with no timeout or
 * a 10 s one; each is cancelled 0 to 3 ms after it starts, so some are
 * cancelled before, some inside the wait, some as the reaper. Every victim
 * must end (joined: a victim not joined within T_STUCK_SEC never acted on
 * its cancel; its pipe is then written so the program can go on);
 * afterwards its request completes when its pipe is written; the workers
 * keep going (rounds after the storm) with every result right. */
#include "../prog/common.h"
#include <pthread.h>

#define NW 4
#define NV 60
#define BS 4096
#define NB 64
#define SEED 151

static int ffd;
static volatile int stop;

struct worker {
	pthread_t t;
	int id;
	volatile long rounds, bad;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	unsigned char *b = xalign(BS);
	int p[2];
	if (pipe(p))
		DIE("pipe");
	while (!stop) {
		struct aiocb cb;
		off_t off = (off_t)((w->rounds * 5 + w->id) % NB) * BS;
		setup_cb(&cb, ffd, b, BS, off);
		memset(b, 0xEE, BS);
		if (aio_read(&cb)) {
			w->bad++;
			continue;
		}
		const struct aiocb *l[1] = { &cb };
		struct timespec z = { 0, 0 }, ms = { 0, 1000000 };
		struct timespec *ts = w->rounds % 3 == 0 ? &z : w->rounds % 3 == 1 ? &ms : NULL;
		double end = now_sec() + T_STUCK_SEC;
		while (aio_error(&cb) == EINPROGRESS && now_sec() < end)
			aio_suspend(l, 1, ts);
		if (aio_error(&cb) || aio_return(&cb) != BS ||
		    check_pat(b, BS, (uint64_t)off, SEED) >= 0)
			w->bad++;
		char c = 0;
		setup_cb(&cb, p[0], &c, 1, 0);
		if (aio_read(&cb) || write(p[1], "w", 1) != 1 || wait_one(&cb) ||
		    aio_return(&cb) != 1 || c != 'w')
			w->bad++;
		w->rounds++;
	}
	close(p[0]);
	close(p[1]);
	free(b);
	return NULL;
}

struct victim {
	pthread_t t;
	int p[2];
	char c;
	unsigned char *fb;
	struct aiocb cb;
	int file, timed;
	volatile int started;
};

static void *victim_main(void *arg)
{
	struct victim *v = arg;
	const struct aiocb *l[1] = { &v->cb };
	struct timespec ten = { 10, 0 };
	v->started = 1;
	for (;;) {
		int r = aio_suspend(l, 1, v->timed ? &ten : NULL);
		if (r == 0 || errno != EINTR)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("storm");
	make_pat_file(path, NB * BS, SEED);
	ffd = open_direct(path, O_RDONLY);
	if (ffd < 0)
		ffd = xopen(path, O_RDONLY);
	struct worker w[NW];
	memset(w, 0, sizeof w);
	for (int i = 0; i < NW; i++) {
		w[i].id = i;
		if (pthread_create(&w[i].t, NULL, worker, &w[i]))
			DIE("pthread_create");
	}
	int late = 0, returned = 0, lost = 0;
	for (int k = 0; k < NV; k++) {
		struct victim v;
		memset(&v, 0, sizeof v);
		v.file = k % 3 == 2;
		v.timed = k % 2;
		if (pipe(v.p))
			DIE("pipe");
		if (v.file) {
			v.fb = xalign(BS);
			setup_cb(&v.cb, ffd, v.fb, BS, (off_t)(k % NB) * BS);
		} else {
			setup_cb(&v.cb, v.p[0], &v.c, 1, 0);
		}
		if (aio_read(&v.cb))
			DIE("aio_read");
		if (pthread_create(&v.t, NULL, victim_main, &v))
			DIE("pthread_create");
		usleep((useconds_t)(k % 4) * 1000);
		pthread_cancel(v.t);
		struct timespec abs;
		clock_gettime(CLOCK_REALTIME, &abs);
		abs.tv_sec += T_STUCK_SEC;
		void *ret;
		int written = 0;
		if (pthread_timedjoin_np(v.t, &ret, &abs)) {
			late++;
			fprintf(stderr, "victim %d (%s, %s): not joined after %d s\n", k,
				v.file ? "file" : "pipe", v.timed ? "10 s timeout" : "no timeout",
				T_STUCK_SEC);
			if (!v.file && write(v.p[1], "v", 1) != 1)
				DIE("write");
			clock_gettime(CLOCK_REALTIME, &abs);
			abs.tv_sec += T_STUCK_SEC;
			if (pthread_timedjoin_np(v.t, &ret, &abs))
				DIE("victim %d: not joined even with its pipe written", k);
			written = 1;
		}
		returned += ret != PTHREAD_CANCELED;
		if (!v.file && !written && write(v.p[1], "v", 1) != 1)
			DIE("write");
		int e = wait_bounded(&v.cb, T_STUCK_SEC);
		ssize_t r = e == EINPROGRESS ? -2 : aio_return(&v.cb);
		if (e || r != (v.file ? BS : 1) ||
		    (v.file ? check_pat(v.fb, BS, (uint64_t)(k % NB) * BS, SEED) >= 0 : v.c != 'v'))
			lost++;
		close(v.p[0]);
		close(v.p[1]);
		free(v.fb);
	}
	long base[NW];
	for (int i = 0; i < NW; i++)
		base[i] = w[i].rounds;
	double end = now_sec() + T_STUCK_SEC;
	int going;
	do {
		going = 1;
		for (int i = 0; i < NW; i++)
			going &= w[i].rounds >= base[i] + 50;
		if (!going)
			usleep(1000);
	} while (!going && now_sec() < end);
	stop = 1;
	long bad = 0, rounds = 0;
	for (int i = 0; i < NW; i++) {
		pthread_join(w[i].t, NULL);
		bad += w[i].bad;
		rounds += w[i].rounds;
	}
	say("victims: %d, not joined %d, returned instead of cancelled (informative) %s, requests wrong %d",
	    NV, late, returned ? "some" : "none", lost);
	say("measure: returned %d", returned);
	say("workers: kept going %s, wrong results %ld", going ? "yes" : "NO", bad);
	say("measure: worker_rounds %ld", rounds);
	CHECK(!late && !lost && going && !bad, "cancel storm");
	return t_finish();
}
