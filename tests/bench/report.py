#!/usr/bin/python3
"""report.py: join the benchmark outputs and print them against their floors.

    report.py combine FLOOR0.json [KBS.json FLOOR.json]...
        floorbench --json and kbsbench --json runs of the same run.sh, in
        the order they ran -> one JSON object (run.sh --json): per phase
        the server CPU per operation, the floor (the mean of the floors
        measured just before and just after the phase), their ratio, the
        target ratio where issue 10 sets one, throughput, server-only
        capacity, latency, RSS.
    report.py kbs-table COMBINED.json
        the table of a combined object (run.sh without --json).
    report.py table COMBINED.json VERIFY.json POLICY.jsonl [CALLGRIND.json]
        the one table of `make bench`: KBS phases against the floors, the
        floors, RSS per session, verifier ratios, policy evaluation, and
        (callgrind.sh --json, when given and not empty) instructions per
        operation against the floors' instructions.

Targets are information: a missed target is printed as "BELOW target" and
never changes the exit status. The exit status of `table` is 1 when an
input is missing or unreadable, a phase had errors or no operations, or a
verifier has no result (a vector missing or rejected); 0 otherwise.
Standard library only.
"""
import json
import os
import sys

# phase -> (floor it is measured against, target ratio or None)
PHASE_FLOORS = {
    "auth": (None, None),
    "attest": ("es256_sign", None),
    "flows": ("flow", 3.0),
    "gets": ("ecdh_es", 2.0),
    "bearer_seen": ("ecdh_es", 2.0),
    "bearer_first": ("bearer_first", None),
    "admin_pages": (None, None),
}

# verifier -> (reference operation in `openssl speed`, target % of its rate)
VERIFIER_REFS = [
    ("snp", "p384", 70),
    ("tdx", "p256", 50),
    ("nvidia", "p384", 50),
    ("sgx", "p256", 0),
]


def die(msg):
    print("report.py: FAILED: " + msg, file=sys.stderr)
    sys.exit(1)


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        die("%s: cannot read %s: %s" % (what, path, e.strerror))
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        die("%s: %s is empty (the benchmark printed no JSON)" % (what, path))
    try:
        return json.loads(lines[-1])
    except ValueError as e:
        die("%s: %s: not JSON: %s" % (what, path, e))


def machine():
    model, cores, load = "unknown", os.cpu_count() or 0, None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/loadavg", encoding="utf-8") as f:
            load = f.read().split()[:3]
    except OSError:
        pass
    # run.sh says where the server and the load generator ran (lib.sh
    # bench_place) and on which store; the other callers leave them
    # unset.
    # run.sh's pagebench: CPU time per 4 KiB of new memory.
    memory = None
    if os.environ.get("BENCH_MEMORY_FILE"):
        memory = load_json(os.environ["BENCH_MEMORY_FILE"], "pagebench")
    return {"cpu_model": model, "cores": cores, "loadavg": load,
            "placement": os.environ.get("BENCH_PLACEMENT_INFO"),
            "store": os.environ.get("BENCH_STORE_INFO"),
            "memory": memory}


def verdict(ratio, target):
    if target is None or ratio is None:
        return None
    return "meets" if ratio <= target else "BELOW target"


def combine(paths):
    """paths: F0 K1 F1 K2 F2 ...: floorbench (F0 with every floor) and
    kbsbench runs in the order they ran. Each phase of Ki is compared with
    the mean of the floors of F(i-1) and Fi, measured just before and just
    after it."""
    if len(paths) % 2 != 1:
        die("combine: expected FLOOR0 [KBS FLOOR]...")
    fl = [load_json(p, "floorbench")["floors"] for p in paths[0::2]]
    first = load_json(paths[0], "floorbench")
    phases, sessions, settings = [], {}, {}
    samples = []
    for i, kpath in enumerate(paths[1::2]):
        kbs = load_json(kpath, "kbsbench")
        before, after = fl[i], fl[i + 1]
        settings = {k: v for k, v in kbs.items()
                    if k not in ("phases", "sessions")}
        for kind, v in (kbs.get("sessions") or {}).items():
            if v:
                sessions[kind] = v
        for p in kbs.get("phases", []):
            q = dict(p)
            fname, target = PHASE_FLOORS.get(p["name"], (None, None))
            srv = p.get("server_cpu_us_per_op")
            if srv:
                q["server_capacity_ops_per_s_per_core"] = 1e6 / srv
            if fname in before and fname in after:
                b, a = before[fname]["us_per_op"], after[fname]["us_per_op"]
                fus = (a + b) / 2
                q["floor"] = fname
                q["floor_us_per_op"] = fus
                q["floor_before_us"] = b
                q["floor_after_us"] = a
                q["ratio"] = srv / fus if srv and fus > 0 else None
                q["target_ratio"] = target
                q["verdict"] = verdict(q["ratio"], target)
            phases.append(q)
            samples.append({"after_phase": p["name"], "ecdh_es_us":
                            after.get("ecdh_es", {}).get("us_per_op")})
    return {
        "machine": machine(),
        "openssl": first.get("openssl"),
        "floor_method": first.get("method"),
        "floors": fl[0],
        "ecdh_es_during_run": [{"after_phase": None, "ecdh_es_us":
                                fl[0].get("ecdh_es", {}).get("us_per_op")}]
        + samples,
        "kbsbench": settings,
        "phases": phases,
        "sessions": sessions,
    }


