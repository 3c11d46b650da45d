/* O_APPEND from several threads: 4 threads append numbered records to one
 * O_APPEND fd. Each call (aio_write, or lio_listio of up to 6 records) is
 * made under a mutex, which gives the calls one global order; nothing else
 * is serialized: each thread keeps up to 8 of its own writes in flight and
 * waits for them its own way (polling aio_error, aio_suspend on one, on all
 * of its own) while the others submit. The file must hold every record
 * once, in call order (POSIX: appending writes land in the order of the
 * calls). Thread 0 also calls aio_fsync now and then: when it is done, every
 * write called before it is done.
 *   mt_append_direct.c: O_DIRECT|O_APPEND with 4096-byte records.
 *   mt_queue.c: buffered and O_DIRECT appends and reads at once, run again
 *   with KAIO_QUEUE_DEPTH=2 and 4 so that most requests wait beyond the ring
 *   (the variable means nothing to glibc). */
#include "common.h"
#include <pthread.h>
#include <sys/wait.h>

#ifndef MT_DIRECT
#define MT_DIRECT 0
#endif
#ifndef MT_QUEUE
#define MT_QUEUE 0
#endif
#define WINDOW (MT_QUEUE ? 32 : 8)

struct group {
	const char *name;
	int fd, direct;
	size_t rs;
	int nthreads, per_thread, fsync_every;
	pthread_mutex_t mu;
	long next;
	struct aiocb *cbs;
	unsigned char *bufs;
	int fsyncs, fsync_early, fsync_bad;
};

struct worker {
	struct group *g;
	int idx;
};

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static void record(const struct group *g, unsigned char *r, long t)
{
	fill_pat(r, g->rs, (uint64_t)t * g->rs, 5);
	int n = snprintf((char *)r, g->rs, "%s record %06ld", g->name, t);
	r[n] = ' ';
	r[g->rs - 1] = '\n';
}

/* Waits for cb the way thread idx does. */
static void wait_as(int idx, struct aiocb *cb)
{
	if (idx % 2)
		wait_one(cb);
	else
		poll_one(cb);
}

/* Thread 0's aio_fsync: when it is done, every write called before it is. */
static void fsync_check(struct group *g, unsigned *seed)
{
	struct aiocb fs;
	long floor;

	setup_cb(&fs, g->fd, NULL, 0, 0);
	pthread_mutex_lock(&g->mu);
	floor = g->next;
	if (aio_fsync(rnd(seed) % 2 ? O_SYNC : O_DSYNC, &fs))
		DIE("aio_fsync: %s", errname(errno));
	pthread_mutex_unlock(&g->mu);
	if (poll_one(&fs) != 0 || aio_return(&fs) != 0)
		g->fsync_bad++;
	for (long t = 0; t < floor; t++)
		if (aio_error(&g->cbs[t]) == EINPROGRESS) {
			g->fsync_early++;
			break;
		}
	g->fsyncs++;
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct group *g = w->g;
	long *mine = xcalloc((size_t)g->per_thread, sizeof *mine);
	unsigned seed = 7u + (unsigned)w->idx * 131u;
	int n = 0, waited = 0, synced = 0;

	while (n < g->per_thread) {
		int burst = 1 + (int)(rnd(&seed) % 6), lio = rnd(&seed) % 2;
		struct aiocb *list[6];

		if (burst > g->per_thread - n)
			burst = g->per_thread - n;
		pthread_mutex_lock(&g->mu);
		long t = g->next;
		g->next += burst;
		for (int k = 0; k < burst; k++) {
			unsigned char *r = g->bufs + (size_t)(t + k) * g->rs;
			record(g, r, t + k);
			/* O_APPEND ignores the offset: nonsense on purpose. */
			setup_cb(&g->cbs[t + k], g->fd, r, g->rs, (off_t)(k % 3) * (off_t)g->rs);
			g->cbs[t + k].aio_lio_opcode = LIO_WRITE;
			list[k] = &g->cbs[t + k];
			mine[n + k] = t + k;
		}
		if (lio && burst > 1) {
			if (lio_listio(LIO_NOWAIT, list, burst, NULL))
				DIE("lio_listio: %s", errname(errno));
		} else {
			for (int k = 0; k < burst; k++)
				if (aio_write(list[k]))
					DIE("aio_write: %s", errname(errno));
		}
		pthread_mutex_unlock(&g->mu);
		n += burst;
		if (w->idx == 0 && g->fsync_every && n / g->fsync_every > synced) {
			synced = n / g->fsync_every;
			fsync_check(g, &seed);
		}
		while (n - waited > WINDOW)
			wait_as(w->idx, &g->cbs[mine[waited++]]);
	}
	while (waited < n)
		wait_as(w->idx, &g->cbs[mine[waited++]]);
	free(mine);
	return NULL;
}

