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
#include "lib/policy_gateway.h"
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
	CU_ASSERT_EQUAL(p->gateway.max_future_skew_s, 2);
	CU_ASSERT_EQUAL(p->gateway.max_claims_per_key, 262144);
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
		{"", "{\"allow_san_disks\":1}", "allow_san_disks is not true or false"},
		{"", "{\"version\":0}", "version"},
		{"", "{\"revoked_digests\":[\"ABC\"]}", "revoked_digests[0]"},
		{"", "{\"gateway\":{\"max_skew_s\":-1}}", "max_skew_s"},
		{"", "{\"gateway\":{\"max_future_skew_s\":0}}", "max_future_skew_s must be an integer in [1, 60]"},
		{"", "{\"gateway\":{\"max_future_skew_s\":61}}", "max_future_skew_s"},
		{"", "{\"gateway\":{\"max_claims_per_key\":0}}", "max_claims_per_key"},
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

struct eval_opts {
	const char *template_name; /* default "debian-12" */
	int64_t signed_at;         /* default 1000 */
	const char *digest;        /* replaces the Statement's digest when set */
	int allow_overlay;         /* out */
	unsigned valid;            /* out */
};

/* Signs an in-memory image with the given keys and evaluates it at time 2000. */
static enum decision eval_ex(const char *policy, const uint8_t *img, size_t len, struct vs_key **signers,
			     int nsigners, int64_t version, struct eval_opts *o, char *why, size_t whylen)
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
	if (o && o->digest)
		snprintf(st.digest, sizeof(st.digest), "%s", o->digest);
	snprintf(st.template_name, sizeof(st.template_name), "%s",
		 o && o->template_name ? o->template_name : "debian-12");
	st.template_version = version;
	strcpy(st.format, "raw");
	st.size = len;
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = o && o->signed_at ? o->signed_at : 1000;
	payload = statement_encode(&st, &plen);
	CU_ASSERT_EQUAL_FATAL(dsse_sign(DSSE_INTOTO_TYPE, (uint8_t *)payload, plen, signers[0], &env, &err), 0);
	for (int i = 1; i < nsigners; i++)
		CU_ASSERT_EQUAL(dsse_append(env, signers[i], &err), 0);
	json = dsse_encode(env);
	CU_ASSERT_EQUAL_FATAL(policy_parse(policy, strlen(policy), "p", &p, &err), 0);
	CU_ASSERT_EQUAL(policy_eval_image(p, fd, "img", json, strlen(json), 2000, &v, &err), 0);
	snprintf(why, whylen, "%s", v.why.reason);
	if (o) {
		o->allow_overlay = v.allow_overlay;
		o->valid = v.valid;
	}
	close(fd);
	free(json);
	free(payload);
	dsse_free(env);
	policy_free(p);
	return v.decision;
}

static enum decision eval(const char *policy, const uint8_t *img, size_t len, struct vs_key **signers,
			  int nsigners, int64_t version, char *why, size_t whylen)
{
	return eval_ex(policy, img, len, signers, nsigners, version, NULL, why, whylen);
}

/* A policy from a template where K1/K2 stand for the two keys' ids and P1/P2 for their PEMs
 * (JSON-escaped), so each test writes the policy it means. */
static char *policy_from(const char *tmpl)
{
	char *pem[2] = {key_public_pem(k1), key_public_pem(k2)}, *esc[2], *out;
	const char *ids[2] = {key_id(k1), key_id(k2)};
	size_t cap = strlen(tmpl) * 4 + 4096, n = 0;

	for (int i = 0; i < 2; i++) {
		json_t *j = json_string(pem[i]);
		char *d = json_dumps(j, JSON_ENCODE_ANY);

		d[strlen(d) - 1] = '\0'; /* drop the quotes: the template has its own */
		esc[i] = strdup(d + 1);
		free(d);
		json_decref(j);
	}
	out = malloc(cap);
	for (const char *t = tmpl; *t; t++) {
		if ((t[0] == 'K' || t[0] == 'P') && (t[1] == '1' || t[1] == '2')) {
			const char *r = t[0] == 'K' ? ids[t[1] - '1'] : esc[t[1] - '1'];

			n += (size_t)snprintf(out + n, cap - n, "%s", r);
			t++;
			continue;
		}
		out[n++] = *t;
	}
	out[n] = '\0';
	for (int i = 0; i < 2; i++) {
		free(pem[i]);
		free(esc[i]);
	}
	return out;
}

