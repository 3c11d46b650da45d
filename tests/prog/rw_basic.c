/* Round trip on a regular file: aio_write, then aio_read back.
 * aio_suspend waits; aio_error goes from EINPROGRESS (or already 0) to 0;
 * aio_return gives the byte count; the data comes back byte for byte.
 * Then the same with many sizes and offsets, waiting by polling aio_error. */
#include "common.h"

static void round_trip(int fd, size_t n, off_t off, unsigned seed, int poll)
{
	unsigned char *wbuf = xmalloc(n), *rbuf = xmalloc(n);
	struct aiocb cb;
	int e;

	fill_pat(wbuf, n, (uint64_t)off, seed);
	memset(rbuf, 0xEE, n);

	setup_cb(&cb, fd, wbuf, n, off);
	say("aio_write %zu@%jd: %s", n, (intmax_t)off, RC(aio_write(&cb)));
	e = aio_error(&cb);
	CHECK(e == EINPROGRESS || e == 0, "first aio_error %s", errname(e));
	e = poll ? poll_one(&cb) : wait_one(&cb);
	say("write: error %s", errname(e));
	say("write: return %zd", aio_return(&cb));

	setup_cb(&cb, fd, rbuf, n, off);
	say("aio_read %zu@%jd: %s", n, (intmax_t)off, RC(aio_read(&cb)));
	e = aio_error(&cb);
	CHECK(e == EINPROGRESS || e == 0, "first aio_error %s", errname(e));
	e = poll ? poll_one(&cb) : wait_one(&cb);
	say("read: error %s", errname(e));
	say("read: return %zd", aio_return(&cb));
	say("read: data %s", memcmp(wbuf, rbuf, n) ? "DIFFERS" : "ok");
	CHECK(memcmp(wbuf, rbuf, n) == 0, "data differs");
	free(wbuf);
	free(rbuf);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("rw_basic");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);

	/* aio_suspend with a one-entry list, explicitly. */
	unsigned char w[4096], r[4096];
	fill_pat(w, sizeof w, 0, 1);
	struct aiocb cb;
	const struct aiocb *list[1] = { &cb };
	setup_cb(&cb, fd, w, sizeof w, 0);
	say("aio_write: %s", RC(aio_write(&cb)));
	say("aio_suspend: %s", RC(aio_suspend(list, 1, NULL)));
	say("aio_error: %s", errname(aio_error(&cb)));
	say("aio_return: %zd", aio_return(&cb));

	memset(r, 0, sizeof r);
	setup_cb(&cb, fd, r, sizeof r, 0);
	say("aio_read: %s", RC(aio_read(&cb)));
	say("aio_suspend: %s", RC(aio_suspend(list, 1, NULL)));
	say("aio_error: %s", errname(aio_error(&cb)));
	say("aio_return: %zd", aio_return(&cb));
	say("data %s", memcmp(w, r, sizeof r) ? "DIFFERS" : "ok");

	/* Odd sizes and offsets, suspend-waited and poll-waited. */
	static const size_t sizes[] = { 1, 511, 4096, 4097, 65536, 1 << 20 };
	static const off_t offs[] = { 0, 1, 4095, 8192, 1000000 };
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		for (size_t j = 0; j < sizeof offs / sizeof *offs; j++)
			round_trip(fd, sizes[i], offs[j], (unsigned)(i * 7 + j),
				   (int)((i + j) & 1));

	struct stat st;
	fstat(fd, &st);
	say("file size %jd", (intmax_t)st.st_size);
	close(fd);
	return t_finish();
}
