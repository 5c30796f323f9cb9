#!/bin/sh
# scale.sh: does trusteed slow down as its store grows? Runnable
# separately (minutes, ~1 GB of tmpfs for 1M resources); not in CI and not
# in `make bench`.
#
# Usage: sh tests/bench/scale.sh [--small N] [--large N] [--gets N]
#            [--concurrency N] [--admin-resources N] [--admin-pages N]
#            [--attestations N]
# Defaults: --small 1000 --large 1000000 --gets 20000 --concurrency 4
#           --admin-resources 10000 --admin-pages 300 --attestations 100000
#
# 1. Resource GET p99 against the number of stored resources. A private
#    trusteed --dev is started once to create its state, stopped, and the
#    store is bulk-loaded with tests/bench/fillbench: a program linked
#    against libtrusteed.a that opens the dev store as trusteed does and
#    writes each resource with resource_put, the function behind the admin
#    API's PUT (same sealed rows, same index; no HTTP, no admin token, no
#    audit row), because 1M admin API calls would take hours here. The
#    server is started again and kbsbench does --gets cookie GETs, each of
#    a random one of the loaded resources (benchres.h), checking every
#    plaintext. Then the store is topped up to --large and the GETs run
#    again. Printed: resources, server CPU per GET, p50/p99 latency, GETs/s.
# 2. Admin API pages: a fresh store with --admin-resources resources;
#    kbsbench walks GET /api/v1/resources?limit=100 page by page (one
#    thread, so latency is not queueing), --admin-pages pages. Then, when
#    the server has GET /api/v1/attestations (the attestation log arrives
#    with the console branch), --attestations full flows fill the log and
#    its pages are walked the same way; until then that part prints
#    "skipped" and why.
# The state lives in SCALE_DIR (default /dev/shm, else /tmp): the store
# commits synchronously, and on a disk 1M loads would be bound by fsync.
# Exit status 0, 1 when a step fails (the work directory is then kept).
set -u

me=scale.sh
top=$(cd "$(dirname "$0")/../.." && pwd)
kbsbench=$top/tests/bench/kbsbench
fillbench=$top/tests/bench/fillbench
python=/usr/bin/python3
# shellcheck source=tests/bench/lib.sh
. "$top/tests/bench/lib.sh"

