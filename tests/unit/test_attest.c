/*
 * test_attest.c: trusteectl's attesters (cli/attest*.c) without hardware:
 * configfs-tsm entries laid out in a scratch directory (a real SNP
 * outblob/auxblob pair from tests/vectors/snp-genoa-tsm, a real TD quote),
 * the SNP certificate table and report-response parsers, the TDX QGS
 * request and response, TPM public areas to SPKI (against OpenSSL), the
 * evidence JSON of every attester (checked by the server's own verifiers
 * where the vector allows), the Azure HCL/IMDS helpers, --tee lookup.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "../../cli/attest.h"
#include "../../lib/b64.h"
#include "../../lib/util.h"
#include "../../verifier/snp.h"
#include "../../verifier/verifier.h"
#include "testutil.h"

#define TSM_VEC "snp-genoa-tsm/"

/* ---- helpers */

static void
write_bytes(const char *dir, const char *name, const void *d, size_t n)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "wb");

	if (f == NULL || fwrite(d, 1, n, f) != n || fclose(f) != 0)
		fail_msg("cannot write %s", p);
	free(p);
}

static uint8_t *
read_bytes(const char *dir, const char *name, size_t *n)
{
	struct error err;
	char *p = xasprintf("%s/%s", dir, name);
	uint8_t *d;

	if (file_read_all(p, 1 << 20, &d, n, &err) != 0)
		fail_msg("%s", err.msg);
	free(p);
	return d;
}

/* A configfs-tsm entry as the kernel lays it out, from the vector. */
static char *
fake_snp_entry(int with_aux)
{
	char *d = testutil_tmpdir("tsm");
	uint8_t *b;
	size_t n;

	b = testutil_vec_read(TSM_VEC "outblob", &n);
	write_bytes(d, "outblob", b, n);
	free(b);
	if (with_aux) {
		b = testutil_vec_read(TSM_VEC "auxblob", &n);
		write_bytes(d, "auxblob", b, n);
		free(b);
	}
	free(testutil_write_file(d, "provider", "sev_guest\n"));
	free(testutil_write_file(d, "generation", "0\n"));
	return d;
}

static void
rm_rf(const char *d)
{
	DIR *dir = opendir(d);
	struct dirent *e;

	if (dir == NULL)
		return;
	while ((e = readdir(dir)) != NULL) {
		char *p;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", d, e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			rm_rf(p);
		else
			unlink(p);
		free(p);
	}
	closedir(dir);
	rmdir(d);
}

/* ---- --tee lookup, padding */

static void
test_find(void **state)
{
	struct attest_cfg cfg;
	const struct attester *a;
	struct error err;
	char *d;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(attest_find("tpm", &cfg, &a, &err), 0);
	assert_string_equal(a->tee, "tpm");
	assert_int_equal(attest_find("az-tdx-vtpm", &cfg, &a, &err), 0);
	assert_string_equal(a->tee, "az-tdx-vtpm");
	assert_int_equal(attest_find("sgx", &cfg, &a, &err), -1);
	assert_non_null(strstr(err.msg, "unknown TEE 'sgx'"));

	/* auto with a configfs-tsm entry: the provider decides. */
	d = fake_snp_entry(1);
	cfg.tsm_dir = d;
	assert_int_equal(attest_find("auto", &cfg, &a, &err), 0);
	assert_string_equal(a->tee, "snp");
	free(testutil_write_file(d, "provider", "tdx_guest\n"));
	assert_int_equal(attest_find("auto", &cfg, &a, &err), 0);
	assert_string_equal(a->tee, "tdx");
	rm_rf(d);
	free(d);
}

static void
test_pad(void **state)
{
	uint8_t in[70], out[64];
	struct error err;

	(void)state;
	memset(in, 0xab, sizeof(in));
	assert_int_equal(attest_pad(in, 48, out, 64, "x", &err), 0);
	assert_int_equal(out[47], 0xab);
	assert_int_equal(out[48], 0);
	assert_int_equal(out[63], 0);
	assert_int_equal(attest_pad(in, 65, out, 64, "SNP", &err), -1);
	assert_non_null(strstr(err.msg, "SNP: report data of 65 bytes"));
}

