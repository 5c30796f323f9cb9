/*
 * http_conn.c: one connection of trusteed's HTTP front end once
 * http_accept.c admitted it and its first byte arrived: its bufferevent
 * (socket or TLS) and its place in the worker's state lists; feeding its
 * input to http_scan.c's framing check and to http_parser, whose callbacks
 * (http_parse.c) assemble the request, as long as the output is not backed
 * up (flow control); running the handler on a complete request and
 * answering it (http_write.c), or answering with a problem when the
 * request is refused; freeing it. How it closes (draining, lingering,
 * deadlines) is http_close.c's. The front end's shape is described in
 * http_internal.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <sodium.h>

#include "../lib/log.h"
#include "http_internal.h"

/* Stop parsing (and reading) while this much output is queued: a client
 * that pipelines requests without reading the answers cannot make us
 * buffer without bound. Resume below HTTP_OUT_LOW. */
#define HTTP_OUT_HIGH		(256 * 1024)
#define HTTP_OUT_LOW		(64 * 1024)

/* ------------------------------------------------------ state lists */

static void
http_conn_list_del(struct http_conn *c)
{
	struct http_clist *l = &c->w->list[c->state];

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->next = c->prev = NULL;
	l->n--;
}

void
http_conn_list_add(struct http_conn *c)
{
	struct http_clist *l = &c->w->list[c->state];

	c->next = NULL;
	c->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

void
http_conn_set_state(struct http_conn *c, enum http_cstate st)
{
	c->since_ns = now_mono_ns();
	if (c->w == NULL) {
		c->state = st;
		return;
	}
	http_conn_list_del(c);
	c->state = st;
	http_conn_list_add(c);
}

/* --------------------------------------------- connection and request */

struct http_conn *
http_conn_alloc(const struct http_limits *lim)
{
	struct http_conn *c = xcalloc(1, sizeof(*c));

	c->lim = lim;
	c->fd = -1;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	return c;
}

void
http_conn_rq_free(struct http_conn *c)
{
	struct http_rq *rq = c->rq;

	if (rq == NULL)
		return;
	atomic_fetch_sub(c->lim->inflight, rq->charged);
	buf_free(&rq->url);
	buf_free(&rq->path);
	buf_wipe(&rq->hbuf);		/* Authorization, cookies */
	secret_free(rq->body, rq->body_cap);
	sodium_memzero(rq, sizeof(*rq));
	free(rq);
	c->rq = NULL;
}

static void
http_conn_rq_new(struct http_conn *c)
{
	c->rq = xcalloc(1, sizeof(*c->rq));
	http_scan_begin(&c->rq->scan, c->lim->max_header);
	c->rq->charged = 0;
	(void)http_parse_charge(c);
}

/* Release what http_conn_alloc and the parser callbacks allocated. */
static void
http_conn_release(struct http_conn *c)
{
	http_conn_rq_free(c);
	free(c);
}

/* ------------------------------------------------------------ answers */

static void
http_conn_log(struct http_conn *c, const char *method, const char *path,
    int status, size_t bytes)
{
	char esc[256];

	if (!log_enabled(LOG_LVL_DEBUG))
		return;
	log_debug("%s %s %s %d %zu %lluus", c->peer, method,
	    log_escape(path, esc, sizeof(esc)), status, bytes,
	    (unsigned long long)((now_mono_ns() - c->since_ns) / 1000));
}

void
http_conn_error(struct http_conn *c, int status, const char *type,
    int retry_after, const char *detail)
{
	struct http_response resp = { 0 };

	http_problem(&resp, status, type, "%s", detail);
	if (retry_after > 0)
		http_response_header(&resp, "Retry-After", "%d", retry_after);
	http_security_headers(&resp);
	resp.close = 1;
	/* The target is not logged: it may be incomplete, and its query
	 * may carry credentials. */
	http_conn_log(c, "-", "-", status, resp.body.len);
	http_write_response(c, &resp, 0, 0);
	c->closing = 1;
}

/* Build the request, run the handler, queue its response. */
static void
http_conn_dispatch(struct http_conn *c)
{
	http_parser *p = &c->parser;
	struct http_rq *rq = c->rq;
	struct http_request req;
	struct http_response resp;
	int keepalive;

	memset(&resp, 0, sizeof(resp));
	http_parse_request(c, &req);
	if (http_parse_body_reserve(c, rq->body_len + 1, ULLONG_MAX) != 0) {
		http_conn_error(c, rq->err_status, rq->err_type,
		    rq->err_retry_after, rq->err_detail);
		return;
	}
	rq->body[rq->body_len] = '\0';
	req.body = rq->body;
	req.body_len = rq->body_len;
	keepalive = http_should_keep_alive(p);

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
	http_write_response(c, &resp, req.method == HTTP_M_HEAD,
	    !resp.close && p->http_major == 1 && p->http_minor == 0);

	/* The body is gone once answered (wiped: it may be a secret). */
	secret_free(rq->body, rq->body_cap);
	rq->body = NULL;
	rq->body_len = rq->body_cap = 0;
	(void)http_parse_charge(c);
	if (resp.close)
		c->closing = 1;
}

int
http_conn_on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	http_conn_dispatch(c);
	c->rq->in_message = 0;
	c->msg_done = 1;
	if (!c->closing)
		http_conn_set_state(c, CS_IDLE);
	/* Always stop after a message: the caller checks that the framing
	 * check ended the message at the same byte, and decides whether to
	 * go on (output backed up, closing). */
	http_parser_pause(p, 1);
	return 0;
}

