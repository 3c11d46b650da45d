/* A full file system. argv[1]: a directory on a small, empty file system
 * (tests/fault.sh mounts a fresh one per run); argv[2]: "buffered" or
 * "direct" (O_DIRECT, aligned buffers).
 *   1. A filler of 268 KiB, then aio_writes of 64 KiB, one at a time,
 *      until one fails or is short: the line of that write and of the one
 *      after it (what the kernel gives: a short write, then ENOSPC).
 *   2. The filler is unlinked: a write at the first byte not written
 *      succeeds, and an aio_fsync after it.
 *   3. 32 writes of 64 KiB at once with lio_listio LIO_WAIT, more than
 *      the space left: the list's answer, each entry's result once.
 *   4. The file is read back with pread: every byte a write reported is
 *      the pattern, and the size is what the writes add up to.
 * Prints the answers; tests/fault.sh compares them with glibc's on an
 * identical fresh file system. Exit 1 on a self-check failure, 77 if
 * O_DIRECT is refused. */
#include "../prog/common.h"

#define CH (64 << 10)
#define NL 32
#define MAXW 4096

static int fd, direct;
static unsigned char *wbuf;
/* What each byte range of the file should hold: the extent written so far
 * (writes are contiguous from 0 here, except where noted). */
static off_t written_end;

static void *buf_at(off_t off)
{
	fill_pat(wbuf, CH, (uint64_t)off, 91);
	return wbuf;
}

/* One aio_write of n bytes at off; returns aio_return, *err the error. */
static ssize_t write_one(off_t off, size_t n, int *err)
{
	struct aiocb cb;
	setup_cb(&cb, fd, buf_at(off), n, off);
	if (aio_write(&cb))
		DIE("aio_write: %s", errname(errno));
	*err = wait_one(&cb);
	ssize_t r = aio_return(&cb);
	errno = 0;
	ssize_t again = aio_return(&cb);
	/* Ends once: a second aio_return gives the same value (glibc) or
	 * -1 EINVAL (kaio), never another result. */
	CHECK(again == r || (again == -1 && errno == EINVAL), "second aio_return %zd", again);
	return r;
}

