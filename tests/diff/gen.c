/* Differential tester: a random but reproducible POSIX AIO program.
 *
 *   gen [-c] SEED DIR   (DIFF_IMPL=glibc|kaio says who serves it)
 *
 * Runs 1 to 4 threads, each with its own seeded sequence of steps on its own
 * files and aiocbs in DIR, and prints every observable answer as a line
 * "THREAD.STEP text". Each thread buffers its lines; they are printed thread
 * by thread at the end, so the output depends on the seed alone and
 * tests/diff.sh can compare glibc's run with kaio's line for line.
 *
 * Determinism: each thread keeps a model of its files (a shadow copy) and of
 * its aiocbs as the program sees them: a request is "pending" from its submit
 * until the program has waited for it and seen it done, whatever the
 * implementation did meanwhile. A new request that could observe or change
 * what a pending one touches (overlapping ranges; a read reaching past the
 * size that a pending write extends) is not issued, so every result is fixed
 * however requests are ordered or overlapped. Values that depend on timing
 * are never printed: aio_error right after a submit, aio_suspend's answer
 * while a listed request may be pending, aio_cancel's answer while the
 * request may run. A cancelled request prints only the invariant (ECANCELED
 * and -1, or the result the model predicts), and only reads, fsyncs, requests
 * that fail and writes to a scratch file left out of the final checksum are
 * ever cancelled. Random choices made inside a wait loop (how many times it
 * runs depends on timing) come from a generator seeded once per wait, so the
 * main sequence never depends on timing either.
 *
 * Deliberate differences between kaio and glibc (tests/prog/run.sh) are
 * printed as one fixed line when the implementation's own answer is seen:
 * a second aio_return, aio_error/aio_return on an aiocb never submitted, a
 * resubmit of an aiocb still in flight (only tried under kaio: undefined with
 * glibc), and lio_listio opcodes glibc masks (128, 256).
 *
 * Found by this generator and fixed in kaio: an empty LIO_NOWAIT list's
 * notification, a suspend timeout out of range (expired, not EINVAL), a
 * negative offset on a bad fd (EINVAL, not EBADF).
 * Left out because of glibc itself: nent INT_MIN in lio_listio (a VLA of that
 * size crashes glibc), signals during LIO_WAIT (glibc 2.36 crashes when the
 * interrupted list completes), a resubmit of an in-flight aiocb (undefined),
 * a full thread pool (see aio_init in main), a cancel on a fd with more than
 * one request pending (see glibc_may_cancel).
 *
 * -c (cold): at random steps a buffered file's page cache is dropped
 * (fdatasync, then POSIX_FADV_DONTNEED) whatever is pending on it, and half
 * the buffered fds read with POSIX_FADV_RANDOM (no readahead), so reads miss
 * the cache (how often: on stderr at the end). Threads sharing fds: mt.c.
 *
 * A request still in progress 20 s into a wait prints "STUCK" and exits 1
 * (what the thread waited for goes to stderr). DIFF_DEBUG=1: where a result
 * or a file differs from the model, on stderr (the model is the generator's
 * own check: both implementations must agree with it, and do).
 */
#include "diff.h"

#include <limits.h>

#define NSLOT 20
#define MAXIO (64 * 1024)
#define MAXT 4
#define NFILE 5
#define NHANDLE 11
#define BUF_CAP (512 * 1024)
#define DIR_CAP (2 * 1024 * 1024)

static int is_kaio;
static int have_direct;
static int cold;
static const char *dir;

/* ---- model ---- */

enum fkind { F_BUF, F_DIRECT, F_APPEND, F_SCRATCH };

struct file {
	char path[512];
	const char *name;
	enum fkind kind;
	unsigned char *shadow;
	size_t size, cap;
	size_t append_end;	/* size once every pending append is done */
};

struct handle {
	const char *name;
	int fd;
	struct file *f;
	int rd, wr;
};

enum sstate { S_FRESH, S_PENDING, S_DONE, S_RETURNED, S_AMBIG };
enum sop { OP_READ, OP_WRITE, OP_FSYNC };

struct slot {
	struct aiocb cb;
	unsigned char *buf;
	enum sstate st;
	enum sop op;
	struct handle *h;	/* NULL: a bad fd */
	off_t off, eoff;	/* eoff: where a write lands (append) */
	size_t n;
	int touches;		/* may read or change the file */
	int predictable, pred_err;
	ssize_t pred_ret;
	uint64_t pred_hash;
	int cancel_tried;
	int sub_step;
	unsigned gen;
	ssize_t ret;		/* what the first aio_return gave */
	char desc[112];
	/* fsync: the fd's writes pending at submit, which must be done first */
	int fs_check, fs_n;
	int fs_slot[NSLOT];
	unsigned fs_gen[NSLOT];
};

struct th {
	int id;
	uint64_t rng;
	int step;
	struct outbuf o;
	struct file files[NFILE];
	struct handle hs[NHANDLE];
	int nh;
	struct slot slots[NSLOT];
	int notified;		/* SIGEV_THREAD callbacks run so far */
	int notify_expected;
	int failed;
};

static struct th threads[MAXT];

#include "slots.h"

static void shadow_grow(struct file *f, size_t end)
{
	if (end > f->cap)
		DIE("model: %s grows past %zu", f->name, f->cap);
	if (end > f->size) {
		memset(f->shadow + f->size, 0, end - f->size);
		f->size = end;
	}
}

/* ---- setup ---- */

static void file_init(struct th *t, struct file *f, const char *name,
		      enum fkind kind, size_t cap, size_t size)
{
	snprintf(f->path, sizeof f->path, "%s/t%d-%s", dir, t->id, name);
	f->name = name;
	f->kind = kind;
	f->cap = cap;
	f->shadow = xcalloc(cap, 1);
	f->size = 0;
	for (size_t i = 0; i < size; i++)
		f->shadow[i] = (unsigned char)rnd(t);
	f->size = size;
	f->append_end = size;
	int fd = xopen(f->path, O_RDWR | O_CREAT | O_TRUNC);
	if (size)
		xpwrite_all(fd, f->shadow, size, 0);
	close(fd);
}

static void handle_add(struct th *t, const char *name, struct file *f, int flags)
{
	struct handle *h = &t->hs[t->nh++];
	h->name = name;
	h->f = f;
	h->fd = open(f->path, flags);
	if (h->fd < 0)
		DIE("open %s: %s", f->path, strerror(errno));
	int acc = flags & O_ACCMODE;
	h->rd = acc != O_WRONLY;
	h->wr = acc != O_RDONLY;
}

