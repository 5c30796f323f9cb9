/*
 * contract.h: a volume contract, the TOML file that describes one
 * encrypted volume to `trusteectl volume` (docs/volumes.md):
 *
 *   [kbs]
 *   url = "https://kbs.example:8080"
 *   cert = "/etc/trustee/kbs-ca.pem"   # optional: trust this CA
 *   tee = "auto"                       # or snp, tdx, tpm, az-*, sample
 *   tcti = "device:/dev/tpmrm0"        # optional: the TPM's TCTI
 *
 *   [volume]
 *   key = "default/disk/key1"          # the resource holding the key
 *   device = "/dev/vg0/data"           # a block device, or a file
 *   name = "data"                      # /dev/mapper/<name>
 *   format = "if-empty"                # or "never" (the default)
 *   filesystem = "ext4"                # optional: made on first format
 *   mount = "/mnt/data"                # optional (needs filesystem)
 *   pbkdf_memory = 1048576             # optional: argon2id KiB
 *   pbkdf_time = 2000                  # optional: argon2id ms
 *
 * Every error names the file and line; unknown sections and keys are
 * errors (a typo must not silently drop a setting).
 */
#ifndef TRUSTEECTL_CONTRACT_H
#define TRUSTEECTL_CONTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

#define CONTRACT_MAX_SIZE	(64u * 1024)
#define CONTRACT_NAME_MAX	64	/* device-mapper names: 127 */
#define CONTRACT_PBKDF_MEMORY	(1024u * 1024)	/* KiB */
#define CONTRACT_PBKDF_TIME	2000u		/* ms, as cryptsetup */

struct contract {
	char *url;
	char *cert;		/* NULL: the system store */
	char *tee;		/* default "auto" */
	char *tcti;		/* NULL: the attester's default */
	char *key;		/* REPO/TYPE/TAG (kbs:/// prefix dropped) */
	char *device;
	char *name;
	int format_if_empty;	/* format = "if-empty" */
	char *filesystem;	/* NULL: none */
	char *mount;		/* NULL: not mounted */
	uint32_t pbkdf_memory;	/* KiB */
	uint32_t pbkdf_time;	/* ms */
};

/* Parse contract text; file names the source in messages
 * ("FILE:LINE: ..."). On failure c is cleared. */
int contract_parse(const char *text, size_t len, const char *file,
    struct contract *c, struct error *err);
/* Read and parse a contract file (at most CONTRACT_MAX_SIZE bytes). */
int contract_load(const char *path, struct contract *c, struct error *err);
void contract_clear(struct contract *c);

/*
 * Check a KBS resource path "REPO/TYPE/TAG" (an optional "kbs:///" prefix
 * is dropped): three non-empty segments of [A-Za-z0-9_.-]. The server
 * applies the exact rules; this keeps characters that would change the
 * URL out. Also the check of every trusteectl command taking a resource
 * path. Returns the path without prefix (pointing into s) or NULL.
 */
const char *contract_resource_path(const char *s);

#endif
