/*
 * fuzz_nvidia.c: the "nvidia" verifier (verifier/nvidia*.c) on hostile
 * evidence JSON: the device list, the report encodings (hex or base64),
 * the base64 PEM chains, then the SPDM parser, the opaque data, the
 * chain to the pinned root, the FWID, the signature and the nonce. The
 * seeds hold the real H100 evidence, and the expected report data is
 * the vector's, so mutations start from a fully valid verification.
 * Invariants (abort on violation):
 *   - success: 1..16 devices, each with a class and either claims
 *     holding arch, uuid, measurements and config, or a reason;
 *   - failure: a message and no device left.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "../../verifier/nvidia.h"
#include "../../verifier/verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tests/vectors/nvidia-hopper-coco/expected.json */
static const char fz_rd_hex[] =
    "87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec"
    "e279b616efefc2aae21da80cf5581250";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verifier_device out[VERIFIER_DEVICES_MAX];
	struct verifier_input in;
	struct error err;
	uint8_t rd[48];
	size_t rdlen = 0, n = 99, i;
	json_t *ev;

	if (size > 256 * 1024)
		return 0;
	ev = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (ev == NULL)
		return 0;
	if (hex_decode(fz_rd_hex, rd, sizeof(rd), &rdlen) != 0)
		abort();
	memset(&in, 0, sizeof(in));
	in.evidence = ev;
	in.report_data = rd;
	in.report_data_len = rdlen;
	in.now = 1780000000;
	err.msg[0] = '\0';
	if (verifier_verify_all(&verifier_nvidia, &in, out, &n, &err) != 0) {
		if (n != 0 || err.msg[0] == '\0')
			abort();
		json_decref(ev);
		return 0;
	}
	if (n == 0 || n > VERIFIER_DEVICES_MAX)
		abort();
	for (i = 0; i < n; i++) {
		if (out[i].tee_class == NULL)
			abort();
		if (out[i].claims == NULL) {
			if (out[i].reason[0] == '\0')
				abort();
			continue;
		}
		if (!json_is_string(json_object_get(out[i].claims, "arch")) ||
		    !json_is_string(json_object_get(out[i].claims, "uuid")) ||
		    !json_is_object(json_object_get(out[i].claims,
		    "measurements")) ||
		    !json_is_object(json_object_get(out[i].claims, "config")))
			abort();
	}
	verifier_devices_clear(out, n);
	json_decref(ev);
	return 0;
}
