#!/usr/bin/python3
"""
test_guest_tee.py: `trusteectl attest` with real (non-sample) attesters
against `trusteed --dev`, end to end.

- TPM: a swtpm (socket mode, as test_swtpm.py starts it) with an RSA AK
  made and persisted at 0x81010002 by tpm2-tools; `trusteectl attest --tee
  tpm --tcti swtpm:port=P` builds the AA's evidence through tss2. Under the
  strict "affirming" resource policy the secret is refused until the AK is
  registered as the trusted_aks reference value (and PCR11 as tpm_pcr11);
  then the token is affirming and the secret comes out. The AK the server
  saw is the one tpm2-tools exported; the report data is the SHA-384
  runtime digest zero-padded to 64 bytes; init-data bound through PCR8 is
  accepted and other init-data refused.
- Azure vTPM on swtpm: the first 2 KiB of a real HCL report in NV
  0x01400001 and an AK at 0x81000003 make --tee auto pick az-tdx-vtpm;
  the evidence (kept with --evidence-out) carries the NV report, the TD
  quote a stand-in IMDS returned for the report's TDREPORT, and a vTPM
  quote (signature checked here) whose nonce is the report data, also
  written to NV 0x01400002.
- configfs-tsm: a directory laid out like a configfs-tsm report entry
  holding a real SNP outblob/auxblob pair (tests/vectors/snp-genoa-tsm),
  and one holding a real TD quote (tdx-v4-uptodate, with its collateral
  given to the server). The server checks every signature (the VCEK comes
  only from the auxblob certificate table: the dev server has no other
  source) and refuses only because the report data is not this session's:
  the detail names the expected value, which is what the attester wrote to
  inblob.

Needs swtpm and tpm2-tools for the TPM part (harness.require).
"""

import base64
import hashlib
import http.server
import json
import os
import re
import shutil
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402
from harness import check  # noqa: E402
import test_swtpm  # noqa: E402  (SwTpm: how swtpm is started here)

VECTORS = os.environ.get("TRUSTEE_TESTVECTORS",
                         os.path.join(H.REPO, "tests", "vectors"))
AK_HANDLE = "0x81010002"
SECRET = b"tpm-released \x00\x01 secret"
INIT_DATA = b'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"k" = "v"\n'


def vec(*parts):
    return os.path.join(VECTORS, *parts)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def cli(srv, *args, admin=False):
    return H.run_cli(H.cli_base(srv, admin=admin) + list(args))


def err(p):
    return p.stderr.decode("utf-8", "replace")


def token_claims(path):
    tok = read(path).decode().strip()
    return json.loads(H.b64url_decode(tok.split(".")[1], strict=False))


def cpu0(claims):
    sub = claims["submods"]["cpu0"]
    return sub, sub["ear.veraison.annotated-evidence"]


# ------------------------------------------------------------------ TPM

def tpm_setup(ctx):
    """swtpm with an EK and an RSA AK persisted at AK_HANDLE; a server
    with the strict affirming resource policy and a secret."""
    st = ctx.data.get("tpm")
    if st is not None:
        return st
    t = test_swtpm.SwTpm(ctx.tmp)
    ctx.data["swtpm"] = t
    t.start()
    t.tool("tpm2_createek", "-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub")
    t.tool("tpm2_createak", "-C", "ek.ctx", "-c", "ak.ctx", "-G", "rsa",
           "-s", "rsassa", "-g", "sha256", "-u", "ak.der", "-f", "der",
           "-n", "ak.name")
    t.tool("tpm2_evictcontrol", "-c", "ak.ctx", AK_HANDLE)
    srv = ctx.server("tpm")
    H.cli_ok(cli(srv, "policy", "set", "--kind", "resource",
                 os.path.join(H.REPO, "lua-policies", "affirming.lua"),
                 admin=True), "policy set affirming")
    H.cli_ok(H.run_cli(H.cli_base(srv, admin=True) +
                       ["resource", "put", "default/tpm/secret", "--file",
                        "-"], input=SECRET), "resource put")
    st = {"swtpm": t, "srv": srv, "tcti": "swtpm:port=%d" % t.port,
          "ak": base64.b64encode(t.read("ak.der")).decode()}
    ctx.data["tpm"] = st
    return st


def tpm_attest(ctx, st, *extra, token="tok.jwt"):
    return cli(st["srv"], "attest", "--tee", "tpm", "--tcti", st["tcti"],
               "--token-out", ctx.path(token), *extra)


