/*
 * instance.c: this instance, and the _instances rows that hold the master
 * key K_m sealed once per instance.
 *
 * An instance is named by its id: 16 random bytes, hex in
 * <state_dir>/instance-id (not secret), made by the start that creates a
 * deployment or adopts one (master.c) or by a join (join.c). Table
 * _instances holds one row per instance whose value carries that
 * instance's sealer blob of K_m (seal.h): instances with different
 * sealers thus share one database, and each unseals its own copy at start
 * (master.c). Row layout (all integers big-endian):
 *   id BLAKE2b-256("trustee-instance" 0x00 instance id):
 *        "TINS" 0x01, 16-byte instance id, i64 created, i64 last_seen,
 *        u32 loaded (highest data-key version this instance has loaded:
 *        the heartbeat rotation waits on), u8 n, n bytes sealer
 *        description (printable ASCII), u32 m, m bytes sealed K_m (the
 *        seal.h envelope), 32-byte BLAKE2b MAC (MAC key, keyring.c) of
 *        everything before it; ord = last_seen, kv = 0
 *
 * instance_heartbeat rewrites this instance's row with the time and the
 * version it has loaded; an instance counts as live for
 * instance_live_seconds after its last heartbeat. instance_parse takes
 * untrusted bytes (fuzzed: fuzz_keyring) and only checks the layout; its
 * result points into them, and instance_verify checks the MAC.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "store_internal.h"

#define INST_MAGIC		"TINS\x01"
#define INST_MAGIC_LEN		5
#define INST_FIXED_LEN		(INST_MAGIC_LEN + STORE_INSTANCE_ID_LEN + \
				    8 + 8 + 4)
#define INST_DESC_MAX		127
#define INST_SEALED_MAX		(64u * 1024)
#define INST_MAC_LEN		32
#define INST_ROW_PREFIX		"trustee-instance"

/* ----------------------------------------------------------- instance-id */

void
instance_id_hex(const uint8_t id[STORE_INSTANCE_ID_LEN], char out[33])
{
	hex_encode(id, STORE_INSTANCE_ID_LEN, out);
}

int
instance_file(const char *state_dir, int create,
    uint8_t id[STORE_INSTANCE_ID_LEN], struct error *err)
{
	char *path, hex[2 * STORE_INSTANCE_ID_LEN + 2];
	uint8_t *text = NULL;
	size_t len = 0, n;
	int rc;

	if (state_dir == NULL)
		return error_set(err, "store: no state directory for the "
		    "instance id");
	path = xasprintf("%s/" STORE_INSTANCE_FILE, state_dir);
	rc = file_read_all(path, 128, &text, &len, err);
	if (rc == 0) {
		while (len > 0 && (text[len - 1] == '\n' ||
		    text[len - 1] == '\r'))
			text[--len] = '\0';
		if (len != 2 * STORE_INSTANCE_ID_LEN ||
		    hex_decode((const char *)text, id, STORE_INSTANCE_ID_LEN,
		    &n) != 0 || n != STORE_INSTANCE_ID_LEN)
			rc = error_set(err, "%s: expected %d hex digits (this "
			    "instance's id)", path, 2 * STORE_INSTANCE_ID_LEN);
		free(text);
		free(path);
		return rc;
	}
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		free(path);
		return -1;		/* err from file_read_all */
	}
	if (!create) {
		free(path);
		return 1;
	}
	randombytes_buf(id, STORE_INSTANCE_ID_LEN);
	hex_encode(id, STORE_INSTANCE_ID_LEN, hex);
	strcat(hex, "\n");
	rc = file_write_atomic(path, hex, strlen(hex), 0644, err);
	if (rc == 0)
		log_info("store: this instance's id is %.32s (%s)", hex, path);
	free(path);
	return rc;
}

/* ------------------------------------------------------- _instances rows */

void
instance_row_id(const uint8_t id[STORE_INSTANCE_ID_LEN],
    uint8_t rid[STORE_ID_LEN])
{
	crypto_generichash_state h;
	static const uint8_t sep = 0;

	crypto_generichash_init(&h, NULL, 0, STORE_ID_LEN);
	crypto_generichash_update(&h, (const uint8_t *)INST_ROW_PREFIX,
	    strlen(INST_ROW_PREFIX));
	crypto_generichash_update(&h, &sep, 1);
	crypto_generichash_update(&h, id, STORE_INSTANCE_ID_LEN);
	crypto_generichash_final(&h, rid, STORE_ID_LEN);
}

