#!/usr/bin/python3
"""
test_bad_input.py: hostile and broken requests. Every case asserts the HTTP
status, the problem type (body exactly {"type","detail"} strings), and that
nothing changed: the stored secret still decrypts to the same bytes through
a fresh attestation, no resource appeared, and a session hit by a failure
that happened before nonce use can still attest.
"""

import sys

sys.dont_write_bytecode = True

import json
import os
import time

import harness as H
from harness import check
from jwcrypto import jwk as jjwk

SECRET_PATH = "default/bad/secret"


# ---------------------------------------------------------------- helpers

def _setup(ctx, srv):
    """Runs once the shared server is up: store the suite's secret."""
    data = b"\x00bad-input\xff" + os.urandom(200)
    H.expect_status(H.admin_put(srv, SECRET_PATH, data), 200)
    ctx.data["secret"] = data


def _secret(ctx):
    srv = ctx.shared            # starts the server (and _setup) if needed
    if "secret" not in ctx.data:
        _setup(ctx, srv)        # setup failed: retry, failing this test
    return ctx.data["secret"]


def _unchanged(ctx, srv=None, path=SECRET_PATH, data=None):
    """A fresh guest still gets the same bytes."""
    srv = srv or ctx.shared
    data = _secret(ctx) if data is None else data
    g = H.PyGuest(srv).handshake()
    got = g.fetch(path)
    check(got == data, "stored resource changed: %d bytes, want %d" % (len(got), len(data)))


def _absent(ctx, path, srv=None):
    g = H.PyGuest(srv or ctx.shared).handshake()
    H.expect_problem(g.get("resource/" + path), 401, "PluginInternalError", "not found")


def _auth_fails(ctx, body, detail=None, headers=None):
    _secret(ctx)
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    r = ctx.shared.request("POST", "/kbs/v0/auth", body=body, headers=hdrs)
    H.expect_problem(r, 401, "AttestationError", detail)
    check(not r.header_all("Set-Cookie"), "failed /auth set a cookie: %r"
          % r.header_all("Set-Cookie"))
    _unchanged(ctx)
    return r


def _authed(ctx, srv=None, **kw):
    _secret(ctx)
    g = H.PyGuest(srv or ctx.shared)
    g.auth(**kw)
    return g


def _still_attests(g):
    """The session was not consumed: the proper /attest now succeeds."""
    g.attest()
    check(g.fetch(SECRET_PATH) == g.srv_secret, "fetch after recovery differs")


def _guest(ctx, srv=None):
    g = _authed(ctx, srv)
    g.srv_secret = _secret(ctx)
    return g


def _attest_fails(g, expect="AttestationError", what=None, **kw):
    r = g.attest(expect_ok=False, **kw)
    try:
        H.expect_problem(r, 401, expect)
    except AssertionError as e:
        if what is None:
            raise
        raise H.TestFailure("%s: %s" % (what, e))
    check(not g.token, "token stored after a failed attest")
    return r


def _short(ctx):
    """Server with 2 s sessions and tokens."""
    if "short" not in ctx.data:
        ctx.data["short"] = ctx.server("short", args=["--session-lifetime", "2",
                                                      "--token-lifetime", "2"])
    return ctx.data["short"]


def _capped(ctx):
    """Server with a 4096-byte body cap and one resource."""
    if "capped" not in ctx.data:
        srv = ctx.data["capped"] = ctx.server("capped", args=["--max-body", "4096"])
        H.expect_status(H.admin_put(srv, "default/cap/secret", b"cap\x00original"), 200)
    return ctx.data["capped"]


def _attested(ctx):
    g = H.PyGuest(ctx.shared).handshake()
    return g


def _b64json(obj):
    return H.b64url(json.dumps(obj, separators=(",", ":")).encode())


# ---------------------------------------------------------------- /auth

def test_auth_malformed_json(ctx):
    _auth_fails(ctx, b'{"version": "0.4.0", tee: sample, "extra-params": {}}')


