/* aiocbs whose private fields (__next_prio, __abs_prio, __policy,
 * __error_code, __return_value, __glibc_reserved) hold garbage when they are
 * submitted, compared with glibc, which overwrites them and never reads them
 * before. Patterns: all bytes 0xFF, 0xA5, 0x00 with __error_code
 * EINPROGRESS, pseudo-random bytes, the 8-byte words 0x6b61696f0000000N
 * (N = 1..4) with __error_code EINPROGRESS (what a tag-keeping
 * implementation might take for its own marks), and copies of aiocbs in every state an
 * implementation leaves behind (a struct assignment from an aiocb in flight,
 * completed, returned, or one served by the other engine): a program that
 * builds its aiocbs by copying a template or a used aiocb does this.
 * For each: aio_read (data right), aio_write (read back), aio_fsync, and an
 * entry of lio_listio (LIO_WAIT); aio_error, aio_return and aio_suspend on
 * it then behave as for a clean aiocb. */
#include "common.h"
#include <stddef.h>

#define BS 4096
#define SEED 81
#define NPAT 8		/* garbage patterns; copies of used aiocbs follow */

static int fd;
static unsigned char *rbuf, *wbuf;
static struct aiocb model[8];	/* the states to copy, see main */
static const char *model_name[8];
static int nmodel;

/* Fill cb's private part with pattern k, then its public fields. */
static void dirty(struct aiocb *cb, int k, int op, void *buf, off_t off)
{
	unsigned char *p = (unsigned char *)cb;
	size_t priv = offsetof(struct aiocb, __next_prio);
	size_t pend = offsetof(struct aiocb, aio_offset);
	size_t res = offsetof(struct aiocb, __glibc_reserved);
	if (k >= NPAT) {
		*cb = model[k - NPAT];
	} else if (k >= 4) {
		for (size_t i = priv; i < pend; i++)
			p[i] = 0x5C;
		for (size_t i = res; i + 8 <= sizeof *cb; i += 8) {
			uint64_t w = 0x6b61696f00000000ull | (uint64_t)(k - 3);
			memcpy(p + i, &w, 8);
		}
		cb->__error_code = EINPROGRESS;
	} else {
		for (size_t i = 0; i < sizeof *cb; i++) {
			unsigned char v = k == 0 ? 0xFF : k == 1 ? 0xA5 : k == 2 ? 0
				: (unsigned char)(i * 2654435761u >> 13);
			if ((i >= priv && i < pend) || i >= res)
				p[i] = v;
		}
		if (k == 2)
			cb->__error_code = EINPROGRESS;
	}
	cb->aio_fildes = fd;
	cb->aio_lio_opcode = op;
	cb->aio_reqprio = 0;
	cb->aio_buf = buf;
	cb->aio_nbytes = BS;
	memset(&cb->aio_sigevent, 0, sizeof cb->aio_sigevent);
	cb->aio_sigevent.sigev_notify = SIGEV_NONE;
	cb->aio_offset = off;
}

static const char *pname(int k)
{
	static const char *n[NPAT] = { "0xFF", "0xA5", "zero+EINPROGRESS", "random",
				       "words 0x6b61696f00000001+EINPROGRESS",
				       "words 0x6b61696f00000002+EINPROGRESS",
				       "words 0x6b61696f00000003+EINPROGRESS",
				       "words 0x6b61696f00000004+EINPROGRESS" };
	return k < NPAT ? n[k] : model_name[k - NPAT];
}

