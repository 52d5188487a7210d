/* SPDX-License-Identifier: Apache-2.0 */
/* A one-pass JSON check that builds no tree: where the parts of a big document lie. */
#include "jsonscan.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "util.h"

struct scan {
	const unsigned char *start, *p, *end;
	unsigned depth;
	size_t lines; /* line breaks passed (they only occur in white space) */
};

/* What an element object's scan learns about its member "id". */
struct idscan {
	const unsigned char *val; /* the plain string's first character; NULL: none */
	size_t len;
	unsigned nids;
	int escaped_name;
};

static void skip_ws_run(struct scan *s)
{
	const unsigned char *p = s->p, *end = s->end;

	while (p < end && *p <= ' ') { /* (most calls see a token at once) */
		if (*p == '\n') {
			s->lines++;
			p++;
#ifdef __SSE2__
			/* an indented text: the spaces after a line break, sixteen at a time */
			while (end - p >= 16) {
				unsigned m = (unsigned)_mm_movemask_epi8(
					_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), _mm_set1_epi8(' ')));

				p += m == 0xFFFF ? 16 : (unsigned)__builtin_ctz(~m);
				if (m != 0xFFFF)
					break;
			}
#endif
		} else if (*p == ' ' || *p == '\t' || *p == '\r') {
			p++;
		} else {
			break;
		}
	}
	s->p = p;
}

/* White space is rare between most tokens: the common case costs one compare, inline. */
static inline __attribute__((always_inline)) void skip_ws(struct scan *s)
{
	if (s->p < s->end && *s->p <= ' ')
		skip_ws_run(s);
}

/* \uXXXX at s->p (after the backslash and the u): its value, or -1. */
static long read_u4(struct scan *s)
{
	uint8_t b[2];
	char h[5];

	if (s->end - s->p < 4)
		return -1;
	memcpy(h, s->p, 4);
	h[4] = '\0';
	if (hex_decode(h, b, 2) < 0)
		return -1;
	s->p += 4;
	return (long)b[0] << 8 | b[1];
}

/* An escape after its backslash, refused where jansson refuses it: NUL, lone surrogates. */
static int scan_escape(struct scan *s)
{
	long u, lo;

	if (s->p >= s->end)
		return -1;
	switch (*s->p++) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		return 0;
	case 'u':
		break;
	default:
		return -1;
	}
	if ((u = read_u4(s)) <= 0) /* \u0000: jansson refuses it without JSON_ALLOW_NUL */
		return -1;
	if (u >= 0xDC00 && u <= 0xDFFF)
		return -1;
	if (u < 0xD800 || u > 0xDBFF)
		return 0;
	if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
		return -1;
	s->p += 2;
	lo = read_u4(s);
	return lo >= 0xDC00 && lo <= 0xDFFF ? 0 : -1;
}

/* One UTF-8 sequence starting at s->p (a byte >= 0x80), checked as jansson's utf.c checks it:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static int scan_utf8(struct scan *s)
{
	unsigned char c = *s->p;
	unsigned n;
	uint32_t v;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2, v = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, v = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, v = c & 0x07;
	else
		return -1;
	if ((size_t)(s->end - s->p) < n)
		return -1;
	for (unsigned i = 1; i < n; i++) {
		if ((s->p[i] & 0xC0) != 0x80)
			return -1;
		v = v << 6 | (s->p[i] & 0x3F);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || (v >= 0xD800 && v <= 0xDFFF) ||
	    v > 0x10FFFF)
		return -1;
	s->p += n;
	return 0;
}

#ifdef __SSE2__
/* How many of the 16 bytes at p come before the first '"', '\\', control character or byte
 * >= 0x80 (16: none is). Most of a policy is such plain text (PEM lines, ids). */
static unsigned plain16(const unsigned char *p)
{
	__m128i x = _mm_loadu_si128((const __m128i *)p);
	__m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
	__m128i b = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
	/* signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them too */
	__m128i c = _mm_cmplt_epi8(x, _mm_set1_epi8(0x20));
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), c));

	return m ? (unsigned)__builtin_ctz(m) : 16;
}

static void skip_plain(struct scan *s)
{
	while (s->end - s->p >= 16) {
		unsigned n = plain16(s->p);

		s->p += n;
		if (n < 16)
			return;
	}
}
#else
/* Eight bytes of which none is '"', '\\', a control character or >= 0x80 (the common case in
 * a policy's PEM text, skipped a word at a time). */
