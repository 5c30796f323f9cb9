/*
 * check.c: store_check, the integrity scan behind `trusteectl store
 * check`. It reads every row of every table in (table, ord, id) order, a
 * page at a time (memory stays bounded), and authenticates it the way its
 * reader would:
 *   _store      the key check row opens under data key version 1
 *   _keys       the floor row and each data-key row unwrap, and the
 *               version a row holds is the one its id names
 *   _instances  the row parses, its MAC verifies and its id matches
 *   other       the row opens under its version, its sealed name hashes
 *               to its id, and the kv column equals the version in the
 *               blob (rotation counts rows by that column)
 * Each failure is reported with the table, the row id in hex and why;
 * nothing is changed.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "store_internal.h"

#define CHECK_BATCH	512

struct check_ctx {
	struct store *st;
	store_bad_cb bad;
	void *arg;
	uint64_t rows, bad_rows;
	size_t seen;
	char table[STORE_TABLE_MAX + 1];
	int64_t ord;
	uint8_t id[STORE_ID_LEN];
	uint8_t v1[32];		/* data key v1, for the key check row */
};

static void
check_report(struct check_ctx *c, const char *table, const uint8_t *id,
    const char *fmt, ...) ATTR_PRINTF(4, 5);

static void
check_report(struct check_ctx *c, const char *table, const uint8_t *id,
    const char *fmt, ...)
{
	char hex[STORE_ID_HEX_LEN + 1], why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	hex_encode(id, STORE_ID_LEN, hex);
	c->bad_rows++;
	log_warnx("store check: table '%s' row %s: %s", table, hex, why);
	if (c->bad != NULL)
		c->bad(table, hex, why, c->arg);
}

static void
check_internal(struct check_ctx *c, const char *table,
    const struct store_row *row)
{
	struct instance_row in;
	uint8_t rid[STORE_ID_LEN], key[32], *val;
	struct error err;
	uint32_t v;
	size_t vlen;

	if (strcmp(table, STORE_CHECK_TABLE) == 0) {
		memset(rid, 0, sizeof(rid));
		if (memcmp(row->id, rid, STORE_ID_LEN) != 0)
			check_report(c, table, row->id, "unexpected row");
		else if (store_row_open(c->v1, 1, table, row->id,
		    "data-key-check", row->blob, row->len, NULL, &val, &vlen,
		    &err) != 0)
			check_report(c, table, row->id, "the key check row "
			    "does not authenticate");
		else
			secret_free(val, vlen);
	} else if (strcmp(table, STORE_KEYS_TABLE) == 0) {
		datakey_floor_row_id(rid);
		if (memcmp(row->id, rid, STORE_ID_LEN) == 0) {
			if (datakey_floor_unwrap(c->st->kr.m, row->blob,
			    row->len, &v, &err) != 0)
				check_report(c, table, row->id, "%s", err.msg);
			return;
		}
		if (datakey_unwrap(c->st->kr.m, row->blob, row->len, &v,
		    key, &err) != 0) {
			check_report(c, table, row->id, "%s", err.msg);
			return;
		}
		sodium_memzero(key, sizeof(key));
		datakey_row_id(v, rid);
		if (memcmp(row->id, rid, STORE_ID_LEN) != 0)
			check_report(c, table, row->id, "holds data key "
			    "version %" PRIu32 " under another version's id", v);
	} else if (strcmp(table, STORE_INSTANCES_TABLE) == 0) {
		if (instance_parse(row->blob, row->len, &in, &err) != 0 ||
		    instance_verify(c->st->kr.m, row->blob, &in, &err) != 0) {
			check_report(c, table, row->id, "%s", err.msg);
			return;
		}
		instance_row_id(in.id, rid);
		if (memcmp(row->id, rid, STORE_ID_LEN) != 0)
			check_report(c, table, row->id, "an instance row "
			    "stored under another instance's id");
	} else
		check_report(c, table, row->id, "unknown store table");
}

static int
check_row(const char *table, const struct store_row *row, void *arg)
{
	struct check_ctx *c = arg;
	uint8_t id[STORE_ID_LEN], *val;
	struct error err;
	char *name;
	size_t vlen;
	uint32_t v;

	c->rows++;
	c->seen++;
	snprintf(c->table, sizeof(c->table), "%s", table);
	c->ord = row->ord;
	memcpy(c->id, row->id, STORE_ID_LEN);
	if (table[0] == '_') {
		check_internal(c, table, row);
		return 0;
	}
	if (store_table_check(table, 0, &err) != 0) {
		check_report(c, table, row->id, "%s", err.msg);
		return 0;
	}
	if (store_open_row(c->st, table, row, NULL, &name, &val, &vlen,
	    &err) != 0) {
		/* err already names table and id: report the reason. */
		const char *why = strstr(err.msg, table);

		why = why != NULL ? strchr(why, ' ') : NULL;
		check_report(c, table, row->id, "%s", why != NULL ? why + 1 :
		    err.msg);
		return 0;
	}
	store_row_id(c->st->kr.m->name_key, table, name, strlen(name), id);
	if (!secret_equal(id, row->id, STORE_ID_LEN))
		check_report(c, table, row->id, "its sealed name does not "
		    "belong to this row id (moved or substituted)");
	v = store_row_version(row->blob, row->len);
	if (v != row->kv)
		check_report(c, table, row->id, "its kv column says data key "
		    "version %" PRIu32 ", the row is sealed under %" PRIu32,
		    row->kv, v);
	secret_free(val, vlen);
	secret_strfree(name);
	return 0;
}

int
store_check(struct store *st, store_bad_cb bad, void *arg, uint64_t *rows,
    uint64_t *bad_rows, struct error *err)
{
	struct check_ctx c;
	struct store_scan q;
	int rc = STORE_OK;

	memset(&c, 0, sizeof(c));
	c.st = st;
	c.bad = bad;
	c.arg = arg;
	crypto_kdf_derive_from_key(c.v1, sizeof(c.v1), STORE_SUBKEY_V1,
	    STORE_KDF_CONTEXT, st->kr.m->master);
	memset(&q, 0, sizeof(q));
	q.limit = CHECK_BATCH;
	for (;;) {
		c.seen = 0;
		rc = st->be->scan(st->handle, NULL, &q, check_row, &c, err);
		if (rc != STORE_OK || c.seen < CHECK_BATCH)
			break;
		q.have_after = 1;
		snprintf(q.after_table, sizeof(q.after_table), "%s", c.table);
		q.after_ord = c.ord;
		memcpy(q.after_id, c.id, STORE_ID_LEN);
	}
	sodium_memzero(c.v1, sizeof(c.v1));
	*rows = c.rows;
	*bad_rows = c.bad_rows;
	return rc;
}
