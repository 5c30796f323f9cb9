#!/usr/bin/python3
"""
test_devices.py: devices beside the CPU (docs/devices.md) against
trusteed --dev: /kbs/v0/attest with additional_evidence, POST
/attestation and trusteectl evidence verify for the device TEEs.

- A guest sends a sampledevice entry in additional_evidence (a JSON
  string, as guest-components does): the token has cpu0 and gpu0, each
  with its trust vector; the default GPU policy decides gpu0 from the
  reference value device_svn (contraindicated without it, hardware 2
  with it).
- Refusals, each with a precise problem detail: the device bound like the
  primary (with additional-evidence), the device bound to another
  session's nonce, additional_evidence sent as an object, not JSON, or
  naming an unknown TEE; the primary not binding the string as sent.
- The real H100 evidence (tests/vectors/nvidia-hopper-coco) through
  /attest passes every signature and chain check and is refused for its
  binding only; through /attestation with its own report data it
  verifies into gpu0 with the GPU's claims.
- A device this build cannot verify is a contraindicated submod, not a
  refusal; a resource policy can then refuse it.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H                                       # noqa: E402
from harness import check                                 # noqa: E402

API = "/api/v1"
RES = "devices/test/secret"
SECRET = b"device-test-secret"
VEC = os.environ.get("TRUSTEE_TESTVECTORS") or os.path.join(H.REPO, "tests", "vectors")
H100 = os.path.join(VEC, "nvidia-hopper-coco")


def setup(ctx, srv):
    H.expect_status(H.admin_put(srv, RES, SECRET), 200)


def submods(token):
    return H.jwt_parts(token)[1]["submods"]


def device_hash(g, nonce=None, alg=None):
    """The device's runtime data: {"nonce", "tee-pubkey"}, no
    additional-evidence (kbs-server.md §2.4)."""
    obj = {"nonce": g.nonce if nonce is None else nonce,
           "tee-pubkey": g.tee_pubkey()}
    return H.digest(alg or g.hash_alg, H.jcs(obj))


def sampledevice(report_data, svn="2"):
    return {"svn": svn, "report_data": H.b64std(report_data)}


def attest_with(g, devices, expect_ok=True, additional=None, **kw):
    """/attest with these devices; additional overrides the string."""
    if additional is None:
        additional = json.dumps(devices) if devices else ""
    return g.attest(expect_ok=expect_ok, additional=additional, **kw)


def put_rv(srv, name, value):
    r = srv.request("PUT", API + "/reference-values/" + name,
                    body={"value": value},
                    headers={"Authorization": "Bearer " + H.admin_token(srv)})
    check(r.status in (200, 201), "rv %s: %d %r" % (name, r.status, r.body))


def h100_evidence():
    with open(os.path.join(H100, "evidence.json")) as f:
        return json.load(f)


def h100_report_data():
    with open(os.path.join(H100, "expected.json")) as f:
        return bytes.fromhex(json.load(f)["expected_report_data"])


def refused(g, want, **kw):
    r = attest_with(g, expect_ok=False, **kw)
    H.expect_problem(r, 401, "AttestationError", want)
    return r


# ---------------------------------------------------------------- tests

def test_sampledevice_gpu0_decided_by_reference_value(ctx):
    srv = ctx.shared
    g = H.PyGuest(srv)
    g.auth()
    devs = {"sampledevice": sampledevice(device_hash(g))}
    attest_with(g, devs)
    sm = submods(g.token)
    check(sorted(sm) == ["cpu0", "gpu0"], "submods %r" % sorted(sm))
    cpu, gpu = sm["cpu0"], sm["gpu0"]
    for name, app in sm.items():
        check(isinstance(app.get("ear.trustworthiness-vector"), dict),
              "%s has no trust vector: %r" % (name, app))
    # the primary binds the additional_evidence string as sent
    rdc = cpu["ear.veraison.annotated-evidence"]["runtime_data_claims"]
    check(rdc["additional-evidence"] == json.dumps(devs), "cpu0 rdc %r" % rdc)
    ae = gpu["ear.veraison.annotated-evidence"]
    check(ae["sampledevice"] == {"svn": "2"}, "gpu0 claims %r" % ae)
    check(sorted(ae["runtime_data_claims"]) == ["nonce", "tee-pubkey"],
          "gpu0 runtime data %r" % ae["runtime_data_claims"])
    # no reference value: the GPU policy's defaults
    tv = gpu["ear.trustworthiness-vector"]
    check((tv["hardware"], tv["executables"], tv["configuration"]) == (97, 33, 36),
          "gpu0 vector without RV %r" % tv)
    check(gpu["ear.status"] == "contraindicated", "status %r" % gpu["ear.status"])
    check(g.fetch(RES) == SECRET, "allow_all did not release")

    put_rv(srv, "device_svn", ["2"])
    g = H.PyGuest(srv)
    g.auth()
    attest_with(g, {"sampledevice": sampledevice(device_hash(g))})
    gpu = submods(g.token)["gpu0"]
    check(gpu["ear.trustworthiness-vector"]["hardware"] == 2,
          "gpu0 with device_svn: %r" % gpu["ear.trustworthiness-vector"])
    check(gpu["ear.status"] == "warning", "status %r" % gpu["ear.status"])
    # another svn is still not recognized
    g = H.PyGuest(srv)
    g.auth()
    attest_with(g, {"sampledevice": sampledevice(device_hash(g), svn="3")})
    check(submods(g.token)["gpu0"]["ear.trustworthiness-vector"]["hardware"] == 97,
          "svn 3 accepted")


def test_device_bound_like_the_primary_is_refused(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth()
    # the device hashed with additional-evidence, as the primary is
    wrong = g.runtime_hash(additional="")
    refused(g, "additional evidence 'sampledevice' rejected: report data "
            "mismatch", devices={"sampledevice": sampledevice(wrong)})
    # the nonce is consumed: the session cannot attest again
    refused(g, "nonce", devices={"sampledevice": sampledevice(device_hash(g))})


def test_device_bound_to_another_nonce_is_refused(ctx):
    srv = ctx.shared
    other = H.PyGuest(srv)
    other.auth()
    g = H.PyGuest(srv)
    g.auth()
    g.key = other.key          # same key: only the nonce differs
    refused(g, "additional evidence 'sampledevice' rejected: report data "
            "mismatch: the device evidence is not bound to this session",
            devices={"sampledevice": sampledevice(device_hash(g, nonce=other.nonce))})


def test_malformed_additional_evidence_is_refused(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth()
    good = {"sampledevice": sampledevice(device_hash(g))}
    body = g.attest_body(additional="")
    body["tee-evidence"]["additional_evidence"] = good
    r = g.attest(expect_ok=False, raw_body=body)
    H.expect_problem(r, 401, "AttestationError",
                     "field `additional_evidence` must be a string")
    check("not an object" in r.json()["detail"] or "an object" in r.json()["detail"],
          "detail does not say an object was sent: %r" % r.json()["detail"])
    refused(g, "additional_evidence is not JSON", devices=None,
            additional="{sampledevice:")
    refused(g, "additional_evidence must hold a JSON object", devices=None,
            additional="[1, 2]")
    refused(g, "additional_evidence: unknown TEE 'gpu'", devices=None,
            additional=json.dumps({"gpu": {}}))
    refused(g, "additional evidence 'sampledevice' rejected: sampledevice "
            "evidence: svn must be a string", devices={"sampledevice": {"svn": 2}})
    # none of the shape errors consumed the nonce
    g2 = H.PyGuest(ctx.shared)
    g2.auth()
    b = g2.attest_body(additional="")
    b["tee-evidence"]["additional_evidence"] = {"x": 1}
    H.expect_problem(g2.attest(expect_ok=False, raw_body=b), 401, "AttestationError")
    attest_with(g2, {"sampledevice": sampledevice(device_hash(g2))})
    check("gpu0" in submods(g2.token), "no gpu0 after a retry")


def test_primary_binds_the_string_as_sent(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth()
    devs = {"sampledevice": sampledevice(device_hash(g))}
    s = json.dumps(devs)
    # primary report data over "" while a device is sent
    body = g.attest_body(additional="")
    body["tee-evidence"]["additional_evidence"] = s
    r = g.attest(expect_ok=False, raw_body=body)
    H.expect_problem(r, 401, "AttestationError", "sample evidence rejected: "
                     "report data mismatch")
    # the same map re-serialized differently is another string
    g = H.PyGuest(ctx.shared)
    g.auth()
    devs = {"sampledevice": sampledevice(device_hash(g))}
    body = g.attest_body(additional=json.dumps(devs))
    body["tee-evidence"]["additional_evidence"] = json.dumps(devs, indent=1)
    r = g.attest(expect_ok=False, raw_body=body)
    H.expect_problem(r, 401, "AttestationError", "sample evidence rejected: "
                     "report data mismatch")


def test_real_h100_refused_for_its_binding_only(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth()
    r = refused(g, "additional evidence 'nvidia' rejected: "
                "device_evidence_list[0] (Hopper): report data mismatch: the "
                "SPDM request nonce 87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a"
                "5704820856b343fec is not the expected report data",
                devices={"nvidia": h100_evidence()})
    # the nonce is compared last, after the report signature, the chain to
    # the pinned root and the FWID (test_nvidia_vector.c shows each one
    # failing)
    detail = r.json()["detail"]
    for word in ("signature", "chain", "FWID", "truncated"):
        check(word not in detail, "refused for %s: %r" % (word, detail))
    # a flipped measurement byte is refused for its signature instead
    g = H.PyGuest(ctx.shared)
    g.auth()
    ev = h100_evidence()
    dev = ev["device_evidence_list"][0]
    rep = bytearray.fromhex(dev["evidence"])
    rep[37 + 8 + 55 + 7 + 3] ^= 1
    dev["evidence"] = rep.hex()
    refused(g, "report signature does not verify", devices={"nvidia": ev})


def test_unverifiable_device_is_contraindicated_not_refused(ctx):
    srv = ctx.shared
    g = H.PyGuest(srv)
    g.auth()
    ev = h100_evidence()
    ev["device_evidence_list"][0]["arch"] = "BLACKWELL"
    devs = {"hygondcu": {"attestation_reports": []}, "nvidia": ev,
            "sampledevice": sampledevice(device_hash(g))}
    attest_with(g, devs)
    sm = submods(g.token)
    check(sorted(sm) == ["cpu0", "dcu0", "gpu0", "gpu1"], "submods %r" % sorted(sm))
    dcu = sm["dcu0"]
    check(dcu["ear.status"] == "contraindicated", "dcu0 %r" % dcu)
    check(dcu["ear.trustee.unverified"]["tee"] == "hygondcu", "dcu0 %r" % dcu)
    check("no verifier for TEE 'hygondcu'" in dcu["ear.trustee.unverified"]["reason"],
          "dcu0 reason %r" % dcu)
    # gpu0 = the Blackwell (map order), gpu1 = the sample device
    check("not verifiable locally" in sm["gpu0"]["ear.trustee.unverified"]["reason"],
          "gpu0 %r" % sm["gpu0"])
    check("sampledevice" in sm["gpu1"]["ear.veraison.annotated-evidence"],
          "gpu1 %r" % sm["gpu1"])
    # allow_all (--dev) still releases: the resource policy decides
    check(g.fetch(RES) == SECRET, "allow_all did not release")


def test_resource_policy_decides_on_device_appraisals(ctx):
    srv = ctx.server("policy")
    H.expect_status(H.admin_put(srv, RES, SECRET), 200)
    policy = """return function(claims, request)
	for name, app in pairs(claims.submods) do
		if app["ear.trustee.unverified"] ~= nil then
			return false, name .. " was not verified"
		end
	end
	return true, "every device verified"
