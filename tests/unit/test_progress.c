/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/progress.c: units, ETA, when lines are printed and what they say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/progress.h"

static void test_format_bytes(void)
{
	static const struct { uint64_t n; const char *s; } v[] = {
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{4194304, "4.0 MiB"}, {1153433600ull, "1.1 GiB"}, {1ull << 40, "1.0 TiB"},
		{UINT64_MAX, "16.0 EiB"},
	};
	char buf[24];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		progress_format_bytes(v[i].n, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, v[i].s);
	}
}

static void test_format_eta(void)
{
	static const struct { uint64_t s; const char *out; } v[] = {
		{0, "0:00"}, {59, "0:59"}, {61, "1:01"}, {3599, "59:59"}, {3600, "1:00:00"},
		{86399, "23:59:59"}, {360000, "100:00:00"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		progress_format_eta(v[i].s, buf, sizeof(buf));
		CU_ASSERT_STRING_EQUAL(buf, v[i].out);
	}
}

/* Runs updates through a progress printer writing to a memory file (never a terminal). */
static char *run(enum progress_mode mode, const char *name, const uint64_t *done, size_t n,
		 uint64_t total)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct progress p;
	struct merkle_opts mo = {0};

	progress_init(&p, mode, f, "prog", name);
	progress_attach(&p, &mo);
	for (size_t i = 0; i < n; i++)
		if (mo.progress)
			mo.progress(done[i], total, mo.progress_arg);
	progress_end(&p);
	fclose(f);
	return buf;
}

static void test_auto_off_without_tty(void)
{
	uint64_t total = 4ull << 30, done[] = {1ull << 30, total};
	char *s = run(PROGRESS_AUTO, "img", done, 2, total);

	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
	s = run(PROGRESS_OFF, "img", done, 2, total);
	CU_ASSERT_STRING_EQUAL(s, "");
	free(s);
}

static void test_forced_lines(void)
{
	/* Updates closer than a second apart are dropped off a terminal; the final one never is. */
	uint64_t total = 12582912, done[] = {4194304, 8388608, total, total};
	char *s = run(PROGRESS_ON, "/var/lib/images/debian-12.qcow2", done, 4, total);
	int lines = 0;

	for (const char *c = s; *c; c++)
		lines += *c == '\n';
	CU_ASSERT_EQUAL(lines, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "prog: debian-12.qcow2: 4.0 MiB of 12.0 MiB (33%), "));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "prog: debian-12.qcow2: 12.0 MiB of 12.0 MiB (100%), "));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, ", done in 0:00\n"));
	CU_ASSERT_PTR_NULL(strchr(s, '\r'));
	CU_ASSERT_PTR_NULL(strstr(s, "/var/lib"));
	free(s);
}

static void test_hostile_name(void)
{
	uint64_t done[] = {10};
	char *s = run(PROGRESS_ON, "dir/a\033[2Jb\rc\nd", done, 1, 10);

	CU_ASSERT_PTR_NULL(strchr(s, '\033'));
	CU_ASSERT_PTR_NULL(strchr(s, '\r'));
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "prog: a?[2Jb?c?d: 10 B of 10 B (100%)"));
	free(s);
	/* A long name keeps its last 40 bytes, so the redrawn line does not wrap. */
	s = run(PROGRESS_ON, "x-0123456789012345678901234567890123456789", done, 1, 10);
	CU_ASSERT_PTR_NOT_NULL(strstr(s, "prog: ...0123456789012345678901234567890123456789: 10 B of 10 B (100%)"));
	free(s);
}

static void test_empty_image(void)
{
	uint64_t done[] = {0};
	char *s = run(PROGRESS_ON, "empty", done, 1, 0);

	CU_ASSERT_PTR_NOT_NULL(strstr(s, "prog: empty: 0 B of 0 B (100%)"));
	free(s);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"bytes use binary units", test_format_bytes},
		{"ETA as M:SS or H:MM:SS", test_format_eta},
		{"automatic mode is quiet off a terminal; off is quiet", test_auto_off_without_tty},
		{"forced lines: throttled, final line always, base name only", test_forced_lines},
		{"control characters in names are neutralised", test_hostile_name},
		{"empty image is 100%", test_empty_image},
		{NULL, NULL},
	};
	return run_suite("progress", cases);
}
