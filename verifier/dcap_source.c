/*
 * dcap_source.c: fetching DCAP collateral (unverified bytes) from what the
 * configuration names (reference/attestation-service.md §1.4 step 3):
 *
 * - dcap_collateral = a directory of Intel PCS v4 bodies: tcb_info.json,
 *   qe_identity.json, tcb_info_issuer_chain.pem,
 *   qe_identity_issuer_chain.pem, pck_crl.der (or pck_crl_platform.der /
 *   pck_crl_processor.der), root_ca_crl.der, optional
 *   pck_crl_issuer_chain.pem. A sub-directory named after the FMSPC
 *   (lowercase hex) is looked at first, so one directory can serve several
 *   platforms.
 * - dcap_collateral = a JSON file: the Intel PCS Client Tool bundle
 *   {"collaterals": {"tcbinfos": [{"fmspc", "tdx_tcbinfo[_early]" |
 *   "sgx_tcbinfo[_early]"}], "pckcacrl": {"processorCrl", "platformCrl"},
 *   "qeidentity[_early]" | "tdqeidentity[_early]", "certificates":
 *   {"TCB-Info-Issuer-Chain", "SGX-Enclave-Identity-Issuer-Chain",
 *   "SGX-PCK-Certificate-Issuer-Chain": {"PROCESSOR", "PLATFORM"}},
 *   "rootcacrl"}} (early preferred, standard as fallback), or a
 *   QuoteCollateralV3-style object {"tcb_info", "tcb_info_signature",
 *   "tcb_info_issuer_chain", "qe_identity", "qe_identity_signature",
 *   "qe_identity_issuer_chain", "pck_crl", "pck_crl_issuer_chain",
 *   "root_ca_crl"} (signed texts as strings, CRLs as hex).
 * - dcap_pccs_url = a PCCS / Intel PCS v4 service: its path is ignored;
 *   GET {tdx|sgx}/certification/v4/tcb?fmspc=..&update=early,
 *   {tdx|sgx}/certification/v4/qe/identity?update=early,
 *   sgx/certification/v4/pckcrl?ca=platform|processor&encoding=der,
 *   sgx/certification/v4/rootcacrl; issuer chains from the
 *   TCB-Info-Issuer-Chain / SGX-Enclave-Identity-Issuer-Chain /
 *   SGX-PCK-CRL-Issuer-Chain headers (URL-encoded PEM). Answers are kept
 *   in dcap_cache_dir and reused for 168 hours, or when the service cannot
 *   be reached.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../lib/httpc.h"
#include "dcap_internal.h"
#include "verifier.h"

#define SRC_MAX_FILE	(8u * 1024 * 1024)
#define SRC_CACHE_TTL	(168 * 3600)

void
dcap_raw_free(struct dcap_raw *r)
{
	buf_free(&r->tcb_info);
	buf_free(&r->tcb_chain);
	buf_free(&r->qe_identity);
	buf_free(&r->qe_chain);
	buf_free(&r->pck_crl);
	buf_free(&r->pck_crl_chain);
	buf_free(&r->root_crl);
	free(r->desc);
	memset(r, 0, sizeof(*r));
}

/* %XX decoding (PCS header / PCS-tool bundle chains); plain text passes. */
static void
url_decode_into(struct buf *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && n - i >= 3) {
			char h[3] = { s[i + 1], s[i + 2], 0 };
			uint8_t v;
			size_t got;

			if (hex_decode(h, &v, 1, &got) == 0) {
				buf_add(out, &v, 1);
				i += 2;
				continue;
			}
		}
		buf_add(out, s + i, 1);
	}
}

/*
 * A CRL as DER from DER, PEM or hex text (PCCS answers the root CA CRL in
 * hex). -1 if none of these.
 */
