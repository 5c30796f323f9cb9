/*
 * cmd_volume.c: trusteectl volume open|close|format|check|rekey. Each
 * reads a contract (contract.h), attests to the KBS it names as the TEE
 * it names, fetches the volume key (straight into locked memory) and
 * carries out the LUKS2 step (volume.h). Keys never reach argv, the
 * environment, a file or swap, and the process is not dumpable while it
 * holds one. docs/volumes.md tells the whole flow.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/guest.h"
#include "../lib/httpc.h"
#include "../lib/log.h"
#include "attest.h"
#include "contract.h"
#include "trusteectl.h"
#include "volume.h"

/* A key released by the KBS, in sodium (locked) memory. */
struct vkey {
	uint8_t *data;
	size_t len;
};

static void
vkey_free(struct vkey *k)
{
	if (k->data != NULL)
		sodium_free(k->data);
	k->data = NULL;
	k->len = 0;
}

/* Options: --contract FILE (and, for rekey, --new-key PATH). */
static int
volume_opts(struct ctx *ctx, int argc, char **argv, int rekey,
    struct contract *c, const char **new_key)
{
	static const struct option opts[] = {
		{ "contract", required_argument, NULL, 'c' },
		{ "new-key", required_argument, NULL, 'n' },
		CTL_OPTS_END
	};
	struct error err = { "" };
	const char *file = NULL, *nk = NULL;
	int ch, rc;

	while ((ch = ctl_getopt(ctx, argc, argv, ":c:h", opts, &rc)) > 0) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'n':
			if (!rekey)
				return ctl_usage(ctx, "unknown option "
				    "'--new-key' (only volume rekey takes it)");
			nk = optarg;
			break;
		}
	}
	if (ch == -1)
		return rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, "")) != -1)
		return rc;
	if (file == NULL)
		return ctl_usage(ctx, "missing --contract FILE");
	if (rekey) {
		if (nk == NULL)
			return ctl_usage(ctx, "missing --new-key "
			    "REPO/TYPE/TAG");
		if ((*new_key = contract_resource_path(nk)) == NULL)
			return ctl_usage(ctx, "--new-key: invalid resource "
			    "path '%s': expected REPO/TYPE/TAG", nk);
	}
	if (contract_load(file, c, &err) != 0) {
		fprintf(stderr, "trusteectl: %s\n", err.msg);
		return EXIT_USAGE;
	}
	return -1;
}

static void
volume_label(const char *path, char *out, size_t cap)
{
	snprintf(out, cap, "kbs:///%s", path);
}

/* Report a guest-side failure after what failed: EXIT_CONN when the KBS
 * was unreachable (the message starts with its URL), else EXIT_FAIL. */
static int
volume_fail(const struct error *err, const char *what)
{
	int conn = strncmp(err->msg, "http://", 7) == 0 ||
	    strncmp(err->msg, "https://", 8) == 0;

	ctl_fail("%s: %s", what, err->msg);
	return conn ? EXIT_CONN : EXIT_FAIL;
}

/*
 * Attest to the contract's KBS and fetch the key resources named in
 * paths (n of them) into keys[]. Returns an exit code.
 */
static int
volume_keys(struct ctx *ctx, const struct contract *c, const char **paths,
    struct vkey *keys, size_t n)
{
	struct attest_cfg cfg;
	struct error err = { "" };
	struct httpc *http;
	struct guest *g = NULL;
	char *rpath, what[CONTRACT_NAME_MAX + 400];
	size_t i;
	int rc = EXIT_FAIL;

	/* From here on this process holds secrets: no core dumps, no
	 * ptrace by other users. */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.tcti = c->tcti;
	cfg.timeout_s = ctx->timeout_s;
	if ((http = httpc_new(c->url, c->cert, ctx->timeout_s, &err)) == NULL)
		return ctl_fail("kbs.url: %s", err.msg);
	if ((g = guest_new(GUEST_KEY_P256, &err)) == NULL) {
		ctl_fail("%s", err.msg);
		goto out;
	}
	if (ctl_guest_attest(g, http, c->tee, &cfg, NULL, NULL, 0, &err) != 0) {
		rc = volume_fail(&err, "attestation refused or failed");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rpath = xasprintf("resource/%s", paths[i]);
		if (guest_get_locked(g, http, rpath, 0, &keys[i].data,
		    &keys[i].len, &err) != 0) {
			free(rpath);
			snprintf(what, sizeof(what), "key %s not released",
			    paths[i]);
			rc = volume_fail(&err, what);
			goto out;
		}
		free(rpath);
		if (keys[i].len == 0) {
			ctl_fail("key %s is empty", paths[i]);
			goto out;
		}
		log_debug("volume: key %s released (%zu bytes)", paths[i],
		    keys[i].len);
	}
	rc = EXIT_OK;
out:
	if (rc != EXIT_OK)
		for (i = 0; i < n; i++)
			vkey_free(&keys[i]);
	guest_free(g);
	httpc_free(http);
	return rc;
}

