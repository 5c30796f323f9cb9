/*
 * storebench.c: what the store costs, in process (no HTTP):
 *   1. durable writes: store_put on SQLite as trusteed runs it (WAL,
 *      synchronous=FULL: every acknowledged write is fsynced), against raw
 *      SQLite inserts of the same size at synchronous=NORMAL and FULL on the
 *      same filesystem: the price of durability;
 *   2. resource listing with N resources (default 100,000): building the
 *      ordered name index at start, then a page of 1 and of 100 at the
 *      start, the middle and under a prefix (O(log n + page)), next to what
 *      one page cost before the index (a scan and sort of every index row);
 *   3. rotation: rows re-sealed per second by the rotation worker.
 * Phases 2 and 3 run on tmpfs (--fast-dir, default /dev/shm) so filling N
 * rows does not take an fsync each; phase 1 on the disk (--disk-dir,
 * default /var/tmp).
 *
 * Usage: storebench [--resources N] [--writes N] [--disk-dir D]
 *                   [--fast-dir D] [--json]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../../lib/log.h"
#include "../../server/resource.h"
#include "../../server/trusteed.h"

static uint64_t
bench_now(void)
{
	return now_mono_ns();
}

static int
bench_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* p50 and p99 of n samples (sorted in place), in µs. */
static void
bench_pct(uint64_t *ns, size_t n, double *p50, double *p99)
{
	qsort(ns, n, sizeof(*ns), bench_cmp);
	*p50 = (double)ns[n / 2] / 1000.0;
	*p99 = (double)ns[n * 99 / 100] / 1000.0;
}

static char *
bench_dir(const char *parent, const char *name)
{
	char *d = xasprintf("%s/%s.XXXXXX", parent, name);

	if (mkdtemp(d) == NULL)
		fatalx("mkdtemp %s failed", d);
	return d;
}

static void
bench_rm(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		log_warnx("%s failed", cmd);
	free(cmd);
}

static struct store *
bench_store(const char *dir, char **db)
{
	struct error err;
	uint8_t key[32];
	struct store *st;

	*db = xasprintf("%s/trustee.db", dir);
	randombytes_buf(key, sizeof(key));
	st = store_open_key(&store_backend_sqlite, *db, key, &err);
	sodium_memzero(key, sizeof(key));
	if (st == NULL)
		fatalx("store: %s", err.msg);
	return st;
}

/* ------------------------------------------------------ 1. durability */

struct durable {
	double store_ws, store_p50, store_p99;
	double raw_normal_ws, raw_full_ws;
};

static double
bench_raw(const char *dir, const char *sync, long n, const uint8_t *blob,
    size_t len)
{
	char *path = xasprintf("%s/raw-%s.db", dir, sync), *sql;
	sqlite3 *h;
	sqlite3_stmt *st;
	uint8_t id[32];
	uint64_t t0;
	long i;

	if (sqlite3_open(path, &h) != SQLITE_OK)
		fatalx("sqlite open %s", path);
	sql = xasprintf("PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; "
	    "CREATE TABLE rows(tbl TEXT, id BLOB, blob BLOB, PRIMARY "
	    "KEY(tbl, id)) WITHOUT ROWID;", sync);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fatalx("sqlite: %s", sqlite3_errmsg(h));
	free(sql);
	if (sqlite3_prepare_v2(h, "INSERT OR REPLACE INTO rows VALUES('t', ?1, "
	    "?2)", -1, &st, NULL) != SQLITE_OK)
		fatalx("sqlite: %s", sqlite3_errmsg(h));
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		randombytes_buf(id, sizeof(id));
		sqlite3_bind_blob(st, 1, id, sizeof(id), SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			fatalx("sqlite: %s", sqlite3_errmsg(h));
		sqlite3_reset(st);
	}
	t0 = bench_now() - t0;
	sqlite3_finalize(st);
	sqlite3_close(h);
	free(path);
	return (double)n / ((double)t0 / 1e9);
}

