/* SPDX-License-Identifier: Apache-2.0 */
/* The host's trust state: what was installed, so that readers refuse anything older. */
#ifndef VMSEAL_TRUSTSTATE_H
#define VMSEAL_TRUSTSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define TRUST_STATE_SYSTEM_PATH "/var/lib/vmseal/trust.state"
#define TRUST_STATE_FILE_NAME "trust.state"
#define TRUST_STATE_FORMAT "vmseal-trust-state-v1"
#define SYSTEM_POLICY_PATH "/etc/vmseal/policy.json"

/*
 * trust.state: {"format": "vmseal-trust-state-v1", "policy_version": N, "root_version": N}.
 * Written only by `vmseal-policy install` and `install-root` (writable by root only: mode 0644,
 * atomically); read by every policy reader (policy_load), including the gateway running as its
 * own user, so it is readable: it holds version numbers, no secret. Versions only grow.
 */
struct trust_state {
	int64_t policy_version; /* highest policy version installed; 0: none yet */
	int64_t root_version;   /* version of the root of trust installed; 0: none ever */
};

/* Strict parse: exactly these fields, integers >= 0, JSON_REJECT_DUPLICATES, bounded size. */
int trust_state_parse(const char *json, size_t len, const char *object, struct trust_state *out,
		      struct vs_error *err);

/* Reads path. A missing file is an empty state (nothing installed yet), returns 0. A file that
 * is not a regular file, is writable by group or other, or owned by another user than root or
 * us, or does not parse, is an error: a reader then refuses every policy. */
int trust_state_load(const char *path, struct trust_state *out, struct vs_error *err);

/* The file's text (malloc'd, NUL-terminated), as trust_state_parse reads it back. */
char *trust_state_encode(const struct trust_state *st);

/* Writes path atomically (temp file, fsync, rename), mode 0644; creates its directory (0755)
 * when missing. */
int trust_state_save(const char *path, const struct trust_state *st, struct vs_error *err);

/* The trust state that governs policy_path: TRUST_STATE_SYSTEM_PATH for the system policy
 * (/etc/vmseal/policy.json, also through symlinks), else trust.state beside policy_path (as
 * root.json is). A user's own policy elsewhere has its own, usually absent, state. */
void trust_state_path_for(const char *policy_path, char *out, size_t outlen);

#endif