static int
crl_to_der(const uint8_t *p, size_t n, struct buf *out)
{
	size_t i, j = 0;
	char *hex;
	uint8_t *der;

	if (n > 0 && p[0] == 0x30) {
		buf_add(out, p, n);
		return 0;
	}
	if (n > 10 && memcmp(p, "-----BEGIN", 10) == 0) {
		BIO *bio = BIO_new_mem_buf(p, (int)n);
		X509_CRL *crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL,
		    NULL) : NULL;
		unsigned char *d = NULL;
		int dl;

		BIO_free(bio);
		if (crl == NULL)
			return -1;
		dl = i2d_X509_CRL(crl, &d);
		X509_CRL_free(crl);
		if (dl <= 0)
			return -1;
		buf_add(out, d, (size_t)dl);
		OPENSSL_free(d);
		return 0;
	}
	hex = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
			hex[j++] = (char)p[i];
	hex[j] = 0;
	if (j == 0 || j % 2 != 0) {
		free(hex);
		return -1;
	}
	der = xmalloc(j / 2);
	if (hex_decode(hex, der, j / 2, &i) != 0 || der[0] != 0x30) {
		free(der);
		free(hex);
		return -1;
	}
	buf_add(out, der, i);
	free(der);
	free(hex);
	return 0;
}

/* ---- directory ----------------------------------------------------------- */

static int
read_file_buf(const char *dir, const char *name, struct buf *out,
    int optional, struct error *err)
{
	char *path = xasprintf("%s/%s", dir, name);
	uint8_t *data;
	size_t len;
	struct stat st;

	if (optional && stat(path, &st) != 0) {
		free(path);
		return 1;
	}
	if (file_read_all(path, SRC_MAX_FILE, &data, &len, err) != 0) {
		free(path);
		return -1;
	}
	free(path);
	buf_add(out, data, len);
	free(data);
	return 0;
}

static int
src_dir(const char *dir, int tdx, const uint8_t fmspc[6], int platform_ca,
    struct dcap_raw *r, struct error *err)
{
	char fm[13], *sub;
	struct stat st;
	const char *d = dir;
	struct buf crl = { 0 };
	int rc;

	(void)tdx;
	hex_encode(fmspc, 6, fm);
	sub = xasprintf("%s/%s", dir, fm);
	if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
		d = sub;
	r->desc = xasprintf("collateral directory %s", d);
	if (read_file_buf(d, "tcb_info.json", &r->tcb_info, 0, err) != 0 ||
	    read_file_buf(d, "tcb_info_issuer_chain.pem", &r->tcb_chain, 0,
	    err) != 0 ||
	    read_file_buf(d, "qe_identity.json", &r->qe_identity, 0, err) != 0 ||
	    read_file_buf(d, "qe_identity_issuer_chain.pem", &r->qe_chain, 0,
	    err) != 0 ||
	    read_file_buf(d, "root_ca_crl.der", &crl, 0, err) != 0)
		goto fail;
	if (crl_to_der(crl.data, crl.len, &r->root_crl) != 0) {
		error_set(err, "%s/root_ca_crl.der is not a CRL", d);
		goto fail;
	}
	buf_free(&crl);
	rc = read_file_buf(d, platform_ca ? "pck_crl_platform.der" :
	    "pck_crl_processor.der", &crl, 1, err);
	if (rc == 1)
		rc = read_file_buf(d, "pck_crl.der", &crl, 0, err);
	if (rc != 0)
		goto fail;
	if (crl_to_der(crl.data, crl.len, &r->pck_crl) != 0) {
		error_set(err, "%s: the PCK CRL is not a CRL", d);
		goto fail;
	}
	if (read_file_buf(d, "pck_crl_issuer_chain.pem", &r->pck_crl_chain, 1,
	    err) < 0)
		goto fail;
	buf_free(&crl);
	free(sub);
	return 0;
fail:
	buf_free(&crl);
	free(sub);
	return -1;
}

/* ---- JSON bundle files --------------------------------------------------- */

/* {"<member>": <value>, "signature": "<sig>"} from a signed text. */
static void
body_from_parts(struct buf *out, const char *member, const char *text,
    size_t tlen, const char *sig)
{
	buf_printf(out, "{\"%s\":", member);
	buf_add(out, text, tlen);
	buf_printf(out, ",\"signature\":\"%s\"}", sig);
}

/* A PCS body given as an object (compact re-serialisation keeps Intel's
 * member order and separators) or as its exact text. */
static int
body_from_json(struct buf *out, const json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		buf_add(out, json_string_value(v), json_string_length(v));
		return 0;
	}
	if (!json_is_object(v))
		return -1;
	s = json_dumps(v, JSON_COMPACT);
	if (s == NULL)
		return -1;
	buf_addstr(out, s);
	free(s);
	return 0;
}

