/*
 * kbs_worker.c: one worker thread of a kbsbench phase (kbs_worker_main,
 * started by kbs_phase_run). It holds one keep-alive TLS connection (and
 * one to --url2), prepares untimed (connect; attest for the GET phases;
 * attested guests for bearer_first), waits at the phase's barriers, then
 * takes operations until the phase ends, recording the latency of each
 * successful one in w->lat. Every plaintext is compared with the stored
 * bytes; failures count through kbs_phase_error, and a failed request
 * drops the connection, so the next operation uses a fresh one.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "benchres.h"
#include "kbs.h"

/* A thread that cannot attest this many times in a row gives up, so a
 * server that refuses everything does not keep a thread spinning. */
#define ATTEST_TRIES	3
/* The KBS protocol version lib/guest.c speaks; /auth alone needs it. */
#define KBS_AUTH_BODY	"{\"version\":\"0.4.0\",\"tee\":\"sample\"," \
			"\"extra-params\":\"\"}"

static void
kbs_worker_record(struct kbs_worker *w, uint64_t ns)
{
	if (w->nlat == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 1024;
		w->lat = xrealloc(w->lat, w->cap * sizeof(*w->lat));
	}
	w->lat[w->nlat++] = ns;
}

/*
 * After a failed request the keep-alive connection may be dead or hold a
 * half-read response, so a fresh one is used for the next operation.
 */
static int
kbs_worker_reconnect(struct kbs_worker *w, struct error *err)
{
	httpc_free(w->c);
	httpc_free(w->c2);
	w->c2 = NULL;
	w->c = httpc_new(w->ph->opt->url, w->ph->opt->cacert, KBS_REQ_TIMEOUT_S,
	    err);
	if (w->c != NULL && w->ph->opt->url2 != NULL &&
	    (w->c2 = httpc_new(w->ph->opt->url2, w->ph->opt->cacert,
	    KBS_REQ_TIMEOUT_S, err)) == NULL) {
		httpc_free(w->c);
		w->c = NULL;
	}
	return w->c == NULL ? -1 : 0;
}

static void
kbs_worker_drop_connection(struct kbs_worker *w)
{
	httpc_free(w->c);
	httpc_free(w->c2);
	w->c = w->c2 = NULL;
}

/* The connection of the next step: c, or with --url2 c and c2 in turn. */
static struct httpc *
kbs_worker_next_conn(struct kbs_worker *w)
{
	if (w->c2 == NULL)
		return w->c;
	return w->turn++ & 1 ? w->c2 : w->c;
}

/* The other connection than c (c itself without --url2), holding c's
 * session cookie: the guest's next request goes to the other instance. */
static struct httpc *
kbs_worker_other_conn(struct kbs_worker *w, struct httpc *c)
{
	struct httpc *o;

	if (w->c2 == NULL)
		return c;
	o = c == w->c ? w->c2 : w->c;
	httpc_copy_cookie(o, c);
	return o;
}

/* GET one resource (the bench secret, or a random one of --resources)
 * and compare it with its stored bytes. Returns 0 ok, -1 request error
 * (err set), 1 plaintext mismatch. */
static int
kbs_worker_get_verify(struct kbs_worker *w, struct guest *g, int bearer,
    struct httpc *c, struct error *err)
{
	struct kbs_phase *ph = w->ph;
	char name[BENCHRES_NAME_MAX], path[BENCHRES_NAME_MAX + 16];
	uint8_t want[BENCHRES_VALUE_LEN], *pt = NULL;
	const uint8_t *expect = ph->secret;
	size_t ptlen = 0, explen = ph->secret_len;
	int rc;

