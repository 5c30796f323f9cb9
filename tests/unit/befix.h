/*
 * befix.h: the fixture of the storage backend contract tests
 * (test_backend_*.c, store/backend.h): one set of cases run against every
 * backend, SQLite always, MariaDB when $TRUSTEE_TEST_MARIADB_DSN names a
 * private server the test harness started, Galera when
 * $TRUSTEE_TEST_MARIADB_GALERA names a cluster's nodes
 * (tests/integration/test_mariadb_backend.py sets both, through
 * tests/integration/mariadb.py; CI runs that suite, whose prerequisites
 * fail under CI=true). Without the variable the MariaDB or Galera group
 * says SKIPPED and is not counted. Header-only; include after <cmocka.h>.
 *
 * Environment (MariaDB):
 *   TRUSTEE_TEST_MARIADB_DSN   "socket=PATH;user=U;database=PREFIX" or
 *                              "host=H;port=N;user=U;database=PREFIX":
 *                              every case creates a fresh database
 *                              PREFIX_<pid>_<n> (the user needs CREATE
 *                              and DROP on it) and drops it afterwards;
 *                              ";app_user=A" names a second account with
 *                              only SELECT, INSERT, UPDATE and DELETE
 *                              there (same password)
 *   TRUSTEE_TEST_MARIADB_PASSWORD_FILE  the user's password (one line)
 *   TRUSTEE_TEST_MARIADB_CTL   a command that takes "stop", "start",
 *                              "freeze" or "thaw" for the server (the
 *                              outage cases are skipped without it)
 *   TRUSTEE_TEST_MARIADB_GALERA  three such DSNs separated by spaces,
 *                              one per node of a Galera cluster
 *   TRUSTEE_TEST_MARIADB_GALERA_CTL  as _CTL, taking "stop N", "kill N",
 *                              "start N" (node N counts from 1) and
 *                              "wait 1" (until the running nodes form
 *                              the cluster)
 *   TRUSTEE_TEST_BACKENDS      which groups run: a comma list of sqlite,
 *                              mariadb, galera (default: all)
 *
 * - a case's state is a struct fixture: befix_setup_sqlite (a fresh
 *   database file), befix_setup_mariadb_raw (a fresh, empty MariaDB
 *   database), befix_setup_mariadb (the same, opened); befix_teardown
 *   closes the handle and removes the file or drops the database;
 * - befix_put, befix_scan (collecting into struct befix_seen) and
 *   befix_holders / befix_holder_do call the backend and fail the test
 *   on an error; befix_id makes row id n;
 * - befix_mdb_* reach the MariaDB server directly (SQL, values, the
 *   harness's ctl command); befix_race runs racing threads,
 *   befix_insert_group 16 threads of inserts-if-absent;
 * - main returns befix_main: the file's cases, once in each group of
 *   the backends it names that the environment selects; the contract
 *   cases take befix_setup, which opens the backend of the group running.
 */
#ifndef TRUSTEE_BEFIX_H
#define TRUSTEE_BEFIX_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mysql.h>

#include "../../lib/log.h"
#include "../../store/backend.h"
#include "testutil.h"

/* A MariaDB server as TRUSTEE_TEST_MARIADB_DSN describes it. */
struct befix_mdb {
	char *user;
	char *host;
	unsigned port;
	char *socket;
	char *prefix;		/* of the per-test database names */
	char *app_user;		/* only SELECT, INSERT, UPDATE, DELETE */
};

struct fixture {
	const struct store_backend *be;
	struct store_dsn dsn;
	char dir[64];
	char path[128];
	void *h;
	const struct befix_mdb *conf;	/* MariaDB: the server */
	char db[65];			/* MariaDB: this case's database */
	char redacted[320];
};

static struct befix_mdb befix_mdb_server;	/* TRUSTEE_TEST_MARIADB_DSN */
static struct befix_mdb befix_mdb_nodes[3];	/* .._GALERA */
static char *befix_mdb_password;
static unsigned befix_mdb_seq;
static int befix_mdb_down;	/* an outage case left it down */
static const char *befix_name = "test_backend";	/* for messages */

