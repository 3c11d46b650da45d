/*
 * The io_uring building block (src/uring.c) on the real kernel: cold
 * buffered reads of a file on ext4/xfs/btrfs complete through the ring and
 * the registered eventfd, with no thread added to the process (iou-wrk
 * workers are tasks of the process); which fds it serves; where its fd
 * lives; a fork child that forgets the parent's ring and makes its own
 * while the parent's queued reads stay the parent's. Skips when io_uring
 * is unavailable here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kaio.h"
#include "engine.h"
#include "uring.h"
#include "wrap.h"

#define BS 4096
#define NREAD 16
#define SPREAD (1 << 20)		/* bytes between two reads of a round */
#define FILE_SIZE (64L << 20)
#define ROUNDS 40
#define WAIT_MS 60000			/* a hang guard, not a time limit */

static char dir[256], path[300];
static int fd = -1, efd = -1, up_err;

static void fill(char *buf, long block)
{
	for (int i = 0; i < BS; i += 8) {
		int64_t v = (int64_t)block * 1000003 + i;

		memcpy(buf + i, &v, 8);
	}
}

static int intact(const char *buf, long block)
{
	char want[BS];

	fill(want, block);
	return memcmp(buf, want, BS) == 0;
}

static int served_fs(const char *d)
{
	struct statfs s;

	unsigned long t;

	if (statfs(d, &s) < 0)
		return 0;
	t = (unsigned long)s.f_type;	/* an int on i386 */
	return t == EXT4_SUPER_MAGIC || t == XFS_SUPER_MAGIC || t == BTRFS_SUPER_MAGIC;
}

static int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Drops the file's pages: 0 when none of them stays cached. */
static int make_cold(void)
{
	unsigned char vec[FILE_SIZE / BS];
	void *m;
	int warm = 0;

	if (fsync(fd) || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return -1;
	m = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	if (mincore(m, FILE_SIZE, vec))
		warm = -1;
	for (long b = 0; b < FILE_SIZE / BS && !warm; b++)
		warm = vec[b] & 1;
	munmap(m, FILE_SIZE);
	return warm;
}

/* The fds that are io_uring rings, in fds[] (at most max); their count. */
static int ring_fds(int *fds, int max)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[300], link[64];
		ssize_t k;

		snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
		k = readlink(p, link, sizeof link - 1);
		if (k <= 0)
			continue;
		link[k] = 0;
		if (!strcmp(link, "anon_inode:[io_uring]") && n < max)
			fds[n++] = atoi(e->d_name);
	}
	closedir(d);
	return n;
}

static int ring_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		n += strstr(line, "[io_uring]") != NULL;
	fclose(f);
	return n;
}

/*
 * Reaps until want completions came, waiting on the eventfd: each tag is
 * the index of a read into bufs, block[] says which block it read. Returns
 * the number of eventfd wake-ups, or -1 on a wrong tag, result or data.
 */
static int reap_all(char (*bufs)[BS], const long *block, int want, int *max_tasks)
{
	int got = 0, wakes = 0, seen[NREAD] = { 0 };

	while (got < want) {
		void *tags[NREAD];
		long res[NREAD];
		int n = kaio_uring_reap(tags, res, NREAD);

		for (int i = 0; i < n; i++) {
			uintptr_t k = (uintptr_t)tags[i] - 1;

			if (k >= NREAD || seen[k]++ || res[i] != BS || !intact(bufs[k], block[k])) {
				print_error("tag %p: res %ld\n", tags[i], res[i]);
				return -1;
			}
		}
		got += n;
		if (max_tasks && tasks() > *max_tasks)
			*max_tasks = tasks();
		if (got < want) {
			struct pollfd p = { efd, POLLIN, 0 };
			uint64_t v;

			if (poll(&p, 1, WAIT_MS) != 1 || read(efd, &v, sizeof v) != sizeof v || !v)
				return -1;
			wakes++;
		}
	}
	return wakes;
}

