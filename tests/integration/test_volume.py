#!/usr/bin/python3
"""
test_volume.py: `trusteectl volume` against `trusteed --dev` on loop FILES.

- `resource generate` makes the volume key inside trusteed (never sent by
  the admin); a guest (sample TEE, allowed by the dev resource policy)
  receives it.
- `volume format` formats an empty file as LUKS2 with that key; the header
  is checked independently with cryptsetup (LUKS2, argon2id, aes-xts,
  label naming the resource, the KBS key opening it via --test-passphrase)
  and by `volume check` (crypt_activate_by_passphrase with no name).
- A wrong key is refused and the device is never reformatted (its header
  bytes unchanged); a file holding data but no header is never formatted.
- `volume rekey` moves the volume to a new KBS key (old refused after).
- Clear errors: dm-crypt not available, key missing, attestation/policy
  refusal with the server's reason, contract errors as file:line.
- Activation, mkfs and mount need device-mapper: SKIPPED with the reason
  where the kernel has none (the only allowed skip: a kernel facility).

Needs cryptsetup (cryptsetup-bin) for the independent header checks.
"""

import hashlib
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness as H  # noqa: E402
from harness import check  # noqa: E402

DM_MISC = "/sys/class/misc/device-mapper"
HAD_CONTROL = os.path.exists("/dev/mapper/control")


def cli(srv, *args, admin=False, input=None):
    return H.run_cli(H.cli_base(srv, admin=admin) + list(args), input=input)


def err(p):
    return p.stderr.decode("utf-8", "replace")


def out(p):
    return p.stdout.decode("utf-8", "replace")


def disk(ctx, name, size=64 << 20, data=None):
    path = ctx.path(name)
    with open(path, "wb") as f:
        f.truncate(size)
        if data is not None:
            f.seek(8192)
            f.write(data)
    return path


def header_hash(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(16 << 20)).hexdigest()


def contract(ctx, srv, name, key, device, tee="sample", extra=""):
    text = ('[kbs]\nurl = "%s"\ncert = "%s"\ntee = "%s"\n\n[volume]\n'
            'key = "%s"\ndevice = "%s"\nname = "%s"\nformat = "if-empty"\n'
            'pbkdf_memory = 8192\npbkdf_time = 50\n%s'
            % (srv.url, srv.cacert, tee, key, device,
               "itest-" + name.split(".")[0], extra))
    return ctx.write(name, text)


def vol(*args):
    return H.run_cli(["volume"] + list(args))


def key_file(ctx, srv, path, name):
    """The key as a guest receives it (sample TEE), into a file for
    cryptsetup --key-file."""
    dst = ctx.path(name)
    H.cli_ok(cli(srv, "resource", "get", path, "--out", dst),
             "resource get " + path)
    return dst


def cryptsetup(*args):
    return subprocess.run(["cryptsetup"] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)


def setup(ctx, srv):
    for k in ("key1", "key2", "other"):
        H.cli_ok(cli(srv, "resource", "generate", "default/disk/" + k,
                     "--bytes", "64", admin=True), "generate " + k)


# ------------------------------------------------------------------ tests

def test_generate_makes_the_key_inside_the_server(ctx):
    srv = ctx.shared
    p = cli(srv, "resource", "info", "default/disk/key1", "--json",
            admin=True)
    H.cli_ok(p, "resource info")
    check('"size": 64' in out(p), "size: %s" % out(p))
    k1 = open(key_file(ctx, srv, "default/disk/key1", "k1.bin"), "rb").read()
    k2 = open(key_file(ctx, srv, "default/disk/key2", "k2.bin"), "rb").read()
    check(len(k1) == 64 and len(k2) == 64 and k1 != k2 and
          k1 != bytes(64), "generated keys %r %r" % (k1[:8], k2[:8]))
    # range and path checks, as the server enforces them
    p = cli(srv, "resource", "generate", "default/disk/x", "--bytes", "8",
            admin=True)
    check(p.returncode == 2, "--bytes 8: exit %d" % p.returncode)
    r = srv.request("POST", "/api/v1/resources/default/disk/x/generate",
                    body='{"bytes": 5000}',
                    headers={"Authorization": "Bearer " + H.admin_token(srv),
                             "Content-Type": "application/json"})
    H.expect_problem(r, 400, "BadRequest", "bytes")
    r = srv.request("POST", "/api/v1/resources/default/disk/x/generate",
                    body='{"bytes": 32}')
    check(r.status == 401, "unauthenticated generate: %d" % r.status)


