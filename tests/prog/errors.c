/* Which errors aio_read/aio_write return at once and which come later
 * through aio_error, compared with glibc:
 *   aio_reqprio -1 or 21 (> AIO_PRIO_DELTA_MAX)   -> -1 EINVAL at once
 *   aio_reqprio 0 and 20                           -> accepted
 *   bad fd (999, a closed fd)                      -> 0, then EBADF / -1
 *   write on O_RDONLY, read on O_WRONLY            -> 0, then EBADF / -1
 *   negative offset                                -> 0, then EINVAL / -1 */
#include "common.h"

typedef int (*submit_fn)(struct aiocb *);

static void try(const char *what, submit_fn fn, int fd, void *buf, size_t n,
		off_t off, int prio)
{
	struct aiocb cb;
	setup_cb(&cb, fd, buf, n, off);
	cb.aio_reqprio = prio;
	errno = 0;
	int r = fn(&cb);
	int e = errno;
	if (r == 0) {
		wait_one(&cb);
		say("%s: submit 0, then %s", what, result(&cb));
	} else {
		say("%s: submit %s", what, rc(r, e));
	}
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("errors");
	make_pat_file(path, 65536, 3);
	int rdwr = xopen(path, O_RDWR);
	int rdonly = xopen(path, O_RDONLY);
	int wronly = xopen(path, O_WRONLY);
	int closed = 500; /* a fd number nothing reuses */
	if (dup2(rdonly, closed) != closed)
		DIE("dup2");
	close(closed);
	char buf[4096];
	memset(buf, 0, sizeof buf);

	try("read reqprio -1", aio_read, rdwr, buf, 100, 0, -1);
	try("write reqprio -1", aio_write, rdwr, buf, 100, 0, -1);
	try("read reqprio 21", aio_read, rdwr, buf, 100, 0, 21);
	try("write reqprio 21", aio_write, rdwr, buf, 100, 0, 21);
	try("read reqprio INT_MIN", aio_read, rdwr, buf, 100, 0, -2147483647 - 1);
	try("read reqprio 0", aio_read, rdwr, buf, 100, 0, 0);
	try("read reqprio 20", aio_read, rdwr, buf, 100, 0, 20);
	say("data %s", check_pat(buf, 100, 0, 3) < 0 ? "ok" : "DIFFERS");
	try("read reqprio 1", aio_read, rdwr, buf, 100, 0, 1);

	try("read fd 999", aio_read, 999, buf, 100, 0, 0);
	try("write fd 999", aio_write, 999, buf, 100, 0, 0);
	try("read fd -1", aio_read, -1, buf, 100, 0, 0);
	try("read closed fd", aio_read, closed, buf, 100, 0, 0);
	try("write closed fd", aio_write, closed, buf, 100, 0, 0);
	/* reqprio is checked before the fd. */
	try("read fd 999 reqprio 21", aio_read, 999, buf, 100, 0, 21);

	try("write O_RDONLY", aio_write, rdonly, buf, 100, 0, 0);
	try("read O_WRONLY", aio_read, wronly, buf, 100, 0, 0);

	try("read offset -1", aio_read, rdwr, buf, 100, -1, 0);
	try("write offset -4096", aio_write, rdwr, buf, 100, -4096, 0);
	try("read offset INT64_MIN", aio_read, rdwr, buf, 100, (off_t)INT64_MIN, 0);

	/* The file was not touched by the failed writes. */
	unsigned char *all = xmalloc(65536);
	xpread_all(rdwr, all, 65536, 0);
	say("file %s", check_pat(all, 65536, 0, 3) < 0 ? "unchanged" : "CHANGED");
	struct stat st;
	fstat(rdwr, &st);
	say("file size %jd", (intmax_t)st.st_size);
	return t_finish();
}
