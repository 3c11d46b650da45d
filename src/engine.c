/*
 * The engine: one kernel AIO context per process, the requests in flight,
 * and the rules that turn kernel events into POSIX AIO results.
 *
 * State. A request (struct kaio_req) is QUEUED (waiting for ring space, on
 * eng.pending), BARRIER (an fsync waiting for the fd's earlier writes, on
 * eng.barriers), SUBMITTED (in the kernel) or DONE (on eng.done until the next
 * submitting call drops it from the table and recycles it). Every request not
 * DONE is on eng.live. The table maps aiocb -> request for every request not yet
 * recycled; eng.pending keeps call order, so requests enter the kernel in the
 * order they were made (O_APPEND writes get their positions in that order).
 *
 * Results live in the aiocb: __return_value, then a tag word in
 * __glibc_reserved, then __error_code with release order. aio_error and
 * aio_return read them without the lock; the tag (TAG_DONE -> TAG_RETURNED
 * by compare-and-swap) makes a second aio_return fail with EINVAL.
 *
 * Locking. One mutex, eng.lock, guards everything here. Only one thread
 * consumes kernel events at a time: under the lock from the user-space ring,
 * or as "the reaper" (eng.reaper) in io_getevents without the lock; the other
 * waiters sleep on the futex word eng.gen, which the reaper bumps after each
 * batch. aio_error and aio_return only ever try-lock, so they are safe in a
 * signal handler that interrupted a kaio call; the paths they can reach
 * (reap, io_submit of queued requests) never allocate. Allocation (table,
 * request pool) happens only in the submitting calls.
 *
 * fork. The child forgets the parent's context without touching its ring (the
 * kernel refuses the parent's context in the child anyway) and every request:
 * the child owns none of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

struct kaio_engine eng = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.live = KAIO_LIST_INIT(eng.live),
	.pending = KAIO_LIST_INIT(eng.pending),
	.barriers = KAIO_LIST_INIT(eng.barriers),
	.done = KAIO_LIST_INIT(eng.done),
	.idle = KAIO_LIST_INIT(eng.idle),
	.free = KAIO_LIST_INIT(eng.free),
	.notify = KAIO_LIST_INIT(eng.notify),
	.lio_due = KAIO_LIST_INIT(eng.lio_due),
	.unpolled = KAIO_LIST_INIT(eng.unpolled),
	.kick_fd = -1,
	.efd = -1,
};

__thread int kaio_locked;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void forget_all(void);

static void atfork_prepare(void)
{
	kaio_lock();
}

static void atfork_parent(void)
{
	kaio_unlock();
}

static void atfork_child(void)
{
	pthread_mutex_unlock(&eng.lock);	/* taken in atfork_prepare by this very thread */
	kaio_locked = 0;
	eng.epoch++;
	forget_all();
}

static void stats_report(void)
{
	struct kaio_stats st;

	kaio_stats_get(&st);
	if (!st.depth && !st.ctx_error && !st.kernel && !st.foreign && !st.sync_mode &&
	    !st.sync_fallback) {
		kaio_say("pid=%d: loaded, no POSIX AIO request", (int)getpid());
		return;
	}
	kaio_say("kernel=%lu poll=%lu pollfirst=%lu sync_fallback=%lu sync_mode=%lu "
		 "glibc=%lu queued=%lu cancelled=%lu reprobe=%lu peak_inflight=%lu io_submit=%lu "
		 "io_getevents=%lu ring_reaped=%lu depth=%u ctx_error=%s notifier=%lu pid=%d",
		 st.kernel, st.polls, st.pollfirst, st.sync_fallback, st.sync_mode,
		 st.foreign, st.queued, st.cancelled, st.reprobe, st.peak_inflight, st.io_submit,
		 st.io_getevents, st.ring_reaped, st.depth,
		 st.ctx_error ? strerrorname_np(-st.ctx_error) : "0", st.notifier_started,
		 (int)getpid());
}

static void engine_init(void)
{
	kaio_config_load();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	if (kaio_config.stats)
		atexit(stats_report);
}

/* KAIO_STATS at load: a process that never calls POSIX AIO reports too. */
void kaio_engine_load(void)
{
	const char *s = secure_getenv("KAIO_STATS");

	if (s && *s)
		pthread_once(&init_once, engine_init);
}

void kaio_engine_enter(void)
{
	pthread_once(&init_once, engine_init);
	kaio_lock();
}

