#!/usr/bin/python3
"""
mariadb.py: private MariaDB servers for the integration suites, alone or
as a 3-node Galera cluster on loopback. Imported by suites; also a small
command-line tool (see the end of the file) that tests written in C use to
stop, kill, freeze and restart a server the suite started.

Everything lives under one temporary directory and on 127.0.0.1 / unix
sockets; no system service, no /etc/mysql file is read (--defaults-file
names our own my.cnf, mariadb-install-db runs with --no-defaults). Every
server this process starts is stopped at exit (atexit, and on SIGTERM,
SIGINT and SIGHUP), also after a test failed.

    import mariadb
    harness.require("suite", mariadb.missing())      # SKIPPED / CI failure
    srv = mariadb.Server(tmpdir).start()
    srv.sql("SELECT 1")                              # [("1",)]
    srv.dsn()            # mariadb://trustee@localhost/trustee?socket=...
    srv.password_file    # 0600, the password of srv.user
    srv.stop(); srv.start(); srv.kill(); srv.freeze(); srv.thaw()

    cl = mariadb.Galera(tmpdir).start()              # 3 nodes, Synced
    cl.nodes[1].sql(...); cl.stop_node(2); cl.wait_cluster_size(2)
    cl.start_node(2)                                 # rejoins (IST/SST)

Accounts (created with passwords, never --skip-grant-tables):
  trustee      ALL on `trustee%`.*   (schema creation and migrations; the
                                      backend tests create one database
                                      per test, trustee_t_...)
  trustee_app  SELECT, INSERT, UPDATE, DELETE on `trustee%`.* (what a
                                      daemon needs once the schema exists)
Both use the password in srv.password_file, from 'localhost' (socket) and
'127.0.0.1' (TCP). The harness itself administers the server as the
MariaDB root account over the socket with unix_socket authentication.

SQL goes through the `mariadb` command-line client: the suites stay
standard-library-only, and the client is in the packages the server needs
anyway (no python3-pymysql to add to install-deps).

Run as root (CI), the servers run as the `mysql` user, as Galera's rsync
state transfer requires (see docs/mariadb.md); run by hand as another
user, they run as that user (a single server works; Galera may not).
"""

import atexit
import json
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
CLIENT = shutil.which("mariadb") or "/usr/bin/mariadb"
GALERA_PROVIDER = "/usr/lib/galera/libgalera_smm.so"
USER = "trustee"
APP_USER = "trustee_app"
DATABASE = "trustee"
HOSTS = ("localhost", "127.0.0.1")
START_TIMEOUT = 120.0

_RUNNING = []           # every Server started by this process
_HANDLERS = {}


class MariaDBError(AssertionError):
    """A harness step failed (an AssertionError so harness.main reports
    it as a test failure)."""


def missing(galera=False):
    """What is absent for a private server (or a Galera cluster), each
    with the Debian package that brings it; [] when everything is here."""
    out = []
    for path, pkg in ((MARIADBD, "mariadb-server"),
                      (INSTALL_DB, "mariadb-server"),
                      (CLIENT, "mariadb-client")):
        if not os.access(path, os.X_OK):
            out.append("%s not found (apt-get install %s)" % (path, pkg))
    if galera:
        if not os.path.exists(GALERA_PROVIDER):
            out.append("%s not found (apt-get install galera-4)"
                       % GALERA_PROVIDER)
        if shutil.which("rsync") is None:
            out.append("rsync not found (apt-get install rsync)")
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("mysql")
            except KeyError:
                out.append("no 'mysql' user to run Galera nodes as "
                           "(apt-get install mariadb-server)")
        else:
            out.append("a Galera cluster needs root (its nodes run as "
                       "'mysql' for the rsync state transfer)")
    return out


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(n):
    """n consecutive free TCP ports on 127.0.0.1 (the first is returned),
    below the kernel's ephemeral range: a port from bind(0) can be taken
    by any outgoing connection (Galera's own, say) before the server
    that was meant to listen on it starts."""
    lo, _ = _ephemeral_range()
    top = lo - n if lo - n > 12000 else 30000
    rng = random.SystemRandom()
    for _ in range(500):
        base = rng.randrange(10000, top)
        ok = True
        for p in range(base, base + n):
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", p))
            except OSError:
                ok = False
            finally:
                t.close()
            if not ok:
                break
        if ok:
            return base
    raise MariaDBError("no %d consecutive free ports on 127.0.0.1" % n)


