/*
 * tdx.c: the tdx verifier (reference/attestation-service.md §1.4).
 * Evidence {"quote": base64(TD quote v4/v5), "cc_eventlog": null |
 * base64(CCEL table data)}. The quote is verified by dcap.c; then the
 * bindings (report data regularized to 64 vs REPORTDATA, init data
 * regularized to 48 vs MRCONFIGID) and, when an event log is given, its
 * replay against RTMR0..3.
 */
#include <stdlib.h>
#include <string.h>

#include "ccel.h"
#include "dcap_internal.h"
#include "verifier.h"

#define TDX_MAX_QUOTE	(64u * 1024)
#define TDX_MAX_CCEL	(16u * 1024 * 1024)

int
tdx_check_eventlog(const struct dcap_quote *q, const uint8_t *log,
    size_t len, json_t **events, struct error *err)
{
	uint8_t rtmr[4][48];
	char a[97], b[97];
	int i;

	*events = NULL;
	if (q->body_kind == DCAP_BODY_SGX)
		return error_set(err, "an event log needs a TD quote");
	if (ccel_replay(log, len, rtmr, events, err) != 0)
		return error_prefix(err, "CC event log");
	for (i = 0; i < 4; i++) {
		if (memcmp(rtmr[i], q->rtmr[i], 48) == 0)
			continue;
		hex_encode(rtmr[i], 48, a);
		hex_encode(q->rtmr[i], 48, b);
		json_decref(*events);
		*events = NULL;
		return error_set(err, "CC event log does not match the quote: "
		    "replaying it gives RTMR%d %s but the quote has %s", i, a,
		    b);
	}
	return 0;
}

/* Decode a base64 member (missing/null: *out NULL). */
static int
tdx_b64_member(const json_t *ev, const char *k, size_t max, uint8_t **out,
    size_t *len, struct error *err)
{
	const json_t *v = json_object_get(ev, k);

	*out = NULL;
	*len = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return error_set(err, "tdx evidence: \"%s\" is not a string", k);
	if (json_string_length(v) > max / 3 * 4 + 4)
		return error_set(err, "tdx evidence: \"%s\" is too large", k);
	if (dcap_b64_decode(json_string_value(v), json_string_length(v), out,
	    len) != 0)
		return error_set(err, "tdx evidence: \"%s\" is not standard "
		    "base64", k);
	return 0;
}

static int
tdx_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	uint8_t *quote = NULL, *log = NULL;
	size_t qlen, llen;
	struct dcap_quote q;
	json_t *c = NULL, *events = NULL;

	*claims = NULL;
	if (!json_is_object(in->evidence))
		return error_set(err, "tdx evidence is not a JSON object");
	if (tdx_b64_member(in->evidence, "quote", TDX_MAX_QUOTE, &quote, &qlen,
	    err) != 0)
		return -1;
	if (quote == NULL)
		return error_set(err, "tdx evidence has no \"quote\"");
	if (tdx_b64_member(in->evidence, "cc_eventlog", TDX_MAX_CCEL, &log,
	    &llen, err) != 0)
		goto fail;
	if (dcap_verify_quote(quote, qlen, DCAP_TEE_TYPE_TDX, in->now, &q, &c,
	    err) != 0)
		goto fail;
	if (dcap_check_bindings(&q, in->report_data, in->report_data_len,
	    in->init_data_hash, in->init_data_hash_len, err) != 0)
		goto fail;
	if (log != NULL && llen > 0) {
		if (tdx_check_eventlog(&q, log, llen, &events, err) != 0)
			goto fail;
		json_object_set_new(c, "uefi_event_logs", events);
	}
	json_object_set_new(c, "report_data", dcap_json_hex(q.report_data, 64));
	json_object_set_new(c, "init_data", dcap_json_hex(q.mr_config_id, 48));
	free(quote);
	free(log);
	*claims = c;
	return 0;
fail:
	json_decref(c);
	free(quote);
	free(log);
	return -1;
}

static int
tdx_wrap_raw(const uint8_t *buf, size_t len, json_t **evidence,
    struct error *err)
{
	return dcap_wrap_raw_quote(buf, len, DCAP_TEE_TYPE_TDX,
	    "not a TDX quote", evidence, err);
}

const struct verifier_backend verifier_tdx = {
	.tee = "tdx",
	.tee_class = "cpu",
	.verify = tdx_verify,
	.wrap_raw = tdx_wrap_raw,
};
