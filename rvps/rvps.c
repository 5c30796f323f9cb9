/*
 * rvps.c: placeholder until the reference value store lands.
 */
#include "rvps.h"

#define RVPS_TODO(err) error_set(err, "reference values: not implemented yet")

int rvps_init(struct store *st, struct error *err) { (void)st; (void)err; return 0; }
void rvps_shutdown(void) { }
json_t *rvps_query(const char *name, int64_t now) { (void)name; (void)now; return NULL; }
int rvps_add(const char *name, const json_t *value, int64_t expiration,
    const char *who, json_t **record, struct error *err)
{ (void)name; (void)value; (void)expiration; (void)who; (void)record; return RVPS_TODO(err); }
int rvps_get(const char *name, int64_t now, json_t **record, struct error *err)
{ (void)name; (void)now; (void)record; return RVPS_TODO(err); }
int rvps_list(int64_t now, json_t **records, struct error *err)
{ (void)now; (void)records; return RVPS_TODO(err); }
int rvps_revoke(const char *name, const char *who, const char *reason, struct error *err)
{ (void)name; (void)who; (void)reason; return RVPS_TODO(err); }
int rvps_register(const char *msg, size_t len, const char *who, json_t **names, struct error *err)
{ (void)msg; (void)len; (void)who; (void)names; return RVPS_TODO(err); }
int rvps_extract_sample(const uint8_t *p, size_t len, json_t **out, struct error *err)
{ (void)p; (void)len; (void)out; return RVPS_TODO(err); }
int rvps_extract_swid(const uint8_t *p, size_t len, json_t **out, struct error *err)
{ (void)p; (void)len; (void)out; return RVPS_TODO(err); }
int rvps_extract_corim(const uint8_t *p, size_t len, json_t **out, struct error *err)
{ (void)p; (void)len; (void)out; return RVPS_TODO(err); }
