/*
 * trusteed.c: the daemon's entry point. Parses arguments, loads the
 * config (or builds the --dev defaults), checks everything a start needs
 * before writing anything (preflight.c; `-n` stops there), opens the
 * store (which unseals the master key), starts the HTTP(S) workers and
 * waits for SIGTERM/SIGINT.
 *
 * Start order, so that a configuration that cannot work writes nothing:
 *   1. arguments and the config file (every error as FILE:LINE);
 *   2. store and sealer settings (DSN, password file, sealer files);
 *   3. --dev only: create the missing development files;
 *   4. TLS certificate and key, admin keys (exist, safe modes, parse);
 *   5. admin authentication and the TLS context, in memory;
 *   6. only now: the state directory and the store (a new deployment is
 *      created here), then the audit trail, reference values, policies
 *      (seeded), the token key, and the listeners.
 * A failed start prints what failed and where, then "not starting".
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "../lib/log.h"
#include "../rvps/rvps.h"
#include "../store/seal.h"
#include "../verifier/verifier.h"
#include "audit.h"
#include "console.h"
#include "observe.h"
#include "policy.h"
#include "resource.h"
#include "sesscache.h"
#include "trusteed.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: trusteed [-d] [-n] -c FILE [--store DSN]\n"
	    "       trusteed --dev --state-dir DIR [--store DSN] [--listen ADDR:PORT] [-d]\n"
	    "       trusteed (-c FILE | --dev --state-dir DIR) --join-request FILE\n"
	    "       trusteed (-c FILE | --dev --state-dir DIR) --join FILE\n"
	    "       trusteed setup [options]   (first run; trusteed setup --help)\n"
	    "\n"
	    "  -c, --config FILE        configuration file (TOML)\n"
	    "  -n, --check              check everything a start checks, write nothing, exit\n"
	    "      --store DSN          sqlite:PATH or mariadb://USER@HOST[:PORT]/DB ([store] dsn)\n"
	    "      --join-request FILE  write a request to join a deployment, and exit\n"
	    "      --join FILE          join the deployment with the file `trusteectl key\n"
	    "                           export --for` made for that request, and exit\n"
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
	    "      --limit NAME=VALUE   set a [limits] key (repeatable)\n"
	    "      --console-files DIR  serve the console from DIR ([console] files)\n"
	    "      --console-idle-timeout S  console session idle timeout\n"
	    "      --login-lockout N    lock a console user after N failed logins\n"
	    "      --login-delay-after N  delay console logins after N failures\n"
	    "      --attestation-log-keep N  attestation log rows kept\n"
	    "      --store-lease MS     shared store: resource rows from memory "
	    "under a\n"
	    "                           lease of MS ms ([store] lease; 200; 0 off)\n"
	    "      --no-stateless-auth  shared store: /auth stores its challenge "
	    "([store]\n"
	    "                           stateless_auth = false)\n"
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
	notify_send("STOPPING=1");
	event_base_loopbreak(arg);
}

/* Expired console sessions and attestation log rows past their age. */
static void
trusteed_console_gc(void)
{
	static struct log_limit lim;	/* repeats while the store is away */
	struct error err;
	int64_t now = now_unix();
	int n;

	if ((n = consess_gc(&err)) < 0)
		log_warnx_limited(&lim, 60, "console sessions: %s", err.msg);
	else if (n > 0)
		log_debug("dropped %d expired console sessions", n);
	if ((n = attlog_expire(now)) > 0)
		log_debug("dropped %d old attestation log rows", n);
}

/* The console, the attestation log, metrics and stats (after the store
 * and before the listeners). --dev: the first console user. */
