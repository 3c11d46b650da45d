/*
 * KAIO_STATS_FILE: the statistics line of a process kept current in a file,
 * for processes that run for days, end by a signal (no atexit handler: the
 * KAIO_STATS line is never printed) or send stderr nowhere useful.
 *
 * The file is one page mapped MAP_SHARED, laid out as statfile.h says. The
 * counters are copied into it each time the engine lock is let go (from
 * kaio_hold_end, under the lock): keeping it current costs no system call,
 * and the page is the file's page cache, so what was copied last is in the
 * file however the process ends, SIGKILL included. The sequence word makes
 * it a seqlock for the reader: odd while the fields are written.
 *
 * The file is made at the process's first POSIX AIO call that takes the
 * lock (kaio_engine_enter): a process that makes none gets none. It is
 * written whole under a temporary name and renamed over the path, so a
 * reader never sees half a file and a process that had the path before
 * (same pid after exec, or no %p) keeps its own, now nameless, page.
 *
 * fork: the child drops the inherited mapping (it would count into its
 * parent's file) and makes its own file at its first call.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "inline.h"
#include "statfile.h"
#include "uring.h"

int kaio_statfile_tried;
static struct kaio_statfile *map;
static int last_ctx_error;
static const char *last_uring_why;

/*
 * The fields of the line stats_report prints (engine.c), in its order. The
 * two words, ctx_error and uring_error, are set apart in sync().
 */
#define STAT_FIELDS(X)                                                         \
	X(kernel, st->kernel)                                                  \
	X(inline, kaio_inline_count())                                         \
	X(syncw, st->syncw)                                                    \
	X(poll, st->polls)                                                     \
	X(pollfirst, st->pollfirst)                                            \
	X(sync_fallback, st->sync_fallback)                                    \
	X(sync_mode, st->sync_mode)                                            \
	X(glibc, st->foreign)                                                  \
	X(queued, st->queued)                                                  \
	X(cancelled, st->cancelled)                                            \
	X(reprobe, st->reprobe)                                                \
	X(peak_inflight, st->peak_inflight)                                    \
	X(io_submit, st->io_submit)                                            \
	X(io_getevents, st->io_getevents)                                      \
	X(ring_reaped, st->ring_reaped)                                        \
	X(depth, st->depth)                                                    \
	X(ctx_error, -st->ctx_error)                                           \
	X(notifier, st->notifier_started)                                      \
	X(lock_max_us, (st->lock_max_ns + 999) / 1000)                         \
	X(uring, us->reads)                                                    \
	X(uring_error, -us->err)                                               \
	X(pid, map->pid)

#define X_NAME(name, value) #name,
static const char *const names[] = { STAT_FIELDS(X_NAME) };
enum {
#define X_INDEX(name, value) F_##name,
	STAT_FIELDS(X_INDEX)
	F_COUNT
};
_Static_assert(F_COUNT <= KAIO_STATFILE_FIELDS, "the fields fit in the page");

/* path with %p, %% and a final '/' expanded for this process. */
static int path_expand(char *out, size_t size, const char *tmpl, int pid)
{
	size_t n = 0;
	int w;

	for (const char *p = tmpl; *p; p++) {
		if (*p == '%' && p[1] == 'p') {
			w = snprintf(out + n, size - n, "%d", pid);
			p++;
		} else {
			w = 1;
			if (n + 1 < size)
				out[n] = *p;
			p += *p == '%';
		}
		n += (size_t)w;
		if (n >= size)
			return -ENAMETOOLONG;
	}
	if (n && out[n - 1] == '/') {
		w = snprintf(out + n, size - n, "kaio.%d.stats", pid);
		n += (size_t)w;
		if (n >= size)
			return -ENAMETOOLONG;
	}
	out[n] = 0;
	return 0;
}

static void say_failed(const char *path, const char *what, int err)
{
	kaio_say("KAIO_STATS_FILE: cannot %s %s: %s", what, path, strerrordesc_np(err));
}

void kaio_statfile_open(void)
{
	static char page[KAIO_STATFILE_SIZE];
	struct kaio_statfile *h = (struct kaio_statfile *)(void *)page;
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	int fd, pid = getpid();
	void *m;

	kaio_statfile_tried = 1;
	if (path_expand(path, sizeof path, kaio_config.stats_file, pid) < 0) {
		say_failed(kaio_config.stats_file, "expand", ENAMETOOLONG);
		return;
	}
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		say_failed(path, "create", errno);
		return;
	}
	memset(page, 0, sizeof page);
	memcpy(h->magic, KAIO_STATFILE_MAGIC, sizeof h->magic);
	h->version = KAIO_STATFILE_VERSION;
	h->nfields = F_COUNT;
	h->pid = pid;
	for (int i = 0; i < F_COUNT; i++)
		snprintf(h->f[i].name, sizeof h->f[i].name, "%s", names[i]);
	errno = 0;
	/* Written, not ftruncated: the blocks exist, a full disk cannot SIGBUS us later. */
	if (pwrite(fd, page, sizeof page, 0) != (ssize_t)sizeof page ||
	    fchmod(fd, 0644) < 0) {
		say_failed(path, "write", errno ? errno : ENOSPC);
		goto fail;
	}
	m = mmap(NULL, KAIO_STATFILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		say_failed(path, "map", errno);
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		say_failed(path, "create", errno);
		munmap(m, KAIO_STATFILE_SIZE);
		goto fail;
	}
	close(fd);
	map = m;
	last_ctx_error = 0;
	last_uring_why = NULL;
	kaio_statfile_sync();
	return;
fail:
	unlink(tmp);
	close(fd);
}

static void word_set(char text[24], const char *w)
{
	size_t n = strnlen(w, 23);

	memcpy(text, w, n);
	memset(text + n, 0, 24 - n);
}

void kaio_statfile_sync(void)
{
	const struct kaio_stats *st = &eng.st;
	struct kaio_uring_stats u, *us = &u;
	uint32_t seq;

	if (!map)
		return;
	kaio_uring_stats_get(us);
	seq = map->seq;
	/*
	 * Odd before any field changes: an exchange with acquire order keeps
	 * the stores below after it (a fence would do too, but ThreadSanitizer
	 * does not take fences).
	 */
	__atomic_exchange_n(&map->seq, seq + 1, __ATOMIC_ACQ_REL);
#define X_STORE(name, v) __atomic_store_n(&map->f[F_##name].value, (uint64_t)(v), __ATOMIC_RELAXED);
	STAT_FIELDS(X_STORE)
	if (st->ctx_error != last_ctx_error || !map->f[F_ctx_error].text[0]) {
		last_ctx_error = st->ctx_error;
		word_set(map->f[F_ctx_error].text,
			 st->ctx_error ? strerrorname_np(-st->ctx_error) : "0");
	}
	if (us->why != last_uring_why || !map->f[F_uring_error].text[0]) {
		last_uring_why = us->why;
		word_set(map->f[F_uring_error].text, us->why ? us->why : "0");
	}
	__atomic_store_n(&map->seq, seq + 2, __ATOMIC_RELEASE);
}

void kaio_statfile_forget(void)
{
	if (map)
		munmap(map, KAIO_STATFILE_SIZE);
	map = NULL;
	kaio_statfile_tried = 0;
}
