/*
 * seal_tpm2.c: the TPM 2.0 sealer (a discrete TPM, a firmware TPM, or a
 * confidential VM's vTPM), through the tss2 ESAPI.
 *
 * Seal: create the primary storage key in the owner hierarchy from a
 * fixed template (the TCG ECC P-256 storage key template; the same
 * template on the same TPM always gives the same key, so nothing is
 * persisted in the TPM), then TPM2_Create a KEYEDHASH data object under
 * it holding the secret, fixedTPM|fixedParent, either with an empty auth
 * value (no PCR binding) or with an authPolicy of TPM2_PolicyPCR over the
 * configured PCRs' current values. The payload keeps the object's
 * TPM2B_PUBLIC and TPM2B_PRIVATE (tss2-mu) and the PCR selection and
 * values (format in seal_internal.h).
 *
 * Unseal: re-create the primary, TPM2_Load the object (another TPM, or
 * this TPM after its owner hierarchy was cleared, fails the integrity
 * check here), satisfy its policy in a policy session with the recorded
 * PCR values (the TPM compares them with the current ones), TPM2_Unseal.
 * When PCRs have changed, the message names the selection and which
 * PCRs differ from the values at sealing.
 *
 * The secret crosses the TPM interface encrypted: the session that
 * authorizes TPM2_Create (secret in) and TPM2_Unseal (secret out) is
 * salted with the primary key and uses AES-128-CFB parameter encryption.
 * The TSS's own buffers are outside our control; what we hold is wiped.
 *
 * Every transient object and session is flushed on every path: a TPM
 * without a resource manager (swtpm, or /dev/tpm0) has only a few slots.
 * The owner hierarchy must have an empty authorization value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "../lib/log.h"
#include "seal_internal.h"

#define SEAL_TPM2_TCTI_DEFAULT	"device:/dev/tpmrm0"

struct seal_tpm2 {
	const char *tcti_conf;
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR primary;
	ESYS_TR session;
	ESYS_TR object;
};

static const TPMT_SYM_DEF seal_tpm2_aes128cfb = {
	.algorithm = TPM2_ALG_AES,
	.keyBits = { .aes = 128 },
	.mode = { .aes = TPM2_ALG_CFB },
};

/* ------------------------------------------------------ PCR selections */

static const struct {
	const char *name;
	uint16_t alg;
	size_t len;
} seal_tpm2_banks[] = {
	{ "sha1", TPM2_ALG_SHA1, 20 },
	{ "sha256", TPM2_ALG_SHA256, 32 },
	{ "sha384", TPM2_ALG_SHA384, 48 },
	{ "sha512", TPM2_ALG_SHA512, 64 },
};

size_t
seal_tpm2_digest_len(uint16_t alg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(seal_tpm2_banks); i++)
		if (seal_tpm2_banks[i].alg == alg)
			return seal_tpm2_banks[i].len;
	return 0;
}

static const char *
seal_tpm2_bank_name(uint16_t alg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(seal_tpm2_banks); i++)
		if (seal_tpm2_banks[i].alg == alg)
			return seal_tpm2_banks[i].name;
	return "?";
}

int
seal_tpm2_pcrs_parse(const char *s, struct seal_tpm2_pcrs *out,
    struct error *err)
{
	uint32_t seen = 0;
	const char *colon, *p;
	char esc[80];
	size_t i, blen;
	unsigned v;
	int digits;

