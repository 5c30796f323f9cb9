/*
 * guestfix.h: the fixture of the client-side unit tests that talk HTTP
 * (test_guest_*.c): a small HTTP/1.1 server on 127.0.0.1, in a thread of
 * this process, that plays the KBS for the guest protocol. Header-only;
 * include after <cmocka.h>. Every helper fails the running test on
 * error.
 *
 * - guestfix_setup / guestfix_teardown: the cmocka setup (a struct
 *   guestfix_srv listening on a free port, its thread serving) and
 *   teardown (stops the thread, frees the state);
 * - the server answers /kbs/v0/auth (a challenge with the nonce
 *   GUESTFIX_ZERO_NONCE and s->sel as selected hash), /kbs/v0/attest
 *   (checks the runtime data, sets the session cookie and s->token),
 *   /kbs/v0/resource/a/b/c (GUESTFIX_SECRET as a JWE to the tee key; a
 *   cookie or Bearer token required), and /echo, /setcookie,
 *   /closeafter and /slow for the httpc tests; it records
 *   the head of the last request (s->last_req) and counts connections
 *   and requests;
 * - guestfix_client: an httpc client of the server with a path prefix
 *   and a timeout; guestfix_listen: a listening socket on a free port.
 */
#ifndef TRUSTEE_GUESTFIX_H
#define TRUSTEE_GUESTFIX_H

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "../../lib/b64.h"
#include "../../lib/guest.h"
#include "../../lib/guest_internal.h"
#include "../../lib/hash.h"
#include "../../lib/httpc.h"
#include "../../lib/jwe.h"
#include "../../lib/util.h"
#include "testutil.h"

#define GUESTFIX_ZERO_NONCE "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define GUESTFIX_SECRET "top secret \x01\x02 bytes"

struct guestfix_srv {
	int lfd;
	int port;
	pthread_t th;
	volatile int stop;
	int nconn;		/* connections accepted */
	int nreq;
	char sel[16];		/* selected-hash-algorithm, "" for none */
	char last_req[4096];	/* head of the last request */
	json_t *tpk;		/* tee-pubkey of the last good /attest */
	char token[256];
	int attest_ok;
};

static inline const char *
guestfix_hdr_get(const char *head, const char *name, char *out, size_t cap)
{
	const char *p = head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, cap, "%.*s", (int)(e - v), v);
			return out;
		}
	}
	return NULL;
}

static inline void
guestfix_send(int fd, int status, const char *extra, const char *body,
    size_t len)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: "
	    "%zu\r\n%s\r\n", status, len, extra != NULL ? extra : "");
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n || (len > 0 &&
	    send(fd, body, len, MSG_NOSIGNAL) != (ssize_t)len))
		return;
}

static inline void
guestfix_problem(int fd, int status, const char *type, const char *detail)
{
	char *b = xasprintf("{\"type\":\"https://github.com/confidential-"
	    "containers/kbs/errors/%s\",\"detail\":\"%s\"}", type, detail);

	guestfix_send(fd, status, "Content-Type: application/json\r\n", b,
	    strlen(b));
	free(b);
}

