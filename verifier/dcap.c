/*
 * dcap.c: ECDSA DCAP quote verification (what Intel's QVL does for
 * Trustee, reference/attestation-service.md §1.4 step 4), with two caches:
 *
 * - verified PCK material, keyed by SHA-256 of everything from the
 *   attestation key to the end of the PCK chain: the QE report signature,
 *   the QE report-data binding, the PCK chain to the pinned root and the
 *   parsed SGX extension depend only on those bytes, so a warm quote costs
 *   one ECDSA verify (the quote signature) plus parsing. Certificate
 *   validity windows are kept and checked at every call's time.
 * - verified collateral, keyed by (source, TEE, FMSPC, PCK CA kind): TCB
 *   info and QE identity (signatures and issuer chains checked), the PCK
 *   and root CA CRLs (signatures checked). Validity windows and
 *   revocation are checked at every call.
 * Both are bounded (LRU eviction), behind one mutex, and hold reference
 * counted immutable entries so a lookup never blocks on a fetch.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dcap_internal.h"

#define PCK_CACHE_MAX		256
#define COLL_CACHE_MAX		32
#define COLL_TTL_LOCAL_NS	(60ull * 1000000000ull)
#define COLL_TTL_PCCS_NS	(3600ull * 1000000000ull)

struct pck_entry {
	uint8_t *mat;			/* att key .. end of PCK chain */
	size_t mat_len;
	int refs, dead;
	uint64_t last_use;
	EVP_PKEY *att;			/* attestation key */
	struct dcap_pck_ext ext;
	int platform_ca;		/* 1 Platform CA, 0 Processor CA */
	X509 *leaf, *inter;
	int64_t nb[3], na[3];		/* leaf, intermediate, root */
	char cn[3][64];
	uint64_t crl_gen;		/* collateral gen that cleared it */
};

struct coll_entry {
	char key[512];
	int refs, dead;
	uint64_t last_use, loaded_ns, gen;
	int pccs;
	struct dcap_tcb_info *tcb;
	struct dcap_qe_identity *qe;
	X509_CRL *pck_crl, *root_crl;
	X509 *pck_crl_issuer;		/* from its issuer chain, or NULL */
	int64_t signer_nb[2], signer_na[2];	/* TCB info, QE identity */
	char signer_cn[2][64];
	int64_t pck_crl_this, pck_crl_next, root_crl_this, root_crl_next;
	long pck_crl_num, root_crl_num;
	char *desc;
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pck_entry *pck_cache[PCK_CACHE_MAX];
static size_t pck_n;
static struct coll_entry *coll_cache[COLL_CACHE_MAX];
static size_t coll_n;
static uint64_t cache_clock, coll_gen;

/* ---- entries ------------------------------------------------------------ */

static void
pck_free(struct pck_entry *e)
{
	if (e == NULL)
		return;
	EVP_PKEY_free(e->att);
	free(e->mat);
	X509_free(e->leaf);
	X509_free(e->inter);
	free(e);
}

static void
coll_free(struct coll_entry *e)
{
	if (e == NULL)
		return;
	dcap_tcb_info_free(e->tcb);
	dcap_qe_identity_free(e->qe);
	X509_CRL_free(e->pck_crl);
	X509_CRL_free(e->root_crl);
	X509_free(e->pck_crl_issuer);
	free(e->desc);
	free(e);
}

static void
pck_release(struct pck_entry *e)
{
	int gone;

	pthread_mutex_lock(&cache_mu);
	gone = --e->refs == 0 && e->dead;
	pthread_mutex_unlock(&cache_mu);
	if (gone)
		pck_free(e);
}

static void
coll_release(struct coll_entry *e)
{
	int gone;

	pthread_mutex_lock(&cache_mu);
	gone = --e->refs == 0 && e->dead;
	pthread_mutex_unlock(&cache_mu);
	if (gone)
		coll_free(e);
}

void
dcap_cache_flush(void)
{
	size_t i;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < pck_n; i++) {
		pck_cache[i]->dead = 1;
		if (pck_cache[i]->refs == 0)
			pck_free(pck_cache[i]);
	}
	for (i = 0; i < coll_n; i++) {
		coll_cache[i]->dead = 1;
		if (coll_cache[i]->refs == 0)
			coll_free(coll_cache[i]);
	}
	pck_n = coll_n = 0;
	pthread_mutex_unlock(&cache_mu);
}

/* ---- X.509 helpers ------------------------------------------------------- */

static pthread_once_t store_once = PTHREAD_ONCE_INIT;
static X509_STORE *root_store;

static void
store_init(void)
{
	X509 *root = dcap_pinned_root();

	if (root == NULL)
		return;
	root_store = X509_STORE_new();
	if (root_store != NULL && X509_STORE_add_cert(root_store, root) != 1) {
		X509_STORE_free(root_store);
		root_store = NULL;
	}
}

