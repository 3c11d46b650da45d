/* Streams keep per-direction order with several submitting threads: 2
 * threads aio_write numbered records into a pipe (every 8th one 150 KiB,
 * more than the pipe holds, so it goes in pieces) while 2 threads aio_read
 * it; each call is made under a mutex of its direction, which gives the
 * calls of that direction one global order, and each thread keeps 2 of its
 * own requests in flight. The bytes the reads return, taken in call order,
 * must be exactly the records in call order: no record reordered, split
 * apart by another one, lost or doubled; after the first read that returns 0
 * (end of file) every later one returns 0. Then the same through a unix
 * stream socket whose peer echoes what it gets (writes on one fd, reads on a
 * dup of it: glibc serializes all requests of one fd, reads and writes
 * together, so one fd could not carry both without a deadlock there). */
#include "common.h"
#include <pthread.h>
#include <sys/socket.h>

#define WRITERS 2
#define READERS 2
#define NREC 120
#define BIG (150 * 1024)
#define MAXREADS 200000

static unsigned hash(unsigned long x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15UL;
	return (unsigned)(x >> 29);
}

static size_t rec_len(long seq)
{
	return seq % 8 == 7 ? BIG : 20 + hash((unsigned long)seq) % 4000;
}

static void rec_fill(unsigned char *p, long seq)
{
	size_t n = rec_len(seq);
	for (size_t k = 0; k < n; k++)
		p[k] = (unsigned char)(hash((unsigned long)seq * 1000003u + k) & 0xff);
	snprintf((char *)p, 16, "#%06ld:%07zu", seq, n);
}

struct dir {
	pthread_mutex_t mu;
	long next;
};

static int wfd, rfd;
static struct dir wdir = { PTHREAD_MUTEX_INITIALIZER, 0 }, rdir = { PTHREAD_MUTEX_INITIALIZER, 0 };
static struct aiocb wcb[NREC];
static unsigned char *wbuf[NREC];
static struct aiocb *rcb[MAXREADS];
static ssize_t rres[MAXREADS];
static int rerr[MAXREADS];
static int eof_seen;

static void *writer(void *arg)
{
	long mine[NREC];
	int n = 0, waited = 0;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&wdir.mu);
		long s = wdir.next;
		if (s == NREC) {
			pthread_mutex_unlock(&wdir.mu);
			break;
		}
		wdir.next++;
		setup_cb(&wcb[s], wfd, wbuf[s], rec_len(s), 0);
		if (aio_write(&wcb[s]))
			DIE("aio_write: %s", errname(errno));
		pthread_mutex_unlock(&wdir.mu);
		mine[n++] = s;
		while (n - waited > 2)
			wait_one(&wcb[mine[waited++]]);
	}
	while (waited < n)
		wait_one(&wcb[mine[waited++]]);
	return NULL;
}

static void *reader(void *arg)
{
	long mine[MAXREADS / READERS + 4];
	int n = 0, waited = 0;
	unsigned seed = (unsigned)(uintptr_t)arg;

	for (;;) {
		pthread_mutex_lock(&rdir.mu);
		if (__atomic_load_n(&eof_seen, __ATOMIC_ACQUIRE) || rdir.next == MAXREADS) {
			pthread_mutex_unlock(&rdir.mu);
			break;
		}
		long s = rdir.next++;
		size_t len = 1000 + hash(seed++) % 20000;
		rcb[s] = xcalloc(1, sizeof *rcb[s]);
		setup_cb(rcb[s], rfd, xmalloc(len), len, 0);
		if (aio_read(rcb[s]))
			DIE("aio_read: %s", errname(errno));
		pthread_mutex_unlock(&rdir.mu);
		mine[n++] = s;
		while (n - waited > 2) {
			long i = mine[waited++];
			rerr[i] = wait_one(rcb[i]);
			rres[i] = aio_return(rcb[i]);
			if (rres[i] == 0)
				__atomic_store_n(&eof_seen, 1, __ATOMIC_RELEASE);
		}
	}
	while (waited < n) {
		long i = mine[waited++];
		rerr[i] = wait_one(rcb[i]);
		rres[i] = aio_return(rcb[i]);
	}
	return NULL;
}