/* The mock KBS: checks what guest.c sends exactly as trusteed would. */
static inline void
guestfix_attest(struct guestfix_srv *s, int fd, const char *body, size_t len)
{
	json_t *a = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *rd, *ev, *pe, *tpk, *initd;
	struct error err = { "" };
	enum hash_alg alg = HASH_SHA384;
	uint8_t d[HASH_MAX_SIZE];
	size_t n;
	char *b64, *payload, *claims;
	const char *nonce;

	if (s->sel[0] != '\0') {
		char lc[sizeof(s->sel)];
		size_t i;

		for (i = 0; i < sizeof(lc); i++)
			lc[i] = (char)tolower((unsigned char)s->sel[i]);
		hash_alg_from_name(lc, &alg);
	}
	rd = json_object_get(a, "runtime-data");
	ev = json_object_get(a, "tee-evidence");
	pe = json_object_get(ev, "primary_evidence");
	tpk = json_object_get(rd, "tee-pubkey");
	initd = json_object_get(a, "init-data");
	nonce = json_string_value(json_object_get(rd, "nonce"));
	if (a == NULL || json_object_size(a) != 3 || initd == NULL ||
	    nonce == NULL || strcmp(nonce, GUESTFIX_ZERO_NONCE) != 0 ||
	    tpk == NULL ||
	    json_object_size(ev) != 2 ||
	    !json_is_string(json_object_get(ev, "additional_evidence")) ||
	    strcmp(json_string_value(json_object_get(ev,
	    "additional_evidence")), "") != 0 ||
	    strcmp(json_string_value(json_object_get(pe, "svn")), "1") != 0) {
		guestfix_problem(fd, 401, "AttestationError", "malformed body");
		goto out;
	}
	if (!json_is_null(initd) && (strcmp(json_string_value(
	    json_object_get(initd, "format")), "toml") != 0 ||
	    strcmp(json_string_value(json_object_get(initd, "body")),
	    "version = \"0.1.0\"\n") != 0)) {
		guestfix_problem(fd, 401, "AttestationError", "bad init-data");
		goto out;
	}
	guest_runtime_digest(tpk, nonce, alg, d, &n, &err);
	b64 = b64_encode(d, n, B64_STD);
	if (strcmp(b64, json_string_value(json_object_get(pe,
	    "report_data"))) != 0) {
		free(b64);
		guestfix_problem(fd, 401, "AttestationError",
		    "report data mismatch");
		goto out;
	}
	free(b64);
	json_decref(s->tpk);
	s->tpk = json_incref(tpk);
	claims = xasprintf("{\"iat\":1,\"exp\":4000000000,\"init\":%s}",
	    json_is_null(initd) ? "false" : "true");
	payload = b64_encode(claims, strlen(claims), B64_URL_NOPAD);
	snprintf(s->token, sizeof(s->token), "eyJhbGciOiJub25lIn0.%s.c2ln",
	    payload);
	free(payload);
	free(claims);
	s->attest_ok++;
	b64 = xasprintf("{\"token\":\"%s\"}", s->token);
	guestfix_send(fd, 200,
	    "Set-Cookie: kbs-session-id=feedface; Path=/kbs/v0\r\n",
	    b64, strlen(b64));
	free(b64);
out:
	json_decref(a);
}

static inline void
guestfix_resource(struct guestfix_srv *s, int fd, const char *head)
{
	char v[512], *jwe;
	struct error err = { "" };

	if (guestfix_hdr_get(head, "Authorization", v, sizeof(v)) != NULL) {
		char want[300];

		if (guestfix_hdr_get(head, "Cookie", want,
		    sizeof(want)) != NULL) {
			guestfix_problem(fd, 400, "BadRequest",
			    "cookie in bearer mode");
			return;
		}
		snprintf(want, sizeof(want), "Bearer %s", s->token);
		if (strcmp(v, want) != 0) {
			guestfix_problem(fd, 401, "TokenVerifierError",
			    "bad token");
			return;
		}
	} else if (guestfix_hdr_get(head, "Cookie", v, sizeof(v)) == NULL ||
	    strcmp(v, "kbs-session-id=feedface") != 0) {
		guestfix_problem(fd, 401, "TokenNotFound", "no token");
		return;
	}
	if (strncmp(head, "GET /kbs/v0/resource/a/b/c ", 27) != 0) {
		guestfix_problem(fd, 401, "PluginInternalError",
		    "resource not found");
		return;
	}
	jwe = jwe_encrypt(s->tpk, (const uint8_t *)GUESTFIX_SECRET,
	    sizeof(GUESTFIX_SECRET) - 1, &err);
	if (jwe == NULL) {
		guestfix_problem(fd, 500, "JweError", "encrypt");
		return;
	}
	guestfix_send(fd, 200, "Content-Type: application/json\r\n", jwe,
	    strlen(jwe));
	free(jwe);
}