static void th_setup(struct th *t)
{
	struct file *fs = t->files;
	file_init(t, &fs[0], "buf0", F_BUF, BUF_CAP, below(t, 65536));
	file_init(t, &fs[1], "buf1", F_BUF, BUF_CAP, below(t, 9000));
	file_init(t, &fs[2], "direct", F_DIRECT, DIR_CAP, 4096 * (size_t)below(t, 48));
	file_init(t, &fs[3], "append", F_APPEND, BUF_CAP, below(t, 5000));
	file_init(t, &fs[4], "scratch", F_SCRATCH, BUF_CAP, 0);
	handle_add(t, "buf0.rw", &fs[0], O_RDWR);
	handle_add(t, "buf0.ro", &fs[0], O_RDONLY);
	handle_add(t, "buf0.wo", &fs[0], O_WRONLY);
	handle_add(t, "buf0.dsync", &fs[0], O_RDWR | O_DSYNC);
	handle_add(t, "buf1.sync", &fs[1], O_RDWR | O_SYNC);
	handle_add(t, "buf1.ro", &fs[1], O_RDONLY);
	if (have_direct) {
		handle_add(t, "direct.rw", &fs[2], O_RDWR | O_DIRECT);
		handle_add(t, "direct.ro", &fs[2], O_RDONLY | O_DIRECT);
	}
	handle_add(t, "append.rw", &fs[3], O_RDWR | O_APPEND);
	handle_add(t, "append.ro", &fs[3], O_RDONLY);
	handle_add(t, "scratch.rw", &fs[4], O_RDWR);
	/* Cold: half the buffered fds read without readahead, so that every
	 * read after a drop misses the cache. */
	for (int i = 0; cold && i < t->nh; i++)
		if (t->hs[i].f->kind != F_DIRECT && chance(t, 50))
			posix_fadvise(t->hs[i].fd, 0, 0, POSIX_FADV_RANDOM);
	for (int i = 0; i < NSLOT; i++) {
		t->slots[i].buf = xalign(MAXIO);
		t->slots[i].st = S_FRESH;
	}
}

/* ---- conflicts ---- */

/* Could request x and request y (both touching the same file) see or
 * change each other's bytes, or the file size the other one sees? */
static int conflicts(const struct slot *x, const struct slot *y)
{
	const struct file *f = x->h->f;
	off_t size = (off_t)f->size;
	if (x->op == OP_FSYNC || y->op == OP_FSYNC)
		return 0;
	if (x->op == OP_READ && y->op == OP_READ)
		return 0;
	if (overlap(x->eoff, x->n, y->eoff, y->n))
		return 1;
	if (x->op == OP_WRITE && y->op == OP_WRITE)
		return 0;
	const struct slot *w = x->op == OP_WRITE ? x : y;
	const struct slot *r = x->op == OP_WRITE ? y : x;
	return w->eoff + (off_t)w->n > size && r->eoff + (off_t)r->n > size;
}

static int conflicts_pending(struct th *t, const struct slot *s)
{
	/* No request joins a fd with a cancelled one pending (glibc, see
	 * op_cancel). */
	for (int i = 0; s->h && i < NSLOT; i++)
		if (t->slots[i].st == S_PENDING && t->slots[i].cancel_tried &&
		    t->slots[i].cb.aio_fildes == s->h->fd)
			return 1;
	if (!s->touches || s->h->f->kind == F_SCRATCH)
		return 0;
	for (int i = 0; i < NSLOT; i++) {
		const struct slot *o = &t->slots[i];
		if (o == s || o->st != S_PENDING || !o->touches || o->h->f != s->h->f)
			continue;
		if (conflicts(s, o))
			return 1;
	}
	return 0;
}

/* ---- requests ---- */

static const int bad_fds[] = { -1, -1000, INT_MAX, 1 << 30 };
static const int bad_prios[] = { -1, 21, INT_MAX, INT_MIN, 1000 };

static void fill_write(struct th *t, struct slot *s)
{
	uint64_t st = rnd(t);
	for (size_t i = 0; i < s->n; i += 8) {
		uint64_t v = mix(&st);
		memcpy(s->buf + i, &v, s->n - i < 8 ? s->n - i : 8);
	}
}

static void pick_range(struct th *t, struct slot *s)
{
	struct file *f = s->h->f;
	if (f->kind == F_DIRECT) {
		s->n = 4096 * (size_t)below(t, 17);
		s->off = 4096 * (off_t)below(t, (unsigned)(f->size / 4096 + 8));
		/* Misaligned: reads only. A misaligned O_DIRECT write that
		 * fails with EINVAL was seen to leave other bytes than before
		 * (ext4), which the model cannot follow. */
		int mis = chance(t, 9) && s->op == OP_READ;
		if (mis && chance(t, 55))
			s->off += chance(t, 50) ? 1 : 512;
		else if (mis)
			s->n += chance(t, 50) ? 1 : 512;
		if (s->n > MAXIO)
			s->n = MAXIO;
		return;
	}
	unsigned k = below(t, 10);
	if (k == 0)
		s->n = 0;
	else if (k <= 2)
		s->n = 1 + below(t, 16);
	else if (k <= 6)
		s->n = 1 + below(t, 4096);
	else if (k <= 8)
		s->n = 4096 * (1 + (size_t)below(t, 8));
	else
		s->n = 1 + below(t, MAXIO);
	switch (below(t, 4)) {
	case 0:
		s->off = 4096 * (off_t)below(t, 24);
		break;
	case 1:
		s->off = below(t, (unsigned)f->size + 8192);
		break;
	case 2:	/* across the end of the file */
		s->off = (off_t)f->size - (off_t)below(t, (unsigned)s->n + 1);
		if (s->off < 0)
			s->off = 0;
		break;
	default:
		s->off = (off_t)f->size + below(t, 65536);
		break;
	}
	if (s->off + (off_t)s->n > 3 * MAXIO + 65536)
		s->off = below(t, 65536);
}

static void set_sigev(struct th *t, struct slot *s, int allow_thread)
{
	struct sigevent *sev = &s->cb.aio_sigevent;
	unsigned k = below(t, 100);
	memset(sev, 0, sizeof *sev);
	if (k < 12)
		return;	/* zeroed: SIGEV_SIGNAL with signal 0, no notification */
	if (k < 20 && allow_thread) {
		sev->sigev_notify = SIGEV_THREAD;
		sev->sigev_notify_function = notify_fn;
		sev->sigev_value.sival_ptr = &t->notified;
		return;
	}
	sev->sigev_notify = SIGEV_NONE;
}

