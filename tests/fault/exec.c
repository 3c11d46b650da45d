/* exec with requests pending (argv[1]: scratch directory, argv[2]: "true"
 * to exec /bin/true, "self" to exec this program as "child"). Before the
 * exec: 32 O_DIRECT reads of 64 KiB in flight, a read pending on an empty
 * pipe, a write pending on a full pipe, a SIGEV_SIGNAL read and a
 * SIGEV_THREAD read pending on pipes. The exec must succeed (execv does
 * not return). The re-executed child checks it inherited no fd beyond the
 * program's own (0-2 and the pipes' ends, which are not close-on-exec),
 * does its own AIO round trip, and exits 0. */
#include "../prog/common.h"

#define N 32
#define S (64 << 10)

static void cb_fn(union sigval v)
{
	(void)v;
}

/* Open fds that survive an exec (no FD_CLOEXEC). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *de;
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		int f = atoi(de->d_name);
		if (de->d_name[0] == '.' || f == dirfd(d))
			continue;
		int fl = fcntl(f, F_GETFD);
		n += fl >= 0 && !(fl & FD_CLOEXEC);
	}
	closedir(d);
	return n;
}

static int child(void)
{
	int nfd = count_fds();
	int want = atoi(getenv("FAULT_EXEC_FDS") ? getenv("FAULT_EXEC_FDS") : "-1");
	say("child: fds %d, before exec %d: %s", nfd, want, nfd == want ? "same" : "DIFFERENT");
	char *p = tpath("exec_child");
	int fd = xopen(p, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char w[4096], r[4096];
	fill_pat(w, sizeof w, 0, 141);
	struct aiocb cb;
	setup_cb(&cb, fd, w, sizeof w, 0);
	int ok = !aio_write(&cb) && !wait_one(&cb) && aio_return(&cb) == 4096;
	setup_cb(&cb, fd, r, sizeof r, 0);
	ok = ok && !aio_read(&cb) && !wait_one(&cb) && aio_return(&cb) == 4096 && !memcmp(w, r, 4096);
	say("child: round trip %s", ok ? "ok" : "WRONG");
	CHECK(ok && nfd == want, "child");
	return t_finish();
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	if (argc > 2 && !strcmp(argv[2], "child"))
		return child();
	signal(SIGPIPE, SIG_IGN);
	char *path = tpath("exec_file");
	make_pat_file(path, (size_t)N * S, 142);
	int fd = open_direct(path, O_RDONLY);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	static struct aiocb cbs[N];
	unsigned char *b = xalign((size_t)N * S);
	for (int i = 0; i < N; i++) {
		setup_cb(&cbs[i], fd, b + (size_t)i * S, S, (off_t)i * S);
		if (aio_read(&cbs[i]))
			DIE("aio_read");
	}
	int p1[2], p2[2], p3[2], p4[2];
	if (pipe(p1) || pipe(p2) || pipe(p3) || pipe(p4))
		DIE("pipe");
	static char c1, c3, c4;
	static struct aiocb r1, w2, r3, r4;
	setup_cb(&r1, p1[0], &c1, 1, 0);
	if (aio_read(&r1))
		DIE("aio_read pipe");
	fcntl(p2[1], F_SETFL, O_NONBLOCK);
	static char fill[1 << 16];
	while (write(p2[1], fill, sizeof fill) > 0)
		;
	fcntl(p2[1], F_SETFL, 0);
	setup_cb(&w2, p2[1], fill, sizeof fill, 0);
	if (aio_write(&w2))
		DIE("aio_write pipe");
	setup_cb(&r3, p3[0], &c3, 1, 0);
	r3.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	r3.aio_sigevent.sigev_signo = SIGUSR1;
	signal(SIGUSR1, SIG_IGN);
	if (aio_read(&r3))
		DIE("aio_read SIGEV_SIGNAL");
	setup_cb(&r4, p4[0], &c4, 1, 0);
	r4.aio_sigevent.sigev_notify = SIGEV_THREAD;
	r4.aio_sigevent.sigev_notify_function = cb_fn;
	if (aio_read(&r4))
		DIE("aio_read SIGEV_THREAD");
	usleep(10000);
	int pending = 0;
	for (int i = 0; i < N; i++)
		pending += aio_error(&cbs[i]) == EINPROGRESS;
	say("measure: pending_file %d", pending);
	say("pending pipe requests: %s %s %s %s", errname(aio_error(&r1)), errname(aio_error(&w2)),
	    errname(aio_error(&r3)), errname(aio_error(&r4)));
	fflush(stdout);
	char nfd[16];
	snprintf(nfd, sizeof nfd, "%d", count_fds());
	setenv("FAULT_EXEC_FDS", nfd, 1);
	if (argc > 2 && !strcmp(argv[2], "true"))
		execl("/bin/true", "true", (char *)NULL);
	else
		execl("/proc/self/exe", argv[0], argv[1], "child", (char *)NULL);
	DIE("exec: %s", strerror(errno));
}