static int
der_equal(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la = i2d_X509(a, &da), lb = i2d_X509(b, &db), eq;

	eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	return eq;
}

/*
 * Verify sk[0] up to the pinned root, the other certificates of sk being
 * untrusted intermediates. A self-issued certificate in sk must be
 * byte-identical to the pinned root. Times are not checked here (the
 * callers check every window at each verification time).
 */
static int
verify_to_root(STACK_OF(X509) *sk, const char *what, struct error *err)
{
	X509 *root = dcap_pinned_root();
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	char cn[64];
	int i, rc = -1;

	pthread_once(&store_once, store_init);
	if (root == NULL || root_store == NULL)
		return error_set(err, "the pinned Intel SGX Root CA "
		    "(verifier/roots/intel/intel_sgx_root_ca.pem) is not "
		    "available in this build");
	untrusted = sk_X509_new_null();
	if (untrusted == NULL)
		return error_set(err, "out of memory");
	for (i = 1; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);

		if (X509_check_issued(x, x) == X509_V_OK) {
			if (!der_equal(x, root)) {
				dcap_name_cn(X509_get_subject_name(x), cn,
				    sizeof(cn));
				error_set(err, "%s: the root certificate \"%s\" "
				    "in the chain is not the pinned Intel SGX "
				    "Root CA", what, cn);
				goto out;
			}
			continue;
		}
		sk_X509_push(untrusted, x);
	}
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL || X509_STORE_CTX_init(ctx, root_store,
	    sk_X509_value(sk, 0), untrusted) != 1) {
		error_set(err, "out of memory");
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		int d = X509_STORE_CTX_get_error_depth(ctx);
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);

		dcap_name_cn(bad ? X509_get_subject_name(bad) : NULL, cn,
		    sizeof(cn));
		error_set(err, "%s: the certificate chain does not verify to "
		    "the pinned Intel SGX Root CA: %s (depth %d, \"%s\")",
		    what, X509_verify_cert_error_string(e), d, cn);
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	return rc;
}

static int
cert_times(X509 *x, int64_t *nb, int64_t *na, char *cn, size_t cap,
    struct error *err)
{
	dcap_name_cn(X509_get_subject_name(x), cn, cap);
	if (dcap_asn1_time(X509_get0_notBefore(x), nb) != 0 ||
	    dcap_asn1_time(X509_get0_notAfter(x), na) != 0)
		return error_set(err, "certificate \"%s\" has an unreadable "
		    "validity period", cn);
	return 0;
}

static int
check_window(const char *kind, const char *what, int64_t from, int64_t to,
    const char *from_name, const char *to_name, int64_t now,
    struct error *err)
{
	char a[TIME_RFC3339_LEN], b[TIME_RFC3339_LEN];

	time_format_rfc3339(now, b);
	if (now > to) {
		time_format_rfc3339(to, a);
		return error_set(err, "%s expired: %s %s %s is before the "
		    "verification time %s", kind, what, to_name, a, b);
	}
	if (now < from) {
		time_format_rfc3339(from, a);
		return error_set(err, "%s not yet valid: %s %s %s is after the "
		    "verification time %s", kind, what, from_name, a, b);
	}
	return 0;
}

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
	    NULL);
	long v = 0;

	if (n != NULL) {
		v = ASN1_INTEGER_get(n);
		ASN1_INTEGER_free(n);
	}
	return v < 0 ? 0 : v;
}

static X509_CRL *
crl_parse(const struct buf *b, const char *what, int64_t *this_upd,
    int64_t *next_upd, struct error *err)
{
	const unsigned char *p = b->data;
	X509_CRL *crl;

	if (b->len == 0 || b->len > 16u * 1024 * 1024) {
		error_set(err, "%s: missing or oversized", what);
		return NULL;
	}
	crl = d2i_X509_CRL(NULL, &p, (long)b->len);
	if (crl == NULL || p != b->data + b->len) {
		X509_CRL_free(crl);
		error_set(err, "%s: not a DER CRL", what);
		return NULL;
	}
	if (dcap_asn1_time(X509_CRL_get0_lastUpdate(crl), this_upd) != 0 ||
	    X509_CRL_get0_nextUpdate(crl) == NULL ||
	    dcap_asn1_time(X509_CRL_get0_nextUpdate(crl), next_upd) != 0) {
		X509_CRL_free(crl);
		error_set(err, "%s: no readable thisUpdate/nextUpdate", what);
		return NULL;
	}
	return crl;
}

/* ---- PCK material -------------------------------------------------------- */

static int
pck_build(const struct dcap_quote *q, const uint8_t *mat, size_t mat_len,
    struct pck_entry **out, struct error *err)
{
	struct pck_entry *e = xcalloc(1, sizeof(*e));
	STACK_OF(X509) *sk;
	X509 *root = dcap_pinned_root();
	ASN1_OBJECT *oid = NULL;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *os;
	uint8_t h[32];
	char icn[64];
	int idx, i, rc;
	static const uint8_t zero[32];