	memset(out, 0, sizeof(*out));
	if (s == NULL || s[0] == '\0')
		return 0;
	log_escape(s, esc, sizeof(esc));
	if ((colon = strchr(s, ':')) == NULL)
		return error_set(err, "tpm2: PCR selection '%s': want "
		    "BANK:INDEX[,INDEX...], e.g. sha256:0,7", esc);
	blen = (size_t)(colon - s);
	for (i = 0; i < ARRAY_SIZE(seal_tpm2_banks); i++)
		if (strlen(seal_tpm2_banks[i].name) == blen &&
		    strncmp(seal_tpm2_banks[i].name, s, blen) == 0)
			break;
	if (i == ARRAY_SIZE(seal_tpm2_banks))
		return error_set(err, "tpm2: PCR selection '%s': unknown bank "
		    "(sha1, sha256, sha384 or sha512; one bank only)", esc);
	out->alg = seal_tpm2_banks[i].alg;
	p = colon + 1;
	for (;;) {
		v = 0;
		digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (digits == 0 || v >= SEAL_TPM2_PCR_COUNT)
			return error_set(err, "tpm2: PCR selection '%s': PCR "
			    "indices are 0..%d", esc, SEAL_TPM2_PCR_COUNT - 1);
		if (seen & (1u << v))
			return error_set(err, "tpm2: PCR selection '%s': PCR %u "
			    "twice", esc, v);
		seen |= 1u << v;
		if (*p == '\0')
			break;
		if (*p == '+')
			return error_set(err, "tpm2: PCR selection '%s': one "
			    "bank only", esc);
		if (*p != ',')
			return error_set(err, "tpm2: PCR selection '%s': want "
			    "BANK:INDEX[,INDEX...], e.g. sha256:0,7", esc);
		p++;
	}
	for (v = 0; v < SEAL_TPM2_PCR_COUNT; v++)
		if (seen & (1u << v))
			out->idx[out->n++] = (uint8_t)v;
	return 0;
}

