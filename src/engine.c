/*
 * The engine: one kernel AIO context per process, the requests in flight,
 * and the rules that turn kernel events into POSIX AIO results.
 *
 * State. A request (struct kaio_req) is QUEUED (waiting for ring space, on
 * E.pending), BARRIER (an fsync waiting for the fd's earlier writes, on
 * E.barriers), SUBMITTED (in the kernel) or DONE (on E.done until the next
 * submitting call drops it from the table and recycles it). Every request not
 * DONE is on E.live. The table maps aiocb -> request for every request not yet
 * recycled; E.pending keeps call order, so requests enter the kernel in the
 * order they were made (O_APPEND writes get their positions in that order).
 *
 * Results live in the aiocb: __return_value, then a tag word in
 * __glibc_reserved, then __error_code with release order. aio_error and
 * aio_return read them without the lock; the tag (TAG_DONE -> 0 by
 * compare-and-swap) makes a second aio_return fail with EINVAL.
 *
 * Locking. One mutex, E.lock, guards everything here. Only one thread
 * consumes kernel events at a time: under the lock from the user-space ring,
 * or as "the reaper" (E.reaper) in io_getevents without the lock; the other
 * waiters sleep on the futex word E.gen, which the reaper bumps after each
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
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kaio.h"
#include "list.h"
#include "ring.h"
#include "table.h"

enum kaio_state { KAIO_QUEUED, KAIO_BARRIER, KAIO_SUBMITTED, KAIO_DONE };

struct kaio_req {
	struct iocb iocb;
	struct aiocb *cb;
	struct kaio_list live;	/* E.live while not DONE */
	struct kaio_list q;	/* E.pending, E.barriers, E.done or E.free */
	unsigned long seq;
	unsigned wait;		/* BARRIER: earlier writes not yet done */
	int fd;
	unsigned char op;
	unsigned char state;
};

#define TAG_MAGIC 0x6b61696f00000000ull
#define TAG_BUSY (TAG_MAGIC | 1)
#define TAG_DONE (TAG_MAGIC | 2)
#define TAG_FOREIGN (TAG_MAGIC | 3)

#define EVENTS_MAX 64
#define POOL_CHUNK 64
#define FOREIGN_SLICE_NS 1000000

static struct engine {
	pthread_mutex_t lock;
	int ctx_err;		/* 0: not tried yet or ready; <0: io_setup's error */
	io_context_t ctx;
	unsigned depth, in_kernel, nlive;
	struct iocb **batch;
	struct kaio_table *table;
	struct kaio_list live, pending, barriers, done, free;
	unsigned long seq;
	int reaper;
	unsigned waiters;
	unsigned gen;		/* futex word */
	int foreign;
	struct kaio_stats st;
} E = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.live = KAIO_LIST_INIT(E.live),
	.pending = KAIO_LIST_INIT(E.pending),
	.barriers = KAIO_LIST_INIT(E.barriers),
	.done = KAIO_LIST_INIT(E.done),
	.free = KAIO_LIST_INIT(E.free),
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static uint64_t *tag_of(const struct aiocb *cb)
{
	return (uint64_t *)(void *)cb->__glibc_reserved;
}

static uint64_t tag_get(const struct aiocb *cb)
{
	return __atomic_load_n(tag_of(cb), __ATOMIC_ACQUIRE);
}

static void tag_set(struct aiocb *cb, uint64_t v)
{
	__atomic_store_n(tag_of(cb), v, __ATOMIC_RELEASE);
}

/* Publishes a final result: readers that see __error_code see the rest. */
static void result_set(struct aiocb *cb, long res)
{
	cb->__return_value = res < 0 ? -1 : res;
	tag_set(cb, TAG_DONE);
	__atomic_store_n(&cb->__error_code, res < 0 ? (int)-res : 0, __ATOMIC_RELEASE);
}

static void forget_all(void);

static void atfork_prepare(void)
{
	pthread_mutex_lock(&E.lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&E.lock);
}

static void atfork_child(void)
{
	pthread_mutex_init(&E.lock, NULL);
	forget_all();
}

