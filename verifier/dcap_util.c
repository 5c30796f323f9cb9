/*
 * dcap_util.c: small OpenSSL helpers shared by the DCAP code: raw ECDSA
 * P-256 signatures, raw public keys, the pinned Intel root, strict PEM
 * chains, ASN.1 times.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../lib/b64.h"
#include "../lib/embedded.h"
#include "dcap_internal.h"

#define DCAP_ROOT_PATH "verifier/roots/intel/intel_sgx_root_ca.pem"

static pthread_once_t dcap_md_once = PTHREAD_ONCE_INIT;
static EVP_MD *dcap_md_sha256;

static void
dcap_md_init(void)
{
	dcap_md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

int
dcap_sha256(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[32])
{
	EVP_MD_CTX *md;
	unsigned int n = 0;
	int ok;

	pthread_once(&dcap_md_once, dcap_md_init);
	if (dcap_md_sha256 == NULL || (md = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(md, dcap_md_sha256, NULL) == 1 &&
	    EVP_DigestUpdate(md, a, alen) == 1 &&
	    (blen == 0 || EVP_DigestUpdate(md, b, blen) == 1) &&
	    EVP_DigestFinal_ex(md, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

int
dcap_ecdsa_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t len,
    const uint8_t sig[64])
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char der[80], *p = der;
	uint8_t dgst[32];
	int derlen, rc = -1;
	EVP_PKEY_CTX *ctx = NULL;

	if (pkey == NULL || dcap_sha256(msg, len, NULL, 0, dgst) != 0)
		return -1;
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	es = ECDSA_SIG_new();
	if (r == NULL || s == NULL || es == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL;
	if (i2d_ECDSA_SIG(es, NULL) > (int)sizeof(der))
		goto out;
	derlen = i2d_ECDSA_SIG(es, &p);
	if (derlen <= 0)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (ctx == NULL || EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	rc = EVP_PKEY_verify(ctx, der, (size_t)derlen, dgst, sizeof(dgst)) == 1 ?
	    1 : 0;
out:
	EVP_PKEY_CTX_free(ctx);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

EVP_PKEY *
dcap_p256_from_raw(const uint8_t xy[64])
{
	uint8_t pt[65];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *pkey = NULL;

	pt[0] = 0x04;
	memcpy(pt + 1, xy, 64);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static pthread_once_t dcap_root_once = PTHREAD_ONCE_INIT;
static X509 *dcap_root;

static void
dcap_root_load(void)
{
	const unsigned char *pem;
	size_t len;
	BIO *bio;

	pem = embedded_get(DCAP_ROOT_PATH, &len);
	if (pem == NULL)
		return;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return;
	dcap_root = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
}

X509 *
dcap_pinned_root(void)
{
	pthread_once(&dcap_root_once, dcap_root_load);
	return dcap_root;
}

static int
dcap_is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Find needle in [p, p+n); offset or -1. */
static long
dcap_find(const uint8_t *p, size_t n, const char *needle)
{
	size_t m = strlen(needle), i;

	if (n < m)
		return -1;
	for (i = 0; i + m <= n; i++)
		if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, m) == 0)
			return (long)i;
	return -1;
}