void
seal_tpm2_pcrs_format(const struct seal_tpm2_pcrs *pcrs, char *buf,
    size_t cap)
{
	size_t off;
	uint8_t i;
	int n;

	if (pcrs->alg == 0 || pcrs->n == 0) {
		snprintf(buf, cap, "none");
		return;
	}
	n = snprintf(buf, cap, "%s:", seal_tpm2_bank_name(pcrs->alg));
	off = n < 0 ? 0 : (size_t)n;
	for (i = 0; i < pcrs->n && off < cap; i++) {
		n = snprintf(buf + off, cap - off, "%s%u", i > 0 ? "," : "",
		    pcrs->idx[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

static void
seal_tpm2_selection(uint16_t alg, const uint8_t *idx, size_t n,
    TPML_PCR_SELECTION *sel)
{
	size_t i;

	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = alg;
	sel->pcrSelections[0].sizeofSelect = 3;
	for (i = 0; i < n; i++)
		sel->pcrSelections[0].pcrSelect[idx[i] / 8] |=
		    (uint8_t)(1u << (idx[i] % 8));
}

/* ------------------------------------------------------------- payload */

/* Unmarshal the framed TPM2B_PUBLIC and TPM2B_PRIVATE and check that the
 * object is a sealed data object fit for the PCR choice. */
static int
seal_tpm2_unmarshal(const struct seal_tpm2_payload *tp, TPM2B_PUBLIC *pub,
    TPM2B_PRIVATE *priv, struct error *err)
{
	const TPMA_OBJECT must = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT;
	const TPMA_OBJECT never = TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
	    TPMA_OBJECT_SIGN_ENCRYPT;
	TPMA_OBJECT a;
	size_t off = 0;

	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(tp->pub, tp->pub_len, &off,
	    pub) != TSS2_RC_SUCCESS || off != tp->pub_len)
		return error_set(err, "tpm2: payload holds a malformed "
		    "TPM2B_PUBLIC");
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(tp->priv, tp->priv_len, &off,
	    priv) != TSS2_RC_SUCCESS || off != tp->priv_len)
		return error_set(err, "tpm2: payload holds a malformed "
		    "TPM2B_PRIVATE");
	if (priv->size == 0)
		return error_set(err, "tpm2: payload holds an empty "
		    "TPM2B_PRIVATE");
	if (pub->publicArea.type != TPM2_ALG_KEYEDHASH ||
	    pub->publicArea.nameAlg != TPM2_ALG_SHA256 ||
	    pub->publicArea.parameters.keyedHashDetail.scheme.scheme !=
	    TPM2_ALG_NULL)
		return error_set(err, "tpm2: payload object is not a SHA-256 "
		    "sealed data object");
	a = pub->publicArea.objectAttributes;
	if ((a & must) != must || (a & never) != 0)
		return error_set(err, "tpm2: payload object has attributes "
		    "0x%x, not those of a sealed data object", (unsigned)a);
	if (tp->pcrs.n > 0 && ((a & TPMA_OBJECT_USERWITHAUTH) != 0 ||
	    pub->publicArea.authPolicy.size != TPM2_SHA256_DIGEST_SIZE))
		return error_set(err, "tpm2: payload object is not bound to "
		    "its PCR policy");
	if (tp->pcrs.n == 0 && ((a & TPMA_OBJECT_USERWITHAUTH) == 0 ||
	    pub->publicArea.authPolicy.size != 0))
		return error_set(err, "tpm2: payload object has a policy but "
		    "no PCR selection");
	return 0;
}

int
seal_tpm2_payload_parse(const uint8_t *p, size_t len,
    struct seal_tpm2_payload *out, struct error *err)
{
	struct seal_rd r = { p, len };
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	const uint8_t *idx;
	uint16_t n16;
	uint8_t version, i;

	memset(out, 0, sizeof(*out));
	if (seal_rd_u8(&r, &version) == -1)
		return error_set(err, "tpm2: empty payload");
	if (version != SEAL_TPM2_V1)
		return error_set(err, "tpm2: unknown payload version %u",
		    version);
	if (seal_rd_u8(&r, &out->template_id) == -1 ||
	    seal_rd_u16(&r, &out->pcrs.alg) == -1 ||
	    seal_rd_u8(&r, &out->pcrs.n) == -1)
		return error_set(err, "tpm2: payload truncated in its header");
	if (out->template_id != SEAL_TPM2_TEMPLATE_ECC_SRK)
		return error_set(err, "tpm2: unknown primary key template %u",
		    out->template_id);
	if (out->pcrs.alg == 0) {
		if (out->pcrs.n != 0)
			return error_set(err, "tpm2: payload lists PCRs "
			    "without a bank");
	} else {
		if ((out->digest_len = seal_tpm2_digest_len(out->pcrs.alg)) ==
		    0)
			return error_set(err, "tpm2: unknown PCR bank 0x%04x",
			    out->pcrs.alg);
		if (out->pcrs.n == 0 || out->pcrs.n > SEAL_TPM2_PCR_COUNT)
			return error_set(err, "tpm2: PCR count %u out of "
			    "range 1..%d", out->pcrs.n, SEAL_TPM2_PCR_COUNT);
		if (seal_rd_bytes(&r, out->pcrs.n, &idx) == -1)
			return error_set(err, "tpm2: payload truncated in the "
			    "PCR indices");
		for (i = 0; i < out->pcrs.n; i++) {
			if (idx[i] >= SEAL_TPM2_PCR_COUNT ||
			    (i > 0 && idx[i] <= idx[i - 1]))
				return error_set(err, "tpm2: PCR indices are "
				    "not strictly ascending in 0..%d",
				    SEAL_TPM2_PCR_COUNT - 1);
			out->pcrs.idx[i] = idx[i];
		}
		if (seal_rd_bytes(&r, (size_t)out->pcrs.n * out->digest_len,
		    &out->pcr_values) == -1)
			return error_set(err, "tpm2: payload truncated in the "
			    "PCR values");
	}
	if (seal_rd_u16(&r, &n16) == -1 || n16 == 0 ||
	    seal_rd_bytes(&r, n16, &out->pub) == -1)
		return error_set(err, "tpm2: payload truncated in the public "
		    "area");
	out->pub_len = n16;
	if (seal_rd_u16(&r, &n16) == -1 || n16 == 0 ||
	    seal_rd_bytes(&r, n16, &out->priv) == -1)
		return error_set(err, "tpm2: payload truncated in the private "
		    "area");
	out->priv_len = n16;
	if (r.left != 0)
		return error_set(err, "tpm2: %zu trailing bytes in the payload",
		    r.left);
	return seal_tpm2_unmarshal(out, &pub, &priv, err);
}

/* ------------------------------------------------------------ the TPM */

/* The TPM's response code without layer and without the handle,
 * session or parameter number of format-one codes. */
static TSS2_RC
seal_tpm2_rc_base(TSS2_RC rc)
{
	rc &= 0xffff;
	if (rc & TPM2_RC_FMT1)
		rc &= 0xbf;
	return rc;
}

static int
seal_tpm2_fail(const struct seal_tpm2 *t, struct error *err,
    const char *what, TSS2_RC rc)
{
	return error_set(err, "tpm2 (%s): %s failed: %s", t->tcti_conf, what,
	    Tss2_RC_Decode(rc));
}

static void
seal_tpm2_flush(struct seal_tpm2 *t, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE)
		(void)Esys_FlushContext(t->esys, *h);
	*h = ESYS_TR_NONE;
}

static void
seal_tpm2_close(struct seal_tpm2 *t)
{
	if (t->esys != NULL) {
		seal_tpm2_flush(t, &t->object);
		seal_tpm2_flush(t, &t->session);
		seal_tpm2_flush(t, &t->primary);
		Esys_Finalize(&t->esys);
	}
	if (t->tcti != NULL)
		Tss2_TctiLdr_Finalize(&t->tcti);
}

/* Connect to the TPM and create the primary storage key. */
static int
seal_tpm2_open(struct seal_tpm2 *t, const struct seal_config *cfg,
    struct error *err)
{
	TPM2B_SENSITIVE_CREATE in_sensitive;
	TPM2B_PUBLIC in_public;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION creation_pcr;
	TSS2_RC rc, base;

	memset(t, 0, sizeof(*t));
	t->primary = t->session = t->object = ESYS_TR_NONE;
	t->tcti_conf = cfg->tpm2_tcti != NULL && cfg->tpm2_tcti[0] != '\0' ?
	    cfg->tpm2_tcti : SEAL_TPM2_TCTI_DEFAULT;
	/* The TSS prints its own errors to stderr unless told otherwise;
	 * ours say more. TSS2_LOG=all+ERROR in the environment wins. */
	setenv("TSS2_LOG", "all+NONE", 0);
	rc = Tss2_TctiLdr_Initialize(t->tcti_conf, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		t->tcti = NULL;
		return error_set(err, "tpm2: cannot reach the TPM at '%s' "
		    "(no TPM, no access, or a wrong TCTI string): %s",
		    t->tcti_conf, Tss2_RC_Decode(rc));
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->esys = NULL;
		seal_tpm2_fail(t, err, "ESAPI initialisation", rc);
		seal_tpm2_close(t);
		return -1;
	}

	/* TCG ECC P-256 storage root key template, empty unique. */
	memset(&in_sensitive, 0, sizeof(in_sensitive));
	memset(&in_public, 0, sizeof(in_public));
	memset(&outside, 0, sizeof(outside));
	memset(&creation_pcr, 0, sizeof(creation_pcr));
	in_public.publicArea.type = TPM2_ALG_ECC;
	in_public.publicArea.nameAlg = TPM2_ALG_SHA256;
	in_public.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
	    TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	in_public.publicArea.parameters.eccDetail.symmetric.algorithm =
	    TPM2_ALG_AES;
	in_public.publicArea.parameters.eccDetail.symmetric.keyBits.aes = 128;
	in_public.publicArea.parameters.eccDetail.symmetric.mode.aes =
	    TPM2_ALG_CFB;
	in_public.publicArea.parameters.eccDetail.scheme.scheme =
	    TPM2_ALG_NULL;
	in_public.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	in_public.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
	    ESYS_TR_NONE, ESYS_TR_NONE, &in_sensitive, &in_public, &outside,
	    &creation_pcr, &t->primary, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->primary = ESYS_TR_NONE;
		base = seal_tpm2_rc_base(rc);
		if (base == TPM2_RC_BAD_AUTH || base == TPM2_RC_AUTH_FAIL)
			error_set(err, "tpm2 (%s): the owner hierarchy has an "
			    "authorization value; trusteed needs it empty to "
			    "create its primary key", t->tcti_conf);
		else
			seal_tpm2_fail(t, err, "creating the primary key "
			    "(ECC P-256 storage key in the owner hierarchy)",
			    rc);
		seal_tpm2_close(t);
		return -1;
	}
	return 0;
}

