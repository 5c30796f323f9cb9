"""
harness.py: shared machinery for the trusteed integration suites.

- Server: starts `server/trusteed --dev` on a free loopback port with its own
  state directory, waits for GET /healthz, stops it with SIGTERM and checks
  the exit status (and the log for sanitizer reports).
- HTTPS client (https_request) trusting <state>/tls/cert.pem, raw TLS
  socket access for malformed requests.
- Admin JWT minting with jwcrypto from <state>/admin/private.pem.
- PyGuest: an independent Python implementation of the KBS v0 guest
  (auth, attest with sample evidence, resource GET, JWE decryption with
  jwcrypto), written from guest-client.md, not from our C code.
- A tiny test runner: every module-level function named test_* (in source
  order) gets a Ctx; prints "PASS name" / "FAIL name: reason" and finally
  "N passed, M failed"; exit status 1 if anything failed.

Only the standard library and jwcrypto (Debian python3-jwcrypto) are used.
Environment: TRUSTEED / TRUSTEECTL override the binary paths;
ITEST_KEEP=1 keeps the temporary directory even when everything passed;
TRUSTEE_TEST_STORE=mariadb runs every Server on a private MariaDB (see
"store backend" below).
"""

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

try:
    from jwcrypto import jwe as jjwe
    from jwcrypto import jwk as jjwk
    from jwcrypto import jwt as jjwt
except ImportError:  # run.sh checks this first; keep the message anyway
    sys.stderr.write("harness: jwcrypto missing: apt-get install python3-jwcrypto\n")
    raise

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TRUSTEED = os.environ.get("TRUSTEED", os.path.join(REPO, "server", "trusteed"))
TRUSTEECTL = os.environ.get("TRUSTEECTL", os.path.join(REPO, "cli", "trusteectl"))

ERR_PREFIX = "https://github.com/confidential-containers/kbs/errors/"
PROTOCOL_VERSION = "0.4.0"
ALL_HASHES = ["sha256", "sha384", "sha512", "sm3"]
EAT_PROFILE = "tag:github.com,2024:confidential-containers/Trustee"
ISSUER = "CoCo-Attestation-Service"
HTTP_TIMEOUT = 15


class TestFailure(AssertionError):
    pass


def in_ci():
    """CI=true (or 1/yes): prerequisites must be present."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(suite, missing):
    """A suite's prerequisite check. missing: a list of what is absent
    (with how to get it). Empty: return. Otherwise print why and end the
    suite: SKIPPED by hand, but a failure under CI=true, so that a
    prerequisite CI can install never vanishes from the totals."""
    if not missing:
        return
    why = "; ".join(missing)
    if in_ci():
        print("FAIL %s.prerequisites: missing under CI: %s" % (suite, why),
              flush=True)
        print("0 passed, 1 failed", flush=True)
        sys.exit(1)
    print("# %s: SKIPPED: %s" % (suite, why), flush=True)
    print("0 passed, 0 failed", flush=True)
    sys.exit(0)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


class TestSkipped(Exception):
    """Raised through skip()."""


def skip(reason):
    """End the running test as SKIPPED (not passed, not failed). Only for
    a kernel facility the machine lacks (device-mapper, /dev/kvm), never
    for a package CI can install: use require() for those."""
    raise TestSkipped(reason)


# ------------------------------------------------------------------ encoding

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s, strict=True):
    if isinstance(s, bytes):
        s = s.decode()
    if strict:
        check("=" not in s, "base64url value has padding: %r" % s[:40])
        check(re.fullmatch(r"[A-Za-z0-9_-]*", s) is not None,
              "not base64url: %r" % s[:40])
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64std(data):
    return base64.b64encode(data).decode()


def jcs(obj):
    """RFC 8785 for the ASCII-only data used here (see guest-client.md §2.1)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def digest(alg, data):
    check(alg in ("sha256", "sha384", "sha512"), "test cannot hash with %s" % alg)
    return hashlib.new(alg, data).digest()


