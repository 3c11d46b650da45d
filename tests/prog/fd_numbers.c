/* The fd numbers a program expects stay its own: after closing fd 0 and
 * while fd 0 is closed (kaio makes its context and eventfd on the first call,
 * its thread and a private eventfd with the first notification), the next
 * open() still returns 0, as without kaio. Daemons
 * that close 0..2 and reopen them rely on this. */
#include "common.h"

static volatile sig_atomic_t got;

static void on_sig(int sig)
{
	(void)sig;
	got++;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("numbers");
	make_pat_file(path, 4096, 3);
	signal(SIGUSR2, on_sig);
	for (int round = 0; round < 2; round++) {
		/* fd 0 is free while kaio makes its fds (first AIO call, first
		 * notification): they must not take it. */
		int fd = xopen(path, O_RDONLY);
		close(0);
		unsigned char b[4096];
		struct aiocb cb;
		setup_cb(&cb, fd, b, sizeof b, 0);
		if (round) {
			cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
			cb.aio_sigevent.sigev_signo = SIGUSR2;
		}
		say("round %d: aio_read %s", round, RC(aio_read(&cb)));
		wait_one(&cb);
		say("round %d: %s, data %s", round, result(&cb),
		    check_pat(b, sizeof b, 0, 3) < 0 ? "ok" : "WRONG");
		for (int i = 0; i < T_STUCK_SEC * 100 && round && !got; i++)
			usleep(10000);
		close(fd);
		int again = open("/dev/null", O_RDONLY);
		say("round %d: the next open() gives fd %d", round, again);
		if (again != 0)
			close(again);
	}
	say("signals: %d", (int)got);
	free(path);
	return t_finish();
}
