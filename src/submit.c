/*
 * Submitting: deciding whether kaio serves a request, turning it into an
 * iocb, and moving queued requests into the kernel in call order. Only these
 * paths allocate (request pool, table), so they also drop finished requests
 * from the table.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

#define POOL_CHUNK 64

static struct kaio_req *req_get_locked(void)
{
	struct kaio_req *r;

	if (kaio_list_empty(&eng.free)) {
		struct kaio_req *chunk = calloc(POOL_CHUNK, sizeof *chunk);

		if (!chunk)
			return NULL;
		for (int i = 0; i < POOL_CHUNK; i++)
			kaio_list_add_tail(&eng.free, &chunk[i].q);
	}
	r = kaio_container_of(eng.free.next, struct kaio_req, q);
	kaio_list_del(&r->q);
	kaio_list_init(&r->live);
	return r;
}

/* Drops finished requests from the table. Allocating paths only. */
static void collect_locked(void)
{
	struct kaio_list *p, *t;

	kaio_list_each_safe(p, t, &eng.done) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, q);

		kaio_table_remove(eng.table, r->cb, r);
		kaio_list_del(p);
		kaio_list_add_tail(&eng.free, p);
	}
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

	eng.st.sync_fallback++;
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
void kaio_pending_submit(void)
{
	while (!kaio_list_empty(&eng.pending) && eng.in_kernel < eng.depth) {
		struct kaio_list *p = eng.pending.next;
		struct kaio_req *r;
		int n = 0, k;

		for (; p != &eng.pending && eng.in_kernel + n < eng.depth; p = p->next)
			eng.batch[n++] = &kaio_container_of(p, struct kaio_req, q)->iocb;
		eng.st.io_submit++;
		k = io_submit(eng.ctx, n, eng.batch);
		for (int i = 0; i < k; i++) {
			r = kaio_container_of(eng.batch[i], struct kaio_req, iocb);
			r->state = KAIO_SUBMITTED;
			kaio_list_del(&r->q);
		}
		if (k > 0) {
			eng.in_kernel += k;
			eng.st.kernel += k;
			if (eng.in_kernel > eng.st.peak_inflight)
				eng.st.peak_inflight = eng.in_kernel;
			continue;
		}
		/* io_submit refused the first request: k is its error. */
		r = kaio_container_of(eng.batch[0], struct kaio_req, iocb);
		if (k == -EAGAIN && eng.in_kernel)
			break;	/* ring full: retried as events free slots */
		if (k == -EAGAIN || k == -EINVAL || k == 0) {
			kaio_debug("io_submit: %s on fd %d: served synchronously",
				   strerrorname_np(k ? -k : EAGAIN), r->fd);
			kaio_req_complete(r, sync_fallback(r));
		} else {
			kaio_req_complete(r, k);
		}
	}
}

/*
 * Decides whether kaio serves cb: 0 yes, -EOPNOTSUPP no (not a regular file
 * or block device). *err gets an error to report through cb's result instead
 * of submitting (bad fd, negative offset), as glibc reports those later
 * rather than at once.
 */
static int classify(const struct aiocb *cb, enum kaio_op op, int *err)
{
	struct stat st;

	*err = 0;
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

	for (p = eng.live.next; p != &eng.live; p = p->next) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, live);

		n += r->fd == fd && r->op == KAIO_WRITE;
	}
	return n;
}

/* Submitting an aiocb whose request is still in flight is misuse: EINVAL. */
static int in_flight_locked(const struct aiocb *cb)
{
	if (kaio_tag_get(cb) != TAG_BUSY || !kaio_table_lookup(eng.table, cb))
		return 0;
	kaio_debug("aiocb %p submitted again while in flight: EINVAL", (void *)cb);
	return 1;
}

static int foreign_in_flight(const struct aiocb *cb)
{
	if (kaio_tag_get(cb) != TAG_FOREIGN ||
	    __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS)
		return 0;
	kaio_debug("aiocb %p submitted again while glibc runs it: EINVAL", (void *)cb);
	return 1;
}

/*
 * Makes cb a new request, queued, or done at once with err (a deferred error
 * still completes like a request: its notification fires). -EINVAL: cb is
 * still in flight; -EAGAIN: no memory, or no notifier thread.
 */
static int enqueue_locked(struct aiocb *cb, enum kaio_op op, int err,
			  struct kaio_lio *lio)
{
	struct kaio_req *r;