STACK_OF(X509) *
dcap_pem_chain(const uint8_t *pem, size_t len, int max, struct error *err)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	STACK_OF(X509) *sk;
	size_t pos = 0;
	char *b64 = NULL;

	/* Trailing NULs (the quote's chain is NUL-terminated). */
	while (len > 0 && pem[len - 1] == 0)
		len--;
	sk = sk_X509_new_null();
	if (sk == NULL) {
		error_set(err, "out of memory");
		return NULL;
	}
	for (;;) {
		long b, e;
		size_t i, blen = 0, bodylen;
		const uint8_t *body;
		uint8_t *der = NULL;
		size_t derlen = 0;
		const unsigned char *dp;
		X509 *x;

		while (pos < len && dcap_is_space(pem[pos]))
			pos++;
		if (pos == len)
			break;
		if (len - pos < sizeof(begin) - 1 ||
		    memcmp(pem + pos, begin, sizeof(begin) - 1) != 0) {
			error_set(err, "PEM chain: unexpected data at offset "
			    "%zu (expected \"%s\")", pos, begin);
			goto fail;
		}
		if (sk_X509_num(sk) >= max) {
			error_set(err, "PEM chain: more than %d certificates",
			    max);
			goto fail;
		}
		pos += sizeof(begin) - 1;
		e = dcap_find(pem + pos, len - pos, end);
		b = dcap_find(pem + pos, len - pos, "-----");
		if (e < 0 || b != e) {
			error_set(err, "PEM chain: certificate %d has no "
			    "\"%s\" line", sk_X509_num(sk), end);
			goto fail;
		}
		body = pem + pos;
		bodylen = (size_t)e;
		b64 = xmalloc(bodylen + 1);
		for (i = 0; i < bodylen; i++)
			if (!dcap_is_space(body[i]))
				b64[blen++] = (char)body[i];
		b64[blen] = 0;
		if (b64_decode(b64, blen, B64_STD, &der, &derlen) != 0) {
			error_set(err, "PEM chain: certificate %d: invalid "
			    "base64", sk_X509_num(sk));
			goto fail;
		}
		free(b64);
		b64 = NULL;
		dp = der;
		x = d2i_X509(NULL, &dp, (long)derlen);
		if (x == NULL || dp != der + derlen) {
			X509_free(x);
			free(der);
			error_set(err, "PEM chain: certificate %d: invalid DER",
			    sk_X509_num(sk));
			goto fail;
		}
		free(der);
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			error_set(err, "out of memory");
			goto fail;
		}
		pos += (size_t)e + sizeof(end) - 1;
	}
	if (sk_X509_num(sk) == 0) {
		error_set(err, "PEM chain: no certificate");
		goto fail;
	}
	return sk;
fail:
	free(b64);
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

int
dcap_asn1_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

void
dcap_name_cn(const X509_NAME *n, char *out, size_t cap)
{
	int len;

	if (cap == 0)
		return;
	len = n == NULL ? -1 : X509_NAME_get_text_by_NID((X509_NAME *)n,
	    NID_commonName, out, (int)cap);
	if (len < 0)
		snprintf(out, cap, "?");
}

static int8_t dcap_b64_tab[256];

static void
dcap_b64_init_table(void)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	int i;

	memset(dcap_b64_tab, -1, sizeof(dcap_b64_tab));
	for (i = 0; i < 64; i++)
		dcap_b64_tab[(uint8_t)al[i]] = (int8_t)i;
}

/* Strict standard base64 (RFC 4648 §4, '=' padding required, no
 * whitespace). The quote is public, so this needs no constant-time
 * decoding and is several times faster than the generic one. */
int
dcap_b64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	size_t i, o = 0, pad = 0;
	uint8_t *d;

	pthread_once(&once, dcap_b64_init_table);
	*out = NULL;
	*outlen = 0;
	if (n % 4 != 0)
		return -1;
	if (n >= 1 && s[n - 1] == '=')
		pad++;
	if (n >= 2 && s[n - 2] == '=')
		pad++;
	d = xmalloc(n / 4 * 3 + 1);
	for (i = 0; i < n; i += 4) {
		int a = dcap_b64_tab[(uint8_t)s[i]];
		int b = dcap_b64_tab[(uint8_t)s[i + 1]];
		int c = dcap_b64_tab[(uint8_t)s[i + 2]];
		int e = dcap_b64_tab[(uint8_t)s[i + 3]];
		int last = i + 4 == n;

		if (a < 0 || b < 0)
			goto bad;
		if (last && pad == 2) {
			if (s[i + 2] != '=' || s[i + 3] != '=' || (b & 0x0f))
				goto bad;
			d[o++] = (uint8_t)(a << 2 | b >> 4);
			break;
		}
		if (c < 0)
			goto bad;
		if (last && pad == 1) {
			if (s[i + 3] != '=' || (c & 0x03))
				goto bad;
			d[o++] = (uint8_t)(a << 2 | b >> 4);
			d[o++] = (uint8_t)(b << 4 | c >> 2);
			break;
		}
		if (e < 0)
			goto bad;
		d[o++] = (uint8_t)(a << 2 | b >> 4);
		d[o++] = (uint8_t)(b << 4 | c >> 2);
		d[o++] = (uint8_t)(c << 6 | e);
	}
	d[o] = 0;
	*out = d;
	*outlen = o;
	return 0;
bad:
	free(d);
	return -1;
}
