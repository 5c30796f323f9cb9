/*
 * http_internal.h: state shared by the files of trusteed's HTTP/1.1 front
 * end (plain or TLS): http.c (request/response helpers), http_accept.c
 * (admitting connections), http_conn.c (connections), http_parse.c
 * (assembling requests), http_write.c (writing answers), http_close.c
 * (closing connections, deadlines) and http_listen.c (listeners, workers,
 * start/stop).
 * Not part of the daemon's API: that is the http section of trusteed.h.
 *
 * Shape: one event_base per worker thread, each with its own SO_REUSEPORT
 * listening socket per address, so the kernel spreads connections; the
 * workers share only counters (connections, in-flight bytes, connections
 * per source). A connection waits for its first byte with a bare event,
 * then becomes a bufferevent (socket or OpenSSL) plus an http_parser;
 * handlers run synchronously on the worker when a request is complete,
 * and their response is queued on the connection's output before parsing
 * continues, so pipelined requests are answered in order.
 *
 * Everything the parser sees goes through http_conn_feed(), which knows
 * nothing about sockets: the fuzzer drives it directly (http_fuzz_feed).
 * Bytes pass http_scan.c's strict framing check first. Once a request's
 * head is complete, the preflight callback sets its body cap (or refuses
 * it) before any body byte is buffered; the body then grows as it
 * arrives, charged to the server's in-flight budget.
 *
 * Secrets: request bodies (admin uploads) are wiped before their buffer is
 * reused or freed; response bodies are handed to libevent by reference and
 * wiped when libevent releases them. Headers and bodies are never logged.
 */
#ifndef TRUSTEED_HTTP_INTERNAL_H
#define TRUSTEED_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
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

/* Per-server limits and callbacks, shared read-only by all workers. */
struct http_limits {
	size_t max_body;
	size_t max_header;
	size_t max_inflight;
	size_t max_conns;
	size_t max_conns_per_source;
	int handshake_timeout_s;
	int request_timeout_s;
	int idle_timeout_s;
	http_preflight_fn preflight;
	http_handler_fn handler;
	void *arg;
	_Atomic size_t *inflight;	/* the budget max_inflight bounds */
};

/* ------------------------------------------------------- http_scan.c */

/* The strict framing check of one request (see http_scan.c). Plain data:
 * http_scan_begin before each message. */
struct http_scan {
	uint8_t st, major, minor, field;
	uint8_t has_cl, has_te, te_chunked, chunked, trailer, semi;
	uint8_t nhost, blank, ndig, ows;
	uint16_t nlen, tlen, vlen;
	char name[20];			/* field name, when short */
	char val[24];			/* Content-Length / TE value */
	uint64_t n;			/* CL / chunk bytes left */
	size_t trailer_bytes, max_trailer;
	int status;			/* on failure: 400, 431, 501, 505 */
	const char *why;		/* on failure: static text */
};

void http_scan_begin(struct http_scan *s, size_t max_trailer);
/* Check up to len bytes; returns how many were checked. Stops right after
 * the last byte of a message (http_scan_done) or at the first byte that
 * breaks the rules (http_scan_failed: status and why say how). */
size_t http_scan_run(struct http_scan *s, const char *data, size_t len);
int http_scan_done(const struct http_scan *s);
int http_scan_failed(const struct http_scan *s);
/* Past any empty lines before a request line. */
int http_scan_started(const struct http_scan *s);

/* ------------------------------------------------------- connections */

/* Where a header's name and value start in rq->hbuf (offsets, because
 * the buffer moves while it grows). */
struct http_span {
	size_t name;
	size_t value;
};

enum http_hstate { HS_NONE, HS_FIELD, HS_VALUE, HS_TRAILER };

/*
 * The request being received on a connection. Allocated with its first
 * byte, freed when the connection goes idle, so an idle connection holds
 * none of it. Every byte of its buffers is charged to the server's
 * in-flight budget (http_server.inflight).
 */
struct http_rq {
	struct http_scan scan;
	int in_message;			/* the parser began a message */
	struct buf url;
	struct buf path;
	struct buf hbuf;		/* "name\0value\0" for each header */
	struct http_span spans[HTTP_MAX_HEADERS];
	struct http_header hdrs[HTTP_MAX_HEADERS];
	size_t nhdr;
	enum http_hstate hstate;
	size_t header_bytes;
	size_t max_body;		/* this request's cap (preflight) */
	char body_note[96];		/* why the cap is what it is */
	uint8_t *body;
	size_t body_len, body_cap;
	size_t charged;			/* bytes charged to inflight */

	/* An error reply decided inside a parser callback. */
	int err_status;
	const char *err_type;
	int err_retry_after;
	char err_detail[224];
};

/*
 * A connection's place in its worker: each state is a list in the order
 * connections entered it, so the head is the oldest and deadlines and
 * shedding only ever look at heads.
 *   PENDING  accepted, no request byte yet (TLS handshake included);
 *            deadline handshake_timeout; may be shed
 *   BUSY     a request is arriving; deadline request_timeout
 *   IDLE     between requests (keep-alive); deadline idle_timeout; may
 *            be shed
 *   CLOSING  no more requests, output draining (write timeout)
 *   LINGER   output sent and our side shut down; reading and dropping
 *            what the client still sends (so that its unread bytes do
 *            not turn our close into a reset that destroys the answer)
 *            until its EOF or HTTP_LINGER_S
 */
enum http_cstate { CS_PENDING, CS_BUSY, CS_IDLE, CS_CLOSING, CS_LINGER,
	CS_NSTATES };

struct http_worker;

