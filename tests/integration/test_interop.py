#!/usr/bin/python3
"""
test_interop.py: an independent guest (Python + jwcrypto, written from
guest-client.md) against trusteed: JWE decryption for every key type, the
exact JWE wire shape guest-components needs, EAR token verification through
the JWKS endpoint, and hash-algorithm negotiation.
"""

import sys

sys.dont_write_bytecode = True

import base64
import json
import os

import harness as H
from harness import check
from jwcrypto import jwk as jjwk
from jwcrypto import jws as jjws
from jwcrypto import jwt as jjwt

PATH = "default/interop/key"
JWE_MEMBERS = ["ciphertext", "encrypted_key", "iv", "protected", "tag"]


def _setup(ctx, srv):
    """Runs once the shared server is up: store the suite's secret."""
    data = b"\x00interop\xff" + os.urandom(4000)
    H.expect_status(H.admin_put(srv, PATH, data), 200)
    ctx.data["secret"] = data


def _secret(ctx):
    srv = ctx.shared            # starts the server (and _setup) if needed
    if "secret" not in ctx.data:
        _setup(ctx, srv)        # setup failed: retry, failing this test
    return ctx.data["secret"]


def _canonical_header(hdr):
    """guest-components re-serialises the protected header (alg, enc, then
    the other keys sorted, nested keys sorted, compact) to get the AAD."""
    rest = {k: hdr[k] for k in sorted(hdr) if k not in ("alg", "enc")}
    out = '{"alg":%s,"enc":%s' % (json.dumps(hdr["alg"]), json.dumps(hdr["enc"]))
    for k, v in rest.items():
        out += ",%s:%s" % (json.dumps(k), json.dumps(v, sort_keys=True,
                                                      separators=(",", ":")))
    return (out + "}").encode()


def _check_jwe_shape(g, resp, alg):
    obj = resp.json()
    check(sorted(obj) == JWE_MEMBERS, "JWE members %s, want %s" % (sorted(obj), JWE_MEMBERS))
    for m in JWE_MEMBERS:
        check(isinstance(obj[m], str), "%s is not a string" % m)
    raw = {m: H.b64url_decode(obj[m]) for m in JWE_MEMBERS}   # no padding allowed
    check(len(raw["iv"]) == 12, "iv is %d bytes" % len(raw["iv"]))
    check(len(raw["tag"]) == 16, "tag is %d bytes" % len(raw["tag"]))
    hdr = json.loads(raw["protected"])
    check(raw["protected"] == _canonical_header(hdr),
          "protected header not in canonical order/form:\n  got  %s\n  want %s"
          % (raw["protected"], _canonical_header(hdr)))
    check(hdr.get("alg") == g.jwk_alg, "alg %r, want %r" % (hdr.get("alg"), g.jwk_alg))
    check(hdr.get("enc") == "A256GCM", "enc %r" % hdr.get("enc"))
    if g.jwk_alg == "ECDH-ES+A256KW":
        check(sorted(hdr) == ["alg", "enc", "epk"], "header members %s" % sorted(hdr))
        epk = hdr["epk"]
        check(sorted(epk) == ["crv", "kty", "x", "y"], "epk members %s" % sorted(epk))
        crv = g.tee_pubkey()["crv"]
        n = {"P-256": 32, "P-521": 66}[crv]
        check(epk["crv"] == crv and epk["kty"] == "EC", "epk %r" % epk)
        check(len(H.b64url_decode(epk["x"])) == n and len(H.b64url_decode(epk["y"])) == n,
              "epk coordinates are not %d bytes" % n)
        check(len(raw["encrypted_key"]) == 40, "AES-KW output %d bytes" % len(raw["encrypted_key"]))
        check(epk["x"] != g.tee_pubkey()["x"], "epk is the recipient key, not ephemeral")
    else:
        check(sorted(hdr) == ["alg", "enc"], "header members %s" % sorted(hdr))
        check(len(raw["encrypted_key"]) == 256, "RSA-2048 encrypted_key %d bytes"
              % len(raw["encrypted_key"]))
    ctype = resp.header("Content-Type") or ""
    check(ctype.startswith("application/json"), "Content-Type %r" % ctype)
    return obj


