/*
 * policy_pattern.c: Lua 5.4 patterns (reference manual §6.4.1) matched
 * with every step counted, for string.find, match, gmatch and gsub in the
 * policy sandbox (policy_strlib.c).
 *
 * Why our own matcher rather than Lua's: Lua's matcher is a backtracking
 * recursion inside one C call. `%b()` scans to the end of the subject from
 * every start position, `.-` and `.*` nested after each other multiply,
 * and the instruction hook cannot run until the call returns: one call
 * held a worker for minutes. Estimating the cost from the pattern before
 * running is either wrong (too low for %b, %f, back-references) or refuses
 * ordinary policies; refusing "pathological" patterns cannot be done
 * exactly either. Counting steps is exact: every attempt, every character
 * a repetition, %b or a back-reference examines, and every set member
 * scanned is one step, and every PPAT_TICK steps the caller's tick
 * function may stop the match (budget or wall clock). So the cost a
 * policy pays is the work done, and no pattern can run past its limit.
 *
 * Semantics are Lua 5.4's, including the details policies may rely on:
 * '^' anchors only at the start of the pattern (find, match, gsub; the
 * caller strips it), '$' only at its end, ']' first in a set is a member,
 * '%f' sees '\0' before the subject and after it, a back-reference to a
 * position capture never matches, and a recursion depth of
 * PPAT_MAXDEPTH gives "pattern too complex". Malformed patterns are found
 * lazily, when matching reaches them, with Lua's messages. Character
 * classes follow the C locale (the daemon never calls setlocale).
 *
 * The matcher does not allocate and does not touch Lua: it unwinds by
 * returning NULL with ms->status set, so the caller raises errors.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "policy_internal.h"

#define PPAT_ESC '%'

static void
ppat_fail(struct ppat *ms, enum ppat_status st, const char *fmt, int arg)
{
	if (ms->status != PPAT_OK)
		return;
	ms->status = st;
	snprintf(ms->msg, sizeof(ms->msg), fmt, arg);
}

/* Count n steps; 0 to go on, -1 once the tick function said stop. */
static int
ppat_step(struct ppat *ms, size_t n)
{
	ms->steps += n;
	if (ms->steps < ms->next_tick)
		return 0;
	ms->next_tick = ms->steps + PPAT_TICK;
	if (ms->tick != NULL && ms->tick(ms->tick_arg, ms->steps) != 0) {
		ppat_fail(ms, PPAT_STOPPED, "pattern matching stopped", 0);
		return -1;
	}
	return 0;
}

void
ppat_init(struct ppat *ms, const char *src, size_t srclen, const char *pat,
    size_t patlen)
{
	memset(ms, 0, sizeof(*ms));
	ms->src_init = src;
	ms->src_end = src + srclen;
	ms->p_end = pat + patlen;
	ms->next_tick = PPAT_TICK;
}

void
ppat_reset(struct ppat *ms)
{
	ms->level = 0;
	ms->depth = PPAT_MAXDEPTH;
}

/* The end of the single-character class at p (p < p_end); NULL (and
 * status set) for a malformed one. */
static const char *
ppat_class_end(struct ppat *ms, const char *p)
{
	char c = *p++;

	if (c == PPAT_ESC) {
		if (p >= ms->p_end) {
			ppat_fail(ms, PPAT_EPATTERN, "malformed pattern (ends "
			    "with '%%')", 0);
			return NULL;
		}
		return p + 1;
	}
	if (c == '[') {
		if (p < ms->p_end && *p == '^')
			p++;
		do {	/* the first member may be ']' */
			if (p >= ms->p_end) {
				ppat_fail(ms, PPAT_EPATTERN, "malformed pattern "
				    "(missing ']')", 0);
				return NULL;
			}
			if (*p++ == PPAT_ESC && p < ms->p_end)
				p++;
		} while (p >= ms->p_end || *p != ']');
		return p + 1;
	}
	return p;
}

/* Is c in the class named by letter cl ("%a", "%D", ...)? Other
 * characters stand for themselves. */
static int
ppat_class(int c, int cl)
{
	int r;

	switch (tolower(cl)) {
	case 'a': r = isalpha(c); break;
	case 'c': r = iscntrl(c); break;
	case 'd': r = isdigit(c); break;
	case 'g': r = isgraph(c); break;
	case 'l': r = islower(c); break;
	case 'p': r = ispunct(c); break;
	case 's': r = isspace(c); break;
	case 'u': r = isupper(c); break;
	case 'w': r = isalnum(c); break;
	case 'x': r = isxdigit(c); break;
	case 'z': r = c == 0; break;	/* deprecated in Lua, still there */
	default: return cl == c;
	}
	r = r != 0;
	return isupper(cl) ? !r : r;
}