/* ---- configfs-tsm */

static void
test_tsm_attrs(void **state)
{
	char p[32];
	uint32_t g;
	struct error err;

	(void)state;
	assert_int_equal(attest_tsm_provider_parse("sev_guest\n", 10, p,
	    sizeof(p), &err), 0);
	assert_string_equal(p, "sev_guest");
	assert_int_equal(attest_tsm_provider_parse("tdx_guest", 9, p,
	    sizeof(p), &err), 0);
	assert_int_equal(attest_tsm_provider_parse("\n", 1, p, sizeof(p),
	    &err), -1);
	assert_int_equal(attest_tsm_provider_parse("a b\n", 4, p, sizeof(p),
	    &err), -1);
	assert_int_equal(attest_tsm_provider_parse("sev_guest\n", 10, p, 5,
	    &err), -1);
	assert_int_equal(attest_tsm_generation_parse("12\n", 3, &g, &err), 0);
	assert_int_equal(g, 12);
	assert_int_equal(attest_tsm_generation_parse("4294967295", 10, &g,
	    &err), 0);
	assert_int_equal(attest_tsm_generation_parse("4294967296", 10, &g,
	    &err), -1);
	assert_int_equal(attest_tsm_generation_parse("-1", 2, &g, &err), -1);
	assert_int_equal(attest_tsm_generation_parse("", 0, &g, &err), -1);
}

