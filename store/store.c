/*
 * store.c: the encrypted store's API (store.h) on top of a backend that
 * only moves opaque bytes (backend.h): rows by name (put, put_many, get,
 * get2, delete), with their plain columns (the _ex calls), and by id
 * (store_row_id_hex, store_delete_id). Opening and closing a store are
 * store_open.c's; scans, lists, purge and counts store_scan.c's. This is
 * the request path of every resource read: its helpers stay static here.
 *
 * Every row is sealed by store_row.c under the current data-key version
 * (keyring.c); a row sealed under an older version is opened with that
 * version's key, and one under a version this process has not loaded yet
 * (written by another instance just after a rotation) makes it load the
 * new versions first. A row that fails authentication is an integrity
 * error (STORE_CORRUPT) naming its table and row id: that row only,
 * everything else keeps working; lists skip it and report it.
 *
 * Tables whose name starts with '_' belong to the store itself and are
 * refused here (master.c, instance.c and rotate.c write them through the
 * backend).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/log.h"
#include "store_internal.h"

/* Tables come from the daemon's code, but check anyway: the table name
 * goes into the associated data and to the backend as text. */
int
store_table_check(const char *table, int internal_ok, struct error *err)
{
	char esc[80];
	size_t i;

	if (table == NULL || table[0] == '\0')
		return error_set(err, "store: empty table name");
	if (table[0] == '_' && !internal_ok)
		return error_set(err, "store: table name '%s' is reserved",
		    log_escape(table, esc, sizeof(esc)));
	for (i = 0; table[i] != '\0'; i++) {
		if (i >= STORE_TABLE_MAX || !((table[i] >= 'a' &&
		    table[i] <= 'z') || table[i] == '_'))
			return error_set(err, "store: invalid table name '%s' "
			    "(want [a-z_]{1,%d})",
			    log_escape(table, esc, sizeof(esc)),
			    STORE_TABLE_MAX);
	}
	return 0;
}

/* Names are any bytes but NUL, 1..1024 of them. The name itself is left
 * out of messages: it may be sensitive and is not ours to log. */
static int
store_check_name(const char *name, size_t *len, struct error *err)
{
	size_t n;

	if (name == NULL || name[0] == '\0')
		return error_set(err, "store: empty row name");
	n = strnlen(name, STORE_NAME_MAX + 1);
	if (n > STORE_NAME_MAX)
		return error_set(err, "store: row name longer than %d bytes",
		    STORE_NAME_MAX);
	*len = n;
	return 0;
}

/* --------------------------------------------------------------- rows */

int
store_open_row(struct store *st, const char *table, const struct store_row *row,
    const char *want_name, char **name_out, uint8_t **val, size_t *vlen,
    struct error *err)
{
	const struct keyring_dkey *dk;
	struct error rerr;
	uint32_t v = store_row_version(row->blob, row->len);
	int rc;

	*val = NULL;
	*vlen = 0;
	if (name_out != NULL)
		*name_out = NULL;
	if (v == 0)	/* let the opener name what is wrong */
		return store_row_open((const uint8_t[32]){ 0 }, 0, table,
		    row->id, want_name, row->blob, row->len, name_out, val,
		    vlen, err);
	dk = keyring_acquire(&st->kr, v);
	if (dk == NULL) {
		if (v < keyring_floor(&st->kr))
			return store_row_corrupt(err, table, row->id, "is "
			    "sealed under data key version %" PRIu32 ", which "
			    "was dropped", v);
		/* Perhaps a version another instance just created. */
		if (keyring_refresh(st, &rerr) != 0)
			log_warnx("%s", rerr.msg);
		dk = keyring_acquire(&st->kr, v);
		if (dk == NULL)
			return store_row_corrupt(err, table, row->id, "is "
			    "sealed under data key version %" PRIu32 ", which "
			    "this deployment does not have", v);
	}
	rc = store_row_open(dk->key, v, table, row->id, want_name, row->blob,
	    row->len, name_out, val, vlen, err);
	keyring_release(&st->kr);
	return rc;
}

/* After a write to table (store_internal.h). */
int
store_wrote(struct store *st, const char *table, int rc, struct error *err)
{
	if (rowcache_leased(st->cache) && rowcache_table(st->cache,
	    table) >= 0)
		return lease_wrote(st, table, rc, err);
	if (rc == STORE_OK)
		watch_wrote(st, table);
	return rc;
}

