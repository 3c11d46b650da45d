/* Many requests from several threads at once, more than the kernel ring
 * holds (tests/fault.sh runs it under kaio with KAIO_QUEUE_DEPTH=4, so
 * nearly all of them wait for ring space). argv[1]: scratch directory.
 * 8 threads, each with 64 O_DIRECT requests of 4 KiB submitted before any
 * wait (512 in flight): 32 reads of distinct blocks of a pattern file and
 * 32 writes of distinct blocks of another file; thread 0 submits with
 * lio_listio LIO_NOWAIT, the others with aio_read/aio_write. Every other
 * request asks for a SIGEV_SIGNAL whose value names it. Three rounds.
 * Each request must complete once: the right error and return, the right
 * bytes read, exactly one signal for each request that asked (none for the
 * others); the written file is read back with pread. */
#include "../prog/common.h"
#include <pthread.h>

#define NT 8
#define PER 64
#define BS 4096
#define ROUNDS 3
#define SEED 101
#define SIG (SIGRTMIN + 3)

static int rfd, wfd;
static char *rpath, *wpath;
static volatile int sigs[NT * PER];
static volatile int stray;
static int round_no;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	int v = si->si_value.sival_int;
	if (si->si_code == SI_ASYNCIO && v >= 0 && v < NT * PER)
		__atomic_fetch_add(&sigs[v], 1, __ATOMIC_RELAXED);
	else
		stray++;
}

struct th {
	pthread_t t;
	int id;
	int bad;
};

static void *worker(void *arg)
{
	struct th *me = arg;
	struct aiocb *cbs = xcalloc(PER, sizeof *cbs);
	struct aiocb *list[PER];
	unsigned char *buf = xalign((size_t)PER * BS);
	for (int i = 0; i < PER; i++) {
		int g = me->id * PER + i;
		int rd = i % 2 == 0;
		/* reads: blocks spread over the pattern file; writes: block g */
		off_t off = rd ? (off_t)((g * 37 + round_no * 11) % (NT * PER)) * BS
			       : (off_t)g * BS;
		unsigned char *b = buf + (size_t)i * BS;
		if (rd)
			memset(b, 0xEE, BS);
		else
			fill_pat(b, BS, (uint64_t)off, SEED + 1 + (unsigned)round_no);
		setup_cb(&cbs[i], rd ? rfd : wfd, b, BS, off);
		cbs[i].aio_lio_opcode = rd ? LIO_READ : LIO_WRITE;
		if (i % 4 < 2) {
			cbs[i].aio_sigevent.sigev_notify = SIGEV_SIGNAL;
			cbs[i].aio_sigevent.sigev_signo = SIG;
			cbs[i].aio_sigevent.sigev_value.sival_int = g;
		}
		list[i] = &cbs[i];
	}
	if (me->id == 0) {
		if (lio_listio(LIO_NOWAIT, list, PER, NULL))
			DIE("lio_listio: %s", errname(errno));
	} else {
		for (int i = 0; i < PER; i++)
			if ((i % 2 == 0 ? aio_read : aio_write)(&cbs[i]))
				DIE("submit %d: %s", i, errname(errno));
	}
	wait_list(list, PER);
	for (int i = 0; i < PER; i++) {
		int e = aio_error(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		if (e || r != BS) {
			me->bad++;
			fprintf(stderr, "thread %d request %d: error %s return %zd\n",
				me->id, i, errname(e), r);
		} else if (i % 2 == 0 &&
			   check_pat(buf + (size_t)i * BS, BS, (uint64_t)cbs[i].aio_offset, SEED) >= 0) {
			me->bad++;
			fprintf(stderr, "thread %d read %d: wrong data\n", me->id, i);
		}
	}
	free(cbs);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIG, &sa, NULL);
	rpath = tpath("ring_r");
	wpath = tpath("ring_w");
	make_pat_file(rpath, (size_t)NT * PER * BS, SEED);
	rfd = open_direct(rpath, O_RDONLY);
	wfd = open_direct(wpath, O_RDWR | O_CREAT | O_TRUNC);
	if (rfd < 0 || wfd < 0)
		t_skip("O_DIRECT refused here");
	if (ftruncate(wfd, (off_t)NT * PER * BS))
		DIE("ftruncate");
	int bad = 0;
	for (round_no = 0; round_no < ROUNDS; round_no++) {
		memset((void *)sigs, 0, sizeof sigs);
		struct th t[NT];
		for (int i = 0; i < NT; i++) {
			t[i].id = i;
			t[i].bad = 0;
			if (pthread_create(&t[i].t, NULL, worker, &t[i]))
				DIE("pthread_create");
		}
		for (int i = 0; i < NT; i++) {
			pthread_join(t[i].t, NULL);
			bad += t[i].bad;
		}
		/* Signals: exactly one for each request that asked. */
		double end = now_sec() + T_STUCK_SEC;
		int want = NT * PER / 2, got;
		do {
			got = 0;
			for (int g = 0; g < NT * PER; g++)
				got += (g % PER) % 4 < 2 && sigs[g] >= 1;
			if (got < want)
				usleep(1000);
		} while (got < want && now_sec() < end);
		usleep(100000);
		int missing = 0, twice = 0, unasked = 0;
		for (int g = 0; g < NT * PER; g++) {
			int asked = (g % PER) % 4 < 2;
			missing += asked && sigs[g] == 0;
			twice += sigs[g] > 1;
			unasked += !asked && sigs[g];
		}
		say("round %d: %d requests, %d wrong; signals missing %d, twice %d, unasked %d",
		    round_no, NT * PER, bad, missing, twice, unasked);
		CHECK(!bad && !missing && !twice && !unasked, "round %d", round_no);
		/* The written file, read back. */
		unsigned char *all = xalign((size_t)NT * PER * BS);
		int bfd = xopen(wpath, O_RDONLY);
		xpread_all(bfd, all, (size_t)NT * PER * BS, 0);
		close(bfd);
		int wrong = 0;
		for (int g = 0; g < NT * PER; g++)
			if (g % 2 == 1 && check_pat(all + (size_t)g * BS, BS, (uint64_t)g * BS,
						    SEED + 1 + (unsigned)round_no) >= 0)
				wrong++;
		say("round %d: written blocks wrong on disk: %d", round_no, wrong);
		CHECK(!wrong, "written blocks");
		free(all);
	}
	say("stray signals: %d", stray);
	CHECK(!stray, "stray signals");
	return t_finish();
}
