/*
 * The hit path (src/inline.c) on a real kernel: what it serves in the
 * caller, what it leaves to the engine, and the promises it must keep
 * (order behind queued requests, in-flight refusal, cancel, signals raised
 * before the call returns, once, SIGEV_THREAD callbacks on kaio's thread
 * after it returns). io_submit is wrapped: a test that expects no kernel
 * AIO checks the call count, and the ring is made "full" with scripted
 * EAGAIN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kaio.h"
#include "engine.h"
#include "wrap.h"
#include "quiet.h"
#include "req.h"

#define BS 4096

static char path[] = "/tmp/kaio-inline-XXXXXX";
static int fd;

static unsigned long served(void)
{
	struct kaio_stats st;

	kaio_stats_get(&st);
	return st.inline_io;
}

static int setup(void **state)
{
	static char buf[4 * BS];

	(void)state;
	wait_single_threaded();
	memset(&wrap, 0, sizeof wrap);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (int i = 0; i < (int)sizeof buf; i++)
		buf[i] = (char)(i * 13 + 1);
	assert_int_equal(pwrite(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
	assert_int_equal(fsync(fd), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	memset(&wrap, 0, sizeof wrap);
	close(fd);
	unlink(path);
	strcpy(path, "/tmp/kaio-inline-XXXXXX");
	return 0;
}

/* A cached read: done before kaio_submit returns, no io_submit, data right. */
static void test_hit_read(void **state)
{
	char buf[BS] = { 0 }, want[BS];
	struct aiocb cb;
	unsigned long n0 = served(), calls;

	(void)state;
	assert_int_equal(pread(fd, want, BS, BS), BS);	/* cached now */
	calls = wrap.submit_calls;
	prep(&cb, fd, buf, BS, BS);
	assert_int_equal(kaio_submit(&cb, KAIO_READ), 0);
	assert_int_equal(cb.__error_code, 0);	/* done in the call */
	assert_int_equal(kaio_error(&cb), 0);
	assert_int_equal(result(&cb), BS);
	assert_memory_equal(buf, want, BS);
	assert_int_equal(served(), n0 + 1);
	assert_int_equal(wrap.submit_calls, calls);
	/* Its status was retrieved: a second aio_return fails, as for the engine. */
	ssize_t again;
	assert_int_equal(kaio_return(&cb, &again), -EINVAL);
	/* Done: nothing to cancel. */
	assert_int_equal(kaio_cancel(fd, &cb), AIO_ALLDONE);
}

/* The end of the file: a short count, final. */
static void test_eof(void **state)
{
	char buf[2 * BS] = { 0 };
	struct aiocb cb;
	unsigned long n0 = served();

	(void)state;
	prep(&cb, fd, buf, sizeof buf, 3 * BS + 100);
	assert_int_equal(kaio_submit(&cb, KAIO_READ), 0);
	assert_int_equal(result(&cb), BS - 100);
	prep(&cb, fd, buf, sizeof buf, 8 * BS);
	assert_int_equal(kaio_submit(&cb, KAIO_READ), 0);
	assert_int_equal(result(&cb), 0);
	assert_int_equal(served(), n0 + 2);
}

/*
 * A read whose first page is cached and the rest not: the hit path reads
 * what is cached and the engine the rest after it. (ext4 keeps large
 * folios: the uncached part starts on a 2 MiB boundary to be dropped.)
 */