int
store_seal_put(struct store *st, const char *table,
    const uint8_t id[STORE_ID_LEN], const char *name, size_t nlen,
    const void *val, size_t vlen, int64_t ord, int64_t exp,
    uint64_t expect_rev, uint64_t *rev, struct error *err)
{
	const struct keyring_dkey *dk;
	struct store_row row;
	uint8_t *blob;
	size_t bloblen;
	int64_t ot0;
	int rc;

	if ((rc = outage_enter(st, &ot0, err)) != 0)
		return rc;
	dk = keyring_acquire(&st->kr, 0);
	if (dk == NULL)
		return error_set(err, "store: the current data key is not "
		    "loaded");
	store_row_seal(dk, table, id, name, nlen, val, vlen, &blob, &bloblen);
	memset(&row, 0, sizeof(row));
	memcpy(row.id, id, STORE_ID_LEN);
	row.kv = dk->version;
	keyring_release(&st->kr);
	row.ord = ord;
	row.exp = exp;
	row.blob = blob;
	row.len = bloblen;
	rc = st->be->put(st->handle, table, &row, expect_rev, rev, err);
	rowcache_wrote(st->cache, table);
	outage_note(st, rc, ot0);
	free(blob);
	return rc;
}

int
store_put_ex(struct store *st, const char *table, const char *name,
    const void *val, size_t len, int64_t ord, int64_t exp,
    uint64_t expect_rev, uint64_t *rev, struct error *err)
{
	uint8_t id[STORE_ID_LEN];
	uint64_t t0;
	size_t nlen;
	int rc;

	if (store_table_check(table, 0, err) == -1 ||
	    store_check_name(name, &nlen, err) == -1)
		return STORE_ERROR;
	if (len > STORE_VALUE_MAX)
		return error_set(err, "store: value of %zu bytes for table "
		    "'%s' exceeds the limit of %u bytes", len, table,
		    STORE_VALUE_MAX);
	if (len > 0 && val == NULL)
		return error_set(err, "store: no value");
	t0 = store_timing_start();
	store_row_id(st->kr.m->name_key, table, name, nlen, id);
	rc = store_seal_put(st, table, id, name, nlen, val, len, ord, exp,
	    expect_rev, rev, err);
	rc = store_wrote(st, table, rc, err);
	return store_timing_end(STORE_OP_PUT, t0, rc);
}

int
store_put_many(struct store *st, const char *table,
    const struct store_item *items, size_t n, struct error *err)
{
	const struct keyring_dkey *dk;
	struct store_row *rows;
	uint8_t *blob;
	size_t i, nlen, bloblen;
	int rc = STORE_OK;

	if (n == 0)
		return STORE_OK;
	if (store_table_check(table, 0, err) == -1)
		return STORE_ERROR;
	for (i = 0; i < n; i++) {
		if (store_check_name(items[i].name, &nlen, err) == -1)
			return STORE_ERROR;
		if (items[i].len > STORE_VALUE_MAX)
			return error_set(err, "store: value of %zu bytes for "
			    "table '%s' exceeds the limit of %u bytes",
			    items[i].len, table, STORE_VALUE_MAX);
		if (items[i].len > 0 && items[i].val == NULL)
			return error_set(err, "store: no value");
	}
	if ((dk = keyring_acquire(&st->kr, 0)) == NULL)
		return error_set(err, "store: the current data key is not "
		    "loaded");
	rows = xcalloc(n, sizeof(*rows));
	for (i = 0; i < n; i++) {
		nlen = strlen(items[i].name);
		store_row_id(st->kr.m->name_key, table, items[i].name, nlen,
		    rows[i].id);
		store_row_seal(dk, table, rows[i].id, items[i].name, nlen,
		    items[i].val, items[i].len, &blob, &bloblen);
		rows[i].kv = dk->version;
		rows[i].ord = items[i].ord;
		rows[i].exp = items[i].exp;
		rows[i].blob = blob;
		rows[i].len = bloblen;
	}
	keyring_release(&st->kr);
	if (st->be->put_many != NULL)
		rc = st->be->put_many(st->handle, table, rows, n, err);
	else
		for (i = 0; i < n && rc == STORE_OK; i++)
			rc = st->be->put(st->handle, table, &rows[i],
			    STORE_REV_ANY, NULL, err);
	rowcache_wrote(st->cache, table);
	for (i = 0; i < n; i++)
		free((void *)rows[i].blob);
	free(rows);
	return store_wrote(st, table, rc, err);
}

