/*
 * ccel.h: the TDX CC event log (ACPI CCEL table data, a TCG crypto-agile
 * event log) and its replay into RTMRs (reference/attestation-service.md
 * §1.4 step 6 and §1.15).
 */
#ifndef TRUSTEE_CCEL_H
#define TRUSTEE_CCEL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

/*
 * Parse the log and replay it: for CC-MR index i in 1..4, start from 48
 * zero bytes and for each event with that index and a SHA-384 digest
 * acc = SHA384(acc || digest); rtmr[i-1] gets the result. *events is a new
 * array of the entries in Trustee's `uefi_event_logs` layout ({index,
 * type_name, digests, event, details, digest_matches_event}). -1 with a
 * precise reason (offset) on malformed input.
 */
int ccel_replay(const uint8_t *log, size_t len, uint8_t rtmr[4][48],
    json_t **events, struct error *err);

#endif
