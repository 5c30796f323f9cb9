/*
 * fuzz_dcap_collateral.c: Intel PCS TCB info / QE identity bodies
 * (verifier/dcap_collateral.c) and TCB level matching (dcap_tcb.c) on
 * arbitrary text. The first byte selects the member: 'Q' enclaveIdentity,
 * anything else tcbInfo. A parsed TCB info is then evaluated against a
 * fixed synthetic TD / SGX quote, PCK extension and QE identity.
 *
 * Invariants checked (abort on violation):
 *   - the signed span lies inside the text and re-parses to the member;
 *   - parsed level counts are within the documented bounds;
 *   - a successful evaluation has a status other than Revoked or
 *     NotSupported and a JSON array of advisory IDs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../verifier/dcap_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t body[DCAP_TD15_BODY_LEN];
static uint8_t qe_report[DCAP_SGX_REPORT_LEN];
static struct dcap_isv_level qe_levels[2];

static void
setup_quote(struct dcap_quote *q, int tdx)
{
	memset(q, 0, sizeof(*q));
	memset(body, 0, sizeof(body));
	body[0] = 3;		/* TEE_TCB_SVN: module ISVSVN 3, major 1 */
	body[1] = 1;
	body[2] = 2;
	body[584] = 3;		/* TEE_TCB_SVN2 */
	body[585] = 1;
	body[586] = 2;
	memset(qe_report, 0, sizeof(qe_report));
	memset(qe_report + 128, 0xab, 32);	/* MRSIGNER */
	qe_report[48] = 0x11;			/* ATTRIBUTES */
	qe_report[256] = 2;			/* ISVPRODID */
	qe_report[258] = 4;			/* ISVSVN */
	q->version = tdx ? 5 : 3;
	q->att_key_type = 2;
	q->tee_type = tdx ? DCAP_TEE_TYPE_TDX : DCAP_TEE_TYPE_SGX;
	q->body_kind = tdx ? DCAP_BODY_TD15 : DCAP_BODY_SGX;
	q->body = body;
	q->body_len = tdx ? DCAP_TD15_BODY_LEN : DCAP_SGX_REPORT_LEN;
	q->tee_tcb_svn = tdx ? body : NULL;
	q->qe_report = qe_report;
}

static void
setup_qe(struct dcap_qe_identity *qi, int tdx)
{
	memset(qi, 0, sizeof(*qi));
	qi->is_td_qe = tdx;
	qi->version = 2;
	memset(qi->miscselect_mask, 0xff, 4);
	qi->attributes[0] = 0x11;
	memset(qi->attributes_mask, 0xff, 8);
	qi->attributes_mask[0] = 0xfb;
	memset(qi->mrsigner, 0xab, 32);
	qi->isvprodid = 2;
	qe_levels[0].isvsvn = 4;
	qe_levels[0].status = DCAP_ST_UPTODATE;
	qe_levels[1].isvsvn = 1;
	qe_levels[1].status = DCAP_ST_OUTOFDATE;
	qi->levels = qe_levels;
	qi->nlevels = 2;
}

static void
evaluate(const struct dcap_tcb_info *ti)
{
	struct dcap_quote q;
	struct dcap_pck_ext p;
	struct dcap_qe_identity qi;
	struct dcap_tcb_result r;
	struct error err;
	static const uint8_t comps[16] = { 4, 4, 3, 3, 5, 2, 1, 6 };

	setup_quote(&q, ti->is_tdx);
	setup_qe(&qi, ti->is_tdx);
	memset(&p, 0, sizeof(p));
	memcpy(p.comp_svn, comps, 16);
	p.pcesvn = 12;
	memcpy(p.fmspc, ti->fmspc, 6);		/* reach the level matching */
	memcpy(p.pceid, ti->pceid, 2);
	if (dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err) != 0)
		return;
	if (r.status == DCAP_ST_REVOKED || r.status == DCAP_ST_NOT_SUPPORTED ||
	    !json_is_array(r.advisory_ids) ||
	    !json_is_array(r.advisory_ids_current))
		abort();
	json_decref(r.advisory_ids);
	json_decref(r.advisory_ids_current);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *member;
	const char *text;
	size_t len, off, slen;
	uint8_t sig[64];
	json_t *v, *again;
	struct error err;
	struct dcap_tcb_info *ti;
	struct dcap_qe_identity *qi;

	if (size < 1)
		return 0;
	member = data[0] == 'Q' ? "enclaveIdentity" : "tcbInfo";
	text = (const char *)data + 1;
	len = size - 1;
	if (dcap_signed_json_split(text, len, member, &off, &slen, sig, &v,
	    &err) != 0)
		return 0;
	if (off > len || slen > len - off || slen == 0)
		abort();
	again = json_loadb(text + off, slen, 0, NULL);
	if (again == NULL || !json_equal(again, v))
		abort();
	json_decref(again);
	if (data[0] == 'Q') {
		if (dcap_qe_identity_from_json(v, &qi, &err) == 0) {
			if (qi->nlevels == 0 || qi->nlevels > DCAP_MAX_LEVELS)
				abort();
			dcap_qe_identity_free(qi);
		}
	} else if (dcap_tcb_info_from_json(v, &ti, &err) == 0) {
		if (ti->nlevels == 0 || ti->nlevels > DCAP_MAX_LEVELS ||
		    ti->nmodules > DCAP_MAX_MODULE_IDS)
			abort();
		evaluate(ti);
		dcap_tcb_info_free(ti);
	}
	json_decref(v);
	return 0;
}
