/*
 * http_conn.c: one connection of trusteed's HTTP front end: accepting it
 * (socket or TLS bufferevent), assembling requests with http_parser under
 * the size and time limits, running the handler and writing responses,
 * flow control and closing. The front end's shape is described in
 * http_internal.h.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <openssl/err.h>
#include <sodium.h>

#include "../lib/log.h"
#include "http_internal.h"

#define HTTP_MAX_CONNS		4096	/* per worker */
/* Stop parsing (and reading) while this much output is queued: a client
 * that pipelines requests without reading the answers cannot make us
 * buffer without bound. Resume below HTTP_OUT_LOW. */
#define HTTP_OUT_HIGH		(256 * 1024)
#define HTTP_OUT_LOW		(64 * 1024)
/* Request body buffers up to this size are kept (wiped) for the next
 * request on the connection; larger ones are freed. */
#define HTTP_BODY_KEEP		(16 * 1024)

static int http_conn_on_message_begin(http_parser *);
static int http_conn_on_url(http_parser *, const char *, size_t);
static int http_conn_on_header_field(http_parser *, const char *, size_t);
static int http_conn_on_header_value(http_parser *, const char *, size_t);
static int http_conn_on_headers_complete(http_parser *);
static int http_conn_on_body(http_parser *, const char *, size_t);
static int http_conn_on_message_complete(http_parser *);

static const http_parser_settings http_conn_settings = {
	.on_message_begin = http_conn_on_message_begin,
	.on_url = http_conn_on_url,
	.on_header_field = http_conn_on_header_field,
	.on_header_value = http_conn_on_header_value,
	.on_headers_complete = http_conn_on_headers_complete,
	.on_body = http_conn_on_body,
	.on_message_complete = http_conn_on_message_complete,
};

static const char *
http_conn_status_reason(int status)
{
	const char *s = http_status_str((enum http_status)status);

	return strcmp(s, "<unknown>") == 0 ? "Status" : s;
}

static enum http_method
http_conn_method_map(unsigned int m)
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
http_conn_alloc(const struct http_limits *lim)
{
	struct http_conn *c = xcalloc(1, sizeof(*c));

	c->lim = lim;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	return c;
}

/* Release what http_conn_alloc and the parser callbacks allocated. */
static void
http_conn_release(struct http_conn *c)
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
http_conn_body_reserve(struct http_conn *c, size_t need)
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

/* Record an error reply for http_conn_feed to send; returns non-zero so the
 * parser callback that calls it stops the parser. */
static int
http_conn_fail(struct http_conn *c, int status, const char *type,
    const char *fmt, ...) ATTR_PRINTF(4, 5);

static int
http_conn_fail(struct http_conn *c, int status, const char *type,
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
http_conn_count_header(struct http_conn *c, size_t len)
{
	c->header_bytes += len;
	if (c->header_bytes > c->lim->max_header)
		return http_conn_fail(c, 431, "RequestHeaderFieldsTooLarge",
		    "request line and headers exceed the limit of %zu bytes",
		    c->lim->max_header);
	return 0;
}

static int
http_conn_on_message_begin(http_parser *p)
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
http_conn_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (http_conn_count_header(c, len))
		return -1;
	buf_add(&c->url, at, len);
	return 0;
}

static int
http_conn_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (http_conn_count_header(c, len))
		return -1;
	if (c->hstate == HS_TRAILER)
		return 0;		/* chunked trailers are ignored */
	if (c->hstate != HS_FIELD) {
		if (c->hstate == HS_VALUE)
			buf_add(&c->hbuf, "", 1);
		if (c->nhdr == HTTP_MAX_HEADERS)
			return http_conn_fail(c, 431,
			    "RequestHeaderFieldsTooLarge", "more than %d header fields", HTTP_MAX_HEADERS);
		c->spans[c->nhdr].name = c->hbuf.len;
		c->spans[c->nhdr].value = c->hbuf.len;
		c->nhdr++;
		c->hstate = HS_FIELD;
	}
	buf_add(&c->hbuf, at, len);
	return 0;
}

