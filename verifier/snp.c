/*
 * snp.c: the AMD SEV-SNP verifier (reference/attestation-service.md §1.3)
 * and the report parser shared with the Azure SNP vTPM verifier (snp.h).
 *
 * Evidence: {"attestation_report": <sev crate serde form>, "cert_chain":
 * null | [{"cert_type": "ARK"|"ASK"|"VCEK"|"VLEK"|..., "data": [DER]}]}.
 * The report is rebuilt to its 1184-byte ABI form (reserved bytes zero,
 * as the sev crate does) and verified, signatures and chains first: chain
 * to the pinned AMD roots, validity at in->now, ECDSA P-384 signature;
 * then the content: the cpuid names a supported product, TCB and hwID
 * extensions, REPORT_DATA and HOST_DATA against the expected values. A
 * changed report is therefore refused for its signature, whatever field
 * was changed. The VMPL is a claim ("vmpl"), not a verifier check: the
 * attestation policy decides which VMPLs it admits (default_cpu: 0, or
 * the reference value snp_vmpl; docs/policies.md), so a guest behind an
 * SVSM, whose reports come from VMPL 1..3, can be admitted explicitly.
 *
 * Claims. Trustee's names, unchanged: policy_abi_major, policy_abi_minor
 * (numbers), policy_smt_allowed, policy_migrate_ma, policy_debug_allowed,
 * policy_single_socket (bools), reported_tcb_bootloader, reported_tcb_tee,
 * reported_tcb_snp, reported_tcb_microcode (numbers),
 * platform_tsme_enabled, platform_smt_enabled (bools), measurement,
 * chip_id (lowercase hex), report_data (hex of REPORT_DATA), init_data
 * (hex of HOST_DATA, always). Extras (ours; names as in the test vectors'
 * expected.json):
 *   version, guest_svn, vmpl, signature_algo, signing_key (0 VCEK,
 *     1 VLEK), mask_chip_key, author_key_en          numbers
 *   current_major/_minor/_build, committed_major/_minor/_build
 *                                                    numbers (firmware)
 *   cpuid_fam_id, cpuid_mod_id, cpuid_step           numbers (v3+ only)
 *   policy, current_tcb, reported_tcb, committed_tcb, launch_tcb,
 *     platform_info                                  "0x%016x" of the u64
 *   key_info                                         "0x%08x" (what the
 *                                                    vectors call "flags")
 *   launch_mit_vector, current_mit_vector            "0x%016x" (v5 only)
 *   reported_tcb_fmc                                 number (Turin only)
 *   host_data, family_id, image_id, id_key_digest, author_key_digest,
 *     report_id, report_id_ma                        lowercase hex
 *   product                                          "Milan"|"Genoa"|
 *                                                    "Turin"
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "amd_certs.h"
#include "snp.h"
#include "verifier.h"

#define SNP_CERT_MAX	(64 * 1024)

/* ---- little-endian helpers ---- */

static uint32_t
snp_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
snp_le64(const uint8_t *p)
{
	return (uint64_t)snp_le32(p) | (uint64_t)snp_le32(p + 4) << 32;
}

static void
snp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
snp_put64(uint8_t *p, uint64_t v)
{
	snp_put32(p, (uint32_t)v);
	snp_put32(p + 4, (uint32_t)(v >> 32));
}

/* ---- products and TCBs ---- */

const char *
snp_product_name(enum snp_product p)
{
	switch (p) {
	case SNP_PRODUCT_MILAN: return "Milan";
	case SNP_PRODUCT_GENOA: return "Genoa";
	case SNP_PRODUCT_TURIN: return "Turin";
	default: return "unknown";
	}
}

static enum snp_product
snp_product_from_cpuid(uint8_t fam, uint8_t model)
{
	if (fam == 0x19 && model <= 0x0f)
		return SNP_PRODUCT_MILAN;
	if (fam == 0x19 && ((model >= 0x10 && model <= 0x1f) ||
	    (model >= 0xa0 && model <= 0xaf)))
		return SNP_PRODUCT_GENOA;
	if (fam == 0x1a && model <= 0x11)
		return SNP_PRODUCT_TURIN;
	return SNP_PRODUCT_UNKNOWN;
}

