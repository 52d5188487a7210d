/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/audit.c: chain, tamper detection, torn lines, concurrency, group commit. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "common_cunit.h"
#include "lib/audit.h"
#include "lib/limits.h"
#include "lib/util.h"

#define MAX_FILE (64u << 20)

static char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int i;
	char *p = buf[i++ % 8];

	snprintf(p, 512, "%s/%s", test_tmpdir(), name);
	unlink(p);
	return p;
}

static int append_n(const char *path, int n, const char *tag)
{
	struct audit_log *log;
	struct vs_error err = {0};
	char obj[64];

	if (audit_open(path, &log, &err) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct audit_event ev = {"hook", "hook.start", obj, "deny", "policy says no"};

		snprintf(obj, sizeof(obj), "domain %s%d disk vda", tag, i);
		if (audit_append_nosync(log, &ev, &err) < 0) {
			audit_close(log);
			return -1;
		}
	}
	audit_close(log);
	return 0;
}

static char *slurp(const char *path, size_t *len)
{
	char *d = NULL;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(file_read_all(path, MAX_FILE, &d, len, &err), 0);
	return d;
}

static void spit(const char *path, const char *d, size_t len)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(d, 1, len, f), len);
	fclose(f);
}

/* Offset of the start of line k (1-based) in d, or len when there are fewer lines. */
static size_t line_off(const char *d, size_t len, int k)
{
	size_t o = 0;

	for (int i = 1; i < k && o < len; i++) {
		const char *nl = memchr(d + o, '\n', len - o);

		if (!nl)
			return len;
		o = (size_t)(nl - d) + 1;
	}
	return o;
}

static int verify(const char *path, struct audit_verify_result *res, struct vs_error *err)
{
	memset(err, 0, sizeof(*err));
	return audit_verify(path, res, err);
}

static void expect_broken(const char *path, uint64_t seq, const char *reason_part)
{
	struct audit_verify_result res;
	struct vs_error err;
	char want[32];

	CU_ASSERT_EQUAL(verify(path, &res, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_EQUAL(res.bad_seq, seq);
	snprintf(want, sizeof(want), "seq %llu:", (unsigned long long)seq);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, want));
	if (reason_part)
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, reason_part));
	if (res.bad_seq != seq || (reason_part && !strstr(err.reason, reason_part)))
		fprintf(stderr, "\n  want seq %llu (%s), got %llu: %s\n", (unsigned long long)seq,
			reason_part ? reason_part : "", (unsigned long long)res.bad_seq, err.reason);
}

static void expect_ok(const char *path, uint64_t entries, uint64_t torn)
{
	struct audit_verify_result res;
	struct vs_error err;
	int rc = verify(path, &res, &err);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(res.entries, entries);
	CU_ASSERT_EQUAL(res.torn_skipped, torn);
	if (rc != 0 || res.entries != entries || res.torn_skipped != torn)
		fprintf(stderr, "\n  want ok %llu (torn %llu), got rc %d entries %llu torn %llu: %s\n",
			(unsigned long long)entries, (unsigned long long)torn, rc,
			(unsigned long long)res.entries, (unsigned long long)res.torn_skipped, err.reason);
}

static void test_chain_ok(void)
{
	char *p = tmp_path("chain.log");
	size_t len, o2;
	char *d;
	uint8_t h[32];
	char hex[65], want[80];
	unsigned int hl = 32;
	struct stat st;
	uint64_t entries = 0, bad = 99;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(append_n(p, 20, "web"), 0);
	expect_ok(p, 20, 0);
	CU_ASSERT_EQUAL(audit_verify_file(p, &entries, &bad, &err), 0);
	CU_ASSERT_EQUAL(entries, 20);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	d = slurp(p, &len);
	/* The format, checked independently of the library: first prev is zeros, the second
	 * line's prev is SHA-256 of the first line without its newline. */
	CU_ASSERT(strncmp(d, "{\"seq\":1,\"time\":\"", 17) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(d, "\"actor\":\"hook\",\"event\":\"hook.start\",\"object\":\"domain web0 disk vda\","
					 "\"decision\":\"deny\",\"reason\":\"policy says no\",\"prev\":\""
					 "0000000000000000000000000000000000000000000000000000000000000000\"}\n"));
	o2 = line_off(d, len, 2);
	EVP_Digest(d, o2 - 1, h, &hl, EVP_sha256(), NULL);
	hex_encode(h, 32, hex);
	snprintf(want, sizeof(want), "\"prev\":\"%s\"}\n", hex);
	CU_ASSERT(memcmp(d + line_off(d, len, 3) - strlen(want), want, strlen(want)) == 0);
	CU_ASSERT(strncmp(d + o2, "{\"seq\":2,", 9) == 0);
	free(d);
}

