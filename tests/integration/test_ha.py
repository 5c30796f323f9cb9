#!/usr/bin/python3
"""
test_ha.py: several `trusteed` instances on one MariaDB (issue 8, "Sessions
and HA"), a Galera cluster losing a node under load, and what the daemon
does when its database goes away. Real processes throughout: private
mariadbd servers and a 3-node Galera cluster on loopback
(tests/integration/mariadb.py), `trusteed --dev` instances, the Python
guest of harness.py.

- two instances sharing one --state-dir and one MariaDB database serve
  one guest alternately: /auth on A, /attest on B, resource GET with the
  cookie on A and on B, Bearer GET on B; a nonce spent on A is refused on
  B (replayed, and raced from both at once: one winner every time), and
  one spent on B is refused on A, which made the session and still has
  its unattested copy; evidence that fails on A spends the nonce for B;
- a resource policy uploaded on A is enforced by B within a few poll
  intervals (and back); a key rotation started on A is loaded by B, which
  then reads rows A sealed under the new version;
- a guest's session outlives the instance that made it (kill -9 A: B
  serves the cookie; A restarted serves it again);
- a second instance with its own state directory (own certificate, admin
  key and sealed master key) joins while the first keeps running
  (--join-request, `trusteectl key export --for`, --join) and serves the
  same guests, secrets and tokens;
- kill -9 of one instance during a burst of admin writes on both: every
  write acknowledged with 2xx, by either, is present and readable on both
  after the restart, and every row authenticates (`store check`);
- the MariaDB server stopped while serving: /auth, /attest, resource GETs
  (cookie and Bearer) and admin writes answer 503 problems with
  Retry-After (none hangs), /healthz, JWKS and /metrics answer, /readyz
  says not ready; the
  real mariadbd restarted, service resumes by itself, with the sessions
  made before the outage; the same with the server frozen (SIGSTOP);
- Galera: 3 nodes, an instance on node 1 and one on node 2, a bounded
  guest and admin-write load on both; node 2 is stopped: no acknowledged
  write is lost, the instance on node 1 keeps serving, the one on node 2
  answers 503 and resumes by itself when its node rejoins. Counts are
  printed.

Needs mariadb-server (and galera-4, rsync, root for the Galera test):
SKIPPED by hand without them, a failure under CI=true.
"""

import base64
import http.client
import json
import os
import shutil
import ssl
import sys
import subprocess
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H                                       # noqa: E402
from harness import check                                 # noqa: E402
import mariadb as M                                       # noqa: E402

SUITE = "ha"
API = "/api/v1"
# How long another instance may take to follow a change: the store polls
# every poll_ms (1 s by default) and calls the watchers on its poller
# thread; generous for a loaded machine, it only bounds a failure.
FOLLOW_S = 30


# ------------------------------------------------------------------ helpers

def auth_hdr(srv, role="admin"):
    return {"Authorization": "Bearer " + H.admin_token(srv, role=role,
                                                       ttl=3600)}


def put(conn, srv, name, value, hdr=None):
    return conn.request("PUT", API + "/resources/" + name, body=value,
                        headers=dict(hdr or auth_hdr(srv), **{
                            "Content-Type": "application/octet-stream"}))


def put_ok(srv, name, value):
    c = H.Conn(srv)
    try:
        r = put(c, srv, name, value)
    finally:
        c.close()
    check(r.status in (200, 201), "PUT %s on %s: %d %s"
          % (name, srv.name, r.status, r.body[:300]))


def put_policy(srv, text):
    r = srv.request("PUT", API + "/policies/resource/resource-policy",
                    body={"policy": text}, headers=auth_hdr(srv))
    check(r.status == 200, "policy on %s: %d %s" % (srv.name, r.status,
                                                    r.body[:300]))


ALLOW = ("return function(claims, request)\n"
         "  return true, 'allowed by test_ha'\nend\n")
DENY = ("return function(claims, request)\n"
        "  return false, 'closed by test_ha on A'\nend\n")


def mariadb_env():
    """The harness's private mariadbd, its password as the systemd
    credential for every trusteed started from here on."""
    os.environ.update(H.store_env(mariadb=True))


def pair(ctx, name, extra=()):
    """Two --dev instances sharing one state directory and one MariaDB
    database (as the issue allows for tests and demos)."""
    mariadb_env()
    state = ctx.path(name + "-state")
    store = H.store_args(state, mariadb=True)
    a = ctx.server(name + "-a", state_dir=state, args=store + list(extra))
    b = ctx.server(name + "-b", state_dir=state, args=store + list(extra))
    return a, b


