/*
 * test_volume.c: volume contracts (cli/contract.c: every rule, errors with
 * file:line) and the LUKS2 steps of cli/volume.c on scratch files:
 * format an empty file, check the key against the header without
 * activating, a wrong key refused, a device with a header or with data
 * never formatted (its bytes unchanged), rekey with no window, the
 * header's PBKDF, cipher and label as cryptsetup would read them.
 * Activation needs device-mapper, which integration tests cover where the
 * machine has it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <sodium.h>

#include "../../cli/contract.h"
#include "../../cli/volume.h"
#include "../../lib/util.h"
#include "testutil.h"

static const char good[] =
    "# a volume\n"
    "[kbs]\n"
    "url = \"https://kbs.example:8080\"\n"
    "cert = \"/etc/trustee/kbs-ca.pem\"\n"
    "tee = \"tpm\"\n"
    "tcti = \"swtpm:port=2321\"\n"
    "\n"
    "[volume]\n"
    "key = \"kbs:///default/disk/key1\"\n"
    "device = \"/dev/vg0/data\"\n"
    "name = \"data\"\n"
    "format = \"if-empty\"\n"
    "filesystem = \"ext4\"\n"
    "mount = \"/mnt/data\"\n"
    "pbkdf_memory = 65536\n"
    "pbkdf_time = 500\n";

static const struct volume_pbkdf fast = { 8192, 50 };

/* ---- contracts */

static void
test_contract_good(void **state)
{
	struct contract c;
	struct error err;

	(void)state;
	assert_int_equal(contract_parse(good, strlen(good), "c.toml", &c,
	    &err), 0);
	assert_string_equal(c.url, "https://kbs.example:8080");
	assert_string_equal(c.cert, "/etc/trustee/kbs-ca.pem");
	assert_string_equal(c.tee, "tpm");
	assert_string_equal(c.tcti, "swtpm:port=2321");
	assert_string_equal(c.key, "default/disk/key1");
	assert_string_equal(c.device, "/dev/vg0/data");
	assert_string_equal(c.name, "data");
	assert_int_equal(c.format_if_empty, 1);
	assert_string_equal(c.filesystem, "ext4");
	assert_string_equal(c.mount, "/mnt/data");
	assert_int_equal(c.pbkdf_memory, 65536);
	assert_int_equal(c.pbkdf_time, 500);
	contract_clear(&c);
}

static void
test_contract_defaults(void **state)
{
	static const char min[] = "[kbs]\nurl = \"https://k:1\"\n[volume]\n"
	    "key = \"a/b/c\"\ndevice = \"/tmp/f\"\nname = \"n\"\n";
	struct contract c;
	struct error err;

	(void)state;
	assert_int_equal(contract_parse(min, strlen(min), "m.toml", &c, &err),
	    0);
	assert_string_equal(c.tee, "auto");
	assert_null(c.cert);
	assert_null(c.tcti);
	assert_int_equal(c.format_if_empty, 0);	/* never, unless asked */
	assert_null(c.filesystem);
	assert_null(c.mount);
	assert_int_equal(c.pbkdf_memory, CONTRACT_PBKDF_MEMORY);
	assert_int_equal(c.pbkdf_time, CONTRACT_PBKDF_TIME);
	contract_clear(&c);
}

/* Replace the line starting with `key =` in the good contract by line
 * (or drop it when line is ""), parse, expect failure with want. */
static void
bad(const char *key, const char *line, const char *want)
{
	struct buf b = { 0 };
	struct contract c;
	struct error err;
	const char *p = good;

	while (*p != '\0') {
		const char *e = strchr(p, '\n');
		size_t n = (size_t)(e - p) + 1;

		if (strncmp(p, key, strlen(key)) == 0 &&
		    p[strlen(key)] == ' ') {
			if (*line != '\0') {
				buf_addstr(&b, line);
				buf_addstr(&b, "\n");
			}
		} else
			buf_add(&b, p, n);
		p += n;
	}
	if (contract_parse((const char *)b.data, b.len, "c.toml", &c,
	    &err) == 0)
		fail_msg("contract with '%s' accepted", line);
	if (strstr(err.msg, want) == NULL)
		fail_msg("'%s': error '%s' lacks '%s'", line, err.msg, want);
	buf_free(&b);
}

