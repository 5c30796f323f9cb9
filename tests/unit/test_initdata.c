/*
 * test_initdata.c: init-data digests (checked against an independent
 * EVP_Digest), claims derivation and error messages.
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

#include "../../lib/initdata.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

/* The example document with its algorithm line filled in. */
static char *
example(const char *alg)
{
	static const char fmt[] =
	    "version = \"0.1.0\"\n"
	    "algorithm = \"%s\"\n"
	    "[data]\n"
	    "\"aa.toml\" = '''\n"
	    "[token_configs]\n"
	    "[token_configs.kbs]\n"
	    "url = \"http://1.2.3.4:8080\"\n"
	    "'''\n"
	    "\"cdh.toml\" = '''\n"
	    "socket = 'unix:///run/confidential-containers/cdh.sock'\n"
	    "[kbc]\n"
	    "name = 'cc_kbc'\n"
	    "url = 'http://1.2.3.4:8080'\n"
	    "'''\n"
	    "\"policy.rego\" = '''\n"
	    "package agent_policy\n"
	    "policy_data := {\n"
	    "  \"containers\": [{\"OCI\": {\"Annotations\": "
	    "{\"io.kubernetes.cri.image-name\": \"nginx\"}}}]\n"
	    "}\n"
	    "'''\n";

	return xasprintf(fmt, alg);
}

/* Walk a '/'-separated path of object keys and array indices. */
static json_t *
jpath(json_t *v, const char *path)
{
	char *copy = xstrdup(path), *save = NULL, *tok;

	for (tok = strtok_r(copy, "/", &save); tok != NULL && v != NULL;
	    tok = strtok_r(NULL, "/", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10))
		    : json_object_get(v, tok);
	free(copy);
	return v;
}

static void
check_digest(const char *alg, const char *ossl_name, size_t size)
{
	struct initdata id;
	struct error err;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *body = example(alg);

	assert_int_equal(EVP_Digest(body, strlen(body), md, &mdlen,
	    EVP_get_digestbyname(ossl_name), NULL), 1);
	assert_int_equal(mdlen, size);
	if (initdata_parse(body, strlen(body), &id, &err) != 0)
		fail_msg("%s", err.msg);
	assert_string_equal(hash_alg_name(id.alg), alg);
	assert_int_equal(id.digest_len, size);
	assert_memory_equal(id.digest, md, size);
	initdata_clear(&id);
	free(body);
}

static void
test_digests(void **state)
{
	(void)state;
	check_digest("sha256", "SHA256", 32);
	check_digest("sha384", "SHA384", 48);
	check_digest("sha512", "SHA512", 64);
}

/* Known answer: the digest is over the raw bytes, so formatting counts. */
static void
test_digest_exact_bytes(void **state)
{
	static const char body[] =
	    "version = \"0.1.0\"\nalgorithm = \"sha256\"\n[data]\n";
	static const char body2[] =
	    "version = \"0.1.0\"\r\nalgorithm = \"sha256\"\r\n[data]\r\n";
	struct initdata a, b;
	struct error err;
	char hex[2 * HASH_MAX_SIZE + 1], *s;

	(void)state;
	assert_int_equal(initdata_parse(body, strlen(body), &a, &err), 0);
	assert_int_equal(initdata_parse(body2, strlen(body2), &b, &err), 0);
	hex_encode(a.digest, a.digest_len, hex);
	/* sha256 of body, computed with sha256sum. */
	assert_string_equal(hex,
	    "af398df379eb475aff9f02cd056d0d1f5d496b7a073927cb3ea92407d8ad61a3");
	assert_memory_not_equal(a.digest, b.digest, 32);
	s = json_dumps(a.claims, DUMP_FLAGS);
	assert_string_equal(s, "{}");
	free(s);
	initdata_clear(&a);
	initdata_clear(&b);
}

static void
test_claims(void **state)
{
	struct initdata id;
	struct error err;
	char *body = example("sha384"), *s;
	json_t *c;

	(void)state;
	if (initdata_parse(body, strlen(body), &id, &err) != 0)
		fail_msg("%s", err.msg);
	c = id.claims;
	assert_string_equal(json_string_value(jpath(c,
	    "aa.toml/token_configs/kbs/url")), "http://1.2.3.4:8080");
	assert_null(json_object_get(c, "policy.rego"));
	assert_string_equal(json_string_value(jpath(c, "agent_policy_claims/"
	    "containers/0/OCI/Annotations/io.kubernetes.cri.image-name")),
	    "nginx");
	s = json_dumps(c, DUMP_FLAGS);
	assert_string_equal(s,
	    "{\"aa.toml\":{\"token_configs\":{\"kbs\":"
	    "{\"url\":\"http://1.2.3.4:8080\"}}},"
	    "\"agent_policy_claims\":{\"containers\":[{\"OCI\":{\"Annotations\":"
	    "{\"io.kubernetes.cri.image-name\":\"nginx\"}}}]},"
	    "\"cdh.toml\":{\"kbc\":{\"name\":\"cc_kbc\",\"url\":"
	    "\"http://1.2.3.4:8080\"},\"socket\":"
	    "\"unix:///run/confidential-containers/cdh.sock\"}}");
	free(s);
	initdata_clear(&id);
	initdata_clear(&id);	/* idempotent */
	free(body);
}

