/*
 * http.c: the HTTP/1.1 front end (plain or TLS) of trusteed.
 *
 * Shape: one event_base per worker thread, each with its own SO_REUSEPORT
 * listening socket per address, so the kernel spreads connections and no
 * state is shared between workers. A connection is a bufferevent (socket
 * or OpenSSL) plus an http_parser; handlers run synchronously on the
 * worker when a request is complete, and their response is queued on the
 * connection's output before parsing continues, so pipelined requests are
 * answered in order.
 *
 * Everything the parser sees goes through conn_feed(), which knows nothing
 * about sockets: the fuzzer drives it directly (http_fuzz_feed).
 *
 * Secrets: request bodies (admin uploads) are wiped before their buffer is
 * reused or freed; response bodies are handed to libevent by reference and
 * wiped when libevent releases them. Headers and bodies are never logged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/err.h>
#include <sodium.h>

/* http_parser.h and trusteed.h both define an "enum http_method": give the
 * parser's its own tag in this file (only its tag and http_method_str's
 * prototype use the name). */
#define http_method http_parser_method
#include <http_parser.h>
#undef http_method

#include "../lib/log.h"
#include "trusteed.h"

#define HTTP_MAX_HEADERS	100
#define HTTP_DEFAULT_MAX_HEADER	(64 * 1024)
#define HTTP_DEFAULT_MAX_BODY	(2 * 1024 * 1024)
#define HTTP_DEFAULT_IDLE_S	60
#define HTTP_MAX_CONNS		4096	/* per worker */
#define HTTP_MAX_WORKERS	256
#define HTTP_BACKLOG		1024
#define HTTP_STOP_GRACE_S	2
/* Stop parsing (and reading) while this much output is queued: a client
 * that pipelines requests without reading the answers cannot make us
 * buffer without bound. Resume below HTTP_OUT_LOW. */
#define HTTP_OUT_HIGH		(256 * 1024)
#define HTTP_OUT_LOW		(64 * 1024)
/* Request body buffers up to this size are kept (wiped) for the next
 * request on the connection; larger ones are freed. */
#define HTTP_BODY_KEEP		(16 * 1024)

/* Per-server limits and the handler, shared read-only by all workers. */
struct http_limits {
	size_t max_body;
	size_t max_header;
	int timeout_s;
	http_handler_fn handler;
	void *arg;
};

/* Where a header's name and value start in conn.hbuf (offsets, because
 * the buffer moves while it grows). */
struct http_span {
	size_t name;
	size_t value;
};

enum http_hstate { HS_NONE, HS_FIELD, HS_VALUE, HS_TRAILER };

struct http_worker;

struct http_conn {
	struct http_conn *next, *prev;	/* worker's connection list */
	struct http_worker *w;		/* NULL when fuzzing */
	const struct http_limits *lim;
	struct bufferevent *bev;	/* NULL when fuzzing */
	struct evbuffer *out;		/* responses are appended here */
	http_parser parser;
	char peer[64];
	int tls;

	/* The request being received. */
	int in_message;
	uint64_t start_ns;
	struct buf url;
	struct buf path;
	struct buf hbuf;		/* "name\0value\0" for each header */
	struct http_span spans[HTTP_MAX_HEADERS];
	struct http_header hdrs[HTTP_MAX_HEADERS];
	size_t nhdr;
	enum http_hstate hstate;
	size_t header_bytes;
	uint8_t *body;
	size_t body_len, body_cap;
	struct buf rhdr;		/* response header lines, reused */

	/* An error reply decided inside a parser callback. */
	int err_status;
	const char *err_type;
	char err_detail[160];

	int closing;		/* no more requests; free when flushed */
	int stop_close;		/* server stopping: close after response */
	int throttled;		/* reading paused until output drains */
};

struct http_worker {
	struct http_server *srv;
	struct event_base *base;
	struct evconnlistener **lis;	/* one per listen address */
	struct event *stop_ev;
	struct event *resume_ev;	/* re-enables accepting after EMFILE */
	pthread_t thread;
	int started;
	int stopping;
	int nconns;
	struct http_conn *conns;
};

struct http_server {
	struct http_limits lim;
	SSL_CTX *tls;
	size_t nlisten;
	char **listen;
	int *ports;
	int nworkers;
	struct http_worker *workers;
};

static int on_message_begin(http_parser *);
static int on_url(http_parser *, const char *, size_t);
static int on_header_field(http_parser *, const char *, size_t);
static int on_header_value(http_parser *, const char *, size_t);
static int on_headers_complete(http_parser *);
static int on_body(http_parser *, const char *, size_t);
static int on_message_complete(http_parser *);

