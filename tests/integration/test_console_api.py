#!/usr/bin/python3
"""
test_console_api.py: the console's server side without a browser,
black-box against trusteed --dev: the --dev console user and its password
file, login/logout/session endpoints, the session cookie's attributes,
CSRF refusals, progressive delay and lockout, idle timeout, sessions that
end server-side (logout, password change, disable), roles through a
console session exactly as with bearer tokens, the attestation log (API
and trusteectl), retention, users (API and trusteectl, no user name in a
database dump), the audited value reveal, security headers on every
answer (also those the connection layer makes before any handler), the
console's static files (types, ETag, 304), /metrics with bounded labels,
/readyz and /api/v1/stats; failed logins per source on the shared rate
limiter; a store outage (503 + Retry-After) and rows that fail
authentication (IntegrityError naming the row).
"""

import http.client
import json
import os
import re
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H                                       # noqa: E402
from harness import check                                 # noqa: E402

API = "/api/v1"
COOKIE = "__Host-trustee-console"


class Console:
    """A console client: the cookie and CSRF token as a browser keeps them."""

    def __init__(self, srv):
        self.srv = srv
        self.cookie = None
        self.csrf = None
        self.user = None

    def login(self, user, password, expect=200, headers=None):
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        r = self.srv.request("POST", "/console/api/login",
                             body=json.dumps({"username": user, "password": password}),
                             headers=h)
        check(r.status == expect, "login %s: expected %d, got %d %r"
              % (user, expect, r.status, r.body[:200]))
        if r.status == 200:
            sc = r.header_all("Set-Cookie")
            check(len(sc) == 1, "login sets one cookie: %r" % sc)
            name, val, attrs = H.parse_set_cookie(sc[0])
            check(name == COOKIE, "cookie name %r" % name)
            self.cookie = val
            self.csrf = r.json()["csrf"]
            self.user = user
        return r

    def req(self, method, path, body=None, csrf=True, extra=None):
        h = {}
        if self.cookie:
            h["Cookie"] = "%s=%s" % (COOKIE, self.cookie)
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = csrf if isinstance(csrf, str) else self.csrf
        h.update(extra or {})
        return self.srv.request(method, path, body=body, headers=h)


def admin_password(srv):
    with open(os.path.join(srv.state, "admin", "console-password")) as f:
        return f.read().strip()


def admin_console(ctx):
    c = Console(ctx.shared)
    c.login("admin", admin_password(ctx.shared))
    return c


def add_user(ctx, name, role, password):
    a = admin_console(ctx)
    r = a.req("POST", API + "/users", {"name": name, "role": role, "password": password})
    check(r.status in (201, 409), "add %s: %r" % (name, r))
    return a


# ------------------------------------------------------------- --dev user

def test_dev_password_file(ctx):
    srv = ctx.shared
    p = os.path.join(srv.state, "admin", "console-password")
    st = os.stat(p)
    check(stat.S_IMODE(st.st_mode) == 0o600, "mode %o" % stat.S_IMODE(st.st_mode))
    pw = admin_password(srv)
    check(len(pw) >= 20, "short dev password")
    with open(srv.logpath) as f:
        log = f.read()
    check(p in log, "the path of the password file is not printed")
    check(pw not in log, "the password itself is in the log")
    c = Console(srv)
    r = c.login("admin", pw)
    j = r.json()
    check(j["user"] == "admin" and j["role"] == "admin", "session %r" % j)
    check(len(j["csrf"]) == 43 and j["csrf"] != c.cookie, "csrf %r" % j)


def test_cookie_attributes(ctx):
    c = Console(ctx.shared)
    r = c.login("admin", admin_password(ctx.shared))
    _, _, attrs = H.parse_set_cookie(r.header("Set-Cookie"))
    check(attrs.get("httponly") is True and attrs.get("secure") is True,
          "HttpOnly/Secure missing: %r" % attrs)
    check(attrs.get("samesite") == "Strict" and attrs.get("path") == "/",
          "SameSite/Path: %r" % attrs)
    check("expires" not in attrs and "domain" not in attrs, "%r" % attrs)
    w = c.req("GET", API + "/whoami").json()
    check(w["mode"] == "console" and w["actor"] == "admin (admin)", "whoami %r" % w)
    s = c.req("GET", "/console/api/session")
    H.expect_status(s, 200)
    check(s.json()["csrf"] == c.csrf and s.header("Cache-Control") == "no-store",
          "session %r" % s.json())


def test_wrong_password_and_bad_bodies(ctx):
    srv = ctx.shared
    c = Console(srv)
    r = c.login("admin", "wrong password", expect=401)
    H.expect_problem(r, 401, "Unauthenticated", "wrong user name or password")
    r2 = c.login("nosuchuser", "whatever-1", expect=401)
    check(r2.json() == r.json(), "unknown user answered differently: %r" % r2.json())
    H.expect_problem(srv.request("POST", "/console/api/login",
                                 body='{"username":"admin","password":"x"}',
                                 headers={"Content-Type": "text/plain"}),
                     415, "UnsupportedMediaType")
    for bad in ['', 'nope', '[]', '{"username":"admin"}',
                '{"username":"admin","password":"x","extra":1}',
                '{"username":1,"password":"x"}',
                '{"username":"admin","password":"x","password":"y"}']:
        H.expect_problem(srv.request("POST", "/console/api/login", body=bad,
                                     headers={"Content-Type": "application/json"}),
                         400, "BadRequest")
    H.expect_problem(c.login("admin", admin_password(srv), expect=403,
                             headers={"Origin": "https://evil.example"}),
                     403, "Forbidden", "origin")
    H.expect_problem(c.login("admin", admin_password(srv), expect=403,
                             headers={"Sec-Fetch-Site": "cross-site"}),
                     403, "Forbidden", "cross-site")
    H.expect_status(srv.request("GET", "/console/api/login"), 405)


