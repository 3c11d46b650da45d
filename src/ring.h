/* The kernel AIO context and its completion ring. */
#ifndef KAIO_RING_H
#define KAIO_RING_H

#include <libaio.h>

/*
 * 0: no seccomp filter, nothing tried; 1: fn ran in a throwaway child and
 * *status is how it ended (waitpid); -errno: the child could not be made.
 */
int kaio_seccomp_probe(int (*fn)(void *), void *arg, int *status);
int kaio_ring_setup(io_context_t *ctx, unsigned *depth);
int kaio_ring_ready(io_context_t ctx);
int kaio_ring_failed(io_context_t ctx, int n);
int kaio_ring_reap(io_context_t ctx, struct io_event *ev, int max);

#endif
