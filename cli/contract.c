/*
 * contract.c: parsing and checking volume contracts (contract.h) with the
 * project's TOML reader. Every rule a later step relies on is checked
 * here, so `volume` never starts attesting with a contract it cannot
 * carry out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../lib/toml.h"
#include "contract.h"

struct contract_ctx {
	const char *file;
	json_t *lines;
	struct error *err;
};

/* The line where section.key (key NULL: the section) was defined. */
static int
contract_line(const struct contract_ctx *x, const char *sec,
    const char *key)
{
	const json_t *l = json_object_get(x->lines, sec);

	if (key != NULL)
		l = json_object_get(l, key);
	if (json_is_integer(l))
		return (int)json_integer_value(l);
	if (json_is_object(l)) {
		const char *k;
		const json_t *v;
		int min = 0;

		json_object_foreach((json_t *)l, k, v) {
			if (json_is_integer(v) && (min == 0 ||
			    json_integer_value(v) < min))
				min = (int)json_integer_value(v);
		}
		return min;
	}
	return 0;
}

static int
contract_fail(const struct contract_ctx *x, const char *sec, const char *key,
    const char *fmt, ...) ATTR_PRINTF(4, 5);

static int
contract_fail(const struct contract_ctx *x, const char *sec, const char *key,
    const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	int line = contract_line(x, sec, key);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return error_set(x->err, "%s:%d: %s", x->file, line, msg);
	return error_set(x->err, "%s: %s", x->file, msg);
}

/* A string member (required or not) without NUL bytes or control
 * characters, copied into *out. */
static int
contract_string(const struct contract_ctx *x, const json_t *sec_obj,
    const char *sec, const char *key, int required, char **out)
{
	const json_t *v = json_object_get(sec_obj, key);
	const char *s;
	size_t i, n;

	*out = NULL;
	if (v == NULL) {
		if (required)
			return contract_fail(x, sec, NULL, "[%s] needs %s", sec,
			    key);
		return 0;
	}
	if (!json_is_string(v))
		return contract_fail(x, sec, key, "%s.%s must be a string", sec,
		    key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0)
		return contract_fail(x, sec, key, "%s.%s is empty", sec, key);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return contract_fail(x, sec, key, "%s.%s holds a "
			    "control character", sec, key);
	*out = xstrdup(s);
	return 0;
}

static int
contract_uint(const struct contract_ctx *x, const json_t *sec_obj,
    const char *sec, const char *key, uint32_t min, uint32_t max,
    uint32_t def, uint32_t *out)
{
	const json_t *v = json_object_get(sec_obj, key);
	json_int_t n;

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v))
		return contract_fail(x, sec, key, "%s.%s must be an integer",
		    sec, key);
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return contract_fail(x, sec, key, "%s.%s must be in %u..%u",
		    sec, key, min, max);
	*out = (uint32_t)n;
	return 0;
}

/* Refuse members not in the NULL-terminated list. */
static int
contract_known(const struct contract_ctx *x, const json_t *obj,
    const char *sec, const char *const *known)
{
	const char *k;
	const json_t *v;
	size_t i;

	json_object_foreach((json_t *)obj, k, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return contract_fail(x, sec, k, "unknown key %s.%s",
			    sec, k);
	}
	return 0;
}

const char *
contract_resource_path(const char *s)
{
	const char *p;
	int segs = 1, seglen = 0;

	if (strncmp(s, "kbs:///", 7) == 0)
		s += 7;
	for (p = s; *p != '\0'; p++) {
		if (*p == '/') {
			if (seglen == 0)
				return NULL;
			segs++;
			seglen = 0;
		} else if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
		    *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		    *p == '-' || *p == '.')
			seglen++;
		else
			return NULL;
	}
	if (segs != 3 || seglen == 0)
		return NULL;
	return s;
}

/* A device-mapper name we accept: [A-Za-z0-9_.-], not "." or "..". */
static int
contract_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CONTRACT_NAME_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

static int
contract_kbs(const struct contract_ctx *x, const json_t *kbs,
    struct contract *c)
{
	static const char *const known[] = { "url", "cert", "tee", "tcti",
	    NULL };
	static const char *const tees[] = { "auto", "sample", "snp", "tdx",
	    "tpm", "az-snp-vtpm", "az-tdx-vtpm", NULL };
	size_t i;

	if (contract_known(x, kbs, "kbs", known) != 0 ||
	    contract_string(x, kbs, "kbs", "url", 1, &c->url) != 0 ||
	    contract_string(x, kbs, "kbs", "cert", 0, &c->cert) != 0 ||
	    contract_string(x, kbs, "kbs", "tee", 0, &c->tee) != 0 ||
	    contract_string(x, kbs, "kbs", "tcti", 0, &c->tcti) != 0)
		return -1;
	if (strncmp(c->url, "https://", 8) != 0 &&
	    strncmp(c->url, "http://", 7) != 0)
		return contract_fail(x, "kbs", "url", "kbs.url must start with "
		    "https:// (or http:// behind a trusted proxy)");
	if (c->tee == NULL)
		c->tee = xstrdup("auto");
	for (i = 0; tees[i] != NULL; i++)
		if (strcmp(c->tee, tees[i]) == 0)
			break;
	if (tees[i] == NULL)
		return contract_fail(x, "kbs", "tee", "kbs.tee: unknown TEE "
		    "'%s' (auto, sample, snp, tdx, tpm, az-snp-vtpm, "
		    "az-tdx-vtpm)", c->tee);
	return 0;
}

