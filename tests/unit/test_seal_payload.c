/*
 * test_seal_payload.c: the payload parsers of the file, passphrase and
 * tpm2 sealers on malformed input (tpm2 with payloads marshalled here,
 * no TPM), and the tpm2 sealer's PCR selection and description. The
 * tpm2 sealer against a real (software) TPM is in test_seal_tpm.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <tss2/tss2_mu.h>

#include "sealfix.h"

static void
test_file_passphrase_payload_malformed(void **state)
{
	struct fixture *f = *state;
	struct seal_file_payload fp;
	struct seal_passphrase_payload pp;
	struct error err = { "" };
	uint8_t *payload, *copy;
	size_t plen, i;

	f->cfg.key_file = f->keyfile;
	f->cfg.create = 1;
	assert_int_equal(seal_file.seal(&f->cfg, sealfix_secret, 32, &payload,
	    &plen, &err), 0);
	for (i = 0; i < SEAL_BOX_MIN + 1; i++) {
		assert_int_equal(seal_file_payload_parse(payload, i, &fp,
		    &err), -1);
		assert_null(fp.box);
	}
	assert_int_equal(seal_file_payload_parse(payload, 0, &fp, &err), -1);
	assert_string_equal(err.msg, "file: empty payload");
	assert_int_equal(seal_file_payload_parse(payload, plen, &fp, &err), 0);
	copy = xmalloc(SEAL_BOX_MAX + 2);
	memset(copy, 0, SEAL_BOX_MAX + 2);
	copy[0] = 1;
	assert_int_equal(seal_file_payload_parse(copy, SEAL_BOX_MAX + 2, &fp,
	    &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	free(copy);
	free(payload);

	sealfix_write_mode(f->passfile, "pw", 0600);
	f->cfg.passphrase_file = f->passfile;
	payload = sealfix_pass_seal(&f->cfg, &plen);
	for (i = 0; i < SEAL_PASSPHRASE_HDR_LEN + SEAL_BOX_MIN; i++) {
		assert_int_equal(seal_passphrase_payload_parse(payload, i, &pp,
		    &err), -1);
		/* unseal parses before reading any passphrase */
		assert_int_equal(sealfix_pass_unseal(&f->cfg, payload, i, &err),
		    -1);
		assert_null(strstr(err.msg, "wrong passphrase"));
	}
	free(payload);
}

/* A real TPM2B_PUBLIC of a sealed data object, marshalled. */
static size_t
tpm2_test_public(int with_policy, uint8_t *buf, size_t cap)
{
	TPM2B_PUBLIC pub;
	size_t off = 0;

	memset(&pub, 0, sizeof(pub));
	pub.publicArea.type = TPM2_ALG_KEYEDHASH;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
	    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA |
	    (with_policy ? 0 : TPMA_OBJECT_USERWITHAUTH);
	pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	if (with_policy)
		pub.publicArea.authPolicy.size = 32;
	pub.publicArea.unique.keyedHash.size = 32;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, cap, &off),
	    0);
	return off;
}

/* A tpm2 payload as seal_tpm2 writes it, around a fake private blob. */
static size_t
tpm2_test_payload(int with_pcrs, uint8_t *out, size_t cap)
{
	uint8_t pub[1024];
	struct buf b = { 0 };
	size_t publen = tpm2_test_public(with_pcrs, pub, sizeof(pub));
	uint8_t values[64] = { 0 };
	static const uint8_t priv[] = { 0x00, 0x04, 1, 2, 3, 4 };

	seal_put_u8(&b, 1);
	seal_put_u8(&b, 1);
	if (with_pcrs) {
		seal_put_u16(&b, TPM2_ALG_SHA256);
		seal_put_u8(&b, 2);
		seal_put_u8(&b, 0);
		seal_put_u8(&b, 7);
		buf_add(&b, values, 64);
	} else {
		seal_put_u16(&b, 0);
		seal_put_u8(&b, 0);
	}
	seal_put_u16(&b, (uint16_t)publen);
	buf_add(&b, pub, publen);
	seal_put_u16(&b, sizeof(priv));
	buf_add(&b, priv, sizeof(priv));
	assert_true(b.len <= cap);
	memcpy(out, b.data, b.len);
	cap = b.len;
	buf_free(&b);
	return cap;
}

