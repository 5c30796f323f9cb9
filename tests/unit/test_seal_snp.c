/*
 * test_seal_snp.c: the SNP sealer (store/seal_snp.c) with a fake secure
 * processor: the key request's construction, the response checks, the
 * derivation and payload of seal and unseal, no device, and its payload
 * parser on malformed input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <sodium.h>

#include "sealfix.h"

static void
test_snp_request_construction(void **state)
{
	static const uint8_t want_req[32] = {
		0x00, 0x00, 0x00, 0x00,		/* ROOT_KEY_SELECT: VCEK */
		0x00, 0x00, 0x00, 0x00,		/* reserved */
		0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* fields */
		0x00, 0x00, 0x00, 0x00,		/* VMPL 0 */
		0x00, 0x00, 0x00, 0x00,		/* GUEST_SVN */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* TCB */
	};
	struct seal_snp_params params;
	struct snp_derived_key_req req;
	struct snp_derived_key_resp resp;
	struct snp_guest_request_ioctl ioc;

	(void)state;
	memset(&req, 0xa5, sizeof(req));
	memset(&resp, 0xa5, sizeof(resp));
	memset(&ioc, 0xa5, sizeof(ioc));
	seal_snp_params_default(&params);
	assert_int_equal(params.field_select, 0x9);
	seal_snp_request_build(&params, &req, &resp, &ioc);
	assert_int_equal(sizeof(req), 32);
	assert_memory_equal(&req, want_req, sizeof(want_req));
	assert_int_equal(ioc.msg_version, 1);
	assert_true(ioc.req_data == (uint64_t)(uintptr_t)&req);
	assert_true(ioc.resp_data == (uint64_t)(uintptr_t)&resp);
	assert_true(ioc.exitinfo2 == 0);
	assert_true(sealfix_all_zero((const uint8_t *)&resp, sizeof(resp)));
	/* The SNP_GET_DERIVED_KEY ioctl number: _IOWR('S', 1, 32 bytes). */
	assert_int_equal(SNP_GET_DERIVED_KEY, 0xc0205301);

	/* Other parameters land at their ABI offsets, little-endian. */
	params.root_key_select = 1;
	params.field_select = 0x3f;
	params.vmpl = 2;
	params.guest_svn = 0x01020304;
	params.tcb_version = 0x1122334455667788ull;
	seal_snp_request_build(&params, &req, &resp, &ioc);
	{
		const uint8_t *b = (const uint8_t *)&req;

		assert_int_equal(b[0x00], 1);
		assert_int_equal(b[0x08], 0x3f);
		assert_int_equal(b[0x10], 2);
		assert_int_equal(b[0x14], 0x04);
		assert_int_equal(b[0x17], 0x01);
		assert_int_equal(b[0x18], 0x88);
		assert_int_equal(b[0x1f], 0x11);
	}
}

static void
test_snp_response(void **state)
{
	struct snp_derived_key_resp resp;
	uint8_t key[32];
	struct error err = { "" };
	size_t i;

	(void)state;
	memset(&resp, 0, sizeof(resp));
	for (i = 0; i < 32; i++)
		resp.data[0x20 + i] = (uint8_t)(0xc0 + i);
	assert_int_equal(seal_snp_response_key(&resp, key, &err), 0);
	for (i = 0; i < 32; i++)
		assert_int_equal(key[i], 0xc0 + i);
	resp.data[0] = 0x16;
	assert_int_equal(seal_snp_response_key(&resp, key, &err), -1);
	assert_non_null(strstr(err.msg, "status 0x16 (invalid parameters"));
	resp.data[0] = 0;
	resp.data[3] = 1;
	assert_int_equal(seal_snp_response_key(&resp, key, &err), -1);
	assert_non_null(strstr(err.msg, "status 0x1000000"));
}

/*
 * A fake secure processor: a chip secret, the guest's launch
 * measurement and policy; the derived key is BLAKE2b over the chip
 * secret and what the request selects, as the firmware mixes in the
 * selected fields. It records the last request.
 */
struct fake_psp {
	uint8_t chip[32];
	uint8_t measurement[48];
	uint64_t policy;
	uint32_t status;
	int fail_ioctl;
	int calls;
	char device[64];
	struct snp_derived_key_req last;
};

static int
fake_psp_request(void *arg, const char *device,
    struct snp_guest_request_ioctl *ioc, struct error *err)
{
	struct fake_psp *p = arg;
	const struct snp_derived_key_req *req =
	    (const struct snp_derived_key_req *)(uintptr_t)ioc->req_data;
	struct snp_derived_key_resp *resp =
	    (struct snp_derived_key_resp *)(uintptr_t)ioc->resp_data;
	crypto_generichash_state h;

