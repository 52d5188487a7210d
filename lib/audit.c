/* SPDX-License-Identifier: Apache-2.0 */
/* Hash-chained JSON Lines audit log (format, crash and verification rules: see audit.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memrchr */
#endif
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "jsonx.h"
#include "limits.h"
#include "util.h"

#define HASH_LEN 32
#define HEX_LEN 64
#define NFIELDS 5
#define TRUNC_MARK "\xe2\x80\xa6[truncated]"
#define JSON_OUT_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

static const char *const field_names[NFIELDS] = {"actor", "event", "object", "decision", "reason"};

struct audit_log {
	pthread_mutex_t mu; /* serialises this handle's threads; flock serialises handles */
	int fd;
	dev_t dev;
	ino_t ino;
	time_t path_checked; /* monotonic second of the last rotation check */
	/* Chain state after the last line this handle wrote or scanned. It is trusted only while
	 * the file's size is still cached_end (another process appending changes the size). */
	off_t cached_end;
	uint64_t last_seq;
	uint8_t last_hash[HASH_LEN];
	int sealed; /* the last entry is AUDIT_EVENT_ROTATE: the chain goes on in the file at path */
	/* An fdatasync of this handle's log failed: Linux may have dropped the dirty pages, and a
	 * later fdatasync that succeeds says nothing about them, so every later append and sync
	 * fails with this error (whichever fdatasync it was: a caller's, a group round's, or the
	 * one that makes the old file durable when the path moved on). Set under mu. */
	int sync_failed;
	struct vs_error sync_err;
	char path[VS_MAX_PATH_BYTES];
};

static void sha256(const void *data, size_t len, uint8_t out[static HASH_LEN])
{
	unsigned int n = HASH_LEN;

	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

static int pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO; /* the file shrank under us */
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not valid:
 * the same rules as jansson (no overlongs, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Copies at most cap input bytes of s (cut at a character boundary) as valid UTF-8: invalid
 * bytes become the text "\xNN"; a cut is marked. Returns a malloc'd string or NULL. */
static char *field_text(const char *s, size_t cap)
{
	size_t n = strlen(s), i = 0, o = 0;
	char *out = malloc((n < cap ? n : cap) * 4 + sizeof(TRUNC_MARK));

	if (!out)
		return NULL;
	while (i < n) {
		size_t l = utf8_seq_len((const unsigned char *)s + i, n - i);

		if (i + (l ? l : 1) > cap)
			break;
		if (l) {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		} else {
			o += (size_t)sprintf(out + o, "\\x%02x", (unsigned char)s[i]);
			i++;
		}
	}
	if (i < n) {
		memcpy(out + o, TRUNC_MARK, sizeof(TRUNC_MARK) - 1);
		o += sizeof(TRUNC_MARK) - 1;
	}
	out[o] = '\0';
	return out;
}

/* The canonical encoding of one entry; fields are valid UTF-8. Returns malloc'd text or NULL. */
static char *encode_entry(uint64_t seq, const char *time, const char *const fields[NFIELDS],
			  const char *prev_hex)
{
	json_t *o = json_object();
	char *s = NULL;
	int bad = !o || json_object_set_new(o, "seq", json_integer((json_int_t)seq)) ||
		  json_object_set_new(o, "time", json_string(time));

	for (int i = 0; i < NFIELDS && !bad; i++)
		bad = json_object_set_new(o, field_names[i], json_string(fields[i]));
	if (!bad && !json_object_set_new(o, "prev", json_string(prev_hex)))
		s = json_dumps(o, JSON_OUT_FLAGS);
	json_decref(o);
	return s;
}

/* Builds the line for ev, cutting the longest field in half until it fits the limit. */
static int format_event(uint64_t seq, const struct audit_event *ev, const uint8_t prev[static HASH_LEN],
			char **out, size_t *outlen, struct vs_error *err)
{
	const char *raw[NFIELDS] = {ev->actor, ev->event, ev->object ? ev->object : "", ev->decision,
				    ev->reason ? ev->reason : ""};
	char *fields[NFIELDS] = {0};
	size_t cap[NFIELDS];
	char prev_hex[HEX_LEN + 1], when[32];
	char *line = NULL;
	int ret = -1;

	for (int i = 0; i < NFIELDS; i++)
		cap[i] = VS_MAX_AUDIT_LINE_BYTES;
	hex_encode(prev, HASH_LEN, prev_hex);
	time_format_rfc3339(vs_now(), when, sizeof(when));
	for (int round = 0; round < 64; round++) {
		size_t len, longest = 0;
		int li = 0;

		for (int i = 0; i < NFIELDS; i++) {
			free(fields[i]);
			fields[i] = field_text(raw[i], cap[i]);
			if (!fields[i]) {
				vs_fail(err, VS_ERR_INTERNAL, "audit event", "out of memory");
				goto out;
			}
		}
		free(line);
		line = encode_entry(seq, when, (const char *const *)fields, prev_hex);
		if (!line) {
			vs_fail(err, VS_ERR_INTERNAL, "audit event", "cannot encode JSON");
			goto out;
		}
		len = strlen(line);
		if (len <= VS_MAX_AUDIT_LINE_BYTES) {
			*out = line;
			*outlen = len;
			line = NULL;
			ret = 0;
			goto out;
		}
		for (int i = 0; i < NFIELDS; i++) {
			size_t l = strlen(fields[i]);

			if (l > longest)
				longest = l, li = i;
		}
		cap[li] = (strlen(raw[li]) < cap[li] ? strlen(raw[li]) : cap[li]) / 2;
	}
	vs_fail(err, VS_ERR_INTERNAL, "audit event", "cannot fit the event into %u bytes",
		VS_MAX_AUDIT_LINE_BYTES);
out:
	for (int i = 0; i < NFIELDS; i++)
		free(fields[i]);
	free(line);
	return ret;
}

void audit_entry_clear(struct audit_entry *e)
{
	if (!e)
		return;
	free(e->time);
	free(e->actor);
	free(e->event);
	free(e->object);
	free(e->decision);
	free(e->reason);
	memset(e, 0, sizeof(*e));
}

int audit_parse_line(const char *line, size_t len, struct audit_entry *out, struct vs_error *err)
{
	static const char *const keys[] = {"seq", "time", "actor", "event", "object", "decision",
					   "reason", "prev"};
	const char *fields[NFIELDS];
	json_error_t je;
	json_t *root = NULL, *v;
	char *canon = NULL;
	int64_t t;
	char tbuf[32];
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (len > VS_MAX_AUDIT_LINE_BYTES) {
		vs_fail(err, VS_ERR_INPUT, NULL, "line of %zu bytes exceeds the limit of %u", len,
			VS_MAX_AUDIT_LINE_BYTES);
		goto out;
	}
	if (len == 0) {
		vs_fail(err, VS_ERR_INPUT, NULL, "empty line");
		goto out;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		vs_fail(err, VS_ERR_INPUT, NULL, "not valid JSON: %s (column %d)", je.text, je.column);
		goto out;
	}
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, NULL, "not a JSON object");
		goto out;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = json_object_get(root, keys[i]);
		if (!v) {
			vs_fail(err, VS_ERR_INPUT, NULL, "missing \"%s\"", keys[i]);
			goto out;
		}
		if (i == 0 ? !json_is_integer(v) : !json_is_string(v)) {
			vs_fail(err, VS_ERR_INPUT, NULL, "\"%s\" is not %s", keys[i],
				i == 0 ? "an integer" : "a string");
			goto out;
		}
	}
	if (json_object_size(root) != sizeof(keys) / sizeof(keys[0])) {
		vs_fail(err, VS_ERR_INPUT, NULL, "has %zu keys, the format has 8", json_object_size(root));
		goto out;
	}
	if (json_integer_value(json_object_get(root, "seq")) < 1) {
		vs_fail(err, VS_ERR_INPUT, NULL, "seq %" JSON_INTEGER_FORMAT " is not positive",
			json_integer_value(json_object_get(root, "seq")));
		goto out;
	}
	out->seq = (uint64_t)json_integer_value(json_object_get(root, "seq"));
	v = json_object_get(root, "time");
	/* Canonical: UTC as vmseal writes it ("…Z", no offset, no fraction), so one event has one line. */
	if (time_parse_rfc3339(json_string_value(v), &t) < 0 ||
	    (time_format_rfc3339(t, tbuf, sizeof(tbuf)), strcmp(tbuf, json_string_value(v)))) {
		vs_fail(err, VS_ERR_INPUT, NULL, "time \"%.40s\" is not RFC 3339 UTC", json_string_value(v));
		goto out;
	}
	v = json_object_get(root, "prev");
	{
		const char *p = json_string_value(v);
		uint8_t h[HASH_LEN];
		int ok = json_string_length(v) == HEX_LEN && hex_decode(p, h, HASH_LEN) == 0;

		for (size_t i = 0; ok && i < HEX_LEN; i++)
			ok = !(p[i] >= 'A' && p[i] <= 'F');
		if (!ok) {
			vs_fail(err, VS_ERR_INPUT, NULL, "prev \"%.70s\" is not 64 lowercase hex digits", p);
			goto out;
		}
		memcpy(out->prev, p, HEX_LEN + 1);
	}
	for (int i = 0; i < NFIELDS; i++)
		fields[i] = json_string_value(json_object_get(root, field_names[i]));
	/* Byte-for-byte canonical: the hash chain covers bytes, and a second spelling of the same
	 * entry (other key order, escapes, spaces) would be a way to smuggle edits past readers. */
	canon = encode_entry(out->seq, json_string_value(json_object_get(root, "time")), fields, out->prev);
	if (!canon) {
		vs_fail(err, VS_ERR_INTERNAL, NULL, "cannot encode JSON");
		goto out;
	}
	if (strlen(canon) != len || memcmp(canon, line, len) != 0) {
		vs_fail(err, VS_ERR_INPUT, NULL, "not in canonical form (key order, spacing or escapes)");
		goto out;
	}
	out->time = strdup(json_string_value(json_object_get(root, "time")));
	out->actor = strdup(fields[0]);
	out->event = strdup(fields[1]);
	out->object = strdup(fields[2]);
	out->decision = strdup(fields[3]);
	out->reason = strdup(fields[4]);
	if (!out->time || !out->actor || !out->event || !out->object || !out->decision || !out->reason) {
		vs_fail(err, VS_ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		audit_entry_clear(out);
	free(canon);
	json_decref(root);
	return ret;
}

/* ---- appending ---- */

/* A file is an audit log when its first line is an entry, or the start of one a crash cut
 * short (a prefix of {"seq":, or NUL bytes). Anything else (a shell rc file, a policy) is
 * never appended to, whoever asks. */
static int looks_like_audit_log(int fd, off_t size)
{
	static const char start[] = "{\"seq\":";
	size_t n = size > (off_t)VS_MAX_AUDIT_LINE_BYTES + 1 ? VS_MAX_AUDIT_LINE_BYTES + 1 : (size_t)size;
	char *buf = malloc(n), *nl;
	struct audit_entry e;
	size_t len, i;
	int ok = 0;

	if (!buf || pread_full(fd, buf, n, 0) < 0)
		goto out;
	nl = memchr(buf, '\n', n);
	len = nl ? (size_t)(nl - buf) : n;
	for (i = 0; i < len && buf[i] == '\0'; i++)
		;
	if (len > 0 && i == len)
		ok = 1;
	else if (len <= VS_MAX_AUDIT_LINE_BYTES && audit_parse_line(buf, len, &e, NULL) == 0) {
		audit_entry_clear(&e);
		ok = 1;
	} else if (memcmp(buf, start, len < 7 ? len : 7) == 0 && (len <= 7 || (buf[7] >= '0' && buf[7] <= '9'))) {
		ok = 1;
	}
out:
	free(buf);
	return ok;
}

static int open_log_fd(const char *path, int *fd_out, struct stat *st, struct vs_error *err)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot open audit log: %s", strerror(errno));
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return vs_fail(err, VS_ERR_IO, path, "audit log is not a regular file");
	}
	if (st->st_size > 0 && !looks_like_audit_log(fd, st->st_size)) {
		close(fd);
		return vs_fail(err, VS_ERR_INPUT, path,
			       "not an audit log (its first line is not an audit entry): refusing to append to it");
	}
	*fd_out = fd;
	return 0;
}