/* Read buffers start with a known fill, so a read can be hashed without
 * aio_return (bytes past what was read keep the fill). */
static unsigned char fill_byte(struct th *t)
{
	return (unsigned char)(0x5a ^ t->step);
}

/* How much of a read's buffer is hashed: all of it (bytes past what was
 * read keep their fill), except for O_DIRECT, where the kernel may zero the
 * rest of the last block past the end of the file. */
static size_t hash_len(const struct slot *s, size_t got)
{
	return s->h && s->h->f->kind == F_DIRECT && s->predictable ? got : s->n;
}

static void predict(struct slot *s)
{
	s->predictable = 1;
	s->pred_ret = -1;
	s->pred_hash = 0;
	if (s->op != OP_FSYNC &&
	    (s->cb.aio_reqprio < 0 || s->cb.aio_reqprio > AIO_PRIO_DELTA_MAX)) {
		s->pred_err = EINVAL;	/* refused at once (in a lio list) */
		return;
	}
	if (!s->h) {
		/* A bad fd with a negative offset: pread says EINVAL, io_submit
		 * EBADF. Left unpredicted; the diff shows who answers what. */
		s->pred_err = EBADF;
		if (s->off < 0 && s->op != OP_FSYNC)
			s->predictable = 0;
		return;
	}
	if (s->op == OP_FSYNC) {
		s->pred_err = 0;
		s->pred_ret = 0;
		return;
	}
	if (s->off < 0) {
		s->pred_err = EINVAL;	/* before a wrong open mode's EBADF */
		return;
	}
	if (!(s->op == OP_READ ? s->h->rd : s->h->wr)) {
		s->pred_err = EBADF;
		return;
	}
	if (s->h->f->kind == F_DIRECT && (s->off % 4096 || s->n % 4096)) {
		s->predictable = 0;	/* the file system decides */
		return;
	}
	s->pred_err = 0;
	if (s->op == OP_WRITE) {
		s->pred_ret = (ssize_t)s->n;
		return;
	}
	struct file *f = s->h->f;
	size_t got = (size_t)s->off >= f->size ? 0 : f->size - (size_t)s->off;
	if (got > s->n)
		got = s->n;
	s->pred_ret = (ssize_t)got;
	uint64_t h = fnv(FNV0, f->shadow + s->off, got);
	unsigned char fb = s->buf[got < s->n ? got : 0];
	for (size_t i = got; i < hash_len(s, got); i++)
		h = fnv(h, &fb, 1);
	s->pred_hash = h;
}

static const char *opname(enum sop op)
{
	return op == OP_READ ? "read" : op == OP_WRITE ? "write" : "fsync";
}

static void describe(struct slot *s, int idx)
{
	snprintf(s->desc, sizeof s->desc, "s%d %s %s off %lld n %zu prio %d", idx,
		 opname(s->op), s->h ? s->h->name : "badfd",
		 (long long)s->off, s->n, s->cb.aio_reqprio);
}

/* Sets up a read or write in slot idx (not pending). Returns 0, or -1 when
 * every try conflicted with a pending request. *refused: aio_reqprio out of
 * range (the request is refused at once). */
static int gen_io(struct th *t, int idx, enum sop op, int *refused)
{
	struct slot *s = &t->slots[idx];
	for (int tries = 0; tries < 8; tries++) {
		memset(&s->cb, 0, sizeof s->cb);
		s->op = op;
		s->cancel_tried = 0;
		s->fs_check = 0;
		*refused = 0;
		if (chance(t, 5)) {
			s->h = NULL;
			s->cb.aio_fildes = bad_fds[below(t, 4)];
			s->n = 1 + below(t, 4096);
			s->off = below(t, 8192);
		} else {
			s->h = &t->hs[below(t, (unsigned)t->nh)];
			if (op == OP_READ && s->h->f->kind == F_SCRATCH)
				continue;	/* its contents are uncertain */
			s->cb.aio_fildes = s->h->fd;
			pick_range(t, s);
		}
		if (chance(t, 4)) {
			static const off_t negs[] = { -1, -4096, (off_t)(sizeof(off_t) < 8 ? INT32_MIN : INT64_MIN) };
			off_t neg = negs[below(t, 3)];
			/* With a bad fd too: EINVAL (pread looks at the
			 * offset first). */
			s->off = neg;
		}
		unsigned pk = below(t, 100);
		if (pk < 3) {
			s->cb.aio_reqprio = bad_prios[below(t, 5)];
			*refused = 1;
		} else if (pk < 30 && !(s->h && s->h->f->kind == F_APPEND)) {
			/* glibc runs a fd's requests by priority: appends keep
			 * call order only at equal priority. */
			s->cb.aio_reqprio = 1 + (int)below(t, 20);
		}
		s->cb.aio_buf = s->buf;
		s->cb.aio_nbytes = s->n;
		s->cb.aio_offset = s->off;
		s->touches = !*refused && s->h && s->off >= 0 &&
			     (op == OP_READ ? s->h->rd : s->h->wr);
		s->eoff = s->off;
		if (s->touches && op == OP_WRITE && s->h->f->kind == F_APPEND)
			s->eoff = (off_t)s->h->f->append_end;
		if (conflicts_pending(t, s))
			continue;
		if (op == OP_WRITE)
			fill_write(t, s);
		else
			memset(s->buf, fill_byte(t), s->n ? s->n : 1);
		set_sigev(t, s, !*refused);
		predict(s);
		describe(s, idx);
		return 0;
	}
	return -1;
}

/* The request in slot idx was accepted: it is pending now. */
static void accepted(struct th *t, int idx)
{
	struct slot *s = &t->slots[idx];
	s->st = S_PENDING;
	s->sub_step = t->step;
	s->gen++;
	if (s->cb.aio_sigevent.sigev_notify == SIGEV_THREAD)
		t->notify_expected++;
	if (s->touches && s->op == OP_WRITE && s->h->f->kind == F_APPEND)
		s->h->f->append_end = (size_t)s->eoff + s->n;
}

static int may_cancel(const struct slot *s)
{
	return s->predictable && s->h &&
	       (s->op != OP_WRITE || s->h->f->kind == F_SCRATCH || !s->touches);
}


