# lib.sh: start and stop a private trusteed --dev (and a private
# mariadbd) for the benchmark scripts (run.sh, ha.sh, scale.sh). Sourced,
# not run. The caller sets:
#   me        its name, for messages
#   top       the source tree
# and gets:
#   bench_start STATE LOG   start server/trusteed --dev --state-dir STATE
#                           on a free 127.0.0.1 port (extra flags from
#                           TRUSTEED_ARGS), output to LOG; wait up to 30 s
#                           for GET /healthz; sets srv_pid, port, url.
#                           The server gets the GLIBC_TUNABLES the
#                           package's systemd unit gives trusteed (its
#                           Environment= line: glibc's heap on huge
#                           pages), so that the figures are the packaged
#                           service's; BENCH_TUNABLES replaces them
#                           ("-": none, glibc's defaults).
#                           Returns 1 (with the log's tail on stderr) if
#                           the server exits or does not answer.
#   bench_stop              SIGTERM the server bench_start started (by its
#                           pid; SIGKILL after 10 s); returns 1 unless it
#                           exited with status 0.
#   bench_place MODE        where the processes run, before bench_start:
#                           "shared" (the default: anywhere) or "split":
#                           with 2 or more CPUs, the server (and what the
#                           caller runs with $bench_on_srv, the floors)
#                           on the first half of this process's CPUs and
#                           the load generator ($bench_on_cli) on the
#                           other half, so that a server's CPU time per
#                           operation is not interleaved with its load
#                           generator's on the same core, as with a
#                           remote client and like the floors, which are
#                           measured alone on a core. Sets bench_on_srv,
#                           bench_on_cli (command prefixes, empty when
#                           shared) and bench_placement (a description).
#   bench_mariadb_up DIR [PREFIX...]
#                           start a private mariadbd in DIR
#                           (tests/integration/mariadb.py up, run under
#                           the command PREFIX, e.g. $bench_on_cli) with
#                           the benchmarks' InnoDB settings: a 256 MiB
#                           buffer pool and redo log, as a database
#                           server would have (the tests' servers spare
#                           memory with 64 and 32 MiB); its account's
#                           password goes to DIR/cred, which
#                           CREDENTIALS_DIRECTORY names (exported, as
#                           trusteed's systemd credential). Sets
#                           bench_mdb_sock and bench_mdb_client; returns
#                           1 (saying why) when MariaDB is missing or
#                           does not start. bench_mariadb_down DIR stops
#                           it.
# shellcheck shell=sh disable=SC2154,SC2034 # me and top come from the caller; the bench_* variables are for it

bench_trusteed=$top/server/trusteed
bench_unit=$top/debian/trustee-appliance.trusteed.service
bench_python=/usr/bin/python3
bench_start_wait=30	# seconds to wait for /healthz
bench_stop_wait=10	# seconds to wait for exit after SIGTERM
srv_pid=
bench_on_srv=
bench_on_cli=
bench_placement="shared: server and load generator on any CPU"

