/*
 * test_dcap_tcb.c: the TCB level rules of DCAP (dcap_tcb_evaluate) on
 * synthetic quotes, TCB info and QE identity: SGX components first, then
 * the TDX module and its TDX components, the QE's level, TD 1.5
 * relaunch advice, Revoked and unsupported levels, and the identity
 * checks (MRSIGNERSEAM, QE MRSIGNER, ISVPRODID, masked ATTRIBUTES,
 * FMSPC). No vectors are read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dcap.h"
#include "dcap_internal.h"
#include "util.h"

static uint8_t syn_body[DCAP_TD15_BODY_LEN];
static uint8_t syn_qe[DCAP_SGX_REPORT_LEN];

/* A TD 1.5 quote with TEE_TCB_SVN (isvsvn, major, comp2) and
 * TEE_TCB_SVN2 likewise; QE MRSIGNER ab.., ISVPRODID 2, ISVSVN qesvn. */
static void
syn_quote(struct dcap_quote *q, int td15, const uint8_t svn[3],
    const uint8_t svn2[3], int qesvn)
{
	memset(q, 0, sizeof(*q));
	memset(syn_body, 0, sizeof(syn_body));
	memcpy(syn_body, svn, 3);
	memcpy(syn_body + 584, svn2, 3);
	memset(syn_qe, 0, sizeof(syn_qe));
	memset(syn_qe + 128, 0xab, 32);
	syn_qe[48] = 0x11;
	syn_qe[256] = 2;
	syn_qe[258] = (uint8_t)qesvn;
	q->version = td15 ? 5 : 4;
	q->att_key_type = 2;
	q->tee_type = DCAP_TEE_TYPE_TDX;
	q->body_kind = td15 ? DCAP_BODY_TD15 : DCAP_BODY_TD10;
	q->body = syn_body;
	q->body_len = td15 ? DCAP_TD15_BODY_LEN : DCAP_TD10_BODY_LEN;
	q->tee_tcb_svn = syn_body;
	q->qe_report = syn_qe;
}

static json_t *
syn_level(int sgx0, int pcesvn, int tdx2, const char *status,
    const char *date, const char *adv)
{
	json_t *sgx = json_array(), *tdx = json_array(), *l;
	int i;

	for (i = 0; i < 16; i++) {
		json_array_append_new(sgx, json_pack("{s:i}", "svn",
		    i == 0 ? sgx0 : 0));
		json_array_append_new(tdx, json_pack("{s:i}", "svn",
		    i == 0 ? 9 : i == 2 ? tdx2 : 0));
	}
	l = json_pack("{s:{s:o, s:i, s:o}, s:s, s:s}", "tcb",
	    "sgxtcbcomponents", sgx, "pcesvn", pcesvn, "tdxtcbcomponents", tdx,
	    "tcbDate", date, "tcbStatus", status);
	if (adv != NULL)
		json_object_set_new(l, "advisoryIDs", json_pack("[s]", adv));
	return l;
}

static struct dcap_tcb_info *
syn_tcb_info(json_t *levels, const char *mod_status_old)
{
	json_t *v = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:i, s:i, "
	    "s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s, s:s, s:[{s:{s:i}, s:s, "
	    "s:s}, {s:{s:i}, s:s, s:s, s:[s]}]}], s:o}",
	    "id", "TDX", "version", 3, "issueDate", "2030-01-01T00:00:00Z",
	    "nextUpdate", "2030-02-01T00:00:00Z", "fmspc", "10203040506A",
	    "pceId", "0000", "tcbType", 0, "tcbEvaluationDataNumber", 7,
	    "tdxModule", "mrsigner", "00000000000000000000000000000000000000"
	    "0000000000000000000000000000000000000000000000000000000000",
	    "attributes", "0000000000000000", "attributesMask",
	    "FFFFFFFFFFFFFFFF",
	    "tdxModuleIdentities", "id", "TDX_01", "mrsigner",
	    "000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000000000000000000",
	    "attributes", "0000000000000000", "attributesMask",
	    "FFFFFFFFFFFFFFFF", "tcbLevels", "tcb", "isvsvn", 5, "tcbDate",
	    "2029-06-01T00:00:00Z", "tcbStatus", "UpToDate", "tcb", "isvsvn",
	    2, "tcbDate", "2028-06-01T00:00:00Z", "tcbStatus", mod_status_old,
	    "advisoryIDs", "SA-MOD", "tcbLevels", levels);
	struct dcap_tcb_info *ti = NULL;
	struct error err;

	assert_non_null(v);
	if (dcap_tcb_info_from_json(v, &ti, &err) != 0)
		fail_msg("%s", err.msg);
	json_decref(v);
	return ti;
}

