/*
 * ccel_internal.h: what the ccel*.c files share with each other: the
 * little-endian reader, the kinds of event detail, and the detail
 * decoders' entry points and text helpers. Not a stable API: ccel.h is
 * the interface.
 */
#ifndef TRUSTEE_CCEL_INTERNAL_H
#define TRUSTEE_CCEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

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

/* An n-byte (0..8) little-endian integer (no bounds check: the caller
 * has checked n bytes are there). Inline: it runs per character. */
static inline uint64_t
ccel_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

/* ---- ccel_details.c: the `details` object of an event ---- */

/*
 * The details of an event of this kind from its data bytes (Trustee's
 * per-event-type decoding): *out is a new object, {} for DET_BLANK; -1
 * with the reason when the data cannot be decoded.
 */
int ccel_details_decode(enum ccel_detail kind, const uint8_t *d, size_t n,
    json_t **out, struct error *err);

/* 1 when s[0, n) is valid UTF-8 (strict: no overlong, surrogate or
 * > U+10FFFF forms). */
int ccel_details_utf8_valid(const uint8_t *s, size_t n);

/* UTF-16LE (nbytes even) appended to out as UTF-8. strict: an unpaired
 * surrogate is an error (-1); otherwise it becomes U+FFFD. */
int ccel_details_utf16_to_utf8(const uint8_t *s, size_t nbytes, int strict,
    struct buf *out);

/* A JSON string from validated UTF-8 (may hold NULs); aborts only on
 * allocation failure. */
json_t *ccel_details_jstr(const void *s, size_t n);

/* ---- ccel_devpath.c: EV_EFI_BOOT_SERVICES_APPLICATION ---- */

/* UEFI_IMAGE_LOAD_EVENT details: {"device_paths": [text per node]}, or
 * {} without a device path. */
int ccel_devpath_boot_app(const uint8_t *d, size_t n, json_t **out,
    struct error *err);

#endif
