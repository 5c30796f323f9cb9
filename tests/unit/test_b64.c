/*
 * test_b64.c: lib/b64.c (RFC 4648 vectors in all four variants, strict
 * decoding) and lib/hash.c (FIPS 180 / GB/T 32905 known answers, names).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "b64.h"
#include "hash.h"
#include "util.h"

static const enum b64_variant variants[] = {
	B64_STD, B64_STD_NOPAD, B64_URL, B64_URL_NOPAD
};

/* RFC 4648 §10; the variants only differ in padding for these. */
static const struct {
	const char *in;
	const char *padded;
	const char *unpadded;
} rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static int
is_padded(enum b64_variant v)
{
	return v == B64_STD || v == B64_URL;
}

static void
assert_decodes(const char *s, enum b64_variant v, const void *want,
    size_t wantlen)
{
	uint8_t *out = NULL;
	size_t outlen = 99;

	if (b64_decode(s, strlen(s), v, &out, &outlen) != 0)
		fail_msg("variant %d refused \"%s\"", (int)v, s);
	assert_int_equal(outlen, wantlen);
	assert_memory_equal(out, want, wantlen);
	assert_int_equal(out[outlen], 0);	/* the promised extra NUL */
	free(out);
}

static void
assert_rejects_n(const char *s, size_t n, enum b64_variant v)
{
	uint8_t *out = (uint8_t *)1;
	size_t outlen = 99;

	if (b64_decode(s, n, v, &out, &outlen) != -1)
		fail_msg("variant %d accepted \"%.*s\"", (int)v, (int)n, s);
	assert_null(out);
	assert_int_equal(outlen, 0);
}

static void
assert_rejects(const char *s, enum b64_variant v)
{
	assert_rejects_n(s, strlen(s), v);
}

static void
test_b64_rfc4648_encode(void **state)
{
	size_t i, j;
	char *e;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		for (j = 0; j < ARRAY_SIZE(variants); j++) {
			e = b64_encode(rfc4648[i].in, strlen(rfc4648[i].in),
			    variants[j]);
			assert_string_equal(e, is_padded(variants[j]) ?
			    rfc4648[i].padded : rfc4648[i].unpadded);
			free(e);
		}
	}
}

static void
test_b64_rfc4648_decode(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		for (j = 0; j < ARRAY_SIZE(variants); j++) {
			assert_decodes(is_padded(variants[j]) ?
			    rfc4648[i].padded : rfc4648[i].unpadded,
			    variants[j], rfc4648[i].in, strlen(rfc4648[i].in));
		}
	}
}

/* Bytes hitting indexes 62 and 63, where the alphabets differ. */
static void
test_b64_alphabets(void **state)
{
	static const uint8_t three[] = { 0xfb, 0xff, 0xbf };
	static const uint8_t two[] = { 0xfb, 0xff };
	static const struct {
		enum b64_variant v;
		const char *three, *two;
	} vec[] = {
		{ B64_STD, "+/+/", "+/8=" },
		{ B64_STD_NOPAD, "+/+/", "+/8" },
		{ B64_URL, "-_-_", "-_8=" },
		{ B64_URL_NOPAD, "-_-_", "-_8" },
	};
	size_t i;
	char *e;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		e = b64_encode(three, sizeof(three), vec[i].v);
		assert_string_equal(e, vec[i].three);
		free(e);
		e = b64_encode(two, sizeof(two), vec[i].v);
		assert_string_equal(e, vec[i].two);
		free(e);
		assert_decodes(vec[i].three, vec[i].v, three, sizeof(three));
		assert_decodes(vec[i].two, vec[i].v, two, sizeof(two));
	}
	/* Each alphabet refuses the other's characters. */
	assert_rejects("-_-_", B64_STD);
	assert_rejects("-_8=", B64_STD);
	assert_rejects("-_8", B64_STD_NOPAD);
	assert_rejects("+/+/", B64_URL);
	assert_rejects("+/8=", B64_URL);
	assert_rejects("+/8", B64_URL_NOPAD);
}

static void
test_b64_strict_padding(void **state)
{
	(void)state;
	/* Padded variants: padding exactly as required. */
	assert_rejects("Zg", B64_STD);
	assert_rejects("Zg=", B64_STD);
	assert_rejects("Zg===", B64_STD);
	assert_rejects("Zm9v====", B64_STD);
	assert_rejects("Zm8", B64_URL);
	assert_rejects("Zm8==", B64_URL);
	assert_rejects("=Zm9", B64_STD);
	assert_rejects("Zg==Zg==", B64_STD);
	/* Unpadded variants: no '=' at all. */
	assert_rejects("Zg==", B64_STD_NOPAD);
	assert_rejects("Zm8=", B64_STD_NOPAD);
	assert_rejects("Zg==", B64_URL_NOPAD);
	assert_rejects("Zm8=", B64_URL_NOPAD);
	assert_rejects("Zm9v=", B64_URL_NOPAD);
	/* A lone sextet cannot encode a byte. */
	assert_rejects("Z", B64_URL_NOPAD);
	assert_rejects("Zm9vY", B64_STD_NOPAD);
	assert_rejects("Z===", B64_STD);
}

