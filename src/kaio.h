/*
 * The engine's interface to the POSIX boundary (preload/) and to the unit
 * tests. Every function returns 0, a count, or -errno; none sets errno.
 */
#ifndef KAIO_H
#define KAIO_H

#include <aio.h>
#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifndef AIO_PRIO_DELTA_MAX
#define AIO_PRIO_DELTA_MAX 20	/* glibc's value */
#endif

enum kaio_op { KAIO_READ, KAIO_WRITE, KAIO_FSYNC, KAIO_FDSYNC };

/*
 * Starts cb as op. -EOPNOTSUPP: kaio does not serve this request (its
 * sigevent asks for a notification, its fd is not a regular file or block
 * device, or there is no kernel AIO): the caller gives it to glibc.
 * -EINVAL: cb is still in flight. A bad fd, a wrong open mode or a negative
 * offset return 0 and show in cb's result, as glibc does.
 */
int kaio_submit(struct aiocb *cb, enum kaio_op op);

/* lio_listio: 0, -EIO, -EINTR (LIO_WAIT), -EOPNOTSUPP as kaio_submit. */
int kaio_listio(int mode, struct aiocb *const list[], int nent,
		const struct sigevent *sev);

int kaio_error(const struct aiocb *cb);
/* 0 and *res, or -EINVAL: cb's status was retrieved, or never existed. */
int kaio_return(struct aiocb *cb, ssize_t *res);
/* 0 when one listed request is done; -EAGAIN on timeout; -EINTR. */
int kaio_suspend(const struct aiocb *const list[], int nent,
		 const struct timespec *timeout);
/* AIO_CANCELED, AIO_NOTCANCELED or AIO_ALLDONE. */
int kaio_cancel(int fd, struct aiocb *cb);

/* Requests kaio handed to glibc are tagged so later calls follow them. */
int kaio_is_foreign(const struct aiocb *cb);
void kaio_set_foreign(struct aiocb *cb, int on);
int kaio_foreign_used(void);

/* Reaps completions without blocking; returns how many. */
int kaio_poll(void);

struct kaio_stats {
	unsigned long kernel, polls, pollfirst, sync_fallback, sync_mode, foreign;
	unsigned long queued, cancelled, reprobe;
	unsigned long io_submit, io_getevents, ring_reaped, peak_inflight;
	unsigned long notifier_started;
	unsigned long inline_io;	/* requests done by the hit path */
	unsigned long syncw;		/* O_SYNC/O_DSYNC writes flushed apart (syncw.c) */
	unsigned long lock_max_ns;
	unsigned depth;
	int ctx_error;
};
void kaio_stats_get(struct kaio_stats *st);

/* Configuration from the environment (env.c). */
enum kaio_fallback { KAIO_FALLBACK_GLIBC, KAIO_FALLBACK_SYNC, KAIO_FALLBACK_ERROR };
/* KAIO_URING: 0 never, 1 required (warn when unavailable), auto (default). */
enum kaio_uring_mode { KAIO_URING_NEVER, KAIO_URING_REQUIRED, KAIO_URING_AUTO };

struct kaio_config {
	unsigned queue_depth;
	int stats, debug;
	const char *stats_file;	/* KAIO_STATS_FILE, unexpanded, or NULL */
	enum kaio_fallback fallback;	/* when there is no kernel AIO */
	enum kaio_uring_mode uring;
	int inline_io;	/* KAIO_INLINE: the hit path (inline.c) */
};
extern struct kaio_config kaio_config;
void kaio_config_load(void);
/* Called at load: with KAIO_STATS set, reads the configuration and registers the report. */
void kaio_engine_load(void);
/* Reads the configuration once (the engine does on first use). */
void kaio_engine_init(void);
void kaio_debug_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* KAIO_DEBUG=1: each unusual path says why, the first time it is taken. */
#define kaio_debug(...)                                                        \
	do {                                                                   \
		static int said_;                                              \
		if (kaio_config.debug &&                                       \
		    !__atomic_exchange_n(&said_, 1, __ATOMIC_RELAXED))         \
			kaio_debug_say(__VA_ARGS__);                           \
	} while (0)
void kaio_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
