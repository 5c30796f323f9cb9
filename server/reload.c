/*
 * reload.c: what SIGHUP does to a running trusteed, without dropping a
 * connection or a session:
 *   - the TLS certificate chain and key are read again from the files the
 *     configuration names (new handshakes use them; a pair that does not
 *     load keeps the current one, and the log says why);
 *   - cached verification collateral is dropped (Intel DCAP TCB info, QE
 *     identity, CRLs and PCK chains; verified AMD VCEK/VLEK chains), so the
 *     next verification reads dcap_collateral, snp_cert_cache and the PCCS
 *     cache again;
 *   - active policies and reference values are read from the store again.
 * trusteed.toml itself is not read again: everything else it sets (listen
 * addresses, workers, the store, the sealer, admin keys and modes,
 * lifetimes, limits, the collateral paths and URLs) needs a restart.
 */
#include "../lib/log.h"
#include "../rvps/rvps.h"
#include "../verifier/dcap.h"
#include "../verifier/snp.h"
#include "policy.h"
#include "trusteed.h"

int
reload_run(SSL_CTX *tls)
{
	struct error err;
	int failed = 0;

	if (tls != NULL) {
		if (tls_reload(tls, &err) != 0) {
			log_warnx("reload: TLS certificate kept: %s", err.msg);
			failed = 1;
		} else
			log_info("reload: TLS certificate and key read again");
	}
	dcap_cache_flush();
	snp_cache_clear();
	log_info("reload: collateral caches dropped");
	policy_reload();
	if (rvps_reload(&err) != 0) {
		log_warnx("reload: reference values: %s", err.msg);
		failed = 1;
	} else
		log_info("reload: policies and reference values read again");
	return failed ? -1 : 0;
}
