/* A handler installed with SA_RESTART runs while the program waits.
 *
 * POSIX (sigaction, SA_RESTART): a function specified to fail with EINTR
 * that is interrupted by such a signal "shall restart and shall not fail
 * with [EINTR] unless otherwise specified". glibc 2.36 does so for the
 * waits without a timeout: aio_suspend(NULL timeout) and
 * lio_listio(LIO_WAIT) sleep in a futex wait without timeout, which the
 * kernel restarts; with a timeout its wait is not restarted and answers
 * -1 EINTR (measured). Programs with SA_RESTART handlers (SIGCHLD, timers,
 * SIGEV_SIGNAL notifications) rely on the untimed waits not failing.
 *
 *   suspend:   aio_suspend, no timeout, on a pipe read; an itimer SIGALRM
 *              (SA_RESTART) runs at 100 ms; another thread completes the
 *              read 400 ms after the handler ran. glibc: 0 once the read is
 *              done.
 *   lio:       the same with lio_listio(LIO_WAIT).
 *   timed:     aio_suspend with a T_STUCK_SEC timeout: -1 EINTR at 100 ms.
 *   notify:    aio_suspend, no timeout, on the pipe read, while a regular
 *              file read's own SIGEV_SIGNAL (SA_RESTART handler) arrives;
 *              the pipe is written 400 ms after that handler ran.
 *              glibc: 0 once the pipe read is done. */
#include "common.h"
#include <pthread.h>

static volatile sig_atomic_t alarms, notes;

static void on_alarm(int s)
{
	(void)s;
	alarms++;
}

static void on_note(int s)
{
	(void)s;
	notes++;
}

/* Writes the pipe ms after the handler counting *after ran: the signal
 * always comes first, however slow the machine. */
struct writer {
	int fd, ms;
	volatile sig_atomic_t *after;
	pthread_t t;
};

static void *write_later(void *arg)
{
	struct writer *w = arg;
	double end = now_sec() + T_STUCK_SEC;
	while (!*w->after && now_sec() < end)
		usleep(1000);
	usleep((useconds_t)w->ms * 1000);
	if (write(w->fd, "r", 1) != 1)
		DIE("write");
	return NULL;
}

static void writer_start(struct writer *w, int fd, volatile sig_atomic_t *after, int ms)
{
	w->fd = fd;
	w->ms = ms;
	w->after = after;
	if (pthread_create(&w->t, NULL, write_later, w))
		DIE("pthread_create");
}

/* After a case: let the read finish (if it has not), then report it. */
static void finish(const char *how, struct aiocb *cb, struct writer *w,
		   const char *c)
{
	say("measure: restart_%s_read_then %s", how, c);
	pthread_join(w->t, NULL);
	wait_one(cb);
	say("%s: then %s", how, result(cb));
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	int nsig = SIGRTMIN + 4;
	sa.sa_handler = on_note;
	sigaction(nsig, &sa, NULL);

	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c;
	struct aiocb cb;
	const struct aiocb *one[1] = { &cb };
	struct writer w;

	/* suspend */
	setup_cb(&cb, p[0], &c, 1, 0);
	say("suspend: aio_read: %s", RC(aio_read(&cb)));
	writer_start(&w, p[1], &alarms, 400);
	alarm_ms(100);
	const char *r = RC(aio_suspend(one, 1, NULL));
	int e = aio_error(&cb);
	say("measure: restart_suspend %s", r);
	say("suspend: handler ran %d time(s)", (int)alarms);
	finish("suspend", &cb, &w, errname(e));

	/* lio */
	alarms = 0;
	setup_cb(&cb, p[0], &c, 1, 0);
	cb.aio_lio_opcode = LIO_READ;
	struct aiocb *list[1] = { &cb };
	writer_start(&w, p[1], &alarms, 400);
	alarm_ms(100);
	r = RC(lio_listio(LIO_WAIT, list, 1, NULL));
	e = aio_error(&cb);
	say("measure: restart_lio %s", r);
	say("lio: handler ran %d time(s)", (int)alarms);
	finish("lio", &cb, &w, errname(e));

	/* timed */
	alarms = 0;
	setup_cb(&cb, p[0], &c, 1, 0);
	say("timed: aio_read: %s", RC(aio_read(&cb)));
	writer_start(&w, p[1], &alarms, 400);
	alarm_ms(100);
	struct timespec lng = { T_STUCK_SEC, 0 };
	r = RC(aio_suspend(one, 1, &lng));
	e = aio_error(&cb);
	say("timed: aio_suspend, %d s timeout: %s; handler ran %d time(s)", T_STUCK_SEC, r,
	    (int)alarms);
	finish("timed", &cb, &w, errname(e));

	/* notify: a regular file read's SIGEV_SIGNAL during the wait. */
	char *path = tpath("restart");
	make_pat_file(path, 4096, 35);
	int fd = xopen(path, O_RDONLY);
	unsigned char buf[4096];
	struct aiocb fcb;
	memset(buf, 0xEE, sizeof buf);
	setup_cb(&fcb, fd, buf, sizeof buf, 0);
	fcb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	fcb.aio_sigevent.sigev_signo = nsig;
	setup_cb(&cb, p[0], &c, 1, 0);
	say("notify: pipe aio_read: %s", RC(aio_read(&cb)));
	writer_start(&w, p[1], &notes, 400);
	say("notify: file aio_read: %s", RC(aio_read(&fcb)));
	r = RC(aio_suspend(one, 1, NULL));
	e = aio_error(&cb);
	say("measure: restart_notify %s", r);
	say("notify: notification handler ran %d time(s)", (int)notes);
	finish("notify", &cb, &w, errname(e));
	wait_one(&fcb);
	say("notify: file read %s, data %s", result(&fcb),
	    check_pat(buf, sizeof buf, 0, 35) < 0 ? "ok" : "WRONG");
	free(path);
	return t_finish();
}