static inline void
befix_id(uint8_t id[STORE_ID_LEN], unsigned n)
{
	memset(id, 0, STORE_ID_LEN);
	id[STORE_ID_LEN - 2] = (uint8_t)(n >> 8);
	id[STORE_ID_LEN - 1] = (uint8_t)n;
}

static inline int
befix_put(struct fixture *f, const char *table, unsigned n, int64_t ord,
    int64_t exp, uint32_t kv, const char *blob, uint64_t expect,
    uint64_t *rev)
{
	struct store_row r = { .kv = kv, .ord = ord, .exp = exp,
	    .blob = (const uint8_t *)blob, .len = strlen(blob) };
	struct error err = { "" };
	int rc;

	befix_id(r.id, n);
	rc = f->be->put(f->h, table, &r, expect, rev, &err);
	if (rc < 0)
		print_error("put: %s\n", err.msg);
	return rc;
}

/* The scan callback collects the low id bytes in visiting order. */
struct befix_seen {
	unsigned ids[64];
	char tables[64][STORE_TABLE_MAX + 1];
	size_t n;
	size_t stop_after;
};

static inline int
befix_seen_cb(const char *table, const struct store_row *row, void *arg)
{
	struct befix_seen *s = arg;

	if (s->n < 64) {
		s->ids[s->n] = (unsigned)row->id[STORE_ID_LEN - 2] << 8 |
		    row->id[STORE_ID_LEN - 1];
		snprintf(s->tables[s->n], sizeof(s->tables[s->n]), "%s",
		    table);
	}
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after;
}

static inline void
befix_scan(struct fixture *f, const char *table, const struct store_scan *q,
    struct befix_seen *s)
{
	struct error err = { "" };

	memset(s, 0, sizeof(*s));
	if (f->be->scan(f->h, table, q, befix_seen_cb, s, &err) != STORE_OK)
		fail_msg("scan: %s", err.msg);
}

/* Parse "k=v;k=v" (user, host, port, socket, database); 0 or -1. */
static inline int
befix_mdb_parse(const char *text, struct befix_mdb *c)
{
	char *copy = xstrdup(text), *save = NULL, *kv, *v;
	long port;

	memset(c, 0, sizeof(*c));
	for (kv = strtok_r(copy, ";", &save); kv != NULL;
	    kv = strtok_r(NULL, ";", &save)) {
		if ((v = strchr(kv, '=')) == NULL)
			goto bad;
		*v++ = '\0';
		if (strcmp(kv, "user") == 0)
			c->user = xstrdup(v);
		else if (strcmp(kv, "host") == 0)
			c->host = xstrdup(v);
		else if (strcmp(kv, "socket") == 0)
			c->socket = xstrdup(v);
		else if (strcmp(kv, "database") == 0)
			c->prefix = xstrdup(v);
		else if (strcmp(kv, "app_user") == 0)
			c->app_user = xstrdup(v);
		else if (strcmp(kv, "port") == 0) {
			errno = 0;
			port = strtol(v, NULL, 10);
			if (errno != 0 || port <= 0 || port > 65535)
				goto bad;
			c->port = (unsigned)port;
		} else
			goto bad;
	}
	free(copy);
	if (c->user == NULL || c->prefix == NULL || strlen(c->prefix) > 40 ||
	    (c->socket == NULL && c->host == NULL))
		return -1;
	return 0;
bad:
	free(copy);
	return -1;
}

/* The password from TRUSTEE_TEST_MARIADB_PASSWORD_FILE (or NULL). */
static inline void
befix_mdb_password_read(void)
{
	const char *pf = getenv("TRUSTEE_TEST_MARIADB_PASSWORD_FILE");
	struct error err = { "" };
	uint8_t *data = NULL;
	size_t len = 0;

	if (pf == NULL || pf[0] == '\0')
		return;
	if (file_read_all(pf, 4096, &data, &len, &err) != 0) {
		fprintf(stderr, "%s: %s\n", befix_name, err.msg);
		exit(1);
	}
	data[strcspn((char *)data, "\r\n")] = '\0';
	befix_mdb_password = (char *)data;
}

