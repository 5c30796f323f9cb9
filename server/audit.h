/*
 * audit.h: the audit trail. Every admin change and every release decision
 * (with the policy's reason) becomes a record in the encrypted store
 * (table "audit"), listable through /api/v1/audit.
 */
#ifndef TRUSTEE_AUDIT_H
#define TRUSTEE_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../lib/util.h"

struct store;

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

#define AUDIT_KEEP 10000		/* most recent records kept */

/* Filters for audit_list; NULL / 0 members do not filter. */
struct audit_filter {
	const char *action_prefix;
	const char *actor;		/* exact */
	int64_t since, until;		/* unix seconds, inclusive */
};

/*
 * Records newest first, each {"id","time","actor","action","target",
 * "outcome","reason"}, at most limit of them, starting after the record
 * whose id is `before` (NULL: the newest). *more is set when further
 * matching records exist. *items is a new array.
 */
int audit_list(const char *before, size_t limit, const struct audit_filter *f,
    json_t **items, int *more, struct error *err);

#endif