void
snp_tcb_decode(uint64_t raw, enum snp_product product, struct snp_tcb *out)
{
	uint8_t b[8];

	snp_put64(b, raw);
	memset(out, 0, sizeof(*out));
	out->raw = raw;
	if (product == SNP_PRODUCT_TURIN) {
		out->has_fmc = 1;
		out->fmc = b[0];
		out->bootloader = b[1];
		out->tee = b[2];
		out->snp = b[3];
	} else {
		out->bootloader = b[0];
		out->tee = b[1];
		out->snp = b[6];
	}
	out->microcode = b[7];
}

static void
snp_decode_tcbs(struct snp_report *r, enum snp_product p)
{
	r->product = p;
	snp_tcb_decode(r->current_tcb.raw, p, &r->current_tcb);
	snp_tcb_decode(r->reported_tcb.raw, p, &r->reported_tcb);
	snp_tcb_decode(r->committed_tcb.raw, p, &r->committed_tcb);
	snp_tcb_decode(r->launch_tcb.raw, p, &r->launch_tcb);
}

/* ---- parsing ---- */

int
snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *r,
    struct error *err)
{
	const uint8_t *b = buf;

	memset(r, 0, sizeof(*r));
	if (len < SNP_REPORT_SIZE)
		return error_set(err, "SNP report truncated: %zu bytes, "
		    "expected %d", len, SNP_REPORT_SIZE);
	if (len > SNP_REPORT_SIZE)
		return error_set(err, "SNP report has %zu trailing bytes "
		    "(%zu bytes, expected %d)", len - SNP_REPORT_SIZE, len,
		    SNP_REPORT_SIZE);
	memcpy(r->raw, buf, SNP_REPORT_SIZE);
	r->version = snp_le32(b + 0x000);
	if (r->version < SNP_VERSION_MIN || r->version > SNP_VERSION_MAX)
		return error_set(err, "unsupported SNP report version %" PRIu32
		    " (supported %d..%d)", r->version, SNP_VERSION_MIN,
		    SNP_VERSION_MAX);
	r->guest_svn = snp_le32(b + 0x004);
	r->policy = snp_le64(b + 0x008);
	memcpy(r->family_id, b + 0x010, 16);
	memcpy(r->image_id, b + 0x020, 16);
	r->vmpl = snp_le32(b + 0x030);
	r->sig_algo = snp_le32(b + 0x034);
	r->current_tcb.raw = snp_le64(b + 0x038);
	r->platform_info = snp_le64(b + 0x040);
	r->key_info = snp_le32(b + 0x048);
	memcpy(r->report_data, b + 0x050, 64);
	memcpy(r->measurement, b + 0x090, 48);
	memcpy(r->host_data, b + 0x0c0, 32);
	memcpy(r->id_key_digest, b + 0x0e0, 48);
	memcpy(r->author_key_digest, b + 0x110, 48);
	memcpy(r->report_id, b + 0x140, 32);
	memcpy(r->report_id_ma, b + 0x160, 32);
	r->reported_tcb.raw = snp_le64(b + 0x180);
	if (r->version >= 3) {
		r->has_cpuid = 1;
		r->cpuid_fam_id = b[0x188];
		r->cpuid_mod_id = b[0x189];
		r->cpuid_step = b[0x18a];
	}
	memcpy(r->chip_id, b + 0x1a0, 64);
	r->committed_tcb.raw = snp_le64(b + 0x1e0);
	r->current.build = b[0x1e8];
	r->current.minor = b[0x1e9];
	r->current.major = b[0x1ea];
	r->committed.build = b[0x1ec];
	r->committed.minor = b[0x1ed];
	r->committed.major = b[0x1ee];
	r->launch_tcb.raw = snp_le64(b + 0x1f0);
	if (r->version >= 5) {
		r->has_mit_vector = 1;
		r->launch_mit_vector = snp_le64(b + 0x1f8);
		r->current_mit_vector = snp_le64(b + 0x200);
	}
	memcpy(r->sig_r, b + 0x2a0, 72);
	memcpy(r->sig_s, b + 0x2e8, 72);
	snp_decode_tcbs(r, r->has_cpuid ?
	    snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id) :
	    SNP_PRODUCT_UNKNOWN);
	return 0;
}

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
	snp_decode_tcbs(r, v.product);
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

