/* A pseudo-terminal (posix_openpt, grantpt, unlockpt, ptsname), the slave
 * in raw mode (cfmakeraw), compared with glibc. The kernel refuses
 * RWF_NOWAIT on a tty, so these go the "poll first" way under kaio.
 *   - aio_read on the slave returns at once (measure: read_submit_ms,
 *     informative), stays in progress, completes when the master writes;
 *   - aio_write on the master, read back on the slave with aio_read;
 *   - aio_write on the slave, aio_read on the master (pending first);
 *   - two reads queued on the slave complete in call order;
 *   - a 64 KiB aio_write on the master (more than the tty buffers hold)
 *     completes whole while the slave reads with aio_reads;
 *   - the master closed: a read pending on the slave ends (EIO or 0).
 * Skips (77) if there is no pty. Threads: measure threads_none (kaio: 1).
 * A caller blocked inside an aio call (aio_read, aio_suspend, aio_error)
 * is cut loose by a SIGALRM every T_STUCK_SEC s (no SA_RESTART: the
 * blocked read(2)/write(2) fails EINTR or returns short) and shows up as
 * a wrong result rather than a hang; the data a read waits for is written
 * only after aio_read returned. */
#include <sys/time.h>
#include "common.h"
#include <termios.h>

static void on_alarm(int sig)
{
	(void)sig;
}

static int ms_since(double t0)
{
	return (int)((now_sec() - t0) * 1000 + 0.5);
}

/* Reads n bytes from fd with aio_reads; stops at an error. Returns the
 * bytes read; *reads: how many reads it took. */
static size_t aio_read_all(int fd, unsigned char *buf, size_t n, int *reads)
{
	size_t got = 0;
	if (reads)
		*reads = 0;
	while (got < n) {
		struct aiocb cb;
		setup_cb(&cb, fd, buf + got, n - got, 0);
		if (aio_read(&cb))
			DIE("aio_read: %s", strerror(errno));
		int e = wait_one(&cb);
		ssize_t k = aio_return(&cb);
		if (e || k <= 0) {
			say("a read failed: %s %zd", errname(e), k);
			break;
		}
		got += (size_t)k;
		if (reads)
			(*reads)++;
	}
	return got;
}

/* Each step starts with nothing buffered either way. */
static void flush(int m, int s)
{
	tcflush(m, TCIOFLUSH);
	tcflush(s, TCIOFLUSH);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { T_STUCK_SEC, 0 }, { T_STUCK_SEC, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0)
		t_skip("posix_openpt failed");
	if (grantpt(m) || unlockpt(m))
		t_skip("grantpt/unlockpt failed");
	char *name = ptsname(m);
	if (!name)
		t_skip("ptsname failed");
	int s = open(name, O_RDWR | O_NOCTTY);
	if (s < 0)
		t_skip("cannot open the pty slave");
	struct termios t;
	if (tcgetattr(s, &t))
		DIE("tcgetattr");
	cfmakeraw(&t);
	if (tcsetattr(s, TCSANOW, &t))
		DIE("tcsetattr");
	/* the master side raw as well, so nothing is echoed back */
	if (tcgetattr(m, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(m, TCSANOW, &t);
	}

	char buf[256];
	unsigned char ub[4];
	struct aiocb cb;
	memset(buf, 0, sizeof buf);
	setup_cb(&cb, s, buf, sizeof buf, 0);
	double t0 = now_sec();
	int r = aio_read(&cb);
	say("slave aio_read: %s", rc(r, errno));
	say("measure: read_submit_ms %d", ms_since(t0));
	usleep(50000);
	say("slave read before the master writes: %s", errname(aio_error(&cb)));
	say("measure: threads_none %d", count_threads());
	if (write(m, "tty!", 4) != 4)
		DIE("write master");
	wait_one(&cb);
	ssize_t k = aio_return(&cb);
	say("measure: first_read %zd", k);
	/* raw mode: a read returns what has arrived; collect the rest */
	if (k > 0 && k < 4)
		aio_read_all(s, (unsigned char *)buf + k, (size_t)(4 - k), NULL);
	say("slave read: %s", k > 0 ? buf : "FAILED");

	/* aio_write on the master */
	flush(m, s);
	setup_cb(&cb, m, "master", 6, 0);
	say("master aio_write: %s", RC(aio_write(&cb)));
	wait_one(&cb);
	say("master write: %s", result(&cb));
	memset(buf, 0, sizeof buf);
	aio_read_all(s, (unsigned char *)buf, 6, NULL);
	say("slave got %s", buf);

	/* aio_read pending on the master, aio_write on the slave */
	flush(m, s);
	memset(buf, 0, sizeof buf);
	struct aiocb mr;
	setup_cb(&mr, m, buf, sizeof buf, 0);
	t0 = now_sec();
	say("master aio_read: %s", RC(aio_read(&mr)));
	say("measure: read_submit_ms %d", ms_since(t0));
	usleep(50000);
	say("master read before the slave writes: %s", errname(aio_error(&mr)));
	setup_cb(&cb, s, "slave", 5, 0);
	say("slave aio_write: %s", RC(aio_write(&cb)));
	wait_one(&cb);
	say("slave write: %s", result(&cb));
	wait_one(&mr);
	k = aio_return(&mr);
	if (k > 0 && k < 5)
		aio_read_all(m, (unsigned char *)buf + k, (size_t)(5 - k), NULL);
	say("master got %s", buf);

	/* two reads queued on the slave, in call order */
	flush(m, s);
	struct aiocb q[2];
	memset(ub, 0, sizeof ub);
	for (int i = 0; i < 2; i++) {
		setup_cb(&q[i], s, &ub[i], 1, 0);
		t0 = now_sec();
		say("queued slave read %d: %s", i, RC(aio_read(&q[i])));
		say("measure: read_submit_ms %d", ms_since(t0));
	}
	if (write(m, "xy", 2) != 2)
		DIE("write master");
	for (int i = 0; i < 2; i++) {
		wait_one(&q[i]);
		say("queued slave read %d: %s byte %c", i, result(&q[i]), ub[i] ? ub[i] : '?');
	}

	/* 64 KiB through the tty */
	flush(m, s);
	size_t big = 65536;
	unsigned char *w = xmalloc(big), *got = xmalloc(big);
	fill_pat(w, big, 0, 71);
	setup_cb(&cb, m, w, big, 0);
	t0 = now_sec();
	say("master 64 KiB aio_write: %s", RC(aio_write(&cb)));
	say("measure: write_submit_ms %d", ms_since(t0));
	int reads = 0;
	size_t n = aio_read_all(s, got, big, &reads);
	say("measure: big_reads %d", reads);
	wait_one(&cb);
	say("master 64 KiB write: %s", result(&cb));
	say("64 KiB bytes in order: %s", n == big && !memcmp(w, got, big) ? "ok" : "WRONG");
	say("measure: threads_none %d", count_threads());

	/* the master goes away with a read pending on the slave */
	flush(m, s);
	setup_cb(&cb, s, buf, sizeof buf, 0);
	t0 = now_sec();
	say("slave read before hangup: %s", RC(aio_read(&cb)));
	say("measure: read_submit_ms %d", ms_since(t0));
	usleep(20000);
	close(m);
	int e = wait_one(&cb);
	k = aio_return(&cb);
	say("slave read after hangup: %s", e == EIO || (e == 0 && k == 0) ? "ended (EIO or EOF)" : "WRONG");
	say("measure: hangup_result %s %zd", errname(e), k);
	close(s);
	return t_finish();
}