/* A session salted with the primary key, with parameter encryption of
 * the first command (attrs TPMA_SESSION_DECRYPT) or response
 * (TPMA_SESSION_ENCRYPT) parameter. */
static int
seal_tpm2_start_session(struct seal_tpm2 *t, TPM2_SE type,
    TPMA_SESSION attrs, struct error *err)
{
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, t->primary, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, type,
	    &seal_tpm2_aes128cfb, TPM2_ALG_SHA256, &t->session);
	if (rc != TSS2_RC_SUCCESS) {
		t->session = ESYS_TR_NONE;
		return seal_tpm2_fail(t, err, "starting a session", rc);
	}
	rc = Esys_TRSess_SetAttributes(t->esys, t->session,
	    attrs | TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS)
		return seal_tpm2_fail(t, err, "setting session attributes",
		    rc);
	return 0;
}

/* Read the selected PCRs (one at a time: a PCR_Read returns at most 8)
 * into values (n * digest length bytes). */
static int
seal_tpm2_pcr_read(struct seal_tpm2 *t, const struct seal_tpm2_pcrs *pcrs,
    uint8_t *values, struct error *err)
{
	size_t dlen = seal_tpm2_digest_len(pcrs->alg);
	TPML_PCR_SELECTION sel, *sel_out = NULL;
	TPML_DIGEST *digests = NULL;
	uint32_t counter;
	TSS2_RC rc;
	uint8_t i;
	int ok;

	for (i = 0; i < pcrs->n; i++) {
		seal_tpm2_selection(pcrs->alg, &pcrs->idx[i], 1, &sel);
		rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
		    ESYS_TR_NONE, &sel, &counter, &sel_out, &digests);
		if (rc != TSS2_RC_SUCCESS)
			return seal_tpm2_fail(t, err, "reading PCRs", rc);
		ok = digests->count == 1 && digests->digests[0].size == dlen;
		if (ok)
			memcpy(values + i * dlen, digests->digests[0].buffer,
			    dlen);
		Esys_Free(sel_out);
		Esys_Free(digests);
		if (!ok)
			return error_set(err, "tpm2 (%s): PCR %u of bank %s "
			    "cannot be read (bank not allocated?)",
			    t->tcti_conf, pcrs->idx[i],
			    seal_tpm2_bank_name(pcrs->alg));
	}
	return 0;
}

