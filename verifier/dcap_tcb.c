/*
 * dcap_tcb.c: QE identity matching and TCB level matching, with the status
 * rules of Intel's quote verification library (facts: Intel PCS API v4 and
 * the QVL's documented behaviour):
 *
 * - QE identity: MRSIGNER and ISVPRODID equal; MISCSELECT and ATTRIBUTES
 *   equal under their masks; QE TCB = the first level (highest first) with
 *   isvsvn <= the QE's ISVSVN (none: NotSupported).
 * - Platform TCB: the first TCB level whose 16 SGX component SVNs and
 *   PCESVN are all <= the PCK certificate's; for TDX the same level must
 *   also have every tdxtcbcomponents SVN <= TEE_TCB_SVN, from index 2 when
 *   TEE_TCB_SVN[1] (the TDX module major version) is not 0. None:
 *   NotSupported.
 * - TDX module: major 0 -> tdxModule (MRSIGNERSEAM, masked SEAMATTRIBUTES)
 *   and no module status of its own; major N -> tdxModuleIdentities
 *   "TDX_%02X" whose first level with isvsvn <= TEE_TCB_SVN[0] gives the
 *   module status (none: NotSupported). Module OutOfDate turns UpToDate /
 *   SWHardeningNeeded into OutOfDate and the Configuration* statuses into
 *   OutOfDateConfigurationNeeded; module Revoked -> Revoked.
 * - TD 1.5 relaunch: SGX status acceptable, TDX status OutOfDate* because
 *   of an OutOfDate module, QE not OutOfDate, and TEE_TCB_SVN2 (the module
 *   now running) reaches the latest module level and the latest level's
 *   TDX component 2 -> TDRelaunchAdvised[ConfigurationNeeded].
 * - QE OutOfDate converges the same way as the module; QE Revoked ->
 *   Revoked.
 * Revoked and NotSupported are errors for the caller (Trustee refuses
 * them).
 */
#include <string.h>

#include "dcap_internal.h"

static int
is_config(enum dcap_status s)
{
	return s == DCAP_ST_CONFIG || s == DCAP_ST_OUTOFDATE_CONFIG ||
	    s == DCAP_ST_CONFIG_SWHARDENING || s == DCAP_ST_TD_RELAUNCH_CONFIG;
}

/* Apply an OutOfDate / Revoked side status (QE or TDX module). */
static enum dcap_status
converge(enum dcap_status tcb, enum dcap_status side)
{
	if (side == DCAP_ST_OUTOFDATE) {
		if (tcb == DCAP_ST_UPTODATE || tcb == DCAP_ST_SWHARDENING)
			return DCAP_ST_OUTOFDATE;
		if (tcb == DCAP_ST_CONFIG || tcb == DCAP_ST_CONFIG_SWHARDENING)
			return DCAP_ST_OUTOFDATE_CONFIG;
	}
	if (side == DCAP_ST_REVOKED)
		return DCAP_ST_REVOKED;
	return tcb;
}

static void
adv_add(json_t *arr, const struct dcap_advisories *a)
{
	size_t i, j;

	for (i = 0; i < a->n; i++) {
		int dup = 0;

		for (j = 0; j < json_array_size(arr); j++)
			if (strcmp(json_string_value(json_array_get(arr, j)),
			    a->ids[i]) == 0)
				dup = 1;
		if (!dup)
			json_array_append_new(arr, json_string(a->ids[i]));
	}
}

static void
hexs(const uint8_t *p, size_t n, char *out)
{
	hex_encode(p, n, out);
}

