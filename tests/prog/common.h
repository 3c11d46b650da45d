/* Helpers for the POSIX AIO test programs.
 *
 * The programs know nothing of kaio: each one is a plain POSIX AIO program,
 * run once as is and once under LD_PRELOAD by tests/prog/run.sh, which
 * compares their stdout line for line.
 *
 * Protocol:
 *   - stdout holds the observable answers, one per line; both runs must print
 *     the same lines, except lines starting with "measure: ", which run.sh
 *     leaves out of the diff and checks with its own per-implementation rules.
 *   - exit 0 = pass, 1 = a self-check failed, 77 = skip (the reason is printed
 *     as "skip: ..." on stdout).
 *   - argv[1] is a scratch directory, created and removed by run.sh.
 *
 * Never print a value that depends on timing (an aio_error that may still be
 * EINPROGRESS, how many requests a cancel caught): print the invariant, and
 * the raw value as a measure line.
 */
#ifndef TEST_COMMON_H
#define TEST_COMMON_H

#include <sys/time.h>
#include <aio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* How long any wait may take before the program calls it stuck. run.sh's
 * timeout is longer, so a stuck request is reported by the program itself. */
#define T_STUCK_SEC 20

static int t_failures;
static const char *t_dir = ".";
static const char *t_prog = "test";

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			t_failures++;                                         \
			fprintf(stderr, "%s:%d: check failed: %s: ", t_prog,  \
				__LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
		}                                                             \
	} while (0)

/* A failure the program cannot go on after. */
#define DIE(...)                                                              \
	do {                                                                  \
		fprintf(stderr, "%s:%d: fatal: ", t_prog, __LINE__);          \
		fprintf(stderr, __VA_ARGS__);                                 \
		fputc('\n', stderr);                                          \
		fflush(stdout);                                               \
		exit(1);                                                      \
	} while (0)

static inline const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOTSUP: return "ENOTSUP";
	case ECANCELED: return "ECANCELED";
	case EINPROGRESS: return "EINPROGRESS";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENOTSOCK: return "ENOTSOCK";
	case ECONNRESET: return "ECONNRESET";
	}
	static __thread char buf[32];
	snprintf(buf, sizeof buf, "E#%d", e);
	return buf;
}

static inline const char *cancelname(int r)
{
	switch (r) {
	case AIO_CANCELED: return "AIO_CANCELED";
	case AIO_NOTCANCELED: return "AIO_NOTCANCELED";
	case AIO_ALLDONE: return "AIO_ALLDONE";
	case -1: return "-1";
	}
	return "AIO_?";
}

/* The answer of a call returning 0 or -1 with errno, as "0" or "-1 EINVAL".
 * (A macro: in rc(call(), errno) errno could be read before the call.) */
#define RC(call)                                                              \
	({                                                                    \
		errno = 0;                                                    \
		int rc_r_ = (call);                                           \
		int rc_e_ = errno;                                            \
		rc(rc_r_, rc_e_);                                             \
	})

/* One answer line on stdout. */
static inline void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* "0" or "-1 EINVAL": the answer of a call that returns 0 or -1 with errno. */
static inline const char *rc(int r, int e)
{
	static __thread char buf[64];
	if (r == -1)
		snprintf(buf, sizeof buf, "-1 %s", errname(e));
	else
		snprintf(buf, sizeof buf, "%d", r);
	return buf;
}

static inline void t_init(int argc, char **argv)
{
	const char *p = strrchr(argv[0], '/');
	t_prog = p ? p + 1 : argv[0];
	if (argc > 1)
		t_dir = argv[1];
	else if (getenv("TEST_DIR"))
		t_dir = getenv("TEST_DIR");
	/* Line buffered, so nothing is written twice across fork and the order
	 * of lines is the order of the calls even when stdout is a file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline int t_finish(void)
{
	fflush(stdout);
	if (t_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", t_prog, t_failures);
		return 1;
	}
	return 0;
}

static inline void __attribute__((noreturn)) t_skip(const char *why)
{
	say("skip: %s", why);
	fflush(stdout);
	exit(77);
}

/* A path in the scratch directory (malloc'd; the programs are short). */
static inline char *tpath(const char *name)
{
	size_t n = strlen(t_dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (!p)
		DIE("malloc");
	snprintf(p, n, "%s/%s", t_dir, name);
	return p;
}

static inline int xopen(const char *path, int flags)
{
	int fd = open(path, flags, 0644);
	if (fd < 0)
		DIE("open %s: %s", path, strerror(errno));
	return fd;
}

/* O_DIRECT open; returns -1 only when the file system refuses O_DIRECT. */
static inline int open_direct(const char *path, int flags)
{
	int fd = open(path, flags | O_DIRECT, 0644);
	if (fd < 0 && errno != EINVAL)
		DIE("open O_DIRECT %s: %s", path, strerror(errno));
	return fd;
}

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		DIE("malloc %zu", n);
	return p;
}

static inline void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		DIE("calloc %zu", n);
	return p;
}

