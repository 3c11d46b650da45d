/*
 * The POSIX boundary: the 17 exported names, argument checks that glibc makes
 * at once, errno, and glibc's own implementation (dlsym RTLD_NEXT) for the
 * requests the engine does not serve. Once a request went to glibc, every
 * later call on its aiocb goes there too (the engine tags the aiocb).
 *
 * i386: glibc's struct aiocb holds a 32-bit aio_offset followed by 4 bytes
 * of padding where struct aiocb64 holds a 64-bit one; every other field is
 * at the same offset (asserted below), so aio_read and aio_read64 are two
 * functions there, and aio_write, lio_listio too. The engine is built with
 * _FILE_OFFSET_BITS=64 and reads every aiocb as the 64-bit layout; this file
 * alone is built without it, sees both, and has the plain names widen the
 * 32-bit offset in place first: its sign goes into the padding, which is
 * glibc's private field as __error_code is, so pad garbage never becomes
 * offset bits. Requests handed to glibc then go to its *64 functions, which
 * read the same widened offset. On x86_64 both layouts are one and the
 * padding is empty.
 */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kaio.h"

#define EXPORT __attribute__((visibility("default")))

#define REAL_FUNCS(X)                                                          \
	X(int, aio_read64, (struct aiocb *))                                   \
	X(int, aio_write64, (struct aiocb *))                                  \
	X(int, aio_fsync64, (int, struct aiocb *))                             \
	X(ssize_t, aio_return64, (struct aiocb *))                             \
	X(int, aio_cancel64, (int, struct aiocb *))                            \
	X(int, lio_listio64, (int, struct aiocb *const[], int, struct sigevent *)) \
	X(void, aio_init, (const struct aioinit *))

#define DECLARE(ret, name, args) ret(*name) args;
static struct {
	REAL_FUNCS(DECLARE)
} real;

static void real_resolve(void)
{
#define RESOLVE(ret, name, args) real.name = (ret(*) args)dlsym(RTLD_NEXT, #name);
	REAL_FUNCS(RESOLVE)
}

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

/* glibc is needed only for requests kaio does not serve: resolved on first need. */
#define REAL(name) (pthread_once(&real_once, real_resolve), real.name)

/*
 * <aio.h> declares the aiocb arguments nonnull, so the compiler would drop a
 * plain test: the pointer goes through an empty asm first. A NULL aiocb
 * crashes glibc; kaio answers EINVAL, as for any aiocb it does not know.
 */
