/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/policy_gateway.c: who may call a gateway route. Unknown, non-admin,
 * retired, revoked and expired keys refused; a route's roles; quorums count distinct owners
 * (one key twice, or two keys of one owner, are one signature). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "common_cunit.h"
#include "lib/policy.h"
#include "lib/policy_gateway.h"

#define NOW 2000000000

enum { ALICE1, ALICE2, BOB, CAROL_RETIRED, DAVE_REVOKED, OP, TMPL, EXPIRED, NKEYS };
static struct vs_key *keys[NKEYS];
static struct policy *pol;

static json_t *key_entry(int i, const char *owner, const char *usage, const char *role,
			 const char *status)
{
	char *pem = key_public_pem(keys[i]);
	json_t *o = json_pack("{s:s, s:s, s:[s]}", "id", key_id(keys[i]), "public_key", pem, "usage", usage);

	if (owner)
		json_object_set_new(o, "owner", json_string(owner));
	if (role)
		json_object_set_new(o, "roles", json_pack("[s]", role));
	if (status)
		json_object_set_new(o, "status", json_string(status));
	free(pem);
	return o;
}

static struct policy *mkpolicy(void)
{
	json_t *root = json_pack("{s:i, s:[], s:{s:{s:i, s:i}}}", "version", 1, "templates",
				 "gateway", "quorum", "destroy", 2, "delete", 3);
	json_t *ks = json_array(), *e;
	struct policy *p = NULL;
	struct vs_error err = {0};
	char *s;

	json_array_append_new(ks, key_entry(ALICE1, "alice", "admin", "admin", NULL));
	json_array_append_new(ks, key_entry(ALICE2, "alice", "admin", "admin", NULL));
	json_array_append_new(ks, key_entry(BOB, "bob", "admin", "admin", NULL));
	e = key_entry(CAROL_RETIRED, "carol", "admin", "admin", "retired");
	json_object_set_new(e, "retired_at", json_string("2030-01-01T00:00:00Z"));
	json_array_append_new(ks, e);
	json_array_append_new(ks, key_entry(DAVE_REVOKED, "dave", "admin", "admin", "revoked"));
	json_array_append_new(ks, key_entry(OP, "erin", "admin", "operator", NULL));
	json_array_append_new(ks, key_entry(TMPL, "frank", "template", NULL, NULL));
	e = key_entry(EXPIRED, "gina", "admin", "admin", NULL);
	json_object_set_new(e, "not_after", json_string("2030-01-01T00:00:00Z"));
	json_array_append_new(ks, e);
	json_object_set_new(root, "keys", ks);
	s = json_dumps(root, JSON_COMPACT);
	if (policy_parse(s, strlen(s), "policy", &p, &err) < 0)
		fprintf(stderr, "policy: %s: %s\n", err.object, err.reason);
	json_decref(root);
	free(s);
	return p;
}

static const struct policy_key *pk(int i)
{
	return policy_find_key(pol, key_id(keys[i]));
}

static void test_admin_key(void)
{
	const struct policy_key *k;
	struct vs_error err = {0};
	static const struct { int key; const char *want; } refused[] = {
		{TMPL, "is not an admin key"},
		{CAROL_RETIRED, "retired"},
		{DAVE_REVOKED, "revoked"},
		{EXPIRED, "expired"},
	};

	CU_ASSERT_EQUAL(policy_admin_key(pol, key_id(keys[ALICE1]), NOW, &k, &err), 0);
	CU_ASSERT_PTR_EQUAL(k, pk(ALICE1));
	CU_ASSERT_EQUAL(policy_admin_key(pol, "00ff", NOW, &k, &err), -1);
	CU_ASSERT_PTR_NULL(k);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "unknown key"));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		vs_error_clear(&err);
		CU_ASSERT_EQUAL(policy_admin_key(pol, key_id(keys[refused[i].key]), NOW, &k, &err), -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, refused[i].want));
		if (!strstr(err.reason, refused[i].want))
			fprintf(stderr, "  case %zu: got \"%s\"\n", i, err.reason);
	}
}

