/*
 * kaio-check: what `kaio --check [PROGRAM]` prints. The wrapper runs it as
 *
 *   kaio-check LIB [PROGRAM]      one line per finding, then the verdict;
 *                                 exit 0 when kaio will serve, 1 when not
 *   kaio-check --loadable PROGRAM says on stderr (as "kaio: ...") when
 *                                 LD_PRELOAD cannot reach PROGRAM; exit 0
 *   kaio-check --stats TARGET...  statistics lines from KAIO_STATS_FILE
 *                                 files (kaio-stats.c)
 *
 * PROGRAM is a path (the wrapper has searched PATH). The KAIO_* variables
 * are read as the library reads them (the wrapper has checked them). LIB
 * may hold ld.so's $LIB token, which this build expands as ld.so does in
 * a process of its own class (lib/MULTIARCH). A PROGRAM of the other class
 * (a 32-bit one for the 64-bit kaio-check) is checked by the kaio-check of
 * that class, beside that class's library: this one executes it.
 *
 * Findings, in this order:
 * - kernel AIO: io_setup at the queue depth, halved on EAGAIN as the
 *   library does, in a child: under a seccomp filter io_setup may kill
 *   instead of failing. fs.aio-nr before and with the ring says how much
 *   of fs.aio-max-nr one context takes and how much is left.
 * - seccomp mode and filter count of this process (inherited by PROGRAM).
 * - io_uring: io_uring_setup in a child, kernel.io_uring_disabled, and
 *   whether the library uses io_uring at all (it names KAIO_URING).
 * - the library: dlopen(RTLD_NOW) as ld.so would load it, the objects it
 *   brings in, and the 17 POSIX AIO names defined by it (dladdr).
 * - PROGRAM: a #! script is followed to its interpreter; then the ELF
 *   class, PT_INTERP (none: static), whether exec would be in secure mode
 *   (set-user-ID or set-group-ID to someone else, file capabilities): ld.so
 *   then ignores LD_PRELOAD paths. The POSIX AIO names imported by the
 *   program (undefined in .dynsym) and by the libraries ld.so --list says
 *   it loads (only when its interpreter is the system's own).
 * The probes run before the library is loaded, so no code of kaio's runs in
 * the children.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define DEPTH_DEFAULT 256u
#define DEPTH_MAX 65536u

#ifndef MULTIARCH
#define MULTIARCH "x86_64-linux-gnu"
#endif
/* This build's class and the other one, as ld.so's $LIB names them. */
#if defined __x86_64__
#define OWN_CLASS ELFCLASS64
#define OWN_MACHINE EM_X86_64
#define OWN_WHAT "x86-64"
#define PEER_MA "i386-linux-gnu"
#define PEER_WHAT "32-bit (i386)"
#else
#define OWN_CLASS ELFCLASS32
#define OWN_MACHINE EM_386
#define OWN_WHAT "i386"
#define PEER_MA "x86_64-linux-gnu"
#define PEER_WHAT "64-bit (x86-64)"
#endif

static const char *const aio_names[] = {
	"aio_read", "aio_write", "aio_error", "aio_return", "aio_suspend",
	"aio_cancel", "aio_fsync", "lio_listio", "aio_init",
	"aio_read64", "aio_write64", "aio_error64", "aio_return64", "aio_suspend64",
	"aio_cancel64", "aio_fsync64", "lio_listio64",
};
#define NNAMES (int)(sizeof aio_names / sizeof *aio_names)
#define FIRST64 9

static int served = 1;

int kaio_stats_main(int argc, char **argv);	/* kaio-stats.c */

/* tmpl with every $LIB made lib/MA, as ld.so expands it in a process of that class. */
static const char *lib_expand(const char *tmpl, const char *ma, char *out, size_t len)
{
	size_t n = 0;

	for (const char *p = tmpl; *p && n + 1 < len; ) {
		if (!strncmp(p, "$LIB", 4)) {
			n += (size_t)snprintf(out + n, len - n, "lib/%s", ma);
			p += 4;
		} else {
			out[n++] = *p++;
		}
	}
	out[n < len ? n : len - 1] = 0;
	return out;
}

