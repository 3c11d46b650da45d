/* aio_fsync from several threads while the others keep writing to the same
 * fd: 4 threads write their own blocks (positional, 6 of their own in
 * flight) and each calls aio_fsync every 12 writes; every call is made
 * under a mutex that gives the calls one global order. When a fsync is done
 * (polled with aio_error), every write called before it on that fd must be
 * done and its data in the file; writes called after it may still run.
 * Buffered, then O_DIRECT overwrites of allocated blocks, which the kernel
 * completes asynchronously: a fsync that does not wait for them is seen
 * now and then (whether the kernel's fsync beats a write is timing; the
 * unit test test_concurrent checks the order itself). aiocbs are never reused, so any thread may look at any of them. */
#include "common.h"
#include <pthread.h>

#define NT 4
#define PER 120
#define NW (NT * PER)

static int fd, rfd, direct, per, every;
static size_t bs;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long next_write;
static struct aiocb cbs[NW];
static unsigned char *bufs;
static int verified[NW];
static int fsyncs[NT], early[NT], missing[NT], failed[NT];

/* Every write called before the fsync (tickets < floor) is done and there. */
static void check_before(int t, long floor)
{
	unsigned char *b = xalign(bs);

	for (long i = 0; i < floor; i++) {
		if (__atomic_load_n(&verified[i], __ATOMIC_ACQUIRE))
			continue;
		if (aio_error(&cbs[i]) == EINPROGRESS) {
			if (!early[t]++)
				fprintf(stderr, "thread %d: write %ld in progress after a later fsync\n", t, i);
			continue;
		}
		xpread_all(rfd, b, bs, (off_t)i * (off_t)bs);
		if (check_pat(b, bs, (uint64_t)i * bs, 11 + (unsigned)direct) >= 0) {
			if (!missing[t]++)
				fprintf(stderr, "thread %d: write %ld done, not in the file\n", t, i);
			continue;
		}
		__atomic_store_n(&verified[i], 1, __ATOMIC_RELEASE);
	}
	free(b);
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	long mine[PER];
	int n = 0, waited = 0;

	while (n < per) {
		pthread_mutex_lock(&mu);
		long i = next_write++;
		unsigned char *p = bufs + (size_t)i * bs;
		fill_pat(p, bs, (uint64_t)i * bs, 11 + (unsigned)direct);
		setup_cb(&cbs[i], fd, p, bs, (off_t)i * (off_t)bs);
		if (aio_write(&cbs[i]))
			DIE("aio_write: %s", errname(errno));
		pthread_mutex_unlock(&mu);
		mine[n++] = i;
		if (n % every == 0) {
			struct aiocb fs;
			long floor;

			setup_cb(&fs, fd, NULL, 0, 0);
			pthread_mutex_lock(&mu);
			floor = next_write;
			if (aio_fsync((n / every) % 2 ? O_SYNC : O_DSYNC, &fs))
				DIE("aio_fsync: %s", errname(errno));
			pthread_mutex_unlock(&mu);
			if (poll_one(&fs) != 0 || aio_return(&fs) != 0)
				failed[t]++;
			check_before(t, floor);
			fsyncs[t]++;
		}
		while (n - waited > 6)
			poll_one(&cbs[mine[waited++]]);
	}
	while (waited < n)
		wait_one(&cbs[mine[waited++]]);
	return NULL;
}

static void round_(const char *what, size_t bs_, int per_, int every_)
{
	pthread_t th[NT];
	int nw = NT * per_;

	bs = bs_;
	per = per_;
	every = every_;
	next_write = 0;
	memset(verified, 0, sizeof verified);
	memset(early, 0, sizeof early);
	memset(missing, 0, sizeof missing);
	memset(failed, 0, sizeof failed);
	memset(fsyncs, 0, sizeof fsyncs);
	for (int t = 0; t < NT; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t))
			DIE("pthread_create");
	for (int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	int e = 0, m = 0, f = 0, bad = 0, total = 0;
	for (int t = 0; t < NT; t++) {
		e += early[t];
		m += missing[t];
		f += failed[t];
		total += fsyncs[t];
	}
	for (long i = 0; i < nw; i++)
		bad += aio_error(&cbs[i]) != 0 || aio_return(&cbs[i]) != (ssize_t)bs;
	say("%s: %d writes failed, %d fsyncs failed", what, bad, f);
	say("%s: earlier writes in progress when a fsync was done: %d, not in the file: %d",
	    what, e, m);
	say("measure: fsyncs_%s %d", what[0] == 'b' ? "buffered" : "direct", total);
	CHECK(!bad && !f && !e && !m, "%s", what);
	unsigned char *all = xalign((size_t)nw * bs);
	xpread_all(rfd, all, (size_t)nw * bs, 0);
	long wrong = check_pat(all, (size_t)nw * bs, 0, 11 + (unsigned)direct);
	say("%s: file %s", what, wrong < 0 ? "ok" : "WRONG");
	CHECK(wrong < 0, "%s: byte %ld", what, wrong);
	free(all);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("mt_fsync");
	size_t size = (size_t)NW * 4096;
	bufs = xalign(size);
	fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	rfd = xopen(path, O_RDONLY);
	round_("buffered", 4096, PER, 12);
	/* Allocated on disk first: O_DIRECT overwrites then run asynchronously. */
	memset(bufs, 0, size);
	xpwrite_all(fd, bufs, size, 0);
	if (fsync(fd))
		DIE("fsync: %s", strerror(errno));
	close(fd);
	direct = 1;
	fd = open_direct(path, O_RDWR);
	if (fd < 0) {
		say("measure: direct refused");
		fd = xopen(path, O_RDWR);
	}
	round_("direct", 4096, PER, 12);
	close(fd);
	close(rfd);
	return t_finish();
}
