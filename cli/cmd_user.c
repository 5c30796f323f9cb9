/*
 * cmd_user.c: trusteectl user add|list|passwd|role|disable|enable|delete,
 * console users over /api/v1/users (admin role; docs/api.md §7a).
 *
 * Passwords never come from argv (it is visible in ps and shell
 * history): they are read from the terminal without echo (asked twice),
 * or, when standard input is not a terminal or --password-file is given,
 * from the first line of that file ("-": standard input).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "trusteectl.h"

#define USER_PASSWORD_MAX 1024

/* Read one line from f into buf (no newline); -1 on EOF/too long. */
static int
user_read_line(FILE *f, char *buf, size_t cap)
{
	size_t n;

	if (fgets(buf, (int)cap, f) == NULL)
		return -1;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (!feof(f))
		return -1;		/* longer than the buffer */
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return 0;
}

/* Prompt on the terminal with echo off. */
static int
user_read_tty(const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int rc;

	if (tty == NULL)
		return -1;
	fputs(prompt, tty);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	rc = user_read_line(tty, buf, cap);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return rc;
}

/*
 * The new password into buf (sodium-locked by the caller's wipe): from
 * file (NULL: the terminal when stdin is one, else stdin). EXIT_OK or an
 * exit code after the message.
 */
static int
user_password(const char *file, char *buf, size_t cap)
{
	char again[USER_PASSWORD_MAX + 2];
	FILE *f;
	int rc;

	if (file == NULL && isatty(STDIN_FILENO)) {
		if (user_read_tty("New password: ", buf, cap) != 0 ||
		    user_read_tty("Again: ", again, sizeof(again)) != 0) {
			sodium_memzero(again, sizeof(again));
			return ctl_fail("cannot read the password from the "
			    "terminal");
		}
		rc = strcmp(buf, again) == 0;
		sodium_memzero(again, sizeof(again));
		if (!rc)
			return ctl_fail("the passwords differ");
		return EXIT_OK;
	}
	if (file == NULL || strcmp(file, "-") == 0)
		f = stdin;
	else if ((f = fopen(file, "r")) == NULL)
		return ctl_fail("%s: %s", file, strerror(errno));
	rc = user_read_line(f, buf, cap);
	if (f != stdin)
		fclose(f);
	if (rc != 0 || buf[0] == '\0')
		return ctl_fail("no password (or longer than %d bytes) in %s",
		    USER_PASSWORD_MAX, file != NULL && strcmp(file, "-") != 0 ?
		    file : "standard input");
	return EXIT_OK;
}

static void
user_print(const json_t *u)
{
	static const struct output_column f[] = {
		{ "name", "name" }, { "role", "role" },
		{ "disabled", "disabled" }, { "created", "created" },
		{ "created_by", "created_by" }, { "updated", "updated" },
		{ "updated_by", "updated_by" },
		{ "password_changed", "password_changed" },
	};

	output_kv_members(u, f, ARRAY_SIZE(f));
}

/* POST path with {member: value} (value may be NULL: {}). */
static int
user_post(struct ctx *ctx, const char *path, const char *member,
    const char *value, void (*print)(const json_t *))
{
	json_t *body = value != NULL ? json_pack("{s:s}", member, value) :
	    json_object();
	char *s = json_dumps(body, JSON_COMPACT);
	int rc;

	json_decref(body);
	rc = apiclient_show(ctx, "POST", path, s, strlen(s), print);
	secret_strfree(s);
	return rc;
}

/* The options of passwd/add: --password-file F (and --role R for add). */
static int
user_opts(struct ctx *ctx, int argc, char **argv, const char **file,
    const char **role)
{
	static const struct option opts[] = {
		{ "password-file", required_argument, NULL, 'p' },
		{ "role", required_argument, NULL, 'r' },
		CTL_OPTS_END_JSON
	};
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":p:r:jh", opts, &rc)) > 0) {
		if (ch == 'p')
			*file = optarg;
		else if (ch == 'r' && role != NULL)
			*role = optarg;
		else
			return ctl_usage(ctx, "unknown option '--role'");
	}
	return ch == -1 ? rc : -1;
}