end
"""
    r = srv.request("PUT", API + "/policies/resource/resource-policy",
                    body={"policy": policy},
                    headers={"Authorization": "Bearer " + H.admin_token(srv)})
    H.expect_status(r, 200)
    g = H.PyGuest(srv)
    g.auth()
    attest_with(g, {"hygondcu": {}})
    H.expect_problem(g.get("resource/" + RES), 401, "PolicyDeny",
                     "dcu0 was not verified")
    g = H.PyGuest(srv)
    g.auth()
    attest_with(g, {"sampledevice": sampledevice(device_hash(g))})
    check(g.fetch(RES) == SECRET, "verified device not released")


def test_device_tee_is_not_a_primary(ctx):
    g = H.PyGuest(ctx.shared)
    for tee in ("nvidia", "sampledevice"):
        r = g.auth(tee=tee, expect_ok=False)
        H.expect_problem(r, 401, "AttestationError", "TEE '%s' is a device" % tee)


def test_attestation_endpoint_verifies_the_h100(ctx):
    srv = ctx.shared
    req = {"tee": "nvidia", "evidence": H.b64url(json.dumps(h100_evidence()).encode()),
           "runtime_data": {"raw": H.b64url(h100_report_data())}}
    r = srv.request("POST", "/attestation",
                    body={"verification_requests": [req], "policy_ids": []})
    H.expect_status(r, 200)
    sm = submods(r.body.decode())
    check(sorted(sm) == ["gpu0"], "submods %r" % sorted(sm))
    nv = sm["gpu0"]["ear.veraison.annotated-evidence"]["nvidia"]
    check(nv["arch"] == "Hopper" and len(nv["measurements"]) == 64, "claims %r" % nv)
    check(nv["config"]["driver_version"] == "580.95.05", "config %r" % nv["config"])
    check(nv["config"]["vbios_version"] == "96.00.74.00.1a", "config %r" % nv["config"])
    # another report data: refused with the binding reason
    req["runtime_data"] = {"raw": H.b64url(b"\x00" * 48)}
    r = srv.request("POST", "/attestation",
                    body={"verification_requests": [req], "policy_ids": []})
    H.expect_problem(r, 401, "AttestationError", "report data mismatch")
    # a sample device next to a sample CPU: cpu0 and gpu0
    rd = b"\x42" * 48
    reqs = [{"tee": "sample", "evidence": H.b64url(json.dumps(
                {"svn": "1", "report_data": H.b64std(rd)}).encode()),
             "runtime_data": {"raw": H.b64url(rd)}},
            {"tee": "sampledevice", "evidence": H.b64url(json.dumps(
                sampledevice(rd)).encode()),
             "runtime_data": {"raw": H.b64url(rd)}}]
    r = srv.request("POST", "/attestation",
                    body={"verification_requests": reqs, "policy_ids": []})
    H.expect_status(r, 200)
    check(sorted(submods(r.body.decode())) == ["cpu0", "gpu0"], "submods")


def test_cli_evidence_verify_devices(ctx):
    ev = os.path.join(H100, "evidence.json")
    rd = h100_report_data().hex()
    p = H.cli_ok(H.run_cli(["evidence", "verify", "--tee", "nvidia",
                            "--evidence", ev, "--report-data", rd]), "verify")
    c = json.loads(p.stdout)
    check(c["config"]["driver_version"] == "580.95.05", "claims %r" % c)
    p = H.run_cli(["evidence", "verify", "--tee", "nvidia", "--evidence", ev,
                   "--report-data", "00" * 48])
    check(p.returncode == 1 and b"report data mismatch" in p.stderr,
          "wrong report data: %d %r" % (p.returncode, p.stderr))
    # a whole /attest body: the device entry of additional_evidence
    body = {"runtime-data": {}, "tee-evidence": {
        "primary_evidence": {"svn": "1"},
        "additional_evidence": json.dumps({"nvidia": h100_evidence()})}}
    f = ctx.write("attest-body.json", json.dumps(body))
    H.cli_ok(H.run_cli(["evidence", "verify", "--tee", "nvidia",
                        "--evidence", f, "--report-data", rd]), "attest body")
    p = H.cli_ok(H.run_cli(["evidence", "verify", "--tee", "sampledevice",
                            "--evidence", ctx.write("sd.json", json.dumps(
                                sampledevice(b"\x01" * 48))),
                            "--report-data", "01" * 48]), "sampledevice")
    check(json.loads(p.stdout)["svn"] == "2", "sampledevice claims")


if __name__ == "__main__":
    H.main(globals(), "devices", setup)
