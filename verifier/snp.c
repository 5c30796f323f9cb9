/*
 * snp.c: the AMD SEV-SNP verifier backend (reference/attestation-service.md
 * §1.3): evidence in, claims out. The report shared with the Azure SNP vTPM
 * verifier (snp.h) is parsed in snp_report.c, verified in
 * snp_report_verify.c and converted from its JSON form in snp_report_json.c.
 *
 * Evidence: {"attestation_report": <sev crate serde form>, "cert_chain":
 * null | [{"cert_type": "ARK"|"ASK"|"VCEK"|"VLEK"|..., "data": [DER]}]}.
 * The report is rebuilt to its 1184-byte ABI form (reserved bytes zero,
 * as the sev crate does) and verified, signatures and chains first: chain
 * to the pinned AMD roots, validity at in->now, ECDSA P-384 signature;
 * then the content: the cpuid names a supported product, TCB and hwID
 * extensions, REPORT_DATA and HOST_DATA against the expected values. A
 * changed report is therefore refused for its signature, whatever field
 * was changed. The VMPL is a claim ("vmpl"), not a verifier check: the
 * attestation policy decides which VMPLs it admits (default_cpu: 0, or
 * the reference value snp_vmpl; docs/policies.md), so a guest behind an
 * SVSM, whose reports come from VMPL 1..3, can be admitted explicitly.
 *
 * Claims. Trustee's names, unchanged: policy_abi_major, policy_abi_minor
 * (numbers), policy_smt_allowed, policy_migrate_ma, policy_debug_allowed,
 * policy_single_socket (bools), reported_tcb_bootloader, reported_tcb_tee,
 * reported_tcb_snp, reported_tcb_microcode (numbers),
 * platform_tsme_enabled, platform_smt_enabled (bools), measurement,
 * chip_id (lowercase hex), report_data (hex of REPORT_DATA), init_data
 * (hex of HOST_DATA, always). Extras (ours; names as in the test vectors'
 * expected.json):
 *   version, guest_svn, vmpl, signature_algo, signing_key (0 VCEK,
 *     1 VLEK), mask_chip_key, author_key_en          numbers
 *   current_major/_minor/_build, committed_major/_minor/_build
 *                                                    numbers (firmware)
 *   cpuid_fam_id, cpuid_mod_id, cpuid_step           numbers (v3+ only)
 *   policy, current_tcb, reported_tcb, committed_tcb, launch_tcb,
 *     platform_info                                  "0x%016x" of the u64
 *   key_info                                         "0x%08x" (what the
 *                                                    vectors call "flags")
 *   launch_mit_vector, current_mit_vector            "0x%016x" (v5 only)
 *   reported_tcb_fmc                                 number (Turin only)
 *   host_data, family_id, image_id, id_key_digest, author_key_digest,
 *     report_id, report_id_ma                        lowercase hex
 *   product                                          "Milan"|"Genoa"|
 *                                                    "Turin"
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "snp.h"
#include "verifier.h"

#define SNP_CERT_MAX	(64 * 1024)

/* ---- claims ---- */

static void
snp_set_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char h[2 * 64 + 1];

	hex_encode(p, n, h);
	json_object_set_new(o, k, json_string(h));
}

static void
snp_set_x64(json_t *o, const char *k, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%016" PRIx64, v);
	json_object_set_new(o, k, json_string(s));
}

static void
snp_set_int(json_t *o, const char *k, json_int_t v)
{
	json_object_set_new(o, k, json_integer(v));
}

