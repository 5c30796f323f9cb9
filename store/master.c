/*
 * master.c: the master key K_m at start: recovered, created or adopted,
 * proven by the key check row, and sealed for this instance.
 *
 * master_open (for store_open, see store.h) finds this instance's
 * _instances row by its id (instance.c) and unseals K_m from it with this
 * instance's sealer (seal.h). Otherwise:
 *   - an empty database, on a start that may create a deployment, gets a
 *     new one: a random K_m, the key check row and this instance's row
 *     (under the named lock "init": of two instances starting on one
 *     empty database, the second waits and looks again);
 *   - a database of the previous release (a key check row and no
 *     _instances rows) is adopted with its data.key as K_m (sealer kind
 *     "file" naming that file);
 *   - any other database belongs to another deployment and is refused
 *     (an instance joins one through join.c).
 * Then the data-key versions are loaded from _keys (keyring.c).
 *
 * The key check row: _store, id 0^32, kv 0, a row sealed (store_row.c)
 * under data key version 1 whose name and value are fixed strings: it
 * proves K_m before anything is read or written.
 *
 * master_enrol seals K_m with this instance's sealer and writes its row.
 * K_m and data key version 1 pass through stack buffers here only on
 * their way into sodium memory (keyring_init, keyring_dkey_new), and are
 * wiped once there; the legacy data.key is read into memory freed by
 * secret_free. Nothing here logs key material.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "store_internal.h"

#define CHECK_NAME		"data-key-check"
#define CHECK_VALUE		"trustee data key check"
#define INSTANCE_SCAN_MAX	256

/* ------------------------------------------------------------ key check */

/* The key check row's key: data key version 1 from K_m, whatever the
 * floor (the check row never moves to another version). */
int
master_check(struct store *st, int create, struct error *err)
{
	static const uint8_t id[STORE_ID_LEN] = { 0 };
	struct keyring_dkey *v1;
	struct store_row row;
	uint8_t k[32], *blob = NULL, *val = NULL;
	size_t bloblen = 0, vlen = 0;
	struct error inner;
	int rc;

	crypto_kdf_derive_from_key(k, sizeof(k), STORE_SUBKEY_V1,
	    STORE_KDF_CONTEXT, st->kr.m->master);
	v1 = keyring_dkey_new(1, 0, k);
	sodium_memzero(k, sizeof(k));
	if (v1 == NULL)
		return error_set(err, "store: cannot allocate secure memory");
	rc = st->be->get(st->handle, STORE_CHECK_TABLE, id, &row, err);
	if (rc < 0)
		goto out;
	if (rc == STORE_ABSENT) {
		if (!create) {
			rc = error_set(err, "store: %s has no key check row "
			    "(not a trusteed database, or it was tampered "
			    "with)", st->redacted);
			goto out;
		}
		store_row_seal(v1, STORE_CHECK_TABLE, id, CHECK_NAME,
		    strlen(CHECK_NAME), CHECK_VALUE, strlen(CHECK_VALUE),
		    &blob, &bloblen);
		memset(&row, 0, sizeof(row));
		row.blob = blob;
		row.len = bloblen;
		rc = st->be->put(st->handle, STORE_CHECK_TABLE, &row,
		    STORE_REV_ABSENT, NULL, err);
		free(blob);
		if (rc == STORE_ABSENT)		/* another instance won */
			rc = master_check(st, 0, err);
		goto out;
	}
	blob = (uint8_t *)row.blob;
	rc = store_row_open(v1->key, 1, STORE_CHECK_TABLE, id, CHECK_NAME,
	    blob, row.len, NULL, &val, &vlen, &inner);
	if (rc != 0) {
		free(blob);
		rc = error_set(err, "store: the master key does not open %s "
		    "(its key check row does not authenticate): the database "
		    "belongs to another deployment, or was tampered with",
		    st->redacted);
		goto out;
	}
	secret_free(val, vlen);
	/* The previous release's migration gave the row kv 1: make it the
	 * store's own (kv 0) so it never holds a data-key version. */
	if (row.kv != 0) {
		row.kv = 0;
		if (st->be->put(st->handle, STORE_CHECK_TABLE, &row, row.rev,
		    NULL, &inner) < 0)
			log_warnx("store: %s", inner.msg);
	}
	free(blob);
	rc = 0;
out:
	sodium_free(v1);
	return rc;
}

/* -------------------------------------------------------------- opening */

/* Our _instances row: 0 found (*blob malloc'd), 1 absent, < 0. */
static int
master_find_instance(struct store *st, const uint8_t id[STORE_INSTANCE_ID_LEN],
    struct store_row *row, struct error *err)
{
	uint8_t rid[STORE_ID_LEN];