def test_tpm_evidence_is_the_aa_shape(ctx):
    st = tpm_setup(ctx)
    p = tpm_attest(ctx, st)
    H.cli_ok(p, "attest --tee tpm")
    c = token_claims(ctx.path("tok.jwt"))
    sub, ae = cpu0(c)
    tpm = ae["tpm"]
    # The AK the attester read through tss2 is the one tpm2-tools wrote.
    check(tpm["ak_public"] == st["ak"], "ak_public %r is not tpm2-tools' "
          "AK %r" % (tpm["ak_public"][:40], st["ak"][:40]))
    check(sorted(k for k in tpm if k.startswith("pcr")) ==
          ["pcr%02d" % i for i in range(24)], "not PCRs 0..23: %s"
          % sorted(tpm))
    # report data: the SHA-384 runtime digest, zero-padded to 64 bytes
    rd = ae["report_data"]
    check(len(rd) == 128 and rd.endswith("0" * 32) and
          rd[:96] != "0" * 96, "report_data %r" % rd)
    rtd = ae["runtime_data_claims"]
    dig = H.digest("sha384", H.jcs({"additional-evidence": "",
                                    "nonce": rtd["nonce"],
                                    "tee-pubkey": rtd["tee-pubkey"]}))
    check(rd[:96] == dig.hex(), "report_data is not the runtime digest")
    check(sub["ear.trustworthiness-vector"]["hardware"] == 2,
          "hardware %r" % sub["ear.trustworthiness-vector"])
    check(sub["ear.status"] != "affirming", "affirming before the AK is "
          "trusted: %r" % sub["ear.status"])
    ctx.data["pcr11"] = tpm["pcr11"]


def test_tpm_secret_refused_until_ak_trusted(ctx):
    st = tpm_setup(ctx)
    p = tpm_attest(ctx, st, "--resource", "default/tpm/secret")
    check(p.returncode == 1, "exit %d (expected refusal): %s"
          % (p.returncode, err(p)[-300:]))
    check("PolicyDeny" in err(p) and "not affirming" in err(p),
          "refusal does not carry the server's reason: %s" % err(p))


def test_tpm_end_to_end_affirming_and_secret(ctx):
    st = tpm_setup(ctx)
    pcr11 = ctx.data.get("pcr11") or "00" * 32
    H.cli_ok(cli(st["srv"], "rv", "add", "trusted_aks",
                 json.dumps([st["ak"]]), admin=True), "rv add trusted_aks")
    H.cli_ok(cli(st["srv"], "rv", "add", "tpm_pcr11", json.dumps([pcr11]),
                 admin=True), "rv add tpm_pcr11")
    out = ctx.path("secret.bin")
    p = tpm_attest(ctx, st, "--resource", "default/tpm/secret", "--out",
                   out, token="tok2.jwt")
    H.cli_ok(p, "attest --tee tpm --resource")
    check(read(out) == SECRET, "secret %r" % read(out))
    check(os.stat(out).st_mode & 0o777 == 0o600, "secret file mode")
    sub, ae = cpu0(token_claims(ctx.path("tok2.jwt")))
    tv = sub["ear.trustworthiness-vector"]
    check(sub["ear.status"] == "affirming" and tv["executables"] == 3 and
          tv["hardware"] == 2, "status %r vector %r" % (sub["ear.status"],
                                                         tv))


def test_tpm_init_data_bound_through_pcr8(ctx):
    st = tpm_setup(ctx)
    t = st["swtpm"]
    # The AA binds init-data at boot: PCR8 extended with its digest.
    t.tool("tpm2_pcrextend", "8:sha256=%s"
           % hashlib.sha256(INIT_DATA).hexdigest())
    good = ctx.write("init.toml", INIT_DATA)
    other = ctx.write("other.toml", INIT_DATA + b"# changed\n")
    p = tpm_attest(ctx, st, "--init-data", good, token="tok3.jwt")
    H.cli_ok(p, "attest --init-data (bound)")
    _, ae = cpu0(token_claims(ctx.path("tok3.jwt")))
    want = hashlib.sha256(bytes(32) + hashlib.sha256(INIT_DATA).digest())
    check(ae["init_data"] == want.hexdigest(), "init_data %r"
          % ae.get("init_data"))
    check(ae["init_data_claims"] == {"k": "v"}, "init_data_claims %r"
          % ae.get("init_data_claims"))
    p = tpm_attest(ctx, st, "--init-data", other)
    check(p.returncode == 1 and "init data" in err(p),
          "other init-data: exit %d: %s" % (p.returncode, err(p)[-300:]))