/* The kaio-check of the other class, beside its library. */
static const char *peer_helper(const char *tmpl, char *out, size_t len)
{
	char *slash;

	lib_expand(tmpl, PEER_MA, out, len);
	slash = strrchr(out, '/');
	snprintf(slash ? slash + 1 : out, len - (size_t)(slash ? slash + 1 - out : 0), "kaio-check");
	return out;
}

static void say(const char *label, const char *mark, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(const char *label, const char *mark, const char *fmt, ...)
{
	va_list ap;

	printf("%-11s %-4s", label, mark);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static const char *errname(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "?";
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* As the library: decimal digits only, within [min, max]; empty is unset. */
static unsigned env_uint(const char *name, unsigned def, unsigned max, int *set)
{
	const char *s = getenv(name);
	unsigned long v = 0;
	const char *p;

	*set = 0;
	if (!s || !*s)
		return def;
	for (p = s; *p >= '0' && *p <= '9' && v <= max; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (*p || v < 1 || v > max)
		return def;
	*set = 1;
	return (unsigned)v;
}

static const char *env_word(const char *name, const char *def)
{
	const char *s = getenv(name);

	return s && *s ? s : def;
}

/* --- probes in a child ----------------------------------------------------- */

struct probe {
	int err;		/* 0 or the errno of the last try */
	unsigned got;		/* ring depth obtained */
	long nr_with;		/* fs.aio-nr while the ring exists */
};

/* Runs fn in a child; 0, or the signal that killed the child. */
static int in_child(void (*fn)(struct probe *, unsigned), unsigned arg, struct probe *out)
{
	int fd[2], status = 0;
	pid_t pid;

	memset(out, 0, sizeof *out);
	if (pipe(fd) < 0)
		return out->err = errno, 0;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		out->err = errno;
		close(fd[0]);
		close(fd[1]);
		return 0;
	}
	if (pid == 0) {
		struct probe p = { 0, 0, -1 };

		close(fd[0]);
		fn(&p, arg);
		_exit(write(fd[1], &p, sizeof p) == sizeof p ? 0 : 1);
	}
	close(fd[1]);
	if (read(fd[0], out, sizeof *out) != sizeof *out)
		memset(out, 0, sizeof *out);
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void aio_probe(struct probe *p, unsigned depth)
{
	unsigned long ctx;

	for (;;) {
		ctx = 0;
		p->err = syscall(SYS_io_setup, depth, &ctx) < 0 ? errno : 0;
		if (p->err != EAGAIN || depth == 1)
			break;
		depth /= 2;
	}
	if (p->err)
		return;
	p->got = depth;
	p->nr_with = read_long("/proc/sys/fs/aio-nr");
	syscall(SYS_io_destroy, ctx);
}

static void uring_probe(struct probe *p, unsigned entries)
{
	struct io_uring_params params;
	long fd;

	memset(&params, 0, sizeof params);
	fd = syscall(__NR_io_uring_setup, entries, &params);
	p->err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close((int)fd);
}

static int seccomp_filters(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "Seccomp_filters: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

static void check_kernel(unsigned depth, int depth_set)
{
	long max = read_long("/proc/sys/fs/aio-max-nr");
	long nr = read_long("/proc/sys/fs/aio-nr");
	int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	int nf = seccomp_filters();
	struct probe p;
	int sig;

	sig = in_child(aio_probe, depth, &p);
	if (sig) {
		say("kernel AIO", "no", "io_setup killed the process with SIG%s (a seccomp filter): "
		    "kaio takes this as ENOSYS and hands every request to KAIO_FALLBACK=%s",
		    sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", env_word("KAIO_FALLBACK", "glibc"));
		served = 0;
	} else if (p.err) {
		const char *why = p.err == ENOSYS ? "no kernel AIO here (qemu-user, WSL 1, a kernel without CONFIG_AIO, or a seccomp filter)" :
				  p.err == EPERM ? "refused, most likely by a seccomp filter" :
				  p.err == EAGAIN ? "fs.aio-max-nr is used up, even io_setup(1) fails" :
				  strerror(p.err);
		say("kernel AIO", "no", "io_setup: %s: %s; kaio hands every request to KAIO_FALLBACK=%s",
		    errname(p.err), why, env_word("KAIO_FALLBACK", "glibc"));
		served = 0;
	} else if (p.got != depth) {
		say("kernel AIO", "ok", "io_setup(%u) = 0 after io_setup(%u) failed EAGAIN: "
		    "kaio will get a ring of %u, not %u", p.got, depth, p.got, depth);
	} else {
		say("kernel AIO", "ok", "io_setup(%u) = 0%s", depth,
		    depth_set ? " (KAIO_QUEUE_DEPTH)" : " (the default depth)");
	}

	if (max < 0 || nr < 0) {
		say("aio-max-nr", "--", "cannot read /proc/sys/fs/aio-nr or aio-max-nr");
	} else if (!p.err && !sig && p.nr_with > nr) {
		long each = p.nr_with - nr;

		say("aio-max-nr", "ok", "fs.aio-nr %ld of fs.aio-max-nr %ld; a ring of %u takes %ld: "
		    "room for %ld more such processes", nr, max, p.got, each, (max - nr) / each);
	} else {
		say("aio-max-nr", p.err == EAGAIN ? "no" : "--", "fs.aio-nr %ld of fs.aio-max-nr %ld (%ld left)",
		    nr, max, max - nr > 0 ? max - nr : 0);
	}

	if (mode == 2)
		say("seccomp", "--", "a filter is active (Seccomp: 2, %d filter%s): io_setup %s under it",
		    nf, nf == 1 ? "" : "s", p.err || sig ? "is refused" : "is allowed");
	else if (mode == 0)
		say("seccomp", "ok", "no filter (Seccomp: 0)");
	else
		say("seccomp", "--", "prctl(PR_GET_SECCOMP): %s", mode < 0 ? errname(errno) : "strict mode");
}

/* The library uses io_uring iff it reads KAIO_URING. */
static int lib_names_uring(const char *lib)
{
	static const char key[] = "KAIO_URING";
	int fd = open(lib, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *m;
	int r = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			r = memmem(m, (size_t)st.st_size, key, sizeof key) != NULL;
			munmap(m, (size_t)st.st_size);
		}
	}
	close(fd);
	return r;
}

static void check_uring(const char *lib)
{
	const char *mode = env_word("KAIO_URING", "auto");
	long disabled = read_long("/proc/sys/kernel/io_uring_disabled");
	char sysctl[64] = "";
	struct probe p;
	int sig, uses = lib_names_uring(lib);

	if (disabled >= 0)
		snprintf(sysctl, sizeof sysctl, ", kernel.io_uring_disabled = %ld", disabled);
	sig = in_child(uring_probe, 4, &p);
	if (sig) {
		say("io_uring", "no", "io_uring_setup killed the process with SIG%s (a seccomp filter)%s",
		    sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", sysctl);
	} else if (p.err) {
		say("io_uring", "no", "io_uring_setup: %s%s%s", errname(p.err),
		    p.err == EPERM && disabled > 0 ? " (refused by kernel.io_uring_disabled)" :
		    p.err == EPERM ? " (a seccomp filter, such as Docker's default profile)" :
		    p.err == ENOSYS ? " (a kernel without io_uring, or a seccomp filter)" : "",
		    sysctl);
	} else {
		say("io_uring", "ok", "io_uring_setup(4) = 0%s", sysctl);
	}
	if (!uses)
		say("", "--", "this library does not use io_uring (it does not read KAIO_URING)");
	else if (!strcmp(mode, "0"))
		say("", "--", "KAIO_URING=0: kaio does not use io_uring");
	else if (sig || p.err)
		say("", "--", "KAIO_URING=%s: kaio works without io_uring (the stats line's uring_error= says why)%s",
		    mode, !strcmp(mode, "1") ? "; it warns once" : "");
	else
		say("", "--", "KAIO_URING=%s: buffered reads that would wait for the disk continue on io_uring", mode);
}

/* --- the library ----------------------------------------------------------- */

struct objs {
	int n;
	char name[64][128];
};

static int obj_add(struct dl_phdr_info *info, size_t size, void *data)
{
	struct objs *o = data;
	const char *b = strrchr(info->dlpi_name, '/');

	(void)size;
	if (!info->dlpi_name[0] || o->n == 64)
		return 0;
	snprintf(o->name[o->n++], sizeof o->name[0], "%s", b ? b + 1 : info->dlpi_name);
	return 0;
}

static int obj_has(const struct objs *o, const char *name)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->name[i], name))
			return 1;
	return 0;
}

static void check_library(const char *lib)
{
	static struct objs before, after;
	char brought[1024] = "", missing[512] = "";
	struct link_map *lm = NULL;
	struct stat st;
	int defined = 0;
	void *h;

	if (stat(lib, &st) < 0 || !S_ISREG(st.st_mode)) {
		say("library", "no", "%s: %s", lib, stat(lib, &st) < 0 ? strerror(errno) : "not a regular file");
		served = 0;
		return;
	}
	if (strpbrk(lib, ": ")) {
		say("library", "no", "%s: ld.so splits LD_PRELOAD at ':' and ' ', so this path cannot be preloaded", lib);
		served = 0;
		return;
	}
	dl_iterate_phdr(obj_add, &before);
	unsetenv("KAIO_STATS");	/* no report from this process */
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		say("library", "no", "%s does not load: %s", lib, dlerror());
		served = 0;
		return;
	}
	dl_iterate_phdr(obj_add, &after);
	for (int i = 0; i < after.n; i++) {
		size_t n = strlen(brought);

		if (!obj_has(&before, after.name[i]) && strcmp(after.name[i], strrchr(lib, '/') ? strrchr(lib, '/') + 1 : lib))
			snprintf(brought + n, sizeof brought - n, "%s%s", n ? " " : "", after.name[i]);
	}
	dlinfo(h, RTLD_DI_LINKMAP, &lm);
	for (int i = 0; i < NNAMES; i++) {
		void *sym = dlsym(h, aio_names[i]);
		Dl_info di;

		if (sym && lm && dladdr(sym, &di) && di.dli_fname && !strcmp(di.dli_fname, lm->l_name)) {
			defined++;
		} else {
			size_t n = strlen(missing);

			snprintf(missing + n, sizeof missing - n, " %s", aio_names[i]);
		}
	}
	if (defined == NNAMES) {
		say("library", "ok", "%s loads and defines the %d POSIX AIO names", lib, NNAMES);
	} else {
		say("library", "no", "%s loads but does not define%s: it is not kaio's library", lib, missing);
		served = 0;
	}
	say("", "--", "it loads into every process: %s", brought[0] ? brought : "(nothing new)");
}

/* --- the program ----------------------------------------------------------- */

struct elf {
	const unsigned char *m;
	size_t size;
	int cls, machine;
	uint64_t phoff, shoff;
	unsigned phnum, shnum;
};

/* A field of an ELF structure of either class, at index i of a table. */
#define ELF_GET(e, T, base, i, f)                                              \
	((e)->cls == ELFCLASS64 ? (uint64_t)((const Elf64_##T *)((e)->m + (base)))[i].f \
				: (uint64_t)((const Elf32_##T *)((e)->m + (base)))[i].f)
#define ELF_SIZE(e, T) ((e)->cls == ELFCLASS64 ? sizeof(Elf64_##T) : sizeof(Elf32_##T))

static int elf_map(const char *path, struct elf *e, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	memset(e, 0, sizeof *e);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	e->size = (size_t)st.st_size;
	e->m = e->size ? mmap(NULL, e->size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	close(fd);
	if (e->m == MAP_FAILED) {
		e->m = NULL;
		snprintf(err, errlen, "cannot map it");
		return -1;
	}
	if (e->size < EI_NIDENT || memcmp(e->m, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "not an ELF file");
		return -1;
	}
	e->cls = e->m[EI_CLASS];
	if ((e->cls != ELFCLASS64 && e->cls != ELFCLASS32) || e->size < ELF_SIZE(e, Ehdr)) {
		snprintf(err, errlen, "an ELF file of unknown class %d", e->cls);
		return -1;
	}
	e->machine = (int)ELF_GET(e, Ehdr, 0, 0, e_machine);
	e->phoff = ELF_GET(e, Ehdr, 0, 0, e_phoff);
	e->shoff = ELF_GET(e, Ehdr, 0, 0, e_shoff);
	e->phnum = (unsigned)ELF_GET(e, Ehdr, 0, 0, e_phnum);
	e->shnum = (unsigned)ELF_GET(e, Ehdr, 0, 0, e_shnum);
	return 0;
}

static void elf_unmap(struct elf *e)
{
	if (e->m)
		munmap((void *)e->m, e->size);
	e->m = NULL;
}

static int in_file(const struct elf *e, uint64_t off, uint64_t len)
{
	return off <= e->size && len <= e->size - off;
}

/* PT_INTERP into buf; 0 when there is none. */
static int elf_interp(const struct elf *e, char *buf, size_t len)
{
	if (!in_file(e, e->phoff, (uint64_t)e->phnum * ELF_SIZE(e, Phdr)))
		return 0;
	for (unsigned i = 0; i < e->phnum; i++) {
		uint64_t off = ELF_GET(e, Phdr, e->phoff, i, p_offset);
		uint64_t sz = ELF_GET(e, Phdr, e->phoff, i, p_filesz);

		if (ELF_GET(e, Phdr, e->phoff, i, p_type) == PT_INTERP && in_file(e, off, sz) && sz) {
			snprintf(buf, len, "%.*s", (int)sz, (const char *)(e->m + off));
			return 1;
		}
	}
	return 0;
}

/* Bit i of *names: aio_names[i] is undefined in .dynsym; -1 without one. */
static int elf_imports(const struct elf *e, unsigned *names, int *dl)
{
	*names = 0;
	*dl = 0;
	if (!e->shoff || !in_file(e, e->shoff, (uint64_t)e->shnum * ELF_SIZE(e, Shdr)))
		return -1;
	for (unsigned i = 0; i < e->shnum; i++) {
		uint64_t link = ELF_GET(e, Shdr, e->shoff, i, sh_link);
		uint64_t off = ELF_GET(e, Shdr, e->shoff, i, sh_offset);
		uint64_t size = ELF_GET(e, Shdr, e->shoff, i, sh_size);
		uint64_t str_off, str_size;

		if (ELF_GET(e, Shdr, e->shoff, i, sh_type) != SHT_DYNSYM || link >= e->shnum)
			continue;
		str_off = ELF_GET(e, Shdr, e->shoff, link, sh_offset);
		str_size = ELF_GET(e, Shdr, e->shoff, link, sh_size);
		if (!in_file(e, off, size) || !in_file(e, str_off, str_size))
			return -1;
		for (uint64_t k = 0; k < size / ELF_SIZE(e, Sym); k++) {
			uint64_t name_off = ELF_GET(e, Sym, off, k, st_name);
			const char *name;

			if (ELF_GET(e, Sym, off, k, st_shndx) != SHN_UNDEF || name_off >= str_size)
				continue;
			name = (const char *)(e->m + str_off + name_off);
			if (!memchr(name, 0, str_size - name_off))
				continue;
			for (int n = 0; n < NNAMES; n++)
				if (!strcmp(name, aio_names[n]))
					*names |= 1u << n;
			if (!strcmp(name, "dlopen") || !strcmp(name, "dlsym"))
				*dl = 1;
		}
		return 0;
	}
	return -1;
}

static void names_str(unsigned names, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; i < NNAMES; i++)
		if (names & (1u << i))
			n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? " " : "", aio_names[i]);
}

/* Why exec of path would run in secure mode (ld.so then ignores LD_PRELOAD paths). */
static int secure_exec(const char *path, const struct stat *st, char *why, size_t len)
{
	struct statvfs vfs;

	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		return 0;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return 0;
	if ((st->st_mode & S_ISUID) && st->st_uid != getuid()) {
		snprintf(why, len, "set-user-ID (owner uid %u, you are uid %u)", (unsigned)st->st_uid, (unsigned)getuid());
		return 1;
	}
	if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != getgid()) {
		snprintf(why, len, "set-group-ID (group gid %u, you are gid %u)", (unsigned)st->st_gid, (unsigned)getgid());
		return 1;
	}
	if (getuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0) {
		snprintf(why, len, "has file capabilities (getcap %s)", path);
		return 1;
	}
	return 0;
}

/* The interpreter of a #! script, resolved on PATH for "/usr/bin/env NAME". */
static int script_interp(const char *path, char *out, size_t len)
{
	char line[512], *p, *q;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (!fgets(line, sizeof line, f) || strncmp(line, "#!", 2)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = line + 2 + strspn(line + 2, " \t");
	q = p + strcspn(p, " \t\n");
	if (q == p)
		return 0;
	snprintf(out, len, "%.*s", (int)(q - p), p);
	if (strcmp(out, "/usr/bin/env") && strcmp(out, "/bin/env"))
		return 1;
	p = q + strspn(q, " \t");
	q = p + strcspn(p, " \t\n");
	if (q == p || *p == '-')
		return 1;
	char name[256], *dirs = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"), *save = NULL;

	snprintf(name, sizeof name, "%.*s", (int)(q - p), p);
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			break;
		snprintf(out, len, "/usr/bin/env");
	}
	free(dirs);
	return 1;
}

/* The path of the dynamic loader this process runs under. */
static int own_interp(char *buf, size_t len)
{
	struct elf e;
	char err[128];
	int r = 0;

	if (elf_map("/proc/self/exe", &e, err, sizeof err) == 0)
		r = elf_interp(&e, buf, len);
	elf_unmap(&e);
	return r;
}

/* POSIX AIO names imported by the libraries ld.so loads for prog. */
static int libs_imports(const char *interp, const char *prog, unsigned *names, char *from, size_t len)
{
	int fd[2], status = 0;
	char line[1024];
	pid_t pid;
	FILE *f;

	*names = 0;
	from[0] = 0;
	if (pipe(fd) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(fd[1], 1);
		if (null >= 0)
			dup2(null, 2);
		close(fd[0]);
		unsetenv("LD_PRELOAD");
		execl(interp, interp, "--list", prog, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	while (f && fgets(line, sizeof line, f)) {
		char *p = strstr(line, " => "), *q;
		unsigned n;
		struct elf e;
		char err[256];
		int dl;

		if (!p || *(p += 4) != '/' || !(q = strstr(p, " (0x")))
			continue;
		*q = 0;
		if (elf_map(p, &e, err, sizeof err) == 0 && elf_imports(&e, &n, &dl) == 0 && n) {
			size_t k = strlen(from);

			*names |= n;
			snprintf(from + k, len - k, "%s%s", k ? " " : "", p);
		}
		elf_unmap(&e);
	}
	if (f)
		fclose(f);
	else
		close(fd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * Follows #! (up to 4 levels, as the kernel) to the ELF file that ld.so
 * would load kaio into. 0 when LD_PRELOAD reaches it, else -1 with why.
 */
static int program_target(const char *prog, char *target, size_t tlen, struct stat *st,
			  char *why, size_t wlen, int verbose)
{
	char interp[PATH_MAX];
	int level;

	snprintf(target, tlen, "%s", prog);
	for (level = 0; level < 4 && script_interp(target, interp, sizeof interp); level++) {
		if (verbose)
			say("program", "--", "%s is a script run by %s", target, interp);
		snprintf(target, tlen, "%s", interp);
	}
	if (stat(target, st) < 0) {
		snprintf(why, wlen, "%s: %s", target, strerror(errno));
		return -1;
	}
	if (secure_exec(target, st, interp, sizeof interp)) {
		snprintf(why, wlen, "%s is %s: ld.so runs it in secure mode and ignores LD_PRELOAD, "
			 "so kaio is not loaded", target, interp);
		return -1;
	}
	return 0;
}

static void check_program(const char *prog, const char *lib_tmpl)
{
	char target[PATH_MAX], why[PATH_MAX + 256], interp[PATH_MAX], own[PATH_MAX], list[512], from[1024];
	unsigned names, lnames = 0;
	struct stat st;
	struct elf e;
	int dl;

	if (program_target(prog, target, sizeof target, &st, why, sizeof why, 1) < 0) {
		say("program", "no", "%s", why);
		served = 0;
		return;
	}
	if (elf_map(target, &e, why, sizeof why) < 0) {
		say("program", "no", "%s: %s", target, why);
		served = 0;
		elf_unmap(&e);
		return;
	}
	if (e.cls != OWN_CLASS) {
		char peer[PATH_MAX];

		say("program", "no", "%s is a %s program: it needs the library of its class, %s, "
		    "and there is none (or no kaio-check beside it): ld.so skips the preload and the "
		    "program runs without kaio", target, PEER_WHAT, lib_expand(lib_tmpl, PEER_MA, peer, sizeof peer));
		served = 0;
		elf_unmap(&e);
		return;
	}
	if (e.machine != OWN_MACHINE) {
		say("program", "no", "%s is not an %s program (e_machine %d)", target, OWN_WHAT, e.machine);
		served = 0;
		elf_unmap(&e);
		return;
	}
	if (!elf_interp(&e, interp, sizeof interp)) {
		say("program", "no", "%s is statically linked: no dynamic loader runs, nothing reads LD_PRELOAD, "
		    "and its POSIX AIO stays glibc's", target);
		served = 0;
		elf_unmap(&e);
		return;
	}
	say("program", "ok", "%s: dynamically linked (%s), %s", target, interp,
	    st.st_mode & (S_ISUID | S_ISGID) ? "set-ID bits that do not change who runs it" : "not set-user-ID");
	if (elf_imports(&e, &names, &dl) < 0) {
		say("imports", "--", "%s has no section headers to read its imported names from", target);
		elf_unmap(&e);
		return;
	}
	elf_unmap(&e);
	if (own_interp(own, sizeof own)) {
		struct stat a, b;

		if (stat(own, &a) == 0 && stat(interp, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
		    libs_imports(interp, target, &lnames, from, sizeof from) < 0)
			say("imports", "--", "%s --list %s failed: its libraries were not looked at", interp, target);
	}
	if (names) {
		names_str(names, list, sizeof list);
		say("imports", "ok", "%s (%s names)", list,
		    !(names & ((1u << FIRST64) - 1)) ? "*64" :
		    names >> FIRST64 ? "plain and *64" : "plain");
	}
	if (lnames) {
		names_str(lnames & ~names, list, sizeof list);
		say("imports", "ok", "through %s: %s", from, list[0] ? list : "the same names");
	}
	if (!names && !lnames) {
		say("imports", "no", "no POSIX AIO name, neither %s nor its libraries: kaio is loaded "
		    "but has nothing to serve%s", target,
		    dl ? " (it calls dlopen/dlsym: names it looks up in a librt it opens itself stay glibc's)" : "");
		served = 0;
	}
}

static int loadable(const char *prog, const char *lib_tmpl)
{
	char target[PATH_MAX], why[PATH_MAX + 256], interp[PATH_MAX], peer[PATH_MAX];
	struct stat st;
	struct elf e;

	if (program_target(prog, target, sizeof target, &st, why, sizeof why, 0) < 0) {
		fprintf(stderr, "kaio: %s\n", why);
		return 0;
	}
	if (elf_map(target, &e, why, sizeof why) < 0) {
		;
	} else if (e.cls != OWN_CLASS && lib_tmpl &&
		   access(lib_expand(lib_tmpl, PEER_MA, peer, sizeof peer), R_OK) < 0) {
		fprintf(stderr, "kaio: %s is a %s program and there is no %s: it runs without kaio\n",
			target, PEER_WHAT, peer);
	} else if (!elf_interp(&e, interp, sizeof interp)) {
		fprintf(stderr, "kaio: %s is statically linked: kaio cannot be loaded into it "
			"(its POSIX AIO stays glibc's)\n", target);
	}
	elf_unmap(&e);
	return 0;
}

/* A program of the other class: its own kaio-check looks at it, once. */
static void to_peer(char **argv)
{
	char target[PATH_MAX], why[PATH_MAX + 256], peer[PATH_MAX];
	struct stat st;
	struct elf e;
	int other;

	if (getenv("KAIO_CHECK_PEER") ||
	    program_target(argv[2], target, sizeof target, &st, why, sizeof why, 0) < 0)
		return;
	other = elf_map(target, &e, why, sizeof why) == 0 && e.cls != OWN_CLASS;
	elf_unmap(&e);
	if (!other || !strstr(argv[1], "$LIB") || access(peer_helper(argv[1], peer, sizeof peer), X_OK) < 0)
		return;
	setenv("KAIO_CHECK_PEER", "1", 1);
	execv(peer, argv);
	unsetenv("KAIO_CHECK_PEER");
}

int main(int argc, char **argv)
{
	char lib[PATH_MAX], peer[PATH_MAX], real[PATH_MAX];
	unsigned depth;
	int depth_set;

	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--loadable"))
		return loadable(argv[2], argc == 4 ? argv[3] : NULL);
	if (argc >= 3 && !strcmp(argv[1], "--stats"))
		return kaio_stats_main(argc - 2, argv + 2);
	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		fputs("usage: kaio-check LIB [PROGRAM] | kaio-check --loadable PROGRAM [LIB] | "
		      "kaio-check --stats TARGET... (run by kaio --check, kaio --show-stats)\n", stderr);
		return 125;
	}
	if (argc == 3)
		to_peer(argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Shown as the file it is: build/lib/<multiarch> are links into build/. */
	if (realpath(lib_expand(argv[1], MULTIARCH, lib, sizeof lib), real))
		snprintf(lib, sizeof lib, "%s", real);
	depth = env_uint("KAIO_QUEUE_DEPTH", DEPTH_DEFAULT, DEPTH_MAX, &depth_set);
	check_kernel(depth, depth_set);
	check_uring(lib);
	check_library(lib);
	if (strstr(argv[1], "$LIB"))
		say("", "--", "%s programs: %s", PEER_WHAT,
		    realpath(lib_expand(argv[1], PEER_MA, peer, sizeof peer), real) ? real :
		    "no library of their class here: they run without kaio");
	if (argc == 3)
		check_program(argv[2], argv[1]);
	if (served)
		printf("kaio will serve %s\n", argc == 3 ? argv[2] : "POSIX AIO here");
	else
		printf("kaio will not serve %s: see the lines marked \"no\"\n",
		       argc == 3 ? argv[2] : "POSIX AIO here");
	return served ? 0 : 1;
}