static inline int null(const void *p)
{
	__asm__("" : "+r"(p));
	return !p;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* A plain-name aiocb: its 32-bit offset made the 64-bit one (i386). */
static void widen(struct aiocb *cb)
{
	int64_t sign = cb->aio_offset < 0 ? -1 : 0;

	memcpy(cb->__pad, &sign, sizeof cb->__pad);
}

static int submit(struct aiocb *cb, enum kaio_op op)
{
	int r;

	if (null(cb))
		return fail(EINVAL);
	if (op <= KAIO_WRITE &&
	    (cb->aio_reqprio < 0 || cb->aio_reqprio > AIO_PRIO_DELTA_MAX))
		return fail(EINVAL);
	r = kaio_submit(cb, op);
	if (r == -EOPNOTSUPP) {
		kaio_set_foreign(cb, 1);
		switch (op) {
		case KAIO_READ:
			r = REAL(aio_read64)(cb);
			break;
		case KAIO_WRITE:
			r = REAL(aio_write64)(cb);
			break;
		default:
			r = REAL(aio_fsync64)(op == KAIO_FSYNC ? O_SYNC : O_DSYNC, cb);
			break;
		}
		if (r < 0)
			kaio_set_foreign(cb, 0);
		return r;
	}
	return r < 0 ? fail(-r) : 0;
}

__attribute__((constructor)) static void load(void)
{
	kaio_engine_load();
}

EXPORT int aio_read(struct aiocb *cb)
{
	if (!null(cb))
		widen(cb);
	return submit(cb, KAIO_READ);
}

EXPORT int aio_write(struct aiocb *cb)
{
	if (!null(cb))
		widen(cb);
	return submit(cb, KAIO_WRITE);
}

EXPORT int aio_fsync(int op, struct aiocb *cb)
{
	if (op != O_SYNC && op != O_DSYNC)
		return fail(EINVAL);
	if (null(cb))
		return fail(EINVAL);
	if (fcntl(cb->aio_fildes, F_GETFL) < 0)
		return fail(EBADF);
	return submit(cb, op == O_SYNC ? KAIO_FSYNC : KAIO_FDSYNC);
}

EXPORT int aio_error(const struct aiocb *cb)
{
	int r = null(cb) ? -EINVAL : kaio_error(cb);

	return r < 0 ? fail(-r) : r;
}

EXPORT ssize_t aio_return(struct aiocb *cb)
{
	ssize_t res;
	int r;

	if (null(cb))
		return fail(EINVAL);
	if (kaio_is_foreign(cb)) {
		res = REAL(aio_return64)(cb);
		if (__atomic_load_n(&cb->__error_code, __ATOMIC_ACQUIRE) != EINPROGRESS)
			kaio_set_foreign(cb, 0);
		return res;
	}
	r = kaio_return(cb, &res);
	return r < 0 ? fail(-r) : res;
}

EXPORT int aio_suspend(const struct aiocb *const list[], int nent,
		       const struct timespec *timeout)
{
	static const struct timespec expired = { 0, 0 };
	int r;

	if (nent < 0)
		return fail(EINVAL);
	/*
	 * A timeout out of range counts as expired: 0 if a request is done,
	 * else EAGAIN at once. glibc 2.36 does that for negative fields (and
	 * aborts on an assertion for tv_nsec >= 2e9); POSIX has no EINVAL here.
	 */
	if (timeout && (timeout->tv_sec < 0 || timeout->tv_nsec < 0 ||
			timeout->tv_nsec >= 1000000000L))
		timeout = &expired;
	pthread_testcancel();
	r = kaio_suspend(list, nent, timeout);
	pthread_testcancel();
	return r < 0 ? fail(-r) : 0;
}

/* AIO_CANCELED < AIO_NOTCANCELED < AIO_ALLDONE: merge two summaries. */
static int cancel_merge(int a, int b)
{
	if (a == AIO_NOTCANCELED || b == AIO_NOTCANCELED)
		return AIO_NOTCANCELED;
	return a == AIO_CANCELED || b == AIO_CANCELED ? AIO_CANCELED : AIO_ALLDONE;
}

EXPORT int aio_cancel(int fd, struct aiocb *cb)
{
	int r;

	if (fcntl(fd, F_GETFL) < 0)
		return fail(EBADF);
	if (cb && cb->aio_fildes != fd)
		return fail(EINVAL);
	if (cb && kaio_is_foreign(cb))
		return REAL(aio_cancel64)(fd, cb);
	r = kaio_cancel(fd, cb);
	if (!cb && kaio_foreign_used()) {
		int g = REAL(aio_cancel64)(fd, NULL);

		r = g < 0 ? r : cancel_merge(r, g);
	}
	return r;
}

static int listio(int mode, struct aiocb *const list[], int nent,
		  struct sigevent *sev)
{
	int r;

	if (mode != LIO_WAIT && mode != LIO_NOWAIT)
		return fail(EINVAL);
	r = kaio_listio(mode, list, nent, sev);
	if (r == -EOPNOTSUPP) {
		for (int i = 0; i < nent; i++)
			if (list[i] && list[i]->aio_lio_opcode != LIO_NOP)
				kaio_set_foreign(list[i], 1);
		return REAL(lio_listio64)(mode, list, nent, sev);
	}
	return r < 0 ? fail(-r) : 0;
}

EXPORT int lio_listio(int mode, struct aiocb *const list[], int nent,
		      struct sigevent *sev)
{
	if (sizeof(off_t) < 8 && (mode == LIO_WAIT || mode == LIO_NOWAIT))
		for (int i = 0; i < nent; i++)
			if (list[i])
				widen(list[i]);
	return listio(mode, list, nent, sev);
}

EXPORT void aio_init(const struct aioinit *init)
{
	REAL(aio_init)(init);
}

/*
 * The *64 names, which programs built with _FILE_OFFSET_BITS=64 call: the
 * layout the engine reads. Only the three that read the offset differ from
 * the plain names, and only on i386.
 */
EXPORT int aio_read64(struct aiocb64 *cb)
{
	return submit((struct aiocb *)cb, KAIO_READ);
}

EXPORT int aio_write64(struct aiocb64 *cb)
{
	return submit((struct aiocb *)cb, KAIO_WRITE);
}

EXPORT int aio_fsync64(int op, struct aiocb64 *cb)
{
	return aio_fsync(op, (struct aiocb *)cb);
}

EXPORT int aio_error64(const struct aiocb64 *cb)
{
	return aio_error((const struct aiocb *)cb);
}

EXPORT ssize_t aio_return64(struct aiocb64 *cb)
{
	return aio_return((struct aiocb *)cb);
}

EXPORT int aio_suspend64(const struct aiocb64 *const list[], int nent,
			 const struct timespec *timeout)
{
	return aio_suspend((const struct aiocb *const *)list, nent, timeout);
}

EXPORT int aio_cancel64(int fd, struct aiocb64 *cb)
{
	return aio_cancel(fd, (struct aiocb *)cb);
}

EXPORT int lio_listio64(int mode, struct aiocb64 *const list[], int nent,
			struct sigevent *sev)
{
	return listio(mode, (struct aiocb *const *)list, nent, sev);
}

#if __TIMESIZE == 32
/*
 * i386 programs built with _TIME_BITS=64 call aio_suspend by this name, with
 * glibc's struct __timespec64 (64-bit seconds, 32-bit nanoseconds, padding).
 * A wait beyond what a 32-bit time_t holds is a wait without end here.
 */
struct kaio_timespec64 {
	int64_t tv_sec;
	int32_t tv_nsec, pad;
};

EXPORT int __aio_suspend_time64(const struct aiocb *const list[], int nent,
				const struct kaio_timespec64 *timeout);
EXPORT int __aio_suspend_time64(const struct aiocb *const list[], int nent,
				const struct kaio_timespec64 *timeout)
{
	struct timespec ts;

	if (!timeout || timeout->tv_sec > INT32_MAX)
		return aio_suspend(list, nent, NULL);	/* the engine: no end either */
	ts.tv_sec = timeout->tv_sec < INT32_MIN ? INT32_MIN : (time_t)timeout->tv_sec;
	ts.tv_nsec = timeout->tv_nsec;
	return aio_suspend(list, nent, &ts);
}
#endif

#define SAME(f) offsetof(struct aiocb, f) == offsetof(struct aiocb64, f)
_Static_assert(sizeof(struct aiocb) == sizeof(struct aiocb64), "aiocb64 layout");
_Static_assert(SAME(aio_buf) && SAME(aio_nbytes) && SAME(aio_sigevent) &&
	       SAME(__error_code) && SAME(__return_value) && SAME(aio_offset) &&
	       SAME(__glibc_reserved), "aiocb64 layout");
_Static_assert(offsetof(struct aiocb, __pad) == offsetof(struct aiocb, aio_offset) + sizeof(off_t) &&
	       sizeof(off_t) + sizeof(((struct aiocb *)0)->__pad) == 8, "aio_offset padding");
_Static_assert(sizeof(struct aiocb) == (sizeof(long) == 8 ? 168 : 144), "glibc aiocb layout");