	p->calls++;
	snprintf(p->device, sizeof(p->device), "%s", device);
	if (p->fail_ioctl) {
		ioc->fw_error = 0x16;
		return error_set(err, "snp: fake ioctl failure");
	}
	assert_int_equal(ioc->msg_version, 1);
	p->last = *req;
	memset(resp->data, 0, sizeof(resp->data));
	resp->data[0] = (uint8_t)p->status;
	crypto_generichash_init(&h, p->chip, sizeof(p->chip), 32);
	crypto_generichash_update(&h, (const uint8_t *)req, sizeof(*req));
	if (req->guest_field_select & SEAL_SNP_FIELD_MEASUREMENT)
		crypto_generichash_update(&h, p->measurement,
		    sizeof(p->measurement));
	if (req->guest_field_select & SEAL_SNP_FIELD_POLICY)
		crypto_generichash_update(&h, (const uint8_t *)&p->policy,
		    sizeof(p->policy));
	crypto_generichash_final(&h, resp->data + 0x20, 32);
	return 0;
}

/* What fake_psp_request derives for the default request. */
static void
fake_psp_key(const struct fake_psp *p, uint8_t key[32])
{
	struct snp_guest_request_ioctl ioc;
	struct snp_derived_key_req req;
	struct snp_derived_key_resp resp;
	struct seal_snp_params params;
	struct fake_psp copy = *p;
	struct error err;

	seal_snp_params_default(&params);
	seal_snp_request_build(&params, &req, &resp, &ioc);
	assert_int_equal(fake_psp_request(&copy, "", &ioc, &err), 0);
	memcpy(key, resp.data + 0x20, 32);
}

static void
test_snp_seal_unseal(void **state)
{
	struct fake_psp psp;
	struct seal_config cfg;
	struct seal_snp_payload sp;
	struct error err = { "" };
	uint8_t *payload, out[SEAL_SECRET_MAX], fw[32], wk[32];
	unsigned long long mlen;
	size_t plen, olen;

	(void)state;
	memset(&psp, 0, sizeof(psp));
	randombytes_buf(psp.chip, sizeof(psp.chip));
	randombytes_buf(psp.measurement, sizeof(psp.measurement));
	psp.policy = 0x30000;
	sealfix_cfg_init(&cfg);
	cfg.kind = "snp";

	assert_int_equal(seal_snp_seal_with(fake_psp_request, &psp, &cfg,
	    sealfix_secret, 32, &payload, &plen, &err), 0);
	assert_int_equal(psp.calls, 1);
	assert_string_equal(psp.device, "/dev/sev-guest");
	assert_int_equal(psp.last.root_key_select, 0);
	assert_true(psp.last.guest_field_select == 0x9);
	assert_int_equal(psp.last.vmpl, 0);
	assert_int_equal(plen, SEAL_SNP_HDR_LEN + 24 + 32 + 16);
	assert_int_equal(seal_snp_payload_parse(payload, plen, &sp, &err), 0);
	assert_true(sp.params.field_select == 0x9);
	assert_int_equal(sp.params.root_key_select, 0);
	assert_int_equal(sp.msg_version, 1);
	assert_true(sp.params.tcb_version == 0);
	assert_int_equal(sp.params.guest_svn, 0);

	/* The derivation around the firmware key, independently: subkey 1
	 * of context "tsealsnp", header as associated data. */
	fake_psp_key(&psp, fw);
	assert_int_equal(crypto_kdf_derive_from_key(wk, 32, 1, "tsealsnp", fw),
	    0);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen,
	    NULL, payload + SEAL_SNP_HDR_LEN + 24, plen - SEAL_SNP_HDR_LEN - 24,
	    payload, SEAL_SNP_HDR_LEN, payload + SEAL_SNP_HDR_LEN, wk), 0);
	assert_memory_equal(out, sealfix_secret, 32);

	/* Same guest: unseals. */
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), 0);
	assert_int_equal(olen, 32);
	assert_memory_equal(out, sealfix_secret, 32);

	/* Another launch measurement: another key, refused. */
	psp.measurement[0] ^= 1;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	assert_string_equal(err.msg, "snp: unseal refused: the key derived for "
	    "guest fields 0x9 differs from the one that sealed (another "
	    "launch measurement or guest policy, another host, a changed "
	    "platform TCB, or an altered sealed key)");
	assert_int_equal(olen, 0);
	psp.measurement[0] ^= 1;
	/* Another guest policy (debug allowed: bit 19). */
	psp.policy |= 1u << 19;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	assert_non_null(strstr(err.msg, "unseal refused"));
	psp.policy &= ~(1u << 19);
	/* Another chip. */
	psp.chip[31] ^= 1;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	psp.chip[31] ^= 1;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), 0);

	/* The recorded parameters are what unseal requests (and they are
	 * bound: a changed SVN asks for another key). */
	payload[2 + 4 + 8 + 4 + 3] = 1;		/* GUEST_SVN = 1 */
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	assert_int_equal(psp.last.guest_svn, 1);
	payload[2 + 4 + 8 + 4 + 3] = 0;

	/* The firmware's refusals and a failed ioctl pass through. */
	psp.status = 0x16;
	assert_int_equal(seal_snp_unseal_with(fake_psp_request, &psp, &cfg,
	    payload, plen, out, sizeof(out), &olen, &err), -1);
	assert_non_null(strstr(err.msg, "MSG_KEY_RSP status 0x16"));
	psp.status = 0;
	psp.fail_ioctl = 1;
	free(payload);
	payload = (uint8_t *)"not NULL";
	assert_int_equal(seal_snp_seal_with(fake_psp_request, &psp, &cfg,
	    sealfix_secret, 32, &payload, &plen, &err), -1);
	assert_string_equal(err.msg, "snp: fake ioctl failure");
	assert_null(payload);
}

