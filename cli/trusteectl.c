/*
 * trusteectl.c: command-line client for trusteed. Global options, the
 * command table (usage and help are generated from it) and dispatch; the
 * commands live in cmd_admin.c (admin API) and cmd_attest.c (guest side).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "trusteectl.h"

static int cmd_help(struct ctx *ctx, int argc, char **argv);

static const struct cmd cmds[] = {
	{ "keygen", NULL, "[--out FILE]",
	  "Create an Ed25519 admin key pair: the private key at FILE "
	  "(default ./admin.pem, mode 0600) and the public key at FILE.pub; "
	  "prints both paths.", cmd_keygen },
	{ "status", NULL, "[--json]",
	  "Server health: each component (store, sealer, policy engine, "
	  "verifiers, admin mode) with an admin key, else the liveness probe "
	  "only. Exit 1 when degraded.", cmd_status },
	{ "whoami", NULL, "[--json]",
	  "Show how the server sees the admin token: actor, role, mode.",
	  cmd_whoami },
	{ "resource", "list", "[--prefix REPO[/TYPE[/TAG]]] [--json]",
	  "List resources (metadata only: values are never shown).",
	  cmd_resource_list },
	{ "resource", "info", "REPO/TYPE/TAG [--json]",
	  "Show a resource's metadata.", cmd_resource_info },
	{ "resource", "versions", "REPO/TYPE/TAG [--json]",
	  "List the kept versions of a resource, newest first.",
	  cmd_resource_versions },
	{ "resource", "put", "REPO/TYPE/TAG (--file FILE | --value STRING) "
	  "[--content-type TYPE] [--json]",
	  "Store a resource as a new version (FILE - is standard input); "
	  "prints the version.", cmd_resource_put },
	{ "resource", "delete", "REPO/TYPE/TAG [--json]",
	  "Delete a resource and all its versions.", cmd_resource_delete },
	{ "resource", "restore", "REPO/TYPE/TAG VERSION [--json]",
	  "Make a kept version active again (as a new version).",
	  cmd_resource_restore },
	{ "resource", "generate", "REPO/TYPE/TAG [--bytes N] "
	  "[--content-type TYPE] [--json]",
	  "Have the server make a random value of N bytes (16-4096, default "
	  "32) as a new version of the resource, e.g. a volume key: it never "
	  "leaves the server except to attested guests.",
	  cmd_resource_generate },
	{ "resource", "get", "REPO/TYPE/TAG [--out FILE] [--tee TEE] "
	  "[--key-alg ALG] [--rsa] [--bearer] [--init-data FILE] "
	  "[--token-out FILE] [--print-token] [--tcti TCTI] "
	  "[--ak-handle HANDLE] [--tsm-dir DIR] [--imds-url URL] "
	  "[--evidence-out FILE]",
	  "Fetch a resource as a guest would: same as attest --resource "
	  "(--tee defaults to sample here).", cmd_resource_get },
	{ "policy", "list", "[--kind attestation|resource] [--json]",
	  "List policies with their active version.", cmd_policy_list },
	{ "policy", "get", "[--kind KIND] [--id ID] [--version N] "
	  "[--out FILE] [--json]",
	  "Print a policy's Lua text (the active version by default). KIND "
	  "is attestation (default) or resource; ID defaults to default_cpu "
	  "(attestation) or resource-policy (resource).", cmd_policy_get },
	{ "policy", "set", "[--kind KIND] [--id ID] FILE [--json]",
	  "Upload Lua policy text (FILE - is standard input) as the new "
	  "active version; prints it. A compile error prints the server's "
	  "message and the offending line of FILE, and exits 1.",
	  cmd_policy_set },
	{ "policy", "test", "[--kind KIND] [--id ID] [--version N | FILE] "
	  "--input INPUT.json [--json]",
	  "Dry run: evaluate the stored policy (or version N, or the text of "
	  "FILE) on INPUT.json without storing anything; prints result, "
	  "status, reason and log. Exit 1 when the policy fails or a "
	  "resource policy denies.", cmd_policy_test },
	{ "policy", "versions", "[--kind KIND] [--id ID] [--json]",
	  "List a policy's versions, newest first.", cmd_policy_versions },
	{ "policy", "restore", "[--kind KIND] [--id ID] VERSION [--json]",
	  "Make an older version active again (recorded as a new version).",
	  cmd_policy_restore },
	{ "rv", "add", "NAME VALUE-JSON [--expires RFC3339 | --days N] "
	  "[--json]",
	  "Add or replace a reference value (any JSON: '\"abc\"', '[1,2]', "
	  "'{...}'); default lifetime 12 months.", cmd_rv_add },
	{ "rv", "list", "[--state valid|expired|revoked] [--json]",
	  "List reference values with their state.", cmd_rv_list },
	{ "rv", "get", "NAME [--json]",
	  "Show one reference value.", cmd_rv_get },
	{ "rv", "revoke", "NAME --reason TEXT [--json]",
	  "Revoke a reference value: policies stop seeing it; it stays "
	  "listed.", cmd_rv_revoke },
	{ "rv", "import", "ENVELOPE.json [--json]",
	  "Register the values of a Trustee RVPS message "
	  "{\"version\":\"0.1.0\",\"type\":\"sample\"|\"swid\"|\"corim\","
	  "\"payload\":BASE64} (as rvps-tool sends it); all or nothing.",
	  cmd_rv_import },
	{ "audit", NULL, "[--action PREFIX] [--actor ACTOR] [--since TIME] "
	  "[--until TIME] [--limit N] [--json]",
	  "Show the audit trail, newest first (default 50 records).",
	  cmd_audit },
	{ "user", "list", "[--json]",
	  "List console users (admin role).", cmd_user_list },
	{ "user", "add", "NAME [--role admin|operator|auditor] "
	  "[--password-file FILE|-] [--json]",
	  "Add a console user (default role operator). The password is asked "
	  "on the terminal, or read from the first line of FILE (- is "
	  "standard input); never from the command line.", cmd_user_add },
	{ "user", "passwd", "NAME [--password-file FILE|-] [--json]",
	  "Set a user's password (read as for add); their sessions end.",
	  cmd_user_passwd },
	{ "user", "role", "NAME admin|operator|auditor [--json]",
	  "Change a user's role.", cmd_user_role },
	{ "user", "disable", "NAME [--json]",
	  "Disable a user: their sessions end, logins are refused.",
	  cmd_user_disable },
	{ "user", "enable", "NAME [--json]",
	  "Enable a disabled user.", cmd_user_enable },
	{ "user", "delete", "NAME [--json]",
	  "Delete a user and end their sessions.", cmd_user_delete },
	{ "attestation", "list", "[--tee TEE] [--verdict V] [--source ADDR] "
	  "[--since TIME] [--until TIME] [--limit N] [--json]",
	  "Show the attestation log, newest first (default 50 entries). V: "
	  "affirming, warning, contraindicated, none, refused.",
	  cmd_attestation_list },
	{ "attestation", "show", "ID [--json]",
	  "Show one attestation log entry with its claims.",
	  cmd_attestation_show },
	{ "key", "status", "[--json]",
	  "Data-key versions with their row counts, rotation progress, and "
	  "the instances sharing the store (sealer, loaded version, live).",
	  cmd_key_status },
	{ "key", "rotate", "[--wait] [--json]",
	  "Create a new data-key version for new writes; older rows are "
	  "re-sealed in the background and the old version dropped when "
	  "none is left. --wait prints progress until it is done.",
	  cmd_key_rotate },
	{ "key", "export", "--for REQUEST [--out FILE]",
	  "Wrap the master key to a joining instance's key (REQUEST: the "
	  "file `trusteed --join-request` wrote there) and write the join "
	  "file for its `trusteed --join` (stdout without --out).",
	  cmd_key_export },
	{ "store", "check", "[--json]",
	  "Authenticate every row of the store; list each bad one (table, "
	  "row id, why). Exit 1 when any is bad.", cmd_store_check },
	{ "store", "delete-row", "TABLE ROW-ID [--json]",
	  "Delete one row by the id `store check` reported (repair of a row "
	  "whose name is unknown).", cmd_store_delete_row },
	{ "token", "decode", "TOKEN|FILE|- [--json]",
	  "Decode an attestation token locally (no server, nothing checked): "
	  "header, times, EAR status and trust vector per submodule, claims.",
	  cmd_token_decode },
	{ "token", "verify", "TOKEN|FILE|- [--jwks] [--json]",
	  "Verify a token: by the server (POST /api/v1/tokens/verify) when an "
	  "admin key is given, else (or with --jwks) against the server's "
	  "public JWKS. Exit 1 when it does not verify.", cmd_token_verify },
	{ "attest", NULL, "--tee TEE [--key-alg p256|p521|rsa-oaep-256|rsa1_5] "
	  "[--rsa] [--bearer] [--resource REPO/TYPE/TAG] [--init-data FILE] "
	  "[--out FILE] [--token-out FILE] [--print-token] [--tcti TCTI] "
	  "[--ak-handle HANDLE] [--tsm-dir DIR] [--imds-url URL] "
	  "[--evidence-out FILE]",
	  "Play the guest: /auth and /attest with evidence bound to a fresh "
	  "TEE key, built as the CoCo attestation-agent builds it. TEE: auto "
	  "(detect), snp, tdx (configfs-tsm, else /dev/sev-guest or "
	  "/dev/tdx_guest), tpm (the AK at --ak-handle, default 0x81010002; "
	  "the TPM at --tcti as tpm2-tools name it), az-snp-vtpm, "
	  "az-tdx-vtpm, or sample (--evidence-out keeps a copy of the "
	  "evidence sent). Without --resource, print the attestation "
	  "token (or write it to --token-out). With --resource, fetch and "
	  "decrypt it (session cookie, or the token as Bearer with --bearer) "
	  "and write the raw bytes to stdout or --out (mode 0600).",
	  cmd_attest },
	{ "volume", "open", "--contract FILE",
	  "Attest to the contract's KBS, fetch the volume key, format the "
	  "device as LUKS2 when it is empty and the contract allows it "
	  "(never when it has a header or data), open it as "
	  "/dev/mapper/NAME, make the file system on first format and "
	  "mount it.", cmd_volume_open },
	{ "volume", "close", "--contract FILE",
	  "Unmount the contract's volume and close /dev/mapper/NAME.",
	  cmd_volume_close },
	{ "volume", "format", "--contract FILE",
	  "Attest, fetch the key and format the device as LUKS2 if it is "
	  "empty, without opening it (refuses a device with a header or "
	  "data; a header the key opens is left as it is).",
	  cmd_volume_format },
	{ "volume", "check", "--contract FILE",
	  "Attest, fetch the key and check that it opens the device's LUKS "
	  "header, without activating anything. Exit 1 when it does not.",
	  cmd_volume_check },
	{ "volume", "rekey", "--contract FILE --new-key REPO/TYPE/TAG",
	  "Attest, fetch the contract's key and the new one, add a keyslot "
	  "for the new key, check it, then remove the old key's slot (one of "
	  "them opens the volume at every moment).", cmd_volume_rekey },
	{ "evidence", "verify", "--evidence FILE [--tee TEE] [--report-data HEX] "
	  "[--init-data-hash HEX] [--at RFC3339] [--collateral DIR|FILE] "
	  "[--cert-cache DIR] [--vcek FILE] [--raw] [--kds-url URL] "
	  "[--pccs-url URL]",
	  "Verify evidence locally with the server's verifiers (no server): "
	  "evidence JSON as a guest sends it, or a raw SNP report, DCAP quote "
	  "or TPMS_ATTEST (detected, or forced with --raw; then --tee may be "
	  "omitted). Prints the claims as JSON; exit 1 with the reason if "
	  "rejected.", cmd_evidence_verify },
	{ "help", NULL, "[COMMAND]", "Show this help, or a command's.",
	  cmd_help },
};

static const char global_usage[] =
    "usage: trusteectl [global options] COMMAND [ARGS]\n"
    "\n"
    "Global options:\n"
    "  --url URL          KBS base URL (env TRUSTEE_URL;\n"
    "                     default " DEFAULT_URL ")\n"
    "  --cacert FILE      CA certificates for https (env TRUSTEE_CACERT;\n"
    "                     default: the system store)\n"
    "  --admin-key FILE   admin private key (env TRUSTEE_ADMIN_KEY)\n"
    "  --role ROLE        role claim of admin tokens (env TRUSTEE_ROLE;\n"
    "                     default " ADMIN_ROLE ")\n"
    "  --json             print the API's JSON answer instead of tables\n"
    "  --timeout SECONDS  per-request timeout (default 60)\n"
    "  -v, --verbose      log the HTTP exchanges to stderr\n"
    "  -h, --help         show this help\n";

/* Print text word-wrapped to 78 columns, continuation lines indented by
 * indent spaces. col: columns already written on the current line (0:
 * start a fresh, indented line). */