static void test_partial_hit(void **state)
{
	const size_t mib = 1 << 20;
	char *big = malloc(4 * mib), buf[4 * BS];
	char bpath[] = "/tmp/kaio-inline-big-XXXXXX";
	struct aiocb cb;
	unsigned long n0 = served();
	int b = mkstemp(bpath);

	(void)state;
	assert_true(b >= 0 && big);
	for (size_t i = 0; i < 4 * mib; i++)
		big[i] = (char)(i * 7 + i / BS);
	assert_int_equal(pwrite(b, big, 4 * mib, 0), (ssize_t)(4 * mib));
	assert_int_equal(fsync(b), 0);
	assert_int_equal(posix_fadvise(b, 2 * mib, 2 * mib, POSIX_FADV_DONTNEED), 0);
	memset(buf, 0, sizeof buf);
	prep(&cb, b, buf, sizeof buf, 2 * mib - BS);
	assert_int_equal(kaio_submit(&cb, KAIO_READ), 0);
	assert_int_equal(result(&cb), (ssize_t)sizeof buf);
	assert_memory_equal(buf, big + 2 * mib - BS, sizeof buf);
	/* Not counted as done by the hit path: the engine finished it. */
	assert_int_equal(served(), n0);
	free(big);
	close(b);
	unlink(bpath);
}

/* O_DIRECT: the extra byte makes the kernel refuse it at once. */
static void test_direct_not_inline(void **state)
{
	struct aiocb cb;
	void *buf = NULL;
	int d = open(path, O_RDWR | O_DIRECT);
	unsigned long n0 = served(), calls = wrap.submit_calls;

	(void)state;
	if (d < 0)
		skip();
	assert_int_equal(posix_memalign(&buf, BS, BS), 0);
	prep(&cb, d, buf, BS, 0);
	assert_int_equal(kaio_submit(&cb, KAIO_READ), 0);
	assert_int_equal(result(&cb), BS);
	assert_int_equal(served(), n0);
	assert_true(wrap.submit_calls > calls);
	/* F_SETFL drops O_DIRECT: the next read may take the hit path. */
	assert_int_equal(fcntl(d, F_SETFL, fcntl(d, F_GETFL) & ~O_DIRECT), 0);
	for (int i = 0; i < 1000 && served() == n0; i++)
		io_times(d, KAIO_READ, buf, BS, 0, 1, BS);
	assert_true(served() > n0);
	/* And back: never inline again, at any count. */
	assert_int_equal(fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_DIRECT), 0);
	n0 = served();
	io_times(d, KAIO_READ, buf, BS, 0, 300, BS);
	assert_int_equal(served(), n0);
	free(buf);
	close(d);
}

/* Writes: inline once the engine saw a buffered file; data on disk. */
static void test_writes(void **state)
{
	char buf[BS], back[BS];
	unsigned long n0 = served();

	(void)state;
	for (int i = 0; i < 10; i++) {
		memset(buf, 'a' + i, BS);
		io_times(fd, KAIO_WRITE, buf, BS, (off_t)(i % 4) * BS, 1, BS);
		assert_int_equal(pread(fd, back, BS, (off_t)(i % 4) * BS), BS);
		assert_memory_equal(back, buf, BS);
	}
	assert_true(served() >= n0 + 8);

	/* O_SYNC and O_DIRECT writes never go inline. */
	int flags[] = { O_SYNC, O_DSYNC, O_DIRECT };
	for (int k = 0; k < 3; k++) {
		int s = open(path, O_RDWR | flags[k]);
		void *al = NULL;

		assert_true(s >= 0);
		assert_int_equal(posix_memalign(&al, BS, BS), 0);
		memset(al, 'z', BS);
		n0 = served();
		io_times(s, KAIO_WRITE, al, BS, 0, 5, BS);
		assert_int_equal(served(), n0);
		free(al);
		close(s);
	}
}

/* A file's number reused for a pipe: ESPIPE, and the engine writes it. */
static void test_reused_for_pipe(void **state)
{
	char buf[16] = "pipe bytes here", got[16];
	struct aiocb cb;
	int f = open(path, O_RDWR), p[2];

	(void)state;
	assert_true(f >= 0);
	for (int i = 0; i < 3; i++) {
		prep(&cb, f, buf, sizeof buf, 0);
		assert_int_equal(kaio_submit(&cb, KAIO_WRITE), 0);
		assert_int_equal(result(&cb), (ssize_t)sizeof buf);
	}
	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[1], f), f);
	unsigned long n0 = served();
	prep(&cb, f, buf, sizeof buf, 4096);
	assert_int_equal(kaio_submit(&cb, KAIO_WRITE), 0);
	assert_int_equal(result(&cb), (ssize_t)sizeof buf);
	assert_int_equal(served(), n0);
	assert_int_equal(read(p[0], got, sizeof got), (ssize_t)sizeof got);
	assert_memory_equal(got, buf, sizeof buf);
	close(p[0]);
	close(p[1]);
	close(f);
}

