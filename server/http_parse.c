/*
 * http_parse.c: the http_parser callbacks (http_parse_settings) that
 * assemble the request a connection of trusteed's HTTP front end is
 * receiving (struct http_rq) under its limits: the size and number of
 * header fields, the body cap that the preflight callback sets from the
 * head (or its refusal, before any body byte is held), and the server's
 * in-flight budget, to which every byte the request holds is charged
 * (http_parse_charge). A limit hit records the error reply in the request
 * and stops the parser; http_conn.c, which feeds the parser, sends it, and
 * takes over when a message is complete (http_conn_on_message_complete).
 * The front end's shape is described in http_internal.h.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "http_internal.h"

/* Smallest body buffer; it doubles as bytes arrive, never beyond what
 * Content-Length announced. */
#define HTTP_BODY_MIN		1024

static int http_parse_on_message_begin(http_parser *);
static int http_parse_on_url(http_parser *, const char *, size_t);
static int http_parse_on_header_field(http_parser *, const char *, size_t);
static int http_parse_on_header_value(http_parser *, const char *, size_t);
static int http_parse_on_headers_complete(http_parser *);
static int http_parse_on_body(http_parser *, const char *, size_t);

const http_parser_settings http_parse_settings = {
	.on_message_begin = http_parse_on_message_begin,
	.on_url = http_parse_on_url,
	.on_header_field = http_parse_on_header_field,
	.on_header_value = http_parse_on_header_value,
	.on_headers_complete = http_parse_on_headers_complete,
	.on_body = http_parse_on_body,
	.on_message_complete = http_conn_on_message_complete,
};

static enum http_method
http_parse_method_map(unsigned int m)
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

/* ----------------------------------------------- request memory budget */

static size_t
http_parse_rq_bytes(const struct http_rq *rq)
{
	return sizeof(*rq) + rq->url.cap + rq->path.cap + rq->hbuf.cap +
	    rq->body_cap;
}

/*
 * Bring the request's charge to the in-flight budget in line with
 * `bytes` (what it holds, or is about to hold). Returns -1 when the
 * budget is exceeded; the charge stays until the request is freed.
 */
static int
http_parse_charge_to(struct http_conn *c, size_t bytes)
{
	struct http_rq *rq = c->rq;
	size_t prev, add;

	if (bytes <= rq->charged) {
		atomic_fetch_sub(c->lim->inflight, rq->charged - bytes);
		rq->charged = bytes;
		return 0;
	}
	add = bytes - rq->charged;
	prev = atomic_fetch_add(c->lim->inflight, add);
	rq->charged = bytes;
	return prev + add > c->lim->max_inflight ? -1 : 0;
}

int
http_parse_charge(struct http_conn *c)
{
	return http_parse_charge_to(c, http_parse_rq_bytes(c->rq));
}

/* Record an error reply for http_conn_feed to send; returns non-zero so the
 * parser callback that calls it stops the parser. */
static int
http_parse_fail(struct http_conn *c, int status, const char *type,
    const char *fmt, ...) ATTR_PRINTF(4, 5);

static int
http_parse_fail(struct http_conn *c, int status, const char *type,
    const char *fmt, ...)
{
	va_list ap;

	c->rq->err_status = status;
	c->rq->err_type = type;
	va_start(ap, fmt);
	vsnprintf(c->rq->err_detail, sizeof(c->rq->err_detail), fmt, ap);
	va_end(ap);
	return -1;
}

static int
http_parse_count_header(struct http_conn *c, size_t len)
{
	c->rq->header_bytes += len;
	if (c->rq->header_bytes > c->lim->max_header)
		return http_parse_fail(c, 431, "RequestHeaderFieldsTooLarge",
		    "request line and headers exceed the limit of %zu bytes",
		    c->lim->max_header);
	return 0;
}

/* After a header buffer grew. */
static int
http_parse_charge_head(struct http_conn *c)
{
	if (http_parse_charge(c) != 0) {
		ratelimit_note(RL_EV_INFLIGHT, &c->src);
		c->rq->err_retry_after = 1;
		return http_parse_fail(c, 503, "ServiceUnavailable",
		    "the server holds too many requests in flight; "
		    "retry later");
	}
	return 0;
}

