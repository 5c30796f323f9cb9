/*
 * attlog_observe.c: observing an attestation request and building the
 * attestation log's record from it (observe.h). routes.c brackets each
 * /kbs/v0/attest and /attestation request with attlog_begin and
 * attlog_end; in between, ear.c notes the attestation policy's input
 * (attlog_note_input) and the handler the token it issued
 * (attlog_note_token), through a thread-local pointer to the current
 * observation. attlog_end turns what was noted, or else the answer itself
 * (the EAR token of a 200, the problem's detail otherwise), into the
 * record observe.h describes and hands it to attlog_append (attlog.c,
 * which owns the rows, the index and retention).
 *
 * Also here: the TEE and verdict names an observation is classified by,
 * which the log's index, the counters and the dashboard share.
 *
 * Nothing here touches the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/jws.h"
#include "../lib/log.h"
#include "../verifier/verifier.h"
#include "observe.h"

#define ATTLOG_EAR_MAX ((size_t)256 * 1024)

/* The observation of the current thread's request (attlog_begin to
 * attlog_end), or NULL. */
static _Thread_local struct attlog_obs *attlog_observe_current;

const char *const observe_tee_names[OBSERVE_TEES] = {
	"sample", "snp", "tdx", "sgx", "tpm", "az-snp-vtpm", "az-tdx-vtpm",
	"cca", "csv", "se", "hygondcu", "nvidia", "sampledevice", "other"
};

const char *const observe_verdict_names[OBSERVE_NVERDICTS] = {
	"affirming", "warning", "contraindicated", "none", "refused"
};

int
observe_tee_index(const char *tee)
{
	int i;

	for (i = 0; tee != NULL && i < OBSERVE_TEES - 1; i++)
		if (strcmp(observe_tee_names[i], tee) == 0)
			return i;
	return OBSERVE_TEES - 1;
}

int
observe_verdict_index(const char *v)
{
	int i;

	for (i = 0; v != NULL && i < OBSERVE_NVERDICTS; i++)
		if (strcmp(observe_verdict_names[i], v) == 0)
			return i;
	return -1;
}

/* "ip:port" / "[ip]:port" -> "ip". */
static void
attlog_observe_source(const char *peer, char *out, size_t cap)
{
	const char *end;

	if (peer[0] == '[' && (end = strchr(peer, ']')) != NULL)
		snprintf(out, cap, "%.*s", (int)(end - peer - 1), peer + 1);
	else if ((end = strrchr(peer, ':')) != NULL)
		snprintf(out, cap, "%.*s", (int)(end - peer), peer);
	else
		snprintf(out, cap, "%s", peer);
}

void
attlog_begin(struct attlog_obs *o, const char *endpoint,
    const struct http_request *req)
{
	char sid[SESSION_ID_LEN + 2];
	struct session s;

	memset(o, 0, sizeof(*o));
	o->endpoint = endpoint;
	o->start_ns = now_mono_ns();
	attlog_observe_source(req->peer, o->source, sizeof(o->source));
	if (strcmp(endpoint, "/kbs/v0/attest") == 0 &&
	    http_request_cookie(req, "kbs-session-id", sid, sizeof(sid)) == 0 &&
	    session_known(sid, &s) == 0) {
		snprintf(o->tee, sizeof(o->tee), "%s", s.tee);
		session_clear(&s);
	}
	attlog_observe_current = o;
}

void
attlog_note_input(const char *tee, const json_t *input)
{
	struct attlog_obs *o = attlog_observe_current;

	if (o == NULL || o->input != NULL || input == NULL)
		return;
	o->input = json_incref((json_t *)input);
	snprintf(o->input_tee, sizeof(o->input_tee), "%s", tee);
}

/* {"header":H,"payload":P}: the issued token's two texts as signed. */
static char *
attlog_observe_ear_text(const char *h, const char *p, size_t plen)
{
	size_t hlen = strlen(h);
	struct buf b = { 0 };

	buf_reserve(&b, hlen + plen + 22);
	buf_add(&b, "{\"header\":", 10);
	buf_add(&b, h, hlen);
	buf_add(&b, ",\"payload\":", 11);
	buf_add(&b, p, plen);
	buf_add(&b, "}", 1);	/* buf keeps its text NUL-terminated */
	return (char *)b.data;
}

