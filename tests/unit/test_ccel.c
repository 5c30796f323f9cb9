/*
 * test_ccel.c: the CC event log parser and RTMR replay (verifier/ccel*.c)
 * against the real logs in testvectors/eventlog (entry JSON equal to
 * Trustee's *_out.json) and testvectors/tdx-v4-ccel (the replay gives the
 * RTMRs of the quote, the entries equal Trustee's claims), plus crafted
 * logs for every rejection path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ccel.h"
#include "util.h"
#include "testutil.h"

/* ---- helpers */

static void
hex_to(const char *h, uint8_t *out, size_t n)
{
	size_t got = 0;

	assert_int_equal(hex_decode(h, out, n, &got), 0);
	assert_int_equal(got, n);
}

/* Compare entry by entry so that a failure names the entry and both
 * JSON texts. */
static void
assert_events_equal(const json_t *got, const json_t *want)
{
	size_t i;

	assert_true(json_is_array(got));
	assert_true(json_is_array(want));
	for (i = 0; i < json_array_size(want) && i < json_array_size(got);
	    i++) {
		const json_t *g = json_array_get(got, i);
		const json_t *w = json_array_get(want, i);

		if (!json_equal(g, w)) {
			char *gs = json_dumps(g, JSON_SORT_KEYS);
			char *ws = json_dumps(w, JSON_SORT_KEYS);

			fail_msg("entry %zu differs:\n got  %.1500s\n want "
			    "%.1500s", i, gs, ws);
		}
	}
	assert_int_equal(json_array_size(got), json_array_size(want));
}

static void
check_log(const char *bin, const char *out, const char *const rt[3])
{
	size_t len;
	uint8_t *log = testutil_vec_read(bin, &len);
	uint8_t rtmr[4][48], want[48];
	json_t *ev = NULL, *exp = testutil_vec_json(out);
	struct error err;
	int i;

	if (ccel_replay(log, len, rtmr, &ev, &err) != 0)
		fail_msg("%s: %s", bin, err.msg);
	assert_events_equal(ev, json_object_get(exp, "uefi_event_logs"));
	for (i = 0; i < 3; i++) {
		hex_to(rt[i], want, 48);
		assert_memory_equal(rtmr[i], want, 48);
	}
	memset(want, 0, 48);
	assert_memory_equal(rtmr[3], want, 48);

	/* Without the entries the replay is the same. */
	memset(rtmr, 0xaa, sizeof(rtmr));
	assert_int_equal(ccel_replay(log, len, rtmr, NULL, &err), 0);
	hex_to(rt[0], want, 48);
	assert_memory_equal(rtmr[0], want, 48);

	json_decref(ev);
	json_decref(exp);
	free(log);
}

/* RTMR0..2 of these logs as Trustee's eventlog tests state them. */
static void
test_ovmf(void **state)
{
	static const char *const rt[3] = {
		"8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e90"
		"177329ec5aba3bb484404f2ab9cc90abe193",
		"775b9f6bfe99f8a31396f0d0218e67ffa796d3b96ccf961cbb0deba48c79"
		"c00f082cda1a5567c1c16305f1fc210c13c6",
		"94eaf7a7bf398ed8d888c91057ae0261802e4f3df084213a76ca7f0b5055"
		"ac9d2241de43cd58d9e8b49c503bbf25f34a",
	};

	(void)state;
	check_log("eventlog/CCEL_data_ovmf", "eventlog/CCEL_data_ovmf_out.json",
	    rt);
}

static void
test_grub(void **state)
{
	static const char *const rt[3] = {
		"cec0a104f691f60da2387fea3c2de00c4ac035e2bb479ff02edcce69039d"
		"9e9907f0b3e55031da3dc7038f423adebd79",
		"6c289e0c62182d41ebe97bdbc9872d10998a08eaa86adcdc684001a36320"
		"7ee72942c7522cdf00a4bbc3d784bed7b670",
		"08919d017ba0e52cd6d966351c7de16fe76c1d3d3d3da4554239e4c7d16c"
		"b8b82a94e7eaea3a0e6e18eb690b999fd31e",
	};

	(void)state;
	check_log("eventlog/CCEL_data_grub", "eventlog/CCEL_data_grub_out.json",
	    rt);
}

/*
 * The 1 MiB CCEL next to the v4 quote (Trustee's CCEL_data): its entries
 * equal the uefi_event_logs of Trustee's claims for this quote, and the
 * replay gives the RTMR0/1 that Trustee's eventlog tests state for it
 * (2dc71230.../0fa3be56..., RTMR2/3 zero). NOTE: testvectors/MANIFEST.md
 * says this replay must give the RTMRs of quote.bin; it does not (the
 * quote has RTMR0 e940da7c..., RTMR1 559cfcf4...): the log and the quote
 * come from different boots, Trustee's claims test never replays them.
 * The test pins that, so a TDX verifier must reject this pair.
 */
