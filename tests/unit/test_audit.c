/*
 * test_audit.c: the audit trail's budgets (issue 9 item 5): guest events
 * cannot push admin actions out; equal guest events are aggregated; new
 * guest records are rate-limited per minute and capped in number; admin
 * records carry their retention; the previous one-table layout converts.
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
#include "../../server/audit.h"
#include "../../server/trusteed.h"
#include "testutil.h"

struct fixture {
	char dir[64];
	char db[128];
	struct store *st;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->st = testutil_store_new("test_audit", f->dir, sizeof(f->dir),
	    f->db, sizeof(f->db));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	audit_shutdown();
	audit_configure(NULL);
	testutil_store_free(f->st, f->dir, f->db);
	free(f);
	return 0;
}

static void
limits(int days, int keep, int per_minute)
{
	struct audit_limits l = { days, keep, per_minute };

	audit_configure(&l);
}

static uint64_t
rows(struct store *st, const char *table)
{
	struct error err = { "" };
	uint64_t n = 0;

	if (store_count(st, table, &n, &err) != 0)
		fail_msg("count: %s", err.msg);
	return n;
}

/* Every record (newest first), following the cursor. */
static json_t *
all_records(const struct audit_filter *f)
{
	struct error err = { "" };
	json_t *out = json_array(), *items, *it;
	char cursor[64] = "";
	size_t i;
	int more, pages = 0;

	do {
		if (audit_list(cursor[0] != '\0' ? cursor : NULL, 1000, f,
		    &items, &more, &err) != 0)
			fail_msg("audit_list: %s", err.msg);
		json_array_foreach(items, i, it)
			json_array_append(out, it);
		if (json_array_size(items) > 0)
			snprintf(cursor, sizeof(cursor), "%s",
			    json_string_value(json_object_get(json_array_get(
			    items, json_array_size(items) - 1), "id")));
		json_decref(items);
		assert_true(++pages < 100);
	} while (more);
	return out;
}

static void
test_guests_cannot_evict_admins(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct audit_filter flt;
	json_t *recs;
	char target[64], actor[64];
	int i;

	limits(30, 200, 100000);
	assert_int_equal(audit_init(f->st, &err), 0);
	audit_record("alice (admin)", "resource.put", "a/b/c", "ok", NULL);
	audit_record("alice (admin)", "policy.put", "resource/resource-policy",
	    "ok", NULL);
	/* 1000 different denied GETs from guests (distinct targets, so no
	 * aggregation): far beyond the guest cap. */
	for (i = 0; i < 1000; i++) {
		snprintf(target, sizeof(target), "repo/key/%d", i);
		snprintf(actor, sizeof(actor), "guest bearer peer=10.0.0.%d:%d",
		    i % 250, 40000 + i);
		audit_record(actor, "resource.get", target, "denied",
		    "policy denies");
	}
	/* Capped (it may exceed by the check interval, no more). */
	audit_flush();
	assert_true(rows(f->st, "audit_guest") <= 200 + 100);
	assert_true(rows(f->st, "audit_guest") >= 200);
	/* Both admin actions are still there. */
	assert_int_equal(rows(f->st, "audit"), 2);
	memset(&flt, 0, sizeof(flt));
	flt.actor = "alice (admin)";
	recs = all_records(&flt);
	assert_int_equal(json_array_size(recs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    recs, 0), "action")), "policy.put");
	json_decref(recs);
	/* The newest guest record is listed first overall. */
	recs = all_records(NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    recs, 0), "target")), "repo/key/999");
	json_decref(recs);
}

static void
test_guest_aggregation(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	json_t *recs, *r;
	char actor[64];
	int i;

	limits(30, 10000, 100000);
	assert_int_equal(audit_init(f->st, &err), 0);
	/* 500 equal denials, each over a new connection (another port). */
	for (i = 0; i < 500; i++) {
		snprintf(actor, sizeof(actor), "guest bearer peer=10.0.0.9:%d",
		    30000 + i);
		audit_record(actor, "resource.get", "repo/key/x", "denied",
		    "policy denies");
	}
	audit_record("bob (operator)", "resource.delete", "repo/key/x", "ok",
	    NULL);
	/* The admin record is written when audit_record returns; guest
	 * records at their group commit. */
	assert_int_equal(rows(f->st, "audit"), 1);
	audit_flush();
	assert_int_equal(rows(f->st, "audit_guest"), 1);
	recs = all_records(NULL);
	assert_int_equal(json_array_size(recs), 2);
	r = json_array_get(recs, 1);
	assert_string_equal(json_string_value(json_object_get(r, "action")),
	    "resource.get");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 500);
	assert_true(json_is_string(json_object_get(r, "last_time")));
	/* Admin records keep their documented shape. */
	r = json_array_get(recs, 0);
	assert_int_equal(json_object_size(r), 7);
	json_decref(recs);
	/* Another outcome is another record. */
	audit_record("guest bearer peer=10.0.0.9:1", "resource.get",
	    "repo/key/x", "allowed", "ok");
	audit_flush();
	assert_int_equal(rows(f->st, "audit_guest"), 2);
}

