/*
 * http_close.c: how a connection of trusteed's HTTP front end ends. In
 * order: http_close_begin takes no more requests and drops the input,
 * the queued answers drain, then http_close_linger shuts our side down
 * (close_notify, FIN) and reads and drops what the client still sends
 * until its EOF (http_conn.c frees the connection then) or HTTP_LINGER_S.
 * When the server stops, what is not in the middle of a request closes
 * (http_close_stop). The worker's tick ends what overstayed its state
 * (http_close_tick): the states, their lists and deadlines are described
 * in http_internal.h.
 */
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "../lib/log.h"
#include "http_internal.h"

/* How long a closing connection keeps reading (and dropping) input. */
#define HTTP_LINGER_S		2

void
http_close_linger(struct http_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (c->tls) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		if (ssl != NULL && SSL_is_init_finished(ssl))
			(void)SSL_shutdown(ssl);
		ERR_clear_error();
	}
	if (fd >= 0)
		(void)shutdown(fd, SHUT_WR);
	http_conn_set_state(c, CS_LINGER);
	bufferevent_enable(c->bev, EV_READ);
}

void
http_close_begin(struct http_conn *c)
{
	struct evbuffer *in;

	if (c->bev == NULL) {
		http_conn_free(c, 0);
		return;
	}
	if (c->state == CS_LINGER)
		return;
	in = bufferevent_get_input(c->bev);
	c->closing = 1;
	if (c->state != CS_CLOSING)
		http_conn_set_state(c, CS_CLOSING);
	http_conn_rq_free(c);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (evbuffer_get_length(c->out) == 0) {
		http_close_linger(c);
		return;
	}
	/* Keep reading (and dropping) meanwhile: a client still sending a
	 * body we refused must not block on a full window. */
	bufferevent_enable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

void
http_close_stop(struct http_conn *c)
{
	c->stop_close = 1;
	if (c->state == CS_PENDING)
		http_conn_free(c, 1);
	else if (c->state == CS_IDLE && !c->throttled)
		http_close_begin(c);
	else if (c->state == CS_LINGER)
		http_conn_free(c, 0);
}

/* Close what overstayed: the lists are in deadline order, so only their
 * heads are ever looked at. (Moving a connection to another list stamps
 * it later than now: it is never expired twice in one tick.) */
void
http_close_tick(struct http_worker *w)
{
	uint64_t now = now_mono_ns();
	const struct http_limits *lim = &w->srv->lim;
	uint64_t hs = (uint64_t)lim->handshake_timeout_s * 1000000000ull;
	uint64_t rq = (uint64_t)lim->request_timeout_s * 1000000000ull;
	uint64_t idle = (uint64_t)lim->idle_timeout_s * 1000000000ull;
	struct http_conn *c;

	while ((c = w->list[CS_PENDING].head) != NULL &&
	    c->since_ns + hs <= now) {
		ratelimit_note(RL_EV_TIMEOUT, &c->src);
		log_debug("%s: no request within %d s", c->peer,
		    lim->handshake_timeout_s);
		http_conn_free(c, 0);
	}
	while ((c = w->list[CS_BUSY].head) != NULL &&
	    c->since_ns + rq <= now) {
		/* Slow senders: a request must arrive within the timeout,
		 * whatever pace its bytes come at. */
		ratelimit_note(RL_EV_TIMEOUT, &c->src);
		http_conn_error(c, 408, "RequestTimeout", 0, "request not "
		    "received in time");
		http_close_begin(c);
	}
	while ((c = w->list[CS_IDLE].head) != NULL &&
	    c->since_ns + idle <= now) {
		log_debug("%s: idle timeout", c->peer);
		http_close_begin(c);
	}
	while ((c = w->list[CS_CLOSING].head) != NULL &&
	    c->since_ns + idle <= now)
		http_conn_free(c, 0);
	while ((c = w->list[CS_LINGER].head) != NULL &&
	    c->since_ns + (uint64_t)HTTP_LINGER_S * 1000000000ull <= now)
		http_conn_free(c, 0);
}