static void test_empty_and_missing(void)
{
	char *p = tmp_path("empty.log");
	struct audit_verify_result res;
	struct vs_error err;

	spit(p, "", 0);
	expect_ok(p, 0, 0);
	CU_ASSERT_EQUAL(verify(tmp_path("nonexistent.log"), &res, &err), -1);
	/* not found: an error that prevented a verdict (exit 2), never a denial */
	CU_ASSERT_EQUAL(err.kind, VS_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(vs_error_exit_code(&err), 2);
}

/* Replaces the first occurrence of from (within line k) with to. */
static void edit_line(const char *p, int k, const char *from, const char *to)
{
	size_t len, o;
	char *d = slurp(p, &len), *at, *nd;

	o = line_off(d, len, k);
	at = strstr(d + o, from);
	CU_ASSERT_PTR_NOT_NULL_FATAL(at);
	CU_ASSERT_FATAL(at < d + line_off(d, len, k + 1));
	nd = malloc(len + strlen(to) + 1);
	memcpy(nd, d, (size_t)(at - d));
	strcpy(nd + (at - d), to);
	strcat(nd, at + strlen(from));
	spit(p, nd, strlen(nd));
	free(nd);
	free(d);
}

static void test_tamper_one_byte(void)
{
	char *p = tmp_path("tamper.log");

	/* a byte in the object: still a valid entry, but its hash no longer matches seq 11's prev */
	CU_ASSERT_EQUAL_FATAL(append_n(p, 20, "web"), 0);
	edit_line(p, 10, "web9", "wfb9");
	expect_broken(p, 10, "altered");

	/* the decision: deny → deby */
	CU_ASSERT_EQUAL_FATAL(append_n(p = tmp_path("tamper2.log"), 20, "web"), 0);
	edit_line(p, 7, "deny", "deby");
	expect_broken(p, 7, "altered");

	/* a byte that makes the line invalid JSON */
	CU_ASSERT_EQUAL_FATAL(append_n(p = tmp_path("tamper3.log"), 20, "web"), 0);
	edit_line(p, 10, "\"object\"", "\"object ");
	expect_broken(p, 10, "not a valid entry");

	/* its own prev: both of its links break, so it is named rather than seq 9 */
	CU_ASSERT_EQUAL_FATAL(append_n(p = tmp_path("tamper4.log"), 20, "web"), 0);
	edit_line(p, 10, "\"prev\":\"", "\"prev\":\"0");
	{
		size_t len;
		char *d = slurp(p, &len);
		size_t o = line_off(d, len, 11) - 4; /* drop its last hex digit: 64 again */

		memmove(d + o, d + o + 1, len - o - 1);
		spit(p, d, len - 1);
		free(d);
	}
	expect_broken(p, 10, "altered");

	/* seq digits */
	CU_ASSERT_EQUAL_FATAL(append_n(p = tmp_path("tamper5.log"), 20, "web"), 0);
	edit_line(p, 12, "\"seq\":12", "\"seq\":13");
	expect_broken(p, 12, NULL);

	/* the first entry's prev */
	CU_ASSERT_EQUAL_FATAL(append_n(p = tmp_path("tamper6.log"), 5, "web"), 0);
	edit_line(p, 1, "\"prev\":\"0", "\"prev\":\"1");
	expect_broken(p, 1, "64 zeros");

	/* non-canonical spelling of the same entry */
	CU_ASSERT_EQUAL_FATAL(append_n(p = tmp_path("tamper7.log"), 5, "web"), 0);
	edit_line(p, 3, "\"seq\":3,", "\"seq\": 3,");
	expect_broken(p, 3, "canonical");
}

static void test_delete_and_reorder(void)
{
	char *p = tmp_path("delete.log");
	size_t len, a, b, c;
	char *d, *nd;

	CU_ASSERT_EQUAL_FATAL(append_n(p, 20, "web"), 0);
	d = slurp(p, &len);
	a = line_off(d, len, 10);
	b = line_off(d, len, 11);
	c = line_off(d, len, 12);
	nd = malloc(len);
	/* delete line 10 */
	memcpy(nd, d, a);
	memcpy(nd + a, d + b, len - b);
	spit(p, nd, len - (b - a));
	expect_broken(p, 10, "missing");
	/* swap lines 10 and 11 */
	memcpy(nd, d, a);
	memcpy(nd + a, d + b, c - b);
	memcpy(nd + a + (c - b), d + a, b - a);
	memcpy(nd + c, d + c, len - c);
	spit(p, nd, len);
	expect_broken(p, 10, "out of order");
	/* duplicate line 10 */
	free(nd);
	nd = malloc(len + (b - a));
	memcpy(nd, d, b);
	memcpy(nd + b, d + a, len - a);
	spit(p, nd, len + (b - a));
	expect_broken(p, 11, "out of order or repeated");
	free(nd);
	free(d);
}

static void test_torn_last_line(void)
{
	char *p = tmp_path("torn.log");
	struct audit_log *log = NULL;
	struct vs_error err = {0};
	struct audit_event ev = {"gateway", "http.request", "GET /v1/domains", "allow", NULL};
	struct audit_verify_result res;
	size_t len, o;
	char *d;
	uint64_t seq = 0;

	CU_ASSERT_EQUAL_FATAL(append_n(p, 20, "web"), 0);
	/* a handle opened before the crash: its cache must not survive the size change */
	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL(audit_append_seq(log, &ev, 0, &seq, &err), 0);
	CU_ASSERT_EQUAL(seq, 21);
	d = slurp(p, &len);
	o = line_off(d, len, 21);
	CU_ASSERT_EQUAL(truncate(p, (off_t)(o + 40)), 0); /* seq 21 cut in the middle */
	expect_broken(p, 21, "torn last line");
	CU_ASSERT_EQUAL(audit_append_seq(log, &ev, 1, &seq, &err), 0);
	CU_ASSERT_EQUAL(seq, 21);
	expect_ok(p, 21, 1);
	CU_ASSERT_EQUAL(verify(p, &res, &err), 0);
	CU_ASSERT_EQUAL(res.first_torn_after, 20);
	free(d);
	/* the fragment stays a line of its own */
	d = slurp(p, &len);
	CU_ASSERT(memcmp(d + o, "{\"seq\":21,", 10) == 0);
	CU_ASSERT_EQUAL(d[o + 40], '\n');
	free(d);

	/* two crashes in a row, seen by a fresh handle */
	CU_ASSERT_EQUAL(truncate(p, (off_t)(len - 7)), 0);
	expect_broken(p, 21, "torn last line");
	CU_ASSERT_EQUAL(append_n(p, 1, "x"), 0);
	d = slurp(p, &len);
	CU_ASSERT_EQUAL(truncate(p, (off_t)(len - 100)), 0);
	free(d);
	CU_ASSERT_EQUAL(append_n(p, 2, "y"), 0);
	expect_ok(p, 22, 3);

	/* a torn line that the chain did not resume over is named */
	d = slurp(p, &len);
	o = line_off(d, len, 24); /* lines 21-23 are fragments, seq 21 is line 24 */
	spit(p, d, o);            /* drop from seq 21 on, keep both fragments before it */
	{
		char *d2;
		size_t l2;

		d2 = slurp(p, &l2);
		CU_ASSERT(l2 > 0 && d2[l2 - 1] == '\n');
		free(d2);
	}
	expect_broken(p, 21, "torn last line");
	free(d);
	audit_close(log);
}

static void test_lost_newline_only(void)
{
	char *p = tmp_path("nl.log");
	size_t len;
	char *d;

	CU_ASSERT_EQUAL_FATAL(append_n(p, 5, "web"), 0);
	d = slurp(p, &len);
	CU_ASSERT_EQUAL(truncate(p, (off_t)(len - 1)), 0);
	expect_ok(p, 5, 0); /* a complete entry that lost only its newline is intact */
	CU_ASSERT_EQUAL(append_n(p, 1, "x"), 0);
	expect_ok(p, 6, 0);
	free(d);
}

static void test_garbage_lines(void)
{
	char *p = tmp_path("garbage.log");
	size_t len, o;
	char *d, *nd;
	static const char junk[] = "hello world\n";
	static const char frag[] = "{\"seq\":11,\"time\":\"2026\n";
	static const char wrongfrag[] = "{\"seq\":12,\"time\":\"2026\n";

	CU_ASSERT_EQUAL_FATAL(append_n(p, 20, "web"), 0);
	d = slurp(p, &len);
	o = line_off(d, len, 11);
	nd = malloc(len + 100);
	/* junk between seq 10 and 11 is not a crash fragment */
	memcpy(nd, d, o);
	memcpy(nd + o, junk, strlen(junk));
	memcpy(nd + o + strlen(junk), d + o, len - o);
	spit(p, nd, len + strlen(junk));
	expect_broken(p, 11, "line 11 is not a valid entry");
	/* a fragment of seq 11 with the chain resuming over it is what a crash leaves */
	memcpy(nd + o, frag, strlen(frag));
	memcpy(nd + o + strlen(frag), d + o, len - o);
	spit(p, nd, len + strlen(frag));
	expect_ok(p, 20, 1);
	/* a fragment claiming another seq is not */
	memcpy(nd + o, wrongfrag, strlen(wrongfrag));
	memcpy(nd + o + strlen(wrongfrag), d + o, len - o);
	spit(p, nd, len + strlen(wrongfrag));
	expect_broken(p, 11, "not a valid entry");
	/* an over-long line */
	free(nd);
	nd = malloc(len + VS_MAX_AUDIT_LINE_BYTES + 10);
	memcpy(nd, d, o);
	memset(nd + o, 'x', VS_MAX_AUDIT_LINE_BYTES + 5);
	nd[o + VS_MAX_AUDIT_LINE_BYTES + 5] = '\n';
	memcpy(nd + o + VS_MAX_AUDIT_LINE_BYTES + 6, d + o, len - o);
	spit(p, nd, len + VS_MAX_AUDIT_LINE_BYTES + 6);
	expect_broken(p, 11, "longer than");
	/* the appender still finds the last entry behind an over-long tail */
	spit(p, nd, o + VS_MAX_AUDIT_LINE_BYTES + 6);
	CU_ASSERT_EQUAL(append_n(p, 1, "z"), 0);
	d = (free(d), slurp(p, &len));
	CU_ASSERT(strncmp(d + o + VS_MAX_AUDIT_LINE_BYTES + 6, "{\"seq\":11,", 10) == 0);
	free(nd);
	free(d);
}

static void test_parse_line_rejects(void)
{
	static const char good[] =
		"{\"seq\":7,\"time\":\"2026-11-23T12:00:00Z\",\"actor\":\"a\",\"event\":\"e\",\"object\":\"o\","
		"\"decision\":\"deny\",\"reason\":\"r\",\"prev\":"
		"\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}";
	static const struct { const char *from, *to, *why; } bad[] = {
		{"\"seq\":7", "\"seq\":0", "not positive"},
		{"\"seq\":7", "\"seq\":-7", "not positive"},
		{"\"seq\":7", "\"seq\":\"7\"", "not an integer"},
		{"\"seq\":7", "\"seq\":7.0", "not an integer"},
		{"\"seq\":7", "\"seq\":99999999999999999999", "JSON"},
		{"\"actor\":\"a\"", "\"actor\":1", "not a string"},
		{"\"reason\":\"r\"", "\"reason\":null", "not a string"},
		{"\"reason\":\"r\",", "", "missing \"reason\""},
		{"\"reason\":\"r\",", "\"reason\":\"r\",\"reason\":\"s\",", "JSON"},
		{"\"reason\":\"r\",", "\"reason\":\"r\",\"extra\":\"s\",", "keys"},
		{"2026-11-23T12:00:00Z", "2026-11-23T12:00:00+01:00", "RFC 3339"},
		{"2026-11-23T12:00:00Z", "yesterday", "RFC 3339"},
		{"0123456789abcdef\"", "0123456789abcdeF\"", "lowercase hex"},
		{"0123456789abcdef\"", "0123456789abcde\"", "lowercase hex"},
		{"0123456789abcdef\"", "0123456789abcdeg\"", "lowercase hex"},
		{"\"object\":\"o\"", "\"object\":\"\\u006f\"", "canonical"},
		{"\"object\":\"o\"", "\"object\" : \"o\"", "canonical"},
		{"\"object\":\"o\",\"decision\":\"deny\"", "\"decision\":\"deny\",\"object\":\"o\"", "canonical"},
		{"\"object\":\"o\"", "\"object\":\"\\u0000\"", "JSON"},
		{"{", "[{", "JSON"},
		{"}", "}x", "JSON"},
	};
	struct audit_entry e;
	struct vs_error err = {0};
	char line[1024];

	CU_ASSERT_EQUAL_FATAL(audit_parse_line(good, strlen(good), &e, &err), 0);
	CU_ASSERT_EQUAL(e.seq, 7);
	CU_ASSERT_STRING_EQUAL(e.decision, "deny");
	CU_ASSERT_STRING_EQUAL(e.time, "2026-11-23T12:00:00Z");
	audit_entry_clear(&e);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *at = strstr(good, bad[i].from);

		CU_ASSERT_PTR_NOT_NULL_FATAL(at);
		snprintf(line, sizeof(line), "%.*s%s%s", (int)(at - good), good, bad[i].to,
			 at + strlen(bad[i].from));
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(audit_parse_line(line, strlen(line), &e, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, bad[i].why));
		if (!strstr(err.reason, bad[i].why))
			fprintf(stderr, "\n  case %zu: want \"%s\", got \"%s\"\n", i, bad[i].why, err.reason);
		CU_ASSERT_PTR_NULL(e.actor);
	}
	CU_ASSERT_EQUAL(audit_parse_line("", 0, &e, &err), -1);
	CU_ASSERT_EQUAL(audit_parse_line(good, VS_MAX_AUDIT_LINE_BYTES + 1, &e, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "exceeds"));
}