static void
test_tsm_entry(void **state)
{
	struct attest_cfg cfg;
	struct attest_tsm_report r;
	struct error err;
	uint8_t in[64], *got;
	size_t n, vn;
	uint8_t *vec;
	char *d;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	memset(in, 0x5a, sizeof(in));
	d = fake_snp_entry(1);
	cfg.tsm_dir = d;
	assert_int_equal(attest_tsm_get(&cfg, "sev_guest", in, &r, &err), 0);
	assert_string_equal(r.provider, "sev_guest");
	vec = testutil_vec_read(TSM_VEC "outblob", &vn);
	assert_int_equal(r.outblob_len, vn);
	assert_memory_equal(r.outblob, vec, vn);
	free(vec);
	vec = testutil_vec_read(TSM_VEC "auxblob", &vn);
	assert_int_equal(r.auxblob_len, vn);
	free(vec);
	attest_tsm_report_clear(&r);
	/* inblob holds exactly the 64 bytes written */
	got = read_bytes(d, "inblob", &n);
	assert_int_equal(n, 64);
	assert_memory_equal(got, in, 64);
	free(got);

	/* the wrong provider, an empty outblob, a generation jump */
	assert_int_equal(attest_tsm_get(&cfg, "tdx_guest", in, &r, &err), -1);
	assert_non_null(strstr(err.msg, "provider is sev_guest, not "
	    "tdx_guest"));
	free(testutil_write_file(d, "generation", "7\n"));
	assert_int_equal(attest_tsm_get(&cfg, "sev_guest", in, &r, &err), 0);
	attest_tsm_report_clear(&r);
	free(testutil_write_file(d, "outblob", ""));
	assert_int_equal(attest_tsm_get(&cfg, "sev_guest", in, &r, &err), -1);
	assert_non_null(strstr(err.msg, "outblob is empty"));
	rm_rf(d);
	free(d);

	/* A report directory (no provider file): an entry is made in it
	 * and removed again, even when it turns out unusable. */
	d = testutil_tmpdir("tsmroot");
	cfg.tsm_dir = d;
	assert_int_equal(attest_tsm_get(&cfg, "sev_guest", in, &r, &err), -1);
	assert_non_null(strstr(err.msg, "provider"));
	assert_int_equal(rmdir(d), 0);	/* empty again */
	free(d);
	cfg.tsm_dir = "/nonexistent/tsm";
	assert_int_equal(attest_tsm_get(&cfg, "sev_guest", in, &r, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/tsm"));
}

/* ---- SNP */

static void
test_snp_certs(void **state)
{
	static const char *const types[] = { "ARK", "ASK", "VCEK" };
	static const size_t lens[] = { 2277, 2325, 1879 };
	struct error err;
	uint8_t *aux, *t;
	size_t n, i;
	json_t *chain;

	(void)state;
	aux = testutil_vec_read(TSM_VEC "auxblob", &n);
	assert_int_equal(attest_snp_certs_parse(aux, n, &chain, &err), 0);
	assert_int_equal(json_array_size(chain), 3);
	for (i = 0; i < 3; i++) {
		json_t *e = json_array_get(chain, i);
		json_t *data = json_object_get(e, "data");

		assert_string_equal(json_string_value(json_object_get(e,
		    "cert_type")), types[i]);
		assert_int_equal(json_array_size(data), lens[i]);
		assert_int_equal(json_integer_value(json_array_get(data, 0)),
		    '-');	/* PEM, as the host stored it */
	}
	json_decref(chain);

	/* an unknown GUID is {"OTHER": uuid} */
	t = xmalloc(n);
	memcpy(t, aux, n);
	t[24] ^= 0xff;
	assert_int_equal(attest_snp_certs_parse(t, n, &chain, &err), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(chain, 1), "cert_type"), "OTHER")),
	    "b5b7b379-bbac-4fe4-a02f-05aef327c782");
	json_decref(chain);
	/* an entry pointing outside the buffer, a missing terminator */
	memcpy(t, aux, n);
	t[16 + 24 + 24 + 1] = 0xff;	/* VCEK offset += 0xff00 */
	assert_int_equal(attest_snp_certs_parse(t, n, &chain, &err), -1);
	assert_non_null(strstr(err.msg, "entry 2"));
	/* one entry (the VCEK's GUID, data at 24, 4 bytes), no
	 * terminator: the data is taken for the next entry */
	memcpy(t, aux + 48, 16);
	memset(t + 16, 0, 8);
	t[16] = 24;
	t[20] = 4;
	memcpy(t + 24, "abcd", 4);
	assert_int_equal(attest_snp_certs_parse(t, 28, &chain, &err), -1);
	assert_non_null(strstr(err.msg, "terminator"));
	/* empty: no table, or an all-zero one (host had no certificates) */
	memset(t, 0, n);
	assert_int_equal(attest_snp_certs_parse(t, n, &chain, &err), 0);
	assert_true(json_is_null(chain));
	json_decref(chain);
	assert_int_equal(attest_snp_certs_parse(NULL, 0, &chain, &err), 0);
	assert_true(json_is_null(chain));
	json_decref(chain);
	free(t);
	free(aux);
}

static void
test_snp_evidence_verifies(void **state)
{
	struct error err;
	uint8_t *rep, *aux, raw[SNP_REPORT_SIZE];
	size_t rn, an;
	json_t *ev, *claims = NULL;

	(void)state;
	rep = testutil_vec_read(TSM_VEC "outblob", &rn);
	aux = testutil_vec_read(TSM_VEC "auxblob", &an);
	assert_int_equal(attest_snp_evidence_build(rep, rn, aux, an, &ev,
	    &err), 0);
	/* The JSON form rebuilds the exact report bytes (sev crate serde). */
	assert_int_equal(snp_report_from_json(json_object_get(ev,
	    "attestation_report"), raw, &err), 0);
	assert_memory_equal(raw, rep, SNP_REPORT_SIZE);
	/* The server's verifier accepts it with the report's own report
	 * data (VCEK from the table), and refuses other report data. */
	assert_int_equal(testutil_run_verifier(&verifier_snp, ev, rep + 0x50,
	    64, NULL, 0, now_unix(), &claims, &err), 0);
	json_decref(claims);
	claims = NULL;
	assert_int_equal(testutil_run_verifier(&verifier_snp, ev,
	    (const uint8_t *)"other", 5, NULL, 0, now_unix(), &claims, &err),
	    -1);
	assert_non_null(strstr(err.msg, "report data does not match"));
	json_decref(ev);

	/* without the table: cert_chain null */
	assert_int_equal(attest_snp_evidence_build(rep, rn, NULL, 0, &ev,
	    &err), 0);
	assert_true(json_is_null(json_object_get(ev, "cert_chain")));
	json_decref(ev);
	assert_int_equal(attest_snp_evidence_build(rep, rn - 1, NULL, 0, &ev,
	    &err), -1);
	free(rep);
	free(aux);
}

