/*
 * amd_certs_ext.c: reading AMD VCEK/VLEK certificates (amd_certs.h): a
 * certificate from DER or PEM (DER consumed exactly, size bounded), and
 * the AMD extensions (TCB SPLs 1.3.6.1.4.1.3704.1.3.x, hwID .1.4) through
 * small bounded DER readers of the extension values.
 */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "amd_certs_internal.h"

/* DER contents of the AMD OIDs: 1.3.6.1.4.1.3704.1.3.x and .1.4 */
static const uint8_t amd_oid_tcb[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x03,
};
static const uint8_t amd_oid_hwid[] = {
	0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x04,
};

/* ---- bounded DER readers for the extension values ---- */

int
amd_certs_ext_int(const uint8_t *p, size_t len, uint8_t *out,
    struct error *err)
{
	size_t clen, i;

	if (len < 3)
		return error_set(err, "extension value is %zu bytes, too short "
		    "for a DER INTEGER", len);
	if (p[0] != 0x02)
		return error_set(err, "extension value is not a DER INTEGER "
		    "(tag 0x%02x)", p[0]);
	if (p[1] & 0x80)
		return error_set(err, "DER INTEGER uses a long-form length "
		    "(0x%02x) for a small value", p[1]);
	clen = p[1];
	if (clen == 0 || clen != len - 2)
		return error_set(err, "DER INTEGER length %zu does not match "
		    "the %zu content bytes", clen, len - 2);
	if (p[2] & 0x80)
		return error_set(err, "DER INTEGER is negative");
	for (i = 2; i + 1 < len && p[i] == 0; i++)
		;
	if (len - i > 1)
		return error_set(err, "DER INTEGER exceeds 255");
	*out = p[i];
	return 0;
}

int
amd_certs_ext_hwid(const uint8_t *p, size_t len, uint8_t out[64],
    size_t *outlen, struct error *err)
{
	if (len >= 2 && p[0] == 0x04 && p[1] == len - 2 &&
	    (len - 2 == 64 || len - 2 == 8)) {
		memcpy(out, p + 2, len - 2);
		*outlen = len - 2;
		return 0;
	}
	if (len == 64 || len == 8) {
		memcpy(out, p, len);
		*outlen = len;
		return 0;
	}
	return error_set(err, "hwID extension is %zu bytes: expected 64 (or "
	    "8) raw bytes or a DER OCTET STRING of them", len);
}

/* Parse DER or PEM into an X509; DER must be consumed exactly. */
/* Parse DER or PEM into an X509; DER must be consumed exactly. */
X509 *
amd_certs_load(const uint8_t *buf, size_t len, const char *what,
    struct error *err)
{
	X509 *x = NULL;

	if (len == 0 || len > AMD_CERT_MAX) {
		error_set(err, "%s certificate: %zu bytes", what, len);
		return NULL;
	}
	if (len > 11 && memcmp(buf, "-----BEGIN ", 11) == 0) {
		BIO *b = BIO_new_mem_buf(buf, (int)len);

		if (b != NULL)
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		BIO_free(b);
	} else {
		const unsigned char *q = buf;

		x = d2i_X509(NULL, &q, (long)len);
		if (x != NULL && q != buf + len) {
			X509_free(x);
			ERR_clear_error();
			error_set(err, "%s certificate: %zu trailing bytes after "
			    "the DER certificate", what, (size_t)(buf + len - q));
			return NULL;
		}
	}
	if (x == NULL) {
		ERR_clear_error();
		error_set(err, "%s certificate: not a DER or PEM X.509 "
		    "certificate", what);
	}
	return x;
}

int
amd_certs_vek_ext(const uint8_t *cert, size_t len, struct amd_vek_ext *out,
    struct error *err)
{
	X509 *x;
	int i, n, rc = -1;

	memset(out, 0, sizeof(*out));
	if ((x = amd_certs_load(cert, len, "VEK", err)) == NULL)
		return -1;
	n = X509_get_ext_count(x);
	for (i = 0; i < n; i++) {
		X509_EXTENSION *e = X509_get_ext(x, i);
		const ASN1_OBJECT *o = X509_EXTENSION_get_object(e);
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);
		const unsigned char *od = OBJ_get0_data(o);
		size_t ol = OBJ_length(o);
		const uint8_t *vd;
		size_t vl;
		uint8_t *dst = NULL;
		int *has = NULL;
		const char *name = NULL;

		if (od == NULL || v == NULL)
			continue;
		vd = ASN1_STRING_get0_data(v);
		vl = (size_t)ASN1_STRING_length(v);
		if (ol == sizeof(amd_oid_hwid) &&
		    memcmp(od, amd_oid_hwid, ol) == 0) {
			if (out->hwid_len != 0) {
				error_set(err, "VEK certificate has two hwID "
				    "extensions");
				goto out;
			}
			if (amd_certs_ext_hwid(vd, vl, out->hwid,
			    &out->hwid_len, err) < 0) {
				error_prefix(err, "VEK certificate");
				goto out;
			}
			continue;
		}
		if (ol != sizeof(amd_oid_tcb) + 1 ||
		    memcmp(od, amd_oid_tcb, sizeof(amd_oid_tcb)) != 0)
			continue;
		switch (od[sizeof(amd_oid_tcb)]) {
		case 1: dst = &out->bl; has = &out->has_bl; name = "blSPL"; break;
		case 2: dst = &out->tee; has = &out->has_tee; name = "teeSPL"; break;
		case 3: dst = &out->snp; has = &out->has_snp; name = "snpSPL"; break;
		case 8: dst = &out->ucode; has = &out->has_ucode; name = "ucodeSPL"; break;
		case 9: dst = &out->fmc; has = &out->has_fmc; name = "fmcSPL"; break;
		default: continue;
		}
		if (*has) {
			error_set(err, "VEK certificate has two %s extensions",
			    name);
			goto out;
		}
		if (amd_certs_ext_int(vd, vl, dst, err) < 0) {
			error_prefix(err, "VEK certificate %s extension", name);
			goto out;
		}
		*has = 1;
	}
	rc = 0;
out:
	X509_free(x);
	return rc;
}
