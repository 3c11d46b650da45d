/*
 * The engine's state and a request's life: one kernel AIO context per
 * process, the requests in flight, and completing them.
 *
 * State. A request (struct kaio_req) is QUEUED (waiting for ring space, on
 * eng.pending), BARRIER (waiting for earlier requests on its fd, on
 * eng.barriers), SYNCQ/SYNCING (served by a plain syscall), SUBMITTED (in
 * the kernel) or DONE (on eng.done until the next submitting call drops it
 * from the table or keeps it idle for its aiocb). Every request not DONE is
 * on eng.live. eng.pending keeps call order, so requests enter the kernel in
 * the order they were made.
 *
 * Results live in the aiocb: __return_value, then a tag word in
 * __glibc_reserved, then __error_code with release order. aio_error and
 * aio_return read them without the lock (reap.c); the tag (TAG_DONE ->
 * TAG_RETURNED by compare-and-swap) makes a second aio_return fail with EINVAL.
 *
 * Locking. One mutex, eng.lock, guards everything in struct kaio_engine and
 * every request. It is never held across a syscall that can wait for I/O or
 * a peer: io_submit and the synchronous fallbacks run unlocked (issue.c).
 * One waiter sleeps as the reaper (wait.c), the others on the futex word
 * eng.gen; a completion marks in eng.wake whom the next unlock wakes, the
 * reaper only when no kernel event would wake it. Allocation (table,
 * request pool) happens only in the submitting calls (submit.c).
 *
 * Files, each calling only those below it: ring.c, table.c, env.c (the
 * kernel, GLib, the environment); statfile.c (the counters' file, from
 * engine.c only); engine.c (this: state, completion); fd.c
 * (what a fd is); stream.c (the rules per kind of fd, events and refusals);
 * issue.c (into the kernel, unlocked); reap.c (events out of the kernel,
 * results); wait.c, notify.c, cancel.c, submit.c (the calls). One loop
 * remains, on purpose: the notifier sleeps as a waiter (notify.c uses
 * wait.c) while a wait starts the notifier when work is owed.
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
#include "inline.h"
#include "statfile.h"
#include "uring.h"

/*
 * The lock spins a little before it sleeps: it is held for a few hundred
 * nanoseconds at a time, and a thread that sleeps for it has to be woken
 * by the holder, a futex call on each side. With 4 fio threads reading
 * cached data on 2 CPUs the plain mutex made 0.15 to 0.5 futex calls per
 * I/O, the adaptive one about 0.01 (perf stat, docs/performance.md).
 */
struct kaio_engine eng = {
	.lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP,
	.live = KAIO_LIST_INIT(eng.live),
	.pending = KAIO_LIST_INIT(eng.pending),
	.syncq = KAIO_LIST_INIT(eng.syncq),
	.barriers = KAIO_LIST_INIT(eng.barriers),
	.done = KAIO_LIST_INIT(eng.done),
	.idle = KAIO_LIST_INIT(eng.idle),
	.free = KAIO_LIST_INIT(eng.free),
	.notify = KAIO_LIST_INIT(eng.notify),
	.lio_due = KAIO_LIST_INIT(eng.lio_due),
	.unpolled = KAIO_LIST_INIT(eng.unpolled),
	.calls = KAIO_LIST_INIT(eng.calls),
	.kick_fd = -1,
	.efd = -1,
};

__thread int kaio_locked;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void forget_all(void);

#define POLLW_CHUNK 16

static struct kaio_list pollw_free = KAIO_LIST_INIT(pollw_free);

/* Poll iocbs (stream.c), from allocating paths only. */
struct kaio_pollw *kaio_pollw_get(void)
{
	if (kaio_list_empty(&pollw_free)) {
		struct kaio_pollw *chunk = calloc(POLLW_CHUNK, sizeof *chunk);

		if (!chunk)
			return NULL;
		for (int i = 0; i < POLLW_CHUNK; i++)
			kaio_list_add_tail(&pollw_free, &chunk[i].q);
	}
	struct kaio_pollw *w = kaio_container_of(pollw_free.next, struct kaio_pollw, q);

	kaio_list_del(&w->q);
	return w;
}

void kaio_pollw_put(struct kaio_pollw *w)
{
	w->req = NULL;
	kaio_list_add_tail(&pollw_free, &w->q);
}

