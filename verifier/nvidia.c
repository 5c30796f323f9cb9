/*
 * nvidia.c: the "nvidia" TEE, NVIDIA GPUs verified locally
 * (reference/attestation-service.md §1.13; evidence layout in nvidia.h).
 *
 * For each Hopper GPU of device_evidence_list, in this order:
 *  1. the report (SPDM GET_MEASUREMENTS request || MEASUREMENTS response)
 *     is parsed with every bound checked (spdm.c) and its opaque data
 *     decoded into the "config" claims;
 *  2. the certificate chain (leaf first) verifies to the pinned NVIDIA
 *     Device Identity CA (verifier/roots/nvidia/, compiled in); a
 *     self-signed certificate in the chain must be that root; every
 *     certificate must be valid at the verification time;
 *  3. the FWID in the leaf's extension 2.23.133.5.4.1 equals the report's
 *     opaque FWID;
 *  4. the report's ECDSA P-384 signature (raw r||s) verifies with the
 *     leaf key over SHA-384 of every byte before it;
 *  5. the request nonce equals the expected report data zero-padded or
 *     truncated to 32 bytes (required, as in Trustee).
 * Claims (class "gpu"), as Trustee's local verifier emits them:
 *   {"arch": "Hopper", "uuid", "measurements": {"<index>": hex, ...},
 *    "config": {driver_version, vbios_version, fwid, measurement_count,
 *               board_id, chip_sku, ...}}
 * with no report_data claim. Reference values are the policy's business
 * (default_gpu.lua), not the verifier's.
 *
 * Blackwell GPUs and LS10 switches are listed as not verifiable locally
 * by this build (a contraindicated appraisal, not an error); there is no
 * remote (NRAS) mode, so this verifier never touches the network.
 *
 * Verified chains are cached (by SHA-256 of the base64 text) with the
 * leaf key, its FWID and the intersection of the validity windows, so a
 * warm verification costs one P-384 signature check.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../lib/b64.h"
#include "../lib/embedded.h"
#include "nvidia.h"
#include "spdm.h"

#define NVIDIA_FWID_OID		"2.23.133.5.4.1"
#define NVIDIA_CACHE_MAX	64

/* ------------------------------------------------------------ evidence */

static int
nvidia_arch(const char *s, struct nvidia_device *d)
{
	if (strcasecmp(s, "hopper") == 0) {
		d->arch = NVIDIA_HOPPER;
		d->arch_name = "Hopper";
		d->tee_class = "gpu";
	} else if (strcasecmp(s, "blackwell") == 0) {
		d->arch = NVIDIA_BLACKWELL;
		d->arch_name = "Blackwell";
		d->tee_class = "gpu";
	} else if (strcasecmp(s, "ls10") == 0) {
		d->arch = NVIDIA_LS10;
		d->arch_name = "LS10";
		d->tee_class = "switch";
	} else {
		return -1;
	}
	return 0;
}

static int
nvidia_string(const json_t *dev, const char *key, size_t max,
    const char **s, size_t *len, struct error *err)
{
	const json_t *v = json_object_get(dev, key);

	if (v == NULL)
		return error_set(err, "missing field `%s`", key);
	if (!json_is_string(v))
		return error_set(err, "field `%s` must be a string", key);
	if (json_string_length(v) > max)
		return error_set(err, "field `%s` is longer than %zu "
		    "characters", key, max);
	*s = json_string_value(v);
	if (len != NULL)
		*len = json_string_length(v);
	return 0;
}

int
nvidia_parse_evidence(const json_t *ev, struct nvidia_device *out,
    size_t cap, size_t *n, struct error *err)
{
	const json_t *list, *dev, *uuid;
	const char *arch;
	size_t i;

	*n = 0;
	if (!json_is_object(ev))
		return error_set(err, "NVIDIA evidence is not a JSON object");
	list = json_object_get(ev, "device_evidence_list");
	if (!json_is_array(list))
		return error_set(err, "NVIDIA evidence: `device_evidence_list` "
		    "must be an array");
	if (json_array_size(list) == 0 || json_array_size(list) > cap)
		return error_set(err, "NVIDIA evidence: `device_evidence_list` "
		    "must hold 1 to %zu devices, not %zu", cap,
		    json_array_size(list));
	json_array_foreach(list, i, dev) {
		struct nvidia_device *d = &out[i];

		memset(d, 0, sizeof(*d));
		if (!json_is_object(dev))
			return error_set(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu] is not an object", i);
		if (nvidia_string(dev, "arch", 32, &arch, NULL, err) != 0 ||
		    nvidia_string(dev, "evidence", NVIDIA_EVIDENCE_MAX,
		    &d->evidence, &d->evidence_len, err) != 0 ||
		    nvidia_string(dev, "certificate", NVIDIA_CERTS_MAX,
		    &d->certificate, &d->certificate_len, err) != 0)
			return error_prefix(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu]", i);
		if (nvidia_arch(arch, d) != 0)
			return error_set(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu]: unknown arch (expected "
			    "Hopper, Blackwell or LS10)", i);
		uuid = json_object_get(dev, "uuid");
		if (uuid != NULL && !json_is_string(uuid))
			return error_set(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu]: field `uuid` must be a "
			    "string", i);
		if (uuid != NULL && json_string_length(uuid) > 128)
			return error_set(err, "NVIDIA evidence: "
			    "device_evidence_list[%zu]: field `uuid` is longer "
			    "than 128 characters", i);
		d->uuid = uuid != NULL ? json_string_value(uuid) : "unknown";
	}
	*n = json_array_size(list);
	return 0;
}