static void
syn_qe_identity(struct dcap_qe_identity *qi, struct dcap_isv_level lv[2],
    const char *old_status)
{
	memset(qi, 0, sizeof(*qi));
	memset(lv, 0, 2 * sizeof(*lv));
	qi->is_td_qe = 1;
	qi->version = 2;
	memset(qi->miscselect_mask, 0xff, 4);
	qi->attributes[0] = 0x11;
	memset(qi->attributes_mask, 0xff, 8);
	qi->attributes_mask[0] = 0xfb;
	memset(qi->mrsigner, 0xab, 32);
	qi->isvprodid = 2;
	lv[0].isvsvn = 4;
	lv[0].tcb_date = 1900000000;
	lv[0].status = DCAP_ST_UPTODATE;
	lv[1].isvsvn = 1;
	lv[1].tcb_date = 1800000000;
	lv[1].status = strcmp(old_status, "Revoked") == 0 ? DCAP_ST_REVOKED :
	    DCAP_ST_OUTOFDATE;
	qi->levels = lv;
	qi->nlevels = 2;
}

static const char *
syn_eval(struct dcap_tcb_info *ti, int td15, const uint8_t svn[3],
    const uint8_t svn2[3], int qesvn, int sgx0, const char *old_q,
    struct error *err)
{
	static char out[64];
	struct dcap_quote q;
	struct dcap_pck_ext p;
	struct dcap_qe_identity qi;
	struct dcap_isv_level lv[2];
	struct dcap_tcb_result r;

	syn_quote(&q, td15, svn, svn2, qesvn);
	syn_qe_identity(&qi, lv, old_q);
	memset(&p, 0, sizeof(p));
	p.comp_svn[0] = (uint8_t)sgx0;
	p.pcesvn = 10;
	memcpy(p.fmspc, ti->fmspc, 6);
	if (dcap_tcb_evaluate(&q, &p, ti, &qi, &r, err) != 0)
		return NULL;
	snprintf(out, sizeof(out), "%s/%s", dcap_status_name(r.status),
	    dcap_status_name(r.status_current));
	json_decref(r.advisory_ids);
	json_decref(r.advisory_ids_current);
	return out;
}

static void
expect_status(struct dcap_tcb_info *ti, int td15, const uint8_t svn[3],
    const uint8_t svn2[3], int qesvn, int sgx0, const char *old_q,
    const char *want)
{
	struct error err;
	const char *got = syn_eval(ti, td15, svn, svn2, qesvn, sgx0, old_q,
	    &err);

	if (got == NULL)
		fail_msg("evaluation failed: %s (expected %s)", err.msg, want);
	if (strcmp(got, want) != 0)
		fail_msg("status %s, expected %s", got, want);
}

