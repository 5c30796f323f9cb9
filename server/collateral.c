/*
 * collateral.c: when the verifier collateral the configuration names
 * expires (observe.h): DCAP TCB info and QE identity "nextUpdate", the
 * PCK and root CA CRLs' nextUpdate (in a PCS v4 directory, its FMSPC
 * sub-directories, or a PCS-tool / QuoteCollateralV3 JSON file), and the
 * notAfter of every certificate in the SEV-SNP certificate cache. Reads
 * only what it is pointed at, bounded in files and bytes; the answer is
 * cached for COLLATERAL_RESCAN_S.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "observe.h"

#define COLLATERAL_FILE_MAX ((size_t)8 * 1024 * 1024)
#define COLLATERAL_DEPTH 4
#define COLLATERAL_FILES 512

static pthread_mutex_t collateral_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *collateral_cache;
static int64_t collateral_scanned;

struct collateral_scan {
	json_t *items;
	int files;			/* files looked at (bounded) */
};

static void
collateral_add(struct collateral_scan *sc, const char *kind, const char *file,
    int64_t t)
{
	char when[TIME_RFC3339_LEN];

	if (json_array_size(sc->items) >= COLLATERAL_MAX_ITEMS)
		return;
	time_format_rfc3339(t, when);
	json_array_append_new(sc->items, json_pack("{s:s, s:s, s:s, s:I}",
	    "kind", kind, "file", file, "expires", when, "expires_unix",
	    (json_int_t)t));
}

static int
collateral_asn1_time(const ASN1_TIME *a, int64_t *t)
{
	struct tm tm;

	if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
		return -1;
	*t = (int64_t)timegm(&tm);
	return 0;
}

/* nextUpdate members anywhere in v (strings holding JSON are opened:
 * the PCS-tool bundle nests signed bodies as text). */
static void
collateral_json_walk(struct collateral_scan *sc, const json_t *v,
    const char *file, const char *kind, int depth)
{
	const char *k;
	json_t *x;
	size_t i;
	int64_t t;

	if (depth > 8)
		return;
	if (json_is_string(v) && json_string_length(v) > 1 &&
	    json_string_value(v)[0] == '{') {
		json_t *in = json_loads(json_string_value(v), 0, NULL);

		collateral_json_walk(sc, in, file, kind, depth + 1);
		json_decref(in);
		return;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			collateral_json_walk(sc, x, file, kind, depth + 1);
		return;
	}
	json_object_foreach((json_t *)v, k, x) {
		const char *sub = kind;

		if (strcmp(k, "tcbInfo") == 0 || strstr(k, "tcbinfo") != NULL ||
		    strcmp(k, "tcb_info") == 0)
			sub = "dcap_tcb_info";
		else if (strcmp(k, "enclaveIdentity") == 0 ||
		    strstr(k, "qeidentity") != NULL ||
		    strcmp(k, "qe_identity") == 0)
			sub = "dcap_qe_identity";
		if (strcmp(k, "nextUpdate") == 0 && json_is_string(x) &&
		    time_parse_rfc3339(json_string_value(x), &t) == 0)
			collateral_add(sc, kind, file, t);
		else
			collateral_json_walk(sc, x, file, sub, depth + 1);
	}
}

static void
collateral_file(struct collateral_scan *sc, const char *path,
    const char *name)
{
	struct error err;
	uint8_t *data = NULL;
	size_t len;
	const unsigned char *p;
	int64_t t;

	if (++sc->files > COLLATERAL_FILES ||
	    file_read_all(path, COLLATERAL_FILE_MAX, &data, &len, &err) != 0)
		return;
	if (strstr(name, ".json") != NULL) {
		json_t *j = json_loadb((const char *)data, len, 0, NULL);
		const char *kind = strstr(name, "tcb") != NULL ?
		    "dcap_tcb_info" : strstr(name, "qe") != NULL ?
		    "dcap_qe_identity" : "dcap_collateral";

		collateral_json_walk(sc, j, path, kind, 0);
		json_decref(j);
	} else if (strstr(name, "crl") != NULL) {
		X509_CRL *crl;

		p = data;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
		if (crl == NULL) {
			BIO *bio = BIO_new_mem_buf(data, (int)len);

			crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL,
			    NULL, NULL) : NULL;
			BIO_free(bio);
		}
		if (crl != NULL && collateral_asn1_time(
		    X509_CRL_get0_nextUpdate(crl), &t) == 0)
			collateral_add(sc, strstr(name, "root") != NULL ?
			    "dcap_root_ca_crl" : "dcap_pck_crl", path, t);
		X509_CRL_free(crl);
	}
	free(data);
}

