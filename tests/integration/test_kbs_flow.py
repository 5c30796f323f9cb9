#!/usr/bin/python3
"""
test_kbs_flow.py: end-to-end flows through trusteectl and trusteed:
resource put/attest/delete for every TEE key algorithm in cookie and
bearer mode, init-data claims, cookie attributes, path normalisation,
persistence across restarts, what the database file reveals, config
checking (-n -c) and shutdown.
"""

import sys

sys.dont_write_bytecode = True

import base64
import hashlib
import os
import re
import shutil
import subprocess
import time

import harness as H
from harness import check

SECRET_PATH = "default/test/secret"


def _setup(ctx, srv):
    """Runs once the shared server is up: store the suite's secret."""
    data = b"\x00\xff" + os.urandom(509) + b"\x00\xff\x00"
    H.expect_status(H.admin_put(srv, SECRET_PATH, data), 200)
    ctx.data["secret"] = data


def _secret(ctx):
    srv = ctx.shared            # starts the server (and _setup) if needed
    if "secret" not in ctx.data:
        _setup(ctx, srv)        # setup failed: retry, failing this test
    return ctx.data["secret"]


def _cli_attest(srv, resource, out=None, alg=None, bearer=False, extra=()):
    args = H.cli_base(srv) + ["attest", "--tee", "sample", "--resource", resource]
    if out is not None:
        args += ["--out", out]
    if alg is not None:
        args += ["--key-alg", alg]
    if bearer:
        args.append("--bearer")
    return H.run_cli(args + list(extra))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _cli_attest_case(ctx, alg, bearer):
    secret = _secret(ctx)
    out = ctx.path("out-%s-%s" % (alg, "bearer" if bearer else "cookie"))
    p = _cli_attest(ctx.shared, SECRET_PATH, out=out, alg=alg, bearer=bearer)
    H.cli_ok(p, "trusteectl attest --key-alg %s%s" % (alg, " --bearer" if bearer else ""))
    got = _read(out)
    check(got == secret, "--key-alg %s: got %d bytes, differ from the %d stored"
          % (alg, len(got), len(secret)))
    mode = os.stat(out).st_mode & 0o777
    check(mode == 0o600, "--out file has mode %o, want 600" % mode)


# ---------------------------------------------------------------- trusteectl

def test_healthz_and_jwks(ctx):
    srv = ctx.shared
    r = srv.request("GET", "/healthz")
    H.expect_status(r, 200)
    check(r.body == b"", "healthz body not empty: %r" % r.body[:80])
    jwks = srv.jwks()
    check(isinstance(jwks.get("keys"), list) and len(jwks["keys"]) == 1,
          "jwks: %r" % jwks)
    k = jwks["keys"][0]
    for m, v in (("kty", "EC"), ("crv", "P-256"), ("alg", "ES256"), ("use", "sig")):
        check(k.get(m) == v, "jwks key %s = %r" % (m, k.get(m)))
    check(isinstance(k.get("kid"), str) and k["kid"], "jwks key has no kid")
    check(len(H.b64url_decode(k["x"])) == 32 and len(H.b64url_decode(k["y"])) == 32,
          "jwks coordinates not 32 bytes")
    check("d" not in k, "JWKS publishes the private key!")


def test_cli_resource_put(ctx):
    data = b"\x00\xff" + os.urandom(509) + b"\x00\xff\x00"
    f = ctx.write("secret.bin", data)
    p = H.run_cli(H.cli_base(ctx.shared, admin=True)
                  + ["resource", "put", SECRET_PATH, "--file", f])
    H.cli_ok(p, "trusteectl resource put")
    ctx.data["secret"] = data
    # independent check: the Python guest reads back the same bytes
    g = H.PyGuest(ctx.shared).handshake()
    check(g.fetch(SECRET_PATH) == data, "stored bytes differ from the file")


def test_cli_attest_p256_cookie(ctx):
    _cli_attest_case(ctx, "p256", False)


