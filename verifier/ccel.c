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
 * fields, image-load device paths. A detail that cannot be decoded
 * (invalid UTF-8 where Trustee requires it, a field out of bounds) fails
 * the log, as it does in Trustee.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../lib/b64.h"
#include "ccel.h"

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

enum ccel_detail {
	DET_BLANK,		/* {} */
	DET_SIMPLE,		/* whole event as UTF-8 */
	DET_EVENT_TAG,
	DET_CONFIG_FLAGS,
	DET_IPL,
	DET_EFI_VARIABLE,
	DET_BOOT_APP,
	DET_DESC_STRING		/* u8 size + description (blob2, tables2) */
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

static uint64_t
ccel_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
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

/* ---- text helpers (Rust String semantics, which Trustee's output has) */

/* Decode one UTF-8 scalar at s[*i]; strict (no overlong, surrogate or
 * > U+10FFFF forms). -1 if invalid. */
static int
ccel_utf8_next(const uint8_t *s, size_t n, size_t *i, uint32_t *cp)
{
	uint8_t c = s[*i];
	size_t need, k;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1; v = c & 0x1f; min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2; v = c & 0x0f; min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3; v = c & 0x07; min = 0x10000;
	} else
		return -1;
	if (n - *i - 1 < need)
		return -1;
	for (k = 1; k <= need; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		v = (v << 6) | (s[*i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return -1;
	*cp = v;
	*i += need + 1;
	return 0;
}

static int
ccel_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	uint32_t cp;

	while (i < n)
		if (ccel_utf8_next(s, n, &i, &cp) != 0)
			return 0;
	return 1;
}

static void
ccel_utf8_put(struct buf *b, uint32_t cp)
{
	uint8_t o[4];
	size_t n;

	if (cp < 0x80) {
		o[0] = (uint8_t)cp; n = 1;
	} else if (cp < 0x800) {
		o[0] = (uint8_t)(0xc0 | (cp >> 6));
		o[1] = (uint8_t)(0x80 | (cp & 0x3f)); n = 2;
	} else if (cp < 0x10000) {
		o[0] = (uint8_t)(0xe0 | (cp >> 12));
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f)); n = 3;
	} else {
		o[0] = (uint8_t)(0xf0 | (cp >> 18));
		o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (uint8_t)(0x80 | (cp & 0x3f)); n = 4;
	}
	buf_add(b, o, n);
}

/*
 * UTF-16LE (nbytes even) to UTF-8. strict: an unpaired surrogate is an
 * error (-1); otherwise it becomes U+FFFD (Rust from_utf16_lossy).
 */
static int
ccel_utf16_to_utf8(const uint8_t *s, size_t nbytes, int strict,
    struct buf *out)
{
	size_t i = 0, n = nbytes / 2;
	uint32_t u, lo;

	while (i < n) {
		u = (uint32_t)ccel_le(s + 2 * i, 2);
		i++;
		if (u >= 0xd800 && u <= 0xdbff && i < n) {
			lo = (uint32_t)ccel_le(s + 2 * i, 2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				i++;
				ccel_utf8_put(out, 0x10000 +
				    ((u - 0xd800) << 10) + (lo - 0xdc00));
				continue;
			}
		}
		if (u >= 0xd800 && u <= 0xdfff) {
			if (strict)
				return -1;
			u = 0xfffd;
		}
		ccel_utf8_put(out, u);
	}
	return 0;
}

/* A JSON string from validated UTF-8 (may hold NULs). */
static json_t *
ccel_jstr(const void *s, size_t n)
{
	json_t *j = json_stringn(s, n);

	if (j == NULL)
		abort();	/* only on allocation failure: input validated */
	return j;
}

static json_t *
ccel_details_string(const void *s, size_t n)
{
	json_t *d = json_object();

	json_object_set_new(d, "string", ccel_jstr(s, n));
	return d;
}

/* ---- event detail decoders (data = the event's bytes) */

static int
ccel_det_simple(const uint8_t *d, size_t n, json_t **out, struct error *err)
{
	if (!ccel_utf8_valid(d, n))
		return error_set(err, "event data is not valid UTF-8");
	*out = ccel_details_string(d, n);
	return 0;
}

/* TCG_PCClientTaggedEvent {u32 id; u32 size; data[size]}: the data as
 * UTF-8 with every NUL removed. */