static void
test_tdx_quote_rtmrs(void **state)
{
	static const char *const rt[2] = {
		"2dc712306a963eadb894ad47dbaa17df44814151555aee11cbb843becca8"
		"8950ffd079664902e6f22c66f7c8213543f4",
		"0fa3be56af61208bbd179dc7b124988eb929319154663c539d6f46445eca"
		"c2fec287075047ff7bd1922829fec28cd3cf",
	};
	size_t qlen, llen;
	uint8_t *q = testutil_vec_read("tdx-v4-ccel/quote.bin", &qlen);
	uint8_t *log = testutil_vec_read("tdx-v4-ccel/ccel.bin", &llen);
	json_t *claims = testutil_vec_json("tdx-v4-ccel/trustee-claims.json");
	const json_t *body = json_object_get(json_object_get(claims, "quote"),
	    "body");
	uint8_t rtmr[4][48], want[48];
	json_t *ev = NULL;
	struct error err;
	char key[8];
	int i;

	(void)state;
	assert_true(qlen >= 632);
	if (ccel_replay(log, llen, rtmr, &ev, &err) != 0)
		fail_msg("%s", err.msg);
	for (i = 0; i < 2; i++) {
		hex_to(rt[i], want, 48);
		assert_memory_equal(rtmr[i], want, 48);
	}
	memset(want, 0, 48);
	assert_memory_equal(rtmr[2], want, 48);
	assert_memory_equal(rtmr[3], want, 48);
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "rtmr_%d", i);
		hex_to(json_string_value(json_object_get(body, key)), want,
		    48);
		assert_memory_equal(q + 48 + 328 + 48 * i, want, 48);
	}
	assert_memory_not_equal(rtmr[0], q + 48 + 328, 48);
	assert_memory_not_equal(rtmr[1], q + 48 + 328 + 48, 48);
	assert_events_equal(ev, json_object_get(claims, "uefi_event_logs"));
	/* One flipped digest byte changes RTMR1 (event 3 is index 2). */
	{
		uint8_t *bad = xmalloc(llen);
		uint8_t rt2[4][48];
		size_t off;
		const json_t *e3 = json_array_get(ev, 3);
		const char *d = json_string_value(json_object_get(
		    json_array_get(json_object_get(e3, "digests"), 0),
		    "digest"));
		uint8_t dg[48];
		uint8_t *hit;

		hex_to(d, dg, 48);
		memcpy(bad, log, llen);
		hit = memmem(bad, llen, dg, 48);
		assert_non_null(hit);
		off = (size_t)(hit - bad);
		bad[off + 7] ^= 1;
		assert_int_equal(ccel_replay(bad, llen, rt2, NULL, &err), 0);
		assert_memory_equal(rt2[0], rtmr[0], 48);
		assert_memory_not_equal(rt2[1], rtmr[1], 48);
		free(bad);
	}
	json_decref(ev);
	json_decref(claims);
	free(q);
	free(log);
}

/* ---- crafted logs */

static void
put_le(struct buf *b, uint64_t v, size_t n)
{
	uint8_t o[8];
	size_t i;

	for (i = 0; i < n; i++)
		o[i] = (uint8_t)(v >> (8 * i));
	buf_add(b, o, n);
}

/* A Spec ID event declaring SHA-384 (and SHA-256 if two). */
static void
put_specid(struct buf *b, int two)
{
	static const uint8_t zero[20];

	put_le(b, 0, 4);
	put_le(b, 3, 4);
	buf_add(b, zero, 20);
	put_le(b, 24 + 4 + 4 * (two ? 2 : 1) + 1, 4);
	buf_add(b, "Spec ID Event03", 16);
	put_le(b, 0, 4);		/* platform class */
	put_le(b, 0x02000000, 4);	/* minor 0, major 2, errata 0, uintn */
	put_le(b, two ? 2 : 1, 4);
	put_le(b, 0x000c, 2);
	put_le(b, 48, 2);
	if (two) {
		put_le(b, 0x000b, 2);
		put_le(b, 32, 2);
	}
	put_le(b, 0, 1);		/* vendor info size */
}