static int pipes[2];
static char pipe_byte;

/*
 * Requests waiting in kaio's queue for ring space (io_submit answers
 * EAGAIN while a poll is in the kernel) keep their place: a later request
 * on their fd waits behind them, and one on another fd does not.
 */
static void test_order_behind_queue(void **state)
{
	static char a[4] = "AAAA", b[4] = "BBBB", c[4] = "CCCC", got[12];
	struct aiocb pr, wa, wb, wc, *list[1] = { &wa };
	int app = open(path, O_WRONLY | O_APPEND | O_TRUNC), other;
	char other_path[] = "/tmp/kaio-inline-other-XXXXXX";

	(void)state;
	assert_true(app >= 0);
	other = mkstemp(other_path);
	assert_true(other >= 0);
	/*
	 * Both fds known as buffered files: their writes go inline (a number
	 * an O_SYNC fd had before waits for its next check).
	 */
	for (int i = 0; i < 2; i++) {
		unsigned long before = served();

		for (int k = 0; k < 400 && served() == before; k++) {
			prep(&wc, i ? other : app, c, 0, 0);
			assert_int_equal(kaio_submit(&wc, KAIO_WRITE), 0);
			assert_int_equal(result(&wc), 0);
		}
		assert_true(served() > before);
	}
	assert_int_equal(pipe(pipes), 0);
	prep(&pr, pipes[0], &pipe_byte, 1, 0);
	assert_int_equal(kaio_submit(&pr, KAIO_READ), 0);	/* a poll, in the kernel */
	wrap.submit_err = -EAGAIN;
	wrap.submit_err_always = 1;
	prep(&wa, app, a, sizeof a, 0);
	wa.aio_lio_opcode = LIO_WRITE;
	assert_int_equal(kaio_listio(LIO_NOWAIT, list, 1, NULL), 0);	/* queued */
	assert_int_equal(kaio_error(&wa), EINPROGRESS);
	/* Still queued: submitting it again is refused. */
	assert_int_equal(kaio_submit(&wa, KAIO_WRITE), -EINVAL);
	unsigned long n0 = served();
	prep(&wb, app, b, sizeof b, 0);
	assert_int_equal(kaio_submit(&wb, KAIO_WRITE), 0);
	assert_int_equal(kaio_error(&wb), EINPROGRESS);	/* behind wa */
	assert_int_equal(served(), n0);
	prep(&wc, other, c, sizeof c, 0);
	assert_int_equal(kaio_submit(&wc, KAIO_WRITE), 0);
	assert_int_equal(kaio_error(&wc), 0);	/* another fd: done at once */
	assert_int_equal(served(), n0 + 1);
	wrap.submit_err_always = 0;
	wrap.submit_err = 0;
	assert_int_equal(write(pipes[1], "x", 1), 1);
	assert_int_equal(result(&pr), 1);
	assert_int_equal(result(&wa), (ssize_t)sizeof a);
	assert_int_equal(result(&wb), (ssize_t)sizeof b);
	assert_int_equal(pread(fd, got, sizeof got, 0), 8);
	assert_memory_equal(got, "AAAABBBB", 8);
	close(pipes[0]);
	close(pipes[1]);
	close(app);
	close(other);
	unlink(other_path);
}

static volatile sig_atomic_t handled, handled_ok, handled_code;
static struct aiocb *sig_cb;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	handled++;
	handled_code = si->si_code;
	/* The result is final when the handler runs (async-signal-safe reads). */
	handled_ok = si->si_value.sival_ptr == sig_cb && kaio_error(sig_cb) == 0 &&
		     sig_cb->__return_value == BS;
}

