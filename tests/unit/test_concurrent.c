/*
 * Ordering promises while several threads submit at once. io_submit is
 * scripted (wrap.h's submit_hook): it takes short batches, refuses some
 * calls (EINVAL: served synchronously; EAGAIN), and sleeps inside the call,
 * so that another thread submits, cancels or forks while a batch is in the
 * kernel's hands (an engine that holds its lock across io_submit simply
 * makes the others wait). What must hold:
 *   - appending writes on one fd land in call order, each exactly once;
 *   - an fsync reaches the kernel only once the fd's earlier writes are done;
 *   - aio_cancel of a request being submitted answers truthfully: CANCELED
 *     and it never runs, or NOTCANCELED/ALLDONE and it completes with its data;
 *   - fork while a thread sleeps inside io_submit leaves a working child.
 * The call order is the test's own: a mutex around each submitting call. The
 * hook identifies a request by its buffer (arena[i] is request i's). Worker
 * threads count failures; the main thread asserts after joining them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kaio.h"
#include "engine.h"
#include "wrap.h"
#include "quiet.h"

#define BS 4096
#define DEPTH 8
#define NREQ 2048
#define HANG_SEC 30	/* a hang guard only */

static char dir[] = "/tmp/kaio-conc-XXXXXX";
static char (*arena)[BS];	/* request i writes arena[i] */
static struct aiocb cbs[NREQ];
static _Atomic int accepted[NREQ], refused[NREQ];

/* The test's record for request i: its number, then a pattern. */
static void fill(char *buf, long i)
{
	for (int k = 0; k < BS; k++)
		buf[k] = (char)(i * 7 + k * 13 + 1);
	memcpy(buf, &i, sizeof i);
}

static int same(const char *buf, long i)
{
	char want[BS];

	fill(want, i);
	return memcmp(buf, want, BS) == 0;
}

static int zero(const char *buf)
{
	for (int k = 0; k < BS; k++)
		if (buf[k])
			return 0;
	return 1;
}

static long idx_of(const struct iocb *io)
{
	uintptr_t b = (uintptr_t)io->u.c.buf, a = (uintptr_t)arena;

	if (io->aio_lio_opcode != IO_CMD_PREAD && io->aio_lio_opcode != IO_CMD_PWRITE)
		return -1;
	if (b < a || b >= a + (uintptr_t)NREQ * BS || (b - a) % BS)
		return -1;
	return (long)((b - a) / BS);
}

static void prep(struct aiocb *cb, int fd, void *buf, size_t n, off_t off)
{
	memset(cb, 0, sizeof *cb);
	cb->aio_fildes = fd;
	cb->aio_buf = buf;
	cb->aio_nbytes = n;
	cb->aio_offset = off;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 0 once cb is done, -1 after HANG_SEC. */
static int wait_done(const struct aiocb *cb)
{
	const struct aiocb *l[1] = { cb };
	struct timespec slice = { 0, 50000000 };
	double end = now() + HANG_SEC;

	while (kaio_error(cb) == EINPROGRESS) {
		if (now() > end)
			return -1;
		kaio_suspend(l, 1, &slice);
	}
	return 0;
}

/* Error code without touching the engine (usable inside io_submit). */
static int err_of(const struct aiocb *cb)
{
	return __atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE);
}

static unsigned rnd(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return (unsigned)(x ^ (x >> 33));
}

/*
 * The scripted io_submit. A test's plan says, per call, how long to sleep
 * first, how many iocbs the kernel takes, or which error refuses the call.
 * The real call and the bookkeeping of what it took are serialized, so the
 * order seen here is the order the kernel saw.
 */
struct plan {
	int delay_us;
	long n;
	int err;
};

static struct {
	pthread_mutex_t kernel;
	_Atomic int inside, max_inside;
	_Atomic unsigned long calls;
	void (*_Atomic plan)(unsigned long call, long n, struct iocb **iocbs, struct plan *p);
	void (*_Atomic taken)(struct iocb *io);	/* each iocb the kernel took */
} h = { .kernel = PTHREAD_MUTEX_INITIALIZER };

static int hook(io_context_t ctx, long n, struct iocb **iocbs)
{
	unsigned long c = h.calls++;
	struct plan p = { 0, n, 0 };
	int in = ++h.inside, r;

	for (int m = h.max_inside; in > m && !__atomic_compare_exchange_n(
		     &h.max_inside, &m, in, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);)
		;
	if (h.plan)
		h.plan(c, n, iocbs, &p);
	if (p.delay_us)
		usleep((useconds_t)p.delay_us);
	pthread_mutex_lock(&h.kernel);
	if (p.err) {
		long i = idx_of(iocbs[0]);

		if (i >= 0)
			refused[i]++;
		r = p.err;
	} else {
		r = __real_io_submit(ctx, p.n, iocbs);
		for (int i = 0; i < r; i++) {
			long k = idx_of(iocbs[i]);

			if (k >= 0)
				accepted[k]++;
			if (h.taken)
				h.taken(iocbs[i]);
		}
	}
	pthread_mutex_unlock(&h.kernel);
	h.inside--;
	return r;
}

