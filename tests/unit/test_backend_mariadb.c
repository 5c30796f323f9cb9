/*
 * test_backend_mariadb.c: what only the MariaDB backend (store/backend.h)
 * does, against a private server: compare-and-swap from 16 threads,
 * inserts from 16 threads sharing statements, four instances creating or
 * migrating a schema at once, a newer schema refused, errors naming the
 * redacted DSN, a daemon account without DDL privileges, the server
 * stopped and hung while a handle is in use.
 * SKIPPED without $TRUSTEE_TEST_MARIADB_DSN
 * (tests/integration/test_mariadb_backend.py sets it; befix.h: the
 * environment).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "befix.h"

/* Compare-and-swap under contention: of 16 threads (each on its own
 * pooled connection) with the same expected revision exactly one wins. */
static void
test_mariadb_cas_threads(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	uint64_t rev = 0, g = 0;
	void *h = NULL;

	assert_int_equal(befix_put(f, "t", 1, 0, 0, 1, "v", STORE_REV_ANY,
	    &rev), 0);
	assert_int_equal(befix_race(f, 0, rev, &h, 1, 16), 1);
	befix_id(id, 1);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_int_equal(r.rev, rev + 1);
	free((void *)r.blob);
	/* One insert of a new row, one delete of a revision. */
	assert_int_equal(befix_race(f, 2, 0, &h, 1, 16), 1);
	assert_int_equal(befix_race(f, 1, rev + 1, &h, 1, 16), 1);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_ABSENT);
	/* 16 threads x 10 bumps: no lost increment. */
	assert_int_equal(befix_race(f, 3, 0, &h, 1, 16), 16);
	assert_int_equal(f->be->gen_get(f->h, "g", &g, &err), STORE_OK);
	assert_int_equal(g, 160);
}

/*
 * Inserts-if-absent from 16 threads at once share statements
 * (store/mariadb_group.c), and each caller still gets its own insert's
 * outcome (befix_insert_group); the server counted fewer INSERT
 * statements than rows went in.
 */
static void
test_mariadb_insert_group(void **state)
{
	struct fixture *f = *state;
	const char *q = "SELECT VARIABLE_VALUE FROM "
	    "information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = "
	    "'COM_INSERT'";
	long long ins0, ins1;
	void *hs[1] = { f->h };

	ins0 = befix_mdb_value(f->conf, f->db, q);
	befix_insert_group(f, hs, 1);
	ins1 = befix_mdb_value(f->conf, f->db, q);
	/* Each statement counts once, whatever its rows. */
	print_message("insert group: %lld INSERT statements for %d "
	    "inserts\n", ins1 - ins0, BEFIX_GROUP_INSERTS);
	assert_true(ins1 - ins0 < BEFIX_GROUP_INSERTS);
}

struct opener {
	struct fixture *f;
	pthread_barrier_t *start;
	void *h;
	int rc;
	struct error err;
};

static void *
opener_thread(void *p)
{
	struct opener *o = p;

	pthread_barrier_wait(o->start);
	o->rc = o->f->be->open(&o->f->dsn, &o->h, &o->err);
	return NULL;
}

