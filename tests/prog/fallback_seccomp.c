/* A process where the kernel AIO interface is forbidden: before its first
 * aio call the program installs a seccomp filter that makes io_setup fail
 * with ENOSYS (argv[2] "enosys", the default), EPERM ("eperm"), kills the
 * process with SIGSYS ("kill": kaio must notice without calling it itself),
 * or installs nothing ("none"). Then a round trip of everything:
 *   aio_write / aio_read of a file, aio_fsync, lio_listio LIO_WAIT (writes)
 *   and LIO_NOWAIT (reads), a pipe read with the data already there, a read
 *   of an empty pipe that a SIGALRM handler fills 1 s later (measure:
 *   empty_pipe_fed_in_call: whether the handler had filled it when aio_read
 *   returned; empty_pipe_submit_ms: how long it took), a write announced with
 *   SIGEV_SIGNAL (exactly one signal, si_code SI_ASYNCIO, the value).
 * Threads: measure fallback_threads, counted right after SIGEV_NONE
 * requests were submitted.
 * A submit refused with -1 (KAIO_FALLBACK=error gives EAGAIN) is printed
 * and its request skipped. Run by run.sh (glibc vs kaio, whose default
 * fallback is glibc: same output) and by tests/env.sh with each
 * KAIO_FALLBACK mode and its own expectations. */
#include "common.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

static int pipe_w = -1;
static volatile sig_atomic_t sigs, sig_bad, fed;

static void on_alarm(int sig)
{
	(void)sig;
	if (write(pipe_w, "late", 4) < 0)
		_exit(3);
	fed = 1;
}

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	sigs++;
	if (si->si_code != SI_ASYNCIO || si->si_value.sival_int != 42)
		sig_bad++;
}

/* err 0: io_setup kills the process (SECCOMP_RET_KILL_PROCESS, SIGSYS). */
static void forbid_io_setup(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, err ? SECCOMP_RET_ERRNO | (unsigned)(err & SECCOMP_RET_DATA)
					      : SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof f / sizeof f[0]), f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		DIE("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		DIE("seccomp: %s", strerror(errno));
}

