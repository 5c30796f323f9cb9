/*
 * dcap_pck.c: the Intel SGX extension of PCK certificates
 * (OID 1.2.840.113741.1.13.1), read with a bounded DER reader.
 *
 * SgxExtensions ::= SEQUENCE OF SEQUENCE { OID, value }:
 *   .1 PPID OCTET STRING(16)
 *   .2 TCB SEQUENCE { SEQUENCE{.2.1..16 INTEGER comp svn},
 *                     SEQUENCE{.2.17 INTEGER pcesvn},
 *                     SEQUENCE{.2.18 OCTET STRING(16) cpusvn} }
 *   .3 PCE-ID OCTET STRING(2)   .4 FMSPC OCTET STRING(6)
 *   .5 SGX type ENUMERATED      .6 PlatformInstanceID OCTET STRING(16)
 *   .7 Configuration SEQUENCE { .7.1 dynamic, .7.2 cached keys,
 *                               .7.3 SMT enabled: BOOLEAN }
 * The reader never recurses: each nesting level is walked by its own loop.
 */
#include <string.h>

#include "dcap_internal.h"

/* 1.2.840.113741.1.13.1 */
static const uint8_t sgx_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d,
	0x01, 0x0d, 0x01 };

struct der {
	const uint8_t *p;
	size_t len, off;
};

/* Next TLV: single-byte tag, definite length (at most 4 length bytes). */
static int
der_next(struct der *d, uint8_t *tag, struct der *val, struct error *err)
{
	size_t n, l = 0, i;

	if (d->len - d->off < 2)
		return error_set(err, "PCK SGX extension: truncated TLV at "
		    "offset %zu", d->off);
	*tag = d->p[d->off];
	if ((*tag & 0x1f) == 0x1f)
		return error_set(err, "PCK SGX extension: multi-byte tag at "
		    "offset %zu", d->off);
	n = d->p[d->off + 1];
	d->off += 2;
	if (n & 0x80) {
		n &= 0x7f;
		if (n == 0 || n > 4)
			return error_set(err, "PCK SGX extension: unsupported "
			    "length encoding at offset %zu", d->off - 1);
		if (d->len - d->off < n)
			return error_set(err, "PCK SGX extension: truncated "
			    "length at offset %zu", d->off);
		for (i = 0; i < n; i++)
			l = (l << 8) | d->p[d->off + i];
		d->off += n;
	} else {
		l = n;
	}
	if (l > d->len - d->off)
		return error_set(err, "PCK SGX extension: length %zu at offset "
		    "%zu exceeds the %zu bytes left", l, d->off,
		    d->len - d->off);
	val->p = d->p + d->off;
	val->len = l;
	val->off = 0;
	d->off += l;
	return 0;
}

static int
der_expect(struct der *d, uint8_t want, struct der *val, const char *what,
    struct error *err)
{
	uint8_t tag;

	if (der_next(d, &tag, val, err) != 0)
		return -1;
	if (tag != want)
		return error_set(err, "PCK SGX extension: %s has tag 0x%02x "
		    "(expected 0x%02x)", what, tag, want);
	return 0;
}

/* Non-negative INTEGER / ENUMERATED up to max. */
static int
der_uint(const struct der *v, unsigned long max, unsigned long *out,
    const char *what, struct error *err)
{
	size_t i;
	unsigned long x = 0;

	if (v->len == 0 || v->len > 3 || (v->p[0] & 0x80))
		return error_set(err, "PCK SGX extension: %s is not a small "
		    "non-negative integer", what);
	for (i = 0; i < v->len; i++)
		x = (x << 8) | v->p[i];
	if (x > max)
		return error_set(err, "PCK SGX extension: %s = %lu exceeds %lu",
		    what, x, max);
	*out = x;
	return 0;
}

