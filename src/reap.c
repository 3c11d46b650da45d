/*
 * Completions: taking events off the kernel's rings and turning them into
 * results, and the calls that read results (aio_error, aio_return).
 *
 * Only one thread consumes kernel events at a time: under the lock from the
 * user-space ring (here), or as the reaper in io_getevents without the lock
 * (wait.c). The io_uring ring's completions (uring.c) are reaped here too.
 * Each event goes to the rules of its request (stream.c); what
 * they queue again is issued right away (issue.c).
 *
 * aio_error and aio_return read the aiocb without the lock and only
 * try-lock to poll the ring, so they are safe in a signal handler that
 * interrupted a kaio call.
 */
#include <errno.h>

#include "engine.h"
#include "uring.h"

void kaio_events_handle(const struct io_event *ev, int n)
{
	eng.from_event = 1;
	for (int i = 0; i < n; i++) {
		if (ev[i].data == &eng.kick) {
			eng.kicking = 0;
			eng.in_kernel--;
			continue;
		}
		/*
		 * Reaped off the ring while the reaper sleeps on the eventfd:
		 * the kernel bumped it for this event, so the reaper wakes and
		 * looks without a kick (kaio_wake_locked).
		 */
		if (eng.reaper && !eng.in_getevents)
			eng.reaper_due = 1;
		if ((uintptr_t)ev[i].data & 1)
			kaio_poll_event_locked((struct kaio_pollw *)((uintptr_t)ev[i].data - 1),
					       (long)ev[i].res);
		else
			kaio_req_event_locked(ev[i].data, (long)ev[i].res);
	}
	eng.from_event = 0;
}

/* The io_uring ring's completions (uring.c), as kernel AIO's. */
static int uring_reap_locked(void)
{
	void *tag[EVENTS_MAX];
	long res[EVENTS_MAX];
	int n, total = 0;

	do {
		n = kaio_uring_reap(tag, res, EVENTS_MAX);
		eng.from_event = 1;
		for (int i = 0; i < n; i++)
			kaio_uring_event_locked(tag[i], res[i]);
		eng.from_event = 0;
		total += n;
	} while (n == EVENTS_MAX);
	return total;
}

/*
 * Reaps the user-space rings, lock held; nothing while a reaper sleeps in
 * io_getevents (the ring is its alone then).
 */
int kaio_events_reap(void)
{
	struct io_event ev[EVENTS_MAX];
	int n, total;

	if (eng.in_getevents)
		return 0;
	total = eng.in_uring ? uring_reap_locked() : 0;

	while (eng.ctx && eng.in_kernel) {
		n = kaio_ring_reap(eng.ctx, ev, EVENTS_MAX);
		if (n <= 0)
			break;
		kaio_events_handle(ev, n);
		eng.st.ring_reaped += (unsigned)n;
		total += n;
		if (n < EVENTS_MAX)
			break;
	}
	if (total) {
		kaio_pending_submit();
		kaio_waiters_wake();
	}
	return total;
}

int kaio_poll(void)
{
	int n = 0;

	if (!(eng.ctx && kaio_ring_ready(eng.ctx)) && !kaio_uring_ready())
		return 0;
	if (kaio_trylock())
		return 0;
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