static void group_open(struct group *g, const char *path, int direct)
{
	int fl = O_WRONLY | O_CREAT | O_TRUNC | O_APPEND;

	g->direct = direct;
	g->fd = direct ? open_direct(path, fl) : xopen(path, fl);
	if (g->fd < 0) {
		say("measure: %s_direct refused", g->name);
		g->fd = xopen(path, fl);
	}
	pthread_mutex_init(&g->mu, NULL);
	size_t total = (size_t)g->nthreads * (size_t)g->per_thread;
	g->cbs = xcalloc(total, sizeof *g->cbs);
	g->bufs = xalign(total * g->rs);
}

/* Every write's result, then the file: every record once, in call order. */
static void group_check(struct group *g, const char *path)
{
	long total = (long)g->nthreads * g->per_thread, failed = 0, first_bad = -1;

	for (long t = 0; t < total; t++)
		failed += aio_error(&g->cbs[t]) != 0 || aio_return(&g->cbs[t]) != (ssize_t)g->rs;
	say("%s: %ld writes, %ld failed", g->name, total, failed);
	CHECK(failed == 0, "%s: %ld failed", g->name, failed);
	if (g->fsync_every) {
		say("%s: fsyncs %s; writes called before an fsync still in progress when it was done: %d",
		    g->name, g->fsync_bad ? "FAILED" : "ok", g->fsync_early);
		say("measure: %s_fsyncs %d", g->name, g->fsyncs);
		CHECK(!g->fsync_bad && !g->fsync_early, "%s: fsync", g->name);
	}

	int rfd = xopen(path, O_RDONLY);
	struct stat st;
	fstat(rfd, &st);
	say("%s: size %jd, %jd records", g->name, (intmax_t)st.st_size,
	    (intmax_t)(st.st_size / (off_t)g->rs));
	CHECK(st.st_size == (off_t)(total * (long)g->rs), "%s: size", g->name);
	unsigned char *all = xmalloc((size_t)st.st_size + 1);
	xpread_all(rfd, all, (size_t)st.st_size, 0);
	unsigned char *want = xmalloc(g->rs);
	for (long t = 0; t < total && first_bad < 0; t++) {
		record(g, want, t);
		if ((off_t)((t + 1) * (long)g->rs) > st.st_size ||
		    memcmp(all + (size_t)t * g->rs, want, g->rs))
			first_bad = t;
	}
	if (first_bad < 0) {
		say("%s: records in call order", g->name);
	} else {
		say("%s: record %ld out of order", g->name, first_bad);
		fprintf(stderr, "%s: record %ld holds \"%.24s\"\n", g->name, first_bad,
			(char *)all + (size_t)first_bad * g->rs);
		t_failures++;
	}
	free(all);
	free(want);
	close(rfd);
	close(g->fd);
}

#if MT_QUEUE
#define RD_N 600
#define RD_BS 4096
#define RD_FILE (1 << 20)

/* Reads of a pattern file, many in flight, beside the appends. */
static int rd_fd, rd_bad;