static int
match_qe(const struct dcap_quote *q, const struct dcap_qe_identity *qi,
    const struct dcap_isv_level **lvl, struct error *err)
{
	const uint8_t *r = q->qe_report;
	uint8_t a[16], b[16];
	char h1[65], h2[65];
	uint16_t prodid = (uint16_t)(r[256] | (r[257] << 8));
	uint16_t svn = (uint16_t)(r[258] | (r[259] << 8));
	size_t i;

	if (qi->is_td_qe != (q->tee_type == DCAP_TEE_TYPE_TDX))
		return error_set(err, "QE identity is for %s but the quote is "
		    "%s", qi->is_td_qe ? "TD_QE" : "QE",
		    q->tee_type == DCAP_TEE_TYPE_TDX ? "TDX" : "SGX");
	if (memcmp(r + 128, qi->mrsigner, 32) != 0) {
		hexs(r + 128, 32, h1);
		hexs(qi->mrsigner, 32, h2);
		return error_set(err, "QE identity mismatch: QE MRSIGNER %s, "
		    "expected %s", h1, h2);
	}
	if (prodid != qi->isvprodid)
		return error_set(err, "QE identity mismatch: QE ISVPRODID %u, "
		    "expected %u", prodid, qi->isvprodid);
	for (i = 0; i < 4; i++) {
		a[i] = r[16 + i] & qi->miscselect_mask[i];
		b[i] = qi->miscselect[i] & qi->miscselect_mask[i];
	}
	if (memcmp(a, b, 4) != 0) {
		hexs(r + 16, 4, h1);
		hexs(qi->miscselect, 4, h2);
		return error_set(err, "QE identity mismatch: QE MISCSELECT %s "
		    "does not match %s under the mask", h1, h2);
	}
	for (i = 0; i < 16; i++) {
		a[i] = r[48 + i] & qi->attributes_mask[i];
		b[i] = qi->attributes[i] & qi->attributes_mask[i];
	}
	if (memcmp(a, b, 16) != 0) {
		hexs(r + 48, 16, h1);
		hexs(qi->attributes, 16, h2);
		return error_set(err, "QE identity mismatch: QE ATTRIBUTES %s "
		    "does not match %s under the mask", h1, h2);
	}
	for (i = 0; i < qi->nlevels; i++) {
		if (svn >= qi->levels[i].isvsvn) {
			*lvl = &qi->levels[i];
			if (qi->levels[i].status == DCAP_ST_REVOKED)
				return error_set(err, "QE TCB status is "
				    "Revoked (QE ISVSVN %u)", svn);
			return 0;
		}
	}
	return error_set(err, "QE TCB not supported: QE ISVSVN %u is below "
	    "every level of the QE identity (NotSupported)", svn);
}

static int
sgx_ge(const struct dcap_pck_ext *p, const struct dcap_tcb_level *l)
{
	int i;

	for (i = 0; i < 16; i++)
		if (p->comp_svn[i] < l->sgx_svn[i])
			return 0;
	return p->pcesvn >= l->pcesvn;
}

static int
tdx_ge(const uint8_t svn[16], const struct dcap_tcb_level *l)
{
	int i = svn[1] > 0 ? 2 : 0;

	if (!l->has_tdx)
		return 0;
	for (; i < 16; i++)
		if (svn[i] < l->tdx_svn[i])
			return 0;
	return 1;
}

/* The TDX module identity for a TEE_TCB_SVN major version, or NULL. */
static const struct dcap_module_identity *
find_module(const struct dcap_tcb_info *ti, uint8_t major)
{
	char id[8];
	size_t i;

	snprintf(id, sizeof(id), "TDX_%02X", major);
	for (i = 0; i < ti->nmodules; i++)
		if (strcmp(ti->modules[i].id, id) == 0)
			return &ti->modules[i];
	return NULL;
}

/* Module check: 0 with *mlvl (NULL when major 0) or -1. */
static int
check_module(const struct dcap_quote *q, const struct dcap_tcb_info *ti,
    const uint8_t svn[16], const struct dcap_isv_level **mlvl,
    struct error *err)
{
	const uint8_t *mrsigner_seam = q->body + 64;
	const uint8_t *seam_attr = q->body + 112;
	const uint8_t *signer, *attr, *mask;
	const struct dcap_module_identity *m = NULL;
	char h1[97], h2[97];
	size_t i;

