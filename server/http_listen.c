/*
 * http_listen.c: the listening side of trusteed's HTTP front end: parsing
 * listen addresses, taking each address for this process alone (a lock,
 * an exclusive check), SO_REUSEPORT sockets for the workers, one
 * event_base and thread per worker with its deadline tick, starting and
 * stopping the server. The front end's shape is described in
 * http_internal.h.
 *
 * Why the lock: SO_REUSEPORT lets any process of the same user join a
 * port, so a second trusteed started on the same address would silently
 * take half of the connections (with its own certificate and store).
 * Before binding, each address is locked with an abstract UNIX socket
 * named after it (abstract names live as long as the process and are
 * scoped to the network namespace, as the port is), then checked free
 * with a bind that does not share; only then do the workers bind their
 * shared sockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "../lib/log.h"
#include "http_internal.h"

#define HTTP_DEFAULT_MAX_HEADER	(64 * 1024)
#define HTTP_DEFAULT_MAX_BODY	(2 * 1024 * 1024)
#define HTTP_DEFAULT_IDLE_S	60
#define HTTP_DEFAULT_HANDSHAKE_S 10
#define HTTP_DEFAULT_REQUEST_S	30
#define HTTP_DEFAULT_MAX_CONNS	4096	/* all workers */
#define HTTP_DEFAULT_INFLIGHT	((size_t)64 << 20)
#define HTTP_TICK_MS		250	/* deadline checks */
#define HTTP_MAX_WORKERS	256
#define HTTP_BACKLOG		1024
#define HTTP_STOP_GRACE_S	2

/* ------------------------------------------------------------- workers */

static void
http_listen_worker_enable(struct http_worker *w, int on)
{
	size_t i;

	for (i = 0; i < w->srv->nlisten; i++) {
		if (w->lis[i] == NULL)
			continue;
		if (on)
			evconnlistener_enable(w->lis[i]);
		else
			evconnlistener_disable(w->lis[i]);
	}
}

static void
http_listen_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http_worker *w = arg;
	struct timeval tv = { 1, 0 };
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	log_warnx("accept: %s", evutil_socket_error_to_string(e));
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		/* The pending connection stays queued: back off instead of
		 * spinning on it. */
		http_listen_worker_enable(w, 0);
		evtimer_add(w->resume_ev, &tv);
	}
}

static void
http_listen_worker_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker *w = arg;

	(void)fd;
	(void)what;
	if (!w->stopping)
		http_listen_worker_enable(w, 1);
}

static void
http_listen_worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_close_tick(arg);
}

/* Runs on the worker: stop accepting, close idle connections, let busy
 * ones finish their response (bounded by the grace period). */
static void
http_listen_worker_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_worker *w = arg;
	struct timeval grace = { HTTP_STOP_GRACE_S, 0 };
	struct http_conn *c, *next;
	size_t i;
	int st;

	(void)fd;
	(void)what;
	w->stopping = 1;
	for (i = 0; i < w->srv->nlisten; i++) {
		if (w->lis[i] != NULL)
			evconnlistener_free(w->lis[i]);
		w->lis[i] = NULL;
	}
	evtimer_del(w->resume_ev);
	/* http_close_stop frees c or moves it to the CLOSING list's tail,
	 * never touching the others. */
	for (st = 0; st < CS_NSTATES; st++) {
		for (c = w->list[st].head; c != NULL; c = next) {
			next = c->next;
			http_close_stop(c);
		}
	}
	if (w->nconns == 0)
		event_base_loopexit(w->base, NULL);
	else
		event_base_loopexit(w->base, &grace);
}

static void *
http_listen_worker_main(void *arg)
{
	struct http_worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* ------------------------------------------------------------- server */

static pthread_once_t http_listen_once = PTHREAD_ONCE_INIT;
static int http_listen_threads_ok;

static void
http_listen_init_once(void)
{
	http_listen_threads_ok = evthread_use_pthreads() == 0;
}

/* "1.2.3.4:80" or "[::1]:80" into a sockaddr. */
static int
http_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
    struct error *err)
{
	char host[INET6_ADDRSTRLEN];
	const char *orig = s, *port, *end;
	unsigned long pn = 0;
	size_t hlen;
	int v6 = s[0] == '[';