def jwt_parts(token):
    parts = token.split(".")
    check(len(parts) == 3, "token is not a compact JWS: %r" % token[:60])
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    return header, claims, parts


def find_jwt(text):
    """The first compact JWS in text (str), or fail."""
    m = re.search(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", text)
    check(m is not None, "no JWT found in output: %r" % text[:200])
    return m.group(0)


# ------------------------------------------------------------------ HTTP

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise TestFailure("%d body is not JSON: %r" % (self.status, self.body[:200]))

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:200])


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tls_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True       # the cert must carry IP:127.0.0.1
    return ctx


def https_request(srv, method, path, body=None, headers=None):
    """One request on a fresh connection. body: bytes/str/dict(JSON)/None."""
    hdrs = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port,
                                       context=srv.ssl_context(),
                                       timeout=HTTP_TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data)
    finally:
        conn.close()


def raw_tls_exchange(srv, payload, timeout=10):
    """Send raw bytes over TLS; parse one HTTP response (status, headers,
    body by Content-Length, else until close)."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    tls = srv.ssl_context().wrap_socket(sock, server_hostname="127.0.0.1")
    try:
        tls.sendall(payload)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = tls.recv(65536)
            if not chunk:
                break
            buf += chunk
        check(b"\r\n\r\n" in buf, "no complete response head: %r" % buf[:200])
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})(?: (.*))?$", lines[0])
        check(m is not None, "bad status line %r" % lines[0])
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = Response(int(m.group(1)), m.group(2) or "", headers, b"")
        clen = resp.header("Content-Length")
        if clen is not None:
            n = int(clen)
            while len(rest) < n:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                rest += chunk
            resp.body = rest[:n]
        else:
            try:
                while True:
                    chunk = tls.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
            except (socket.timeout, ssl.SSLError, OSError):
                pass
            resp.body = rest
        return resp
    finally:
        tls.close()


def expect_problem(resp, status, typ, detail_contains=None):
    """Assert a KBS problem response: status, exactly {"type","detail"}
    strings, type suffix, optional detail substring. Returns detail."""
    check(resp.status == status, "expected %d %s, got %d: %r"
          % (status, typ, resp.status, resp.body[:300]))
    try:
        obj = json.loads(resp.body)
    except ValueError:
        raise TestFailure("%d body is not JSON: %r" % (resp.status, resp.body[:200]))
    check(isinstance(obj, dict) and sorted(obj) == ["detail", "type"],
          "problem must have exactly type and detail: %r" % obj)
    check(isinstance(obj["type"], str) and isinstance(obj["detail"], str),
          "problem type/detail must be strings: %r" % obj)
    check(obj["type"] == ERR_PREFIX + typ,
          "expected type %s, got %s (detail %r)" % (typ, obj["type"], obj["detail"]))
    if detail_contains is not None:
        check(detail_contains in obj["detail"], "detail %r lacks %r"
              % (obj["detail"], detail_contains))
    ctype = resp.header("Content-Type") or ""
    check(ctype.startswith("application/json"),
          "problem Content-Type is %r" % ctype)
    return obj["detail"]


def expect_status(resp, status):
    check(resp.status == status, "expected %d, got %d: %r"
          % (status, resp.status, resp.body[:300]))


# ------------------------------------------------------------------ store backend

# TRUSTEE_TEST_STORE=mariadb: every Server without a --store of its own gets
# a database of its own on a private mariadbd (tests/integration/mariadb.py),
# one database per state directory (a server restarted on its state finds
# its data again). The mariadbd is the one in TRUSTEE_TEST_MARIADB_DIR
# (a server directory; tests/run.sh starts one for a whole pass), else one
# this process starts on first use and stops at exit. The password reaches
# trusteed as the systemd credential trustee-db-password.
STORE = os.environ.get("TRUSTEE_TEST_STORE", "sqlite")
_MARIADB = {}


def on_mariadb():
    """True when the suites run on MariaDB (TRUSTEE_TEST_STORE=mariadb)."""
    return STORE == "mariadb"


def sqlite_only(what):
    """A test that inspects the SQLite file itself: SKIPPED on the MariaDB
    pass (test_ha.py holds the MariaDB variants)."""
    if on_mariadb():
        skip("%s (SQLite only; MariaDB: tests/integration/test_ha.py)" % what)


def mariadb_server():
    """The private mariadbd of this run (started on first use)."""
    if "srv" not in _MARIADB:
        import mariadb as M         # noqa: E402 - only on this path
        d = os.environ.get("TRUSTEE_TEST_MARIADB_DIR")
        if d:
            srv = M.Server.load(d)
            check(srv.running(), "TRUSTEE_TEST_MARIADB_DIR=%s: not running" % d)
        else:
            root = tempfile.mkdtemp(prefix="trustee-itest-mariadb-")
            srv = M.Server(root).start()
        cred = tempfile.mkdtemp(prefix="trustee-itest-cred-")
        dst = os.path.join(cred, "trustee-db-password")
        shutil.copy(srv.password_file, dst)
        os.chmod(dst, 0o600)
        _MARIADB.update(srv=srv, cred=cred, own=None if d else root)
    return _MARIADB["srv"]


def mariadb_cleanup():
    """Stop the mariadbd this process started (not a run's shared one)
    and remove its files; remove the credential directory."""
    if "srv" not in _MARIADB:
        return
    if _MARIADB["own"] is not None:
        try:
            _MARIADB["srv"].stop()
        finally:
            shutil.rmtree(_MARIADB["own"], ignore_errors=True)
    shutil.rmtree(_MARIADB["cred"], ignore_errors=True)
    _MARIADB.clear()


def store_env(mariadb=False):
    """Environment additions for a trusteed using store_args' DSN."""
    if not (mariadb or on_mariadb()):
        return {}
    mariadb_server()
    return {"CREDENTIALS_DIRECTORY": _MARIADB["cred"]}


def store_args(state_dir, mariadb=False):
    """trusteed arguments selecting the store for a state directory: none on
    SQLite (the default file in the state directory), else --store with
    that directory's own MariaDB database (created when missing).
    mariadb=True: MariaDB whatever TRUSTEE_TEST_STORE says (suites that
    are about MariaDB; pair with store_env(mariadb=True))."""
    if not (mariadb or on_mariadb()):
        return []
    srv = mariadb_server()
    db = "trustee_it_" + hashlib.sha256(
        os.path.abspath(state_dir).encode()).hexdigest()[:16]
    srv.sql("CREATE DATABASE IF NOT EXISTS `%s`;" % db)
    return ["--store", srv.dsn(database=db)]


def store_database(srv):
    """The MariaDB database name in a Server's --store, or None."""
    if "--store" not in srv.args:
        return None
    dsn = srv.args[srv.args.index("--store") + 1]
    if not dsn.startswith("mariadb://"):
        return None
    return dsn.split("?", 1)[0].rsplit("/", 1)[1]


def store_dump(srv):
    """What an operator's dump of a Server's database shows (bytes): an
    SQL dump of its MariaDB database (mariadb-dump, blobs as they are), or
    the SQLite file, its WAL and, when sqlite3 is installed, its .dump."""
    db = store_database(srv)
    if db is not None:
        m = mariadb_server()
        dump = shutil.which("mariadb-dump") or "/usr/bin/mariadb-dump"
        p = subprocess.run([dump, "--no-defaults", "--user=%s" % m.admin,
                            "--socket=%s" % m.socket, "--skip-extended-insert",
                            db], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        check(p.returncode == 0, "mariadb-dump %s: %s" % (db, p.stderr[-300:]))
        check(b"CREATE TABLE `rows`" in p.stdout, "dump of %s has no rows "
              "table" % db)
        return p.stdout
    path = os.path.join(srv.state, "trustee.db")
    out = b""
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as f:
                out += f.read()
    if shutil.which("sqlite3"):
        p = subprocess.run(["sqlite3", "-readonly", path, ".dump"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        if p.returncode == 0:
            out += p.stdout
    return out


def store_missing():
    """What the MariaDB pass lacks ([] on SQLite), for require()."""
    if not on_mariadb():
        return []
    import mariadb as M             # noqa: E402
    return M.missing()


# ------------------------------------------------------------------ server

class Conn:
    """A keep-alive HTTPS connection to one server (one per thread)."""

    def __init__(self, srv, timeout=30):
        self.srv = srv
        self.timeout = timeout
        self.c = None

    def request(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPSConnection(
                    "127.0.0.1", self.srv.port,
                    context=self.srv.ssl_context(), timeout=self.timeout)
            try:
                self.c.request(method, path, body=body, headers=hdrs)
                r = self.c.getresponse()
                data = r.read()
                resp = Response(r.status, r.reason, r.getheaders(), data)
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError):
                self.close()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


class Server:
    """One trusteed --dev instance. args: extra CLI flags (list); env:
    environment additions (e.g. CREDENTIALS_DIRECTORY)."""

    def __init__(self, root, name, state_dir=None, args=(), env=None):
        self.root = root
        self.name = name
        self.state = state_dir or os.path.join(root, name + "-state")
        self.args = list(args)
        self.env = dict(env or {})
        if "--store" not in self.args:
            self.args += store_args(self.state)
            self.env.update(store_env())
        self.logpath = os.path.join(root, name + ".log")
        self.proc = None
        self.port = None
        self._ctx = None
        self.last_rc = None

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def cacert(self):
        return os.path.join(self.state, "tls", "cert.pem")

    @property
    def admin_key(self):
        return os.path.join(self.state, "admin", "private.pem")

    def ssl_context(self):
        if self._ctx is None:
            self._ctx = tls_context(self.cacert)
        return self._ctx

    def log_tail(self, n=30):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join("    | " + l for l in lines[-n:])
        except OSError:
            return "    | (no log)"

    def start(self, timeout=10.0):
        check(os.access(TRUSTEED, os.X_OK), "%s not built" % TRUSTEED)
        for attempt in range(3):
            self.port = free_port()
            self._ctx = None
            cmd = [TRUSTEED, "--dev", "--state-dir", self.state,
                   "--listen", "127.0.0.1:%d" % self.port] + self.args
            log = open(self.logpath, "ab")
            log.write(("\n==== %s\n" % " ".join(cmd)).encode())
            log.flush()
            env = dict(os.environ, **self.env)
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, env=env)
            log.close()
            if self._wait_ready(timeout):
                return self
            if self.proc.poll() is not None and attempt < 2 and \
                    "in use" in self.log_tail(5).lower():
                continue        # lost the free-port race: try another port
            rc = self.proc.poll()
            if rc is None:
                self.kill()
            raise TestFailure("trusteed %s did not become ready (exit %r):\n%s"
                              % (self.name, rc, self.log_tail()))
        raise TestFailure("could not start trusteed")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(self.cacert):
                try:
                    self._ctx = None
                    r = https_request(self, "GET", "/healthz")
                    if r.status == 200:
                        return True
                except (OSError, ssl.SSLError, http.client.HTTPException):
                    pass
            time.sleep(0.05)
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """SIGTERM; the exit status must be 0 and the log free of sanitizer
        reports."""
        check(self.proc is not None, "server %s never started" % self.name)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise TestFailure("trusteed %s ignored SIGTERM for %.0f s"
                                  % (self.name, timeout))
        rc = self.proc.returncode
        self.last_rc = rc
        self.proc = None
        check(rc == 0, "trusteed %s exited with %r:\n%s"
              % (self.name, rc, self.log_tail()))
        self.check_log()

    def check_log(self):
        try:
            with open(self.logpath, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return
        for pat in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                    "UndefinedBehaviorSanitizer"):
            check(pat not in text, "%s in log of %s:\n%s"
                  % (pat, self.name, self.log_tail(40)))

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    # convenience
    def request(self, method, path, body=None, headers=None):
        return https_request(self, method, path, body, headers)

    def jwks(self):
        r = self.request("GET", "/.well-known/jwks.json")
        expect_status(r, 200)
        return r.json()


# ------------------------------------------------------------------ admin

def load_pem_key(path):
    with open(path, "rb") as f:
        return jjwk.JWK.from_pem(f.read())


def mint_jwt(key, claims, alg=None, header=None):
    if alg is None:
        kty = key.key_type
        alg = {"OKP": "EdDSA", "EC": "ES256", "RSA": "RS256"}[kty]
    hdr = {"alg": alg, "typ": "JWT"}
    if header:
        hdr.update(header)
    t = jjwt.JWT(header=hdr, claims=claims)
    t.make_signed_token(key)
    return t.serialize()


def admin_claims(role="admin", ttl=300, **extra):
    now = int(time.time())
    c = {"role": role, "exp": now + ttl, "iat": now}
    c.update(extra)
    return c


def admin_token(srv, **kw):
    return mint_jwt(load_pem_key(srv.admin_key), admin_claims(**kw))


def admin_put(srv, path, data, token=None):
    tok = token if token is not None else admin_token(srv)
    return srv.request("POST", "/kbs/v0/resource/" + path, body=data,
                       headers={"Authorization": "Bearer " + tok,
                                "Content-Type": "application/octet-stream"})


def admin_delete(srv, path, token=None):
    tok = token if token is not None else admin_token(srv)
    return srv.request("DELETE", "/kbs/v0/resource/" + path,
                       headers={"Authorization": "Bearer " + tok})


# ------------------------------------------------------------------ guest

KEY_ALGS = {
    # name: (jwcrypto generate params, JWK "alg")
    "p256": ({"kty": "EC", "crv": "P-256"}, "ECDH-ES+A256KW"),
    "p521": ({"kty": "EC", "crv": "P-521"}, "ECDH-ES+A256KW"),
    "p384": ({"kty": "EC", "crv": "P-384"}, "ECDH-ES+A256KW"),   # unsupported
    "rsa-oaep-256": ({"kty": "RSA", "size": 2048}, "RSA-OAEP-256"),
    "rsa1_5": ({"kty": "RSA", "size": 2048}, "RSA1_5"),
}


def parse_set_cookie(value):
    """'a=b; X=y; Flag' -> ("a", "b", {"x": "y", "flag": True})."""
    parts = [p.strip() for p in value.split(";")]
    name, _, val = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), val.strip(), attrs


class PyGuest:
    """KBS v0 guest per guest-client.md §1-§3, with knobs to misbehave."""

    def __init__(self, srv, alg="p256"):
        self.srv = srv
        params, self.jwk_alg = KEY_ALGS[alg]
        self.key = jjwk.JWK.generate(**params)
        self.session = None
        self.nonce = None
        self.hash_alg = "sha384"
        self.extra_params = None
        self.token = None
        self.last = None

    def tee_pubkey(self):
        pub = self.key.export_public(as_dict=True)
        if pub["kty"] == "EC":
            return {"kty": "EC", "crv": pub["crv"], "alg": self.jwk_alg,
                    "x": pub["x"], "y": pub["y"]}
        return {"kty": "RSA", "alg": self.jwk_alg, "n": pub["n"], "e": pub["e"]}

    def cookie_header(self):
        return {"Cookie": "kbs-session-id=" + self.session} if self.session else {}

    def auth(self, tee="sample", hashes=ALL_HASHES, extra_params=None,
             version=PROTOCOL_VERSION, cookie=None, expect_ok=True):
        if extra_params is None:
            extra_params = {} if hashes is None else {"supported-hash-algorithms": hashes}
        body = {"version": version, "tee": tee, "extra-params": extra_params}
        hdrs = {"Cookie": "kbs-session-id=" + cookie} if cookie else {}
        r = self.srv.request("POST", "/kbs/v0/auth", body=body, headers=hdrs)
        self.last = r
        if not expect_ok:
            return r
        expect_status(r, 200)
        ch = r.json()
        check(isinstance(ch, dict) and isinstance(ch.get("nonce"), str)
              and "extra-params" in ch, "bad challenge %r" % ch)
        self.nonce = ch["nonce"]
        self.extra_params = ch["extra-params"]
        ep = ch["extra-params"]
        if isinstance(ep, dict) and "selected-hash-algorithm" in ep:
            self.hash_alg = ep["selected-hash-algorithm"].lower()
        else:
            self.hash_alg = "sha384"
        sc = r.header_all("Set-Cookie")
        check(len(sc) >= 1, "/auth answered without Set-Cookie")
        name, val, _ = parse_set_cookie(sc[0])
        check(name == "kbs-session-id", "cookie name %r" % name)
        self.session = val
        return r

    def runtime_hash(self, nonce=None, pubkey=None, additional="", alg=None):
        obj = {"additional-evidence": additional,
               "nonce": self.nonce if nonce is None else nonce,
               "tee-pubkey": self.tee_pubkey() if pubkey is None else pubkey}
        return digest(alg or self.hash_alg, jcs(obj))

    def attest_body(self, nonce=None, pubkey=None, report_data=None,
                    init_data=None, additional="", hash_nonce=None,
                    hash_pubkey=None):
        if report_data is None:
            report_data = b64std(self.runtime_hash(
                nonce=hash_nonce if hash_nonce is not None else nonce,
                pubkey=hash_pubkey if hash_pubkey is not None else pubkey,
                additional=additional))
        if isinstance(init_data, bytes):
            init_data = init_data.decode("utf-8")
        return {
            "init-data": None if init_data is None
            else {"format": "toml", "body": init_data},
            "runtime-data": {"nonce": self.nonce if nonce is None else nonce,
                             "tee-pubkey": self.tee_pubkey() if pubkey is None else pubkey},
            "tee-evidence": {"primary_evidence": {"svn": "1", "report_data": report_data},
                             "additional_evidence": additional},
        }

    def attest(self, expect_ok=True, raw_body=None, cookie=True, **kw):
        body = raw_body if raw_body is not None else self.attest_body(**kw)
        hdrs = {"Content-Type": "application/json"}
        if cookie is True:
            hdrs.update(self.cookie_header())
        elif cookie:
            hdrs["Cookie"] = cookie
        r = self.srv.request("POST", "/kbs/v0/attest", body=body, headers=hdrs)
        self.last = r
        if not expect_ok:
            return r
        expect_status(r, 200)
        obj = r.json()
        check(isinstance(obj, dict) and isinstance(obj.get("token"), str),
              "bad attest answer %r" % obj)
        self.token = obj["token"]
        return r

    def handshake(self, **kw):
        self.auth(**kw)
        self.attest()
        return self

    def get(self, path, mode="cookie", token=None):
        """mode: cookie | bearer | none. path is after /kbs/v0/."""
        hdrs = {}
        if mode == "cookie":
            hdrs.update(self.cookie_header())
        elif mode == "bearer":
            hdrs["Authorization"] = "Bearer " + (token or self.token)
        r = self.srv.request("GET", "/kbs/v0/" + path, headers=hdrs)
        self.last = r
        return r

    def decrypt(self, resp):
        expect_status(resp, 200)
        obj = resp.json()
        check(isinstance(obj, dict), "JWE is not an object")
        check("aad" not in obj, "JWE carries an aad member")
        j = jjwe.JWE()
        j.allowed_algs = ["ECDH-ES+A256KW", "RSA-OAEP-256", "RSA1_5", "A256GCM"]
        j.deserialize(resp.body.decode(), key=self.key)
        return j.payload

    def fetch(self, path, mode="cookie", token=None):
        return self.decrypt(self.get("resource/" + path, mode, token))


# ------------------------------------------------------------------ CLI

def run_cli(args, input=None, timeout=120):
    check(os.access(TRUSTEECTL, os.X_OK), "%s not built" % TRUSTEECTL)
    p = subprocess.run([TRUSTEECTL] + list(args), input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p


def cli_base(srv, admin=False):
    a = ["--url", srv.url, "--cacert", srv.cacert]
    if admin:
        a += ["--admin-key", srv.admin_key]
    return a


def cli_ok(p, what):
    check(p.returncode == 0, "%s: exit %d, stderr: %s"
          % (what, p.returncode, p.stderr.decode("utf-8", "replace")[-500:]))
    return p


# ------------------------------------------------------------------ runner

class Ctx:
    """Per-suite context: temp dir, lazily started shared server, and
    every server started through it (killed at the end)."""

    def __init__(self, suite, setup=None):
        self.suite = suite
        self.setup = setup      # setup(ctx, srv) once the shared server runs
        self.tmp = tempfile.mkdtemp(prefix="trustee-itest-%s-" % suite)
        self._shared = None
        self._servers = []
        self.data = {}          # free-form state shared between tests

    def server(self, name, args=(), state_dir=None, start=True, env=None):
        s = Server(self.tmp, name, state_dir=state_dir, args=args, env=env)
        self._servers.append(s)
        if start:
            s.start()
        return s

    @property
    def shared(self):
        if self._shared is None:
            self._shared = self.server("shared")
            if self.setup is not None:
                try:
                    self.setup(self, self._shared)
                except Exception as e:      # noqa: BLE001 - tests retry it
                    print("# %s: suite setup failed: %s" % (self.suite, e), flush=True)
        elif not self._shared.running():
            raise TestFailure("shared server is not running (crashed?):\n"
                              + self._shared.log_tail())
        return self._shared

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return p

    def cleanup(self):
        for s in self._servers:
            s.kill()


def _where(tb):
    for fr in reversed(traceback.extract_tb(tb)):
        if os.path.basename(fr.filename).startswith("test_"):
            return "%s:%d" % (os.path.basename(fr.filename), fr.lineno)
    fr = traceback.extract_tb(tb)[-1]
    return "%s:%d" % (os.path.basename(fr.filename), fr.lineno)


def main(module_globals, suite, setup=None):
    """Run every test_* function of the calling module in source order.
    Arguments on the command line select tests by (sub)name. setup(ctx,
    srv) runs once, when a test first touches ctx.shared."""
    tests = [(n, f) for n, f in module_globals.items()
             if n.startswith("test_") and callable(f)]
    tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
    sel = sys.argv[1:]
    if sel:
        tests = [t for t in tests if any(s in t[0] for s in sel)]
    passed = failed = skipped = 0
    require(suite, store_missing())
    if on_mariadb():
        print("# %s: on MariaDB (TRUSTEE_TEST_STORE=mariadb)" % suite, flush=True)
    ctx = Ctx(suite, setup)
    verbose = os.environ.get("ITEST_VERBOSE") == "1"
    try:
        for name, fn in tests:
            label = "%s.%s" % (suite, name[5:])
            try:
                fn(ctx)
            except TestSkipped as e:
                skipped += 1
                print("SKIPPED %s: %s" % (label, e), flush=True)
            except Exception as e:      # noqa: BLE001 - a test failed, report
                failed += 1
                reason = str(e).strip() or type(e).__name__
                if not isinstance(e, AssertionError):
                    reason = "%s: %s" % (type(e).__name__, reason)
                first, _, rest = reason.partition("\n")
                print("FAIL %s: %s (at %s)" % (label, first, _where(e.__traceback__)),
                      flush=True)
                if rest:
                    print(rest, flush=True)
                if verbose:
                    traceback.print_exc()
            else:
                passed += 1
                print("PASS %s" % label, flush=True)
        if ctx._shared is not None:
            label = "%s.shared_server_sigterm_exit_0" % suite
            try:
                ctx._shared.stop()
                passed += 1
                print("PASS %s" % label, flush=True)
            except Exception as e:      # noqa: BLE001
                failed += 1
                print("FAIL %s: %s" % (label, e), flush=True)
    finally:
        ctx.cleanup()
        mariadb_cleanup()
    if failed == 0 and os.environ.get("ITEST_KEEP") != "1":
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    else:
        print("# %s: logs and state kept in %s" % (suite, ctx.tmp), flush=True)
    if skipped:
        print("# %s: %d skipped" % (suite, skipped), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)
