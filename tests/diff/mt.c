/* Differential tester, threads: a random but reproducible POSIX AIO program
 * in which 2 to 4 threads submit at once to shared and to separate fds.
 *
 *   mt [-c] SEED DIR        (DIFF_IMPL=glibc|kaio says who serves it)
 *
 * tests/diff.sh runs it under glibc and under kaio and compares the outputs
 * line for line, as it does for gen.c, whose design comment explains the
 * model (each thread's shadow of what it knows, requests "pending" in the
 * program's view) and the rule that nothing depending on timing is printed.
 * Each thread has its own seeded steps, its own aiocbs and its own log
 * (printed thread by thread at the end, then main's checks). What this one
 * adds is sharing: the fds and files are partly shared, threads are inside
 * aio_read, lio_listio, aio_cancel... at the same moment, and what the others
 * do must never show in a thread's answers. That holds by construction:
 *  - two shared files, one buffered ("shared") and one read and written with
 *    O_DIRECT ("direct"): a common part nobody writes, then one region per
 *    thread. A thread reads the common part and its region and writes only
 *    its region, through fds of its own and fds every thread uses;
 *  - an O_APPEND file ("append") written by every thread through one shared
 *    fd and one fd per thread, in records that say who wrote them (thread,
 *    fd, number, checksum). Where a record lands depends on timing, so main
 *    prints only that every record is there exactly once and that each
 *    thread's records on each fd are in its call order (POSIX);
 *  - fsync: when a thread sees its aio_fsync done, its own earlier writes on
 *    that fd must be done too (aio_error), and reading the file back must
 *    show them (its region, or its records in the append file);
 *  - a pipe per thread: records of at most PIPE_BUF bytes, and each read asks
 *    for exactly the next record, so a lost, doubled or reordered request
 *    shows as wrong data;
 *  - cancel: aio_cancel(fd, NULL) on a shared read-only fd hits whichever
 *    thread's reads are there at that moment; those reads print only the
 *    invariant (ECANCELED and -1, or the right data), and a cancel's answer
 *    must agree with the outcome (AIO_CANCELED: ECANCELED; AIO_NOTCANCELED:
 *    not). glibc 2.36 leaves a fd's later requests in progress for ever when
 *    a cancel takes the head of its queue (see gen.c), and on a shared fd no
 *    thread knows the queue: there the calls are made under kaio only.
 *    Cancels on a thread's own fds follow gen.c's rules.
 * -c (cold): at random steps a thread drops a file's page cache (fdatasync,
 * then POSIX_FADV_DONTNEED) whatever is pending on it, and the threads' own
 * fds read with POSIX_FADV_RANDOM (no readahead), so buffered reads miss the
 * cache (how often: on stderr at the end).
 *
 * A wait that lasts 20 s prints "STUCK" and exits 1 (diff.h). DIFF_DEBUG=1:
 * where a read differs from the model, on stderr.
 */
#include "diff.h"

#include <limits.h>

#define MAXT 4
#define NSLOT 16
#define MAXIO (64 * 1024)
#define COMMON (64 * 1024)
#define REGION (256 * 1024)
#define SHSIZE (COMMON + MAXT * REGION)
#define PRIV_MAX (192 * 1024)
#define RECHDR 16
#define RECMAGIC 0x4b415250u
#define NPIPE 4096
#define PIPE_LIMIT (24 * 1024)	/* far from a full pipe: writes never wait */

static int is_kaio, have_direct, cold, nt;
static const char *dir;

/* ---- model ---- */

enum fkind { F_SHARED, F_DIRECT, F_APPEND, F_PRIV, F_PIPE };

struct file {
	char path[512];
	const char *name;
	enum fkind kind;
	unsigned char *shadow;
	size_t size;		/* fixed: no request changes a file's size
				 * but the appends */
};

struct fdh {
	const char *name;
	int fd;
	struct file *f;
	int rd, wr;
	int shared;		/* every thread uses it */
	int app;		/* an append fd: 0 the shared one, 1 the thread's */
};

static struct file f_sh = { .name = "shared", .kind = F_SHARED };
static struct file f_dio = { .name = "direct", .kind = F_DIRECT };
static struct file f_app = { .name = "append", .kind = F_APPEND };
static struct fdh sh_rw = { .name = "sh.rw", .f = &f_sh, .rd = 1, .wr = 1, .shared = 1 };
static struct fdh sh_cx = { .name = "sh.cx", .f = &f_sh, .rd = 1, .shared = 1 };
static struct fdh dio_rw = { .name = "dio.rw", .f = &f_dio, .rd = 1, .wr = 1, .shared = 1 };
static struct fdh app_sh = { .name = "app.sh", .f = &f_app, .wr = 1, .shared = 1 };

enum sstate { S_FRESH, S_PENDING, S_DONE, S_RETURNED };
enum sop { OP_READ, OP_WRITE, OP_APPEND, OP_FSYNC, OP_PREAD, OP_PWRITE };

struct slot {
	struct aiocb cb;
	unsigned char *buf;
	enum sstate st;
	enum sop op;
	struct fdh *h;
	off_t off;
	size_t n;
	int pred_err;
	ssize_t pred_ret;
	uint64_t pred_hash;
	int uncertain;		/* may be cancelled: print the invariant only */
	int cancel_ans;		/* the answer of a cancel of this one, or -2 */
	int cancel_own;		/* ... made on a fd only this thread uses */
	unsigned gen;
	int sub_step;
	unsigned rec;		/* append: record number; pipe: record index */
	ssize_t ret;
	char desc[96];
	/* fsync: this thread's writes pending on the fd at submit */
	int fs_n, fs_slot[NSLOT];
	unsigned fs_gen[NSLOT], fs_seq;
};

