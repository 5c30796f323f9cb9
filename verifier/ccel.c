/*
 * ccel.c: the TDX CC event log (ACPI CCEL table data): a TCG crypto-agile
 * event log (TCG PC Client Platform Firmware Profile §10) parsed into
 * Trustee's `uefi_event_logs` entries and replayed into RTMR1..4
 * (reference/attestation-service.md §1.4 step 6 and §1.15).
 *
 * Layout: one TCG_PCR_EVENT (SHA-1 format) carrying the EV_NO_ACTION
 * "Spec ID Event03" (its algorithm table gives every digest size), then
 * TCG_PCR_EVENT2 records {u32 mr_index, u32 type, u32 count,
 * (u16 alg, digest[size(alg)]) * count, u32 size, data[size]} until the
 * end of the buffer or 8 bytes of all-0xFF / all-0x00 padding. All
 * integers little-endian. Every read is bounds-checked; a malformed log
 * is rejected with the offset of the offending field.
 *
 * The `details` object follows Trustee's per-event-type decoding (the
 * expected outputs in testvectors/eventlog/ *_out.json): strings for
 * actions / tags / blobs / IPL / platform config flags, UEFI variable
 * fields (ccel_details.c), image-load device paths (ccel_devpath.c). A
 * detail that cannot be decoded (invalid UTF-8 where Trustee requires it,
 * a field out of bounds) fails the log, as it does in Trustee. This file
 * is the log's structure, its digests and the replay.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../lib/b64.h"
#include "ccel.h"
#include "ccel_internal.h"

#define EV_NO_ACTION			0x00000003u
#define EV_SEPARATOR			0x00000004u
#define EV_EVENT_TAG			0x00000006u
#define EV_PLATFORM_CONFIG_FLAGS	0x0000000au
#define EV_IPL				0x0000000du

#define CCEL_MAX_ALGS	8	/* Spec ID algorithm table entries */

/* TCG algorithm ids of the digests a log may carry. */
struct ccel_alg {
	uint16_t id;
	const char *name;	/* Trustee's serde name */
	size_t size;
	const char *ossl;	/* OpenSSL digest name */
};

static const struct ccel_alg ccel_algs[] = {
	{ 0x0004, "SHA-1", 20, "SHA1" },
	{ 0x000b, "SHA-256", 32, "SHA256" },
	{ 0x000c, "SHA-384", 48, "SHA384" },
	{ 0x000d, "SHA-512", 64, "SHA512" },
	{ 0x0012, "SM3", 32, "SM3" },
};


struct ccel_type {
	uint32_t type;
	const char *name;
	enum ccel_detail detail;
};

