#!/bin/sh
# run.sh: benchmark a private trusteed --dev instance with kbsbench, with
# the cryptographic floors (floorbench) measured in the same run.
#
# Usage: sh tests/bench/run.sh [--json] [--placement split|shared]
#                              [--store sqlite|mariadb] [kbsbench options...]
#   e.g. sh tests/bench/run.sh --concurrency 8 --flows 500 --gets 5000 --json
# --placement (default split, or BENCH_PLACEMENT): split runs the server
# and floorbench on one half of the CPUs and kbsbench on the other
# (lib.sh bench_place), so that the server's CPU per operation is
# measured as the floors are, alone on its cores; shared lets the load
# generator run on the server's cores too (its figures include being
# interleaved with the load generator). The JSON and the table say which.
# --store (default sqlite, or BENCH_STORE): mariadb runs the server on a
# private mariadbd (tests/integration/mariadb.py up, on the load
# generator's CPUs, with ha.sh's InnoDB settings) and its defaults for a
# shared store: sessions in the database (stateless challenges, the
# nonce spent by the insert at /attest, each instance's cache of attested
# sessions), resource rows from memory under a 200 ms lease; the server's
# CPU per operation counts trusteed only, as in production where the
# database runs elsewhere. The JSON ("machine"."store") and the table
# say which store.
# Expects `make` to have built server/trusteed, tests/bench/kbsbench and
# tests/bench/floorbench. While the server is idle, floorbench measures
# every floor; then each kbsbench phase runs on its own (kbsbench --only
# PHASE, with the caller's options), followed by the floors it is compared
# with (ecdh_es, es256_sign, es256_verify): the load of a shared machine
# moves the floors too, so each phase is compared with the mean of the
# floors measured just before and just after it. Prints kbsbench's tables
# (stderr), then the phases against the floors (report.py kbs-table). With
# --json, stdout gets instead one JSON object (report.py combine: per
# phase server CPU per op, the floor, their ratio and the target,
# throughput, server capacity, latency, RSS; the floors; RSS per live
# session; the machine).
# Extra server flags can be given in TRUSTEED_ARGS (e.g. TRUSTEED_ARGS=-d),
# floorbench options in FLOOR_ARGS (e.g. FLOOR_ARGS="--min-ms 100").
# Everything listens on 127.0.0.1 only. The work directory (dev state and
# server log) is removed on success and kept on failure; KEEP=1 keeps it.
# Exit status: kbsbench's (the last non-zero one), or 1 if the server
# failed to start or did not exit cleanly on SIGTERM, or floorbench failed.
set -u

me=run.sh
top=$(cd "$(dirname "$0")/../.." && pwd)
kbsbench=$top/tests/bench/kbsbench
floorbench=$top/tests/bench/floorbench
pagebench=$top/tests/bench/pagebench
report=$top/tests/bench/report.py
python=/usr/bin/python3
# shellcheck source=tests/bench/lib.sh
. "$top/tests/bench/lib.sh"

json=0
placement=${BENCH_PLACEMENT:-split}
store=${BENCH_STORE:-sqlite}
prev=
for a in "$@"; do
	[ "$a" = --json ] && json=1
	[ "$prev" = --placement ] && placement=$a
	[ "$prev" = --store ] && store=$a
	prev=$a
done
bench_place "$placement" || exit 2
export BENCH_PLACEMENT_INFO="$bench_placement"
case $store in
sqlite) BENCH_STORE_INFO="sqlite (the state directory's file)" ;;
mariadb) BENCH_STORE_INFO="mariadb (a private mariadbd beside the load generator; sessions shared through it, lease 200 ms)" ;;
*)
	echo "run.sh: unknown store \"$store\" (sqlite or mariadb)" >&2
	exit 2
	;;
esac
export BENCH_STORE_INFO

for f in "$kbsbench" "$floorbench" "$pagebench"; do
	if [ ! -x "$f" ]; then
		echo "run.sh: $f not built; run make first" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/kbsbench.XXXXXX) || exit 1
state=$work/state
log=$work/trusteed.log
status=1