def cred_env(ctx, password_file, name):
    """A credentials directory holding password_file as
    trustee-db-password (for a private server of one test)."""
    d = ctx.path(name + "-cred")
    os.makedirs(d, exist_ok=True)
    dst = os.path.join(d, "trustee-db-password")
    shutil.copy(password_file, dst)
    os.chmod(dst, 0o600)
    return {"CREDENTIALS_DIRECTORY": d}


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t0


def expect_unavailable(r, what):
    H.expect_problem(r, 503, "ServiceUnavailable")
    ra = r.header("Retry-After")
    check(ra is not None and ra.isdigit() and int(ra) > 0,
          "%s: Retry-After %r" % (what, ra))


def wait_for(what, fn, timeout=FOLLOW_S, every=0.2):
    """Poll fn() until it returns a true value; that value (fail after
    timeout)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise H.TestFailure("%s: not after %d s (last %r)" % (what, timeout, last))


def ready(srv):
    try:
        return srv.request("GET", "/readyz").status == 200
    except (OSError, ssl.SSLError, http.client.HTTPException):
        return False


def health_store(srv):
    r = srv.request("GET", API + "/health", headers=auth_hdr(srv))
    return r.json()["components"]["store"]


# ------------------------------------------------------------------ two instances

def spent_once(auth_on, first, second):
    """/auth on auth_on; the same /attest body is accepted by first, then
    refused by second: the nonce is spent once across instances."""
    g = H.PyGuest(auth_on)
    g.auth()
    body = g.attest_body()
    hdrs = dict(g.cookie_header(), **{"Content-Type": "application/json"})
    H.expect_status(first.request("POST", "/kbs/v0/attest", body=body,
                                  headers=hdrs), 200)
    H.expect_problem(second.request("POST", "/kbs/v0/attest", body=body,
                                    headers=hdrs), 401, "AttestationError",
                     "already used")


def test_two_instances_serve_one_guest_alternately(ctx):
    a, b = pair(ctx, "alt")
    ctx.data["alt"] = (a, b)
    secret = b"alternately-" + os.urandom(8).hex().encode()
    put_ok(a, "ha/key/alt", secret)
    check(health_store(a)["type"] == "mariadb", "A is not on MariaDB")

    g = H.PyGuest(a)
    g.auth()                                  # /auth on A
    g.srv = b
    g.attest()                                # /attest on B
    # The same nonce again on A, which made the session and keeps its
    # unattested copy: A verifies, then its revision-checked write finds
    # the nonce spent. The session stays attested.
    hdrs = dict(g.cookie_header(), **{"Content-Type": "application/json"})
    H.expect_problem(a.request("POST", "/kbs/v0/attest",
                               body=g.attest_body(), headers=hdrs), 401,
                     "AttestationError", "already used")
    g.srv = a
    check(g.fetch("ha/key/alt") == secret, "cookie GET on A")
    g.srv = b
    check(g.fetch("ha/key/alt") == secret, "cookie GET on B")
    check(g.fetch("ha/key/alt", mode="bearer") == secret, "Bearer GET on B")
    g.srv = a
    check(g.fetch("ha/key/alt") == secret, "cookie GET on A again")

    # A nonce spent on A is refused on B (and the other way round).
    for first, second in ((a, b), (b, a)):
        spent_once(first, first, second)
    # A wrong nonce on one instance spends nothing: the right one works on
    # the other.
    g3 = H.PyGuest(b)
    g3.auth()
    g3.srv = a
    H.expect_problem(g3.attest(expect_ok=False, nonce="A" * 44), 401,
                     "AttestationError", "does not match")
    g3.srv = b
    g3.attest()
    check(g3.fetch("ha/key/alt") == secret, "after a wrong nonce on A")
    # Evidence that fails on A, where the session was made, spends the
    # nonce for B too: good evidence for it is refused there.
    g4 = H.PyGuest(a)
    g4.auth()
    H.expect_problem(g4.attest(expect_ok=False,
                               hash_nonce=H.b64std(os.urandom(32))), 401,
                     "AttestationError")
    g4.srv = b
    H.expect_problem(g4.attest(expect_ok=False), 401, "AttestationError",
                     "already used")


def test_nonce_race_across_instances(ctx):
    a, b = ctx.data["alt"]
    rounds, wins = 12, []
    for _ in range(rounds):
        g = H.PyGuest(a if len(wins) % 2 else b)
        g.auth()
        body = json.dumps(g.attest_body()).encode()
        hdrs = dict(g.cookie_header(), **{"Content-Type": "application/json"})
        go = threading.Barrier(2)
        res = {}

        def attest(srv):
            go.wait()
            res[srv.name] = srv.request("POST", "/kbs/v0/attest", body=body,
                                        headers=hdrs)

        ts = [threading.Thread(target=attest, args=(s,)) for s in (a, b)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        ok = [n for n, r in res.items() if r.status == 200]
        check(len(ok) == 1, "%d winners: %r" % (len(ok), res))
        for n, r in res.items():
            if r.status != 200:
                # "already used", or (when the winner has not finished
                # yet) "not found": a 401 that sends the guest to /auth
                d = H.expect_problem(r, 401, "AttestationError")
                check("already used" in d or "not found" in d, d)
        wins.append(ok[0])
    print("# nonce race: %d rounds, one winner each (A %d, B %d)"
          % (rounds, wins.count(a.name), wins.count(b.name)), flush=True)


def test_stored_and_stateless_challenges_mix(ctx):
    """A with stored challenges (--no-stateless-auth, as during an
    upgrade), B stateless: /auth on B writes no row, on A one; each
    attests the other's sessions; a stateless nonce is spent once and a
    forged one refused on both."""
    mariadb_env()
    state = ctx.path("mix-state")
    store = H.store_args(state, mariadb=True)
    db = store[1].split("?", 1)[0].rsplit("/", 1)[1]
    a = ctx.server("mix-a", state_dir=state,
                   args=store + ["--no-stateless-auth"])
    b = ctx.server("mix-b", state_dir=state, args=store)
    secret = b"mix-" + os.urandom(8).hex().encode()
    put_ok(a, "ha/key/mix", secret)
    srv = H.mariadb_server()

    def nonce_rows():
        return int(srv.value("SELECT COUNT(*) FROM `%s`.rows WHERE "
                             "tbl = 'session_nonces'" % db))

    before = nonce_rows()
    gb = H.PyGuest(b)
    gb.auth()
    check(nonce_rows() == before, "/auth on B wrote a row")
    ga = H.PyGuest(a)
    ga.auth()
    check(nonce_rows() == before + 1, "/auth on A wrote no row")
    gb.srv, ga.srv = a, b
    gb.attest()                        # B's stateless nonce, on A
    ga.attest()                        # A's stored nonce, on B
    check(nonce_rows() == before + 2, "the attested rows")
    for g in (ga, gb):
        for s in (a, b):
            g.srv = s
            check(g.fetch("ha/key/mix") == secret, "GET on " + s.name)
    # Spent once: B's nonce attested on A, then again on B.
    spent_once(b, a, b)
    # A forged nonce (B's format, another MAC) is refused on both and
    # writes nothing.
    g = H.PyGuest(b)
    g.auth()
    raw = bytearray(base64.b64decode(g.nonce))
    raw[-1] ^= 1
    rows = nonce_rows()
    for s in (a, b):
        g.srv = s
        H.expect_problem(g.attest(expect_ok=False,
                                  nonce=base64.b64encode(raw).decode()),
                         401, "AttestationError", "does not match")
    check(nonce_rows() == rows, "a forged nonce wrote a row")
    g.attest()


def test_policy_on_a_enforced_by_b(ctx):
    a, b = ctx.data["alt"]
    g = H.PyGuest(b).handshake()
    check(g.fetch("ha/key/alt").startswith(b"alternately-"), "before")
    t0 = time.monotonic()
    put_policy(a, DENY)

    def denied_on_b():
        r = g.get("resource/ha/key/alt")
        return r.status == 401 and b"closed by test_ha on A" in r.body

    wait_for("B enforcing A's policy", denied_on_b)
    took = time.monotonic() - t0
    put_policy(b, ALLOW)
    g.srv = a
    wait_for("A enforcing B's policy",
             lambda: g.get("resource/ha/key/alt").status == 200)
    print("# policy written on A enforced by B after %.1f s (poll 1 s)" % took,
          flush=True)


def cache_reads(srv):
    """(hits, misses) of srv's cached store reads (/metrics)."""
    got = {}
    for line in srv.request("GET", "/metrics").body.decode().splitlines():
        for res in ("hit", "miss"):
            key = 'trustee_store_cache_reads_total{result="%s"} ' % res
            if line.startswith(key):
                got[res] = int(line[len(key):])
    check(len(got) == 2, "no trustee_store_cache_reads_total on %s"
          % srv.name)
    return got["hit"], got["miss"]