static void
test_snp_resp(void **state)
{
	uint8_t resp[4000];
	const uint8_t *r;
	size_t n;
	struct error err;

	(void)state;
	memset(resp, 0, sizeof(resp));
	resp[4] = SNP_REPORT_SIZE & 0xff;
	resp[5] = SNP_REPORT_SIZE >> 8;
	resp[32] = 3;
	assert_int_equal(attest_snp_resp_parse(resp, sizeof(resp), &r, &n,
	    &err), 0);
	assert_ptr_equal(r, resp + 32);
	assert_int_equal(n, SNP_REPORT_SIZE);
	assert_int_equal(attest_snp_resp_parse(resp, 100, &r, &n, &err), -1);
	resp[0] = 0x16;
	assert_int_equal(attest_snp_resp_parse(resp, sizeof(resp), &r, &n,
	    &err), -1);
	assert_non_null(strstr(err.msg, "status 0x16"));
	resp[0] = 0;
	resp[4] = 0;
	assert_int_equal(attest_snp_resp_parse(resp, sizeof(resp), &r, &n,
	    &err), -1);
	assert_int_equal(attest_snp_resp_parse(resp, 8, &r, &n, &err), -1);
}

/* ---- TDX */

static void
test_tdx_qgs(void **state)
{
	uint8_t rep[1024], req[ATTEST_TDX_QGS_REQ_LEN], resp[64 + 16];
	const uint8_t *q;
	size_t n, i;
	struct error err;

	(void)state;
	for (i = 0; i < sizeof(rep); i++)
		rep[i] = (uint8_t)i;
	attest_tdx_qgs_request(rep, req);
	/* big-endian message length, then the little-endian QGS header */
	assert_int_equal(req[0] << 24 | req[1] << 16 | req[2] << 8 | req[3],
	    1048);
	assert_int_equal(req[4], 1);		/* major 1 */
	assert_int_equal(req[8], 0);		/* GET_QUOTE_REQ */
	assert_int_equal(req[12] | req[13] << 8, 1048);
	assert_int_equal(req[20] | req[21] << 8, 1024);
	assert_memory_equal(req + 28, rep, 1024);

	memset(resp, 0, sizeof(resp));
	resp[0] = 1;
	resp[4] = 1;				/* GET_QUOTE_RESP */
	resp[8] = sizeof(resp);
	resp[16] = 8;				/* selected id size */
	resp[20] = 48;				/* quote size */
	memset(resp + 32, 0x77, 48);
	assert_int_equal(attest_tdx_qgs_response(resp, sizeof(resp), &q, &n,
	    &err), 0);
	assert_ptr_equal(q, resp + 32);
	assert_int_equal(n, 48);
	resp[20] = 49;
	assert_int_equal(attest_tdx_qgs_response(resp, sizeof(resp), &q, &n,
	    &err), -1);
	resp[20] = 48;
	resp[12] = 0x12;
	assert_int_equal(attest_tdx_qgs_response(resp, sizeof(resp), &q, &n,
	    &err), -1);
	assert_non_null(strstr(err.msg, "error code 0x12"));
	resp[12] = 0;
	resp[4] = 0;
	assert_int_equal(attest_tdx_qgs_response(resp, sizeof(resp), &q, &n,
	    &err), -1);
	assert_int_equal(attest_tdx_qgs_response(resp, 10, &q, &n, &err), -1);
}

