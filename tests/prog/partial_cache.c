/* Buffered reads of a file only partly in the page cache return every byte
 * asked for, as pread does (a read sent with RWF_NOWAIT stops where the cache
 * does: the rest must be read too). At the end of the file, the count is what
 * is left; on a pipe that took a file's fd number, a short read is the answer.
 * Each case: the cache is dropped, then only the first pages are read in. */
#include "common.h"

#define FSIZE (4u << 20)
#define BIG (1u << 20)

static ssize_t rd(int fd, void *buf, size_t n, off_t off)
{
	struct aiocb cb;

	setup_cb(&cb, fd, buf, n, off);
	if (aio_read(&cb))
		DIE("aio_read: %s", strerror(errno));
	wait_one(&cb);
	if (aio_error(&cb))
		return -aio_error(&cb);
	return aio_return(&cb);
}

/* Drops the file's cache, then reads head bytes at off with pread. */
static void cache_only(int fd, off_t off, size_t head)
{
	char *b = xmalloc(head);

	drop_cache(fd);
	xpread_all(fd, b, head, off);
	free(b);
}

static void partial(const char *what, int fd, off_t off, size_t n, size_t head)
{
	unsigned char *buf = xmalloc(n);
	ssize_t got;

	cache_only(fd, off, head);
	got = rd(fd, buf, n, off);
	say("%s: return %zd data %s", what, got,
	    got > 0 && check_pat(buf, (size_t)got, (uint64_t)off, 3) < 0 ? "ok" : "WRONG");
	free(buf);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("partial");
	int fd, p[2];
	char small[64];

	make_pat_file(path, FSIZE + 100, 3);
	fd = xopen(path, O_RDONLY);
	/* Small reads first: the fd is known to be a file from now on. */
	for (int i = 0; i < 4; i++)
		partial("warm", fd, (off_t)i * 4096, 4096, 4096);
	partial("head 8K of 1M", fd, 0, BIG, 8192);
	partial("head 4K of 1M at 64K+100", fd, 65536 + 100, BIG, 4096);
	partial("nothing cached", fd, 2 * BIG, BIG, 1);
	partial("to the end", fd, FSIZE - 8192, BIG, 4096);
	partial("past the end", fd, FSIZE + 50, BIG, 10);
	for (int i = 0; i < 3; i++)
		partial("repeat", fd, (off_t)i * BIG, BIG, 4096 * (size_t)(i + 1));

	/* The fd number becomes a pipe's: 10 bytes there, a read of 64 gets 10. */
	if (pipe(p))
		DIE("pipe: %s", strerror(errno));
	if (dup2(p[0], fd) < 0)
		DIE("dup2: %s", strerror(errno));
	close(p[0]);
	if (write(p[1], "0123456789", 10) != 10)
		DIE("write pipe");
	ssize_t got = rd(fd, small, sizeof small, 0);
	say("pipe on the file's fd: return %zd data %s", got,
	    got == 10 && !memcmp(small, "0123456789", 10) ? "ok" : "WRONG");
	close(p[1]);
	close(fd);
	return t_finish();
}
