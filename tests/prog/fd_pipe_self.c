/* A single-threaded program that is both ends of its own pipe. Nothing but
 * the program itself ever writes or reads the pipe, so a request that
 * blocks the caller, or that only moves while the program is inside an aio
 * call, shows up as a hang (guarded: SIGALRM without SA_RESTART makes a
 * plain read() return EINTR, reported as a stall).
 *   a) aio_read of an empty pipe returns at once (measure: read_submit_ms,
 *      informative), stays in progress; the program then write()s the
 *      pipe itself and waits with aio_suspend: the read completes.
 *   b) aio_write of 1 MiB into a pipe nobody reads returns at once
 *      (measure: write_submit_ms, informative) and stays in progress
 *      (the pipe holds 64 KiB); the program then drains the pipe with plain
 *      read() in a loop, never calling into AIO, and must get all 1 MiB in
 *      order; then the write completes with 1048576, as a blocking write(2)
 *      would. If the plain reads stall, the rest is drained with aio_error
 *      between reads so the program can go on, and the stall is reported.
 *   c) two aio_writes of 256 KiB on one pipe (different patterns) both
 *      return at once and their bytes arrive in call order, read back with
 *      aio_reads of 64 KiB.
 *   d) three aio_reads queued on one empty pipe, then one write() of
 *      "abc": the reads complete in call order ('a', 'b', 'c').
 *   e) a FIFO opened O_RDWR (one fd is both ends): aio_read of it empty
 *      returns at once, and completes once the program writes to the same
 *      fd.
 *   f) aio_write of 1 MiB into a pipe read by a child process; the
 *      parent then waits for the child (waitpid) before looking at the
 *      request: the child must get the whole 1 MiB and exit (a write that
 *      moves only while the parent is inside an aio call would leave both
 *      waiting; guarded by an alarm of T_STUCK_SEC s).
 * Threads: measure threads_none (kaio: 1). */
#include "common.h"
#include <sys/wait.h>

#define BIG (1 << 20)
#define HALF (256 << 10)

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static int ms_since(double t0)
{
	return (int)((now_sec() - t0) * 1000 + 0.5);
}

/* Reads exactly n bytes with plain read(); a read stuck for T_STUCK_SEC s
 * ends with EINTR (the alarm has no SA_RESTART). Returns the bytes read. */