def test_cli_attest_p256_bearer(ctx):
    _cli_attest_case(ctx, "p256", True)


def test_cli_attest_p521_cookie(ctx):
    _cli_attest_case(ctx, "p521", False)


def test_cli_attest_p521_bearer(ctx):
    _cli_attest_case(ctx, "p521", True)


def test_cli_attest_rsa_oaep_256_cookie(ctx):
    _cli_attest_case(ctx, "rsa-oaep-256", False)


def test_cli_attest_rsa_oaep_256_bearer(ctx):
    _cli_attest_case(ctx, "rsa-oaep-256", True)


def test_cli_attest_rsa1_5_cookie(ctx):
    _cli_attest_case(ctx, "rsa1_5", False)


def test_cli_attest_rsa1_5_bearer(ctx):
    _cli_attest_case(ctx, "rsa1_5", True)


def test_cli_attest_default_alg_stdout(ctx):
    secret = _secret(ctx)
    p = _cli_attest(ctx.shared, SECRET_PATH)
    H.cli_ok(p, "trusteectl attest (stdout)")
    check(p.stdout == secret, "stdout: %d bytes, differ from the %d stored"
          % (len(p.stdout), len(secret)))


def test_cli_100k_resource(ctx):
    data = os.urandom(100 * 1024)
    data = b"\x00" + data[1:-1] + b"\xff"
    f = ctx.write("big.bin", data)
    H.cli_ok(H.run_cli(H.cli_base(ctx.shared, admin=True)
                       + ["resource", "put", "default/test/big", "--file", f]),
             "resource put (100 KiB)")
    for alg, bearer in (("p256", False), ("p521", True), ("rsa-oaep-256", False)):
        out = ctx.path("big-%s.out" % alg)
        H.cli_ok(_cli_attest(ctx.shared, "default/test/big", out=out, alg=alg,
                             bearer=bearer), "attest 100 KiB %s" % alg)
        check(_read(out) == data, "100 KiB via %s differs" % alg)
    p = _cli_attest(ctx.shared, "default/test/big")
    H.cli_ok(p, "attest 100 KiB to stdout")
    check(p.stdout == data, "100 KiB via stdout differs (%d bytes)" % len(p.stdout))


def test_cli_resource_delete(ctx):
    srv = ctx.shared
    f = ctx.write("del.bin", b"to be deleted\n")
    adm = H.cli_base(srv, admin=True)
    H.cli_ok(H.run_cli(adm + ["resource", "put", "default/test/todelete", "--file", f]),
             "resource put")
    H.cli_ok(_cli_attest(srv, "default/test/todelete", out=ctx.path("del.out")),
             "attest before delete")
    H.cli_ok(H.run_cli(adm + ["resource", "delete", "default/test/todelete"]),
             "resource delete")
    p = _cli_attest(srv, "default/test/todelete", out=ctx.path("del2.out"))
    check(p.returncode == 1, "attest of a deleted resource: exit %d (want 1)"
          % p.returncode)
    p = _cli_attest(srv, "default/test/todelete", bearer=True)
    check(p.returncode == 1, "bearer attest of a deleted resource: exit %d (want 1)"
          % p.returncode)
    check(p.stdout == b"", "deleted resource: stdout not empty")
    g = H.PyGuest(srv).handshake()
    H.expect_problem(g.get("resource/default/test/todelete"), 401,
                     "PluginInternalError", "not found")
    p = H.run_cli(adm + ["resource", "delete", "default/test/todelete"])
    check(p.returncode != 0, "deleting a missing resource succeeded")
    # the other resource is untouched
    check(g.fetch(SECRET_PATH) == _secret(ctx), "delete touched another resource")


# ---------------------------------------------------------------- init-data