static int queue_round(char (*bufs)[BS], long *block, int round)
{
	for (int i = 0; i < NREAD; i++) {
		/* A different block of each MiB every round: readahead never
		 * brings in the next round's blocks. */
		block[i] = (long)i * (SPREAD / BS) + (round * 37 + i * 11) % (SPREAD / BS);
		memset(bufs[i], 0, BS);
		if (kaio_uring_read((void *)(uintptr_t)(i + 1), fd, bufs[i], BS, block[i] * BS))
			return -1;
	}
	return 0;
}

static int group_setup(void **state)
{
	const char *cand[] = { getenv("KAIO_URING_TEST_DIR"), "/tmp", "build", "." };
	static char buf[BS];

	(void)state;
	for (size_t i = 0; i < sizeof cand / sizeof *cand && !dir[0]; i++)
		if (cand[i] && served_fs(cand[i]))
			snprintf(dir, sizeof dir, "%s/kaio-uring-XXXXXX", cand[i]);
	if (!dir[0] || !mkdtemp(dir)) {
		print_message("no directory on ext4, xfs or btrfs (set KAIO_URING_TEST_DIR)\n");
		dir[0] = 0;
		return 0;
	}
	snprintf(path, sizeof path, "%s/data", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	for (long b = 0; b < FILE_SIZE / BS; b++) {
		fill(buf, b);
		if (write(fd, buf, BS) != BS)
			return -1;
	}
	efd = eventfd(0, EFD_CLOEXEC);
	kaio_config.uring = KAIO_URING_AUTO;
	up_err = kaio_uring_get(64, efd);
	if (up_err)
		print_message("io_uring unavailable here: %s\n", strerrorname_np(-up_err));
	return efd < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	if (dir[0])
		rmdir(dir);
	return 0;
}

static void need_ring(void)
{
	if (!dir[0] || up_err)
		skip();
}

static void test_cold_reads(void **state)
{
	static char bufs[NREAD][BS];
	long block[NREAD];
	int t;

	(void)state;
	need_ring();
	assert_int_equal(make_cold(), 0);
	assert_int_equal(queue_round(bufs, block, 0), 0);
	assert_int_equal(kaio_uring_inflight(), NREAD);
	assert_int_equal(kaio_uring_submit(), NREAD);
	t = tasks();
	assert_int_equal(t, 1);
	/* At least one wake-up through the eventfd, or all were there at once. */
	assert_true(reap_all(bufs, block, NREAD, NULL) >= 0);
	assert_int_equal(kaio_uring_inflight(), 0);
	assert_false(kaio_uring_ready());
}

/* The completions bump the eventfd: nothing else writes to it here. */
static void test_eventfd_bumped(void **state)
{
	static char buf[BS];
	struct pollfd p;
	uint64_t v = 0;
	void *tag;
	long res;

	(void)state;
	need_ring();
	assert_int_equal(make_cold(), 0);
	p = (struct pollfd){ efd, POLLIN, 0 };
	if (poll(&p, 1, 0) == 1)
		assert_int_equal(read(efd, &v, sizeof v), sizeof v);
	assert_int_equal(kaio_uring_read(&buf, fd, buf, BS, 5 * BS), 0);
	assert_int_equal(kaio_uring_submit(), 1);
	p = (struct pollfd){ efd, POLLIN, 0 };
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(efd, &v, sizeof v), sizeof v);
	assert_true(v >= 1);
	assert_true(kaio_uring_ready());
	assert_int_equal(kaio_uring_reap(&tag, &res, 1), 1);
	assert_ptr_equal(tag, &buf);
	assert_int_equal(res, BS);
	assert_true(intact(buf, 5));
}

/*
 * No thread: many rounds of cold reads, the task count sampled after each
 * submit and each batch reaped (an idle iou-wrk worker lingers for
 * seconds, so one started at any time is seen).
 */
