/*
 * dcap_material.c: building the verified material the DCAP caches hold
 * (dcap_cache.c), and the per-call checks of collateral:
 * - PCK material: the quote's PCK chain (three certificates, verified to
 *   the pinned root), its SGX extension, the QE report signature by the
 *   PCK key, the QE report-data binding of the attestation key and QE
 *   auth data, and the attestation key itself;
 * - collateral from a source: the root CA CRL (signed by the pinned root),
 *   TCB info and QE identity (signatures by issuer chains to the pinned
 *   root, not revoked), the PCK CRL (and its issuer chain when given);
 * - at each call: every collateral window at the verification time
 *   (expiry is reported, not failed; see coll_window) and revocation of
 *   the PCK chain, re-checked only when the collateral changed.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dcap_internal.h"

int
dcap_material_pck_build(const struct dcap_quote *q, const uint8_t *mat,
    size_t mat_len, struct dcap_pck_entry **out, struct error *err)
{
	struct dcap_pck_entry *e = xcalloc(1, sizeof(*e));
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
	if (root == NULL || !dcap_x509_der_equal(sk_X509_value(sk, 2), root)) {
		error_set(err, "PCK certificate chain: the root certificate in "
		    "the quote is not the pinned Intel SGX Root CA");
		goto fail;
	}
	if (dcap_x509_verify_to_root(sk, "PCK certificate chain", err) != 0)
		goto fail;
	e->leaf = sk_X509_value(sk, 0);
	e->inter = sk_X509_value(sk, 1);
	X509_up_ref(e->leaf);
	X509_up_ref(e->inter);
	for (i = 0; i < 3; i++)
		if (dcap_x509_cert_times(sk_X509_value(sk, i), &e->nb[i],
		    &e->na[i], e->cn[i], sizeof(e->cn[i]), err) != 0)
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
	dcap_cache_pck_free(e);
	return -1;
}

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
	if (dcap_x509_verify_to_root(sk, what, err) != 0 ||
	    dcap_x509_cert_times(sk_X509_value(sk, 0), nb, na, cn, cncap,
	    err) != 0)
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

int
dcap_material_coll_build(const char *key, const char *src, int tdx,
    const uint8_t fmspc[6], int platform_ca, struct dcap_coll_entry **out,
    struct error *err)
{
	struct dcap_coll_entry *e = xcalloc(1, sizeof(*e));
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
	e->root_crl = dcap_x509_crl_parse(&raw.root_crl, "root CA CRL",
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
	e->root_crl_num = dcap_x509_crl_number(e->root_crl);
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
	if (dcap_x509_crl_check_cert(e->root_crl, sk_X509_value(tcb_chain, 0),
	    "root CA CRL", err) != 0 ||
	    dcap_x509_crl_check_cert(e->root_crl, sk_X509_value(qe_chain, 0),
	    "root CA CRL", err) != 0)
		goto fail;
	/* PCK CRL (its signature against the quote's CA is checked at use;
	 * its own issuer chain, when given, is checked here). */
	e->pck_crl = dcap_x509_crl_parse(&raw.pck_crl, "PCK CRL",
	    &e->pck_crl_this, &e->pck_crl_next, err);
	if (e->pck_crl == NULL)
		goto fail;
	e->pck_crl_num = dcap_x509_crl_number(e->pck_crl);
	if (raw.pck_crl_chain.len > 0) {
		crl_chain = dcap_pem_chain(raw.pck_crl_chain.data,
		    raw.pck_crl_chain.len, 3, err);
		if (crl_chain == NULL) {
			error_prefix(err, "PCK CRL issuer chain");
			goto fail;
		}
		if (dcap_x509_verify_to_root(crl_chain, "PCK CRL issuer chain",
		    err) != 0 ||
		    dcap_x509_crl_check_cert(e->root_crl,
		    sk_X509_value(crl_chain, 0), "root CA CRL", err) != 0)
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
	dcap_cache_coll_free(e);
	return -1;
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
	return dcap_x509_check_window("collateral", what, from, to, from_name,
	    to_name, now, err);
}

/* Per-call checks of the collateral against the PCK chain at `now`. */
int
dcap_material_coll_check(struct dcap_coll_entry *c, struct dcap_pck_entry *p,
    int64_t now, json_t *expired, struct error *err)
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
	gen = dcap_cache_crl_gen(p);
	if (gen == c->gen)
		return 0;
	/* Revocation: the PCK CA by the root CA CRL, the PCK certificate by
	 * the PCK CRL, which must be the one its CA issued. */
	if (dcap_x509_crl_check_cert(c->root_crl, p->inter, "root CA CRL",
	    err) != 0)
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
	if ((c->pck_crl_issuer == NULL ||
	    !dcap_x509_der_equal(c->pck_crl_issuer, p->inter)) &&
	    X509_CRL_verify(c->pck_crl, X509_get0_pubkey(p->inter)) != 1) {
		error_set(err, "PCK CRL signature does not verify under the "
		    "PCK certificate's issuer \"%s\"", cn);
		goto fail;
	}
	if (dcap_x509_crl_check_cert(c->pck_crl, p->leaf, "PCK CRL", err) != 0)
		return error_prefix(err, "PCK certificate chain");
	dcap_cache_set_crl_gen(p, c->gen);
	return 0;
fail:
	return error_prefix(err, "DCAP collateral (%s)", c->desc);
}