int audit_open(const char *path, struct audit_log **out, struct vs_error *err)
{
	struct audit_log *log = NULL;
	struct stat st;

	*out = NULL;
	if (!path || strlen(path) >= VS_MAX_PATH_BYTES)
		return vs_fail(err, VS_ERR_USAGE, path ? "audit log" : "(null)", "bad audit log path");
	log = calloc(1, sizeof(*log));
	if (!log)
		return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
	if (open_log_fd(path, &log->fd, &st, err) < 0) {
		free(log);
		return -1;
	}
	pthread_mutex_init(&log->mu, NULL);
	log->dev = st.st_dev;
	log->ino = st.st_ino;
	log->cached_end = -1;
	snprintf(log->path, sizeof(log->path), "%s", path);
	*out = log;
	return 0;
}

void audit_close(struct audit_log *log)
{
	if (!log)
		return;
	close(log->fd);
	pthread_mutex_destroy(&log->mu);
	free(log);
}

/* The unit tests replace fdatasync (a slow or failing disk); release builds call it directly. */
#ifdef VMSEAL_TEST_BUILD
int (*audit_test_fdatasync)(int fd) = fdatasync;
#define log_fdatasync(fd) audit_test_fdatasync(fd)
#else
#define log_fdatasync(fd) fdatasync(fd)
#endif

/* Fails the handle for good after a failed fdatasync (see sync_failed); called with mu held. */
static int sync_fail(struct audit_log *log, int errnum, struct vs_error *err)
{
	if (!log->sync_failed) {
		log->sync_failed = 1;
		vs_fail(&log->sync_err, VS_ERR_IO, log->path, "fsync failed: %s", strerror(errnum));
	}
	if (err)
		*err = log->sync_err;
	return -1;
}

/* After a rename-style rotation or removal the path names another file: follow it, making
 * what was written to the old one durable first. Checked at most once a second (an lstat per
 * append is a fifth of an append's cost), so up to a second of events may still go to the
 * old file, chained there. Called with mu held, before the flock. */
static int follow_path(struct audit_log *log, struct vs_error *err)
{
	struct timespec now;
	struct stat st;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec == log->path_checked)
		return 0;
	log->path_checked = now.tv_sec;
	if (lstat(log->path, &st) == 0 && st.st_dev == log->dev && st.st_ino == log->ino)
		return 0;
	if (open_log_fd(log->path, &fd, &st, err) < 0)
		return -1;
	/* What this handle wrote to the old file is durable only if this succeeds: a round that
	 * syncs the new file later does not cover it. */
	if (log_fdatasync(log->fd) < 0) {
		int saved = errno;

		close(fd);
		return sync_fail(log, saved, err);
	}
	close(log->fd);
	log->fd = fd;
	log->dev = st.st_dev;
	log->ino = st.st_ino;
	log->cached_end = -1;
	return 0;
}

/* Finds the last intact entry in the first size bytes of the log by reading lines backwards
 * (each at most VS_MAX_AUDIT_LINE_BYTES, so one block of limit+1 bytes holds a whole line
 * and the newline before it). Lines that do not parse are torn and skipped. */
