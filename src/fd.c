/*
 * What kaio knows of a program's fds: their kind, with one fstat (and an
 * fcntl for fds that can block, and for reads on a cooling fd: O_DIRECT or
 * not), and a per-fd byte that lets reads on a fd last seen to be a
 * regular file skip the fstat. f->err gets an error to
 * report through the aiocb instead of submitting (bad fd, negative offset),
 * as glibc reports those later rather than at once. No lock: the per-fd
 * bytes are hints, read and written atomically; a wrong one costs a probe
 * (stream.c), never a blocked caller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "engine.h"
#include "inline.h"

/*
 * The fstat per request costs a syscall. A read on a fd last seen to be a
 * regular file or block device skips it and goes in with RWF_NOWAIT
 * instead: if the fd was closed and reused for a pipe or socket, the kernel
 * answers -EAGAIN (or refuses it) rather than block the caller, and the
 * request is classified again (kaio_probe_failed_locked). A fd whose probing
 * reads keep failing with EAGAIN (uncached buffered reads) cools down for
 * FD_COOLDOWN reads with fstat and F_GETFL, sent straight to io_uring where
 * it serves them (stream.c), then probes again. Per fd: 0 unknown, 1 probe,
 * >1 cooling.
 */
#define FD_CACHED 4096
#define FD_COOLDOWN 64

static unsigned char fd_state[FD_CACHED];

static unsigned char *fd_slot(int fd)
{
	return fd >= 0 && fd < FD_CACHED ? &fd_state[fd] : NULL;
}

/*
 * Per fd, for writes: 0 unknown, else 1 + KAIO_FSYNC (O_SYNC), KAIO_FDSYNC
 * (O_DSYNC) or 0 (neither, or O_DIRECT): learnt with F_GETFL.
 */
static unsigned char fd_wsync[FD_CACHED];

static unsigned char *wsync_slot(int fd)
{
	return fd >= 0 && fd < FD_CACHED ? &fd_wsync[fd] : NULL;
}

void kaio_fd_learn_wflags(int fd, int fl)
{
	unsigned char v = 1;

	if (fl >= 0 && !(fl & O_DIRECT) && (fl & O_DSYNC))
		v = 1 + ((fl & O_SYNC) == O_SYNC ? KAIO_FSYNC : KAIO_FDSYNC);
	if (wsync_slot(fd))
		__atomic_store_n(wsync_slot(fd), v, __ATOMIC_RELAXED);
	if (kaio_config.inline_io)
		kaio_inline_learn(fd, fl);
}

/*
 * fstat without touching the file: kaio asks only for the type, mode, size,
 * device and inode. A stat that asks for the ctime or mtime (fstat does)
 * marks them as queried on a file system with multigrain timestamps (ext4,
 * xfs, btrfs, tmpfs since 6.13), and the next write then stamps a
 * fine-grained time instead of the coarse tick: the inode is dirty again
 * after every write, and every fsync and fdatasync writes it back (on ext4
 * here one more synchronous metadata write per flush; measured with
 * stress-ng --aio: 77% of kaio's flushes against 8% of glibc's, which
 * stats nothing). Where statx is refused (old kernels, seccomp), fstat.
 */
int kaio_fstat(int fd, struct stat *st)
{
	static int no_statx;
	struct statx sx;

	if (!__atomic_load_n(&no_statx, __ATOMIC_RELAXED)) {
		if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_SIZE | STATX_INO,
			  &sx) == 0) {
			memset(st, 0, sizeof *st);
			st->st_mode = sx.stx_mode;
			st->st_size = (off_t)sx.stx_size;
			st->st_ino = sx.stx_ino;
			st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
			st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
			return 0;
		}
		if (errno != ENOSYS && errno != EPERM && errno != EINVAL)
			return -1;
		__atomic_store_n(&no_statx, 1, __ATOMIC_RELAXED);
	}
	return fstat(fd, st);
}

void kaio_fd_learn(int fd, int file)
{
	unsigned char *s = fd_slot(fd), v;

	if (!s)
		return;
	v = __atomic_load_n(s, __ATOMIC_RELAXED);
	__atomic_store_n(s, !file ? 0 : v > 1 ? v - 1 : 1, __ATOMIC_RELAXED);
}

