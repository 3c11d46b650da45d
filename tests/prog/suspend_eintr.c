/* aio_suspend interrupted by a signal: a SIGALRM handler installed without
 * SA_RESTART runs while aio_suspend waits (no timeout) on a pipe read that
 * never completes -> -1 EINTR, and the handler ran. The same with a
 * timeout longer than the alarm. Then the read is completed. */
#include "common.h"

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);

	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c = 0;
	struct aiocb cb;
	setup_cb(&cb, p[0], &c, 1, 0);
	say("pipe read: %s", RC(aio_read(&cb)));
	const struct aiocb *list[1] = { &cb };

	alarm_ms(200);
	say("aio_suspend, no timeout: %s", RC(aio_suspend(list, 1, NULL)));
	say("handler ran %d time(s)", (int)alarms);

	alarm_ms(200);
	struct timespec ts = { 10, 0 };
	double t0 = now_sec();
	say("aio_suspend, 10 s timeout: %s", RC(aio_suspend(list, 1, &ts)));
	say("returned %s", now_sec() - t0 < 5 ? "early" : "AFTER THE TIMEOUT");
	say("handler ran %d time(s)", (int)alarms);
	say("pipe read: %s", errname(aio_error(&cb)));

	if (write(p[1], "z", 1) != 1)
		DIE("write");
	wait_one(&cb);
	say("pipe read: %s byte %c", result(&cb), c);
	return t_finish();
}
