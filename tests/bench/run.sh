#!/bin/sh
# run.sh: benchmark a private trusteed --dev instance with kbsbench, and
# measure the cryptographic floor (floorbench) in the same run.
#
# Usage: sh tests/bench/run.sh [--json] [kbsbench options...]
#   e.g. sh tests/bench/run.sh --concurrency 8 --flows 500 --gets 5000 --json
# Expects `make` to have built server/trusteed, tests/bench/kbsbench and
# tests/bench/floorbench. Runs floorbench while the server is idle, then
# kbsbench; prints kbsbench's table, then the phases against the floors
# (tests/bench/report.py kbs-table). With --json, prints instead one JSON
# object on stdout (report.py combine: per phase server CPU per op, the
# floor, their ratio and the target, throughput, server capacity, latency,
# RSS; the floors; RSS per live session; the machine).
# Extra server flags can be given in TRUSTEED_ARGS (e.g. TRUSTEED_ARGS=-d),
# floorbench options in FLOOR_ARGS (e.g. FLOOR_ARGS="--min-ms 100").
# Everything listens on 127.0.0.1 only. The work directory (dev state and
# server log) is removed on success and kept on failure; KEEP=1 keeps it.
# Exit status: kbsbench's, or 1 if the server failed to start or did not
# exit cleanly on SIGTERM, or floorbench failed.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
trusteed=$top/server/trusteed
kbsbench=$top/tests/bench/kbsbench
floorbench=$top/tests/bench/floorbench
report=$top/tests/bench/report.py
python=/usr/bin/python3
start_wait=30	# seconds to wait for /healthz
stop_wait=10	# seconds to wait for exit after SIGTERM

json=0
for a in "$@"; do
	[ "$a" = --json ] && json=1
done

for f in "$trusteed" "$kbsbench" "$floorbench"; do
	if [ ! -x "$f" ]; then
		echo "run.sh: $f not built; run make first" >&2
		exit 1
	fi
done

work=$(mktemp -d /tmp/kbsbench.XXXXXX) || exit 1
state=$work/state
log=$work/trusteed.log
srv_pid=
status=1

# Stop only the server this script started, by its pid.
stop_server() {
	[ -n "$srv_pid" ] || return 0
	kill -TERM "$srv_pid" 2>/dev/null
	i=0
	while kill -0 "$srv_pid" 2>/dev/null && [ $i -lt $((stop_wait * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$srv_pid" 2>/dev/null; then
		echo "run.sh: trusteed (pid $srv_pid) ignored SIGTERM for ${stop_wait}s; killing it" >&2
		kill -KILL "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
		srv_pid=
		return 1
	fi
	wait "$srv_pid"
	rc=$?
	srv_pid=
	if [ $rc -ne 0 ]; then
		echo "run.sh: trusteed exited with status $rc after SIGTERM" >&2
		return 1
	fi
	return 0
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	stop_server || status=1
	if [ "$status" -eq 0 ] && [ "${KEEP:-0}" != 1 ]; then
		rm -rf "$work"
	else
		echo "run.sh: kept $work (server log: $log)" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free port: bind port 0 on loopback and release it. Another process
# could take it before trusteed binds; the start check below catches that.
port=$("$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || exit 1
url=https://127.0.0.1:$port

# shellcheck disable=SC2086 # TRUSTEED_ARGS is split on purpose
"$trusteed" --dev --state-dir "$state" --listen "127.0.0.1:$port" \
    ${TRUSTEED_ARGS:-} >"$log" 2>&1 &
srv_pid=$!

i=0
until curl -sk --max-time 2 -o /dev/null -w '%{http_code}' \
    "$url/healthz" 2>/dev/null | grep -qx 200; do
	if ! kill -0 "$srv_pid" 2>/dev/null; then
		wait "$srv_pid"
		echo "run.sh: trusteed exited during startup (status $?):" >&2
		srv_pid=
		tail -n 20 "$log" >&2
		exit 1
	fi
	i=$((i + 1))
	if [ $i -ge $((start_wait * 10)) ]; then
		echo "run.sh: $url/healthz not ready after ${start_wait}s:" >&2
		tail -n 20 "$log" >&2
		exit 1
	fi
	sleep 0.1
done

for f in "$state/tls/cert.pem" "$state/admin/private.pem"; do
	if [ ! -f "$f" ]; then
		echo "run.sh: trusteed --dev did not create $f" >&2
		exit 1
	fi
done

echo "run.sh: trusteed pid $srv_pid on $url (log $log)" >&2
echo "run.sh: floorbench (the server is idle meanwhile)" >&2
# shellcheck disable=SC2086 # FLOOR_ARGS is split on purpose
if ! "$floorbench" --json ${FLOOR_ARGS:-} >"$work/floor.json"; then
	echo "run.sh: FAILED: floorbench" >&2
	exit 1
fi

# kbsbench always writes JSON here (its table goes to stderr), so a
# --json of the caller is dropped from its arguments.
for a in "$@"; do
	shift
	[ "$a" = --json ] || set -- "$@" "$a"
done
"$kbsbench" --url "$url" --cacert "$state/tls/cert.pem" \
    --admin-key "$state/admin/private.pem" --pid "$srv_pid" --json "$@" \
    >"$work/kbs.json"
status=$?
if ! stop_server; then
	[ $status -ne 0 ] || status=1
fi
if ! "$python" "$report" combine "$work/floor.json" "$work/kbs.json" \
    >"$work/combined.json"; then
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
