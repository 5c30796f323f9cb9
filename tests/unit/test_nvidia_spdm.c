/*
 * test_nvidia_spdm.c: the SPDM parser (verifier/spdm.c) on crafted
 * reports: a valid one parses, and every bound the parser checks is
 * refused for its reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "util.h"
#include "verifier.h"
#include "nvidia.h"
#include "spdm.h"
#include "testutil.h"

struct crafted {
	uint8_t b[2048];
	size_t len;
};


/* A valid report: request (all, signed), nblocks blocks of 4-byte
 * values, opaque data, a 96-byte signature, trailing zeros. */
static void
craft(struct crafted *c, unsigned nblocks, const uint8_t *opaque,
    size_t olen, size_t trailing)
{
	size_t o = 0, rec, i;

	memset(c, 0, sizeof(*c));
	c->b[o++] = 0x11;
	c->b[o++] = 0xe0;
	c->b[o++] = 0x01;
	c->b[o++] = 0xff;
	memset(c->b + o, 0xab, 32);
	o += 32;
	c->b[o++] = 0x00;
	c->b[o++] = 0x11;
	c->b[o++] = 0x60;
	c->b[o++] = 0;
	c->b[o++] = 0;
	c->b[o++] = (uint8_t)nblocks;
	rec = nblocks * (4 + 3 + 4);
	c->b[o++] = (uint8_t)rec;
	c->b[o++] = (uint8_t)(rec >> 8);
	c->b[o++] = 0;
	for (i = 0; i < nblocks; i++) {
		c->b[o++] = (uint8_t)(i + 1);
		c->b[o++] = 0x01;
		c->b[o++] = 7;
		c->b[o++] = 0;
		c->b[o++] = 0x01;
		c->b[o++] = 4;
		c->b[o++] = 0;
		memset(c->b + o, (int)i, 4);
		o += 4;
	}
	memset(c->b + o, 0xcd, 32);
	o += 32;
	c->b[o++] = (uint8_t)olen;
	c->b[o++] = (uint8_t)(olen >> 8);
	memcpy(c->b + o, opaque, olen);
	o += olen;
	memset(c->b + o, 0x5a, 96);
	o += 96;
	o += trailing;
	c->len = o;
}

static void
spdm_fail(const struct crafted *c, const char *needle)
{
	struct spdm_measurements *m = xmalloc(sizeof(*m));
	struct error err;

	if (spdm_parse_measurements(c->b, c->len, 96, m, &err) == 0)
		fail_msg("parsed, expected \"%s\"", needle);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg,
		    needle);
	free(m);
}

static void
test_spdm_parser(void **state)
{
	static const uint8_t opq[] = { 3, 0, 2, 0, 'x', 0 };
	struct spdm_measurements *m = xmalloc(sizeof(*m));
	struct crafted c;
	struct error err;
	size_t req_end = 37, rec = 37 + 8;

	(void)state;
	craft(&c, 3, opq, sizeof(opq), 0);
	if (spdm_parse_measurements(c.b, c.len, 96, m, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(m->nblocks, 3);
	assert_int_equal(m->blocks[2].index, 3);
	assert_int_equal(m->blocks[2].value_len, 4);
	assert_int_equal(m->blocks[2].value[0], 2);
	assert_int_equal(m->opaque_len, sizeof(opq));
	assert_int_equal(m->signed_len, c.len - 96);
	assert_int_equal(m->trailing, 0);
	assert_int_equal(m->req_nonce[0], 0xab);
	assert_int_equal(m->resp_nonce[0], 0xcd);
	craft(&c, 3, opq, sizeof(opq), 5);
	assert_int_equal(spdm_parse_measurements(c.b, c.len, 96, m, &err), 0);
	assert_int_equal(m->trailing, 5);
	assert_int_equal(spdm_parse_measurements(NULL, 0, 96, m, &err), -1);

	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[0] = 0x12;
	spdm_fail(&c, "version 0x12 is not supported");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[1] = 0x81;
	spdm_fail(&c, "not GET_MEASUREMENTS");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[2] = 0;
	spdm_fail(&c, "no signature requested");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[3] = 0;
	spdm_fail(&c, "only for the number");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[3] = 2;
	spdm_fail(&c, "for a request of one index");
	craft(&c, 1, opq, sizeof(opq), 0);
	c.b[3] = 2;
	spdm_fail(&c, "index 1 was not requested");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[36] = 0x10;
	spdm_fail(&c, "SlotIDParam");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end] = 0x10;
	spdm_fail(&c, "differs from the request's");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end + 1] = 0x61;
	spdm_fail(&c, "not MEASUREMENTS");
	craft(&c, 0, opq, sizeof(opq), 0);
	spdm_fail(&c, "no measurement block");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end + 5] += 1;		/* record longer than its blocks */
	spdm_fail(&c, "does not match its 3 blocks");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end + 5] -= 1;		/* record shorter: last block overruns */
	spdm_fail(&c, "overruns the measurement record");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[req_end + 5] = 0xff;
	c.b[req_end + 6] = 0xff;
	spdm_fail(&c, "overruns the report");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 11] = 1;		/* block 2 index = 1 */
	spdm_fail(&c, "appears twice");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec] = 0;
	spdm_fail(&c, "reserved index 0");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 1] = 0x02;
	spdm_fail(&c, "not the DMTF layout");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 5] = 5;		/* DMTF size 5 in a 7-byte block */
	spdm_fail(&c, "does not match the block size");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 2] = 2;		/* block size 2 */
	spdm_fail(&c, "too short");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 3 * 11 + 32] = 0x01;	/* opaque length 0x401 */
	c.b[rec + 3 * 11 + 33] = 0x04;
	spdm_fail(&c, "exceeds SPDM's 1024");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.b[rec + 3 * 11 + 32] = 0xff;	/* opaque length 255 */
	spdm_fail(&c, "opaque data of 255 bytes");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.len -= 1;
	spdm_fail(&c, "signature at offset");
	craft(&c, 3, opq, sizeof(opq), 3);
	c.b[c.len - 2] = 0x20;
	spdm_fail(&c, "3 unsigned bytes follow the signature");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.len = 40;
	spdm_fail(&c, "response header needs 8 bytes");
	craft(&c, 3, opq, sizeof(opq), 0);
	c.len = rec + 3 * 11 + 10;
	spdm_fail(&c, "responder nonce");
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spdm_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