/* ------------------------------------------------------------- input */

static const char *
http_conn_status_type(int status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 408: return "RequestTimeout";
	case 413: return "PayloadTooLarge";
	case 429: return "TooManyRequests";
	case 431: return "RequestHeaderFieldsTooLarge";
	case 501: return "NotImplemented";
	case 503: return "ServiceUnavailable";
	case 505: return "HTTPVersionNotSupported";
	default: return "BadRequest";
	}
}

/* Send the reply the parser callbacks decided, or a generic 400. */
static void
http_conn_parse_error(struct http_conn *c, enum http_errno e)
{
	struct http_rq *rq = c->rq;
	char detail[160];

	if (rq->err_status != 0)
		http_conn_error(c, rq->err_status, rq->err_type,
		    rq->err_retry_after, rq->err_detail);
	else if (e == HPE_HEADER_OVERFLOW)
		http_conn_error(c, 431, "RequestHeaderFieldsTooLarge", 0,
		    "request line and headers are too large");
	else {
		snprintf(detail, sizeof(detail), "malformed request: %s",
		    http_errno_description(e));
		http_conn_error(c, 400, "BadRequest", 0, detail);
	}
}

/*
 * Feed bytes to the framing check and then the parser. Returns how many
 * were consumed; fewer than len after a complete request (call again with
 * the rest) or when the connection is closing (the rest is discarded).
 */
static size_t
http_conn_feed(struct http_conn *c, const char *data, size_t len)
{
	struct http_rq *rq;
	enum http_errno e;
	size_t n, m;
	char detail[224];

	if (c->closing)
		return len;
	if (c->rq == NULL)
		http_conn_rq_new(c);
	rq = c->rq;
	if (c->state == CS_PENDING || c->state == CS_IDLE)
		http_conn_set_state(c, CS_BUSY);
	n = http_scan_run(&rq->scan, data, len);
	if (http_scan_failed(&rq->scan)) {
		snprintf(detail, sizeof(detail), "%s%s", rq->scan.status ==
		    400 ? "malformed request: " : "", rq->scan.why);
		http_conn_error(c, rq->scan.status,
		    http_conn_status_type(rq->scan.status), 0, detail);
		return len;
	}
	c->msg_done = 0;
	m = http_parser_execute(&c->parser, &http_parse_settings, data, n);
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED)
		http_parser_pause(&c->parser, 0);
	else if (e != HPE_OK) {
		http_conn_parse_error(c, e);
		return len;
	}
	if (c->closing)
		return len;
	if (c->parser.upgrade) {
		/* CONNECT or Upgrade: not supported; whatever follows the
		 * request is not HTTP. The handler has answered already. */
		c->closing = 1;
		return len;
	}
	/* Both must agree on where the message ends. */
	if (m != n || c->msg_done != http_scan_done(&rq->scan)) {
		http_conn_error(c, 400, "BadRequest", 0, "malformed request: "
		    "ambiguous message framing");
		return len;
	}
	if (c->msg_done)
		http_scan_begin(&rq->scan, c->lim->max_header);
	return m;
}

/* ----------------------------------------------- connection: libevent */

