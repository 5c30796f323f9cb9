/*
 * nvidia_claims.c: the claims of a parsed NVIDIA SPDM report: its opaque
 * data decoded into the "config" claims, named as Trustee names them
 * (nvidia_opaque_claims, nvidia.h), and its measurement blocks as the
 * "measurements" claims (nvidia_claims_measurements). Pure decoding: the
 * caller has checked nothing yet and checks the signature afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvidia.h"
#include "nvidia_internal.h"

enum {
	OPAQUE_STRING,		/* NUL-padded printable text */
	OPAQUE_HEX,
	OPAQUE_VBIOS,
	OPAQUE_NVDEC,
	OPAQUE_MSRSCNT,
	OPAQUE_PDI,
	OPAQUE_U64,
	OPAQUE_FEATURE,
};

/* NVIDIA's opaque data types (nvtrust), named as Trustee names them. */
static const struct {
	uint16_t type;
	const char *name;
	int kind;
} nvidia_opaque_types[] = {
	{ 1, "cert_issuer_name", OPAQUE_HEX },
	{ 2, "cert_authority_key_identifier", OPAQUE_HEX },
	{ 3, "driver_version", OPAQUE_STRING },
	{ 4, "gpu_info", OPAQUE_HEX },
	{ 5, "id_sku", OPAQUE_HEX },
	{ 6, "vbios_version", OPAQUE_VBIOS },
	{ 7, "manufacturer_id", OPAQUE_HEX },
	{ 8, "tamper_detection", OPAQUE_HEX },
	{ 9, "smc", OPAQUE_HEX },
	{ 10, "vpr", OPAQUE_HEX },
	{ 11, "nvdec0_status", OPAQUE_NVDEC },
	{ 12, "measurement_count", OPAQUE_MSRSCNT },
	{ 13, "cpr_info", OPAQUE_HEX },
	{ 14, "board_id", OPAQUE_HEX },
	{ 15, "chip_sku", OPAQUE_STRING },
	{ 16, "chip_sku_mod", OPAQUE_STRING },
	{ 17, "project", OPAQUE_STRING },
	{ 18, "project_sku", OPAQUE_STRING },
	{ 19, "project_sku_mod", OPAQUE_HEX },
	{ 20, "fwid", OPAQUE_HEX },
	{ 21, "protected_pcie_status", OPAQUE_HEX },
	{ 22, "switch_pdi", OPAQUE_PDI },
	{ 23, "floorswept_ports", OPAQUE_HEX },
	{ 24, "position_id", OPAQUE_HEX },
	{ 25, "lock_switch_status", OPAQUE_HEX },
	{ 32, "gpu_link_conn", OPAQUE_HEX },
	{ 33, "sys_enable_status", OPAQUE_HEX },
	{ 34, "opaque_data_version", OPAQUE_U64 },
	{ 35, "chip_info", OPAQUE_STRING },
	{ 36, "feature_flag", OPAQUE_FEATURE },
};

static json_t *
nvidia_hex(const uint8_t *p, size_t n)
{
	char *h = xmalloc(2 * n + 1);
	json_t *j;

	hex_encode(p, n, h);
	j = json_string(h);
	free(h);
	return j;
}

static int
nvidia_le_u64(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i;

	if (n > 8)
		return -1;
	*v = 0;
	for (i = n; i > 0; i--)
		*v = *v << 8 | p[i - 1];
	return 0;
}

/* One opaque value as JSON, or NULL with the reason. */
static json_t *
nvidia_opaque_value(int kind, const char *name, const uint8_t *p, size_t n,
    struct error *err)
{
	json_t *j;
	uint64_t v;
	size_t i, len;

