/*
 * httpc.c: a blocking HTTP/1.1 client for trusteectl and the benchmark,
 * on libevent's evhttp client with bufferevent_openssl for https.
 *
 * Each struct httpc owns one event_base and at most one evhttp
 * connection, kept alive between requests. A request runs the base until
 * its callback fires. evhttp cannot reconnect an SSL bufferevent whose
 * SSL object already saw a shutdown, so whenever the connection is reset
 * (peer closed it, error, "Connection: close") it is dropped and a fresh
 * one (new SSL) is built for the next request; a request that fails on a
 * reused keep-alive connection before any answer is retried once on a
 * fresh one (the server may close an idle connection at any moment).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "guest_internal.h"
#include "httpc.h"
#include "log.h"

/* Largest response body accepted: resources are capped at 2 MiB by the
 * server by default, base64url and JSON add a third. */
#define HTTPC_MAX_BODY		(64u * 1024 * 1024)
#define HTTPC_USER_AGENT	"trusteectl/0.1"

struct httpc {
	struct httpc_url url;
	char *origin;		/* "https://host:port", for messages */
	char *hosthdr;		/* Host header value */
	int timeout_s;
	struct event_base *base;
	SSL_CTX *ctx;		/* https only */
	struct evhttp_connection *conn;
	int conn_dead;		/* reset by evhttp: rebuild before use */
	int conn_used;		/* has carried a complete exchange */
	int cookies;		/* keep and send cookies */
	char *cookie;		/* "name=value" or NULL */
};

/* State of one request while the event loop runs. */
struct httpc_call {
	struct httpc *c;
	struct httpc_response *resp;
	int done;
	int ok;			/* a response arrived */
	int have_reqerr;
	enum evhttp_request_error reqerr;
	int sockerr;		/* errno when the failure was reported */
};

static void
url_fail(struct error *err, const char *url, const char *why)
{
	char esc[200];

	error_set(err, "invalid URL '%s': %s",
	    log_escape(url, esc, sizeof(esc)), why);
}

static int
port_parse(const char *s, size_t n, int *port)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int
httpc_url_parse(const char *url, struct httpc_url *u, struct error *err)
{
	const char *p, *end, *host, *hend, *after, *q;
	unsigned char tmp[sizeof(struct in6_addr)];
	size_t plen;

	memset(u, 0, sizeof(*u));
	for (q = url; *q != '\0'; q++) {
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) {
			url_fail(err, url, "contains a space, control or "
			    "non-ASCII character");
			return -1;
		}
	}
	if (strncasecmp(url, "https://", 8) == 0) {
		u->https = 1;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		url_fail(err, url, "must start with http:// or https://");
		return -1;
	}
	end = p + strcspn(p, "/?#");
	if (strpbrk(p, "?#") != NULL) {
		url_fail(err, url, "a query or fragment is not allowed");
		return -1;
	}
	if (memchr(p, '@', (size_t)(end - p)) != NULL) {
		url_fail(err, url, "user information is not supported");
		return -1;
	}
	if (*p == '[') {
		host = p + 1;
		hend = memchr(host, ']', (size_t)(end - host));
		if (hend == NULL) {
			url_fail(err, url, "missing ']' after the IPv6 address");
			return -1;
		}
		after = hend + 1;
		u->host = xstrndup(host, (size_t)(hend - host));
		if (inet_pton(AF_INET6, u->host, tmp) != 1) {
			url_fail(err, url, "bad IPv6 address between [ ]");
			goto fail;
		}
		u->host_is_ip = 1;
	} else {
		host = p;
		hend = memchr(p, ':', (size_t)(end - p));
		if (hend == NULL)
			hend = end;
		after = hend;
		u->host = xstrndup(host, (size_t)(hend - host));
		if (inet_pton(AF_INET, u->host, tmp) == 1)
			u->host_is_ip = 1;
	}
	if (u->host[0] == '\0') {
		url_fail(err, url, *hend == ':' && memchr(hend + 1, ':',
		    (size_t)(end - hend - 1)) != NULL ? "IPv6 addresses go "
		    "in [ ]" : "empty host");
		goto fail;
	}
	if (after < end) {
		if (*after != ':' || port_parse(after + 1,
		    (size_t)(end - after - 1), &u->port) == -1) {
			url_fail(err, url, "bad port (1-65535; IPv6 addresses "
			    "go in [ ])");
			goto fail;
		}
	} else
		u->port = u->https ? 443 : 80;
	plen = strlen(end);
	while (plen > 0 && end[plen - 1] == '/')
		plen--;
	u->prefix = xstrndup(end, plen);
	return 0;
