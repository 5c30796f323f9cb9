/*
 * nvidia_chain.c: NVIDIA device certificate chains: the PEM chain (leaf
 * first, at most NVIDIA_CHAIN_MAX) verified to the pinned NVIDIA Device
 * Identity CA (verifier/roots/nvidia/, compiled in; a self-signed
 * certificate in the chain must be that root), the leaf's P-384 key and
 * FWID, and a bounded, thread-safe cache of verified chains keyed by
 * SHA-256 of the base64 text, so a warm verification decodes nothing.
 * Validity times are not checked here: the cached record carries the
 * intersection of the windows for the caller to check at its own time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../lib/b64.h"
#include "../lib/embedded.h"
#include "nvidia.h"
#include "nvidia_internal.h"

#define NVIDIA_CACHE_MAX	64

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
	if (nvidia_fwid_x509(leaf, c->fwid, err) != 0) {
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
int
nvidia_chain_get(const struct nvidia_device *d, struct nvidia_chain *c,
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