/* A raw client connection to c (database db, or none). */
static inline MYSQL *
befix_mdb_connect(const struct befix_mdb *c, const char *db)
{
	MYSQL *my = mysql_init(NULL);
	unsigned int t = 10;

	assert_non_null(my);
	mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &t);
	if (mysql_real_connect(my, c->socket != NULL ? "localhost" : c->host,
	    c->user, befix_mdb_password, db, c->port, c->socket, 0) == NULL)
		fail_msg("mariadb: connecting as %s: %s", c->user,
		    mysql_error(my));
	return my;
}

/* Run SQL statements (one at a time) on database db of c. */
static inline void
befix_mdb_exec(const struct befix_mdb *c, const char *db, const char *sql)
{
	MYSQL *my = befix_mdb_connect(c, db);

	if (mysql_query(my, sql) != 0)
		fail_msg("mariadb: %s: %s", sql, mysql_error(my));
	mysql_close(my);
}

/* The integer a query returns; -1 for no row or NULL. */
static inline long long
befix_mdb_value(const struct befix_mdb *c, const char *db, const char *sql)
{
	MYSQL *my = befix_mdb_connect(c, db);
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	long long v = -1;

	if (mysql_query(my, sql) != 0 || (res = mysql_store_result(my)) ==
	    NULL)
		fail_msg("mariadb: %s: %s", sql, mysql_error(my));
	if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
		v = strtoll(row[0], NULL, 10);
	mysql_free_result(res);
	mysql_close(my);
	return v;
}

/* Run the harness command in $var with an argument. */
static inline void
befix_mdb_ctl(const char *var, const char *action)
{
	const char *ctl = getenv(var);
	char *cmd;

	if (ctl == NULL || ctl[0] == '\0')
		fail_msg("%s is not set", var);
	cmd = xasprintf("%s %s", ctl, action);
	if (system(cmd) != 0)
		fail_msg("'%s' failed", cmd);
	free(cmd);
}

/* Fill f's DSN for a fresh database on c (created, not opened). */
static inline void
befix_mdb_fixture(struct fixture *f, const struct befix_mdb *c, const char *db)
{
	char sql[128];

	f->be = &store_backend_mariadb;
	f->conf = c;
	if (db != NULL)
		snprintf(f->db, sizeof(f->db), "%s", db);
	else {
		snprintf(f->db, sizeof(f->db), "%s_%ld_%u", c->prefix,
		    (long)getpid(), ++befix_mdb_seq);
		snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", f->db);
		befix_mdb_exec(c, NULL, sql);
	}
	f->dsn.scheme = "mariadb";
	f->dsn.user = c->user;
	f->dsn.host = c->host;
	f->dsn.port = c->port;
	f->dsn.socket = c->socket;
	f->dsn.database = f->db;
	f->dsn.password = befix_mdb_password;
	f->dsn.timeout_ms = 3000;
	if (c->socket != NULL)
		snprintf(f->redacted, sizeof(f->redacted),
		    "mariadb://%s@localhost/%s?socket=%s", c->user, f->db,
		    c->socket);
	else
		snprintf(f->redacted, sizeof(f->redacted),
		    "mariadb://%s@%s:%u/%s", c->user, c->host, c->port, f->db);
	f->dsn.redacted = f->redacted;
}

static inline void
befix_mdb_teardown(struct fixture *f)
{
	char sql[128];

	if (befix_mdb_down) {
		befix_mdb_down = 0;
		befix_mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "thaw");
		befix_mdb_ctl("TRUSTEE_TEST_MARIADB_CTL", "start");
	}
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", f->db);
	befix_mdb_exec(f->conf, NULL, sql);
}

static inline int
befix_setup_sqlite(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct error err = { "" };

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_backend.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		fail_msg("mkdtemp");
	snprintf(f->path, sizeof(f->path), "%s/b.db", f->dir);
	f->be = &store_backend_sqlite;
	f->dsn.scheme = "sqlite";
	f->dsn.path = f->path;
	f->dsn.timeout_ms = 2000;
	f->dsn.redacted = f->path;
	if (f->be->open(&f->dsn, &f->h, &err) != 0)
		fail_msg("open: %s", err.msg);
	*state = f;
	return 0;
}