int
nvidia_decode_report(const char *s, size_t len, uint8_t **out,
    size_t *outlen, struct error *err)
{
	uint8_t *buf;
	size_t n = 0;

	*out = NULL;
	*outlen = 0;
	if (len == 0)
		return error_set(err, "the report is empty");
	if (len % 2 == 0 && strspn(s, "0123456789abcdefABCDEF") == len) {
		buf = xmalloc(len / 2);
		if (hex_decode(s, buf, len / 2, &n) != 0 || n != len / 2) {
			free(buf);
			return error_set(err, "the report is not valid hex");
		}
		*out = buf;
		*outlen = n;
		return 0;
	}
	if (b64_decode(s, len, B64_STD, out, outlen) != 0)
		return error_set(err, "the report is neither hex nor standard "
		    "base64");
	return 0;
}

/* --------------------------------------------------------- opaque data */

enum {
	OPAQUE_STRING,		/* NUL-padded printable text */
	OPAQUE_HEX,
	OPAQUE_VBIOS,
	OPAQUE_NVDEC,
	OPAQUE_MSRSCNT,
	OPAQUE_PDI,
	OPAQUE_U64,
	OPAQUE_FEATURE,
};

/* NVIDIA's opaque data types (nvtrust), named as Trustee names them. */
static const struct {
	uint16_t type;
	const char *name;
	int kind;
} nvidia_opaque_types[] = {
	{ 1, "cert_issuer_name", OPAQUE_HEX },
	{ 2, "cert_authority_key_identifier", OPAQUE_HEX },
	{ 3, "driver_version", OPAQUE_STRING },
	{ 4, "gpu_info", OPAQUE_HEX },
	{ 5, "id_sku", OPAQUE_HEX },
	{ 6, "vbios_version", OPAQUE_VBIOS },
	{ 7, "manufacturer_id", OPAQUE_HEX },
	{ 8, "tamper_detection", OPAQUE_HEX },
	{ 9, "smc", OPAQUE_HEX },
	{ 10, "vpr", OPAQUE_HEX },
	{ 11, "nvdec0_status", OPAQUE_NVDEC },
	{ 12, "measurement_count", OPAQUE_MSRSCNT },
	{ 13, "cpr_info", OPAQUE_HEX },
	{ 14, "board_id", OPAQUE_HEX },
	{ 15, "chip_sku", OPAQUE_STRING },
	{ 16, "chip_sku_mod", OPAQUE_STRING },
	{ 17, "project", OPAQUE_STRING },
	{ 18, "project_sku", OPAQUE_STRING },
	{ 19, "project_sku_mod", OPAQUE_HEX },
	{ 20, "fwid", OPAQUE_HEX },
	{ 21, "protected_pcie_status", OPAQUE_HEX },
	{ 22, "switch_pdi", OPAQUE_PDI },
	{ 23, "floorswept_ports", OPAQUE_HEX },
	{ 24, "position_id", OPAQUE_HEX },
	{ 25, "lock_switch_status", OPAQUE_HEX },
	{ 32, "gpu_link_conn", OPAQUE_HEX },
	{ 33, "sys_enable_status", OPAQUE_HEX },
	{ 34, "opaque_data_version", OPAQUE_U64 },
	{ 35, "chip_info", OPAQUE_STRING },
	{ 36, "feature_flag", OPAQUE_FEATURE },
};

static json_t *
nvidia_hex(const uint8_t *p, size_t n)
{
	char *h = xmalloc(2 * n + 1);
	json_t *j;

	hex_encode(p, n, h);
	j = json_string(h);
	free(h);
	return j;
}

