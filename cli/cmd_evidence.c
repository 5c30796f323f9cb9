/*
 * cmd_evidence.c: `trusteectl evidence verify`, the attestation verifiers
 * run locally on a file (no server): the same code trusteed runs at
 * /attest (libtrusteed.a), configured from the command line. Prints the
 * verifier's raw claims as pretty JSON on stdout, or the precise reason
 * on stderr. Exit 0 verified, 1 rejected (or unreadable input), 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../verifier/verifier.h"
#include "trusteectl.h"

/* Evidence files: a DCAP quote is ~5 KiB, an Azure vTPM JSON ~30 KiB, a
 * TDX CCEL 1 MiB (2.7 MiB as base64 in JSON). */
#define EVIDENCE_MAX	(16u * 1024 * 1024)
/* --report-data / --init-data-hash: the verifiers compare at most 64
 * bytes; allow longer values so they can say what they expected. */
#define EXPECTED_MAX	128

struct evidence_opts {
	const char *tee;
	const char *evidence;
	uint8_t report_data[EXPECTED_MAX];
	size_t report_data_len;
	int has_report_data;
	uint8_t init_data_hash[EXPECTED_MAX];
	size_t init_data_hash_len;
	int has_init_data_hash;
	int64_t at;
	int raw;
	struct verifier_config cfg;
};

/* Decode a hex option value (an optional 0x prefix is allowed). */
static int
evidence_hex_opt(struct ctx *ctx, const char *name, const char *s,
    uint8_t *out, size_t *outlen)
{
	if (strncmp(s, "0x", 2) == 0 || strncmp(s, "0X", 2) == 0)
		s += 2;
	if (strlen(s) > 2 * EXPECTED_MAX)
		return ctl_usage(ctx, "%s: at most %d bytes (%d hex digits)",
		    name, EXPECTED_MAX, 2 * EXPECTED_MAX);
	if (hex_decode(s, out, EXPECTED_MAX, outlen) == -1)
		return ctl_usage(ctx, "%s: expected an even number of hex "
		    "digits, got '%s'", name, s);
	return 0;
}

static int
evidence_parse_opts(struct ctx *ctx, int argc, char **argv,
    struct evidence_opts *o)
{
	static const struct option opts[] = {
		{ "tee", required_argument, NULL, 'T' },
		{ "evidence", required_argument, NULL, 'e' },
		{ "report-data", required_argument, NULL, 'r' },
		{ "init-data-hash", required_argument, NULL, 'i' },
		{ "at", required_argument, NULL, 'a' },
		{ "collateral", required_argument, NULL, 'C' },
		{ "cert-cache", required_argument, NULL, 'c' },
		{ "vcek", required_argument, NULL, 'V' },
		{ "raw", no_argument, NULL, 'R' },
		{ "kds-url", required_argument, NULL, 'K' },
		{ "pccs-url", required_argument, NULL, 'P' },
		CTL_OPTS_END
	};
	const char *at = NULL;
	int ch, rc;

	memset(o, 0, sizeof(*o));
	while ((ch = ctl_getopt(ctx, argc, argv, ":h", opts, &rc)) > 0) {
		switch (ch) {
		case 'T':
			o->tee = optarg;
			break;
		case 'e':
			o->evidence = optarg;
			break;
		case 'r':
			if (evidence_hex_opt(ctx, "--report-data", optarg,
			    o->report_data, &o->report_data_len) != 0)
				return EXIT_USAGE;
			o->has_report_data = 1;
			break;
		case 'i':
			if (evidence_hex_opt(ctx, "--init-data-hash", optarg,
			    o->init_data_hash, &o->init_data_hash_len) != 0)
				return EXIT_USAGE;
			o->has_init_data_hash = 1;
			break;
		case 'a':
			at = optarg;
			break;
		case 'C':
			o->cfg.dcap_collateral = optarg;
			break;
		case 'c':
			/* One cache directory serves both vendors' layouts. */
			o->cfg.snp_cert_cache = optarg;
			o->cfg.dcap_cache_dir = optarg;
			break;
		case 'V':
			o->cfg.snp_vek_file = optarg;
			break;
		case 'R':
			o->raw = 1;
			break;
		case 'K':
			o->cfg.snp_kds_url = optarg;
			break;
		case 'P':
			o->cfg.dcap_pccs_url = optarg;
			break;
		}
	}
	if (ch == -1)	/* -1 after --help: the caller exits 0 */
		return rc == EXIT_OK ? -1 : rc;
	if ((rc = ctl_operands(ctx, argc, argv, 0, NULL, NULL)) != -1)
		return rc;
	if (o->evidence == NULL)
		return ctl_usage(ctx, "missing --evidence FILE");
	if (at == NULL)
		o->at = now_unix();
	else if (time_parse_rfc3339(at, &o->at) == -1)
		return ctl_usage(ctx, "--at: expected an RFC 3339 time such as "
		    "2025-07-01T00:00:00Z, got '%s'", at);
	if (o->tee != NULL && verifier_lookup(o->tee) == NULL &&
	    !verifier_tee_known(o->tee))
		return ctl_usage(ctx, "--tee: unknown TEE '%s' (this build "
		    "verifies snp, tdx, sgx, tpm, az-snp-vtpm, az-tdx-vtpm, "
		    "sample, and the devices nvidia and sampledevice)", o->tee);
	return 0;
}

