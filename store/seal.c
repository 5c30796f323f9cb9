/*
 * seal.c: the sealer table, the sealed-blob envelope (format in seal.h)
 * and the small pieces every sealer shares (seal_internal.h): a
 * bounds-checked reader for payloads and the XChaCha20-Poly1305 box.
 */
#include <string.h>

#include <sodium.h>

#include "../lib/log.h"
#include "seal_internal.h"

#define SEAL_MAGIC	"TSEAL\x01"
#define SEAL_MAGIC_LEN	6

static const struct sealer *const seal_table[] = {
	&seal_tpm2, &seal_snp, &seal_passphrase, &seal_file,
};

/* ------------------------------------------------------------ the table */

const struct sealer *
seal_lookup(const char *kind, struct error *err)
{
	char esc[64];
	size_t i;

	if (kind == NULL || kind[0] == '\0') {
		error_set(err, "no sealer configured (choose tpm2, snp, "
		    "passphrase or file)");
		return NULL;
	}
	for (i = 0; i < ARRAY_SIZE(seal_table); i++)
		if (strcmp(seal_table[i]->name, kind) == 0)
			return seal_table[i];
	if (strcmp(kind, "tdx") == 0)
		error_set(err, "sealer 'tdx': no sealing key exists on TDX "
		    "today (the TDX module derives no key bound to the TD's "
		    "measurement); use 'tpm2' with the TD's vTPM, or "
		    "'passphrase'");
	else
		error_set(err, "unknown sealer '%s' (known: tpm2, snp, "
		    "passphrase, file)", log_escape(kind, esc, sizeof(esc)));
	return NULL;
}

/* --------------------------------------------------------- the envelope */

int
seal_wrap(const struct seal_config *cfg, const uint8_t *secret, size_t len,
    uint8_t **blob, size_t *blob_len, struct error *err)
{
	const struct sealer *s;
	uint8_t *payload = NULL;
	size_t plen = 0, nlen;
	struct buf b = { 0 };

	*blob = NULL;
	*blob_len = 0;
	if ((s = seal_lookup(cfg->kind, err)) == NULL)
		return -1;
	if (seal_secret_check(s->name, len, err) == -1)
		return -1;
	if (s->seal(cfg, secret, len, &payload, &plen, err) == -1)
		return -1;
	if (plen == 0 || plen > SEAL_PAYLOAD_MAX) {
		free(payload);
		return error_set(err, "%s: sealed payload of %zu bytes is out "
		    "of range", s->name, plen);
	}
	nlen = strlen(s->name);
	buf_add(&b, SEAL_MAGIC, SEAL_MAGIC_LEN);
	seal_put_u8(&b, (uint8_t)nlen);
	buf_add(&b, s->name, nlen);
	seal_put_u32(&b, (uint32_t)plen);
	buf_add(&b, payload, plen);
	free(payload);		/* sealed: nothing secret in it */
	*blob = b.data;
	*blob_len = b.len;
	return 0;
}

