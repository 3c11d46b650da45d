/*
 * Waiting for requests (aio_suspend, lio_listio LIO_WAIT). One waiting thread
 * at a time is the reaper: it sleeps without the lock on kaio's eventfd,
 * which every completion bumps, while any thread that holds the lock may
 * reap the ring; or, once the program closed that eventfd, in io_getevents
 * (eng.in_getevents), and then nobody else touches the ring. The other
 * waiters sleep on the futex word eng.gen, bumped after each batch of
 * events. Both sleeps end with EINTR when a signal handler runs, as POSIX
 * requires of aio_suspend; a pthread_cond wait would not.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

#define FOREIGN_SLICE_NS 1000000
#define URING_SLICE_NS 10000000

/*
 * The entries of a wait that matter: non-NULL, and for lio_listio not
 * LIO_NOP. Found with one pass over the list; later looks go through the
 * few kept here, or the span [lo, hi) when there are more, so a huge list
 * of mostly NULL entries is read once, not on every wake-up.
 */
#define WATCH_FEW 32

struct watch {
	const struct aiocb *const *list;
	const struct aiocb *few[WATCH_FEW];
	int nfew, lo, hi, all, many;
};

static int counted(const struct aiocb *cb, int all)
{
	return cb && !(all && cb->aio_lio_opcode == LIO_NOP);
}

static int is_done(const struct aiocb *cb)
{
	return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS;
}

/*
 * Whether the wait is over: one (all = 0) or every (all = 1) counted request
 * is done; nothing to count is done too. *foreign: glibc holds one of the
 * requests still in progress.
 */
static int satisfied(const struct watch *w, int *foreign)
{
	int want = 0, done = 0, n = w->many ? w->hi - w->lo : w->nfew;

	*foreign = 0;
	for (int i = 0; i < n; i++) {
		const struct aiocb *cb = w->many ? w->list[w->lo + i] : w->few[i];

		if (!counted(cb, w->all))
			continue;
		want++;
		if (is_done(cb)) {
			if (!w->all)
				return 1;
			done++;
		} else if (kaio_tag_get(cb) == TAG_FOREIGN) {
			*foreign = 1;
		}
	}
	return w->all ? done == want : !want;
}

/* The first pass; 1 when the wait is over already. */
static int watch_init(struct watch *w, const struct aiocb *const list[], int nent, int all)
{
	int foreign;

	w->list = list;
	w->all = all;
	w->nfew = w->many = 0;
	w->lo = w->hi = 0;
	for (int i = 0; i < nent; i++) {
		const struct aiocb *cb = list[i];

		if (!counted(cb, all))
			continue;
		if (!all && is_done(cb))
			return 1;
		if (!w->nfew && !w->many)
			w->lo = i;
		w->hi = i + 1;
		if (w->nfew < WATCH_FEW)
			w->few[w->nfew++] = cb;
		else
			w->many = 1;
	}
	return satisfied(w, &foreign);
}

static int64_t ns_until(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 + deadline->tv_nsec - now.tv_nsec;
}

struct step {
	struct io_event ev[EVENTS_MAX];
	int role;
	unsigned gen;	/* in memory: pthread_cleanup_push is a setjmp */
};

/*
 * A thread cancelled while it sleeps (aio_suspend is a cancellation point)
 * leaves through here. Events io_getevents already copied out are still
 * handled: the kernel writes them to ev[] before returning, and an entry
 * whose data is set is one of them. Nothing is lost, and the reaper role is
 * handed on.
 */
static void step_cancelled(void *arg)
{
	struct step *s = arg;

	kaio_lock();
	if (s->role) {
		for (int i = 0; i < EVENTS_MAX && s->ev[i].data; i++)
			kaio_events_handle(&s->ev[i], 1);
		eng.reaper = 0;
		eng.reaper_due = 0;
		eng.in_getevents = 0;
		kaio_pending_submit();
		kaio_waiters_wake();
	} else {
		eng.waiters--;
	}
	kaio_unlock();
}