static void check_cb(int k)
{
	struct aiocb cb;
	off_t off = (off_t)(k % 8) * BS;

	/* aio_read */
	dirty(&cb, k, LIO_READ, rbuf, off);
	memset(rbuf, 0xEE, BS);
	const char *s = RC(aio_read(&cb));
	if (!strcmp(s, "0")) {
		wait_one(&cb);
		const struct aiocb *l[1] = { &cb };
		struct timespec z = { 0, 0 };
		char sus[80];
		snprintf(sus, sizeof sus, "%s", RC(aio_suspend(l, 1, &z)));
		say("%s: aio_read: 0, %s, suspend %s, data %s", pname(k), result(&cb), sus,
		    check_pat(rbuf, BS, (uint64_t)off, SEED) < 0 ? "ok" : "WRONG");
	} else {
		say("%s: aio_read: %s", pname(k), s);
	}

	/* aio_write to block 16+k, read back with pread */
	off_t woff = (off_t)(16 + k) * BS;
	dirty(&cb, k, LIO_WRITE, wbuf, woff);
	fill_pat(wbuf, BS, (uint64_t)woff, SEED + 1);
	s = RC(aio_write(&cb));
	if (!strcmp(s, "0")) {
		wait_one(&cb);
		unsigned char got[BS];
		xpread_all(fd, got, BS, woff);
		say("%s: aio_write: 0, %s, on disk %s", pname(k), result(&cb),
		    check_pat(got, BS, (uint64_t)woff, SEED + 1) < 0 ? "ok" : "WRONG");
	} else {
		say("%s: aio_write: %s", pname(k), s);
	}

	/* aio_fsync */
	dirty(&cb, k, 0, NULL, 0);
	s = RC(aio_fsync(O_SYNC, &cb));
	if (!strcmp(s, "0")) {
		wait_one(&cb);
		say("%s: aio_fsync: 0, %s", pname(k), result(&cb));
	} else {
		say("%s: aio_fsync: %s", pname(k), s);
	}

	/* lio_listio entry */
	struct aiocb c2[2];
	dirty(&c2[0], k, LIO_READ, rbuf, off);
	dirty(&c2[1], (k + 1) % (NPAT + nmodel), LIO_NOP, NULL, 0);
	struct aiocb *list[2] = { &c2[0], &c2[1] };
	memset(rbuf, 0xEE, BS);
	s = RC(lio_listio(LIO_WAIT, list, 2, NULL));
	say("%s: lio_listio: %s, entry %s, data %s", pname(k), s, result(&c2[0]),
	    check_pat(rbuf, BS, (uint64_t)off, SEED) < 0 ? "ok" : "WRONG");
}

static void callback(union sigval v)
{
	(void)v;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("hostile_reserved");
	make_pat_file(path, 64 * BS, SEED);
	fd = xopen(path, O_RDWR);
	rbuf = xmalloc(BS);
	wbuf = xmalloc(BS);
	unsigned char *mb = xmalloc(BS);

	/* The states an implementation leaves in an aiocb, copied. */
	int p[2];
	if (pipe(p))
		DIE("pipe");
	struct aiocb inflight;
	char c;
	setup_cb(&inflight, p[0], &c, 1, 0);
	if (aio_read(&inflight))
		DIE("aio_read");
	usleep(10000);
	model[nmodel] = inflight;
	model_name[nmodel++] = "copy of a pipe read in flight";

	struct aiocb done;
	setup_cb(&done, fd, mb, BS, 0);
	if (aio_read(&done))
		DIE("aio_read");
	wait_one(&done);
	model[nmodel] = done;
	model_name[nmodel++] = "copy of a completed read";
	aio_return(&done);
	model[nmodel] = done;
	model_name[nmodel++] = "copy of a returned read";

	/* One with a SIGEV_THREAD notification (served by another path in
	 * some implementations), copied while its callback is still owed. */
	struct aiocb th;
	setup_cb(&th, p[0], &c, 1, 0);
	th.aio_sigevent.sigev_notify = SIGEV_THREAD;
	th.aio_sigevent.sigev_notify_function = callback;
	th.aio_sigevent.sigev_value.sival_int = 1000;
	if (aio_read(&th))
		DIE("aio_read SIGEV_THREAD");
	usleep(10000);
	model[nmodel] = th;
	model_name[nmodel++] = "copy of a SIGEV_THREAD read in flight";

	for (int k = 0; k < NPAT + nmodel; k++)
		check_cb(k);

	if (write(p[1], "ab", 2) != 2)
		DIE("write");
	wait_one(&inflight);
	wait_one(&th);
	say("the originals: %s; %s", result(&inflight), result(&th));
	close(p[0]);
	close(p[1]);
	close(fd);
	return t_finish();
}
