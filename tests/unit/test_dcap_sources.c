/*
 * test_dcap_sources.c: where DCAP collateral comes from
 * (verifier/dcap*.c): the collateral JSON file forms (a dcap-qvl
 * QuoteCollateralV3 object and an Intel PCS Client Tool bundle built here
 * from the vector files), a PCCS served by a local python script with
 * the disk cache answering once it is gone, and a directory with one
 * sub-directory per FMSPC shared by threads while the caches are
 * flushed (warm and cold give the same claims). Vectors: dcapfix.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dcapfix.h"

/* ---- file forms ------------------------------------------------------------------ */

static char *
read_text(const char *dir, const char *name, size_t *len)
{
	char *p = xasprintf("%s/%s", dir, name);
	uint8_t *d;
	struct error err;

	if (file_read_all(p, 1 << 20, &d, len, &err) != 0)
		fail_msg("%s", err.msg);
	free(p);
	return (char *)d;
}

static json_t *
hex_of_file(const char *dir, const char *name)
{
	size_t n;
	char *d = read_text(dir, name, &n);
	json_t *j = dcap_json_hex((uint8_t *)d, n);

	free(d);
	return j;
}

static json_t *
urlenc_of_file(const char *dir, const char *name)
{
	size_t n, i;
	char *d = read_text(dir, name, &n);
	struct buf b = { 0 };
	json_t *j;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)d[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.')
			buf_add(&b, &ch, 1);
		else
			buf_printf(&b, "%%%02X", ch);
	}
	j = json_stringn((char *)b.data, b.len);
	buf_free(&b);
	free(d);
	return j;
}

static json_t *
json_of_file(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	json_error_t je;
	json_t *j = json_load_file(p, 0, &je);

	assert_non_null(j);
	free(p);
	return j;
}

/* An Intel PCS Client Tool bundle built from a vector's files. */
static char *
make_pcstool_bundle(const struct dcapfix_vec *v, const char *fmspc, int tdx,
    int platform)
{
	json_t *col = json_object(), *ti = json_object(), *crl, *certs, *root;
	char *dir = dcapfix_scratch(), *path = xasprintf("%s/bundle.json", dir);

	json_object_set_new(ti, "fmspc", json_string(fmspc));
	json_object_set_new(ti, tdx ? "tdx_tcbinfo" : "sgx_tcbinfo",
	    json_of_file(v->dir, "tcb_info.json"));
	json_object_set_new(col, "tcbinfos", json_pack("[o]", ti));
	json_object_set_new(col, tdx ? "tdqeidentity" : "qeidentity",
	    json_of_file(v->dir, "qe_identity.json"));
	crl = json_object();
	json_object_set_new(crl, platform ? "platformCrl" : "processorCrl",
	    hex_of_file(v->dir, "pck_crl.der"));
	json_object_set_new(col, "pckcacrl", crl);
	json_object_set_new(col, "rootcacrl", hex_of_file(v->dir,
	    "root_ca_crl.der"));
	certs = json_object();
	json_object_set_new(certs, "TCB-Info-Issuer-Chain",
	    urlenc_of_file(v->dir, "tcb_info_issuer_chain.pem"));
	json_object_set_new(certs, "SGX-Enclave-Identity-Issuer-Chain",
	    urlenc_of_file(v->dir, "qe_identity_issuer_chain.pem"));
	json_object_set_new(certs, "SGX-PCK-Certificate-Issuer-Chain",
	    json_pack("{s:o}", platform ? "PLATFORM" : "PROCESSOR",
	    urlenc_of_file(v->dir, "pck_crl_issuer_chain.pem")));
	json_object_set_new(col, "certificates", certs);
	root = json_pack("{s:o}", "collaterals", col);
	assert_int_equal(json_dump_file(root, path, JSON_INDENT(2)), 0);
	json_decref(root);
	free(dir);
	return path;
}

