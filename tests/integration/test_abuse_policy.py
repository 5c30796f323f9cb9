#!/usr/bin/python3
"""
test_abuse_policy.py: policies that try to stall the daemon (issue 9,
items 6 and 7), against a real trusteed.

- Pattern work inside one library call (%b on a long subject, nested .-,
  gsub with function callbacks) and large outputs (table.concat,
  string.rep, string.format) in a resource policy: on a production-style
  configuration with ONE worker, a wall limit of 300 ms and an instruction
  budget too large to matter, the guest that triggers the policy is denied
  (401 PolicyDeny) with the limit that stopped it named in the detail,
  while another guest's complete flow (auth, attest, fetch) on the same
  worker succeeds. With the default budgets (--dev) the instruction
  budget stops the same pattern. The dry-run endpoint is bounded the same
  way.
- A policy that fails only at run time (os.getenv in the decision
  function) is refused on upload with the input, the error and its line,
  through the admin API and the Trustee-compatible endpoint.
Bounds are asserted through the outcome and the reason; no timings.
"""

import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H                                       # noqa: E402
from harness import check                                 # noqa: E402

API = "/api/v1"
TIME_LIMIT_MS = 300
OK_RES = "abuse/key/ok"
OK_SECRET = b"released-while-another-policy-ran"

# (name, Lua statements run for the "bomb" path, expected in the detail)
BOMBS = [
    ("balanced_match",
     "local s = ('('):rep(1e5) return s:find('%b()') ~= nil, 'matched'",
     "time limit exceeded (%d ms per evaluation) while pattern matching"
     % TIME_LIMIT_MS),
    ("nested_lazy",
     "return (('a'):rep(20000)):find('.-.-.-b') ~= nil, 'matched'",
     "time limit exceeded (%d ms" % TIME_LIMIT_MS),
    ("gsub_callbacks",
     "local s = ('x'):rep(10000):gsub('x', function(c) "
     "return (('('):rep(2000)):match('%b()') or c end) return true, 'x'",
     "time limit exceeded (%d ms" % TIME_LIMIT_MS),
    ("table_concat",
     "local t, s = {}, ('x'):rep(1 << 20) for i = 1, 64 do t[i] = s end "
     "return #table.concat(t) > 0, 'x'",
     "memory limit exceeded (16384 KiB per Lua state)"),
    ("string_rep",
     "return #(('x'):rep(1 << 30)) > 0, 'x'",
     "memory limit exceeded (16384 KiB per Lua state)"),
    ("string_format",
     "local s = ('x'):rep(1 << 20) "
     "while true do s = string.format('%s%s', s, s) end",
     "memory limit exceeded (16384 KiB per Lua state)"),
]

POLICY = """return function(claims, request)
	local p = request["resource-path"]
	if p[1] == "abuse" and p[3] == "bomb" then
		%s
	end
	return true, "ok"
end
"""

CONFIG = '''[http_server]
listen = ["127.0.0.1:%(port)d"]
certificate = "%(cert)s"
private_key = "%(key)s"
workers = 1

[storage]
state_dir = "%(state)s"

[admin]
public_keys = ["%(admin)s"]

[policy]
time_limit = %(time_ms)d
instruction_budget = 1000000
'''


class ConfigServer(H.Server):
    """trusteed -c CONFIG with the TLS and admin keys of a --dev state."""

    def __init__(self, root, name, dev_state):
        H.Server.__init__(self, root, name, state_dir=dev_state)

    def start(self, timeout=10.0):
        self.port = H.free_port()
        self._ctx = None
        conf = os.path.join(self.root, self.name + ".toml")
        cfgstate = os.path.join(self.root, self.name + "-cfgstate")
        os.makedirs(cfgstate, exist_ok=True)
        with open(conf, "w") as f:
            f.write(CONFIG % {
                "port": self.port, "state": cfgstate,
                "cert": os.path.join(self.state, "tls/cert.pem"),
                "key": os.path.join(self.state, "tls/key.pem"),
                "admin": os.path.join(self.state, "admin/public.pem"),
                "time_ms": TIME_LIMIT_MS})
        log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([H.TRUSTEED, "-c", conf],
                                     stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=log)
        log.close()
        if not self._wait_ready(timeout):
            rc = self.proc.poll()
            self.kill()
            raise H.TestFailure("config server did not start (%r):\n%s"
                                % (rc, self.log_tail()))
        return self


def one_worker_server(ctx):
    if "one" not in ctx.data:
        seed = ctx.server("seed")
        seed.stop()
        srv = ConfigServer(ctx.tmp, "oneworker", seed.state)
        ctx._servers.append(srv)
        srv.start()
        H.expect_status(H.admin_put(srv, OK_RES, OK_SECRET), 200)
        H.expect_status(H.admin_put(srv, "abuse/key/bomb", b"never"), 200)
        ctx.data["one"] = srv
    return ctx.data["one"]


def admin(srv, method, path, body=None):
    return srv.request(method, path, body=body,
                       headers={"Authorization": "Bearer " + H.admin_token(srv)})