def test_auth_truncated_json(ctx):
    _auth_fails(ctx, b'{"version":"0.4.0","tee":"sample","extra-params":{"supported-hash-al')


def test_auth_json_array(ctx):
    _auth_fails(ctx, b'[{"version":"0.4.0","tee":"sample","extra-params":{}}]')


def test_auth_empty_body(ctx):
    _auth_fails(ctx, b"")


def test_auth_version_as_number(ctx):
    _auth_fails(ctx, {"version": 4, "tee": "sample", "extra-params": {}})


def test_auth_tee_as_list(ctx):
    _auth_fails(ctx, {"version": "0.4.0", "tee": ["sample"], "extra-params": {}})


def test_auth_missing_members(ctx):
    _auth_fails(ctx, {"version": "0.4.0", "tee": "sample"})
    _auth_fails(ctx, {"tee": "sample", "extra-params": {}})
    _auth_fails(ctx, {"version": "0.4.0", "extra-params": {}})


def test_auth_duplicate_member(ctx):
    _auth_fails(ctx, b'{"version":"0.4.0","tee":"sample","tee":"tdx","extra-params":{}}')


def test_auth_wrong_protocol_version(ctx):
    _auth_fails(ctx, {"version": "0.1.1", "tee": "sample", "extra-params": {}},
                "KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is 0.1.1")


def test_auth_unknown_tee(ctx):
    _auth_fails(ctx, {"version": "0.4.0", "tee": "foo", "extra-params": {}})


def test_auth_unsupported_tee_cca(ctx):
    _auth_fails(ctx, {"version": "0.4.0", "tee": "cca", "extra-params": {}},
                "TEE 'cca' is not supported by this build")


def test_auth_no_supported_hash(ctx):
    _auth_fails(ctx, {"version": "0.4.0", "tee": "sample",
                      "extra-params": {"supported-hash-algorithms": ["md5", "crc32"]}})


def test_auth_non_utf8_body(ctx):
    _auth_fails(ctx, b'{"version":"0.4.0","tee":"sam\xff\xfeple","extra-params":{}}')


def test_auth_get_method(ctx):
    r = ctx.shared.request("GET", "/kbs/v0/auth")
    H.expect_problem(r, 404, "PluginNotFound")
    r = ctx.shared.request("GET", "/kbs/v0/attest")
    H.expect_problem(r, 404, "PluginNotFound")
    _unchanged(ctx)


# ---------------------------------------------------------------- /attest

def test_attest_without_cookie(ctx):
    g = _guest(ctx)
    _attest_fails(g, cookie=None)
    _still_attests(g)


def test_attest_unknown_cookie(ctx):
    g = _guest(ctx)
    _attest_fails(g, cookie="kbs-session-id=" + os.urandom(16).hex())
    _attest_fails(g, cookie="kbs-session-id=not-a-session-id")
    _still_attests(g)


def test_attest_wrong_nonce(ctx):
    g = _guest(ctx)
    other = H.b64std(os.urandom(32))
    _attest_fails(g, nonce=other)          # evidence consistently bound to it
    _still_attests(g)


def test_attest_reused_nonce(ctx):
    g = _guest(ctx)
    g.attest()
    token = g.token
    r = g.attest(expect_ok=False)          # same session, same nonce
    H.expect_problem(r, 401, "AttestationError")
    # the attested session and its token are unaffected
    check(g.fetch(SECRET_PATH) == _secret(ctx), "cookie fetch after replay")
    check(g.fetch(SECRET_PATH, mode="bearer", token=token) == _secret(ctx),
          "bearer fetch after replay")


def test_attest_evidence_for_other_key(ctx):
    g = _guest(ctx)
    b = H.PyGuest(ctx.shared)
    # report_data bound to key A (g's), runtime-data carries key B
    rd = H.b64std(g.runtime_hash())
    _attest_fails(g, pubkey=b.tee_pubkey(), report_data=rd)
    # the nonce went through evidence verification: it is spent now
    _attest_fails(g)
    _unchanged(ctx)


