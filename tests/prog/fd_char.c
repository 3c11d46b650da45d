/* Character devices, /proc files and the "anon inode" fds, compared with
 * glibc (which runs pread/pwrite, or read/write on ESPIPE):
 *   /dev/null read (0) and write, /dev/zero read (zeros), /dev/full write
 *   (ENOSPC) and read (zeros), /dev/urandom read (the length only);
 *   /proc/sys/kernel/ostype; /proc/self/cmdline and /proc/self/status
 *   (the kernel's AIO refuses status) compared with a pread made by the same
 *   process right before: cmdline byte for byte, status line by line but
 *   for the lines that change by themselves (Threads, Vm*, Rss*, context
 *   switches, ...; measure: status_identical, informative);
 *   /proc/self/mem at the address of a buffer of the program;
 *   a directory (EISDIR, reported later through aio_error);
 *   eventfd: a read at count 0 returns at once (measure: submit_ms,
 *   informative), stays in progress, completes after eventfd_write; a read
 *   with the count already set; EFD_SEMAPHORE; an aio_write adds;
 *   timerfd: a one-shot 300 ms timer read gives 1 expiration, a 10 ms
 *   periodic one at least 1;
 *   signalfd: a read completes when SIGUSR1 is sent to the process;
 *   inotify: a read completes after a file is created in the watched dir.
 * Threads: measure threads_none (kaio: 1). */
#include "common.h"
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>

static void on_alarm(int sig)
{
	(void)sig;
}

static int ms_since(double t0)
{
	return (int)((now_sec() - t0) * 1000 + 0.5);
}

static ssize_t req(const char *what, int write_, int fd, void *buf, size_t n, off_t off)
{
	struct aiocb cb;
	setup_cb(&cb, fd, buf, n, off);
	int r = write_ ? aio_write(&cb) : aio_read(&cb);
	if (r) {
		say("%s: submit %s", what, rc(r, errno));
		return -1;
	}
	int e = wait_one(&cb);
	ssize_t k = aio_return(&cb);
	say("%s: error %s return %zd", what, errname(e), k);
	return k;
}

/* Starts a read that must stay pending; returns 0 when aio_read returned. */
static void start_pending(const char *what, struct aiocb *cb, int fd, void *buf, size_t n)
{
	setup_cb(cb, fd, buf, n, 0);
	double t0 = now_sec();
	int r = aio_read(cb);
	say("%s: aio_read %s", what, rc(r, errno));
	say("measure: submit_ms %d", ms_since(t0));
	usleep(30000);
	say("%s: before the event: %s", what, errname(aio_error(cb)));
}