/* An event with a SHA-384 digest of its data (digest_matches_event). */
static void
put_event(struct buf *b, uint32_t mr, uint32_t type, const void *data,
    size_t n)
{
	uint8_t d[48];
	unsigned int l;

	EVP_Digest(data, n, d, &l, EVP_sha384(), NULL);
	put_le(b, mr, 4);
	put_le(b, type, 4);
	put_le(b, 1, 4);
	put_le(b, 0x000c, 2);
	buf_add(b, d, 48);
	put_le(b, n, 4);
	buf_add(b, data, n);
}

static void
test_crafted_ok(void **state)
{
	struct buf b = { 0 };
	uint8_t rtmr[4][48], acc[96], want[48];
	json_t *ev = NULL;
	struct error err;
	unsigned int l;
	static const uint8_t ffs[16] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t tag[] = "\x01\x02\x03\x04\x05\0\0\0ab\0c\0";
	static const uint8_t ipl_gce[] = { 0x2e, 0, 'h', 0, 'i', 0, 0, 0 };
	static const uint8_t flags[] = "x\x10y\x01z\xc2\x85";

	(void)state;
	put_specid(&b, 0);
	put_event(&b, 3, 0x80000007, "hello", 5);	/* EV_EFI_ACTION */
	put_event(&b, 2, 0x00000006, tag, sizeof(tag) - 1);
	put_event(&b, 3, 0x0000000d, ipl_gce, sizeof(ipl_gce));
	put_event(&b, 3, 0x0000000d, "MokList", 8);
	put_event(&b, 1, 0x0000000a, flags, sizeof(flags) - 1);
	put_event(&b, 4, 0x00000003, "x", 1);	/* EV_NO_ACTION: not extended */
	put_event(&b, 9, 0x00000004, "\0\0\0\0", 4);	/* not an RTMR */
	buf_add(&b, ffs, sizeof(ffs));
	buf_add(&b, "trailing junk after padding", 27);
	if (ccel_replay(b.data, b.len, rtmr, &ev, &err) != 0)
		fail_msg("%s", err.msg);
	assert_int_equal(json_array_size(ev), 7);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(ev, 0), "details"), "string")), "hello");
	assert_true(json_is_true(json_object_get(json_array_get(ev, 0),
	    "digest_matches_event")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(ev, 1), "details"), "string")), "abc");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(ev, 2), "details"), "string")), "hi");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(ev, 3), "details"), "string")), "MokList");
	/* U+0010 -> space, other Cc (U+0001, U+0085) dropped */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(ev, 4), "details"), "string")), "x yz");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(ev, 5), "type_name")), "EV_NO_ACTION");
	assert_int_equal(json_object_size(json_object_get(
	    json_array_get(ev, 6), "details")), 0);
	/* RTMR2 (index 3) = SHA384(SHA384(SHA384(0||d1)||d3)||d4) */
	memset(acc, 0, 48);
	EVP_Digest("hello", 5, acc + 48, &l, EVP_sha384(), NULL);
	EVP_Digest(acc, 96, acc, &l, EVP_sha384(), NULL);
	EVP_Digest(ipl_gce, sizeof(ipl_gce), acc + 48, &l, EVP_sha384(), NULL);
	EVP_Digest(acc, 96, acc, &l, EVP_sha384(), NULL);
	EVP_Digest("MokList", 8, acc + 48, &l, EVP_sha384(), NULL);
	EVP_Digest(acc, 96, want, &l, EVP_sha384(), NULL);
	assert_memory_equal(rtmr[2], want, 48);
	memset(want, 0, 48);
	assert_memory_equal(rtmr[3], want, 48);
	json_decref(ev);

	/* A log that ends exactly at the end of the buffer, no padding. */
	b.len = 0;
	put_specid(&b, 1);
	put_event(&b, 1, 0x80000007, "a", 1);
	assert_int_equal(ccel_replay(b.data, b.len, rtmr, &ev, &err), 0);
	assert_int_equal(json_array_size(ev), 1);
	json_decref(ev);
	buf_free(&b);
}

/* Device path nodes of an image-load event, rendered as Trustee does
 * (node data from Trustee's device path formatter tests). */