/* A random sleep, a random share of the batch, now and then a refusal. */
static void plan_shaky(unsigned long c, long n, struct iocb **iocbs, struct plan *p)
{
	unsigned x = rnd(c);

	(void)iocbs;
	p->delay_us = x % 3 ? (int)(x >> 8) % 1500 : 0;
	p->n = 1 + (long)((x >> 4) % (unsigned)n);
	if ((x >> 20) % 11 == 0)
		p->err = (x >> 24) & 1 ? -EINVAL : -EAGAIN;
}

static void hook_reset(void)
{
	wrap.submit_hook = NULL;
	h.plan = NULL;
	h.taken = NULL;
	h.calls = 0;
	h.inside = h.max_inside = 0;
	for (int i = 0; i < NREQ; i++)
		accepted[i] = refused[i] = 0;
	memset(cbs, 0, sizeof cbs);
}

/* Nothing in the kernel any more (every event reaped): 0, or -1 after HANG_SEC. */
static int settle(void)
{
	double end = now() + HANG_SEC;

	for (;;) {
		unsigned n;

		kaio_poll();
		kaio_lock();
		n = eng.in_kernel;
		kaio_unlock();
		if (!n)
			return 0;
		if (now() > end)
			return -1;
		usleep(1000);
	}
}

static int setup(void **state)
{
	(void)state;
	wait_single_threaded();
	hook_reset();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hook_reset();
	return 0;
}

static int open_in_dir(const char *name, int flags)
{
	char p[64];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return open(p, flags | O_CREAT, 0644);
}

/* ---- appending writes and partial batches ---- */

#define APPENDERS 3
#define APPENDS 150	/* per thread */
#define POS_BASE 1024	/* requests of the positional writer */
#define POS_N 200

static pthread_mutex_t order = PTHREAD_MUTEX_INITIALIZER;
static long next_ticket;
static _Atomic int bad;	/* failures seen in worker threads */
static int fd_app, fd_pos;

#define FAIL(...) do { bad++; fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } while (0)

/* Appends in call order, a burst at a time (lio_listio or one by one). */
static void *appender(void *arg)
{
	long mine[APPENDS];
	int n = 0, waited = 0;
	unsigned seed = (unsigned)(uintptr_t)arg;

	while (n < APPENDS && !bad) {
		int burst = 1 + (int)(rnd(seed++) % 16);	/* beyond the ring too */
		struct aiocb *list[16];
		long t;

		if (burst > APPENDS - n)
			burst = APPENDS - n;
		pthread_mutex_lock(&order);
		t = next_ticket;
		next_ticket += burst;
		for (int k = 0; k < burst; k++) {
			fill(arena[t + k], t + k);
			prep(&cbs[t + k], fd_app, arena[t + k], BS, 0);
			cbs[t + k].aio_lio_opcode = LIO_WRITE;
			list[k] = &cbs[t + k];
			mine[n + k] = t + k;
		}
		if (burst > 1 && rnd(seed++) % 2) {
			if (kaio_listio(LIO_NOWAIT, list, burst, NULL))
				FAIL("lio_listio refused");
		} else {
			for (int k = 0; k < burst; k++)
				if (kaio_submit(list[k], KAIO_WRITE))
					FAIL("aio_write refused");
		}
		pthread_mutex_unlock(&order);
		n += burst;
		/* At most 8 of this thread's own in flight. */
		while (n - waited > 8) {
			if (wait_done(&cbs[mine[waited]]))
				FAIL("append %ld stuck", mine[waited]);
			waited++;
		}
	}
	return NULL;
}

/* Positional writes on another fd, not ordered by the test: none lost. */
static void *positional(void *arg)
{
	(void)arg;
	for (int i = 0; i < POS_N && !bad; i++) {
		long t = POS_BASE + i;

		fill(arena[t], t);
		prep(&cbs[t], fd_pos, arena[t], BS, (off_t)i * BS);
		if (kaio_submit(&cbs[t], KAIO_WRITE))
			FAIL("positional write refused");
		if (i >= 6 && wait_done(&cbs[t - 6]))
			FAIL("positional write %ld stuck", t - 6);
	}
	return NULL;
}

static _Atomic long last_append;
static _Atomic int append_misorder;

static void taken_append(struct iocb *io)
{
	long i = idx_of(io);

	if ((int)io->aio_fildes != fd_app || i < 0)
		return;
	if (i <= last_append)
		append_misorder++;
	last_append = i;
}

static void check_one(struct aiocb *cb, long i)
{
	ssize_t res = -2;

	assert_int_equal(wait_done(cb), 0);
	if (kaio_error(cb) != 0 || kaio_return(cb, &res) || res != BS)
		fail_msg("request %ld: error %d return %zd", i, kaio_error(cb), res);
	/* Never taken twice; not taken at all only when served by the fallback. */
	if (accepted[i] > 1 || (!accepted[i] && !refused[i]))
		fail_msg("request %ld: taken by the kernel %d times, refused %d times",
			 i, accepted[i], refused[i]);
}

