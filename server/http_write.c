/*
 * http_write.c: putting one answer on a connection's output, for trusteed's
 * HTTP front end (http_write_response). Answers go out in the order they
 * are written. A small answer is one buffer: one SSL_write, one TLS record,
 * one write(2); on TLS, with nothing queued before it, it is written from
 * the request's callback instead of waiting for the event loop. The
 * response's body and headers (which may hold secrets and session cookies)
 * are wiped once sent or copied. The front end's shape is described in
 * http_internal.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "http_internal.h"

/* Answers with a body up to this size are sent in one TLS record. */
#define HTTP_COALESCE_MAX	(15 * 1024)
/* The most bufferevent_openssl hands SSL_write at once (libevent's
 * MAX_TO_WRITE_EVER); see http_write_now. */
#define HTTP_DIRECT_MAX		16384

static const char *
http_write_reason(int status)
{
	const char *s = http_status_str((enum http_status)status);

	return strcmp(s, "<unknown>") == 0 ? "Status" : s;
}

static void
http_write_cleanup(const void *data, size_t len, void *extra)
{
	size_t cap = (size_t)(uintptr_t)extra;

	secret_free((void *)(uintptr_t)data, cap > len ? cap : len);
}

/*
 * Send a whole answer on a TLS connection now, from the request's
 * callback, instead of queueing it for the event loop: a queued answer
 * costs an epoll_ctl to watch for writability, an epoll_wait that reports
 * it, and another epoll_ctl to stop watching, before and after one
 * write(2). Only with nothing queued before it (so the order of answers
 * holds) and len <= HTTP_DIRECT_MAX. 0: all of it went out. -1: nothing,
 * or part of it (the socket is full, or the connection failed); OpenSSL
 * then requires the same bytes to be written again, so the caller must
 * queue exactly this buffer as one chain: bufferevent_openssl's next
 * SSL_write is of that chain whole (len fits its per-call maximum), and
 * a failed connection fails again there, through the usual error path.
 */
static int
http_write_now(struct http_conn *c, const uint8_t *data, size_t len)
{
	SSL *ssl;
	int r;

	if (!c->tls || c->closing || c->throttled || len > HTTP_DIRECT_MAX ||
	    evbuffer_get_length(c->out) != 0 ||
	    (ssl = bufferevent_openssl_get_ssl(c->bev)) == NULL)
		return -1;
	ERR_clear_error();
	r = SSL_write(ssl, data, (int)len);
	ERR_clear_error();
	return r == (int)len ? 0 : -1;
}

void
http_write_response(struct http_conn *c, struct http_response *resp,
    int head, int keepalive10)
{
	struct evbuffer *out = c->out;
	char line[128];
	int n, nobody;

	nobody = resp->status == 204 || resp->status == 304;
	if (nobody)
		n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n",
		    resp->status, http_write_reason(resp->status));
	else
		n = snprintf(line, sizeof(line),
		    "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n",
		    resp->status, http_write_reason(resp->status),
		    resp->body.len);
	/* A small answer goes out as one piece (perf): bufferevent_openssl
	 * makes one SSL_write, so one TLS record and one write(2), per
	 * evbuffer chain. Built in one buffer that is wiped when sent. */
	if (!head && !nobody && resp->body.len > 0 &&
	    resp->body.len <= HTTP_COALESCE_MAX) {
		struct buf all = { 0 };

		/* One allocation: the status line, the headers, the longest
		 * Connection line and the body. */
		buf_reserve(&all, (size_t)n + resp->headers.len + 32 +
		    resp->body.len);
		buf_add(&all, line, (size_t)n);
		buf_add(&all, resp->headers.data, resp->headers.len);
		buf_addstr(&all, resp->close ? "Connection: close\r\n\r\n" :
		    keepalive10 ? "Connection: keep-alive\r\n\r\n" : "\r\n");
		buf_add(&all, resp->body.data, resp->body.len);
		if (!resp->close &&
		    http_write_now(c, all.data, all.len) == 0)
			buf_wipe(&all);
		else if (evbuffer_add_reference(out, all.data, all.len,
		    http_write_cleanup, (void *)(uintptr_t)all.cap) != 0) {
			evbuffer_add(out, all.data, all.len);
			buf_wipe(&all);
		}
		buf_wipe(&resp->body);
		buf_wipe(&resp->headers);
		return;
	}
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
		    resp->body.len, http_write_cleanup,
		    (void *)(uintptr_t)resp->body.cap) == 0)
			memset(&resp->body, 0, sizeof(resp->body));
		else
			evbuffer_add(out, resp->body.data, resp->body.len);
	}
	buf_wipe(&resp->body);
	buf_wipe(&resp->headers);	/* may hold a session cookie */
}
