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
	static const struct {
		const char *key;
		size_t n, at;
		int found;
	} cases[] = {
		{ "d", 4, 1, 1 }, { "b", 4, 0, 1 }, { "h", 4, 3, 1 },
		{ "a", 4, 0, 0 }, { "e", 4, 2, 0 }, { "z", 4, 4, 0 },
		{ "dd", 4, 2, 0 }, { "d", 0, 0, 0 },
	};
	size_t i;
	int found;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		found = -1;
		assert_int_equal(sorted_find(cases[i].key, cases[i].n, at,
		    names, &found), cases[i].at);
		assert_int_equal(found, cases[i].found);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sorted_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