static void test_no_threads(void **state)
{
	static char bufs[NREAD][BS];
	long block[NREAD];
	int max = tasks(), wakes = 0;

	(void)state;
	need_ring();
	assert_int_equal(max, 1);
	for (int r = 0; r < ROUNDS; r++) {
		int w;

		assert_int_equal(make_cold(), 0);
		assert_int_equal(queue_round(bufs, block, r), 0);
		assert_int_equal(kaio_uring_submit(), NREAD);
		if (tasks() > max)
			max = tasks();
		w = reap_all(bufs, block, NREAD, &max);
		assert_true(w >= 0);
		wakes += w;
	}
	print_message("%d cold reads in rounds of %d: at most %d task(s), %d eventfd wake-ups\n",
		      ROUNDS * NREAD, NREAD, max, wakes);
	assert_int_equal(max, 1);
	/* Cold reads that all completed inside the submit would prove nothing. */
	assert_true(wakes > 0);
}

static void test_serves(void **state)
{
	struct stat st, shm_st;
	int p[2], s[2], shm;

	(void)state;
	if (!dir[0])
		skip();
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(kaio_uring_serves(fd, &st), 1);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fstat(p[0], &st), 0);
	assert_int_equal(kaio_uring_serves(p[0], &st), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	assert_int_equal(fstat(s[0], &st), 0);
	assert_int_equal(kaio_uring_serves(s[0], &st), 0);
	close(p[0]);
	close(p[1]);
	close(s[0]);
	close(s[1]);
	assert_int_equal(stat("/dev/null", &st), 0);
	assert_int_equal(kaio_uring_serves(-1, &st), 0);

	struct statfs sfs;
	char tp[] = "/dev/shm/kaio-uring-XXXXXX";

	if (statfs("/dev/shm", &sfs) || sfs.f_type != TMPFS_MAGIC || (shm = mkstemp(tp)) < 0) {
		print_message("no tmpfs at /dev/shm: its case not checked\n");
		return;
	}
	unlink(tp);
	assert_int_equal(fstat(shm, &shm_st), 0);
	assert_int_equal(kaio_uring_serves(shm, &shm_st), 0);
	/* Cached by st_dev: the answer for tmpfs even through the ext4 fd. */
	assert_int_equal(kaio_uring_serves(fd, &shm_st), 0);
	close(shm);
}

