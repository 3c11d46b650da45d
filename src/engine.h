/* The engine's shared state and its internal interface (src/ only). */
#ifndef KAIO_ENGINE_H
#define KAIO_ENGINE_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <stdint.h>
#include <string.h>

#include "kaio.h"
#include "list.h"
#include "ring.h"
#include "table.h"

/*
 * QUEUED: the I/O waits for ring space on eng.pending; POLLQ: its poll does;
 * UNPOLLED: its fd is checked by kaio's thread (eng.unpolled). IDLE: done
 * and collected, still mapped to its aiocb for the next submission (submit.c).
 * A request is in flight while its state is below KAIO_DONE.
 * BARRIER: waits for earlier requests (eng.barriers). SUBMITTED: the I/O is in
 * the kernel, or on its way there in another thread's io_submit (issuer set);
 * POLLING: the poll is. URING: a buffered read kernel AIO would have blocked
 * on is on the io_uring ring (uring.c). SYNCQ: waits on eng.syncq for a
 * thread to do its I/O with a plain syscall; SYNCING: a thread does it now,
 * without the lock (issue.c). DONE: result published.
 */
enum kaio_state {
	KAIO_QUEUED, KAIO_POLLQ, KAIO_BARRIER, KAIO_SUBMITTED, KAIO_POLLING,
	KAIO_UNPOLLED, KAIO_URING, KAIO_SYNCQ, KAIO_SYNCING, KAIO_DONE, KAIO_IDLE
};

#define UNPOLLED_MS 10

/* KAIO_FILE: regular files and block devices; KAIO_STREAM: may block. */
enum kaio_kind { KAIO_FILE, KAIO_STREAM };

struct kaio_req;

/* A poll iocb, apart from its request so that it may outlive it. */
struct kaio_pollw {
	struct kaio_list q;	/* first: pool chunks are reachable through it */
	struct iocb iocb;
	struct kaio_req *req;	/* NULL once cancelled */
};

/* A LIO_NOWAIT list whose sigevent must fire after all its requests. */
struct kaio_lio {
	struct kaio_list q;	/* eng.lio_due once the last request was announced */
	struct sigevent sev;
	unsigned remaining;
};

struct kaio_req {
	struct iocb iocb;
	struct aiocb *cb;	/* NULL: a note alone, of a request the hit path served */
	struct kaio_list live;	/* eng.live while not DONE */
	struct kaio_list q;	/* eng.pending, barriers, notify, done or free */
	unsigned long seq;
	unsigned wait;		/* BARRIER: earlier requests not yet done */
	int fd;			/* the program's fd */
	int iofd;		/* a stream request's own duplicate, or -1 */
	unsigned char op;
	unsigned char state;
	unsigned char wait_op;	/* BARRIER: the op of the requests it waits for */
	unsigned char kind;
	unsigned char nonblock;	/* O_NONBLOCK: EAGAIN is the answer */
	unsigned char pollfirst;	/* no RWF_NOWAIT: poll, then sync I/O */
	unsigned char probe;	/* sent as a regular file without fstat (submit.c) */
	unsigned char flushw;	/* a sync write: written, waits for its flush (syncw.c) */
	unsigned char owes;	/* counted in eng.owed while it waits in a poll */
	unsigned char unpollable;	/* the kernel cannot poll this fd for us */
	unsigned char chardev;	/* a character device (a tty is pollfirst) */
	unsigned char mapped;	/* the table maps r->cb to r */
	unsigned char notify;	/* sev must be delivered */
	signed char append;	/* the fd is O_APPEND: 1, not: 0, not asked yet: -1 */
	const void *issuer;	/* the batch issuing it right now without the lock */
	size_t done;		/* bytes of a stream write already written */
	struct kaio_pollw *pw;
	struct kaio_lio *lio;	/* announce to this list when done */
	struct sigevent sev;	/* as submitted */
};

/*
 * The tag word kaio keeps in the aiocb's __glibc_reserved: 'kaio' in the high
 * half, then a state. BUSY also carries the fork epoch, so an aiocb that was
 * in flight in the parent is told apart in the child.
 */
#define TAG_MAGIC 0x6b61696f00000000ull
#define TAG_DONE (TAG_MAGIC | 2)
#define TAG_FOREIGN (TAG_MAGIC | 3)
#define TAG_RETURNED (TAG_MAGIC | 4)
#define TAG_BUSY (TAG_MAGIC | (uint64_t)eng.epoch << 8 | 1)
#define TAG_IS_KAIO(t) (((t) >> 32) == (TAG_MAGIC >> 32))

