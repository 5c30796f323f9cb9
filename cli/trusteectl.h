/*
 * trusteectl.h: private to cli/. The command table, the global options
 * every command sees, and the helpers shared by the cmd_*.c files.
 */
#ifndef TRUSTEECTL_H
#define TRUSTEECTL_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "../lib/httpc.h"
#include "../lib/util.h"

/* Exit codes (documented in man/trusteectl.8; scripts rely on them). */
#define EXIT_OK		0
#define EXIT_FAIL	1	/* the server refused (said no, not found,
				   invalid input, role not allowed) or the
				   operation failed (verification, unhealthy) */
#define EXIT_USAGE	2	/* unknown command/option, missing argument */
#define EXIT_CONN	3	/* cannot reach the server (connect, TLS,
				   timeout) or it rejected our credentials
				   (401: bad, expired or unknown admin key) */

#define DEFAULT_URL	"https://127.0.0.1:8080"
#define DEFAULT_TIMEOUT	60
#define ADMIN_TOKEN_TTL	300
#define ADMIN_ROLE	"admin"

/* Global options (before the command) and lazily created state. */
struct ctx {
	const char *url;
	const char *cacert;
	const char *admin_key;
	const char *role;	/* "role" claim of admin tokens */
	int timeout_s;
	int verbose;
	int json;		/* --json: print the API's JSON as is */
	const struct cmd *cmd;	/* the command being run */
	struct httpc *http;	/* created by ctx_http() */
	int http_rc;		/* exit code when ctx_http() failed */
};

struct cmd {
	const char *name;
	const char *sub;	/* NULL for a one-word command */
	const char *args;	/* usage synopsis after the name */
	const char *help;
	int (*fn)(struct ctx *, int argc, char **argv);
};

