/*
 * test_log.c: lib/log.c's log_warnx_limited: the first warning of a call
 * site is printed, repeats within the interval are only counted, and
 * the next one printed after it says how many were held back; below the
 * warning level nothing is printed or counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Run fn with stderr going to a temporary file; its text (malloc'd). */
static char *
capture(void (*fn)(struct log_limit *), struct log_limit *lim)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *text;
	long n;

	assert_non_null(f);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	fn(lim);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	n = ftell(f);
	assert_true(n >= 0);
	text = calloc(1, (size_t)n + 1);
	rewind(f);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

static void
three(struct log_limit *lim)
{
	int i;

	for (i = 0; i < 3; i++)
		log_warnx_limited(lim, 60, "store: heartbeat: try %d", i);
}

static void
one(struct log_limit *lim)
{
	log_warnx_limited(lim, 60, "store: heartbeat: again");
}

static size_t
lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_limited(void **state)
{
	struct log_limit lim = { 0 };
	char *out;

	(void)state;
	out = capture(three, &lim);
	assert_int_equal(lines(out), 1);
	assert_non_null(strstr(out, "[warn]: store: heartbeat: try 0\n"));
	free(out);
	assert_int_equal(lim.held, 2);
	/* Still within the interval: counted. */
	out = capture(one, &lim);
	assert_string_equal(out, "");
	free(out);
	/* The interval is over (as if printed long ago): printed, with
	 * the count. */
	lim.last_ns = 1;
	out = capture(one, &lim);
	assert_non_null(strstr(out, "store: heartbeat: again (3 more like it "
	    "in the last 60 s)\n"));
	free(out);
	assert_int_equal(lim.held, 0);
	/* Warnings off: nothing printed, nothing counted. */
	log_set_level(LOG_LVL_ERROR);
	lim.last_ns = 1;
	out = capture(one, &lim);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(lim.held, 0);
	log_set_level(LOG_LVL_INFO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limited),
	};

	log_init("test_log", LOG_LVL_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
