#!/usr/bin/python3
"""
test_attestation.py: Trustee's RESTful attestation endpoint (POST
/attestation) and the real hardware vectors end to end:

- sample evidence with raw and structured runtime data; the default Lua
  attestation policy's trust vector without reference values, with them
  (affirming), and after one is revoked;
- every real vector in tests/vectors yields an EAR token whose
  annotated evidence carries the MANIFEST's claim values (verified at the
  real current time: expired DCAP collateral shows in the claims and keeps
  the hardware claim from "genuine");
- through the KBS flow (/auth -> /attest) a real SNP and a real TDX vector
  pass every signature and chain check and are then refused because their
  report data does not match this session's nonce;
- malformed requests are 400 with a precise detail, rejected evidence 401.

The SNP report -> evidence JSON conversion here is an independent Python
implementation of the layout in attestation-service.md §1.3.
"""

import sys

sys.dont_write_bytecode = True

import base64
import json
import os
import struct

import harness as H
from harness import check

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.environ.get("TRUSTEE_TESTVECTORS",
                         os.path.join(H.REPO, "tests", "vectors"))

SAMPLE_RVS = {"svn": ["1"], "launch_digest": ["abcde"], "major_version": 1,
              "minimum_minor_version": 1}


def vec(*parts):
    return os.path.join(VECTORS, *parts)


def read(*parts):
    with open(vec(*parts), "rb") as f:
        return f.read()


def expected(name):
    return json.loads(read(name, "expected.json"))


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def attest(srv, tee, evidence, raw=None, structured=None, init_digest=None,
           policy_ids=(), hash_alg=None):
    req = {"tee": tee, "evidence": b64u(json.dumps(evidence).encode())}
    if raw is not None:
        req["runtime_data"] = {"raw": b64u(raw)}
    elif structured is not None:
        req["runtime_data"] = {"structured": structured}
    if init_digest is not None:
        req["init_data"] = {"init_data_digest": b64u(init_digest)}
    if hash_alg is not None:
        req["runtime_data_hash_algorithm"] = hash_alg
    return srv.request("POST", "/attestation",
                       body={"verification_requests": [req],
                             "policy_ids": list(policy_ids)})


def token_claims(srv, resp):
    """Verify the token in a 200 /attestation answer; return its claims."""
    H.expect_status(resp, 200)
    tok = resp.body.decode()
    keys = H.jjwk.JWKSet.from_json(json.dumps(srv.jwks()))
    t = H.jjwt.JWT(jwt=tok, key=keys, algs=["ES256"])
    return json.loads(t.claims)


def cpu0(claims):
    sub = claims["submods"]["cpu0"]
    return sub, sub["ear.veraison.annotated-evidence"]


def sample_evidence(report_data):
    return {"svn": "1", "report_data": base64.b64encode(report_data).decode()}


def register_sample_rvs(srv, rvs):
    env = {"version": "0.1.0", "type": "sample",
           "payload": base64.b64encode(json.dumps(rvs).encode()).decode()}
    r = srv.request("POST", "/kbs/v0/reference-value", body=json.dumps(env),
                    headers={"Authorization": "Bearer " + H.admin_token(srv)})
    H.expect_status(r, 200)


# ------------------------------------------------------------ sample TEE

def test_sample_structured_runtime_data_contraindicated_without_rvs(ctx):
    srv = ctx.shared
    rd = {"nonce": "abc", "tee-pubkey": {"kty": "EC"}}
    dig = H.digest("sha384", H.jcs(rd))
    c = token_claims(srv, attest(srv, "sample", sample_evidence(dig),
                                 structured=rd))
    sub, ae = cpu0(c)
    check(sub["ear.status"] == "contraindicated", "status %r" % sub["ear.status"])
    tv = sub["ear.trustworthiness-vector"]
    check(tv.get("executables") == 33 and tv.get("hardware") == 97 and
          tv.get("configuration") == 2, "vector %r" % tv)
    check(ae["runtime_data_claims"] == rd, "runtime_data_claims %r" % ae)
    check(sub["ear.appraisal-policy-id"] == "default", "policy id")


