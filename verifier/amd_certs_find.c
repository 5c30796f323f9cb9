/*
 * amd_certs_find.c: finding a VCEK for a report whose evidence carries
 * none (amd_certs_find_vek): the configured snp_vek_file, then the offline
 * cert cache snp_cert_cache (by hwID and reported TCB, then by hwID),
 * then AMD KDS (snp_kds_url; answers cached in memory, bounded LRU). The
 * bytes found are not verified here: amd_certs_vek_verify does that.
 * VLEKs are never looked up (only snp_vek_file).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../lib/httpc.h"
#include "amd_certs_internal.h"
#include "verifier.h"

#define AMD_KDS_CACHE_MAX	64		/* fetched KDS answers */
#define AMD_KDS_TIMEOUT_S	15

struct amd_kds_entry {
	char *url;
	uint8_t *der;
	size_t len;
	uint64_t stamp;
};

static pthread_mutex_t amd_kds_lock = PTHREAD_MUTEX_INITIALIZER;
static struct amd_kds_entry amd_kds_cache[AMD_KDS_CACHE_MAX];
static uint64_t amd_kds_clock;

static int
amd_kds_cache_get(const char *url, uint8_t **der, size_t *len)
{
	size_t i;
	int found = 0;

	pthread_mutex_lock(&amd_kds_lock);
	for (i = 0; i < AMD_KDS_CACHE_MAX; i++) {
		struct amd_kds_entry *e = &amd_kds_cache[i];

		if (e->url != NULL && strcmp(e->url, url) == 0) {
			*der = xmalloc(e->len);
			memcpy(*der, e->der, e->len);
			*len = e->len;
			e->stamp = ++amd_kds_clock;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&amd_kds_lock);
	return found;
}

static void
amd_kds_cache_put(const char *url, const uint8_t *der, size_t len)
{
	struct amd_kds_entry *slot = &amd_kds_cache[0];
	size_t i;

	pthread_mutex_lock(&amd_kds_lock);
	for (i = 0; i < AMD_KDS_CACHE_MAX; i++) {
		struct amd_kds_entry *e = &amd_kds_cache[i];

		if (e->url == NULL) {
			slot = e;
			break;
		}
		if (e->stamp < slot->stamp)
			slot = e;
	}
	free(slot->url);
	free(slot->der);
	slot->url = xstrdup(url);
	slot->der = xmalloc(len);
	memcpy(slot->der, der, len);
	slot->len = len;
	slot->stamp = ++amd_kds_clock;
	pthread_mutex_unlock(&amd_kds_lock);
}

static int
amd_certs_hwid(const struct snp_report *r, char hwid[129], struct error *err)
{
	static const uint8_t zero[64];
	size_t n = r->product == SNP_PRODUCT_TURIN ? 8 : 64;

	if (memcmp(r->chip_id, zero, sizeof(zero)) == 0)
		return error_set(err, "no VCEK: CHIP_ID is masked (all zero), "
		    "so none can be looked up by hwID; supply the VCEK");
	hex_encode(r->chip_id, n, hwid);
	return 0;
}

static int
amd_certs_kds(const char *base, const struct snp_report *r,
    enum snp_product p, const char *hwid, uint8_t **der, size_t *der_len,
    struct error *err)
{
	const struct snp_tcb *t = &r->reported_tcb;
	struct httpc_response resp;
	struct httpc *c;
	char path[512], fmc[24] = "";
	char *url;
	int rc = -1;

	if (p == SNP_PRODUCT_TURIN)
		snprintf(fmc, sizeof(fmc), "fmcSPL=%02d&", t->fmc);
	snprintf(path, sizeof(path), "/vcek/v1/%s/%s?%sblSPL=%02d&teeSPL=%02d"
	    "&snpSPL=%02d&ucodeSPL=%02d", snp_product_name(p), hwid, fmc,
	    t->bootloader, t->tee, t->snp, t->microcode);
	url = xasprintf("%s%s", base, path);
	if (amd_kds_cache_get(url, der, der_len)) {
		free(url);
		return 0;
	}
	memset(&resp, 0, sizeof(resp));
	if ((c = httpc_new(base, NULL, AMD_KDS_TIMEOUT_S, err)) == NULL) {
		error_prefix(err, "AMD KDS %s", base);
		goto out;
	}
	if (httpc_request(c, "GET", path, NULL, NULL, 0, &resp, err) < 0) {
		error_prefix(err, "AMD KDS GET %s", url);
		goto out;
	}
	if (resp.status != 200) {
		error_set(err, "AMD KDS GET %s: HTTP status %d", url,
		    resp.status);
		goto out;
	}
	if (resp.body.len == 0 || resp.body.len > AMD_CERT_MAX) {
		error_set(err, "AMD KDS GET %s: %zu-byte body", url,
		    resp.body.len);
		goto out;
	}
	*der = xmalloc(resp.body.len);
	memcpy(*der, resp.body.data, resp.body.len);
	*der_len = resp.body.len;
	amd_kds_cache_put(url, *der, *der_len);
	rc = 0;
out:
	httpc_response_clear(&resp);
	httpc_free(c);
	free(url);
	return rc;
}

int
amd_certs_find_vek(const struct snp_report *r, uint8_t **der,
    size_t *der_len, struct error *err)
{
	const struct verifier_config *cfg = verifier_get_config();
	const struct snp_tcb *t = &r->reported_tcb;
	char hwid[129], fmc[16] = "";
	char *path;
	struct error e2;

	*der = NULL;
	*der_len = 0;
	if (cfg->snp_vek_file != NULL && cfg->snp_vek_file[0] != '\0') {
		if (file_read_all(cfg->snp_vek_file, AMD_CERT_MAX, der,
		    der_len, err) < 0)
			return error_prefix(err, "snp_vek_file");
		return 0;
	}
	if (SNP_KEY_INFO_SIGNING_KEY(r->key_info) == SNP_SIGNING_VLEK)
		return error_set(err, "no VLEK: the evidence carries no "
		    "certificate and no snp_vek_file is configured (VLEKs "
		    "are not looked up in the cert cache or KDS)");
	if ((cfg->snp_cert_cache == NULL || cfg->snp_cert_cache[0] == '\0') &&
	    (cfg->snp_kds_url == NULL || cfg->snp_kds_url[0] == '\0'))
		return error_set(err, "no VCEK: the evidence carries no "
		    "certificate and no cert cache/KDS is configured");
	if (amd_certs_hwid(r, hwid, err) < 0)
		return -1;
	if (cfg->snp_cert_cache != NULL && cfg->snp_cert_cache[0] != '\0') {
		if (r->product == SNP_PRODUCT_TURIN)
			snprintf(fmc, sizeof(fmc), "_fmc%02d", t->fmc);
		path = xasprintf("%s/vcek/%s/bl%02d_tee%02d_snp%02d_ucode%02d"
		    "%s_vcek.der", cfg->snp_cert_cache, hwid, t->bootloader,
		    t->tee, t->snp, t->microcode, fmc);
		if (file_read_all(path, AMD_CERT_MAX, der, der_len, &e2) == 0) {
			free(path);
			return 0;
		}
		free(path);
		path = xasprintf("%s/vcek/%s/vcek.der", cfg->snp_cert_cache,
		    hwid);
		if (file_read_all(path, AMD_CERT_MAX, der, der_len, &e2) == 0) {
			free(path);
			return 0;
		}
		if (cfg->snp_kds_url == NULL || cfg->snp_kds_url[0] == '\0') {
			error_set(err, "no VCEK: the evidence carries no "
			    "certificate, the cert cache has none for hwID "
			    "%.16s... TCB bl%02d tee%02d snp%02d ucode%02d "
			    "(nor %s), and no KDS is configured", hwid,
			    t->bootloader, t->tee, t->snp, t->microcode, path);
			free(path);
			return -1;
		}
		free(path);
	}
	if (r->product != SNP_PRODUCT_UNKNOWN)
		return amd_certs_kds(cfg->snp_kds_url, r, r->product, hwid,
		    der, der_len, err);
	/* a v2 report does not say its product line: ask for each */
	if (amd_certs_kds(cfg->snp_kds_url, r, SNP_PRODUCT_MILAN, hwid, der,
	    der_len, &e2) == 0)
		return 0;
	if (amd_certs_kds(cfg->snp_kds_url, r, SNP_PRODUCT_GENOA, hwid, der,
	    der_len, err) == 0)
		return 0;
	return error_prefix(err, "as Milan: %s; as Genoa", e2.msg);
}