static void stats_report(void)
{
	struct kaio_stats st;

	kaio_stats_get(&st);
	kaio_say("kernel=%lu sync_fallback=%lu glibc=%lu queued=%lu cancelled=%lu "
		 "peak_inflight=%lu io_submit=%lu io_getevents=%lu ring_reaped=%lu "
		 "depth=%u ctx_error=%d",
		 st.kernel, st.sync_fallback, st.foreign, st.queued, st.cancelled,
		 st.peak_inflight, st.io_submit, st.io_getevents, st.ring_reaped,
		 st.depth, st.ctx_error);
}

static void engine_init(void)
{
	kaio_config_load();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	if (kaio_config.stats)
		atexit(stats_report);
}

/* Called with the lock held; creates the context on first use. */
static int ctx_get_locked(void)
{
	unsigned depth;
	int r;

	if (E.ctx)
		return 0;
	if (E.ctx_err)
		return E.ctx_err;
	depth = kaio_config.queue_depth;
	E.batch = malloc(depth * sizeof *E.batch);
	E.table = E.table ? E.table : kaio_table_new();
	if (!E.batch || !E.table) {
		free(E.batch);
		E.batch = NULL;
		return -ENOMEM;
	}
	r = kaio_ring_setup(&E.ctx, &depth);
	if (r < 0) {
		free(E.batch);
		E.batch = NULL;
		E.ctx_err = E.st.ctx_error = r;
		kaio_debug("io_setup failed (%s): requests go to glibc", strerror(-r));
		return r;
	}
	if (depth != kaio_config.queue_depth)
		kaio_debug("io_setup: depth %u refused, using %u", kaio_config.queue_depth, depth);
	E.depth = E.st.depth = depth;
	return 0;
}

static void forget_all(void)
{
	struct kaio_list *p, *t;

	/* Never io_destroy: the context and its ring belong to the parent. */
	E.ctx = 0;
	E.ctx_err = 0;
	E.in_kernel = E.nlive = 0;
	E.reaper = 0;
	E.waiters = 0;
	kaio_list_each_safe(p, t, &E.live) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, live);

		kaio_list_del(&r->live);
		kaio_list_del(&r->q);
		kaio_list_add_tail(&E.free, &r->q);
	}
	kaio_list_each_safe(p, t, &E.done) {
		kaio_list_del(p);
		kaio_list_add_tail(&E.free, p);
	}
	kaio_table_free(E.table);
	E.table = NULL;
	free(E.batch);
	E.batch = NULL;
}

static struct kaio_req *req_get_locked(void)
{
	struct kaio_req *r;

	if (kaio_list_empty(&E.free)) {
		struct kaio_req *chunk = calloc(POOL_CHUNK, sizeof *chunk);

		if (!chunk)
			return NULL;
		for (int i = 0; i < POOL_CHUNK; i++)
			kaio_list_add_tail(&E.free, &chunk[i].q);
	}
	r = kaio_container_of(E.free.next, struct kaio_req, q);
	kaio_list_del(&r->q);
	kaio_list_init(&r->live);
	return r;
}

/* Drops finished requests from the table. Allocating paths only. */
static void collect_locked(void)
{
	struct kaio_list *p, *t;

	kaio_list_each_safe(p, t, &E.done) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, q);

		kaio_table_remove(E.table, r->cb);
		kaio_list_del(p);
		kaio_list_add_tail(&E.free, p);
	}
}

