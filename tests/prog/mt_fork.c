/* fork while other threads are inside aio calls: 3 threads keep requests in
 * flight (buffered reads of a file dropped from the page cache, so that the
 * kernel reads the disk inside the submitting call; appends to an O_APPEND
 * fd; O_DIRECT reads) while the main thread forks 24 times. Each child does
 * AIO of its own and exits 0 (the first one that does not ends the forking): appends to its own file through the same fd
 * number as the parent's appending fd (dup2), an aio_fsync, a read back and
 * a read of the shared file. The parent's requests all complete, right, and
 * its appends are in call order.
 * The children's verdict is a measure line with a kaio rule in run.sh:
 * glibc's child inherits its AIO state (a mutex a parent thread may hold,
 * helper threads that do not exist there) and may hang. A child that hangs
 * is killed after 8 s (alarm). */
#include "common.h"
#include <pthread.h>
#include <sys/wait.h>

#define FORKS 24
#define FILE_SIZE (8 << 20)
#define BS 4096
#define QD 8
#define RS 256
#define CHILD_N 8

static int cold_fd, direct_fd, app_fd;
static int stop;
static long appends;
static unsigned char *app_bufs;
#define APP_MAX 200000
static struct aiocb *app_cbs;
static int bad_reads, bad_direct, bad_appends;

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 16;
}

static void record(unsigned char *r, long i, unsigned seed)
{
	fill_pat(r, RS, (uint64_t)i * RS, seed);
	int n = snprintf((char *)r, RS, "record %07ld", i);
	r[n] = ' ';
}

/* Reads of fd, QD in flight, until stop; every one checked. */
static void reads(int fd, int cold, int *bad)
{
	struct aiocb cbs[QD];
	unsigned char *bufs = xalign((size_t)QD * BS);
	unsigned seed = (unsigned)fd;
	long n = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (cold && n % 256 == 0)
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		for (int i = 0; i < QD; i++) {
			off_t off = (off_t)(rnd(&seed) % (FILE_SIZE / BS)) * BS;
			setup_cb(&cbs[i], fd, bufs + (size_t)i * BS, BS, off);
			if (aio_read(&cbs[i]))
				DIE("aio_read: %s", errname(errno));
		}
		for (int i = 0; i < QD; i++) {
			if (wait_one(&cbs[i]) != 0 || aio_return(&cbs[i]) != BS ||
			    check_pat(bufs + (size_t)i * BS, BS, (uint64_t)cbs[i].aio_offset, 1) >= 0)
				(*bad)++;
		}
		n += QD;
	}
	free(bufs);
}

static void *cold_reader(void *arg)
{
	(void)arg;
	reads(cold_fd, 1, &bad_reads);
	return NULL;
}

static void *direct_reader(void *arg)
{
	(void)arg;
	reads(direct_fd, 0, &bad_direct);
	return NULL;
}

static void *appender(void *arg)
{
	long waited = 0;

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE) && appends < APP_MAX) {
		long i = appends++;
		record(app_bufs + (size_t)i * RS, i, 2);
		setup_cb(&app_cbs[i], app_fd, app_bufs + (size_t)i * RS, RS, 0);
		if (aio_write(&app_cbs[i]))
			DIE("aio_write: %s", errname(errno));
		while (appends - waited > QD)
			wait_one(&app_cbs[waited++]);
	}
	while (waited < appends)
		wait_one(&app_cbs[waited++]);
	return NULL;
}

