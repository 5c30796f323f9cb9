/*
 * test_config.c: config_load on temporary files: parsed values, defaults,
 * relative path resolution, and the exact "file:line: message" report
 * (stderr captured by pointing fd 2 at a temporary file).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../server/trusteed.h"
#include "../../store/seal.h"
#include "testutil.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

static char tmpdir[] = "/tmp/test_config_XXXXXX";

/* Write content to tmpdir/name; returns the malloc'd full path. */
static char *
write_conf(const char *name, const char *content)
{
	return testutil_write_file(tmpdir, name, content);
}

/* config_load with stderr captured; returns what was printed. */
static char *
load_capture(const char *path, struct config *cfg, int *nerr)
{
	struct testutil_capture c;

	testutil_stderr_begin(&c);
	*nerr = config_load(path, cfg);
	return testutil_stderr_end(&c);
}

/* Load text as file name, expect n errors and exactly this report, with
 * "%F" standing for the config path. */
static void
expect_report(const char *name, const char *text, int n, const char *report,
    struct config *cfg)
{
	char *path = write_conf(name, text), *out;
	struct buf want = { 0 };
	const char *r;
	int nerr;

	config_defaults(cfg);
	out = load_capture(path, cfg, &nerr);
	for (r = report; *r != '\0'; r++) {
		if (r[0] == '%' && r[1] == 'F') {
			buf_addstr(&want, path);
			r++;
		} else
			buf_add(&want, r, 1);
	}
	if (strcmp(out, buf_cstr(&want)) != 0 || nerr != n)
		fail_msg("got %d errors:\n%s\nexpected %d:\n%s", nerr, out, n,
		    buf_cstr(&want));
	buf_free(&want);
	free(out);
	unlink(path);
	free(path);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

/* Without workers configured: the CPUs; four per CPU on a networked
 * store; never more than 16. */
static void
test_default_workers(void **state)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	assert_int_equal(config_default_workers(0), n > 16 ? 16 : n);
	assert_int_equal(config_default_workers(1), 4 * n > 16 ? 16 : 4 * n);
	assert_in_range(config_default_workers(1), config_default_workers(0),
	    16);
}

static void
test_defaults(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_null(cfg.path);
	assert_int_equal(cfg.nlisten, 1);
	assert_string_equal(cfg.listen[0], "127.0.0.1:8080");
	assert_false(cfg.insecure_http);
	assert_null(cfg.tls_cert);
	assert_null(cfg.tls_key);
	assert_string_equal(cfg.tls_min_version, "1.2");
	assert_int_equal(cfg.max_body, 2 * 1024 * 1024);
	assert_int_equal(cfg.workers, 0);	/* config_default_workers */
	assert_int_equal(cfg.session_lifetime_s, 300);
	assert_int_equal(cfg.token_lifetime_s, 300);
	assert_string_equal(cfg.state_dir, LOCALSTATEDIR "/lib/trustee");
	assert_string_equal(cfg.store_type, "sqlite");
	assert_string_equal(cfg.store_path,
	    LOCALSTATEDIR "/lib/trustee/trustee.db");
	assert_string_equal(cfg.sealer, "file");
	assert_string_equal(cfg.data_key_file,
	    LOCALSTATEDIR "/lib/trustee/data.key");
	assert_int_equal(cfg.admin_mode, ADMIN_BEARER_JWT);
	assert_int_equal(cfg.nadmin_keys, 0);
	assert_int_equal(cfg.resource_policy, RPOLICY_DEFAULT);
	config_free(&cfg);
	config_free(&cfg);	/* safe twice */
	config_free(NULL);
}

