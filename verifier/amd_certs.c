/*
 * amd_certs.c: AMD SEV-SNP certificates (see amd_certs.h).
 *
 * Trust model: the only anchors are the ARK/ASK/ASVK of Milan, Genoa and
 * Turin compiled in from verifier/roots/amd/<line>/. They are loaded and
 * cross-checked once (ARK self-signed, ARK -> ASK, ARK -> ASVK, every
 * signature RSASSA-PSS SHA-384 / MGF1-SHA-384 / salt 48). A VCEK must be
 * signed by an ASK, a VLEK by an ASVK. Certificates from the evidence
 * are only ever checked against the pinned keys.
 *
 * Cache: a verified VEK (keyed by SHA-256 of its DER) keeps its public
 * key, product line, kind, AMD extensions and the validity windows of its
 * chain, so a warm verification needs no RSA work. Bounded (LRU), guarded
 * by one mutex held only for the lookup/insert itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "../lib/embedded.h"
#include "../lib/httpc.h"
#include "amd_certs.h"
#include "verifier.h"

#define AMD_CERT_MAX		(64 * 1024)	/* largest VEK file read */
#define AMD_CACHE_MAX		128		/* verified VEK chains */
#define AMD_KDS_CACHE_MAX	64		/* fetched KDS answers */
#define AMD_KDS_TIMEOUT_S	15

/* DER contents of the AMD OIDs: 1.3.6.1.4.1.3704.1.3.x and .1.4 */
static const uint8_t amd_oid_tcb[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x03,
};
static const uint8_t amd_oid_hwid[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x04,
};

/* ---- bounded DER readers for the extension values ---- */

int
amd_certs_ext_int(const uint8_t *p, size_t len, uint8_t *out,
    struct error *err)
{
	size_t clen, i;

	if (len < 3)
		return error_set(err, "extension value is %zu bytes, too short "
		    "for a DER INTEGER", len);
	if (p[0] != 0x02)
		return error_set(err, "extension value is not a DER INTEGER "
		    "(tag 0x%02x)", p[0]);
	if (p[1] & 0x80)
		return error_set(err, "DER INTEGER uses a long-form length "
		    "(0x%02x) for a small value", p[1]);
	clen = p[1];
	if (clen == 0 || clen != len - 2)
		return error_set(err, "DER INTEGER length %zu does not match "
		    "the %zu content bytes", clen, len - 2);
	if (p[2] & 0x80)
		return error_set(err, "DER INTEGER is negative");
	for (i = 2; i + 1 < len && p[i] == 0; i++)
		;
	if (len - i > 1)
		return error_set(err, "DER INTEGER exceeds 255");
	*out = p[i];
	return 0;
}

int
amd_certs_ext_hwid(const uint8_t *p, size_t len, uint8_t out[64],
    size_t *outlen, struct error *err)
{
	if (len >= 2 && p[0] == 0x04 && p[1] == len - 2 &&
	    (len - 2 == 64 || len - 2 == 8)) {
		memcpy(out, p + 2, len - 2);
		*outlen = len - 2;
		return 0;
	}
	if (len == 64 || len == 8) {
		memcpy(out, p, len);
		*outlen = len;
		return 0;
	}
	return error_set(err, "hwID extension is %zu bytes: expected 64 (or "
	    "8) raw bytes or a DER OCTET STRING of them", len);
}

/* Parse DER or PEM into an X509; DER must be consumed exactly. */
static X509 *
amd_certs_load(const uint8_t *buf, size_t len, const char *what,
    struct error *err)
{
	X509 *x = NULL;

	if (len == 0 || len > AMD_CERT_MAX) {
		error_set(err, "%s certificate: %zu bytes", what, len);
		return NULL;
	}
	if (len > 11 && memcmp(buf, "-----BEGIN ", 11) == 0) {
		BIO *b = BIO_new_mem_buf(buf, (int)len);

		if (b != NULL)
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		const unsigned char *q = buf;

		x = d2i_X509(NULL, &q, (long)len);
		if (x != NULL && q != buf + len) {
			X509_free(x);
			ERR_clear_error();
			error_set(err, "%s certificate: %zu trailing bytes after "
			    "the DER certificate", what, (size_t)(buf + len - q));
			return NULL;
		}
	}
	if (x == NULL) {
		ERR_clear_error();
		error_set(err, "%s certificate: not a DER or PEM X.509 "
		    "certificate", what);
	}
	return x;
}

int
amd_certs_vek_ext(const uint8_t *cert, size_t len, struct amd_vek_ext *out,
    struct error *err)
{
	X509 *x;
	int i, n, rc = -1;