def lease_waits(srv):
    """srv's resource writes that waited out another instance's lease."""
    key = "trustee_store_lease_waits_total "
    for line in srv.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith(key):
            return int(line[len(key):])
    check(False, "no trustee_store_lease_waits_total on %s" % srv.name)
    return None


def test_resource_change_on_a_never_stale_on_b(ctx):
    # Under [store] lease (0.2 s by default), B answers releases from
    # memory under a lease (docs/mariadb.md): a PUT, a restored version or
    # a DELETE that A has acknowledged is never answered by B with the
    # value as it was, although B was answering that resource from
    # memory just before. A's writes wait out the lease only while B is
    # noted as holding one.
    a, b = pair(ctx, "lease")
    put_ok(a, "ha/key/alt", b"alternately-lease")
    name = "ha/key/lease"
    put_ok(a, name, b"lease-0")
    check(lease_waits(a) == 0, "A waited although no instance held a "
          "lease")
    g = H.PyGuest(b).handshake()
    check(g.fetch(name) == b"lease-0", "first release on B")
    h0, _ = cache_reads(b)
    for i in range(1, 9):
        # Releases keep B's lease running and its rows in memory...
        for _ in range(5):
            check(g.fetch(name) == b"lease-%d" % (i - 1),
                  "B before write %d" % i)
        # ... until A's write is acknowledged: then the new value, at once.
        t0 = time.monotonic()
        put_ok(a, name, b"lease-%d" % i)
        took = time.monotonic() - t0
        got = g.fetch(name)
        check(got == b"lease-%d" % i,
              "B after A's PUT %d was acknowledged: %r" % (i, got))
    h1, _ = cache_reads(b)
    check(h1 > h0, "B never answered from memory (hits %d -> %d)" % (h0, h1))
    check(lease_waits(a) >= 8, "A's PUTs did not wait out B's lease (%d)"
          % lease_waits(a))
    # Restoring a kept version on A.
    for _ in range(5):
        g.fetch(name)
    r = a.request("POST", API + "/resources/" + name + "/restore",
                  body={"version": 8}, headers=auth_hdr(a))
    check(r.status == 200, "restore on A: %d %s" % (r.status, r.body[:300]))
    check(g.fetch(name) == b"lease-7", "B after A restored version 8")
    # A deletion.
    for _ in range(5):
        g.fetch(name)
    r = a.request("DELETE", API + "/resources/" + name, headers=auth_hdr(a))
    check(r.status in (200, 204), "DELETE on A: %d" % r.status)
    # (Trustee's answer for a missing resource: 401, "not found".)
    H.expect_problem(g.get("resource/" + name), 401, "PluginInternalError",
                     "not found")
    # After a pause longer than the poller's idle time (2 s), releases
    # come from memory again (the first ones wake the lease poller).
    alt = b"alternately-"
    check(g.fetch("ha/key/alt").startswith(alt), "B before the pause")
    time.sleep(2.5)
    h2, _ = cache_reads(b)

    # B idle: once its last lease ended it leaves the registry, and A's
    # writes no longer wait.
    def write_without_wait():
        w = lease_waits(a)
        put_ok(a, "ha/key/idle", b"idle")
        return lease_waits(a) == w

    wait_for("a write on A that does not wait (B idle)", write_without_wait,
             timeout=10, every=0.2)

    def from_memory_again():
        check(g.fetch("ha/key/alt").startswith(alt), "B after the pause")
        time.sleep(0.05)
        return cache_reads(b)[0] > h2

    wait_for("B answering from memory after a pause", from_memory_again,
             timeout=10, every=0)
    print("# a PUT on A took %.2f s to be acknowledged (lease 0.2 s)"
          % took, flush=True)
    a.stop()
    b.stop()


