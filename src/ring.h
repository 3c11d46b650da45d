/* The kernel AIO context and its completion ring. */
#ifndef KAIO_RING_H
#define KAIO_RING_H

#include <libaio.h>

int kaio_ring_setup(io_context_t *ctx, unsigned *depth);
int kaio_ring_ready(io_context_t ctx);
int kaio_ring_reap(io_context_t ctx, struct io_event *ev, int max);

#endif