	memset(out, 0, sizeof(*out));
	if ((x = amd_certs_load(cert, len, "VEK", err)) == NULL)
		return -1;
	n = X509_get_ext_count(x);
	for (i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		const ASN1_OBJECT *o = X509_EXTENSION_get_object(e);
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
		const unsigned char *od = OBJ_get0_data(o);
		size_t ol = OBJ_length(o);
		const uint8_t *vd;
		size_t vl;
		uint8_t *dst = NULL;
		int *has = NULL;
		const char *name = NULL;

		if (od == NULL || v == NULL)
			continue;
		vd = ASN1_STRING_get0_data(v);
		vl = (size_t)ASN1_STRING_length(v);
		if (ol == sizeof(amd_oid_hwid) &&
		    memcmp(od, amd_oid_hwid, ol) == 0) {
			if (out->hwid_len != 0) {
				error_set(err, "VEK certificate has two hwID "
				    "extensions");
				goto out;
			}
			if (amd_certs_ext_hwid(vd, vl, out->hwid,
			    &out->hwid_len, err) < 0) {
				error_prefix(err, "VEK certificate");
				goto out;
			}
			continue;
		}
		if (ol != sizeof(amd_oid_tcb) + 1 ||
		    memcmp(od, amd_oid_tcb, sizeof(amd_oid_tcb)) != 0)
			continue;
		switch (od[sizeof(amd_oid_tcb)]) {
		case 1: dst = &out->bl; has = &out->has_bl; name = "blSPL"; break;
		case 2: dst = &out->tee; has = &out->has_tee; name = "teeSPL"; break;
		case 3: dst = &out->snp; has = &out->has_snp; name = "snpSPL"; break;
		case 8: dst = &out->ucode; has = &out->has_ucode; name = "ucodeSPL"; break;
		case 9: dst = &out->fmc; has = &out->has_fmc; name = "fmcSPL"; break;
		default: continue;
		}
		if (*has) {
			error_set(err, "VEK certificate has two %s extensions",
			    name);
			goto out;
		}
		if (amd_certs_ext_int(vd, vl, dst, err) < 0) {
			error_prefix(err, "VEK certificate %s extension", name);
			goto out;
		}
		*has = 1;
	}
	rc = 0;
out:
	X509_free(x);
	return rc;
}

/* ---- pinned roots ---- */

struct amd_window {
	int64_t nb, na;
};

struct amd_line {
	const char *dir;		/* roots/amd/<dir> */
	const char *name;		/* "Milan" */
	X509 *ark, *ask, *asvk;
	EVP_PKEY *ark_pk, *ask_pk, *asvk_pk;	/* borrowed from the certs */
	uint8_t *ark_der, *ask_der, *asvk_der;
	int ark_der_len, ask_der_len, asvk_der_len;
	struct amd_window ark_w, ask_w, asvk_w;
	char error[sizeof(((struct error *)0)->msg)];	/* non-empty: unusable */
};

static struct amd_line amd_lines[] = {
	[SNP_PRODUCT_MILAN] = { .dir = "milan", .name = "Milan" },
	[SNP_PRODUCT_GENOA] = { .dir = "genoa", .name = "Genoa" },
	[SNP_PRODUCT_TURIN] = { .dir = "turin", .name = "Turin" },
};
static pthread_once_t amd_lines_once = PTHREAD_ONCE_INIT;

static int
amd_certs_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int
amd_certs_window(const X509 *x, struct amd_window *w, const char *what,
    struct error *err)
{
	if (amd_certs_time(X509_get0_notBefore(x), &w->nb) < 0 ||
	    amd_certs_time(X509_get0_notAfter(x), &w->na) < 0)
		return error_set(err, "%s certificate: unreadable validity "
		    "dates", what);
	return 0;
}

/* The signature algorithm must be RSASSA-PSS, SHA-384, MGF1-SHA-384,
 * salt 48. */