static const json_t *
get_early(const json_t *o, const char *name)
{
	char k[64];
	const json_t *v;

	snprintf(k, sizeof(k), "%s_early", name);
	v = json_object_get(o, k);
	return v != NULL && !json_is_null(v) ? v : json_object_get(o, name);
}

static int
src_pcstool(const char *path, const json_t *col, int tdx,
    const uint8_t fmspc[6], int platform_ca, struct dcap_raw *r,
    struct error *err)
{
	const json_t *infos, *e, *tcb = NULL, *qe, *crls, *crl, *certs, *c;
	const char *ctx = path;
	size_t i;

	infos = json_object_get(col, "tcbinfos");
	json_array_foreach(infos, i, e) {
		const json_t *f = json_object_get(e, "fmspc");
		uint8_t b[6];
		size_t n;

		if (json_is_string(f) && json_string_length(f) == 12 &&
		    hex_decode(json_string_value(f), b, 6, &n) == 0 &&
		    memcmp(b, fmspc, 6) == 0) {
			tcb = get_early(e, tdx ? "tdx_tcbinfo" : "sgx_tcbinfo");
			break;
		}
	}
	if (tcb == NULL) {
		char fm[13];

		hex_encode(fmspc, 6, fm);
		return error_set(err, "no %s TCB info for FMSPC %s in %s",
		    tdx ? "TDX" : "SGX", fm, ctx);
	}
	qe = get_early(col, tdx ? "tdqeidentity" : "qeidentity");
	crls = json_object_get(col, "pckcacrl");
	crl = json_object_get(crls, platform_ca ? "platformCrl" :
	    "processorCrl");
	certs = json_object_get(col, "certificates");
	if (qe == NULL)
		return error_set(err, "no %s in %s", tdx ? "tdqeidentity" :
		    "qeidentity", ctx);
	if (!json_is_string(crl))
		return error_set(err, "no pckcacrl.%s in %s", platform_ca ?
		    "platformCrl" : "processorCrl", ctx);
	if (body_from_json(&r->tcb_info, tcb) != 0 ||
	    body_from_json(&r->qe_identity, qe) != 0)
		return error_set(err, "malformed TCB info / QE identity in %s",
		    ctx);
	c = json_object_get(certs, "TCB-Info-Issuer-Chain");
	if (!json_is_string(c))
		return error_set(err, "no certificates.TCB-Info-Issuer-Chain "
		    "in %s", ctx);
	url_decode_into(&r->tcb_chain, json_string_value(c),
	    json_string_length(c));
	c = json_object_get(certs, "SGX-Enclave-Identity-Issuer-Chain");
	if (!json_is_string(c))
		return error_set(err, "no certificates.SGX-Enclave-Identity-"
		    "Issuer-Chain in %s", ctx);
	url_decode_into(&r->qe_chain, json_string_value(c),
	    json_string_length(c));
	c = json_object_get(json_object_get(certs,
	    "SGX-PCK-Certificate-Issuer-Chain"), platform_ca ? "PLATFORM" :
	    "PROCESSOR");
	if (json_is_string(c))
		url_decode_into(&r->pck_crl_chain, json_string_value(c),
		    json_string_length(c));
	if (crl_to_der((const uint8_t *)json_string_value(crl),
	    json_string_length(crl), &r->pck_crl) != 0)
		return error_set(err, "pckcacrl in %s is not a hex CRL", ctx);
	c = json_object_get(col, "rootcacrl");
	if (!json_is_string(c) || crl_to_der((const uint8_t *)
	    json_string_value(c), json_string_length(c), &r->root_crl) != 0)
		return error_set(err, "no hex rootcacrl in %s", ctx);
	return 0;
}