#define EVENTS_MAX 64

struct kaio_engine {
	/*
	 * Read without the lock on every call, written rarely: apart from the
	 * lock's cache line, which the threads that take it pass around.
	 */
	io_context_t ctx;
	int foreign;
	int timed;		/* KAIO_STATS: how long the lock was held, at most (ns) */
	pthread_mutex_t lock __attribute__((aligned(64)));
	int ctx_err;		/* 0: not tried yet or ready; <0: io_setup's error */
	unsigned depth, in_kernel, nlive;
	unsigned in_uring;	/* reads on the io_uring ring */
	int uring_queued;	/* reads queued there, not sent yet */
	unsigned wissuing;	/* writes being issued without the lock (issue.c) */
	unsigned issuing;	/* batches being issued */
	unsigned cancel_waits;	/* aio_cancel calls waiting for them */
	struct kaio_table *table;
	struct kaio_list live, pending, syncq, barriers, done, idle, free;
	unsigned nidle;
	unsigned long seq;
	int reaper;		/* 1: a thread sleeps as the reaper (wait.c); 2: the notifier */
	int in_getevents;	/* ... in io_getevents: the ring is its alone meanwhile */
	int from_event;		/* completions come from events the eventfd was told of */
	int reaper_due;		/* the reaper's eventfd was bumped for events others reaped */
	unsigned waiters;
	unsigned gen;		/* futex word */
	unsigned epoch;		/* forks survived, for TAG_BUSY */
	/* Notifications (notify.c). */
	struct kaio_list notify, lio_due, unpolled;
	struct kaio_list calls;	/* struct kaio_call: notes kaio's thread leaves */
	unsigned polls;		/* kernel polls queued or in flight */
	unsigned owed;		/* notes not delivered, polls not done: kaio's thread runs */
	unsigned notes;		/* notes queued so far: kaio's thread spins on it (notify.c) */
	int note_cpu;		/* the CPU of the thread that queued the last one, */
	int64_t note_ns;	/* and when */
	int notifier;		/* the notifier thread runs */
	size_t notifier_stack;
	unsigned wake;		/* KAIO_WAKE_*: whom the next unlock wakes */
	int kick_fd, kicking;
	int efd;		/* eventfd every iocb signals (IOCB_FLAG_RESFD), or -1 */
	unsigned long efd_ino;
	struct iocb kick;
	struct kaio_stats st;
	int64_t lock_t0;
};

extern struct kaio_engine eng;
extern __thread int kaio_locked;

/*
 * The lock, with a per-thread mark: a signal handler that interrupted this
 * thread inside the lock must not wait for it (aio_suspend checks the mark).
 */
int64_t kaio_now_ns(void);
void kaio_hold_end(void);

static inline void kaio_lock(void)
{
	pthread_mutex_lock(&eng.lock);
	kaio_locked = 1;
	if (eng.timed)
		eng.lock_t0 = kaio_now_ns();
}

static inline int kaio_trylock(void)
{
	if (pthread_mutex_trylock(&eng.lock))
		return -EBUSY;
	kaio_locked = 1;
	if (eng.timed)
		eng.lock_t0 = kaio_now_ns();
	return 0;
}

/*
 * Whom the next unlock wakes: the thread asleep as the reaper (a request
 * completed without a kernel event it would see, or a note for the
 * notifier), the futex waiters (a request completed), the notifier (a note).
 */
#define KAIO_WAKE_REAPER 1
#define KAIO_WAKE_WAITERS 2
#define KAIO_WAKE_NOTE 4
void kaio_wake_locked(void);
/* Unlocks, then wakes whom eng.wake names (engine.c). */
void kaio_unlock_wake(void);

static inline void kaio_unlock(void)
{
	if (eng.wake)
		kaio_wake_locked();
	if (eng.timed)
		kaio_hold_end();
	kaio_locked = 0;
	pthread_mutex_unlock(&eng.lock);
}

/*
 * On i386 the tag's atomics are still single instructions (fildll, fistpll,
 * cmpxchg8b), but an aiocb is only 4-aligned: a load that crosses a cache
 * line may tear between two stores of other threads. Every kaio tag has the
 * same high half, so a torn read is still one of kaio's tags.
 */
