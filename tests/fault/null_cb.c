/* A NULL aiocb pointer. argv[1]: scratch directory, argv[2]: the call
 * (aio_read, aio_write, aio_error, aio_return, aio_fsync, aio_read64,
 * aio_error64, aio_return64). Prints
 * "CALL: ANSWER" ("-1 EINVAL") and then does a round trip to show AIO
 * still works. glibc dereferences the pointer and dies with SIGSEGV;
 * tests/fault.sh requires a clean -1 EINVAL or EFAULT of kaio. */
#include "../prog/common.h"

static struct aiocb *volatile nullcb;
static struct aiocb64 *volatile nullcb64;

int main(int argc, char **argv)
{
	t_init(argc, argv);
	if (argc < 3)
		DIE("usage: null_cb DIR CALL");
	const char *c = argv[2];
	const char *ans;
	if (!strcmp(c, "aio_read"))
		ans = RC(aio_read(nullcb));
	else if (!strcmp(c, "aio_write"))
		ans = RC(aio_write(nullcb));
	else if (!strcmp(c, "aio_error"))
		ans = RC(aio_error(nullcb));
	else if (!strcmp(c, "aio_return"))
		ans = RC((int)aio_return(nullcb));
	else if (!strcmp(c, "aio_fsync"))
		ans = RC(aio_fsync(O_SYNC, nullcb));
	else if (!strcmp(c, "aio_read64"))
		ans = RC(aio_read64(nullcb64));
	else if (!strcmp(c, "aio_error64"))
		ans = RC(aio_error64(nullcb64));
	else if (!strcmp(c, "aio_return64"))
		ans = RC((int)aio_return64(nullcb64));
	else
		DIE("unknown call %s", c);
	say("%s: %s", c, ans);
	char *p = tpath("null_cb");
	int fd = xopen(p, O_RDWR | O_CREAT | O_TRUNC);
	char w[16] = "after", r[16] = "";
	struct aiocb cb;
	setup_cb(&cb, fd, w, sizeof w, 0);
	int ok = !aio_write(&cb) && !wait_one(&cb) && aio_return(&cb) == sizeof w;
	setup_cb(&cb, fd, r, sizeof r, 0);
	ok = ok && !aio_read(&cb) && !wait_one(&cb) && aio_return(&cb) == sizeof r && !strcmp(r, "after");
	say("round trip after: %s", ok ? "ok" : "WRONG");
	return ok ? 0 : 1;
}
