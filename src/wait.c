/*
 * Waiting for requests (aio_suspend, lio_listio LIO_WAIT). One waiting thread
 * at a time is the reaper: it sleeps in io_getevents without the lock, and
 * the ring is not touched by anyone else meanwhile. The other waiters sleep
 * on the futex word eng.gen, bumped after each batch of events. Both sleeps
 * end with EINTR when a signal handler runs, as POSIX requires of
 * aio_suspend; a pthread_cond wait would not.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

#define FOREIGN_SLICE_NS 1000000

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
		else if (kaio_tag_get(cb) == TAG_FOREIGN)
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
 * sleep on eng.gen. Both sleeps end with EINTR when a signal handler runs, as
 * POSIX requires of aio_suspend. Requests held by glibc are noticed within
 * FOREIGN_SLICE_NS, since glibc does not wake us.
 */
int kaio_wait(const struct aiocb *const list[], int nent, int all,
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
	kaio_engine_enter();
	for (;;) {
		if (satisfied(list, nent, all, &foreign))
			break;
		if (!eng.reaper && kaio_events_reap() && satisfied(list, nent, all, &foreign))
			break;
		if (timeout && (left = ns_until(&deadline)) <= 0) {
			r = -EAGAIN;
			break;
		}
		if (foreign && left > FOREIGN_SLICE_NS)
			left = FOREIGN_SLICE_NS;
		slice.tv_sec = left / 1000000000L;
		slice.tv_nsec = left % 1000000000L;
		if (!eng.reaper) {
			int n;

			eng.reaper = 1;
			pthread_mutex_unlock(&eng.lock);
			if (eng.ctx) {
				eng.st.io_getevents++;
				n = io_getevents(eng.ctx, 1, EVENTS_MAX, ev,
						 left == LONG_MAX ? NULL : &slice);
			} else {
				n = ppoll(NULL, 0, left == LONG_MAX ? NULL : &slice, NULL);
				n = n < 0 ? -errno : 0;
			}
			pthread_mutex_lock(&eng.lock);
			eng.reaper = 0;
			if (n > 0) {
				kaio_events_handle(ev, n);
				kaio_pending_submit();
			}
			kaio_waiters_wake();
			if (n < 0) {
				r = n;
				break;
			}
		} else {
			unsigned g = eng.gen;
			long s;

			eng.waiters++;
			pthread_mutex_unlock(&eng.lock);
			s = syscall(SYS_futex, &eng.gen, FUTEX_WAIT_PRIVATE, g,
				    left == LONG_MAX ? NULL : &slice, NULL, 0);
			s = s < 0 ? errno : 0;
			pthread_mutex_lock(&eng.lock);
			eng.waiters--;
			if (s == EINTR) {
				r = -EINTR;
				break;
			}
		}
	}
	pthread_mutex_unlock(&eng.lock);
	return r;
}

int kaio_suspend(const struct aiocb *const list[], int nent,
		 const struct timespec *timeout)
{
	return kaio_wait(list, nent, 0, timeout);
}
