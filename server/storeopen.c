/*
 * storeopen.c: INTEGRATION POINT with branch `storecore`: open the store
 * the configuration names, with the master key unsealed by its [sealer].
 * The daemon (trusteed.c) and `trusteed setup` (setup.c) both come through
 * here, so that when storecore lands only this file changes: its body
 * becomes "fill struct store_options (dsn, password_file, state_dir, the
 * seal_config, create, exclusive) and call store_open()", and the sealed
 * key moves from the file below into the database's _instances table.
 *
 * STAND-IN behaviour until then:
 *   - sealer "file" (or no [sealer]): as before, the data key is the file
 *     data_key_file ([sealer] key_file), created when missing;
 *   - any other sealer: the 32-byte key is kept sealed (seal_wrap's blob)
 *     in <state_dir>/master.sealed, made only when create is set (that is,
 *     by `trusteed setup`); <state_dir>/instance-id is written beside it,
 *     as storecore does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "../lib/log.h"
#include "../store/seal.h"
#include "trusteed.h"

#define STOREOPEN_SEALED	"master.sealed"
#define STOREOPEN_BLOB_MAX	(64 * 1024)

void
storeopen_seal_config(const struct config *cfg, struct seal_config *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = cfg->seal_kind != NULL ? cfg->seal_kind : cfg->sealer;
	out->tpm2_tcti = cfg->seal_tpm2_tcti;
	out->tpm2_pcrs = cfg->seal_tpm2_pcrs;
	out->snp_device = cfg->seal_snp_device;
	out->passphrase_fd = cfg->seal_passphrase_fd;
	out->passphrase_file = cfg->seal_passphrase_file;
	out->passphrase_credential = cfg->seal_passphrase_credential;
	out->key_file = cfg->seal_key_file != NULL ? cfg->seal_key_file :
	    cfg->data_key_file;
}

static int
storeopen_present(const char *path)
{
	struct stat sb;

	return path != NULL && stat(path, &sb) == 0;
}

int
storeopen_exists(const struct config *cfg)
{
	char *sealed = xasprintf("%s/" STOREOPEN_SEALED, cfg->state_dir);
	int yes;

	yes = storeopen_present(sealed) ||
	    storeopen_present(cfg->data_key_file) ||
	    storeopen_present(cfg->seal_key_file) ||
	    storeopen_present(cfg->store_path);
	free(sealed);
	return yes;
}

/* <state_dir>/instance-id: 128 random bits in hex, kept when present. */
static int
storeopen_instance_id(const char *state_dir, struct error *err)
{
	char *path = xasprintf("%s/instance-id", state_dir);
	uint8_t id[16];
	char hex[sizeof(id) * 2 + 2];
	int rc = 0;

	if (!storeopen_present(path)) {
		randombytes_buf(id, sizeof(id));
		hex_encode(id, sizeof(id), hex);
		strcat(hex, "\n");
		rc = file_write_atomic(path, hex, strlen(hex), 0644, err);
	}
	free(path);
	return rc;
}

/* The 32-byte master key from its sealed blob, or a new one sealed. */
static int
storeopen_sealed_key(const struct config *cfg, const struct seal_config *seal,
    int create, uint8_t key[32], struct error *err)
{
	char *path = xasprintf("%s/" STOREOPEN_SEALED, cfg->state_dir);
	uint8_t *blob = NULL;
	size_t blen = 0, len = 0;
	int rc = -1;

	if (storeopen_present(path)) {
		if (file_read_all(path, STOREOPEN_BLOB_MAX, &blob, &blen, err) !=
		    0)
			goto out;
		if (seal_unwrap(seal, blob, blen, key, 32, &len, err) != 0)
			goto out;
		if (len != 32) {
			sodium_memzero(key, 32);
			error_set(err, "%s: the sealed key has %zu bytes, not 32",
			    path, len);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (!create) {
		error_set(err, "%s: no sealed key: this instance is not set up "
		    "(run `trusteed setup`)", path);
		goto out;
	}
	randombytes_buf(key, 32);
	if (seal_wrap(seal, key, 32, &blob, &blen, err) != 0 ||
	    file_write_atomic(path, blob, blen, 0600, err) != 0 ||
	    storeopen_instance_id(cfg->state_dir, err) != 0) {
		sodium_memzero(key, 32);
		goto out;
	}
	rc = 0;
out:
	free(blob);
	free(path);
	return rc;
}

struct store *
storeopen_open(const struct config *cfg, const struct seal_config *seal,
    int create, struct error *err)
{
	const struct store_backend *backend;
	struct seal_config own;
	struct store *st;
	uint8_t key[32];
	char desc[128];
	const struct sealer *s;

	if (seal == NULL) {
		storeopen_seal_config(cfg, &own);
		seal = &own;
	}
	backend = store_backend_lookup(cfg->store_type);
	if (backend == NULL) {
		error_set(err, "unknown store type '%s'", cfg->store_type);
		return NULL;
	}
	if ((s = seal_lookup(seal->kind, err)) == NULL)
		return NULL;
	if (dir_create(cfg->state_dir, 0700, err) != 0)
		return NULL;
	if (strcmp(seal->kind, "file") == 0) {
		if (seal_file_load(seal->key_file, 1, key, err) != 0)
			return NULL;
	} else {
		if (storeopen_sealed_key(cfg, seal, create, key, err) != 0)
			return NULL;
		s->describe(seal, desc, sizeof(desc));
		log_info("master key unsealed by %s", desc);
	}
	st = store_open(backend, cfg->store_path, key, err);
	sodium_memzero(key, sizeof(key));
	return st;
}
