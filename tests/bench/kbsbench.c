/*
 * kbsbench.c: a load generator for trusteed's KBS protocol.
 *
 * Setup stores a random resource bench/kbs/secret through the admin API.
 * Then, each phase bounded by a count and by --duration-limit, from
 * --concurrency threads (one keep-alive TLS connection each):
 *   auth, attest   live sessions: /auth only (unattested sessions), then
 *                  /auth + /attest (attested ones); the server's resident
 *                  anonymous memory is read before and after each (after
 *                  a warm-up of a tenth as many), giving RSS per session;
 *   flows          complete guest flows (auth, attest, one GET with the
 *                  session cookie);
 *   gets           cookie GETs on a session attested before the clock;
 *   bearer_seen    GETs with the EAR token as Bearer (no cookie), the
 *                  token presented once before the clock;
 *   bearer_first   Bearer GETs, each with a token never presented before
 *                  (attested before the clock, one per GET);
 *   admin_pages    GETs of an admin API list page, following next_cursor
 *                  and starting again after the last page (--admin-gets).
 * With --url2 (a second instance sharing the first one's database), each
 * worker also holds a connection to it and the guest moves between the
 * two as behind a load balancer without sticky sessions: a flow attests
 * on one instance and GETs with its cookie on the other, alternating;
 * GETs alternate between the instances with the same session cookie.
 * Every plaintext is checked against the stored bytes; with --resources N
 * the GETs fetch random ones of N resources loaded by fillbench (see
 * benchres.h). With --pid the server's CPU time (/proc/PID/stat
 * utime+stime), peak RSS (VmHWM) and resident anonymous memory (RssAnon)
 * are sampled; the client's own CPU time (getrusage) is reported too,
 * because client and server usually share the machine.
 *
 * Exit status: 0 all operations succeeded, 1 some operation failed or a
 * plaintext mismatched (or setup failed), 2 usage error.
 *
 * This file runs the phases in order and prints the report; the parts
 * are in kbs_*.c (kbs.h lists them).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <event2/thread.h>
#include <sodium.h>

#include "../../lib/log.h"
#include "kbs.h"

int
main(int argc, char **argv)
{
	static const enum kbs_phase_kind timed[] = {
		PHASE_FLOWS, PHASE_GETS, PHASE_BEARER_SEEN, PHASE_BEARER_FIRST,
		PHASE_ADMIN
	};
	struct kbs_options o;
	struct kbs_result res[8];
	struct kbs_sessions ss[2];
	struct error err;
	uint8_t *secret = NULL;
	size_t nres = 0, nwant = 0, i;
	int status = 0;

	kbs_options_parse(argc, argv, &o);
	log_init("kbsbench", LOG_LVL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "kbsbench: sodium_init failed\n");
		return 1;
	}
	/* Each thread owns its own event base, but libevent's globals are
	 * only safe to share once locking is enabled. */
	if (evthread_use_pthreads() != 0) {
		fprintf(stderr, "kbsbench: evthread_use_pthreads failed\n");
		return 1;
	}

	if (o.pid != 0) {
		uint64_t ticks, sys, hwm, anon;

		/* Fail now rather than print a warning for every sample. */
		if (kbs_sample_proc(o.pid, &ticks, &sys, &hwm, &anon, &err) ==
		    -1) {
			fprintf(stderr, "kbsbench: --pid: %s\n", err.msg);
			return 1;
		}
	}
	secret = xmalloc(o.resource_size);
	randombytes_buf(secret, o.resource_size);
	if (kbs_setup_resource(&o, "POST", secret, o.resource_size,
	    &err) == -1) {
		fprintf(stderr, "kbsbench: setup: %s\n", err.msg);
		secret_free(secret, o.resource_size);
		return 1;
	}

	memset(ss, 0, sizeof(ss));
	if (kbs_options_wanted(&o, PHASE_AUTH, o.sessions)) {
		nwant++;
		if (kbs_phase_run_sessions(&o, PHASE_AUTH, o.sessions,
		    &res[nres], &ss[0]) == 0)
			nres++;
	}
	if (kbs_options_wanted(&o, PHASE_ATTEST, o.attested)) {
		nwant++;
		if (kbs_phase_run_sessions(&o, PHASE_ATTEST, o.attested,
		    &res[nres], &ss[1]) == 0)
			nres++;
	}
	for (i = 0; i < sizeof(timed) / sizeof(timed[0]); i++) {
		uint64_t total = timed[i] == PHASE_FLOWS ? o.flows :
		    timed[i] == PHASE_GETS ? o.gets :
		    timed[i] == PHASE_BEARER_SEEN ? o.bearer_gets :
		    timed[i] == PHASE_BEARER_FIRST ? o.bearer_first :
		    o.admin_gets;

		if (!kbs_options_wanted(&o, timed[i], total))
			continue;
		nwant++;
		if (kbs_phase_run(&o, timed[i], total, secret, o.resource_size,
		    &res[nres]) == 0)
			nres++;
	}
	if (nres < nwant)
		status = 1;
	for (i = 0; i < nres; i++)
		if (res[i].errors > 0 || res[i].mismatches > 0 ||
		    res[i].count == 0)
			status = 1;

	kbs_report_table(o.json ? stderr : stdout, &o, res, nres, ss);
	if (o.json && kbs_report_json(&o, res, nres, ss) == -1)
		status = 1;

	if (kbs_setup_resource(&o, "DELETE", NULL, 0, &err) == -1)
		fprintf(stderr, "kbsbench: warning: cleanup: %s\n", err.msg);
	secret_free(secret, o.resource_size);
	return status;
}
