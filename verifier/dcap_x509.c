/*
 * dcap_x509.c: the certificate and CRL checks of the DCAP code: chains to
 * the pinned Intel SGX Root CA (a self-issued certificate in a chain must
 * be that root; times are not checked by the chain check), certificate
 * validity periods and the "expired / not yet valid" check of a window at
 * a verification time, CRL parsing (DER, thisUpdate and nextUpdate
 * required) and revocation of a certificate by a CRL.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dcap_internal.h"

static pthread_once_t store_once = PTHREAD_ONCE_INIT;
static X509_STORE *root_store;

static void
store_init(void)
{
	X509 *root = dcap_pinned_root();

	if (root == NULL)
		return;
	root_store = X509_STORE_new();
	if (root_store != NULL && X509_STORE_add_cert(root_store, root) != 1) {
		X509_STORE_free(root_store);
		root_store = NULL;
	}
}

int
dcap_x509_der_equal(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la = i2d_X509(a, &da), lb = i2d_X509(b, &db), eq;

	eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	return eq;
}

/*
 * Verify sk[0] up to the pinned root, the other certificates of sk being
 * untrusted intermediates. A self-issued certificate in sk must be
 * byte-identical to the pinned root. Times are not checked here (the
 * callers check every window at each verification time).
 */
int
dcap_x509_verify_to_root(STACK_OF(X509) *sk, const char *what,
    struct error *err)
{
	X509 *root = dcap_pinned_root();
	STACK_OF(X509) *untrusted = NULL;
	X509_STORE_CTX *ctx = NULL;
	char cn[64];
	int i, rc = -1;

	pthread_once(&store_once, store_init);
	if (root == NULL || root_store == NULL)
		return error_set(err, "the pinned Intel SGX Root CA "
		    "(verifier/roots/intel/intel_sgx_root_ca.pem) is not "
		    "available in this build");
	untrusted = sk_X509_new_null();
	if (untrusted == NULL)
		return error_set(err, "out of memory");
	for (i = 1; i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);

		if (X509_check_issued(x, x) == X509_V_OK) {
			if (!dcap_x509_der_equal(x, root)) {
				dcap_name_cn(X509_get_subject_name(x), cn,
				    sizeof(cn));
				error_set(err, "%s: the root certificate \"%s\" "
				    "in the chain is not the pinned Intel SGX "
				    "Root CA", what, cn);
				goto out;
			}
			continue;
		}
		sk_X509_push(untrusted, x);
	}
	ctx = X509_STORE_CTX_new();
	if (ctx == NULL || X509_STORE_CTX_init(ctx, root_store,
	    sk_X509_value(sk, 0), untrusted) != 1) {
		error_set(err, "out of memory");
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		int d = X509_STORE_CTX_get_error_depth(ctx);
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);

		dcap_name_cn(bad ? X509_get_subject_name(bad) : NULL, cn,
		    sizeof(cn));
		error_set(err, "%s: the certificate chain does not verify to "
		    "the pinned Intel SGX Root CA: %s (depth %d, \"%s\")",
		    what, X509_verify_cert_error_string(e), d, cn);
		goto out;
	}
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	return rc;
}

int
dcap_x509_cert_times(X509 *x, int64_t *nb, int64_t *na, char *cn, size_t cap,
    struct error *err)
{
	dcap_name_cn(X509_get_subject_name(x), cn, cap);
	if (dcap_asn1_time(X509_get0_notBefore(x), nb) != 0 ||
	    dcap_asn1_time(X509_get0_notAfter(x), na) != 0)
		return error_set(err, "certificate \"%s\" has an unreadable "
		    "validity period", cn);
	return 0;
}

int
dcap_x509_check_window(const char *kind, const char *what, int64_t from,
    int64_t to, const char *from_name, const char *to_name, int64_t now,
    struct error *err)
{
	char a[TIME_RFC3339_LEN], b[TIME_RFC3339_LEN];

	time_format_rfc3339(now, b);
	if (now > to) {
		time_format_rfc3339(to, a);
		return error_set(err, "%s expired: %s %s %s is before the "
		    "verification time %s", kind, what, to_name, a, b);
	}
	if (now < from) {
		time_format_rfc3339(from, a);
		return error_set(err, "%s not yet valid: %s %s %s is after the "
		    "verification time %s", kind, what, from_name, a, b);
	}
	return 0;
}

long
dcap_x509_crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
	    NULL);
	long v = 0;

	if (n != NULL) {
		v = ASN1_INTEGER_get(n);
		ASN1_INTEGER_free(n);
	}
	return v < 0 ? 0 : v;
}

X509_CRL *
dcap_x509_crl_parse(const struct buf *b, const char *what, int64_t *this_upd,
    int64_t *next_upd, struct error *err)
{
	const unsigned char *p = b->data;
	X509_CRL *crl;

	if (b->len == 0 || b->len > 16u * 1024 * 1024) {
		error_set(err, "%s: missing or oversized", what);
		return NULL;
	}
	crl = d2i_X509_CRL(NULL, &p, (long)b->len);
	if (crl == NULL || p != b->data + b->len) {
		X509_CRL_free(crl);
		error_set(err, "%s: not a DER CRL", what);
		return NULL;
	}
	if (dcap_asn1_time(X509_CRL_get0_lastUpdate(crl), this_upd) != 0 ||
	    X509_CRL_get0_nextUpdate(crl) == NULL ||
	    dcap_asn1_time(X509_CRL_get0_nextUpdate(crl), next_upd) != 0) {
		X509_CRL_free(crl);
		error_set(err, "%s: no readable thisUpdate/nextUpdate", what);
		return NULL;
	}
	return crl;
}

int
dcap_x509_crl_check_cert(X509_CRL *crl, X509 *x, const char *crlname,
    struct error *err)
{
	X509_REVOKED *rev = NULL;
	char cn[64], *ser;
	BIGNUM *bn;

	if (X509_CRL_get0_by_cert(crl, &rev, x) == 1 && rev != NULL) {
		dcap_name_cn(X509_get_subject_name(x), cn, sizeof(cn));
		bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		ser = bn ? BN_bn2hex(bn) : NULL;
		error_set(err, "certificate \"%s\" (serial %s) is revoked by "
		    "the %s", cn, ser ? ser : "?", crlname);
		OPENSSL_free(ser);
		BN_free(bn);
		return -1;
	}
	return 0;
}