static int
nvidia_le_u64(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i;

	if (n > 8)
		return -1;
	*v = 0;
	for (i = n; i > 0; i--)
		*v = *v << 8 | p[i - 1];
	return 0;
}

/* One opaque value as JSON, or NULL with the reason. */
static json_t *
nvidia_opaque_value(int kind, const char *name, const uint8_t *p, size_t n,
    struct error *err)
{
	json_t *j;
	uint64_t v;
	size_t i, len;

	switch (kind) {
	case OPAQUE_STRING:
		for (len = n; len > 0 && p[len - 1] == 0; len--)
			;
		for (i = 0; i < len; i++)
			if (p[i] < 0x20 || p[i] > 0x7e)
				break;
		if (i < len) {
			error_set(err, "opaque field %s is not printable text",
			    name);
			return NULL;
		}
		return json_stringn((const char *)p, len);
	case OPAQUE_VBIOS:
		/* The first half reversed, then the byte after it:
		 * 00 74 00 96 1a 00 00 00 -> "96.00.74.00.1a". */
		if (n < 2 || n > 16 || n % 2 != 0) {
			error_set(err, "opaque field %s: %zu bytes (expected an "
			    "even number from 2 to 16)", name, n);
			return NULL;
		}
		{
			char s[3 * 9 + 1];
			size_t o = 0;

			for (i = n / 2; i > 0; i--)
				o += (size_t)snprintf(s + o, sizeof(s) - o,
				    "%02x.", p[i - 1]);
			snprintf(s + o, sizeof(s) - o, "%02x", p[n / 2]);
			return json_string(s);
		}
	case OPAQUE_NVDEC:
		if (n == 1 && p[0] == 0xaa)
			return json_string("enabled");
		if (n == 1 && p[0] == 0x55)
			return json_string("disabled");
		error_set(err, "opaque field %s: invalid status (expected one "
		    "byte 0xaa or 0x55)", name);
		return NULL;
	case OPAQUE_MSRSCNT:
		if (n % 4 != 0) {
			error_set(err, "opaque field %s: %zu bytes is not a "
			    "list of 32-bit counts", name, n);
			return NULL;
		}
		j = json_object();
		for (i = 0; i < n / 4; i++) {
			char k[16];

			nvidia_le_u64(p + 4 * i, 4, &v);
			snprintf(k, sizeof(k), "%zu", i + 1);
			json_object_set_new(j, k, json_integer((json_int_t)v));
		}
		return j;
	case OPAQUE_PDI:
		if (n % 8 != 0) {
			error_set(err, "opaque field %s: %zu bytes is not a "
			    "list of 8-byte PDIs", name, n);
			return NULL;
		}
		j = json_array();
		for (i = 0; i < n / 8; i++)
			json_array_append_new(j, nvidia_hex(p + 8 * i, 8));
		return j;
	case OPAQUE_U64:
	case OPAQUE_FEATURE:
		if (nvidia_le_u64(p, n, &v) != 0) {
			error_set(err, "opaque field %s: %zu bytes is longer "
			    "than a 64-bit integer", name, n);
			return NULL;
		}
		if (kind == OPAQUE_FEATURE)
			return json_string(v == 0 ? "SPT" : v == 1 ? "MPT" :
			    v == 2 ? "PPCIE" : "unknown");
		if (v > (uint64_t)INT64_MAX) {
			error_set(err, "opaque field %s: value out of range",
			    name);
			return NULL;
		}
		return json_integer((json_int_t)v);
	default:
		return nvidia_hex(p, n);
	}
}

