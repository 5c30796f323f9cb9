/*
 * snp_report_verify.c: the authenticity of a parsed SEV-SNP report
 * (snp_report_verify in snp.h): signatures and chains before content.
 * The VEK chain comes from amd_certs*.c (pinned ARKs, verified-chain
 * cache); here: the signing-key kind, the chain's validity window, the
 * ECDSA P-384/SHA-384 signature over bytes 0x000..0x29F, then the
 * product, the VEK's TCB extensions against REPORTED_TCB and, for a
 * VCEK, its hwID against CHIP_ID. REPORT_DATA, HOST_DATA and the VMPL are
 * the callers' business.
 */
#include <inttypes.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "amd_certs.h"
#include "snp.h"
#include "snp_internal.h"

/* ---- signature ---- */

/* Append a DER INTEGER of a big-endian unsigned value. */
static size_t
snp_der_uint(uint8_t *out, const uint8_t *be, size_t n)
{
	size_t i = 0, o = 0;

	while (i + 1 < n && be[i] == 0)
		i++;
	out[o++] = 0x02;
	out[o++] = (uint8_t)(n - i + ((be[i] & 0x80) ? 1 : 0));
	if (be[i] & 0x80)
		out[o++] = 0;
	memcpy(out + o, be + i, n - i);
	return o + n - i;
}

static int
snp_check_signature(const struct snp_report *r, EVP_PKEY *pkey,
    const char *kind, struct error *err)
{
	uint8_t digest[SHA384_DIGEST_LENGTH];
	uint8_t rb[48], sb[48], sig[2 + 2 * 51];
	size_t i, n;
	EVP_PKEY_CTX *ctx;
	int ok;

	for (i = 48; i < 72; i++)
		if (r->sig_r[i] != 0 || r->sig_s[i] != 0)
			return error_set(err, "report signature: r/s bytes "
			    "48..71 are not zero (not a P-384 signature)");
	for (i = 0; i < 48; i++) {
		rb[i] = r->sig_r[47 - i];
		sb[i] = r->sig_s[47 - i];
	}
	n = 2;
	n += snp_der_uint(sig + n, rb, sizeof(rb));
	n += snp_der_uint(sig + n, sb, sizeof(sb));
	sig[0] = 0x30;
	sig[1] = (uint8_t)(n - 2);
	SHA384(r->raw, SNP_SIGNED_SIZE, digest);
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		ERR_clear_error();
		return error_set(err, "report signature: cannot set up ECDSA");
	}
	ok = EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_verify(ctx, sig, n, digest, sizeof(digest)) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return error_set(err, "report signature (ECDSA P-384/SHA-384 "
		    "over bytes 0x000..0x29F) does not verify under the %s "
		    "key", kind);
	}
	return 0;
}

/* ---- verification ---- */

static int
snp_check_tcb_ext(const char *kind, const char *name, int has,
    uint8_t cert, uint8_t report, const char *oid, struct error *err)
{
	if (!has)
		return error_set(err, "%s certificate lacks the %s extension "
		    "(%s)", kind, name, oid);
	if (cert != report)
		return error_set(err, "%s TCB does not match REPORTED_TCB: "
		    "%s is %u in the certificate, %u in the report", kind,
		    name, cert, report);
	return 0;
}