/* ---- calls: the *64 twins are the same functions on x86_64, either one ---- */

static int x_submit(uint64_t *r, struct slot *s)
{
	return s->op == OP_READ ? x_read(r, &s->cb) : x_write(r, &s->cb);
}

/* ---- waiting and results ---- */

/* Waits until no slot of idx[] is in progress, with aio_suspend on lists
 * that mix in NULL entries, other pending requests and every kind of
 * timeout. The loop's choices come from lr, seeded once: how often the loop
 * runs depends on timing, the main sequence must not. */
static void wait_set(struct th *t, const int *idx, int k)
{
	uint64_t lr = rnd(t);
	int first = 1, bad = 0;
	wait_begin(t->id, t->step);
	for (;;) {
		const struct aiocb *l[2 * NSLOT + 4];
		int n = 0;
		for (int i = 0; i < k; i++)
			if (x_error(&lr, &t->slots[idx[i]].cb) == EINPROGRESS)
				l[n++] = &t->slots[idx[i]].cb;
		if (!n)
			break;
		for (int i = 0; first && i < NSLOT; i++)
			if (t->slots[i].st == S_PENDING && mix(&lr) % 3 == 0)
				l[n++] = &t->slots[i].cb;
		for (int i = (int)(mix(&lr) % 3); i > 0; i--)
			l[n++] = NULL;
		for (int i = n - 1; i > 0; i--) {
			int j = (int)(mix(&lr) % (uint64_t)(i + 1));
			const struct aiocb *x = l[i];
			l[i] = l[j];
			l[j] = x;
		}
		/* Out of range ({0,-1}, {-1,5}): expired, under both (glibc
		 * 2.36 aborts on tv_nsec >= 2e9, so that is not tried). */
		static const struct timespec tss[] = {
			{ 0, 0 }, { 0, 1000 }, { 0, 1000000 }, { 0, 20000000 }, { 2, 0 },
			{ 0, -1 }, { -1, 5 },
		};
		unsigned c = (unsigned)(mix(&lr) % 8);
		const struct timespec *ts = c == 7 ? NULL : &tss[c];
		errno = 0;
		int r = x_suspend(&lr, l, n, ts);
		if (r == -1 && errno != EAGAIN && errno != EINTR && !bad) {
			bad = 1;
			out(t, "aio_suspend while waiting: -1 %s", errname(errno));
		}
		first = 0;
	}
	wait_end(t->id);
}

static void apply_write(struct slot *s)
{
	struct file *f = s->h->f;
	if (!s->n)
		return;
	shadow_grow(f, (size_t)s->eoff + s->n);
	memcpy(f->shadow + s->eoff, s->buf, s->n);
}

/* Prints the result of slot idx, known not to be in progress any more. */
static void finish(struct th *t, int idx, int want_return)
{
	struct slot *s = &t->slots[idx];
	int e = x_error(&t->rng, &s->cb);
	if (e == EINPROGRESS) {
		out(t, "reap %s (step %d): still in progress", s->desc, s->sub_step);
		wait_set(t, &idx, 1);
		e = x_error(&t->rng, &s->cb);
	}
	uint64_t h = 0;
	if (s->op == OP_READ)
		h = fnv(FNV0, s->buf, hash_len(s, s->predictable &&
					      s->pred_ret > 0 ? (size_t)s->pred_ret : 0));
	if (s->cancel_tried) {
		errno = 0;
		ssize_t r = x_return(&t->rng, &s->cb);
		s->ret = r;
		s->st = S_RETURNED;
		if ((e == ECANCELED && r == -1) ||
		    (e == s->pred_err && r == s->pred_ret &&
		     (s->op != OP_READ || e || h == s->pred_hash)))
			out(t, "reap %s (step %d): cancelled or done right",
			    s->desc, s->sub_step);
		else
			out(t, "reap %s (step %d): after cancel: error %s return %zd",
			    s->desc, s->sub_step, errname(e), r);
		return;
	}
	char data[64] = "";
	int model_ok = !s->predictable || e == s->pred_err;
	if (s->op == OP_READ && e == 0) {
		snprintf(data, sizeof data, " data %016llx", (unsigned long long)h);
		if (s->predictable && h != s->pred_hash)
			model_ok = 0;
	}
	if (want_return) {
		errno = 0;
		ssize_t r = x_return(&t->rng, &s->cb);
		int re = errno;
		s->ret = r;
		s->st = S_RETURNED;
		if (s->predictable && r != s->pred_ret)
			model_ok = 0;
		(void)re;
		out(t, "reap %s (step %d): error %s return %zd%s%s", s->desc,
		    s->sub_step, errname(e), r, data,
		    model_ok ? "" : " (not what the model says)");
		if (!model_ok && getenv("DIFF_DEBUG") && s->op == OP_READ && s->h) {
			size_t o = 0;
			struct file *f = s->h->f;
			while (o < (size_t)r && s->off + o < f->size &&
			       s->buf[o] == f->shadow[s->off + o])
				o++;
			fprintf(stderr, "read differs from the model at +%zu: %02x %02x, size %zu\n",
				o, s->buf[o], f->shadow[s->off + o], f->size);
		}
		if (!model_ok && getenv("DIFF_DEBUG"))
			fprintf(stderr, "%d.%d model: error %s return %zd data %016llx\n",
				t->id, t->step, errname(s->pred_err), s->pred_ret,
				(unsigned long long)s->pred_hash);
	} else {
		s->st = S_DONE;
		out(t, "reap %s (step %d): error %s%s%s", s->desc, s->sub_step,
		    errname(e), data, model_ok ? "" : " (not what the model says)");
	}
	if (s->op == OP_WRITE && e == 0 && s->touches && s->h->f->kind != F_SCRATCH)
		apply_write(s);
	if (s->op == OP_FSYNC && e == 0 && s->fs_check) {
		int late = -1;
		for (int i = 0; i < s->fs_n; i++) {
			struct slot *w = &t->slots[s->fs_slot[i]];
			if (w->gen == s->fs_gen[i] && w->st == S_PENDING &&
			    aio_error(&w->cb) == EINPROGRESS)
				late = s->fs_slot[i];
		}
		if (late < 0)
			out(t, "fsync done after the fd's earlier writes");
		else
			out(t, "fsync done before the fd's earlier write s%d", late);
	}
}

/* ---- steps ---- */