int
nvidia_opaque_claims(const uint8_t *p, size_t len, json_t **config,
    uint8_t fwid[NVIDIA_FWID_LEN], struct error *err)
{
	json_t *c = json_object(), *val;
	size_t off = 0, i;
	int has_fwid = 0;

	*config = NULL;
	while (off < len) {
		const char *name = NULL;
		char other[16];
		uint16_t type, n;
		int kind = OPAQUE_HEX;

		if (len - off < 4) {
			error_set(err, "opaque data: %zu trailing byte(s) at "
			    "offset %zu are not an item header", len - off, off);
			goto fail;
		}
		type = (uint16_t)(p[off] | p[off + 1] << 8);
		n = (uint16_t)(p[off + 2] | p[off + 3] << 8);
		off += 4;
		if (n > len - off) {
			error_set(err, "opaque data: item of type %u at offset "
			    "%zu: %u bytes overrun the opaque data (%zu left)",
			    type, off - 4, n, len - off);
			goto fail;
		}
		for (i = 0; i < ARRAY_SIZE(nvidia_opaque_types); i++)
			if (nvidia_opaque_types[i].type == type) {
				name = nvidia_opaque_types[i].name;
				kind = nvidia_opaque_types[i].kind;
			}
		if (name == NULL) {
			snprintf(other, sizeof(other), "type_%u", type);
			name = other;
		}
		if (json_object_get(c, name) != NULL) {
			error_set(err, "opaque data: field %s appears twice",
			    name);
			goto fail;
		}
		if (type == 20) {
			if (n != NVIDIA_FWID_LEN) {
				error_set(err, "opaque field fwid: %u bytes "
				    "(expected %d)", n, NVIDIA_FWID_LEN);
				goto fail;
			}
			memcpy(fwid, p + off, NVIDIA_FWID_LEN);
			has_fwid = 1;
		}
		if ((val = nvidia_opaque_value(kind, name, p + off, n,
		    err)) == NULL)
			goto fail;
		json_object_set_new(c, name, val);
		off += n;
	}
	if (json_object_get(c, "driver_version") == NULL ||
	    json_object_get(c, "vbios_version") == NULL) {
		error_set(err, "opaque data: driver_version and vbios_version "
		    "are both required");
		goto fail;
	}
	if (!has_fwid) {
		error_set(err, "opaque data: no fwid (type 20) to match the "
		    "device certificate");
		goto fail;
	}
	*config = c;
	return 0;
fail:
	json_decref(c);
	return -1;
}

/* --------------------------------------------------------- certificates */

/* A SEQUENCE {OID sha384, OCTET STRING[48]} (a FWID): 1 and its digest,
 * 0 for anything else. */
static int
nvidia_fwid_item(const unsigned char *der, long len,
    uint8_t fwid[NVIDIA_FWID_LEN])
{
	const unsigned char *p = der;
	ASN1_SEQUENCE_ANY *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
	const ASN1_TYPE *alg, *dig;
	int found = 0;

	if (seq == NULL)
		return 0;
	if (p == der + len && sk_ASN1_TYPE_num(seq) == 2) {
		alg = sk_ASN1_TYPE_value(seq, 0);
		dig = sk_ASN1_TYPE_value(seq, 1);
		if (alg->type == V_ASN1_OBJECT &&
		    OBJ_obj2nid(alg->value.object) == NID_sha384 &&
		    dig->type == V_ASN1_OCTET_STRING &&
		    ASN1_STRING_length(dig->value.octet_string) ==
		    NVIDIA_FWID_LEN) {
			memcpy(fwid, ASN1_STRING_get0_data(
			    dig->value.octet_string), NVIDIA_FWID_LEN);
			found = 1;
		}
	}
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	ERR_clear_error();
	return found;
}

/* Count the SHA-384 FWIDs in a SEQUENCE OF FWID (DER, any outer tag). */
static int
nvidia_fwid_list(const unsigned char *der, long len,
    uint8_t fwid[NVIDIA_FWID_LEN])
{
	unsigned char *copy;
	const unsigned char *p;
	ASN1_SEQUENCE_ANY *seq;
	int i, found = 0;

	if (len < 2)
		return 0;
	copy = xmalloc((size_t)len);
	memcpy(copy, der, (size_t)len);
	copy[0] = 0x30;		/* [6] IMPLICIT SEQUENCE OF -> SEQUENCE OF */
	p = copy;
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
	if (seq != NULL && p == copy + len) {
		for (i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
			const ASN1_TYPE *t = sk_ASN1_TYPE_value(seq, i);

			if (t->type == V_ASN1_SEQUENCE)
				found += nvidia_fwid_item(
				    t->value.sequence->data,
				    t->value.sequence->length, fwid);
		}
	}
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	ERR_clear_error();
	free(copy);
	return found;
}