def test_csrf_refusals(ctx):
    a = admin_console(ctx)
    body = {"name": "csrf-victim", "role": "auditor", "password": "password-123"}
    H.expect_problem(a.req("POST", API + "/users", body, csrf=False), 403,
                     "Forbidden", "CSRF")
    H.expect_problem(a.req("POST", API + "/users", body, csrf="A" * 43), 403,
                     "Forbidden", "CSRF")
    H.expect_problem(a.req("PUT", API + "/resources/csrf/x/y", b"v", csrf=False,
                           extra={"Content-Type": "text/plain"}), 403, "Forbidden")
    # A forged cross-site request carrying the right token is refused too.
    H.expect_problem(a.req("POST", API + "/users", body,
                           extra={"Origin": "https://attacker.example"}),
                     403, "Forbidden")
    check(a.req("GET", API + "/users/csrf-victim").status == 404,
          "a refused request created the user")
    H.expect_status(a.req("POST", API + "/users", body), 201)
    H.expect_problem(a.req("POST", "/console/api/logout", csrf=False), 403,
                     "Forbidden", "CSRF")
    H.expect_status(a.req("GET", API + "/whoami"), 200)


def test_logout_ends_session_server_side(ctx):
    a = admin_console(ctx)
    stolen = a.cookie
    r = a.req("POST", "/console/api/logout")
    H.expect_status(r, 204)
    _, val, attrs = H.parse_set_cookie(r.header("Set-Cookie"))
    check(val == "" and attrs.get("max-age") == "0", "logout cookie %r" % attrs)
    b = Console(ctx.shared)
    b.cookie = stolen           # a copy of the cookie taken before logout
    H.expect_problem(b.req("GET", API + "/whoami"), 401, "Unauthenticated")
    H.expect_problem(b.req("GET", "/console/api/session"), 401, "Unauthenticated")


def test_roles_through_console_sessions(ctx):
    add_user(ctx, "aud1", "auditor", "auditor-pass-1")
    add_user(ctx, "op1", "operator", "operator-pass-1")
    aud = Console(ctx.shared)
    aud.login("aud1", "auditor-pass-1")
    op = Console(ctx.shared)
    op.login("op1", "operator-pass-1")
    H.expect_status(aud.req("GET", API + "/resources"), 200)
    H.expect_status(aud.req("GET", API + "/audit"), 200)
    H.expect_status(aud.req("GET", API + "/attestations"), 200)
    H.expect_problem(aud.req("PUT", API + "/resources/r/t/aud",
                             b"x", extra={"Content-Type": "text/plain"}), 403, "Forbidden")
    H.expect_problem(aud.req("GET", API + "/users"), 403, "Forbidden")
    H.expect_problem(aud.req("POST", API + "/policies/attestation/default_cpu/test",
                             {"input": {}}), 403, "Forbidden")
    H.expect_status(op.req("PUT", API + "/resources/r/t/op", b"x",
                           extra={"Content-Type": "text/plain"}), 201)
    H.expect_problem(op.req("GET", API + "/audit"), 403, "Forbidden")
    H.expect_problem(op.req("GET", API + "/users"), 403, "Forbidden")
    H.expect_problem(op.req("POST", API + "/resources/r/t/op/reveal"), 403, "Forbidden")
    # The role is read at each request: a demotion applies at once.
    a = admin_console(ctx)
    H.expect_status(a.req("POST", API + "/users/op1/role", {"role": "auditor"}), 200)
    H.expect_problem(op.req("PUT", API + "/resources/r/t/op", b"y",
                            extra={"Content-Type": "text/plain"}), 403, "Forbidden")
    w = op.req("GET", API + "/whoami").json()
    check(w["role"] == "auditor", "whoami after demotion %r" % w)


def test_password_change_and_disable_end_sessions(ctx):
    a = add_user(ctx, "pwuser", "operator", "first-pass-1")
    u = Console(ctx.shared)
    u.login("pwuser", "first-pass-1")
    H.expect_status(a.req("POST", API + "/users/pwuser/password",
                          {"password": "second-pass-2"}), 200)
    H.expect_problem(u.req("GET", API + "/whoami"), 401, "Unauthenticated")
    u.login("pwuser", "first-pass-1", expect=401)
    u.login("pwuser", "second-pass-2")
    H.expect_status(a.req("POST", API + "/users/pwuser/disable"), 200)
    H.expect_problem(u.req("GET", API + "/whoami"), 401, "Unauthenticated")
    r = u.login("pwuser", "second-pass-2", expect=401)
    H.expect_problem(r, 401, "Unauthenticated", "wrong user name or password")
    H.expect_status(a.req("POST", API + "/users/pwuser/enable"), 200)
    u.login("pwuser", "second-pass-2")
    # Own password change: needs the current one; then every session ends.
    H.expect_problem(u.req("POST", API + "/account/password",
                           {"current_password": "nope", "password": "third-pass-3"}),
                     403, "Forbidden")
    H.expect_status(u.req("POST", API + "/account/password",
                          {"current_password": "second-pass-2", "password": "third-pass-3"}), 204)
    H.expect_problem(u.req("GET", API + "/whoami"), 401, "Unauthenticated")
    u.login("pwuser", "third-pass-3")
    # The last enabled admin stays.
    H.expect_problem(a.req("DELETE", API + "/users/admin"), 400, "BadRequest", "last enabled admin")
    H.expect_problem(a.req("POST", API + "/users/admin/role", {"role": "auditor"}),
                     400, "BadRequest", "last enabled admin")