static void
test_full(void **state)
{
	static const char text[] =
	    "# all keys\n"
	    "[http_server]\n"
	    "listen = [\"0.0.0.0:8443\", \"[::1]:0\", \"127.0.0.1:65535\"]\n"
	    "insecure_http = false\n"
	    "certificate = \"/etc/trustee/tls/cert.pem\"\n"
	    "private_key = \"/etc/trustee/tls/key.pem\"\n"
	    "tls_min_version = \"1.3\"\n"
	    "payload_request_size = 4\n"
	    "workers = 3\n"
	    "[attestation]\n"
	    "session_lifetime = 60\n"
	    "token_lifetime = 86400\n"
	    "[storage]\n"
	    "state_dir = \"/srv/trustee\"\n"
	    "type = \"sqlite\"\n"
	    "sealer = \"file\"\n"
	    "data_key_file = \"/srv/keys/data.key\"\n"
	    "[admin]\n"
	    "mode = \"bearer_jwt\"\n"
	    "public_keys = [\"/etc/trustee/admin/a.pem\", \"/k/b.pem\"]\n"
	    "[policy]\n"
	    "resource = \"allow_all\"\n";
	struct config cfg;
	char *path = write_conf("full.toml", text), *out;
	int nerr;

	(void)state;
	config_defaults(&cfg);
	out = load_capture(path, &cfg, &nerr);
	assert_string_equal(out, "");
	assert_int_equal(nerr, 0);
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.nlisten, 3);
	assert_string_equal(cfg.listen[0], "0.0.0.0:8443");
	assert_string_equal(cfg.listen[1], "[::1]:0");
	assert_string_equal(cfg.listen[2], "127.0.0.1:65535");
	assert_null(cfg.listen[3]);
	assert_false(cfg.insecure_http);
	assert_string_equal(cfg.tls_cert, "/etc/trustee/tls/cert.pem");
	assert_string_equal(cfg.tls_key, "/etc/trustee/tls/key.pem");
	assert_string_equal(cfg.tls_min_version, "1.3");
	assert_int_equal(cfg.max_body, 4 * 1024 * 1024);
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.session_lifetime_s, 60);
	assert_int_equal(cfg.token_lifetime_s, 86400);
	assert_string_equal(cfg.state_dir, "/srv/trustee");
	assert_string_equal(cfg.store_type, "sqlite");
	/* path not given: follows state_dir. */
	assert_string_equal(cfg.store_path, "/srv/trustee/trustee.db");
	assert_string_equal(cfg.sealer, "file");
	assert_string_equal(cfg.data_key_file, "/srv/keys/data.key");
	assert_int_equal(cfg.admin_mode, ADMIN_BEARER_JWT);
	assert_int_equal(cfg.nadmin_keys, 2);
	assert_string_equal(cfg.admin_keys[0], "/etc/trustee/admin/a.pem");
	assert_string_equal(cfg.admin_keys[1], "/k/b.pem");
	assert_int_equal(cfg.resource_policy, RPOLICY_ALLOW_ALL);
	config_free(&cfg);
	free(out);
	unlink(path);
	free(path);
}

static void
test_minimal_insecure(void **state)
{
	static const char text[] =
	    "[http_server]\ninsecure_http = true\nmax_body_bytes = 1024\n"
	    "[admin]\nmode = 'insecure_allow_all'\n"
	    "[policy]\nresource = 'deny_all'\n"
	    "[storage]\npath = '/db/t.db'\n";
	struct config cfg;
	char *path = write_conf("min.toml", text), *out;
	int nerr;

	(void)state;
	config_defaults(&cfg);
	out = load_capture(path, &cfg, &nerr);
	assert_string_equal(out, "");
	assert_int_equal(nerr, 0);
	assert_true(cfg.insecure_http);
	assert_null(cfg.tls_cert);
	assert_int_equal(cfg.max_body, 1024);
	assert_int_equal(cfg.admin_mode, ADMIN_INSECURE_ALLOW_ALL);
	assert_int_equal(cfg.resource_policy, RPOLICY_DENY_ALL);
	assert_string_equal(cfg.listen[0], "127.0.0.1:8080");
	assert_string_equal(cfg.store_path, "/db/t.db");
	assert_string_equal(cfg.data_key_file,
	    LOCALSTATEDIR "/lib/trustee/data.key");
	config_free(&cfg);
	free(out);
	unlink(path);
	free(path);
}