def test_sample_raw_runtime_data_compared_unhashed(ctx):
    srv = ctx.shared
    raw = b"exact bytes, not hashed"
    c = token_claims(srv, attest(srv, "sample", sample_evidence(raw), raw=raw))
    _, ae = cpu0(c)
    check(ae.get("runtime_data_claims") is None, "raw gives null claims: %r" % ae)
    r = attest(srv, "sample", sample_evidence(raw), raw=raw + b"x")
    H.expect_problem(r, 401, "AttestationError", "report data")


def test_sample_hash_algorithm_choice(ctx):
    srv = ctx.shared
    rd = {"k": 1}
    dig = H.digest("sha512", H.jcs(rd))
    token_claims(srv, attest(srv, "sample", sample_evidence(dig),
                             structured=rd, hash_alg="SHA512"))
    r = attest(srv, "sample", sample_evidence(dig), structured=rd,
               hash_alg="md5")
    H.expect_problem(r, 400, "BadRequest", "runtime_data_hash_algorithm")


def test_sample_affirming_with_reference_values(ctx):
    srv = ctx.server("rvs")
    register_sample_rvs(srv, SAMPLE_RVS)
    raw = b"\x01" * 48
    c = token_claims(srv, attest(srv, "sample", sample_evidence(raw), raw=raw))
    sub, _ = cpu0(c)
    check(sub["ear.status"] == "affirming", "status %r vector %r"
          % (sub["ear.status"], sub["ear.trustworthiness-vector"]))
    tv = sub["ear.trustworthiness-vector"]
    check(tv.get("executables") == 3 and tv.get("hardware") == 2 and
          tv.get("configuration") == 2, "vector %r" % tv)
    ctx.data["rvs_server"] = srv


def test_sample_revoked_reference_value_is_not_affirming(ctx):
    srv = ctx.data.get("rvs_server") or ctx.server("rvs2")
    register_sample_rvs(srv, SAMPLE_RVS)
    tok = H.admin_token(srv)
    r = srv.request("POST", "/api/v1/reference-values/launch_digest/revoke",
                    body={"reason": "test revocation"},
                    headers={"Authorization": "Bearer " + tok})
    H.expect_status(r, 200)
    raw = b"\x02" * 48
    c = token_claims(srv, attest(srv, "sample", sample_evidence(raw), raw=raw))
    sub, _ = cpu0(c)
    check(sub["ear.status"] != "affirming", "revoked RV still affirming: %r"
          % sub["ear.trustworthiness-vector"])
    check(sub["ear.trustworthiness-vector"].get("executables") == 33,
          "executables %r" % sub["ear.trustworthiness-vector"])


def test_policy_ids_select_the_policy(ctx):
    srv = ctx.shared
    raw = b"\x03" * 16
    r = attest(srv, "sample", sample_evidence(raw), raw=raw,
               policy_ids=["nosuchpolicy"])
    H.expect_problem(r, 401, "AttestationError", "nosuchpolicy")


# -------------------------------------------------------------- bad input

def test_malformed_requests_are_400(ctx):
    srv = ctx.shared
    cases = [
        ({}, "verification_requests"),
        ({"verification_requests": [], "policy_ids": []}, "verification_requests"),
        ({"verification_requests": [{"tee": "sample"}], "policy_ids": []}, "evidence"),
        ({"verification_requests": [{"tee": "nope", "evidence": "e30"}],
          "policy_ids": []}, "unknown TEE"),
        ({"verification_requests": [{"tee": "sample", "evidence": "!!"}],
          "policy_ids": []}, "base64"),
        ({"verification_requests": [{"tee": "sample", "evidence": b64u(b"{")}],
          "policy_ids": []}, "JSON"),
        ({"verification_requests": [{"tee": "sample", "evidence": "e30"}]},
         "policy_ids"),
        ({"verification_requests": [{"tee": "sample", "evidence": "e30",
                                     "runtime_data": {"raw": "e30", "structured": 1}}],
          "policy_ids": []}, "runtime_data"),
    ]
    for body, want in cases:
        r = srv.request("POST", "/attestation", body=body)
        H.expect_problem(r, 400, "BadRequest", want)
    r = srv.request("POST", "/attestation", body=b"not json",
                    headers={"Content-Type": "application/json"})
    H.expect_problem(r, 400, "BadRequest", "JSON")


