/*
 * log.h: the daemon's tiny log module (after OpenSMTPD's log.c).
 * Output goes to stderr (journald picks it up under systemd).
 * Never pass a secret to these functions; pass attacker-controlled
 * strings through log_escape() first.
 */
#ifndef TRUSTEE_LOG_H
#define TRUSTEE_LOG_H

#include <stddef.h>
#include "util.h"

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
void log_info(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_debug(const char *fmt, ...) ATTR_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* As log_warnx, appending ": strerror(errno)". */
void log_warn(const char *fmt, ...) ATTR_PRINTF(1, 2);
void fatalx(const char *fmt, ...) ATTR_PRINTF(1, 2) __attribute__((noreturn));
void fatal(const char *fmt, ...) ATTR_PRINTF(1, 2) __attribute__((noreturn));
/*
 * A warning that a background job repeats while something stays broken
 * (the heartbeat of a store whose database is down): printed when lim
 * last printed more than every_s seconds ago, or never, then with how
 * many were held back since; otherwise only counted. One zeroed static
 * struct per call site; thread-safe.
 */
struct log_limit {
	unsigned long long last_ns;	/* monotonic; 0: never printed */
	unsigned long held;
};
void log_warnx_limited(struct log_limit *lim, int every_s, const char *fmt,
    ...) ATTR_PRINTF(3, 4);
/* Copy s into out (size cap) with non-printable bytes as \xNN and the
 * result truncated with "..." when too long. Returns out. */
const char *log_escape(const char *s, char *out, size_t cap);

#endif