def fmt(v, spec="%.0f", none="-"):
    return none if v is None else spec % v


def kbs_lines(c):
    lines = []
    m = c.get("machine", {})
    lines.append("KBS over TLS (kbsbench: concurrency %s; %s cores, %s; "
                 "placement %s)" % (
                     c["kbsbench"].get("concurrency"), m.get("cores"),
                     m.get("cpu_model"),
                     m.get("placement") or "shared"))
    if m.get("store"):
        lines.append("store: %s" % m["store"])
    lines.append("%-13s %7s %9s %5s %8s %7s %8s %-13s %8s %9s %7s %7s %7s" % (
        "phase", "count", "srv_us/op", "sys%", "floor_us", "ratio",
        "target", "verdict", "ops/s", "srv_cap/s", "p50_ms", "p99_ms",
        "rss_MiB"))
    for p in c["phases"]:
        tgt = p.get("target_ratio")
        sys_share = None
        if p.get("server_cpu_s"):
            sys_share = 100.0 * p.get("server_sys_cpu_s", 0) / \
                p["server_cpu_s"]
        lines.append("%-13s %7d %9s %5s %8s %7s %8s %-13s %8s %9s %7s %7s %7s" % (
            p["name"], p["count"], fmt(p.get("server_cpu_us_per_op")),
            fmt(sys_share),
            fmt(p.get("floor_us_per_op")),
            fmt(p.get("ratio"), "%.2fx"),
            fmt(tgt, "<=%.1fx"), p.get("verdict") or
            ("-" if p.get("floor") else ""),
            fmt(p.get("throughput"), "%.0f"),
            fmt(p.get("server_capacity_ops_per_s_per_core"), "%.0f"),
            fmt(p["latency_ms"]["p50"], "%.2f"),
            fmt(p["latency_ms"]["p99"], "%.2f"),
            fmt(p.get("server_peak_rss_mib"), "%.1f")))
    lines.append("  ops/s: with the load generator on the same machine "
                 "(placement above); srv_cap/s: 1e6 / srv_us/op, the "
                 "server alone per core; sys%: kernel share of srv_us/op")
    lines.append("  floors: flows = ecdh_es + es256_sign; gets, bearer_seen = "
                 "ecdh_es; bearer_first = ecdh_es + es256_verify; "
                 "attest = es256_sign")
    s = c.get("sessions") or {}
    for kind in ("unattested", "attested"):
        v = s.get(kind)
        if v:
            lines.append("RSS per live %s session: %.0f bytes (RssAnon "
                         "%+d KiB over %d sessions)" % (
                             kind, v["bytes_per_session"],
                             v["rss_anon_delta_kib"], v["count"]))
    mem = m.get("memory")
    if mem:
        line = ("new memory (pagebench, %d MiB on the server's CPU): "
                "%.2f us per 4 KiB on first touch, %.2f us when just "
                "freed" % (mem["mib"], mem["fresh_us_per_4k"],
                           mem["reused_us_per_4k"]))
        v = s.get("attested")
        if v:
            line += ("; an attested session's heap growth costs %.0f-%.0f "
                     "us of its phase's srv_us/op here" % (
                         v["bytes_per_session"] / 4096.0 *
                         mem["reused_us_per_4k"],
                         v["bytes_per_session"] / 4096.0 *
                         mem["fresh_us_per_4k"]))
        lines.append(line)
    return lines


def floor_lines(c):
    lines = ["cryptographic floors (floorbench, %s; %s)" % (
        c.get("openssl"), c.get("floor_method"))]
    for name, f in c["floors"].items():
        lines.append("  %-13s %8.1f us  %s" % (name, f["us_per_op"],
                                                f.get("what", "")))
    drift = [d["ecdh_es_us"] for d in c.get("ecdh_es_during_run", [])
             if d.get("ecdh_es_us")]
    if len(drift) > 1:
        lines.append("  ecdh_es measured between the phases: %s us (each "
                     "phase uses the mean of the floors around it)" %
                     " ".join("%.0f" % d for d in drift))
    return lines


def phase_problems(c):
    bad = []
    for p in c.get("phases", []):
        if p.get("errors") or p.get("mismatches") or not p.get("count"):
            bad.append("phase %s: %d error(s), %d mismatch(es), %d done" % (
                p["name"], p.get("errors", 0), p.get("mismatches", 0),
                p.get("count", 0)))
    return bad