static inline int
befix_teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	f->be->close(f->h);
	if (f->conf != NULL) {
		befix_mdb_teardown(f);
		free(f);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static inline int
befix_setup_mariadb_raw(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	befix_mdb_fixture(f, &befix_mdb_server, NULL);
	*state = f;
	return 0;
}

static inline int
befix_setup_mariadb(void **state)
{
	struct fixture *f;
	struct error err = { "" };

	befix_setup_mariadb_raw(state);
	f = *state;
	if (f->be->open(&f->dsn, &f->h, &err) != 0)
		fail_msg("open: %s", err.msg);
	return 0;
}

/* Holders noted less than ms ago, other than holder. */
static inline uint64_t
befix_holders(struct fixture *f, void *h, const char *holder, int64_t ms)
{
	struct error err = { "" };
	uint64_t n = 99;

	if (f->be->holder(h, STORE_HOLDER_OTHERS, holder, ms, &n, &err) !=
	    STORE_OK)
		fail_msg("holders: %s", err.msg);
	return n;
}

static inline void
befix_holder_do(struct fixture *f, void *h, enum store_holder_op op,
    const char *holder, int64_t ms)
{
	struct error err = { "" };

	if (f->be->holder(h, op, holder, ms, NULL, &err) != STORE_OK)
		fail_msg("holder %d %s: %s", (int)op, holder, err.msg);
}

struct befix_race {
	struct fixture *f;
	pthread_barrier_t *start;
	int op;			/* 0 CAS put, 1 CAS delete, 2 insert, 3 bump */
	uint64_t rev;
	void *h;		/* another handle, or NULL for f->h */
	int rc;
};

static inline void *
befix_race_thread(void *p)
{
	struct befix_race *r = p;
	struct store_row row = { .kv = 1, .blob = (const uint8_t *)"w",
	    .len = 1 };
	struct error err = { "" };
	void *h = r->h != NULL ? r->h : r->f->h;
	int i;

	befix_id(row.id, 1);
	pthread_barrier_wait(r->start);
	switch (r->op) {
	case 0:
		r->rc = r->f->be->put(h, "t", &row, r->rev, NULL, &err);
		break;
	case 1:
		r->rc = r->f->be->del(h, "t", row.id, r->rev, &err);
		break;
	case 2:
		befix_id(row.id, 2);
		r->rc = r->f->be->put(h, "t", &row, STORE_REV_ABSENT, NULL,
		    &err);
		break;
	default:
		for (i = 0, r->rc = 0; i < 10 && r->rc == 0; i++)
			r->rc = r->f->be->gen_bump(h, "g", &err);
	}
	if (r->rc < 0)
		print_error("race: %s\n", err.msg);
	return NULL;
}

/* Run n racers of one kind; returns how many got STORE_OK (and fails on
 * anything but OK or ABSENT). hs: the handles, alternating. */
static inline int
befix_race(struct fixture *f, int op, uint64_t rev, void **hs, int nh, int n)
{
	pthread_t t[16];
	struct befix_race r[16];
	pthread_barrier_t b;
	int i, won = 0;

	assert_true(n <= 16);
	pthread_barrier_init(&b, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		r[i] = (struct befix_race){ f, &b, op, rev, hs[i % nh], -9 };
		pthread_create(&t[i], NULL, befix_race_thread, &r[i]);
	}
	/* Join them all before any assertion leaves this function. */
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&b);
	for (i = 0; i < n; i++) {
		assert_in_range(r[i].rc, STORE_OK, STORE_ABSENT);
		won += r[i].rc == STORE_OK;
	}
	return won;
}

/*
 * Inserts-if-absent from 16 threads at once (handles hs[0..nh), in turn)
 * that store/mariadb_group.c may send together: every thread inserts
 * BEFIX_GROUP_OWN rows of its own, interleaved with BEFIX_GROUP_SHARED
 * rows that all threads insert (with their thread's number as the
 * value). Fails unless each own row was inserted, each shared row has
 * exactly one winner, and the row holds the winner's value.
 */
#define BEFIX_GROUP_THREADS	16
#define BEFIX_GROUP_OWN		24
#define BEFIX_GROUP_SHARED	6
#define BEFIX_GROUP_INSERTS	(BEFIX_GROUP_THREADS * (BEFIX_GROUP_OWN + \
	BEFIX_GROUP_SHARED))

