/*
 * http_internal.h: state shared by the files of trusteed's HTTP/1.1 front
 * end (plain or TLS): http.c (request/response helpers), http_conn.c
 * (connections) and http_listen.c (listeners, workers, start/stop).
 * Not part of the daemon's API: that is the http section of trusteed.h.
 *
 * Shape: one event_base per worker thread, each with its own SO_REUSEPORT
 * listening socket per address, so the kernel spreads connections and no
 * state is shared between workers. A connection is a bufferevent (socket
 * or OpenSSL) plus an http_parser; handlers run synchronously on the
 * worker when a request is complete, and their response is queued on the
 * connection's output before parsing continues, so pipelined requests are
 * answered in order.
 *
 * Everything the parser sees goes through http_conn_feed(), which knows
 * nothing about sockets: the fuzzer drives it directly (http_fuzz_feed).
 *
 * Secrets: request bodies (admin uploads) are wiped before their buffer is
 * reused or freed; response bodies are handed to libevent by reference and
 * wiped when libevent releases them. Headers and bodies are never logged.
 */
#ifndef TRUSTEED_HTTP_INTERNAL_H
#define TRUSTEED_HTTP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/util.h>

/* http_parser.h and trusteed.h both define an "enum http_method": give the
 * parser's its own tag in the HTTP files (only its tag and
 * http_method_str's prototype use the name). */
#define http_method http_parser_method
#include <http_parser.h>
#undef http_method

#include "trusteed.h"

struct bufferevent;
struct evbuffer;
struct event;
struct event_base;
struct evconnlistener;

#define HTTP_MAX_HEADERS	100

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

/* ------------------------------------------------------------ http.c */

/* The first of the n headers named name (case-insensitive), or NULL. */
const struct http_header *http_header_find(const struct http_header *h,
    size_t n, const char *name);
/* Optional whitespace (RFC 9110): space or horizontal tab. */
int http_is_ows(int c);
/* RFC 9110 token characters, for header names. */
int http_is_token(const char *s);

/* ------------------------------------------------------- http_conn.c */

/* The evconnlistener callback: set up a connection (bufferevent, TLS
 * when the server has a context) on worker arg for an accepted fd. */
void http_conn_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg);
/*
 * Close and free a connection. clean: end a TLS session with close_notify
 * (which also keeps the session resumable); not after a TLS error, where
 * OpenSSL forbids it, nor from the main thread at teardown.
 */
void http_conn_free(struct http_conn *c, int clean);
/* No more requests: free now if nothing is left to send, otherwise when
 * the write callback sees the output drained. */
void http_conn_finish(struct http_conn *c);

#endif