/* on_signal handles SIGRTMIN + 1; fd's block 0 is cached. */
static void signal_setup(void)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	char buf[BS];

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGRTMIN + 1, &sa, NULL), 0);
	assert_int_equal(pread(fd, buf, BS, 0), BS);
}

/* cb reads fd's block 0 into buf with SIGRTMIN + 1 and its own address as value. */
static void prep_signal(struct aiocb *cb, char *buf)
{
	sig_cb = cb;
	handled = handled_ok = 0;
	prep(cb, fd, buf, BS, 0);
	cb->aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb->aio_sigevent.sigev_signo = SIGRTMIN + 1;
	cb->aio_sigevent.sigev_value.sival_ptr = cb;
}

/*
 * SIGEV_SIGNAL on the hit path: the handler runs before the call returns,
 * once, with the result final; with the signal blocked, the process gets
 * it pending and it is delivered once unblocked.
 */
static void test_signal_before_return(void **state)
{
	char buf[BS] = { 0 };
	struct aiocb cb;
	sigset_t set, pend;
	unsigned long n0 = served();

	(void)state;
	signal_setup();
	prep_signal(&cb, buf);
	assert_int_equal(kaio_submit(&cb, KAIO_READ), 0);
	assert_int_equal(handled, 1);	/* not by a later call */
	assert_int_equal(handled_ok, 1);
	assert_int_equal(handled_code, SI_ASYNCIO);
	assert_int_equal(served(), n0 + 1);
	usleep(20000);
	assert_int_equal(handled, 1);	/* once */
	assert_int_equal(result(&cb), BS);

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	prep_signal(&cb, buf);
	assert_int_equal(kaio_submit(&cb, KAIO_READ), 0);
	assert_int_equal(handled, 0);
	assert_int_equal(sigpending(&pend), 0);
	assert_true(sigismember(&pend, SIGRTMIN + 1));
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
	assert_int_equal(handled, 1);
	assert_int_equal(handled_ok, 1);
	assert_int_equal(result(&cb), BS);
	signal(SIGRTMIN + 1, SIG_DFL);
}

static struct aiocb other_use;

/* Another thread that saw the result and reused the aiocb at once, for another request. */
static void reuse_aiocb(void)
{
	wrap.on_getuid = NULL;
	sig_cb->aio_sigevent.sigev_value.sival_ptr = &other_use;
}

/*
 * The signal of a hit carries the sigevent the request was submitted with,
 * even when the aiocb is reused for another request between the moment its
 * result is out and the signal (simulated: kaio asks getuid for si_uid while
 * it builds the signal's info, after the result is published).
 */
static void test_signal_of_reused_aiocb(void **state)
{
	char buf[BS] = { 0 };
	struct aiocb cb;
	unsigned long n0 = served();

	(void)state;
	signal_setup();
	prep_signal(&cb, buf);
	wrap.on_getuid = reuse_aiocb;
	assert_int_equal(kaio_submit(&cb, KAIO_READ), 0);
	assert_null(wrap.on_getuid);	/* the signal was built */
	assert_int_equal(served(), n0 + 1);
	assert_int_equal(handled, 1);
	assert_int_equal(handled_ok, 1);	/* si_value is &cb, not &other_use */
	signal(SIGRTMIN + 1, SIG_DFL);
}

static int thread_calls, thread_tid, thread_final, thread_after;
static struct aiocb *thread_cb;
static pthread_mutex_t held;
static volatile int returned;

/*
 * Takes the lock the caller holds across its aio_* call: run in the
 * caller's thread inside the call, it would fail (EDEADLK) or hang (the
 * timeout is a hang guard only).
 */
