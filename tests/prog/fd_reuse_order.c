/* Call order on a stream fd whose number was a regular file's a moment
 * ago. A program reads a file on fd N, closes it, and N comes back as the
 * read end of a pipe (dup2 here; open/pipe reuse the lowest free number the
 * same way). Three 1-byte aio_reads queued on the empty pipe, then one
 * write of "abc": as for any stream fd, they must complete in call order,
 * 'a', 'b', 'c' (glibc serializes requests per fd). The same with the
 * number of a socket, and with aio_writes of 256 KiB on the write end of
 * a pipe (their bytes must not interleave or swap).
 * A pipe on a fresh fd number is the control.
 * Waits are bounded (T_STUCK_SEC): a request left behind shows as "stuck". */
#include "common.h"
#include <sys/socket.h>

#define FDN 700
#define HALF (256 << 10)

static void warm_file(const char *path, int fdn)
{
	for (int i = 0; i < 3; i++) {
		int f = xopen(path, O_RDONLY);
		if (dup2(f, fdn) != fdn)
			DIE("dup2");
		close(f);
		char buf[512];
		struct aiocb cb;
		setup_cb(&cb, fdn, buf, sizeof buf, 0);
		if (aio_read(&cb))
			DIE("aio_read");
		wait_one(&cb);
		CHECK(aio_return(&cb) == 512, "file read");
		close(fdn);
	}
}

static void three_reads(const char *what, int rd, int wr)
{
	char b[3] = { 0, 0, 0 };
	struct aiocb cb[3];
	for (int i = 0; i < 3; i++) {
		setup_cb(&cb[i], rd, &b[i], 1, 0);
		if (aio_read(&cb[i]))
			DIE("aio_read: %s", strerror(errno));
	}
	usleep(20000);
	for (int i = 0; i < 3; i++) /* each still waiting for data */
		CHECK(aio_error(&cb[i]) == EINPROGRESS, "read %d done early", i);
	usleep(20000);
	for (int i = 0; i < 3; i++)
		CHECK(aio_error(&cb[i]) == EINPROGRESS, "read %d done early", i);
	if (write(wr, "abc", 3) != 3)
		DIE("write");
	for (int i = 0; i < 3; i++) {
		int e = wait_bounded(&cb[i], T_STUCK_SEC);
		if (e == EINPROGRESS) {
			say("%s: read %d: stuck", what, i);
			continue;
		}
		say("%s: read %d: %s byte %c", what, i, result(&cb[i]), b[i] ? b[i] : '?');
	}
	/* whatever is left, so nothing stays pending */
	if (write(wr, "zzz", 3) != 3)
		DIE("write");
	for (int i = 0; i < 3; i++)
		wait_bounded(&cb[i], 1);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("fd_reuse_order");
	make_pat_file(path, 4096, 2);

	int p[2];
	/* control: a pipe on a number no file ever had */
	if (pipe(p) || dup2(p[0], FDN + 50) != FDN + 50)
		DIE("pipe");
	close(p[0]);
	three_reads("fresh pipe", FDN + 50, p[1]);
	close(FDN + 50);
	close(p[1]);

	warm_file(path, FDN);
	if (pipe(p) || dup2(p[0], FDN) != FDN)
		DIE("pipe");
	close(p[0]);
	three_reads("pipe on a file's fd", FDN, p[1]);
	close(FDN);
	close(p[1]);

	int sv[2];
	warm_file(path, FDN);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || dup2(sv[0], FDN) != FDN)
		DIE("socketpair");
	close(sv[0]);
	three_reads("socket on a file's fd", FDN, sv[1]);
	close(FDN);
	close(sv[1]);

	/* writes: the write end of a pipe on a file's fd */
	warm_file(path, FDN);
	if (pipe(p) || dup2(p[1], FDN) != FDN)
		DIE("pipe");
	close(p[1]);
	unsigned char *w1 = xmalloc(HALF), *w2 = xmalloc(HALF), *got = xmalloc(2 * HALF);
	fill_pat(w1, HALF, 0, 91);
	fill_pat(w2, HALF, 0, 92);
	struct aiocb c1, c2;
	setup_cb(&c1, FDN, w1, HALF, 0);
	setup_cb(&c2, FDN, w2, HALF, 0);
	if (aio_write(&c1) || aio_write(&c2))
		DIE("aio_write");
	size_t n = 0;
	while (n < 2 * HALF) {
		struct aiocb rd;
		setup_cb(&rd, p[0], got + n, 65536, 0);
		if (aio_read(&rd))
			DIE("aio_read");
		if (wait_bounded(&rd, T_STUCK_SEC) != 0) {
			say("writes: reading stuck at %zu bytes", n);
			break;
		}
		ssize_t k = aio_return(&rd);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	say("writes: first 256 KiB from the first write: %s", n == 2 * HALF && !memcmp(got, w1, HALF) ? "ok" : "WRONG");
	say("writes: next 256 KiB from the second write: %s", n == 2 * HALF && !memcmp(got + HALF, w2, HALF) ? "ok" : "WRONG");
	say("writes: %s", wait_bounded(&c1, T_STUCK_SEC) == 0 ? result(&c1) : "stuck");
	say("writes: %s", wait_bounded(&c2, T_STUCK_SEC) == 0 ? result(&c2) : "stuck");
	return t_finish();
}
