/* Reads and writes at and past the end of file, and of zero bytes:
 *   read at EOF -> 0 bytes; read past EOF -> 0; short read at the end;
 *   aio_nbytes 0 read and write -> 0; write past EOF extends the file. */
#include "common.h"

static void rd(const char *what, int fd, size_t n, off_t off, int hole)
{
	struct aiocb cb;
	unsigned char *buf = xmalloc(n + 16);
	memset(buf, 0xEE, n + 16);
	setup_cb(&cb, fd, buf, n, off);
	errno = 0;
	int r = aio_read(&cb);
	if (r) {
		say("%s: submit %s", what, rc(r, errno));
		free(buf);
		return;
	}
	wait_one(&cb);
	ssize_t got = aio_return(&cb);
	say("%s: error %s return %zd", what, errname(aio_error(&cb)), got);
	if (got > 0 && hole) {
		int zero = 1;
		for (ssize_t i = 0; i < got; i++)
			zero &= buf[i] == 0;
		say("%s: data %s", what, zero ? "zeros" : "NOT ZEROS");
	} else if (got > 0) {
		say("%s: data %s", what,
		    check_pat(buf, (size_t)got, (uint64_t)off, 5) < 0 ? "ok" : "DIFFERS");
	}
	int untouched = 1;
	for (size_t i = got > 0 ? (size_t)got : 0; i < n + 16; i++)
		if (buf[i] != 0xEE)
			untouched = 0;
	say("%s: rest of buffer %s", what, untouched ? "untouched" : "WRITTEN");
	free(buf);
}

static void wr(const char *what, int fd, size_t n, off_t off)
{
	struct aiocb cb;
	unsigned char *buf = xmalloc(n + 1);
	fill_pat(buf, n, (uint64_t)off, 5);
	setup_cb(&cb, fd, buf, n, off);
	errno = 0;
	int r = aio_write(&cb);
	if (r) {
		say("%s: submit %s", what, rc(r, errno));
	} else {
		wait_one(&cb);
		say("%s: %s", what, result(&cb));
	}
	free(buf);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("eof");
	make_pat_file(path, 10000, 5);
	int fd = xopen(path, O_RDWR);
	struct stat st;

	rd("read at EOF", fd, 4096, 10000, 0);
	rd("read past EOF", fd, 4096, 1 << 20, 0);
	rd("short read", fd, 4096, 8192, 0);
	rd("short read 1 byte", fd, 4096, 9999, 0);
	rd("read nbytes 0", fd, 0, 0, 0);
	rd("read nbytes 0 at EOF", fd, 0, 10000, 0);
	wr("write nbytes 0", fd, 0, 0);
	wr("write nbytes 0 past EOF", fd, 0, 50000);
	fstat(fd, &st);
	say("size %jd", (intmax_t)st.st_size);
	wr("write past EOF", fd, 100, 20000);
	fstat(fd, &st);
	say("size %jd", (intmax_t)st.st_size);
	rd("read the hole", fd, 4096, 12288, 1);
	rd("read the written end", fd, 100, 20000, 0);

	/* An empty file. */
	int e = xopen(tpath("empty"), O_RDWR | O_CREAT | O_TRUNC);
	rd("read empty file", e, 4096, 0, 0);
	close(e);
	close(fd);
	return t_finish();
}