struct th {
	int id;
	uint64_t rng;
	int step;
	struct outbuf o;
	struct file priv;
	struct fdh sh_own, dio_own, app_own, priv_rw, pipe_r, pipe_w;
	struct fdh *fds[12];
	int nfd;
	int rb_sh, rb_dio, rb_app, rb_priv;	/* plain fds to read back with */
	struct slot slots[NSLOT];
	unsigned app_next[2];	/* records submitted per append fd */
	unsigned pipe_wr, pipe_rd;	/* records submitted to write, to read */
	uint16_t pipe_len[NPIPE];
	size_t pipe_out;	/* bytes in records [pipe_rd, pipe_wr) */
	int notified, notify_expected;
};

static struct th threads[MAXT];

#include "slots.h"

/* The bytes of a record (append or pipe) follow from who wrote it. */
static void rec_fill(unsigned char *b, size_t n, uint64_t key)
{
	uint64_t st = key * 0x2545f4914f6cdd1dULL;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = mix(&st);
		memcpy(b + i, &v, n - i < 8 ? n - i : 8);
	}
}

static uint64_t app_key(int tid, int k, unsigned seq)
{
	return ((uint64_t)tid << 40) ^ ((uint64_t)k << 32) ^ seq ^ 0xa99e4dULL;
}

static uint64_t pipe_key(int tid, unsigned idx)
{
	return ((uint64_t)tid << 40) ^ idx ^ 0x919e000000ULL;
}

static uint32_t rec_sum(const unsigned char *r, size_t n)
{
	return (uint32_t)fnv(fnv(FNV0, r, 12), r + RECHDR, n - RECHDR);
}

/* An append record: magic, thread, fd, payload length, number, checksum. */
static void rec_make(unsigned char *r, size_t n, int tid, int k, unsigned seq)
{
	uint32_t magic = RECMAGIC, sum;
	uint16_t len = (uint16_t)(n - RECHDR);
	memcpy(r, &magic, 4);
	r[4] = (unsigned char)tid;
	r[5] = (unsigned char)k;
	memcpy(r + 6, &len, 2);
	memcpy(r + 8, &seq, 4);
	rec_fill(r + RECHDR, n - RECHDR, app_key(tid, k, seq));
	sum = rec_sum(r, n);
	memcpy(r + 12, &sum, 4);
}

/* ---- the append file, read back ---- */

struct recs {
	unsigned next[MAXT][2];	/* the record number expected next */
	unsigned n;
	char why[200];		/* the first thing wrong, or "" */
};

/* The whole file as it is now (it may be growing). */
static unsigned char *read_all(int fd, size_t *size)
{
	size_t cap = 1 << 20, n = 0;
	unsigned char *b = xmalloc(cap);
	for (;;) {
		if (n == cap && !(b = realloc(b, cap *= 2)))
			DIE("realloc");
		ssize_t k = pread(fd, b + n, cap - n, (off_t)n);
		if (k < 0)
			DIE("pread: %s", strerror(errno));
		if (!k)
			break;
		n += (size_t)k;
	}
	*size = n;
	return b;
}

/* Walks the records of the append file. A record cut short at the end is
 * one still being written (complete: any), anything else wrong is reported
 * in r->why. */
static void recs_walk(int fd, struct recs *r, int complete)
{
	size_t size, off = 0;
	unsigned char *b = read_all(fd, &size);
	memset(r, 0, sizeof *r);
	while (off < size && !r->why[0]) {
		uint32_t magic, seq, sum;
		uint16_t len;
		if (size - off < RECHDR) {
			if (complete)
				snprintf(r->why, sizeof r->why, "%zu bytes of a header at the end",
					 size - off);
			break;
		}
		memcpy(&magic, b + off, 4);
		memcpy(&len, b + off + 6, 2);
		memcpy(&seq, b + off + 8, 4);
		memcpy(&sum, b + off + 12, 4);
		int tid = b[off + 4], k = b[off + 5];
		if (magic != RECMAGIC || tid >= nt || k > 1) {
			snprintf(r->why, sizeof r->why, "no record at offset %zu", off);
			break;
		}
		if (size - off < RECHDR + (size_t)len) {
			if (complete)
				snprintf(r->why, sizeof r->why, "record cut short at offset %zu", off);
			break;
		}
		if (rec_sum(b + off, RECHDR + (size_t)len) != sum) {
			snprintf(r->why, sizeof r->why, "bad checksum at offset %zu", off);
			break;
		}
		unsigned want = r->next[tid][k];
		if (seq != want)
			snprintf(r->why, sizeof r->why,
				 "thread %d %s: record %u where %u was expected (offset %zu)",
				 tid, k ? "app.own" : "app.sh", seq, want, off);
		else
			r->next[tid][k]++;
		r->n++;
		off += RECHDR + len;
	}
	free(b);
}

/* ---- setup ---- */

static void file_create(struct file *f, uint64_t *rng, size_t size)
{
	snprintf(f->path, sizeof f->path, "%s/%s", dir, f->name);
	f->size = size;
	f->shadow = xcalloc(size, 1);
	for (size_t i = 0; i < size; i++)
		f->shadow[i] = (unsigned char)mix(rng);
	int fd = xopen(f->path, O_RDWR | O_CREAT | O_TRUNC);
	if (size)
		xpwrite_all(fd, f->shadow, size, 0);
	close(fd);
}

static void fdh_open(struct fdh *h, int flags)
{
	h->fd = open(h->f->path, flags);
	if (h->fd < 0)
		DIE("open %s: %s", h->f->path, strerror(errno));
	if (cold && h->f->kind != F_DIRECT && h->rd && !h->shared)
		posix_fadvise(h->fd, 0, 0, POSIX_FADV_RANDOM);
}

