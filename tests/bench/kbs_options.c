/*
 * kbs_options.c: kbsbench's command line. kbs_options_parse fills a
 * struct kbs_options with the defaults and the given options, or prints
 * the usage (with the reason) on stderr and exits with status 2: a bad
 * number, an unknown option or phase name, a missing --url, --cacert or
 * --admin-key. kbs_options_wanted says whether a phase runs.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kbs.h"

static void __attribute__((noreturn))
kbs_options_usage(const char *msg)
{
	if (msg != NULL)
		fprintf(stderr, "kbsbench: %s\n", msg);
	fprintf(stderr,
	    "usage: kbsbench --url URL [--url2 URL] --cacert FILE --admin-key FILE\n"
	    "    [--concurrency N] [--sessions N] [--attested-sessions N]\n"
	    "    [--flows N] [--gets N] [--bearer-gets N] [--bearer-first N]\n"
	    "    [--admin-gets N] [--admin-path PATH] [--resources N]\n"
	    "    [--only PHASE] [--duration-limit S] [--pid PID]\n"
	    "    [--key-alg p256|p521|rsa-oaep-256] [--resource-size BYTES]\n"
	    "    [--max-errors N] [--json]\n");
	exit(2);
}

/* Strict unsigned parse with bounds; exits on a bad value. */
static uint64_t
kbs_options_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	if (*s == '\0' || *s == '-' || *s == '+')
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	return v;
bad:
	fprintf(stderr, "kbsbench: %s: '%s' is not an integer in [%" PRIu64
	    ", %" PRIu64 "]\n", opt, s, min, max);
	exit(2);
}

