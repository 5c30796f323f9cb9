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

cd "$(dirname "$0")/.." || exit 1

PY=${PYTHON:-/usr/bin/python3}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-600}
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE

pass=0
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/trustee-run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# ------------------------------------------------------------- unit tests
# Each cmocka group reports "[  PASSED  ] N test(s)." and, when some
# failed, "[  FAILED  ] M test(s), listed below:"; every case of every
# group counts. A
# binary that exits non-zero without a failure count (a crash, an abort
# in setup) counts as one failure more.
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
	echo "== $s"
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
		for s in $suites; do
			run_suite "$s"
		done
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