static int
der_octets(const struct der *v, uint8_t *out, size_t n, const char *what,
    struct error *err)
{
	if (v->len != n)
		return error_set(err, "PCK SGX extension: %s is %zu bytes "
		    "(expected %zu)", what, v->len, n);
	memcpy(out, v->p, n);
	return 0;
}

static int
der_bool(const struct der *v, int *out, const char *what, struct error *err)
{
	if (v->len != 1)
		return error_set(err, "PCK SGX extension: %s is not a BOOLEAN",
		    what);
	*out = v->p[0] != 0;
	return 0;
}

/* The sub-arc after the SGX OID: 1 for .1, or (2, i) for .2.i; -1 if the
 * OID is not under the SGX arc. */
static int
oid_arc(const struct der *oid, int depth, int *a, int *b)
{
	if (oid->len != sizeof(sgx_oid) + (size_t)depth ||
	    memcmp(oid->p, sgx_oid, sizeof(sgx_oid)) != 0)
		return -1;
	*a = oid->p[sizeof(sgx_oid)];
	*b = depth == 2 ? oid->p[sizeof(sgx_oid) + 1] : 0;
	if (*a >= 0x80 || *b >= 0x80)
		return -1;
	return 0;
}

static int
parse_tcb(struct der *seq, struct dcap_pck_ext *e, unsigned *seen,
    struct error *err)
{
	while (seq->off < seq->len) {
		struct der item, oid, val;
		uint8_t tag;
		unsigned long x;
		int a, b;

		if (der_expect(seq, 0x30, &item, "TCB entry", err) != 0 ||
		    der_expect(&item, 0x06, &oid, "TCB entry OID", err) != 0 ||
		    der_next(&item, &tag, &val, err) != 0)
			return -1;
		if (item.off != item.len)
			return error_set(err, "PCK SGX extension: extra data "
			    "in a TCB entry");
		if (oid_arc(&oid, 2, &a, &b) != 0 || a != 2)
			continue;
		if (b >= 1 && b <= 16) {
			if (tag != 0x02 || der_uint(&val, 255, &x,
			    "TCB component SVN", err) != 0)
				return error_set(err, "PCK SGX extension: TCB "
				    "component %d is not an INTEGER 0..255", b);
			e->comp_svn[b - 1] = (uint8_t)x;
			*seen |= 1u << (b - 1);
		} else if (b == 17) {
			if (tag != 0x02 || der_uint(&val, 65535, &x, "PCESVN",
			    err) != 0)
				return error_set(err, "PCK SGX extension: "
				    "PCESVN is not an INTEGER 0..65535");
			e->pcesvn = (uint16_t)x;
			*seen |= 1u << 16;
		} else if (b == 18) {
			if (tag != 0x04 || der_octets(&val, e->cpusvn, 16,
			    "CPUSVN", err) != 0)
				return error_set(err, "PCK SGX extension: "
				    "CPUSVN is not a 16-byte OCTET STRING");
			*seen |= 1u << 17;
		}
	}
	return 0;
}

static int
parse_config(struct der *seq, struct dcap_pck_ext *e, struct error *err)
{
	while (seq->off < seq->len) {
		struct der item, oid, val;
		int a, b;

		if (der_expect(seq, 0x30, &item, "configuration entry",
		    err) != 0 ||
		    der_expect(&item, 0x06, &oid, "configuration OID",
		    err) != 0 ||
		    der_expect(&item, 0x01, &val, "configuration flag",
		    err) != 0)
			return -1;
		if (oid_arc(&oid, 2, &a, &b) != 0 || a != 7)
			continue;
		if (b == 1 && der_bool(&val, &e->dynamic_platform,
		    "dynamicPlatform", err) != 0)
			return -1;
		if (b == 2 && der_bool(&val, &e->cached_keys, "cachedKeys",
		    err) != 0)
			return -1;
		if (b == 3 && der_bool(&val, &e->smt_enabled, "SMTEnabled",
		    err) != 0)
			return -1;
	}
	e->has_configuration = 1;
	return 0;
}

