/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/sf.c: RFC 8941 parsing (every edge) and canonical serialization. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/sf.h"

enum kind { LIST, DICT, ITEM };

/* want NULL: the input must be refused. Otherwise the canonical serialization after parsing. */
struct vec {
	enum kind kind;
	const char *in;
	const char *want;
};

static char *roundtrip(enum kind kind, const char *in, size_t len, struct vs_error *err)
{
	struct sf_members m;
	struct sf_item it;
	struct sf_buf b = {0};
	int r;

	if (kind == ITEM) {
		if (sf_parse_item(in, len, &it, err) < 0)
			return NULL;
		r = sf_serialize_item(&b, &it);
		sf_item_free(&it);
	} else {
		if ((kind == LIST ? sf_parse_list : sf_parse_dict)(in, len, &m, err) < 0)
			return NULL;
		r = kind == LIST ? sf_serialize_list(&b, &m) : sf_serialize_dict(&b, &m);
		sf_members_free(&m);
	}
	if (r < 0) {
		sf_buf_free(&b);
		return NULL;
	}
	return sf_buf_take(&b, NULL);
}

static void run_vectors(const struct vec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vs_error err = {0};
		char *got = roundtrip(v[i].kind, v[i].in, strlen(v[i].in), &err);

		if (v[i].want == NULL) {
			if (got)
				fprintf(stderr, "accepted bad input [%s] -> [%s]\n", v[i].in, got);
			CU_ASSERT_PTR_NULL(got);
			CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
		} else {
			if (!got || strcmp(got, v[i].want))
				fprintf(stderr, "input [%s]: got [%s] want [%s] (%s)\n", v[i].in,
					got ? got : "(refused)", v[i].want, err.reason);
			CU_ASSERT_PTR_NOT_NULL(got);
			if (got)
				CU_ASSERT_STRING_EQUAL(got, v[i].want);
		}
		free(got);
	}
}

#define RUN(v) run_vectors(v, sizeof(v) / sizeof(v[0]))

static void test_integers(void)
{
	static const struct vec v[] = {
		{ITEM, "0", "0"},
		{ITEM, "42", "42"},
		{ITEM, "-42", "-42"},
		{ITEM, "00042", "42"},
		{ITEM, "-0", "0"},
		{ITEM, "999999999999999", "999999999999999"},
		{ITEM, "-999999999999999", "-999999999999999"},
		{ITEM, "1000000000000000", NULL}, /* 16 digits */
		{ITEM, "-1000000000000000", NULL},
		{ITEM, "99999999999999999999999999", NULL},
		{ITEM, "-", NULL},
		{ITEM, "--1", NULL},
		{ITEM, "+1", NULL},
		{ITEM, "1a", NULL},
		{ITEM, "1 2", NULL},
		{ITEM, "0x10", NULL},
	};
	RUN(v);
}

static void test_decimals(void)
{
	static const struct vec v[] = {
		{ITEM, "1.5", "1.5"},
		{ITEM, "-1.5", "-1.5"},
		{ITEM, "1.500", "1.5"},
		{ITEM, "1.0", "1.0"},
		{ITEM, "0.001", "0.001"},
		{ITEM, "123456789012.123", "123456789012.123"},
		{ITEM, "1234567890123.1", NULL}, /* 13 integer digits */
		{ITEM, "1.1234", NULL},          /* 4 fractional digits */
		{ITEM, "1.", NULL},
		{ITEM, ".5", NULL},
		{ITEM, "1.2.3", NULL},
		{ITEM, "-.1", NULL},
	};
	RUN(v);
}

