#!/usr/bin/python3
"""
test_cli.py: every trusteectl command against a running `trusteed --dev`:
resource list/info/versions/put/delete/restore/get, policy
list/get/set/test/versions/restore, rv add/list/get/revoke/import, token
decode/verify, status, whoami, audit, keygen, attest, help; the --json
output of each parses; and the exit-code contract of man/trusteectl.8:

    0  success
    1  refused by the server (not found, invalid, role not allowed) or
       failed (policy compile error, token does not verify, unhealthy)
    2  usage error (nothing is sent)
    3  server unreachable, or credentials rejected (401)

Written from docs/api.md and the man page, not from the C code.
"""

import sys

sys.dont_write_bytecode = True

import base64
import http.server
import json
import os
import re
import ssl
import stat
import threading

import harness as H
from harness import check

ATT_POLICY = """-- test attestation policy (version %d)
return function(input)
  trustee.log("tee svn " .. tostring(input.sample and input.sample.svn))
  return { ["trust_vector"] = { executables = 2, hardware = 2,
                                configuration = 2, ["instance-identity"] = 2 } }
end
"""

# A Lua syntax error on line 4 ('then' missing).
BAD_POLICY = """-- broken on purpose
return function(input)
  local x = 1
  if x == 1
    return {}
  end
end
"""

DENY_RESOURCE_POLICY = """return function(claims, request)
  trustee.log("asked for " .. table.concat(request["resource-path"], "/"))
  return false, "cli test says no"
end
"""

ALLOW_RESOURCE_POLICY = """return function(claims, request)
  return true, "cli test says yes"
end
"""

REGO_POLICY = """package policy
default allow = false
"""


# ------------------------------------------------------------------ helpers

def ctl(srv, *args, admin=True, role=None, stdin=None, url=None):
    """Run trusteectl against srv (None: no server flags)."""
    base = []
    if srv is not None:
        base = ["--url", url or srv.url, "--cacert", srv.cacert]
        if admin:
            base += ["--admin-key", srv.admin_key]
    elif url is not None:
        base = ["--url", url]
    if role is not None:
        base += ["--role", role]
    if isinstance(stdin, str):
        stdin = stdin.encode()
    return H.run_cli(base + list(args), input=stdin)


def out(p):
    return p.stdout.decode("utf-8", "replace")


def err(p):
    return p.stderr.decode("utf-8", "replace")


def expect_exit(p, code, what, stderr_has=(), stdout_has=()):
    check(p.returncode == code, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
          % (what, p.returncode, code, out(p)[-600:], err(p)[-600:]))
    for s in ([stderr_has] if isinstance(stderr_has, str) else stderr_has):
        check(s.lower() in err(p).lower(), "%s: stderr lacks %r: %s"
              % (what, s, err(p)[-600:]))
    for s in ([stdout_has] if isinstance(stdout_has, str) else stdout_has):
        check(s in out(p), "%s: stdout lacks %r: %s" % (what, s, out(p)[-600:]))
    return p


def ok(p, what, stdout_has=()):
    return expect_exit(p, 0, what, stdout_has=stdout_has)


def as_json(p, what):
    ok(p, what)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise H.TestFailure("%s: --json output does not parse: %r"
                            % (what, p.stdout[:300]))


def items_of(doc, what):
    check(isinstance(doc, dict) and isinstance(doc.get("items"), list),
          "%s: not a {items: [...]} list: %r" % (what, doc))
    return doc["items"]


def sample_token(ctx, srv):
    if "token" not in ctx.data:
        p = ok(ctl(srv, "attest", "--tee", "sample", admin=False), "attest")
        ctx.data["token"] = H.find_jwt(out(p))
    return ctx.data["token"]


def sample_envelope(values):
    payload = base64.b64encode(json.dumps(values).encode()).decode()
    return json.dumps({"version": "0.1.0", "type": "sample", "payload": payload})