static void
test_b64_strict_chars(void **state)
{
	size_t j;

	(void)state;
	for (j = 0; j < ARRAY_SIZE(variants); j++) {
		enum b64_variant v = variants[j];

		assert_rejects("Zm9v\n", v);
		assert_rejects(" Zm9v", v);
		assert_rejects("Zm 9v", v);
		assert_rejects("Zm9v\r\n", v);
		assert_rejects("Zm9v\t", v);
		assert_rejects("Zm9*", v);
		assert_rejects("Zm9.", v);
		assert_rejects("Zm9\xc3\xa9", v);
		/* A NUL inside the given length is not an end marker. */
		assert_rejects_n("Zm9v\0Zm9v", 9, v);
	}
	/* Stray low bits in the last character (non-canonical encodings:
	 * "Zh" and "Zm9" decode to "f"/"fo" plus ignored bits). */
	assert_rejects("Zh==", B64_STD);
	assert_rejects("Zh", B64_STD_NOPAD);
	assert_rejects("Zh", B64_URL_NOPAD);
	assert_rejects("Zm9=", B64_URL);
	assert_rejects("Zm9", B64_URL_NOPAD);
}

/* The length argument bounds the input (no reliance on a NUL). */
static void
test_b64_length_bound(void **state)
{
	uint8_t *out = NULL;
	size_t outlen = 0;

	(void)state;
	assert_int_equal(b64_decode("Zm9vYmFyXXXX", 8, B64_STD, &out,
	    &outlen), 0);
	assert_int_equal(outlen, 6);
	assert_memory_equal(out, "foobar", 6);
	free(out);
	assert_int_equal(b64_decode("Zm9vYmFy", 0, B64_URL_NOPAD, &out,
	    &outlen), 0);
	assert_int_equal(outlen, 0);
	assert_int_equal(out[0], 0);
	free(out);
}

/* Round trip of every length 0..300 with random bytes, all variants. */
static void
test_b64_roundtrip(void **state)
{
	uint8_t data[300], *out;
	size_t len, j, outlen;
	char *e;

	(void)state;
	for (len = 0; len <= sizeof(data); len++) {
		randombytes_buf(data, len);
		for (j = 0; j < ARRAY_SIZE(variants); j++) {
			e = b64_encode(data, len, variants[j]);
			assert_int_equal(strlen(e), is_padded(variants[j]) ?
			    (len + 2) / 3 * 4 : (len * 4 + 2) / 3);
			assert_int_equal(b64_decode(e, strlen(e), variants[j],
			    &out, &outlen), 0);
			assert_int_equal(outlen, len);
			assert_memory_equal(out, data, len);
			free(out);
			free(e);
		}
	}
}

/* The table-driven encoder for public bytes writes what the constant-time
 * one writes (every byte value, so '+' and '/' do become '-' and '_'),
 * within B64URL_PUBLIC_CAP, NUL-terminated. */
static void
test_b64url_public(void **state)
{
	uint8_t data[300];
	char out[B64URL_PUBLIC_CAP(sizeof(data)) + 1], *e;
	size_t len, i, n;

	(void)state;
	for (len = 0; len <= sizeof(data); len++) {
		if (len % 2)
			randombytes_buf(data, len);
		else
			for (i = 0; i < len; i++)
				data[i] = (uint8_t)(0xff - i);
		memset(out, 'x', sizeof(out));
		n = b64url_public(out, data, len);
		e = b64_encode(data, len, B64_URL_NOPAD);
		assert_int_equal(n, strlen(e));
		assert_string_equal(out, e);
		assert_true(n + 1 <= B64URL_PUBLIC_CAP(len));
		assert_int_equal(out[B64URL_PUBLIC_CAP(len)], 'x');
		free(e);
	}
	n = b64url_public(out, "\xfb\xff\xbf", 3);
	assert_string_equal(out, "-_-_");
	assert_int_equal(n, 4);
}

/* b64url_public_add appends after what the buffer holds, growing it. */
static void
test_b64url_public_add(void **state)
{
	struct buf b = { 0 };
	uint8_t data[300];
	char *e;

	(void)state;
	randombytes_buf(data, sizeof(data));
	buf_addstr(&b, "a.");
	b64url_public_add(&b, "\xfb\xff\xbf", 3);
	buf_add(&b, ".", 1);
	b64url_public_add(&b, data, sizeof(data));
	e = b64_encode(data, sizeof(data), B64_URL_NOPAD);
	assert_int_equal(b.len, 7 + strlen(e));
	assert_memory_equal(b.data, "a.-_-_.", 7);
	assert_string_equal((char *)b.data + 7, e);
	b64url_public_add(&b, "", 0);
	assert_int_equal(b.len, 7 + strlen(e));
	free(e);
	buf_free(&b);
}

