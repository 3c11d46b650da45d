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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_depth),
		cmocka_unit_test(test_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
