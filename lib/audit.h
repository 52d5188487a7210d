/* SPDX-License-Identifier: Apache-2.0 */
/* Hash-chained JSON Lines audit log: append (flock + O_APPEND + fsync), group commit, verify. */
#ifndef VMSEAL_AUDIT_H
#define VMSEAL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * Format. One event per line, each line exactly what jansson writes with
 * JSON_COMPACT|JSON_PRESERVE_ORDER, keys in this order, then '\n':
 *
 *   {"seq":7,"time":"2026-11-23T12:00:00Z","actor":"…","event":"…","object":"…",
 *    "decision":"…","reason":"…","prev":"<64 lowercase hex>"}
 *
 * seq counts from 1 without gaps. prev is the SHA-256 of the previous entry's line bytes
 * (without its newline); the first entry's prev is 64 zeros. All fields are strings except seq;
 * a NULL object or reason is written as "". Control characters are escaped by JSON; invalid
 * UTF-8 bytes are written as the text "\xNN". An event whose line would exceed
 * VS_MAX_AUDIT_LINE_BYTES has its longest field(s) cut and marked "…[truncated]".
 *
 * Crashes. A line that does not parse as a complete entry is "torn" (a crash in the middle of
 * an append). The appender skips torn lines at the end of the file and resumes the chain after
 * the last intact entry; if the file does not end in '\n' it first writes one, so the fragment
 * stays a line of its own. A complete entry that lost only its newline counts as intact.
 *
 * Verification (audit_verify_file) is strict: every line must be an intact entry, seq
 * consecutive from 1, prev matching, except for torn fragments in the middle of the file that
 * the chain steps over: a fragment is tolerated (and counted in torn_skipped) only when it
 * looks like the start of the next entry (a prefix of, or starting with, {"seq":N+1, where N
 * is the last good seq, or all NUL bytes) AND the next intact line continues the chain from
 * seq N. A torn line at the end of the file (nothing resumed after it yet) fails verification
 * with bad_seq = N+1 ("torn last line"); the next append makes it a tolerated fragment.
 *
 * What the chain cannot show: that entries were removed from the end (truncation to a line
 * boundary). Anchor the last seq/hash elsewhere if that matters.
 */

struct audit_event {
	const char *actor;    /* keyid, "hook", "vmseal-sign", … (required, non-empty) */
	const char *event;    /* "hook.start", "verify", "sign", "http.request", … (required) */
	const char *object;   /* what the decision is about; NULL → "" */
	const char *decision; /* "allow", "deny", "would-deny", "error", "info" (required) */
	const char *reason;   /* may be NULL → "" */
};

struct audit_log;

/* Opens (creating, mode 0600, never following a symlink) the log at path for appending. The
 * handle is thread-safe: appends from several threads through one handle are serialised, and
 * appends from several handles or processes are serialised by flock. When the path comes to
 * name another file (rename rotation), the handle follows it within a second. */
int audit_open(const char *path, struct audit_log **out, struct vs_error *err);

/* Appends one event: takes an exclusive flock, finds the last intact line (reading the tail
 * backwards, or trusting its cache when the file size is what it last wrote), writes one line
 * with O_APPEND, fsyncs, unlocks. */
int audit_append(struct audit_log *log, const struct audit_event *ev, struct vs_error *err);

/* Like audit_append without the fsync; call audit_sync to make a group durable. If seq_out is
 * non-NULL the new entry's seq is stored there. */
int audit_append_nosync(struct audit_log *log, const struct audit_event *ev, struct vs_error *err);
int audit_append_seq(struct audit_log *log, const struct audit_event *ev, int durable,
		     uint64_t *seq_out, struct vs_error *err);
int audit_sync(struct audit_log *log, struct vs_error *err);

/* NULL-safe. Does not sync. */
void audit_close(struct audit_log *log);

/* One-shot: open, append (durable), close. path NULL is a no-op. */
int audit_record(const char *path, const struct audit_event *ev, struct vs_error *err);

/*
 * Group commit for a multi-threaded server (the gateway). A background thread fsyncs the log:
 * immediately when a caller waits for durability (callers arriving during an fsync share the
 * next one), otherwise at most AUDIT_GROUP_MAX_DELAY_MS after the oldest unsynced event.
 * audit_group_append(g, ev, durable, err) returns once the event is written; with durable != 0
 * only once an fsync that started after the write completed. An fsync failure is sticky: that
 * and every later append fail (fail closed). audit_group_stop syncs what is left, joins the
 * thread and frees g (not the log).
 */
#define AUDIT_GROUP_MAX_DELAY_MS 10
struct audit_group;
int audit_group_start(struct audit_log *log, struct audit_group **out, struct vs_error *err);
int audit_group_append(struct audit_group *g, const struct audit_event *ev, int durable,
		       struct vs_error *err);
/* Number of fsyncs done so far (for tests and benchmarks). */
uint64_t audit_group_syncs(struct audit_group *g);
void audit_group_stop(struct audit_group *g);

/* One parsed entry; strings are owned (free with audit_entry_clear). */
struct audit_entry {
	uint64_t seq;
	char *time, *actor, *event, *object, *decision, *reason;
	char prev[65]; /* lowercase hex */
};

/* Parses one line (without its newline) strictly: JSON_REJECT_DUPLICATES, exactly the eight
 * keys of the format, types, seq ≥ 1, RFC 3339 time, prev 64 lowercase hex, and the line must
 * be byte for byte the canonical encoding. len ≤ VS_MAX_AUDIT_LINE_BYTES. On failure out is
 * left cleared. */
int audit_parse_line(const char *line, size_t len, struct audit_entry *out, struct vs_error *err);
void audit_entry_clear(struct audit_entry *e);

struct audit_verify_result {
	uint64_t entries;      /* intact entries (the last good seq) */
	uint64_t torn_skipped; /* tolerated torn fragments in the middle */
	uint64_t first_torn_after; /* seq after which the first tolerated fragment sits */
	uint64_t bad_seq;      /* on failure: the seq named in the error */
};

/* Verifies the chain. Returns 0 when intact; -1 with res->bad_seq and the reason in err:
 * VS_ERR_DENIED when the chain is broken ("seq 7: …"), VS_ERR_IO/INPUT when it could not be
 * read. A line whose bytes do not match the next entry's prev is named itself (its successor
 * when that successor's own link is broken too: then the successor was altered). */
int audit_verify(const char *path, struct audit_verify_result *res, struct vs_error *err);

/* Compatibility wrapper: *entries and *bad_seq (either may be NULL) from audit_verify. */
int audit_verify_file(const char *path, uint64_t *entries, uint64_t *bad_seq, struct vs_error *err);

/* Calls fn for every intact entry with seq ≥ since, in file order, with the raw line (no
 * newline). Torn or invalid lines are passed to bad (if non-NULL) with their line number and
 * the parse error, and skipped. Does not verify the chain. A non-zero return from fn stops the
 * walk and is returned. */
typedef int (*audit_entry_fn)(const struct audit_entry *e, const char *line, size_t len, void *arg);
typedef void (*audit_bad_line_fn)(uint64_t lineno, const struct vs_error *why, void *arg);
int audit_foreach(const char *path, uint64_t since, audit_entry_fn fn, audit_bad_line_fn bad,
		  void *arg, struct vs_error *err);

#endif