/* The reads' bytes in call order against the records in call order. */
static void verify(const char *what)
{
	int failed = 0, data_after_eof = 0;
	long nreads = rdir.next, rec = 0;
	size_t at = 0, got = 0, want = 0;
	int eof = 0;

	for (long s = 0; s < NREC; s++) {
		want += rec_len(s);
		failed += aio_error(&wcb[s]) != 0 || aio_return(&wcb[s]) != (ssize_t)rec_len(s);
	}
	say("%s: %d records, %d writes failed", what, NREC, failed);
	CHECK(failed == 0, "%s writes", what);
	long first_bad = -1;
	for (long s = 0; s < nreads; s++) {
		struct aiocb *cb = rcb[s];
		ssize_t r = rres[s];
		if (rerr[s] != 0) {
			failed++;
			continue;
		}
		if (r == 0) {
			eof = 1;
			continue;
		}
		data_after_eof += eof;
		for (ssize_t k = 0; k < r && first_bad < 0; k++) {
			if (rec >= NREC) {
				first_bad = (long)got;
				break;
			}
			if (((unsigned char *)cb->aio_buf)[k] != wbuf[rec][at]) {
				first_bad = (long)got;
				fprintf(stderr, "%s: byte %zu (record %ld, +%zu) differs; read %ld has \"%.16s\"\n",
					what, got, rec, at, s, (char *)cb->aio_buf + k);
				break;
			}
			got++;
			if (++at == rec_len(rec)) {
				at = 0;
				rec++;
			}
		}
		if (first_bad < 0)
			continue;
		break;
	}
	say("%s: %d reads failed, reads with data after end of file: %d", what, failed,
	    data_after_eof);
	say("measure: %s_reads %ld", what, nreads);
	if (first_bad < 0 && got == want)
		say("%s: the records read back in call order", what);
	else
		say("%s: stream wrong at byte %ld (%zu of %zu bytes matched)", what,
		    first_bad, got, want);
	CHECK(!failed && !data_after_eof && first_bad < 0 && got == want, "%s", what);
	for (long s = 0; s < nreads; s++) {
		free((void *)rcb[s]->aio_buf);
		free(rcb[s]);
	}
}

static void reset(void)
{
	wdir.next = rdir.next = 0;
	eof_seen = 0;
	for (long s = 0; s < NREC; s++)
		rec_fill(wbuf[s], s);
}

static void run(const char *what, void (*close_writes)(void))
{
	pthread_t w[WRITERS], r[READERS];

	for (int i = 0; i < WRITERS; i++)
		if (pthread_create(&w[i], NULL, writer, NULL))
			DIE("pthread_create");
	for (int i = 0; i < READERS; i++)
		if (pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i * 1000 + 1)))
			DIE("pthread_create");
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	close_writes();
	for (int i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	verify(what);
}

static int pipefd[2], sock[2];

static void pipe_close(void)
{
	close(pipefd[1]);
}

static void sock_close(void)
{
	shutdown(sock[0], SHUT_WR);
}

/* The socket's peer: sends back what it gets, then ends its direction. */
static void *echo(void *arg)
{
	static char buf[65536];

	(void)arg;
	for (;;) {
		ssize_t n = read(sock[1], buf, sizeof buf);
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t m = write(sock[1], buf + off, (size_t)(n - off));
			if (m <= 0)
				DIE("echo write: %s", strerror(errno));
			off += m;
		}
	}
	shutdown(sock[1], SHUT_WR);
	return NULL;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	for (long s = 0; s < NREC; s++)
		wbuf[s] = xmalloc(rec_len(s));

	reset();
	if (pipe(pipefd))
		DIE("pipe");
	wfd = pipefd[1];
	rfd = pipefd[0];
	run("pipe", pipe_close);
	close(pipefd[0]);

	reset();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock))
		DIE("socketpair");
	wfd = sock[0];
	rfd = dup(sock[0]);
	pthread_t e;
	if (pthread_create(&e, NULL, echo, NULL))
		DIE("pthread_create");
	run("socket", sock_close);
	pthread_join(e, NULL);
	close(rfd);
	close(sock[0]);
	close(sock[1]);
	return t_finish();
}