static int
ccel_det_event_tag(const uint8_t *d, size_t n, json_t **out,
    struct error *err)
{
	struct buf b = { 0 };
	uint64_t size;
	size_t i;

	if (n < 8)
		return error_set(err, "tagged event shorter than its 8-byte "
		    "header (%zu bytes)", n);
	size = ccel_le(d + 4, 4);
	if (size > n - 8)
		return error_set(err, "tagged event data size %llu exceeds the "
		    "%zu bytes present", (unsigned long long)size, n - 8);
	if (!ccel_utf8_valid(d + 8, (size_t)size))
		return error_set(err, "tagged event data is not valid UTF-8");
	for (i = 0; i < size; i++)
		if (d[8 + i] != 0)
			buf_add(&b, &d[8 + i], 1);
	*out = ccel_details_string(b.data != NULL ? (char *)b.data : "",
	    b.len);
	buf_free(&b);
	return 0;
}

/*
 * EV_PLATFORM_CONFIG_FLAGS (vendor-defined): the data as UTF-8 ("" if it
 * is not valid UTF-8), U+0010 turned into a space, then every control
 * character (Unicode Cc: U+0000..U+001F, U+007F..U+009F) dropped.
 */
static int
ccel_det_config_flags(const uint8_t *d, size_t n, json_t **out)
{
	struct buf b = { 0 };
	size_t i = 0;
	uint32_t cp;

	if (ccel_utf8_valid(d, n)) {
		while (i < n) {
			(void)ccel_utf8_next(d, n, &i, &cp);
			if (cp == 0x10)
				cp = ' ';
			if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f))
				continue;
			ccel_utf8_put(&b, cp);
		}
	}
	*out = ccel_details_string(b.data != NULL ? (char *)b.data : "",
	    b.len);
	buf_free(&b);
	return 0;
}

/*
 * EV_IPL (vendor-defined): data prefixed 2e 00 (Google Cloud) is UTF-16LE
 * after the prefix without its final 2 bytes (lossy); otherwise UTF-8
 * without the final byte (the terminator).
 */
static int
ccel_det_ipl(const uint8_t *d, size_t n, json_t **out, struct error *err)
{
	struct buf b = { 0 };

	if (n < 2)
		return error_set(err, "EV_IPL data shorter than 2 bytes");
	if (d[0] == 0x2e && d[1] == 0x00) {
		if (n - 2 == 0 || (n - 2) % 2 != 0)
			return error_set(err, "EV_IPL: data after the 2e00 "
			    "prefix is empty or not UTF-16");
		/* words from offset 2 to n - 2 (the terminator dropped) */
		(void)ccel_utf16_to_utf8(d + 2, n - 4, 0, &b);
		*out = ccel_details_string(b.data != NULL ?
		    (char *)b.data : "", b.len);
		buf_free(&b);
		return 0;
	}
	if (!ccel_utf8_valid(d, n - 1))
		return error_set(err, "EV_IPL data is not valid UTF-8");
	*out = ccel_details_string(d, n - 1);
	return 0;
}

/* UEFI_PLATFORM_FIRMWARE_BLOB2 / UEFI_HANDOFF_TABLE_POINTERS2: u8 size
 * then the description; Trustee keeps bytes 1..size (the last byte of
 * the description, its NUL, dropped). */
static int
ccel_det_desc_string(const uint8_t *d, size_t n, json_t **out,
    struct error *err)
{
	size_t len;

	if (n < 1)
		return error_set(err, "description event is empty");
	len = d[0];
	if (n < len)
		return error_set(err, "description size %zu exceeds the %zu "
		    "bytes of the event", len, n);
	if (len <= 1) {
		*out = ccel_details_string("", 0);
		return 0;
	}
	if (!ccel_utf8_valid(d + 1, len - 1))
		return error_set(err, "description is not valid UTF-8");
	*out = ccel_details_string(d + 1, len - 1);
	return 0;
}

/* GUID as its 16 bytes in hex, grouped 4-2-2-2-6 (no byte swapping). */
static void
ccel_guid_raw(const uint8_t *g, char out[37])
{
	hex_encode(g, 4, out);
	out[8] = '-';
	hex_encode(g + 4, 2, out + 9);
	out[13] = '-';
	hex_encode(g + 6, 2, out + 14);
	out[18] = '-';
	hex_encode(g + 8, 2, out + 19);
	out[23] = '-';
	hex_encode(g + 10, 6, out + 24);
}

