/* SPDX-License-Identifier: Apache-2.0 */
/* Strict RFC 8941 structured field parser and serializer (the algorithms of §4.2 and §4.1). */
#include "sf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct cur {
	const char *s;
	size_t len, pos;
	struct vs_error *err;
};

static int at_end(const struct cur *c)
{
	return c->pos >= c->len;
}

static int peek(const struct cur *c)
{
	return at_end(c) ? -1 : (unsigned char)c->s[c->pos];
}

/* Every parse failure goes through here, so each message names the offset and the byte. */
static int bad(struct cur *c, const char *what)
{
	int ch = peek(c);

	if (ch < 0)
		return vs_fail(c->err, VS_ERR_INPUT, "structured field", "%s at end of input", what);
	if (ch >= 0x21 && ch <= 0x7e)
		return vs_fail(c->err, VS_ERR_INPUT, "structured field", "%s at offset %zu ('%c')",
			       what, c->pos, ch);
	return vs_fail(c->err, VS_ERR_INPUT, "structured field", "%s at offset %zu (byte 0x%02x)",
		       what, c->pos, ch);
}

static int nomem(struct cur *c)
{
	return vs_fail(c->err, VS_ERR_INTERNAL, "structured field", "out of memory");
}

static void skip_sp(struct cur *c)
{
	while (peek(c) == ' ')
		c->pos++;
}

static void skip_ows(struct cur *c)
{
	while (peek(c) == ' ' || peek(c) == '\t')
		c->pos++;
}

static int is_lcalpha(int ch)
{
	return ch >= 'a' && ch <= 'z';
}

static int is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

/* RFC 9110 tchar. */
static int is_tchar(int ch)
{
	return ch > 0 && (is_alpha(ch) || is_digit(ch) || strchr("!#$%&'*+-.^_`|~", ch));
}

static int is_key_first(int ch)
{
	return is_lcalpha(ch) || ch == '*';
}

static int is_key_char(int ch)
{
	return is_lcalpha(ch) || is_digit(ch) || ch == '_' || ch == '-' || ch == '.' || ch == '*';
}

static int is_b64_char(int ch)
{
	return is_alpha(ch) || is_digit(ch) || ch == '+' || ch == '/' || ch == '=';
}

int sf_is_key(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SF_MAX_KEY || !is_key_first((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_key_char((unsigned char)s[i]))
			return 0;
	return 1;
}

int sf_is_token(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || !(is_alpha((unsigned char)s[0]) || s[0] == '*'))
		return 0;
	for (size_t i = 1; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (!is_tchar(ch) && ch != ':' && ch != '/')
			return 0;
	}
	return 1;
}

void sf_bare_free(struct sf_bare *v)
{
	if (!v)
		return;
	free(v->str);
	free(v->bin);
	memset(v, 0, sizeof(*v));
}