def _interop(ctx, alg):
    data = _secret(ctx)
    g = H.PyGuest(ctx.shared, alg)
    g.handshake()
    r1 = g.get("resource/" + PATH, "cookie")
    j1 = _check_jwe_shape(g, r1, alg)
    check(g.decrypt(r1) == data, "%s cookie: plaintext differs" % alg)
    r2 = g.get("resource/" + PATH, "bearer")
    j2 = _check_jwe_shape(g, r2, alg)
    check(g.decrypt(r2) == data, "%s bearer: plaintext differs" % alg)
    check(j1["iv"] != j2["iv"], "IV reused across responses")
    check(j1["encrypted_key"] != j2["encrypted_key"], "CEK/ephemeral key reused")
    # the token names our key; nobody else can decrypt
    other = H.PyGuest(ctx.shared, alg)
    try:
        other.decrypt(r2)
    except Exception:       # noqa: BLE001 - any decryption failure is right
        pass
    else:
        raise H.TestFailure("a different key decrypted the JWE")


def test_harness_jcs_vectors(ctx):
    # self-test of the Python guest against guest-client.md §2.1/§2.5
    t = H.jcs({"b": 1, "a": "test", "c": {"d": "e"}})
    check(H.digest("sha384", t).hex() ==
          "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c"
          "4597480a186427c813ca941da78870c3", "Trustee JCS vector")
    key = {"kty": "EC", "crv": "P-256", "alg": "ECDH-ES+A256KW",
           "x": "Z4DF_HAnXixwYaDnh3uxdN6t65iHAn8_qDZUFYun9Qw",
           "y": "PLqMNLw10g6B9zCsHHvW1mGpQvkMapylXFEvnkoAEmY"}
    g = H.PyGuest.__new__(H.PyGuest)
    g.nonce = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    want = {"sha384": "BMZlsnt4uYlvp5m5q4yyxWQvbgLSsbeVPXCjTgvPiiJwuQtlzgn2RjJpiImB+xul",
            "sha256": "zLHRjBF4jBYAh3uBOe1LfUmsIeAKXrY2y6Ii47APXt0=",
            "sha512": "sU7pB20p/ubSl74hGsL2ayHqr7GWtRWEwKkbVVW2xtpjU8jrvHpjTu0JC+TSLVbp"
                      "IAlyPtpJGRQtIb+al3NgKQ=="}
    for alg, b in want.items():
        got = H.b64std(g.runtime_hash(pubkey=key, alg=alg))
        check(got == b, "%s vector: %s != %s" % (alg, got, b))


def test_interop_p256(ctx):
    _interop(ctx, "p256")


def test_interop_p521(ctx):
    _interop(ctx, "p521")


def test_interop_rsa_oaep_256(ctx):
    _interop(ctx, "rsa-oaep-256")


def test_interop_rsa1_5(ctx):
    _interop(ctx, "rsa1_5")


def test_small_and_binary_payloads(ctx):
    g = H.PyGuest(ctx.shared).handshake()
    for i, data in enumerate((b"\x00", b"\xff" * 17, bytes(range(256)) * 64)):
        p = "default/interop/size%d" % i
        H.expect_status(H.admin_put(ctx.shared, p, data), 200)
        check(g.fetch(p) == data, "payload %d (%d bytes) differs" % (i, len(data)))
    # overwrite replaces
    H.expect_status(H.admin_put(ctx.shared, "default/interop/size0", b"new"), 200)
    check(g.fetch("default/interop/size0") == b"new", "overwrite did not replace")


