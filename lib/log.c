/*
 * log.c: leveled logging to stderr with a timestamp and the program name.
 * One write per message so lines from worker threads do not interleave.
 *
 * Under systemd, when stderr is the journal's stream ($JOURNAL_STREAM
 * names its device and inode), each line is "<priority>message" instead:
 * the journal keeps the priority (journalctl -p warning works) and adds
 * the time and the program name itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "trustee";
static volatile enum log_level log_level = LOG_LVL_INFO;
static int log_journal;		/* stderr is connected to the journal */

/* 1 if $JOURNAL_STREAM ("device:inode") is what stderr is. */
static int
log_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat sb;
	char end;

	if (v == NULL || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &sb) != 0)
		return 0;
	return (unsigned long long)sb.st_dev == dev &&
	    (unsigned long long)sb.st_ino == ino;
}

void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_level = level;
	log_journal = log_stderr_is_journal();
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
	if (log_journal) {
		/* sd-daemon(3) priorities: crit, warning, info, debug. */
		snprintf(line, sizeof(line), "<%c>%s%s%s\n",
		    tag[0] == 'f' ? '2' : tag[0] == 'w' ? '4' :
		    tag[0] == 'i' ? '6' : '7', msg, with_errno ? ": " : "",
		    with_errno ? strerror(saved) : "");
		fputs(line, stderr);
		errno = saved;
		return;
	}
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

static pthread_mutex_t log_limit_mu = PTHREAD_MUTEX_INITIALIZER;

void
log_warnx_limited(struct log_limit *lim, int every_s, const char *fmt, ...)
{
	char msg[2048];
	struct timespec ts;
	unsigned long long now;
	unsigned long held;
	va_list ap;

	if (!log_enabled(LOG_LVL_WARN))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000000ull +
	    (unsigned long long)ts.tv_nsec;
	pthread_mutex_lock(&log_limit_mu);
	if (lim->last_ns != 0 && now - lim->last_ns <
	    (unsigned long long)every_s * 1000000000ull) {
		lim->held++;
		pthread_mutex_unlock(&log_limit_mu);
		return;
	}
	held = lim->held;
	lim->held = 0;
	lim->last_ns = now;
	pthread_mutex_unlock(&log_limit_mu);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (held > 0)
		log_warnx("%s (%lu more like it in the last %d s)", msg,
		    held, every_s);
	else
		log_warnx("%s", msg);
}