/* GUID in the UEFI text form (mixed endian, uppercase). */
static void
ccel_guid_uefi(const uint8_t *g, char out[37])
{
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
	    (unsigned)ccel_le(g, 4), (unsigned)ccel_le(g + 4, 2),
	    (unsigned)ccel_le(g + 6, 2), g[8], g[9], g[10], g[11], g[12],
	    g[13], g[14], g[15]);
}

/* UEFI_VARIABLE_DATA {GUID name; u64 name_len; u64 data_len;
 * CHAR16 name[name_len]; u8 data[data_len]}. */
static int
ccel_det_efi_variable(const uint8_t *d, size_t n, json_t **out,
    struct error *err)
{
	uint64_t nlen, dlen;
	struct buf name = { 0 };
	char guid[37], *vd;
	json_t *o;

	if (n < 32)
		return error_set(err, "UEFI variable event shorter than its "
		    "32-byte header (%zu bytes)", n);
	nlen = ccel_le(d + 16, 8);
	dlen = ccel_le(d + 24, 8);
	if (nlen > (n - 32) / 2)
		return error_set(err, "UEFI variable name length %llu exceeds "
		    "the event", (unsigned long long)nlen);
	if (dlen > n - 32 - 2 * nlen)
		return error_set(err, "UEFI variable data length %llu exceeds "
		    "the event", (unsigned long long)dlen);
	if (ccel_utf16_to_utf8(d + 32, (size_t)(2 * nlen), 1, &name) != 0) {
		buf_free(&name);
		return error_set(err, "UEFI variable name is not valid "
		    "UTF-16");
	}
	ccel_guid_raw(d, guid);
	vd = b64_encode(d + 32 + 2 * nlen, (size_t)dlen, B64_STD);
	o = json_object();
	json_object_set_new(o, "unicode_name", ccel_jstr(name.data != NULL ?
	    (char *)name.data : "", name.len));
	json_object_set_new(o, "unicode_name_length",
	    json_integer((json_int_t)nlen));
	json_object_set_new(o, "variable_data", json_string(vd));
	json_object_set_new(o, "variable_data_length",
	    json_integer((json_int_t)dlen));
	json_object_set_new(o, "variable_name", json_string(guid));
	free(vd);
	buf_free(&name);
	*out = o;
	return 0;
}

/* An IPv4 address stored as a little-endian u32, printed from its most
 * significant byte (Trustee's rendering). */
static void
ccel_ipv4(struct buf *t, const uint8_t *v)
{
	buf_printf(t, "%u.%u.%u.%u", v[3], v[2], v[1], v[0]);
}

/* Messaging device path nodes (type 3) Trustee renders. */
static int
ccel_messaging_node(uint8_t sub, const uint8_t *v, size_t n, struct buf *t,
    struct error *err)
{
	char h1[17], h2[17], *mac;
	size_t l;

	switch (sub) {
	case 0x05:					/* USB */
		if (n < 2)
			return error_set(err, "USB device path node too short");
		buf_printf(t, "USB(%u,%u)", v[0], v[1]);
		return 0;
	case 0x0b:					/* MAC */
		if (n < 33)
			return error_set(err, "MAC device path node too short");
		mac = xmalloc(2 * 31 + 1);
		hex_encode(v, 31, mac);
		for (l = 62; l > 0 && mac[l - 1] == '0'; l--)
			;
		mac[l] = '\0';
		for (l = 0; mac[l] != '\0'; l++)
			if (mac[l] >= 'a' && mac[l] <= 'f')
				mac[l] = (char)(mac[l] - 'a' + 'A');
		buf_printf(t, "Mac(%s,0x%02X)", mac, v[32]);
		free(mac);
		return 0;
	case 0x0c: {					/* IPv4 */
		uint64_t proto, atype;

		if (n < 23)
			return error_set(err, "IPv4 device path node too short");
		proto = ccel_le(v + 12, 2);
		atype = v[14];
		buf_addstr(t, "IPv4(");
		ccel_ipv4(t, v + 4);
		buf_printf(t, ",%s,%s,", proto == 6 ? "TCP" : proto == 17 ?
		    "UDP" : "", atype == 0 ? "DHCP" : atype == 1 ? "Static" :
		    "");
		ccel_ipv4(t, v);
		if (ccel_le(v + 15, 4) != 0 || ccel_le(v + 19, 4) != 0)
			buf_printf(t, ",%u,%u", (unsigned)ccel_le(v + 15, 4),
			    (unsigned)ccel_le(v + 19, 4));
		buf_addstr(t, ")");
		return 0;
	}
	case 0x15:					/* FibreEx */
		if (n < 16)
			return error_set(err, "Fibre channel device path node "
			    "too short");
		hex_encode(v, 8, h1);
		hex_encode(v + 8, 8, h2);
		buf_printf(t, "FibreEx(0x%s,0x%s)", h1, h2);
		return 0;
	default:
		mac = xmalloc(2 * n + 1);
		hex_encode(v, n, mac);
		buf_printf(t, "Path(3,%u,%s)", sub, mac);
		free(mac);
		return 0;
	}
}

