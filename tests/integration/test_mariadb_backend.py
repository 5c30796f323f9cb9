#!/usr/bin/python3
"""
test_mariadb_backend.py: the storage backend contract (tests/unit/
test_backend_*.c) against a real MariaDB and a real Galera cluster.

Starts a private mariadbd (tests/integration/mariadb.py: own datadir,
unix socket and loopback port, a `trustee` account with a password in a
0600 file) and runs each tests/unit/test_backend_* binary with
TRUSTEE_TEST_BACKENDS=mariadb: every case of the SQLite contract on a
fresh database each (test_backend_rows, _scan, _coord), and the MariaDB
cases (test_backend_mariadb: compare-and-swap from 16 threads, inserts
from 16 threads sharing statements, four instances creating or migrating
a schema at once, a newer schema refused, errors naming the redacted
DSN, the server stopped and hung while a handle is in use). Then a
3-node Galera cluster on loopback and each binary again with the galera
group (test_backend_galera: CAS across nodes, a node killed and another
stopped while handles on the others keep working, a node's handle
working again after it rejoins, inserts from 16 threads on two nodes).

TEST_BACKEND_DIR= runs the binaries of another build (a sanitizer build,
say) from that directory. A binary without cases of a group runs none.
Each cmocka case is one PASS/FAIL line; the total is cmocka's count
("N passed, M failed"). Needs mariadb-server, galera-4, rsync and root
(Galera nodes run as `mysql`); without them: SKIPPED by hand, a failure
under CI=true (harness.require).
"""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import mariadb  # noqa: E402

SUITE = "mariadb_backend"
BINARY_DIR = os.environ.get("TEST_BACKEND_DIR", os.path.join(
    harness.REPO, "tests", "unit"))
BINARIES = [os.path.join(BINARY_DIR, "test_backend_" + n) for n in (
    "rows", "scan", "coord", "sqlite", "mariadb", "galera")]
MODULE = os.path.join(harness.HERE, "mariadb.py")
RUN_TIMEOUT = 900

RUN = re.compile(r"^\[ RUN      \] (\S+)$")
END = re.compile(r"^\[ *(OK|FAILED|SKIPPED|ERROR) *\] (\S+)$")


def run_group(group, env, totals):
    """Run each binary's group with env; one PASS/FAIL line per case."""
    for binary in BINARIES:
        run_binary(binary, group, env, totals)


def run_binary(binary, group, env, totals):
    """Run binary's group with env; one PASS/FAIL line per case."""
    full = dict(os.environ)
    full.update(env)
    full["TRUSTEE_TEST_BACKENDS"] = group
    try:
        p = subprocess.run([binary], env=full, cwd=harness.REPO,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
        out, rc = p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        rc = "timeout after %d s" % RUN_TIMEOUT
    current, detail, seen_fail = None, [], 0
    for line in out.splitlines():
        m = RUN.match(line)
        if m:
            current, detail = m.group(1), []
            continue
        m = END.match(line)
        if m and current is not None and m.group(2) == current:
            label = "%s.%s.%s" % (SUITE, group, current)
            if m.group(1) == "OK":
                totals[0] += 1
                print("PASS %s" % label, flush=True)
            elif m.group(1) == "SKIPPED":
                print("# %s: SKIPPED: %s" % (label, " ".join(detail)),
                      flush=True)
            else:
                totals[1] += 1
                seen_fail += 1
                print("FAIL %s: %s" % (label, "\n    ".join(detail[-12:])),
                      flush=True)
            current = None
        elif current is not None:
            detail.append(line.strip())
    if rc != 0 and seen_fail == 0:
        totals[1] += 1
        print("FAIL %s.%s: %s exited with %s:\n%s"
              % (SUITE, group, os.path.basename(binary), rc, "\n".join(
                  "    | " + l for l in out.splitlines()[-30:])), flush=True)
    if current is not None:
        totals[1] += 1
        print("FAIL %s.%s.%s: did not finish" % (SUITE, group, current),
              flush=True)


def ctl(path):
    """The TRUSTEE_TEST_MARIADB_*CTL command for a server or cluster."""
    return "%s %s ctl %s" % (sys.executable, MODULE, path)


def main():
    missing = mariadb.missing(galera=True)
    for binary in BINARIES:
        if not os.access(binary, os.X_OK):
            missing.append("%s not built (make unit)" % binary)
    harness.require(SUITE, missing)
    tmp = tempfile.mkdtemp(prefix="trustee-itest-%s-" % SUITE)
    totals = [0, 0]
    try:
        srv = mariadb.Server(tmp).start()
        run_group("mariadb", {
            "TRUSTEE_TEST_MARIADB_DSN": srv.test_dsn(),
            "TRUSTEE_TEST_MARIADB_PASSWORD_FILE": srv.password_file,
            "TRUSTEE_TEST_MARIADB_CTL": ctl(srv.dir),
        }, totals)
        srv.stop()

        cl = mariadb.Galera(tmp).start()
        run_group("galera", {
            "TRUSTEE_TEST_MARIADB_GALERA": " ".join(
                n.test_dsn(tcp=True) for n in cl.nodes),
            "TRUSTEE_TEST_MARIADB_PASSWORD_FILE": cl.nodes[0].password_file,
            "TRUSTEE_TEST_MARIADB_GALERA_CTL": ctl(cl.dir),
        }, totals)
        cl.stop()
    except Exception as e:      # noqa: BLE001 - a harness step failed
        totals[1] += 1
        print("FAIL %s.harness: %s" % (SUITE, e), flush=True)
    finally:
        mariadb.stop_all()
    if totals[1] == 0 and os.environ.get("ITEST_KEEP") != "1":
        subprocess.run(["rm", "-rf", tmp])
    else:
        print("# %s: logs and state kept in %s" % (SUITE, tmp), flush=True)
    print("%d passed, %d failed" % (totals[0], totals[1]), flush=True)
    sys.exit(1 if totals[1] else 0)


if __name__ == "__main__":
    main()
