/*
 * kbs_report.c: kbsbench's reports of its phases. kbs_report_table
 * prints the table (one line per phase, then the client key generation
 * time and the RSS per live session); kbs_report_json prints one compact
 * JSON object on stdout (0, or -1 when it cannot be built). Both formats
 * are an interface: run.sh, report.py, ha.sh and scale.sh parse the JSON,
 * and people and tests/bench/README.md read the table.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "kbs.h"

static double
kbs_report_rate(const struct kbs_result *x)
{
	return x->wall_s > 0 ? (double)x->count / x->wall_s : 0;
}

static double
kbs_report_srv_us(const struct kbs_result *x)
{
	return x->count ? x->srv_cpu_s * 1e6 / (double)x->count : 0;
}

void
kbs_report_table(FILE *f, const struct kbs_options *o,
    const struct kbs_result *r, size_t nr, const struct kbs_sessions *ss)
{
	size_t i;

	fprintf(f, "kbsbench: %s, concurrency %u, key %s, resource %s"
	    "%s\n", o->url, o->concurrency, o->alg_name, o->resources ?
	    "random of --resources (32 bytes)" : "bench/kbs/secret",
	    o->pid ? "" : " (no --pid: server CPU/RSS not sampled)");
	fprintf(f, "%-12s %8s %6s %8s %10s %9s %9s %9s %9s %9s %10s %10s %9s "
	    "%10s\n", "phase", "count", "errors", "wall_s", "ops/s",
	    "p50_ms", "p90_ms", "p99_ms", "max_ms", "srv_cpu_s", "srv_us/op",
	    "srv_rssMiB", "cli_cpu_s", "cli_us/op");
	for (i = 0; i < nr; i++) {
		const struct kbs_result *x = &r[i];
		double cli_op = x->count ? x->self_cpu_s * 1e6 /
		    (double)x->count : 0;
		char scpu[32] = "-", sop[32] = "-", srss[32] = "-";

		if (x->have_srv) {
			snprintf(scpu, sizeof(scpu), "%.2f", x->srv_cpu_s);
			snprintf(sop, sizeof(sop), "%.0f",
			    kbs_report_srv_us(x));
			snprintf(srss, sizeof(srss), "%.1f", x->srv_hwm_mib);
		}
		fprintf(f, "%-12s %8" PRIu64 " %6" PRIu64 " %8.2f %10.1f "
		    "%9.2f %9.2f %9.2f %9.2f %9s %10s %10s %9.2f %10.0f\n",
		    kbs_phase_info[x->kind].name, x->count, x->errors,
		    x->wall_s, kbs_report_rate(x), x->p50, x->p90, x->p99,
		    x->max, scpu, sop, srss, x->self_cpu_s, cli_op);
		if (x->mismatches > 0)
			fprintf(f, "%-12s FATAL: %" PRIu64 " plaintext "
			    "mismatch(es)\n", kbs_phase_info[x->kind].name,
			    x->mismatches);
	}
	for (i = 0; i < nr; i++)
		if (r[i].kind == PHASE_FLOWS)
			fprintf(f, "client TEE key generation (not in flow "
			    "latency): %.2f ms per key\n", r[i].keygen_ms_avg);
	for (i = 0; i < 2; i++)
		if (ss[i].have)
			fprintf(f, "RSS per live %s session: %.0f bytes "
			    "(RssAnon %+" PRId64 " KiB over %" PRIu64
			    " sessions)\n", i == 0 ? "unattested" : "attested",
			    ss[i].bytes_per_session, ss[i].anon_delta_kib,
			    ss[i].count);
}

static json_t *
kbs_report_sessions(const struct kbs_sessions *s)
{
	if (!s->have)
		return json_null();
	return json_pack("{s:I, s:I, s:f}", "count", (json_int_t)s->count,
	    "rss_anon_delta_kib", (json_int_t)s->anon_delta_kib,
	    "bytes_per_session", s->bytes_per_session);
}

int
kbs_report_json(const struct kbs_options *o, const struct kbs_result *r,
    size_t nr, const struct kbs_sessions *ss)
{
	json_t *root, *phases;
	char *s;
	size_t i;

	root = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:{s:o, s:o}}",
	    "url", o->url,
	    "concurrency", (json_int_t)o->concurrency, "key_alg",
	    o->alg_name, "resource_size", (json_int_t)o->resource_size,
	    "resources", (json_int_t)o->resources,
	    "duration_limit_s", (json_int_t)o->duration_s,
	    "sessions", "unattested", kbs_report_sessions(&ss[0]), "attested",
	    kbs_report_sessions(&ss[1]));
	phases = json_array();
	if (root == NULL || phases == NULL)
		goto fail;
	for (i = 0; i < nr; i++) {
		const struct kbs_result *x = &r[i];
		json_t *p;

		p = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:s, "
		    "s:{s:f, s:f, s:f, s:f}, s:f, s:f}",
		    "name", kbs_phase_info[x->kind].name,
		    "what", kbs_phase_info[x->kind].what,
		    "count", (json_int_t)x->count,
		    "errors", (json_int_t)x->errors,
		    "mismatches", (json_int_t)x->mismatches,
		    "wall_s", x->wall_s,
		    "throughput", kbs_report_rate(x),
		    "throughput_unit", kbs_phase_info[x->kind].unit,
		    "latency_ms", "p50", x->p50, "p90", x->p90, "p99", x->p99,
		    "max", x->max,
		    "client_cpu_s", x->self_cpu_s,
		    "client_cpu_us_per_op", x->count ?
		    x->self_cpu_s * 1e6 / (double)x->count : 0.0);
		if (p == NULL)
			goto fail;
		if (x->have_srv) {
			json_object_set_new(p, "server_cpu_s",
			    json_real(x->srv_cpu_s));
			json_object_set_new(p, "server_cpu_us_per_op",
			    json_real(kbs_report_srv_us(x)));
			json_object_set_new(p, "server_sys_cpu_s",
			    json_real(x->srv_sys_s));
			json_object_set_new(p, "server_peak_rss_mib",
			    json_real(x->srv_hwm_mib));
			json_object_set_new(p, "server_rss_anon_delta_kib",
			    json_integer(x->srv_anon_delta_kib));
		}
		if (x->kind == PHASE_FLOWS)
			json_object_set_new(p, "client_keygen_ms_per_key",
			    json_real(x->keygen_ms_avg));
		if (x->kind == PHASE_ADMIN) {
			json_object_set_new(p, "admin_path",
			    json_string(o->admin_path));
			json_object_set_new(p, "items",
			    json_integer((json_int_t)x->items));
		}
		json_array_append_new(phases, p);
	}
	json_object_set_new(root, "phases", phases);
	phases = NULL;
	if ((s = json_dumps(root, JSON_COMPACT)) == NULL)
		goto fail;
	printf("%s\n", s);
	free(s);
	json_decref(root);
	return 0;
fail:
	fprintf(stderr, "kbsbench: cannot build the JSON report\n");
	json_decref(phases);
	json_decref(root);
	return -1;
}