static void
assert_hash(enum hash_alg a, const char *in, const char *want_hex)
{
	uint8_t d[HASH_MAX_SIZE];
	char hex[2 * HASH_MAX_SIZE + 1];
	size_t n = 0;

	assert_int_equal(hash_digest(a, in, strlen(in), d, &n), 0);
	assert_int_equal(n, hash_alg_size(a));
	hex_encode(d, n, hex);
	assert_string_equal(hex, want_hex);
}

#define MSG448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

/* FIPS 180-2 appendix examples. */
static void
test_hash_sha2(void **state)
{
	(void)state;
	assert_hash(HASH_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	assert_hash(HASH_SHA256, "", "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	assert_hash(HASH_SHA256, MSG448, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	assert_hash(HASH_SHA384, "abc", "cb00753f45a35e8bb5a03d699ac65007"
	    "272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
	assert_hash(HASH_SHA384, "", "38b060a751ac96384cd9327eb1b1e36a"
	    "21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b");
	assert_hash(HASH_SHA512, "abc", "ddaf35a193617abacc417349ae204131"
	    "12e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
	    "454d4423643ce80e2a9ac94fa54ca49f");
	assert_hash(HASH_SHA512, "", "cf83e1357eefb8bdf1542850d66d8007"
	    "d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f"
	    "63b931bd47417a81a538327af927da3e");
}

/* GB/T 32905-2016 example 1. SM3 lives in OpenSSL's default provider
 * but distributions may build without it; then the test is reported as
 * SKIPPED (not passed) so the gap stays visible. */
static void
test_hash_sm3(void **state)
{
	uint8_t d[HASH_MAX_SIZE];
	size_t n = 0;

	(void)state;
	if (hash_digest(HASH_SM3, "abc", 3, d, &n) == -1) {
		print_message("SM3 not available in this OpenSSL: the SM3 "
		    "known-answer assertion is skipped\n");
		skip();
	}
	assert_hash(HASH_SM3, "abc", "66c7f0f462eeedd9d1f2d46bdc10e4e2"
	    "4167c4875cf2f7a2297da02b8f4ba8e0");
}

static void
test_hash_names(void **state)
{
	static const struct {
		const char *name;
		enum hash_alg a;
		size_t size;
	} vec[] = {
		{ "sha256", HASH_SHA256, 32 },
		{ "sha384", HASH_SHA384, 48 },
		{ "sha512", HASH_SHA512, 64 },
		{ "sm3", HASH_SM3, 32 },
	};
	static const char *bad[] = {
		"SHA256", "sha-256", "sha256 ", "sha", "", "sha1", "md5",
		"Sm3", "sha512/256",
	};
	enum hash_alg a;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		a = (enum hash_alg)-1;
		assert_int_equal(hash_alg_from_name(vec[i].name, &a), 0);
		assert_int_equal(a, vec[i].a);
		assert_string_equal(hash_alg_name(a), vec[i].name);
		assert_int_equal(hash_alg_size(a), vec[i].size);
		assert_true(hash_alg_size(a) <= HASH_MAX_SIZE);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (hash_alg_from_name(bad[i], &a) != -1)
			fail_msg("accepted hash name \"%s\"", bad[i]);
	}
}

/* libsodium 1.0.18 alone accepts bytes >= 0x80 inside a full quantum
 * (found by fuzz_jwk); every variant must refuse them, and '=' anywhere
 * but the end. */
static void
test_b64_high_bytes(void **state)
{
	static const enum b64_variant vs[] = { B64_STD, B64_STD_NOPAD, B64_URL,
	    B64_URL_NOPAD };
	uint8_t *out;
	size_t n, i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(b64_decode("AAA\x80", 4, vs[i], &out, &n), -1);
		assert_int_equal(b64_decode("\xc4\xab" "AA", 4, vs[i], &out, &n),
		    -1);
		assert_int_equal(b64_decode("A=AA", 4, vs[i], &out, &n), -1);
	}
	assert_int_equal(b64_decode("AAA=", 4, B64_STD, &out, &n), 0);
	assert_int_equal(n, 2);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_high_bytes),
		cmocka_unit_test(test_b64_rfc4648_encode),
		cmocka_unit_test(test_b64_rfc4648_decode),
		cmocka_unit_test(test_b64_alphabets),
		cmocka_unit_test(test_b64_strict_padding),
		cmocka_unit_test(test_b64_strict_chars),
		cmocka_unit_test(test_b64_length_bound),
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_b64url_public),
		cmocka_unit_test(test_b64url_public_add),
		cmocka_unit_test(test_hash_sha2),
		cmocka_unit_test(test_hash_sm3),
		cmocka_unit_test(test_hash_names),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