static void op_submit(struct th *t, enum sop op)
{
	int idx = free_slot(t), refused;
	if (idx < 0) {
		op_reap(t);
		return;
	}
	struct slot *s = &t->slots[idx];
	if (gen_io(t, idx, op, &refused) < 0) {
		s->st = S_AMBIG;	/* its aiocb was rewritten */
		out(t, "submit: every choice conflicted");
		return;
	}
	if (cold && op == OP_READ && s->touches && s->h->f->kind != F_DIRECT)
		cold_note(s->h->fd, s->off, s->n, s->h->f->size);
	errno = 0;
	int r = x_submit(&t->rng, s);
	out(t, "submit %s: %s", s->desc, rc(r, errno));
	if (r == 0)
		accepted(t, idx);
	else
		s->st = S_AMBIG;
}

static void op_fsync(struct th *t)
{
	int idx = free_slot(t);
	if (idx < 0) {
		op_reap(t);
		return;
	}
	struct slot *s = &t->slots[idx];
	memset(&s->cb, 0, sizeof s->cb);
	s->op = OP_FSYNC;
	s->cancel_tried = 0;
	s->touches = 0;
	s->fs_check = 0;
	s->fs_n = 0;
	s->n = 0;
	s->off = 0;
	if (chance(t, 8)) {
		s->h = NULL;
		s->cb.aio_fildes = bad_fds[below(t, 4)];
	} else {
		s->h = &t->hs[below(t, (unsigned)t->nh)];
		s->cb.aio_fildes = s->h->fd;
	}
	if (chance(t, 40)) {	/* ignored by aio_fsync */
		s->cb.aio_buf = s->buf;
		s->cb.aio_nbytes = below(t, 100000);
		s->cb.aio_offset = (off_t)below(t, 100000) - 50;
		s->cb.aio_reqprio = (int)below(t, 60) - 10;
		s->cb.aio_lio_opcode = (int)below(t, 5);
	}
	set_sigev(t, s, 1);
	predict(s);
	describe(s, idx);
	int sync = chance(t, 50);
	if (s->h) {
		s->fs_check = 1;
		for (int i = 0; i < NSLOT; i++) {
			struct slot *w = &t->slots[i];
			if (w->st != S_PENDING || w->op != OP_WRITE || !w->h ||
			    w->h != s->h)
				continue;
			/* glibc runs an fsync before queued writes of a lower
			 * priority: the order holds at priority 0 only. */
			if (w->cb.aio_reqprio)
				s->fs_check = 0;
			s->fs_slot[s->fs_n] = i;
			s->fs_gen[s->fs_n++] = w->gen;
		}
	}
	errno = 0;
	int r = x_fsync(&t->rng, sync ? O_SYNC : O_DSYNC, &s->cb);
	out(t, "submit %s %s: %s", s->desc, sync ? "O_SYNC" : "O_DSYNC", rc(r, errno));
	if (r == 0)
		accepted(t, idx);
	else
		s->st = S_AMBIG;
}

static void op_lio(struct th *t)
{
	int mode = chance(t, 50) ? LIO_WAIT : LIO_NOWAIT;
	int n = (int)below(t, 9), ents[8], refused_any = 0;
	struct aiocb *list[8];
	int used[NSLOT] = { 0 };
	out(t, "lio %s nent %d", mode == LIO_WAIT ? "LIO_WAIT" : "LIO_NOWAIT", n);
	for (int i = 0; i < n; i++) {
		unsigned k = below(t, 100);
		int c[NSLOT], nc = 0;
		list[i] = NULL;
		ents[i] = -1;
		for (int j = 0; j < NSLOT; j++)
			if (t->slots[j].st != S_PENDING && !used[j])
				c[nc++] = j;
		if (k < 12 || !nc) {
			out(t, "  entry %d NULL", i);
			continue;
		}
		int idx = c[below(t, (unsigned)nc)], refused;
		struct slot *s = &t->slots[idx];
		used[idx] = 1;
		if (k < 22) {
			/* Skipped by lio_listio: the aiocb must stay as it was. */
			s->cb.aio_lio_opcode = LIO_NOP;
			list[i] = &s->cb;
			out(t, "  entry %d LIO_NOP s%d", i, idx);
			continue;
		}
		enum sop op = chance(t, 50) ? OP_READ : OP_WRITE;
		if (gen_io(t, idx, op, &refused) < 0) {
			s->st = S_AMBIG;
			out(t, "  entry %d NULL (every choice conflicted)", i);
			continue;
		}
		s->cb.aio_lio_opcode = op == OP_READ ? LIO_READ : LIO_WRITE;
		if (chance(t, 3)) {
			/* An unknown opcode: EINVAL in the entry under both
			 * (128 and 256, which glibc masks, are op_opcode's). */
			s->cb.aio_lio_opcode = chance(t, 50) ? 7 : -1;
			s->touches = 0;
			s->predictable = !refused;
			s->pred_err = EINVAL;
			s->pred_ret = -1;
			snprintf(s->desc + strlen(s->desc), sizeof s->desc - strlen(s->desc),
				 " opcode %d", s->cb.aio_lio_opcode);
		}
		refused_any |= refused;
		list[i] = &s->cb;
		ents[i] = idx;
		accepted(t, idx);
		out(t, "  entry %d %s", i, s->desc);
	}
	struct sigevent sev, *sevp = NULL;
	unsigned k = below(t, 100);
	memset(&sev, 0, sizeof sev);
	if (k < 40) {
		sevp = NULL;
	} else if (k < 60) {
		sev.sigev_notify = SIGEV_NONE;
		sevp = &sev;
	} else if (k < 70 || refused_any) {
		sevp = &sev;	/* zeroed: SIGEV_SIGNAL with signal 0 */
	} else {
		sev.sigev_notify = SIGEV_THREAD;
		sev.sigev_notify_function = notify_fn;
		sev.sigev_value.sival_ptr = &t->notified;
		sevp = &sev;
		if (mode == LIO_NOWAIT)
			t->notify_expected++;
	}
	wait_begin(t->id, t->step);
	errno = 0;
	int r = x_lio(&t->rng, mode, list, n, sevp);
	int e = errno;
	wait_end(t->id);
	out(t, "lio %s: %s", !sevp ? "no sigevent" :
	    sev.sigev_notify == SIGEV_THREAD ? "SIGEV_THREAD" :
	    sev.sigev_notify == SIGEV_NONE ? "SIGEV_NONE" : "zeroed sigevent",
	    rc(r, e));
	if (mode == LIO_WAIT)
		for (int i = 0; i < n; i++)
			if (ents[i] >= 0)
				finish(t, ents[i], chance(t, 75));
}

