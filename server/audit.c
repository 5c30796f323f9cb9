/*
 * audit.c: placeholder until the audit store lands (records go to the log).
 */
#include "../lib/log.h"
#include "audit.h"

int
audit_init(struct store *st, struct error *err)
{
	(void)st;
	(void)err;
	return 0;
}

void
audit_shutdown(void)
{
}

void
audit_record(const char *actor, const char *action, const char *target,
    const char *outcome, const char *reason)
{
	log_info("audit: %s %s %s %s: %s", actor, action, target, outcome,
	    reason != NULL ? reason : "");
}
