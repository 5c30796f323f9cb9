/*
 * nvidia_fwid.c: the FWID of an NVIDIA device certificate: the SHA-384
 * digest in its extension 2.23.133.5.4.1, in NVIDIA's {INTEGER,
 * SubjectPublicKeyInfo, FWID} form or TCG DICE TcbInfo's [6] fwids.
 * Contract: exactly one extension holding exactly one SHA-384 FWID, else
 * an error naming what was found.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nvidia.h"
#include "nvidia_internal.h"

#define NVIDIA_FWID_OID		"2.23.133.5.4.1"

/* A SEQUENCE {OID sha384, OCTET STRING[48]} (a FWID): 1 and its digest,
 * 0 for anything else. */
static int
nvidia_fwid_item(const unsigned char *der, long len,
    uint8_t fwid[NVIDIA_FWID_LEN])
{
	const unsigned char *p = der;
	ASN1_SEQUENCE_ANY *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
	const ASN1_TYPE *alg, *dig;
	int found = 0;

	if (seq == NULL)
		return 0;
	if (p == der + len && sk_ASN1_TYPE_num(seq) == 2) {
		alg = sk_ASN1_TYPE_value(seq, 0);
		dig = sk_ASN1_TYPE_value(seq, 1);
		if (alg->type == V_ASN1_OBJECT &&
		    OBJ_obj2nid(alg->value.object) == NID_sha384 &&
		    dig->type == V_ASN1_OCTET_STRING &&
		    ASN1_STRING_length(dig->value.octet_string) ==
		    NVIDIA_FWID_LEN) {
			memcpy(fwid, ASN1_STRING_get0_data(
			    dig->value.octet_string), NVIDIA_FWID_LEN);
			found = 1;
		}
	}
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	ERR_clear_error();
	return found;
}

/* Count the SHA-384 FWIDs in a SEQUENCE OF FWID (DER, any outer tag). */
static int
nvidia_fwid_list(const unsigned char *der, long len,
    uint8_t fwid[NVIDIA_FWID_LEN])
{
	unsigned char *copy;
	const unsigned char *p;
	ASN1_SEQUENCE_ANY *seq;
	int i, found = 0;

	if (len < 2)
		return 0;
	copy = xmalloc((size_t)len);
	memcpy(copy, der, (size_t)len);
	copy[0] = 0x30;		/* [6] IMPLICIT SEQUENCE OF -> SEQUENCE OF */
	p = copy;
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
	if (seq != NULL && p == copy + len) {
		for (i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
			const ASN1_TYPE *t = sk_ASN1_TYPE_value(seq, i);

			if (t->type == V_ASN1_SEQUENCE)
				found += nvidia_fwid_item(
				    t->value.sequence->data,
				    t->value.sequence->length, fwid);
		}
	}
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	ERR_clear_error();
	free(copy);
	return found;
}

int
nvidia_fwid_x509(X509 *x, uint8_t fwid[NVIDIA_FWID_LEN], struct error *err)
{
	ASN1_OBJECT *oid = OBJ_txt2obj(NVIDIA_FWID_OID, 1);
	const ASN1_OCTET_STRING *os;
	const unsigned char *p;
	ASN1_SEQUENCE_ANY *seq = NULL;
	int idx, i, found = 0;

	if (oid == NULL)
		return error_set(err, "out of memory");
	idx = X509_get_ext_by_OBJ(x, oid, -1);
	if (idx >= 0 && X509_get_ext_by_OBJ(x, oid, idx) >= 0) {
		ASN1_OBJECT_free(oid);
		return error_set(err, "the device certificate has two FWID "
		    "extensions (%s)", NVIDIA_FWID_OID);
	}
	ASN1_OBJECT_free(oid);
	if (idx < 0)
		return error_set(err, "the device certificate has no FWID "
		    "extension (%s)", NVIDIA_FWID_OID);
	os = X509_EXTENSION_get_data(X509_get_ext(x, idx));
	p = ASN1_STRING_get0_data(os);
	seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(os));
	if (seq == NULL || p != ASN1_STRING_get0_data(os) +
	    ASN1_STRING_length(os)) {
		sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
		ERR_clear_error();
		return error_set(err, "the FWID extension (%s) is not a DER "
		    "SEQUENCE", NVIDIA_FWID_OID);
	}
	for (i = 0; i < sk_ASN1_TYPE_num(seq); i++) {
		const ASN1_TYPE *t = sk_ASN1_TYPE_value(seq, i);
		const ASN1_STRING *s;

		if (t->type == V_ASN1_SEQUENCE) {
			s = t->value.sequence;
			found += nvidia_fwid_item(ASN1_STRING_get0_data(s),
			    ASN1_STRING_length(s), fwid);
		} else if (t->type == V_ASN1_OTHER && t->value.asn1_string !=
		    NULL && ASN1_STRING_length(t->value.asn1_string) > 0 &&
		    ASN1_STRING_get0_data(t->value.asn1_string)[0] == 0xa6) {
			/* TCG DICE TcbInfo: fwids [6] IMPLICIT FWIDLIST */
			s = t->value.asn1_string;
			found += nvidia_fwid_list(ASN1_STRING_get0_data(s),
			    ASN1_STRING_length(s), fwid);
		}
	}
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	if (found != 1)
		return error_set(err, "the FWID extension (%s) holds %d "
		    "SHA-384 FWIDs (expected one)", NVIDIA_FWID_OID, found);
	return 0;
}

int
nvidia_cert_fwid(const uint8_t *der, size_t len,
    uint8_t fwid[NVIDIA_FWID_LEN], struct error *err)
{
	const unsigned char *p = der;
	X509 *x;
	int rc;

	if (len > NVIDIA_CERTS_MAX ||
	    (x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return error_set(err, "not a DER certificate");
	}
	rc = nvidia_fwid_x509(x, fwid, err);
	X509_free(x);
	return rc;
}
