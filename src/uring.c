/*
 * The process's one io_uring ring, for buffered reads that would wait for
 * the disk inside io_submit. io_uring waits for a page-cache miss with a
 * page waitqueue callback (ext4, xfs, btrfs, block devices; Linux 5.9), so
 * such a read blocks no caller and needs no worker thread. Other file
 * systems get an iou-wrk thread for it: kaio_uring_serves says which.
 *
 * Locking: none here. The engine calls every function with its lock held,
 * so there is one producer of SQEs and one consumer of CQEs at a time,
 * which is all liburing's ring helpers ask.
 *
 * Completions. A read whose pages arrive is finished by task work on the
 * thread that submitted it. The ring has neither COOP_TASKRUN nor
 * DEFER_TASKRUN, so the kernel interrupts that thread for it wherever it
 * is (computing, or asleep in any syscall) and the CQE appears without
 * its help; the registered eventfd is bumped as kernel AIO completions bump
 * it, so a waiter in any thread wakes. The CQ (twice the SQ) cannot
 * overflow: kaio_uring_read refuses more reads in flight than it holds.
 *
 * Refusals. io_uring is often forbidden: seccomp profiles (Docker's and
 * containerd's since 2023), kernel.io_uring_disabled, old kernels. The
 * first failure is kept with a one-word reason and never retried; a fork
 * child keeps it too, as it inherits every cause.
 *
 * fork. The ring's mappings are MADV_DONTFORK: a child has no copy of the
 * parent's ring memory to write to. kaio_uring_forget only closes the
 * child's copy of the fd, which leaves the ring, its requests and its
 * registered eventfd to the parent (close is no io_uring operation).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <liburing.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "uring.h"

/* What one read(2) moves at most (MAX_RW_COUNT): longer reads come back short. */
#define RW_MAX 0x7ffff000u

static struct {
	struct io_uring ring;
	int up;
	int err;
	const char *why;
	char whybuf[32];
	unsigned limit, inflight, unsent;
	unsigned long reads, submits;
} u;

static const char *errname(int err)
{
	const char *s = strerrorname_np(-err);

	return s ? s : "error";
}

static int refuse(int err, const char *why)
{
	u.err = err;
	u.why = why ? why : errname(err);
	kaio_debug("io_uring not used (%s): reads that miss the page cache stay on kernel AIO",
		   u.why);
	if (kaio_config.uring == KAIO_URING_REQUIRED)
		kaio_say("KAIO_URING=1 but io_uring is unavailable (%s)", u.why);
	return err;
}

/* An EPERM with kernel.io_uring_disabled at 1 or 2 is the sysctl's doing. */
static const char *eperm_why(void)
{
	char c = 0;
	int fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	if (c != '1' && c != '2')
		return NULL;
	snprintf(u.whybuf, sizeof u.whybuf, "io_uring_disabled=%c", c);
	return u.whybuf;
}

/*
 * Under a seccomp filter an io_uring call may kill the process (SIGSYS)
 * instead of failing. As for io_setup (ring.c), the calls kaio makes are
 * tried first in a child made with a raw clone (no atfork handler runs,
 * nothing of the program's is touched). The child exits with the errno of
 * the first call that failed, and the parent takes that answer as its own
 * without making the call. Only filtered processes pay for this.
 */
/* In the probe's child: the calls kaio makes, and the errno of the first that fails. */
static int try_uring(void *arg)
{
	struct io_uring_params p;
	long fd;

	/* A program's SIGSYS handler would make a trapped call look like it
	 * worked (it returns its own number): die instead. */
	signal(SIGSYS, SIG_DFL);
	memset(&p, 0, sizeof p);
	fd = syscall(SYS_io_uring_setup, 1, &p);
	if (fd < 0 ||
	    syscall(SYS_io_uring_register, fd, IORING_REGISTER_EVENTFD, arg, 1) < 0 ||
	    syscall(SYS_io_uring_enter, fd, 0, 0, 0, NULL, 0) < 0)
		return errno;
	return 0;
}