def _pid_alive(pid):
    """True while pid runs (a zombie counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def stop_all():
    """Stop every server this process started (also run at exit)."""
    for srv in list(_RUNNING):
        try:
            srv.stop(timeout=30)
        except Exception:       # noqa: BLE001 - best effort at exit
            srv.kill()


def _on_signal(signum, frame):
    stop_all()
    prev = _HANDLERS.get(signum)
    if callable(prev):
        prev(signum, frame)
    else:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _install_cleanup():
    if _HANDLERS:
        return
    atexit.register(stop_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        _HANDLERS[sig] = signal.getsignal(sig)
        signal.signal(sig, _on_signal)


class Server:
    """One private mariadbd: datadir, socket, a free 127.0.0.1 port and its
    own my.cnf under root/name. galera: the wsrep settings (Galera.node)."""

    def __init__(self, root, name="mariadb", galera=None, port=None,
                 password_file=None, options=()):
        self.root = os.path.abspath(root)
        self.name = name
        self.dir = os.path.join(self.root, name)
        self.datadir = os.path.join(self.dir, "data")
        self.socket = os.path.join(self.dir, "sock")
        self.cnf = os.path.join(self.dir, "my.cnf")
        self.pidfile = os.path.join(self.dir, "mariadbd.pid")
        self.log = os.path.join(self.dir, "error.log")
        self.galera = galera
        self.port = port
        # Extra mariadbd options ("name=value"), after (so overriding)
        # the defaults below.
        self.options = list(options)
        self.password_file = password_file or os.path.join(
            self.root, "mariadb-password")
        self.user = USER
        self.app_user = APP_USER
        self.database = DATABASE
        self.proc = None
        self.as_root = os.geteuid() == 0
        self.admin = "root" if self.as_root else pwd.getpwuid(os.geteuid())[0]

    # ------------------------------------------------------------ set up

    def _state(self):
        return {"name": self.name, "port": self.port, "galera": self.galera,
                "password_file": self.password_file,
                "options": self.options}

    @classmethod
    def load(cls, d):
        """The Server whose directory is d (written by a start())."""
        with open(os.path.join(d, "server.json")) as f:
            st = json.load(f)
        return cls(os.path.dirname(os.path.abspath(d)), st["name"],
                   galera=st["galera"], port=st["port"],
                   password_file=st["password_file"],
                   options=st.get("options", ()))

    def _chown(self, path):
        if self.as_root:
            pw = pwd.getpwnam("mysql")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _password(self):
        if not os.path.exists(self.password_file):
            fd = os.open(self.password_file,
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(24) + "\n")
        with open(self.password_file) as f:
            return f.read().strip()

    def _write_cnf(self):
        lines = ["[mariadbd]",
                 "datadir=%s" % self.datadir,
                 "socket=%s" % self.socket,
                 "port=%d" % self.port,
                 "bind-address=127.0.0.1",
                 "pid-file=%s" % self.pidfile,
                 "log-error=%s" % self.log,
                 "tmpdir=%s" % self.dir,
                 "skip-name-resolve",
                 "innodb-buffer-pool-size=64M",
                 "innodb-log-file-size=32M",
                 "innodb-flush-log-at-trx-commit=1",
                 "max-connections=300"]
        if self.as_root:
            lines.append("user=mysql")
        g = self.galera
        if g is not None:
            gp = g["group_port"]
            lines += [
                "binlog-format=ROW",
                "innodb-autoinc-lock-mode=2",
                "wsrep-on=ON",
                "wsrep-provider=%s" % GALERA_PROVIDER,
                "wsrep-cluster-name=trustee-test",
                "wsrep-node-name=%s" % self.name,
                "wsrep-cluster-address=gcomm://%s" % ",".join(
                    "127.0.0.1:%d" % p for p in g["peers"]),
                "wsrep-node-address=127.0.0.1:%d" % gp,
                "wsrep-provider-options=gmcast.listen_addr=tcp://"
                "127.0.0.1:%d;ist.recv_addr=127.0.0.1:%d;"
                "gcache.size=64M" % (gp, gp + 1),
                "wsrep-sst-receive-address=127.0.0.1:%d" % (gp + 2),
                "wsrep-sst-method=rsync",
                "wsrep-slave-threads=2",
            ]
        lines += self.options
        with open(self.cnf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.cnf, 0o644)

    def install(self):
        """A fresh datadir (mariadb-install-db --no-defaults)."""
        os.makedirs(self.dir, exist_ok=True)
        # mysql must reach its directory through ours.
        os.chmod(self.root, 0o711)
        os.chmod(self.dir, 0o750)
        self._chown(self.dir)
        if self.port is None:
            self.port = free_ports(1)
        self._write_cnf()
        with open(os.path.join(self.dir, "server.json"), "w") as f:
            json.dump(self._state(), f)
        cmd = [INSTALL_DB, "--no-defaults", "--datadir=%s" % self.datadir,
               "--skip-test-db", "--auth-root-authentication-method=socket",
               "--auth-root-socket-user=%s" % self.admin]
        if self.as_root:
            cmd.append("--user=mysql")
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=300)
        if p.returncode != 0:
            raise MariaDBError("mariadb-install-db failed (%d):\n%s"
                               % (p.returncode, p.stdout.decode(
                                   "utf-8", "replace")[-2000:]))
        return self

    # ------------------------------------------------------------ process

    def pid(self):
        """The running server's pid: ours (Popen) or, after a restart by
        another process, the pid file's when that process is our mariadbd
        (its command line names our my.cnf)."""
        if self.proc is not None and self.proc.poll() is None:
            return self.proc.pid
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmdline = f.read()
        except (OSError, ValueError):
            return None
        if self.cnf.encode() not in cmdline or not _pid_alive(pid):
            return None
        return pid

    def running(self):
        return self.pid() is not None

    def start(self, timeout=START_TIMEOUT, new_cluster=False, wait=True):
        """Start (installing first when there is no datadir); wait until
        it answers (and, in a cluster, is Synced). Returns self."""
        if not os.path.isdir(self.datadir):
            self.install()
            first = True
        else:
            first = False
        if self.running():
            raise MariaDBError("%s is already running" % self.name)
        _install_cleanup()
        cmd = [MARIADBD, "--defaults-file=%s" % self.cnf]
        if new_cluster:
            cmd.append("--wsrep-new-cluster")
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out)
        out.close()
        if self not in _RUNNING:
            _RUNNING.append(self)
        if wait:
            self.wait_ready(timeout)
            if first and self.galera is None:
                self.create_accounts()
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        """Until the server answers on its socket (and a Galera node is
        Synced); fails when it exits first."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise MariaDBError("%s exited with %d while starting:\n%s"
                                   % (self.name, self.proc.returncode,
                                      self.log_tail()))
            if self.proc is None and not self.running():
                raise MariaDBError("%s is not running:\n%s"
                                   % (self.name, self.log_tail()))
            p = self._client(["-e", "SELECT 1"], timeout=10, check=False)
            if p.returncode == 0:
                if self.galera is None:
                    return self
                st = self.status("wsrep_local_state_comment")
                if st == "Synced" and self.status("wsrep_ready") == "ON":
                    return self
                last = "wsrep state %s" % st
            else:
                last = p.stdout.decode("utf-8", "replace").strip()
            time.sleep(0.2)
        raise MariaDBError("%s not ready after %.0f s (%s):\n%s"
                           % (self.name, timeout, last, self.log_tail()))

    def stop(self, timeout=60):
        """SIGTERM and wait; SIGKILL when it takes longer than timeout."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGCONT)    # a frozen server cannot stop
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid) and time.monotonic() < deadline:
                if self.proc is not None:
                    self.proc.poll()
                time.sleep(0.1)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                self._reap(pid)
                raise MariaDBError("%s ignored SIGTERM for %.0f s"
                                   % (self.name, timeout))
        self._reap(pid)

    def kill(self):
        """kill -9 (a crash: nothing is flushed that was not already)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        self._reap(pid)

    def _reap(self, pid):
        if self.proc is not None:
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
            self.proc = None
        while pid is not None and _pid_alive(pid):
            time.sleep(0.05)
        if self in _RUNNING and not self.running():
            _RUNNING.remove(self)

    def restart(self, timeout=START_TIMEOUT):
        self.stop()
        return self.start(timeout)

    def freeze(self):
        """SIGSTOP: the server keeps its sockets open but answers nothing
        (a hung host or a network partition, as a client sees it)."""
        os.kill(self.pid(), signal.SIGSTOP)

    def thaw(self):
        os.kill(self.pid(), signal.SIGCONT)

    def log_tail(self, n=25):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "    | (no log)"
        return "\n".join("    | " + l for l in lines[-n:])

    # ------------------------------------------------------------ SQL

    def _client(self, args, user=None, database=None, tcp=False,
                timeout=60, check=True, input=None):
        if user is None:
            cmd = [CLIENT, "--no-defaults", "--user=%s" % self.admin]
        else:
            # The password goes through a 0600 option file, not argv.
            opt = os.path.join(self.root, "client-%s.cnf" % user)
            if not os.path.exists(opt):
                fd = os.open(opt, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write("[client]\npassword=%s\n" % self._password())
            cmd = [CLIENT, "--defaults-file=%s" % opt, "--user=%s" % user]
        if tcp:
            cmd += ["--protocol=TCP", "--host=127.0.0.1",
                    "--port=%d" % self.port]
        else:
            cmd += ["--protocol=SOCKET", "--socket=%s" % self.socket]
        cmd += ["--batch", "--skip-column-names", "--connect-timeout=5"]
        if database:
            cmd.append("--database=%s" % database)
        p = subprocess.run(cmd + args, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        if check and p.returncode != 0:
            raise MariaDBError("%s: mariadb client failed (%d): %s"
                               % (self.name, p.returncode,
                                  p.stdout.decode("utf-8", "replace")
                                  .strip()[-1500:]))
        return p

    def sql(self, statements, user=None, database=None, tcp=False,
            timeout=60):
        """Run SQL (as the admin, or as user with the password file);
        returns the result rows of the last statement as tuples of str
        (batch-mode escaping: \\t \\n \\\\ \\0)."""
        p = self._client([], user=user, database=database, tcp=tcp,
                         timeout=timeout, input=statements.encode())
        out = p.stdout.decode("utf-8", "replace")
        return [tuple(line.split("\t")) for line in out.splitlines()]

    def value(self, statement, **kw):
        """The single value a query returns (None for no row)."""
        rows = self.sql(statement, **kw)
        return rows[0][0] if rows else None

    def status(self, name):
        rows = self.sql("SHOW GLOBAL STATUS LIKE '%s'" % name, timeout=20)
        return rows[0][1] if rows else None

    def create_accounts(self):
        """The two accounts of the module comment and the database
        `trustee`; idempotent."""
        pw = self._password()
        stmts = ["CREATE DATABASE IF NOT EXISTS `%s`;" % self.database]
        for host in HOSTS:
            for user in (self.user, self.app_user):
                stmts.append("CREATE USER IF NOT EXISTS '%s'@'%s' "
                             "IDENTIFIED BY '%s';" % (user, host, pw))
            stmts.append("GRANT ALL PRIVILEGES ON `trustee%%`.* TO "
                         "'%s'@'%s';" % (self.user, host))
            stmts.append("GRANT SELECT, INSERT, UPDATE, DELETE ON "
                         "`trustee%%`.* TO '%s'@'%s';" % (self.app_user, host))
        self.sql("\n".join(stmts))

    def dsn(self, database=None, user=None, tcp=False):
        """The daemon's DSN (`trusteed --store`, issue 8) for this server."""
        db = database or self.database
        u = user or self.user
        if tcp:
            return "mariadb://%s@127.0.0.1:%d/%s" % (u, self.port, db)
        return "mariadb://%s@localhost/%s?socket=%s" % (u, db, self.socket)

    def test_dsn(self, database="trustee_t", user=None, tcp=False):
        """The key=value form tests/unit/test_backend_*.c read from
        TRUSTEE_TEST_MARIADB_DSN (database: the prefix of the per-test
        databases)."""
        u = user or self.user
        if tcp:
            where = "host=127.0.0.1;port=%d" % self.port
        else:
            where = "socket=%s" % self.socket
        return "%s;user=%s;database=%s;app_user=%s" % (where, u, database,
                                                     self.app_user)


class Galera:
    """A cluster of n (default 3) private nodes on loopback; node i listens
    for clients on its own socket and port and for the group on three
    consecutive ports (group communication, IST, SST)."""

    def __init__(self, root, n=3, name="galera"):
        self.root = os.path.abspath(root)
        self.dir = os.path.join(self.root, name)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.root, 0o711)
        os.chmod(self.dir, 0o711)
        cfg = os.path.join(self.dir, "cluster.json")
        if os.path.exists(cfg):
            with open(cfg) as f:
                st = json.load(f)
        else:
            # Per node: group, IST, SST and client ports, consecutive;
            # free_ports() may hand out overlapping ranges: draw again.
            for _ in range(20):
                st = {"n": n,
                      "group_ports": [free_ports(4) for _ in range(n)]}
                flat = [p + k for p in st["group_ports"] for k in range(4)]
                if len(set(flat)) == len(flat):
                    break
            else:
                raise MariaDBError("no disjoint Galera port ranges")
            with open(cfg, "w") as f:
                json.dump(st, f)
        self.n = st["n"]
        pw = os.path.join(self.root, "mariadb-password")
        self.nodes = []
        for i in range(self.n):
            g = {"group_port": st["group_ports"][i],
                 "peers": st["group_ports"]}
            node_dir = os.path.join(self.dir, "node%d" % (i + 1))
            if os.path.exists(os.path.join(node_dir, "server.json")):
                self.nodes.append(Server.load(node_dir))
            else:
                self.nodes.append(Server(self.dir, "node%d" % (i + 1),
                                         galera=g, port=g["group_port"] + 3,
                                         password_file=pw))

    @classmethod
    def load(cls, d):
        return cls(os.path.dirname(os.path.abspath(d)),
                   name=os.path.basename(os.path.abspath(d)))

    def start(self, timeout=START_TIMEOUT):
        """Bootstrap node 1, create the accounts there (state transfer
        brings them to the others), then join the rest one by one."""
        for node in self.nodes:
            if not os.path.isdir(node.datadir):
                node.install()
        self.nodes[0].start(timeout, new_cluster=True)
        self.nodes[0].create_accounts()
        for i in range(1, self.n):
            self.nodes[i].start(timeout)
        self.wait_cluster_size(self.n, timeout=timeout)
        return self

    def node(self, i):
        return self.nodes[i]

    def stop_node(self, i, timeout=60):
        self.nodes[i].stop(timeout)

    def kill_node(self, i):
        self.nodes[i].kill()

    def start_node(self, i, timeout=START_TIMEOUT):
        """(Re)join node i (never bootstraps: a quorum must be up)."""
        self.nodes[i].start(timeout)
        self.wait_cluster_size(sum(1 for n in self.nodes if n.running()),
                               timeout=timeout)

    def alive(self):
        return [n for n in self.nodes if n.running()]

    def wait_cluster_size(self, size, timeout=START_TIMEOUT, via=None):
        """Until every running node (or via) reports wsrep_cluster_size
        == size and is Synced."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            nodes = [via] if via is not None else self.alive()
            try:
                sizes = [(n.status("wsrep_cluster_size"),
                          n.status("wsrep_local_state_comment"))
                         for n in nodes]
            except MariaDBError as e:
                sizes = [str(e)]
            if all(s == (str(size), "Synced") for s in sizes):
                return
            last = sizes
            time.sleep(0.25)
        raise MariaDBError("cluster size %d not reached: %r" % (size, last))

    def stop(self):
        """Every node, the last one last (no node sees a lost quorum)."""
        for node in reversed(self.nodes):
            node.stop()


# ----------------------------------------------------------------- ctl

USAGE = """usage: mariadb.py ctl DIR ACTION [NODE]
  DIR     a server directory (holds server.json) or a cluster directory
          (holds cluster.json); NODE counts from 1
  ACTION  stop | kill | start | restart | freeze | thaw | wait
       mariadb.py serve ROOT      start one server, print its DSNs, run
                                  until interrupted
       mariadb.py up ROOT [--option NAME=VALUE]...
                                  start one server in ROOT (new or existing)
                                  that outlives this process; print its
                                  directory (for `ctl DIR stop` later);
                                  each option is added to a new server's
                                  my.cnf after the defaults
       mariadb.py missing         print what a private server lacks; exit
                                  1 if anything
"""


def _ctl(argv):
    if len(argv) < 2:
        sys.stderr.write(USAGE)
        return 2
    d, action = argv[0], argv[1]
    if os.path.exists(os.path.join(d, "cluster.json")):
        cl = Galera.load(d)
        if len(argv) != 3:
            sys.stderr.write(USAGE)
            return 2
        i = int(argv[2]) - 1
        srv = cl.nodes[i]
        acts = {"stop": srv.stop, "kill": srv.kill, "freeze": srv.freeze,
                "thaw": srv.thaw, "start": lambda: cl.start_node(i),
                "restart": lambda: (srv.stop(), cl.start_node(i)),
                "wait": lambda: cl.wait_cluster_size(len(cl.alive()))}
    else:
        srv = Server.load(d)
        acts = {"stop": srv.stop, "kill": srv.kill, "freeze": srv.freeze,
                "thaw": srv.thaw, "start": srv.start, "restart": srv.restart,
                "wait": srv.wait_ready}
    if action not in acts:
        sys.stderr.write(USAGE)
        return 2
    acts[action]()
    # A server started here must outlive this process.
    if srv in _RUNNING:
        _RUNNING.remove(srv)
    return 0


def _serve(argv):
    root = argv[0] if argv else tempfile.mkdtemp(prefix="trustee-mariadb-")
    srv = Server(root).start()
    print("socket DSN: %s" % srv.dsn())
    print("TCP DSN:    %s" % srv.dsn(tcp=True))
    print("password:   %s" % srv.password_file)
    print("test env:   TRUSTEE_TEST_MARIADB_DSN='%s' "
          "TRUSTEE_TEST_MARIADB_PASSWORD_FILE=%s"
          % (srv.test_dsn(), srv.password_file))
    print("admin:      %s --no-defaults -S %s -u %s"
          % (CLIENT, srv.socket, srv.admin), flush=True)
    try:
        while srv.running():
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    return 0


def _up(argv):
    options = []
    while len(argv) >= 3 and argv[1] == "--option" and \
            re.fullmatch(r"[a-z0-9_-]+=[^\n]*", argv[2]):
        options.append(argv[2])
        argv = argv[:1] + argv[3:]
    if len(argv) != 1:
        sys.stderr.write(USAGE)
        return 2
    os.makedirs(argv[0], exist_ok=True)
    srv = Server(argv[0], options=options)
    if os.path.exists(os.path.join(srv.dir, "server.json")):
        srv = Server.load(srv.dir)
    srv.start()
    _RUNNING.remove(srv)        # it must outlive this process
    print(srv.dir, flush=True)
    return 0


def _missing():
    miss = missing()
    for m in miss:
        print(m)
    return 1 if miss else 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "up":
        sys.exit(_up(sys.argv[2:]))
    if len(sys.argv) == 2 and sys.argv[1] == "missing":
        sys.exit(_missing())
    if len(sys.argv) >= 2 and sys.argv[1] == "ctl":
        sys.exit(_ctl(sys.argv[2:]))
    if len(sys.argv) >= 2 and sys.argv[1] == "serve":
        sys.exit(_serve(sys.argv[2:]))
    sys.stderr.write(USAGE)
    sys.exit(2)