def test_unsupported_tee_is_named(ctx):
    srv = ctx.shared
    for tee in ("cca", "se", "csv", "hygondcu"):
        r = attest(srv, tee, {"x": 1})
        H.expect_problem(r, 400, "BadRequest", "not supported by this build")


# ------------------------------------------------------------ real vectors

def snp_report_to_evidence(rep):
    """1184-byte SNP report -> the guest's serde JSON (byte arrays)."""
    check(len(rep) == 1184, "report size %d" % len(rep))

    def u32(o):
        return struct.unpack_from("<I", rep, o)[0]

    def u64(o):
        return struct.unpack_from("<Q", rep, o)[0]

    def arr(o, n):
        return list(rep[o:o + n])

    def tcb(o):
        b = rep[o:o + 8]
        return {"fmc": None, "bootloader": b[0], "tee": b[1], "snp": b[6],
                "microcode": b[7]}

    def ver(o):
        return {"build": rep[o], "minor": rep[o + 1], "major": rep[o + 2]}

    v = u32(0)
    r = {"version": v, "guest_svn": u32(4), "policy": u64(8),
         "family_id": arr(0x10, 16), "image_id": arr(0x20, 16),
         "vmpl": u32(0x30), "sig_algo": u32(0x34), "current_tcb": tcb(0x38),
         "plat_info": u64(0x40), "key_info": u32(0x48),
         "report_data": arr(0x50, 64), "measurement": arr(0x90, 48),
         "host_data": arr(0xC0, 32), "id_key_digest": arr(0xE0, 48),
         "author_key_digest": arr(0x110, 48), "report_id": arr(0x140, 32),
         "report_id_ma": arr(0x160, 32), "reported_tcb": tcb(0x180),
         "cpuid_fam_id": rep[0x188] if v >= 3 else None,
         "cpuid_mod_id": rep[0x189] if v >= 3 else None,
         "cpuid_step": rep[0x18A] if v >= 3 else None,
         "chip_id": arr(0x1A0, 64), "committed_tcb": tcb(0x1E0),
         "current": ver(0x1E8), "committed": ver(0x1EC),
         "launch_tcb": tcb(0x1F0),
         "signature": {"r": arr(0x2A0, 72), "s": arr(0x2E8, 72)}}
    return {"attestation_report": r, "cert_chain": None}


def snp_with_vcek(report_name, vcek_name):
    ev = snp_report_to_evidence(read(*report_name))
    ev["cert_chain"] = [{"cert_type": "VCEK", "data": list(read(*vcek_name))}]
    return ev


def test_snp_genoa_guest_evidence_yields_token(ctx):
    srv = ctx.shared
    exp = expected("snp-genoa-vcek-2")["claims"]
    ev = json.loads(read("snp-genoa-vcek-2", "evidence.json"))
    c = token_claims(srv, attest(srv, "snp", ev,
                                 raw=bytes.fromhex(exp["report_data"])))
    sub, ae = cpu0(c)
    check(ae["snp"]["measurement"] == exp["measurement"], "measurement %r" % ae["snp"])
    check(ae["snp"]["chip_id"] == exp["chip_id"], "chip_id")
    check(ae["report_data"] == exp["report_data"], "report_data %r" % ae["report_data"])
    check(ae["snp"]["reported_tcb_snp"] == 23, "reported_tcb_snp %r" % ae["snp"])
    # no reference values: Trustee's default policy cannot recognise it
    check(sub["ear.trustworthiness-vector"].get("executables") == 33, "vector")


def test_snp_milan_raw_report_with_vcek_yields_token(ctx):
    srv = ctx.shared
    exp = expected("snp-milan-vcek")["claims"]
    ev = snp_with_vcek(("snp-milan-vcek", "report.bin"), ("snp-milan-vcek", "vcek.der"))
    c = token_claims(srv, attest(srv, "snp", ev,
                                 raw=bytes.fromhex(exp["report_data"])))
    _, ae = cpu0(c)
    check(ae["snp"]["measurement"] == exp["measurement"], "measurement")
    check(ae["snp"]["policy_debug_allowed"] is True, "debug policy bit")


def test_snp_flipped_measurement_is_rejected(ctx):
    srv = ctx.shared
    ev = snp_with_vcek(("neg-snp-milan-measurement", "report.bin"),
                       ("snp-milan-vcek", "vcek.der"))
    r = attest(srv, "snp", ev)
    H.expect_problem(r, 401, "AttestationError", "signature")