def test_attest_evidence_for_other_nonce(ctx):
    g = _guest(ctx)
    _attest_fails(g, hash_nonce=H.b64std(os.urandom(32)))
    _unchanged(ctx)


def test_attest_report_data_garbage(ctx):
    g = _guest(ctx)
    _attest_fails(g, report_data="not base64 at all!")
    h = _guest(ctx)
    _attest_fails(h, report_data=H.b64std(h.runtime_hash()[:-1]))   # one byte short
    _unchanged(ctx)


def test_attest_malformed_json(ctx):
    g = _guest(ctx)
    _attest_fails(g, raw_body=b'{"init-data": null, "runtime-data": {')
    _attest_fails(g, raw_body=b'not json')
    _attest_fails(g, raw_body=b'[]')
    _attest_fails(g, raw_body=b'')
    _still_attests(g)


def test_attest_wrong_types(ctx):
    g = _guest(ctx)
    good = g.attest_body()
    cases = []
    b = json.loads(json.dumps(good)); b["runtime-data"] = "x"; cases.append(b)
    b = json.loads(json.dumps(good)); b["runtime-data"]["nonce"] = 12345; cases.append(b)
    b = json.loads(json.dumps(good)); b["tee-evidence"] = [b["tee-evidence"]]; cases.append(b)
    b = json.loads(json.dumps(good)); b["tee-evidence"]["additional_evidence"] = {}; cases.append(b)
    b = json.loads(json.dumps(good)); b["runtime-data"]["tee-pubkey"] = "key"; cases.append(b)
    b = json.loads(json.dumps(good)); b["init-data"] = "toml"; cases.append(b)
    b = json.loads(json.dumps(good)); del b["runtime-data"]; cases.append(b)
    b = json.loads(json.dumps(good)); del b["tee-evidence"]; cases.append(b)
    for i, body in enumerate(cases):
        r = g.attest(expect_ok=False, raw_body=json.dumps(body).encode())
        try:
            H.expect_problem(r, 401, "AttestationError")
        except AssertionError as e:
            raise H.TestFailure("case %d: %s" % (i, e))
    _still_attests(g)


def test_attest_non_utf8_string(ctx):
    g = _guest(ctx)
    body = json.dumps(g.attest_body()).encode()
    bad = body.replace(g.nonce.encode(), g.nonce[:10].encode() + b"\xff\xfe" + g.nonce[12:].encode())
    check(bad != body, "test could not inject bytes")
    _attest_fails(g, raw_body=bad)
    _still_attests(g)


def test_attest_init_data_json_format(ctx):
    g = _guest(ctx)
    body = g.attest_body()
    body["init-data"] = {"format": "json", "body": '{"version":"0.1.0"}'}
    _attest_fails(g, raw_body=json.dumps(body).encode())
    _unchanged(ctx)


def test_attest_init_data_bad_algorithm(ctx):
    g = _guest(ctx)
    _attest_fails(g, init_data='version = "0.1.0"\nalgorithm = "sha-384"\n[data]\n"a" = "b"\n')
    h = _guest(ctx)
    _attest_fails(h, init_data='version = "0.1.0"\nalgorithm = "md5"\n[data]\n')
    _unchanged(ctx)


def test_attest_init_data_bad_toml(ctx):
    g = _guest(ctx)
    _attest_fails(g, init_data='version = "0.1.0\nalgorithm = sha384\n[data\n')
    _unchanged(ctx)


