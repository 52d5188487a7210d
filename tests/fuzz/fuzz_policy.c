/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for policy_parse, then the lookups the hook and gateway make on a policy. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	struct vs_error err = {0};

	if (policy_parse((const char *)data, size, "fuzz", &p, &err) < 0) {
		if (p || err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (p->nkeys > VS_MAX_POLICY_KEYS || p->ntemplates > VS_MAX_POLICY_TEMPLATES ||
	    p->nrevoked > VS_MAX_REVOKED_DIGESTS || strlen(p->digest) != 64)
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