static size_t read_plain(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		alarm(T_STUCK_SEC);
		ssize_t r = read(fd, buf + got, n - got);
		alarm(0);
		if (r < 0 && errno == EINTR)
			break;
		if (r <= 0)
			DIE("read: %s", r < 0 ? strerror(errno) : "EOF");
		got += (size_t)r;
	}
	return got;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	/* a) */
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c[8] = { 0 };
	struct aiocb rcb;
	setup_cb(&rcb, p[0], c, sizeof c, 0);
	alarm(T_STUCK_SEC); /* a blocked caller is told by its result, not killed */
	double t0 = now_sec();
	int r = aio_read(&rcb);
	int ms = ms_since(t0);
	alarm(0);
	say("a: aio_read of the empty pipe: %s", rc(r, errno));
	say("measure: read_submit_ms %d", ms);
	usleep(20000);
	say("a: before the write: %s", errname(aio_error(&rcb)));
	say("measure: threads_none %d", count_threads());
	if (write(p[1], "self", 4) != 4)
		DIE("write");
	wait_one(&rcb);
	say("a: %s data %s", result(&rcb), c);

	/* b) */
	unsigned char *w = xmalloc(BIG), *got = xmalloc(BIG);
	fill_pat(w, BIG, 0, 41);
	memset(got, 0, BIG);
	struct aiocb wcb;
	setup_cb(&wcb, p[1], w, BIG, 0);
	t0 = now_sec();
	alarm(T_STUCK_SEC);
	r = aio_write(&wcb);
	ms = ms_since(t0);
	alarm(0);
	say("b: aio_write of 1 MiB: %s", rc(r, errno));
	say("measure: write_submit_ms %d", ms);
	usleep(20000);
	say("b: nobody reading yet: %s", errname(aio_error(&wcb)));
	say("measure: threads_none %d", count_threads());
	size_t n = read_plain(p[0], got, BIG);
	if (n == BIG) {
		say("b: plain read() loop got all 1 MiB");
	} else {
		say("b: plain read() loop STALLED after %zu bytes; write: %s",
		    n, errname(aio_error(&wcb)));
		/* Go on: drain with a call into AIO before each read. */
		while (n < BIG) {
			aio_error(&wcb);
			alarm(3); /* only after a stall: the rest is drained */
			ssize_t k = read(p[0], got + n, BIG - n);
			alarm(0);
			if (k <= 0) {
				say("b: still stuck at %zu bytes", n);
				break;
			}
			n += (size_t)k;
		}
	}
	say("b: bytes in order: %s", n == BIG && !memcmp(w, got, BIG) ? "ok" : "WRONG");
	wait_one(&wcb);
	say("b: write %s", result(&wcb));

	/* c) */
	unsigned char *w1 = xmalloc(HALF), *w2 = xmalloc(HALF);
	fill_pat(w1, HALF, 0, 42);
	fill_pat(w2, HALF, 0, 43);
	struct aiocb c1, c2;
	setup_cb(&c1, p[1], w1, HALF, 0);
	setup_cb(&c2, p[1], w2, HALF, 0);
	t0 = now_sec();
	alarm(T_STUCK_SEC);
	int r1 = aio_write(&c1);
	int r2 = aio_write(&c2);
	ms = ms_since(t0);
	alarm(0);
	say("c: two aio_writes of 256 KiB: %d %d", r1, r2);
	say("measure: write_submit_ms %d", ms);
	memset(got, 0, BIG);
	n = 0;
	while (n < 2 * HALF) {
		struct aiocb rd;
		setup_cb(&rd, p[0], got + n, 65536, 0);
		if (aio_read(&rd))
			DIE("aio_read: %s", strerror(errno));
		if (wait_one(&rd))
			DIE("read error %s", errname(aio_error(&rd)));
		ssize_t k = aio_return(&rd);
		if (k <= 0)
			DIE("read %zd", k);
		n += (size_t)k;
	}
	say("c: first 256 KiB from the first write: %s", memcmp(got, w1, HALF) ? "WRONG" : "ok");
	say("c: next 256 KiB from the second write: %s", memcmp(got + HALF, w2, HALF) ? "WRONG" : "ok");
	wait_one(&c1);
	wait_one(&c2);
	say("c: first write %s", result(&c1));
	say("c: second write %s", result(&c2));

	/* d) */
	char d[3] = { 0, 0, 0 };
	struct aiocb dc[3];
	for (int i = 0; i < 3; i++) {
		setup_cb(&dc[i], p[0], &d[i], 1, 0);
		say("d: aio_read %d: %s", i, RC(aio_read(&dc[i])));
	}
	if (write(p[1], "abc", 3) != 3)
		DIE("write");
	for (int i = 0; i < 3; i++) {
		wait_one(&dc[i]);
		say("d: read %d: %s byte %c", i, result(&dc[i]), d[i] ? d[i] : '?');
	}
	say("measure: threads_none %d", count_threads());
	close(p[0]);
	close(p[1]);

	/* e) */
	char *fifo = tpath("fifo");
	if (mkfifo(fifo, 0600))
		DIE("mkfifo");
	int f = xopen(fifo, O_RDWR);
	char e[8] = { 0 };
	struct aiocb ec;
	setup_cb(&ec, f, e, sizeof e, 0);
	alarm(T_STUCK_SEC); /* a blocked caller gets EINTR */
	t0 = now_sec();
	r = aio_read(&ec);
	ms = ms_since(t0);
	alarm(0);
	say("e: aio_read of the empty O_RDWR FIFO: %s", rc(r, errno));
	say("measure: read_submit_ms %d", ms);
	usleep(20000);
	say("e: before the write: %s", errname(aio_error(&ec)));
	if (write(f, "fifo", 4) != 4)
		DIE("write");
	alarm(T_STUCK_SEC);
	wait_one(&ec);
	alarm(0);
	say("e: %s data %s", result(&ec), e);
	close(f);

	/* f) */
	if (pipe(p))
		DIE("pipe");
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		DIE("fork");
	if (pid == 0) {
		close(p[1]);
		n = 0;
		while (n < BIG) {
			ssize_t k = read(p[0], got + n, BIG - n);
			if (k <= 0)
				break;
			n += (size_t)k;
		}
		_exit(n == BIG && !memcmp(got, w, BIG) ? 0 : 1);
	}
	close(p[0]);
	setup_cb(&wcb, p[1], w, BIG, 0);
	say("f: aio_write of 1 MiB to a child: %s", RC(aio_write(&wcb)));
	/* the parent waits for the child first, as a program does that
	 * checks the request only once the child is done */
	int st = 0;
	alarm(T_STUCK_SEC);
	pid_t wr = waitpid(pid, &st, 0);
	alarm(0);
	if (wr != pid) {
		say("f: the child got STUCK (the write made no progress in %d s)", T_STUCK_SEC);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	} else {
		say("f: child %s", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "got the whole 1 MiB, in order" : "got WRONG data");
	}
	close(p[1]);
	wait_one(&wcb);
	errno = 0;
	ssize_t fr = aio_return(&wcb);
	say("measure: child_write_result %s %zd", errname(aio_error(&wcb)), fr);
	return t_finish();
}
