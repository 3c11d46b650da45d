/*
 * Issuing: moving queued requests into the kernel (io_submit) or through a
 * plain syscall (pread, pwrite, fsync, a ready stream), never with the lock
 * held. For a buffered file the kernel does the whole copy inside io_submit,
 * and on a page-cache miss that means waiting for the disk: under the lock,
 * every other thread's aio_* call would wait behind it.
 *
 * So, under the lock, a thread takes a batch off eng.syncq and eng.pending
 * (in call order, as far as the ring has room), marks each request SUBMITTED
 * (or SYNCING) with the batch as its issuer and reserves its ring slot in
 * eng.in_kernel; unlocks; issues; locks again and settles what the kernel
 * refused. Meanwhile the kernel's events for the accepted requests may
 * already be reaped by others: after io_submit the batch never touches an
 * accepted request, except to clear its issuer when it is still the batch's.
 * Refused requests are the batch's alone (no event comes for them, and
 * cancel answers AIO_NOTCANCELED for a SUBMITTED request without touching it,
 * or waits for a stream one): they go back to the head of eng.pending in
 * their order, the first one through kaio_refused_locked.
 *
 * Several threads may be inside io_submit at once. Requests on different fds
 * need no order between them; stream requests and fsyncs wait for their
 * predecessors as barriers (engine.c). Appending writes must enter the kernel
 * in call order: a write on a fd another batch is issuing a write on waits
 * for that batch if the fd is O_APPEND (asked with fcntl only then).
 *
 * A submitting call whose batch is only reads of regular files, with
 * nothing left queued, does not lock again when the kernel takes the whole
 * batch (kaio_pending_submit_or_unlock): nothing needs settling then, and a
 * file read's issuer is never asked for (only writes and streams wait for
 * one), so it is not set. Two threads reading cached data then wait for
 * each other's lock once per request instead of twice.
 *
 * Reads that kernel AIO would block on wait on io_uring (stream.c): their
 * SQEs are made visible to the kernel under the lock and sent with
 * io_uring_enter without it, with the batch.
 *
 * Lock: eng.lock held on entry and on return, dropped while issuing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "engine.h"
#include "uring.h"

#define BATCH_MAX 64

struct batch {
	struct kaio_req *r[BATCH_MAX];
	struct iocb *io[BATCH_MAX];
	struct kaio_req *sync[BATCH_MAX];
	int n, nsync, writes, pipes;
};

/* Would w, a write, overtake an appending write that another batch issues? */
static int append_waits_locked(struct kaio_req *w, const struct batch *b)
{
	struct kaio_list *p;

	if (w->op != KAIO_WRITE || !eng.wissuing)
		return 0;
	for (p = eng.live.next; p != &eng.live; p = p->next) {
		struct kaio_req *o = kaio_container_of(p, struct kaio_req, live);

		if (o->issuer && o->issuer != b && o->op == KAIO_WRITE && o->fd == w->fd)
			break;
	}
	if (p == &eng.live)
		return 0;
	if (w->append < 0) {
		int fl = fcntl(w->fd, F_GETFL);

		w->append = fl >= 0 && (fl & O_APPEND);
	}
	return w->append;
}

static void take_sync_locked(struct batch *b, struct kaio_req *r)
{
	kaio_list_del(&r->q);
	r->state = KAIO_SYNCING;
	r->issuer = b;
	b->writes += r->op == KAIO_WRITE;
	b->sync[b->nsync++] = r;
}

/*
 * Fills b: requests that need a plain syscall first, then iocbs in queue
 * order while the ring has room. Without a context every request is served
 * by a syscall (KAIO_FALLBACK=sync).
 */
