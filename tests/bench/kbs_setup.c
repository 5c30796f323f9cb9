/*
 * kbs_setup.c: kbsbench's bench resource (KBS_RESOURCE_PATH) through the
 * admin API, with a short-lived admin token made from --admin-key:
 * kbs_setup_resource POSTs (stores) or DELETEs it; 0, or -1 with err set
 * unless the server answered 200.
 */
#include <stdio.h>
#include <string.h>

#include "../../lib/admintoken.h"
#include "kbs.h"

/* Admin POST or DELETE of the bench resource. */
int
kbs_setup_resource(const struct kbs_options *o, const char *method,
    const uint8_t *data, size_t len, struct error *err)
{
	struct httpc *c = NULL;
	struct httpc_response resp;
	char *tok = NULL, *auth = NULL, what[128];
	const char *hdrs[3];
	int rc = -1;

	memset(&resp, 0, sizeof(resp));
	snprintf(what, sizeof(what), "%s /kbs/v0/resource/" KBS_RESOURCE_PATH,
	    method);
	if ((tok = admintoken_make(o->admin_key, "admin", KBS_ADMIN_TTL_S,
	    err)) == NULL)
		goto out;
	auth = xasprintf("Authorization: Bearer %s", tok);
	hdrs[0] = auth;
	hdrs[1] = "Content-Type: application/octet-stream";
	hdrs[2] = NULL;
	if ((c = httpc_new(o->url, o->cacert, KBS_REQ_TIMEOUT_S, err)) == NULL)
		goto out;
	if (httpc_request(c, method, "/kbs/v0/resource/" KBS_RESOURCE_PATH,
	    hdrs, data, len, &resp, err) == -1) {
		error_prefix(err, "%s", what);
		goto out;
	}
	if (resp.status != 200) {
		guest_problem(what, &resp, err);
		goto out;
	}
	rc = 0;
out:
	httpc_response_clear(&resp);
	httpc_free(c);
	secret_strfree(auth);
	secret_strfree(tok);
	return rc;
}