static void on_thread(union sigval v)
{
	struct timespec end;
	ssize_t res = -2;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 10;
	if (pthread_mutex_timedlock(&held, &end) == 0) {
		__atomic_store_n(&thread_after, returned, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&held);
	}
	/* The result is final when the callback runs. */
	__atomic_store_n(&thread_final, v.sival_ptr == thread_cb && kaio_error(thread_cb) == 0 &&
			 kaio_return(thread_cb, &res) == 0 && res == BS, __ATOMIC_SEQ_CST);
	__atomic_store_n(&thread_tid, gettid(), __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&thread_calls, 1, __ATOMIC_SEQ_CST);
}

/*
 * SIGEV_THREAD on the hit path: a cached read and a buffered write are done
 * in the call (no io_submit, counted as inline), and the callback runs once,
 * on kaio's thread after the call returned, with the result final.
 */
static void test_sigev_thread_hit(void **state)
{
	pthread_mutexattr_t ma;
	char buf[BS] = { 0 }, want[BS];
	struct aiocb cb;
	unsigned long before = served();

	(void)state;
	assert_int_equal(pthread_mutexattr_init(&ma), 0);
	assert_int_equal(pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK), 0);
	assert_int_equal(pthread_mutex_init(&held, &ma), 0);
	assert_int_equal(pread(fd, want, BS, 0), BS);
	/*
	 * The fd known as a buffered file: its writes go inline (a number an
	 * O_SYNC fd had before waits for its next check).
	 */
	for (int i = 0; i < 400 && served() == before; i++)
		io_times(fd, KAIO_WRITE, want, BS, 0, 1, BS);
	for (int k = 0; k < 2; k++) {
		unsigned long n0 = served(), calls = wrap.submit_calls;

		thread_calls = thread_tid = thread_final = thread_after = 0;
		thread_cb = &cb;
		prep(&cb, fd, k ? want : buf, BS, 0);
		cb.aio_sigevent.sigev_notify = SIGEV_THREAD;
		cb.aio_sigevent.sigev_notify_function = on_thread;
		cb.aio_sigevent.sigev_value.sival_ptr = &cb;
		assert_int_equal(pthread_mutex_lock(&held), 0);
		returned = 0;
		assert_int_equal(kaio_submit(&cb, k ? KAIO_WRITE : KAIO_READ), 0);
		returned = 1;
		assert_int_equal(cb.__error_code, 0);	/* done in the call */
		assert_int_equal(served(), n0 + 1);
		assert_int_equal(wrap.submit_calls, calls);
		assert_int_equal(pthread_mutex_unlock(&held), 0);
		for (int i = 0; i < 5000 && !__atomic_load_n(&thread_calls, __ATOMIC_SEQ_CST); i++)
			usleep(1000);
		assert_int_equal(thread_calls, 1);
		assert_int_equal(thread_after, 1);	/* after the call returned */
		assert_int_not_equal(thread_tid, gettid());
		assert_int_equal(thread_final, 1);
		usleep(20000);
		assert_int_equal(thread_calls, 1);	/* once */
	}
	assert_memory_equal(buf, want, BS);
	pthread_mutex_destroy(&held);
	pthread_mutexattr_destroy(&ma);
}

/* KAIO_INLINE=0: everything goes through the engine (a process of its own). */
static int inline_off(void)
{
	char buf[BS] = { 0 };
	struct aiocb cb;

	setenv("KAIO_INLINE", "0", 1);
	if (pread(fd, buf, BS, 0) != BS)
		return 1;
	for (int i = 0; i < 5; i++) {
		prep(&cb, fd, buf, BS, 0);
		if (kaio_submit(&cb, KAIO_READ) || result(&cb) != BS)
			return 2;
	}
	return served() == 0 && wrap.submit_calls >= 5 ? 0 : 3;
}

static void test_switch_off(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0)
		_exit(inline_off());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_switch_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hit_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_not_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_for_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_behind_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_before_return, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signal_of_reused_aiocb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigev_thread_hit, setup, teardown),
	};

	unsetenv("KAIO_INLINE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