void
instance_build(const struct keyring_master *m,
    const uint8_t id[STORE_INSTANCE_ID_LEN], int64_t created,
    int64_t last_seen, uint32_t loaded, const char *desc,
    const uint8_t *sealed, size_t sealed_len, uint8_t **out, size_t *len)
{
	size_t dlen = strnlen(desc, INST_DESC_MAX), n, i;
	uint8_t *b;

	n = INST_FIXED_LEN + 1 + dlen + 4 + sealed_len + INST_MAC_LEN;
	b = xmalloc(n);
	memcpy(b, INST_MAGIC, INST_MAGIC_LEN);
	memcpy(b + INST_MAGIC_LEN, id, STORE_INSTANCE_ID_LEN);
	store_be64_put(b + INST_MAGIC_LEN + 16, created);
	store_be64_put(b + INST_MAGIC_LEN + 24, last_seen);
	store_be32_put(b + INST_MAGIC_LEN + 32, loaded);
	b[INST_FIXED_LEN] = (uint8_t)dlen;
	for (i = 0; i < dlen; i++)	/* printable ASCII only */
		b[INST_FIXED_LEN + 1 + i] = desc[i] >= 0x20 && desc[i] < 0x7f ?
		    (uint8_t)desc[i] : '?';
	store_be32_put(b + INST_FIXED_LEN + 1 + dlen, (uint32_t)sealed_len);
	memcpy(b + INST_FIXED_LEN + 5 + dlen, sealed, sealed_len);
	crypto_generichash(b + n - INST_MAC_LEN, INST_MAC_LEN, b,
	    n - INST_MAC_LEN, m->mac_key, sizeof(m->mac_key));
	*out = b;
	*len = n;
}

int
instance_parse(const uint8_t *b, size_t len,
    struct instance_row *out, struct error *err)
{
	size_t dlen, off, i;
	uint32_t slen;

	memset(out, 0, sizeof(*out));
	if (len < INST_FIXED_LEN + 1 + 4 + INST_MAC_LEN)
		return error_set(err, "an instance row is truncated (%zu "
		    "bytes)", len);
	if (memcmp(b, INST_MAGIC, INST_MAGIC_LEN) != 0)
		return error_set(err, "an instance row has an unknown format");
	memcpy(out->id, b + INST_MAGIC_LEN, STORE_INSTANCE_ID_LEN);
	out->created = store_be64_get(b + INST_MAGIC_LEN + 16);
	out->last_seen = store_be64_get(b + INST_MAGIC_LEN + 24);
	out->loaded = store_be32_get(b + INST_MAGIC_LEN + 32);
	dlen = b[INST_FIXED_LEN];
	off = INST_FIXED_LEN + 1;
	if (dlen > INST_DESC_MAX || len - off < dlen + 4 + INST_MAC_LEN)
		return error_set(err, "an instance row's sealer description "
		    "is malformed");
	for (i = 0; i < dlen; i++) {
		if (b[off + i] < 0x20 || b[off + i] >= 0x7f)
			return error_set(err, "an instance row's sealer "
			    "description is not printable");
		out->desc[i] = (char)b[off + i];
	}
	out->desc[dlen] = '\0';
	off += dlen;
	slen = store_be32_get(b + off);
	off += 4;
	if (slen == 0 || slen > INST_SEALED_MAX ||
	    len - off != (size_t)slen + INST_MAC_LEN)
		return error_set(err, "an instance row's sealed key has a "
		    "bad length");
	out->sealed = b + off;
	out->sealed_len = slen;
	out->mac_off = off + slen;
	out->mac = b + out->mac_off;
	return 0;
}

int
instance_verify(const struct keyring_master *m, const uint8_t *b,
    const struct instance_row *in, struct error *err)
{
	uint8_t mac[INST_MAC_LEN];

	crypto_generichash(mac, sizeof(mac), b, in->mac_off, m->mac_key,
	    sizeof(m->mac_key));
	if (sodium_memcmp(mac, in->mac, INST_MAC_LEN) != 0)
		return error_set(err, "an instance row failed authentication "
		    "(tampered, or of another deployment)");
	return 0;
}

int
instance_heartbeat(struct store *st, struct error *err)
{
	struct store_row row;
	uint8_t *blob;
	size_t len;
	uint32_t loaded;
	int64_t now = store_now_ms() / 1000;
	int rc;

	if (!st->has_instance)
		return 0;
	loaded = keyring_current(&st->kr);
	instance_build(st->kr.m, st->instance, st->instance_created,
	    now, loaded, st->sealer_desc, st->sealed, st->sealed_len, &blob,
	    &len);
	memset(&row, 0, sizeof(row));
	instance_row_id(st->instance, row.id);
	row.ord = now;
	row.blob = blob;
	row.len = len;
	rc = st->be->put(st->handle, STORE_INSTANCES_TABLE, &row,
	    STORE_REV_ANY, NULL, err);
	free(blob);
	if (rc == STORE_OK) {
		st->heartbeat_ms = store_mono_ms();
		st->heartbeat_loaded = loaded;
	}
	return rc;
}

int64_t
instance_live_seconds(const struct store *st)
{
	/* Heartbeats come every 5 polls (watch.c); four missed ones. */
	int64_t s = (int64_t)st->poll_ms * 20 / 1000;

	return s < 10 ? 10 : s;
}