	if (ph->opt->resources > 0) {
		benchres_name(randombytes_uniform(
		    (uint32_t)ph->opt->resources), name);
		benchres_value(name, want);
		expect = want;
		explen = sizeof(want);
		snprintf(path, sizeof(path), "resource/%s", name);
	} else
		snprintf(path, sizeof(path), "resource/" KBS_RESOURCE_PATH);
	if (guest_get(g, c, path, bearer, &pt, &ptlen, err) == -1)
		return -1;
	rc = (ptlen == explen && secret_equal(pt, expect, ptlen)) ? 0 : 1;
	secret_free(pt, ptlen);
	return rc;
}

/* Count a GET that did not give the stored bytes. */
static void
kbs_worker_get_failed(struct kbs_worker *w, int rc, const char *msg)
{
	struct kbs_phase *ph = w->ph;

	if (rc == 1) {
		atomic_fetch_add(&ph->mismatches, 1);
		kbs_phase_error(ph, "plaintext differs from the stored "
		    "resource");
	} else
		kbs_phase_error(ph, msg);
}

static struct guest *
kbs_worker_new_guest(struct kbs_worker *w, struct error *err)
{
	uint64_t t0 = now_mono_ns();
	struct guest *g;

	g = guest_new(w->ph->opt->alg, err);
	w->keygen_ns += now_mono_ns() - t0;
	w->nkeygen++;
	return g;
}

/* POST /auth alone: one more unattested session on the server. The
 * connection sends no cookie, so every request makes a new session. */
static int
kbs_worker_auth_only(struct kbs_worker *w, struct error *err)
{
	static const char *const hdrs[] = {
		"Content-Type: application/json", NULL
	};
	struct httpc_response resp;
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	httpc_set_cookies(w->c, 0);
	if (httpc_request(w->c, "POST", "/kbs/v0/auth", hdrs, KBS_AUTH_BODY,
	    strlen(KBS_AUTH_BODY), &resp, err) == -1)
		goto out;
	if (resp.status != 200) {
		guest_problem("POST /kbs/v0/auth", &resp, err);
		goto out;
	}
	rc = 0;
out:
	httpc_response_clear(&resp);
	return rc;
}

/* Phases auth, attest and flows: one new session per operation. Latency
 * covers the requests (+ the GET's JWE decryption), not the TEE key
 * generation, which a real guest does once and which is client cost. */
static void
kbs_worker_sessions(struct kbs_worker *w)
{
	struct kbs_phase *ph = w->ph;
	struct error err;

	while (kbs_phase_take(ph)) {
		struct guest *g = NULL;
		struct httpc *c;
		uint64_t t0, t1;
		int rc;

		err.msg[0] = '\0';
		if (w->c == NULL && kbs_worker_reconnect(w, &err) == -1) {
			kbs_phase_error(ph, err.msg);
			continue;
		}
		if (ph->kind != PHASE_AUTH &&
		    (g = kbs_worker_new_guest(w, &err)) == NULL) {
			kbs_phase_error(ph, err.msg);
			continue;
		}
		c = kbs_worker_next_conn(w);
		t0 = now_mono_ns();
		if (ph->kind == PHASE_AUTH)
			rc = kbs_worker_auth_only(w, &err);
		else
			rc = guest_attest(g, c, "sample", NULL, 0, &err);
		if (rc == 0 && ph->kind == PHASE_FLOWS)
			rc = kbs_worker_get_verify(w, g, 0,
			    kbs_worker_other_conn(w, c), &err);
		t1 = now_mono_ns();
		guest_free(g);
		if (rc == 0)
			kbs_worker_record(w, t1 - t0);
		else {
			kbs_worker_get_failed(w, rc, err.msg);
			if (rc == -1)
				kbs_worker_drop_connection(w);
		}
	}
}

/* Attest once, untimed. With bearer set the token is then presented once
 * as Bearer, so the timed GETs all use a token the server has seen. */
