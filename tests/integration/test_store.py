#!/usr/bin/python3
"""
test_store.py: the encrypted store as operators and attackers meet it,
against real `trusteed` processes:

- online rotation of more than 20,000 rows under a mixed load (guest flows,
  resource GETs, admin writes), every response checked, `trusteectl key
  status` followed until the old version is dropped;
- the raw SQLite file (and its WAL) shows no secret value, resource path,
  policy text, reference value name or value;
- one flipped byte in one row: an integrity problem for that item only,
  `trusteectl store check` names it; a tampered resource_index row is
  skipped and reported by listings and repaired by PUT or DELETE;
- kill -9 during a burst of admin writes: after a restart every write
  acknowledged with 2xx is there and readable;
- a wrong sealer, a database of another deployment: a clear startup error
  and nothing written; `trusteed -n` on missing and too-open files;
- joining a second instance (file sealer, SQLite: the first is stopped
  first, as the file is one daemon's); two --dev instances sharing one
  state directory and a private MariaDB (when mariadbd is installed).

Large fills use a state directory on /dev/shm (tmpfs) so that 20,000
fsynced writes do not take minutes; the crash test runs on the disk.
"""

import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H                                       # noqa: E402
from harness import check                                 # noqa: E402

API = "/api/v1"
FAST = "/dev/shm" if os.path.isdir("/dev/shm") else None
ROTATION_ROWS = 20000


# ------------------------------------------------------------------ helpers

def auth_hdr(srv, role="admin"):
    return {"Authorization": "Bearer " + H.admin_token(srv, role=role, ttl=3600)}


def put_resource(conn, srv, name, value, hdr=None):
    r = conn.request("PUT", API + "/resources/" + name, body=value,
                     headers=dict(hdr or auth_hdr(srv),
                                  **{"Content-Type": "application/octet-stream"}))
    check(r.status in (200, 201), "PUT %s: %d %s" % (name, r.status, r.body[:300]))
    return r


def key_status(srv):
    r = srv.request("GET", API + "/keys", headers=auth_hdr(srv))
    H.expect_status(r, 200)
    return r.json()


def rows_by_version(ks):
    return {v["version"]: v["rows"] for v in ks["versions"]}


def ctl(srv, *args, admin=True):
    return H.run_cli(H.cli_base(srv, admin=admin) + list(args))


def fast_state(ctx, name):
    """A state directory on tmpfs when there is one."""
    d = tempfile.mkdtemp(prefix="trustee-store-%s-" % name, dir=FAST or ctx.tmp)
    ctx.data.setdefault("fast_dirs", []).append(d)
    return d