static int
amd_certs_check_pss(const X509 *x, const char *what, struct error *err)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	const ASN1_STRING *seq;
	const unsigned char *q;
	RSA_PSS_PARAMS *pss;
	X509_ALGOR *mgf_hash = NULL;
	int ptype = 0, ok = 0;
	long salt = -1;

	X509_get0_signature(NULL, &alg, x);
	if (alg == NULL)
		return error_set(err, "%s certificate has no signature "
		    "algorithm", what);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	if (OBJ_obj2nid(obj) != NID_rsassaPss)
		return error_set(err, "%s certificate is signed with %s, "
		    "expected RSASSA-PSS", what, OBJ_nid2sn(OBJ_obj2nid(obj)));
	if (ptype != V_ASN1_SEQUENCE || pval == NULL)
		return error_set(err, "%s certificate: RSASSA-PSS without "
		    "parameters", what);
	seq = pval;
	q = ASN1_STRING_get0_data(seq);
	pss = d2i_RSA_PSS_PARAMS(NULL, &q, ASN1_STRING_length(seq));
	if (pss == NULL) {
		ERR_clear_error();
		return error_set(err, "%s certificate: malformed RSASSA-PSS "
		    "parameters", what);
	}
	if (pss->saltLength != NULL)
		salt = ASN1_INTEGER_get(pss->saltLength);
	/* MGF1's parameter is the AlgorithmIdentifier of its hash */
	if (pss->maskGenAlgorithm != NULL &&
	    OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) == NID_mgf1 &&
	    pss->maskGenAlgorithm->parameter != NULL &&
	    pss->maskGenAlgorithm->parameter->type == V_ASN1_SEQUENCE) {
		const ASN1_STRING *ms =
		    pss->maskGenAlgorithm->parameter->value.sequence;

		q = ASN1_STRING_get0_data(ms);
		mgf_hash = d2i_X509_ALGOR(NULL, &q, ASN1_STRING_length(ms));
	}
	if (pss->hashAlgorithm != NULL && mgf_hash != NULL &&
	    OBJ_obj2nid(pss->hashAlgorithm->algorithm) == NID_sha384 &&
	    OBJ_obj2nid(mgf_hash->algorithm) == NID_sha384 && salt == 48)
		ok = 1;
	X509_ALGOR_free(mgf_hash);
	ERR_clear_error();
	RSA_PSS_PARAMS_free(pss);
	if (!ok)
		return error_set(err, "%s certificate: RSASSA-PSS parameters "
		    "are not SHA-384 / MGF1-SHA-384 / salt 48", what);
	return 0;
}

/* Verify x's signature under key (PSS parameters checked first). */
static int
amd_certs_check_sig(X509 *x, EVP_PKEY *key, const char *what,
    const char *signer, struct error *err)
{
	if (amd_certs_check_pss(x, what, err) < 0)
		return -1;
	if (X509_verify(x, key) != 1) {
		ERR_clear_error();
		return error_set(err, "%s certificate signature does not "
		    "verify under the %s key", what, signer);
	}
	return 0;
}

static int
amd_certs_pin(struct amd_line *l, const char *file, X509 **x, EVP_PKEY **pk,
    uint8_t **der, int *der_len, struct amd_window *w, struct error *err)
{
	char path[128];
	const unsigned char *pem;
	size_t len;

	snprintf(path, sizeof(path), "verifier/roots/amd/%s/%s", l->dir, file);
	if ((pem = embedded_get(path, &len)) == NULL)
		return error_set(err, "%s is not compiled in", path);
	if ((*x = amd_certs_load(pem, len, path, err)) == NULL)
		return -1;
	if ((*pk = X509_get0_pubkey(*x)) == NULL ||
	    EVP_PKEY_get_base_id(*pk) != EVP_PKEY_RSA)
		return error_set(err, "%s: not an RSA key", path);
	*der = NULL;
	if ((*der_len = i2d_X509(*x, der)) <= 0)
		return error_set(err, "%s: cannot re-encode", path);
	return amd_certs_window(*x, w, path, err);
}

static void
amd_certs_load_line(struct amd_line *l)
{
	struct error err = { { 0 } };
	char what[64];

	if (amd_certs_pin(l, "ark.pem", &l->ark, &l->ark_pk, &l->ark_der,
	    &l->ark_der_len, &l->ark_w, &err) < 0 ||
	    amd_certs_pin(l, "ask.pem", &l->ask, &l->ask_pk, &l->ask_der,
	    &l->ask_der_len, &l->ask_w, &err) < 0 ||
	    amd_certs_pin(l, "asvk.pem", &l->asvk, &l->asvk_pk, &l->asvk_der,
	    &l->asvk_der_len, &l->asvk_w, &err) < 0)
		goto fail;
	snprintf(what, sizeof(what), "pinned ARK-%s", l->name);
	if (amd_certs_check_sig(l->ark, l->ark_pk, what, "its own", &err) < 0)
		goto fail;
	snprintf(what, sizeof(what), "pinned ASK-%s", l->name);
	if (amd_certs_check_sig(l->ask, l->ark_pk, what, "ARK", &err) < 0)
		goto fail;
	snprintf(what, sizeof(what), "pinned ASVK-%s", l->name);
	if (amd_certs_check_sig(l->asvk, l->ark_pk, what, "ARK", &err) < 0)
		goto fail;
	return;
fail:
	snprintf(l->error, sizeof(l->error), "%s", err.msg);
}

