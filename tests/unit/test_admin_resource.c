/*
 * test_admin_resource.c: versioned resources (resource*.c) over a scratch
 * SQLite store: names, the versions kept, restore, the active-version
 * hints of releases, listing with prefix and pages, deletion, and the
 * migration (idempotent) of rows written by the previous format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../server/resource.h"

#include "adminfix.h"

static void
test_resource_versions(void **state)
{
	struct error err;
	char *db, v[16];
	struct store *st = adminfix_open_store(&db);
	json_t *meta, *items;
	uint8_t *val;
	size_t len;
	int created, i;

	(void)state;
	assert_int_equal(resource_name_check("a/b/c", &err), 0);
	assert_int_equal(resource_name_check("a/b", &err), -1);
	assert_int_equal(resource_name_check("a/b/c/d", &err), -1);
	assert_int_equal(resource_name_check(".a/b/c", &err), -1);
	assert_int_equal(resource_name_check("a//c", &err), -1);
	assert_int_equal(resource_name_check("a/b/c d", &err), -1);
	assert_int_equal(resource_put(st, "a/b", "x", 1, NULL, "t", NULL,
	    NULL, &err), -1);

	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    1);
	assert_int_equal(resource_put(st, "r/k/one", "v1", 2, NULL,
	    "alice (admin)", &meta, &created, &err), 0);
	assert_true(created);
	assert_int_equal(json_integer_value(json_object_get(meta, "version")),
	    1);
	assert_string_equal(json_string_value(json_object_get(meta,
	    "created_by")), "alice (admin)");
	assert_string_equal(json_string_value(json_object_get(meta,
	    "content_type")), "application/octet-stream");
	assert_null(json_object_get(meta, "sha256"));
	json_decref(meta);
	/* Twelve more versions: only the last RESOURCE_KEEP stay. */
	for (i = 2; i <= 13; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		assert_int_equal(resource_put(st, "r/k/one", v, strlen(v),
		    "text/plain", "bob (operator)", NULL, &created, &err), 0);
		assert_false(created);
	}
	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    0);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "v13", 3);
	secret_free(val, len);
	assert_int_equal(resource_read_versions(st, "r/k/one", &items, &err),
	    0);
	assert_int_equal(json_array_size(items), RESOURCE_KEEP);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    items, 0), "version")), 13);
	assert_true(json_is_true(json_object_get(json_array_get(items, 0),
	    "active")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    items, RESOURCE_KEEP - 1), "version")), 4);
	json_decref(items);
	/* Restore: a dropped version is gone, a kept one comes back. */
	assert_int_equal(resource_restore(st, "r/k/one", 2, "t", NULL, &err),
	    2);
	assert_int_equal(resource_restore(st, "r/x/one", 5, "t", NULL, &err),
	    1);
	assert_int_equal(resource_restore(st, "r/k/one", 5, "carol", &meta,
	    &err), 0);
	assert_int_equal(json_integer_value(json_object_get(meta, "version")),
	    14);
	assert_int_equal(json_integer_value(json_object_get(meta, "size")), 2);
	json_decref(meta);
	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    0);
	assert_memory_equal(val, "v5", 2);
	secret_free(val, len);
	/* A release remembers the index row it checked: the very same row
	 * is not parsed again, any other row is (here one that is not an
	 * index at all, then the right one again). */
	{
		uint8_t *row, *row2;
		size_t rlen, rlen2;

		assert_int_equal(store_get(st, "resource_index", "r/k/one",
		    &row, &rlen, &err), 0);
		assert_int_equal(resource_hint_active("r/k/one", row, rlen),
		    14);
		assert_int_equal(resource_hint_active("r/k/two", row, rlen),
		    0);
		assert_int_equal(resource_hint_active("r/k/one", row,
		    rlen - 1), 0);
		assert_int_equal(store_put(st, "resource_index", "r/k/one",
		    "{\"active\":14}", 13, &err), 0);
		assert_int_equal(resource_read_value(st, "r/k/one", &val, &len,
		    &err), STORE_CORRUPT);
		assert_non_null(strstr(err.msg, "malformed"));
		assert_int_equal(store_put(st, "resource_index", "r/k/one",
		    row, rlen, &err), 0);
		assert_int_equal(resource_read_value(st, "r/k/one", &val, &len,
		    &err), 0);
		assert_memory_equal(val, "v5", 2);
		secret_free(val, len);
		assert_int_equal(store_get(st, "resource_index", "r/k/one",
		    &row2, &rlen2, &err), 0);
		assert_int_equal(resource_hint_active("r/k/one", row2, rlen2),
		    14);
		/* A version recorded from another row replaces the digest. */
		resource_hint_set("r/k/one", 14, row2, rlen2 - 1);
		assert_int_equal(resource_hint_active("r/k/one", row2, rlen2),
		    0);
		assert_int_equal(resource_hint_active("r/k/one", row2,
		    rlen2 - 1), 14);
		assert_int_equal(resource_hint_get("r/k/one"), 14);
		secret_free(row, rlen);
		secret_free(row2, rlen2);
	}
	/* Listing with prefix and pages. */
	assert_int_equal(resource_put(st, "r/k/two", "", 0, NULL, "t", NULL,
	    NULL, &err), 0);
	assert_int_equal(resource_put(st, "s/k/one", "z", 1, NULL, "t", NULL,
	    NULL, &err), 0);
	assert_int_equal(resource_list(st, NULL, NULL, 2, &items, &i, NULL,
	    &err), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_true(i);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 1), "name")), "r/k/two");
	json_decref(items);
	assert_int_equal(resource_list(st, NULL, "r/k/two", 2, &items, &i,
	    NULL, &err), 0);
	assert_int_equal(json_array_size(items), 1);
	assert_false(i);
	json_decref(items);
	assert_int_equal(resource_list(st, "r/", NULL, 10, &items, &i, NULL,
	    &err),
	    0);
	assert_int_equal(json_array_size(items), 2);
	json_decref(items);
	/* Delete removes every version. */
	assert_int_equal(resource_delete(st, "r/k/one", &err), 0);
	assert_int_equal(resource_delete(st, "r/k/one", &err), 1);
	assert_int_equal(resource_read_meta(st, "r/k/one", &meta, &err), 1);
	assert_int_equal(store_get(st, "resource_data", "r/k/one@14", &val,
	    &len, &err), 1);
	/* Releases guess the active version they saw last (14 here): a
	 * deleted name is absent, a new history is read right. */
	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    1);
	assert_int_equal(resource_put(st, "r/k/one", "again", 5, NULL, "t",
	    NULL, &created, &err), 0);
	assert_true(created);
	assert_int_equal(resource_read_value(st, "r/k/one", &val, &len, &err),
	    0);
	assert_int_equal(len, 5);
	assert_memory_equal(val, "again", 5);
	secret_free(val, len);
	adminfix_close_store(st, db);
}

static void
test_resource_migration(void **state)
{
	struct error err;
	char *db;
	struct store *st = adminfix_open_store(&db);
	uint8_t *val;
	size_t len;
	json_t *meta;

	(void)state;
	/* Rows written by the previous format. */
	assert_int_equal(store_put(st, "resources", "default/key/old", "sec",
	    3, &err), 0);
	assert_int_equal(store_put(st, "resources", "bad name", "x", 1, &err),
	    0);
	assert_int_equal(resource_migrate(st, &err), 0);
	assert_int_equal(resource_read_value(st, "default/key/old", &val, &len,
	    &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(val, "sec", 3);
	secret_free(val, len);
	assert_int_equal(resource_read_meta(st, "default/key/old", &meta, &err),
	    0);
	assert_string_equal(json_string_value(json_object_get(meta,
	    "created_by")), "migrated");
	json_decref(meta);
	assert_int_equal(store_get(st, "resources", "default/key/old", &val,
	    &len, &err), 1);
	/* Idempotent. */
	assert_int_equal(resource_migrate(st, &err), 0);
	adminfix_close_store(st, db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resource_versions),
		cmocka_unit_test(test_resource_migration),
	};

	return cmocka_run_group_tests(tests, adminfix_setup, adminfix_teardown);
}
