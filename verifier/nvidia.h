/*
 * nvidia.h: the NVIDIA GPU verifier's parts (nvidia*.c), exposed for the
 * unit tests and fuzzers. The backend itself is verifier_nvidia
 * (verifier.h).
 *
 * Evidence (reference/attestation-service.md §1.13):
 *   {"device_evidence_list": [{"arch": "Hopper"|"HOPPER"|"Blackwell"|
 *     "BLACKWELL"|"LS10", "uuid"?: str (default "unknown"),
 *     "evidence": hex or standard base64 of the SPDM report (spdm.h),
 *     "certificate": standard base64 of the PEM certificate chain, leaf
 *     first}]}
 * Local mode only (no NRAS): Hopper GPUs are verified here; Blackwell
 * GPUs and LS10 switches are reported as not verifiable by this build.
 */
#ifndef TRUSTEE_NVIDIA_H
#define TRUSTEE_NVIDIA_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"
#include "verifier.h"

#define NVIDIA_SIG_LEN		96	/* ECDSA P-384 r||s */
#define NVIDIA_FWID_LEN		48	/* SHA-384 */
#define NVIDIA_ROOT_PATH	"verifier/roots/nvidia/device_identity_ca.pem"
#define NVIDIA_EVIDENCE_MAX	(64 * 1024)	/* chars of one report */
#define NVIDIA_CERTS_MAX	(64 * 1024)	/* chars of one chain */
#define NVIDIA_CHAIN_MAX	8		/* certificates in a chain */

enum nvidia_arch {
	NVIDIA_HOPPER,
	NVIDIA_BLACKWELL,
	NVIDIA_LS10,
};

/* One entry of device_evidence_list, pointing into the evidence JSON. */
struct nvidia_device {
	enum nvidia_arch arch;
	const char *arch_name;		/* "Hopper", "Blackwell", "LS10" */
	const char *tee_class;		/* "gpu" or "switch" */
	const char *uuid;
	const char *evidence;
	size_t evidence_len;
	const char *certificate;
	size_t certificate_len;
};

/* The list, checked for shape only (no decoding, no crypto): 1..cap
 * devices. */
int nvidia_parse_evidence(const json_t *ev, struct nvidia_device *out,
    size_t cap, size_t *n, struct error *err);

/* A report as the evidence carries it: hex (either case), else standard
 * base64 (Trustee's order). *out is malloc'd. */
int nvidia_decode_report(const char *s, size_t len, uint8_t **out,
    size_t *outlen, struct error *err);

/*
 * NVIDIA's opaque data (u16 type, u16 length, value; little-endian) as
 * the "config" claims, named as Trustee names them (driver_version,
 * vbios_version, measurement_count, fwid, ...); fwid[] gets the type 20
 * value. Both versions and the 48-byte FWID are required; a duplicate
 * type, a truncated item or a malformed value is an error. Types this
 * build does not know become "type_<n>" with the hex value (they are
 * signed, so keeping them is harmless).
 */
int nvidia_opaque_claims(const uint8_t *p, size_t len, json_t **config,
    uint8_t fwid[NVIDIA_FWID_LEN], struct error *err);

/*
 * The FWID of a device certificate: the SHA-384 digest of the FWID in its
 * extension 2.23.133.5.4.1 (NVIDIA's {INTEGER, SubjectPublicKeyInfo,
 * FWID} or TCG DICE TcbInfo's [6] fwids). der is the whole certificate.
 */
int nvidia_cert_fwid(const uint8_t *der, size_t len,
    uint8_t fwid[NVIDIA_FWID_LEN], struct error *err);

/* Forget the verified certificate chains (tests). */
void nvidia_cache_clear(void);

#endif