def test_tpm_clear_errors(ctx):
    st = tpm_setup(ctx)
    p = tpm_attest(ctx, st, "--ak-handle", "0x81010009")
    check(p.returncode == 1 and "nothing at handle 0x81010009" in err(p),
          "missing AK: exit %d: %s" % (p.returncode, err(p)[-300:]))
    p = cli(st["srv"], "attest", "--tee", "tpm", "--tcti",
            "nosuchtcti:x")
    check(p.returncode == 1 and "nosuchtcti:x" in err(p),
          "bad TCTI: exit %d: %s" % (p.returncode, err(p)[-300:]))
    p = cli(st["srv"], "attest", "--tee", "tpm", "--ak-handle", "xyz")
    check(p.returncode == 2, "bad --ak-handle: exit %d" % p.returncode)


class Imds:
    """A stand-in for Azure IMDS /acc/tdquote: records the request and
    answers with a real TD quote."""

    def __init__(self, quote):
        imds = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                imds.requests.append((self.path, dict(self.headers),
                                      self.rfile.read(n)))
                body = json.dumps({"quote": base64.urlsafe_b64encode(
                    quote).decode().rstrip("=")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.requests = []
        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_azure_tdx_vtpm_evidence_on_swtpm(ctx):
    """An Azure-like vTPM on swtpm: the (first 2 KiB of a real) HCL report
    in NV 0x01400001, an AK at 0x81000003. --tee auto finds az-tdx-vtpm;
    the evidence carries the NV report, the quote IMDS gave for its
    TDREPORT, and a vTPM quote whose nonce is the report data also written
    to NV 0x01400002. (The server then refuses the cut HCL report.)"""
    tpm_setup(ctx)
    t = test_swtpm.SwTpm(os.path.join(ctx.tmp, "az"))
    ctx.data["az_swtpm"] = t
    t.start()
    hcl = read(vec("tdx-v4-azure-nocollateral", "hcl_report.bin"))[:2048]
    quote = read(vec("tdx-v4-azure-nocollateral", "quote.bin"))
    with open(t.path("hcl.bin"), "wb") as f:
        f.write(hcl)
    t.tool("tpm2_createek", "-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub")
    t.tool("tpm2_createak", "-C", "ek.ctx", "-c", "ak.ctx", "-G", "rsa",
           "-s", "rsassa", "-g", "sha256", "-u", "ak.der", "-f", "der",
           "-n", "ak.name")
    t.tool("tpm2_evictcontrol", "-c", "ak.ctx", "0x81000003")
    t.tool("tpm2_nvdefine", "0x01400001", "-C", "o", "-s", str(len(hcl)),
           "-a", "ownerread|ownerwrite")
    t.tool("tpm2_nvwrite", "0x01400001", "-C", "o", "-i", "hcl.bin")
    imds = Imds(quote)
    try:
        evp = ctx.path("az-evidence.json")
        p = cli(ctx.data["tpm"]["srv"], "attest", "--tee", "auto", "--tcti",
                "swtpm:port=%d" % t.port, "--imds-url", imds.url,
                "--evidence-out", evp)
    finally:
        imds.stop()
    check(p.returncode == 1 and "az-tdx-vtpm evidence rejected" in err(p),
          "auto should pick az-tdx-vtpm: exit %d: %s" % (p.returncode,
                                                         err(p)[-300:]))
    ev = json.loads(read(evp))
    check(ev["version"] == 2 and sorted(ev) == ["hcl_report", "td_quote",
                                                 "tpm_quote", "version"],
          "evidence members %s" % sorted(ev))
    check(base64.urlsafe_b64decode(ev["hcl_report"]) == hcl,
          "hcl_report is not the NV content")
    check(base64.urlsafe_b64decode(ev["td_quote"]) == quote,
          "td_quote is not what IMDS answered")
    check(len(imds.requests) == 1 and imds.requests[0][0] == "/acc/tdquote",
          "IMDS requests %r" % [r[0] for r in imds.requests])
    sent = json.loads(imds.requests[0][2])
    check(H.b64url_decode(sent["report"]) == hcl[32:32 + 1024],
          "IMDS was not given the HCL report's TDREPORT")
    q = ev["tpm_quote"]
    check(len(q["pcrs"]) == 24, "%d PCRs" % len(q["pcrs"]))
    msg = bytes.fromhex(q["message"])
    check(msg[:6] == b"\xffTCG\x80\x18", "not a TPMS_ATTEST quote")
    n = int.from_bytes(msg[6:8], "big")
    off = 8 + n
    extra = msg[off + 2:off + 2 + int.from_bytes(msg[off:off + 2], "big")]
    check(len(extra) == 48, "nonce of %d bytes (the raw SHA-384 report "
          "data)" % len(extra))
    user = t.tool("tpm2_nvread", "0x01400002", "-C", "o")
    check(user == extra + bytes(16), "NV 0x01400002 %s is not the report "
          "data padded to 64" % user.hex())
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    ak = serialization.load_der_public_key(t.read("ak.der"))
    ak.verify(bytes.fromhex(q["signature"]), msg, padding.PKCS1v15(),
              hashes.SHA256())


def test_zz_stop_swtpm(ctx):
    for k in ("swtpm", "az_swtpm"):
        t = ctx.data.get(k)
        if t is not None:
            t.stop()
            check(t.proc.returncode is not None, "swtpm did not stop")


# ------------------------------------------------------------ configfs-tsm

def tsm_entry(ctx, name, provider, outblob, auxblob=None):
    d = ctx.path(name)
    os.makedirs(d, exist_ok=True)
    for f in ("inblob", "auxblob"):
        if os.path.exists(os.path.join(d, f)):
            os.unlink(os.path.join(d, f))
    with open(os.path.join(d, "provider"), "w") as f:
        f.write(provider + "\n")
    with open(os.path.join(d, "generation"), "w") as f:
        f.write("0\n")
    with open(os.path.join(d, "outblob"), "wb") as f:
        f.write(outblob)
    if auxblob is not None:
        with open(os.path.join(d, "auxblob"), "wb") as f:
            f.write(auxblob)
    return d


def expect_report_data_refusal(p, entry):
    """Refused only on report data, and the value the server expected is
    what the attester wrote to inblob."""
    e = err(p)
    check(p.returncode == 1, "exit %d: %s" % (p.returncode, e[-400:]))
    check("401 AttestationError" in e and "report data does not match" in e,
          "not refused for report data: %s" % e)
    m = re.search(r"expected ([0-9a-f]{32,})", e)
    check(m is not None, "the detail names no expected value: %s" % e)
    inblob = read(os.path.join(entry, "inblob"))
    check(len(inblob) == 64, "inblob has %d bytes" % len(inblob))
    check(inblob.hex().startswith(m.group(1)), "expected %s is not the "
          "inblob %s" % (m.group(1), inblob.hex()))
    check(inblob[48:] == bytes(16), "SHA-384 digest not zero-padded to 64")


def test_tsm_snp_verified_refused_only_on_report_data(ctx):
    srv = ctx.server("tsm")
    ctx.data["tsm_srv"] = srv
    out = read(vec("snp-genoa-tsm", "outblob"))
    aux = read(vec("snp-genoa-tsm", "auxblob"))
    d = tsm_entry(ctx, "snp-entry", "sev_guest", out, aux)
    p = cli(srv, "attest", "--tee", "snp", "--tsm-dir", d)
    expect_report_data_refusal(p, d)
    # --tee auto finds SNP from the entry's provider
    p = cli(srv, "attest", "--tee", "auto", "--tsm-dir", d)
    expect_report_data_refusal(p, d)


def test_tsm_snp_needs_the_auxblob_table(ctx):
    srv = ctx.data.get("tsm_srv") or ctx.server("tsm2")
    d = tsm_entry(ctx, "snp-noaux", "sev_guest",
                  read(vec("snp-genoa-tsm", "outblob")))
    p = cli(srv, "attest", "--tee", "snp", "--tsm-dir", d)
    e = err(p)
    check(p.returncode == 1 and "report data" not in e and
          ("VCEK" in e or "VEK" in e), "without the certificate table the "
          "server must lack the VCEK: exit %d: %s" % (p.returncode, e))


def test_tsm_tdx_verified_refused_only_on_report_data(ctx):
    srv = ctx.server("tsm-tdx", args=["--dcap-collateral",
                                      vec("tdx-v4-uptodate")])
    d = tsm_entry(ctx, "tdx-entry", "tdx_guest",
                  read(vec("tdx-v4-uptodate", "quote.bin")))
    p = cli(srv, "attest", "--tee", "tdx", "--tsm-dir", d)
    expect_report_data_refusal(p, d)
    p = cli(srv, "attest", "--tee", "snp", "--tsm-dir", d)
    check(p.returncode == 1 and "provider is tdx_guest, not sev_guest"
          in err(p), "wrong provider: exit %d: %s" % (p.returncode, err(p)))


def main():
    tools = ["swtpm"] + [t for t in test_swtpm.TOOLS if t != "swtpm"] + \
        ["tpm2_evictcontrol", "tpm2_pcrextend", "tpm2_nvdefine",
         "tpm2_nvwrite", "tpm2_nvread"]
    missing = [t for t in tools if shutil.which(t) is None]
    H.require("guest_tee", ["%s not installed (apt-get install swtpm "
                            "tpm2-tools)" % ", ".join(missing)]
              if missing else [])
    try:
        H.main(globals(), "guest_tee")
    finally:
        for t in test_swtpm.STARTED:
            t.stop()


if __name__ == "__main__":
    main()