static int
trusteed_console_init(struct config *cfg, struct store *st, struct error *err)
{
	struct console_auth_config cc;
	struct store_info info;
	uint8_t *pw = NULL;
	size_t len = 0;
	uint64_t nusers = 0;
	int rc = 0;

	metrics_init(cfg, st);
	stats_init();
	store_info(st, &info);
	/* Follow other instances' log rows only where there can be others
	 * (an SQLite file is one daemon's: its lock says so). */
	if (attlog_init(st, (size_t)cfg->attlog_keep,
	    (int64_t)cfg->attlog_max_age_days * 86400,
	    strcmp(info.backend, "sqlite") != 0, err) != 0)
		return -1;
	memset(&cc, 0, sizeof(cc));
	cc.enabled = cfg->console_enabled;
	cc.idle_s = cfg->console_idle_s;
	cc.lifetime_s = cfg->console_lifetime_s;
	cc.guard.user_failures = cfg->login_user_failures;
	if (cfg->login_source_failures != 30)
		log_warnx("[console] login_lockout_source_failures is no longer "
		    "used: logins per client address are limited by [limits] "
		    "login_rate and login_burst");
	cc.guard.delay_after = cfg->login_delay_after;
	cc.guard.max_delay_s = 60;
	cc.guard.lockout_s = cfg->login_lockout_s;
	if (console_auth_init(st, &cc, err) != 0 ||
	    console_files_init(cfg->console_files, err) != 0)
		return -1;
	if (!cfg->console_enabled || cfg->console_password_file == NULL)
		return 0;
	if (users_count(&nusers, err) != 0)
		return -1;
	if (nusers == 0) {
		if (file_read_all(cfg->console_password_file, 4096, &pw, &len,
		    err) != 0)
			return -1;
		while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
			pw[--len] = '\0';
		rc = users_ensure("admin", "admin", (const char *)pw,
		    "trusteed --dev", err);
		secret_free(pw, len);
		if (rc == 0)
			log_info("console: created user admin (password in %s)",
			    cfg->console_password_file);
	}
	return rc == 0 ? 0 : -1;
}

/* SIGHUP: reload.c says what is read again; connections stay. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	log_info("received SIGHUP, reloading");
	notify_send("RELOADING=1");
	reload_run(arg);
	notify_send("READY=1\nSTATUS=serving (reloaded)");
}

/*
 * Periodic housekeeping: expired sessions, the held-back "limits:" log
 * lines, and memory given back to the kernel. glibc keeps freed memory
 * in its arenas (and a heap only shrinks from its top), so without
 * malloc_trim the RSS of a burst of sessions stays after they expire.
 */
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
	trusteed_console_gc();
	ratelimit_flush();
	malloc_trim(0);
}

/* The [limits] section applied to the rate limiter and session quota. */
static void
limits_apply(const struct config *cfg)
{
	const struct config_limits *l = &cfg->limits;
	struct ratelimit_rule rules[RL_NCLASS] = {
		[RL_AUTH] = { l->auth_rate, l->auth_burst },
		[RL_ATTEST] = { l->attest_rate, l->attest_burst },
		[RL_ATTESTATION] = { l->attestation_rate,
		    l->attestation_burst },
		[RL_LOGIN] = { l->login_rate, l->login_burst },
	};
	struct session_quota_config q = {
		.max_sessions = (size_t)l->max_sessions,
		.max_unattested_per_source =
		    (size_t)l->max_unattested_per_source,
		.max_bytes = (size_t)l->session_memory_mib << 20,
	};

	ratelimit_init(rules, (size_t)l->rate_sources);
	session_quota_init(&q);
	/* perf: verified tokens (sesscache.h) are derived from sessions and
	 * may hold a quarter of the sessions' memory cap besides it. */
	sesscache_init(0, (size_t)l->session_memory_mib << 18);
}

/* 1 for the embedded store (SQLite: one daemon, a local file), 0 for
 * one that other instances share over the network. */
static int
trusteed_store_embedded(struct store *st)
{
	struct store_info info;

	store_info(st, &info);
	return strcmp(info.backend, "sqlite") == 0;
}

/*
 * A store other instances share (MariaDB, Galera): KBS sessions become
 * its rows, so a guest may use any instance for any step (session.c,
 * session_shared.c). SQLite has one daemon: sessions stay in memory.
 */
static void
trusteed_share_sessions(const struct config *cfg, struct store *st)
{
	struct store_info info;

	if (trusteed_store_embedded(st))
		return;
	store_info(st, &info);
	session_share(st, (size_t)cfg->limits.max_sessions,
	    (size_t)cfg->limits.session_memory_mib << 20,
	    cfg->store_stateless_auth);
	log_info("KBS sessions are kept in the %s store, shared with the "
	    "other instances%s", info.backend, cfg->store_stateless_auth ?
	    " (stateless challenges: /auth writes no row)" : "");
}