static const http_parser_settings conn_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

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

static const struct http_header *
header_find(const struct http_header *h, size_t n, const char *name)
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

	h = header_find(r->headers, r->nheaders, name);
	return h != NULL ? h->value : NULL;
}

static int
is_ows(int c)
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

			while (is_ows(*s) || *s == ';')
				s++;
			n0 = s;
			while (*s != '\0' && *s != '=' && *s != ';')
				s++;
			n1 = s;
			while (n1 > n0 && is_ows(n1[-1]))
				n1--;
			if (*s != '=')
				continue;
			v0 = ++s;
			while (*s != '\0' && *s != ';')
				s++;
			v1 = s;
			while (v0 < v1 && is_ows(*v0))
				v0++;
			while (v1 > v0 && is_ows(v1[-1]))
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
static int
is_token(const char *s)
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
	char *v;

	if (!is_token(name)) {
		log_warnx("dropping response header \"%s\": invalid name",
		    log_escape(name, esc, sizeof(esc)));
		return;
	}
	va_start(ap, fmt);
	v = http_vasprintf(fmt, ap);
	va_end(ap);
	/* The value is not logged: it may be a session cookie. */
	if (strpbrk(v, "\r\n") != NULL)
		log_warnx("dropping response header %s: value contains CR or "
		    "LF", name);
	else
		buf_printf(&resp->headers, "%s: %s\r\n", name, v);
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
		s = json_dumps(o, JSON_COMPACT);
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

static const char *
status_reason(int status)
{
	const char *s = http_status_str((enum http_status)status);

	return strcmp(s, "<unknown>") == 0 ? "Status" : s;
}

static enum http_method
method_map(unsigned int m)
{
	switch (m) {
	case HTTP_GET:
		return HTTP_M_GET;
	case HTTP_HEAD:
		return HTTP_M_HEAD;
	case HTTP_POST:
		return HTTP_M_POST;
	case HTTP_PUT:
		return HTTP_M_PUT;
	case HTTP_DELETE:
		return HTTP_M_DELETE;
	default:
		return HTTP_M_OTHER;
	}
}

/* ------------------------------------------------- connection: parsing */

static struct http_conn *
conn_alloc(const struct http_limits *lim)
{
	struct http_conn *c = xcalloc(1, sizeof(*c));

	c->lim = lim;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	return c;
}

/* Release what conn_alloc and the parser callbacks allocated. */
static void
conn_release(struct http_conn *c)
{
	buf_free(&c->url);
	buf_free(&c->path);
	buf_free(&c->hbuf);
	buf_wipe(&c->rhdr);
	secret_free(c->body, c->body_cap);
	free(c);
}

/* Grow the body buffer to at least need bytes, wiping the old copy. */
static void
conn_body_reserve(struct http_conn *c, size_t need)
{
	size_t cap;
	uint8_t *p;

	if (need <= c->body_cap)
		return;
	cap = c->body_cap != 0 ? c->body_cap : 1024;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = xmalloc(cap);
	if (c->body_len > 0)
		memcpy(p, c->body, c->body_len);
	secret_free(c->body, c->body_cap);
	c->body = p;
	c->body_cap = cap;
}

/* Record an error reply for conn_feed to send; returns non-zero so the
 * parser callback that calls it stops the parser. */
static int
conn_fail(struct http_conn *c, int status, const char *type,
    const char *fmt, ...) ATTR_PRINTF(4, 5);

static int
conn_fail(struct http_conn *c, int status, const char *type,
    const char *fmt, ...)
{
	va_list ap;

	c->err_status = status;
	c->err_type = type;
	va_start(ap, fmt);
	vsnprintf(c->err_detail, sizeof(c->err_detail), fmt, ap);
	va_end(ap);
	return -1;
}

static int
conn_count_header(struct http_conn *c, size_t len)
{
	c->header_bytes += len;
	if (c->header_bytes > c->lim->max_header)
		return conn_fail(c, 431, "RequestHeaderFieldsTooLarge",
		    "request line and headers exceed the limit of %zu bytes",
		    c->lim->max_header);
	return 0;
}

static int
on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;

	c->in_message = 1;
	c->start_ns = now_mono_ns();
	c->url.len = 0;
	c->hbuf.len = 0;
	c->nhdr = 0;
	c->hstate = HS_NONE;
	c->header_bytes = 0;
	c->body_len = 0;
	return 0;
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (conn_count_header(c, len))
		return -1;
	buf_add(&c->url, at, len);
	return 0;
}

