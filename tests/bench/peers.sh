#!/bin/sh
# peers.sh: trustee's TDX verifier side by side with @phala/dcap-qvl (a
# public DCAP quote verifier, pure JavaScript) on the same quotes and
# collateral, in verifications per CPU second.
#
# Usage: sh tests/bench/peers.sh
# Not part of `make bench` or CI: it installs from the npm registry.
#
# Without `node` and `npm` it says so and exits 0 ("skipped"). Otherwise it
# installs @phala/dcap-qvl (DCAPQVL_VERSION, default latest) with npm into a
# scratch folder (PEERS_DIR, default /tmp/trustee-peers; its package.json
# and package-lock.json stay there, nothing is written to the repository)
# and times, on tests/vectors tdx-v4-uptodate (accepted, UpToDate, at
# 2025-07-04T00:00:00Z) and tdx-v5-td15-tcb-notsupported (every signature
# valid, rejected for its TCB level by both, at 2026-03-01T00:00:00Z),
# both times inside the collateral's validity window:
#   in process, one thread:
#     dcap-qvl    verify(quote, collateral, nowSecs), after 1 s of
#                 untimed JIT warm-up (tests/bench/peers/dcapqvl.js; it
#                 has no cache: every call parses and checks everything;
#                 "now" is its third argument, in seconds);
#     trustee     verifybench --cold (caches dropped before every call: the
#                 same work) and verifybench warm (the verified PCK chain
#                 and collateral cached, as trusteed runs);
#   end to end, one process per verification (start-up included):
#     dcap-qvl    node .../test_case.js verify --time T QUOTE COLLATERAL
#     trustee     trusteectl evidence verify --raw --collateral DIR --at T
# Rates are verifications per CPU second (user+system; for the end-to-end
# rows the children's CPU time). Each outcome is checked (UpToDate, or the
# TCB rejection); a different outcome is a failure.
# Environment: PEERS_SECONDS (minimum CPU seconds per in-process row,
# default 3), PEERS_E2E (processes per end-to-end row, default 20).
# Exit status: 0 (also when skipped), 1 when a tool fails or an outcome
# differs.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
vec=${TRUSTEE_TESTVECTORS:-$top/tests/vectors}
verifybench=$top/tests/bench/verifybench
trusteectl=$top/cli/trusteectl
driver=$top/tests/bench/peers/dcapqvl.js
scratch=${PEERS_DIR:-/tmp/trustee-peers}
version=${DCAPQVL_VERSION:-latest}
seconds=${PEERS_SECONDS:-3}
e2e=${PEERS_E2E:-20}
python=/usr/bin/python3

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1
then
	echo "peers.sh: node and npm are not both installed: skipped"
	exit 0
fi
for f in "$verifybench" "$trusteectl"; do
	if [ ! -x "$f" ]; then
		echo "peers.sh: $f not built; run make first" >&2
		exit 1
	fi
done
for v in tdx-v4-uptodate tdx-v5-td15-tcb-notsupported; do
	for f in quote.bin collateral-source.json tcb_info.json; do
		if [ ! -f "$vec/$v/$f" ]; then
			echo "peers.sh: FAILED: vector file $vec/$v/$f missing" >&2
			exit 1
		fi
	done
done

mkdir -p "$scratch" || exit 1
mod=$scratch/node_modules/@phala/dcap-qvl
if [ ! -f "$scratch/package.json" ]; then
	printf '{ "name": "trustee-peers", "private": true }\n' \
	    >"$scratch/package.json" || exit 1
fi
if [ ! -f "$mod/package.json" ] || [ -n "${DCAPQVL_VERSION:-}" ]; then
	echo "peers.sh: npm install @phala/dcap-qvl@$version in $scratch" >&2
	if ! (cd "$scratch" && npm install --no-audit --no-fund \
	    "@phala/dcap-qvl@$version" >&2); then
		echo "peers.sh: FAILED: npm install @phala/dcap-qvl" >&2
		exit 1
	fi
fi
qvl_version=$(node -p "require('$mod/package.json').version") || exit 1

work=$(mktemp -d /tmp/peers.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
status=0
fail() {
	echo "peers.sh: FAILED: $*" >&2
	status=1
}

# rows: case verifier mode rate outcome (tab-separated) in $work/rows
row() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$work/rows"
}

# The in-process trustee rate from verifybench's RESULT line.
ours() {	# case, n, extra option
	# shellcheck disable=SC2086 # $3 is empty or one option
	"$verifybench" --vectors "$vec" --case "$1" -n "$2" $3 >"$work/vb" ||
	    { cat "$work/vb" >&2; fail "verifybench $1 $3"; return; }
	awk '$1 == "RESULT" { split($5, a, "="); print a[2] }' "$work/vb"
}