static int
src_qvl(const char *path, const json_t *o, struct dcap_raw *r,
    struct error *err)
{
	const char *k[] = { "tcb_info", "tcb_info_signature",
		"tcb_info_issuer_chain", "qe_identity", "qe_identity_signature",
		"qe_identity_issuer_chain", "pck_crl", "root_ca_crl" };
	const json_t *v[ARRAY_SIZE(k)], *pc;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(k); i++) {
		v[i] = json_object_get(o, k[i]);
		if (!json_is_string(v[i]))
			return error_set(err, "%s: \"%s\" missing or not a "
			    "string", path, k[i]);
	}
	body_from_parts(&r->tcb_info, "tcbInfo", json_string_value(v[0]),
	    json_string_length(v[0]), json_string_value(v[1]));
	buf_add(&r->tcb_chain, json_string_value(v[2]),
	    json_string_length(v[2]));
	body_from_parts(&r->qe_identity, "enclaveIdentity",
	    json_string_value(v[3]), json_string_length(v[3]),
	    json_string_value(v[4]));
	buf_add(&r->qe_chain, json_string_value(v[5]), json_string_length(v[5]));
	if (crl_to_der((const uint8_t *)json_string_value(v[6]),
	    json_string_length(v[6]), &r->pck_crl) != 0 ||
	    crl_to_der((const uint8_t *)json_string_value(v[7]),
	    json_string_length(v[7]), &r->root_crl) != 0)
		return error_set(err, "%s: pck_crl / root_ca_crl are not hex "
		    "CRLs", path);
	pc = json_object_get(o, "pck_crl_issuer_chain");
	if (json_is_string(pc))
		buf_add(&r->pck_crl_chain, json_string_value(pc),
		    json_string_length(pc));
	return 0;
}

static int
src_file(const char *path, int tdx, const uint8_t fmspc[6], int platform_ca,
    struct dcap_raw *r, struct error *err)
{
	uint8_t *data;
	size_t len;
	json_t *doc, *col;
	json_error_t je;
	int rc;

	if (file_read_all(path, SRC_MAX_FILE, &data, &len, err) != 0)
		return -1;
	doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	free(data);
	if (doc == NULL)
		return error_set(err, "%s: invalid JSON: %s (line %d)", path,
		    je.text, je.line);
	r->desc = xasprintf("collateral file %s", path);
	col = json_object_get(doc, "collaterals");
	if (json_is_object(col))
		rc = src_pcstool(path, col, tdx, fmspc, platform_ca, r, err);
	else if (json_object_get(doc, "tcb_info") != NULL)
		rc = src_qvl(path, doc, r, err);
	else
		rc = error_set(err, "%s: neither an Intel PCS Client Tool "
		    "bundle ({\"collaterals\": ...}) nor a collateral object "
		    "({\"tcb_info\": ...})", path);
	json_decref(doc);
	return rc;
}

/* ---- PCCS / PCS ---------------------------------------------------------- */

struct pccs_answer {
	struct buf body;
	struct buf chain;
};

static char *
cache_path(const char *dir, const char *url, const char *path,
    const char *ext)
{
	uint8_t md[32];
	char hex[65];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, url, strlen(url));
	EVP_DigestUpdate(ctx, "\n", 1);
	EVP_DigestUpdate(ctx, path, strlen(path));
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, 16, hex);
	return xasprintf("%s/%s.%s", dir, hex, ext);
}

/* 1 when a cached answer was loaded (fresh, or any age when stale_ok). */
static int
cache_load(const char *dir, const char *url, const char *path,
    int stale_ok, struct pccs_answer *a)
{
	char *pb, *pc;
	struct stat st;
	uint8_t *data = NULL;
	size_t len;
	struct error e;
	int ok = 0;

	if (dir == NULL)
		return 0;
	pb = cache_path(dir, url, path, "body");
	pc = cache_path(dir, url, path, "chain");
	if (stat(pb, &st) == 0 && (stale_ok ||
	    now_unix() - (int64_t)st.st_mtime < SRC_CACHE_TTL) &&
	    file_read_all(pb, SRC_MAX_FILE, &data, &len, &e) == 0) {
		buf_add(&a->body, data, len);
		free(data);
		if (file_read_all(pc, SRC_MAX_FILE, &data, &len, &e) == 0) {
			buf_add(&a->chain, data, len);
			free(data);
		}
		ok = 1;
	}
	free(pb);
	free(pc);
	return ok;
}

static void
cache_store(const char *dir, const char *url, const char *path,
    const struct pccs_answer *a)
{
	char *pb, *pc;
	struct error e;

	if (dir == NULL || dir_create(dir, 0700, &e) != 0)
		return;
	pb = cache_path(dir, url, path, "body");
	pc = cache_path(dir, url, path, "chain");
	(void)file_write_atomic(pc, a->chain.data ? a->chain.data :
	    (const uint8_t *)"", a->chain.len, 0600, &e);
	(void)file_write_atomic(pb, a->body.data ? a->body.data :
	    (const uint8_t *)"", a->body.len, 0600, &e);
	free(pb);
	free(pc);
}

