/*
 * snp_report.c: the AMD SEV-SNP attestation report's 1184-byte ABI form
 * (snp.h; reference/attestation-service.md §1.3): product lines, TCB
 * decoding per product, and parsing the bytes into struct snp_report.
 * Structure only: no signature or certificate here (snp_report_verify.c).
 * Contracts: snp_report_parse accepts exactly SNP_REPORT_SIZE bytes of a
 * version 2..5 report and sets r->product from the cpuid (UNKNOWN without
 * one); snp_report_decode_tcbs re-decodes the TCBs for another product.
 */
#include <inttypes.h>
#include <string.h>

#include "snp.h"
#include "snp_internal.h"

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


void
snp_report_decode_tcbs(struct snp_report *r, enum snp_product p)
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
	snp_report_decode_tcbs(r, r->has_cpuid ?
	    snp_product_from_cpuid(r->cpuid_fam_id, r->cpuid_mod_id) :
	    SNP_PRODUCT_UNKNOWN);
	return 0;
}
