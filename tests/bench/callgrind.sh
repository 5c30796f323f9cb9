#!/bin/sh
# callgrind.sh: instructions per operation (valgrind's callgrind, Ir) of
# the KBS phases and of their cryptographic floors: a figure that does not
# move with the load of a shared machine, so a change can be compared
# with another run, on another day.
#
# Usage: sh tests/bench/callgrind.sh [--json] [--gets N] [--bearer-gets N]
#            [--flows N]
#   (defaults 300, 300, 100; every phase has concurrency 1)
#
# Floors: floorbench --ops N under callgrind, collecting only inside the
# floor_op_* functions: Ir per ecdh_es, es256_sign, es256_verify; flow =
# ecdh_es + es256_sign.
# Phases: server/trusteed --dev under callgrind (all its threads, the
# group-commit writers included; nothing in the kernel). For each phase
# kbsbench runs the phase once with a count of 1 and once with N, the
# counters zeroed before and dumped after each (callgrind_control); the
# phase's untimed preparation (attesting once, presenting the token once)
# is in both, so Ir per operation = (Ir(N) - Ir(1)) / (N - 1). Phases:
# gets (cookie GET), bearer_seen (Bearer GET of a token seen before),
# flows (/auth + /attest + GET).
# Prints a table (or with --json one object): per phase Ir/op, its floor's
# Ir/op and the ratio. Needs valgrind; takes 1-3 minutes. Exit status 1
# when something fails (a kbsbench run, the server start).
set -u

me=callgrind.sh
top=$(cd "$(dirname "$0")/../.." && pwd)
python=/usr/bin/python3
gets=300
bearer=300
flows=100
json=0
while [ $# -gt 0 ]; do
	case $1 in
	--json) json=1 ;;
	--gets) gets=$2; shift ;;
	--bearer-gets) bearer=$2; shift ;;
	--flows) flows=$2; shift ;;
	*) echo "usage: $me [--json] [--gets N] [--bearer-gets N]" \
	    "[--flows N]" >&2; exit 2 ;;
	esac
	shift
done
for t in valgrind callgrind_control callgrind_annotate; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "$me: $t not found (apt-get install valgrind)" >&2
		exit 1
	fi
done
for f in server/trusteed tests/bench/kbsbench tests/bench/floorbench; do
	if [ ! -x "$top/$f" ]; then
		echo "$me: $top/$f not built; run make first" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/callgrind.XXXXXX) || exit 1
pid=
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Inclusive Ir of function fn in a callgrind output file.
incl() {
	callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
	    awk -v fn=":$2 " 'index($0, fn) { gsub(",", "", $1); print $1;
	    exit }'
}
summary() {
	sed -n 's/^summary: *//p' "$1" | head -n 1
}

# ---------------------------------------------------------------- floors
nops=200
if ! valgrind --tool=callgrind --collect-atstart=no \
    --toggle-collect='floor_op_*' --callgrind-out-file="$work/floor.cg" \
    "$top/tests/bench/floorbench" --ops $nops \
    --only ecdh_es,es256_sign,es256_verify >"$work/floor.out" \
    2>"$work/floor.err"; then
	echo "$me: floorbench under callgrind failed:" >&2
	tail -n 5 "$work/floor.err" >&2
	exit 1
fi
for f in ecdh_es es256_sign es256_verify; do
	v=$(incl "$work/floor.cg" "floor_op_$f")
	eval "floor_$f=$((v / nops))"
done
# shellcheck disable=SC2154 # set by the eval above
floor_flow=$((floor_ecdh_es + floor_es256_sign))