struct http_conn {
	struct http_conn *next, *prev;	/* the worker's list for state */
	enum http_cstate state;
	uint64_t since_ns;		/* when it entered state */
	struct http_worker *w;		/* NULL when fuzzing */
	const struct http_limits *lim;
	evutil_socket_t fd;
	struct event *wait_ev;		/* before the first byte: no
					 * bufferevent, no TLS state yet */
	struct bufferevent *bev;	/* NULL when fuzzing or waiting */
	struct evbuffer *out;		/* responses are appended here */
	http_parser parser;
	struct http_rq *rq;
	struct source_addr src;
	char peer[64];
	unsigned tls : 1;
	unsigned closing : 1;		/* no more requests; free when flushed */
	unsigned stop_close : 1;	/* server stopping: close after response */
	unsigned throttled : 1;		/* reading paused until output drains */
	unsigned counted : 1;		/* holds a per-source slot */
	unsigned msg_done : 1;		/* the parser completed a message */
};

struct http_clist {
	struct http_conn *head, *tail;
	size_t n;
};

struct http_worker {
	struct http_server *srv;
	struct event_base *base;
	struct evconnlistener **lis;	/* one per listen address */
	struct event *stop_ev;
	struct event *resume_ev;	/* re-enables accepting after EMFILE */
	struct event *tick_ev;		/* deadlines */
	pthread_t thread;
	int started;
	int stopping;
	int nconns;
	struct http_clist list[CS_NSTATES];
};

struct http_server {
	struct http_limits lim;
	SSL_CTX *tls;
	size_t nlisten;
	char **listen;
	int *ports;
	int *locks;			/* per address: the lock socket */
	struct evconnlistener **lock_lis;	/* per address: answers lock
					 * probes (owns the socket) */
	int nworkers;
	struct http_worker *workers;
	_Atomic size_t nconns;		/* all workers */
	_Atomic size_t inflight;	/* bytes charged by requests */
	struct ratelimit_counts *per_src;	/* connections per source */
};

/* ------------------------------------------------------------ http.c */

/* The first of the n headers named name (case-insensitive), or NULL. */
const struct http_header *http_header_find(const struct http_header *h,
    size_t n, const char *name);
/* Optional whitespace (RFC 9110): space or horizontal tab. */
int http_is_ows(int c);
/* RFC 9110 token characters, for header names. */
int http_is_token(const char *s);

/* ----------------------------------------------------- http_accept.c */

/* The evconnlistener callback: admit a connection on worker arg (global
 * and per-source caps) and wait for its first byte. */
void http_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg);

/* ------------------------------------------------------ http_parse.c */

/* The parser callbacks that fill c->rq; on_message_complete is
 * http_conn_on_message_complete. */
extern const http_parser_settings http_parse_settings;
/* Bring c->rq's charge to the in-flight budget in line with what it holds;
 * -1 when the budget is exceeded (the charge stays until it is freed). */
int http_parse_charge(struct http_conn *c);
/* The request as handlers see it, without its body. */
void http_parse_request(struct http_conn *c, struct http_request *req);
/* Make room for need bytes of body: the buffer doubles (never beyond the
 * announced length), the old copy is wiped, the growth is charged. -1,
 * with the error reply recorded in c->rq, when the budget is exceeded. */
int http_parse_body_reserve(struct http_conn *c, size_t need,
    uint64_t announced);

/* ------------------------------------------------------ http_write.c */

/*
 * Queue a response: status line, Content-Length, the handler's header
 * lines, Connection when needed, then the body (not for HEAD; never for
 * 1xx/204/304). Takes the body out of resp.
 */
void http_write_response(struct http_conn *c, struct http_response *resp,
    int head, int keepalive10);

/* ------------------------------------------------------- http_conn.c */

struct bufferevent;
/* A new connection (no worker, no socket yet) under the limits lim. */
struct http_conn *http_conn_alloc(const struct http_limits *lim);
/* Put c at the tail of its worker's list for its state. */
void http_conn_list_add(struct http_conn *c);
/* Move to the tail of another state's list; its deadline restarts. */
void http_conn_set_state(struct http_conn *c, enum http_cstate st);
/* Free the request c is receiving, if any, and give back its charge. */
void http_conn_rq_free(struct http_conn *c);
/* The first byte arrived: c reads its requests from bev from now on. */
void http_conn_attach(struct http_conn *c, struct bufferevent *bev);
/* http_parser's on_message_complete: run the handler and queue its answer,
 * then pause the parser. */
int http_conn_on_message_complete(http_parser *p);
/* Reply with a problem and close: for requests that never reach the
 * handler. */
void http_conn_error(struct http_conn *c, int status, const char *type,
    int retry_after, const char *detail);
/*
 * Close and free a connection. clean: end a TLS session with close_notify
 * (which also keeps the session resumable); not after a TLS error, where
 * OpenSSL forbids it, nor from the main thread at teardown.
 */
void http_conn_free(struct http_conn *c, int clean);

/* ------------------------------------------------------ http_close.c */

/* No more requests: drop the input, let the queued answers drain, then
 * linger (http_close_linger). A connection still waiting for its first
 * byte is freed at once. */
void http_close_begin(struct http_conn *c);
/* Everything is sent: shut our side down (close_notify, FIN) and read
 * until the client closes too, or HTTP_LINGER_S. */
void http_close_linger(struct http_conn *c);
/* Server stopping: close what is not in the middle of a request. */
void http_close_stop(struct http_conn *c);
/* The worker's periodic check of the deadlines at its list heads. */
void http_close_tick(struct http_worker *w);

#endif
