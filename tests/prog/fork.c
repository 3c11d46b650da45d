/* fork with requests in flight. The parent submits a 16 MiB read and 31
 * small ones on one fd (O_DIRECT where it works, else from a file dropped
 * from the cache) and forks at once. The child inherits no AIO (POSIX): it
 * does its own aio_write/aio_read round trip on its own file, a lio_listio,
 * and exits 0; it never touches the parent's aiocbs. The parent then sees
 * every one of its requests complete with the right data, and does a round
 * trip of its own. Twice, the second time with a child that does no AIO. */
#include "common.h"
#include <sys/wait.h>

#define BIG (16 << 20)
#define NS 31
#define SS 65536

static void round_trip(const char *who, const char *name)
{
	char *path = tpath(name);
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char w[4096], r[4096];
	fill_pat(w, sizeof w, 0, 33);
	struct aiocb cb;
	setup_cb(&cb, fd, w, sizeof w, 0);
	say("%s: aio_write: %s", who, RC(aio_write(&cb)));
	wait_one(&cb);
	say("%s: write: %s", who, result(&cb));
	memset(r, 0, sizeof r);
	setup_cb(&cb, fd, r, sizeof r, 0);
	say("%s: aio_read: %s", who, RC(aio_read(&cb)));
	wait_one(&cb);
	say("%s: read: %s", who, result(&cb));
	say("%s: data %s", who, memcmp(w, r, sizeof r) ? "DIFFERS" : "ok");
	CHECK(memcmp(w, r, sizeof r) == 0, "%s data", who);

	struct aiocb cbs[4];
	struct aiocb *list[4];
	unsigned char b[4][512];
	for (int i = 0; i < 4; i++) {
		setup_cb(&cbs[i], fd, b[i], 512, i * 512);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	say("%s: lio_listio: %s", who, RC(lio_listio(LIO_WAIT, list, 4, NULL)));
	int good = 0;
	for (int i = 0; i < 4; i++)
		good += aio_return(&cbs[i]) == 512 && !memcmp(b[i], w + i * 512, 512);
	say("%s: lio_listio %d of 4 right", who, good);
	close(fd);
	free(path);
}

static void run(int fd, int child_aio)
{
	unsigned char *big = xalign(BIG), *small = xalign((size_t)NS * SS);
	memset(big, 0xEE, BIG);
	memset(small, 0xEE, (size_t)NS * SS);
	struct aiocb cbs[NS + 1];
	struct aiocb *list[NS + 1];
	drop_cache(fd);
	/* The big read first: the requests after it are still queued or in
	 * flight when fork runs. */
	setup_cb(&cbs[0], fd, big, BIG, 0);
	for (int i = 1; i <= NS; i++)
		setup_cb(&cbs[i], fd, small + (size_t)(i - 1) * SS, SS,
			 BIG + (off_t)(i - 1) * SS);
	int refused = 0;
	for (int i = 0; i <= NS; i++) {
		list[i] = &cbs[i];
		refused += aio_read(&cbs[i]) != 0;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		DIE("fork");
	if (pid == 0) {
		if (child_aio)
			round_trip("child", "child");
		else
			say("child: no AIO");
		exit(t_finish()); /* exit(3) as programs do: atexit handlers run */
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		DIE("waitpid");
	say("parent: %d refused", refused);
	if (WIFEXITED(st))
		say("parent: child exit %d", WEXITSTATUS(st));
	else
		say("parent: child killed by signal %d", WTERMSIG(st));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed");

	wait_list(list, NS + 1);
	int good = 0;
	good += aio_error(&cbs[0]) == 0 && aio_return(&cbs[0]) == BIG &&
		check_pat(big, BIG, 0, 12) < 0;
	for (int i = 1; i <= NS; i++)
		good += aio_error(&cbs[i]) == 0 && aio_return(&cbs[i]) == SS &&
			check_pat(small + (size_t)(i - 1) * SS, SS,
				  BIG + (uint64_t)(i - 1) * SS, 12) < 0;
	say("parent: %d of %d requests right", good, NS + 1);
	CHECK(good == NS + 1, "parent requests");
	round_trip("parent", "parent");
	free(big);
	free(small);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("fork");
	make_pat_file(path, BIG + (size_t)NS * SS, 12);
	int fd = open_direct(path, O_RDONLY);
	say("measure: direct %d", fd >= 0);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	run(fd, 1);
	run(fd, 0);
	return t_finish();
}