static void
test_tdx_evidence(void **state)
{
	struct attest_cfg cfg;
	const struct attester *a;
	struct error err;
	uint8_t *quote, *sgx, *dec, rd[48];
	size_t n, sn, dn;
	json_t *ev;
	char *d;

	(void)state;
	quote = testutil_vec_read("tdx-v4-uptodate/quote.bin", &n);
	assert_int_equal(attest_tdx_evidence_build(quote, n, NULL, 0, &ev,
	    &err), 0);
	assert_true(json_is_null(json_object_get(ev, "cc_eventlog")));
	assert_int_equal(b64_decode(json_string_value(json_object_get(ev,
	    "quote")), strlen(json_string_value(json_object_get(ev, "quote"))),
	    B64_STD, &dec, &dn), 0);
	assert_int_equal(dn, n);
	assert_memory_equal(dec, quote, n);
	free(dec);
	json_decref(ev);
	assert_int_equal(attest_tdx_evidence_build(quote, n,
	    (const uint8_t *)"log", 3, &ev, &err), 0);
	assert_string_equal(json_string_value(json_object_get(ev,
	    "cc_eventlog")), "bG9n");
	json_decref(ev);
	sgx = testutil_vec_read("sgx-v3-collateral/quote.bin", &sn);
	assert_int_equal(attest_tdx_evidence_build(sgx, sn, NULL, 0, &ev,
	    &err), -1);
	assert_non_null(strstr(err.msg, "not a TD quote"));
	free(sgx);

	/* the whole attester on a configfs-tsm entry holding the quote */
	d = testutil_tmpdir("tsmtdx");
	write_bytes(d, "outblob", quote, n);
	free(testutil_write_file(d, "provider", "tdx_guest\n"));
	free(testutil_write_file(d, "generation", "0\n"));
	memset(&cfg, 0, sizeof(cfg));
	cfg.tsm_dir = d;
	cfg.ccel = "/nonexistent";
	memset(rd, 0x11, sizeof(rd));
	assert_int_equal(attest_find("tdx", &cfg, &a, &err), 0);
	assert_int_equal(a->evidence(&cfg, rd, sizeof(rd), &ev, &err), 0);
	assert_non_null(json_object_get(ev, "quote"));
	json_decref(ev);
	dec = read_bytes(d, "inblob", &dn);
	assert_int_equal(dn, 64);
	assert_memory_equal(dec, rd, 48);
	assert_int_equal(dec[48] | dec[63], 0);
	free(dec);
	/* a report data longer than REPORTDATA is refused */
	assert_int_equal(a->evidence(&cfg, quote, 65, &ev, &err), -1);
	rm_rf(d);
	free(d);
	free(quote);
}

/* ---- TPM */

/* Marshal a TPMT_PUBLIC (as TPM2B_PUBLIC) and convert it. */
static void
spki_of(const TPM2B_PUBLIC *pub, EVP_PKEY *expect)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC) + 8], *der = NULL, *want = NULL;
	size_t off = 0, n;
	int wn;
	struct error err;

	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf),
	    &off), 0);
	assert_int_equal(attest_tpm_public_to_spki(buf, off, &der, &n, &err),
	    0);
	wn = i2d_PUBKEY(expect, &want);
	assert_int_equal((size_t)wn, n);
	assert_memory_equal(der, want, n);
	free(der);
	OPENSSL_free(want);
	/* trailing bytes are refused */
	assert_int_equal(attest_tpm_public_to_spki(buf, off + 1, &der, &n,
	    &err), -1);
}