/* Event types Trustee knows (an unknown type fails the log there too). */
static const struct ccel_type ccel_types[] = {
	{ 0x00000000, "EV_PREBOOT_CERT", DET_BLANK },
	{ 0x00000001, "EV_POST_CODE", DET_SIMPLE },
	{ 0x00000002, "EV_UNUSED", DET_BLANK },
	{ 0x00000003, "EV_NO_ACTION", DET_BLANK },
	{ 0x00000004, "EV_SEPARATOR", DET_BLANK },
	{ 0x00000005, "EV_ACTION", DET_SIMPLE },
	{ 0x00000006, "EV_EVENT_TAG", DET_EVENT_TAG },
	{ 0x00000007, "EV_S_CRTM_CONTENTS", DET_BLANK },
	{ 0x00000008, "EV_S_CRTM_VERSION", DET_BLANK },
	{ 0x00000009, "EV_CPU_MICROCODE", DET_BLANK },
	{ 0x0000000a, "EV_PLATFORM_CONFIG_FLAGS", DET_CONFIG_FLAGS },
	{ 0x0000000b, "EV_TABLE_OF_DEVICES", DET_BLANK },
	{ 0x0000000c, "EV_COMPACT_HASH", DET_SIMPLE },
	{ 0x0000000d, "EV_IPL", DET_IPL },
	{ 0x0000000e, "EV_IPL_PARTITION_DATA", DET_BLANK },
	{ 0x0000000f, "EV_NONHOST_CODE", DET_BLANK },
	{ 0x00000010, "EV_NONHOST_CONFIG", DET_BLANK },
	{ 0x00000011, "EV_NONHOST_INFO", DET_BLANK },
	{ 0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS", DET_SIMPLE },
	{ 0x80000000, "EV_EFI_EVENT_BASE", DET_BLANK },
	{ 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG", DET_EFI_VARIABLE },
	{ 0x80000002, "EV_EFI_VARIABLE_BOOT", DET_EFI_VARIABLE },
	{ 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION", DET_BOOT_APP },
	{ 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER", DET_BLANK },
	{ 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER", DET_BLANK },
	{ 0x80000006, "EV_EFI_GPT_EVENT", DET_BLANK },
	{ 0x80000007, "EV_EFI_ACTION", DET_SIMPLE },
	{ 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB", DET_BLANK },
	{ 0x80000009, "EV_EFI_HANDOFF_TABLES", DET_BLANK },
	{ 0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2", DET_DESC_STRING },
	{ 0x8000000b, "EV_EFI_HANDOFF_TABLES2", DET_DESC_STRING },
	{ 0x8000000c, "EV_EFI_VARIABLE_BOOT2", DET_EFI_VARIABLE },
	{ 0x80000010, "EV_EFI_HCRTM_EVENT", DET_BLANK },
	{ 0x800000e0, "EV_EFI_VARIABLE_AUTHORITY", DET_EFI_VARIABLE },
	{ 0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB", DET_BLANK },
	{ 0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG", DET_BLANK },
};

/* The digest sizes the Spec ID event declares. */
struct ccel_specid {
	const struct ccel_alg *alg[CCEL_MAX_ALGS];
	size_t size[CCEL_MAX_ALGS];
	size_t n;
};

/* A bounded little-endian reader over the log. */
struct ccel_rd {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static const struct ccel_alg *
ccel_alg_by_id(uint16_t id)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ccel_algs); i++)
		if (ccel_algs[i].id == id)
			return &ccel_algs[i];
	return NULL;
}

static const struct ccel_type *
ccel_type_by_id(uint32_t t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ccel_types); i++)
		if (ccel_types[i].type == t)
			return &ccel_types[i];
	return NULL;
}

/* Read an n-byte (1..8) little-endian integer naming `what` on error. */
static int
ccel_rd_int(struct ccel_rd *r, size_t n, uint64_t *v, const char *what,
    struct error *err)
{
	if (r->len - r->off < n)
		return error_set(err, "truncated at offset %zu: %s needs "
		    "%zu bytes, %zu left", r->off, what, n, r->len - r->off);
	*v = ccel_le(r->p + r->off, n);
	r->off += n;
	return 0;
}

static int
ccel_rd_bytes(struct ccel_rd *r, size_t n, const uint8_t **out,
    const char *what, struct error *err)
{
	if (r->len - r->off < n)
		return error_set(err, "truncated at offset %zu: %s needs "
		    "%zu bytes, %zu left", r->off, what, n, r->len - r->off);
	*out = r->p + r->off;
	r->off += n;
	return 0;
}

/* ---- log structure */

static int
ccel_digest(const struct ccel_alg *a, const void *d, size_t n,
    uint8_t *out, struct error *err)
{
	EVP_MD *md = EVP_MD_fetch(NULL, a->ossl, NULL);
	unsigned int olen = 0;
	int ok;

	if (md == NULL)
		return error_set(err, "digest %s unavailable in this "
		    "OpenSSL", a->name);
	ok = EVP_Digest(d, n, out, &olen, md, NULL);
	EVP_MD_free(md);
	if (!ok || olen != a->size)
		return error_set(err, "%s digest failed", a->name);
	return 0;
}

/*
 * The first record: TCG_PCR_EVENT {u32 pcr; u32 type (EV_NO_ACTION);
 * u8 sha1[20]; u32 size; TCG_EfiSpecIDEvent {signature[16];
 * u32 platform_class; u8 minor, major, errata, uintn_size;
 * u32 n_algs; {u16 alg; u16 size}[n_algs]; u8 vendor_size;
 * vendor[vendor_size]}} which must fill the event exactly.
 */
static int
ccel_parse_specid(struct ccel_rd *r, struct ccel_specid *sid,
    struct error *err)
{
	uint64_t pcr = 0, type = 0, size = 0, nalgs = 0, id = 0, dsz = 0,
	    vsz = 0;
	const uint8_t *skip;
	size_t start, i, j;
	const struct ccel_alg *a;

	if (ccel_rd_int(r, 4, &pcr, "Spec ID event PCR index", err) != 0 ||
	    ccel_rd_int(r, 4, &type, "Spec ID event type", err) != 0)
		return -1;
	if (type != EV_NO_ACTION)
		return error_set(err, "first event has type 0x%llx, "
		    "expected EV_NO_ACTION (0x3) carrying the Spec ID event",
		    (unsigned long long)type);
	if (ccel_rd_bytes(r, 20, &skip, "Spec ID event SHA-1 digest",
	    err) != 0 ||
	    ccel_rd_int(r, 4, &size, "Spec ID event size", err) != 0)
		return -1;
	start = r->off;
	if (size > r->len - r->off)
		return error_set(err, "Spec ID event size %llu at offset "
		    "%zu exceeds the %zu bytes left", (unsigned long long)size,
		    start - 4, r->len - r->off);
	if (size < 29 || memcmp(r->p + start, "Spec ID Event03", 16) != 0)
		return error_set(err, "the first event (at offset %zu) is "
		    "not a \"Spec ID Event03\" event", start);
	r->off = start + 24;
	(void)ccel_rd_int(r, 4, &nalgs, "algorithm count", err);
	if (nalgs == 0 || nalgs > CCEL_MAX_ALGS)
		return error_set(err, "Spec ID event declares %llu "
		    "digest algorithms (expected 1..%d)",
		    (unsigned long long)nalgs, CCEL_MAX_ALGS);
	sid->n = 0;
	for (i = 0; i < nalgs; i++) {
		if (r->off + 4 > start + size)
			return error_set(err, "Spec ID algorithm table "
			    "overruns the event at offset %zu", r->off);
		(void)ccel_rd_int(r, 2, &id, "algorithm id", err);
		(void)ccel_rd_int(r, 2, &dsz, "digest size", err);
		a = ccel_alg_by_id((uint16_t)id);
		if (a == NULL)
			return error_set(err, "Spec ID event: unknown "
			    "digest algorithm 0x%04llx (size %llu) at offset "
			    "%zu", (unsigned long long)id,
			    (unsigned long long)dsz, r->off - 4);
		if (dsz != a->size)
			return error_set(err, "Spec ID event: %s digest "
			    "size %llu, expected %zu", a->name,
			    (unsigned long long)dsz, a->size);
		for (j = 0; j < sid->n; j++)
			if (sid->alg[j] == a)
				return error_set(err, "Spec ID event "
				    "lists %s twice", a->name);
		sid->alg[sid->n] = a;
		sid->size[sid->n] = (size_t)dsz;
		sid->n++;
	}
	if (r->off + 1 > start + size)
		return error_set(err, "Spec ID event has no vendor info "
		    "size byte");
	(void)ccel_rd_int(r, 1, &vsz, "vendor info size", err);
	if (r->off + vsz != start + size)
		return error_set(err, "Spec ID event size %llu does not "
		    "match its contents (%zu bytes)", (unsigned long long)size,
		    (size_t)(r->off + vsz - start));
	r->off = start + (size_t)size;
	return 0;
}

/* 1 when the next bytes are the end-of-log padding (8 bytes, or all that
 * is left if fewer, all 0xFF or all 0x00). */
static int
ccel_at_end(const struct ccel_rd *r)
{
	size_t n = r->len - r->off, i;
	uint8_t c;

	if (n > 8)
		n = 8;
	c = r->p[r->off];
	if (c != 0x00 && c != 0xff)
		return 0;
	for (i = 1; i < n; i++)
		if (r->p[r->off + i] != c)
			return 0;
	return 1;
}

int
ccel_replay(const uint8_t *log, size_t len, uint8_t rtmr[4][48],
    json_t **events, struct error *err)
{
	struct ccel_rd r = { log, len, 0 };
	struct ccel_specid sid = { .n = 0 };
	json_t *arr = NULL;
	size_t nev = 0;
	int i;

	if (events != NULL)
		*events = NULL;
	memset(rtmr, 0, 4 * 48);
	if (log == NULL || len == 0)
		return error_set(err, "ccel: the event log is empty");
	if (ccel_parse_specid(&r, &sid, err) != 0)
		return error_prefix(err, "ccel: Spec ID event");
	if (events != NULL)
		arr = json_array();

	while (r.off < r.len && !ccel_at_end(&r)) {
		uint64_t mr = 0, type = 0, count = 0, id = 0, size = 0;
		const struct ccel_type *ty;
		const struct ccel_alg *a;
		const uint8_t *dg[CCEL_MAX_ALGS], *data;
		const struct ccel_alg *da[CCEL_MAX_ALGS];
		size_t evoff = r.off, k, j;
		json_t *ent, *digests, *det = NULL;
		char *hex, *b64;
		int matches = 1;

		nev++;
		if (ccel_rd_int(&r, 4, &mr, "MR index", err) != 0 ||
		    ccel_rd_int(&r, 4, &type, "event type", err) != 0 ||
		    ccel_rd_int(&r, 4, &count, "digest count", err) != 0)
			goto fail_ev;
		ty = ccel_type_by_id((uint32_t)type);
		if (ty == NULL) {
			error_set(err, "unknown event type 0x%08llx",
			    (unsigned long long)type);
			goto fail_ev;
		}
		if (count == 0 || count > sid.n) {
			error_set(err, "digest count %llu (the Spec ID "
			    "event declares %zu algorithms)",
			    (unsigned long long)count, sid.n);
			goto fail_ev;
		}
		for (k = 0; k < count; k++) {
			if (ccel_rd_int(&r, 2, &id, "digest algorithm", err)
			    != 0)
				goto fail_ev;
			a = ccel_alg_by_id((uint16_t)id);
			for (j = 0; j < sid.n; j++)
				if (sid.alg[j] == a)
					break;
			if (a == NULL || j == sid.n) {
				error_set(err, "digest algorithm 0x%04llx "
				    "at offset %zu has no size in the Spec ID "
				    "event", (unsigned long long)id, r.off - 2);
				goto fail_ev;
			}
			da[k] = a;
			if (ccel_rd_bytes(&r, sid.size[j], &dg[k],
			    "event digest", err) != 0)
				goto fail_ev;
		}
		if (ccel_rd_int(&r, 4, &size, "event data size", err) != 0)
			goto fail_ev;
		if (size > r.len - r.off) {
			error_set(err, "truncated at offset %zu: event "
			    "data size %llu, %zu bytes left", r.off - 4,
			    (unsigned long long)size, r.len - r.off);
			goto fail_ev;
		}
		(void)ccel_rd_bytes(&r, (size_t)size, &data, "event data",
		    err);

		/* Replay: CC-MR index 1..4 -> RTMR0..3, SHA-384 only; an
		 * EV_NO_ACTION event is informational and never extended. */
		if (mr >= 1 && mr <= 4 && type != EV_NO_ACTION) {
			for (k = 0; k < count; k++) {
				uint8_t m[96];

				if (da[k]->id != 0x000c)
					continue;
				memcpy(m, rtmr[mr - 1], 48);
				memcpy(m + 48, dg[k], 48);
				if (ccel_digest(da[k], m, sizeof(m),
				    rtmr[mr - 1], err) != 0)
					goto fail_ev;
			}
		}
		if (arr == NULL)
			continue;

		if (ccel_details_decode(ty->detail, data, (size_t)size, &det,
		    err) != 0) {
			error_prefix(err, "%s details", ty->name);
			goto fail_ev;
		}
		digests = json_array();
		for (k = 0; k < count; k++) {
			uint8_t h[64];

			if (ccel_digest(da[k], data, (size_t)size, h, err)
			    != 0) {
				json_decref(digests);
				json_decref(det);
				goto fail_ev;
			}
			if (memcmp(h, dg[k], da[k]->size) != 0)
				matches = 0;
			hex = xmalloc(2 * da[k]->size + 1);
			hex_encode(dg[k], da[k]->size, hex);
			json_array_append_new(digests, json_pack("{s:s, s:s}",
			    "alg", da[k]->name, "digest", hex));
			free(hex);
		}
		b64 = b64_encode(data, (size_t)size, B64_STD);
		ent = json_object();
		json_object_set_new(ent, "details", det);
		json_object_set_new(ent, "digest_matches_event",
		    json_boolean(matches));
		json_object_set_new(ent, "digests", digests);
		json_object_set_new(ent, "event", json_string(b64));
		json_object_set_new(ent, "index", json_integer((json_int_t)mr));
		json_object_set_new(ent, "type_name", json_string(ty->name));
		free(b64);
		json_array_append_new(arr, ent);
		continue;
fail_ev:
		error_prefix(err, "ccel: event %zu at offset %zu", nev, evoff);
		json_decref(arr);
		for (i = 0; i < 4; i++)
			memset(rtmr[i], 0, 48);
		return -1;
	}
	if (events != NULL)
		*events = arr;
	return 0;
}
