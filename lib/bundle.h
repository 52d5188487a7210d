/* SPDX-License-Identifier: Apache-2.0 */
/* Signed policy bundles: a DSSE envelope around the policy, trusted through root.json. */
#ifndef VMSEAL_BUNDLE_H
#define VMSEAL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "key.h"
#include "limits.h"

#define BUNDLE_PAYLOAD_TYPE "application/vnd.vmseal.policy+json"
#define ROOT_FILE_NAME "root.json"
#define ROOT_PAYLOAD_TYPE "application/vnd.vmseal.root+json"

struct root_key {
	char id[KEY_ID_HEX_LEN + 1];
	struct vs_key *key;
	char owner[VS_MAX_NAME_BYTES];
};

/* root.json: {"version": 1, "threshold": K, "keys": [{"id", "public_key", "owner"}…]}; a key
 * entry may also hold "comment", and any other field is refused. */
struct root_of_trust {
	struct root_key keys[VS_MAX_ROOT_KEYS];
	size_t nkeys;
	unsigned threshold;
	int64_t version; /* >= 1; root N+1 replaces root N only through root_rotate_open */
};

int root_parse(const char *json, size_t len, const char *object, struct root_of_trust **out,
	       struct vs_error *err);
int root_load(const char *path, struct root_of_trust **out, struct vs_error *err);
void root_free(struct root_of_trust *r);

/* Verifies a signed root of trust N+1 (a DSSE envelope, payloadType ROOT_PAYLOAD_TYPE, around
 * the new root.json) against the installed root cur, TUF's rule: version exactly
 * cur->version + 1, signed by at least cur->threshold distinct owners of cur's keys AND by at
 * least its own threshold of its own keys. On success *next is the new root and *payload
 * (malloc'd) the root.json text to install. Failures are VS_ERR_DENIED. */
int root_rotate_open(const struct root_of_trust *cur, const char *json, size_t len, const char *object,
		     struct root_of_trust **next, char **payload, size_t *plen, struct vs_error *err);

/* Is this JSON text a DSSE envelope (has "payloadType")? Cheap look, no verification. */
int bundle_is_envelope(const char *json, size_t len);

/* Verifies a bundle under root: payloadType, at least root->threshold distinct root keys with
 * valid signatures. On success *payload (malloc'd, NUL-terminated) is the policy text and
 * *valid the number of distinct valid root signatures. Failures are VS_ERR_DENIED. */
int bundle_open(const struct root_of_trust *root, const char *json, size_t len, const char *object,
		char **payload, size_t *plen, unsigned *valid, struct vs_error *err);

/* The policy "version" of a policy file or bundle, without verifying anything (for rollback
 * checks, where trusting a higher number can only refuse more). 0 when absent or unreadable. */
int64_t bundle_peek_version(const char *json, size_t len);

/* Path of the root.json that governs policy_path: the file of that name in the same directory. */
void bundle_root_path(const char *policy_path, char *out, size_t outlen);

#endif