/* fork: the child has no notifier and owes nothing; the kick fd is kept. */
static void notify_forget(void)
{
	struct kaio_list *p, *t;

	eng.notifier = 0;
	eng.owed = 0;
	eng.wake = 0;
	eng.kicking = 0;
	kaio_list_each_safe(p, t, &eng.notify) {
		kaio_container_of(p, struct kaio_req, q)->mapped = 0;
		kaio_list_del(p);
		kaio_list_add_tail(&eng.free, p);
	}
	kaio_list_each_safe(p, t, &eng.lio_due) {
		kaio_list_del(p);
		free(kaio_container_of(p, struct kaio_lio, q));
	}
}


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
	kaio_self_forget();
	forget_all();
}

static void stats_report(void)
{
	struct kaio_stats st;
	struct kaio_uring_stats us;

	kaio_stats_get(&st);
	kaio_uring_stats_get(&us);
	if (!st.depth && !st.ctx_error && !st.kernel && !st.foreign && !st.sync_mode &&
	    !st.sync_fallback && !st.inline_io) {
		kaio_say("pid=%d: loaded, no POSIX AIO request", (int)getpid());
		return;
	}
	kaio_say("kernel=%lu inline=%lu syncw=%lu poll=%lu pollfirst=%lu sync_fallback=%lu sync_mode=%lu "
		 "glibc=%lu queued=%lu cancelled=%lu reprobe=%lu peak_inflight=%lu io_submit=%lu "
		 "io_getevents=%lu ring_reaped=%lu depth=%u ctx_error=%s notifier=%lu "
		 "lock_max_us=%lu uring=%lu uring_error=%s pid=%d",
		 st.kernel, st.inline_io, st.syncw, st.polls, st.pollfirst, st.sync_fallback, st.sync_mode,
		 st.foreign, st.queued, st.cancelled, st.reprobe, st.peak_inflight, st.io_submit,
		 st.io_getevents, st.ring_reaped, st.depth,
		 st.ctx_error ? strerrorname_np(-st.ctx_error) : "0", st.notifier_started,
		 (st.lock_max_ns + 999) / 1000, us.reads, us.why ? us.why : "0", (int)getpid());
}

int64_t kaio_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* KAIO_STATS or KAIO_STATS_FILE only: the longest the lock was held. */
void kaio_hold_end(void)
{
	unsigned long d = (unsigned long)(kaio_now_ns() - eng.lock_t0);

	if (d > eng.st.lock_max_ns)
		eng.st.lock_max_ns = d;
	kaio_statfile_sync();
}

static void engine_init(void)
{
	kaio_config_load();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	if (kaio_config.stats)
		atexit(stats_report);
	eng.timed = kaio_config.stats || kaio_config.stats_file;
}

/* KAIO_STATS at load: a process that never calls POSIX AIO reports too. */
void kaio_engine_load(void)
{
	const char *s = secure_getenv("KAIO_STATS");

	if (s && *s)
		pthread_once(&init_once, engine_init);
}

void kaio_engine_init(void)
{
	pthread_once(&init_once, engine_init);
}

void kaio_engine_enter(void)
{
	pthread_once(&init_once, engine_init);
	kaio_lock();
	if (kaio_config.stats_file && !kaio_statfile_tried)
		kaio_statfile_open();
}

/*
 * KAIO_STATS_FILE: the hit path (inline.c) counts without the lock, so it
 * brings the file up to date itself now and then: made at its first
 * request, copied into at most every 10 ms.
 */