static void
amd_certs_init(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(amd_lines); i++)
		if (amd_lines[i].dir != NULL)
			amd_certs_load_line(&amd_lines[i]);
}

static const struct amd_line *
amd_certs_line(enum snp_product p, struct error *err)
{
	const struct amd_line *l;

	pthread_once(&amd_lines_once, amd_certs_init);
	if ((size_t)p >= ARRAY_SIZE(amd_lines) || amd_lines[p].dir == NULL) {
		error_set(err, "no pinned AMD roots for product %d", (int)p);
		return NULL;
	}
	l = &amd_lines[p];
	if (l->error[0] != '\0') {
		error_set(err, "pinned AMD roots for %s unusable: %s", l->name,
		    l->error);
		return NULL;
	}
	return l;
}

/* ---- the cache of verified VEKs ---- */

struct amd_cache_entry {
	int used;
	uint64_t stamp;
	uint8_t key[SHA256_DIGEST_LENGTH];
	struct amd_vek vek;
};

static pthread_mutex_t amd_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct amd_cache_entry amd_cache[AMD_CACHE_MAX];
static uint64_t amd_cache_clock;

void
amd_vek_clear(struct amd_vek *v)
{
	EVP_PKEY_free(v->pkey);
	memset(v, 0, sizeof(*v));
}

static int
amd_cache_get(const uint8_t key[SHA256_DIGEST_LENGTH], struct amd_vek *out)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&amd_cache_lock);
	for (i = 0; i < AMD_CACHE_MAX; i++) {
		struct amd_cache_entry *e = &amd_cache[i];

		if (e->used && memcmp(e->key, key, SHA256_DIGEST_LENGTH) == 0) {
			*out = e->vek;
			EVP_PKEY_up_ref(out->pkey);
			e->stamp = ++amd_cache_clock;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&amd_cache_lock);
	return found;
}

static void
amd_cache_put(const uint8_t key[SHA256_DIGEST_LENGTH],
    const struct amd_vek *v)
{
	struct amd_cache_entry *slot = NULL;
	EVP_PKEY *old = NULL;
	size_t i;

	pthread_mutex_lock(&amd_cache_lock);
	for (i = 0; i < AMD_CACHE_MAX; i++) {
		struct amd_cache_entry *e = &amd_cache[i];

		if (e->used && memcmp(e->key, key, SHA256_DIGEST_LENGTH) == 0) {
			slot = NULL;	/* another thread was first */
			goto out;
		}
		if (!e->used) {
			if (slot == NULL || slot->used)
				slot = e;
		} else if (slot == NULL ||
		    (slot->used && e->stamp < slot->stamp)) {
			slot = e;
		}
	}
	if (slot != NULL) {
		if (slot->used)
			old = slot->vek.pkey;
		slot->used = 1;
		slot->stamp = ++amd_cache_clock;
		memcpy(slot->key, key, SHA256_DIGEST_LENGTH);
		slot->vek = *v;
		EVP_PKEY_up_ref(slot->vek.pkey);
	}
out:
	pthread_mutex_unlock(&amd_cache_lock);
	EVP_PKEY_free(old);
}

void
amd_certs_cache_clear(void)
{
	size_t i;

	pthread_mutex_lock(&amd_cache_lock);
	for (i = 0; i < AMD_CACHE_MAX; i++) {
		if (amd_cache[i].used)
			EVP_PKEY_free(amd_cache[i].vek.pkey);
		memset(&amd_cache[i], 0, sizeof(amd_cache[i]));
	}
	pthread_mutex_unlock(&amd_cache_lock);
}

/* ---- chain verification ---- */

static void
amd_window_meet(struct amd_vek *v, const struct amd_window *w)
{
	if (w->nb > v->not_before)
		v->not_before = w->nb;
	if (w->na < v->not_after)
		v->not_after = w->na;
}

