/* i386's plain struct aiocb: a 32-bit aio_offset, then 4 bytes of padding
 * where struct aiocb64 has the high half. Garbage in the padding must not
 * become offset bits: reads at 4096 and at 0 with the padding set to all
 * ones and to 0x01, a write likewise, and offset -1 (EINVAL, as glibc).
 * Where off_t is 64-bit (x86_64, _FILE_OFFSET_BITS=64) there is no padding
 * and the same calls print the same lines. */
#include "common.h"

#define BS 4096

static void pad(struct aiocb *cb, unsigned char v)
{
#if !defined __USE_FILE_OFFSET64 && __WORDSIZE == 32
	memset(cb->__pad, v, sizeof cb->__pad);
#else
	(void)cb;
	(void)v;
#endif
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("off32_pad");
	make_pat_file(path, 4 * BS, 21);
	int fd = xopen(path, O_RDWR);
	unsigned char b[BS], want[BS];
	static const unsigned char pads[] = { 0xff, 0x01, 0x00 };
	struct aiocb cb;

	for (int i = 0; i < 3; i++) {
		for (off_t off = 0; off <= BS; off += BS) {
			setup_cb(&cb, fd, b, BS, off);
			pad(&cb, pads[i]);
			say("aio_read @%jd pad %02x: %s", (intmax_t)off, pads[i], RC(aio_read(&cb)));
			wait_one(&cb);
			say("read: %s", result(&cb));
			fill_pat(want, BS, (uint64_t)off, 21);
			say("data %s", memcmp(want, b, BS) ? "DIFFERS" : "ok");
		}
	}
	fill_pat(b, BS, 3 * BS, 22);
	setup_cb(&cb, fd, b, BS, 3 * BS);
	pad(&cb, 0x7f);
	say("aio_write @%d pad 7f: %s", 3 * BS, RC(aio_write(&cb)));
	wait_one(&cb);
	say("write: %s", result(&cb));
	memset(want, 0, BS);
	say("pread: %zd", pread(fd, want, BS, 3 * BS));
	say("written where asked: %s", memcmp(want, b, BS) ? "no" : "yes");

	struct aiocb l1, l2, *list[] = { &l1, &l2 };
	unsigned char c1[BS], c2[BS];
	setup_cb(&l1, fd, c1, BS, 0);
	setup_cb(&l2, fd, c2, BS, BS);
	l1.aio_lio_opcode = l2.aio_lio_opcode = LIO_READ;
	pad(&l1, 0xff);
	pad(&l2, 0x02);
	say("lio_listio: %s", RC(lio_listio(LIO_WAIT, list, 2, NULL)));
	say("lio reads: %s, %s", result(&l1), result(&l2));

	setup_cb(&cb, fd, b, BS, -1);
	pad(&cb, 0x00);
	say("aio_read @-1: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("read @-1: %s", result(&cb));
	close(fd);
	return t_finish();
}
