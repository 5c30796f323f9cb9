#!/usr/bin/python3
"""
test_setup.py: `trusteed setup` and the daemon it prepares, in a private
directory (no root paths, no package): the first run creates the
certificate, the admin key, the [sealer] table and the store; a second run
changes nothing; contradicting options are refused before anything is
written; the first console user `admin` gets a random password in
console-password beside the admin key (0600, never printed), and logs in
to the console over HTTPS with it; the daemon then starts from that configuration exactly as the
systemd unit starts it (the passphrase as a credential in
$CREDENTIALS_DIRECTORY, READY=1 on $NOTIFY_SOCKET), and SIGHUP reads a
renewed certificate without dropping an open connection (RELOADING=1, then
READY=1). The Debian package itself is tested by tests/package/run.sh.

Written from trusteed(8) and trusteed.toml(5).
"""

import sys

sys.dont_write_bytecode = True

import getpass
import hashlib
import http.client
import os
import re
import socket
import ssl
import subprocess
import time

import harness as H
from harness import check

PASSPHRASE = b"correct horse battery staple\n"


def sh(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=kw.pop("timeout", 120), **kw)


def out(p):
    return (p.stdout + p.stderr).decode("utf-8", "replace")


def make_tree(ctx, name, port=None):
    """A config (the shipped one, paths moved into a private root) and a
    0600 passphrase file."""
    root = os.path.join(ctx.tmp, name)
    os.makedirs(root)
    with open(os.path.join(H.REPO, "etc", "trusteed.toml")) as f:
        text = f.read()
    text = text.replace("/etc/trustee", os.path.join(root, "etc"))
    text = text.replace('"0.0.0.0:8080"', '"127.0.0.1:%d"' % (port or H.free_port()))
    text = text.replace('state_dir = "/var/lib/trustee"',
                        'state_dir = "%s"' % os.path.join(root, "state"))
    conf = os.path.join(root, "trusteed.toml")
    with open(conf, "w") as f:
        f.write(text)
    pp = os.path.join(root, "passphrase")
    fd = os.open(pp, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, PASSPHRASE)
    os.close(fd)
    return root, conf, pp


def setup(conf, *extra):
    return sh([H.TRUSTEED, "setup", "-c", conf, "--user", getpass.getuser(),
               "-y"] + list(extra))


def snapshot(root):
    """sha256 of every file under root (what a re-run must not change)."""
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                files[p] = hashlib.sha256(f.read()).hexdigest()
    return files


def mode(path):
    return os.stat(path).st_mode & 0o7777


def tree(ctx):
    """The suite's main instance: set up once."""
    if "tree" not in ctx.data:
        root, conf, pp = make_tree(ctx, "main")
        p = setup(conf, "--sealer", "passphrase", "--passphrase-file", pp,
                  "--passphrase-store", "none", "--hostname", "kbs.example",
                  "--hostname", "127.0.0.1")
        ctx.data["tree"] = (root, conf, pp, p)
    return ctx.data["tree"]


