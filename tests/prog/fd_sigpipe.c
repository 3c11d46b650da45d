/* SIGPIPE. A program that leaves SIGPIPE at its default action and writes,
 * with aio_write, to a pipe whose reader is gone (and to a socket whose
 * peer closed): with glibc the write(2) runs in a helper thread that blocks
 * every signal, so the SIGPIPE it raises (a signal to the calling thread)
 * is never delivered, and the request ends with EPIPE; the program goes on.
 * A program written against that must not be killed. Each case runs in a
 * child, so a kill is reported instead of ending the test:
 *   "child: exit 0" and "write: error EPIPE return -1" are compared.
 * Also the same with SIGPIPE blocked by the program (the signal then stays
 * pending; measure: sigpipe_pending, informative) and ignored. */
#include "common.h"
#include <sys/socket.h>
#include <sys/wait.h>

enum how { DEFAULT, BLOCKED, IGNORED };

static void child(enum how how, int sock)
{
	int fds[2];
	t_failures = 0;
	if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds))
		DIE("pipe");
	/* a pipe: close the reader; a socket: close the peer */
	close(fds[0]);
	int wfd = fds[1];
	if (how == BLOCKED) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGPIPE);
		sigprocmask(SIG_BLOCK, &s, NULL);
	} else if (how == IGNORED) {
		signal(SIGPIPE, SIG_IGN);
	}
	struct aiocb cb;
	setup_cb(&cb, wfd, "data", 4, 0);
	say("  aio_write: %s", RC(aio_write(&cb)));
	wait_one(&cb);
	say("  write: %s", result(&cb));
	if (how == BLOCKED) {
		sigset_t p;
		sigpending(&p);
		say("measure: sigpipe_pending %d", sigismember(&p, SIGPIPE));
	}
	fflush(stdout);
	exit(t_finish()); /* exit(3) as programs do: atexit handlers run */
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	static const char *names[] = { "default", "blocked", "ignored" };
	for (int sock = 0; sock < 2; sock++) {
		for (int how = DEFAULT; how <= IGNORED; how++) {
			say("%s, SIGPIPE %s:", sock ? "socket" : "pipe", names[how]);
			fflush(stdout);
			pid_t pid = fork();
			if (pid < 0)
				DIE("fork");
			if (pid == 0)
				child((enum how)how, sock);
			int st;
			if (waitpid(pid, &st, 0) != pid)
				DIE("waitpid");
			if (WIFEXITED(st))
				say("  child: exit %d", WEXITSTATUS(st));
			else
				say("  child: killed by signal %d", WTERMSIG(st));
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child");
		}
	}
	return t_finish();
}
