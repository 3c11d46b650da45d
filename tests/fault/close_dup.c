/* close() and dup2() over fds with requests pending (argv[1]: scratch).
 *   1. 64 O_DIRECT reads of 64 KiB in flight on a file, then close(fd):
 *      every read completes once with its data (the kernel holds the file).
 *   2. The same, then dup2() of another file over the fd; plus 16 writes in
 *      flight when the dup2 lands: the writes land in the first file, the
 *      other file is untouched, the reads got the first file's bytes.
 *   3. The number of a closed O_DIRECT file reused by a pipe: an aio_read
 *      on it now (an empty pipe) returns at once and completes with the
 *      pipe's byte when it is written.
 *   4. 8 pipe reads pending; dup2() of other pipes over all 8 read ends;
 *      each original pipe is then written through its write end: each read
 *      gets its own pipe's byte (or ends without data), never another's;
 *      the new pipes keep their bytes for a read on the new fd.
 * No hang (every wait bounded), each request ends once (a second
 * aio_return never gives a second result). */
#include "../prog/common.h"

#define N1 64
#define S1 (64 << 10)
#define SEED 131

static char *pa, *pb;

static int reads_in_flight(int fd, struct aiocb *cbs, unsigned char *b)
{
	for (int i = 0; i < N1; i++) {
		int blk = (i * 17) % N1;
		setup_cb(&cbs[i], fd, b + (size_t)i * S1, S1, (off_t)blk * S1);
		memset(b + (size_t)i * S1, 0xEE, S1);
		if (aio_read(&cbs[i]))
			DIE("aio_read: %s", errname(errno));
	}
	int pending = 0;
	for (int i = 0; i < N1; i++)
		pending += aio_error(&cbs[i]) == EINPROGRESS;
	return pending;
}