	if (v6) {
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		hlen = (size_t)(end - s - 1);
		port = end + 2;
		s++;
	} else {
		end = strrchr(s, ':');
		if (end == NULL)
			goto bad;
		hlen = (size_t)(end - s);
		port = end + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || *port == '\0' ||
	    strlen(port) > 5)
		goto bad;
	for (end = port; *end != '\0'; end++) {
		if (*end < '0' || *end > '9')
			goto bad;
		pn = pn * 10 + (unsigned long)(*end - '0');
	}
	if (pn > 65535)
		goto bad;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)pn);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
		*sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)pn);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		*sslen = sizeof(*s4);
	}
	return 0;
bad:
	return error_set(err, "listen \"%s\": expected IPv4:PORT or "
	    "[IPv6]:PORT", orig);
}

static void
http_listen_set_port(struct sockaddr_storage *ss, int port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

/* The lock's name for an address: "trusteed-listen:IP:PORT". */
static void
http_listen_lock_name(const struct sockaddr_storage *ss, int wildcard,
    struct sockaddr_un *un, socklen_t *len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		if (wildcard)
			snprintf(ip, sizeof(ip), "0.0.0.0");
		else
			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 =
		    (const struct sockaddr_in6 *)ss;

		if (wildcard)
			snprintf(ip, sizeof(ip), "::");
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
	}
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	/* Abstract namespace: sun_path[0] is NUL. */
	snprintf(un->sun_path + 1, sizeof(un->sun_path) - 1,
	    "trusteed-listen:%s:%d", ip, port);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(un->sun_path + 1));
}

/* The pid of the process holding a lock, or 0 if unknown: its listening
 * socket hands out its credentials to whoever connects. */
static pid_t
http_listen_lock_holder(const struct sockaddr_storage *ss, int wildcard)
{
	struct sockaddr_un un;
	struct ucred cred;
	socklen_t len, clen = sizeof(cred);
	pid_t pid = 0;
	int fd;

	http_listen_lock_name(ss, wildcard, &un, &len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	if (connect(fd, (struct sockaddr *)&un, len) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		pid = cred.pid;
	close(fd);
	return pid;
}

/*
 * Lock addr for this process: the lock's fd; -1 with err naming the
 * holder when another trusteed has it; -2 when UNIX sockets are not
 * allowed here (a sandbox restricting address families): then only the
 * exclusive bind check guards the address. The socket listens, so that
 * holder lookups work, and is closed (the lock released) when the server
 * stops or the process ends.
 */
static int
http_listen_lock(const char *addr, const struct sockaddr_storage *ss,
    struct error *err)
{
	struct sockaddr_un un;
	socklen_t len;
	pid_t pid;
	int fd, e;

	http_listen_lock_name(ss, 0, &un, &len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 && (errno == EAFNOSUPPORT || errno == EPERM ||
	    errno == EACCES)) {
		log_warnx("listen %s: no address lock (%s): only the exclusive "
		    "bind check keeps a second trusteed off this address",
		    addr, strerror(errno));
		return -2;
	}
	if (fd == -1)
		return error_set(err, "listen %s: lock: %s", addr,
		    strerror(errno));
	if (bind(fd, (struct sockaddr *)&un, len) == 0 && listen(fd, 16) == 0)
		return fd;
	e = errno;
	close(fd);
	if (e != EADDRINUSE)
		return error_set(err, "listen %s: lock: %s", addr,
		    strerror(e));
	pid = http_listen_lock_holder(ss, 0);
	if (pid > 0)
		return error_set(err, "listen %s: address already in use by "
		    "another trusteed (pid %d)", addr, (int)pid);
	return error_set(err, "listen %s: address already in use by another "
	    "trusteed", addr);
}

/*
 * Is the address free? A bind that shares with nobody (SO_REUSEADDR only
 * lets it pass connections in TIME_WAIT) fails if anything listens there,
 * SO_REUSEPORT or not, on this address or the wildcard.
 */
static int
http_listen_probe(const char *addr, const struct sockaddr_storage *ss,
    socklen_t sslen, struct error *err)
{
	int fd, one = 1, e = 0;
	pid_t pid;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return error_set(err, "listen %s: %s", addr, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)ss, sslen) == -1)
		e = errno;
	close(fd);
	if (e == 0)
		return 0;
	/* This process holds the lock of addr itself; a trusteed on the
	 * wildcard address of the port would hold its own. */
	if (e == EADDRINUSE && (pid = http_listen_lock_holder(ss, 1)) > 0 &&
	    pid != getpid())
		return error_set(err, "listen %s: %s (by trusteed pid %d on "
		    "this port)", addr, strerror(e), (int)pid);
	return error_set(err, "listen %s: %s", addr, strerror(e));
}

