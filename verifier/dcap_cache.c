/*
 * dcap_cache.c: the two caches of verified DCAP material (dcap.c says what
 * they hold and why): PCK material keyed by its exact bytes, collateral
 * keyed by (source, TEE, FMSPC, PCK CA kind) with a time to live (60 s
 * for local sources, 1 h for PCCS). Both are bounded (LRU eviction),
 * behind one mutex, and hold reference-counted immutable entries: a
 * lookup never blocks on a fetch, an evicted entry is freed by its last
 * user. The mutex also guards each PCK entry's crl_gen.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dcap_internal.h"

#define PCK_CACHE_MAX		256
#define COLL_CACHE_MAX		32
#define COLL_TTL_LOCAL_NS	(60ull * 1000000000ull)
#define COLL_TTL_PCCS_NS	(3600ull * 1000000000ull)

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct dcap_pck_entry *pck_cache[PCK_CACHE_MAX];
static size_t pck_n;
static struct dcap_coll_entry *coll_cache[COLL_CACHE_MAX];
static size_t coll_n;
static uint64_t cache_clock, coll_gen;

void
dcap_cache_pck_free(struct dcap_pck_entry *e)
{
	if (e == NULL)
		return;
	EVP_PKEY_free(e->att);
	free(e->mat);
	X509_free(e->leaf);
	X509_free(e->inter);
	free(e);
}

void
dcap_cache_coll_free(struct dcap_coll_entry *e)
{
	if (e == NULL)
		return;
	dcap_tcb_info_free(e->tcb);
	dcap_qe_identity_free(e->qe);
	X509_CRL_free(e->pck_crl);
	X509_CRL_free(e->root_crl);
	X509_free(e->pck_crl_issuer);
	free(e->desc);
	free(e);
}

void
dcap_cache_pck_release(struct dcap_pck_entry *e)
{
	int gone;

	pthread_mutex_lock(&cache_mu);
	gone = --e->refs == 0 && e->dead;
	pthread_mutex_unlock(&cache_mu);
	if (gone)
		dcap_cache_pck_free(e);
}

void
dcap_cache_coll_release(struct dcap_coll_entry *e)
{
	int gone;

	pthread_mutex_lock(&cache_mu);
	gone = --e->refs == 0 && e->dead;
	pthread_mutex_unlock(&cache_mu);
	if (gone)
		dcap_cache_coll_free(e);
}

void
dcap_cache_flush(void)
{
	size_t i;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < pck_n; i++) {
		pck_cache[i]->dead = 1;
		if (pck_cache[i]->refs == 0)
			dcap_cache_pck_free(pck_cache[i]);
	}
	for (i = 0; i < coll_n; i++) {
		coll_cache[i]->dead = 1;
		if (coll_cache[i]->refs == 0)
			dcap_cache_coll_free(coll_cache[i]);
	}
	pck_n = coll_n = 0;
	pthread_mutex_unlock(&cache_mu);
}

static int
pck_same(const struct dcap_pck_entry *e, const uint8_t *mat, size_t len)
{
	/* The attestation key comes first: a cheap discriminator. */
	return e->mat_len == len && memcmp(e->mat, mat, 64) == 0 &&
	    memcmp(e->mat + 64, mat + 64, len - 64) == 0;
}

struct dcap_pck_entry *
dcap_cache_pck_lookup(const uint8_t *mat, size_t len)
{
	struct dcap_pck_entry *e = NULL;
	size_t i;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < pck_n; i++)
		if (pck_same(pck_cache[i], mat, len)) {
			e = pck_cache[i];
			e->refs++;
			e->last_use = ++cache_clock;
			break;
		}
	pthread_mutex_unlock(&cache_mu);
	return e;
}

/* Insert e (refs 1 for the caller); an equal entry inserted meanwhile
 * wins and is returned instead. */
struct dcap_pck_entry *
dcap_cache_pck_insert(struct dcap_pck_entry *e)
{
	struct dcap_pck_entry *old = NULL, *victim = NULL;
	size_t i, vi = 0;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < pck_n; i++)
		if (pck_same(pck_cache[i], e->mat, e->mat_len)) {
			old = pck_cache[i];
			old->refs++;
			break;
		}
	if (old == NULL) {
		if (pck_n == PCK_CACHE_MAX) {
			for (i = 0; i < pck_n; i++)
				if (victim == NULL ||
				    pck_cache[i]->last_use < victim->last_use) {
					victim = pck_cache[i];
					vi = i;
				}
			pck_cache[vi] = pck_cache[--pck_n];
			victim->dead = 1;
			if (victim->refs > 0)
				victim = NULL;
		}
		e->refs = 1;
		e->last_use = ++cache_clock;
		pck_cache[pck_n++] = e;
	}
	pthread_mutex_unlock(&cache_mu);
	dcap_cache_pck_free(victim);
	if (old != NULL) {
		dcap_cache_pck_free(e);
		return old;
	}
	return e;
}

struct dcap_coll_entry *
dcap_cache_coll_get(const char *key, const char *src, int tdx,
    const uint8_t fmspc[6], int platform_ca, struct error *err)
{
	struct dcap_coll_entry *e = NULL, *victim = NULL, *mine = NULL;
	uint64_t now = now_mono_ns();
	size_t i, vi = 0;

	pthread_mutex_lock(&cache_mu);
	for (i = 0; i < coll_n; i++) {
		struct dcap_coll_entry *c = coll_cache[i];

		if (strcmp(c->key, key) != 0)
			continue;
		if (now - c->loaded_ns < (c->pccs ? COLL_TTL_PCCS_NS :
		    COLL_TTL_LOCAL_NS)) {
			e = c;
			e->refs++;
			e->last_use = ++cache_clock;
		}
		break;
	}
	pthread_mutex_unlock(&cache_mu);
	if (e != NULL)
		return e;
	if (dcap_material_coll_build(key, src, tdx, fmspc, platform_ca, &mine,
	    err) != 0)
		return NULL;
	pthread_mutex_lock(&cache_mu);
	mine->gen = ++coll_gen;
	mine->refs = 1;
	mine->last_use = ++cache_clock;
	for (i = 0; i < coll_n; i++)
		if (strcmp(coll_cache[i]->key, key) == 0) {
			victim = coll_cache[i];
			vi = i;
			break;
		}
	if (victim == NULL && coll_n == COLL_CACHE_MAX) {
		for (i = 0; i < coll_n; i++)
			if (victim == NULL ||
			    coll_cache[i]->last_use < victim->last_use) {
				victim = coll_cache[i];
				vi = i;
			}
	}
	if (victim != NULL) {
		coll_cache[vi] = mine;
		victim->dead = 1;
		if (victim->refs > 0)
			victim = NULL;
	} else {
		coll_cache[coll_n++] = mine;
	}
	pthread_mutex_unlock(&cache_mu);
	dcap_cache_coll_free(victim);
	return mine;
}

uint64_t
dcap_cache_crl_gen(const struct dcap_pck_entry *p)
{
	uint64_t gen;

	pthread_mutex_lock(&cache_mu);
	gen = p->crl_gen;
	pthread_mutex_unlock(&cache_mu);
	return gen;
}

void
dcap_cache_set_crl_gen(struct dcap_pck_entry *p, uint64_t gen)
{
	pthread_mutex_lock(&cache_mu);
	p->crl_gen = gen;
	pthread_mutex_unlock(&cache_mu);
}