static void
test_tpm2_payload_parse(void **state)
{
	struct seal_tpm2_payload tp;
	struct seal_config cfg;
	struct error err = { "" };
	uint8_t p[2048], copy[2048], out[32];
	size_t len, i, olen;

	(void)state;
	len = tpm2_test_payload(1, p, sizeof(p));
	assert_int_equal(seal_tpm2_payload_parse(p, len, &tp, &err), 0);
	assert_int_equal(tp.pcrs.alg, TPM2_ALG_SHA256);
	assert_int_equal(tp.pcrs.n, 2);
	assert_int_equal(tp.pcrs.idx[1], 7);
	assert_int_equal(tp.digest_len, 32);
	assert_int_equal(tp.priv_len, 6);
	for (i = 0; i < len; i++)
		assert_int_equal(seal_tpm2_payload_parse(p, i, &tp, &err), -1);
	memcpy(copy, p, len);
	copy[len] = 0;
	assert_int_equal(seal_tpm2_payload_parse(copy, len + 1, &tp, &err), -1);
	assert_string_equal(err.msg, "tpm2: 1 trailing bytes in the payload");

	/* Header fields. */
	memcpy(copy, p, len);
	copy[1] = 2;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "template 2"));
	memcpy(copy, p, len);
	copy[3] = 0x05;			/* TPM2_ALG_HMAC: not a bank */
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "unknown PCR bank"));
	memcpy(copy, p, len);
	copy[4] = 25;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "PCR count 25"));
	memcpy(copy, p, len);
	copy[6] = 0;			/* indices 0,0 */
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "strictly ascending"));
	copy[5] = 24;
	copy[6] = 25;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	/* The public area must be a PCR-bound sealed data object. */
	memcpy(copy, p, len);
	copy[2] = copy[3] = copy[4] = 0;	/* "no PCRs" ... */
	memmove(copy + 5, copy + 5 + 2 + 64, len - 5 - 66);
	assert_int_equal(seal_tpm2_payload_parse(copy, len - 66, &tp, &err),
	    -1);
	assert_non_null(strstr(err.msg, "has a policy but no PCR selection"));
	/* Framed lengths that disagree with the TPM2B inside. */
	memcpy(copy, p, len);
	copy[5 + 2 + 64 + 1] += 1;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);

	len = tpm2_test_payload(0, p, sizeof(p));
	assert_int_equal(seal_tpm2_payload_parse(p, len, &tp, &err), 0);
	assert_int_equal(tp.pcrs.n, 0);
	memcpy(copy, p, len);
	copy[4] = 1;
	assert_int_equal(seal_tpm2_payload_parse(copy, len, &tp, &err), -1);
	assert_non_null(strstr(err.msg, "without a bank"));

	/* Unseal parses before it touches any TPM. */
	sealfix_cfg_init(&cfg);
	cfg.tpm2_tcti = "swtpm:host=127.0.0.1,port=1";
	assert_int_equal(seal_tpm2.unseal(&cfg, p, len - 1, out, sizeof(out),
	    &olen, &err), -1);
	assert_non_null(strstr(err.msg, "payload truncated"));
	/* ...and without one fails clearly. */
	assert_int_equal(seal_tpm2.unseal(&cfg, p, len, out, sizeof(out),
	    &olen, &err), -1);
	assert_non_null(strstr(err.msg, "tpm2: cannot reach the TPM at "
	    "'swtpm:host=127.0.0.1,port=1'"));
}

static void
test_tpm2_pcr_selection(void **state)
{
	struct seal_tpm2_pcrs pcrs;
	struct seal_config cfg;
	struct error err = { "" };
	char buf[128];

	(void)state;
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:7,0", &pcrs, &err), 0);
	assert_int_equal(pcrs.alg, TPM2_ALG_SHA256);
	assert_int_equal(pcrs.n, 2);
	assert_int_equal(pcrs.idx[0], 0);
	assert_int_equal(pcrs.idx[1], 7);
	seal_tpm2_pcrs_format(&pcrs, buf, sizeof(buf));
	assert_string_equal(buf, "sha256:0,7");
	assert_int_equal(seal_tpm2_pcrs_parse("sha1:23", &pcrs, &err), 0);
	assert_int_equal(seal_tpm2_pcrs_parse("sha384:0,1,2,3,4,5,6,7,8,9,10,"
	    "11,12,13,14,15,16,17,18,19,20,21,22,23", &pcrs, &err), 0);
	assert_int_equal(pcrs.n, 24);
	assert_int_equal(seal_tpm2_pcrs_parse(NULL, &pcrs, &err), 0);
	assert_int_equal(pcrs.n, 0);
	seal_tpm2_pcrs_format(&pcrs, buf, sizeof(buf));
	assert_string_equal(buf, "none");
	assert_int_equal(seal_tpm2_pcrs_parse("", &pcrs, &err), 0);

	assert_int_equal(seal_tpm2_pcrs_parse("sha256:24", &pcrs, &err), -1);
	assert_non_null(strstr(err.msg, "0..23"));
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:0007", &pcrs, &err), -1);
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:1,1", &pcrs, &err), -1);
	assert_non_null(strstr(err.msg, "PCR 1 twice"));
	assert_int_equal(seal_tpm2_pcrs_parse("md5:1", &pcrs, &err), -1);
	assert_non_null(strstr(err.msg, "unknown bank"));
	assert_int_equal(seal_tpm2_pcrs_parse("sha1:0+sha256:1", &pcrs, &err),
	    -1);
	assert_non_null(strstr(err.msg, "one bank only"));
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:", &pcrs, &err), -1);
	assert_int_equal(seal_tpm2_pcrs_parse("sha256", &pcrs, &err), -1);
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:0,", &pcrs, &err), -1);
	assert_int_equal(seal_tpm2_pcrs_parse("sha256:0 7", &pcrs, &err), -1);

	sealfix_cfg_init(&cfg);
	cfg.tpm2_pcrs = "sha256:7,0";
	seal_tpm2.describe(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "tpm2 (device:/dev/tpmrm0, PCRs sha256:0,7)");
	cfg.tpm2_pcrs = NULL;
	cfg.tpm2_tcti = "swtpm:port=2321";
	seal_tpm2.describe(&cfg, buf, sizeof(buf));
	assert_string_equal(buf, "tpm2 (swtpm:port=2321, no PCR binding)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_file_passphrase_payload_malformed, sealfix_setup,
		    sealfix_teardown),
		cmocka_unit_test(test_tpm2_payload_parse),
		cmocka_unit_test(test_tpm2_pcr_selection),
	};

	if (sodium_init() < 0)
		return 1;
	log_init("test_seal_payload", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
