/*
 * test_join.c: adding an instance to a deployment (join.c): instance A
 * owns the database; B (another state directory, its own file-sealer key)
 * makes a join request, A exports the master key to it, B joins and then
 * opens the store with its own sealer. A is closed before B opens the
 * SQLite file, as two daemons would have to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../store/store_internal.h"
#include "testutil.h"

struct side {
	char *dir;
	char keyfile[256];
	struct seal_config seal;
	struct store_options o;
};

struct fixture {
	struct side a, b;
	char db[256];
	char dsn[300];
	char req[256], join[256];
};

static void
side_init(struct side *s, const char *name, const char *dsn)
{
	s->dir = testutil_tmpdir(name);
	snprintf(s->keyfile, sizeof(s->keyfile), "%s/data.key", s->dir);
	s->seal.kind = "file";
	s->seal.key_file = s->keyfile;
	s->seal.create = 1;
	s->seal.passphrase_fd = -1;
	s->o.state_dir = s->dir;
	s->o.dsn = dsn;
	s->o.seal = &s->seal;
	s->o.create = 1;
	s->o.exclusive = 1;
	s->o.timeout_ms = 500;
	s->o.poll_ms = 50;
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	side_init(&f->a, "test_join_a", NULL);
	snprintf(f->db, sizeof(f->db), "%s/trustee.db", f->a.dir);
	snprintf(f->dsn, sizeof(f->dsn), "sqlite:%s", f->db);
	side_init(&f->b, "test_join_b", f->dsn);
	f->b.o.create = 0;
	snprintf(f->req, sizeof(f->req), "%s/request.json", f->b.dir);
	snprintf(f->join, sizeof(f->join), "%s/join.json", f->b.dir);
	*state = f;
	return 0;
}

static void
side_free(struct side *s)
{
	char *cmd = xasprintf("rm -rf '%s'", s->dir);

	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	free(cmd);
	free(s->dir);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	side_free(&f->a);
	side_free(&f->b);
	free(f);
	return 0;
}

static struct store *
open_ok(struct side *s)
{
	struct error err = { "" };
	struct store *st = store_open(&s->o, &err);

	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

static char *
read_text(const char *path, size_t *len)
{
	struct error err = { "" };
	uint8_t *t;

	if (file_read_all(path, 1 << 16, &t, len, &err) != 0)
		fail_msg("%s", err.msg);
	return (char *)t;
}

/* A exports for B's request; the join file is written for B. */
static void
export_for_b(struct fixture *f)
{
	struct error err = { "" };
	struct store *st = open_ok(&f->a);
	char *req, *out = NULL;
	size_t len;

	req = read_text(f->req, &len);
	if (store_join_export(st, (uint8_t *)req, len, &out, &err) != 0)
		fail_msg("export: %s", err.msg);
	free(req);
	store_close(st);
	assert_int_equal(file_write_atomic(f->join, out, strlen(out), 0600,
	    &err), 0);
	/* No key material in clear in the join file. */
	assert_null(strstr(out, "TJOIN"));
	free(out);
}

