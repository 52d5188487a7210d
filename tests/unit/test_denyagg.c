/* SPDX-License-Identifier: Apache-2.0 */
/* lib/denyagg: refused unauthenticated requests become bounded counters. */
#include <stdio.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/denyagg.h"

struct seen {
	struct denyagg_entry e[16];
	size_t n;
};

static void collect(void *ctx, const struct denyagg_entry *e)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->e[s->n++] = *e;
}

static void test_counts(void)
{
	struct denyagg *a = denyagg_new(8);
	struct seen s = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (int i = 0; i < 10000; i++)
		denyagg_note(a, "10.0.0.1", "signature_missing", NULL);
	denyagg_note(a, "10.0.0.1", "signature_invalid", "ab12");
	denyagg_note(a, "10.0.0.2", "signature_missing", NULL);
	CU_ASSERT_EQUAL(denyagg_drain(a, collect, &s), 3);
	CU_ASSERT_STRING_EQUAL(s.e[0].client, "10.0.0.1");
	CU_ASSERT_STRING_EQUAL(s.e[0].code, "signature_missing");
	CU_ASSERT_EQUAL(s.e[0].count, 10000);
	CU_ASSERT_STRING_EQUAL(s.e[1].keyid, "ab12");
	CU_ASSERT_EQUAL(s.e[2].count, 1);
	/* drained: the next interval starts empty */
	s.n = 0;
	CU_ASSERT_EQUAL(denyagg_drain(a, collect, &s), 0);
	denyagg_free(a);
}

/* One IPv6 host owns its /64: rotating through it must not buy a counter (and a log event) per
 * address. */
static void test_ipv6_subnet(void)
{
	struct denyagg *a = denyagg_new(8);
	struct seen s = {0};
	char client[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (int i = 0; i < 1000; i++) {
		snprintf(client, sizeof(client), "2001:db8:1:2:%x:%x::%x", i, i * 7, i * 13);
		denyagg_note(a, client, "signature_missing", NULL);
	}
	denyagg_note(a, "2001:db8:1:3::1", "signature_missing", NULL);
	denyagg_note(a, "::ffff:192.0.2.7", "signature_missing", NULL);
	denyagg_note(a, "192.0.2.7", "signature_missing", NULL);
	CU_ASSERT_EQUAL(denyagg_drain(a, collect, &s), 3);
	CU_ASSERT_STRING_EQUAL(s.e[0].client, "2001:db8:1:2::/64");
	CU_ASSERT_EQUAL(s.e[0].count, 1000);
	CU_ASSERT_STRING_EQUAL(s.e[1].client, "2001:db8:1:3::/64");
	CU_ASSERT_STRING_EQUAL(s.e[2].client, "192.0.2.7");
	CU_ASSERT_EQUAL(s.e[2].count, 2);
	denyagg_free(a);
}

static void test_bounded(void)
{
	struct denyagg *a = denyagg_new(4);
	struct seen s = {0};
	char client[32], longcode[200];

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	for (int i = 0; i < 100; i++) {
		snprintf(client, sizeof(client), "10.0.0.%d", i);
		denyagg_note(a, client, i % 2 ? "a" : "b", NULL);
	}
	CU_ASSERT_EQUAL(denyagg_drain(a, collect, &s), 4); /* three clients and "other" */
	CU_ASSERT_STRING_EQUAL(s.e[3].client, "other");
	CU_ASSERT_STRING_EQUAL(s.e[3].code, "various");
	CU_ASSERT_EQUAL(s.e[3].count, 97);
	/* attacker text is cut and made plain */
	memset(longcode, 'x', sizeof(longcode) - 1);
	longcode[sizeof(longcode) - 1] = '\0';
	longcode[3] = '"';
	longcode[4] = '\n';
	s.n = 0;
	denyagg_note(a, "10.0.0.1\"}", longcode, NULL);
	CU_ASSERT_EQUAL(denyagg_drain(a, collect, &s), 1);
	CU_ASSERT_STRING_EQUAL(s.e[0].client, "10.0.0.1__");
	CU_ASSERT_EQUAL(strlen(s.e[0].code), DENYAGG_CODE_BYTES - 1);
	CU_ASSERT_EQUAL(s.e[0].code[3], '_');
	CU_ASSERT_EQUAL(s.e[0].code[4], '_');
	CU_ASSERT_PTR_NULL(denyagg_new(1));
	denyagg_free(a);
	denyagg_free(NULL);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"counts per client, code and claimed keyid", test_counts},
		{"bounded: a full table counts under other, text cut and plain", test_bounded},
		{"an IPv6 client counts under its /64, IPv4-mapped as IPv4", test_ipv6_subnet},
		{NULL, NULL},
	};
	return run_suite("denyagg", cases);
}