static void
test_snp_no_device(void **state)
{
	struct seal_config cfg;
	struct snp_guest_request_ioctl ioc;
	struct error err = { "" };
	uint8_t *blob = NULL, out[32];
	size_t blen = 0, olen;
	char desc[256];

	(void)state;
	sealfix_cfg_init(&cfg);
	cfg.kind = "snp";
	cfg.snp_device = "/nonexistent/sev-guest";
	assert_int_equal(seal_wrap(&cfg, sealfix_secret, 32, &blob, &blen,
	    &err), -1);
	assert_string_equal(err.msg, "snp: /nonexistent/sev-guest does not "
	    "exist: this is not an SEV-SNP guest, or the sev-guest driver is "
	    "not loaded (choose another sealer: tpm2 or passphrase)");
	memset(&ioc, 0, sizeof(ioc));
	assert_int_equal(seal_snp_ioctl(NULL, "/dev/null", &ioc, &err), -1);
	assert_non_null(strstr(err.msg, "SNP_GET_DERIVED_KEY on /dev/null "
	    "failed"));
	assert_int_equal(seal_snp.unseal(&cfg, (const uint8_t *)"\x01", 1, out,
	    sizeof(out), &olen, &err), -1);
	assert_non_null(strstr(err.msg, "truncated"));
	seal_snp.describe(&cfg, desc, sizeof(desc));
	assert_non_null(strstr(desc, "/nonexistent/sev-guest"));
	assert_non_null(strstr(desc, "launch measurement and guest policy"));
}

static void
test_snp_payload_malformed(void **state)
{
	struct fake_psp psp;
	struct seal_config cfg;
	struct seal_snp_payload sp;
	struct error err = { "" };
	uint8_t *payload, *copy;
	size_t plen, i;

	(void)state;
	memset(&psp, 0, sizeof(psp));
	sealfix_cfg_init(&cfg);
	assert_int_equal(seal_snp_seal_with(fake_psp_request, &psp, &cfg,
	    sealfix_secret, 32, &payload, &plen, &err), 0);
	/* Too short for a header and the smallest box (a box cut shorter
	 * than sealed still parses: it then fails authentication). */
	for (i = 0; i < SEAL_SNP_HDR_LEN + SEAL_BOX_MIN; i++)
		assert_int_equal(seal_snp_payload_parse(payload, i, &sp, &err),
		    -1);
	copy = xcalloc(1, 256);
	memcpy(copy, payload, plen);
	copy[0] = 9;
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_string_equal(err.msg, "snp: unknown payload version 9");
	memcpy(copy, payload, plen);
	copy[1] = 2;
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "message version 2"));
	memcpy(copy, payload, plen);
	copy[5] = 1;			/* VMRK */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "VMRK"));
	memcpy(copy, payload, plen);
	copy[13] = 0x01;		/* policy only, no measurement */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "must bind the guest policy and the "
	    "launch measurement"));
	copy[13] = 0x49;		/* bit 6: needs message version 2 */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "unknown bits"));
	copy[13] = 0x29;		/* + TCB version: accepted */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), 0);
	memcpy(copy, payload, plen);
	copy[17] = 4;			/* VMPL 4 */
	assert_int_equal(seal_snp_payload_parse(copy, plen, &sp, &err), -1);
	assert_non_null(strstr(err.msg, "VMPL 4"));
	memcpy(copy, payload, plen);
	copy[plen] = 0;
	assert_int_equal(seal_snp_payload_parse(copy, plen + 1, &sp, &err), 0);
	assert_int_equal(seal_snp_payload_parse(copy, SEAL_SNP_HDR_LEN +
	    SEAL_BOX_MAX + 1, &sp, &err), -1);
	free(copy);
	free(payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snp_request_construction),
		cmocka_unit_test(test_snp_response),
		cmocka_unit_test(test_snp_seal_unseal),
		cmocka_unit_test(test_snp_no_device),
		cmocka_unit_test(test_snp_payload_malformed),
	};

	if (sodium_init() < 0)
		return 1;
	log_init("test_seal_snp", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