def test_attest_unsupported_tee_pubkey(ctx):
    # each case binds the evidence to the bad key, so only the key is wrong
    def ec_bad(field, value):
        def f(pk):
            pk[field] = value(pk) if callable(value) else value
        return f
    cases = [
        ("x not base64url", "p256", ec_bad("x", "!!notbase64url!!")),
        ("x 29 bytes", "p256", ec_bad("x", lambda pk: pk["x"][:-4])),
        ("y missing", "p256", lambda pk: pk.pop("y")),
        ("crv P-256 with 66-byte coordinates", "p521", ec_bad("crv", "P-256")),
        ("EC key with alg RSA-OAEP", "p256", ec_bad("alg", "RSA-OAEP")),
        ("EC key without alg", "p256", lambda pk: pk.pop("alg")),
        ("RSA key with alg RSA-OAEP (SHA-1)", "rsa-oaep-256", ec_bad("alg", "RSA-OAEP")),
        ("RSA n not base64url", "rsa-oaep-256", ec_bad("n", "***")),
        ("kty oct", "p256", ec_bad("kty", "oct")),
        ("EC P-384 key", "p384", None),
    ]
    errors = []
    for what, alg, mutate in cases:
        g = H.PyGuest(ctx.shared, alg)
        g.auth()
        pk = g.tee_pubkey()
        if mutate:
            mutate(pk)
        try:
            _attest_fails(g, pubkey=pk, what=what)
        except AssertionError as e:
            if g.last.status != 200:
                errors.append(str(e)[:160])
                continue
            # accepted anyway: the resource GET must still fail cleanly
            tok = g.last.json().get("token", "")
            r = g.get("resource/" + SECRET_PATH, "bearer", tok)
            errors.append("%s: accepted by /attest (GET with its token: %d %s)"
                          % (what, r.status, r.body[:90].decode("utf-8", "replace")))
            check(r.status == 401, errors[-1])
            r.json()
    check(not errors, "%d of %d cases accepted:\n    %s"
          % (len(errors), len(cases), "\n    ".join(errors)))
    _unchanged(ctx)


# ---------------------------------------------------------------- expiry

def test_expiry_prepare(ctx):
    srv = _short(ctx)
    _secret(ctx)
    H.expect_status(H.admin_put(srv, SECRET_PATH, _secret(ctx)), 200)
    a = H.PyGuest(srv)
    a.auth()                                # authed only
    b = H.PyGuest(srv).handshake()          # attested: cookie
    check(b.fetch(SECRET_PATH) == _secret(ctx), "fetch before expiry")
    check(b.fetch(SECRET_PATH, mode="bearer") == _secret(ctx), "bearer before expiry")
    ctx.data["exp"] = (a, b)
    time.sleep(3.2)


def test_expired_session_attest(ctx):
    check("exp" in ctx.data, "expiry_prepare failed")
    a, _ = ctx.data["exp"]
    _attest_fails(a)
    _unchanged(ctx, srv=_short(ctx))


def test_expired_cookie_no_token(ctx):
    check("exp" in ctx.data, "expiry_prepare failed")
    _, b = ctx.data["exp"]
    H.expect_problem(b.get("resource/" + SECRET_PATH, "cookie"), 401, "TokenNotFound")


def test_expired_bearer(ctx):
    check("exp" in ctx.data, "expiry_prepare failed")
    _, b = ctx.data["exp"]
    H.expect_problem(b.get("resource/" + SECRET_PATH, "bearer"), 401, "TokenVerifierError")
    _unchanged(ctx, srv=_short(ctx))


# ---------------------------------------------------------------- resource GET

def test_resource_dotdot_segment(ctx):
    g = _attested(ctx)
    for p in ("default/../secret", "../bad/secret", "default/bad/..",
              "default/%2e%2e/secret"):
        H.expect_problem(g.get("resource/" + p), 401, "PluginInternalError",
                         "invalid resource path")
    _unchanged(ctx)


def test_resource_segment_count(ctx):
    g = _attested(ctx)
    for p in ("default/bad/secret/extra", "default/bad", "default", "a/b/c/d/e"):
        H.expect_problem(g.get("resource/" + p), 401, "PluginInternalError",
                         "invalid resource path")
    H.expect_problem(g.get("resource"), 401, "PluginInternalError")
    _unchanged(ctx)


def test_resource_leading_dot_and_bad_chars(ctx):
    g = _attested(ctx)
    for p in ("default/.bad/secret", ".default/bad/secret", "default/bad/.secret",
              "default/b%20d/secret", "default/b:d/secret"):
        H.expect_problem(g.get("resource/" + p), 401, "PluginInternalError",
                         "invalid resource path")
    _unchanged(ctx)


