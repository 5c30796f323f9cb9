/*
 * test_util.c: lib/util.c's sorted_find: the index of a present key, the
 * insertion point of an absent one (before the first, between two,
 * after the last), an empty array.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util.h"

static const char *const names[] = { "b", "d", "f", "h" };

static const char *
at(const void *ctx, size_t i)
{
	return ((const char *const *)ctx)[i];
}

static void
test_sorted_find(void **state)
{
	int found = -1;

	(void)state;
	assert_int_equal(sorted_find("d", 4, at, names, &found), 1);
	assert_int_equal(found, 1);
	assert_int_equal(sorted_find("b", 4, at, names, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(sorted_find("h", 4, at, names, &found), 3);
	assert_int_equal(found, 1);
	assert_int_equal(sorted_find("a", 4, at, names, &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(sorted_find("e", 4, at, names, &found), 2);
	assert_int_equal(found, 0);
	assert_int_equal(sorted_find("z", 4, at, names, &found), 4);
	assert_int_equal(found, 0);
	assert_int_equal(sorted_find("dd", 4, at, names, &found), 2);
	assert_int_equal(found, 0);
	assert_int_equal(sorted_find("d", 0, at, names, &found), 0);
	assert_int_equal(found, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
