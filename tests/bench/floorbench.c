/*
 * floorbench.c: the cryptographic floor of the KBS operations, measured
 * in process with OpenSSL on this machine, so every server figure can be
 * shown as a multiple of the cryptography it cannot avoid.
 *
 * Each floor is the cryptography alone, done the way a server that keeps
 * everything else cached would do it: keys are parsed once before the
 * clock starts (the TEE public key as an EVP_PKEY, the signing key, the
 * verification keys); every OpenSSL context an operation needs is created
 * and freed inside the operation, as a request handler would. No JSON, no
 * base64, no HTTP, no store. The floors:
 *
 *   ecdh_es  one resource release, ECDH-ES+A256KW with A256GCM to a P-256
 *            TEE key, exactly the cryptography lib/jwe.c does per GET:
 *            an ephemeral P-256 key generated from the TEE key's group,
 *            its public point exported (it goes into "epk"), one ECDH
 *            (peer validation skipped, as jwe.c skips it for a key that
 *            was validated when it was parsed), the Concat KDF (one
 *            SHA-256), a random 32-byte CEK and 12-byte IV, the AES-256
 *            key wrap of the CEK, and AES-256-GCM of a FLOOR_PAYLOAD-byte
 *            secret with a FLOOR_AAD-byte AAD (the size of the base64url
 *            protected header).
 *   es256_sign    one ES256 signature (SHA-256 + ECDSA P-256 sign) of a
 *            FLOOR_TOKEN-byte signing input: the EAR token /attest issues.
 *   es256_verify  one ES256 verification of the same: what a bearer token
 *            seen for the first time must cost (a P-256 verify is also the
 *            reference for a warm TDX quote).
 *   p384_verify   SHA-384 + ECDSA P-384 verify of 672 bytes (an SNP
 *            report's signed part): the reference for a warm SNP report.
 *   p256_keygen, p256_ecdh  the two big parts of ecdh_es, for information.
 *
 * Derived (sums of the measured floors, printed too):
 *   flow          = ecdh_es + es256_sign: a full sample flow (/auth,
 *                   /attest with sample evidence, one GET) must generate a
 *                   nonce (random bytes, negligible), sign one token and
 *                   release one resource; the sample verifier checks no
 *                   signature.
 *   bearer_first  = ecdh_es + es256_verify: a GET with a bearer token the
 *                   server has not verified before.
 * A cookie GET and a GET with a bearer token seen before have the floor
 * ecdh_es: the claims were verified when the session was attested or the
 * token first presented.
 *
 * Method: per floor, batches of operations on one thread, each batch run
 * until it has used --min-ms of thread CPU time (CLOCK_THREAD_CPUTIME_ID);
 * the figure is the median CPU time per operation of --batches batches:
 * the machine's typical state during the run, like the server's CPU per
 * operation it is compared with (an average over a whole phase). The
 * lowest batch is printed too (us_min).
 *
 * Usage: floorbench [--min-ms MS] [--batches N] [--json]
 *        floorbench --ops N [--only LIST]   (exactly N operations per
 *        floor, untimed: for counting instructions under callgrind, see
 *        callgrind.sh)
 * Exit status: 0, 1 if an operation failed, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sodium.h>

#define FLOOR_PAYLOAD	64	/* kbsbench's default resource size */
#define FLOOR_AAD	240	/* b64url of {"alg","enc","epk":{P-256}} */
#define FLOOR_TOKEN	1536	/* a sample EAR token's signing input */
#define FLOOR_SNP	672	/* SNP report bytes 0x0..0x29f */
#define FLOOR_Z_MAX	32
#define FLOOR_KDF_IN	(4 + FLOOR_Z_MAX + 4 + 14 + 12)