/* Accept and drop connections to a lock: they only asked who holds it. */
static void
http_listen_lock_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	close(fd);
}

/* A bound, listening, non-blocking socket; -1 with err naming addr. */
static int
http_listen_socket(const char *addr, const struct sockaddr_storage *ss,
    socklen_t sslen, struct error *err)
{
	int fd, one = 1, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return error_set(err, "listen %s: %s", addr, strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    (ss->ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (const struct sockaddr *)ss, sslen) == -1 ||
	    listen(fd, HTTP_BACKLOG) == -1) {
		e = errno;
		close(fd);
		return error_set(err, "listen %s: %s", addr, strerror(e));
	}
	return fd;
}

static void
http_listen_server_free(struct http_server *s)
{
	size_t i;
	int k;

	for (k = 0; k < s->nworkers; k++) {
		struct http_worker *w = &s->workers[k];
		int st;

		for (st = 0; st < CS_NSTATES; st++)
			while (w->list[st].head != NULL)
				http_conn_free(w->list[st].head, 0);
		for (i = 0; w->lis != NULL && i < s->nlisten; i++)
			if (w->lis[i] != NULL)
				evconnlistener_free(w->lis[i]);
		free(w->lis);
		if (k == 0)
			for (i = 0; s->lock_lis != NULL && i < s->nlisten; i++)
				if (s->lock_lis[i] != NULL)
					evconnlistener_free(s->lock_lis[i]);
		if (w->stop_ev != NULL)
			event_free(w->stop_ev);
		if (w->resume_ev != NULL)
			event_free(w->resume_ev);
		if (w->tick_ev != NULL)
			event_free(w->tick_ev);
		if (w->base != NULL)
			event_base_free(w->base);
	}
	free(s->workers);
	for (i = 0; i < s->nlisten; i++) {
		free(s->listen[i]);
		if (s->locks != NULL && s->locks[i] >= 0 &&
		    (s->lock_lis == NULL || s->lock_lis[i] == NULL))
			close(s->locks[i]);
	}
	free(s->listen);
	free(s->ports);
	free(s->locks);
	free(s->lock_lis);
	ratelimit_counts_free(s->per_src);
	free(s);
}

