/*
 * The hit path: a read of data in the page cache, or a buffered write, done
 * in the calling thread with one positioned syscall, its result published in
 * the aiocb before aio_read/aio_write returns. No lock, no request, no table
 * entry, no kernel event (but for SIGEV_THREAD, below). What it cannot
 * finish goes on to the engine, with nothing lost and nothing read twice.
 *
 * Reads: preadv2 with RWF_NOWAIT, so a page-cache miss answers EAGAIN (or a
 * short count) instead of waiting for the disk, and with one byte more than
 * asked, read into a scratch byte: an O_DIRECT fd refuses a length that is
 * not a multiple of its block size with EINVAL before it starts any I/O
 * (measured on ext4 here, kernel 6.18: 0.5 us; the same read without the
 * extra byte waits 60-90 us for the device even with RWF_NOWAIT, and so does
 * one whose first segment is a single byte: the kernel no longer checks the
 * segments). The extra byte has a cost: when the request ends on a page
 * boundary and the next page is not cached, the kernel starts reading it
 * (readahead of one page for a random reader), as it would for any
 * RWF_NOWAIT read that reaches a missing page; nothing waits for it.
 * Nothing about O_DIRECT is kept per fd: a fd closed and reused,
 * or switched to O_DIRECT or back with F_SETFL, is judged afresh by every
 * read. Pipes, sockets and ttys answer ESPIPE, tmpfs and /proc EOPNOTSUPP
 * (RWF_NOWAIT refused), directories EISDIR or EOPNOTSUPP: all go on to the
 * engine, and the fd is skipped for SKIP_READS reads so a fd that never hits
 * costs one wasted syscall in SKIP_READS. A miss makes the fd cool (fd.c):
 * its next reads go straight to io_uring. tmpfs thus stays on the engine
 * (kernel AIO finishes its reads inside io_submit): reading it without
 * RWF_NOWAIT would need to know the fd is still on tmpfs, and a reused
 * number on a network file system would then wait.
 *
 * A short read (0 < n < asked) is the end of the file, the cache ending
 * part way, or a device stopping early (/dev/zero stops at a page when a
 * signal is pending). One fstat tells: at the end of a regular file the
 * count is final; otherwise the rest continues on the engine from there,
 * as a probe of the cache or as a device read that goes on while the
 * device has more (stream.c), and the counts add up.
 *
 * Writes: pwritev2 without flags (ext4 refuses RWF_NOWAIT on buffered
 * writes with EOPNOTSUPP; a buffered write copies into the page cache inside
 * the call, as io_submit does). Only on fds the engine found to be regular
 * files without O_DIRECT, O_SYNC or O_DSYNC (learnt with F_GETFL on a write
 * that came through it), checked again every RECHECK_WRITES writes of the
 * thread. A
 * stream reusing the number answers ESPIPE at once (positioned syscalls
 * never block on one). A file reusing it with O_DIRECT or O_SYNC, or a
 * F_SETFL that adds those, is written correctly and with the durability its
 * flags promise, but in the caller and waiting for the device, until the
 * next check: at most RECHECK_WRITES - 1 writes. (On ext4 here io_submit
 * waits for such writes too, DESIGN.md §2.) Any error goes on to the engine,
 * which writes again and reports it as it always did: a failed write wrote
 * nothing.
 *
 * Order: a fd with requests in the engine (eng.live, counted per fd by
 * kaio_inline_hold) takes no hit path until they are done, so no request
 * overtakes an earlier one on its fd that waits in kaio's queues: appending
 * writes, fsync barriers, ring space. Nor while glibc serves any request
 * (its queue is not kaio's to see).
 *
 * Notifications: none, SIGEV_SIGNAL and SIGEV_THREAD_ID are raised here,
 * after the result is published, before the call returns: a signal for the
 * calling thread goes to it (its handler runs inside aio_read, where the
 * program holds none of its own locks), or to the process when the thread
 * blocks it. A SIGEV_THREAD callback must not run inside the program's
 * call (it could wait for a lock the program holds there): its note goes
 * to kaio's thread (notify.c), which runs it. Before the I/O, a request
 * that carries only the note is reserved, under the lock, with kaio's
 * thread started (submit.c): when the thread cannot be started, the engine
 * takes the request with nothing done (and refuses it with EAGAIN, as
 * glibc does when it cannot make a thread). Once the result is published
 * the note is queued behind the notes before it and kaio's thread woken;
 * when the I/O goes on to the engine after all, the reservation is given
 * back and the engine's request carries the note.
 *
 * Per-fd bytes for fds below FD_SLOTS are hints, read and written with
 * relaxed atomics; larger fds take the engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "inline.h"

#define FD_SLOTS 4096
#define SKIP_READS 255
#define RECHECK_WRITES 64
#define W_UNKNOWN 0
#define W_NO 128	/* and above: not inline, for 255 - W_NO more writes */

