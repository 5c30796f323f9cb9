/*
 * rowcache.c: a bounded in-process cache of sealed rows of chosen tables
 * (store_cache), so that a hot read (a resource release reads the
 * resource's index row and its value row) costs no database round trip.
 *
 * When it may serve: every write path of store.c and store_scan.c (purge)
 * calls rowcache_wrote after the backend call returns, whatever it
 * returned, and that bumps the table's generation. An entry is served
 * only while its generation is the table's current one, and it is filled
 * only with the generation read before the backend read began; so a row
 * read before a write completed can never be served after the write was
 * acknowledged. That is the whole rule for a handle that is the sole
 * writer of its database (the embedded SQLite store under its daemon
 * lock, which every trusteed process and tool opening that database
 * takes).
 *
 * A handle on a database that other instances write (MariaDB, Galera)
 * has a leased cache (rowcache_new(1)): besides, a table's entries are
 * served only until the table's lease runs out, which lease.c extends
 * after each poll of the table's shared generation that found no change
 * it had not already applied here (rowcache_wrote); lease.c has the
 * argument why an acknowledged write on another instance is then never
 * answered from here with the row as it was. And an entry is not served
 * more than ROWCACHE_MAX_AGE_MS after its fill, whatever the lease says:
 * the bound on a stale answer should a write's generation bump have been
 * lost (lease_wrote reports that write as failed).
 *
 * What it holds: rows exactly as the backend returned them, still sealed
 * (store.c opens and authenticates every hit as it does every backend
 * read, and on any failure drops the entry and asks the backend). No
 * plaintext is ever cached. Rows with an expiry are not cached.
 *
 * Bounds: ROWCACHE_SLOTS slots in sets of ROWCACHE_WAYS (row ids are
 * keyed hashes, so their low bits pick a set evenly; a fill takes an
 * empty or outdated way, else the next one round-robin), blobs up to
 * ROWCACHE_BLOB_MAX, at most ROWCACHE_BYTES_MAX of blobs in all; a fill
 * that would exceed the budget is skipped. A set is guarded by one of
 * ROWCACHE_STRIPES mutexes.
 */
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "store_internal.h"

#define ROWCACHE_SLOTS		16384	/* a power of two */
#define ROWCACHE_WAYS		4	/* slots per set, a power of two */
#define ROWCACHE_SETS		(ROWCACHE_SLOTS / ROWCACHE_WAYS)
#define ROWCACHE_STRIPES	64
#define ROWCACHE_BLOB_MAX	((size_t)16 * 1024)
#define ROWCACHE_BYTES_MAX	((size_t)16 * 1024 * 1024)
#define ROWCACHE_MAX_AGE_MS	5000	/* leased: refill at least this often */

struct rowcache_slot {
	int tix;			/* -1: empty */
	uint64_t gen;
	int64_t filled_ms;		/* leased: monotonic ms of the fill */
	struct store_row row;		/* blob malloc'd */
};

struct rowcache {
	char tables[ROWCACHE_TABLES][STORE_TABLE_MAX + 1];
	_Atomic int ntables;
	_Atomic uint64_t gen[ROWCACHE_TABLES];
	int leased;
	/* leased: monotonic ms until which each table's entries may serve,
	 * and of the last lookup (lease.c polls only while lookups come) */
	_Atomic int64_t lease_until[ROWCACHE_TABLES];
	_Atomic int64_t last_get_ms;
	_Atomic size_t bytes;
	_Atomic uint64_t hits, misses;
	pthread_mutex_t tables_mu;	/* serializes rowcache_add */
	pthread_mutex_t mu[ROWCACHE_STRIPES];
	uint8_t next[ROWCACHE_SETS];	/* round-robin victim per set */
	struct rowcache_slot slot[ROWCACHE_SLOTS];
};

struct rowcache *
rowcache_new(int leased)
{
	struct rowcache *rc = xcalloc(1, sizeof(*rc));
	size_t i;

	rc->leased = leased;

	pthread_mutex_init(&rc->tables_mu, NULL);
	for (i = 0; i < ROWCACHE_STRIPES; i++)
		pthread_mutex_init(&rc->mu[i], NULL);
	for (i = 0; i < ROWCACHE_SLOTS; i++)
		rc->slot[i].tix = -1;
	for (i = 0; i < ROWCACHE_TABLES; i++) {
		atomic_init(&rc->gen[i], 1);
		atomic_init(&rc->lease_until[i], leased ? 0 : INT64_MAX);
	}
	return rc;
}