static void fdh_init(struct th *t, struct fdh *h, const char *name, struct file *f,
		     int flags)
{
	int acc = flags & O_ACCMODE;
	h->name = name;
	h->f = f;
	h->rd = acc != O_WRONLY;
	h->wr = acc != O_RDONLY;
	h->shared = 0;
	h->app = f->kind == F_APPEND ? 1 : -1;
	fdh_open(h, flags);
	t->fds[t->nfd++] = h;
}

static void shared_setup(uint64_t *rng)
{
	file_create(&f_sh, rng, SHSIZE);
	file_create(&f_dio, rng, SHSIZE);
	file_create(&f_app, rng, 0);
	fdh_open(&sh_rw, O_RDWR);
	fdh_open(&sh_cx, O_RDONLY);
	if (have_direct)
		fdh_open(&dio_rw, O_RDWR | O_DIRECT);
	fdh_open(&app_sh, O_WRONLY | O_APPEND);
	sh_rw.app = sh_cx.app = dio_rw.app = -1;
	app_sh.app = 0;
}

static void th_setup(struct th *t)
{
	int p[2];
	t->priv.name = "priv";
	t->priv.kind = F_PRIV;
	snprintf(t->priv.path, sizeof t->priv.path, "%s/t%d-priv", dir, t->id);
	t->priv.size = 4096 + below(t, PRIV_MAX - 4096);
	t->priv.shadow = xcalloc(t->priv.size, 1);
	for (size_t i = 0; i < t->priv.size; i++)
		t->priv.shadow[i] = (unsigned char)rnd(t);
	int fd = xopen(t->priv.path, O_RDWR | O_CREAT | O_TRUNC);
	xpwrite_all(fd, t->priv.shadow, t->priv.size, 0);
	close(fd);

	t->fds[t->nfd++] = &sh_rw;
	t->fds[t->nfd++] = &sh_cx;
	t->fds[t->nfd++] = &app_sh;
	if (have_direct)
		t->fds[t->nfd++] = &dio_rw;
	fdh_init(t, &t->sh_own, "sh.own", &f_sh, O_RDWR | (t->id & 1 ? O_DSYNC : 0));
	if (have_direct)
		fdh_init(t, &t->dio_own, "dio.own", &f_dio, O_RDWR | O_DIRECT);
	fdh_init(t, &t->app_own, "app.own", &f_app, O_RDWR | O_APPEND);
	fdh_init(t, &t->priv_rw, "priv", &t->priv, O_RDWR);
	if (pipe(p))
		DIE("pipe: %s", strerror(errno));
	static struct file pipes[MAXT];
	pipes[t->id].name = "pipe";
	pipes[t->id].kind = F_PIPE;
	t->pipe_r = (struct fdh){ .name = "pipe.r", .fd = p[0], .f = &pipes[t->id], .rd = 1, .app = -1 };
	t->pipe_w = (struct fdh){ .name = "pipe.w", .fd = p[1], .f = &pipes[t->id], .wr = 1, .app = -1 };
	t->rb_sh = xopen(f_sh.path, O_RDONLY);
	t->rb_app = xopen(f_app.path, O_RDONLY);
	t->rb_priv = xopen(t->priv.path, O_RDONLY);
	t->rb_dio = have_direct ? xopen(f_dio.path, O_RDONLY | O_DIRECT) : -1;
	for (int i = 0; i < NSLOT; i++) {
		t->slots[i].buf = xalign(MAXIO);
		t->slots[i].st = S_FRESH;
	}
}

/* ---- requests ---- */

static void region(struct th *t, const struct file *f, size_t *lo, size_t *hi)
{
	if (f->kind == F_PRIV) {
		*lo = 0;
		*hi = f->size;
	} else {
		*lo = COMMON + (size_t)t->id * REGION;
		*hi = *lo + REGION;
	}
}

/* Nothing joins a fd of the thread's own while a request a cancel was tried
 * on is pending there (glibc, see gen.c). */
static int own_blocked(struct th *t, const struct fdh *h)
{
	for (int i = 0; i < NSLOT; i++) {
		const struct slot *o = &t->slots[i];
		if (o->st == S_PENDING && !h->shared && o->h == h && o->cancel_own)
			return 1;
	}
	return 0;
}

/* May s be issued now? Not over bytes a pending write of this thread
 * changes (reads and writes), nor over bytes a pending read reads (writes). */
static int may_issue(struct th *t, const struct slot *s)
{
	if (own_blocked(t, s->h))
		return 0;
	for (int i = 0; i < NSLOT; i++) {
		const struct slot *o = &t->slots[i];
		if (o == s || o->st != S_PENDING)
			continue;
		if (o->h->f != s->h->f || s->pred_err || o->pred_err ||
		    (s->op != OP_READ && s->op != OP_WRITE) ||
		    (o->op != OP_READ && o->op != OP_WRITE) ||
		    (s->op == OP_READ && o->op == OP_READ))
			continue;
		if (overlap(s->off, s->n, o->off, o->n))
			return 0;
	}
	return 1;
}

static size_t pick_len(struct th *t)
{
	unsigned k = below(t, 10);
	if (k == 0)
		return 0;
	if (k <= 2)
		return 1 + below(t, 16);
	if (k <= 6)
		return 1 + below(t, 4096);
	if (k <= 8)
		return 4096 * (1 + (size_t)below(t, 8));
	return 1 + below(t, MAXIO);
}

/* A range in [lo, hi): O_DIRECT ones in whole blocks. */
static void pick_in(struct th *t, struct slot *s, size_t lo, size_t hi)
{
	if (s->h->f->kind == F_DIRECT) {
		size_t blocks = (hi - lo) / 4096;
		s->n = 4096 * (1 + (size_t)below(t, 16));
		s->off = (off_t)(lo + 4096 * below(t, (unsigned)(blocks - s->n / 4096 + 1)));
		return;
	}
	s->n = pick_len(t);
	if (s->n > hi - lo)
		s->n = hi - lo;
	if (chance(t, 40))
		s->off = (off_t)(lo + 4096 * below(t, (unsigned)((hi - lo - s->n) / 4096 + 1)));
	else
		s->off = (off_t)(lo + below(t, (unsigned)(hi - lo - s->n + 1)));
}

