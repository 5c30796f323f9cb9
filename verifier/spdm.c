/*
 * spdm.c: the SPDM 1.1 GET_MEASUREMENTS request + MEASUREMENTS response
 * parser (spdm.h). Offsets in messages are from the start of the whole
 * report (request included), so that they match a hex dump of it.
 */
#include <string.h>

#include "spdm.h"

static uint16_t
spdm_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
spdm_le24(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static int
spdm_parse_request(const uint8_t *buf, size_t len,
    struct spdm_measurements *m, struct error *err)
{
	if (len < SPDM_REQUEST_LEN)
		return error_set(err, "SPDM report truncated: %zu bytes, "
		    "shorter than the %d-byte GET_MEASUREMENTS request", len,
		    SPDM_REQUEST_LEN);
	m->version = buf[0];
	if (m->version != SPDM_VERSION_11)
		return error_set(err, "SPDM request: version 0x%02x is not "
		    "supported (only SPDM 1.1, 0x11)", m->version);
	if (buf[1] != SPDM_GET_MEASUREMENTS)
		return error_set(err, "SPDM request: code 0x%02x is not "
		    "GET_MEASUREMENTS (0xe0)", buf[1]);
	m->req_param1 = buf[2];
	m->req_param2 = buf[3];
	if ((m->req_param1 & 0x01) == 0)
		return error_set(err, "SPDM request: no signature requested "
		    "(Param1 0x%02x): the measurements would be unsigned",
		    m->req_param1);
	if (m->req_param2 == 0)
		return error_set(err, "SPDM request asks only for the number "
		    "of measurements (Param2 0)");
	m->req_nonce = buf + 4;
	m->slot_id = buf[36];
	if ((m->slot_id & 0xf0) != 0 || (m->slot_id & 0x0f) > 7)
		return error_set(err, "SPDM request: invalid SlotIDParam "
		    "0x%02x", m->slot_id);
	return 0;
}

/* The measurement record at buf[off, off + m->record_len). */
static int
spdm_parse_record(const uint8_t *buf, size_t off, struct spdm_measurements *m,
    struct error *err)
{
	size_t end = off + m->record_len, pos = off;
	uint8_t seen[256];
	unsigned i;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < m->nblocks; i++) {
		struct spdm_block *b = &m->blocks[i];
		uint16_t size, vsize;

		if (end - pos < 4)
			return error_set(err, "SPDM measurement block %u at "
			    "offset %zu: header overruns the measurement record "
			    "(%zu bytes left)", i + 1, pos, end - pos);
		b->index = buf[pos];
		if (b->index == 0 || b->index == 0xff)
			return error_set(err, "SPDM measurement block %u at "
			    "offset %zu: reserved index %u", i + 1, pos,
			    b->index);
		if (seen[b->index]++)
			return error_set(err, "SPDM measurement block %u at "
			    "offset %zu: index %u appears twice", i + 1, pos,
			    b->index);
		if (m->req_param2 != 0xff && b->index != m->req_param2)
			return error_set(err, "SPDM measurement block %u: index "
			    "%u was not requested (the request asks for %u)",
			    i + 1, b->index, m->req_param2);
		if (buf[pos + 1] != SPDM_SPEC_DMTF)
			return error_set(err, "SPDM measurement block %u (index "
			    "%u): measurement specification 0x%02x is not the "
			    "DMTF layout (0x01)", i + 1, b->index, buf[pos + 1]);
		size = spdm_le16(buf + pos + 2);
		pos += 4;
		if (size > end - pos)
			return error_set(err, "SPDM measurement block %u (index "
			    "%u): size %u overruns the measurement record (%zu "
			    "bytes left)", i + 1, b->index, size, end - pos);
		if (size < 3)
			return error_set(err, "SPDM measurement block %u (index "
			    "%u): size %u is too short for a DMTF measurement",
			    i + 1, b->index, size);
		b->value_type = buf[pos];
		vsize = spdm_le16(buf + pos + 1);
		if (vsize != size - 3)
			return error_set(err, "SPDM measurement block %u (index "
			    "%u): DMTF value size %u does not match the block "
			    "size %u", i + 1, b->index, vsize, size);
		b->value = buf + pos + 3;
		b->value_len = vsize;
		pos += size;
	}
	if (pos != end)
		return error_set(err, "SPDM measurement record length %zu does "
		    "not match its %u blocks (%zu bytes)", m->record_len,
		    m->nblocks, pos - off);
	return 0;
}

