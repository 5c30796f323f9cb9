/*
 * audit.h: the audit trail. Every admin change and every release decision
 * (with the policy's reason) becomes a record in the encrypted store
 * (table "audit"), listable through /api/v1/audit.
 */
#ifndef TRUSTEE_AUDIT_H
#define TRUSTEE_AUDIT_H

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

#endif