	instance_row_id(id, rid);
	return st->be->get(st->handle, STORE_INSTANCES_TABLE, rid, row, err);
}

static int
master_count_cb(const char *table, const struct store_row *row, void *arg)
{
	(void)table;
	(void)row;
	(*(size_t *)arg)++;
	return 0;
}

/* Rows in table (or in every table: NULL), counting at most max. */
static int
master_rows(struct store *st, const char *table, size_t max, size_t *n,
    struct error *err)
{
	struct store_scan q = { 0 };

	*n = 0;
	q.limit = max;
	return st->be->scan(st->handle, table, &q, master_count_cb, n, err);
}

/* Unseal K_m from an _instances row with our sealer. */
static int
master_unseal(struct store *st, const struct store_row *row, uint8_t master[32],
    struct instance_row *in, struct error *err)
{
	char idhex[33];
	size_t len = 0;
	int rc;

	if (instance_parse(row->blob, row->len, in, err) != 0)
		return error_prefix(err, "store: %s", st->redacted);
	rc = seal_unwrap(st->seal, in->sealed, in->sealed_len, master, 32,
	    &len, err);
	if (rc == 0 && len != 32) {
		sodium_memzero(master, 32);
		rc = error_set(err, "the sealed master key has %zu bytes, not "
		    "32", len);
	}
	if (rc != 0) {
		instance_id_hex(in->id, idhex);
		return error_prefix(err, "store: cannot unseal this instance's "
		    "master key (instance %s, sealed by %s)", idhex,
		    in->desc[0] != '\0' ? in->desc : "?");
	}
	return 0;
}

/* The legacy data.key of the previous release: exactly 32 bytes, 0600. */
static int
master_legacy_key(const char *path, uint8_t key[32], struct error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;

	if (file_check_secret(path, err) != 0)
		return -1;
	if (file_read_all(path, 64, &data, &len, err) != 0)
		return -1;
	if (len != 32) {
		secret_free(data, len);
		return error_set(err, "%s: a data key file holds exactly 32 "
		    "bytes, found %zu", path, len);
	}
	memcpy(key, data, 32);
	secret_free(data, len);
	return 0;
}

/* Seal K_m with our sealer, remember the blob and write our row. */
int
master_enrol(struct store *st, struct error *err)
{
	uint8_t *blob = NULL;
	size_t len = 0;

	if (seal_wrap(st->seal, st->kr.m->master, 32, &blob, &len, err) != 0)
		return error_prefix(err, "store: sealing the master key");
	st->sealed = blob;
	st->sealed_len = len;
	st->has_instance = 1;
	st->instance_created = store_now_ms() / 1000;
	return instance_heartbeat(st, err);
}

static void
master_describe(struct store *st)
{
	const struct sealer *s;
	struct error err;

	s = seal_lookup(st->seal->kind, &err);
	if (s == NULL) {
		snprintf(st->sealer_desc, sizeof(st->sealer_desc), "%s",
		    st->seal->kind != NULL ? st->seal->kind : "?");
		return;
	}
	s->describe(st->seal, st->sealer_desc, sizeof(st->sealer_desc));
	st->sealer_insecure = s->insecure;
}

/* The whole database is empty (a new deployment may start here). */
static int
master_empty(struct store *st, int *empty, struct error *err)
{
	size_t n;
	int rc = master_rows(st, NULL, 1, &n, err);

	*empty = n == 0;
	return rc;
}

/* Found our row: unseal, check, load the versions. */
static int
master_open_found(struct store *st, struct store_row *row, struct error *err)
{
	struct instance_row in;
	uint8_t master[32];
	int rc;

	rc = master_unseal(st, row, master, &in, err);
	if (rc != 0)
		return rc;
	rc = keyring_init(&st->kr, master, err);
	sodium_memzero(master, sizeof(master));
	if (rc != 0)
		return rc;
	if (instance_verify(st->kr.m, row->blob, &in, err) != 0)
		return error_prefix(err, "store: %s: this instance's row",
		    st->redacted);
	if (master_check(st, 0, err) != 0)
		return -1;
	st->sealed = xmalloc(in.sealed_len);
	memcpy(st->sealed, in.sealed, in.sealed_len);
	st->sealed_len = in.sealed_len;
	st->instance_created = in.created;
	st->has_instance = 1;
	return 0;
}

int
master_open(struct store *st, const struct store_options *o,
    struct error *err)
{
	struct store_row row;
	uint8_t master[32];
	char idhex[33];
	size_t ninst = 0;
	int rc, have_id, empty = 0, legacy, locked = 0, attempt;

