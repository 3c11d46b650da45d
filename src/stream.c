/*
 * File descriptors that can block: pipes, FIFOs, sockets, ttys, eventfd and
 * other character devices. A plain io_submit on them would block the caller
 * (an empty pipe, a full socket buffer), which deadlocks a single-threaded
 * program. So a read or write on them goes in with RWF_NOWAIT; when the
 * kernel answers -EAGAIN, an IOCB_CMD_POLL waits for the fd in the kernel and
 * its completion re-issues the I/O. Files that refuse RWF_NOWAIT (ttys:
 * EOPNOTSUPP) or kernel AIO altogether (no read_iter: EINVAL) are polled
 * first and then read or written in the thread that reaps the poll, where the
 * fd is ready. A fd opened O_NONBLOCK gets no RWF_NOWAIT and no poll: its
 * EAGAIN is the answer, as glibc's pread/read would give.
 *
 * Requests on one such fd keep call order per direction (a stream's bytes
 * must not be reordered): each waits, as a barrier, for the earlier ones.
 * A blocking write is continued until every byte is written, as write(2)
 * does; a read returns what one read(2) would. Offsets are ignored on FIFOs
 * and sockets, and a -ESPIPE elsewhere is retried without one, as glibc does.
 *
 * The poll iocb lives in a separate kaio_pollw so that a cancelled poll
 * (io_cancel completes it later, with an event of its own) can outlive its
 * request: the event of an orphaned poll only returns the pollw to its pool.
 * Poll events carry the pollw's address with the low bit set.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"

#define POLLW_CHUNK 16

static struct kaio_list pollw_free = KAIO_LIST_INIT(pollw_free);

/* Allocating paths only. */
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

/* What a blocking pread/pwrite (read/write where there is no offset) gives. */
long kaio_sync_io(struct kaio_req *r)
{
	void *buf = (void *)(uintptr_t)r->iocb.u.c.buf;
	size_t n = r->iocb.u.c.nbytes;
	off_t off = r->iocb.u.c.offset;
	ssize_t res;

	switch (r->op) {
	case KAIO_READ:
		res = pread(r->fd, buf, n, off);
		if (res < 0 && errno == ESPIPE)
			res = read(r->fd, buf, n);
		break;
	case KAIO_WRITE:
		res = pwrite(r->fd, buf, n, off);
		if (res < 0 && errno == ESPIPE)
			res = write(r->fd, buf, n);
		break;
	case KAIO_FSYNC:
		res = fsync(r->fd);
		break;
	default:
		res = fdatasync(r->fd);
		break;
	}
	return res < 0 ? -errno : res;
}

static void requeue_locked(struct kaio_req *r, enum kaio_state state)
{
	r->state = state;
	kaio_list_add_tail(&eng.pending, &r->q);
}

void kaio_poll_queue_locked(struct kaio_req *r)
{
	struct kaio_pollw *w = r->pw;

	io_prep_poll(&w->iocb, r->fd, r->op == KAIO_READ ? POLLIN : POLLOUT);
	w->iocb.data = (void *)((uintptr_t)w | 1);
	w->req = r;
	eng.st.polls++;
	requeue_locked(r, KAIO_POLLQ);
}

/* The event of a read or write that was in the kernel. */
void kaio_req_event_locked(struct kaio_req *r, long res)
{
	struct iocb *io = &r->iocb;

	if (r->probe && res < 0) {
		eng.in_kernel--;
		if (kaio_probe_failed_locked(r, res)) {
			requeue_locked(r, KAIO_QUEUED);
			return;
		}
		eng.in_kernel++;
	}
	if (r->kind == KAIO_STREAM) {
		if (res == -EAGAIN && (io->aio_rw_flags & RWF_NOWAIT)) {
			eng.in_kernel--;
			kaio_poll_queue_locked(r);
			return;
		}
		if (res == -ESPIPE && io->u.c.offset) {
			eng.in_kernel--;
			io->u.c.offset = 0;
			requeue_locked(r, KAIO_QUEUED);
			return;
		}
		if (r->op == KAIO_WRITE && !r->nonblock && res > 0 &&
		    (unsigned long)res < io->u.c.nbytes) {
			eng.in_kernel--;
			r->done += res;
			io->u.c.buf = (char *)io->u.c.buf + res;
			io->u.c.nbytes -= res;
			requeue_locked(r, KAIO_QUEUED);
			return;
		}
		if (r->done)
			res = res < 0 ? (long)r->done : res + (long)r->done;
	}
	kaio_req_complete(r, res);
}

/* The event of a poll: the fd is ready (or the poll failed). */
void kaio_poll_event_locked(struct kaio_pollw *w, long res)
{
	struct kaio_req *r = w->req;

	eng.in_kernel--;
	if (!r) {
		kaio_pollw_put(w);	/* cancelled: its request is long done */
		return;
	}
	r->state = KAIO_QUEUED;
	if (res < 0)
		kaio_req_complete(r, res);
	else if (r->pollfirst)
		kaio_req_complete(r, kaio_sync_io(r));
	else
		requeue_locked(r, KAIO_QUEUED);
}

/*
 * io_submit refused r at once. A stream fd that refuses RWF_NOWAIT or kernel
 * AIO is polled first; a poll it refuses means the fd has no poll and is
 * always ready: do the I/O now. Returns 1 when r was handled here.
 */
int kaio_stream_refused_locked(struct kaio_req *r, int err)
{
	if (r->kind != KAIO_STREAM || (err != -EINVAL && err != -EOPNOTSUPP))
		return 0;
	if (r->state == KAIO_POLLQ || r->nonblock || r->op > KAIO_WRITE) {
		kaio_list_del(&r->q);
		r->state = KAIO_QUEUED;
		eng.st.sync_fallback++;
		kaio_req_complete(r, kaio_sync_io(r));
		return 1;
	}
	kaio_list_del(&r->q);
	r->pollfirst = 1;
	eng.st.pollfirst++;
	kaio_debug("fd %d refuses RWF_NOWAIT or AIO (%s): poll, then I/O when ready",
		   r->fd, strerrorname_np(-err));
	kaio_poll_queue_locked(r);
	return 1;
}

/*
 * Cancels a request waiting in a poll: the poll is cancelled in the kernel
 * and left to finish there as an orphan.
 */
void kaio_poll_cancel_locked(struct kaio_req *r)
{
	struct kaio_pollw *w = r->pw;
	struct io_event ev;

	r->pw = NULL;
	w->req = NULL;
	if (io_cancel(eng.ctx, &w->iocb, &ev) == 0) {
		eng.in_kernel--;	/* cancelled at once: no event will come */
		kaio_pollw_put(w);
	}
}
