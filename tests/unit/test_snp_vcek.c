/*
 * test_snp_vcek.c: how the AMD SEV-SNP verifier finds the VCEK when the
 * evidence carries none: the error without a source, the certificate
 * cache directory (TCB-named file, fallback vcek.der, masked CHIP_ID),
 * the configured VEK file, and a one-shot local KDS whose answer is
 * remembered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "snp.h"
#include "util.h"
#include "verifier.h"
#include "testutil.h"
#include "snpfix.h"

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len)
		fail_msg("cannot write %s", path);
	fclose(f);
}

static void
rm_rf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	free(cmd);
}

static void
test_no_vcek(void **state)
{
	json_t *ev = snpfix_evidence_for(milan.report, milan.report_len, NULL,
	    0, NULL), *claims = NULL;
	struct error err;
	uint8_t buf[SNP_REPORT_SIZE];

	(void)state;
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err,
	    "no VCEK: the evidence carries no certificate and no cert "
	    "cache/KDS is configured");
	json_decref(ev);
	/* a VLEK-signed report without a certificate */
	memcpy(buf, milan.report, sizeof(buf));
	buf[0x48] = 1 << 2;
	ev = snpfix_evidence_for(buf, sizeof(buf), NULL, 0, NULL);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "no VLEK");
	json_decref(ev);
}

static void
test_cert_cache(void **state)
{
	struct verifier_config cfg;
	json_t *ev, *claims = NULL;
	struct error err;
	char *dir = testutil_tmpdir("test_snp"), *sub, *path, hwid[129];
	uint8_t buf[SNP_REPORT_SIZE];

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.snp_cert_cache = dir;
	verifier_configure(&cfg);

	/* an empty cache: precise error naming what was looked for */
	ev = snpfix_evidence_for(milan.report, milan.report_len, NULL, 0, NULL);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "bl02 tee00 snp05 ucode68");

	/* Milan: the TCB-named file */
	hex_encode(milan.report + 0x1a0, 64, hwid);
	sub = xasprintf("%s/vcek/%s", dir, hwid);
	assert_int_equal(dir_create(sub, 0700, &err), 0);
	path = xasprintf("%s/bl02_tee00_snp05_ucode68_vcek.der", sub);
	write_file(path, milan.vek, milan.vek_len);
	if (snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
		fail_msg("cert cache (TCB-named): %s", err.msg);
	snpfix_check_claims(claims, milan.expected);
	json_decref(claims);
	json_decref(ev);
	free(path);
	free(sub);

	/* Genoa: the fallback vcek.der */
	hex_encode(genoa.report + 0x1a0, 64, hwid);
	sub = xasprintf("%s/vcek/%s", dir, hwid);
	assert_int_equal(dir_create(sub, 0700, &err), 0);
	path = xasprintf("%s/vcek.der", sub);
	write_file(path, genoa.vek, genoa.vek_len);
	ev = json_deep_copy(genoa_evidence);
	json_object_set_new(ev, "cert_chain", json_null());
	if (snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
		fail_msg("cert cache (vcek.der): %s", err.msg);
	snpfix_check_claims(claims, genoa.expected);
	json_decref(claims);
	json_decref(ev);
	free(path);
	free(sub);

	/* masked CHIP_ID: nothing to look up by */
	memcpy(buf, milan.report, sizeof(buf));
	memset(buf + 0x1a0, 0, 64);
	ev = snpfix_evidence_for(buf, sizeof(buf), NULL, 0, NULL);
	snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), &err, "CHIP_ID is masked");
	json_decref(ev);

	/* the configured VEK file wins (PEM here) */
	{
		X509 *x;
		const unsigned char *q = milan.vek;
		FILE *f;

		path = xasprintf("%s/vcek.pem", dir);
		x = d2i_X509(NULL, &q, (long)milan.vek_len);
		assert_non_null(x);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(PEM_write_X509(f, x), 1);
		fclose(f);
		X509_free(x);
		cfg.snp_cert_cache = NULL;
		cfg.snp_vek_file = path;
		verifier_configure(&cfg);
		snp_cache_clear();
		ev = snpfix_evidence_for(milan.report, milan.report_len, NULL,
		    0, NULL);
		if (snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
		    &err) < 0)
			fail_msg("snp_vek_file PEM: %s", err.msg);
		json_decref(claims);
		json_decref(ev);
		free(path);
	}
	verifier_configure(NULL);
	rm_rf(dir);
	free(dir);
}

/*
 * A one-shot local "KDS": answers one request with the VCEK if the
 * request line is the expected one, else 404.
 */
static void
kds_child(int ls, const char *want, const uint8_t *der, size_t len)
{
	char req[4096];
	size_t n = 0;
	ssize_t k;
	int c;
	char hdr[256];
	int ok;

	alarm(20);	/* never outlive a failed test */
	c = accept(ls, NULL, NULL);
	if (c < 0)
		_exit(1);
	while (n < sizeof(req) - 1 && (k = read(c, req + n,
	    sizeof(req) - 1 - n)) > 0) {
		n += (size_t)k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[n] = '\0';
	ok = strncmp(req, want, strlen(want)) == 0;
	snprintf(hdr, sizeof(hdr), "HTTP/1.1 %s\r\nContent-Type: "
	    "application/octet-stream\r\nContent-Length: %zu\r\nConnection: "
	    "close\r\n\r\n", ok ? "200 OK" : "404 Not Found", ok ? len : 0);
	if (write(c, hdr, strlen(hdr)) < 0 || (ok && write(c, der, len) < 0))
		_exit(1);
	close(c);
	_exit(ok ? 0 : 2);
}

static void
test_kds(void **state)
{
	struct verifier_config cfg;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	json_t *ev, *claims = NULL;
	struct error err;
	char url[64], want[512], hwid[129];
	int ls, st;
	pid_t pid;

	(void)state;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u",
	    (unsigned)ntohs(sa.sin_port));
	hex_encode(genoa.report + 0x1a0, 64, hwid);
	snprintf(want, sizeof(want), "GET /vcek/v1/Genoa/%s?blSPL=10&"
	    "teeSPL=00&snpSPL=23&ucodeSPL=25 HTTP/1.1", hwid);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		kds_child(ls, want, genoa.vek, genoa.vek_len);
	close(ls);

	memset(&cfg, 0, sizeof(cfg));
	cfg.snp_kds_url = url;
	verifier_configure(&cfg);
	ev = json_deep_copy(genoa_evidence);
	json_object_set_new(ev, "cert_chain", json_null());
	if (snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims, &err) < 0)
		fail_msg("KDS: %s", err.msg);
	json_decref(claims);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* the KDS answer is remembered: the server is gone now */
	assert_int_equal(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK, &claims,
	    &err), 0);
	json_decref(claims);
	json_decref(ev);

	/* another chip: the (dead) KDS is asked and the error says so */
	{
		uint8_t buf[SNP_REPORT_SIZE];

		memcpy(buf, genoa.report, sizeof(buf));
		buf[0x1a0] ^= 1;
		ev = snpfix_evidence_for(buf, sizeof(buf), NULL, 0, NULL);
		snpfix_assert_err(snpfix_run_verify(ev, NULL, 0, NULL, 0, T_OK,
		    &claims, &err), &err, "AMD KDS");
		json_decref(ev);
	}
	verifier_configure(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_no_vcek, snpfix_reset),
		cmocka_unit_test_setup(test_cert_cache, snpfix_reset),
		cmocka_unit_test_setup(test_kds, snpfix_reset),
	};

	return cmocka_run_group_tests_name("snp_vcek", tests, snpfix_setup,
	    snpfix_teardown);
}