	e->mat = xmalloc(mat_len);
	memcpy(e->mat, mat, mat_len);
	e->mat_len = mat_len;
	sk = dcap_pem_chain(q->pck_chain, q->pck_chain_len, 4, err);
	if (sk == NULL) {
		error_prefix(err, "PCK certificate chain in the quote");
		goto fail;
	}
	if (sk_X509_num(sk) != 3) {
		error_set(err, "PCK certificate chain in the quote has %d "
		    "certificates (expected 3: PCK certificate, PCK "
		    "Platform/Processor CA, Intel SGX Root CA)",
		    sk_X509_num(sk));
		goto fail;
	}
	if (root == NULL || !der_equal(sk_X509_value(sk, 2), root)) {
		error_set(err, "PCK certificate chain: the root certificate in "
		    "the quote is not the pinned Intel SGX Root CA");
		goto fail;
	}
	if (verify_to_root(sk, "PCK certificate chain", err) != 0)
		goto fail;
	e->leaf = sk_X509_value(sk, 0);
	e->inter = sk_X509_value(sk, 1);
	X509_up_ref(e->leaf);
	X509_up_ref(e->inter);
	for (i = 0; i < 3; i++)
		if (cert_times(sk_X509_value(sk, i), &e->nb[i], &e->na[i],
		    e->cn[i], sizeof(e->cn[i]), err) != 0)
			goto fail;
	dcap_name_cn(X509_get_subject_name(e->inter), icn, sizeof(icn));
	if (strcmp(icn, "Intel SGX PCK Platform CA") == 0)
		e->platform_ca = 1;
	else if (strcmp(icn, "Intel SGX PCK Processor CA") == 0)
		e->platform_ca = 0;
	else {
		error_set(err, "PCK certificate chain: unexpected intermediate "
		    "CA \"%s\" (expected Intel SGX PCK Platform CA or Intel SGX "
		    "PCK Processor CA)", icn);
		goto fail;
	}
	oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
	idx = oid ? X509_get_ext_by_OBJ(e->leaf, oid, -1) : -1;
	ASN1_OBJECT_free(oid);
	if (idx < 0 || (ext = X509_get_ext(e->leaf, idx)) == NULL ||
	    (os = X509_EXTENSION_get_data(ext)) == NULL) {
		error_set(err, "PCK certificate has no Intel SGX extension "
		    "(OID 1.2.840.113741.1.13.1)");
		goto fail;
	}
	if (dcap_pck_ext_parse(ASN1_STRING_get0_data(os),
	    (size_t)ASN1_STRING_length(os), &e->ext, err) != 0)
		goto fail;
	/* QE report signature by the PCK key. */
	rc = dcap_ecdsa_verify_raw(X509_get0_pubkey(e->leaf), q->qe_report,
	    DCAP_SGX_REPORT_LEN, q->qe_report_sig);
	if (rc != 1) {
		error_set(err, "QE report signature (ECDSA P-256 by the PCK "
		    "certificate key over the 384-byte QE report) does not "
		    "verify");
		goto fail;
	}
	/* QE report data = SHA-256(attestation key || QE auth data) || 0^32 */
	if (dcap_sha256(q->att_key, 64, q->qe_auth, q->qe_auth_len, h) != 0) {
		error_set(err, "SHA-256 unavailable");
		goto fail;
	}
	if (memcmp(q->qe_report + 320, h, 32) != 0 ||
	    memcmp(q->qe_report + 352, zero, 32) != 0) {
		char a[129], b[65];

		hex_encode(q->qe_report + 320, 64, a);
		hex_encode(h, 32, b);
		error_set(err, "QE report data binding failed: QE "
		    "REPORTDATA %s is not SHA-256(attestation key || QE auth "
		    "data) %s followed by 32 zero bytes", a, b);
		goto fail;
	}
	e->att = dcap_p256_from_raw(q->att_key);
	if (e->att == NULL) {
		error_set(err, "the attestation key is not a valid P-256 "
		    "point");
		goto fail;
	}
	sk_X509_pop_free(sk, X509_free);
	*out = e;
	return 0;
fail:
	sk_X509_pop_free(sk, X509_free);
	pck_free(e);
	return -1;
}

static int
pck_same(const struct pck_entry *e, const uint8_t *mat, size_t len)
{
	/* The attestation key comes first: a cheap discriminator. */
	return e->mat_len == len && memcmp(e->mat, mat, 64) == 0 &&
	    memcmp(e->mat + 64, mat + 64, len - 64) == 0;
}