# Run a command N times; print N / (children's user+system seconds),
# after checking each exit status and that its output contains want.
e2e_rate() {	# n, want exit status, want text, command...
	"$python" - "$@" <<'EOF'
import resource, subprocess, sys
n, want_rc, want = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cmd = sys.argv[4:]
for i in range(n):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != want_rc or want not in out:
        sys.stderr.write("unexpected outcome (exit %d): %s\n" % (
            p.returncode, out.strip()[:300]))
        sys.exit(1)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f" % (n / (ru.ru_utime + ru.ru_stime)))
EOF
}

echo "peers.sh: @phala/dcap-qvl $qvl_version (node $(node --version))" \
    "vs trustee, single-threaded; this may take a minute" >&2
for c in "tdx-v4-uptodate 2025-07-04T00:00:00Z UpToDate" \
    "tdx-v5-td15-tcb-notsupported 2026-03-01T00:00:00Z TCB"; do
	# shellcheck disable=SC2086 # split into its three words on purpose
	set -- $c
	name=$1 at=$2 expect=$3
	d=$vec/$name
	unix=$("$python" -c 'import calendar, sys, time
print(calendar.timegm(time.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ")))' "$at")
	if [ "$expect" = UpToDate ]; then
		qvl_expect="--expect-status UpToDate" outcome=accepted
		ctl_rc=0 ctl_text="\"tcb_status\": \"UpToDate\"" qvl_rc=0 qvl_text=UpToDate
	else
		qvl_expect="--expect-error TCB" outcome="rejected (TCB)"
		ctl_rc=1 ctl_text="TCB level not supported"
		qvl_rc=1 qvl_text="No matching TCB level"
	fi

	# shellcheck disable=SC2086 # qvl_expect is two words
	if node "$driver" --module "$mod" --quote "$d/quote.bin" \
	    --collateral "$d/collateral-source.json" --at "$at" $qvl_expect \
	    --min-seconds "$seconds" >"$work/qvl.json"; then
		r=$("$python" -c 'import json, sys
print("%.2f" % json.load(open(sys.argv[1]))["per_cpu_s"])' "$work/qvl.json")
		row "$name" "dcap-qvl $qvl_version" "in process" "$r" "$outcome"
	else
		cat "$work/qvl.json" >&2
		fail "dcap-qvl on $name"
	fi
	r=$(ours "$name" 300 --cold)
	[ -n "$r" ] && row "$name" trustee "in process, cold" "$r" "$outcome"
	r=$(ours "$name" 3000 "")
	[ -n "$r" ] && row "$name" trustee "in process, warm" "$r" "$outcome"

	if r=$(e2e_rate "$e2e" "$qvl_rc" "$qvl_text" node "$mod/test_case.js" \
	    verify --time "$unix" "$d/quote.bin" "$d/collateral-source.json")
	then
		row "$name" "dcap-qvl $qvl_version" "process each" "$r" \
		    "$outcome"
	else
		fail "dcap-qvl test_case.js on $name"
	fi
	if r=$(e2e_rate "$e2e" "$ctl_rc" "$ctl_text" "$trusteectl" evidence \
	    verify --evidence "$d/quote.bin" --raw --collateral "$d" --at "$at")
	then
		row "$name" "trusteectl" "process each" "$r" "$outcome"
	else
		fail "trusteectl evidence verify on $name"
	fi
done

echo
echo "TDX quote verification, verifications per CPU second (higher is better)"
"$python" - "$work/rows" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print("%-30s %-16s %-18s %12s %10s  %s" % (
    "case", "verifier", "mode", "verif/CPU-s", "ms CPU", "outcome"))
for case, who, mode, rate, outcome in rows:
    r = float(rate)
    print("%-30s %-16s %-18s %12.1f %10.3f  %s" % (
        case, who, mode, r, 1000.0 / r, outcome))
print()
for case in dict.fromkeys(r[0] for r in rows):
    get = {(w.split()[0], m): float(v) for c, w, m, v, o in rows if c == case}
    base = get.get(("dcap-qvl", "in process"))
    e2e = get.get(("dcap-qvl", "process each"))
    for mode in ("in process, cold", "in process, warm"):
        if base and ("trustee", mode) in get:
            print("%-30s trustee %-17s = %7.1fx dcap-qvl in process" % (
                case, mode, get[("trustee", mode)] / base))
    if e2e and ("trusteectl", "process each") in get:
        print("%-30s trusteectl per process     = %7.1fx dcap-qvl "
              "test_case.js per process" % (
                  case, get[("trusteectl", "process each")] / e2e))
EOF
echo
echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(shared: figures vary from run to run)"
[ $status -eq 0 ] || echo "peers.sh: FAILED (see above)" >&2
exit $status