fail:
	httpc_url_clear(u);
	return -1;
}

void
httpc_url_clear(struct httpc_url *u)
{
	free(u->host);
	free(u->prefix);
	memset(u, 0, sizeof(*u));
}

char *
httpc_cookie_from_header(const char *v)
{
	size_t n;
	const char *eq;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, ";");
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	eq = memchr(v, '=', n);
	if (eq == NULL || eq == v)
		return NULL;
	/* Refuse anything that could split our own Cookie header. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return NULL;
	return xstrndup(v, n);
}

static void
ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGPIPE, &sa, NULL);
	}
}

struct httpc *
httpc_new(const char *url, const char *cacert, int timeout_s,
    struct error *err)
{
	struct httpc *c = xcalloc(1, sizeof(*c));
	int dflt;

	if (httpc_url_parse(url, &c->url, err) == -1)
		goto fail;
	if (timeout_s <= 0)
		timeout_s = 60;
	c->timeout_s = timeout_s;
	c->cookies = 1;
	/* libevent and OpenSSL write with write(2): a peer that closed the
	 * connection would kill the process with SIGPIPE instead of
	 * failing the request. Only a default disposition is changed. */
	ignore_sigpipe();
	if (c->url.host_is_ip && strchr(c->url.host, ':') != NULL)
		c->origin = xasprintf("%s://[%s]:%d",
		    c->url.https ? "https" : "http", c->url.host, c->url.port);
	else
		c->origin = xasprintf("%s://%s:%d",
		    c->url.https ? "https" : "http", c->url.host, c->url.port);
	dflt = c->url.port == (c->url.https ? 443 : 80);
	c->hosthdr = xasprintf(strchr(c->url.host, ':') != NULL ? "[%s]" :
	    "%s", c->url.host);
	if (!dflt) {
		char *h = xasprintf("%s:%d", c->hosthdr, c->url.port);

		free(c->hosthdr);
		c->hosthdr = h;
	}
	c->base = event_base_new();
	if (c->base == NULL) {
		error_set(err, "cannot create an event base");
		goto fail;
	}
	if (c->url.https) {
		c->ctx = SSL_CTX_new(TLS_client_method());
		if (c->ctx == NULL) {
			error_set(err, "cannot create a TLS context");
			goto fail;
		}
		SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		if (cacert != NULL) {
			if (access(cacert, R_OK) == -1) {
				error_set(err, "CA file %s: %s", cacert,
				    strerror(errno));
				goto fail;
			}
			if (SSL_CTX_load_verify_file(c->ctx, cacert) != 1) {
				error_set(err, "CA file %s: no PEM certificate "
				    "could be loaded", cacert);
				goto fail;
			}
		} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
			error_set(err, "cannot load the system CA store");
			goto fail;
		}
		ERR_clear_error();
	}
	return c;
fail:
	httpc_free(c);
	return NULL;
}

static void
conn_drop(struct httpc *c)
{
	if (c->conn != NULL)
		evhttp_connection_free(c->conn);
	c->conn = NULL;
	c->conn_dead = 0;
	c->conn_used = 0;
}

void
httpc_free(struct httpc *c)
{
	if (c == NULL)
		return;
	conn_drop(c);
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->base != NULL)
		event_base_free(c->base);
	secret_strfree(c->cookie);
	free(c->origin);
	free(c->hosthdr);
	httpc_url_clear(&c->url);
	free(c);
}

void
httpc_set_cookies(struct httpc *c, int enable)
{
	c->cookies = enable != 0;
}

int
httpc_cookies_enabled(const struct httpc *c)
{
	return c->cookies;
}

void
httpc_copy_cookie(struct httpc *dst, const struct httpc *src)
{
	secret_strfree(dst->cookie);
	dst->cookie = src->cookie != NULL ? xstrdup(src->cookie) : NULL;
}

