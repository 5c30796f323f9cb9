/*
 * jwe_alg.c: the cryptography of the KBS resource response: alg names,
 * ECDH-ES key agreement with the RFC 7518 §4.6.2 Concat KDF, AES-256 key
 * wrap (RFC 3394), AES-256-GCM content encryption and RSA key transport
 * (RSA-OAEP-256, RSA1_5). Shared by lib/jwe.c (encrypt) and
 * lib/jwe_decrypt.c (decrypt); every function here is stateless apart
 * from the algorithms fetched once per process, so threads call them
 * freely. Secrets on the stack are wiped before returning.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "jwe_internal.h"

/* Largest chunk handed to one EVP_*Update call (they take an int). */
#define JWE_CHUNK		(1 << 30)

int
jwe_alg_from_name(const char *alg, enum jwe_alg *out)
{
	if (strcmp(alg, JWE_ALG_ECDH) == 0)
		*out = JWE_ECDH_ES_A256KW;
	else if (strcmp(alg, JWE_ALG_OAEP) == 0)
		*out = JWE_RSA_OAEP_256;
	else if (strcmp(alg, JWE_ALG_RSA15) == 0)
		*out = JWE_RSA1_5;
	else
		return -1;
	return 0;
}

/* JOSE curve name of an EC key usable with ECDH-ES+A256KW, else NULL. */
const char *
jwe_alg_pkey_crv(EVP_PKEY *pkey)
{
	char group[64];

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL) != 1)
		return NULL;
	if (strcmp(group, "prime256v1") == 0)
		return "P-256";
	if (strcmp(group, "secp521r1") == 0)
		return "P-521";
	return NULL;
}

/* Algorithms fetched once per process (an implicit fetch per call is a
 * method-store lookup under a lock); NULL members fall back to the
 * implicit EVP_aes_256_wrap() etc. */
static struct {
	pthread_once_t once;
	EVP_CIPHER *wrap, *gcm;
	EVP_MD *sha256;
} jwe_alg_evp = { PTHREAD_ONCE_INIT, NULL, NULL, NULL };

static void
jwe_alg_fetch(void)
{
	jwe_alg_evp.wrap = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	jwe_alg_evp.gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	jwe_alg_evp.sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	ERR_clear_error();
}

static const EVP_CIPHER *
jwe_alg_cipher_wrap(void)
{
	pthread_once(&jwe_alg_evp.once, jwe_alg_fetch);
	return jwe_alg_evp.wrap != NULL ? jwe_alg_evp.wrap : EVP_aes_256_wrap();
}

static const EVP_CIPHER *
jwe_alg_cipher_gcm(void)
{
	pthread_once(&jwe_alg_evp.once, jwe_alg_fetch);
	return jwe_alg_evp.gcm != NULL ? jwe_alg_evp.gcm : EVP_aes_256_gcm();
}

static const EVP_MD *
jwe_alg_md_sha256(void)
{
	pthread_once(&jwe_alg_evp.once, jwe_alg_fetch);
	return jwe_alg_evp.sha256 != NULL ? jwe_alg_evp.sha256 : EVP_sha256();
}

/*
 * Z = ECDH(priv, peer): the x-coordinate, 32 (P-256) or 66 (P-521) bytes.
 * Contract: peer came from jwk_to_pkey, which already validated the point,
 * so OpenSSL's own peer validation (a second full public-key check on
 * every resource request) is skipped.
 */
int
jwe_alg_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t z[JWE_Z_MAX],
    size_t *zlen)
{
	EVP_PKEY_CTX *ctx;
	size_t n = JWE_Z_MAX;
	int rc = -1;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	    EVP_PKEY_derive(ctx, z, &n) == 1) {
		*zlen = n;
		rc = 0;
	}
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/*
 * RFC 7518 §4.6.2 Concat KDF, one SHA-256 round (keydatalen 256):
 *   SHA-256(00000001 || Z || u32be(14) || "ECDH-ES+A256KW" ||
 *           u32be(0) || u32be(0) || u32be(256))
 * i.e. empty PartyUInfo/PartyVInfo, as both Trustee and the guest do.
 */
