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
 *
 * events may be NULL (replay only, no JSON built). On failure *events is
 * NULL and rtmr is all zero. EV_NO_ACTION events are never extended.
 * Digests of other algorithms are listed but not replayed.
 *
 * Note for TDX tests: testvectors/tdx-v4-ccel/ccel.bin (Trustee's
 * CCEL_data) replays to RTMR0 2dc71230..., RTMR1 0fa3be56... (as
 * Trustee's eventlog tests state), NOT to the RTMRs of quote.bin next to
 * it (e940da7c..., 559cfcf4...): that pair must be rejected by a replay
 * check, whatever MANIFEST.md says (tests/unit/test_ccel.c pins this).
 */
int ccel_replay(const uint8_t *log, size_t len, uint8_t rtmr[4][48],
    json_t **events, struct error *err);

#endif
