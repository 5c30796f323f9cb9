/*
 * fuzz_snp_report.c: the SEV-SNP report parser, its serde JSON form and
 * the backend's evidence handling (verifier/snp*.c).
 *
 * Input: one mode byte, then the payload.
 *   mode % 3 == 0: payload zero-padded/truncated to 1184 bytes, parsed;
 *   mode % 3 == 1: payload parsed as is (length must be exact);
 *   mode % 3 == 2: payload is evidence JSON: its attestation_report is
 *                  rebuilt to bytes, and the whole evidence is run through
 *                  the backend's verify (no certificate source is
 *                  configured, so chains fail; certificates in the
 *                  evidence reach the X.509 and chain code).
 * Invariants (abort on violation):
 *   - a parsed report's JSON form rebuilds to bytes that parse to the same
 *     fields, and its JSON form is then a fixed point;
 *   - bytes rebuilt from a parsed report are zero in every reserved
 *     area;
 *   - verify never succeeds without a valid AMD-signed chain, and on
 *     failure sets no claims and a non-empty message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../lib/util.h"
#include "../../verifier/snp.h"
#include "../../verifier/verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same_fields(const struct snp_report *a, const struct snp_report *b)
{
	struct snp_report x = *a, y = *b;

	/* raw differs in reserved bytes; everything else must match */
	memset(x.raw, 0, sizeof(x.raw));
	memset(y.raw, 0, sizeof(y.raw));
	return memcmp(&x, &y, sizeof(x)) == 0;
}

static void
check_reserved_zero(const uint8_t *b)
{
	static const struct {
		size_t lo, hi;
	} rsv[] = {
		{ 0x04c, 0x050 }, { 0x18b, 0x1a0 }, { 0x1eb, 0x1ec },
		{ 0x1ef, 0x1f0 }, { 0x208, 0x2a0 }, { 0x330, SNP_REPORT_SIZE },
	};
	size_t i, j;

	for (i = 0; i < sizeof(rsv) / sizeof(rsv[0]); i++)
		for (j = rsv[i].lo; j < rsv[i].hi; j++)
			if (b[j] != 0)
				abort();
}

/* r -> JSON -> bytes -> r2: same JSON form; a second trip is a fixed
 * point (the first may drop bytes that sit in reserved areas). */
static void
roundtrip(const struct snp_report *r)
{
	struct snp_report r2, r3;
	uint8_t raw[SNP_REPORT_SIZE];
	struct error err;
	json_t *j, *j2, *c;

	j = snp_report_to_json(r);
	if (j == NULL) {
		/* only when a u64 has bit 63 set */
		if (r->policy <= INT64_MAX && r->platform_info <= INT64_MAX &&
		    r->launch_mit_vector <= INT64_MAX &&
		    r->current_mit_vector <= INT64_MAX)
			abort();
		return;
	}
	if (snp_report_from_json(j, raw, &err) < 0)
		abort();
	check_reserved_zero(raw);
	if (snp_report_parse(raw, sizeof(raw), &r2, &err) < 0)
		abort();
	j2 = snp_report_to_json(&r2);
	if (!json_equal(j, j2))
		abort();
	json_decref(j2);
	j2 = snp_report_to_json(&r2);
	if (snp_report_from_json(j2, raw, &err) < 0 ||
	    snp_report_parse(raw, sizeof(raw), &r3, &err) < 0 ||
	    !same_fields(&r2, &r3) || memcmp(r2.raw, r3.raw, sizeof(raw)) != 0)
		abort();
	c = snp_report_claims(&r2);
	if (c == NULL || json_object_size(c) < 14)
		abort();
	json_decref(c);
	json_decref(j2);
	json_decref(j);
}

static void
fuzz_raw(const uint8_t *p, size_t n, int pad)
{
	uint8_t buf[SNP_REPORT_SIZE];
	struct snp_report r;
	struct error err;
	json_t *ev = NULL;

	if (pad) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, p, n < sizeof(buf) ? n : sizeof(buf));
		p = buf;
		n = sizeof(buf);
	}
	if (snp_report_parse(p, n, &r, &err) < 0) {
		if (verifier_snp.wrap_raw(p, n, &ev, &err) == 0 || ev != NULL)
			abort();
		return;
	}
	roundtrip(&r);
	if (verifier_snp.wrap_raw(p, n, &ev, &err) == 0) {
		if (ev == NULL)
			abort();
		json_decref(ev);
	} else if (r.policy <= INT64_MAX && r.platform_info <= INT64_MAX &&
	    r.launch_mit_vector <= INT64_MAX &&
	    r.current_mit_vector <= INT64_MAX) {
		abort();
	}
}

static void
fuzz_json(const uint8_t *p, size_t n)
{
	struct verifier_input in;
	uint8_t raw[SNP_REPORT_SIZE];
	struct snp_report r;
	struct error err;
	json_t *ev, *claims = (json_t *)1;

	ev = json_loadb((const char *)p, n, JSON_DECODE_ANY, NULL);
	if (ev == NULL)
		return;
	if (snp_report_from_json(json_object_get(ev, "attestation_report"),
	    raw, &err) == 0) {
		if (snp_report_parse(raw, sizeof(raw), &r, &err) == 0) {
			roundtrip(&r);
		}
	}
	memset(&in, 0, sizeof(in));
	in.evidence = ev;
	in.now = 1767225600;
	err.msg[0] = '\0';
	if (verifier_snp.verify(&in, &claims, &err) == 0)
		abort();	/* no AMD-signed chain can be forged here */
	if (claims != NULL || err.msg[0] == '\0')
		abort();
	json_decref(ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	if (!init) {
		verifier_configure(NULL);
		init = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_raw(data + 1, size - 1, 1);
		break;
	case 1:
		fuzz_raw(data + 1, size - 1, 0);
		break;
	default:
		fuzz_json(data + 1, size - 1);
		break;
	}
	return 0;
}
