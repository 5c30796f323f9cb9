/*
 * http_accept.c: admitting a connection to trusteed's HTTP front end.
 * The listener's callback checks the caps (connections per source, then
 * all connections, shedding this worker's oldest connection that is not
 * in the middle of a request), and the connection then waits with a bare
 * event for its first byte: only a client that sends something gets a
 * bufferevent and, for TLS, an SSL object, which http_conn.c takes over
 * (http_conn_attach). The pending connection's deadline is the
 * handshake timeout (http_close_tick).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../lib/log.h"
#include "http_internal.h"

static void
http_accept_format_peer(const struct sockaddr *sa, char *out, size_t cap)
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

/*
 * The first byte (or the first TLS record) arrived: only now does the
 * connection get its bufferevent and, for TLS, its SSL object (with
 * buffers released whenever they are empty).
 */
static void
http_accept_first_byte(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http_worker *w = c->w;
	struct bufferevent *bev;
	char b;
	ssize_t n;

	(void)what;
	/* Closed (or reset) without a byte: nothing to set up. */
	n = recv(fd, &b, 1, MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		http_conn_free(c, 0);
		return;
	}
	event_free(c->wait_ev);
	c->wait_ev = NULL;
	if (w->srv->tls != NULL) {
		SSL *ssl = SSL_new(w->srv->tls);

		if (ssl == NULL) {
			log_warnx("SSL_new failed");
			ERR_clear_error();
			http_conn_free(c, 0);
			return;
		}
		SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
		bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (bev != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else
		bev = bufferevent_socket_new(w->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* Only on allocation failure; libevent's cleanup of the
		 * socket (and SSL) on this path is not specified, so leave
		 * them rather than risk a double close. */
		log_warnx("cannot create a bufferevent for a connection");
		c->fd = -1;
		http_conn_free(c, 0);
		return;
	}
	http_conn_attach(c, bev);
}

/* At the connection cap: close this worker's oldest connection that is
 * not in the middle of a request. 0 if one was closed. */
static int
http_accept_shed(struct http_worker *w)
{
	struct http_conn *p = w->list[CS_PENDING].head;
	struct http_conn *i = w->list[CS_IDLE].head;
	struct http_conn *victim;

	if (p == NULL && i == NULL)
		return -1;
	victim = p == NULL ? i : i == NULL ? p :
	    p->since_ns <= i->since_ns ? p : i;
	ratelimit_note(RL_EV_CONN_SHED, &victim->src);
	http_conn_free(victim, 1);
	return 0;
}

void
http_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct http_worker *w = arg;
	struct http_server *s = w->srv;
	struct source_addr src;
	struct http_conn *c;
	int one = 1, counted = 0;

	(void)l;
	(void)salen;
	if (w->stopping) {
		close(fd);
		return;
	}
	ratelimit_source_from(sa, &src);
	if (s->lim.max_conns_per_source > 0) {
		if (ratelimit_counts_add(s->per_src, &src,
		    (unsigned)s->lim.max_conns_per_source) != 0) {
			ratelimit_note(RL_EV_CONN_SOURCE, &src);
			close(fd);
			return;
		}
		counted = 1;
	}
	if (atomic_fetch_add(&s->nconns, 1) >= s->lim.max_conns &&
	    http_accept_shed(w) != 0) {
		atomic_fetch_sub(&s->nconns, 1);
		if (counted)
			ratelimit_counts_sub(s->per_src, &src);
		ratelimit_note(RL_EV_CONN_REFUSED, &src);
		close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = http_conn_alloc(&s->lim);
	c->w = w;
	c->fd = fd;
	c->src = src;
	c->counted = counted;
	c->tls = s->tls != NULL;
	http_accept_format_peer(sa, c->peer, sizeof(c->peer));
	c->state = CS_PENDING;
	c->since_ns = now_mono_ns();
	http_conn_list_add(c);
	w->nconns++;
	c->wait_ev = event_new(w->base, fd, EV_READ, http_accept_first_byte,
	    c);
	if (c->wait_ev == NULL || event_add(c->wait_ev, NULL) != 0) {
		log_warnx("cannot watch a new connection");
		http_conn_free(c, 0);
	}
}
