/*
 * Making a request on the engine and waiting for its result, for the unit
 * tests. Needs kaio.h and cmocka.h first.
 */
#ifndef KAIO_TEST_REQ_H
#define KAIO_TEST_REQ_H

#include <string.h>

static inline void prep(struct aiocb *cb, int f, const void *buf, size_t n, off_t off)
{
	memset(cb, 0, sizeof *cb);
	cb->aio_fildes = f;
	cb->aio_buf = (void *)buf;
	cb->aio_nbytes = n;
	cb->aio_offset = off;
}

static inline void wait_one(struct aiocb *cb)
{
	const struct aiocb *l[1] = { cb };

	while (kaio_error(cb) == EINPROGRESS)
		assert_int_equal(kaio_suspend(l, 1, NULL), 0);
}

static inline ssize_t result(struct aiocb *cb)
{
	ssize_t res = -2;

	wait_one(cb);
	assert_int_equal(kaio_return(cb, &res), 0);
	return res;
}

/* op of n bytes at off on f, times times, each with the result want. */
static inline void io_times(int f, enum kaio_op op, void *buf, size_t n, off_t off,
			    int times, ssize_t want)
{
	struct aiocb cb;

	for (int i = 0; i < times; i++) {
		prep(&cb, f, buf, n, off);
		assert_int_equal(kaio_submit(&cb, op), 0);
		assert_int_equal(result(&cb), want);
	}
}

#endif
