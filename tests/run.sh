#!/bin/sh
# tests/run.sh: the test runner behind `make check` (run from anywhere; it
# works from the repository root). Runs every built tests/unit/test_*
# binary (cmocka; every test case counts), then every
# Python integration suite tests/integration/test_*.py (one pass or fail
# per test function, from the suite's closing "N passed, M failed" line).
# The last line is the grand total "N passed, M failed"; the exit status is
# non-zero if anything failed.
#
# Environment: PYTHON (default /usr/bin/python3, Debian's, which has
# python3-jwcrypto), SUITES (space-separated suite files to run instead of
# all), SKIP_UNIT=1 / SKIP_INTEGRATION=1, SUITE_TIMEOUT (seconds, 600),
# CI=true (a suite whose prerequisite is missing fails instead of saying
# SKIPPED; see harness.require).
#
# Store backends: the suites run first on SQLite (the default store), then
# again on MariaDB (TRUSTEE_TEST_STORE=mariadb: one private mariadbd for
# the whole pass, a database per trusteed; harness.py), all but the
# suites that start MariaDB servers of their own (MARIADB_NATIVE: they
# ran in the first pass). STORES="sqlite mariadb" (the default) selects
# the passes; MARIADB_SUITES the suites of the second one ("all", the
# default, or a list). With SUITES set, the MariaDB pass runs those of
# SUITES that are in MARIADB_SUITES.
# Without mariadb-server the MariaDB pass says SKIPPED (a failure under
# CI=true).

cd "$(dirname "$0")/.." || exit 1

PY=${PYTHON:-/usr/bin/python3}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-600}
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

STORES=${STORES:-sqlite mariadb}
MARIADB_SUITES=${MARIADB_SUITES:-all}
# Suites that run their own MariaDB servers whatever the pass: once is
# enough.
MARIADB_NATIVE="tests/integration/test_ha.py
tests/integration/test_mariadb_backend.py"

pass=0
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/trustee-run.XXXXXX") || exit 1
mdb_dir=
# The MariaDB pass's server is stopped by its directory (mariadb.py ctl).
cleanup() {
	if [ -n "$mdb_dir" ]; then
		"$PY" tests/integration/mariadb.py ctl "$mdb_dir/mariadb" stop \
		    >/dev/null 2>&1
		rm -rf "$mdb_dir"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------- unit tests
# Each cmocka group reports "[  PASSED  ] N test(s)." and, when some
# failed, "[  FAILED  ] M test(s), listed below:"; every case of every
# group counts. A
# binary that exits non-zero without a failure count (a crash, an abort
# in setup) counts as one failure more, and so does each failed group
# setup or teardown.
if [ "${SKIP_UNIT:-0}" != 1 ]; then
	for t in tests/unit/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		case $t in *.c|*.o|*.h|*.d) continue ;; esac
		echo "== $t"
		out="$tmp/$(basename "$t").out"
		"$t" >"$out" 2>&1
		rc=$?
		cat "$out"
		# Several groups in one binary: sum their summaries.
		p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' "$out" |
		    awk '{ n += $1 } END { print n + 0 }')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$out" |
		    awk '{ n += $1 } END { print n + 0 }')
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			echo "FAIL $t: exit status $rc without a cmocka failure count"
		fi
		# A group's setup or teardown failing is not in the counts
		# (and cmocka still exits 0 for a teardown).
		g=$(grep -c '^\[  FAILED  \] GROUP ' "$out")
		if [ "$g" -ne 0 ]; then
			f=$((f + g))
			echo "FAIL $t: a group setup or teardown failed"
		fi
		pass=$((pass + p))
		fail=$((fail + f))
		echo "$t: $p passed, $f failed"
	done
fi

