/*
 * http_scan.c: the strict framing check every request byte passes before
 * http_parser sees it (RFC 9112), so that trusteed frames a request the
 * way any conforming proxy in front of it does and cannot be smuggled.
 *
 * http_parser 2.9 is lenient where RFC 9112 lets a server be lenient, and
 * a little beyond: it takes bare LF line ends, folded header lines,
 * HTTP/0.9 request lines, "Transfer-Encoding: identity, chunked" (as
 * chunked), a Transfer-Encoding in HTTP/1.0, several spaces between the
 * parts of the request line, and bare LF inside chunked framing. This
 * scanner refuses all of these, and decides the framing itself:
 *
 *   request-line  method SP request-target SP HTTP/1.0|HTTP/1.1 CRLF
 *                 (at most HTTP_SCAN_MAX_BLANK empty lines before it)
 *   field-line    token ":" OWS value OWS CRLF; no obs-fold, no CTL but
 *                 HTAB in values, no whitespace before the colon
 *   Host          exactly one in HTTP/1.1, at most one in HTTP/1.0
 *   Content-Length at most one, 1*DIGIT (no lists, no sign)
 *   Transfer-Encoding at most one, exactly "chunked"; never with
 *                 Content-Length, never in HTTP/1.0 (400); any other
 *                 coding is 501
 *   chunked body  1*HEXDIG [ext] CRLF data CRLF ... "0" [ext] CRLF
 *                 trailer field-lines CRLF; no framing fields in trailers
 *
 * The caller feeds http_parser only the bytes the scanner accepted, and
 * checks that both agree on where each message ends.
 */
#include <string.h>
#include <strings.h>

#include "http_internal.h"

#define HTTP_SCAN_MAX_BLANK	4	/* empty lines before a request line */
#define HTTP_SCAN_MAX_METHOD	32
#define HTTP_SCAN_MAX_EXT	256	/* chunk-ext bytes per chunk line */
#define HTTP_SCAN_MAX_DIGITS	18	/* Content-Length; chunk size: 15 */

enum {
	S_START, S_START_LF, S_METHOD, S_TARGET, S_VERSION, S_RL_LF,
	S_LINE_START, S_NAME, S_VALUE, S_VALUE_LF, S_HEAD_LF,
	S_BODY, S_CHUNK_SIZE, S_CHUNK_EXT, S_CHUNK_SIZE_LF, S_CHUNK_DATA,
	S_CHUNK_DATA_CR, S_CHUNK_DATA_LF, S_DONE, S_ERROR
};

/* The field names the scanner tracks. */
enum { F_OTHER, F_CL, F_TE, F_HOST };

static int
http_scan_tchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

static int
http_scan_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
http_scan_fail(struct http_scan *s, int status, const char *why)
{
	s->st = S_ERROR;
	s->status = status;
	s->why = why;
}

void
http_scan_begin(struct http_scan *s, size_t max_trailer)
{
	memset(s, 0, sizeof(*s));
	s->st = S_START;
	s->max_trailer = max_trailer;
}

int
http_scan_done(const struct http_scan *s)
{
	return s->st == S_DONE;
}

int
http_scan_failed(const struct http_scan *s)
{
	return s->st == S_ERROR;
}

int
http_scan_started(const struct http_scan *s)
{
	return s->st != S_START && s->st != S_START_LF;
}

/* A field name is complete: which one is it? */
static void
http_scan_name_end(struct http_scan *s)
{
	s->field = F_OTHER;
	if (s->nlen > sizeof(s->name))
		return;
	if (s->nlen == 14 && strncasecmp(s->name, "content-length", 14) == 0)
		s->field = F_CL;
	else if (s->nlen == 17 &&
	    strncasecmp(s->name, "transfer-encoding", 17) == 0)
		s->field = F_TE;
	else if (s->nlen == 4 && strncasecmp(s->name, "host", 4) == 0)
		s->field = F_HOST;
	if (s->field != F_OTHER && s->trailer) {
		http_scan_fail(s, 400, "framing field in the trailer section");
		return;
	}
	if ((s->field == F_CL && s->has_cl) || (s->field == F_TE && s->has_te))
		http_scan_fail(s, 400, s->field == F_CL ? "more than one "
		    "Content-Length field" : "more than one "
		    "Transfer-Encoding field");
	else if (s->field == F_HOST && ++s->nhost > 1)
		http_scan_fail(s, 400, "more than one Host field");
}

/* A tracked field's value is complete (OWS already trimmed). */
static void
http_scan_value_end(struct http_scan *s)
{
	size_t i;

	if (s->field == F_CL) {
		s->has_cl = 1;
		if (s->vlen == 0 || s->vlen > HTTP_SCAN_MAX_DIGITS) {
			http_scan_fail(s, 400, "invalid Content-Length");
			return;
		}
		s->n = 0;
		for (i = 0; i < s->vlen; i++) {
			if (s->val[i] < '0' || s->val[i] > '9') {
				http_scan_fail(s, 400, "invalid Content-Length");
				return;
			}
			s->n = s->n * 10 + (uint64_t)(s->val[i] - '0');
		}
	} else if (s->field == F_TE) {
		s->has_te = 1;
		s->te_chunked = s->vlen == 7 &&
		    strncasecmp(s->val, "chunked", 7) == 0;
	}
}