static void verify(const char *when)
{
	struct stat st;
	if (fstat(fd, &st))
		DIE("fstat");
	int rfd = xopen("file", O_RDONLY);
	unsigned char *b = xmalloc((size_t)written_end + 1);
	ssize_t n = pread(rfd, b, (size_t)written_end, 0);
	long bad = n == written_end ? check_pat(b, (size_t)written_end, 0, 91) : -2;
	say("%s: size %jd, written %jd, content %s", when, (intmax_t)st.st_size,
	    (intmax_t)written_end, bad == -1 ? "ok" : "WRONG");
	CHECK(bad == -1, "%s: content wrong at %ld (pread %zd)", when, bad, n);
	CHECK(st.st_size == written_end, "%s: size %jd, written %jd", when,
	      (intmax_t)st.st_size, (intmax_t)written_end);
	free(b);
	close(rfd);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	if (argc < 3)
		DIE("usage: enospc DIR buffered|direct");
	direct = !strcmp(argv[2], "direct");
	if (chdir(argv[1]))
		DIE("chdir %s", argv[1]);
	wbuf = xalign(CH);

	/* 1 */
	int ff = xopen("filler", O_WRONLY | O_CREAT | O_TRUNC);
	unsigned char *z = xalign(CH);
	/* 12 KiB past a multiple of 64 KiB: some write ends up short. */
	for (int i = 0; i < 4; i++)
		xpwrite_all(ff, z, CH, (off_t)i * CH);
	xpwrite_all(ff, z, 12288, 4 * CH);
	fsync(ff);
	close(ff);
	fd = direct ? open_direct("file", O_RDWR | O_CREAT | O_TRUNC)
		    : xopen("file", O_RDWR | O_CREAT | O_TRUNC);
	if (fd < 0)
		t_skip("O_DIRECT refused here");
	int full = 0, err = 0, i;
	ssize_t r = 0;
	for (i = 0; i < MAXW; i++) {
		r = write_one(written_end, CH, &err);
		if (r > 0)
			written_end += r;
		if (err || r != CH)
			break;
		full++;
	}
	if (i == MAXW)
		DIE("no ENOSPC after %d writes", MAXW);
	say("1: %d full writes, then error %s return %zd", full, errname(err), r);
	r = write_one(written_end, CH, &err);
	say("1: the next write: error %s return %zd", errname(err), r);
	if (r > 0)
		written_end += r;
	verify("1");

	/* 2 */
	if (unlink("filler"))
		DIE("unlink");
	sync();
	/* O_DIRECT needs an aligned offset: go on from the last full block. */
	if (direct)
		written_end &= ~(off_t)4095;
	r = write_one(written_end, CH, &err);
	say("2: after unlinking the filler: error %s return %zd", errname(err), r);
	CHECK(err == 0 && r == CH, "write after freeing space");
	if (r > 0)
		written_end += r;
	struct aiocb fs;
	setup_cb(&fs, fd, NULL, 0, 0);
	say("2: aio_fsync: %s", RC(aio_fsync(O_SYNC, &fs)));
	wait_one(&fs);
	say("2: fsync: %s", result(&fs));
	verify("2");

	/* 3 */
	struct aiocb *cbs = xcalloc(NL, sizeof *cbs);
	struct aiocb *list[NL];
	unsigned char *lb = xalign((size_t)NL * CH);
	for (i = 0; i < NL; i++) {
		off_t off = written_end + (off_t)i * CH;
		fill_pat(lb + (size_t)i * CH, CH, (uint64_t)off, 91);
		setup_cb(&cbs[i], fd, lb + (size_t)i * CH, CH, off);
		cbs[i].aio_lio_opcode = LIO_WRITE;
		list[i] = &cbs[i];
	}
	say("3: lio_listio of %d writes: %s", NL, RC(lio_listio(LIO_WAIT, list, NL, NULL)));
	int nfull = 0, nshort = 0, nfail = 0, hole = 0;
	ssize_t res[NL];
	int nospc_first = -1;
	off_t end = written_end;
	for (i = 0; i < NL; i++) {
		int e = aio_error(&cbs[i]);
		ssize_t k = aio_return(&cbs[i]);
		res[i] = e ? -1 : k;
		CHECK(e != EINPROGRESS, "entry %d still in progress", i);
		if (e == 0 && k == CH)
			nfull++;
		else if (e == 0)
			nshort++;
		else
			nfail++;
		if (e == 0 && k > 0) {
			if (cbs[i].aio_offset != end)
				hole = 1;
			end = cbs[i].aio_offset + k;
		}
		if (e == ENOSPC && k == -1)
			nospc_first = nospc_first < 0 ? i : nospc_first;
		else if (e || k != CH)
			say("3: entry %d: error %s return %zd", i, errname(e), k);
	}
	say("3: %d full, %d short, %d failed, ENOSPC from entry %d", nfull, nshort,
	    nfail, nospc_first);
	/* Writes in one list may complete in any order: a later one may have
	 * found space an earlier one did not (informative). */
	say("measure: lio_hole %s", hole ? "yes" : "no");
	CHECK(nfail > 0 || nshort > 0, "the list did not hit ENOSPC");
	/* 4: each write's bytes, where it said it wrote them. */
	int rfd = xopen("file", O_RDONLY);
	unsigned char *rb = xalign(CH);
	off_t max = written_end;
	int wrong = 0;
	for (i = 0; i < NL; i++) {
		ssize_t k = res[i];
		if (k <= 0)
			continue;
		if (pread(rfd, rb, (size_t)k, cbs[i].aio_offset) != k ||
		    check_pat(rb, (size_t)k, (uint64_t)cbs[i].aio_offset, 91) >= 0)
			wrong++;
		if (cbs[i].aio_offset + k > max)
			max = cbs[i].aio_offset + k;
	}
	close(rfd);
	struct stat st;
	if (fstat(fd, &st))
		DIE("fstat");
	say("4: entries whose bytes are wrong: %d; size %s", wrong,
	    st.st_size == max ? "right" : "WRONG");
	CHECK(!wrong && st.st_size == max, "list content: %d wrong, size %jd want %jd",
	      wrong, (intmax_t)st.st_size, (intmax_t)max);
	if (!hole) {
		written_end = max;
		verify("4");
	}
	close(fd);
	return t_finish();
}
