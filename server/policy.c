/*
 * policy.c: placeholder until the Lua engine lands.
 */
#include "trusteed.h"
#include "policy.h"

#define POLICY_TODO(err) error_set(err, "policies: not implemented yet")

int policy_init(struct store *st, const struct config *cfg, struct error *err)
{ (void)st; (void)cfg; (void)err; return 0; }
void policy_shutdown(void) { }
int policy_appraise(const char *policy_id, const char *tee_class,
    const json_t *input, int v[8], json_t **extensions, struct error *err)
{ (void)policy_id; (void)tee_class; (void)input; (void)v; (void)extensions; return POLICY_TODO(err); }
int policy_resource(const json_t *claims, const json_t *request,
    int *allowed, char reason[POLICY_REASON_MAX], struct error *err)
{ (void)claims; (void)request; (void)allowed; (void)reason; return POLICY_TODO(err); }
int policy_put(enum policy_kind kind, const char *id, const char *text,
    size_t len, const char *who, int *version, struct error *err)
{ (void)kind; (void)id; (void)text; (void)len; (void)who; (void)version; return POLICY_TODO(err); }
int policy_get(enum policy_kind kind, const char *id, int version,
    char **text, size_t *len, struct error *err)
{ (void)kind; (void)id; (void)version; (void)text; (void)len; return POLICY_TODO(err); }
int policy_list(json_t **out, struct error *err) { (void)out; return POLICY_TODO(err); }
int policy_versions(enum policy_kind kind, const char *id, json_t **out, struct error *err)
{ (void)kind; (void)id; (void)out; return POLICY_TODO(err); }
int policy_restore(enum policy_kind kind, const char *id, int version,
    const char *who, int *new_version, struct error *err)
{ (void)kind; (void)id; (void)version; (void)who; (void)new_version; return POLICY_TODO(err); }
int policy_test(enum policy_kind kind, const char *text, size_t len,
    const char *id, int version, const json_t *input, json_t **result,
    struct error *err)
{ (void)kind; (void)text; (void)len; (void)id; (void)version; (void)input; (void)result; return POLICY_TODO(err); }
int policy_health(struct error *err) { return POLICY_TODO(err); }