/* TPM2_PolicyPCR's pcrDigest: SHA-256 (the session's hash) over the
 * concatenated PCR values. */
static void
seal_tpm2_pcr_digest(const struct seal_tpm2_pcrs *pcrs, const uint8_t *values,
    TPM2B_DIGEST *d)
{
	memset(d, 0, sizeof(*d));
	d->size = TPM2_SHA256_DIGEST_SIZE;
	crypto_hash_sha256(d->buffer, values,
	    (unsigned long long)pcrs->n * seal_tpm2_digest_len(pcrs->alg));
}

/* The policy digest of PolicyPCR(values) from a trial session. */
static int
seal_tpm2_policy_digest(struct seal_tpm2 *t, const struct seal_tpm2_pcrs *pcrs,
    const uint8_t *values, TPM2B_DIGEST *policy, struct error *err)
{
	static const TPMT_SYM_DEF sym_null = { .algorithm = TPM2_ALG_NULL };
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST pcr_digest, *out = NULL;
	ESYS_TR trial = ESYS_TR_NONE;
	TSS2_RC rc;
	int ret = -1;

	seal_tpm2_selection(pcrs->alg, pcrs->idx, pcrs->n, &sel);
	seal_tpm2_pcr_digest(pcrs, values, &pcr_digest);
	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_TRIAL,
	    &sym_null, TPM2_ALG_SHA256, &trial);
	if (rc != TSS2_RC_SUCCESS)
		return seal_tpm2_fail(t, err, "starting a trial session", rc);
	rc = Esys_PolicyPCR(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &pcr_digest, &sel);
	if (rc != TSS2_RC_SUCCESS) {
		seal_tpm2_fail(t, err, "computing the PCR policy", rc);
		goto done;
	}
	rc = Esys_PolicyGetDigest(t->esys, trial, ESYS_TR_NONE, ESYS_TR_NONE,
	    ESYS_TR_NONE, &out);
	if (rc != TSS2_RC_SUCCESS) {
		seal_tpm2_fail(t, err, "reading the policy digest", rc);
		goto done;
	}
	*policy = *out;
	Esys_Free(out);
	ret = 0;