struct befix_grouper {
	struct fixture *f;
	pthread_barrier_t *start;
	void *h;
	int t;
	int own_ok;			/* own rows inserted */
	int shared_rc[BEFIX_GROUP_SHARED];
	struct error err;
};

static inline void *
befix_grouper_thread(void *p)
{
	struct befix_grouper *g = p;
	const int every = BEFIX_GROUP_OWN / BEFIX_GROUP_SHARED;
	char val[8];
	struct store_row r = { .kv = 1, .blob = (const uint8_t *)val };
	int i, rc;

	snprintf(val, sizeof(val), "t%02d", g->t);
	r.len = strlen(val);
	pthread_barrier_wait(g->start);
	for (i = 0; i < BEFIX_GROUP_OWN; i++) {
		befix_id(r.id, 1000 + (unsigned)(g->t * BEFIX_GROUP_OWN + i));
		rc = g->f->be->put(g->h, "t", &r, STORE_REV_ABSENT, NULL,
		    &g->err);
		g->own_ok += rc == STORE_OK;
		if (i % every == 0) {
			befix_id(r.id, 500 + (unsigned)(i / every));
			g->shared_rc[i / every] = g->f->be->put(g->h, "t", &r,
			    STORE_REV_ABSENT, NULL, &g->err);
		}
	}
	return NULL;
}

static inline void
befix_insert_group(struct fixture *f, void **hs, int nh)
{
	struct befix_grouper g[BEFIX_GROUP_THREADS];
	pthread_t t[BEFIX_GROUP_THREADS];
	pthread_barrier_t b;
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	int i, k, winner;

	pthread_barrier_init(&b, NULL, BEFIX_GROUP_THREADS);
	for (i = 0; i < BEFIX_GROUP_THREADS; i++) {
		memset(&g[i], 0, sizeof(g[i]));
		g[i].f = f;
		g[i].start = &b;
		g[i].h = hs[i % nh];
		g[i].t = i;
		pthread_create(&t[i], NULL, befix_grouper_thread, &g[i]);
	}
	/* Join them all before any assertion leaves this function. */
	for (i = 0; i < BEFIX_GROUP_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&b);
	for (i = 0; i < BEFIX_GROUP_THREADS; i++) {
		if (g[i].own_ok != BEFIX_GROUP_OWN)
			fail_msg("thread %d: %d of %d own rows inserted: %s",
			    i, g[i].own_ok, BEFIX_GROUP_OWN, g[i].err.msg);
	}
	for (k = 0; k < BEFIX_GROUP_SHARED; k++) {
		winner = -1;
		for (i = 0; i < BEFIX_GROUP_THREADS; i++) {
			if (g[i].shared_rc[k] < 0)
				fail_msg("thread %d, shared row %d: %s", i, k,
				    g[i].err.msg);
			assert_in_range(g[i].shared_rc[k], STORE_OK,
			    STORE_ABSENT);
			if (g[i].shared_rc[k] == STORE_OK) {
				assert_int_equal(winner, -1);
				winner = i;
			}
		}
		assert_int_not_equal(winner, -1);
		befix_id(id, 500 + (unsigned)k);
		assert_int_equal(f->be->get(hs[0], "t", id, &r, &err),
		    STORE_OK);
		assert_int_equal(r.rev, 1);
		assert_int_equal(r.len, 3);
		assert_int_equal((r.blob[1] - '0') * 10 + (r.blob[2] - '0'),
		    winner);
		free((void *)r.blob);
	}
	assert_int_equal(befix_mdb_value(f->conf, f->db, "SELECT COUNT(*) "
	    "FROM `rows` WHERE tbl = 't'"), BEFIX_GROUP_THREADS *
	    BEFIX_GROUP_OWN + BEFIX_GROUP_SHARED);
}

/* Whether $TRUSTEE_TEST_BACKENDS (default: all) selects a group. */
static inline int
befix_selected(const char *name)
{
	const char *sel = getenv("TRUSTEE_TEST_BACKENDS");
	char *copy, *save = NULL, *w;
	int found = 0;

	if (sel == NULL || sel[0] == '\0')
		return 1;
	copy = xstrdup(sel);
	for (w = strtok_r(copy, ",", &save); w != NULL && !found;
	    w = strtok_r(NULL, ",", &save))
		found = strcmp(w, name) == 0;
	free(copy);
	return found;
}

