/* aio_suspend and lio_listio with odd counts, compared with glibc:
 *   aio_suspend nent 0 (timeout NULL, {0,0}, 1 s; a list pointer of NULL),
 *   nent -1 and INT_MIN (-1 EINVAL), a list of only NULL entries;
 *   nent 1 on a list whose other entries are garbage pointers past nent
 *   (must not be looked at);
 *   lio_listio nent 0 and a list of only NULL / LIO_NOP entries, in both
 *   modes, with a SIGEV_SIGNAL list sigevent (LIO_NOWAIT): the answer and
 *   whether the list's signal comes (LIO_NOWAIT: waited for); then nent 1 on a list
 *   whose other entries are garbage pointers.
 * Every call is bounded: a SIGALRM T_STUCK_SEC s later ends a wait that hangs (it
 * then prints -1 EINTR, which glibc does not). The nent = INT_MAX cases
 * crash glibc (it puts nent-sized arrays on the stack): tests/fault.sh runs
 * them under kaio only (fault/nent_huge). */
#include "common.h"
#include <limits.h>

#define SIGLIST (SIGRTMIN + 2)

static volatile sig_atomic_t list_sigs, alarms;
/* NULL, hidden from the compiler's nonnull checks. */
static struct aiocb *const *volatile null_list;
static const struct aiocb *const *volatile null_clist;

static void on_list(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	if (si->si_value.sival_int == 4242)
		list_sigs++;
}

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static const char *suspend_bounded(const struct aiocb *const *list, int nent,
				   const struct timespec *ts)
{
	alarm(T_STUCK_SEC);
	double t0 = now_sec();
	const char *s = RC(aio_suspend(list, nent, ts));
	alarm(0);
	say("measure: suspend_ms %.0f", (now_sec() - t0) * 1000);
	return s;
}

/* The list's signal: "signal", or "no signal". LIO_NOWAIT sends it: waited
 * for up to T_STUCK_SEC; LIO_WAIT ignores the sigevent: a stray signal is
 * looked for during 1 s. */
static const char *list_signal(int mode)
{
	double end = now_sec() + (mode == LIO_NOWAIT ? T_STUCK_SEC : 1);
	while (!list_sigs && now_sec() < end)
		usleep(1000);
	usleep(20000);
	static char buf[32];
	snprintf(buf, sizeof buf, "%s", list_sigs == 1 ? "signal" : list_sigs ? "SIGNALS" : "no signal");
	list_sigs = 0;
	return buf;
}

static void lio_sig(const char *mn, const char *what, int mode,
		    struct aiocb *const *list, int nent, struct sigevent *sev)
{
	char r[64];
	snprintf(r, sizeof r, "%s", RC(lio_listio(mode, list, nent, sev)));
	say("lio %s %s with sigevent: %s, %s", mn, what, r, list_signal(mode));
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_list;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGLIST, &sa, NULL);
	sa.sa_flags = 0;
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);

	char *path = tpath("hostile_nent");
	make_pat_file(path, 16384, 71);
	int fd = xopen(path, O_RDWR);
	unsigned char b[4096];
	struct aiocb cb;
	setup_cb(&cb, fd, b, sizeof b, 0);
	cb.aio_lio_opcode = LIO_READ;
	if (aio_read(&cb))
		DIE("aio_read");
	wait_one(&cb);
	say("setup read: %s", result(&cb));

	const struct aiocb *one[1] = { &cb };
	struct timespec zero = { 0, 0 }, sec = { 1, 0 };
	say("suspend nent 0, no timeout: %s", suspend_bounded(one, 0, NULL));
	say("suspend nent 0, timeout 0: %s", suspend_bounded(one, 0, &zero));
	say("suspend nent 0, timeout 1 s: %s", suspend_bounded(one, 0, &sec));
	say("suspend NULL list, nent 0: %s", suspend_bounded(null_clist, 0, &zero));
	say("suspend nent -1: %s", suspend_bounded(one, -1, NULL));
	say("suspend nent INT_MIN: %s", suspend_bounded(one, INT_MIN, NULL));
	const struct aiocb *nulls[3] = { NULL, NULL, NULL };
	say("suspend 3 NULL entries, no timeout: %s", suspend_bounded(nulls, 3, NULL));
	say("suspend 3 NULL entries, timeout 0: %s", suspend_bounded(nulls, 3, &zero));

	/* Garbage past nent: never dereferenced. */
	const struct aiocb *garbage[4] = { &cb, (const struct aiocb *)(uintptr_t)8,
					   (const struct aiocb *)(uintptr_t)-4096,
					   (const struct aiocb *)(uintptr_t)0xdeadbeef };
	say("suspend nent 1, garbage after: %s", suspend_bounded(garbage, 1, NULL));

	/* A pending request among them: a pipe read. */
	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c = 0;
	struct aiocb pr;
	setup_cb(&pr, p[0], &c, 1, 0);
	if (aio_read(&pr))
		DIE("aio_read pipe");
	const struct aiocb *pend[1] = { &pr };
	struct timespec ms50 = { 0, 50 * 1000000 };
	say("suspend nent 0 beside a pending read: %s", suspend_bounded(pend, 0, &ms50));
	say("suspend nent 1 on the pending read, 50 ms: %s", suspend_bounded(pend, 1, &ms50));
	if (write(p[1], "x", 1) != 1)
		DIE("write");
	wait_one(&pr);
	say("pipe read: %s byte %c", result(&pr), c);
	close(p[0]);
	close(p[1]);

	/* lio_listio */
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGLIST;
	sev.sigev_value.sival_int = 4242;
	struct aiocb *lone[1] = { &cb };
	for (int m = 0; m < 2; m++) {
		int mode = m ? LIO_NOWAIT : LIO_WAIT;
		const char *mn = m ? "LIO_NOWAIT" : "LIO_WAIT";
		say("lio %s nent 0: %s", mn, RC(lio_listio(mode, lone, 0, NULL)));
		say("lio %s nent 0, NULL list: %s", mn, RC(lio_listio(mode, null_list, 0, NULL)));
		lio_sig(mn, "nent 0", mode, lone, 0, &sev);
		struct aiocb *lnull[3] = { NULL, NULL, NULL };
		lio_sig(mn, "3 NULL entries", mode, lnull, 3, &sev);
		struct aiocb nop;
		setup_cb(&nop, fd, b, sizeof b, 0);
		nop.aio_lio_opcode = LIO_NOP;
		struct aiocb *lnop[2] = { &nop, NULL };
		lio_sig(mn, "only LIO_NOP", mode, lnop, 2, &sev);
		struct aiocb *lg[4] = { &cb, (struct aiocb *)(uintptr_t)8,
					(struct aiocb *)(uintptr_t)-4096,
					(struct aiocb *)(uintptr_t)0xdeadbeef };
		memset(b, 0, sizeof b);
		say("lio %s nent 1, garbage after: %s", mn, RC(lio_listio(mode, lg, 1, NULL)));
		wait_one(&cb);
		say("lio %s nent 1: %s data %s", mn, result(&cb),
		    check_pat(b, sizeof b, 0, 71) < 0 ? "ok" : "WRONG");
	}
	say("alarms: %d", (int)alarms);
	close(fd);
	return t_finish();
}