static void
volume_pbkdf(const struct contract *c, struct volume_pbkdf *p)
{
	p->memory_kib = c->pbkdf_memory;
	p->time_ms = c->pbkdf_time;
}

/*
 * Make sure the device has a header the key opens: format it when it is
 * empty and allowed (*formatted 1), else check the key. Returns an exit
 * code.
 */
static int
volume_prepare(const struct contract *c, const struct vkey *k, int allow,
    int *formatted)
{
	struct error err = { "" };
	struct volume_pbkdf p;
	enum volume_state st;
	char label[64];
	int slot;

	*formatted = 0;
	if (volume_probe(c->device, &st, &err) != 0)
		return ctl_fail("%s", err.msg);
	switch (st) {
	case VOLUME_LUKS:
		if ((slot = volume_check_key(c->device, k->data, k->len,
		    &err)) < 0)
			return ctl_fail("%s; refusing to go on (the device is "
			    "never reformatted)", err.msg);
		log_debug("volume: key opens keyslot %d", slot);
		return EXIT_OK;
	case VOLUME_EMPTY:
		if (!allow)
			return ctl_fail("%s has no LUKS header and the "
			    "contract says format = \"never\"", c->device);
		volume_pbkdf(c, &p);
		volume_label(c->key, label, sizeof(label));
		if (volume_format(c->device, k->data, k->len, label, &p,
		    &err) != 0)
			return ctl_fail("%s", err.msg);
		*formatted = 1;
		return EXIT_OK;
	default:
		return ctl_fail("%s has no LUKS header but is not empty (its "
		    "first MiB holds data): refusing to format it", c->device);
	}
}

int
cmd_volume_open(struct ctx *ctx, int argc, char **argv)
{
	struct contract c;
	struct error err = { "" };
	struct vkey k = { NULL, 0 };
	const char *paths[1];
	char *mapper = NULL;
	int rc, formatted = 0, first;

	if ((rc = volume_opts(ctx, argc, argv, 0, &c, NULL)) != -1)
		return rc;
	volume_init();
	/* Say what cannot work before asking the KBS for anything. */
	if (volume_dm_available(&err) != 0) {
		rc = ctl_fail("%s", err.msg);
		goto out;
	}
	if (volume_is_active(c.name)) {
		rc = ctl_fail("/dev/mapper/%s is already active (device busy); "
		    "volume close first", c.name);
		goto out;
	}
	if (access(c.device, R_OK | W_OK) != 0) {
		rc = ctl_fail("%s: cannot open for reading and writing",
		    c.device);
		goto out;
	}
	paths[0] = c.key;
	if ((rc = volume_keys(ctx, &c, paths, &k, 1)) != EXIT_OK)
		goto out;
	if ((rc = volume_prepare(&c, &k, c.format_if_empty, &formatted)) !=
	    EXIT_OK)
		goto out;
	if (volume_activate(c.device, c.name, k.data, k.len, &err) != 0) {
		rc = ctl_fail("%s", err.msg);
		goto out;
	}
	vkey_free(&k);
	mapper = xasprintf("/dev/mapper/%s", c.name);
	/* First open of a volume formatted here (now, or by an earlier run
	 * or `volume format` that did not get this far): make the file
	 * system, then record that it exists. */
	first = formatted || volume_is_new(c.device);
	if (first && c.filesystem != NULL &&
	    volume_mkfs(c.filesystem, mapper, &err) != 0) {
		rc = ctl_fail("%s (the volume stays open as %s)", err.msg,
		    mapper);
		goto out;
	}
	if (first && volume_mark_ready(c.device, &err) != 0) {
		rc = ctl_fail("%s (the volume stays open as %s)", err.msg,
		    mapper);
		goto out;
	}
	if (c.mount != NULL &&
	    volume_mount(mapper, c.mount, c.filesystem, &err) != 0) {
		rc = ctl_fail("%s (the volume stays open as %s)", err.msg,
		    mapper);
		goto out;
	}
	printf("opened %s as %s%s%s%s\n", c.device, mapper,
	    formatted ? " (formatted: new LUKS2 volume)" : first &&
	    c.filesystem ? " (file system made)" : "",
	    c.mount ? ", mounted on " : "", c.mount ? c.mount : "");
	rc = EXIT_OK;
out:
	vkey_free(&k);
	free(mapper);
	contract_clear(&c);
	return rc;
}

