/*
 * Submitting (aio_read, aio_write, aio_fsync, lio_listio): deciding whether
 * kaio serves a request, turning it into an iocb and queueing it in call
 * order; issue.c takes it from there. Only these paths allocate (request
 * pool, table), so they also drop finished requests from the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "inline.h"
#include "uring.h"

/*
 * The request pool grows by chunks, each as big as the pool was (64 first):
 * few chunks, so that pooled() can tell a request's address from garbage.
 */
#define POOL_FIRST 64
#define POOL_CHUNKS 32

static struct {
	struct kaio_req *base[POOL_CHUNKS];
	unsigned n[POOL_CHUNKS], chunks, total;
} pool;

static struct kaio_req *req_get_locked(void)
{
	struct kaio_req *r;

	if (kaio_list_empty(&eng.free)) {
		unsigned n = pool.total ? pool.total : POOL_FIRST;
		struct kaio_req *chunk;

		if (pool.chunks == POOL_CHUNKS || !(chunk = calloc(n, sizeof *chunk)))
			return NULL;
		pool.base[pool.chunks] = chunk;
		pool.n[pool.chunks++] = n;
		pool.total += n;
		for (unsigned i = 0; i < n; i++)
			kaio_list_add_tail(&eng.free, &chunk[i].q);
	}
	r = kaio_container_of(eng.free.next, struct kaio_req, q);
	kaio_list_del(&r->q);
	kaio_list_init(&r->live);
	r->state = KAIO_DONE;	/* not mapped, not in flight */
	r->mapped = 0;
	return r;
}

/*
 * The note of a SIGEV_THREAD request the hit path serves (inline.c): a
 * request that carries only the sigevent (cb NULL: never mapped, nothing
 * for aio_error, aio_cancel or a resubmission of the aiocb to find), DONE
 * from the start. Reserved before the I/O, with kaio's thread started and
 * the note owed, so that a thread that cannot be started (or no memory)
 * leaves the request to the engine with nothing done yet; posted once the
 * result is in the aiocb, behind the notes queued before it; given back
 * when the hit path leaves the request to the engine after all.
 */
struct kaio_req *kaio_note_reserve(const struct sigevent *sev)
{
	struct kaio_req *r = NULL;

	kaio_engine_enter();
	if (kaio_notify_owe_locked(sev) < 0)
		goto out;
	if (!(r = req_get_locked())) {
		eng.owed--;
		goto out;
	}
	r->cb = NULL;
	r->op = KAIO_READ;
	r->seq = 0;
	r->lio = NULL;
	r->notify = 1;
	r->sev = *sev;
out:
	kaio_unlock();
	return r;
}

void kaio_note_post(struct kaio_req *r)
{
	kaio_lock();
	/* What the kernel finished before it is announced before it. */
	if ((eng.ctx && kaio_ring_ready(eng.ctx)) || (eng.in_uring && kaio_uring_ready()))
		kaio_events_reap();
	kaio_notify_queue_locked(r);
	kaio_unlock_wake();
}

void kaio_note_drop(struct kaio_req *r)
{
	kaio_lock();
	eng.owed--;
	kaio_list_add_tail(&eng.free, &r->q);
	kaio_unlock();
}

/* Is p the address of a request in the pool? (p is never dereferenced.) */
static int pooled(const void *p)
{
	for (unsigned i = 0; i < pool.chunks; i++) {
		uintptr_t off = (uintptr_t)p - (uintptr_t)pool.base[i];

		if (off < pool.n[i] * sizeof(struct kaio_req))
			return off % sizeof(struct kaio_req) == 0;
	}
	return 0;
}

/*
 * A finished request stays mapped to its aiocb, idle, so that the aiocb's
 * next submission (programs reuse their aiocbs) takes it back with one
 * lookup. Inserting and removing per request instead leaves tombstones in
 * the GHashTable and makes it realloc every few requests (measured: 96k
 * reallocs in 2 s of fio at QD 32). Idle requests beyond IDLE_MIN, or twice
 * the peak in flight, are unmapped, oldest first, so memory stays bounded.
 */
#define IDLE_MIN 256