static void
test_tpm_spki(void **state)
{
	EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
	BIGNUM *bn = NULL;
	TPM2B_PUBLIC pub;
	uint8_t buf[600];
	size_t len;
	struct error err;
	uint8_t *der;
	size_t n;

	(void)state;
	assert_non_null(rsa);
	assert_non_null(ec);
	memset(&pub, 0, sizeof(pub));
	pub.publicArea.type = TPM2_ALG_RSA;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.rsaDetail.symmetric.algorithm =
	    TPM2_ALG_NULL;
	pub.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
	pub.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg =
	    TPM2_ALG_SHA256;
	pub.publicArea.parameters.rsaDetail.keyBits = 2048;
	pub.publicArea.parameters.rsaDetail.exponent = 0;	/* 65537 */
	assert_int_equal(EVP_PKEY_get_bn_param(rsa, "n", &bn), 1);
	len = (size_t)BN_num_bytes(bn);
	BN_bn2bin(bn, buf);
	BN_free(bn);
	bn = NULL;
	memcpy(pub.publicArea.unique.rsa.buffer, buf, len);
	pub.publicArea.unique.rsa.size = (UINT16)len;
	spki_of(&pub, rsa);

	memset(&pub, 0, sizeof(pub));
	pub.publicArea.type = TPM2_ALG_ECC;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.parameters.eccDetail.symmetric.algorithm =
	    TPM2_ALG_NULL;
	pub.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	pub.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg =
	    TPM2_ALG_SHA256;
	pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
	pub.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	assert_int_equal(EVP_PKEY_get_octet_string_param(ec, "pub", buf,
	    sizeof(buf), &len), 1);
	assert_int_equal(len, 65);
	memcpy(pub.publicArea.unique.ecc.x.buffer, buf + 1, 32);
	pub.publicArea.unique.ecc.x.size = 32;
	memcpy(pub.publicArea.unique.ecc.y.buffer, buf + 33, 32);
	pub.publicArea.unique.ecc.y.size = 32;
	spki_of(&pub, ec);

	/* an unsupported curve; garbage */
	pub.publicArea.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
	len = 0;
	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof(buf),
	    &len), 0);
	assert_int_equal(attest_tpm_public_to_spki(buf, len, &der, &n, &err),
	    -1);
	assert_non_null(strstr(err.msg, "curve"));
	assert_int_equal(attest_tpm_public_to_spki((const uint8_t *)"xy", 2,
	    &der, &n, &err), -1);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
}

static void
test_tpm_evidence_shape(void **state)
{
	struct attest_tpm_quote q;
	json_t *ev, *tq;
	uint8_t spki[3] = { 1, 2, 3 }, msg[2] = { 0xff, 0x54 },
	    sig[4] = { 0, 0x14, 0, 0x0b };
	size_t i;

	(void)state;
	memset(&q, 0, sizeof(q));
	q.msg = msg;
	q.msg_len = sizeof(msg);
	q.sig = sig;
	q.sig_len = sizeof(sig);
	for (i = 0; i < 24; i++)
		memset(q.pcrs[i], (int)i, 32);
	ev = attest_tpm_evidence_build(&q, spki, sizeof(spki));
	tq = json_object_get(ev, "tpm_quote");
	assert_string_equal(json_string_value(json_object_get(ev,
	    "ak_public")), "AQID");
	assert_string_equal(json_string_value(json_object_get(tq,
	    "message")), "/1Q=");
	assert_string_equal(json_string_value(json_object_get(tq,
	    "signature")), "ABQACw==");
	assert_int_equal(json_array_size(json_object_get(tq, "pcrs")), 24);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    tq, "pcrs"), 23)),
	    "1717171717171717171717171717171717171717171717171717171717171717");
	json_decref(ev);
}

/* ---- Azure */