/* The empty line ending the head (or the trailer section). */
static void
http_scan_head_end(struct http_scan *s)
{
	if (s->trailer) {
		s->st = S_DONE;
		return;
	}
	s->st = S_DONE;
	if (s->minor == 1 && s->nhost == 0)
		http_scan_fail(s, 400, "HTTP/1.1 request without a Host field");
	else if (s->has_te && s->minor == 0)
		http_scan_fail(s, 400, "Transfer-Encoding in an HTTP/1.0 "
		    "request");
	else if (s->has_te && s->has_cl)
		http_scan_fail(s, 400, "both Transfer-Encoding and "
		    "Content-Length");
	else if (s->has_te && !s->te_chunked)
		http_scan_fail(s, 501, "unsupported Transfer-Encoding (only "
		    "\"chunked\" is implemented)");
	else if (s->has_te) {
		s->chunked = 1;
		s->n = 0;
		s->ndig = 0;
		s->st = S_CHUNK_SIZE;
	} else if (s->has_cl && s->n > 0)
		s->st = S_BODY;
}

size_t
http_scan_run(struct http_scan *s, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t i = 0;

	while (i < len && s->st != S_DONE && s->st != S_ERROR) {
		unsigned char c = p[i];
		int h;

		/* Bodies are skipped in bulk. */
		if (s->st == S_BODY || s->st == S_CHUNK_DATA) {
			size_t k = len - i;

			if ((uint64_t)k > s->n)
				k = (size_t)s->n;
			s->n -= k;
			i += k;
			if (s->n == 0)
				s->st = s->st == S_BODY ? S_DONE :
				    S_CHUNK_DATA_CR;
			continue;
		}
		/* So are the bytes of a header value the scanner does not
		 * keep (every field but Content-Length and Transfer-Encoding),
		 * up to the next one that matters: CR, LF or another control
		 * character. The switch below would only accept them one by
		 * one (a Bearer token is kilobytes). */
		if (s->st == S_VALUE && s->field != F_CL && s->field != F_TE &&
		    !s->trailer) {
			size_t k = i;

			while (k < len && ((p[k] >= 0x20 && p[k] < 0x7f) ||
			    p[k] == '\t'))
				k++;
			if (k > i) {
				i = k;
				continue;
			}
		}
		i++;
		if (s->trailer && ++s->trailer_bytes > s->max_trailer) {
			http_scan_fail(s, 431, "trailer section too large");
			break;
		}
		switch (s->st) {
		case S_START:
			if (c == '\r')
				s->st = S_START_LF;
			else if (http_scan_tchar(c)) {
				s->st = S_METHOD;
				s->nlen = 1;
			} else
				http_scan_fail(s, 400, "invalid request line");
			break;
		case S_START_LF:
			if (c != '\n')
				http_scan_fail(s, 400, "bare CR");
			else if (++s->blank > HTTP_SCAN_MAX_BLANK)
				http_scan_fail(s, 400, "too many empty lines "
				    "before the request line");
			else
				s->st = S_START;
			break;
		case S_METHOD:
			if (c == ' ')
				s->st = S_TARGET;
			else if (!http_scan_tchar(c) ||
			    ++s->nlen > HTTP_SCAN_MAX_METHOD)
				http_scan_fail(s, 400, "invalid method");
			s->tlen = 0;
			break;
		case S_TARGET:
			if (c == ' ' && s->tlen > 0) {
				s->st = S_VERSION;
				s->vlen = 0;
			} else if (c == '\r' || c == '\n')
				http_scan_fail(s, 400, "request line without "
				    "an HTTP version (HTTP/0.9 is not "
				    "supported)");
			else if (c <= 0x20 || c >= 0x7f)
				http_scan_fail(s, 400, "invalid character in "
				    "the request target");
			else
				s->tlen = 1;
			break;
		case S_VERSION:
			/* "HTTP/" DIGIT "." DIGIT */
			if (s->vlen < 5 && c == (unsigned char)"HTTP/"[s->vlen])
				s->vlen++;
			else if ((s->vlen == 5 || s->vlen == 7) &&
			    c >= '0' && c <= '9') {
				if (s->vlen == 5)
					s->major = (uint8_t)(c - '0');
				else
					s->minor = (uint8_t)(c - '0');
				s->vlen++;
			} else if (s->vlen == 6 && c == '.')
				s->vlen++;
			else if (s->vlen == 8 && c == '\r')
				s->st = S_RL_LF;
			else
				http_scan_fail(s, 400, "invalid HTTP version in "
				    "the request line");
			break;
		case S_RL_LF:
			if (c != '\n')
				http_scan_fail(s, 400, "bare CR");
			else if (s->major != 1 || s->minor > 1)
				http_scan_fail(s, 505, "HTTP version not "
				    "supported (HTTP/1.0 and HTTP/1.1 are)");
			else
				s->st = S_LINE_START;
			break;
		case S_LINE_START:
			if (c == '\r')
				s->st = S_HEAD_LF;
			else if (c == ' ' || c == '\t')
				http_scan_fail(s, 400, "folded header line "
				    "(obs-fold)");
			else if (http_scan_tchar(c)) {
				s->st = S_NAME;
				s->name[0] = (char)c;
				s->nlen = 1;
			} else
				http_scan_fail(s, 400, c == '\n' ? "bare LF" :
				    "invalid header field name");
			break;
		case S_NAME:
			if (c == ':') {
				http_scan_name_end(s);
				if (s->st == S_ERROR)
					break;
				s->st = S_VALUE;
				s->vlen = 0;
				s->ows = 0;
			} else if (http_scan_tchar(c)) {
				if (s->nlen < sizeof(s->name))
					s->name[s->nlen] = (char)c;
				if (s->nlen <= sizeof(s->name))
					s->nlen++;
			} else
				http_scan_fail(s, 400, "invalid header field "
				    "name");
			break;
		case S_VALUE:
			if (c == '\r') {
				s->st = S_VALUE_LF;
			} else if (c == '\n')
				http_scan_fail(s, 400, "bare LF");
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				http_scan_fail(s, 400, "control character in a "
				    "header field value");
			else if (s->field == F_CL || s->field == F_TE) {
				/* Keep the value without surrounding OWS. */
				if (c == ' ' || c == '\t') {
					if (s->vlen > 0)
						s->ows++;
				} else {
					if (s->ows > 0 && s->vlen > 0) {
						/* inner whitespace: keep one */
						if (s->vlen < sizeof(s->val))
							s->val[s->vlen] = ' ';
						s->vlen++;
					}
					s->ows = 0;
					if (s->vlen < sizeof(s->val))
						s->val[s->vlen] = (char)c;
					s->vlen++;
				}
				if (s->vlen > sizeof(s->val))
					s->vlen = sizeof(s->val) + 1;
			}
			break;
		case S_VALUE_LF:
			if (c != '\n') {
				http_scan_fail(s, 400, "bare CR");
				break;
			}
			if (s->vlen > sizeof(s->val))
				s->vlen = sizeof(s->val) + 1;
			http_scan_value_end(s);
			if (s->st != S_ERROR)
				s->st = S_LINE_START;
			break;
		case S_HEAD_LF:
			if (c != '\n')
				http_scan_fail(s, 400, "bare CR");
			else
				http_scan_head_end(s);
			break;
		case S_CHUNK_SIZE:
			if ((h = http_scan_hex(c)) >= 0) {
				if (++s->ndig > 15) {
					http_scan_fail(s, 400, "chunk size too "
					    "large");
					break;
				}
				s->n = s->n << 4 | (uint64_t)h;
			} else if (s->ndig > 0 && (c == ';' || c == ' ' ||
			    c == '\t')) {
				s->st = S_CHUNK_EXT;
				s->tlen = 1;
				s->semi = c == ';';
			} else if (s->ndig > 0 && c == '\r')
				s->st = S_CHUNK_SIZE_LF;
			else
				http_scan_fail(s, 400, "invalid chunk size");
			break;
		case S_CHUNK_EXT:
			if (c == '\r' && s->semi)
				s->st = S_CHUNK_SIZE_LF;
			else if ((c < 0x20 && c != '\t') || c == 0x7f ||
			    (!s->semi && c != ' ' && c != '\t' && c != ';'))
				http_scan_fail(s, 400, c == '\n' ? "bare LF" :
				    "invalid chunk extension");
			else if (c == ';')
				s->semi = 1;
			if (s->st == S_CHUNK_EXT && ++s->tlen > HTTP_SCAN_MAX_EXT)
				http_scan_fail(s, 400, "chunk extension too "
				    "long");
			break;
		case S_CHUNK_SIZE_LF:
			if (c != '\n')
				http_scan_fail(s, 400, "bare CR");
			else if (s->n == 0) {
				s->trailer = 1;
				s->st = S_LINE_START;
			} else
				s->st = S_CHUNK_DATA;
			break;
		case S_CHUNK_DATA_CR:
			if (c != '\r')
				http_scan_fail(s, 400, "chunk data longer than "
				    "its size");
			else
				s->st = S_CHUNK_DATA_LF;
			break;
		case S_CHUNK_DATA_LF:
			if (c != '\n')
				http_scan_fail(s, 400, "bare CR");
			else {
				s->st = S_CHUNK_SIZE;
				s->n = 0;
				s->ndig = 0;
			}
			break;
		default:
			http_scan_fail(s, 500, "scanner state");
			break;
		}
	}
	return i;
}
