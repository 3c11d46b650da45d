/* The aiocb -> request table behind its small interface. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "table.h"
#include "wrap.h"

static void test_insert_lookup_remove(void **state)
{
	struct kaio_table *t = kaio_table_new();
	int keys[1000], vals[1000];

	(void)state;
	for (int i = 0; i < 1000; i++)
		kaio_table_put(t, &keys[i], &vals[i]);
	assert_int_equal(kaio_table_size(t), 1000);
	assert_ptr_equal(kaio_table_lookup(t, &keys[5]), &vals[5]);
	kaio_table_put(t, &keys[5], &vals[6]);
	assert_int_equal(kaio_table_size(t), 1000);
	assert_ptr_equal(kaio_table_lookup(t, &keys[5]), &vals[6]);
	/* Removing with a stale value leaves the newer mapping alone. */
	kaio_table_remove(t, &keys[5], &vals[5]);
	assert_ptr_equal(kaio_table_lookup(t, &keys[5]), &vals[6]);
	for (int i = 0; i < 1000; i += 2)
		kaio_table_remove(t, &keys[i], &vals[i]);
	assert_int_equal(kaio_table_size(t), 500);
	kaio_table_remove(t, &keys[4], &vals[4]);
	assert_null(kaio_table_lookup(t, &keys[0]));
	assert_ptr_equal(kaio_table_lookup(t, &keys[1]), &vals[1]);
	kaio_table_remove(t, &keys[5], &vals[6]);
	assert_int_equal(kaio_table_size(t), 499);
	kaio_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_lookup_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
