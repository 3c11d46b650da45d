/*
 * runstat [-o FILE] CMD ARGS...
 *
 * Runs CMD and writes one line about the whole process to FILE (or stderr):
 *   wall_s=... cpu_user_s=... cpu_sys_s=... threads_max=... rss_peak_kb=...
 *   vsz_peak_kb=... exit=...
 * CPU comes from wait4(), so it covers every thread of the process (and any
 * children it reaped), unlike a program's own RUSAGE_THREAD figures.
 * /proc/PID/status is polled every 10 ms from the exec on: Threads (max seen),
 * VmHWM/VmRSS and VmPeak/VmSize (peaks; VmHWM and VmPeak are already maxima,
 * so the last poll before exit is the best one). rss_peak_kb also takes
 * wait4's ru_maxrss into account. A process that lives less than one tick
 * may be seen only mid-exec: its vsz_peak_kb and threads_max are then low.
 * exit= is the exit status, or 128+signal.
 * runstat exits with the same status; 125 when runstat itself fails, 126/127
 * when CMD cannot be executed / is not found.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct peaks {
	long threads;
	long rss_kb;
	long vsz_kb;
};

static void usage(void)
{
	fputs("usage: runstat [-o FILE] CMD [ARGS...]\n", stderr);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void keep_max(long *dst, long v)
{
	if (v > *dst)
		*dst = v;
}

/* Reads /proc/PID/status once; fields missing (e.g. a zombie) are skipped. */
static void poll_status(const char *path, struct peaks *pk)
{
	char buf[8192];
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';

	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		long v;

		if (sscanf(line, "Threads: %ld", &v) == 1)
			keep_max(&pk->threads, v);
		else if (sscanf(line, "VmHWM: %ld", &v) == 1 || sscanf(line, "VmRSS: %ld", &v) == 1)
			keep_max(&pk->rss_kb, v);
		else if (sscanf(line, "VmPeak: %ld", &v) == 1 || sscanf(line, "VmSize: %ld", &v) == 1)
			keep_max(&pk->vsz_kb, v);
		if (!nl)
			break;
		line = nl + 1;
	}
}

int main(int argc, char **argv)
{
	const char *out_path = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "+ho:")) != -1) {
		switch (opt) {
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 125;
		}
	}
	if (optind >= argc) {
		usage();
		return 125;
	}

	FILE *out = stderr;
	if (out_path) {
		out = fopen(out_path, "we");
		if (!out) {
			fprintf(stderr, "runstat: %s: %s\n", out_path, strerror(errno));
			return 125;
		}
	}

	/* Block SIGCHLD so sigtimedwait() can both sleep 10 ms and wake on exit. */
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);

	/* A close-on-exec pipe tells the parent whether the exec happened. */
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		perror("runstat: pipe2");
		return 125;
	}

	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0) {
		perror("runstat: fork");
		return 125;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(pfd[0]);
		execvp(argv[optind], argv + optind);
		int e = errno;
		ssize_t w = write(pfd[1], &e, sizeof(e));
		(void)w;
		_exit(e == ENOENT ? 127 : 126);
	}
	close(pfd[1]);

	/* Like time(1): the terminal's ^C/^\ go to the command; we report. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);

	int exec_errno = 0;
	ssize_t r;
	do
		r = read(pfd[0], &exec_errno, sizeof(exec_errno));
	while (r < 0 && errno == EINTR);
	close(pfd[0]);
	if (r > 0)
		fprintf(stderr, "runstat: %s: %s\n", argv[optind], strerror(exec_errno));

	char status_path[64];
	snprintf(status_path, sizeof(status_path), "/proc/%d/status", (int)pid);
	struct peaks pk = { 0, 0, 0 };
	struct rusage ru;
	int st;
	const struct timespec tick = { 0, 10 * 1000 * 1000 };

	for (;;) {
		if (r == 0)
			poll_status(status_path, &pk);
		pid_t w = wait4(pid, &st, WNOHANG, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			perror("runstat: wait4");
			return 125;
		}
		sigtimedwait(&chld, NULL, &tick);
	}
	double wall = now_s() - t0;

	keep_max(&pk.rss_kb, ru.ru_maxrss);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	fprintf(out,
		"wall_s=%.6f cpu_user_s=%.6f cpu_sys_s=%.6f threads_max=%ld "
		"rss_peak_kb=%ld vsz_peak_kb=%ld exit=%d\n",
		wall, tv_s(ru.ru_utime), tv_s(ru.ru_stime), pk.threads,
		pk.rss_kb, pk.vsz_kb, code);
	if (out != stderr && fclose(out) != 0) {
		fprintf(stderr, "runstat: %s: %s\n", out_path, strerror(errno));
		return 125;
	}
	return code;
}
