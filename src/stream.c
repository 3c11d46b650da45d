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
 * A request on such a fd does its I/O through a duplicate of the fd (closed
 * when it completes), so that close() of the program's fd, or its number
 * taken by a new file, does not change where a pending request reads or
 * writes: POSIX wants it to complete as if the close had not happened.
 *
 * Reads on a fd last seen to be a regular file go in as probes, without
 * an fstat (fd.c); when one fails, the fd is looked at again here
 * (kaio_probe_failed_locked) and the read goes on the way its kind needs.
 *
 * The poll iocb lives in a separate kaio_pollw so that a cancelled poll
 * (io_cancel completes it later, with an event of its own) can outlive its
 * request: the event of an orphaned poll only returns the pollw to its pool.
 * Poll events carry the pollw's address with the low bit set.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "uring.h"

/* What a blocking pread/pwrite (read/write where there is no offset) gives. */
long kaio_sync_io(struct kaio_req *r)
{
	void *buf = (void *)(uintptr_t)r->iocb.u.c.buf;
	size_t n = r->iocb.u.c.nbytes;
	off_t off = r->iocb.u.c.offset;
	int fd = r->iocb.aio_fildes;
	ssize_t res;

	switch (r->op) {
	case KAIO_READ:
		res = pread(fd, buf, n, off);
		if (res < 0 && errno == ESPIPE)
			res = read(fd, buf, n);
		break;
	case KAIO_WRITE: {
		sigset_t old;
		int g = r->kind == KAIO_STREAM ? kaio_sigpipe_block(&old) : -1;

		res = pwrite(fd, buf, n, off);
		if (res < 0 && errno == ESPIPE)
			res = write(fd, buf, n);
		if (g >= 0) {
			int e = errno;

			kaio_sigpipe_restore(&old, g);
			errno = e;
		}
		break;
	}
	case KAIO_FSYNC:
		res = fsync(fd);
		break;
	default:
		res = fdatasync(fd);
		break;
	}
	return res < 0 ? -errno : res;
}

static void requeue_locked(struct kaio_req *r, enum kaio_state state)
{
	r->state = state;
	kaio_list_add_tail(&eng.pending, &r->q);
}

/*
 * res bytes of r are done: the rest continues after them (at the next offset
 * for a file; a stream has no position of its own).
 */
static void advance(struct kaio_req *r, long res)
{
	struct iocb *io = &r->iocb;

	r->done += (size_t)res;
	io->u.c.buf = (char *)io->u.c.buf + res;
	io->u.c.nbytes -= (unsigned long)res;
	if (r->kind == KAIO_FILE)
		io->u.c.offset += res;
}

#define POLLFIRST_CHUNK 256

/*
 * The fd of a poll-first request (no RWF_NOWAIT) is ready: a read takes what
 * one read(2) gives. A write goes in chunks no bigger than what a ready tty
 * is sure to take, for as long as poll(2) says there is room, so that it
 * never blocks; *again: the rest waits for the next poll. Without the lock:
 * the issuing thread owns r (SYNCING) until it locks again.
 */
long kaio_pollfirst_io(struct kaio_req *r, int *again)
{
	struct iocb *io = &r->iocb;
	long res;

	*again = 0;
	if (r->op != KAIO_WRITE)
		return kaio_sync_io(r);
	for (;;) {
		struct pollfd pfd = { r->iocb.aio_fildes, POLLOUT, 0 };
		unsigned long want = io->u.c.nbytes;

		if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT))
			break;
		if (want > POLLFIRST_CHUNK)
			io->u.c.nbytes = POLLFIRST_CHUNK;
		res = kaio_sync_io(r);
		io->u.c.nbytes = want;
		if (res < 0)
			return r->done ? (long)r->done : res;
		advance(r, res);
		if (!io->u.c.nbytes)
			return (long)r->done;
	}
	*again = 1;
	return 0;
}

/*
 * While a request waits for its fd, the program may be waiting outside kaio
 * for that very I/O (a peer that needs the rest of a write before it
 * answers, a child blocked on a full pipe). So a waiting poll is owed work
 * like a note: kaio's one thread runs until it is done (notify.c).
 */
void kaio_poll_queue_locked(struct kaio_req *r)
{
	struct kaio_pollw *w = r->pw;

	if (!r->owes) {
		r->owes = 1;
		eng.owed++;
	}
	/*
	 * Kernel polls hold ring slots for as long as their fd stays idle: at
	 * most half the ring, so that files always get the other half. Fds the
	 * kernel cannot poll for us (signalfd) and polls beyond that half are
	 * checked by kaio's thread instead (kaio_unpolled_check_locked).
	 */
	if (r->unpollable || eng.polls >= eng.depth / 2) {
		r->state = KAIO_UNPOLLED;
		kaio_list_add_tail(&eng.unpolled, &r->q);
		return;
	}
	eng.polls++;
	io_prep_poll(&w->iocb, r->iocb.aio_fildes, r->op == KAIO_READ ? POLLIN : POLLOUT);
	w->iocb.data = (void *)((uintptr_t)w | 1);
	w->req = r;
	eng.st.polls++;
	requeue_locked(r, KAIO_POLLQ);
}