def file_digest(path):
    h = hashlib.sha256()
    for suffix in ("", "-wal"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def run_trusteed(args, timeout=30, env=None):
    return subprocess.run([H.TRUSTEED] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=env)


def db_rows(srv, table):
    """(id, blob, kv) of every row of a store table of srv's database, by
    id: the SQLite file, or its MariaDB database on the MariaDB pass."""
    mdb = H.store_database(srv)
    if mdb is not None:
        rows = H.mariadb_server().sql(
            "SELECT HEX(id), HEX(`blob`), kv FROM `rows` WHERE tbl = '%s' "
            "ORDER BY id;" % table, database=mdb)
        return [(bytes.fromhex(i), bytes.fromhex(b), int(kv))
                for i, b, kv in rows]
    h = sqlite3.connect(os.path.join(srv.state, "trustee.db"))
    try:
        return h.execute("SELECT id, blob, kv FROM rows WHERE tbl = ? "
                         "ORDER BY id", (table,)).fetchall()
    finally:
        h.close()


def flip_byte(srv, table, row_id, offset=40):
    """Flip one bit of a row's sealed blob in srv's database (stopped)."""
    mdb = H.store_database(srv)
    if mdb is not None:
        (blob,) = [b for i, b, _ in db_rows(srv, table) if i == row_id]
        blob = bytearray(blob)
        blob[offset] ^= 0x20
        H.mariadb_server().sql(
            "UPDATE `rows` SET `blob` = UNHEX('%s') WHERE tbl = '%s' AND "
            "id = UNHEX('%s');" % (bytes(blob).hex(), table, row_id.hex()),
            database=mdb)
        return
    h = sqlite3.connect(os.path.join(srv.state, "trustee.db"))
    try:
        blob = bytearray(h.execute("SELECT blob FROM rows WHERE tbl = ? AND "
                                   "id = ?", (table, row_id)).fetchone()[0])
        blob[offset] ^= 0x20
        h.execute("UPDATE rows SET blob = ? WHERE tbl = ? AND id = ?",
                  (bytes(blob), table, row_id))
        h.commit()
    finally:
        h.close()


def store_digest(srv):
    """A digest of everything in srv's database (to show nothing was
    written): the SQLite file and WAL, or every MariaDB table's rows."""
    mdb = H.store_database(srv)
    if mdb is None:
        return file_digest(os.path.join(srv.state, "trustee.db"))
    h = hashlib.sha256()
    for q in ("SELECT tbl, HEX(id), kv, ord, exp, rev, HEX(`blob`) FROM "
              "`rows` ORDER BY tbl, id;", "SELECT * FROM meta ORDER BY k;",
              # Not the registry of lease holders (store/lease.c): an
              # instance notes itself there while it answers releases.
              "SELECT * FROM gen WHERE tbl NOT LIKE 'lease:%' ORDER BY "
              "tbl;"):
        h.update(repr(H.mariadb_server().sql(q, database=mdb)).encode())
    return h.hexdigest()


# ------------------------------------------------------------------ rotation

def test_rotation_under_mixed_load(ctx):
    srv = ctx.server("rot", state_dir=fast_state(ctx, "rot"),
                     args=["--limit", "auth_rate=0", "--limit", "attest_rate=0"])
    hdr = auth_hdr(srv)
    # Fill: each resource is an index row and a value row (+ an audit row).
    n = ROTATION_ROWS // 3 + 200
    values = {}
    lock = threading.Lock()
    errors = []

    def filler(k):
        c = H.Conn(srv)
        try:
            for i in range(k, n, 4):
                name = "rot%d/key/r%05d" % (i % 10, i)
                v = ("v0-%d-" % i).encode() + os.urandom(8).hex().encode()
                put_resource(c, srv, name, v, hdr)
                with lock:
                    values[name] = v
        except Exception as e:                 # noqa: BLE001
            errors.append("filler: %s" % e)
        finally:
            c.close()

    ts = [threading.Thread(target=filler, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, "; ".join(errors[:3]))
    ks = key_status(srv)
    total = sum(rows_by_version(ks).values())
    check(total >= ROTATION_ROWS, "only %d rows before rotating" % total)
    check(ks["current_version"] == 1 and ks["state"] == "idle", "status %r" % ks)

    names = sorted(values)
    pending = {}        # name: the value an admin PUT in flight writes
    stop = threading.Event()

    def acceptable(name):
        """What a read of name may give now: the value last acknowledged,
        or the one a PUT in flight is writing (call with lock held)."""
        return {values[name], pending.get(name)}
    counts = {"flows": 0, "gets": 0, "writes": 0}

    def guest_flows():
        while not stop.is_set():
            try:
                g = H.PyGuest(srv).handshake()
                name = random.choice(names)
                with lock:
                    want = acceptable(name)
                got = g.fetch(name)
                # an admin writer may have replaced it meanwhile
                with lock:
                    ok = got in want | acceptable(name)
                check(ok, "flow: %s gave %r" % (name, got[:40]))
                with lock:
                    counts["flows"] += 1
            except Exception as e:             # noqa: BLE001
                errors.append("flow: %s" % e)
                return

    def resource_gets():
        try:
            g = H.PyGuest(srv).handshake()
        except Exception as e:                 # noqa: BLE001
            errors.append("gets setup: %s" % e)
            return
        c = H.Conn(srv)
        try:
            while not stop.is_set():
                name = random.choice(names)
                with lock:
                    want = acceptable(name)
                r = c.request("GET", "/kbs/v0/resource/" + name,
                              headers=g.cookie_header())
                got = g.decrypt(r)
                with lock:
                    ok = got in want | acceptable(name)
                check(ok, "GET %s gave %r" % (name, got[:40]))
                with lock:
                    counts["gets"] += 1
        except Exception as e:                 # noqa: BLE001
            errors.append("get: %s" % e)
        finally:
            c.close()

    def admin_writes():
        c = H.Conn(srv)
        i = 0
        try:
            while not stop.is_set():
                name = names[(i * 7919) % len(names)]
                v = ("v1-%d-" % i).encode() + os.urandom(6).hex().encode()
                with lock:
                    pending[name] = v
                try:
                    put_resource(c, srv, name, v, hdr)
                finally:
                    with lock:
                        # acknowledged (or failed: then the test fails)
                        values[name] = v
                        del pending[name]
                r = c.request("GET", API + "/resources/" + name, headers=hdr)
                check(r.status == 200 and r.json()["size"] == len(v),
                      "meta %s: %d %s" % (name, r.status, r.body[:200]))
                with lock:
                    counts["writes"] += 1
                i += 1
        except Exception as e:                 # noqa: BLE001
            errors.append("admin: %s" % e)
        finally:
            c.close()

    workers = [threading.Thread(target=guest_flows),
               threading.Thread(target=resource_gets),
               threading.Thread(target=resource_gets),
               threading.Thread(target=admin_writes)]
    for t in workers:
        t.start()
    try:
        time.sleep(1)
        r = srv.request("POST", API + "/keys/rotate", body={}, headers=hdr)
        H.expect_status(r, 202)
        check(r.json()["current_version"] == 2, "rotate: %r" % r.json())
        # A second one waits for the first.
        H.expect_problem(srv.request("POST", API + "/keys/rotate", body={},
                                     headers=hdr), 409, "Conflict", "in progress")
        seen_states, progress = set(), []
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not errors:
            p = ctl(srv, "--json", "key", "status")
            check(p.returncode == 0, "key status: %s" % p.stderr.decode())
            ks = json.loads(p.stdout)
            seen_states.add(ks["state"])
            progress.append(rows_by_version(ks).get(1, 0))
            if ks["state"] == "idle" and ks["oldest_version"] == 2:
                break
            time.sleep(0.5)
    finally:
        stop.set()
        for t in workers:
            t.join()
    check(not errors, "load errors: %s" % "; ".join(errors[:5]))
    check(ks["state"] == "idle" and ks["oldest_version"] == 2 and
          ks["current_version"] == 2, "rotation did not finish: %r" % ks)
    check(rows_by_version(ks).get(1, 0) == 0, "rows left under v1: %r" % ks)
    # (a write sealed just before the rotation may land just after the
    # first look: a few rows of slack, no more)
    check(progress[0] > 0 and progress[-1] == 0 and
          max(progress) <= progress[0] + 20,
          "v1 rows did not go down: %r" % progress[:20])
    check(counts["flows"] > 0 and counts["gets"] > 100 and counts["writes"] > 10,
          "too little load during the rotation: %r" % counts)
    # Health says so too, and the status command shows the version.
    p = ctl(srv, "status")
    check(p.returncode == 0 and "key_version: 2" in p.stdout.decode(),
          "status: %s" % p.stdout.decode())
    # Everything still reads, with the last value written.
    g = H.PyGuest(srv).handshake()
    for name in random.sample(names, 300):
        check(g.fetch(name) == values[name], "%s after the rotation" % name)
    p = ctl(srv, "store", "check")
    check(p.returncode == 0 and "bad rows     0" in p.stdout.decode(),
          "store check: %s %s" % (p.stdout.decode(), p.stderr.decode()))
    print("# rotation: %d rows, states %s, load %r" % (total, sorted(seen_states),
                                                       counts), flush=True)
    srv.stop()
    _cleanup_fast(ctx)


# ------------------------------------------------------------------ raw file

def test_raw_database_shows_no_plaintext(ctx):
    srv = ctx.server("raw")
    hdr = auth_hdr(srv)
    secret = b"S3CRET-VALUE-" + os.urandom(8).hex().encode()
    path = "unguessablerepo/secretkind/hiddentag7"
    c = H.Conn(srv)
    put_resource(c, srv, path, secret, hdr)
    c.close()
    policy = ("-- POLICYMARKER-%s\nreturn function(claims, request)\n"
              "  return true, 'allowed by the raw-file test'\nend\n"
              % os.urandom(4).hex())
    r = srv.request("PUT", API + "/policies/resource/resource-policy",
                    body=policy, headers=dict(hdr, **{"Content-Type": "text/plain"}))
    check(r.status in (200, 201), "policy put: %d %s" % (r.status, r.body[:300]))
    rv_name = "RVNAME-%s" % os.urandom(4).hex()
    rv_value = "RVVALUE-%s" % os.urandom(4).hex()
    r = srv.request("PUT", API + "/reference-values/" + rv_name,
                    body={"value": [rv_value]}, headers=hdr)
    check(r.status in (200, 201), "rv put: %d %s" % (r.status, r.body[:300]))
    db = os.path.join(srv.state, "trustee.db")
    markers = [secret, path.encode(), b"unguessablerepo", b"hiddentag7",
               b"POLICYMARKER", rv_name.encode(), rv_value.encode(),
               b"return function(claims", b"raw-file test"]

    def scan(what):
        if H.on_mariadb():
            # mariadb-dump of the database (blobs as they are).
            data = H.store_dump(srv)
            for m in markers:
                check(m not in data, "%s: %r found in the dump" % (what, m))
            return data
        for suffix in ("", "-wal", "-shm"):
            p = db + suffix
            if not os.path.exists(p):
                continue
            with open(p, "rb") as f:
                data = f.read()
            for m in markers:
                check(m not in data, "%s: %r found in %s" % (what, m, p))
        with open(db, "rb") as f:
            data = f.read()
        return data

    scan("while running")
    srv.stop()
    data = scan("after stopping")
    # The scan can find things: table names are stored in clear.
    check(b"resource_index" in data, "table names not found: the scan is broken")


# ------------------------------------------------------------------ integrity

def test_flipped_byte_is_one_items_problem(ctx):
    srv = ctx.server("flip")
    hdr = auth_hdr(srv)
    c = H.Conn(srv)
    names = ["flip/key/n%d" % i for i in range(6)]
    vals = {}
    for n in names:
        vals[n] = os.urandom(12).hex().encode()
        put_resource(c, srv, n, vals[n], hdr)
    c.close()
    srv.stop()
    data_rows = db_rows(srv, "resource_data")
    check(len(data_rows) == 6, "%d value rows" % len(data_rows))
    bad_id = data_rows[2][0]
    flip_byte(srv, "resource_data", bad_id)
    srv.start()
    g = H.PyGuest(srv).handshake()
    broken = []
    for n in names:
        r = g.get("resource/" + n)
        if r.status == 200:
            check(g.decrypt(r) == vals[n], "%s: wrong value" % n)
        else:
            H.expect_problem(r, 500, "IntegrityError")
            broken.append(n)
    check(len(broken) == 1, "broken items: %r" % broken)
    with open(srv.logpath, "rb") as f:
        log = f.read().decode("utf-8", "replace")
    check(bad_id.hex() in log and "resource_data" in log,
          "the log does not name table and row: %s" % srv.log_tail(10))
    # store check names exactly that row, exit 1.
    p = ctl(srv, "--json", "store", "check")
    check(p.returncode == 1, "store check exit %d" % p.returncode)
    rep = json.loads(p.stdout)
    check(rep["bad_rows"] == 1 and rep["problems"][0]["table"] == "resource_data"
          and rep["problems"][0]["row"] == bad_id.hex(), "check: %r" % rep)
    # Everything else works: the listing, writes, the other GETs.
    r = srv.request("GET", API + "/resources?prefix=flip/", headers=hdr)
    H.expect_status(r, 200)
    check(len(r.json()["items"]) == 6, "listing %r" % r.json())
    # Rewriting the broken resource repairs it.
    c = H.Conn(srv)
    put_resource(c, srv, broken[0], b"fresh", hdr)
    c.close()
    check(g.fetch(broken[0]) == b"fresh", "repaired value")
    p = ctl(srv, "--json", "store", "check")
    # the old value row of the broken version is still there (kept version)
    rep = json.loads(p.stdout)
    check(rep["bad_rows"] <= 1, "check after repair %r" % rep)
    if rep["bad_rows"] == 1:
        row = rep["problems"][0]
        p = ctl(srv, "store", "delete-row", row["table"], row["row"])
        check(p.returncode == 0, "delete-row: %s" % p.stderr.decode())
        p = ctl(srv, "store", "check")
        check(p.returncode == 0, "check after delete-row: %s" % p.stdout.decode())
    srv.stop()


def test_tampered_index_row_listing_and_repair(ctx):
    srv = ctx.server("index")
    hdr = auth_hdr(srv)
    c = H.Conn(srv)
    names = ["ix/key/n%d" % i for i in range(5)]
    for n in names:
        put_resource(c, srv, n, b"value-" + n.encode(), hdr)
    c.close()
    srv.stop()
    ix = db_rows(srv, "resource_index")
    bad_id = ix[1][0]
    flip_byte(srv, "resource_index", bad_id)
    srv.start()
    # Listing: 200, the bad row skipped and named.
    r = srv.request("GET", API + "/resources", headers=hdr)
    H.expect_status(r, 200)
    page = r.json()
    check(len(page["items"]) == 4, "items %r" % page)
    check(page.get("problems") and page["problems"][0]["row"] == bad_id.hex()
          and page["problems"][0]["table"] == "resource_index",
          "problems %r" % page.get("problems"))
    # Which name is it? Its GET says integrity error, the others are fine.
    listed = {x["name"] for x in page["items"]}
    (lost,) = [n for n in names if n not in listed]
    H.expect_problem(srv.request("GET", API + "/resources/" + lost, headers=hdr),
                     500, "IntegrityError", bad_id.hex())
    # PUT overwrites it (a new history), and the problem is gone.
    c = H.Conn(srv)
    put_resource(c, srv, lost, b"rewritten", hdr)
    c.close()
    r = srv.request("GET", API + "/resources", headers=hdr)
    check(len(r.json()["items"]) == 5 and "problems" not in r.json(),
          "after PUT %r" % r.json())
    check(H.PyGuest(srv).handshake().fetch(lost) == b"rewritten", "value")
    # DELETE repairs too: tamper another index row, then delete by name.
    srv.stop()
    ix = db_rows(srv, "resource_index")
    flip_byte(srv, "resource_index", ix[3][0])
    srv.start()
    r = srv.request("GET", API + "/resources", headers=hdr)
    listed = {x["name"] for x in r.json()["items"]}
    (lost2,) = [n for n in names if n not in listed]
    r = srv.request("DELETE", API + "/resources/" + lost2, headers=hdr)
    H.expect_status(r, 204)
    r = srv.request("GET", API + "/resources", headers=hdr)
    check(len(r.json()["items"]) == 4 and "problems" not in r.json(),
          "after DELETE %r" % r.json())
    H.expect_problem(srv.request("GET", API + "/resources/" + lost2, headers=hdr),
                     404, "NotFound")
    srv.stop()


# ------------------------------------------------------------------ crash

def test_kill9_keeps_acknowledged_writes(ctx):
    srv = ctx.server("crash")          # on the disk: real fsyncs
    hdr = auth_hdr(srv)
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(k):
        c = H.Conn(srv)
        i = 0
        while not stop.is_set():
            name = "crash%d/key/w%05d" % (k, i)
            v = ("%d-%d-" % (k, i)).encode() + os.urandom(8).hex().encode()
            try:
                r = c.request("PUT", API + "/resources/" + name, body=v,
                              headers=dict(hdr, **{"Content-Type":
                                                   "application/octet-stream"}))
            except Exception:          # noqa: BLE001 - the server died
                return
            if r.status in (200, 201):
                with lock:
                    acked[name] = v
            i += 1

    ts = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in ts:
        t.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 150:
                break
        time.sleep(0.05)
    os.kill(srv.proc.pid, signal.SIGKILL)   # in the middle of the burst
    srv.proc.wait()
    stop.set()
    for t in ts:
        t.join()
    srv.proc = None
    check(len(acked) >= 150, "only %d writes acknowledged" % len(acked))
    srv.start()
    g = H.PyGuest(srv).handshake()
    for name, v in sorted(acked.items()):
        got = g.fetch(name)
        check(got == v, "%s: acknowledged %r, read %r" % (name, v, got))
    # Nothing half-written: every row authenticates.
    p = ctl(srv, "store", "check")
    check(p.returncode == 0, "store check after kill -9: %s" % p.stdout.decode())
    print("# kill -9: %d acknowledged writes all present" % len(acked), flush=True)
    srv.stop()


# ------------------------------------------------------------------ startup

def test_wrong_sealer_or_deployment_writes_nothing(ctx):
    srv = ctx.server("seal")
    c = H.Conn(srv)
    put_resource(c, srv, "seal/key/a", b"value", auth_hdr(srv))
    c.close()
    srv.stop()
    db = os.path.join(srv.state, "trustee.db")
    before = store_digest(srv)
    keyfile = os.path.join(srv.state, "data.key")
    with open(keyfile, "rb") as f:
        good = f.read()
    # 1. Another file-sealer key: refused, clearly, nothing written.
    with open(keyfile, "wb") as f:
        f.write(os.urandom(32))
    p = run_trusteed(["--dev", "--state-dir", srv.state, "--listen",
                      "127.0.0.1:0"] + H.store_args(srv.state),
                     env=dict(os.environ, **H.store_env()))
    err = p.stderr.decode()
    check(p.returncode != 0 and "cannot unseal this instance's master key"
          in err and "not starting" in err, "wrong key file: %s" % err)
    check(store_digest(srv) == before, "the database changed")
    with open(keyfile, "wb") as f:
        f.write(good)
    os.chmod(keyfile, 0o600)
    # 2. A config naming another sealer kind for this database.
    state2 = ctx.path("seal-cfg-state")
    os.makedirs(state2)
    shutil.copy(os.path.join(srv.state, "instance-id"), state2)
    pw = ctx.write("passphrase", "correct horse battery\n")
    os.chmod(pw, 0o600)
    if H.on_mariadb():
        dbpw = ctx.path("db-password")
        shutil.copy(H.mariadb_server().password_file, dbpw)
        os.chmod(dbpw, 0o600)
        store_toml = 'dsn = "%s"\npassword_file = "%s"' % (
            srv.args[srv.args.index("--store") + 1], dbpw)
    else:
        store_toml = 'dsn = "sqlite:%s"' % db
    conf = ctx.write("seal.toml", """[http_server]
listen = ["127.0.0.1:0"]
certificate = "%(s)s/tls/cert.pem"
private_key = "%(s)s/tls/key.pem"
[storage]
state_dir = "%(st)s"
[store]
%(store)s
[sealer]
kind = "passphrase"
passphrase_file = "%(pw)s"
[admin]
public_keys = ["%(s)s/admin/public.pem"]
""" % {"s": srv.state, "st": state2, "store": store_toml, "pw": pw})
    p = run_trusteed(["-c", conf])
    err = p.stderr.decode()
    check(p.returncode != 0 and "seal.toml:" in err and "'file'" in err
          and "'passphrase'" in err and "not starting" in err,
          "sealer mismatch: %s" % err)
    check(store_digest(srv) == before, "the database changed")
    # 3. A database of another deployment: a fresh state directory (no
    # instance id) pointed at it.
    state3 = ctx.path("other-state")
    conf3 = ctx.write("other.toml", open(conf).read()
                      .replace(state2, state3)
                      .replace('kind = "passphrase"', 'kind = "file"')
                      .replace('passphrase_file = "%s"' % pw,
                               'key_file = "%s/k.key"' % state3))
    p = run_trusteed(["-c", conf3])
    err = p.stderr.decode()
    check(p.returncode != 0 and "already holds a deployment" in err and
          "--join-request" in err and "not starting" in err,
          "other deployment: %s" % err)
    check(store_digest(srv) == before, "the database changed")
    check(not os.path.exists(os.path.join(state3, "instance-id")),
          "an instance id was written")
    srv.start()                        # and the right config still works
    check(H.PyGuest(srv).handshake().fetch("seal/key/a") == b"value", "value")
    srv.stop()


def test_check_mode_reports_files(ctx):
    d = ctx.path("ncheck")
    os.makedirs(d)
    state = os.path.join(d, "state")
    conf = os.path.join(d, "t.toml")
    with open(conf, "w") as f:
        f.write("""[http_server]
listen = ["127.0.0.1:0"]
certificate = "cert.pem"
private_key = "key.pem"
[storage]
state_dir = "%s"
[admin]
public_keys = ["admin.pem"]
""" % state)
    p = run_trusteed(["-n", "-c", conf])
    err = p.stderr.decode()
    check(p.returncode != 0, "-n accepted missing files")
    for line, what in ((3, "cert.pem: No such file"),
                       (4, "key.pem: No such file"),
                       (8, "admin.pem: No such file")):
        check("t.toml:%d:" % line in err and what in err, "-n: %s" % err)
    check(err.rstrip().endswith("trusteed: not starting"), err)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    os.path.join(d, "key.pem"), "-out",
                    os.path.join(d, "cert.pem"), "-subj", "/CN=t", "-days", "2"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                    os.path.join(d, "a.key")], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", os.path.join(d, "a.key"),
                    "-pubout", "-out", os.path.join(d, "admin.pem")],
                   check=True, capture_output=True)
    os.chmod(os.path.join(d, "key.pem"), 0o644)
    p = run_trusteed(["-n", "-c", conf])
    err = p.stderr.decode()
    check(p.returncode != 0 and "t.toml:4:" in err and "too open" in err,
          "-n on a 0644 key: %s" % err)
    os.chmod(os.path.join(d, "key.pem"), 0o600)
    with open(os.path.join(d, "admin.pem"), "w") as f:
        f.write("not a key\n")
    p = run_trusteed(["-n", "-c", conf])
    err = p.stderr.decode()
    check(p.returncode != 0 and "t.toml:8:" in err and "PEM public key" in err,
          "-n on a bad admin key: %s" % err)
    subprocess.run(["openssl", "pkey", "-in", os.path.join(d, "a.key"),
                    "-pubout", "-out", os.path.join(d, "admin.pem")],
                   check=True, capture_output=True)
    p = run_trusteed(["-n", "-c", conf])
    check(p.returncode == 0 and b"configuration OK" in p.stdout,
          "-n on a good config: %s" % p.stderr.decode())
    check(not os.path.exists(state), "-n wrote the state directory")


