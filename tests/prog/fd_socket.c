/* AF_UNIX socketpairs (SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM) with short
 * transfers, compared with glibc (which runs read/write, the offset being
 * ignored on a socket):
 *   - aio_read of 4096 when 10 bytes are there returns 10;
 *   - aio_read pending on an empty socket returns at once (measure:
 *     read_submit_ms, informative), completes when the peer writes;
 *   - aio_write at aio_offset 12345 works (no ESPIPE), the peer reads it;
 *   - datagrams keep their boundaries: two sends, two aio_reads; a zero
 *     length datagram reads as 0;
 *   - stream: a 1 MiB aio_write (far beyond the socket buffer) completes
 *     with 1048576 while the peer reads it with 64 KiB aio_reads, bytes in
 *     order;
 *   - EOF: a read pending when the peer closes, and one after, return 0;
 *     a write after the peer closed fails EPIPE (SIGPIPE ignored);
 *   - O_NONBLOCK: a read with no data gives EAGAIN through aio_error,
 *     aio_return -1; a 1 MiB write gives a short count (measure:
 *     nonblock_short) and no more, as one write(2) would.
 * Threads: measure threads_none (kaio: 1). */
#include "common.h"
#include <sys/socket.h>

static int ms_since(double t0)
{
	return (int)((now_sec() - t0) * 1000 + 0.5);
}

static void req(const char *what, int write_, int fd, void *buf, size_t n, off_t off)
{
	struct aiocb cb;
	setup_cb(&cb, fd, buf, n, off);
	int r = write_ ? aio_write(&cb) : aio_read(&cb);
	if (r) {
		say("%s: submit %s", what, rc(r, errno));
		return;
	}
	wait_one(&cb);
	say("%s: %s", what, result(&cb));
}

static void short_transfers(const char *ty, int type)
{
	int sv[2];
	char buf[4096];
	if (socketpair(AF_UNIX, type, 0, sv))
		DIE("socketpair");

	/* data already there */
	if (write(sv[1], "0123456789", 10) != 10)
		DIE("write");
	memset(buf, 0, sizeof buf);
	req(ty, 0, sv[0], buf, sizeof buf, 0);
	say("%s: got %s", ty, buf);

	/* pending, then the peer writes */
	struct aiocb cb;
	memset(buf, 0, sizeof buf);
	setup_cb(&cb, sv[0], buf, sizeof buf, 0);
	double t0 = now_sec();
	int r = aio_read(&cb);
	say("%s: pending read: %s", ty, rc(r, errno));
	say("measure: read_submit_ms %d", ms_since(t0));
	usleep(20000);
	say("%s: pending read before the peer writes: %s", ty, errname(aio_error(&cb)));
	say("measure: threads_none %d", count_threads());
	if (write(sv[1], "late", 4) != 4)
		DIE("write");
	wait_one(&cb);
	say("%s: pending read: %s data %s", ty, result(&cb), buf);

	/* write at an offset */
	req(ty, 1, sv[0], "offset!", 7, 12345);
	memset(buf, 0, sizeof buf);
	ssize_t k = read(sv[1], buf, sizeof buf);
	say("%s: peer got %zd bytes: %s", ty, k, buf);

	/* read at an offset */
	if (write(sv[1], "back", 4) != 4)
		DIE("write");
	memset(buf, 0, sizeof buf);
	req(ty, 0, sv[0], buf, sizeof buf, 777);
	say("%s: got %s", ty, buf);

	if (type != SOCK_STREAM) {
		if (write(sv[1], "one", 3) != 3 || write(sv[1], "two!", 4) != 4)
			DIE("write");
		memset(buf, 0, sizeof buf);
		req(ty, 0, sv[0], buf, sizeof buf, 0);
		say("%s: first message %s", ty, buf);
		memset(buf, 0, sizeof buf);
		req(ty, 0, sv[0], buf, sizeof buf, 0);
		say("%s: second message %s", ty, buf);
		/* a datagram bigger than the buffer is cut (the rest is lost) */
		if (write(sv[1], "abcdefgh", 8) != 8 || write(sv[1], "next", 4) != 4)
			DIE("write");
		memset(buf, 0, sizeof buf);
		req(ty, 0, sv[0], buf, 3, 0);
		say("%s: cut message %s", ty, buf);
		memset(buf, 0, sizeof buf);
		req(ty, 0, sv[0], buf, sizeof buf, 0);
		say("%s: message after the cut one %s", ty, buf);
		/* zero-length datagram */
		if (send(sv[1], "", 0, 0) != 0)
			DIE("send 0");
		req(ty, 0, sv[0], buf, sizeof buf, 0);
	}

	if (type != SOCK_DGRAM) {
		/* EOF: a read pending when the peer closes, then one after. */
		setup_cb(&cb, sv[0], buf, sizeof buf, 0);
		say("%s: read before close: %s", ty, RC(aio_read(&cb)));
		usleep(20000);
		say("%s: before close: %s", ty, errname(aio_error(&cb)));
		close(sv[1]);
		wait_one(&cb);
		say("%s: peer closed, pending read: %s", ty, result(&cb));
		req(ty, 0, sv[0], buf, sizeof buf, 0);
		req(ty, 1, sv[0], "x", 1, 0);
	} else {
		close(sv[1]);
	}
	close(sv[0]);
}