/*
 * A buffered read that missed the page cache (the probe's -EAGAIN, or a
 * short count) goes on io_uring, which waits for the disk without blocking
 * any thread (uring.c), where the file system lets it do that without a
 * worker thread. O_DIRECT reads stay on kernel AIO: buffered says the
 * caller saw the fd without O_DIRECT, else F_GETFL is asked here. 1 when
 * taken.
 */
int kaio_uring_take_locked(struct kaio_req *r, const struct stat *st, int buffered)
{
	struct iocb *io = &r->iocb;
	int fl;

	if (r->op != KAIO_READ || kaio_uring_get(eng.depth, eng.efd) < 0 ||
	    !kaio_uring_serves(r->fd, st))
		return 0;
	fl = buffered ? 0 : fcntl(r->fd, F_GETFL);
	if (fl < 0 || (fl & O_DIRECT) ||
	    kaio_uring_read(r, (int)io->aio_fildes, (void *)(uintptr_t)io->u.c.buf,
			    io->u.c.nbytes, io->u.c.offset) < 0)
		return 0;
	r->state = KAIO_URING;
	eng.in_uring++;
	eng.uring_queued = 1;
	return 1;
}

/*
 * A read sent to a regular file with RWF_NOWAIT stops where the page cache
 * does: 0 < res < nbytes before the end of the file. The rest goes on
 * io_uring where it serves, else again without RWF_NOWAIT, as pread would
 * read it; the counts add up. A fd that
 * is no longer a regular file (a pipe: a short read is its answer), or the
 * end of the file, ends the request with res. Returns 1 when r continues.
 */
static int probe_short_locked(struct kaio_req *r, long res)
{
	struct iocb *io = &r->iocb;
	struct stat st;

	r->probe = 0;
	io->aio_rw_flags = 0;
	if (kaio_fstat(r->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) ||
	    (S_ISREG(st.st_mode) && io->u.c.offset + res >= st.st_size))
		return 0;
	eng.st.reprobe++;
	eng.in_kernel--;
	advance(r, res);
	if (!kaio_uring_take_locked(r, &st, 0))
		requeue_locked(r, KAIO_QUEUED);
	return 1;
}

/*
 * A probing read failed (-EAGAIN, a refusal, an error): learn what the fd
 * really is and send the read again the way its kind needs (queued, or
 * behind its earlier siblings). 0 when there is nothing to retry (the fd is
 * gone, no memory): the caller reports err.
 */
int kaio_probe_failed_locked(struct kaio_req *r, long err)
{
	struct fdinfo f = { 0 };
	struct stat st;

	r->probe = 0;
	r->iocb.aio_rw_flags = 0;
	eng.st.reprobe++;
	if (kaio_fstat(r->fd, &st) < 0)
		return 0;
	kaio_fd_classify_stat(r->fd, &st, &f);
	kaio_fd_learn(r->fd, f.kind == KAIO_FILE);
	if (f.kind == KAIO_FILE) {
		if (err == -EAGAIN) {
			kaio_fd_cool(r->fd);
			if (kaio_uring_take_locked(r, &st, 0))
				return 1;
		}
		goto requeue;
	}
	kaio_debug("fd %d is no longer a regular file: served as a stream", r->fd);
	if (!r->pw && !(r->pw = kaio_pollw_get()))
		return 0;
	r->kind = KAIO_STREAM;
	r->nonblock = f.nonblock;
	r->unpollable = f.unpollable;
	r->chardev = f.chardev;
	if (f.seekless)
		r->iocb.u.c.offset = 0;
	if (!f.nonblock)
		r->iocb.aio_rw_flags = RWF_NOWAIT;
	/* Its siblings sent as probes too must keep their call order now. */
	r->wait_op = r->op;
	r->wait = kaio_count_earlier_locked(r);
	if (r->wait) {
		r->state = KAIO_BARRIER;
		kaio_list_add_tail(&eng.barriers, &r->q);
		return 1;
	}
requeue:
	r->state = KAIO_QUEUED;
	kaio_list_add_tail(&eng.pending, &r->q);
	return 1;
}

/* The event of a read or write that was in the kernel. */
void kaio_req_event_locked(struct kaio_req *r, long res)
{
	struct iocb *io = &r->iocb;

	if (r->flushw) {
		kaio_req_complete(r, kaio_req_total(r, res));
		return;
	}
	if (r->probe && res < 0) {
		eng.in_kernel--;
		if (kaio_probe_failed_locked(r, res))
			return;
		eng.in_kernel++;
	}
	if (r->probe && res > 0 && (unsigned long)res < io->u.c.nbytes &&
	    probe_short_locked(r, res))
		return;
	if (r->kind == KAIO_STREAM) {
		if (res == -EAGAIN && r->chardev == 2) {
			kaio_req_complete(r, (long)r->done);
			return;
		}
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
			advance(r, res);
			requeue_locked(r, KAIO_QUEUED);
			return;
		}
		/*
		 * A character device read with RWF_NOWAIT stops early when the
		 * reading thread has a signal pending or the scheduler wants
		 * the CPU (/dev/zero and /dev/urandom stop at a page). glibc's
		 * helper, every signal blocked and free to reschedule, gets
		 * the whole count: read on, until the device has no more now.
		 */
		if (r->op == KAIO_READ && r->chardev && res > 0 &&
		    (io->aio_rw_flags & RWF_NOWAIT) && (unsigned long)res < io->u.c.nbytes) {
			eng.in_kernel--;
			advance(r, res);
			io->u.c.offset += res;	/* a seekable device reads on */
			r->chardev = 2;	/* continuing: EAGAIN now means "no more" */
			requeue_locked(r, KAIO_QUEUED);
			return;
		}
	}
	if (r->done)
		res = res < 0 ? (long)r->done : res + (long)r->done;
	kaio_req_complete(r, res);
}