static void
test_device_paths(void **state)
{
	static const struct {
		uint8_t type, sub;
		const char *hex, *text;
	} nodes[] = {
		{ 1, 1, "0001", "Pci(0,1)" },
		{ 2, 1, "d041030a02000000", "ACPI(PNP0A03,2)" },
		{ 3, 5, "0000", "USB(0,0)" },
		{ 3, 11, "001320f5fa7700000000000000000000000000000000000000000000"
		    "0000000001", "Mac(001320F5FA77,0x01)" },
		{ 3, 12, "0100A8C06400A8C00000BC0C0600010000000000000000",
		    "IPv4(192.168.0.100,TCP,Static,192.168.0.1)" },
		{ 3, 21, "00010203040506070001020304050607",
		    "FibreEx(0x0001020304050607,0x0001020304050607)" },
		{ 3, 2, "0100", "Path(3,2,0100)" },
		{ 4, 1, "01000000000800000000000000E02E0000000000431202a0000000"
		    "00431202a0000000000101", "HD(1,MBR,0xa0021243,0x800,"
		    "0x2ee000)" },
		{ 4, 1, "0100000022000000000000000000710200000000009ae315d21d0010"
		    "8d7f00a0c92408fc0202", "HD(1,GPT,15E39A00-1DD2-1000-8D7F-"
		    "00A0C92408FC,0x22,0x2710000)" },
		{ 4, 1, "00000000000000000000000000000000000000000000000000000000"
		    "431202a0000000000101", "HD(0,MBR,0x00000000)" },
		{ 4, 3, "f8d1c555cd04b5468a20e56cbb3052d0",
		    "VenMedia(55C5D1F8-04CD-46B5-8A20-E56CBB3052D0,)" },
		{ 4, 4, "5c004500460049005c0042004f004f0054005c00660062007800360034"
		    "002e006500660069000000", "File(\\EFI\\BOOT\\fbx64.efi)" },
		{ 5, 1, "8000000041424300", "BBS(DEV,ABC,0)" },
		{ 5, 1, "F0FF000000", "BBS(65520,,0)" },
		{ 9, 9, "ab", "Path(9,9,ab)" },
	};
	struct buf ev = { 0 }, dp = { 0 }, b = { 0 };
	uint8_t raw[128], rtmr[4][48];
	size_t i, n;
	json_t *out = NULL;
	const json_t *paths;
	struct error err;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(nodes); i++) {
		n = 0;
		assert_int_equal(hex_decode(nodes[i].hex, raw, sizeof(raw), &n),
		    0);
		buf_add(&dp, &nodes[i].type, 1);
		buf_add(&dp, &nodes[i].sub, 1);
		put_le(&dp, n + 4, 2);
		buf_add(&dp, raw, n);
	}
	buf_add(&dp, "\x7f\xff\x04\x00", 4);		/* end node */
	put_le(&ev, 0x1000, 8);
	put_le(&ev, 0x2000, 8);
	put_le(&ev, 0, 8);
	put_le(&ev, dp.len, 8);
	buf_add(&ev, dp.data, dp.len);
	put_specid(&b, 0);
	put_event(&b, 2, 0x80000003, ev.data, ev.len);
	if (ccel_replay(b.data, b.len, rtmr, &out, &err) != 0)
		fail_msg("%s", err.msg);
	paths = json_object_get(json_object_get(json_array_get(out, 0),
	    "details"), "device_paths");
	assert_int_equal(json_array_size(paths), ARRAY_SIZE(nodes));
	for (i = 0; i < ARRAY_SIZE(nodes); i++)
		assert_string_equal(json_string_value(json_array_get(paths, i)),
		    nodes[i].text);
	json_decref(out);

	/* a node too short for its type fails the log, as in Trustee */
	b.len = 0;
	ev.len = 32 - 8;
	put_le(&ev, 4 + 3 + 4, 8);
	buf_add(&ev, "\x03\x0b\x07\x00\x01\x02\x03", 7);	/* MAC, 3 bytes */
	buf_add(&ev, "\x7f\xff\x04\x00", 4);
	put_specid(&b, 0);
	put_event(&b, 2, 0x80000003, ev.data, ev.len);
	assert_int_equal(ccel_replay(b.data, b.len, rtmr, &out, &err), -1);
	assert_non_null(strstr(err.msg, "MAC device path node too short"));
	buf_free(&ev);
	buf_free(&dp);
	buf_free(&b);
}

