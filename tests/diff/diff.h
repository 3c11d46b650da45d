/* What the differential generators (gen.c: one to four threads on files of
 * their own; mt.c: threads sharing fds and files) have in common: the
 * seeded PRNG, the hash, per-thread output buffers, the calls (each one the
 * plain name or its *64 twin, chosen by the PRNG), the watchdog that calls a
 * wait stuck, and what cold mode (-c) needs: dropping a file's page cache
 * and checking that a drop really empties it here.
 */
#ifndef DIFF_H
#define DIFF_H

#include "../prog/common.h"

#include <pthread.h>
#include <sys/mman.h>

#define STUCK_NS (20LL * 1000000000LL)
#define DIFF_MAXT 8

/* ---- PRNG (splitmix64) and hash (FNV-1a) ---- */

static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV0 0xcbf29ce484222325ULL

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- output: "ID.STEP text" lines, buffered per thread ---- */

struct outbuf {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 4, 0)))
vout(struct outbuf *o, int id, int step, const char *fmt, va_list ap)
{
	char line[512];
	int k = snprintf(line, sizeof line, "%d.%04d ", id, step);
	k += vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
	if (k > (int)sizeof line - 2)
		k = (int)sizeof line - 2;
	line[k++] = '\n';
	if (o->len + (size_t)k > o->cap) {
		o->cap = (o->cap + (size_t)k) * 2;
		o->p = realloc(o->p, o->cap);
		if (!o->p)
			DIE("realloc");
	}
	memcpy(o->p + o->len, line, (size_t)k);
	o->len += (size_t)k;
}

/*
 * ---- calls: the *64 twins are the same functions on x86_64, either one ----
 * On i386 with a 32-bit off_t, aio_read64, aio_write64 and lio_listio64 read
 * a 64-bit offset whose high half is struct aiocb's padding: only the plain
 * names are right there (W64 is 0), and the rng is drawn all the same.
 */
#define W64 (sizeof(off_t) == 8)

static int x_error(uint64_t *r, const struct aiocb *cb)
{
	return mix(r) & 1 ? aio_error64((const struct aiocb64 *)cb) : aio_error(cb);
}

static ssize_t x_return(uint64_t *r, struct aiocb *cb)
{
	return mix(r) & 1 ? aio_return64((struct aiocb64 *)cb) : aio_return(cb);
}

static int x_read(uint64_t *r, struct aiocb *cb)
{
	return (mix(r) & 1) && W64 ? aio_read64((struct aiocb64 *)cb) : aio_read(cb);
}

static int x_write(uint64_t *r, struct aiocb *cb)
{
	return (mix(r) & 1) && W64 ? aio_write64((struct aiocb64 *)cb) : aio_write(cb);
}

static int x_fsync(uint64_t *r, int op, struct aiocb *cb)
{
	return mix(r) & 1 ? aio_fsync64(op, (struct aiocb64 *)cb) : aio_fsync(op, cb);
}

static int x_suspend(uint64_t *r, const struct aiocb *const *l, int n,
		     const struct timespec *ts)
{
	if (mix(r) & 1)
		return aio_suspend64((const struct aiocb64 *const *)l, n, ts);
	return aio_suspend(l, n, ts);
}

static int x_cancel(uint64_t *r, int fd, struct aiocb *cb)
{
	if (mix(r) & 1)
		return aio_cancel64(fd, (struct aiocb64 *)cb);
	return aio_cancel(fd, cb);
}

static int x_lio(uint64_t *r, int mode, struct aiocb **l, int n, struct sigevent *sev)
{
	if ((mix(r) & 1) && W64)
		return lio_listio64(mode, (struct aiocb64 *const *)l, n, sev);
	return lio_listio(mode, l, n, sev);
}

/* ---- watchdog: a wait that lasts STUCK_NS prints STUCK and exits 1 ---- */

static int64_t wd_deadline[DIFF_MAXT];	/* 0: not waiting */
static int wd_step[DIFF_MAXT];
static void (*wd_dump)(int id);	/* what thread id waits for, on stderr */

static void wait_begin(int id, int step)
{
	wd_step[id] = step;
	__atomic_store_n(&wd_deadline[id], mono_ns() + STUCK_NS, __ATOMIC_RELEASE);
}

