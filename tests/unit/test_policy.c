/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/policy.c: strict parsing, key checks, template matching, the image decision. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "common_cunit.h"
#include "lib/dsse.h"
#include "lib/merkle.h"
#include "lib/policy.h"
#include "lib/statement.h"
#include "lib/util.h"

static struct vs_key *k1, *k2;

/* Builds a policy with k1 (usage template, given status) and k2, one rule over both. */
static char *policy_json(const char *status, const char *extra_rule, const char *extra_top)
{
	char *pem1 = key_public_pem(k1), *pem2 = key_public_pem(k2), *s;
	json_t *root;
	json_error_t jerr;
	char rule[1024];

	snprintf(rule, sizeof(rule), "{\"match\":\"debian-*\",\"keys\":[\"%s\",\"%s\"]%s}", key_id(k1),
		 key_id(k2), extra_rule);
	root = json_pack("{s:i, s:b, s:[{s:s, s:s, s:[s], s:s}, {s:s, s:s, s:[s]}]}", "version", 1,
			 "enforce", 1, "keys", "id", key_id(k1), "public_key", pem1, "usage", "template",
			 "status", status, "id", key_id(k2), "public_key", pem2, "usage", "template");
	json_object_set_new(root, "templates", json_pack("[o]", json_loads(rule, 0, &jerr)));
	if (extra_top) {
		json_t *x = json_loads(extra_top, 0, &jerr);

		json_object_update(root, x);
		json_decref(x);
	}
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	free(pem1);
	free(pem2);
	return s;
}

static void test_parse_ok_and_defaults(void)
{
	char *j = policy_json("active", "", NULL);
	struct policy *p = NULL;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &p, &err), 0);
	CU_ASSERT_EQUAL(p->nkeys, 2);
	CU_ASSERT_EQUAL(p->templates[0].threshold, 1);
	CU_ASSERT_EQUAL(p->gateway.max_skew_s, 300);
	CU_ASSERT_EQUAL(p->enforce, 1);
	CU_ASSERT_PTR_NOT_NULL(policy_match_template(p, "debian-12"));
	CU_ASSERT_PTR_NULL(policy_match_template(p, "ubuntu-24"));
	CU_ASSERT_PTR_NULL(policy_match_template(p, "xdebian-12"));
	CU_ASSERT_EQUAL(strlen(p->digest), 64);
	policy_free(p);
	free(j);
}

static void test_parse_rejects(void)
{
	static const struct { const char *rule, *top, *want; } cases[] = {
		{",\"threshold\":3", NULL, "threshold must be an integer in [1, 2]"},
		{",\"threshold\":0", NULL, "threshold"},
		{",\"threshhold\":1", NULL, "unknown field \"threshhold\""},
		{",\"min_version\":\"3\"", NULL, "min_version"},
		{"", "{\"enforce\":\"no\"}", "enforce is not true or false"},
		{"", "{\"version\":0}", "version"},
		{"", "{\"revoked_digests\":[\"ABC\"]}", "revoked_digests[0]"},
		{"", "{\"gateway\":{\"max_skew_s\":-1}}", "max_skew_s"},
		{"", "{\"audit_log\":\"relative\"}", "absolute path"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *j = policy_json("active", cases[i].rule, cases[i].top);
		struct policy *p = NULL;
		struct vs_error err = {0};

		CU_ASSERT_EQUAL(policy_parse(j, strlen(j), "p", &p, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, cases[i].want));
		if (!strstr(err.reason, cases[i].want))
			fprintf(stderr, "case %zu: got \"%s\"\n", i, err.reason);
		free(j);
	}
	{
		struct policy *p = NULL;
		struct vs_error err = {0};
		const char *dup = "{\"version\":1,\"version\":2}";

		CU_ASSERT_EQUAL(policy_parse(dup, strlen(dup), "p", &p, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "duplicate"));
	}
}

static void test_key_check(void)
{
	struct policy_key k = {.usage = USAGE_TEMPLATE, .status = KEY_STATUS_ACTIVE};
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 0, 1000, &err), 0);
	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_ADMIN, 1, 1000, &err), -1);
	k.status = KEY_STATUS_RETIRED;
	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 1, 1000, &err), 0);
	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 0, 1000, &err), -1);
	k.status = KEY_STATUS_REVOKED;
	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 1, 1000, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.reason, "key revoked");
	k.status = KEY_STATUS_ACTIVE;
	k.not_before = 2000;
	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 1, 1999, &err), -1);
	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 1, 2000, &err), 0);
	k.not_after = 3000;
	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 1, 3001, &err), -1);
}

