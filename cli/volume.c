/*
 * volume.c: LUKS2 volumes through libcryptsetup (see volume.h), plus the
 * small system steps around them (mkfs, mount, umount).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libcryptsetup.h>
#include <sodium.h>

#include "../lib/log.h"
#include "volume.h"

#define VOLUME_LABEL_MAX	47	/* LUKS2: 48 bytes with the NUL */
#define VOLUME_SECTOR		4096
#define VOLUME_KEY_BITS		512	/* XTS: two AES-256 keys */

extern char **environ;

static void
volume_log(int level, const char *msg, void *arg)
{
	char esc[300];
	size_t n = strlen(msg);

	(void)arg;
	(void)level;
	/* libcryptsetup ends lines with '\n'; log_escape would show it. */
	while (n > 0 && msg[n - 1] == '\n')
		n--;
	if (n >= sizeof(esc) / 4)
		n = sizeof(esc) / 4 - 1;
	{
		char line[sizeof(esc) / 4];

		memcpy(line, msg, n);
		line[n] = '\0';
		log_debug("libcryptsetup: %s", log_escape(line, esc,
		    sizeof(esc)));
	}
}

void
volume_init(void)
{
	crypt_set_log_callback(NULL, volume_log, NULL);
}

/* A crypt device for an existing header; *cd NULL and -1 when there is
 * none (err says so). */
static int
volume_load(const char *device, struct crypt_device **cd, struct error *err)
{
	int r;

	*cd = NULL;
	if ((r = crypt_init(cd, device)) < 0)
		return error_set(err, "%s: %s", device, strerror(-r));
	if ((r = crypt_load(*cd, CRYPT_LUKS, NULL)) < 0) {
		crypt_free(*cd);
		*cd = NULL;
		return error_set(err, "%s: no LUKS header (%s)", device,
		    strerror(-r));
	}
	return 0;
}

int
volume_probe(const char *device, enum volume_state *state, struct error *err)
{
	struct crypt_device *cd = NULL;
	uint8_t *buf;
	ssize_t n;
	size_t got = 0;
	int fd, r;

	if ((r = crypt_init(&cd, device)) < 0)
		return error_set(err, "%s: %s", device, strerror(-r));
	r = crypt_load(cd, CRYPT_LUKS, NULL);
	crypt_free(cd);
	if (r == 0) {
		*state = VOLUME_LUKS;
		return 0;
	}
	if ((fd = open(device, O_RDONLY | O_CLOEXEC)) == -1)
		return error_set(err, "%s: %s", device, strerror(errno));
	buf = xmalloc(VOLUME_EMPTY_PROBE);
	while (got < VOLUME_EMPTY_PROBE) {
		n = read(fd, buf + got, VOLUME_EMPTY_PROBE - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error_set(err, "%s: %s", device, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*state = sodium_is_zero(buf, got) ? VOLUME_EMPTY : VOLUME_OTHER;
	free(buf);
	return 0;
}

static void
volume_pbkdf_type(const struct volume_pbkdf *p, struct crypt_pbkdf_type *t)
{
	memset(t, 0, sizeof(*t));
	t->type = CRYPT_KDF_ARGON2ID;
	t->hash = "sha256";
	t->time_ms = p->time_ms;
	t->max_memory_kb = p->memory_kib;
	t->parallel_threads = 4;	/* capped to the CPUs by cryptsetup */
}

static void
volume_label(const char *in, char out[VOLUME_LABEL_MAX + 1])
{
	snprintf(out, VOLUME_LABEL_MAX + 1, "%s", in ? in : "");
}

int
volume_format(const char *device, const uint8_t *key, size_t keylen,
    const char *label, const struct volume_pbkdf *pbkdf, struct error *err)
{
	struct crypt_device *cd = NULL;
	struct crypt_pbkdf_type pt;
	struct crypt_params_luks2 params;
	enum volume_state st;
	char lbl[VOLUME_LABEL_MAX + 1];
	int r;

	if (keylen == 0)
		return error_set(err, "the volume key is empty");
	if (volume_probe(device, &st, err) != 0)
		return -1;
	if (st == VOLUME_LUKS)
		return error_set(err, "%s already has a LUKS header: refusing "
		    "to format it", device);
	if (st == VOLUME_OTHER)
		return error_set(err, "%s has no LUKS header but is not empty "
		    "(its first MiB holds data): refusing to format it",
		    device);
	volume_pbkdf_type(pbkdf, &pt);
	volume_label(label, lbl);
	memset(&params, 0, sizeof(params));
	params.pbkdf = &pt;
	params.sector_size = VOLUME_SECTOR;
	params.label = lbl;
	params.subsystem = VOLUME_SUBSYSTEM_NEW;
	if ((r = crypt_init(&cd, device)) < 0)
		return error_set(err, "%s: %s", device, strerror(-r));
	if ((r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL,
	    NULL, VOLUME_KEY_BITS / 8, &params)) < 0) {
		error_set(err, "%s: LUKS2 format failed: %s", device,
		    strerror(-r));
		goto fail;
	}
	if ((r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0,
	    (const char *)key, keylen)) < 0) {
		error_set(err, "%s: adding the keyslot failed: %s", device,
		    strerror(-r));
		goto fail;
	}
	crypt_free(cd);
	/* Read the header back and open it with the key, as a fresh
	 * process would. */
	if (volume_check_key(device, key, keylen, err) < 0)
		return error_prefix(err, "after formatting");
	return 0;
fail:
	crypt_free(cd);
	return -1;
}

int
volume_check_key(const char *device, const uint8_t *key, size_t keylen,
    struct error *err)
{
	struct crypt_device *cd;
	int r;

	if (volume_load(device, &cd, err) != 0)
		return -1;
	r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT,
	    (const char *)key, keylen, 0);
	crypt_free(cd);
	if (r == -EPERM)
		return error_set(err, "the key does not open %s (wrong key for "
		    "its LUKS header)", device);
	if (r < 0)
		return error_set(err, "%s: checking the key failed: %s", device,
		    strerror(-r));
	return r;
}

