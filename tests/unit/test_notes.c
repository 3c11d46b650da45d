/*
 * Notes of requests the engine finished inside the submitting call
 * (src/notify.c, kaio_notes_here_and_unlock): with the hit path off, a
 * cached read or a buffered write completes inside io_submit, and its
 * SIGEV_SIGNAL or SIGEV_THREAD_ID must be handled before aio_read returns,
 * once, with the result final; a list's members and then the list itself
 * likewise; a blocked signal stays pending for the process; and a note
 * queued behind another one is left to kaio's thread, in order. The signal
 * goes to the calling thread whichever thread that is, and to the right
 * process in a child made by a raw clone(2), which no atfork handler sees.
 * With the hit path on (its tests turn it on): a SIGEV_THREAD request done
 * in the call hands its note to kaio's thread behind the notes before it,
 * and when that thread cannot be started (pthread_create wrapped), the
 * engine takes the request untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kaio.h"
#include "engine.h"
#include "wrap.h"
#include "quiet.h"
#include "req.h"

#define BS 4096
#define N 4
#define LISTVAL 100

static char path[] = "/tmp/kaio-notes-XXXXXX";
static int fd;
static char bufs[N][BS];
static struct aiocb cbs[N];

/* Each handled signal: its value, in handling order; and whether it was final. */
static int seq, order[2 * N + 2], not_final, bad_code;
static pid_t handler_tid;	/* the thread the last handler ran on */
static __thread int on_me;	/* handlers run on this thread */

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	int v = si->si_value.sival_int, n = __atomic_fetch_add(&seq, 1, __ATOMIC_SEQ_CST);

	(void)sig;
	(void)uc;
	__atomic_store_n(&handler_tid, gettid(), __ATOMIC_SEQ_CST);
	on_me++;
	if (n < (int)(sizeof order / sizeof order[0]))
		order[n] = v;
	if (si->si_code != SI_ASYNCIO)
		bad_code++;
	if (v >= 0 && v < N && (kaio_error(&cbs[v]) != 0 || cbs[v].__return_value != BS))
		not_final++;
}

static int setup(void **state)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO };
	static char data[N * BS];

	(void)state;
	wait_single_threaded();
	memset(&wrap, 0, sizeof wrap);
	seq = not_final = bad_code = 0;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGRTMIN + 2, &sa, NULL), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (int i = 0; i < (int)sizeof data; i++)
		data[i] = (char)(i * 7 + 3);
	assert_int_equal(pwrite(fd, data, sizeof data, 0), (ssize_t)sizeof data);
	assert_int_equal(pread(fd, data, sizeof data, 0), (ssize_t)sizeof data);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	wait_single_threaded();	/* a late note, should one come, is handled */
	kaio_config.inline_io = 0;
	wrap.thread_fail = 0;
	signal(SIGRTMIN + 2, SIG_DFL);
	close(fd);
	unlink(path);
	strcpy(path, "/tmp/kaio-notes-XXXXXX");
	return 0;
}

/*
 * n signals handled by now: at once, or under ThreadSanitizer, which holds
 * a signal until its next interceptor, once they were let in.
 */
static int handled_by_now(int n)
{
#ifdef __SANITIZE_THREAD__
	for (int i = 0; i < 2000 && __atomic_load_n(&seq, __ATOMIC_SEQ_CST) < n; i++)
		usleep(1000);
#else
	(void)n;
#endif
	return __atomic_load_n(&seq, __ATOMIC_SEQ_CST);
}

static void prep_sig(int i, int notify)
{
	prep(&cbs[i], fd, bufs[i], BS, (off_t)i * BS);
	cbs[i].aio_sigevent.sigev_notify = notify;
	cbs[i].aio_sigevent.sigev_signo = SIGRTMIN + 2;
	cbs[i].aio_sigevent.sigev_value.sival_int = i;
	if (notify == SIGEV_THREAD_ID)
		cbs[i].aio_sigevent._sigev_un._tid = gettid();
}