static int probe_filtered(int efd)
{
	int status, r = kaio_seccomp_probe(try_uring, &efd, &status);

	if (r == 0)
		return 0;
	if (r < 0)
		return refuse(r, r == -ECHILD ? "probe_wait" : "probe_clone");
	if (WIFSIGNALED(status)) {
		const char *sig = sigabbrev_np(WTERMSIG(status));

		snprintf(u.whybuf, sizeof u.whybuf, "SIG%s", sig ? sig : "?");
		return refuse(-ENOSYS, u.whybuf);
	}
	if (WEXITSTATUS(status)) {
		int err = -WEXITSTATUS(status);

		return refuse(err, err == -EPERM ? eperm_why() : NULL);
	}
	return 0;
}

static int ring_setup(unsigned depth, int efd)
{
	struct io_uring_params p;
	int fd, r;

	memset(&p, 0, sizeof p);
	/* SUBMIT_ALL (5.18): a read the kernel refuses does not stop the rest. */
	p.flags = IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL;
	fd = (int)syscall(SYS_io_uring_setup, depth, &p);
	if (fd < 0 && errno == EINVAL) {
		memset(&p, 0, sizeof p);
		p.flags = IORING_SETUP_CLAMP;
		fd = (int)syscall(SYS_io_uring_setup, depth, &p);
	}
	if (fd < 0) {
		r = -errno;
		return refuse(r, r == -EPERM ? eperm_why() : NULL);
	}
	/* Before 5.12 io_uring's workers are kernel threads of their own and
	 * its buffered reads less proven: not worth it. */
	if (!(p.features & IORING_FEAT_NATIVE_WORKERS)) {
		close(fd);
		return refuse(-EOPNOTSUPP, "old_kernel");
	}
	fd = kaio_fd_high(fd);
	r = io_uring_queue_mmap(fd, &p, &u.ring);
	if (r < 0) {
		close(fd);
		return refuse(r, NULL);
	}
	/* liburing 2.3 fills the SQ index array in io_uring_queue_init only:
	 * left zeroed, every slot would name the first SQE. */
	for (unsigned i = 0; i < p.sq_entries; i++)
		u.ring.sq.array[i] = i;
	r = io_uring_ring_dontfork(&u.ring);
	if (r == 0)
		r = io_uring_register_eventfd(&u.ring, efd);
	if (r < 0) {
		io_uring_queue_exit(&u.ring);
		memset(&u.ring, 0, sizeof u.ring);
		return refuse(r, NULL);
	}
	u.limit = p.cq_entries;
	__atomic_store_n(&u.up, 1, __ATOMIC_RELEASE);
	kaio_debug("io_uring: %u entries, fd %d", p.sq_entries, fd);
	return 0;
}

int kaio_uring_get(unsigned depth, int efd)
{
	int r;

	if (u.up)
		return 0;
	if (u.err)
		return u.err;
	if (efd < 0)
		return -EBADF;
	if (kaio_config.uring == KAIO_URING_NEVER)
		return refuse(-EOPNOTSUPP, "off");
	r = probe_filtered(efd);
	return r < 0 ? r : ring_setup(depth ? depth : 1, efd);
}

/*
 * By file system, cached by st_dev in a few slots (programs read few file
 * systems). A dev number freed by an unmount and given to a new mount may
 * keep the old answer: at worst a read served by an iou-wrk thread, or by
 * kernel AIO.
 */
#define FS_SLOTS 8

static struct {
	dev_t dev;
	signed char ok;	/* 0 empty, 1 serves, -1 does not */
} fs_seen[FS_SLOTS];
static unsigned fs_next;