static void wake_locked(void)
{
	E.gen++;
	if (E.waiters)
		syscall(SYS_futex, &E.gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void complete_locked(struct kaio_req *r, long res);

/* An fsync enters the queue once every earlier write on its fd is done. */
static void barriers_release_locked(const struct kaio_req *w)
{
	struct kaio_list *p, *t;

	kaio_list_each_safe(p, t, &E.barriers) {
		struct kaio_req *b = kaio_container_of(p, struct kaio_req, q);

		if (b->fd != w->fd || b->seq < w->seq || --b->wait)
			continue;
		kaio_list_del(&b->q);
		b->state = KAIO_QUEUED;
		kaio_list_add_tail(&E.pending, &b->q);
	}
}

static void complete_locked(struct kaio_req *r, long res)
{
	if (r->state == KAIO_SUBMITTED)
		E.in_kernel--;
	r->state = KAIO_DONE;
	E.nlive--;
	kaio_list_del(&r->live);
	kaio_list_del(&r->q);
	kaio_list_add_tail(&E.done, &r->q);
	result_set(r->cb, res);
	if (r->op == KAIO_WRITE && !kaio_list_empty(&E.barriers))
		barriers_release_locked(r);
}

/*
 * The kernel refused the request at submit with EINVAL although kaio checked
 * what it could (files without read_iter, such as some /proc files): serve it
 * in the caller, as a blocking pread/pwrite/fsync would.
 */
static long sync_fallback(const struct kaio_req *r)
{
	const struct aiocb *cb = r->cb;
	ssize_t n;

	E.st.sync_fallback++;
	switch (r->op) {
	case KAIO_READ:
		n = pread(r->fd, (void *)cb->aio_buf, cb->aio_nbytes, cb->aio_offset);
		break;
	case KAIO_WRITE:
		n = pwrite(r->fd, (const void *)cb->aio_buf, cb->aio_nbytes, cb->aio_offset);
		break;
	case KAIO_FSYNC:
		n = fsync(r->fd);
		break;
	default:
		n = fdatasync(r->fd);
		break;
	}
	return n < 0 ? -errno : n;
}

/* Moves queued requests into the kernel, in order, as far as the ring allows. */
static void submit_pending_locked(void)
{
	while (!kaio_list_empty(&E.pending) && E.in_kernel < E.depth) {
		struct kaio_list *p = E.pending.next;
		struct kaio_req *r;
		int n = 0, k;

		for (; p != &E.pending && E.in_kernel + n < E.depth; p = p->next)
			E.batch[n++] = &kaio_container_of(p, struct kaio_req, q)->iocb;
		E.st.io_submit++;
		k = io_submit(E.ctx, n, E.batch);
		for (int i = 0; i < k; i++) {
			r = kaio_container_of(E.batch[i], struct kaio_req, iocb);
			r->state = KAIO_SUBMITTED;
			kaio_list_del(&r->q);
		}
		if (k > 0) {
			E.in_kernel += k;
			E.st.kernel += k;
			if (E.in_kernel > E.st.peak_inflight)
				E.st.peak_inflight = E.in_kernel;
			continue;
		}
		/* io_submit refused the first request: k is its error. */
		r = kaio_container_of(E.batch[0], struct kaio_req, iocb);
		if (k == -EAGAIN && E.in_kernel)
			break;	/* ring full: retried as events free slots */
		if (k == -EAGAIN || k == -EINVAL || k == 0) {
			kaio_debug("io_submit: %s on fd %d: served synchronously",
				   strerror(k ? -k : EAGAIN), r->fd);
			complete_locked(r, sync_fallback(r));
		} else {
			complete_locked(r, k);
		}
	}
}

static void events_locked(const struct io_event *ev, int n)
{
	for (int i = 0; i < n; i++)
		complete_locked((struct kaio_req *)(uintptr_t)ev[i].data, (long)ev[i].res);
}

/* Reaps the user-space ring. Lock held, no reaper active. */
static int reap_locked(void)
{
	struct io_event ev[EVENTS_MAX];
	int n, total = 0;

	if (!E.ctx || !E.in_kernel)
		return 0;
	do {
		n = kaio_ring_reap(E.ctx, ev, EVENTS_MAX);
		if (n <= 0)
			break;
		events_locked(ev, n);
		total += n;
	} while (n == EVENTS_MAX);
	if (total) {
		E.st.ring_reaped += total;
		submit_pending_locked();
		wake_locked();
	}
	return total;
}

int kaio_poll(void)
{
	int n = 0;

	if (!E.ctx || !kaio_ring_ready(E.ctx))
		return 0;
	if (pthread_mutex_trylock(&E.lock))
		return 0;
	if (!E.reaper)
		n = reap_locked();
	pthread_mutex_unlock(&E.lock);
	return n;
}

/* A zeroed sigevent is SIGEV_SIGNAL with signal 0: no notification. */
static int sigev_silent(const struct sigevent *sev)
{
	switch (sev->sigev_notify) {
	case SIGEV_NONE:
		return 1;
	case SIGEV_SIGNAL:
		return sev->sigev_signo == 0;
	default:
		return 0;
	}
}

/*
 * Decides whether kaio serves cb: 0 yes, -EOPNOTSUPP no. *err gets an error
 * to report through cb's result instead of submitting (bad fd, negative
 * offset), as glibc reports those later rather than at once.
 */
static int classify(const struct aiocb *cb, enum kaio_op op, int *err)
{
	struct stat st;

	*err = 0;
	if (!sigev_silent(&cb->aio_sigevent))
		return -EOPNOTSUPP;
	if (fstat(cb->aio_fildes, &st) < 0) {
		*err = errno;
		return 0;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EOPNOTSUPP;
	if ((op == KAIO_READ || op == KAIO_WRITE) && cb->aio_offset < 0)
		*err = EINVAL;
	return 0;
}

static unsigned writes_before_locked(int fd)
{
	struct kaio_list *p;
	unsigned n = 0;

	for (p = E.live.next; p != &E.live; p = p->next) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, live);

		n += r->fd == fd && r->op == KAIO_WRITE;
	}
	return n;
}

/*
 * Takes cb for a new request: -EINVAL if it is still in flight, else 0 with
 * *rp a fresh request (or NULL when err is to be reported at once).
 */
static int enqueue_locked(struct aiocb *cb, enum kaio_op op, int err)
{
	struct kaio_req *r;

	if (tag_get(cb) == TAG_BUSY && kaio_table_lookup(E.table, cb)) {
		kaio_debug("aiocb %p submitted again while in flight: EINVAL", (void *)cb);
		return -EINVAL;
	}
	if (err) {
		result_set(cb, -err);
		return 0;
	}
	r = req_get_locked();
	if (!r)
		return -EAGAIN;
	if (kaio_table_insert(E.table, cb, r) < 0) {
		kaio_list_add_tail(&E.free, &r->q);
		kaio_debug("aiocb %p submitted again while in flight: EINVAL", (void *)cb);
		return -EINVAL;
	}
	r->cb = cb;
	r->fd = cb->aio_fildes;
	r->op = (unsigned char)op;
	r->seq = ++E.seq;
	switch (op) {
	case KAIO_READ:
		io_prep_pread(&r->iocb, r->fd, (void *)cb->aio_buf, cb->aio_nbytes, cb->aio_offset);
		break;
	case KAIO_WRITE:
		io_prep_pwrite(&r->iocb, r->fd, (void *)cb->aio_buf, cb->aio_nbytes, cb->aio_offset);
		break;
	case KAIO_FSYNC:
		io_prep_fsync(&r->iocb, r->fd);
		break;
	case KAIO_FDSYNC:
		io_prep_fdsync(&r->iocb, r->fd);
		break;
	}
	r->iocb.data = r;
	cb->__return_value = 0;
	tag_set(cb, TAG_BUSY);
	__atomic_store_n(&cb->__error_code, EINPROGRESS, __ATOMIC_RELEASE);
	kaio_list_add_tail(&E.live, &r->live);
	E.nlive++;
	r->wait = op == KAIO_FSYNC || op == KAIO_FDSYNC ? writes_before_locked(r->fd) : 0;
	if (r->wait) {
		r->state = KAIO_BARRIER;
		kaio_list_add_tail(&E.barriers, &r->q);
	} else {
		r->state = KAIO_QUEUED;
		kaio_list_add_tail(&E.pending, &r->q);
	}
	return 0;
}

/* Lock and make sure the context exists: 0, or -EOPNOTSUPP unlocked. */
static int lock_ctx(void)
{
	pthread_once(&init_once, engine_init);
	pthread_mutex_lock(&E.lock);
	if (ctx_get_locked() < 0) {
		pthread_mutex_unlock(&E.lock);
		return -EOPNOTSUPP;
	}
	collect_locked();
	return 0;
}

static void submit_and_unlock(void)
{
	if (!kaio_list_empty(&E.pending)) {
		if (E.in_kernel >= E.depth && !E.reaper)
			reap_locked();
		submit_pending_locked();
		if (!kaio_list_empty(&E.pending))
			E.st.queued++;
	}
	pthread_mutex_unlock(&E.lock);
}

int kaio_submit(struct aiocb *cb, enum kaio_op op)
{
	int err, r;

	if (classify(cb, op, &err) < 0 || lock_ctx() < 0)
		return -EOPNOTSUPP;
	r = enqueue_locked(cb, op, err);
	submit_and_unlock();
	return r;
}

static int listed(const struct aiocb *cb)
{
	return cb && cb->aio_lio_opcode != LIO_NOP;
}

static int wait_list(const struct aiocb *const list[], int nent, int all,
		     const struct timespec *timeout);

int kaio_listio(int mode, struct aiocb *const list[], int nent,
		const struct sigevent *sev)
{
	int *errs, failed = 0, r = 0;

	if (mode == LIO_NOWAIT && sev && !sigev_silent(sev))
		return -EOPNOTSUPP;
	if (nent <= 0)
		return 0;
	errs = calloc((size_t)nent, sizeof *errs);
	if (!errs)
		return -EAGAIN;
	for (int i = 0; i < nent; i++) {
		struct aiocb *cb = list[i];

		if (!listed(cb))
			continue;
		if (cb->aio_lio_opcode != LIO_READ && cb->aio_lio_opcode != LIO_WRITE) {
			errs[i] = EINVAL;
			continue;
		}
		if (classify(cb, cb->aio_lio_opcode == LIO_READ ? KAIO_READ : KAIO_WRITE,
			     &errs[i]) < 0) {
			r = -EOPNOTSUPP;
			goto out;
		}
	}
	if (lock_ctx() < 0) {
		r = -EOPNOTSUPP;
		goto out;
	}
	for (int i = 0; i < nent; i++) {
		struct aiocb *cb = list[i];

		if (!listed(cb))
			continue;
		if (cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX)
			errs[i] = EINVAL;
		if (enqueue_locked(cb, cb->aio_lio_opcode == LIO_READ ? KAIO_READ : KAIO_WRITE,
				   errs[i]) < 0)
			failed = 1;
	}
	submit_and_unlock();
	if (mode == LIO_WAIT) {
		r = wait_list((const struct aiocb *const *)list, nent, 1, NULL);
		if (r < 0)
			goto out;
		for (int i = 0; i < nent; i++)
			if (listed(list[i]) && list[i]->__error_code)
				failed = 1;
	}
	r = failed ? -EIO : 0;
out:
	free(errs);
	return r;
}

int kaio_error(const struct aiocb *cb)
{
	int e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);

	if (e == EINPROGRESS && kaio_poll())
		e = __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
	return e;
}

