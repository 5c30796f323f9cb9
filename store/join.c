/*
 * join.c: adding an instance to a deployment without the master key ever
 * being written in clear (store.h describes the three steps).
 *
 * Join request (written by `trusteed --join-request FILE`; JSON):
 *   {"type": "trustee-join-request", "version": 1,
 *    "instance": "<32 hex digits>", "public_key": "<base64url, 32 bytes>",
 *    "sealer": "<description>"}
 * public_key is an X25519 key whose private half stays in
 * <state_dir>/join.key, sealed by the new instance's own sealer (the
 * seal.h envelope), until the join completes.
 *
 * Join file (made by a running instance for `trusteectl key export --for
 * FILE`; JSON):
 *   {"type": "trustee-join", "version": 1, "instance": "<32 hex>",
 *    "sealed_key": "<base64url>"}
 * sealed_key = crypto_box_seal("TJOIN" 0x01 || instance id || K_m) to the
 * request's public key. Only the holder of the private key opens it; the
 * joining instance then proves K_m against the database's key check row
 * before writing anything, so a forged join file (anyone can seal to a
 * public key) is refused.
 *
 * Both files are parsed as untrusted bytes (tests/fuzz/fuzz_join.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../lib/log.h"
#include "store_internal.h"

#define JOIN_REQ_TYPE		"trustee-join-request"
#define JOIN_FILE_TYPE		"trustee-join"
#define JOIN_VERSION		1
#define JOIN_KEY_FILE		"join.key"
#define JOIN_MAGIC		"TJOIN\x01"
#define JOIN_MAGIC_LEN		6
#define JOIN_PT_LEN		(JOIN_MAGIC_LEN + STORE_INSTANCE_ID_LEN + 32)
#define JOIN_SEALED_LEN		(JOIN_PT_LEN + crypto_box_SEALBYTES)
#define JOIN_TEXT_MAX		(16u * 1024)

/* ------------------------------------------------------------ parsing */

/* A JSON object with exactly the members listed. */
static json_t *
join_object(const uint8_t *text, size_t len, const char *type,
    const char *const *members, struct error *err)
{
	json_error_t je;
	const char *k;
	json_t *o, *v;
	size_t i;

	if (len > JOIN_TEXT_MAX) {
		error_set(err, "more than %u bytes", JOIN_TEXT_MAX);
		return NULL;
	}
	o = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL) {
		error_set(err, "not JSON (line %d: %s)", je.line, je.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		error_set(err, "not a JSON object");
		goto bad;
	}
	json_object_foreach(o, k, v) {
		for (i = 0; members[i] != NULL; i++)
			if (strcmp(members[i], k) == 0)
				break;
		if (members[i] == NULL) {
			error_set(err, "unexpected member");
			goto bad;
		}
	}
	for (i = 0; members[i] != NULL; i++)
		if (json_object_get(o, members[i]) == NULL) {
			error_set(err, "member '%s' missing", members[i]);
			goto bad;
		}
	if (!json_is_string(json_object_get(o, "type")) ||
	    strcmp(json_string_value(json_object_get(o, "type")), type) != 0) {
		error_set(err, "\"type\" is not \"%s\"", type);
		goto bad;
	}
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != JOIN_VERSION) {
		error_set(err, "unsupported version (this trusteed reads "
		    "version %d)", JOIN_VERSION);
		goto bad;
	}
	return o;
bad:
	json_decref(o);
	return NULL;
}

static int
join_instance(const json_t *o, uint8_t id[STORE_INSTANCE_ID_LEN],
    struct error *err)
{
	const char *s = json_string_value(json_object_get(o, "instance"));
	size_t n;

	if (s == NULL || strlen(s) != 2 * STORE_INSTANCE_ID_LEN ||
	    hex_decode(s, id, STORE_INSTANCE_ID_LEN, &n) != 0 ||
	    n != STORE_INSTANCE_ID_LEN)
		return error_set(err, "\"instance\" is not %d hex digits",
		    2 * STORE_INSTANCE_ID_LEN);
	return 0;
}

/* base64url (no padding) of exactly want bytes, or any length up to cap
 * when want is 0. */