static int pick_state(struct th *t, int (*ok)(const struct slot *))
{
	int c[NSLOT], n = 0;
	for (int i = 0; i < NSLOT; i++)
		if (ok(&t->slots[i]))
			c[n++] = i;
	return n ? c[below(t, (unsigned)n)] : -1;
}

static int is_returned(const struct slot *s)
{
	return s->st == S_RETURNED;
}

static int is_fresh(const struct slot *s)
{
	return s->st == S_FRESH;
}

static int is_settled(const struct slot *s)
{
	return s->st == S_DONE || s->st == S_RETURNED || s->st == S_FRESH;
}

static int is_cancellable(const struct slot *s)
{
	return s->st == S_PENDING && may_cancel(s);
}

/* May be resubmitted while in flight without changing any result even if
 * the implementation takes it (kaio does once the request is done): the
 * same read again, or the same write of the same bytes to the same place. */
/*
 * glibc writes the operation into aio_lio_opcode, and on i386 its *64
 * functions add 128 (LIO_READ64 = LIO_READ | 128); kaio writes nothing
 * there. The flag is masked so that both runs make the same choices.
 */
static int is_resubmittable(const struct slot *s)
{
	int op = s->cb.aio_lio_opcode & ~128;

	return s->st == S_PENDING && s->op != OP_FSYNC && !s->cancel_tried &&
	       s->cb.aio_sigevent.sigev_notify != SIGEV_THREAD &&
	       (op == LIO_READ || op == LIO_WRITE || op == LIO_NOP) &&
	       !(s->h && s->h->f->kind == F_APPEND);
}

/* The deliberate differences: one fixed line when the implementation's own
 * answer is seen (tests/prog/run.sh, check_measure). */
static void op_deliberate(struct th *t)
{
	unsigned k = below(t, 4);
	if (k == 0) {
		int idx = pick_state(t, is_returned);
		if (idx < 0)
			return;
		struct slot *s = &t->slots[idx];
		errno = 0;
		ssize_t r = x_return(&t->rng, &s->cb);
		int e = errno;
		int ok = is_kaio ? r == -1 && e == EINVAL : r == s->ret;
		if (ok)
			out(t, "second aio_return s%d: second_return expected", idx);
		else
			out(t, "second aio_return s%d: %s (first %zd)", idx, rc((int)r, e), s->ret);
	} else if (k == 1) {
		int idx = pick_state(t, is_fresh);
		if (idx < 0)
			return;
		struct slot *s = &t->slots[idx];
		errno = 0;
		int e1 = x_error(&t->rng, &s->cb);
		int er1 = errno;
		errno = 0;
		ssize_t r = x_return(&t->rng, &s->cb);
		int er2 = errno;
		int ok = is_kaio ? e1 == -1 && er1 == EINVAL && r == -1 && er2 == EINVAL
				 : e1 == 0 && r == 0;
		if (ok)
			out(t, "unsubmitted s%d: unknown_error/unknown_return expected", idx);
		else
			out(t, "unsubmitted s%d: aio_error %s aio_return %s", idx,
			    rc(e1, er1), rc((int)r, er2));
	} else if (k == 2) {
		int idx = pick_state(t, is_resubmittable);
		if (idx < 0)
			return;
		struct slot *s = &t->slots[idx];
		if (!is_kaio) {
			/* Undefined with glibc: never done. */
			mix(&t->rng);	/* as x_submit */
			out(t, "resubmit in flight s%d: inflight_submit expected", idx);
			return;
		}
		errno = 0;
		int r = x_submit(&t->rng, s);
		int e = errno;
		if (r == 0 || (r == -1 && e == EINVAL))
			out(t, "resubmit in flight s%d: inflight_submit expected", idx);
		else
			out(t, "resubmit in flight s%d: %s", idx, rc(r, e));
		if (r == 0)
			s->gen++;	/* the same request again, in its place */
	} else {
		int idx = free_slot(t), refused;
		if (idx < 0)
			return;
		struct slot *s = &t->slots[idx];
		if (gen_io(t, idx, OP_READ, &refused) < 0 || refused || !s->touches ||
		    !s->predictable || s->pred_err) {
			s->st = S_AMBIG;
			return;
		}
		int opc = chance(t, 50) ? 128 : 256;
		struct aiocb *list[2] = { &s->cb, NULL };
		s->cb.aio_lio_opcode = opc;
		s->cb.aio_sigevent.sigev_notify = SIGEV_NONE;
		s->gen++;
		wait_begin(t->id, t->step);
		errno = 0;
		int r = x_lio(&t->rng, LIO_WAIT, list, 1 + (int)below(t, 2), NULL);
		int e = errno;
		wait_end(t->id);
		int ee = aio_error(&s->cb);
		ssize_t rr = aio_return(&s->cb);
		int ok = is_kaio ? r == -1 && e == EIO && ee == EINVAL && rr == -1
				 : r == 0 && ee == 0 && rr == s->pred_ret;
		if (ok)
			out(t, "lio opcode %d s%d: masked_opcode expected", opc, idx);
		else
			out(t, "lio opcode %d %s: lio %s, error %s return %zd", opc,
			    s->desc, rc(r, e), errname(ee), rr);
		s->st = S_AMBIG;
	}
}

/* glibc 2.36: after aio_cancel takes back a request at the head of its
 * fd's queue, the requests queued behind it on that fd stay in progress for
 * ever. So glibc cancels only a fd's sole pending request, and no request
 * joins a fd while a cancelled one is pending there; kaio cancels in every
 * case. The program prints the same lines either way: the result of a
 * request a cancel was tried on is printed as the invariant only, which
 * holds whether it was cancelled or not. */
static int glibc_may_cancel(struct th *t, int fd)
{
	if (is_kaio || pending_on(t, fd) <= 1)
		return 1;
	mix(&t->rng);	/* as x_cancel */
	return 0;
}

