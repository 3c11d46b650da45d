/* nent = INT_MAX on a list that really holds INT_MAX entries: a few real
 * aiocbs, then NULL entries, all in a 16 GiB anonymous mapping that is
 * never written (it reads as zeros, the zero page: no memory used). A
 * legal call; glibc puts nent-sized arrays on its stack and dies with
 * SIGSEGV, so tests/fault.sh requires an answer only of kaio.
 * argv[1]: scratch; argv[2]: "suspend" (aio_suspend, first entry done:
 * 0; then, with only a pending pipe read listed, timeout 0: -1 EAGAIN) or
 * "lio" (lio_listio LIO_WAIT of 2 reads: 0 and both right, or a clean -1
 * EAGAIN/EINVAL/ENOMEM). Prints "CASE: ANSWER" lines, each call announced
 * by a "calling ..." line first (a call that never returns shows which). */
#include "../prog/common.h"
#include <limits.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	t_init(argc, argv);
	if (argc < 3)
		DIE("usage: nent_huge DIR suspend|lio");
	size_t len = (size_t)INT_MAX * sizeof(void *);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		t_skip("cannot map 16 GiB of address space");
	struct aiocb **list = m;
	char *p = tpath("nent_huge");
	make_pat_file(p, 8192, 161);
	int fd = xopen(p, O_RDONLY);
	unsigned char b[2][4096];
	struct aiocb cbs[2];
	for (int i = 0; i < 2; i++) {
		setup_cb(&cbs[i], fd, b[i], 4096, (off_t)i * 4096);
		cbs[i].aio_lio_opcode = LIO_READ;
		list[i] = &cbs[i];
	}
	double t0 = now_sec();
	if (!strcmp(argv[2], "suspend")) {
		if (aio_read(&cbs[0]))
			DIE("aio_read");
		wait_one(&cbs[0]);
		list[1] = NULL;
		say("calling aio_suspend, nent INT_MAX, the first entry done");
		say("suspend INT_MAX, first done: %s",
		    RC(aio_suspend((const struct aiocb *const *)list, INT_MAX, NULL)));
		int pp[2];
		char c;
		if (pipe(pp))
			DIE("pipe");
		struct aiocb pr;
		setup_cb(&pr, pp[0], &c, 1, 0);
		if (aio_read(&pr))
			DIE("aio_read pipe");
		list[0] = &pr;
		struct timespec z = { 0, 0 };
		say("calling aio_suspend, nent INT_MAX, the first entry pending, timeout 0");
		say("suspend INT_MAX, one pending, timeout 0: %s",
		    RC(aio_suspend((const struct aiocb *const *)list, INT_MAX, &z)));
		if (write(pp[1], "x", 1) != 1)
			DIE("write");
		wait_one(&pr);
		say("pipe read: %s", result(&pr));
	} else {
		say("calling lio_listio LIO_WAIT, nent INT_MAX, 2 reads");
		const char *r = RC(lio_listio(LIO_WAIT, list, INT_MAX, NULL));
		say("lio INT_MAX: %s", r);
		if (!strcmp(r, "0"))
			for (int i = 0; i < 2; i++)
				say("entry %d: %s data %s", i, result(&cbs[i]),
				    check_pat(b[i], 4096, (uint64_t)i * 4096, 161) < 0 ? "ok" : "WRONG");
	}
	say("measure: ms %.0f", (now_sec() - t0) * 1000);
	return t_finish();
}