static int tail_scan(struct audit_log *log, off_t size, struct vs_error *err)
{
	const size_t block = VS_MAX_AUDIT_LINE_BYTES + 1;
	char *buf = malloc(block);
	off_t end = size;
	int ret = -1;

	log->last_seq = 0;
	log->sealed = 0;
	memset(log->last_hash, 0, HASH_LEN);
	if (!buf)
		return vs_fail(err, VS_ERR_INTERNAL, log->path, "out of memory");
	if (size > 0) {
		char c;

		if (pread_full(log->fd, &c, 1, size - 1) < 0) {
			vs_fail(err, VS_ERR_IO, log->path, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (c == '\n')
			end = size - 1;
	}
	while (end > 0) {
		off_t from = end > (off_t)block ? end - (off_t)block : 0, start;
		size_t n = (size_t)(end - from);
		char *nl;
		struct audit_entry e;

		if (pread_full(log->fd, buf, n, from) < 0) {
			vs_fail(err, VS_ERR_IO, log->path, "cannot read: %s", strerror(errno));
			goto out;
		}
		nl = memrchr(buf, '\n', n);
		if (nl || from == 0) {
			char *line = nl ? nl + 1 : buf;
			size_t len = n - (size_t)(line - buf);

			if (len <= VS_MAX_AUDIT_LINE_BYTES && audit_parse_line(line, len, &e, NULL) == 0) {
				log->last_seq = e.seq;
				log->sealed = !strcmp(e.event, AUDIT_EVENT_ROTATE);
				sha256(line, len, log->last_hash);
				audit_entry_clear(&e);
				break;
			}
			start = from + (line - buf);
		} else {
			/* A line longer than the limit: not ours, find where it starts. */
			for (start = -1; start < 0 && from > 0;) {
				off_t f2 = from > (off_t)block ? from - (off_t)block : 0;

				if (pread_full(log->fd, buf, (size_t)(from - f2), f2) < 0) {
					vs_fail(err, VS_ERR_IO, log->path, "cannot read: %s", strerror(errno));
					goto out;
				}
				nl = memrchr(buf, '\n', (size_t)(from - f2));
				if (nl)
					start = f2 + (nl - buf) + 1;
				from = f2;
			}
			if (start < 0)
				start = 0;
		}
		end = start - 1; /* the newline before this line, or -1 */
	}
	ret = 0;
out:
	free(buf);
	return ret;
}

/* Fault injection for crash tests: write half of the data, then die like a power cut would. */
static void fault_mid_line(int fd, const char *buf, size_t len)
{
	if (fault_is("audit-mid-line")) {
		if (write_full(fd, buf, len / 2) == 0)
			fdatasync(fd);
		fault_point("audit-mid-line");
	}
}

int audit_sync(struct audit_log *log, struct vs_error *err)
{
	int fd, ret = 0;

	/* fsync on a duplicate so that appends by other threads need not wait for the disk (and a
	 * rotation that replaces the handle's descriptor meanwhile does not close ours). */
	pthread_mutex_lock(&log->mu);
	if (log->sync_failed) {
		if (err)
			*err = log->sync_err;
		pthread_mutex_unlock(&log->mu);
		return -1;
	}
	fd = dup(log->fd);
	pthread_mutex_unlock(&log->mu);
	if (fd < 0)
		return vs_fail(err, VS_ERR_IO, log->path, "cannot dup: %s", strerror(errno));
	/* fdatasync also writes the size, which is all an append changes besides data. */
	if (log_fdatasync(fd) < 0) {
		int saved = errno;

		pthread_mutex_lock(&log->mu);
		ret = sync_fail(log, saved, err);
		pthread_mutex_unlock(&log->mu);
	}
	close(fd);
	return ret;
}

int audit_append_seq(struct audit_log *log, const struct audit_event *ev, int durable,
		     uint64_t *seq_out, struct vs_error *err)
{
	struct stat st;
	char *line = NULL, *buf = NULL;
	size_t len = 0, n = 0;
	int locked = 0, ret = -1;

	if (!ev || !ev->actor || !ev->actor[0] || !ev->event || !ev->event[0] || !ev->decision ||
	    !ev->decision[0])
		return vs_fail(err, VS_ERR_USAGE, log->path, "audit event needs actor, event and decision");
	pthread_mutex_lock(&log->mu);
	if (log->sync_failed) {
		if (err)
			*err = log->sync_err;
		goto out;
	}
	if (follow_path(log, err) < 0)
		goto out;
	for (int attempt = 0;; attempt++) {
		while (flock(log->fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				vs_fail(err, VS_ERR_IO, log->path, "cannot lock: %s", strerror(errno));
				goto out;
			}
		}
		locked = 1;
		if (fstat(log->fd, &st) < 0) {
			vs_fail(err, VS_ERR_IO, log->path, "cannot stat: %s", strerror(errno));
			goto out;
		}
		/* The cache is ours only if nobody appended or truncated since we last wrote. */
		if (st.st_size != log->cached_end && tail_scan(log, st.st_size, err) < 0)
			goto out;
		if (!log->sealed)
			break;
		/* vmseal-audit rotate sealed this file while we waited: the chain goes on in the
		 * file now at path (which it created before sealing this one). */
		flock(log->fd, LOCK_UN);
		locked = 0;
		log->path_checked = -1;
		if (attempt > 0 || follow_path(log, err) < 0) {
			if (attempt > 0)
				vs_fail(err, VS_ERR_IO, log->path, "audit log is sealed by a rotation and nothing continues it");
			goto out;
		}
	}
	if (format_event(log->last_seq + 1, ev, log->last_hash, &line, &len, err) < 0)
		goto out;
	buf = malloc(len + 2);
	if (!buf) {
		vs_fail(err, VS_ERR_INTERNAL, log->path, "out of memory");
		goto out;
	}
	if (st.st_size > 0 && st.st_size != log->cached_end) {
		char c;

		if (pread_full(log->fd, &c, 1, st.st_size - 1) < 0) {
			vs_fail(err, VS_ERR_IO, log->path, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (c != '\n') /* a torn fragment: keep it on a line of its own */
			buf[n++] = '\n';
	}
	memcpy(buf + n, line, len);
	n += len;
	buf[n++] = '\n';
	fault_mid_line(log->fd, buf, n);
	log->cached_end = -1;
	if (write_full(log->fd, buf, n) < 0) {
		int saved = errno;

		/* A short write (disk full, quota) would leave a torn line that fails verification
		 * until the next append; we hold the lock, so take it back. */
		if (ftruncate(log->fd, st.st_size) == 0)
			fdatasync(log->fd);
		vs_fail(err, VS_ERR_IO, log->path, "write failed: %s", strerror(saved));
		goto out;
	}
	log->cached_end = st.st_size + (off_t)n;
	log->last_seq++;
	sha256(line, len, log->last_hash);
	if (seq_out)
		*seq_out = log->last_seq;
	ret = 0;
out:
	if (locked)
		flock(log->fd, LOCK_UN);
	pthread_mutex_unlock(&log->mu);
	free(line);
	free(buf);
	if (ret == 0 && durable)
		ret = audit_sync(log, err);
	return ret;
}

int audit_append(struct audit_log *log, const struct audit_event *ev, struct vs_error *err)
{
	return audit_append_seq(log, ev, 1, NULL, err);
}

int audit_append_nosync(struct audit_log *log, const struct audit_event *ev, struct vs_error *err)
{
	return audit_append_seq(log, ev, 0, NULL, err);
}

int audit_record(const char *path, const struct audit_event *ev, struct vs_error *err)
{
	struct audit_log *log;
	int ret;

	if (!path)
		return 0;
	if (audit_open(path, &log, err) < 0)
		return -1;
	ret = audit_append(log, ev, err);
	audit_close(log);
	return ret;
}

/* ---- group commit ---- */

/*
 * Leader-follower group commit. An append writes its line (under the handle's lock, chained as
 * always) and then takes a generation number: written counts the appends whose write has
 * completed. A sync round takes target = written, fdatasyncs, and on success sets synced =
 * target: every append with a generation <= target had completed its write before the fdatasync
 * began, so that fdatasync covers it. A durable caller waits until synced reaches its
 * generation; when no round is running it runs one itself (the leader) instead of handing the
 * work to a thread, so one caller alone pays one fdatasync and no thread switch; callers that
 * arrive while a round runs are covered together by the next one. The background thread only
 * syncs events nobody waits for, AUDIT_GROUP_MAX_DELAY_MS after the oldest of them.
 * A failed fdatasync fails every caller it would have covered, and every later append: once an
 * fdatasync has failed, Linux may have dropped the dirty pages, and a later fdatasync that
 * succeeds says nothing about them (fail closed).
 */
struct audit_group {
	struct audit_log *log;
	pthread_t thread;
	pthread_mutex_t m;
	pthread_cond_t wake; /* to the timer thread: an uncovered event, or stop */
	pthread_cond_t done; /* to waiters: a round ended */
	uint64_t written;    /* appends whose write completed (generation) */
	uint64_t covered;    /* target of the last round started (>= synced) */
	uint64_t synced;     /* appends covered by a completed, successful fdatasync */
	uint64_t nsyncs;
	uint64_t sync_ns;    /* total time spent in fdatasync */
	int syncing;         /* a round is running */
	int stop, failed;
	struct timespec oldest; /* when the oldest event no round covers was written (monotonic) */
	struct vs_error fail_err;
	/* Callers that do not wait (audit_group_append_async), in generation order; the timer
	 * thread syncs for them at once, or once the expected events are in. */
	struct async_waiter *async_head, **async_tail;
	uint64_t async_last;    /* generation of the newest of them */
	struct timespec async_oldest; /* when the oldest of them no round covers was queued */
	unsigned expected;      /* durable events announced and not yet appended */
};

struct async_waiter {
	uint64_t gen;
	void (*done)(void *arg, int rc);
	void *arg;
	struct async_waiter *next;
};

static void timespec_add_ms(struct timespec *t, long ms)
{
	t->tv_nsec += ms * 1000000L;
	t->tv_sec += t->tv_nsec / 1000000000L;
	t->tv_nsec %= 1000000000L;
}

/* Calls back the asynchronous callers a completed round covered (all of them once an fdatasync
 * failed), outside the lock. Called and returns with g->m held. */
static void group_complete_async(struct audit_group *g)
{
	struct async_waiter *done = NULL, **tail = &done;
	int failed = g->failed;

	while (g->async_head && (failed || g->async_head->gen <= g->synced)) {
		*tail = g->async_head;
		tail = &g->async_head->next;
		g->async_head = g->async_head->next;
	}
	*tail = NULL;
	if (!g->async_head)
		g->async_tail = &g->async_head;
	if (!done)
		return;
	pthread_mutex_unlock(&g->m);
	while (done) {
		struct async_waiter *w = done;

		done = w->next;
		w->done(w->arg, failed ? -1 : 0);
		free(w);
	}
	pthread_mutex_lock(&g->m);
}

/* One round: called with g->m held and no round running; returns with g->m held. lead: run by
 * a durable caller (audit_group_append), not by the timer thread. */
static void group_sync_round(struct audit_group *g, int lead)
{
	struct vs_error e = {0};
	struct timespec t0, t1;
	uint64_t target = g->written;
	int rc, fail_inject;

	(void)lead; /* read by the test build's faults only */
	g->syncing = 1;
	g->covered = target;
	/* Test build: an fdatasync fails when it is run for asynchronous callers, by a durable
	 * caller after the group's first round (a daemon's start event), or by the timer for
	 * events nobody waits for (tests/sh/remotesign.sh, tests/sh/gateway_replay.sh). */
	fail_inject = g->async_head	    ? fault_is("audit-fsync-fail-async")
		      : lead && g->nsyncs ? fault_is("audit-fsync-fail-lead")
		      : !lead		    ? fault_is("audit-fsync-fail-idle")
					    : 0;
	pthread_mutex_unlock(&g->m);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = fail_inject ? vs_fail(&e, VS_ERR_IO, g->log->path, "fsync failed: injected fault")
			: audit_sync(g->log, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_mutex_lock(&g->m);
	g->nsyncs++;
	g->sync_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
	if (rc < 0 && !g->failed) {
		g->failed = 1;
		g->fail_err = e;
	}
	if (rc == 0 && !g->failed)
		g->synced = target;
	g->syncing = 0;
	pthread_cond_broadcast(&g->done);
	group_complete_async(g);
}

static int overdue(const struct timespec *oldest, struct timespec *deadline)
{
	struct timespec now;

	*deadline = *oldest;
	timespec_add_ms(deadline, AUDIT_GROUP_MAX_DELAY_MS);
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* An asynchronous caller waits for a round not yet started (the newest one is the last
 * covered: the oldest may be covered by a round that is running). */
static int async_uncovered(const struct audit_group *g)
{
	return g->async_head && g->async_last > g->covered;
}

/* Expected events are on their way and the oldest uncovered asynchronous caller has waited
 * less than AUDIT_GROUP_EXPECT_WAIT_US for them: *until is when it stops waiting. */
static int await_expected(const struct audit_group *g, struct timespec *until)
{
	struct timespec now;

	if (!g->expected)
		return 0;
	*until = g->async_oldest;
	until->tv_nsec += AUDIT_GROUP_EXPECT_WAIT_US * 1000L;
	until->tv_sec += until->tv_nsec / 1000000000L;
	until->tv_nsec %= 1000000000L;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < until->tv_sec || (now.tv_sec == until->tv_sec && now.tv_nsec < until->tv_nsec);
}

/* The timer: syncs events nobody waits for, at most AUDIT_GROUP_MAX_DELAY_MS after the oldest
 * event no round covers (a leader usually covers them first). */
static void *group_timer(void *arg)
{
	struct audit_group *g = arg;

	pthread_mutex_lock(&g->m);
	for (;;) {
		struct timespec deadline;

		while (!g->stop && g->written == g->covered)
			pthread_cond_wait(&g->wake, &g->m);
		if (g->stop)
			break;
		if (g->failed) { /* nothing becomes durable any more; appends fail */
			g->covered = g->written;
			continue;
		}
		if (!async_uncovered(g) && !overdue(&g->oldest, &deadline)) {
			pthread_cond_timedwait(&g->wake, &g->m, &deadline);
			continue;
		}
		if (async_uncovered(g) && await_expected(g, &deadline)) {
			pthread_cond_timedwait(&g->wake, &g->m, &deadline);
			continue;
		}
		while (g->syncing)
			pthread_cond_wait(&g->done, &g->m);
		if (g->written > g->covered && !g->failed &&
		    (async_uncovered(g) || overdue(&g->oldest, &deadline)))
			group_sync_round(g, 0);
	}
	/* Stopping: what is left becomes durable. */
	while (g->syncing)
		pthread_cond_wait(&g->done, &g->m);
	if (g->written > g->synced && !g->failed)
		group_sync_round(g, 0);
	g->failed |= g->async_head != NULL; /* cannot happen: the round covered every one */
	group_complete_async(g);
	pthread_mutex_unlock(&g->m);
	return NULL;
}

int audit_group_start(struct audit_log *log, struct audit_group **out, struct vs_error *err)
{
	struct audit_group *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	*out = NULL;
	if (!g)
		return vs_fail(err, VS_ERR_INTERNAL, log->path, "out of memory");
	g->log = log;
	g->async_tail = &g->async_head;
	pthread_mutex_init(&g->m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&g->done, NULL);
	if (pthread_create(&g->thread, NULL, group_timer, g) != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_cond_destroy(&g->done);
		pthread_mutex_destroy(&g->m);
		free(g);
		return vs_fail(err, VS_ERR_INTERNAL, log->path, "cannot start the audit sync thread");
	}
	*out = g;
	return 0;
}

int audit_group_append(struct audit_group *g, const struct audit_event *ev, int durable,
		       struct vs_error *err)
{
	uint64_t gen;
	int ret = 0;

	pthread_mutex_lock(&g->m);
	if (g->failed) {
		if (err)
			*err = g->fail_err;
		pthread_mutex_unlock(&g->m);
		return -1;
	}
	pthread_mutex_unlock(&g->m);
	if (audit_append_seq(g->log, ev, 0, NULL, err) < 0)
		return -1;
	/* The generation is taken after the write completed, so a round whose target includes it
	 * started its fdatasync after the write: it covers it. */
	pthread_mutex_lock(&g->m);
	gen = ++g->written;
	if (gen == g->covered + 1) { /* the oldest event no round covers yet */
		clock_gettime(CLOCK_MONOTONIC, &g->oldest);
		if (!durable) /* a durable one is covered by the round its caller leads or awaits */
			pthread_cond_signal(&g->wake);
	}
	if (durable) {
		while (g->synced < gen && !g->failed) {
			if (!g->syncing)
				group_sync_round(g, 1); /* lead: this round covers us */
			else
				pthread_cond_wait(&g->done, &g->m);
		}
		if (g->synced < gen) {
			if (err)
				*err = g->fail_err;
			ret = -1;
		}
	}
	pthread_mutex_unlock(&g->m);
	return ret;
}

int audit_group_append_async(struct audit_group *g, const struct audit_event *ev,
			     void (*done)(void *arg, int rc), void *arg, struct vs_error *err)
{
	struct async_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return vs_fail(err, VS_ERR_INTERNAL, g->log->path, "out of memory");
	pthread_mutex_lock(&g->m);
	if (g->failed) {
		if (err)
			*err = g->fail_err;
		pthread_mutex_unlock(&g->m);
		free(w);
		return -1;
	}
	pthread_mutex_unlock(&g->m);
	if (audit_append_seq(g->log, ev, 0, NULL, err) < 0) {
		free(w);
		return -1;
	}
	pthread_mutex_lock(&g->m);
	if (g->failed) { /* failed meanwhile: its round will never come */
		if (err)
			*err = g->fail_err;
		pthread_mutex_unlock(&g->m);
		free(w);
		return -1;
	}
	if (!async_uncovered(g))
		clock_gettime(CLOCK_MONOTONIC, &g->async_oldest);
	w->gen = ++g->written;
	w->done = done;
	w->arg = arg;
	if (w->gen == g->covered + 1)
		clock_gettime(CLOCK_MONOTONIC, &g->oldest);
	g->async_last = w->gen;
	*g->async_tail = w;
	g->async_tail = &w->next;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->m);
	return 0;
}

void audit_group_expect(struct audit_group *g)
{
	pthread_mutex_lock(&g->m);
	g->expected++;
	pthread_mutex_unlock(&g->m);
}

void audit_group_unexpect(struct audit_group *g)
{
	pthread_mutex_lock(&g->m);
	if (g->expected > 0 && --g->expected == 0)
		pthread_cond_signal(&g->wake); /* a round may have waited for it */
	pthread_mutex_unlock(&g->m);
}

uint64_t audit_group_syncs(struct audit_group *g)
{
	uint64_t n;

	pthread_mutex_lock(&g->m);
	n = g->nsyncs;
	pthread_mutex_unlock(&g->m);
	return n;
}

void audit_group_stats(struct audit_group *g, uint64_t *events, uint64_t *syncs, uint64_t *sync_ns)
{
	pthread_mutex_lock(&g->m);
	*events = g->written;
	*syncs = g->nsyncs;
	*sync_ns = g->sync_ns;
	pthread_mutex_unlock(&g->m);
}

void audit_group_stop(struct audit_group *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->m);
	g->stop = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->m);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->wake);
	pthread_cond_destroy(&g->done);
	pthread_mutex_destroy(&g->m);
	free(g);
}

/* ---- reading ---- */

/* Bounded line reader over the first limit bytes of fd. */
struct line_reader {
	int fd;
	off_t left;    /* bytes still to read from the file */
	size_t pos, fill;
	int eof;
	uint64_t lineno;
	char buf[VS_MAX_AUDIT_LINE_BYTES + 1 + 65536];
};

/* Returns 1 with the next line (too_long set when it exceeded the limit and was dropped),
 * 0 at the end, -1 on a read error. has_nl tells whether the line ended with a newline. */
static int lr_next(struct line_reader *r, const char **line, size_t *len, int *too_long, int *has_nl)
{
	*too_long = 0;
	for (;;) {
		char *nl = memchr(r->buf + r->pos, '\n', r->fill - r->pos);
		size_t avail = r->fill - r->pos;
		ssize_t got;

		if (nl) {
			*line = r->buf + r->pos;
			*len = (size_t)(nl - *line);
			*has_nl = 1;
			r->pos += *len + 1;
			r->lineno++;
			if (*len > VS_MAX_AUDIT_LINE_BYTES)
				*too_long = 1;
			return 1;
		}
		if (avail > VS_MAX_AUDIT_LINE_BYTES) { /* drop what cannot be a line of ours */
			*too_long = 1;
			r->pos = r->fill = 0;
		}
		if (r->eof || r->left == 0) {
			if (r->fill == r->pos && !*too_long)
				return 0;
			*line = r->buf + r->pos;
			*len = r->fill - r->pos;
			*has_nl = 0;
			r->pos = r->fill;
			r->lineno++;
			return 1;
		}
		if (r->pos > 0) {
			memmove(r->buf, r->buf + r->pos, avail);
			r->fill = avail;
			r->pos = 0;
		}
		{
			size_t want = sizeof(r->buf) - r->fill;

			if ((off_t)want > r->left)
				want = (size_t)r->left;
			got = read(r->fd, r->buf + r->fill, want);
		}
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0)
			r->eof = 1;
		r->fill += (size_t)got;
		r->left -= got;
	}
}

/* Opens path for reading and sizes a consistent snapshot: under a shared flock no append is
 * half-way, so everything below the size seen then is complete. */
static int reader_open(const char *path, struct line_reader **out, struct vs_error *err)
{
	struct line_reader *r;
	struct stat st;
	int fd;

	*out = NULL;
	if (vs_open_input(path, VS_INPUT_REG, NULL, &fd, NULL, err) < 0)
		return -1;
	while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
		;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return vs_fail(err, VS_ERR_IO, path, "not a regular file");
	}
	flock(fd, LOCK_UN);
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fd);
		return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
	}
	r->fd = fd;
	r->left = st.st_size;
	*out = r;
	return 0;
}