struct collect {
	uint64_t n, first;
	char reason[VS_MAX_AUDIT_LINE_BYTES];
	char object[256];
};

static int collect_entry(const struct audit_entry *e, const char *line, size_t len, void *arg)
{
	struct collect *c = arg;

	(void)line; (void)len;
	if (c->n++ == 0)
		c->first = e->seq;
	snprintf(c->reason, sizeof(c->reason), "%s", e->reason);
	snprintf(c->object, sizeof(c->object), "%s", e->object);
	return 0;
}

static void test_escaping_and_limits(void)
{
	char *p = tmp_path("escape.log");
	struct vs_error err = {0};
	struct collect c = {0};
	struct audit_event ev = {"hook", "hook.start", "disk \"vda\"\n{\"seq\":99}\x1b[31m", "deny",
				 "bad \xff\xfe byte \xc3\xa9"};
	char *big = malloc(100000);
	size_t len;
	char *d;

	CU_ASSERT_EQUAL(audit_record(p, &ev, &err), 0);
	memset(big, 0x01, 99999); /* control characters expand six-fold when escaped */
	big[99999] = '\0';
	ev.reason = big;
	CU_ASSERT_EQUAL(audit_record(p, &ev, &err), 0);
	CU_ASSERT_EQUAL(audit_record(NULL, &ev, &err), 0);
	expect_ok(p, 2, 0);
	d = slurp(p, &len);
	CU_ASSERT_EQUAL(line_off(d, len, 3), len); /* one line each: embedded newlines escaped */
	CU_ASSERT(line_off(d, len, 2) < len);
	CU_ASSERT(len - line_off(d, len, 2) <= VS_MAX_AUDIT_LINE_BYTES + 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(d, "\\u001B[31m"));
	free(d);
	CU_ASSERT_EQUAL(audit_foreach(p, 1, collect_entry, NULL, &c, &err), 0);
	CU_ASSERT_EQUAL(c.n, 2);
	CU_ASSERT_STRING_EQUAL(c.object, "disk \"vda\"\n{\"seq\":99}\x1b[31m");
	CU_ASSERT_PTR_NOT_NULL(strstr(c.reason, "[truncated]"));
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(audit_foreach(p, 2, collect_entry, NULL, &c, &err), 0);
	CU_ASSERT_EQUAL(c.n, 1);
	CU_ASSERT_EQUAL(c.first, 2);
	memset(&c, 0, sizeof(c));
	ev.reason = "bad \xff\xfe byte \xc3\xa9";
	CU_ASSERT_EQUAL(audit_record(p, &ev, &err), 0);
	CU_ASSERT_EQUAL(audit_foreach(p, 3, collect_entry, NULL, &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.reason, "bad \\xff\\xfe byte \xc3\xa9");
	/* an event without actor, event or decision is refused */
	ev.actor = "";
	CU_ASSERT_EQUAL(audit_record(p, &ev, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_USAGE);
	ev.actor = "hook";
	ev.decision = NULL;
	CU_ASSERT_EQUAL(audit_record(p, &ev, &err), -1);
	expect_ok(p, 3, 0);
	free(big);
}

static void test_refuses_symlink(void)
{
	char *p = tmp_path("link.log"), *target = tmp_path("target.log");
	struct audit_log *log = NULL;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(symlink(target, p), 0);
	CU_ASSERT_EQUAL(audit_open(p, &log, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_IO);
	CU_ASSERT_EQUAL(access(target, F_OK), -1);
}

static void test_follows_rotation(void)
{
	char *p = tmp_path("rot.log"), *old = tmp_path("rot.log.1");
	struct audit_log *log = NULL;
	struct vs_error err = {0};
	struct audit_event ev = {"hook", "hook.start", "x", "allow", NULL};
	uint64_t seq = 0;

	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL(audit_append(log, &ev, &err), 0);
	CU_ASSERT_EQUAL(audit_append(log, &ev, &err), 0);
	CU_ASSERT_EQUAL(rename(p, old), 0);
	usleep(1000100); /* the path is checked once per second */
	CU_ASSERT_EQUAL(audit_append_seq(log, &ev, 1, &seq, &err), 0);
	CU_ASSERT_EQUAL(seq, 1);
	expect_ok(old, 2, 0);
	expect_ok(p, 1, 0);
	audit_close(log);
}

/* A handle opened before vmseal-audit rotate follows at once (the seal tells it), so the
 * chain goes on in the new file: seal, continuation, then this append. */
static void test_rotate_seal_and_continue(void)
{
	char *p = tmp_path("seal.log"), *old = tmp_path("seal.log.1");
	struct audit_log *log = NULL, *fresh = NULL;
	struct vs_error err = {0};
	struct audit_event ev = {"hook", "hook.start", "x", "allow", NULL};
	struct audit_head seal, cont, h;
	struct audit_verify_result res;
	struct audit_verify_opts vo = {0};
	uint64_t seq = 0;

	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL(audit_append(log, &ev, &err), 0);
	CU_ASSERT_EQUAL(audit_append(log, &ev, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_rotate(p, old, "test", &seal, &cont, &err), 0);
	CU_ASSERT_EQUAL(seal.seq, 3);
	CU_ASSERT_EQUAL(cont.seq, 4);
	/* no sleep: the seal, not the once-a-second path check, sends it to the new file */
	CU_ASSERT_EQUAL(audit_append_seq(log, &ev, 1, &seq, &err), 0);
	CU_ASSERT_EQUAL(seq, 5);
	expect_ok(old, 3, 0);
	CU_ASSERT_EQUAL(audit_verify(p, &res, &err), -1); /* does not start at seq 1 */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "--continues"));
	vo.has_prev = 1;
	vo.prev_seq = seal.seq;
	memcpy(vo.prev_hash, seal.hash, 32);
	CU_ASSERT_EQUAL(audit_verify_opts(p, &vo, &res, &err), 0);
	CU_ASSERT_EQUAL(res.first_seq, 4);
	CU_ASSERT_EQUAL(res.head.seq, 5);
	/* the head a handle reports is checkable without reading the whole log */
	audit_log_head(log, &h);
	CU_ASSERT_EQUAL(h.seq, 5);
	CU_ASSERT_EQUAL(audit_head_check(p, &h, &err), 0);
	CU_ASSERT_EQUAL(audit_head_check(p, &cont, &err), 0);
	h.hash[0] ^= 1;
	CU_ASSERT_EQUAL(audit_head_check(p, &h, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "audit log truncated or replaced"));
	h.hash[0] ^= 1;
	CU_ASSERT_EQUAL(truncate(p, (off_t)h.end - 1), 0);
	CU_ASSERT_EQUAL(audit_head_check(p, &h, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "audit log truncated or replaced"));
	/* the sealed file itself takes no more entries */
	CU_ASSERT_EQUAL_FATAL(audit_open(old, &fresh, &err), 0);
	CU_ASSERT_EQUAL(audit_append(fresh, &ev, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "sealed"));
	audit_close(fresh);
	audit_close(log);
}

/* The hook's head moves forward only, only while the log's path names the file it wrote, and
 * never over a head file it cannot read. */
static void test_head_advance(void)
{
	char *p = tmp_path("adv.log"), *old = tmp_path("adv.log.1"), *hp = tmp_path("adv.head");
	struct audit_log *a = NULL, *b = NULL;
	struct vs_error err = {0};
	struct audit_event ev = {"hook", "hook.start", "x", "allow", NULL};
	struct audit_head h, seal, cont;
	char logp[512], *text = NULL;
	size_t len;
	int exists;

	CU_ASSERT_EQUAL_FATAL(audit_open(p, &a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_open(p, &b, &err), 0);
	CU_ASSERT_EQUAL(audit_append(a, &ev, &err), 0);
	CU_ASSERT_EQUAL(audit_append(a, &ev, &err), 0);
	CU_ASSERT_EQUAL(audit_head_advance(hp, a, p, &err), 0); /* the first head file */
	CU_ASSERT_EQUAL(audit_head_load(hp, logp, sizeof(logp), &h, &exists, &err), 0);
	CU_ASSERT(exists && h.seq == 2 && !strcmp(logp, p));
	CU_ASSERT_EQUAL(audit_append(b, &ev, &err), 0);
	CU_ASSERT_EQUAL(audit_head_advance(hp, b, p, &err), 0);
	/* a's own head (seq 2) is behind the file's: the head stays at b's */
	CU_ASSERT_EQUAL(audit_head_advance(hp, a, p, &err), 0);
	CU_ASSERT_EQUAL(audit_head_load(hp, logp, sizeof(logp), &h, &exists, &err), 0);
	CU_ASSERT_EQUAL(h.seq, 3);
	CU_ASSERT_EQUAL(audit_head_check(p, &h, &err), 0);
	/* rotated under a's feet: the path names the new file, the head is the rotation's */
	CU_ASSERT_EQUAL_FATAL(audit_rotate(p, old, "test", &seal, &cont, &err), 0);
	CU_ASSERT_EQUAL(audit_head_save(hp, p, &cont, &err), 0);
	CU_ASSERT_EQUAL(audit_head_advance(hp, a, p, &err), 0);
	CU_ASSERT_EQUAL(audit_head_load(hp, logp, sizeof(logp), &h, &exists, &err), 0);
	CU_ASSERT_EQUAL(h.seq, cont.seq);
	CU_ASSERT_EQUAL(audit_head_check(p, &h, &err), 0);
	/* a's entries cut from the file (a truncation acknowledged since): a's head is not recorded */
	{
		struct audit_log *c = NULL;
		struct audit_head before;
		struct stat st;

		CU_ASSERT_EQUAL_FATAL(audit_open(p, &c, &err), 0);
		CU_ASSERT_EQUAL(audit_append(c, &ev, &err), 0);
		CU_ASSERT_EQUAL(audit_head_load(hp, logp, sizeof(logp), &before, &exists, &err), 0);
		CU_ASSERT_EQUAL(stat(p, &st), 0);
		CU_ASSERT_EQUAL(truncate(p, st.st_size - 1), 0);
		CU_ASSERT_EQUAL(audit_head_advance(hp, c, p, &err), 0);
		CU_ASSERT_EQUAL(audit_head_load(hp, logp, sizeof(logp), &h, &exists, &err), 0);
		CU_ASSERT_EQUAL(h.seq, before.seq);
		audit_close(c);
		CU_ASSERT_EQUAL(truncate(p, st.st_size), 0);
	}
	/* a head file that does not parse is left for the next head check to report */
	CU_ASSERT_EQUAL(file_write_atomic(hp, "junk", 4, 0600, 1, &err), 0);
	CU_ASSERT_EQUAL(audit_append(b, &ev, &err), 0);
	CU_ASSERT_EQUAL(audit_head_advance(hp, b, p, &err), 0);
	CU_ASSERT_EQUAL(file_read_all(hp, 100, &text, &len, &err), 0);
	CU_ASSERT(len == 4 && !memcmp(text, "junk", 4));
	free(text);
	audit_close(a);
	audit_close(b);
}

/* Heads anchor the chain: one at a seq the log has with another hash, or past its end, fails. */
static void test_verify_heads(void)
{
	char *p = tmp_path("heads.log");
	struct audit_verify_result res;
	struct audit_verify_opts vo = {0};
	struct audit_head h[2];
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(append_n(p, 6, "h"), 0);
	CU_ASSERT_EQUAL_FATAL(audit_verify(p, &res, &err), 0);
	h[0] = res.head;
	vo.heads = h;
	vo.nheads = 1;
	CU_ASSERT_EQUAL(audit_verify_opts(p, &vo, &res, &err), 0);
	h[0].hash[5] ^= 0x80;
	CU_ASSERT_EQUAL(audit_verify_opts(p, &vo, &res, &err), -1);
	CU_ASSERT_EQUAL(res.bad_seq, 6);
	h[0].hash[5] ^= 0x80;
	h[0].seq = 7;
	CU_ASSERT_EQUAL(audit_verify_opts(p, &vo, &res, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "the log ends at seq 6"));
}

/* A non-empty file whose first line is not an entry is never appended to. */
static void test_refuses_non_audit_file(void)
{
	char *p = tmp_path("bashrc");
	struct audit_log *log = NULL;
	struct vs_error err = {0};
	FILE *f = fopen(p, "w");

	CU_ASSERT_FATAL(f != NULL);
	fputs("export PS1='$ '\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(audit_open(p, &log, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "not an audit log"));
	f = fopen(p, "w");
	fputs("{\"seq\":1,\"ti", f); /* the first append's torn start is still a log */
	fclose(f);
	CU_ASSERT_EQUAL(audit_open(p, &log, &err), 0);
	audit_close(log);
}

struct thread_arg {
	struct audit_log *shared;
	struct audit_group *group;
	const char *path;
	int n, id, failures;
};

static void *append_thread(void *a)
{
	struct thread_arg *t = a;
	struct audit_log *log = t->shared;
	struct vs_error err = {0};
	char obj[64];

	if (!log && audit_open(t->path, &log, &err) < 0) {
		t->failures = t->n;
		return NULL;
	}
	for (int i = 0; i < t->n; i++) {
		struct audit_event ev = {"gateway", "http.request", obj, "allow", NULL};
		int rc;

		snprintf(obj, sizeof(obj), "thread %d event %d", t->id, i);
		if (t->group)
			rc = audit_group_append(t->group, &ev, i % 10 == 9, &err);
		else
			rc = audit_append_nosync(log, &ev, &err);
		t->failures += rc < 0;
	}
	if (!t->shared)
		audit_close(log);
	return NULL;
}

static int count_objects(const struct audit_entry *e, const char *line, size_t len, void *arg)
{
	int *seen = arg, t, i;

	(void)line; (void)len;
	if (sscanf(e->object, "thread %d event %d", &t, &i) == 2 && t >= 0 && t < 8 && i >= 0 && i < 1000)
		seen[t * 1000 + i]++;
	return 0;
}

static void check_all_present(const char *p, int threads, int per)
{
	int *seen = calloc(8 * 1000, sizeof(int)), missing = 0;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(audit_foreach(p, 1, count_objects, NULL, seen, &err), 0);
	for (int t = 0; t < threads; t++)
		for (int i = 0; i < per; i++)
			missing += seen[t * 1000 + i] != 1;
	CU_ASSERT_EQUAL(missing, 0);
	free(seen);
}

static void run_threads(const char *p, struct audit_log *shared, struct audit_group *g, int threads, int per)
{
	pthread_t th[8];
	struct thread_arg a[8];

	for (int i = 0; i < threads; i++) {
		a[i] = (struct thread_arg){shared, g, p, per, i, 0};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, append_thread, &a[i]), 0);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(a[i].failures, 0);
	}
}

static void test_concurrent_threads(void)
{
	char *p = tmp_path("threads.log");
	struct audit_log *log = NULL;
	struct vs_error err = {0};

	/* one handle per thread: serialised by flock alone */
	run_threads(p, NULL, NULL, 4, 100);
	expect_ok(p, 400, 0);
	check_all_present(p, 4, 100);
	/* one shared handle */
	p = tmp_path("threads2.log");
	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	run_threads(p, log, NULL, 4, 100);
	audit_close(log);
	expect_ok(p, 400, 0);
	check_all_present(p, 4, 100);
}

static void test_concurrent_processes(void)
{
	char *p = tmp_path("procs.log");
	pid_t pids[4];
	int status;

	CU_ASSERT_EQUAL_FATAL(append_n(p, 3, "pre"), 0);
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		CU_ASSERT_FATAL(pids[i] >= 0);
		if (pids[i] == 0) {
			struct thread_arg a = {NULL, NULL, p, 100, i, 0};

			append_thread(&a);
			_exit(a.failures ? 1 : 0); /* _exit: the parent owns the temp dir */
		}
	}
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(waitpid(pids[i], &status, 0), pids[i]);
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	expect_ok(p, 403, 0);
	check_all_present(p, 4, 100);
}

static void test_group_commit(void)
{
	char *p = tmp_path("group.log");
	struct audit_log *log = NULL;
	struct audit_group *g = NULL;
	struct vs_error err = {0};
	struct audit_event ev = {"gateway", "http.request", "GET /healthz", "allow", NULL};
	uint64_t syncs;

	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_group_start(log, &g, &err), 0);
	/* a durable append returns only after an fsync */
	CU_ASSERT_EQUAL(audit_group_append(g, &ev, 1, &err), 0);
	CU_ASSERT(audit_group_syncs(g) >= 1);
	/* a non-durable one is synced by the timer, without anyone waiting */
	syncs = audit_group_syncs(g);
	CU_ASSERT_EQUAL(audit_group_append(g, &ev, 0, &err), 0);
	for (int i = 0; i < 200 && audit_group_syncs(g) == syncs; i++)
		usleep(5000);
	CU_ASSERT(audit_group_syncs(g) > syncs);
	/* 1000 events from 4 threads, every tenth durable */
	run_threads(p, log, g, 4, 250);
	syncs = audit_group_syncs(g);
	CU_ASSERT(syncs < 1000); /* grouped: fewer fsyncs than events */
	audit_group_stop(g);
	audit_close(log);
	expect_ok(p, 1002, 0);
	check_all_present(p, 4, 250);
	fprintf(stderr, "(%llu fsyncs for 1002 events) ", (unsigned long long)syncs);
}

