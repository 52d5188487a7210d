/* SPDX-License-Identifier: Apache-2.0 */
/* jsonscan_index: accepts exactly what jansson's json_loadb accepts (a table of texts, each
 * compared with jansson), and reports where the array and its elements lie. */
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common_cunit.h"
#include "lib/jsonscan.h"

/* Texts jansson refuses (flags 0): the scan must refuse each (its caller then lets jansson name
 * the error). */
static const char *const refused[] = {
	"", " ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":1 \"b\":2}", "{a:1}",
	"{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":.5}",
	"{\"a\":1e}", "{\"a\":1e+}", "{\"a\":+1}", "{\"a\":0x10}", "{\"a\":tru}", "{\"a\":truex}",
	"{\"a\":nul}", "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}",
	"{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}",
	"{\"a\":\"tab\there\"}", "{\"a\":\"nl\nhere\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xc0\x80\"}",
	"{\"a\":\"\xe0\x80\x80\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}",
	"{\"a\":\"\xf5\x80\x80\x80\"}", "{\"a\":\"\x80\"}", "{\"a\":1} x", "{\"a\":1}{}",
	"\xef\xbb\xbf{}", "{\"a\":99999999999999999999}", "{\"a\":-99999999999999999999}",
	"{\"a\":1e999}", "{\"a\":-1e999}", "{\"a\":\"unterminated}", "{\"a\":[1,2}", "{\"a\":{]}",
	"{\"a\":\"\\\"}",
};

/* Texts jansson accepts: the scan must accept each too (objects at the top, plain names). */
static const char *const accepted[] = {
	"{}", " {} ", "\n{\"a\":1}\n", "{\"a\":[]}", "{\"a\":[1,2.5,-0,-1.5e-3,1E+2,true,false,null]}",
	"{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\ud83d\\ude00\"}", "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
	"{\"a\":9223372036854775807}", "{\"a\":-9223372036854775808}", "{\"a\":1e-999}",
	"{\"a\":{\"b\":{\"c\":[[[]]]}}}", "{\"\":0}", "{\"keys\":[]}", "{\"a\":1,\"a\":2}",
	"{\"a\":\"0123456789abcdef0123456789abcdef\"}",
};

static void test_agrees_with_jansson(void)
{
	struct jsonscan_index ix;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_t *j = json_loadb(refused[i], strlen(refused[i]), 0, NULL);

		CU_ASSERT_PTR_NULL(j); /* the table itself: jansson refuses it */
		json_decref(j);
		CU_ASSERT_EQUAL(jsonscan_index(refused[i], strlen(refused[i]), "keys", 16, &ix), 0);
		CU_ASSERT_PTR_NULL(ix.elems);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		json_t *j = json_loadb(accepted[i], strlen(accepted[i]), 0, NULL);

		CU_ASSERT_PTR_NOT_NULL(j);
		json_decref(j);
		CU_ASSERT_EQUAL(jsonscan_index(accepted[i], strlen(accepted[i]), "keys", 16, &ix), 1);
		jsonscan_index_free(&ix);
	}
}

/* jansson's depth limit: values nested JSON_PARSER_MAX_DEPTH deep are read, one more is not. */
static void test_depth(void)
{
	for (int extra = 0; extra <= 1; extra++) {
		size_t n = JSON_PARSER_MAX_DEPTH - 2 + (size_t)extra; /* arrays inside {"a": ...} */
		char *t = malloc(2 * n + 16);
		struct jsonscan_index ix;
		json_t *j;
		size_t len = 0;

		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		len += (size_t)sprintf(t, "{\"a\":");
		memset(t + len, '[', n);
		len += n;
		t[len++] = '1';
		memset(t + len, ']', n);
		len += n;
		t[len++] = '}';
		j = json_loadb(t, len, 0, NULL);
		CU_ASSERT_EQUAL(jsonscan_index(t, len, "keys", 16, &ix), j != NULL);
		CU_ASSERT_EQUAL(j != NULL, !extra);
		json_decref(j);
		jsonscan_index_free(&ix);
		free(t);
	}
}

static void test_index(void)
{
	static const char t[] = "{\"version\":1,\n \"keys\": [\n  {\"id\": \"ab\", \"x\": [1]},\n  7,\n"
				"  {\"i\\u0064\": \"cd\"},\n  {\"id\": \"e\\u0066\"},\n  {\"id\": \"a\", \"id\": \"b\"},\n"
				"  {\"id\": 5}\n ],\n \"z\": {}}";
	struct jsonscan_index ix;

	CU_ASSERT_EQUAL_FATAL(jsonscan_index(t, strlen(t), "keys", 16, &ix), 1);
	CU_ASSERT_EQUAL(ix.nelems, 6);
	CU_ASSERT_EQUAL(ix.arr_lines, 7);
	CU_ASSERT_EQUAL(t[ix.arr_off], '[');
	CU_ASSERT_EQUAL(t[ix.arr_off + ix.arr_len - 1], ']');
	CU_ASSERT_NSTRING_EQUAL(t + ix.elems[0].off, "{\"id\": \"ab\", \"x\": [1]}", ix.elems[0].len);
	CU_ASSERT_EQUAL(ix.elems[0].id_len, 2);
	CU_ASSERT_NSTRING_EQUAL(t + ix.elems[0].id_off, "ab", 2);
	CU_ASSERT_NSTRING_EQUAL(t + ix.elems[1].off, "7", ix.elems[1].len);
	/* an escaped name, an escaped id, two ids, an id that is no string: not read plainly */
	for (size_t i = 1; i < 6; i++)
		CU_ASSERT_EQUAL(ix.elems[i].id_len, 0);
	jsonscan_index_free(&ix);
	/* more elements than allowed, "keys" twice, a top-level name with an escape, no array */
	CU_ASSERT_EQUAL(jsonscan_index(t, strlen(t), "keys", 5, &ix), 0);
	CU_ASSERT_EQUAL(jsonscan_index("{\"keys\":[],\"keys\":[]}", 21, "keys", 5, &ix), 0);
	CU_ASSERT_EQUAL(jsonscan_index("{\"k\\u0065ys\":[]}", 16, "keys", 5, &ix), 0);
	CU_ASSERT_EQUAL(jsonscan_index("{\"keys\":{}}", 11, "keys", 5, &ix), 0);
	CU_ASSERT_EQUAL(jsonscan_index("[]", 2, "keys", 5, &ix), 0);
	CU_ASSERT_EQUAL_FATAL(jsonscan_index("{\"a\":[1]}", 9, "keys", 5, &ix), 1);
	CU_ASSERT_EQUAL(ix.arr_len, 0);
	jsonscan_index_free(&ix);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"accepts and refuses what jansson does", test_agrees_with_jansson},
		{"jansson's depth limit", test_depth},
		{"the array and its elements located", test_index},
		{NULL, NULL},
	};
	return run_suite("jsonscan", cases);
}