/* aio_error after waiting at most secs seconds with aio_suspend. */
static int varying(const char *line)
{
	static const char *const keys[] = {
		"State:", "Threads:", "Vm", "Rss", "voluntary_ctxt_switches:",
		"nonvoluntary_ctxt_switches:", "SigQ:", "SigPnd:", "ShdPnd:",
		"SigBlk:", "HugetlbPages:", "FDSize:",
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (!strncmp(line, keys[i], strlen(keys[i])))
			return 1;
	return 0;
}

/* Lines of a that are not in b at the same place, ignoring varying ones. */
static int status_diff(char *a, char *b)
{
	int bad = 0;
	char *sa, *sb;
	char *la = strtok_r(a, "\n", &sa), *lb = strtok_r(b, "\n", &sb);
	while (la || lb) {
		if (!la || !lb)
			return bad + 1;
		if (strcmp(la, lb) && !(varying(la) && varying(lb) &&
					strchr(la, ':') - la == strchr(lb, ':') - lb &&
					!strncmp(la, lb, (size_t)(strchr(la, ':') - la)))) {
			fprintf(stderr, "status differs:\n  %s\n  %s\n", la, lb);
			bad++;
		}
		la = strtok_r(NULL, "\n", &sa);
		lb = strtok_r(NULL, "\n", &sb);
	}
	return bad;
}

static void proc_files(void)
{
	static char a[65536], b[65536];
	int fd = xopen("/proc/sys/kernel/ostype", O_RDONLY);
	memset(a, 0, sizeof a);
	req("ostype", 0, fd, a, 100, 0);
	say("ostype: %s", strtok(a, "\n"));
	close(fd);

	fd = xopen("/proc/self/cmdline", O_RDONLY);
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	ssize_t n = pread(fd, b, sizeof b, 0);
	struct aiocb cb;
	setup_cb(&cb, fd, a, sizeof a, 0);
	say("cmdline: aio_read %s", RC(aio_read(&cb)));
	wait_one(&cb);
	ssize_t k = aio_return(&cb);
	say("cmdline: %s", n > 0 && k == n && !memcmp(a, b, (size_t)n) ? "same" : "DIFFERS");
	close(fd);

	fd = xopen("/proc/self/status", O_RDONLY);
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	n = pread(fd, b, sizeof b - 1, 0);
	setup_cb(&cb, fd, a, sizeof a - 1, 0);
	say("status: aio_read %s", RC(aio_read(&cb)));
	wait_one(&cb);
	k = aio_return(&cb);
	say("measure: status_identical %s", k == n && !memcmp(a, b, (size_t)n) ? "yes" : "no");
	int d = k > 0 ? status_diff(a, b) : -1;
	say("status: %s", d == 0 ? "same" : "DIFFERS");
	close(fd);

	/* /proc/self/mem: the program's own memory, at a buffer's address */
	static char marker[64] = "kaio reads its own memory";
	fd = open("/proc/self/mem", O_RDONLY);
	if (fd >= 0) {
		memset(a, 0, sizeof a);
		req("/proc/self/mem", 0, fd, a, sizeof marker, (off_t)(uintptr_t)marker);
		say("/proc/self/mem: %s", a);
		close(fd);
	}
}

static void devices(void)
{
	char buf[4096] = { 0 };	/* /dev/null reads none of it in: written as is */
	int fd = xopen("/dev/null", O_RDWR);
	req("/dev/null read", 0, fd, buf, sizeof buf, 0);
	req("/dev/null write", 1, fd, buf, sizeof buf, 777);
	close(fd);

	fd = xopen("/dev/zero", O_RDWR);
	memset(buf, 'x', sizeof buf);
	req("/dev/zero read", 0, fd, buf, sizeof buf, 1 << 20);
	int zeros = 1;
	for (size_t i = 0; i < sizeof buf; i++)
		zeros &= buf[i] == 0;
	say("/dev/zero: %s", zeros ? "zeros" : "WRONG");
	req("/dev/zero write", 1, fd, buf, 100, 0);
	close(fd);

	fd = open("/dev/full", O_RDWR);
	if (fd >= 0) {
		req("/dev/full write", 1, fd, "x", 1, 0);
		memset(buf, 'x', 100);
		req("/dev/full read", 0, fd, buf, 100, 0);
		say("/dev/full: %s", buf[0] == 0 && buf[99] == 0 ? "zeros" : "WRONG");
		close(fd);
	} else {
		say("/dev/full write: error ENOSPC return -1");
		say("/dev/full read: error 0 return 100");
		say("/dev/full: zeros");
	}

	fd = xopen("/dev/urandom", O_RDONLY);
	req("/dev/urandom read", 0, fd, buf, sizeof buf, 0);
	close(fd);

	fd = open(t_dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		DIE("open dir");
	struct aiocb cb;
	setup_cb(&cb, fd, buf, 100, 0);
	say("directory: aio_read %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("directory: %s", result(&cb));
	close(fd);
}

static void event_fds(void)
{
	struct aiocb cb;
	uint64_t v = 0;

	int efd = eventfd(0, 0);
	if (efd < 0)
		DIE("eventfd");
	start_pending("eventfd at 0", &cb, efd, &v, sizeof v);
	say("measure: threads_none %d", count_threads());
	if (eventfd_write(efd, 7))
		DIE("eventfd_write");
	wait_one(&cb);
	say("eventfd at 0: %s value %" PRIu64, result(&cb), v);
	eventfd_write(efd, 3);
	v = 0;
	req("eventfd at 3", 0, efd, &v, sizeof v, 0);
	say("eventfd at 3: value %" PRIu64, v);
	uint64_t add = 5;
	req("eventfd aio_write 5", 1, efd, &add, sizeof add, 0);
	v = 0;
	req("eventfd after the write", 0, efd, &v, sizeof v, 0);
	say("eventfd after the write: value %" PRIu64, v);
	/* a read of fewer than 8 bytes: EINVAL */
	req("eventfd read of 4 bytes", 0, efd, &v, 4, 0);
	close(efd);

	efd = eventfd(2, EFD_SEMAPHORE);
	if (efd < 0)
		DIE("eventfd");
	for (int i = 0; i < 2; i++) {
		v = 0;
		req("semaphore eventfd", 0, efd, &v, sizeof v, 0);
		say("semaphore eventfd: value %" PRIu64, v);
	}
	start_pending("semaphore eventfd at 0", &cb, efd, &v, sizeof v);
	eventfd_write(efd, 1);
	wait_one(&cb);
	say("semaphore eventfd at 0: %s value %" PRIu64, result(&cb), v);
	close(efd);

	int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	if (tfd < 0)
		DIE("timerfd_create");
	struct itimerspec its = { { 0, 0 }, { 0, 300 * 1000000 } };
	if (timerfd_settime(tfd, 0, &its, NULL))
		DIE("timerfd_settime");
	start_pending("timerfd, one shot of 300 ms", &cb, tfd, &v, sizeof v);
	wait_one(&cb);
	say("timerfd: %s expirations %" PRIu64, result(&cb), v);
	/* periodic, 10 ms: at least one expiration per read */
	its.it_interval.tv_nsec = its.it_value.tv_nsec = 10 * 1000000;
	timerfd_settime(tfd, 0, &its, NULL);
	v = 0;
	req("timerfd, 10 ms period", 0, tfd, &v, sizeof v, 0);
	say("timerfd periodic: %s", v >= 1 ? "at least 1" : "WRONG");
	say("measure: timerfd_ticks %" PRIu64, v);
	close(tfd);

	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	int sfd = signalfd(-1, &s, 0);
	if (sfd < 0)
		DIE("signalfd");
	struct signalfd_siginfo si;
	memset(&si, 0, sizeof si);
	start_pending("signalfd", &cb, sfd, &si, sizeof si);
	kill(getpid(), SIGUSR1); /* to the process: any thread may read it */
	if (wait_bounded(&cb, T_STUCK_SEC) == EINPROGRESS) {
		say("signalfd: STILL IN PROGRESS %d s after the signal was sent", T_STUCK_SEC);
		say("measure: signalfd_stuck_cancel %s", cancelname(aio_cancel(sfd, &cb)));
		struct signalfd_siginfo si2;
		say("signalfd: the signal is still there for read(2): %s",
		    read(sfd, &si2, sizeof si2) == sizeof si2 && si2.ssi_signo == SIGUSR1 ? "yes" : "no");
		wait_one(&cb);
		aio_return(&cb);
	} else {
		say("signalfd: %s signal %s", result(&cb), si.ssi_signo == SIGUSR1 ? "SIGUSR1" : "WRONG");
	}
	close(sfd);

	int ifd = inotify_init();
	if (ifd < 0)
		DIE("inotify_init");
	if (inotify_add_watch(ifd, t_dir, IN_CREATE) < 0)
		DIE("inotify_add_watch");
	union {
		struct inotify_event ev;
		char b[sizeof(struct inotify_event) + 256];
	} u;
	memset(&u, 0, sizeof u);
	start_pending("inotify", &cb, ifd, &u, sizeof u);
	say("measure: threads_none %d", count_threads());
	close(xopen(tpath("touched"), O_WRONLY | O_CREAT));
	if (wait_bounded(&cb, T_STUCK_SEC) == EINPROGRESS) {
		say("inotify: STILL IN PROGRESS %d s after the event", T_STUCK_SEC);
		aio_cancel(ifd, &cb);
		wait_one(&cb);
	}
	ssize_t k = aio_return(&cb);
	say("inotify: error %s, %s", errname(aio_error(&cb)),
	    k >= (ssize_t)sizeof u.ev && (u.ev.mask & IN_CREATE) && !strcmp(u.ev.name, "touched")
		    ? "IN_CREATE touched" : "WRONG");
	close(ifd);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	/* A caller blocked inside an aio call is cut loose (EINTR) by SIGALRM
	 * every 2 s, so it shows as a wrong answer instead of a hang. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 2, 0 }, { 2, 0 } };
	setitimer(ITIMER_REAL, &it, NULL);

	devices();
	proc_files();
	event_fds();
	say("measure: threads_none %d", count_threads());
	return t_finish();
}