int
store_put(struct store *st, const char *table, const char *name,
    const void *val, size_t len, struct error *err)
{
	return store_put_ex(st, table, name, val, len, 0, 0, STORE_REV_ANY,
	    NULL, err);
}

int
store_get_ex(struct store *st, const char *table, const char *name,
    uint8_t **val, size_t *len, struct store_meta *meta, struct error *err)
{
	struct store_row row;
	uint8_t id[STORE_ID_LEN];
	uint64_t t0, gen;
	size_t nlen;
	int64_t ot0;
	int rc, tix;

	*val = NULL;
	*len = 0;
	if (meta != NULL)
		memset(meta, 0, sizeof(*meta));
	if (store_table_check(table, 0, err) == -1 ||
	    store_check_name(name, &nlen, err) == -1)
		return STORE_ERROR;
	t0 = store_timing_start();
	store_row_id(st->kr.m->name_key, table, name, nlen, id);
	tix = rowcache_table(st->cache, table);
	if (tix >= 0 && rowcache_get(st->cache, tix, id, &row)) {
		rc = store_open_row(st, table, &row, name, NULL, val, len,
		    err);
		if (rc == 0)
			goto opened;
		/* Ask the database, which decides (and logs) alike. */
		free((void *)row.blob);
		rowcache_drop(st->cache, tix, id);
	}
	gen = tix >= 0 ? rowcache_gen(st->cache, tix) : 0;
	if ((rc = outage_enter(st, &ot0, err)) != 0)
		return rc;
	rc = st->be->get(st->handle, table, id, &row, err);
	outage_note(st, rc, ot0);
	if (rc != STORE_OK)
		return store_timing_end(STORE_OP_GET, t0, rc);
	rc = store_open_row(st, table, &row, name, NULL, val, len, err);
	if (rc == 0 && tix >= 0)
		rowcache_put(st->cache, tix, gen, &row);
opened:
	if (rc == 0 && meta != NULL) {
		meta->ord = row.ord;
		meta->exp = row.exp;
		meta->rev = row.rev;
		meta->kv = row.kv;
		meta->tag = store_id_tag(id);
	}
	free((void *)row.blob);
	if (rc == STORE_CORRUPT)	/* names table and id, never data */
		log_warnx("%s", err->msg);
	return store_timing_end(STORE_OP_GET, t0, rc);
}

int
store_get(struct store *st, const char *table, const char *name,
    uint8_t **val, size_t *len, struct error *err)
{
	return store_get_ex(st, table, name, val, len, NULL, err);
}

int
store_get2(struct store *st, const char *const table[2],
    const char *const name[2], uint8_t *val[2], size_t len[2], int rc[2],
    struct error *err)
{
	struct store_row row[2];
	uint8_t id[2][STORE_ID_LEN];
	const uint8_t *idp[2] = { id[0], id[1] };
	struct error rerr;
	size_t nlen[2];
	uint64_t t0;
	int64_t ot0;
	int found[2], i, r;