void
httpc_clear_cookies(struct httpc *c)
{
	secret_strfree(c->cookie);
	c->cookie = NULL;
}

void
httpc_response_clear(struct httpc_response *r)
{
	if (r == NULL)
		return;
	free(r->content_type);
	buf_wipe(&r->body);
	buf_free(&r->headers);
	memset(r, 0, sizeof(*r));
}

char *
httpc_response_header(const struct httpc_response *r, const char *name)
{
	size_t n = strlen(name), i = 0;
	const char *h = (const char *)r->headers.data;

	while (h != NULL && i < r->headers.len) {
		const char *nl = memchr(h + i, '\n', r->headers.len - i);
		size_t end = nl != NULL ? (size_t)(nl - h) : r->headers.len;

		if (end - i > n + 1 && strncasecmp(h + i, name, n) == 0 &&
		    h[i + n] == ':') {
			size_t v = i + n + 1;

			while (v < end && h[v] == ' ')
				v++;
			return xstrndup(h + v, end - v);
		}
		i = end + 1;
	}
	return NULL;
}

static void
conn_closed(struct evhttp_connection *conn, void *arg)
{
	struct httpc *c = arg;

	(void)conn;
	c->conn_dead = 1;
}

static int
conn_open(struct httpc *c, struct error *err)
{
	struct bufferevent *bev = NULL;
	SSL *ssl;

	if (c->url.https) {
		ssl = SSL_new(c->ctx);
		if (ssl == NULL)
			return error_set(err, "%s: cannot create a TLS "
			    "session", c->origin);
		if (c->url.host_is_ip) {
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    c->url.host) != 1) {
				SSL_free(ssl);
				return error_set(err, "%s: cannot check the "
				    "certificate against IP %s", c->origin,
				    c->url.host);
			}
		} else if (SSL_set_tlsext_host_name(ssl, c->url.host) != 1 ||
		    SSL_set1_host(ssl, c->url.host) != 1) {
			SSL_free(ssl);
			return error_set(err, "%s: cannot set the TLS server "
			    "name", c->origin);
		}
		/* On this (allocation) failure libevent versions differ on
		 * whether ssl is freed: leaking it beats a double free. */
		bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev == NULL)
			return error_set(err, "%s: cannot create a TLS "
			    "bufferevent", c->origin);
		/* Servers commonly close without close_notify; the HTTP
		 * framing (Content-Length) detects truncation anyway. */
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	}
	c->conn = evhttp_connection_base_bufferevent_new(c->base, NULL, bev,
	    c->url.host, (unsigned short)c->url.port);
	if (c->conn == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		return error_set(err, "%s: cannot create a connection",
		    c->origin);
	}
	evhttp_connection_set_timeout(c->conn, c->timeout_s);
	evhttp_connection_set_max_body_size(c->conn, HTTPC_MAX_BODY);
	evhttp_connection_set_closecb(c->conn, conn_closed, c);
	/* A server refusing a large body (413) answers and closes while
	 * we still write: read its answer instead of failing on EPIPE. */
	evhttp_connection_set_flags(c->conn, EVHTTP_CON_READ_ON_WRITE_ERROR);
	c->conn_dead = 0;
	c->conn_used = 0;
	return 0;
}

/*
 * Requests are small and answered at once: without TCP_NODELAY, Nagle's
 * algorithm holds the second segment of a request (TLS record after the
 * headers) until the server's delayed ACK, ~40 ms per request. The socket
 * exists once evhttp_make_request has started connecting.
 */
static void
httpc_nodelay(struct httpc *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->conn);
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
}

/* Requests up to this size go out as one TLS record (httpc_coalesce);
 * libevent's bufferevent_openssl writes at most 16384 bytes at once. */
#define HTTPC_COALESCE_MAX	16384

static void
httpc_coalesce_free(const void *data, size_t len, void *extra)
{
	(void)extra;
	secret_free((void *)(uintptr_t)data, len);
}

/*
 * Send a queued request as one TLS record and one write(2), as curl and
 * hyper do: evhttp queues the request line and headers and the body (by
 * reference, see request_once) as separate chains, and
 * bufferevent_openssl makes one SSL_write, so one record, per chain,
 * which costs the server a record (two reads) more per request. Called
 * after evhttp_make_request, before the event loop writes: a request
 * of at most HTTPC_COALESCE_MAX bytes in more than one chain is moved
 * into one buffer of ours, wiped when libevent is done with it (the body
 * may be a secret). Anything else (nothing queued yet, a larger request,
 * no memory) is left as it is.
 */
