/* SPDX-License-Identifier: Apache-2.0 */
/* Signed audit checkpoints: a DSSE envelope over (log, seq, head hash, time). */
#ifndef VMSEAL_AUDITCP_H
#define VMSEAL_AUDITCP_H

#include <stdint.h>

#include "audit.h"
#include "error.h"
#include "key.h"
#include "limits.h"

#define AUDIT_CHECKPOINT_TYPE "application/vnd.vmseal.audit-checkpoint+json"

/* Payload: {"log": NAME, "seq": N, "head": "<64 hex: SHA-256 of line seq>", "time": RFC 3339},
 * compact, keys in that order. A checkpoint kept away from the host (or by an auditor) proves
 * the log once held that entry: a log that no longer has it lost entries or was replaced. */
struct audit_checkpoint {
	char log[VS_MAX_PATH_BYTES];
	struct audit_head head; /* end is 0: a checkpoint names seq and hash only */
	int64_t time;
	char keyid[KEY_ID_HEX_LEN + 1]; /* the key whose signature verified */
};

/* Signs (log_name, h->seq, h->hash, now) with key. Returns the envelope JSON (malloc'd, one
 * line with a newline) or NULL with err. */
char *audit_checkpoint_sign(const char *log_name, const struct audit_head *h, int64_t now,
			    const struct vs_key *key, struct vs_error *err);

/* Parses a checkpoint envelope strictly (payloadType, exact payload fields) and requires a
 * signature that verifies under pub. -1 with VS_ERR_DENIED for a bad or missing signature,
 * VS_ERR_INPUT for a malformed checkpoint. */
int audit_checkpoint_open(const char *json, size_t len, const char *object, const struct vs_key *pub,
			  struct audit_checkpoint *out, struct vs_error *err);

/* The payload parser alone (fuzzed). */
int audit_checkpoint_parse_payload(const char *json, size_t len, const char *object,
				   struct audit_checkpoint *out, struct vs_error *err);

#endif