int
volume_rekey(const char *device, const uint8_t *old_key, size_t old_len,
    const uint8_t *new_key, size_t new_len, const char *new_label,
    const struct volume_pbkdf *pbkdf, struct error *err)
{
	struct crypt_device *cd;
	struct crypt_pbkdf_type pt;
	char lbl[VOLUME_LABEL_MAX + 1], sub[VOLUME_LABEL_MAX + 1];
	int old_slot, new_slot, r;

	if (new_len == 0)
		return error_set(err, "the new key is empty");
	if (old_len == new_len && sodium_memcmp(old_key, new_key, old_len) ==
	    0)
		return error_set(err, "the new key is the old key");
	if (volume_load(device, &cd, err) != 0)
		return -1;
	old_slot = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT,
	    (const char *)old_key, old_len, 0);
	if (old_slot < 0) {
		error_set(err, "the current key does not open %s: %s", device,
		    old_slot == -EPERM ? "wrong key" : strerror(-old_slot));
		goto fail;
	}
	new_slot = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT,
	    (const char *)new_key, new_len, 0);
	if (new_slot < 0) {
		volume_pbkdf_type(pbkdf, &pt);
		if ((r = crypt_set_pbkdf_type(cd, &pt)) < 0) {
			error_set(err, "%s: argon2id settings refused: %s",
			    device, strerror(-r));
			goto fail;
		}
		new_slot = crypt_keyslot_add_by_passphrase(cd, CRYPT_ANY_SLOT,
		    (const char *)old_key, old_len, (const char *)new_key,
		    new_len);
		if (new_slot < 0) {
			error_set(err, "%s: adding a keyslot for the new key "
			    "failed: %s", device, strerror(-new_slot));
			goto fail;
		}
		/* The new slot must open before the old one goes. */
		r = crypt_activate_by_passphrase(cd, NULL, new_slot,
		    (const char *)new_key, new_len, 0);
		if (r < 0) {
			error_set(err, "%s: the new keyslot %d does not open "
			    "(%s); the old key still does", device, new_slot,
			    strerror(-r));
			goto fail;
		}
	}
	if (new_slot != old_slot &&
	    (r = crypt_keyslot_destroy(cd, old_slot)) < 0) {
		error_set(err, "%s: removing the old keyslot %d failed: %s "
		    "(both keys open the volume now)", device, old_slot,
		    strerror(-r));
		goto fail;
	}
	volume_label(new_label, lbl);
	/* Keep the subsystem: a volume not yet opened stays "new". (A copy:
	 * libcryptsetup's own string goes away while it is set.) */
	volume_label(crypt_get_subsystem(cd), sub);
	if ((r = crypt_set_label(cd, lbl, sub)) < 0)
		log_warnx("%s: cannot update the label: %s", device,
		    strerror(-r));
	crypt_free(cd);
	return 0;
fail:
	crypt_free(cd);
	return -1;
}

/*
 * The kernel registers device-mapper as a misc device; a
 * /dev/mapper/control node alone proves nothing (libdevmapper makes one
 * whenever it is missing, even where the kernel has no device-mapper).
 */
