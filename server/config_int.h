/*
 * config_int.h: interfaces between the files of trusteed's configuration
 * loader.
 *  - config.c: the core: defaults, reading the file, the walk over its
 *    sections and the dispatch of each key to its handler, the problem
 *    list ("path:line: message"), the value getters and plain handlers
 *    (config_get_*, config_set_*), the small sections ([attestation],
 *    [verifier], [audit], [policy], [console]) and config_free;
 *  - config_http.c: [http_server] (listen addresses, body size, TLS);
 *  - config_admin.c: [admin] in both its forms;
 *  - config_limits.c: [limits] and trusteed --limit;
 *  - config_store.c: [storage], [store] and [sealer], and the store's
 *    options derived from them.
 * Each section file contributes a key table (ended by a row whose section
 * is NULL) and, where keys depend on each other, a rules function that
 * config.c runs once the whole file is read. Not part of the daemon's API:
 * that is the config section of trusteed.h.
 */
#ifndef TRUSTEE_CONFIG_INT_H
#define TRUSTEE_CONFIG_INT_H

#include <stddef.h>
#include <jansson.h>

#include "trusteed.h"

struct problem {
	int line;
	size_t seq;		/* keeps report order stable within a line */
	char *msg;
};

struct loader {
	const char *path;	/* as given, for messages */
	char *dir;		/* the file's directory, for relative paths */
	json_t *lines;		/* line numbers, shaped like the doc */
	struct problem *probs;
	size_t nprobs;
	int body_line;		/* line of the first body-size key */
};

struct key_def;
typedef void (*key_fn)(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line);

struct key_def {
	const char *section;
	const char *key;
	key_fn fn;
	size_t off;			/* field in struct config */
	long long min, max;		/* integers */
	const char *const *choices;	/* NULL-terminated allowed strings */
};

/* ---------------------------------------------------------------- config.c */

/* Record a problem at line (0: no line); all are reported, sorted by line. */
void config_problem(struct loader *ld, int line, const char *fmt, ...)
    ATTR_PRINTF(3, 4);
/* The smallest line number recorded under a lines node, 0 if none. */
int config_first_line(const json_t *n);
/* "a table", "a string", ... for messages. */
const char *config_type_name(const json_t *v);
void config_wrong_type(struct loader *ld, const struct key_def *def,
    const json_t *v, int line, const char *want);
/* Relative paths are taken from the config file's directory. */
char *config_resolve(const struct loader *ld, const char *p);
int *config_field_int(struct config *cfg, const struct key_def *def);
/* A string that is one of def->choices; returns its index or -1. */
int config_get_choice(struct loader *ld, const struct key_def *def,
    json_t *v, int line);
/* A non-empty string; NULL (problem recorded) otherwise. */
const char *config_get_string(struct loader *ld, const struct key_def *def,
    json_t *v, int line);
/* An integer in def->min..def->max; -1 (problem recorded) otherwise. */
int config_get_int(struct loader *ld, const struct key_def *def, json_t *v,
    int line, long long *out);
/* Handlers storing into the field at def->off. */
void config_set_string(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line);
void config_set_path(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line);
void config_set_bool(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line);
void config_set_int(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line);
/* The row for section.key, NULL if there is none. */
const struct key_def *config_key_lookup(const char *section,
    const char *key);

/* ----------------------------------------------------------- config_http.c */

extern const struct key_def config_http_table[];
void config_http_rules(struct loader *ld, struct config *cfg, json_t *doc);

/* ---------------------------------------------------------- config_admin.c */

extern const struct key_def config_admin_table[];
void config_admin_rules(struct loader *ld, struct config *cfg, json_t *admin);

/* --------------------------------------------------------- config_limits.c */

extern const struct key_def config_limits_table[];
void config_limits_defaults(struct config_limits *l);
void config_limits_rules(struct loader *ld, struct config *cfg);

/* ---------------------------------------------------------- config_store.c */

extern const struct key_def config_store_table[];
void config_store_rules(struct loader *ld, struct config *cfg, json_t *doc);
/* Storage files follow state_dir unless named explicitly. */
void config_store_paths(struct config *cfg, json_t *doc);

#endif