	*mlvl = NULL;
	if (svn[1] == 0) {
		if (!ti->has_tdx_module)
			return error_set(err, "TCB info has no tdxModule to "
			    "check the TDX module against");
		signer = ti->module_mrsigner;
		attr = ti->module_attributes;
		mask = ti->module_attributes_mask;
	} else {
		m = find_module(ti, svn[1]);
		if (m == NULL)
			return error_set(err, "TDX module mismatch: TCB info has "
			    "no tdxModuleIdentities entry TDX_%02X for TDX "
			    "module major version %u", svn[1], svn[1]);
		signer = m->mrsigner;
		attr = m->attributes;
		mask = m->attributes_mask;
	}
	if (memcmp(mrsigner_seam, signer, 48) != 0) {
		hexs(mrsigner_seam, 48, h1);
		hexs(signer, 48, h2);
		return error_set(err, "TDX module mismatch: MRSIGNERSEAM %s, "
		    "expected %s", h1, h2);
	}
	for (i = 0; i < 8; i++)
		if ((seam_attr[i] & mask[i]) != (attr[i] & mask[i])) {
			hexs(seam_attr, 8, h1);
			hexs(attr, 8, h2);
			return error_set(err, "TDX module mismatch: "
			    "SEAMATTRIBUTES %s do not match %s under the mask",
			    h1, h2);
		}
	if (m == NULL)
		return 0;
	for (i = 0; i < m->nlevels; i++)
		if (svn[0] >= m->levels[i].isvsvn) {
			*mlvl = &m->levels[i];
			return 0;
		}
	return error_set(err, "TDX module TCB not supported: ISVSVN %u of "
	    "module %s is below every level (NotSupported)", svn[0], m->id);
}

static void
describe_nomatch(const struct dcap_pck_ext *p, const struct dcap_tcb_info *ti,
    const uint8_t *tdx_svn, struct error *err)
{
	char fm[13], comps[64], tee[33];
	size_t i, o = 0;

	hex_encode(ti->fmspc, 6, fm);
	for (i = 0; i < 16 && o + 5 < sizeof(comps); i++)
		o += (size_t)snprintf(comps + o, sizeof(comps) - o, "%s%u",
		    i ? "," : "", p->comp_svn[i]);
	if (tdx_svn != NULL)
		hex_encode(tdx_svn, 16, tee);
	error_set(err, "TCB level not supported (NotSupported): no tcbLevel of "
	    "the TCB info for FMSPC %s matches the platform (PCK SGX "
	    "components [%s], PCESVN %u%s%s)", fm, comps, p->pcesvn,
	    tdx_svn ? ", TEE_TCB_SVN " : "", tdx_svn ? tee : "");
}

/* Platform level for svn (TDX) or the SGX-only level (svn NULL). */
static const struct dcap_tcb_level *
match_level(const struct dcap_pck_ext *p, const struct dcap_tcb_info *ti,
    const uint8_t *svn, const struct dcap_tcb_level **sgx_level)
{
	size_t i;

	*sgx_level = NULL;
	for (i = 0; i < ti->nlevels; i++) {
		const struct dcap_tcb_level *l = &ti->levels[i];

		if (!sgx_ge(p, l))
			continue;
		if (*sgx_level == NULL)
			*sgx_level = l;
		if (svn == NULL || tdx_ge(svn, l))
			return l;
	}
	return NULL;
}

/*
 * Evaluate the platform for one TEE_TCB_SVN (the launch one, or for TD 1.5
 * the current one): status (before QE convergence), date, advisories.
 */