int
dcap_pck_ext_parse(const uint8_t *der, size_t len, struct dcap_pck_ext *e,
    struct error *err)
{
	struct der top = { der, len, 0 }, seq;
	unsigned seen = 0, tcb_seen = 0;
	unsigned long x;

	memset(e, 0, sizeof(*e));
	if (der_expect(&top, 0x30, &seq, "SgxExtensions", err) != 0)
		return -1;
	if (top.off != top.len)
		return error_set(err, "PCK SGX extension: %zu bytes after the "
		    "SgxExtensions SEQUENCE", top.len - top.off);
	while (seq.off < seq.len) {
		struct der item, oid, val;
		uint8_t tag;
		int a, b;

		if (der_expect(&seq, 0x30, &item, "extension entry", err) != 0 ||
		    der_expect(&item, 0x06, &oid, "entry OID", err) != 0 ||
		    der_next(&item, &tag, &val, err) != 0)
			return -1;
		if (item.off != item.len)
			return error_set(err, "PCK SGX extension: extra data in "
			    "an entry");
		if (oid_arc(&oid, 1, &a, &b) != 0)
			continue;
		if (a >= 1 && a <= 7 && (seen & (1u << a)))
			return error_set(err, "PCK SGX extension: entry .%d "
			    "appears twice", a);
		switch (a) {
		case 1:
			if (tag != 0x04 || der_octets(&val, e->ppid, 16, "PPID",
			    err) != 0)
				return error_set(err, "PCK SGX extension: PPID "
				    "is not a 16-byte OCTET STRING");
			break;
		case 2:
			if (tag != 0x30)
				return error_set(err, "PCK SGX extension: TCB is "
				    "not a SEQUENCE");
			if (parse_tcb(&val, e, &tcb_seen, err) != 0)
				return -1;
			break;
		case 3:
			if (tag != 0x04 || der_octets(&val, e->pceid, 2,
			    "PCE-ID", err) != 0)
				return error_set(err, "PCK SGX extension: PCE-ID "
				    "is not a 2-byte OCTET STRING");
			break;
		case 4:
			if (tag != 0x04 || der_octets(&val, e->fmspc, 6, "FMSPC",
			    err) != 0)
				return error_set(err, "PCK SGX extension: FMSPC "
				    "is not a 6-byte OCTET STRING");
			break;
		case 5:
			if (tag != 0x0a || der_uint(&val, 2, &x, "SGX type",
			    err) != 0)
				return error_set(err, "PCK SGX extension: SGX "
				    "type is not an ENUMERATED 0..2");
			e->sgx_type = (int)x;
			break;
		case 6:
			if (tag != 0x04 || der_octets(&val,
			    e->platform_instance_id, 16, "PlatformInstanceID",
			    err) != 0)
				return error_set(err, "PCK SGX extension: "
				    "PlatformInstanceID is not a 16-byte OCTET "
				    "STRING");
			e->has_platform_instance_id = 1;
			break;
		case 7:
			if (tag != 0x30)
				return error_set(err, "PCK SGX extension: "
				    "Configuration is not a SEQUENCE");
			if (parse_config(&val, e, err) != 0)
				return -1;
			break;
		default:
			continue;
		}
		seen |= 1u << a;
	}
	if ((seen & 0x3e) != 0x3e)
		return error_set(err, "PCK SGX extension: missing %s",
		    !(seen & 2) ? "PPID" : !(seen & 4) ? "TCB" :
		    !(seen & 8) ? "PCE-ID" : !(seen & 16) ? "FMSPC" :
		    "SGX type");
	if (tcb_seen != 0x3ffff)
		return error_set(err, "PCK SGX extension: TCB lacks %s",
		    (tcb_seen & 0xffff) != 0xffff ? "a component SVN" :
		    !(tcb_seen & 0x10000) ? "PCESVN" : "CPUSVN");
	return 0;
}
