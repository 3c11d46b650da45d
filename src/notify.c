/*
 * Notifications: SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID, and the list
 * sigevent of lio_listio(LIO_NOWAIT), delivered by at most one thread.
 *
 * A request that must be announced (its own sigevent, or the list it belongs
 * to) does not go to eng.done when it completes: it goes on eng.notify, and
 * the notifier thread delivers the notes in completion order, outside the
 * lock, after the result is in the aiocb. A list goes on eng.lio_due once the
 * last of its requests was announced, so its note comes after theirs. A
 * SIGEV_THREAD request the hit path served (inline.c) queues a note alone
 * once its result is in the aiocb: a request with the sigevent and no
 * aiocb (cb NULL), owed from before its I/O and freed once delivered.
 * Delivering everything on one thread keeps that order and keeps SIGEV_THREAD
 * callbacks off the program's threads: a callback never runs inside the
 * program's own aio_* call, where it could deadlock on the program's locks.
 * Signals are the other way round: a request that finished inside the
 * aio_* call that queued it (io_submit copies cached and buffered data
 * before it returns) has its SIGEV_SIGNAL or SIGEV_THREAD_ID raised by that
 * call before it returns (kaio_notes_here_and_unlock), so the handler runs
 * where the program holds none of its own locks, not at a random point
 * just after; a signal raised later, from here, could land inside the
 * program's malloc. It keeps the order: only notes at the head of the queue
 * are taken, the rest stay here. The notifier, woken by the eventfd from
 * inside that io_submit, may reap such a completion before the call takes
 * the lock again: a call registers its requests (struct kaio_call) and the
 * notifier leaves a note of theirs at the head until the call is done.
 *
 * The notifier exists only while work is owed (eng.owed: notes, a hit-path
 * note from before its I/O on, and requests on pipes or sockets waiting in
 * a poll, see stream.c): the first request that needs it starts it, it
 * waits on the kernel like any other waiter (reaper or futex), after a
 * short spin when notes come fast from another CPU (spin_locked), and it
 * exits after LINGER_NS with nothing owed. It blocks every signal, so
 * signals land on the program's threads. A callback that asks for a bigger
 * stack than the notifier has gets a successor notifier started with it;
 * the old one exits (never two at work). A note queued by another thread while the
 * notifier sleeps (a cancel, a synchronous completion, a hit-path request)
 * wakes it on unlock (engine.c).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "uring.h"

#define LINGER_NS 1000000000L
/* The longest the notifier sleeps without a look, should a kick fail. */
#define BACKSTOP_NS 100000000L
/* How long it may spin for the next note before it sleeps (see spin_locked). */
#define SPIN_MIN_NS 5000
#define SPIN_MAX_NS 50000

/* A zeroed sigevent is SIGEV_SIGNAL with signal 0: no notification. */
int kaio_sigev_silent(const struct sigevent *sev)
{
	switch (sev->sigev_notify) {
	case SIGEV_SIGNAL:
	case SIGEV_THREAD_ID:
		return sev->sigev_signo == 0;
	case SIGEV_THREAD:
		return sev->sigev_notify_function == NULL;
	default:
		return 1;	/* SIGEV_NONE, and values glibc ignores too */
	}
}

static void info_of(siginfo_t *si, const struct sigevent *sev)
{
	memset(si, 0, sizeof *si);
	si->si_signo = sev->sigev_signo;
	si->si_code = SI_ASYNCIO;
	si->si_pid = getpid();
	si->si_uid = getuid();
	si->si_value = sev->sigev_value;
}

/* To thread tid of the process, or to the process when tid is 0. */
static long queue_to(siginfo_t *si, pid_t tid)
{
	if (tid)
		return syscall(SYS_rt_tgsigqueueinfo, si->si_pid, tid, si->si_signo, si);
	return syscall(SYS_rt_sigqueueinfo, si->si_pid, si->si_signo, si);
}

/* The signal of sev, as glibc's helper sends it: to the process, or to the
 * thread SIGEV_THREAD_ID names. */
void kaio_sigev_raise(const struct sigevent *sev)
{
	siginfo_t si;

	info_of(&si, sev);
	queue_to(&si, sev->sigev_notify == SIGEV_THREAD_ID ? sev->_sigev_un._tid : 0);
}

/* The calling thread's id, learnt once; forgotten in a fork's child. */
static __thread pid_t self_tid;

void kaio_self_forget(void)
{
	self_tid = 0;
}

/*
 * The signal of a request that finished inside the caller's aio_* call,
 * raised before the call returns: to the calling thread, so that the
 * handler runs inside that call, or to the process when the thread blocks
 * it (as glibc's helper would send it); SIGEV_THREAD_ID to its thread.
 * The process's first thread (its id is the process's) sends it to the
 * process without a look at its mask: the kernel offers a signal for the
 * process to that thread first and passes it to another one only when it
 * is blocked there (complete_signal in kernel/signal.c), so the handler
 * runs inside the call all the same, two syscalls fewer.
 */
