/*
 * The kernel AIO context and reaping its completion ring from user space.
 *
 * The kernel maps struct aio_ring at the context's address: head is the
 * consumer's, tail the kernel's. Reading events between them and moving head
 * needs no syscall, which halves the syscalls per request when I/O completes
 * inside io_submit. Only one consumer may touch the ring at a time, and never
 * while another thread sits in io_getevents on the same context: the engine's
 * lock and its in_getevents flag guarantee both.
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"

#define AIO_RING_MAGIC 0xa10a10a1u

struct aio_ring {
	unsigned id, nr, head, tail;
	unsigned magic, compat_features, incompat_features, header_length;
	struct io_event events[];
};

/*
 * Under a seccomp filter a syscall may kill the process (SECCOMP_RET_KILL or
 * TRAP: SIGSYS) instead of failing. Such calls are tried first in a child
 * made with a raw clone (no atfork handlers run, nothing of the program's is
 * touched), which exits with fn's answer; the parent looks at how it ended.
 * Only filtered processes pay for this.
 */
int kaio_seccomp_probe(int (*fn)(void *), void *arg, int *status)
{
	pid_t pid;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2)
		return 0;
	pid = (pid_t)syscall(SYS_clone, 0, NULL, NULL, NULL, 0);
	if (pid == 0)
		syscall(SYS_exit_group, fn(arg));
	if (pid < 0)
		return -errno;
	if (waitpid(pid, status, __WALL) != pid)
		return -ECHILD;
	return 1;
}

static int try_io_setup(void *arg)
{
	unsigned long c = 0;

	(void)arg;
	return syscall(SYS_io_setup, 1, &c) == 0 ? 0 : 1;
}

static int io_setup_kills(void)
{
	int status;

	return kaio_seccomp_probe(try_io_setup, NULL, &status) == 1 && WIFSIGNALED(status);
}

/* io_setup(n) is charged against fs.aio-max-nr: halve on EAGAIN. */
int kaio_ring_setup(io_context_t *ctx, unsigned *depth)
{
	unsigned n = *depth;
	int r;

	if (io_setup_kills())
		return -ENOSYS;
	for (;;) {
		*ctx = 0;
		r = io_setup((int)n, ctx);
		if (r != -EAGAIN || n == 1)
			break;
		n /= 2;
	}
	if (r < 0)
		return r;
	*depth = n;
	return 0;
}

static struct aio_ring *ring_of(io_context_t ctx)
{
	struct aio_ring *r = (struct aio_ring *)ctx;

	return r && r->magic == AIO_RING_MAGIC ? r : 0;
}

/* A hint, read without the lock: are completions waiting in the ring? */
int kaio_ring_ready(io_context_t ctx)
{
	struct aio_ring *r = ring_of(ctx);

	return r && __atomic_load_n(&r->head, __ATOMIC_RELAXED) != __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
}

/*
 * A hint, read without the lock: has one of the newest n events in the ring
 * (the kernel appends at the tail) a negative result?
 */
int kaio_ring_failed(io_context_t ctx, int n)
{
	struct aio_ring *r = ring_of(ctx);
	unsigned head, tail;

	if (!r)
		return 1;
	head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (head >= r->nr || tail >= r->nr)
		return 1;
	while (tail != head && n-- > 0) {
		tail = tail ? tail - 1 : r->nr - 1;
		if ((long)__atomic_load_n(&r->events[tail].res, __ATOMIC_RELAXED) < 0)
			return 1;
	}
	return 0;
}

int kaio_ring_reap(io_context_t ctx, struct io_event *ev, int max)
{
	struct aio_ring *r = ring_of(ctx);
	unsigned head, tail;
	int n = 0;

	if (!r) {
		struct timespec zero = { 0, 0 };

		return io_getevents(ctx, 0, max, ev, &zero);
	}
	head = r->head;
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	while (head != tail && n < max) {
		ev[n++] = r->events[head];
		head = head + 1 == r->nr ? 0 : head + 1;
	}
	/* The events are copied out before the kernel may reuse their slots. */
	__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	return n;
}