int
snp_report_verify(struct snp_report *r, const struct snp_certs *certs,
    int64_t now, struct error *err)
{
	static const struct snp_certs none;
	static const uint8_t zero[64];
	struct amd_vek v;
	enum snp_product want = r->product;
	unsigned sk = SNP_KEY_INFO_SIGNING_KEY(r->key_info);
	const char *kind;
	uint8_t *found = NULL;
	size_t found_len = 0;
	char t1[TIME_RFC3339_LEN], t2[TIME_RFC3339_LEN];
	int rc = -1;

	memset(&v, 0, sizeof(v));
	if (certs == NULL)
		certs = &none;
	if (r->sig_algo != 1)
		return error_set(err, "report signature algorithm %" PRIu32
		    " is not supported (expected 1 = ECDSA P-384 with "
		    "SHA-384)", r->sig_algo);
	if (sk != SNP_SIGNING_VCEK && sk != SNP_SIGNING_VLEK)
		return error_set(err, "report signing key %u (key_info "
		    "0x%08" PRIx32 ") is neither VCEK (0) nor VLEK (1)", sk,
		    r->key_info);
	kind = sk == SNP_SIGNING_VLEK ? "VLEK" : "VCEK";

	if (certs->vek == NULL || certs->vek_len == 0) {
		if (amd_certs_find_vek(r, &found, &found_len, err) < 0)
			return -1;
	}
	if (amd_certs_vek_verify(found != NULL ? found : certs->vek,
	    found != NULL ? found_len : certs->vek_len, certs->ask,
	    certs->ask_len, certs->ark, certs->ark_len, want, &v, err) < 0)
		goto out;
	if ((unsigned)v.kind != sk) {
		error_set(err, "the report is signed with a %s (key_info "
		    "signing_key %u), but the certificate is a %s", kind, sk,
		    v.kind == SNP_SIGNING_VLEK ? "VLEK" : "VCEK");
		goto out;
	}
	if (now < v.not_before) {
		time_format_rfc3339(now, t1);
		time_format_rfc3339(v.not_before, t2);
		error_set(err, "%s certificate chain is not yet valid at %s "
		    "(valid from %s)", kind, t1, t2);
		goto out;
	}
	if (now > v.not_after) {
		time_format_rfc3339(now, t1);
		time_format_rfc3339(v.not_after, t2);
		error_set(err, "%s certificate chain has expired at %s (valid "
		    "until %s)", kind, t1, t2);
		goto out;
	}
	/* Now the product line is known: TCB layouts follow it. */
	snp_report_decode_tcbs(r, v.product);
	if (snp_check_signature(r, v.pkey, kind, err) < 0)
		goto out;
	/* The content, now that it is known to be genuine. */
	if (want == SNP_PRODUCT_UNKNOWN && r->has_cpuid &&
	    (r->cpuid_fam_id != 0 || r->cpuid_mod_id != 0)) {
		error_set(err, "unsupported processor: cpuid family 0x%02x "
		    "model 0x%02x is not Milan, Genoa or Turin",
		    r->cpuid_fam_id, r->cpuid_mod_id);
		goto out;
	}
	if (snp_check_tcb_ext(kind, "blSPL", v.ext.has_bl, v.ext.bl,
	    r->reported_tcb.bootloader, "1.3.6.1.4.1.3704.1.3.1", err) < 0 ||
	    snp_check_tcb_ext(kind, "teeSPL", v.ext.has_tee, v.ext.tee,
	    r->reported_tcb.tee, "1.3.6.1.4.1.3704.1.3.2", err) < 0 ||
	    snp_check_tcb_ext(kind, "snpSPL", v.ext.has_snp, v.ext.snp,
	    r->reported_tcb.snp, "1.3.6.1.4.1.3704.1.3.3", err) < 0 ||
	    snp_check_tcb_ext(kind, "ucodeSPL", v.ext.has_ucode, v.ext.ucode,
	    r->reported_tcb.microcode, "1.3.6.1.4.1.3704.1.3.8", err) < 0)
		goto out;
	if (v.product == SNP_PRODUCT_TURIN &&
	    snp_check_tcb_ext(kind, "fmcSPL", v.ext.has_fmc, v.ext.fmc,
	    r->reported_tcb.fmc, "1.3.6.1.4.1.3704.1.3.9", err) < 0)
		goto out;
	if (sk == SNP_SIGNING_VCEK && !(SNP_KEY_INFO_MASK_CHIP_KEY(r->key_info)
	    && memcmp(r->chip_id, zero, sizeof(zero)) == 0)) {
		size_t n = v.product == SNP_PRODUCT_TURIN && v.ext.hwid_len == 8 ?
		    8 : 64;

		if (v.ext.hwid_len == 0) {
			error_set(err, "VCEK certificate lacks the hwID "
			    "extension (1.3.6.1.4.1.3704.1.4)");
			goto out;
		}
		if (v.ext.hwid_len != n) {
			error_set(err, "VCEK hwID extension is %zu bytes, "
			    "expected %zu for %s", v.ext.hwid_len, n,
			    snp_product_name(v.product));
			goto out;
		}
		if (memcmp(v.ext.hwid, r->chip_id, n) != 0) {
			error_set(err, "VCEK hwID does not match the report's "
			    "CHIP_ID (the VCEK belongs to another chip)");
			goto out;
		}
	}
	rc = 0;
out:
	amd_vek_clear(&v);
	free(found);
	return rc;
}

void
snp_cache_clear(void)
{
	amd_certs_cache_clear();
}
