/* Submitting an aiocb that is still in flight. That is misuse: glibc queues
 * a second request on the same aiocb (undefined); kaio refuses it with
 * -1 EINVAL. The answers are printed only as "measure: inflight_submit ..."
 * and run.sh checks them under kaio alone.
 *   a) a 16 MiB O_DIRECT read (buffered, dropped from the cache, where
 *      O_DIRECT is refused), resubmitted right after aio_error said
 *      EINPROGRESS (if it already finished: "measure: inflight_gone");
 *   b) a read of an empty pipe, resubmitted by aio_read, aio_write and
 *      lio_listio.
 * Whatever happened, every request ends with a right result. */
#include "common.h"

#define SZ (16 << 20)

static void settle(struct aiocb *cb)
{
	/* glibc may run the extra requests after the first: let them end. */
	wait_one(cb);
	usleep(200000);
	wait_one(cb);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	char *path = tpath("inflight");
	make_pat_file(path, SZ, 4);
	int fd = open_direct(path, O_RDONLY);
	if (fd < 0)
		fd = xopen(path, O_RDONLY);
	drop_cache(fd);
	unsigned char *buf = xalign(SZ);
	struct aiocb fcb;
	setup_cb(&fcb, fd, buf, SZ, 0);
	say("file read: %s", RC(aio_read(&fcb)));
	if (aio_error(&fcb) == EINPROGRESS)
		say("measure: inflight_submit %s", RC(aio_read(&fcb)));
	else
		say("measure: inflight_gone read finished before the resubmit");
	settle(&fcb);
	say("file read: %s", result(&fcb));
	say("file read: data %s", check_pat(buf, SZ, 0, 4) < 0 ? "ok" : "DIFFERS");

	int p[2];
	if (pipe(p))
		DIE("pipe");
	char c[4] = { 0 };
	struct aiocb cb;
	setup_cb(&cb, p[0], c, 1, 0);
	say("pipe read: %s", RC(aio_read(&cb)));
	say("measure: inflight_submit %s", RC(aio_read(&cb)));
	say("measure: inflight_submit %s", RC(aio_write(&cb)));
	struct aiocb *list[1] = { &cb };
	cb.aio_lio_opcode = LIO_READ;
	say("measure: inflight_submit %s", RC(lio_listio(LIO_NOWAIT, list, 1, NULL)));
	say("pipe read: %s", errname(aio_error(&cb)));
	/* Enough bytes for every request glibc may have queued. */
	if (write(p[1], "abcd", 4) != 4)
		DIE("write");
	close(p[1]);
	settle(&cb);
	say("pipe read: error %s", errname(aio_error(&cb)));
	return t_finish();
}