#define KEYS2(extra1, extra2)                                                                     \
	"\"keys\":[{\"id\":\"K1\",\"public_key\":\"P1\",\"usage\":[\"template\"]" extra1 "},"      \
	"{\"id\":\"K2\",\"public_key\":\"P2\",\"usage\":[\"template\"]" extra2 "}]"

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

/* #14 item 7: a broad rule listed first used to win alone ("first match"): k2 by itself got
 * debian-12 through although the narrow rule needs both keys. Every matching rule must hold. */
static void test_every_matching_rule(void)
{
	static uint8_t img[3000];
	struct vs_key *one[] = {k2}, *both[] = {k1, k2};
	struct eval_opts o = {0};
	char why[512], *j;

	memset(img, 3, sizeof(img));
	j = policy_from("{\"version\":1," KEYS2("", "") ",\"templates\":["
			"{\"match\":\"*\",\"keys\":[\"K2\"],\"threshold\":1,\"allow_overlay\":true},"
			"{\"match\":\"debian-*\",\"keys\":[\"K1\",\"K2\"],\"threshold\":2}]}");
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), one, 1, 1, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "rule \"debian-*\": 1 of 2 required signatures valid"));
	CU_ASSERT_EQUAL(eval_ex(j, img, sizeof(img), both, 2, 1, &o, why, sizeof(why)), DECISION_ALLOW);
	/* the narrow rule does not allow overlays: the broad one cannot lift that */
	CU_ASSERT_EQUAL(o.allow_overlay, 0);
	CU_ASSERT_EQUAL(o.valid, 2);
	o = (struct eval_opts){.template_name = "ubuntu-24"};
	CU_ASSERT_EQUAL(eval_ex(j, img, sizeof(img), one, 1, 1, &o, why, sizeof(why)), DECISION_ALLOW);
	CU_ASSERT_EQUAL(o.allow_overlay, 1);
	free(j);
	/* min_version of a later matching rule holds too */
	j = policy_from("{\"version\":1," KEYS2("", "") ",\"templates\":["
			"{\"match\":\"*\",\"keys\":[\"K1\",\"K2\"]},"
			"{\"match\":\"debian-*\",\"keys\":[\"K1\",\"K2\"],\"min_version\":5}]}");
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), both, 2, 4, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "below the policy's min_version 5"));
	free(j);
}

/* #14 item 5: one owner's two keys (a rotated key and its predecessor) are one signature. */
static void test_threshold_counts_owners(void)
{
	static uint8_t img[3000];
	struct vs_key *both[] = {k1, k2};
	struct eval_opts o = {0};
	char why[512], *j;

	memset(img, 4, sizeof(img));
	j = policy_from("{\"version\":1," KEYS2(",\"owner\":\"pipeline\"", ",\"owner\":\"pipeline\"")
			",\"templates\":[{\"match\":\"debian-*\",\"keys\":[\"K1\",\"K2\"],\"threshold\":2}]}");
	CU_ASSERT_EQUAL(eval_ex(j, img, sizeof(img), both, 2, 1, &o, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_EQUAL(o.valid, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "1 of 2 required signatures valid"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "same owner as an earlier signature"));
	free(j);
	j = policy_from("{\"version\":1," KEYS2(",\"owner\":\"pipeline\"", ",\"owner\":\"release\"")
			",\"templates\":[{\"match\":\"debian-*\",\"keys\":[\"K1\",\"K2\"],\"threshold\":2}]}");
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), both, 2, 1, why, sizeof(why)), DECISION_ALLOW);
	free(j);
}