static struct pck_entry *
pck_lookup(const uint8_t *mat, size_t len)
{
	struct pck_entry *e = NULL;
	size_t i;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < pck_n; i++)
		if (pck_same(pck_cache[i], mat, len)) {
			e = pck_cache[i];
			e->refs++;
			e->last_use = ++cache_clock;
			break;
		}
	pthread_mutex_unlock(&cache_mu);
	return e;
}

/* Insert e (refs 1 for the caller); an equal entry inserted meanwhile
 * wins and is returned instead. */
static struct pck_entry *
pck_insert(struct pck_entry *e)
{
	struct pck_entry *old = NULL, *victim = NULL;
	size_t i, vi = 0;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < pck_n; i++)
		if (pck_same(pck_cache[i], e->mat, e->mat_len)) {
			old = pck_cache[i];
			old->refs++;
			break;
		}
	if (old == NULL) {
		if (pck_n == PCK_CACHE_MAX) {
			for (i = 0; i < pck_n; i++)
				if (victim == NULL ||
				    pck_cache[i]->last_use < victim->last_use) {
					victim = pck_cache[i];
					vi = i;
				}
			pck_cache[vi] = pck_cache[--pck_n];
			victim->dead = 1;
			if (victim->refs > 0)
				victim = NULL;
		}
		e->refs = 1;
		e->last_use = ++cache_clock;
		pck_cache[pck_n++] = e;
	}
	pthread_mutex_unlock(&cache_mu);
	pck_free(victim);
	if (old != NULL) {
		pck_free(e);
		return old;
	}
	return e;
}

/* ---- collateral ---------------------------------------------------------- */

static int
verify_signed(const struct buf *body, const char *member,
    const struct buf *chain_pem, const char *what, json_t **value,
    int64_t *nb, int64_t *na, char *cn, size_t cncap, STACK_OF(X509) **chain,
    struct error *err)
{
	size_t off, len;
	uint8_t sig[64];
	STACK_OF(X509) *sk;
	int rc;

	*value = NULL;
	if (dcap_signed_json_split((const char *)body->data, body->len, member,
	    &off, &len, sig, value, err) != 0)
		return error_prefix(err, "%s", what);
	sk = dcap_pem_chain(chain_pem->data, chain_pem->len, 3, err);
	if (sk == NULL) {
		json_decref(*value);
		*value = NULL;
		return error_prefix(err, "%s issuer chain", what);
	}
	if (verify_to_root(sk, what, err) != 0 ||
	    cert_times(sk_X509_value(sk, 0), nb, na, cn, cncap, err) != 0)
		goto fail;
	rc = dcap_ecdsa_verify_raw(X509_get0_pubkey(sk_X509_value(sk, 0)),
	    body->data + off, len, sig);
	if (rc != 1) {
		error_set(err, "%s signature (ECDSA P-256 by \"%s\" over the "
		    "exact \"%s\" text) does not verify", what, cn, member);
		goto fail;
	}
	*chain = sk;
	return 0;
fail:
	sk_X509_pop_free(sk, X509_free);
	json_decref(*value);
	*value = NULL;
	return -1;
}

static int
crl_check_cert(X509_CRL *crl, X509 *x, const char *crlname,
    struct error *err)
{
	X509_REVOKED *rev = NULL;
	char cn[64], *ser;
	BIGNUM *bn;

	if (X509_CRL_get0_by_cert(crl, &rev, x) == 1 && rev != NULL) {
		dcap_name_cn(X509_get_subject_name(x), cn, sizeof(cn));
		bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		ser = bn ? BN_bn2hex(bn) : NULL;
		error_set(err, "certificate \"%s\" (serial %s) is revoked by "
		    "the %s", cn, ser ? ser : "?", crlname);
		OPENSSL_free(ser);
		BN_free(bn);
		return -1;
	}
	return 0;
}