static int
on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (conn_count_header(c, len))
		return -1;
	if (c->hstate == HS_TRAILER)
		return 0;		/* chunked trailers are ignored */
	if (c->hstate != HS_FIELD) {
		if (c->hstate == HS_VALUE)
			buf_add(&c->hbuf, "", 1);
		if (c->nhdr == HTTP_MAX_HEADERS)
			return conn_fail(c, 431, "RequestHeaderFieldsTooLarge",
			    "more than %d header fields", HTTP_MAX_HEADERS);
		c->spans[c->nhdr].name = c->hbuf.len;
		c->spans[c->nhdr].value = c->hbuf.len;
		c->nhdr++;
		c->hstate = HS_FIELD;
	}
	buf_add(&c->hbuf, at, len);
	return 0;
}

static int
on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (conn_count_header(c, len))
		return -1;
	if (c->hstate == HS_TRAILER || c->hstate == HS_NONE)
		return 0;
	if (c->hstate == HS_FIELD) {
		buf_add(&c->hbuf, "", 1);
		c->spans[c->nhdr - 1].value = c->hbuf.len;
		c->hstate = HS_VALUE;
	}
	buf_add(&c->hbuf, at, len);
	return 0;
}

/* Point the header array into hbuf (which no longer grows: trailers are
 * not stored) and trim trailing whitespace from the values. */
static void
conn_headers_finish(struct http_conn *c)
{
	size_t i;

	if (c->hstate == HS_FIELD) {		/* name without a value */
		buf_add(&c->hbuf, "", 1);
		c->spans[c->nhdr - 1].value = c->hbuf.len;
		c->hstate = HS_VALUE;
	}
	if (c->hstate == HS_VALUE)
		buf_add(&c->hbuf, "", 1);
	c->hstate = HS_TRAILER;
	for (i = 0; i < c->nhdr; i++) {
		char *v = (char *)c->hbuf.data + c->spans[i].value;
		size_t n = strlen(v);

		while (n > 0 && is_ows(v[n - 1]))
			v[--n] = '\0';
		c->hdrs[i].name = (char *)c->hbuf.data + c->spans[i].name;
		c->hdrs[i].value = v;
	}
}

static int
on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	const struct http_header *h;
	int has_body = 0;
	size_t i;

	conn_headers_finish(c);
	/* http_parser lets spaces into field names; "Transfer-Encoding :"
	 * must not pass as some other header. */
	for (i = 0; i < c->nhdr; i++)
		if (!is_token(c->hdrs[i].name))
			return conn_fail(c, 400, "BadRequest", "malformed "
			    "request: invalid header field name");
	if (p->flags & F_CHUNKED)
		has_body = 1;
	else if (p->content_length != ULLONG_MAX) {
		if (p->content_length > c->lim->max_body)
			return conn_fail(c, 413, "PayloadTooLarge",
			    "request body exceeds the limit of %zu bytes",
			    c->lim->max_body);
		/* Exact size up front: no regrowth leaves body copies. */
		conn_body_reserve(c, (size_t)p->content_length + 1);
		has_body = p->content_length > 0;
	}
	/* Answer "Expect: 100-continue" so clients that wait for it (curl
	 * for larger uploads) do not stall; the final status follows. */
	h = header_find(c->hdrs, c->nhdr, "Expect");
	if (h != NULL && has_body && strcasecmp(h->value, "100-continue") == 0 &&
	    p->http_major == 1 && p->http_minor >= 1)
		evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

static int
on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (len > c->lim->max_body - c->body_len)
		return conn_fail(c, 413, "PayloadTooLarge",
		    "request body exceeds the limit of %zu bytes",
		    c->lim->max_body);
	conn_body_reserve(c, c->body_len + len + 1);
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	return 0;
}

static void
body_cleanup(const void *data, size_t len, void *extra)
{
	size_t cap = (size_t)(uintptr_t)extra;

	secret_free((void *)(uintptr_t)data, cap > len ? cap : len);
}

/*
 * Queue a response: status line, Content-Length, the handler's header
 * lines, Connection when needed, then the body (not for HEAD; never for
 * 1xx/204/304). Takes the body out of resp.
 */
