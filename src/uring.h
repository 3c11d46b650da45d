/* The process's io_uring ring, for buffered reads kernel AIO would block on. */
#ifndef KAIO_URING_H
#define KAIO_URING_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * The ring, made on first call (depth SQ entries, rounded up to a power of
 * two, at most 32768) with efd registered: its completions bump efd. 0, or
 * the first failure, remembered: -EOPNOTSUPP (KAIO_URING=0, or a kernel
 * before 5.12), -ENOSYS (no io_uring, or a seccomp filter answers it with
 * SIGSYS), -EPERM (a filter, or kernel.io_uring_disabled), ... -EBADF for
 * efd < 0 is not remembered.
 */
int kaio_uring_get(unsigned depth, int efd);
/* 1: a buffered read of fd (st: its fstat) completes without a worker thread. */
int kaio_uring_serves(int fd, const struct stat *st);
/* Queues a read (no syscall); the kernel resolves fd at kaio_uring_submit.
 * -EBUSY: the SQ is full or as many reads are in flight as the CQ holds. */
int kaio_uring_read(void *tag, int fd, void *buf, size_t n, off_t off);
/* Sends what was queued: how many reads the kernel took, or -errno (what
 * it did not take stays queued). Never waits for the disk. */
int kaio_uring_submit(void);
/*
 * The same in two steps, so the syscall can run without the engine's lock:
 * kaio_uring_flush (lock held) makes the queued reads visible to the kernel
 * and says how many there are to send; kaio_uring_enter(n) (any thread, no
 * lock) sends them; kaio_uring_entered(n, its result) (lock held) counts
 * them, keeps what was not taken for the next flush, and returns -errno if
 * the kernel took none.
 */
unsigned kaio_uring_flush(void);
int kaio_uring_enter(unsigned n);
int kaio_uring_entered(unsigned n, int r);
/* Completions are waiting (no syscall). */
int kaio_uring_ready(void);
/* Up to max completions, their tags and results (-errno or bytes); no syscall. */
int kaio_uring_reap(void **tags, long *res, int max);
/* Reads queued or in the kernel, not reaped yet. */
unsigned kaio_uring_inflight(void);
/* In a fork child: drops the parent's ring without using it. */
void kaio_uring_forget(void);

struct kaio_uring_stats {
	unsigned long reads;	/* taken by the kernel */
	unsigned long submits;	/* io_uring_enter calls */
	unsigned entries;	/* SQ entries; 0: no ring */
	int err;		/* kaio_uring_get's remembered failure, or 0 */
	const char *why;	/* NULL, or the failure as one word (uring_error=) */
};
void kaio_uring_stats_get(struct kaio_uring_stats *st);

#endif
