/*
 * ccel_details.c: the `details` object of a CC event log entry, following
 * Trustee's per-event-type decoding (the expected outputs in
 * testvectors/eventlog/ *_out.json): strings for actions / tags / blobs /
 * IPL / platform config flags and UEFI variable fields, with the text
 * helpers they need (Rust String semantics: strict UTF-8, UTF-16 with or
 * without lossy surrogates). Image-load device paths are decoded in
 * ccel_devpath.c. A detail that cannot be decoded (invalid UTF-8 where
 * Trustee requires it, a field out of bounds) is an error, as in Trustee.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "ccel_internal.h"

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

int
ccel_details_utf8_valid(const uint8_t *s, size_t n)
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
int
ccel_details_utf16_to_utf8(const uint8_t *s, size_t nbytes, int strict,
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
json_t *
ccel_details_jstr(const void *s, size_t n)
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

	json_object_set_new(d, "string", ccel_details_jstr(s, n));
	return d;
}

/* ---- event detail decoders (data = the event's bytes) */

static int
ccel_det_simple(const uint8_t *d, size_t n, json_t **out, struct error *err)
{
	if (!ccel_details_utf8_valid(d, n))
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
	if (!ccel_details_utf8_valid(d + 8, (size_t)size))
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

	if (ccel_details_utf8_valid(d, n)) {
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
		(void)ccel_details_utf16_to_utf8(d + 2, n - 4, 0, &b);
		*out = ccel_details_string(b.data != NULL ?
		    (char *)b.data : "", b.len);
		buf_free(&b);
		return 0;
	}
	if (!ccel_details_utf8_valid(d, n - 1))
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
	if (!ccel_details_utf8_valid(d + 1, len - 1))
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
	if (ccel_details_utf16_to_utf8(d + 32, (size_t)(2 * nlen), 1,
	    &name) != 0) {
		buf_free(&name);
		return error_set(err, "UEFI variable name is not valid "
		    "UTF-16");
	}
	ccel_guid_raw(d, guid);
	vd = b64_encode(d + 32 + 2 * nlen, (size_t)dlen, B64_STD);
	o = json_object();
	json_object_set_new(o, "unicode_name",
	    ccel_details_jstr(name.data != NULL ? (char *)name.data : "",
	    name.len));
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

int
ccel_details_decode(enum ccel_detail kind, const uint8_t *d, size_t n,
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
		return ccel_devpath_boot_app(d, n, out, err);
	case DET_DESC_STRING:
		return ccel_det_desc_string(d, n, out, err);
	case DET_BLANK:
		break;
	}
	*out = json_object();
	return 0;
}