static int
http_conn_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (http_conn_count_header(c, len))
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
http_conn_headers_finish(struct http_conn *c)
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

		while (n > 0 && http_is_ows(v[n - 1]))
			v[--n] = '\0';
		c->hdrs[i].name = (char *)c->hbuf.data + c->spans[i].name;
		c->hdrs[i].value = v;
	}
}

static int
http_conn_on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	const struct http_header *h;
	int has_body = 0;
	size_t i;

	http_conn_headers_finish(c);
	/* http_parser lets spaces into field names; "Transfer-Encoding :"
	 * must not pass as some other header. */
	for (i = 0; i < c->nhdr; i++)
		if (!http_is_token(c->hdrs[i].name))
			return http_conn_fail(c, 400, "BadRequest", "malformed "
			    "request: invalid header field name");
	if (p->flags & F_CHUNKED)
		has_body = 1;
	else if (p->content_length != ULLONG_MAX) {
		if (p->content_length > c->lim->max_body)
			return http_conn_fail(c, 413, "PayloadTooLarge",
			    "request body exceeds the limit of %zu bytes",
			    c->lim->max_body);
		/* Exact size up front: no regrowth leaves body copies. */
		http_conn_body_reserve(c, (size_t)p->content_length + 1);
		has_body = p->content_length > 0;
	}
	/* Answer "Expect: 100-continue" so clients that wait for it (curl
	 * for larger uploads) do not stall; the final status follows. */
	h = http_header_find(c->hdrs, c->nhdr, "Expect");
	if (h != NULL && has_body && strcasecmp(h->value, "100-continue") == 0 &&
	    p->http_major == 1 && p->http_minor >= 1)
		evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

static int
http_conn_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (len > c->lim->max_body - c->body_len)
		return http_conn_fail(c, 413, "PayloadTooLarge",
		    "request body exceeds the limit of %zu bytes",
		    c->lim->max_body);
	http_conn_body_reserve(c, c->body_len + len + 1);
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	return 0;
}

static void
http_conn_body_cleanup(const void *data, size_t len, void *extra)
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
http_conn_write_response(struct http_conn *c, struct http_response *resp,
    int head, int keepalive10)
{
	struct evbuffer *out = c->out;
	char line[128];
	int n, nobody;

	nobody = resp->status == 204 || resp->status == 304;
	if (nobody)
		n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n",
		    resp->status, http_conn_status_reason(resp->status));
	else
		n = snprintf(line, sizeof(line),
		    "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n",
		    resp->status, http_conn_status_reason(resp->status),
		    resp->body.len);
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
		    resp->body.len, http_conn_body_cleanup,
		    (void *)(uintptr_t)resp->body.cap) == 0)
			memset(&resp->body, 0, sizeof(resp->body));
		else
			evbuffer_add(out, resp->body.data, resp->body.len);
	}
	buf_wipe(&resp->body);
}

