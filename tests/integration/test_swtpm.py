#!/usr/bin/python3
"""
test_swtpm.py: the "tpm" verifier against a real (software) TPM 2.0.

A swtpm instance on free loopback ports plays the guest's TPM; tpm2-tools
create an EK and RSA / ECC attestation keys, extend PCR8 with an init-data
hash, and make quotes over SHA-256 PCRs 0,1,2,3,7,8 with a nonce. The
evidence JSON is built here as Trustee's TPM attester sends it
({"ak_public": base64 DER SPKI, "tpm_quote": {"signature": base64
TPMT_SIGNATURE, "message": base64 TPMS_ATTEST, "pcrs": [hex]}}) and checked
with `trusteectl evidence verify --tee tpm` (exit 0 + claims JSON when
verified, 1 + reason when rejected). Negatives: wrong nonce, flipped
message byte, altered PCR value, wrong init data, AK swapped.

Needs swtpm and tpm2-tools (TPM2TOOLS_TCTI=swtpm:port=P); without them the
suite says so and skips. Runner conventions as harness.py (PASS/FAIL lines,
"N passed, M failed").
"""

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, run_cli  # noqa: E402

TOOLS = ["swtpm", "tpm2_createek", "tpm2_createak", "tpm2_pcrextend",
         "tpm2_quote", "tpm2_flushcontext"]
SELECTION = [0, 1, 2, 3, 7, 8]
INIT_DATA = b'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n'
INIT_HASH = hashlib.sha256(INIT_DATA).digest()
# The KBS runtime-data digest is SHA-384 (48 bytes); Trustee's TPM attester
# pads it to 64 bytes of extraData.
REPORT_DATA = hashlib.sha384(b"swtpm nonce").digest()


STARTED = []


