/* Takes every kernel AIO slot left in fs.aio-max-nr, for tests/fault.sh:
 * io_setup with halving sizes until even io_setup(1) fails with EAGAIN.
 * argv[1]: a directory; writes DIR/grabbed when done, then holds the
 * contexts until DIR/release exists (at most 60 s), and exits (the kernel
 * destroys them). Prints "grabbed N contexts, io_setup(1): ERR". Plain
 * syscalls: it must not use libaio or kaio. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[4096];
	struct stat st;
	unsigned n = 1u << 16;
	int got = 0, err = 0;

	if (argc < 2)
		return 2;
	while (n >= 1 && got < 100000) {
		aio_context_t ctx = 0;

		if (syscall(SYS_io_setup, n, &ctx) == 0) {
			got++;
			continue;
		}
		err = errno;
		if (err != EAGAIN || n == 1)
			break;
		n /= 2;
	}
	aio_context_t ctx = 0;
	int e1 = syscall(SYS_io_setup, 1, &ctx) == 0 ? 0 : errno;
	printf("grabbed %d contexts, io_setup(1): %s\n", got, e1 ? strerrorname_np(e1) : "0");
	fflush(stdout);
	snprintf(path, sizeof path, "%s/grabbed", argv[1]);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	snprintf(path, sizeof path, "%s/release", argv[1]);
	for (int i = 0; i < 6000 && stat(path, &st); i++)
		usleep(10000);
	return e1 == EAGAIN ? 0 : 1;
}
