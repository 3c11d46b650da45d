/* Submitting an aiocb that is still in flight (a read of an empty pipe),
 * by every submitting call. glibc queues a second request on the same aiocb
 * (undefined behaviour); kaio refuses each with -1 EINVAL
 * (measure: inflight_submit, run.sh's rule) and the first request must not
 * notice: once the program writes "a", it completes with 1 byte 'a'
 * (measure: inflight_first, kaio rule). The calls:
 *   aio_read, aio_write, aio_fsync(O_SYNC), aio_fsync(O_DSYNC),
 *   lio_listio(LIO_NOWAIT) and lio_listio(LIO_WAIT) of a list holding the
 *   in-flight aiocb among fresh file reads (must not wait: kaio answers at
 *   once; what the fresh entries then say: measure inflight_fresh).
 * glibc is kept from hanging in LIO_WAIT (its duplicate read waits for
 * data) by a SIGALRM handler that writes to the pipe after 5 s; the
 * alarm is cancelled as soon as LIO_WAIT returns. Whether the handler had
 * fed the pipe when LIO_WAIT returned: measure inflight_lio_wait_fed
 * (kaio: no, it did not wait for the pipe).
 * Threads: measure threads_none (kaio: 1). */
#include "common.h"

static int wfd = -1;
static volatile sig_atomic_t fed;

static void on_alarm(int sig)
{
	(void)sig;
	if (write(wfd, "zzzzzzzzzzzzzzzz", 16) < 0)
		_exit(3);
	fed = 1;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("misuse_inflight");
	make_pat_file(path, 8192, 6);
	int fd = xopen(path, O_RDWR);
	int p[2];
	if (pipe(p))
		DIE("pipe");
	wfd = p[1];
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);

	char c[4] = { 0 };
	struct aiocb cb;
	setup_cb(&cb, p[0], c, 1, 0);
	say("first read: %s", RC(aio_read(&cb)));
	usleep(20000);
	say("first read: %s", errname(aio_error(&cb)));

	say("measure: inflight_submit %s", RC(aio_read(&cb)));
	say("measure: inflight_submit %s", RC(aio_write(&cb)));
	say("measure: inflight_submit %s", RC(aio_fsync(O_SYNC, &cb)));
	say("measure: inflight_submit %s", RC(aio_fsync(O_DSYNC, &cb)));

	char fb[2][512];
	struct aiocb f[2];
	struct aiocb *list[3];
	for (int i = 0; i < 2; i++) {
		setup_cb(&f[i], fd, fb[i], 512, i * 512);
		f[i].aio_lio_opcode = LIO_READ;
	}
	list[0] = &f[0];
	list[1] = &cb;
	list[2] = &f[1];
	cb.aio_lio_opcode = LIO_READ;
	say("measure: inflight_submit %s", RC(lio_listio(LIO_NOWAIT, list, 3, NULL)));
	wait_one(&f[0]); /* glibc started them: let them end before reuse */
	wait_one(&f[1]);
	for (int i = 0; i < 2; i++) {
		errno = 0;
		int e = aio_error(&f[i]);
		say("measure: inflight_fresh %s", e == -1 ? rc(-1, errno) : errname(e));
		setup_cb(&f[i], fd, fb[i], 512, i * 512);
		f[i].aio_lio_opcode = LIO_READ;
	}
	alarm(5);
	double t0 = now_sec();
	say("measure: inflight_submit %s", RC(lio_listio(LIO_WAIT, list, 3, NULL)));
	int fed_before = fed;
	alarm(0);
	say("measure: inflight_lio_wait_fed %s", fed_before ? "yes" : "no");
	say("measure: inflight_lio_wait_ms %d", (int)((now_sec() - t0) * 1000));
	for (int i = 0; i < 2; i++) {
		errno = 0;
		int e = aio_error(&f[i]);
		say("measure: inflight_fresh %s", e == -1 ? rc(-1, errno) : errname(e));
	}
	say("measure: threads_none %d", count_threads());

	if (write(p[1], "a", 1) != 1)
		DIE("write");
	wait_one(&cb);
	int e = aio_error(&cb);
	ssize_t r = aio_return(&cb);
	say("measure: inflight_first error %s return %zd byte %c", errname(e), r, c[0] ? c[0] : '?');
	/* glibc: let the duplicates it queued find bytes and end */
	if (write(p[1], "bcdefgh", 7) != 7)
		DIE("write");
	usleep(200000);
	wait_one(&cb);
	say("first read: ended");
	say("measure: threads_none %d", count_threads());
	return t_finish();
}
