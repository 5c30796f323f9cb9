/*
 * dcap.c: ECDSA DCAP quote verification (what Intel's QVL does for
 * Trustee, reference/attestation-service.md §1.4 step 4), with two caches:
 *
 * - verified PCK material, keyed by everything from the attestation key
 *   to the end of the PCK chain (the bytes themselves, compared in full
 *   on lookup): the QE report signature,
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
 * The caches are in dcap_cache.c, what they hold is built and checked in
 * dcap_material.c (with dcap_x509.c's chain, window and CRL checks); this
 * file is the entry points and the supplemental claims.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dcap_internal.h"

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
add_supplemental(json_t *c, const struct dcap_pck_entry *p,
    const struct dcap_coll_entry *k, const struct dcap_tcb_result *r,
    int64_t now)
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
	struct dcap_pck_entry *p = NULL;
	struct dcap_coll_entry *k = NULL;
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
	p = dcap_cache_pck_lookup(q->att_key, (size_t)(mat_end - q->att_key));
	if (p == NULL) {
		struct dcap_pck_entry *n;

		if (dcap_material_pck_build(q, q->att_key,
		    (size_t)(mat_end - q->att_key), &n, err) != 0)
			return -1;
		p = dcap_cache_pck_insert(n);
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
		if (dcap_x509_check_window("certificate", what, p->nb[i],
		    p->na[i], "notBefore", "notAfter", now, err) != 0)
			goto fail;
	}
	if (dcap_source_key(src, sizeof(src), err) != 0)
		goto fail;
	hex_encode(p->ext.fmspc, 6, fm);
	snprintf(ckey, sizeof(ckey), "%s|%s|%s|%s", src, tdx ? "tdx" : "sgx",
	    fm, p->platform_ca ? "platform" : "processor");
	k = dcap_cache_coll_get(ckey, src, tdx, p->ext.fmspc, p->platform_ca,
	    err);
	if (k == NULL)
		goto fail;
	expired = json_array();
	if (dcap_material_coll_check(k, p, now, expired, err) != 0)
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
	dcap_cache_coll_release(k);
	dcap_cache_pck_release(p);
	*claims = c;
	return 0;
fail:
	json_decref(expired);
	if (k != NULL)
		dcap_cache_coll_release(k);
	dcap_cache_pck_release(p);
	return -1;
}

int
dcap_verify_td_quote(const uint8_t *quote, size_t len, int64_t now,
    struct dcap_quote *q, json_t **claims, struct error *err)
{
	return dcap_verify_quote(quote, len, DCAP_TEE_TYPE_TDX, now, q, claims,
	    err);
}