/*
 * A device's evidence inside a tee-evidence object: the member named tee
 * of its additional_evidence (a JSON string holding {TEE: evidence}), or
 * NULL when there is none. A new reference.
 */
static json_t *
evidence_device(const json_t *te, const char *tee)
{
	const json_t *ae = json_object_get(te, "additional_evidence");
	json_t *map, *ev;

	if (!json_is_string(ae) || json_string_length(ae) == 0)
		return NULL;
	map = json_loads(json_string_value(ae), 0, NULL);
	ev = json_incref(json_object_get(map, tee));
	json_decref(map);
	return ev;
}

/*
 * The evidence JSON a guest sends: the TEE's evidence object itself, or
 * (for convenience) the whole /attest body or its tee-evidence member, of
 * which the primary_evidence (an object, or a JSON string holding one) is
 * taken - or, for a device TEE (nvidia, sampledevice), its entry of
 * additional_evidence. Returns a new reference.
 */
static json_t *
evidence_unwrap(json_t *doc, const char *tee, struct error *err)
{
	json_t *te, *pe, *inner, *dev;
	const char *cls = tee != NULL ? verifier_tee_class(tee) : NULL;

	te = json_object_get(doc, "tee-evidence");
	if (te == NULL)
		te = doc;
	if (json_is_string(te)) {
		inner = json_loads(json_string_value(te), 0, NULL);
		if (inner == NULL)
			return error_set(err, "tee-evidence is a string that "
			    "is not JSON"), NULL;
		te = inner;
	} else {
		json_incref(te);
	}
	if (!json_is_object(te)) {
		json_decref(te);
		return error_set(err, "evidence is not a JSON object"), NULL;
	}
	if (cls != NULL && strcmp(cls, "cpu") != 0 &&
	    (dev = evidence_device(te, tee)) != NULL) {
		json_decref(te);
		return dev;
	}
	pe = json_object_get(te, "primary_evidence");
	if (pe == NULL)
		return te;
	if (json_is_string(pe)) {
		inner = json_loads(json_string_value(pe), 0, NULL);
		json_decref(te);
		if (inner == NULL)
			return error_set(err, "primary_evidence is a string "
			    "that is not JSON"), NULL;
		return inner;
	}
	json_incref(pe);
	json_decref(te);
	return pe;
}

/*
 * Turn the file into evidence JSON for a backend: JSON as is, raw binary
 * (forced by --raw or recognised by verifier_detect_raw) through the
 * backend's wrap_raw. Picks the backend when --tee was not given.
 * Returns EXIT_OK, EXIT_FAIL or EXIT_USAGE (message printed).
 */
static int
evidence_load(struct ctx *ctx, struct evidence_opts *o,
    const struct verifier_backend **backend, json_t **evidence)
{
	struct error err = { "" };
	const struct verifier_backend *b;
	const char *detected = NULL;
	json_t *doc = NULL;
	uint8_t *data;
	size_t len;
	int raw = o->raw;

	*evidence = NULL;
	if (file_read_all(o->evidence, EVIDENCE_MAX, &data, &len, &err) != 0)
		return ctl_fail("%s", err.msg);
	if (!raw) {
		doc = json_loadb((const char *)data, len, 0, NULL);
		if (doc == NULL) {
			detected = verifier_detect_raw(data, len);
			if (detected == NULL) {
				free(data);
				return ctl_fail("%s: neither JSON evidence nor "
				    "a raw SNP report, DCAP quote or "
				    "TPMS_ATTEST (use --raw --tee TEE to force "
				    "raw input)", o->evidence);
			}
			raw = 1;
		}
	} else {
		detected = verifier_detect_raw(data, len);
	}
	if (o->tee == NULL) {
		if (!raw) {
			json_decref(doc);
			free(data);
			return ctl_usage(ctx, "missing --tee TEE (needed for "
			    "JSON evidence)");
		}
		if (detected == NULL) {
			free(data);
			return ctl_usage(ctx, "cannot tell the TEE of raw "
			    "evidence %s; give --tee", o->evidence);
		}
		o->tee = detected;
	} else if (raw && !o->raw && strcmp(detected, o->tee) != 0) {
		free(data);
		return ctl_fail("%s looks like raw %s evidence, not %s (use "
		    "--raw to force)", o->evidence, detected, o->tee);
	}
	b = verifier_lookup(o->tee);
	if (b == NULL) {
		json_decref(doc);
		free(data);
		return ctl_fail("TEE '%s' is not supported by this build",
		    o->tee);
	}
	if (raw) {
		if (b->wrap_raw == NULL) {
			free(data);
			return ctl_fail("TEE '%s' has no raw evidence form; "
			    "give its evidence JSON", o->tee);
		}
		if (b->wrap_raw(data, len, evidence, &err) != 0) {
			free(data);
			return ctl_fail("%s: %s", o->evidence, err.msg);
		}
	} else {
		*evidence = evidence_unwrap(doc, o->tee, &err);
		json_decref(doc);
		if (*evidence == NULL) {
			free(data);
			return ctl_fail("%s: %s", o->evidence, err.msg);
		}
	}
	free(data);
	*backend = b;
	return EXIT_OK;
}