struct floor_keys {
	EVP_PKEY *tee;		/* the guest's P-256 public+private key */
	EVP_PKEY *es256;	/* token signing key (P-256) */
	EVP_PKEY *p384;		/* report signing key (P-384) */
	uint8_t token[FLOOR_TOKEN];
	uint8_t report[FLOOR_SNP];
	uint8_t sig256[80], sig384[112];
	size_t sig256_len, sig384_len;
	uint8_t payload[FLOOR_PAYLOAD];
	char aad[FLOOR_AAD + 1];
	/* Fetched once, as a tuned server would (an implicit fetch per call
	 * is a method-store lookup under a lock). */
	EVP_CIPHER *wrap, *gcm;
	EVP_MD *sha256, *sha384;
};

struct floor_def {
	const char *name;
	int (*op)(struct floor_keys *);
	const char *what;
};

struct floor_result {
	const char *name;
	const char *what;
	double us_per_op;	/* median of the batches */
	double us_min;		/* lowest of the batches */
	unsigned long ops;	/* operations timed in all batches */
};

static uint64_t
floor_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A fresh key on the group of tmpl (how jwe.c makes its ephemeral key). */
static EVP_PKEY *
floor_keygen_like(EVP_PKEY *tmpl)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, tmpl, NULL);
	EVP_PKEY *k = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_keygen(ctx, &k) != 1) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static int
floor_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *z, size_t *zlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
	int rc = -1;

	if (ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	    EVP_PKEY_derive(ctx, z, zlen) == 1)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static int