def test_format_with_the_kbs_key(ctx):
    srv = ctx.shared
    dev = disk(ctx, "d1.img")
    c = contract(ctx, srv, "c1.toml", "default/disk/key1", dev)
    p = vol("format", "--contract", c)
    H.cli_ok(p, "volume format")
    check("formatted" in out(p), out(p))
    dump = cryptsetup("luksDump", dev)
    d = dump.stdout.decode()
    for want in ("Version:       \t2", "Label:         \tkbs:///default/disk/key1",
                 "Subsystem:     \ttrustee-kbs new", "PBKDF:      argon2id",
                 "cipher: aes-xts-plain64", "sector: 4096 [bytes]"):
        check(want in d, "luksDump lacks %r:\n%s" % (want, d))
    # an independent check: the key released by the KBS opens it
    kf = key_file(ctx, srv, "default/disk/key1", "key1.bin")
    r = cryptsetup("open", "--test-passphrase", "--key-file", kf, dev)
    check(r.returncode == 0, "cryptsetup --test-passphrase with the KBS "
          "key: %s" % r.stderr.decode()[-300:])
    # and ours: crypt_activate_by_passphrase with no name
    p = vol("check", "--contract", c)
    H.cli_ok(p, "volume check")
    check("opens keyslot 0" in out(p), out(p))
    # formatting again leaves it alone (the key opens the header)
    h = header_hash(dev)
    H.cli_ok(vol("format", "--contract", c), "volume format again")
    check(header_hash(dev) == h, "a formatted device was rewritten")
    ctx.data["dev"] = dev
    ctx.data["c1"] = c


def test_wrong_key_refused_never_reformatted(ctx):
    srv = ctx.shared
    dev = ctx.data.get("dev")
    check(dev is not None, "needs format_with_the_kbs_key")
    c = contract(ctx, srv, "wrong.toml", "default/disk/other", dev)
    h = header_hash(dev)
    for cmd in ("check", "format"):
        p = vol(cmd, "--contract", c)
        check(p.returncode == 1 and "the key does not open" in err(p),
              "%s with the wrong key: exit %d: %s" % (cmd, p.returncode,
                                                       err(p)[-300:]))
        check(header_hash(dev) == h, "%s changed the header" % cmd)
    kf = key_file(ctx, srv, "default/disk/other", "other.bin")
    r = cryptsetup("open", "--test-passphrase", "--key-file", kf, dev)
    check(r.returncode != 0, "cryptsetup accepts the wrong key")


def test_data_without_header_never_formatted(ctx):
    srv = ctx.shared
    dev = disk(ctx, "data.img", data=b"a file system was here")
    c = contract(ctx, srv, "data.toml", "default/disk/key1", dev)
    h = header_hash(dev)
    p = vol("format", "--contract", c)
    check(p.returncode == 1 and "not empty" in err(p),
          "exit %d: %s" % (p.returncode, err(p)[-300:]))
    check(header_hash(dev) == h, "data device was written")


def test_rekey(ctx):
    srv = ctx.shared
    dev = disk(ctx, "rk.img")
    c1 = contract(ctx, srv, "rk1.toml", "default/disk/key1", dev)
    c2 = contract(ctx, srv, "rk2.toml", "default/disk/key2", dev)
    H.cli_ok(vol("format", "--contract", c1), "format")
    p = vol("rekey", "--contract", c1, "--new-key", "default/disk/key2")
    H.cli_ok(p, "volume rekey")
    check('set key = "default/disk/key2"' in out(p), out(p))
    p = vol("check", "--contract", c1)
    check(p.returncode == 1 and "does not open" in err(p),
          "old key after rekey: exit %d" % p.returncode)
    H.cli_ok(vol("check", "--contract", c2), "new key after rekey")
    d = cryptsetup("luksDump", dev).stdout.decode()
    check("Label:         \tkbs:///default/disk/key2" in d, d)
    k1 = key_file(ctx, srv, "default/disk/key1", "rk-k1.bin")
    k2 = key_file(ctx, srv, "default/disk/key2", "rk-k2.bin")
    check(cryptsetup("open", "--test-passphrase", "--key-file", k2,
                     dev).returncode == 0, "cryptsetup: key2 does not open")
    check(cryptsetup("open", "--test-passphrase", "--key-file", k1,
                     dev).returncode != 0, "cryptsetup: key1 still opens")
    # rekeying from a key that does not open it changes nothing
    h = header_hash(dev)
    p = vol("rekey", "--contract", c1, "--new-key", "default/disk/other")
    check(p.returncode == 1 and "current key does not open" in err(p),
          "exit %d: %s" % (p.returncode, err(p)[-200:]))
    check(header_hash(dev) == h, "failed rekey changed the header")


