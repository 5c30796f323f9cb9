/*
 * test_admin_audit.c: the audit trail (audit.c) over a scratch SQLite
 * store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../server/audit.h"

#include "adminfix.h"

static void
test_audit_trail(void **state)
{
	struct audit_filter f;
	struct error err;
	char *db, cursor[64];
	struct store *st = adminfix_open_store(&db);
	json_t *items;
	int more;

	(void)state;
	audit_record("nobody", "early", "x", "ok", NULL);	/* not open */
	assert_int_equal(audit_init(st, &err), 0);
	audit_record("alice (admin)", "resource.put", "a/b/c", "ok", NULL);
	audit_record("bob (operator)", "policy.put", "resource/resource-policy",
	    "error", "[string]:3: syntax error");
	audit_record("alice (admin)", "resource.delete", "a/b/c", "ok", NULL);
	audit_record("guest", "resource.get", "a/b/\xff", "denied", "policy");
	assert_int_equal(audit_list(NULL, 10, NULL, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 4);
	assert_false(more);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 0), "action")), "resource.get");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 3), "action")), "resource.put");
	assert_true(strcmp(json_string_value(json_object_get(json_array_get(
	    items, 0), "id")), json_string_value(json_object_get(
	    json_array_get(items, 1), "id"))) > 0);
	json_decref(items);
	/* Pages by cursor. */
	assert_int_equal(audit_list(NULL, 2, NULL, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_true(more);
	snprintf(cursor, sizeof(cursor), "%s", json_string_value(
	    json_object_get(json_array_get(items, 1), "id")));
	json_decref(items);
	assert_int_equal(audit_list(cursor, 2, NULL, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	assert_false(more);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    items, 1), "action")), "resource.put");
	json_decref(items);
	/* Filters. */
	memset(&f, 0, sizeof(f));
	f.action_prefix = "resource.";
	f.actor = "alice (admin)";
	assert_int_equal(audit_list(NULL, 10, &f, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 2);
	json_decref(items);
	memset(&f, 0, sizeof(f));
	f.since = now_unix() + 3600;
	assert_int_equal(audit_list(NULL, 10, &f, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 0);
	json_decref(items);
	/* Records survive a restart of the module. */
	audit_shutdown();
	assert_int_equal(audit_init(st, &err), 0);
	assert_int_equal(audit_list(NULL, 10, NULL, &items, &more, &err), 0);
	assert_int_equal(json_array_size(items), 4);
	json_decref(items);
	audit_shutdown();
	adminfix_close_store(st, db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_trail),
	};

	return cmocka_run_group_tests(tests, adminfix_setup, adminfix_teardown);
}
