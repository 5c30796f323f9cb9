/*
 * snp.h: the AMD SEV-SNP attestation report, shared by the "snp" backend
 * (snp.c) and the Azure SNP vTPM verifier (az_snp_vtpm.c), which embeds a
 * raw SNP report in its HCL report. Implemented in snp_report.c (parsing),
 * snp_report_verify.c (verification), snp_report_json.c (the JSON form)
 * and snp.c (claims).
 *
 * Layout and checks: reference/attestation-service.md §1.3. All offsets
 * little-endian; the PSP signs bytes 0x000..0x29F with ECDSA P-384 /
 * SHA-384 under the VCEK (per-chip) or VLEK (per-CSP) key, whose chain
 * ends at AMD's ARK for the product line (pinned, compiled in).
 *
 * Typical use (Azure):
 *	struct snp_report r;
 *	struct snp_certs c = { .vek = der, .vek_len = n };
 *	if (snp_report_parse(buf, len, &r, err) < 0 ||
 *	    snp_report_verify(&r, &c, now, err) < 0)
 *		fail;
 *	then compare r.report_data / r.host_data as the caller's binding says.
 */
#ifndef TRUSTEE_SNP_H
#define TRUSTEE_SNP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "../lib/util.h"

#define SNP_REPORT_SIZE		1184	/* 0x4A0 */
#define SNP_SIGNED_SIZE		0x2A0	/* bytes covered by the signature */
#define SNP_VERSION_MIN		2
#define SNP_VERSION_MAX		5

/* AMD product lines (generations) with pinned roots. */
enum snp_product {
	SNP_PRODUCT_UNKNOWN = 0,	/* v2 report, or cpuid not recognised */
	SNP_PRODUCT_MILAN,
	SNP_PRODUCT_GENOA,
	SNP_PRODUCT_TURIN,
};

/* key_info bits 4:2 */
enum snp_signing_key {
	SNP_SIGNING_VCEK = 0,
	SNP_SIGNING_VLEK = 1,
	SNP_SIGNING_NONE = 7,
};

/*
 * A TCB_VERSION. raw is the 8 bytes as a little-endian u64; the decoded
 * fields depend on the product: Milan/Genoa [bl, tee, 0,0,0,0, snp, ucode],
 * Turin [fmc, bl, tee, snp, 0,0,0, ucode] (has_fmc = 1).
 */
struct snp_tcb {
	uint64_t raw;
	int has_fmc;
	uint8_t fmc;
	uint8_t bootloader;
	uint8_t tee;
	uint8_t snp;
	uint8_t microcode;
};

/* Firmware version (CURRENT_* / COMMITTED_*). */
struct snp_fw_version {
	uint8_t major;
	uint8_t minor;
	uint8_t build;
};

/* A parsed report: every field of the 1184-byte ABI structure. */
struct snp_report {
	uint32_t version;
	uint32_t guest_svn;
	uint64_t policy;		/* see SNP_POLICY_* */
	uint8_t family_id[16];
	uint8_t image_id[16];
	uint32_t vmpl;
	uint32_t sig_algo;		/* 1 = ECDSA P-384 with SHA-384 */
	struct snp_tcb current_tcb;
	uint64_t platform_info;		/* see SNP_PLATFORM_* */
	uint32_t key_info;		/* author_key_en, mask_chip_key, signing_key */
	uint8_t report_data[64];
	uint8_t measurement[48];
	uint8_t host_data[32];
	uint8_t id_key_digest[48];
	uint8_t author_key_digest[48];
	uint8_t report_id[32];
	uint8_t report_id_ma[32];
	struct snp_tcb reported_tcb;
	int has_cpuid;			/* version >= 3 */
	uint8_t cpuid_fam_id;
	uint8_t cpuid_mod_id;
	uint8_t cpuid_step;
	uint8_t chip_id[64];
	struct snp_tcb committed_tcb;
	struct snp_fw_version current;
	struct snp_fw_version committed;
	struct snp_tcb launch_tcb;
	int has_mit_vector;		/* version >= 5 */
	uint64_t launch_mit_vector;
	uint64_t current_mit_vector;
	uint8_t sig_r[72];		/* little-endian, zero-extended */
	uint8_t sig_s[72];

	/*
	 * The product line: from cpuid by snp_report_parse (UNKNOWN when the
	 * report has none); snp_report_verify sets it to the line whose pinned
	 * ASK/ASVK signed the VEK and re-decodes the TCBs accordingly.
	 */
	enum snp_product product;
	uint8_t raw[SNP_REPORT_SIZE];	/* the exact bytes parsed */
};

