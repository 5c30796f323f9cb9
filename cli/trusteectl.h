/*
 * trusteectl.h: private to cli/. The command table, the global options
 * every command sees, and the helpers shared by the cmd_*.c files.
 */
#ifndef TRUSTEECTL_H
#define TRUSTEECTL_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/httpc.h"
#include "../lib/util.h"

/* Exit codes. */
#define EXIT_OK		0
#define EXIT_FAIL	1	/* the server refused, or the operation failed */
#define EXIT_USAGE	2	/* unknown command/option, missing argument */

#define DEFAULT_URL	"https://127.0.0.1:8080"
#define DEFAULT_TIMEOUT	60
#define ADMIN_TOKEN_TTL	300
#define ADMIN_ROLE	"admin"

/* Global options (before the command) and lazily created state. */
struct ctx {
	const char *url;
	const char *cacert;
	const char *admin_key;
	int timeout_s;
	int verbose;
	const struct cmd *cmd;	/* the command being run */
	struct httpc *http;	/* created by ctx_http() */
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
/* The HTTP client for --url (created on first use), or NULL after
 * printing the error. */
struct httpc *ctx_http(struct ctx *ctx);
/*
 * Check "REPO/TYPE/TAG" (an optional "kbs:///" prefix is dropped):
 * three non-empty segments of [A-Za-z0-9_.-]. The server applies the
 * exact rules; this keeps characters that would change the URL out.
 * Returns the path without prefix (pointing into s) or NULL.
 */
const char *ctl_resource_path(const char *s);
/* Write data to path, created or truncated with mode 0600, or to stdout
 * when path is NULL. Returns 0 or -1 with err set. */
int ctl_write_secret(const char *path, const void *data, size_t len,
    struct error *err);

/* cmd_admin.c */
int cmd_keygen(struct ctx *ctx, int argc, char **argv);
int cmd_resource_put(struct ctx *ctx, int argc, char **argv);
int cmd_resource_delete(struct ctx *ctx, int argc, char **argv);

/* cmd_attest.c */
int cmd_attest(struct ctx *ctx, int argc, char **argv);
int cmd_resource_get(struct ctx *ctx, int argc, char **argv);

#endif