class FakeServer:
    """A tiny HTTPS server with srv's TLS certificate answering canned
    (status, JSON) per (method, path): for answers a healthy trusteed never
    gives (degraded health, 5xx, problems with extra members)."""

    def __init__(self, srv, routes):
        self.routes = routes
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                status, body = fake.routes.get((self.command, self.path),
                                               (404, {"type": H.ERR_PREFIX + "NotFound",
                                                      "detail": "fake: no route"}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(srv.cacert, os.path.join(srv.state, "tls", "key.pem"))
        self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------------ help / usage

def test_help_lists_every_command(ctx):
    p = ok(H.run_cli(["help"]), "help")
    text = out(p)
    for cmd in ("keygen", "status", "whoami", "audit", "attest",
                "resource list", "resource info", "resource versions",
                "resource put", "resource delete", "resource restore",
                "resource get", "policy list", "policy get", "policy set",
                "policy test", "policy versions", "policy restore",
                "rv add", "rv list", "rv get", "rv revoke", "rv import",
                "token decode", "token verify", "evidence verify",
                "key status", "key rotate", "key export", "store check",
                "store delete-row"):
        check(re.search(r"^  %s\b" % re.escape(cmd), text, re.M),
              "help does not list %r" % cmd)
    check("Exit status" in text and "3 " in text, "help lacks the exit codes")
    ok(H.run_cli(["help", "policy"]), "help policy", stdout_has="policy set")
    ok(H.run_cli(["policy", "--help"]), "policy --help", stdout_has="policy test")
    ok(H.run_cli(["rv", "add", "--help"]), "rv add --help", stdout_has="VALUE-JSON")


def test_usage_errors_exit_2(ctx):
    srv = ctx.shared
    cases = [
        ([], "missing command"),
        (["frobnicate"], "unknown command"),
        (["policy"], "missing subcommand"),
        (["policy", "frob"], "unknown subcommand"),
        (["policy", "set"], "missing FILE"),
        (["policy", "set", "--kind", "bogus", "x.lua"], "--kind"),
        (["policy", "get", "--version", "zero"], "--version"),
        (["policy", "test", "--kind", "attestation"], "--input"),
        (["policy", "test", "--version", "1", "x.lua", "--input", "i.json"], "not both"),
        (["policy", "restore"], "missing VERSION"),
        (["policy", "restore", "abc"], "VERSION"),
        (["rv", "add", "only-name"], "VALUE-JSON"),
        (["rv", "add", "n", "not json"], "not JSON"),
        (["rv", "add", "n", "1", "--expires", "2026-13-45"], "--expires"),
        (["rv", "add", "n", "1", "--days", "-3"], "--days"),
        (["rv", "add", "n", "1", "--days", "3", "--expires", "2030-01-01"], "not both"),
        (["rv", "revoke", "n"], "--reason"),
        (["rv", "list", "--state", "bogus"], "--state"),
        (["rv", "get"], "missing NAME"),
        (["rv", "import"], "ENVELOPE"),
        (["resource", "restore", "a/b/c", "x"], "VERSION"),
        (["resource", "versions", "not-a-path"], "invalid resource path"),
        (["resource", "list", "--nope"], "unknown option"),
        (["resource", "put", "a/b/c"], "--file"),
        (["token", "decode"], "missing TOKEN"),
        (["token", "decode", "a", "b"], "unexpected argument"),
        (["audit", "--since", "yesterday"], "--since"),
        (["audit", "--limit", "0"], "--limit"),
        (["status", "extra"], "unexpected argument"),
    ]
    for args, msg in cases:
        p = ctl(srv, *args)
        expect_exit(p, 2, "trusteectl %s" % " ".join(args), stderr_has=msg)
        check(p.stdout == b"", "usage error %r printed on stdout: %r" % (args, p.stdout[:100]))
    expect_exit(H.run_cli(["--timeout", "0", "status"]), 2, "--timeout 0", "--timeout")
    expect_exit(H.run_cli(["--role", "", "status"]), 2, "--role ''", "--role")
    expect_exit(H.run_cli(["--url", "ftp://x", "status"]), 2, "--url ftp://", "URL")
    # admin commands without an admin key: usage error, nothing sent
    for args in (["resource", "list"], ["policy", "list"], ["rv", "list"],
                 ["whoami"], ["audit"]):
        expect_exit(ctl(srv, *args, admin=False), 2,
                    "%s without --admin-key" % " ".join(args), "admin key")


def test_unreachable_exit_3(ctx):
    srv = ctx.shared
    dead = "https://127.0.0.1:%d" % H.free_port()
    for args in (["resource", "list"], ["status"], ["policy", "get"],
                 ["rv", "get", "x"], ["token", "verify", "--jwks", "a.b.c"]):
        if args[0] == "token":
            tok = sample_token(ctx, srv)
            args = ["token", "verify", "--jwks", tok]
        expect_exit(ctl(srv, *args, url=dead), 3,
                    "%s against a closed port" % " ".join(args[:2]))
    expect_exit(ctl(srv, "attest", "--tee", "sample", admin=False, url=dead), 3,
                "attest against a closed port")
    # TLS failure: the server's certificate is not trusted
    p = H.run_cli(["--url", srv.url, "--cacert", "/etc/ssl/certs/ca-certificates.crt",
                   "--admin-key", srv.admin_key, "resource", "list"])
    expect_exit(p, 3, "untrusted server certificate")


def test_foreign_key_exit_3(ctx):
    srv = ctx.shared
    key = ctx.path("foreign.pem")
    ok(H.run_cli(["keygen", "--out", key]), "keygen")
    for args in (["resource", "list"], ["status"]):
        p = H.run_cli(["--url", srv.url, "--cacert", srv.cacert, "--admin-key", key]
                      + args)
        expect_exit(p, 3, "%s with an untrusted admin key" % args[0],
                    stderr_has="401")
    f = ctx.write("foreign.lua", ATT_POLICY % 1)
    p = H.run_cli(["--url", srv.url, "--cacert", srv.cacert, "--admin-key", key,
                   "policy", "set", "--id", "foreign_cpu", f])
    expect_exit(p, 3, "policy set with an untrusted admin key", stderr_has="Unauthenticated")


def test_keygen(ctx):
    key = ctx.path("kg.pem")
    p = ok(H.run_cli(["keygen", "--out", key]), "keygen")
    check(out(p).split() == [key, key + ".pub"], "keygen printed %r" % out(p))
    check(stat.S_IMODE(os.stat(key).st_mode) == 0o600, "private key mode")
    check(b"PUBLIC KEY" in open(key + ".pub", "rb").read(), "no public key PEM")
    expect_exit(H.run_cli(["keygen", "--out", key]), 1, "keygen over an existing key",
                stderr_has="exists")


# ------------------------------------------------------------------ status / whoami / audit

def test_status(ctx):
    srv = ctx.shared
    p = ok(ctl(srv, "status"), "status")
    for comp in ("store", "sealer", "policy", "verifiers", "admin"):
        check(re.search(r"^%s\s+yes" % comp, out(p), re.M),
              "status: component %s not shown ok: %s" % (comp, out(p)))
    check(re.search(r"^status\s+ok", out(p), re.M), "status line: %s" % out(p))
    doc = as_json(ctl(srv, "--json", "status"), "status --json")
    check(doc.get("status") == "ok" and isinstance(doc.get("components"), dict),
          "status --json: %r" % doc)
    doc = as_json(ctl(srv, "status", "--json"), "status --json after the command")
    check(doc.get("status") == "ok", "status --json: %r" % doc)
    # no admin key: liveness only
    p = ok(ctl(srv, "status", admin=False), "status without a key", stdout_has="ok")
    check("liveness" in out(p), "status without key: %s" % out(p))


def test_status_unhealthy_and_problems(ctx):
    srv = ctx.shared
    health = {"status": "degraded", "version": "0.1.0", "components": {
        "store": {"ok": False, "type": "sqlite", "error": "disk I/O error"},
        "sealer": {"ok": True, "type": "file"},
        "policy": {"ok": True}}}
    fake = FakeServer(srv, {
        ("GET", "/api/v1/health"): (503, health),
        ("GET", "/healthz"): (503, {"type": H.ERR_PREFIX + "Unavailable",
                                    "detail": "store down"}),
        ("GET", "/api/v1/reference-values/x"): (
            500, {"type": H.ERR_PREFIX + "InternalError", "detail": "store failure",
                  "hint": "see the server log"}),
        ("GET", "/api/v1/reference-values/y"): (
            401, {"type": H.ERR_PREFIX + "Unauthenticated", "detail": "token expired"}),
    })
    try:
        p = expect_exit(ctl(srv, "status", url=fake.url), 1, "status degraded",
                        stderr_has="not healthy")
        check(re.search(r"^store\s+NO\s+sqlite; error: disk I/O error", out(p), re.M),
              "degraded component not shown: %s" % out(p))
        check(re.search(r"^status\s+degraded", out(p), re.M), "status line: %s" % out(p))
        doc = json.loads(expect_exit(ctl(srv, "--json", "status", url=fake.url), 1,
                                     "status --json degraded").stdout)
        check(doc == health, "status --json printed %r" % doc)
        expect_exit(ctl(srv, "status", url=fake.url, admin=False), 1,
                    "liveness 503", stderr_has=["503", "store down"])
        expect_exit(ctl(srv, "rv", "get", "x", url=fake.url), 1, "500 problem",
                    stderr_has=["500 InternalError: store failure", "hint: see the server log"])
        expect_exit(ctl(srv, "rv", "get", "y", url=fake.url), 3, "401 problem",
                    stderr_has="401 Unauthenticated: token expired")
    finally:
        fake.close()


def test_whoami_and_role(ctx):
    srv = ctx.shared
    p = ok(ctl(srv, "whoami"), "whoami")
    check(re.search(r"^role\s+admin", out(p), re.M), "whoami: %s" % out(p))
    doc = as_json(ctl(srv, "--json", "whoami", role="operator"), "whoami --role operator")
    check(doc.get("role") == "operator", "whoami role: %r" % doc)
    doc = as_json(ctl(srv, "--json", "whoami", role="auditor"), "whoami --role auditor")
    check(doc.get("role") == "auditor", "whoami role: %r" % doc)
    # TRUSTEE_ROLE is the default for --role
    env = dict(os.environ, TRUSTEE_ROLE="operator")
    p = H.subprocess.run([H.TRUSTEECTL] + H.cli_base(srv, admin=True) + ["--json", "whoami"],
                         stdout=H.subprocess.PIPE, stderr=H.subprocess.PIPE, env=env,
                         timeout=60)
    check(p.returncode == 0 and json.loads(p.stdout).get("role") == "operator",
          "TRUSTEE_ROLE=operator: %r %r" % (p.stdout, p.stderr))


# ------------------------------------------------------------------ resources

def test_resource_lifecycle(ctx):
    srv = ctx.shared
    name = "cli/test/lifecycle"
    f = ctx.write("v1.bin", b"version one\n")
    p = ok(ctl(srv, "resource", "put", name, "--file", f), "put v1")
    check("stored %s (12 bytes), version 1" % name in out(p), "put v1: %s" % out(p))
    p = ok(ctl(srv, "resource", "put", name, "--value", "version two"), "put v2")
    check("version 2" in out(p), "put v2: %s" % out(p))
    # stdin
    ok(ctl(srv, "resource", "put", "cli/test/stdin", "--file", "-", stdin=b"from stdin"),
       "put from stdin")

    p = ok(ctl(srv, "resource", "list"), "resource list")
    check(re.search(r"^NAME\s+VERSION\s+SIZE", out(p), re.M), "list header: %s" % out(p))
    check(re.search(r"^%s\s+2\s+11\s" % re.escape(name), out(p), re.M),
          "list row for %s: %s" % (name, out(p)))
    check("version two" not in out(p), "list shows a value")
    items = items_of(as_json(ctl(srv, "--json", "resource", "list"), "list --json"), "list")
    row = [i for i in items if i.get("name") == name]
    check(len(row) == 1 and row[0]["version"] == 2 and row[0]["size"] == 11,
          "list --json row: %r" % row)
    items = items_of(as_json(ctl(srv, "resource", "list", "--json", "--prefix", "cli/test"),
                             "list --prefix"), "list --prefix")
    check({i["name"] for i in items} >= {name, "cli/test/stdin"} and
          all(i["name"].startswith("cli/test") for i in items), "prefix: %r" % items)
    p = ok(ctl(srv, "resource", "list", "--prefix", "nosuchrepo"), "list empty prefix")
    check("no resources" in out(p), "empty list message: %s" % out(p))

    p = ok(ctl(srv, "resource", "info", name), "info")
    check(re.search(r"^version\s+2$", out(p), re.M), "info: %s" % out(p))
    doc = as_json(ctl(srv, "--json", "resource", "info", name), "info --json")
    check(doc.get("name") == name and doc.get("versions") == 2, "info --json %r" % doc)

    p = ok(ctl(srv, "resource", "versions", name), "versions")
    rows = [l for l in out(p).splitlines()[1:] if l.strip()]
    check(len(rows) == 2 and rows[0].split()[0] == "2", "versions table: %s" % out(p))
    vers = items_of(as_json(ctl(srv, "--json", "resource", "versions", name),
                            "versions --json"), "versions")
    check([v["version"] for v in vers] == [2, 1] and vers[0]["active"] is True,
          "versions --json: %r" % vers)

    p = ok(ctl(srv, "resource", "restore", name, "1"), "restore 1")
    check("as version 3" in out(p), "restore: %s" % out(p))
    # the guest now receives version 1's bytes
    p = ok(ctl(srv, "resource", "get", name, admin=False), "resource get (guest)")
    check(p.stdout == b"version one\n", "guest got %r after restore" % p.stdout)

    expect_exit(ctl(srv, "resource", "restore", name, "99"), 1, "restore a missing version",
                stderr_has="NotFound")
    p = ok(ctl(srv, "resource", "delete", name), "delete")
    check(out(p).strip() == "deleted %s" % name, "delete: %s" % out(p))
    expect_exit(ctl(srv, "resource", "info", name), 1, "info after delete",
                stderr_has=["404", "NotFound"])
    expect_exit(ctl(srv, "resource", "delete", name), 1, "delete twice",
                stderr_has="NotFound")
    expect_exit(ctl(srv, "resource", "versions", name), 1, "versions after delete",
                stderr_has="NotFound")
    doc = as_json(ctl(srv, "--json", "resource", "put", "cli/test/j", "--value", "x",
                      "--content-type", "text/plain"), "put --json --content-type")
    check(doc.get("name") == "cli/test/j" and doc.get("version") == 1 and
          doc.get("content_type") == "text/plain", "put --json %r" % doc)
    expect_exit(ctl(srv, "resource", "put", "cli/test/j", "--value", "x",
                    "--content-type", "application/json"), 2, "put as application/json",
                "--content-type")


def test_attest_prints_token(ctx):
    srv = ctx.shared
    tok = sample_token(ctx, srv)
    hdr, claims, _ = H.jwt_parts(tok)
    check(hdr.get("alg") == "ES256" and "submods" in claims, "attest token %r" % claims)


# ------------------------------------------------------------------ policies

def test_policy_list_and_get(ctx):
    srv = ctx.shared
    p = ok(ctl(srv, "policy", "list"), "policy list")
    check(re.search(r"^KIND\s+ID\s+VERSION", out(p), re.M), "header: %s" % out(p))
    check(re.search(r"^resource\s+resource-policy\s+\d+", out(p), re.M),
          "resource policy not listed: %s" % out(p))
    check(re.search(r"^attestation\s+default_cpu\s+\d+", out(p), re.M),
          "default_cpu not listed: %s" % out(p))
    items = items_of(as_json(ctl(srv, "--json", "policy", "list"), "policy list --json"),
                     "policy list")
    check(any(i.get("kind") == "attestation" and i.get("id") == "default_cpu" for i in items),
          "policy list --json: %r" % items)
    items = items_of(as_json(ctl(srv, "--json", "policy", "list", "--kind", "resource"),
                             "policy list --kind resource"), "list resource")
    check(items and all(i["kind"] == "resource" for i in items), "kind filter %r" % items)

    p = ok(ctl(srv, "policy", "get"), "policy get (default_cpu)")
    check("function" in out(p), "default_cpu text: %s" % out(p)[:300])
    p = ok(ctl(srv, "policy", "get", "--kind", "resource"), "policy get --kind resource")
    check("function" in out(p), "resource policy text: %s" % out(p)[:300])
    doc = as_json(ctl(srv, "--json", "policy", "get", "--id", "default_cpu"), "get --json")
    check(doc.get("kind") == "attestation" and doc.get("id") == "default_cpu" and
          "function" in doc.get("policy", ""), "get --json %r" % doc)
    dst = ctx.path("got.lua")
    ok(ctl(srv, "policy", "get", "--out", dst), "policy get --out")
    check(open(dst).read() == doc["policy"], "--out file differs from the policy")
    expect_exit(ctl(srv, "policy", "get", "--id", "nosuch_cpu"), 1, "get unknown policy",
                stderr_has="NotFound")


def test_policy_set_versions_restore(ctx):
    srv = ctx.shared
    pid = "clitest_cpu"
    f1 = ctx.write("p1.lua", ATT_POLICY % 1)
    f2 = ctx.write("p2.lua", ATT_POLICY % 2)
    p = ok(ctl(srv, "policy", "set", "--kind", "attestation", "--id", pid, f1), "set v1")
    check(re.search(r"attestation/%s: version 1\b" % pid, out(p)), "set v1: %s" % out(p))
    doc = as_json(ctl(srv, "--json", "policy", "set", "--id", pid, f2), "set v2 --json")
    check(doc.get("version") == 2 and doc.get("id") == pid, "set --json %r" % doc)
    # from standard input
    p = ok(ctl(srv, "policy", "set", "--id", pid, "-", stdin=ATT_POLICY % 3), "set v3 stdin")
    check("version 3" in out(p), "set stdin: %s" % out(p))

    p = ok(ctl(srv, "policy", "versions", "--id", pid), "policy versions")
    rows = [l.split() for l in out(p).splitlines()[1:] if l.strip()]
    check([r[0] for r in rows] == ["3", "2", "1"], "versions order: %s" % out(p))
    vers = items_of(as_json(ctl(srv, "--json", "policy", "versions", "--id", pid),
                            "versions --json"), "versions")
    check(len(vers) == 3 and all(re.fullmatch(r"[0-9a-f]{64}", v.get("sha256", ""))
                                 for v in vers), "versions --json %r" % vers)
    check(vers[0]["active"] is True and vers[2]["active"] is False, "active flags %r" % vers)

    p = ok(ctl(srv, "policy", "get", "--id", pid, "--version", "1"), "get --version 1")
    check(out(p) == ATT_POLICY % 1, "version 1 text: %r" % out(p)[:200])
    p = ok(ctl(srv, "policy", "restore", "--kind", "attestation", "--id", pid, "1"), "restore")
    check("restored as version 4" in out(p), "restore: %s" % out(p))
    p = ok(ctl(srv, "policy", "get", "--id", pid), "get after restore")
    check(out(p) == ATT_POLICY % 1, "active text after restore: %r" % out(p)[:200])
    expect_exit(ctl(srv, "policy", "restore", "--id", pid, "77"), 1, "restore missing version",
                stderr_has="NotFound")
    expect_exit(ctl(srv, "policy", "versions", "--id", "nosuch_cpu"), 1,
                "versions of an unknown policy", stderr_has="NotFound")


def test_policy_set_syntax_error(ctx):
    srv = ctx.shared
    pid = "clibad_cpu"
    good = ctx.write("good.lua", ATT_POLICY % 1)
    ok(ctl(srv, "policy", "set", "--id", pid, good), "set good")
    bad = ctx.write("bad.lua", BAD_POLICY)
    p = expect_exit(ctl(srv, "policy", "set", "--id", pid, bad), 1, "set a broken policy",
                    stderr_has=["PolicyInvalid"])
    # the server's message names the line (Lua's "[string ..]:5:" or "line 5");
    # trusteectl prints that line of the file
    m = re.search(r"(?:\]:|\bline )(\d+)", err(p))
    check(m is not None, "no Lua line number in: %s" % err(p))
    n = int(m.group(1))
    src_line = BAD_POLICY.splitlines()[n - 1]
    check("%s:%d: %s" % (bad, n, src_line) in err(p),
          "offending line not shown (want %r): %s" % (src_line, err(p)))
    # nothing changed
    vers = items_of(as_json(ctl(srv, "--json", "policy", "versions", "--id", pid),
                            "versions"), "versions")
    check(len(vers) == 1, "a broken policy created a version: %r" % vers)
    p = expect_exit(ctl(srv, "policy", "set", "--id", pid, ctx.write("r.rego", REGO_POLICY)),
                    1, "set a Rego policy", stderr_has="PolicyInvalid")
    check("lua" in err(p).lower(), "Rego refusal does not say Lua: %s" % err(p))
    expect_exit(ctl(srv, "policy", "set", "--id", pid, ctx.path("missing.lua")), 1,
                "set from a missing file", stderr_has="missing.lua")


def test_policy_test(ctx):
    srv = ctx.shared
    pid = "clitest2_cpu"
    ok(ctl(srv, "policy", "set", "--id", pid, ctx.write("t.lua", ATT_POLICY % 1)), "set")
    inp = ctx.write("att-input.json", json.dumps({
        "sample": {"svn": "1", "debug": False, "launch_digest": "abcde"},
        "report_data": "", "runtime_data_claims": {}, "init_data": ""}))
    p = ok(ctl(srv, "policy", "test", "--id", pid, "--input", inp), "test stored")
    for k in ("result", "status", "reason"):
        check(re.search(r"^%s\s" % k, out(p), re.M), "test output lacks %s: %s" % (k, out(p)))
    check("affirming" in out(p), "status not affirming: %s" % out(p))
    check("tee svn 1" in out(p), "log line missing: %s" % out(p))
    doc = as_json(ctl(srv, "--json", "policy", "test", "--id", pid, "--version", "1",
                      "--input", inp), "test --json --version")
    check(doc.get("status") == "affirming" and isinstance(doc.get("log"), list) and
          isinstance(doc.get("result"), dict), "test --json %r" % doc)
    # a FILE instead of the stored text: nothing is stored
    p = ok(ctl(srv, "policy", "test", "--id", pid, ctx.write("t2.lua", ATT_POLICY % 9),
               "--input", inp), "test FILE")
    vers = items_of(as_json(ctl(srv, "--json", "policy", "versions", "--id", pid), "v"), "v")
    check(len(vers) == 1, "policy test stored a version: %r" % vers)
    # broken FILE: compile error with the line, exit 1
    bad = ctx.write("tbad.lua", BAD_POLICY)
    # (docs/api.md: 400 PolicyInvalid; a 200 result with "error" is shown the same way)
    p = expect_exit(ctl(srv, "policy", "test", "--id", pid, bad, "--input", inp), 1,
                    "test a broken file")
    check(re.search(re.escape(bad) + r":5:     return \{\}", err(p)),
          "no FILE:LINE in %s" % err(p))
    # a policy that errors at run time: evaluated, error shown, exit 1
    boom = ctx.write("boom.lua", "return function(input) error('kaboom') end\n")
    p = expect_exit(ctl(srv, "policy", "test", "--id", pid, boom, "--input", inp), 1,
                    "test a failing policy", stdout_has="kaboom")
    # resource kind: deny -> exit 1 with the reason, allow -> 0
    rin = ctx.write("res-input.json", json.dumps({
        "claims": {"submods": {}}, "request": {
            "plugin": "resource", "resource-path": ["a", "b", "c"], "query": {},
            "method": "GET"}}))
    p = expect_exit(ctl(srv, "policy", "test", "--kind", "resource",
                        ctx.write("deny.lua", DENY_RESOURCE_POLICY), "--input", rin), 1,
                    "resource test deny", stdout_has=["denied", "cli test says no"])
    check("asked for a/b/c" in out(p), "resource log missing: %s" % out(p))
    ok(ctl(srv, "policy", "test", "--kind", "resource",
           ctx.write("allow.lua", ALLOW_RESOURCE_POLICY), "--input", rin),
       "resource test allow", stdout_has="allowed")
    expect_exit(ctl(srv, "policy", "test", "--id", pid, "--input", ctx.write("x.json", "{oops")),
                1, "test with a non-JSON input", stderr_has="not JSON")
    expect_exit(ctl(srv, "policy", "test", "--id", "nosuch_cpu", "--input", inp), 1,
                "test an unknown policy", stderr_has="NotFound")


# ------------------------------------------------------------------ reference values

def test_rv_add_get_list(ctx):
    srv = ctx.shared
    p = ok(ctl(srv, "rv", "add", "cli_measurement", '["aa", "bb"]', "--days", "30"), "rv add")
    check(re.search(r"cli_measurement: version 1, valid until \d{4}-", out(p)),
          "rv add: %s" % out(p))
    p = ok(ctl(srv, "rv", "add", "cli_measurement", '["cc"]', "--expires",
               "2099-01-01T00:00:00Z"), "rv add again")
    check("version 2" in out(p) and "2099-01-01" in out(p), "rv add again: %s" % out(p))
    ok(ctl(srv, "rv", "add", "cli_svn", "3"), "rv add integer")
    p = ok(ctl(srv, "rv", "get", "cli_measurement"), "rv get")
    check(re.search(r"^state\s+valid", out(p), re.M) and '"cc"' in out(p),
          "rv get: %s" % out(p))
    doc = as_json(ctl(srv, "--json", "rv", "get", "cli_svn"), "rv get --json")
    check(doc.get("value") == 3 and doc.get("state") == "valid", "rv get --json %r" % doc)
    p = ok(ctl(srv, "rv", "list"), "rv list")
    check(re.search(r"^NAME\s+VERSION\s+STATE\s+EXPIRES\s+VALUE", out(p), re.M),
          "rv list header: %s" % out(p))
    check(re.search(r"^cli_measurement\s+2\s+valid\s+2099-01-01", out(p), re.M),
          "rv list row: %s" % out(p))
    items = items_of(as_json(ctl(srv, "--json", "rv", "list"), "rv list --json"), "rv")
    check(any(i["name"] == "cli_svn" and i["state"] == "valid" for i in items),
          "rv list --json %r" % items)
    # names with '/', spaces and '%' travel percent-encoded
    odd = "rvps:///ns/x y%41"
    ok(ctl(srv, "rv", "add", odd, '{"k": true}'), "rv add odd name")
    doc = as_json(ctl(srv, "--json", "rv", "get", odd), "rv get odd name")
    check(doc.get("name") == odd and doc.get("value") == {"k": True}, "odd name %r" % doc)
    expect_exit(ctl(srv, "rv", "add", "cli_past", "1", "--expires", "2020-01-01"), 1,
                "rv add expired", stderr_has="ReferenceValueInvalid")


def test_rv_revoke_and_states(ctx):
    srv = ctx.shared
    ok(ctl(srv, "rv", "add", "cli_revokee", '"x"'), "rv add")
    p = ok(ctl(srv, "rv", "revoke", "cli_revokee", "--reason", "key compromised"), "revoke")
    check("revoked" in out(p), "revoke: %s" % out(p))
    p = ok(ctl(srv, "rv", "get", "cli_revokee"), "get revoked")
    check(re.search(r"^state\s+revoked", out(p), re.M) and "key compromised" in out(p),
          "get revoked: %s" % out(p))
    p = ok(ctl(srv, "rv", "list"), "rv list")
    check(re.search(r"^cli_revokee\s+1\s+revoked\s", out(p), re.M), "list state: %s" % out(p))
    items = items_of(as_json(ctl(srv, "--json", "rv", "list", "--state", "revoked"),
                             "list --state revoked"), "rv")
    check(items and all(i["state"] == "revoked" for i in items) and
          any(i["name"] == "cli_revokee" for i in items), "state filter %r" % items)
    items = items_of(as_json(ctl(srv, "--json", "rv", "list", "--state", "valid"),
                             "list --state valid"), "rv")
    check(all(i["name"] != "cli_revokee" for i in items), "revoked listed as valid")
    doc = as_json(ctl(srv, "--json", "rv", "revoke", "cli_revokee", "--reason", "again"),
                  "revoke again --json")
    check(doc.get("state") == "revoked", "revoke --json %r" % doc)


def test_rv_unknown(ctx):
    srv = ctx.shared
    p = expect_exit(ctl(srv, "rv", "get", "no_such_rv"), 1, "rv get unknown",
                    stderr_has=["404", "NotFound"])
    check(p.stdout == b"", "stdout on failure: %r" % p.stdout)
    expect_exit(ctl(srv, "rv", "revoke", "no_such_rv", "--reason", "x"), 1,
                "rv revoke unknown", stderr_has="NotFound")


def test_rv_import(ctx):
    srv = ctx.shared
    env = ctx.write("env.json", sample_envelope({"cli_imp_a": ["11"], "cli_imp_b": 7}))
    p = ok(ctl(srv, "rv", "import", env), "rv import")
    check("imported 2 reference values" in out(p) and "cli_imp_a" in out(p) and
          "cli_imp_b" in out(p), "import: %s" % out(p))
    doc = as_json(ctl(srv, "--json", "rv", "get", "cli_imp_b"), "get imported")
    check(doc.get("value") == 7, "imported value %r" % doc)
    doc = as_json(ctl(srv, "--json", "rv", "import", "-",
                      stdin=sample_envelope({"cli_imp_c": True})), "import --json stdin")
    check(doc.get("names") == ["cli_imp_c"], "import --json %r" % doc)
    bad = ctx.write("badenv.json", json.dumps({"version": "0.1.0", "type": "nosuch",
                                               "payload": "e30="}))
    expect_exit(ctl(srv, "rv", "import", bad), 1, "import unknown type",
                stderr_has="ReferenceValueInvalid")
    expect_exit(ctl(srv, "rv", "import", ctx.write("nojson.json", "nope")), 1,
                "import non-JSON", stderr_has="not a JSON object")


# ------------------------------------------------------------------ roles

def test_auditor_is_read_only(ctx):
    srv = ctx.shared
    f = ctx.write("aud.lua", ATT_POLICY % 1)
    p = expect_exit(ctl(srv, "policy", "set", "--id", "auditor_cpu", f, role="auditor"), 1,
                    "auditor policy set", stderr_has=["403", "Forbidden"])
    check("auditor" in err(p) or "role" in err(p).lower(),
          "refusal does not name the role: %s" % err(p))
    expect_exit(ctl(srv, "rv", "add", "aud_rv", "1", role="auditor"), 1, "auditor rv add",
                stderr_has="Forbidden")
    expect_exit(ctl(srv, "resource", "put", "aud/x/y", "--value", "v", role="auditor"), 1,
                "auditor resource put", stderr_has="Forbidden")
    inp = ctx.write("aud-in.json", "{}")
    expect_exit(ctl(srv, "policy", "test", "--input", inp, role="auditor"), 1,
                "auditor policy test", stderr_has="Forbidden")
    for args in (["policy", "list"], ["rv", "list"], ["resource", "list"], ["audit"],
                 ["policy", "get"], ["status"]):
        ok(ctl(srv, *args, role="auditor"), "auditor %s" % " ".join(args))
    expect_exit(ctl(srv, "policy", "list", role="nobody"), 1, "unknown role",
                stderr_has="Forbidden")


def test_operator_role(ctx):
    srv = ctx.shared
    ok(ctl(srv, "rv", "add", "op_rv", "1", role="operator"), "operator rv add")
    ok(ctl(srv, "policy", "set", "--id", "op_cpu", ctx.write("op.lua", ATT_POLICY % 1),
           role="operator"), "operator policy set")
    expect_exit(ctl(srv, "audit", role="operator"), 1, "operator audit",
                stderr_has="Forbidden")


def test_audit(ctx):
    srv = ctx.shared
    ok(ctl(srv, "rv", "add", "cli_audited", "1"), "rv add")
    p = ok(ctl(srv, "audit"), "audit")
    check(re.search(r"^TIME\s+ACTOR\s+ACTION\s+TARGET\s+OUTCOME", out(p), re.M),
          "audit header: %s" % out(p))
    check("rv.put" in out(p) and "cli_audited" in out(p), "audit lacks rv.put: %s" % out(p))
    doc = as_json(ctl(srv, "--json", "audit", "--action", "rv.", "--limit", "5"), "audit --json")
    its = items_of(doc, "audit")
    check(0 < len(its) <= 5 and all(i["action"].startswith("rv.") for i in its),
          "audit filter: %r" % its)
    actor = its[0]["actor"]
    its = items_of(as_json(ctl(srv, "--json", "audit", "--actor", actor, "--since",
                               "2000-01-01T00:00:00Z"), "audit --actor --since"), "audit")
    check(its and all(i["actor"] == actor for i in its), "audit --actor: %r" % its)
    p = ok(ctl(srv, "audit", "--until", "2000-01-01T00:00:00Z"), "audit --until 2000")
    check("no audit records match" in out(p), "audit --until 2000: %s" % out(p))
    # refused admin requests are audited too
    ctl(srv, "rv", "add", "cli_denied", "1", role="auditor")
    its = items_of(as_json(ctl(srv, "--json", "audit", "--action", "admin.denied"),
                           "audit admin.denied"), "audit")
    check(its, "refused request not in the audit trail")


# ------------------------------------------------------------------ tokens

def test_token_decode_offline(ctx):
    srv = ctx.shared
    tok = sample_token(ctx, srv)
    f = ctx.write("token.jwt", tok + "\n")
    dead = "https://127.0.0.1:%d" % H.free_port()
    for src, stdin in ((tok, None), (f, None), ("-", tok + "\n")):
        p = ok(ctl(None, "token", "decode", src, url=dead, stdin=stdin),
               "token decode %s" % src[:10])
        check(re.search(r"^alg\s+ES256", out(p), re.M), "decode alg: %s" % out(p))
        check(re.search(r"^submod cpu0: status \w+", out(p), re.M), "decode submod: %s" % out(p))
        check("CoCo-Attestation-Service" in out(p), "decode issuer: %s" % out(p))
    doc = as_json(ctl(None, "--json", "token", "decode", tok), "decode --json")
    _, claims, _ = H.jwt_parts(tok)
    check(doc.get("claims") == claims and doc.get("header", {}).get("alg") == "ES256",
          "decode --json %r" % doc)
    expect_exit(ctl(None, "token", "decode", "not-a-token"), 1, "decode garbage",
                stderr_has="not a JWT")
    expect_exit(ctl(None, "token", "decode", ctx.write("empty.jwt", "\n")), 1,
                "decode empty file", stderr_has="empty")


def test_token_verify(ctx):
    srv = ctx.shared
    tok = sample_token(ctx, srv)
    p = ok(ctl(srv, "token", "verify", tok), "verify on server")
    check(out(p).startswith("valid"), "verify: %s" % out(p))
    p = ok(ctl(srv, "token", "verify", "--jwks", tok), "verify --jwks")
    check("JWKS" in out(p), "verify --jwks: %s" % out(p))
    p = ok(ctl(srv, "token", "verify", tok, admin=False), "verify without admin key")
    doc = as_json(ctl(srv, "--json", "token", "verify", tok), "verify --json")
    check(doc.get("valid") is True, "verify --json %r" % doc)
    doc = as_json(ctl(srv, "--json", "token", "verify", "--jwks", tok), "verify --jwks --json")
    check(doc.get("valid") is True, "verify --jwks --json %r" % doc)
    # tamper with the payload: both ways refuse, exit 1
    h, c, parts = H.jwt_parts(tok)
    c["iss"] = "someone else"
    forged = parts[0] + "." + H.b64url(json.dumps(c).encode()) + "." + parts[2]
    expect_exit(ctl(srv, "token", "verify", forged), 1, "verify forged (server)",
                stderr_has="does not verify")
    expect_exit(ctl(srv, "token", "verify", "--jwks", forged), 1, "verify forged (jwks)",
                stderr_has="does not verify")
    # a token of another issuer (admin JWT signed with the admin key)
    other = H.admin_token(srv)
    expect_exit(ctl(srv, "token", "verify", "--jwks", other), 1, "verify foreign (jwks)",
                stderr_has="does not verify")
    expect_exit(ctl(srv, "token", "verify", other), 1, "verify foreign (server)",
                stderr_has="does not verify")


if __name__ == "__main__":
    H.main(globals(), "cli")