static void op_cancel(struct th *t)
{
	unsigned k = below(t, 100);
	if (k < 55) {
		int idx = pick_state(t, is_cancellable);
		if (idx < 0)
			return;
		struct slot *s = &t->slots[idx];
		s->cancel_tried = 1;
		errno = 0;
		int r = glibc_may_cancel(t, s->cb.aio_fildes) ?
			x_cancel(&t->rng, s->cb.aio_fildes, &s->cb) : 0;
		if (r == -1)
			out(t, "cancel %s: -1 %s", s->desc, errname(errno));
		else
			out(t, "cancel %s", s->desc);
	} else if (k < 80) {
		int idx = pick_state(t, is_settled);
		if (idx < 0)
			return;
		struct slot *s = &t->slots[idx];
		if (s->st == S_FRESH)
			s->cb.aio_fildes = t->hs[below(t, (unsigned)t->nh)].fd;
		errno = 0;
		int r = x_cancel(&t->rng, s->cb.aio_fildes, &s->cb);
		out(t, "cancel done s%d: %s", idx, r == -1 ? rc(r, errno) : cancelname(r));
	} else {
		struct handle *h = &t->hs[below(t, (unsigned)t->nh)];
		int np = 0, ok = 1;
		for (int i = 0; i < NSLOT; i++) {
			struct slot *s = &t->slots[i];
			if (s->st == S_PENDING && s->cb.aio_fildes == h->fd) {
				np++;
				ok &= may_cancel(s);
			}
		}
		if (!ok) {
			out(t, "cancel %s NULL: not tried (a write is pending)", h->name);
			return;
		}
		errno = 0;
		int r = glibc_may_cancel(t, h->fd) ? x_cancel(&t->rng, h->fd, NULL) : 0;
		if (!np || r == -1)
			out(t, "cancel %s NULL, nothing pending: %s", h->name,
			    r == -1 ? rc(r, errno) : cancelname(r));
		else
			out(t, "cancel %s NULL", h->name);
		for (int i = 0; i < NSLOT; i++)
			if (t->slots[i].st == S_PENDING && t->slots[i].cb.aio_fildes == h->fd)
				t->slots[i].cancel_tried = 1;
	}
}

static void op_query(struct th *t)
{
	int idx = pick_state(t, is_done);
	if (idx < 0)
		return;
	struct slot *s = &t->slots[idx];
	if (s->cancel_tried)
		return;	/* cancelled or not: timing */
	if (s->st == S_DONE && chance(t, 60)) {
		errno = 0;
		ssize_t r = x_return(&t->rng, &s->cb);
		s->ret = r;
		s->st = S_RETURNED;
		out(t, "aio_return %s (step %d): %s", s->desc, s->sub_step, rc((int)r, errno));
	} else {
		errno = 0;
		int e = x_error(&t->rng, &s->cb);
		out(t, "aio_error %s (step %d): %s", s->desc, s->sub_step,
		    e == -1 ? rc(e, errno) : errname(e));
	}
}

static void op_suspend(struct th *t)
{
	const struct aiocb *l[8];
	int n = (int)below(t, 7);
	if (chance(t, 30)) {
		/* Pending entries, {0,0}: the answer depends on timing. */
		int m = 0;
		for (int i = 0; i < n; i++) {
			int idx = pick_state(t, is_pending);
			l[m++] = idx < 0 ? NULL : &t->slots[idx].cb;
		}
		struct timespec z = { 0, 0 };
		x_suspend(&t->rng, l, m, &z);
		out(t, "suspend {0,0} on %d entries", m);
		return;
	}
	for (int i = 0; i < n; i++) {
		int idx = chance(t, 25) ? -1 : pick_state(t, is_settled);
		l[i] = idx < 0 ? NULL : &t->slots[idx].cb;
	}
	static const struct timespec tss[] = { { 0, 0 }, { 0, 5000 }, { 1, 0 } };
	unsigned c = below(t, 4);
	wait_begin(t->id, t->step);
	errno = 0;
	int r = x_suspend(&t->rng, l, n, c == 3 ? NULL : &tss[c]);
	int e = errno;
	wait_end(t->id);
	out(t, "suspend on %d done or NULL entries, timeout %s: %s", n,
	    c == 3 ? "NULL" : c == 0 ? "{0,0}" : "short", rc(r, e));
}

/* Calls that fail at once, on aiocbs no request uses. */
static void op_bad(struct th *t)
{
	struct aiocb cb;
	struct aiocb *list[3] = { NULL, NULL, NULL };
	const struct aiocb *clist[3] = { NULL, NULL, NULL };
	struct handle *h = &t->hs[below(t, (unsigned)t->nh)];
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = h->fd;
	cb.aio_buf = t->slots[0].buf;
	cb.aio_nbytes = 10;
	cb.aio_sigevent.sigev_notify = SIGEV_NONE;
	list[1] = &cb;
	clist[1] = &cb;
	errno = 0;
	switch (below(t, 9)) {
	case 0: {
		static const int modes[] = { -1, 2, 3, 100 };
		int m = modes[below(t, 4)];
		out(t, "lio mode %d: %s", m, RC(x_lio(&t->rng, m, list, 3, NULL)));
		break;
	}
	case 1: {
		struct sigevent sev;
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_NONE;
		int m = chance(t, 50) ? LIO_WAIT : LIO_NOWAIT;
		out(t, "lio %d nent 0: %s", m,
		    RC(x_lio(&t->rng, m, list, 0, chance(t, 50) ? &sev : NULL)));
		break;
	}
	case 2: {
		/* -1 only: glibc sizes a VLA by nent (INT_MIN crashes it). */
		int m = chance(t, 50) ? LIO_WAIT : LIO_NOWAIT;
		out(t, "lio %d nent -1: %s", m, RC(x_lio(&t->rng, m, list, -1, NULL)));
		break;
	}
	case 3: {
		int n = chance(t, 50) ? -1 : INT_MIN;
		out(t, "suspend nent %d: %s", n, RC(x_suspend(&t->rng, clist, n, NULL)));
		break;
	}
	case 4: {
		struct timespec z = { 0, 0 };
		out(t, "suspend nent 0: %s", RC(x_suspend(&t->rng, clist, 0,
							  chance(t, 50) ? &z : NULL)));
		break;
	}
	case 5: {
		static const int ops[] = { 0, 1, O_APPEND, -1, O_RDWR };
		int op = ops[below(t, 5)];
		out(t, "fsync op %d on %s: %s", op, h->name, RC(aio_fsync(op, &cb)));
		break;
	}
	case 6:
		cb.aio_fildes = bad_fds[below(t, 4)];
		out(t, "fsync bad fd %d: %s", cb.aio_fildes,
		    RC(aio_fsync(chance(t, 50) ? O_SYNC : O_DSYNC, &cb)));
		break;
	case 7: {
		struct handle *o = &t->hs[below(t, (unsigned)t->nh)];
		if (o == h)
			cb.aio_fildes = bad_fds[below(t, 4)];
		out(t, "cancel on %s of an aiocb of fd %s: %s", o->name,
		    o == h ? "bad" : h->name, RC(x_cancel(&t->rng, o->fd, &cb)));
		break;
	}
	default: {
		int fd = bad_fds[below(t, 4)];
		int withcb = chance(t, 50);
		if (withcb)
			cb.aio_fildes = fd;
		out(t, "cancel bad fd %d %s: %s", fd, withcb ? "aiocb" : "NULL",
		    RC(x_cancel(&t->rng, fd, withcb ? &cb : NULL)));
		break;
	}
	}
}