static void wait_end(int id)
{
	__atomic_store_n(&wd_deadline[id], 0, __ATOMIC_RELEASE);
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		usleep(100 * 1000);
		int64_t now = mono_ns();
		for (int i = 0; i < DIFF_MAXT; i++) {
			int64_t d = __atomic_load_n(&wd_deadline[i], __ATOMIC_ACQUIRE);
			if (d && now > d) {
				printf("STUCK thread %d step %d: a request in "
				       "progress for 20 s\n", i, wd_step[i]);
				fflush(stdout);
				if (wd_dump)
					wd_dump(i);
				_exit(1);
			}
		}
	}
	return NULL;
}

static void watchdog_start(void (*dump)(int id))
{
	pthread_t wd;
	wd_dump = dump;
	if (pthread_create(&wd, NULL, watchdog, NULL))
		DIE("pthread_create");
}

static void notify_fn(union sigval v)
{
	__atomic_fetch_add((int *)v.sival_ptr, 1, __ATOMIC_SEQ_CST);
}

/* ---- setup probes ---- */

/* Does DIR's file system take O_DIRECT? */
static int direct_works(const char *dir)
{
	char probe[600];
	snprintf(probe, sizeof probe, "%s/direct-probe", dir);
	int fd = open(probe, O_RDWR | O_CREAT | O_DIRECT, 0644);
	if (fd < 0 && errno != EINVAL)
		DIE("open %s: %s", probe, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(probe);
	return fd >= 0;
}

/* ---- cold mode ---- */

/* fdatasync first: POSIX_FADV_DONTNEED leaves dirty pages in the cache. */
static void cache_drop(int fd)
{
	if (fdatasync(fd))
		DIE("fdatasync: %s", strerror(errno));
	if ((errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)))
		DIE("posix_fadvise: %s", strerror(errno));
}

/* Pages of fd's first len bytes in the page cache. */
static size_t cache_resident(int fd, size_t len)
{
	size_t pages = (len + 4095) / 4096, n = 0;
	unsigned char *vec = xmalloc(pages);
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		DIE("mmap: %s", strerror(errno));
	if (mincore(m, len, vec))
		DIE("mincore: %s", strerror(errno));
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	munmap(m, len);
	free(vec);
	return n;
}

/* Cold mode's evidence, on stderr at the end (never compared): how many
 * buffered reads found a page of their range out of the cache just before
 * they were submitted. */
static unsigned cold_reads, cold_misses;

static void cold_note(int fd, off_t off, size_t n, size_t size)
{
	if (off < 0 || (size_t)off >= size || !n)
		return;
	if (n > size - (size_t)off)
		n = size - (size_t)off;
	off_t base = off & ~(off_t)4095;
	size_t len = n + (size_t)(off - base), pages = (len + 4095) / 4096, in = 0;
	unsigned char vec[64];
	if (pages > sizeof vec)
		return;
	void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, base);
	if (m == MAP_FAILED)
		return;
	if (!mincore(m, len, vec)) {
		for (size_t i = 0; i < pages; i++)
			in += vec[i] & 1;
		__atomic_fetch_add(&cold_reads, 1, __ATOMIC_RELAXED);
		if (in < pages)
			__atomic_fetch_add(&cold_misses, 1, __ATOMIC_RELAXED);
	}
	munmap(m, len);
}

static void cold_report(void)
{
	fprintf(stderr, "cold: %u of %u buffered reads began with pages out of the cache\n",
		cold_misses, cold_reads);
}

/* Cold mode is pointless where a drop leaves the pages cached (tmpfs keeps
 * every file in memory): exits 77 there, under either implementation. */
static void cold_check(const char *dir)
{
	char path[600];
	size_t len = 256 * 1024, left;
	snprintf(path, sizeof path, "%s/cold-probe", dir);
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char *b = xcalloc(len, 1);
	memset(b, 0x33, len);
	xpwrite_all(fd, b, len, 0);
	xpread_all(fd, b, len, 0);
	cache_drop(fd);
	left = cache_resident(fd, len);
	close(fd);
	unlink(path);
	free(b);
	if (left) {
		printf("skip: cold mode: %zu of %zu pages stay cached after "
		       "fdatasync and POSIX_FADV_DONTNEED in %s (tmpfs?)\n",
		       left, len / 4096, dir);
		exit(77);
	}
}

#endif