/* Parse the Galera nodes' DSNs (three, space-separated); 0 or -1. */
static inline int
befix_galera_parse(const char *text)
{
	char *copy = xstrdup(text), *save = NULL, *w;
	int n = 0;

	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (n == 3 || befix_mdb_parse(w, &befix_mdb_nodes[n]) == -1) {
			free(copy);
			return -1;
		}
		n++;
	}
	free(copy);
	return n == 3 ? 0 : -1;
}

/* The groups of cases befix_main runs. */
#define BEFIX_SQLITE	1
#define BEFIX_MARIADB	2
#define BEFIX_GALERA	4

static int befix_group;		/* the group running */

/* The setup of a contract case: a fresh database on the backend of the
 * group running (befix_setup_sqlite or befix_setup_mariadb). */
static inline int
befix_setup(void **state)
{
	if (befix_group == BEFIX_MARIADB)
		return befix_setup_mariadb(state);
	return befix_setup_sqlite(state);
}

/* Whether to run the mariadb group: 1 when selected and its DSN is set
 * and well-formed (it reads the password then), 0 when not selected or
 * not set (it says SKIPPED), -1 when malformed. */
static inline int
befix_mariadb(void)
{
	const char *dsn = getenv("TRUSTEE_TEST_MARIADB_DSN");

	if (!befix_selected("mariadb"))
		return 0;
	if (dsn == NULL || dsn[0] == '\0') {
		printf("# mariadb: SKIPPED: TRUSTEE_TEST_MARIADB_DSN is not set "
		    "(tests/integration/test_mariadb_backend.py sets it)\n");
		return 0;
	}
	befix_mdb_password_read();
	if (befix_mdb_parse(dsn, &befix_mdb_server) == -1) {
		fprintf(stderr, "%s: TRUSTEE_TEST_MARIADB_DSN: "
		    "expected user=U;database=PREFIX and socket=PATH or "
		    "host=H;port=N\n", befix_name);
		return -1;
	}
	return 1;
}

/* Whether to run the galera group: 1 when selected and its DSNs are set
 * and well-formed (it reads the password then), 0 when not selected or
 * not set, -1 when malformed. */
static inline int
befix_galera(void)
{
	const char *gdsn = getenv("TRUSTEE_TEST_MARIADB_GALERA");

	if (!befix_selected("galera") || gdsn == NULL || gdsn[0] == '\0')
		return 0;
	befix_mdb_password_read();
	if (befix_galera_parse(gdsn) == -1) {
		fprintf(stderr, "%s: TRUSTEE_TEST_MARIADB_GALERA: "
		    "expected three DSNs separated by spaces\n", befix_name);
		return -1;
	}
	return 1;
}

/*
 * The main of a test_backend_*.c file named name: runs its n tests as
 * the group of each backend in groups (BEFIX_SQLITE, BEFIX_MARIADB,
 * BEFIX_GALERA) that $TRUSTEE_TEST_BACKENDS selects and, for MariaDB and
 * Galera, whose environment is set. Returns the exit status: 1 when a
 * case failed or a DSN was malformed.
 */
static inline int
befix_main(const char *name, int groups, const struct CMUnitTest *tests,
    size_t n)
{
	int failed = 0, rc;

	befix_name = name;
	log_init(name, LOG_LVL_ERROR);
	if ((groups & BEFIX_SQLITE) && befix_selected("sqlite")) {
		befix_group = BEFIX_SQLITE;
		failed += _cmocka_run_group_tests("sqlite", tests, n, NULL,
		    NULL);
	}
	if ((groups & BEFIX_MARIADB) && (rc = befix_mariadb()) != 0) {
		befix_group = BEFIX_MARIADB;
		failed += rc < 0 ? 1 : _cmocka_run_group_tests("mariadb", tests,
		    n, NULL, NULL);
	}
	if ((groups & BEFIX_GALERA) && (rc = befix_galera()) != 0) {
		befix_group = BEFIX_GALERA;
		failed += rc < 0 ? 1 : _cmocka_run_group_tests("galera", tests,
		    n, NULL, NULL);
	}
	return failed != 0;
}

#endif
