/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's decision on who may call a route: admin keys of the policy, the route's roles,
 * and quorums that count distinct owners (a person once, whatever number of keys they hold). */
#ifndef VMSEAL_POLICY_GATEWAY_H
#define VMSEAL_POLICY_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "policy.h"

/* Which of the policy's gateway quorums a route needs. */
enum policy_quorum { POLICY_QUORUM_NONE = 0, POLICY_QUORUM_DESTROY, POLICY_QUORUM_DELETE };

/* The signatures route q needs: the policy's gateway.quorum.destroy or .delete, at least 1. */
unsigned policy_quorum_needed(const struct policy *p, enum policy_quorum q);

/* May the key named keyid sign calls to the gateway at now? It must be a key of the policy with
 * usage admin, neither retired nor revoked, within its validity window. 0 with *out set; -1
 * (VS_ERR_DENIED, object "keyid") otherwise. */
int policy_admin_key(const struct policy *p, const char *keyid, int64_t now,
		     const struct policy_key **out, struct vs_error *err);

/* The one rule by which every gateway quorum counts (policy_call_check, policy_sign_check):
 * the distinct owners among keys[0..n) that hold one of roles (a role bit set). A key given
 * twice, or two keys of one owner, count once; a NULL key, or one without any of roles, counts
 * for nothing, whatever else the policy says about it. */
size_t policy_owners_with_role(const struct policy_key *const *keys, size_t n, unsigned roles);

enum policy_call_verdict {
	POLICY_CALL_ALLOW = 0,
	POLICY_CALL_NO_ROLE,    /* no signer holds one of the route's roles (403 forbidden) */
	POLICY_CALL_NO_QUORUM,  /* fewer distinct owners with a role than the quorum (403) */
};

/* The role and quorum check of one call signed by the verified keys[0..n) (each already
 * passed policy_admin_key): the distinct owners among the keys holding one of roles (a role
 * bit set) are counted into *with_role, and must be at least *need = policy_quorum_needed(p,
 * q). A key given twice, or two keys of one owner, count once. */
enum policy_call_verdict policy_call_check(const struct policy *p, const struct policy_key *const *keys,
					   size_t n, unsigned roles, enum policy_quorum q,
					   size_t *with_role, unsigned *need);

#endif