json_t *
snp_report_claims(const struct snp_report *r)
{
	json_t *c = json_object();
	char s[16];

	/* Trustee's claims */
	snp_set_int(c, "policy_abi_major", SNP_POLICY_ABI_MAJOR(r->policy));
	snp_set_int(c, "policy_abi_minor", SNP_POLICY_ABI_MINOR(r->policy));
	json_object_set_new(c, "policy_smt_allowed",
	    json_boolean(r->policy & SNP_POLICY_SMT));
	json_object_set_new(c, "policy_migrate_ma",
	    json_boolean(r->policy & SNP_POLICY_MIGRATE_MA));
	json_object_set_new(c, "policy_debug_allowed",
	    json_boolean(r->policy & SNP_POLICY_DEBUG));
	json_object_set_new(c, "policy_single_socket",
	    json_boolean(r->policy & SNP_POLICY_SINGLE_SOCKET));
	snp_set_int(c, "reported_tcb_bootloader", r->reported_tcb.bootloader);
	snp_set_int(c, "reported_tcb_tee", r->reported_tcb.tee);
	snp_set_int(c, "reported_tcb_snp", r->reported_tcb.snp);
	snp_set_int(c, "reported_tcb_microcode", r->reported_tcb.microcode);
	json_object_set_new(c, "platform_tsme_enabled",
	    json_boolean(r->platform_info & SNP_PLATFORM_TSME_EN));
	json_object_set_new(c, "platform_smt_enabled",
	    json_boolean(r->platform_info & SNP_PLATFORM_SMT_EN));
	snp_set_hex(c, "measurement", r->measurement, 48);
	snp_set_hex(c, "chip_id", r->chip_id, 64);

	/* extras (see the top of this file) */
	snp_set_int(c, "version", r->version);
	snp_set_int(c, "guest_svn", r->guest_svn);
	snp_set_int(c, "vmpl", r->vmpl);
	snp_set_int(c, "signature_algo", r->sig_algo);
	snp_set_int(c, "signing_key", SNP_KEY_INFO_SIGNING_KEY(r->key_info));
	snp_set_int(c, "mask_chip_key", SNP_KEY_INFO_MASK_CHIP_KEY(r->key_info));
	snp_set_int(c, "author_key_en", SNP_KEY_INFO_AUTHOR_KEY_EN(r->key_info));
	snp_set_int(c, "current_major", r->current.major);
	snp_set_int(c, "current_minor", r->current.minor);
	snp_set_int(c, "current_build", r->current.build);
	snp_set_int(c, "committed_major", r->committed.major);
	snp_set_int(c, "committed_minor", r->committed.minor);
	snp_set_int(c, "committed_build", r->committed.build);
	if (r->has_cpuid) {
		snp_set_int(c, "cpuid_fam_id", r->cpuid_fam_id);
		snp_set_int(c, "cpuid_mod_id", r->cpuid_mod_id);
		snp_set_int(c, "cpuid_step", r->cpuid_step);
	}
	snp_set_x64(c, "policy", r->policy);
	snp_set_x64(c, "current_tcb", r->current_tcb.raw);
	snp_set_x64(c, "reported_tcb", r->reported_tcb.raw);
	snp_set_x64(c, "committed_tcb", r->committed_tcb.raw);
	snp_set_x64(c, "launch_tcb", r->launch_tcb.raw);
	snp_set_x64(c, "platform_info", r->platform_info);
	snprintf(s, sizeof(s), "0x%08" PRIx32, r->key_info);
	json_object_set_new(c, "key_info", json_string(s));
	if (r->has_mit_vector) {
		snp_set_x64(c, "launch_mit_vector", r->launch_mit_vector);
		snp_set_x64(c, "current_mit_vector", r->current_mit_vector);
	}
	if (r->reported_tcb.has_fmc)
		snp_set_int(c, "reported_tcb_fmc", r->reported_tcb.fmc);
	snp_set_hex(c, "host_data", r->host_data, 32);
	snp_set_hex(c, "family_id", r->family_id, 16);
	snp_set_hex(c, "image_id", r->image_id, 16);
	snp_set_hex(c, "id_key_digest", r->id_key_digest, 48);
	snp_set_hex(c, "author_key_digest", r->author_key_digest, 48);
	snp_set_hex(c, "report_id", r->report_id, 32);
	snp_set_hex(c, "report_id_ma", r->report_id_ma, 32);
	if (r->product != SNP_PRODUCT_UNKNOWN)
		json_object_set_new(c, "product",
		    json_string(snp_product_name(r->product)));
	return c;
}

/* ---- the backend ---- */

/* Evidence cert_chain entries (borrowed views into owned copies). */
struct snp_chain {
	uint8_t *vek, *ask, *ark;
	size_t vek_len, ask_len, ark_len;
	const char *vek_type;
};

static void
snp_chain_free(struct snp_chain *c)
{
	free(c->vek);
	free(c->ask);
	free(c->ark);
	memset(c, 0, sizeof(*c));
}

static int
snp_chain_data(const json_t *ent, size_t idx, uint8_t **out, size_t *len,
    struct error *err)
{
	const json_t *d = json_object_get(ent, "data");
	size_t i, n;

	if (!json_is_array(d))
		return error_set(err, "cert_chain[%zu].data is not an array of "
		    "bytes", idx);
	n = json_array_size(d);
	if (n == 0 || n > SNP_CERT_MAX)
		return error_set(err, "cert_chain[%zu].data has %zu bytes",
		    idx, n);
	*out = xmalloc(n);
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(d, i);
		json_int_t v;

		if (!json_is_integer(e) || (v = json_integer_value(e)) < 0 ||
		    v > 255) {
			free(*out);
			*out = NULL;
			return error_set(err, "cert_chain[%zu].data[%zu] is "
			    "not a byte", idx, i);
		}
		(*out)[i] = (uint8_t)v;
	}
	*len = n;
	return 0;
}