/* ---- claims ---- */

static void
snp_set_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char h[2 * 64 + 1];

	hex_encode(p, n, h);
	json_object_set_new(o, k, json_string(h));
}

static void
snp_set_x64(json_t *o, const char *k, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%016" PRIx64, v);
	json_object_set_new(o, k, json_string(s));
}

static void
snp_set_int(json_t *o, const char *k, json_int_t v)
{
	json_object_set_new(o, k, json_integer(v));
}

json_t *
snp_report_claims(const struct snp_report *r)
{
	json_t *c = json_object();
	char s[16];

	/* Trustee's claims */
	snp_set_int(c, "policy_abi_major", SNP_POLICY_ABI_MAJOR(r->policy));
	snp_set_int(c, "policy_abi_minor", SNP_POLICY_ABI_MINOR(r->policy));
	json_object_set_new(c, "policy_smt_allowed",
	    json_boolean(r->policy & SNP_POLICY_SMT));
	json_object_set_new(c, "policy_migrate_ma",
	    json_boolean(r->policy & SNP_POLICY_MIGRATE_MA));
	json_object_set_new(c, "policy_debug_allowed",
	    json_boolean(r->policy & SNP_POLICY_DEBUG));
	json_object_set_new(c, "policy_single_socket",
	    json_boolean(r->policy & SNP_POLICY_SINGLE_SOCKET));
	snp_set_int(c, "reported_tcb_bootloader", r->reported_tcb.bootloader);
	snp_set_int(c, "reported_tcb_tee", r->reported_tcb.tee);
	snp_set_int(c, "reported_tcb_snp", r->reported_tcb.snp);
	snp_set_int(c, "reported_tcb_microcode", r->reported_tcb.microcode);
	json_object_set_new(c, "platform_tsme_enabled",
	    json_boolean(r->platform_info & SNP_PLATFORM_TSME_EN));
	json_object_set_new(c, "platform_smt_enabled",
	    json_boolean(r->platform_info & SNP_PLATFORM_SMT_EN));
	snp_set_hex(c, "measurement", r->measurement, 48);
	snp_set_hex(c, "chip_id", r->chip_id, 64);

	/* extras (see the top of this file) */
	snp_set_int(c, "version", r->version);
	snp_set_int(c, "guest_svn", r->guest_svn);
	snp_set_int(c, "vmpl", r->vmpl);
	snp_set_int(c, "signature_algo", r->sig_algo);
	snp_set_int(c, "signing_key", SNP_KEY_INFO_SIGNING_KEY(r->key_info));
	snp_set_int(c, "mask_chip_key", SNP_KEY_INFO_MASK_CHIP_KEY(r->key_info));
	snp_set_int(c, "author_key_en", SNP_KEY_INFO_AUTHOR_KEY_EN(r->key_info));
	snp_set_int(c, "current_major", r->current.major);
	snp_set_int(c, "current_minor", r->current.minor);
	snp_set_int(c, "current_build", r->current.build);
	snp_set_int(c, "committed_major", r->committed.major);
	snp_set_int(c, "committed_minor", r->committed.minor);
	snp_set_int(c, "committed_build", r->committed.build);
	if (r->has_cpuid) {
		snp_set_int(c, "cpuid_fam_id", r->cpuid_fam_id);
		snp_set_int(c, "cpuid_mod_id", r->cpuid_mod_id);
		snp_set_int(c, "cpuid_step", r->cpuid_step);
	}
	snp_set_x64(c, "policy", r->policy);
	snp_set_x64(c, "current_tcb", r->current_tcb.raw);
	snp_set_x64(c, "reported_tcb", r->reported_tcb.raw);
	snp_set_x64(c, "committed_tcb", r->committed_tcb.raw);
	snp_set_x64(c, "launch_tcb", r->launch_tcb.raw);
	snp_set_x64(c, "platform_info", r->platform_info);
	snprintf(s, sizeof(s), "0x%08" PRIx32, r->key_info);
	json_object_set_new(c, "key_info", json_string(s));
	if (r->has_mit_vector) {
		snp_set_x64(c, "launch_mit_vector", r->launch_mit_vector);
		snp_set_x64(c, "current_mit_vector", r->current_mit_vector);
	}
	if (r->reported_tcb.has_fmc)
		snp_set_int(c, "reported_tcb_fmc", r->reported_tcb.fmc);
	snp_set_hex(c, "host_data", r->host_data, 32);
	snp_set_hex(c, "family_id", r->family_id, 16);
	snp_set_hex(c, "image_id", r->image_id, 16);
	snp_set_hex(c, "id_key_digest", r->id_key_digest, 48);
	snp_set_hex(c, "author_key_digest", r->author_key_digest, 48);
	snp_set_hex(c, "report_id", r->report_id, 32);
	snp_set_hex(c, "report_id_ma", r->report_id_ma, 32);
	if (r->product != SNP_PRODUCT_UNKNOWN)
		json_object_set_new(c, "product",
		    json_string(snp_product_name(r->product)));
	return c;
}

