/*
 * roundtrip signal|thread FILE SECONDS [direct]
 *
 * One 4 KiB aio_read at a random block of FILE at a time, waited for through
 * that request's own notification, then aio_error and aio_return; repeated
 * for SECONDS. Prints one line:
 *   roundtrip notify=MODE direct=0|1 requests=N seconds=S rate=R lat_avg_us=A lat_p99_us=P
 * Latency: aio_read called to aio_return returned.
 *
 * signal: SIGEV_SIGNAL with SIGRTMIN, blocked except inside sigsuspend, so a
 *         notification that comes before the wait is not lost.
 * thread: SIGEV_THREAD; the function posts a semaphore the main thread waits on.
 * A notification that never comes (10 s past SECONDS) fails the run.
 * Plain POSIX AIO: the program knows nothing of kaio; scripts/bench.sh runs it
 * under glibc and under kaio. Exit 0, or 1 on any error.
 */
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BS 4096
/* Latency histogram: 0.25 µs buckets up to 20 ms, then one overflow bucket. */
#define STEP_NS 250
#define NBUCKET 80000

static struct aiocb cb;
static volatile sig_atomic_t done, timed_out;
static sem_t sem;
static uint32_t hist[NBUCKET + 1];

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (si->si_value.sival_ptr == &cb)
		done = 1;
}

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void on_thread(union sigval v)
{
	if (v.sival_ptr == &cb)
		sem_post(&sem);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fail(const char *what)
{
	fprintf(stderr, "roundtrip: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5 || (strcmp(argv[1], "signal") && strcmp(argv[1], "thread")) ||
	    (argc == 5 && strcmp(argv[4], "direct"))) {
		fputs("usage: roundtrip signal|thread FILE SECONDS [direct]\n", stderr);
		return 2;
	}
	int use_signal = !strcmp(argv[1], "signal");
	int direct = argc == 5;
	double seconds = atof(argv[3]);
	int fd = open(argv[2], O_RDONLY | (direct ? O_DIRECT : 0));
	if (fd < 0)
		return fail(argv[2]);
	struct stat st;
	if (fstat(fd, &st) || st.st_size < BS)
		return fail("fstat (the file must hold at least 4 KiB)");
	uint64_t blocks = st.st_size / BS;
	void *buf;
	if ((errno = posix_memalign(&buf, BS, BS)))
		return fail("posix_memalign");

	sigset_t blocked, waitmask;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGRTMIN);
	sigaddset(&blocked, SIGALRM);
	if (sigprocmask(SIG_BLOCK, &blocked, &waitmask))
		return fail("sigprocmask");
	sigdelset(&waitmask, SIGRTMIN);
	sigdelset(&waitmask, SIGALRM);
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL))
		return fail("sigaction");
	struct sigaction sal = { .sa_handler = on_alarm };
	sigemptyset(&sal.sa_mask);
	if (sigaction(SIGALRM, &sal, NULL))
		return fail("sigaction");
	if (sem_init(&sem, 0, 0))
		return fail("sem_init");
	alarm((unsigned)seconds + 10);

	uint64_t x = 88172645463325252ull ^ (uint64_t)getpid();
	uint64_t n = 0;
	double sum = 0, start = now(), t = start, end = start + seconds;
	while (t < end) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memset(&cb, 0, sizeof(cb));
		cb.aio_fildes = fd;
		cb.aio_buf = buf;
		cb.aio_nbytes = BS;
		cb.aio_offset = (off_t)(x % blocks) * BS;
		cb.aio_sigevent.sigev_value.sival_ptr = &cb;
		if (use_signal) {
			cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
			cb.aio_sigevent.sigev_signo = SIGRTMIN;
		} else {
			cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
			cb.aio_sigevent.sigev_notify_function = on_thread;
		}
		done = 0;
		if (aio_read(&cb))
			return fail("aio_read");
		if (use_signal) {
			while (!done && !timed_out)
				sigsuspend(&waitmask);
		} else {
			struct timespec dl;
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_sec += (time_t)(end - t) + 10;
			while (sem_timedwait(&sem, &dl)) {
				if (errno == ETIMEDOUT) {
					timed_out = 1;
					break;
				}
				if (errno != EINTR)
					return fail("sem_timedwait");
			}
		}
		if (timed_out) {
			fprintf(stderr, "roundtrip: request %llu: no notification within 10 s\n",
				(unsigned long long)n);
			return 1;
		}
		int err = aio_error(&cb);
		if (err) {
			fprintf(stderr, "roundtrip: request %llu: aio_error %d (%s) after its notification\n",
				(unsigned long long)n, err, strerror(err));
			return 1;
		}
		ssize_t ret = aio_return(&cb);
		if (ret != BS) {
			fprintf(stderr, "roundtrip: request %llu: aio_return %zd, expected %d\n",
				(unsigned long long)n, ret, BS);
			return 1;
		}
		double t1 = now();
		double lat = t1 - t;
		uint64_t b = (uint64_t)(lat * 1e9 / STEP_NS);
		hist[b < NBUCKET ? b : NBUCKET]++;
		sum += lat;
		n++;
		t = t1;
	}
	double elapsed = t - start;
	uint64_t want = n - n / 100, seen = 0;
	size_t b = 0;
	for (; b < NBUCKET; b++) {
		seen += hist[b];
		if (seen >= want)
			break;
	}
	printf("roundtrip notify=%s direct=%d requests=%llu seconds=%.3f rate=%.0f lat_avg_us=%.2f lat_p99_us=%.2f\n",
	       argv[1], direct, (unsigned long long)n, elapsed, n / elapsed, n ? sum * 1e6 / n : 0,
	       (b + 1) * STEP_NS / 1e3);
	return 0;
}