static int
http_parse_on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;
	struct http_rq *rq = c->rq;

	rq->in_message = 1;
	rq->url.len = 0;
	rq->hbuf.len = 0;
	rq->nhdr = 0;
	rq->hstate = HS_NONE;
	rq->header_bytes = 0;
	rq->body_len = 0;
	rq->max_body = c->lim->max_body;
	rq->body_note[0] = '\0';
	return 0;
}

static int
http_parse_on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (http_parse_count_header(c, len))
		return -1;
	buf_add(&c->rq->url, at, len);
	return http_parse_charge_head(c);
}

static int
http_parse_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_rq *rq = c->rq;

	if (http_parse_count_header(c, len))
		return -1;
	if (rq->hstate == HS_TRAILER)
		return 0;		/* chunked trailers are ignored */
	if (rq->hstate != HS_FIELD) {
		if (rq->hstate == HS_VALUE)
			buf_add(&rq->hbuf, "", 1);
		if (rq->nhdr == HTTP_MAX_HEADERS)
			return http_parse_fail(c, 431,
			    "RequestHeaderFieldsTooLarge", "more than %d "
			    "header fields", HTTP_MAX_HEADERS);
		rq->spans[rq->nhdr].name = rq->hbuf.len;
		rq->spans[rq->nhdr].value = rq->hbuf.len;
		rq->nhdr++;
		rq->hstate = HS_FIELD;
	}
	buf_add(&rq->hbuf, at, len);
	return http_parse_charge_head(c);
}

static int
http_parse_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_rq *rq = c->rq;

	if (http_parse_count_header(c, len))
		return -1;
	if (rq->hstate == HS_TRAILER || rq->hstate == HS_NONE)
		return 0;
	if (rq->hstate == HS_FIELD) {
		buf_add(&rq->hbuf, "", 1);
		rq->spans[rq->nhdr - 1].value = rq->hbuf.len;
		rq->hstate = HS_VALUE;
	}
	buf_add(&rq->hbuf, at, len);
	return http_parse_charge_head(c);
}

/* Point the header array into hbuf (which no longer grows: trailers are
 * not stored) and trim surrounding whitespace from the values. */
static int
http_parse_headers_finish(struct http_conn *c)
{
	struct http_rq *rq = c->rq;
	size_t i;

	if (rq->hstate == HS_FIELD) {		/* name without a value */
		buf_add(&rq->hbuf, "", 1);
		rq->spans[rq->nhdr - 1].value = rq->hbuf.len;
		rq->hstate = HS_VALUE;
	}
	if (rq->hstate == HS_VALUE)
		buf_add(&rq->hbuf, "", 1);
	rq->hstate = HS_TRAILER;
	for (i = 0; i < rq->nhdr; i++) {
		char *v = (char *)rq->hbuf.data + rq->spans[i].value;
		size_t n = strlen(v);

		while (n > 0 && http_is_ows(v[n - 1]))
			v[--n] = '\0';
		while (http_is_ows(*v))
			v++;
		rq->hdrs[i].name = (char *)rq->hbuf.data + rq->spans[i].name;
		rq->hdrs[i].value = v;
	}
	return http_parse_charge_head(c);
}

void
http_parse_request(struct http_conn *c, struct http_request *req)
{
	struct http_rq *rq = c->rq;
	const char *q;

	memset(req, 0, sizeof(*req));
	req->method = http_parse_method_map(c->parser.method);
	req->method_name = http_method_str(c->parser.method);
	req->target = buf_cstr(&rq->url);
	q = strchr(req->target, '?');
	rq->path.len = 0;
	buf_add(&rq->path, req->target,
	    q != NULL ? (size_t)(q - req->target) : rq->url.len);
	req->path = buf_cstr(&rq->path);
	req->query = q != NULL ? (char *)q + 1 : NULL;
	req->headers = rq->hdrs;
	req->nheaders = rq->nhdr;
	memcpy(req->peer, c->peer, sizeof(req->peer));
	req->source = c->src;
	req->tls = c->tls;
}