/* c against the set "[...]" from p ('[') to ec (its ']'). */
static int
ppat_set(struct ppat *ms, int c, const char *p, const char *ec)
{
	int in = 1;

	if (ppat_step(ms, (size_t)(ec - p)) != 0)
		return 0;
	if (p[1] == '^') {
		in = 0;
		p++;
	}
	while (++p < ec) {
		if (*p == PPAT_ESC) {
			p++;
			if (ppat_class(c, (unsigned char)*p))
				return in;
		} else if (p[1] == '-' && p + 2 < ec) {
			p += 2;
			if ((unsigned char)p[-2] <= c && c <= (unsigned char)*p)
				return in;
		} else if ((unsigned char)*p == c) {
			return in;
		}
	}
	return !in;
}

/* Does the character at s match the class p..ep? */
static int
ppat_single(struct ppat *ms, const char *s, const char *p, const char *ep)
{
	int c;

	if (s >= ms->src_end)
		return 0;
	c = (unsigned char)*s;
	switch (*p) {
	case '.':
		return 1;
	case PPAT_ESC:
		return ppat_class(c, (unsigned char)p[1]);
	case '[':
		return ppat_set(ms, c, p, ep - 1);
	default:
		return (unsigned char)*p == c;
	}
}

static const char *ppat_do(struct ppat *ms, const char *s, const char *p);

/* %bxy at p: x, then everything up to the matching y (scanned in chunks
 * of PPAT_TICK bytes, each paid for before the next). */
static const char *
ppat_balance(struct ppat *ms, const char *s, const char *p)
{
	const unsigned char *q, *lim, *chunk;
	unsigned char open, close;
	size_t depth = 1;

	if (p + 1 >= ms->p_end) {
		ppat_fail(ms, PPAT_EPATTERN, "malformed pattern (missing "
		    "arguments to '%%b')", 0);
		return NULL;
	}
	open = (unsigned char)p[0];
	close = (unsigned char)p[1];
	if (s >= ms->src_end || (unsigned char)*s != open)
		return NULL;
	q = (const unsigned char *)s + 1;
	while (q < (const unsigned char *)ms->src_end) {
		chunk = q;
		lim = (size_t)((const unsigned char *)ms->src_end - q) >
		    PPAT_TICK ? q + PPAT_TICK :
		    (const unsigned char *)ms->src_end;
		for (; q < lim; q++) {
			if (*q == close) {
				if (--depth == 0) {
					q++;
					if (ppat_step(ms, (size_t)(q - chunk)) !=
					    0)
						return NULL;
					return (const char *)q;
				}
			} else if (*q == open) {
				depth++;
			}
		}
		if (ppat_step(ms, (size_t)(q - chunk)) != 0)
			return NULL;
	}
	return NULL;
}

/* Greedy: the most repetitions of p..ep from s, then fewer until the
 * rest (ep + 1) matches. */
static const char *
ppat_max(struct ppat *ms, const char *s, const char *p, const char *ep)
{
	ptrdiff_t i = 0;
	const char *r;

	while (ppat_single(ms, s + i, p, ep)) {
		i++;
		if (ppat_step(ms, 1) != 0)
			return NULL;
	}
	if (ms->status != PPAT_OK)
		return NULL;
	for (; i >= 0; i--) {
		r = ppat_do(ms, s + i, ep + 1);
		if (r != NULL || ms->status != PPAT_OK)
			return r;
	}
	return NULL;
}

/* Lazy: as few repetitions as the rest allows. */
static const char *
ppat_min(struct ppat *ms, const char *s, const char *p, const char *ep)
{
	const char *r;

	for (;;) {
		r = ppat_do(ms, s, ep + 1);
		if (r != NULL || ms->status != PPAT_OK)
			return r;
		if (!ppat_single(ms, s, p, ep))
			return NULL;
		s++;
	}
}

static const char *
ppat_open(struct ppat *ms, const char *s, const char *p, ptrdiff_t what)
{
	const char *r;

	if (ms->level >= PPAT_MAXCAPTURES) {
		ppat_fail(ms, PPAT_EPATTERN, "too many captures", 0);
		return NULL;
	}
	ms->capture[ms->level].init = s;
	ms->capture[ms->level].len = what;
	ms->level++;
	if ((r = ppat_do(ms, s, p)) == NULL)
		ms->level--;
	return r;
}

static const char *
ppat_close(struct ppat *ms, const char *s, const char *p)
{
	const char *r;
	int l;

	for (l = ms->level - 1; l >= 0; l--)
		if (ms->capture[l].len == PPAT_CAP_UNFINISHED)
			break;
	if (l < 0) {
		ppat_fail(ms, PPAT_EPATTERN, "invalid pattern capture", 0);
		return NULL;
	}
	ms->capture[l].len = s - ms->capture[l].init;
	if ((r = ppat_do(ms, s, p)) == NULL)
		ms->capture[l].len = PPAT_CAP_UNFINISHED;
	return r;
}

/* %1..%9 at s: the same bytes as that (closed) capture. */
static const char *
ppat_backref(struct ppat *ms, const char *s, int digit)
{
	int l = digit - '1';
	size_t len;

	if (l < 0 || l >= ms->level ||
	    ms->capture[l].len == PPAT_CAP_UNFINISHED) {
		ppat_fail(ms, PPAT_EPATTERN, "invalid capture index %%%d",
		    l + 1);
		return NULL;
	}
	if (ms->capture[l].len == PPAT_CAP_POSITION)
		return NULL;
	len = (size_t)ms->capture[l].len;
	if (ppat_step(ms, len) != 0)
		return NULL;
	if ((size_t)(ms->src_end - s) >= len &&
	    memcmp(ms->capture[l].init, s, len) == 0)
		return s + len;
	return NULL;
}