def test_snp_wrong_chain_is_rejected(ctx):
    srv = ctx.shared
    ev = snp_with_vcek(("snp-milan-vcek", "report.bin"), ("snp-genoa-vcek-2", "vcek.der"))
    r = attest(srv, "snp", ev)
    check(r.status == 401, "status %d" % r.status)


def dcap_server(ctx, name):
    return ctx.server("dcap-" + name, args=["--dcap-collateral", vec(name)])


def dcap_report_data(exp):
    return bytes.fromhex(exp["claims"]["body"]["report_data"]) \
        if isinstance(exp["claims"]["body"], dict) else None


def test_tdx_v4_quote_yields_token_with_expired_collateral_flagged(ctx):
    name = "tdx-v4-uptodate"
    srv = dcap_server(ctx, name)
    quote = read(name, "quote.bin")
    c = token_claims(srv, attest(srv, "tdx", {"quote": base64.b64encode(quote).decode()}))
    sub, ae = cpu0(c)
    tdx = ae["tdx"]
    check(tdx["tcb_status"] == "UpToDate", "tcb_status %r" % tdx.get("tcb_status"))
    check(tdx["collateral_expiration_status"] != "0",
          "collateral of 2025 must show as expired today: %r"
          % tdx.get("collateral_expiration_status"))
    check(sub["ear.trustworthiness-vector"].get("hardware") != 2,
          "expired collateral must not be genuine hardware")


def test_tdx_v5_td15_no_matching_tcb_level_is_rejected(ctx):
    name = "tdx-v5-td15-tcb-notsupported"
    srv = dcap_server(ctx, name)
    quote = read(name, "quote.bin")
    r = attest(srv, "tdx", {"quote": base64.b64encode(quote).decode()})
    H.expect_problem(r, 401, "AttestationError", "TCB")


def test_sgx_v3_quote_yields_token(ctx):
    name = "sgx-v3-collateral"
    srv = dcap_server(ctx, name)
    quote = read(name, "quote.bin")
    c = token_claims(srv, attest(srv, "sgx", {"quote": base64.b64encode(quote).decode()}))
    _, ae = cpu0(c)
    check(ae["sgx"]["tcb_status"] == "ConfigurationAndSWHardeningNeeded",
          "tcb_status %r" % ae["sgx"].get("tcb_status"))
    check(sorted(ae["sgx"]["advisory_ids"]) == ["INTEL-SA-00289", "INTEL-SA-00615"],
          "advisory_ids %r" % ae["sgx"].get("advisory_ids"))


def test_tpm_vector_yields_token(ctx):
    srv = ctx.shared
    ev = json.loads(read("tpm-quote-rsa", "evidence.json"))
    c = token_claims(srv, attest(srv, "tpm", ev))
    sub, ae = cpu0(c)
    check("ak_public" in ae["tpm"], "tpm claims %r" % ae)
    check(sub["ear.trustworthiness-vector"].get("hardware") == 2, "tpm hardware")


# ---------------------------------------------------- KBS flow, real TEEs

def kbs_attest_real(srv, tee, evidence):
    g = H.PyGuest(srv)
    g.auth(tee=tee)
    body = g.attest_body()
    body["tee-evidence"]["primary_evidence"] = evidence
    return g.attest(expect_ok=False, raw_body=body)


def test_kbs_flow_real_snp_refused_for_report_data_only(ctx):
    srv = ctx.shared
    ev = json.loads(read("snp-genoa-vcek-2", "evidence.json"))
    r = kbs_attest_real(srv, "snp", ev)
    H.expect_problem(r, 401, "AttestationError", "report data")


def test_kbs_flow_real_tdx_refused_for_report_data_only(ctx):
    name = "tdx-v4-uptodate"
    srv = ctx.server("dcap-kbs", args=["--dcap-collateral", vec(name)])
    quote = read(name, "quote.bin")
    r = kbs_attest_real(srv, "tdx", {"quote": base64.b64encode(quote).decode(),
                                     "cc_eventlog": None})
    H.expect_problem(r, 401, "AttestationError", "report data")


# ------------------------------------- real vectors: affirming with RVs