static int
nvidia_x509_fwid(X509 *x, uint8_t fwid[NVIDIA_FWID_LEN], struct error *err)
{
	ASN1_OBJECT *oid = OBJ_txt2obj(NVIDIA_FWID_OID, 1);
	const ASN1_OCTET_STRING *os;
	const unsigned char *p;
	ASN1_SEQUENCE_ANY *seq = NULL;
	int idx, i, found = 0;

	if (oid == NULL)
		return error_set(err, "out of memory");
	idx = X509_get_ext_by_OBJ(x, oid, -1);
	if (idx >= 0 && X509_get_ext_by_OBJ(x, oid, idx) >= 0) {
		ASN1_OBJECT_free(oid);
		return error_set(err, "the device certificate has two FWID "
		    "extensions (%s)", NVIDIA_FWID_OID);
	}
	ASN1_OBJECT_free(oid);
	if (idx < 0)
		return error_set(err, "the device certificate has no FWID "
		    "extension (%s)", NVIDIA_FWID_OID);
	os = X509_EXTENSION_get_data(X509_get_ext(x, idx));
	p = ASN1_STRING_get0_data(os);
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(os));
	if (seq == NULL || p != ASN1_STRING_get0_data(os) +
	    ASN1_STRING_length(os)) {
		sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
		ERR_clear_error();
		return error_set(err, "the FWID extension (%s) is not a DER "
		    "SEQUENCE", NVIDIA_FWID_OID);
	}
	for (i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
		const ASN1_TYPE *t = sk_ASN1_TYPE_value(seq, i);
		const ASN1_STRING *s;

		if (t->type == V_ASN1_SEQUENCE) {
			s = t->value.sequence;
			found += nvidia_fwid_item(ASN1_STRING_get0_data(s),
			    ASN1_STRING_length(s), fwid);
		} else if (t->type == V_ASN1_OTHER && t->value.asn1_string !=
		    NULL && ASN1_STRING_length(t->value.asn1_string) > 0 &&
		    ASN1_STRING_get0_data(t->value.asn1_string)[0] == 0xa6) {
			/* TCG DICE TcbInfo: fwids [6] IMPLICIT FWIDLIST */
			s = t->value.asn1_string;
			found += nvidia_fwid_list(ASN1_STRING_get0_data(s),
			    ASN1_STRING_length(s), fwid);
		}
	}
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	if (found != 1)
		return error_set(err, "the FWID extension (%s) holds %d "
		    "SHA-384 FWIDs (expected one)", NVIDIA_FWID_OID, found);
	return 0;
}