INIT_DATA_TEMPLATE = '''version = "0.1.0"
algorithm = "%(alg)s"

[data]
"aa.toml" = \'\'\'
[token_configs]
[token_configs.coco_as]
url = "http://127.0.0.1:50004"

[token_configs.kbs]
url = "%(url)s"
cert = """
%(cert)s"""
\'\'\'

"cdh.toml" = \'\'\'
socket = "unix:///run/confidential-containers/cdh.sock"
credentials = []

[kbc]
name = "cc_kbc"
url = "%(url)s"
kbs_cert = """
%(cert)s"""

[image]
max_concurrent_layer_downloads_per_image = 3
\'\'\'

"policy.rego" = \'\'\'
package agent_policy

import future.keywords.in
import future.keywords.every

default AddARPNeighborsRequest := true
default AddSwapRequest := true
default CloseStdinRequest := true
default CopyFileRequest := true
default CreateContainerRequest := true
default ExecProcessRequest := false
default ReadStreamRequest := false
default SetPolicyRequest := false
\'\'\'
'''


def _init_data(ctx, alg):
    with open(ctx.shared.cacert) as f:
        cert = f.read()
    text = INIT_DATA_TEMPLATE % {"alg": alg, "url": ctx.shared.url, "cert": cert}
    return text.encode()


def _check_init_claims(token, body, alg, url):
    _, claims, _ = H.jwt_parts(token)
    ae = claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"]
    want = H.b64std(hashlib.new(alg, body).digest())
    check(ae.get("init_data") == want, "init_data %r, want %s(file) = %r"
          % (ae.get("init_data"), alg, want))
    idc = ae.get("init_data_claims")
    check(isinstance(idc, dict), "init_data_claims missing: %r" % idc)
    aa = idc.get("aa.toml")
    check(isinstance(aa, dict), "init_data_claims[aa.toml] is not an object: %r"
          % (aa,))
    check(aa.get("token_configs", {}).get("kbs", {}).get("url") == url,
          "aa.toml claims lost token_configs.kbs.url: %r" % aa)
    cdh = idc.get("cdh.toml")
    check(isinstance(cdh, dict) and cdh.get("kbc", {}).get("name") == "cc_kbc",
          "init_data_claims[cdh.toml] wrong: %r" % (cdh,))
    check(cdh.get("image", {}).get("max_concurrent_layer_downloads_per_image") == 3,
          "cdh.toml integer value lost: %r" % cdh)
    check(isinstance(cdh.get("credentials"), list), "cdh.toml credentials not a list")


def test_init_data_sha384_token_out(ctx):
    secret = _secret(ctx)
    body = _init_data(ctx, "sha384")
    f = ctx.write("initdata384.toml", body)
    out, tok = ctx.path("init384.out"), ctx.path("init384.token")
    H.cli_ok(_cli_attest(ctx.shared, SECRET_PATH, out=out,
                         extra=["--init-data", f, "--token-out", tok]),
             "attest --init-data --token-out")
    check(_read(out) == secret, "resource differs with init-data")
    token = _read(tok).decode().strip()
    _check_init_claims(token, body, "sha384", ctx.shared.url)


def test_init_data_sha256_print_token(ctx):
    secret = _secret(ctx)
    body = _init_data(ctx, "sha256")
    f = ctx.write("initdata256.toml", body)
    out = ctx.path("init256.out")
    p = _cli_attest(ctx.shared, SECRET_PATH, out=out,
                    extra=["--init-data", f, "--print-token"])
    H.cli_ok(p, "attest --init-data --print-token")
    check(_read(out) == secret, "resource differs with init-data")
    token = H.find_jwt(p.stdout.decode("utf-8", "replace"))
    _check_init_claims(token, body, "sha256", ctx.shared.url)


def test_init_data_python_guest_sha512(ctx):
    # independent client, a third algorithm, and the token as a Bearer
    body = _init_data(ctx, "sha512")
    g = H.PyGuest(ctx.shared)
    g.auth()
    g.attest(init_data=body)
    _check_init_claims(g.token, body, "sha512", ctx.shared.url)
    check(g.fetch(SECRET_PATH, mode="bearer") == _secret(ctx), "bearer fetch differs")