/* The service's origin: Trustee ignores the configured path. */
static char *
pccs_origin(const char *url)
{
	const char *p = strstr(url, "://");
	const char *slash;

	if (p == NULL)
		return xstrdup(url);
	slash = strchr(p + 3, '/');
	return slash ? xstrndup(url, (size_t)(slash - url)) : xstrdup(url);
}

/* The host of a URL into host[cap]. */
static void
pccs_host(const char *url, char *host, size_t cap)
{
	const char *p = strstr(url, "://"), *e;
	size_t n;

	p = p ? p + 3 : url;
	e = p + strcspn(p, ":/?");
	n = (size_t)(e - p) < cap - 1 ? (size_t)(e - p) : cap - 1;
	memcpy(host, p, n);
	host[n] = 0;
}

/* The first URI of the pinned root's CRL distribution points, or NULL. */
static char *
root_crl_url(void)
{
	X509 *root = dcap_pinned_root();
	STACK_OF(DIST_POINT) *dps;
	char *url = NULL;
	int i, j;

	if (root == NULL)
		return NULL;
	dps = X509_get_ext_d2i(root, NID_crl_distribution_points, NULL, NULL);
	for (i = 0; dps != NULL && url == NULL && i < sk_DIST_POINT_num(dps);
	    i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		for (j = 0; url == NULL &&
		    j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname);
		    j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, j);

			if (gn->type == GEN_URI)
				url = xstrndup((const char *)
				    ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
				    (size_t)ASN1_STRING_length(
				    gn->d.uniformResourceIdentifier));
		}
	}
	CRL_DIST_POINTS_free(dps);
	return url;
}

static int
pccs_get(struct httpc **hc, const char *url, const char *cache_dir,
    const char *path, const char *chain_hdr, struct pccs_answer *a,
    struct error *err)
{
	struct httpc_response resp;
	struct error e;
	char *origin;

	if (cache_load(cache_dir, url, path, 0, a))
		return 0;
	origin = pccs_origin(url);
	if (*hc == NULL)
		*hc = httpc_new(origin, NULL, 15, &e);
	if (*hc == NULL) {
		free(origin);
		if (cache_load(cache_dir, url, path, 1, a))
			return 0;
		return error_set(err, "PCCS %s: %s", url, e.msg);
	}
	if (httpc_request(*hc, "GET", path, NULL, NULL, 0, &resp, &e) != 0) {
		if (cache_load(cache_dir, url, path, 1, a)) {
			free(origin);
			return 0;
		}
		error_set(err, "PCCS GET %s%s: %s", origin, path, e.msg);
		free(origin);
		return -1;
	}
	if (resp.status != 200) {
		error_set(err, "PCCS GET %s%s: HTTP %d%s", origin, path,
		    resp.status, resp.status == 404 ? " (no collateral for "
		    "this platform)" : "");
		httpc_response_clear(&resp);
		free(origin);
		return -1;
	}
	free(origin);
	buf_add(&a->body, resp.body.data, resp.body.len);
	if (chain_hdr != NULL) {
		char *h = httpc_response_header(&resp, chain_hdr);

		if (h == NULL) {
			httpc_response_clear(&resp);
			return error_set(err, "PCCS GET %s: no %s header", path,
			    chain_hdr);
		}
		url_decode_into(&a->chain, h, strlen(h));
		free(h);
	}
	httpc_response_clear(&resp);
	cache_store(cache_dir, url, path, a);
	return 0;
}

static int
src_pccs(const char *url, const char *cache_dir, int tdx,
    const uint8_t fmspc[6], int platform_ca, struct dcap_raw *r,
    struct error *err)
{
	struct httpc *hc = NULL;
	struct pccs_answer a[5];
	char fm[13], path[160], host[256];
	const char *tee = tdx ? "tdx" : "sgx";
	size_t i;
	int rc = -1;

