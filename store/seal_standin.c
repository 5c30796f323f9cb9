/*
 * seal_standin.c: TEMPORARY stand-in for store/seal.c and the "file"
 * sealer while branch `sealers` is not merged. DELETE THIS FILE when
 * merging `sealers` (it defines the same symbols: seal_lookup, seal_wrap,
 * seal_unwrap, seal_blob_parse, seal_file, seal_tpm2, seal_snp,
 * seal_passphrase). Only "file" works here; the others say they are not
 * built.
 *
 * File sealer payload here: 24-byte nonce || XChaCha20-Poly1305(key from
 * key_file, secret, ad "trustee-seal-file").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "seal.h"

#define STANDIN_MAGIC		"TSEAL\x01"
#define STANDIN_MAGIC_LEN	6
#define STANDIN_AD		"trustee-seal-file"

static int
standin_key(const struct seal_config *cfg, uint8_t key[32], struct error *err)
{
	uint8_t *data = NULL;
	size_t len = 0;

	if (cfg->key_file == NULL)
		return error_set(err, "file sealer: no key_file");
	if (access(cfg->key_file, F_OK) != 0 && errno == ENOENT) {
		if (!cfg->create)
			return error_set(err, "file sealer: %s does not exist",
			    cfg->key_file);
		randombytes_buf(key, 32);
		if (file_write_atomic(cfg->key_file, key, 32, 0600, err) != 0)
			return -1;
		return 0;
	}
	if (file_check_secret(cfg->key_file, err) != 0 ||
	    file_read_all(cfg->key_file, 64, &data, &len, err) != 0)
		return -1;
	if (len != 32) {
		secret_free(data, len);
		return error_set(err, "file sealer: %s must hold exactly 32 "
		    "bytes, found %zu", cfg->key_file, len);
	}
	memcpy(key, data, 32);
	secret_free(data, len);
	return 0;
}

static int
standin_seal(const struct seal_config *cfg, const uint8_t *secret, size_t len,
    uint8_t **payload, size_t *payload_len, struct error *err)
{
	uint8_t key[32], *p;

	if (len > SEAL_SECRET_MAX)
		return error_set(err, "file sealer: secret too long");
	if (standin_key(cfg, key, err) != 0)
		return -1;
	p = xmalloc(24 + len + 16);
	randombytes_buf(p, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(p + 24, NULL, secret, len,
	    (const uint8_t *)STANDIN_AD, strlen(STANDIN_AD), NULL, p, key);
	sodium_memzero(key, sizeof(key));
	*payload = p;
	*payload_len = 24 + len + 16;
	return 0;
}

static int
standin_unseal(const struct seal_config *cfg, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err)
{
	uint8_t key[32];
	int rc;

	if (payload_len < 24 + 16 || payload_len - 40 > cap)
		return error_set(err, "file sealer: malformed payload");
	if (standin_key(cfg, key, err) != 0)
		return -1;
	rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
	    payload + 24, payload_len - 24, (const uint8_t *)STANDIN_AD,
	    strlen(STANDIN_AD), payload, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return error_set(err, "file sealer: %s does not unseal this "
		    "key (another key file)", cfg->key_file);
	*len = payload_len - 40;
	return 0;
}

static void
standin_describe(const struct seal_config *cfg, char *buf, size_t cap)
{
	snprintf(buf, cap, "file (%s; development only)",
	    cfg->key_file != NULL ? cfg->key_file : "?");
}

const struct sealer seal_file = {
	.name = "file", .seal = standin_seal, .unseal = standin_unseal,
	.describe = standin_describe, .insecure = 1,
};

const struct sealer *
seal_lookup(const char *kind, struct error *err)
{
	if (kind != NULL && strcmp(kind, "file") == 0)
		return &seal_file;
	if (kind != NULL && strcmp(kind, "tdx") == 0) {
		error_set(err, "sealer \"tdx\": TDX has no sealing key; use "
		    "\"tpm2\" (the vTPM) or \"passphrase\"");
		return NULL;
	}
	error_set(err, "sealer \"%s\" is not available in this build",
	    kind != NULL ? kind : "(none)");
	return NULL;
}

int
seal_blob_parse(const uint8_t *blob, size_t blob_len, char *name,
    const uint8_t **payload, size_t *payload_len, struct error *err)
{
	size_t n;
	uint32_t plen;

	if (blob_len < STANDIN_MAGIC_LEN + 1 ||
	    memcmp(blob, STANDIN_MAGIC, STANDIN_MAGIC_LEN) != 0)
		return error_set(err, "sealed blob: bad magic");
	n = blob[STANDIN_MAGIC_LEN];
	if (n < 1 || n > SEAL_NAME_MAX || blob_len < STANDIN_MAGIC_LEN + 1 +
	    n + 4)
		return error_set(err, "sealed blob: bad name");
	memcpy(name, blob + STANDIN_MAGIC_LEN + 1, n);
	name[n] = '\0';
	plen = (uint32_t)blob[7 + n] << 24 | (uint32_t)blob[8 + n] << 16 |
	    (uint32_t)blob[9 + n] << 8 | blob[10 + n];
	if (blob_len - (11 + n) != plen)
		return error_set(err, "sealed blob: bad payload length");
	*payload = blob + 11 + n;
	*payload_len = plen;
	return 0;
}

int
seal_wrap(const struct seal_config *cfg, const uint8_t *secret, size_t len,
    uint8_t **blob, size_t *blob_len, struct error *err)
{
	const struct sealer *s = seal_lookup(cfg->kind, err);
	uint8_t *payload, *b;
	size_t plen, n;

	if (s == NULL || s->seal(cfg, secret, len, &payload, &plen, err) != 0)
		return -1;
	n = strlen(s->name);
	b = xmalloc(11 + n + plen);
	memcpy(b, STANDIN_MAGIC, STANDIN_MAGIC_LEN);
	b[6] = (uint8_t)n;
	memcpy(b + 7, s->name, n);
	b[7 + n] = (uint8_t)(plen >> 24);
	b[8 + n] = (uint8_t)(plen >> 16);
	b[9 + n] = (uint8_t)(plen >> 8);
	b[10 + n] = (uint8_t)plen;
	memcpy(b + 11 + n, payload, plen);
	free(payload);
	*blob = b;
	*blob_len = 11 + n + plen;
	return 0;
}

int
seal_unwrap(const struct seal_config *cfg, const uint8_t *blob,
    size_t blob_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err)
{
	char name[SEAL_NAME_MAX + 1];
	const uint8_t *payload;
	size_t plen;
	const struct sealer *s;

	if (seal_blob_parse(blob, blob_len, name, &payload, &plen, err) != 0)
		return -1;
	if (cfg->kind == NULL || strcmp(name, cfg->kind) != 0)
		return error_set(err, "the key was sealed by the \"%s\" sealer, "
		    "but [sealer] kind is \"%s\"", name, cfg->kind != NULL ?
		    cfg->kind : "(none)");
	s = seal_lookup(name, err);
	if (s == NULL)
		return -1;
	return s->unseal(cfg, payload, plen, out, cap, len, err);
}