static int
join_b64(const json_t *o, const char *member, uint8_t *out, size_t cap,
    size_t want, size_t *len, struct error *err)
{
	const char *s = json_string_value(json_object_get(o, member)), *end;
	size_t n = 0;

	if (s == NULL || sodium_base642bin(out, cap, s, strlen(s), NULL, &n,
	    &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    *end != '\0' || (want != 0 && n != want))
		return error_set(err, "\"%s\" is not base64url of %zu bytes",
		    member, want != 0 ? want : cap);
	*len = n;
	return 0;
}

int
join_parse_request(const uint8_t *text, size_t len, struct join_request *out,
    struct error *err)
{
	static const char *const members[] = { "type", "version", "instance",
	    "public_key", "sealer", NULL };
	const char *s;
	json_t *o;
	size_t n, i;

	memset(out, 0, sizeof(*out));
	o = join_object(text, len, JOIN_REQ_TYPE, members, err);
	if (o == NULL)
		return error_prefix(err, "join request");
	if (join_instance(o, out->instance, err) != 0 ||
	    join_b64(o, "public_key", out->public_key,
	    sizeof(out->public_key), 32, &n, err) != 0)
		goto bad;
	s = json_string_value(json_object_get(o, "sealer"));
	if (s == NULL || strlen(s) >= sizeof(out->sealer)) {
		error_set(err, "\"sealer\" is not a short string");
		goto bad;
	}
	for (i = 0; s[i] != '\0'; i++)
		out->sealer[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	json_decref(o);
	return 0;
bad:
	json_decref(o);
	return error_prefix(err, "join request");
}

int
join_parse_file(const uint8_t *text, size_t len, struct join_file *out,
    struct error *err)
{
	static const char *const members[] = { "type", "version", "instance",
	    "sealed_key", NULL };
	uint8_t buf[JOIN_SEALED_LEN];
	json_t *o;
	size_t n;

	memset(out, 0, sizeof(*out));
	o = join_object(text, len, JOIN_FILE_TYPE, members, err);
	if (o == NULL)
		return error_prefix(err, "join file");
	if (join_instance(o, out->instance, err) != 0 ||
	    join_b64(o, "sealed_key", buf, sizeof(buf), JOIN_SEALED_LEN, &n,
	    err) != 0) {
		json_decref(o);
		return error_prefix(err, "join file");
	}
	json_decref(o);
	out->sealed = xmalloc(n);
	memcpy(out->sealed, buf, n);
	out->sealed_len = n;
	return 0;
}

void
join_file_free(struct join_file *jf)
{
	free(jf->sealed);
	jf->sealed = NULL;
}

static char *
join_b64_encode(const uint8_t *b, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = xmalloc(cap);

	sodium_bin2base64(s, cap, b, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* ----------------------------------------------------------- the steps */

int
store_join_request(const struct store_options *o, const char *path,
    struct error *err)
{
	const struct sealer *s;
	uint8_t id[STORE_INSTANCE_ID_LEN], pk[32], *sk, *blob = NULL;
	char idhex[33], desc[128], *pkb64, *text, *kpath;
	size_t blen = 0;
	json_t *req;
	int rc = -1;

	if (sodium_init() < 0)
		return error_set(err, "libsodium failed to initialise");
	if (o->seal == NULL || (s = seal_lookup(o->seal->kind, err)) == NULL)
		return -1;
	if (o->state_dir == NULL)
		return error_set(err, "a join request needs a state directory");
	if (instance_file(o->state_dir, 1, id, err) < 0)
		return -1;
	sk = sodium_malloc(32);
	if (sk == NULL)
		return error_set(err, "cannot allocate secure memory");
	crypto_box_keypair(pk, sk);
	rc = seal_wrap(o->seal, sk, 32, &blob, &blen, err);
	sodium_free(sk);
	if (rc != 0)
		return error_prefix(err, "sealing the join key");
	kpath = xasprintf("%s/" JOIN_KEY_FILE, o->state_dir);
	rc = file_write_atomic(kpath, blob, blen, 0600, err);
	free(blob);
	free(kpath);
	if (rc != 0)
		return -1;
	s->describe(o->seal, desc, sizeof(desc));
	instance_id_hex(id, idhex);
	pkb64 = join_b64_encode(pk, sizeof(pk));
	req = json_pack("{s:s, s:i, s:s, s:s, s:s}", "type", JOIN_REQ_TYPE,
	    "version", JOIN_VERSION, "instance", idhex, "public_key", pkb64,
	    "sealer", desc);
	free(pkb64);
	text = req != NULL ? json_dumps(req, JSON_INDENT(2)) : NULL;
	json_decref(req);
	if (text == NULL)
		return error_set(err, "cannot encode the join request");
	rc = file_write_atomic(path, text, strlen(text), 0644, err);
	free(text);
	if (rc == 0)
		log_info("join request for instance %s written to %s", idhex,
		    path);
	return rc;
}

int
store_join_export(struct store *st, const uint8_t *reqtext, size_t len,
    char **out, struct error *err)
{
	struct join_request req;
	uint8_t *pt, sealed[JOIN_SEALED_LEN];
	char idhex[33], *b64;
	json_t *o;

	*out = NULL;
	if (join_parse_request(reqtext, len, &req, err) != 0)
		return STORE_ERROR;
	pt = sodium_malloc(JOIN_PT_LEN);
	if (pt == NULL)
		return error_set(err, "cannot allocate secure memory");
	memcpy(pt, JOIN_MAGIC, JOIN_MAGIC_LEN);
	memcpy(pt + JOIN_MAGIC_LEN, req.instance, STORE_INSTANCE_ID_LEN);
	memcpy(pt + JOIN_MAGIC_LEN + STORE_INSTANCE_ID_LEN, st->kr.m->master,
	    32);
	crypto_box_seal(sealed, pt, JOIN_PT_LEN, req.public_key);
	sodium_free(pt);
	instance_id_hex(req.instance, idhex);
	b64 = join_b64_encode(sealed, sizeof(sealed));
	o = json_pack("{s:s, s:i, s:s, s:s}", "type", JOIN_FILE_TYPE,
	    "version", JOIN_VERSION, "instance", idhex, "sealed_key", b64);
	free(b64);
	*out = o != NULL ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	if (*out == NULL)
		return error_set(err, "cannot encode the join file");
	log_info("store: exported the master key to joining instance %s "
	    "(sealer %s)", idhex, req.sealer);
	return 0;
}

int
store_join(const struct store_options *o, const char *path, struct error *err)
{
	struct join_file jf = { 0 };
	struct store *st = NULL;
	uint8_t id[STORE_INSTANCE_ID_LEN], *text = NULL, *blob = NULL;
	uint8_t *keys = NULL;	/* sk (32), pk (32), plaintext */
	char *kpath = NULL, idhex[33];
	size_t len = 0, blen = 0, sklen = 0;
	int rc;

	if (o->state_dir == NULL)
		return error_set(err, "joining needs a state directory");
	rc = instance_file(o->state_dir, 0, id, err);
	if (rc == 1)
		return error_set(err, "%s/instance-id is missing: run "
		    "`trusteed --join-request FILE` first", o->state_dir);
	if (rc < 0)
		return -1;
	if (file_read_all(path, JOIN_TEXT_MAX, &text, &len, err) != 0)
		return -1;
	rc = join_parse_file(text, len, &jf, err);
	free(text);
	if (rc != 0)
		return error_prefix(err, "%s", path);
	rc = -1;
	if (memcmp(jf.instance, id, STORE_INSTANCE_ID_LEN) != 0) {
		instance_id_hex(id, idhex);
		error_set(err, "%s was made for another instance (this one is "
		    "%s)", path, idhex);
		goto out;
	}
	kpath = xasprintf("%s/" JOIN_KEY_FILE, o->state_dir);
	if (file_read_all(kpath, 64 * 1024, &blob, &blen, err) != 0) {
		error_prefix(err, "the join key (made by --join-request)");
		goto out;
	}
	keys = sodium_malloc(64 + JOIN_PT_LEN);
	if (keys == NULL) {
		error_set(err, "cannot allocate secure memory");
		goto out;
	}
	if (seal_unwrap(o->seal, blob, blen, keys, 32, &sklen, err) != 0) {
		error_prefix(err, "unsealing the join key %s", kpath);
		goto out;
	}
	if (sklen != 32) {
		error_set(err, "%s: the join key has %zu bytes", kpath, sklen);
		goto out;
	}
	crypto_scalarmult_base(keys + 32, keys);
	if (crypto_box_seal_open(keys + 64, jf.sealed, jf.sealed_len,
	    keys + 32, keys) != 0) {
		error_set(err, "%s was not made for this instance's join "
		    "request (it does not open with its key)", path);
		goto out;
	}
	if (memcmp(keys + 64, JOIN_MAGIC, JOIN_MAGIC_LEN) != 0 ||
	    memcmp(keys + 64 + JOIN_MAGIC_LEN, id, STORE_INSTANCE_ID_LEN) !=
	    0) {
		error_set(err, "%s: the sealed key names another instance",
		    path);
		goto out;
	}
	if (store_connect(o, &st, err) != 0)
		goto out;
	st->seal = o->seal;
	memcpy(st->instance, id, STORE_INSTANCE_ID_LEN);
	if (keyring_init(&st->kr, keys + 64 + JOIN_MAGIC_LEN +
	    STORE_INSTANCE_ID_LEN, err) != 0 ||
	    master_check(st, 0, err) != 0 ||
	    keyring_refresh(st, err) != 0)
		goto out;
	{
		const struct sealer *s = seal_lookup(o->seal->kind, err);

		if (s == NULL)
			goto out;
		s->describe(o->seal, st->sealer_desc, sizeof(st->sealer_desc));
		st->sealer_insecure = s->insecure;
	}
	if (master_enrol(st, err) != 0)
		goto out;
	if (unlink(kpath) != 0)
		log_warnx("%s: %s", kpath, strerror(errno));
	instance_id_hex(id, idhex);
	log_info("store: instance %s joined the deployment in %s (master key "
	    "sealed by %s)", idhex, st->redacted, st->sealer_desc);
	rc = 0;
out:
	store_close(st);
	if (keys != NULL)
		sodium_free(keys);
	free(blob);
	free(kpath);
	join_file_free(&jf);
	return rc;
}
