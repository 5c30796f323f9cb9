#!/bin/sh
# Run every libFuzzer target for SECONDS seconds on a scratch copy of its
# seed corpus (tests/fuzz/corpus/<name>, for fuzz_<name>); stop at the
# first crash. Usage: smoke.sh SECONDS BINARY...
set -u
secs=$1
shift
rc=0
for bin in "$@"; do
	name=$(basename "$bin")
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=tests/fuzz/work/${name#fuzz_}
	rm -rf "$work"
	mkdir -p "$work"
	[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
	if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 \
	    -artifact_prefix=tests/fuzz/work/ "$work" \
	    >"tests/fuzz/work/$name.log" 2>&1; then
		runs=$(grep -o 'Done [0-9]* runs' "tests/fuzz/work/$name.log" | tail -1)
		echo "fuzz $name ok ($runs in ${secs}s)"
	else
		echo "fuzz $name FAILED:"
		tail -30 "tests/fuzz/work/$name.log"
		rc=1
	fi
done
exit $rc