/* policy bits */
#define SNP_POLICY_ABI_MINOR(p)		((unsigned)((p) & 0xff))
#define SNP_POLICY_ABI_MAJOR(p)		((unsigned)(((p) >> 8) & 0xff))
#define SNP_POLICY_SMT			(1ULL << 16)
#define SNP_POLICY_RESERVED1		(1ULL << 17)
#define SNP_POLICY_MIGRATE_MA		(1ULL << 18)
#define SNP_POLICY_DEBUG		(1ULL << 19)
#define SNP_POLICY_SINGLE_SOCKET	(1ULL << 20)
#define SNP_POLICY_CXL_ALLOW		(1ULL << 21)
#define SNP_POLICY_MEM_AES_256_XTS	(1ULL << 22)
#define SNP_POLICY_RAPL_DIS		(1ULL << 23)
#define SNP_POLICY_CIPHERTEXT_HIDING	(1ULL << 24)
#define SNP_POLICY_PAGE_SWAP_DISABLE	(1ULL << 25)
/* platform_info bits */
#define SNP_PLATFORM_SMT_EN		(1ULL << 0)
#define SNP_PLATFORM_TSME_EN		(1ULL << 1)
#define SNP_PLATFORM_ECC_EN		(1ULL << 2)
#define SNP_PLATFORM_RAPL_DIS		(1ULL << 3)
#define SNP_PLATFORM_CIPHERTEXT_HIDING	(1ULL << 4)
#define SNP_PLATFORM_ALIAS_CHECK	(1ULL << 5)
#define SNP_PLATFORM_TIO_EN		(1ULL << 7)
/* key_info fields */
#define SNP_KEY_INFO_AUTHOR_KEY_EN(k)	((unsigned)((k) & 1))
#define SNP_KEY_INFO_MASK_CHIP_KEY(k)	((unsigned)(((k) >> 1) & 1))
#define SNP_KEY_INFO_SIGNING_KEY(k)	((unsigned)(((k) >> 2) & 7))

/*
 * Parse exactly SNP_REPORT_SIZE bytes (shorter: "truncated", longer:
 * "trailing bytes" error) of a version 2..5 report. Checks only the
 * structure (length, version); no signature. r->product from cpuid.
 */
int snp_report_parse(const uint8_t *buf, size_t len, struct snp_report *r,
    struct error *err);

/* Decode a raw TCB_VERSION for a product (Turin layout for TURIN). */
void snp_tcb_decode(uint64_t raw, enum snp_product product,
    struct snp_tcb *out);

/* "Milan", "Genoa", "Turin" (KDS spelling), or "unknown". */
const char *snp_product_name(enum snp_product p);

/*
 * Certificates for a verification. All optional; DER or PEM each.
 * vek: the VCEK/VLEK. NULL: find one: verifier_get_config()->snp_vek_file,
 * then the offline cache snp_cert_cache, then AMD KDS when snp_kds_url
 * is set (VCEK only). ask/ark: as carried in evidence; an ark must be
 * identical to, or verify under, the pinned ARK; the pinned ones are used
 * when absent. Roots from the evidence are never trusted by themselves.
 */
struct snp_certs {
	const uint8_t *vek;
	size_t vek_len;
	const uint8_t *ask;
	size_t ask_len;
	const uint8_t *ark;
	size_t ark_len;
};

/*
 * Verify a parsed report's authenticity at time now (unix seconds),
 * signatures and chains before content: sig_algo == 1; VEK (VCEK or VLEK
 * as key_info says) chains ARK -> ASK/ASVK -> VEK for the report's product
 * line (or, without a known cpuid, whichever pinned line verifies), every
 * certificate valid at now; ECDSA P-384 signature over bytes
 * 0x000..0x29F; then a known product, VEK TCB extensions == REPORTED_TCB,
 * for a VCEK hwID == CHIP_ID. The VMPL is not checked (a claim for the
 * policy). Does NOT compare REPORT_DATA or HOST_DATA (callers bind those
 * their own way). Sets
 * r->product and re-decodes r's TCBs for it. Thread-safe; verified chains
 * are cached (keyed by SHA-256 of the VEK DER).
 */
int snp_report_verify(struct snp_report *r, const struct snp_certs *certs,
    int64_t now, struct error *err);

/*
 * The "snp" backend's claims for a verified report (Trustee's names and
 * the extras documented in snp.c), without report_data/init_data. New
 * reference.
 */
json_t *snp_report_claims(const struct snp_report *r);

/*
 * Evidence JSON (serde of the sev crate's AttestationReport: byte arrays)
 * <-> the 1184-byte ABI form. from_json rebuilds the bytes with reserved
 * areas zero (as the sev crate does before hashing). The TCB byte layout
 * follows the JSON's cpuid (Turin layout for a Turin cpuid; a non-null
 * "fmc" elsewhere is an error). Strict: every field present with the
 * right type, size and range (Option fields may be missing or null).
 */
int snp_report_from_json(const json_t *report, uint8_t out[SNP_REPORT_SIZE],
    struct error *err);
/* NULL when a u64 field (policy, plat_info, mit vectors) has bit 63 set:
 * jansson integers are signed. */
json_t *snp_report_to_json(const struct snp_report *r);

/* Drop every cached verified VEK chain (tests, configuration changes). */
void snp_cache_clear(void);

#endif