static void collect_locked(void)
{
	unsigned max = eng.st.peak_inflight * 2 > IDLE_MIN ? eng.st.peak_inflight * 2 : IDLE_MIN;
	struct kaio_list *p, *t;

	kaio_list_each_safe(p, t, &eng.done) {
		struct kaio_req *r = kaio_container_of(p, struct kaio_req, q);

		kaio_list_del(p);
		if (r->mapped) {
			r->state = KAIO_IDLE;
			kaio_list_add_tail(&eng.idle, p);
			eng.nidle++;
		} else {
			/* Replaced by a newer request, or given up: never left mapped. */
			kaio_table_remove(eng.table, r->cb, r);
			kaio_list_add_tail(&eng.free, p);
		}
	}
	while (eng.nidle > max) {
		struct kaio_req *r = kaio_container_of(eng.idle.next, struct kaio_req, q);

		kaio_table_remove(eng.table, r->cb, r);
		r->mapped = 0;
		kaio_list_del(&r->q);
		kaio_list_add_tail(&eng.free, &r->q);
		eng.nidle--;
	}
}

/*
 * The request mapped to cb: NULL, or an idle one to reuse, or -EINVAL in
 * *err when cb is still in flight (submitting it again is misuse).
 */
static struct kaio_req *mapped_locked(const struct aiocb *cb, int *err)
{
	struct kaio_req *r = kaio_hint_get(cb);

	/* The hint saves the lookup when it names cb's request; else the table. */
	if (!pooled(r) || !r->mapped || r->cb != cb)
		r = kaio_table_lookup(eng.table, cb);

	*err = 0;
	if (r && r->state < KAIO_DONE) {
		kaio_debug("aiocb %p submitted again while in flight: EINVAL", (void *)cb);
		*err = -EINVAL;
	}
	if (r && r->state != KAIO_IDLE) {
		r->mapped = 0;	/* finished, note pending: a new request takes cb */
		r = NULL;
	}
	return r;
}