def test_no_init_data_no_claims(ctx):
    g = H.PyGuest(ctx.shared).handshake()
    _, claims, _ = H.jwt_parts(g.token)
    ae = claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"]
    check("init_data" not in ae and "init_data_claims" not in ae,
          "init-data claims without init-data: %r" % sorted(ae))


# ---------------------------------------------------------------- cookies

def test_cookie_attributes(ctx):
    g = H.PyGuest(ctx.shared)
    r = g.auth()
    sc = r.header_all("Set-Cookie")
    check(len(sc) == 1, "want exactly one Set-Cookie, got %r" % sc)
    name, val, attrs = H.parse_set_cookie(sc[0])
    check(name == "kbs-session-id", "cookie name %r" % name)
    check(len(val) == 32 and all(c in "0123456789abcdef" for c in val),
          "session id %r is not 32 lowercase hex" % val)
    check("expires" in attrs, "no Expires in %r" % sc[0])
    from email.utils import parsedate_to_datetime
    try:
        exp = parsedate_to_datetime(attrs["expires"]).timestamp()
    except (TypeError, ValueError):
        raise H.TestFailure("Expires %r is not an HTTP date" % attrs["expires"])
    check(exp > time.time(), "Expires %r is in the past" % attrs["expires"])
    # No Path attribute: the default path of /kbs/v0/auth is /kbs/v0 (and
    # stays right behind a proxy that adds a prefix); never a Domain.
    check(attrs.get("path") in (None, "/kbs/v0"), "Path %r" % attrs.get("path"))
    check("domain" not in attrs, "Domain must not be set")
    check(attrs.get("httponly") is True, "no HttpOnly in %r" % sc[0])
    check(attrs.get("secure") is True, "no Secure over TLS in %r" % sc[0])
    check(str(attrs.get("samesite", "")).lower() == "strict",
          "SameSite=Strict missing in %r" % sc[0])
    check("domain" not in attrs, "Domain must not be set: %r" % sc[0])
    # /attest answers with the same cookie
    r = g.attest()
    sc2 = r.header_all("Set-Cookie")
    check(len(sc2) == 1, "/attest: want one Set-Cookie, got %r" % sc2)
    n2, v2, a2 = H.parse_set_cookie(sc2[0])
    check((n2, v2) == (name, val), "/attest changed the cookie: %r" % sc2[0])
    check(a2.get("expires") == attrs["expires"], "/attest changed Expires")
    check(g.fetch(SECRET_PATH) == _secret(ctx), "cookie fetch differs")


def test_stale_cookie_on_auth_ignored(ctx):
    g = H.PyGuest(ctx.shared).handshake()
    old = g.session
    h = H.PyGuest(ctx.shared)
    h.auth(cookie=old)
    check(h.session != old, "/auth with a stale cookie reused session %s" % old)
    h.attest()
    check(h.fetch(SECRET_PATH) == _secret(ctx), "new session fetch differs")
    # the old, attested session still works until it expires
    check(g.fetch(SECRET_PATH) == _secret(ctx), "old session broken by the new /auth")
    # a cookie for a session that never existed is ignored by /auth too
    h2 = H.PyGuest(ctx.shared)
    h2.auth(cookie="0" * 32)
    check(h2.session != "0" * 32, "/auth adopted an unknown session id")
    h2.attest()