static void *reader(void *arg)
{
	struct aiocb *cbs = xcalloc(RD_N, sizeof *cbs);
	unsigned char *bufs = xmalloc((size_t)RD_N * RD_BS);
	unsigned seed = 99;
	int waited = 0;

	(void)arg;
	for (int i = 0; i < RD_N; i++) {
		off_t off = (off_t)(rnd(&seed) % (RD_FILE / RD_BS)) * RD_BS;
		setup_cb(&cbs[i], rd_fd, bufs + (size_t)i * RD_BS, RD_BS, off);
		if (aio_read(&cbs[i]))
			DIE("aio_read: %s", errname(errno));
		while (i + 1 - waited > 48)
			wait_one(&cbs[waited++]);
	}
	while (waited < RD_N)
		wait_one(&cbs[waited++]);
	for (int i = 0; i < RD_N; i++)
		rd_bad += aio_error(&cbs[i]) != 0 || aio_return(&cbs[i]) != RD_BS ||
			  check_pat(bufs + (size_t)i * RD_BS, RD_BS, (uint64_t)cbs[i].aio_offset, 3) >= 0;
	free(cbs);
	free(bufs);
	return NULL;
}
#endif

static void run(void)
{
	struct group gs[2] = {
		{ .name = MT_DIRECT ? "direct" : "buffered", .rs = MT_DIRECT ? 4096 : 256,
		  .nthreads = 4, .per_thread = MT_DIRECT ? 64 : 200, .fsync_every = MT_DIRECT ? 16 : 25 },
		{ .name = "direct", .rs = 4096, .nthreads = 2, .per_thread = 64, .fsync_every = 12 },
	};
	int ngroups = MT_QUEUE ? 2 : 1;
	char *paths[2] = { tpath("mt_append_a"), tpath("mt_append_b") };
	struct worker ws[8];
	pthread_t th[9];
	int nt = 0;

	if (MT_QUEUE)
		gs[0].nthreads = 2;
	for (int i = 0; i < ngroups; i++)
		group_open(&gs[i], paths[i], i ? 1 : MT_DIRECT);
#if MT_QUEUE
	char *rd_path = tpath("mt_append_r");
	make_pat_file(rd_path, RD_FILE, 3);
	rd_fd = xopen(rd_path, O_RDONLY);
	if (pthread_create(&th[nt++], NULL, reader, NULL))
		DIE("pthread_create");
#endif
	for (int i = 0; i < ngroups; i++)
		for (int k = 0; k < gs[i].nthreads; k++) {
			ws[nt] = (struct worker){ &gs[i], k };
			if (pthread_create(&th[nt], NULL, worker, &ws[nt]))
				DIE("pthread_create");
			nt++;
		}
	for (int i = 0; i < nt; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < ngroups; i++)
		group_check(&gs[i], paths[i]);
#if MT_QUEUE
	say("reads: %d of %d wrong", rd_bad, RD_N);
	CHECK(rd_bad == 0, "reads");
	close(rd_fd);
#endif
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
#if MT_QUEUE
	/* Each depth in a process of its own (kaio reads it once). */
	const char *depth = getenv("MT_QUEUE_RUN");
	if (!depth) {
		static const char *depths[] = { "2", "4" };
		for (int i = 0; i < 2; i++) {
			fflush(stdout);
			pid_t pid = fork();
			if (pid < 0)
				DIE("fork");
			if (pid == 0) {
				setenv("KAIO_QUEUE_DEPTH", depths[i], 1);
				setenv("MT_QUEUE_RUN", depths[i], 1);
				/* argv[0], not /proc/self/exe: under valgrind that is valgrind. */
				execv(argv[0], argv);
				DIE("execv: %s", strerror(errno));
			}
			int status;
			if (waitpid(pid, &status, 0) != pid)
				DIE("waitpid");
			say("depth %s: %s", depths[i],
			    WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok" : "FAILED");
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "depth %s: status %#x",
			      depths[i], status);
		}
		return t_finish();
	}
	say("depth %s:", depth);
#endif
	run();
	return t_finish();
}