floor_cipher(EVP_CIPHER *c, int wrap, const uint8_t *key,
    const uint8_t *iv, const char *aad, const uint8_t *in, int inlen,
    uint8_t *out, uint8_t tag[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, f = 0, rc = -1;

	if (ctx == NULL)
		return -1;
	if (wrap)
		EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_EncryptInit_ex(ctx, c, NULL, key, iv) != 1)
		goto out;
	if (aad != NULL && EVP_EncryptUpdate(ctx, NULL, &n,
	    (const uint8_t *)aad, (int)strlen(aad)) != 1)
		goto out;
	if (EVP_EncryptUpdate(ctx, out, &n, in, inlen) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + n, &f) != 1)
		goto out;
	if (tag != NULL && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16,
	    tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/* The whole key-management and content encryption of one release. */
static int
floor_op_ecdh_es(struct floor_keys *k)
{
	static const char algid[] = "ECDH-ES+A256KW";
	EVP_PKEY *eph;
	uint8_t z[FLOOR_Z_MAX], kdf[FLOOR_KDF_IN], kek[32], cek[32], iv[12];
	uint8_t pub[65], ek[40], ct[FLOOR_PAYLOAD + 16], tag[16];
	size_t zlen = sizeof(z), publen = 0, n = 0;
	unsigned int mdlen = 0;
	int rc = -1;

	if ((eph = floor_keygen_like(k->tee)) == NULL)
		return -1;
	if (EVP_PKEY_get_octet_string_param(eph,
	    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof(pub),
	    &publen) != 1 || publen != sizeof(pub))
		goto out;
	if (floor_ecdh(eph, k->tee, z, &zlen) != 0 || zlen != sizeof(z))
		goto out;
	memcpy(kdf + n, "\x00\x00\x00\x01", 4);
	n += 4;
	memcpy(kdf + n, z, zlen);
	n += zlen;
	memcpy(kdf + n, "\x00\x00\x00\x0e", 4);
	n += 4;
	memcpy(kdf + n, algid, sizeof(algid) - 1);
	n += sizeof(algid) - 1;
	memcpy(kdf + n, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00",
	    12);
	n += 12;
	if (EVP_Digest(kdf, n, kek, &mdlen, k->sha256, NULL) != 1)
		goto out;
	randombytes_buf(cek, sizeof(cek));
	randombytes_buf(iv, sizeof(iv));
	if (floor_cipher(k->wrap, 1, kek, NULL, NULL, cek,
	    sizeof(cek), ek, NULL) != 0 ||
	    floor_cipher(k->gcm, 0, cek, iv, k->aad, k->payload,
	    FLOOR_PAYLOAD, ct, tag) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(kdf, sizeof(kdf));
	OPENSSL_cleanse(kek, sizeof(kek));
	OPENSSL_cleanse(cek, sizeof(cek));
	EVP_PKEY_free(eph);
	return rc;
}

static int
floor_op_keygen(struct floor_keys *k)
{
	EVP_PKEY *eph = floor_keygen_like(k->tee);

	EVP_PKEY_free(eph);
	return eph != NULL ? 0 : -1;
}

/* ECDH alone: the TEE key with itself as the peer (the same work). */
static int
floor_op_ecdh(struct floor_keys *k)
{
	uint8_t z[FLOOR_Z_MAX];
	size_t zlen = sizeof(z);

	return floor_ecdh(k->tee, k->tee, z, &zlen);
}

static int
floor_sign(EVP_PKEY *key, EVP_MD *md, const uint8_t *msg, size_t len,
    uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;

	if (ctx != NULL && EVP_DigestSignInit(ctx, NULL, md, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, siglen, msg, len) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
floor_verify(EVP_PKEY *key, EVP_MD *md, const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc = -1;

	if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) ==
	    1 &&
	    EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int
floor_op_es256_sign(struct floor_keys *k)
{
	uint8_t sig[80];
	size_t siglen = sizeof(sig);

	return floor_sign(k->es256, k->sha256, k->token, FLOOR_TOKEN, sig,
	    &siglen);
}

static int
floor_op_es256_verify(struct floor_keys *k)
{
	return floor_verify(k->es256, k->sha256, k->token, FLOOR_TOKEN,
	    k->sig256, k->sig256_len);
}

static int
floor_op_p384_verify(struct floor_keys *k)
{
	return floor_verify(k->p384, k->sha384, k->report, FLOOR_SNP,
	    k->sig384, k->sig384_len);
}

static const struct floor_def floor_defs[] = {
	{ "ecdh_es", floor_op_ecdh_es, "ECDH-ES+A256KW + A256GCM release to "
	  "a P-256 TEE key: ephemeral keygen, point export, ECDH, Concat KDF, "
	  "random CEK/IV, AES-KW, GCM of 64 B" },
	{ "es256_sign", floor_op_es256_sign, "ES256 sign (SHA-256 + ECDSA "
	  "P-256) of a 1536-byte token signing input" },
	{ "es256_verify", floor_op_es256_verify, "ES256 verify of the same" },
	{ "p384_verify", floor_op_p384_verify, "SHA-384 + ECDSA P-384 verify "
	  "of 672 bytes (an SNP report)" },
	{ "p256_keygen", floor_op_keygen, "P-256 key generation (part of "
	  "ecdh_es)" },
	{ "p256_ecdh", floor_op_ecdh, "one P-256 ECDH derive (part of "
	  "ecdh_es)" },
};

static int
floor_keys_init(struct floor_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->tee = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	k->es256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "prime256v1");
	k->p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp384r1");
	k->wrap = EVP_CIPHER_fetch(NULL, "AES-256-WRAP", NULL);
	k->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	k->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	k->sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	if (k->tee == NULL || k->es256 == NULL || k->p384 == NULL ||
	    k->wrap == NULL || k->gcm == NULL || k->sha256 == NULL ||
	    k->sha384 == NULL)
		return -1;
	randombytes_buf(k->token, sizeof(k->token));
	randombytes_buf(k->report, sizeof(k->report));
	randombytes_buf(k->payload, sizeof(k->payload));
	memset(k->aad, 'e', FLOOR_AAD);
	k->sig256_len = sizeof(k->sig256);
	k->sig384_len = sizeof(k->sig384);
	if (floor_sign(k->es256, k->sha256, k->token, FLOOR_TOKEN,
	    k->sig256, &k->sig256_len) != 0 ||
	    floor_sign(k->p384, k->sha384, k->report, FLOOR_SNP,
	    k->sig384, &k->sig384_len) != 0)
		return -1;
	return 0;
}

static void
floor_keys_free(struct floor_keys *k)
{
	EVP_PKEY_free(k->tee);
	EVP_PKEY_free(k->es256);
	EVP_PKEY_free(k->p384);
	EVP_CIPHER_free(k->wrap);
	EVP_CIPHER_free(k->gcm);
	EVP_MD_free(k->sha256);
	EVP_MD_free(k->sha384);
}

static int
floor_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
floor_measure(const struct floor_def *d, struct floor_keys *k,
    unsigned min_ms, unsigned batches, struct floor_result *r)
{
	double per[64];
	unsigned b;

	memset(r, 0, sizeof(*r));
	r->name = d->name;
	r->what = d->what;
	/* Warm-up: first-use costs (method fetches, tables) are not the
	 * floor. */
	for (b = 0; b < 50; b++)
		if (d->op(k) != 0)
			return -1;
	for (b = 0; b < batches; b++) {
		uint64_t t0 = floor_cpu_ns(), t, n = 0;

		do {
			unsigned i;

			for (i = 0; i < 16; i++)
				if (d->op(k) != 0)
					return -1;
			n += 16;
			t = floor_cpu_ns() - t0;
		} while (t < (uint64_t)min_ms * 1000000u);
		per[b] = (double)t / 1e3 / (double)n;
		r->ops += n;
	}
	qsort(per, batches, sizeof(per[0]), floor_cmp_double);
	r->us_min = per[0];
	r->us_per_op = per[batches / 2];
	return 0;
}

static void __attribute__((noreturn))
floor_usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: floorbench [--min-ms MS] [--batches N] [--json] "
	    "[--only NAME[,NAME...]]\n"
	    "  --min-ms MS   thread CPU time per batch (default 200)\n"
	    "  --batches N   batches per floor; the median is kept "
	    "(default 5, max 64)\n"
	    "  --json        one JSON object on stdout instead of the table\n"
	    "  --only LIST   measure only these floors (flow and "
	    "bearer_first are\n"
	    "                printed when their parts are measured)\n"
	    "  --ops N       run exactly N operations of each floor, "
	    "untimed (callgrind)\n");
	exit(code);
}

static unsigned
floor_uint(const char *s, unsigned min, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max)
		floor_usage(2);
	return (unsigned)v;
}

