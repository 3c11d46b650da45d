/* Reusing aiocbs:
 *   an aiocb whose request completed is submitted again without aio_return
 *   (glibc accepts it, real programs do it): the new request runs and its
 *   result is right, as a write, then a read, then a read elsewhere;
 *   1000 rounds of write-wait-resubmit on one aiocb, never calling aio_return;
 *   the same aiocb reused after aio_return;
 *   an aiocb reused with another fd. */
#include "common.h"

#define BS 4096

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("resubmit");
	make_pat_file(path, 64 * BS, 2);
	int fd = xopen(path, O_RDWR);
	unsigned char *w = xmalloc(BS), *r = xmalloc(BS);
	struct aiocb cb;

	fill_pat(w, BS, 0, 77);
	setup_cb(&cb, fd, w, BS, 0);
	say("write: %s", RC(aio_write(&cb)));
	say("write: error %s", errname(wait_one(&cb)));
	/* No aio_return: resubmit the same aiocb as a read of the same block. */
	cb.aio_buf = r;
	memset(r, 0, BS);
	say("read, no aio_return before: %s", RC(aio_read(&cb)));
	say("read: error %s", errname(wait_one(&cb)));
	say("read: data %s", memcmp(w, r, BS) ? "DIFFERS" : "ok");
	/* And again, a read of another block, still without aio_return. */
	cb.aio_offset = 5 * BS;
	say("read block 5: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("read block 5: %s", result(&cb));
	say("read block 5: data %s", check_pat(r, BS, 5 * BS, 2) < 0 ? "ok" : "DIFFERS");

	/* After aio_return, reuse is plain POSIX. */
	cb.aio_offset = 6 * BS;
	say("read block 6 after aio_return: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("read block 6: %s", result(&cb));
	say("read block 6: data %s", check_pat(r, BS, 6 * BS, 2) < 0 ? "ok" : "DIFFERS");

	/* A failed request's aiocb, resubmitted fixed. */
	cb.aio_fildes = 999;
	say("read fd 999: %s", RC(aio_read(&cb)));
	say("read fd 999: error %s", errname(wait_one(&cb)));
	cb.aio_fildes = fd;
	cb.aio_offset = 7 * BS;
	say("read again with the right fd: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("read block 7: %s", result(&cb));
	say("read block 7: data %s", check_pat(r, BS, 7 * BS, 2) < 0 ? "ok" : "DIFFERS");

	/* Another fd on the same aiocb. */
	int fd2 = xopen(path, O_RDONLY);
	cb.aio_fildes = fd2;
	cb.aio_offset = 8 * BS;
	say("read on another fd: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("read block 8: %s", result(&cb));
	say("read block 8: data %s", check_pat(r, BS, 8 * BS, 2) < 0 ? "ok" : "DIFFERS");

	/* 1000 rounds on one aiocb, never aio_return: write block i%32+16 then
	 * read it back, each time into the same aiocb. */
	int bad = 0;
	for (int i = 0; i < 1000; i++) {
		off_t off = (off_t)(16 + i % 32) * BS;
		fill_pat(w, BS, (uint64_t)off, 200 + (unsigned)i);
		setup_cb(&cb, fd, w, BS, off);
		if (aio_write(&cb) || wait_one(&cb) != 0) {
			bad++;
			continue;
		}
		cb.aio_buf = r;
		memset(r, 0, BS);
		if (aio_read(&cb) || wait_one(&cb) != 0 || memcmp(w, r, BS))
			bad++;
	}
	say("1000 rounds without aio_return: %d bad", bad);
	CHECK(bad == 0, "bad %d", bad);
	say("last: %s", result(&cb));

	/* Many aiocbs, each reused 50 times without aio_return, 16 at a time. */
	struct aiocb cbs[16];
	struct aiocb *list[16];
	unsigned char *bufs = xmalloc(16 * BS);
	bad = 0;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 16; i++) {
			setup_cb(&cbs[i], fd, bufs + i * BS, BS, (off_t)((i + round) % 16) * BS + 0);
			list[i] = &cbs[i];
			if (aio_read(&cbs[i]))
				bad++;
		}
		wait_list(list, 16);
		for (int i = 0; i < 16; i++) {
			off_t off = (off_t)((i + round) % 16) * BS;
			if (aio_error(&cbs[i]) != 0)
				bad++;
			else if (off >= BS && check_pat(bufs + i * BS, BS, (uint64_t)off, 2) >= 0)
				bad++;
		}
	}
	say("16 aiocbs x 50 rounds: %d bad", bad);
	CHECK(bad == 0, "bad %d", bad);
	return t_finish();
}
