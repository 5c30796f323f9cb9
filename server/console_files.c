/*
 * console_files.c: the console's static files under /console/ (console.h).
 * The table is built once at start, from the files compiled in
 * (console/... in lib/embedded.h) or from a directory; requests only read
 * it. There is no fallback page: the console routes with #fragments, so
 * an unknown path is a 404.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "../lib/embedded.h"
#include "../lib/log.h"
#include "console.h"

#define CONSOLE_PREFIX "/console/"
#define CONSOLE_MAX_FILES 256
#define CONSOLE_MAX_FILE ((size_t)4 * 1024 * 1024)
#define CONSOLE_ETAG_BYTES 16

struct console_file {
	char *path;			/* relative: "js/app.js" */
	const unsigned char *data;
	size_t len;
	unsigned char *owned;		/* data read from a directory */
	const char *type;
	char etag[2 * CONSOLE_ETAG_BYTES + 3];	/* "\"hex\"" */
};

static struct console_file console_files[CONSOLE_MAX_FILES];
static size_t console_nfiles;

static const struct {
	const char *ext;
	const char *type;
} console_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

static const char *
console_files_type(const char *path)
{
	size_t i, n = strlen(path), e;

	for (i = 0; i < ARRAY_SIZE(console_types); i++) {
		e = strlen(console_types[i].ext);
		if (n > e && strcmp(path + n - e, console_types[i].ext) == 0)
			return console_types[i].type;
	}
	return "application/octet-stream";
}

static int
console_files_add(const char *rel, const unsigned char *data, size_t len,
    unsigned char *owned, struct error *err)
{
	struct console_file *f;
	uint8_t d[CONSOLE_ETAG_BYTES];

	if (console_nfiles == CONSOLE_MAX_FILES)
		return error_set(err, "console: more than %d files",
		    CONSOLE_MAX_FILES);
	f = &console_files[console_nfiles++];
	f->path = xstrdup(rel);
	f->data = data;
	f->len = len;
	f->owned = owned;
	f->type = console_files_type(rel);
	crypto_generichash(d, sizeof(d), data, len, NULL, 0);
	f->etag[0] = '"';
	hex_encode(d, sizeof(d), f->etag + 1);
	f->etag[2 * CONSOLE_ETAG_BYTES + 1] = '"';
	f->etag[2 * CONSOLE_ETAG_BYTES + 2] = '\0';
	return 0;
}

static int
console_files_dir(const char *root, const char *rel, int depth,
    struct error *err)
{
	struct dirent *de;
	struct stat st;
	char *dir;
	DIR *d;
	int rc = 0;

	dir = rel[0] != '\0' ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	d = opendir(dir);
	if (d == NULL) {
		free(dir);
		return error_set(err, "console: cannot open %s", root);
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char *path, *r;
		uint8_t *data;
		size_t len;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		r = rel[0] != '\0' ? xasprintf("%s/%s", rel, de->d_name) :
		    xstrdup(de->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth < 4)
				rc = console_files_dir(root, r, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			if (file_read_all(path, CONSOLE_MAX_FILE, &data, &len,
			    err) != 0)
				rc = -1;
			else
				rc = console_files_add(r, data, len, data, err);
		}
		free(path);
		free(r);
	}
	closedir(d);
	free(dir);
	return rc;
}

int
console_files_init(const char *dir, struct error *err)
{
	unsigned long i;
	size_t n = strlen("console/");

	console_files_shutdown();
	if (dir != NULL) {
		if (console_files_dir(dir, "", 0, err) != 0) {
			console_files_shutdown();
			return -1;
		}
		log_info("console: serving %zu files from %s", console_nfiles,
		    dir);
	} else {
		for (i = 0; i < embedded_count; i++)
			if (strncmp(embedded_files[i].path, "console/", n) == 0 &&
			    console_files_add(embedded_files[i].path + n,
			    embedded_files[i].data, embedded_files[i].len, NULL,
			    err) != 0) {
				console_files_shutdown();
				return -1;
			}
	}
	return 0;
}

void
console_files_shutdown(void)
{
	size_t i;

	for (i = 0; i < console_nfiles; i++) {
		free(console_files[i].path);
		free(console_files[i].owned);
	}
	memset(console_files, 0, sizeof(console_files));
	console_nfiles = 0;
}

static const struct console_file *
console_files_find(const char *rel)
{
	size_t i;

	for (i = 0; i < console_nfiles; i++)
		if (strcmp(console_files[i].path, rel) == 0)
			return &console_files[i];
	return NULL;
}

/* 1 when the If-None-Match header lists etag (or is "*"). */
static int
console_files_not_modified(const struct http_request *req, const char *etag)
{
	const char *inm = http_request_header(req, "If-None-Match");
	size_t n = strlen(etag);
	const char *p;

	if (inm == NULL)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	for (p = inm; (p = strstr(p, etag)) != NULL; p += n)
		if ((p == inm || p[-1] == ' ' || p[-1] == ',' ||
		    p[-1] == '/') && (p[n] == '\0' || p[n] == ',' ||
		    p[n] == ' '))
			return 1;
	return 0;
}

void
console_files_handle(struct http_request *req, struct http_response *resp,
    void *arg)
{
	const struct console_file *f;
	const char *rel;

	(void)arg;
	if (req->method != HTTP_M_GET && req->method != HTTP_M_HEAD) {
		http_response_header(resp, "Allow", "GET, HEAD");
		http_problem(resp, 405, "MethodNotAllowed", "the console's "
		    "files are read with GET");
		return;
	}
	if (strcmp(req->path, "/console") == 0) {
		resp->status = 308;
		http_response_header(resp, "Location", CONSOLE_PREFIX);
		return;
	}
	rel = req->path + strlen(CONSOLE_PREFIX);
	if (*rel == '\0')
		rel = "index.html";
	f = console_files_find(rel);
	if (f == NULL) {
		http_problem(resp, 404, "InvalidRequestPath", "no such console "
		    "file");
		return;
	}
	http_response_header(resp, "ETag", "%s", f->etag);
	http_response_header(resp, "Cache-Control", "no-cache");
	if (console_files_not_modified(req, f->etag)) {
		resp->status = 304;
		return;
	}
	resp->status = 200;
	http_response_body(resp, f->type, f->data, f->len);
}
