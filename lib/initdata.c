/*
 * initdata.c: CoCo init-data documents (see initdata.h), read the way
 * Trustee's attestation service reads them: serde fields version,
 * algorithm and data (other top-level keys ignored), digest over the
 * body bytes as received, and claims derived from the data map.
 */
#include <string.h>

#include <jansson.h>

#include "initdata.h"
#include "log.h"
#include "toml.h"
#include "util.h"

#define POLICY_DATA_MARK "policy_data := {"

/* Replace the string value of key in claims by its TOML parsed as JSON,
 * when it parses; a value that does not parse stays a string. */
static void
claims_expand_toml(json_t *claims, const char *key)
{
	json_t *v = json_object_get(claims, key), *doc;
	struct toml_error terr;

	if (!json_is_string(v))
		return;
	if (toml_parse(json_string_value(v), json_string_length(v), &doc,
	    NULL, &terr) == 0)
		json_object_set_new(claims, key, doc);
}

/*
 * "policy.rego" holding `policy_data := {...}`: the JSON from that '{' to
 * the end of the text (trailing whitespace only, as Trustee parses to the
 * end of the file) becomes "agent_policy_claims" and the rego goes. Any
 * other shape leaves "policy.rego" untouched.
 */
static void
claims_extract_policy(json_t *claims)
{
	json_t *v = json_object_get(claims, "policy.rego"), *obj;
	const char *text, *mark;
	json_error_t jerr;

	if (!json_is_string(v))
		return;
	text = json_string_value(v);
	mark = strstr(text, POLICY_DATA_MARK);
	if (mark == NULL)
		return;
	mark += strlen(POLICY_DATA_MARK) - 1;
	obj = json_loadb(mark, json_string_length(v) - (size_t)(mark - text),
	    JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL)
		return;
	json_object_set_new(claims, "agent_policy_claims", obj);
	json_object_del(claims, "policy.rego");
}

int
initdata_parse(const char *body, size_t len, struct initdata *out,
    struct error *err)
{
	json_t *doc = NULL, *v, *data;
	struct toml_error terr;
	const char *key, *name;
	char esc[96];
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (toml_parse(body, len, &doc, NULL, &terr) == -1) {
		if (terr.line > 0)
			return error_set(err, "init-data: not valid TOML: "
			    "line %d: %s", terr.line, terr.msg);
		return error_set(err, "init-data: not valid TOML: %s",
		    terr.msg);
	}
	v = json_object_get(doc, "version");
	if (v == NULL) {
		error_set(err, "init-data: missing 'version'");
		goto done;
	}
	if (!json_is_string(v)) {
		error_set(err, "init-data: 'version' must be a string");
		goto done;
	}
	v = json_object_get(doc, "algorithm");
	if (v == NULL) {
		error_set(err, "init-data: missing 'algorithm'");
		goto done;
	}
	if (!json_is_string(v)) {
		error_set(err, "init-data: 'algorithm' must be a string");
		goto done;
	}
	name = json_string_value(v);
	if (hash_alg_from_name(name, &out->alg) == -1) {
		error_set(err, "init-data: algorithm '%s' is not one of "
		    "sha256, sha384, sha512, sm3",
		    log_escape(name, esc, sizeof(esc)));
		goto done;
	}
	data = json_object_get(doc, "data");
	if (data == NULL) {
		error_set(err, "init-data: missing [data] table");
		goto done;
	}
	if (!json_is_object(data)) {
		error_set(err, "init-data: 'data' must be a table");
		goto done;
	}
	json_object_foreach(data, key, v) {
		if (!json_is_string(v)) {
			error_set(err, "init-data: data.\"%s\" must be a "
			    "string", log_escape(key, esc, sizeof(esc)));
			goto done;
		}
	}
	if (hash_digest(out->alg, body, len, out->digest,
	    &out->digest_len) == -1) {
		error_set(err, "init-data: %s digest unavailable in this "
		    "OpenSSL", hash_alg_name(out->alg));
		goto done;
	}
	out->claims = json_deep_copy(data);
	if (out->claims == NULL) {
		error_set(err, "init-data: out of memory");
		goto done;
	}
	claims_expand_toml(out->claims, "aa.toml");
	claims_expand_toml(out->claims, "cdh.toml");
	claims_extract_policy(out->claims);
	r = 0;
done:
	json_decref(doc);
	if (r == -1)
		initdata_clear(out);
	return r;
}

void
initdata_clear(struct initdata *id)
{
	if (id == NULL)
		return;
	json_decref(id->claims);
	memset(id, 0, sizeof(*id));
}
