/* Buffered reads that miss the page cache: 64 reads of 4 KiB at scattered
 * offsets of a file just dropped from the cache, all in flight at once,
 * three rounds. The data must be right. Threads are counted after the
 * submissions and at every wake-up of the wait: glibc serves the reads
 * from helper threads; kaio from kernel AIO and, for the misses, io_uring,
 * neither of which adds a task to the process (an iou-wrk worker would
 * show in /proc/self/task). run.sh: threads > 1 under glibc, == 1 under
 * kaio. The file must be on a disk file system for the cache to matter
 * (tmpfs: skip). */
#include "common.h"
#include <sys/vfs.h>

#define NR 64
#define BS 4096
#define FILE_BLOCKS 8192 /* 32 MiB */
#define SEED 77

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *p = tpath("cold");
	struct statfs sfs;
	if (statfs(t_dir, &sfs) == 0 && sfs.f_type == 0x01021994) /* TMPFS_MAGIC */
		t_skip("scratch directory is on tmpfs: nothing to miss");
	make_pat_file(p, (size_t)FILE_BLOCKS * BS, SEED);
	int fd = xopen(p, O_RDONLY);
	unsigned char *buf = xalign((size_t)NR * BS);
	struct aiocb cbs[NR];
	struct aiocb *list[NR];
	int tmax = 0, good = 0;
	unsigned x = 12345;
	for (int round = 0; round < 3; round++) {
		drop_cache(fd);
		memset(buf, 0xEE, (size_t)NR * BS);
		for (int i = 0; i < NR; i++) {
			/* Distinct blocks, far apart: every read misses. */
			x = x * 1103515245u + 12345u;
			off_t blk = (off_t)i * (FILE_BLOCKS / NR) + (x >> 16) % (FILE_BLOCKS / NR);
			setup_cb(&cbs[i], fd, buf + (size_t)i * BS, BS, blk * BS);
			list[i] = &cbs[i];
			CHECK(aio_read(&cbs[i]) == 0, "aio_read %d: %s", i, errname(errno));
		}
		int t = count_threads();
		tmax = t > tmax ? t : tmax;
		for (;;) {
			int left = 0;
			for (int i = 0; i < NR; i++)
				left += aio_error(&cbs[i]) == EINPROGRESS;
			t = count_threads();
			tmax = t > tmax ? t : tmax;
			if (!left)
				break;
			struct timespec ts = { T_STUCK_SEC, 0 };
			if (aio_suspend((const struct aiocb *const *)list, NR, &ts) < 0 &&
			    errno == EAGAIN)
				DIE("round %d: %d reads stuck", round, left);
		}
		for (int i = 0; i < NR; i++)
			good += aio_error(&cbs[i]) == 0 && aio_return(&cbs[i]) == BS &&
				check_pat(buf + (size_t)i * BS, BS, (uint64_t)cbs[i].aio_offset,
					  SEED) < 0;
	}
	say("%d of %d cold reads right", good, 3 * NR);
	CHECK(good == 3 * NR, "good %d", good);
	say("measure: threads %d", tmax);
	close(fd);
	free(p);
	return t_finish();
}