void kaio_stats_nudge(void)
{
	if (kaio_trylock())
		return;
	if (!kaio_statfile_tried)
		kaio_statfile_open();
	kaio_unlock();	/* copies the counters into the file */
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
	eng.table = eng.table ? eng.table : kaio_table_new();
	if (!eng.table)
		return -ENOMEM;
	r = kaio_ring_setup(&eng.ctx, &depth);
	if (r < 0) {
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
	memset(&eng.st, 0, sizeof eng.st);	/* the child counts its own requests */
	kaio_statfile_forget();
	eng.in_kernel = eng.nlive = 0;
	eng.wissuing = eng.issuing = 0;
	eng.in_uring = 0;
	eng.uring_queued = 0;
	kaio_uring_forget();
	kaio_inline_forget();
	kaio_list_init(&eng.syncq);
	kaio_list_init(&eng.calls);	/* the parent's calls: on their stacks */
	eng.reaper = 0;
	eng.reaper_due = 0;
	eng.in_getevents = 0;
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
	notify_forget();
	kaio_table_free(eng.table);
	eng.table = NULL;
}

/*
 * The reaper sleeps on kaio's eventfd, or in io_getevents once the program
 * closed it (wait.c): a completion it would not see as a kernel event (a
 * plain syscall, a refusal, a cancel, in another thread) or a note for the
 * notifier wakes it by a write to the eventfd, checked to be ours first, or
 * by a "kick": a zero-length read of a private eventfd, which completes at
 * once.
 */
static void reaper_kick_locked(void)
{
	struct iocb *kick = &eng.kick;
	uint64_t one = 1;

	if (kaio_efd_ours() && write(eng.efd, &one, sizeof one) == sizeof one)
		return;
	if (eng.kicking || !eng.ctx)
		return;
	if (eng.kick_fd < 0) {
		eng.kick_fd = kaio_fd_high(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		if (eng.kick_fd < 0)
			return;
		io_prep_pread(kick, eng.kick_fd, NULL, 0, 0);
		kick->data = kick;
	}
	eng.kicking = io_submit(eng.ctx, 1, &kick) == 1;
	eng.in_kernel += eng.kicking;
}

/* Whom the wake owed wakes; eng.wake is cleared. */
static unsigned wake_take_locked(void)
{
	unsigned w = eng.wake;

	eng.wake = 0;
	/*
	 * The notifier sleeps as the reaper or as a futex waiter. As the
	 * reaper, it wakes by itself for notes of kernel events others reaped
	 * since it went to sleep: their eventfd bump is on its way to it.
	 */
	if (w & KAIO_WAKE_NOTE)
		w |= eng.reaper == 2 ? (eng.reaper_due ? 0 : KAIO_WAKE_REAPER) : KAIO_WAKE_WAITERS;
	if (!eng.reaper)
		w &= ~(unsigned)KAIO_WAKE_REAPER;
	return w;
}

void kaio_wake_locked(void)
{
	unsigned w = wake_take_locked();

	if (w & KAIO_WAKE_REAPER)
		reaper_kick_locked();
	if (w & KAIO_WAKE_WAITERS)
		kaio_waiters_wake();
}

/*
 * kaio_unlock, with the wake made once the lock is free. The thread it
 * wakes, kaio's notifier for a note, may run at once on the caller's CPU
 * and must not find the lock still held: SIGEV_THREAD round trips of the
 * hit path (build/roundtrip pinned to one CPU) made 4.6 futex calls and
 * 3.2 context switches each with the wake inside the lock, 2.0 and 2.0
 * without (100-115k round trips/s against 160-190k). A waiter that counted
 * itself in eng.waiters read eng.gen before the bump (its futex wait fails
 * or is woken); one that comes later sees the state this thread left. An
 * eventfd write that fails is made again under the lock, which knows the
 * other ways to kick the reaper.
 */
void kaio_unlock_wake(void)
{
	unsigned w = wake_take_locked();
	uint64_t one = 1;
	int efd = -1, futex = 0;

	if (w & KAIO_WAKE_REAPER) {
		if (kaio_efd_ours())
			efd = eng.efd;
		else
			reaper_kick_locked();
	}
	if (w & KAIO_WAKE_WAITERS) {
		eng.gen++;
		futex = eng.waiters != 0;
	}
	kaio_unlock();
	if (futex)
		syscall(SYS_futex, &eng.gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	if (efd >= 0 && write(efd, &one, sizeof one) != sizeof one) {
		kaio_lock();
		eng.wake |= KAIO_WAKE_REAPER;
		kaio_unlock();
	}
}

void kaio_waiters_wake(void)
{
	eng.wake &= ~KAIO_WAKE_WAITERS;
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

		if (b->fd != w->fd || b->wait_op != kaio_req_kind_op(w) || b->seq < w->seq || --b->wait)
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
	if (r->state == KAIO_URING)
		eng.in_uring--;
	r->state = KAIO_DONE;
	eng.nlive--;
	kaio_list_del(&r->live);
	if (!r->flushw)
		kaio_inline_hold(r->fd, -1);
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
	/*
	 * The reaper is asleep (it is 0 while the reaper handles events): a
	 * kernel event wakes it when it sleeps on the eventfd, anything else
	 * must.
	 */
	if (eng.reaper && !eng.from_event)
		eng.wake |= KAIO_WAKE_REAPER;
	if (eng.waiters)
		eng.wake |= KAIO_WAKE_WAITERS;
	if (r->notify || r->lio)
		kaio_notify_queue_locked(r);
	else
		kaio_list_add_tail(&eng.done, &r->q);
	if (!kaio_list_empty(&eng.barriers))
		barriers_release_locked(r);
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
		if (kaio_statfile_tried) {	/* counted outside the lock: into the file now */
			kaio_lock();
			kaio_unlock();
		}
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
	st->inline_io = kaio_inline_count();
}