	switch (kind) {
	case OPAQUE_STRING:
		for (len = n; len > 0 && p[len - 1] == 0; len--)
			;
		for (i = 0; i < len; i++)
			if (p[i] < 0x20 || p[i] > 0x7e)
				break;
		if (i < len) {
			error_set(err, "opaque field %s is not printable text",
			    name);
			return NULL;
		}
		return json_stringn((const char *)p, len);
	case OPAQUE_VBIOS:
		/* The first half reversed, then the byte after it:
		 * 00 74 00 96 1a 00 00 00 -> "96.00.74.00.1a". */
		if (n < 2 || n > 16 || n % 2 != 0) {
			error_set(err, "opaque field %s: %zu bytes (expected an "
			    "even number from 2 to 16)", name, n);
			return NULL;
		}
		{
			char s[3 * 9 + 1];
			size_t o = 0;

			for (i = n / 2; i > 0; i--)
				o += (size_t)snprintf(s + o, sizeof(s) - o,
				    "%02x.", p[i - 1]);
			snprintf(s + o, sizeof(s) - o, "%02x", p[n / 2]);
			return json_string(s);
		}
	case OPAQUE_NVDEC:
		if (n == 1 && p[0] == 0xaa)
			return json_string("enabled");
		if (n == 1 && p[0] == 0x55)
			return json_string("disabled");
		error_set(err, "opaque field %s: invalid status (expected one "
		    "byte 0xaa or 0x55)", name);
		return NULL;
	case OPAQUE_MSRSCNT:
		if (n % 4 != 0) {
			error_set(err, "opaque field %s: %zu bytes is not a "
			    "list of 32-bit counts", name, n);
			return NULL;
		}
		j = json_object();
		for (i = 0; i < n / 4; i++) {
			char k[16];

			nvidia_le_u64(p + 4 * i, 4, &v);
			snprintf(k, sizeof(k), "%zu", i + 1);
			json_object_set_new(j, k, json_integer((json_int_t)v));
		}
		return j;
	case OPAQUE_PDI:
		if (n % 8 != 0) {
			error_set(err, "opaque field %s: %zu bytes is not a "
			    "list of 8-byte PDIs", name, n);
			return NULL;
		}
		j = json_array();
		for (i = 0; i < n / 8; i++)
			json_array_append_new(j, nvidia_hex(p + 8 * i, 8));
		return j;
	case OPAQUE_U64:
	case OPAQUE_FEATURE:
		if (nvidia_le_u64(p, n, &v) != 0) {
			error_set(err, "opaque field %s: %zu bytes is longer "
			    "than a 64-bit integer", name, n);
			return NULL;
		}
		if (kind == OPAQUE_FEATURE)
			return json_string(v == 0 ? "SPT" : v == 1 ? "MPT" :
			    v == 2 ? "PPCIE" : "unknown");
		if (v > (uint64_t)INT64_MAX) {
			error_set(err, "opaque field %s: value out of range",
			    name);
			return NULL;
		}
		return json_integer((json_int_t)v);
	default:
		return nvidia_hex(p, n);
	}
}

int
nvidia_opaque_claims(const uint8_t *p, size_t len, json_t **config,
    uint8_t fwid[NVIDIA_FWID_LEN], struct error *err)
{
	json_t *c = json_object(), *val;
	size_t off = 0, i;
	int has_fwid = 0;

	*config = NULL;
	while (off < len) {
		const char *name = NULL;
		char other[16];
		uint16_t type, n;
		int kind = OPAQUE_HEX;

		if (len - off < 4) {
			error_set(err, "opaque data: %zu trailing byte(s) at "
			    "offset %zu are not an item header", len - off, off);
			goto fail;
		}
		type = (uint16_t)(p[off] | p[off + 1] << 8);
		n = (uint16_t)(p[off + 2] | p[off + 3] << 8);
		off += 4;
		if (n > len - off) {
			error_set(err, "opaque data: item of type %u at offset "
			    "%zu: %u bytes overrun the opaque data (%zu left)",
			    type, off - 4, n, len - off);
			goto fail;
		}
		for (i = 0; i < ARRAY_SIZE(nvidia_opaque_types); i++)
			if (nvidia_opaque_types[i].type == type) {
				name = nvidia_opaque_types[i].name;
				kind = nvidia_opaque_types[i].kind;
			}
		if (name == NULL) {
			snprintf(other, sizeof(other), "type_%u", type);
			name = other;
		}
		if (json_object_get(c, name) != NULL) {
			error_set(err, "opaque data: field %s appears twice",
			    name);
			goto fail;
		}
		if (type == 20) {
			if (n != NVIDIA_FWID_LEN) {
				error_set(err, "opaque field fwid: %u bytes "
				    "(expected %d)", n, NVIDIA_FWID_LEN);
				goto fail;
			}
			memcpy(fwid, p + off, NVIDIA_FWID_LEN);
			has_fwid = 1;
		}
		if ((val = nvidia_opaque_value(kind, name, p + off, n,
		    err)) == NULL)
			goto fail;
		json_object_set_new(c, name, val);
		off += n;
	}
	if (json_object_get(c, "driver_version") == NULL ||
	    json_object_get(c, "vbios_version") == NULL) {
		error_set(err, "opaque data: driver_version and vbios_version "
		    "are both required");
		goto fail;
	}
	if (!has_fwid) {
		error_set(err, "opaque data: no fwid (type 20) to match the "
		    "device certificate");
		goto fail;
	}
	*config = c;
	return 0;
fail:
	json_decref(c);
	return -1;
}

json_t *
nvidia_claims_measurements(const struct spdm_measurements *m)
{
	json_t *j = json_object();
	unsigned i;

	for (i = 0; i < m->nblocks; i++) {
		char k[8];

		snprintf(k, sizeof(k), "%u", m->blocks[i].index);
		json_object_set_new(j, k, nvidia_hex(m->blocks[i].value,
		    m->blocks[i].value_len));
	}
	return j;
}