void sf_params_free(struct sf_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		sf_bare_free(&p->v[i].value);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

void sf_item_free(struct sf_item *it)
{
	if (!it)
		return;
	sf_bare_free(&it->bare);
	sf_params_free(&it->params);
}

void sf_member_free(struct sf_member *m)
{
	if (!m)
		return;
	sf_item_free(&m->item);
	for (size_t i = 0; i < m->ninner; i++)
		sf_item_free(&m->inner[i]);
	free(m->inner);
	m->inner = NULL;
	m->ninner = 0;
	sf_params_free(&m->params);
}

void sf_members_free(struct sf_members *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		sf_member_free(&m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

/* §4.2.3.3 */
static int parse_key(struct cur *c, char out[SF_MAX_KEY + 1])
{
	size_t n = 0;

	if (!is_key_first(peek(c)))
		return bad(c, "expected a key");
	while (!at_end(c) && is_key_char(peek(c))) {
		if (n == SF_MAX_KEY)
			return bad(c, "key too long");
		out[n++] = c->s[c->pos++];
	}
	out[n] = '\0';
	return 0;
}

/* §4.2.4: at most 15 integer digits; a decimal has 1-12 digits, ".", 1-3 digits. */
static int parse_number(struct cur *c, struct sf_bare *v)
{
	int neg = 0, decimal = 0;
	size_t idigits = 0, fdigits = 0;
	int64_t ipart = 0, fpart = 0;

	if (peek(c) == '-') {
		neg = 1;
		c->pos++;
	}
	if (!is_digit(peek(c)))
		return bad(c, "expected a digit");
	while (!at_end(c)) {
		int ch = peek(c);

		if (is_digit(ch)) {
			if (!decimal) {
				if (++idigits > 15)
					return bad(c, "integer has more than 15 digits");
				ipart = ipart * 10 + (ch - '0');
			} else {
				if (++fdigits > 3)
					return bad(c, "decimal has more than 3 fractional digits");
				fpart = fpart * 10 + (ch - '0');
			}
			c->pos++;
		} else if (ch == '.' && !decimal) {
			if (idigits > 12)
				return bad(c, "decimal has more than 12 integer digits");
			decimal = 1;
			c->pos++;
		} else {
			break;
		}
	}
	if (decimal && fdigits == 0)
		return bad(c, "decimal without fractional digits");
	if (decimal) {
		for (size_t i = fdigits; i < 3; i++)
			fpart *= 10;
		v->type = SF_DECIMAL;
		v->num = ipart * 1000 + fpart;
	} else {
		v->type = SF_INTEGER;
		v->num = ipart;
	}
	if (neg)
		v->num = -v->num;
	return 0;
}

/* §4.2.5: printable ASCII; the only escapes are \" and \\. */
static int parse_string(struct cur *c, struct sf_bare *v)
{
	size_t start, n = 0;
	char *out;

	c->pos++; /* the opening DQUOTE */
	start = c->pos;
	out = malloc(c->len - start + 1);
	if (!out)
		return nomem(c);
	for (;;) {
		int ch = peek(c);

		if (ch < 0) {
			free(out);
			return bad(c, "unterminated string");
		}
		if (ch == '\\') {
			c->pos++;
			ch = peek(c);
			if (ch != '"' && ch != '\\') {
				free(out);
				return bad(c, "bad escape in string");
			}
		} else if (ch == '"') {
			c->pos++;
			break;
		} else if (ch < 0x20 || ch > 0x7e) {
			free(out);
			return bad(c, "byte not allowed in string");
		}
		out[n++] = (char)ch;
		c->pos++;
	}
	out[n] = '\0';
	v->type = SF_STRING;
	v->str = out;
	v->len = n;
	return 0;
}

/* §4.2.6 */
static int parse_token(struct cur *c, struct sf_bare *v)
{
	size_t start = c->pos;
	char *out;

	if (!is_alpha(peek(c)) && peek(c) != '*')
		return bad(c, "expected a token");
	c->pos++;
	while (!at_end(c) && (is_tchar(peek(c)) || peek(c) == ':' || peek(c) == '/'))
		c->pos++;
	out = strndup(c->s + start, c->pos - start);
	if (!out)
		return nomem(c);
	v->type = SF_TOKEN;
	v->str = out;
	v->len = c->pos - start;
	return 0;
}

/* §4.2.7. Padding may be left out (the RFC asks parsers to accept that); the encoding must
 * otherwise be canonical, so one byte string has one spelling. */
static int parse_binary(struct cur *c, struct sf_bare *v)
{
	size_t start, n;
	char *padded;
	int r;

	c->pos++;
	start = c->pos;
	while (!at_end(c) && peek(c) != ':') {
		if (!is_b64_char(peek(c)))
			return bad(c, "byte not allowed in byte sequence");
		c->pos++;
	}
	if (at_end(c))
		return bad(c, "unterminated byte sequence");
	n = c->pos - start;
	padded = malloc(n + 4);
	if (!padded)
		return nomem(c);
	memcpy(padded, c->s + start, n);
	if (!memchr(padded, '=', n))
		while (n % 4)
			padded[n++] = '=';
	r = b64_decode(padded, n, 0, &v->bin, &v->len);
	free(padded);
	if (r < 0) {
		c->pos = start;
		return bad(c, "bad base64 in byte sequence");
	}
	c->pos++; /* the closing ':' */
	v->type = SF_BINARY;
	return 0;
}

static int parse_boolean(struct cur *c, struct sf_bare *v)
{
	c->pos++;
	if (peek(c) != '0' && peek(c) != '1')
		return bad(c, "expected 0 or 1 after '?'");
	v->type = SF_BOOLEAN;
	v->num = peek(c) == '1';
	c->pos++;
	return 0;
}

/* §4.2.3.1 */
static int parse_bare(struct cur *c, struct sf_bare *v)
{
	int ch = peek(c);

	memset(v, 0, sizeof(*v));
	if (ch == '-' || is_digit(ch))
		return parse_number(c, v);
	if (ch == '"')
		return parse_string(c, v);
	if (ch == '*' || is_alpha(ch))
		return parse_token(c, v);
	if (ch == ':')
		return parse_binary(c, v);
	if (ch == '?')
		return parse_boolean(c, v);
	return bad(c, "expected a bare item");
}

int sf_params_add(struct sf_params *p, const char *key, struct sf_bare *value)
{
	struct sf_param *nv;

	for (size_t i = 0; i < p->n; i++) {
		if (!strcmp(p->v[i].key, key)) {
			sf_bare_free(&p->v[i].value);
			p->v[i].value = *value;
			memset(value, 0, sizeof(*value));
			return 0;
		}
	}
	if (p->n >= SF_MAX_PARAMS || !sf_is_key(key))
		return -1;
	nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
	if (!nv)
		return -1;
	p->v = nv;
	memset(&nv[p->n], 0, sizeof(nv[p->n]));
	snprintf(nv[p->n].key, sizeof(nv[p->n].key), "%s", key);
	nv[p->n].value = *value;
	memset(value, 0, sizeof(*value));
	p->n++;
	return 0;
}

/* §4.2.3.2: a later duplicate key overwrites the earlier value. */
static int parse_params(struct cur *c, struct sf_params *p)
{
	while (peek(c) == ';') {
		char key[SF_MAX_KEY + 1];
		struct sf_bare v = {.type = SF_BOOLEAN, .num = 1};

		c->pos++;
		skip_sp(c);
		if (parse_key(c, key) < 0)
			return -1;
		if (peek(c) == '=') {
			c->pos++;
			if (parse_bare(c, &v) < 0)
				return -1;
		}
		if (p->n >= SF_MAX_PARAMS && !sf_param_get(p, key)) {
			sf_bare_free(&v);
			return bad(c, "too many parameters");
		}
		if (sf_params_add(p, key, &v) < 0) {
			sf_bare_free(&v);
			return nomem(c);
		}
	}
	return 0;
}

static int parse_item_at(struct cur *c, struct sf_item *it)
{
	memset(it, 0, sizeof(*it));
	if (parse_bare(c, &it->bare) < 0 || parse_params(c, &it->params) < 0) {
		sf_item_free(it);
		return -1;
	}
	return 0;
}

/* §4.2.1.2: items are separated by at least one SP. */
static int parse_inner(struct cur *c, struct sf_member *m)
{
	c->pos++; /* '(' */
	while (!at_end(c)) {
		struct sf_item *nv;

		skip_sp(c);
		if (peek(c) == ')') {
			c->pos++;
			return parse_params(c, &m->params);
		}
		if (m->ninner >= SF_MAX_INNER)
			return bad(c, "too many items in inner list");
		nv = realloc(m->inner, (m->ninner + 1) * sizeof(*nv));
		if (!nv)
			return nomem(c);
		m->inner = nv;
		if (parse_item_at(c, &m->inner[m->ninner]) < 0)
			return -1;
		m->ninner++;
		if (peek(c) != ' ' && peek(c) != ')')
			return bad(c, "expected SP or ')' in inner list");
	}
	return bad(c, "unterminated inner list");
}

static int parse_item_or_inner(struct cur *c, struct sf_member *m)
{
	if (peek(c) == '(') {
		m->is_inner = 1;
		return parse_inner(c, m);
	}
	return parse_item_at(c, &m->item);
}

static int add_member(struct cur *c, struct sf_members *out, struct sf_member *m, int dict)
{
	struct sf_member *nv;

	if (dict) {
		for (size_t i = 0; i < out->n; i++) {
			if (!strcmp(out->v[i].key, m->key)) {
				sf_member_free(&out->v[i]);
				out->v[i] = *m;
				return 0;
			}
		}
	}
	if (out->n >= SF_MAX_MEMBERS) {
		sf_member_free(m);
		return bad(c, "too many members");
	}
	nv = realloc(out->v, (out->n + 1) * sizeof(*nv));
	if (!nv) {
		sf_member_free(m);
		return nomem(c);
	}
	out->v = nv;
	out->v[out->n++] = *m;
	return 0;
}

/* §4.2.1 and §4.2.2 share the loop: members separated by OWS "," OWS, no trailing comma. */
static int parse_members(const char *in, size_t len, struct sf_members *out, int dict,
			 struct vs_error *err)
{
	struct cur c = {.s = in, .len = len, .err = err};

	memset(out, 0, sizeof(*out));
	skip_sp(&c);
	while (!at_end(&c)) {
		struct sf_member m;

		memset(&m, 0, sizeof(m));
		if (dict) {
			if (parse_key(&c, m.key) < 0)
				goto fail;
			if (peek(&c) == '=') {
				c.pos++;
				if (parse_item_or_inner(&c, &m) < 0) {
					sf_member_free(&m);
					goto fail;
				}
			} else {
				m.item.bare.type = SF_BOOLEAN;
				m.item.bare.num = 1;
				if (parse_params(&c, &m.item.params) < 0) {
					sf_member_free(&m);
					goto fail;
				}
			}
		} else if (parse_item_or_inner(&c, &m) < 0) {
			sf_member_free(&m);
			goto fail;
		}
		if (add_member(&c, out, &m, dict) < 0)
			goto fail;
		skip_ows(&c);
		if (at_end(&c))
			return 0;
		if (peek(&c) != ',') {
			bad(&c, "expected ',' between members");
			goto fail;
		}
		c.pos++;
		skip_ows(&c);
		if (at_end(&c)) {
			bad(&c, "trailing ','");
			goto fail;
		}
	}
	return 0;
fail:
	sf_members_free(out);
	return -1;
}

int sf_parse_list(const char *in, size_t len, struct sf_members *out, struct vs_error *err)
{
	return parse_members(in, len, out, 0, err);
}

int sf_parse_dict(const char *in, size_t len, struct sf_members *out, struct vs_error *err)
{
	return parse_members(in, len, out, 1, err);
}

int sf_parse_item(const char *in, size_t len, struct sf_item *out, struct vs_error *err)
{
	struct cur c = {.s = in, .len = len, .err = err};

	memset(out, 0, sizeof(*out));
	skip_sp(&c);
	if (parse_item_at(&c, out) < 0)
		return -1;
	skip_sp(&c);
	if (!at_end(&c)) {
		sf_item_free(out);
		return bad(&c, "trailing characters after item");
	}
	return 0;
}

const struct sf_member *sf_dict_get(const struct sf_members *d, const char *key)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].key, key))
			return &d->v[i];
	return NULL;
}