/* Cold mode: a buffered file's pages leave the cache, whatever is pending
 * on it (the data stay the same: the drop is invisible but for speed). */
static void op_drop(struct th *t)
{
	struct handle *h = &t->hs[below(t, (unsigned)t->nh)];
	if (h->f->kind == F_DIRECT)
		return;
	cache_drop(h->fd);
	out(t, "drop the cache of %s through %s", h->f->name, h->name);
}

/* ---- a thread's run ---- */

static void checksum_files(struct th *t)
{
	for (int i = 0; i < NFILE; i++) {
		struct file *f = &t->files[i];
		if (f->kind == F_SCRATCH) {
			out(t, "file %s: left out (cancelled writes)", f->name);
			continue;
		}
		int fd = xopen(f->path, O_RDONLY);
		struct stat st;
		if (fstat(fd, &st))
			DIE("fstat: %s", strerror(errno));
		size_t size = (size_t)st.st_size;
		unsigned char *b = xmalloc(size);
		if (size)
			xpread_all(fd, b, size, 0);
		close(fd);
		uint64_t h = fnv(FNV0, b, size);
		int model = size == f->size && !memcmp(b, f->shadow, size);
		if (!model && getenv("DIFF_DEBUG")) {
			size_t o = 0;
			while (o < size && o < f->size && b[o] == f->shadow[o])
				o++;
			fprintf(stderr, "%d: %s: size %zu, model %zu, first difference at %zu\n",
				t->id, f->name, size, f->size, o);
		}
		out(t, "file %s: size %zu fnv %016llx%s", f->name, size,
		    (unsigned long long)h, model ? "" : " (not what the model says)");
		free(b);
	}
}

static void *th_run(void *arg)
{
	struct th *t = arg;
	int steps = 60 + (int)below(t, 140);
	th_setup(t);
	out(t, "thread %d: %d steps, %d fds", t->id, steps, t->nh);
	for (t->step = 1; t->step <= steps; t->step++) {
		if (cold && chance(t, 8)) {
			op_drop(t);
			continue;
		}
		unsigned k = below(t, 100);
		if (k < 20)
			op_submit(t, OP_READ);
		else if (k < 38)
			op_submit(t, OP_WRITE);
		else if (k < 43)
			op_fsync(t);
		else if (k < 50)
			op_lio(t);
		else if (k < 68)
			op_reap(t);
		else if (k < 73)
			op_suspend(t);
		else if (k < 80)
			op_cancel(t);
		else if (k < 87)
			op_bad(t);
		else if (k < 92)
			op_deliberate(t);
		else
			op_query(t);
	}
	/* The end: every request waited for, every notification counted. */
	int pend[NSLOT], np = 0;
	for (int i = 0; i < NSLOT; i++)
		if (t->slots[i].st == S_PENDING)
			pend[np++] = i;
	out(t, "end: %d pending", np);
	wait_set(t, pend, np);
	for (int i = 0; i < np; i++)
		finish(t, pend[i], 1);
	t->step++;
	int64_t end = mono_ns() + STUCK_NS;
	while (__atomic_load_n(&t->notified, __ATOMIC_SEQ_CST) < t->notify_expected &&
	       mono_ns() < end)
		usleep(1000);
	out(t, "notifications: %d of %d", __atomic_load_n(&t->notified, __ATOMIC_SEQ_CST),
	    t->notify_expected);
	checksum_files(t);
	for (int i = 0; i < t->nh; i++)
		close(t->hs[i].fd);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *impl = getenv("DIFF_IMPL");
	if (argc > 1 && !strcmp(argv[1], "-c")) {
		cold = 1;
		argc--;
		argv++;
	}
	if (argc != 3 || !impl || (strcmp(impl, "glibc") && strcmp(impl, "kaio"))) {
		fprintf(stderr, "usage: DIFF_IMPL=glibc|kaio %s [-c] SEED DIR\n", argv[0]);
		return 2;
	}
	is_kaio = !strcmp(impl, "kaio");
	uint64_t seed = strtoull(argv[1], NULL, 0), rng = seed;
	dir = argv[2];
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	have_direct = direct_works(dir);
	if (cold)
		cold_check(dir);

	unsigned k = (unsigned)(mix(&rng) % 100);
	int nt = k < 40 ? 1 : k < 65 ? 2 : k < 85 ? 3 : 4;
	printf("main seed %llu: %d thread(s), O_DIRECT %s%s\n", (unsigned long long)seed,
	       nt, have_direct ? "yes" : "no (the file system refuses it)",
	       cold ? ", cold (page cache dropped at random steps)" : "");

	/* glibc 2.36: aio_cancel of a request queued for a free thread of a
	 * full pool (20 threads busy on other fds) leaves the later requests
	 * of its fd in progress for ever. With more threads than this program
	 * ever has fds busy at once, no request waits for a thread. */
	struct aioinit init;
	memset(&init, 0, sizeof init);
	init.aio_threads = 64;
	init.aio_num = 256;
	init.aio_idle_time = 1;
	aio_init(&init);

	pthread_t tids[MAXT];
	watchdog_start(stuck_dump);
	for (int i = 0; i < nt; i++) {
		threads[i].id = i;
		threads[i].rng = mix(&rng) ^ (uint64_t)i;
	}
	if (nt == 1) {
		th_run(&threads[0]);
	} else {
		for (int i = 0; i < nt; i++)
			if (pthread_create(&tids[i], NULL, th_run, &threads[i]))
				DIE("pthread_create");
		for (int i = 0; i < nt; i++)
			pthread_join(tids[i], NULL);
	}
	for (int i = 0; i < nt; i++)
		fwrite(threads[i].o.p, 1, threads[i].o.len, stdout);
	fflush(stdout);
	if (cold)
		cold_report();
	return 0;
}