static void reader_close(struct line_reader *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r);
}

/* A crash leaves the start of the next entry: a prefix of, or text starting with, {"seq":N,
 * (or NUL bytes where the file system extended the file before writing the data). */
static int looks_torn(const char *line, size_t len, uint64_t next_seq)
{
	char p[48];
	size_t plen = (size_t)snprintf(p, sizeof(p), "{\"seq\":%" PRIu64 ",", next_seq);
	size_t i;

	for (i = 0; i < len && line[i] == '\0'; i++)
		;
	if (len > 0 && i == len)
		return 1;
	return memcmp(line, p, len < plen ? len : plen) == 0;
}

static const char *head_name(const struct audit_verify_opts *o, size_t i)
{
	return o->head_names && o->head_names[i] ? o->head_names[i] : "head";
}

/* Called for each entry that joined the chain: an anchor at its seq must have its hash. */
static int check_heads(const struct audit_verify_opts *o, const char *path, uint64_t seq,
		       const uint8_t hash[static HASH_LEN], struct vs_error *err)
{
	char want[HEX_LEN + 1], got[HEX_LEN + 1];

	for (size_t i = 0; o && i < o->nheads; i++) {
		if (o->heads[i].seq != seq || !memcmp(o->heads[i].hash, hash, HASH_LEN))
			continue;
		hex_encode(o->heads[i].hash, HASH_LEN, want);
		hex_encode(hash, HASH_LEN, got);
		return vs_fail(err, VS_ERR_DENIED, path,
			       "seq %" PRIu64 ": audit log truncated or replaced: %s has hash %.16s… there, the log %.16s…",
			       seq, head_name(o, i), want, got);
	}
	return 0;
}