/* #14 item 5: a retired key verifies only what claims to be signed before retired_at. */
static void test_retired_at(void)
{
	static uint8_t img[3000];
	struct vs_key *one[] = {k1};
	struct eval_opts o = {.signed_at = 1500};
	char why[512], *j;
	struct policy *p = NULL;
	struct vs_error err = {0};

	memset(img, 5, sizeof(img));
	j = policy_from("{\"version\":1," KEYS2(",\"status\":\"retired\",\"retired_at\":\"1970-01-01T00:20:00Z\"", "")
			",\"templates\":[{\"match\":\"debian-*\",\"keys\":[\"K1\",\"K2\"]}]}");
	CU_ASSERT_EQUAL(eval_ex(j, img, sizeof(img), one, 1, 1, &o, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "key retired at 1970-01-01T00:20:00Z, signedAt 1970-01-01T00:25:00Z is later"));
	o.signed_at = 1199;
	CU_ASSERT_EQUAL(eval_ex(j, img, sizeof(img), one, 1, 1, &o, why, sizeof(why)), DECISION_ALLOW);
	free(j);
	j = policy_from("{\"version\":1," KEYS2(",\"retired_at\":\"2026-01-01T00:00:00Z\"", "") "}");
	CU_ASSERT_EQUAL(policy_parse(j, strlen(j), "p", &p, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "retired_at is set but status is \"active\""));
	free(j);
}

/* #14 item 13: a key with only not_after, in the past, verifies nothing. */
static void test_not_after_only(void)
{
	static uint8_t img[3000];
	struct vs_key *one[] = {k1};
	struct policy_key k = {.usage = USAGE_TEMPLATE, .not_after = 1999};
	struct vs_error err = {0};
	char why[512], *j;

	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 1, 2000, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "key expired at"));
	k.not_after = 2000;
	CU_ASSERT_EQUAL(policy_key_check(&k, USAGE_TEMPLATE, 1, 2000, &err), 0);
	memset(img, 6, sizeof(img));
	j = policy_from("{\"version\":1," KEYS2(",\"not_after\":\"1970-01-01T00:30:00Z\"", "")
			",\"templates\":[{\"match\":\"debian-*\",\"keys\":[\"K1\"]}]}");
	CU_ASSERT_EQUAL(eval(j, img, sizeof(img), one, 1, 1, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "key expired at 1970-01-01T00:30:00Z"));
	free(j);
}

/* #14 item 13: the digest must match in all 64 hex digits, not a prefix; and a policy without
 * "enforce" enforces (denies, not audit-only). */
static void test_digest_all_digits_and_default_enforce(void)
{
	static uint8_t img[3000];
	struct vs_key *one[] = {k1};
	struct eval_opts o = {0};
	uint8_t root[32];
	char why[512], hex[65], *j;

	memset(img, 8, sizeof(img));
	merkle_root_mem(img, sizeof(img), root);
	hex_encode(root, 32, hex);
	hex[63] = hex[63] == '0' ? '1' : '0';
	o.digest = hex;
	j = policy_from("{\"version\":1," KEYS2("", "") ",\"templates\":[{\"match\":\"debian-*\",\"keys\":[\"K1\"]}]}");
	CU_ASSERT_EQUAL(eval_ex(j, img, sizeof(img), one, 1, 1, &o, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "digest mismatch"));
	hex[20] = hex[20] == 'a' ? 'b' : 'a';
	CU_ASSERT_EQUAL(eval_ex(j, img, sizeof(img), one, 1, 1, &o, why, sizeof(why)), DECISION_DENY);
	o.digest = NULL;
	CU_ASSERT_EQUAL(eval_ex(j, img, sizeof(img), one, 1, 1, &o, why, sizeof(why)), DECISION_ALLOW);
	free(j);
}

/* Evaluates a raw payload, validly signed by k1 with payload type type. */
static enum decision eval_payload(const char *type, const char *payload, char *why, size_t whylen)
{
	static uint8_t img[3000];
	struct dsse_envelope *env = NULL;
	struct image_verdict v;
	struct policy *p = NULL;
	struct vs_error err = {0};
	char path[256], *json, *pol;
	int fd;