static struct guest *
kbs_worker_attest_session(struct kbs_worker *w, int bearer, struct error *err)
{
	struct guest *g = NULL;
	int i, rc;

	for (i = 0; i < ATTEST_TRIES; i++) {
		if (w->c == NULL && kbs_worker_reconnect(w, err) == -1)
			continue;
		if ((g = kbs_worker_new_guest(w, err)) == NULL)
			continue;
		rc = guest_attest(g, w->c, "sample", NULL, 0, err);
		if (rc == 0 && bearer)
			rc = kbs_worker_get_verify(w, g, 1, w->c, err);
		if (rc == 0)
			return g;
		if (rc == 1)
			error_set(err, "plaintext differs from the stored "
			    "resource");
		guest_free(g);
		g = NULL;
		kbs_worker_drop_connection(w);
	}
	return NULL;
}

/* Phases gets and bearer_seen: GETs on one attested session (cookie) or
 * token (Bearer); after a failure the session is re-established (untimed)
 * before the next GET. */
static void
kbs_worker_gets(struct kbs_worker *w, struct guest *g)
{
	struct kbs_phase *ph = w->ph;
	int bearer = ph->kind == PHASE_BEARER_SEEN;
	struct error err;

	while (kbs_phase_take(ph)) {
		struct httpc *c;
		uint64_t t0, t1;
		int rc;

		err.msg[0] = '\0';
		if (g == NULL && (g = kbs_worker_attest_session(w, bearer,
		    &err)) == NULL) {
			kbs_phase_error(ph, err.msg);
			continue;
		}
		c = kbs_worker_next_conn(w);
		if (c != w->c)
			httpc_copy_cookie(c, w->c);
		t0 = now_mono_ns();
		rc = kbs_worker_get_verify(w, g, bearer, c, &err);
		t1 = now_mono_ns();
		if (rc == 0)
			kbs_worker_record(w, t1 - t0);
		else {
			kbs_worker_get_failed(w, rc, err.msg);
			if (rc == -1) {
				guest_free(g);
				g = NULL;
				kbs_worker_drop_connection(w);
			}
		}
	}
	guest_free(g);
}

/* Phase bearer_first, untimed part: attest quota guests; their tokens
 * have never been presented as Bearer. */
static void
kbs_worker_fill_pool(struct kbs_worker *w)
{
	struct error err;
	uint64_t i;

	w->pool = xcalloc(w->quota ? w->quota : 1, sizeof(*w->pool));
	for (i = 0; i < w->quota && !atomic_load(&w->ph->stop); i++) {
		struct guest *g;

		err.msg[0] = '\0';
		if ((g = kbs_worker_attest_session(w, 0, &err)) == NULL) {
			kbs_phase_error(w->ph, err.msg);
			continue;
		}
		w->pool[w->npool++] = g;
	}
}

/* Phase bearer_first: one GET per prepared token, each token used once. */
static void
kbs_worker_bearer_first(struct kbs_worker *w)
{
	struct kbs_phase *ph = w->ph;
	struct error err;
	size_t i;

	for (i = 0; i < w->npool; i++) {
		uint64_t t0, t1;
		int rc;

		if (atomic_load(&ph->stop) || now_mono_ns() >= ph->deadline_ns)
			break;
		err.msg[0] = '\0';
		if (w->c == NULL && kbs_worker_reconnect(w, &err) == -1) {
			kbs_phase_error(ph, err.msg);
			continue;
		}
		t0 = now_mono_ns();
		rc = kbs_worker_get_verify(w, w->pool[i], 1,
		    kbs_worker_next_conn(w), &err);
		t1 = now_mono_ns();
		if (rc == 0)
			kbs_worker_record(w, t1 - t0);
		else {
			kbs_worker_get_failed(w, rc, err.msg);
			if (rc == -1)
				kbs_worker_drop_connection(w);
		}
	}
	for (i = 0; i < w->npool; i++)
		guest_free(w->pool[i]);
	free(w->pool);
	w->pool = NULL;
	w->npool = 0;
}

/* One admin list page: GET base (+ cursor), check 200 and the JSON
 * shape, return the next cursor (NULL after the last page) in *next. */