static void
httpc_coalesce(struct httpc *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->conn);
	struct evbuffer *out = bev != NULL ? bufferevent_get_output(bev) :
	    NULL;
	size_t len = out != NULL ? evbuffer_get_length(out) : 0;
	uint8_t *copy;

	if (len == 0 || len > HTTPC_COALESCE_MAX ||
	    evbuffer_peek(out, -1, NULL, NULL, 0) < 2 ||
	    (copy = malloc(len)) == NULL)
		return;
	/* Copied, then drained: on failure the queue is left unchanged. */
	if (evbuffer_copyout(out, copy, len) != (ev_ssize_t)len ||
	    evbuffer_drain(out, len) != 0) {
		secret_free(copy, len);
		return;
	}
	if (evbuffer_add_reference(out, copy, len, httpc_coalesce_free,
	    NULL) != 0) {
		evbuffer_add(out, copy, len);
		secret_free(copy, len);
	}
}

static int
method_parse(const char *m, enum evhttp_cmd_type *out)
{
	static const struct {
		const char *name;
		enum evhttp_cmd_type cmd;
	} tab[] = {
		{ "GET", EVHTTP_REQ_GET }, { "POST", EVHTTP_REQ_POST },
		{ "PUT", EVHTTP_REQ_PUT }, { "DELETE", EVHTTP_REQ_DELETE },
		{ "HEAD", EVHTTP_REQ_HEAD }, { "PATCH", EVHTTP_REQ_PATCH },
		{ "OPTIONS", EVHTTP_REQ_OPTIONS },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tab); i++) {
		if (strcmp(m, tab[i].name) == 0) {
			*out = tab[i].cmd;
			return 0;
		}
	}
	return -1;
}

static void
request_done(struct evhttp_request *req, void *arg)
{
	struct httpc_call *call = arg;
	struct httpc *c = call->c;
	struct httpc_response *resp = call->resp;
	struct evkeyvalq *h;
	struct evkeyval *kv;
	struct evbuffer *in;
	const char *ct;
	size_t len;

	call->done = 1;
	event_base_loopbreak(c->base);
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		if (!call->have_reqerr)
			call->sockerr = errno;
		return;
	}
	call->ok = 1;
	c->conn_used = 1;
	resp->status = evhttp_request_get_response_code(req);
	h = evhttp_request_get_input_headers(req);
	ct = evhttp_find_header(h, "Content-Type");
	if (ct != NULL)
		resp->content_type = xstrdup(ct);
	TAILQ_FOREACH(kv, h, next)
		buf_printf(&resp->headers, "%s: %s\n", kv->key, kv->value);
	if (c->cookies) {
		TAILQ_FOREACH(kv, h, next) {
			char *ck;

			if (strcasecmp(kv->key, "Set-Cookie") != 0)
				continue;
			ck = httpc_cookie_from_header(kv->value);
			if (ck != NULL) {
				secret_strfree(c->cookie);
				c->cookie = ck;
			}
		}
	}
	in = evhttp_request_get_input_buffer(req);
	len = evbuffer_get_length(in);
	if (len > 0) {
		uint8_t *p = evbuffer_pullup(in, -1);

		buf_add(&resp->body, p, len);
		/* Bodies carry tokens: libevent frees without wiping. */
		sodium_memzero(p, len);
	}
	buf_cstr(&resp->body);
}

static void
request_error(enum evhttp_request_error e, void *arg)
{
	struct httpc_call *call = arg;

	call->have_reqerr = 1;
	call->reqerr = e;
	call->sockerr = errno;
}

/* errno values worth reporting as the cause of a failed exchange; others
 * may be stale leftovers and are not shown. */
static int
errno_meaningful(int e)
{
	switch (e) {
	case ECONNREFUSED: case ECONNRESET: case ECONNABORTED:
	case EHOSTUNREACH: case ENETUNREACH: case ETIMEDOUT: case EPIPE:
	case EADDRNOTAVAIL: case ENETDOWN: case EHOSTDOWN:
		return 1;
	default:
		return 0;
	}
}