static void
test_file_forms(void **state)
{
	json_t *c = NULL;
	struct error err;
	char *p, *d;

	(void)state;
	/* dcap-qvl QuoteCollateralV3 object (signed texts as strings). */
	p = xasprintf("%s/collateral-source.json", tdx4.dir);
	dcapfix_use_collateral(p, NULL, NULL);
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_check_tdx_claims(c, tdx4.exp);
	dcapfix_check_supplemental(c, tdx4.exp, "UpToDate");
	json_decref(c);
	free(p);
	p = xasprintf("%s/collateral-source.json", sgx3.dir);
	dcapfix_use_collateral(p, NULL, NULL);
	assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_assert_claim(c, "tcb_status",
	    "ConfigurationAndSWHardeningNeeded");
	json_decref(c);
	free(p);

	/* Intel PCS Client Tool bundle (pretty-printed, objects). */
	p = make_pcstool_bundle(&tdx4, "B0C06F000000", 1, 1);
	dcapfix_use_collateral(p, NULL, NULL);
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_check_tdx_claims(c, tdx4.exp);
	dcapfix_check_supplemental(c, tdx4.exp, "UpToDate");
	json_decref(c);
	dcapfix_expect_fail(&verifier_tdx, azure.quote, azure.len, tdx4.now,
	    "no TDX TCB info for FMSPC 00806f050000");
	d = xstrdup(p);
	*strrchr(d, '/') = 0;
	dcapfix_rm_rf(d);
	free(p);
	p = make_pcstool_bundle(&sgx3, "00a067110000", 0, 0);
	dcapfix_use_collateral(p, NULL, NULL);
	assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_assert_claim(c, "tcb_status",
	    "ConfigurationAndSWHardeningNeeded");
	json_decref(c);
	d = xstrdup(p);
	*strrchr(d, '/') = 0;
	dcapfix_rm_rf(d);
	free(p);
}

/* ---- PCCS ------------------------------------------------------------------------ */

static const char pccs_py[] =
"import sys, os, binascii, urllib.parse\n"
"from http.server import HTTPServer, BaseHTTPRequestHandler\n"
"root = sys.argv[1]\n"
"def rd(v, n):\n"
"    return open(os.path.join(root, v, n), 'rb').read()\n"
"def chain(v, n):\n"
"    return urllib.parse.quote(rd(v, n).decode(), safe='')\n"
"MAP = {}\n"
"for tee, v, fm in (('tdx', 'tdx-v4-uptodate', 'B0C06F000000'),\n"
"                   ('sgx', 'sgx-v3-collateral', '00A067110000')):\n"
"    MAP['/%s/certification/v4/tcb?fmspc=%s&update=early' % (tee, fm)] = \\\n"
"        (rd(v, 'tcb_info.json'), 'TCB-Info-Issuer-Chain',\n"
"         chain(v, 'tcb_info_issuer_chain.pem'))\n"
"    MAP['/%s/certification/v4/qe/identity?update=early' % tee] = \\\n"
"        (rd(v, 'qe_identity.json'), 'SGX-Enclave-Identity-Issuer-Chain',\n"
"         chain(v, 'qe_identity_issuer_chain.pem'))\n"
"MAP['/sgx/certification/v4/pckcrl?ca=platform&encoding=der'] = \\\n"
"    (rd('tdx-v4-uptodate', 'pck_crl.der'), 'SGX-PCK-CRL-Issuer-Chain',\n"
"     chain('tdx-v4-uptodate', 'pck_crl_issuer_chain.pem'))\n"
"MAP['/sgx/certification/v4/pckcrl?ca=processor&encoding=der'] = \\\n"
"    (rd('sgx-v3-collateral', 'pck_crl.der'), 'SGX-PCK-CRL-Issuer-Chain',\n"
"     chain('sgx-v3-collateral', 'pck_crl_issuer_chain.pem'))\n"
"MAP['/sgx/certification/v4/rootcacrl'] = \\\n"
"    (binascii.hexlify(rd('tdx-v4-uptodate', 'root_ca_crl.der')), None, None)\n"
"class H(BaseHTTPRequestHandler):\n"
"    def do_GET(self):\n"
"        e = MAP.get(self.path)\n"
"        if e is None:\n"
"            self.send_response(404); self.send_header('Content-Length', '0')\n"
"            self.end_headers(); return\n"
"        self.send_response(200)\n"
"        if e[1]: self.send_header(e[1], e[2])\n"
"        self.send_header('Content-Length', str(len(e[0])))\n"
"        self.end_headers(); self.wfile.write(e[0])\n"
"    def log_message(self, *a): pass\n"
"s = HTTPServer(('127.0.0.1', 0), H)\n"
"print(s.server_address[1], flush=True)\n"
"s.serve_forever()\n";

static pid_t
pccs_start(int *port)
{
	int fd[2];
	pid_t pid;
	char line[32];
	ssize_t n;
	size_t got = 0;
	char *abs = testutil_vec_path("");

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl("/usr/bin/python3", "python3", "-c", pccs_py, abs,
		    (char *)NULL);
		_exit(127);
	}
	free(abs);
	close(fd[1]);
	while (got < sizeof(line) - 1 && (n = read(fd[0], line + got, 1)) == 1
	    && line[got] != '\n')
		got++;
	line[got] = 0;
	close(fd[0]);
	*port = atoi(line);
	return pid;
}