static int
coll_build(const char *key, const char *src, int tdx, const uint8_t fmspc[6],
    int platform_ca, struct coll_entry **out, struct error *err)
{
	struct coll_entry *e = xcalloc(1, sizeof(*e));
	struct dcap_raw raw;
	json_t *v = NULL;
	STACK_OF(X509) *tcb_chain = NULL, *qe_chain = NULL, *crl_chain = NULL;
	X509 *root = dcap_pinned_root();
	char fm[13];

	snprintf(e->key, sizeof(e->key), "%s", key);
	e->pccs = strncmp(src, "pccs:", 5) == 0;
	hex_encode(fmspc, 6, fm);
	if (dcap_source_fetch(src, tdx, fmspc, platform_ca, &raw, err) != 0) {
		dcap_raw_free(&raw);
		free(e);
		return -1;
	}
	e->desc = xstrdup(raw.desc ? raw.desc : src);
	/* Root CA CRL first: it is needed to check the signers. */
	e->root_crl = crl_parse(&raw.root_crl, "root CA CRL",
	    &e->root_crl_this, &e->root_crl_next, err);
	if (e->root_crl == NULL)
		goto fail;
	if (root == NULL || X509_NAME_cmp(X509_CRL_get_issuer(e->root_crl),
	    X509_get_subject_name(root)) != 0 ||
	    X509_CRL_verify(e->root_crl, X509_get0_pubkey(root)) != 1) {
		error_set(err, "root CA CRL signature does not verify under the "
		    "pinned Intel SGX Root CA");
		goto fail;
	}
	e->root_crl_num = crl_number(e->root_crl);
	/* TCB info. */
	if (verify_signed(&raw.tcb_info, "tcbInfo", &raw.tcb_chain,
	    "TCB info", &v, &e->signer_nb[0], &e->signer_na[0],
	    e->signer_cn[0], sizeof(e->signer_cn[0]), &tcb_chain, err) != 0)
		goto fail;
	if (dcap_tcb_info_from_json(v, &e->tcb, err) != 0)
		goto fail;
	json_decref(v);
	v = NULL;
	if (e->tcb->is_tdx != tdx) {
		error_set(err, "%s holds %s TCB info, the quote is %s", e->desc,
		    e->tcb->is_tdx ? "TDX" : "SGX", tdx ? "TDX" : "SGX");
		goto fail;
	}
	if (memcmp(e->tcb->fmspc, fmspc, 6) != 0) {
		char have[13];

		hex_encode(e->tcb->fmspc, 6, have);
		error_set(err, "no collateral for FMSPC %s (the TCB info "
		    "there is for FMSPC %s)", fm, have);
		goto fail;
	}
	/* QE identity. */
	if (verify_signed(&raw.qe_identity, "enclaveIdentity", &raw.qe_chain,
	    "QE identity", &v, &e->signer_nb[1], &e->signer_na[1],
	    e->signer_cn[1], sizeof(e->signer_cn[1]), &qe_chain, err) != 0)
		goto fail;
	if (dcap_qe_identity_from_json(v, &e->qe, err) != 0)
		goto fail;
	json_decref(v);
	v = NULL;
	if (e->qe->is_td_qe != tdx) {
		error_set(err, "%s holds the %s identity, the quote is %s",
		    e->desc, e->qe->is_td_qe ? "TD_QE" : "QE",
		    tdx ? "TDX" : "SGX");
		goto fail;
	}
	if (crl_check_cert(e->root_crl, sk_X509_value(tcb_chain, 0),
	    "root CA CRL", err) != 0 ||
	    crl_check_cert(e->root_crl, sk_X509_value(qe_chain, 0),
	    "root CA CRL", err) != 0)
		goto fail;
	/* PCK CRL (its signature against the quote's CA is checked at use;
	 * its own issuer chain, when given, is checked here). */
	e->pck_crl = crl_parse(&raw.pck_crl, "PCK CRL", &e->pck_crl_this,
	    &e->pck_crl_next, err);
	if (e->pck_crl == NULL)
		goto fail;
	e->pck_crl_num = crl_number(e->pck_crl);
	if (raw.pck_crl_chain.len > 0) {
		crl_chain = dcap_pem_chain(raw.pck_crl_chain.data,
		    raw.pck_crl_chain.len, 3, err);
		if (crl_chain == NULL) {
			error_prefix(err, "PCK CRL issuer chain");
			goto fail;
		}
		if (verify_to_root(crl_chain, "PCK CRL issuer chain",
		    err) != 0 ||
		    crl_check_cert(e->root_crl, sk_X509_value(crl_chain, 0),
		    "root CA CRL", err) != 0)
			goto fail;
		if (X509_CRL_verify(e->pck_crl, X509_get0_pubkey(
		    sk_X509_value(crl_chain, 0))) != 1) {
			error_set(err, "PCK CRL signature does not verify under "
			    "its issuer chain");
			goto fail;
		}
		e->pck_crl_issuer = sk_X509_value(crl_chain, 0);
		X509_up_ref(e->pck_crl_issuer);
	}
	sk_X509_pop_free(tcb_chain, X509_free);
	sk_X509_pop_free(qe_chain, X509_free);
	sk_X509_pop_free(crl_chain, X509_free);
	dcap_raw_free(&raw);
	e->loaded_ns = now_mono_ns();
	*out = e;
	return 0;
fail:
	error_prefix(err, "DCAP collateral (%s)", e->desc ? e->desc : src);
	json_decref(v);
	sk_X509_pop_free(tcb_chain, X509_free);
	sk_X509_pop_free(qe_chain, X509_free);
	sk_X509_pop_free(crl_chain, X509_free);
	dcap_raw_free(&raw);
	coll_free(e);
	return -1;
}

