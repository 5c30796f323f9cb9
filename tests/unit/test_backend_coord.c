/*
 * test_backend_coord.c: the storage backend contract (store/backend.h)
 * for coordination between instances: table generations, the registry of
 * lease holders, named locks.
 * Runs on SQLite, and on MariaDB under
 * tests/integration/test_mariadb_backend.py (befix.h: the environment).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <unistd.h>

#include "befix.h"

static void
test_generations(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };
	uint64_t g = 99;

	assert_int_equal(f->be->gen_get(f->h, "policies", &g, &err), STORE_OK);
	assert_int_equal(g, 0);
	assert_int_equal(f->be->gen_bump(f->h, "policies", &err), STORE_OK);
	assert_int_equal(f->be->gen_bump(f->h, "policies", &err), STORE_OK);
	assert_int_equal(f->be->gen_get(f->h, "policies", &g, &err), STORE_OK);
	assert_int_equal(g, 2);
	assert_int_equal(f->be->gen_get(f->h, "rv", &g, &err), STORE_OK);
	assert_int_equal(g, 0);
}

/*
 * The registry of lease holders (store/lease.c): a note counts for the
 * others, not for its holder; a note older than the window asked for
 * does not count; a drop forgets it; a beat with ms > 0 also forgets
 * every note older than ms. Generations are not holders.
 */
static void
test_holders(void **state)
{
	struct fixture *f = *state;
	struct error err = { "" };

	assert_non_null(f->be->holder);
	assert_int_equal(befix_holders(f, f->h, "lease:a", 30000), 0);
	befix_holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:a", 0);
	befix_holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:a", 0);
	assert_int_equal(f->be->gen_bump(f->h, "resource_data", &err), 0);
	assert_int_equal(befix_holders(f, f->h, "lease:a", 30000), 0);
	assert_int_equal(befix_holders(f, f->h, "lease:b", 30000), 1);
	befix_holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:b", 0);
	assert_int_equal(befix_holders(f, f->h, "lease:a", 30000), 1);
	assert_int_equal(befix_holders(f, f->h, "lease:c", 30000), 2);
	usleep(300000);
	assert_int_equal(befix_holders(f, f->h, "lease:c", 100), 0);
	befix_holder_do(f, f->h, STORE_HOLDER_BEAT, "lease:c", 100);
	assert_int_equal(befix_holders(f, f->h, "lease:z", 30000), 1);
	befix_holder_do(f, f->h, STORE_HOLDER_DROP, "lease:c", 0);
	assert_int_equal(befix_holders(f, f->h, "lease:z", 30000), 0);
}

struct lock_arg {
	struct fixture *f;
	int rc;
};

static void *
lock_thread(void *p)
{
	struct lock_arg *a = p;
	struct error err = { "" };

	a->rc = a->f->be->lock(a->f->h, "rotate", 100, &err);
	if (a->rc == STORE_OK)
		a->f->be->unlock(a->f->h, "rotate");
	return NULL;
}

/* A held named lock is busy for everyone else until released. */
static void
test_lock(void **state)
{
	struct fixture *f = *state;
	struct lock_arg a = { f, -9 };
	struct error err = { "" };
	pthread_t t;

	assert_int_equal(f->be->lock(f->h, "rotate", 1000, &err), STORE_OK);
	pthread_create(&t, NULL, lock_thread, &a);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, STORE_ABSENT);
	f->be->unlock(f->h, "rotate");
	pthread_create(&t, NULL, lock_thread, &a);
	pthread_join(t, NULL);
	assert_int_equal(a.rc, STORE_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generations, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_holders, befix_setup,
		    befix_teardown),
		cmocka_unit_test_setup_teardown(test_lock, befix_setup,
		    befix_teardown),
	};

	return befix_main("test_backend_coord", BEFIX_SQLITE | BEFIX_MARIADB,
	    tests, sizeof(tests) / sizeof(tests[0]));
}
