/*
 * config_store.c: the [storage], [store] and [sealer] sections of
 * trusteed's configuration (where the database is, how long to wait for
 * it, how its data key is sealed), the rules between them, the files that
 * follow state_dir, and the store and sealer options built from them.
 * The loader itself is config.c (config_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../store/seal.h"
#include "config_int.h"
#include "trusteed.h"

static const char *const store_types[] = { "sqlite", NULL };
static const char *const sealers[] = { "file", NULL };

/* "tdx" is a choice so that it gets its own message (config_store_rules). */
static const char *const seal_kinds[] = { "file", "tpm2", "snp",
	"passphrase", "tdx", NULL };

/* Seconds as an integer or a float, stored in milliseconds. */
static void
set_seconds_ms(struct loader *ld, struct config *cfg,
    const struct key_def *def, json_t *v, int line)
{
	double s;

	if (json_is_integer(v))
		s = (double)json_integer_value(v);
	else if (json_is_real(v))
		s = json_real_value(v);
	else {
		config_wrong_type(ld, def, v, line, "a number of seconds");
		return;
	}
	if (s * 1000 < (double)def->min || s * 1000 > (double)def->max) {
		config_problem(ld, line, "%s.%s: %g seconds is out of range "
		    "%g..%g", def->section, def->key, s,
		    (double)def->min / 1000, (double)def->max / 1000);
		return;
	}
	*config_field_int(cfg, def) = (int)(s * 1000 + 0.5);
}

/* A DSN: checked by the store's parser (which never echoes a password);
 * a relative sqlite path is taken from the config file's directory. */
static void
set_dsn(struct loader *ld, struct config *cfg, const struct key_def *def,
    json_t *v, int line)
{
	struct store_dsn *dsn;
	struct error err;
	const char *s;
	char *abs;

	if ((s = config_get_string(ld, def, v, line)) == NULL)
		return;
	if (store_dsn_parse(s, NULL, 0, &dsn, &err) != 0) {
		config_problem(ld, line, "store.dsn: %s", strncmp(err.msg,
		    "store: ", 7) == 0 ? err.msg + 7 : err.msg);
		return;
	}
	store_dsn_free(dsn);
	free(cfg->store_dsn);
	if (strncmp(s, "sqlite:", 7) == 0 && s[7] != '/') {
		abs = config_resolve(ld, s + 7);
		cfg->store_dsn = xasprintf("sqlite:%s", abs);
		free(abs);
	} else
		cfg->store_dsn = xstrdup(s);
}

/* Keys of [sealer] that belong to one kind each. */
static const struct {
	const char *key;
	const char *kind;
} sealer_kind_keys[] = {
	{ "key_file", "file" }, { "tcti", "tpm2" }, { "pcrs", "tpm2" },
	{ "device", "snp" }, { "passphrase_file", "passphrase" },
	{ "passphrase_fd", "passphrase" },
	{ "passphrase_credential", "passphrase" },
};

/* [store], [storage] and [sealer] rules that span keys. */
void
config_store_rules(struct loader *ld, struct config *cfg, json_t *doc)
{
	json_t *storage = json_object_get(doc, "storage");
	json_t *store = json_object_get(doc, "store");
	json_t *sealer = json_object_get(doc, "sealer");
	const json_t *lstorage = json_object_get(ld->lines, "storage");
	const json_t *lsealer = json_object_get(ld->lines, "sealer");
	const char *kind = cfg->sealer;
	size_t i;
	int kline = config_first_line(json_object_get(lsealer, "kind"));

	if (json_object_get(store, "dsn") != NULL &&
	    (json_object_get(storage, "path") != NULL ||
	    json_object_get(storage, "type") != NULL))
		config_problem(ld, config_first_line(json_object_get(lstorage,
		    json_object_get(storage, "path") != NULL ? "path" :
		    "type")), "storage.%s and store.dsn both name the "
		    "database; use store.dsn", json_object_get(storage,
		    "path") != NULL ? "path" : "type");
	if (json_object_get(sealer, "kind") != NULL &&
	    json_object_get(storage, "sealer") != NULL)
		config_problem(ld, config_first_line(json_object_get(lstorage,
		    "sealer")), "storage.sealer and sealer.kind are the same "
		    "setting; use sealer.kind");
	if (json_object_get(sealer, "key_file") != NULL &&
	    json_object_get(storage, "data_key_file") != NULL)
		config_problem(ld, config_first_line(json_object_get(lstorage,
		    "data_key_file")), "storage.data_key_file and "
		    "sealer.key_file are the same setting; use "
		    "sealer.key_file");
	if (kind == NULL)
		return;
	if (strcmp(kind, "tdx") == 0) {
		config_problem(ld, kline, "sealer.kind: \"tdx\": TDX offers no "
		    "sealing key; use \"tpm2\" (the TD's vTPM) or "
		    "\"passphrase\"");
		return;
	}
	for (i = 0; i < ARRAY_SIZE(sealer_kind_keys); i++)
		if (json_object_get(sealer, sealer_kind_keys[i].key) != NULL &&
		    strcmp(kind, sealer_kind_keys[i].kind) != 0)
			config_problem(ld,
			    config_first_line(json_object_get(lsealer,
			    sealer_kind_keys[i].key)), "sealer.%s is used only "
			    "with kind = \"%s\" (kind is \"%s\")",
			    sealer_kind_keys[i].key, sealer_kind_keys[i].kind,
			    kind);
	if (strcmp(kind, "passphrase") == 0 &&
	    (json_object_get(sealer, "passphrase_file") != NULL) +
	    (json_object_get(sealer, "passphrase_fd") != NULL) +
	    (json_object_get(sealer, "passphrase_credential") != NULL) != 1)
		config_problem(ld, kline, "sealer.kind \"passphrase\" needs "
		    "exactly one of passphrase_file, passphrase_fd and "
		    "passphrase_credential");
	if (json_object_get(store, "password_file") != NULL && cfg->store_dsn !=
	    NULL && strncmp(cfg->store_dsn, "mariadb:", 8) != 0)
		config_problem(ld,
		    config_first_line(json_object_get(json_object_get(
		    ld->lines, "store"), "password_file")),
		    "store.password_file is used only with a mariadb:// dsn");
}