static void test_strings(void)
{
	static const struct vec v[] = {
		{ITEM, "\"\"", "\"\""},
		{ITEM, "\"hello world\"", "\"hello world\""},
		{ITEM, "\"a\\\"b\"", "\"a\\\"b\""},
		{ITEM, "\"a\\\\b\"", "\"a\\\\b\""},
		{ITEM, "\"a\\nb\"", NULL},  /* only \" and \\ are escapes */
		{ITEM, "\"a\\'b\"", NULL},
		{ITEM, "\"a\\\"", NULL},    /* escape eats the closing quote */
		{ITEM, "\"abc", NULL},
		{ITEM, "\"tab\there\"", NULL},
		{ITEM, "\"nl\nhere\"", NULL},
		{ITEM, "\"caf\xc3\xa9\"", NULL}, /* non-ASCII */
		{ITEM, "\"del\x7f\"", NULL},
		{ITEM, "\"a\"\"b\"", NULL},
	};
	RUN(v);
}

static void test_tokens_binary_bool(void)
{
	static const struct vec v[] = {
		{ITEM, "foo", "foo"},
		{ITEM, "*foo", "*foo"},
		{ITEM, "Foo/Bar:baz!#$%&'*+-.^_`|~9", "Foo/Bar:baz!#$%&'*+-.^_`|~9"},
		{ITEM, "_foo", NULL},
		{ITEM, "foo\"bar", NULL},
		{ITEM, "foo,bar", NULL},
		{ITEM, "fo\xc3\xb6", NULL},
		{ITEM, ":aGVsbG8=:", ":aGVsbG8=:"},
		{ITEM, ":aGVsbG8:", ":aGVsbG8=:"}, /* padding may be omitted */
		{ITEM, "::", "::"},
		{ITEM, ":aGVsbG8=", NULL},
		{ITEM, ":aGVsb G8=:", NULL},
		{ITEM, ":aGVsbG8-:", NULL}, /* URL-safe alphabet is not base64 here */
		{ITEM, ":aGVsbG9=:", NULL}, /* non-canonical trailing bits */
		{ITEM, ":a=GVsbG8:", NULL},
		{ITEM, "?1", "?1"},
		{ITEM, "?0", "?0"},
		{ITEM, "?2", NULL},
		{ITEM, "?", NULL},
		{ITEM, "?true", NULL},
		{ITEM, "", NULL},
		{ITEM, "   ", NULL},
		{ITEM, " foo ", "foo"},
		{ITEM, "\tfoo", NULL}, /* only SP is discarded at the edges of an item */
		{ITEM, "foo;a=1;b=?0;c", "foo;a=1;b=?0;c"},
		{ITEM, "foo; a=1", "foo;a=1"},
		{ITEM, "foo ;a=1", NULL},
		{ITEM, "foo;A=1", NULL},
		{ITEM, "foo;a=1;a=2", "foo;a=2"}, /* later parameter wins */
		{ITEM, "foo;a=", NULL},
		{ITEM, "foo;a=(1)", NULL},
		{ITEM, "foo;", NULL},
	};
	RUN(v);
}

static void test_lists(void)
{
	static const struct vec v[] = {
		{LIST, "", ""},
		{LIST, "   ", ""},
		{LIST, "a, b,c", "a, b, c"},
		{LIST, "a ,\tb", "a, b"},
		{LIST, "a,", NULL},
		{LIST, "a, ", NULL},
		{LIST, ",a", NULL},
		{LIST, "a,,b", NULL},
		{LIST, "a b", NULL},
		{LIST, "(a b);p=1, c", "(a b);p=1, c"},
		{LIST, "()", "()"},
		{LIST, "( )", "()"},
		{LIST, "(  a   b  )", "(a b)"},
		{LIST, "(a\tb)", NULL},
		{LIST, "(\"a\"\"b\")", NULL},
		{LIST, "(a b", NULL},
		{LIST, "((a))", NULL},
		{LIST, "(a);", NULL},
		{LIST, "(a)b", NULL},
		{LIST, "a, b xyz", NULL},
	};
	RUN(v);
}