static void
test_contract_errors(void **state)
{
	struct contract c;
	struct error err;

	(void)state;
	bad("key", "key = \"a/b\"", "c.toml:9: volume.key 'a/b' is not "
	    "REPO/TYPE/TAG");
	bad("key", "key = \"a/b/c?x\"", "c.toml:9:");
	bad("key", "", "c.toml:9: [volume] needs key");
	bad("url", "url = \"ftp://x\"", "c.toml:3: kbs.url must start with "
	    "https://");
	bad("url", "url = 5", "c.toml:3: kbs.url must be a string");
	bad("tee", "tee = \"sgx\"", "c.toml:5: kbs.tee: unknown TEE 'sgx'");
	bad("tcti", "tcti = \"\"", "c.toml:6: kbs.tcti is empty");
	bad("tcti", "tcti = \"a\\nb\"", "control character");
	bad("device", "device = \"disk.img\"", "c.toml:10: volume.device must "
	    "be an absolute path");
	bad("name", "name = \"../x\"", "c.toml:11: volume.name '../x'");
	bad("name", "name = \"..\"", "volume.name");
	bad("format", "format = \"always\"", "c.toml:12: volume.format must "
	    "be \"if-empty\" or \"never\"");
	bad("filesystem", "filesystem = \"ext4 -O x\"", "c.toml:13: "
	    "volume.filesystem");
	bad("filesystem", "", "c.toml:13: volume.mount needs "
	    "volume.filesystem");
	bad("mount", "mount = \"/\"", "c.toml:14: volume.mount must be an "
	    "absolute path other than /");
	bad("pbkdf_memory", "pbkdf_memory = 16", "c.toml:15: "
	    "volume.pbkdf_memory must be in 32..");
	bad("pbkdf_time", "pbkdf_time = \"fast\"", "c.toml:16: "
	    "volume.pbkdf_time must be an integer");
	bad("pbkdf_time", "pbkdf_tme = 5", "c.toml:16: unknown key "
	    "volume.pbkdf_tme");
	bad("tee", "[extra]", "unknown section or key 'extra'");
	assert_int_equal(contract_parse("[kbs]\nurl = \"https://k\"\n", 24,
	    "k.toml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "needs a [kbs] and a [volume]"));
	assert_int_equal(contract_parse("[kbs\n", 5, "s.toml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "s.toml:1:"));
	assert_int_equal(contract_load("/nonexistent/c.toml", &c, &err), -1);
	assert_non_null(strstr(err.msg, "/nonexistent/c.toml"));
}

/* ---- LUKS2 on files */

static char *
scratch_file(const char *dir, const char *name, size_t size, int fill)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
		fail_msg("cannot make %s", p);
	if (fill && pwrite(fd, "data", 4, 4096) != 4)
		fail_msg("cannot write %s", p);
	close(fd);
	return p;
}

/* The first 16 MiB (the LUKS2 header area) of a file. */
static uint8_t *
head_of(const char *path, size_t *n)
{
	struct error err;
	uint8_t *d;

	if (file_read_all(path, 64u << 20, &d, n, &err) != 0)
		fail_msg("%s", err.msg);
	if (*n > (16u << 20))
		*n = 16u << 20;
	return d;
}

static void
test_luks(void **state)
{
	uint8_t key[64], key2[64], other[64], *h1, *h2;
	struct crypt_device *cd;
	struct crypt_pbkdf_type pt;
	enum volume_state st;
	struct error err;
	size_t n1, n2;
	char *dir, *dev, *full;
	int slot;

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	randombytes_buf(other, sizeof(other));
	dir = testutil_tmpdir("luks");
	dev = scratch_file(dir, "disk.img", 32u << 20, 0);
	full = scratch_file(dir, "full.img", 32u << 20, 1);

	assert_int_equal(volume_probe(dev, &st, &err), 0);
	assert_int_equal(st, VOLUME_EMPTY);
	assert_int_equal(volume_probe(full, &st, &err), 0);
	assert_int_equal(st, VOLUME_OTHER);
	assert_int_equal(volume_check_key(dev, key, sizeof(key), &err), -1);
	assert_non_null(strstr(err.msg, "no LUKS header"));

	/* data without a header is never formatted, and stays as it was */
	h1 = head_of(full, &n1);
	assert_int_equal(volume_format(full, key, sizeof(key), "x", &fast,
	    &err), -1);
	assert_non_null(strstr(err.msg, "not empty"));
	h2 = head_of(full, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(h1, h2, n1);
	free(h1);
	free(h2);

	/* format, then the header as cryptsetup reads it */
	assert_int_equal(volume_format(dev, key, sizeof(key),
	    "kbs:///default/disk/a-long-name-that-does-not-fit-in-47", &fast,
	    &err), 0);
	assert_int_equal(volume_probe(dev, &st, &err), 0);
	assert_int_equal(st, VOLUME_LUKS);
	assert_int_equal(crypt_init(&cd, dev), 0);
	assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
	assert_string_equal(crypt_get_cipher(cd), "aes");
	assert_string_equal(crypt_get_cipher_mode(cd), "xts-plain64");
	assert_int_equal(crypt_get_volume_key_size(cd), 64);
	assert_int_equal(crypt_get_sector_size(cd), 4096);
	assert_string_equal(crypt_get_label(cd),
	    "kbs:///default/disk/a-long-name-that-does-not-f");
	assert_string_equal(crypt_get_subsystem(cd), VOLUME_SUBSYSTEM_NEW);
	assert_int_equal(crypt_keyslot_get_pbkdf(cd, 0, &pt), 0);
	assert_string_equal(pt.type, CRYPT_KDF_ARGON2ID);
	assert_int_equal(pt.max_memory_kb, fast.memory_kib);
	crypt_free(cd);

	/* the key opens it without activating; another key does not */
	assert_int_equal(volume_check_key(dev, key, sizeof(key), &err), 0);
	assert_int_equal(volume_check_key(dev, other, sizeof(other), &err),
	    -1);
	assert_non_null(strstr(err.msg, "the key does not open"));

	/* a device with a header is never formatted: bytes unchanged */
	h1 = head_of(dev, &n1);
	assert_int_equal(volume_format(dev, other, sizeof(other), "y", &fast,
	    &err), -1);
	assert_non_null(strstr(err.msg, "already has a LUKS header"));
	h2 = head_of(dev, &n2);
	assert_memory_equal(h1, h2, n1);
	free(h2);

	/* rekey with a wrong current key: refused, header unchanged */
	assert_int_equal(volume_rekey(dev, other, sizeof(other), key2,
	    sizeof(key2), "z", &fast, &err), -1);
	assert_non_null(strstr(err.msg, "current key does not open"));
	h2 = head_of(dev, &n2);
	assert_memory_equal(h1, h2, n1);
	free(h2);
	free(h1);
	assert_int_equal(volume_rekey(dev, key, sizeof(key), key,
	    sizeof(key), "z", &fast, &err), -1);

	/* rekey: the new key opens a new slot, the old one no longer */
	assert_int_equal(volume_rekey(dev, key, sizeof(key), key2,
	    sizeof(key2), "kbs:///default/disk/key2", &fast, &err), 0);
	slot = volume_check_key(dev, key2, sizeof(key2), &err);
	assert_int_equal(slot, 1);
	assert_int_equal(volume_check_key(dev, key, sizeof(key), &err), -1);
	assert_int_equal(crypt_init(&cd, dev), 0);
	assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
	assert_string_equal(crypt_get_label(cd), "kbs:///default/disk/key2");
	assert_int_equal(crypt_keyslot_status(cd, 0), CRYPT_SLOT_INACTIVE);
	crypt_free(cd);
	/* never opened yet: still "new" after the rekey; then ready */
	assert_int_equal(volume_is_new(dev), 1);
	assert_int_equal(volume_mark_ready(dev, &err), 0);
	assert_int_equal(volume_is_new(dev), 0);
	assert_int_equal(crypt_init(&cd, dev), 0);
	assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
	assert_string_equal(crypt_get_subsystem(cd), VOLUME_SUBSYSTEM);
	assert_string_equal(crypt_get_label(cd), "kbs:///default/disk/key2");
	crypt_free(cd);
	assert_int_equal(volume_is_new(full), 0);
	/* run again (e.g. after a crash between add and destroy): the new
	 * key already has its slot; the old one must still open */
	assert_int_equal(volume_rekey(dev, key, sizeof(key), key2,
	    sizeof(key2), "l", &fast, &err), -1);
	assert_int_equal(volume_rekey(dev, key2, sizeof(key2), key2,
	    sizeof(key2), "l", &fast, &err), -1);

	/* no activation without device-mapper; says so */
	if (access("/sys/class/misc/device-mapper", F_OK) != 0) {
		assert_int_equal(volume_dm_available(&err), -1);
		assert_non_null(strstr(err.msg, "dm-crypt is not available"));
		assert_int_equal(volume_activate(dev, "t", key2, sizeof(key2),
		    &err), -1);
		assert_non_null(strstr(err.msg, "dm-crypt is not available"));
	}

	unlink(dev);
	unlink(full);
	rmdir(dir);
	free(dev);
	free(full);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contract_good),
		cmocka_unit_test(test_contract_defaults),
		cmocka_unit_test(test_contract_errors),
		cmocka_unit_test(test_luks),
	};
	int had_control, rc;

	if (sodium_init() < 0)
		return 1;
	/* libdevmapper makes a /dev/mapper/control node whenever it finds
	 * none, even where the kernel has no device-mapper: remove the
	 * useless node again if it was not there before. */
	had_control = access("/dev/mapper/control", F_OK) == 0;
	volume_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (!had_control &&
	    access("/sys/class/misc/device-mapper", F_OK) != 0) {
		unlink("/dev/mapper/control");
		rmdir("/dev/mapper");
	}
	return rc;
}
