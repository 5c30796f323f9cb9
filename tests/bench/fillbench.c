/*
 * fillbench.c: bulk-load the synthetic resources of the scale benchmark
 * (benchres.h) straight into a trusteed --dev state directory's store,
 * and report the store's write rate.
 *
 * The store is opened exactly as trusteed opens it in --dev mode
 * (store_open with the file sealer's <state>/data.key and the SQLite
 * store <state>/trustee.db)
 * and every resource is written with resource_put, the function the
 * admin API's PUT uses: the same sealed rows, versioned index and
 * durability (one synchronous commit per row), without HTTP, TLS, admin
 * token checks or audit rows. The server must not be running on the same
 * state directory meanwhile (tests/bench/scale.sh stops it).
 *
 * Usage: fillbench --state-dir DIR --count N [--start K] [--json]
 * Writes resources K .. K+N-1. Exit status 0, 1 on a store error, 2 usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <sodium.h>

#include "../../lib/log.h"
#include "../../lib/util.h"
#include "../../server/resource.h"
#include "../../store/seal.h"
#include "../../store/store.h"
#include "benchres.h"

#define FILLBENCH_WHO		"fillbench"
#define FILLBENCH_PROGRESS	100000	/* a progress line every N puts */

static void __attribute__((noreturn))
fillbench_usage(int code)
{
	fprintf(code ? stderr : stdout, "usage: fillbench --state-dir DIR "
	    "--count N [--start K] [--json]\n");
	exit(code);
}

static uint64_t
fillbench_u64(const char *s)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		fillbench_usage(2);
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v > UINT32_MAX)
		fillbench_usage(2);
	return v;
}

static double
fillbench_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "start", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	uint64_t count = 0, start = 0, i, t0, t1;
	uint8_t val[BENCHRES_VALUE_LEN];
	char name[BENCHRES_NAME_MAX], *keyfile, *db;
	struct seal_config sc;
	struct store_options so;
	struct store *st;
	struct error err;
	double cpu0, cpu, wall;
	int ch, json = 0, have_count = 0, rc = 0;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			count = fillbench_u64(optarg);
			have_count = 1;
			break;
		case 's':
			start = fillbench_u64(optarg);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fillbench_usage(0);
		default:
			fillbench_usage(2);
		}
	}
	if (optind != argc || dir == NULL || !have_count)
		fillbench_usage(2);
	log_init("fillbench", LOG_LVL_WARN);
	if (sodium_init() < 0) {
		fprintf(stderr, "fillbench: sodium_init failed\n");
		return 1;
	}
	keyfile = xasprintf("%s/data.key", dir);
	db = xasprintf("sqlite:%s/trustee.db", dir);
	memset(&sc, 0, sizeof(sc));
	sc.kind = "file";
	sc.key_file = keyfile;
	sc.passphrase_fd = -1;
	memset(&so, 0, sizeof(so));
	so.dsn = db;
	so.state_dir = dir;
	so.seal = &sc;
	so.exclusive = 1;
	st = store_open(&so, &err);
	if (st == NULL) {
		fprintf(stderr, "fillbench: %s (start trusteed --dev "
		    "--state-dir %s once first, and stop it)\n", err.msg, dir);
		free(keyfile);
		free(db);
		return 1;
	}

	cpu0 = fillbench_cpu_s();
	t0 = now_mono_ns();
	for (i = start; i < start + count; i++) {
		benchres_name(i, name);
		benchres_value(name, val);
		if (resource_put(st, name, val, sizeof(val), NULL,
		    FILLBENCH_WHO, NULL, NULL, &err) != 0) {
			fprintf(stderr, "fillbench: put %s: %s\n", name,
			    err.msg);
			rc = 1;
			break;
		}
		if ((i - start + 1) % FILLBENCH_PROGRESS == 0)
			fprintf(stderr, "fillbench: %" PRIu64 " of %" PRIu64
			    " written\n", i - start + 1, count);
	}
	t1 = now_mono_ns();
	cpu = fillbench_cpu_s() - cpu0;
	wall = (double)(t1 - t0) / 1e9;
	store_close(st);
	count = i - start;
	if (json)
		printf("{\"written\":%" PRIu64 ",\"start\":%" PRIu64 ",\"wall_s\":"
		    "%.3f,\"cpu_s\":%.3f,\"puts_per_s\":%.1f,\"cpu_us_per_put\":"
		    "%.1f}\n", count, start, wall, cpu, wall > 0 ?
		    (double)count / wall : 0, count ? cpu * 1e6 /
		    (double)count : 0);
	else
		printf("fillbench: %" PRIu64 " resources written (%s%" PRIu64
		    " ..) in %.1f s: %.0f puts/s, %.1f us CPU per put\n", count,
		    BENCHRES_PREFIX, start, wall, wall > 0 ? (double)count /
		    wall : 0, count ? cpu * 1e6 / (double)count : 0);
	free(keyfile);
	free(db);
	return rc;
}