def test_cookie_among_other_cookies(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth()
    cookie = "theme=dark; kbs-session-id=%s; other=1" % g.session
    g.attest(cookie=cookie)
    r = ctx.shared.request("GET", "/kbs/v0/resource/" + SECRET_PATH,
                           headers={"Cookie": cookie})
    check(g.decrypt(r) == _secret(ctx), "fetch with several cookies differs")


def test_empty_path_segments(ctx):
    g = H.PyGuest(ctx.shared).handshake()
    r = ctx.shared.request("GET", "/kbs/v0/resource//" + SECRET_PATH,
                           headers=g.cookie_header())
    check(g.decrypt(r) == _secret(ctx), "// path: bytes differ")
    r = ctx.shared.request("GET", "/kbs/v0/resource/default//test///secret",
                           headers={"Authorization": "Bearer " + g.token})
    check(g.decrypt(r) == _secret(ctx), "inner // path: bytes differ")


# ---------------------------------------------------------------- state

def _files_snapshot(state):
    names = ["admin/private.pem", "admin/public.pem", "tls/cert.pem",
             "tls/key.pem", "data.key"]
    return {n: _read(os.path.join(state, n)) for n in names}


def test_dev_state_files(ctx):
    st = ctx.shared.state
    for n, mode in (("admin/private.pem", 0o600), ("data.key", 0o600),
                    ("tls/key.pem", None)):
        p = os.path.join(st, n)
        check(os.path.exists(p), "%s missing" % n)
        m = os.stat(p).st_mode & 0o777
        check(m & 0o077 == 0, "%s is group/world accessible (%o)" % (n, m))
        if mode is not None:
            check(m == mode, "%s mode %o, want %o" % (n, m, mode))
    # The store: the SQLite file here, or (TRUSTEE_TEST_STORE=mariadb)
    # nothing here at all.
    check(os.path.exists(os.path.join(st, "trustee.db")) != H.on_mariadb(),
          "trustee.db %s" % ("present on MariaDB" if H.on_mariadb() else
                             "missing"))
    check(os.path.exists(os.path.join(st, "admin/public.pem")), "admin public key missing")
    # certificate: CA:FALSE leaf with the IP SAN (hostname check already
    # passed in the TLS handshake) - verify with openssl if available
    if shutil.which("openssl"):
        p = subprocess.run(["openssl", "x509", "-in", os.path.join(st, "tls/cert.pem"),
                            "-noout", "-text"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=30)
        txt = p.stdout.decode()
        check("CA:FALSE" in txt, "TLS certificate is not CA:FALSE")
        for san in ("DNS:localhost", "IP Address:127.0.0.1"):
            check(san in txt, "TLS certificate lacks SAN %s" % san)


def test_persistence_across_restart(ctx):
    srv = ctx.server("persist", args=["--token-lifetime", "600"])
    data = b"\xffpersist\x00" + os.urandom(64)
    H.expect_status(H.admin_put(srv, "default/persist/key", data), 200)
    g = H.PyGuest(srv).handshake()
    check(g.fetch("default/persist/key") == data, "fetch before restart")
    jwks1 = srv.jwks()
    files1 = _files_snapshot(srv.state)
    srv.stop()
    check(not srv.running(), "server still running after stop")
    srv.start()
    files2 = _files_snapshot(srv.state)
    for n in files1:
        check(files1[n] == files2[n], "%s changed across restart" % n)
    check(srv.jwks() == jwks1, "JWKS changed across restart")
    # the token from before the restart is still accepted as Bearer
    check(g.fetch("default/persist/key", mode="bearer") == data,
          "pre-restart token rejected after restart")
    # sessions may or may not survive; a fresh attestation must work
    h = H.PyGuest(srv).handshake()
    check(h.fetch("default/persist/key") == data, "fetch after restart differs")
    # the admin key from before still administers the server
    H.expect_status(H.admin_put(srv, "default/persist/key2", b"x"), 200)
    srv.stop()


def test_db_reveals_nothing(ctx):
    srv = ctx.shared
    marker = ("QzV9-SECRET-%s" % os.urandom(8).hex()).encode()
    data = marker + b"\x00" + marker
    repo, typ, tag = "zqxrepo%s" % os.urandom(3).hex(), "wvutype", "ktag%s" % os.urandom(3).hex()
    path = "%s/%s/%s" % (repo, typ, tag)
    H.expect_status(H.admin_put(srv, path, data), 200)
    g = H.PyGuest(srv).handshake()
    check(g.fetch(path) == data, "distinctive secret does not round-trip")
    needles = [marker, path.encode(), repo.encode(), tag.encode(),
               base64.b64encode(data), base64.b64encode(marker)[:16], marker.hex().encode()]
    # every file in the state dir (db, WAL, shm, keys...)
    for dirpath, _, files in os.walk(srv.state):
        for fn in files:
            p = os.path.join(dirpath, fn)
            blob = _read(p)
            for n in needles:
                check(n not in blob, "%r found in %s" % (n[:40], os.path.relpath(p, srv.state)))
    # what a dump of the database shows (sqlite3 .dump, or mariadb-dump
    # on the MariaDB pass)
    dump = H.store_dump(srv)
    for n in needles:
        check(n not in dump, "%r visible in the database dump" % n[:40])
        check(n.lower() not in dump.lower(), "%r visible (case-folded) in the dump" % n[:40])
    # the log must not leak it either
    log = _read(srv.logpath)
    check(marker not in log, "secret value in the server log")


# ---------------------------------------------------------------- config, signals

VALID_CONFIG = '''# trusteed config written by the integration tests
[http_server]
listen = ["127.0.0.1:%(port)d"]
certificate = "%(cert)s"
private_key = "%(key)s"

[attestation]
session_lifetime = 300
token_lifetime = 300

[storage]
state_dir = "%(state)s"

[admin]
mode = "bearer_jwt"
public_keys = ["%(admin)s"]
'''


def _config_vars(ctx):
    st = ctx.shared.state
    newstate = ctx.path("cfgstate")
    os.makedirs(newstate, exist_ok=True)
    return {"port": H.free_port(), "cert": os.path.join(st, "tls/cert.pem"),
            "key": os.path.join(st, "tls/key.pem"), "state": newstate,
            "admin": os.path.join(st, "admin/public.pem")}


def _check_config(path):
    check(os.access(H.TRUSTEED, os.X_OK), "%s not built" % H.TRUSTEED)
    return subprocess.run([H.TRUSTEED, "-n", "-c", path], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)


def test_config_check_valid(ctx):
    f = ctx.write("valid.toml", VALID_CONFIG % _config_vars(ctx))
    p = _check_config(f)
    check(p.returncode == 0, "trusteed -n -c valid.toml: exit %d: %s"
          % (p.returncode, p.stderr.decode("utf-8", "replace")[-600:]))


def test_config_check_two_errors(ctx):
    lines = (VALID_CONFIG % _config_vars(ctx)).split("\n")
    check(lines[1] == "[http_server]", "template changed")
    lines.insert(2, 'no_such_key = "x"')               # line 3: unknown key
    idx = next(i for i, l in enumerate(lines) if l.startswith("session_lifetime"))
    lines[idx] = 'session_lifetime = "five minutes"'   # wrong type
    text = "\n".join(lines)
    f = ctx.write("bad.toml", text)
    want = {3, idx + 1}
    p = _check_config(f)
    err = p.stderr.decode("utf-8", "replace")
    check(p.returncode == 1, "config with 2 errors: exit %d, want 1: %s"
          % (p.returncode, err[-400:]))
    got = set(int(m) for m in re.findall(re.escape(f) + r":(\d+):", err))
    check(got == want, "error lines %s, want %s; stderr:\n%s"
          % (sorted(got), sorted(want), err[-800:]))


def test_sigterm_idle_exit_0(ctx):
    srv = ctx.server("idle")
    time.sleep(0.3)
    srv.stop()
    check(srv.last_rc == 0, "exit %r" % srv.last_rc)


def test_sigterm_with_open_idle_connection(ctx):
    # a client holding a keep-alive connection must not block shutdown
    import http.client
    srv = ctx.server("idle2")
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=srv.ssl_context(),
                                       timeout=10)
    try:
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        check(r.status == 200, "healthz %d" % r.status)
        srv.stop(timeout=10)
    finally:
        conn.close()


if __name__ == "__main__":
    H.main(globals(), "kbs_flow", setup=_setup)
