/* aio_suspend:
 *   returns 0 at once when one listed request is already done (the others
 *   pending forever: reads of an empty pipe), wherever it is in the list;
 *   NULL entries are skipped; a list of only NULLs -> 0; nent 0 -> 0;
 *   nent < 0 -> -1 EINVAL;
 *   a list of only pending requests with timeout {0,0} -> -1 EAGAIN, and
 *   with 100 ms -> -1 EAGAIN after about 100 ms;
 *   then the pipe is written and the pending reads complete. */
#include "common.h"

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("suspend");
	make_pat_file(path, 8192, 1);
	int fd = xopen(path, O_RDONLY);
	int p[2];
	if (pipe(p))
		DIE("pipe");

	char pbuf[2][8];
	struct aiocb pr[2];
	for (int i = 0; i < 2; i++) {
		setup_cb(&pr[i], p[0], pbuf[i], 1, 0);
		say("pipe read %d: %s", i, RC(aio_read(&pr[i])));
	}
	char fbuf[100];
	struct aiocb done;
	setup_cb(&done, fd, fbuf, sizeof fbuf, 0);
	say("file read: %s", RC(aio_read(&done)));
	wait_one(&done);
	say("pipe reads: %s %s", errname(aio_error(&pr[0])), errname(aio_error(&pr[1])));

	struct timespec zero = { 0, 0 };
	const struct aiocb *l1[3] = { &pr[0], &pr[1], &done };
	const struct aiocb *l2[3] = { &done, &pr[0], &pr[1] };
	const struct aiocb *l3[5] = { NULL, &pr[0], NULL, &done, NULL };
	const struct aiocb *nul[3] = { NULL, NULL, NULL };
	const struct aiocb *pend[3] = { &pr[0], NULL, &pr[1] };
	say("done last, NULL timeout: %s", RC(aio_suspend(l1, 3, NULL)));
	say("done first, zero timeout: %s", RC(aio_suspend(l2, 3, &zero)));
	say("with NULLs: %s", RC(aio_suspend(l3, 5, NULL)));
	say("only NULLs: %s", RC(aio_suspend(nul, 3, NULL)));
	say("only NULLs, zero timeout: %s", RC(aio_suspend(nul, 3, &zero)));
	say("nent 0: %s", RC(aio_suspend(l1, 0, NULL)));
	say("nent 0, zero timeout: %s", RC(aio_suspend(l1, 0, &zero)));
	say("nent -1: %s", RC(aio_suspend(l1, -1, &zero)));
	say("pending, zero timeout: %s", RC(aio_suspend(pend, 3, &zero)));
	say("one pending, zero timeout: %s", RC(aio_suspend(pend, 1, &zero)));
	struct timespec t100 = { 0, 100 * 1000 * 1000 };
	double t0 = now_sec();
	say("pending, 100 ms: %s", RC(aio_suspend(pend, 3, &t100)));
	double el = now_sec() - t0;
	say("waited %s", el >= 0.095 ? "at least 100 ms" : "TOO LITTLE");
	CHECK(el >= 0.095 && el < 5, "waited %.3f s", el);
	say("measure: waited_ms %.0f", el * 1000);
	say("pipe reads: %s %s", errname(aio_error(&pr[0])), errname(aio_error(&pr[1])));
	say("file read: %s", result(&done));

	/* Complete one pending read: a suspend on both now returns 0. */
	if (write(p[1], "a", 1) != 1)
		DIE("write");
	const struct aiocb *both[2] = { &pr[0], &pr[1] };
	double end = now_sec() + T_STUCK_SEC;
	int r;
	while ((r = aio_suspend(both, 2, NULL)) != 0 || (aio_error(&pr[0]) == EINPROGRESS &&
							  aio_error(&pr[1]) == EINPROGRESS)) {
		if (r == -1 && errno != EINTR)
			DIE("aio_suspend: %s", errname(errno));
		if (now_sec() > end)
			DIE("stuck");
	}
	int e0 = aio_error(&pr[0]), e1 = aio_error(&pr[1]);
	say("after one byte: %s pending", (e0 == EINPROGRESS) + (e1 == EINPROGRESS) == 1 ? "one" : "NOT ONE");
	if (write(p[1], "b", 1) != 1)
		DIE("write");
	wait_one(&pr[0]);
	wait_one(&pr[1]);
	char got[3] = { pbuf[0][0], pbuf[1][0], 0 };
	int r0 = (int)aio_return(&pr[0]), r1 = (int)aio_return(&pr[1]);
	say("pipe reads: return %d %d, bytes %s", r0, r1,
	    (!strcmp(got, "ab") || !strcmp(got, "ba")) ? "a and b" : "WRONG");
	return t_finish();
}
