/* aio_cancel in every state a request can be in, SIGEV_NONE throughout.
 *   1. A pipe: read a waits for data (glibc: its helper is blocked in
 *      read(2); kaio: an IOCB_CMD_POLL), reads b and c wait behind it
 *      (glibc: queued on the fd; kaio: barriers in user space).
 *      cancel(b) -> AIO_CANCELED under both, b ends ECANCELED / -1;
 *      cancel(a): glibc AIO_NOTCANCELED, kaio AIO_CANCELED
 *      (measure: cancel_polling, rules). Then "xy" is written: c gets a
 *      byte, a either ended ECANCELED (and the byte it would have read is
 *      still in the pipe: no phantom read by the cancelled poll) or got 'x'.
 *   2. A regular file, a 16 MiB O_DIRECT read just submitted: kaio has it
 *      in the kernel: AIO_NOTCANCELED or AIO_ALLDONE (glibc may still
 *      have it queued for its helper: any answer; measure:
 *      cancel_in_kernel, rules); it then ends as the answer says
 *      (cancelled: ECANCELED / -1; else whole, with the right bytes).
 *   3. Done (not returned, and returned): AIO_ALLDONE, result untouched.
 *   4. aio_cancel(fd, NULL) over a mix on a pipe: d done (not returned), a
 *      waiting, b and c behind it: glibc AIO_NOTCANCELED, kaio AIO_CANCELED
 *      (measure: cancel_null_mix, rules); b and c end ECANCELED under both,
 *      d keeps its result, a ends as the summary says; then all done:
 *      AIO_ALLDONE. Again with no aio call between the submits and the
 *      cancel (measure: cancel_null_mix_fresh, informative).
 *   6. One waiting read cancelled right after aio_read (measure:
 *      cancel_polling_fresh, informative), ending as the answer says.
 *   5. aio_cancel(fd, NULL) over 64 O_DIRECT reads of 256 KiB on one file:
 *      each ends either ECANCELED / -1 or whole with the right bytes, and
 *      the summary agrees (ALLDONE: none cancelled; any cancelled: not
 *      ALLDONE). Counts: measure cancel_file_*.
 * Threads: measure threads_none (kaio: 1). */
#include "common.h"

#define BIG (16 << 20)
#define NF 64
#define FS (256 << 10)

static void start(struct aiocb *cb, int fd, void *buf, size_t n, off_t off, const char *what)
{
	setup_cb(cb, fd, buf, n, off);
	int r = aio_read(cb);
	if (r)
		DIE("%s: aio_read: %s", what, strerror(errno));
}

static int nonblock_read(int fd, char *buf, size_t n)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	ssize_t k = read(fd, buf, n);
	fcntl(fd, F_SETFL, fl);
	return k < 0 ? 0 : (int)k;
}

static void pipe_states(void)
{
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char a = 0, b = 0, c = 0;
	struct aiocb ca, cbb, cc;
	start(&ca, p[0], &a, 1, 0, "a");
	start(&cbb, p[0], &b, 1, 0, "b");
	start(&cc, p[0], &c, 1, 0, "c");
	usleep(20000);
	say("1: a, b, c: %s %s %s", errname(aio_error(&ca)), errname(aio_error(&cbb)),
	    errname(aio_error(&cc)));
	say("measure: threads_none %d", count_threads());
	say("1: cancel b (waiting behind a): %s", cancelname(aio_cancel(p[0], &cbb)));
	say("1: b: %s", result(&cbb));
	say("1: cancel b again: %s", cancelname(aio_cancel(p[0], &cbb)));
	int r = aio_cancel(p[0], &ca);
	say("measure: cancel_polling %s", cancelname(r));
	if (r == AIO_CANCELED) {
		CHECK(aio_error(&ca) == ECANCELED, "a: %s", errname(aio_error(&ca)));
		CHECK(aio_return(&ca) == -1, "a: return");
	}
	if (write(p[1], "xy", 2) != 2)
		DIE("write");
	wait_one(&cc);
	say("1: c: %s", result(&cc));
	wait_one(&ca);
	char rest[8] = { 0 };
	usleep(50000);
	int left = nonblock_read(p[0], rest, sizeof rest);
	if (r == AIO_CANCELED) {
		say("1: a: ended right");
		CHECK(c == 'x', "c got %c, not x", c);
		CHECK(left == 1 && rest[0] == 'y', "after a cancelled poll the pipe holds %d bytes", left);
	} else {
		int e = aio_error(&ca);
		ssize_t k = aio_return(&ca);
		CHECK(e == 0 && k == 1 && a == 'x', "a: %s %zd %c", errname(e), k, a);
		CHECK(c == 'y' && left == 0, "c got %c, %d left", c, left);
		say("1: a: ended right");
	}
	say("1: no byte lost or read twice");
	close(p[0]);
	close(p[1]);
}

/* A waiting read cancelled right after aio_read, with no other aio call in
 * between: measure cancel_polling_fresh (informative); it ends as the
 * answer says. */