/* Guest records still queued for their group commit are written by a
 * clean stop (what SIGTERM runs). */
static void
test_guest_batch_written_at_stop(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	char target[64];
	int i;

	limits(30, 10000, 100000);
	assert_int_equal(audit_init(f->st, &err), 0);
	for (i = 0; i < 7; i++) {
		snprintf(target, sizeof(target), "repo/key/%d", i);
		audit_record("guest session=abcd peer=1.2.3.4:5",
		    "resource.get", target, "allowed", "ok");
	}
	audit_shutdown();
	assert_int_equal(rows(f->st, "audit_guest"), 7);
}

static void
test_guest_rate_limit(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	json_t *recs, *r;
	char target[64];
	size_t i;
	int found = 0;

	limits(30, 10000, 10);
	assert_int_equal(audit_init(f->st, &err), 0);
	for (i = 0; i < 50; i++) {
		snprintf(target, sizeof(target), "repo/key/%zu", i);
		audit_record("guest session=abcd peer=1.2.3.4:5", "resource.get",
		    target, "denied", "no");
	}
	/* 10 records and one that counts the 40 others (unless the minute
	 * turned meanwhile: then the budget restarted once). */
	recs = all_records(NULL);
	json_array_foreach(recs, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "action")),
		    "audit.suppressed") == 0) {
			found = 1;
			assert_true(json_integer_value(json_object_get(r,
			    "count")) >= 30);
		}
	}
	assert_true(found);
	assert_true(json_array_size(recs) <= 22);
	json_decref(recs);
}

static void
test_admin_retention_and_conversion(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_meta m;
	json_t *recs;
	uint8_t *val;
	size_t len;
	int more;
	static const char old_admin[] = "{\"id\":\"00000190000000aa-00000001\","
	    "\"time\":\"2024-06-01T00:00:00Z\",\"actor\":\"carol (admin)\","
	    "\"action\":\"resource.put\",\"target\":\"r/k/t\",\"outcome\":"
	    "\"ok\",\"reason\":\"\"}";
	static const char old_guest[] = "{\"id\":\"00000190000000aa-00000002\","
	    "\"time\":\"2024-06-01T00:00:00Z\",\"actor\":\"guest bearer "
	    "peer=1.1.1.1:2\",\"action\":\"resource.get\",\"target\":\"r/k/t\","
	    "\"outcome\":\"denied\",\"reason\":\"no\"}";

	/* The previous layout: one table, ord 0. */
	assert_int_equal(store_put(f->st, "audit", "00000190000000aa-00000001",
	    old_admin, strlen(old_admin), &err), 0);
	assert_int_equal(store_put(f->st, "audit", "00000190000000aa-00000002",
	    old_guest, strlen(old_guest), &err), 0);
	limits(3650, 10000, 600);
	assert_int_equal(audit_init(f->st, &err), 0);
	assert_int_equal(rows(f->st, "audit"), 1);
	assert_int_equal(rows(f->st, "audit_guest"), 1);
	assert_int_equal(store_get_ex(f->st, "audit",
	    "00000190000000aa-00000001", &val, &len, &m, &err), 0);
	secret_free(val, len);
	assert_int_equal(m.ord, (int64_t)(0x00000190000000aaULL << 20 | 1));
	assert_int_equal(m.exp, 0x00000190000000aaLL / 1000 + 3650 * 86400);

	audit_record("dave (admin)", "policy.put", "x", "ok", NULL);
	recs = all_records(NULL);
	assert_int_equal(json_array_size(recs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    recs, 0), "actor")), "dave (admin)");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    recs, 2), "actor")), "carol (admin)");
	json_decref(recs);
	/* With a retention of 7 days the 2024 record is past it: the next
	 * admin record's hourly purge drops it. */
	audit_shutdown();
	limits(7, 10000, 600);
	assert_int_equal(audit_init(f->st, &err), 0);
	audit_record("erin (admin)", "policy.put", "y", "ok", NULL);
	assert_int_equal(rows(f->st, "audit"), 2);	/* dave, erin */
	/* A cursor that is not an id. */
	assert_int_equal(audit_list("nonsense", 10, NULL, &recs, &more, &err),
	    -1);
	assert_string_equal(err.msg, "bad cursor");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_guest_batch_written_at_stop,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_guests_cannot_evict_admins,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_aggregation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_guest_rate_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_admin_retention_and_conversion, setup, teardown),
	};

	log_init("test_audit", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
