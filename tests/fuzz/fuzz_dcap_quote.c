/*
 * fuzz_dcap_quote.c: the DCAP quote parser (verifier/dcap_quote.c) with
 * its certification data, the quote claims and the strict PEM chain
 * splitter on arbitrary bytes.
 *
 * Invariants checked (abort on violation):
 *   - every pointer of a parsed quote lies inside the input and the
 *     regions are laid out in order (header, body, signature data);
 *   - bytes after the signature data are all zero;
 *   - version, TEE type and body kind agree;
 *   - the claims of a parsed quote are built without failure, and
 *     wrap_raw accepts exactly the quotes of its TEE.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "../../verifier/dcap_internal.h"
#include "../../verifier/verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const uint8_t *base, size_t len, const uint8_t *p, size_t n)
{
	if (p == NULL || p < base || n > len || (size_t)(p - base) > len - n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dcap_quote q;
	struct error err;
	json_t *c, *ev = NULL;
	STACK_OF(X509) *sk;
	size_t i;
	int rc;

	if (dcap_quote_parse(data, size, &q, &err) != 0) {
		if (err.msg[0] == 0)
			abort();
		return 0;
	}
	inside(data, size, q.header, DCAP_HEADER_LEN);
	inside(data, size, q.body, q.body_len);
	inside(data, size, q.signature, 64);
	inside(data, size, q.att_key, 64);
	inside(data, size, q.qe_report, DCAP_SGX_REPORT_LEN);
	inside(data, size, q.qe_report_sig, 64);
	inside(data, size, q.pck_chain, q.pck_chain_len);
	inside(data, size, q.report_data, 64);
	if (q.qe_auth_len > 0)
		inside(data, size, q.qe_auth, q.qe_auth_len);
	if (q.signed_len != (size_t)(q.body + q.body_len - data) ||
	    q.signature < data + q.signed_len || q.att_key_type != 2)
		abort();
	for (i = size - q.trailing_len; i < size; i++)
		if (data[i] != 0)
			abort();
	if (q.version == 3) {
		if (q.tee_type != DCAP_TEE_TYPE_SGX ||
		    q.body_kind != DCAP_BODY_SGX || q.config_id == NULL)
			abort();
		c = dcap_sgx_quote_claims(&q);
	} else {
		if (q.tee_type != DCAP_TEE_TYPE_TDX ||
		    q.body_kind == DCAP_BODY_SGX || q.mr_config_id == NULL)
			abort();
		for (i = 0; i < 4; i++)
			inside(data, size, q.rtmr[i], 48);
		c = dcap_tdx_quote_claims(&q);
	}
	if (c == NULL || json_object_size(c) < 2)
		abort();
	json_decref(c);
	rc = (q.version == 3 ? verifier_sgx : verifier_tdx).wrap_raw(data,
	    size, &ev, &err);
	if (rc != 0 || ev == NULL)
		abort();
	json_decref(ev);
	if ((q.version == 3 ? verifier_tdx : verifier_sgx).wrap_raw(data,
	    size, &ev, &err) == 0)
		abort();
	sk = dcap_pem_chain(q.pck_chain, q.pck_chain_len, 4, &err);
	if (sk != NULL) {
		if (sk_X509_num(sk) < 1 || sk_X509_num(sk) > 4)
			abort();
		sk_X509_pop_free(sk, X509_free);
	}
	return 0;
}