static void test_roles_and_quorum(void)
{
	static const struct {
		int keys[4];
		size_t n;
		unsigned roles;
		enum policy_quorum q;
		enum policy_call_verdict want;
		size_t with_role;
	} cases[] = {
		{{ALICE1}, 1, ROLE_ADMIN, POLICY_QUORUM_NONE, POLICY_CALL_ALLOW, 1},
		{{OP}, 1, ROLE_VIEWER | ROLE_OPERATOR, POLICY_QUORUM_NONE, POLICY_CALL_ALLOW, 1},
		/* roles per route: an operator key on an admin route, an admin key on an operator one */
		{{OP}, 1, ROLE_ADMIN, POLICY_QUORUM_DESTROY, POLICY_CALL_NO_ROLE, 0},
		{{ALICE1}, 1, ROLE_OPERATOR, POLICY_QUORUM_NONE, POLICY_CALL_NO_ROLE, 0},
		{{ALICE1}, 1, ROLE_SSH, POLICY_QUORUM_NONE, POLICY_CALL_NO_ROLE, 0},
		/* quorum of 2 for destroy */
		{{ALICE1}, 1, ROLE_ADMIN, POLICY_QUORUM_DESTROY, POLICY_CALL_NO_QUORUM, 1},
		{{ALICE1, ALICE1}, 2, ROLE_ADMIN, POLICY_QUORUM_DESTROY, POLICY_CALL_NO_QUORUM, 1},
		{{ALICE1, ALICE2}, 2, ROLE_ADMIN, POLICY_QUORUM_DESTROY, POLICY_CALL_NO_QUORUM, 1},
		{{ALICE1, OP}, 2, ROLE_ADMIN, POLICY_QUORUM_DESTROY, POLICY_CALL_NO_QUORUM, 1},
		{{ALICE1, BOB}, 2, ROLE_ADMIN, POLICY_QUORUM_DESTROY, POLICY_CALL_ALLOW, 2},
		{{ALICE2, ALICE1, BOB}, 3, ROLE_ADMIN, POLICY_QUORUM_DESTROY, POLICY_CALL_ALLOW, 2},
		/* quorum of 3 for delete */
		{{ALICE1, ALICE2, BOB}, 3, ROLE_ADMIN, POLICY_QUORUM_DELETE, POLICY_CALL_NO_QUORUM, 2},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct policy_key *ks[4];
		size_t with_role = 99;
		unsigned need = 0;
		enum policy_call_verdict got;

		for (size_t j = 0; j < cases[i].n; j++)
			ks[j] = pk(cases[i].keys[j]);
		got = policy_call_check(pol, ks, cases[i].n, cases[i].roles, cases[i].q, &with_role, &need);
		CU_ASSERT_EQUAL(got, cases[i].want);
		CU_ASSERT_EQUAL(with_role, cases[i].with_role);
		if (got != cases[i].want || with_role != cases[i].with_role)
			fprintf(stderr, "  case %zu: verdict %d with_role %zu\n", i, got, with_role);
	}
	CU_ASSERT_EQUAL(policy_quorum_needed(pol, POLICY_QUORUM_NONE), 1);
	CU_ASSERT_EQUAL(policy_quorum_needed(pol, POLICY_QUORUM_DESTROY), 2);
	CU_ASSERT_EQUAL(policy_quorum_needed(pol, POLICY_QUORUM_DELETE), 3);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"admin keys: unknown, not admin, retired, revoked, expired refused", test_admin_key},
		{"roles per route; quorums count distinct owners", test_roles_and_quorum},
		{NULL, NULL},
	};
	struct vs_error err = {0};
	int rc;

	for (int i = 0; i < NKEYS; i++)
		if (key_generate(KEY_ALG_ED25519, 1, &keys[i], &err) < 0)
			return 2;
	pol = mkpolicy();
	if (!pol)
		return 2;
	rc = run_suite("policy_gateway", cases);
	policy_free(pol);
	for (int i = 0; i < NKEYS; i++)
		key_free(keys[i]);
	return rc;
}