	memset(a, 0, sizeof(a));
	hex_encode(fmspc, 6, fm);
	for (i = 0; fm[i]; i++)
		if (fm[i] >= 'a' && fm[i] <= 'f')
			fm[i] = (char)(fm[i] - 32);
	r->desc = xasprintf("PCCS %s", url);
	snprintf(path, sizeof(path), "/%s/certification/v4/tcb?fmspc=%s"
	    "&update=early", tee, fm);
	if (pccs_get(&hc, url, cache_dir, path, "TCB-Info-Issuer-Chain",
	    &a[0], err) != 0)
		goto out;
	snprintf(path, sizeof(path), "/%s/certification/v4/qe/identity"
	    "?update=early", tee);
	if (pccs_get(&hc, url, cache_dir, path,
	    "SGX-Enclave-Identity-Issuer-Chain", &a[1], err) != 0)
		goto out;
	snprintf(path, sizeof(path), "/sgx/certification/v4/pckcrl?ca=%s"
	    "&encoding=der", platform_ca ? "platform" : "processor");
	if (pccs_get(&hc, url, cache_dir, path, "SGX-PCK-CRL-Issuer-Chain",
	    &a[2], err) != 0)
		goto out;
	pccs_host(url, host, sizeof(host));
	if (strcmp(host, "api.trustedservices.intel.com") == 0) {
		/* Intel PCS has no rootcacrl endpoint: the root CA's CRL
		 * distribution point serves it (raw DER). */
		char *cdp = root_crl_url(), *o, *pth;
		struct httpc *h2 = NULL;

		if (cdp == NULL) {
			error_set(err, "the pinned Intel SGX Root CA has no "
			    "CRL distribution point");
			goto out;
		}
		o = pccs_origin(cdp);
		pth = xstrdup(cdp + strlen(o));
		rc = pccs_get(&h2, cdp, cache_dir, pth[0] ? pth : "/", NULL,
		    &a[3], err);
		httpc_free(h2);
		free(o);
		free(pth);
		free(cdp);
		if (rc != 0) {
			rc = -1;
			goto out;
		}
		rc = -1;
	} else if (pccs_get(&hc, url, cache_dir,
	    "/sgx/certification/v4/rootcacrl", NULL, &a[3], err) != 0)
		goto out;
	r->tcb_info = a[0].body;
	r->tcb_chain = a[0].chain;
	r->qe_identity = a[1].body;
	r->qe_chain = a[1].chain;
	r->pck_crl_chain = a[2].chain;
	memset(a, 0, 2 * sizeof(a[0]));
	a[2].chain.data = NULL;
	a[2].chain.len = a[2].chain.cap = 0;
	if (crl_to_der(a[2].body.data, a[2].body.len, &r->pck_crl) != 0) {
		error_set(err, "PCCS %s: the PCK CRL answer is not a CRL", url);
		goto out;
	}
	if (crl_to_der(a[3].body.data, a[3].body.len, &r->root_crl) != 0) {
		error_set(err, "PCCS %s: the root CA CRL answer is not a CRL",
		    url);
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < ARRAY_SIZE(a); i++) {
		buf_free(&a[i].body);
		buf_free(&a[i].chain);
	}
	httpc_free(hc);
	return rc;
}

int
dcap_source_key(char *out, size_t cap, struct error *err)
{
	const struct verifier_config *cfg = verifier_get_config();

	if (cfg != NULL && cfg->dcap_collateral != NULL) {
		snprintf(out, cap, "local:%s", cfg->dcap_collateral);
		return 0;
	}
	if (cfg != NULL && cfg->dcap_pccs_url != NULL) {
		snprintf(out, cap, "pccs:%s", cfg->dcap_pccs_url);
		return 0;
	}
	return error_set(err, "no DCAP collateral configured (set "
	    "dcap_collateral to a PCS body directory or PCS-tool bundle, or "
	    "dcap_pccs_url)");
}

int
dcap_source_fetch(const char *key, int tdx, const uint8_t fmspc[6],
    int platform_ca, struct dcap_raw *r, struct error *err)
{
	const struct verifier_config *cfg = verifier_get_config();

	struct stat st;

	memset(r, 0, sizeof(*r));
	if (strncmp(key, "local:", 6) == 0) {
		if (stat(key + 6, &st) != 0)
			return error_set(err, "DCAP collateral %s: %s", key + 6,
			    strerror(errno));
		if (S_ISDIR(st.st_mode))
			return src_dir(key + 6, tdx, fmspc, platform_ca, r,
			    err);
		return src_file(key + 6, tdx, fmspc, platform_ca, r, err);
	}
	if (strncmp(key, "pccs:", 5) == 0)
		return src_pccs(key + 5, cfg ? cfg->dcap_cache_dir : NULL, tdx,
		    fmspc, platform_ca, r, err);
	return error_set(err, "unknown DCAP collateral source %s", key);
}