static void
conn_write_response(struct http_conn *c, struct http_response *resp,
    int head, int keepalive10)
{
	struct evbuffer *out = c->out;
	char line[128];
	int n, nobody;

	nobody = resp->status == 204 || resp->status == 304;
	if (nobody)
		n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n",
		    resp->status, status_reason(resp->status));
	else
		n = snprintf(line, sizeof(line),
		    "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n",
		    resp->status, status_reason(resp->status), resp->body.len);
	evbuffer_add(out, line, (size_t)n);
	if (resp->headers.len > 0)
		evbuffer_add(out, resp->headers.data, resp->headers.len);
	if (resp->close)
		evbuffer_add(out, "Connection: close\r\n\r\n", 21);
	else if (keepalive10)
		evbuffer_add(out, "Connection: keep-alive\r\n\r\n", 26);
	else
		evbuffer_add(out, "\r\n", 2);
	if (!head && !nobody && resp->body.len > 0) {
		if (evbuffer_add_reference(out, resp->body.data,
		    resp->body.len, body_cleanup,
		    (void *)(uintptr_t)resp->body.cap) == 0)
			memset(&resp->body, 0, sizeof(resp->body));
		else
			evbuffer_add(out, resp->body.data, resp->body.len);
	}
	buf_wipe(&resp->body);
}

static void
conn_log(struct http_conn *c, const char *method, const char *path,
    int status, size_t bytes)
{
	char esc[256];

	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	log_debug("%s %s %s %d %zu %lluus", c->peer, method,
	    log_escape(path, esc, sizeof(esc)), status, bytes,
	    (unsigned long long)((now_mono_ns() - c->start_ns) / 1000));
}

/* Reply with a problem and close: for requests that never reach the
 * handler. */
static void
conn_error(struct http_conn *c, int status, const char *type,
    const char *detail)
{
	struct http_response resp = { 0 };

	http_problem(&resp, status, type, "%s", detail);
	resp.close = 1;
	if (!c->in_message)
		c->start_ns = now_mono_ns();
	/* The target is not logged: it may be incomplete, and its query
	 * may carry credentials. */
	conn_log(c, "-", "-", status, resp.body.len);
	conn_write_response(c, &resp, 0, 0);
	buf_free(&resp.headers);
	c->closing = 1;
}

/* Build the request, run the handler, queue its response. */
static void
conn_dispatch(struct http_conn *c)
{
	http_parser *p = &c->parser;
	struct http_request req;
	struct http_response resp;
	const char *q;
	int keepalive;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = method_map(p->method);
	req.method_name = http_method_str(p->method);
	req.target = buf_cstr(&c->url);
	q = strchr(req.target, '?');
	c->path.len = 0;
	buf_add(&c->path, req.target,
	    q != NULL ? (size_t)(q - req.target) : c->url.len);
	req.path = buf_cstr(&c->path);
	req.query = q != NULL ? (char *)q + 1 : NULL;
	req.headers = c->hdrs;
	req.nheaders = c->nhdr;
	conn_body_reserve(c, c->body_len + 1);
	c->body[c->body_len] = '\0';
	req.body = c->body;
	req.body_len = c->body_len;
	memcpy(req.peer, c->peer, sizeof(req.peer));
	req.tls = c->tls;
	keepalive = http_should_keep_alive(p);

	resp.headers = c->rhdr;
	memset(&c->rhdr, 0, sizeof(c->rhdr));
	c->lim->handler(&req, &resp, c->lim->arg);
	if (resp.status < 200 || resp.status > 599) {
		if (resp.status != 0)
			log_warnx("handler returned status %d", resp.status);
		resp.headers.len = 0;
		http_problem(&resp, 500, "InternalError",
		    "the request handler produced no response");
	}
	if (!keepalive || c->stop_close || p->upgrade)
		resp.close = 1;
	conn_log(c, req.method_name, req.path, resp.status, resp.body.len);
	conn_write_response(c, &resp, req.method == HTTP_M_HEAD,
	    !resp.close && p->http_major == 1 && p->http_minor == 0);

	/* Keep the header buffer; its contents (cookies) are wiped. */
	if (resp.headers.data != NULL)
		sodium_memzero(resp.headers.data, resp.headers.len);
	resp.headers.len = 0;
	c->rhdr = resp.headers;
	if (c->body_len > 0)
		sodium_memzero(c->body, c->body_len);
	c->body_len = 0;
	if (c->body_cap > HTTP_BODY_KEEP) {
		secret_free(c->body, c->body_cap);
		c->body = NULL;
		c->body_cap = 0;
	}
	if (resp.close)
		c->closing = 1;
}

static int
on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	conn_dispatch(c);
	c->in_message = 0;
	/* Stop here when no further request may be parsed on this
	 * connection, or to let the output drain first. */
	if (c->closing || evbuffer_get_length(c->out) > HTTP_OUT_HIGH)
		http_parser_pause(p, 1);
	return 0;
}

/*
 * Feed bytes to the parser. Returns how many were consumed; fewer than
 * len when the parser paused after a complete request (call again with
 * the rest) or when the connection is closing (the rest is discarded).
 */
