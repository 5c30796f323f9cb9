/*
 * storefix.h: the fixture of the unit tests that open whole stores with
 * store_open (test_keyring, test_rotate): a scratch state directory, the
 * file sealer with a key file created there, and store_options for an
 * SQLite store in it. Header-only; include after testutil.h and
 * store/store_internal.h. Each test's setup calls storefix_setup with its
 * name and options; teardown is storefix_teardown.
 */
#ifndef TRUSTEE_STOREFIX_H
#define TRUSTEE_STOREFIX_H

struct fixture {
	char *dir;
	char db[256];
	char keyfile[256];
	struct seal_config seal;
	struct store_options o;
	struct store *st;
	struct store *st2;		/* a second handle, when a test opens one */
};

/* exclusive: hold the daemon lock (one handle per file); timeout_ms: the
 * store's busy timeout. */
static inline int
storefix_setup(void **state, const char *name, int exclusive, int timeout_ms)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->dir = testutil_tmpdir(name);
	snprintf(f->db, sizeof(f->db), "%s/trustee.db", f->dir);
	snprintf(f->keyfile, sizeof(f->keyfile), "%s/data.key", f->dir);
	f->seal.kind = "file";
	f->seal.key_file = f->keyfile;
	f->seal.create = 1;
	f->seal.passphrase_fd = -1;
	f->o.state_dir = f->dir;
	f->o.seal = &f->seal;
	f->o.create = 1;
	f->o.exclusive = exclusive;
	f->o.timeout_ms = timeout_ms;
	f->o.poll_ms = 50;
	*state = f;
	return 0;
}

static inline int
storefix_teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd;

	store_close(f->st);
	store_close(f->st2);
	cmd = xasprintf("rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fail_msg("%s failed", cmd);
	free(cmd);
	free(f->dir);
	free(f);
	return 0;
}

/* store_open of the fixture's options, failing the test on error. */
static inline struct store *
storefix_open(struct fixture *f)
{
	struct error err = { "" };
	struct store *st = store_open(&f->o, &err);

	if (st == NULL)
		fail_msg("store_open: %s", err.msg);
	return st;
}

#endif