mdb_dir=
mdb_up=0

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	bench_stop || status=1
	if [ "$mdb_up" = 1 ] && ! bench_mariadb_down "$mdb_dir"; then
		echo "run.sh: could not stop the private mariadbd" >&2
		status=1
	fi
	if [ -n "$mdb_dir" ] && [ "$status" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$mdb_dir"
	elif [ -n "$mdb_dir" ]; then
		echo "run.sh: kept $mdb_dir (the private mariadbd)" >&2
	fi
	if [ "$status" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$work"
	else
		echo "run.sh: kept $work (server log: $log)" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$store" = mariadb ]; then
	# Its own directory: mariadbd runs as mysql, and $work is 0700.
	mdb_dir=$(mktemp -d /tmp/kbsbench-mdb.XXXXXX) || exit 1
	# shellcheck disable=SC2086 # bench_on_cli is a command prefix
	bench_mariadb_up "$mdb_dir" $bench_on_cli || exit 1
	mdb_up=1
	if ! "$bench_mdb_client" --no-defaults -S "$bench_mdb_sock" -u root \
	    -e 'CREATE DATABASE trustee_bench'; then
		echo "run.sh: FAILED: cannot create the database" >&2
		exit 1
	fi
	TRUSTEED_ARGS="--store mariadb://trustee@localhost/trustee_bench?socket=$bench_mdb_sock --store-lease 200 ${TRUSTEED_ARGS:-}"
fi
bench_start "$state" "$log" || exit 1
echo "run.sh: trusteed pid $srv_pid on $url (log $log); placement" \
    "$bench_placement" >&2
# The floors move with the machine's load, so they are measured between
# the phases too, and each phase is compared with the mean of the floors
# just before and just after it: floor-0 (every floor), one kbsbench run
# per phase (--only), floor-1, the next phase, floor-2, ...
echo "run.sh: floorbench (the server is idle meanwhile)" >&2
# shellcheck disable=SC2086 # FLOOR_ARGS is split on purpose
if ! $bench_on_srv "$floorbench" --json ${FLOOR_ARGS:-} \
    >"$work/floor-0.json"; then
	echo "run.sh: FAILED: floorbench" >&2
	exit 1
fi
# What the machine charges for new memory (pagebench.c says why), where
# the server runs; report.py reads it through BENCH_MEMORY_FILE.
if ! $bench_on_srv "$pagebench" --json >"$work/memory.json"; then
	echo "run.sh: FAILED: pagebench" >&2
	exit 1
fi
export BENCH_MEMORY_FILE="$work/memory.json"

# kbsbench always writes JSON here (its table goes to stderr), so a
# --json of the caller is dropped from its arguments, and --placement
# is run.sh's.
prev=
for a in "$@"; do
	shift
	if [ "$a" != --json ] && [ "$a" != --placement ] &&
	    [ "$prev" != --placement ] && [ "$a" != --store ] &&
	    [ "$prev" != --store ]; then
		set -- "$@" "$a"
	fi
	prev=$a
done
status=0
seq="$work/floor-0.json"
i=0
for ph in auth attest flows gets bearer_seen bearer_first admin_pages; do
	i=$((i + 1))
	# shellcheck disable=SC2086 # bench_on_* are command prefixes
	$bench_on_cli "$kbsbench" --url "$url" --cacert "$state/tls/cert.pem" \
	    --admin-key "$state/admin/private.pem" --pid "$srv_pid" --json \
	    "$@" --only "$ph" >"$work/kbs-$i.json"
	rc=$?
	[ $rc -eq 0 ] || status=$rc
	# A phase whose count is 0 did not run.
	grep -q '"phases":\[\]' "$work/kbs-$i.json" && continue
	# shellcheck disable=SC2086 # FLOOR_ARGS is split on purpose
	if ! $bench_on_srv "$floorbench" --json ${FLOOR_ARGS:-} \
	    --only ecdh_es,es256_sign,es256_verify >"$work/floor-$i.json"; then
		echo "run.sh: FAILED: floorbench" >&2
		status=1
		break
	fi
	seq="$seq $work/kbs-$i.json $work/floor-$i.json"
done
if ! bench_stop; then
	[ $status -ne 0 ] || status=1
fi
# shellcheck disable=SC2086 # seq is a list of paths without spaces
if ! "$python" "$report" combine $seq >"$work/combined.json"; then
	[ $status -ne 0 ] || status=1
	exit $status
fi
if [ $json = 1 ]; then
	cat "$work/combined.json"
else
	echo
	"$python" "$report" kbs-table "$work/combined.json"
fi
[ $status -ne 0 ] && echo "run.sh: FAILED: kbsbench exited with status" \
    "$status (see the errors above)" >&2
exit $status