int kaio_return(struct aiocb *cb, ssize_t *res)
{
	uint64_t done = TAG_DONE;

	if (kaio_error(cb) == EINPROGRESS)
		return -EINVAL;
	if (!__atomic_compare_exchange_n(tag_of(cb), &done, 0, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return -EINVAL;
	*res = cb->__return_value;
	return 0;
}

int kaio_is_foreign(const struct aiocb *cb)
{
	return tag_get(cb) == TAG_FOREIGN;
}

void kaio_set_foreign(struct aiocb *cb, int on)
{
	if (on) {
		__atomic_store_n(&E.foreign, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&E.st.foreign, 1, __ATOMIC_RELAXED);
	}
	tag_set(cb, on ? TAG_FOREIGN : 0);
}

int kaio_foreign_used(void)
{
	return __atomic_load_n(&E.foreign, __ATOMIC_RELAXED);
}

/*
 * Whether the wait is over: one (all = 0) or every (all = 1) counted request
 * is done; nothing to count is done too. lio_listio does not count LIO_NOP
 * entries. *foreign: glibc holds one of the requests still in progress.
 */
static int satisfied(const struct aiocb *const list[], int nent, int all, int *foreign)
{
	int want = 0, done = 0;

	*foreign = 0;
	for (int i = 0; i < nent; i++) {
		const struct aiocb *cb = list[i];

		if (!cb || (all && cb->aio_lio_opcode == LIO_NOP))
			continue;
		want++;
		if (__atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS)
			done++;
		else if (tag_get(cb) == TAG_FOREIGN)
			*foreign = 1;
	}
	return all ? done == want : done > 0 || !want;
}

static long ns_until(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000000000L + deadline->tv_nsec - now.tv_nsec;
}

/*
 * Waits until one (all = 0) or every (all = 1) listed request is done. One
 * thread at a time becomes the reaper and sleeps in io_getevents; the others
 * sleep on E.gen. Both sleeps end with EINTR when a signal handler runs, as
 * POSIX requires of aio_suspend. Requests held by glibc are noticed within
 * FOREIGN_SLICE_NS, since glibc does not wake us.
 */
static int wait_list(const struct aiocb *const list[], int nent, int all,
		     const struct timespec *timeout)
{
	struct timespec deadline, slice;
	struct io_event ev[EVENTS_MAX];
	int foreign, r = 0;
	long left = LONG_MAX;

	if (timeout) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout->tv_sec;
		deadline.tv_nsec += timeout->tv_nsec;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_once(&init_once, engine_init);
	pthread_mutex_lock(&E.lock);
	for (;;) {
		if (satisfied(list, nent, all, &foreign))
			break;
		if (!E.reaper && reap_locked() && satisfied(list, nent, all, &foreign))
			break;
		if (timeout && (left = ns_until(&deadline)) <= 0) {
			r = -EAGAIN;
			break;
		}
		if (foreign && left > FOREIGN_SLICE_NS)
			left = FOREIGN_SLICE_NS;
		slice.tv_sec = left / 1000000000L;
		slice.tv_nsec = left % 1000000000L;
		if (!E.reaper) {
			int n;

			E.reaper = 1;
			pthread_mutex_unlock(&E.lock);
			if (E.ctx) {
				E.st.io_getevents++;
				n = io_getevents(E.ctx, 1, EVENTS_MAX, ev,
						 left == LONG_MAX ? NULL : &slice);
			} else {
				n = ppoll(NULL, 0, left == LONG_MAX ? NULL : &slice, NULL);
				n = n < 0 ? -errno : 0;
			}
			pthread_mutex_lock(&E.lock);
			E.reaper = 0;
			if (n > 0) {
				events_locked(ev, n);
				submit_pending_locked();
			}
			wake_locked();
			if (n < 0) {
				r = n;
				break;
			}
		} else {
			unsigned g = E.gen;
			long s;

			E.waiters++;
			pthread_mutex_unlock(&E.lock);
			s = syscall(SYS_futex, &E.gen, FUTEX_WAIT_PRIVATE, g,
				    left == LONG_MAX ? NULL : &slice, NULL, 0);
			s = s < 0 ? errno : 0;
			pthread_mutex_lock(&E.lock);
			E.waiters--;
			if (s == EINTR) {
				r = -EINTR;
				break;
			}
		}
	}
	pthread_mutex_unlock(&E.lock);
	return r;
}

int kaio_suspend(const struct aiocb *const list[], int nent,
		 const struct timespec *timeout)
{
	return wait_list(list, nent, 0, timeout);
}

/*
 * A request still in user space is cancelled for real; one in the kernel on a
 * regular file or block device cannot be (io_cancel only cancels polls).
 */
static int cancel_one_locked(struct kaio_req *r)
{
	if (r->state == KAIO_SUBMITTED)
		return AIO_NOTCANCELED;
	complete_locked(r, -ECANCELED);
	E.st.cancelled++;
	return AIO_CANCELED;
}

int kaio_cancel(int fd, struct aiocb *cb)
{
	int res = AIO_ALLDONE;

	pthread_once(&init_once, engine_init);
	pthread_mutex_lock(&E.lock);
	if (cb) {
		struct kaio_req *r = E.table ? kaio_table_lookup(E.table, cb) : NULL;

		if (r && r->state != KAIO_DONE)
			res = cancel_one_locked(r);
	} else {
		struct kaio_list *p, *t;

		kaio_list_each_safe(p, t, &E.live) {
			struct kaio_req *r = kaio_container_of(p, struct kaio_req, live);

			if (r->fd != fd)
				continue;
			if (cancel_one_locked(r) == AIO_NOTCANCELED)
				res = AIO_NOTCANCELED;
			else if (res == AIO_ALLDONE)
				res = AIO_CANCELED;
		}
	}
	if (res == AIO_CANCELED) {
		submit_pending_locked();
		wake_locked();
	}
	pthread_mutex_unlock(&E.lock);
	return res;
}

void kaio_stats_get(struct kaio_stats *st)
{
	pthread_mutex_lock(&E.lock);
	*st = E.st;
	pthread_mutex_unlock(&E.lock);
}
