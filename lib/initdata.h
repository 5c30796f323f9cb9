/*
 * initdata.h: CoCo init-data (TOML) as the guest sends it in /attest:
 *   version = "0.1.0"          (string, required)
 *   algorithm = "sha384"       (sha256|sha384|sha512|sm3, exact)
 *   [data]                     (table of string -> string)
 * The digest is algorithm(body bytes exactly as received). Claims are the
 * data map where the values of "aa.toml" / "cdh.toml" are replaced by
 * their TOML parsed as JSON (when they parse), and where a "policy.rego"
 * containing `policy_data := {` has that JSON object extracted into
 * "agent_policy_claims" (and "policy.rego" removed) when it parses.
 */
#ifndef TRUSTEE_INITDATA_H
#define TRUSTEE_INITDATA_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "hash.h"
#include "util.h"

struct initdata {
	enum hash_alg alg;
	uint8_t digest[HASH_MAX_SIZE];
	size_t digest_len;
	json_t *claims;		/* owned */
};

int initdata_parse(const char *body, size_t len, struct initdata *out,
    struct error *err);
void initdata_clear(struct initdata *id);

#endif