static void
test_relative_paths(void **state)
{
	static const char text[] =
	    "[http_server]\ncertificate = \"tls/cert.pem\"\n"
	    "private_key = \"./key.pem\"\n"
	    "[storage]\nstate_dir = \"state\"\n"
	    "[admin]\npublic_keys = [\"admin/pub.pem\", \"/abs/k.pem\"]\n";
	struct config cfg;
	char *path = write_conf("rel.toml", text), *out, *want, cwd[PATH_MAX];
	int nerr;

	(void)state;
	config_defaults(&cfg);
	out = load_capture(path, &cfg, &nerr);
	assert_string_equal(out, "");
	assert_int_equal(nerr, 0);
	want = xasprintf("%s/tls/cert.pem", tmpdir);
	assert_string_equal(cfg.tls_cert, want);
	free(want);
	want = xasprintf("%s/key.pem", tmpdir);
	assert_string_equal(cfg.tls_key, want);
	free(want);
	want = xasprintf("%s/state/trustee.db", tmpdir);
	assert_string_equal(cfg.store_path, want);
	free(want);
	want = xasprintf("%s/state/data.key", tmpdir);
	assert_string_equal(cfg.data_key_file, want);
	free(want);
	want = xasprintf("%s/admin/pub.pem", tmpdir);
	assert_string_equal(cfg.admin_keys[0], want);
	free(want);
	assert_string_equal(cfg.admin_keys[1], "/abs/k.pem");
	config_free(&cfg);
	free(out);

	/* A relative config path is anchored at the working directory. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/tmp"), 0);
	config_defaults(&cfg);
	out = load_capture(path + strlen("/tmp/"), &cfg, &nerr);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(nerr, 0);
	want = xasprintf("%s/tls/cert.pem", tmpdir);
	assert_string_equal(cfg.tls_cert, want);
	free(want);
	config_free(&cfg);
	free(out);
	unlink(path);
	free(path);
}

static void
test_many_errors(void **state)
{
	struct config cfg;

	(void)state;
	expect_report("errs.toml",
	    "[http_server]\n"				/* 1 */
	    "lisen = [\"127.0.0.1:80\"]\n"		/* 2 */
	    "workers = 0\n"				/* 3 */
	    "insecure_http = \"no\"\n"			/* 4 */
	    "tls_min_version = \"1.1\"\n"		/* 5 */
	    "payload_request_size = 2\n"		/* 6 */
	    "max_body_bytes = 4096\n"			/* 7 */
	    "[attestation]\n"				/* 8 */
	    "session_lifetime = 5\n"			/* 9 */
	    "token_lifetime = 1.5\n"			/* 10 */
	    "[storage]\n"				/* 11 */
	    "type = \"mysql\"\n"			/* 12 */
	    "sealer = \"\"\n"				/* 13 */
	    "path = \"\"\n"				/* 14 */
	    "[admin]\n"					/* 15 */
	    "mode = \"open\"\n"				/* 16 */
	    "[policy]\n"				/* 17 */
	    "resource = 1\n"				/* 18 */
	    "[extra]\n"					/* 19 */
	    "x = 1\n",					/* 20 */
	    13,
	    "%F:2: unknown key 'lisen' in [http_server]\n"
	    "%F:3: http_server.workers: 0 is out of range 1..64\n"
	    "%F:4: http_server.insecure_http: expected a boolean (true or "
	    "false), got a string\n"
	    "%F:5: http_server.tls_min_version: \"1.1\" is not one of "
	    "\"1.2\", \"1.3\"\n"
	    "%F:7: http_server: payload_request_size and max_body_bytes both "
	    "set (line 6); use one\n"
	    "%F:9: attestation.session_lifetime: 5 is out of range "
	    "10..86400\n"
	    "%F:10: attestation.token_lifetime: expected an integer, got a "
	    "float\n"
	    "%F:12: storage.type: \"mysql\" is not one of \"sqlite\"\n"
	    "%F:13: storage.sealer: \"\" is not one of \"file\"\n"
	    "%F:14: storage.path: must not be empty\n"
	    "%F:16: admin.mode: \"open\" is not one of \"bearer_jwt\", "
	    "\"deny_all\", \"insecure_allow_all\"\n"
	    "%F:18: policy.resource: expected a string, got an integer\n"
	    "%F:20: unknown section [extra]\n",
	    &cfg);
	/* config_free is safe after a failed load. */
	config_free(&cfg);
}