static int
snp_chain_parse(const json_t *chain, struct snp_chain *c, struct error *err)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	if (chain == NULL || json_is_null(chain))
		return 0;
	if (!json_is_array(chain))
		return error_set(err, "cert_chain is neither null nor an "
		    "array");
	if (json_array_size(chain) > 16)
		return error_set(err, "cert_chain has %zu entries (at most 16)",
		    json_array_size(chain));
	for (i = 0; i < json_array_size(chain); i++) {
		const json_t *ent = json_array_get(chain, i);
		const json_t *ty = json_object_get(ent, "cert_type");
		const char *t;
		uint8_t **dst = NULL;
		size_t *dlen = NULL;

		if (!json_is_object(ent) || ty == NULL)
			return error_set(err, "cert_chain[%zu] is not a "
			    "{cert_type, data} object", i);
		if (!json_is_string(ty))
			continue;	/* {"OTHER": uuid} */
		t = json_string_value(ty);
		if (strcmp(t, "VCEK") == 0 || strcmp(t, "VLEK") == 0) {
			if (c->vek == NULL) {
				dst = &c->vek;
				dlen = &c->vek_len;
				c->vek_type = t;
			}
		} else if (strcmp(t, "ASK") == 0) {
			if (c->ask == NULL) {
				dst = &c->ask;
				dlen = &c->ask_len;
			}
		} else if (strcmp(t, "ARK") == 0) {
			if (c->ark == NULL) {
				dst = &c->ark;
				dlen = &c->ark_len;
			}
		}
		if (dst != NULL && snp_chain_data(ent, i, dst, dlen, err) < 0)
			return -1;
	}
	return 0;
}

static void
snp_hex_head(const uint8_t *p, size_t n, char *out, size_t cap)
{
	char h[2 * 64 + 1];

	hex_encode(p, n, h);
	if (strlen(h) > 32)
		snprintf(out, cap, "%.32s...", h);
	else
		snprintf(out, cap, "%s", h);
}

static int
snp_verify(const struct verifier_input *in, json_t **claims,
    struct error *err)
{
	uint8_t raw[SNP_REPORT_SIZE], exp[64];
	char e1[40], e2[40];
	struct snp_report r;
	struct snp_chain ch;
	struct snp_certs certs;
	const json_t *rep;
	json_t *c;
	int rc = -1;

	*claims = NULL;
	memset(&ch, 0, sizeof(ch));
	if (!json_is_object(in->evidence))
		return error_set(err, "snp evidence is not a JSON object");
	rep = json_object_get(in->evidence, "attestation_report");
	if (rep == NULL)
		return error_set(err, "snp evidence has no attestation_report");
	if (snp_report_from_json(rep, raw, err) < 0 ||
	    snp_report_parse(raw, sizeof(raw), &r, err) < 0 ||
	    snp_chain_parse(json_object_get(in->evidence, "cert_chain"), &ch,
	    err) < 0)
		goto out;
	memset(&certs, 0, sizeof(certs));
	certs.vek = ch.vek;
	certs.vek_len = ch.vek_len;
	certs.ask = ch.ask;
	certs.ask_len = ch.ask_len;
	certs.ark = ch.ark;
	certs.ark_len = ch.ark_len;
	if (snp_report_verify(&r, &certs, in->now, err) < 0)
		goto out;
	if (in->report_data != NULL) {
		verifier_regularize(in->report_data, in->report_data_len, exp,
		    64);
		if (memcmp(exp, r.report_data, 64) != 0) {
			snp_hex_head(exp, 64, e1, sizeof(e1));
			snp_hex_head(r.report_data, 64, e2, sizeof(e2));
			error_set(err, "report data does not match the expected "
			    "value (nonce/session binding): expected %s, the "
			    "report has %s", e1, e2);
			goto out;
		}
	}
	if (in->init_data_hash != NULL) {
		verifier_regularize(in->init_data_hash,
		    in->init_data_hash_len, exp, 32);
		if (memcmp(exp, r.host_data, 32) != 0) {
			snp_hex_head(exp, 32, e1, sizeof(e1));
			snp_hex_head(r.host_data, 32, e2, sizeof(e2));
			error_set(err, "init data hash does not match HOST_DATA: "
			    "expected %s, the report has %s", e1, e2);
			goto out;
		}
	}
	c = snp_report_claims(&r);
	snp_set_hex(c, "report_data", r.report_data, 64);
	snp_set_hex(c, "init_data", r.host_data, 32);
	*claims = c;
	rc = 0;
out:
	snp_chain_free(&ch);
	return rc;
}

static int
snp_wrap_raw(const uint8_t *buf, size_t len, json_t **evidence,
    struct error *err)
{
	struct snp_report r;
	json_t *e, *rep;

	*evidence = NULL;
	if (snp_report_parse(buf, len, &r, err) < 0)
		return -1;
	if ((rep = snp_report_to_json(&r)) == NULL)
		return error_set(err, "SNP report has a 64-bit field with bit "
		    "63 set (policy 0x%016" PRIx64 ", platform_info 0x%016"
		    PRIx64 "), which the JSON form cannot carry", r.policy,
		    r.platform_info);
	e = json_object();
	json_object_set_new(e, "attestation_report", rep);
	json_object_set_new(e, "cert_chain", json_null());
	*evidence = e;
	return 0;
}

const struct verifier_backend verifier_snp = {
	.tee = "snp",
	.tee_class = "cpu",
	.verify = snp_verify,
	.wrap_raw = snp_wrap_raw,
};
