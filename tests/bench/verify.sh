#!/bin/sh
# verify.sh: verifier throughput on the real test vectors compared with
# the raw ECDSA verify speed of this machine's OpenSSL.
#
# Usage: sh tests/bench/verify.sh [-n N] [--strict] [--json]
#        [verifybench options]
# Runs tests/bench/verifybench (built by `make`; single-threaded, warm
# cache, fixed time inside each vector's window; rates per CPU second),
# then `openssl speed -seconds 3 ecdsap384 ecdsap256`, and prints for each TEE
# its verifications/s as a share of one ECDSA verify/s:
#   SNP (one P-384 verify per report once the VCEK chain is cached) vs
#   P-384 verify, target >= 70%;
#   TDX (quote signature, plus the QE report, PCK chain and collateral
#   as far as dcap caches them) vs P-256 verify, target >= 50%.
#   NVIDIA (one P-384 report signature once the GPU's chain is cached,
#   plus the hex/SPDM/opaque parsing and the claims) vs P-384 verify,
#   target >= 50%.
# SGX is reported against P-256 like TDX, TPM (RSA-2048) for information.
# With --json the report goes to stderr and one JSON object to stdout:
#   {"openssl_speed": {"p256": verify/s, "p384": verify/s},
#    "verifiers": {"snp": per CPU-second, "tdx": ..., ...},
#    "errors": [messages]}
# (tests/bench/report.py turns it into the `make bench` table).
# Exit status: verifybench's (1 also when a TEE with a target has no
# result: a vector missing or rejected), or 3 with --strict when a target
# is missed.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/tests/bench/verifybench
strict=0
json=0
n=2000
args=
while [ $# -gt 0 ]; do
	case $1 in
	--strict) strict=1 ;;
	--json) json=1 ;;
	-n) n=$2; shift ;;
	*) args="$args $1" ;;
	esac
	shift
done
if [ ! -x "$bench" ]; then
	echo "verify.sh: $bench not built; run make first" >&2
	exit 1
fi
if [ -z "${TRUSTEE_TESTVECTORS:-}" ]; then
	TRUSTEE_TESTVECTORS=$top/tests/vectors
	export TRUSTEE_TESTVECTORS
fi

if [ ! -f "$TRUSTEE_TESTVECTORS/MANIFEST.md" ]; then
	echo "verify.sh: FAILED: no test vectors at $TRUSTEE_TESTVECTORS" \
	    "(MANIFEST.md missing)" >&2
	exit 1
fi

out=$(mktemp /tmp/verifybench.XXXXXX) || exit 1
trap 'rm -f "$out" "$out.ssl"' EXIT INT TERM
errors=
# In --json mode everything below but the JSON goes to stderr.
if [ $json = 1 ]; then
	exec 3>&1 1>&2
fi

# shellcheck disable=SC2086 # args is split on purpose
"$bench" -n "$n" $args | tee "$out"
status=$?
# tee hides verifybench's status; recover it from the output.
grep -q 'FAILED' "$out" && status=1

echo
echo "openssl speed -seconds 3 ecdsap384 ecdsap256 (single-threaded):"
if ! openssl speed -seconds 3 ecdsap384 ecdsap256 >"$out.ssl" 2>/dev/null; then
	echo "verify.sh: openssl speed failed" >&2
	exit 1
fi
grep -E 'nistp(256|384)\)' "$out.ssl"
# Lines: " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  41234.0  13456.7"
# (the last column is verify/s).
p256=$(awk '/\(nistp256\)/ { v = $NF } END { print v }' "$out.ssl")
p384=$(awk '/\(nistp384\)/ { v = $NF } END { print v }' "$out.ssl")
echo "ECDSA verify/s: P-256 $p256, P-384 $p384"
echo

# Best case per TEE from the RESULT lines: the CPU-time rate (per_s), or
# with "wall" the wall-clock rate.
rate() {
	awk -v t="$1" -v m="${2:-cpu}" '$1 == "RESULT" && $2 == "tee=" t {
		split($5, a, "="); split($8, b, "=")
		v = (m == "wall") ? b[2] + 0 : a[2] + 0
		if (v > best) best = v }
		END { print best + 0 }' "$out"
}
missed=0
ratio() {	# tee, rate, reference rate, reference name, target %
	if [ "$(echo "$2" | awk '{ print ($1 > 0) }')" != 1 ]; then
		echo "verify.sh: FAILED: no result for $1 (a vector missing or" \
		    "rejected under $TRUSTEE_TESTVECTORS; see above)" >&2
		case $errors in
		*"no result for $1\""*) ;;
		*) errors="$errors${errors:+,}\"no result for $1\"" ;;
		esac
		status=1
		return
	fi
	echo "$1 $2 $3 $4 $5" | awk '{
		r = 100 * $2 / $3
		verdict = ($5 > 0) ? (r >= $5 ? "meets" : "BELOW") " target " $5 "%" : "for information"
		printf "%-6s %10.1f verifies/s = %5.1f%% of %s verify/s (%s)\n", $1, $2, r, $4, verdict
		exit (($5 > 0 && r < $5) ? 1 : 0) }' || missed=1
}
echo "verifications per CPU second (openssl speed divides by CPU time too):"
ratio snp "$(rate snp)" "$p384" P-384 70
ratio tdx "$(rate tdx)" "$p256" P-256 50
ratio sgx "$(rate sgx)" "$p256" P-256 0
ratio nvidia "$(rate nvidia)" "$p384" P-384 50
echo "verifications per wall-clock second (for information; lower on a busy machine):"
ratio snp "$(rate snp wall)" "$p384" P-384 0
ratio tdx "$(rate tdx wall)" "$p256" P-256 0
ratio sgx "$(rate sgx wall)" "$p256" P-256 0
ratio nvidia "$(rate nvidia wall)" "$p384" P-384 0
tpm=$(rate tpm)
[ "$(echo "$tpm" | awk '{ print ($1 > 0) }')" = 1 ] &&
	echo "tpm    $(printf '%10.1f' "$tpm") verifies/s (RSA-2048 PKCS#1 v1.5; no ECDSA reference)"
echo "(single-threaded: one verification at a time on one core)"

if [ $json = 1 ]; then
	grep -q FAILED "$out" && errors="$errors${errors:+,}\"verifybench reported FAILED\""
	printf '{"openssl_speed":{"p256":%s,"p384":%s},"verifiers":{' \
	    "${p256:-0}" "${p384:-0}" >&3
	sep=
	for t in snp tdx sgx nvidia tpm; do
		printf '%s"%s":%s' "$sep" "$t" "$(rate $t)" >&3
		sep=,
	done
	printf '},"errors":[%s]}\n' "$errors" >&3
fi

[ "$status" -ne 0 ] && exit "$status"
[ "$strict" = 1 ] && [ "$missed" = 1 ] && exit 3
exit 0