void
attlog_note_token(const json_t *header, const json_t *claims,
    const char *header_text, const char *payload_text)
{
	struct attlog_obs *o = attlog_observe_current;

	if (o == NULL || o->token_claims != NULL || claims == NULL ||
	    header == NULL || header_text == NULL || payload_text == NULL)
		return;
	o->token_header = json_incref((json_t *)header);
	o->token_claims = json_incref((json_t *)claims);
	o->token_plen = strlen(payload_text);
	if (o->token_plen <= ATTLOG_EAR_MAX)
		o->token_ear = attlog_observe_ear_text(header_text,
		    payload_text, o->token_plen);
}

/* The TEE a refused /attestation request named (first request). */
static void
attlog_observe_body_tee(const struct http_request *req, char *out, size_t cap)
{
	json_t *b = json_loadb((const char *)req->body, req->body_len, 0,
	    NULL);
	const char *t = json_string_value(json_object_get(json_array_get(
	    json_object_get(b, "verification_requests"), 0), "tee"));

	if (t != NULL && verifier_tee_known(t))
		snprintf(out, cap, "%s", t);
	json_decref(b);
}

/* The problem detail of an error answer (or a fixed text). */
static json_t *
attlog_observe_reason(const struct http_response *resp)
{
	json_t *b = json_loadb((const char *)resp->body.data, resp->body.len,
	    0, NULL);
	const char *d = json_string_value(json_object_get(b, "detail"));
	json_t *r;

	r = d != NULL ? json_stringn(d, strnlen(d, ATTLOG_REASON_MAX)) : NULL;
	json_decref(b);
	return r != NULL ? r : json_sprintf("HTTP %d", resp->status);
}

/* Fill rec from the issued token's protected header and payload (claims);
 * plen: the length of the payload's JSON text. */
static void
attlog_observe_from_parts(json_t *rec, const json_t *header,
    const json_t *payload, size_t plen, int ear_text, char *tee, size_t cap,
    enum observe_verdict *v)
{
	const json_t *sub, *first = NULL;
	json_t *subs;
	const char *name, *st;
	int worst = -1, rank;

	subs = json_object();
	json_object_foreach(json_object_get((json_t *)payload, "submods"), name,
	    sub) {
		st = json_string_value(json_object_get(sub, "ear.status"));
		json_object_set_new(subs, name, json_pack("{s:s?, s:O?, s:O?}",
		    "status", st, "trust_vector", json_object_get(sub,
		    "ear.trustworthiness-vector"), "policy_id",
		    json_object_get(sub, "ear.appraisal-policy-id")));
		rank = st != NULL ? ear_tier_rank(st) : 0;
		if (rank > worst) {
			worst = rank;
			*v = rank == 1 ? OBSERVE_AFFIRMING : rank == 2 ?
			    OBSERVE_WARNING : rank == 3 ?
			    OBSERVE_CONTRAINDICATED : OBSERVE_NONE;
		}
		if (first == NULL)
			first = sub;
	}
	json_object_set_new(rec, "submods", subs);
	if (first != NULL) {
		const json_t *ann = json_object_get(first,
		    "ear.veraison.annotated-evidence");
		const char *k;
		json_t *x;

		json_object_set(rec, "trust_vector", json_object_get(first,
		    "ear.trustworthiness-vector") != NULL ?
		    json_object_get(first, "ear.trustworthiness-vector") :
		    json_null());
		json_object_set(rec, "policy_id", json_object_get(first,
		    "ear.appraisal-policy-id") != NULL ?
		    json_object_get(first, "ear.appraisal-policy-id") :
		    json_null());
		/* The annotated evidence is keyed by the TEE name. */
		json_object_foreach((json_t *)ann, k, x)
			if (tee[0] == '\0' && verifier_tee_known(k)) {
				snprintf(tee, cap, "%s", k);
				break;
			}
	}
	json_object_set_new(rec, "token", json_pack("{s:O?, s:O?, s:O?}",
	    "jti", json_object_get((json_t *)payload, "jti"), "exp",
	    json_object_get((json_t *)payload, "exp"), "iat",
	    json_object_get((json_t *)payload, "iat")));
	if (ear_text)
		json_object_del(rec, "ear");	/* the caller splices it */
	else if (plen <= ATTLOG_EAR_MAX)
		json_object_set_new(rec, "ear", json_pack("{s:O, s:O}",
		    "header", header, "payload", (json_t *)payload));
	else
		json_object_set_new(rec, "ear", json_pack("{s:O, s:n, s:I}",
		    "header", header, "payload", "dropped_bytes",
		    (json_int_t)plen));
}

