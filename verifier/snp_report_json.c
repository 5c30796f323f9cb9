/*
 * snp_report_json.c: the evidence's JSON form of an SEV-SNP report (serde
 * of the sev crate's AttestationReport: byte arrays, TCB and firmware
 * objects) to and from the 1184-byte ABI form (snp.h). Contracts:
 * snp_report_from_json is strict (every field present with the right type,
 * size and range; Option fields may be missing or null), writes reserved
 * areas as zero and lays out TCBs by the JSON's cpuid (Turin layout for a
 * Turin cpuid, "fmc" elsewhere an error); snp_report_to_json returns NULL
 * when a u64 field has bit 63 set (jansson integers are signed).
 */
#include <inttypes.h>
#include <string.h>

#include "snp.h"
#include "snp_internal.h"

/* ---- the serde JSON form ---- */

static json_t *
snp_json_bytes(const uint8_t *p, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(p[i]));
	return a;
}

static json_t *
snp_json_tcb(const struct snp_tcb *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "fmc", t->has_fmc ? json_integer(t->fmc) :
	    json_null());
	json_object_set_new(o, "bootloader", json_integer(t->bootloader));
	json_object_set_new(o, "tee", json_integer(t->tee));
	json_object_set_new(o, "snp", json_integer(t->snp));
	json_object_set_new(o, "microcode", json_integer(t->microcode));
	return o;
}

static json_t *
snp_json_fw(const struct snp_fw_version *v)
{
	json_t *o = json_object();

	json_object_set_new(o, "major", json_integer(v->major));
	json_object_set_new(o, "minor", json_integer(v->minor));
	json_object_set_new(o, "build", json_integer(v->build));
	return o;
}

static json_t *
snp_json_u8_or_null(int has, uint8_t v)
{
	return has ? json_integer(v) : json_null();
}

json_t *
snp_report_to_json(const struct snp_report *r)
{
	json_t *o, *sig;

	/* jansson integers are signed 64-bit */
	if (r->policy > INT64_MAX || r->platform_info > INT64_MAX ||
	    (r->has_mit_vector && (r->launch_mit_vector > INT64_MAX ||
	    r->current_mit_vector > INT64_MAX)))
		return NULL;
	o = json_object();
	sig = json_object();

	json_object_set_new(o, "version", json_integer(r->version));
	json_object_set_new(o, "guest_svn", json_integer(r->guest_svn));
	json_object_set_new(o, "policy", json_integer((json_int_t)r->policy));
	json_object_set_new(o, "family_id", snp_json_bytes(r->family_id, 16));
	json_object_set_new(o, "image_id", snp_json_bytes(r->image_id, 16));
	json_object_set_new(o, "vmpl", json_integer(r->vmpl));
	json_object_set_new(o, "sig_algo", json_integer(r->sig_algo));
	json_object_set_new(o, "current_tcb", snp_json_tcb(&r->current_tcb));
	json_object_set_new(o, "plat_info",
	    json_integer((json_int_t)r->platform_info));
	json_object_set_new(o, "key_info", json_integer(r->key_info));
	json_object_set_new(o, "report_data", snp_json_bytes(r->report_data,
	    64));
	json_object_set_new(o, "measurement", snp_json_bytes(r->measurement,
	    48));
	json_object_set_new(o, "host_data", snp_json_bytes(r->host_data, 32));
	json_object_set_new(o, "id_key_digest",
	    snp_json_bytes(r->id_key_digest, 48));
	json_object_set_new(o, "author_key_digest",
	    snp_json_bytes(r->author_key_digest, 48));
	json_object_set_new(o, "report_id", snp_json_bytes(r->report_id, 32));
	json_object_set_new(o, "report_id_ma",
	    snp_json_bytes(r->report_id_ma, 32));
	json_object_set_new(o, "reported_tcb", snp_json_tcb(&r->reported_tcb));
	json_object_set_new(o, "cpuid_fam_id",
	    snp_json_u8_or_null(r->has_cpuid, r->cpuid_fam_id));
	json_object_set_new(o, "cpuid_mod_id",
	    snp_json_u8_or_null(r->has_cpuid, r->cpuid_mod_id));
	json_object_set_new(o, "cpuid_step",
	    snp_json_u8_or_null(r->has_cpuid, r->cpuid_step));
	json_object_set_new(o, "chip_id", snp_json_bytes(r->chip_id, 64));
	json_object_set_new(o, "committed_tcb",
	    snp_json_tcb(&r->committed_tcb));
	json_object_set_new(o, "current", snp_json_fw(&r->current));
	json_object_set_new(o, "committed", snp_json_fw(&r->committed));
	json_object_set_new(o, "launch_tcb", snp_json_tcb(&r->launch_tcb));
	if (r->has_mit_vector) {
		json_object_set_new(o, "launch_mit_vector",
		    json_integer((json_int_t)r->launch_mit_vector));
		json_object_set_new(o, "current_mit_vector",
		    json_integer((json_int_t)r->current_mit_vector));
	}
	json_object_set_new(sig, "r", snp_json_bytes(r->sig_r, 72));
	json_object_set_new(sig, "s", snp_json_bytes(r->sig_s, 72));
	json_object_set_new(o, "signature", sig);
	return o;
}