int
nvidia_cert_fwid(const uint8_t *der, size_t len,
    uint8_t fwid[NVIDIA_FWID_LEN], struct error *err)
{
	const unsigned char *p = der;
	X509 *x;
	int rc;

	if (len > NVIDIA_CERTS_MAX ||
	    (x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return error_set(err, "not a DER certificate");
	}
	rc = nvidia_x509_fwid(x, fwid, err);
	X509_free(x);
	return rc;
}

static pthread_once_t nvidia_root_once = PTHREAD_ONCE_INIT;
static X509 *nvidia_root;
static X509_STORE *nvidia_store;

static void
nvidia_root_load(void)
{
	const unsigned char *pem;
	size_t len;
	BIO *bio;

	if ((pem = embedded_get(NVIDIA_ROOT_PATH, &len)) == NULL ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return;
	nvidia_root = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (nvidia_root == NULL || (nvidia_store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(nvidia_store, nvidia_root) != 1) {
		X509_STORE_free(nvidia_store);
		nvidia_store = NULL;
	}
	ERR_clear_error();
}

static void
nvidia_cn(X509 *x, char *out, size_t cap)
{
	if (x == NULL || X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, out, (int)cap) < 0)
		snprintf(out, cap, "?");
}

static int
nvidia_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* A verified chain: what the cache holds. */
struct nvidia_chain {
	uint8_t key[32];		/* SHA-256 of the base64 chain text */
	EVP_PKEY *leaf;			/* EC P-384 (own reference) */
	uint8_t fwid[NVIDIA_FWID_LEN];
	int64_t not_before, not_after;	/* intersection over the chain */
	char leaf_cn[64];
	uint64_t stamp;
	int used;
};

static pthread_mutex_t nvidia_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nvidia_chain nvidia_cache[NVIDIA_CACHE_MAX];
static uint64_t nvidia_cache_clock;

static int
nvidia_cache_get(const uint8_t key[32], struct nvidia_chain *out)
{
	size_t i;
	int hit = 0;

	pthread_mutex_lock(&nvidia_cache_lock);
	for (i = 0; i < NVIDIA_CACHE_MAX; i++) {
		struct nvidia_chain *e = &nvidia_cache[i];

		if (e->used && memcmp(e->key, key, 32) == 0) {
			e->stamp = ++nvidia_cache_clock;
			*out = *e;
			EVP_PKEY_up_ref(out->leaf);
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(&nvidia_cache_lock);
	return hit;
}

static void
nvidia_cache_put(const struct nvidia_chain *c)
{
	struct nvidia_chain *slot = &nvidia_cache[0];
	size_t i;

	pthread_mutex_lock(&nvidia_cache_lock);
	for (i = 0; i < NVIDIA_CACHE_MAX; i++) {
		struct nvidia_chain *e = &nvidia_cache[i];

		if (e->used && memcmp(e->key, c->key, 32) == 0) {
			slot = NULL;
			break;
		}
		if (!e->used || (slot->used && e->stamp < slot->stamp))
			slot = e;
	}
	if (slot != NULL) {
		if (slot->used)
			EVP_PKEY_free(slot->leaf);
		*slot = *c;
		EVP_PKEY_up_ref(slot->leaf);
		slot->used = 1;
		slot->stamp = ++nvidia_cache_clock;
	}
	pthread_mutex_unlock(&nvidia_cache_lock);
}

void
nvidia_cache_clear(void)
{
	size_t i;

	pthread_mutex_lock(&nvidia_cache_lock);
	for (i = 0; i < NVIDIA_CACHE_MAX; i++) {
		if (nvidia_cache[i].used)
			EVP_PKEY_free(nvidia_cache[i].leaf);
		memset(&nvidia_cache[i], 0, sizeof(nvidia_cache[i]));
	}
	pthread_mutex_unlock(&nvidia_cache_lock);
}

/* The PEM certificates of pem[0, len), leaf first (at most
 * NVIDIA_CHAIN_MAX). */
static STACK_OF(X509) *
nvidia_pem_chain(const uint8_t *pem, size_t len, struct error *err)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x;

	if (sk == NULL || bio == NULL) {
		error_set(err, "out of memory");
		goto fail;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(sk) == NVIDIA_CHAIN_MAX) {
			X509_free(x);
			error_set(err, "the certificate chain holds more than %d "
			    "certificates", NVIDIA_CHAIN_MAX);
			goto fail;
		}
		sk_X509_push(sk, x);
	}
	ERR_clear_error();
	if (sk_X509_num(sk) < 2) {
		error_set(err, "the certificate chain must hold the device "
		    "certificate and its issuers up to the NVIDIA Device "
		    "Identity CA (%d PEM certificate(s) found)",
		    sk_X509_num(sk));
		goto fail;
	}
	BIO_free(bio);
	return sk;
fail:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

/* Verify sk (leaf first) to the pinned root; fill c (without key). */
static int
nvidia_chain_verify(STACK_OF(X509) *sk, struct nvidia_chain *c,
    struct error *err)
{
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *leaf = sk_X509_value(sk, 0);
	EVP_PKEY *pk;
	char cn[64], group[32];
	size_t glen = 0;
	int64_t nb, na;
	int i, rc = -1;

	pthread_once(&nvidia_root_once, nvidia_root_load);
	if (nvidia_store == NULL)
		return error_set(err, "the pinned NVIDIA Device Identity CA "
		    "(%s) is not available in this build", NVIDIA_ROOT_PATH);
	c->not_before = INT64_MIN;
	c->not_after = INT64_MAX;
	if ((untrusted = sk_X509_new_null()) == NULL)
		return error_set(err, "out of memory");
	for (i = 0; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);

		nvidia_cn(x, cn, sizeof(cn));
		if (nvidia_time(X509_get0_notBefore(x), &nb) != 0 ||
		    nvidia_time(X509_get0_notAfter(x), &na) != 0) {
			error_set(err, "certificate \"%s\" has an unreadable "
			    "validity period", cn);
			goto out;
		}
		if (nb > c->not_before)
			c->not_before = nb;
		if (na < c->not_after)
			c->not_after = na;
		if (i > 0 && X509_check_issued(x, x) == X509_V_OK) {
			if (X509_cmp(x, nvidia_root) != 0) {
				error_set(err, "the root certificate \"%s\" of "
				    "the chain is not the pinned NVIDIA Device "
				    "Identity CA", cn);
				goto out;
			}
			continue;
		}
		if (i > 0)
			sk_X509_push(untrusted, x);
	}
	/* The pinned root's own window (the chain may leave it out). */
	if (nvidia_time(X509_get0_notBefore(nvidia_root), &nb) == 0 &&
	    nb > c->not_before)
		c->not_before = nb;
	if (nvidia_time(X509_get0_notAfter(nvidia_root), &na) == 0 &&
	    na < c->not_after)
		c->not_after = na;
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL || X509_STORE_CTX_init(ctx, nvidia_store, leaf,
	    untrusted) != 1) {
		error_set(err, "out of memory");
		goto out;
	}
	/* Times are checked at each verification from the cached window. */
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		int d = X509_STORE_CTX_get_error_depth(ctx);

		nvidia_cn(X509_STORE_CTX_get_current_cert(ctx), cn,
		    sizeof(cn));
		error_set(err, "the certificate chain does not verify to the "
		    "pinned NVIDIA Device Identity CA: %s (depth %d, \"%s\")",
		    X509_verify_cert_error_string(e), d, cn);
		goto out;
	}
	nvidia_cn(leaf, c->leaf_cn, sizeof(c->leaf_cn));
	pk = X509_get0_pubkey(leaf);
	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
	    EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) != 1 ||
	    strcmp(group, "secp384r1") != 0) {
		error_set(err, "the device certificate \"%s\" does not hold "
		    "an ECDSA P-384 key", c->leaf_cn);
		goto out;
	}
	if (nvidia_x509_fwid(leaf, c->fwid, err) != 0) {
		error_prefix(err, "device certificate \"%s\"", c->leaf_cn);
		goto out;
	}
	c->leaf = pk;
	EVP_PKEY_up_ref(pk);
	rc = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	return rc;
}