/* Every certificate in a DER or PEM file of the SNP cache. */
static void
collateral_cert_file(struct collateral_scan *sc, const char *path)
{
	struct error err;
	uint8_t *data = NULL;
	size_t len;
	const unsigned char *p;
	X509 *x;
	BIO *bio;
	int64_t t;

	if (++sc->files > COLLATERAL_FILES ||
	    file_read_all(path, COLLATERAL_FILE_MAX, &data, &len, &err) != 0)
		return;
	p = data;
	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL) {
		if (collateral_asn1_time(X509_get0_notAfter(x), &t) == 0)
			collateral_add(sc, "snp_certificate", path, t);
		X509_free(x);
	} else if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL) {
		while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			if (collateral_asn1_time(X509_get0_notAfter(x), &t) == 0)
				collateral_add(sc, "snp_certificate", path, t);
			X509_free(x);
		}
		BIO_free(bio);
	}
	free(data);
}

static void
collateral_dir(struct collateral_scan *sc, const char *dir, int snp,
    int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (depth > COLLATERAL_DEPTH || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && sc->files <= COLLATERAL_FILES) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			collateral_dir(sc, path, snp, depth + 1);
		else if (S_ISREG(st.st_mode) && snp &&
		    (strstr(de->d_name, ".der") != NULL ||
		    strstr(de->d_name, ".pem") != NULL))
			collateral_cert_file(sc, path);
		else if (S_ISREG(st.st_mode) && !snp &&
		    (strstr(de->d_name, ".json") != NULL ||
		    strstr(de->d_name, "crl") != NULL))
			collateral_file(sc, path, de->d_name);
		free(path);
	}
	closedir(d);
}

static void
collateral_path(struct collateral_scan *sc, const char *path, int snp)
{
	struct stat st;
	const char *base;

	if (path == NULL || stat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		collateral_dir(sc, path, snp, snp ? 0 : COLLATERAL_DEPTH - 1);
		return;
	}
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	if (snp)
		collateral_cert_file(sc, path);
	else
		collateral_file(sc, path, base);
}

static int
collateral_cmp(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a,
	    "expires_unix"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b,
	    "expires_unix"));

	return x < y ? -1 : x > y;
}

json_t *
collateral_items(const struct config *cfg, int64_t now)
{
	struct collateral_scan sc;
	json_t **v, *sorted;
	size_t i, n;

	pthread_mutex_lock(&collateral_lock);
	if (collateral_cache != NULL && now - collateral_scanned <
	    COLLATERAL_RESCAN_S && now >= collateral_scanned) {
		sorted = json_deep_copy(collateral_cache);
		pthread_mutex_unlock(&collateral_lock);
		return sorted;
	}
	memset(&sc, 0, sizeof(sc));
	sc.items = json_array();
	collateral_path(&sc, cfg->dcap_collateral, 0);
	collateral_path(&sc, cfg->snp_cert_cache, 1);
	/* Soonest first. */
	n = json_array_size(sc.items);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_array_get(sc.items, i);
	qsort(v, n, sizeof(*v), collateral_cmp);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(sc.items);
	json_decref(collateral_cache);
	collateral_cache = sorted;
	collateral_scanned = now;
	sorted = json_deep_copy(collateral_cache);
	pthread_mutex_unlock(&collateral_lock);
	return sorted;
}
