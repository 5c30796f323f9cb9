#!/usr/bin/python3
"""
test_api.py: the native admin API under /api/v1/ (docs/api.md) and the
Trustee-compatible admin endpoints under /kbs/v0/ (policies, reference
values), black-box against trusteed --dev (and config-file servers for
the Trustee [admin] form).

Covers every route, pagination, the three built-in roles (auditor can read
but never write nor see a value), problem bodies, 404/405, health, audit,
token decode/verify, Lua policy uploads enforced for a guest, Rego and
broken Lua refused with 400, reference values via both APIs, and
regex-ACL authorization.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H                                       # noqa: E402
from harness import check                                 # noqa: E402
from jwcrypto import jwk as jjwk                          # noqa: E402

API = "/api/v1"

ALLOW_LUA = """-- test: allow everything of the resource plugin
return function(claims, request)
	if request.plugin ~= "resource" then
		return false, "only the resource plugin"
	end
	return true, "allowed by the test policy"
end
"""

DENY_LUA = """return function(claims, request)
	return false, "denied by the test policy"
end
"""

# A syntax error on line 3.
BAD_LUA = """return function(claims, request)
	local x = 1
	if x then return true, "x" end end end
end
"""

REGO = """package policy

default allow = false
"""


def names_line3(msg):
    """The compiler's message names line 3 (Lua's ":3:" or "line 3")."""
    return ":3:" in msg or "line 3" in msg


def tok(srv, role="admin", **kw):
    return H.admin_token(srv, role=role, **kw)


def call(srv, method, path, body=None, role="admin", token=None,
         headers=None, auth=True):
    hdrs = dict(headers or {})
    if auth:
        hdrs["Authorization"] = "Bearer " + (token or tok(srv, role))
    return srv.request(method, path, body=body, headers=hdrs)


def ok(r, status=200):
    H.expect_status(r, status)
    if status == 204:
        check(r.body == b"", "204 with a body %r" % r.body[:100])
        return None
    ctype = r.header("Content-Type") or ""
    check(ctype.startswith("application/json"), "Content-Type %r" % ctype)
    return r.json()


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def guest_get(srv, path):
    """A fresh attested guest fetching resource path: the response."""
    g = H.PyGuest(srv).handshake()
    return g, g.get("resource/" + path)


def sample_envelope(values):
    payload = base64.b64encode(json.dumps(values).encode()).decode()
    return {"version": "0.1.0", "type": "sample", "payload": payload}


def policy_engine_ready(srv):
    r = call(srv, "GET", API + "/health")
    return r.json()["components"]["policy"]["ok"]


# ------------------------------------------------------------ routing

def test_unknown_routes_404(ctx):
    srv = ctx.shared
    for p in ("/api/v1", "/api/v1/", "/api/v1/nothing", "/api/v1/resources/",
              "/api/v1/resources/a/b", "/api/v1/resources/a/b/c/d",
              "/api/v1/resources//b/c", "/api/v1/policies/x",
              "/api/v2/health", "/api/v1/audit/x"):
        H.expect_problem(call(srv, "GET", p), 404, "InvalidRequestPath")
    # Routing comes first: no token needed to learn a path does not exist.
    H.expect_problem(call(srv, "GET", "/api/v1/nothing", auth=False), 404,
                     "InvalidRequestPath")


def test_wrong_method_405_with_allow(ctx):
    srv = ctx.shared
    cases = [("POST", "/api/v1/health", "GET, HEAD"),
             ("DELETE", "/api/v1/resources", "GET, HEAD"),
             ("POST", "/api/v1/resources/a/b/c", "GET, HEAD, PUT, DELETE"),
             ("GET", "/api/v1/tokens/verify", "POST"),
             ("PUT", "/api/v1/reference-values", "GET, HEAD, POST"),
             ("GET", "/api/v1/policies/resource/resource-policy/test", "POST")]
    for m, p, allow in cases:
        r = call(srv, m, p)
        H.expect_problem(r, 405, "MethodNotAllowed")
        check(r.header("Allow") == allow, "%s %s: Allow %r, want %r"
              % (m, p, r.header("Allow"), allow))


def test_head_like_get(ctx):
    r = call(ctx.shared, "HEAD", API + "/whoami")
    H.expect_status(r, 200)
    check(r.body == b"", "HEAD with a body")


def test_unauthenticated_401(ctx):
    srv = ctx.shared
    r = call(srv, "GET", API + "/resources", auth=False)
    H.expect_problem(r, 401, "Unauthenticated", "missing bearer token")
    check(r.header("WWW-Authenticate") == "Bearer", "no WWW-Authenticate")
    other = jjwk.JWK.generate(kty="OKP", crv="Ed25519")
    r = call(srv, "GET", API + "/resources",
             token=H.mint_jwt(other, H.admin_claims()))
    H.expect_problem(r, 401, "Unauthenticated", "trusted")
    key = H.load_pem_key(srv.admin_key)
    r = call(srv, "GET", API + "/resources",
             token=H.mint_jwt(key, H.admin_claims(ttl=-3600)))
    H.expect_problem(r, 401, "Unauthenticated", "expired")
    c = H.admin_claims()
    del c["role"]
    r = call(srv, "GET", API + "/resources", token=H.mint_jwt(key, c))
    H.expect_problem(r, 401, "Unauthenticated", "role")
    # An EAR token is not an admin token.
    g = H.PyGuest(srv).handshake()
    H.expect_problem(call(srv, "GET", API + "/whoami", token=g.token), 401,
                     "Unauthenticated")


def test_unknown_role_403_but_whoami(ctx):
    srv = ctx.shared
    H.expect_problem(call(srv, "GET", API + "/resources", role="guest"), 403,
                     "Forbidden", "role 'guest'")
    H.expect_problem(call(srv, "GET", API + "/health", role="Admin"), 403,
                     "Forbidden")
    w = ok(call(srv, "GET", API + "/whoami", role="guest"))
    check(w["role"] == "guest", "whoami %r" % w)


def test_whoami(ctx):
    srv = ctx.shared
    t = H.mint_jwt(H.load_pem_key(srv.admin_key),
                   H.admin_claims(role="operator", sub="alice"))
    w = ok(call(srv, "GET", API + "/whoami", token=t))
    check(w["actor"] == "alice (operator)" and w["sub"] == "alice"
          and w["role"] == "operator" and w["mode"] == "bearer_jwt"
          and isinstance(w["exp"], int), "whoami %r" % w)
    w = ok(call(srv, "GET", API + "/whoami"))
    check(w["sub"] is None and w["actor"] == "(admin)", "whoami %r" % w)
    H.expect_problem(call(srv, "GET", API + "/whoami?x=1"), 400, "BadRequest",
                     "unknown query parameter")


def test_health(ctx):
    srv = ctx.shared
    for role in ("admin", "operator", "auditor"):
        r = call(srv, "GET", API + "/health", role=role)
        check(r.status in (200, 503), "health status %d" % r.status)
        h = r.json()
        check(h["status"] == ("ok" if r.status == 200 else "degraded"),
              "status %r vs %d" % (h["status"], r.status))
        c = h["components"]
        check(c["store"]["ok"] is True and c["store"]["type"] ==
              ("mariadb" if H.on_mariadb() else "sqlite"),
              "store %r" % c["store"])
        check(c["sealer"]["type"] == "file" and "warning" in c["sealer"],
              "sealer %r" % c["sealer"])
        check("sample" in c["verifiers"]["tees"], "tees %r" % c["verifiers"])
        check(c["admin"]["mode"] == "bearer_jwt", "admin %r" % c["admin"])
        check(isinstance(c["policy"]["ok"], bool), "policy %r" % c["policy"])
        if r.status == 200:
            check(all(v["ok"] for v in c.values()), "200 with a failing "
                  "component: %r" % c)
        else:
            check(not all(v["ok"] for v in c.values()), "503 without a "
                  "failing component: %r" % c)
    H.expect_problem(call(srv, "GET", API + "/health", auth=False), 401,
                     "Unauthenticated")


# ------------------------------------------------------------ resources

def test_resource_put_get_versions_delete(ctx):
    srv = ctx.shared
    p = API + "/resources/apirepo/key/one"
    H.expect_problem(call(srv, "GET", p), 404, "NotFound")
    t = H.mint_jwt(H.load_pem_key(srv.admin_key),
                   H.admin_claims(role="operator", sub="ops-bot"))
    m = ok(call(srv, "PUT", p, body=b"first-secret", token=t,
                headers={"Content-Type": "application/octet-stream"}), 201)
    check(m["name"] == "apirepo/key/one" and m["version"] == 1
          and m["size"] == 12 and m["created_by"] == "ops-bot (operator)"
          and m["content_type"] == "application/octet-stream"
          and m["versions"] == 1, "metadata %r" % m)
    check("value" not in m and "sha256" not in m, "leaks %r" % m)
    m = ok(call(srv, "PUT", p, body={"value": "second"}))
    check(m["version"] == 2 and m["size"] == 6, "metadata %r" % m)
    m = ok(call(srv, "PUT", p, body={"value_base64": base64.b64encode(
        b"\x00\xffthird").decode(), "content_type": "application/x-key"}))
    check(m["version"] == 3 and m["size"] == 7
          and m["content_type"] == "application/x-key", "metadata %r" % m)
    m = ok(call(srv, "GET", p, role="auditor"))
    check(m["version"] == 3 and m["versions"] == 3, "metadata %r" % m)
    g, r = guest_get(srv, "apirepo/key/one")
    check(g.decrypt(r) == b"\x00\xffthird", "guest got the wrong version")
    v = ok(call(srv, "GET", p + "/versions", role="auditor"))
    check([x["version"] for x in v["items"]] == [3, 2, 1]
          and v["next_cursor"] is None, "versions %r" % v)
    check([x["active"] for x in v["items"]] == [True, False, False],
          "active flags %r" % v)
    for x in v["items"]:
        check(set(x) == {"version", "size", "created", "created_by",
                         "content_type", "active"}, "version keys %r" % x)
    m = ok(call(srv, "POST", p + "/restore", body={"version": 1}))
    check(m["version"] == 4 and m["size"] == 12, "restored %r" % m)
    g, r = guest_get(srv, "apirepo/key/one")
    check(g.decrypt(r) == b"first-secret", "restore not served")
    H.expect_problem(call(srv, "POST", p + "/restore", body={"version": 99}),
                     404, "NotFound", "no kept version 99")
    H.expect_problem(call(srv, "POST", p + "/restore", body={"version": "1"}),
                     400, "BadRequest", "version")
    ok(call(srv, "DELETE", p), 204)
    H.expect_problem(call(srv, "DELETE", p), 404, "NotFound")
    H.expect_problem(call(srv, "GET", p + "/versions"), 404, "NotFound")
    _, r = guest_get(srv, "apirepo/key/one")
    H.expect_problem(r, 401, "PluginInternalError", "not found")


def test_resource_value_never_returned(ctx):
    srv = ctx.shared
    secret = b"VALUE-NEVER-SHOWN-0123456789"
    p = API + "/resources/apirepo/key/hidden"
    ok(call(srv, "PUT", p, body=secret), 201)
    for role in ("admin", "operator", "auditor"):
        for path in (p, p + "/versions", API + "/resources",
                     API + "/audit?limit=1000"):
            r = call(srv, "GET", path, role=role)
            if r.status == 403:
                continue
            check(secret not in r.body and
                  base64.b64encode(secret) not in r.body,
                  "%s sees the value at %s" % (role, path))


def test_resource_bounded_versions(ctx):
    srv = ctx.shared
    p = API + "/resources/apirepo/key/many"
    for i in range(1, 13):
        ok(call(srv, "PUT", p, body=("v%d" % i).encode()), 201 if i == 1 else 200)
    v = ok(call(srv, "GET", p + "/versions"))
    check([x["version"] for x in v["items"]] == list(range(12, 2, -1)),
          "kept %r" % [x["version"] for x in v["items"]])
    H.expect_problem(call(srv, "POST", p + "/restore", body={"version": 2}),
                     404, "NotFound")


def test_resource_bad_requests(ctx):
    srv = ctx.shared
    base = API + "/resources/apirepo/key/bad"
    H.expect_problem(call(srv, "PUT", API + "/resources/.x/key/bad", body=b"x"),
                     400, "BadRequest", "invalid resource name")
    H.expect_problem(call(srv, "PUT", API + "/resources/a%2Fb/key/bad", body=b"x"),
                     400, "BadRequest")
    H.expect_problem(call(srv, "PUT", base, body={"value": "a", "value_base64": "YQ=="}),
                     400, "BadRequest", "exactly one")
    H.expect_problem(call(srv, "PUT", base, body={"value": 5}), 400,
                     "BadRequest", "'value'")
    H.expect_problem(call(srv, "PUT", base, body={"value_base64": "not base64!"}),
                     400, "BadRequest", "value_base64")
    H.expect_problem(call(srv, "PUT", base, body={"value": "a", "colour": 1}),
                     400, "BadRequest", "unknown member 'colour'")
    H.expect_problem(call(srv, "PUT", base, body=b"{not json",
                          headers={"Content-Type": "application/json"}),
                     400, "BadRequest", "invalid JSON")
    H.expect_problem(call(srv, "PUT", base, body=b'{"value":"a","value":"b"}',
                          headers={"Content-Type": "application/json"}),
                     400, "BadRequest")
    H.expect_problem(call(srv, "POST", base + "/restore", body=b"1",
                          headers={"Content-Type": "text/plain"}),
                     415, "UnsupportedMediaType")
    H.expect_problem(call(srv, "PUT", base + "?x=1", body=b"x"), 400,
                     "BadRequest", "unknown query parameter")
    H.expect_problem(call(srv, "GET", base), 404, "NotFound")


def test_resources_pagination(ctx):
    srv = ctx.shared
    names = ["pagerepo/k/%02d" % i for i in range(7)]
    for n in names:
        ok(call(srv, "PUT", API + "/resources/" + n, body=b"x"), 201)
    seen, cursor, pages = [], None, 0
    while True:
        q = "?prefix=pagerepo/&limit=3" + ("&cursor=" + cursor if cursor else "")
        page = ok(call(srv, "GET", API + "/resources" + q, role="auditor"))
        check(len(page["items"]) <= 3, "page too long")
        seen += [x["name"] for x in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        check(pages < 10, "pagination does not end")
    check(seen == names and pages == 3, "pages %d, names %r" % (pages, seen))
    everything = ok(call(srv, "GET", API + "/resources?limit=1000"))
    check([x["name"] for x in everything["items"]] ==
          sorted(x["name"] for x in everything["items"]), "not sorted by name")
    for q in ("limit=0", "limit=1001", "limit=x", "limit=-1", "cursor=%25%25",
              "cursor=", "cursor=AA", "bogus=1", "limit=1&limit=2"):
        H.expect_problem(call(srv, "GET", API + "/resources?" + q), 400,
                         "BadRequest")


def test_kbs_resource_post_versions_and_audit(ctx):
    """The Trustee-compatible POST creates versions too, and is audited."""
    srv = ctx.shared
    t = H.mint_jwt(H.load_pem_key(srv.admin_key),
                   H.admin_claims(sub="kbs-client"))
    for data in (b"one", b"two"):
        H.expect_status(H.admin_put(srv, "kbsrepo/key/v", data, token=t), 200)
    v = ok(call(srv, "GET", API + "/resources/kbsrepo/key/v/versions"))
    check([x["version"] for x in v["items"]] == [2, 1]
          and v["items"][0]["created_by"] == "kbs-client (admin)", "versions %r" % v)
    a = ok(call(srv, "GET", API + "/audit?action=resource.put&actor=kbs-client%20(admin)"))
    check(len(a["items"]) >= 2 and all(x["target"] == "kbsrepo/key/v"
                                      for x in a["items"]), "audit %r" % a)
    H.expect_status(H.admin_delete(srv, "kbsrepo/key/v"), 200)
    H.expect_problem(call(srv, "GET", API + "/resources/kbsrepo/key/v"), 404,
                     "NotFound")


# ------------------------------------------------------------ roles

def test_auditor_is_read_only(ctx):
    srv = ctx.shared
    ok(call(srv, "PUT", API + "/resources/rolerepo/key/a", body=b"x"), 201)
    writes = [("PUT", API + "/resources/rolerepo/key/a", b"y"),
              ("DELETE", API + "/resources/rolerepo/key/a", None),
              ("POST", API + "/resources/rolerepo/key/a/restore", {"version": 1}),
              ("PUT", API + "/policies/resource/resource-policy", {"policy": ALLOW_LUA}),
              ("POST", API + "/policies/resource/resource-policy/restore", {"version": 1}),
              ("POST", API + "/policies/resource/resource-policy/test", {"input": {}}),
              ("POST", API + "/reference-values", sample_envelope({"x": [1]})),
              ("PUT", API + "/reference-values/x", {"value": 1}),
              ("POST", API + "/reference-values/x/revoke", {})]
    for m, p, b in writes:
        H.expect_problem(call(srv, m, p, body=b, role="auditor"), 403,
                         "Forbidden", "role 'auditor'")
    m = ok(call(srv, "GET", API + "/resources/rolerepo/key/a", role="admin"))
    check(m["version"] == 1, "an auditor changed something: %r" % m)
    for p in (API + "/resources", API + "/resources/rolerepo/key/a",
              API + "/resources/rolerepo/key/a/versions", API + "/audit",
              API + "/reference-values", API + "/whoami", API + "/health"):
        r = call(srv, "GET", p, role="auditor")
        check(r.status in (200, 503) or (r.status == 500 and "policies" in p),
              "auditor GET %s: %d %r" % (p, r.status, r.body[:200]))
    # Refusals are audited (as admin.denied).
    a = ok(call(srv, "GET", API + "/audit?action=admin.denied", role="auditor"))
    check(any(x["actor"] == "(auditor)" for x in a["items"]), "no admin.denied")


def test_operator_cannot_read_audit(ctx):
    srv = ctx.shared
    H.expect_problem(call(srv, "GET", API + "/audit", role="operator"), 403,
                     "Forbidden")
    ok(call(srv, "PUT", API + "/resources/rolerepo/key/op", body=b"x",
            role="operator"), 201)
    ok(call(srv, "DELETE", API + "/resources/rolerepo/key/op", role="operator"),
       204)


# ------------------------------------------------------------ audit

def test_audit_list_filters_pages(ctx):
    srv = ctx.shared
    t = H.mint_jwt(H.load_pem_key(srv.admin_key),
                   H.admin_claims(sub="auditme"))
    for i in range(5):
        ok(call(srv, "PUT", API + "/resources/auditrepo/key/%d" % i,
                body=b"s3cr3t-audit-value", token=t), 201)
    a = ok(call(srv, "GET", API + "/audit?actor=auditme%20(admin)&limit=2",
                role="auditor"))
    check(len(a["items"]) == 2 and a["next_cursor"], "page %r" % a)
    first = a["items"]
    check(first[0]["target"] == "auditrepo/key/4"
          and first[1]["target"] == "auditrepo/key/3", "newest first? %r" % first)
    for x in first:
        check(set(x) == {"id", "time", "actor", "action", "target", "outcome",
                         "reason"}, "record keys %r" % x)
        check(x["action"] == "resource.put" and x["outcome"] == "ok", "%r" % x)
    b = ok(call(srv, "GET", API + "/audit?actor=auditme%20(admin)&limit=10&cursor="
                + a["next_cursor"]))
    check([x["target"] for x in b["items"]] ==
          ["auditrepo/key/2", "auditrepo/key/1", "auditrepo/key/0"]
          and b["next_cursor"] is None, "second page %r" % b)
    check(first[1]["id"] > b["items"][0]["id"], "ids not time-ordered")
    c = ok(call(srv, "GET", API + "/audit?since=2000-01-01T00:00:00Z&until="
                "2000-01-02T00:00:00Z"))
    check(c["items"] == [], "time filter %r" % c)
    H.expect_problem(call(srv, "GET", API + "/audit?since=yesterday"), 400,
                     "BadRequest", "RFC 3339")
    everything = ok(call(srv, "GET", API + "/audit?limit=1000"))
    check(b"s3cr3t-audit-value" not in json.dumps(everything).encode(),
          "a value in the audit trail")


def test_audit_records_release_decisions(ctx):
    srv = ctx.shared
    ok(call(srv, "PUT", API + "/resources/auditrepo/key/rel", body=b"x"), 201)
    g, r = guest_get(srv, "auditrepo/key/rel")
    H.expect_status(r, 200)
    a = ok(call(srv, "GET", API + "/audit?action=resource.get&limit=5"))
    check(any(x["target"] == "auditrepo/key/rel" and x["outcome"] == "allowed"
              and x["actor"].startswith("guest session=") for x in a["items"]),
          "release not audited: %r" % a["items"])


# ------------------------------------------------------------ tokens

def test_tokens_decode_verify(ctx):
    srv = ctx.shared
    g = H.PyGuest(srv).handshake()
    for role in ("admin", "auditor"):
        v = ok(call(srv, "POST", API + "/tokens/verify", body={"token": g.token},
                    role=role))
        check(v["valid"] is True and "submods" in v["claims"], "verify %r" % v)
    d = ok(call(srv, "POST", API + "/tokens/decode", body={"token": g.token}))
    check(d["verified"] is True and d["header"]["alg"] == "ES256"
          and "submods" in d["claims"] and "error" not in d, "decode %r" % d)
    # A foreign (admin) JWT decodes but does not verify.
    admin = tok(srv)
    d = ok(call(srv, "POST", API + "/tokens/decode", body={"token": admin}))
    check(d["verified"] is False and d["claims"]["role"] == "admin"
          and d["error"], "decode %r" % d)
    v = ok(call(srv, "POST", API + "/tokens/verify", body={"token": admin}))
    check(v["valid"] is False and v["error"] and "claims" not in v, "verify %r" % v)
    # Tampered payload.
    h, c, parts = H.jwt_parts(g.token)
    c["exp"] = c["exp"] + 3600
    forged = ".".join([parts[0], b64url(json.dumps(c)), parts[2]])
    v = ok(call(srv, "POST", API + "/tokens/verify", body={"token": forged}))
    check(v["valid"] is False, "forged token verified")
    for bad in ({"token": "abc"}, {"token": ""}, {}, {"token": 5},
                {"token": g.token, "x": 1}):
        H.expect_problem(call(srv, "POST", API + "/tokens/decode", body=bad),
                         400, "BadRequest")
    H.expect_problem(call(srv, "POST", API + "/tokens/verify", body={}), 400,
                     "BadRequest")


# ------------------------------------------------------------ policies

def test_policies_native(ctx):
    srv = ctx.shared
    if not policy_engine_ready(srv):
        raise H.TestFailure("policy engine not ready (health); server/policy*.c "
                            "not implemented yet?")
    lst = ok(call(srv, "GET", API + "/policies", role="auditor"))
    ids = [(x["kind"], x["id"]) for x in lst["items"]]
    check(("resource", "resource-policy") in ids, "policies %r" % ids)
    check(("attestation", "default_cpu") in ids, "policies %r" % ids)
    check(ids == sorted(ids), "not sorted %r" % ids)
    only = ok(call(srv, "GET", API + "/policies?kind=resource"))
    check(all(x["kind"] == "resource" for x in only["items"]), "kind filter")
    page = ok(call(srv, "GET", API + "/policies?limit=1"))
    check(len(page["items"]) == 1 and page["next_cursor"], "limit %r" % page)
    cur = ok(call(srv, "GET", API + "/policies/resource/resource-policy",
                  role="auditor"))
    check(isinstance(cur["policy"], str) and cur["active"] is True
          and cur["version"] >= 1, "policy %r" % cur)
    put = ok(call(srv, "PUT", API + "/policies/resource/resource-policy",
                  body={"policy": ALLOW_LUA, "type": "lua"}))
    check(put["version"] > cur["version"], "put %r" % put)
    got = ok(call(srv, "GET", API + "/policies/resource/resource-policy"))
    check(got["policy"] == ALLOW_LUA and got["version"] == put["version"],
          "stored text differs")
    raw = ok(call(srv, "PUT", API + "/policies/resource/resource-policy",
                  body=ALLOW_LUA + "-- raw\n",
                  headers={"Content-Type": "text/plain"}))
    check(raw["version"] == put["version"] + 1, "raw put %r" % raw)
    old = ok(call(srv, "GET", API + "/policies/resource/resource-policy?version=%d"
                  % cur["version"]))
    check(old["policy"] == cur["policy"] and old["active"] is False, "old %r" % old)
    v = ok(call(srv, "GET", API + "/policies/resource/resource-policy/versions"))
    vs = [x["version"] for x in v["items"]]
    check(vs == sorted(vs, reverse=True) and vs[0] == raw["version"]
          and v["items"][0]["active"] is True, "versions %r" % v)
    rs = ok(call(srv, "POST", API + "/policies/resource/resource-policy/restore",
                 body={"version": put["version"]}))
    check(rs["version"] == raw["version"] + 1, "restore %r" % rs)
    got = ok(call(srv, "GET", API + "/policies/resource/resource-policy"))
    check(got["policy"] == ALLOW_LUA, "restore did not restore the text")
    # Refusals: compile error with its line, Rego, other ids, kinds, types.
    d = H.expect_problem(call(srv, "PUT", API + "/policies/resource/resource-policy",
                              body={"policy": BAD_LUA}), 400, "PolicyInvalid")
    check(names_line3(d), "no line number in %r" % d)
    H.expect_problem(call(srv, "PUT", API + "/policies/resource/resource-policy",
                          body={"policy": REGO}), 400, "PolicyInvalid", "Lua")
    H.expect_problem(call(srv, "PUT", API + "/policies/resource/resource-policy",
                          body={"policy": ALLOW_LUA, "type": "rego"}), 400,
                     "PolicyInvalid", "Lua")
    H.expect_problem(call(srv, "PUT", API + "/policies/resource/other",
                          body={"policy": ALLOW_LUA}), 400, "PolicyInvalid",
                     "resource-policy")
    H.expect_problem(call(srv, "PUT", API + "/policies/resource/resource-policy",
                          body=ALLOW_LUA, headers={"Content-Type": "image/png"}),
                     415, "UnsupportedMediaType")
    H.expect_problem(call(srv, "GET", API + "/policies/nokind/x"), 404, "NotFound")
    H.expect_problem(call(srv, "GET", API + "/policies/attestation/.x"), 400,
                     "BadRequest")
    H.expect_problem(call(srv, "GET", API + "/policies/attestation/nosuch"), 404,
                     "NotFound")
    H.expect_problem(call(srv, "GET", API + "/policies/attestation/default_cpu"
                          "?version=99999"), 404, "NotFound")
    H.expect_problem(call(srv, "POST", API + "/policies/attestation/nosuch/restore",
                          body={"version": 1}), 404, "NotFound")
    got = ok(call(srv, "GET", API + "/policies/resource/resource-policy"))
    check(got["policy"] == ALLOW_LUA, "a refused PUT changed the policy")


def test_policy_dry_run(ctx):
    srv = ctx.shared
    if not policy_engine_ready(srv):
        raise H.TestFailure("policy engine not ready")
    g = H.PyGuest(srv).handshake()
    claims = H.jwt_parts(g.token)[1]
    req = {"plugin": "resource", "resource-path": ["a", "b", "c"], "query": {},
           "method": "GET"}
    res = ok(call(srv, "POST", API + "/policies/resource/resource-policy/test",
                  body={"input": {"claims": claims, "request": req},
                        "policy": DENY_LUA}, role="operator"))
    check(res["result"] is False and "denied by the test policy" in res["reason"],
          "dry run %r" % res)
    res = ok(call(srv, "POST", API + "/policies/resource/resource-policy/test",
                  body={"input": {"claims": claims, "request": req},
                        "policy": BAD_LUA}))
    check(res.get("error") and names_line3(res["error"]), "compile error %r" % res)
    ann = claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"]
    res = ok(call(srv, "POST", API + "/policies/attestation/default_cpu/test",
                  body={"input": ann}))
    check(isinstance(res["result"], dict) and "status" in res, "attestation %r" % res)
    H.expect_problem(call(srv, "POST", API + "/policies/resource/resource-policy/test",
                          body={"policy": DENY_LUA}), 400, "BadRequest", "input")
    H.expect_problem(call(srv, "POST", API + "/policies/resource/resource-policy/test",
                          body={"input": {}, "policy": DENY_LUA, "version": 1}),
                     400, "BadRequest", "not both")
    H.expect_problem(call(srv, "POST", API + "/policies/resource/resource-policy/test",
                          body={"input": {}, "policy": REGO}), 400, "PolicyInvalid")
    H.expect_problem(call(srv, "POST", API + "/policies/attestation/nosuch/test",
                          body={"input": {}}), 404, "NotFound")


def test_kbs_compat_resource_policy_enforced(ctx):
    srv = ctx.shared
    if not policy_engine_ready(srv):
        raise H.TestFailure("policy engine not ready")
    ok(call(srv, "PUT", API + "/resources/compat/key/x", body=b"compat-secret"), 201)
    t = tok(srv)
    hdr = {"Authorization": "Bearer " + t}

    def upload(text, **extra):
        body = {"policy": b64url(text)}
        body.update(extra)
        return srv.request("POST", "/kbs/v0/resource-policy", body=body,
                           headers=hdr)

    H.expect_status(upload(DENY_LUA), 200)
    _, r = guest_get(srv, "compat/key/x")
    H.expect_problem(r, 401, "PolicyDeny", "denied by the test policy")
    # Padded base64url, explicit type "lua": tolerated.
    padded = base64.urlsafe_b64encode(ALLOW_LUA.encode()).decode()
    H.expect_status(srv.request("POST", "/kbs/v0/resource-policy",
                                body={"policy": padded, "type": "lua"},
                                headers=hdr), 200)
    g, r = guest_get(srv, "compat/key/x")
    check(g.decrypt(r) == b"compat-secret", "allow policy not enforced")
    # Rego (by type or by look) and broken Lua: 400, nothing changes.
    H.expect_problem(upload(REGO), 400, "PolicyInvalid", "Lua")
    H.expect_problem(upload(ALLOW_LUA, type="rego"), 400, "PolicyInvalid", "Lua")
    d = H.expect_problem(upload(BAD_LUA), 400, "PolicyInvalid")
    check(names_line3(d), "no line number in %r" % d)
    H.expect_problem(srv.request("POST", "/kbs/v0/resource-policy",
                                 body={"policy": "@@@"}, headers=hdr),
                     401, "ParsePolicyError")
    H.expect_problem(srv.request("POST", "/kbs/v0/resource-policy",
                                 body={"nopolicy": 1}, headers=hdr),
                     401, "ParsePolicyError")
    g, r = guest_get(srv, "compat/key/x")
    check(g.decrypt(r) == b"compat-secret", "a refused upload changed the policy")
    r = srv.request("GET", "/kbs/v0/resource-policy", headers=hdr)
    check(r.status == 200 and r.json() == ["resource-policy"], "list %r" % r.body)
    # Admin only; unauthenticated and other roles refused as Trustee does.
    H.expect_problem(srv.request("POST", "/kbs/v0/resource-policy",
                                 body={"policy": b64url(DENY_LUA)}),
                     401, "AdminAuthAccess")
    H.expect_problem(srv.request("POST", "/kbs/v0/resource-policy",
                                 body={"policy": b64url(DENY_LUA)},
                                 headers={"Authorization": "Bearer " +
                                          tok(srv, "operator")}),
                     401, "AdminAuthAccess", "operator")
    H.expect_problem(srv.request("PUT", "/kbs/v0/resource-policy", headers=hdr),
                     404, "PluginNotFound")
    a = ok(call(srv, "GET", API + "/audit?action=policy.put&limit=3"))
    check(a["items"] and a["items"][0]["target"] == "resource/resource-policy",
          "not audited: %r" % a)


def test_kbs_compat_attestation_policy(ctx):
    srv = ctx.shared
    if not policy_engine_ready(srv):
        raise H.TestFailure("policy engine not ready")
    hdr = {"Authorization": "Bearer " + tok(srv)}
    cur = ok(call(srv, "GET", API + "/policies/attestation/default_cpu"))
    r = srv.request("POST", "/kbs/v0/attestation-policy",
                    body={"policy_id": "default_cpu", "type": "lua",
                          "policy": b64url(cur["policy"])}, headers=hdr)
    H.expect_status(r, 200)
    now = ok(call(srv, "GET", API + "/policies/attestation/default_cpu"))
    check(now["version"] == cur["version"] + 1, "no new version %r" % now)
    H.PyGuest(srv).handshake()         # still attests
    H.expect_problem(srv.request("POST", "/kbs/v0/attestation-policy",
                                 body={"policy_id": "default_cpu",
                                       "policy": b64url(REGO)}, headers=hdr),
                     400, "PolicyInvalid", "Lua")
    d = H.expect_problem(srv.request("POST", "/kbs/v0/attestation-policy",
                                     body={"policy_id": "default_cpu",
                                           "policy": b64url(BAD_LUA)}, headers=hdr),
                         400, "PolicyInvalid")
    check(names_line3(d), "no line number in %r" % d)
    H.expect_problem(srv.request("POST", "/kbs/v0/attestation-policy",
                                 body={"policy": b64url(ALLOW_LUA)}, headers=hdr),
                     401, "AttestationError", "policy_id")
    after = ok(call(srv, "GET", API + "/policies/attestation/default_cpu"))
    check(after["version"] == now["version"], "a refused upload stored a version")


# ------------------------------------------------------------ reference values

def test_reference_values_native(ctx):
    srv = ctx.shared
    name = "test/measurement one"
    enc = urllib.parse.quote(name, safe="")
    r = call(srv, "PUT", API + "/reference-values/" + enc,
             body={"value": ["aa", "bb"], "expiration": "2099-01-01T00:00:00Z"})
    rec = ok(r, 201)
    check(rec["name"] == name and rec["value"] == ["aa", "bb"]
          and rec["state"] == "valid" and rec["version"] == 1, "record %r" % rec)
    rec = ok(call(srv, "PUT", API + "/reference-values/" + enc,
                  body={"value": ["cc"]}))
    check(rec["version"] == 2 and rec["value"] == ["cc"], "replace %r" % rec)
    got = ok(call(srv, "GET", API + "/reference-values/" + enc, role="auditor"))
    check(got["value"] == ["cc"], "get %r" % got)
    lst = ok(call(srv, "GET", API + "/reference-values?state=valid"))
    check(any(x["name"] == name for x in lst["items"]), "list %r" % lst)
    rv = ok(call(srv, "POST", API + "/reference-values/" + enc + "/revoke",
                 body={"reason": "compromised"}))
    check(rv["state"] == "revoked" and rv["revoked"]["reason"] == "compromised",
          "revoke %r" % rv)
    ok(call(srv, "POST", API + "/reference-values/" + enc + "/revoke"))
    lst = ok(call(srv, "GET", API + "/reference-values?state=revoked"))
    check(any(x["name"] == name for x in lst["items"]), "revoked list %r" % lst)
    H.expect_problem(call(srv, "GET", API + "/reference-values/nosuch"), 404,
                     "NotFound")
    H.expect_problem(call(srv, "POST", API + "/reference-values/nosuch/revoke"),
                     404, "NotFound")
    H.expect_problem(call(srv, "PUT", API + "/reference-values/x",
                          body={"value": 1, "expiration": "2001-01-01T00:00:00Z"}),
                     400, "ReferenceValueInvalid", "past")
    H.expect_problem(call(srv, "PUT", API + "/reference-values/x",
                          body={"expiration": "2099-01-01T00:00:00Z"}),
                     400, "BadRequest", "value")
    H.expect_problem(call(srv, "PUT", API + "/reference-values/a%01b",
                          body={"value": 1}), 400, "BadRequest")
    H.expect_problem(call(srv, "GET", API + "/reference-values?state=odd"), 400,
                     "BadRequest")


def test_reference_values_import_and_pages(ctx):
    srv = ctx.shared
    vals = {"imp_%02d" % i: ["v%d" % i] for i in range(5)}
    res = ok(call(srv, "POST", API + "/reference-values", body=sample_envelope(vals)))
    check(sorted(res["names"]) == sorted(vals), "import %r" % res)
    seen, cursor = [], None
    for _ in range(10):
        q = "?limit=2" + ("&cursor=" + cursor if cursor else "")
        page = ok(call(srv, "GET", API + "/reference-values" + q))
        seen += [x["name"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    check(all(n in seen for n in vals) and seen == sorted(seen), "pages %r" % seen)
    H.expect_problem(call(srv, "POST", API + "/reference-values",
                          body={"version": "0.1.0", "type": "nope", "payload": ""}),
                     400, "ReferenceValueInvalid")


def test_kbs_compat_reference_value(ctx):
    srv = ctx.shared
    hdr = {"Authorization": "Bearer " + tok(srv)}
    r = srv.request("POST", "/kbs/v0/reference-value",
                    body=sample_envelope({"compat_rv/a": ["x1"]}), headers=hdr)
    H.expect_status(r, 200)
    check(r.body == b"", "body %r" % r.body)
    r = srv.request("GET", "/kbs/v0/reference-value/compat_rv/a", headers=hdr)
    H.expect_status(r, 200)
    # Trustee's QueryReferenceValue answer: the value only
    check(r.json() == ["x1"], "value %r" % r.body)
    # a revoked value is what policies would no longer see: not returned
    H.expect_status(srv.request("POST", API + "/reference-values/compat_rv%2Fa/revoke",
                                body={"reason": "compat test"}, headers=hdr), 200)
    H.expect_problem(srv.request("GET", "/kbs/v0/reference-value/compat_rv/a",
                                 headers=hdr), 401, "RvpsError", "revoked")
    H.expect_problem(srv.request("GET", "/kbs/v0/reference-value/compat_rv/none",
                                 headers=hdr), 401, "RvpsError")
    H.expect_problem(srv.request("POST", "/kbs/v0/reference-value",
                                 body=b"not json", headers=hdr), 401, "RvpsError")
    H.expect_problem(srv.request("GET", "/kbs/v0/reference-value/compat_rv/a"),
                     401, "AdminAuthAccess")


# ------------------------------------------------------------ config forms

class ConfigServer(H.Server):
    """trusteed -c <config>, reusing a --dev state for TLS and keys."""

    def __init__(self, root, name, dev_state, admin_toml):
        H.Server.__init__(self, root, name, state_dir=dev_state)
        self.admin_toml = admin_toml

    def start(self, timeout=10.0):
        self.port = H.free_port()
        self._ctx = None
        conf = os.path.join(self.root, self.name + ".toml")
        with open(conf, "w") as f:
            f.write('[http_server]\nlisten = ["127.0.0.1:%d"]\n'
                    'certificate = "%s/tls/cert.pem"\nprivate_key = "%s/tls/key.pem"\n'
                    '[storage]\nstate_dir = "%s/cfg"\n%s'
                    % (self.port, self.state, self.state, self.state,
                       self.admin_toml))
        cmd = [H.TRUSTEED, "-c", conf]
        log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log)
        log.close()
        if not self._wait_ready(timeout):
            rc = self.proc.poll()
            self.kill()
            raise H.TestFailure("config server did not start (%r):\n%s"
                                % (rc, self.log_tail()))
        return self


def _dev_state(ctx):
    """A --dev state directory (TLS cert and admin key), made once."""
    if "devstate" not in ctx.data:
        s = ctx.server("seed")
        s.stop()
        ctx.data["devstate"] = s.state
    return ctx.data["devstate"]


def _config_server(ctx, name, admin_toml):
    s = ConfigServer(ctx.tmp, name, _dev_state(ctx), admin_toml)
    ctx._servers.append(s)
    return s.start()


def test_trustee_form_acl(ctx):
    state = _dev_state(ctx)
    pub = os.path.join(state, "admin", "public.pem")
    srv = _config_server(ctx, "acl", """[admin]