bench_place() {
	bench_on_srv=
	bench_on_cli=
	bench_placement="shared: server and load generator on any CPU"
	case $1 in
	shared) return 0 ;;
	split) ;;
	*)
		echo "$me: unknown placement \"$1\" (split or shared)" >&2
		return 1
		;;
	esac
	# The CPUs this process may use, split in two halves.
	_halves=$("$bench_python" -c 'import os
c = sorted(os.sched_getaffinity(0))
h = len(c) // 2
print(",".join(map(str, c[:h])), ",".join(map(str, c[h:])))') || return 1
	# shellcheck disable=SC2086 # split on purpose
	set -- $_halves
	if [ $# -ne 2 ] || ! command -v taskset >/dev/null 2>&1; then
		bench_placement="shared: one CPU, or no taskset"
		return 0
	fi
	bench_on_srv="taskset -c $1"
	bench_on_cli="taskset -c $2"
	bench_placement="split: server and floors on CPU(s) $1, load generator on CPU(s) $2"
}

# Stop only the server bench_start started, by its pid.
bench_stop() {
	[ -n "$srv_pid" ] || return 0
	kill -TERM "$srv_pid" 2>/dev/null
	_i=0
	while kill -0 "$srv_pid" 2>/dev/null &&
	    [ $_i -lt $((bench_stop_wait * 10)) ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if kill -0 "$srv_pid" 2>/dev/null; then
		echo "$me: trusteed (pid $srv_pid) ignored SIGTERM for" \
		    "${bench_stop_wait}s; killing it" >&2
		kill -KILL "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
		srv_pid=
		return 1
	fi
	wait "$srv_pid"
	_rc=$?
	srv_pid=
	if [ $_rc -ne 0 ]; then
		echo "$me: trusteed exited with status $_rc after SIGTERM" >&2
		return 1
	fi
	return 0
}

bench_start() {
	_state=$1
	_log=$2
	if [ ! -x "$bench_trusteed" ]; then
		echo "$me: $bench_trusteed not built; run make first" >&2
		return 1
	fi
	# A free port: bind port 0 on loopback and release it. Another
	# process could take it before trusteed binds; the check below
	# catches that.
	port=$("$bench_python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || return 1
	url=https://127.0.0.1:$port
	_tun=${BENCH_TUNABLES:-$(sed -n 's/^Environment=GLIBC_TUNABLES=//p' \
	    "$bench_unit")}
	[ "$_tun" = - ] && _tun=
	# The load generator is one source address doing thousands of guest
	# flows a second: lift the per-source rate limits ([limits]) for it.
	# shellcheck disable=SC2086 # TRUSTEED_ARGS is split on purpose
	# shellcheck disable=SC2086 # bench_on_srv is a command prefix
	$bench_on_srv env GLIBC_TUNABLES="$_tun" "$bench_trusteed" --dev \
	    --state-dir "$_state" --listen "127.0.0.1:$port" --limit auth_rate=0 \
	    --limit attest_rate=0 --limit attestation_rate=0 \
	    --limit max_unattested_per_source=0 \
	    ${TRUSTEED_ARGS:-} >"$_log" 2>&1 &
	srv_pid=$!
	_i=0
	until curl -sk --max-time 2 -o /dev/null -w '%{http_code}' \
	    "$url/healthz" 2>/dev/null | grep -qx 200; do
		if ! kill -0 "$srv_pid" 2>/dev/null; then
			wait "$srv_pid"
			echo "$me: trusteed exited during startup (status" \
			    "$?):" >&2
			srv_pid=
			tail -n 20 "$_log" >&2
			return 1
		fi
		_i=$((_i + 1))
		if [ $_i -ge $((bench_start_wait * 10)) ]; then
			echo "$me: $url/healthz not ready after" \
			    "${bench_start_wait}s:" >&2
			tail -n 20 "$_log" >&2
			return 1
		fi
		sleep 0.1
	done
	for _f in "$_state/tls/cert.pem" "$_state/admin/private.pem"; do
		if [ ! -f "$_f" ]; then
			echo "$me: trusteed --dev did not create $_f" >&2
			return 1
		fi
	done
	return 0
}

bench_mdb=$top/tests/integration/mariadb.py
bench_mdb_sock=
bench_mdb_client=$(command -v mariadb || echo /usr/bin/mariadb)

bench_mariadb_up() {
	_dir=$1
	shift
	if ! _miss=$("$bench_python" "$bench_mdb" missing); then
		echo "$me: MariaDB is missing: $_miss" >&2
		return 1
	fi
	echo "$me: starting a private mariadbd in $_dir" >&2
	if ! "$@" "$bench_python" "$bench_mdb" up "$_dir" \
	    --option innodb-buffer-pool-size=256M \
	    --option innodb-log-file-size=256M >"$_dir/mariadb-up.log" 2>&1
	then
		cat "$_dir/mariadb-up.log" >&2
		echo "$me: FAILED: cannot start mariadbd" >&2
		return 1
	fi
	mkdir -p "$_dir/cred"
	install -m 600 "$_dir/mariadb-password" "$_dir/cred/trustee-db-password"
	CREDENTIALS_DIRECTORY=$_dir/cred
	export CREDENTIALS_DIRECTORY
	bench_mdb_sock=$_dir/mariadb/sock
}

bench_mariadb_down() {
	"$bench_python" "$bench_mdb" ctl "$1/mariadb" stop >/dev/null 2>&1
}