def put_resource_policy(srv, text):
    r = admin(srv, "PUT", API + "/policies/resource/resource-policy",
              {"policy": text})
    H.expect_status(r, 200)
    return r.json()


def test_library_work_bounded_on_one_worker(ctx):
    srv = one_worker_server(ctx)
    for name, body, want in BOMBS:
        put_resource_policy(srv, POLICY % body)
        attacker = H.PyGuest(srv).handshake()
        out = {}

        def attack():
            try:
                out["r"] = attacker.get("resource/abuse/key/bomb")
            except Exception as e:      # noqa: BLE001 - reported below
                out["e"] = e

        t = threading.Thread(target=attack)
        t.start()
        # another guest's whole flow on the same (only) worker
        other = H.PyGuest(srv).handshake()
        got = other.fetch(OK_RES)
        t.join(60)
        check(not t.is_alive(), "%s: the attacker's request never ended" % name)
        check("e" not in out, "%s: %r" % (name, out.get("e")))
        check(got == OK_SECRET, "%s: the other guest got %r" % (name, got))
        detail = H.expect_problem(out["r"], 401, "PolicyDeny")
        check(want in detail, "%s: detail %r lacks %r" % (name, detail, want))
        check(srv.running(), "%s: trusteed died:\n%s" % (name, srv.log_tail()))
    # the engine keeps serving the same guest afterwards
    check(H.PyGuest(srv).handshake().fetch(OK_RES) == OK_SECRET, "no release")


def test_dry_run_bounded(ctx):
    srv = one_worker_server(ctx)
    inp = {"claims": {}, "request": {"plugin": "resource",
                                     "resource-path": ["abuse", "key", "bomb"],
                                     "query": {}, "method": "GET"}}
    r = admin(srv, "POST", API + "/policies/resource/resource-policy/test",
              {"input": inp, "policy": POLICY % BOMBS[0][1]})
    H.expect_status(r, 200)
    res = r.json()
    check(res["result"] is None and BOMBS[0][2] in res["error"],
          "dry run %r" % res)
    # a pure-Lua loop in a dry run stops at the same wall limit
    r = admin(srv, "POST", API + "/policies/resource/resource-policy/test",
              {"input": inp, "policy": "return function() "
               "local n = 0 while true do n = n + 1 end end"})
    H.expect_status(r, 200)
    check("time limit exceeded" in r.json()["error"], "dry run %r" % r.json())


def test_default_budget_stops_pattern(ctx):
    srv = ctx.shared
    H.expect_status(H.admin_put(srv, "abuse/key/bomb", b"never"), 200)
    put_resource_policy(srv, POLICY % BOMBS[0][1])
    g = H.PyGuest(srv).handshake()
    H.expect_problem(g.get("resource/abuse/key/bomb"), 401, "PolicyDeny",
                     "instruction budget exceeded (10000 thousand "
                     "instructions per evaluation) while pattern matching")
    # pcall cannot turn the overrun into an allow
    put_resource_policy(srv, POLICY % (
        "local ok = pcall(string.find, ('('):rep(1e5), '%b()') "
        "return true, 'caught: ' .. tostring(ok)"))
    H.expect_problem(g.get("resource/abuse/key/bomb"), 401, "PolicyDeny",
                     "instruction budget exceeded")


def test_upload_refuses_runtime_failure(ctx):
    srv = ctx.shared
    before = admin(srv, "GET", API + "/policies/resource/resource-policy").json()
    d = H.expect_problem(
        admin(srv, "PUT", API + "/policies/resource/resource-policy",
              {"policy": "return function(claims, request)\n"
               "  local home = os.getenv('HOME')\n"
               "  return true, home\nend\n"}),
        400, "PolicyInvalid", "error at line 2")
    check("every built-in sample input" in d and "global 'os'" in d, d)
    d = H.expect_problem(
        admin(srv, "PUT", API + "/policies/attestation/default_cpu",
              {"policy": "return function(input)\n"
               "  return {trust_vector = {hardware = input.x.y}}\nend\n"}),
        400, "PolicyInvalid", "error at line 2")
    check("a sample TEE's claims" in d, d)
    # a budget overrun on one sample input is enough
    d = H.expect_problem(
        admin(srv, "PUT", API + "/policies/resource/resource-policy",
              {"policy": "return function(c, r) return "
               "(('('):rep(1e5)):find('%b()') ~= nil, 'x' end"}),
        400, "PolicyInvalid", "exceeds its budget")
    # the Trustee-compatible upload goes through the same check
    r = srv.request("POST", "/kbs/v0/resource-policy",
                    body={"policy": H.b64url(b"return function() return "
                                             b"os.time() > 0, 'x' end")},
                    headers={"Authorization": "Bearer " + H.admin_token(srv)})
    H.expect_problem(r, 400, "PolicyInvalid", "error at line 1")
    after = admin(srv, "GET", API + "/policies/resource/resource-policy").json()
    check(after["version"] == before["version"], "a refused upload was stored")


if __name__ == "__main__":
    H.main(globals(), "abuse_policy")
