/*
 * kaio-check --stats TARGET...: what `kaio --show-stats TARGET...` prints,
 * the statistics line of a process from the file its library keeps current
 * (KAIO_STATS_FILE, src/statfile.c), one line per TARGET on stdout, as the
 * library prints it on stderr at exit. Exit 0 when every TARGET had one,
 * 1 when one had none (said on stderr as "kaio: ...").
 *
 * A TARGET of digits only is a pid: the file that process has mapped (read
 * in /proc/PID/maps, while it runs), else KAIO_STATS_FILE expanded for that
 * pid (after it ended, with the variable as it was given to the process).
 * Any other TARGET is the file's path.
 *
 * The file's sequence word is odd while the library writes the fields: the
 * reader copies them until it reads the same even word before and after.
 * A process killed in the middle leaves it odd for good; after a second
 * the fields are taken as they are (each is either the old or the new value).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../src/statfile.h"

int kaio_stats_main(int argc, char **argv);

/* 1: path is a statistics file (of pid, if pid > 0), printed; 0: it is not. */
static int show(const char *path, int pid)
{
	struct kaio_statfile_field f[KAIO_STATFILE_FIELDS];
	const struct kaio_statfile *h;
	struct stat st;
	unsigned n = 0;
	int fd, ok = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)KAIO_STATFILE_SIZE) {
		close(fd);
		return 0;
	}
	h = mmap(NULL, KAIO_STATFILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (h == MAP_FAILED)
		return 0;
	if (memcmp(h->magic, KAIO_STATFILE_MAGIC, sizeof h->magic) ||
	    h->version != KAIO_STATFILE_VERSION || (pid > 0 && h->pid != pid))
		goto out;
	for (int tries = 0;; tries++) {
		uint32_t s1 = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE), s2;

		n = __atomic_load_n(&h->nfields, __ATOMIC_RELAXED);
		if (n > KAIO_STATFILE_FIELDS)
			goto out;
		for (unsigned i = 0; i < n; i++) {
			memcpy(f[i].name, h->f[i].name, sizeof f[i].name);
			memcpy(f[i].text, h->f[i].text, sizeof f[i].text);
			f[i].value = __atomic_load_n(&h->f[i].value, __ATOMIC_RELAXED);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&h->seq, __ATOMIC_RELAXED);
		if ((s1 == s2 && !(s1 & 1)) || tries == 1000)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	fputs("kaio:", stdout);
	for (unsigned i = 0; i < n; i++) {
		f[i].name[sizeof f[i].name - 1] = f[i].text[sizeof f[i].text - 1] = 0;
		if (f[i].text[0])
			printf(" %s=%s", f[i].name, f[i].text);
		else
			printf(" %s=%llu", f[i].name, (unsigned long long)f[i].value);
	}
	putchar('\n');
	ok = 1;
out:
	munmap((void *)h, KAIO_STATFILE_SIZE);
	return ok;
}

/* The file a running process has mapped: a path in /proc/PID/maps. */
static int show_mapped(int pid)
{
	char maps[64], line[PATH_MAX + 128];
	int found = 0;
	FILE *f;

	snprintf(maps, sizeof maps, "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *path = strchr(line, '/');
		size_t len;

		/* Only a shared mapping of exactly one page can be ours. */
		if (!path || !strstr(line, " rw-s ") || strstr(line, " (deleted)"))
			continue;
		len = strlen(path);
		if (len && path[len - 1] == '\n')
			path[len - 1] = 0;
		found = show(path, pid);
	}
	fclose(f);
	return found;
}

/* KAIO_STATS_FILE for pid, as the library expands it (src/statfile.c). */
static int show_named(int pid)
{
	const char *t = getenv("KAIO_STATS_FILE");
	char path[PATH_MAX];
	size_t n = 0;

	if (!t || *t != '/')
		return 0;
	for (const char *p = t; *p && n < sizeof path - 32; p++) {
		if (*p == '%' && p[1] == 'p')
			n += (size_t)snprintf(path + n, sizeof path - n, "%d", pid);
		else
			path[n++] = *p;
		if (*p == '%')
			p++;
	}
	if (n >= sizeof path - 32)
		return 0;
	path[n] = 0;
	if (n && path[n - 1] == '/')
		snprintf(path + n, sizeof path - n, "kaio.%d.stats", pid);
	return show(path, pid);
}

int kaio_stats_main(int argc, char **argv)
{
	int rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < argc; i++) {
		const char *t = argv[i];
		char *end;
		long pid;

		errno = 0;
		pid = strtol(t, &end, 10);
		if (*t >= '0' && *t <= '9' && !*end && !errno && pid > 0 && pid <= INT_MAX) {
			if (show_mapped((int)pid) || show_named((int)pid))
				continue;
			fprintf(stderr, "kaio: pid %ld: no statistics file (%s)\n", pid,
				kill((pid_t)pid, 0) == 0 || errno == EPERM ?
				"it runs, but not with KAIO_STATS_FILE, or has made no POSIX AIO call yet" :
				"it is not running and KAIO_STATS_FILE does not name its file here");
		} else if (!show(t, 0)) {
			struct stat st;

			fprintf(stderr, "kaio: %s: %s\n", t,
				stat(t, &st) < 0 ? strerror(errno) : "not a kaio statistics file");
		} else {
			continue;
		}
		rc = 1;
	}
	return rc;
}
