/* aio_cancel right after aio_read on an empty pipe, 500 times, while another
 * pipe read keeps kaio's thread waiting on the kernel (it reaps the events,
 * not the cancelling thread). The read waits for data in a poll, so kaio
 * cancels it for real every time: kaio must first let the reaping thread
 * hand over the read's event. glibc's helper thread may already be blocked
 * in read(2): its answers are informative. Either way the request ends
 * once, and the waiting read still gets its byte. */
#include "common.h"

#define N 500

int main(int argc, char **argv)
{
	int a[2], canc = 0, notc = 0, other = 0, bad = 0;
	char ba[8], bb[8];
	struct aiocb wa, cb;
	const struct aiocb *l[1] = { &cb };

	t_init(argc, argv);
	if (pipe(a))
		DIE("pipe: %s", strerror(errno));
	setup_cb(&wa, a[0], ba, 1, 0);
	if (aio_read(&wa))
		DIE("aio_read: %s", strerror(errno));
	usleep(10000);
	for (int i = 0; i < N; i++) {
		int p[2], r;

		if (pipe(p))
			DIE("pipe: %s", strerror(errno));
		setup_cb(&cb, p[0], bb, 1, 0);
		if (aio_read(&cb))
			DIE("aio_read: %s", strerror(errno));
		r = aio_cancel(i & 1 ? p[0] : cb.aio_fildes, i & 1 ? NULL : &cb);
		if (r == AIO_CANCELED) {
			canc++;
		} else if (r == AIO_NOTCANCELED) {
			notc++;
			if (write(p[1], "x", 1) != 1)
				DIE("write");
		} else {
			other++;
		}
		while (aio_error(&cb) == EINPROGRESS)
			aio_suspend(l, 1, NULL);
		int e = aio_error(&cb);
		ssize_t got = aio_return(&cb);
		/* CANCELED: ECANCELED/-1; NOTCANCELED: the byte written. */
		bad += r == AIO_CANCELED ? !(e == ECANCELED && got == -1)
					 : !(e == 0 && got == 1);
		close(p[0]);
		close(p[1]);
	}
	say("results consistent with the answers: %s", bad ? "NO" : "yes");
	say("other answers: %d", other);
	say("measure: cancel_reaped_elsewhere_notcanceled %d", notc);
	say("measure: cancel_reaped_elsewhere_canceled %d", canc);
	if (write(a[1], "w", 1) != 1)
		DIE("write");
	l[0] = &wa;
	wait_one(&wa);
	say("waiting read: %s byte %c", result(&wa), ba[0]);
	return t_finish();
}
