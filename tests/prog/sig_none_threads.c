/* A program that never asks for a notification (SIGEV_NONE everywhere, and
 * no list sigevent or a SIGEV_NONE one) starts no thread under kaio.
 *
 * 100 rounds of 20 requests of every kind on one file: 4 aio_write, an
 * aio_fsync (O_SYNC and O_DSYNC alternately), 4 aio_read, a lio_listio
 * LIO_NOWAIT of 4 reads (list sigevent SIGEV_NONE), a lio_listio LIO_WAIT of
 * 4 writes (no sigevent), and 2 reads followed by aio_cancel(fd, NULL).
 * The threads are counted right after submitting, several times:
 *   none_threads_*    kaio 1 every time (its notifier never starts)
 *   none_threads_max  kaio 1; glibc > 1 (its helper threads were there)
 * The answers themselves are compared: every request ends as it must and
 * the file holds what was written. */
#include "common.h"

#define ROUNDS 100
#define BS 4096
#define SEED 29
#define SLOTS 16		/* blocks per round's region */

static int fd;
static int max_threads;

static void count(const char *when)
{
	int n = count_threads();
	if (n > max_threads)
		max_threads = n;
	say("measure: none_threads_%s %d", when, n);
}

static void none(struct aiocb *cb)
{
	cb->aio_sigevent.sigev_notify = SIGEV_NONE;
	cb->aio_sigevent.sigev_signo = SIGUSR1; /* must not matter */
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("none");
	fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	size_t region = (size_t)SLOTS * BS;
	unsigned char *w = xmalloc(region), *r = xmalloc(region);
	struct aiocb cbs[20];
	struct aiocb *list[4];
	int requests = 0, bad = 0, cancel_bad = 0, lio_bad = 0;
	int answers[3] = { 0 };

	count("start");
	for (int round = 0; round < ROUNDS; round++) {
		off_t base = (off_t)round * (off_t)region;
		fill_pat(w, region, (uint64_t)base, SEED);
		memset(r, 0xEE, region);
		/* 4 writes (blocks 0-3), then an fsync after them. */
		for (int i = 0; i < 4; i++) {
			setup_cb(&cbs[i], fd, w + i * BS, BS, base + i * BS);
			none(&cbs[i]);
			if (aio_write(&cbs[i]))
				DIE("aio_write: %s", errname(errno));
		}
		setup_cb(&cbs[4], fd, NULL, 0, 0);
		none(&cbs[4]);
		if (aio_fsync(round & 1 ? O_DSYNC : O_SYNC, &cbs[4]))
			DIE("aio_fsync: %s", errname(errno));
		if (round % 25 == 0)
			count("writes");
		/* 4 writes more by LIO_WAIT (blocks 4-7). */
		for (int i = 0; i < 4; i++) {
			setup_cb(&cbs[5 + i], fd, w + (4 + i) * BS, BS,
				 base + (4 + i) * BS);
			none(&cbs[5 + i]);
			cbs[5 + i].aio_lio_opcode = LIO_WRITE;
			list[i] = &cbs[5 + i];
		}
		if (lio_listio(LIO_WAIT, list, 4, NULL))
			lio_bad++;
		wait_list((struct aiocb *const[]){ &cbs[0], &cbs[1], &cbs[2],
						   &cbs[3], &cbs[4] }, 5);
		for (int i = 0; i < 9; i++)
			bad += aio_error(&cbs[i]) != 0 ||
			       aio_return(&cbs[i]) != (i == 4 ? 0 : BS);
		/* 4 reads of blocks 0-3 by aio_read, 4 of 4-7 by LIO_NOWAIT. */
		for (int i = 0; i < 4; i++) {
			setup_cb(&cbs[9 + i], fd, r + i * BS, BS, base + i * BS);
			none(&cbs[9 + i]);
			if (aio_read(&cbs[9 + i]))
				DIE("aio_read: %s", errname(errno));
		}
		for (int i = 0; i < 4; i++) {
			setup_cb(&cbs[13 + i], fd, r + (4 + i) * BS, BS,
				 base + (4 + i) * BS);
			none(&cbs[13 + i]);
			cbs[13 + i].aio_lio_opcode = LIO_READ;
			list[i] = &cbs[13 + i];
		}
		struct sigevent sev;
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_NONE;
		sev.sigev_signo = SIGUSR2;
		if (lio_listio(LIO_NOWAIT, list, 4, &sev))
			lio_bad++;
		if (round % 25 == 12)
			count("reads");
		for (int i = 9; i < 17; i++) {
			bad += wait_one(&cbs[i]) != 0;
			bad += aio_return(&cbs[i]) != BS;
		}
		bad += memcmp(w, r, 8 * BS) != 0;
		/* 2 reads, then cancel everything on the fd. */
		for (int i = 0; i < 2; i++) {
			setup_cb(&cbs[17 + i], fd, r + (8 + i) * BS, BS,
				 base + i * BS);
			none(&cbs[17 + i]);
			if (aio_read(&cbs[17 + i]))
				DIE("aio_read: %s", errname(errno));
		}
		int c = aio_cancel(fd, NULL);
		if (c == AIO_CANCELED)
			answers[0]++;
		else if (c == AIO_NOTCANCELED)
			answers[1]++;
		else if (c == AIO_ALLDONE)
			answers[2]++;
		else
			cancel_bad++;
		for (int i = 17; i < 19; i++) {
			int e = wait_one(&cbs[i]);
			ssize_t rv = aio_return(&cbs[i]);
			if (e == 0)
				cancel_bad += rv != BS ||
					      memcmp(r + (8 + i - 17) * BS,
						     w + (i - 17) * BS, BS) != 0;
			else
				cancel_bad += e != ECANCELED || rv != -1;
		}
		/* Slot 19: one more fsync, waited for with aio_suspend. */
		setup_cb(&cbs[19], fd, NULL, 0, 0);
		none(&cbs[19]);
		if (aio_fsync(O_SYNC, &cbs[19]))
			DIE("aio_fsync: %s", errname(errno));
		bad += wait_one(&cbs[19]) != 0 || aio_return(&cbs[19]) != 0;
		requests += 20;
	}
	count("end");
	say("%d requests, %d wrong answers, %d wrong after cancel, %d lio_listio "
	    "failures",
	    requests, bad, cancel_bad, lio_bad);
	say("measure: none_cancel_answers canceled=%d notcanceled=%d alldone=%d",
	    answers[0], answers[1], answers[2]);
	/* The whole file. */
	unsigned char *all = xmalloc((size_t)ROUNDS * region);
	xpread_all(fd, all, (size_t)(ROUNDS - 1) * region + 8 * BS, 0);
	int good = 0;
	for (int round = 0; round < ROUNDS; round++)
		good += check_pat(all + (size_t)round * region, 8 * BS,
				  (uint64_t)round * region, SEED) < 0;
	say("file: %d of %d rounds right", good, ROUNDS);
	CHECK(!bad && !cancel_bad && !lio_bad && good == ROUNDS, "answers");
	usleep(100000);
	count("idle");
	say("measure: none_threads_max %d", max_threads);
	free(all);
	free(w);
	free(r);
	free(path);
	return t_finish();
}
