/* fork while 4 threads keep submitting (argv[1]: scratch directory). Each
 * thread loops: 16 O_DIRECT reads of a pattern file and 16 writes of its
 * own blocks of another file, submitted before it waits; it checks every
 * result. Meanwhile the main thread forks 20 times; each child (alarm T_STUCK_SEC)
 * does its own AIO: a write and a read back on its own file, a lio_listio
 * of 4 reads, an aio_fsync, and exits 0 if all are right. The parent waits
 * for each child (exit 0; a child still there after T_STUCK_SEC is a hang), waits
 * until each thread made 2 more rounds, then stops the threads: every
 * request of theirs completed once with the right data, and the written
 * file holds each thread's last round. POSIX only promises
 * async-signal-safe calls in the child of a multi-threaded process; glibc's
 * AIO in such a child may hang (a lock held by a thread of the parent), so
 * tests/fault.sh requires this of kaio and only records glibc. */
#include "../prog/common.h"
#include <pthread.h>
#include <sys/wait.h>

#define NT 4
#define PER 16
#define BS 4096
#define NFORK 20
#define SEED 121

static int rfd, wfd;
static char *dir;
static volatile int stop;

struct th {
	pthread_t t;
	int id;
	long rounds, bad;
	unsigned last;
};

static void *worker(void *arg)
{
	struct th *me = arg;
	struct aiocb cbs[2 * PER];
	struct aiocb *list[2 * PER];
	unsigned char *buf = xalign(2 * PER * BS);
	while (!stop) {
		unsigned seed = SEED + 1 + (unsigned)(me->id * 100000 + me->rounds);
		for (int i = 0; i < 2 * PER; i++) {
			int rd = i < PER;
			off_t off = rd ? (off_t)((me->rounds * 7 + i * 3 + me->id) % 256) * BS
				       : (off_t)(me->id * PER + i - PER) * BS;
			unsigned char *b = buf + (size_t)i * BS;
			if (rd)
				memset(b, 0xEE, BS);
			else
				fill_pat(b, BS, (uint64_t)off, seed);
			setup_cb(&cbs[i], rd ? rfd : wfd, b, BS, off);
			list[i] = &cbs[i];
			if ((rd ? aio_read : aio_write)(&cbs[i]))
				DIE("submit: %s", errname(errno));
		}
		wait_list(list, 2 * PER);
		for (int i = 0; i < 2 * PER; i++) {
			int e = aio_error(&cbs[i]);
			ssize_t r = aio_return(&cbs[i]);
			if (e || r != BS || (i < PER && check_pat(buf + (size_t)i * BS, BS,
						(uint64_t)cbs[i].aio_offset, SEED) >= 0)) {
				me->bad++;
				fprintf(stderr, "thread %d: request %d: %s %zd\n", me->id, i, errname(e), r);
			}
		}
		me->last = seed;
		__atomic_fetch_add(&me->rounds, 1, __ATOMIC_RELAXED);
	}
	free(buf);
	return NULL;
}

static int child(int k)
{
	alarm(T_STUCK_SEC);
	char p[4096];
	snprintf(p, sizeof p, "%s/child%d", dir, k);
	int fd = xopen(p, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char w[BS], (*r)[BS] = xalign(4 * BS);
	fill_pat(w, BS, 0, 7 + (unsigned)k);
	struct aiocb cb;
	setup_cb(&cb, fd, w, BS, 0);
	if (aio_write(&cb) || wait_one(&cb) || aio_return(&cb) != BS)
		return 1;
	struct aiocb cbs[4], *list[4];
	for (int i = 0; i < 4; i++) {
		setup_cb(&cbs[i], i ? rfd : fd, r[i], BS, i ? (off_t)i * BS : 0);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	if (lio_listio(LIO_WAIT, list, 4, NULL))
		return 2;
	if (aio_return(&cbs[0]) != BS || memcmp(r[0], w, BS))
		return 3;
	for (int i = 1; i < 4; i++)
		if (aio_return(&cbs[i]) != BS || check_pat(r[i], BS, (uint64_t)i * BS, SEED) >= 0)
			return 4;
	setup_cb(&cb, fd, NULL, 0, 0);
	if (aio_fsync(O_SYNC, &cb) || wait_one(&cb) || aio_return(&cb))
		return 5;
	close(fd);
	unlink(p);
	return 0;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	dir = argv[1];
	char *rp = tpath("fork_r"), *wp = tpath("fork_w");
	make_pat_file(rp, 256 * BS, SEED);
	rfd = open_direct(rp, O_RDONLY);
	wfd = open_direct(wp, O_RDWR | O_CREAT | O_TRUNC);
	say("measure: direct %d", rfd >= 0 && wfd >= 0);
	if (rfd < 0)
		rfd = xopen(rp, O_RDONLY);
	if (wfd < 0)
		wfd = xopen(wp, O_RDWR | O_CREAT | O_TRUNC);
	struct th t[NT];
	memset(t, 0, sizeof t);
	for (int i = 0; i < NT; i++) {
		t[i].id = i;
		if (pthread_create(&t[i].t, NULL, worker, &t[i]))
			DIE("pthread_create");
	}
	int ok = 0, bad = 0;
	for (int k = 0; k < NFORK; k++) {
		usleep(5000 + (k % 5) * 1000);
		pid_t pid = fork();
		if (pid < 0)
			DIE("fork");
		if (pid == 0)
			_exit(child(k));
		int st = 0;
		double end = now_sec() + T_STUCK_SEC + 2;
		pid_t w;
		while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now_sec() < end)
			usleep(2000);
		if (w == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
		else {
			bad++;
			fprintf(stderr, "child %d: %s %d\n", k, WIFEXITED(st) ? "exit" : "signal",
				WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
	}
	/* every thread went on beside the forks: 2 rounds more each */
	long base[NT];
	for (int i = 0; i < NT; i++)
		base[i] = __atomic_load_n(&t[i].rounds, __ATOMIC_RELAXED);
	double end = now_sec() + T_STUCK_SEC;
	for (int i = 0; i < NT; i++)
		while (__atomic_load_n(&t[i].rounds, __ATOMIC_RELAXED) < base[i] + 2 &&
		       now_sec() < end)
			usleep(1000);
	stop = 1;
	long rounds = 0, wrong = 0;
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i].t, NULL);
		rounds += t[i].rounds;
		wrong += t[i].bad;
	}
	say("children: %d ok, %d failed or hung", ok, bad);
	say("parent threads: %s requests wrong: %ld", rounds > NT ? "many rounds," : "TOO FEW ROUNDS,", wrong);
	say("measure: rounds %ld", rounds);
	/* The written file holds each thread's last round. */
	int bfd = xopen(wp, O_RDONLY);
	unsigned char b[BS];
	int disk = 0;
	for (int i = 0; i < NT; i++)
		for (int j = 0; j < PER; j++) {
			off_t off = (off_t)(i * PER + j) * BS;
			xpread_all(bfd, b, BS, off);
			disk += check_pat(b, BS, (uint64_t)off, t[i].last) >= 0;
		}
	say("written blocks wrong on disk: %d", disk);
	CHECK(!bad && !wrong && !disk && rounds > NT, "fork with threads");
	return t_finish();
}