	st->seal = o->seal;
	master_describe(st);
	for (attempt = 0; attempt < 2; attempt++) {
		have_id = instance_file(o->state_dir, 0, st->instance,
		    err);
		if (have_id < 0)
			goto fail;
		if (have_id == 0) {
			rc = master_find_instance(st, st->instance, &row, err);
			if (rc < 0)
				goto fail_rc;
			if (rc == STORE_OK) {
				rc = master_open_found(st, &row, err);
				free((void *)row.blob);
				if (rc != 0)
					goto fail_rc;
				goto loaded;
			}
		}
		if (master_rows(st, STORE_INSTANCES_TABLE, INSTANCE_SCAN_MAX,
		    &ninst, err) < 0 || master_empty(st, &empty, err) < 0)
			goto fail;
		if (empty && o->create && !locked) {
			/* Two instances starting on one empty database:
			 * the second waits and looks again. */
			rc = st->be->lock(st->handle, "init", st->timeout_ms,
			    err);
			if (rc < 0)
				goto fail_rc;
			if (rc == STORE_ABSENT) {
				error_set(err, "store: %s: timed out waiting "
				    "for another instance to initialise it",
				    st->redacted);
				goto fail;
			}
			locked = 1;
			continue;
		}
		break;
	}
	if (empty) {
		if (!o->create) {
			error_set(err, "store: %s is empty and this is not a "
			    "start that may create a deployment",
			    st->redacted);
			goto fail;
		}
		if (instance_file(o->state_dir, 1, st->instance,
		    err) < 0)
			goto fail;
		randombytes_buf(master, sizeof(master));
		rc = keyring_init(&st->kr, master, err);
		sodium_memzero(master, sizeof(master));
		if (rc != 0 || master_check(st, 1, err) != 0 ||
		    master_enrol(st, err) != 0)
			goto fail;
		instance_id_hex(st->instance, idhex);
		log_info("store: %s: created a new deployment (instance %s, "
		    "master key sealed by %s)", st->redacted, idhex,
		    st->sealer_desc);
		goto loaded;
	}
	legacy = 0;
	if (ninst == 0) {
		memset(&row, 0, sizeof(row));
		rc = st->be->get(st->handle, STORE_CHECK_TABLE,
		    (const uint8_t[STORE_ID_LEN]){ 0 }, &row, err);
		if (rc < 0)
			goto fail_rc;
		free((void *)row.blob);
		legacy = rc == STORE_OK;
	}
	if (legacy) {
		/* Written by the previous release: K_m is its data.key. */
		if (st->seal->kind == NULL ||
		    strcmp(st->seal->kind, "file") != 0 ||
		    st->seal->key_file == NULL) {
			error_set(err, "store: %s was written by an earlier "
			    "trusteed under a plain data key file; start once "
			    "with [sealer] kind = \"file\" and key_file naming "
			    "that file to adopt it, then add a TEE-sealed "
			    "instance with --join-request/--join",
			    st->redacted);
			goto fail;
		}
		if (master_legacy_key(st->seal->key_file, master, err) != 0) {
			error_prefix(err, "store: %s was written by an earlier "
			    "trusteed; its data key file", st->redacted);
			goto fail;
		}
		rc = keyring_init(&st->kr, master, err);
		sodium_memzero(master, sizeof(master));
		if (rc != 0 || master_check(st, 0, err) != 0)
			goto fail;
		if (instance_file(o->state_dir, 1, st->instance,
		    err) < 0 || master_enrol(st, err) != 0)
			goto fail;
		log_info("store: %s: adopted the database of an earlier "
		    "trusteed (master key now sealed by %s)", st->redacted,
		    st->sealer_desc);
		goto loaded;
	}
	if (have_id == 0) {
		instance_id_hex(st->instance, idhex);
		error_set(err, "store: %s belongs to another deployment: this "
		    "instance (%s, from %s/" STORE_INSTANCE_FILE ") is not "
		    "among its %zu instance(s); to add it, run `trusteed "
		    "--join-request FILE` here and `trusteectl key export "
		    "--for FILE` on a running instance", st->redacted, idhex,
		    o->state_dir, ninst);
	} else
		error_set(err, "store: %s already holds a deployment (%zu "
		    "instance(s)) and this state directory has no instance id; "
		    "to add this instance, run `trusteed --join-request FILE` "
		    "here and `trusteectl key export --for FILE` on a running "
		    "instance", st->redacted, ninst);
	goto fail;
loaded:
	if (locked)
		st->be->unlock(st->handle, "init");
	rc = keyring_refresh(st, err);
	if (rc != 0)
		return error_prefix(err, "store: %s: loading data keys",
		    st->redacted);
	return 0;
fail:
	rc = STORE_ERROR;
fail_rc:
	if (locked)
		st->be->unlock(st->handle, "init");
	return rc;
}