static void test_appends_partial_batches(void **state)
{
	pthread_t ta[APPENDERS], tp;
	char *file = malloc((size_t)APPENDERS * APPENDS * BS + BS);
	struct stat st;
	long total = (long)APPENDERS * APPENDS;
	int rfd;

	(void)state;
	assert_non_null(file);
	fd_app = open_in_dir("append", O_WRONLY | O_TRUNC | O_APPEND);
	fd_pos = open_in_dir("positional", O_RDWR | O_TRUNC);
	assert_true(fd_app >= 0 && fd_pos >= 0);
	next_ticket = 0;
	bad = 0;
	last_append = -1;
	append_misorder = 0;
	h.plan = plan_shaky;
	h.taken = taken_append;
	wrap.submit_hook = hook;
	for (int i = 0; i < APPENDERS; i++)
		assert_int_equal(pthread_create(&ta[i], NULL, appender, (void *)(uintptr_t)(i * 1000)), 0);
	assert_int_equal(pthread_create(&tp, NULL, positional, NULL), 0);
	for (int i = 0; i < APPENDERS; i++)
		pthread_join(ta[i], NULL);
	pthread_join(tp, NULL);
	assert_int_equal(bad, 0);
	for (long i = 0; i < total; i++)
		check_one(&cbs[i], i);
	for (long i = POS_BASE; i < POS_BASE + POS_N; i++)
		check_one(&cbs[i], i);
	print_message("io_submit calls %lu, at most %d threads inside at once\n",
		      (unsigned long)h.calls, h.max_inside);
	if (append_misorder)
		fail_msg("appends taken by the kernel out of call order %d times", append_misorder);

	/* The file: every record once, in call order. */
	assert_int_equal(fstat(fd_app, &st), 0);
	assert_int_equal(st.st_size, total * BS);
	rfd = open_in_dir("append", O_RDONLY);
	assert_int_equal(pread(rfd, file, (size_t)total * BS, 0), total * BS);
	close(rfd);
	for (long i = 0; i < total; i++)
		if (!same(file + i * BS, i)) {
			long got;

			memcpy(&got, file + i * BS, sizeof got);
			fail_msg("append record %ld holds record %ld", i, got);
		}
	for (long i = 0; i < POS_N; i++) {
		assert_int_equal(pread(fd_pos, file, BS, i * BS), BS);
		assert_true(same(file, POS_BASE + i));
	}
	assert_int_equal(settle(), 0);
	free(file);
	close(fd_app);
	close(fd_pos);
}

/* ---- fsync after the fd's earlier writes ---- */

#define SYNCERS 3
#define SYNC_WRITES 160	/* per thread */

static int fd_sync;
static _Atomic int fsync_token;	/* one fsync in flight at a time */
static _Atomic long fsync_floor = -1;	/* its ticket: earlier writes must be done */
static _Atomic int fsync_early, fsyncs_seen;
static _Atomic int write_done[NREQ];	/* checked done and in the file */

/* When the fsync reaches io_submit, every earlier write is done. */
static void plan_fsync(unsigned long c, long n, struct iocb **iocbs, struct plan *p)
{
	for (long i = 0; i < n; i++) {
		if (iocbs[i]->aio_lio_opcode != IO_CMD_FSYNC &&
		    iocbs[i]->aio_lio_opcode != IO_CMD_FDSYNC)
			continue;
		fsyncs_seen++;
		for (long t = 0; t < fsync_floor; t++)
			if (cbs[t].aio_buf && err_of(&cbs[t]) == EINPROGRESS) {
				fsync_early++;
				break;
			}
	}
	plan_shaky(c, n, iocbs, p);
}

static int check_before(long floor)
{
	char buf[BS];
	int rfd = open_in_dir("sync", O_RDONLY), ok = 1;

	for (long t = 0; t < floor && ok; t++) {
		if (!cbs[t].aio_buf || write_done[t])
			continue;
		if (err_of(&cbs[t]) != 0) {
			FAIL("write %ld: error %d when the fsync after it was done", t, err_of(&cbs[t]));
			ok = 0;
		} else if (pread(rfd, buf, BS, t * BS) != BS || !same(buf, t)) {
			FAIL("write %ld: not in the file when the fsync after it was done", t);
			ok = 0;
		}
		write_done[t] = 1;
	}
	close(rfd);
	return ok;
}