static void
expect_reject(const struct buf *b, const char *needle)
{
	uint8_t rtmr[4][48], zero[48] = { 0 };
	json_t *ev = (json_t *)1;
	struct error err;

	err.msg[0] = '\0';
	assert_int_equal(ccel_replay(b->data, b->len, rtmr, &ev, &err), -1);
	assert_null(ev);
	if (strstr(err.msg, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg,
		    needle);
	assert_memory_equal(rtmr[0], zero, 48);
}

static void
test_rejects(void **state)
{
	struct buf b = { 0 };
	size_t full, i;
	uint8_t rtmr[4][48];
	struct error err;

	(void)state;
	/* empty */
	expect_reject(&b, "empty");

	/* truncated anywhere inside the first event after the Spec ID */
	put_specid(&b, 0);
	put_event(&b, 1, 0x80000007, "hello world", 11);
	full = b.len;
	for (i = 1; i < full; i++) {
		struct buf t = { b.data, full - i, 0 };
		int r = ccel_replay(t.data, t.len, rtmr, NULL, &err);

		/* Cutting exactly at an event boundary is a complete log,
		 * and a cut that leaves padding-looking bytes ends it. */
		if (r == 0)
			continue;
		assert_non_null(strstr(err.msg, "ccel:"));
	}
	b.len = full - 3;
	expect_reject(&b, "truncated");
	b.len = 30;
	expect_reject(&b, "Spec ID");

	/* digest count 0 and beyond the Spec ID table */
	b.len = 0;
	put_specid(&b, 0);
	put_le(&b, 1, 4);
	put_le(&b, 0x80000007, 4);
	put_le(&b, 2, 4);
	put_le(&b, 0x000c, 2);
	expect_reject(&b, "digest count 2");
	b.data[b.len - 6] = 0;
	expect_reject(&b, "digest count 0");

	/* a digest algorithm the Spec ID event gave no size for (SHA-256) */
	b.len = 0;
	put_specid(&b, 0);
	put_le(&b, 1, 4);
	put_le(&b, 0x80000007, 4);
	put_le(&b, 1, 4);
	put_le(&b, 0x000b, 2);
	buf_add(&b, "0123456789abcdef0123456789abcdef", 32);
	put_le(&b, 0, 4);
	expect_reject(&b, "no size in the Spec ID");
	/* an unknown algorithm id */
	b.data[b.len - 38] = 0x99;
	expect_reject(&b, "0x0099");

	/* Spec ID: unknown algorithm, wrong size, duplicate, bad size */
	b.len = 0;
	put_specid(&b, 1);
	b.data[32 + 24 + 4 + 4] = 0x55;	/* second alg id */
	expect_reject(&b, "unknown digest algorithm");
	b.len = 0;
	put_specid(&b, 0);
	b.data[32 + 24 + 4 + 2] = 32;		/* SHA-384 size 32 */
	expect_reject(&b, "size 32, expected 48");
	b.len = 0;
	put_specid(&b, 1);
	b.data[32 + 24 + 4 + 4] = 0x0c;
	b.data[32 + 24 + 4 + 6] = 48;
	expect_reject(&b, "twice");
	b.len = 0;
	put_specid(&b, 0);
	b.data[28] += 1;			/* event size one too long */
	put_le(&b, 0, 1);
	expect_reject(&b, "does not match");
	b.len = 0;
	put_specid(&b, 0);
	b.data[4] = 4;				/* not EV_NO_ACTION */
	expect_reject(&b, "EV_NO_ACTION");
	b.len = 0;
	put_specid(&b, 0);
	b.data[32] = 'X';			/* signature */
	expect_reject(&b, "Spec ID Event03");

	/* unknown event type; data size past the end */
	b.len = 0;
	put_specid(&b, 0);
	put_event(&b, 1, 0x12345678, "x", 1);
	expect_reject(&b, "unknown event type 0x12345678");
	b.len = 0;
	put_specid(&b, 0);
	put_event(&b, 1, 0x80000007, "x", 1);
	b.data[b.len - 5] = 0x40;		/* size 0x40 */
	expect_reject(&b, "event data size 64");

	/* details that cannot be decoded fail the log (as in Trustee) */
	b.len = 0;
	put_specid(&b, 0);
	put_event(&b, 1, 0x80000007, "\xff\xfe", 2);
	expect_reject(&b, "EV_EFI_ACTION details");
	b.len = 0;
	put_specid(&b, 0);
	put_event(&b, 1, 0x80000001, "short", 5);
	expect_reject(&b, "UEFI variable event shorter");
	b.len = 0;
	put_specid(&b, 0);
	put_event(&b, 1, 0x8000000a, "\x20" "abc", 4);
	expect_reject(&b, "description size 32");
	b.len = 0;
	put_specid(&b, 0);
	{
		uint8_t app[40] = { 0 };

		app[24] = 8;			/* device path: one bad node */
		app[32] = 4; app[33] = 4; app[34] = 2; /* length 2 < 4 */
		put_event(&b, 2, 0x80000003, app, sizeof(app));
	}
	expect_reject(&b, "device path node length 2");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ovmf),
		cmocka_unit_test(test_grub),
		cmocka_unit_test(test_tdx_quote_rtmrs),
		cmocka_unit_test(test_crafted_ok),
		cmocka_unit_test(test_device_paths),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