static void
http_conn_log(struct http_conn *c, const char *method, const char *path,
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
http_conn_error(struct http_conn *c, int status, const char *type,
    const char *detail)
{
	struct http_response resp = { 0 };

	http_problem(&resp, status, type, "%s", detail);
	resp.close = 1;
	if (!c->in_message)
		c->start_ns = now_mono_ns();
	/* The target is not logged: it may be incomplete, and its query
	 * may carry credentials. */
	http_conn_log(c, "-", "-", status, resp.body.len);
	http_conn_write_response(c, &resp, 0, 0);
	buf_free(&resp.headers);
	c->closing = 1;
}

/* Build the request, run the handler, queue its response. */
static void
http_conn_dispatch(struct http_conn *c)
{
	http_parser *p = &c->parser;
	struct http_request req;
	struct http_response resp;
	const char *q;
	int keepalive;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = http_conn_method_map(p->method);
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
	http_conn_body_reserve(c, c->body_len + 1);
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
	http_conn_log(c, req.method_name, req.path, resp.status, resp.body.len);
	http_conn_write_response(c, &resp, req.method == HTTP_M_HEAD,
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
http_conn_on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	http_conn_dispatch(c);
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
http_conn_feed(struct http_conn *c, const char *data, size_t len)
{
	enum http_errno e;
	size_t n;

	if (c->closing)
		return len;
	n = http_parser_execute(&c->parser, &http_conn_settings, data, len);
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED) {
		http_parser_pause(&c->parser, 0);
		return n;
	}
	if (e != HPE_OK) {
		if (c->err_status != 0)
			http_conn_error(c, c->err_status, c->err_type,
			    c->err_detail);
		else if (e == HPE_HEADER_OVERFLOW)
			http_conn_error(c, 431, "RequestHeaderFieldsTooLarge",
			    "request line and headers are too large");
		else {
			char detail[160];

			snprintf(detail, sizeof(detail), "malformed request: %s",
			    http_errno_description(e));
			http_conn_error(c, 400, "BadRequest", detail);
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
void
http_conn_free(struct http_conn *c, int clean)
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
	http_conn_release(c);
	w->nconns--;
	if (w->stopping && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/* No more requests: free now if nothing is left to send, otherwise when
 * the write callback sees the output drained. */
void
http_conn_finish(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);

	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (evbuffer_get_length(c->out) == 0) {
		http_conn_free(c, 1);
		return;
	}
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

/* Parse whatever input is buffered, as long as the output is not backed
 * up. */
static void
http_conn_process(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	uint64_t limit_ns = (uint64_t)c->lim->timeout_s * 1000000000ull;
	int stalls = 0;

	if (c->in_message && now_mono_ns() - c->start_ns > limit_ns) {
		/* Slow senders: a request must arrive within the timeout,
		 * whatever pace its bytes come at. */
		http_conn_error(c, 408, "RequestTimeout", "request not "
		    "received in time");
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
			n = http_conn_feed(c, v[i].iov_base, v[i].iov_len);
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
http_conn_readcb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (!c->closing)
		http_conn_process(c);
	if (c->closing)
		http_conn_finish(c);
}

static void
http_conn_writecb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->closing) {
		if (evbuffer_get_length(c->out) == 0)
			http_conn_free(c, 1);
		return;
	}
	if (c->throttled) {
		c->throttled = 0;
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		bufferevent_enable(c->bev, EV_READ);
		http_conn_process(c);
		if (c->closing)
			http_conn_finish(c);
	}
}

static void
http_conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn *c = arg;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED)
		return;		/* TLS handshake done */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		/* The client may have only shut down its sending side:
		 * deliver what is queued, then close. */
		http_conn_finish(c);
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
	http_conn_free(c, !(what & BEV_EVENT_ERROR));
}

static void
http_conn_format_peer(const struct sockaddr *sa, char *out, size_t cap)
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

void
http_conn_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
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
	c = http_conn_alloc(&s->lim);
	c->w = w;
	c->bev = bev;
	c->out = bufferevent_get_output(bev);
	c->tls = s->tls != NULL;
	http_conn_format_peer(sa, c->peer, sizeof(c->peer));
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	bufferevent_setcb(bev, http_conn_readcb, http_conn_writecb,
	    http_conn_eventcb, c);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ------------------------------------------------------------- fuzzing */

#ifdef FUZZING
int http_fuzz_feed(const uint8_t *data, size_t len);

static void
http_conn_fuzz_handler(struct http_request *req, struct http_response *resp,
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
http_conn_fuzz_run(const struct http_limits *lim, const uint8_t *data,
    size_t len, size_t step)
{
	struct http_conn *c = http_conn_alloc(lim);
	size_t off = 0;
	int stalls = 0;

	snprintf(c->peer, sizeof(c->peer), "fuzz:0");
	c->out = evbuffer_new();
	if (c->out == NULL)
		abort();
	while (off < len && !c->closing) {
		size_t k = len - off < step ? len - off : step;
		size_t n = http_conn_feed(c, (const char *)data + off, k);

		if (n > k)
			abort();
		if (n == 0 && ++stalls > 2)
			abort();	/* the parser must always progress */
		off += n;
		if (evbuffer_get_length(c->out) > HTTP_OUT_HIGH)
			evbuffer_drain(c->out, evbuffer_get_length(c->out));
	}
	evbuffer_free(c->out);
	http_conn_release(c);
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
		.handler = http_conn_fuzz_handler,
	};

	http_conn_fuzz_run(&lim, data, len, len == 0 ? 1 : len);
	http_conn_fuzz_run(&lim, data, len, 1 + len % 7);
	return 0;
}
#endif