/*
 * Why a connect failed. evhttp reports a failed connect without its errno
 * (the value is clobbered by its cleanup), so on that path only, connect
 * once more by hand, which returns the reason ("connection refused").
 * Returns an errno value, or 0 when the probe connected.
 */
static int
probe_connect(const struct httpc *c)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	struct pollfd pfd;
	char port[8];
	int fd, e = EHOSTUNREACH;
	socklen_t elen;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", c->url.port);
	if (getaddrinfo(c->url.host, port, &hints, &res) != 0)
		return EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			e = 0;
		else if (errno != EINPROGRESS)
			e = errno;
		else {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			elen = sizeof(e);
			if (poll(&pfd, 1, c->timeout_s * 1000) != 1)
				e = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e,
			    &elen) == -1)
				e = errno;
		}
		close(fd);
		if (e == 0)
			break;
	}
	freeaddrinfo(res);
	return e;
}

/* Explain a failed exchange: TLS verification first (it is the usual
 * cause of an https failure), then DNS, timeout, socket errors. */
static int
transport_error(struct httpc *c, const struct httpc_call *call,
    struct error *err)
{
	struct bufferevent *bev = NULL;
	char ebuf[256], msg[128];
	int dns, sockerr = call->sockerr;

	if (c->conn != NULL)
		bev = evhttp_connection_get_bufferevent(c->conn);
	if (c->url.https && bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
		unsigned long e = bufferevent_get_openssl_error(bev);

		if (vr != X509_V_OK)
			return error_set(err, "%s: TLS certificate verification "
			    "failed: %s", c->origin,
			    X509_verify_cert_error_string(vr));
		/* libevent also queues bare SSL_get_error() codes (library 0,
		 * e.g. SSL_ERROR_SYSCALL on a refused connection): those say
		 * nothing about TLS, the socket error does. */
		if (e != 0 && ERR_GET_LIB(e) == 0)
			e = 0;
		if (e == 0)
			e = ERR_peek_last_error();
		if (e != 0) {
			ERR_error_string_n(e, ebuf, sizeof(ebuf));
			ERR_clear_error();
			return error_set(err, "%s: TLS handshake failed: %s",
			    c->origin, ebuf);
		}
	}
	if (bev != NULL && (dns = bufferevent_socket_get_dns_error(bev)) != 0)
		return error_set(err, "%s: cannot resolve %s: %s", c->origin,
		    c->url.host, gai_strerror(dns));
	if (call->have_reqerr && call->reqerr == EVREQ_HTTP_TIMEOUT)
		return error_set(err, "%s: no response within %d s", c->origin,
		    c->timeout_s);
	if (call->have_reqerr && call->reqerr == EVREQ_HTTP_DATA_TOO_LONG)
		return error_set(err, "%s: response larger than %u bytes",
		    c->origin, HTTPC_MAX_BODY);
	if (call->have_reqerr && call->reqerr == EVREQ_HTTP_INVALID_HEADER)
		return error_set(err, "%s: malformed HTTP response", c->origin);
	/* No answer and no request error: the connect itself failed. */
	if (!call->have_reqerr && !errno_meaningful(call->sockerr))
		sockerr = probe_connect(c);
	if (errno_meaningful(sockerr)) {
		snprintf(msg, sizeof(msg), "%s", strerror(sockerr));
		msg[0] = (char)tolower((unsigned char)msg[0]);
		return error_set(err, "%s: %s", c->origin, msg);
	}
	if (call->have_reqerr && call->reqerr == EVREQ_HTTP_EOF)
		return error_set(err, "%s: connection closed before a complete "
		    "response", c->origin);
	return error_set(err, "%s: connection failed", c->origin);
}

static int
add_header(struct evkeyvalq *out, const char *line, struct error *err)
{
	const char *colon = strchr(line, ':'), *v;
	char *name;
	int rc;

	if (colon == NULL || colon == line)
		return error_set(err, "bad request header '%s'", line);
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	name = xstrndup(line, (size_t)(colon - line));
	/* evhttp refuses CR/LF in values, which blocks header splitting. */
	rc = evhttp_add_header(out, name, v);
	free(name);
	if (rc != 0)
		return error_set(err, "bad request header '%.*s'",
		    (int)(colon - line), line);
	return 0;
}