static struct coll_entry *
coll_get(const char *key, const char *src, int tdx, const uint8_t fmspc[6],
    int platform_ca, struct error *err)
{
	struct coll_entry *e = NULL, *victim = NULL, *mine = NULL;
	uint64_t now = now_mono_ns();
	size_t i, vi = 0;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < coll_n; i++) {
		struct coll_entry *c = coll_cache[i];

		if (strcmp(c->key, key) != 0)
			continue;
		if (now - c->loaded_ns < (c->pccs ? COLL_TTL_PCCS_NS :
		    COLL_TTL_LOCAL_NS)) {
			e = c;
			e->refs++;
			e->last_use = ++cache_clock;
		}
		break;
	}
	pthread_mutex_unlock(&cache_mu);
	if (e != NULL)
		return e;
	if (coll_build(key, src, tdx, fmspc, platform_ca, &mine, err) != 0)
		return NULL;
	pthread_mutex_lock(&cache_mu);
	mine->gen = ++coll_gen;
	mine->refs = 1;
	mine->last_use = ++cache_clock;
	for (i = 0; i < coll_n; i++)
		if (strcmp(coll_cache[i]->key, key) == 0) {
			victim = coll_cache[i];
			vi = i;
			break;
		}
	if (victim == NULL && coll_n == COLL_CACHE_MAX) {
		for (i = 0; i < coll_n; i++)
			if (victim == NULL ||
			    coll_cache[i]->last_use < victim->last_use) {
				victim = coll_cache[i];
				vi = i;
			}
	}
	if (victim != NULL) {
		coll_cache[vi] = mine;
		victim->dead = 1;
		if (victim->refs > 0)
			victim = NULL;
	} else {
		coll_cache[coll_n++] = mine;
	}
	pthread_mutex_unlock(&cache_mu);
	coll_free(victim);
	return mine;
}

/*
 * A collateral item's window at `now`. Collateral past its nextUpdate is
 * what Intel's QVL and Trustee report as collateral expiration, not as a
 * failure: every signature is still checked, the item is appended to
 * `expired` (surfaced as the claims "collateral_expiration_status": "1"
 * and "collateral_expired"), and the policy decides (Trustee's default
 * refuses "genuine hardware"). Not yet valid remains an error.
 */
static int
coll_window(const char *what, int64_t from, int64_t to,
    const char *from_name, const char *to_name, int64_t now,
    json_t *expired, struct error *err)
{
	char a[TIME_RFC3339_LEN];

	if (now > to) {
		time_format_rfc3339(to, a);
		json_array_append_new(expired, json_sprintf("%s %s %s", what,
		    to_name, a));
		return 0;
	}
	return check_window("collateral", what, from, to, from_name, to_name,
	    now, err);
}

/* Per-call checks of the collateral against the PCK chain at `now`. */
static int
coll_check(struct coll_entry *c, struct pck_entry *p, int64_t now,
    json_t *expired, struct error *err)
{
	char what[128], fm[13], cn[64];
	uint64_t gen;
	int i;

	hex_encode(c->tcb->fmspc, 6, fm);
	snprintf(what, sizeof(what), "TCB info (%s, FMSPC %s)",
	    c->tcb->is_tdx ? "TDX" : "SGX", fm);
	if (coll_window(what, c->tcb->issue_date, c->tcb->next_update,
	    "issueDate", "nextUpdate", now, expired, err) != 0)
		goto fail;
	snprintf(what, sizeof(what), "QE identity (%s)",
	    c->qe->is_td_qe ? "TD_QE" : "QE");
	if (coll_window(what, c->qe->issue_date, c->qe->next_update,
	    "issueDate", "nextUpdate", now, expired, err) != 0)
		goto fail;
	dcap_name_cn(X509_CRL_get_issuer(c->pck_crl), cn, sizeof(cn));
	snprintf(what, sizeof(what), "PCK CRL (%s)", cn);
	if (coll_window(what, c->pck_crl_this, c->pck_crl_next, "thisUpdate",
	    "nextUpdate", now, expired, err) != 0)
		goto fail;
	if (coll_window("root CA CRL", c->root_crl_this, c->root_crl_next,
	    "thisUpdate", "nextUpdate", now, expired, err) != 0)
		goto fail;
	for (i = 0; i < 2; i++) {
		snprintf(what, sizeof(what), "%s signing certificate \"%s\"",
		    i == 0 ? "TCB info" : "QE identity", c->signer_cn[i]);
		if (coll_window(what, c->signer_nb[i], c->signer_na[i],
		    "notBefore", "notAfter", now, expired, err) != 0)
			goto fail;
	}
	pthread_mutex_lock(&cache_mu);
	gen = p->crl_gen;
	pthread_mutex_unlock(&cache_mu);
	if (gen == c->gen)
		return 0;
	/* Revocation: the PCK CA by the root CA CRL, the PCK certificate by
	 * the PCK CRL, which must be the one its CA issued. */
	if (crl_check_cert(c->root_crl, p->inter, "root CA CRL", err) != 0)
		return error_prefix(err, "PCK certificate chain");
	if (X509_NAME_cmp(X509_CRL_get_issuer(c->pck_crl),
	    X509_get_subject_name(p->inter)) != 0) {
		char want[64];

		dcap_name_cn(X509_get_subject_name(p->inter), want,
		    sizeof(want));
		error_set(err, "PCK CRL is issued by \"%s\" but the PCK "
		    "certificate's issuer is \"%s\"", cn, want);
		goto fail;
	}
	if ((c->pck_crl_issuer == NULL || !der_equal(c->pck_crl_issuer,
	    p->inter)) && X509_CRL_verify(c->pck_crl,
	    X509_get0_pubkey(p->inter)) != 1) {
		error_set(err, "PCK CRL signature does not verify under the "
		    "PCK certificate's issuer \"%s\"", cn);
		goto fail;
	}
	if (crl_check_cert(c->pck_crl, p->leaf, "PCK CRL", err) != 0)
		return error_prefix(err, "PCK certificate chain");
	pthread_mutex_lock(&cache_mu);
	p->crl_gen = c->gen;
	pthread_mutex_unlock(&cache_mu);
	return 0;
fail:
	return error_prefix(err, "DCAP collateral (%s)", c->desc);
}

