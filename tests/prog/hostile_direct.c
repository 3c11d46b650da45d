/* Misaligned O_DIRECT requests, compared with glibc: the submit returns 0
 * and the error (EINVAL) comes through aio_error, with aio_return -1; a
 * misaligned write changes nothing on disk. Cases, for aio_read and
 * aio_write: buffer address off by 1 and by 512 from a page; offset 1, 511
 * and 512+1; length 1, 511 and 4097; and everything misaligned at once.
 * Then an aligned round trip on the same fd still works, and a lio_listio
 * mixing aligned and misaligned entries: LIO_WAIT -1 EIO, each entry its
 * own result. Skips if the file system refuses O_DIRECT. Alignment needs
 * differ between file systems (a 512-byte one accepts the 512 cases): the
 * answers are compared with glibc's on the same file. */
#include "common.h"

#define FSIZE (64 << 10)
#define SEED 61

static int dfd, bfd;		/* O_DIRECT fd, buffered fd on the same file */
static unsigned char *mem;	/* 3 pages, page aligned */

static const char *file_state(void)
{
	unsigned char *all = xmalloc(FSIZE);
	xpread_all(bfd, all, FSIZE, 0);
	long bad = check_pat(all, FSIZE, 0, SEED);
	free(all);
	return bad < 0 ? "unchanged" : "CHANGED";
}

static void one(const char *what, int write, size_t boff, size_t n, off_t off)
{
	struct aiocb cb;
	unsigned char *b = mem + boff;
	if (write)
		memset(b, 0x5A, n);
	else
		memset(mem, 0xEE, 3 * 4096);
	setup_cb(&cb, dfd, b, n, off);
	const char *s = RC(write ? aio_write(&cb) : aio_read(&cb));
	if (strcmp(s, "0")) {
		say("%s %s: submit %s", write ? "write" : "read", what, s);
		return;
	}
	wait_one(&cb);
	int e = aio_error(&cb);
	ssize_t r = aio_return(&cb);
	const char *data = "-";
	if (!write && r > 0)
		data = check_pat(b, (size_t)r, (uint64_t)off, SEED) < 0 ? "ok" : "WRONG";
	say("%s %s: error %s return %zd data %s", write ? "write" : "read", what,
	    errname(e), r, data);
	if (write)
		say("%s %s: file %s", "write", what, r > 0 ? "written" : file_state());
	if (write && r > 0) /* put the pattern back */
		make_pat_file(tpath("hostile_direct"), FSIZE, SEED);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("hostile_direct");
	make_pat_file(path, FSIZE, SEED);
	dfd = open_direct(path, O_RDWR);
	if (dfd < 0)
		t_skip("O_DIRECT not supported here (open: EINVAL)");
	bfd = xopen(path, O_RDONLY);
	mem = xalign(3 * 4096);

	for (int w = 0; w <= 1; w++) {
		one("buffer +1", w, 1, 4096, 4096);
		one("buffer +512", w, 512, 4096, 4096);
		one("buffer +4095", w, 4095, 4096, 4096);
		one("offset 1", w, 0, 4096, 1);
		one("offset 511", w, 0, 4096, 511);
		one("offset 513", w, 0, 4096, 513);
		one("length 1", w, 0, 1, 4096);
		one("length 511", w, 0, 511, 4096);
		one("length 4097", w, 0, 4097, 4096);
		one("all misaligned", w, 3, 4093, 4097);
		one("aligned", w, 0, 4096, 8192);
	}

	/* A list mixing both. */
	struct aiocb cbs[4];
	struct aiocb *list[4];
	unsigned char *b = xalign(4 * 8192);
	memset(b, 0xEE, 4 * 8192);
	for (int i = 0; i < 4; i++) {
		int bad = i % 2;
		setup_cb(&cbs[i], dfd, b + (size_t)i * 8192 + bad, 4096,
			 (off_t)i * 4096 + bad);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	say("lio_listio mixed: %s", RC(lio_listio(LIO_WAIT, list, 4, NULL)));
	for (int i = 0; i < 4; i++) {
		int e = aio_error(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		say("lio entry %d: error %s return %zd data %s", i, errname(e), r,
		    r <= 0 ? "-" : check_pat(b + (size_t)i * 8192, (size_t)r,
					     (uint64_t)i * 4096, SEED) < 0 ? "ok" : "WRONG");
	}
	say("file at the end: %s", file_state());
	close(dfd);
	close(bfd);
	return t_finish();
}