def _verify_ear(ctx, g):
    jwks = ctx.shared.jwks()
    ks = jjwk.JWKSet()
    ks.import_keyset(json.dumps(jwks))
    hdr, claims, parts = H.jwt_parts(g.token)
    check(hdr.get("alg") == "ES256", "token alg %r" % hdr.get("alg"))
    check(hdr.get("typ") == "JWT", "token typ %r" % hdr.get("typ"))
    k = jwks["keys"][0]
    check(hdr.get("kid") == k["kid"], "token kid %r, JWKS kid %r" % (hdr.get("kid"), k["kid"]))
    hj = hdr.get("jwk") or {}
    check((hj.get("kty"), hj.get("crv"), hj.get("alg"), hj.get("x"), hj.get("y"))
          == ("EC", "P-256", "ES256", k["x"], k["y"]), "header jwk %r != JWKS key" % hj)
    # signature and exp through jwcrypto, keyed by kid from the JWKS
    t = jjwt.JWT(jwt=g.token, key=ks, algs=["ES256"])
    verified = json.loads(t.claims)
    check(verified == claims, "verified claims differ from the raw payload")
    # and directly with the single JWKS key (no kid lookup)
    s = jjws.JWS()
    s.deserialize(g.token)
    s.verify(jjwk.JWK(**k), alg="ES256")
    return claims


def test_ear_token_via_jwks(ctx):
    g = H.PyGuest(ctx.shared).handshake()
    c = _verify_ear(ctx, g)
    for m in ("iat", "exp"):
        check(type(c.get(m)) is int, "%s is not a JSON integer: %r" % (m, c.get(m)))
    check(c["exp"] > c["iat"], "exp %r <= iat %r" % (c["exp"], c["iat"]))
    check(c.get("iss") == H.ISSUER, "iss %r" % c.get("iss"))
    check(c.get("eat_profile") == H.EAT_PROFILE, "eat_profile %r" % c.get("eat_profile"))
    vid = c.get("ear.verifier-id")
    check(isinstance(vid, dict) and "developer" in vid and "build" in vid,
          "ear.verifier-id %r" % vid)
    cpu0 = c.get("submods", {}).get("cpu0")
    check(isinstance(cpu0, dict), "no submods.cpu0: %r" % c.get("submods"))
    check(cpu0.get("ear.status") == "contraindicated", "status %r" % cpu0.get("ear.status"))
    tv = cpu0.get("ear.trustworthiness-vector", {})
    for m, v in (("executables", 33), ("hardware", 97), ("configuration", 2)):
        check(tv.get(m) == v, "trust vector %s = %r, want %d" % (m, tv.get(m), v))
    check(cpu0.get("ear.appraisal-policy-id") == "default",
          "appraisal-policy-id %r" % cpu0.get("ear.appraisal-policy-id"))
    ae = cpu0.get("ear.veraison.annotated-evidence", {})
    check(isinstance(ae.get("sample"), dict), "annotated-evidence.sample %r" % ae.get("sample"))
    rdc = ae.get("runtime_data_claims", {})
    check(rdc.get("tee-pubkey") == g.tee_pubkey(),
          "runtime_data_claims.tee-pubkey %r != sent %r" % (rdc.get("tee-pubkey"), g.tee_pubkey()))
    check(rdc.get("nonce") == g.nonce, "runtime_data_claims.nonce %r" % rdc.get("nonce"))
    # Trustee's default (verbose_token = true) keeps the whole structured
    # runtime data, additional-evidence included.
    check(rdc.get("additional-evidence") == "", "runtime_data_claims.additional-evidence %r"
          % rdc.get("additional-evidence"))


def test_ear_token_rsa_key_claim(ctx):
    g = H.PyGuest(ctx.shared, "rsa-oaep-256").handshake()
    c = _verify_ear(ctx, g)
    tpk = c["submods"]["cpu0"]["ear.veraison.annotated-evidence"]["runtime_data_claims"]["tee-pubkey"]
    check(tpk == g.tee_pubkey(), "RSA tee-pubkey claim %r" % tpk)