static size_t
conn_feed(struct http_conn *c, const char *data, size_t len)
{
	enum http_errno e;
	size_t n;

	if (c->closing)
		return len;
	n = http_parser_execute(&c->parser, &conn_settings, data, len);
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED) {
		http_parser_pause(&c->parser, 0);
		return n;
	}
	if (e != HPE_OK) {
		if (c->err_status != 0)
			conn_error(c, c->err_status, c->err_type,
			    c->err_detail);
		else if (e == HPE_HEADER_OVERFLOW)
			conn_error(c, 431, "RequestHeaderFieldsTooLarge",
			    "request line and headers are too large");
		else {
			char detail[160];

			snprintf(detail, sizeof(detail), "malformed request: %s",
			    http_errno_description(e));
			conn_error(c, 400, "BadRequest", detail);
		}
		return len;
	}
	if (c->parser.upgrade) {
		/* CONNECT or Upgrade: not supported; whatever follows the
		 * request is not HTTP. The handler has answered already. */
		c->closing = 1;
		return len;
	}
	return n;
}

/* ----------------------------------------------- connection: libevent */

/*
 * Close and free a connection. clean: end a TLS session with close_notify
 * (which also keeps the session resumable); not after a TLS error, where
 * OpenSSL forbids it, nor from the main thread at teardown.
 */
static void
conn_free(struct http_conn *c, int clean)
{
	struct http_worker *w = c->w;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (clean && c->tls) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		/* Best effort, non-blocking: the output has drained. */
		if (ssl != NULL && SSL_is_init_finished(ssl))
			(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
	/* Safe inside the bufferevent's own callbacks: libevent holds a
	 * reference while it runs them and finishes the free afterwards. */
	bufferevent_free(c->bev);
	conn_release(c);
	w->nconns--;
	if (w->stopping && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/* No more requests: free now if nothing is left to send, otherwise when
 * the write callback sees the output drained. */
static void
conn_finish(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (evbuffer_get_length(c->out) == 0) {
		conn_free(c, 1);
		return;
	}
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

/* Parse whatever input is buffered, as long as the output is not backed
 * up. */
static void
conn_process(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint64_t limit_ns = (uint64_t)c->lim->timeout_s * 1000000000ull;
	int stalls = 0;

	if (c->in_message && now_mono_ns() - c->start_ns > limit_ns) {
		/* Slow senders: a request must arrive within the timeout,
		 * whatever pace its bytes come at. */
		conn_error(c, 408, "RequestTimeout", "request not received "
		    "in time");
		return;
	}
	while (!c->closing && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v[8];
		size_t used = 0;
		int nv, i;

		if (evbuffer_get_length(c->out) > HTTP_OUT_HIGH) {
			c->throttled = 1;
			bufferevent_disable(c->bev, EV_READ);
			bufferevent_setwatermark(c->bev, EV_WRITE,
			    HTTP_OUT_LOW, 0);
			return;
		}
		nv = evbuffer_peek(in, -1, NULL, v, 8);
		if (nv > 8)
			nv = 8;
		for (i = 0; i < nv && !c->closing; i++) {
			size_t n;

			if (v[i].iov_len == 0)
				continue;
			n = conn_feed(c, v[i].iov_base, v[i].iov_len);
			used += n;
			if (n < v[i].iov_len)
				break;
		}
		evbuffer_drain(in, used);
		if (used == 0 && ++stalls > 2) {
			log_warnx("%s: parser made no progress", c->peer);
			c->closing = 1;
		}
	}
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (!c->closing)
		conn_process(c);
	if (c->closing)
		conn_finish(c);
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->closing) {
		if (evbuffer_get_length(c->out) == 0)
			conn_free(c, 1);
		return;
	}
	if (c->throttled) {
		c->throttled = 0;
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		bufferevent_enable(c->bev, EV_READ);
		conn_process(c);
		if (c->closing)
			conn_finish(c);
	}
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED)
		return;		/* TLS handshake done */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* The client may have only shut down its sending side:
		 * deliver what is queued, then close. */
		conn_finish(c);
		return;
	}
	if (log_enabled(LOG_LVL_DEBUG)) {
		if (what & BEV_EVENT_TIMEOUT)
			log_debug("%s: idle timeout", c->peer);
		else if (c->tls && (e = bufferevent_get_openssl_error(bev)))
			log_debug("%s: TLS: %s", c->peer,
			    ERR_reason_error_string(e) ?
			    ERR_reason_error_string(e) : "error");
		else
			log_debug("%s: connection error: %s", c->peer,
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
	}
	while (c->tls && bufferevent_get_openssl_error(bev) != 0)
		;
	conn_free(c, !(what & BEV_EVENT_ERROR));
}

static void
format_peer(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else
		snprintf(out, cap, "unknown");
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct http_worker *w = arg;
	struct http_server *s = w->srv;
	struct bufferevent *bev;
	struct http_conn *c;
	struct timeval tv = { s->lim.timeout_s, 0 };
	int one = 1;

	(void)l;
	(void)salen;
	if (w->stopping || w->nconns >= HTTP_MAX_CONNS) {
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->tls != NULL) {
		SSL *ssl = SSL_new(s->tls);

		if (ssl == NULL) {
			log_warnx("SSL_new failed");
			ERR_clear_error();
			close(fd);
			return;
		}
		bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else
		bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* Only on allocation failure; libevent's cleanup of the
		 * socket (and SSL) on this path is not specified, so leave
		 * them rather than risk a double close. */
		log_warnx("cannot create a bufferevent for a new connection");
		return;
	}
	c = conn_alloc(&s->lim);
	c->w = w;
	c->bev = bev;
	c->out = bufferevent_get_output(bev);
	c->tls = s->tls != NULL;
	format_peer(sa, c->peer, sizeof(c->peer));
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	bufferevent_setcb(bev, conn_readcb, conn_writecb, conn_eventcb, c);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ------------------------------------------------------------- workers */

static void
worker_listeners_enable(struct http_worker *w, int on)
{
	size_t i;

	for (i = 0; i < w->srv->nlisten; i++) {
		if (w->lis[i] == NULL)
			continue;
		if (on)
			evconnlistener_enable(w->lis[i]);
		else
			evconnlistener_disable(w->lis[i]);
	}
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http_worker *w = arg;
	struct timeval tv = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	log_warnx("accept: %s", evutil_socket_error_to_string(e));
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		/* The pending connection stays queued: back off instead of
		 * spinning on it. */
		worker_listeners_enable(w, 0);
		evtimer_add(w->resume_ev, &tv);
	}
}

static void
worker_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker *w = arg;

	(void)fd;
	(void)what;
	if (!w->stopping)
		worker_listeners_enable(w, 1);
}

/* Runs on the worker: stop accepting, close idle connections, let busy
 * ones finish their response (bounded by the grace period). */
static void
worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker *w = arg;
	struct timeval grace = { HTTP_STOP_GRACE_S, 0 };
	struct http_conn *c, *next;
	size_t i;

	(void)fd;
	(void)what;
	w->stopping = 1;
	for (i = 0; i < w->srv->nlisten; i++) {
		if (w->lis[i] != NULL)
			evconnlistener_free(w->lis[i]);
		w->lis[i] = NULL;
	}
	evtimer_del(w->resume_ev);
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		c->stop_close = 1;
		if (c->closing)
			continue;
		if (!c->in_message && !c->throttled)
			conn_finish(c);
	}
	if (w->nconns == 0)
		event_base_loopexit(w->base, NULL);
	else
		event_base_loopexit(w->base, &grace);
}