/* Serve one request; returns 0 to keep the connection, -1 to close. */
static inline int
guestfix_one(struct guestfix_srv *s, int fd)
{
	char buf[65536], v[64];
	size_t len = 0, clen = 0, hlen;
	char *end;
	ssize_t n;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL) {
			hlen = (size_t)(end - buf) + 4;
			if (guestfix_hdr_get(buf, "Content-Length", v,
			    sizeof(v)))
				clen = (size_t)strtoul(v, NULL, 10);
			if (len >= hlen + clen)
				break;
		}
		if (s->stop || len == sizeof(buf) - 1)
			return -1;
		if (poll(&p, 1, 100) != 1)
			continue;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	*end = '\0';
	s->nreq++;
	snprintf(s->last_req, sizeof(s->last_req), "%s\r\n", buf);
	if (strncmp(buf, "GET /echo ", 10) == 0 ||
	    strncmp(buf, "POST /echo ", 11) == 0) {
		guestfix_send(fd, 200, "Content-Type: text/plain\r\n", end + 4,
		    clen);
	} else if (strncmp(buf, "GET /setcookie ", 15) == 0) {
		guestfix_send(fd, 200, "Set-Cookie:  sid=abc123 ; Path=/\r\n",
		    "{}", 2);
	} else if (strncmp(buf, "GET /closeafter ", 16) == 0) {
		/* Close after answering, without saying so: the client
		 * only notices on its next request. */
		guestfix_send(fd, 200, NULL, "bye", 3);
		return -1;
	} else if (strncmp(buf, "GET /slow ", 10) == 0) {
		sleep(2);
		guestfix_send(fd, 200, NULL, "late", 4);
	} else if (strncmp(buf, "POST /kbs/v0/auth ", 18) == 0) {
		static const char want[] = "{\"version\":\"0.4.0\",\"tee\":"
		    "\"sample\",\"extra-params\":{\"supported-hash-algorithms\":"
		    "[\"sha256\",\"sha384\",\"sha512\",\"sm3\"]}}";
		char *b;

		if (clen != sizeof(want) - 1 || memcmp(end + 4, want, clen)) {
			guestfix_problem(fd, 401, "AttestationError",
			    "bad request");
			return 0;
		}
		if (s->sel[0] != '\0')
			b = xasprintf("{\"nonce\":\"%s\",\"extra-params\":"
			    "{\"selected-hash-algorithm\":\"%s\"}}",
			    GUESTFIX_ZERO_NONCE, s->sel);
		else
			b = xasprintf("{\"nonce\":\"%s\",\"extra-params\":\"\"}",
			    GUESTFIX_ZERO_NONCE);
		guestfix_send(fd, 200, "Set-Cookie: kbs-session-id=feedface; "
		    "Expires=Wed, 21 Oct 2099 07:28:00 GMT; Path=/kbs/v0; "
		    "HttpOnly; SameSite=Strict\r\nContent-Type: "
		    "application/json\r\n", b, strlen(b));
		free(b);
	} else if (strncmp(buf, "POST /kbs/v0/attest ", 20) == 0) {
		if (guestfix_hdr_get(buf, "Cookie", v, sizeof(v)) == NULL ||
		    strcmp(v, "kbs-session-id=feedface") != 0)
			guestfix_problem(fd, 401, "AttestationError",
			    "no session");
		else
			guestfix_attest(s, fd, end + 4, clen);
	} else if (strncmp(buf, "GET /kbs/v0/resource/", 21) == 0) {
		guestfix_resource(s, fd, buf);
	} else
		guestfix_problem(fd, 404, "PluginNotFound", "no such plugin");
	/* Drop what was served (pipelining is not used by the client). */
	return 0;
}

static inline void *
guestfix_main(void *arg)
{
	struct guestfix_srv *s = arg;

	while (!s->stop) {
		struct pollfd p = { .fd = s->lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 100) != 1)
			continue;
		fd = accept(s->lfd, NULL, NULL);
		if (fd == -1)
			continue;
		s->nconn++;
		while (!s->stop && guestfix_one(s, fd) == 0)
			;
		close(fd);
	}
	return NULL;
}

static inline int
guestfix_listen(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static inline int
guestfix_setup(void **state)
{
	struct guestfix_srv *s = xcalloc(1, sizeof(*s));

	s->lfd = guestfix_listen(&s->port);
	if (pthread_create(&s->th, NULL, guestfix_main, s) != 0)
		return -1;
	*state = s;
	return 0;
}

static inline int
guestfix_teardown(void **state)
{
	struct guestfix_srv *s = *state;

	s->stop = 1;
	pthread_join(s->th, NULL);
	close(s->lfd);
	json_decref(s->tpk);
	free(s);
	return 0;
}

static inline struct httpc *
guestfix_client(struct guestfix_srv *s, const char *prefix, int timeout)
{
	struct error err = { "" };
	char *url = xasprintf("http://127.0.0.1:%d%s", s->port, prefix);
	struct httpc *c = httpc_new(url, NULL, timeout, &err);

	if (c == NULL)
		fail_msg("httpc_new %s: %s", url, err.msg);
	free(url);
	return c;
}

#endif
