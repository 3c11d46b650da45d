/* The engine's shared state and its internal interface (src/ only). */
#ifndef KAIO_ENGINE_H
#define KAIO_ENGINE_H

#include <pthread.h>
#include <stdint.h>

#include "kaio.h"
#include "list.h"
#include "ring.h"
#include "table.h"

enum kaio_state { KAIO_QUEUED, KAIO_BARRIER, KAIO_SUBMITTED, KAIO_DONE };

struct kaio_req {
	struct iocb iocb;
	struct aiocb *cb;
	struct kaio_list live;	/* eng.live while not DONE */
	struct kaio_list q;	/* eng.pending, eng.barriers, eng.done or eng.free */
	unsigned long seq;
	unsigned wait;		/* BARRIER: earlier writes not yet done */
	int fd;
	unsigned char op;
	unsigned char state;
};

#define TAG_MAGIC 0x6b61696f00000000ull
#define TAG_BUSY (TAG_MAGIC | 1)
#define TAG_DONE (TAG_MAGIC | 2)
#define TAG_FOREIGN (TAG_MAGIC | 3)

#define EVENTS_MAX 64

struct kaio_engine {
	pthread_mutex_t lock;
	int ctx_err;		/* 0: not tried yet or ready; <0: io_setup's error */
	io_context_t ctx;
	unsigned depth, in_kernel, nlive;
	struct iocb **batch;
	struct kaio_table *table;
	struct kaio_list live, pending, barriers, done, free;
	unsigned long seq;
	int reaper;
	unsigned waiters;
	unsigned gen;		/* futex word */
	int foreign;
	struct kaio_stats st;
};

extern struct kaio_engine eng;

static inline uint64_t *kaio_tag_of(const struct aiocb *cb)
{
	return (uint64_t *)(void *)cb->__glibc_reserved;
}

static inline uint64_t kaio_tag_get(const struct aiocb *cb)
{
	return __atomic_load_n(kaio_tag_of(cb), __ATOMIC_ACQUIRE);
}

static inline void kaio_tag_set(struct aiocb *cb, uint64_t v)
{
	__atomic_store_n(kaio_tag_of(cb), v, __ATOMIC_RELEASE);
}

/* Publishes a final result: readers that see __error_code see the rest. */
static inline void kaio_result_set(struct aiocb *cb, long res)
{
	cb->__return_value = res < 0 ? -1 : res;
	kaio_tag_set(cb, TAG_DONE);
	__atomic_store_n(&cb->__error_code, res < 0 ? (int)-res : 0, __ATOMIC_RELEASE);
}

/* Takes the lock, initializing the engine on first use. */
void kaio_engine_enter(void);
/* Lock held below. */
int kaio_ctx_get(void);
void kaio_req_complete(struct kaio_req *r, long res);
void kaio_pending_submit(void);
int kaio_events_reap(void);
void kaio_events_handle(const struct io_event *ev, int n);
void kaio_waiters_wake(void);
/* Without the lock: one (all = 0) or every (all = 1) listed request. */
int kaio_wait(const struct aiocb *const list[], int nent, int all,
	      const struct timespec *timeout);

#endif
