/*
 * trusteed.c: the daemon's entry point. Parses arguments, loads the
 * config (or builds the --dev defaults), unseals the data key, opens the
 * store, starts the HTTP(S) workers and waits for SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "../lib/log.h"
#include "../rvps/rvps.h"
#include "../verifier/verifier.h"
#include "audit.h"
#include "policy.h"
#include "resource.h"
#include "trusteed.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: trusteed [-d] [-n] -c FILE\n"
	    "       trusteed --dev --state-dir DIR [--listen ADDR:PORT] [-d]\n"
	    "\n"
	    "  -c, --config FILE        configuration file (TOML)\n"
	    "  -n, --check              check the configuration and exit\n"
	    "  -d, --debug              debug logging\n"
	    "      --dev                development mode: embedded defaults, no config file\n"
	    "      --state-dir DIR      where --dev keeps its store, keys and certificate\n"
	    "      --listen ADDR:PORT   listen address (overrides the config; repeatable)\n"
	    "      --insecure-http      serve plain HTTP (testing only)\n"
	    "      --workers N          event-loop threads\n"
	    "      --session-lifetime S attestation session lifetime, seconds\n"
	    "      --token-lifetime S   EAR token lifetime, seconds\n"
	    "      --max-body BYTES     request body limit\n"
	    "      --snp-cert-cache DIR offline SEV-SNP VCEK/VLEK cache ([verifier])\n"
	    "      --dcap-collateral P  Intel DCAP collateral dir or PCS-tool JSON\n"
	    "  -V, --version            print the version\n");
}

static long
arg_number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max) {
		fprintf(stderr, "trusteed: %s: '%s' is not a number in "
		    "%ld..%ld\n", opt, s, min, max);
		exit(2);
	}
	return v;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("received signal %d, shutting down", (int)sig);
	event_base_loopbreak(arg);
}

static void
on_gc(evutil_socket_t fd, short what, void *arg)
{
	int n;

	(void)fd;
	(void)what;
	(void)arg;
	n = session_gc();
	if (n > 0)
		log_debug("dropped %d expired sessions", n);
}

enum {
	OPT_DEV = 256, OPT_STATE_DIR, OPT_LISTEN, OPT_INSECURE_HTTP,
	OPT_WORKERS, OPT_SESSION_LIFETIME, OPT_TOKEN_LIFETIME, OPT_MAX_BODY,
	OPT_SNP_CERT_CACHE, OPT_DCAP_COLLATERAL
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "dev", no_argument, NULL, OPT_DEV },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "insecure-http", no_argument, NULL, OPT_INSECURE_HTTP },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ "session-lifetime", required_argument, NULL,
		    OPT_SESSION_LIFETIME },
		{ "token-lifetime", required_argument, NULL,
		    OPT_TOKEN_LIFETIME },
		{ "max-body", required_argument, NULL, OPT_MAX_BODY },
		{ "snp-cert-cache", required_argument, NULL,
		    OPT_SNP_CERT_CACHE },
		{ "dcap-collateral", required_argument, NULL,
		    OPT_DCAP_COLLATERAL },
		{ NULL, 0, NULL, 0 }
	};
	const char *conffile = NULL, *state_dir = NULL;
	const char *snp_cert_cache = NULL, *dcap_collateral = NULL;
	char *listen[CONFIG_MAX_LISTEN];
	int nlisten = 0, check = 0, dev = 0, debug = 0, insecure = 0;
	long workers = 0, session_lt = 0, token_lt = 0, max_body = 0;
	struct config cfg;
	struct error err;
	struct http_server_config hcfg;
	struct http_server *srv = NULL;
	struct kbs_context kctx;
	struct store *st = NULL;
	SSL_CTX *tls = NULL;
	struct event_base *base = NULL;
	struct event *ev_term = NULL, *ev_int = NULL, *ev_gc = NULL;
	const struct store_backend *backend;
	struct verifier_config vcfg;
	uint8_t key[32];
	int c, i, rc = 1;
	int up_audit = 0, up_rvps = 0, up_policy = 0, up_token = 0;

	while ((c = getopt_long(argc, argv, "c:ndVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': conffile = optarg; break;
		case 'n': check = 1; break;
		case 'd': debug = 1; break;
		case 'V': printf("trusteed %s\n", TRUSTEE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case OPT_DEV: dev = 1; break;
		case OPT_STATE_DIR: state_dir = optarg; break;
		case OPT_LISTEN:
			if (nlisten == CONFIG_MAX_LISTEN) {
				fprintf(stderr, "trusteed: too many --listen\n");
				return 2;
			}
			listen[nlisten++] = optarg;
			break;
		case OPT_INSECURE_HTTP: insecure = 1; break;
		case OPT_WORKERS:
			workers = arg_number("--workers", optarg, 1, 64);
			break;
		case OPT_SESSION_LIFETIME:
			session_lt = arg_number("--session-lifetime", optarg,
			    1, 86400);
			break;
		case OPT_TOKEN_LIFETIME:
			token_lt = arg_number("--token-lifetime", optarg, 1,
			    86400);
			break;
		case OPT_MAX_BODY:
			max_body = arg_number("--max-body", optarg, 1024,
			    64L << 20);
			break;
		case OPT_SNP_CERT_CACHE: snp_cert_cache = optarg; break;
		case OPT_DCAP_COLLATERAL: dcap_collateral = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (dev && conffile != NULL) ||
	    (!dev && conffile == NULL) || (dev && state_dir == NULL) ||
	    (!dev && state_dir != NULL)) {
		usage(stderr);
		return 2;
	}
	log_init("trusteed", debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (sodium_init() < 0)
		fatalx("libsodium cannot initialise");

	config_defaults(&cfg);
	if (dev) {
		if (devmode_setup(&cfg, state_dir, &err) != 0) {
			fprintf(stderr, "trusteed: %s\n", err.msg);
			config_free(&cfg);
			return 1;
		}
	} else if (config_load(conffile, &cfg) != 0) {
		fprintf(stderr, "trusteed: %s: configuration has errors\n",
		    conffile);
		config_free(&cfg);
		return 1;
	}
	if (nlisten > 0) {
		for (i = 0; i < cfg.nlisten; i++)
			free(cfg.listen[i]);
		for (i = 0; i < nlisten; i++)
			cfg.listen[i] = xstrdup(listen[i]);
		cfg.nlisten = nlisten;
	}
	if (insecure)
		cfg.insecure_http = 1;
	if (workers > 0)
		cfg.workers = (int)workers;
	if (session_lt > 0)
		cfg.session_lifetime_s = (int)session_lt;
	if (token_lt > 0)
		cfg.token_lifetime_s = (int)token_lt;
	if (max_body > 0)
		cfg.max_body = (size_t)max_body;
	if (snp_cert_cache != NULL) {
		free(cfg.snp_cert_cache);
		cfg.snp_cert_cache = xstrdup(snp_cert_cache);
	}
	if (dcap_collateral != NULL) {
		free(cfg.dcap_collateral);
		cfg.dcap_collateral = xstrdup(dcap_collateral);
	}
	cfg.debug = debug;
	if (check) {
		printf("%s: configuration OK\n", conffile ? conffile : "--dev");
		config_free(&cfg);
		return 0;
	}

	/* Keys and secrets live in this process: no core dumps. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);

	backend = store_backend_lookup(cfg.store_type);
	if (backend == NULL) {
		log_warnx("unknown store type '%s'", cfg.store_type);
		goto out;
	}
	if (dir_create(cfg.state_dir, 0700, &err) != 0 ||
	    seal_file_load(cfg.data_key_file, 1, key, &err) != 0) {
		log_warnx("%s", err.msg);
		goto out;
	}
	st = store_open_key(backend, cfg.store_path, key, &err);
	sodium_memzero(key, sizeof(key));
	if (st == NULL) {
		log_warnx("%s", err.msg);
		goto out;
	}
	/* Start order: store, audit, rvps, policy, token (policies seed
	 * from the config and read reference values; everything audits). */
	if (audit_init(st, &err) != 0 || !(up_audit = 1) ||
	    rvps_init(st, &err) != 0 || !(up_rvps = 1) ||
	    policy_init(st, &cfg, &err) != 0 || !(up_policy = 1) ||
	    token_init(st, cfg.token_lifetime_s, &err) != 0 ||
	    !(up_token = 1) || resource_migrate(st, &err) != 0 ||
	    admin_init(&cfg, &err) != 0) {
		log_warnx("%s", err.msg);
		goto out;
	}
	memset(&vcfg, 0, sizeof(vcfg));
	vcfg.snp_cert_cache = cfg.snp_cert_cache;
	vcfg.snp_kds_url = cfg.snp_kds_url;
	vcfg.dcap_collateral = cfg.dcap_collateral;
	vcfg.dcap_pccs_url = cfg.dcap_pccs_url;
	vcfg.dcap_cache_dir = cfg.dcap_cache_dir;
	verifier_configure(&vcfg);
	session_init(cfg.session_lifetime_s);
	if (!cfg.insecure_http) {
		tls = tls_server_ctx(cfg.tls_cert, cfg.tls_key,
		    cfg.tls_min_version, &err);
		if (tls == NULL) {
			log_warnx("%s", err.msg);
			goto out;
		}
	} else
		log_warnx("insecure_http: serving plain HTTP; tokens and "
		    "admin credentials travel in clear text");

	kctx.cfg = &cfg;
	kctx.store = st;
	memset(&hcfg, 0, sizeof(hcfg));
	hcfg.listen = cfg.listen;
	hcfg.nlisten = (size_t)cfg.nlisten;
	hcfg.tls = tls;
	hcfg.max_body = cfg.max_body;
	hcfg.workers = cfg.workers;
	hcfg.handler = kbs_handle;
	hcfg.arg = &kctx;
	srv = http_server_start(&hcfg, &err);
	if (srv == NULL) {
		log_warnx("%s", err.msg);
		goto out;
	}
	for (i = 0; i < cfg.nlisten; i++) {
		const char *a = cfg.listen[i], *colon = strrchr(a, ':');

		fprintf(stderr, "trusteed: listening on %s://%.*s:%d\n",
		    tls != NULL ? "https" : "http", (int)(colon - a), a,
		    http_server_port(srv, (size_t)i));
	}

	base = event_base_new();
	if (base == NULL)
		fatalx("event_base_new failed");
	ev_term = evsignal_new(base, SIGTERM, on_signal, base);
	ev_int = evsignal_new(base, SIGINT, on_signal, base);
	ev_gc = event_new(base, -1, EV_PERSIST, on_gc, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	event_add(ev_gc, &(struct timeval){ .tv_sec = 60 });
	event_base_dispatch(base);
	rc = 0;
out:
	if (srv != NULL)
		http_server_stop(srv);
	if (ev_term != NULL)
		event_free(ev_term);
	if (ev_int != NULL)
		event_free(ev_int);
	if (ev_gc != NULL)
		event_free(ev_gc);
	if (base != NULL)
		event_base_free(base);
	session_shutdown();
	admin_shutdown();
	if (up_token)
		token_shutdown();
	if (up_policy)
		policy_shutdown();
	if (up_rvps)
		rvps_shutdown();
	if (up_audit)
		audit_shutdown();
	store_close(st);
	SSL_CTX_free(tls);
	config_free(&cfg);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