/* An unsigned integer member <= max (present, integral, in range). */
static int
snp_json_uint(const json_t *o, const char *k, uint64_t max, uint64_t *out,
    struct error *err)
{
	const json_t *v = json_object_get(o, k);
	json_int_t i;

	if (v == NULL)
		return error_set(err, "%s is missing", k);
	if (!json_is_integer(v))
		return error_set(err, "%s is not an "
		    "integer", k);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return error_set(err, "%s = %" JSON_INTEGER_FORMAT
		    " is out of range (0..%" PRIu64 ")", k, i, max);
	*out = (uint64_t)i;
	return 0;
}

/* An optional u8 (missing or null: *has = 0). */
static int
snp_json_opt_u8(const json_t *o, const char *k, int *has, uint8_t *out,
    struct error *err)
{
	const json_t *v = json_object_get(o, k);
	uint64_t u;

	*has = 0;
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (snp_json_uint(o, k, 0xff, &u, err) < 0)
		return -1;
	*has = 1;
	*out = (uint8_t)u;
	return 0;
}

/* A byte array member of exactly n elements. */
static int
snp_json_bytes_get(const json_t *o, const char *k, uint8_t *out, size_t n,
    struct error *err)
{
	const json_t *a = json_object_get(o, k);
	size_t i;

	if (a == NULL)
		return error_set(err, "%s is missing", k);
	if (!json_is_array(a))
		return error_set(err, "%s is not an array "
		    "of bytes", k);
	if (json_array_size(a) != n)
		return error_set(err, "%s has %zu bytes, "
		    "expected %zu", k, json_array_size(a), n);
	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(a, i);
		json_int_t v;

		if (!json_is_integer(e) || (v = json_integer_value(e)) < 0 ||
		    v > 255)
			return error_set(err, "%s[%zu] is "
			    "not a byte (0..255)", k, i);
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* A TCB object into its 8 bytes. */
static int
snp_json_tcb_get(const json_t *o, const char *k, int turin, uint8_t out[8],
    struct error *err)
{
	static const char *const names[] = {
		"bootloader", "tee", "snp", "microcode",
	};
	const json_t *t = json_object_get(o, k);
	uint8_t v[4], fmc;
	uint64_t u;
	int has_fmc;
	size_t i;

	if (t == NULL)
		return error_set(err, "%s is missing", k);
	if (!json_is_object(t))
		return error_set(err, "%s is not a TCB "
		    "object", k);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		if (snp_json_uint(t, names[i], 0xff, &u, err) < 0)
			return error_prefix(err, "%s", k);
		v[i] = (uint8_t)u;
	}
	if (snp_json_opt_u8(t, "fmc", &has_fmc, &fmc, err) < 0)
		return error_prefix(err, "%s", k);
	memset(out, 0, 8);
	if (turin) {
		out[0] = fmc;
		out[1] = v[0];
		out[2] = v[1];
		out[3] = v[2];
	} else {
		if (has_fmc)
			return error_set(err, "%s.fmc is "
			    "set, but the processor is not a Turin", k);
		out[0] = v[0];
		out[1] = v[1];
		out[6] = v[2];
	}
	out[7] = v[3];
	return 0;
}

static int
snp_json_fw_get(const json_t *o, const char *k, uint8_t out[3],
    struct error *err)
{
	const json_t *f = json_object_get(o, k);
	uint64_t maj, min, bld;

	if (f == NULL || !json_is_object(f))
		return error_set(err, "%s is missing or "
		    "not an object", k);
	if (snp_json_uint(f, "major", 0xff, &maj, err) < 0 ||
	    snp_json_uint(f, "minor", 0xff, &min, err) < 0 ||
	    snp_json_uint(f, "build", 0xff, &bld, err) < 0)
		return error_prefix(err, "%s", k);
	out[0] = (uint8_t)bld;
	out[1] = (uint8_t)min;
	out[2] = (uint8_t)maj;
	return 0;
}

