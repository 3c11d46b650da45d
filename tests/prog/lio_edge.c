/* lio_listio edge cases whose answer is whatever glibc does (recorded here,
 * compared under kaio):
 *   nent -1 (LIO_WAIT, LIO_NOWAIT): glibc returns 0 (a VLA sized by nent:
 *   INT_MIN crashes glibc with SIGBUS, so it is not tried);
 *   an entry with aio_reqprio out of range (-1, 21) among good ones;
 *   an entry with an unknown aio_lio_opcode (7, -1) among good ones;
 *   the same bad entries alone in a list.
 * glibc (2.36): a bad reqprio fails at enqueue: LIO_WAIT -1 EIO (-1 EINVAL if
 * it is the only entry), LIO_NOWAIT -1 EINVAL; the entry holds EINVAL/-1 and
 * the others run. An unknown opcode fails in flight: EINVAL/-1 in the entry,
 * LIO_WAIT -1 EIO, LIO_NOWAIT 0. */
#include "common.h"

#define BS 512

/* "" for compared lines; "measure: " while recording glibc quirks that a
 * program cannot rely on and kaio need not copy. */
static const char *pfx = "";

static void show(const char *what, struct aiocb *cbs, int n, int fd)
{
	(void)fd;
	for (int i = 0; i < n; i++) {
		int e = aio_error(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		say("%s%s entry %d: error %s return %zd", pfx, what, i, errname(e), r);
	}
}

static void listtest(const char *what, int mode, int fd, int badfield, int badval)
{
	struct aiocb cbs[3];
	struct aiocb *list[3];
	unsigned char buf[3][BS];
	for (int i = 0; i < 3; i++) {
		setup_cb(&cbs[i], fd, buf[i], BS, (off_t)i * BS);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	if (badfield == 0)
		cbs[1].aio_reqprio = badval;
	else
		cbs[1].aio_lio_opcode = badval;
	say("%s%s: %s", pfx, what, RC(lio_listio(mode, list, 3, NULL)));
	if (mode == LIO_NOWAIT)
		wait_list(list, 3);
	show(what, cbs, 3, fd);
	for (int i = 0; i < 3; i += 2)
		say("%s%s entry %d data %s", pfx, what, i,
		    check_pat(buf[i], BS, (uint64_t)i * BS, 2) < 0 ? "ok" : "DIFFERS");

	/* The bad entry alone. */
	say("%s%s alone: %s", pfx, what, RC(lio_listio(mode, &list[1], 1, NULL)));
	if (mode == LIO_NOWAIT)
		wait_list(&list[1], 1);
	show(what, &cbs[1], 1, fd);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("lio_edge");
	make_pat_file(path, 16 * BS, 2);
	int fd = xopen(path, O_RDWR);

	struct aiocb cb;
	char x[16];
	setup_cb(&cb, fd, x, sizeof x, 0);
	cb.aio_lio_opcode = LIO_READ;
	struct aiocb *one[1] = { &cb };
	say("LIO_WAIT nent -1: %s", RC(lio_listio(LIO_WAIT, one, -1, NULL)));
	say("LIO_NOWAIT nent -1: %s", RC(lio_listio(LIO_NOWAIT, one, -1, NULL)));
	say("bad mode nent -1: %s", RC(lio_listio(5, one, -1, NULL)));

	listtest("LIO_WAIT reqprio -1", LIO_WAIT, fd, 0, -1);
	listtest("LIO_WAIT reqprio 21", LIO_WAIT, fd, 0, 21);
	listtest("LIO_NOWAIT reqprio 21", LIO_NOWAIT, fd, 0, 21);
	listtest("LIO_WAIT opcode 7", LIO_WAIT, fd, 1, 7);
	listtest("LIO_WAIT opcode -1", LIO_WAIT, fd, 1, -1);
	listtest("LIO_NOWAIT opcode 7", LIO_NOWAIT, fd, 1, 7);
	/* glibc's internal opcodes: it masks the opcode with 127 (128 marks a
	 * *64 request: 128 reads) and 3/4 are its LIO_DSYNC/LIO_SYNC. Not part
	 * of the API: recorded, not compared. */
	pfx = "measure: ";
	listtest("opcode_128", LIO_WAIT, fd, 1, 128);
	listtest("opcode_3", LIO_WAIT, fd, 1, 3);
	listtest("opcode_4", LIO_WAIT, fd, 1, 4);
	return t_finish();
}
