/* SPDX-License-Identifier: Apache-2.0 */
/* The policy's bounds on POST /v1/sign (gateway.signers): which key may have what signed.
 * Internal to lib/ for parsing (policy_parse calls it); policy_sign_check decides. */
#ifndef VMSEAL_POLICY_SIGN_H
#define VMSEAL_POLICY_SIGN_H

#include <jansson.h>

#include "error.h"
#include "policy.h"

/* Parses gateway.signers (NULL: none, so no key may have anything signed): an array of
 * {"key": KEYID of the policy, "templates": [GLOB, ...], "max_validity_s": N, "max_version": N,
 * "quorum": 1..4 (default 1)}; one entry per key, unknown fields refused. */
int policy_signers_parse(json_t *v, struct policy *p, const char *object, struct vs_error *err);

/* Frees what policy_signers_parse allocated; s may be partly filled. */
void policy_signers_free(struct policy_signers *s);

#endif