static void
bench_durable(const char *parent, long n, struct durable *d)
{
	char *dir = bench_dir(parent, "storebench"), *db, name[32];
	uint8_t val[200];
	uint64_t *ns = xcalloc((size_t)n, sizeof(*ns)), t0, t1;
	struct store *st = bench_store(dir, &db);
	struct error err;
	long i;

	randombytes_buf(val, sizeof(val));
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "r/k/%ld", i);
		t1 = bench_now();
		if (store_put(st, "resource_data", name, val, sizeof(val),
		    &err) != 0)
			fatalx("put: %s", err.msg);
		ns[i] = bench_now() - t1;
	}
	t0 = bench_now() - t0;
	d->store_ws = (double)n / ((double)t0 / 1e9);
	bench_pct(ns, (size_t)n, &d->store_p50, &d->store_p99);
	store_close(st);
	/* The same size on disk: header 29 + padded 256 + tag 16. */
	memset(val, 0, sizeof(val));
	{
		uint8_t blob[301];

		randombytes_buf(blob, sizeof(blob));
		d->raw_normal_ws = bench_raw(dir, "NORMAL", n, blob,
		    sizeof(blob));
		d->raw_full_ws = bench_raw(dir, "FULL", n, blob, sizeof(blob));
	}
	free(ns);
	free(db);
	bench_rm(dir);
	free(dir);
}

/* --------------------------------------------------------- 2. listing */

struct listing {
	long n;
	double fill_s;
	double index_ms;
	double first1_p50, first1_p99;
	double mid100_p50, mid100_p99;
	double prefix100_p50;
	double old_page_ms;
};

static int
bench_old_cb(const char *name, const uint8_t *val, size_t len, void *arg)
{
	json_t *idx = json_loadb((const char *)val, len, 0, NULL);

	json_object_set_new(arg, name, idx != NULL ? idx : json_null());
	return 0;
}

/* What one page cost before the index: every row read and sorted. */
static double
bench_old_page(struct store *st)
{
	struct error err;
	json_t *all = json_object();
	uint64_t t0 = bench_now();
	const char **names, *k;
	json_t *v;
	size_t n = 0;

	if (store_list(st, "resource_index", bench_old_cb, all, &err) != 0)
		fatalx("list: %s", err.msg);
	names = xcalloc(json_object_size(all) + 1, sizeof(*names));
	json_object_foreach(all, k, v)
		names[n++] = k;
	qsort(names, n, sizeof(*names), (int (*)(const void *,
	    const void *))strcmp);
	t0 = bench_now() - t0;
	free(names);
	json_decref(all);
	return (double)t0 / 1e6;
}

static void
bench_list_pages(struct store *st, const char *prefix, const char *after,
    size_t limit, int reps, double *p50, double *p99)
{
	uint64_t *ns = xcalloc((size_t)reps, sizeof(*ns)), t0;
	struct error err;
	json_t *items, *probs;
	int more, i;

	for (i = 0; i < reps; i++) {
		t0 = bench_now();
		if (resource_list(st, prefix, after, limit, &items, &more,
		    &probs, &err) != 0)
			fatalx("resource_list: %s", err.msg);
		ns[i] = bench_now() - t0;
		if (json_array_size(items) != limit)
			fatalx("resource_list gave %zu items, not %zu",
			    json_array_size(items), limit);
		json_decref(items);
		json_decref(probs);
	}
	bench_pct(ns, (size_t)reps, p50, p99);
	free(ns);
}

static void
bench_listing(struct store *st, long n, struct listing *l)
{
	struct error err;
	char name[64], mid[64];
	uint64_t t0;
	double p99;
	long i;

	l->n = n;
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "repo%ld/key/secret-%06ld",
		    i % 100, i);
		if (resource_put(st, name, "0123456789abcdef", 16, NULL,
		    "bench", NULL, NULL, &err) != 0)
			fatalx("resource_put: %s", err.msg);
	}
	l->fill_s = (double)(bench_now() - t0) / 1e9;
	resource_list_shutdown();
	t0 = bench_now();
	if (resource_list_init(st, &err) != 0)
		fatalx("resource_list_init: %s", err.msg);
	l->index_ms = (double)(bench_now() - t0) / 1e6;
	bench_list_pages(st, NULL, NULL, 1, 2000, &l->first1_p50,
	    &l->first1_p99);
	snprintf(mid, sizeof(mid), "repo50/key/secret-%06ld", n / 2);
	bench_list_pages(st, NULL, mid, 100, 500, &l->mid100_p50,
	    &l->mid100_p99);
	bench_list_pages(st, "repo77/", NULL, n >= 10000 ? 100 : 1, 500,
	    &l->prefix100_p50, &p99);
	l->old_page_ms = bench_old_page(st);
}

/* -------------------------------------------------------- 3. rotation */