# ---------------------------------------------------------------- server
port=$($python -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || exit 1
url=https://127.0.0.1:$port
valgrind --tool=callgrind --callgrind-out-file="$work/srv.%p.cg" \
    "$top/server/trusteed" --dev --state-dir "$work/state" \
    --listen "127.0.0.1:$port" --limit auth_rate=0 --limit attest_rate=0 \
    --limit attestation_rate=0 --limit max_unattested_per_source=0 \
    >"$work/trusteed.log" 2>&1 &
pid=$!
i=0
until curl -sk --max-time 5 -o /dev/null -w '%{http_code}' \
    "$url/healthz" 2>/dev/null | grep -qx 200; do
	if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 240 ]; then
		echo "$me: trusteed did not start under valgrind:" >&2
		tail -n 20 "$work/trusteed.log" >&2
		exit 1
	fi
	i=$((i + 1))
	sleep 0.5
done

kb() {
	"$top/tests/bench/kbsbench" --url "$url" \
	    --cacert "$work/state/tls/cert.pem" \
	    --admin-key "$work/state/admin/private.pem" --concurrency 1 \
	    --duration-limit 900 --only "$1" "$2" "$3" \
	    >"$work/kb.out" 2>"$work/kb.err"
}

dumps=0
status=0
# phase, kbsbench count option, N, floor name
measure() {
	kb "$1" "$2" 5 || { status=1; cat "$work/kb.err" >&2; return; }
	callgrind_control -z "$pid" >/dev/null 2>&1
	kb "$1" "$2" 1 || { status=1; cat "$work/kb.err" >&2; return; }
	callgrind_control -d "$1-1" "$pid" >/dev/null 2>&1
	callgrind_control -z "$pid" >/dev/null 2>&1
	kb "$1" "$2" "$3" || { status=1; cat "$work/kb.err" >&2; return; }
	callgrind_control -d "$1-n" "$pid" >/dev/null 2>&1
	dumps=$((dumps + 2))
	one=$(summary "$work/srv.$pid.cg.$((dumps - 1))")
	many=$(summary "$work/srv.$pid.cg.$dumps")
	eval "ir_$1=$(((many - one) / ($3 - 1)))"
	eval "fl_$1=\$floor_$4"
	echo "$me: $1: $(((many - one) / ($3 - 1))) Ir/op" >&2
}
measure gets --gets "$gets" ecdh_es
measure bearer_seen --bearer-gets "$bearer" ecdh_es
measure flows --flows "$flows" flow
kill -TERM "$pid"
wait "$pid"
pid=
[ $status -eq 0 ] || exit 1

# shellcheck disable=SC2154 # set by measure's eval
if [ $json = 1 ]; then
	printf '{"floors_ir":{"ecdh_es":%s,"es256_sign":%s,"es256_verify":%s,' \
	    "$floor_ecdh_es" "$floor_es256_sign" "$floor_es256_verify"
	printf '"flow":%s},"phases_ir":{' "$floor_flow"
	printf '"gets":{"ir_per_op":%s,"floor":"ecdh_es","floor_ir":%s},' \
	    "$ir_gets" "$fl_gets"
	printf '"bearer_seen":{"ir_per_op":%s,"floor":"ecdh_es",' \
	    "$ir_bearer_seen"
	printf '"floor_ir":%s},' "$fl_bearer_seen"
	printf '"flows":{"ir_per_op":%s,"floor":"flow","floor_ir":%s}}}\n' \
	    "$ir_flows" "$fl_flows"
	exit 0
fi
echo "instructions per operation (callgrind Ir; server: every thread," \
    "no kernel; concurrency 1)"
printf '%-12s %12s %-8s %12s %7s\n' phase Ir/op floor floor_Ir ratio
for ph in gets bearer_seen flows; do
	eval "v=\$ir_$ph; f=\$fl_$ph"
	case $ph in flows) fn=flow ;; *) fn=ecdh_es ;; esac
	# shellcheck disable=SC2154 # v and f come from the eval
	printf '%-12s %12s %-8s %12s %6.2fx\n' "$ph" "$v" "$fn" "$f" \
	    "$(echo "$v $f" | awk '{ print $1 / $2 }')"
done
printf 'floors: ecdh_es %s, es256_sign %s, es256_verify %s Ir\n' \
    "$floor_ecdh_es" "$floor_es256_sign" "$floor_es256_verify"