	memset(img, 9, sizeof(img));
	snprintf(path, sizeof(path), "%s/img2", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0 && write(fd, img, sizeof(img)) == (ssize_t)sizeof(img));
	CU_ASSERT_EQUAL_FATAL(dsse_sign(type, (const uint8_t *)payload, strlen(payload), k1, &env, &err), 0);
	CU_ASSERT_EQUAL(dsse_verify_sig(env, 0, k1), 0);
	CU_ASSERT_EQUAL(dsse_verify_sig(env, 0, k2), -1); /* exactly -1: callers test "< 0" */
	json = dsse_encode(env);
	pol = policy_from("{\"version\":1," KEYS2("", "") ",\"templates\":[{\"match\":\"*\",\"keys\":[\"K1\"]}]}");
	CU_ASSERT_EQUAL_FATAL(policy_parse(pol, strlen(pol), "p", &p, &err), 0);
	CU_ASSERT_EQUAL(policy_eval_image(p, fd, "img2", json, strlen(json), 2000, &v, &err), 0);
	snprintf(why, whylen, "%s", v.why.reason);
	close(fd);
	free(json);
	free(pol);
	dsse_free(env);
	policy_free(p);
	return v.decision;
}

/* #14 item 13: a Statement with two well-formed subjects (which one would the digest be?), and
 * an envelope of another payload type that is validly signed (the type check itself must
 * refuse it, not a broken signature). */
static void test_statement_shape_and_type(void)
{
	static uint8_t img[3000];
	struct statement st = {0};
	char why[512], *payload, *two;
	size_t plen;
	uint8_t root[32];
	const char *subj;

	memset(img, 9, sizeof(img));
	merkle_root_mem(img, sizeof(img), root);
	strcpy(st.subject_name, "img2");
	hex_encode(root, 32, st.digest);
	strcpy(st.template_name, "debian-12");
	st.template_version = 1;
	strcpy(st.format, "raw");
	st.size = sizeof(img);
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = 1000;
	payload = statement_encode(&st, &plen);
	CU_ASSERT_EQUAL(eval_payload(DSSE_INTOTO_TYPE, payload, why, sizeof(why)), DECISION_ALLOW);
	CU_ASSERT_EQUAL(eval_payload("application/json", payload, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "payloadType \"application/json\""));
	/* the same subject twice over: both well formed */
	subj = strstr(payload, "\"subject\":[");
	CU_ASSERT_PTR_NOT_NULL_FATAL(subj);
	{
		const char *open = subj + strlen("\"subject\":["), *close = strstr(open, "}}]");
		size_t one = (size_t)(close - open) + 2, pre = (size_t)(open - payload);

		two = calloc(1, strlen(payload) + one + 2);
		memcpy(two, payload, pre + one);
		two[pre + one] = ',';
		memcpy(two + pre + one + 1, open, strlen(open));
	}
	CU_ASSERT_EQUAL(eval_payload(DSSE_INTOTO_TYPE, two, why, sizeof(why)), DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "exactly one subject"));
	if (!strstr(why, "exactly one subject"))
		fprintf(stderr, "two subjects: %s\n%s\n", why, two);
	free(two);
	free(payload);
}

/* #14 item 7: rules that can never apply are named. */
static void test_lint(void)
{
	static const struct { const char *tmpl, *want; } cases[] = {
		{",\"templates\":[{\"match\":\"a-*\",\"keys\":[\"K1\",\"K2\"],\"threshold\":2}]}", NULL},
		{",\"templates\":[{\"match\":\"a-*\",\"keys\":[\"K1\"]},{\"match\":\"a-*\",\"keys\":[\"K2\"]}]}",
		 "same match as templates[0]"},
		{",\"templates\":[{\"match\":\"a-*\",\"keys\":[\"K2\"]}]}", "none of its keys can sign templates"},
		{",\"templates\":[{\"match\":\"a-*\",\"keys\":[\"K1\",\"K2\"],\"threshold\":2}]}", "can never be met"},
	};
	static const char *const keys[] = {KEYS2("", ""), KEYS2("", ""),
					   KEYS2("", ",\"status\":\"revoked\""),
					   KEYS2(",\"owner\":\"x\"", ",\"owner\":\"x\"")};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char tmpl[2048], out[1024], *j;
		struct policy *p = NULL;
		struct vs_error err = {0};
		unsigned n;

		snprintf(tmpl, sizeof(tmpl), "{\"version\":1,%s%s", keys[i], cases[i].tmpl);
		j = policy_from(tmpl);
		CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &p, &err), 0);
		n = policy_lint(p, out, sizeof(out));
		CU_ASSERT_EQUAL(n, cases[i].want ? 1u : 0u);
		if (cases[i].want)
			CU_ASSERT_PTR_NOT_NULL(strstr(out, cases[i].want));
		policy_free(p);
		free(j);
	}
}