static void set_sigev(struct th *t, struct slot *s)
{
	struct sigevent *sev = &s->cb.aio_sigevent;
	unsigned k = below(t, 100);
	memset(sev, 0, sizeof *sev);
	if (k < 12)
		return;	/* zeroed: SIGEV_SIGNAL with signal 0, no notification */
	if (k < 20) {
		sev->sigev_notify = SIGEV_THREAD;
		sev->sigev_notify_function = notify_fn;
		sev->sigev_value.sival_ptr = &t->notified;
		return;
	}
	sev->sigev_notify = SIGEV_NONE;
}

static const char *opname(enum sop op)
{
	static const char *const names[] = { "read", "write", "append", "fsync",
					     "pipe read", "pipe write" };
	return names[op];
}

static void slot_reset(struct slot *s, enum sop op, struct fdh *h)
{
	memset(&s->cb, 0, sizeof s->cb);
	s->op = op;
	s->h = h;
	s->off = 0;
	s->n = 0;
	s->pred_err = 0;
	s->pred_ret = 0;
	s->pred_hash = 0;
	s->uncertain = 0;
	s->cancel_ans = -2;
	s->cancel_own = 0;
	s->fs_n = 0;
	s->cb.aio_fildes = h->fd;
}

static void describe(struct slot *s, int idx)
{
	if (s->op == OP_APPEND || s->op == OP_PREAD || s->op == OP_PWRITE)
		snprintf(s->desc, sizeof s->desc, "s%d %s %s record %u n %zu", idx,
			 opname(s->op), s->h->name, s->rec, s->n);
	else if (s->op == OP_FSYNC)
		snprintf(s->desc, sizeof s->desc, "s%d fsync %s", idx, s->h->name);
	else
		snprintf(s->desc, sizeof s->desc, "s%d %s %s off %lld n %zu prio %d", idx,
			 opname(s->op), s->h->name, (long long)s->off, s->n,
			 s->cb.aio_reqprio);
}

static void predict_read(struct slot *s)
{
	struct file *f = s->h->f;
	if (!s->h->rd) {
		s->pred_err = EBADF;
		s->pred_ret = -1;
		return;
	}
	size_t got = (size_t)s->off >= f->size ? 0 : f->size - (size_t)s->off;
	if (got > s->n)
		got = s->n;
	s->pred_ret = (ssize_t)got;
	uint64_t h = fnv(FNV0, f->shadow + s->off, got);
	for (size_t i = got; i < s->n; i++)
		h = fnv(h, &s->buf[i], 1);
	s->pred_hash = h;
}

static struct fdh *pick_fd(struct th *t, int (*ok)(const struct fdh *))
{
	struct fdh *c[12];
	int n = 0;
	for (int i = 0; i < t->nfd; i++)
		if (ok(t->fds[i]))
			c[n++] = t->fds[i];
	return n ? c[below(t, (unsigned)n)] : NULL;
}

static int fd_readable(const struct fdh *h)
{
	return h->rd && h->f->kind != F_APPEND;
}

static int fd_writable(const struct fdh *h)
{
	return h->wr && h->f->kind != F_APPEND;
}

static int fd_file(const struct fdh *h)
{
	return h != &sh_cx;
}

/* Sets up a read or a write in slot s: 0, or -1 when every try was in
 * the way of a pending request. nocx: not on sh.cx (a LIO_WAIT list). */
static int gen_rw(struct th *t, int idx, enum sop op, int nocx)
{
	struct slot *s = &t->slots[idx];
	for (int tries = 0; tries < 8; tries++) {
		struct fdh *h;
		if (chance(t, 3))	/* the wrong open mode: EBADF */
			h = op == OP_READ ? &app_sh : &sh_cx;
		else
			h = pick_fd(t, op == OP_READ ? fd_readable : fd_writable);
		if (nocx && h == &sh_cx)
			continue;
		slot_reset(s, op, h);
		size_t lo, hi;
		region(t, h->f, &lo, &hi);
		if (h->f->kind == F_APPEND) {
			lo = 0;
			hi = 4096;
		} else if (op == OP_READ && h->f->kind != F_PRIV && chance(t, 25)) {
			lo = 0;
			hi = COMMON;
		}
		pick_in(t, s, lo, hi);
		if (op == OP_READ && h->f->kind == F_PRIV && chance(t, 15))
			s->off = (off_t)(h->f->size - below(t, (unsigned)s->n + 1) +
					 below(t, 2) * below(t, 8192));
		if (op == OP_READ && chance(t, 30))
			s->cb.aio_reqprio = 1 + (int)below(t, 20);
		if (op == OP_WRITE && !h->wr) {
			s->pred_err = EBADF;
			s->pred_ret = -1;
		}
		if (!may_issue(t, s))
			continue;
		s->cb.aio_buf = s->buf;
		s->cb.aio_nbytes = s->n;
		s->cb.aio_offset = s->off;
		s->uncertain = h == &sh_cx;
		if (op == OP_WRITE) {
			rec_fill(s->buf, s->n, rnd(t));
			if (!s->pred_err)
				s->pred_ret = (ssize_t)s->n;
		} else {
			memset(s->buf, (unsigned char)(0x5a ^ t->step), s->n ? s->n : 1);
			predict_read(s);
		}
		set_sigev(t, s);
		describe(s, idx);
		return 0;
	}
	return -1;
}