static void take_locked(struct batch *b)
{
	struct kaio_list *p, *t;

	b->n = b->nsync = b->writes = b->pipes = 0;
	kaio_list_each_safe(p, t, &eng.syncq) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, q);

		if (b->nsync == BATCH_MAX)
			return;
		if (!append_waits_locked(r, b))
			take_sync_locked(b, r);
	}
	kaio_list_each_safe(p, t, &eng.pending) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, q);
		struct iocb *io;

		if (!eng.ctx) {
			if (b->nsync == BATCH_MAX)
				return;
			if (!append_waits_locked(r, b)) {
				eng.st.sync_mode++;
				take_sync_locked(b, r);
			}
			continue;
		}
		if (b->n == BATCH_MAX || eng.in_kernel >= eng.depth)
			return;
		if (append_waits_locked(r, b))
			continue;
		b->pipes |= r->kind == KAIO_STREAM && r->op == KAIO_WRITE &&
			    r->state == KAIO_QUEUED;
		io = r->state == KAIO_POLLQ ? &r->pw->iocb : &r->iocb;
		if (eng.efd >= 0)
			io_set_eventfd(io, eng.efd);
		else
			io->u.c.flags &= ~(1u << 0);	/* IOCB_FLAG_RESFD */
		kaio_list_del(&r->q);
		r->state = r->state == KAIO_POLLQ ? KAIO_POLLING : KAIO_SUBMITTED;
		r->issuer = b;
		b->writes += r->op == KAIO_WRITE;
		b->r[b->n] = r;
		b->io[b->n++] = io;
		eng.in_kernel++;
		if (eng.in_kernel > eng.st.peak_inflight)
			eng.st.peak_inflight = eng.in_kernel;
	}
}

/* Refused requests r[from..n) go back to the head of the queue, in order. */
static void requeue_locked(struct batch *b, int from)
{
	for (int i = b->n - 1; i >= from; i--) {
		struct kaio_req *r = b->r[i];

		r->issuer = NULL;
		r->state = r->state == KAIO_POLLING ? KAIO_POLLQ : KAIO_QUEUED;
		kaio_list_add(&eng.pending, &r->q);
	}
	eng.in_kernel -= (unsigned)(b->n - from);
}

/*
 * io_submit took k of the batch (k < 0: none, k is its error). Returns 1
 * when the queue is worth another look now, 0 when the ring is full.
 */
static int settle_locked(struct batch *b, int k)
{
	int err = k < 0 ? k : 0;
	struct kaio_req *first;

	if (k < 0)
		k = 0;
	for (int i = 0; i < k; i++)
		if (b->r[i]->issuer == b)
			b->r[i]->issuer = NULL;
	eng.st.kernel += (unsigned)k;
	if (k == b->n)
		return 1;
	first = b->r[k];
	requeue_locked(b, k);
	if (k > 0)
		return 1;	/* a short batch: the rest goes in again */
	if (err == -EAGAIN && eng.in_kernel)
		return 0;	/* ring full: retried as events free slots */
	if ((err == -EBADF || err == -EINVAL) && eng.efd >= 0 && !kaio_efd_ours())
		return 1;	/* our eventfd is gone: again without it */
	kaio_refused_locked(first, err);
	return 1;
}

static long sync_run(struct kaio_req *r, int *again)
{
	*again = 0;
	return r->pollfirst ? kaio_pollfirst_io(r, again) : kaio_sync_io(r);
}

/*
 * May the batch go in without a second look (see the top of this file)? No
 * event comes for a request io_submit refused, so only refusal needs
 * settling; cancel answers AIO_NOTCANCELED for a SUBMITTED file read with
 * or without its issuer. Requests with a notification keep the second
 * look: what completed inside io_submit is reaped and its note raised
 * before the call returns.
 */
static int quick_locked(const struct batch *b)
{
	if (!b->n || b->nsync || b->writes || !kaio_list_empty(&eng.pending) ||
	    !kaio_list_empty(&eng.syncq))
		return 0;
	for (int i = 0; i < b->n; i++) {
		const struct kaio_req *r = b->r[i];

		/* A note is raised by the submitting call when it can (DESIGN.md). */
		if (r->kind != KAIO_FILE || r->state != KAIO_SUBMITTED || r->notify || r->lio)
			return 0;
	}
	return 1;
}

/* 1: the batch went in whole and the lock is dropped; 0: locked, k is io_submit's. */
static int quick_send(struct batch *b, int *k)
{
	for (int i = 0; i < b->n; i++)
		b->r[i]->issuer = NULL;
	eng.st.io_submit++;
	eng.st.kernel += (unsigned)b->n;
	kaio_thread_ensure_locked();
	kaio_unlock();
	*k = io_submit(eng.ctx, b->n, b->io);
	if (*k == b->n)
		return 1;
	kaio_lock();
	eng.st.kernel -= (unsigned)b->n;	/* settle_locked counts what went in */
	return 0;
}

