/* A fd number closed and reused for another kind of file must be served as
 * what it is now: a regular file's fd number reused by an empty pipe or a
 * socket: aio_read returns at once (never blocks the caller), stays in
 * progress, and completes when data arrives; a pipe's fd number reused by a
 * regular file reads the file. A SIGALRM (default action: kill) guards
 * against a blocked caller. */
#include "common.h"
#include <sys/socket.h>

#define FDN 600

static void read_file_on(int fdn, const char *path, const char *what)
{
	int f = xopen(path, O_RDONLY);
	if (dup2(f, fdn) != fdn)
		DIE("dup2");
	close(f);
	char buf[256];
	struct aiocb cb;
	setup_cb(&cb, fdn, buf, sizeof buf, 100);
	say("%s: aio_read: %s", what, RC(aio_read(&cb)));
	wait_one(&cb);
	say("%s: %s", what, result(&cb));
	say("%s: data %s", what, check_pat(buf, sizeof buf, 100, 3) < 0 ? "ok" : "DIFFERS");
	close(fdn);
}

static void read_stream_on(int fdn, int rd, int wr, const char *what)
{
	if (dup2(rd, fdn) != fdn)
		DIE("dup2");
	close(rd);
	char c[2] = { 0, 0 };
	struct aiocb cb;
	setup_cb(&cb, fdn, c, 1, 0);
	alarm(T_STUCK_SEC);
	say("%s: aio_read: %s", what, RC(aio_read(&cb)));
	alarm(0);
	usleep(50000);
	say("%s: %s", what, errname(aio_error(&cb)));
	if (write(wr, "r", 1) != 1)
		DIE("write");
	wait_one(&cb);
	say("%s: %s byte %s", what, result(&cb), c);
	close(fdn);
	close(wr);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("fd_reuse");
	make_pat_file(path, 4096, 3);

	read_file_on(FDN, path, "file");
	int p[2];
	if (pipe(p))
		DIE("pipe");
	read_stream_on(FDN, p[0], p[1], "pipe on the file's fd");

	read_file_on(FDN, path, "file on the pipe's fd");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		DIE("socketpair");
	read_stream_on(FDN, sv[0], sv[1], "socket on the file's fd");

	read_file_on(FDN, path, "file on the socket's fd");
	/* And the same with several requests first, so any per-fd state
	 * kaio keeps is warm. */
	for (int i = 0; i < 5; i++)
		read_file_on(FDN + 1, path, "warm file");
	if (pipe(p))
		DIE("pipe");
	read_stream_on(FDN + 1, p[0], p[1], "pipe on the warm fd");
	return t_finish();
}