static void gen_append(struct th *t, int idx)
{
	struct slot *s = &t->slots[idx];
	struct fdh *h = chance(t, 50) || own_blocked(t, &t->app_own) ? &app_sh : &t->app_own;
	slot_reset(s, OP_APPEND, h);
	unsigned k = below(t, 10);
	s->n = RECHDR + (k < 6 ? below(t, 200) : k < 9 ? below(t, 4096) : below(t, 16384));
	s->rec = t->app_next[h->app]++;
	rec_make(s->buf, s->n, t->id, h->app, s->rec);
	s->cb.aio_buf = s->buf;
	s->cb.aio_nbytes = s->n;
	s->cb.aio_offset = (off_t)below(t, 1 << 20);	/* ignored: O_APPEND */
	s->pred_ret = (ssize_t)s->n;
	set_sigev(t, s);
	describe(s, idx);
}

static void accepted(struct th *t, int idx)
{
	struct slot *s = &t->slots[idx];
	s->st = S_PENDING;
	s->sub_step = t->step;
	s->gen++;
	if (s->cb.aio_sigevent.sigev_notify == SIGEV_THREAD)
		t->notify_expected++;
}

/* ---- waiting and results ---- */

/* Waits until no slot of idx[] is in progress (gen.c's wait_set: suspend
 * lists that mix in NULLs, other pending requests, every kind of timeout;
 * the loop's choices come from lr, seeded once). */
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
		static const struct timespec tss[] = {
			{ 0, 0 }, { 0, 1000 }, { 0, 1000000 }, { 0, 20000000 }, { 2, 0 },
		};
		unsigned c = (unsigned)(mix(&lr) % 6);
		errno = 0;
		int r = x_suspend(&lr, l, n, c == 5 ? NULL : &tss[c]);
		if (r == -1 && errno != EAGAIN && errno != EINTR && !bad) {
			bad = 1;
			out(t, "aio_suspend while waiting: -1 %s", errname(errno));
		}
		first = 0;
	}
	wait_end(t->id);
}

/* The file as this thread can know it when fsync s is seen done: what it
 * has seen written, plus the fd's earlier writes (done, if fsync waited for
 * them); bytes other pending writes change are left out. */
static void fsync_readback(struct th *t, struct slot *s, int idx, int quiet)
{
	struct file *f = s->h->f;
	size_t lo, hi;
	region(t, f, &lo, &hi);
	size_t n = hi - lo, known = 0, at = SIZE_MAX;
	unsigned char *want = xmalloc(n), *mask = xcalloc(n, 1), *got = xalign(n);
	memcpy(want, f->shadow + lo, n);
	for (int i = 0; i < NSLOT; i++) {
		struct slot *w = &t->slots[i];
		if (w->st != S_PENDING || w->op != OP_WRITE || w->h->f != f || w->pred_err)
			continue;
		int earlier = 0;
		for (int j = 0; j < s->fs_n; j++)
			earlier |= s->fs_slot[j] == i && s->fs_gen[j] == w->gen;
		if (earlier)
			memcpy(want + (w->off - (off_t)lo), w->buf, w->n);
		else
			memset(mask + (w->off - (off_t)lo), 1, w->n);
	}
	xpread_all(f->kind == F_DIRECT ? t->rb_dio : f->kind == F_PRIV ? t->rb_priv : t->rb_sh,
		   got, n, (off_t)lo);
	for (size_t i = 0; i < n; i++) {
		if (mask[i])
			continue;
		known++;
		if (got[i] != want[i] && at == SIZE_MAX)
			at = i;
	}
	if (at == SIZE_MAX && !quiet)
		out(t, "fsync s%d: the fd's earlier writes done, %zu bytes read back as known",
		    idx, known);
	else if (at != SIZE_MAX)
		out(t, "fsync s%d: read back differs at offset %zu", idx, lo + at);
	free(want);
	free(mask);
	free(got);
}

/* quiet: a cancel was tried on s (done or cancelled: timing), so only
 * what is wrong is printed. */
static void fsync_done(struct th *t, struct slot *s, int idx, int quiet)
{
	int late = -1;
	for (int i = 0; i < s->fs_n; i++) {
		struct slot *w = &t->slots[s->fs_slot[i]];
		if (w->gen == s->fs_gen[i] && w->st == S_PENDING &&
		    aio_error(&w->cb) == EINPROGRESS)
			late = s->fs_slot[i];
	}
	if (late >= 0) {
		out(t, "fsync s%d done before the fd's earlier write s%d", idx, late);
		return;
	}
	if (s->h->f->kind != F_APPEND) {
		fsync_readback(t, s, idx, quiet);
		return;
	}
	struct recs r;
	recs_walk(t->rb_app, &r, 0);
	if (r.why[0])
		out(t, "fsync s%d: append file: %s", idx, r.why);
	else if (r.next[t->id][s->h->app] < s->fs_seq)
		out(t, "fsync s%d: %u of the fd's %u earlier records in the file", idx,
		    r.next[t->id][s->h->app], s->fs_seq);
	else if (!quiet)
		out(t, "fsync s%d: the fd's %u earlier records in the file, in order",
		    idx, s->fs_seq);
}