/*
 * The completion of a read on io_uring. io_uring gives a read up (-ECANCELED,
 * -EINTR, or -EFAULT: it finishes a read in the memory of the thread that
 * submitted it, and that thread has exited) : kernel AIO reads it then, as
 * it would without io_uring (a buffer that is really bad fails there too).
 */
void kaio_uring_event_locked(struct kaio_req *r, long res)
{
	if (res == -ECANCELED || res == -EINTR || res == -EAGAIN || res == -EFAULT) {
		eng.in_uring--;
		kaio_debug("io_uring gave a read up (%s): read by kernel AIO",
			   strerrorname_np((int)-res));
		requeue_locked(r, KAIO_QUEUED);
		return;
	}
	if (r->done)
		res = res < 0 ? (long)r->done : res + (long)r->done;
	kaio_req_complete(r, res);
}

/* The event of a poll: the fd is ready (or the poll failed). */
void kaio_poll_event_locked(struct kaio_pollw *w, long res)
{
	struct kaio_req *r = w->req;

	eng.in_kernel--;
	eng.polls--;
	if (!r) {
		kaio_pollw_put(w);	/* cancelled: its request is long done */
		return;
	}
	r->owes = 0;
	eng.owed--;
	r->state = KAIO_QUEUED;
	if (res < 0)
		kaio_req_complete(r, res);
	else if (r->pollfirst)
		kaio_sync_queue_locked(r);
	else
		requeue_locked(r, KAIO_QUEUED);
}

/*
 * io_submit refused r at once (r is off every queue: refused_locked in
 * submit.c took it off). A stream fd that refuses RWF_NOWAIT or kernel
 * AIO is polled first; a poll it refuses means the fd has no poll and is
 * always ready: do the I/O now. Returns 1 when r was handled here.
 */
int kaio_stream_refused_locked(struct kaio_req *r, int err)
{
	if (r->kind != KAIO_STREAM || (err != -EINVAL && err != -EOPNOTSUPP))
		return 0;
	if (r->state == KAIO_POLLQ) {
		/* ttys, O_RDWR FIFOs: the kernel cannot poll them while idle. */
		eng.polls--;
		r->unpollable = 1;
		kaio_debug("fd %d cannot be polled by the kernel (%s): checked every %d ms",
			   r->fd, strerrorname_np(-err), UNPOLLED_MS);
		kaio_poll_queue_locked(r);
		return 1;
	}
	if (r->nonblock || r->op > KAIO_WRITE) {
		eng.st.sync_fallback++;
		kaio_sync_queue_locked(r);
		return 1;
	}
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
		eng.polls--;
		kaio_pollw_put(w);
	}
}

/*
 * kaio's thread, every UNPOLLED_MS: requests whose fd the kernel does not
 * poll for us get a poll(2) with no timeout each, and go on when ready.
 */
void kaio_unpolled_check_locked(void)
{
	struct kaio_list *p, *t;

	kaio_list_each_safe(p, t, &eng.unpolled) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, q);
		struct pollfd pfd = { r->iocb.aio_fildes, r->op == KAIO_READ ? POLLIN : POLLOUT, 0 };

		if (poll(&pfd, 1, 0) == 0)
			continue;
		kaio_list_del(&r->q);
		r->state = KAIO_QUEUED;
		if (r->pollfirst)
			kaio_sync_queue_locked(r);
		else
			requeue_locked(r, KAIO_QUEUED);
	}
}

/*
 * A write to a pipe or socket whose reader is gone raises SIGPIPE in the
 * thread that writes: with glibc that is a helper thread with every signal
 * blocked, so the program only sees EPIPE. kaio writes in the caller's
 * thread: block SIGPIPE around it and take back a SIGPIPE it raised.
 */
int kaio_sigpipe_block(sigset_t *old)
{
	sigset_t pipe;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe, old) || sigismember(old, SIGPIPE))
		return 0;
	sigpending(&pipe);
	return !sigismember(&pipe, SIGPIPE);
}

void kaio_sigpipe_restore(const sigset_t *old, int guarded)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe;

	if (guarded) {
		sigemptyset(&pipe);
		sigaddset(&pipe, SIGPIPE);
		sigtimedwait(&pipe, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, old, NULL);
}