static int reads_check(struct aiocb *cbs, unsigned char *b, unsigned seed)
{
	int bad = 0;
	for (int i = 0; i < N1; i++) {
		int e = wait_one(&cbs[i]);
		ssize_t r = aio_return(&cbs[i]);
		errno = 0;
		ssize_t again = aio_return(&cbs[i]);
		if (e || r != S1 || check_pat(b + (size_t)i * S1, S1,
					     (uint64_t)cbs[i].aio_offset, seed) >= 0 ||
		    !(again == r || (again == -1 && errno == EINVAL)))
			bad++;
	}
	return bad;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	pa = tpath("close_a");
	pb = tpath("close_b");
	make_pat_file(pa, (size_t)N1 * S1, SEED);
	make_pat_file(pb, (size_t)N1 * S1, SEED + 1);
	struct aiocb *cbs = xcalloc(N1, sizeof *cbs);
	unsigned char *b = xalign((size_t)N1 * S1);

	/* 1 */
	int fd = open_direct(pa, O_RDWR);
	if (fd < 0)
		t_skip("O_DIRECT refused here");
	int pend = reads_in_flight(fd, cbs, b);
	close(fd);
	say("measure: close_pending %d", pend);
	int bad = reads_check(cbs, b, SEED);
	say("1: reads after close: %d wrong", bad);
	CHECK(!bad, "reads after close");

	/* 2 */
	fd = open_direct(pa, O_RDWR);
	int other = xopen(pb, O_RDWR);
	pend = reads_in_flight(fd, cbs, b);
	struct aiocb wcb[16];
	unsigned char *wb = xalign(16 * 4096);
	for (int i = 0; i < 16; i++) {
		off_t off = (off_t)(N1 - 1) * S1 + (off_t)i * 4096;
		fill_pat(wb + i * 4096, 4096, (uint64_t)off, SEED + 2);
		setup_cb(&wcb[i], fd, wb + i * 4096, 4096, off);
		if (aio_write(&wcb[i]))
			DIE("aio_write");
	}
	if (dup2(other, fd) != fd)
		DIE("dup2");
	say("measure: dup2_pending %d", pend);
	bad = reads_check(cbs, b, SEED);
	say("2: reads after dup2: %d wrong", bad);
	CHECK(!bad, "reads after dup2");
	int wbad = 0;
	for (int i = 0; i < 16; i++)
		wbad += wait_one(&wcb[i]) != 0 || aio_return(&wcb[i]) != 4096;
	say("2: writes after dup2: %d wrong", wbad);
	unsigned char *all = xmalloc((size_t)N1 * S1);
	int ra = xopen(pa, O_RDONLY);
	xpread_all(ra, all, S1, (off_t)(N1 - 1) * S1);
	bad = check_pat(all, 16 * 4096, (uint64_t)(N1 - 1) * S1, SEED + 2) >= 0;
	say("2: writes landed in the first file: %s", bad ? "NO" : "yes");
	CHECK(!bad && !wbad, "writes after dup2");
	close(ra);
	xpread_all(other, all, (size_t)N1 * S1, 0);
	bad = check_pat(all, (size_t)N1 * S1, 0, SEED + 1) >= 0;
	say("2: the other file untouched: %s", bad ? "NO" : "yes");
	CHECK(!bad, "the other file was written");
	close(fd);
	close(other);

	/* 3 */
	fd = open_direct(pa, O_RDONLY);
	unsigned char *one = xalign(4096);
	struct aiocb cb;
	setup_cb(&cb, fd, one, 4096, 0);
	if (aio_read(&cb) || wait_one(&cb) || aio_return(&cb) != 4096)
		DIE("read");
	int num = fd;
	close(fd);
	int p[2];
	if (pipe(p))
		DIE("pipe");
	if (p[0] != num) {
		if (dup2(p[0], num) != num)
			DIE("dup2");
		close(p[0]);
		p[0] = num;
	}
	setup_cb(&cb, num, one, 4096, 0);
	double t0 = now_sec();
	const char *s = RC(aio_read(&cb));
	double ms = (now_sec() - t0) * 1000;
	usleep(20000);
	/* nothing is written before this: a read that blocked the caller
	 * would never have returned */
	int before = aio_error(&cb);
	say("3: read on the reused number: %s, then, before the write: %s", s,
	    before == EINPROGRESS ? "in progress" : errname(before));
	CHECK(before == EINPROGRESS, "pipe read on a reused number: done before the write");
	say("measure: reuse_submit_ms %.0f", ms);
	if (write(p[1], "q", 1) != 1)
		DIE("write");
	int e = wait_bounded(&cb, T_STUCK_SEC);
	say("3: then %s", e == EINPROGRESS ? "STILL IN PROGRESS" : result(&cb));
	CHECK(e != EINPROGRESS, "pipe read on a reused number");
	close(p[0]);
	close(p[1]);

	/* 4 */
	int op[8][2], np[8][2];
	char got[8];
	struct aiocb pr[8];
	for (int i = 0; i < 8; i++) {
		if (pipe(op[i]) || pipe(np[i]))
			DIE("pipe");
		got[i] = 0;
		setup_cb(&pr[i], op[i][0], &got[i], 1, 0);
		if (aio_read(&pr[i]))
			DIE("aio_read");
	}
	usleep(20000);
	for (int i = 0; i < 8; i++) {
		if (write(np[i][1], "N", 1) != 1)
			DIE("write");
		if (dup2(np[i][0], op[i][0]) != op[i][0])
			DIE("dup2");
	}
	for (int i = 0; i < 8; i++) {
		char c = (char)('a' + i);
		if (write(op[i][1], &c, 1) != 1)
			DIE("write");
	}
	int own = 0, none = 0, foreign = 0, hung = 0, twice = 0;
	for (int i = 0; i < 8; i++) {
		int e2 = wait_bounded(&pr[i], 5);
		if (e2 == EINPROGRESS) {
			hung++;
			continue;
		}
		ssize_t r = aio_return(&pr[i]);
		if (r == 1 && got[i] == 'a' + i)
			own++;
		else if (r <= 0)
			none++;
		else
			foreign++;
		errno = 0;
		ssize_t again = aio_return(&pr[i]);
		twice += !(again == r || (again == -1 && errno == EINVAL));
	}
	say("4: pipe reads after dup2: own byte %d, no data %d, OTHER BYTES %d, hung %d, twice %d",
	    own, none, foreign, hung, twice);
	CHECK(!foreign && !hung && !twice, "pipe reads after dup2");
	/* the new pipes, through the old numbers, still hold their byte */
	int newok = 0;
	for (int i = 0; i < 8; i++) {
		char c = 0;
		setup_cb(&cb, op[i][0], &c, 1, 0);
		if (aio_read(&cb) == 0 && wait_bounded(&cb, 5) == 0 && aio_return(&cb) == 1 && c == 'N')
			newok++;
		close(op[i][0]);
		close(op[i][1]);
		close(np[i][0]);
		close(np[i][1]);
	}
	say("4: reads on the new pipes: %d of 8 right", newok);
	CHECK(newok == 8, "new pipes");
	return t_finish();
}
