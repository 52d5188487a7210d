/* SPDX-License-Identifier: Apache-2.0 */
/* The policy's "boot" section (pinned boot-file digests and boot-file rules): parser only;
 * bootfile.h decides. Internal to lib/: policy_parse calls it. */
#ifndef VMSEAL_POLICY_BOOT_H
#define VMSEAL_POLICY_BOOT_H

#include <jansson.h>

#include "error.h"
#include "policy.h"

/* Parses o (NULL: no boot section) into p->boot; p's keys must already be parsed. Unknown
 * fields, unknown kinds, keys not in the policy, malformed digests are refused. */
int policy_boot_parse(json_t *o, struct policy *p, const char *object, struct vs_error *err);

/* Parses a rule's "keys": a non-empty array of distinct keyids of p (shared by template and boot
 * rules). *keys is malloc'd (free it even on failure), *nkeys counts those parsed. */
int policy_parse_keyids(json_t *v, const struct policy *p, const char *where, const char *object,
			char (**keys)[KEY_ID_HEX_LEN + 1], size_t *nkeys, struct vs_error *err);

/* Frees what policy_boot_parse allocated; b may be partly filled. */
void policy_boot_free(struct policy_boot *b);

#endif