/* ---- group commit against a disk the test controls (audit_test_fdatasync) ---- */

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static off_t fake_durable;   /* the file size the last successful fake fdatasync made durable */
static int fake_calls;       /* fake fdatasyncs begun */
static int fake_fail_call;   /* this call fails with EIO (0: none) */
static const char *fake_path; /* the log, for fake_hold_until_lines */
static int fake_hold_lines;  /* the first call waits until the log holds this many lines */

static int count_lines(const char *path)
{
	size_t len = 0;
	char *d = NULL;
	struct vs_error err = {0};
	int n = 0;

	if (file_read_all(path, MAX_FILE, &d, &len, &err) < 0)
		return -1;
	for (size_t i = 0; i < len; i++)
		n += d[i] == '\n';
	free(d);
	return n;
}

/* A slow disk: what the file held when the call began becomes durable when it returns. */
static int fake_fdatasync(int fd)
{
	struct stat st;
	int call;

	if (fstat(fd, &st) < 0)
		return -1;
	pthread_mutex_lock(&fake_mu);
	call = ++fake_calls;
	pthread_mutex_unlock(&fake_mu);
	if (call == 1 && fake_hold_lines)
		for (int i = 0; i < 1000 && count_lines(fake_path) < fake_hold_lines; i++)
			usleep(5000);
	usleep(3000);
	if (call == fake_fail_call) {
		errno = EIO;
		return -1;
	}
	pthread_mutex_lock(&fake_mu);
	if (st.st_size > fake_durable)
		fake_durable = st.st_size;
	pthread_mutex_unlock(&fake_mu);
	return 0;
}