static void
test_missing_required(void **state)
{
	struct config cfg;

	(void)state;
	/* No sections at all: the requirements have no line. */
	expect_report("empty.toml", "# nothing\n", 3,
	    "%F: http_server.certificate is required unless insecure_http = "
	    "true\n"
	    "%F: http_server.private_key is required unless insecure_http = "
	    "true\n"
	    "%F: admin.public_keys is required when admin.mode is "
	    "\"bearer_jwt\" (the default)\n", &cfg);
	config_free(&cfg);
	/* Section present: its first key's line. */
	expect_report("partial.toml",
	    "\n[http_server]\n\nworkers = 2\ncertificate = 'c.pem'\n"
	    "[admin]\nmode = 'bearer_jwt'\npublic_keys = []\n", 2,
	    "%F:4: http_server.private_key is required unless insecure_http = "
	    "true\n"
	    "%F:8: admin.public_keys: must not be empty when admin.mode is "
	    "\"bearer_jwt\"\n", &cfg);
	config_free(&cfg);
	/* A wrongly typed certificate is reported once, not as missing. */
	expect_report("typed.toml",
	    "[http_server]\ncertificate = 1\nprivate_key = 'k'\n"
	    "[admin]\nmode = 'deny_all'\n", 1,
	    "%F:2: http_server.certificate: expected a string, got an "
	    "integer\n", &cfg);
	config_free(&cfg);
}

static void
test_listen(void **state)
{
	struct config cfg;

	(void)state;
	expect_report("listen.toml",
	    "[http_server]\ninsecure_http = true\n"
	    "listen = [\"1.2.3.4\", \"::1:80\", \"[::1]80\", \"1.2.3.4:65536\","
	    " \"1.2.3.4:-1\", \"localhost:80\", \"[fe80::zz]:1\", 7,"
	    " \"1.2.3.4:\", \"[::]:443\", \"[::]:443\"]\n"
	    "[admin]\nmode = 'deny_all'\n", 11,
	    "%F:3: http_server.listen: needs 1 to 8 addresses, got 11\n"
	    "%F:3: http_server.listen: \"1.2.3.4\": missing :port\n"
	    "%F:3: http_server.listen: \"::1:80\": not an IPv4 address (IPv6 "
	    "goes in brackets: [::1]:8080)\n"
	    "%F:3: http_server.listen: \"[::1]80\": expected [IPv6]:port\n"
	    "%F:3: http_server.listen: \"1.2.3.4:65536\": port must be a "
	    "number 0..65535\n"
	    "%F:3: http_server.listen: \"1.2.3.4:-1\": port must be a number "
	    "0..65535\n"
	    "%F:3: http_server.listen: \"localhost:80\": not an IPv4 address "
	    "(IPv6 goes in brackets: [::1]:8080)\n"
	    "%F:3: http_server.listen: \"[fe80::zz]:1\": not an IPv6 address\n"
	    "%F:3: http_server.listen[7]: expected a string, got an integer\n"
	    "%F:3: http_server.listen: \"1.2.3.4:\": port must be a number "
	    "0..65535\n"
	    "%F:3: http_server.listen: \"[::]:443\" listed twice\n", &cfg);
	/* The defaults survive a rejected listen. */
	assert_int_equal(cfg.nlisten, 1);
	assert_string_equal(cfg.listen[0], "127.0.0.1:8080");
	config_free(&cfg);
	expect_report("listen2.toml",
	    "[http_server]\ninsecure_http = true\nlisten = []\n"
	    "[admin]\nmode = 'deny_all'\n", 1,
	    "%F:3: http_server.listen: needs 1 to 8 addresses, got 0\n", &cfg);
	config_free(&cfg);
	expect_report("listen3.toml",
	    "[http_server]\ninsecure_http = true\nlisten = '0.0.0.0:80'\n"
	    "[admin]\nmode = 'deny_all'\n", 1,
	    "%F:3: http_server.listen: expected an array of strings, got a "
	    "string\n", &cfg);
	config_free(&cfg);
}

