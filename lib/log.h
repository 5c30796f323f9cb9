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
/* Copy s into out (size cap) with non-printable bytes as \xNN and the
 * result truncated with "..." when too long. Returns out. */
const char *log_escape(const char *s, char *out, size_t cap);

#endif
