/*
 * test_console_users.c: the console's users (users.c) over a scratch
 * SQLite store: their life cycle (add, public view, the last enabled
 * admin, password and role changes, disabling, pages, delete, no name or
 * hash readable in the database file), and writes of another instance
 * racing ours (a second handle on the same file: the retries).
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

#include <sodium.h>

#include "../../lib/log.h"
#include "../../server/console.h"
#include "../../server/observe.h"
#include "../../server/trusteed.h"
#include "testutil.h"
#include "consolefix.h"

static void
test_users_lifecycle(void **state)
{
	struct fixture *f = *state;
	char role[USERS_ROLE_MAX];
	struct error err;
	json_t *u, *list;
	int64_t gen, gen2;
	size_t bad;
	uint64_t n;
	int more;

	assert_int_equal(users_add("zelda-admin", "admin", "pw-zelda-1", 10,
	    "test", &err), 0);
	assert_int_equal(users_add("zelda-admin", "auditor", "pw-zelda-2", 10,
	    "test", &err), 1);
	assert_int_equal(users_add("bad name", "admin", "pw-zelda-1", 10,
	    "test", &err), USERS_INVALID);
	assert_int_equal(users_add("quentin", "root", "pw-zelda-1", 10,
	    "test", &err), USERS_INVALID);
	assert_int_equal(users_add("quentin", "auditor", "short", 5, "test",
	    &err), USERS_INVALID);
	assert_int_equal(users_add("quentin-auditor", "auditor",
	    "quentin-pw-9", 12, "test", &err), 0);

	assert_int_equal(users_authenticate("zelda-admin", "pw-zelda-1", 10,
	    role, &gen, &err), 0);
	assert_string_equal(role, "admin");
	assert_int_equal(users_authenticate("zelda-admin", "pw-zelda-2", 10,
	    role, &gen2, &err), 1);
	assert_int_equal(users_authenticate("nobody", "pw-zelda-1", 10, role,
	    &gen2, &err), 1);
	assert_int_equal(users_authenticate("not a valid name!", "x", 1, role,
	    &gen2, &err), 1);

	/* The public view has no hash. */
	assert_int_equal(users_get("zelda-admin", &u, &err), 0);
	assert_null(json_object_get(u, "hash"));
	assert_null(json_object_get(u, "pwgen"));
	assert_string_equal(json_string_value(json_object_get(u, "role")),
	    "admin");
	json_decref(u);
	assert_int_equal(users_get("nobody", &u, &err), 1);

	/* The last enabled admin stays. */
	assert_int_equal(users_delete("zelda-admin", &err), USERS_INVALID);
	assert_int_equal(users_set_disabled("zelda-admin", 1, "t", &err),
	    USERS_INVALID);
	assert_int_equal(users_set_role("zelda-admin", "auditor", "t", &err),
	    USERS_INVALID);

	/* A password change ends old sessions (pwgen). */
	assert_int_equal(users_session_check("quentin-auditor", 1, role, &err),
	    0);
	assert_string_equal(role, "auditor");
	assert_int_equal(users_set_password("quentin-auditor", "newpass-123",
	    11, "t", &err), 0);
	assert_int_equal(users_session_check("quentin-auditor", 1, role, &err),
	    1);
	assert_int_equal(users_authenticate("quentin-auditor", "newpass-123",
	    11, role, &gen, &err), 0);
	assert_int_equal(gen, 2);
	assert_int_equal(users_session_check("quentin-auditor", gen, role,
	    &err), 0);

	/* Role changes apply at once; disabled users cannot log in. */
	assert_int_equal(users_set_role("quentin-auditor", "operator", "t",
	    &err), 0);
	assert_int_equal(users_session_check("quentin-auditor", gen, role,
	    &err), 0);
	assert_string_equal(role, "operator");
	assert_int_equal(users_set_disabled("quentin-auditor", 1, "t", &err),
	    0);
	assert_int_equal(users_authenticate("quentin-auditor", "newpass-123",
	    11, role, &gen2, &err), 1);
	assert_int_equal(users_session_check("quentin-auditor", gen, role,
	    &err), 1);
	assert_int_equal(users_set_disabled("quentin-auditor", 0, "t", &err),
	    0);

	assert_int_equal(users_list(NULL, 0, &list, &more, &bad, &err), 0);
	assert_int_equal(json_array_size(list), 2);
	assert_false(more);
	assert_int_equal(bad, 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    list, 0), "name")), "quentin-auditor");
	json_decref(list);
	/* Pages by name. */
	assert_int_equal(users_list(NULL, 1, &list, &more, &bad, &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_true(more);
	json_decref(list);
	assert_int_equal(users_list("quentin-auditor", 1, &list, &more, &bad,
	    &err), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_false(more);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    list, 0), "name")), "zelda-admin");
	json_decref(list);
	assert_int_equal(users_count(&n, &err), 0);
	assert_int_equal(n, 2);

	/* With a second admin the first may go. */
	assert_int_equal(users_set_role("quentin-auditor", "admin", "t", &err),
	    0);
	assert_int_equal(users_delete("zelda-admin", &err), 0);
	assert_int_equal(users_delete("zelda-admin", &err), 1);

	/* A dump of the database shows no user name and no hash. */
	assert_false(consolefix_db_contains(f, "quentin-auditor"));
	assert_false(consolefix_db_contains(f, "$argon2id$"));
}