static void
check_claims(const char *data, const char *expect)
{
	struct initdata id;
	struct error err;
	char *body = xasprintf("version = \"0.1.0\"\nalgorithm = \"sha256\"\n"
	    "[data]\n%s", data), *s;

	if (initdata_parse(body, strlen(body), &id, &err) != 0)
		fail_msg("%s", err.msg);
	s = json_dumps(id.claims, DUMP_FLAGS);
	if (strcmp(s, expect) != 0)
		fail_msg("got      %s\nexpected %s", s, expect);
	free(s);
	initdata_clear(&id);
	free(body);
}

static void
test_claims_edge_cases(void **state)
{
	(void)state;
	/* Unparsable aa.toml stays a string; other keys pass through. */
	check_claims("\"aa.toml\" = 'not = = toml'\nother = 'x'\n",
	    "{\"aa.toml\":\"not = = toml\",\"other\":\"x\"}");
	/* Rego without policy_data stays. */
	check_claims("\"policy.rego\" = '''package p\ndefault x := true'''\n",
	    "{\"policy.rego\":\"package p\\ndefault x := true\"}");
	/* Trailing whitespace after the JSON is fine. */
	check_claims("\"policy.rego\" = \"\"\"p\npolicy_data := {\"a\": [1]}"
	    "\n\n \t\n\"\"\"\n",
	    "{\"agent_policy_claims\":{\"a\":[1]}}");
	/* Trailing rego after the JSON: left as is. */
	check_claims("\"policy.rego\" = '''policy_data := {\"a\": 1}\n"
	    "default allow := true'''\n",
	    "{\"policy.rego\":\"policy_data := {\\\"a\\\": 1}\\n"
	    "default allow := true\"}");
	/* Invalid JSON: left as is. */
	check_claims("\"policy.rego\" = 'policy_data := {a: 1}'\n",
	    "{\"policy.rego\":\"policy_data := {a: 1}\"}");
	/* Empty data map. */
	check_claims("", "{}");
}

static void
check_error(const char *body, const char *expect)
{
	struct initdata id;
	struct error err;

	memset(&id, 0xa5, sizeof(id));
	if (initdata_parse(body, strlen(body), &id, &err) == 0)
		fail_msg("accepted: %s", body);
	if (strstr(err.msg, expect) == NULL)
		fail_msg("got '%s', expected '...%s...'", err.msg, expect);
	assert_null(id.claims);
}

static void
test_errors(void **state)
{
	(void)state;
	check_error("version = \"0.1.0\"\nalgorithm = \"md5\"\n[data]\n",
	    "init-data: algorithm 'md5' is not one of sha256, sha384, "
	    "sha512, sm3");
	check_error("version = \"0.1.0\"\nalgorithm = \"sha-384\"\n[data]\n",
	    "init-data: algorithm 'sha-384' is not one of sha256, sha384, "
	    "sha512, sm3");
	check_error("version = \"0.1.0\"\nalgorithm = \"SHA384\"\n[data]\n",
	    "algorithm 'SHA384' is not one of");
	check_error("version = \"0.1.0\"\nalgorithm = 384\n[data]\n",
	    "init-data: 'algorithm' must be a string");
	check_error("version = \"0.1.0\"\n[data]\n",
	    "init-data: missing 'algorithm'");
	check_error("algorithm = \"sha384\"\n[data]\n",
	    "init-data: missing 'version'");
	check_error("version = 1\nalgorithm = \"sha384\"\n[data]\n",
	    "init-data: 'version' must be a string");
	check_error("version = \"0.1.0\"\nalgorithm = \"sha384\"\n",
	    "init-data: missing [data] table");
	check_error("version = \"0.1.0\"\nalgorithm = \"sha384\"\ndata = 'x'\n",
	    "init-data: 'data' must be a table");
	check_error("version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n"
	    "\"aa.toml\" = 1\n", "init-data: data.\"aa.toml\" must be a string");
	check_error("version = \"0.1.0\"\nalgorithm = \"sha384\"\n[data]\n"
	    "x = { y = 'z' }\n", "init-data: data.\"x\" must be a string");
	check_error("{\"version\": \"0.1.0\"}",
	    "init-data: not valid TOML: line 1: expected a key");
	check_error("version = \"0.1.0\"\nversion = \"0.1.0\"\n",
	    "init-data: not valid TOML: line 2: duplicate key 'version'");
	check_error("", "init-data: missing 'version'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_digest_exact_bytes),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_claims_edge_cases),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