static void fake_reset(const char *path, int fail_call, int hold_lines)
{
	fake_durable = 0;
	fake_calls = 0;
	fake_fail_call = fail_call;
	fake_path = path;
	fake_hold_lines = hold_lines;
	audit_test_fdatasync = fake_fdatasync;
}

struct durable_arg {
	struct audit_group *g;
	const char *path;
	int id, n, failures, early; /* early: returned before its line was durable */
	char reason[VS_ERR_REASON_MAX];
};

static void *durable_thread(void *a)
{
	struct durable_arg *t = a;

	for (int i = 0; i < t->n; i++) {
		char obj[64];
		struct audit_event ev = {"gateway", "gateway.sign", obj, "allow", NULL};
		struct vs_error err = {0};

		snprintf(obj, sizeof(obj), "durable thread %d event %d.", t->id, i);
		if (audit_group_append(t->g, &ev, 1, &err) < 0) {
			t->failures++;
			snprintf(t->reason, sizeof(t->reason), "%s", err.reason);
			continue;
		}
		/* Returned: its line must lie within what an fdatasync has made durable. */
		{
			size_t len = 0;
			char *d = NULL, needle[80];
			off_t durable;

			pthread_mutex_lock(&fake_mu);
			durable = fake_durable;
			pthread_mutex_unlock(&fake_mu);
			snprintf(needle, sizeof(needle), "\"object\":\"%s\"", obj);
			if (file_read_all(t->path, MAX_FILE, &d, &len, &err) < 0 ||
			    (size_t)durable > len || !memmem(d, (size_t)durable, needle, strlen(needle)))
				t->early++;
			free(d);
		}
	}
	return NULL;
}