/* The verified chain of a device (cached): c->leaf is a new reference. */
static int
nvidia_chain(const struct nvidia_device *d, struct nvidia_chain *c,
    struct error *err)
{
	STACK_OF(X509) *sk;
	uint8_t *pem = NULL;
	size_t len = 0;
	unsigned int klen = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	/* Keyed by the text as sent (strict base64 decodes it to one chain):
	 * the warm path decodes nothing. */
	if (EVP_Digest(d->certificate, d->certificate_len, c->key, &klen,
	    EVP_sha256(), NULL) != 1)
		return error_set(err, "SHA-256 failed");
	if (nvidia_cache_get(c->key, c))
		return 0;
	if (b64_decode(d->certificate, d->certificate_len, B64_STD, &pem,
	    &len) != 0)
		return error_set(err, "`certificate` is not standard base64");
	sk = nvidia_pem_chain(pem, len, err);
	free(pem);
	if (sk == NULL)
		return -1;
	rc = nvidia_chain_verify(sk, c, err);
	sk_X509_pop_free(sk, X509_free);
	if (rc == 0)
		nvidia_cache_put(c);
	return rc;
}

/* ------------------------------------------------------------- report */

/* ECDSA P-384 raw r||s over SHA-384(msg): 1 valid, 0 invalid, -1 error. */
static int
nvidia_sig_verify(EVP_PKEY *pk, const uint8_t *msg, size_t len,
    const uint8_t sig[NVIDIA_SIG_LEN])
{
	uint8_t dgst[48], der[128], *p = der;
	unsigned int dlen = 0;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 48, NULL), *s = BN_bin2bn(sig + 48, 48,
	    NULL);
	EVP_PKEY_CTX *ctx = NULL;
	int derlen, rc = -1;

	if (es == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if (i2d_ECDSA_SIG(es, NULL) > (int)sizeof(der) ||
	    (derlen = i2d_ECDSA_SIG(es, &p)) <= 0)
		goto out;
	if (EVP_Digest(msg, len, dgst, &dlen, EVP_sha384(), NULL) != 1)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	rc = EVP_PKEY_verify(ctx, der, (size_t)derlen, dgst, dlen) == 1;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

static json_t *
nvidia_measurements(const struct spdm_measurements *m)
{
	json_t *j = json_object();
	unsigned i;

	for (i = 0; i < m->nblocks; i++) {
		char k[8];

		snprintf(k, sizeof(k), "%u", m->blocks[i].index);
		json_object_set_new(j, k, nvidia_hex(m->blocks[i].value,
		    m->blocks[i].value_len));
	}
	return j;
}

/* Verify one Hopper GPU; *claims on success. */
static int
nvidia_verify_hopper(const struct nvidia_device *d,
    const struct verifier_input *in, json_t **claims, struct error *err)
{
	struct spdm_measurements *m = xmalloc(sizeof(*m));
	struct nvidia_chain c;
	uint8_t *rep = NULL, fwid[NVIDIA_FWID_LEN], nonce[SPDM_NONCE_LEN];
	char a[TIME_RFC3339_LEN], b[TIME_RFC3339_LEN];
	char h1[2 * SPDM_NONCE_LEN + 1], h2[2 * SPDM_NONCE_LEN + 1];
	size_t len;
	json_t *config = NULL;
	int rc = -1, v;

	memset(&c, 0, sizeof(c));
	*claims = NULL;
	if (nvidia_decode_report(d->evidence, d->evidence_len, &rep, &len,
	    err) != 0 ||
	    spdm_parse_measurements(rep, len, NVIDIA_SIG_LEN, m, err) != 0 ||
	    nvidia_opaque_claims(m->opaque, m->opaque_len, &config, fwid,
	    err) != 0)
		goto out;
	if (nvidia_chain(d, &c, err) != 0)
		goto out;
	if (in->now < c.not_before || in->now > c.not_after) {
		time_format_rfc3339(in->now, b);
		time_format_rfc3339(in->now < c.not_before ? c.not_before :
		    c.not_after, a);
		error_set(err, "the device certificate chain is not valid at "
		    "the verification time %s (it is valid %s %s)", b,
		    in->now < c.not_before ? "from" : "until", a);
		goto out;
	}
	if (memcmp(fwid, c.fwid, NVIDIA_FWID_LEN) != 0) {
		error_set(err, "the report's FWID does not match the FWID "
		    "extension of the device certificate \"%s\"", c.leaf_cn);
		goto out;
	}
	v = nvidia_sig_verify(c.leaf, rep, m->signed_len, m->signature);
	if (v != 1) {
		error_set(err, v == 0 ? "the report signature does not verify "
		    "with the key of the device certificate \"%s\" (ECDSA "
		    "P-384 over SHA-384 of %zu bytes)" : "cannot check the "
		    "report signature with the key of \"%s\" (%zu bytes)",
		    c.leaf_cn, m->signed_len);
		goto out;
	}
	if (in->report_data == NULL) {
		error_set(err, "the expected report data is required: the "
		    "SPDM request nonce is compared with it");
		goto out;
	}
	verifier_regularize(in->report_data, in->report_data_len, nonce,
	    sizeof(nonce));
	if (!secret_equal(nonce, m->req_nonce, SPDM_NONCE_LEN)) {
		hex_encode(m->req_nonce, SPDM_NONCE_LEN, h1);
		hex_encode(nonce, SPDM_NONCE_LEN, h2);
		error_set(err, "report data mismatch: the SPDM request nonce "
		    "%s is not the expected report data regularized to 32 "
		    "bytes (%s)", h1, h2);
		goto out;
	}
	*claims = json_pack("{s:s, s:s, s:o, s:O}", "arch", d->arch_name,
	    "uuid", d->uuid, "measurements", nvidia_measurements(m), "config",
	    config);
	if (*claims == NULL) {
		error_set(err, "cannot build the claims (uuid not UTF-8?)");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(c.leaf);
	json_decref(config);
	free(rep);
	free(m);
	return rc;
}

static int
nvidia_verify_devices(const struct verifier_input *in,
    struct verifier_device *out, size_t cap, size_t *n, struct error *err)
{
	struct nvidia_device devs[VERIFIER_DEVICES_MAX];
	size_t i, count;

	*n = 0;
	if (cap > VERIFIER_DEVICES_MAX)
		cap = VERIFIER_DEVICES_MAX;
	if (nvidia_parse_evidence(in->evidence, devs, cap, &count, err) != 0)
		return -1;
	for (i = 0; i < count; i++) {
		out[i].tee_class = devs[i].tee_class;
		out[i].claims = NULL;
		out[i].reason[0] = '\0';
		if (devs[i].arch != NVIDIA_HOPPER) {
			snprintf(out[i].reason, sizeof(out[i].reason),
			    "NVIDIA %s evidence is not verifiable locally by "
			    "this build (local mode verifies Hopper GPUs only; "
			    "no remote NRAS mode)", devs[i].arch_name);
			continue;
		}
		if (nvidia_verify_hopper(&devs[i], in, &out[i].claims,
		    err) != 0) {
			verifier_devices_clear(out, i);
			error_prefix(err, "device_evidence_list[%zu] (%s)", i,
			    devs[i].arch_name);
			return -1;
		}
	}
	*n = count;
	return 0;
}

/* The single-device form: evidence describing one verifiable GPU. */
static int
nvidia_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	struct verifier_device out[VERIFIER_DEVICES_MAX];
	size_t n = 0;

	*claims = NULL;
	if (nvidia_verify_devices(in, out, VERIFIER_DEVICES_MAX, &n, err) != 0)
		return -1;
	if (n != 1 || out[0].claims == NULL) {
		if (n != 1)
			error_set(err, "the evidence describes %zu devices "
			    "(expected one here)", n);
		else
			error_set(err, "%s", out[0].reason);
		verifier_devices_clear(out, n);
		return -1;
	}
	*claims = out[0].claims;
	out[0].claims = NULL;
	return 0;
}

const struct verifier_backend verifier_nvidia = {
	.tee = "nvidia",
	.tee_class = "gpu",
	.verify = nvidia_verify,
	.verify_devices = nvidia_verify_devices,
};