static int
http_parse_on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	struct http_rq *rq = c->rq;
	struct http_preflight pf;
	struct http_request req;
	const struct http_header *h;
	int chunked = (p->flags & F_CHUNKED) != 0;
	int has_body = chunked || (p->content_length != ULLONG_MAX &&
	    p->content_length > 0);

	if (http_parse_headers_finish(c) != 0)
		return -1;
	if (chunked != rq->scan.chunked)
		return http_parse_fail(c, 400, "BadRequest", "malformed "
		    "request: framing is ambiguous");
	/* The route decides the body cap, or refuses, before any body byte
	 * is held. */
	memset(&pf, 0, sizeof(pf));
	pf.max_body = c->lim->max_body;
	if (c->lim->preflight != NULL) {
		http_parse_request(c, &req);
		if (http_parse_charge_head(c) != 0)
			return -1;
		c->lim->preflight(&req, &pf, c->lim->arg);
		if (pf.status != 0) {
			rq->err_retry_after = pf.retry_after;
			return http_parse_fail(c, pf.status, pf.type != NULL ?
			    pf.type : "BadRequest", "%s", pf.detail);
		}
	}
	rq->max_body = pf.max_body < c->lim->max_body ? pf.max_body :
	    c->lim->max_body;
	snprintf(rq->body_note, sizeof(rq->body_note), "%s", pf.note);
	if (!chunked && p->content_length != ULLONG_MAX &&
	    p->content_length > rq->max_body) {
		ratelimit_note(RL_EV_BODY, &c->src);
		return http_parse_fail(c, 413, "PayloadTooLarge",
		    "request body exceeds the limit of %zu bytes%s%s",
		    rq->max_body, rq->body_note[0] != '\0' ? " " : "",
		    rq->body_note);
	}
	/* Answer "Expect: 100-continue" so clients that wait for it (curl
	 * for larger uploads) do not stall; the final status follows. */
	h = http_header_find(rq->hdrs, rq->nhdr, "Expect");
	if (h != NULL && has_body && strcasecmp(h->value, "100-continue") == 0 &&
	    p->http_major == 1 && p->http_minor >= 1)
		evbuffer_add(c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	return 0;
}

int
http_parse_body_reserve(struct http_conn *c, size_t need, uint64_t announced)
{
	struct http_rq *rq = c->rq;
	size_t cap;
	uint8_t *p;

	if (need <= rq->body_cap)
		return 0;
	cap = rq->body_cap > HTTP_BODY_MIN / 2 ? rq->body_cap : HTTP_BODY_MIN;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (announced != ULLONG_MAX && announced < SIZE_MAX &&
	    cap > (size_t)announced + 1 && need <= (size_t)announced + 1)
		cap = (size_t)announced + 1;
	if (http_parse_charge_to(c, http_parse_rq_bytes(rq) - rq->body_cap +
	    cap) != 0) {
		ratelimit_note(RL_EV_INFLIGHT, &c->src);
		rq->err_retry_after = 1;
		return http_parse_fail(c, 503, "ServiceUnavailable",
		    "the server holds too many requests in flight; "
		    "retry later");
	}
	p = xmalloc(cap);
	if (rq->body_len > 0)
		memcpy(p, rq->body, rq->body_len);
	secret_free(rq->body, rq->body_cap);
	rq->body = p;
	rq->body_cap = cap;
	return 0;
}

static int
http_parse_on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;
	struct http_rq *rq = c->rq;
	uint64_t announced = ULLONG_MAX;

	if (len > rq->max_body - rq->body_len) {
		ratelimit_note(RL_EV_BODY, &c->src);
		return http_parse_fail(c, 413, "PayloadTooLarge",
		    "request body exceeds the limit of %zu bytes%s%s",
		    rq->max_body, rq->body_note[0] != '\0' ? " " : "",
		    rq->body_note);
	}
	/* With Content-Length, http_parser counts down what is left. */
	if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX)
		announced = rq->body_len + len + p->content_length;
	if (http_parse_body_reserve(c, rq->body_len + len + 1, announced) != 0)
		return -1;
	memcpy(rq->body + rq->body_len, at, len);
	rq->body_len += len;
	return 0;
}
