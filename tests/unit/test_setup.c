/*
 * io_setup answers: EAGAIN (fs.aio-max-nr used up) makes kaio retry with a
 * smaller ring; ENOSYS makes it decline every request (-EOPNOTSUPP), which
 * the POSIX layer hands to glibc. One process per scenario: the engine
 * creates its context once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kaio.h"
#include "wrap.h"

static int read_once(void)
{
	static char buf[16];
	struct aiocb cb;
	const struct aiocb *l[1] = { &cb };
	ssize_t res;
	int fd = open("/proc/self/exe", O_RDONLY), r;

	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = fd;
	cb.aio_buf = buf;
	cb.aio_nbytes = sizeof buf;
	r = kaio_submit(&cb, KAIO_READ);
	if (r == 0) {
		while (kaio_error(&cb) == EINPROGRESS)
			kaio_suspend(l, 1, NULL);
		r = kaio_return(&cb, &res) == 0 && res == sizeof buf ? 0 : -1000;
	}
	close(fd);
	return r;
}

static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

static int smaller_ring(void)
{
	struct kaio_stats st;

	wrap.setup_max = 40;
	if (read_once())
		return 1;
	kaio_stats_get(&st);
	return st.depth == 32 ? 0 : 2;	/* 256 -> 128 -> 64 -> 32 */
}

static int no_kernel_aio(void)
{
	struct kaio_stats st;

	wrap.setup_err = -ENOSYS;
	if (read_once() != -EOPNOTSUPP)
		return 1;
	kaio_stats_get(&st);
	return st.ctx_error == -ENOSYS ? 0 : 2;
}

static void test_eagain_retries_smaller(void **state)
{
	(void)state;
	assert_int_equal(in_child(smaller_ring), 0);
}

static void test_enosys_declines(void **state)
{
	(void)state;
	assert_int_equal(in_child(no_kernel_aio), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eagain_retries_smaller),
		cmocka_unit_test(test_enosys_declines),
	};

	/* The engine is under test: its requests must not end on the hit path (test_inline.c). */
	setenv("KAIO_INLINE", "0", 1);
	unsetenv("KAIO_QUEUE_DEPTH");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