/*
 * Match pattern p (to p_end) at s; the end of the match or NULL (no match,
 * or ms->status says why not). One level of depth per call, as in Lua.
 */
static const char *
ppat_do(struct ppat *ms, const char *s, const char *p)
{
	const char *ep, *r;

	if (ms->depth-- == 0) {
		ppat_fail(ms, PPAT_EPATTERN, "pattern too complex", 0);
		return NULL;
	}
	for (;;) {
		if (ppat_step(ms, 1) != 0) {
			s = NULL;
			break;
		}
		if (p >= ms->p_end)
			break;
		if (*p == '(') {
			if (p + 1 < ms->p_end && p[1] == ')')
				s = ppat_open(ms, s, p + 2, PPAT_CAP_POSITION);
			else
				s = ppat_open(ms, s, p + 1,
				    PPAT_CAP_UNFINISHED);
			break;
		}
		if (*p == ')') {
			s = ppat_close(ms, s, p + 1);
			break;
		}
		if (*p == '$' && p + 1 == ms->p_end) {
			if (s != ms->src_end)
				s = NULL;
			break;
		}
		if (*p == PPAT_ESC && p + 1 < ms->p_end && p[1] == 'b') {
			s = ppat_balance(ms, s, p + 2);
			if (s == NULL)
				break;
			p += 4;
			continue;
		}
		if (*p == PPAT_ESC && p + 1 < ms->p_end && p[1] == 'f') {
			int prev, cur;

			p += 2;
			if (p >= ms->p_end || *p != '[') {
				ppat_fail(ms, PPAT_EPATTERN, "missing '[' after "
				    "'%%f' in pattern", 0);
				s = NULL;
				break;
			}
			if ((ep = ppat_class_end(ms, p)) == NULL) {
				s = NULL;
				break;
			}
			prev = s == ms->src_init ? 0 : (unsigned char)s[-1];
			cur = s < ms->src_end ? (unsigned char)*s : 0;
			if (!ppat_set(ms, prev, p, ep - 1) &&
			    ppat_set(ms, cur, p, ep - 1)) {
				p = ep;
				continue;
			}
			s = NULL;
			break;
		}
		if (*p == PPAT_ESC && p + 1 < ms->p_end &&
		    isdigit((unsigned char)p[1])) {
			s = ppat_backref(ms, s, (unsigned char)p[1]);
			if (s == NULL)
				break;
			p += 2;
			continue;
		}
		/* a single-character class, maybe with a repetition */
		if ((ep = ppat_class_end(ms, p)) == NULL) {
			s = NULL;
			break;
		}
		if (!ppat_single(ms, s, p, ep)) {
			if (ms->status != PPAT_OK) {
				s = NULL;
				break;
			}
			if (ep < ms->p_end && (*ep == '*' || *ep == '?' ||
			    *ep == '-')) {
				p = ep + 1;	/* zero repetitions */
				continue;
			}
			s = NULL;
			break;
		}
		if (ep < ms->p_end && *ep == '?') {
			r = ppat_do(ms, s + 1, ep + 1);
			if (r != NULL || ms->status != PPAT_OK) {
				s = r;
				break;
			}
			p = ep + 1;
			continue;
		}
		if (ep < ms->p_end && *ep == '+') {
			s = ppat_max(ms, s + 1, p, ep);
			break;
		}
		if (ep < ms->p_end && *ep == '*') {
			s = ppat_max(ms, s, p, ep);
			break;
		}
		if (ep < ms->p_end && *ep == '-') {
			s = ppat_min(ms, s, p, ep);
			break;
		}
		s++;
		p = ep;
	}
	ms->depth++;
	return ms->status == PPAT_OK ? s : NULL;
}

const char *
ppat_match(struct ppat *ms, const char *s, const char *p)
{
	if (ms->status != PPAT_OK)
		return NULL;
	ppat_reset(ms);
	return ppat_do(ms, s, p);
}

int
ppat_capture(struct ppat *ms, int i, const char *s, const char *e,
    const char **start, ptrdiff_t *len)
{
	if (i >= ms->level) {
		if (i != 0) {
			ppat_fail(ms, PPAT_EPATTERN, "invalid capture index "
			    "%%%d", i + 1);
			return -1;
		}
		*start = s;
		*len = e - s;
		return 0;
	}
	if (ms->capture[i].len == PPAT_CAP_UNFINISHED) {
		ppat_fail(ms, PPAT_EPATTERN, "unfinished capture", 0);
		return -1;
	}
	*start = ms->capture[i].init;
	*len = ms->capture[i].len;
	return 0;
}

int
ppat_has_specials(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != '\0' && strchr("^$*+?.([%-", p[i]) != NULL)
			return 1;
	return 0;
}