def write_from_both(a, b, rounds, write):
    """Two writer threads on each instance, rounds writes each: write(conn,
    srv, text) -> the answer; returns ({version: [text, ...]}, [errors])
    from the answers' "version"."""
    got = {}
    errors = []

    def writer(srv, tag):
        c = H.Conn(srv)
        try:
            for i in range(rounds):
                text = "%s-%d" % (tag, i)
                r = write(c, srv, text)
                if r.status not in (200, 201):
                    errors.append("%s: %d %s" % (tag, r.status, r.body[:200]))
                    continue
                got.setdefault(r.json()["version"], []).append(text)
        finally:
            c.close()

    ts = [threading.Thread(target=writer, args=(s, t))
          for s, t in ((a, "a1"), (b, "b1"), (a, "a2"), (b, "b2"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return got, errors


def test_same_name_written_on_both_at_once(ctx):
    # Two instances PUT one name at the same time: every acknowledged PUT
    # gets a version of its own (the write takes the store's resource
    # lock), and the active value is the one written as the last version.
    a, b = ctx.data["alt"]
    name = "ha/race/key"
    got, errors = write_from_both(a, b, 6, lambda c, srv, text: put(
        c, srv, name, text.encode()))
    check(not errors, "PUTs failed: %r" % errors[:3])
    check(len(got) == 24 and all(len(v) == 1 for v in got.values()),
          "versions given twice: %r" % {k: v for k, v in got.items() if len(v) > 1})
    vers = a.request("GET", API + "/resources/" + name + "/versions",
                     headers=auth_hdr(a))
    H.expect_status(vers, 200)
    kept = [v["version"] for v in vers.json()["items"]]
    check(len(kept) == 10 and set(kept) <= set(got), "kept %r" % kept)
    latest = max(got)
    g = H.PyGuest(b).handshake()
    check(g.fetch(name) == got[latest][0].encode(),
          "active value is not version %d's" % latest)


def test_policy_written_on_both_at_once(ctx):
    # The same for a policy: concurrent uploads on both instances each
    # get a version of their own (the store's "policies" lock).
    a, b = ctx.data["alt"]
    path = API + "/policies/resource/resource-policy"
    got, errors = write_from_both(a, b, 4, lambda c, srv, text: c.request(
        "PUT", path, body={"policy": "-- %s\n%s" % (text, ALLOW)},
        headers=auth_hdr(srv)))
    check(not errors, "uploads failed: %r" % errors[:3])
    check(len(got) == 16 and sorted(got) == list(range(min(got), min(got) + 16)),
          "versions: %r" % {k: v for k, v in got.items() if len(v) > 1})


def test_rotation_on_a_picked_up_by_b(ctx):
    a, b = ctx.data["alt"]
    before = health_store(b)["key_version"]
    r = a.request("POST", API + "/keys/rotate", body={}, headers=auth_hdr(a))
    H.expect_status(r, 202)
    new = r.json()["current_version"]
    check(new == before + 1, "rotate: %r" % r.json())
    # B loads the new version without a restart...
    wait_for("B loading version %d" % new,
             lambda: health_store(b)["key_version"] == new)
    # ...and reads what A seals under it, and the other way round.
    put_ok(a, "ha/key/rot-a", b"sealed on A under v%d" % new)
    put_ok(b, "ha/key/rot-b", b"sealed on B under v%d" % new)
    g = H.PyGuest(b).handshake()
    check(g.fetch("ha/key/rot-a") == b"sealed on A under v%d" % new, "B reads A")
    g.srv = a
    check(g.fetch("ha/key/rot-b") == b"sealed on B under v%d" % new, "A reads B")

    def done():
        ks = b.request("GET", API + "/keys", headers=auth_hdr(b)).json()
        return ks if ks["state"] == "idle" and ks["oldest_version"] == new \
            else None

    ks = wait_for("the rotation draining", done, timeout=120, every=0.5)
    check(all(v["version"] == new for v in ks["versions"] if v["rows"]),
          "rows left under old versions: %r" % ks["versions"])
    check(g.fetch("ha/key/alt").startswith(b"alternately-"), "old row re-sealed")


def test_session_outlives_its_instance(ctx):
    a, b = ctx.data["alt"]
    g = H.PyGuest(a).handshake()
    a.kill()                                   # kill -9 the maker
    g.srv = b
    check(g.fetch("ha/key/alt").startswith(b"alternately-"),
          "B serves a session A made")
    g2 = H.PyGuest(b)
    g2.auth()                                  # unattested, made on B
    a.start()
    g.srv = a
    check(g.fetch("ha/key/alt").startswith(b"alternately-"),
          "restarted A serves it")
    g2.srv = a
    g2.attest()
    check(g2.fetch("ha/key/alt").startswith(b"alternately-"),
          "restarted A attests B's session")
    a.stop()
    b.stop()


def test_join_while_the_first_keeps_running(ctx):
    mariadb_env()
    astate = ctx.path("join-a-state")
    store = H.store_args(astate, mariadb=True)
    a = ctx.server("join-a", state_dir=astate, args=store)
    put_ok(a, "ha/key/join", b"before the join")
    bstate = ctx.path("join-b-state")
    req, joinf = ctx.path("join-req.json"), ctx.path("join.json")

    def trusteed(*args):
        p = subprocess.run([H.TRUSTEED, "--dev", "--state-dir", bstate] +
                           list(args) + store, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        check(p.returncode == 0, "trusteed %s: %s" % (args[0],
                                                      p.stderr.decode()))

    trusteed("--join-request", req)
    p = H.run_cli(H.cli_base(a, admin=True) + ["key", "export", "--for", req,
                                               "--out", joinf])
    check(p.returncode == 0, "export: %s" % p.stderr.decode())
    trusteed("--join", joinf)                 # A keeps serving meanwhile
    check(not os.path.exists(os.path.join(bstate, "join.key")), "join.key")
    b = ctx.server("join-b", state_dir=bstate, args=store)
    with open(a.cacert, "rb") as fa, open(b.cacert, "rb") as fb:
        check(fa.read() != fb.read(), "B has A's certificate")
    # One guest on both: its cookie, its token, A's secret.
    g = H.PyGuest(b)
    g.auth()
    g.srv = a
    g.attest()
    check(g.fetch("ha/key/join") == b"before the join", "A serves")
    g.srv = b
    check(g.fetch("ha/key/join") == b"before the join", "B, cookie")
    check(g.fetch("ha/key/join", mode="bearer") == b"before the join",
          "B, A's token")
    put_ok(b, "ha/key/joined", b"written on B")
    g.srv = a
    check(g.fetch("ha/key/joined") == b"written on B", "A reads B's write")
    ks = b.request("GET", API + "/keys", headers=auth_hdr(b)).json()
    ids = {i["id"] for i in ks["instances"]}
    check(len(ids) == 2 and all(i["live"] for i in ks["instances"]),
          "instances %r" % ks["instances"])
    a.stop()
    b.stop()


# ------------------------------------------------------------------ crash

def test_kill9_during_admin_writes_on_two_instances(ctx):
    a, b = pair(ctx, "crash")
    acked, lock, stop = {}, threading.Lock(), threading.Event()
    errors = []

    def writer(srv, k):
        c = H.Conn(srv)
        hdr = auth_hdr(srv)
        i = 0
        while not stop.is_set():
            name = "crash/%s%d/w%05d" % (srv.name[-1], k, i)
            v = ("%s-%d-%d-" % (srv.name, k, i)).encode() + \
                os.urandom(8).hex().encode()
            try:
                r = put(c, srv, name, v, hdr)
            except Exception:          # noqa: BLE001 - the server died
                return
            if r.status in (200, 201):
                with lock:
                    acked[name] = v
            elif srv is b:
                errors.append("B answered %d: %r" % (r.status, r.body[:200]))
            i += 1

    ts = [threading.Thread(target=writer, args=(s, k))
          for s in (a, b) for k in range(2)]
    for t in ts:
        t.start()
    try:
        wait_for("150 acknowledged writes", lambda: len(acked) >= 150,
                 timeout=120, every=0.05)
        os.kill(a.proc.pid, 9)                # in the middle of the burst
        a.proc.wait()
        a.proc = None
        n = len(acked)
        # B goes on writing meanwhile.
        wait_for("B writing on", lambda: len(acked) >= n + 30, timeout=60,
                 every=0.05)
    finally:
        stop.set()
        for t in ts:
            t.join()
    check(not errors, "; ".join(errors[:3]))
    a.start()
    for srv in (a, b):
        g = H.PyGuest(srv).handshake()
        for name, v in sorted(acked.items()):
            got = g.fetch(name)
            check(got == v, "%s on %s: acknowledged %r, read %r"
                  % (name, srv.name, v, got))
    p = H.run_cli(H.cli_base(b, admin=True) + ["store", "check"])
    check(p.returncode == 0, "store check: %s" % p.stdout.decode())
    print("# kill -9 of A during writes: %d acknowledged writes (A and B) "
          "all present on both" % len(acked), flush=True)
    a.stop()
    b.stop()


# ------------------------------------------------------------------ outage

def outage_checks(srv, attested, authed, label):
    """Every request that needs the database answers a 503 problem with
    Retry-After (or, for /readyz, not ready); /healthz and /auth (a
    stateless challenge) answer. Returns the slowest answer's seconds."""
    slowest = 0.0
    hdr = auth_hdr(srv)
    r, t = timed(srv.request, "POST", "/kbs/v0/auth",
                 body={"version": H.PROTOCOL_VERSION, "tee": "sample",
                       "extra-params": ""})
    H.expect_status(r, 200)
    check(len(r.json()["nonce"]) == 44, "%s /auth: %r" % (label, r.json()))
    slowest = max(slowest, t)
    r, t = timed(authed.attest, expect_ok=False)
    expect_unavailable(r, label + " /attest")
    slowest = max(slowest, t)
    r, t = timed(attested.get, "resource/ha/key/out")
    expect_unavailable(r, label + " cookie GET")
    slowest = max(slowest, t)
    r, t = timed(attested.get, "resource/ha/key/out", mode="bearer")
    expect_unavailable(r, label + " Bearer GET")
    slowest = max(slowest, t)
    r, t = timed(srv.request, "PUT", API + "/resources/ha/key/during",
                 body=b"x", headers=dict(hdr, **{
                     "Content-Type": "application/octet-stream"}))
    expect_unavailable(r, label + " admin PUT")
    slowest = max(slowest, t)
    for path in ("/healthz", "/.well-known/jwks.json", "/metrics"):
        r, t = timed(srv.request, "GET", path)
        H.expect_status(r, 200)     # from memory
        slowest = max(slowest, t)
    r, t = timed(srv.request, "GET", "/readyz")
    H.expect_status(r, 503)
    check(r.json()["status"] == "not ready" and r.json()["store"] is False,
          "%s /readyz %r" % (label, r.json()))
    slowest = max(slowest, t)
    return slowest


def test_mariadb_stopped_while_serving(ctx):
    os.chmod(ctx.tmp, 0o711)           # the server may run as mysql
    db = M.Server(ctx.path("mdb-out")).start()
    try:
        srv = ctx.server("out", args=["--store", db.dsn()],
                         env=cred_env(ctx, db.password_file, "out"))
        put_ok(srv, "ha/key/out", b"before the outage")
        attested = H.PyGuest(srv).handshake()
        authed = H.PyGuest(srv)
        authed.auth()

        db.stop()
        slow_stop = outage_checks(srv, attested, authed, "stopped")
        check(srv.running(), "trusteed died with the database")
        db.start()
        wait_for("/readyz after the restart", lambda: ready(srv), timeout=60)
        # The sessions made before the outage are still there.
        authed.attest()
        check(authed.fetch("ha/key/out") == b"before the outage", "after")
        check(attested.fetch("ha/key/out") == b"before the outage", "cookie")
        check(H.PyGuest(srv).handshake().fetch("ha/key/out") ==
              b"before the outage", "a new flow")
        put_ok(srv, "ha/key/after", b"written after")

        # Frozen (a hung host): the same answers, within the timeout.
        authed2 = H.PyGuest(srv)
        authed2.auth()
        db.freeze()
        try:
            slow_freeze = outage_checks(srv, attested, authed2, "frozen")
        finally:
            db.thaw()
        wait_for("/readyz after the thaw", lambda: ready(srv), timeout=60)
        # The /attest during the freeze sent its write and timed out: the
        # thawed server may have carried it out, spending the nonce (at
        # most once); the guest's retry then hears so, and a new /auth
        # works.
        r = authed2.attest(expect_ok=False)
        if r.status != 200:
            H.expect_problem(r, 401, "AttestationError", "already used")
            authed2 = H.PyGuest(srv).handshake()
        check(authed2.fetch("ha/key/after") == b"written after", "thawed")
        print("# database stopped: slowest answer %.2f s; frozen: %.2f s "
              "(store timeout 5 s)" % (slow_stop, slow_freeze), flush=True)
        # Background jobs retrying against the missing database say so
        # once (then at most every 30 or 60 s), not at every retry: two
        # outages of seconds, two group-commit queues (audit, attestation
        # log), one heartbeat.
        with open(srv.logpath, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        waits = log.count("record(s) wait for the store")
        beats = log.count("store: heartbeat:")
        check(waits <= 4 and beats <= 2, "log flood during the outages: %d "
              "'wait for the store', %d heartbeat lines" % (waits, beats))
        check("the store took the records that waited" in log,
              "no line says the waiting records were committed")
        srv.stop()
    finally:
        db.stop()


# ------------------------------------------------------------------ Galera

class Load:
    """A bounded guest and admin-write load on one instance, counting what
    happened before and after a point in time (the node stop)."""

    def __init__(self, srv, tag):
        self.srv = srv
        self.tag = tag
        self.lock = threading.Lock()
        self.acked = {}
        self.after = threading.Event()
        self.stop = threading.Event()
        self.counts = {k: 0 for k in (
            "writes", "writes_after", "flows", "flows_after", "unavailable",
            "unavailable_after")}
        self.errors = []

    def note(self, key):
        with self.lock:
            self.counts[key] += 1
            if self.after.is_set():
                self.counts[key + "_after"] += 1

    def writes(self, k):
        c = H.Conn(self.srv)
        hdr = auth_hdr(self.srv)
        i = 0
        while not self.stop.is_set():
            name = "galera/%s%d/w%05d" % (self.tag, k, i)
            v = ("%s-%d-" % (name, i)).encode() + os.urandom(6).hex().encode()
            try:
                r = put(c, self.srv, name, v, hdr)
            except (OSError, ssl.SSLError, http.client.HTTPException) as e:
                self.errors.append("PUT %s: %s" % (name, e))
                c.close()
                return
            if r.status in (200, 201):
                with self.lock:
                    self.acked[name] = v
                self.note("writes")
            elif r.status == 503 and r.header("Retry-After"):
                self.note("unavailable")
                time.sleep(0.2)
            else:
                self.errors.append("PUT %s: %d %r" % (name, r.status,
                                                      r.body[:200]))
            i += 1
            time.sleep(0.02)              # bounded: about 40 writes/s
        c.close()

    def flows(self):
        while not self.stop.is_set():
            g = H.PyGuest(self.srv)
            try:
                try:
                    g.auth()
                    g.attest()
                    r = g.get("resource/galera/key/base")
                    if r.status == 200:
                        check(g.decrypt(r) == b"galera base", "base value")
                except H.TestFailure:
                    r = g.last             # a step answered non-200
                    if r is None or r.status == 200:
                        raise
            except (OSError, ssl.SSLError, http.client.HTTPException,
                    AssertionError) as e:
                self.errors.append("flow: %s" % e)
                return
            if r.status == 200:
                self.note("flows")
            elif r.status == 503 and r.header("Retry-After"):
                self.note("unavailable")
                time.sleep(0.2)
            else:
                self.errors.append("flow: %d %r" % (r.status, r.body[:200]))
            time.sleep(0.05)

    def start(self):
        self.threads = [threading.Thread(target=self.writes, args=(k,))
                        for k in range(2)] + \
                       [threading.Thread(target=self.flows)]
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def test_galera_node_lost_under_load(ctx):
    miss = M.missing(galera=True)
    if miss:
        check(not H.in_ci(), "missing under CI: %s" % "; ".join(miss))
        H.skip("; ".join(miss))
    os.chmod(ctx.tmp, 0o711)           # the nodes run as mysql
    cl = M.Galera(ctx.path("galera")).start()
    try:
        env = cred_env(ctx, cl.nodes[0].password_file, "galera")
        state = ctx.path("galera-state")
        a = ctx.server("gal-a", state_dir=state, start=False, env=env,
                       args=["--store", cl.nodes[0].dsn()])
        a.start(timeout=60)
        b = ctx.server("gal-b", state_dir=state, start=False, env=env,
                       args=["--store", cl.nodes[1].dsn()])
        b.start(timeout=60)
        put_ok(a, "galera/key/base", b"galera base")
        la, lb = Load(a, "a"), Load(b, "b")
        la.start()
        lb.start()
        try:
            wait_for("load running", lambda: la.counts["writes"] >= 60 and
                     lb.counts["writes"] >= 60 and la.counts["flows"] >= 5,
                     timeout=120, every=0.1)
            # Node 2, under B, leaves the cluster.
            la.after.set()
            lb.after.set()
            cl.stop_node(1)
            cl.wait_cluster_size(2)
            base = la.counts["writes_after"]
            wait_for("A serving after the stop",
                     lambda: la.counts["writes_after"] >= base + 60 and
                     la.counts["flows_after"] >= 5, timeout=120, every=0.1)
        finally:
            la.join()
            lb.join()
        check(not la.errors, "A: %s" % "; ".join(la.errors[:3]))
        check(not lb.errors, "B (503 is expected, nothing else): %s"
              % "; ".join(lb.errors[:3]))
        check(lb.counts["unavailable_after"] > 0,
              "B never noticed its node was gone: %r" % lb.counts)
        acked = dict(la.acked)
        acked.update(lb.acked)
        g = H.PyGuest(a).handshake()
        for name, v in sorted(acked.items()):
            check(g.fetch(name) == v, "%s lost or changed on A" % name)
        # Node 2 rejoins; B resumes by itself and sees every write.
        cl.start_node(1)
        wait_for("B ready again", lambda: ready(b), timeout=120)
        g = H.PyGuest(b).handshake()
        for name, v in sorted(acked.items()):
            check(g.fetch(name) == v, "%s lost or changed on B" % name)
        print("# galera: node 2 (under B) stopped under load; acknowledged "
              "writes %d (A %d of which %d after the stop, B %d), flows A %d "
              "(%d after), B %d; B answered 503 %d times after the stop; "
              "A 503 %d; lost 0"
              % (len(acked), la.counts["writes"], la.counts["writes_after"],
                 lb.counts["writes"], la.counts["flows"],
                 la.counts["flows_after"], lb.counts["flows"],
                 lb.counts["unavailable_after"], la.counts["unavailable"]),
              flush=True)
        a.stop()
        b.stop()
    finally:
        cl.stop()


if __name__ == "__main__":
    H.require(SUITE, M.missing())
    H.main(globals(), SUITE)