enum {
	OPT_DEV = 256, OPT_STATE_DIR, OPT_LISTEN, OPT_INSECURE_HTTP,
	OPT_WORKERS, OPT_SESSION_LIFETIME, OPT_TOKEN_LIFETIME, OPT_MAX_BODY,
	OPT_SNP_CERT_CACHE, OPT_DCAP_COLLATERAL, OPT_STORE, OPT_JOIN_REQUEST,
	OPT_JOIN, OPT_LIMIT, OPT_CONSOLE_FILES, OPT_CONSOLE_IDLE,
	OPT_LOGIN_LOCKOUT, OPT_LOGIN_DELAY, OPT_ATTLOG_KEEP, OPT_STORE_LEASE,
	OPT_NO_STATELESS_AUTH
};

#define MAX_LIMIT_ARGS 64

/* 1 if the state directory holds this instance's id (store_open wrote
 * it when the instance was set up or joined). */
static int
trusteed_has_instance(const char *state_dir)
{
	char *p = xasprintf("%s/instance-id", state_dir);
	int yes = access(p, F_OK) == 0;

	free(p);
	return yes;
}

/* Print why a start failed, then the final line. */
static int
not_starting(const char *where, const char *msg)
{
	if (where != NULL)
		fprintf(stderr, "%s: %s\n", where, msg);
	else if (msg != NULL)
		fprintf(stderr, "trusteed: %s\n", msg);
	fprintf(stderr, "trusteed: not starting\n");
	return 1;
}

/* Keys live in this process: no core dumps, no ptrace by other users. */
static void
no_core_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warnx("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		log_warnx("setrlimit(RLIMIT_CORE): %s", strerror(errno));
}

/* Where a store error belongs: the sealer's line when unsealing failed,
 * else the DSN's (or --store). */
