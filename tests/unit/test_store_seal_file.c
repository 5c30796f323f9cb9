/*
 * test_store_seal_file.c: the file sealer (seal_file_load): creating the
 * data key file 0600, loading it again, refusing a file too open or of
 * the wrong size (the key wiped), and a loaded key opening a store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../server/trusteed.h"
#include "../../store/store_internal.h"
#include "testutil.h"
#include "rowfix.h"

static int
setup(void **state)
{
	return rowfix_setup(state, "test_store_seal_file");
}

static void
test_seal_file(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint8_t k1[32], k2[32], zero[32] = { 0 };
	uint8_t *data;
	size_t len;
	struct stat sb;
	char want[256];

	assert_int_equal(seal_file_load(f->keyfile, 0, k1, &err), -1);
	snprintf(want, sizeof(want), "%s: data key file does not exist",
	    f->keyfile);
	assert_string_equal(err.msg, want);

	assert_int_equal(seal_file_load(f->keyfile, 1, k1, &err), 0);
	assert_memory_not_equal(k1, zero, 32);
	assert_int_equal(stat(f->keyfile, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(file_read_all(f->keyfile, 64, &data, &len, &err), 0);
	assert_int_equal(len, 32);
	assert_memory_equal(data, k1, 32);
	secret_free(data, len);

	/* Reload, with or without create: the same key. */
	assert_int_equal(seal_file_load(f->keyfile, 0, k2, &err), 0);
	assert_memory_equal(k1, k2, 32);
	assert_int_equal(seal_file_load(f->keyfile, 1, k2, &err), 0);
	assert_memory_equal(k1, k2, 32);

	/* And it opens a store. */
	f->st = rowfix_open_store(f, k2);
	rowfix_put_str(f->st, "resource", "n", "v");
	rowfix_assert_get(f->st, "resource", "n", "v", 1);

	assert_int_equal(chmod(f->keyfile, 0644), 0);
	memset(k2, 0xaa, sizeof(k2));
	assert_int_equal(seal_file_load(f->keyfile, 1, k2, &err), -1);
	snprintf(want, sizeof(want), "%s: mode 0644 is too open", f->keyfile);
	assert_non_null(strstr(err.msg, want));
	assert_memory_equal(k2, zero, 32);	/* wiped on failure */
	assert_int_equal(chmod(f->keyfile, 0400), 0);
	assert_int_equal(seal_file_load(f->keyfile, 0, k2, &err), 0);
	assert_memory_equal(k1, k2, 32);

	unlink(f->keyfile);
	assert_int_equal(file_write_atomic(f->keyfile, k1, 31, 0600, &err), 0);
	assert_int_equal(seal_file_load(f->keyfile, 1, k2, &err), -1);
	snprintf(want, sizeof(want), "%s: data key file must hold exactly 32 "
	    "bytes, found 31", f->keyfile);
	assert_string_equal(err.msg, want);
	unlink(f->keyfile);
	assert_int_equal(file_write_atomic(f->keyfile,
	    "0123456789abcdef0123456789abcdef\n", 33, 0600, &err), 0);
	assert_int_equal(seal_file_load(f->keyfile, 0, k2, &err), -1);
	assert_non_null(strstr(err.msg, "found 33"));

	/* Two fresh files get different keys. */
	unlink(f->keyfile);
	assert_int_equal(seal_file_load(f->keyfile, 1, k2, &err), 0);
	assert_memory_not_equal(k1, k2, 32);

	assert_int_equal(seal_file_load("/nonexistent/dir/data.key", 1, k2,
	    &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seal_file, setup,
		    rowfix_teardown),
	};

	log_init("test_store_seal_file", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
