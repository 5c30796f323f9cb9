/*
 * snp_internal.h: what the snp*.c files share with each other: the
 * little-endian field accessors of the ABI report, the cpuid -> product
 * line mapping, and the TCB re-decoding. Not a stable API: use snp.h
 * from outside the SNP code. The helpers are static inline: they run in
 * every parse and must not become cross-file calls.
 */
#ifndef TRUSTEE_SNP_INTERNAL_H
#define TRUSTEE_SNP_INTERNAL_H

#include <stdint.h>

#include "snp.h"

/* ---- little-endian helpers ---- */

static inline uint32_t
snp_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
snp_le64(const uint8_t *p)
{
	return (uint64_t)snp_le32(p) | (uint64_t)snp_le32(p + 4) << 32;
}

static inline void
snp_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void
snp_put64(uint8_t *p, uint64_t v)
{
	snp_put32(p, (uint32_t)v);
	snp_put32(p + 4, (uint32_t)(v >> 32));
}

/* The product line of a v3+ report's cpuid family/model (UNKNOWN when
 * it is none of Milan, Genoa, Turin). */
static inline enum snp_product
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

/* ---- snp_report.c ---- */

/* Set r->product to p and re-decode r's four TCBs for it (snp_report.c). */
void snp_report_decode_tcbs(struct snp_report *r, enum snp_product p);

#endif