/* Called with the lock held; creates the context on first use. */
int kaio_ctx_get(void)
{
	unsigned depth;
	int r;

	if (eng.ctx)
		return 0;
	if (eng.ctx_err)
		return eng.ctx_err;
	depth = kaio_config.queue_depth;
	eng.batch = malloc(depth * sizeof(struct iocb *));
	eng.table = eng.table ? eng.table : kaio_table_new();
	if (!eng.batch || !eng.table) {
		free(eng.batch);
		eng.batch = NULL;
		return -ENOMEM;
	}
	r = kaio_ring_setup(&eng.ctx, &depth);
	if (r < 0) {
		free(eng.batch);
		eng.batch = NULL;
		eng.ctx_err = eng.st.ctx_error = r;
		kaio_debug("io_setup failed (%s): KAIO_FALLBACK=%s", strerrorname_np(-r),
			   kaio_config.fallback == KAIO_FALLBACK_SYNC ? "sync: served in the caller" :
			   kaio_config.fallback == KAIO_FALLBACK_ERROR ? "error: EAGAIN" :
			   "glibc: served by glibc");
		return r;
	}
	if (depth != kaio_config.queue_depth)
		kaio_debug("io_setup: depth %u refused, using %u", kaio_config.queue_depth, depth);
	eng.depth = eng.st.depth = depth;
	kaio_efd_open();
	return 0;
}

/*
 * Untimed waits sleep in read(2) on an eventfd that every completion bumps
 * (wait.c): unlike io_getevents, read restarts after a SA_RESTART handler,
 * as glibc's wait does, and is a deferred cancellation point. It is checked
 * to be ours before use (the program may close or dup2 over it).
 */
int kaio_fd_high(int fd)
{
	int high;

	if (fd < 0 || fd >= KAIO_FD_MIN)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, KAIO_FD_MIN);
	if (high < 0)
		return fd;
	close(fd);
	return high;
}

void kaio_efd_open(void)
{
	struct stat st;

	eng.efd = kaio_fd_high(eventfd(0, EFD_CLOEXEC));
	if (eng.efd >= 0 && fstat(eng.efd, &st) == 0)
		eng.efd_ino = st.st_ino;
}

int kaio_efd_ours(void)
{
	struct stat st;

	if (eng.efd < 0)
		return 0;
	if (fstat(eng.efd, &st) == 0 && st.st_ino == eng.efd_ino)
		return 1;
	kaio_debug("fd %d, kaio's eventfd, was closed or replaced: waits use io_getevents", eng.efd);
	eng.efd = -1;
	return 0;
}

static void forget_all(void)
{
	struct kaio_list *p, *t;

	/* Never io_destroy: the context and its ring belong to the parent. */
	eng.ctx = 0;
	if (eng.efd >= 0)
		close(eng.efd);	/* the child's copy: the parent's counter is its own */
	eng.efd = -1;
	eng.ctx_err = 0;
	eng.in_kernel = eng.nlive = 0;
	eng.reaper = 0;
	eng.waiters = 0;
	eng.polls = 0;
	kaio_list_init(&eng.unpolled);
	kaio_list_each_safe(p, t, &eng.live) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, live);

		if (r->iofd >= 0)
			close(r->iofd);	/* the child's copy of the duplicate */
		r->mapped = 0;
		kaio_list_del(&r->live);
		kaio_list_del(&r->q);
		kaio_list_add_tail(&eng.free, &r->q);
	}
	kaio_list_each_safe(p, t, &eng.done) {
		kaio_container_of(p, struct kaio_req, q)->mapped = 0;
		kaio_list_del(p);
		kaio_list_add_tail(&eng.free, p);
	}
	kaio_list_each_safe(p, t, &eng.idle) {
		kaio_container_of(p, struct kaio_req, q)->mapped = 0;
		kaio_list_del(p);
		kaio_list_add_tail(&eng.free, p);
	}
	eng.nidle = 0;
	kaio_notify_forget();
	kaio_table_free(eng.table);
	eng.table = NULL;
	free(eng.batch);
	eng.batch = NULL;
}

