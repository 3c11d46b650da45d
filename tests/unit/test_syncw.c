/*
 * Writes to O_SYNC and O_DSYNC files (src/syncw.c): the data goes in during
 * the call through a second description of the file, and the request
 * completes only when a kernel flush issued after it completes. io_submit
 * is wrapped so that a test can hold the flush and see the write wait.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kaio.h"
#include "engine.h"
#include "wrap.h"
#include "quiet.h"
#include "req.h"

#define BS 4096

static char path[] = "/tmp/kaio-syncw-XXXXXX";

/* Flushes io_submit saw, and those held back from the kernel. */
static int flush_ops[64], nflush;
static _Atomic int hold;
static struct iocb *held[16];
static int nheld;
static io_context_t held_ctx;

static int hook(io_context_t ctx, long n, struct iocb **iocbs)
{
	for (long i = 0; i < n; i++) {
		int op = iocbs[i]->aio_lio_opcode;

		if (op != IO_CMD_FSYNC && op != IO_CMD_FDSYNC)
			continue;
		if (nflush < 64)
			flush_ops[nflush++] = op;
		if (hold && n == 1 && nheld < 16) {
			held_ctx = ctx;
			held[nheld++] = iocbs[0];
			return 1;	/* "in the kernel": no event until released */
		}
	}
	return __real_io_submit(ctx, n, iocbs);
}

static void release(void)
{
	hold = 0;
	for (int i = 0; i < nheld; i++)
		assert_int_equal(__real_io_submit(held_ctx, 1, &held[i]), 1);
	nheld = 0;
}

static unsigned long syncw(void)
{
	struct kaio_stats st;

	kaio_stats_get(&st);
	return st.syncw;
}

static int setup(void **state)
{
	(void)state;
	wait_single_threaded();
	memset(&wrap, 0, sizeof wrap);
	wrap.submit_hook = hook;
	nflush = nheld = 0;
	hold = 0;
	strcpy(path, "/tmp/kaio-syncw-XXXXXX");
	close(mkstemp(path));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	memset(&wrap, 0, sizeof wrap);
	unlink(path);
	return 0;
}

/* kaio_syncw_write waits for a context: the first write makes one. */
static void warm(int fd)
{
	struct aiocb cb;

	prep(&cb, fd, "", 0, 0);
	assert_int_equal(kaio_submit(&cb, KAIO_WRITE), 0);
	assert_int_equal(result(&cb), 0);
}

/*
 * O_DSYNC: the data is in the file when aio_write returns, the request
 * waits for an FDSYNC issued after it, and only then completes.
 */
static void test_dsync_waits_for_flush(void **state)
{
	static char buf[BS], back[BS];
	struct aiocb cb;
	int fd = open(path, O_RDWR | O_DSYNC);
	unsigned long n0;

	(void)state;
	assert_true(fd >= 0);
	warm(fd);
	n0 = syncw();
	nflush = 0;
	memset(buf, 'd', BS);
	hold = 1;
	prep(&cb, fd, buf, BS, BS);
	assert_int_equal(kaio_submit(&cb, KAIO_WRITE), 0);
	assert_int_equal(pread(fd, back, BS, BS), BS);	/* in the page cache */
	assert_memory_equal(back, buf, BS);
	assert_int_equal(nflush, 1);
	assert_int_equal(flush_ops[0], IO_CMD_FDSYNC);
	assert_int_equal(nheld, 1);
	usleep(20000);
	assert_int_equal(kaio_error(&cb), EINPROGRESS);	/* its flush is held */
	assert_int_equal(kaio_cancel(fd, &cb), AIO_NOTCANCELED);
	release();
	assert_int_equal(result(&cb), BS);
	assert_int_equal(syncw(), n0 + 1);
	close(fd);
}

/* O_SYNC flushes with FSYNC. Several in flight, each its own flush. */
static void test_sync_fsync(void **state)
{
	static char buf[4][BS];
	struct aiocb cb[4];
	int fd = open(path, O_RDWR | O_SYNC);

	(void)state;
	assert_true(fd >= 0);
	warm(fd);
	nflush = 0;
	hold = 1;
	for (int i = 0; i < 4; i++) {
		memset(buf[i], '0' + i, BS);
		prep(&cb[i], fd, buf[i], BS, (off_t)i * BS);
		assert_int_equal(kaio_submit(&cb[i], KAIO_WRITE), 0);
	}
	assert_int_equal(nheld, 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(flush_ops[i], IO_CMD_FSYNC);
		assert_int_equal(kaio_error(&cb[i]), EINPROGRESS);
	}
	release();
	for (int i = 0; i < 4; i++)
		assert_int_equal(result(&cb[i]), BS);
	close(fd);
}

/* aio_fsync after a sync write waits for it; O_APPEND keeps call order. */
static void test_fsync_and_append_order(void **state)
{
	struct aiocb a, b, fs;
	char got[8];
	int fd = open(path, O_RDWR | O_DSYNC | O_APPEND);

	(void)state;
	assert_true(fd >= 0);
	warm(fd);
	hold = 1;
	prep(&a, fd, "AAAA", 4, 0);
	assert_int_equal(kaio_submit(&a, KAIO_WRITE), 0);
	prep(&b, fd, "BBBB", 4, 0);
	assert_int_equal(kaio_submit(&b, KAIO_WRITE), 0);
	hold = 0;
	prep(&fs, fd, NULL, 0, 0);
	assert_int_equal(kaio_submit(&fs, KAIO_FSYNC), 0);
	usleep(20000);
	assert_int_equal(kaio_error(&fs), EINPROGRESS);	/* behind a and b */
	hold = 1;
	release();
	assert_int_equal(result(&a), 4);
	assert_int_equal(result(&b), 4);
	assert_int_equal(result(&fs), 0);
	assert_int_equal(pread(fd, got, sizeof got, 0), 8);
	assert_memory_equal(got, "AAAABBBB", 8);
	close(fd);
}

/*
 * A sync fd's number reused for another file: its writes land in that
 * file, never through the old file's second description.
 */
static void test_reused_number(void **state)
{
	char other[] = "/tmp/kaio-syncw-other-XXXXXX", got[4];
	struct aiocb cb;
	int fd = open(path, O_RDWR | O_DSYNC), o, n;

	(void)state;
	assert_true(fd >= 0);
	warm(fd);
	prep(&cb, fd, "old!", 4, 0);
	assert_int_equal(kaio_submit(&cb, KAIO_WRITE), 0);
	assert_int_equal(result(&cb), 4);
	o = mkstemp(other);
	assert_true(o >= 0);
	for (int sync = 1; sync >= 0; sync--) {
		n = open(other, O_RDWR | (sync ? O_DSYNC : 0));
		assert_int_equal(dup2(n, fd), fd);
		close(n);
		prep(&cb, fd, sync ? "new1" : "new0", 4, 0);
		assert_int_equal(kaio_submit(&cb, KAIO_WRITE), 0);
		assert_int_equal(result(&cb), 4);
		assert_int_equal(pread(o, got, 4, 0), 4);
		assert_memory_equal(got, sync ? "new1" : "new0", 4);
	}
	n = open(path, O_RDONLY);
	assert_int_equal(pread(n, got, 4, 0), 4);
	assert_memory_equal(got, "old!", 4);
	close(n);
	close(o);
	close(fd);
	unlink(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dsync_waits_for_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_fsync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsync_and_append_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_number, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
