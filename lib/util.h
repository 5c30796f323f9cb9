/*
 * util.h: allocation, error reporting, secret handling and file helpers
 * shared by trusteed, trusteectl, the tests and the fuzzers.
 *
 * Contract: x*alloc never return NULL (they abort on exhaustion, which is
 * the only sane reaction inside a security daemon); every function that can
 * fail returns 0 on success and -1 on failure and fills a struct error.
 */
#ifndef TRUSTEE_UTIL_H
#define TRUSTEE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A human-readable reason for a failure; msg is always NUL-terminated. */
struct error {
	char msg[512];
};

/* Set err->msg (err may be NULL). Always returns -1 so callers can write
 * `return error_set(err, "...")`. */
int error_set(struct error *err, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Prefix an existing message: "prefix: old". Returns -1. */
int error_prefix(struct error *err, const char *fmt, ...) ATTR_PRINTF(2, 3);

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* Wipe (sodium_memzero) then free. NULL is fine. */
void secret_free(void *p, size_t len);
/* Wipe then free a NUL-terminated string. */
void secret_strfree(char *s);
/* Constant-time equality of two buffers of the same length: 1 if equal. */
int secret_equal(const void *a, const void *b, size_t n);
/* Constant-time string equality (lengths may differ; length leaks). */
int secret_streq(const char *a, const char *b);

/* Growable byte buffer. */
struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};
/* Room for extra more bytes (and a NUL) without another allocation. */
void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Ensure data is NUL-terminated (not counted in len) and return it. */
char *buf_cstr(struct buf *b);
void buf_free(struct buf *b);	/* frees data, zeroes struct */
void buf_wipe(struct buf *b);	/* wipes then frees */

/* Read a whole file (at most max bytes, else error). *out is malloc'd and
 * NUL-terminated (the NUL is not counted in *outlen). */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *outlen,
    struct error *err);
/* Refuse a file holding a secret when group/other have any permission:
 * "<path>: mode 0644 is too open; secrets files must be 0600 or 0400". */
int file_check_secret(const char *path, struct error *err);
/* Write via a temp file + fsync + rename; creates with the given mode. */
int file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct error *err);
/* mkdir -p with mode for the created components. */
int dir_create(const char *path, mode_t mode, struct error *err);

/* In n strings in strcmp order, the i-th at(ctx, i): the index of key
 * (*found = 1), else the index it would be inserted at (*found = 0). */
size_t sorted_find(const char *key, size_t n,
    const char *(*at)(const void *ctx, size_t i), const void *ctx,
    int *found);

/* Lowercase hex; out must hold 2*len+1. */
void hex_encode(const uint8_t *in, size_t len, char *out);
/* The value of one hex digit (either case), or -1 for any other char. */
int hex_digit_value(int c);
/* Strict hex decode into out (capacity cap): -1 on odd length/bad char. */
int hex_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen);

/* Seconds since the epoch (wall clock). */
int64_t now_unix(void);
/* Monotonic nanoseconds. */
uint64_t now_mono_ns(void);

#define TIME_RFC3339_LEN 21	/* "YYYY-MM-DDTHH:MM:SSZ" + NUL */
/* UTC "YYYY-MM-DDTHH:MM:SSZ". */
void time_format_rfc3339(int64_t t, char out[TIME_RFC3339_LEN]);
/*
 * Parse RFC 3339 / ISO 8601 UTC times as Intel PCS, X.509 tooling and
 * operators write them: "YYYY-MM-DDTHH:MM:SS" with optional fraction
 * (ignored) and "Z" or "+00:00"/"-hh:mm" offset; a bare date
 * "YYYY-MM-DD" is midnight UTC. Strict: every field range-checked,
 * nothing trailing. 0 ok, -1 malformed.
 */
int time_parse_rfc3339(const char *s, int64_t *t);

#endif