static char *
user_path(const char *name, const char *suffix)
{
	char *esc = apiclient_escape(name), *p;

	p = xasprintf("/api/v1/users/%s%s", esc, suffix);
	free(esc);
	return p;
}

int
cmd_user_add(struct ctx *ctx, int argc, char **argv)
{
	const char *file = NULL, *role = "operator", *name;
	char pw[USER_PASSWORD_MAX + 2];
	json_t *body;
	char *s;
	int rc;

	if ((rc = user_opts(ctx, argc, argv, &file, &role)) != -1 ||
	    (rc = ctl_operands(ctx, argc, argv, 1, &name, "NAME")) != -1)
		return rc;
	if ((rc = user_password(file, pw, sizeof(pw))) != EXIT_OK)
		goto out;
	body = json_pack("{s:s, s:s, s:s}", "name", name, "role", role,
	    "password", pw);
	s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (s == NULL) {
		rc = ctl_fail("the password is not valid UTF-8");
		goto out;
	}
	rc = apiclient_show(ctx, "POST", "/api/v1/users", s, strlen(s),
	    user_print);
	secret_strfree(s);
out:
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

int
cmd_user_list(struct ctx *ctx, int argc, char **argv)
{
	static const struct output_column cols[] = {
		{ "NAME", "name" }, { "ROLE", "role" },
		{ "DISABLED", "disabled" }, { "PASSWORD CHANGED",
		    "password_changed" }, { "CREATED", "created" },
		{ "BY", "created_by" },
	};
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	return apiclient_show_list(ctx, "/api/v1/users", cols,
	    ARRAY_SIZE(cols), "no console users");
}

int
cmd_user_passwd(struct ctx *ctx, int argc, char **argv)
{
	const char *file = NULL, *name;
	char pw[USER_PASSWORD_MAX + 2], *path;
	int rc;

	if ((rc = user_opts(ctx, argc, argv, &file, NULL)) != -1 ||
	    (rc = ctl_operands(ctx, argc, argv, 1, &name, "NAME")) != -1)
		return rc;
	if ((rc = user_password(file, pw, sizeof(pw))) == EXIT_OK) {
		path = user_path(name, "/password");
		rc = user_post(ctx, path, "password", pw, user_print);
		free(path);
	}
	sodium_memzero(pw, sizeof(pw));
	return rc;
}

int
cmd_user_role(struct ctx *ctx, int argc, char **argv)
{
	const char *args[2];
	char *path;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 2, args, "NAME ROLE")) !=
	    -1)
		return rc;
	path = user_path(args[0], "/role");
	rc = user_post(ctx, path, "role", args[1], user_print);
	free(path);
	return rc;
}

static int
user_able(struct ctx *ctx, int argc, char **argv, const char *what)
{
	const char *name;
	char *path;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 1, &name, "NAME")) != -1)
		return rc;
	path = user_path(name, what);
	rc = user_post(ctx, path, NULL, NULL, user_print);
	free(path);
	return rc;
}

int
cmd_user_disable(struct ctx *ctx, int argc, char **argv)
{
	return user_able(ctx, argc, argv, "/disable");
}

int
cmd_user_enable(struct ctx *ctx, int argc, char **argv)
{
	return user_able(ctx, argc, argv, "/enable");
}

int
cmd_user_delete(struct ctx *ctx, int argc, char **argv)
{
	const char *name;
	char *path;
	int rc;

	if ((rc = ctl_simple_opts(ctx, argc, argv, 1, &name, "NAME")) != -1)
		return rc;
	path = user_path(name, "");
	rc = apiclient_call(ctx, "DELETE", path, API_AUTH, NULL, NULL, 0, NULL);
	free(path);
	if (rc != EXIT_OK)
		return rc;
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:b}", "name", name, "deleted", 1);

		rc = output_json(o);
		json_decref(o);
	} else
		printf("deleted user %s\n", name);
	return rc;
}
