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
 * This file: the pinned roots and the chain verification. Certificates
 * are read in amd_certs_ext.c, verified chains cached in
 * amd_certs_cache.c, missing VCEKs found in amd_certs_find.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "../lib/embedded.h"
#include "amd_certs_internal.h"

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
	int der_len = 0, rc = -1, cacheable = 1, found = 0;
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

	if (cacheable && amd_certs_cache_get(key, out)) {
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
			amd_certs_cache_put(key, out);
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