static void big_stream(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		DIE("socketpair");
	size_t big = 1 << 20;
	unsigned char *w = xmalloc(big), *got = xmalloc(big);
	fill_pat(w, big, 0, 51);
	memset(got, 0, big);
	struct aiocb wcb;
	setup_cb(&wcb, sv[0], w, big, 0);
	double t0 = now_sec();
	say("stream 1 MiB write: %s", RC(aio_write(&wcb)));
	say("measure: write_submit_ms %d", ms_since(t0));
	size_t n = 0;
	int reads = 0;
	while (n < big) {
		struct aiocb rd;
		setup_cb(&rd, sv[1], got + n, big - n < 65536 ? big - n : 65536, 0);
		if (aio_read(&rd))
			DIE("aio_read: %s", strerror(errno));
		if (wait_one(&rd))
			DIE("read: %s", errname(aio_error(&rd)));
		ssize_t k = aio_return(&rd);
		if (k <= 0)
			DIE("read %zd", k);
		n += (size_t)k;
		reads++;
	}
	say("measure: big_reads %d", reads);
	say("stream 1 MiB: bytes in order %s", memcmp(w, got, big) ? "WRONG" : "ok");
	wait_one(&wcb);
	say("stream 1 MiB write: %s", result(&wcb));

	/* Several writes in a row, each bigger than the socket buffer: they
	 * arrive whole and in call order. */
	struct aiocb ws[4];
	unsigned char *wb[4];
	for (int i = 0; i < 4; i++) {
		wb[i] = xmalloc(300000);
		fill_pat(wb[i], 300000, 0, 60 + i);
		setup_cb(&ws[i], sv[0], wb[i], 300000, 0);
		if (aio_write(&ws[i]))
			DIE("aio_write: %s", strerror(errno));
	}
	unsigned char *all = xmalloc(4 * 300000);
	n = 0;
	while (n < 4 * 300000) {
		struct aiocb rd;
		size_t want = 4 * 300000 - n < 65536 ? 4 * 300000 - n : 65536;
		setup_cb(&rd, sv[1], all + n, want, 0);
		if (aio_read(&rd))
			DIE("aio_read: %s", strerror(errno));
		if (wait_one(&rd))
			DIE("read: %s", errname(aio_error(&rd)));
		ssize_t k = aio_return(&rd);
		if (k <= 0)
			DIE("read %zd", k);
		n += (size_t)k;
	}
	int good = 0;
	for (int i = 0; i < 4; i++) {
		wait_one(&ws[i]);
		good += aio_return(&ws[i]) == 300000 && !memcmp(all + (size_t)i * 300000, wb[i], 300000);
	}
	say("stream 4 writes of 300000: %d whole and in order", good);
	say("measure: threads_none %d", count_threads());
	close(sv[0]);
	close(sv[1]);
}

static void nonblocking(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		DIE("socketpair");
	char buf[100];
	req("O_NONBLOCK empty read", 0, sv[0], buf, sizeof buf, 0);
	size_t big = 1 << 20;
	unsigned char *w = xmalloc(big);
	fill_pat(w, big, 0, 52);
	struct aiocb cb;
	setup_cb(&cb, sv[0], w, big, 0);
	say("O_NONBLOCK 1 MiB write: %s", RC(aio_write(&cb)));
	int e = wait_one(&cb);
	ssize_t r = aio_return(&cb);
	say("O_NONBLOCK 1 MiB write: error %s, %s", errname(e),
	    r > 0 && (size_t)r < big ? "short" : "WRONG");
	say("measure: nonblock_short %zd", r);
	/* the peer gets exactly those bytes */
	unsigned char *got = xmalloc(big);
	size_t n = 0;
	for (;;) {
		ssize_t k = read(sv[1], got + n, big - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	say("O_NONBLOCK peer got as many bytes as written, in order: %s",
	    r > 0 && n == (size_t)r && !memcmp(got, w, n) ? "ok" : "WRONG");
	/* a full buffer: EAGAIN */
	setup_cb(&cb, sv[0], w, big, 0);
	say("O_NONBLOCK write again: %s", RC(aio_write(&cb)));
	wait_one(&cb);
	r = aio_return(&cb);
	setup_cb(&cb, sv[0], w, big, 0);
	say("O_NONBLOCK write into the full buffer: %s", RC(aio_write(&cb)));
	wait_one(&cb);
	say("O_NONBLOCK write into the full buffer: %s", result(&cb));
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	short_transfers("stream", SOCK_STREAM);
	short_transfers("seqpacket", SOCK_SEQPACKET);
	short_transfers("dgram", SOCK_DGRAM);
	big_stream();
	nonblocking();
	return t_finish();
}