/* An ARK from the evidence must be the pinned one or verify under it. */
static int
amd_certs_check_ark(const struct amd_line *l, const uint8_t *ark,
    size_t ark_len, struct error *err)
{
	X509 *x;
	EVP_PKEY *pk;
	char what[64];
	int rc;

	if (ark_len == (size_t)l->ark_der_len &&
	    memcmp(ark, l->ark_der, ark_len) == 0)
		return 0;
	snprintf(what, sizeof(what), "evidence ARK (%s)", l->name);
	if ((x = amd_certs_load(ark, ark_len, "evidence ARK", err)) == NULL)
		return -1;
	rc = amd_certs_check_sig(x, l->ark_pk, what, "pinned ARK", err);
	pk = X509_get0_pubkey(x);
	if (rc == 0 && (pk == NULL || EVP_PKEY_eq(pk, l->ark_pk) != 1))
		rc = error_set(err, "evidence ARK key differs from the pinned "
		    "ARK-%s key", l->name);
	X509_free(x);
	return rc;
}

static const char *
amd_kind_name(enum snp_signing_key k)
{
	return k == SNP_SIGNING_VLEK ? "VLEK" : "VCEK";
}

/* A short description of a certificate's issuer CN for error messages. */
static void
amd_certs_issuer_cn(X509 *x, char *out, size_t cap)
{
	X509_NAME *n = X509_get_issuer_name(x);
	int i = n == NULL ? -1 : X509_NAME_get_index_by_NID(n, NID_commonName,
	    -1);
	ASN1_STRING *s;

	snprintf(out, cap, "?");
	if (i < 0)
		return;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
	if (s != NULL)
		snprintf(out, cap, "%.*s", ASN1_STRING_length(s) > 64 ? 64 :
		    ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
}

/*
 * Try to anchor VEK x in line p, with an optional evidence ASK already
 * verified by the caller (ask_x, ask_w), else the pinned ASK and ASVK.
 * Returns 1 anchored (out filled), 0 not signed by this line, -1 error.
 */
static int
amd_certs_try_line(X509 *x, enum snp_product p, X509 *ask_x,
    const struct amd_window *ask_w, struct amd_vek *out, struct error *err)
{
	const struct amd_line *l = amd_certs_line(p, err);
	struct amd_window vw;

	if (l == NULL)
		return -1;
	if (amd_certs_window(x, &vw, "VEK", err) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->product = p;
	out->not_before = INT64_MIN;
	out->not_after = INT64_MAX;
	if (ask_x != NULL) {
		if (X509_verify(x, X509_get0_pubkey(ask_x)) != 1) {
			ERR_clear_error();
			return 0;
		}
		out->kind = EVP_PKEY_eq(X509_get0_pubkey(ask_x),
		    l->asvk_pk) == 1 ? SNP_SIGNING_VLEK : SNP_SIGNING_VCEK;
		amd_window_meet(out, ask_w);
	} else if (X509_verify(x, l->ask_pk) == 1) {
		out->kind = SNP_SIGNING_VCEK;
		amd_window_meet(out, &l->ask_w);
	} else if (ERR_clear_error(), X509_verify(x, l->asvk_pk) == 1) {
		out->kind = SNP_SIGNING_VLEK;
		amd_window_meet(out, &l->asvk_w);
	} else {
		ERR_clear_error();
		return 0;
	}
	if (amd_certs_check_pss(x, amd_kind_name(out->kind), err) < 0)
		return -1;
	amd_window_meet(out, &l->ark_w);
	amd_window_meet(out, &vw);
	return 1;
}

int
amd_certs_vek_verify(const uint8_t *vek, size_t vek_len, const uint8_t *ask,
    size_t ask_len, const uint8_t *ark, size_t ark_len,
    enum snp_product want, struct amd_vek *out, struct error *err)
{
	uint8_t key[SHA256_DIGEST_LENGTH];
	uint8_t *der = NULL;
	X509 *x = NULL, *ask_x = NULL;
	struct amd_window ask_w = { 0, 0 };
	enum snp_product p, ask_line = SNP_PRODUCT_UNKNOWN;
	int der_len, rc = -1, cacheable = 1, found = 0;
	const char *pkname;
	EVP_PKEY *pk;
	char cn[80];

	memset(out, 0, sizeof(*out));
	if (vek_len > 11 && memcmp(vek, "-----BEGIN ", 11) == 0) {
		if ((x = amd_certs_load(vek, vek_len, "VEK", err)) == NULL)
			return -1;
		if ((der_len = i2d_X509(x, &der)) <= 0) {
			ERR_clear_error();
			error_set(err, "VEK certificate cannot be re-encoded");
			goto out;
		}
		SHA256(der, (size_t)der_len, key);
	} else {
		/* DER: the cache key needs no parsing (the warm path) */
		SHA256(vek, vek_len, key);
	}

	/* An evidence ASK: the pinned one (cacheable) or one that the pinned
	 * ARK of some line signed (used as given, not cached). */
	if (ask != NULL && ask_len > 0) {
		for (p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN; p++) {
			const struct amd_line *l = amd_certs_line(p, err);

			if (l == NULL)
				goto out;
			if ((ask_len == (size_t)l->ask_der_len &&
			    memcmp(ask, l->ask_der, ask_len) == 0) ||
			    (ask_len == (size_t)l->asvk_der_len &&
			    memcmp(ask, l->asvk_der, ask_len) == 0)) {
				ask_line = p;
				break;
			}
		}
		if (ask_line == SNP_PRODUCT_UNKNOWN) {
			cacheable = 0;
			if ((ask_x = amd_certs_load(ask, ask_len,
			    "evidence ASK", err)) == NULL)
				goto out;
			for (p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN;
			    p++) {
				const struct amd_line *l = amd_certs_line(p,
				    err);

				if (l == NULL)
					goto out;
				if (X509_verify(ask_x, l->ark_pk) == 1) {
					ask_line = p;
					break;
				}
				ERR_clear_error();
			}
			if (ask_line == SNP_PRODUCT_UNKNOWN) {
				amd_certs_issuer_cn(ask_x, cn, sizeof(cn));
				error_set(err, "evidence ASK (issuer CN %s) is "
				    "not signed by any pinned AMD ARK", cn);
				goto out;
			}
			if (amd_certs_check_pss(ask_x, "evidence ASK", err) < 0 ||
			    amd_certs_window(ask_x, &ask_w, "evidence ASK",
			    err) < 0)
				goto out;
		}
		if (want != SNP_PRODUCT_UNKNOWN && ask_line != want) {
			error_set(err, "evidence ASK belongs to %s, but the "
			    "report is from a %s processor",
			    amd_lines[ask_line].name, amd_lines[want].name);
			goto out;
		}
	}
	if (ark != NULL && ark_len > 0) {
		enum snp_product lp = ask_line != SNP_PRODUCT_UNKNOWN ?
		    ask_line : want;
		const struct amd_line *l;

		if (lp == SNP_PRODUCT_UNKNOWN) {
				/* find the line by identity of the ARK */
			for (p = SNP_PRODUCT_MILAN; p <= SNP_PRODUCT_TURIN; p++) {
				if ((l = amd_certs_line(p, err)) == NULL)
					goto out;
				if (ark_len == (size_t)l->ark_der_len &&
				    memcmp(ark, l->ark_der, ark_len) == 0)
					lp = p;
			}
		}
		if (lp == SNP_PRODUCT_UNKNOWN) {
			error_set(err, "evidence ARK is not one of the pinned "
			    "AMD ARKs");
			goto out;
		}
		if ((l = amd_certs_line(lp, err)) == NULL ||
		    amd_certs_check_ark(l, ark, ark_len, err) < 0)
			goto out;
	}

	if (cacheable && amd_cache_get(key, out)) {
		found = 1;
	} else {
		enum snp_product from = SNP_PRODUCT_MILAN, to = SNP_PRODUCT_TURIN;
		int r;

		if (x == NULL) {
			if ((x = amd_certs_load(vek, vek_len, "VEK", err)) ==
			    NULL)
				goto out;
			der_len = (int)vek_len;
			if ((der = OPENSSL_malloc(vek_len)) == NULL) {
				error_set(err, "out of memory");
				goto out;
			}
			memcpy(der, vek, vek_len);
		}
		if (ask_line != SNP_PRODUCT_UNKNOWN)
			from = to = ask_line;
		else if (want != SNP_PRODUCT_UNKNOWN)
			from = to = want;
		pk = X509_get0_pubkey(x);
		pkname = pk != NULL ? EVP_PKEY_get0_type_name(pk) : NULL;
		if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_EC ||
		    EVP_PKEY_get_bits(pk) != 384) {
			ERR_clear_error();
			error_set(err, "VEK certificate key is %s, expected "
			    "EC P-384", pkname != NULL ? pkname : "unreadable");
			goto out;
		}
		for (p = from; p <= to; p++) {
			r = amd_certs_try_line(x, p, ask_x, &ask_w, out, err);
			if (r < 0)
				goto out;
			if (r > 0) {
				found = 1;
				break;
			}
		}
		if (!found) {
			amd_certs_issuer_cn(x, cn, sizeof(cn));
			if (from == to)
				error_set(err, "VEK certificate (issuer CN %s) "
				    "is not signed by the pinned ASK/ASVK of "
				    "%s", cn, amd_lines[from].name);
			else
				error_set(err, "VEK certificate (issuer CN %s) "
				    "is not signed by any pinned AMD ASK/ASVK",
				    cn);
			goto out;
		}
		if (amd_certs_vek_ext(der, (size_t)der_len, &out->ext, err) < 0)
			goto out;
		if ((out->pkey = X509_get_pubkey(x)) == NULL) {
			error_set(err, "VEK certificate key unreadable");
			goto out;
		}
		if (cacheable)
			amd_cache_put(key, out);
	}
	if (ask_line != SNP_PRODUCT_UNKNOWN && out->product != ask_line) {
		error_set(err, "%s certificate chains to %s, but the evidence "
		    "ASK belongs to %s", amd_kind_name(out->kind),
		    amd_lines[out->product].name, amd_lines[ask_line].name);
		goto out;
	}
	if (want != SNP_PRODUCT_UNKNOWN && out->product != want) {
		error_set(err, "%s certificate chains to %s, but the report is "
		    "from a %s processor", amd_kind_name(out->kind),
		    amd_lines[out->product].name, amd_lines[want].name);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		amd_vek_clear(out);
	OPENSSL_free(der);
	X509_free(ask_x);
	X509_free(x);
	return rc;
}

/* ---- finding a VCEK ---- */

struct amd_kds_entry {
	char *url;
	uint8_t *der;
	size_t len;
	uint64_t stamp;
};

static pthread_mutex_t amd_kds_lock = PTHREAD_MUTEX_INITIALIZER;
static struct amd_kds_entry amd_kds_cache[AMD_KDS_CACHE_MAX];
static uint64_t amd_kds_clock;

static int
amd_kds_cache_get(const char *url, uint8_t **der, size_t *len)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&amd_kds_lock);
	for (i = 0; i < AMD_KDS_CACHE_MAX; i++) {
		struct amd_kds_entry *e = &amd_kds_cache[i];

		if (e->url != NULL && strcmp(e->url, url) == 0) {
			*der = xmalloc(e->len);
			memcpy(*der, e->der, e->len);
			*len = e->len;
			e->stamp = ++amd_kds_clock;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&amd_kds_lock);
	return found;
}

static void
amd_kds_cache_put(const char *url, const uint8_t *der, size_t len)
{
	struct amd_kds_entry *slot = &amd_kds_cache[0];
	size_t i;

	pthread_mutex_lock(&amd_kds_lock);
	for (i = 0; i < AMD_KDS_CACHE_MAX; i++) {
		struct amd_kds_entry *e = &amd_kds_cache[i];

		if (e->url == NULL) {
			slot = e;
			break;
		}
		if (e->stamp < slot->stamp)
			slot = e;
	}
	free(slot->url);
	free(slot->der);
	slot->url = xstrdup(url);
	slot->der = xmalloc(len);
	memcpy(slot->der, der, len);
	slot->len = len;
	slot->stamp = ++amd_kds_clock;
	pthread_mutex_unlock(&amd_kds_lock);
}

static int
amd_certs_hwid(const struct snp_report *r, char hwid[129], struct error *err)
{
	static const uint8_t zero[64];
	size_t n = r->product == SNP_PRODUCT_TURIN ? 8 : 64;

	if (memcmp(r->chip_id, zero, sizeof(zero)) == 0)
		return error_set(err, "no VCEK: CHIP_ID is masked (all zero), "
		    "so none can be looked up by hwID; supply the VCEK");
	hex_encode(r->chip_id, n, hwid);
	return 0;
}

static int
amd_certs_kds(const char *base, const struct snp_report *r,
    enum snp_product p, const char *hwid, uint8_t **der, size_t *der_len,
    struct error *err)
{
	const struct snp_tcb *t = &r->reported_tcb;
	struct httpc_response resp;
	struct httpc *c;
	char path[512], fmc[24] = "";
	char *url;
	int rc = -1;

	if (p == SNP_PRODUCT_TURIN)
		snprintf(fmc, sizeof(fmc), "fmcSPL=%02d&", t->fmc);
	snprintf(path, sizeof(path), "/vcek/v1/%s/%s?%sblSPL=%02d&teeSPL=%02d"
	    "&snpSPL=%02d&ucodeSPL=%02d", snp_product_name(p), hwid, fmc,
	    t->bootloader, t->tee, t->snp, t->microcode);
	url = xasprintf("%s%s", base, path);
	if (amd_kds_cache_get(url, der, der_len)) {
		free(url);
		return 0;
	}
	memset(&resp, 0, sizeof(resp));
	if ((c = httpc_new(base, NULL, AMD_KDS_TIMEOUT_S, err)) == NULL) {
		error_prefix(err, "AMD KDS %s", base);
		goto out;
	}
	if (httpc_request(c, "GET", path, NULL, NULL, 0, &resp, err) < 0) {
		error_prefix(err, "AMD KDS GET %s", url);
		goto out;
	}
	if (resp.status != 200) {
		error_set(err, "AMD KDS GET %s: HTTP status %d", url,
		    resp.status);
		goto out;
	}
	if (resp.body.len == 0 || resp.body.len > AMD_CERT_MAX) {
		error_set(err, "AMD KDS GET %s: %zu-byte body", url,
		    resp.body.len);
		goto out;
	}
	*der = xmalloc(resp.body.len);
	memcpy(*der, resp.body.data, resp.body.len);
	*der_len = resp.body.len;
	amd_kds_cache_put(url, *der, *der_len);
	rc = 0;
out:
	httpc_response_clear(&resp);
	httpc_free(c);
	free(url);
	return rc;
}

int
amd_certs_find_vek(const struct snp_report *r, uint8_t **der,
    size_t *der_len, struct error *err)
{
	const struct verifier_config *cfg = verifier_get_config();
	const struct snp_tcb *t = &r->reported_tcb;
	char hwid[129], fmc[16] = "";
	char *path;
	struct error e2;

	*der = NULL;
	*der_len = 0;
	if (cfg->snp_vek_file != NULL && cfg->snp_vek_file[0] != '\0') {
		if (file_read_all(cfg->snp_vek_file, AMD_CERT_MAX, der,
		    der_len, err) < 0)
			return error_prefix(err, "snp_vek_file");
		return 0;
	}
	if (SNP_KEY_INFO_SIGNING_KEY(r->key_info) == SNP_SIGNING_VLEK)
		return error_set(err, "no VLEK: the evidence carries no "
		    "certificate and no snp_vek_file is configured (VLEKs "
		    "are not looked up in the cert cache or KDS)");
	if ((cfg->snp_cert_cache == NULL || cfg->snp_cert_cache[0] == '\0') &&
	    (cfg->snp_kds_url == NULL || cfg->snp_kds_url[0] == '\0'))
		return error_set(err, "no VCEK: the evidence carries no "
		    "certificate and no cert cache/KDS is configured");
	if (amd_certs_hwid(r, hwid, err) < 0)
		return -1;
	if (cfg->snp_cert_cache != NULL && cfg->snp_cert_cache[0] != '\0') {
		if (r->product == SNP_PRODUCT_TURIN)
			snprintf(fmc, sizeof(fmc), "_fmc%02d", t->fmc);
		path = xasprintf("%s/vcek/%s/bl%02d_tee%02d_snp%02d_ucode%02d"
		    "%s_vcek.der", cfg->snp_cert_cache, hwid, t->bootloader,
		    t->tee, t->snp, t->microcode, fmc);
		if (file_read_all(path, AMD_CERT_MAX, der, der_len, &e2) == 0) {
			free(path);
			return 0;
		}
		free(path);
		path = xasprintf("%s/vcek/%s/vcek.der", cfg->snp_cert_cache,
		    hwid);
		if (file_read_all(path, AMD_CERT_MAX, der, der_len, &e2) == 0) {
			free(path);
			return 0;
		}
		if (cfg->snp_kds_url == NULL || cfg->snp_kds_url[0] == '\0') {
			error_set(err, "no VCEK: the evidence carries no "
			    "certificate, the cert cache has none for hwID "
			    "%.16s... TCB bl%02d tee%02d snp%02d ucode%02d "
			    "(nor %s), and no KDS is configured", hwid,
			    t->bootloader, t->tee, t->snp, t->microcode, path);
			free(path);
			return -1;
		}
		free(path);
	}
	if (r->product != SNP_PRODUCT_UNKNOWN)
		return amd_certs_kds(cfg->snp_kds_url, r, r->product, hwid,
		    der, der_len, err);
	/* a v2 report does not say its product line: ask for each */
	if (amd_certs_kds(cfg->snp_kds_url, r, SNP_PRODUCT_MILAN, hwid, der,
	    der_len, &e2) == 0)
		return 0;
	if (amd_certs_kds(cfg->snp_kds_url, r, SNP_PRODUCT_GENOA, hwid, der,
	    der_len, err) == 0)
		return 0;
	return error_prefix(err, "as Milan: %s; as Genoa", e2.msg);
}
