#!/bin/sh
# ha.sh: the KBS hot path on each store (issue 8): full guest flows/s and
# resource GETs/s on SQLite, on MariaDB with one trusteed, and with two
# trusteed instances sharing one MariaDB database.
#
# Usage: sh tests/bench/ha.sh [--json] [--rounds N] [kbsbench options...]
#   e.g. sh tests/bench/ha.sh --flows 1000 --gets 10000 --concurrency 8
#
# Setups (each a fresh trusteed --dev on a fresh database; the same disk):
#   sqlite      one instance, its SQLite file in the state directory
#   mariadb     one instance on a private mariadbd (tests/integration/
#               mariadb.py up: own datadir and socket, InnoDB with
#               innodb_flush_log_at_trx_commit = 1, like SQLite's
#               synchronous = FULL; a 256 MiB buffer pool and redo log,
#               as a database server would have, where the tests'
#               servers spare memory with 64 and 32 MiB), with
#               --store-lease HA_LEASE_MS
#               (default 200, trusteed's own default: resource rows
#               from memory under a lease; HA_LEASE_MS=0 reads the
#               database on every release)
#   mariadb x2  two instances sharing a state directory and the database;
#               kbsbench --url2 moves each guest between them as a load
#               balancer without sticky sessions would: a flow attests on
#               one and GETs on the other, GETs alternate
# Phases: kbsbench --only flows, then --only gets (its defaults or the
# options given). The setups run in turn --rounds times (default 2), so
# that a change of the shared machine's load hits all of them; each
# figure is the median of its rounds. Every plaintext is checked.
#
# Besides throughput and latency, the statements mariadbd received and
# the bytes it sent per operation (SHOW GLOBAL STATUS), and the CPU time
# of the trusteed processes and of mariadbd over each phase
# (/proc/PID/stat), per operation: on this
# benchmark everything shares the same cores, so MariaDB's own work is
# paid by the throughput figures; in production it runs elsewhere.
# Prints a table (stderr as it goes, the table on stdout), or with --json
# one JSON object. Targets: MariaDB within 30% of SQLite (ratio >= 0.70);
# two instances: zero failed requests. Exit status 1 when a request
# failed or a run did not complete (never for a missed target), 1 when
# mariadb-server is missing.
set -u

me=ha.sh
top=$(cd "$(dirname "$0")/../.." && pwd)
kbsbench=$top/tests/bench/kbsbench
python=/usr/bin/python3
# shellcheck source=tests/bench/lib.sh
. "$top/tests/bench/lib.sh"

json=0
rounds=2
# Take --json and --rounds N; the rest goes to kbsbench.
n=$#
while [ "$n" -gt 0 ]; do
	a=$1
	shift
	n=$((n - 1))
	case $a in
	--json) json=1 ;;
	--rounds)
		rounds=${1:-}
		[ "$n" -gt 0 ] && { shift; n=$((n - 1)); } ;;
	*) set -- "$@" "$a" ;;
	esac
done
case $rounds in ''|*[!0-9]*|0) echo "$me: --rounds: a number >= 1" >&2; exit 2 ;; esac

if [ ! -x "$kbsbench" ]; then
	echo "$me: $kbsbench not built; run make first" >&2
	exit 1
fi