def test_clear_errors(ctx):
    srv = ctx.shared
    dev = disk(ctx, "e.img")
    # the key is not in the KBS: the server's answer, no device touched
    c = contract(ctx, srv, "missing.toml", "default/disk/nope", dev)
    p = vol("format", "--contract", c)
    check(p.returncode == 1 and "key default/disk/nope not released" in
          err(p), "missing key: exit %d: %s" % (p.returncode, err(p)))
    check(header_hash(dev) == header_hash(disk(ctx, "zero.img")),
          "device written without a key")
    # contract errors name file and line
    bad = ctx.write("bad.toml", '[kbs]\nurl = "https://x"\n[volume]\n'
                    'key = "a/b"\ndevice = "/d"\nname = "n"\n')
    p = vol("open", "--contract", bad)
    check(p.returncode == 2 and "bad.toml:4: volume.key" in err(p),
          "contract error: exit %d: %s" % (p.returncode, err(p)))
    p = vol("open")
    check(p.returncode == 2 and "--contract" in err(p), "no --contract")
    # unreachable KBS
    c = ctx.write("down.toml", '[kbs]\nurl = "https://127.0.0.1:1"\n'
                  'tee = "sample"\n[volume]\nkey = "a/b/c"\n'
                  'device = "%s"\nname = "n"\n' % dev)
    p = vol("check", "--contract", c)
    check(p.returncode == 3, "unreachable KBS: exit %d: %s"
          % (p.returncode, err(p)))


def test_refusal_carries_the_servers_reason(ctx):
    srv = ctx.server("deny")
    H.cli_ok(cli(srv, "resource", "generate", "default/disk/key1",
                 admin=True), "generate")
    H.cli_ok(cli(srv, "policy", "set", "--kind", "resource",
                 os.path.join(H.REPO, "lua-policies", "resource_default.lua"),
                 admin=True), "policy set resource_default")
    dev = disk(ctx, "deny.img")
    c = contract(ctx, srv, "deny.toml", "default/disk/key1", dev)
    p = vol("format", "--contract", c)
    check(p.returncode == 1 and "PolicyDeny" in err(p) and
          "sample TEE proves nothing" in err(p),
          "exit %d: %s" % (p.returncode, err(p)))
    # a TEE this machine does not have: said before anything is sent
    c = contract(ctx, srv, "tpm.toml", "default/disk/key1", dev, tee="tdx")
    p = vol("check", "--contract", c)
    check(p.returncode == 1 and "attestation refused or failed" in err(p),
          "exit %d: %s" % (p.returncode, err(p)))


def dm_available():
    return os.path.exists(DM_MISC) and os.access("/dev/mapper/control",
                                                 os.R_OK | os.W_OK)


def test_open_without_device_mapper_says_so(ctx):
    if dm_available():
        H.skip("device-mapper is available here; the activation test "
               "covers open")
    srv = ctx.shared
    dev = disk(ctx, "nodm.img")
    c = contract(ctx, srv, "nodm.toml", "default/disk/key1", dev)
    p = vol("open", "--contract", c)
    check(p.returncode == 1 and "dm-crypt is not available" in err(p),
          "exit %d: %s" % (p.returncode, err(p)))
    p = vol("close", "--contract", c)
    check(p.returncode == 1 and "dm-crypt is not available" in err(p),
          "close: exit %d: %s" % (p.returncode, err(p)))


def test_open_activate_mkfs_mount_close(ctx):
    if not dm_available():
        H.skip("device-mapper not available (no working "
               "/dev/mapper/control: the kernel has no dm_mod/dm_crypt "
               "here), so activation, mkfs and mount cannot run")
    if os.geteuid() != 0:
        H.skip("activation and mount need root")
    srv = ctx.shared
    dev = disk(ctx, "live.img")
    mnt = ctx.path("mnt")
    c = contract(ctx, srv, "live.toml", "default/disk/key1", dev,
                 extra='filesystem = "ext4"\nmount = "%s"\n' % mnt)
    p = vol("open", "--contract", c)
    H.cli_ok(p, "volume open (first: format + mkfs + mount)")
    check("formatted" in out(p) and os.path.ismount(mnt), out(p))
    with open(os.path.join(mnt, "proof"), "w") as f:
        f.write("kept")
    p = vol("open", "--contract", c)
    check(p.returncode == 1 and "already active" in err(p), "busy: %s"
          % err(p))
    H.cli_ok(vol("close", "--contract", c), "volume close")
    check(not os.path.ismount(mnt), "still mounted")
    with open(dev, "rb") as f:
        check(b"kept" not in f.read(), "plaintext on the device")
    p = vol("open", "--contract", c)
    H.cli_ok(p, "volume open (again: no format)")
    check("formatted" not in out(p), out(p))
    with open(os.path.join(mnt, "proof")) as f:
        check(f.read() == "kept", "data lost across close/open")
    H.cli_ok(vol("close", "--contract", c), "volume close again")


def main():
    H.require("volume", [] if shutil.which("cryptsetup") else
              ["cryptsetup not installed (apt-get install cryptsetup-bin)"])
    try:
        H.main(globals(), "volume", setup=setup)
    finally:
        # libdevmapper creates /dev/mapper/control when it finds none, even
        # on kernels without device-mapper: remove what our runs made.
        if not HAD_CONTROL and not os.path.exists(DM_MISC):
            try:
                os.unlink("/dev/mapper/control")
                os.rmdir("/dev/mapper")
            except OSError:
                pass


if __name__ == "__main__":
    main()