static const char *cancel_clash(const struct slot *s, int e)
{
	if (s->cancel_ans == AIO_CANCELED && e != ECANCELED)
		return "AIO_CANCELED";
	if (s->cancel_ans == AIO_NOTCANCELED && e == ECANCELED)
		return "AIO_NOTCANCELED";
	if (s->cancel_ans == AIO_ALLDONE && s->cancel_own && e == ECANCELED)
		return "AIO_ALLDONE";
	return NULL;
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
	if (s->op == OP_READ || s->op == OP_PREAD)
		h = fnv(FNV0, s->buf, s->n);
	if (s->uncertain || s->cancel_ans != -2) {
		errno = 0;
		ssize_t r = x_return(&t->rng, &s->cb);
		const char *clash = cancel_clash(s, e);
		s->ret = r;
		s->st = S_RETURNED;
		if (clash)
			out(t, "reap %s (step %d): cancel said %s, yet error %s", s->desc,
			    s->sub_step, clash, errname(e));
		else if ((e == ECANCELED && r == -1) ||
			 (e == s->pred_err && r == s->pred_ret &&
			  (s->op != OP_READ || e || h == s->pred_hash)))
			out(t, "reap %s (step %d): cancelled or done right", s->desc,
			    s->sub_step);
		else
			out(t, "reap %s (step %d): after cancel: error %s return %zd",
			    s->desc, s->sub_step, errname(e), r);
		if (s->op == OP_FSYNC && e == 0)
			fsync_done(t, s, idx, 1);
		return;
	}
	char data[64] = "";
	int model_ok = e == s->pred_err;
	if ((s->op == OP_READ || s->op == OP_PREAD) && e == 0) {
		snprintf(data, sizeof data, " data %016llx", (unsigned long long)h);
		model_ok &= h == s->pred_hash;
		if (h != s->pred_hash && getenv("DIFF_DEBUG"))
			fprintf(stderr, "%d.%d: %s differs from the model\n", t->id,
				t->step, s->desc);
	}
	if (want_return) {
		errno = 0;
		ssize_t r = x_return(&t->rng, &s->cb);
		s->ret = r;
		s->st = S_RETURNED;
		model_ok &= r == s->pred_ret;
		out(t, "reap %s (step %d): error %s return %zd%s%s", s->desc, s->sub_step,
		    errname(e), r, data, model_ok ? "" : " (not what the model says)");
	} else {
		s->st = S_DONE;
		out(t, "reap %s (step %d): error %s%s%s", s->desc, s->sub_step, errname(e),
		    data, model_ok ? "" : " (not what the model says)");
	}
	if (s->op == OP_WRITE && e == 0 && !s->pred_err && s->n)
		memcpy(s->h->f->shadow + s->off, s->buf, s->n);
	if (s->op == OP_FSYNC && e == 0)
		fsync_done(t, s, idx, 0);
}

/* ---- steps ---- */

static void submit(struct th *t, int idx)
{
	struct slot *s = &t->slots[idx];
	if (cold && s->op == OP_READ && s->h->rd &&
	    (s->h->f->kind == F_SHARED || s->h->f->kind == F_PRIV))
		cold_note(s->h->f == &f_sh ? t->rb_sh : t->rb_priv, s->off, s->n, s->h->f->size);
	errno = 0;
	int r = s->op == OP_READ || s->op == OP_PREAD ? x_read(&t->rng, &s->cb)
						      : x_write(&t->rng, &s->cb);
	out(t, "submit %s: %s", s->desc, rc(r, errno));
	if (r == 0)
		accepted(t, idx);
	else
		s->st = S_FRESH;
}

static void op_rw(struct th *t, enum sop op)
{
	int idx = free_slot(t);
	if (idx < 0) {
		op_reap(t);
		return;
	}
	if (gen_rw(t, idx, op, 0) < 0) {
		t->slots[idx].st = S_FRESH;
		out(t, "submit: every choice was in the way");
		return;
	}
	submit(t, idx);
}

static void op_append(struct th *t)
{
	int idx = free_slot(t);
	if (idx < 0) {
		op_reap(t);
		return;
	}
	gen_append(t, idx);
	submit(t, idx);
}

static void op_fsync(struct th *t)
{
	int idx = free_slot(t);
	if (idx < 0) {
		op_reap(t);
		return;
	}
	struct slot *s = &t->slots[idx];
	struct fdh *h = pick_fd(t, fd_file);
	if (h == &sh_cx || own_blocked(t, h))
		return;
	slot_reset(s, OP_FSYNC, h);
	for (int i = 0; i < NSLOT; i++) {
		struct slot *w = &t->slots[i];
		if (w->st == S_PENDING && w->h == h && (w->op == OP_WRITE || w->op == OP_APPEND)) {
			s->fs_slot[s->fs_n] = i;
			s->fs_gen[s->fs_n++] = w->gen;
		}
	}
	if (h->app >= 0)
		s->fs_seq = t->app_next[h->app];
	set_sigev(t, s);
	describe(s, idx);
	int sync = chance(t, 50);
	errno = 0;
	int r = x_fsync(&t->rng, sync ? O_SYNC : O_DSYNC, &s->cb);
	out(t, "submit %s %s: %s", s->desc, sync ? "O_SYNC" : "O_DSYNC", rc(r, errno));
	if (r == 0)
		accepted(t, idx);
	else
		s->st = S_FRESH;
}

/* The pipe: a write of the next record while few bytes are unread, or a
 * read of exactly the next record written. */
static void op_pipe(struct th *t, int want_read)
{
	int idx = free_slot(t);
	if (idx < 0) {
		op_reap(t);
		return;
	}
	struct slot *s = &t->slots[idx];
	size_t n = 1 + below(t, chance(t, 50) ? 64 : PIPE_BUF);
	int rd = t->pipe_rd < t->pipe_wr &&
		 (want_read || t->pipe_out + n > PIPE_LIMIT || t->pipe_wr - t->pipe_rd >= NPIPE);
	if (!rd && (t->pipe_out + n > PIPE_LIMIT || t->pipe_wr - t->pipe_rd >= NPIPE))
		return;
	if (rd) {
		slot_reset(s, OP_PREAD, &t->pipe_r);
		s->rec = t->pipe_rd++;
		s->n = t->pipe_len[s->rec % NPIPE];
		t->pipe_out -= s->n;
		rec_fill(s->buf, s->n, pipe_key(t->id, s->rec));
		s->pred_hash = fnv(FNV0, s->buf, s->n);
		memset(s->buf, 0, s->n);
	} else {
		slot_reset(s, OP_PWRITE, &t->pipe_w);
		s->rec = t->pipe_wr++;
		s->n = n;
		t->pipe_len[s->rec % NPIPE] = (uint16_t)n;
		t->pipe_out += n;
		rec_fill(s->buf, s->n, pipe_key(t->id, s->rec));
	}
	s->pred_ret = (ssize_t)s->n;
	s->cb.aio_buf = s->buf;
	s->cb.aio_nbytes = s->n;
	s->cb.aio_offset = (off_t)below(t, 100000);	/* ignored on a pipe */
	set_sigev(t, s);
	describe(s, idx);
	submit(t, idx);
}