void
kbs_options_parse(int argc, char **argv, struct kbs_options *o)
{
	enum {
		OPT_URL = 256, OPT_CACERT, OPT_ADMIN_KEY, OPT_CONC, OPT_FLOWS,
		OPT_GETS, OPT_DURATION, OPT_PID, OPT_ALG, OPT_SIZE,
		OPT_MAXERR, OPT_JSON, OPT_HELP, OPT_SESSIONS, OPT_ATTESTED,
		OPT_BEARER, OPT_BEARER_FIRST, OPT_ADMIN_GETS, OPT_ADMIN_PATH,
		OPT_RESOURCES, OPT_ONLY, OPT_URL2
	};
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, OPT_URL },
		{ "url2", required_argument, NULL, OPT_URL2 },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "admin-key", required_argument, NULL, OPT_ADMIN_KEY },
		{ "concurrency", required_argument, NULL, OPT_CONC },
		{ "sessions", required_argument, NULL, OPT_SESSIONS },
		{ "attested-sessions", required_argument, NULL, OPT_ATTESTED },
		{ "flows", required_argument, NULL, OPT_FLOWS },
		{ "gets", required_argument, NULL, OPT_GETS },
		{ "bearer-gets", required_argument, NULL, OPT_BEARER },
		{ "bearer-first", required_argument, NULL, OPT_BEARER_FIRST },
		{ "admin-gets", required_argument, NULL, OPT_ADMIN_GETS },
		{ "admin-path", required_argument, NULL, OPT_ADMIN_PATH },
		{ "resources", required_argument, NULL, OPT_RESOURCES },
		{ "only", required_argument, NULL, OPT_ONLY },
		{ "duration-limit", required_argument, NULL, OPT_DURATION },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "key-alg", required_argument, NULL, OPT_ALG },
		{ "resource-size", required_argument, NULL, OPT_SIZE },
		{ "max-errors", required_argument, NULL, OPT_MAXERR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->concurrency = 16;
	o->sessions = 20000;
	o->attested = 2000;
	o->flows = 2000;
	o->gets = 20000;
	o->bearer_gets = 10000;
	o->bearer_first = 2000;
	o->admin_path = "/api/v1/resources?limit=100";
	o->duration_s = 60;
	o->alg = GUEST_KEY_P256;
	o->alg_name = "p256";
	o->resource_size = 64;
	o->max_errors = 100;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_URL:
			o->url = optarg;
			break;
		case OPT_URL2:
			o->url2 = optarg;
			break;
		case OPT_CACERT:
			o->cacert = optarg;
			break;
		case OPT_ADMIN_KEY:
			o->admin_key = optarg;
			break;
		case OPT_CONC:
			o->concurrency = (unsigned)kbs_options_u64(
			    "--concurrency", optarg, 1, 1024);
			break;
		case OPT_SESSIONS:
			o->sessions = kbs_options_u64("--sessions", optarg, 0,
			    150000);
			break;
		case OPT_ATTESTED:
			o->attested = kbs_options_u64("--attested-sessions",
			    optarg, 0, 150000);
			break;
		case OPT_FLOWS:
			o->flows = kbs_options_u64("--flows", optarg, 0,
			    100000000);
			break;
		case OPT_GETS:
			o->gets = kbs_options_u64("--gets", optarg, 0,
			    100000000);
			break;
		case OPT_BEARER:
			o->bearer_gets = kbs_options_u64("--bearer-gets",
			    optarg, 0, 100000000);
			break;
		case OPT_BEARER_FIRST:
			o->bearer_first = kbs_options_u64("--bearer-first",
			    optarg, 0, 150000);
			break;
		case OPT_ADMIN_GETS:
			o->admin_gets = kbs_options_u64("--admin-gets",
			    optarg, 0, 100000000);
			break;
		case OPT_ADMIN_PATH:
			if (optarg[0] != '/')
				kbs_options_usage("--admin-path: must start "
				    "with /");
			o->admin_path = optarg;
			break;
		case OPT_RESOURCES:
			o->resources = kbs_options_u64("--resources", optarg, 0,
			    UINT32_MAX);
			break;
		case OPT_ONLY:
			o->only = optarg;
			break;
		case OPT_DURATION:
			o->duration_s = (unsigned)kbs_options_u64(
			    "--duration-limit", optarg, 1, 86400);
			break;
		case OPT_PID:
			o->pid = (pid_t)kbs_options_u64("--pid", optarg, 1,
			    INT_MAX);
			break;
		case OPT_ALG:
			if (strcmp(optarg, "p256") == 0)
				o->alg = GUEST_KEY_P256;
			else if (strcmp(optarg, "p521") == 0)
				o->alg = GUEST_KEY_P521;
			else if (strcmp(optarg, "rsa-oaep-256") == 0)
				o->alg = GUEST_KEY_RSA_OAEP256;
			else
				kbs_options_usage("--key-alg: expected p256, "
				    "p521 or rsa-oaep-256");
			o->alg_name = optarg;
			break;
		case OPT_SIZE:
			o->resource_size = (size_t)kbs_options_u64(
			    "--resource-size", optarg, 1, 16 * 1024 * 1024);
			break;
		case OPT_MAXERR:
			o->max_errors = kbs_options_u64("--max-errors",
			    optarg, 1, UINT64_MAX);
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case 'h':
		case OPT_HELP:
			kbs_options_usage(NULL);
		default:
			kbs_options_usage(NULL);
		}
	}
	if (optind != argc)
		kbs_options_usage("unexpected argument");
	if (o->url == NULL || o->cacert == NULL || o->admin_key == NULL)
		kbs_options_usage("--url, --cacert and --admin-key are "
		    "required");
	if (o->only != NULL) {
		size_t i;

		for (i = 0; i < kbs_phase_ninfo; i++)
			if (strcmp(o->only, kbs_phase_info[i].name) == 0)
				break;
		if (i == kbs_phase_ninfo)
			kbs_options_usage("--only: not a phase name");
	}
}

/* Whether a phase runs: its count is not 0 and --only allows it. */
int
kbs_options_wanted(const struct kbs_options *o, enum kbs_phase_kind kind,
    uint64_t total)
{
	return total > 0 && (o->only == NULL ||
	    strcmp(o->only, kbs_phase_info[kind].name) == 0);
}
