/* Strict parsing of KAIO_* variables: bad values warn and fall back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "kaio.h"
#include "wrap.h"

static unsigned depth_for(const char *v)
{
	if (v)
		setenv("KAIO_QUEUE_DEPTH", v, 1);
	else
		unsetenv("KAIO_QUEUE_DEPTH");
	kaio_config_load();
	return kaio_config.queue_depth;
}

static void test_queue_depth(void **state)
{
	(void)state;
	assert_int_equal(depth_for(NULL), 256);
	assert_int_equal(depth_for("1"), 1);
	assert_int_equal(depth_for("64"), 64);
	assert_int_equal(depth_for("65536"), 65536);
	assert_int_equal(depth_for("007"), 7);
	const char *bad[] = { "", "0", "65537", "-1", "+5", " 5", "5 ", "12x", "0x10",
			      "abc", "99999999999999999999999", "4294967297", "1e3" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(depth_for(bad[i]), 256);
}

static void test_flags(void **state)
{
	(void)state;
	setenv("KAIO_STATS", "1", 1);
	setenv("KAIO_DEBUG", "0", 1);
	kaio_config_load();
	assert_int_equal(kaio_config.stats, 1);
	assert_int_equal(kaio_config.debug, 0);
	setenv("KAIO_STATS", "yes", 1);
	setenv("KAIO_DEBUG", "2", 1);
	kaio_config_load();
	assert_int_equal(kaio_config.stats, 0);
	assert_int_equal(kaio_config.debug, 0);
	unsetenv("KAIO_STATS");
	unsetenv("KAIO_DEBUG");
}

static enum kaio_uring_mode uring_for(const char *v)
{
	if (v)
		setenv("KAIO_URING", v, 1);
	else
		unsetenv("KAIO_URING");
	kaio_config_load();
	return kaio_config.uring;
}

static void test_uring(void **state)
{
	(void)state;
	assert_int_equal(uring_for(NULL), KAIO_URING_AUTO);
	assert_int_equal(uring_for("0"), KAIO_URING_NEVER);
	assert_int_equal(uring_for("1"), KAIO_URING_REQUIRED);
	assert_int_equal(uring_for("auto"), KAIO_URING_AUTO);
	const char *bad[] = { "", "2", "-1", "00", "01", " 1", "0 ", "AUTO", "yes", "off", "1x" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(uring_for("0"), KAIO_URING_NEVER);
		assert_int_equal(uring_for(bad[i]), KAIO_URING_AUTO);
	}
	unsetenv("KAIO_URING");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_depth),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_uring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