/* ---- the serde JSON form ---- */

static json_t *
snp_json_bytes(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

static json_t *
snp_json_tcb(const struct snp_tcb *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "fmc", t->has_fmc ? json_integer(t->fmc) :
	    json_null());
	json_object_set_new(o, "bootloader", json_integer(t->bootloader));
	json_object_set_new(o, "tee", json_integer(t->tee));
	json_object_set_new(o, "snp", json_integer(t->snp));
	json_object_set_new(o, "microcode", json_integer(t->microcode));
	return o;
}

static json_t *
snp_json_fw(const struct snp_fw_version *v)
{
	json_t *o = json_object();

	json_object_set_new(o, "major", json_integer(v->major));
	json_object_set_new(o, "minor", json_integer(v->minor));
	json_object_set_new(o, "build", json_integer(v->build));
	return o;
}

static json_t *
snp_json_u8_or_null(int has, uint8_t v)
{
	return has ? json_integer(v) : json_null();
}

json_t *
snp_report_to_json(const struct snp_report *r)
{
	json_t *o, *sig;

	/* jansson integers are signed 64-bit */
	if (r->policy > INT64_MAX || r->platform_info > INT64_MAX ||
	    (r->has_mit_vector && (r->launch_mit_vector > INT64_MAX ||
	    r->current_mit_vector > INT64_MAX)))
		return NULL;
	o = json_object();
	sig = json_object();

	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
	json_object_set_new(o, "policy", json_integer((json_int_t)r->policy));
	json_object_set_new(o, "family_id", snp_json_bytes(r->family_id, 16));
	json_object_set_new(o, "image_id", snp_json_bytes(r->image_id, 16));
	json_object_set_new(o, "vmpl", json_integer(r->vmpl));
	json_object_set_new(o, "sig_algo", json_integer(r->sig_algo));
	json_object_set_new(o, "current_tcb", snp_json_tcb(&r->current_tcb));
	json_object_set_new(o, "plat_info",
	    json_integer((json_int_t)r->platform_info));
	json_object_set_new(o, "key_info", json_integer(r->key_info));
	json_object_set_new(o, "report_data", snp_json_bytes(r->report_data,
	    64));
	json_object_set_new(o, "measurement", snp_json_bytes(r->measurement,
	    48));
	json_object_set_new(o, "host_data", snp_json_bytes(r->host_data, 32));
	json_object_set_new(o, "id_key_digest",
	    snp_json_bytes(r->id_key_digest, 48));
	json_object_set_new(o, "author_key_digest",
	    snp_json_bytes(r->author_key_digest, 48));
	json_object_set_new(o, "report_id", snp_json_bytes(r->report_id, 32));
	json_object_set_new(o, "report_id_ma",
	    snp_json_bytes(r->report_id_ma, 32));
	json_object_set_new(o, "reported_tcb", snp_json_tcb(&r->reported_tcb));
	json_object_set_new(o, "cpuid_fam_id",
	    snp_json_u8_or_null(r->has_cpuid, r->cpuid_fam_id));
	json_object_set_new(o, "cpuid_mod_id",
	    snp_json_u8_or_null(r->has_cpuid, r->cpuid_mod_id));
	json_object_set_new(o, "cpuid_step",
	    snp_json_u8_or_null(r->has_cpuid, r->cpuid_step));
	json_object_set_new(o, "chip_id", snp_json_bytes(r->chip_id, 64));
	json_object_set_new(o, "committed_tcb",
	    snp_json_tcb(&r->committed_tcb));
	json_object_set_new(o, "current", snp_json_fw(&r->current));
	json_object_set_new(o, "committed", snp_json_fw(&r->committed));
	json_object_set_new(o, "launch_tcb", snp_json_tcb(&r->launch_tcb));
	if (r->has_mit_vector) {
		json_object_set_new(o, "launch_mit_vector",
		    json_integer((json_int_t)r->launch_mit_vector));
		json_object_set_new(o, "current_mit_vector",
		    json_integer((json_int_t)r->current_mit_vector));
	}
	json_object_set_new(sig, "r", snp_json_bytes(r->sig_r, 72));
	json_object_set_new(sig, "s", snp_json_bytes(r->sig_s, 72));
	json_object_set_new(o, "signature", sig);
	return o;
}