def test_snp_genoa_affirming_once_reference_values_match(ctx):
    srv = ctx.server("snp-rvs")
    exp = expected("snp-genoa-vcek-2")["claims"]
    ev = json.loads(read("snp-genoa-vcek-2", "evidence.json"))
    raw = bytes.fromhex(exp["report_data"])
    sub, ae = cpu0(token_claims(srv, attest(srv, "snp", ev, raw=raw)))
    check(sub["ear.status"] != "affirming", "affirming without RVs")
    s = ae["snp"]
    register_sample_rvs(srv, {
        "snp_launch_measurement": [exp["measurement"]],
        "snp_bootloader": [10], "snp_microcode": [25], "snp_snp_svn": [23],
        "snp_tee_svn": [0],
        "snp_smt_enabled": s["platform_smt_enabled"],
        "snp_tsme_enabled": s["platform_tsme_enabled"],
        "snp_guest_abi_major": 0, "snp_guest_abi_minor": 0,
        "snp_single_socket": False, "snp_smt_allowed": True})
    sub, _ = cpu0(token_claims(srv, attest(srv, "snp", ev, raw=raw)))
    tv = sub["ear.trustworthiness-vector"]
    check(sub["ear.status"] == "affirming" and tv.get("executables") == 3 and
          tv.get("hardware") == 2 and tv.get("configuration") == 2,
          "status %r vector %r" % (sub["ear.status"], tv))


def test_tpm_affirming_once_ak_and_pcr11_registered(ctx):
    srv = ctx.server("tpm-rvs")
    ev = json.loads(read("tpm-quote-rsa", "evidence.json"))
    sub, ae = cpu0(token_claims(srv, attest(srv, "tpm", ev)))
    check(sub["ear.trustworthiness-vector"].get("executables") == 33,
          "vector %r" % sub["ear.trustworthiness-vector"])
    t = ae["tpm"]
    check("pcr11" in t, "no pcr11 in %r" % sorted(t))
    register_sample_rvs(srv, {"tpm_pcr11": [t["pcr11"]],
                              "trusted_aks": [t["ak_public"]]})
    sub, _ = cpu0(token_claims(srv, attest(srv, "tpm", ev)))
    check(sub["ear.status"] == "affirming", "status %r vector %r"
          % (sub["ear.status"], sub["ear.trustworthiness-vector"]))


def test_tdx_default_policy_affirming_inside_collateral_window(ctx):
    # The 2025 collateral has expired by now, so a live token cannot say
    # "genuine hardware"; the same claims as of the collateral window,
    # appraised by the shipped default_cpu policy (dry run), are affirming
    # once the TD's reference values are registered.
    name = "tdx-v4-uptodate"
    w = expected(name)["collateral_checks"]["collateral_validity_window"]
    import datetime
    a = datetime.datetime.strptime(w["not_before"], "%Y-%m-%dT%H:%M:%SZ")
    b = datetime.datetime.strptime(w["not_after"], "%Y-%m-%dT%H:%M:%SZ")
    mid = (a + (b - a) / 2).strftime("%Y-%m-%dT%H:%M:%SZ")
    p = H.run_cli(["evidence", "verify", "--tee", "tdx", "--evidence",
                   vec(name, "quote.bin"), "--collateral", vec(name), "--at", mid])
    H.cli_ok(p, "evidence verify")
    claims = json.loads(p.stdout)
    inp = {"report_data": claims.pop("report_data"),
           "init_data": claims.pop("init_data"), "runtime_data_claims": None,
           "init_data_claims": None, "tdx": claims}
    body = claims["quote"]["body"]
    srv = ctx.server("tdx-rvs")
    register_sample_rvs(srv, {"mr_td": [body["mr_td"]], "rtmr_1": [body["rtmr_1"]],
                              "rtmr_2": [body["rtmr_2"]], "xfam": [body["xfam"]]})
    r = srv.request("POST", "/api/v1/policies/attestation/default_cpu/test",
                    body={"input": inp},
                    headers={"Authorization": "Bearer " + H.admin_token(srv)})
    H.expect_status(r, 200)
    res = r.json()
    check(res.get("status") == "affirming", "dry run %r" % res)
    check(res["result"].get("hardware") == 2 and res["result"].get("executables") == 4
          and res["result"].get("configuration") == 2, "vector %r" % res["result"])


if __name__ == "__main__":
    H.main(globals(), "attestation")