/* "Another instance": a second handle on the same database file. */
static struct store *other_st;
static const char *other_role;		/* set this role on the hooked user */
static const char *other_disable;	/* disable this user */
static int other_fired;

static void
other_instance_writes(const char *name)
{
	struct store_meta meta;
	struct error err;
	uint8_t *val;
	size_t len;
	json_t *row;
	char *txt;
	const char *who = other_disable != NULL ? other_disable : name;

	if (other_fired++ > 0)
		return;		/* once: the retry must then succeed */
	assert_int_equal(store_get_ex(other_st, "users", who, &val, &len,
	    &meta, &err), 0);
	row = json_loadb((const char *)val, len, 0, NULL);
	secret_free(val, len);
	if (other_role != NULL)
		json_object_set_new(row, "role", json_string(other_role));
	if (other_disable != NULL)
		json_object_set_new(row, "disabled", json_true());
	txt = json_dumps(row, JSON_COMPACT);
	assert_int_equal(store_put_ex(other_st, "users", who, txt,
	    strlen(txt), meta.ord, 0, meta.rev, NULL, &err), 0);
	free(txt);
	json_decref(row);
}

static void
test_users_cas(void **state)
{
	struct fixture *f = *state;
	char role[USERS_ROLE_MAX];
	struct error err;
	uint8_t key[32];
	json_t *u;
	int64_t gen;

	memcpy(key, f->key, sizeof(key));
	other_st = store_open_key(&store_backend_sqlite, f->db, key, &err);
	assert_non_null(other_st);
	assert_int_equal(users_add("root-a", "admin", "pw-root-a-1", 11, "t",
	    &err), 0);
	assert_int_equal(users_add("root-b", "admin", "pw-root-b-1", 11, "t",
	    &err), 0);
	assert_int_equal(users_add("olga", "operator", "pw-olga-01", 10, "t",
	    &err), 0);

	/* Another instance demotes olga while we change her password:
	 * our write is refused, made again on the fresh row, and both
	 * changes are there. */
	users_test_hook = other_instance_writes;
	other_fired = 0;
	other_role = "auditor";
	other_disable = NULL;
	assert_int_equal(users_set_password("olga", "pw-olga-02", 10, "t",
	    &err), 0);
	assert_int_equal(other_fired, 2);	/* a second round was made */
	assert_int_equal(users_authenticate("olga", "pw-olga-02", 10, role,
	    &gen, &err), 0);
	assert_string_equal(role, "auditor");
	assert_int_equal(gen, 2);

	/* Two instances disable the last two admins at once: the check
	 * after the write finds none left and puts root-a back. */
	other_fired = 0;
	other_role = NULL;
	other_disable = "root-b";
	assert_int_equal(users_set_disabled("root-a", 1, "t", &err),
	    USERS_INVALID);
	users_test_hook = NULL;
	assert_non_null(strstr(err.msg, "last enabled admin"));
	assert_int_equal(users_get("root-a", &u, &err), 0);
	assert_false(json_is_true(json_object_get(u, "disabled")));
	json_decref(u);
	/* ... and the same for a delete. */
	users_test_hook = other_instance_writes;
	other_fired = 0;
	other_disable = "root-c";
	assert_int_equal(users_add("root-c", "admin", "pw-root-c-1", 11, "t",
	    &err), 0);
	assert_int_equal(users_delete("root-a", &err), USERS_INVALID);
	users_test_hook = NULL;
	assert_int_equal(users_get("root-a", &u, &err), 0);
	json_decref(u);
	/* Two instances adding one name: one wins. */
	assert_int_equal(users_add("olga", "admin", "pw-olga-03", 10, "t",
	    &err), 1);
	store_close(other_st);
	other_st = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users_lifecycle,
		    consolefix_setup, consolefix_teardown),
		cmocka_unit_test_setup_teardown(test_users_cas,
		    consolefix_setup, consolefix_teardown),
	};

	log_init("test_console_users", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