static int
eval_platform(const struct dcap_quote *q, const struct dcap_pck_ext *p,
    const struct dcap_tcb_info *ti, const uint8_t *svn, int relaunch,
    const struct dcap_isv_level *qlvl, enum dcap_status *st, int64_t *date,
    json_t *adv, struct error *err)
{
	const struct dcap_tcb_level *lvl, *sgx_lvl;
	const struct dcap_isv_level *mlvl = NULL;
	enum dcap_status s, sgx_s, mod_s = DCAP_ST_UPTODATE;
	int tdx = svn != NULL;

	lvl = match_level(p, ti, svn, &sgx_lvl);
	if (sgx_lvl == NULL || lvl == NULL) {
		describe_nomatch(p, ti, sgx_lvl == NULL ? NULL : svn, err);
		return -1;
	}
	sgx_s = sgx_lvl->status;
	s = lvl->status;
	*date = lvl->tcb_date;
	adv_add(adv, &lvl->adv);
	if (tdx) {
		if (check_module(q, ti, svn, &mlvl, err) != 0)
			return -1;
		if (mlvl != NULL) {
			mod_s = mlvl->status;
			adv_add(adv, &mlvl->adv);
		}
		s = converge(s, mod_s);
		if (relaunch && q->body_kind == DCAP_BODY_TD15 &&
		    s != DCAP_ST_REVOKED && qlvl->status != DCAP_ST_OUTOFDATE &&
		    (sgx_s == DCAP_ST_UPTODATE || sgx_s == DCAP_ST_SWHARDENING ||
		    sgx_s == DCAP_ST_CONFIG ||
		    sgx_s == DCAP_ST_CONFIG_SWHARDENING) &&
		    (s == DCAP_ST_OUTOFDATE || s == DCAP_ST_OUTOFDATE_CONFIG) &&
		    mod_s == DCAP_ST_OUTOFDATE) {
			const uint8_t *svn2 = q->body + 584;
			const struct dcap_tcb_level *latest = &ti->levels[0];
			uint16_t need0;

			if (svn2[1] == 0) {
				need0 = latest->tdx_svn[0];
			} else {
				const struct dcap_module_identity *m2 =
				    find_module(ti, svn2[1]);

				if (m2 == NULL)
					return error_set(err, "TDX module "
					    "mismatch: no tdxModuleIdentities "
					    "entry TDX_%02X for TEE_TCB_SVN2",
					    svn2[1]);
				need0 = m2->levels[0].isvsvn;
			}
			if (svn2[0] >= need0 && svn2[2] >= latest->tdx_svn[2])
				s = is_config(sgx_s) || is_config(s) ?
				    DCAP_ST_TD_RELAUNCH_CONFIG :
				    DCAP_ST_TD_RELAUNCH;
		}
	}
	s = converge(s, qlvl->status);
	adv_add(adv, &qlvl->adv);
	if (mlvl != NULL && mlvl->tcb_date < *date)
		*date = mlvl->tcb_date;
	if (qlvl->tcb_date < *date)
		*date = qlvl->tcb_date;
	if (s == DCAP_ST_REVOKED)
		return error_set(err, "TCB status is Revoked (%s)",
		    lvl->status == DCAP_ST_REVOKED ? "platform TCB level" :
		    "TDX module");
	*st = s;
	return 0;
}

int
dcap_tcb_evaluate(const struct dcap_quote *q, const struct dcap_pck_ext *p,
    const struct dcap_tcb_info *ti, const struct dcap_qe_identity *qi,
    struct dcap_tcb_result *res, struct error *err)
{
	const struct dcap_isv_level *qlvl = NULL;
	int tdx = q->tee_type == DCAP_TEE_TYPE_TDX;
	char h1[13], h2[13];

	memset(res, 0, sizeof(*res));
	if (ti->is_tdx != tdx)
		return error_set(err, "TCB info is for %s but the quote is %s",
		    ti->is_tdx ? "TDX" : "SGX", tdx ? "TDX" : "SGX");
	if (memcmp(ti->fmspc, p->fmspc, 6) != 0) {
		hex_encode(p->fmspc, 6, h1);
		hex_encode(ti->fmspc, 6, h2);
		return error_set(err, "TCB info FMSPC %s does not match the PCK "
		    "certificate's FMSPC %s", h2, h1);
	}
	if (memcmp(ti->pceid, p->pceid, 2) != 0) {
		hex_encode(p->pceid, 2, h1);
		hex_encode(ti->pceid, 2, h2);
		return error_set(err, "TCB info PCEID %s does not match the PCK "
		    "certificate's PCEID %s", h2, h1);
	}
	if (match_qe(q, qi, &qlvl, err) != 0)
		return -1;
	res->advisory_ids = json_array();
	res->advisory_ids_current = json_array();
	if (eval_platform(q, p, ti, tdx ? q->tee_tcb_svn : NULL, 1, qlvl,
	    &res->status, &res->tcb_date, res->advisory_ids, err) != 0)
		goto fail;
	if (tdx && q->body_kind == DCAP_BODY_TD15) {
		/* The current TCB: the module the TD runs on now. */
		struct error e2;

		if (eval_platform(q, p, ti, q->body + 584, 0, qlvl,
		    &res->status_current, &res->tcb_date_current,
		    res->advisory_ids_current, &e2) != 0) {
			res->status_current = DCAP_ST_NOT_SUPPORTED;
			res->tcb_date_current = res->tcb_date;
		}
	} else {
		res->status_current = res->status;
		res->tcb_date_current = res->tcb_date;
		json_array_extend(res->advisory_ids_current, res->advisory_ids);
	}
	return 0;
fail:
	json_decref(res->advisory_ids);
	json_decref(res->advisory_ids_current);
	res->advisory_ids = res->advisory_ids_current = NULL;
	return -1;
}
