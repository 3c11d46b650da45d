/* Thread safety: 4 threads share one fd; each writes then reads back its own
 * 2000 blocks, 8 requests in flight at a time, and waits its own way:
 *   thread 0 polls aio_error, thread 1 aio_suspend on its batch,
 *   thread 2 aio_suspend on one request at a time, thread 3 lio_listio
 *   (LIO_WAIT for writes, LIO_NOWAIT + polling for reads).
 * Every result and every byte is verified, and the file at the end. */
#include "common.h"
#include <pthread.h>

#define NT 4
#define NBLK 2000
#define BS 1024
#define QD 8

static int fd;
static int bad[NT];

static void wait_batch(int t, struct aiocb *cbs, int n)
{
	struct aiocb *list[QD];
	for (int i = 0; i < n; i++)
		list[i] = &cbs[i];
	switch (t) {
	case 0:
		for (int i = 0; i < n; i++)
			poll_one(&cbs[i]);
		break;
	case 1: {
		double end = now_sec() + T_STUCK_SEC;
		for (;;) {
			int p = 0;
			for (int i = 0; i < n; i++)
				p += aio_error(&cbs[i]) == EINPROGRESS;
			if (!p)
				break;
			if (aio_suspend((const struct aiocb *const *)list, n, NULL) &&
			    errno != EINTR)
				DIE("aio_suspend: %s", errname(errno));
			if (now_sec() > end)
				DIE("stuck");
		}
		break;
	}
	default:
		wait_list(list, n);
		break;
	}
}

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;
	unsigned char *buf = xmalloc((size_t)QD * BS);
	struct aiocb cbs[QD];
	struct aiocb *list[QD];
	unsigned seed = 100 + (unsigned)t;

	for (int phase = 0; phase < 2; phase++) {
		for (int b0 = 0; b0 < NBLK; b0 += QD) {
			int n = NBLK - b0 < QD ? NBLK - b0 : QD;
			for (int i = 0; i < n; i++) {
				off_t off = (off_t)(t * NBLK + b0 + i) * BS;
				unsigned char *p = buf + (size_t)i * BS;
				if (phase == 0)
					fill_pat(p, BS, (uint64_t)off, seed);
				else
					memset(p, 0xEE, BS);
				setup_cb(&cbs[i], fd, p, BS, off);
				cbs[i].aio_lio_opcode = phase ? LIO_READ : LIO_WRITE;
				list[i] = &cbs[i];
			}
			if (t == 3) {
				int r = lio_listio(phase ? LIO_NOWAIT : LIO_WAIT, list, n, NULL);
				if (r)
					DIE("thread %d lio_listio: %s", t, errname(errno));
				for (int i = 0; i < n; i++)
					poll_one(&cbs[i]);
			} else {
				for (int i = 0; i < n; i++) {
					int r = phase ? aio_read(&cbs[i]) : aio_write(&cbs[i]);
					if (r)
						DIE("thread %d submit: %s", t, errname(errno));
				}
				wait_batch(t, cbs, n);
			}
			for (int i = 0; i < n; i++) {
				int e = aio_error(&cbs[i]);
				ssize_t r = aio_return(&cbs[i]);
				off_t off = cbs[i].aio_offset;
				if (e || r != BS) {
					if (!bad[t])
						fprintf(stderr, "thread %d block at %jd: error %s return %zd\n",
							t, (intmax_t)off, errname(e), r);
					bad[t]++;
				} else if (phase &&
					   check_pat(buf + (size_t)i * BS, BS, (uint64_t)off, seed) >= 0) {
					if (!bad[t])
						fprintf(stderr, "thread %d block at %jd: wrong data\n",
							t, (intmax_t)off);
					bad[t]++;
				}
			}
		}
	}
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("mt");
	fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	pthread_t th[NT];
	for (int t = 0; t < NT; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t))
			DIE("pthread_create");
	for (int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < NT; t++) {
		say("thread %d: %d bad requests", t, bad[t]);
		CHECK(bad[t] == 0, "thread %d", t);
	}
	size_t size = (size_t)NT * NBLK * BS;
	unsigned char *all = xmalloc(size);
	xpread_all(fd, all, size, 0);
	int wrong = 0;
	for (int t = 0; t < NT; t++) {
		size_t o = (size_t)t * NBLK * BS;
		wrong += check_pat(all + o, (size_t)NBLK * BS, o, 100 + (unsigned)t) >= 0;
	}
	say("file %s", wrong ? "WRONG" : "ok");
	CHECK(!wrong, "file");
	return t_finish();
}
