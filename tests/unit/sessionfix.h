/*
 * sessionfix.h: the fixture of the shared-session unit tests
 * (test_session*.c): an SQLite store file standing in for MariaDB (the
 * store API is the same) with sessions shared in it, stored or stateless
 * challenges; client addresses; row checks. Header-only; include after
 * testutil.h.
 */
#ifndef TRUSTEE_SESSIONFIX_H
#define TRUSTEE_SESSIONFIX_H

struct fixture {
	char dir[64];
	char db[128];
	uint8_t key[32];
	struct store *st;
	int stateless;
};

static inline void
quota(size_t max_sessions, size_t per_source)
{
	struct session_quota_config q = { .max_sessions = max_sessions,
	    .max_unattested_per_source = per_source };

	session_quota_init(&q);
}

/* Sessions of the given lifetime shared in a new store, with stored
 * (stateless 0) or stateless challenges. */
static inline int
sessionfix_setup(void **state, int lifetime, int stateless)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct error err = { "" };

	testutil_tmpdb("test_session", f->dir, sizeof(f->dir), f->db,
	    sizeof(f->db));
	randombytes_buf(f->key, sizeof(f->key));
	f->st = store_open_key(&store_backend_sqlite, f->db, f->key, &err);
	if (f->st == NULL)
		fail_msg("store_open_key: %s", err.msg);
	f->stateless = stateless;
	quota(0, 0);
	session_init(lifetime);
	session_share(f->st, 1000, 1 << 20, stateless);
	*state = f;
	return 0;
}

/* Start sessions over with an empty cache: what another instance on the
 * same store sees. */
static inline void
sessionfix_other_instance(struct fixture *f)
{
	session_shutdown();
	session_share(f->st, 1000, 1 << 20, f->stateless);
}

static inline int
sessionfix_teardown(void **state)
{
	struct fixture *f = *state;

	session_shutdown();
	session_quota_shutdown();
	store_close(f->st);
	testutil_db_unlink(f->db);
	rmdir(f->dir);
	free(f);
	return 0;
}

static inline struct source_addr
src_n(uint8_t n)
{
	struct source_addr s;

	memset(&s, 0, sizeof(s));
	s.b[10] = 0xff;
	s.b[11] = 0xff;
	s.b[12] = 192;
	s.b[15] = n;
	return s;
}

static inline int
row_exists(struct store *st, const char *table, const char *id)
{
	struct error err = { "" };
	uint8_t *val = NULL;
	size_t len = 0;
	int rc = store_get(st, table, id, &val, &len, &err);

	secret_free(val, len);
	assert_true(rc == 0 || rc == 1);
	return rc == 0;
}

struct sessionfix_racer {
	const struct session *s;
	pthread_barrier_t *go;
	int attest;
	int rc;
};

static inline void *
sessionfix_racer_run(void *arg)
{
	struct sessionfix_racer *r = arg;
	struct error err;
	struct session t;

	pthread_barrier_wait(r->go);
	r->rc = session_take_nonce(r->s->id, r->s->nonce, &t, &err);
	if (r->rc == 0) {
		if (r->attest)
			r->rc = session_set_attested_copy(&t, "raced");
		session_clear(&t);
	}
	return NULL;
}

/* n (at most 16) threads take s's nonce at once, and with attest then
 * attest it (token "raced"); rc[i] is thread i's outcome. */
static inline void
sessionfix_race(const struct session *s, int attest, int n, int rc[])
{
	struct sessionfix_racer r[16];
	pthread_t tid[16];
	pthread_barrier_t go;
	int i;

	assert_true(n > 0 && n <= 16);
	pthread_barrier_init(&go, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		r[i].s = s;
		r[i].go = &go;
		r[i].attest = attest;
		pthread_create(&tid[i], NULL, sessionfix_racer_run, &r[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(tid[i], NULL);
		rc[i] = r[i].rc;
	}
	pthread_barrier_destroy(&go);
}

/* session_known of an id without a row: known as far as this instance
 * can tell (a stateless challenge of another instance has no row either;
 * the nonce decides at session_take_nonce), its TEE unknown. */
static inline void
assert_rowless(const char *id)
{
	struct session g;

	assert_int_equal(session_known(id, &g), 0);
	assert_int_equal(g.state, SESSION_AUTHED);
	assert_string_equal(g.tee, "");
	session_clear(&g);
}

#endif
