/* aio_return and aio_error on aiocbs in the wrong state. Where the answers
 * differ on purpose they are measure lines, checked by run.sh's rules:
 *   - a zeroed aiocb no implementation ever saw: glibc reads its fields
 *     (aio_return 0, aio_error 0); kaio -1 EINVAL for both
 *     (measure: unknown_return, unknown_error);
 *   - an aiocb full of 0xff bytes, never submitted: glibc gives the fields
 *     (-1 with errno untouched, and -1); kaio -1 EINVAL
 *     (measure: garbage_return, garbage_error; informative);
 *   - aio_return while the request is still in progress (a pipe read):
 *     glibc gives the field (0), kaio -1 EINVAL (measure: inprogress_return);
 *   - aio_return twice (measure: second_return, run.sh's existing rule);
 * Compared: a completed aiocb copied with memcpy before aio_return answers
 * with the same result through the copy and through the original; aio_error
 * after aio_return on a completed request is still its code (0 or EBADF);
 * the pipe read, once data arrives, completes right after all this.
 * Threads: measure threads_none (kaio: 1). */
#include "common.h"

static const char *ret_str(ssize_t r, int e)
{
	static char buf[64];
	if (r == -1)
		snprintf(buf, sizeof buf, "-1 %s", errname(e));
	else
		snprintf(buf, sizeof buf, "%zd", r);
	return buf;
}

#define RET(call)                                                             \
	({                                                                    \
		errno = 0;                                                    \
		ssize_t r_ = (call);                                          \
		ret_str(r_, errno);                                           \
	})

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("misuse_return");
	make_pat_file(path, 8192, 5);
	int fd = xopen(path, O_RDWR);
	char buf[4096];

	struct aiocb zero;
	memset(&zero, 0, sizeof zero);
	zero.aio_fildes = fd;
	zero.aio_buf = buf;
	zero.aio_nbytes = 100;
	say("measure: unknown_error %s", RC(aio_error(&zero)));
	say("measure: unknown_return %s", RET(aio_return(&zero)));

	struct aiocb garbage;
	memset(&garbage, 0xff, sizeof garbage);
	say("measure: garbage_error %s", RC(aio_error(&garbage)));
	say("measure: garbage_return %s", RET(aio_return(&garbage)));

	/* in progress */
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c = 0;
	struct aiocb pr;
	setup_cb(&pr, p[0], &c, 1, 0);
	say("pipe read: %s", RC(aio_read(&pr)));
	usleep(20000);
	say("pipe read: %s", errname(aio_error(&pr)));
	say("measure: inprogress_return %s", RET(aio_return(&pr)));
	say("measure: threads_none %d", count_threads());

	/* completed, copied before aio_return */
	struct aiocb cb, copy;
	setup_cb(&cb, fd, buf, 1000, 100);
	say("file read: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	memcpy(&copy, &cb, sizeof cb);
	say("copy: aio_error %s", errname(aio_error(&copy)));
	say("copy: aio_return %s", RET(aio_return(&copy)));
	say("original: aio_error %s", errname(aio_error(&cb)));
	say("original: aio_return %s", RET(aio_return(&cb)));
	say("original after aio_return: aio_error %s", errname(aio_error(&cb)));
	errno = 0;
	ssize_t r2 = aio_return(&cb);
	int e2 = errno;
	say("measure: second_return %s", r2 == 1000 && e2 == 0 ? "same" : ret_str(r2, e2));

	/* a failed request: aio_error after aio_return */
	struct aiocb bad;
	setup_cb(&bad, 999, buf, 10, 0);
	say("fd 999 read: %s", RC(aio_read(&bad)));
	say("fd 999 read: error %s", errname(wait_one(&bad)));
	say("fd 999 read: aio_return %s", RET(aio_return(&bad)));
	say("fd 999 after aio_return: aio_error %s", errname(aio_error(&bad)));

	/* the pending read still ends right */
	if (write(p[1], "k", 1) != 1)
		DIE("write");
	wait_one(&pr);
	say("pipe read: %s byte %c", result(&pr), c ? c : '?');
	say("measure: threads_none %d", count_threads());
	return t_finish();
}
