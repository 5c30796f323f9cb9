/*
 * api_attestation.c: the attestation log (GET /api/v1/attestations,
 * GET /api/v1/attestations/{id}) and the dashboard's numbers
 * (GET /api/v1/stats), docs/api.md §7b, on top of attlog.c and stats.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	json_t *items;
	size_t limit;
	char *before = NULL, last[64] = "";
	int more;

	if (api_query_only(r, q) != 0 || api_page(r, &limit, &before) != 0)
		return;
	memset(&f, 0, sizeof(f));
	f.tee = api_query(r, "tee");
	f.source = api_query(r, "source");
	f.verdict = -1;
	if ((v = api_query(r, "verdict")) != NULL &&
	    (f.verdict = observe_verdict_index(v)) < 0) {
		free(before);
		api_problem(r, 400, "BadRequest", "verdict must be affirming, "
		    "warning, contraindicated, none or refused");
		return;
	}
	if (api_attestation_time(r, "since", &f.since) != 0 ||
	    api_attestation_time(r, "until", &f.until) != 0) {
		free(before);
		return;
	}
	if (attlog_list(before, limit, &f, &items, &more, &err) != 0) {
		free(before);
		api_internal(r, "reading the attestation log", &err);
		return;
	}
	free(before);
	if (json_array_size(items) > 0)
		snprintf(last, sizeof(last), "%s", json_string_value(
		    json_object_get(json_array_get(items,
		    json_array_size(items) - 1), "id")));
	api_page_reply(r, items, more, last);
}

void
api_attestation_get(struct api_req *r)
{
	struct error err;
	json_t *rec;
	int rc;

	if (api_query_only(r, NULL) != 0)
		return;
	rc = attlog_get(r->param[0], &rec, &err);
	if (rc == 1) {
		api_problem(r, 404, "NotFound", "no such attestation log entry "
		    "(it may have been dropped by the retention limits)");
		return;
	}
	if (rc != 0) {
		api_internal(r, "reading the attestation log", &err);
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
