/*
 * fuzz_x509ext.c: the bounded DER reader for the AMD VCEK/VLEK X.509
 * extensions (verifier/amd_certs_ext.c).
 *
 * Input: one mode byte, then the payload.
 *   mode % 3 == 0: an extension value as a TCB SPL (DER INTEGER 0..255);
 *   mode % 3 == 1: an hwID extension value (raw or OCTET STRING);
 *   mode % 3 == 2: a whole certificate (DER or PEM) whose AMD extensions
 *                  are read, then checked as a VEK against the pinned
 *                  roots (it can never chain: the fuzzer cannot sign).
 * Invariants (abort on violation):
 *   - an accepted INTEGER is a short-form DER INTEGER whose value is its
 *     last content byte, all other content bytes zero;
 *   - an accepted hwID is 8 or 64 bytes, a suffix of the input;
 *   - failures always leave a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/util.h"
#include "../../verifier/amd_certs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err;
	struct amd_vek_ext e;
	struct amd_vek v;
	uint8_t val, hw[64];
	size_t n, i;
	const uint8_t *p;

	if (size < 1)
		return 0;
	p = data + 1;
	n = size - 1;
	err.msg[0] = '\0';
	switch (data[0] % 3) {
	case 0:
		if (amd_certs_ext_int(p, n, &val, &err) == 0) {
			if (n < 3 || p[0] != 0x02 || p[1] != n - 2 ||
			    p[n - 1] != val)
				abort();
			for (i = 2; i + 1 < n; i++)
				if (p[i] != 0)
					abort();
		} else if (err.msg[0] == '\0') {
			abort();
		}
		break;
	case 1:
		if (amd_certs_ext_hwid(p, n, hw, &i, &err) == 0) {
			if ((i != 8 && i != 64) || i > n ||
			    memcmp(hw, p + n - i, i) != 0)
				abort();
		} else if (err.msg[0] == '\0') {
			abort();
		}
		break;
	default:
		if (amd_certs_vek_ext(p, n, &e, &err) == 0) {
			if (e.hwid_len != 0 && e.hwid_len != 8 &&
			    e.hwid_len != 64)
				abort();
		} else if (err.msg[0] == '\0') {
			abort();
		}
		err.msg[0] = '\0';
		if (amd_certs_vek_verify(p, n, NULL, 0, NULL, 0,
		    SNP_PRODUCT_UNKNOWN, &v, &err) == 0)
			abort();
		if (err.msg[0] == '\0' || v.pkey != NULL)
			abort();
		break;
	}
	return 0;
}
