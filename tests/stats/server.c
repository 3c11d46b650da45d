/*
 * A server as a user would run one under kaio: plain POSIX AIO, knows
 * nothing of kaio, writes and reads back a block of its data file, sleeps,
 * and again, until a signal with its default disposition ends it (no
 * handler, no atexit, nothing flushed). Used by tests/stats.sh.
 *
 *   server DIR [ROUNDS [fork|spawn]]
 *
 * ROUNDS: stop after that many rounds (exit 0); 0 or absent: never.
 * fork: after the first round, fork; parent and child both go on.
 * spawn: after the first round, fork and exec this program again (DIR and
 * ROUNDS alike) in the child; both go on. Either way the child's pid is
 * printed as "child PID".
 * It prints "ready" after its first round, each line flushed at once.
 */
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define BLOCKS 16

static void die(const char *what, int err)
{
	fprintf(stderr, "server: %s: %s\n", what, strerror(err));
	exit(1);
}

/* Runs one request and waits for it, as a simple server does. */
static void io(struct aiocb *cb, int write)
{
	const struct aiocb *list[1] = { cb };
	int r;

	if ((write ? aio_write(cb) : aio_read(cb)) < 0)
		die(write ? "aio_write" : "aio_read", errno);
	while ((r = aio_error(cb)) == EINPROGRESS)
		if (aio_suspend(list, 1, NULL) < 0 && errno != EINTR)
			die("aio_suspend", errno);
	if (r)
		die("aio_error", r);
	if (aio_return(cb) != BLOCK)
		die("aio_return", EIO);
}

/* A data file of its own, gone once the process is. */
static int data_open(const char *dir)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof path, "%s/server.%d", dir, (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path, errno);
	unlink(path);
	return fd;
}

int main(int argc, char **argv)
{
	static char out[BLOCK], in[BLOCK];
	long rounds = argc > 2 ? atol(argv[2]) : 0;
	const char *mode = argc > 3 ? argv[3] : "";
	struct aiocb cb;
	int fd;

	if (argc < 2) {
		fprintf(stderr, "usage: server DIR [ROUNDS [fork|spawn]]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	fd = data_open(argv[1]);
	for (long i = 0; !rounds || i < rounds; i++) {
		memset(out, (int)(i & 0xff), sizeof out);
		memset(&cb, 0, sizeof cb);
		cb.aio_fildes = fd;
		cb.aio_buf = out;
		cb.aio_nbytes = BLOCK;
		cb.aio_offset = (i % BLOCKS) * BLOCK;
		io(&cb, 1);
		cb.aio_buf = in;
		io(&cb, 0);
		if (memcmp(in, out, BLOCK))
			die("read back", EIO);
		if (i == 0) {
			if (!strcmp(mode, "fork") || !strcmp(mode, "spawn")) {
				pid_t pid = fork();

				if (pid < 0)
					die("fork", errno);
				if (pid == 0 && mode[0] == 's') {
					execl("/proc/self/exe", argv[0], argv[1], argc > 2 ? argv[2] : "0",
					      (char *)NULL);
					die("exec", errno);
				}
				if (pid > 0)
					printf("child %d\n", (int)pid);
				else if (!close(fd))
					fd = data_open(argv[1]);
			}
			printf("ready\n");
		}
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
	}
	return 0;
}
