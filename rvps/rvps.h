/*
 * rvps.h: the reference value provider service (RVPS): reference values
 * that attestation policies are judged against, kept in the encrypted
 * store (table "rv"), with expiry and revocation that Trustee lacks.
 *
 * Model of one reference value (JSON record, as listed and returned by
 * rvps_get/rvps_list):
 *   {"name": str, "value": any JSON, "version": int (1, 2, ... per name),
 *    "created": RFC3339, "expiration": RFC3339 (default created + 12
 *    months), "revoked": null | {"by": str, "at": RFC3339, "reason": str},
 *    "state": "valid" | "expired" | "revoked" (computed at the query time)}
 * Adding a name again replaces its value with version + 1 (and clears any
 * revocation). Expired or revoked values are never returned by
 * rvps_query, yet stay visible in listings with their state.
 *
 * Thread-safe after rvps_init.
 */
#ifndef TRUSTEE_RVPS_H
#define TRUSTEE_RVPS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

struct store;

#define RVPS_NAME_MAX 256		/* bytes; any UTF-8 but control chars */
#define RVPS_DEFAULT_LIFETIME (365 * 86400)

int rvps_init(struct store *st, struct error *err);
void rvps_shutdown(void);

/*
 * The value a policy sees for name at time now: a new reference, or NULL
 * when the name is unknown, expired or revoked (never an error: a policy
 * simply sees no reference value). This is trustee.rv(name).
 */
json_t *rvps_query(const char *name, int64_t now);

/* Add or replace (version + 1). expiration 0: now + RVPS_DEFAULT_LIFETIME;
 * an expiration in the past is an error. who names the admin identity
 * (audit). On success *record (if not NULL) is the new record. */
int rvps_add(const char *name, const json_t *value, int64_t expiration,
    const char *who, json_t **record, struct error *err);
/* 0 found (*record new ref, with "state"), 1 unknown, -1 error. */
int rvps_get(const char *name, int64_t now, json_t **record,
    struct error *err);
/* All records sorted by name, with "state". */
int rvps_list(int64_t now, json_t **records, struct error *err);
/* Mark revoked. 0 ok, 1 unknown name, -1 error (already revoked is ok). */
int rvps_revoke(const char *name, const char *who, const char *reason,
    struct error *err);

/*
 * Register a Trustee RVPS message envelope
 * {"version":"0.1.0","type":"sample"|"swid"|"corim","payload":"<base64>"}
 * (reference/attestation-service.md §5). All values are extracted and
 * checked first; nothing is stored unless all of them can be.
 * *names (if not NULL) is a new array of the names added.
 */
int rvps_register(const char *msg, size_t len, const char *who,
    json_t **names, struct error *err);

/* Extractors (rvps/extract_*.c): payload bytes (already base64-decoded)
 * to a new object {name: value, ...}. Bad input: -1 and a precise reason. */
int rvps_extract_sample(const uint8_t *payload, size_t len, json_t **out,
    struct error *err);
int rvps_extract_swid(const uint8_t *payload, size_t len, json_t **out,
    struct error *err);
int rvps_extract_corim(const uint8_t *payload, size_t len, json_t **out,
    struct error *err);

#endif
