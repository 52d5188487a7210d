/* SPDX-License-Identifier: Apache-2.0 */
/* Hash-chained JSON Lines audit log: append (flock + O_APPEND + fsync) and verify. */
#ifndef VMSEAL_AUDIT_H
#define VMSEAL_AUDIT_H

#include <stdint.h>

#include "error.h"

struct audit_event {
	const char *actor;    /* keyid, "hook", "vmseal-sign", … */
	const char *event;    /* "hook.start", "verify", "sign", "http.request", … */
	const char *object;   /* what the decision is about */
	const char *decision; /* "allow", "deny", "would-deny", "error", "info" */
	const char *reason;   /* may be NULL */
};

struct audit_log;

/* Opens (creating, mode 0600) the log at path for appending. */
int audit_open(const char *path, struct audit_log **out, struct vs_error *err);

/* Appends one event: takes an exclusive flock, finds the last intact line (a torn last line
 * from a crash is skipped and the chain resumes after the last good one), writes one line with
 * O_APPEND, fsyncs, unlocks. */
int audit_append(struct audit_log *log, const struct audit_event *ev, struct vs_error *err);

/* Like audit_append without the fsync; call audit_sync to make a group durable. */
int audit_append_nosync(struct audit_log *log, const struct audit_event *ev, struct vs_error *err);
int audit_sync(struct audit_log *log, struct vs_error *err);

void audit_close(struct audit_log *log);

/* One-shot: open, append, close. path NULL is a no-op. */
int audit_record(const char *path, const struct audit_event *ev, struct vs_error *err);

/* Verifies the chain. Returns 0 with *entries when intact; -1 with *bad_seq (the first broken
 * seq, or entries+1 for a torn tail) and the reason in err. */
int audit_verify_file(const char *path, uint64_t *entries, uint64_t *bad_seq, struct vs_error *err);

#endif
