/*
 * http.c: the public request/response helpers of trusteed's HTTP front
 * end: request headers and cookies, response headers and bodies,
 * problem replies. The front end's shape is described in http_internal.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "../lib/jcs.h"
#include "../lib/log.h"
#include "http_internal.h"

/* ------------------------------------------------------------ helpers */

static char *
http_vasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return xstrdup("");
	s = xmalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

const struct http_header *
http_header_find(const struct http_header *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return &h[i];
	return NULL;
}

const char *
http_request_header(const struct http_request *r, const char *name)
{
	const struct http_header *h;

	h = http_header_find(r->headers, r->nheaders, name);
	return h != NULL ? h->value : NULL;
}

int
http_is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * Cookie: name=value pairs separated by ';' (RFC 6265 section 4.2.1, read
 * leniently: optional whitespace around names and values, a quoted value
 * is unquoted). Names match exactly, so "xkbs-session-id" never matches
 * "kbs-session-id". Pairs without '=' are skipped.
 */
int
http_request_cookie(const struct http_request *r, const char *name,
    char *out, size_t cap)
{
	size_t want = strlen(name), i;

	for (i = 0; i < r->nheaders; i++) {
		const char *s = r->headers[i].value;

		if (strcasecmp(r->headers[i].name, "Cookie") != 0)
			continue;
		while (*s != '\0') {
			const char *n0, *n1, *v0, *v1;

			while (http_is_ows(*s) || *s == ';')
				s++;
			n0 = s;
			while (*s != '\0' && *s != '=' && *s != ';')
				s++;
			n1 = s;
			while (n1 > n0 && http_is_ows(n1[-1]))
				n1--;
			if (*s != '=')
				continue;
			v0 = ++s;
			while (*s != '\0' && *s != ';')
				s++;
			v1 = s;
			while (v0 < v1 && http_is_ows(*v0))
				v0++;
			while (v1 > v0 && http_is_ows(v1[-1]))
				v1--;
			if (v1 - v0 >= 2 && *v0 == '"' && v1[-1] == '"') {
				v0++;
				v1--;
			}
			if ((size_t)(n1 - n0) != want ||
			    memcmp(n0, name, want) != 0)
				continue;
			if ((size_t)(v1 - v0) + 1 > cap)
				return -1;
			memcpy(out, v0, (size_t)(v1 - v0));
			out[v1 - v0] = '\0';
			return 0;
		}
	}
	return -1;
}

/* RFC 9110 token characters, for header names. */
int
http_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
			return 0;
	}
	return 1;
}

void
http_response_header(struct http_response *resp, const char *name,
    const char *fmt, ...)
{
	char esc[64];
	va_list ap;
	const char *cv;
	char *v;

	if (!http_is_token(name)) {
		log_warnx("dropping response header \"%s\": invalid name",
		    log_escape(name, esc, sizeof(esc)));
		return;
	}
	/* A value without conversions (most are constants) or a bare "%s"
	 * is copied as it is: formatting costs more than the rest of an
	 * answer's headers together. */
	va_start(ap, fmt);
	if (strchr(fmt, '%') == NULL)
		v = NULL, cv = fmt;
	else if (strcmp(fmt, "%s") == 0)
		v = NULL, cv = va_arg(ap, const char *);
	else
		cv = v = http_vasprintf(fmt, ap);
	va_end(ap);
	/* The value is not logged: it may be a session cookie. */
	if (strpbrk(cv, "\r\n") != NULL)
		log_warnx("dropping response header %s: value contains CR or "
		    "LF", name);
	else {
		/* Room for an answer's usual few lines at once. */
		if (resp->headers.cap == 0)
			buf_reserve(&resp->headers, 255);
		buf_addstr(&resp->headers, name);
		buf_add(&resp->headers, ": ", 2);
		buf_addstr(&resp->headers, cv);
		buf_add(&resp->headers, "\r\n", 2);
	}
	free(v);
}

/* Remove every "name: ..." line from a header block. */
static void
headers_remove(struct buf *b, const char *name)
{
	size_t nlen = strlen(name), off = 0;

	while (off < b->len) {
		char *line = (char *)b->data + off;
		char *end = memchr(line, '\n', b->len - off);
		size_t llen = end != NULL ? (size_t)(end - line) + 1 :
		    b->len - off;

		if (llen > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			memmove(line, line + llen, b->len - off - llen);
			b->len -= llen;
			b->data[b->len] = '\0';
		} else
			off += llen;
	}
}

void
http_response_body(struct http_response *resp, const char *content_type,
    const void *data, size_t len)
{
	headers_remove(&resp->headers, "Content-Type");
	buf_wipe(&resp->body);
	if (content_type != NULL)
		http_response_header(resp, "Content-Type", "%s", content_type);
	buf_add(&resp->body, data, len);
}

/*
 * Copy s into b replacing every byte that is not part of a well-formed
 * UTF-8 sequence (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) by
 * U+FFFD, so jansson accepts whatever a detail message carries.
 */
static void
utf8_sanitize(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n = 0, i;
		unsigned int cp = 0, min = 0;

		if (p[0] < 0x80)
			n = 1;
		else if ((p[0] & 0xe0) == 0xc0) {
			n = 2;
			cp = p[0] & 0x1f;
			min = 0x80;
		} else if ((p[0] & 0xf0) == 0xe0) {
			n = 3;
			cp = p[0] & 0x0f;
			min = 0x800;
		} else if ((p[0] & 0xf8) == 0xf0) {
			n = 4;
			cp = p[0] & 0x07;
			min = 0x10000;
		}
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (n > 1 && (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)))
			n = 0;
		if (n == 0) {
			buf_add(b, "\xef\xbf\xbd", 3);
			p++;
		} else {
			buf_add(b, p, n);
			p += n;
		}
	}
	buf_cstr(b);
}

void
http_problem(struct http_response *resp, int status, const char *type,
    const char *fmt, ...)
{
	struct buf detail = { 0 };
	json_t *o;
	char *t, *d, *s;
	va_list ap;

	va_start(ap, fmt);
	d = http_vasprintf(fmt, ap);
	va_end(ap);
	utf8_sanitize(&detail, d);
	free(d);
	t = xasprintf("%s%s", KBS_ERROR_PREFIX, type);

	o = json_object();
	if (o == NULL || json_object_set_new(o, "type", json_string(t)) ||
	    json_object_set_new(o, "detail",
	    json_string(buf_cstr(&detail))))
		s = NULL;
	else
		s = jcs_compact(o, NULL);
	resp->status = status;
	if (s != NULL)
		http_response_body(resp, "application/json", s, strlen(s));
	else
		http_response_body(resp, "application/json",
		    "{\"type\":\"" KBS_ERROR_PREFIX "InternalError\","
		    "\"detail\":\"out of memory\"}",
		    sizeof("{\"type\":\"" KBS_ERROR_PREFIX "InternalError\","
		    "\"detail\":\"out of memory\"}") - 1);
	free(s);
	json_decref(o);
	free(t);
	buf_free(&detail);
}

void
http_security_headers(struct http_response *resp)
{
	/* No inline script or style anywhere, no framing. */
	http_response_header(resp, "Content-Security-Policy", "default-src "
	    "'self'; script-src 'self'; style-src 'self'; img-src 'self' "
	    "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
	    "form-action 'self'; frame-ancestors 'none'");
	http_response_header(resp, "X-Content-Type-Options", "nosniff");
	http_response_header(resp, "Referrer-Policy", "no-referrer");
	http_response_header(resp, "X-Frame-Options", "DENY");
	http_response_header(resp, "Cross-Origin-Opener-Policy",
	    "same-origin");
}