/* A read and a write on the engine, done inside io_submit: handled in the call. */
static void test_signal_in_call(void **state)
{
	unsigned long submits;

	(void)state;
	prep_sig(0, SIGEV_SIGNAL);
	assert_int_equal(kaio_submit(&cbs[0], KAIO_READ), 0);
	assert_true(wrap.submit_calls > 0);	/* the engine's, not the hit path's */
	assert_int_equal(handled_by_now(1), 1);	/* before kaio_submit returned */
	assert_int_equal(order[0], 0);
	assert_int_equal(not_final, 0);
	assert_int_equal(bad_code, 0);

	submits = wrap.submit_calls;
	prep_sig(1, SIGEV_SIGNAL);
	assert_int_equal(kaio_submit(&cbs[1], KAIO_WRITE), 0);
	assert_true(wrap.submit_calls > submits);
	assert_int_equal(handled_by_now(2), 2);
	assert_int_equal(order[1], 1);
	assert_int_equal(not_final, 0);
	usleep(20000);
	assert_int_equal(seq, 2);		/* once: kaio's thread sends nothing more */
	assert_int_equal(result(&cbs[0]), BS);
	assert_int_equal(result(&cbs[1]), BS);
}

/* SIGEV_THREAD_ID naming the caller: handled in the call as well. */
static void test_thread_id_in_call(void **state)
{
	(void)state;
	prep_sig(2, SIGEV_THREAD_ID);
	assert_int_equal(kaio_submit(&cbs[2], KAIO_READ), 0);
	assert_int_equal(handled_by_now(1), 1);
	assert_int_equal(order[0], 2);
	assert_int_equal(not_final, 0);
	usleep(20000);
	assert_int_equal(seq, 1);
	assert_int_equal(result(&cbs[2]), BS);
}

