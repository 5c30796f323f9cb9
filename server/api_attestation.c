/*
 * api_attestation.c: the attestation log (GET /api/v1/attestations,
 * GET /api/v1/attestations/{id}) and the dashboard's numbers
 * (GET /api/v1/stats), docs/api.md §7b, on top of attlog_read.c and
 * stats.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/b64.h"
#include "api.h"
#include "observe.h"

static int
api_attestation_time(struct api_req *r, const char *name, int64_t *t)
{
	const char *s = api_query(r, name);

	*t = 0;
	if (s != NULL && time_parse_rfc3339(s, t) != 0) {
		api_problem(r, 400, "BadRequest", "%s must be an RFC 3339 time "
		    "such as 2025-01-31T12:00:00Z", name);
		return -1;
	}
	return 0;
}

void
api_attestations_list(struct api_req *r)
{
	static const char *const q[] = { "limit", "cursor", "tee", "verdict",
	    "source", "since", "until", NULL };
	struct attlog_filter f;
	struct error err;
	const char *v;
	json_t *items, *problems, *cur = json_null();
	size_t limit;
	char *cursor = NULL, next[ATTLOG_CURSOR_MAX], *c;
	int rc;

	if (api_query_only(r, q) != 0 || api_page(r, &limit, &cursor) != 0)
		return;
	memset(&f, 0, sizeof(f));
	f.tee = api_query(r, "tee");
	f.source = api_query(r, "source");
	f.verdict = -1;
	if ((v = api_query(r, "verdict")) != NULL &&
	    (f.verdict = observe_verdict_index(v)) < 0) {
		free(cursor);
		api_problem(r, 400, "BadRequest", "verdict must be affirming, "
		    "warning, contraindicated, none or refused");
		return;
	}
	if (api_attestation_time(r, "since", &f.since) != 0 ||
	    api_attestation_time(r, "until", &f.until) != 0) {
		free(cursor);
		return;
	}
	rc = attlog_read_page(cursor, limit, &f, &items, next, &problems,
	    &err);
	free(cursor);
	if (rc == ATTLOG_BAD_CURSOR) {
		api_problem(r, 400, "BadRequest", "%s", err.msg);
		return;
	}
	if (rc != 0) {
		api_store_error(r, "reading the attestation log", rc, &err);
		return;
	}
	if (next[0] != '\0') {
		c = b64_encode(next, strlen(next), B64_URL_NOPAD);
		cur = json_string(c);
		free(c);
	}
	/* Rows that fail authentication are skipped and named, so an admin
	 * can find them (`trusteectl store check`). */
	if (json_array_size(problems) > 0)
		api_reply(r, 200, json_pack("{s:o, s:o, s:o}", "items", items,
		    "next_cursor", cur, "problems", problems));
	else {
		json_decref(problems);
		api_reply(r, 200, json_pack("{s:o, s:o}", "items", items,
		    "next_cursor", cur));
	}
}

void
api_attestation_get(struct api_req *r)
{
	struct error err;
	json_t *rec;
	int rc;

	if (api_query_only(r, NULL) != 0)
		return;
	rc = attlog_read_record(r->param[0], &rec, &err);
	if (rc == 1) {
		api_problem(r, 404, "NotFound", "no such attestation log entry "
		    "(it may have been dropped by the retention limits)");
		return;
	}
	if (rc != 0) {
		api_store_error(r, "reading the attestation log entry", rc,
		    &err);
		return;
	}
	api_reply(r, 200, rec);
}

void
api_stats(struct api_req *r)
{
	if (api_query_only(r, NULL) != 0)
		return;
	http_response_header(r->resp, "Cache-Control", "no-store");
	api_reply(r, 200, stats_json(r->ctx, now_unix()));
}
