/* aio_cancel with 64 requests outstanding on one regular-file fd. What gets
 * canceled differs on purpose (glibc cancels requests queued behind the
 * fd's running one; kaio cannot take back a request in the kernel and says
 * AIO_NOTCANCELED), so only invariants are compared:
 *   - the answer is consistent with the requests: AIO_ALLDONE -> none
 *     canceled and none pending; AIO_CANCELED -> none pending right after;
 *     a request shown ECANCELED was canceled by the call;
 *   - every canceled request shows ECANCELED and aio_return -1 at once, and
 *     did no I/O (a read left its buffer alone, a write left the file alone);
 *   - every other request completes with the right result and data.
 * Done for reads and for writes, with aio_cancel(fd, NULL) and with
 * aio_cancel(fd, aiocb) on each request in reverse order. The counts go to
 * measure lines. */
#include "common.h"

#define N 64
#define BS 4096

static void round_(int fd, int write_, int per_aiocb, unsigned seed)
{
	const char *what = write_ ? (per_aiocb ? "writes, each" : "writes, NULL")
				  : (per_aiocb ? "reads, each" : "reads, NULL");
	struct aiocb cbs[N];
	unsigned char *bufs = xalign(N * BS);
	/* Old contents of the file: pattern 9 (make_pat_file below). */
	for (int i = 0; i < N; i++) {
		unsigned char *b = bufs + (size_t)i * BS;
		if (write_)
			fill_pat(b, BS, (uint64_t)i * BS, seed);
		else
			memset(b, 0xEE, BS);
		setup_cb(&cbs[i], fd, b, BS, (off_t)i * BS);
	}
	int refused = 0;
	for (int i = 0; i < N; i++)
		refused += (write_ ? aio_write(&cbs[i]) : aio_read(&cbs[i])) != 0;
	CHECK(refused == 0, "%d refused", refused);

	int canceled = 0, pending = 0, answers[3] = { 0, 0, 0 };
	int state[N]; /* 0 done, 1 canceled, 2 pending, right after the cancel */
	if (!per_aiocb) {
		int r = aio_cancel(fd, NULL);
		say("measure: cancel_all %s", cancelname(r));
		CHECK(r == AIO_CANCELED || r == AIO_NOTCANCELED || r == AIO_ALLDONE,
		      "answer %d", r);
		for (int i = 0; i < N; i++) {
			int e = aio_error(&cbs[i]);
			state[i] = e == ECANCELED ? 1 : e == EINPROGRESS ? 2 : 0;
			canceled += state[i] == 1;
			pending += state[i] == 2;
		}
		if (r == AIO_ALLDONE)
			CHECK(canceled == 0 && pending == 0,
			      "AIO_ALLDONE with %d canceled, %d pending", canceled, pending);
		if (r == AIO_CANCELED)
			CHECK(pending == 0, "AIO_CANCELED with %d pending", pending);
		if (canceled)
			CHECK(r != AIO_ALLDONE, "canceled some, said AIO_ALLDONE");
	} else {
		for (int i = N - 1; i >= 0; i--) {
			int r = aio_cancel(fd, &cbs[i]);
			int e = aio_error(&cbs[i]);
			CHECK(r >= 0 && r <= 2, "answer %d", r);
			if (r < 0 || r > 2)
				continue;
			answers[r]++;
			state[i] = e == ECANCELED ? 1 : e == EINPROGRESS ? 2 : 0;
			if (r == AIO_CANCELED)
				CHECK(e == ECANCELED, "AIO_CANCELED, aio_error %s", errname(e));
			else
				CHECK(e != ECANCELED, "%s, aio_error ECANCELED", cancelname(r));
			if (r == AIO_ALLDONE)
				CHECK(e != EINPROGRESS, "AIO_ALLDONE, aio_error EINPROGRESS");
			canceled += state[i] == 1;
			pending += state[i] == 2;
		}
		say("measure: cancel_each canceled %d notcanceled %d alldone %d",
		    answers[0], answers[1], answers[2]);
	}
	say("measure: canceled %d pending %d", canceled, pending);

	/* Canceled: final at once, and no I/O. Others: complete and right. */
	int bad = 0;
	for (int i = 0; i < N; i++) {
		unsigned char *b = bufs + (size_t)i * BS;
		if (state[i] == 1) {
			bad += aio_error(&cbs[i]) != ECANCELED;
			bad += aio_return(&cbs[i]) != -1;
			if (!write_)
				for (int k = 0; k < BS; k++)
					if (b[k] != 0xEE) {
						bad++;
						break;
					}
			continue;
		}
		int e = wait_one(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		if (e != 0 || r != BS) {
			fprintf(stderr, "%s: request %d: error %s return %zd\n", what, i,
				errname(e), r);
			bad++;
		} else if (!write_ && check_pat(b, BS, (uint64_t)i * BS, 9) >= 0) {
			fprintf(stderr, "%s: request %d: wrong data\n", what, i);
			bad++;
		}
	}
	if (write_) {
		unsigned char *chk = xalign(BS);
		for (int i = 0; i < N; i++) {
			xpread_all(fd, chk, BS, (off_t)i * BS);
			unsigned want = state[i] == 1 ? 9 : seed;
			if (check_pat(chk, BS, (uint64_t)i * BS, want) >= 0) {
				fprintf(stderr, "%s: block %d holds the wrong data\n", what, i);
				bad++;
			}
			/* Put the old contents back for the next round. */
			fill_pat(chk, BS, (uint64_t)i * BS, 9);
			xpwrite_all(fd, chk, BS, (off_t)i * BS);
		}
		free(chk);
	}
	say("%s: invariants %s", what, bad ? "BROKEN" : "hold");
	CHECK(bad == 0, "%s: %d broken", what, bad);
	say("%s: after, aio_cancel NULL: %s", what, cancelname(aio_cancel(fd, NULL)));
	free(bufs);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("cancel_many");
	make_pat_file(path, N * BS, 9);
	int fd = open_direct(path, O_RDWR);
	say("measure: direct %d", fd >= 0);
	if (fd < 0)
		fd = xopen(path, O_RDWR);
	for (int rep = 0; rep < 3; rep++) {
		drop_cache(fd);
		round_(fd, 0, 0, 0);
		round_(fd, 1, 0, 30 + (unsigned)rep);
		drop_cache(fd);
		round_(fd, 0, 1, 0);
		round_(fd, 1, 1, 40 + (unsigned)rep);
	}
	return t_finish();
}