/*
 * One attempt. Returns 0 with a response, -1 on a final failure, -2 when
 * the attempt failed without any answer on a connection that had already
 * carried an exchange (retryable once on a fresh connection).
 */
static int
request_once(struct httpc *c, enum evhttp_cmd_type cmd, const char *uri,
    const char *const *headers, const void *body, size_t body_len,
    struct httpc_response *resp, struct error *err)
{
	struct httpc_call call = { .c = c, .resp = resp };
	struct evhttp_request *req;
	struct evkeyvalq *out;
	char num[32];
	int reused = c->conn_used, r;
	size_t i;

	req = evhttp_request_new(request_done, &call);
	if (req == NULL)
		return error_set(err, "cannot allocate a request");
	evhttp_request_set_error_cb(req, request_error);
	out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Host", c->hosthdr);
	evhttp_add_header(out, "User-Agent", HTTPC_USER_AGENT);
	if (c->cookies && c->cookie != NULL)
		evhttp_add_header(out, "Cookie", c->cookie);
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		if (add_header(out, headers[i], err) == -1) {
			evhttp_request_free(req);
			return -1;
		}
	}
	if (body_len > 0 || cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_PUT) {
		snprintf(num, sizeof(num), "%zu", body_len);
		evhttp_remove_header(out, "Content-Length");
		evhttp_add_header(out, "Content-Length", num);
		/* By reference: the body (a resource, for admin puts) is
		 * written from the caller's memory, never copied into
		 * buffers libevent would free unwiped. It outlives the
		 * request: httpc_request returns only after completion, and
		 * a failed connection is reset (output drained) before
		 * reuse. */
		if (body_len > 0 && evbuffer_add_reference(
		    evhttp_request_get_output_buffer(req), body, body_len,
		    NULL, NULL)) {
			evhttp_request_free(req);
			return error_set(err, "cannot buffer the request body");
		}
	}
	errno = 0;
	if (evhttp_make_request(c->conn, req, cmd, uri) != 0) {
		/* evhttp leaves req to us only if it never queued it; when
		 * its callback already ran, it freed req itself. */
		if (!call.done)
			evhttp_request_free(req);
		call.sockerr = errno;
		c->conn_dead = 1;
		return transport_error(c, &call, err);
	}
	httpc_nodelay(c);
	httpc_coalesce(c);
	while (!call.done) {
		r = event_base_dispatch(c->base);
		if (r != 0 && !call.done) {
			/* No event left that could complete the request. */
			c->conn_dead = 1;
			return error_set(err, "%s: request stalled", c->origin);
		}
	}
	if (call.ok)
		return 0;
	c->conn_dead = 1;
	if (reused && !(call.have_reqerr && call.reqerr == EVREQ_HTTP_TIMEOUT))
		return -2;
	return transport_error(c, &call, err);
}

int
httpc_request(struct httpc *c, const char *method, const char *path,
    const char *const *headers, const void *body, size_t body_len,
    struct httpc_response *resp, struct error *err)
{
	enum evhttp_cmd_type cmd;
	char *uri;
	int attempt, rc = -1;

	memset(resp, 0, sizeof(*resp));
	if (method_parse(method, &cmd) == -1)
		return error_set(err, "unsupported HTTP method '%s'", method);
	uri = xasprintf("%s%s%s", c->url.prefix, path[0] == '/' ? "" : "/",
	    path);
	for (attempt = 0; attempt < 2; attempt++) {
		if (c->conn != NULL && c->conn_dead)
			conn_drop(c);
		if (c->conn == NULL && conn_open(c, err) == -1)
			break;
		rc = request_once(c, cmd, uri, headers, body, body_len, resp,
		    err);
		if (rc != -2)
			break;
		log_debug("%s %s%s: kept-alive connection lost, reconnecting",
		    method, c->origin, uri);
		httpc_response_clear(resp);
		rc = -1;
		error_set(err, "%s: connection lost", c->origin);
	}
	if (rc == 0)
		log_debug("%s %s%s -> %d (%zu bytes)", method, c->origin, uri,
		    resp->status, resp->body.len);
	else
		httpc_response_clear(resp);
	free(uri);
	return rc == 0 ? 0 : -1;
}
