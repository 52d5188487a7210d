/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for policy_parse (full, and with lazy keys: the two must agree), then the
 * lookups the hook and gateway make on a policy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct vs_error err = {0};

	struct policy *lazy = NULL;
	struct vs_error lerr = {0};
	int full_ok = policy_parse((const char *)data, size, "fuzz", &p, &err) == 0;
	int lazy_ok = policy_parse_opts((const char *)data, size, "fuzz", POLICY_LAZY_KEYS, &lazy, &lerr) == 0;

	/* lazy keys accept what the full parse accepts, and with every key decoded
	 * (policy_check_keys) nothing more */
	if ((!lazy_ok && (lazy || lerr.reason[0] == '\0')) ||
	    (lazy_ok && (policy_check_keys(lazy, &lerr) == 0) != full_ok) || (full_ok && !lazy_ok))
		abort();
	policy_free(lazy);
	if (!full_ok) {
		if (p || err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (p->nkeys > VS_MAX_POLICY_KEYS || p->ntemplates > VS_MAX_POLICY_TEMPLATES ||
	    p->nrevoked > VS_MAX_REVOKED_DIGESTS || strlen(policy_digest(p)) != 64)
		abort();
	for (size_t i = 0; i < p->nkeys; i++) {
		const struct policy_key *k = &p->keys[i];
		struct vs_error kerr = {0};

		if (policy_find_key(p, k->id) == NULL || !k->key)
			abort();
		(void)policy_key_check(k, USAGE_TEMPLATE, 1, 1790000000, &kerr);
	}
	for (size_t i = 0; i < p->ntemplates; i++) {
		const struct policy_template *t = &p->templates[i];

		/* every rule's own glob is matched by some rule (itself or an earlier one) */
		if (!strchr(t->match, '[') && !strchr(t->match, '\\') && !policy_match_template(p, t->match))
			abort();
	}
	for (size_t i = 0; i < p->nrevoked; i++)
		if (!policy_digest_revoked(p, p->revoked[i]))
			abort();
	(void)policy_match_template(p, "debian-12");
	(void)policy_digest_revoked(p, "0000000000000000000000000000000000000000000000000000000000000000");
	policy_free(p);
	return 0;
}