static void *syncer(void *arg)
{
	long mine[SYNC_WRITES];
	int n = 0, waited = 0;
	unsigned seed = (unsigned)(uintptr_t)arg;

	while (n < SYNC_WRITES && !bad) {
		long t;
		int free_token = 0;

		pthread_mutex_lock(&order);
		t = next_ticket++;
		fill(arena[t], t);
		prep(&cbs[t], fd_sync, arena[t], BS, t * BS);
		if (kaio_submit(&cbs[t], KAIO_WRITE))
			FAIL("aio_write refused");
		pthread_mutex_unlock(&order);
		mine[n++] = t;
		if (n % 10 == 0 && __atomic_compare_exchange_n(&fsync_token, &free_token, 1, 0,
							       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			long f;

			pthread_mutex_lock(&order);
			f = next_ticket++;
			fsync_floor = f;
			prep(&cbs[f], fd_sync, NULL, 0, 0);
			if (kaio_submit(&cbs[f], rnd(seed++) % 2 ? KAIO_FSYNC : KAIO_FDSYNC))
				FAIL("aio_fsync refused");
			pthread_mutex_unlock(&order);
			if (wait_done(&cbs[f]))
				FAIL("fsync %ld stuck", f);
			else if (kaio_error(&cbs[f]) != 0)
				FAIL("fsync %ld: error %d", f, kaio_error(&cbs[f]));
			check_before(f);
			fsync_token = 0;
		}
		while (n - waited > 6) {
			if (wait_done(&cbs[mine[waited]]))
				FAIL("write %ld stuck", mine[waited]);
			waited++;
		}
	}
	return NULL;
}

/* direct: O_DIRECT overwrites, still in flight when the next call comes. */
static void fsync_run(int direct)
{
	pthread_t t[SYNCERS];

	fd_sync = open_in_dir("sync", O_RDWR | O_TRUNC);
	assert_true(fd_sync >= 0);
	if (direct) {
		memset(arena[0], 0, BS);
		for (long b = 0; b < SYNCERS * SYNC_WRITES * 11 / 10 + 1; b++)
			assert_int_equal(pwrite(fd_sync, arena[0], BS, b * BS), BS);
		assert_int_equal(fsync(fd_sync), 0);
		close(fd_sync);
		fd_sync = open_in_dir("sync", O_RDWR | O_DIRECT);
		if (fd_sync < 0) {
			print_message("O_DIRECT refused here: buffered again\n");
			fd_sync = open_in_dir("sync", O_RDWR);
		}
	}
	next_ticket = 0;
	bad = 0;
	fsync_token = 0;
	fsync_floor = -1;
	fsync_early = fsyncs_seen = 0;
	for (int i = 0; i < NREQ; i++)
		write_done[i] = 0;
	h.plan = plan_fsync;
	wrap.submit_hook = hook;
	for (int i = 0; i < SYNCERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, syncer, (void *)(uintptr_t)(i * 77)), 0);
	for (int i = 0; i < SYNCERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(bad, 0);
	print_message("%s: fsyncs seen in io_submit %d, at most %d threads inside at once\n",
		      direct ? "direct" : "buffered", fsyncs_seen, h.max_inside);
	assert_true(fsyncs_seen > 0);
	if (fsync_early)
		fail_msg("%d fsyncs reached io_submit before an earlier write was done", fsync_early);
	for (long i = 0; i < next_ticket; i++) {
		ssize_t res;

		assert_int_equal(wait_done(&cbs[i]), 0);
		assert_int_equal(kaio_error(&cbs[i]), 0);
		assert_int_equal(kaio_return(&cbs[i], &res), 0);
		assert_int_equal(res, cbs[i].aio_buf ? BS : 0);
	}
	assert_int_equal(settle(), 0);
	close(fd_sync);
}

static void test_fsync_after_earlier_writes(void **state)
{
	(void)state;
	fsync_run(0);
	hook_reset();
	fsync_run(1);
}

/* ---- aio_cancel while another thread submits the request ---- */

#define CANCEL_ITER 108
#define PER_ITER 4

static int fd_cbuf, fd_cdir;
static sem_t entered;
static _Atomic long iter_base = -1;
static _Atomic int iter_n = PER_ITER, iter_signalled, iter_first_k, iter_delay_us;
static _Atomic int iter_refuse_first;	/* the first call is refused: served by pwrite */

/* The first call holding one of this round's requests signals, then sleeps. */
static void plan_cancel(unsigned long c, long n, struct iocb **iocbs, struct plan *p)
{
	int mine = 0;

	(void)c;
	for (long i = 0; i < n; i++) {
		long k = idx_of(iocbs[i]);

		mine |= k >= iter_base && k < iter_base + iter_n;
	}
	if (!mine || iter_signalled)
		return;
	if (iter_refuse_first) {
		/* Its first request waits for the plain syscall (SYNCING) until
		 * the next call, with the rest, is done: that one sleeps. */
		iter_refuse_first = 0;
		p->err = -EINVAL;
		return;
	}
	iter_signalled = 1;
	p->delay_us = iter_delay_us;
	if (iter_first_k && iter_first_k < n)
		p->n = iter_first_k;
	sem_post(&entered);
}

#define FORK_PER DEPTH	/* a batch of them reserves the whole ring */

struct submit_job {
	long base;
	int fd, lio, n;
};

static void *submit_round(void *arg)
{
	struct submit_job *j = arg;
	struct aiocb *list[FORK_PER];

	for (int k = 0; k < j->n; k++)
		list[k] = &cbs[j->base + k];
	if (j->lio) {
		if (kaio_listio(LIO_NOWAIT, list, j->n, NULL))
			FAIL("lio_listio refused");
	} else {
		for (int k = 0; k < j->n; k++)
			if (kaio_submit(list[k], KAIO_WRITE))
				FAIL("aio_write refused");
	}
	return NULL;
}

static const char *ans_name(int a)
{
	return a == AIO_CANCELED ? "CANCELED" : a == AIO_NOTCANCELED ? "NOTCANCELED" :
	       a == AIO_ALLDONE ? "ALLDONE" : "?";
}

/*
 * Three kinds of rounds: buffered writes (the kernel does them inside
 * io_submit, which sleeps 20 ms first; in lio_listio rounds the first call
 * is refused, so the first request is served by pwrite while the rest are
 * in the sleeping io_submit), O_DIRECT overwrites (done later, so
 * still in the kernel when aio_cancel looks), and appends where this thread
 * adds one more request while the other's batch sleeps in io_submit (it
 * waits in the queue: cancellable for real). Whatever aio_cancel answers, a
 * request cancelled never runs and one not cancelled completes with its data.
 */
static void test_cancel_while_submitting(void **state)
{
	static const char *kinds[3] = { "buffered", "direct", "append" };
	int count[3][3] = { { 0 } };
	char *buf = aligned_alloc(BS, PER_ITER * BS);
	struct timespec ts;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(sem_init(&entered, 0, 0), 0);
	fd_cbuf = open_in_dir("cancel", O_RDWR | O_TRUNC);
	fd_cdir = open_in_dir("cancel_direct", O_RDWR | O_TRUNC);
	assert_true(fd_cbuf >= 0 && fd_cdir >= 0);
	/* Allocated and on disk: O_DIRECT overwrites complete asynchronously. */
	memset(buf, 0, BS);
	for (long b = 0; b < CANCEL_ITER * PER_ITER; b++)
		assert_int_equal(pwrite(fd_cdir, buf, BS, b * BS), BS);
	assert_int_equal(fsync(fd_cdir), 0);
	close(fd_cdir);
	fd_cdir = open_in_dir("cancel_direct", O_RDWR | O_DIRECT);
	if (fd_cdir < 0)
		fd_cdir = open_in_dir("cancel_direct", O_RDWR);
	bad = 0;
	h.plan = plan_cancel;
	wrap.submit_hook = hook;
	for (int it = 0; it < CANCEL_ITER; it++) {
		long base = (long)it * PER_ITER;
		int kind = it % 3, target = (it / 3) % 3, ans, ncanc = 0, nkept = 0, e[PER_ITER];
		int fd_app_round = kind == 2 ? open_in_dir("cancel_append", O_RDWR | O_TRUNC | O_APPEND) : -1;
		struct submit_job job = { base, kind == 0 ? fd_cbuf : kind == 1 ? fd_cdir : fd_app_round,
					  kind == 2 || (it / 9) % 2, kind == 2 ? PER_ITER - 1 : PER_ITER };
		struct aiocb *tcb = target == 0 ? NULL : &cbs[base + (target == 1 ? 0 : PER_ITER - 1)];
		pthread_t s;

		assert_true(job.fd >= 0);
		for (int k = 0; k < PER_ITER; k++) {
			fill(arena[base + k], base + k);
			prep(&cbs[base + k], job.fd, arena[base + k], BS, kind == 2 ? 0 : (base + k) * BS);
			cbs[base + k].aio_lio_opcode = LIO_WRITE;
		}
		iter_signalled = 0;
		iter_first_k = (int)(rnd((unsigned long)it) % 3);	/* 0: all */
		iter_delay_us = kind == 1 ? 0 : 20000;
		iter_refuse_first = kind == 0 && job.lio;
		iter_n = PER_ITER;
		iter_base = base;
		assert_int_equal(pthread_create(&s, NULL, submit_round, &job), 0);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += HANG_SEC;
		assert_int_equal(sem_timedwait(&entered, &ts), 0);
		/* Called while the other call (one lio_listio) is inside io_submit. */
		if (kind == 2)
			assert_int_equal(kaio_submit(&cbs[base + PER_ITER - 1], KAIO_WRITE), 0);
		if (kind != 1 && it % 2)
			usleep(rnd((unsigned long)it + 7) % 25000);
		ans = kaio_cancel(job.fd, tcb);
		pthread_join(s, NULL);
		assert_int_equal(bad, 0);
		for (int k = 0; k < PER_ITER; k++)
			if (wait_done(&cbs[base + k]))
				fail_msg("round %d (%s): request %d lost after %s", it, kinds[kind], k,
					 ans_name(ans));
		assert_int_equal(settle(), 0);
		for (int k = 0; k < PER_ITER; k++) {
			struct aiocb *cb = &cbs[base + k];
			ssize_t res = -2;

			e[k] = kaio_error(cb);
			assert_int_equal(kaio_return(cb, &res), 0);
			if (e[k] == ECANCELED) {
				ncanc++;
				if (res != -1)
					fail_msg("round %d (%s): request %d cancelled, return %zd", it,
						 kinds[kind], k, res);
			} else if (e[k] != 0 || res != BS) {
				fail_msg("round %d (%s): request %d not cancelled, yet error %d return %zd",
					 it, kinds[kind], k, e[k], res);
			}
		}
		/* A cancelled one left no data; the others' data is there, in order. */
		if (kind == 2) {
			struct stat st;

			assert_int_equal(fstat(job.fd, &st), 0);
			assert_int_equal(pread(job.fd, buf, PER_ITER * BS, 0), st.st_size);
			for (int k = 0; k < PER_ITER; k++)
				if (e[k] != ECANCELED && (st.st_size < (nkept + 1) * BS ||
							  !same(buf + nkept++ * BS, base + k)))
					fail_msg("round %d (append): request %d not at record %d", it, k,
						 nkept - 1);
			if (st.st_size != nkept * BS)
				fail_msg("round %d (append): %jd bytes for %d kept (%d cancelled: run anyway?)",
					 it, (intmax_t)st.st_size, nkept, ncanc);
			close(job.fd);
		} else {
			for (int k = 0; k < PER_ITER; k++) {
				assert_int_equal(pread(job.fd, buf, BS, (base + k) * BS), BS);
				if (e[k] == ECANCELED ? !zero(buf) : !same(buf, base + k))
					fail_msg("round %d (%s): request %d %s", it, kinds[kind], k,
						 e[k] == ECANCELED ? "cancelled, yet its data was written" :
						 "done, its data is not there");
			}
		}
		if (tcb) {
			int tc = kaio_error(tcb) == ECANCELED;

			if ((ans == AIO_CANCELED) != tc || ncanc > 1 || (ncanc && !tc))
				fail_msg("round %d (%s): cancel of one said %s, %d cancelled", it,
					 kinds[kind], ans_name(ans), ncanc);
		} else if ((ans == AIO_ALLDONE && ncanc) || (ans == AIO_CANCELED && !ncanc) ||
			   (ans == AIO_NOTCANCELED && ncanc == PER_ITER)) {
			fail_msg("round %d (%s): cancel of the fd said %s, %d of %d cancelled", it,
				 kinds[kind], ans_name(ans), ncanc, PER_ITER);
		}
		count[kind][ans == AIO_CANCELED ? 0 : ans == AIO_NOTCANCELED ? 1 : 2]++;
	}
	for (int k = 0; k < 3; k++)
		print_message("%s: CANCELED %d NOTCANCELED %d ALLDONE %d\n", kinds[k],
			      count[k][0], count[k][1], count[k][2]);
	sem_destroy(&entered);
	close(fd_cbuf);
	close(fd_cdir);
	free(buf);	/* (not reached on a failure: cmocka leaves the test) */
}

/* ---- a reaper asleep sees completions that make no kernel event ---- */

#define WAKE_BASE 1900	/* requests of this test: arena[WAKE_BASE + k] */
#define WAKE_ROUNDS 6	/* 3 kinds, asleep on the eventfd and then in io_getevents */

static sem_t held, go;
static _Atomic int hold_err;	/* what the held io_submit answers */

/* The first call of a round signals, then waits for go before answering. */
static void plan_hold(unsigned long c, long n, struct iocb **iocbs, struct plan *p)
{
	(void)n;
	(void)iocbs;
	if (c)
		return;
	sem_post(&held);
	sem_wait(&go);
	p->err = hold_err;
}

static struct aiocb *cancel_me;
static _Atomic int cancel_ans = -1;

/*
 * Once one thread sleeps as the reaper and another on the futex: cancel
 * cancel_me, or release the call.
 */
static void *when_reaping(void *arg)
{
	int asleep = 0;

	(void)arg;
	for (int i = 0; i < HANG_SEC * 1000 && !asleep; i++) {
		kaio_lock();
		asleep = eng.reaper == 1 && eng.waiters == 1;
		kaio_unlock();
		if (!asleep)
			usleep(1000);
	}
	if (cancel_me)
		cancel_ans = kaio_cancel(cancel_me->aio_fildes, cancel_me);
	else
		sem_post(&go);
	return NULL;
}

static struct aiocb *wake_list[DEPTH];

struct waiter {
	const struct aiocb *cb;
	int r, hung;
};

/* Waits for w->cb; hung: woken only by the hang guard's end. */
static void *wait_hung(void *arg)
{
	const struct timespec guard = { HANG_SEC, 0 };
	struct waiter *w = arg;
	double t0 = now();

	w->r = kaio_wait(&w->cb, 1, 1, &guard);
	w->hung = now() - t0 >= HANG_SEC;
	return NULL;
}

/* One write (arg), or the DEPTH writes of wake_list (arg NULL). */
static void *submit_held(void *arg)
{
	if (arg ? kaio_submit(arg, KAIO_WRITE) : kaio_listio(LIO_NOWAIT, wake_list, DEPTH, NULL))
		FAIL("submission refused");
	return NULL;
}

/*
 * Two threads wait on a request, one asleep as the reaper, the other on the
 * futex; a third then completes that request without any kernel event:
 * io_submit refuses it (EBADF), or refuses it with EINVAL so that the
 * issuing thread serves it with pwrite, or aio_cancel takes it from the
 * queue (the ring is full: a lio_listio of DEPTH writes sleeps in
 * io_submit). Each kind twice: the reaper asleep on kaio's eventfd, then in
 * io_getevents (the program closed the eventfd: a kick wakes it then). The
 * waiters must wake with the answer. Their timeout is a hang guard: a
 * waiter nobody wakes sleeps until then and finds the request done.
 */
static void test_waiters_woken_without_event(void **state)
{
	static const char *kinds[3] = { "refused", "pwrite", "cancelled" };
	struct aiocb **list = wake_list;
	struct stat st;
	int fd;

	(void)state;
	fd = open_in_dir("wake", O_RDWR | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(sem_init(&held, 0, 0), 0);
	assert_int_equal(sem_init(&go, 0, 0), 0);
	h.plan = plan_hold;
	wrap.submit_hook = hook;
	for (int round = 0; round < WAKE_ROUNDS; round++) {
		int k = round % 3;
		long base = WAKE_BASE + round * (DEPTH + 1), y = base + DEPTH;	/* waited for */
		struct waiter one = { &cbs[y], 0, 0 }, two = one;
		pthread_t sub, rel, other;
		int err, want = k == 0 ? EBADF : k == 1 ? 0 : ECANCELED;
		ssize_t res;

		if (round == 3) {
			/* The program closed kaio's eventfd: the reaper sleeps in io_getevents. */
			kaio_lock();
			close(eng.efd);
			kaio_efd_ours();
			assert_int_equal(eng.efd, -1);
			kaio_unlock();
		}
		h.calls = 0;
		hold_err = k == 0 ? -EBADF : k == 1 ? -EINVAL : 0;
		cancel_me = NULL;
		for (int i = 0; i < DEPTH; i++) {
			long j = base + i;

			fill(arena[j], j);
			prep(&cbs[j], fd, arena[j], BS, (off_t)j * BS);
			cbs[j].aio_lio_opcode = LIO_WRITE;
			list[i] = &cbs[j];
		}
		fill(arena[y], y);
		prep(&cbs[y], fd, arena[y], BS, (off_t)y * BS);
		/* k == 2: the whole ring reserved by the held call, y stays queued. */
		assert_int_equal(pthread_create(&sub, NULL, submit_held, k < 2 ? &cbs[y] : NULL), 0);
		assert_int_equal(sem_wait(&held), 0);
		if (k == 2) {
			assert_int_equal(kaio_submit(&cbs[y], KAIO_WRITE), 0);
			cancel_me = &cbs[y];
		}
		assert_int_equal(pthread_create(&rel, NULL, when_reaping, NULL), 0);
		assert_int_equal(pthread_create(&other, NULL, wait_hung, &two), 0);
		wait_hung(&one);
		pthread_join(other, NULL);
		err = kaio_error(&cbs[y]);
		if (k == 2)
			sem_post(&go);	/* now the listed writes go in */
		pthread_join(rel, NULL);
		pthread_join(sub, NULL);
		print_message("%s, %s: wait %d%s, error %d\n", round < 3 ? "eventfd" : "io_getevents",
			      kinds[k], one.r | two.r,
			      one.hung || two.hung ? " after the hang guard" : "", err);
		assert_false(one.hung || two.hung);
		assert_int_equal(one.r, 0);
		assert_int_equal(two.r, 0);
		assert_int_equal(err, want);
		assert_int_equal(kaio_return(&cbs[y], &res), 0);
		assert_int_equal(res, want ? -1 : BS);
		if (k == 2) {
			assert_int_equal(cancel_ans, AIO_CANCELED);
			for (int i = 0; i < DEPTH; i++)
				assert_int_equal(wait_done(list[i]), 0);
		}
	}
	assert_int_equal(bad, 0);
	assert_int_equal(settle(), 0);
	/* Served by pwrite and by the listed writes; the refused and the cancelled not. */
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (WAKE_BASE + WAKE_ROUNDS * (DEPTH + 1) - 1) * BS);
	sem_destroy(&held);
	sem_destroy(&go);
	close(fd);
}

/* ---- fork while a thread sleeps inside io_submit ---- */

#define FORK_ITER 4
#define CHILD_N 8

static int fd_fork;
static io_context_t parent_ctx;

static void plan_fork(unsigned long c, long n, struct iocb **iocbs, struct plan *p)
{
	plan_cancel(c, n, iocbs, p);
	if (p->delay_us && (iter_first_k & 1))
		p->err = -EINVAL;	/* after the sleep: served synchronously */
}

/*
 * The parent's thread sleeps in io_submit with a batch of appends (in
 * lio_listio rounds, DEPTH of them: the whole ring reserved) when it forks.
 * The child's own AIO: appends on the same fd number (now its own file).
 */
static int child(void)
{
	static char rec[CHILD_N][BS], back[BS];
	struct aiocb c[CHILD_N], fs, rd, *list[CHILD_N];
	struct kaio_stats before, after;
	char file[CHILD_N * BS];
	int f, rfd;

	alarm(HANG_SEC);
	wrap.submit_hook = NULL;
	kaio_stats_get(&before);
	f = open_in_dir("child", O_WRONLY | O_TRUNC | O_APPEND);
	if (f < 0 || dup2(f, fd_fork) != fd_fork)
		return 2;
	close(f);
	for (int i = 0; i < CHILD_N; i++) {
		fill(rec[i], 5000 + i);
		prep(&c[i], fd_fork, rec[i], BS, 0);
		c[i].aio_lio_opcode = LIO_WRITE;
		list[i] = &c[i];
	}
	if (kaio_listio(LIO_NOWAIT, list, CHILD_N / 2, NULL))
		return 3;
	for (int i = CHILD_N / 2; i < CHILD_N; i++)
		if (kaio_submit(&c[i], KAIO_WRITE))
			return 4;
	prep(&fs, fd_fork, NULL, 0, 0);
	if (kaio_submit(&fs, KAIO_FSYNC))
		return 5;
	if (wait_done(&fs) || kaio_error(&fs))
		return 6;
	for (int i = 0; i < CHILD_N; i++) {
		ssize_t res;

		if (wait_done(&c[i]) || kaio_return(&c[i], &res) || res != BS)
			return 7;
	}
	rfd = open_in_dir("child", O_RDONLY);
	prep(&rd, rfd, back, BS, 3 * BS);
	if (kaio_submit(&rd, KAIO_READ) || wait_done(&rd) || kaio_error(&rd) || !same(back, 5003))
		return 8;
	if (pread(rfd, file, sizeof file, 0) != (ssize_t)sizeof file)
		return 9;
	for (int i = 0; i < CHILD_N; i++)
		if (!same(file + i * BS, 5000 + i))
			return 10;
	kaio_stats_get(&after);
	kaio_lock();
	f = eng.ctx && eng.ctx != parent_ctx;
	kaio_unlock();
	if (!f)
		return 11;	/* not a context of its own */
	if (after.sync_fallback != before.sync_fallback || after.kernel == before.kernel)
		return 12;	/* not served by the kernel */
	return 0;
}

static void test_fork_while_submitting(void **state)
{
	char *buf = malloc(FORK_ITER * FORK_PER * BS);
	struct timespec ts;
	struct stat st;
	int rfd;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(sem_init(&entered, 0, 0), 0);
	fd_fork = open_in_dir("fork", O_WRONLY | O_TRUNC | O_APPEND);
	assert_true(fd_fork >= 0);
	bad = 0;
	h.plan = plan_fork;
	wrap.submit_hook = hook;
	for (int it = 0; it < FORK_ITER; it++) {
		long base = (long)it * FORK_PER;
		struct submit_job job = { base, fd_fork, it % 2, FORK_PER };
		pthread_t s;
		int status;
		pid_t pid;

		for (int k = 0; k < FORK_PER; k++) {
			fill(arena[base + k], base + k);
			prep(&cbs[base + k], fd_fork, arena[base + k], BS, 0);
			cbs[base + k].aio_lio_opcode = LIO_WRITE;
		}
		kaio_lock();
		parent_ctx = eng.ctx;
		kaio_unlock();
		iter_signalled = 0;
		iter_first_k = it;	/* 0: all; odd: the call is refused after sleeping */
		iter_delay_us = 100000;
		iter_refuse_first = 0;
		iter_n = FORK_PER;
		iter_base = base;
		assert_int_equal(pthread_create(&s, NULL, submit_round, &job), 0);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += HANG_SEC;
		assert_int_equal(sem_timedwait(&entered, &ts), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(child());
		assert_int_equal(waitpid(pid, &status, 0), pid);
		pthread_join(s, NULL);	/* before any failure leaves the test */
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail_msg("round %d: child %s %d", it, WIFEXITED(status) ? "exited" : "killed by",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		assert_int_equal(bad, 0);
		for (int k = 0; k < FORK_PER; k++) {
			ssize_t res;

			assert_int_equal(wait_done(&cbs[base + k]), 0);
			assert_int_equal(kaio_return(&cbs[base + k], &res), 0);
			assert_int_equal(res, BS);
		}
	}
	/* The parent's appends: all there, in call order. */
	assert_int_equal(fstat(fd_fork, &st), 0);
	assert_int_equal(st.st_size, FORK_ITER * FORK_PER * BS);
	rfd = open_in_dir("fork", O_RDONLY);
	assert_int_equal(pread(rfd, buf, FORK_ITER * FORK_PER * BS, 0), FORK_ITER * FORK_PER * BS);
	close(rfd);
	for (long i = 0; i < FORK_ITER * FORK_PER; i++)
		assert_true(same(buf + i * BS, i));
	assert_int_equal(settle(), 0);
	sem_destroy(&entered);
	close(fd_fork);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_appends_partial_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsync_after_earlier_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_while_submitting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork_while_submitting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiters_woken_without_event, setup, teardown),
	};
	char cmd[64];
	int r;

	/* The engine is under test: its requests must not end on the hit path (test_inline.c). */
	setenv("KAIO_INLINE", "0", 1);
	setenv("KAIO_QUEUE_DEPTH", "8", 1);
	if (!mkdtemp(dir) || posix_memalign((void **)&arena, BS, (size_t)NREQ * BS))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd))
		r = r ? r : 1;
	return r;
}