static const char *
store_where(const struct config *cfg, const char *store_flag,
    const char *msg, char *buf, size_t cap)
{
	if (strstr(msg, "seal") != NULL)
		return config_where(cfg, "sealer", "kind", NULL, buf, cap);
	return config_where(cfg, "store", "dsn", store_flag, buf, cap);
}

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
		{ "store", required_argument, NULL, OPT_STORE },
		{ "join-request", required_argument, NULL, OPT_JOIN_REQUEST },
		{ "join", required_argument, NULL, OPT_JOIN },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "console-files", required_argument, NULL, OPT_CONSOLE_FILES },
		{ "console-idle-timeout", required_argument, NULL,
		    OPT_CONSOLE_IDLE },
		{ "login-lockout", required_argument, NULL, OPT_LOGIN_LOCKOUT },
		{ "login-delay-after", required_argument, NULL,
		    OPT_LOGIN_DELAY },
		{ "attestation-log-keep", required_argument, NULL,
		    OPT_ATTLOG_KEEP },
		{ "store-lease", required_argument, NULL, OPT_STORE_LEASE },
		{ "no-stateless-auth", no_argument, NULL,
		    OPT_NO_STATELESS_AUTH },
		{ NULL, 0, NULL, 0 }
	};
	const char *conffile = NULL, *state_dir = NULL;
	const char *snp_cert_cache = NULL, *dcap_collateral = NULL;
	const char *store_dsn = NULL, *join_request = NULL, *join = NULL;
	const char *console_files = NULL;
	long console_idle = 0, login_lockout = 0, login_delay = 0;
	long attlog_keep = 0, store_lease = -1;
	int no_stateless_auth = 0;
	const char *limit_args[MAX_LIMIT_ARGS];
	int nlimits = 0;
	struct timeval gc_every;
	struct event *ev_hup = NULL;
	char where[512];
	struct seal_config sc;
	struct store_options so;
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
	struct verifier_config vcfg;
	int c, i, rc = 1;
	int up_audit = 0, up_rvps = 0, up_policy = 0, up_token = 0;

	if (argc > 1 && strcmp(argv[1], "setup") == 0)
		return setup_main(argc - 1, argv + 1);
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
		case OPT_STORE: store_dsn = optarg; break;
		case OPT_JOIN_REQUEST: join_request = optarg; break;
		case OPT_JOIN: join = optarg; break;
		case OPT_LIMIT:
			if (nlimits == MAX_LIMIT_ARGS) {
				fprintf(stderr, "trusteed: too many --limit\n");
				return 2;
			}
			limit_args[nlimits++] = optarg;
			break;
		case OPT_CONSOLE_FILES: console_files = optarg; break;
		case OPT_CONSOLE_IDLE:
			console_idle = arg_number("--console-idle-timeout",
			    optarg, 1, 86400);
			break;
		case OPT_LOGIN_LOCKOUT:
			login_lockout = arg_number("--login-lockout", optarg, 1,
			    1000);
			break;
		case OPT_LOGIN_DELAY:
			login_delay = arg_number("--login-delay-after", optarg,
			    1, 1000);
			break;
		case OPT_ATTLOG_KEEP:
			attlog_keep = arg_number("--attestation-log-keep",
			    optarg, 1, 10000000);
			break;
		case OPT_STORE_LEASE:
			store_lease = arg_number("--store-lease", optarg, 0,
			    10000);
			break;
		case OPT_NO_STATELESS_AUTH:
			no_stateless_auth = 1;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (dev && conffile != NULL) ||
	    (!dev && conffile == NULL) || (dev && state_dir == NULL) ||
	    (!dev && state_dir != NULL) || (join != NULL &&
	    join_request != NULL) || (check && (join != NULL ||
	    join_request != NULL))) {
		usage(stderr);
		return 2;
	}
	log_init("trusteed", debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	no_core_dumps();
	if (sodium_init() < 0)
		fatalx("libsodium cannot initialise");
	/* Private keys in OpenSSL's locked, guarded heap (tls.c). */
	if (tls_secure_heap_init(&err) != 0)
		log_warnx("%s", err.msg);
	signal(SIGPIPE, SIG_IGN);
	/* A fixed mmap threshold: glibc otherwise raises it after each large
	 * free, so later large buffers (request bodies, tokens) come from
	 * the arenas and stay in the RSS after they are freed. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	/* Free memory at the top of an arena stays there up to this much
	 * (the default is 128 KiB): each attestation's buffers would
	 * otherwise be given back and faulted in again. The housekeeping
	 * timer's malloc_trim still returns all of it within 15 s. */
	mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
	signal(SIGHUP, SIG_IGN);	/* until the event loop handles it */

	/* 1. Arguments and the config file: nothing is written. */
	config_defaults(&cfg);
	if (dev)
		devmode_config(&cfg, state_dir);
	else if (config_load(conffile, &cfg) != 0) {
		config_free(&cfg);
		return not_starting(NULL, NULL);
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
	if (store_dsn != NULL) {
		free(cfg.store_dsn);
		cfg.store_dsn = xstrdup(store_dsn);
	}
	for (i = 0; i < nlimits; i++) {
		if (config_limit_set(&cfg, limit_args[i], &err) != 0) {
			config_free(&cfg);
			return not_starting("--limit", err.msg);
		}
	}
	if (config_limits_check(&cfg, &err) != 0) {
		config_free(&cfg);
		return not_starting(NULL, err.msg);
	}
	if (console_files != NULL) {
		free(cfg.console_files);
		cfg.console_files = xstrdup(console_files);
	}
	if (console_idle > 0)
		cfg.console_idle_s = (int)console_idle;
	if (login_lockout > 0)
		cfg.login_user_failures = (int)login_lockout;
	if (login_delay > 0)
		cfg.login_delay_after = (int)login_delay;
	if (attlog_keep > 0)
		cfg.attlog_keep = (int)attlog_keep;
	if (store_lease >= 0)
		cfg.store_lease_ms = (int)store_lease;
	if (no_stateless_auth)
		cfg.store_stateless_auth = 0;
	cfg.debug = debug;
	config_store_options(&cfg, &sc, &so);
	if (cfg.store_dsn == NULL) {
		free(cfg.store_dsn);
		cfg.store_dsn = xasprintf("sqlite:%s", cfg.store_path);
		so.dsn = cfg.store_dsn;
	}

	/* A production sealer on a state directory without an instance:
	 * nothing to unseal yet. Only setup (or --join) starts one. */
	if (!dev && join == NULL && join_request == NULL &&
	    strcmp(cfg.sealer, "file") != 0 &&
	    !trusteed_has_instance(cfg.state_dir)) {
		rc = not_starting(config_where(&cfg, "storage", "state_dir",
		    NULL, where, sizeof(where)), "no deployment in this state "
		    "directory yet: run `trusteed setup` first (or `trusteed "
		    "--join-request` / `--join` to join an existing one)");
		config_free(&cfg);
		return rc;
	}
	so.create = dev || strcmp(cfg.sealer, "file") == 0;

	/* 2. Store and sealer settings; 3. --dev's files; 4. the files. */
	if (preflight_run(&cfg, &so, store_dsn != NULL ? "--store" : NULL,
	    !dev ? PREFLIGHT_ALL : check ? PREFLIGHT_EXISTING :
	    PREFLIGHT_STORE) != 0) {
		config_free(&cfg);
		return not_starting(NULL, NULL);
	}
	if (check) {
		printf("%s: configuration OK\n", conffile ? conffile : "--dev");
		config_free(&cfg);
		return 0;
	}
	if (dev && devmode_create(&cfg, &err) != 0) {
		config_free(&cfg);
		return not_starting("--state-dir", err.msg);
	}
	if (dev && preflight_run(&cfg, &so, store_dsn != NULL ? "--store" :
	    NULL, PREFLIGHT_ALL) != 0) {
		config_free(&cfg);
		return not_starting(NULL, NULL);
	}
	if (join_request != NULL || join != NULL) {
		if (dir_create(cfg.state_dir, 0700, &err) != 0 ||
		    (join_request != NULL ? store_join_request(&so,
		    join_request, &err) : store_join(&so, join, &err)) != 0) {
			config_free(&cfg);
			return not_starting(join_request != NULL ?
			    "--join-request" : "--join", err.msg);
		}
		printf("trusteed: %s\n", join_request != NULL ? "join request "
		    "written; on a running instance run `trusteectl key export "
		    "--for FILE`, then `trusteed --join JOINFILE` here" :
		    "joined the deployment; start trusteed normally");
		config_free(&cfg);
		return 0;
	}

	/* 5. In memory only: admin authentication and TLS. */
	if (admin_init(&cfg, &err) != 0) {
		rc = not_starting(config_where(&cfg, "admin", "public_keys",
		    NULL, where, sizeof(where)), err.msg);
		goto out_early;
	}
	if (!cfg.insecure_http) {
		tls = tls_server_ctx(cfg.tls_cert, cfg.tls_key,
		    cfg.tls_min_version, &err);
		if (tls == NULL) {
			rc = not_starting(config_where(&cfg, "http_server",
			    "certificate", NULL, where, sizeof(where)),
			    err.msg);
			goto out_early;
		}
	} else
		log_warnx("insecure_http: serving plain HTTP; tokens and "
		    "admin credentials travel in clear text");

	/* 6. Now the state directory and the store. */
	if (dir_create(cfg.state_dir, 0700, &err) != 0) {
		rc = not_starting(config_where(&cfg, "storage", "state_dir",
		    dev ? "--state-dir" : NULL, where, sizeof(where)),
		    err.msg);
		goto out_early;
	}
	st = store_open(&so, &err);
	if (st == NULL) {
		rc = not_starting(store_where(&cfg, store_dsn != NULL ?
		    "--store" : NULL, err.msg, where, sizeof(where)), err.msg);
		goto out_early;
	}
	{
		struct store_info info;

		store_info(st, &info);
		log_info("store %s (instance %s, data key version %u), master "
		    "key sealed by %s", info.dsn, info.instance,
		    info.key_version, info.sealer);
		if (info.insecure_sealer)
			log_warnx("WARNING: the master key is sealed by the "
			    "development file sealer (%s): anyone who can read "
			    "that file and the database has every secret; use "
			    "a TEE sealer ([sealer] kind = \"tpm2\" or "
			    "\"snp\") or \"passphrase\" in production",
			    cfg.data_key_file);
	}
	/* Start order: store, audit, rvps, policy, token (policies seed
	 * from the config and read reference values; everything audits). */
	{
		struct audit_limits al = { cfg.audit_admin_retention_days,
		    cfg.audit_guest_records, cfg.audit_guest_per_minute };

		audit_configure(&al);
	}
	if (audit_init(st, &err) != 0 || !(up_audit = 1) ||
	    rvps_init(st, &err) != 0 || !(up_rvps = 1) ||
	    policy_init(st, &cfg, &err) != 0 || !(up_policy = 1) ||
	    token_init(st, cfg.token_lifetime_s, &err) != 0 ||
	    !(up_token = 1) || resource_migrate(st, &err) != 0 ||
	    resource_list_init(st, &err) != 0 ||
	    trusteed_console_init(&cfg, st, &err) != 0) {
		rc = not_starting(NULL, err.msg);
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
	limits_apply(&cfg);
	trusteed_share_sessions(&cfg, st);
	if (cfg.workers == 0)
		cfg.workers = config_default_workers(
		    !trusteed_store_embedded(st));

	kctx.cfg = &cfg;
	kctx.store = st;
	memset(&hcfg, 0, sizeof(hcfg));
	hcfg.listen = cfg.listen;
	hcfg.nlisten = (size_t)cfg.nlisten;
	hcfg.tls = tls;
	hcfg.max_body = cfg.max_body;
	hcfg.workers = cfg.workers;
	hcfg.idle_timeout_s = cfg.limits.idle_timeout_s;
	hcfg.handshake_timeout_s = cfg.limits.handshake_timeout_s;
	hcfg.request_timeout_s = cfg.limits.request_timeout_s;
	hcfg.max_connections = (size_t)cfg.limits.max_connections;
	hcfg.max_connections_per_source =
	    (size_t)cfg.limits.max_connections_per_source;
	hcfg.max_inflight = (size_t)cfg.limits.inflight_memory_mib << 20;
	hcfg.preflight = kbs_preflight;
	hcfg.handler = routes_handle;
	hcfg.arg = &kctx;
	srv = http_server_start(&hcfg, &err);
	if (srv == NULL) {
		rc = not_starting(config_where(&cfg, "http_server", "listen",
		    nlisten > 0 ? "--listen" : NULL, where, sizeof(where)),
		    err.msg);
		goto out;
	}
	for (i = 0; i < cfg.nlisten; i++) {
		const char *a = cfg.listen[i], *colon = strrchr(a, ':');

		fprintf(stderr, "trusteed: listening on %s://%.*s:%d\n",
		    tls != NULL ? "https" : "http", (int)(colon - a), a,
		    http_server_port(srv, (size_t)i));
	}
	log_info("%d event-loop workers", cfg.workers);

	base = event_base_new();
	if (base == NULL)
		fatalx("event_base_new failed");
	ev_term = evsignal_new(base, SIGTERM, on_signal, base);
	ev_int = evsignal_new(base, SIGINT, on_signal, base);
	ev_hup = evsignal_new(base, SIGHUP, on_hup, tls);
	ev_gc = event_new(base, -1, EV_PERSIST, on_gc, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	/* Often enough that expired sessions (and their memory) go within
	 * half a lifetime, at most every 15 s. */
	gc_every.tv_sec = cfg.session_lifetime_s / 2 < 1 ? 1 :
	    cfg.session_lifetime_s / 2 > 15 ? 15 : cfg.session_lifetime_s / 2;
	gc_every.tv_usec = 0;
	event_add(ev_gc, &gc_every);
	evsignal_add(ev_hup, NULL);
	/* The key is unsealed, the store open, every listener bound. */
	notify_send("READY=1\nSTATUS=serving on %d address%s",
	    cfg.nlisten, cfg.nlisten == 1 ? "" : "es");
	event_base_dispatch(base);
	rc = 0;
out:
	if (srv != NULL)
		http_server_stop(srv);
	if (ev_term != NULL)
		event_free(ev_term);
	if (ev_int != NULL)
		event_free(ev_int);
	if (ev_hup != NULL)
		event_free(ev_hup);
	if (ev_gc != NULL)
		event_free(ev_gc);
	if (base != NULL)
		event_base_free(base);
	session_shutdown();
	sesscache_shutdown();
	session_quota_shutdown();
	ratelimit_shutdown();
	console_files_shutdown();
	console_auth_shutdown();
	attlog_shutdown();
	if (up_token)
		token_shutdown();
	if (up_policy)
		policy_shutdown();
	if (up_rvps)
		rvps_shutdown();
	if (up_audit)
		audit_shutdown();
	resource_list_shutdown();
	store_close(st);
out_early:
	SSL_CTX_free(tls);
	admin_shutdown();
	config_free(&cfg);
	if (rc == 0)
		log_info("stopped");
	return rc;
}