int
cmd_volume_close(struct ctx *ctx, int argc, char **argv)
{
	struct contract c;
	struct error err = { "" };
	int rc, was = 0;

	if ((rc = volume_opts(ctx, argc, argv, 0, &c, NULL)) != -1)
		return rc;
	volume_init();
	if (c.mount != NULL && volume_umount(c.mount, &was, &err) != 0) {
		rc = ctl_fail("%s", err.msg);
		goto out;
	}
	if (volume_deactivate(c.name, &err) != 0) {
		rc = ctl_fail("%s", err.msg);
		goto out;
	}
	printf("closed /dev/mapper/%s%s%s\n", c.name,
	    was ? ", unmounted " : "", was ? c.mount : "");
	rc = EXIT_OK;
out:
	contract_clear(&c);
	return rc;
}

int
cmd_volume_format(struct ctx *ctx, int argc, char **argv)
{
	struct contract c;
	struct vkey k = { NULL, 0 };
	const char *paths[1];
	int rc, formatted = 0;

	if ((rc = volume_opts(ctx, argc, argv, 0, &c, NULL)) != -1)
		return rc;
	volume_init();
	paths[0] = c.key;
	if ((rc = volume_keys(ctx, &c, paths, &k, 1)) != EXIT_OK)
		goto out;
	if ((rc = volume_prepare(&c, &k, 1, &formatted)) != EXIT_OK)
		goto out;
	if (formatted)
		printf("formatted %s: LUKS2, argon2id, keyed by %s\n",
		    c.device, c.key);
	else
		printf("%s already has a LUKS header that %s opens: left as "
		    "it is\n", c.device, c.key);
out:
	vkey_free(&k);
	contract_clear(&c);
	return rc;
}

int
cmd_volume_check(struct ctx *ctx, int argc, char **argv)
{
	struct contract c;
	struct error err = { "" };
	struct vkey k = { NULL, 0 };
	const char *paths[1];
	int rc, slot;

	if ((rc = volume_opts(ctx, argc, argv, 0, &c, NULL)) != -1)
		return rc;
	volume_init();
	paths[0] = c.key;
	if ((rc = volume_keys(ctx, &c, paths, &k, 1)) != EXIT_OK)
		goto out;
	if ((slot = volume_check_key(c.device, k.data, k.len, &err)) < 0) {
		rc = ctl_fail("%s", err.msg);
		goto out;
	}
	printf("%s opens keyslot %d of %s\n", c.key, slot, c.device);
	rc = EXIT_OK;
out:
	vkey_free(&k);
	contract_clear(&c);
	return rc;
}

int
cmd_volume_rekey(struct ctx *ctx, int argc, char **argv)
{
	struct contract c;
	struct error err = { "" };
	struct vkey k[2] = { { NULL, 0 }, { NULL, 0 } };
	struct volume_pbkdf p;
	const char *paths[2], *nk = NULL;
	char label[64];
	int rc;

	if ((rc = volume_opts(ctx, argc, argv, 1, &c, &nk)) != -1)
		return rc;
	volume_init();
	if (strcmp(nk, c.key) == 0) {
		rc = ctl_usage(ctx, "--new-key names the contract's own key");
		goto out;
	}
	paths[0] = c.key;
	paths[1] = nk;
	if ((rc = volume_keys(ctx, &c, paths, k, 2)) != EXIT_OK)
		goto out;
	volume_pbkdf(&c, &p);
	volume_label(nk, label, sizeof(label));
	if (volume_rekey(c.device, k[0].data, k[0].len, k[1].data, k[1].len,
	    label, &p, &err) != 0) {
		rc = ctl_fail("%s", err.msg);
		goto out;
	}
	printf("rekeyed %s: %s opens it, %s no longer does; set key = \"%s\" "
	    "in the contract\n", c.device, nk, c.key, nk);
	rc = EXIT_OK;
out:
	vkey_free(&k[0]);
	vkey_free(&k[1]);
	contract_clear(&c);
	return rc;
}