	if (in_flight_locked(cb))
		return -EINVAL;
	r = req_get_locked();
	if (!r)
		return -EAGAIN;
	if (kaio_notify_prepare_locked(r, &cb->aio_sigevent, lio) < 0) {
		kaio_list_add_tail(&eng.free, &r->q);
		return -EAGAIN;
	}
	/* A finished request may still be mapped (its note not yet delivered). */
	kaio_table_put(eng.table, cb, r);
	r->cb = cb;
	r->fd = cb->aio_fildes;
	r->op = (unsigned char)op;
	r->seq = ++eng.seq;
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
	kaio_tag_set(cb, TAG_BUSY);
	__atomic_store_n(&cb->__error_code, EINPROGRESS, __ATOMIC_RELEASE);
	kaio_list_add_tail(&eng.live, &r->live);
	eng.nlive++;
	r->state = KAIO_QUEUED;
	if (err) {
		kaio_req_complete(r, -err);
		return 0;
	}
	r->wait = op == KAIO_FSYNC || op == KAIO_FDSYNC ? writes_before_locked(r->fd) : 0;
	if (r->wait) {
		r->state = KAIO_BARRIER;
		kaio_list_add_tail(&eng.barriers, &r->q);
	} else {
		kaio_list_add_tail(&eng.pending, &r->q);
	}
	return 0;
}

/* Lock and make sure the context exists: 0, or -EOPNOTSUPP unlocked. */
static int lock_ctx(void)
{
	kaio_engine_enter();
	if (kaio_ctx_get() < 0) {
		kaio_unlock();
		return -EOPNOTSUPP;
	}
	collect_locked();
	return 0;
}

static void submit_and_unlock(void)
{
	if (!kaio_list_empty(&eng.pending)) {
		if (eng.in_kernel >= eng.depth && !eng.reaper)
			kaio_events_reap();
		kaio_pending_submit();
		if (!kaio_list_empty(&eng.pending))
			eng.st.queued++;
	}
	kaio_unlock();
}

int kaio_submit(struct aiocb *cb, enum kaio_op op)
{
	int err, r;

	if (foreign_in_flight(cb))
		return -EINVAL;
	if (classify(cb, op, &err) < 0 || lock_ctx() < 0)
		return -EOPNOTSUPP;
	r = enqueue_locked(cb, op, err, NULL);
	submit_and_unlock();
	return r;
}

static int listed(const struct aiocb *cb)
{
	return cb && cb->aio_lio_opcode != LIO_NOP;
}

int kaio_listio(int mode, struct aiocb *const list[], int nent,
		const struct sigevent *sev)
{
	struct kaio_lio *lio = NULL;
	int *errs, enq_err = 0, queued = 0, r = 0;

	if (nent <= 0)
		return 0;
	errs = calloc((size_t)nent, sizeof *errs);
	if (!errs)
		return -EAGAIN;
	for (int i = 0; i < nent; i++) {
		struct aiocb *cb = list[i];

		if (!listed(cb))
			continue;
		if (foreign_in_flight(cb)) {
			r = -EINVAL;
			goto out;
		}
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
		if (listed(list[i]) && in_flight_locked(list[i])) {
			kaio_unlock();
			r = -EINVAL;
			goto out;
		}
	}
	if (mode == LIO_NOWAIT && sev && !kaio_sigev_silent(sev)) {
		lio = calloc(1, sizeof *lio);
		if (!lio || kaio_notify_owe_locked(sev) < 0) {
			kaio_unlock();
			free(lio);
			r = -EAGAIN;
			goto out;
		}
		lio->sev = *sev;	/* the list's own note, owed from now on */
	}
	/*
	 * As glibc: an entry that cannot be queued (bad aio_reqprio) fails at
	 * once with its errno, which lio_listio returns unless some other entry
	 * was queued and LIO_WAIT waited for it; then any failure is EIO.
	 */
	for (int i = 0; i < nent; i++) {
		struct aiocb *cb = list[i];

		if (!listed(cb))
			continue;
		if (cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX) {
			kaio_result_set(cb, -EINVAL);
			enq_err = EINVAL;
			continue;
		}
		r = enqueue_locked(cb, cb->aio_lio_opcode == LIO_READ ? KAIO_READ : KAIO_WRITE,
				   errs[i], lio);
		if (r < 0)
			enq_err = -r;
		else
			queued++;
	}
	if (lio && !lio->remaining)
		kaio_lio_queue_locked(lio);
	submit_and_unlock();
	r = enq_err ? -enq_err : 0;
	if (mode == LIO_WAIT && queued) {
		r = kaio_wait((const struct aiocb *const *)list, nent, 1, NULL);
		if (r < 0)
			goto out;
		for (int i = 0; i < nent; i++)
			if (listed(list[i]) && list[i]->__error_code)
				enq_err = EIO;
		r = enq_err ? -EIO : 0;
	}
out:
	free(errs);
	return r;
}
