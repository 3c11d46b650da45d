/* aio_fsync's own answers, compared with glibc:
 *   op other than O_SYNC/O_DSYNC      -> -1 EINVAL at once (even on a bad fd)
 *   bad fd (999, closed)              -> -1 EBADF at once
 *   O_SYNC, O_DSYNC on a good fd      -> 0, then aio_error 0, aio_return 0
 *   aio_nbytes/aio_buf/aio_offset/aio_reqprio are ignored
 *   on a fd without fsync (a pipe, /dev/null): whatever glibc answers. */
#include "common.h"

static void try(const char *what, int op, int fd, int junk)
{
	struct aiocb cb;
	char buf[16];
	setup_cb(&cb, fd, NULL, 0, 0);
	if (junk) {
		cb.aio_buf = buf;
		cb.aio_nbytes = 12345;
		cb.aio_offset = -7;
		cb.aio_reqprio = 99;
		cb.aio_lio_opcode = 77;
	}
	errno = 0;
	int r = aio_fsync(op, &cb);
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
	char *path = tpath("fsync_basic");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	int rdonly = xopen(path, O_RDONLY);
	int closed = 500; /* a fd number nothing reuses */
	if (dup2(rdonly, closed) != closed)
		DIE("dup2");
	close(closed);
	int p[2];
	if (pipe(p))
		DIE("pipe");
	int devnull = xopen("/dev/null", O_RDWR);

	char data[100];
	memset(data, 'x', sizeof data);
	xpwrite_all(fd, data, sizeof data, 0);

	try("op 12345", 12345, fd, 0);
	try("op 0", 0, fd, 0);
	try("op O_SYNC|O_DSYNC+1", (O_SYNC | O_DSYNC) + 1, fd, 0);
	try("op 12345 bad fd", 12345, 999, 0);
	try("O_SYNC fd 999", O_SYNC, 999, 0);
	try("O_DSYNC fd 999", O_DSYNC, 999, 0);
	try("O_SYNC fd -1", O_SYNC, -1, 0);
	try("O_SYNC closed fd", O_SYNC, closed, 0);
	try("O_SYNC", O_SYNC, fd, 0);
	try("O_DSYNC", O_DSYNC, fd, 0);
	try("O_SYNC junk fields", O_SYNC, fd, 1);
	try("O_DSYNC junk fields", O_DSYNC, fd, 1);
	try("O_SYNC O_RDONLY fd", O_SYNC, rdonly, 0);
	try("O_DSYNC O_RDONLY fd", O_DSYNC, rdonly, 0);
	try("O_SYNC pipe", O_SYNC, p[1], 0);
	try("O_DSYNC pipe", O_DSYNC, p[0], 0);
	try("O_SYNC /dev/null", O_SYNC, devnull, 0);

	char back[100];
	xpread_all(fd, back, sizeof back, 0);
	say("file %s", memcmp(back, data, sizeof data) ? "CHANGED" : "unchanged");
	return t_finish();
}