static void
test_structure_errors(void **state)
{
	struct config cfg;

	(void)state;
	expect_report("struct.toml",
	    "workers = 4\n"
	    "policy = 'x'\n"
	    "[http_server]\ninsecure_http = true\n"
	    "[admin]\nmode = 'deny_all'\npublic_keys = ['a', '']\n"
	    "[[storage]]\ntype = 'sqlite'\n", 4,
	    "%F:1: unknown key 'workers' outside of any [section]\n"
	    "%F:2: policy must be a table ([policy]), got a string\n"
	    "%F:7: admin.public_keys[1]: expected a file name, got an empty "
	    "string\n"
	    "%F:9: storage must be a table ([storage]), got an array\n", &cfg);
	config_free(&cfg);
	expect_report("body.toml",
	    "[http_server]\ninsecure_http = true\npayload_request_size = 65\n"
	    "[admin]\nmode = 'deny_all'\n", 1,
	    "%F:3: http_server.payload_request_size: 65 is out of range "
	    "1..64\n", &cfg);
	config_free(&cfg);
}

static void
test_syntax_and_io_errors(void **state)
{
	struct config cfg;
	char *out;
	int nerr;

	(void)state;
	expect_report("syntax.toml", "[http_server]\ninsecure_http = true\n"
	    "workers 4\nlisten = 1\n", 1,
	    "%F:3: expected '=' after key\n", &cfg);
	config_free(&cfg);
	expect_report("dup.toml", "[admin]\nmode = 'deny_all'\n[admin]\n", 1,
	    "%F:3: duplicate table [admin]\n", &cfg);
	config_free(&cfg);
	config_defaults(&cfg);
	out = load_capture("/nonexistent/trusteed.toml", &cfg, &nerr);
	assert_int_equal(nerr, 1);
	assert_string_equal(out,
	    "/nonexistent/trusteed.toml: No such file or directory\n");
	free(out);
	config_free(&cfg);
}

/* The shipped example must load cleanly. */
/* [limits]: values, floats for rates, ranges, the rules between keys, and
 * the same keys through config_limit_set (trusteed --limit). */