int audit_verify(const char *path, struct audit_verify_result *res, struct vs_error *err)
{
	return audit_verify_opts(path, NULL, res, err);
}

int audit_verify_opts(const char *path, const struct audit_verify_opts *opts,
		      struct audit_verify_result *res, struct vs_error *err)
{
	struct line_reader *r = NULL;
	uint8_t last_hash[HASH_LEN] = {0}, cur_hash[HASH_LEN];
	uint64_t last_seq = 0, first_seq = 0, off = 0;
	/* Torn lines after last_seq, waiting for the chain to resume over them. */
	uint64_t torn_pending = 0, torn_line = 0;
	struct vs_error torn_why = {0};
	/* A broken link between last_seq and the entry after it (whose seq and hash are kept),
	 * waiting for one more line to tell which of the two was altered. */
	int link_pending = 0;
	uint64_t link_seq = 0;
	uint8_t link_hash[HASH_LEN];
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (opts && opts->has_prev) {
		memcpy(last_hash, opts->prev_hash, HASH_LEN);
		last_seq = opts->prev_seq;
	}
	if (reader_open(path, &r, err) < 0)
		return -1;
	for (;;) {
		const char *line;
		size_t len;
		int too_long, has_nl, rc = lr_next(r, &line, &len, &too_long, &has_nl), parsed;
		struct audit_entry e;
		struct vs_error why = {0};
		char hex[HEX_LEN + 1];

		if (rc < 0) {
			vs_fail(err, VS_ERR_IO, path, "read failed: %s", strerror(errno));
			goto out;
		}
		if (too_long)
			vs_fail(&why, VS_ERR_INPUT, NULL, "line longer than %u bytes", VS_MAX_AUDIT_LINE_BYTES);
		parsed = rc == 1 && !too_long && audit_parse_line(line, len, &e, &why) == 0;
		if (link_pending) {
			int next_broken = parsed && e.seq == link_seq + 1;

			if (next_broken) {
				hex_encode(link_hash, HASH_LEN, hex);
				next_broken = strcmp(e.prev, hex) != 0;
			}
			if (parsed)
				audit_entry_clear(&e);
			if (next_broken) {
				res->bad_seq = link_seq;
				vs_fail(err, VS_ERR_DENIED, path,
					"seq %" PRIu64 ": altered: its prev does not match seq %" PRIu64
					" and seq %" PRIu64 "'s prev does not match it",
					link_seq, last_seq, link_seq + 1);
			} else {
				res->bad_seq = last_seq;
				vs_fail(err, VS_ERR_DENIED, path,
					"seq %" PRIu64 ": altered: its hash does not match the prev recorded in seq %" PRIu64,
					last_seq, link_seq);
			}
			goto out;
		}
		if (rc == 0)
			break;
		off += len + (has_nl ? 1 : 0);
		if (parsed && first_seq == 0 && opts && opts->has_prev) {
			/* The first entry of a continued log links to the previous file's head. */
			hex_encode(opts->prev_hash, HASH_LEN, hex);
			if ((opts->prev_seq && e.seq != opts->prev_seq + 1) || strcmp(e.prev, hex)) {
				res->bad_seq = e.seq;
				if (opts->prev_seq && e.seq != opts->prev_seq + 1)
					vs_fail(err, VS_ERR_DENIED, path,
						"seq %" PRIu64 ": does not continue the previous log, which ends at seq %" PRIu64,
						e.seq, opts->prev_seq);
				else
					vs_fail(err, VS_ERR_DENIED, path,
						"seq %" PRIu64 ": does not continue the previous log: its prev is %.16s…, the previous head %.16s…",
						e.seq, e.prev, hex);
				audit_entry_clear(&e);
				goto out;
			}
			last_seq = e.seq - 1;
		}
		if (parsed && first_seq == 0 && opts && opts->any_start && !opts->has_prev && !torn_pending &&
		    e.seq > 1 && last_seq == 0) {
			last_seq = e.seq - 1;
			hex_decode(e.prev, last_hash, HASH_LEN);
		}
		if (parsed && first_seq == 0 && !(opts && opts->has_prev) && e.seq > 1 && last_seq == 0 &&
		    !torn_pending) {
			res->bad_seq = 1;
			vs_fail(err, VS_ERR_DENIED, path,
				"seq 1: the log starts at seq %" PRIu64 ": it continues a rotated log (verify with --continues PREV or --prev-head HEX) or its first entries were removed",
				e.seq);
			audit_entry_clear(&e);
			goto out;
		}
		if (!parsed) {
			if (!too_long && looks_torn(line, len, last_seq + 1)) {
				if (torn_pending++ == 0) {
					torn_line = r->lineno;
					torn_why = why;
				}
				continue;
			}
			res->bad_seq = last_seq + 1;
			vs_fail(err, VS_ERR_DENIED, path, "seq %" PRIu64 ": line %" PRIu64 " is not a valid entry: %s",
				last_seq + 1, r->lineno, why.reason);
			goto out;
		}
		sha256(line, len, cur_hash);
		hex_encode(last_hash, HASH_LEN, hex);
		if (torn_pending && (e.seq != last_seq + 1 || strcmp(e.prev, hex) != 0)) {
			audit_entry_clear(&e);
			res->bad_seq = last_seq + 1;
			vs_fail(err, VS_ERR_DENIED, path, "seq %" PRIu64 ": line %" PRIu64 " is not a valid entry: %s",
				last_seq + 1, torn_line, torn_why.reason);
			goto out;
		}
		if (e.seq != last_seq + 1) {
			res->bad_seq = last_seq + 1;
			vs_fail(err, VS_ERR_DENIED, path, "seq %" PRIu64 ": %s: line %" PRIu64 " has seq %" PRIu64,
				last_seq + 1, e.seq > last_seq + 1 ? "missing or out of order" : "out of order or repeated",
				r->lineno, e.seq);
			audit_entry_clear(&e);
			goto out;
		}
		if (strcmp(e.prev, hex) != 0) {
			if (last_seq == 0) {
				res->bad_seq = 1;
				vs_fail(err, VS_ERR_DENIED, path, "seq 1: prev of the first entry is not 64 zeros");
				audit_entry_clear(&e);
				goto out;
			}
			link_pending = 1;
			link_seq = e.seq;
			memcpy(link_hash, cur_hash, HASH_LEN);
			audit_entry_clear(&e);
			continue;
		}
		audit_entry_clear(&e);
		if (torn_pending) {
			if (res->torn_skipped == 0)
				res->first_torn_after = last_seq;
			res->torn_skipped += torn_pending;
			torn_pending = 0;
		}
		last_seq++;
		if (first_seq == 0)
			first_seq = last_seq;
		memcpy(last_hash, cur_hash, HASH_LEN);
		if (check_heads(opts, path, last_seq, last_hash, err) < 0) {
			res->bad_seq = last_seq;
			goto out;
		}
		res->head.end = off;
	}
	res->entries = last_seq;
	if (torn_pending) {
		res->bad_seq = last_seq + 1;
		vs_fail(err, VS_ERR_DENIED, path,
			"seq %" PRIu64 ": torn last line (line %" PRIu64 ", a crash during an append?): %s",
			last_seq + 1, torn_line, torn_why.reason);
		goto out;
	}
	for (size_t i = 0; opts && i < opts->nheads; i++) {
		const struct audit_head *h = &opts->heads[i];

		if (h->seq > last_seq) {
			res->bad_seq = last_seq + 1;
			vs_fail(err, VS_ERR_DENIED, path,
				"seq %" PRIu64 ": audit log truncated or replaced: %s is at seq %" PRIu64 ", the log ends at seq %" PRIu64,
				last_seq + 1, head_name(opts, i), h->seq, last_seq);
			goto out;
		}
		if (h->seq && first_seq && h->seq < first_seq) {
			res->bad_seq = h->seq;
			vs_fail(err, VS_ERR_DENIED, path,
				"seq %" PRIu64 ": %s is before this log's first entry (seq %" PRIu64 "): verify the log it is in",
				h->seq, head_name(opts, i), first_seq);
			goto out;
		}
	}
	res->first_seq = first_seq;
	res->head.seq = last_seq;
	memcpy(res->head.hash, last_hash, HASH_LEN);
	ret = 0;
out:
	if (ret < 0)
		res->entries = last_seq;
	reader_close(r);
	return ret;
}