static void test_group_waiter_covered(void)
{
	char *p = tmp_path("group-covered.log");
	struct audit_log *log = NULL;
	struct audit_group *g = NULL;
	struct vs_error err = {0};
	struct audit_event ev = {"gateway", "gateway.sign", "one alone", "allow", NULL};
	pthread_t th[8];
	struct durable_arg a[8];
	int early = 0, failures = 0, calls;

	fake_reset(p, 0, 0);
	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_group_start(log, &g, &err), 0);
	/* One caller alone: one fdatasync per durable event, done by the caller itself. */
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(audit_group_append(g, &ev, 1, &err), 0);
	CU_ASSERT_EQUAL(audit_group_syncs(g), 5);
	/* 8 threads, each event durable: nobody returns before the fdatasync covering it ended
	 * (each fake fdatasync takes 3 ms while the others keep writing). */
	for (int i = 0; i < 8; i++) {
		a[i] = (struct durable_arg){.g = g, .path = p, .id = i, .n = 25};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, durable_thread, &a[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		early += a[i].early;
		failures += a[i].failures;
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(early, 0);
	calls = fake_calls;
	/* Grouped: 200 durable events from 8 threads shared far fewer fdatasyncs. */
	CU_ASSERT(calls - 5 < 150);
	audit_group_stop(g);
	audit_close(log);
	audit_test_fdatasync = fdatasync;
	expect_ok(p, 205, 0);
	fprintf(stderr, "(%d fdatasyncs for 200 concurrent durable events) ", calls - 5);
}

static void test_group_fsync_failure(void)
{
	char *p = tmp_path("group-fail.log");
	struct audit_log *log = NULL;
	struct audit_group *g = NULL;
	struct vs_error err = {0};
	struct audit_event ev = {"gateway", "gateway.sign", "first", "allow", NULL};
	pthread_t th[6], first;
	struct durable_arg a[6], a0;
	int failed = 0;

	/* The first fdatasync (the first caller's) holds until the six others have written their
	 * events: they wait for it and are covered together by the second, which fails. */
	fake_reset(p, 2, 7);
	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_group_start(log, &g, &err), 0);
	a0 = (struct durable_arg){.g = g, .path = p, .id = 99, .n = 1};
	CU_ASSERT_EQUAL_FATAL(pthread_create(&first, NULL, durable_thread, &a0), 0);
	while (fake_calls == 0)
		usleep(1000);
	for (int i = 0; i < 6; i++) {
		a[i] = (struct durable_arg){.g = g, .path = p, .id = i, .n = 1};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, durable_thread, &a[i]), 0);
	}
	pthread_join(first, NULL);
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		failed += a[i].failures;
		CU_ASSERT(a[i].failures == 0 || strstr(a[i].reason, "fsync failed") != NULL);
	}
	/* The first was covered by a successful fdatasync; every one of the failed one's fails
	 * (the disk works again at once: only the error, kept, can fail them). */
	CU_ASSERT_EQUAL(a0.failures, 0);
	CU_ASSERT_EQUAL(a0.early, 0);
	CU_ASSERT_EQUAL(failed, 6);
	CU_ASSERT_EQUAL(fake_calls, 2);
	/* Sticky: later appends fail too, durable or not, and write nothing. */
	CU_ASSERT_EQUAL(audit_group_append(g, &ev, 1, &err), -1);
	CU_ASSERT_EQUAL(audit_group_append(g, &ev, 0, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "fsync failed"));
	CU_ASSERT_EQUAL(count_lines(p), 7);
	audit_group_stop(g);
	audit_close(log);
	audit_test_fdatasync = fdatasync;
}