void kaio_waiters_wake(void)
{
	eng.gen++;
	if (eng.waiters)
		syscall(SYS_futex, &eng.gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/*
 * A barrier enters the queue once every earlier request it waits for is done:
 * an fsync waits for the fd's writes, a stream request for the earlier ones
 * on its fd in the same direction.
 */
static void barriers_release_locked(const struct kaio_req *w)
{
	struct kaio_list *p, *t;

	kaio_list_each_safe(p, t, &eng.barriers) {
		struct kaio_req *b = kaio_container_of(p, struct kaio_req, q);

		if (b->fd != w->fd || b->wait_op != w->op || b->seq < w->seq || --b->wait)
			continue;
		kaio_list_del(&b->q);
		b->state = KAIO_QUEUED;
		kaio_list_add_tail(&eng.pending, &b->q);
	}
}

void kaio_req_complete(struct kaio_req *r, long res)
{
	if (r->state == KAIO_SUBMITTED)
		eng.in_kernel--;
	if (r->state == KAIO_POLLQ)
		eng.polls--;
	r->state = KAIO_DONE;
	eng.nlive--;
	kaio_list_del(&r->live);
	kaio_list_del(&r->q);
	if (r->pw) {
		kaio_pollw_put(r->pw);
		r->pw = NULL;
	}
	if (r->owes) {
		r->owes = 0;
		eng.owed--;
	}
	if (r->iofd >= 0) {
		close(r->iofd);
		r->iofd = -1;
	}
	kaio_result_set(r->cb, res);
	if (r->notify || r->lio)
		kaio_notify_queue_locked(r);
	else
		kaio_list_add_tail(&eng.done, &r->q);
	if (!kaio_list_empty(&eng.barriers))
		barriers_release_locked(r);
}

void kaio_events_handle(const struct io_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		if (ev[i].data == &eng.kick) {
			eng.kicking = 0;
			eng.in_kernel--;
			continue;
		}
		if ((uintptr_t)ev[i].data & 1)
			kaio_poll_event_locked((struct kaio_pollw *)((uintptr_t)ev[i].data - 1),
					       (long)ev[i].res);
		else
			kaio_req_event_locked(ev[i].data, (long)ev[i].res);
	}
}

/* Reaps the user-space ring. Lock held, no reaper active. */
int kaio_events_reap(void)
{
	struct io_event ev[EVENTS_MAX];
	int n, total = 0;

	if (!eng.ctx || !eng.in_kernel)
		return 0;
	do {
		n = kaio_ring_reap(eng.ctx, ev, EVENTS_MAX);
		if (n <= 0)
			break;
		kaio_events_handle(ev, n);
		total += n;
	} while (n == EVENTS_MAX);
	if (total) {
		eng.st.ring_reaped += total;
		kaio_pending_submit();
		kaio_waiters_wake();
	}
	return total;
}

int kaio_poll(void)
{
	int n = 0;

	if (!eng.ctx || !kaio_ring_ready(eng.ctx))
		return 0;
	if (kaio_trylock())
		return 0;
	if (!eng.reaper)
		n = kaio_events_reap();
	kaio_unlock();
	return n;
}

/*
 * The error code published in the aiocb, polling the ring while it is in
 * progress. -EINVAL for an aiocb kaio never ran, or one still in flight in
 * the parent when this process forked: neither will ever change here.
 */
int kaio_error(const struct aiocb *cb)
{
	int e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
	uint64_t tag = kaio_tag_get(cb);

	if (e == EINPROGRESS && tag == TAG_BUSY) {
		if (kaio_poll())
			e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
		return e;
	}
	if (!TAG_IS_KAIO(tag) || (tag & 0xff) == (TAG_BUSY & 0xff)) {
		kaio_debug("aio_error on aiocb %p, %s: EINVAL", (void *)cb,
			   TAG_IS_KAIO(tag) ? "in flight before fork" : "never submitted");
		return -EINVAL;
	}
	/* It was published between the two loads above. */
	return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

int kaio_return(struct aiocb *cb, ssize_t *res)
{
	uint64_t done = TAG_DONE;

	if (kaio_error(cb) == EINPROGRESS)
		return -EINVAL;
	if (!__atomic_compare_exchange_n(kaio_tag_of(cb), &done, TAG_RETURNED, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EINVAL;
	*res = cb->__return_value;
	return 0;
}

/* The tag alone could be garbage a program left in the reserved bytes. */
int kaio_is_foreign(const struct aiocb *cb)
{
	return __atomic_load_n(&eng.foreign, __ATOMIC_RELAXED) &&
	       kaio_tag_get(cb) == TAG_FOREIGN;
}

void kaio_set_foreign(struct aiocb *cb, int on)
{
	if (on) {
		__atomic_store_n(&eng.foreign, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&eng.st.foreign, 1, __ATOMIC_RELAXED);
	}
	kaio_tag_set(cb, on ? TAG_FOREIGN : TAG_RETURNED);
}

int kaio_foreign_used(void)
{
	return __atomic_load_n(&eng.foreign, __ATOMIC_RELAXED);
}

void kaio_stats_get(struct kaio_stats *st)
{
	kaio_lock();
	*st = eng.st;
	kaio_unlock();
}