void kaio_fd_classify_stat(int fd, const struct stat *st, struct fdinfo *f)
{
	int fl;

	f->kind = KAIO_FILE;
	if (S_ISREG(st->st_mode) || S_ISBLK(st->st_mode))
		return;
	f->kind = KAIO_STREAM;
	f->seekless = S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode);
	f->chardev = S_ISCHR(st->st_mode);
	fl = fcntl(fd, F_GETFL);
	f->nonblock = fl >= 0 && (fl & O_NONBLOCK);
	/*
	 * A signalfd looks at the signals of the task that polls it, and the
	 * kernel re-polls from a worker thread: its kernel poll never fires.
	 * Anonymous inodes have no file type; the link name says which it is.
	 */
	if (!(st->st_mode & S_IFMT)) {
		char path[32], link[32];
		ssize_t n;

		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof link - 1);
		f->unpollable = n > 0 && (link[n] = 0, strstr(link, "signalfd") != NULL);
	}
}

void kaio_fd_classify(const struct aiocb *cb, enum kaio_op op, struct fdinfo *f)
{
	unsigned char *slot = fd_slot(cb->aio_fildes);
	unsigned char v = slot ? __atomic_load_n(slot, __ATOMIC_RELAXED) : 0;
	struct stat st;

	memset(f, 0, offsetof(struct fdinfo, st));
	if ((op == KAIO_READ || op == KAIO_WRITE) && cb->aio_offset < 0)
		f->err = EINVAL;
	if (op == KAIO_READ && v == 1) {
		f->probe = 1;
		return;
	}
	if (kaio_fstat(cb->aio_fildes, &st) < 0) {
		/* As pread: a negative offset is EINVAL before the fd is looked at. */
		f->err = f->err ? f->err : errno;
		return;
	}
	kaio_fd_classify_stat(cb->aio_fildes, &st, f);
	kaio_fd_learn(cb->aio_fildes, f->kind == KAIO_FILE);
	/*
	 * A write to a file: O_SYNC or O_DSYNC (syncw.c)? May the hit path
	 * write to it (inline.c)? Asked once in a while, not per write.
	 */
	if (op == KAIO_WRITE && S_ISREG(st.st_mode)) {
		int fd = cb->aio_fildes;

		if (!wsync_slot(fd) || !__atomic_load_n(wsync_slot(fd), __ATOMIC_RELAXED) ||
		    (kaio_config.inline_io && kaio_inline_wants(fd)))
			kaio_fd_learn_wflags(fd, fcntl(fd, F_GETFL));
		f->wsync = wsync_slot(fd) ? __atomic_load_n(wsync_slot(fd), __ATOMIC_RELAXED) - 1 : 0;
		f->st = st;
	}
	/* A first read probes too: a miss must not block the caller. */
	if (op == KAIO_READ && !v && f->kind == KAIO_FILE)
		f->probe = 1;
	/*
	 * O_DIRECT reads stay on kernel AIO. Asked here, before the lock: a
	 * syscall made under it also runs the io_uring completions waiting
	 * for this thread (task work), and the lock would be held for them.
	 */
	if (op == KAIO_READ && v > 1 && f->kind == KAIO_FILE) {
		int fl = fcntl(cb->aio_fildes, F_GETFL);

		f->cold = fl >= 0 && !(fl & O_DIRECT);
		f->st = st;
	}
}

/* Live requests on r's fd of kind r->wait_op made before r: a barrier's count. */
unsigned kaio_count_earlier_locked(const struct kaio_req *r)
{
	struct kaio_list *p;
	unsigned n = 0;

	for (p = eng.live.next; p != &eng.live; p = p->next) {
		struct kaio_req *o = kaio_container_of(p, struct kaio_req, live);

		n += o->fd == r->fd && kaio_req_kind_op(o) == r->wait_op && o->seq < r->seq;
	}
	return n;
}

int kaio_fd_cooling(int fd)
{
	return fd_slot(fd) && __atomic_load_n(fd_slot(fd), __ATOMIC_RELAXED) > 1;
}

/* Probing reads on fd keep missing the page cache: fstat for a while. */
void kaio_fd_cool(int fd)
{
	if (fd_slot(fd))
		__atomic_store_n(fd_slot(fd), FD_COOLDOWN, __ATOMIC_RELAXED);
}