/* The fake disk for test_follow_sync_failure: the file with inode fail_ino cannot be synced. */
static ino_t fail_ino;

static int ino_fdatasync(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_ino == fail_ino) {
		errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * A rotation moves the path on: what the handle wrote to the old file becomes durable only by
 * the fdatasync of the old file as the handle follows, never by a round over the new file. That
 * fdatasync failing must fail the call and, kept, every later one (it was ignored: the next
 * durable caller's round synced the new file and reported its event durable, and the event
 * before it, never durable, was lost without an error).
 */
static void test_follow_sync_failure(void)
{
	char *p = tmp_path("follow-fail.log"), *old = tmp_path("follow-fail.log.1");
	struct audit_log *log = NULL;
	struct audit_group *g = NULL;
	struct vs_error err = {0};
	struct audit_event ev = {"gateway", "gateway.sign", "x", "allow", NULL};
	struct audit_head seal, cont;
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_group_start(log, &g, &err), 0);
	CU_ASSERT_EQUAL(audit_group_append(g, &ev, 1, &err), 0);
	/* written, and no round has synced it yet */
	CU_ASSERT_EQUAL(audit_append_nosync(log, &ev, &err), 0);
	CU_ASSERT_EQUAL_FATAL(stat(p, &st), 0);
	fail_ino = st.st_ino;
	audit_test_fdatasync = ino_fdatasync;
	CU_ASSERT_EQUAL_FATAL(audit_rotate(p, old, "test", &seal, &cont, &err), 0);
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(audit_group_append(g, &ev, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "fsync failed"));
	/* the disk works again: only the kept error can fail what follows */
	audit_test_fdatasync = fdatasync;
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(audit_group_append(g, &ev, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "fsync failed"));
	CU_ASSERT_EQUAL(audit_group_append(g, &ev, 0, &err), -1);
	CU_ASSERT_EQUAL(audit_append(log, &ev, &err), -1);
	CU_ASSERT_EQUAL(audit_sync(log, &err), -1);
	audit_group_stop(g);
	audit_close(log);
	CU_ASSERT_EQUAL(count_lines(p), 1); /* the continuation alone: nothing appended after the failure */
}

/* Asynchronous callers: called back once, after the fdatasync covering them, never from
 * inside the append. */
struct async_arg {
	const char *path;
	char object[64];
	int calls, rc, early;
};

static __thread int in_append;

static void async_done(void *arg, int rc)
{
	struct async_arg *a = arg;
	size_t len = 0;
	char *d = NULL, needle[96];
	struct vs_error err = {0};
	off_t durable;

	pthread_mutex_lock(&fake_mu);
	durable = fake_durable;
	pthread_mutex_unlock(&fake_mu);
	snprintf(needle, sizeof(needle), "\"object\":\"%s\"", a->object);
	if (in_append || (rc == 0 && (file_read_all(a->path, MAX_FILE, &d, &len, &err) < 0 ||
				      (size_t)durable > len ||
				      !memmem(d, (size_t)durable, needle, strlen(needle)))))
		a->early++;
	free(d);
	a->rc = rc;
	__atomic_add_fetch(&a->calls, 1, __ATOMIC_SEQ_CST);
}

