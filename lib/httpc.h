/*
 * httpc.h: a small blocking HTTP/1.1 client over libevent's evhttp (with
 * bufferevent_openssl for https), used by trusteectl and the benchmark.
 * One struct httpc is one keep-alive connection to one base URL, with a
 * one-slot cookie jar (the KBS session cookie). Not thread-safe: use one
 * per thread.
 */
#ifndef TRUSTEE_HTTPC_H
#define TRUSTEE_HTTPC_H

#include <stddef.h>
#include "util.h"

struct httpc;

struct httpc_response {
	int status;
	char *content_type;	/* NULL if absent */
	struct buf body;	/* NUL-terminated via buf_cstr */
	struct buf headers;	/* "Name: value\n" per response header */
};

/*
 * url: "https://host:port[/prefix]" or "http://...". cacert: PEM file of
 * trusted roots for https (NULL: the system store). The server name is
 * checked against the certificate (DNS or IP SAN). timeout_s: per request.
 */
struct httpc *httpc_new(const char *url, const char *cacert, int timeout_s,
    struct error *err);
void httpc_free(struct httpc *c);

/* Keep (1, default) or ignore (0) cookies set by the server. */
void httpc_set_cookies(struct httpc *c, int enable);
/* Forget any stored cookie. */
void httpc_clear_cookies(struct httpc *c);
/* Give dst src's stored cookie (a guest moving its KBS session to another
 * instance behind a load balancer). */
void httpc_copy_cookie(struct httpc *dst, const struct httpc *src);

/*
 * Send one request; path is appended to the URL's prefix. headers is a
 * NULL-terminated array of "Name: value" strings (may be NULL). Returns 0
 * when a response arrived (any status), -1 on a transport error.
 */
int httpc_request(struct httpc *c, const char *method, const char *path,
    const char *const *headers, const void *body, size_t body_len,
    struct httpc_response *resp, struct error *err);
void httpc_response_clear(struct httpc_response *r);
/* A copy of the first response header called name (case-insensitive),
 * or NULL. Caller frees. */
char *httpc_response_header(const struct httpc_response *r, const char *name);

#endif