small=1000 large=1000000 gets=20000 conc=4
admin_res=10000 admin_pages=300 attestations=100000
while [ $# -gt 0 ]; do
	case $1 in
	--small) small=$2 ;;
	--large) large=$2 ;;
	--gets) gets=$2 ;;
	--concurrency) conc=$2 ;;
	--admin-resources) admin_res=$2 ;;
	--admin-pages) admin_pages=$2 ;;
	--attestations) attestations=$2 ;;
	*)
		echo "usage: sh tests/bench/scale.sh [--small N] [--large N]" \
		    "[--gets N] [--concurrency N] [--admin-resources N]" \
		    "[--admin-pages N] [--attestations N]" >&2
		exit 2 ;;
	esac
	[ $# -ge 2 ] || { echo "$me: $1 needs a value" >&2; exit 2; }
	shift 2
done
if [ "$large" -le "$small" ]; then
	echo "$me: --large must be more than --small" >&2
	exit 2
fi
for f in "$kbsbench" "$fillbench"; do
	if [ ! -x "$f" ]; then
		echo "$me: $f not built; run make first" >&2
		exit 1
	fi
done

base=${SCALE_DIR:-/dev/shm}
[ -d "$base" ] && [ -w "$base" ] || base=/tmp
work=$(mktemp -d "$base/trustee-scale.XXXXXX") || exit 1
status=1
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	bench_stop || status=1
	if [ "$status" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$work"
	else
		echo "$me: kept $work" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# kbsbench with every phase off; the caller's options turn some on.
none="--sessions 0 --attested-sessions 0 --flows 0 --gets 0 --bearer-gets 0
--bearer-first 0"
kbs() {	# state, json out, kbsbench options...
	_st=$1 _out=$2
	shift 2
	# shellcheck disable=SC2086 # none is split on purpose
	"$kbsbench" --url "$url" --cacert "$_st/tls/cert.pem" \
	    --admin-key "$_st/admin/private.pem" --pid "$srv_pid" --json \
	    $none "$@" >"$_out"
}
# Create a dev state directory (start and stop trusteed once).
new_state() {
	bench_start "$1" "$1.log" && bench_stop
}
load() {	# state, start, count, json out
	echo "$me: loading $3 resources into $1 (from #$2)" >&2
	"$fillbench" --state-dir "$1" --start "$2" --count "$3" --json >"$4"
}

# ---- 1. GET p99 against the store size
st=$work/get
new_state "$st" || exit 1
load "$st" 0 "$small" "$work/load-small.json" || exit 1
bench_start "$st" "$st.log" || exit 1
echo "$me: GETs with $small resources" >&2
kbs "$st" "$work/get-small.json" --concurrency "$conc" --gets "$gets" \
    --resources "$small" || exit 1
bench_stop || exit 1
load "$st" "$small" $((large - small)) "$work/load-large.json" || exit 1
bench_start "$st" "$st.log" || exit 1
echo "$me: GETs with $large resources" >&2
kbs "$st" "$work/get-large.json" --concurrency "$conc" --gets "$gets" \
    --resources "$large" || exit 1
bench_stop || exit 1
db_mib=$(du -m "$st/trustee.db" | cut -f1)

# ---- 2. admin API pages
st=$work/admin
new_state "$st" || exit 1
load "$st" 0 "$admin_res" "$work/load-admin.json" || exit 1
bench_start "$st" "$st.log" || exit 1
echo "$me: admin resource pages with $admin_res resources" >&2
kbs "$st" "$work/admin-res.json" --concurrency 1 --admin-gets "$admin_pages" \
    --admin-path "/api/v1/resources?limit=100" || exit 1
att_note=
if kbs "$st" "$work/att-probe.json" --concurrency 1 --admin-gets 1 \
    --admin-path "/api/v1/attestations?limit=1" 2>"$work/att-probe.err"
then
	echo "$me: filling the attestation log with $attestations flows" >&2
	kbs "$st" "$work/att-fill.json" --concurrency 16 \
	    --flows "$attestations" --duration-limit 3600 || exit 1
	echo "$me: admin attestation-log pages" >&2
	kbs "$st" "$work/admin-att.json" --concurrency 1 \
	    --admin-gets "$admin_pages" \
	    --admin-path "/api/v1/attestations?limit=100" || exit 1
elif grep -q ' 404 ' "$work/att-probe.err"; then
	att_note="skipped: this server has no GET /api/v1/attestations yet (the attestation log arrives with the console branch)"
else
	cat "$work/att-probe.err" >&2
	echo "$me: FAILED: probing GET /api/v1/attestations" >&2
	exit 1
fi
bench_stop || exit 1

echo
if ! "$python" - "$work" "$small" "$large" "$db_mib" "$admin_res" \
    "$attestations" "$att_note" <<'EOF'
import json, os, sys
work, small, large, db_mib, admin_res, natt, att_note = sys.argv[1:]

def load(name):
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])

def phase(doc):
    return doc["phases"][0]

print("resource GET against the store size (cookie GETs of random "
      "resources, concurrency %d)" % load("get-small.json")["concurrency"])
print("%12s %10s %9s %9s %9s %10s" % ("resources", "srv_us/GET", "p50_ms",
                                      "p99_ms", "GETs/s", "load"))
for n, g, l in ((small, "get-small.json", "load-small.json"),
                (large, "get-large.json", "load-large.json")):
    p, ld = phase(load(g)), load(l)
    print("%12s %10.0f %9.2f %9.2f %9.0f %10s" % (
        n, p.get("server_cpu_us_per_op", 0), p["latency_ms"]["p50"],
        p["latency_ms"]["p99"], p["throughput"],
        "%.0f puts/s" % ld["puts_per_s"]))
print("store file with %s resources: %s MiB; fillbench writes "
      "(resource_put, synchronous commits) at %.0f us CPU per put" % (
          large, db_mib, load("load-large.json")["cpu_us_per_put"]))
print()
print("admin API pages (one thread, limit=100, walking next_cursor)")
print("%-40s %8s %9s %9s %9s %10s" % ("list", "pages", "p50_ms", "p99_ms",
                                      "max_ms", "srv_us/page"))
for label, name in (("resources (%s stored)" % admin_res, "admin-res.json"),
                    ("attestations (%s flows)" % natt, "admin-att.json")):
    d = load(name)
    if d is None:
        print("%-40s %s" % (label, att_note))
        continue
    p = phase(d)
    print("%-40s %8d %9.2f %9.2f %9.2f %10.0f" % (
        label, p["count"], p["latency_ms"]["p50"], p["latency_ms"]["p99"],
        p["latency_ms"]["max"], p.get("server_cpu_us_per_op", 0)))
EOF
then
	exit 1
fi
echo
echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); state in $base"
status=0
exit 0