static void
test_join(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store_key_status ks;
	struct store *st;
	struct stat sb;
	char *kpath, *text;
	uint8_t *val;
	size_t len;
	json_t *j;

	st = open_ok(&f->a);
	assert_int_equal(store_put(st, "resource", "a/b/c", "shared", 6,
	    &err), 0);
	store_close(st);

	/* B cannot open it before joining. */
	assert_null(store_open(&f->b.o, &err));
	assert_non_null(strstr(err.msg, "already holds a deployment"));

	assert_int_equal(store_join_request(&f->b.o, f->req, &err), 0);
	kpath = xasprintf("%s/join.key", f->b.dir);
	assert_int_equal(stat(kpath, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	text = read_text(f->req, &len);
	j = testutil_json(text);
	assert_string_equal(json_string_value(json_object_get(j, "type")),
	    "trustee-join-request");
	assert_int_equal(json_string_length(json_object_get(j, "instance")),
	    32);
	json_decref(j);
	free(text);

	export_for_b(f);
	/* Joining B needs A's database (A is stopped here). */
	if (store_join(&f->b.o, f->join, &err) != 0)
		fail_msg("join: %s", err.msg);
	assert_int_equal(access(kpath, F_OK), -1);	/* used up */
	free(kpath);

	st = open_ok(&f->b);
	assert_int_equal(store_get(st, "resource", "a/b/c", &val, &len, &err),
	    0);
	assert_int_equal(len, 6);
	assert_memory_equal(val, "shared", 6);
	secret_free(val, len);
	assert_int_equal(store_key_status(st, &ks, &err), 0);
	assert_int_equal(ks.ninstances, 2);
	store_close(st);
	/* And A still opens it with its own sealer. */
	st = open_ok(&f->a);
	store_close(st);
}

static void
test_join_refusals(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	struct store *st;
	char *text, *p;
	size_t len;
	int before;

	/* No request yet: no instance id, no join key. */
	assert_int_equal(store_join(&f->b.o, f->join, &err), -1);
	assert_non_null(strstr(err.msg, "--join-request"));

	st = open_ok(&f->a);
	store_close(st);
	assert_int_equal(store_join_request(&f->b.o, f->req, &err), 0);
	export_for_b(f);

	/* A flipped character of the sealed key: refused. */
	text = read_text(f->join, &len);
	p = strstr(text, "\"sealed_key\"");
	assert_non_null(p);
	p = strchr(p + 14, '"') + 5;
	*p = *p == 'A' ? 'B' : 'A';
	unlink(f->join);
	assert_int_equal(file_write_atomic(f->join, text, len, 0600, &err), 0);
	assert_int_equal(store_join(&f->b.o, f->join, &err), -1);
	assert_non_null(strstr(err.msg, "does not open with its key"));
	free(text);

	/* A join file for another instance. */
	export_for_b(f);
	text = read_text(f->join, &len);
	p = strstr(text, "\"instance\"");
	p = strchr(p + 10, '"') + 1;
	*p = *p == '0' ? '1' : '0';
	unlink(f->join);
	assert_int_equal(file_write_atomic(f->join, text, len, 0600, &err), 0);
	assert_int_equal(store_join(&f->b.o, f->join, &err), -1);
	assert_non_null(strstr(err.msg, "made for another instance"));
	free(text);

	/* A valid join file, but B points at another deployment's
	 * database: the key check refuses it and nothing is written. */
	export_for_b(f);
	{
		char other[300], odsn[320];

		snprintf(other, sizeof(other), "%s/other.db", f->b.dir);
		snprintf(odsn, sizeof(odsn), "sqlite:%s", other);
		f->a.o.dsn = odsn;
		st = open_ok(&f->a);	/* a new deployment there */
		store_close(st);
		f->a.o.dsn = NULL;
		f->b.o.dsn = odsn;
		before = 0;
		assert_int_equal(store_join(&f->b.o, f->join, &err), -1);
		assert_non_null(strstr(err.msg, "does not open"));
		f->b.o.dsn = f->dsn;
		(void)before;
	}
	/* The right database: fine. */
	assert_int_equal(store_join(&f->b.o, f->join, &err), 0);
}

/* The parsers take untrusted bytes. */
static void
test_join_parsers(void **state)
{
	static const char *const bad_req[] = {
		"",
		"[]",
		"{}",
		"{\"type\":\"trustee-join-request\",\"version\":1}",
		"{\"type\":\"trustee-join-request\",\"version\":2,\"instance\":"
		    "\"00112233445566778899aabbccddeeff\",\"public_key\":"
		    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"sealer\":"
		    "\"x\"}",
		"{\"type\":\"trustee-join-request\",\"version\":1,\"instance\":"
		    "\"0011\",\"public_key\":"
		    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"sealer\":"
		    "\"x\"}",
		"{\"type\":\"trustee-join-request\",\"version\":1,\"instance\":"
		    "\"00112233445566778899aabbccddeeff\",\"public_key\":"
		    "\"AAAA\",\"sealer\":\"x\"}",
		"{\"type\":\"trustee-join-request\",\"version\":1,\"instance\":"
		    "\"00112233445566778899aabbccddeeff\",\"public_key\":"
		    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"sealer\":"
		    "\"x\",\"extra\":1}",
	};
	static const char good[] = "{\"type\":\"trustee-join-request\","
	    "\"version\":1,\"instance\":\"00112233445566778899aabbccddeeff\","
	    "\"public_key\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	    "\"sealer\":\"tpm2 (\\u0001)\"}";
	struct join_request req;
	struct join_file jf;
	struct error err = { "" };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_req); i++) {
		if (join_parse_request((const uint8_t *)bad_req[i],
		    strlen(bad_req[i]), &req, &err) == 0)
			fail_msg("accepted: %s", bad_req[i]);
		assert_non_null(strstr(err.msg, "join request"));
	}
	assert_int_equal(join_parse_request((const uint8_t *)good,
	    strlen(good), &req, &err), 0);
	assert_string_equal(req.sealer, "tpm2 (?)");
	assert_int_equal(req.instance[15], 0xff);
	assert_int_equal(join_parse_file((const uint8_t *)good, strlen(good),
	    &jf, &err), -1);
	assert_non_null(strstr(err.msg, "join file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_join, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join_refusals, setup,
		    teardown),
		cmocka_unit_test(test_join_parsers),
	};

	log_init("test_join", LOG_LVL_ERROR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
