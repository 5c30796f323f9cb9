/*
 * log.c: leveled logging to stderr with a timestamp and the program name.
 * One write per message so lines from worker threads do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *log_progname = "trustee";
static volatile enum log_level log_level = LOG_LVL_INFO;

void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_level = level;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_level;
}

static void
log_vemit(const char *tag, const char *fmt, va_list ap, int with_errno)
{
	char msg[2048], line[2300];
	char ts[32];
	struct tm tm;
	time_t t = time(NULL);
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (with_errno)
		snprintf(line, sizeof(line), "%s %s[%s]: %s: %s\n", ts,
		    log_progname, tag, msg, strerror(saved));
	else
		snprintf(line, sizeof(line), "%s %s[%s]: %s\n", ts,
		    log_progname, tag, msg);
	fputs(line, stderr);
	errno = saved;
}

#define LOG_BODY(lvl, tag, errflag)				\
	do {							\
		va_list ap;					\
		if (!log_enabled(lvl))				\
			return;					\
		va_start(ap, fmt);				\
		log_vemit(tag, fmt, ap, errflag);		\
		va_end(ap);					\
	} while (0)

void log_info(const char *fmt, ...) { LOG_BODY(LOG_LVL_INFO, "info", 0); }
void log_debug(const char *fmt, ...) { LOG_BODY(LOG_LVL_DEBUG, "debug", 0); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, "warn", 0); }
void log_warn(const char *fmt, ...) { LOG_BODY(LOG_LVL_WARN, "warn", 1); }

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit("fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit("fatal", fmt, ap, 1);
	va_end(ap);
	exit(1);
}

const char *
log_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return out;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[5];
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			tmp[0] = (char)c;
			n = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", c);
			n = 4;
		}
		if (o + n + 4 > cap) {
			memcpy(out + o, "...", cap - o >= 4 ? 3 : 0);
			o += cap - o >= 4 ? 3 : 0;
			break;
		}
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = '\0';
	return out;
}