int audit_verify_file(const char *path, uint64_t *entries, uint64_t *bad_seq, struct vs_error *err)
{
	struct audit_verify_result res;
	int ret = audit_verify(path, &res, err);

	if (entries)
		*entries = res.entries;
	if (bad_seq)
		*bad_seq = ret < 0 ? res.bad_seq : 0;
	return ret;
}

int audit_foreach(const char *path, uint64_t since, audit_entry_fn fn, audit_bad_line_fn bad,
		  void *arg, struct vs_error *err)
{
	struct line_reader *r = NULL;
	int ret = 0;

	if (reader_open(path, &r, err) < 0)
		return -1;
	for (;;) {
		const char *line;
		size_t len;
		int too_long, has_nl, rc = lr_next(r, &line, &len, &too_long, &has_nl);
		struct audit_entry e;
		struct vs_error why = {0};

		if (rc < 0) {
			ret = vs_fail(err, VS_ERR_IO, path, "read failed: %s", strerror(errno));
			break;
		}
		if (rc == 0)
			break;
		if (too_long)
			vs_fail(&why, VS_ERR_INPUT, NULL, "line longer than %u bytes", VS_MAX_AUDIT_LINE_BYTES);
		if (too_long || audit_parse_line(line, len, &e, &why) < 0) {
			if (bad)
				bad(r->lineno, &why, arg);
			continue;
		}
		if (e.seq >= since)
			ret = fn(&e, line, len, arg);
		audit_entry_clear(&e);
		if (ret)
			break;
	}
	reader_close(r);
	return ret;
}