done:
	(void)Esys_FlushContext(t->esys, trial);
	return ret;
}

/* Which PCRs differ now from the sealed values: "7" or "0,7" into buf
 * (or why they could not be read). */
static void
seal_tpm2_changed_pcrs(struct seal_tpm2 *t, const struct seal_tpm2_payload *tp,
    char *buf, size_t cap)
{
	uint8_t now[SEAL_TPM2_PCR_COUNT * SEAL_TPM2_DIGEST_MAX];
	struct error inner;
	size_t off = 0;
	uint8_t i;
	int n;

	buf[0] = '\0';
	if (seal_tpm2_pcr_read(t, &tp->pcrs, now, &inner) == -1) {
		snprintf(buf, cap, "unknown: %s", inner.msg);
		return;
	}
	for (i = 0; i < tp->pcrs.n && off < cap; i++) {
		if (memcmp(now + i * tp->digest_len,
		    tp->pcr_values + i * tp->digest_len, tp->digest_len) == 0)
			continue;
		n = snprintf(buf + off, cap - off, "%s%u", off > 0 ? "," : "",
		    tp->pcrs.idx[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (buf[0] == '\0')
		snprintf(buf, cap, "none now: they changed and changed back?");
}

static int
seal_tpm2_pcr_refused(struct seal_tpm2 *t, const struct seal_tpm2_payload *tp,
    struct error *err)
{
	char sel[128], changed[256];

	seal_tpm2_pcrs_format(&tp->pcrs, sel, sizeof(sel));
	seal_tpm2_changed_pcrs(t, tp, changed, sizeof(changed));
	return error_set(err, "tpm2: unseal refused: PCR policy not satisfied "
	    "(%s changed since sealing; PCRs that differ: %s)", sel, changed);
}

static int
seal_tpm2_seal(const struct seal_config *cfg, const uint8_t *secret,
    size_t len, uint8_t **payload, size_t *payload_len, struct error *err)
{
	uint8_t values[SEAL_TPM2_PCR_COUNT * SEAL_TPM2_DIGEST_MAX];
	uint8_t mbuf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	TPM2B_SENSITIVE_CREATE in_sensitive;
	TPM2B_PUBLIC in_public, *out_public = NULL;
	TPM2B_PRIVATE *out_private = NULL;
	TPM2B_DATA outside;
	TPML_PCR_SELECTION creation_pcr;
	TPM2B_DIGEST policy;
	struct seal_tpm2_pcrs pcrs;
	struct seal_tpm2 t;
	struct buf b = { 0 };
	size_t dlen, off;
	TSS2_RC rc;
	int ret = -1;

	*payload = NULL;
	*payload_len = 0;
	if (seal_secret_check("tpm2", len, err) == -1 ||
	    seal_tpm2_pcrs_parse(cfg->tpm2_pcrs, &pcrs, err) == -1)
		return -1;
	if (len > sizeof(in_sensitive.sensitive.data.buffer))
		return error_set(err, "tpm2: secret too long to seal");
	if (seal_tpm2_open(&t, cfg, err) == -1)
		return -1;

	memset(&in_public, 0, sizeof(in_public));
	memset(&policy, 0, sizeof(policy));
	dlen = seal_tpm2_digest_len(pcrs.alg);
	if (pcrs.n > 0) {
		if (seal_tpm2_pcr_read(&t, &pcrs, values, err) == -1 ||
		    seal_tpm2_policy_digest(&t, &pcrs, values, &policy,
		    err) == -1)
			goto done;
		in_public.publicArea.authPolicy = policy;
	}
	in_public.publicArea.type = TPM2_ALG_KEYEDHASH;
	in_public.publicArea.nameAlg = TPM2_ALG_SHA256;
	in_public.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA |
	    (pcrs.n > 0 ? 0 : TPMA_OBJECT_USERWITHAUTH);
	in_public.publicArea.parameters.keyedHashDetail.scheme.scheme =
	    TPM2_ALG_NULL;
	memset(&in_sensitive, 0, sizeof(in_sensitive));
	in_sensitive.sensitive.data.size = (UINT16)len;
	memcpy(in_sensitive.sensitive.data.buffer, secret, len);
	memset(&outside, 0, sizeof(outside));
	memset(&creation_pcr, 0, sizeof(creation_pcr));

	if (seal_tpm2_start_session(&t, TPM2_SE_HMAC, TPMA_SESSION_DECRYPT,
	    err) == -1)
		goto done;
	rc = Esys_Create(t.esys, t.primary, t.session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &in_sensitive, &in_public, &outside, &creation_pcr,
	    &out_private, &out_public, NULL, NULL, NULL);
	sodium_memzero(&in_sensitive, sizeof(in_sensitive));
	if (rc != TSS2_RC_SUCCESS) {
		out_private = NULL;
		out_public = NULL;
		seal_tpm2_fail(&t, err, "creating the sealed object", rc);
		goto done;
	}

	seal_put_u8(&b, SEAL_TPM2_V1);
	seal_put_u8(&b, SEAL_TPM2_TEMPLATE_ECC_SRK);
	seal_put_u16(&b, pcrs.n > 0 ? pcrs.alg : 0);
	seal_put_u8(&b, pcrs.n);
	if (pcrs.n > 0) {
		buf_add(&b, pcrs.idx, pcrs.n);
		buf_add(&b, values, pcrs.n * dlen);
	}
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(out_public, mbuf, sizeof(mbuf),
	    &off) != TSS2_RC_SUCCESS || off > UINT16_MAX) {
		error_set(err, "tpm2: cannot marshal the sealed object's "
		    "public area");
		goto done;
	}
	seal_put_u16(&b, (uint16_t)off);
	buf_add(&b, mbuf, off);
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(out_private, mbuf, sizeof(mbuf),
	    &off) != TSS2_RC_SUCCESS || off > UINT16_MAX) {
		error_set(err, "tpm2: cannot marshal the sealed object's "
		    "private area");
		goto done;
	}
	seal_put_u16(&b, (uint16_t)off);
	buf_add(&b, mbuf, off);
	*payload = b.data;
	*payload_len = b.len;
	b.data = NULL;
	ret = 0;
done:
	buf_free(&b);
	Esys_Free(out_public);
	Esys_Free(out_private);
	seal_tpm2_close(&t);
	return ret;
}

static int
seal_tpm2_unseal(const struct seal_config *cfg, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len,
    struct error *err)
{
	struct seal_tpm2_payload tp;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TPM2B_SENSITIVE_DATA *data = NULL;
	TPML_PCR_SELECTION sel;
	TPM2B_DIGEST pcr_digest;
	struct seal_tpm2 t;
	TSS2_RC rc, base;
	char selstr[128];
	int ret = -1;

	*len = 0;
	if (seal_tpm2_payload_parse(payload, payload_len, &tp, err) == -1 ||
	    seal_tpm2_unmarshal(&tp, &pub, &priv, err) == -1)
		return -1;
	if (seal_tpm2_open(&t, cfg, err) == -1)
		return -1;

	rc = Esys_Load(t.esys, t.primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	    ESYS_TR_NONE, &priv, &pub, &t.object);
	if (rc != TSS2_RC_SUCCESS) {
		t.object = ESYS_TR_NONE;
		base = seal_tpm2_rc_base(rc);
		if (base == TPM2_RC_INTEGRITY || base == TPM2_RC_BINDING ||
		    base == TPM2_RC_SIZE)
			error_set(err, "tpm2 (%s): unseal refused: the sealed "
			    "object does not belong to this TPM (sealed by "
			    "another TPM, this TPM's owner hierarchy was "
			    "cleared since, or the sealed key was altered): "
			    "%s", t.tcti_conf,
			    Tss2_RC_Decode(rc));
		else
			seal_tpm2_fail(&t, err, "loading the sealed object",
			    rc);
		goto done;
	}

	if (tp.pcrs.n > 0) {
		if (seal_tpm2_start_session(&t, TPM2_SE_POLICY,
		    TPMA_SESSION_ENCRYPT, err) == -1)
			goto done;
		seal_tpm2_selection(tp.pcrs.alg, tp.pcrs.idx, tp.pcrs.n, &sel);
		seal_tpm2_pcr_digest(&tp.pcrs, tp.pcr_values, &pcr_digest);
		rc = Esys_PolicyPCR(t.esys, t.session, ESYS_TR_NONE,
		    ESYS_TR_NONE, ESYS_TR_NONE, &pcr_digest, &sel);
		if (rc != TSS2_RC_SUCCESS) {
			if (seal_tpm2_rc_base(rc) == TPM2_RC_VALUE)
				seal_tpm2_pcr_refused(&t, &tp, err);
			else
				seal_tpm2_fail(&t, err, "PolicyPCR", rc);
			goto done;
		}
	} else if (seal_tpm2_start_session(&t, TPM2_SE_HMAC,
	    TPMA_SESSION_ENCRYPT, err) == -1)
		goto done;

	rc = Esys_Unseal(t.esys, t.object, t.session, ESYS_TR_NONE,
	    ESYS_TR_NONE, &data);
	if (rc != TSS2_RC_SUCCESS) {
		data = NULL;
		base = seal_tpm2_rc_base(rc);
		seal_tpm2_pcrs_format(&tp.pcrs, selstr, sizeof(selstr));
		if (base == TPM2_RC_PCR_CHANGED)
			seal_tpm2_pcr_refused(&t, &tp, err);
		else if (base == TPM2_RC_POLICY_FAIL)
			error_set(err, "tpm2: unseal refused: PCR policy not "
			    "satisfied (%s): the recorded PCR values do not "
			    "match the object's policy (altered sealed key?)",
			    selstr);
		else
			seal_tpm2_fail(&t, err, "unsealing", rc);
		goto done;
	}
	if (data->size == 0 || data->size > cap) {
		error_set(err, "tpm2: unsealed secret of %u bytes does not fit "
		    "the %zu-byte buffer", data->size, cap);
		goto done;
	}
	memcpy(out, data->buffer, data->size);
	*len = data->size;
	ret = 0;
done:
	if (data != NULL) {
		sodium_memzero(data, sizeof(*data));
		Esys_Free(data);
	}
	seal_tpm2_close(&t);
	return ret;
}

static void
seal_tpm2_describe(const struct seal_config *cfg, char *buf, size_t cap)
{
	struct seal_tpm2_pcrs pcrs;
	char sel[128];

	if (seal_tpm2_pcrs_parse(cfg->tpm2_pcrs, &pcrs, NULL) == -1)
		snprintf(sel, sizeof(sel), "invalid PCR selection");
	else if (pcrs.n == 0)
		snprintf(sel, sizeof(sel), "no PCR binding");
	else {
		char s[100];

		seal_tpm2_pcrs_format(&pcrs, s, sizeof(s));
		snprintf(sel, sizeof(sel), "PCRs %s", s);
	}
	snprintf(buf, cap, "tpm2 (%s, %s)", cfg->tpm2_tcti != NULL &&
	    cfg->tpm2_tcti[0] != '\0' ? cfg->tpm2_tcti :
	    SEAL_TPM2_TCTI_DEFAULT, sel);
}

const struct sealer seal_tpm2 = {
	.name = "tpm2",
	.seal = seal_tpm2_seal,
	.unseal = seal_tpm2_unseal,
	.describe = seal_tpm2_describe,
	.insecure = 0,
};