void
rowcache_free(struct rowcache *rc)
{
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < ROWCACHE_SLOTS; i++)
		free((void *)rc->slot[i].row.blob);
	for (i = 0; i < ROWCACHE_STRIPES; i++)
		pthread_mutex_destroy(&rc->mu[i]);
	pthread_mutex_destroy(&rc->tables_mu);
	free(rc);
}

int
rowcache_add(struct rowcache *rc, const char *table)
{
	int i, n, r = -1;

	pthread_mutex_lock(&rc->tables_mu);
	n = atomic_load(&rc->ntables);
	for (i = 0; i < n; i++)
		if (strcmp(rc->tables[i], table) == 0)
			r = i;
	if (r < 0 && n < ROWCACHE_TABLES) {
		snprintf(rc->tables[n], sizeof(rc->tables[n]), "%s", table);
		/* Published after the name is written. */
		atomic_store(&rc->ntables, n + 1);
		r = n;
	}
	pthread_mutex_unlock(&rc->tables_mu);
	return r;
}

int
rowcache_table(struct rowcache *rc, const char *table)
{
	int i, n;

	if (rc == NULL || table == NULL)
		return -1;
	n = atomic_load(&rc->ntables);
	for (i = 0; i < n; i++)
		if (strcmp(rc->tables[i], table) == 0)
			return i;
	return -1;
}

uint64_t
rowcache_gen(struct rowcache *rc, int tix)
{
	return atomic_load(&rc->gen[tix]);
}

int
rowcache_count(struct rowcache *rc)
{
	return rc != NULL ? atomic_load(&rc->ntables) : 0;
}

const char *
rowcache_name(struct rowcache *rc, int tix)
{
	return rc->tables[tix];
}

int
rowcache_leased(struct rowcache *rc)
{
	return rc != NULL && rc->leased;
}

void
rowcache_lease(struct rowcache *rc, int tix, int64_t until_ms)
{
	atomic_store(&rc->lease_until[tix], until_ms);
}

int
rowcache_serves(struct rowcache *rc, int tix)
{
	int64_t now;

	if (rc == NULL || tix < 0)
		return 0;
	if (!rc->leased)
		return 1;
	now = store_mono_ms();
	atomic_store(&rc->last_get_ms, now);	/* a lookup: keep polling */
	return now < atomic_load(&rc->lease_until[tix]);
}

int64_t
rowcache_last_get(struct rowcache *rc)
{
	return atomic_load(&rc->last_get_ms);
}

/* The set of (tix, id). */
static size_t
rowcache_set(int tix, const uint8_t id[STORE_ID_LEN])
{
	uint32_t h;

	memcpy(&h, id, sizeof(h));
	return (h ^ (uint32_t)tix * 0x9e3779b1u) & (ROWCACHE_SETS - 1);
}

static pthread_mutex_t *
rowcache_lock(struct rowcache *rc, size_t set)
{
	return &rc->mu[set % ROWCACHE_STRIPES];
}

/* The slot of set holding (tix, id), or NULL. Caller holds the set. */
static struct rowcache_slot *
rowcache_find(struct rowcache *rc, size_t set, int tix,
    const uint8_t id[STORE_ID_LEN])
{
	struct rowcache_slot *s = &rc->slot[set * ROWCACHE_WAYS];
	size_t w;

	for (w = 0; w < ROWCACHE_WAYS; w++)
		if (s[w].tix == tix && memcmp(s[w].row.id, id,
		    STORE_ID_LEN) == 0)
			return &s[w];
	return NULL;
}

/* Empty slot s (its stripe held). */
static void
rowcache_clear(struct rowcache *rc, struct rowcache_slot *s)
{
	if (s->tix >= 0)
		atomic_fetch_sub(&rc->bytes, s->row.len);
	free((void *)s->row.blob);
	memset(s, 0, sizeof(*s));
	s->tix = -1;
}