static void test_fd_high_cloexec(void **state)
{
	int fds[8], n;

	(void)state;
	need_ring();
	n = ring_fds(fds, 8);
	assert_int_equal(n, 1);
	assert_true(fds[0] >= KAIO_FD_MIN);
	assert_true(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
}

/* A fork child ends on a fault: cmocka's handlers would run the next test in it. */
static void child_start(void)
{
	int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		signal(sigs[i], SIG_DFL);
}

/* The child's checks; its exit code says which failed. */
static int child_ring(void)
{
	static char buf[BS];
	int fds[8], cefd;
	struct pollfd p;
	uint64_t v;
	void *tag;
	long res;

	child_start();
	kaio_uring_forget();
	if (ring_fds(fds, 8) != 0)
		return 2;
	if (ring_mapped() != 0)
		return 3;
	if (kaio_uring_inflight() || kaio_uring_ready())
		return 4;
	cefd = eventfd(0, EFD_CLOEXEC);
	if (kaio_uring_get(8, cefd))
		return 5;
	if (ring_fds(fds, 8) != 1 || fds[0] < KAIO_FD_MIN)
		return 6;
	if (kaio_uring_read(&buf, fd, buf, BS, 9 * BS) || kaio_uring_submit() != 1)
		return 7;
	p = (struct pollfd){ cefd, POLLIN, 0 };
	if (poll(&p, 1, WAIT_MS) != 1 || read(cefd, &v, sizeof v) != sizeof v)
		return 8;
	if (kaio_uring_reap(&tag, &res, 1) != 1 || tag != &buf || res != BS || !intact(buf, 9))
		return 9;
	return 0;
}

static void test_fork_forget(void **state)
{
	static char bufs[NREAD][BS];
	long block[NREAD];
	int status, want = 4;
	pid_t pid;

	(void)state;
	need_ring();
	assert_int_equal(make_cold(), 0);
	/* Queued in the parent, not submitted: the child must not send them. */
	for (int i = 0; i < want; i++) {
		block[i] = 100 + i * 300;
		assert_int_equal(kaio_uring_read((void *)(uintptr_t)(i + 1), fd, bufs[i], BS,
						 block[i] * BS), 0);
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_ring());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(kaio_uring_inflight(), want);
	assert_int_equal(kaio_uring_submit(), want);
	assert_int_equal(reap_all(bufs, block, want, NULL) >= 0, 1);
}

/* Full means -EBUSY, and the reads already queued still complete. */
static void test_busy(void **state)
{
	static char bufs[NREAD][BS];
	long block[NREAD];
	struct kaio_uring_stats st;
	int n = 0, r;

	(void)state;
	need_ring();
	kaio_uring_stats_get(&st);
	assert_int_equal(st.entries, 64);
	/* 64 SQ entries: the 65th read has no SQE. */
	while ((r = kaio_uring_read((void *)(uintptr_t)(n % NREAD + 1), fd, bufs[n % NREAD], BS,
				    (n % NREAD) * BS)) == 0)
		n++;
	assert_int_equal(r, -EBUSY);
	assert_int_equal(n, 64);
	assert_int_equal(kaio_uring_submit(), 64);
	/* The CQ holds 128: 64 more fit, then in flight is the limit. */
	for (n = 0; (r = kaio_uring_read((void *)(uintptr_t)(n % NREAD + 1), fd, bufs[n % NREAD],
					  BS, (n % NREAD) * BS)) == 0; n++)
		;
	assert_int_equal(r, -EBUSY);
	assert_int_equal(n, 64);
	assert_int_equal(kaio_uring_inflight(), 128);
	assert_int_equal(kaio_uring_read(NULL, fd, bufs[0], BS, -1), -EINVAL);
	assert_int_equal(kaio_uring_submit(), 64);
	for (int i = 0; i < NREAD; i++)
		block[i] = i;
	for (n = 0; n < 128;) {
		void *tags[NREAD];
		long res[NREAD];
		struct pollfd p = { efd, POLLIN, 0 };
		uint64_t v;
		int k = kaio_uring_reap(tags, res, NREAD);

		for (int i = 0; i < k; i++)
			assert_int_equal(res[i], BS);
		n += k;
		if (n < 128 && !k) {
			assert_int_equal(poll(&p, 1, WAIT_MS), 1);
			assert_int_equal(read(efd, &v, sizeof v), sizeof v);
		}
	}
	assert_int_equal(kaio_uring_inflight(), 0);
	(void)block;
	kaio_uring_stats_get(&st);
	assert_true(st.reads >= 128);
	assert_int_equal(st.err, 0);
	assert_null(st.why);
}

/* KAIO_URING=0 in a fresh child: refused with -EOPNOTSUPP, "off", no ring made. */
static void test_off(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct kaio_uring_stats st;
		int fds[8];

		child_start();
		kaio_uring_forget();
		kaio_config.uring = KAIO_URING_NEVER;
		if (kaio_uring_get(8, efd) != -EOPNOTSUPP || kaio_uring_get(8, efd) != -EOPNOTSUPP)
			_exit(2);
		kaio_uring_stats_get(&st);
		if (st.err != -EOPNOTSUPP || !st.why || strcmp(st.why, "off") || st.entries)
			_exit(3);
		_exit(ring_fds(fds, 8) == 0 ? 0 : 4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cold_reads),
		cmocka_unit_test(test_eventfd_bumped),
		cmocka_unit_test(test_no_threads),
		cmocka_unit_test(test_serves),
		cmocka_unit_test(test_fd_high_cloexec),
		cmocka_unit_test(test_fork_forget),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_off),
	};

	/* The engine is under test: its requests must not end on the hit path (test_inline.c). */
	setenv("KAIO_INLINE", "0", 1);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
