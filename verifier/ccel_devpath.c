/*
 * ccel_devpath.c: the details of an EV_EFI_BOOT_SERVICES_APPLICATION
 * event (UEFI_IMAGE_LOAD_EVENT): its device path rendered one string per
 * node in the UEFI text forms Trustee renders (PCI, ACPI, hard drive,
 * vendor media, file path, messaging, BBS); any other node becomes
 * Path(type,subtype,hex) where Trustee fails the log instead. Every node
 * length is bounds-checked against the event.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ccel_internal.h"

/* GUID in the UEFI text form (mixed endian, uppercase). */
static void
ccel_guid_uefi(const uint8_t *g, char out[37])
{
	snprintf(out, 37, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
	    (unsigned)ccel_le(g, 4), (unsigned)ccel_le(g + 4, 2),
	    (unsigned)ccel_le(g + 6, 2), g[8], g[9], g[10], g[11], g[12],
	    g[13], g[14], g[15]);
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
	if (!ccel_details_utf8_valid(v + 4, dl))
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
		(void)ccel_details_utf16_to_utf8(v, n - 2, 0, t);
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
int
ccel_devpath_boot_app(const uint8_t *d, size_t n, json_t **out,
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
		json_array_append_new(arr, ccel_details_jstr(buf_cstr(&t),
		    t.len));
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