static void *
worker_main(void *arg)
{
	struct http_worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ------------------------------------------------------------- server */

static pthread_once_t http_once = PTHREAD_ONCE_INIT;
static int http_threads_ok;

static void
http_init_once(void)
{
	http_threads_ok = evthread_use_pthreads() == 0;
}

/* "1.2.3.4:80" or "[::1]:80" into a sockaddr. */
static int
listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    struct error *err)
{
	char host[INET6_ADDRSTRLEN];
	const char *orig = s, *port, *end;
	unsigned long pn = 0;
	size_t hlen;
	int v6 = s[0] == '[';

	if (v6) {
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		hlen = (size_t)(end - s - 1);
		port = end + 2;
		s++;
	} else {
		end = strrchr(s, ':');
		if (end == NULL)
			goto bad;
		hlen = (size_t)(end - s);
		port = end + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || *port == '\0' ||
	    strlen(port) > 5)
		goto bad;
	for (end = port; *end != '\0'; end++) {
		if (*end < '0' || *end > '9')
			goto bad;
		pn = pn * 10 + (unsigned long)(*end - '0');
	}
	if (pn > 65535)
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)pn);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)pn);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		*sslen = sizeof(*s4);
	}
	return 0;
bad:
	return error_set(err, "listen \"%s\": expected IPv4:PORT or "
	    "[IPv6]:PORT", orig);
}