static inline uint64_t *kaio_tag_of(const struct aiocb *cb)
{
	return (uint64_t *)(void *)cb->__glibc_reserved;
}

static inline uint64_t kaio_tag_get(const struct aiocb *cb)
{
	return __atomic_load_n(kaio_tag_of(cb), __ATOMIC_ACQUIRE);
}

static inline void kaio_tag_set(struct aiocb *cb, uint64_t v)
{
	__atomic_store_n(kaio_tag_of(cb), v, __ATOMIC_RELEASE);
}

/*
 * The second word of __glibc_reserved holds the request last made for the
 * aiocb: a hint that spares a table lookup when the aiocb is submitted
 * again, trusted only once checked against the pool and the request
 * (mapped_locked in submit.c). A copied or scribbled aiocb costs a lookup.
 */
static inline void *kaio_hint_get(const struct aiocb *cb)
{
	void *p;

	memcpy(&p, cb->__glibc_reserved + 8, sizeof p);
	return p;
}

static inline void kaio_hint_set(struct aiocb *cb, const void *p)
{
	memcpy(cb->__glibc_reserved + 8, &p, sizeof p);
}

/* Publishes a final result: readers that see __error_code see the rest. */
static inline void kaio_result_set(struct aiocb *cb, long res)
{
	cb->__return_value = res < 0 ? -1 : res;
	kaio_tag_set(cb, TAG_DONE);
	__atomic_store_n(&cb->__error_code, res < 0 ? (int)-res : 0, __ATOMIC_RELEASE);
}

/*
 * kaio's own fds live at KAIO_FD_MIN and above: a program that closes fd
 * 0..2 and reopens them expects those numbers back, not kaio there.
 */
#define KAIO_FD_MIN 100
int kaio_fd_high(int fd);
void kaio_efd_open(void);
int kaio_efd_ours(void);
/* Takes the lock, initializing the engine on first use. */
void kaio_engine_enter(void);
/* Lock held below. */
int kaio_ctx_get(void);
void kaio_req_complete(struct kaio_req *r, long res);
/*
 * Issues queued requests (issue.c): takes them off the queues, unlocks for
 * io_submit and the synchronous syscalls, locks again. Lock held before and
 * after, dropped in between: callers hold no pointers across it.
 */
void kaio_pending_submit(void);
/*
 * The same, but returns the number of iocbs sent (> 0) having dropped the
 * lock when nothing is left to settle.
 */
int kaio_pending_submit_or_unlock(void);
void kaio_refused_locked(struct kaio_req *r, int err);
/* r is to be served with a plain syscall, outside the lock (issue.c). */
/*
 * res of the part of r still to do: with what was done before it. A sync
 * write's flush gives the write's count, or its own error.
 */
static inline long kaio_req_total(const struct kaio_req *r, long res)
{
	if (r->flushw)
		return res < 0 ? res : (long)r->done;
	return !r->done ? res : res < 0 ? (long)r->done : res + (long)r->done;
}

/* Which requests a barrier of op waits for: a sync write is a write. */
static inline unsigned char kaio_req_kind_op(const struct kaio_req *r)
{
	return r->flushw ? KAIO_WRITE : r->op;
}

static inline void kaio_sync_queue_locked(struct kaio_req *r)
{
	r->state = KAIO_SYNCQ;
	kaio_list_add_tail(&eng.syncq, &r->q);
}

int kaio_events_reap(void);
void kaio_events_handle(const struct io_event *ev, int n);
void kaio_waiters_wake(void);
/*
 * Sleeps once for at most left_ns (INT64_MAX: no limit), as the reaper in
 * io_getevents or as a futex waiter; lock held before and after. 0, or
 * -EINTR when a signal handler ran. The sleep is a cancellation point when
 * cs is PTHREAD_CANCEL_ENABLE; cancellation is disabled in the thread
 * before and after it (close, read and poll under the lock must not act on
 * a pending cancel: the thread would leave holding the lock).
 */
int kaio_wait_step(int64_t left_ns, int role, int cs);
/* Without the lock: one (all = 0) or every (all = 1) listed request. */
int kaio_wait(const struct aiocb *const list[], int nent, int all,
	      const struct timespec *timeout);
