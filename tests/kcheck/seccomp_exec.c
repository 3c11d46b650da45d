/*
 * seccomp_exec SYSCALL ACTION CMD [ARG]...: runs CMD under a seccomp filter
 * that answers SYSCALL (io_setup or io_uring_setup) with ACTION: enosys or
 * eperm (the call fails with that errno) or kill (SIGSYS kills the process).
 * Everything else is allowed. Exit 77 where the filter cannot be made.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned nr, action;

	if (argc < 4) {
		fprintf(stderr, "usage: %s io_setup|io_uring_setup enosys|eperm|kill CMD [ARG]...\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "io_setup"))
		nr = __NR_io_setup;
	else if (!strcmp(argv[1], "io_uring_setup"))
		nr = __NR_io_uring_setup;
	else
		return fprintf(stderr, "%s: unknown syscall %s\n", argv[0], argv[1]), 2;
	if (!strcmp(argv[2], "enosys"))
		action = SECCOMP_RET_ERRNO | ENOSYS;
	else if (!strcmp(argv[2], "eperm"))
		action = SECCOMP_RET_ERRNO | EPERM;
	else if (!strcmp(argv[2], "kill"))
		action = SECCOMP_RET_KILL_PROCESS;
	else
		return fprintf(stderr, "%s: unknown action %s\n", argv[0], argv[2]), 2;

	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof *f, .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
		printf("skip: seccomp: %s\n", strerror(errno));
		return 77;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "%s: %s: %s\n", argv[0], argv[3], strerror(errno));
	return 127;
}