/* ---- claims --------------------------------------------------------------- */

static void
set_time(json_t *o, const char *k, int64_t t)
{
	char s[TIME_RFC3339_LEN];

	time_format_rfc3339(t, s);
	json_object_set_new(o, k, json_string(s));
}

static pthread_once_t rkid_once = PTHREAD_ONCE_INIT;
static uint8_t root_key_id[48];

/* root_key_id: SHA-384 of the root CA's uncompressed public point. */
static void
rkid_init(void)
{
	X509 *root = dcap_pinned_root();
	uint8_t pt[65];
	size_t plen = sizeof(pt);
	unsigned int n = 0;

	if (root != NULL && EVP_PKEY_get_octet_string_param(
	    X509_get0_pubkey(root), "encoded-pub-key", pt, sizeof(pt),
	    &plen) == 1)
		EVP_Digest(pt, plen, root_key_id, &n, EVP_sha384(), NULL);
}

static void
add_supplemental(json_t *c, const struct pck_entry *p,
    const struct coll_entry *k, const struct dcap_tcb_result *r, int64_t now)
{
	static const char *const types[] = { "Standard", "Scalable",
		"Scalable with Integrity" };
	int64_t from[8], to[8], lo, hi, exp;
	uint8_t rev[16];
	size_t i;

	from[0] = p->nb[0]; from[1] = p->nb[1]; from[2] = p->nb[2];
	from[3] = k->signer_nb[0]; from[4] = k->signer_nb[1];
	from[5] = k->root_crl_this; from[6] = k->pck_crl_this;
	from[7] = k->tcb->issue_date < k->qe->issue_date ?
	    k->tcb->issue_date : k->qe->issue_date;
	to[0] = p->na[0]; to[1] = p->na[1]; to[2] = p->na[2];
	to[3] = k->signer_na[0]; to[4] = k->signer_na[1];
	to[5] = k->root_crl_next; to[6] = k->pck_crl_next;
	to[7] = k->tcb->next_update < k->qe->next_update ?
	    k->tcb->next_update : k->qe->next_update;
	lo = hi = from[0];
	exp = to[0];
	for (i = 1; i < 8; i++) {
		if (from[i] < lo)
			lo = from[i];
		if (from[i] > hi)
			hi = from[i];
		if (to[i] < exp)
			exp = to[i];
	}
	if (k->tcb->issue_date > hi)
		hi = k->tcb->issue_date;
	if (k->qe->issue_date > hi)
		hi = k->qe->issue_date;

	json_object_set_new(c, "tcb_status",
	    json_string(dcap_status_name(r->status)));
	json_object_set_new(c, "collateral_expiration_status",
	    json_string(now > exp ? "1" : "0"));
	json_object_set_new(c, "advisory_ids", json_copy(r->advisory_ids));
	set_time(c, "earliest_issue_date", lo);
	set_time(c, "latest_issue_date", hi);
	set_time(c, "earliest_expiration_date", exp);
	set_time(c, "tcb_date", r->tcb_date);
	json_object_set_new(c, "pck_crl_num", json_integer(k->pck_crl_num));
	json_object_set_new(c, "root_ca_crl_num",
	    json_integer(k->root_crl_num));
	json_object_set_new(c, "tcb_eval_num", json_integer(
	    k->tcb->eval_num < k->qe->eval_num ? k->tcb->eval_num :
	    k->qe->eval_num));
	json_object_set_new(c, "platform_provider_id",
	    dcap_json_hex(p->ext.ppid, 16));
	json_object_set_new(c, "sgx_type", json_string(types[p->ext.sgx_type]));
	if (p->ext.sgx_type > 0) {
		json_object_set_new(c, "is_dynamic_platform",
		    json_boolean(p->ext.dynamic_platform));
		json_object_set_new(c, "is_cached_keys",
		    json_boolean(p->ext.cached_keys));
		json_object_set_new(c, "is_smt_enabled",
		    json_boolean(p->ext.smt_enabled));
	}
	pthread_once(&rkid_once, rkid_init);
	json_object_set_new(c, "root_key_id", dcap_json_hex(root_key_id, 48));
	set_time(c, "tcb_date_current", r->tcb_date_current);
	json_object_set_new(c, "tcb_status_current",
	    json_string(dcap_status_name(r->status_current)));
	json_object_set_new(c, "advisory_ids_current",
	    json_copy(r->advisory_ids_current));
	if (p->ext.has_platform_instance_id) {
		for (i = 0; i < 16; i++)
			rev[i] = p->ext.platform_instance_id[15 - i];
		json_object_set_new(c, "platform_instance_id",
		    dcap_json_hex(rev, 16));
	}
}

