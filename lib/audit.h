/* SPDX-License-Identifier: Apache-2.0 */
/* Hash-chained JSON Lines audit log: append (flock + O_APPEND + fsync), group commit, verify. */
#ifndef VMSEAL_AUDIT_H
#define VMSEAL_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "limits.h"

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
 * boundary), or that the file was replaced by another valid chain. Anchors answer that: a head
 * (seq, hash of that line) kept elsewhere (the hook's head file, a signed checkpoint) must still
 * be in the log (audit_verify_opts heads, audit_head_check).
 *
 * Rotation. audit_rotate renames the log, seals it with a last entry whose event is
 * AUDIT_EVENT_ROTATE and starts the new file with the next seq, its prev the hash of that
 * seal: the chain goes on across files. A continued file verifies on its own given the head of
 * the one before (opts.prev_hash); without it, a log that does not start at seq 1 fails.
 * Appenders that find the file they hold sealed follow the path to the new one.
 */

#define AUDIT_EVENT_ROTATE "audit.rotate"
#define AUDIT_EVENT_CONTINUE "audit.continue"
#define AUDIT_EVENT_ACK "audit.acknowledge"

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
/* Makes what this handle wrote durable. The first failed fdatasync of the handle (here, in a
 * group round, or of the old file when a rotation moved the path on) fails every later
 * audit_append* and audit_sync of it with that error. */
int audit_sync(struct audit_log *log, struct vs_error *err);

/* NULL-safe. Does not sync. */
void audit_close(struct audit_log *log);

/* A point of the chain: the entry seq, the SHA-256 of its line, and the byte offset just after
 * that line's newline in the file it was written to (0 when unknown). seq 0: the empty log. */
struct audit_head {
	uint64_t seq;
	uint8_t hash[32];
	uint64_t end;
};

/* The head after the last entry this handle appended (or found at the tail). */
void audit_log_head(struct audit_log *log, struct audit_head *h);

/* One-shot: open, append (durable), close. path NULL is a no-op. */
int audit_record(const char *path, const struct audit_event *ev, struct vs_error *err);

/*
 * Group commit for a multi-threaded server (the gateway). audit_group_append(g, ev, durable,
 * err) writes the event (chained like any append) and, with durable != 0, returns only once an
 * fdatasync that began after the write has completed. No thread hand-off: a durable caller that
 * finds no fdatasync running does it itself; callers arriving while one runs wait and are all
 * covered by the next, so N concurrent callers share about two fdatasyncs instead of N. Events
 * nobody waits for are synced by a background thread at most AUDIT_GROUP_MAX_DELAY_MS after
 * the oldest of them. A failed fdatasync fails every durable caller it would have covered and
 * every later append (fail closed: after a failed fdatasync the kernel may have dropped the
 * pages, and a later success proves nothing). audit_group_stop syncs what is left, joins the
 * thread and frees g (not the log).
 */
#define AUDIT_GROUP_MAX_DELAY_MS 10
struct audit_group;
int audit_group_start(struct audit_log *log, struct audit_group **out, struct vs_error *err);
int audit_group_append(struct audit_group *g, const struct audit_event *ev, int durable,
		       struct vs_error *err);
/* Like a durable audit_group_append without waiting: done(arg, 0) is called once an fdatasync
 * that began after the write has completed, done(arg, -1) once one that would have covered it
 * failed; exactly once, from the thread that ran that fdatasync (the background thread, which
 * syncs for such callers at once, or a waiting caller's), never from inside this call, with no
 * lock of g held. -1 when the event could not be written (done is never called). A server
 * answers from done without holding a worker thread during the fdatasync. */
int audit_group_append_async(struct audit_group *g, const struct audit_event *ev,
			     void (*done)(void *arg, int rc), void *arg, struct vs_error *err);
/* A durable event is on its way: a caller that logged its decision and will log its result
 * with audit_group_append_async once its work is done. A round for asynchronous callers
 * waits for every such expected event, up to AUDIT_GROUP_EXPECT_WAIT_US after the oldest
 * asynchronous caller no round covers arrived, so that one fdatasync covers them too instead of
 * one each (measured with 16 remote-signing clients: about 1.6 calls per fdatasync without).
 * Each audit_group_expect is matched by one audit_group_unexpect, after the expected append
 * (or when it will not come); neither changes what is durable when. */
#define AUDIT_GROUP_EXPECT_WAIT_US 1000
void audit_group_expect(struct audit_group *g);
void audit_group_unexpect(struct audit_group *g);
/* Number of fsyncs done so far (for tests and benchmarks). */
uint64_t audit_group_syncs(struct audit_group *g);
/* Events appended through g, fdatasyncs done and the time spent in them (benchmarks). */
void audit_group_stats(struct audit_group *g, uint64_t *events, uint64_t *syncs, uint64_t *sync_ns);
void audit_group_stop(struct audit_group *g);
#ifdef VMSEAL_TEST_BUILD
/* Test build only: the fdatasync the log calls (unit tests make it slow or fail). */
extern int (*audit_test_fdatasync)(int fd);
#endif

/* One parsed entry; strings are owned (free with audit_entry_clear). */
struct audit_entry {
	uint64_t seq;
	char *time, *actor, *event, *object, *decision, *reason;
	char prev[VS_SHA256_HEX_BYTES]; /* lowercase hex */
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
	uint64_t first_seq;    /* seq of the first entry (1, or more for a continued log) */
	struct audit_head head; /* the last entry (end: file size after it) */
};

struct audit_verify_opts {
	/* The log continues another: its first entry's prev must be prev_hash (and its seq
	 * prev_seq + 1 when prev_seq is not 0). */
	int has_prev;
	uint8_t prev_hash[32];
	uint64_t prev_seq;
	/* The log may start anywhere (it is itself a continuation): used for the previous file
	 * of --continues, whose own start is checked when that file is verified. */
	int any_start;
	/* Anchors that must be in the log: the entry at each seq must hash to its hash. A head
	 * past the log's end means entries were cut off; a different hash, a replaced log. */
	const struct audit_head *heads;
	size_t nheads;
	const char *const *head_names; /* names heads in errors ("checkpoint F"); may be NULL */
};

/* audit_verify with opts (NULL: a log from seq 1, no anchors). res->first_seq and
 * res->head (the last entry) are filled when the log verifies. */
int audit_verify_opts(const char *path, const struct audit_verify_opts *opts,
		      struct audit_verify_result *res, struct vs_error *err);

/* Cheap check (no full read) that the entry at h->seq still ends at h->end in the log at path
 * with h->hash. -1 with VS_ERR_DENIED "audit log truncated or replaced: …" when not, VS_ERR_IO
 * when it cannot be read. A head of seq 0 always holds. */
int audit_head_check(const char *path, const struct audit_head *h, struct vs_error *err);

/* The head file (the hook's anchor, root-only, atomic): {"log": PATH, "seq": N, "hash": HEX,
 * "end": N}. load: a missing file is *exists = 0 (not an error). save: mode 0600, replaced
 * atomically, directory fsynced. parse is load without the file. */
int audit_head_parse(const char *json, size_t len, const char *object, char *log_path, size_t log_len,
		     struct audit_head *h, struct vs_error *err);
int audit_head_load(const char *path, char *log_path, size_t log_len, struct audit_head *h, int *exists,
		    struct vs_error *err);
int audit_head_save(const char *path, const char *log_path, const struct audit_head *h,
		    struct vs_error *err);
/* The hook's move of the head file at path to log's head (audit_log_head), once what log wrote
 * is durable (audit_sync): under log's flock, only while log_path still names log's file (after
 * a rotation the head is the rotation's) and only forward (a later head of the same log, or a
 * head file that cannot be read, is left as it is: 0). When the head file exists and lives on
 * the log's file system, its rename is not made durable (file_replace_may_lag, one disk flush
 * instead of two): a crash may leave the previous head, whole, which names an earlier entry of
 * the same durable log and so still holds, never a head ahead of the log or a partial one; on
 * a journaling file system the log's next fdatasync commits the rename too. The first head
 * file, or one on another file system, is saved durably. */
int audit_head_advance(const char *path, struct audit_log *log, const char *log_path,
		       struct vs_error *err);

/* Rotates the log at path to rotated (which must not exist): under the log's lock, appends the
 * seal (AUDIT_EVENT_ROTATE, object rotated), writes the new file at path starting with an
 * AUDIT_EVENT_CONTINUE entry chained to the seal, links it into place, renames the old file to
 * rotated. *seal and *cont get both heads (cont's end is in the new file). */
int audit_rotate(const char *path, const char *rotated, const char *actor, struct audit_head *seal,
		 struct audit_head *cont, struct vs_error *err);

/* After a rename-style rotation (logrotate: path renamed to prev_path, nothing created):
 * when path is missing or empty, creates it holding one AUDIT_EVENT_CONTINUE entry chained to
 * prev_path's last entry, so that the chain goes on across files (verify --continues). An
 * existing non-empty path is left alone (0). *cont gets the new head. */
int audit_continue(const char *path, const char *prev_path, const char *actor, struct audit_head *cont,
		   struct vs_error *err);

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