static void
sockaddr_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* A bound, listening, non-blocking socket; -1 with err naming addr. */
static int
listen_socket(const char *addr, const struct sockaddr_storage *ss,
    socklen_t sslen, struct error *err)
{
	int fd, one = 1, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return error_set(err, "listen %s: %s", addr, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)ss, sslen) == -1 ||
	    listen(fd, HTTP_BACKLOG) == -1) {
		e = errno;
		close(fd);
		return error_set(err, "listen %s: %s", addr, strerror(e));
	}
	return fd;
}

static void
server_free(struct http_server *s)
{
	size_t i;
	int k;

	for (k = 0; k < s->nworkers; k++) {
		struct http_worker *w = &s->workers[k];

		while (w->conns != NULL)
			conn_free(w->conns, 0);
		for (i = 0; w->lis != NULL && i < s->nlisten; i++)
			if (w->lis[i] != NULL)
				evconnlistener_free(w->lis[i]);
		free(w->lis);
		if (w->stop_ev != NULL)
			event_free(w->stop_ev);
		if (w->resume_ev != NULL)
			event_free(w->resume_ev);
		if (w->base != NULL)
			event_base_free(w->base);
	}
	free(s->workers);
	for (i = 0; i < s->nlisten; i++)
		free(s->listen[i]);
	free(s->listen);
	free(s->ports);
	free(s);
}

