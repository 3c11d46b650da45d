/* Hostile aio_nbytes, compared with glibc (whose helper thread calls
 * pread/pwrite/read/write with the same arguments, so the kernel decides):
 *   1. reads of a 10000-byte file with aio_nbytes SIZE_MAX, SSIZE_MAX + 1,
 *      SSIZE_MAX and 1 << 40, into a heap buffer of 16 KiB: what each gives
 *      (EFAULT, EINVAL or a short read of the whole file), and the bytes
 *      read are the file's; at offset 0 and at offset 8192.
 *   2. the same reads on a pipe holding 100 bytes: the caller never blocks,
 *      and what the read gives; the pipe still works afterwards.
 *   3. writes of SIZE_MAX and SSIZE_MAX + 1 bytes: refused (nothing may be
 *      copied from beyond the buffer), the file unchanged.
 *   4. a lio_listio (LIO_WAIT) holding a good read and a SIZE_MAX read:
 *      the list's answer and each entry's.
 * Threads: measure threads_none. */
#include "common.h"
#include <limits.h>

#define FSIZE 10000
#define BUF (16 << 10)

static int ffd;
static unsigned char *buf;

static const char *sizename(size_t n)
{
	if (n == SIZE_MAX)
		return "SIZE_MAX";
	if (n == (size_t)SSIZE_MAX + 1)
		return "SSIZE_MAX+1";
	if (n == (size_t)SSIZE_MAX)
		return "SSIZE_MAX";
	if (n == (size_t)(1ull << 40))
		return "1<<40";
	return "?";
}

/* The bytes a read returned are the file's, and nothing past them changed. */
static const char *read_data(ssize_t r, off_t off)
{
	if (r < 0)
		return "-";
	if (check_pat(buf, (size_t)r, (uint64_t)off, 51) >= 0)
		return "WRONG";
	for (size_t i = (size_t)r; i < BUF; i++)
		if (buf[i] != 0xEE)
			return "WRITTEN PAST";
	return "ok";
}

/* SSIZE_MAX: glibc's pread/read checks the whole range first (EFAULT); the
 * kernel's AIO path clips the count to MAX_RW_COUNT first, then checks, and
 * reads. Both are right for a program: those answers are measure lines. */