/* BIOS Boot Specification node (type 5, subtype 1): BBS(type,desc,flags)
 * with the description up to its NUL. */
static int
ccel_bbs_node(const uint8_t *v, size_t n, struct buf *t, struct error *err)
{
	static const struct { unsigned id; const char *name; } names[] = {
		{ 0x01, "FLOPPY" }, { 0x02, "HARD_DRIVE" }, { 0x03, "CDROM" },
		{ 0x04, "PCMCIA" }, { 0x05, "USB" },
		{ 0x06, "EMBEDDED_NETWORK" }, { 0x80, "DEV" },
		{ 0xff, "UNKNOWN" },
	};
	unsigned dt;
	size_t i, dl;

	if (n < 4)
		return error_set(err, "BBS device path node too short");
	dt = (unsigned)ccel_le(v, 2);
	for (dl = 0; 4 + dl < n && v[4 + dl] != 0; dl++)
		;
	if (!ccel_utf8_valid(v + 4, dl))
		return error_set(err, "BBS description is not valid UTF-8");
	buf_addstr(t, "BBS(");
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].id == dt)
			break;
	if (i < ARRAY_SIZE(names))
		buf_addstr(t, names[i].name);
	else
		buf_printf(t, "%u", dt);
	buf_addstr(t, ",");
	buf_add(t, v + 4, dl);
	buf_printf(t, ",%u)", (unsigned)ccel_le(v + 2, 2));
	return 0;
}

/* One device path node as text (the UEFI text device node forms Trustee
 * renders; any other node as Path(type,subtype,hex), where Trustee fails
 * the log instead). */
static int
ccel_device_node(uint8_t type, uint8_t sub, const uint8_t *v, size_t n,
    struct buf *t, struct error *err)
{
	char g[37];
	char *hex;

	if (type == 1 && sub == 1) {			/* PCI */
		if (n < 2)
			return error_set(err, "PCI device path node too short");
		buf_printf(t, "Pci(%u,%u)", v[0], v[1]);
		return 0;
	}
	if (type == 2 && sub == 1) {			/* ACPI */
		uint32_t hid, uid, ven;

		if (n < 8)
			return error_set(err, "ACPI device path node too "
			    "short");
		hid = (uint32_t)ccel_le(v, 4);
		uid = (uint32_t)ccel_le(v + 4, 4);
		ven = hid & 0xffff;
		buf_printf(t, "ACPI(%c%c%c%04X,%u)",
		    (char)(((ven >> 10) & 0x1f) + '@'),
		    (char)(((ven >> 5) & 0x1f) + '@'),
		    (char)((ven & 0x1f) + '@'), (unsigned)(hid >> 16), uid);
		return 0;
	}
	if (type == 4 && sub == 1) {			/* hard drive */
		uint32_t part;

		if (n < 38)
			return error_set(err, "hard drive device path node too "
			    "short");
		part = (uint32_t)ccel_le(v, 4);
		if (v[36] == 1)
			buf_printf(t, "HD(%u,MBR,0x%08x", part,
			    (unsigned)ccel_le(v + 20, 4));
		else if (v[36] == 2) {
			ccel_guid_uefi(v + 20, g);
			buf_printf(t, "HD(%u,GPT,%s", part, g);
		} else
			return error_set(err, "hard drive device path: unknown "
			    "partition format %u", v[36]);
		if (part != 0)
			buf_printf(t, ",0x%llx,0x%llx",
			    (unsigned long long)ccel_le(v + 4, 8),
			    (unsigned long long)ccel_le(v + 12, 8));
		buf_addstr(t, ")");
		return 0;
	}
	if (type == 4 && sub == 3) {			/* vendor media */
		if (n < 16)
			return error_set(err, "vendor media device path node "
			    "too short");
		ccel_guid_uefi(v, g);
		hex = xmalloc(2 * (n - 16) + 1);
		hex_encode(v + 16, n - 16, hex);
		buf_printf(t, "VenMedia(%s,%s)", g, hex);
		free(hex);
		return 0;
	}
	if (type == 4 && sub == 4) {			/* file path */
		if (n == 0 || n % 2 != 0)
			return error_set(err, "file path device path node is "
			    "not UTF-16");
		buf_addstr(t, "File(");
		(void)ccel_utf16_to_utf8(v, n - 2, 0, t);
		buf_addstr(t, ")");
		return 0;
	}
	if (type == 3)
		return ccel_messaging_node(sub, v, n, t, err);
	if (type == 5 && sub == 1)
		return ccel_bbs_node(v, n, t, err);
	hex = xmalloc(2 * n + 1);
	hex_encode(v, n, hex);
	buf_printf(t, "Path(%u,%u,%s)", type, sub, hex);
	free(hex);
	return 0;
}