/* Notifications: a request that needs one, a list, the notifier. */
int kaio_sigev_silent(const struct sigevent *sev);
void kaio_sigev_raise(const struct sigevent *sev);
void kaio_self_forget(void);
void kaio_sigev_raise_here(const struct sigevent *sev);
/*
 * A call that queued requests with signals, from its first to its last
 * sequence number: until it has raised what finished inside it, kaio's
 * thread leaves those notes alone (notify.c).
 */
struct kaio_call {
	struct kaio_list q;	/* eng.calls */
	unsigned long first, last;
};

int kaio_sigev_signals(const struct sigevent *sev);
void kaio_call_open_locked(struct kaio_call *c, unsigned long first, unsigned long last);
void kaio_call_close_locked(struct kaio_call *c);
void kaio_notes_here_and_unlock(unsigned long first, unsigned long last, struct kaio_call *c);
int kaio_notify_prepare_locked(struct kaio_req *r, const struct sigevent *sev,
			       struct kaio_lio *lio);
int kaio_notify_owe_locked(const struct sigevent *sev);
void kaio_thread_ensure_locked(void);

void kaio_note_stamp_locked(void);

static inline void kaio_notify_queue_locked(struct kaio_req *r)
{
	kaio_list_add_tail(&eng.notify, &r->q);
	eng.wake |= KAIO_WAKE_NOTE;
	kaio_note_stamp_locked();
}

/* A delivered note: its request stays for its aiocb, a note alone is free. */
static inline void kaio_note_delivered_locked(struct kaio_req *r)
{
	kaio_list_del(&r->q);
	kaio_list_add_tail(r->cb ? &eng.done : &eng.free, &r->q);
}

/*
 * A SIGEV_THREAD request of the hit path gives its note to kaio's thread
 * (submit.c): NULL when the thread cannot be started (the engine takes the
 * request), else the note, to post once the result is published or to drop.
 */
struct kaio_req *kaio_note_reserve(const struct sigevent *sev);
void kaio_note_post(struct kaio_req *r);
void kaio_note_drop(struct kaio_req *r);

static inline void kaio_lio_queue_locked(struct kaio_lio *lio)
{
	kaio_list_add_tail(&eng.lio_due, &lio->q);
	eng.wake |= KAIO_WAKE_NOTE;
	kaio_note_stamp_locked();
}

/* What a fd is (fd.c). */
struct fdinfo {
	int err;
	unsigned char kind, nonblock, seekless, probe, unpollable, chardev;
	unsigned char cold;	/* a buffered read on a file whose probes miss the cache */
	unsigned char wsync;	/* a write to a O_SYNC (KAIO_FSYNC) or O_DSYNC (KAIO_FDSYNC) file */
	unsigned char flushed;	/* written already (syncw.c): the request is its flush */
	struct stat st;		/* when cold, or a write to a regular file */
};
void kaio_fd_classify(const struct aiocb *cb, enum kaio_op op, struct fdinfo *f);
void kaio_fd_classify_stat(int fd, const struct stat *st, struct fdinfo *f);
void kaio_fd_learn(int fd, int file);
int kaio_fstat(int fd, struct stat *st);
void kaio_fd_cool(int fd);
void kaio_fd_learn_wflags(int fd, int fl);
int kaio_fd_cooling(int fd);
unsigned kaio_count_earlier_locked(const struct kaio_req *r);
/* O_SYNC and O_DSYNC writes (syncw.c). */
long kaio_syncw_write(int fd, const struct stat *st, const struct aiocb *cb);
/* Fds that can block (stream.c). */
struct kaio_pollw *kaio_pollw_get(void);
void kaio_pollw_put(struct kaio_pollw *w);
long kaio_sync_io(struct kaio_req *r);
long kaio_pollfirst_io(struct kaio_req *r, int *again);
void kaio_poll_queue_locked(struct kaio_req *r);
void kaio_req_event_locked(struct kaio_req *r, long res);
void kaio_poll_event_locked(struct kaio_pollw *w, long res);
void kaio_uring_event_locked(struct kaio_req *r, long res);
int kaio_uring_take_locked(struct kaio_req *r, const struct stat *st, int buffered);
int kaio_stream_refused_locked(struct kaio_req *r, int err);
int kaio_probe_failed_locked(struct kaio_req *r, long err);
void kaio_poll_cancel_locked(struct kaio_req *r);
void kaio_unpolled_check_locked(void);
int kaio_sigpipe_block(sigset_t *old);
void kaio_sigpipe_restore(const sigset_t *old, int guarded);

#endif