static void
test_limits(void **state)
{
	struct config cfg;
	struct error err;
	char *path, *out;
	int nerr;

	(void)state;
	config_defaults(&cfg);
	assert_true(cfg.limits.auth_rate == 20);
	assert_int_equal(cfg.limits.auth_burst, 100);
	assert_int_equal(cfg.limits.max_init_data, 65536);
	assert_int_equal(cfg.limits.max_connections, 4096);
	assert_int_equal(config_limits_check(&cfg, &err), 0);
	config_free(&cfg);

	path = write_conf("limits.toml", "[http_server]\n"
	    "insecure_http = true\n"
	    "[admin]\nmode = 'deny_all'\n"
	    "[limits]\n"
	    "auth_rate = 0.5\n"
	    "auth_burst = 3\n"
	    "attest_rate = 0\n"
	    "max_sessions = 1000\n"
	    "max_unattested_per_source = 0\n"
	    "max_connections_per_source = 7\n"
	    "handshake_timeout = 3\n"
	    "inflight_memory_mib = 16\n");
	config_defaults(&cfg);
	out = load_capture(path, &cfg, &nerr);
	assert_string_equal(out, "");
	assert_int_equal(nerr, 0);
	assert_true(cfg.limits.auth_rate == 0.5);
	assert_int_equal(cfg.limits.auth_burst, 3);
	assert_true(cfg.limits.attest_rate == 0);
	assert_int_equal(cfg.limits.max_sessions, 1000);
	assert_int_equal(cfg.limits.max_unattested_per_source, 0);
	assert_int_equal(cfg.limits.max_connections_per_source, 7);
	assert_int_equal(cfg.limits.handshake_timeout_s, 3);
	assert_int_equal(cfg.limits.inflight_memory_mib, 16);
	free(out);
	unlink(path);
	free(path);

	/* --limit: same checks, then the rules between keys. */
	assert_int_equal(config_limit_set(&cfg, "login_rate=0.25", &err), 0);
	assert_true(cfg.limits.login_rate == 0.25);
	assert_int_equal(config_limit_set(&cfg, "max_sessions=20", &err), 0);
	assert_int_equal(cfg.limits.max_sessions, 20);
	assert_int_equal(config_limit_set(&cfg, "max_sessions=9", &err), -1);
	assert_non_null(strstr(err.msg, "out of range"));
	assert_int_equal(config_limit_set(&cfg, "nonsense=1", &err), -1);
	assert_string_equal(err.msg, "--limit: unknown limit 'nonsense' (see "
	    "the [limits] section of trusteed.toml)");
	assert_int_equal(config_limit_set(&cfg, "auth_rate", &err), -1);
	assert_int_equal(config_limit_set(&cfg, "auth_rate=fast", &err), -1);
	assert_int_equal(config_limit_set(&cfg, "auth_burst=1.5", &err), -1);
	assert_int_equal(config_limit_set(&cfg, "inflight_memory_mib=1", &err),
	    0);
	assert_int_equal(config_limits_check(&cfg, &err), -1);
	assert_non_null(strstr(err.msg, "limits.inflight_memory_mib (1 MiB) "
	    "must hold one request"));
	config_free(&cfg);

	expect_report("limits_bad.toml", "[http_server]\n"
	    "insecure_http = true\n"
	    "[admin]\nmode = 'deny_all'\n"
	    "[limits]\n"
	    "auth_rate = -1\n"
	    "attest_burst = 0\n"
	    "max_token = 1048576\n"
	    "session_memory_mib = \"8\"\n"
	    "max_init_data = 2097152\n"
	    "bogus = 1\n", 5,
	    "%F:6: limits.auth_rate: -1 is out of range 0..1000000 (requests "
	    "per second; 0 = no limit)\n"
	    "%F:6: limits.max_init_data (2097152) cannot exceed "
	    "limits.max_evidence_body (1048576), which carries it\n"
	    "%F:7: limits.attest_burst: 0 is out of range 1..1000000\n"
	    "%F:9: limits.session_memory_mib: expected an integer, got a "
	    "string\n"
	    "%F:11: unknown key 'bogus' in [limits]\n", &cfg);
	config_free(&cfg);
}

static void
test_example_config(void **state)
{
	struct config cfg;
	char *out;
	int nerr;

	(void)state;
	if (access("etc/trusteed.toml", R_OK) != 0)
		skip();
	config_defaults(&cfg);
	out = load_capture("etc/trusteed.toml", &cfg, &nerr);
	assert_string_equal(out, "");
	assert_int_equal(nerr, 0);
	assert_string_equal(cfg.listen[0], "0.0.0.0:8080");
	assert_string_equal(cfg.tls_cert, "/etc/trustee/tls/cert.pem");
	assert_string_equal(cfg.tls_key, "/etc/trustee/tls/key.pem");
	assert_string_equal(cfg.admin_keys[0], "/etc/trustee/admin/public.pem");
	assert_int_equal(cfg.resource_policy, RPOLICY_DEFAULT);
	free(out);
	config_free(&cfg);
}

/* [store] and [sealer]: values, relative paths, and the rules that span
 * keys. */