/* ---- heads, head files, rotation ---- */

/* The head of what log wrote, its mutex held by the caller. */
static void head_of(const struct audit_log *log, struct audit_head *h)
{
	h->seq = log->last_seq;
	memcpy(h->hash, log->last_hash, HASH_LEN);
	h->end = log->cached_end > 0 ? (uint64_t)log->cached_end : 0;
}

void audit_log_head(struct audit_log *log, struct audit_head *h)
{
	pthread_mutex_lock(&log->mu);
	head_of(log, h);
	pthread_mutex_unlock(&log->mu);
}

int audit_head_check(const char *path, const struct audit_head *h, struct vs_error *err)
{
	size_t n;
	char *buf = NULL, *nl;
	struct audit_entry e;
	struct stat st;
	uint8_t hash[HASH_LEN];
	int fd, ret = -1;

	if (h->seq == 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return vs_fail(err, VS_ERR_DENIED, path,
				       "audit log truncated or replaced: it is gone, the head is at seq %" PRIu64, h->seq);
		return vs_fail(err, VS_ERR_IO, path, "cannot open audit log: %s", strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		vs_fail(err, VS_ERR_IO, path, "audit log is not a regular file");
		goto out;
	}
	if (h->end == 0 || (uint64_t)st.st_size < h->end) {
		vs_fail(err, VS_ERR_DENIED, path,
			"audit log truncated or replaced: %lld bytes, the head (seq %" PRIu64 ") ends at byte %" PRIu64,
			(long long)st.st_size, h->seq, h->end);
		goto out;
	}
	n = h->end > VS_MAX_AUDIT_LINE_BYTES + 1 ? VS_MAX_AUDIT_LINE_BYTES + 1 : (size_t)h->end;
	buf = malloc(n);
	if (!buf || pread_full(fd, buf, n, (off_t)(h->end - n)) < 0) {
		vs_fail(err, VS_ERR_IO, path, "cannot read: %s", buf ? strerror(errno) : "out of memory");
		goto out;
	}
	if (buf[n - 1] != '\n') {
		vs_fail(err, VS_ERR_DENIED, path, "audit log truncated or replaced: no entry ends where seq %" PRIu64 " did",
			h->seq);
		goto out;
	}
	nl = n > 1 ? memrchr(buf, '\n', n - 1) : NULL;
	if (!nl && h->end > n) {
		vs_fail(err, VS_ERR_DENIED, path, "audit log truncated or replaced: no entry ends where seq %" PRIu64 " did",
			h->seq);
		goto out;
	}
	{
		char *line = nl ? nl + 1 : buf;
		size_t len = (size_t)(buf + n - 1 - line);

		sha256(line, len, hash);
		if (audit_parse_line(line, len, &e, NULL) < 0 || e.seq != h->seq || memcmp(hash, h->hash, HASH_LEN)) {
			if (e.seq)
				audit_entry_clear(&e);
			vs_fail(err, VS_ERR_DENIED, path,
				"audit log truncated or replaced: the entry at seq %" PRIu64 " is not the one the head recorded",
				h->seq);
			goto out;
		}
		audit_entry_clear(&e);
	}
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

int audit_head_parse(const char *json, size_t len, const char *object, char *log_path, size_t log_len,
		     struct audit_head *h, struct vs_error *err)
{
	static const char *const fields[] = {"log", "seq", "hash", "end", NULL};
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	int ret = -1;

	memset(h, 0, sizeof(*h));
	if (!root)
		return vs_fail(err, VS_ERR_INPUT, object, "audit head is not valid JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, object, "audit head is not a JSON object");
		goto out;
	}
	if (json_check_fields(root, fields, "audit head", object, err) < 0)
		goto out;
	v = json_object_get(root, "log");
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= log_len) {
		vs_fail(err, VS_ERR_INPUT, object, "audit head: log must be a path");
		goto out;
	}
	memcpy(log_path, json_string_value(v), json_string_length(v) + 1);
	v = json_object_get(root, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "audit head: seq must be a non-negative integer");
		goto out;
	}
	h->seq = (uint64_t)json_integer_value(v);
	v = json_object_get(root, "end");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (h->seq && json_integer_value(v) == 0)) {
		vs_fail(err, VS_ERR_INPUT, object, "audit head: end must be a byte offset");
		goto out;
	}
	h->end = (uint64_t)json_integer_value(v);
	v = json_object_get(root, "hash");
	if (!json_is_string(v) || json_string_length(v) != HEX_LEN ||
	    strspn(json_string_value(v), "0123456789abcdef") != HEX_LEN ||
	    hex_decode(json_string_value(v), h->hash, HASH_LEN) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "audit head: hash must be 64 lowercase hex digits");
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int audit_head_load(const char *path, char *log_path, size_t log_len, struct audit_head *h, int *exists,
		    struct vs_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	memset(h, 0, sizeof(*h));
	*exists = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (file_read_all(path, 4096, &buf, &len, err) < 0)
		return -1;
	*exists = 1;
	ret = audit_head_parse(buf, len, path, log_path, log_len, h, err);
	free(buf);
	return ret;
}

static int head_write(const char *path, const char *log_path, const struct audit_head *h, int may_lag,
		      struct vs_error *err)
{
	char hex[HEX_LEN + 1], *s;
	json_t *o;
	int ret;

	hex_encode(h->hash, HASH_LEN, hex);
	o = json_pack("{s:s, s:I, s:s, s:I}", "log", log_path, "seq", (json_int_t)h->seq, "hash", hex, "end",
		      (json_int_t)h->end);
	s = o ? json_dumps(o, JSON_OUT_FLAGS) : NULL;
	json_decref(o);
	if (!s)
		return vs_fail(err, VS_ERR_INTERNAL, path, "cannot encode the audit head");
	ret = may_lag ? file_replace_may_lag(path, s, strlen(s), 0600, err)
		      : file_write_atomic(path, s, strlen(s), 0600, 1, err);
	free(s);
	return ret;
}