def verify_lines(v):
    lines = []
    ref = v.get("openssl_speed", {})
    res = v.get("verifiers", {})
    missing = []
    lines.append("verifiers (verifybench, warm cache, single-threaded, per "
                 "CPU second) vs `openssl speed` ECDSA verify (P-256 %s/s, "
                 "P-384 %s/s)" % (fmt(ref.get("p256")), fmt(ref.get("p384"))))
    lines.append("%-7s %12s %10s %-6s %10s %8s %8s  %s" % (
        "tee", "verifies/s", "us/verify", "vs", "ref_us", "cost", "share",
        "target"))
    for tee, r, target in VERIFIER_REFS:
        rate = res.get(tee)
        rr = ref.get(r)
        if not rate or not rr:
            if target:
                missing.append(tee)
            lines.append("%-7s %12s  (no result)" % (tee, "-"))
            continue
        share = 100.0 * rate / rr
        t = ("%s >= %d%%" % ("meets" if share >= target else "BELOW target",
                             target)) if target else "for information"
        lines.append("%-7s %12.1f %10.1f %-6s %10.1f %7.2fx %7.1f%%  %s" % (
            tee, rate, 1e6 / rate, r.upper(), 1e6 / rr, rr / rate, share, t))
    if res.get("tpm"):
        lines.append("%-7s %12.1f %10.1f  (RSA-2048; no ECDSA reference)" % (
            "tpm", res["tpm"], 1e6 / res["tpm"]))
    return lines, missing


def policy_lines(path):
    lines = ["policy evaluation (policybench, in process)"]
    bad = []
    try:
        with open(path, encoding="utf-8") as f:
            rows = [json.loads(ln) for ln in f if ln.strip().startswith("{")]
    except (OSError, ValueError) as e:
        return lines + ["  (unreadable: %s)" % e], ["policybench output"]
    if not rows:
        bad.append("policybench printed no result")
    for r in rows:
        lines.append("  %-28s threads %d  p50 %6.1f us  p99 %6.1f us  "
                     "%8.0f evals/s" % (r["phase"], r["threads"], r["p50_us"],
                                        r["p99_us"], r["evals_per_s"]))
        if r.get("failures"):
            bad.append("policy %s: %d failure(s)" % (r["phase"],
                                                     r["failures"]))
    return lines, bad


def callgrind_lines(path):
    """callgrind.sh --json: Ir per operation of the phases and floors."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read().strip()
    except OSError as e:
        return ["instructions per operation: (unreadable: %s)" % e]
    if not text:
        return ["instructions per operation: skipped (no valgrind)"]
    try:
        g = json.loads(text)
    except ValueError as e:
        return ["instructions per operation: (bad JSON: %s)" % e]
    lines = ["instructions per operation (callgrind.sh: Ir, server threads "
             "without the kernel, concurrency 1; steady on a busy machine)",
             "%-12s %12s %-8s %12s %7s" % ("phase", "Ir/op", "floor",
                                           "floor_Ir", "ratio")]
    for name, p in g.get("phases_ir", {}).items():
        lines.append("%-12s %12d %-8s %12d %6.2fx" % (
            name, p["ir_per_op"], p["floor"], p["floor_ir"],
            p["ir_per_op"] / p["floor_ir"]))
    f = g.get("floors_ir", {})
    lines.append("  floors: " + ", ".join("%s %d" % (k, v)
                                          for k, v in f.items()))
    return lines


def main(argv):
    if len(argv) >= 3 and argv[1] == "combine":
        print(json.dumps(combine(argv[2:]), sort_keys=False))
        return 0
    if len(argv) == 3 and argv[1] == "kbs-table":
        c = load_json(argv[2], "run.sh")
        print("\n".join(kbs_lines(c) + [""] + floor_lines(c)))
        return 0
    if len(argv) in (5, 6) and argv[1] == "table":
        c = load_json(argv[2], "run.sh --json")
        v = load_json(argv[3], "verify.sh --json")
        out = kbs_lines(c) + [""] + floor_lines(c) + [""]
        vl, missing = verify_lines(v)
        pl, pbad = policy_lines(argv[4])
        out += vl + [""] + pl
        if len(argv) == 6:
            out += [""] + callgrind_lines(argv[5])
        m = c.get("machine", {})
        out += ["", "machine: %s, %s cores; load average %s (a shared "
                "machine: figures vary from run to run)" % (
                    m.get("cpu_model"), m.get("cores"),
                    " ".join(m.get("loadavg") or []))]
        print("\n".join(out))
        problems = phase_problems(c) + pbad
        problems += ["verifier %s: no result (vector missing or rejected)" %
                     t for t in missing]
        problems += ["verifier: %s" % e for e in v.get("errors", [])]
        if problems:
            for p in problems:
                print("make bench: FAILED: " + p, file=sys.stderr)
            return 1
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