static void
test_store_sealer(void **state)
{
	static const char good[] =
	    "[http_server]\ninsecure_http = true\n"
	    "[admin]\nmode = 'insecure_allow_all'\n"
	    "[store]\n"
	    "dsn = 'sqlite:db/t.db'\n"
	    "timeout = 2.5\n"
	    "poll_interval = 1\n"
	    "stateless_auth = false\n"
	    "[sealer]\n"
	    "kind = 'tpm2'\n"
	    "tcti = 'swtpm:host=127.0.0.1,port=2321'\n"
	    "pcrs = 'sha256:0,7'\n";
	struct config cfg;
	struct seal_config sc;
	struct store_options so;
	char *path, *out, want[512];
	int nerr;

	(void)state;
	path = write_conf("store.toml", good);
	config_defaults(&cfg);
	assert_int_equal(cfg.store_stateless_auth, 1);
	out = load_capture(path, &cfg, &nerr);
	assert_string_equal(out, "");
	assert_int_equal(nerr, 0);
	snprintf(want, sizeof(want), "sqlite:%s/db/t.db", tmpdir);
	assert_string_equal(cfg.store_dsn, want);
	assert_int_equal(cfg.store_timeout_ms, 2500);
	assert_int_equal(cfg.store_poll_ms, 1000);
	assert_int_equal(cfg.store_stateless_auth, 0);
	assert_string_equal(cfg.sealer, "tpm2");
	assert_int_equal(config_line(&cfg, "sealer", "pcrs"), 13);
	assert_int_equal(config_line(&cfg, "store", "nothing"), 0);
	config_store_options(&cfg, &sc, &so);
	assert_string_equal(sc.kind, "tpm2");
	assert_string_equal(sc.tpm2_tcti, "swtpm:host=127.0.0.1,port=2321");
	assert_string_equal(sc.tpm2_pcrs, "sha256:0,7");
	assert_int_equal(sc.passphrase_fd, -1);
	assert_ptr_equal(so.seal, &sc);
	assert_int_equal(so.timeout_ms, 2500);
	assert_int_equal(so.exclusive, 1);
	config_free(&cfg);
	free(out);
	unlink(path);
	free(path);

	expect_report("store-errs.toml",
	    "[http_server]\ninsecure_http = true\n"	/* 1, 2 */
	    "[admin]\nmode = 'insecure_allow_all'\n"	/* 3, 4 */
	    "[storage]\n"				/* 5 */
	    "path = '/db/x.db'\n"			/* 6 */
	    "[store]\n"					/* 7 */
	    "dsn = 'mariadb://u:pw@h/d'\n"		/* 8 */
	    "timeout = 0.01\n"				/* 9 */
	    "poll_interval = 'fast'\n"			/* 10 */
	    "[sealer]\n"				/* 11 */
	    "kind = 'passphrase'\n"			/* 12 */
	    "key_file = 'k'\n"				/* 13 */
	    "bogus = 1\n",				/* 14 */
	    7,
	    "%F:6: storage.path and store.dsn both name the database; use "
	    "store.dsn\n"
	    "%F:8: store.dsn: DSN mariadb://u:***@h/d: a password does not "
	    "belong in the DSN; put it in [store] password_file (mode 0600) "
	    "or the systemd credential trustee-db-password\n"
	    "%F:9: store.timeout: 0.01 seconds is out of range 0.1..300\n"
	    "%F:10: store.poll_interval: expected a number of seconds, got a "
	    "string\n"
	    "%F:12: sealer.kind \"passphrase\" needs exactly one of "
	    "passphrase_file, passphrase_fd and passphrase_credential\n"
	    "%F:13: sealer.key_file is used only with kind = \"file\" (kind "
	    "is \"passphrase\")\n"
	    "%F:14: unknown key 'bogus' in [sealer]\n",
	    &cfg);
	config_free(&cfg);
	expect_report("store-errs2.toml",
	    "[http_server]\ninsecure_http = true\n"	/* 1, 2 */
	    "[admin]\nmode = 'insecure_allow_all'\n"	/* 3, 4 */
	    "[storage]\n"				/* 5 */
	    "path = '/db/x.db'\n"			/* 6 */
	    "sealer = 'file'\n"				/* 7 */
	    "[store]\n"					/* 8 */
	    "dsn = 'sqlite:/db/y.db'\n"			/* 9 */
	    "[sealer]\n"				/* 10 */
	    "kind = 'tdx'\n",				/* 11 */
	    3,
	    "%F:6: storage.path and store.dsn both name the database; use "
	    "store.dsn\n"
	    "%F:7: storage.sealer and sealer.kind are the same setting; use "
	    "sealer.kind\n"
	    "%F:11: sealer.kind: \"tdx\": TDX offers no sealing key; use "
	    "\"tpm2\" (the TD's vTPM) or \"passphrase\"\n",
	    &cfg);
	config_free(&cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_default_workers),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_insecure),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_syntax_and_io_errors),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_example_config),
		cmocka_unit_test(test_store_sealer),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
