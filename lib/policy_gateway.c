/* SPDX-License-Identifier: Apache-2.0 */
/* Who may call a gateway route: admin keys, roles per route, quorums of distinct owners. */
#include "policy_gateway.h"

#include <string.h>

unsigned policy_quorum_needed(const struct policy *p, enum policy_quorum q)
{
	unsigned n = 1;

	if (q == POLICY_QUORUM_DESTROY)
		n = p->gateway.quorum_destroy;
	else if (q == POLICY_QUORUM_DELETE)
		n = p->gateway.quorum_delete;
	return n ? n : 1;
}

int policy_admin_key(const struct policy *p, const char *keyid, int64_t now,
		     const struct policy_key **out, struct vs_error *err)
{
	const struct policy_key *k = policy_find_key(p, keyid);

	*out = NULL;
	if (!k)
		return vs_fail(err, VS_ERR_DENIED, "keyid", "unknown key \"%.64s\"", keyid);
	if (!(k->usage & USAGE_ADMIN))
		return vs_fail(err, VS_ERR_DENIED, "keyid", "key %.16s is not an admin key", keyid);
	if (policy_key_check(k, USAGE_ADMIN, 0, now, err) < 0)
		return -1;
	*out = k;
	return 0;
}

size_t policy_owners_with_role(const struct policy_key *const *keys, size_t n, unsigned roles)
{
	const char *owners[VS_MAX_SIGNATURES];
	size_t nowners = 0;

	for (size_t i = 0; i < n; i++) {
		const char *owner;
		size_t j;

		if (!keys[i] || !(keys[i]->roles & roles))
			continue;
		owner = policy_key_owner(keys[i]);
		for (j = 0; j < nowners && strcmp(owners[j], owner); j++)
			;
		if (j == nowners && nowners < VS_MAX_SIGNATURES)
			owners[nowners++] = owner;
	}
	return nowners;
}

enum policy_call_verdict policy_call_check(const struct policy *p, const struct policy_key *const *keys,
					   size_t n, unsigned roles, enum policy_quorum q,
					   size_t *with_role, unsigned *need)
{
	*with_role = policy_owners_with_role(keys, n, roles);
	*need = policy_quorum_needed(p, q);
	if (*with_role == 0)
		return POLICY_CALL_NO_ROLE;
	if (*with_role < *need)
		return POLICY_CALL_NO_QUORUM;
	return POLICY_CALL_ALLOW;
}
