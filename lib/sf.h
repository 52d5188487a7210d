/* SPDX-License-Identifier: Apache-2.0 */
/* Strict RFC 8941 structured field values: parse lists, dictionaries and items; serialize them. */
#ifndef VMSEAL_SF_H
#define VMSEAL_SF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Bounds on top of the header size limit, so a hostile field cannot make us allocate much. */
#define SF_MAX_MEMBERS 64 /* members of a list or dictionary */
#define SF_MAX_INNER 64   /* items in one inner list */
#define SF_MAX_PARAMS 32  /* parameters on one item or inner list */
#define SF_MAX_KEY 64     /* bytes of a key (dictionary member or parameter) */

/* RFC 8941 §3.3.1 integers have at most 15 digits. */
#define SF_INTEGER_MAX 999999999999999LL

enum sf_type {
	SF_INTEGER = 1,
	SF_DECIMAL, /* value held in thousandths: 1.5 is 1500 */
	SF_STRING,
	SF_TOKEN,
	SF_BINARY,
	SF_BOOLEAN,
};

struct sf_bare {
	enum sf_type type;
	int64_t num;  /* INTEGER, DECIMAL (thousandths), BOOLEAN (0/1) */
	char *str;    /* STRING (unescaped), TOKEN; NUL-terminated */
	uint8_t *bin; /* BINARY */
	size_t len;   /* bytes of str or bin */
};

struct sf_param {
	char key[SF_MAX_KEY + 1];
	struct sf_bare value;
};

struct sf_params {
	struct sf_param *v;
	size_t n;
};

struct sf_item {
	struct sf_bare bare;
	struct sf_params params;
};

/* A list or dictionary member: an item, or an inner list with its own parameters. */
struct sf_member {
	char key[SF_MAX_KEY + 1]; /* dictionaries only; "" in lists */
	int is_inner;
	struct sf_item item;    /* when !is_inner */
	struct sf_item *inner;  /* when is_inner */
	size_t ninner;
	struct sf_params params; /* the inner list's parameters */
};

/* Lists and dictionaries share one shape; a dictionary's keys are unique (a later duplicate
 * replaces the earlier value in place, RFC 8941 §4.2.2). */
struct sf_members {
	struct sf_member *v;
	size_t n;
};

/* Parsers. The input is a whole field value (len bytes, need not be NUL-terminated). Anything
 * outside the grammar fails, with the offset and the offending byte in err (VS_ERR_INPUT).
 * An empty list or dictionary parses to zero members; an empty item fails. */
int sf_parse_list(const char *in, size_t len, struct sf_members *out, struct vs_error *err);
int sf_parse_dict(const char *in, size_t len, struct sf_members *out, struct vs_error *err);
int sf_parse_item(const char *in, size_t len, struct sf_item *out, struct vs_error *err);

void sf_members_free(struct sf_members *m);
void sf_item_free(struct sf_item *it);
void sf_member_free(struct sf_member *m);

/* Lookups: the dictionary member or parameter with that key, or NULL. */
const struct sf_member *sf_dict_get(const struct sf_members *d, const char *key);
const struct sf_bare *sf_param_get(const struct sf_params *p, const char *key);

/* Growable output buffer for serializers. A failed append leaves oom set; sf_buf_take
 * then returns NULL. */
struct sf_buf {
	char *p;
	size_t len, cap;
	int oom;
};
void sf_buf_append(struct sf_buf *b, const char *s, size_t n);
void sf_buf_puts(struct sf_buf *b, const char *s);
char *sf_buf_take(struct sf_buf *b, size_t *len); /* NUL-terminated; the buffer is reset */
void sf_buf_free(struct sf_buf *b);

/* Serializers (RFC 8941 §4.1). They fail (-1) on a value that has no serialization: an
 * integer out of range, a string with a byte outside printable ASCII, a bad token or key. */
int sf_serialize_bare(struct sf_buf *b, const struct sf_bare *v);
int sf_serialize_params(struct sf_buf *b, const struct sf_params *p);
int sf_serialize_item(struct sf_buf *b, const struct sf_item *it);
int sf_serialize_inner(struct sf_buf *b, const struct sf_item *items, size_t n,
		       const struct sf_params *p);
int sf_serialize_member_value(struct sf_buf *b, const struct sf_member *m);
int sf_serialize_dict(struct sf_buf *b, const struct sf_members *d);
int sf_serialize_list(struct sf_buf *b, const struct sf_members *l);

/* Builders used by serializers' callers. They copy their arguments; -1 on a bad value or no
 * memory. */
int sf_bare_string(struct sf_bare *v, const char *s);
int sf_bare_token(struct sf_bare *v, const char *s);
int sf_bare_binary(struct sf_bare *v, const uint8_t *bin, size_t len);
void sf_bare_integer(struct sf_bare *v, int64_t n);
void sf_bare_free(struct sf_bare *v);
/* Appends a parameter (replacing one with the same key). The value is moved into p. */
int sf_params_add(struct sf_params *p, const char *key, struct sf_bare *value);
void sf_params_free(struct sf_params *p);

/* Character classes of the grammar, exposed for callers that validate names. */
int sf_is_key(const char *s);
int sf_is_token(const char *s);

#endif