# ------------------------------------------------------------------ join

def test_join_second_instance_file_sealer(ctx):
    H.sqlite_only("joining with the SQLite file handed over")
    a = ctx.server("joina")
    c = H.Conn(a)
    put_resource(c, a, "join/key/a", b"shared secret", auth_hdr(a))
    c.close()
    db = os.path.join(a.state, "trustee.db")
    bstate = ctx.path("joinb-state")
    req = ctx.path("join-request.json")
    joinf = ctx.path("join.json")
    store = ["--store", "sqlite:" + db]
    # B cannot open A's database before joining (and A holds the file).
    p = run_trusteed(["--dev", "--state-dir", bstate, "--join-request", req] + store)
    check(p.returncode == 0 and os.path.exists(req), "join request: %s"
          % p.stderr.decode())
    check(os.stat(os.path.join(bstate, "join.key")).st_mode & 0o077 == 0,
          "join.key is readable by others")
    p = ctl(a, "key", "export", "--for", req, "--out", joinf)
    check(p.returncode == 0 and os.path.exists(joinf), "export: %s"
          % p.stderr.decode())
    with open(joinf) as f:
        jf = json.load(f)
    check(jf["type"] == "trustee-join" and "sealed_key" in jf, "join file %r" % jf)
    a.stop()                           # SQLite: one daemon at a time
    p = run_trusteed(["--dev", "--state-dir", bstate, "--join", joinf] + store)
    check(p.returncode == 0, "join: %s" % p.stderr.decode())
    check(not os.path.exists(os.path.join(bstate, "join.key")),
          "join.key left behind")
    b = ctx.server("joinb", state_dir=bstate, args=store)
    check(H.PyGuest(b).handshake().fetch("join/key/a") == b"shared secret",
          "B reads A's secret")
    ks = key_status(b)
    check(len(ks["instances"]) == 2, "instances %r" % ks["instances"])
    # And the second daemon on the same SQLite file is refused, naming it.
    p = run_trusteed(["--dev", "--state-dir", a.state, "--listen",
                      "127.0.0.1:0", "--store", "sqlite:" + db])
    err = p.stderr.decode()
    check(p.returncode != 0 and "in use by another trusteed, pid %d"
          % b.proc.pid in err and "not starting" in err, "second daemon: %s" % err)
    b.stop()


