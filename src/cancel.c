/*
 * Cancellation. A request still in user space (queued for ring space, or
 * waiting for earlier requests) or in a poll is cancelled for real; a read or
 * write already in the kernel cannot be: io_cancel only cancels polls.
 */
#include <errno.h>

#include "engine.h"

/*
 * A request still in user space or waiting in a poll is cancelled for real;
 * a read or write in the kernel cannot be (io_cancel only cancels polls).
 */
static int cancel_one_locked(struct kaio_req *r)
{
	if (r->state == KAIO_SUBMITTED)
		return AIO_NOTCANCELED;
	if (r->state == KAIO_POLLING)
		kaio_poll_cancel_locked(r);
	kaio_req_complete(r, -ECANCELED);
	eng.st.cancelled++;
	return AIO_CANCELED;
}

int kaio_cancel(int fd, struct aiocb *cb)
{
	int res = AIO_ALLDONE;

	kaio_engine_enter();
	/* Completions already in the ring are done, not "not cancelled". */
	if (!eng.reaper)
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
	if (res == AIO_CANCELED) {
		kaio_pending_submit();
		kaio_waiters_wake();
	}
	kaio_unlock();
	return res;
}