/* ---- entry points ---------------------------------------------------------- */

int
dcap_verify_quote(const uint8_t *quote, size_t len, uint32_t expect_tee,
    int64_t now, struct dcap_quote *q, json_t **claims, struct error *err)
{
	struct pck_entry *p = NULL;
	struct coll_entry *k = NULL;
	struct dcap_tcb_result tr;
	char src[480], ckey[512], fm[13], what[128];
	const uint8_t *mat_end;
	int tdx = expect_tee == DCAP_TEE_TYPE_TDX, rc, i;
	json_t *c, *expired = NULL;

	*claims = NULL;
	memset(&tr, 0, sizeof(tr));
	if (dcap_quote_parse(quote, len, q, err) != 0)
		return -1;
	if (q->tee_type != expect_tee)
		return error_set(err, "expected %s quote but got a version %u "
		    "quote with TEE type 0x%x", tdx ? "a TDX (v4/v5)" :
		    "an SGX (v3)", q->version, q->tee_type);
	/* The PCK material: everything from the attestation key on. */
	mat_end = q->pck_chain + q->pck_chain_len;
	p = pck_lookup(q->att_key, (size_t)(mat_end - q->att_key));
	if (p == NULL) {
		struct pck_entry *n;

		if (pck_build(q, q->att_key, (size_t)(mat_end - q->att_key), &n,
		    err) != 0)
			return -1;
		p = pck_insert(n);
	}
	rc = dcap_ecdsa_verify_raw(p->att, quote, q->signed_len, q->signature);
	if (rc != 1) {
		error_set(err, "quote signature (ECDSA P-256 by the attestation "
		    "key over the %zu-byte header and report body) does not "
		    "verify", q->signed_len);
		goto fail;
	}
	for (i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "PCK chain certificate \"%s\"",
		    p->cn[i]);
		if (check_window("certificate", what, p->nb[i], p->na[i],
		    "notBefore", "notAfter", now, err) != 0)
			goto fail;
	}
	if (dcap_source_key(src, sizeof(src), err) != 0)
		goto fail;
	hex_encode(p->ext.fmspc, 6, fm);
	snprintf(ckey, sizeof(ckey), "%s|%s|%s|%s", src, tdx ? "tdx" : "sgx",
	    fm, p->platform_ca ? "platform" : "processor");
	k = coll_get(ckey, src, tdx, p->ext.fmspc, p->platform_ca, err);
	if (k == NULL)
		goto fail;
	expired = json_array();
	if (coll_check(k, p, now, expired, err) != 0)
		goto fail;
	if (dcap_tcb_evaluate(q, &p->ext, k->tcb, k->qe, &tr, err) != 0)
		goto fail;
	c = tdx ? dcap_tdx_quote_claims(q) : dcap_sgx_quote_claims(q);
	add_supplemental(c, p, k, &tr, now);
	if (json_array_size(expired) > 0) {
		json_object_set_new(c, "collateral_expiration_status",
		    json_string("1"));
		json_object_set(c, "collateral_expired", expired);
	}
	json_decref(expired);
	json_decref(tr.advisory_ids);
	json_decref(tr.advisory_ids_current);
	coll_release(k);
	pck_release(p);
	*claims = c;
	return 0;
fail:
	json_decref(expired);
	if (k != NULL)
		coll_release(k);
	pck_release(p);
	return -1;
}

int
dcap_verify_td_quote(const uint8_t *quote, size_t len, int64_t now,
    struct dcap_quote *q, json_t **claims, struct error *err)
{
	return dcap_verify_quote(quote, len, DCAP_TEE_TYPE_TDX, now, q, claims,
	    err);
}
