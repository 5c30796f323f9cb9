/*
 * test_backend_galera.c: the MariaDB backend (store/backend.h) on a
 * 3-node Galera cluster: writes on one node read on another,
 * compare-and-swap across nodes, a node killed and another stopped while
 * handles on the others keep working, a node's handle working again after
 * it rejoins, inserts from 16 threads on two nodes at once. Runs only when $TRUSTEE_TEST_MARIADB_GALERA names the
 * nodes (tests/integration/test_mariadb_backend.py sets it; befix.h: the
 * environment).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "befix.h"

/* Node 1 and node 2 of the cluster, one handle each, on one database. */
static int
setup_galera(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct error err = { "" };

	befix_mdb_fixture(f, &befix_mdb_nodes[0], NULL);
	if (f->be->open(&f->dsn, &f->h, &err) != 0)
		fail_msg("open on node 1: %s", err.msg);
	*state = f;
	return 0;
}

static void *
galera_open(struct fixture *f, int node)
{
	struct fixture g;
	struct error err = { "" };
	void *h = NULL;

	memset(&g, 0, sizeof(g));
	befix_mdb_fixture(&g, &befix_mdb_nodes[node], f->db);
	if (f->be->open(&g.dsn, &h, &err) != 0)
		fail_msg("open on node %d: %s", node + 1, err.msg);
	return h;
}

static uint64_t
galera_read(struct fixture *f, void *h, unsigned n, const char *want)
{
	struct error err = { "" };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	uint64_t rev;

	befix_id(id, n);
	if (f->be->get(h, "t", id, &r, &err) != STORE_OK)
		fail_msg("get %u: %s", n, err.msg);
	assert_int_equal(r.len, strlen(want));
	assert_memory_equal(r.blob, want, r.len);
	rev = r.rev;
	free((void *)r.blob);
	return rev;
}

static int
galera_put(struct fixture *f, void *h, unsigned n, const char *blob,
    uint64_t expect)
{
	struct store_row r = { .kv = 1, .blob = (const uint8_t *)blob,
	    .len = strlen(blob) };
	struct error err = { "" };
	int rc;

	befix_id(r.id, n);
	rc = f->be->put(h, "t", &r, expect, NULL, &err);
	if (rc < 0)
		print_error("put on %p: %s\n", h, err.msg);
	return rc;
}

/*
 * Writes on one node are read on another; compare-and-swap from two
 * nodes at once has one winner; a node killed (kill -9) and another
 * stopped: the handles on the surviving nodes keep working, the handle
 * on a stopped node answers STORE_UNAVAILABLE and works again, without
 * reopening, once its node has rejoined (and sees what it missed).
 */
static void
test_galera_nodes(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	void *h2 = galera_open(f, 1), *hs[2] = { f->h, h2 };
	struct store_row r;
	uint8_t id[STORE_ID_LEN];
	uint64_t rev, g = 0;
	unsigned i;
	int rc;

	assert_int_equal(galera_put(f, f->h, 1, "one", STORE_REV_ANY), 0);
	rev = galera_read(f, h2, 1, "one");
	assert_int_equal(rev, 1);
	for (i = 0; i < 5; i++)
		assert_int_equal(befix_race(f, 0, rev + i, hs, 2, 8), 1);
	rev = galera_read(f, f->h, 1, "w");
	assert_int_equal(rev, 6);
	assert_int_equal(befix_race(f, 2, 0, hs, 2, 8), 1);
	assert_int_equal(befix_race(f, 3, 0, hs, 2, 8), 8);
	assert_int_equal(f->be->gen_get(h2, "g", &g, &err), STORE_OK);
	assert_int_equal(g, 80);
	/* A lease holder noted on node 1 is counted on node 2 at once, and
	 * its drop there is seen on node 1 (causal reads). */
	befix_holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:n1", 0);
	assert_int_equal(befix_holders(f, h2, "lease:n2", 30000), 1);
	befix_holder_do(f, h2, STORE_HOLDER_DROP, "lease:n1", 0);
	assert_int_equal(befix_holders(f, f->h, "lease:n2", 30000), 0);

	/* kill -9 of node 3: until the others declare it dead (Galera's
	 * evs.suspect_timeout), commits wait, and a call answers in time,
	 * done or unavailable; then nodes 1 and 2 keep the quorum. */
	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "kill 3");
	rc = galera_put(f, f->h, 9, "x", STORE_REV_ANY);
	assert_true(rc == STORE_OK || rc == STORE_UNAVAILABLE);
	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "wait 1");
	for (i = 10; i < 30; i++) {
		assert_int_equal(galera_put(f, hs[i % 2], i, "during",
		    STORE_REV_ABSENT), 0);
		galera_read(f, hs[(i + 1) % 2], i, "during");
	}
	assert_int_equal(galera_put(f, h2, 1, "cas", rev), 0);
	assert_int_equal(galera_put(f, f->h, 1, "stale", rev), STORE_ABSENT);
	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "start 3");

	/* Node 2 stops cleanly: its handle is unavailable, node 1's works. */
	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "stop 2");
	befix_id(id, 1);
	assert_int_equal(f->be->get(h2, "t", id, &r, &err), STORE_UNAVAILABLE);
	assert_non_null(strstr(err.msg, "mariadb: "));
	for (i = 30; i < 40; i++)
		assert_int_equal(galera_put(f, f->h, i, "alone",
		    STORE_REV_ANY), 0);
	assert_int_equal(f->be->del(f->h, "t", id, STORE_REV_ANY, &err),
	    STORE_OK);
	befix_mdb_ctl("TRUSTEE_TEST_MARIADB_GALERA_CTL", "start 2");
	/* The same handle, reconnected, sees what node 2 missed. */
	for (i = 30; i < 40; i++)
		galera_read(f, h2, i, "alone");
	assert_int_equal(f->be->get(h2, "t", id, &r, &err), STORE_ABSENT);
	/* A third handle on the rejoined node 3 sees everything. */
	{
		void *h3 = galera_open(f, 2);

		for (i = 10; i < 40; i++)
			galera_read(f, h3, i, i < 30 ? "during" : "alone");
		f->be->close(h3);
	}
	f->be->close(h2);
}

/* Inserts-if-absent from 16 threads on two nodes at once: the ones a
 * node's handle sends together (store/mariadb_group.c) may collide with
 * the other node's in certification; each caller still gets its own
 * insert's outcome (befix_insert_group). */
static void
test_galera_insert_group(void **state)
{
	struct fixture *f = *state;
	void *h2 = galera_open(f, 1), *hs[2] = { f->h, h2 };

	befix_insert_group(f, hs, 2);
	f->be->close(h2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_galera_nodes,
		    setup_galera, befix_teardown),
		cmocka_unit_test_setup_teardown(test_galera_insert_group,
		    setup_galera, befix_teardown),
	};

	return befix_main("test_backend_galera", BEFIX_GALERA,
	    tests, sizeof(tests) / sizeof(tests[0]));
}