static void
expect_tcb_error(struct dcap_tcb_info *ti, int td15, const uint8_t svn[3],
    int qesvn, int sgx0, const char *old_q, const char *needle)
{
	struct error err;

	if (syn_eval(ti, td15, svn, svn, qesvn, sgx0, old_q, &err) != NULL)
		fail_msg("evaluation passed, expected \"%s\"", needle);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void
test_tcb_rules(void **state)
{
	/* Levels, highest first: (sgx comp0, pcesvn, tdx comp2, status). */
	json_t *levels = json_pack("[o, o, o, o]",
	    syn_level(5, 10, 4, "UpToDate", "2029-06-01T00:00:00Z", NULL),
	    syn_level(5, 10, 2, "ConfigurationNeeded", "2029-01-01T00:00:00Z",
	    "SA-CFG"),
	    syn_level(3, 10, 0, "SWHardeningNeeded", "2028-01-01T00:00:00Z",
	    "SA-SW"),
	    syn_level(1, 10, 0, "Revoked", "2020-01-01T00:00:00Z", NULL));
	struct dcap_tcb_info *ti = syn_tcb_info(levels, "OutOfDate");
	const uint8_t cur[3] = { 5, 1, 4 }, old[3] = { 3, 1, 4 };
	const uint8_t oldcfg[3] = { 3, 1, 2 }, cfg[3] = { 5, 1, 2 };
	const uint8_t major0[3] = { 9, 0, 4 }, unknown[3] = { 5, 2, 4 };
	const uint8_t low2[3] = { 5, 1, 1 };

	(void)state;
	/* TDX components from index 2 when the module major is not 0 (the
	 * level's component 0 is 9 > 5). */
	expect_status(ti, 0, cur, cur, 4, 5, "OutOfDate",
	    "UpToDate/UpToDate");
	expect_status(ti, 0, cfg, cfg, 4, 5, "OutOfDate",
	    "ConfigurationNeeded/ConfigurationNeeded");
	/* SGX components decide first: comp0 4 -> SWHardeningNeeded level. */
	expect_status(ti, 0, cur, cur, 4, 4, "OutOfDate",
	    "SWHardeningNeeded/SWHardeningNeeded");
	/* TDX module OutOfDate (isvsvn 3 < 5). */
	expect_status(ti, 0, old, old, 4, 5, "OutOfDate",
	    "OutOfDate/OutOfDate");
	expect_status(ti, 0, oldcfg, oldcfg, 4, 5, "OutOfDate",
	    "OutOfDateConfigurationNeeded/OutOfDateConfigurationNeeded");
	/* QE OutOfDate (ISVSVN 2 < 4). */
	expect_status(ti, 0, cur, cur, 2, 5, "OutOfDate",
	    "OutOfDate/OutOfDate");
	/* TD 1.5: launched on an old module, running the latest one. */
	expect_status(ti, 1, old, cur, 4, 5, "OutOfDate",
	    "TDRelaunchAdvised/UpToDate");
	expect_status(ti, 1, oldcfg, cur, 4, 5, "OutOfDate",
	    "TDRelaunchAdvisedConfigurationNeeded/UpToDate");
	/* The running module must also reach the latest level's TDX
	 * component 2. */
	expect_status(ti, 1, oldcfg, cfg, 4, 5, "OutOfDate",
	    "OutOfDateConfigurationNeeded/ConfigurationNeeded");
	/* ... but not when the QE is out of date. */
	expect_status(ti, 1, old, cur, 2, 5, "OutOfDate",
	    "OutOfDate/OutOfDate");
	/* Errors. */
	expect_tcb_error(ti, 0, cur, 4, 1, "OutOfDate", "Revoked");
	expect_tcb_error(ti, 0, cur, 4, 0, "OutOfDate", "NotSupported");
	/* TDX component 2 too low for the first SGX-matching levels. */
	expect_status(ti, 0, low2, low2, 4, 5, "OutOfDate",
	    "SWHardeningNeeded/SWHardeningNeeded");
	expect_tcb_error(ti, 0, cur, 0, 5, "OutOfDate", "QE TCB not supported");
	expect_tcb_error(ti, 0, cur, 1, 5, "Revoked", "QE TCB status is "
	    "Revoked");
	expect_tcb_error(ti, 0, unknown, 4, 5, "OutOfDate", "TDX_02");
	expect_status(ti, 0, major0, major0, 4, 5, "OutOfDate",
	    "UpToDate/UpToDate");
	syn_body[64] = 1;
	{
		struct error err;
		struct dcap_quote q;
		struct dcap_pck_ext p;
		struct dcap_qe_identity qi;
		struct dcap_isv_level lv[2];
		struct dcap_tcb_result r;

		syn_quote(&q, 0, major0, major0, 4);
		syn_body[64] = 1;	/* MRSIGNERSEAM */
		syn_qe_identity(&qi, lv, "OutOfDate");
		memset(&p, 0, sizeof(p));
		p.comp_svn[0] = 5;
		p.pcesvn = 10;
		memcpy(p.fmspc, ti->fmspc, 6);
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "MRSIGNERSEAM"));
		syn_body[64] = 0;
		syn_qe[128] = 0;	/* QE MRSIGNER */
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "QE identity mismatch: QE "
		    "MRSIGNER"));
		syn_qe[128] = 0xab;
		syn_qe[256] = 3;
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "ISVPRODID 3"));
		syn_qe[256] = 2;
		syn_qe[48] = 0x13;	/* a masked-in attribute bit */
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "ATTRIBUTES"));
		syn_qe[48] = 0x15;	/* bit 2 is masked out: accepted */
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    0);
		assert_int_equal(json_array_size(r.advisory_ids), 0);
		json_decref(r.advisory_ids);
		json_decref(r.advisory_ids_current);
		p.fmspc[0] ^= 1;
		assert_int_equal(dcap_tcb_evaluate(&q, &p, ti, &qi, &r, &err),
		    -1);
		assert_non_null(strstr(err.msg, "FMSPC"));
	}
	dcap_tcb_info_free(ti);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcb_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
