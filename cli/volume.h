/*
 * volume.h: LUKS2 volumes keyed by a KBS resource, through libcryptsetup
 * (docs/volumes.md). The key is the resource's bytes used verbatim as the
 * LUKS passphrase (as CDH's secure mount uses a KBS key), so a volume made
 * here opens with `cryptsetup open --key-file` of the same bytes and vice
 * versa. Callers keep keys in locked memory (sodium_malloc) and wipe
 * them; nothing here copies a key except into libcryptsetup.
 *
 * Safety rules every function keeps: a device that has a LUKS header is
 * never formatted; a device without one is formatted only when it is
 * empty (its first MiB all zero), so a disk that holds anything else is
 * never overwritten; a key is always checked against the header before it
 * is used to activate or rekey.
 */
#ifndef TRUSTEECTL_VOLUME_H
#define TRUSTEECTL_VOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/util.h"

#define VOLUME_EMPTY_PROBE	(1024u * 1024)	/* must be zero */
#define VOLUME_SUBSYSTEM	"trustee-kbs"
/* The subsystem of a volume formatted but never opened to the end: its
 * first open still has to make the file system. */
#define VOLUME_SUBSYSTEM_NEW	"trustee-kbs new"

/* What a device holds. */
enum volume_state {
	VOLUME_LUKS,		/* a LUKS header (1 or 2) */
	VOLUME_EMPTY,		/* no header, first MiB all zero */
	VOLUME_OTHER,		/* no header but data: never touched */
};

/* argon2id cost for new keyslots. */
struct volume_pbkdf {
	uint32_t memory_kib;
	uint32_t time_ms;
};

/* Route libcryptsetup's messages to our log (debug). Call once. */
void volume_init(void);

int volume_probe(const char *device, enum volume_state *state,
    struct error *err);

/*
 * Format an empty device (refused, with the reason, for VOLUME_LUKS and
 * VOLUME_OTHER): LUKS2, aes-xts-plain64 with a 512-bit random volume key,
 * 4096-byte sectors, one argon2id keyslot for key, label = the label
 * argument (cut to LUKS2's 47 characters), subsystem "trustee-kbs new"
 * until volume_mark_ready.
 */
int volume_format(const char *device, const uint8_t *key, size_t keylen,
    const char *label, const struct volume_pbkdf *pbkdf, struct error *err);

/*
 * Check key against the device's header without activating anything
 * (crypt_activate_by_passphrase with no name). Returns the keyslot it
 * opens (>= 0), or -1 with err: no LUKS header, or "the key does not open
 * ..." for a wrong key.
 */
int volume_check_key(const char *device, const uint8_t *key, size_t keylen,
    struct error *err);

/*
 * Replace old_key by new_key with no moment when neither opens the
 * volume: check the old key, add a keyslot for the new one (unless it
 * already has one), check the new key, then destroy the old key's slot;
 * the label becomes new_label.
 */
int volume_rekey(const char *device, const uint8_t *old_key, size_t old_len,
    const uint8_t *new_key, size_t new_len, const char *new_label,
    const struct volume_pbkdf *pbkdf, struct error *err);

/* 1 when the device's header says it was formatted here and never
 * opened to the end (VOLUME_SUBSYSTEM_NEW), 0 otherwise or on error. */
int volume_is_new(const char *device);
/* Record that the first open finished (subsystem "trustee-kbs"). */
int volume_mark_ready(const char *device, struct error *err);

/* 0 when device-mapper can be used (the kernel has it and
 * /dev/mapper/control opens for us), else -1 saying why dm-crypt is not
 * available. */
int volume_dm_available(struct error *err);
/* 1 when /dev/mapper/name is an active mapping. */
int volume_is_active(const char *name);
/* Activate device as /dev/mapper/name with key (checked first). */
int volume_activate(const char *device, const char *name, const uint8_t *key,
    size_t keylen, struct error *err);
/* Deactivate /dev/mapper/name ("busy" when still in use). */
int volume_deactivate(const char *name, struct error *err);

/* mkfs.<fs> on dev (no secret is passed to it). */
int volume_mkfs(const char *fs, const char *dev, struct error *err);
/* Mount dev (type fs) on dir, made when missing (mode 0700). */
int volume_mount(const char *dev, const char *dir, const char *fs,
    struct error *err);
/* Unmount dir; not mounted is fine (*was_mounted 0). */
int volume_umount(const char *dir, int *was_mounted, struct error *err);

#endif