/* Signs an in-memory image with the given keys and evaluates it. */
static enum decision eval(const char *policy, const uint8_t *img, size_t len, struct vs_key **signers,
			  int nsigners, int64_t version, char *why, size_t whylen)
{
	struct statement st = {0};
	struct dsse_envelope *env = NULL;
	struct image_verdict v;
	struct policy *p = NULL;
	struct vs_error err = {0};
	char path[256], *payload, *json;
	size_t plen;
	uint8_t root[32];
	int fd;

	snprintf(path, sizeof(path), "%s/img", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && write(fd, img, len) == (ssize_t)len);
	merkle_root_mem(img, len, root);
	strcpy(st.subject_name, "img");
	hex_encode(root, 32, st.digest);
	strcpy(st.template_name, "debian-12");
	st.template_version = version;
	strcpy(st.format, "raw");
	st.size = len;
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = 1000;
	payload = statement_encode(&st, &plen);
	CU_ASSERT_EQUAL_FATAL(dsse_sign(DSSE_INTOTO_TYPE, (uint8_t *)payload, plen, signers[0], &env, &err), 0);
	for (int i = 1; i < nsigners; i++)
		CU_ASSERT_EQUAL(dsse_append(env, signers[i], &err), 0);
	json = dsse_encode(env);
	CU_ASSERT_EQUAL_FATAL(policy_parse(policy, strlen(policy), "p", &p, &err), 0);
	CU_ASSERT_EQUAL(policy_eval_image(p, fd, "img", json, strlen(json), 2000, &v, &err), 0);
	snprintf(why, whylen, "%s", v.why.reason);
	close(fd);
	free(json);
	free(payload);
	dsse_free(env);
	policy_free(p);
	return v.decision;
}

static void test_eval(void)
{
	static uint8_t img[5000];
	struct vs_key *both[] = {k1, k2}, *one[] = {k2};
	char why[512], *j;

	memset(img, 7, sizeof(img));
	j = policy_json("active", ",\"threshold\":2", NULL);
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), both, 2, 3, why, sizeof(why)), DECISION_ALLOW);
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), one, 1, 3, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "1 of 2 required signatures valid"));
	free(j);
	j = policy_json("revoked", ",\"threshold\":2", NULL);
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), both, 2, 3, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "key revoked"));
	free(j);
	j = policy_json("revoked", ",\"threshold\":2", "{\"enforce\":false}");
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), both, 2, 3, why, sizeof(why)), DECISION_ALLOW_AUDIT_ONLY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "key revoked"));
	free(j);
	j = policy_json("active", ",\"min_version\":4", NULL);
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), both, 2, 3, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "below the policy's min_version 4"));
	free(j);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"parse and defaults", test_parse_ok_and_defaults},
		{"parse rejects bad policies", test_parse_rejects},
		{"key status, usage and validity window", test_key_check},
		{"image decision: threshold, revocation, audit-only, min_version", test_eval},
		{NULL, NULL},
	};
	struct vs_error err = {0};

	if (key_generate(KEY_ALG_ED25519, 1, &k1, &err) < 0 || key_generate(KEY_ALG_P256, 1, &k2, &err) < 0)
		return 2;
	return run_suite("policy", cases);
}