static void
print_wrapped(FILE *f, const char *text, int indent, int col)
{
	const char *p = text;
	int linestart = col == 0;

	if (linestart)
		col = fprintf(f, "%*s", indent, "");

	while (*p != '\0') {
		int n = (int)strcspn(p, " ");

		if (!linestart && col + 1 + n > 78) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (!linestart) {
			fputc(' ', f);
			col++;
		}
		linestart = 0;
		fprintf(f, "%.*s", n, p);
		col += n;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void
print_cmd(FILE *f, const struct cmd *c)
{
	int col;

	col = fprintf(f, "  %s%s%s", c->name, c->sub ? " " : "",
	    c->sub ? c->sub : "");
	print_wrapped(f, c->args, 8, col);
	print_wrapped(f, c->help, 6, 0);
}

/* Usage of every command, or of those named name (and sub). */
static void
print_usage(FILE *f, const char *name, const char *sub)
{
	size_t i;

	if (name == NULL)
		fprintf(f, "%s\nCommands:\n", global_usage);
	else
		fprintf(f, "usage: trusteectl [global options] %s%s%s ...\n",
		    name, sub ? " " : "", sub ? sub : "");
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (name != NULL && strcmp(cmds[i].name, name) != 0)
			continue;
		if (sub != NULL && cmds[i].sub != NULL &&
		    strcmp(cmds[i].sub, sub) != 0)
			continue;
		print_cmd(f, &cmds[i]);
	}
	if (name == NULL)
		fprintf(f, "\nExit status: 0 success; 1 refused by the server "
		    "(not found, invalid,\nrole not allowed) or failed "
		    "(verification, unhealthy); 2 usage error;\n3 server "
		    "unreachable or credentials rejected (401).\n");
}

int
ctl_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("trusteectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int
ctl_usage(struct ctx *ctx, const char *fmt, ...)
{
	const struct cmd *c = ctx->cmd;
	va_list ap;

	fputs("trusteectl: ", stderr);
	if (c != NULL)
		fprintf(stderr, "%s%s%s: ", c->name, c->sub ? " " : "",
		    c->sub ? c->sub : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c != NULL)
		print_usage(stderr, c->name, c->sub);
	else
		fprintf(stderr, "usage: trusteectl [global options] COMMAND "
		    "[ARGS]; 'trusteectl help' lists the commands\n");
	return EXIT_USAGE;
}

int
ctl_help(struct ctx *ctx)
{
	if (ctx->cmd != NULL)
		print_usage(stdout, ctx->cmd->name, ctx->cmd->sub);
	else
		print_usage(stdout, NULL, NULL);
	return EXIT_OK;
}

int
ctl_bad_option(struct ctx *ctx, int ch, char **argv)
{
	const char *arg = argv[optind - 1];

	if (ch == ':')
		return ctl_usage(ctx, "option '%s' needs an argument", arg);
	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		return ctl_usage(ctx, "unknown option '-%c'", optopt);
	return ctl_usage(ctx, "unknown option '%s'", arg);
}

int
ctl_getopt(struct ctx *ctx, int argc, char **argv, const char *optstring,
    const struct option *opts, int *rc)
{
	int ch;

	while ((ch = getopt_long(argc, argv, optstring, opts, NULL)) == 'j')
		ctx->json = 1;
	switch (ch) {
	case -1:
		return 0;
	case 'h':
		*rc = ctl_help(ctx);
		return -1;
	case '?':
	case ':':
		*rc = ctl_bad_option(ctx, ch, argv);
		return -1;
	default:
		return ch;
	}
}

int
ctl_operands(struct ctx *ctx, int argc, char **argv, int nargs,
    const char **args, const char *missing)
{
	int i;

	if (argc - optind < nargs)
		return ctl_usage(ctx, "missing %s", missing);
	if (argc - optind > nargs)
		return ctl_usage(ctx, "unexpected argument '%s'",
		    argv[optind + nargs]);
	for (i = 0; i < nargs; i++)
		args[i] = argv[optind + i];
	return -1;
}

int
ctl_simple_opts(struct ctx *ctx, int argc, char **argv, int nargs,
    const char **args, const char *missing)
{
	static const struct option opts[] = {
		CTL_OPTS_END_JSON
	};
	int rc;

	/* opts has no option for the caller: ctl_getopt gives 0 or -1. */
	if (ctl_getopt(ctx, argc, argv, ":jh", opts, &rc) == -1)
		return rc;
	return ctl_operands(ctx, argc, argv, nargs, args, missing);
}

int
ctl_window_opt(struct ctx *ctx, int ch, struct ctl_window *w)
{
	int64_t tm;

	switch (ch) {
	case 's':
	case 'u':
		if (time_parse_rfc3339(optarg, &tm) == -1)
			return ctl_usage(ctx, "--%s: expected an RFC 3339 "
			    "time (2025-01-31T12:00:00Z), got '%s'",
			    ch == 's' ? "since" : "until", optarg);
		if (ch == 's')
			w->since = optarg;
		else
			w->until = optarg;
		break;
	case 'n':
		if (ctl_parse_int(optarg, 1, 1000, &w->limit) == -1)
			return ctl_usage(ctx, "--limit: expected 1-1000, got "
			    "'%s'", optarg);
		break;
	}
	return -1;
}

struct httpc *
ctx_http(struct ctx *ctx)
{
	struct error err = { "" };

	if (ctx->http == NULL) {
		ctx->http = httpc_new(ctx->url, ctx->cacert, ctx->timeout_s,
		    &err);
		if (ctx->http == NULL) {
			ctl_fail("%s", err.msg);
			ctx->http_rc = strncmp(err.msg, "invalid URL",
			    11) == 0 ? EXIT_USAGE : EXIT_CONN;
		}
	}
	return ctx->http;
}

int
ctl_write_secret(const char *path, const void *data, size_t len,
    struct error *err)
{
	const uint8_t *p = data;
	int fd;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (len > 0 && fwrite(data, 1, len, stdout) != len)
			return error_set(err, "stdout: %s", strerror(errno));
		if (fflush(stdout) != 0)
			return error_set(err, "stdout: %s", strerror(errno));
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		return error_set(err, "%s: %s", path, strerror(errno));
	/* An existing file keeps its mode on O_CREAT: tighten it first. */
	if (fchmod(fd, 0600) == -1) {
		error_set(err, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error_set(err, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) == -1)
		return error_set(err, "%s: %s", path, strerror(errno));
	return 0;
}

int
ctl_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
ctl_read_input(const char *path, size_t max, uint8_t **out, size_t *len,
    struct error *err)
{
	if (strcmp(path, "-") == 0) {
		if (file_read_all("/dev/stdin", max, out, len, err) == -1)
			return error_set(err, "standard input: cannot read "
			    "(or larger than %zu bytes)", max);
		return 0;
	}
	return file_read_all(path, max, out, len, err);
}

static int
cmd_help(struct ctx *ctx, int argc, char **argv)
{
	size_t i;

	(void)ctx;
	if (argc < 2) {
		print_usage(stdout, NULL, NULL);
		return EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(cmds[i].name, argv[1]) == 0) {
			print_usage(stdout, argv[1], argc > 2 ? argv[2] : NULL);
			return EXIT_OK;
		}
	}
	ctx->cmd = NULL;
	return ctl_usage(ctx, "unknown command '%s'", argv[1]);
}

static int
is_help(const char *s)
{
	return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

/* Find the command for argv (name [sub]) and run it. */
static int
dispatch(struct ctx *ctx, int argc, char **argv)
{
	const struct cmd *c = NULL;
	int has_subs = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(cmds[i].name, argv[0]) != 0)
			continue;
		if (cmds[i].sub == NULL) {
			c = &cmds[i];
			break;
		}
		has_subs = 1;
		if (argc > 1 && strcmp(cmds[i].sub, argv[1]) == 0) {
			c = &cmds[i];
			break;
		}
	}
	if (c == NULL && !has_subs)
		return ctl_usage(ctx, "unknown command '%s'", argv[0]);
	if (c == NULL) {
		if (argc > 1 && is_help(argv[1])) {
			print_usage(stdout, argv[0], NULL);
			return EXIT_OK;
		}
		fprintf(stderr, "trusteectl: %s: ", argv[0]);
		if (argc > 1)
			fprintf(stderr, "unknown subcommand '%s'\n", argv[1]);
		else
			fprintf(stderr, "missing subcommand\n");
		print_usage(stderr, argv[0], NULL);
		return EXIT_USAGE;
	}
	ctx->cmd = c;
	if (c->sub != NULL) {
		argc--;
		argv++;
	}
	/* Commands parse their own options from argv[1]; reset getopt. */
	optind = 0;
	return c->fn(ctx, argc, argv);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "admin-key", required_argument, NULL, 'k' },
		{ "role", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctx ctx = { 0 };
	const char *s;
	long timeout;
	int ch, rc;

	if (sodium_init() < 0) {
		fprintf(stderr, "trusteectl: libsodium initialisation failed\n");
		return EXIT_FAIL;
	}
	ctx.url = (s = getenv("TRUSTEE_URL")) != NULL && *s ? s : DEFAULT_URL;
	ctx.cacert = (s = getenv("TRUSTEE_CACERT")) != NULL && *s ? s : NULL;
	ctx.admin_key = (s = getenv("TRUSTEE_ADMIN_KEY")) != NULL && *s ? s :
	    NULL;
	ctx.role = (s = getenv("TRUSTEE_ROLE")) != NULL && *s ? s :
	    ADMIN_ROLE;
	ctx.timeout_s = DEFAULT_TIMEOUT;

	opterr = 0;
	while ((ch = ctl_getopt(&ctx, argc, argv, "+:vh", opts, &rc)) > 0) {
		switch (ch) {
		case 'u':
			ctx.url = optarg;
			break;
		case 'c':
			ctx.cacert = optarg;
			break;
		case 'k':
			ctx.admin_key = optarg;
			break;
		case 'r':
			if (*optarg == '\0')
				return ctl_usage(&ctx, "--role: empty role");
			ctx.role = optarg;
			break;
		case 't':
			if (ctl_parse_int(optarg, 1, 86400, &timeout) == -1)
				return ctl_usage(&ctx, "--timeout: expected "
				    "whole seconds (1-86400), got '%s'", optarg);
			ctx.timeout_s = (int)timeout;
			break;
		case 'v':
			ctx.verbose = 1;
			break;
		}
	}
	if (ch == -1)
		return rc;	/* --help, or a bad option */
	log_init("trusteectl", ctx.verbose ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	if (optind >= argc)
		return ctl_usage(&ctx, "missing command");
	rc = dispatch(&ctx, argc - optind, argv + optind);
	httpc_free(ctx.http);
	return rc;
}