static void test_dicts(void)
{
	static const struct vec v[] = {
		{DICT, "", ""},
		{DICT, "a=1, b=2", "a=1, b=2"},
		{DICT, "a=1,b=2", "a=1, b=2"},
		{DICT, "a, b=?1;x", "a, b;x"},
		{DICT, "a=?0", "a=?0"},
		{DICT, "a=1, b=2, a=3", "a=3, b=2"}, /* later duplicate wins, keeps its place */
		{DICT, "a=(1 2), a=x", "a=x"},
		{DICT, "A=1", NULL},
		{DICT, "1a=1", NULL},
		{DICT, "a=1,", NULL},
		{DICT, "a=1 b=2", NULL},
		{DICT, "a=", NULL},
		{DICT, "a==1", NULL},
		{DICT, "sig1=(\"@method\" \"@path\");created=1618884473;keyid=\"k\"",
		 "sig1=(\"@method\" \"@path\");created=1618884473;keyid=\"k\""},
		{DICT, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
		 "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"},
		{DICT, "a=1, \xc3\xa9=2", NULL},
		{DICT, "a=1\x01", NULL},
		{DICT, "a=1, b=2 ;", NULL},
	};
	RUN(v);
}

static void test_dict_lookup(void)
{
	const char *in = "b=2, a=(\"x\" \"y\";req);created=5, c=:AAE=:";
	struct sf_members d;
	struct vs_error err = {0};
	const struct sf_member *m;

	CU_ASSERT_EQUAL_FATAL(sf_parse_dict(in, strlen(in), &d, &err), 0);
	CU_ASSERT_EQUAL(d.n, 3);
	m = sf_dict_get(&d, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT(m->is_inner);
	CU_ASSERT_EQUAL(m->ninner, 2);
	CU_ASSERT_STRING_EQUAL(m->inner[1].bare.str, "y");
	CU_ASSERT_PTR_NOT_NULL(sf_param_get(&m->inner[1].params, "req"));
	CU_ASSERT_EQUAL(sf_param_get(&m->params, "created")->num, 5);
	m = sf_dict_get(&d, "c");
	CU_ASSERT_EQUAL(m->item.bare.type, SF_BINARY);
	CU_ASSERT_EQUAL(m->item.bare.len, 2);
	CU_ASSERT_EQUAL(m->item.bare.bin[1], 1);
	CU_ASSERT_PTR_NULL(sf_dict_get(&d, "z"));
	sf_members_free(&d);
}

static void test_not_nul_terminated(void)
{
	/* The parser honours len: the bytes after it are never read. */
	const char buf[] = "a=1, b=2GARBAGE";
	struct sf_members d;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(sf_parse_dict(buf, 8, &d, &err), 0);
	CU_ASSERT_EQUAL(d.n, 2);
	sf_members_free(&d);
	CU_ASSERT_EQUAL(sf_parse_dict(buf, 9, &d, &err), -1);
	/* an embedded NUL is a byte like any other, and not allowed */
	CU_ASSERT_EQUAL(sf_parse_dict("a=1\0", 4, &d, &err), -1);
}

static void test_limits(void)
{
	struct sf_buf b = {0};
	struct vs_error err = {0};
	struct sf_members d;
	char *s;
	size_t len;

	for (int i = 0; i < SF_MAX_MEMBERS + 1; i++) {
		char m[16];

		snprintf(m, sizeof(m), "%sk%d=1", i ? "," : "", i);
		sf_buf_puts(&b, m);
	}
	s = sf_buf_take(&b, &len);
	CU_ASSERT_EQUAL(sf_parse_dict(s, len, &d, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "too many"));
	free(s);

	sf_buf_puts(&b, "(");
	for (int i = 0; i < SF_MAX_INNER + 1; i++)
		sf_buf_puts(&b, "a ");
	sf_buf_puts(&b, ")");
	s = sf_buf_take(&b, &len);
	CU_ASSERT_EQUAL(sf_parse_list(s, len, &d, &err), -1);
	free(s);

	/* a key longer than SF_MAX_KEY */
	for (int i = 0; i < SF_MAX_KEY + 1; i++)
		sf_buf_puts(&b, "k");
	sf_buf_puts(&b, "=1");
	s = sf_buf_take(&b, &len);
	CU_ASSERT_EQUAL(sf_parse_dict(s, len, &d, &err), -1);
	free(s);
}

static void test_serialize_builders(void)
{
	struct sf_item items[2] = {0};
	struct sf_params p = {0};
	struct sf_bare v = {0};
	struct sf_buf b = {0};
	char *s;
	static const uint8_t bin[] = {0xde, 0xad, 0xbe, 0xef};

	CU_ASSERT_EQUAL(sf_bare_string(&items[0].bare, "@method"), 0);
	CU_ASSERT_EQUAL(sf_bare_string(&items[1].bare, "@path"), 0);
	v.type = SF_BOOLEAN;
	v.num = 1;
	CU_ASSERT_EQUAL(sf_params_add(&items[1].params, "req", &v), 0);
	sf_bare_integer(&v, 1618884473);
	CU_ASSERT_EQUAL(sf_params_add(&p, "created", &v), 0);
	CU_ASSERT_EQUAL(sf_bare_string(&v, "k\"1"), 0);
	CU_ASSERT_EQUAL(sf_params_add(&p, "keyid", &v), 0);
	CU_ASSERT_EQUAL(sf_bare_binary(&v, bin, sizeof(bin)), 0);
	CU_ASSERT_EQUAL(sf_params_add(&p, "x", &v), 0);
	CU_ASSERT_EQUAL(sf_serialize_inner(&b, items, 2, &p), 0);
	s = sf_buf_take(&b, NULL);
	CU_ASSERT_STRING_EQUAL(s, "(\"@method\" \"@path\";req);created=1618884473;keyid=\"k\\\"1\";x=:3q2+7w==:");
	free(s);
	sf_item_free(&items[0]);
	sf_item_free(&items[1]);
	sf_params_free(&p);

	/* values that have no serialization are refused */
	CU_ASSERT_EQUAL(sf_bare_string(&v, "caf\xc3\xa9"), -1);
	CU_ASSERT_EQUAL(sf_bare_token(&v, "1abc"), -1);
	sf_bare_integer(&v, SF_INTEGER_MAX + 1);
	CU_ASSERT_EQUAL(sf_serialize_bare(&b, &v), -1);
	sf_bare_integer(&v, -SF_INTEGER_MAX);
	CU_ASSERT_EQUAL(sf_serialize_bare(&b, &v), 0);
	v.type = SF_DECIMAL;
	v.num = -1230;
	CU_ASSERT_EQUAL(sf_serialize_bare(&b, &v), 0);
	s = sf_buf_take(&b, NULL);
	CU_ASSERT_STRING_EQUAL(s, "-999999999999999-1.23");
	free(s);
	v.type = SF_BOOLEAN;
	CU_ASSERT_EQUAL(sf_params_add(&p, "Bad", &v), -1);
	sf_params_free(&p);
}

static void test_key_token_classes(void)
{
	CU_ASSERT(sf_is_key("sig-b26"));
	CU_ASSERT(sf_is_key("*a.b_c"));
	CU_ASSERT(!sf_is_key(""));
	CU_ASSERT(!sf_is_key("Sig"));
	CU_ASSERT(!sf_is_key("-a"));
	CU_ASSERT(sf_is_token("application/json"));
	CU_ASSERT(!sf_is_token("a b"));
}

int main(void)
{
	static const struct test_case cases[] = {
		{"integers", test_integers},
		{"decimals", test_decimals},
		{"strings", test_strings},
		{"tokens, byte sequences, booleans, parameters", test_tokens_binary_bool},
		{"lists and inner lists", test_lists},
		{"dictionaries", test_dicts},
		{"dictionary lookup", test_dict_lookup},
		{"length-bounded input", test_not_nul_terminated},
		{"member, item and key limits", test_limits},
		{"serializer and builders", test_serialize_builders},
		{"key and token classes", test_key_token_classes},
		{NULL, NULL},
	};
	return run_suite("sf", cases);
}
