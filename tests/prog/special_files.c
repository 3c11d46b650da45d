/* Requests on files that are not plain regular files, compared with glibc
 * (which just runs pread/pwrite, or read/write when the fd cannot seek):
 *   /dev/zero read, /dev/null write and read (EOF), a directory (EISDIR),
 *   /proc/self/stat (S_ISREG, yet the kernel's AIO refuses it),
 *   /proc/sys/kernel/ostype, a pipe with data already in it, a pipe write,
 *   a socket read and write (the offset is ignored on both),
 *   an eventfd read that waits for a count, and a FIFO. */
#include "common.h"
#include <sys/eventfd.h>
#include <sys/socket.h>

static void req(const char *what, int write_, int fd, void *buf, size_t n, off_t off)
{
	struct aiocb cb;
	setup_cb(&cb, fd, buf, n, off);
	int r = write_ ? aio_write(&cb) : aio_read(&cb);
	if (r) {
		say("%s: submit %s", what, rc(r, errno));
		return;
	}
	wait_one(&cb);
	say("%s: %s", what, result(&cb));
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char buf[4096];

	int z = xopen("/dev/zero", O_RDONLY);
	memset(buf, 'x', sizeof buf);
	req("/dev/zero read", 0, z, buf, 1000, 0);
	int zeros = 1;
	for (int i = 0; i < 1000; i++)
		zeros &= buf[i] == 0;
	say("/dev/zero data %s", zeros ? "zeros" : "WRONG");

	int nul = xopen("/dev/null", O_RDWR);
	req("/dev/null write", 1, nul, buf, 1000, 12345);
	req("/dev/null read", 0, nul, buf, 1000, 0);

	int d = open(t_dir, O_RDONLY | O_DIRECTORY);
	if (d < 0)
		DIE("open dir");
	req("directory read", 0, d, buf, 100, 0);

	int ps = xopen("/proc/self/stat", O_RDONLY);
	struct aiocb cb;
	memset(buf, 0, sizeof buf);
	setup_cb(&cb, ps, buf, sizeof buf - 1, 0);
	say("/proc/self/stat read: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	ssize_t n = aio_return(&cb);
	char want[32];
	snprintf(want, sizeof want, "%d (", (int)getpid());
	say("/proc/self/stat: error %s, %s", errname(aio_error(&cb)),
	    n > 0 && !strncmp(buf, want, strlen(want)) ? "starts with the pid" : "WRONG");

	int os = xopen("/proc/sys/kernel/ostype", O_RDONLY);
	memset(buf, 0, sizeof buf);
	req("/proc/sys/kernel/ostype read", 0, os, buf, 100, 0);
	say("ostype %.5s", buf);

	int p[2];
	if (pipe(p))
		DIE("pipe");
	req("pipe write", 1, p[1], "hello", 5, 999);
	memset(buf, 0, sizeof buf);
	req("pipe read, data there", 0, p[0], buf, 100, 777);
	say("pipe data %s", buf);
	close(p[1]);
	req("pipe read, writer closed", 0, p[0], buf, 100, 0);
	close(p[0]);

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		DIE("socketpair");
	req("socket write", 1, sv[0], "world", 5, 0);
	memset(buf, 0, sizeof buf);
	req("socket read", 0, sv[1], buf, 100, 0);
	say("socket data %s", buf);
	req("socket write at offset 4096", 1, sv[0], "again", 5, 4096);
	memset(buf, 0, sizeof buf);
	req("socket read at offset 4096", 0, sv[1], buf, 100, 4096);
	say("socket data %s", buf);

	int efd = eventfd(0, 0);
	if (efd < 0)
		DIE("eventfd");
	uint64_t v = 0;
	setup_cb(&cb, efd, &v, sizeof v, 0);
	say("eventfd read: %s", RC(aio_read(&cb)));
	usleep(50000);
	say("eventfd read: %s", errname(aio_error(&cb)));
	uint64_t add = 42;
	if (write(efd, &add, sizeof add) != sizeof add)
		DIE("eventfd write");
	wait_one(&cb);
	say("eventfd read: %s value %" PRIu64, result(&cb), v);

	char *fifo = tpath("fifo");
	if (mkfifo(fifo, 0600))
		DIE("mkfifo");
	int fr = open(fifo, O_RDONLY | O_NONBLOCK);
	int fw = xopen(fifo, O_WRONLY);
	fcntl(fr, F_SETFL, 0); /* blocking again, as programs have it */
	memset(buf, 0, sizeof buf);
	setup_cb(&cb, fr, buf, 100, 0);
	say("fifo read: %s", RC(aio_read(&cb)));
	usleep(50000);
	say("fifo read: %s", errname(aio_error(&cb)));
	req("fifo write", 1, fw, "fifo!", 5, 0);
	wait_one(&cb);
	say("fifo read: %s data %s", result(&cb), buf);
	return t_finish();
}
