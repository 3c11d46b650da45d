/* O_APPEND: 200 aio_write calls of distinct numbered 100-byte records to an
 * O_APPEND fd, without waiting in between (aio_offset set to nonsense, which
 * O_APPEND ignores), then wait for all: the file holds the 200 records in
 * call order (POSIX: appending writes land in the order of the calls).
 * append_direct.c builds this with APPEND_DIRECT 1: O_DIRECT|O_APPEND with
 * aligned 4096-byte records (skipped if the open is refused). */
#include "common.h"

#ifndef APPEND_DIRECT
#define APPEND_DIRECT 0
#endif
#define N 200
#define RS (APPEND_DIRECT ? 4096 : 100)

static void record(unsigned char *r, int i, int round)
{
	memset(r, 'a' + (i + round) % 26, RS);
	int n = snprintf((char *)r, RS, "record %03d round %d", i, round);
	r[n] = ' ';
	r[RS - 1] = '\n';
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("append");
	int fd;
	if (APPEND_DIRECT) {
		fd = open_direct(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
		if (fd < 0)
			t_skip("O_DIRECT|O_APPEND not supported here (open: EINVAL)");
	} else {
		fd = xopen(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
	}
	/* A head written synchronously first, so appends start past 0. */
	unsigned char *head = xalign(RS);
	memset(head, '#', RS);
	if (write(fd, head, RS) != RS)
		DIE("write");

	unsigned char *bufs = xalign((size_t)N * RS);
	struct aiocb *cbs = xcalloc(N, sizeof *cbs);
	struct aiocb *list[N];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			unsigned char *r = bufs + (size_t)i * RS;
			record(r, i, round);
			setup_cb(&cbs[i], fd, r, RS, (off_t)((N - i) % 7) * RS);
			list[i] = &cbs[i];
			CHECK(aio_write(&cbs[i]) == 0, "aio_write %d: %s", i, errname(errno));
		}
		wait_list(list, N);
		int bad = 0;
		for (int i = 0; i < N; i++)
			bad += aio_error(&cbs[i]) != 0 || aio_return(&cbs[i]) != RS;
		say("round %d: %d writes failed", round, bad);
	}

	int rfd = xopen(path, O_RDONLY);
	struct stat st;
	fstat(rfd, &st);
	say("size %jd (%d records)", (intmax_t)st.st_size, (int)(st.st_size / RS));
	unsigned char *all = xmalloc((size_t)st.st_size + 1);
	xpread_all(rfd, all, (size_t)st.st_size, 0);
	unsigned char *want = xmalloc(RS);
	int first_bad = -1;
	if (memcmp(all, head, RS))
		first_bad = 0;
	for (int k = 0; k < 2 * N && first_bad < 0; k++) {
		record(want, k % N, k / N);
		if ((off_t)(k + 2) * RS > st.st_size ||
		    memcmp(all + (size_t)(k + 1) * RS, want, RS))
			first_bad = k + 1;
	}
	if (first_bad < 0) {
		say("records in call order");
	} else {
		say("record %d out of order", first_bad);
		char got[40];
		snprintf(got, sizeof got, "%.20s", all + (size_t)first_bad * RS);
		fprintf(stderr, "record %d holds \"%s\"\n", first_bad, got);
		t_failures++;
	}
	close(fd);
	close(rfd);
	return t_finish();
}
