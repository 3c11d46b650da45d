/* close() of a fd with a request pending on it. POSIX (close): an I/O
 * operation that is not cancelled "completes as if the close() operation
 * had not yet occurred". glibc's helper thread is inside read(2)/write(2)
 * and holds the open file, so that is what happens there.
 *   1. A read waiting on an empty pipe; the program closes the read end,
 *      then the write end: the program goes on (no hang, no crash) and
 *      the read ends (measure: close_read_result: not in progress after
 *      T_STUCK_SEC s;
 *      glibc: EOF, 0).
 *   2. The same, but the read end's number is reused at once by a newly
 *      opened regular file, then "pipe" is written to the pipe: the pending
 *      read must get "pipe" (or end without data), never the new file's
 *      bytes; the new file is untouched.
 *   3. A 1 MiB write pending on a full pipe; the write end is closed and
 *      its number reused by a new, empty regular file; the program then
 *      drains the pipe with aio_reads: the whole 1 MiB comes through the
 *      pipe, in order, and no byte of it lands in the new file (its size
 *      stays 0); what the write ends with: measure close_write_result.
 * Waits are bounded; a request left pending is reported, not waited for.
 * Threads: measure threads_none (kaio: 1). */
#include "common.h"

#define BIG (1 << 20)

int main(int argc, char **argv)
{
	t_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);

	/* 1 */
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char buf[64];
	memset(buf, 0, sizeof buf);
	struct aiocb cb;
	setup_cb(&cb, p[0], buf, sizeof buf, 0);
	say("1: aio_read: %s", RC(aio_read(&cb)));
	usleep(20000);
	say("1: waiting: %s", errname(aio_error(&cb)));
	say("measure: threads_none %d", count_threads());
	close(p[0]);
	usleep(20000);
	say("measure: close_read_after_close %s", errname(aio_error(&cb)));
	close(p[1]);
	int e = wait_bounded(&cb, T_STUCK_SEC);
	if (e == EINPROGRESS) {
		say("measure: close_read_result still in progress");
	} else {
		ssize_t k = aio_return(&cb);
		say("measure: close_read_result %s %zd", errname(e), k);
	}
	say("1: the program goes on");

	/* 2 */
	char *path = tpath("misuse_close_new");
	make_pat_file(path, 4096, 13);
	if (pipe(p))
		DIE("pipe");
	memset(buf, 0, sizeof buf);
	setup_cb(&cb, p[0], buf, sizeof buf, 0);
	say("2: aio_read: %s", RC(aio_read(&cb)));
	usleep(20000);
	say("2: waiting: %s", errname(aio_error(&cb)));
	int num = p[0];
	close(p[0]);
	int nf = xopen(path, O_RDWR);
	if (nf != num) {
		if (dup2(nf, num) != num)
			DIE("dup2");
		close(nf);
	}
	if (write(p[1], "pipe", 4) != 4)
		DIE("write");
	e = wait_bounded(&cb, T_STUCK_SEC);
	if (e == EINPROGRESS) {
		say("2: pending read: still in progress");
		close(p[1]);
		wait_bounded(&cb, 5);
	} else {
		ssize_t k = aio_return(&cb);
		unsigned char pat4[4];
		fill_pat(pat4, 4, 0, 13);
		const char *what = k == 4 && !memcmp(buf, "pipe", 4) ? "the pipe's bytes"
			: k > 0 && !memcmp(buf, pat4, 4) ? "THE NEW FILE'S BYTES"
			: k <= 0 ? "no data" : "OTHER BYTES";
		say("2: pending read got %s", what);
		say("measure: close_reuse_read %s %zd", errname(e), k);
		close(p[1]);
	}
	unsigned char fb[4096];
	xpread_all(num, fb, sizeof fb, 0);
	say("2: new file untouched: %s", check_pat(fb, sizeof fb, 0, 13) < 0 ? "yes" : "NO");
	close(num);

	/* 3 */
	char *path2 = tpath("misuse_close_new2");
	if (pipe(p))
		DIE("pipe");
	unsigned char *w = xmalloc(BIG), *got = xmalloc(BIG);
	fill_pat(w, BIG, 0, 14);
	setup_cb(&cb, p[1], w, BIG, 0);
	say("3: aio_write of 1 MiB: %s", RC(aio_write(&cb)));
	usleep(20000);
	say("3: waiting: %s", errname(aio_error(&cb)));
	num = p[1];
	close(p[1]);
	nf = xopen(path2, O_RDWR | O_CREAT | O_TRUNC);
	if (nf != num) {
		if (dup2(nf, num) != num)
			DIE("dup2");
		close(nf);
	}
	size_t n = 0;
	while (n < BIG) {
		struct aiocb rd;
		setup_cb(&rd, p[0], got + n, 65536, 0);
		if (aio_read(&rd))
			DIE("aio_read");
		if (wait_bounded(&rd, T_STUCK_SEC) != 0) {
			aio_cancel(p[0], &rd);
			wait_bounded(&rd, 1);
			break;
		}
		ssize_t k = aio_return(&rd);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	e = wait_bounded(&cb, T_STUCK_SEC);
	say("measure: close_write_pipe_bytes %zu", n);
	if (e == EINPROGRESS)
		say("measure: close_write_result still in progress");
	else
		say("measure: close_write_result %s %zd", errname(e), aio_return(&cb));
	struct stat st;
	if (fstat(num, &st))
		DIE("fstat");
	say("3: bytes of the write in the new file: %jd", (intmax_t)st.st_size);
	say("3: pipe bytes in order: %s", !memcmp(got, w, n) ? "ok" : "WRONG");
	say("3: the pipe got the whole write: %s", n == BIG ? "yes" : "NO");
	close(num);
	close(p[0]);
	say("measure: threads_none %d", count_threads());
	return t_finish();
}