int
rowcache_get(struct rowcache *rc, int tix, const uint8_t id[STORE_ID_LEN],
    struct store_row *out)
{
	size_t set = rowcache_set(tix, id);
	struct rowcache_slot *s;
	uint8_t *blob;
	int64_t now = 0;
	int hit = 0;

	if (rc->leased) {
		now = store_mono_ms();
		atomic_store(&rc->last_get_ms, now);
		if (now >= atomic_load(&rc->lease_until[tix])) {
			atomic_fetch_add(&rc->misses, 1);
			return 0;
		}
	}
	pthread_mutex_lock(rowcache_lock(rc, set));
	s = rowcache_find(rc, set, tix, id);
	if (s != NULL && s->gen == atomic_load(&rc->gen[tix]) &&
	    (!rc->leased || now - s->filled_ms < ROWCACHE_MAX_AGE_MS)) {
		blob = xmalloc(s->row.len > 0 ? s->row.len : 1);
		memcpy(blob, s->row.blob, s->row.len);
		*out = s->row;
		out->blob = blob;
		hit = 1;
	}
	pthread_mutex_unlock(rowcache_lock(rc, set));
	atomic_fetch_add(hit ? &rc->hits : &rc->misses, 1);
	return hit;
}

void
rowcache_put(struct rowcache *rc, int tix, uint64_t gen,
    const struct store_row *row)
{
	size_t set = rowcache_set(tix, row->id), w;
	struct rowcache_slot *s, *ways = &rc->slot[set * ROWCACHE_WAYS];
	uint8_t *blob;

	if (row->exp != 0 || row->len > ROWCACHE_BLOB_MAX)
		return;
	blob = xmalloc(row->len > 0 ? row->len : 1);
	memcpy(blob, row->blob, row->len);
	pthread_mutex_lock(rowcache_lock(rc, set));
	/* The row's own slot, else an empty or outdated one, else the
	 * set's next victim. */
	if ((s = rowcache_find(rc, set, tix, row->id)) == NULL) {
		for (w = 0; w < ROWCACHE_WAYS && s == NULL; w++)
			if (ways[w].tix < 0 || ways[w].gen !=
			    atomic_load(&rc->gen[ways[w].tix]))
				s = &ways[w];
		if (s == NULL) {
			s = &ways[rc->next[set]];
			rc->next[set] = (uint8_t)((rc->next[set] + 1) &
			    (ROWCACHE_WAYS - 1));
		}
	}
	rowcache_clear(rc, s);
	/* A write since gen was read: the row may predate it. */
	if (gen != atomic_load(&rc->gen[tix]) ||
	    atomic_load(&rc->bytes) + row->len > ROWCACHE_BYTES_MAX) {
		pthread_mutex_unlock(rowcache_lock(rc, set));
		free(blob);
		return;
	}
	s->tix = tix;
	s->gen = gen;
	s->filled_ms = rc->leased ? store_mono_ms() : 0;
	s->row = *row;
	s->row.blob = blob;
	atomic_fetch_add(&rc->bytes, row->len);
	pthread_mutex_unlock(rowcache_lock(rc, set));
}

void
rowcache_drop(struct rowcache *rc, int tix, const uint8_t id[STORE_ID_LEN])
{
	size_t set = rowcache_set(tix, id);
	struct rowcache_slot *s;

	pthread_mutex_lock(rowcache_lock(rc, set));
	if ((s = rowcache_find(rc, set, tix, id)) != NULL)
		rowcache_clear(rc, s);
	pthread_mutex_unlock(rowcache_lock(rc, set));
}

void
rowcache_wrote(struct rowcache *rc, const char *table)
{
	int i, n;

	if (rc == NULL)
		return;
	n = atomic_load(&rc->ntables);
	for (i = 0; i < n; i++)
		if (table == NULL || strcmp(rc->tables[i], table) == 0)
			atomic_fetch_add(&rc->gen[i], 1);
}

void
rowcache_stats(struct rowcache *rc, uint64_t *hits, uint64_t *misses,
    size_t *bytes)
{
	*hits = rc != NULL ? atomic_load(&rc->hits) : 0;
	*misses = rc != NULL ? atomic_load(&rc->misses) : 0;
	*bytes = rc != NULL ? atomic_load(&rc->bytes) : 0;
}