# ------------------------------------------------------- integration tests
run_suite() {
	s=$1
	out="$tmp/$(basename "$s").out"
	t0=$(date +%s)
	echo "== $s${TRUSTEE_TEST_STORE:+ (store: $TRUSTEE_TEST_STORE)}"
	if command -v timeout >/dev/null 2>&1; then
		timeout -k 10 "$SUITE_TIMEOUT" "$PY" -u "$s" 2>&1 | tee "$out"
	else
		"$PY" -u "$s" 2>&1 | tee "$out"
	fi
	echo "# $s took $(($(date +%s) - t0)) s"
	last=$(tail -n 1 "$out")
	case $last in
	*" passed, "*" failed")
		p=${last%% passed*}
		f=${last#*passed, }
		f=${f%% failed}
		case "$p$f" in
		*[!0-9]*|"")
			fail=$((fail + 1))
			echo "FAIL $s: unreadable summary '$last'"
			return ;;
		esac
		pass=$((pass + p))
		fail=$((fail + f)) ;;
	*)
		fail=$((fail + 1))
		echo "FAIL $s: suite crashed or timed out (no summary line)" ;;
	esac
}

# The suites of $1 that are in MARIADB_SUITES, on one private mariadbd.
mariadb_pass() {
	sel=
	for s in $1; do
		case " $(echo $MARIADB_NATIVE) " in *" $s "*) continue ;; esac
		for m in $MARIADB_SUITES; do
			if [ "$s" = "$m" ] || [ "$m" = all ]; then
				sel="$sel $s"
				break
			fi
		done
	done
	[ -n "$sel" ] || return 0
	echo "== MariaDB pass (TRUSTEE_TEST_STORE=mariadb):$sel"
	if ! miss=$("$PY" tests/integration/mariadb.py missing); then
		if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
			echo "FAIL MariaDB pass: missing under CI: $miss"
			fail=$((fail + 1))
		else
			echo "# MariaDB pass: SKIPPED: $miss"
		fi
		return 0
	fi
	mdb_dir=$(mktemp -d "${TMPDIR:-/tmp}/trustee-run-mariadb.XXXXXX") ||
	    return 1
	if ! "$PY" tests/integration/mariadb.py up "$mdb_dir" >"$tmp/mdb.out" \
	    2>&1; then
		cat "$tmp/mdb.out"
		echo "FAIL MariaDB pass: cannot start a private mariadbd"
		fail=$((fail + 1))
		return 0
	fi
	TRUSTEE_TEST_STORE=mariadb
	TRUSTEE_TEST_MARIADB_DIR=$mdb_dir/mariadb
	export TRUSTEE_TEST_STORE TRUSTEE_TEST_MARIADB_DIR
	for s in $sel; do
		run_suite "$s"
	done
	unset TRUSTEE_TEST_STORE TRUSTEE_TEST_MARIADB_DIR
	"$PY" tests/integration/mariadb.py ctl "$mdb_dir/mariadb" stop \
	    >/dev/null 2>&1
	rm -rf "$mdb_dir"
	mdb_dir=
}

if [ "${SKIP_INTEGRATION:-0}" != 1 ]; then
	if ! "$PY" -c 'import jwcrypto.jwe, jwcrypto.jwt' >/dev/null 2>&1; then
		echo "FAIL integration: $PY cannot import jwcrypto." >&2
		echo "      Install the Debian package: apt-get install python3-jwcrypto" >&2
		echo "FAIL integration: missing python3-jwcrypto (apt-get install python3-jwcrypto)"
		fail=$((fail + 1))
	elif [ ! -x server/trusteed ] && [ -z "${TRUSTEED:-}" ]; then
		echo "FAIL integration: server/trusteed is not built (run make)"
		fail=$((fail + 1))
	else
		suites=${SUITES:-$(ls tests/integration/test_*.py 2>/dev/null)}
		case " $STORES " in *" sqlite "*)
			for s in $suites; do
				run_suite "$s"
			done ;;
		esac
		case " $STORES " in *" mariadb "*)
			mariadb_pass "$suites" ;;
		esac
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