static void op_lio(struct th *t)
{
	int mode = chance(t, 50) ? LIO_WAIT : LIO_NOWAIT;
	int n = 1 + (int)below(t, 8), ents[8];
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
		if (k < 8 || !nc) {
			out(t, "  entry %d NULL", i);
			continue;
		}
		int idx = c[below(t, (unsigned)nc)];
		struct slot *s = &t->slots[idx];
		used[idx] = 1;
		if (k < 16 && s->st == S_FRESH) {
			s->cb.aio_lio_opcode = LIO_NOP;
			list[i] = &s->cb;
			out(t, "  entry %d LIO_NOP s%d", i, idx);
			continue;
		}
		if (k < 40) {
			gen_append(t, idx);
			s->cb.aio_lio_opcode = LIO_WRITE;
		} else {
			enum sop op = k < 70 ? OP_READ : OP_WRITE;
			if (gen_rw(t, idx, op, mode == LIO_WAIT) < 0) {
				s->st = S_FRESH;
				out(t, "  entry %d NULL (every choice was in the way)", i);
				continue;
			}
			s->cb.aio_lio_opcode = op == OP_READ ? LIO_READ : LIO_WRITE;
		}
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
	} else if (k < 70) {
		sev.sigev_notify = SIGEV_NONE;
		sevp = &sev;
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
	    sev.sigev_notify == SIGEV_THREAD ? "SIGEV_THREAD" : "SIGEV_NONE", rc(r, e));
	if (mode == LIO_WAIT)
		for (int i = 0; i < n; i++)
			if (ents[i] >= 0)
				finish(t, ents[i], chance(t, 75));
}

static int pick_slot(struct th *t, int (*ok)(const struct slot *))
{
	int c[NSLOT], n = 0;
	for (int i = 0; i < NSLOT; i++)
		if (ok(&t->slots[i]))
			c[n++] = i;
	return n ? c[below(t, (unsigned)n)] : -1;
}

static int is_queryable(const struct slot *s)
{
	return is_done(s) && !s->uncertain && s->cancel_ans == -2;
}

/* A read or fsync on a fd of the thread's own, not cancelled yet. */
static int is_own_cancellable(const struct slot *s)
{
	return s->st == S_PENDING && !s->h->shared && s->cancel_ans == -2 &&
	       (s->op == OP_READ || s->op == OP_FSYNC);
}

static int is_cx(const struct slot *s)
{
	return s->st == S_PENDING && s->h == &sh_cx && s->cancel_ans == -2;
}

static void op_cancel(struct th *t)
{
	unsigned k = below(t, 100);
	if (k < 35) {
		int idx = pick_slot(t, is_own_cancellable);
		if (idx < 0)
			return;
		struct slot *s = &t->slots[idx];
		s->cancel_own = 1;
		s->cancel_ans = AIO_NOTCANCELED;	/* as if glibc was let alone */
		errno = 0;
		if (is_kaio || pending_on(t, s->h->fd) <= 1)
			s->cancel_ans = x_cancel(&t->rng, s->h->fd, &s->cb);
		else
			mix(&t->rng);	/* as x_cancel */
		if (s->cancel_ans == -1)
			out(t, "cancel %s: -1 %s", s->desc, errname(errno));
		else
			out(t, "cancel %s", s->desc);
		return;
	}
	if (k < 70) {
		/* Every thread's reads on sh.cx are uncertain from the start. */
		errno = 0;
		int r = is_kaio ? x_cancel(&t->rng, sh_cx.fd, NULL) : (int)(mix(&t->rng) & 0);
		if (r == -1)
			out(t, "cancel sh.cx NULL: -1 %s", errname(errno));
		else
			out(t, "cancel sh.cx NULL");
		return;
	}
	if (k < 85) {
		int idx = pick_slot(t, is_cx);
		if (idx < 0)
			return;
		struct slot *s = &t->slots[idx];
		errno = 0;
		s->cancel_ans = is_kaio ? x_cancel(&t->rng, sh_cx.fd, &s->cb)
					: (int)(mix(&t->rng) & 0) + AIO_ALLDONE;
		if (s->cancel_ans == -1)
			out(t, "cancel %s: -1 %s", s->desc, errname(errno));
		else
			out(t, "cancel %s", s->desc);
		return;
	}
	/* A request seen done: nothing to cancel, on any fd. */
	int idx = pick_slot(t, is_done);
	if (idx < 0)
		return;
	struct slot *s = &t->slots[idx];
	errno = 0;
	int r = x_cancel(&t->rng, s->h->fd, &s->cb);
	out(t, "cancel done s%d: %s", idx, r == -1 ? rc(r, errno) : cancelname(r));
}