/* The child's own AIO; its exit status says what went wrong. */
static int child(int k)
{
	static unsigned char rec[CHILD_N][RS], back[RS], blk[BS];
	struct aiocb c[CHILD_N], fs, rd, cr, *list[CHILD_N];
	char name[32];

	alarm(8);
	snprintf(name, sizeof name, "child%d", k);
	char *path = tpath(name);
	int f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (f < 0 || dup2(f, app_fd) != app_fd)
		return 2;
	close(f);
	for (int i = 0; i < CHILD_N; i++) {
		record(rec[i], i, 9);
		setup_cb(&c[i], app_fd, rec[i], RS, 0);
		c[i].aio_lio_opcode = LIO_WRITE;
		list[i] = &c[i];
	}
	if (lio_listio(LIO_NOWAIT, list, CHILD_N / 2, NULL))
		return 3;
	for (int i = CHILD_N / 2; i < CHILD_N; i++)
		if (aio_write(&c[i]))
			return 4;
	setup_cb(&fs, app_fd, NULL, 0, 0);
	if (aio_fsync(O_SYNC, &fs))
		return 5;
	if (wait_bounded(&fs, 5) != 0 || aio_return(&fs) != 0)
		return 6;
	for (int i = 0; i < CHILD_N; i++)
		if (wait_bounded(&c[i], 5) != 0 || aio_return(&c[i]) != RS)
			return 7;
	int rfd = open(path, O_RDONLY);
	setup_cb(&rd, rfd, back, RS, 5 * RS);
	if (rfd < 0 || aio_read(&rd) || wait_bounded(&rd, 5) != 0 || aio_return(&rd) != RS ||
	    memcmp(back, rec[5], RS))
		return 8;
	for (int i = 0; i < CHILD_N; i++)
		if (pread(rfd, back, RS, (off_t)i * RS) != RS || memcmp(back, rec[i], RS))
			return 9;
	setup_cb(&cr, cold_fd, blk, BS, 3 * BS);
	if (aio_read(&cr) || wait_bounded(&cr, 5) != 0 || aio_return(&cr) != BS ||
	    check_pat(blk, BS, 3 * BS, 1) >= 0)
		return 10;
	return 0;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *pat_path = tpath("mt_fork_pat"), *app_path = tpath("mt_fork_app");
	make_pat_file(pat_path, FILE_SIZE, 1);
	cold_fd = xopen(pat_path, O_RDONLY);
	direct_fd = open_direct(pat_path, O_RDONLY);
	if (direct_fd < 0) {
		say("measure: direct refused");
		direct_fd = xopen(pat_path, O_RDONLY);
	}
	app_fd = xopen(app_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
	app_bufs = xmalloc((size_t)APP_MAX * RS);
	app_cbs = xcalloc(APP_MAX, sizeof *app_cbs);

	pthread_t th[3];
	if (pthread_create(&th[0], NULL, cold_reader, NULL) ||
	    pthread_create(&th[1], NULL, direct_reader, NULL) ||
	    pthread_create(&th[2], NULL, appender, NULL))
		DIE("pthread_create");
	unsigned seed = 5;
	int ok = 0, forks = 0, status[FORKS];
	for (int k = 0; k < FORKS; k++) {
		usleep(2000 + rnd(&seed) % 5000);
		fflush(stdout);
		pid_t pid = fork();
		if (pid < 0)
			DIE("fork: %s", strerror(errno));
		if (pid == 0)
			_exit(child(k));
		if (waitpid(pid, &status[k], 0) != pid)
			DIE("waitpid");
		forks++;
		if (!WIFEXITED(status[k]) || WEXITSTATUS(status[k]))
			break;	/* once is enough: a hung child costs seconds */
		ok++;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);

	if (ok == FORKS) {
		say("measure: mt_fork_children all");
	} else {
		say("measure: mt_fork_children %d of %d", ok, FORKS);
		for (int k = 0; k < forks; k++)
			if (!WIFEXITED(status[k]) || WEXITSTATUS(status[k]))
				fprintf(stderr, "child %d: %s %d\n", k,
					WIFEXITED(status[k]) ? "exit" : "signal",
					WIFEXITED(status[k]) ? WEXITSTATUS(status[k]) : WTERMSIG(status[k]));
	}
	say("parent: wrong reads %d, wrong direct reads %d", bad_reads, bad_direct);
	CHECK(!bad_reads && !bad_direct, "reads");
	for (long i = 0; i < appends; i++)
		bad_appends += aio_error(&app_cbs[i]) != 0 || aio_return(&app_cbs[i]) != RS;
	say("parent: appends failed %d", bad_appends);
	CHECK(!bad_appends, "appends");
	int rfd = xopen(app_path, O_RDONLY);
	struct stat st;
	fstat(rfd, &st);
	unsigned char *all = xmalloc((size_t)st.st_size + 1), want[RS];
	xpread_all(rfd, all, (size_t)st.st_size, 0);
	long first_bad = st.st_size == (off_t)(appends * RS) ? -1 : appends;
	for (long i = 0; i < appends && first_bad < 0; i++) {
		record(want, i, 2);
		if (memcmp(all + (size_t)i * RS, want, RS))
			first_bad = i;
	}
	say("parent: appends %s", first_bad < 0 ? "in call order" : "WRONG");
	CHECK(first_bad < 0, "append record %ld", first_bad);
	say("measure: mt_fork_appends %ld", appends);
	return t_finish();
}
