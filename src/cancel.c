/*
 * Cancellation. A request still in user space (queued for ring space, or
 * waiting for earlier requests) or in a poll is cancelled for real; a read or
 * write already in the kernel, or on its way there in another thread's
 * io_submit, or in a plain syscall, cannot be: io_cancel only cancels polls.
 */
#include <errno.h>

#include "engine.h"

/*
 * A request still in user space or waiting in a poll is cancelled for real;
 * a read or write in the kernel cannot be (io_cancel only cancels polls).
 */
static int cancel_one_locked(struct kaio_req *r)
{
	/* A batch issuing r owns it until it locks again (issue.c). */
	if (r->issuer || r->state == KAIO_SUBMITTED || r->state == KAIO_SYNCING ||
	    r->state == KAIO_URING || r->flushw)
		return AIO_NOTCANCELED;	/* a sync write's data is in the file */
	if (r->state == KAIO_POLLING)
		kaio_poll_cancel_locked(r);
	kaio_req_complete(r, -ECANCELED);
	eng.st.cancelled++;
	return AIO_CANCELED;
}

/*
 * A stream request sent with RWF_NOWAIT completes inside io_submit: its
 * event (data, or EAGAIN and then a poll, which can be cancelled) is on its
 * way while another thread issues it, and then in the ring or in the hands
 * of the thread reaping it. A poll another thread is issuing is not in the
 * kernel yet (io_cancel would not find it) and is that thread's until it
 * locks again: wait for it too.
 */
static int settling_locked(int fd, const struct aiocb *cb)
{
	struct kaio_list *p;

	if (!eng.in_getevents && !eng.issuing)
		return 0;
	for (p = eng.live.next; p != &eng.live; p = p->next) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, live);

		if (!(cb ? r->cb == cb : r->fd == fd))
			continue;
		/* A poll another thread is sending: it could be cancelled then. */
		if (r->issuer && r->state != KAIO_SUBMITTED && r->state != KAIO_SYNCING)
			return 1;
		if (r->state == KAIO_SUBMITTED && r->kind == KAIO_STREAM &&
		    (r->iocb.aio_rw_flags & RWF_NOWAIT) && (eng.in_getevents || r->issuer))
			return 1;
	}
	return 0;
}

int kaio_cancel(int fd, struct aiocb *cb)
{
	int res = AIO_ALLDONE, state;

	kaio_engine_enter();
	/*
	 * Completions already in the ring are done, not "not cancelled". When
	 * another thread reaps (kaio's, or one in aio_suspend), wait until it
	 * has handled the events of the requests asked about that are surely
	 * there (at most 100 ms; aio_cancel is no cancellation point).
	 */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &state);
	eng.cancel_waits++;
	for (int i = 0; i < 100 && settling_locked(fd, cb); i++)
		kaio_wait_step(1000000, 0, PTHREAD_CANCEL_DISABLE);
	eng.cancel_waits--;
	pthread_setcancelstate(state, NULL);
	kaio_events_reap();
	if (cb) {
		struct kaio_req *r = eng.table ? kaio_table_lookup(eng.table, cb) : NULL;

		if (r && r->state < KAIO_DONE)
			res = cancel_one_locked(r);
	} else {
		struct kaio_list *p, *t;

		kaio_list_each_safe(p, t, &eng.live) {
			struct kaio_req *r = kaio_container_of(p, struct kaio_req, live);

			if (r->fd != fd)
				continue;
			if (cancel_one_locked(r) == AIO_NOTCANCELED)
				res = AIO_NOTCANCELED;
			else if (res == AIO_ALLDONE)
				res = AIO_CANCELED;
		}
	}
	if (res == AIO_CANCELED)
		kaio_pending_submit();	/* its waiters are woken on unlock */
	kaio_unlock();
	return res;
}