/* Four handles opened at once; each must succeed. */
static void
open_together(struct fixture *f)
{
	struct opener o[4];
	pthread_t t[4];
	pthread_barrier_t b;
	int i;

	pthread_barrier_init(&b, NULL, 4);
	for (i = 0; i < 4; i++) {
		memset(&o[i], 0, sizeof(o[i]));
		o[i].f = f;
		o[i].start = &b;
		pthread_create(&t[i], NULL, opener_thread, &o[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++) {
		if (o[i].rc != 0)
			fail_msg("open %d: %s", i, o[i].err.msg);
		f->be->close(o[i].h);
	}
	pthread_barrier_destroy(&b);
}

/* Instances starting together on an empty database create the schema
 * once (meta counts schema changes). */
static void
test_mariadb_create_once(void **state)
{
	struct fixture *f = *state;

	open_together(f);
	assert_int_equal(befix_mdb_value(f->conf, f->db,
	    "SELECT v FROM meta WHERE k = 'schema_version'"), 2);
	assert_int_equal(befix_mdb_value(f->conf, f->db,
	    "SELECT v FROM meta WHERE k = 'schema_changes'"), 1);
	/* Every table has a primary key and is InnoDB (Galera). */
	assert_int_equal(befix_mdb_value(f->conf, f->db, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES t WHERE TABLE_SCHEMA = DATABASE() AND "
	    "(ENGINE <> 'InnoDB' OR NOT EXISTS (SELECT 1 FROM "
	    "information_schema.TABLE_CONSTRAINTS c WHERE c.TABLE_SCHEMA = "
	    "t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND "
	    "c.CONSTRAINT_TYPE = 'PRIMARY KEY'))"), 0);
	assert_int_equal(befix_mdb_value(f->conf, f->db, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"), 3);
}

/* A schema-1 database (rows(tbl, id, blob)) migrates once when four
 * instances start together; its row keeps its bytes, kv 1, rev 1. */
static void
test_mariadb_migrate_v1_once(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];

	befix_mdb_exec(f->conf, f->db,
	    "CREATE TABLE meta (k VARCHAR(64) NOT NULL "
	    "PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB");
	befix_mdb_exec(f->conf, f->db,
	    "INSERT INTO meta VALUES ('schema_version', 1)");
	befix_mdb_exec(f->conf, f->db, "CREATE TABLE `rows` (tbl VARCHAR(32) "
	    "CHARACTER SET ascii COLLATE ascii_bin NOT NULL, id BINARY(32) "
	    "NOT NULL, `blob` LONGBLOB NOT NULL, PRIMARY KEY (tbl, id)) "
	    "ENGINE=InnoDB");
	befix_mdb_exec(f->conf, f->db, "INSERT INTO `rows` VALUES ('t', "
	    "x'0000000000000000000000000000000000000000000000000000000000000005'"
	    ", x'6f6c64')");
	open_together(f);
	assert_int_equal(befix_mdb_value(f->conf, f->db,
	    "SELECT v FROM meta WHERE k = 'schema_version'"), 2);
	assert_int_equal(befix_mdb_value(f->conf, f->db,
	    "SELECT v FROM meta WHERE k = 'schema_changes'"), 1);
	assert_int_equal(f->be->open(&f->dsn, &f->h, &err), 0);
	befix_id(id, 5);
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_int_equal(r.len, 3);
	assert_memory_equal(r.blob, "old", 3);
	assert_int_equal(r.kv, 1);
	assert_int_equal(r.rev, 1);
	free((void *)r.blob);
	assert_int_equal(befix_put(f, "t", 5, 0, 0, 2, "new", 1, NULL),
	    STORE_OK);
	assert_int_equal(f->be->gen_bump(f->h, "t", &err), STORE_OK);
}

/* A schema newer than this build: refused, nothing changed. */
static void
test_mariadb_newer_refused(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };

	befix_mdb_exec(f->conf, f->db,
	    "CREATE TABLE meta (k VARCHAR(64) NOT NULL "
	    "PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB");
	befix_mdb_exec(f->conf, f->db,
	    "INSERT INTO meta VALUES ('schema_version', 3)");
	assert_int_equal(f->be->open(&f->dsn, &f->h, &err), STORE_ERROR);
	assert_null(f->h);
	assert_non_null(strstr(err.msg, "newer than this trusteed supports"));
	assert_non_null(strstr(err.msg, f->redacted));
	assert_int_equal(befix_mdb_value(f->conf, f->db, "SELECT COUNT(*) FROM "
	    "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"), 1);
	assert_int_equal(befix_mdb_value(f->conf, f->db, "SELECT COUNT(*) FROM "
	    "meta"), 1);
	assert_int_equal(befix_mdb_value(f->conf, f->db, "SELECT v FROM meta"),
	    3);
}

/* Errors name the backend and the redacted DSN, never the password; a
 * wrong password, an unknown database or a failing statement is an
 * error, not "unavailable". */
static void
test_mariadb_errors(void **state)
{
	struct fixture *f = *state;
	struct store_dsn d = f->dsn;
	struct error err = { "" };
	void *h = NULL;

	d.password = "not-the-password";
	assert_int_equal(f->be->open(&d, &h, &err), STORE_ERROR);
	assert_null(h);
	assert_non_null(strstr(err.msg, "mariadb: "));
	assert_non_null(strstr(err.msg, f->redacted));
	assert_null(strstr(err.msg, "not-the-password"));
	if (befix_mdb_password != NULL && befix_mdb_password[0] != '\0')
		assert_null(strstr(err.msg, befix_mdb_password));
	d.password = befix_mdb_password;
	d.database = "trustee_no_such_database";
	assert_int_equal(f->be->open(&d, &h, &err), STORE_ERROR);
	assert_non_null(strstr(err.msg, "trustee_no_such_database"));
	/* A statement that fails: an error (not "unavailable") naming the
	 * operation and the table. */
	befix_mdb_exec(f->conf, f->db, "DROP TABLE gen");
	assert_int_equal(f->be->gen_bump(f->h, "policies", &err), STORE_ERROR);
	assert_non_null(strstr(err.msg, "generation bump of table 'policies'"));
	assert_non_null(strstr(err.msg, f->redacted));
	/* The connection is still good. */
	assert_int_equal(befix_put(f, "t", 2, 0, 0, 1, "ok", STORE_REV_ANY,
	    NULL), 0);
}

/* A daemon account without DDL privileges: refused clearly on an empty
 * database, and everything works once the schema exists. */
static void
test_mariadb_least_privilege(void **state)
{
	struct fixture *f = *state;
	struct store_dsn d = f->dsn;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	void *h = NULL;
	char fresh[80];

	if (f->conf->app_user == NULL) {
		print_message("no app_user in TRUSTEE_TEST_MARIADB_DSN\n");
		skip();
	}
	d.user = f->conf->app_user;
	/* The schema exists (setup opened it with the owner account). */
	assert_int_equal(f->be->open(&d, &h, &err), 0);
	assert_int_equal(befix_put(f, "t", 1, 0, 0, 1, "by owner",
	    STORE_REV_ANY, NULL), 0);
	befix_id(id, 1);
	assert_int_equal(f->be->get(h, "t", id, &r, &err), STORE_OK);
	free((void *)r.blob);
	r.blob = (const uint8_t *)"by app";
	r.len = 6;
	assert_int_equal(f->be->put(h, "t", &r, 1, NULL, &err), STORE_OK);
	assert_int_equal(f->be->gen_bump(h, "t", &err), STORE_OK);
	assert_int_equal(f->be->lock(h, "rotate", 100, &err), STORE_OK);
	f->be->unlock(h, "rotate");
	assert_int_equal(f->be->del(h, "t", id, 2, &err), STORE_OK);
	f->be->close(h);
	h = NULL;
	/* An empty database: creating the schema needs CREATE. */
	snprintf(fresh, sizeof(fresh), "%s_x", f->db);
	{
		char sql[128];

		snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", fresh);
		befix_mdb_exec(f->conf, NULL, sql);
		d.database = fresh;
		assert_int_equal(f->be->open(&d, &h, &err), STORE_ERROR);
		assert_null(h);
		assert_non_null(strstr(err.msg, "creating the schema"));
		assert_non_null(strstr(err.msg, "denied"));
		snprintf(sql, sizeof(sql), "DROP DATABASE `%s`", fresh);
		befix_mdb_exec(f->conf, NULL, sql);
	}
}

/* The server stops: every call answers STORE_UNAVAILABLE (none hangs);
 * it comes back: the same handle works again without reopening, also
 * for a lock held across the outage. Then the same with a server that
 * hangs (SIGSTOP), which only the timeouts can notice. */
struct inserter {
	struct fixture *f;
	pthread_barrier_t *start;
	unsigned n;
	int rc;
	struct error err;
};

static void *
inserter_thread(void *p)
{
	struct inserter *in = p;
	struct store_row r = { .kv = 1, .blob = (const uint8_t *)"i",
	    .len = 1 };

	befix_id(r.id, in->n);
	pthread_barrier_wait(in->start);
	in->rc = in->f->be->put(in->f->h, "t", &r, STORE_REV_ABSENT, NULL,
	    &in->err);
	return NULL;
}

/* 16 threads insert rows first..first+15 at once; each must get want. */
static void
insert_threads(struct fixture *f, unsigned first, int want)
{
	struct inserter in[16];
	pthread_t t[16];
	pthread_barrier_t b;
	int i;

	pthread_barrier_init(&b, NULL, 16);
	for (i = 0; i < 16; i++) {
		memset(&in[i], 0, sizeof(in[i]));
		in[i].f = f;
		in[i].start = &b;
		in[i].n = first + (unsigned)i;
		pthread_create(&t[i], NULL, inserter_thread, &in[i]);
	}
	for (i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&b);
	for (i = 0; i < 16; i++)
		if (in[i].rc != want)
			fail_msg("insert %u: %d, not %d: %s", in[i].n,
			    in[i].rc, want, in[i].err.msg);
}

static void
test_mariadb_outage(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_row r;
	struct store_scan q;
	struct befix_seen s;
	uint8_t id[STORE_ID_LEN];
	uint64_t g;

	if (getenv("TRUSTEE_TEST_MARIADB_CTL") == NULL) {
		print_message("TRUSTEE_TEST_MARIADB_CTL is not set\n");
		skip();
	}
	befix_id(id, 1);
	assert_int_equal(befix_put(f, "t", 1, 0, 0, 1, "before", STORE_REV_ANY,
	    NULL), 0);
	assert_int_equal(f->be->lock(f->h, "rotate", 1000, &err), STORE_OK);

	befix_mdb_down = 1;
	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "stop");
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err),
	    STORE_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "mariadb: "));
	assert_non_null(strstr(err.msg, f->redacted));
	assert_int_equal(befix_put(f, "t", 2, 0, 0, 1, "x", STORE_REV_ANY,
	    NULL), STORE_UNAVAILABLE);
	assert_int_equal(befix_put(f, "t", 2, 0, 0, 1, "x", 1, NULL),
	    STORE_UNAVAILABLE);
	assert_int_equal(f->be->del(f->h, "t", id, 1, &err),
	    STORE_UNAVAILABLE);
	memset(&q, 0, sizeof(q));
	assert_int_equal(f->be->scan(f->h, "t", &q, befix_seen_cb, &s, &err),
	    STORE_UNAVAILABLE);
	assert_int_equal(f->be->gen_get(f->h, "t", &g, &err),
	    STORE_UNAVAILABLE);
	assert_int_equal(f->be->lock(f->h, "other", 100, &err),
	    STORE_UNAVAILABLE);
	f->be->unlock(f->h, "rotate");	/* lost with its session anyway */

	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "start");
	befix_mdb_down = 0;
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_memory_equal(r.blob, "before", 6);
	free((void *)r.blob);
	assert_int_equal(befix_put(f, "t", 1, 0, 0, 1, "after", 1, NULL),
	    STORE_OK);
	assert_int_equal(f->be->lock(f->h, "rotate", 1000, &err), STORE_OK);
	f->be->unlock(f->h, "rotate");

	/* A hung server: the read timeout answers, then it thaws. */
	befix_mdb_down = 1;
	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "freeze");
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err),
	    STORE_UNAVAILABLE);
	assert_int_equal(befix_put(f, "t", 3, 0, 0, 1, "x", STORE_REV_ABSENT,
	    NULL), STORE_UNAVAILABLE);
	/* Inserts from 16 threads while it hangs: every one is answered
	 * (those queued behind a batch that waited, at once). */
	insert_threads(f, 100, STORE_UNAVAILABLE);
	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "thaw");
	befix_mdb_down = 0;
	assert_int_equal(f->be->get(f->h, "t", id, &r, &err), STORE_OK);
	assert_memory_equal(r.blob, "after", 5);
	assert_int_equal(r.rev, 2);
	free((void *)r.blob);
	/* And the same inserts go in once it answers again. */
	insert_threads(f, 100, STORE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mariadb_cas_threads,
		    befix_setup_mariadb, befix_teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_insert_group,
		    befix_setup_mariadb, befix_teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_create_once,
		    befix_setup_mariadb_raw, befix_teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_migrate_v1_once,
		    befix_setup_mariadb_raw, befix_teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_newer_refused,
		    befix_setup_mariadb_raw, befix_teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_errors,
		    befix_setup_mariadb, befix_teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_least_privilege,
		    befix_setup_mariadb, befix_teardown),
		cmocka_unit_test_setup_teardown(test_mariadb_outage,
		    befix_setup_mariadb, befix_teardown),
	};

	return befix_main("test_backend_mariadb", BEFIX_MARIADB,
	    tests, sizeof(tests) / sizeof(tests[0]));
}
