/*
 * spdm.h: a bounded parser for the DMTF SPDM 1.1 (DSP0274 1.1) exchange
 * that device attestation reports carry: a GET_MEASUREMENTS request
 * followed by its signed MEASUREMENTS response, as NVIDIA GPUs return
 * them (reference/attestation-service.md §1.13).
 *
 * Layout (all integers little-endian):
 *   request (37 bytes): SPDMVersion, RequestResponseCode 0xE0, Param1
 *     (bit 0: signature requested), Param2 (measurement operation: 0xFF
 *     all, 1..0xFE one index, 0 count only), Nonce[32], SlotIDParam;
 *   response: SPDMVersion, RequestResponseCode 0x60, Param1, Param2,
 *     NumberOfBlocks, MeasurementRecordLength (u24), MeasurementRecord
 *     (blocks {Index, MeasurementSpecification = 1 (DMTF), u16
 *     MeasurementSize, DMTF measurement {u8 type, u16 size, value}}),
 *     Nonce[32], u16 OpaqueLength, OpaqueData, Signature.
 * The signature covers every byte before it, request included.
 *
 * The parser points into the caller's buffer (keep it alive) and checks
 * every length against what is left; it refuses another SPDM version,
 * wrong codes, a request that does not ask for a signature or only for
 * the count, a record length that its blocks do not fill exactly, a block
 * not in the DMTF layout or whose DMTF size disagrees with its own,
 * duplicate or reserved indices, a block for another index than the one
 * requested, opaque data longer than SPDM's 1024 bytes, a short
 * signature, and bytes after the signature unless they are zero padding
 * (they are not signed, so they may carry no information).
 */
#ifndef TRUSTEE_SPDM_H
#define TRUSTEE_SPDM_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

#define SPDM_VERSION_11		0x11
#define SPDM_GET_MEASUREMENTS	0xe0
#define SPDM_MEASUREMENTS	0x60
#define SPDM_NONCE_LEN		32
#define SPDM_REQUEST_LEN	37	/* with a signature requested */
#define SPDM_OPAQUE_MAX		1024	/* DSP0274 1.1: OpaqueLength limit */
#define SPDM_MAX_BLOCKS		254	/* indices 1..0xFE */
#define SPDM_SPEC_DMTF		0x01

/* One measurement block (DMTF layout). */
struct spdm_block {
	uint8_t index;			/* 1..0xFE */
	uint8_t value_type;		/* DMTFSpecMeasurementValueType */
	const uint8_t *value;		/* into the report */
	uint16_t value_len;
};

struct spdm_measurements {
	/* the request */
	uint8_t version;
	uint8_t req_param1, req_param2;
	const uint8_t *req_nonce;	/* SPDM_NONCE_LEN bytes */
	uint8_t slot_id;
	/* the response */
	uint8_t param1, param2;
	unsigned nblocks;
	size_t record_len;
	struct spdm_block blocks[SPDM_MAX_BLOCKS];
	const uint8_t *resp_nonce;	/* SPDM_NONCE_LEN bytes */
	const uint8_t *opaque;
	size_t opaque_len;
	const uint8_t *signature;
	size_t signature_len;
	size_t signed_len;		/* the signature covers [0, signed_len) */
	size_t trailing;		/* zero bytes after the signature */
};

/*
 * Parse request || response (buf, len) whose signature is sig_len bytes
 * (96 for ECDSA P-384 r||s). 0, or -1 with the field and offset that is
 * wrong in err. *m is fully overwritten.
 */
int spdm_parse_measurements(const uint8_t *buf, size_t len, size_t sig_len,
    struct spdm_measurements *m, struct error *err);

#endif