int
spdm_parse_measurements(const uint8_t *buf, size_t len, size_t sig_len,
    struct spdm_measurements *m, struct error *err)
{
	size_t off, i;

	memset(m, 0, sizeof(*m));
	if (buf == NULL)
		return error_set(err, "no SPDM report");
	if (spdm_parse_request(buf, len, m, err) != 0)
		return -1;
	off = SPDM_REQUEST_LEN;
	if (len - off < 8)
		return error_set(err, "SPDM report truncated: the MEASUREMENTS "
		    "response header needs 8 bytes at offset %zu, %zu left",
		    off, len - off);
	if (buf[off] != m->version)
		return error_set(err, "SPDM response: version 0x%02x differs "
		    "from the request's 0x%02x", buf[off], m->version);
	if (buf[off + 1] != SPDM_MEASUREMENTS)
		return error_set(err, "SPDM response: code 0x%02x is not "
		    "MEASUREMENTS (0x60)", buf[off + 1]);
	m->param1 = buf[off + 2];
	m->param2 = buf[off + 3];
	m->nblocks = buf[off + 4];
	m->record_len = spdm_le24(buf + off + 5);
	off += 8;
	if (m->nblocks == 0)
		return error_set(err, "SPDM response holds no measurement "
		    "block");
	if (m->nblocks > SPDM_MAX_BLOCKS)
		return error_set(err, "SPDM response: %u measurement blocks "
		    "(at most %d indices exist)", m->nblocks, SPDM_MAX_BLOCKS);
	if (m->req_param2 != 0xff && m->nblocks != 1)
		return error_set(err, "SPDM response: %u measurement blocks "
		    "for a request of one index", m->nblocks);
	if (m->record_len > len - off)
		return error_set(err, "SPDM report truncated: measurement "
		    "record length %zu at offset %zu overruns the report (%zu "
		    "bytes left)", m->record_len, off, len - off);
	if (spdm_parse_record(buf, off, m, err) != 0)
		return -1;
	off += m->record_len;
	if (len - off < SPDM_NONCE_LEN + 2)
		return error_set(err, "SPDM report truncated: the responder "
		    "nonce and opaque length need %d bytes at offset %zu, %zu "
		    "left", SPDM_NONCE_LEN + 2, off, len - off);
	m->resp_nonce = buf + off;
	off += SPDM_NONCE_LEN;
	m->opaque_len = spdm_le16(buf + off);
	off += 2;
	if (m->opaque_len > SPDM_OPAQUE_MAX)
		return error_set(err, "SPDM response: opaque data length %zu "
		    "exceeds SPDM's %d bytes", m->opaque_len, SPDM_OPAQUE_MAX);
	if (m->opaque_len > len - off)
		return error_set(err, "SPDM report truncated: opaque data of "
		    "%zu bytes at offset %zu overruns the report (%zu bytes "
		    "left)", m->opaque_len, off, len - off);
	m->opaque = buf + off;
	off += m->opaque_len;
	if (sig_len > len - off)
		return error_set(err, "SPDM report truncated: the %zu-byte "
		    "signature at offset %zu overruns the report (%zu bytes "
		    "left)", sig_len, off, len - off);
	m->signed_len = off;
	m->signature = buf + off;
	m->signature_len = sig_len;
	off += sig_len;
	for (i = off; i < len; i++)
		if (buf[i] != 0)
			return error_set(err, "SPDM report: %zu unsigned bytes "
			    "follow the signature (offset %zu) and are not zero "
			    "padding", len - off, off);
	m->trailing = len - off;
	return 0;
}