static double
bench_rotation(struct store *st, long *resealed)
{
	struct store_key_status ks;
	struct error err;
	uint64_t t0;
	uint32_t v;
	size_t i;
	int done = 0;
	uint64_t left = 1, total = 0;

	if (store_key_status(st, &ks, &err) != 0)
		fatalx("%s", err.msg);
	for (i = 0; i < ks.nversions; i++)
		total += ks.versions[i].rows;
	if (store_rotate(st, &v, &err) != 0)
		fatalx("rotate: %s", err.msg);
	t0 = bench_now();
	while (left > 0) {
		if (store_rotate_step(st, 512, &done, &err) < 0)
			fatalx("rotate step: %s", err.msg);
		if (store_key_status(st, &ks, &err) != 0)
			fatalx("%s", err.msg);
		for (left = 0, i = 0; i < ks.nversions; i++)
			if (ks.versions[i].version < v)
				left += ks.versions[i].rows;
	}
	*resealed = (long)total;
	return (double)total / ((double)(bench_now() - t0) / 1e9);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "resources", required_argument, NULL, 'n' },
		{ "writes", required_argument, NULL, 'w' },
		{ "disk-dir", required_argument, NULL, 'd' },
		{ "fast-dir", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char *disk = "/var/tmp", *fast = "/dev/shm";
	long n = 100000, writes = 2000, resealed = 0;
	struct durable d;
	struct listing l;
	struct store *st;
	char *dir, *db;
	double rot;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'w': writes = strtol(optarg, NULL, 10); break;
		case 'd': disk = optarg; break;
		case 'f': fast = optarg; break;
		case 'j': json = 1; break;
		default:
			fprintf(stderr, "usage: storebench [--resources N] "
			    "[--writes N] [--disk-dir D] [--fast-dir D] "
			    "[--json]\n");
			return 2;
		}
	}
	if (n < 1000 || writes < 10)
		fatalx("--resources >= 1000, --writes >= 10");
	log_init("storebench", LOG_LVL_WARN);
	if (sodium_init() < 0)
		fatalx("libsodium");
	memset(&d, 0, sizeof(d));
	memset(&l, 0, sizeof(l));
	bench_durable(disk, writes, &d);
	dir = bench_dir(fast, "storebench");
	st = bench_store(dir, &db);
	bench_listing(st, n, &l);
	rot = bench_rotation(st, &resealed);
	resource_list_shutdown();
	store_close(st);
	bench_rm(dir);
	free(dir);
	free(db);
	if (json) {
		printf("{\"durable\":{\"dir\":\"%s\",\"writes\":%ld,"
		    "\"store_full_per_s\":%.0f,\"store_p50_us\":%.0f,"
		    "\"store_p99_us\":%.0f,\"raw_normal_per_s\":%.0f,"
		    "\"raw_full_per_s\":%.0f},\"listing\":{\"resources\":%ld,"
		    "\"index_build_ms\":%.1f,\"first_page_1_p50_us\":%.1f,"
		    "\"first_page_1_p99_us\":%.1f,\"middle_page_100_p50_us\":"
		    "%.1f,\"middle_page_100_p99_us\":%.1f,"
		    "\"prefix_page_100_p50_us\":%.1f,\"before_index_page_ms\":"
		    "%.1f},\"rotation\":{\"rows\":%ld,\"rows_per_s\":%.0f}}\n",
		    disk, writes, d.store_ws, d.store_p50, d.store_p99,
		    d.raw_normal_ws, d.raw_full_ws, l.n, l.index_ms,
		    l.first1_p50, l.first1_p99, l.mid100_p50, l.mid100_p99,
		    l.prefix100_p50, l.old_page_ms, resealed, rot);
		return 0;
	}
	printf("durable writes on %s (%ld, one transaction each):\n"
	    "  store_put (WAL, synchronous=FULL)   %8.0f /s  p50 %.0f us  "
	    "p99 %.0f us\n"
	    "  raw SQLite, synchronous=NORMAL      %8.0f /s\n"
	    "  raw SQLite, synchronous=FULL        %8.0f /s\n",
	    disk, writes, d.store_ws, d.store_p50, d.store_p99,
	    d.raw_normal_ws, d.raw_full_ws);
	printf("resource listing with %ld resources (%s; filled in %.1f s):\n"
	    "  name index built at start           %8.1f ms\n"
	    "  first page, limit 1                 p50 %.1f us  p99 %.1f us\n"
	    "  middle page, limit 100              p50 %.1f us  p99 %.1f us\n"
	    "  prefix page, limit 100              p50 %.1f us\n"
	    "  one page before the index (scan+sort) %6.1f ms\n",
	    l.n, fast, l.fill_s, l.index_ms, l.first1_p50, l.first1_p99,
	    l.mid100_p50, l.mid100_p99, l.prefix100_p50, l.old_page_ms);
	printf("rotation: %ld rows re-sealed at %.0f rows/s (%s)\n", resealed,
	    rot, fast);
	return 0;
}