int
seal_blob_parse(const uint8_t *blob, size_t blob_len, char *name,
    const uint8_t **payload, size_t *payload_len, struct error *err)
{
	struct seal_rd r = { blob, blob_len };
	const uint8_t *magic, *n;
	uint8_t nlen;
	uint32_t plen;
	size_t i;

	name[0] = '\0';
	*payload = NULL;
	*payload_len = 0;
	if (seal_rd_bytes(&r, SEAL_MAGIC_LEN, &magic) == -1 ||
	    memcmp(magic, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0)
		return error_set(err, "sealed key: not a sealed key blob (bad "
		    "magic)");
	if (seal_rd_u8(&r, &nlen) == -1)
		return error_set(err, "sealed key: truncated before the "
		    "sealer name");
	if (nlen == 0 || nlen > SEAL_NAME_MAX)
		return error_set(err, "sealed key: sealer name length %u out "
		    "of range 1..%d", nlen, SEAL_NAME_MAX);
	if (seal_rd_bytes(&r, nlen, &n) == -1)
		return error_set(err, "sealed key: truncated in the sealer "
		    "name");
	for (i = 0; i < nlen; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') ||
		    (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
			return error_set(err, "sealed key: sealer name has a "
			    "byte 0x%02x outside [a-z0-9_]", n[i]);
	if (seal_rd_u32(&r, &plen) == -1)
		return error_set(err, "sealed key: truncated before the "
		    "payload length");
	if (plen == 0 || plen > SEAL_PAYLOAD_MAX)
		return error_set(err, "sealed key: payload length %u out of "
		    "range 1..%d", plen, SEAL_PAYLOAD_MAX);
	if (r.left < plen)
		return error_set(err, "sealed key: payload truncated (%zu of "
		    "%u bytes)", r.left, plen);
	if (r.left > plen)
		return error_set(err, "sealed key: %zu trailing bytes after "
		    "the payload", r.left - plen);
	memcpy(name, n, nlen);
	name[nlen] = '\0';
	*payload = r.p;
	*payload_len = plen;
	return 0;
}

int
seal_unwrap(const struct seal_config *cfg, const uint8_t *blob,
    size_t blob_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err)
{
	char name[SEAL_NAME_MAX + 1];
	const struct sealer *s;
	const uint8_t *payload;
	size_t plen;

	*len = 0;
	if ((s = seal_lookup(cfg->kind, err)) == NULL)
		return -1;
	if (seal_blob_parse(blob, blob_len, name, &payload, &plen, err) == -1)
		return -1;
	if (strcmp(name, s->name) != 0)
		return error_set(err, "sealed key was sealed by '%s', but the "
		    "configured sealer is '%s' (configure '%s', or join this "
		    "instance again with the new sealer)", name, s->name,
		    name);
	if (s->unseal(cfg, payload, plen, out, cap, len, err) == -1) {
		sodium_memzero(out, cap);
		*len = 0;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------- shared helpers */

int
seal_rd_bytes(struct seal_rd *r, size_t n, const uint8_t **v)
{
	if (r->left < n)
		return -1;
	*v = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

int
seal_rd_u8(struct seal_rd *r, uint8_t *v)
{
	const uint8_t *p;

	if (seal_rd_bytes(r, 1, &p) == -1)
		return -1;
	*v = p[0];
	return 0;
}

int
seal_rd_u16(struct seal_rd *r, uint16_t *v)
{
	const uint8_t *p;

	if (seal_rd_bytes(r, 2, &p) == -1)
		return -1;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

int
seal_rd_u32(struct seal_rd *r, uint32_t *v)
{
	const uint8_t *p;

	if (seal_rd_bytes(r, 4, &p) == -1)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
	return 0;
}

int
seal_rd_u64(struct seal_rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (r->left < 8)
		return -1;
	seal_rd_u32(r, &hi);
	seal_rd_u32(r, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

void
seal_put_u8(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

void
seal_put_u16(struct buf *b, uint16_t v)
{
	uint8_t p[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	buf_add(b, p, sizeof(p));
}

void
seal_put_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v };

	buf_add(b, p, sizeof(p));
}

void
seal_put_u64(struct buf *b, uint64_t v)
{
	seal_put_u32(b, (uint32_t)(v >> 32));
	seal_put_u32(b, (uint32_t)v);
}

int
seal_secret_check(const char *who, size_t len, struct error *err)
{
	if (len == 0 || len > SEAL_SECRET_MAX)
		return error_set(err, "%s: secret of %zu bytes out of range "
		    "1..%d", who, len, SEAL_SECRET_MAX);
	return 0;
}

int
seal_box_check(const char *who, size_t box_len, struct error *err)
{
	if (box_len < SEAL_BOX_MIN || box_len > SEAL_BOX_MAX)
		return error_set(err, "%s: wrapped secret of %zu bytes out of "
		    "range %d..%d", who, box_len, SEAL_BOX_MIN, SEAL_BOX_MAX);
	return 0;
}

void
seal_box_close(const uint8_t key[SEAL_KEY_LEN], const uint8_t *ad,
    size_t ad_len, const uint8_t *secret, size_t len, struct buf *out)
{
	uint8_t box[SEAL_BOX_MAX];
	unsigned long long clen;

	randombytes_buf(box, SEAL_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box + SEAL_NONCE_LEN,
	    &clen, secret, len, ad, ad_len, NULL, box, key);
	buf_add(out, box, SEAL_NONCE_LEN + (size_t)clen);
}

int
seal_box_open(const uint8_t key[SEAL_KEY_LEN], const uint8_t *ad,
    size_t ad_len, const uint8_t *box, size_t box_len, uint8_t *out,
    size_t cap, size_t *len, struct error *err)
{
	unsigned long long mlen;
	size_t want = box_len - SEAL_NONCE_LEN - SEAL_TAG_LEN;

	*len = 0;
	if (cap < want)
		return error_set(err, "unsealed secret of %zu bytes does not "
		    "fit the %zu-byte buffer", want, cap);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL,
	    box + SEAL_NONCE_LEN, box_len - SEAL_NONCE_LEN, ad, ad_len, box,
	    key) != 0) {
		sodium_memzero(out, want);
		return -1;
	}
	*len = (size_t)mlen;
	return 0;
}
