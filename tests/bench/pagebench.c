/*
 * pagebench.c: what this machine charges a process for memory it touches
 * for the first time, so that the benchmark's figures for operations
 * that grow the server's heap can be read against it.
 *
 * Why: a phase that attests sessions (attest, flows, bearer_first) leaves
 * each session's token, claims and key in the heap (run.sh prints the RSS
 * per attested session, some 18 KB), so its CPU per operation includes
 * the kernel's work of giving the heap new pages: a page fault and
 * zeroing per page. On a VM that hands free memory back to its host
 * (virtio-balloon free page reporting, as on this project's CI VM), a
 * page the guest has not held for a while is also populated by the host
 * on that first touch, which costs some twenty times the zeroing; the
 * floors, which allocate nothing, pay none of it. In production a loaded
 * server sits at its session cap and reuses its heap.
 *
 * Method: one thread maps --mib MiB of anonymous memory, advised for
 * transparent huge pages as the packaged server's heap is (trusteed(8),
 * "Memory"), writes one byte per 4 KiB, and measures its CPU time
 * (CLOCK_THREAD_CPUTIME_ID: the faults, the zeroing and the host's work
 * are all charged to it); then unmaps, maps and touches the same size
 * again, which the kernel serves from the pages just freed. Prints the CPU
 * time per 4 KiB of both: "fresh" and "reused".
 *
 * Usage: pagebench [--mib N] [--json]
 * Exit status: 0, 1 if memory cannot be mapped, 2 usage.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGEBENCH_PAGE	4096

static uint64_t
pagebench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU microseconds per 4 KiB page to map and first-touch len bytes; -1
 * if it cannot be mapped. */
static double
pagebench_touch(size_t len)
{
	volatile unsigned char *p;
	uint64_t t0, t1;
	size_t off;
	void *m;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	(void)madvise(m, len, MADV_HUGEPAGE);	/* absent THP: plain pages */
	p = m;
	t0 = pagebench_cpu_ns();
	for (off = 0; off < len; off += PAGEBENCH_PAGE)
		p[off] = 1;
	t1 = pagebench_cpu_ns();
	munmap(m, len);
	return (double)(t1 - t0) / 1e3 / (double)(len / PAGEBENCH_PAGE);
}

static void __attribute__((noreturn))
pagebench_usage(int code)
{
	fprintf(code == 0 ? stdout : stderr,
	    "usage: pagebench [--mib N] [--json]\n"
	    "  CPU time per 4 KiB to first-touch N MiB (default 64) of new\n"
	    "  memory (fresh), then the same size again (reused)\n");
	exit(code);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	double fresh, reused;
	unsigned long mib = 64;
	char *end;
	int ch, json = 0;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			mib = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || mib < 2 ||
			    mib > 4096)
				pagebench_usage(2);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			pagebench_usage(0);
		default:
			pagebench_usage(2);
		}
	}
	if (optind != argc)
		pagebench_usage(2);
	fresh = pagebench_touch((size_t)mib << 20);
	reused = pagebench_touch((size_t)mib << 20);
	if (fresh < 0 || reused < 0) {
		fprintf(stderr, "pagebench: cannot map %lu MiB\n", mib);
		return 1;
	}
	if (json)
		printf("{\"mib\": %lu, \"fresh_us_per_4k\": %.3f, "
		    "\"reused_us_per_4k\": %.3f}\n", mib, fresh, reused);
	else
		printf("pagebench: first touch of %lu MiB: %.2f us per 4 KiB "
		    "fresh, %.2f us reused\n", mib, fresh, reused);
	return 0;
}