work=$(mktemp -d /tmp/habench.XXXXXX) || exit 1
status=0
pids=

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	for p in $pids; do
		srv_pid=$p
		bench_stop || status=1
	done
	bench_mariadb_down "$work"
	if [ "$status" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$work"
	else
		echo "$me: kept $work" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! bench_mariadb_up "$work"; then
	status=1
	exit 1
fi
sock=$bench_mdb_sock

# ticks PID...: their user + system CPU time so far, in clock ticks.
ticks() {
	_t=0
	for _p in "$@"; do
		_v=$(awk '{ print $14 + $15 }' "/proc/$_p/stat" 2>/dev/null) ||
		    _v=0
		_t=$((_t + ${_v:-0}))
	done
	echo $_t
}

# mstat: statements received and bytes sent by the private mariadbd so
# far (its Questions and Bytes_sent; the query itself counts one).
mstat() {
	"$mdb_client" --no-defaults -S "$sock" -u root -N -e "SHOW GLOBAL \
STATUS WHERE Variable_name IN ('Questions', 'Bytes_sent')" 2>/dev/null |
	    awk '{ v[$1] = $2 } END { print v["Questions"] + 0, v["Bytes_sent"] + 0 }'
}

# stop_all: stop every server started for the current setup.
stop_all() {
	for p in $pids; do
		srv_pid=$p
		bench_stop || status=1
	done
	pids=
}

# run_setup NAME ROUND STORE INSTANCES: fresh servers, the two phases.
run_setup() {
	name=$1 round=$2 store=$3 n=$4
	tag=$(echo "$name-$round" | tr -c 'a-z0-9\n' '-')
	state=$work/state-$tag
	args=
	if [ "$store" = mariadb ]; then
		db=trustee_bench_$(echo "$tag" | tr -c 'a-z0-9\n' '_')
		"$mdb_client" --no-defaults -S "$sock" -u root \
		    -e "CREATE DATABASE \`$db\`" || return 1
		args="--store mariadb://trustee@localhost/$db?socket=$sock"
		args="$args --store-lease ${HA_LEASE_MS:-200}"
	fi
	urls=
	i=0
	while [ $i -lt "$n" ]; do
		TRUSTEED_ARGS="$args" bench_start "$state" \
		    "$work/trusteed-$tag-$i.log" || return 1
		pids="$pids $srv_pid"
		urls="$urls $url"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086 # urls is a list
	set -- $urls
	extra="--url $1"
	pidopt="--pid $srv_pid"
	if [ "$n" -eq 2 ]; then
		extra="$extra --url2 $2"
		pidopt=
	fi
	for ph in flows gets; do
		echo "$me: $name (round $round): $ph" >&2
		t0=$(ticks $pids)
		m0=$(ticks "$(cat "$work/mariadb/mariadbd.pid")")
		s0=$(mstat)
		# shellcheck disable=SC2086 # option lists are split on purpose
		"$kbsbench" $extra --cacert "$state/tls/cert.pem" \
		    --admin-key "$state/admin/private.pem" $pidopt --json \
		    $kbsargs --only "$ph" >"$work/$tag-$ph.json"
		rc=$?
		t1=$(ticks $pids)
		m1=$(ticks "$(cat "$work/mariadb/mariadbd.pid")")
		s1=$(mstat)
		[ $rc -eq 0 ] || status=1
		# shellcheck disable=SC2086 # s0, s1 are two numbers each
		echo "$name $round $ph $work/$tag-$ph.json $((t1 - t0))" \
		    "$((m1 - m0))" $s0 $s1 >>"$work/index"
	done
	stop_all
}

mdb_client=$bench_mdb_client
kbsargs="$*"
: >"$work/index"
r=1
while [ $r -le "$rounds" ]; do
	for s in "sqlite sqlite 1" "mariadb mariadb 1" "mariadb-x2 mariadb 2"; do
		# shellcheck disable=SC2086 # s is three words
		set -- $s
		run_setup "$1" "$r" "$2" "$3" && continue
		echo "$me: FAILED: setup ${s%% *} (round $r)" >&2
		status=1
		stop_all
	done
	r=$((r + 1))
done

"$python" - "$work/index" "$json" "$(getconf CLK_TCK)" <<'EOF' || status=1
import json, os, statistics, sys

index, as_json, hz = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
runs = {}
failed = 0
for line in open(index):
    name, rnd, ph, path, tt, mt, q0, b0, q1, b1 = line.split()
    try:
        with open(path) as f:
            doc = json.load(f)
        p = doc["phases"][0]
    except (OSError, ValueError, KeyError, IndexError):
        failed += 1
        p = {"throughput": 0, "errors": 1, "count": 0}
    n = p.get("count", 0) or 1
    p["trusteed_us"] = int(tt) * 1e6 / hz / n
    p["mariadbd_us"] = int(mt) * 1e6 / hz / n
    # What the database did for trusteed (SQLite: nothing of mariadbd's;
    # the two status queries are taken off).
    p["statements"] = max(int(q1) - int(q0) - 2, 0) / n if name != \
        "sqlite" else 0
    p["kb_sent"] = (int(b1) - int(b0)) / 1024 / n if name != "sqlite" else 0
    r = runs.setdefault(name, {}).setdefault(ph, [])
    r.append(p)

def med(name, ph, key):
    v = [p.get("latency_ms", {}).get(key[:-3], 0) if key.endswith("_ms")
         else p.get(key, 0) for p in runs.get(name, {}).get(ph, [])]
    return statistics.median(v) if v else 0

def total(name, ph, key):
    return sum(p.get(key, 0) for p in runs.get(name, {}).get(ph, []))

out = {"setups": {}, "rounds": max((len(v) for r in runs.values()
                                    for v in r.values()), default=0)}
for name in ("sqlite", "mariadb", "mariadb-x2"):
    out["setups"][name] = {
        ph: {"throughput": med(name, ph, "throughput"),
             "trusteed_cpu_us_per_op": med(name, ph, "trusteed_us"),
             "mariadbd_cpu_us_per_op": med(name, ph, "mariadbd_us"),
             "mariadb_statements_per_op": med(name, ph, "statements"),
             "mariadb_kb_sent_per_op": med(name, ph, "kb_sent"),
             "p50_ms": med(name, ph, "p50_ms"),
             "p99_ms": med(name, ph, "p99_ms"),
             "ok": total(name, ph, "count"),
             "errors": total(name, ph, "errors") +
             total(name, ph, "mismatches")}
        for ph in ("flows", "gets")}
s = out["setups"]
ratios = {}
for ph in ("flows", "gets"):
    base = s["sqlite"][ph]["throughput"]
    ratios[ph] = {k: (s[k][ph]["throughput"] / base if base else 0)
                  for k in ("mariadb", "mariadb-x2")}
out["ratio_to_sqlite"] = ratios
out["target"] = {"mariadb_min_ratio": 0.70, "two_instances_errors": 0}
out["meets"] = {
    "mariadb_within_30pct": all(ratios[ph]["mariadb"] >= 0.70
                                for ph in ("flows", "gets")),
    "two_instances_no_errors": all(s["mariadb-x2"][ph]["errors"] == 0
                                   and s["mariadb-x2"][ph]["ok"] > 0
                                   for ph in ("flows", "gets"))}
out["load_average"] = os.getloadavg()
if as_json:
    print(json.dumps(out, indent=1))
else:
    print("%-11s %8s %6s %6s %9s %9s | %8s %6s %6s %9s %9s | %6s" % (
        "setup", "flows/s", "vs sq", "p50ms", "trusteed", "mariadbd",
        "GETs/s", "vs sq", "p50ms", "trusteed", "mariadbd", "errors"))
    for name in ("sqlite", "mariadb", "mariadb-x2"):
        f, g = s[name]["flows"], s[name]["gets"]
        print("%-11s %8.0f %6s %6.1f %7.0fus %7.0fus | %8.0f %6s %6.1f "
              "%7.0fus %7.0fus | %6d" % (
                  name, f["throughput"], "-" if name == "sqlite" else
                  "%.2f" % ratios["flows"][name], f["p50_ms"],
                  f["trusteed_cpu_us_per_op"], f["mariadbd_cpu_us_per_op"],
                  g["throughput"], "-" if name == "sqlite" else
                  "%.2f" % ratios["gets"][name], g["p50_ms"],
                  g["trusteed_cpu_us_per_op"], g["mariadbd_cpu_us_per_op"],
                  f["errors"] + g["errors"]))
    print("(trusteed, mariadbd: CPU time per operation, all trusteed "
          "processes of the setup; every process shares the same cores)")
    print("MariaDB per operation (statements received, KB sent by "
          "mariadbd): %s" % "; ".join(
              "%s %s %.2f, %.2f KB" % (name, ph,
                                       s[name][ph]["mariadb_statements_per_op"],
                                       s[name][ph]["mariadb_kb_sent_per_op"])
              for name in ("mariadb", "mariadb-x2")
              for ph in ("flows", "gets")))
    print("median of %d round(s); MariaDB within 30%% of SQLite: %s; "
          "two instances without a failed request: %s; load %.2f %.2f %.2f"
          % ((out["rounds"], "yes" if out["meets"]["mariadb_within_30pct"]
              else "NO", "yes" if out["meets"]["two_instances_no_errors"]
              else "NO") + tuple(out["load_average"])))
sys.exit(1 if failed or not out["meets"]["two_instances_no_errors"] else 0)
EOF
exit $status
