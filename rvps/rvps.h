/*
 * rvps.h: the reference value provider service (RVPS): reference values
 * that attestation policies are judged against, kept in the encrypted
 * store (table "rv"), with expiry and revocation that Trustee lacks.
 *
 * Model of one reference value (JSON record, as listed and returned by
 * rvps_get/rvps_list; members in this order):
 *   {"name": str, "version": int (1, 2, ... per name), "value": any JSON,
 *    "created": RFC3339, "expiration": RFC3339 (default created + 12
 *    months), "added_by": str (the admin identity that wrote this
 *    version; "" when unknown), "revoked": null | {"by": str, "at":
 *    RFC3339, "reason": str},
 *    "state": "valid" | "expired" | "revoked" (computed at the query time;
 *    revoked wins over expired; expired means now >= expiration)}
 * Times are "YYYY-MM-DDTHH:MM:SSZ" (UTC, Trustee's format). The stored
 * row is the record without "state".
 * Adding a name again replaces its value with version + 1 (and clears any
 * revocation). Expired or revoked values are never returned by
 * rvps_query, yet stay visible in listings with their state.
 *
 * Storage: table "rv" holds one row per name (the current record); every
 * version written is also kept in table "rv_history" (row "<name>\x1f<v>",
 * the record as written, updated on revocation), the newest
 * RVPS_HISTORY_KEEP versions per name. The store is the source of truth;
 * rvps_query reads an in-memory copy loaded by rvps_init, updated by every
 * write of this process and reloaded from the store by rvps_list,
 * rvps_reload, and lazily by rvps_query once it is RVPS_REFRESH_S seconds
 * old (so writes by another trusteed sharing the store are seen within
 * that time). Writes in one process are serialized; two processes writing
 * the same name at once may both write the same version number.
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

#define RVPS_NAME_MAX 256		/* bytes; any UTF-8 but control chars
					 * (U+0000..U+001F, U+007F..U+009F) */
#define RVPS_DEFAULT_LIFETIME (365 * 86400)
#define RVPS_EXPIRATION_MAX 253402300799LL	/* 9999-12-31T23:59:59Z */
#define RVPS_VALUE_MAX (1024 * 1024)	/* bytes of a value as compact JSON */
#define RVPS_WHO_MAX 256		/* bytes of who (no control chars) */
#define RVPS_REASON_MAX 1024		/* bytes of a revocation reason */
#define RVPS_PAYLOAD_MAX (4 * 1024 * 1024)	/* decoded envelope payload */
#define RVPS_REGISTER_MAX 4096		/* values from one envelope */
#define RVPS_HISTORY_KEEP 16		/* versions kept per name */
#define RVPS_REFRESH_S 30		/* rvps_query's reload interval */

/* Whether name can name a reference value (1..RVPS_NAME_MAX bytes of
 * UTF-8, no control character): 0, or -1 with the reason. Every function
 * below taking a name checks it the same way and fails with -1; callers
 * that must tell a bad request from a store failure check first. */
int rvps_check_name(const char *name, struct error *err);

/* Load table "rv" into memory. st stays borrowed until rvps_shutdown. A
 * malformed stored record fails with its name. May be called again after
 * rvps_shutdown (with another store). */
int rvps_init(struct store *st, struct error *err);
void rvps_shutdown(void);
/* Reload the in-memory copy from the store now. */
int rvps_reload(struct error *err);

/*
 * The value a policy sees for name at time now: a new reference, or NULL
 * when the name is unknown, expired or revoked (never an error: a policy
 * simply sees no reference value). This is trustee.rv(name).
 */
json_t *rvps_query(const char *name, int64_t now);

/* Add or replace (version + 1). expiration 0: now + RVPS_DEFAULT_LIFETIME;
 * an expiration not after now, or after RVPS_EXPIRATION_MAX, is an error.
 * who names the admin identity (audit; NULL = ""). A bad name (see
 * RVPS_NAME_MAX), a value larger than RVPS_VALUE_MAX or a bad who is an
 * error. On success *record (if not NULL) is the new record (with
 * "state"). */
int rvps_add(const char *name, const json_t *value, int64_t expiration,
    const char *who, json_t **record, struct error *err);
/* 0 found (*record new ref, with "state"), 1 unknown, -1 error (a name
 * that can never exist, e.g. too long, is an error). Reads the store. */
int rvps_get(const char *name, int64_t now, json_t **record,
    struct error *err);
/* All records sorted by name (bytewise), with "state". Reads the store
 * (and refreshes the in-memory copy). */
int rvps_list(int64_t now, json_t **records, struct error *err);
/* Mark revoked (who and reason as for rvps_add; reason NULL = "").
 * 0 ok, 1 unknown name, -1 error. Already revoked is ok and keeps the
 * first revocation. */
int rvps_revoke(const char *name, const char *who, const char *reason,
    struct error *err);
/* Remove a name and its history for good (prefer rvps_revoke, which keeps
 * the record). 0 deleted, 1 unknown name, -1 error. */
int rvps_delete(const char *name, struct error *err);
/* The kept versions of name, newest first, each with "state" (as in the
 * model, plus "superseded" for any version older than the current one).
 * 0 found, 1 unknown (no current record and no history), -1 error. */
int rvps_history(const char *name, int64_t now, json_t **records,
    struct error *err);

/*
 * Register a Trustee RVPS message envelope
 * {"version":"0.1.0","type":"sample"|"swid"|"corim","payload":"<base64>"}
 * (reference/attestation-service.md §5). All values are extracted and
 * checked first; nothing is stored unless all of them can be (a store
 * failure midway restores the rows already written). Every value gets the
 * default lifetime. *names (if not NULL) is a new array of the names
 * added.
 */
int rvps_register(const char *msg, size_t len, const char *who,
    json_t **names, struct error *err);
/*
 * The checking half of rvps_register, with no store: parse the envelope
 * (version "0.1.0" or absent; type; payload base64, standard or URL-safe
 * alphabet, padded or not; other members ignored, as Trustee does), run
 * the extractor and check every name and value. *values is a new object
 * {name: value, ...} with 1..RVPS_REGISTER_MAX members.
 */
int rvps_parse_envelope(const char *msg, size_t len, json_t **values,
    struct error *err);

/* Extractors (rvps/extract_*.c): payload bytes (already base64-decoded,
 * at most RVPS_PAYLOAD_MAX) to a new object {name: value, ...} (possibly
 * empty; names not yet checked against RVPS_NAME_MAX). Bad input: -1 and
 * a precise reason.
 *  sample: a JSON object {name: any JSON} (duplicate names refused).
 *  swid:   TCG RIM SWID XML; "<PlatformManufacturerStr, ' '->'_'>.
 *          <edition>.measurement_<index>" ('-'->'_') = [non-zero HashN].
 *          No DTD, no network, no entity expansion.
 *  corim:  unsigned CBOR CoRIM; per CoMID reference triple
 *          "<vendor>/<model>/<mkey>/<name>/<serial>/digests" = [hex] and
 *          ".../raw_bytes" = hex. Signed (COSE) CoRIMs are refused. */
int rvps_extract_sample(const uint8_t *payload, size_t len, json_t **out,
    struct error *err);
int rvps_extract_swid(const uint8_t *payload, size_t len, json_t **out,
    struct error *err);
int rvps_extract_corim(const uint8_t *payload, size_t len, json_t **out,
    struct error *err);

#endif
