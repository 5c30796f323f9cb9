#!/usr/bin/python3
"""
test_evidence_cli.py: `trusteectl evidence verify` (the verifiers run
locally, no server) on every real vector of tests/vectors
($TRUSTEE_TESTVECTORS overrides), at a time inside each vector's validity
window (from its expected.json) and at the real current time, plus the
negative vectors and the usage errors.

Exit codes checked: 0 verified (claims JSON on stdout), 1 rejected (the
reason on stderr), 2 usage.
"""

import base64
import datetime
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

check = H.check

VEC = os.environ.get("TRUSTEE_TESTVECTORS") or os.path.join(H.REPO, "tests", "vectors")

UNSUPPORTED = ["cca", "se", "csv", "hygondcu", "nvidia-dpu"]


# ------------------------------------------------------------------ helpers

def vec(*parts):
    p = os.path.join(VEC, *parts)
    check(os.path.exists(p), "test vector missing: %s (set TRUSTEE_TESTVECTORS)" % p)
    return p


def expected(name):
    with open(vec(name, "expected.json")) as f:
        return json.load(f)


def parse_time(s):
    s = s.replace(" ", "T").replace("+00:00", "Z")
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def midpoint(a, b):
    ta, tb = parse_time(a), parse_time(b)
    return rfc3339(ta + (tb - ta) / 2)


def collateral_mid(name):
    """A time in the middle of a DCAP vector's collateral validity window."""
    w = expected(name)["collateral_checks"]["collateral_validity_window"]
    return midpoint(w["not_before"], w["not_after"])


def verify(*args):
    """Run `trusteectl evidence verify ARGS`; return (rc, claims|None, stderr)."""
    p = H.run_cli(["evidence", "verify"] + [str(a) for a in args])
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    claims = None
    if p.returncode == 0:
        try:
            claims = json.loads(out)
        except ValueError:
            raise H.TestFailure("exit 0 but stdout is not JSON: %r" % out[:300])
        check(isinstance(claims, dict), "claims are not an object: %r" % out[:200])
    return p.returncode, claims, err


def verify_ok(*args):
    rc, claims, err = verify(*args)
    check(rc == 0, "expected exit 0 for %s, got %d: %s" % (list(args), rc, err.strip()[-600:]))
    return claims


def verify_fail(pattern, *args, rc_want=1):
    rc, _, err = verify(*args)
    check(rc == rc_want, "expected exit %d for %s, got %d (stderr %r)"
          % (rc_want, list(args), rc, err.strip()[-400:]))
    check(re.search(pattern, err, re.I) is not None,
          "stderr does not match /%s/: %r" % (pattern, err.strip()[-600:]))
    return err