/* Fill rec from the issued token (compact JWS text). */
static void
attlog_observe_from_token(json_t *rec, const char *tok, size_t len, char *tee,
    size_t cap, enum observe_verdict *v)
{
	struct error err;
	struct jws *j = jws_parse(tok, len, &err);
	char *payload;

	if (j == NULL) {
		json_object_set_new(rec, "reason", json_sprintf("issued token "
		    "does not decode: %s", err.msg));
		return;
	}
	payload = json_dumps(j->payload, JSON_COMPACT);
	attlog_observe_from_parts(rec, j->header, j->payload, payload != NULL ?
	    strlen(payload) : 0, 0, tee, cap, v);
	free(payload);
	jws_free(j);
}

void
attlog_end(struct attlog_obs *o, const struct http_request *req,
    const struct http_response *resp, enum observe_verdict *verdict,
    int *tee_index)
{
	enum observe_verdict v = OBSERVE_REFUSED;
	struct error err;
	char tee[32];
	json_t *rec;

	attlog_observe_current = NULL;
	snprintf(tee, sizeof(tee), "%s", o->input_tee[0] != '\0' ?
	    o->input_tee : o->tee);
	rec = json_pack("{s:s, s:s, s:n, s:n, s:n, s:n, s:n, s:n}", "endpoint",
	    o->endpoint, "source", o->source, "reason", "trust_vector",
	    "policy_id", "token", "ear", "claims");
	if (resp->status == 200 && o->token_claims != NULL) {
		/* The handler noted what it signed: nothing to decode. */
		v = OBSERVE_NONE;
		attlog_observe_from_parts(rec, o->token_header, o->token_claims,
		    o->token_plen, o->token_ear != NULL, tee, sizeof(tee), &v);
		json_object_set_new(rec, "reason", json_string(""));
	} else if (resp->status == 200) {
		json_t *b = NULL;
		const char *tok;
		size_t len;

		if (strcmp(o->endpoint, "/attestation") == 0) {
			tok = (const char *)resp->body.data;
			len = resp->body.len;
		} else {
			b = json_loadb((const char *)resp->body.data,
			    resp->body.len, 0, NULL);
			tok = json_string_value(json_object_get(b, "token"));
			len = tok != NULL ? strlen(tok) : 0;
		}
		v = OBSERVE_NONE;
		if (tok != NULL)
			attlog_observe_from_token(rec, tok, len, tee,
			    sizeof(tee), &v);
		json_decref(b);
		json_object_set_new(rec, "reason", json_string(""));
	} else {
		json_object_set_new(rec, "reason", attlog_observe_reason(resp));
		if (tee[0] == '\0' && strcmp(o->endpoint, "/attestation") == 0)
			attlog_observe_body_tee(req, tee, sizeof(tee));
		if (o->input != NULL) {
			char *s = json_dumps(o->input, JSON_COMPACT);

			if (s != NULL && strlen(s) <= ATTLOG_CLAIMS_MAX)
				json_object_set(rec, "claims", o->input);
			else
				json_object_set_new(rec, "claims_dropped_bytes",
				    json_integer(s != NULL ? (json_int_t)
				    strlen(s) : 0));
			free(s);
		}
	}
	json_object_set_new(rec, "tee", json_string(tee[0] != '\0' ? tee :
	    "unknown"));
	json_object_set_new(rec, "verdict",
	    json_string(observe_verdict_names[v]));
	json_object_set_new(rec, "latency_us", json_integer((json_int_t)
	    ((now_mono_ns() - o->start_ns) / 1000)));
	if (attlog_append(rec, resp->status == 200 && o->token_claims !=
	    NULL ? o->token_ear : NULL, &err) != 0)
		log_warnx("attestation log: %s", err.msg);
	free(o->token_ear);
	o->token_ear = NULL;
	json_decref(rec);
	json_decref(o->input);
	o->input = NULL;
	json_decref(o->token_header);
	json_decref(o->token_claims);
	o->token_header = o->token_claims = NULL;
	*verdict = v;
	*tee_index = observe_tee_index(tee);
}