authorization_mode = "AuthenticatedAuthorization"
[admin.authentication.bearer_jwt]
identity_providers = [
  { issuer = "TrusteeInDocker", audience = "KBS", public_key_uri = "file://%s" },
]
[admin.authorization.regex_acl]
acls = [
  { role = "admin", allowed_endpoints = "^/kbs/.+$" },
  { role = "uploader", allowed_endpoints = "^/kbs/v0/resource/[a-z]+/.*$" },
]
""" % pub)
    key = H.load_pem_key(os.path.join(state, "admin", "private.pem"))

    def t(role, **kw):
        c = H.admin_claims(role=role, iss="TrusteeInDocker", aud=["KBS"])
        c.update(kw)
        return H.mint_jwt(key, c)

    H.expect_status(H.admin_put(srv, "lower/key/a", b"x", token=t("uploader")), 200)
    H.expect_problem(H.admin_put(srv, "UPPER/key/a", b"x", token=t("uploader")),
                     401, "AdminAuthAccess", "not allowed for path")
    H.expect_problem(srv.request("POST", "/kbs/v0/resource-policy",
                                 body={"policy": b64url(ALLOW_LUA)},
                                 headers={"Authorization": "Bearer " + t("uploader")}),
                     401, "AdminAuthAccess", "uploader")
    H.expect_status(H.admin_put(srv, "UPPER/key/a", b"x", token=t("admin")), 200)
    H.expect_problem(H.admin_put(srv, "lower/key/b", b"x",
                                 token=t("admin", iss="Other")), 401,
                     "AdminAuthAccess", "iss")
    H.expect_problem(H.admin_put(srv, "lower/key/b", b"x",
                                 token=t("admin", aud="NotKBS")), 401,
                     "AdminAuthAccess", "aud")
    # /api/v1 uses the built-in roles, not the ACLs.
    H.expect_problem(call(srv, "GET", API + "/resources", token=t("uploader")),
                     403, "Forbidden")
    lst = ok(call(srv, "GET", API + "/resources", token=t("auditor")))
    check(sorted(x["name"] for x in lst["items"]) == ["UPPER/key/a", "lower/key/a"],
          "list %r" % lst)
    w = ok(call(srv, "GET", API + "/whoami", token=t("operator")))
    check(w["mode"] == "AuthenticatedAuthorization", "whoami %r" % w)
    srv.stop()


def test_deny_all_and_insecure_modes(ctx):
    srv = _config_server(ctx, "deny", '[admin]\nauthorization_mode = "DenyAll"\n')
    key = H.load_pem_key(os.path.join(_dev_state(ctx), "admin", "private.pem"))
    t = H.mint_jwt(key, H.admin_claims())
    H.expect_problem(call(srv, "GET", API + "/resources", token=t), 403,
                     "Forbidden", "DenyAll")
    H.expect_problem(H.admin_put(srv, "a/b/c", b"x", token=t), 401,
                     "AdminAuthAccess", "DenyAll")
    srv.stop()
    srv = _config_server(ctx, "open",
                         '[admin]\nauthorization_mode = "InsecureAllowAll"\n')
    w = ok(call(srv, "GET", API + "/whoami", auth=False))
    check(w["actor"] == "anonymous" and w["role"] == "admin", "whoami %r" % w)
    ok(call(srv, "PUT", API + "/resources/open/key/a", body=b"x", auth=False), 201)
    srv.stop()
    with open(srv.logpath, "rb") as f:
        check(b"WITHOUT authentication" in f.read(), "no loud warning in the log")


def test_config_errors_refuse_start(ctx):
    state = _dev_state(ctx)
    conf = ctx.write("bad.toml", """[http_server]
insecure_http = true
[storage]
state_dir = "%s/bad"
[admin]
authorization_mode = "AuthenticatedAuthorization"
[admin.authentication.bearer_jwt]
identity_providers = [ { public_key_uri = "https://example.com/k.pem" } ]
[admin.authorization.regex_acl]
acls = [ { role = "admin", allowed_endpoints = "/kbs/.*" } ]
""" % state)
    p = subprocess.run([H.TRUSTEED, "-n", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    err = p.stderr.decode()
    check(p.returncode != 0, "bad config accepted")
    check("bad.toml:8:" in err and "not supported offline" in err, err)
    check("bad.toml:10:" in err and "anchored" in err, err)


if __name__ == "__main__":
    H.main(globals(), "api")
