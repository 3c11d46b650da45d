/* How many threads serve 32 requests in flight on 32 different fds
 * (O_DIRECT reads of files dropped from the cache where O_DIRECT works).
 * glibc starts a helper thread per fd inside aio_read; kaio uses none.
 * run.sh's rule: measure threads_inflight > 1 under glibc, == 1 under kaio.
 * Also the data of all 32 reads, and the thread count once all are done. */
#include "common.h"

#define NFD 32
#define SZ (256 * 1024)

int main(int argc, char **argv)
{
	t_init(argc, argv);
	say("measure: threads_start %d", count_threads());
	int fds[NFD];
	struct aiocb cbs[NFD];
	struct aiocb *list[NFD];
	unsigned char *buf = xalign((size_t)NFD * SZ);
	int direct = 1;
	for (int i = 0; i < NFD; i++) {
		char name[32];
		snprintf(name, sizeof name, "t%02d", i);
		char *p = tpath(name);
		make_pat_file(p, SZ, (unsigned)i);
		fds[i] = open_direct(p, O_RDONLY);
		if (fds[i] < 0) {
			direct = 0;
			fds[i] = xopen(p, O_RDONLY);
		}
		drop_cache(fds[i]);
		free(p);
	}
	say("measure: direct %d", direct);
	memset(buf, 0xEE, (size_t)NFD * SZ);
	for (int i = 0; i < NFD; i++) {
		setup_cb(&cbs[i], fds[i], buf + (size_t)i * SZ, SZ, 0);
		list[i] = &cbs[i];
		CHECK(aio_read(&cbs[i]) == 0, "aio_read %d: %s", i, errname(errno));
	}
	int t = count_threads();
	int pending = 0;
	for (int i = 0; i < NFD; i++)
		pending += aio_error(&cbs[i]) == EINPROGRESS;
	say("measure: threads_inflight %d", t);
	say("measure: pending_after_submit %d", pending);
	wait_list(list, NFD);
	int good = 0;
	for (int i = 0; i < NFD; i++)
		good += aio_error(&cbs[i]) == 0 && aio_return(&cbs[i]) == SZ &&
			check_pat(buf + (size_t)i * SZ, SZ, 0, (unsigned)i) < 0;
	say("%d of %d reads right", good, NFD);
	CHECK(good == NFD, "good %d", good);
	say("measure: threads_after %d", count_threads());
	return t_finish();
}
