/* A program bound to the old symbol versions, as a binary linked against
 * glibc before 2.34 is: every aio function it calls is referenced as
 * NAME@GLIBC_2.2.5 (objdump -T shows "(GLIBC_2.2.5)"; i386: GLIBC_2.1, and
 * built with _FILE_OFFSET_BITS=64 the *64 names). kaio's unversioned
 * definitions must still serve it; run.sh proves that with strace.
 * The calls: aio_init, aio_write, aio_read, aio_error, aio_return,
 * aio_suspend, aio_fsync, aio_cancel, lio_listio. */
#if defined __i386__
#define OLD "GLIBC_2.1"	/* i386's first version of them */
#else
#define OLD "GLIBC_2.2.5"
#endif
#if defined _FILE_OFFSET_BITS && _FILE_OFFSET_BITS == 64
#define S "64"		/* the names <aio.h> makes the calls reference */
#else
#define S ""
#endif
__asm__(".symver aio_init,aio_init@" OLD);
__asm__(".symver aio_read" S ",aio_read" S "@" OLD);
__asm__(".symver aio_write" S ",aio_write" S "@" OLD);
__asm__(".symver aio_error" S ",aio_error" S "@" OLD);
__asm__(".symver aio_return" S ",aio_return" S "@" OLD);
__asm__(".symver aio_suspend" S ",aio_suspend" S "@" OLD);
__asm__(".symver aio_fsync" S ",aio_fsync" S "@" OLD);
__asm__(".symver aio_cancel" S ",aio_cancel" S "@" OLD);
__asm__(".symver lio_listio" S ",lio_listio" S "@" OLD);

#include "common.h"

#define BS 4096

int main(int argc, char **argv)
{
	t_init(argc, argv);
	struct aioinit init;
	memset(&init, 0, sizeof init);
	init.aio_threads = 4;
	init.aio_num = 32;
	init.aio_idle_time = 1;
	aio_init(&init);

	char *path = tpath("oldver");
	int fd = xopen(path, O_RDWR | O_CREAT | O_TRUNC);
	unsigned char w[BS], r[BS];
	fill_pat(w, BS, 0, 3);
	struct aiocb cb;
	setup_cb(&cb, fd, w, BS, 0);
	say("aio_write: %s", RC(aio_write(&cb)));
	wait_one(&cb);
	say("write: %s", result(&cb));
	memset(r, 0, BS);
	setup_cb(&cb, fd, r, BS, 0);
	say("aio_read: %s", RC(aio_read(&cb)));
	wait_one(&cb);
	say("read: %s", result(&cb));
	say("data %s", memcmp(w, r, BS) ? "DIFFERS" : "ok");
	CHECK(memcmp(w, r, BS) == 0, "data");

	say("aio_cancel done: %s", cancelname(aio_cancel(fd, &cb)));
	struct aiocb fs;
	setup_cb(&fs, fd, NULL, 0, 0);
	say("aio_fsync: %s", RC(aio_fsync(O_DSYNC, &fs)));
	wait_one(&fs);
	say("fsync: %s", result(&fs));

	struct aiocb cbs[4];
	struct aiocb *list[4];
	unsigned char *bufs = xmalloc(4 * BS);
	for (int i = 0; i < 4; i++) {
		fill_pat(bufs + i * BS, BS, (uint64_t)(i + 1) * BS, 3);
		setup_cb(&cbs[i], fd, bufs + i * BS, BS, (off_t)(i + 1) * BS);
		cbs[i].aio_lio_opcode = LIO_WRITE;
		list[i] = &cbs[i];
	}
	/* glibc 2.36's lio_listio@GLIBC_2.2.5 passes LIO_WAIT on with a flag
	 * bit set and then returns without waiting (measured), so wait here
	 * too; kaio's one lio_listio waits for both versions. */
	say("lio_listio: %s", RC(lio_listio(LIO_WAIT, list, 4, NULL)));
	int done = 0;
	for (int i = 0; i < 4; i++)
		done += aio_error(&cbs[i]) != EINPROGRESS;
	say("measure: oldlio_wait_done %d", done);
	wait_list(list, 4);
	int good = 0;
	for (int i = 0; i < 4; i++)
		good += aio_error(&cbs[i]) == 0 && aio_return(&cbs[i]) == BS;
	say("%d of 4 writes right", good);
	unsigned char *all = xmalloc(5 * BS);
	xpread_all(fd, all, 5 * BS, 0);
	say("file %s", check_pat(all, 5 * BS, 0, 3) < 0 ? "ok" : "WRONG");
	close(fd);
	return t_finish();
}
