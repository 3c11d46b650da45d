/* aio_cancel's exact answers, compared with glibc:
 *   bad fd -> -1 EBADF (with and without an aiocb);
 *   aiocbp->aio_fildes != fd -> -1 EINVAL;
 *   a request already completed (with and without aio_return) -> AIO_ALLDONE,
 *   and its result is untouched;
 *   aio_cancel(fd, NULL) with nothing outstanding -> AIO_ALLDONE, also on a
 *   fd that never had a request;
 *   an aiocb never submitted -> AIO_ALLDONE;
 *   a request on another fd is not affected by aio_cancel(fd, NULL).
 *   a pending pipe read: glibc's helper thread is blocked in read(), so
 *   AIO_NOTCANCELED (measured, not compared: kaio may cancel a pending
 *   poll, as DESIGN.md says), and it completes or is canceled correctly. */
#include "common.h"

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("cancel");
	make_pat_file(path, 65536, 9);
	int fd = xopen(path, O_RDWR);
	int fd2 = xopen(path, O_RDONLY);
	int closed = 500;
	if (dup2(fd, closed) != closed)
		DIE("dup2");
	close(closed);
	char buf[4096];
	struct aiocb cb;
	setup_cb(&cb, fd, buf, sizeof buf, 0);

	say("fd 999, NULL: %s", RC(aio_cancel(999, NULL)));
	say("fd -1, NULL: %s", RC(aio_cancel(-1, NULL)));
	say("closed fd, NULL: %s", RC(aio_cancel(closed, NULL)));
	struct aiocb bad;
	setup_cb(&bad, 999, buf, 1, 0);
	say("fd 999, aiocb on 999: %s", RC(aio_cancel(999, &bad)));
	say("fd mismatch: %s", RC(aio_cancel(fd2, &cb)));
	say("fd mismatch, bad fd: %s", RC(aio_cancel(999, &cb)));
	say("never submitted: %s", cancelname(aio_cancel(fd, &cb)));
	say("nothing outstanding, NULL: %s", cancelname(aio_cancel(fd, NULL)));
	say("fd without requests, NULL: %s", cancelname(aio_cancel(fd2, NULL)));

	say("read: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("completed, before aio_return: %s", cancelname(aio_cancel(fd, &cb)));
	say("completed, NULL: %s", cancelname(aio_cancel(fd, NULL)));
	say("result still: error %s", errname(aio_error(&cb)));
	say("read: %s", result(&cb));
	say("completed, after aio_return: %s", cancelname(aio_cancel(fd, &cb)));
	say("completed after aio_return, NULL: %s", cancelname(aio_cancel(fd, NULL)));
	say("data %s", check_pat(buf, sizeof buf, 0, 9) < 0 ? "ok" : "DIFFERS");

	/* Failed request: done too. */
	say("read fd 999: %s", RC(aio_read(&bad)));
	wait_one(&bad);
	say("failed request, aiocb: %s", RC(aio_cancel(999, &bad)));
	say("read fd 999: %s", result(&bad));

	/* A pending pipe read, and a file request that completes beside it. */
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c = 0;
	struct aiocb pr;
	setup_cb(&pr, p[0], &c, 1, 0);
	say("pipe read: %s", RC(aio_read(&pr)));
	say("read: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("file fd, NULL, pipe pending: %s", cancelname(aio_cancel(fd, NULL)));
	say("pipe read still: %s", errname(aio_error(&pr)));
	say("read: %s", result(&cb));
	int r = aio_cancel(p[0], &pr);
	say("measure: cancel_pending_pipe %s", cancelname(r));
	int e = aio_error(&pr);
	if (r == AIO_CANCELED) {
		CHECK(e == ECANCELED, "canceled, but aio_error %s", errname(e));
		CHECK(aio_return(&pr) == -1, "canceled, aio_return not -1");
	} else {
		CHECK(r == AIO_NOTCANCELED, "%s", cancelname(r));
		if (write(p[1], "k", 1) != 1)
			DIE("write");
		CHECK(wait_one(&pr) == 0, "pipe read error");
		CHECK(aio_return(&pr) == 1 && c == 'k', "pipe read result");
	}
	say("pending pipe read: ended right");
	return t_finish();
}