/*
 * Verified, but with DCAP collateral past its nextUpdate: say so on
 * stderr (the claims carry it too, for policies) so that an operator
 * checking captured evidence is not misled by the exit status.
 */
static void
cmd_evidence_note_expired(const json_t *claims)
{
	const json_t *list = json_object_get(claims, "collateral_expired");
	const json_t *item;
	size_t i;

	if (list == NULL) {
		const char *k;
		const json_t *v;

		json_object_foreach((json_t *)claims, k, v)
			if (json_is_object(v) && (list = json_object_get(v,
			    "collateral_expired")) != NULL)
				break;
	}
	json_array_foreach(list, i, item)
		fprintf(stderr, "trusteectl: note: collateral expired: %s\n",
		    json_string_value(item));
}

/*
 * What a multi-device verifier found: one claims object as for any TEE
 * when the evidence held one device, else an array of {"tee_class",
 * "claims"} or {"tee_class", "unverified": reason}. A new reference, or
 * NULL (message printed) when the only device is not verifiable.
 */
static json_t *
cmd_evidence_devices(const struct verifier_backend *b,
    struct verifier_device *dev, size_t n, int *unverified)
{
	json_t *out;
	size_t i;

	*unverified = 0;
	if (n == 1 && dev[0].claims != NULL) {
		out = dev[0].claims;
		dev[0].claims = NULL;
		return out;
	}
	if (n == 1) {
		ctl_fail("%s evidence not verified: %s", b->tee, dev[0].reason);
		return NULL;
	}
	out = json_array();
	for (i = 0; i < n; i++) {
		if (dev[i].claims != NULL) {
			json_array_append_new(out, json_pack("{s:s, s:O}",
			    "tee_class", dev[i].tee_class, "claims",
			    dev[i].claims));
			continue;
		}
		json_array_append_new(out, json_pack("{s:s, s:s}", "tee_class",
		    dev[i].tee_class, "unverified", dev[i].reason));
		fprintf(stderr, "trusteectl: device %zu not verified: %s\n", i,
		    dev[i].reason);
		*unverified = 1;
	}
	return out;
}

int
cmd_evidence_verify(struct ctx *ctx, int argc, char **argv)
{
	struct error err = { "" };
	const struct verifier_backend *b = NULL;
	struct verifier_device dev[VERIFIER_DEVICES_MAX];
	struct verifier_input in;
	struct evidence_opts o;
	json_t *evidence = NULL, *claims = NULL;
	size_t n = 0;
	char *out;
	int rc, unverified = 0;

	rc = evidence_parse_opts(ctx, argc, argv, &o);
	if (rc != 0)
		return rc == -1 ? EXIT_OK : rc;
	/* The configuration must be in place before wrap_raw (which may
	 * read certificates named there). */
	verifier_configure(&o.cfg);
	rc = evidence_load(ctx, &o, &b, &evidence);
	if (rc != EXIT_OK)
		return rc;

	memset(&in, 0, sizeof(in));
	in.evidence = evidence;
	if (o.has_report_data) {
		in.report_data = o.report_data;
		in.report_data_len = o.report_data_len;
	}
	if (o.has_init_data_hash) {
		in.init_data_hash = o.init_data_hash;
		in.init_data_hash_len = o.init_data_hash_len;
	}
	in.now = o.at;
	if (verifier_verify_all(b, &in, dev, &n, &err) != 0) {
		json_decref(evidence);
		return ctl_fail("%s evidence rejected: %s", b->tee, err.msg);
	}
	json_decref(evidence);
	claims = cmd_evidence_devices(b, dev, n, &unverified);
	verifier_devices_clear(dev, n);
	if (claims == NULL)
		return EXIT_FAIL;
	cmd_evidence_note_expired(claims);
	out = json_dumps(claims, JSON_INDENT(2));
	json_decref(claims);
	if (out == NULL)
		return ctl_fail("cannot serialise the claims");
	printf("%s\n", out);
	free(out);
	if (fflush(stdout) != 0)
		return ctl_fail("stdout: write failed");
	return unverified ? EXIT_FAIL : EXIT_OK;
}
