/*
 * test_seal_envelope.c: the sealed-blob envelope (store/seal.c): the
 * table of sealers (lookup by name, tdx refused, by lookup and by
 * seal_wrap), the envelope's layout and the damage it refuses, the bounds
 * on the secret's length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sealfix.h"

static void
test_lookup(void **state)
{
	struct error err = { "" };

	(void)state;
	assert_ptr_equal(seal_lookup("tpm2", &err), &seal_tpm2);
	assert_ptr_equal(seal_lookup("snp", &err), &seal_snp);
	assert_ptr_equal(seal_lookup("passphrase", &err), &seal_passphrase);
	assert_ptr_equal(seal_lookup("file", &err), &seal_file);
	assert_int_equal(seal_file.insecure, 1);
	assert_int_equal(seal_tpm2.insecure, 0);
	assert_int_equal(seal_snp.insecure, 0);
	assert_int_equal(seal_passphrase.insecure, 0);

	assert_null(seal_lookup("tdx", &err));
	assert_non_null(strstr(err.msg, "no sealing key exists on TDX"));
	assert_non_null(strstr(err.msg, "'tpm2'"));
	assert_non_null(strstr(err.msg, "'passphrase'"));

	assert_null(seal_lookup("tmp2", &err));
	assert_string_equal(err.msg, "unknown sealer 'tmp2' (known: tpm2, "
	    "snp, passphrase, file)");
	assert_null(seal_lookup("", &err));
	assert_non_null(strstr(err.msg, "no sealer configured"));
	assert_null(seal_lookup(NULL, &err));
	assert_null(seal_lookup("bad\x01name", &err));
	assert_non_null(strstr(err.msg, "bad\\x01name"));
}

static void
test_tdx_refused_by_wrap(void **state)
{
	struct seal_config cfg;
	struct error err = { "" };
	uint8_t *blob = (uint8_t *)"x";
	size_t blen = 1;

	(void)state;
	sealfix_cfg_init(&cfg);
	cfg.kind = "tdx";
	assert_int_equal(seal_wrap(&cfg, sealfix_secret, 32, &blob, &blen,
	    &err), -1);
	assert_null(blob);
	assert_non_null(strstr(err.msg, "TDX"));
}

static void
test_envelope(void **state)
{
	struct fixture *f = *state;
	uint8_t *blob, *copy;
	const uint8_t *payload;
	char name[SEAL_NAME_MAX + 1];
	struct error err = { "" };
	size_t blen, plen, i;

	f->cfg.kind = "file";
	f->cfg.key_file = f->keyfile;
	f->cfg.create = 1;
	assert_int_equal(seal_wrap(&f->cfg, sealfix_secret, 32, &blob, &blen,
	    &err), 0);
	/* magic, name length, name, payload length, payload */
	assert_memory_equal(blob, "TSEAL\x01\x04" "file", 11);
	assert_int_equal(seal_blob_parse(blob, blen, name, &payload, &plen,
	    &err), 0);
	assert_string_equal(name, "file");
	assert_ptr_equal(payload, blob + 15);
	assert_int_equal(plen, blen - 15);
	assert_int_equal(blob[11] << 24 | blob[12] << 16 | blob[13] << 8 |
	    blob[14], (int)plen);
	/* file payload: version 1, nonce, 32 + 16 bytes */
	assert_int_equal(plen, 1 + 24 + 32 + 16);
	assert_int_equal(payload[0], 1);
	sealfix_roundtrip(&f->cfg, sealfix_secret, 32);
	sealfix_roundtrip(&f->cfg, sealfix_secret, 1);
	sealfix_roundtrip(&f->cfg, (const uint8_t *)
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    SEAL_SECRET_MAX);

	/* Every strict prefix and one byte more fail cleanly. */
	for (i = 0; i < blen; i++) {
		copy = xmalloc(i + 1);
		memcpy(copy, blob, i);
		assert_int_equal(seal_blob_parse(copy, i, name, &payload,
		    &plen, &err), -1);
		assert_string_equal(name, "");
		free(copy);
	}
	copy = xmalloc(blen + 1);
	memcpy(copy, blob, blen);
	copy[blen] = 0;
	assert_int_equal(seal_blob_parse(copy, blen + 1, name, &payload, &plen,
	    &err), -1);
	assert_string_equal(err.msg, "sealed key: 1 trailing bytes after the "
	    "payload");

	/* Field by field. */
	memcpy(copy, blob, blen);
	copy[0] = 'X';
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_string_equal(err.msg, "sealed key: not a sealed key blob (bad "
	    "magic)");
	memcpy(copy, blob, blen);
	copy[6] = 0;
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "name length 0"));
	copy[6] = 17;
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "name length 17"));
	memcpy(copy, blob, blen);
	copy[8] = 'I';
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "outside [a-z0-9_]"));
	memcpy(copy, blob, blen);
	copy[11] = 0x7f;
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	memcpy(copy, blob, blen);
	copy[14] = 0;
	copy[13] = 0;
	assert_int_equal(seal_blob_parse(copy, blen, name, &payload, &plen,
	    &err), -1);
	assert_non_null(strstr(err.msg, "payload length 0"));
	free(copy);

	/* A flipped payload byte: parses, does not unseal. */
	copy = xmalloc(blen);
	memcpy(copy, blob, blen);
	copy[blen - 1] ^= 1;
	sealfix_unwrap_fails(&f->cfg, copy, blen, "file: unseal refused");
	memcpy(copy, blob, blen);
	copy[15] = 2;
	sealfix_unwrap_fails(&f->cfg, copy, blen, "unknown payload version 2");
	free(copy);

	/* A blob of another kind is refused, naming both. */
	f->cfg.kind = "passphrase";
	sealfix_unwrap_fails(&f->cfg, blob, blen, "sealed key was sealed by "
	    "'file', but the configured sealer is 'passphrase'");
	f->cfg.kind = "tdx";
	sealfix_unwrap_fails(&f->cfg, blob, blen,
	    "no sealing key exists on TDX");
	free(blob);
}

static void
test_envelope_secret_bounds(void **state)
{
	struct fixture *f = *state;
	uint8_t big[SEAL_SECRET_MAX + 1] = { 0 }, *blob, out[16];
	struct error err = { "" };
	size_t blen, olen;

	f->cfg.kind = "file";
	f->cfg.key_file = f->keyfile;
	f->cfg.create = 1;
	assert_int_equal(seal_wrap(&f->cfg, big, 0, &blob, &blen, &err), -1);
	assert_string_equal(err.msg, "file: secret of 0 bytes out of range "
	    "1..64");
	assert_int_equal(seal_wrap(&f->cfg, big, sizeof(big), &blob, &blen,
	    &err), -1);
	/* An output buffer too small is an error, not a truncation. */
	assert_int_equal(seal_wrap(&f->cfg, sealfix_secret, 32, &blob, &blen,
	    &err), 0);
	assert_int_equal(seal_unwrap(&f->cfg, blob, blen, out, sizeof(out),
	    &olen, &err), -1);
	assert_non_null(strstr(err.msg, "does not fit"));
	assert_true(sealfix_all_zero(out, sizeof(out)));
	free(blob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_tdx_refused_by_wrap),
		cmocka_unit_test_setup_teardown(test_envelope, sealfix_setup,
		    sealfix_teardown),
		cmocka_unit_test_setup_teardown(test_envelope_secret_bounds,
		    sealfix_setup, sealfix_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_init("test_seal_envelope", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
