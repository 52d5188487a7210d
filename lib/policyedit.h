/* SPDX-License-Identifier: Apache-2.0 */
/* Policy edits for the key lifecycle (rotate, revoke), applied atomically with a .bak kept. */
#ifndef VMSEAL_POLICYEDIT_H
#define VMSEAL_POLICYEDIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "key.h"

/*
 * A policy document held as JSON so that an edit keeps every field it does not touch (order,
 * comments, gateway settings). Every edit is checked by parsing the result with policy_parse:
 * an edit can never produce a policy that vmseal-verify or the hook would refuse to load.
 * The first edit increments "version", so rollback protection sees the edited policy as newer.
 */
struct policy_doc;

/* Reads and checks (policy_parse) the policy at path. */
int policy_doc_load(const char *path, struct policy_doc **out, struct vs_error *err);

/* Rotation: adds an entry for newkey (status active, created now) with the owner, usage and
 * roles of old_id's entry; old_id becomes "retired" (a revoked key stays revoked); newkey's id
 * is added to every template rule that lists old_id. Refuses when old_id is not in the policy
 * or newkey already is. */
int policy_doc_rotate(struct policy_doc *d, const char *old_id, const struct vs_key *newkey,
		      int64_t now, struct vs_error *err);

/* The dry run of policy_doc_rotate: records in policy_doc_changes what the rotation of old_id
 * to a new key of algorithm alg would change, the new keyid written as "NEW", and changes
 * nothing else in d. Refuses as policy_doc_rotate does when old_id is not in the policy. */
int policy_doc_rotate_plan(struct policy_doc *d, const char *old_id, enum key_alg alg,
			   struct vs_error *err);

/* Revocation: old_id's status becomes "revoked", with reason and revoked_at = now. Returns 1
 * (and changes nothing) when the key was already revoked. */
int policy_doc_revoke(struct policy_doc *d, const char *keyid, const char *reason, int64_t now,
		      struct vs_error *err);

/* Whether keyid has an entry. */
int policy_doc_has_key(const struct policy_doc *d, const char *keyid);

/* Human-readable lines describing the edits made so far ("" when none). */
const char *policy_doc_changes(const struct policy_doc *d);

/* The edited policy as indented JSON ending in a newline, checked by policy_parse. malloc'd. */
char *policy_doc_encode(const struct policy_doc *d, struct vs_error *err);

/* Writes the edited policy back to the path it was loaded from: refuses if the file changed
 * since it was read; copies the old bytes to PATH.bak (atomically), then replaces PATH
 * atomically (temp file, fsync, rename, fsync of the directory) keeping its mode. */
int policy_doc_save(const struct policy_doc *d, struct vs_error *err);

void policy_doc_free(struct policy_doc *d);

#endif