void
http_conn_free(struct http_conn *c, int clean)
{
	struct http_worker *w = c->w;

	http_conn_list_del(c);
	if (c->wait_ev != NULL)
		event_free(c->wait_ev);
	if (c->bev != NULL) {
		if (clean && c->tls && c->state != CS_LINGER) {
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

			/* Best effort, non-blocking: the output has
			 * drained. */
			if (ssl != NULL && SSL_is_init_finished(ssl))
				(void)SSL_shutdown(ssl);
			ERR_clear_error();
		}
		/* Safe inside the bufferevent's own callbacks: libevent
		 * holds a reference while it runs them and finishes the
		 * free afterwards. */
		bufferevent_free(c->bev);
	} else if (c->fd >= 0)
		close(c->fd);
	if (c->counted)
		ratelimit_counts_sub(w->srv->per_src, &c->src);
	atomic_fetch_sub(&w->srv->nconns, 1);
	http_conn_release(c);
	w->nconns--;
	if (w->stopping && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

/* Parse whatever input is buffered, as long as the output is not backed
 * up. */
static void
http_conn_process(struct http_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	int stalls = 0;

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
	/* Idle between requests: hold no request state. */
	if (!c->closing && c->state == CS_IDLE && c->rq != NULL &&
	    !c->rq->in_message && !http_scan_started(&c->rq->scan) &&
	    c->rq->scan.blank == 0)
		http_conn_rq_free(c);
}

static void
http_conn_readcb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state == CS_CLOSING || c->state == CS_LINGER) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (!c->closing)
		http_conn_process(c);
	if (c->closing)
		http_close_begin(c);
}

static void
http_conn_writecb(struct bufferevent *bev, void *arg)
{
	struct http_conn *c = arg;

	(void)bev;
	if (c->closing) {
		if (c->state == CS_CLOSING &&
		    evbuffer_get_length(c->out) == 0)
			http_close_linger(c);
		return;
	}
	if (c->throttled) {
		c->throttled = 0;
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		bufferevent_enable(c->bev, EV_READ);
		http_conn_process(c);
		if (c->closing)
			http_close_begin(c);
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
		if (c->state == CS_LINGER)
			http_conn_free(c, 0);
		else
			http_close_begin(c);
		return;
	}
	if (log_enabled(LOG_LVL_DEBUG)) {
		if (what & BEV_EVENT_TIMEOUT)
			log_debug("%s: write timeout", c->peer);
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

/*
 * The connection's first byte arrived and bev (socket or TLS) now carries
 * it: read requests from it, with the write timeout of lim.
 */
void
http_conn_attach(struct http_conn *c, struct bufferevent *bev)
{
	struct timeval wtv = { c->lim->idle_timeout_s, 0 };

	c->bev = bev;
	c->out = bufferevent_get_output(bev);
	bufferevent_setcb(bev, http_conn_readcb, http_conn_writecb,
	    http_conn_eventcb, c);
	/* Reads are bounded by the worker's deadlines (http_close_tick);
	 * a client that stops reading our output hits the write timeout. */
	bufferevent_set_timeouts(bev, NULL, &wtv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* ------------------------------------------------------------- fuzzing */

#ifdef FUZZING
int http_fuzz_feed(const uint8_t *data, size_t len);

static void
http_conn_fuzz_preflight(const struct http_request *req,
    struct http_preflight *pf, void *arg)
{
	(void)arg;
	/* Route-dependent caps and refusals, as kbs.c does them. */
	if (strncmp(req->path, "/small", 6) == 0) {
		pf->max_body = 16;
		snprintf(pf->note, sizeof(pf->note), "for %s", req->path);
	} else if (strcmp(req->path, "/refuse") == 0) {
		pf->status = 429;
		pf->type = "TooManyRequests";
		pf->retry_after = 3;
		snprintf(pf->detail, sizeof(pf->detail), "slow down");
	}
}

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
		if (req->body[req->body_len] != '\0')
			abort();	/* the body is NUL-terminated */
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
	/* Every byte charged was given back. */
	if (atomic_load(lim->inflight) != 0)
		abort();
}

/* Run the framing check, parser and response writer over data as if it
 * arrived on one connection, once in one piece and once in small pieces,
 * with a budget for requests in flight small enough to be hit. */
int
http_fuzz_feed(const uint8_t *data, size_t len)
{
	static _Atomic size_t inflight;
	static const struct http_limits lim = {
		.max_body = 4096,
		.max_header = 2048,
		.max_inflight = 12 * 1024,
		.request_timeout_s = 60,
		.idle_timeout_s = 60,
		.preflight = http_conn_fuzz_preflight,
		.handler = http_conn_fuzz_handler,
		.inflight = &inflight,
	};

	http_conn_fuzz_run(&lim, data, len, len == 0 ? 1 : len);
	http_conn_fuzz_run(&lim, data, len, 1 + len % 7);
	return 0;
}
#endif