static unsigned fd_live[FD_SLOTS];
static unsigned char fd_rskip[FD_SLOTS];
/*
 * Writes: W_UNKNOWN, ask (the engine does, with F_GETFL); RECHECK_WRITES:
 * inline (asked again every RECHECK_WRITES writes of a thread); W_NO..255:
 * not inline, the engine's until the count reaches W_NO, then ask again.
 */
static unsigned char fd_w[FD_SLOTS];

/* Counted per thread slot, summed for KAIO_STATS: no shared line per request. */
#define SLOTS 16
static struct {
	unsigned long n;
	char pad[64 - sizeof(unsigned long)];
} served[SLOTS] __attribute__((aligned(64)));
static unsigned slot_next;
static __thread unsigned my_slot, my_writes;

#define NUDGE_NS 10000000

static void count_one(void)
{
	static int64_t nudged;
	struct timespec t;
	int64_t now;

	if (!my_slot)
		my_slot = __atomic_add_fetch(&slot_next, 1, __ATOMIC_RELAXED) % SLOTS + 1;
	__atomic_fetch_add(&served[my_slot - 1].n, 1, __ATOMIC_RELAXED);
	if (!kaio_config.stats_file)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	now = (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
	if (now - __atomic_load_n(&nudged, __ATOMIC_RELAXED) >= NUDGE_NS) {
		__atomic_store_n(&nudged, now, __ATOMIC_RELAXED);
		kaio_stats_nudge();
	}
}

unsigned long kaio_inline_count(void)
{
	unsigned long n = 0;

	for (int i = 0; i < SLOTS; i++)
		n += __atomic_load_n(&served[i].n, __ATOMIC_RELAXED);
	return n;
}

void kaio_inline_hold(int fd, int d)
{
	if (fd >= 0 && fd < FD_SLOTS)
		__atomic_fetch_add(&fd_live[fd], (unsigned)d, __ATOMIC_RELEASE);
}

int kaio_inline_idle(int fd)
{
	return fd >= 0 && fd < FD_SLOTS && !__atomic_load_n(&fd_live[fd], __ATOMIC_ACQUIRE);
}

/* fork: the child owns none of the parent's requests, nor its counts. */
void kaio_inline_forget(void)
{
	for (int i = 0; i < FD_SLOTS; i++)
		__atomic_store_n(&fd_live[i], 0, __ATOMIC_RELAXED);
	for (int i = 0; i < SLOTS; i++)
		served[i].n = 0;
}

int kaio_inline_wants(int fd)
{
	return fd >= 0 && fd < FD_SLOTS && __atomic_load_n(&fd_w[fd], __ATOMIC_RELAXED) == W_UNKNOWN;
}

void kaio_inline_learn(int fd, int fl)
{
	if (fd >= 0 && fd < FD_SLOTS)
		__atomic_store_n(&fd_w[fd], fl >= 0 && !(fl & (O_DIRECT | O_DSYNC)) ?
				 RECHECK_WRITES : 255, __ATOMIC_RELAXED);
}

/* What a done request announces: nothing, a signal raised here, a note for kaio's thread. */
enum { NOTE_NONE, NOTE_HERE, NOTE_THREAD };

static int note_kind(const struct sigevent *sev)
{
	if (kaio_sigev_silent(sev))
		return NOTE_NONE;
	return sev->sigev_notify == SIGEV_THREAD ? NOTE_THREAD : NOTE_HERE;
}

/*
 * Right before the I/O, when a note for kaio's thread is wanted (note not
 * NULL): reserved (the thread runs, a request carries the note), or the
 * engine takes the request with nothing done.
 */
static int note_ready(const struct aiocb *cb, struct kaio_req **note)
{
	if (!note)
		return 1;
	*note = kaio_note_reserve(&cb->aio_sigevent);
	return *note != NULL;
}

/* Not a cancellation point: aio_read and aio_write are none. */
static long rw(int op, int fd, struct iovec *iov, int n, off_t off, int flags)
{
	long r = syscall(op == KAIO_READ ? SYS_preadv2 : SYS_pwritev2, fd, iov, n,
			 (unsigned long)off, (unsigned long)((unsigned long long)off >> 32),
			 flags);

	return r < 0 ? -errno : r;
}

/* Does a short read end at the end of a regular file? */
static int at_eof(int fd, off_t end)
{
	struct stat st;

	return kaio_fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && end >= st.st_size;
}

static int read_here(struct aiocb *cb, long *res, struct kaio_req **note)
{
	int fd = cb->aio_fildes;
	unsigned char *skip = &fd_rskip[fd];
	unsigned char s = __atomic_load_n(skip, __ATOMIC_RELAXED);
	char tail;
	struct iovec iov[2] = { { (void *)cb->aio_buf, cb->aio_nbytes }, { &tail, 1 } };
	long r;

	if (s) {
		__atomic_store_n(skip, s - 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (kaio_fd_cooling(fd) || !note_ready(cb, note))
		return 0;
	r = rw(KAIO_READ, fd, iov, 2, cb->aio_offset, RWF_NOWAIT);
	if (r == -EAGAIN) {
		kaio_fd_cool(fd);
		return 0;
	}
	if (r < 0) {
		if (r != -EINTR)
			__atomic_store_n(skip, SKIP_READS, __ATOMIC_RELAXED);
		return 0;
	}
	if ((size_t)r > cb->aio_nbytes)
		r = (long)cb->aio_nbytes;
	*res = r;
	if ((size_t)r < cb->aio_nbytes && r > 0 && !at_eof(fd, cb->aio_offset + r))
		return -1;	/* the rest continues on the engine */
	return 1;
}

static int write_here(struct aiocb *cb, long *res, struct kaio_req **note)
{
	int fd = cb->aio_fildes;
	unsigned char *w = &fd_w[fd];
	unsigned char v = __atomic_load_n(w, __ATOMIC_RELAXED);
	struct iovec iov = { (void *)cb->aio_buf, cb->aio_nbytes };
	long r;

	if (v >= W_NO) {
		__atomic_store_n(w, v == W_NO ? W_UNKNOWN : v - 1, __ATOMIC_RELAXED);
		return 0;
	}
	if (v == W_UNKNOWN)
		return 0;
	/*
	 * Checked again every RECHECK_WRITES writes of this thread: a count
	 * of the fd's own would be a store to a line every writing thread
	 * shares (measured: 2 threads writing one file at QD 1 lost 12%).
	 */
	if (++my_writes % RECHECK_WRITES == 0) {
		kaio_fd_learn_wflags(fd, fcntl(fd, F_GETFL));
		if (__atomic_load_n(w, __ATOMIC_RELAXED) != RECHECK_WRITES)
			return 0;
	}
	if (!note_ready(cb, note))
		return 0;
	r = rw(KAIO_WRITE, fd, &iov, 1, cb->aio_offset, 0);
	if (r < 0) {
		__atomic_store_n(w, W_UNKNOWN, __ATOMIC_RELAXED);
		return 0;
	}
	*res = r;
	return 1;
}

int kaio_inline_submit(struct aiocb *cb, enum kaio_op op, size_t *done)
{
	struct kaio_req *note = NULL, **want;
	int fd = cb->aio_fildes, kind = note_kind(&cb->aio_sigevent), r;
	long res = 0;

	*done = 0;
	if (fd < 0 || fd >= FD_SLOTS || cb->aio_offset < 0 ||
	    __atomic_load_n(&fd_live[fd], __ATOMIC_ACQUIRE) ||
	    kaio_tag_get(cb) == TAG_BUSY)
		return 0;
	want = kind == NOTE_THREAD ? &note : NULL;
	r = op == KAIO_READ ? read_here(cb, &res, want) : write_here(cb, &res, want);
	if (r <= 0) {
		if (note)
			kaio_note_drop(note);
		if (r < 0)
			*done = (size_t)res;
		return 0;
	}
	if (kind == NOTE_HERE) {
		/*
		 * Read before the result is out: a thread that sees it may
		 * reuse the aiocb at once, with another sigevent.
		 */
		struct sigevent sev = cb->aio_sigevent;

		kaio_result_set(cb, res);
		kaio_sigev_raise_here(&sev);
	} else {
		kaio_result_set(cb, res);
		if (note)
			kaio_note_post(note);
	}
	count_one();
	return 1;
}