def find(obj, key):
    """The value of the first member named key anywhere in obj (depth
    first), so the checks do not depend on how a verifier nests claims."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find(v, key)
            if r is not None:
                return r
    return None


def claim_eq(claims, key, want, alt=()):
    keys = (key,) + tuple(alt)
    got = None
    for k in keys:
        got = find(claims, k)
        if got is not None:
            break
    check(got is not None, "claim %s missing in %s" % ("/".join(keys),
                                                     json.dumps(claims)[:400]))
    if isinstance(want, str) and isinstance(got, str):
        check(got.lower() == want.lower(), "claim %s: got %r, want %r" % (key, got, want))
    else:
        check(got == want, "claim %s: got %r, want %r" % (key, got, want))


def tmpfile(ctx, name, data):
    p = os.path.join(ctx.tmp, name)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(p, mode) as f:
        f.write(data)
    return p


# ------------------------------------------------------------------ usage

def test_usage_errors(ctx):
    sample = tmpfile(ctx, "sample.json", json.dumps({"svn": "1"}))
    verify_fail(r"missing --evidence", rc_want=2)
    verify_fail(r"unknown option '--bogus'", "--bogus", rc_want=2)
    verify_fail(r"needs an argument", "--evidence", rc_want=2)
    verify_fail(r"--at", "--tee", "sample", "--evidence", sample, "--at",
                "yesterday", rc_want=2)
    verify_fail(r"--report-data", "--tee", "sample", "--evidence", sample,
                "--report-data", "xyz", rc_want=2)
    verify_fail(r"--init-data-hash", "--tee", "sample", "--evidence", sample,
                "--init-data-hash", "abc", rc_want=2)
    verify_fail(r"unknown TEE 'bogus'", "--tee", "bogus", "--evidence", sample,
                rc_want=2)
    verify_fail(r"missing --tee", "--evidence", sample, rc_want=2)
    verify_fail(r"unexpected argument", "--tee", "sample", "--evidence", sample,
                "extra", rc_want=2)
    p = H.run_cli(["evidence", "verify", "--help"])
    check(p.returncode == 0 and b"--evidence FILE" in p.stdout,
          "--help: exit %d %r" % (p.returncode, p.stdout[:200]))
    p = H.run_cli(["evidence"])
    check(p.returncode == 2, "`evidence` without subcommand: exit %d" % p.returncode)


def test_unreadable_input(ctx):
    verify_fail(r"No such file", "--tee", "sample", "--evidence",
                os.path.join(ctx.tmp, "does-not-exist"))
    junk = tmpfile(ctx, "junk.bin", b"\x01\x02garbage that is neither")
    verify_fail(r"neither JSON evidence nor a raw", "--evidence", junk)
    verify_fail(r"cannot tell the TEE", "--raw", "--evidence", junk, rc_want=2)
    sample = tmpfile(ctx, "sample2.json", json.dumps({"svn": "1"}))
    verify_fail(r"no raw evidence form", "--raw", "--tee", "sample",
                "--evidence", sample)


def test_unsupported_tees(ctx):
    ev = tmpfile(ctx, "any.json", "{}")
    for tee in UNSUPPORTED:
        verify_fail(r"TEE '%s' is not supported by this build" % re.escape(tee),
                    "--tee", tee, "--evidence", ev)


def test_sample_and_guest_wrapping(ctx):
    rd = bytes(range(48))
    ev = {"svn": "7", "report_data": base64.b64encode(rd).decode()}
    plain = tmpfile(ctx, "s.json", json.dumps(ev))
    c = verify_ok("--tee", "sample", "--evidence", plain, "--report-data", rd.hex())
    claim_eq(c, "svn", "7")
    verify_fail(r"report data", "--tee", "sample", "--evidence", plain,
                "--report-data", "00" * 48)
    # The /attest body a guest sends (primary_evidence as an object or a
    # JSON string) is unwrapped.
    body = {"runtime-data": {"nonce": "x", "tee-pubkey": {}},
            "tee-evidence": {"primary_evidence": json.dumps(ev),
                             "additional_evidence": ""}}
    wrapped = tmpfile(ctx, "w.json", json.dumps(body))
    c = verify_ok("--tee", "sample", "--evidence", wrapped, "--report-data", rd.hex())
    claim_eq(c, "svn", "7")
    body["tee-evidence"]["primary_evidence"] = ev
    wrapped = tmpfile(ctx, "w2.json", json.dumps(body))
    verify_ok("--tee", "sample", "--evidence", wrapped)


# ------------------------------------------------------------------ SNP

def _snp_claims(c, name):
    e = expected(name)["claims"]
    claim_eq(c, "measurement", e["measurement"])
    claim_eq(c, "report_data", e["report_data"])
    tcb = e["reported_tcb_decoded"]
    claim_eq(c, "reported_tcb_bootloader", tcb["bootloader"])
    claim_eq(c, "reported_tcb_snp", tcb["snp"])
    claim_eq(c, "reported_tcb_microcode", tcb["microcode"])
    claim_eq(c, "chip_id", e["chip_id"])


def test_snp_milan_raw_vcek(ctx):
    name = "snp-milan-vcek"
    v = expected(name)["checks"]["leaf_validity"]
    at = midpoint(v[0], v[1])
    report, vcek = vec(name, "report.bin"), vec(name, "vcek.der")
    c = verify_ok("--tee", "snp", "--evidence", report, "--vcek", vcek, "--at", at)
    _snp_claims(c, name)
    # --tee is optional for raw input: detected as an SNP report.
    c = verify_ok("--evidence", report, "--vcek", vcek, "--at", at)
    _snp_claims(c, name)
    # The report data binding (zero-padded to 64).
    verify_ok("--evidence", report, "--vcek", vcek, "--report-data", "0102030405")
    verify_fail(r"report data", "--evidence", report, "--vcek", vcek,
                "--report-data", "0102030406")
    # HOST_DATA is all zero: the init-data hash must be zero too.
    verify_ok("--evidence", report, "--vcek", vcek, "--init-data-hash", "00" * 32)
    verify_fail(r"init.data|host.data", "--evidence", report, "--vcek", vcek,
                "--init-data-hash", "11" * 32)
    # Valid now too: the VCEK runs until 2029 (no collateral to expire).
    verify_ok("--evidence", report, "--vcek", vcek)
    # Outside the VCEK's validity (2022-09-24 .. 2029-09-24).
    verify_fail(r"expired", "--evidence", report, "--vcek", vcek,
                "--at", "2031-01-01T00:00:00Z")
    verify_fail(r"not yet valid", "--evidence", report, "--vcek", vcek,
                "--at", "2020-01-01T00:00:00Z")
    # Forced raw with the wrong TEE: the SNP bytes are no quote.
    verify_fail(r"looks like raw snp", "--tee", "tdx", "--evidence", report)


def test_snp_genoa_evidence_json(ctx):
    name = "snp-genoa-vcek-2"
    c = verify_ok("--tee", "snp", "--evidence", vec(name, "evidence.json"))
    _snp_claims(c, name)


def test_snp_genoa_raw(ctx):
    name = "snp-genoa-vcek-2"
    c = verify_ok("--evidence", vec(name, "report.bin"), "--vcek",
                  vec(name, "vcek.der"))
    _snp_claims(c, name)
    # The Milan VCEK does not sign a Genoa report.
    verify_fail(r".", "--evidence", vec(name, "report.bin"), "--vcek",
                vec("snp-milan-vcek", "vcek.der"))


def test_neg_snp_measurement(ctx):
    verify_fail(r"signature", "--evidence", vec("neg-snp-milan-measurement", "report.bin"),
                "--vcek", vec("snp-milan-vcek", "vcek.der"))


# ------------------------------------------------------------------ TDX / SGX

def _tdx_claims(c, name):
    e = expected(name)["claims"]["body"]
    for k in ("mr_td", "xfam", "mr_seam", "mr_config_id"):
        claim_eq(c, k, e[k])
    # Trustee's names: rtmr_0.., mrsigner_seam, tcb_svn.
    for i in range(4):
        claim_eq(c, "rtmr_%d" % i, e["rtmr%d" % i], alt=("rtmr%d" % i,))
    claim_eq(c, "mrsigner_seam", e["mr_signer_seam"], alt=("mr_signer_seam",))
    claim_eq(c, "tcb_svn", e["tee_tcb_svn"], alt=("tee_tcb_svn",))
    claim_eq(c, "report_data", e["report_data"])
    claim_eq(c, "tcb_status", expected(name)["expected_tcb_status"])


def test_tdx_v4_uptodate(ctx):
    name = "tdx-v4-uptodate"
    at = collateral_mid(name)
    quote = vec(name, "quote.bin")
    c = verify_ok("--tee", "tdx", "--evidence", quote, "--collateral", vec(name),
                  "--at", at)
    _tdx_claims(c, name)
    # Detected as a TD quote without --tee.
    c = verify_ok("--evidence", quote, "--collateral", vec(name), "--at", at)
    _tdx_claims(c, name)
    # The evidence JSON a guest sends.
    with open(quote, "rb") as f:
        q = f.read()
    ev = tmpfile(ctx, "tdx.json", json.dumps(
        {"quote": base64.b64encode(q).decode(), "cc_eventlog": None}))
    c = verify_ok("--tee", "tdx", "--evidence", ev, "--collateral", vec(name), "--at", at)
    _tdx_claims(c, name)
    rd = expected(name)["claims"]["body"]["report_data"]
    verify_ok("--evidence", quote, "--collateral", vec(name), "--at", at,
              "--report-data", rd)
    verify_fail(r"report data", "--evidence", quote, "--collateral", vec(name),
                "--at", at, "--report-data", "00" * 64)


def verify_ok_noted(pattern, *args):
    """Verified (exit 0) with a note on stderr matching pattern."""
    rc, claims, err = verify(*args)
    check(rc == 0, "expected exit 0 for %s, got %d: %s" % (list(args), rc, err.strip()[-600:]))
    check(re.search(pattern, err, re.I) is not None,
          "stderr does not match /%s/: %r" % (pattern, err.strip()[-600:]))
    return claims


def test_tdx_v4_expired_now(ctx):
    # At the real time the 2025 collateral is past nextUpdate: every
    # signature still verifies and the expiry is reported (as Trustee).
    name = "tdx-v4-uptodate"
    c = verify_ok_noted(r"collateral expired: TCB info \(TDX, FMSPC b0c06f000000\) nextUpdate 2025-07-19",
                        "--evidence", vec(name, "quote.bin"), "--collateral", vec(name))
    claim_eq(c, "collateral_expiration_status", "1")


def test_tdx_v4_no_collateral(ctx):
    verify_fail(r"collateral", "--evidence", vec("tdx-v4-uptodate", "quote.bin"),
                "--at", collateral_mid("tdx-v4-uptodate"))


def test_tdx_v5_tcb_not_supported(ctx):
    name = "tdx-v5-td15-tcb-notsupported"
    verify_fail(r"NotSupported|not supported|no matching TCB",
                "--evidence", vec(name, "quote.bin"), "--collateral", vec(name),
                "--at", collateral_mid(name))
    verify_fail(r"NotSupported|not supported|no matching TCB",
                "--evidence", vec(name, "quote.bin"), "--collateral", vec(name))


def test_sgx_v3(ctx):
    name = "sgx-v3-collateral"
    at = collateral_mid(name)
    c = verify_ok("--tee", "sgx", "--evidence", vec(name, "quote.bin"),
                  "--collateral", vec(name), "--at", at)
    e = expected(name)["claims"]["body"]
    claim_eq(c, "mr_enclave", e["mrenclave"], alt=("mrenclave",))
    claim_eq(c, "mr_signer", e["mrsigner"], alt=("mrsigner",))
    claim_eq(c, "tcb_status", "ConfigurationAndSWHardeningNeeded")
    c = verify_ok("--evidence", vec(name, "quote.bin"), "--collateral", vec(name),
                  "--at", at)
    claim_eq(c, "tcb_status", "ConfigurationAndSWHardeningNeeded")
    c = verify_ok_noted(r"collateral expired", "--evidence", vec(name, "quote.bin"),
                        "--collateral", vec(name))
    claim_eq(c, "collateral_expiration_status", "1")


def test_neg_tdx_mrtd(ctx):
    verify_fail(r"signature", "--evidence", vec("neg-tdx-v4-mrtd", "quote.bin"),
                "--collateral", vec("tdx-v4-uptodate"),
                "--at", collateral_mid("tdx-v4-uptodate"))


def test_neg_tdx_tcbinfo_tamper(ctx):
    base = vec("tdx-v4-uptodate")
    d = os.path.join(ctx.tmp, "tcbinfo-tamper")
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(base):
        if f not in ("quote.bin", "expected.json", "collateral-source.json"):
            shutil.copy(os.path.join(base, f), d)
    shutil.copy(vec("neg-tdx-tcbinfo-tamper", "tcb_info.json"), d)
    verify_fail(r"tcb.?info.*signature|signature.*tcb.?info",
                "--evidence", os.path.join(base, "quote.bin"), "--collateral", d,
                "--at", collateral_mid("tdx-v4-uptodate"))


# ------------------------------------------------------------------ TPM

def test_tpm_quote_rsa(ctx):
    name = "tpm-quote-rsa"
    ev = vec(name, "evidence.json")
    c = verify_ok("--tee", "tpm", "--evidence", ev)
    with open(vec(name, "pcrs_sha256.txt")) as f:
        pcrs = [l.strip() for l in f if l.strip()]
    check(len(pcrs) == 24, "pcrs file has %d lines" % len(pcrs))
    for i in (0, 7, 8, 23):
        claim_eq(c, "pcr%02d" % i, pcrs[i])
    extra = expected(name)["attest"]["extra_data"]
    verify_fail(r"report data", "--tee", "tpm", "--evidence", ev,
                "--report-data", "ff" * 32)
    # The nonce this quote carries binds (compared resized to 32 bytes, or
    # exactly).
    verify_ok("--tee", "tpm", "--evidence", ev, "--report-data", extra)
    # A flipped PCR breaks the digest.
    with open(ev) as f:
        j = json.load(f)
    p0 = j["tpm_quote"]["pcrs"][0]
    j["tpm_quote"]["pcrs"][0] = ("1" if p0[0] != "1" else "2") + p0[1:]
    bad = tmpfile(ctx, "tpm-badpcr.json", json.dumps(j))
    verify_fail(r"pcr", "--tee", "tpm", "--evidence", bad)


# ------------------------------------------------------------------ Azure

AZ = "tdx-v4-azure-nocollateral"
AZ_NONCE = b"challenge".hex()


def test_az_tdx_vtpm_requires_report_data(ctx):
    verify_fail(r"report data", "--tee", "az-tdx-vtpm", "--evidence",
                vec(AZ, "evidence.json"))


def test_az_tdx_vtpm_no_collateral(ctx):
    """Real Azure evidence: the vTPM quote and the HCL report check out,
    but the TD quote's FMSPC has no collateral here, so the verification
    stops at DCAP (as the vector's expected.json says)."""
    err = verify_fail(r"collateral", "--tee", "az-tdx-vtpm", "--evidence",
                      vec(AZ, "evidence.json"), "--report-data", AZ_NONCE,
                      "--at", "2025-07-01T00:00:00Z")
    check("TD quote" in err, "not rejected at the TD quote: %r" % err)
    # Collateral for another FMSPC does not help.
    verify_fail(r"fmspc|collateral", "--tee", "az-tdx-vtpm", "--evidence",
                vec(AZ, "evidence.json"), "--report-data", AZ_NONCE,
                "--collateral", vec("tdx-v4-uptodate"),
                "--at", collateral_mid("tdx-v4-uptodate"))


def test_az_tdx_vtpm_tampered(ctx):
    with open(vec(AZ, "evidence.json")) as f:
        ev = json.load(f)
    # A PCR that is not what the vTPM quoted.
    j = json.loads(json.dumps(ev))
    j["tpm_quote"]["pcrs"][8][0] ^= 1
    p = tmpfile(ctx, "az-pcr.json", json.dumps(j))
    verify_fail(r"pcr", "--tee", "az-tdx-vtpm", "--evidence", p,
                "--report-data", AZ_NONCE)
    # A quote message changed after signing.
    j = json.loads(json.dumps(ev))
    j["tpm_quote"]["message"][-40] ^= 1
    p = tmpfile(ctx, "az-msg.json", json.dumps(j))
    verify_fail(r"vTPM quote.*signature|signature", "--tee", "az-tdx-vtpm",
                "--evidence", p, "--report-data", AZ_NONCE)
    # The HCL report of an SNP VM is refused for TDX.
    j = json.loads(json.dumps(ev))
    j["hcl_report"][0x4C8] = 2
    p = tmpfile(ctx, "az-type.json", json.dumps(j))
    verify_fail(r"report type", "--tee", "az-tdx-vtpm", "--evidence", p,
                "--report-data", AZ_NONCE)
    # v0 SNP names on TDX evidence, and the reverse.
    verify_fail(r"quote", "--tee", "az-snp-vtpm", "--evidence", vec(AZ, "evidence.json"),
                "--report-data", AZ_NONCE)


if __name__ == "__main__":
    H.main(globals(), "evidence_cli")
