/*
 * The kernel AIO calls, wrapped (-Wl,--wrap) so a test can script their
 * answers: short batches, EAGAIN, EINVAL, a failing io_setup; and
 * pthread_create, so that kaio's thread can fail to start; and getuid,
 * which kaio calls while it builds a signal's info. By default
 * every call goes to the real kernel and libc. Include once per test program.
 */
#ifndef KAIO_TEST_WRAP_H
#define KAIO_TEST_WRAP_H

#include <errno.h>
#include <libaio.h>
#include <pthread.h>
#include <unistd.h>

struct wrap_script {
	_Atomic int setup_err;		/* io_setup fails with this (negative) */
	_Atomic unsigned setup_max;	/* io_setup(n > setup_max) fails -EAGAIN */
	_Atomic int max_batch;		/* io_submit accepts at most this many (0: all) */
	_Atomic int submit_err;		/* next submit_err_count io_submit calls fail */
	_Atomic int submit_err_count;
	_Atomic int submit_err_always;	/* ... or every call while set */
	void (*_Atomic on_submit)(long n, struct iocb **iocbs);
	/* Called instead of the kernel when set (it may call __real_io_submit). */
	int (*_Atomic submit_hook)(io_context_t ctx, long n, struct iocb **iocbs);
	_Atomic unsigned long submit_calls, submitted, getevents_calls;
	_Atomic int thread_fail;	/* the next thread_fail pthread_create calls fail EAGAIN */
	void (*_Atomic on_getuid)(void);	/* called in getuid (a signal's si_uid) when set */
};

static struct wrap_script wrap;

int __real_io_setup(int n, io_context_t *ctx);
int __real_io_submit(io_context_t ctx, long n, struct iocb **iocbs);
int __real_io_getevents(io_context_t ctx, long min, long max, struct io_event *ev,
			struct timespec *ts);
int __real_io_cancel(io_context_t ctx, struct iocb *iocb, struct io_event *ev);
int __real_io_destroy(io_context_t ctx);
int __wrap_io_setup(int n, io_context_t *ctx);
int __wrap_io_submit(io_context_t ctx, long n, struct iocb **iocbs);
int __wrap_io_getevents(io_context_t ctx, long min, long max, struct io_event *ev,
			struct timespec *ts);
int __wrap_io_cancel(io_context_t ctx, struct iocb *iocb, struct io_event *ev);
int __wrap_io_destroy(io_context_t ctx);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			  void *arg);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			  void *arg);
uid_t __real_getuid(void);
uid_t __wrap_getuid(void);

int __wrap_io_setup(int n, io_context_t *ctx)
{
	if (wrap.setup_err)
		return wrap.setup_err;
	if (wrap.setup_max && (unsigned)n > wrap.setup_max)
		return -EAGAIN;
	return __real_io_setup(n, ctx);
}

int __wrap_io_submit(io_context_t ctx, long n, struct iocb **iocbs)
{
	int r;

	wrap.submit_calls++;
	if (wrap.submit_err_always || wrap.submit_err_count > 0) {
		wrap.submit_err_count--;
		return wrap.submit_err;
	}
	if (wrap.max_batch && n > wrap.max_batch)
		n = wrap.max_batch;
	if (wrap.on_submit)
		wrap.on_submit(n, iocbs);
	r = wrap.submit_hook ? wrap.submit_hook(ctx, n, iocbs) : __real_io_submit(ctx, n, iocbs);
	if (r > 0)
		wrap.submitted += (unsigned long)r;
	return r;
}

int __wrap_io_getevents(io_context_t ctx, long min, long max, struct io_event *ev,
			struct timespec *ts)
{
	wrap.getevents_calls++;
	return __real_io_getevents(ctx, min, max, ev, ts);
}

int __wrap_io_cancel(io_context_t ctx, struct iocb *iocb, struct io_event *ev)
{
	return __real_io_cancel(ctx, iocb, ev);
}

int __wrap_io_destroy(io_context_t ctx)
{
	return __real_io_destroy(ctx);
}

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			  void *arg)
{
	if (wrap.thread_fail > 0) {
		wrap.thread_fail--;
		return EAGAIN;
	}
	return __real_pthread_create(t, attr, fn, arg);
}

uid_t __wrap_getuid(void)
{
	if (wrap.on_getuid)
		wrap.on_getuid();
	return __real_getuid();
}

#endif