class SwTpm:
    """One swtpm process (socket mode, TCP data + control ports)."""

    def __init__(self, root):
        self.dir = os.path.join(root, "swtpm")
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.state, exist_ok=True)
        self.proc = None
        self.port = None
        self.log = os.path.join(self.dir, "swtpm.log")

    @staticmethod
    def _two_free_ports():
        for _ in range(50):
            p = harness.free_port()
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
            finally:
                s.close()
            return p
        raise harness.TestFailure("no two consecutive free ports")

    def start(self):
        STARTED.append(self)
        self.port = self._two_free_ports()
        logf = open(self.log, "wb")
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2",
             "--server", "type=tcp,port=%d,bindaddr=127.0.0.1" % self.port,
             "--ctrl", "type=tcp,port=%d,bindaddr=127.0.0.1" % (self.port + 1),
             "--tpmstate", "dir=%s" % self.state,
             "--flags", "not-need-init,startup-clear"],
            stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise harness.TestFailure("swtpm exited: %s" % self._log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise harness.TestFailure("swtpm did not listen: %s" % self._log())

    def _log(self):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-500:].decode("utf-8", "replace")
        except OSError:
            return ""

    def tool(self, *args):
        """Run one tpm2-tools command in self.dir, then flush transient
        objects (swtpm has no resource manager)."""
        env = dict(os.environ, TPM2TOOLS_TCTI="swtpm:port=%d" % self.port)
        p = subprocess.run(list(args), cwd=self.dir, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        check(p.returncode == 0, "%s: exit %d: %s" % (
            " ".join(args), p.returncode,
            p.stderr.decode("utf-8", "replace")[-400:]))
        subprocess.run(["tpm2_flushcontext", "-t"], cwd=self.dir, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=30)
        return p.stdout

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def tpm(ctx):
    """The suite's swtpm with an EK, an RSA AK and an ECC AK, PCR8
    extended with INIT_HASH (created on first use)."""
    t = ctx.data.get("tpm")
    if t is not None:
        return t
    t = SwTpm(ctx.tmp)
    ctx.data["tpm"] = t
    t.start()
    t.tool("tpm2_createek", "-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub")
    t.tool("tpm2_createak", "-C", "ek.ctx", "-c", "ak_rsa.ctx", "-G", "rsa",
           "-s", "rsassa", "-g", "sha256", "-u", "ak_rsa.der", "-f", "der",
           "-n", "ak_rsa.name")
    t.tool("tpm2_createak", "-C", "ek.ctx", "-c", "ak_ecc.ctx", "-G", "ecc",
           "-s", "ecdsa", "-g", "sha256", "-u", "ak_ecc.der", "-f", "der",
           "-n", "ak_ecc.name")
    # PCR8 = SHA256(0^32 || init-data hash): one extend from reset.
    t.tool("tpm2_pcrextend", "8:sha256=%s" % INIT_HASH.hex())
    return t


def quote(ctx, ak, nonce, name):
    """A quote by AK ak ("rsa"/"ecc") over SELECTION with extraData
    nonce; returns the evidence dict."""
    t = tpm(ctx)
    t.tool("tpm2_quote", "-c", "ak_%s.ctx" % ak,
           "-l", "sha256:" + ",".join(str(i) for i in SELECTION),
           "-q", nonce.hex(), "-g", "sha256",
           "-m", name + ".msg", "-s", name + ".sig",
           "-o", name + ".pcrs", "-F", "values")
    vals = t.read(name + ".pcrs")
    check(len(vals) == 32 * len(SELECTION),
          "tpm2_quote wrote %d bytes of PCR values" % len(vals))
    return {
        "ak_public": base64.b64encode(t.read("ak_%s.der" % ak)).decode(),
        "tpm_quote": {
            "signature": base64.b64encode(t.read(name + ".sig")).decode(),
            "message": base64.b64encode(t.read(name + ".msg")).decode(),
            "pcrs": [vals[i:i + 32].hex() for i in range(0, len(vals), 32)],
        },
    }


def verify(ctx, ev, report_data=REPORT_DATA, init_hash=None, name="ev"):
    path = ctx.write(name + ".json", json.dumps(ev))
    args = ["evidence", "verify", "--tee", "tpm", "--evidence", path]
    if report_data is not None:
        args += ["--report-data", report_data.hex()]
    if init_hash is not None:
        args += ["--init-data-hash", init_hash.hex()]
    return run_cli(args)


def expect_ok(p):
    check(p.returncode == 0, "verify: exit %d: %s" % (
        p.returncode, p.stderr.decode("utf-8", "replace")[-500:]))
    return json.loads(p.stdout)


def expect_reject(p, words):
    err = p.stderr.decode("utf-8", "replace")
    check(p.returncode == 1, "expected exit 1 (rejected), got %d: %s%s" % (
        p.returncode, p.stdout.decode("utf-8", "replace")[:300], err[-300:]))
    check(words in err, "rejection reason %r does not mention %r"
          % (err.strip(), words))


def nonce64():
    return REPORT_DATA + bytes(64 - len(REPORT_DATA))


def check_claims(c, ev, extra):
    check(c.get("ak_public") == ev["ak_public"], "ak_public not echoed")
    for i, v in zip(SELECTION, ev["tpm_quote"]["pcrs"]):
        check(c.get("pcr%02d" % i) == v, "pcr%02d claim %r != %r"
              % (i, c.get("pcr%02d" % i), v))
    check("pcr04" not in c, "pcr04 claimed but not quoted")
    check(c.get("report_data") == extra.hex(), "report_data claim %r"
          % c.get("report_data"))
    pcr8 = hashlib.sha256(bytes(32) + INIT_HASH).hexdigest()
    check(c.get("init_data") == pcr8, "init_data claim %r != PCR8 %s"
          % (c.get("init_data"), pcr8))
    check(len(c) == len(SELECTION) + 3, "unexpected claims: %s"
          % sorted(c))


# ------------------------------------------------------------------ tests

def test_rsa_quote_verifies(ctx):
    ev = quote(ctx, "rsa", nonce64(), "q_rsa")
    ctx.data["ev_rsa"] = ev
    c = expect_ok(verify(ctx, ev, init_hash=INIT_HASH))
    check_claims(c, ev, nonce64())
    sig = base64.b64decode(ev["tpm_quote"]["signature"])
    check(sig[:4] == b"\x00\x14\x00\x0b", "RSA AK: TPMT_SIGNATURE %s is "
          "not RSASSA/SHA-256" % sig[:4].hex())


def test_ecc_quote_verifies(ctx):
    ev = quote(ctx, "ecc", nonce64(), "q_ecc")
    ctx.data["ev_ecc"] = ev
    c = expect_ok(verify(ctx, ev, init_hash=INIT_HASH))
    check_claims(c, ev, nonce64())
    sig = base64.b64decode(ev["tpm_quote"]["signature"])
    check(sig[:4] == b"\x00\x18\x00\x0b", "ECC AK: TPMT_SIGNATURE %s is "
          "not ECDSA/SHA-256" % sig[:4].hex())


def test_nonce_truncated_to_32(ctx):
    # Trustee's rule at the reference commit: expected regularized to 32.
    ev = quote(ctx, "rsa", REPORT_DATA[:32], "q_32")
    c = expect_ok(verify(ctx, ev))
    check(c["report_data"] == REPORT_DATA[:32].hex(), "report_data claim")


def test_no_expected_values(ctx):
    expect_ok(verify(ctx, ctx.data.get("ev_rsa") or
                     quote(ctx, "rsa", nonce64(), "q_rsa"),
                     report_data=None))


def test_wrong_nonce(ctx):
    ev = ctx.data.get("ev_rsa") or quote(ctx, "rsa", nonce64(), "q_rsa")
    bad = bytearray(REPORT_DATA)
    bad[0] ^= 1
    expect_reject(verify(ctx, ev, report_data=bytes(bad)),
                  "report data does not match")
    ev = ctx.data.get("ev_ecc") or quote(ctx, "ecc", nonce64(), "q_ecc")
    expect_reject(verify(ctx, ev, report_data=b"\x00" * 48),
                  "report data does not match")


def test_flipped_message_byte(ctx):
    for key in ("ev_rsa", "ev_ecc"):
        ev = json.loads(json.dumps(ctx.data.get(key) or
                                   quote(ctx, key[3:], nonce64(), "q_" + key[3:])))
        msg = bytearray(base64.b64decode(ev["tpm_quote"]["message"]))
        msg[len(msg) // 2] ^= 0x01
        ev["tpm_quote"]["message"] = base64.b64encode(bytes(msg)).decode()
        expect_reject(verify(ctx, ev), "signature does not verify")


def test_pcr_value_altered(ctx):
    ev = json.loads(json.dumps(ctx.data.get("ev_rsa") or
                               quote(ctx, "rsa", nonce64(), "q_rsa")))
    pcrs = ev["tpm_quote"]["pcrs"]
    pcrs[4] = "11" * 32             # PCR7
    expect_reject(verify(ctx, ev), "PCR digest mismatch")
    del pcrs[4]
    expect_reject(verify(ctx, ev), "5 PCR values reported")


def test_wrong_init_data(ctx):
    ev = ctx.data.get("ev_rsa") or quote(ctx, "rsa", nonce64(), "q_rsa")
    other = hashlib.sha256(INIT_DATA + b"x").digest()
    expect_reject(verify(ctx, ev, init_hash=other),
                  "init data hash does not match")
    expect_reject(verify(ctx, ev, init_hash=hashlib.sha384(INIT_DATA).digest()),
                  "exactly 32")


def test_ak_swapped(ctx):
    # The ECC AK's key with the RSA AK's quote: scheme does not fit; the
    # RSA quote with another RSA key: signature fails.
    rsa = json.loads(json.dumps(ctx.data.get("ev_rsa") or
                                quote(ctx, "rsa", nonce64(), "q_rsa")))
    ecc = ctx.data.get("ev_ecc") or quote(ctx, "ecc", nonce64(), "q_ecc")
    rsa["ak_public"] = ecc["ak_public"]
    expect_reject(verify(ctx, rsa), "needs an RSA AK")
    t = tpm(ctx)
    t.tool("tpm2_createak", "-C", "ek.ctx", "-c", "ak_rsa2.ctx", "-G", "rsa",
           "-s", "rsassa", "-g", "sha256", "-u", "ak_rsa2.der", "-f", "der",
           "-n", "ak_rsa2.name")
    rsa["ak_public"] = base64.b64encode(t.read("ak_rsa2.der")).decode()
    expect_reject(verify(ctx, rsa), "signature does not verify")


def test_zz_stop_swtpm(ctx):
    t = ctx.data.get("tpm")
    if t is not None:
        t.stop()
        check(t.proc.returncode is not None, "swtpm did not stop")


def main():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    harness.require("swtpm", ["%s not installed (apt-get install swtpm "
                              "tpm2-tools)" % ", ".join(missing)]
                    if missing else [])
    try:
        harness.main(globals(), "swtpm")
    finally:
        # harness.main exits (SystemExit); no swtpm outlives the suite
        for t in STARTED:
            t.stop()


if __name__ == "__main__":
    main()