static void fresh_cancel(void)
{
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char a = 0;
	struct aiocb ca;
	start(&ca, p[0], &a, 1, 0, "a");
	usleep(20000);
	int r = aio_cancel(p[0], &ca);
	say("measure: cancel_polling_fresh %s", cancelname(r));
	if (r != AIO_CANCELED && write(p[1], "a", 1) != 1)
		DIE("write");
	int e = wait_one(&ca);
	ssize_t k = aio_return(&ca);
	if (r == AIO_CANCELED)
		CHECK(e == ECANCELED && k == -1, "cancelled: %s %zd", errname(e), k);
	else
		CHECK(e == 0 && k == 1 && a == 'a', "%s: %s %zd", cancelname(r), errname(e), k);
	say("6: fresh cancel: ended as the answer says");
	close(p[0]);
	close(p[1]);
}

static void file_states(const char *path)
{
	int fd = open_direct(path, O_RDONLY);
	say("measure: direct %d", fd >= 0);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	drop_cache(fd);
	unsigned char *buf = xalign(BIG);
	struct aiocb cb;
	start(&cb, fd, buf, BIG, 0, "big");
	int r = aio_cancel(fd, &cb);
	say("measure: cancel_in_kernel %s", cancelname(r));
	int e = wait_one(&cb);
	ssize_t k = aio_return(&cb);
	if (r == AIO_CANCELED)
		CHECK(e == ECANCELED && k == -1, "cancelled: %s %zd", errname(e), k);
	else
		CHECK(e == 0 && k == BIG && check_pat(buf, BIG, 0, 11) < 0,
		      "%s: %s %zd", cancelname(r), errname(e), k);
	say("2: just submitted: ended as the answer says");
	say("measure: cancel_in_kernel_result %s %zd", errname(e), k);

	/* 3: done */
	start(&cb, fd, buf, 4096, 0, "small");
	wait_one(&cb);
	say("3: done, not returned: %s", cancelname(aio_cancel(fd, &cb)));
	say("3: done, NULL: %s", cancelname(aio_cancel(fd, NULL)));
	say("3: %s", result(&cb));
	say("3: done, returned: %s", cancelname(aio_cancel(fd, &cb)));

	/* 5: many in the kernel and behind */
	struct aiocb cbs[NF];
	drop_cache(fd);
	for (int i = 0; i < NF; i++)
		start(&cbs[i], fd, buf + (size_t)i * FS, FS, (off_t)i * FS, "many");
	say("measure: threads_none %d", count_threads());
	r = aio_cancel(fd, NULL);
	say("measure: cancel_file_summary %s", cancelname(r));
	int cancelled = 0, whole = 0, wrong = 0;
	for (int i = 0; i < NF; i++) {
		e = wait_one(&cbs[i]);
		k = aio_return(&cbs[i]);
		if (e == ECANCELED && k == -1)
			cancelled++;
		else if (e == 0 && k == FS && check_pat(buf + (size_t)i * FS, FS, (uint64_t)i * FS, 11) < 0)
			whole++;
		else
			wrong++;
	}
	say("measure: cancel_file_cancelled %d", cancelled);
	say("measure: cancel_file_whole %d", whole);
	say("5: every request cancelled or whole: %s", wrong ? "NO" : "yes");
	CHECK(r == AIO_CANCELED || r == AIO_NOTCANCELED || r == AIO_ALLDONE, "summary %d", r);
	CHECK(!(r == AIO_ALLDONE && cancelled), "AIO_ALLDONE but %d cancelled", cancelled);
	CHECK(!(r != AIO_ALLDONE && cancelled == 0 && r == AIO_CANCELED), "AIO_CANCELED but none cancelled");
	say("5: summary agrees with the results");
	close(fd);
	free(buf);
}

/* sync: call aio_error on the waiting requests before the cancel (any
 * implementation has then surely seen that they wait). */
static void null_mix(int sync)
{
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char a = 0, b = 0, c = 0, d = 0;
	struct aiocb ca, cbb, cc, cd;
	if (write(p[1], "d", 1) != 1)
		DIE("write");
	start(&cd, p[0], &d, 1, 0, "d");
	wait_one(&cd);
	start(&ca, p[0], &a, 1, 0, "a");
	start(&cbb, p[0], &b, 1, 0, "b");
	start(&cc, p[0], &c, 1, 0, "c");
	usleep(20000);
	if (sync)
		say("4: a, b, c: %s %s %s", errname(aio_error(&ca)), errname(aio_error(&cbb)),
		    errname(aio_error(&cc)));
	int r = aio_cancel(p[0], NULL);
	say("measure: cancel_null_mix%s %s", sync ? "" : "_fresh", cancelname(r));
	say("4: b: %s", result(&cbb));
	say("4: c: %s", result(&cc));
	say("4: d: %s byte %c", result(&cd), d);
	int ea = aio_error(&ca);
	if (r == AIO_CANCELED)
		CHECK(ea == ECANCELED, "a: %s", errname(ea));
	else
		CHECK(r == AIO_NOTCANCELED && ea == EINPROGRESS, "%s, a: %s", cancelname(r), errname(ea));
	if (ea == EINPROGRESS) {
		if (write(p[1], "a", 1) != 1)
			DIE("write");
	}
	wait_one(&ca);
	aio_return(&ca);
	say("4: summary agrees with the results");
	say("4: all done, NULL: %s", cancelname(aio_cancel(p[0], NULL)));
	say("measure: threads_none %d", count_threads());
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("misuse_cancel");
	make_pat_file(path, BIG, 11);
	pipe_states();
	null_mix(1);
	null_mix(0);
	fresh_cancel();
	file_states(path);
	return t_finish();
}