/* 1 if name is in the comma-separated list (or list is NULL). */
static int
floor_selected(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (list == NULL)
		return 1;
	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == '\0' ||
		    p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

/* A measured floor's us_per_op, or -1 when it was not measured. */
static double
floor_find(const struct floor_result *r, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0)
			return r[i].us_per_op;
	return -1;
}

/* A derived floor: the sum of two measured ones, or -1. */
static double
floor_sum(const struct floor_result *r, size_t n, const char *a,
    const char *b)
{
	double x = floor_find(r, n, a), y = floor_find(r, n, b);

	return x < 0 || y < 0 ? -1 : x + y;
}

static int
floor_print_json(const struct floor_result *r, size_t n, unsigned min_ms,
    unsigned batches)
{
	json_t *root, *floors;
	double flow, first;
	char *s;
	size_t i;

	root = json_pack("{s:s, s:s, s:I, s:I}", "openssl",
	    OpenSSL_version(OPENSSL_VERSION), "method", "thread CPU time per "
	    "operation, median of the batches, single-threaded", "min_ms",
	    (json_int_t)min_ms, "batches", (json_int_t)batches);
	floors = json_object();
	if (root == NULL || floors == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (json_object_set_new(floors, r[i].name, json_pack(
		    "{s:f, s:f, s:f, s:I, s:s}", "us_per_op", r[i].us_per_op,
		    "us_min", r[i].us_min, "ops_per_s",
		    r[i].us_per_op > 0 ? 1e6 / r[i].us_per_op : 0.0,
		    "ops", (json_int_t)r[i].ops, "what", r[i].what)) != 0)
			goto fail;
	if ((flow = floor_sum(r, n, "ecdh_es", "es256_sign")) >= 0 &&
	    json_object_set_new(floors, "flow", json_pack("{s:f, s:s}",
	    "us_per_op", flow, "what", "ecdh_es + es256_sign")) != 0)
		goto fail;
	if ((first = floor_sum(r, n, "ecdh_es", "es256_verify")) >= 0 &&
	    json_object_set_new(floors, "bearer_first", json_pack("{s:f, s:s}",
	    "us_per_op", first, "what", "ecdh_es + es256_verify")) != 0)
		goto fail;
	json_object_set_new(root, "floors", floors);
	floors = NULL;
	if ((s = json_dumps(root, JSON_COMPACT)) == NULL)
		goto fail;
	printf("%s\n", s);
	free(s);
	json_decref(root);
	return 0;
fail:
	fprintf(stderr, "floorbench: cannot build the JSON report\n");
	json_decref(floors);
	json_decref(root);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "min-ms", required_argument, NULL, 'm' },
		{ "batches", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "only", required_argument, NULL, 'o' },
		{ "ops", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct floor_result res[sizeof(floor_defs) / sizeof(floor_defs[0])];
	size_t n = sizeof(floor_defs) / sizeof(floor_defs[0]), nres, i;
	struct floor_keys keys;
	unsigned min_ms = 200, batches = 5, ops = 0, k;
	const char *only = NULL;
	double flow, first;
	int ch, json = 0, rc = 0;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			min_ms = floor_uint(optarg, 1, 60000);
			break;
		case 'b':
			batches = floor_uint(optarg, 1, 64);
			break;
		case 'j':
			json = 1;
			break;
		case 'o':
			only = optarg;
			break;
		case 'n':
			ops = floor_uint(optarg, 1, 10000000);
			break;
		case 'h':
			floor_usage(0);
		default:
			floor_usage(2);
		}
	}
	if (optind != argc)
		floor_usage(2);
	if (sodium_init() < 0 || floor_keys_init(&keys) != 0) {
		fprintf(stderr, "floorbench: setting up the keys failed\n");
		return 1;
	}
	if (ops > 0) {
		/* Untimed: callgrind counts the instructions of the
		 * floor_op_* functions (tests/bench/callgrind.sh). */
		for (i = 0; i < n; i++) {
			if (!floor_selected(only, floor_defs[i].name))
				continue;
			for (k = 0; k < ops; k++) {
				if (floor_defs[i].op(&keys) != 0) {
					fprintf(stderr, "floorbench: %s failed\n",
					    floor_defs[i].name);
					rc = 1;
					goto out;
				}
			}
			printf("%s %u\n", floor_defs[i].name, ops);
		}
		goto out;
	}
	for (i = 0, nres = 0; i < n; i++) {
		if (!floor_selected(only, floor_defs[i].name))
			continue;
		if (floor_measure(&floor_defs[i], &keys, min_ms, batches,
		    &res[nres]) != 0) {
			fprintf(stderr, "floorbench: %s failed\n",
			    floor_defs[i].name);
			ERR_print_errors_fp(stderr);
			rc = 1;
			goto out;
		}
		nres++;
	}
	if (nres == 0)
		floor_usage(2);
	n = nres;
	if (json) {
		if (floor_print_json(res, n, min_ms, batches) != 0)
			rc = 1;
		goto out;
	}
	printf("floorbench: %s; single-threaded, thread CPU time per "
	    "operation, median of %u batches of >= %u ms\n",
	    OpenSSL_version(OPENSSL_VERSION), batches, min_ms);
	printf("%-13s %9s %9s %10s  %s\n", "floor", "us/op", "lowest",
	    "ops/s", "what");
	for (i = 0; i < n; i++)
		printf("%-13s %9.1f %9.1f %10.0f  %s\n", res[i].name,
		    res[i].us_per_op, res[i].us_min, 1e6 / res[i].us_per_op,
		    res[i].what);
	if ((flow = floor_sum(res, n, "ecdh_es", "es256_sign")) >= 0)
		printf("%-13s %9.1f %9s %10s  ecdh_es + es256_sign\n", "flow",
		    flow, "", "");
	if ((first = floor_sum(res, n, "ecdh_es", "es256_verify")) >= 0)
		printf("%-13s %9.1f %9s %10s  ecdh_es + es256_verify\n",
		    "bearer_first", first, "", "");
out:
	floor_keys_free(&keys);
	return rc;
}
