/*
 * mariadb_lock.c: the MariaDB backend's named locks (backend.h lock and
 * unlock), on GET_LOCK and RELEASE_LOCK. A lock belongs to the session
 * that took it, so a held lock pins its pooled connection (a slot of
 * m->locks[], at most STORE_MARIADB_LOCKS at once) until unlock; a
 * connection that fails or closes drops its locks with it on the server.
 * Lock names are qualified by the database (GET_LOCK names are global to
 * the server). mariadb_lock_get is also how mariadb_schema.c serialises
 * migrations.
 *
 * Galera: GET_LOCK is local to a node (Galera does not replicate it):
 * instances on different nodes do not exclude each other, so callers of
 * lock() must stay correct without it (the store inserts with
 * STORE_REV_ABSENT and re-seals by CAS).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mysql.h>

#include "../lib/log.h"
#include "mariadb_int.h"

static const char mariadb_lock_get_sql[] = "SELECT GET_LOCK(?, ?)";
static const char mariadb_lock_release_sql[] = "SELECT RELEASE_LOCK(?)";

/* GET_LOCK names are global to the server: qualify ours by database. */
void
mariadb_lock_name(struct store_mariadb *m, const char *name, char *out,
    size_t cap)
{
	snprintf(out, cap, "%s%s", m->lock_prefix, name);
}

/*
 * GET_LOCK on c, waiting up to wait_ms in steps shorter than the
 * statement time limit. 0 taken, 1 busy, -1 with c->err_* set.
 */
int
mariadb_lock_get(struct store_mariadb *m, struct store_mariadb_conn *c,
    const char *lname, int wait_ms)
{
	struct timespec deadline;
	MYSQL_STMT *stmt;
	MYSQL_BIND b[2], r[1];
	double secs;
	int64_t got;
	my_bool null;
	int left, step, rc;

	if ((stmt = mariadb_conn_prepare(c, &c->stmt[SQL_GET_LOCK],
	    mariadb_lock_get_sql)) == NULL)
		return -1;
	mariadb_conn_deadline(wait_ms, &deadline);
	for (;;) {
		left = mariadb_conn_left_ms(&deadline);
		step = m->timeout_ms / 2 > 0 ? m->timeout_ms / 2 : 1;
		secs = (left < step ? left : step) / 1000.0;
		mariadb_bind_str(&b[0], lname);
		memset(&b[1], 0, sizeof(b[1]));
		b[1].buffer_type = MYSQL_TYPE_DOUBLE;
		b[1].buffer = &secs;
		if (mariadb_conn_select(c, stmt, b) == -1)
			return -1;
		memset(r, 0, sizeof(r));
		got = 0;
		null = 0;
		r[0].buffer_type = MYSQL_TYPE_LONGLONG;
		r[0].buffer = &got;
		r[0].is_null = &null;
		if (mysql_stmt_bind_result(stmt, r) != 0 ||
		    (rc = mysql_stmt_fetch(stmt)) == 1) {
			mariadb_conn_fail_stmt(c, stmt);
			mysql_stmt_free_result(stmt);
			return -1;
		}
		mysql_stmt_free_result(stmt);
		if (rc == 0 && !null && got == 1)
			return 0;
		if (rc != 0 || null) {
			c->err_no = 0;
			snprintf(c->err_msg, sizeof(c->err_msg),
			    "GET_LOCK(%s) failed", lname);
			return -1;
		}
		if (mariadb_conn_left_ms(&deadline) == 0)
			return 1;
	}
}

int
mariadb_lock_acquire(void *handle, const char *name, int timeout_ms,
    struct error *err)
{
	struct store_mariadb *m = handle;
	struct store_mariadb_lock *slot = NULL;
	struct store_mariadb_conn *c;
	struct timespec deadline;
	char lname[STORE_MARIADB_LOCK_NAME + 1];
	size_t i;
	int rc;

	if (strlen(name) == 0 || strlen(name) > STORE_TABLE_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz_") != strlen(name))
		return error_set(err, "mariadb: %s: invalid lock name",
		    m->redacted);
	pthread_mutex_lock(&m->mu);
	for (i = 0; i < STORE_MARIADB_LOCKS && slot == NULL; i++)
		if (m->locks[i].conn == NULL && !m->locks[i].reserved)
			slot = &m->locks[i];
	if (slot != NULL)
		slot->reserved = 1;
	pthread_mutex_unlock(&m->mu);
	if (slot == NULL)
		return error_set(err, "mariadb: %s: lock '%s': too many named "
		    "locks held", m->redacted, name);
	mariadb_lock_name(m, name, lname, sizeof(lname));
	mariadb_conn_deadline(m->timeout_ms, &deadline);
	if ((rc = mariadb_conn_checkout(m, &deadline, &c, err)) != 0)
		goto done;
	rc = mariadb_lock_get(m, c, lname, timeout_ms > 0 ?
	    timeout_ms : 0);
	if (rc == 0) {
		pthread_mutex_lock(&m->mu);
		snprintf(slot->name, sizeof(slot->name), "%s", name);
		slot->conn = c;		/* pinned until unlock */
		slot->reserved = 0;
		pthread_mutex_unlock(&m->mu);
		return STORE_OK;
	}
	if (rc == 1) {
		mariadb_conn_checkin(m, c);
		rc = STORE_ABSENT;
		goto done;
	}
	error_set(err, "mariadb: %s: lock '%s': %s (%u)", m->redacted, name,
	    c->err_msg, c->err_no);
	/* GET_LOCK answers NULL (err_no 0) when it is interrupted. */
	rc = mariadb_conn_kind(c->err_no) == KIND_FAIL && c->err_no != 0 &&
	    c->err_no < 2000 ? STORE_ERROR : STORE_UNAVAILABLE;
	if (c->err_no >= 2000 || mariadb_conn_kind(c->err_no) != KIND_FAIL)
		mariadb_conn_disconnect(c);
	mariadb_conn_checkin(m, c);
done:
	pthread_mutex_lock(&m->mu);
	slot->reserved = 0;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

void
mariadb_lock_release(void *handle, const char *name)
{
	struct store_mariadb *m = handle;
	struct store_mariadb_conn *c = NULL;
	char lname[STORE_MARIADB_LOCK_NAME + 1];
	MYSQL_STMT *stmt;
	MYSQL_BIND b[1];
	size_t i;

	pthread_mutex_lock(&m->mu);
	for (i = 0; i < STORE_MARIADB_LOCKS && c == NULL; i++) {
		if (m->locks[i].conn != NULL &&
		    strcmp(m->locks[i].name, name) == 0) {
			c = m->locks[i].conn;
			m->locks[i].conn = NULL;
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (c == NULL)
		return;
	mariadb_lock_name(m, name, lname, sizeof(lname));
	mariadb_bind_str(&b[0], lname);
	/* A connection that failed held the lock no longer either. */
	if ((stmt = mariadb_conn_prepare(c, &c->stmt[SQL_RELEASE_LOCK],
	    mariadb_lock_release_sql)) == NULL ||
	    mariadb_conn_select(c, stmt, b) == -1) {
		log_warnx("mariadb: %s: unlock '%s': %s (%u); closing the "
		    "connection that held it", m->redacted, name, c->err_msg,
		    c->err_no);
		mariadb_conn_disconnect(c);
	} else
		mysql_stmt_free_result(stmt);
	mariadb_conn_checkin(m, c);
}

