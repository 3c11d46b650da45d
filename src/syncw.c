/*
 * Writes to a buffered file opened O_SYNC or O_DSYNC, without making the
 * caller wait for the disk. io_submit of such a write writes and flushes
 * inside the call (measured: 150-200 us in each aio_write, 178 ms at worst),
 * where glibc's helper thread waits instead of the caller.
 *
 * So the data goes into the page cache through a second open file
 * description of the same file without the sync flag (the "shadow",
 * reopened through /proc/self/fd), in the calling thread, and the request
 * then waits in the kernel for an IOCB_CMD_FDSYNC (O_DSYNC) or
 * IOCB_CMD_FSYNC (O_SYNC) issued after the data is in: it completes when
 * the flush does, with the write's count, or with the flush's error. When
 * it completes its data is as durable as the flag promises. The flush runs
 * on a kernel workqueue: no thread is added. Several such writes in flight
 * each have their flush; the file system joins them (ext4 commits its
 * journal once for the fsyncs waiting on it).
 *
 * The shadow is kept per fd number with the device and inode it was made
 * for, and used only while the program's fd still names that inode (the
 * engine fstats every write that comes to it): a number closed and reused
 * for another file gets a new shadow or none. Where a shadow cannot be had
 * (the file cannot be reopened: permissions changed, a /proc entry, no
 * /proc) the write takes the ordinary path, flushed inside io_submit.
 * The caller makes sure no earlier request on the fd waits in kaio's queues
 * (appending writes keep call order).
 *
 * Lock: shadows[] has its own mutex (only sync writes take it).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"

#define SLOTS 4096

struct shadow {
	int fd;		/* 0: none (kaio's own fds are >= KAIO_FD_MIN) */
	dev_t dev;
	ino_t ino;
};

static struct shadow shadows[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int reopen(int fd, int fl)
{
	char path[32];

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	fl &= O_ACCMODE | O_APPEND | O_NOATIME | O_LARGEFILE;
	return kaio_fd_high(open(path, fl | O_CLOEXEC));
}

/* A shadow of fd (the regular file st), or -1; shadows[] locked. */
static int shadow_locked(int fd, const struct stat *st)
{
	struct shadow *s = &shadows[fd];
	struct stat st2;
	int sh, fl;

	if (s->fd && s->dev == st->st_dev && s->ino == st->st_ino)
		return s->fd;
	if (s->fd)
		close(s->fd);	/* the number was reused: nobody writes through it now */
	s->fd = 0;
	/* Still a sync fd of a kind the shadow serves? */
	fl = fcntl(fd, F_GETFL);
	kaio_fd_learn_wflags(fd, fl);
	if (fl < 0 || !(fl & O_DSYNC) || (fl & O_DIRECT) || (fl & O_ACCMODE) == O_RDONLY)
		return -1;
	sh = reopen(fd, fl);
	if (sh < 0) {
		kaio_debug("fd %d: cannot reopen it without O_SYNC/O_DSYNC (%s): "
			   "its writes flush inside io_submit", fd, strerrorname_np(errno));
		return -1;
	}
	/* The number may have changed hands in between. */
	if (kaio_fstat(sh, &st2) < 0 || st2.st_dev != st->st_dev || st2.st_ino != st->st_ino) {
		close(sh);
		return -1;
	}
	s->fd = sh;
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	return sh;
}

/*
 * Writes cb's data into the page cache through fd's shadow (fd names the
 * regular file st): the count, or -errno when nothing was written (no
 * shadow, or the write failed: the ordinary path writes it then). Under
 * shadows' lock: a shadow is never closed while written through. Not a
 * cancellation point.
 */
long kaio_syncw_write(int fd, const struct stat *st, const struct aiocb *cb)
{
	long r = -EBADF;
	int sh;

	if (fd < 0 || fd >= SLOTS)
		return -EBADF;
	pthread_mutex_lock(&lock);
	sh = shadow_locked(fd, st);
	if (sh >= 0) {
		uint64_t off = (uint64_t)cb->aio_offset;

#if __SIZEOF_LONG__ == 4
		r = syscall(SYS_pwrite64, sh, cb->aio_buf, cb->aio_nbytes, (long)(uint32_t)off,
			    (long)(uint32_t)(off >> 32));
#else
		r = syscall(SYS_pwrite64, sh, cb->aio_buf, cb->aio_nbytes, (long)off);
#endif
		if (r < 0)
			r = -errno;
	}
	pthread_mutex_unlock(&lock);
	return r;
}
