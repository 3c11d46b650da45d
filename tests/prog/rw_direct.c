/* Round trip with O_DIRECT: aligned buffers (posix_memalign 4096), aligned
 * sizes and offsets; aio_write, aio_read back, data byte for byte. Several
 * reads in flight at once on a file dropped from the cache. Skips only if
 * the file system refuses O_DIRECT (open fails with EINVAL). */
#include "common.h"

#define NBLK 64
#define BS 4096

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("rw_direct");
	int fd = open_direct(path, O_RDWR | O_CREAT | O_TRUNC);
	if (fd < 0)
		t_skip("O_DIRECT not supported here (open: EINVAL)");

	static const size_t sizes[] = { 4096, 8192, 65536, 1 << 20 };
	static const off_t offs[] = { 0, 4096, 1 << 20, 7 << 20 };
	for (size_t i = 0; i < 4; i++) {
		size_t n = sizes[i];
		off_t off = offs[i];
		unsigned char *w = xalign(n), *r = xalign(n);
		struct aiocb cb;
		fill_pat(w, n, (uint64_t)off, (unsigned)i);
		memset(r, 0xEE, n);

		setup_cb(&cb, fd, w, n, off);
		say("aio_write %zu@%jd: %s", n, (intmax_t)off, RC(aio_write(&cb)));
		int e = aio_error(&cb);
		CHECK(e == EINPROGRESS || e == 0, "first aio_error %s", errname(e));
		say("write: error %s", errname(wait_one(&cb)));
		say("write: return %zd", aio_return(&cb));

		setup_cb(&cb, fd, r, n, off);
		say("aio_read %zu@%jd: %s", n, (intmax_t)off, RC(aio_read(&cb)));
		e = aio_error(&cb);
		CHECK(e == EINPROGRESS || e == 0, "first aio_error %s", errname(e));
		say("read: error %s", errname(wait_one(&cb)));
		say("read: return %zd", aio_return(&cb));
		say("read: data %s", memcmp(w, r, n) ? "DIFFERS" : "ok");
		CHECK(memcmp(w, r, n) == 0, "data differs");
		free(w);
		free(r);
	}

	/* NBLK reads in flight at once, from the disk. */
	unsigned char *w = xalign(NBLK * BS);
	fill_pat(w, NBLK * BS, 0, 9);
	xpwrite_all(fd, w, NBLK * BS, 0);
	drop_cache(fd);
	struct aiocb *cbs = xcalloc(NBLK, sizeof *cbs);
	struct aiocb *list[NBLK];
	unsigned char *r = xalign(NBLK * BS);
	memset(r, 0xEE, NBLK * BS);
	int submitted = 0;
	for (int i = NBLK - 1; i >= 0; i--) {
		setup_cb(&cbs[i], fd, r + (size_t)i * BS, BS, (off_t)i * BS);
		list[i] = &cbs[i];
		if (aio_read(&cbs[i]) == 0)
			submitted++;
	}
	say("submitted %d", submitted);
	wait_list(list, NBLK);
	int good = 0;
	for (int i = 0; i < NBLK; i++) {
		if (aio_error(&cbs[i]) == 0 && aio_return(&cbs[i]) == BS &&
		    check_pat(r + (size_t)i * BS, BS, (uint64_t)i * BS, 9) < 0)
			good++;
	}
	say("%d blocks read back correctly", good);
	CHECK(good == NBLK, "%d good", good);

	/* A misaligned buffer: the error may come at once or later, but the
	 * request must end in EINVAL. */
	struct aiocb cb;
	setup_cb(&cb, fd, w + 1, BS, 0);
	errno = 0;
	int s = aio_read(&cb);
	int se = errno;
	if (s == 0)
		say("misaligned read: %s", result((wait_one(&cb), &cb)));
	else
		say("misaligned read: submit %s", rc(s, se));

	close(fd);
	return t_finish();
}