static int foreign_in_flight(const struct aiocb *cb)
{
	if (!kaio_is_foreign(cb) ||
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
static int enqueue_locked(struct aiocb *cb, enum kaio_op op, const struct fdinfo *f,
			  struct kaio_lio *lio, size_t done)
{
	struct kaio_req *r;
	int io_fd, err;

	r = mapped_locked(cb, &err);
	if (err)
		return err;
	if (r) {
		kaio_list_del(&r->q);
		eng.nidle--;
	} else if (!(r = req_get_locked())) {
		return -EAGAIN;
	}
	r->pw = NULL;
	if ((f->kind == KAIO_STREAM && !(r->pw = kaio_pollw_get())) ||
	    kaio_notify_prepare_locked(r, &cb->aio_sigevent, lio) < 0) {
		if (r->pw)
			kaio_pollw_put(r->pw);
		if (r->state == KAIO_IDLE) {
			kaio_list_add_tail(&eng.idle, &r->q);
			eng.nidle++;
		} else {
			kaio_list_add_tail(&eng.free, &r->q);
		}
		return -EAGAIN;
	}
	/* New, or replacing a finished one whose note is not delivered yet. */
	if (r->state != KAIO_IDLE) {
		kaio_table_put(eng.table, cb, r);
		r->mapped = 1;
	}
	r->cb = cb;
	kaio_hint_set(cb, r);
	r->fd = cb->aio_fildes;
	/* A stream request keeps its own fd (stream.c); a file one needs none. */
	r->iofd = f->kind == KAIO_STREAM && !f->err ?
		fcntl(r->fd, F_DUPFD_CLOEXEC, KAIO_FD_MIN) : -1;
	io_fd = r->iofd >= 0 ? r->iofd : r->fd;
	r->op = (unsigned char)op;
	r->seq = ++eng.seq;
	r->kind = f->kind;
	r->nonblock = f->nonblock;
	r->pollfirst = 0;
	r->probe = f->probe;
	r->unpollable = f->unpollable;
	r->chardev = f->chardev;
	r->append = -1;
	r->issuer = NULL;
	r->done = 0;
	switch (op) {
	case KAIO_READ:
		io_prep_pread(&r->iocb, io_fd, (void *)cb->aio_buf, cb->aio_nbytes,
			      f->seekless ? 0 : cb->aio_offset);
		break;
	case KAIO_WRITE:
		io_prep_pwrite(&r->iocb, io_fd, (void *)cb->aio_buf, cb->aio_nbytes,
			       f->seekless ? 0 : cb->aio_offset);
		break;
	case KAIO_FSYNC:
		io_prep_fsync(&r->iocb, io_fd);
		break;
	case KAIO_FDSYNC:
		io_prep_fdsync(&r->iocb, io_fd);
		break;
	}
	if ((f->kind == KAIO_STREAM && !f->nonblock && op <= KAIO_WRITE) || f->probe)
		r->iocb.aio_rw_flags = RWF_NOWAIT;
	r->flushw = f->flushed;
	/* The rest of a read the hit path began (inline.c). */
	if (done && f->flushed) {
		r->done = done;
		eng.st.syncw++;
	} else if (done) {
		r->done = done;
		r->iocb.u.c.buf = (char *)r->iocb.u.c.buf + done;
		r->iocb.u.c.nbytes -= done;
		r->iocb.u.c.offset += (long long)done;
	}
	r->iocb.data = r;
	/* In progress before busy: a concurrent aio_error never sees a stale code. */
	cb->__return_value = 0;
	__atomic_store_n(&cb->__error_code, EINPROGRESS, __ATOMIC_RELEASE);
	kaio_tag_set(cb, TAG_BUSY);
	r->state = KAIO_QUEUED;
	r->wait_op = op <= KAIO_WRITE ? op : KAIO_WRITE;
	/* A sync write's flush waits for nothing: its fd had nothing queued. */
	r->wait = (f->kind == KAIO_STREAM || op > KAIO_WRITE) && !f->flushed ?
		  kaio_count_earlier_locked(r) : 0;
	kaio_list_add_tail(&eng.live, &r->live);
	/* A sync write's data is in: later requests may pass its flush. */
	if (!r->flushw)
		kaio_inline_hold(r->fd, 1);
	eng.nlive++;
	if (f->err) {
		kaio_req_complete(r, kaio_req_total(r, -f->err));
	} else if (f->cold && kaio_uring_take_locked(r, &f->st, 1)) {
		/* Its probes miss the page cache: on io_uring already. */
	} else if (r->wait) {
		r->state = KAIO_BARRIER;
		kaio_list_add_tail(&eng.barriers, &r->q);
	} else {
		kaio_list_add_tail(&eng.pending, &r->q);
	}
	return 0;
}

/*
 * Locks, with the kernel context made on first use. Without kernel AIO,
 * KAIO_FALLBACK decides: sync (locked, no context: requests are served in
 * the caller), glibc (-EOPNOTSUPP, unlocked) or error (-EAGAIN, unlocked).
 */
static int lock_ctx(void)
{
	kaio_engine_enter();
	if (kaio_ctx_get() < 0 && kaio_config.fallback != KAIO_FALLBACK_SYNC) {
		kaio_unlock();
		return kaio_config.fallback == KAIO_FALLBACK_GLIBC ? -EOPNOTSUPP : -EAGAIN;
	}
	collect_locked();
	return 0;
}

/*
 * Issues what is queued and unlocks; what finished inside the call, of the
 * requests it queued (sequence numbers first to the last one), announces
 * itself before the call returns (notify.c). signals: some of them have a
 * signal to raise: kaio's thread leaves theirs to this call until then.
 */
static void submit_and_unlock(unsigned long first, int signals)
{
	unsigned long last = eng.seq;
	struct kaio_call call;
	int n;

	if (signals)
		kaio_call_open_locked(&call, first, last);

	if (!kaio_list_empty(&eng.pending) || eng.uring_queued) {
		if (eng.in_kernel >= eng.depth)
			kaio_events_reap();
		/*
		 * Sent without a second wait for the lock. What completed
		 * inside io_submit is left in the ring for the next call that
		 * looks (aio_error, aio_suspend, a lock holder), which reaps
		 * it in a batch: taking the lock again for each request made
		 * the threads of a cached-read workload queue on it. Except a
		 * failed read (a probe's EAGAIN, to go on to io_uring now, so
		 * that the disk starts while the program does other work):
		 * the batch's events are the newest, unless others came since,
		 * a few more are looked at.
		 */
		if ((n = kaio_pending_submit_or_unlock())) {
			if (kaio_ring_failed(eng.ctx, n + 4))
				kaio_poll();
			if (signals) {	/* others sent this call's requests */
				kaio_lock();
				kaio_call_close_locked(&call);
				kaio_unlock();
			}
			return;
		}
		if (!kaio_list_empty(&eng.pending))
			eng.st.queued++;
	}
	/*
	 * What completed inside io_submit is handled now, while the lock is
	 * held anyway: a stream request that must wait for its fd gets its
	 * poll, and kaio's thread if it is not running.
	 */
	if ((eng.ctx && kaio_ring_ready(eng.ctx)) || (eng.in_uring && kaio_uring_ready()))
		kaio_events_reap();
	kaio_notes_here_and_unlock(first, last, signals ? &call : NULL);
}

/*
 * The hit path first (inline.c), unless glibc serves some request (its
 * queues are out of sight) or, with KAIO_FALLBACK=error, kernel AIO failed.
 */
static int inline_done(struct aiocb *cb, enum kaio_op op, size_t *done)
{
	*done = 0;
	kaio_engine_init();
	if (!kaio_config.inline_io || op > KAIO_WRITE || kaio_foreign_used() ||
	    (kaio_config.fallback == KAIO_FALLBACK_ERROR &&
	     __atomic_load_n(&eng.ctx_err, __ATOMIC_RELAXED)))
		return 0;
	return kaio_inline_submit(cb, op, done);
}

/*
 * The rest of a read the hit path began: a file's probes the cache, a
 * device's reads on while the device has more (as stream.c goes on after
 * a short RWF_NOWAIT read).
 */
static void rest_classify(int fd, struct fdinfo *f)
{
	struct stat st;

	memset(f, 0, sizeof *f);
	if (kaio_fstat(fd, &st) < 0) {
		f->err = errno;
		return;
	}
	kaio_fd_classify_stat(fd, &st, f);
	f->probe = f->kind == KAIO_FILE;
	if (f->chardev)
		f->chardev = 2;
}

int kaio_submit(struct aiocb *cb, enum kaio_op op)
{
	struct fdinfo f;
	size_t done;
	unsigned long first;
	int r;

	if (inline_done(cb, op, &done))
		return 0;
	if (foreign_in_flight(cb))
		return -EINVAL;
	if (done)
		rest_classify(cb->aio_fildes, &f);
	else
		kaio_fd_classify(cb, op, &f);
	/*
	 * O_SYNC or O_DSYNC: the data goes in now, the request waits for its
	 * flush (syncw.c), once kernel AIO is known to be there (a write made
	 * here must not be made again by a fallback), and when nothing earlier
	 * on the fd waits in kaio or in glibc.
	 */
	if (f.wsync && !f.err && op == KAIO_WRITE && __atomic_load_n(&eng.ctx, __ATOMIC_RELAXED) &&
	    !kaio_foreign_used() && kaio_inline_idle(cb->aio_fildes)) {
		long w = kaio_syncw_write(cb->aio_fildes, &f.st, cb);

		if (w >= 0) {
			done = (size_t)w;
			f.flushed = 1;
			op = (enum kaio_op)f.wsync;
		}
	}
	r = lock_ctx();
	if (r < 0)
		return r;
	first = eng.seq + 1;
	r = enqueue_locked(cb, op, &f, NULL, done);
	submit_and_unlock(first, !r && op <= KAIO_WRITE && kaio_sigev_signals(&cb->aio_sigevent));
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
	struct fdinfo *fi;
	unsigned long first;
	int enq_err = 0, queued = 0, signals = 0, r = 0;

	/* An empty LIO_NOWAIT list still fires its sigevent, as glibc's. */
	if (nent < 0)
		nent = 0;
	if (!nent && (mode == LIO_WAIT || !sev || kaio_sigev_silent(sev)))
		return 0;
	fi = calloc((size_t)nent + 1, sizeof *fi);
	if (!fi)
		return -EAGAIN;
	for (int i = 0; i < nent; i++) {
		struct aiocb *cb = list[i];

		if (!listed(cb))
			continue;
		if (foreign_in_flight(cb)) {
			r = -EINVAL;
			goto out;
		}
		kaio_fd_classify(cb, cb->aio_lio_opcode == LIO_READ ? KAIO_READ : KAIO_WRITE, &fi[i]);
		if (cb->aio_lio_opcode != LIO_READ && cb->aio_lio_opcode != LIO_WRITE)
			fi[i].err = EINVAL;
	}
	r = lock_ctx();
	if (r < 0)
		goto out;
	for (int i = 0; i < nent; i++) {
		int busy = 0;

		if (listed(list[i]))
			mapped_locked(list[i], &busy);
		if (busy) {
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
	first = eng.seq + 1;
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
				   &fi[i], lio, 0);
		if (r < 0) {
			enq_err = -r;
		} else {
			queued++;
			signals |= kaio_sigev_signals(&cb->aio_sigevent);
		}
	}
	if (lio && !lio->remaining)
		kaio_lio_queue_locked(lio);
	submit_and_unlock(first, signals || (lio && kaio_sigev_signals(&lio->sev)));
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
	free(fi);
	return r;
}