int kaio_uring_serves(int fd, const struct stat *st)
{
	struct statfs sfs;
	int ok;

	if (S_ISBLK(st->st_mode))
		return 1;
	if (!S_ISREG(st->st_mode))
		return 0;
	for (int i = 0; i < FS_SLOTS; i++)
		if (fs_seen[i].ok && fs_seen[i].dev == st->st_dev)
			return fs_seen[i].ok > 0;
	if (fstatfs(fd, &sfs) < 0)
		return 0;
	/* The same magic for ext2 and ext3, served by the ext4 driver nowadays. */
	/* f_type is a signed int on i386, where BTRFS_SUPER_MAGIC is negative. */
	ok = (unsigned long)sfs.f_type == EXT4_SUPER_MAGIC ||
	     (unsigned long)sfs.f_type == XFS_SUPER_MAGIC ||
	     (unsigned long)sfs.f_type == BTRFS_SUPER_MAGIC;
	fs_seen[fs_next].dev = st->st_dev;
	fs_seen[fs_next].ok = ok ? 1 : -1;
	fs_next = (fs_next + 1) % FS_SLOTS;
	return ok;
}

int kaio_uring_read(void *tag, int fd, void *buf, size_t n, off_t off)
{
	struct io_uring_sqe *sqe;

	if (!u.up || off < 0)
		return -EINVAL;
	if (u.inflight >= u.limit || !(sqe = io_uring_get_sqe(&u.ring)))
		return -EBUSY;
	/* An offset of -1 would mean the file position: never sent. */
	io_uring_prep_read(sqe, fd, buf, n < RW_MAX ? (unsigned)n : RW_MAX, (__u64)off);
	io_uring_sqe_set_data(sqe, tag);
	u.inflight++;
	return 0;
}

int kaio_uring_submit(void)
{
	int n = 0, r;

	if (!u.up)
		return 0;
	while (io_uring_sq_ready(&u.ring)) {
		r = io_uring_submit(&u.ring);
		u.submits++;
		if (r <= 0)
			return n ? n : r;
		n += r;
		u.reads += (unsigned)r;
	}
	return n;
}

unsigned kaio_uring_flush(void)
{
	struct io_uring_sq *sq = &u.ring.sq;
	unsigned n;

	if (!u.up)
		return 0;
	n = sq->sqe_tail - sq->sqe_head;
	if (n) {
		sq->sqe_head = sq->sqe_tail;
		io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
	}
	n += u.unsent;
	u.unsent = 0;
	return n;
}

int kaio_uring_enter(unsigned n)
{
	long r = syscall(SYS_io_uring_enter, u.ring.ring_fd, n, 0, 0, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

int kaio_uring_entered(unsigned n, int r)
{
	unsigned took = r > 0 ? (unsigned)r : 0;

	u.submits++;
	u.reads += took;
	u.unsent += n - (took < n ? took : n);
	return took ? 0 : r < 0 ? r : -EAGAIN;
}

int kaio_uring_ready(void)
{
	/*
	 * kaio_poll peeks without the lock, while a reaper may advance the
	 * head: atomic loads (up is set last, with release). A stale answer
	 * costs a trylock, or the look after the next wake-up.
	 */
	if (!__atomic_load_n(&u.up, __ATOMIC_ACQUIRE))
		return 0;
	return io_uring_smp_load_acquire(u.ring.cq.ktail) !=
	       __atomic_load_n(u.ring.cq.khead, __ATOMIC_RELAXED);
}

int kaio_uring_reap(void **tags, long *res, int max)
{
	struct io_uring_cqe *cqe;
	unsigned head;
	int n = 0;

	if (!u.up)
		return 0;
	io_uring_for_each_cqe(&u.ring, head, cqe) {
		if (n == max)
			break;
		tags[n] = io_uring_cqe_get_data(cqe);
		res[n++] = cqe->res;
	}
	io_uring_cq_advance(&u.ring, (unsigned)n);
	u.inflight -= (unsigned)n;
	return n;
}

unsigned kaio_uring_inflight(void)
{
	return u.inflight;
}

void kaio_uring_forget(void)
{
	/* The mappings were not inherited (MADV_DONTFORK): only the fd was. */
	if (u.up)
		close(u.ring.ring_fd);
	memset(&u.ring, 0, sizeof u.ring);
	u.up = 0;
	u.inflight = u.limit = 0;
}

void kaio_uring_stats_get(struct kaio_uring_stats *st)
{
	st->reads = u.reads;
	st->submits = u.submits;
	st->entries = u.up ? u.ring.sq.ring_entries : 0;
	st->err = u.err;
	st->why = u.err ? u.why : NULL;
}