static int word_plain(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t x, q, b;

	memcpy(&x, p, 8);
	q = x ^ (ones * '"');
	b = x ^ (ones * '\\');
	return (((q - ones) & ~q) | ((b - ones) & ~b) | (x - ones * 0x20) | x) & highs ? 0 : 1;
}

static void skip_plain(struct scan *s)
{
	while (s->end - s->p >= 8 && word_plain(s->p))
		s->p += 8;
}
#endif

/* A string at its opening quote; content and clen: its characters as written; escaped: whether
 * an escape occurs in them. */
static int scan_string(struct scan *s, const unsigned char **content, size_t *clen, int *escaped)
{
	const unsigned char *c0 = s->p + 1;
	struct scan t = *s; /* a local copy the compiler can keep in registers */

	t.p = c0;
	*escaped = 0;
	for (;;) {
		skip_plain(&t);
		if (t.p >= t.end)
			return -1;
		if (*t.p == '"')
			break;
		if (*t.p == '\\') {
			t.p++;
			*escaped = 1;
			if (scan_escape(&t) < 0)
				return -1;
		} else if (*t.p < 0x20) {
			return -1;
		} else if (*t.p >= 0x80) {
			if (scan_utf8(&t) < 0)
				return -1;
		} else {
			t.p++;
		}
	}
	*content = c0;
	*clen = (size_t)(t.p - c0);
	s->p = t.p + 1;
	return 0;
}

static int is_digit(const struct scan *s)
{
	return s->p < s->end && *s->p >= '0' && *s->p <= '9';
}

/* A number as jansson lexes it; an integer must fit json_int_t, a real must be finite. */
static int scan_number(struct scan *s)
{
	const unsigned char *n0 = s->p;
	int real = 0;
	char buf[64], *end;

	if (*s->p == '-')
		s->p++;
	if (!is_digit(s))
		return -1;
	if (*s->p == '0') {
		s->p++;
		if (is_digit(s))
			return -1;
	} else {
		while (is_digit(s))
			s->p++;
	}
	if (s->p < s->end && *s->p == '.') {
		s->p++;
		real = 1;
		if (!is_digit(s))
			return -1;
		while (is_digit(s))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		s->p++;
		real = 1;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (!is_digit(s))
			return -1;
		while (is_digit(s))
			s->p++;
	}
	/* a long number is rare in a policy: give up on it and let jansson judge */
	if ((size_t)(s->p - n0) >= sizeof(buf))
		return -1;
	memcpy(buf, n0, (size_t)(s->p - n0));
	buf[s->p - n0] = '\0';
	errno = 0;
	if (real) {
		double d = strtod(buf, &end);

		return errno == ERANGE && (d > 1.0 || d < -1.0) ? -1 : 0;
	}
	(void)strtoll(buf, &end, 10);
	return errno == ERANGE ? -1 : 0;
}

static int scan_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return -1;
	s->p += n;
	return 0;
}

/* After a member or element: 1 after a ',' (white space skipped), 0 after the closing
 * character, -1 for anything else. */
static int scan_next(struct scan *s, unsigned char close)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == ',') {
		s->p++;
		skip_ws(s);
		return 1;
	}
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 0;
	}
	return -1;
}

/* At a container's opening character: steps over it and the white space after; 1 when the
 * container is empty (its closing character consumed too), else 0. */
static int scan_open(struct scan *s, unsigned char close)
{
	s->p++;
	skip_ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return 1;
	}
	return 0;
}

/* A member's name and its ':' (white space skipped on both sides); as scan_string. */
static int scan_name(struct scan *s, const unsigned char **name, size_t *nlen, int *escaped)
{
	if (s->p >= s->end || *s->p != '"' || scan_string(s, name, nlen, escaped) < 0)
		return -1;
	skip_ws(s);
	if (s->p >= s->end || *s->p != ':')
		return -1;
	s->p++;
	skip_ws(s);
	return 0;
}

static int scan_value(struct scan *s, struct idscan *ids);

/* An object at its '{'; with ids, also what its members say about "id". */
static int scan_object(struct scan *s, struct idscan *ids)
{
	if (scan_open(s, '}'))
		return 0;
	for (;;) {
		const unsigned char *name;
		size_t nlen;
		int esc, is_id;

		if (scan_name(s, &name, &nlen, &esc) < 0)
			return -1;
		is_id = ids && !esc && nlen == 2 && !memcmp(name, "id", 2);
		if (ids && esc)
			ids->escaped_name = 1;
		if (is_id) {
			ids->nids++;
			if (s->p < s->end && *s->p == '"') {
				const unsigned char *v;
				size_t vlen;
				int vesc;

				if (scan_string(s, &v, &vlen, &vesc) < 0)
					return -1;
				ids->val = vesc ? NULL : v;
				ids->len = vlen;
			} else if (scan_value(s, NULL) < 0) {
				return -1;
			}
		} else if (scan_value(s, NULL) < 0) {
			return -1;
		}
		int more = scan_next(s, '}');

		if (more <= 0)
			return more;
	}
}