int audit_head_save(const char *path, const char *log_path, const struct audit_head *h,
		    struct vs_error *err)
{
	return head_write(path, log_path, h, 0, err);
}

/* The device of the directory path is in (its file system), or (dev_t)-1. */
static dev_t dir_dev(const char *path)
{
	char dir[VS_PATH_TMP_MAX];
	struct stat st;

	return vs_path_dir(path, dir, sizeof(dir)) == 0 && stat(dir, &st) == 0 ? st.st_dev : (dev_t)-1;
}

int audit_head_advance(const char *path, struct audit_log *log, const char *log_path,
		       struct vs_error *err)
{
	char cur_log[VS_MAX_PATH_BYTES];
	struct audit_head h, cur;
	struct vs_error lerr = {0};
	struct stat st;
	int exists = 0, ret = 0;

	struct stat fst;

	/* The handle's mutex, then the log's lock (as an append takes them), which a rotation
	 * holds while it moves the path on. */
	pthread_mutex_lock(&log->mu);
	while (flock(log->fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			pthread_mutex_unlock(&log->mu);
			return vs_fail(err, VS_ERR_IO, log_path, "cannot lock: %s", strerror(errno));
		}
	/* The head is this handle's to move only while log_path still names the file it wrote,
	 * and only to an entry the file still holds (not one a truncation, acknowledged since,
	 * took away). */
	if (stat(log_path, &st) < 0 || st.st_dev != log->dev || st.st_ino != log->ino)
		goto out;
	head_of(log, &h);
	if (fstat(log->fd, &fst) < 0 || h.end == 0 || (uint64_t)fst.st_size < h.end)
		goto out;
	/* Forward only: another writer's later head (or one this process cannot read, which the
	 * next head check reports) stays. */
	if (audit_head_load(path, cur_log, sizeof(cur_log), &cur, &exists, &lerr) < 0 ||
	    (exists && !strcmp(cur_log, log_path) && cur.seq >= h.seq))
		goto out;
	/* One flush (the rename left to the file system) only when the head lives on the log's
	 * file system, whose next commit, at the log's next fdatasync on a journaling one, takes
	 * the rename with it; the first head file, or one elsewhere: made durable now. */
	ret = head_write(path, log_path, &h, exists && dir_dev(path) == st.st_dev, err);
out:
	flock(log->fd, LOCK_UN);
	pthread_mutex_unlock(&log->mu);
	return ret;
}

int audit_rotate(const char *path, const char *rotated, const char *actor, struct audit_head *seal,
		 struct audit_head *cont, struct vs_error *err)
{
	struct audit_log *log = NULL;
	struct stat st;
	char *sline = NULL, *cline = NULL, *cbuf = NULL, reason[VS_MAX_PATH_BYTES + 32];
	size_t slen = 0, clen = 0;
	uint8_t seal_hash[HASH_LEN];
	int locked = 0, linked = 0, ret = -1;

	if (audit_open(path, &log, err) < 0)
		return -1;
	while (flock(log->fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			vs_fail(err, VS_ERR_IO, path, "cannot lock: %s", strerror(errno));
			goto out;
		}
	}
	locked = 1;
	if (fstat(log->fd, &st) < 0 || tail_scan(log, st.st_size, err) < 0) {
		if (!err->reason[0])
			vs_fail(err, VS_ERR_IO, path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (log->sealed) {
		vs_fail(err, VS_ERR_INPUT, path, "already sealed by a rotation");
		goto out;
	}
	snprintf(reason, sizeof(reason), "continues in %s", path);
	if (format_event(log->last_seq + 1,
			 &(struct audit_event){.actor = actor, .event = AUDIT_EVENT_ROTATE, .object = rotated,
					       .decision = "info", .reason = reason},
			 log->last_hash, &sline, &slen, err) < 0)
		goto out;
	sha256(sline, slen, seal_hash);
	snprintf(reason, sizeof(reason), "continues %s", rotated);
	if (format_event(log->last_seq + 2,
			 &(struct audit_event){.actor = actor, .event = AUDIT_EVENT_CONTINUE, .object = path,
					       .decision = "info", .reason = reason},
			 seal_hash, &cline, &clen, err) < 0)
		goto out;
	/* Old file first gets its second name (fails if rotated exists: nothing changed yet). */
	if (link(path, rotated) < 0) {
		vs_fail(err, VS_ERR_IO, rotated, "cannot link the rotated log: %s", strerror(errno));
		goto out;
	}
	linked = 1;
	{
		char *buf = malloc(slen + 2);
		size_t n = 0;
		char c = '\n';

		if (!buf) {
			vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
			goto out;
		}
		if (st.st_size > 0 && pread_full(log->fd, &c, 1, st.st_size - 1) == 0 && c != '\n')
			buf[n++] = '\n';
		memcpy(buf + n, sline, slen);
		n += slen;
		buf[n++] = '\n';
		if (write_full(log->fd, buf, n) < 0 || fdatasync(log->fd) < 0) {
			free(buf);
			vs_fail(err, VS_ERR_IO, path, "cannot write the seal: %s", strerror(errno));
			goto out;
		}
		free(buf);
	}
	seal->seq = log->last_seq + 1;
	memcpy(seal->hash, seal_hash, HASH_LEN);
	seal->end = 0;
	cbuf = malloc(clen + 1);
	if (!cbuf) {
		vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
		goto out;
	}
	memcpy(cbuf, cline, clen);
	cbuf[clen] = '\n';
	/* The new file replaces the path atomically: every appender finds either the old file
	 * (sealed: it follows the path) or the new one. */
	if (file_write_atomic(path, cbuf, clen + 1, 0600, 1, err) < 0)
		goto out;
	cont->seq = log->last_seq + 2;
	sha256(cline, clen, cont->hash);
	cont->end = clen + 1;
	linked = 0;
	ret = 0;
out:
	if (linked)
		unlink(rotated);
	if (locked)
		flock(log->fd, LOCK_UN);
	audit_close(log);
	free(sline);
	free(cline);
	free(cbuf);
	return ret;
}

int audit_continue(const char *path, const char *prev_path, const char *actor, struct audit_head *cont,
		   struct vs_error *err)
{
	struct audit_log *prev = NULL;
	struct stat st;
	char *line = NULL, *buf = NULL, reason[VS_MAX_PATH_BYTES + 16];
	size_t len = 0;
	int ret = -1;

	memset(cont, 0, sizeof(*cont));
	if (lstat(path, &st) == 0 && st.st_size > 0)
		return 0;
	if (audit_open(prev_path, &prev, err) < 0)
		return -1;
	while (flock(prev->fd, LOCK_SH) < 0 && errno == EINTR)
		;
	if (fstat(prev->fd, &st) < 0 || tail_scan(prev, st.st_size, err) < 0) {
		if (!err->reason[0])
			vs_fail(err, VS_ERR_IO, prev_path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	snprintf(reason, sizeof(reason), "continues %s", prev_path);
	if (format_event(prev->last_seq + 1,
			 &(struct audit_event){.actor = actor, .event = AUDIT_EVENT_CONTINUE, .object = path,
					       .decision = "info", .reason = reason},
			 prev->last_hash, &line, &len, err) < 0)
		goto out;
	buf = malloc(len + 1);
	if (!buf) {
		vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
		goto out;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	if (lstat(path, &st) == 0) /* an empty file someone created: take its place */
		unlink(path);
	/* Never overwrite: when another process continued it first, its file stands. */
	if (file_write_atomic(path, buf, len + 1, 0600, 0, err) < 0) {
		if (lstat(path, &st) == 0 && st.st_size > 0) {
			vs_error_clear(err);
			ret = 0;
		}
		goto out;
	}
	cont->seq = prev->last_seq + 1;
	sha256(line, len, cont->hash);
	cont->end = len + 1;
	ret = 0;
out:
	if (prev)
		flock(prev->fd, LOCK_UN);
	audit_close(prev);
	free(line);
	free(buf);
	return ret;
}