/* policy_json with roles[i] (a JSON array, or NULL for none) on key i. */
static char *policy_json_roles(const char *extra_top, const char *r1, const char *r2)
{
	char *j = policy_json("active", "", extra_top), *s;
	const char *roles[2] = {r1, r2};
	json_t *root = json_loads(j, 0, NULL);

	for (size_t i = 0; i < 2; i++)
		if (roles[i])
			json_object_set_new(json_array_get(json_object_get(root, "keys"), i), "roles",
					    json_loads(roles[i], 0, NULL));
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	free(j);
	return s;
}

/* Issue 15 item 5: POST /v1/sign is bounded per signer key. */
static void test_sign_bounds(void)
{
	char top[1024], *j;
	struct policy *p = NULL;
	struct vs_error err = {0};
	const struct policy_key *a[2], *b[1], *ab[2];

	snprintf(top, sizeof(top),
		 "{\"gateway\":{\"signers\":[{\"key\":\"%s\",\"templates\":[\"debian-*\",\"x\"],"
		 "\"max_validity_s\":100,\"max_version\":5},{\"key\":\"%s\",\"templates\":[\"debian-*\"],"
		 "\"max_validity_s\":100,\"max_version\":5,\"quorum\":2}]}}",
		 key_id(k1), key_id(k2));
	j = policy_json_roles(top, "[\"signer\"]", "[\"admin\"]");
	CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &p, &err), 0);
	free(j);
	a[0] = policy_find_key(p, key_id(k1));
	b[0] = policy_find_key(p, key_id(k2));
	ab[0] = a[0];
	ab[1] = b[0];
	CU_ASSERT_EQUAL(policy_sign_check(p, a, 1, "debian-12", 5, 100, &err), 0);
	CU_ASSERT_EQUAL(policy_sign_check(p, a, 1, "x", 0, 1, &err), 0);
	CU_ASSERT_EQUAL(policy_sign_check(p, a, 1, "ubuntu-24", 1, 1, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_EQUAL(policy_sign_check(p, a, 1, "debian-12", 6, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "max_version 5"));
	CU_ASSERT_EQUAL(policy_sign_check(p, a, 1, "debian-12", 1, 101, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "max_validity_s 100"));
	CU_ASSERT_EQUAL(policy_sign_check(p, b, 1, "debian-12", 1, 1, &err), -1); /* quorum 2 */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "distinct owners, got 1"));
	a[1] = a[0];
	CU_ASSERT_EQUAL(policy_sign_check(p, a, 2, "debian-12", 1, 1, &err), 0);  /* k1 asks none */
	CU_ASSERT_EQUAL(policy_sign_check(p, ab, 2, "debian-12", 1, 1, &err), 0);
	CU_ASSERT_EQUAL(policy_sign_check(p, ab, 2, "x", 1, 1, &err), -1);       /* k2: not x */
	CU_ASSERT_EQUAL(policy_sign_check(p, ab, 0, "x", 1, 1, &err), -1);
	policy_free(p);

	/* the attack: a key with an entry but without the signer (or admin) role makes up a
	 * quorum; it counts for nothing, and the refusal names it */
	j = policy_json_roles(top, "[\"viewer\"]", "[\"signer\"]");
	CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &p, &err), 0);
	free(j);
	ab[0] = policy_find_key(p, key_id(k1));
	ab[1] = policy_find_key(p, key_id(k2));
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(policy_sign_check(p, ab, 2, "debian-12", 1, 1, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "distinct owners, got 1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "neither the signer nor the admin role"));
	CU_ASSERT_EQUAL(strncmp(err.object, key_id(k1), 16), 0);
	{
		char want[32];

		snprintf(want, sizeof(want), "key %.16s", key_id(k1));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, want));
	}
	a[0] = ab[0];
	CU_ASSERT_EQUAL(policy_sign_check(p, a, 1, "x", 1, 1, &err), -1); /* alone: nothing */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "neither the signer nor the admin role"));
	/* the same quorum rule as every route: only role holders count */
	CU_ASSERT_EQUAL(policy_owners_with_role(ab, 2, POLICY_SIGN_ROLES), 1u);
	CU_ASSERT_EQUAL(policy_owners_with_role(ab, 2, ROLE_VIEWER | ROLE_SIGNER), 2u);
	policy_free(p);
	/* a key without roles but with an entry adds nothing to a quorum-1 signer: allowed */
	j = policy_json_roles(top, "[\"signer\"]", NULL);
	CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &p, &err), 0);
	free(j);
	ab[0] = policy_find_key(p, key_id(k1));
	ab[1] = policy_find_key(p, key_id(k2));
	CU_ASSERT_EQUAL(policy_sign_check(p, ab, 2, "x", 1, 1, &err), 0); /* k2's rule: no x, ignored */
	policy_free(p);

	/* a key without an entry signs nothing; bad entries are refused */
	j = policy_json_roles(NULL, "[\"signer\"]", NULL);
	CU_ASSERT_EQUAL_FATAL(policy_parse(j, strlen(j), "p", &p, &err), 0);
	free(j);
	a[0] = policy_find_key(p, key_id(k1));
	CU_ASSERT_EQUAL(policy_sign_check(p, a, 1, "debian-12", 1, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "no gateway.signers entry"));
	policy_free(p);
	{
		static const char *const bad[] = {
			"{\"key\":\"%s\",\"templates\":[\"d\"],\"max_validity_s\":1}",
			"{\"key\":\"%s\",\"templates\":[],\"max_validity_s\":1,\"max_version\":1}",
			"{\"key\":\"%s\",\"templates\":[\"d\"],\"max_validity_s\":1,\"max_version\":1,\"quorum\":5}",
			"{\"key\":\"%s\",\"templates\":[\"d\"],\"max_validity_s\":1,\"max_version\":1,\"x\":1}",
			"{\"key\":\"%s0\",\"templates\":[\"d\"],\"max_validity_s\":1,\"max_version\":1}",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char entry[512];

			snprintf(entry, sizeof(entry), bad[i], key_id(k1));
			snprintf(top, sizeof(top), "{\"gateway\":{\"signers\":[%s]}}", entry);
			j = policy_json("active", "", top);
			p = NULL;
			CU_ASSERT_EQUAL(policy_parse(j, strlen(j), "p", &p, &err), -1);
			policy_free(p);
			free(j);
		}
		snprintf(top, sizeof(top),
			 "{\"gateway\":{\"signers\":[{\"key\":\"%s\",\"templates\":[\"d\"],\"max_validity_s\":1,"
			 "\"max_version\":1},{\"key\":\"%s\",\"templates\":[\"d\"],\"max_validity_s\":1,"
			 "\"max_version\":1}]}}", key_id(k1), key_id(k1));
		j = policy_json("active", "", top);
		p = NULL;
		CU_ASSERT_EQUAL(policy_parse(j, strlen(j), "p", &p, &err), -1); /* one entry per key */
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "has an entry already"));
		policy_free(p);
		free(j);
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		{"parse and defaults", test_parse_ok_and_defaults},
		{"POST /v1/sign bounded per signer key", test_sign_bounds},
		{"parse rejects bad policies", test_parse_rejects},
		{"key status, usage and validity window", test_key_check},
		{"image decision: threshold, revocation, audit-only, min_version", test_eval},
		{"every matching template rule must hold", test_every_matching_rule},
		{"thresholds count distinct owners", test_threshold_counts_owners},
		{"retired_at refuses later signatures", test_retired_at},
		{"key with only not_after, in the past", test_not_after_only},
		{"digest compared in full; no enforce field enforces", test_digest_all_digits_and_default_enforce},
		{"policy_lint names rules that can never apply", test_lint},
		{"two subjects; a validly signed envelope of another type", test_statement_shape_and_type},
		{NULL, NULL},
	};
	struct vs_error err = {0};

	if (key_generate(KEY_ALG_ED25519, 1, &k1, &err) < 0 || key_generate(KEY_ALG_P256, 1, &k2, &err) < 0)
		return 2;
	return run_suite("policy", cases);
}