int
volume_is_new(const char *device)
{
	struct crypt_device *cd;
	struct error err;
	const char *sub;
	int n;

	if (volume_load(device, &cd, &err) != 0)
		return 0;
	sub = crypt_get_subsystem(cd);
	n = sub != NULL && strcmp(sub, VOLUME_SUBSYSTEM_NEW) == 0;
	crypt_free(cd);
	return n;
}

int
volume_mark_ready(const char *device, struct error *err)
{
	struct crypt_device *cd;
	char lbl[VOLUME_LABEL_MAX + 1];
	int r;

	if (volume_load(device, &cd, err) != 0)
		return -1;
	volume_label(crypt_get_label(cd), lbl);
	r = crypt_set_label(cd, lbl, VOLUME_SUBSYSTEM);
	crypt_free(cd);
	if (r < 0)
		return error_set(err, "%s: cannot update the header: %s",
		    device, strerror(-r));
	return 0;
}

int
volume_dm_available(struct error *err)
{
	if (access("/sys/class/misc/device-mapper", F_OK) != 0)
		return error_set(err, "dm-crypt is not available: this kernel "
		    "has no device-mapper (/dev/mapper/control does not work; "
		    "it needs the dm_mod and dm_crypt modules)");
	if (access("/dev/mapper/control", R_OK | W_OK) != 0)
		return error_set(err, "dm-crypt is not available: "
		    "/dev/mapper/control: %s (device-mapper needs root)",
		    strerror(errno));
	return 0;
}

int
volume_is_active(const char *name)
{
	crypt_status_info s = crypt_status(NULL, name);

	return s == CRYPT_ACTIVE || s == CRYPT_BUSY;
}

int
volume_activate(const char *device, const char *name, const uint8_t *key,
    size_t keylen, struct error *err)
{
	struct crypt_device *cd;
	int r;

	if (volume_dm_available(err) != 0)
		return -1;
	if (volume_is_active(name))
		return error_set(err, "/dev/mapper/%s is already active "
		    "(device busy); close it first", name);
	if (volume_load(device, &cd, err) != 0)
		return -1;
	r = crypt_activate_by_passphrase(cd, name, CRYPT_ANY_SLOT,
	    (const char *)key, keylen, 0);
	crypt_free(cd);
	if (r == -EPERM)
		return error_set(err, "the key does not open %s (wrong key for "
		    "its LUKS header)", device);
	if (r == -EBUSY)
		return error_set(err, "%s is busy (in use or already mapped)",
		    device);
	if (r < 0)
		return error_set(err, "activating %s as /dev/mapper/%s failed: "
		    "%s", device, name, strerror(-r));
	return 0;
}

int
volume_deactivate(const char *name, struct error *err)
{
	struct crypt_device *cd = NULL;
	int r;

	if (volume_dm_available(err) != 0)
		return -1;
	if (!volume_is_active(name))
		return error_set(err, "/dev/mapper/%s is not active", name);
	if ((r = crypt_init_by_name(&cd, name)) < 0)
		return error_set(err, "/dev/mapper/%s: %s", name, strerror(-r));
	r = crypt_deactivate(cd, name);
	crypt_free(cd);
	if (r == -EBUSY)
		return error_set(err, "/dev/mapper/%s is busy (still mounted "
		    "or open)", name);
	if (r < 0)
		return error_set(err, "closing /dev/mapper/%s failed: %s", name,
		    strerror(-r));
	return 0;
}

int
volume_mkfs(const char *fs, const char *dev, struct error *err)
{
	char *prog = xasprintf("mkfs.%s", fs);
	char *argv[] = { prog, (char *)dev, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		error_set(err, "%s: %s", prog, strerror(r));
		free(prog);
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		error_set(err, "%s %s failed (status %d)", prog, dev,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		free(prog);
		return -1;
	}
	free(prog);
	return 0;
}

int
volume_mount(const char *dev, const char *dir, const char *fs,
    struct error *err)
{
	if (dir_create(dir, 0700, err) != 0)
		return -1;
	if (mount(dev, dir, fs, MS_NOATIME | MS_NODEV | MS_NOSUID, NULL) != 0)
		return error_set(err, "mounting %s on %s (%s): %s", dev, dir,
		    fs, errno == EBUSY ? "busy (already mounted?)" :
		    strerror(errno));
	return 0;
}

int
volume_umount(const char *dir, int *was_mounted, struct error *err)
{
	*was_mounted = 0;
	if (umount2(dir, 0) == 0) {
		*was_mounted = 1;
		return 0;
	}
	if (errno == EINVAL || errno == ENOENT)
		return 0;	/* not a mount point */
	if (errno == EBUSY)
		return error_set(err, "%s is busy (files open on it): not "
		    "unmounted", dir);
	return error_set(err, "unmounting %s: %s", dir, strerror(errno));
}