static void test_group_async(void)
{
	char *p = tmp_path("group-async.log");
	struct audit_log *log = NULL;
	struct audit_group *g = NULL;
	struct vs_error err = {0};
	static struct async_arg a[40];
	int calls = 0, early = 0, ok = 0;

	fake_reset(p, 0, 0);
	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_group_start(log, &g, &err), 0);
	for (int i = 0; i < 40; i++) {
		struct audit_event ev = {"gateway", "gateway.sign", a[i].object, "info", NULL};

		a[i] = (struct async_arg){.path = p};
		snprintf(a[i].object, sizeof(a[i].object), "async event %d.", i);
		in_append = 1;
		CU_ASSERT_EQUAL(audit_group_append_async(g, &ev, async_done, &a[i], &err), 0);
		in_append = 0;
		if (i % 10 == 9) /* a durable caller in between leads a round of its own */
			CU_ASSERT_EQUAL(audit_group_append(g, &ev, 1, &err), 0);
	}
	for (int t = 0; t < 400; t++) {
		calls = 0;
		for (int i = 0; i < 40; i++)
			calls += __atomic_load_n(&a[i].calls, __ATOMIC_SEQ_CST);
		if (calls == 40)
			break;
		usleep(5000);
	}
	for (int i = 0; i < 40; i++) {
		early += a[i].early;
		ok += a[i].calls == 1 && a[i].rc == 0;
	}
	CU_ASSERT_EQUAL(calls, 40);
	CU_ASSERT_EQUAL(ok, 40);
	CU_ASSERT_EQUAL(early, 0);
	audit_group_stop(g);
	audit_close(log);
	expect_ok(p, 44, 0);

	/* A failing fdatasync calls back every asynchronous caller it covered with -1; after it
	 * nothing is accepted. */
	p = tmp_path("group-async-fail.log");
	fake_reset(p, 1, 0);
	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_group_start(log, &g, &err), 0);
	for (int i = 0; i < 3; i++) {
		struct audit_event ev = {"gateway", "gateway.sign", a[i].object, "info", NULL};

		a[i] = (struct async_arg){.path = p, .rc = 7};
		snprintf(a[i].object, sizeof(a[i].object), "async fail %d.", i);
		CU_ASSERT_EQUAL(audit_group_append_async(g, &ev, async_done, &a[i], &err), 0);
	}
	for (int t = 0; t < 400 && (__atomic_load_n(&a[0].calls, __ATOMIC_SEQ_CST) +
				    __atomic_load_n(&a[1].calls, __ATOMIC_SEQ_CST) +
				    __atomic_load_n(&a[2].calls, __ATOMIC_SEQ_CST)) < 3; t++)
		usleep(5000);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(a[i].calls, 1);
		CU_ASSERT_EQUAL(a[i].rc, -1);
	}
	{
		struct audit_event ev = {"gateway", "gateway.sign", "late", "info", NULL};

		CU_ASSERT_EQUAL(audit_group_append_async(g, &ev, async_done, &a[3], &err), -1);
	}
	audit_group_stop(g);
	audit_close(log);
	audit_test_fdatasync = fdatasync;
}

/* Expected events: a round for asynchronous callers waits for them, but never for ever (one
 * announced and never appended), and every caller is still called back once, after its
 * fdatasync. */
static void test_group_expect(void)
{
	char *p = tmp_path("group-expect.log");
	struct audit_log *log = NULL;
	struct audit_group *g = NULL;
	struct vs_error err = {0};
	static struct async_arg a[3];
	int t;

	fake_reset(p, 0, 0);
	CU_ASSERT_EQUAL_FATAL(audit_open(p, &log, &err), 0);
	CU_ASSERT_EQUAL_FATAL(audit_group_start(log, &g, &err), 0);
	/* announced, never appended while a caller waits: its round comes anyway */
	audit_group_expect(g);
	{
		struct audit_event ev = {"gateway", "gateway.sign", "alone", "info", NULL};

		a[0] = (struct async_arg){.path = p};
		snprintf(a[0].object, sizeof(a[0].object), "alone");
		CU_ASSERT_EQUAL(audit_group_append_async(g, &ev, async_done, &a[0], &err), 0);
	}
	for (t = 0; t < 400 && !__atomic_load_n(&a[0].calls, __ATOMIC_SEQ_CST); t++)
		usleep(5000);
	CU_ASSERT_EQUAL(a[0].calls, 1);
	CU_ASSERT_EQUAL(a[0].rc, 0);
	CU_ASSERT_EQUAL(a[0].early, 0);
	audit_group_unexpect(g);
	/* two announced, both appended, the announcements withdrawn after their appends */
	audit_group_expect(g);
	audit_group_expect(g);
	for (int i = 1; i < 3; i++) {
		struct audit_event ev = {"gateway", "gateway.sign", a[i].object, "info", NULL};

		a[i] = (struct async_arg){.path = p};
		snprintf(a[i].object, sizeof(a[i].object), "expected %d.", i);
		CU_ASSERT_EQUAL(audit_group_append_async(g, &ev, async_done, &a[i], &err), 0);
		audit_group_unexpect(g);
	}
	audit_group_unexpect(g); /* one too many: ignored */
	for (t = 0; t < 400 && (__atomic_load_n(&a[1].calls, __ATOMIC_SEQ_CST) +
				__atomic_load_n(&a[2].calls, __ATOMIC_SEQ_CST)) < 2; t++)
		usleep(5000);
	for (int i = 1; i < 3; i++) {
		CU_ASSERT_EQUAL(a[i].calls, 1);
		CU_ASSERT_EQUAL(a[i].rc, 0);
		CU_ASSERT_EQUAL(a[i].early, 0);
	}
	audit_group_stop(g);
	audit_close(log);
	expect_ok(p, 3, 0);
	audit_test_fdatasync = fdatasync;
}

static void test_crash_mid_line(void)
{
	char *p = tmp_path("crash.log");
	pid_t pid;
	int status;

	CU_ASSERT_EQUAL_FATAL(append_n(p, 5, "web"), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		setenv("VMSEAL_FAULT", "audit-mid-line", 1);
		append_n(p, 1, "crash");
		_exit(0);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	expect_broken(p, 6, "torn last line");
	CU_ASSERT_EQUAL(append_n(p, 2, "after"), 0);
	expect_ok(p, 7, 1);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"append N, verify ok, format checked independently", test_chain_ok},
		{"rotate: seal, continuation, held handle follows, head check", test_rotate_seal_and_continue},
		{"heads: another hash or past the end fails", test_verify_heads},
		{"head advance: forward only, not past a rotation, not over an unreadable head", test_head_advance},
		{"a file that is not an audit log is never appended to", test_refuses_non_audit_file},
		{"empty log ok, missing log is an I/O error", test_empty_and_missing},
		{"one byte edited names its seq", test_tamper_one_byte},
		{"deleted, reordered, duplicated lines are named", test_delete_and_reorder},
		{"torn last line detected, appending resumes", test_torn_last_line},
		{"entry that lost only its newline is intact", test_lost_newline_only},
		{"junk, wrong fragments and over-long lines", test_garbage_lines},
		{"line parser rejects non-canonical and malformed", test_parse_line_rejects},
		{"escaping, invalid UTF-8, truncation, required fields", test_escaping_and_limits},
		{"refuses to follow a symlink", test_refuses_symlink},
		{"follows a rename rotation", test_follows_rotation},
		{"concurrent appends from threads", test_concurrent_threads},
		{"concurrent appends from processes", test_concurrent_processes},
		{"group commit: 1000 events from 4 threads", test_group_commit},
		{"group commit: no durable caller returns before the fdatasync covering it", test_group_waiter_covered},
		{"group commit: a failed fdatasync fails every caller it covered, and all later", test_group_fsync_failure},
		{"a failed fdatasync of the old file as the handle follows a rotation fails it, and all later", test_follow_sync_failure},
		{"group commit: asynchronous callers called back after the covering fdatasync, or with its failure", test_group_async},
		{"group commit: a round waits for expected events, never for ever", test_group_expect},
		{"kill -9 in the middle of a line", test_crash_mid_line},
		{NULL, NULL},
	};
	return run_suite("audit", cases);
}