static int issue_locked(int may_unlock)
{
	struct batch b;
	long res[BATCH_MAX];
	int again[BATCH_MAX];

	for (;;) {
		int k = 0, more = 1, guard = 0, nsync, ku = 0;
		unsigned nu = 0;
		sigset_t old;

		/* Reads that went to io_uring (stream.c) are sent with the rest. */
		if (eng.uring_queued) {
			eng.uring_queued = 0;
			nu = kaio_uring_flush();
		}
		if (!nu && kaio_list_empty(&eng.pending) && kaio_list_empty(&eng.syncq))
			return 0;
		take_locked(&b);
		nsync = b.nsync;	/* b escapes as the issuer: keep a copy */
		if (!b.n && !nsync && !nu)
			return 0;
		if (may_unlock && !nu && quick_locked(&b)) {
			if (quick_send(&b, &k))
				return k;
			more = settle_locked(&b, k);
			if (!more && kaio_list_empty(&eng.syncq))
				return 0;
			continue;
		}
		eng.wissuing += (unsigned)b.writes;
		eng.issuing++;
		kaio_unlock();
		if (nu)
			ku = kaio_uring_enter(nu);
		/* Requests on syncq came before those on pending: first. */
		for (int i = 0; i < nsync; i++)
			res[i] = sync_run(b.sync[i], &again[i]);
		if (b.n) {
			if (b.pipes)
				guard = kaio_sigpipe_block(&old);
			k = io_submit(eng.ctx, b.n, b.io);
			if (b.pipes)
				kaio_sigpipe_restore(&old, guard);
		}
		kaio_lock();
		eng.issuing--;
		eng.wissuing -= (unsigned)b.writes;
		if (nu && kaio_uring_entered(nu, ku) < 0) {
			eng.uring_queued = 1;	/* again on the next look, not now */
			more = 0;
		}
		if (b.n) {
			eng.st.io_submit++;
			more = settle_locked(&b, k);
		}
		for (int i = 0; i < nsync; i++) {
			struct kaio_req *r = b.sync[i];

			r->issuer = NULL;
			if (again[i]) {
				r->state = KAIO_QUEUED;
				kaio_poll_queue_locked(r);
			} else {
				/* kaio_pollfirst_io counts what it did before. */
				kaio_req_complete(r, r->pollfirst ? res[i] : kaio_req_total(r, res[i]));
			}
		}
		/* aio_cancel waits for stream requests being issued (cancel.c). */
		if (eng.cancel_waits)
			kaio_waiters_wake();
		if (!more && kaio_list_empty(&eng.syncq))
			return 0;
		if (!b.n && !nsync)
			return 0;	/* only io_uring's reads were sent */
	}
}

void kaio_pending_submit(void)
{
	issue_locked(0);
}

/* The batch's size when it went in whole and the lock is dropped, else 0. */
int kaio_pending_submit_or_unlock(void)
{
	return issue_locked(1);
}

/* io_submit refused r at once with err (never EAGAIN with room in the ring). */
void kaio_refused_locked(struct kaio_req *r, int err)
{
	kaio_list_del(&r->q);
	if (r->probe && kaio_probe_failed_locked(r, err))
		return;
	if (kaio_stream_refused_locked(r, err))
		return;
	if (r->kind == KAIO_STREAM && err == -EAGAIN) {
		/* No kernel resources even for one request: never block here. */
		r->unpollable = 1;
		kaio_poll_queue_locked(r);
		return;
	}
	/*
	 * A regular file the kernel refuses (no read_iter: some /proc files)
	 * although kaio checked what it could, or EAGAIN with nothing in the
	 * kernel to wait for: serve it with pread/pwrite, in this thread.
	 */
	if (err == -EINVAL || err == -EAGAIN || err == 0) {
		kaio_debug("io_submit: %s on fd %d: served synchronously",
			   strerrorname_np(err ? -err : EAGAIN), r->fd);
		eng.st.sync_fallback++;
		kaio_sync_queue_locked(r);
	} else {
		kaio_req_complete(r, kaio_req_total(r, err));
	}
}
