/*
 * kbs_sample.c: CPU and memory samples. kbs_sample_proc reads a process's
 * CPU time and memory from /proc (0, or -1 with err set when it cannot);
 * kbs_sample_take samples kbsbench's own CPU time and, with --pid, the
 * server's (srv_ok says whether the server part is valid; a failed
 * sample is a warning on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "kbs.h"

/*
 * Read utime+stime (clock ticks) from /proc/PID/stat, and VmHWM and
 * RssAnon (KiB) from /proc/PID/status. The command name in stat may hold
 * spaces or ')', so fields are counted from the last ')'.
 */
int
kbs_sample_proc(pid_t pid, uint64_t *ticks, uint64_t *sys_ticks,
    uint64_t *hwm_kib, uint64_t *anon_kib, struct error *err)
{
	char path[64], line[256];
	uint8_t *stat = NULL;
	size_t len;
	unsigned long long ut, st;
	const char *p;
	FILE *f = NULL;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (file_read_all(path, 65536, &stat, &len, err) == -1)
		return -1;
	p = strrchr((char *)stat, ')');
	/* After ')': state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime ... */
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u"
	    " %*u %*u %llu %llu", &ut, &st) != 2) {
		free(stat);
		return error_set(err, "%s: cannot parse utime/stime", path);
	}
	free(stat);
	*ticks = ut + st;
	*sys_ticks = st;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return error_set(err, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long kib;

		if (sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
			*hwm_kib = kib;
			found |= 1;
		} else if (sscanf(line, "RssAnon: %llu kB", &kib) == 1) {
			*anon_kib = kib;
			found |= 2;
		}
	}
	fclose(f);
	if (found != 3)
		return error_set(err, "%s: no VmHWM or RssAnon line", path);
	return 0;
}

static double
kbs_sample_self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) == -1)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void
kbs_sample_take(const struct kbs_options *o, struct kbs_sample *u)
{
	struct error err;

	memset(u, 0, sizeof(*u));
	u->self_cpu_s = kbs_sample_self_cpu();
	if (o->pid == 0)
		return;
	if (kbs_sample_proc(o->pid, &u->srv_ticks, &u->srv_sys_ticks,
	    &u->srv_hwm_kib, &u->srv_anon_kib, &err) == -1)
		fprintf(stderr, "kbsbench: warning: %s\n", err.msg);
	else
		u->srv_ok = 1;
}
