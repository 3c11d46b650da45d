/*
 * Keeps 32 O_DIRECT reads in flight on one file for N x 32 requests, as fio's
 * posixaio engine does: whichever finishes is returned and submitted again
 * at once. Every 64 rounds one batch of 32 goes on aiocbs at new addresses
 * (from a static array: the program itself allocates nothing). Run by
 * tests/alloc.sh.
 */
#include <aio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QD 32

#define BS 4096

static char buf[QD][BS] __attribute__((aligned(BS)));

static void submit(struct aiocb *cb, int fd, int i, long n)
{
	memset(cb, 0, sizeof *cb);
	cb->aio_fildes = fd;
	cb->aio_buf = buf[i];
	cb->aio_nbytes = BS;
	cb->aio_offset = (n % QD) * BS;
	if (aio_read(cb))
		exit(2);
}

int main(int argc, char **argv)
{
	static struct aiocb fixed[QD], fresh[64][QD];
	struct aiocb *cb[QD];
	const struct aiocb *list[QD];
	long n = argc > 2 ? atol(argv[2]) : 1000, done = 0, sent = 0;
	/* O_DIRECT: requests finish out of order, as on a real device. */
	int fd = open(argv[1], O_RDONLY | O_DIRECT);

	if (fd < 0)
		fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		return 1;
	for (int i = 0; i < QD; i++) {
		cb[i] = &fixed[i];
		submit(cb[i], fd, i, sent++);
	}
	while (done < n * QD) {
		for (int i = 0; i < QD; i++)
			list[i] = cb[i];
		aio_suspend(list, QD, NULL);
		for (int i = 0; i < QD; i++) {
			if (aio_error(cb[i]) == EINPROGRESS)
				continue;
			if (aio_return(cb[i]) != BS)
				return 3;
			done++;
			/* every 64 rounds, a round on aiocbs at new addresses */
			cb[i] = (done / QD) % 64 == 63 ? &fresh[(done / QD / 64) % 64][i] : &fixed[i];
			submit(cb[i], fd, i, sent++);
		}
	}
	return 0;
}