/* Blocked in the caller: pending for the process, handled once unblocked. */
static void test_blocked_pending(void **state)
{
	sigset_t set, pend;

	(void)state;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
	prep_sig(0, SIGEV_SIGNAL);
	assert_int_equal(kaio_submit(&cbs[0], KAIO_READ), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(sigpending(&pend), 0);
	assert_true(sigismember(&pend, SIGRTMIN + 2));
	assert_int_equal(pthread_sigmask(SIG_UNBLOCK, &set, NULL), 0);
	assert_int_equal(handled_by_now(1), 1);
	assert_int_equal(not_final, 0);
	assert_int_equal(result(&cbs[0]), BS);
}

/* lio_listio(LIO_NOWAIT): every member's signal, then the list's, in the call. */
static void test_list_in_call(void **state)
{
	struct aiocb *list[N];
	struct sigevent sev;

	(void)state;
#ifdef __SANITIZE_THREAD__
	skip();	/* ThreadSanitizer holds one pending instance of a signal number */
#endif
	for (int i = 0; i < N; i++) {
		prep_sig(i, SIGEV_SIGNAL);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 2;
	sev.sigev_value.sival_int = LISTVAL;
	assert_int_equal(kaio_listio(LIO_NOWAIT, list, N, &sev), 0);
	assert_int_equal(handled_by_now(N + 1), N + 1);
	assert_int_equal(order[N], LISTVAL);	/* the list's last */
	for (int i = 0; i < N; i++)
		assert_int_not_equal(order[i], LISTVAL);
	assert_int_equal(not_final, 0);
	usleep(20000);
	assert_int_equal(seq, N + 1);
	for (int i = 0; i < N; i++)
		assert_int_equal(result(&cbs[i]), BS);
}

static sem_t gate, entered;
static int thread_seq = -1;

static void on_gate(union sigval v)
{
	struct timespec end;

	(void)v;
	sem_post(&entered);
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 10;	/* a hang guard: in the caller's thread, it never opens */
	while (sem_timedwait(&gate, &end) && errno == EINTR)
		;
}

static void on_second(union sigval v)
{
	(void)v;
	__atomic_store_n(&thread_seq, __atomic_fetch_add(&seq, 1, __ATOMIC_SEQ_CST),
			 __ATOMIC_SEQ_CST);
}

/*
 * A note behind another one stays with kaio's thread: while its first
 * callback waits, a second SIGEV_THREAD note heads the queue, and a signal
 * finished inside a later call is not raised there but after that note.
 */
static void test_behind_other_note(void **state)
{
	struct aiocb t1, t2;
	char b1[BS], b2[BS];

	(void)state;
	assert_int_equal(sem_init(&gate, 0, 0), 0);
	assert_int_equal(sem_init(&entered, 0, 0), 0);
	prep(&t1, fd, b1, BS, 0);
	t1.aio_sigevent.sigev_notify = SIGEV_THREAD;
	t1.aio_sigevent.sigev_notify_function = on_gate;
	assert_int_equal(kaio_submit(&t1, KAIO_READ), 0);
	assert_int_equal(sem_wait(&entered), 0);	/* kaio's thread is in on_gate */

	prep(&t2, fd, b2, BS, BS);
	t2.aio_sigevent.sigev_notify = SIGEV_THREAD;
	t2.aio_sigevent.sigev_notify_function = on_second;
	assert_int_equal(kaio_submit(&t2, KAIO_READ), 0);
	wait_one(&t2);
	prep_sig(3, SIGEV_SIGNAL);
	assert_int_equal(kaio_submit(&cbs[3], KAIO_READ), 0);
	wait_one(&cbs[3]);
	assert_int_equal(seq, 0);	/* behind t2's note: not raised in the call */

	assert_int_equal(sem_post(&gate), 0);
	for (int i = 0; i < 5000 && __atomic_load_n(&seq, __ATOMIC_SEQ_CST) < 2; i++)
		usleep(1000);
	assert_int_equal(seq, 2);
	assert_int_equal(__atomic_load_n(&thread_seq, __ATOMIC_SEQ_CST), 0);	/* t2's first */
	assert_int_equal(order[1], 3);
	assert_int_equal(not_final, 0);
	assert_int_equal(result(&t1), BS);
	assert_int_equal(result(&t2), BS);
	assert_int_equal(result(&cbs[3]), BS);
	sem_destroy(&gate);
	sem_destroy(&entered);
}

/* The hit path (src/inline.c) on or off, for the request made next. */
static void hit_path(int on)
{
	kaio_engine_init();
	kaio_config.inline_io = on;
}

static unsigned long hits(void)
{
	struct kaio_stats st;

	kaio_stats_get(&st);
	return st.inline_io;
}

/*
 * SIGEV_THREAD callbacks, in the order they ran: their sival_int; counted
 * in thread_runs once recorded.
 */
static int thread_order[N + 2], thread_slot, thread_runs, thread_on_main, thread_early;
static pid_t main_tid;

static void on_record(union sigval v)
{
	int n = __atomic_fetch_add(&thread_slot, 1, __ATOMIC_SEQ_CST);

	if (n < (int)(sizeof thread_order / sizeof thread_order[0]))
		thread_order[n] = v.sival_int;
	if (gettid() == main_tid)
		__atomic_fetch_add(&thread_on_main, 1, __ATOMIC_SEQ_CST);
	if (v.sival_int >= 0 && v.sival_int < N && kaio_error(&cbs[v.sival_int]) != 0)
		__atomic_fetch_add(&thread_early, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&thread_runs, 1, __ATOMIC_SEQ_CST);
}

static void prep_thread(struct aiocb *cb, char *buf, int i, void (*fn)(union sigval))
{
	prep(cb, fd, buf, BS, (off_t)(i % N) * BS);
	cb->aio_sigevent.sigev_notify = SIGEV_THREAD;
	cb->aio_sigevent.sigev_notify_function = fn;
	cb->aio_sigevent.sigev_value.sival_int = i;
}

static int runs_by_now(int n)
{
	for (int i = 0; i < 5000 && __atomic_load_n(&thread_runs, __ATOMIC_SEQ_CST) < n; i++)
		usleep(1000);
	return __atomic_load_n(&thread_runs, __ATOMIC_SEQ_CST);
}

/*
 * A SIGEV_THREAD request of the hit path hands its note to kaio's thread
 * behind the notes queued before it: while a callback blocks kaio's thread,
 * an engine request's note waits, then a hit-path request is done in the
 * call (aio_error 0, aio_suspend returns at once, aio_cancel says
 * AIO_ALLDONE) and its aiocb is submitted again before its note went out;
 * the notes go out in that order, each once, none on the caller's thread.
 */
static void test_thread_hit_in_order(void **state)
{
	struct aiocb gate_cb;
	const struct aiocb *l[1] = { &cbs[2] };
	struct timespec zero = { 0, 0 };
	char gb[BS];
	unsigned long n0, calls;

	(void)state;
	main_tid = gettid();
	thread_slot = thread_runs = thread_on_main = thread_early = 0;
	assert_int_equal(sem_init(&gate, 0, 0), 0);
	assert_int_equal(sem_init(&entered, 0, 0), 0);
	hit_path(1);
	prep_thread(&gate_cb, gb, N, on_gate);
	assert_int_equal(kaio_submit(&gate_cb, KAIO_READ), 0);
	assert_int_equal(sem_wait(&entered), 0);	/* kaio's thread is in on_gate */

	hit_path(0);
	calls = wrap.submit_calls;
	prep_thread(&cbs[1], bufs[1], 1, on_record);
	assert_int_equal(kaio_submit(&cbs[1], KAIO_READ), 0);
	assert_true(wrap.submit_calls > calls);	/* the engine's */
	wait_one(&cbs[1]);			/* done: its note is queued */

	hit_path(1);
	n0 = hits();
	calls = wrap.submit_calls;
	prep_thread(&cbs[2], bufs[2], 2, on_record);
	assert_int_equal(kaio_submit(&cbs[2], KAIO_READ), 0);
	assert_int_equal(hits(), n0 + 1);
	assert_int_equal(wrap.submit_calls, calls);
	assert_int_equal(kaio_error(&cbs[2]), 0);
	assert_int_equal(kaio_suspend(l, 1, &zero), 0);
	assert_int_equal(kaio_cancel(fd, &cbs[2]), AIO_ALLDONE);
	assert_int_equal(kaio_cancel(fd, NULL), AIO_ALLDONE);
	assert_int_equal(result(&cbs[2]), BS);
	/* The same aiocb again, its first note still queued. */
	cbs[2].aio_sigevent.sigev_value.sival_int = 3;
	assert_int_equal(kaio_submit(&cbs[2], KAIO_READ), 0);
	assert_int_equal(hits(), n0 + 2);
	assert_int_equal(kaio_error(&cbs[2]), 0);
	assert_int_equal(thread_runs, 0);

	assert_int_equal(sem_post(&gate), 0);
	assert_int_equal(runs_by_now(3), 3);
	assert_int_equal(thread_order[0], 1);	/* the engine's, queued first */
	assert_int_equal(thread_order[1], 2);
	assert_int_equal(thread_order[2], 3);
	assert_int_equal(thread_on_main, 0);
	assert_int_equal(thread_early, 0);
	usleep(20000);
	assert_int_equal(thread_runs, 3);		/* once each */
	assert_int_equal(result(&gate_cb), BS);
	assert_int_equal(result(&cbs[1]), BS);
	assert_int_equal(result(&cbs[2]), BS);
	sem_destroy(&gate);
	sem_destroy(&entered);
}

/*
 * kaio's thread cannot be started: the hit path leaves the request to the
 * engine before doing anything, which serves it once the thread starts
 * there, or refuses it (EAGAIN, as glibc) with nothing read and no
 * callback when it cannot start either.
 */
static void test_thread_hit_no_thread(void **state)
{
	static char pattern[BS];
	unsigned long n0, calls;

	int running;

	(void)state;
	main_tid = gettid();
	thread_slot = thread_runs = thread_on_main = thread_early = 0;
	hit_path(1);
	memset(pattern, 0x5a, BS);
	kaio_lock();
	running = eng.notifier;
	kaio_unlock();
	assert_int_equal(running, 0);	/* its first request starts kaio's thread */

	/* The first pthread_create fails: the engine's succeeds. */
	n0 = hits();
	calls = wrap.submit_calls;
	wrap.thread_fail = 1;
	memcpy(bufs[0], pattern, BS);
	prep_thread(&cbs[0], bufs[0], 0, on_record);
	assert_int_equal(kaio_submit(&cbs[0], KAIO_READ), 0);
	assert_int_equal(wrap.thread_fail, 0);
	assert_int_equal(hits(), n0);
	assert_true(wrap.submit_calls > calls);
	assert_int_equal(runs_by_now(1), 1);
	assert_int_equal(result(&cbs[0]), BS);
	assert_memory_not_equal(bufs[0], pattern, BS);
	wait_single_threaded();

	/* Both fail: refused, untouched, never announced. */
	n0 = hits();
	wrap.thread_fail = 2;
	memcpy(bufs[1], pattern, BS);
	prep_thread(&cbs[1], bufs[1], 1, on_record);
	assert_int_equal(kaio_submit(&cbs[1], KAIO_READ), -EAGAIN);
	assert_int_equal(wrap.thread_fail, 0);
	assert_int_equal(hits(), n0);
	assert_memory_equal(bufs[1], pattern, BS);
	usleep(50000);
	assert_int_equal(thread_runs, 1);

	/* And then it starts: served by the hit path, announced once. */
	assert_int_equal(kaio_submit(&cbs[1], KAIO_READ), 0);
	assert_int_equal(hits(), n0 + 1);
	assert_int_equal(runs_by_now(2), 2);
	assert_int_equal(thread_order[1], 1);
	assert_int_equal(thread_on_main, 0);
	assert_int_equal(thread_early, 0);
	assert_int_equal(result(&cbs[1]), BS);
}

struct other {
	int block;
	pid_t tid;
	int seen;	/* signals handled on the thread when kaio_submit returned */
};

static void *other_thread(void *arg)
{
	struct other *o = arg;
	sigset_t set;

	o->tid = gettid();
	if (o->block) {
		sigemptyset(&set);
		sigaddset(&set, SIGRTMIN + 2);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	prep_sig(1, SIGEV_SIGNAL);
	if (kaio_submit(&cbs[1], KAIO_READ) != 0) {
		o->seen = -1;
		return NULL;
	}
	if (!o->block)
		handled_by_now(1);
	o->seen = on_me;
	return NULL;
}

/*
 * A thread other than the process's first: its signal is handled on it,
 * inside the call; when it blocks the signal, another thread (here the
 * first, waiting in pthread_join) gets it.
 */
static void test_other_thread(void **state)
{
	struct other o = { 0 };
	pthread_t t;

	(void)state;
	hit_path(0);	/* the engine's path, where kaio's thread could reap first */
	assert_int_equal(pthread_create(&t, NULL, other_thread, &o), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(o.seen, 1);
	assert_int_equal(seq, 1);
	assert_int_not_equal(o.tid, getpid());
	assert_int_equal(not_final, 0);

	seq = 0;
	handler_tid = 0;
	o.block = 1;
	assert_int_equal(pthread_create(&t, NULL, other_thread, &o), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(o.seen, 0);
	for (int i = 0; i < 5000 && __atomic_load_n(&seq, __ATOMIC_SEQ_CST) < 1; i++)
		usleep(1000);	/* a hang guard only */
	assert_int_equal(seq, 1);
	assert_int_equal(handler_tid, getpid());
	assert_int_equal(not_final, 0);
	assert_int_equal(result(&cbs[1]), BS);
}

/*
 * kaio learns a thread's id once. A child made by clone(2) without
 * pthread_atfork's knowledge still has its parent's: the signal raised in
 * its call must still reach it, in the call, and not be lost.
 */
static void test_raw_clone_child(void **state)
{
	struct sigevent sev;
	int status;
	long pid;

	(void)state;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 2;
	sev.sigev_value.sival_int = -1;
	kaio_sigev_raise_here(&sev);	/* learns this thread's id */
	assert_int_equal(handled_by_now(1), 1);
	pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		kaio_sigev_raise_here(&sev);
		_exit(handled_by_now(2) == 2 && handler_tid == (pid_t)syscall(SYS_gettid) ? 0 : 1);
	}
	assert_int_equal(waitpid((pid_t)pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(seq, 1);	/* nothing came to the parent */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signal_in_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_id_in_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_in_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_behind_other_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_hit_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_hit_no_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_clone_child, setup, teardown),
	};

	/* The engine's path: the hit path would finish these without it. */
	setenv("KAIO_INLINE", "0", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