def test_challenge_shape(ctx):
    g = H.PyGuest(ctx.shared)
    r = g.auth()
    ch = r.json()
    check(sorted(ch) == ["extra-params", "nonce"], "challenge members %s" % sorted(ch))
    n = ch["nonce"]
    check(len(n) == 44 and n.endswith("="), "nonce %r is not 44-char std b64" % n)
    check(len(base64.b64decode(n, validate=True)) == 32, "nonce not 32 bytes")
    h = H.PyGuest(ctx.shared)
    h.auth()
    check(h.nonce != g.nonce, "two sessions got the same nonce")
    check((r.header("Content-Type") or "").startswith("application/json"),
          "challenge Content-Type %r" % r.header("Content-Type"))


def test_hash_default_sha384_when_all_offered(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth(hashes=H.ALL_HASHES)
    check(g.extra_params == {"selected-hash-algorithm": "sha384"},
          "extra-params %r" % (g.extra_params,))
    g.attest()
    check(g.fetch(PATH) == _secret(ctx), "fetch differs")


def test_hash_sha256_only(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth(hashes=["sha256"])
    check(g.extra_params == {"selected-hash-algorithm": "sha256"},
          "extra-params %r" % (g.extra_params,))
    check(g.hash_alg == "sha256", "guest hash %s" % g.hash_alg)
    g.attest()
    _, c, _ = H.jwt_parts(g.token)
    rd = c["submods"]["cpu0"]["ear.veraison.annotated-evidence"].get("report_data")
    if rd is not None:
        check(len(base64.b64decode(rd)) == 32,
              "report_data claim is not a SHA-256 digest: %r" % rd)
    check(g.fetch(PATH) == _secret(ctx), "fetch differs")


def test_hash_sha512_preferred_over_sha256(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth(hashes=["sha256", "sha512"])
    check(g.extra_params == {"selected-hash-algorithm": "sha512"},
          "extra-params %r" % (g.extra_params,))
    g.attest()
    check(g.fetch(PATH) == _secret(ctx), "fetch differs")


def test_hash_no_list_empty_object(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth(hashes=None)                 # "extra-params": {}
    check(g.extra_params == "", "extra-params %r, want \"\"" % (g.extra_params,))
    check(g.hash_alg == "sha384", "guest hash %s" % g.hash_alg)
    g.attest()
    check(g.fetch(PATH) == _secret(ctx), "fetch differs")


def test_hash_no_list_empty_string(ctx):
    g = H.PyGuest(ctx.shared)
    g.auth(extra_params="")             # Trustee's own Challenge style
    check(g.extra_params == "", "extra-params %r, want \"\"" % (g.extra_params,))
    g.attest()
    check(g.fetch(PATH) == _secret(ctx), "fetch differs")


def test_hash_mismatch_rejected(ctx):
    # selected sha256 but the evidence is bound with SHA-384: must fail
    g = H.PyGuest(ctx.shared)
    g.auth(hashes=["sha256"])
    rd = H.b64std(g.runtime_hash(alg="sha384"))
    H.expect_problem(g.attest(expect_ok=False, report_data=rd), 401, "AttestationError")


def test_additional_evidence_unknown_device_clean_answer(ctx):
    # additional_evidence naming a device this build cannot verify (hash
    # computed over the string verbatim): either accepted or a clean 401
    # problem - never a crash, a 500 or a non-problem body.
    g = H.PyGuest(ctx.shared)
    g.auth()
    r = g.attest(expect_ok=False, additional='{"nosuchtee":{}}')
    if r.status == 200:
        obj = r.json()
        check(isinstance(obj.get("token"), str), "bad attest answer")
    else:
        H.expect_problem(r, 401, "AttestationError")


if __name__ == "__main__":
    H.main(globals(), "interop", setup=_setup)
