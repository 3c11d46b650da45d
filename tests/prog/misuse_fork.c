/* The child of a fork using aiocbs of its parent (POSIX: the child
 * inherits no AIO). Before fork the parent has a pipe read in flight (pr)
 * and a file write completed but not yet returned (fw). The child:
 *   - aio_error / aio_return / aio_cancel on pr (glibc: EINPROGRESS forever,
 *     since no thread of the child will ever run it; kaio: what it answers)
 *     are measure lines (child_error, child_return, child_cancel; record);
 *   - aio_suspend on pr with a 200 ms timeout must return, not hang, under
 *     both (measure: child_suspend; child_suspend_ms informative);
 *   - fw, completed before the fork: aio_error 0 and aio_return 4096
 *     (compared);
 *   - reuses pr's aiocb for a new read of its own pipe, and makes a round
 *     trip of its own on a new file: measure child_reuse, child_roundtrip
 *     with kaio rules (glibc's state, inherited from the parent, believes
 *     the parent's helper thread exists: its requests may never run in
 *     the child; the waits are bounded: 5 s for the reuse,
 *     which glibc never runs, T_STUCK_SEC for the round trip).
 * The parent then writes to its pipe: pr completes with that byte, and fw
 * gives 4096 in the parent too. A child that hangs is killed after 50 s
 * (alarm) and reported. Threads: measure threads_none (kaio: 1). */
#include "common.h"
#include <sys/wait.h>

static void child(struct aiocb *pr, struct aiocb *fw, int pfd)
{
	t_failures = 0;
	alarm(2 * T_STUCK_SEC + 10);
	errno = 0;
	int e = aio_error(pr);
	say("measure: child_error %s", e == -1 ? rc(-1, errno) : errname(e));
	errno = 0;
	ssize_t r = aio_return(pr);
	say("measure: child_return %zd %s", r, errname(errno));
	const struct aiocb *list[1] = { pr };
	struct timespec ts = { 0, 200 * 1000000 };
	double t0 = now_sec();
	int s = aio_suspend(list, 1, &ts);
	int se = errno;
	say("measure: child_suspend_ms %d", (int)((now_sec() - t0) * 1000));
	say("measure: child_suspend %s", rc(s, se));
	say("measure: child_cancel %s", cancelname(aio_cancel(pfd, pr)));
	errno = 0;
	e = aio_error(pr);
	say("measure: child_error_after %s", e == -1 ? rc(-1, errno) : errname(e));

	say("child: completed write: error %s", errname(aio_error(fw)));
	say("child: completed write: return %zd", aio_return(fw));

	/* New requests in the child. glibc's state is inherited from the
	 * parent (it believes the parent's helper thread exists), so they may
	 * never run there: bounded waits, and measure lines with kaio rules. */
	int q[2];
	if (pipe(q))
		DIE("pipe");
	char c = 0;
	if (write(q[1], "c", 1) != 1)
		DIE("write");
	setup_cb(pr, q[0], &c, 1, 0);
	say("measure: child_reuse_submit %s", RC(aio_read(pr)));
	if (wait_bounded(pr, 5) == EINPROGRESS) /* glibc: it never runs */
		say("measure: child_reuse stuck");
	else
		say("measure: child_reuse %s byte %c", result(pr), c ? c : '?');

	char *path = tpath("child");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char w[4096], rb[4096];
	fill_pat(w, sizeof w, 0, 8);
	memset(rb, 0, sizeof rb);
	struct aiocb cb;
	setup_cb(&cb, fd, w, sizeof w, 0);
	const char *rt = "ok";
	if (aio_write(&cb) || wait_bounded(&cb, T_STUCK_SEC) || aio_return(&cb) != sizeof w)
		rt = "write failed or stuck";
	setup_cb(&cb, fd, rb, sizeof rb, 0);
	if (!strcmp(rt, "ok") &&
	    (aio_read(&cb) || wait_bounded(&cb, T_STUCK_SEC) || aio_return(&cb) != sizeof rb ||
	     memcmp(w, rb, sizeof w)))
		rt = "read failed or stuck";
	say("measure: child_roundtrip %s", rt);
	say("measure: threads_none %d", count_threads());
	fflush(stdout);
	exit(t_finish()); /* exit(3) as programs do: atexit handlers run */
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("misuse_fork");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char w[4096];
	fill_pat(w, sizeof w, 0, 7);
	struct aiocb fw, pr;
	setup_cb(&fw, fd, w, sizeof w, 0);
	say("parent: aio_write: %s", RC(aio_write(&fw)));
	wait_one(&fw);
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c = 0;
	setup_cb(&pr, p[0], &c, 1, 0);
	say("parent: pipe read: %s", RC(aio_read(&pr)));
	usleep(20000);
	say("parent: pipe read: %s", errname(aio_error(&pr)));
	say("measure: threads_none %d", count_threads());

	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		DIE("fork");
	if (pid == 0)
		child(&pr, &fw, p[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		DIE("waitpid");
	if (WIFEXITED(st))
		say("parent: child exit %d", WEXITSTATUS(st));
	else
		say("parent: child killed by signal %d", WTERMSIG(st));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child");

	say("parent: pipe read after the child: %s", errname(aio_error(&pr)));
	if (write(p[1], "p", 1) != 1)
		DIE("write");
	wait_one(&pr);
	say("parent: pipe read: %s byte %c", result(&pr), c ? c : '?');
	say("parent: write: %s", result(&fw));
	say("measure: threads_none %d", count_threads());
	return t_finish();
}
