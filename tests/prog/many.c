/* 4096 requests in flight at once on one fd: reads of the distinct 4 KiB
 * blocks of a 16 MiB pattern file, all submitted (in a scattered order)
 * before any wait; every one completes with the right block.
 * many_direct.c builds this with MANY_DIRECT 1: the fd is O_DIRECT. */
#include "common.h"

#define BS 4096
#define NREQ 4096

#ifndef MANY_DIRECT
#define MANY_DIRECT 0
#endif

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("many");
	make_pat_file(path, (size_t)NREQ * BS, 21);
	int fd;
	if (MANY_DIRECT) {
		fd = open_direct(path, O_RDONLY);
		if (fd < 0)
			t_skip("O_DIRECT not supported here (open: EINVAL)");
	} else {
		fd = xopen(path, O_RDONLY);
	}
	drop_cache(fd);

	unsigned char *buf = xalign((size_t)NREQ * BS);
	memset(buf, 0xEE, (size_t)NREQ * BS);
	struct aiocb *cbs = xcalloc(NREQ, sizeof *cbs);
	struct aiocb **list = xcalloc(NREQ, sizeof *list);
	int fails = 0;
	for (int k = 0; k < NREQ; k++) {
		int i = (k * 1237) % NREQ; /* a permutation: 1237 is odd */
		setup_cb(&cbs[i], fd, buf + (size_t)i * BS, BS, (off_t)i * BS);
		list[i] = &cbs[i];
		if (aio_read(&cbs[i])) {
			fails++;
			list[i] = NULL;
			if (fails == 1)
				say("aio_read %d: %s", k, rc(-1, errno));
		}
	}
	say("%d submitted, %d refused", NREQ - fails, fails);
	say("measure: in_progress_after_submit %d", ({
		int p = 0;
		for (int i = 0; i < NREQ; i++)
			p += list[i] && aio_error(&cbs[i]) == EINPROGRESS;
		p;
	}));
	wait_list(list, NREQ);
	int good = 0, bad_err = 0, bad_ret = 0, bad_data = 0;
	for (int i = 0; i < NREQ; i++) {
		if (!list[i])
			continue;
		int e = aio_error(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		if (e)
			bad_err++;
		else if (r != BS)
			bad_ret++;
		else if (check_pat(buf + (size_t)i * BS, BS, (uint64_t)i * BS, 21) >= 0)
			bad_data++;
		else
			good++;
	}
	say("%d right, %d errors, %d short, %d wrong data", good, bad_err, bad_ret,
	    bad_data);
	CHECK(good == NREQ, "good %d", good);
	close(fd);
	return t_finish();
}
