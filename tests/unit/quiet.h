/*
 * Between tests: kaio's thread lingers 1 s after its last work; wait (up to
 * 3 s) until it has left, so a test starts single-threaded. Needs engine.h.
 */
#ifndef KAIO_TEST_QUIET_H
#define KAIO_TEST_QUIET_H

#include <unistd.h>

static inline void wait_single_threaded(void)
{
	for (int i = 0; i < 300; i++) {
		int n;

		kaio_lock();
		n = eng.notifier;
		kaio_unlock();
		if (!n) {
			usleep(2000);	/* it unlocked on its way out */
			return;
		}
		usleep(10000);
	}
}

#endif