/*
 * UEFI_IMAGE_LOAD_EVENT {u64 location, length, link_addr, path_len;
 * path[path_len]}: details.device_paths, one string per node before the
 * final 4-byte end node; {} when there is no device path.
 */
static int
ccel_det_boot_app(const uint8_t *d, size_t n, json_t **out,
    struct error *err)
{
	uint64_t plen;
	size_t off, end, nl;
	json_t *o, *arr;
	struct buf t = { 0 };

	if (n < 32)
		return error_set(err, "image load event shorter than 32 bytes "
		    "(%zu)", n);
	plen = ccel_le(d + 24, 8);
	if (plen == 0) {
		*out = json_object();
		return 0;
	}
	if (plen < 4 || plen > n - 32)
		return error_set(err, "image load event: device path length "
		    "%llu does not fit the %zu bytes after the header",
		    (unsigned long long)plen, n - 32);
	end = 32 + (size_t)plen - 4;
	if (end - 32 < 4)
		return error_set(err, "image load event: device path shorter "
		    "than one node");
	arr = json_array();
	for (off = 32; off < end; off += nl) {
		if (end - off < 4) {
			error_set(err, "device path node header truncated at "
			    "event offset %zu", off);
			goto fail;
		}
		nl = (size_t)ccel_le(d + off + 2, 2);
		if (nl < 4 || nl > end - off) {
			error_set(err, "device path node length %zu at event "
			    "offset %zu is out of bounds", nl, off);
			goto fail;
		}
		t.len = 0;
		if (ccel_device_node(d[off], d[off + 1], d + off + 4, nl - 4,
		    &t, err) != 0)
			goto fail;
		json_array_append_new(arr, ccel_jstr(buf_cstr(&t), t.len));
	}
	buf_free(&t);
	o = json_object();
	json_object_set_new(o, "device_paths", arr);
	*out = o;
	return 0;
fail:
	buf_free(&t);
	json_decref(arr);
	return -1;
}

static int
ccel_details(enum ccel_detail kind, const uint8_t *d, size_t n,
    json_t **out, struct error *err)
{
	switch (kind) {
	case DET_SIMPLE:
		return ccel_det_simple(d, n, out, err);
	case DET_EVENT_TAG:
		return ccel_det_event_tag(d, n, out, err);
	case DET_CONFIG_FLAGS:
		return ccel_det_config_flags(d, n, out);
	case DET_IPL:
		return ccel_det_ipl(d, n, out, err);
	case DET_EFI_VARIABLE:
		return ccel_det_efi_variable(d, n, out, err);
	case DET_BOOT_APP:
		return ccel_det_boot_app(d, n, out, err);
	case DET_DESC_STRING:
		return ccel_det_desc_string(d, n, out, err);
	case DET_BLANK:
		break;
	}
	*out = json_object();
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

		if (ccel_details(ty->detail, data, (size_t)size, &det, err)
		    != 0) {
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
