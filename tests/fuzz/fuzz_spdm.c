/*
 * fuzz_spdm.c: the bounded parsers under the NVIDIA verifier: the SPDM
 * 1.1 GET_MEASUREMENTS request + MEASUREMENTS response parser
 * (verifier/spdm.c), NVIDIA's opaque data decoder and the FWID extension
 * reader (verifier/nvidia_claims.c, nvidia_fwid.c).
 *
 * Input: one mode byte, then the payload.
 *   mode % 3 == 0: a report (request || response, 96-byte signature);
 *                  when it parses, its opaque data is decoded too;
 *   mode % 3 == 1: opaque data alone;
 *   mode % 3 == 2: a DER certificate whose FWID extension is read.
 * Invariants (abort on violation):
 *   - a parsed report accounts for every byte: signed_len + 96 +
 *     trailing == length; every block, nonce and the opaque data lie
 *     inside [signed part); trailing bytes are zero; the blocks' indices
 *     are distinct and in 1..254;
 *   - decoded opaque data has string driver_version and vbios_version
 *     and a 96-hex-digit fwid equal to the bytes returned;
 *   - failures always leave a message and no result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "../../verifier/nvidia.h"
#include "../../verifier/spdm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_opaque(const uint8_t *p, size_t n)
{
	struct error err;
	json_t *c = (json_t *)1;
	uint8_t fwid[NVIDIA_FWID_LEN];
	char hex[2 * NVIDIA_FWID_LEN + 1];
	const char *f;

	err.msg[0] = '\0';
	if (nvidia_opaque_claims(p, n, &c, fwid, &err) != 0) {
		if (c != NULL || err.msg[0] == '\0')
			abort();
		return;
	}
	if (!json_is_string(json_object_get(c, "driver_version")) ||
	    !json_is_string(json_object_get(c, "vbios_version")))
		abort();
	f = json_string_value(json_object_get(c, "fwid"));
	hex_encode(fwid, sizeof(fwid), hex);
	if (f == NULL || strcmp(f, hex) != 0)
		abort();
	json_decref(c);
}

static void
fz_report(const uint8_t *p, size_t n)
{
	static struct spdm_measurements m;
	struct error err;
	uint8_t seen[256];
	unsigned i;
	size_t k;

	err.msg[0] = '\0';
	if (spdm_parse_measurements(p, n, NVIDIA_SIG_LEN, &m, &err) != 0) {
		if (err.msg[0] == '\0')
			abort();
		return;
	}
	if (m.signed_len + NVIDIA_SIG_LEN + m.trailing != n ||
	    m.signature != p + m.signed_len ||
	    m.req_nonce != p + 4 ||
	    m.resp_nonce < p || m.resp_nonce + SPDM_NONCE_LEN > m.opaque ||
	    m.opaque + m.opaque_len != p + m.signed_len ||
	    m.nblocks == 0 || m.nblocks > SPDM_MAX_BLOCKS)
		abort();
	for (k = m.signed_len + NVIDIA_SIG_LEN; k < n; k++)
		if (p[k] != 0)
			abort();
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < m.nblocks; i++) {
		const struct spdm_block *b = &m.blocks[i];

		if (b->index == 0 || b->index == 0xff || seen[b->index]++ ||
		    b->value < p + SPDM_REQUEST_LEN + 8 ||
		    b->value + b->value_len > m.resp_nonce)
			abort();
	}
	fz_opaque(m.opaque, m.opaque_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	uint8_t fwid[NVIDIA_FWID_LEN];

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fz_report(data + 1, size - 1);
		break;
	case 1:
		fz_opaque(data + 1, size - 1);
		break;
	default:
		err.msg[0] = '\0';
		if (nvidia_cert_fwid(data + 1, size - 1, fwid, &err) != 0 &&
		    err.msg[0] == '\0')
			abort();
		break;
	}
	return 0;
}