static int
kbs_worker_admin_page(struct kbs_worker *w, const char *cursor, char **next,
    size_t *nitems, struct error *err)
{
	struct kbs_phase *ph = w->ph;
	const char *base = ph->opt->admin_path;
	const char *hdrs[2] = { ph->admin_auth, NULL };
	struct httpc_response resp;
	json_t *body = NULL, *items, *nc;
	json_error_t jerr;
	char *path;
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	*next = NULL;
	path = cursor == NULL ? xstrdup(base) : xasprintf("%s%scursor=%s",
	    base, strchr(base, '?') != NULL ? "&" : "?", cursor);
	if (httpc_request(w->c, "GET", path, hdrs, NULL, 0, &resp, err) == -1)
		goto out;
	if (resp.status != 200) {
		guest_problem(path, &resp, err);
		goto out;
	}
	body = json_loadb(resp.body.data != NULL ? (const char *)
	    resp.body.data : "", resp.body.len, 0, &jerr);
	items = json_object_get(body, "items");
	nc = json_object_get(body, "next_cursor");
	if (!json_is_array(items) || (nc != NULL && !json_is_null(nc) &&
	    !json_is_string(nc))) {
		error_set(err, "GET %s: not a {\"items\", \"next_cursor\"} "
		    "page", path);
		goto out;
	}
	*nitems = json_array_size(items);
	if (json_is_string(nc))
		*next = xstrdup(json_string_value(nc));
	rc = 0;
out:
	json_decref(body);
	httpc_response_clear(&resp);
	free(path);
	return rc;
}

/* Phase admin_pages: walk the list page by page, then start again. */
static void
kbs_worker_admin(struct kbs_worker *w)
{
	struct kbs_phase *ph = w->ph;
	struct error err;
	char *cursor = NULL;

	while (kbs_phase_take(ph)) {
		char *next = NULL;
		size_t n = 0;
		uint64_t t0, t1;

		err.msg[0] = '\0';
		if (w->c == NULL && kbs_worker_reconnect(w, &err) == -1) {
			kbs_phase_error(ph, err.msg);
			continue;
		}
		t0 = now_mono_ns();
		if (kbs_worker_admin_page(w, cursor, &next, &n, &err) == -1) {
			t1 = 0;
			kbs_phase_error(ph, err.msg);
			kbs_worker_drop_connection(w);
		} else {
			t1 = now_mono_ns();
			kbs_worker_record(w, t1 - t0);
			atomic_fetch_add(&ph->items, n);
		}
		free(cursor);
		cursor = next;
	}
	free(cursor);
}

void *
kbs_worker_main(void *arg)
{
	struct kbs_worker *w = arg;
	struct kbs_phase *ph = w->ph;
	struct guest *g = NULL;
	struct error err;

	err.msg[0] = '\0';
	if (kbs_worker_reconnect(w, &err) == -1)
		kbs_phase_error(ph, err.msg);
	if ((ph->kind == PHASE_GETS || ph->kind == PHASE_BEARER_SEEN) &&
	    w->c != NULL && (g = kbs_worker_attest_session(w,
	    ph->kind == PHASE_BEARER_SEEN, &err)) == NULL)
		kbs_phase_error(ph, err.msg);
	if (ph->kind == PHASE_BEARER_FIRST)
		kbs_worker_fill_pool(w);
	pthread_barrier_wait(&ph->ready);
	pthread_barrier_wait(&ph->go);
	switch (ph->kind) {
	case PHASE_AUTH:
	case PHASE_ATTEST:
	case PHASE_FLOWS:
		kbs_worker_sessions(w);
		break;
	case PHASE_GETS:
	case PHASE_BEARER_SEEN:
		kbs_worker_gets(w, g);
		break;
	case PHASE_BEARER_FIRST:
		kbs_worker_bearer_first(w);
		break;
	case PHASE_ADMIN:
		kbs_worker_admin(w);
		break;
	}
	kbs_worker_drop_connection(w);
	return NULL;
}