/* Storage files follow state_dir unless named explicitly. */
void
config_store_paths(struct config *cfg, json_t *doc)
{
	json_t *storage = json_object_get(doc, "storage");

	if (json_object_get(storage, "path") == NULL) {
		free(cfg->store_path);
		cfg->store_path = xasprintf("%s/trustee.db", cfg->state_dir);
	}
	if (json_object_get(storage, "data_key_file") == NULL &&
	    json_object_get(json_object_get(doc, "sealer"), "key_file") ==
	    NULL) {
		free(cfg->data_key_file);
		cfg->data_key_file = xasprintf("%s/data.key", cfg->state_dir);
	}
}

void
config_store_options(const struct config *cfg, struct seal_config *sc,
    struct store_options *so)
{
	memset(sc, 0, sizeof(*sc));
	sc->kind = cfg->sealer;
	sc->tpm2_tcti = cfg->seal_tcti;
	sc->tpm2_pcrs = cfg->seal_pcrs;
	sc->snp_device = cfg->seal_device;
	sc->passphrase_fd = cfg->seal_passphrase_fd;
	sc->passphrase_file = cfg->seal_passphrase_file;
	sc->passphrase_credential = cfg->seal_passphrase_credential;
	sc->key_file = cfg->data_key_file;
	/* The development key file is created on first start. */
	sc->create = cfg->sealer != NULL && strcmp(cfg->sealer, "file") == 0;
	memset(so, 0, sizeof(*so));
	so->dsn = cfg->store_dsn;
	so->password_file = cfg->store_password_file;
	so->state_dir = cfg->state_dir;
	so->seal = sc;
	so->timeout_ms = cfg->store_timeout_ms;
	so->poll_ms = cfg->store_poll_ms;
	so->lease_ms = cfg->store_lease_ms;
	so->create = 1;
	so->exclusive = 1;
	so->background = 1;
}

#define OFF(f) offsetof(struct config, f)

const struct key_def config_store_table[] = {
	{ "storage", "state_dir", config_set_path, OFF(state_dir), 0, 0, NULL },
	{ "storage", "type", config_set_string, OFF(store_type), 0, 0,
	    store_types },
	{ "storage", "path", config_set_path, OFF(store_path), 0, 0, NULL },
	{ "storage", "sealer", config_set_string, OFF(sealer), 0, 0, sealers },
	{ "storage", "data_key_file", config_set_path, OFF(data_key_file), 0, 0,
	    NULL },
	{ "store", "dsn", set_dsn, 0, 0, 0, NULL },
	{ "store", "password_file", config_set_path, OFF(store_password_file),
	    0, 0, NULL },
	{ "store", "timeout", set_seconds_ms, OFF(store_timeout_ms), 100,
	    300000, NULL },
	{ "store", "poll_interval", set_seconds_ms, OFF(store_poll_ms), 50,
	    60000, NULL },
	{ "store", "lease", set_seconds_ms, OFF(store_lease_ms), 0, 10000,
	    NULL },
	{ "store", "stateless_auth", config_set_bool,
	    OFF(store_stateless_auth), 0, 0, NULL },
	{ "sealer", "kind", config_set_string, OFF(sealer), 0, 0, seal_kinds },
	{ "sealer", "key_file", config_set_path, OFF(data_key_file), 0, 0,
	    NULL },
	{ "sealer", "tcti", config_set_string, OFF(seal_tcti), 0, 0, NULL },
	{ "sealer", "pcrs", config_set_string, OFF(seal_pcrs), 0, 0, NULL },
	{ "sealer", "device", config_set_path, OFF(seal_device), 0, 0, NULL },
	{ "sealer", "passphrase_file", config_set_path,
	    OFF(seal_passphrase_file), 0, 0, NULL },
	{ "sealer", "passphrase_fd", config_set_int, OFF(seal_passphrase_fd), 0,
	    1023, NULL },
	{ "sealer", "passphrase_credential", config_set_string,
	    OFF(seal_passphrase_credential), 0, 0, NULL },
	{ NULL, NULL, NULL, 0, 0, 0, NULL }
};