static int
contract_volume(const struct contract_ctx *x, const json_t *vol,
    struct contract *c)
{
	static const char *const known[] = { "key", "device", "name",
	    "format", "filesystem", "mount", "pbkdf_memory", "pbkdf_time",
	    NULL };
	char *key = NULL, *format = NULL;
	const char *path;
	size_t i;
	int rc = -1;

	if (contract_known(x, vol, "volume", known) != 0 ||
	    contract_string(x, vol, "volume", "key", 1, &key) != 0 ||
	    contract_string(x, vol, "volume", "device", 1, &c->device) != 0 ||
	    contract_string(x, vol, "volume", "name", 1, &c->name) != 0 ||
	    contract_string(x, vol, "volume", "format", 0, &format) != 0 ||
	    contract_string(x, vol, "volume", "filesystem", 0,
	    &c->filesystem) != 0 ||
	    contract_string(x, vol, "volume", "mount", 0, &c->mount) != 0 ||
	    contract_uint(x, vol, "volume", "pbkdf_memory", 32, 4u << 20,
	    CONTRACT_PBKDF_MEMORY, &c->pbkdf_memory) != 0 ||
	    contract_uint(x, vol, "volume", "pbkdf_time", 1, 60000,
	    CONTRACT_PBKDF_TIME, &c->pbkdf_time) != 0)
		goto out;
	if ((path = contract_resource_path(key)) == NULL) {
		contract_fail(x, "volume", "key", "volume.key '%s' is not "
		    "REPO/TYPE/TAG (each of A-Z a-z 0-9 _ . -)", key);
		goto out;
	}
	c->key = xstrdup(path);
	if (c->device[0] != '/') {
		contract_fail(x, "volume", "device", "volume.device must be an "
		    "absolute path");
		goto out;
	}
	if (!contract_name_ok(c->name)) {
		contract_fail(x, "volume", "name", "volume.name '%s' must be 1 "
		    "to %d of A-Z a-z 0-9 _ . - (it becomes /dev/mapper/NAME)",
		    c->name, CONTRACT_NAME_MAX);
		goto out;
	}
	if (format == NULL || strcmp(format, "never") == 0)
		c->format_if_empty = 0;
	else if (strcmp(format, "if-empty") == 0)
		c->format_if_empty = 1;
	else {
		contract_fail(x, "volume", "format", "volume.format must be "
		    "\"if-empty\" or \"never\"");
		goto out;
	}
	if (c->filesystem != NULL) {
		for (i = 0; c->filesystem[i] != '\0'; i++)
			if (!((c->filesystem[i] >= 'a' &&
			    c->filesystem[i] <= 'z') ||
			    (c->filesystem[i] >= '0' &&
			    c->filesystem[i] <= '9')) || i >= 16)
				break;
		if (c->filesystem[i] != '\0') {
			contract_fail(x, "volume", "filesystem",
			    "volume.filesystem must be a file system type "
			    "such as ext4 or xfs");
			goto out;
		}
	}
	if (c->mount != NULL) {
		if (c->mount[0] != '/' || strcmp(c->mount, "/") == 0) {
			contract_fail(x, "volume", "mount", "volume.mount must "
			    "be an absolute path other than /");
			goto out;
		}
		if (c->filesystem == NULL) {
			contract_fail(x, "volume", "mount", "volume.mount "
			    "needs volume.filesystem (the type to mount)");
			goto out;
		}
	}
	rc = 0;
out:
	free(key);
	free(format);
	return rc;
}

int
contract_parse(const char *text, size_t len, const char *file,
    struct contract *c, struct error *err)
{
	struct contract_ctx x = { file, NULL, err };
	struct toml_error terr;
	json_t *doc = NULL, *kbs, *vol;
	const char *k;
	json_t *v;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if (toml_parse(text, len, &doc, &x.lines, &terr) != 0) {
		if (terr.line > 0)
			return error_set(err, "%s:%d: %s", file, terr.line,
			    terr.msg);
		return error_set(err, "%s: %s", file, terr.msg);
	}
	json_object_foreach(doc, k, v) {
		if (strcmp(k, "kbs") != 0 && strcmp(k, "volume") != 0) {
			contract_fail(&x, k, NULL, "unknown section or key "
			    "'%s' (expected [kbs] and [volume])", k);
			goto out;
		}
		if (!json_is_object(v)) {
			contract_fail(&x, k, NULL, "'%s' must be a table", k);
			goto out;
		}
	}
	kbs = json_object_get(doc, "kbs");
	vol = json_object_get(doc, "volume");
	if (kbs == NULL || vol == NULL) {
		error_set(err, "%s: the contract needs a [kbs] and a [volume] "
		    "section", file);
		goto out;
	}
	if (contract_kbs(&x, kbs, c) != 0 || contract_volume(&x, vol, c) != 0)
		goto out;
	rc = 0;
out:
	json_decref(doc);
	json_decref(x.lines);
	if (rc != 0)
		contract_clear(c);
	return rc;
}

int
contract_load(const char *path, struct contract *c, struct error *err)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	if (file_read_all(path, CONTRACT_MAX_SIZE, &text, &len, err) != 0)
		return error_prefix(err, "contract");
	rc = contract_parse((const char *)text, len, path, c, err);
	free(text);
	return rc;
}

void
contract_clear(struct contract *c)
{
	free(c->url);
	free(c->cert);
	free(c->tee);
	free(c->tcti);
	free(c->key);
	free(c->device);
	free(c->name);
	free(c->filesystem);
	free(c->mount);
	memset(c, 0, sizeof(*c));
}