/* Submits; prints the answer; waits and prints the result if it was taken. */
static int go(const char *what, struct aiocb *cb, int write_)
{
	int r = write_ ? aio_write(cb) : aio_read(cb);
	if (r) {
		say("%s: %s", what, rc(r, errno));
		return -1;
	}
	wait_one(cb);
	say("%s: %s", what, result(cb));
	return 0;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	const char *mode = argc > 2 ? argv[2] : "enosys";
#ifndef __x86_64__
	t_skip("the filter is written for x86_64");
#endif
	if (!strcmp(mode, "enosys"))
		forbid_io_setup(ENOSYS);
	else if (!strcmp(mode, "eperm"))
		forbid_io_setup(EPERM);
	else if (!strcmp(mode, "kill"))
		forbid_io_setup(0);
	else if (strcmp(mode, "none"))
		DIE("mode %s: enosys, eperm, kill or none", mode);
	/* What io_setup itself says here (a measure line: with fs.aio-max-nr
	 * used up it fails in "none" mode too, see tests/env.sh). */
	unsigned long ctx = 0;
	long k = -1;
	int ke = 0;
	if (strcmp(mode, "kill")) {	/* in "kill" mode it would kill this test */
		k = syscall(SYS_io_setup, 1, &ctx);
		ke = errno;
		say("measure: io_setup_itself %s", k == 0 ? "works" : rc(-1, ke));
	}
	if (k == 0)
		syscall(SYS_io_destroy, ctx);
	if (strcmp(mode, "none") && strcmp(mode, "kill"))
		CHECK(k == -1 && ke == (strcmp(mode, "eperm") ? ENOSYS : EPERM),
		      "the filter does not work: io_setup %ld %s", k, errname(ke));

	char *path = tpath("fallback");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char w[8192], rb[8192];
	fill_pat(w, sizeof w, 0, 17);
	memset(rb, 0, sizeof rb);
	struct aiocb cb;
	setup_cb(&cb, fd, w, sizeof w, 0);
	int r = aio_write(&cb);
	say("aio_write: %s", rc(r, errno));
	say("measure: fallback_threads %d", count_threads());
	if (!r) {
		wait_one(&cb);
		say("write: %s", result(&cb));
	}
	setup_cb(&cb, fd, rb, sizeof rb, 0);
	if (!go("read", &cb, 0))
		say("read: data %s", memcmp(w, rb, sizeof w) ? "DIFFERS" : "ok");
	setup_cb(&cb, fd, NULL, 0, 0);
	r = aio_fsync(O_SYNC, &cb);
	say("aio_fsync: %s", rc(r, errno));
	if (!r) {
		wait_one(&cb);
		say("fsync: %s", result(&cb));
	}

	struct aiocb lc[4];
	struct aiocb *list[4];
	unsigned char lb[4][1024];
	for (int i = 0; i < 4; i++) {
		fill_pat(lb[i], 1024, 8192 + (uint64_t)i * 1024, 17);
		setup_cb(&lc[i], fd, lb[i], 1024, 8192 + i * 1024);
		lc[i].aio_lio_opcode = LIO_WRITE;
		list[i] = &lc[i];
	}
	r = lio_listio(LIO_WAIT, list, 4, NULL);
	say("lio_listio LIO_WAIT writes: %s", rc(r, errno));
	if (!r) {
		int good = 0;
		for (int i = 0; i < 4; i++)
			good += aio_error(&lc[i]) == 0 && aio_return(&lc[i]) == 1024;
		say("lio writes: %d of 4 right", good);
	}
	for (int i = 0; i < 4; i++) {
		memset(lb[i], 0, 1024);
		setup_cb(&lc[i], fd, lb[i], 1024, 8192 + i * 1024);
		lc[i].aio_lio_opcode = LIO_READ;
	}
	r = lio_listio(LIO_NOWAIT, list, 4, NULL);
	say("lio_listio LIO_NOWAIT reads: %s", rc(r, errno));
	if (!r) {
		wait_list(list, 4);
		int good = 0;
		for (int i = 0; i < 4; i++)
			good += aio_return(&lc[i]) == 1024 &&
				check_pat(lb[i], 1024, 8192 + (uint64_t)i * 1024, 17) < 0;
		say("lio reads: %d of 4 right", good);
	}

	int p[2];
	if (pipe(p))
		DIE("pipe");
	pipe_w = p[1];
	char pb[16];
	memset(pb, 0, sizeof pb);
	if (write(p[1], "pipe", 4) != 4)
		DIE("write");
	setup_cb(&cb, p[0], pb, sizeof pb, 0);
	if (!go("pipe read, data there", &cb, 0))
		say("pipe data %s", pb);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	memset(pb, 0, sizeof pb);
	setup_cb(&cb, p[0], pb, sizeof pb, 0);
	alarm(1);
	double t0 = now_sec();
	r = aio_read(&cb);
	int fed_in_call = fed;
	say("measure: empty_pipe_submit_ms %d", (int)((now_sec() - t0) * 1000));
	say("measure: empty_pipe_fed_in_call %s", fed_in_call ? "yes" : "no");
	say("empty pipe read: %s", rc(r, errno));
	if (!r) {
		wait_one(&cb);
		say("empty pipe read: %s data %s", result(&cb), pb);
	} else {
		alarm(0);
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	setup_cb(&cb, fd, w, 512, 0);
	cb.aio_sigevent.sigev_notify = SIGEV_SIGNAL;
	cb.aio_sigevent.sigev_signo = SIGUSR1;
	cb.aio_sigevent.sigev_value.sival_int = 42;
	if (!go("write with SIGEV_SIGNAL", &cb, 1)) {
		double end = now_sec() + T_STUCK_SEC;
		while (!sigs && now_sec() < end)
			usleep(1000);
		usleep(100000);
		say("signals: %d, wrong: %d", (int)sigs, (int)sig_bad);
	}
	close(p[0]);
	close(p[1]);
	close(fd);
	return t_finish();
}