int kaio_wait_step(int64_t left, int role, int cs)
{
	struct timespec slice;
	struct step s;
	int n, type, efd;

	/* Wakes owed by this thread go out before it sleeps: not to itself. */
	if (eng.wake)
		kaio_wake_locked();
	/* Without a context, nothing to reap: completions come with a futex wake. */
	s.role = eng.reaper || !eng.ctx ? 0 : role;
	if (s.role) {
		eng.reaper = role;
		eng.reaper_due = 0;
		for (int i = 0; i < EVENTS_MAX; i++)
			s.ev[i].data = NULL;
	} else {
		eng.waiters++;
	}
	s.gen = eng.gen;
	/*
	 * The reaper sleeps on the eventfd that kernel AIO and io_uring
	 * completions both bump. Untimed: read(2), a deferred cancellation
	 * point restarted after SA_RESTART; timed: ppoll. Without the eventfd
	 * (the program closed it), io_getevents, and io_uring's reads are
	 * looked at every URING_SLICE_NS.
	 */
	efd = s.role ? eng.efd : -1;
	eng.in_getevents = s.role && efd < 0;
	if ((eng.uring_queued || (efd < 0 && eng.in_uring)) && left > URING_SLICE_NS)
		left = URING_SLICE_NS;
	slice.tv_sec = (time_t)(left / 1000000000);
	slice.tv_nsec = (long)(left % 1000000000);

	struct timespec *const ts = left == INT64_MAX ? NULL : &slice;

	kaio_unlock();
	pthread_cleanup_push(step_cancelled, &s);
	pthread_setcancelstate(cs, NULL);
	if (efd >= 0) {
		struct pollfd pfd = { efd, POLLIN, 0 };
		uint64_t v;

		n = ts ? ppoll(&pfd, 1, ts, NULL) : 1;
		if (n < 0)
			n = -errno;
		else if (n == 0)
			n = -ETIMEDOUT;
		else
			n = read(efd, &v, sizeof v) < 0 ? -errno : 0;
	} else {
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &type);
		if (s.role && eng.ctx)
			n = io_getevents(eng.ctx, 1, EVENTS_MAX, s.ev, ts);
		else if (s.role)
			n = ppoll(NULL, 0, ts, NULL) < 0 ? -errno : 0;
		else
			n = syscall(SYS_futex, &eng.gen, FUTEX_WAIT_PRIVATE, s.gen, ts, NULL, 0) < 0
				? -errno : 0;
		pthread_setcanceltype(type, NULL);
	}
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_pop(0);
	kaio_lock();
	if (!s.role) {
		eng.waiters--;
		return n == -EINTR ? n : 0;
	}
	eng.reaper = 0;
	eng.reaper_due = 0;
	eng.in_getevents = 0;
	if (efd >= 0) {
		if (n == -EBADF || n == -EINVAL)
			kaio_efd_ours();
		kaio_events_reap();
		/* As below: kaio's thread that merely timed out wakes nobody. */
		if (n != -ETIMEDOUT || role == 1)
			kaio_waiters_wake();
		return n == -EINTR ? n : 0;
	}
	eng.st.io_getevents++;
	if (n > 0) {
		kaio_events_handle(s.ev, n);
		kaio_pending_submit();
	}
	/*
	 * Waiters look again when something completed, or when a program
	 * thread gives up the reaper role. Not when kaio's thread merely timed
	 * out and goes back to sleep: a waiter woken for nothing may take a
	 * signal outside its sleep and miss its EINTR.
	 */
	if (n > 0 || role == 1)
		kaio_waiters_wake();
	return n < 0 && n != -ETIMEDOUT ? n : 0;
}

/*
 * A signal handler that interrupted this thread inside the lock cannot take
 * it: look at the aiocbs only, in slices, until the timeout.
 */
static int wait_unlocked(const struct watch *w, const struct timespec *deadline)
{
	struct timespec slice = { 0, FOREIGN_SLICE_NS };
	int foreign;

	while (!satisfied(w, &foreign)) {
		if (deadline && ns_until(deadline) <= 0)
			return -EAGAIN;
		if (ppoll(NULL, 0, &slice, NULL) < 0 && errno == EINTR)
			return -EINTR;
	}
	return 0;
}

/*
 * Waits until one (all = 0) or every (all = 1) listed request is done. One
 * thread at a time becomes the reaper (see the top of this file); the others
 * sleep on eng.gen. Both sleeps end with EINTR when a signal handler runs, as
 * POSIX requires of aio_suspend (a pthread_cond wait would not). Requests
 * held by glibc are noticed within FOREIGN_SLICE_NS, since glibc does not
 * wake us.
 */
int kaio_wait(const struct aiocb *const list[], int nent, int all,
	      const struct timespec *timeout)
{
	struct timespec deadline;
	struct watch w;
	int foreign, cs, r = 0;
	int64_t left = INT64_MAX;

	if (watch_init(&w, list, nent, all))
		return 0;
	/* Longer than a quarter of what time_t holds (34 years on i386): no end. */
	if (timeout && timeout->tv_sec > (time_t)1 << (sizeof(time_t) * 8 - 2))
		timeout = NULL;
	if (timeout) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout->tv_sec;
		deadline.tv_nsec += timeout->tv_nsec;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	if (kaio_locked)
		return wait_unlocked(&w, timeout ? &deadline : NULL);
	/* Cancellation acts only in the sleep (kaio_wait_step). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	kaio_engine_enter();
	kaio_thread_ensure_locked();
	for (;;) {
		if (satisfied(&w, &foreign))
			break;
		if (kaio_events_reap() && satisfied(&w, &foreign))
			break;
		if (timeout && (left = ns_until(&deadline)) <= 0) {
			r = -EAGAIN;
			break;
		}
		if (foreign && left > FOREIGN_SLICE_NS)
			left = FOREIGN_SLICE_NS;
		if (eng.uring_queued)
			kaio_pending_submit();
		r = kaio_wait_step(left, 1, cs);
		if (r < 0)
			break;
	}
	kaio_unlock();
	pthread_setcancelstate(cs, NULL);
	return r;
}

int kaio_suspend(const struct aiocb *const list[], int nent,
		 const struct timespec *timeout)
{
	return kaio_wait(list, nent, 0, timeout);
}
