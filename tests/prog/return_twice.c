/* aio_return twice on one aiocb. The first gives the byte count (compared).
 * The second is where kaio differs on purpose: glibc returns the stored
 * value again; kaio -1 EINVAL (POSIX: "may fail" once the status was
 * retrieved). Printed as "measure: second_return same|-1 ERR|VALUE" and
 * checked by run.sh's rule. aio_error after aio_return is not compared
 * either (POSIX leaves it undefined). Also for a failed request. */
#include "common.h"

static void twice(const char *what, struct aiocb *cb)
{
	wait_one(cb);
	ssize_t r1 = aio_return(cb);
	say("%s: first aio_return %zd", what, r1);
	errno = 0;
	ssize_t r2 = aio_return(cb);
	int e = errno;
	if (r2 == r1 && e == 0)
		say("measure: second_return same");
	else if (r2 == -1)
		say("measure: second_return -1 %s", errname(e));
	else
		say("measure: second_return %zd", r2);
	say("measure: error_after_return %s", errname(aio_error(cb)));
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("return_twice");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	char buf[1000];
	memset(buf, 'q', sizeof buf);
	struct aiocb cb;
	setup_cb(&cb, fd, buf, sizeof buf, 0);
	say("write: %s", RC(aio_write(&cb)));
	twice("write", &cb);
	setup_cb(&cb, fd, buf, 500, 100);
	say("read: %s", RC(aio_read(&cb)));
	twice("read", &cb);
	/* A read of 0 bytes at EOF: the first return is 0. */
	setup_cb(&cb, fd, buf, 10, 5000);
	say("read at EOF: %s", RC(aio_read(&cb)));
	/* A failed request: the first return is -1 (errno not compared). */
	struct aiocb bad;
	setup_cb(&bad, 999, buf, 10, 0);
	say("read fd 999: %s", RC(aio_read(&bad)));
	say("read fd 999: error %s", errname(wait_one(&bad)));
	twice("read fd 999", &bad);
	twice("read at EOF", &cb);
	return t_finish();
}
