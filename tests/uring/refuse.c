/*
 * kaio_uring_get where io_uring may be refused, for tests/uring.sh.
 *
 *   refuse none|CALL-ACTION [handler]
 *
 * CALL-ACTION installs a seccomp filter first: CALL is setup, register or
 * enter (io_uring_setup, _register, _enter), ACTION eperm or enosys (the
 * call fails so), trap (SECCOMP_RET_TRAP: SIGSYS) or kill
 * (SECCOMP_RET_KILL_PROCESS). "handler" installs a SIGSYS handler that
 * counts. Then kaio_uring_get twice (KAIO_* from the environment), and
 * prints
 *   get: ERR WHY      ERR: 0 or the errno name; WHY: the reason, or -
 *   again: same|different
 *   sigsys: N         with "handler": SIGSYS delivered to this process
 * Exit 0 when it got that far (the process survived), 1 otherwise.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kaio.h"
#include "uring.h"

static volatile sig_atomic_t sigsys;

static void on_sigsys(int sig)
{
	(void)sig;
	sigsys++;
}

static int forbid(long nr, unsigned action)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { (unsigned short)(sizeof f / sizeof f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		perror("refuse: seccomp");
		return -1;
	}
	return 0;
}

static int install(const char *mode)
{
	static const struct { const char *name; long nr; } calls[] = {
		{ "setup", SYS_io_uring_setup },
		{ "register", SYS_io_uring_register },
		{ "enter", SYS_io_uring_enter },
	};
	static const struct { const char *name; unsigned action; } actions[] = {
		{ "eperm", SECCOMP_RET_ERRNO | EPERM },
		{ "enosys", SECCOMP_RET_ERRNO | ENOSYS },
		{ "trap", SECCOMP_RET_TRAP },
		{ "kill", SECCOMP_RET_KILL_PROCESS },
	};
	const char *dash = strchr(mode, '-');

	if (!strcmp(mode, "none"))
		return 0;
	for (size_t c = 0; dash && c < sizeof calls / sizeof *calls; c++) {
		if (strncmp(mode, calls[c].name, (size_t)(dash - mode)) ||
		    calls[c].name[dash - mode])
			continue;
		for (size_t a = 0; a < sizeof actions / sizeof *actions; a++)
			if (!strcmp(dash + 1, actions[a].name))
				return forbid(calls[c].nr, actions[a].action);
	}
	fprintf(stderr, "refuse: unknown mode %s\n", mode);
	return -1;
}

int main(int argc, char **argv)
{
	struct kaio_uring_stats st;
	int handler = argc > 2 && !strcmp(argv[2], "handler");
	int efd, a, b;

#ifndef __x86_64__
	printf("skip: the filter is written for x86_64\n");
	return 77;
#endif
	if (argc < 2) {
		fprintf(stderr, "usage: refuse none|CALL-ACTION [handler]\n");
		return 2;
	}
	if (handler)
		signal(SIGSYS, on_sigsys);
	if (install(argv[1]))
		return 1;
	kaio_config_load();
	efd = eventfd(0, EFD_CLOEXEC);
	if (efd < 0)
		return 1;
	a = kaio_uring_get(8, efd);
	b = kaio_uring_get(8, efd);
	kaio_uring_stats_get(&st);
	printf("get: %s %s\n", a ? strerrorname_np(-a) : "0", st.why ? st.why : "-");
	printf("again: %s\n", a == b ? "same" : "different");
	if (handler)
		printf("sigsys: %d\n", (int)sigsys);
	return 0;
}
