/*
 * KAIO_* environment variables, read once with secure_getenv (a set-uid
 * program cannot be steered by its caller). An empty value is unset.
 * Parsing is strict: a bad value gets one "kaio:" warning and the default.
 * Diagnostics go to stderr with write(2): no stdio, so they are safe anywhere.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kaio.h"

#define KAIO_DEPTH_DEFAULT 256u
#define KAIO_DEPTH_MAX 65536u

struct kaio_config kaio_config = {
	.queue_depth = KAIO_DEPTH_DEFAULT, .uring = KAIO_URING_AUTO, .inline_io = 1
};

static void vsay(const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof buf, "kaio: ");

	n += vsnprintf(buf + n, sizeof buf - n, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): callers va_start it */
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void kaio_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void kaio_debug_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

/* A value as it can be shown on one line: at most 64 bytes, the rest as '?'. */
static const char *shown(const char *s, char out[65])
{
	int i;

	for (i = 0; i < 64 && s[i]; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = 0;
	return out;
}

/* Decimal digits only, no sign, no spaces, no suffix, within [min, max]. */
static unsigned env_uint(const char *name, unsigned def, unsigned min, unsigned max)
{
	const char *s = secure_getenv(name);
	unsigned long v = 0;
	const char *p;

	if (!s || !*s)
		return def;
	for (p = s; *p >= '0' && *p <= '9' && v <= max; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (p == s || *p || v < min || v > max) {
		char buf[65];

		kaio_say("ignoring %s='%s': expected an integer from %u to %u; using %u",
			 name, shown(s, buf), min, max, def);
		return def;
	}
	return (unsigned)v;
}

static int env_word(const char *name, const char *const words[], int n, int def)
{
	const char *s = secure_getenv(name);

	if (!s || !*s)
		return def;
	for (int i = 0; i < n; i++)
		if (!strcmp(s, words[i]))
			return i;
	char buf[65];

	kaio_say("ignoring %s='%s': expected %s, %s or %s; using %s",
		 name, shown(s, buf), words[0], words[1], words[2], words[def]);
	return def;
}

/*
 * KAIO_STATS_FILE: an absolute path in which %p stands for the pid and %%
 * for a '%'; a final '/' names a directory, the file being kaio.%p.stats in
 * it. Kept as given: statfile.c expands it in the process that opens it.
 */
static const char *env_path(const char *name)
{
	static char path[PATH_MAX];
	const char *s = secure_getenv(name);
	const char *p;

	if (!s || !*s)
		return NULL;
	for (p = s; *p; p++)
		if (*p == '%' && (p[1] == 'p' || p[1] == '%'))
			p++;
		else if (*p == '%' || (unsigned char)*p < 0x20 || *p == 0x7f)
			break;
	if (*s != '/' || *p || p - s > PATH_MAX - 64) {
		char buf[65];

		kaio_say("ignoring %s='%s': expected an absolute path "
			 "(%%p: the pid, %%%%: a %%, a final /: a directory); using none",
			 name, shown(s, buf));
		return NULL;
	}
	memcpy(path, s, (size_t)(p - s) + 1);
	return path;
}

void kaio_config_load(void)
{
	static const char *const fallbacks[] = { "glibc", "sync", "error" };
	static const char *const urings[] = { "auto", "0", "1" };
	static const enum kaio_uring_mode uring_modes[] = {
		KAIO_URING_AUTO, KAIO_URING_NEVER, KAIO_URING_REQUIRED
	};

	kaio_config.debug = (int)env_uint("KAIO_DEBUG", 0, 0, 1);
	kaio_config.stats = (int)env_uint("KAIO_STATS", 0, 0, 1);
	kaio_config.stats_file = env_path("KAIO_STATS_FILE");
	kaio_config.queue_depth = env_uint("KAIO_QUEUE_DEPTH", KAIO_DEPTH_DEFAULT,
					   1, KAIO_DEPTH_MAX);
	kaio_config.fallback = (enum kaio_fallback)env_word("KAIO_FALLBACK", fallbacks, 3,
							    KAIO_FALLBACK_GLIBC);
	kaio_config.uring = uring_modes[env_word("KAIO_URING", urings, 3, 0)];
	kaio_config.inline_io = (int)env_uint("KAIO_INLINE", 1, 0, 1);
}