/* An unsigned integer member <= max (present, integral, in range). */
static int
snp_json_uint(const json_t *o, const char *k, uint64_t max, uint64_t *out,
    struct error *err)
{
	const json_t *v = json_object_get(o, k);
	json_int_t i;

	if (v == NULL)
		return error_set(err, "%s is missing", k);
	if (!json_is_integer(v))
		return error_set(err, "%s is not an "
		    "integer", k);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return error_set(err, "%s = %" JSON_INTEGER_FORMAT
		    " is out of range (0..%" PRIu64 ")", k, i, max);
	*out = (uint64_t)i;
	return 0;
}

/* An optional u8 (missing or null: *has = 0). */
static int
snp_json_opt_u8(const json_t *o, const char *k, int *has, uint8_t *out,
    struct error *err)
{
	const json_t *v = json_object_get(o, k);
	uint64_t u;

	*has = 0;
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (snp_json_uint(o, k, 0xff, &u, err) < 0)
		return -1;
	*has = 1;
	*out = (uint8_t)u;
	return 0;
}

/* A byte array member of exactly n elements. */
static int
snp_json_bytes_get(const json_t *o, const char *k, uint8_t *out, size_t n,
    struct error *err)
{
	const json_t *a = json_object_get(o, k);
	size_t i;

	if (a == NULL)
		return error_set(err, "%s is missing", k);
	if (!json_is_array(a))
		return error_set(err, "%s is not an array "
		    "of bytes", k);
	if (json_array_size(a) != n)
		return error_set(err, "%s has %zu bytes, "
		    "expected %zu", k, json_array_size(a), n);
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(a, i);
		json_int_t v;

		if (!json_is_integer(e) || (v = json_integer_value(e)) < 0 ||
		    v > 255)
			return error_set(err, "%s[%zu] is "
			    "not a byte (0..255)", k, i);
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* A TCB object into its 8 bytes. */
static int
snp_json_tcb_get(const json_t *o, const char *k, int turin, uint8_t out[8],
    struct error *err)
{
	static const char *const names[] = {
		"bootloader", "tee", "snp", "microcode",
	};
	const json_t *t = json_object_get(o, k);
	uint8_t v[4], fmc;
	uint64_t u;
	int has_fmc;
	size_t i;

	if (t == NULL)
		return error_set(err, "%s is missing", k);
	if (!json_is_object(t))
		return error_set(err, "%s is not a TCB "
		    "object", k);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (snp_json_uint(t, names[i], 0xff, &u, err) < 0)
			return error_prefix(err, "%s", k);
		v[i] = (uint8_t)u;
	}
	if (snp_json_opt_u8(t, "fmc", &has_fmc, &fmc, err) < 0)
		return error_prefix(err, "%s", k);
	memset(out, 0, 8);
	if (turin) {
		out[0] = fmc;
		out[1] = v[0];
		out[2] = v[1];
		out[3] = v[2];
	} else {
		if (has_fmc)
			return error_set(err, "%s.fmc is "
			    "set, but the processor is not a Turin", k);
		out[0] = v[0];
		out[1] = v[1];
		out[6] = v[2];
	}
	out[7] = v[3];
	return 0;
}

