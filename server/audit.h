/*
 * audit.h: the audit trail. Every admin change and every release decision
 * (with the policy's reason) becomes a record in the encrypted store,
 * listable through /api/v1/audit. Admin records (table "audit") are kept
 * for a retention period whatever the guests do; guest events (table
 * "audit_guest") are aggregated, rate-limited and capped in number
 * (audit.c).
 */
#ifndef TRUSTEE_AUDIT_H
#define TRUSTEE_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

struct store;

/* Bounds of the trail ([audit] in the config; these are the defaults). */
#define AUDIT_ADMIN_RETENTION_DAYS	365	/* admin records kept */
#define AUDIT_GUEST_KEEP		10000	/* guest records kept */
#define AUDIT_GUEST_PER_MINUTE		600	/* new guest records a
						 * minute; more are counted in
						 * one "audit.suppressed" */
struct audit_limits {
	int admin_retention_days;
	int guest_keep;
	int guest_per_minute;
};
/* Set the bounds (before audit_init; NULL: the defaults). */
void audit_configure(const struct audit_limits *lim);
int audit_init(struct store *st, struct error *err);
void audit_shutdown(void);
/*
 * Append {"time","actor","action","target","outcome","reason"}. actor: the
 * admin identity ("sub"/"role" of the token) or the guest's session/TEE;
 * action e.g. "resource.get", "policy.put"; outcome "allowed", "denied",
 * "ok", "error". Never pass secret values. Failures are logged, not
 * returned: auditing must not change the answer.
 */
void audit_record(const char *actor, const char *action, const char *target,
    const char *outcome, const char *reason);
/* Write the guest records still waiting for their group commit now
 * (audit.c: admin records never wait; audit_list and audit_shutdown do
 * this themselves). */
void audit_flush(void);


/* Filters for audit_list; NULL / 0 members do not filter. */
struct audit_filter {
	const char *action_prefix;
	const char *actor;		/* exact */
	int64_t since, until;		/* unix seconds, inclusive */
};

/*
 * Records newest first, each {"id","time","actor","action","target",
 * "outcome","reason"} (aggregated guest records also "count" and
 * "last_time"), at most limit of them, starting after the record whose id
 * is `before` (NULL: the newest; a malformed one is "bad cursor"). *more
 * is set when further matching records exist. *items is a new array.
 */
int audit_list(const char *before, size_t limit, const struct audit_filter *f,
    json_t **items, int *more, struct error *err);

#endif