static void
pccs_stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

static void
test_pccs(void **state)
{
	int port;
	pid_t pid;
	char *url, *cache = dcapfix_scratch();
	json_t *c = NULL;
	struct error err;

	(void)state;
	if (access("/usr/bin/python3", X_OK) != 0)
		skip();
	pid = pccs_start(&port);
	assert_true(port > 0);
	/* The configured path is ignored, as Trustee does. */
	url = xasprintf("http://127.0.0.1:%d/sgx/certification/v4/", port);
	dcapfix_use_collateral(NULL, url, cache);
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_check_tdx_claims(c, tdx4.exp);
	dcapfix_check_supplemental(c, tdx4.exp, "UpToDate");
	json_decref(c);
	assert_int_equal(dcapfix_verify(&verifier_sgx, sgx3.quote, sgx3.len,
	    sgx3.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_assert_claim(c, "tcb_status",
	    "ConfigurationAndSWHardeningNeeded");
	json_decref(c);
	/* No collateral for this FMSPC: the service answers 404. */
	dcapfix_expect_fail(&verifier_tdx, azure.quote, azure.len, tdx4.now,
	    "HTTP 404");
	pccs_stop(pid);
	/* The service is gone: the disk cache answers. */
	dcapfix_use_collateral(NULL, url, cache);
	assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote, tdx4.len,
	    tdx4.now, NULL, 0, NULL, 0, &c, &err), 0);
	dcapfix_assert_claim(c, "tcb_status", "UpToDate");
	json_decref(c);
	/* ... and without a cache nothing can be fetched. */
	dcapfix_use_collateral(NULL, url, NULL);
	dcapfix_expect_fail(&verifier_tdx, tdx4.quote, tdx4.len, tdx4.now,
	    "PCCS");
	free(url);
	dcapfix_rm_rf(cache);
}

static void *
verify_thread(void *arg)
{
	int i, *fails = arg;

	for (i = 0; i < 25; i++) {
		json_t *c = NULL;
		struct error err;
		const struct dcapfix_vec *v = i % 2 ? &tdx4 : &sgx3;
		const struct verifier_backend *be = i % 2 ? &verifier_tdx :
		    &verifier_sgx;
		struct verifier_input in;
		json_t *ev = dcapfix_evidence(v->quote, v->len);

		memset(&in, 0, sizeof(in));
		in.evidence = ev;
		in.now = v->now;
		if (be->verify(&in, &c, &err) != 0)
			(*fails)++;
		json_decref(c);
		json_decref(ev);
		if (i == 12)
			dcap_cache_flush();
	}
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	int fails[4] = { 0 }, i;
	char *p, *dir = dcapfix_scratch();
	const char *names[] = { "tcb_info.json", "tcb_info_issuer_chain.pem",
		"qe_identity.json", "qe_identity_issuer_chain.pem",
		"pck_crl.der", "pck_crl_issuer_chain.pem", "root_ca_crl.der" };
	size_t j;

	(void)state;
	/* One directory serving two platforms via FMSPC sub-directories. */
	for (j = 0; j < ARRAY_SIZE(names); j++) {
		char *s, *d;

		p = xasprintf("%s/b0c06f000000", dir);
		mkdir(p, 0700);
		s = xasprintf("%s/%s", tdx4.dir, names[j]);
		d = xasprintf("%s/%s", p, names[j]);
		assert_int_equal(symlink(s, d), 0);
		free(s);
		free(d);
		free(p);
		p = xasprintf("%s/00a067110000", dir);
		mkdir(p, 0700);
		s = xasprintf("%s/%s", sgx3.dir, names[j]);
		d = xasprintf("%s/%s", p, names[j]);
		assert_int_equal(symlink(s, d), 0);
		free(s);
		free(d);
		free(p);
	}
	dcapfix_use_collateral(dir, NULL, NULL);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, verify_thread,
		    &fails[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(fails[i], 0);
	}
	/* Warm and cold give the same claims. */
	{
		json_t *a = NULL, *b = NULL;
		struct error err;

		assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote,
		    tdx4.len, tdx4.now, NULL, 0, NULL, 0, &a, &err), 0);
		dcap_cache_flush();
		assert_int_equal(dcapfix_verify(&verifier_tdx, tdx4.quote,
		    tdx4.len, tdx4.now, NULL, 0, NULL, 0, &b, &err), 0);
		assert_true(json_equal(a, b));
		json_decref(a);
		json_decref(b);
	}
	dcapfix_rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_forms),
		cmocka_unit_test(test_pccs),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, dcapfix_setup, dcapfix_teardown);
}