/* An array at its '['; with ix, each element is recorded in it. */
static int scan_array(struct scan *s, struct jsonscan_index *ix, size_t max_elems)
{
	size_t cap = 0;

	if (scan_open(s, ']'))
		return 0;
	for (;;) {
		const unsigned char *e0 = s->p;

		if (!ix) {
			if (scan_value(s, NULL) < 0)
				return -1;
		} else {
			struct idscan ids = {0};
			struct jsonscan_elem *e;

			if (ix->nelems == max_elems)
				return -1;
			if (ix->nelems == cap) {
				size_t ncap = cap ? 2 * cap : 64;
				struct jsonscan_elem *v = realloc(ix->elems, ncap * sizeof(*v));

				if (!v)
					return -1;
				ix->elems = v;
				cap = ncap;
			}
			if (scan_value(s, s->p < s->end && *s->p == '{' ? &ids : NULL) < 0)
				return -1;
			e = &ix->elems[ix->nelems++];
			e->off = (size_t)(e0 - s->start);
			e->len = (size_t)(s->p - e0);
			e->id_off = e->id_len = 0;
			if (ids.val && ids.nids == 1 && !ids.escaped_name && ids.len) {
				e->id_off = (size_t)(ids.val - s->start);
				e->id_len = ids.len;
			}
		}
		int more = scan_next(s, ']');

		if (more <= 0)
			return more;
	}
}

static int scan_value(struct scan *s, struct idscan *ids)
{
	const unsigned char *c;
	size_t n;
	int esc, r;

	/* jansson counts every value, scalars too: the top-level one is at depth 1 */
	if (s->p >= s->end || ++s->depth > JSON_PARSER_MAX_DEPTH)
		return -1;
	switch (*s->p) {
	case '{':
		r = scan_object(s, ids);
		break;
	case '[':
		r = scan_array(s, NULL, 0);
		break;
	case '"':
		r = scan_string(s, &c, &n, &esc);
		break;
	case 't':
		r = scan_literal(s, "true");
		break;
	case 'f':
		r = scan_literal(s, "false");
		break;
	case 'n':
		r = scan_literal(s, "null");
		break;
	default:
		r = scan_number(s);
	}
	s->depth--;
	return r;
}

/* The top-level object: plain member names only, `array` at most once, its elements indexed. */
static int scan_top(struct scan *s, const char *array, size_t max_elems, struct jsonscan_index *ix)
{
	size_t alen = strlen(array);

	skip_ws(s);
	if (s->p >= s->end || *s->p != '{')
		return -1;
	s->depth = 1;
	if (scan_open(s, '}'))
		return 0;
	for (;;) {
		const unsigned char *name, *v0;
		size_t nlen;
		int esc;

		if (scan_name(s, &name, &nlen, &esc) < 0 || esc)
			return -1;
		v0 = s->p;
		if (nlen == alen && !memcmp(name, array, alen)) {
			size_t l0 = s->lines;

			if (ix->arr_len || s->p >= s->end || *s->p != '[')
				return -1;
			s->depth = 2;
			if (scan_array(s, ix, max_elems) < 0)
				return -1;
			s->depth = 1;
			ix->arr_off = (size_t)(v0 - s->start);
			ix->arr_len = (size_t)(s->p - v0);
			ix->arr_lines = s->lines - l0;
		} else if (scan_value(s, NULL) < 0) {
			return -1;
		}
		int more = scan_next(s, '}');

		if (more <= 0)
			return more;
	}
}

int jsonscan_index(const char *json, size_t len, const char *array, size_t max_elems,
		   struct jsonscan_index *out)
{
	struct scan s = {(const unsigned char *)json, (const unsigned char *)json,
			 (const unsigned char *)json + len, 0, 0};

	memset(out, 0, sizeof(*out));
	if (scan_top(&s, array, max_elems, out) < 0) {
		jsonscan_index_free(out);
		return 0;
	}
	skip_ws(&s);
	if (s.p != s.end) {
		jsonscan_index_free(out);
		return 0;
	}
	return 1;
}

void jsonscan_index_free(struct jsonscan_index *ix)
{
	if (!ix)
		return;
	free(ix->elems);
	memset(ix, 0, sizeof(*ix));
}