void kaio_sigev_raise_here(const struct sigevent *sev)
{
	siginfo_t si;
	sigset_t mask;

	if (sev->sigev_notify != SIGEV_SIGNAL) {
		kaio_sigev_raise(sev);
		return;
	}
	info_of(&si, sev);
	for (int tries = 0; tries < 2; tries++) {
		pid_t tid = 0;

		if (!self_tid)
			self_tid = gettid();
		if (self_tid != si.si_pid && !pthread_sigmask(SIG_BLOCK, NULL, &mask) &&
		    !sigismember(&mask, si.si_signo))
			tid = self_tid;
		if (queue_to(&si, tid) == 0 || !tid || errno != ESRCH)
			return;
		self_tid = 0;	/* learnt before a raw clone(2): not ours */
	}
}

static void deliver(const struct sigevent *sev)
{
	if (sev->sigev_notify == SIGEV_THREAD)
		sev->sigev_notify_function(sev->sigev_value);
	else
		kaio_sigev_raise(sev);
}

static int notifier_start_locked(const struct sigevent *sev);

/* The stack a SIGEV_THREAD callback asks for, 0 if it asks for none. */
static size_t stack_wanted(const struct sigevent *sev)
{
	size_t want;

	if (sev->sigev_notify != SIGEV_THREAD || !sev->sigev_notify_attributes ||
	    pthread_attr_getstacksize(sev->sigev_notify_attributes, &want))
		return 0;
	return want;
}

/*
 * Delivers the oldest request note. -1: the callback needs a bigger stack
 * than this thread has, so a successor was started with it and this thread
 * must exit (the lock is released); the note stays for the successor.
 */
static int deliver_req_locked(void)
{
	struct kaio_req *r = kaio_container_of(eng.notify.next, struct kaio_req, q);
	struct kaio_lio *lio = r->lio;
	struct sigevent sev = r->sev;
	int has = r->notify;

	if (has && stack_wanted(&sev) > eng.notifier_stack) {
		eng.notifier = 0;
		if (notifier_start_locked(&sev) == 0) {
			kaio_unlock();
			return -1;
		}
		eng.notifier = 1;	/* could not: deliver here anyway */
	}
	kaio_note_delivered_locked(r);
	r->lio = NULL;
	r->notify = 0;
	kaio_unlock();
	if (has)
		deliver(&sev);
	kaio_lock();
	eng.owed--;
	if (lio && --lio->remaining == 0)
		kaio_lio_queue_locked(lio);
	return 0;
}

static void deliver_lio_locked(void)
{
	struct kaio_lio *lio = kaio_container_of(eng.lio_due.next, struct kaio_lio, q);

	kaio_list_del(&lio->q);
	kaio_unlock();
	deliver(&lio->sev);
	free(lio);
	kaio_lock();
	eng.owed--;
}

/*
 * The oldest note belongs to a call that has not yet raised what finished
 * inside it: that call raises it (or closes and wakes this thread). Taken
 * here instead, the signal would come after the call returned.
 */
static int held_locked(void)
{
	const struct kaio_req *r;
	struct kaio_list *p, *t;

	if (kaio_list_empty(&eng.calls) || kaio_list_empty(&eng.notify))
		return 0;
	r = kaio_container_of(eng.notify.next, struct kaio_req, q);
	kaio_list_each_safe(p, t, &eng.calls) {
		const struct kaio_call *c = kaio_container_of(p, struct kaio_call, q);

		if (r->seq >= c->first && r->seq <= c->last)
			return 1;
	}
	return 0;
}

static int64_t ns_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t->tv_sec) * 1000000000 + now.tv_nsec - t->tv_nsec;
}