static int
snp_report_from_json1(const json_t *o, uint8_t out[SNP_REPORT_SIZE],
    struct error *err)
{
	const json_t *sig;
	uint64_t u;
	uint8_t fam, mod, step;
	int has_fam, has_mod, has_step, has, turin;

	memset(out, 0, SNP_REPORT_SIZE);
	if (!json_is_object(o))
		return error_set(err, "not an object");
	if (snp_json_uint(o, "version", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x000, (uint32_t)u);
	if (snp_json_uint(o, "guest_svn", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x004, (uint32_t)u);
	if (snp_json_uint(o, "policy", INT64_MAX, &u, err) < 0)
		return -1;
	snp_put64(out + 0x008, u);
	if (snp_json_bytes_get(o, "family_id", out + 0x010, 16, err) < 0 ||
	    snp_json_bytes_get(o, "image_id", out + 0x020, 16, err) < 0)
		return -1;
	if (snp_json_uint(o, "vmpl", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x030, (uint32_t)u);
	if (snp_json_uint(o, "sig_algo", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x034, (uint32_t)u);
	if (snp_json_opt_u8(o, "cpuid_fam_id", &has_fam, &fam, err) < 0 ||
	    snp_json_opt_u8(o, "cpuid_mod_id", &has_mod, &mod, err) < 0 ||
	    snp_json_opt_u8(o, "cpuid_step", &has_step, &step, err) < 0)
		return -1;
	turin = has_fam && has_mod &&
	    snp_product_from_cpuid(fam, mod) == SNP_PRODUCT_TURIN;
	if (snp_json_tcb_get(o, "current_tcb", turin, out + 0x038, err) < 0)
		return -1;
	if (snp_json_uint(o, "plat_info", INT64_MAX, &u, err) < 0)
		return -1;
	snp_put64(out + 0x040, u);
	if (snp_json_uint(o, "key_info", UINT32_MAX, &u, err) < 0)
		return -1;
	snp_put32(out + 0x048, (uint32_t)u);
	if (snp_json_bytes_get(o, "report_data", out + 0x050, 64, err) < 0 ||
	    snp_json_bytes_get(o, "measurement", out + 0x090, 48, err) < 0 ||
	    snp_json_bytes_get(o, "host_data", out + 0x0c0, 32, err) < 0 ||
	    snp_json_bytes_get(o, "id_key_digest", out + 0x0e0, 48, err) < 0 ||
	    snp_json_bytes_get(o, "author_key_digest", out + 0x110, 48,
	    err) < 0 ||
	    snp_json_bytes_get(o, "report_id", out + 0x140, 32, err) < 0 ||
	    snp_json_bytes_get(o, "report_id_ma", out + 0x160, 32, err) < 0)
		return -1;
	if (snp_json_tcb_get(o, "reported_tcb", turin, out + 0x180, err) < 0)
		return -1;
	out[0x188] = fam;
	out[0x189] = mod;
	out[0x18a] = step;
	if (snp_json_bytes_get(o, "chip_id", out + 0x1a0, 64, err) < 0 ||
	    snp_json_tcb_get(o, "committed_tcb", turin, out + 0x1e0, err) < 0 ||
	    snp_json_fw_get(o, "current", out + 0x1e8, err) < 0 ||
	    snp_json_fw_get(o, "committed", out + 0x1ec, err) < 0 ||
	    snp_json_tcb_get(o, "launch_tcb", turin, out + 0x1f0, err) < 0)
		return -1;
	has = json_object_get(o, "launch_mit_vector") != NULL &&
	    !json_is_null(json_object_get(o, "launch_mit_vector"));
	if (has) {
		if (snp_json_uint(o, "launch_mit_vector", INT64_MAX, &u,
		    err) < 0)
			return -1;
		snp_put64(out + 0x1f8, u);
	}
	has = json_object_get(o, "current_mit_vector") != NULL &&
	    !json_is_null(json_object_get(o, "current_mit_vector"));
	if (has) {
		if (snp_json_uint(o, "current_mit_vector", INT64_MAX, &u,
		    err) < 0)
			return -1;
		snp_put64(out + 0x200, u);
	}
	sig = json_object_get(o, "signature");
	if (!json_is_object(sig))
		return error_set(err, "signature is missing or not an "
		    "object");
	if (snp_json_bytes_get(sig, "r", out + 0x2a0, 72, err) < 0 ||
	    snp_json_bytes_get(sig, "s", out + 0x2e8, 72, err) < 0)
		return error_prefix(err, "signature");
	return 0;
}

int
snp_report_from_json(const json_t *o, uint8_t out[SNP_REPORT_SIZE],
    struct error *err)
{
	if (snp_report_from_json1(o, out, err) < 0)
		return error_prefix(err, "attestation_report");
	return 0;
}