struct http_server *
http_server_start(const struct http_server_config *cfg, struct error *err)
{
	struct http_server *s;
	sigset_t all, old;
	size_t i;
	int k;

	pthread_once(&http_listen_once, http_listen_init_once);
	if (!http_listen_threads_ok) {
		error_set(err, "libevent: cannot enable pthreads support");
		return NULL;
	}
	if (cfg->handler == NULL || cfg->nlisten == 0) {
		error_set(err, "http server: no %s", cfg->handler == NULL ?
		    "handler" : "listen address");
		return NULL;
	}
	if (cfg->workers < 0 || cfg->workers > HTTP_MAX_WORKERS) {
		error_set(err, "http server: workers %d out of range 1..%d",
		    cfg->workers, HTTP_MAX_WORKERS);
		return NULL;
	}

	s = xcalloc(1, sizeof(*s));
	s->lim.max_body = cfg->max_body != 0 ? cfg->max_body :
	    HTTP_DEFAULT_MAX_BODY;
	s->lim.max_header = cfg->max_header != 0 ? cfg->max_header :
	    HTTP_DEFAULT_MAX_HEADER;
	s->lim.idle_timeout_s = cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s :
	    HTTP_DEFAULT_IDLE_S;
	s->lim.handshake_timeout_s = cfg->handshake_timeout_s > 0 ?
	    cfg->handshake_timeout_s : HTTP_DEFAULT_HANDSHAKE_S;
	s->lim.request_timeout_s = cfg->request_timeout_s > 0 ?
	    cfg->request_timeout_s : HTTP_DEFAULT_REQUEST_S;
	s->lim.max_conns = cfg->max_connections > 0 ? cfg->max_connections :
	    HTTP_DEFAULT_MAX_CONNS;
	s->lim.max_conns_per_source = cfg->max_connections_per_source;
	s->lim.max_inflight = cfg->max_inflight > 0 ? cfg->max_inflight :
	    HTTP_DEFAULT_INFLIGHT;
	/* One request at the body cap must always fit. */
	if (s->lim.max_inflight < s->lim.max_body + s->lim.max_header +
	    sizeof(struct http_rq))
		s->lim.max_inflight = s->lim.max_body + s->lim.max_header +
		    sizeof(struct http_rq);
	s->lim.preflight = cfg->preflight;
	s->lim.handler = cfg->handler;
	s->lim.arg = cfg->arg;
	s->lim.inflight = &s->inflight;
	s->per_src = ratelimit_counts_new(1024);
	s->tls = cfg->tls;
	s->nlisten = cfg->nlisten;
	s->listen = xcalloc(cfg->nlisten, sizeof(*s->listen));
	s->ports = xcalloc(cfg->nlisten, sizeof(*s->ports));
	s->locks = xcalloc(cfg->nlisten, sizeof(*s->locks));
	s->lock_lis = xcalloc(cfg->nlisten, sizeof(*s->lock_lis));
	for (i = 0; i < cfg->nlisten; i++) {
		s->listen[i] = xstrdup(cfg->listen[i]);
		s->locks[i] = -1;
	}
	/* The parser's own (process-wide) header limit must not undercut
	 * ours; it is only ever raised. */
	if (s->lim.max_header > HTTP_MAX_HEADER_SIZE - 4096) {
		size_t m = s->lim.max_header > UINT32_MAX - 4096 ?
		    UINT32_MAX - 4096 : s->lim.max_header;

		http_parser_set_max_header_size((uint32_t)(m + 4096));
	}

	s->nworkers = cfg->workers > 0 ? cfg->workers : 1;
	s->workers = xcalloc((size_t)s->nworkers, sizeof(*s->workers));
	for (k = 0; k < s->nworkers; k++) {
		struct http_worker *w = &s->workers[k];

		w->srv = s;
		w->lis = xcalloc(s->nlisten, sizeof(*w->lis));
		w->base = event_base_new();
		if (w->base == NULL) {
			error_set(err, "event_base_new failed");
			goto fail;
		}
		w->stop_ev = event_new(w->base, -1, 0,
		    http_listen_worker_stop_cb, w);
		w->resume_ev = evtimer_new(w->base,
		    http_listen_worker_resume_cb, w);
		w->tick_ev = event_new(w->base, -1, EV_PERSIST,
		    http_listen_worker_tick_cb, w);
		if (w->stop_ev == NULL || w->resume_ev == NULL ||
		    w->tick_ev == NULL || event_add(w->tick_ev,
		    &(struct timeval){ 0, HTTP_TICK_MS * 1000 }) != 0) {
			error_set(err, "event_new failed");
			goto fail;
		}
	}

	/* Each address: lock it for this process and check nobody listens
	 * there; then worker 0 binds first so that, with port 0, the others
	 * can share the port the kernel picked (locked once known). */
	for (i = 0; i < s->nlisten; i++) {
		struct sockaddr_storage ss;
		socklen_t sslen = 0;
		int fixed;

		if (http_listen_parse(s->listen[i], &ss, &sslen, err) == -1)
			goto fail;
		fixed = ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port != 0 :
		    ((struct sockaddr_in6 *)&ss)->sin6_port != 0;
		if (fixed && ((s->locks[i] = http_listen_lock(s->listen[i],
		    &ss, err)) == -1 ||
		    http_listen_probe(s->listen[i], &ss, sslen, err) == -1))
			goto fail;
		for (k = 0; k < s->nworkers; k++) {
			struct http_worker *w = &s->workers[k];
			int fd;

			if (k > 0)
				http_listen_set_port(&ss, s->ports[i]);
			fd = http_listen_socket(s->listen[i], &ss, sslen, err);
			if (fd == -1)
				goto fail;
			if (k == 0) {
				struct sockaddr_storage b;
				socklen_t blen = sizeof(b);

				if (getsockname(fd, (struct sockaddr *)&b,
				    &blen) == -1) {
					error_set(err, "listen %s: getsockname: "
					    "%s", s->listen[i], strerror(errno));
					close(fd);
					goto fail;
				}
				s->ports[i] = b.ss_family == AF_INET ?
				    ntohs(((struct sockaddr_in *)&b)->sin_port) :
				    ntohs(((struct sockaddr_in6 *)&b)->
				    sin6_port);
				if (!fixed) {
					http_listen_set_port(&ss, s->ports[i]);
					s->locks[i] = http_listen_lock(
					    s->listen[i], &ss, err);
					if (s->locks[i] == -1) {
						close(fd);
						goto fail;
					}
				}
			}
			w->lis[i] = evconnlistener_new(w->base,
			    http_accept_cb, w,
			    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
			    fd);
			if (w->lis[i] == NULL) {
				error_set(err, "listen %s: cannot create the "
				    "listener", s->listen[i]);
				close(fd);
				goto fail;
			}
			evconnlistener_set_error_cb(w->lis[i],
			    http_listen_accept_error_cb);
		}
		if (s->locks[i] < 0)
			continue;
		s->lock_lis[i] = evconnlistener_new(s->workers[0].base,
		    http_listen_lock_cb, NULL, LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_CLOSE_ON_EXEC, 0, s->locks[i]);
		if (s->lock_lis[i] == NULL) {
			error_set(err, "listen %s: cannot watch the lock",
			    s->listen[i]);
			goto fail;
		}
	}

	/* Workers never handle signals: the main thread owns them, and a
	 * SIGPIPE from a write to a closed socket stays pending instead of
	 * killing the process. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (k = 0; k < s->nworkers; k++) {
		struct http_worker *w = &s->workers[k];
		char name[16];
		int e;

		e = pthread_create(&w->thread, NULL, http_listen_worker_main,
		    w);
		if (e != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			error_set(err, "pthread_create: %s", strerror(e));
			http_server_stop(s);
			return NULL;
		}
		w->started = 1;
		snprintf(name, sizeof(name), "http-%d", k);
		pthread_setname_np(w->thread, name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return s;
fail:
	http_listen_server_free(s);
	return NULL;
}

int
http_server_port(const struct http_server *s, size_t i)
{
	if (s == NULL || i >= s->nlisten)
		return -1;
	return s->ports[i];
}

void
http_server_stats(const struct http_server *s, struct http_server_stats *st)
{
	st->connections = atomic_load(&((struct http_server *)s)->nconns);
	st->inflight = atomic_load(&((struct http_server *)s)->inflight);
}

void
http_server_stop(struct http_server *s)
{
	int k;

	if (s == NULL)
		return;
	for (k = 0; k < s->nworkers; k++)
		if (s->workers[k].started)
			event_active(s->workers[k].stop_ev, EV_TIMEOUT, 0);
	for (k = 0; k < s->nworkers; k++)
		if (s->workers[k].started)
			pthread_join(s->workers[k].thread, NULL);
	http_listen_server_free(s);
}