/* A note was queued: by which CPU, and when (for spin_locked). */
void kaio_note_stamp_locked(void)
{
	__atomic_store_n(&eng.notes, eng.notes + 1, __ATOMIC_RELEASE);
	eng.note_cpu = sched_getcpu();
	eng.note_ns = kaio_now_ns();
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * Out of notes, kaio's thread waits for the next one spinning, for up to
 * twice the last gap between running out and the next note (SPIN_MIN_NS to
 * SPIN_MAX_NS; none after a longer gap), and only when that note came from
 * another CPU (spinning on the poster's CPU would hold it up). A program
 * that waits for each callback before its next request (a SIGEV_THREAD
 * round trip) then costs no sleep and no wake-up of kaio's thread: on this
 * 2-CPU VM a wake-up of an idle CPU takes tens of microseconds. The spin
 * watches eng.notes and the rings without the lock; the thread is neither
 * the reaper nor a futex waiter meanwhile, so a note wakes nobody.
 */
static int64_t spin_budget(int64_t gap)
{
	if (gap >= SPIN_MAX_NS)
		return 0;
	return gap * 2 < SPIN_MIN_NS ? SPIN_MIN_NS : gap * 2 > SPIN_MAX_NS ? SPIN_MAX_NS : gap * 2;
}

static void spin_locked(int64_t ns)
{
	unsigned seen = eng.notes;
	io_context_t ctx = eng.ctx;	/* never destroyed while the process lives */
	int64_t end = kaio_now_ns() + ns;

	kaio_unlock();
	/* A kernel completion ends it too: nobody else may be there to reap it. */
	while (__atomic_load_n(&eng.notes, __ATOMIC_ACQUIRE) == seen &&
	       !(ctx && kaio_ring_ready(ctx)) && !kaio_uring_ready() &&
	       kaio_now_ns() < end)
		cpu_relax();
	kaio_lock();
}

static void *notifier_main(void *arg)
{
	struct timespec idle;
	int lingering = 0, spun = 1;
	int64_t out = 0, spin = 0;	/* when it ran out of notes; the next spin */

	(void)arg;
	kaio_lock();
	for (;;) {
		int held = held_locked();

		if (!kaio_list_empty(&eng.notify) && !held) {
			if (out)
				spin = spin_budget(eng.note_ns - out);
			out = 0;
			spun = 0;
			if (deliver_req_locked() < 0)
				return NULL;	/* a successor with a bigger stack took over */
			lingering = 0;
		} else if (!kaio_list_empty(&eng.lio_due) && !held) {
			deliver_lio_locked();
			lingering = 0;
		} else if (kaio_events_reap()) {
			continue;
		} else if (!spun && spin && !held && eng.note_cpu != sched_getcpu()) {
			out = kaio_now_ns();
			spun = 1;
			spin_locked(spin);
		} else if (eng.owed) {
			if (!out)
				out = kaio_now_ns();
			lingering = 0;
			if (kaio_list_empty(&eng.unpolled)) {
				kaio_wait_step(BACKSTOP_NS, 2, PTHREAD_CANCEL_DISABLE);
			} else {
				kaio_wait_step(UNPOLLED_MS * 1000000L, 2, PTHREAD_CANCEL_DISABLE);
				kaio_unpolled_check_locked();
				kaio_pending_submit();
			}
		} else if (!lingering) {
			lingering = 1;
			clock_gettime(CLOCK_MONOTONIC, &idle);
			if (!out)
				out = (int64_t)idle.tv_sec * 1000000000 + idle.tv_nsec;
		} else if (ns_since(&idle) < LINGER_NS) {
			kaio_wait_step(LINGER_NS - ns_since(&idle), 2, PTHREAD_CANCEL_DISABLE);
		} else {
			break;
		}
	}
	eng.notifier = 0;
	kaio_unlock();
	return NULL;
}

static int notifier_start_locked(const struct sigevent *sev)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	size_t want = sev ? stack_wanted(sev) : 0, have = 0;
	int r;

	if (eng.notifier)
		return 0;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* SIGEV_THREAD callbacks run here: give them the stack they asked for. */
	pthread_attr_getstacksize(&attr, &have);
	if (want > have && pthread_attr_setstacksize(&attr, want) == 0)
		have = want;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&t, &attr, notifier_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (r) {
		kaio_debug("cannot start the notifier thread (%s)", strerrorname_np(r));
		return -EAGAIN;
	}
	eng.notifier = 1;
	eng.notifier_stack = have;
	eng.st.notifier_started++;
	return 0;
}

/*
 * Notes the calling thread raises itself (kaio_notes_here_and_unlock):
 * those at the head of eng.notify of reads and writes the call queued
 * (sequence numbers first to last), as long as they are signals, and then
 * their list's when it is due and next. Not an fsync's: the kernel runs it
 * on a worker, never inside io_submit, and when it happens to be done by
 * the time the call looks, that is a race with the program, not I/O done
 * in the call (stress-ng --aio-requests 1 sleeps until that signal: taken
 * here, it came before the sleep and ran at 114 bogo ops/s, against 15k
 * when kaio's thread sends it). A note behind another one stays with the
 * notifier, so notes still go out in completion order; SIGEV_THREAD never
 * runs in the program's call.
 */
#define HERE_MAX 64

struct kaio_here {
	struct sigevent sev[HERE_MAX];
	struct kaio_lio *lio[HERE_MAX];
	unsigned char has[HERE_MAX];
	int n;
};

static int here_ok(const struct sigevent *sev)
{
	return sev->sigev_notify == SIGEV_SIGNAL || sev->sigev_notify == SIGEV_THREAD_ID;
}

/* sev asks for a signal: one the submitting call may raise itself. */
int kaio_sigev_signals(const struct sigevent *sev)
{
	return here_ok(sev) && !kaio_sigev_silent(sev);
}

static void take_locked(struct kaio_here *h, unsigned long first, unsigned long last)
{
	h->n = 0;
	while (h->n < HERE_MAX && !kaio_list_empty(&eng.notify)) {
		struct kaio_req *r = kaio_container_of(eng.notify.next, struct kaio_req, q);

		if ((r->notify && !here_ok(&r->sev)) || r->op > KAIO_WRITE ||
		    r->seq < first || r->seq > last)
			break;
		kaio_note_delivered_locked(r);
		h->has[h->n] = r->notify;
		h->sev[h->n] = r->sev;
		h->lio[h->n++] = r->lio;
		r->lio = NULL;
		r->notify = 0;
		eng.owed--;
	}
}

/* Its list is due, next, and a signal: raised here too. */
static struct kaio_lio *lio_take_locked(const struct kaio_lio *lio)
{
	struct kaio_lio *due;

	if (kaio_list_empty(&eng.lio_due) || !kaio_list_empty(&eng.notify))
		return NULL;
	due = kaio_container_of(eng.lio_due.next, struct kaio_lio, q);
	if (due != lio || !here_ok(&due->sev))
		return NULL;
	kaio_list_del(&due->q);
	eng.owed--;
	return due;
}

/*
 * Raises, before the calling aio_* call returns, the notes of what
 * finished inside it (the lock is held on entry and dropped on return).
 * The notifier is not woken for notes taken here; a list whose last
 * request was announced here is queued once those signals went out.
 */
void kaio_call_open_locked(struct kaio_call *c, unsigned long first, unsigned long last)
{
	c->first = first;
	c->last = last;
	kaio_list_add_tail(&eng.calls, &c->q);
}

/* The notes it left, if any, are kaio's thread's again: wake it for them. */
void kaio_call_close_locked(struct kaio_call *c)
{
	kaio_list_del(&c->q);
	if (!kaio_list_empty(&eng.notify) || !kaio_list_empty(&eng.lio_due))
		eng.wake |= KAIO_WAKE_NOTE;
}

void kaio_notes_here_and_unlock(unsigned long first, unsigned long last, struct kaio_call *c)
{
	struct kaio_here h;
	struct kaio_lio *ended = NULL, *due = NULL;
	int lists = 0;

	take_locked(&h, first, last);
	if (c)
		kaio_call_close_locked(c);
	if (h.n && kaio_list_empty(&eng.notify) && kaio_list_empty(&eng.lio_due))
		eng.wake &= ~(unsigned)KAIO_WAKE_NOTE;
	kaio_thread_ensure_locked();
	kaio_unlock();
	for (int i = 0; i < h.n; i++) {
		if (h.has[i])
			kaio_sigev_raise_here(&h.sev[i]);
		lists += h.lio[i] != NULL;
	}
	if (!lists)
		return;
	kaio_lock();
	for (int i = 0; i < h.n; i++)
		if (h.lio[i] && --h.lio[i]->remaining == 0) {
			kaio_lio_queue_locked(h.lio[i]);
			ended = h.lio[i];
		}
	if (ended && (due = lio_take_locked(ended)) && kaio_list_empty(&eng.lio_due))
		eng.wake &= ~(unsigned)KAIO_WAKE_NOTE;
	kaio_unlock();
	if (due) {
		kaio_sigev_raise_here(&due->sev);
		free(due);
	}
}

/*
 * Records what r must announce. -EAGAIN when the notifier cannot be started:
 * the request is refused at once, as glibc refuses it when it cannot create
 * a thread.
 */
int kaio_notify_prepare_locked(struct kaio_req *r, const struct sigevent *sev,
			       struct kaio_lio *lio)
{
	r->notify = !kaio_sigev_silent(sev);
	r->lio = NULL;
	if (!r->notify && !lio)
		return 0;
	if (kaio_notify_owe_locked(r->notify ? sev : NULL) < 0) {
		r->notify = 0;
		return -EAGAIN;
	}
	if (r->notify)
		r->sev = *sev;
	r->lio = lio;
	if (lio)
		lio->remaining++;
	return 0;
}

/*
 * Work that needs the thread appeared where it could not be started (a poll
 * queued while reaping): start it now, from a call that may create threads.
 */
void kaio_thread_ensure_locked(void)
{
	if (eng.owed && !eng.notifier)
		notifier_start_locked(NULL);
}

/* One more note is owed: the notifier must run until it is delivered. */
int kaio_notify_owe_locked(const struct sigevent *sev)
{
	if (notifier_start_locked(sev) < 0)
		return -EAGAIN;
	eng.owed++;
	return 0;
}
