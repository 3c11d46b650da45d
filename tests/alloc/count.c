/*
 * A malloc counter, preloaded in front of kaio by tests/alloc.sh: counts
 * malloc, calloc and realloc calls and prints the totals at exit.
 */
#include <stdio.h>
#include <stdlib.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t n, size_t m);
void *realloc(void *p, size_t n);

static unsigned long calls;

void *malloc(size_t n)
{
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	__atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED);
	return __libc_realloc(p, n);
}

__attribute__((destructor)) static void report(void)
{
	fprintf(stderr, "allocations %lu\n", calls);
}
