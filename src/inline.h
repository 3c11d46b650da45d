/* The hit path (inline.c): I/O the kernel finishes at once, done in the caller. */
#ifndef KAIO_INLINE_H
#define KAIO_INLINE_H

#include <stddef.h>

#include "kaio.h"

/*
 * 1: cb is done, its result published and its notification raised. 0: the
 * engine takes it, *done bytes of it read already (the rest follows them).
 */
int kaio_inline_submit(struct aiocb *cb, enum kaio_op op, size_t *done);
/* A request on fd enters (d = 1) or leaves (d = -1) the engine's live list. */
void kaio_inline_hold(int fd, int d);
void kaio_inline_forget(void);
/* Writes: does fd want F_GETFL flags (kaio_inline_learn) from the engine? */
int kaio_inline_wants(int fd);
void kaio_inline_learn(int fd, int fl);
unsigned long kaio_inline_count(void);
/* No request on fd is in the engine (nor may be: fds beyond the table). */
int kaio_inline_idle(int fd);
/* KAIO_STATS_FILE: the counters into the file now (engine.c). */
void kaio_stats_nudge(void);

#endif