static void op_query(struct th *t)
{
	int idx = pick_slot(t, is_queryable);
	if (idx < 0)
		return;
	struct slot *s = &t->slots[idx];
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
	int n = 1 + (int)below(t, 6);
	if (chance(t, 30)) {
		/* Pending entries, {0,0}: the answer depends on timing. */
		for (int i = 0; i < n; i++) {
			int idx = pick_slot(t, is_pending);
			l[i] = idx < 0 ? NULL : &t->slots[idx].cb;
		}
		struct timespec z = { 0, 0 };
		x_suspend(&t->rng, l, n, &z);
		out(t, "suspend {0,0} on %d entries", n);
		return;
	}
	for (int i = 0; i < n; i++) {
		int idx = chance(t, 25) ? -1 : pick_slot(t, is_done);
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

/* Cold mode: a file's pages leave the cache, whatever is pending on it. */
static void op_drop(struct th *t)
{
	static const char *const names[] = { "shared", "append", "priv" };
	unsigned k = below(t, 3);
	cache_drop(k == 0 ? t->rb_sh : k == 1 ? t->rb_app : t->rb_priv);
	out(t, "drop the cache of %s", names[k]);
}

/* ---- a thread's run ---- */

static void checksum(struct th *t, struct file *f, int fd)
{
	size_t lo, hi;
	region(t, f, &lo, &hi);
	unsigned char *b = xalign(hi - lo);
	xpread_all(fd, b, hi - lo, (off_t)lo);
	uint64_t h = fnv(FNV0, b, hi - lo);
	int model = !memcmp(b, f->shadow + lo, hi - lo);
	out(t, "%s %s: %zu bytes fnv %016llx%s", f->name,
	    f->kind == F_PRIV ? "file" : "region", hi - lo, (unsigned long long)h,
	    model ? "" : " (not what the model says)");
	free(b);
}

static void *th_run(void *arg)
{
	struct th *t = arg;
	int steps = 60 + (int)below(t, 140);
	th_setup(t);
	out(t, "thread %d: %d steps, %d fds and a pipe", t->id, steps, t->nfd);
	for (t->step = 1; t->step <= steps; t->step++) {
		if (cold && chance(t, 10)) {
			op_drop(t);
			continue;
		}
		unsigned k = below(t, 100);
		if (k < 18)
			op_rw(t, OP_READ);
		else if (k < 32)
			op_rw(t, OP_WRITE);
		else if (k < 42)
			op_append(t);
		else if (k < 48)
			op_fsync(t);
		else if (k < 56)
			op_lio(t);
		else if (k < 64)
			op_pipe(t, chance(t, 50));
		else if (k < 82)
			op_reap(t);
		else if (k < 86)
			op_suspend(t);
		else if (k < 93)
			op_cancel(t);
		else
			op_query(t);
	}
	/* The end: the pipe read dry, every request waited for, every
	 * notification counted. */
	while (t->pipe_rd < t->pipe_wr)
		op_pipe(t, 1);
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
	out(t, "records: %u on app.sh, %u on app.own, %u through the pipe", t->app_next[0],
	    t->app_next[1], t->pipe_wr);
	checksum(t, &f_sh, t->rb_sh);
	if (have_direct)
		checksum(t, &f_dio, t->rb_dio);
	checksum(t, &t->priv, t->rb_priv);
	for (int i = 0; i < t->nfd; i++)
		if (!t->fds[i]->shared)
			close(t->fds[i]->fd);
	close(t->pipe_r.fd);
	close(t->pipe_w.fd);
	return NULL;
}

/* After every thread: the parts nobody wrote, the append file. */
static void main_checks(void)
{
	int fd = xopen(f_sh.path, O_RDONLY);
	unsigned char *b = xalign(COMMON);
	xpread_all(fd, b, COMMON, 0);
	printf("main shared: common part %s\n",
	       memcmp(b, f_sh.shadow, COMMON) ? "changed" : "as written at the start");
	close(fd);
	if (have_direct) {
		fd = xopen(f_dio.path, O_RDONLY | O_DIRECT);
		xpread_all(fd, b, COMMON, 0);
		printf("main direct: common part %s\n",
		       memcmp(b, f_dio.shadow, COMMON) ? "changed" : "as written at the start");
		close(fd);
	}
	free(b);

	struct recs r;
	fd = xopen(f_app.path, O_RDONLY);
	recs_walk(fd, &r, 1);
	close(fd);
	int whole = !r.why[0];
	for (int i = 0; i < nt; i++)
		for (int k = 0; k < 2; k++)
			if (whole && r.next[i][k] != threads[i].app_next[k]) {
				snprintf(r.why, sizeof r.why, "thread %d %s: %u of %u records",
					 i, k ? "app.own" : "app.sh", r.next[i][k],
					 threads[i].app_next[k]);
				whole = 0;
			}
	if (whole)
		printf("main append: %u records, each once, each thread's in call order "
		       "on each fd\n", r.n);
	else
		printf("main append: %s\n", r.why);
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
	uint64_t seed = strtoull(argv[1], NULL, 0), rng = seed ^ 0x6d74;
	dir = argv[2];
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	have_direct = direct_works(dir);
	if (cold)
		cold_check(dir);

	nt = 2 + (int)(mix(&rng) % 3);
	printf("main seed %llu: %d threads, O_DIRECT %s%s\n", (unsigned long long)seed, nt,
	       have_direct ? "yes" : "no (the file system refuses it)",
	       cold ? ", cold (page cache dropped at random steps)" : "");

	/* As gen.c: more glibc threads than fds ever busy at once. */
	struct aioinit init;
	memset(&init, 0, sizeof init);
	init.aio_threads = 64;
	init.aio_num = 256;
	init.aio_idle_time = 1;
	aio_init(&init);

	shared_setup(&rng);
	watchdog_start(stuck_dump);
	pthread_t tids[MAXT];
	for (int i = 0; i < nt; i++) {
		threads[i].id = i;
		threads[i].rng = mix(&rng) ^ (uint64_t)i;
	}
	for (int i = 0; i < nt; i++)
		if (pthread_create(&tids[i], NULL, th_run, &threads[i]))
			DIE("pthread_create");
	for (int i = 0; i < nt; i++)
		pthread_join(tids[i], NULL);
	for (int i = 0; i < nt; i++)
		fwrite(threads[i].o.p, 1, threads[i].o.len, stdout);
	main_checks();
	fflush(stdout);
	if (cold)
		cold_report();
	return 0;
}
