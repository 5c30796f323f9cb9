#!/bin/sh
# The whole test suite, as CI runs it: a normal build with unit and
# integration tests, the same suite built with ASan+UBSan, then every
# libFuzzer target for a short time (FUZZ_SECONDS each, 10 by default:
# 38 targets keep the whole run, package test included, within CI's
# budget on 2 cores; `make fuzz-smoke` alone runs 20 s each), then the
# package test. Prints "N passed, M failed" last and exits non-zero on any
# failure.
set -u
cd "$(dirname "$0")/.." || exit 1
mkdir -p tests/out
total_pass=0
total_fail=0

# run_suite NAME CONFIGURE-ARGS...: build and `make check`, add its totals.
run_suite() {
	name=$1
	shift
	echo "=== $name: ./configure $*"
	log=tests/out/$name.log
	if ./configure "$@" >/dev/null && make clean >/dev/null &&
	    make -j"$(nproc)" all unit >tests/out/$name.build.log 2>&1; then
		make check 2>&1 | tee "$log"
	else
		echo "build failed (tests/out/$name.build.log):"
		tail -40 tests/out/$name.build.log
		total_fail=$((total_fail + 1))
		return
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "$name: no summary line"
		total_fail=$((total_fail + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

run_suite normal
# The sanitizer build runs the integration suites on SQLite only: the
# MariaDB pass of the normal build covers the other backend, and
# test_ha.py (in every pass) runs the shared-store code under ASan.
STORES=sqlite
export STORES
run_suite sanitizers --enable-sanitizers
unset STORES

echo "=== fuzz-smoke"
if ./configure >/dev/null && make fuzz-smoke FUZZ_SECONDS="${FUZZ_SECONDS:-10}" \
    >tests/out/fuzz.log 2>&1; then
	grep -E '^fuzz' tests/out/fuzz.log
	n=$(grep -c '^fuzz .* ok' tests/out/fuzz.log)
	total_pass=$((total_pass + n))
else
	tail -60 tests/out/fuzz.log
	total_fail=$((total_fail + 1))
fi
# The Debian package: build, lint, install, upgrade, purge (as root).
echo "=== package"
sh tests/package/run.sh 2>&1 | tee tests/out/package.log
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' tests/out/package.log | tail -1)
if [ -n "$line" ]; then
	total_pass=$((total_pass + ${line%% passed*}))
	f=${line#*passed, }
	total_fail=$((total_fail + ${f%% failed*}))
else
	total_fail=$((total_fail + 1))
fi

# Leave a normal build behind (objects do not depend on configure
# options, so the sanitizer objects must go first).
make clean >/dev/null 2>&1
make -j"$(nproc)" all >/dev/null 2>&1

echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