/* trusteectl.c */
/* Print "trusteectl: <msg>" to stderr; returns EXIT_FAIL. */
int ctl_fail(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* Print "trusteectl: <cmd>: <msg>" and the command's usage to stderr;
 * returns EXIT_USAGE. */
int ctl_usage(struct ctx *ctx, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Print the usage of the current command to stdout; returns EXIT_OK. */
int ctl_help(struct ctx *ctx);
/* Report a getopt_long failure (ch is '?' or ':', from an optstring
 * starting with ':'); returns EXIT_USAGE. */
int ctl_bad_option(struct ctx *ctx, int ch, char **argv);
/* The end of an option table: --json, --help and the terminator; or
 * --help and the terminator (ctl_getopt handles both options). */
#define CTL_OPTS_END_JSON \
	{ "json", no_argument, NULL, 'j' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ NULL, 0, NULL, 0 }
#define CTL_OPTS_END \
	{ "help", no_argument, NULL, 'h' }, \
	{ NULL, 0, NULL, 0 }
/*
 * getopt_long (optstring starting with ':') doing what every command does
 * alike: 'j' (--json) sets ctx->json, 'h' (--help) prints the usage,
 * unknown options and missing arguments are reported (ctl_bad_option).
 * Returns the next other option for the caller, 0 after the last one, or
 * -1 when the command ends now with exit code *rc (EXIT_OK after --help,
 * EXIT_USAGE after a bad option).
 */
int ctl_getopt(struct ctx *ctx, int argc, char **argv, const char *optstring,
    const struct option *opts, int *rc);
/*
 * Take exactly nargs operands after the options into args (may be NULL
 * when nargs is 0): "missing <missing>" when there are fewer, "unexpected
 * argument" when more. Returns -1 to go on, else EXIT_USAGE.
 */
int ctl_operands(struct ctx *ctx, int argc, char **argv, int nargs,
    const char **args, const char *missing);
/* The options of a command taking only --json and --help, then
 * ctl_operands. Returns -1 to go on, else an exit code. */
int ctl_simple_opts(struct ctx *ctx, int argc, char **argv, int nargs,
    const char **args, const char *missing);
/*
 * The filters every log listing takes (audit, attestation list): --since
 * and --until TIME (RFC 3339, passed on as given) and --limit N (1-1000,
 * CTL_WINDOW_LIMIT by default). CTL_WINDOW_OPTS go in the option table
 * before its end; a command hands every option it does not handle itself
 * to ctl_window_opt.
 */
#define CTL_WINDOW_LIMIT	50
struct ctl_window {
	const char *since;
	const char *until;
	long limit;
};
#define CTL_WINDOW_OPTS \
	{ "since", required_argument, NULL, 's' }, \
	{ "until", required_argument, NULL, 'u' }, \
	{ "limit", required_argument, NULL, 'n' }
/* Take option ch ('s', 'u' or 'n'; any other is ignored) with optarg into
 * w. Returns -1 to go on, else EXIT_USAGE after the message. */
int ctl_window_opt(struct ctx *ctx, int ch, struct ctl_window *w);
/* The HTTP client for --url (created on first use), or NULL after
 * printing the error, with ctx->http_rc set: EXIT_USAGE for a malformed
 * --url, EXIT_CONN otherwise (CA file unreadable, TLS setup). */
struct httpc *ctx_http(struct ctx *ctx);
/* Write data to path, created or truncated with mode 0600, or to stdout
 * when path is NULL. Returns 0 or -1 with err set. */
int ctl_write_secret(const char *path, const void *data, size_t len,
    struct error *err);

/* Parse a decimal integer in [min, max]; 0 or -1. */
int ctl_parse_int(const char *s, long min, long max, long *out);
/* Read a whole file, or standard input for "-" (at most max bytes;
 * *out is malloc'd and NUL-terminated). */
int ctl_read_input(const char *path, size_t max, uint8_t **out, size_t *len,
    struct error *err);

/* output.c: tables and JSON on stdout. */
struct table;
/* A table column, or a "key: value" line, showing one member of an
 * object. */
struct output_column {
	const char *header;
	const char *member;
};
/* A copy of s that is safe on a terminal: control characters escaped
 * (\n, \t, \xNN), cut to max columns with "..." (0: no limit). NULL
 * gives "-". */
char *output_sanitize(const char *s, size_t max);
/* A table cell for a JSON value: strings as is, null "-", booleans
 * yes/no, anything else compact JSON; sanitized and cut. */
char *output_cell(const json_t *v);
/* A table with ncols columns whose headers follow (const char *). */
struct table *table_new(size_t ncols, ...);
/* Add a row of ncols strings (const char *, NULL shown as "-"), each
 * cut at 64 columns; table_add_whole does not cut. */
void table_add(struct table *t, ...);
void table_add_whole(struct table *t, ...);
/* Add a row of ncols JSON values (const json_t *, NULL shown as "-"). */
void table_add_json(struct table *t, ...);
size_t table_rows(const struct table *t);
/* Print with columns aligned by two spaces. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);
/* "key:        value" lines (value sanitized). */
void output_kv(const char *key, const char *value);
void output_kv_json(const char *key, const json_t *value);
/* output_kv_json for n members of o: "header" the key, "member" the
 * name in o. */
void output_kv_members(const json_t *o, const struct output_column *fields,
    size_t n);
/* A unix time (integer) as RFC 3339; anything else as output_kv_json. */
void output_kv_time(const char *key, const json_t *value);
/* Print the objects of the array items as a table of ncols columns, or
 * the line empty when there are none (NULL: the header row alone). */
void output_items(const json_t *items, const struct output_column *cols,
    size_t ncols, const char *empty);
/* One page of a log listing (audit, attestation list: {"items": [...],
 * "next_cursor": ...}) as output_items, then a note when older records
 * were left out. */
void output_page(const json_t *page, const struct output_column *cols,
    size_t ncols, const char *empty);
/* Pretty-print v and a newline to stdout; returns an exit code. */
int output_json(const json_t *v);
/* Write text verbatim, adding a final newline if it lacks one. */
void output_text_block(const char *text, size_t len);

/* apiclient.c: requests to the /api/v1 admin API. */
/* Flags of apiclient_call:
 * API_AUTH             send an admin token (--admin-key, --role);
 * API_RAW              the answer may be non-JSON: *out is then a JSON
 *                      string of the body;
 * API_KEEP_ERROR_BODY  on a refusal, *out still gets the JSON body (the
 *                      message is printed);
 * API_ACCEPT_503       a 503 with a JSON body is an answer (health). */
#define API_AUTH		0x1
#define API_RAW			0x2
#define API_KEEP_ERROR_BODY	0x4
#define API_ACCEPT_503		0x8
/* Percent-encode s for one path segment or query value (malloc'd). */
char *apiclient_escape(const char *s);
/* Append "&name=<value percent-encoded>" to b; nothing when value is
 * NULL. */
void apiclient_query_add(struct buf *b, const char *name, const char *value);
/*
 * Send one request (body of len bytes with Content-Type ctype, default
 * application/json, or no body when body is NULL). Returns EXIT_OK with
 * *out the parsed JSON answer (NULL when empty), or the exit code after
 * printing why: EXIT_FAIL when the server said no (its problem detail),
 * EXIT_CONN when it cannot be reached or answered 401, EXIT_USAGE when
 * API_AUTH is set and no admin key was given.
 */
int apiclient_call(struct ctx *ctx, const char *method, const char *path,
    int flags, const char *ctype, const void *body, size_t len,
    json_t **out);
/* apiclient_call with API_AUTH and an optional JSON body. */
int apiclient_json(struct ctx *ctx, const char *method, const char *path,
    const json_t *body, json_t **out);
/* Pages a list endpoint follows at most (1000 items each). */
#define API_MAX_PAGES	1000
/* GET every page of a paginated list (path may carry a query) and
 * return all "items" in one new array. Returns an exit code. */
int apiclient_list(struct ctx *ctx, const char *path, json_t **items);
/* Print items as the API's list shape {"items": [...], "next_cursor":
 * null} (for --json after apiclient_list). */
int apiclient_print_list(const json_t *items);
/*
 * A list command's output: GET every page of path (apiclient_list), then
 * with --json print them as one list (apiclient_print_list), else as a
 * table (output_items). Returns an exit code.
 */
int apiclient_show_list(struct ctx *ctx, const char *path,
    const struct output_column *cols, size_t ncols, const char *empty);
/*
 * A command's request and answer: apiclient_call with API_AUTH and body
 * (JSON text of len bytes, or NULL), then with --json print the answer as
 * is, else through print. Returns an exit code.
 */
int apiclient_show(struct ctx *ctx, const char *method, const char *path,
    const void *body, size_t len, void (*print)(const json_t *answer));

/* cmd_admin.c */
int cmd_keygen(struct ctx *ctx, int argc, char **argv);
int cmd_whoami(struct ctx *ctx, int argc, char **argv);
int cmd_audit(struct ctx *ctx, int argc, char **argv);

/* cmd_key.c */
int cmd_key_status(struct ctx *ctx, int argc, char **argv);
int cmd_key_rotate(struct ctx *ctx, int argc, char **argv);
int cmd_key_export(struct ctx *ctx, int argc, char **argv);
int cmd_store_check(struct ctx *ctx, int argc, char **argv);
int cmd_store_delete_row(struct ctx *ctx, int argc, char **argv);

/* cmd_resource.c */
int cmd_resource_put(struct ctx *ctx, int argc, char **argv);
int cmd_resource_delete(struct ctx *ctx, int argc, char **argv);
int cmd_resource_list(struct ctx *ctx, int argc, char **argv);
int cmd_resource_versions(struct ctx *ctx, int argc, char **argv);
int cmd_resource_info(struct ctx *ctx, int argc, char **argv);
int cmd_resource_restore(struct ctx *ctx, int argc, char **argv);
/* resource generate: sizes of a server-made random value (the server
 * checks the same range). */
#define RESOURCE_GENERATE_MIN		16
#define RESOURCE_GENERATE_MAX		4096
#define RESOURCE_GENERATE_DEFAULT	32
int cmd_resource_generate(struct ctx *ctx, int argc, char **argv);

/* cmd_policy.c */
int cmd_policy_list(struct ctx *ctx, int argc, char **argv);
int cmd_policy_get(struct ctx *ctx, int argc, char **argv);
int cmd_policy_set(struct ctx *ctx, int argc, char **argv);
int cmd_policy_test(struct ctx *ctx, int argc, char **argv);
int cmd_policy_versions(struct ctx *ctx, int argc, char **argv);
int cmd_policy_restore(struct ctx *ctx, int argc, char **argv);

/* cmd_rv.c */
int cmd_rv_add(struct ctx *ctx, int argc, char **argv);
int cmd_rv_list(struct ctx *ctx, int argc, char **argv);
int cmd_rv_get(struct ctx *ctx, int argc, char **argv);
int cmd_rv_revoke(struct ctx *ctx, int argc, char **argv);
int cmd_rv_import(struct ctx *ctx, int argc, char **argv);

/* cmd_token.c */
int cmd_token_decode(struct ctx *ctx, int argc, char **argv);
int cmd_token_verify(struct ctx *ctx, int argc, char **argv);

/* cmd_status.c */
int cmd_status(struct ctx *ctx, int argc, char **argv);

/* cmd_evidence.c (owned by the azure workstream) */
int cmd_evidence_verify(struct ctx *ctx, int argc, char **argv);

/* cmd_user.c */
int cmd_user_add(struct ctx *ctx, int argc, char **argv);
int cmd_user_list(struct ctx *ctx, int argc, char **argv);
int cmd_user_passwd(struct ctx *ctx, int argc, char **argv);
int cmd_user_role(struct ctx *ctx, int argc, char **argv);
int cmd_user_disable(struct ctx *ctx, int argc, char **argv);
int cmd_user_enable(struct ctx *ctx, int argc, char **argv);
int cmd_user_delete(struct ctx *ctx, int argc, char **argv);

/* cmd_attestation.c */
int cmd_attestation_list(struct ctx *ctx, int argc, char **argv);
int cmd_attestation_show(struct ctx *ctx, int argc, char **argv);

/* cmd_attest.c */
int cmd_attest(struct ctx *ctx, int argc, char **argv);
int cmd_resource_get(struct ctx *ctx, int argc, char **argv);
struct guest;
struct attest_cfg;
/*
 * /auth and /attest over c as TEE tee_name ("auto" detects it) with the
 * attester's evidence (also written as JSON to evidence_out unless NULL);
 * init_data (may be NULL) is sent as init-data. Shared by attest,
 * resource get and volume.
 */
int ctl_guest_attest(struct guest *g, struct httpc *c, const char *tee_name,
    const struct attest_cfg *cfg, const char *evidence_out,
    const char *init_data, size_t init_len, struct error *err);
/* Print a guest-side failure: EXIT_CONN for transport errors (the message
 * starts with the URL), else EXIT_FAIL. */
int ctl_guest_fail(const struct error *err);

/* cmd_volume.c */
int cmd_volume_open(struct ctx *ctx, int argc, char **argv);
int cmd_volume_close(struct ctx *ctx, int argc, char **argv);
int cmd_volume_format(struct ctx *ctx, int argc, char **argv);
int cmd_volume_check(struct ctx *ctx, int argc, char **argv);
int cmd_volume_rekey(struct ctx *ctx, int argc, char **argv);

#endif
