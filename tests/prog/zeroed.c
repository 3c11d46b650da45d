/* A zeroed aiocb (memset 0, then only fd, buffer, size, offset set): its
 * sigevent is SIGEV_SIGNAL (0) with signal 0, which means no notification.
 * The round trip works, no signal arrives (handlers on every catchable
 * signal count), and it starts nothing: under kaio the process keeps one
 * thread (measure: threads, threads_after; run.sh's rules; glibc has
 * its helpers). Also
 * lio_listio with zeroed aiocbs and a zeroed list sigevent. */
#include "common.h"

static volatile sig_atomic_t got[NSIG];

static void on_signal(int sig)
{
	got[sig]++;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP && s != SIGSEGV && s != SIGBUS &&
		    s != SIGFPE && s != SIGILL && s != SIGABRT && s != SIGTERM &&
		    s != SIGCHLD && s != SIGWINCH && s != SIGURG && s != SIGCONT)
			sigaction(s, &sa, NULL);

	char *path = tpath("zeroed");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char w[4096], r[4096];
	fill_pat(w, sizeof w, 0, 14);
	struct aiocb cb;
	memset(&cb, 0, sizeof cb);
	cb.aio_fildes = fd;
	cb.aio_buf = w;
	cb.aio_nbytes = sizeof w;
	say("sigev_notify %s, signo %d",
	    cb.aio_sigevent.sigev_notify == SIGEV_SIGNAL ? "SIGEV_SIGNAL" : "other",
	    cb.aio_sigevent.sigev_signo);
	say("aio_write: %s", RC(aio_write(&cb)));
	poll_one(&cb);
	say("write: %s", result(&cb));
	memset(&cb, 0, sizeof cb);
	memset(r, 0, sizeof r);
	cb.aio_fildes = fd;
	cb.aio_buf = r;
	cb.aio_nbytes = sizeof r;
	say("aio_read: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("read: %s", result(&cb));
	say("data %s", memcmp(w, r, sizeof r) ? "DIFFERS" : "ok");

	struct aiocb cbs[8];
	struct aiocb *list[8];
	unsigned char b[8][512];
	for (int i = 0; i < 8; i++) {
		memset(&cbs[i], 0, sizeof cbs[i]);
		cbs[i].aio_fildes = fd;
		cbs[i].aio_buf = b[i];
		cbs[i].aio_nbytes = 512;
		cbs[i].aio_offset = i * 512;
		/* aio_lio_opcode 0 is LIO_READ */
		list[i] = &cbs[i];
	}
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	say("lio_listio LIO_NOWAIT, zeroed sigevent: %s",
	    RC(lio_listio(LIO_NOWAIT, list, 8, &sev)));
	wait_list(list, 8);
	int good = 0;
	for (int i = 0; i < 8; i++)
		good += aio_return(&cbs[i]) == 512 && !memcmp(b[i], w + i * 512, 512);
	say("lio_listio: %d of 8 right", good);
	struct aiocb fs;
	memset(&fs, 0, sizeof fs);
	fs.aio_fildes = fd;
	say("aio_fsync: %s", RC(aio_fsync(O_SYNC, &fs)));
	/* Counted with a request just submitted: glibc's helper exists now
	 * (it idles out after 1 s, so not counted at the end for glibc). */
	say("measure: threads %d", count_threads());
	wait_one(&fs);
	say("fsync: %s", result(&fs));

	usleep(200000);
	int n = 0;
	for (int s = 1; s < NSIG; s++)
		if (got[s]) {
			say("signal %d arrived %d time(s)", s, (int)got[s]);
			n++;
		}
	say("signals: %d", n);
	say("measure: threads_after %d", count_threads());
	return t_finish();
}