static void answer(size_t n, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void answer(size_t n, const char *key, const char *fmt, ...)
{
	char line[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n == (size_t)SSIZE_MAX)
		say("measure: nbytes_ssize_max_%s %s", key, line);
	else
		say("%s %s: %s", key, sizename(n), line);
}

static void file_read(size_t n, off_t off)
{
	struct aiocb cb;
	char key[32];
	snprintf(key, sizeof key, "file%jd", (intmax_t)off);
	memset(buf, 0xEE, BUF);
	setup_cb(&cb, ffd, buf, n, off);
	double t0 = now_sec();
	const char *s = RC(aio_read(&cb));
	say("measure: submit_ms %.0f", (now_sec() - t0) * 1000);
	if (strcmp(s, "0")) {
		say("file read %s @%jd: submit %s", sizename(n), (intmax_t)off, s);
		return;
	}
	wait_one(&cb);
	int e = aio_error(&cb);
	ssize_t r = aio_return(&cb);
	answer(n, key, "error %s return %zd data %s", errname(e), r, read_data(r, off));
}

static void pipe_read(size_t n)
{
	int p[2];
	if (pipe(p))
		DIE("pipe");
	unsigned char msg[103];
	fill_pat(msg, sizeof msg, 0, 52);
	if (write(p[1], msg, 100) != 100)
		DIE("write");
	struct aiocb cb;
	memset(buf, 0xEE, BUF);
	setup_cb(&cb, p[0], buf, n, 0);
	double t0 = now_sec();
	const char *s = RC(aio_read(&cb));
	say("measure: submit_ms %.0f", (now_sec() - t0) * 1000);
	say("pipe read %s: submit %s", sizename(n), s);
	size_t got = 0;
	if (!strcmp(s, "0")) {
		int e = wait_bounded(&cb, T_STUCK_SEC);
		if (e == EINPROGRESS) {
			say("pipe read %s: STILL IN PROGRESS", sizename(n));
			close(p[1]);
			wait_bounded(&cb, 5);
			close(p[0]);
			return;
		}
		ssize_t r = aio_return(&cb);
		answer(n, "pipe", "error %s return %zd data %s", errname(e), r,
		       r < 0 ? "-" : memcmp(buf, msg, (size_t)r) ? "WRONG" : "ok");
		if (r > 0)
			got = (size_t)r;
	}
	/* The pipe still works: a plain read gets what is left, and every
	 * byte came through once, in order. */
	if (write(p[1], msg + 100, 3) != 3)
		DIE("write");
	setup_cb(&cb, p[0], buf + got, BUF - got, 0);
	if (aio_read(&cb))
		DIE("aio_read: %s", errname(errno));
	wait_one(&cb);
	ssize_t r = aio_return(&cb);
	if (r > 0)
		got += (size_t)r;
	say("pipe read %s: then a good read; all 103 bytes once, in order: %s", sizename(n),
	    got == sizeof msg && !memcmp(buf, msg, sizeof msg) ? "yes" : "NO");
	close(p[0]);
	close(p[1]);
}

static void file_write(size_t n)
{
	struct aiocb cb;
	fill_pat(buf, BUF, 0, 53);
	setup_cb(&cb, ffd, buf, n, 0);
	const char *s = RC(aio_write(&cb));
	if (strcmp(s, "0")) {
		say("file write %s: submit %s", sizename(n), s);
	} else {
		wait_one(&cb);
		say("file write %s: %s", sizename(n), result(&cb));
	}
	unsigned char *all = xmalloc(FSIZE);
	xpread_all(ffd, all, FSIZE, 0);
	struct stat st;
	if (fstat(ffd, &st))
		DIE("fstat");
	say("file write %s: file %s, size %jd", sizename(n),
	    check_pat(all, FSIZE, 0, 51) < 0 ? "unchanged" : "CHANGED",
	    (intmax_t)st.st_size);
	free(all);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	/* A 32-bit address space: buf + SIZE_MAX wraps, glibc's own run crashes. */
	if (sizeof(size_t) < 8)
		t_skip("sizes past the end of a 32-bit address space");
	signal(SIGPIPE, SIG_IGN);
	char *path = tpath("hostile_nbytes");
	make_pat_file(path, FSIZE, 51);
	ffd = xopen(path, O_RDWR);
	buf = xmalloc(BUF);

	static const size_t sizes[] = { SIZE_MAX, (size_t)SSIZE_MAX + 1,
					(size_t)SSIZE_MAX, (size_t)(1ull << 40) };
	for (int i = 0; i < 4; i++) {
		file_read(sizes[i], 0);
		file_read(sizes[i], 8192);
	}
	for (int i = 0; i < 4; i++)
		pipe_read(sizes[i]);
	file_write(SIZE_MAX);
	file_write((size_t)SSIZE_MAX + 1);

	/* 4 */
	struct aiocb cbs[2];
	struct aiocb *list[2] = { &cbs[0], &cbs[1] };
	unsigned char *b2 = xmalloc(BUF);
	memset(buf, 0xEE, BUF);
	setup_cb(&cbs[0], ffd, b2, 4096, 4096);
	setup_cb(&cbs[1], ffd, buf, SIZE_MAX, 0);
	cbs[0].aio_lio_opcode = cbs[1].aio_lio_opcode = LIO_READ;
	say("lio_listio good + SIZE_MAX: %s", RC(lio_listio(LIO_WAIT, list, 2, NULL)));
	say("lio entry 0: %s data %s", result(&cbs[0]),
	    check_pat(b2, 4096, 4096, 51) < 0 ? "ok" : "WRONG");
	say("lio entry 1: %s", result(&cbs[1]));
	say("measure: threads_none %d", count_threads());
	close(ffd);
	return t_finish();
}