def test_resource_missing(ctx):
    g = _attested(ctx)
    H.expect_problem(g.get("resource/default/bad/nosuch"), 401, "PluginInternalError",
                     "resource default/bad/nosuch not found")


def test_unknown_plugin(ctx):
    g = _attested(ctx)
    H.expect_problem(g.get("nosuch/x"), 404, "PluginNotFound")
    H.expect_problem(g.get("nosuch/x", mode="none"), 404, "PluginNotFound")
    H.expect_problem(ctx.shared.request("GET", "/kbs/v0/"), 404, "PluginNotFound")
    _unchanged(ctx)


def test_resource_no_auth(ctx):
    _secret(ctx)
    r = ctx.shared.request("GET", "/kbs/v0/resource/" + SECRET_PATH)
    H.expect_problem(r, 401, "TokenNotFound")
    _unchanged(ctx)


def test_resource_cookie_of_unattested_session(ctx):
    g = _guest(ctx)
    H.expect_problem(g.get("resource/" + SECRET_PATH), 401, "TokenNotFound")
    _still_attests(g)


def test_bearer_garbage(ctx):
    _secret(ctx)
    for tok in ("garbage", "a.b.c", "....", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", ""):
        r = ctx.shared.request("GET", "/kbs/v0/resource/" + SECRET_PATH,
                               headers={"Authorization": "Bearer " + tok})
        if tok == "":       # no token at all: either answer is defensible
            typ = r.json().get("type", "") if r.status == 401 else ""
            check(typ.endswith(("/TokenNotFound", "/TokenVerifierError")),
                  "empty bearer: %d %r" % (r.status, r.body[:200]))
            continue
        H.expect_problem(r, 401, "TokenVerifierError")
    _unchanged(ctx)


def test_bearer_tampered(ctx):
    g = _attested(ctx)
    hdr, claims, parts = H.jwt_parts(g.token)
    claims["submods"]["cpu0"]["ear.status"] = "affirming"
    bad = ".".join([parts[0], _b64json(claims), parts[2]])
    H.expect_problem(g.get("resource/" + SECRET_PATH, "bearer", bad), 401,
                     "TokenVerifierError")
    # flip one character of the payload
    p1 = parts[1]
    c = "A" if p1[5] != "A" else "B"
    bad = ".".join([parts[0], p1[:5] + c + p1[6:], parts[2]])
    H.expect_problem(g.get("resource/" + SECRET_PATH, "bearer", bad), 401,
                     "TokenVerifierError")
    # signature truncated
    bad = ".".join([parts[0], parts[1], parts[2][:-4]])
    H.expect_problem(g.get("resource/" + SECRET_PATH, "bearer", bad), 401,
                     "TokenVerifierError")
    _unchanged(ctx)


def test_bearer_foreign_key(ctx):
    g = _attested(ctx)
    hdr, claims, _ = H.jwt_parts(g.token)
    mine = jjwk.JWK.generate(kty="EC", crv="P-256")
    pub = mine.export_public(as_dict=True)
    pub["alg"] = "ES256"
    hj = {k: pub[k] for k in ("kty", "crv", "alg", "x", "y")}
    # self-contained: header jwk is our key (insecure_header_jwk style)
    tok = H.mint_jwt(mine, claims, alg="ES256", header={"jwk": hj})
    H.expect_problem(g.get("resource/" + SECRET_PATH, "bearer", tok), 401,
                     "TokenVerifierError")
    # and claiming the server's kid
    tok = H.mint_jwt(mine, claims, alg="ES256", header={"jwk": hj, "kid": hdr.get("kid", "")})
    H.expect_problem(g.get("resource/" + SECRET_PATH, "bearer", tok), 401,
                     "TokenVerifierError")
    _unchanged(ctx)


def test_bearer_alg_none(ctx):
    g = _attested(ctx)
    hdr, claims, _ = H.jwt_parts(g.token)
    tok = _b64json({"alg": "none", "typ": "JWT"}) + "." + _b64json(claims) + "."
    H.expect_problem(g.get("resource/" + SECRET_PATH, "bearer", tok), 401,
                     "TokenVerifierError")
    h2 = dict(hdr)
    h2["alg"] = "none"
    tok = _b64json(h2) + "." + _b64json(claims) + "."
    H.expect_problem(g.get("resource/" + SECRET_PATH, "bearer", tok), 401,
                     "TokenVerifierError")
    _unchanged(ctx)


def test_bearer_admin_jwt_is_not_an_ear(ctx):
    _secret(ctx)
    tok = H.admin_token(ctx.shared)
    r = ctx.shared.request("GET", "/kbs/v0/resource/" + SECRET_PATH,
                           headers={"Authorization": "Bearer " + tok})
    H.expect_problem(r, 401, "TokenVerifierError")
    _unchanged(ctx)


# ---------------------------------------------------------------- admin

def _admin_denied(ctx, token, reason=None, method="POST", path=SECRET_PATH,
                  raw_auth=None):
    _secret(ctx)
    hdrs = {}
    if raw_auth is not None:
        hdrs["Authorization"] = raw_auth
    elif token is not None:
        hdrs["Authorization"] = "Bearer " + token
    body = b"attacker-controlled" if method == "POST" else None
    r = ctx.shared.request(method, "/kbs/v0/resource/" + path, body=body, headers=hdrs)
    d = H.expect_problem(r, 401, "AdminAuthAccess", "admin access denied")
    if reason:
        check(reason in d, "detail %r lacks %r" % (d, reason))
    _unchanged(ctx)
    return r


def test_admin_without_authorization(ctx):
    _admin_denied(ctx, None, "missing bearer token")
    _admin_denied(ctx, None, method="DELETE")


def test_admin_wrong_scheme(ctx):
    _admin_denied(ctx, None, raw_auth="Basic YWRtaW46YWRtaW4=")
    _admin_denied(ctx, None, raw_auth="Bearer")


def test_admin_untrusted_ed25519(ctx):
    k = jjwk.JWK.generate(kty="OKP", crv="Ed25519")
    tok = H.mint_jwt(k, H.admin_claims())
    _admin_denied(ctx, tok, "trusted")
    _admin_denied(ctx, tok, method="DELETE")


def test_admin_untrusted_p256(ctx):
    k = jjwk.JWK.generate(kty="EC", crv="P-256")
    _admin_denied(ctx, H.mint_jwt(k, H.admin_claims(), alg="ES256"), "trusted")


def test_admin_without_role(ctx):
    key = H.load_pem_key(ctx.shared.admin_key)
    c = H.admin_claims()
    del c["role"]
    _admin_denied(ctx, H.mint_jwt(key, c), "role")


def test_admin_role_guest(ctx):
    key = H.load_pem_key(ctx.shared.admin_key)
    _admin_denied(ctx, H.mint_jwt(key, H.admin_claims(role="guest")), "guest")
    _admin_denied(ctx, H.mint_jwt(key, H.admin_claims(role=["admin"])))
    _admin_denied(ctx, H.mint_jwt(key, H.admin_claims(role="Admin")))


def test_admin_expired(ctx):
    key = H.load_pem_key(ctx.shared.admin_key)
    _admin_denied(ctx, H.mint_jwt(key, H.admin_claims(ttl=-3600)), "expired")


def test_admin_exp_missing_or_not_integer(ctx):
    key = H.load_pem_key(ctx.shared.admin_key)
    c = H.admin_claims()
    del c["exp"]
    _admin_denied(ctx, H.mint_jwt(key, c), "exp")
    c = H.admin_claims()
    c["exp"] = str(c["exp"])
    _admin_denied(ctx, H.mint_jwt(key, c))


def test_admin_malformed_and_tampered(ctx):
    _admin_denied(ctx, "abc.def", "malformed")
    good = H.admin_token(ctx.shared)
    h, c, parts = H.jwt_parts(good)
    c["role"] = "admin"
    c["exp"] = c["exp"] + 86400
    _admin_denied(ctx, ".".join([parts[0], _b64json(c), parts[2]]))
    _admin_denied(ctx, _b64json({"alg": "none", "typ": "JWT"}) + "." + _b64json(c) + ".")


def test_admin_ear_token_is_not_admin(ctx):
    g = _attested(ctx)
    _admin_denied(ctx, g.token)


def test_admin_denied_creates_nothing(ctx):
    k = jjwk.JWK.generate(kty="OKP", crv="Ed25519")
    _admin_denied(ctx, H.mint_jwt(k, H.admin_claims()), path="default/bad/newone")
    _admin_denied(ctx, None, path="default/bad/newtwo")
    _absent(ctx, "default/bad/newone")
    _absent(ctx, "default/bad/newtwo")


def test_admin_bad_path_and_missing_delete(ctx):
    _secret(ctx)
    tok = H.admin_token(ctx.shared)
    for p in ("default/../x", "default/bad", ".x/y/z", "a/b/c/d"):
        r = ctx.shared.request("POST", "/kbs/v0/resource/" + p, body=b"x",
                               headers={"Authorization": "Bearer " + tok})
        H.expect_problem(r, 401, "PluginInternalError", "invalid resource path")
    r = H.admin_delete(ctx.shared, "default/bad/never-existed")
    H.expect_problem(r, 401, "PluginInternalError", "not found")
    _unchanged(ctx)


# ---------------------------------------------------------------- body cap

def _padded_auth(n):
    head = b'{"version":"0.4.0","tee":"sample","extra-params":{"pad":"'
    tail = b'"}}'
    return head + b"A" * (n - len(head) - len(tail)) + tail


def test_body_cap_auth(ctx):
    srv = _capped(ctx)
    body = _padded_auth(5000)
    check(len(body) == 5000, "padding")
    r = srv.request("POST", "/kbs/v0/auth", body=body,
                    headers={"Content-Type": "application/json"})
    H.expect_problem(r, 413, "PayloadTooLarge")
    check(not r.header_all("Set-Cookie"), "413 set a cookie")
    _unchanged(ctx, srv=srv, path="default/cap/secret", data=b"cap\x00original")


def test_body_cap_admin_post(ctx):
    srv = _capped(ctx)
    r = H.admin_put(srv, "default/cap/secret", os.urandom(5000))
    H.expect_problem(r, 413, "PayloadTooLarge")
    r = H.admin_put(srv, "default/cap/other", os.urandom(5000))
    H.expect_problem(r, 413, "PayloadTooLarge")
    _unchanged(ctx, srv=srv, path="default/cap/secret", data=b"cap\x00original")
    _absent(ctx, "default/cap/other", srv=srv)


def test_body_cap_boundary(ctx):
    srv = _capped(ctx)
    data = os.urandom(4096)
    H.expect_status(H.admin_put(srv, "default/cap/exact", data), 200)
    _unchanged(ctx, srv=srv, path="default/cap/exact", data=data)
    r = srv.request("POST", "/kbs/v0/auth", body=_padded_auth(4096),
                    headers={"Content-Type": "application/json"})
    H.expect_status(r, 200)


# ---------------------------------------------------------------- raw HTTP

def test_malformed_request_line(ctx):
    _secret(ctx)
    r = H.raw_tls_exchange(ctx.shared, b"THIS IS NOT HTTP\r\n\r\n")
    H.expect_problem(r, 400, "BadRequest")
    _unchanged(ctx)


def test_malformed_header_and_length(ctx):
    _secret(ctx)
    r = H.raw_tls_exchange(ctx.shared, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                           b"NoColonHere\r\n\r\n")
    H.expect_problem(r, 400, "BadRequest")
    r = H.raw_tls_exchange(ctx.shared, b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: abc\r\n\r\n{}")
    H.expect_problem(r, 400, "BadRequest")
    _unchanged(ctx)


# ---------------------------------------------------------------- teardown

def test_zz_short_servers_exit_0(ctx):
    for name in ("short", "capped"):
        if name in ctx.data:
            ctx.data[name].stop()


if __name__ == "__main__":
    H.main(globals(), "bad_input", setup=_setup)