	for (i = 0; i < 2; i++) {
		val[i] = NULL;
		len[i] = 0;
		rc[i] = STORE_ERROR;
		if (store_table_check(table[i], 0, err) == -1 ||
		    store_check_name(name[i], &nlen[i], err) == -1)
			return STORE_ERROR;
	}
	/* Where a read cache serves, or one statement cannot be had, the
	 * two reads of store_get are as good. */
	if (st->be->get2 == NULL || rowcache_serves(st->cache,
	    rowcache_table(st->cache, table[0])) ||
	    rowcache_serves(st->cache, rowcache_table(st->cache, table[1]))) {
		for (i = 0; i < 2; i++) {
			rc[i] = store_get(st, table[i], name[i], &val[i],
			    &len[i], i == 0 ? err : &rerr);
			if (i == 1 && rc[1] < 0 && rc[0] >= 0)
				*err = rerr;
		}
		return 0;
	}
	t0 = store_timing_start();
	for (i = 0; i < 2; i++)
		store_row_id(st->kr.m->name_key, table[i], name[i], nlen[i],
		    id[i]);
	if ((r = outage_enter(st, &ot0, err)) != 0) {
		rc[0] = rc[1] = r;
		return r;
	}
	r = st->be->get2(st->handle, table, idp, row, found, err);
	outage_note(st, r, ot0);
	if (r != STORE_OK) {
		rc[0] = rc[1] = r;
		return store_timing_end(STORE_OP_GET, t0, r);
	}
	for (i = 0; i < 2; i++) {
		if (!found[i]) {
			rc[i] = STORE_ABSENT;
			continue;
		}
		rc[i] = store_open_row(st, table[i], &row[i], name[i], NULL,
		    &val[i], &len[i], i == 0 || rc[0] >= 0 ? err : &rerr);
		free((void *)row[i].blob);
		if (rc[i] == STORE_CORRUPT)	/* names table and id */
			log_warnx("%s", (i == 0 || rc[0] >= 0 ? err :
			    &rerr)->msg);
	}
	return store_timing_end(STORE_OP_GET, t0, 0);
}

int
store_delete_ex(struct store *st, const char *table, const char *name,
    uint64_t expect_rev, struct error *err)
{
	uint8_t id[STORE_ID_LEN];
	uint64_t t0;
	size_t nlen;
	int64_t ot0;
	int rc;

	if (store_table_check(table, 0, err) == -1 ||
	    store_check_name(name, &nlen, err) == -1)
		return STORE_ERROR;
	t0 = store_timing_start();
	store_row_id(st->kr.m->name_key, table, name, nlen, id);
	if ((rc = outage_enter(st, &ot0, err)) != 0)
		return rc;
	rc = st->be->del(st->handle, table, id, expect_rev, err);
	rowcache_wrote(st->cache, table);
	outage_note(st, rc, ot0);
	rc = store_wrote(st, table, rc, err);
	return store_timing_end(STORE_OP_DELETE, t0, rc);
}

int
store_delete(struct store *st, const char *table, const char *name,
    struct error *err)
{
	return store_delete_ex(st, table, name, STORE_REV_ANY, err);
}

/* The id name has in table; 0 or -1 (a table or name store_put would
 * refuse). */
static int
store_name_id(struct store *st, const char *table, const char *name,
    uint8_t id[STORE_ID_LEN], struct error *err)
{
	size_t nlen;

	if (store_table_check(table, 0, err) == -1 ||
	    store_check_name(name, &nlen, err) == -1)
		return STORE_ERROR;
	store_row_id(st->kr.m->name_key, table, name, nlen, id);
	return 0;
}

int
store_row_id_hex(struct store *st, const char *table, const char *name,
    char *out, struct error *err)
{
	uint8_t id[STORE_ID_LEN];

	if (store_name_id(st, table, name, id, err) != 0)
		return STORE_ERROR;
	hex_encode(id, STORE_ID_LEN, out);
	return 0;
}

int
store_row_tag(struct store *st, const char *table, const char *name,
    uint64_t *tag, struct error *err)
{
	uint8_t id[STORE_ID_LEN];

	if (store_name_id(st, table, name, id, err) != 0)
		return STORE_ERROR;
	*tag = store_id_tag(id);
	return 0;
}

int
store_delete_id(struct store *st, const char *table, const char *id_hex,
    struct error *err)
{
	uint8_t id[STORE_ID_LEN];
	size_t n;
	int rc;

	if (store_table_check(table, 0, err) == -1)
		return STORE_ERROR;
	if (id_hex == NULL || strlen(id_hex) != STORE_ID_HEX_LEN ||
	    hex_decode(id_hex, id, sizeof(id), &n) != 0 || n != STORE_ID_LEN)
		return error_set(err, "store: a row id is %d hex digits",
		    STORE_ID_HEX_LEN);
	rc = st->be->del(st->handle, table, id, STORE_REV_ANY, err);
	rowcache_wrote(st->cache, table);
	if (rc == STORE_OK)
		log_info("store: row %s of table '%s' deleted by id", id_hex,
		    table);
	return store_wrote(st, table, rc, err);
}