static void
test_azure(void **state)
{
	struct attest_tpm_quote q;
	struct error err;
	uint8_t *hcl, *der, *got, sig[3] = { 0xaa, 0xbb, 0xcc },
	    msg[2] = { 1, 2 };
	size_t n, dn, gn;
	json_t *ev;
	X509 *x;
	BIO *b;
	const unsigned char *p;
	char *pem, *body;
	long pl;

	(void)state;
	hcl = testutil_vec_read("tdx-v4-azure-nocollateral/hcl_report.bin",
	    &n);
	assert_int_equal(attest_az_hcl_type(hcl, n), 4);
	assert_int_equal(attest_az_hcl_type(hcl, 100), -1);
	hcl[0] = 'X';
	assert_int_equal(attest_az_hcl_type(hcl, n), -1);
	hcl[0] = 'H';

	memset(&q, 0, sizeof(q));
	q.rsa_sig = sig;
	q.rsa_sig_len = sizeof(sig);
	q.msg = msg;
	q.msg_len = sizeof(msg);
	ev = attest_az_evidence_build(&q, hcl, n, 1, (const uint8_t *)"q", 1);
	assert_int_equal(json_integer_value(json_object_get(ev, "version")),
	    2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    ev, "tpm_quote"), "signature")), "aabbcc");
	assert_string_equal(json_string_value(json_object_get(ev,
	    "td_quote")), "cQ==");	/* base64url with padding */
	assert_null(json_object_get(ev, "vcek"));
	json_decref(ev);
	ev = attest_az_evidence_build(&q, hcl, n, 0, (const uint8_t *)"\xfb",
	    1);
	assert_string_equal(json_string_value(json_object_get(ev, "vcek")),
	    "-w==");
	json_decref(ev);
	free(hcl);

	/* IMDS THIM: the VCEK PEM becomes DER */
	der = testutil_vec_read("snp-milan-vcek/vcek.der", &dn);
	p = der;
	x = d2i_X509(NULL, &p, (long)dn);
	assert_non_null(x);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	pl = BIO_get_mem_data(b, &pem);
	body = xasprintf("{\"vcekCert\":\"%.*s\",\"certificateChain\":\"\"}",
	    (int)pl, pem);
	/* JSON needs the newlines escaped */
	{
		struct buf jb = { 0 };
		size_t i;

		for (i = 0; body[i] != '\0'; i++) {
			if (body[i] == '\n')
				buf_addstr(&jb, "\\n");
			else
				buf_add(&jb, &body[i], 1);
		}
		assert_int_equal(attest_az_thim_vcek(jb.data, jb.len, &got,
		    &gn, &err), 0);
		assert_int_equal(gn, dn);
		assert_memory_equal(got, der, dn);
		free(got);
		buf_free(&jb);
	}
	assert_int_equal(attest_az_thim_vcek((const uint8_t *)"{}", 2, &got,
	    &gn, &err), -1);
	assert_int_equal(attest_az_thim_vcek((const uint8_t *)
	    "{\"vcekCert\":\"x\"}", 16, &got, &gn, &err), -1);
	free(body);
	BIO_free(b);
	X509_free(x);
	free(der);

	assert_int_equal(attest_az_tdquote((const uint8_t *)
	    "{\"quote\":\"AQID_w\"}", 18, &got, &gn, &err), 0);
	assert_int_equal(gn, 4);
	assert_int_equal(got[3], 0xff);
	free(got);
	assert_int_equal(attest_az_tdquote((const uint8_t *)"{\"quote\":1}",
	    11, &got, &gn, &err), -1);
	assert_int_equal(attest_az_tdquote((const uint8_t *)"[]", 2, &got,
	    &gn, &err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_pad),
		cmocka_unit_test(test_tsm_attrs),
		cmocka_unit_test(test_tsm_entry),
		cmocka_unit_test(test_snp_certs),
		cmocka_unit_test(test_snp_evidence_verifies),
		cmocka_unit_test(test_snp_resp),
		cmocka_unit_test(test_tdx_qgs),
		cmocka_unit_test(test_tdx_evidence),
		cmocka_unit_test(test_tpm_spki),
		cmocka_unit_test(test_tpm_evidence_shape),
		cmocka_unit_test(test_azure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