int
jwe_alg_concat_kdf(const uint8_t *z, size_t zlen, uint8_t kek[JWE_KEK_LEN])
{
	static const char algid[] = JWE_ALG_ECDH;
	uint8_t in[4 + JWE_Z_MAX + 4 + sizeof(algid) - 1 + 12];
	unsigned int mdlen = 0;
	size_t n = 0;
	int rc;

	if (zlen > JWE_Z_MAX)
		return -1;
	memcpy(in + n, "\x00\x00\x00\x01", 4);
	n += 4;
	memcpy(in + n, z, zlen);
	n += zlen;
	memcpy(in + n, "\x00\x00\x00\x0e", 4);
	n += 4;
	memcpy(in + n, algid, sizeof(algid) - 1);
	n += sizeof(algid) - 1;
	memcpy(in + n, "\x00\x00\x00\x00" "\x00\x00\x00\x00" "\x00\x00\x01\x00",
	    12);
	n += 12;
	rc = EVP_Digest(in, n, kek, &mdlen, jwe_alg_md_sha256(), NULL) == 1 &&
	    mdlen == JWE_KEK_LEN ? 0 : -1;
	OPENSSL_cleanse(in, sizeof(in));
	return rc;
}

/* AES-256 key wrap (RFC 3394, default IV): enc=1 wraps 32 -> 40 bytes,
 * enc=0 unwraps 40 -> 32 and fails on an integrity check mismatch. */
int
jwe_alg_aes_kw(int enc, const uint8_t kek[JWE_KEK_LEN], const uint8_t *in,
    size_t inlen, uint8_t *out, size_t outcap, size_t *outlen)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, f = 0, rc = -1;

	if (inlen > 64 || outcap < (enc ? inlen + 8 : inlen))
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex(ctx, jwe_alg_cipher_wrap(), NULL, kek, NULL,
	    enc) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)inlen) == 1 && n > 0 &&
	    EVP_CipherFinal_ex(ctx, out + n, &f) == 1) {
		*outlen = (size_t)n + (size_t)f;
		rc = 0;
	}
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* AES-256-GCM with a 12-byte IV and a detached 16-byte tag. enc=1:
 * in=plaintext, tag is written; enc=0: in=ciphertext, tag is checked.
 * out has room for inlen bytes. */
int
jwe_alg_gcm(int enc, const uint8_t cek[JWE_CEK_LEN],
    const uint8_t iv[JWE_IV_LEN], const char *aad, size_t aadlen,
    const uint8_t *in, size_t inlen, uint8_t *out, uint8_t tag[JWE_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	size_t off;
	int n, chunk, rc = -1;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, jwe_alg_cipher_gcm(), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, JWE_IV_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, cek, iv, enc) != 1)
		goto out;
	for (off = 0; off < aadlen; off += (size_t)chunk) {
		chunk = aadlen - off > JWE_CHUNK ? JWE_CHUNK :
		    (int)(aadlen - off);
		if (EVP_CipherUpdate(ctx, NULL, &n, (const uint8_t *)aad + off,
		    chunk) != 1)
			goto out;
	}
	for (off = 0; off < inlen; off += (size_t)chunk) {
		chunk = inlen - off > JWE_CHUNK ? JWE_CHUNK :
		    (int)(inlen - off);
		if (EVP_CipherUpdate(ctx, out + off, &n, in + off,
		    chunk) != 1 || n != chunk)
			goto out;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, JWE_TAG_LEN,
	    tag) != 1)
		goto out;
	/* GCM is a stream mode: Final writes nothing, it checks the tag. */
	if (EVP_CipherFinal_ex(ctx, out + inlen, &n) != 1 || n != 0)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, JWE_TAG_LEN,
	    tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* RSA encrypt (enc=1) or decrypt of the CEK with the padding alg asks. */
int
jwe_alg_rsa(int enc, enum jwe_alg alg, EVP_PKEY *key, const uint8_t *in,
    size_t inlen, uint8_t *out, size_t *outlen)
{
	EVP_PKEY_CTX *ctx;
	int rc = -1;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL)
		return -1;
	if ((enc ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) !=
	    1)
		goto out;
	if (alg == JWE_RSA_OAEP_256) {
		if (EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_OAEP_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1)
			goto out;
	} else if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	if ((enc ? EVP_PKEY_encrypt(ctx, out, outlen, in, inlen) :
	    EVP_PKEY_decrypt(ctx, out, outlen, in, inlen)) == 1)
		rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}
