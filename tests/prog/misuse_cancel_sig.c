/* A cancelled request still announces itself, exactly once (POSIX: the
 * notification of a cancelled request is sent). On one pipe: read a waits
 * for data, read b waits behind it, each with SIGEV_SIGNAL (SIGRTMIN,
 * sigev_value 1 and 2); read c, behind both, with SIGEV_SIGNAL value 3.
 *   cancel(b): AIO_CANCELED under both, ECANCELED; its signal arrives.
 *   cancel(a): glibc AIO_NOTCANCELED (its helper is in read(2)), kaio
 *   AIO_CANCELED (measure: cancel_polling, rule).
 *   Then "xy" is written; a (if not cancelled) and c complete.
 * Once all three signals came (at most T_STUCK_SEC) and after 300 ms of
 * quiet: each value arrived exactly once, with si_code
 * SI_ASYNCIO, and nothing else arrived (a cancelled poll finishing in the
 * kernel later must not announce anything).
 * Threads: measure threads_notify (kaio: at most 2). */
#include "common.h"

static volatile sig_atomic_t got[8], other, badcode;

static void on_sig(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	int v = si->si_value.sival_int;
	if (v >= 0 && v < 8)
		got[v]++;
	else
		other++;
	if (si->si_code != SI_ASYNCIO)
		badcode++;
}

static void start(struct aiocb *cb, int fd, char *buf, int val)
{
	setup_cb(cb, fd, buf, 1, 0);
	cb->aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb->aio_sigevent.sigev_signo = SIGRTMIN;
	cb->aio_sigevent.sigev_value.sival_int = val;
	if (aio_read(cb))
		DIE("aio_read: %s", strerror(errno));
}

static void quiet(int ms)
{
	double end = now_sec() + ms / 1000.0;
	while (now_sec() < end)
		usleep(10000);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);

	int p[2];
	if (pipe(p))
		DIE("pipe");
	char a = 0, b = 0, c = 0;
	struct aiocb ca, cbb, cc;
	start(&ca, p[0], &a, 1);
	start(&cbb, p[0], &b, 2);
	start(&cc, p[0], &c, 3);
	usleep(20000);
	say("a, b, c: %s %s %s", errname(aio_error(&ca)), errname(aio_error(&cbb)),
	    errname(aio_error(&cc)));
	say("cancel b: %s", cancelname(aio_cancel(p[0], &cbb)));
	say("b: error %s", errname(wait_one(&cbb)));
	int r = aio_cancel(p[0], &ca);
	say("measure: cancel_polling %s", cancelname(r));
	say("measure: threads_notify %d", count_threads());
	if (write(p[1], "xy", 2) != 2)
		DIE("write");
	wait_one(&ca);
	wait_one(&cc);
	say("a: ended %s", aio_error(&ca) == (r == AIO_CANCELED ? ECANCELED : 0) ? "as the cancel said" : "WRONG");
	say("c: error %s", errname(aio_error(&cc)));
	/* each of the three announces itself: wait for all, then for strays */
	double end = now_sec() + T_STUCK_SEC;
	while ((!got[1] || !got[2] || !got[3]) && now_sec() < end)
		usleep(1000);
	quiet(300);
	/* more data: a cancelled poll left in the kernel would fire now */
	if (write(p[1], "zz", 2) != 2)
		DIE("write");
	quiet(300);
	for (int v = 1; v <= 3; v++)
		say("signal for %c: %d", "?abc"[v], (int)got[v]);
	say("other signals: %d, wrong si_code: %d", (int)other, (int)badcode);
	aio_return(&ca);
	aio_return(&cbb);
	aio_return(&cc);
	say("measure: threads_notify %d", count_threads());
	return t_finish();
}