static int
snp_json_fw_get(const json_t *o, const char *k, uint8_t out[3],
    struct error *err)
{
	const json_t *f = json_object_get(o, k);
	uint64_t maj, min, bld;

	if (f == NULL || !json_is_object(f))
		return error_set(err, "%s is missing or "
		    "not an object", k);
	if (snp_json_uint(f, "major", 0xff, &maj, err) < 0 ||
	    snp_json_uint(f, "minor", 0xff, &min, err) < 0 ||
	    snp_json_uint(f, "build", 0xff, &bld, err) < 0)
		return error_prefix(err, "%s", k);
	out[0] = (uint8_t)bld;
	out[1] = (uint8_t)min;
	out[2] = (uint8_t)maj;
	return 0;
}

static int
snp_report_from_json1(const json_t *o, uint8_t out[SNP_REPORT_SIZE],
    struct error *err)
{
	const json_t *sig;
	uint64_t u;
	uint8_t fam, mod, step;
	int has_fam, has_mod, has_step, has, turin;

	memset(out, 0, SNP_REPORT_SIZE);
	if (!json_is_object(o))
		return error_set(err, "not an object");
	if (snp_json_uint(o, "version", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x000, (uint32_t)u);
	if (snp_json_uint(o, "guest_svn", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x004, (uint32_t)u);
	if (snp_json_uint(o, "policy", INT64_MAX, &u, err) < 0)
		return -1;
	snp_put64(out + 0x008, u);
	if (snp_json_bytes_get(o, "family_id", out + 0x010, 16, err) < 0 ||
	    snp_json_bytes_get(o, "image_id", out + 0x020, 16, err) < 0)
		return -1;
	if (snp_json_uint(o, "vmpl", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x030, (uint32_t)u);
	if (snp_json_uint(o, "sig_algo", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x034, (uint32_t)u);
	if (snp_json_opt_u8(o, "cpuid_fam_id", &has_fam, &fam, err) < 0 ||
	    snp_json_opt_u8(o, "cpuid_mod_id", &has_mod, &mod, err) < 0 ||
	    snp_json_opt_u8(o, "cpuid_step", &has_step, &step, err) < 0)
		return -1;
	turin = has_fam && has_mod &&
	    snp_product_from_cpuid(fam, mod) == SNP_PRODUCT_TURIN;
	if (snp_json_tcb_get(o, "current_tcb", turin, out + 0x038, err) < 0)
		return -1;
	if (snp_json_uint(o, "plat_info", INT64_MAX, &u, err) < 0)
		return -1;
	snp_put64(out + 0x040, u);
	if (snp_json_uint(o, "key_info", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x048, (uint32_t)u);
	if (snp_json_bytes_get(o, "report_data", out + 0x050, 64, err) < 0 ||
	    snp_json_bytes_get(o, "measurement", out + 0x090, 48, err) < 0 ||
	    snp_json_bytes_get(o, "host_data", out + 0x0c0, 32, err) < 0 ||
	    snp_json_bytes_get(o, "id_key_digest", out + 0x0e0, 48, err) < 0 ||
	    snp_json_bytes_get(o, "author_key_digest", out + 0x110, 48,
	    err) < 0 ||
	    snp_json_bytes_get(o, "report_id", out + 0x140, 32, err) < 0 ||
	    snp_json_bytes_get(o, "report_id_ma", out + 0x160, 32, err) < 0)
		return -1;
	if (snp_json_tcb_get(o, "reported_tcb", turin, out + 0x180, err) < 0)
		return -1;
	out[0x188] = fam;
	out[0x189] = mod;
	out[0x18a] = step;
	if (snp_json_bytes_get(o, "chip_id", out + 0x1a0, 64, err) < 0 ||
	    snp_json_tcb_get(o, "committed_tcb", turin, out + 0x1e0, err) < 0 ||
	    snp_json_fw_get(o, "current", out + 0x1e8, err) < 0 ||
	    snp_json_fw_get(o, "committed", out + 0x1ec, err) < 0 ||
	    snp_json_tcb_get(o, "launch_tcb", turin, out + 0x1f0, err) < 0)
		return -1;
	has = json_object_get(o, "launch_mit_vector") != NULL &&
	    !json_is_null(json_object_get(o, "launch_mit_vector"));
	if (has) {
		if (snp_json_uint(o, "launch_mit_vector", INT64_MAX, &u,
		    err) < 0)
			return -1;
		snp_put64(out + 0x1f8, u);
	}
	has = json_object_get(o, "current_mit_vector") != NULL &&
	    !json_is_null(json_object_get(o, "current_mit_vector"));
	if (has) {
		if (snp_json_uint(o, "current_mit_vector", INT64_MAX, &u,
		    err) < 0)
			return -1;
		snp_put64(out + 0x200, u);
	}
	sig = json_object_get(o, "signature");
	if (!json_is_object(sig))
		return error_set(err, "signature is missing or not an "
		    "object");
	if (snp_json_bytes_get(sig, "r", out + 0x2a0, 72, err) < 0 ||
	    snp_json_bytes_get(sig, "s", out + 0x2e8, 72, err) < 0)
		return error_prefix(err, "signature");
	return 0;
}

int
snp_report_from_json(const json_t *o, uint8_t out[SNP_REPORT_SIZE],
    struct error *err)
{
	if (snp_report_from_json1(o, out, err) < 0)
		return error_prefix(err, "attestation_report");
	return 0;
}

/* ---- the backend ---- */

/* Evidence cert_chain entries (borrowed views into owned copies). */
struct snp_chain {
	uint8_t *vek, *ask, *ark;
	size_t vek_len, ask_len, ark_len;
	const char *vek_type;
};

static void
snp_chain_free(struct snp_chain *c)
{
	free(c->vek);
	free(c->ask);
	free(c->ark);
	memset(c, 0, sizeof(*c));
}

static int
snp_chain_data(const json_t *ent, size_t idx, uint8_t **out, size_t *len,
    struct error *err)
{
	const json_t *d = json_object_get(ent, "data");
	size_t i, n;

	if (!json_is_array(d))
		return error_set(err, "cert_chain[%zu].data is not an array of "
		    "bytes", idx);
	n = json_array_size(d);
	if (n == 0 || n > SNP_CERT_MAX)
		return error_set(err, "cert_chain[%zu].data has %zu bytes",
		    idx, n);
	*out = xmalloc(n);
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(d, i);
		json_int_t v;

		if (!json_is_integer(e) || (v = json_integer_value(e)) < 0 ||
		    v > 255) {
			free(*out);
			*out = NULL;
			return error_set(err, "cert_chain[%zu].data[%zu] is "
			    "not a byte", idx, i);
		}
		(*out)[i] = (uint8_t)v;
	}
	*len = n;
	return 0;
}

static int
snp_chain_parse(const json_t *chain, struct snp_chain *c, struct error *err)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	if (chain == NULL || json_is_null(chain))
		return 0;
	if (!json_is_array(chain))
		return error_set(err, "cert_chain is neither null nor an "
		    "array");
	if (json_array_size(chain) > 16)
		return error_set(err, "cert_chain has %zu entries (at most 16)",
		    json_array_size(chain));
	for (i = 0; i < json_array_size(chain); i++) {
		const json_t *ent = json_array_get(chain, i);
		const json_t *ty = json_object_get(ent, "cert_type");
		const char *t;
		uint8_t **dst = NULL;
		size_t *dlen = NULL;

		if (!json_is_object(ent) || ty == NULL)
			return error_set(err, "cert_chain[%zu] is not a "
			    "{cert_type, data} object", i);
		if (!json_is_string(ty))
			continue;	/* {"OTHER": uuid} */
		t = json_string_value(ty);
		if (strcmp(t, "VCEK") == 0 || strcmp(t, "VLEK") == 0) {
			if (c->vek == NULL) {
				dst = &c->vek;
				dlen = &c->vek_len;
				c->vek_type = t;
			}
		} else if (strcmp(t, "ASK") == 0) {
			if (c->ask == NULL) {
				dst = &c->ask;
				dlen = &c->ask_len;
			}
		} else if (strcmp(t, "ARK") == 0) {
			if (c->ark == NULL) {
				dst = &c->ark;
				dlen = &c->ark_len;
			}
		}
		if (dst != NULL && snp_chain_data(ent, i, dst, dlen, err) < 0)
			return -1;
	}
	return 0;
}

static void
snp_hex_head(const uint8_t *p, size_t n, char *out, size_t cap)
{
	char h[2 * 64 + 1];

	hex_encode(p, n, h);
	if (strlen(h) > 32)
		snprintf(out, cap, "%.32s...", h);
	else
		snprintf(out, cap, "%s", h);
}

static int
snp_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	uint8_t raw[SNP_REPORT_SIZE], exp[64];
	char e1[40], e2[40];
	struct snp_report r;
	struct snp_chain ch;
	struct snp_certs certs;
	const json_t *rep;
	json_t *c;
	int rc = -1;

	*claims = NULL;
	memset(&ch, 0, sizeof(ch));
	if (!json_is_object(in->evidence))
		return error_set(err, "snp evidence is not a JSON object");
	rep = json_object_get(in->evidence, "attestation_report");
	if (rep == NULL)
		return error_set(err, "snp evidence has no attestation_report");
	if (snp_report_from_json(rep, raw, err) < 0 ||
	    snp_report_parse(raw, sizeof(raw), &r, err) < 0 ||
	    snp_chain_parse(json_object_get(in->evidence, "cert_chain"), &ch,
	    err) < 0)
		goto out;
	memset(&certs, 0, sizeof(certs));
	certs.vek = ch.vek;
	certs.vek_len = ch.vek_len;
	certs.ask = ch.ask;
	certs.ask_len = ch.ask_len;
	certs.ark = ch.ark;
	certs.ark_len = ch.ark_len;
	if (snp_report_verify(&r, &certs, in->now, err) < 0)
		goto out;
	if (in->report_data != NULL) {
		verifier_regularize(in->report_data, in->report_data_len, exp,
		    64);
		if (memcmp(exp, r.report_data, 64) != 0) {
			snp_hex_head(exp, 64, e1, sizeof(e1));
			snp_hex_head(r.report_data, 64, e2, sizeof(e2));
			error_set(err, "report data does not match the expected "
			    "value (nonce/session binding): expected %s, the "
			    "report has %s", e1, e2);
			goto out;
		}
	}
	if (in->init_data_hash != NULL) {
		verifier_regularize(in->init_data_hash,
		    in->init_data_hash_len, exp, 32);
		if (memcmp(exp, r.host_data, 32) != 0) {
			snp_hex_head(exp, 32, e1, sizeof(e1));
			snp_hex_head(r.host_data, 32, e2, sizeof(e2));
			error_set(err, "init data hash does not match HOST_DATA: "
			    "expected %s, the report has %s", e1, e2);
			goto out;
		}
	}
	c = snp_report_claims(&r);
	snp_set_hex(c, "report_data", r.report_data, 64);
	snp_set_hex(c, "init_data", r.host_data, 32);
	*claims = c;
	rc = 0;
out:
	snp_chain_free(&ch);
	return rc;
}

static int
snp_wrap_raw(const uint8_t *buf, size_t len, json_t **evidence,
    struct error *err)
{
	struct snp_report r;
	json_t *e, *rep;

	*evidence = NULL;
	if (snp_report_parse(buf, len, &r, err) < 0)
		return -1;
	if ((rep = snp_report_to_json(&r)) == NULL)
		return error_set(err, "SNP report has a 64-bit field with bit "
		    "63 set (policy 0x%016" PRIx64 ", platform_info 0x%016"
		    PRIx64 "), which the JSON form cannot carry", r.policy,
		    r.platform_info);
	e = json_object();
	json_object_set_new(e, "attestation_report", rep);
	json_object_set_new(e, "cert_chain", json_null());
	*evidence = e;
	return 0;
}

const struct verifier_backend verifier_snp = {
	.tee = "snp",
	.tee_class = "cpu",
	.verify = snp_verify,
	.wrap_raw = snp_wrap_raw,
};