class SetupServer(H.Server):
    """trusteed started from a setup-made configuration, as the unit's
    ExecStart does, with the credential and a notify socket."""

    def __init__(self, ctx, root, conf, port, cred=PASSPHRASE):
        super().__init__(ctx.tmp, os.path.basename(root) + "-daemon",
                         state_dir=os.path.join(root, "state"))
        self.root, self.conf, self.port = root, conf, port
        self.cred = cred
        self.notify_path = os.path.join(root, "notify-%d" % len(ctx._servers))
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        ctx._servers.append(self)

    @property
    def cacert(self):
        return os.path.join(self.root, "etc", "tls", "cert.pem")

    @property
    def admin_key(self):
        return os.path.join(self.root, "etc", "admin", "private.pem")

    def start(self, timeout=30.0, expect_ready=True):
        creds = os.path.join(self.root, "credentials")
        os.makedirs(creds, exist_ok=True)
        path = os.path.join(creds, "trustee-passphrase")
        if os.path.exists(path):
            os.unlink(path)     # 0400, as systemd writes it
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        os.write(fd, self.cred)
        os.close(fd)
        env = dict(os.environ, CREDENTIALS_DIRECTORY=creds,
                   NOTIFY_SOCKET=self.notify_path)
        log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([H.TRUSTEED, "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log, env=env)
        log.close()
        if not expect_ready:
            return self
        msg = self.wait_notify(timeout)
        check("READY=1" in msg, "first notification %r, not READY=1:\n%s"
              % (msg, self.log_tail()))
        return self

    def wait_notify(self, timeout=30.0):
        self.notify.settimeout(timeout)
        try:
            return self.notify.recv(4096).decode()
        except socket.timeout:
            raise H.TestFailure("no notification within %.0f s:\n%s"
                                % (timeout, self.log_tail()))


def presented_cn(srv):
    """Handshake anew (no verification) and return the server's CN."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        with ctx.wrap_socket(s) as t:
            der = t.getpeercert(binary_form=True)
    p = sh(["openssl", "x509", "-inform", "DER", "-noout", "-subject"],
           input=der)
    m = re.search(r"CN\s*=\s*([^,\n]+)", out(p))
    check(m is not None, "no CN in %r" % out(p))
    return m.group(1).strip()


# --------------------------------------------------------------- tests

def test_first_run(ctx):
    root, conf, pp, p = tree(ctx)
    text = out(p)
    check(p.returncode == 0, "setup failed:\n%s" % text)
    check("trusteed setup: done" in text, "no 'done' in:\n%s" % text)
    for rel, want in (("etc/tls/key.pem", 0o600), ("etc/tls/cert.pem", 0o644),
                      ("etc/admin/private.pem", 0o600),
                      ("etc/admin/public.pem", 0o644), ("state", 0o700)):
        path = os.path.join(root, rel)
        check(os.path.exists(path), "%s missing" % rel)
        check(mode(path) == want, "%s mode %o, not %o" % (rel, mode(path), want))
    with open(conf) as f:
        c = f.read()
    sealer = c[c.index("\n[sealer]"):c.index("\n[admin]")]
    check('\nkind = "passphrase"\n' in sealer, "[sealer] kind not written:\n%s" % sealer)
    check('\npassphrase_credential = "trustee-passphrase"\n' in sealer,
          "credential not written:\n%s" % sealer)
    check(sealer.count("\nkind =") == 1, "two kind lines:\n%s" % sealer)
    # the certificate names what was asked, and it is a leaf
    p2 = sh(["openssl", "x509", "-in", os.path.join(root, "etc/tls/cert.pem"),
             "-noout", "-subject", "-ext", "subjectAltName,basicConstraints"])
    t2 = out(p2)
    for want in ("kbs.example", "IP Address:127.0.0.1", "CA:FALSE"):
        check(want in t2, "%r not in certificate:\n%s" % (want, t2))
    # what to do next is printed, with this instance's own paths
    check("systemctl enable --now trusteed" in text, "no next steps:\n%s" % text)
    check(os.path.join(root, "etc/admin/private.pem") in text, text)
    # and the result is a valid configuration
    p3 = sh([H.TRUSTEED, "-n", "-c", conf])
    check(p3.returncode == 0, "trusteed -n: %s" % out(p3))
    # the first console user's password: beside the admin key, 0600,
    # owned by whoever ran setup, named in the report but never shown
    cpw = os.path.join(root, "etc", "admin", "console-password")
    check(os.path.exists(cpw), "no console-password:\n%s" % text)
    check(mode(cpw) == 0o600, "console-password mode %o" % mode(cpw))
    check(os.stat(cpw).st_uid == os.geteuid(), "console-password owner")
    with open(cpw) as f:
        pw = f.read().strip()
    check(len(pw) == 24, "password of %d characters" % len(pw))
    check(cpw in text and "console user     admin" in text,
          "the report does not name the password file:\n%s" % text)
    check(pw not in text, "the password was printed")


def test_second_run_changes_nothing(ctx):
    root, conf, pp, _ = tree(ctx)
    before = snapshot(root)
    p = setup(conf)
    check(p.returncode == 0, "second run failed:\n%s" % out(p))
    check("already set up; nothing changed" in out(p), out(p))
    check(snapshot(root) == before, "a second run changed files")


def test_contradictions_refused(ctx):
    root, conf, pp, _ = tree(ctx)
    before = snapshot(root)
    other = os.path.join(ctx.tmp, "other")
    os.makedirs(other, exist_ok=True)
    c, k = os.path.join(other, "c.pem"), os.path.join(other, "k.pem")
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=other", "-days", "1",
        "-keyout", k, "-out", c])
    for args, says in ((["--sealer", "tpm2"], "refusing to change it"),
                       (["--tls-cert", c, "--tls-key", k], "refusing to overwrite"),
                       (["--passphrase-file", pp], "only apply to a new one"),
                       (["--tls-cert", c], "go together")):
        p = setup(conf, *args)
        check(p.returncode == 1, "%s: exit %d:\n%s" % (args, p.returncode, out(p)))
        check(says in out(p), "%s: %r not in:\n%s" % (args, says, out(p)))
        check("nothing was changed" in out(p), out(p))
    check(snapshot(root) == before, "a refused run changed files")


def test_daemon_starts_as_the_unit_does(ctx):
    root, conf, _, _ = tree(ctx)
    with open(conf) as f:
        port = int(re.search(r'listen = \["127\.0\.0\.1:(\d+)"\]', f.read()).group(1))
    srv = SetupServer(ctx, root, conf, port).start()
    ctx.data["srv"] = srv
    p = H.run_cli(H.cli_base(srv, admin=True) + ["status"])
    H.cli_ok(p, "status")
    check(re.search(r"sealer\s+yes\s+passphrase", p.stdout.decode()),
          "status does not name the passphrase sealer:\n%s" % p.stdout.decode())
    check("sealed by passphrase" in srv.log_tail(50), srv.log_tail(50))
    # the console: user admin with the password setup wrote
    with open(os.path.join(root, "etc", "admin", "console-password")) as f:
        pw = f.read().strip()
    r = srv.request("POST", "/console/api/login",
                    body={"username": "admin", "password": pw})
    check(r.status == 200, "console login: %d %r" % (r.status, r.body[:200]))
    cookie = r.header("Set-Cookie") or ""
    check(cookie.startswith("__Host-trustee-console=") and "HttpOnly" in cookie,
          "session cookie %r" % cookie)
    who = srv.request("GET", "/api/v1/whoami",
                      headers={"Cookie": cookie.split(";")[0]})
    check(who.status == 200 and who.json().get("role") == "admin",
          "whoami with the console session: %d %r" % (who.status, who.body[:200]))
    r = srv.request("POST", "/console/api/login",
                    body={"username": "admin", "password": pw + "x"})
    check(r.status == 401, "a wrong password: %d" % r.status)


def test_sighup_reloads_certificate_keeping_connections(ctx):
    srv = ctx.data.get("srv")
    check(srv is not None, "daemon of the previous test not running")
    check(presented_cn(srv) == "kbs.example", "initial CN %r" % presented_cn(srv))
    # an open keep-alive connection, used before and after the reload
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10,
                                       context=srv.ssl_context())
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    r.read()
    check(r.status == 200, "healthz %d" % r.status)
    # renew: a new pair into the configured files (as certbot hooks do)
    etc = os.path.join(srv.root, "etc", "tls")
    tmpk, tmpc = os.path.join(etc, "new.key"), os.path.join(etc, "new.crt")
    p = sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=renewed.example",
            "-days", "1", "-keyout", tmpk, "-out", tmpc])
    check(p.returncode == 0, out(p))
    os.chmod(tmpk, 0o600)
    os.rename(tmpk, os.path.join(etc, "key.pem"))
    os.rename(tmpc, os.path.join(etc, "cert.pem"))
    srv.proc.send_signal(1)     # SIGHUP
    check("RELOADING=1" in srv.wait_notify(), "no RELOADING=1")
    check("READY=1" in srv.wait_notify(), "no READY=1 after the reload")
    check(presented_cn(srv) == "renewed.example",
          "after SIGHUP the CN is %r:\n%s" % (presented_cn(srv), srv.log_tail()))
    conn.request("GET", "/healthz")
    r = conn.getresponse()
    r.read()
    check(r.status == 200, "the open connection broke: %d" % r.status)
    conn.close()
    # a pair that does not match is refused and the renewed one stays
    p = sh(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", tmpk])
    os.chmod(tmpk, 0o600)
    os.rename(tmpk, os.path.join(etc, "key.pem"))
    srv.proc.send_signal(1)
    srv.wait_notify()
    srv.wait_notify()
    check("TLS certificate kept" in srv.log_tail(10), srv.log_tail(10))
    check(presented_cn(srv) == "renewed.example", "a bad pair was taken")
    # leave a matching pair for the next tests (a start checks the pair)
    p = sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=renewed.example",
            "-days", "1", "-keyout", tmpk, "-out", tmpc])
    check(p.returncode == 0, out(p))
    os.chmod(tmpk, 0o600)
    os.rename(tmpk, os.path.join(etc, "key.pem"))
    os.rename(tmpc, os.path.join(etc, "cert.pem"))
    srv.proc.send_signal(15)
    check("STOPPING=1" in srv.wait_notify(), "no STOPPING=1")
    check(srv.proc.wait(15) == 0, "exit status %r" % srv.proc.returncode)


def test_wrong_passphrase_refused(ctx):
    root, conf, _, _ = tree(ctx)
    with open(conf) as f:
        port = int(re.search(r'listen = \["127\.0\.0\.1:(\d+)"\]', f.read()).group(1))
    srv = SetupServer(ctx, root, conf, port, cred=b"not the passphrase at all")
    srv.start(expect_ready=False)
    rc = srv.proc.wait(60)
    check(rc != 0, "started with a wrong passphrase")
    check("wrong passphrase" in srv.log_tail(5), srv.log_tail(5))


def test_not_set_up_says_so(ctx):
    root, conf, _ = make_tree(ctx, "fresh")
    p = sh([H.TRUSTEED, "-c", conf], timeout=30)
    check(p.returncode != 0, "started without setup")
    check("run `trusteed setup`" in out(p), out(p))


def test_operator_certificate_installed(ctx):
    root, conf, pp = make_tree(ctx, "own-cert")
    c, k = os.path.join(root, "mine.crt"), os.path.join(root, "mine.key")
    p = sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=operator.example",
            "-days", "2", "-keyout", k, "-out", c])
    check(p.returncode == 0, out(p))
    p = setup(conf, "--sealer", "passphrase", "--passphrase-file", pp,
              "--passphrase-store", "none", "--tls-cert", c, "--tls-key", k)
    check(p.returncode == 0, out(p))
    with open(c, "rb") as a, open(os.path.join(root, "etc/tls/cert.pem"), "rb") as b:
        check(a.read() == b.read(), "the certificate was not installed as given")
    check(mode(os.path.join(root, "etc/tls/key.pem")) == 0o600, "key mode")
    check("installed" in out(p), out(p))


def test_half_pair_refused(ctx):
    root, conf, pp = make_tree(ctx, "half")
    os.makedirs(os.path.join(root, "etc", "tls"))
    with open(os.path.join(root, "etc", "tls", "cert.pem"), "w") as f:
        f.write("not used\n")
    p = setup(conf, "--sealer", "passphrase", "--passphrase-file", pp,
              "--passphrase-store", "none")
    check(p.returncode == 1, out(p))
    check("exists but" in out(p) and "nothing was changed" in out(p), out(p))
    check(not os.path.exists(os.path.join(root, "state")), "state dir created")


def test_short_passphrase_refused(ctx):
    root, conf, pp = make_tree(ctx, "short")
    with open(pp, "wb") as f:
        f.write(b"short\n")
    p = setup(conf, "--sealer", "passphrase", "--passphrase-file", pp,
              "--passphrase-store", "none")
    check(p.returncode == 1 and "at least 12" in out(p), out(p))


if __name__ == "__main__":
    H.main(globals(), "setup")