def test_users_validation_and_dump(ctx):
    a = admin_console(ctx)
    for body, typ in [({"name": "x y", "role": "auditor", "password": "password-1"}, "BadRequest"),
                      ({"name": "ok1", "role": "root", "password": "password-1"}, "BadRequest"),
                      ({"name": "ok1", "role": "auditor", "password": "short"}, "BadRequest"),
                      ({"name": "ok1", "role": "auditor"}, "BadRequest"),
                      ({"name": "ok1", "role": "auditor", "password": "password-1", "x": 1}, "BadRequest")]:
        H.expect_problem(a.req("POST", API + "/users", body), 400, typ)
    H.expect_status(a.req("POST", API + "/users", {"name": "unmistakable-username-7",
                                                   "role": "auditor", "password": "password-1"}), 201)
    H.expect_problem(a.req("POST", API + "/users", {"name": "unmistakable-username-7",
                                                    "role": "auditor", "password": "password-1"}),
                     409, "Conflict")
    u = a.req("GET", API + "/users/unmistakable-username-7").json()
    check("hash" not in u and "pwgen" not in u, "user view leaks %r" % u)
    H.expect_problem(a.req("GET", API + "/users/nobody-here"), 404, "NotFound")
    for suffix in ("", "-wal"):
        p = os.path.join(ctx.shared.state, "trustee.db" + suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                data = f.read()
            check(b"unmistakable-username-7" not in data, "user name in %s" % p)
            check(b"$argon2id$" not in data, "password hash in clear in %s" % p)


def test_lockout(ctx):
    srv = ctx.server("lock", args=["--login-lockout", "4", "--login-delay-after", "2"])
    pw = admin_password(srv)
    c = Console(srv)
    c.login("admin", "bad-1", expect=401)
    c.login("admin", "bad-2", expect=401)       # 2nd failure: wait 1 s
    r = c.login("admin", pw, expect=429)        # even the right password waits
    H.expect_problem(r, 429, "TooManyRequests", "try again in")
    check(r.header("Retry-After") == "1", "Retry-After %r" % r.header("Retry-After"))
    time.sleep(1.1)
    c.login("admin", "bad-3", expect=401)       # 3rd: wait 2 s
    r = c.login("admin", "bad-x", expect=429)
    check(r.header("Retry-After") == "2", "progressive delay %r" % r.header("Retry-After"))
    time.sleep(2.1)
    c.login("admin", "bad-4", expect=401)       # 4th: locked
    r = c.login("admin", pw, expect=429)
    H.expect_problem(r, 429, "TooManyRequests", "locked")
    check(int(r.header("Retry-After")) > 800, "lockout %r" % r.header("Retry-After"))
    m = srv.request("GET", "/metrics").body.decode()
    check(re.search(r'trustee_console_logins_total\{result="throttled"\} [1-9]', m),
          "throttled logins not counted")
    srv.stop()


def test_login_rate_per_source(ctx):
    # Per source, failed logins (console passwords and admin tokens) use
    # up the shared limiter's login rate ([limits] login_rate/burst);
    # logins that succeed do not.
    srv = ctx.server("lock-src", args=["--login-lockout", "100", "--login-delay-after", "100",
                                        "--limit", "login_burst=4", "--limit", "login_rate=0.02"])
    pw = admin_password(srv)
    c = Console(srv)
    for _ in range(6):
        c.login("admin", pw)
    bad = {"Authorization": "Bearer " + H.admin_token(srv) + "x"}
    for _ in range(2):
        H.expect_status(srv.request("GET", API + "/whoami", headers=bad), 401)
    c.login("user1", "bad", expect=401)
    c.login("user2", "bad", expect=401)
    # The source is over its rate: even the right password waits, before
    # any password work, and so does a bad admin token.
    r = c.login("admin", pw, expect=429)
    H.expect_problem(r, 429, "TooManyRequests", "from this address")
    check(int(r.header("Retry-After")) >= 1, "Retry-After %r" % r.header("Retry-After"))
    r = srv.request("GET", API + "/whoami", headers=bad)
    H.expect_problem(r, 429, "TooManyRequests", "admin logins")
    check(r.header("Retry-After") is not None, "no Retry-After on the admin 429")
    # A good admin token is not a login attempt.
    H.expect_status(srv.request("GET", API + "/whoami",
                                headers={"Authorization": "Bearer " + H.admin_token(srv)}), 200)
    m = srv.request("GET", "/metrics").body.decode()
    check(re.search(r'trustee_console_logins_total\{result="throttled"\} [1-9]', m),
          "throttled logins not counted")
    check("limits: rate limit on logins" in srv.log_tail(200),
          "no rate-limited log line:\n%s" % srv.log_tail(20))
    srv.stop()


def test_idle_timeout(ctx):
    srv = ctx.server("idle", args=["--console-idle-timeout", "4"])
    c = Console(srv)
    c.login("admin", admin_password(srv))
    start = time.monotonic()
    while time.monotonic() - start < 6:     # use keeps it alive past 4 s
        time.sleep(0.5)
        H.expect_status(c.req("GET", API + "/whoami"), 200)
    time.sleep(6)
    H.expect_problem(c.req("GET", API + "/whoami"), 401, "Unauthenticated", "expired")
    srv.stop()


# ---------------------------------------------------------- static files

SEC = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def check_security_headers(r, what):
    for k, v in SEC.items():
        got = r.header(k) or ""
        check(v in got, "%s: %s is %r" % (what, k, got))
    csp = r.header("Content-Security-Policy")
    check("default-src 'self'" in csp and "unsafe-inline" not in csp
          and "script-src 'self'" in csp and "style-src 'self'" in csp, "CSP %r" % csp)


def test_security_headers_everywhere(ctx):
    srv = ctx.shared
    a = admin_console(ctx)
    for method, path in [("GET", "/console/"), ("GET", "/console/js/app.js"),
                         ("GET", "/console/nope.js"), ("GET", API + "/whoami"),
                         ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
                         ("GET", "/.well-known/jwks.json"), ("GET", "/nothing/here"),
                         ("POST", "/kbs/v0/auth"), ("GET", "/attestation")]:
        check_security_headers(srv.request(method, path), "%s %s" % (method, path))
    check_security_headers(a.req("GET", API + "/users"), "console GET /api/v1/users")


def test_security_headers_before_any_handler(ctx):
    # Answers the connection layer makes itself, before routing: a
    # malformed request, a body over the cap, header fields too large.
    srv = ctx.shared
    cases = [
        ("malformed", b"GARBAGE\r\n\r\n", 400),
        ("body too large", b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\n"
         b"Content-Type: application/json\r\nContent-Length: 999999999\r\n\r\n", 413),
        ("header too large", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
         + b"a" * 70000 + b"\r\n\r\n", 431),
    ]
    for what, raw, status in cases:
        r = H.raw_tls_exchange(srv, raw)
        check(r.status == status, "%s: status %d, not %d" % (what, r.status, status))
        check_security_headers(r, what)


def test_static_files(ctx):
    srv = ctx.shared
    types = {"/console/": "text/html", "/console/index.html": "text/html",
             "/console/js/app.js": "text/javascript", "/console/css/console.css": "text/css",
             "/console/img/icon.svg": "image/svg+xml"}
    for path, t in types.items():
        r = srv.request("GET", path)
        H.expect_status(r, 200)
        check((r.header("Content-Type") or "").startswith(t), "%s type %r" % (path, r.header("Content-Type")))
        etag = r.header("ETag")
        check(etag and re.fullmatch(r'"[0-9a-f]{32}"', etag), "%s ETag %r" % (path, etag))
        check(r.header("Cache-Control") == "no-cache", "%s cache %r" % (path, r.header("Cache-Control")))
        r2 = srv.request("GET", path, headers={"If-None-Match": etag})
        check(r2.status == 304 and r2.body == b"", "%s: If-None-Match gave %d" % (path, r2.status))
        r3 = srv.request("GET", path, headers={"If-None-Match": '"0000"'})
        H.expect_status(r3, 200)
    r = srv.request("GET", "/console")
    check(r.status == 308 and r.header("Location") == "/console/", "redirect %r" % r)
    H.expect_problem(srv.request("GET", "/console/../trustee.db"), 404, "InvalidRequestPath")
    H.expect_problem(srv.request("GET", "/console/js/none.js"), 404, "InvalidRequestPath")
    H.expect_status(srv.request("POST", "/console/index.html"), 405)
    html = srv.request("GET", "/console/").body.decode()
    check("<script>" not in html and "style=" not in html and "onclick" not in html,
          "inline script or style in index.html")
    check("http://" not in html and "https://" not in html, "external reference in index.html")
    # No inline handlers or HTML injection sinks anywhere in the scripts.
    for path in ["/console/js/app.js", "/console/js/dom.js", "/console/js/pages/attestations.js"]:
        js = srv.request("GET", path).body.decode()
        check("innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
              and "document.write" not in js and "eval(" not in js, "%s uses an HTML sink" % path)


def test_console_files_from_a_directory(ctx):
    src = os.path.join(H.REPO, "console")
    srv = ctx.server("files", args=["--console-files", src])
    with open(os.path.join(src, "js", "app.js"), "rb") as f:
        want = f.read()
    r = srv.request("GET", "/console/js/app.js")
    H.expect_status(r, 200)
    check(r.body == want, "served app.js differs from the directory's")
    with open(srv.logpath) as f:
        log = f.read()
    check("console: serving" in log and src in log, "no log line for the directory")
    srv.stop()


# ------------------------------------------------------- attestation log

def test_attestation_log(ctx):
    srv = ctx.shared
    g = H.PyGuest(srv)
    g.handshake()
    # A refusal at /attestation with an evidence field carrying markup.
    ev = H.b64url(json.dumps({"attestation_report": "<img src=x onerror=alert(1)>"}).encode())
    r = srv.request("POST", "/attestation", body={"verification_requests": [
        {"tee": "snp", "evidence": ev}], "policy_ids": []})
    H.expect_problem(r, 401, "AttestationError")
    a = admin_console(ctx)
    items = a.req("GET", API + "/attestations?limit=10").json()["items"]
    check(len(items) >= 2, "log %r" % items)
    ref = items[0]
    check(ref["verdict"] == "refused" and ref["tee"] == "snp" and ref["endpoint"] == "/attestation"
          and ref["source"] == "127.0.0.1" and "snp evidence rejected" in ref["reason"], "refusal %r" % ref)
    ok = next(i for i in items if i["endpoint"] == "/kbs/v0/attest")
    check(ok["tee"] == "sample" and ok["verdict"] in ("affirming", "warning", "contraindicated", "none")
          and isinstance(ok["trust_vector"], dict) and ok["token"]["exp"] > time.time(), "success %r" % ok)
    check("claims" not in ok and "ear" not in ok, "summary carries claims")
    d = a.req("GET", API + "/attestations/" + ok["id"]).json()
    check("sample" in d["claims"] and d["claims_from"].startswith("ear"), "claims %r" % d.get("claims"))
    check(set(d["ear"]) == {"header", "payload"} and d["ear"]["header"]["alg"] == "ES256",
          "ear %r" % d["ear"].keys())
    check(g.token.split(".")[2] not in json.dumps(d), "the token's signature is stored")
    # The record's ear is the issued token's own header and payload, and
    # the whole record carries the summary's members too.
    hdr, pl = [json.loads(H.b64url_decode(x)) for x in g.token.split(".")[:2]]
    if d["token"]["iat"] == pl["iat"] and d["token"]["exp"] == pl["exp"]:
        check(d["ear"]["header"] == hdr and d["ear"]["payload"] == pl, "ear differs from the token")
    for k in ("id", "time", "endpoint", "tee", "source", "verdict", "reason", "trust_vector",
              "policy_id", "token", "latency_us"):
        check(k in d and d[k] == ok[k], "record member %s %r, summary %r" % (k, d.get(k), ok.get(k)))
    # Filters, paging, errors.
    r = a.req("GET", API + "/attestations?verdict=refused&tee=snp").json()
    check(all(i["verdict"] == "refused" and i["tee"] == "snp" for i in r["items"]) and r["items"], "filter %r" % r)
    p1 = a.req("GET", API + "/attestations?limit=1").json()
    check(len(p1["items"]) == 1 and p1["next_cursor"], "page 1 %r" % p1)
    p2 = a.req("GET", API + "/attestations?limit=1&cursor=" + p1["next_cursor"]).json()
    check(p2["items"][0]["id"] < p1["items"][0]["id"], "page 2 not older")
    H.expect_problem(a.req("GET", API + "/attestations?verdict=great"), 400, "BadRequest")
    H.expect_problem(a.req("GET", API + "/attestations?since=yesterday"), 400, "BadRequest")
    H.expect_problem(a.req("GET", API + "/attestations/0000000000000000-00000000"), 404, "NotFound")
    H.expect_problem(a.req("GET", API + "/attestations/x"), 404, "NotFound")
    # trusteectl attestation list|show
    base = H.cli_base(srv, admin=True)
    p = H.cli_ok(H.run_cli(base + ["attestation", "list", "--verdict", "refused"]), "attestation list")
    out = p.stdout.decode()
    check(ref["id"] in out and "refused" in out, out)
    p = H.cli_ok(H.run_cli(base + ["--json", "attestation", "show", ok["id"]]), "attestation show")
    check(json.loads(p.stdout)["id"] == ok["id"], "show --json")
    p = H.run_cli(base + ["attestation", "list", "--verdict", "x"])
    check(p.returncode == 1, "bad verdict exit %d" % p.returncode)


def test_attestation_log_retention(ctx):
    srv = ctx.server("keep", args=["--attestation-log-keep", "3"])
    for _ in range(5):
        H.PyGuest(srv).handshake()
    c = Console(srv)
    c.login("admin", admin_password(srv))
    # Retention runs with the housekeeping (at most every 15 s).
    deadline = time.monotonic() + 40
    while True:
        items = c.req("GET", API + "/attestations").json()["items"]
        if len(items) == 3 or time.monotonic() > deadline:
            break
        time.sleep(1)
    check(len(items) == 3, "kept %d" % len(items))
    srv.stop()
    srv.start()
    c.login("admin", admin_password(srv))
    check(len(c.req("GET", API + "/attestations").json()["items"]) == 3, "after restart")
    srv.stop()


# --------------------------------------------- store outages and integrity

def db_path(srv):
    return os.path.join(srv.state, "trustee.db")


def test_store_unavailable_is_503(ctx):
    # Another process holds the SQLite write lock past the store's
    # timeout: a login (it writes the session) answers 503 with
    # Retry-After, and works again once the lock is gone. (MariaDB
    # stopped and frozen: tests/integration/test_ha.py.)
    import sqlite3
    H.sqlite_only("the SQLite write lock held by another process")
    srv = ctx.server("busy")
    pw = admin_password(srv)
    db = sqlite3.connect(db_path(srv), timeout=1, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        c = Console(srv)
        r = c.login("admin", pw, expect=503)
        H.expect_problem(r, 503, "ServiceUnavailable", "database is unavailable")
        check(int(r.header("Retry-After") or 0) >= 1, "Retry-After %r" % r.header("Retry-After"))
    finally:
        db.execute("ROLLBACK")
        db.close()
    Console(srv).login("admin", pw)
    srv.stop()


def _rows_set(srv, tbl, rows):
    """Write {id hex: blob} into tbl of srv's database (SQLite file or,
    on the MariaDB pass, its MariaDB database)."""
    mdb = H.store_database(srv)
    if mdb is not None:
        for i, b in rows.items():
            H.mariadb_server().sql(
                "UPDATE `rows` SET `blob` = UNHEX('%s') WHERE tbl = '%s' AND "
                "id = UNHEX('%s');" % (b.hex(), tbl, i), database=mdb)
        return
    import sqlite3
    db = sqlite3.connect(db_path(srv), timeout=10, isolation_level=None)
    for i, b in rows.items():
        db.execute("UPDATE rows SET blob = ? WHERE tbl = ? AND id = ?",
                   (b, tbl, bytes.fromhex(i)))
    db.close()


def _tamper(srv, tbl):
    """Flip one ciphertext byte of every row of tbl; returns {id hex: blob}."""
    mdb = H.store_database(srv)
    if mdb is not None:
        rows = {i.lower(): bytes.fromhex(b) for i, b in H.mariadb_server().sql(
            "SELECT HEX(id), HEX(`blob`) FROM `rows` WHERE tbl = '%s';" % tbl,
            database=mdb)}
    else:
        import sqlite3
        db = sqlite3.connect(db_path(srv), timeout=10, isolation_level=None)
        rows = {bytes(i).hex(): bytes(b) for i, b in
                db.execute("SELECT id, blob FROM rows WHERE tbl = ?", (tbl,))}
        db.close()
    bad = {}
    for i, b in rows.items():
        x = bytearray(b)
        x[-20] ^= 1
        bad[i] = bytes(x)
    _rows_set(srv, tbl, bad)
    return rows


def test_integrity_errors_name_the_row(ctx):
    srv = ctx.server("tamper")
    pw = admin_password(srv)
    H.PyGuest(srv).handshake()
    bearer = {"Authorization": "Bearer " + H.admin_token(srv)}
    entry = srv.request("GET", API + "/attestations", headers=bearer).json()["items"][0]
    # An attestation log row that fails authentication: the entry is an
    # IntegrityError naming its row; a page skips it and names it.
    rows = _tamper(srv, "attestations")
    check(len(rows) >= 1, "no attestation rows")
    r = srv.request("GET", API + "/attestations/" + entry["id"], headers=bearer)
    H.expect_problem(r, 500, "IntegrityError", "")
    check(any(i in r.json()["detail"] for i in rows), "detail names no row: %r" % r.json())
    page = srv.request("GET", API + "/attestations", headers=bearer).json()
    check(page["items"] == [] and {p["id"] for p in page["problems"]} == set(rows),
          "page %r" % page)
    page = srv.request("GET", API + "/attestations?verdict=" + entry["verdict"],
                       headers=bearer).json()
    check(page["items"] == [] and {p["id"] for p in page["problems"]} == set(rows),
          "filtered page %r" % page)
    _rows_set(srv, "attestations", rows)
    H.expect_status(srv.request("GET", API + "/attestations/" + entry["id"], headers=bearer), 200)
    # A user row that fails authentication: a login as that user is an
    # IntegrityError naming the row (never a silent 401).
    rows = _tamper(srv, "users")
    r = Console(srv).login("admin", pw, expect=500)
    H.expect_problem(r, 500, "IntegrityError", "")
    check(any(i in r.json()["detail"] for i in rows), "detail names no row: %r" % r.json())
    r = srv.request("GET", API + "/users/admin", headers=bearer)
    H.expect_problem(r, 500, "IntegrityError", "")
    _rows_set(srv, "users", rows)
    Console(srv).login("admin", pw)
    srv.stop()


def test_two_instances_share_the_console_on_mariadb(ctx):
    # Two --dev instances on one MariaDB store: a session made on one
    # is honoured by the other and ended there by logout; a user added on
    # one logs in on the other; an attestation on one is on the other's
    # log pages, unfiltered once B's group commit wrote it (100 ms) and
    # filtered within a few polls.
    import shutil
    try:
        import mariadb as M
    except ImportError:
        M = None
    missing = ["tests/integration/mariadb.py"] if M is None else M.missing()
    if missing:
        print("# console_api.two_instances: SKIPPED: %s" % "; ".join(missing), flush=True)
        check(not H.in_ci(), "MariaDB missing under CI: %s" % missing)
        return
    os.chmod(ctx.tmp, 0o711)           # the server may run as mysql
    db = M.Server(ctx.path("mariadb")).start()
    cred = ctx.path("creds")
    os.makedirs(cred)
    shutil.copy(db.password_file, os.path.join(cred, "trustee-db-password"))
    os.chmod(os.path.join(cred, "trustee-db-password"), 0o600)
    os.environ["CREDENTIALS_DIRECTORY"] = cred
    try:
        state = ctx.path("shared-state")
        store = ["--store", db.dsn()]
        a = ctx.server("mdb-a", state_dir=state, args=store)
        b = ctx.server("mdb-b", state_dir=state, args=store)
        pw = admin_password(a)
        ca = Console(a)
        ca.login("admin", pw)
        cb = Console(b)
        cb.cookie, cb.csrf = ca.cookie, ca.csrf
        H.expect_status(cb.req("GET", API + "/whoami"), 200)
        H.expect_status(cb.req("POST", API + "/users", body={
            "name": "shared-op", "role": "operator", "password": "shared-op-pass-1"}), 201)
        Console(a).login("shared-op", "shared-op-pass-1")
        H.expect_status(cb.req("POST", "/console/api/logout"), 204)
        H.expect_problem(ca.req("GET", API + "/whoami"), 401, "Unauthenticated")
        ca.login("admin", pw)
        g = H.PyGuest(b)
        g.handshake()
        # B group-commits its log rows (within 100 ms): A's unfiltered
        # page shows the row once B has committed it.
        deadline = time.monotonic() + 10
        while True:
            ids_b = [i["id"] for i in ca.req("GET", API + "/attestations").json()["items"]]
            if ids_b or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        check(len(ids_b) == 1, "A's unfiltered page lacks B's entry: %r" % ids_b)
        deadline = time.monotonic() + 20
        while True:
            page = ca.req("GET", API + "/attestations?tee=sample&source=127.0.0.1").json()
            if [i["id"] for i in page["items"]] == ids_b or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        check([i["id"] for i in page["items"]] == ids_b, "A's filtered page: %r" % page)
        a.stop()
        b.stop()
    finally:
        os.environ.pop("CREDENTIALS_DIRECTORY", None)
        db.stop()


# ------------------------------------------------------------ reveal

def test_reveal_is_admin_only_and_audited(ctx):
    a = admin_console(ctx)
    H.expect_status(a.req("PUT", API + "/resources/rev/key/one", b"the-secret-value",
                          extra={"Content-Type": "text/plain"}), 201)
    m = a.req("GET", API + "/resources/rev/key/one").body
    check(b"the-secret-value" not in m, "metadata shows the value")
    r = a.req("POST", API + "/resources/rev/key/one/reveal", {"reason": "incident 42"})
    H.expect_status(r, 200)
    j = r.json()
    check(j["value"] == "the-secret-value" and j["version"] == 1, "reveal %r" % j)
    check(r.header("Cache-Control") == "no-store", "reveal is cacheable")
    au = a.req("GET", API + "/audit?action=resource.reveal").json()["items"]
    check(au and au[0]["target"] == "rev/key/one" and au[0]["reason"] == "incident 42"
          and au[0]["actor"] == "admin (admin)", "audit %r" % au[:1])
    check(b"the-secret-value" not in json.dumps(au).encode(), "audit holds the value")
    H.expect_problem(a.req("POST", API + "/resources/rev/key/none/reveal"), 404, "NotFound")
    tok = H.admin_token(srv=ctx.shared, role="operator")
    r = ctx.shared.request("POST", API + "/resources/rev/key/one/reveal",
                           headers={"Authorization": "Bearer " + tok})
    H.expect_problem(r, 403, "Forbidden")


# ------------------------------------------------------------ metrics

def test_metrics_and_probes(ctx):
    srv = ctx.shared
    g = H.PyGuest(srv)
    g.handshake()
    g.get("resource/weird/<script>/x")
    r = srv.request("GET", "/metrics")
    H.expect_status(r, 200)
    check(r.header("Content-Type").startswith("text/plain; version=0.0.4"), r.header("Content-Type"))
    m = r.body.decode()
    for name in ["kbs_build_info", "kbs_http_requests_total", "kbs_http_request_duration_seconds_bucket",
                 "kbs_http_request_size_bytes_bucket", "kbs_http_response_size_bytes_bucket",
                 "kbs_http_active_connections", "kbs_resource_reads_total", "kbs_resource_writes_total",
                 "kbs_resource_deletes_total", "kbs_policy_evaluations_total", "kbs_policy_approvals_total",
                 "kbs_policy_violations_total", "kbs_policy_errors_total", "kbs_attestation_requests_total",
                 "kbs_attestation_errors_total", "kbs_attestation_successes_total",
                 "kbs_attestation_failures_total", "kbs_auth_requests_total", "kbs_auth_successes_total",
                 "kbs_auth_errors_total", "kbs_plugin_requests_total", "kbs_plugin_errors_total",
                 "kbs_plugin_request_duration_seconds_bucket", "trustee_verifications_total",
                 "trustee_verification_duration_seconds_bucket", "trustee_policy_evaluation_duration_seconds_count",
                 "trustee_store_operation_duration_seconds_count", "trustee_sealer_info",
                 "trustee_data_key_version", "trustee_console_sessions", "trustee_http_requests_total"]:
        check(re.search(r"^%s[ {]" % name, m, re.M), "metric %s missing" % name)
    check(re.search(r'^kbs_attestation_successes_total\{tee_type="sample"\} [1-9]', m, re.M), "sample success")
    check(re.search(r'^trustee_verifications_total\{tee="sample",result="\w+"\} [1-9]', m, re.M), "verifications")
    check("<script>" not in m and "weird" not in m, "a client string became a label")
    labels = set(re.findall(r'(\w+)="', m))
    check(labels <= {"version", "git_hash", "build_date", "tee_type", "plugin_name", "le", "route",
                     "code", "tee", "result", "op", "kind"}, "unexpected labels %r" % labels)
    for line in m.splitlines():
        if line and not line.startswith("#"):
            check(re.fullmatch(r'[a-z_]+(\{[^}]*\})? -?[0-9.e+-]+', line), "bad sample line %r" % line)
    r = srv.request("GET", "/readyz")
    H.expect_status(r, 200)
    check(r.json() == {"status": "ready", "store": True, "key_unsealed": True}, r.json())
    H.expect_status(srv.request("HEAD", "/healthz"), 200)
    H.expect_status(srv.request("POST", "/healthz"), 405)


def test_stats(ctx):
    a = admin_console(ctx)
    s = a.req("GET", API + "/stats").json()
    check(len(s["minutes"]) == 60 and s["window_minutes"] == 60, "minutes")
    check(s["attestations"]["total"] >= 1 and len(s["attestations"]["by_verdict"]["refused"]) == 60, "att %r" % s["attestations"]["total"])
    check(s["sessions"]["console"] >= 1 and s["health"]["store"]["ok"] is True, "health %r" % s["health"])
    check(s["health"]["sealer"]["kind"] == "file" and "warning" in s["health"]["sealer"], "sealer")
    check(s["health"]["data_key"]["version"] >= 1, "data key")
    check(any("snp evidence rejected" in x["reason"] for x in s["top_denial_reasons"]), "reasons %r" % s["top_denial_reasons"])
    check(s["latency_ms"]["window_p99"] is not None, "latency")


def test_collateral_freshness(ctx):
    vec = os.path.join(H.REPO, "tests", "vectors", "tdx-v4-uptodate")
    srv = ctx.server("coll", args=["--dcap-collateral", vec])
    c = Console(srv)
    c.login("admin", admin_password(srv))
    coll = c.req("GET", API + "/stats").json()["health"]["collateral"]
    kinds = {x["kind"] for x in coll}
    check({"dcap_tcb_info", "dcap_qe_identity"} <= kinds, "kinds %r" % kinds)
    tcb = next(x for x in coll if x["kind"] == "dcap_tcb_info")
    check(tcb["expires"] == "2025-07-19T10:16:03Z" and tcb["status"] == "expired", "tcb %r" % tcb)
    m = srv.request("GET", "/metrics").body.decode()
    check('trustee_collateral_expiry_timestamp_seconds{kind="dcap_tcb_info"} 1752920163' in m,
          "collateral metric")
    srv.stop()


# ------------------------------------------------------------- trusteectl

def test_cli_users(ctx):
    srv = ctx.shared
    base = H.cli_base(srv, admin=True)
    p = H.cli_ok(H.run_cli(base + ["user", "add", "cli-user", "--role", "auditor",
                                   "--password-file", "-"], input=b"cli-password-1\n"), "user add")
    check("auditor" in p.stdout.decode(), p.stdout)
    c = Console(srv)
    c.login("cli-user", "cli-password-1")
    pf = ctx.write("pw.txt", "cli-password-2\n")
    H.cli_ok(H.run_cli(base + ["user", "passwd", "cli-user", "--password-file", pf]), "user passwd")
    c.login("cli-user", "cli-password-2")
    H.cli_ok(H.run_cli(base + ["user", "role", "cli-user", "operator"]), "user role")
    H.cli_ok(H.run_cli(base + ["user", "disable", "cli-user"]), "user disable")
    c.login("cli-user", "cli-password-2", expect=401)
    H.cli_ok(H.run_cli(base + ["user", "enable", "cli-user"]), "user enable")
    p = H.cli_ok(H.run_cli(base + ["--json", "user", "list"]), "user list")
    users = {u["name"]: u for u in json.loads(p.stdout)["items"]}
    check(users["cli-user"]["role"] == "operator" and not users["cli-user"]["disabled"], "%r" % users)
    H.cli_ok(H.run_cli(base + ["user", "delete", "cli-user"]), "user delete")
    p = H.run_cli(base + ["user", "delete", "cli-user"])
    check(p.returncode == 1, "deleting twice: exit %d" % p.returncode)
    # No password on the command line, ever.
    p = H.run_cli(base + ["user", "add", "x2", "password-on-argv"])
    check(p.returncode == 2, "a password operand accepted: %d" % p.returncode)
    p = H.run_cli(base + ["user", "add", "x3", "--password-file", "-"], input=b"")
    check(p.returncode == 1 and b"no password" in p.stderr, p.stderr)


def test_config_keys(ctx):
    import subprocess
    good = ctx.write("good.toml", """[http_server]
insecure_http = true
[admin]
mode = "deny_all"
[attestation]
log_keep = 500
log_max_age_days = 7
[console]
enabled = true
files = "%s"
session_idle_timeout = 600
session_lifetime = 3600
login_delay_after = 2
login_lockout_failures = 5
login_lockout_seconds = 300
login_lockout_source_failures = 50
""" % os.path.join(H.REPO, "console"))
    p = subprocess.run([H.TRUSTEED, "-n", "-c", good], capture_output=True, timeout=30)
    check(p.returncode == 0, p.stderr.decode())
    bad = ctx.write("bad.toml", """[http_server]
insecure_http = true
[admin]
mode = "deny_all"
[console]
session_idle_timeout = 5
login_lockout_failures = "ten"
frobnicate = 1
[attestation]
log_keep = 1
""")
    p = subprocess.run([H.TRUSTEED, "-n", "-c", bad], capture_output=True, timeout=30)
    err = p.stderr.decode()
    check(p.returncode != 0, "bad console config accepted")
    for want in ("bad.toml:6:", "bad.toml:7:", "bad.toml:8: unknown key 'frobnicate' in [console]",
                 "bad.toml:10:"):
        check(want in err, "%r not in %s" % (want, err))


if __name__ == "__main__":
    H.main(globals(), "console_api")