const struct sf_bare *sf_param_get(const struct sf_params *p, const char *key)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].key, key))
			return &p->v[i].value;
	return NULL;
}

/* ---- serialization ---- */

void sf_buf_append(struct sf_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sf_buf_puts(struct sf_buf *b, const char *s)
{
	sf_buf_append(b, s, strlen(s));
}

char *sf_buf_take(struct sf_buf *b, size_t *len)
{
	char *p = NULL;

	if (b->oom)
		free(b->p);
	else
		p = b->p ? b->p : strdup("");
	if (len)
		*len = p ? b->len : 0;
	memset(b, 0, sizeof(*b));
	return p;
}

void sf_buf_free(struct sf_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int sf_serialize_bare(struct sf_buf *b, const struct sf_bare *v)
{
	char tmp[48];

	switch (v->type) {
	case SF_INTEGER:
		if (v->num > SF_INTEGER_MAX || v->num < -SF_INTEGER_MAX)
			return -1;
		snprintf(tmp, sizeof(tmp), "%lld", (long long)v->num);
		sf_buf_puts(b, tmp);
		return 0;
	case SF_DECIMAL: {
		/* Values are held in thousandths, so no rounding is needed; at least one digit
		 * after the point, no trailing zeros beyond it. */
		int64_t a = v->num < 0 ? -v->num : v->num;
		int64_t ip = a / 1000, fp = a % 1000;
		int fd = 3;

		if (ip > 999999999999LL)
			return -1;
		while (fd > 1 && fp % 10 == 0) {
			fp /= 10;
			fd--;
		}
		snprintf(tmp, sizeof(tmp), "%s%lld.%0*lld", v->num < 0 ? "-" : "", (long long)ip, fd,
			 (long long)fp);
		sf_buf_puts(b, tmp);
		return 0;
	}
	case SF_STRING:
		for (size_t i = 0; i < v->len; i++)
			if ((unsigned char)v->str[i] < 0x20 || (unsigned char)v->str[i] > 0x7e)
				return -1;
		sf_buf_append(b, "\"", 1);
		for (size_t i = 0; i < v->len; i++) {
			if (v->str[i] == '"' || v->str[i] == '\\')
				sf_buf_append(b, "\\", 1);
			sf_buf_append(b, &v->str[i], 1);
		}
		sf_buf_append(b, "\"", 1);
		return 0;
	case SF_TOKEN:
		if (!v->str || !sf_is_token(v->str))
			return -1;
		sf_buf_puts(b, v->str);
		return 0;
	case SF_BINARY: {
		char *e = b64_encode(v->bin, v->len);

		if (!e)
			return -1;
		sf_buf_append(b, ":", 1);
		sf_buf_puts(b, e);
		sf_buf_append(b, ":", 1);
		free(e);
		return 0;
	}
	case SF_BOOLEAN:
		sf_buf_puts(b, v->num ? "?1" : "?0");
		return 0;
	}
	return -1;
}

int sf_serialize_params(struct sf_buf *b, const struct sf_params *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (!sf_is_key(p->v[i].key))
			return -1;
		sf_buf_append(b, ";", 1);
		sf_buf_puts(b, p->v[i].key);
		if (p->v[i].value.type == SF_BOOLEAN && p->v[i].value.num == 1)
			continue;
		sf_buf_append(b, "=", 1);
		if (sf_serialize_bare(b, &p->v[i].value) < 0)
			return -1;
	}
	return 0;
}

int sf_serialize_item(struct sf_buf *b, const struct sf_item *it)
{
	if (sf_serialize_bare(b, &it->bare) < 0)
		return -1;
	return sf_serialize_params(b, &it->params);
}

int sf_serialize_inner(struct sf_buf *b, const struct sf_item *items, size_t n,
		       const struct sf_params *p)
{
	sf_buf_append(b, "(", 1);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sf_buf_append(b, " ", 1);
		if (sf_serialize_item(b, &items[i]) < 0)
			return -1;
	}
	sf_buf_append(b, ")", 1);
	return sf_serialize_params(b, p);
}

