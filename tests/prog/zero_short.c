/* aio_read of /dev/zero while the reading thread is hammered with signals
 * and shares its CPU with a busy thread. The kernel's /dev/zero read stops
 * at a page boundary when the thread doing it has a signal pending, or,
 * under RWF_NOWAIT, when the scheduler wants the CPU back. glibc's helper
 * threads block every signal and never use RWF_NOWAIT: aio_return is
 * always the whole count. A program's aio_read must not come back short
 * because of how the implementation issued it.
 *   A thread sends SIGUSR1 (SA_RESTART handler) to the reading thread with
 *   pthread_kill in a tight loop, from any CPU; the reading thread is
 *   pinned to one CPU (sched_setaffinity; measure: pinned) and a thread
 *   spins on that CPU too (it inherits the pinning); the reading thread
 *   then makes argv[2] (default 300) rounds of aio_read of 1 MiB and of
 *   8192 bytes, each into a buffer of 0xff bytes, waits, and takes
 *   aio_return. Printed: whether every round gave the whole count (or how
 *   many fell short, and the first short count), whether every byte read
 *   was zero. The signals delivered and the rounds made: measure lines.
 *   The rounds stop early after ROUNDS_S seconds, once MIN_ROUNDS are
 *   done: a 32-bit process under this storm gets through 300 rounds with
 *   glibc in 80 s on a quiet 2-CPU machine, and past the hang guard on a
 *   busy one; how many rounds a machine manages changes no verdict. */
#include "common.h"
#include <pthread.h>

static pthread_t reader;
static _Atomic int stop;
static _Atomic unsigned long sigs;

static void on_usr1(int sig)
{
	(void)sig;
	sigs++;
}

static void *hog(void *arg)
{
	(void)arg;
	while (!stop)
		;
	return NULL;
}

static void *signaller(void *arg)
{
	(void)arg;
	while (!stop)
		pthread_kill(reader, SIGUSR1);
	return NULL;
}

/* Pins the calling thread to the first CPU it may run on. */
static int pin(void)
{
	cpu_set_t s;
	if (sched_getaffinity(0, sizeof s, &s))
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &s))
			continue;
		CPU_ZERO(&s);
		CPU_SET(c, &s);
		return sched_setaffinity(0, sizeof s, &s) ? -1 : c;
	}
	return -1;
}

#define NSIZES 2

struct tally {
	size_t n;
	int whole, shorts, zeros;
	ssize_t first_short;
};

#define ROUNDS_S 20.0
#define MIN_ROUNDS 30

static void note(struct tally *t, ssize_t r, const unsigned char *buf)
{
	for (ssize_t i = 0; i < r; i++)
		if (buf[i]) {
			t->zeros = 0;
			break;
		}
	if (r == (ssize_t)t->n) {
		t->whole++;
	} else if (!t->shorts++) {
		t->first_short = r;
	}
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	int rounds = argc > 2 ? atoi(argv[2]) : 300;
	if (rounds < 1)
		DIE("rounds: %d", rounds);
	int fd = xopen("/dev/zero", O_RDONLY);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		DIE("sigaction");
	struct tally t[NSIZES] = { { .n = 1 << 20, .zeros = 1 }, { .n = 8192, .zeros = 1 } };
	unsigned char *buf = xmalloc(1 << 20);
	reader = pthread_self();
	pthread_t th[2];
	if (pthread_create(&th[1], NULL, signaller, NULL))
		DIE("pthread_create");
	int cpu = pin();
	say("measure: pinned %s", cpu < 0 ? "no" : "yes");
	if (pthread_create(&th[0], NULL, hog, NULL))
		DIE("pthread_create");
	double t0 = now_sec();
	int done = 0;
	for (int r = 0; r < rounds; r++, done++) {
		if (r >= MIN_ROUNDS && now_sec() - t0 > ROUNDS_S)
			break;
		for (int k = 0; k < NSIZES; k++) {
			struct aiocb cb;
			memset(buf, 0xff, t[k].n);
			setup_cb(&cb, fd, buf, t[k].n, 0);
			int s;
			while ((s = aio_read(&cb)) == -1 && errno == EAGAIN)
				sched_yield();
			if (s)
				DIE("aio_read: %s", errname(errno));
			int e = wait_one(&cb);
			ssize_t n = aio_return(&cb);
			CHECK(e == 0, "round %d, %zu bytes: aio_error %s", r, t[k].n, errname(e));
			note(&t[k], n, buf);
		}
	}
	stop = 1;
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);

	for (int k = 0; k < NSIZES; k++) {
		char first[64] = "";
		if (t[k].shorts)
			snprintf(first, sizeof first, " (the first: aio_return %zd)",
				 t[k].first_short);
		if (t[k].shorts)
			say("aio_read %zu bytes of /dev/zero: %d of %d rounds short%s, "
			    "bytes read %s", t[k].n, t[k].shorts, done, first,
			    t[k].zeros ? "all zero" : "NOT ZERO");
		else
			say("aio_read %zu bytes of /dev/zero: every round whole, bytes read %s",
			    t[k].n, t[k].zeros ? "all zero" : "NOT ZERO");
		CHECK(t[k].whole == done, "%zu bytes: %d of %d rounds short", t[k].n,
		      t[k].shorts, done);
		CHECK(t[k].zeros, "%zu bytes: nonzero bytes read", t[k].n);
	}
	say("measure: signals %lu", (unsigned long)sigs);
	say("measure: rounds %d", done);
	return t_finish();
}