# ------------------------------------------------------------------ MariaDB

def test_two_dev_instances_share_state_on_mariadb(ctx):
    try:
        import mariadb as M
    except ImportError:
        M = None
    missing = ["tests/integration/mariadb.py"] if M is None else M.missing()
    if missing:
        print("# store.two_dev_instances: SKIPPED: %s" % "; ".join(missing),
              flush=True)
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
        c = H.Conn(a)
        put_resource(c, a, "maria/key/x", b"written on A", auth_hdr(a))
        c.close()
        check(H.PyGuest(b).handshake().fetch("maria/key/x") == b"written on A",
              "B reads A's write")
        # A rotation on B is seen by A without a restart.
        r = b.request("POST", API + "/keys/rotate", body={}, headers=auth_hdr(b))
        H.expect_status(r, 202)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            h = a.request("GET", API + "/health", headers=auth_hdr(a)).json()
            if h["components"]["store"]["key_version"] == 2:
                break
            time.sleep(0.2)
        check(h["components"]["store"]["key_version"] == 2,
              "A did not load version 2: %r" % h["components"]["store"])
        check("warning" in h["components"]["sealer"], "no dev warning")
        a.stop()
        b.stop()
    finally:
        os.environ.pop("CREDENTIALS_DIRECTORY", None)
        db.stop()


def _cleanup_fast(ctx):
    for d in ctx.data.get("fast_dirs", []):
        shutil.rmtree(d, ignore_errors=True)


def test_zz_cleanup(ctx):
    """Removes the tmpfs state directories (last test)."""
    _cleanup_fast(ctx)


if __name__ == "__main__":
    H.main(globals(), "store")