int sf_serialize_member_value(struct sf_buf *b, const struct sf_member *m)
{
	if (m->is_inner)
		return sf_serialize_inner(b, m->inner, m->ninner, &m->params);
	return sf_serialize_item(b, &m->item);
}

int sf_serialize_dict(struct sf_buf *b, const struct sf_members *d)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct sf_member *m = &d->v[i];

		if (!sf_is_key(m->key))
			return -1;
		if (i)
			sf_buf_append(b, ", ", 2);
		sf_buf_puts(b, m->key);
		if (!m->is_inner && m->item.bare.type == SF_BOOLEAN && m->item.bare.num == 1) {
			if (sf_serialize_params(b, &m->item.params) < 0)
				return -1;
			continue;
		}
		sf_buf_append(b, "=", 1);
		if (sf_serialize_member_value(b, m) < 0)
			return -1;
	}
	return 0;
}

int sf_serialize_list(struct sf_buf *b, const struct sf_members *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			sf_buf_append(b, ", ", 2);
		if (sf_serialize_member_value(b, &l->v[i]) < 0)
			return -1;
	}
	return 0;
}

int sf_bare_string(struct sf_bare *v, const char *s)
{
	memset(v, 0, sizeof(*v));
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			return -1;
	v->str = strdup(s);
	if (!v->str)
		return -1;
	v->type = SF_STRING;
	v->len = strlen(s);
	return 0;
}

int sf_bare_token(struct sf_bare *v, const char *s)
{
	memset(v, 0, sizeof(*v));
	if (!sf_is_token(s) || !(v->str = strdup(s)))
		return -1;
	v->type = SF_TOKEN;
	v->len = strlen(s);
	return 0;
}

int sf_bare_binary(struct sf_bare *v, const uint8_t *bin, size_t len)
{
	memset(v, 0, sizeof(*v));
	v->bin = malloc(len ? len : 1);
	if (!v->bin)
		return -1;
	if (len)
		memcpy(v->bin, bin, len);
	v->type = SF_BINARY;
	v->len = len;
	return 0;
}

void sf_bare_integer(struct sf_bare *v, int64_t n)
{
	memset(v, 0, sizeof(*v));
	v->type = SF_INTEGER;
	v->num = n;
}