static inline void *xalign(size_t n)
{
	void *p = NULL;
	if (posix_memalign(&p, 4096, n ? n : 4096))
		DIE("posix_memalign %zu", n);
	memset(p, 0, n);
	return p;
}

/* The byte a pattern file holds at offset off: depends on the 4 KiB block and
 * the position in it, so a block read from the wrong place is caught. */
static inline unsigned char pat(uint64_t off, unsigned seed)
{
	uint64_t blk = off >> 12;
	return (unsigned char)((blk * 131u + (off & 4095) * 7u + seed * 59u +
				(blk >> 8) * 17u + 1u) & 0xff);
}

static inline void fill_pat(void *buf, size_t len, uint64_t off, unsigned seed)
{
	unsigned char *b = buf;
	for (size_t i = 0; i < len; i++)
		b[i] = pat(off + i, seed);
}

/* Offset of the first wrong byte, or -1 if the whole buffer is right. */
static inline long check_pat(const void *buf, size_t len, uint64_t off,
			     unsigned seed)
{
	const unsigned char *b = buf;
	for (size_t i = 0; i < len; i++)
		if (b[i] != pat(off + i, seed))
			return (long)i;
	return -1;
}

static inline void xpwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n <= 0)
			DIE("pwrite: %s", n < 0 ? strerror(errno) : "short");
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

static inline void xpread_all(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, off);
		if (n <= 0)
			DIE("pread: %s", n < 0 ? strerror(errno) : "short");
		p += n;
		len -= (size_t)n;
		off += n;
	}
}

/* Create (truncate) a file of size bytes holding the pattern for seed. */
static inline void make_pat_file(const char *path, size_t size, unsigned seed)
{
	int fd = xopen(path, O_WRONLY | O_CREAT | O_TRUNC);
	size_t chunk = 1 << 20;
	unsigned char *buf = xmalloc(chunk);
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		fill_pat(buf, n, off, seed);
		xpwrite_all(fd, buf, n, (off_t)off);
	}
	free(buf);
	if (fsync(fd))
		DIE("fsync: %s", strerror(errno));
	close(fd);
}

/* Drop a file from the page cache so buffered reads really go to the disk. */
static inline void drop_cache(int fd)
{
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
}

/* SIGALRM once, ms from now (ITIMER_REAL). */
static inline void alarm_ms(int ms)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static inline double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for cb at most secs; returns its aio_error then. */
static inline int wait_bounded(const struct aiocb *cb, double secs)
{
	const struct aiocb *list[1] = { cb };
	double end = now_sec() + secs;
	int e;
	while ((e = aio_error(cb)) == EINPROGRESS && now_sec() < end) {
		struct timespec ts = { 0, 100 * 1000000 };
		aio_suspend(list, 1, &ts);
	}
	return e;
}

/* Wait with aio_suspend until cb is no longer in progress; returns its
 * aio_error. Dies if it takes longer than T_STUCK_SEC. */
static inline int wait_one(const struct aiocb *cb)
{
	const struct aiocb *list[1] = { cb };
	double end = now_sec() + T_STUCK_SEC;
	int e;
	while ((e = aio_error(cb)) == EINPROGRESS) {
		struct timespec ts = { 1, 0 };
		if (aio_suspend(list, 1, &ts) == -1 && errno != EAGAIN &&
		    errno != EINTR)
			DIE("aio_suspend: %s", errname(errno));
		if (now_sec() > end)
			DIE("request stuck in EINPROGRESS for %d s", T_STUCK_SEC);
	}
	return e;
}

/* Wait until no entry of list (NULL entries allowed) is in progress, with
 * aio_suspend on one entry at a time (a whole-list suspend per completion
 * would cost O(n^2) with thousands of requests). */
static inline void wait_list(struct aiocb *const *list, int n)
{
	for (int i = 0; i < n; i++)
		if (list[i])
			wait_one(list[i]);
}

/* Wait by polling aio_error only, the way many programs do. */
static inline int poll_one(const struct aiocb *cb)
{
	double end = now_sec() + T_STUCK_SEC;
	int e;
	unsigned long spins = 0;
	while ((e = aio_error(cb)) == EINPROGRESS) {
		if (++spins % 64 == 0) {
			if (now_sec() > end)
				DIE("polled request stuck for %d s", T_STUCK_SEC);
			sched_yield();
		}
	}
	return e;
}

/* "error 0 return 4096" for a finished request. Calls aio_return. */
static inline const char *result(struct aiocb *cb)
{
	static __thread char buf[80];
	int e = aio_error(cb);
	ssize_t r = aio_return(cb);
	snprintf(buf, sizeof buf, "error %s return %zd", errname(e), r);
	return buf;
}

static inline void setup_cb(struct aiocb *cb, int fd, void *buf, size_t n,
			    off_t off)
{
	memset(cb, 0, sizeof *cb);
	cb->aio_fildes = fd;
	cb->aio_buf = buf;
	cb->aio_nbytes = n;
	cb->aio_offset = off;
	cb->aio_sigevent.sigev_notify = SIGEV_NONE;
}

/* Threads of this process, from /proc/self/task. */
static inline int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	struct dirent *de;
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

#endif