struct http_server *
http_server_start(const struct http_server_config *cfg, struct error *err)
{
	struct http_server *s;
	sigset_t all, old;
	size_t i;
	int k;

	pthread_once(&http_once, http_init_once);
	if (!http_threads_ok) {
		error_set(err, "libevent: cannot enable pthreads support");
		return NULL;
	}
	if (cfg->handler == NULL || cfg->nlisten == 0) {
		error_set(err, "http server: no %s", cfg->handler == NULL ?
		    "handler" : "listen address");
		return NULL;
	}
	if (cfg->workers < 0 || cfg->workers > HTTP_MAX_WORKERS) {
		error_set(err, "http server: workers %d out of range 1..%d",
		    cfg->workers, HTTP_MAX_WORKERS);
		return NULL;
	}

	s = xcalloc(1, sizeof(*s));
	s->lim.max_body = cfg->max_body != 0 ? cfg->max_body :
	    HTTP_DEFAULT_MAX_BODY;
	s->lim.max_header = cfg->max_header != 0 ? cfg->max_header :
	    HTTP_DEFAULT_MAX_HEADER;
	s->lim.timeout_s = cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s :
	    HTTP_DEFAULT_IDLE_S;
	s->lim.handler = cfg->handler;
	s->lim.arg = cfg->arg;
	s->tls = cfg->tls;
	s->nlisten = cfg->nlisten;
	s->listen = xcalloc(cfg->nlisten, sizeof(*s->listen));
	s->ports = xcalloc(cfg->nlisten, sizeof(*s->ports));
	for (i = 0; i < cfg->nlisten; i++)
		s->listen[i] = xstrdup(cfg->listen[i]);
	/* The parser's own (process-wide) header limit must not undercut
	 * ours; it is only ever raised. */
	if (s->lim.max_header > HTTP_MAX_HEADER_SIZE - 4096) {
		size_t m = s->lim.max_header > UINT32_MAX - 4096 ?
		    UINT32_MAX - 4096 : s->lim.max_header;

		http_parser_set_max_header_size((uint32_t)(m + 4096));
	}

	s->nworkers = cfg->workers > 0 ? cfg->workers : 1;
	s->workers = xcalloc((size_t)s->nworkers, sizeof(*s->workers));
	for (k = 0; k < s->nworkers; k++) {
		struct http_worker *w = &s->workers[k];

		w->srv = s;
		w->lis = xcalloc(s->nlisten, sizeof(*w->lis));
		w->base = event_base_new();
		if (w->base == NULL) {
			error_set(err, "event_base_new failed");
			goto fail;
		}
		w->stop_ev = event_new(w->base, -1, 0, worker_stop_cb, w);
		w->resume_ev = evtimer_new(w->base, worker_resume_cb, w);
		if (w->stop_ev == NULL || w->resume_ev == NULL) {
			error_set(err, "event_new failed");
			goto fail;
		}
	}

	/* Worker 0 binds first so that, with port 0, the others can share
	 * the port the kernel picked. */
	for (i = 0; i < s->nlisten; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = 0;

		if (listen_parse(s->listen[i], &ss, &sslen, err) == -1)
			goto fail;
		for (k = 0; k < s->nworkers; k++) {
			struct http_worker *w = &s->workers[k];
			int fd;

			if (k > 0)
				sockaddr_set_port(&ss, s->ports[i]);
			fd = listen_socket(s->listen[i], &ss, sslen, err);
			if (fd == -1)
				goto fail;
			if (k == 0) {
				struct sockaddr_storage b;
				socklen_t blen = sizeof(b);

				if (getsockname(fd, (struct sockaddr *)&b,
				    &blen) == -1) {
					error_set(err, "listen %s: getsockname: "
					    "%s", s->listen[i], strerror(errno));
					close(fd);
					goto fail;
				}
				s->ports[i] = b.ss_family == AF_INET ?
				    ntohs(((struct sockaddr_in *)&b)->sin_port) :
				    ntohs(((struct sockaddr_in6 *)&b)->
				    sin6_port);
			}
			w->lis[i] = evconnlistener_new(w->base, accept_cb, w,
			    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
			    fd);
			if (w->lis[i] == NULL) {
				error_set(err, "listen %s: cannot create the "
				    "listener", s->listen[i]);
				close(fd);
				goto fail;
			}
			evconnlistener_set_error_cb(w->lis[i], accept_error_cb);
		}
	}

	/* Workers never handle signals: the main thread owns them, and a
	 * SIGPIPE from a write to a closed socket stays pending instead of
	 * killing the process. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (k = 0; k < s->nworkers; k++) {
		struct http_worker *w = &s->workers[k];
		char name[16];
		int e;

		e = pthread_create(&w->thread, NULL, worker_main, w);
		if (e != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			error_set(err, "pthread_create: %s", strerror(e));
			http_server_stop(s);
			return NULL;
		}
		w->started = 1;
		snprintf(name, sizeof(name), "http-%d", k);
		pthread_setname_np(w->thread, name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return s;
fail:
	server_free(s);
	return NULL;
}

int
http_server_port(const struct http_server *s, size_t i)
{
	if (s == NULL || i >= s->nlisten)
		return -1;
	return s->ports[i];
}

void
http_server_stop(struct http_server *s)
{
	int k;

	if (s == NULL)
		return;
	for (k = 0; k < s->nworkers; k++)
		if (s->workers[k].started)
			event_active(s->workers[k].stop_ev, EV_TIMEOUT, 0);
	for (k = 0; k < s->nworkers; k++)
		if (s->workers[k].started)
			pthread_join(s->workers[k].thread, NULL);
	server_free(s);
}

/* ------------------------------------------------------------- fuzzing */

#ifdef FUZZING
int http_fuzz_feed(const uint8_t *data, size_t len);

static void
fuzz_handler(struct http_request *req, struct http_response *resp,
    void *arg)
{
	char v[64];

	(void)arg;
	(void)http_request_header(req, "Host");
	if (http_request_cookie(req, "kbs-session-id", v, sizeof(v)) == 0)
		http_response_header(resp, "Set-Cookie", "kbs-session-id=%s",
		    v);
	if (req->query != NULL)
		http_response_header(resp, "X-Query", "%s", req->query);
	if (req->method == HTTP_M_POST || req->method == HTTP_M_PUT) {
		resp->status = 200;
		http_response_body(resp, "application/octet-stream",
		    req->body, req->body_len);
	} else if (req->method == HTTP_M_DELETE)
		resp->status = 0;	/* exercises the 500 path */
	else
		http_problem(resp, 404, "PluginNotFound", "no route for %s",
		    req->path);
}

static void
fuzz_run(const struct http_limits *lim, const uint8_t *data, size_t len,
    size_t step)
{
	struct http_conn *c = conn_alloc(lim);
	size_t off = 0;
	int stalls = 0;

	snprintf(c->peer, sizeof(c->peer), "fuzz:0");
	c->out = evbuffer_new();
	if (c->out == NULL)
		abort();
	while (off < len && !c->closing) {
		size_t k = len - off < step ? len - off : step;
		size_t n = conn_feed(c, (const char *)data + off, k);

		if (n > k)
			abort();
		if (n == 0 && ++stalls > 2)
			abort();	/* the parser must always progress */
		off += n;
		if (evbuffer_get_length(c->out) > HTTP_OUT_HIGH)
			evbuffer_drain(c->out, evbuffer_get_length(c->out));
	}
	evbuffer_free(c->out);
	conn_release(c);
}

/* Run the request parser and response writer over data as if it arrived
 * on one connection, once in one piece and once in small pieces. */
int
http_fuzz_feed(const uint8_t *data, size_t len)
{
	static const struct http_limits lim = {
		.max_body = 4096,
		.max_header = 2048,
		.timeout_s = 60,
		.handler = fuzz_handler,
	};

	fuzz_run(&lim, data, len, len == 0 ? 1 : len);
	fuzz_run(&lim, data, len, 1 + len % 7);
	return 0;
}
#endif
