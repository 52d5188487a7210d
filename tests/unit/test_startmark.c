/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/startmark.c: what a restarted gateway refuses, after a lowered skew, a
 * clock set back, a torn write; the mark only grows; a file others may write is refused. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/startmark.h"

static void test_not_before(void)
{
	/* no previous run: the calls of t_start itself, as before */
	CU_ASSERT_EQUAL(startmark_not_before(0, 1000, 2), 1003);
	/* the previous run's skew was 60, this one's is 2: its mark decides */
	CU_ASSERT_EQUAL(startmark_not_before(1000 + 60 + STARTMARK_LEASE_S, 1001, 2),
			1000 + 60 + STARTMARK_LEASE_S + 1);
	/* the clock was set back 3600 s between the runs */
	CU_ASSERT_EQUAL(startmark_not_before(5000, 5000 - 3600, 2), 5001);
	CU_ASSERT_EQUAL(startmark_not_before(0, 1000, -5), 1001);
}

static void test_parse(void)
{
	static const char mark[] = "vmseal-gateway-start-v1 1780000012\n";
	int64_t v = -1;

	CU_ASSERT_EQUAL(startmark_parse(mark, strlen(mark), &v), 1);
	CU_ASSERT_EQUAL(v, 1780000012);
	CU_ASSERT_EQUAL(startmark_parse("vmseal-gateway-start-v1 0\n", 26, &v), 1);
	CU_ASSERT_EQUAL(v, 0);
	v = -1;
	CU_ASSERT_EQUAL(startmark_parse(mark, 0, &v), 0);
	CU_ASSERT_EQUAL(startmark_parse(mark, strlen(mark) - 1, &v), -2); /* no newline: torn */
	CU_ASSERT_EQUAL(startmark_parse("vmseal-gateway-start-v1 07\n", 27, &v), -2);
	CU_ASSERT_EQUAL(v, -1); /* a refusal writes nothing */
}

static void test_cover_and_restart(void)
{
	const char *path = test_path("gw.start");
	struct startmark m;
	struct vs_error err = {0};
	int64_t prev = -1;
	char buf[128] = {0};
	FILE *f;

	unlink(path);
	CU_ASSERT_EQUAL_FATAL(startmark_open(path, 1000, &m, &prev, &err), 0);
	CU_ASSERT_EQUAL(prev, 0);
	/* a call accepted under skew 60 writes the mark past its possible created */
	CU_ASSERT_EQUAL(startmark_cover(&m, 1000, 60, &err), 0);
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof(buf), f));
	fclose(f);
	CU_ASSERT_STRING_EQUAL(buf, "vmseal-gateway-start-v1 1062\n");
	/* within the lease: nothing written */
	CU_ASSERT_EQUAL(startmark_cover(&m, 1001, 60, &err), 0);
	CU_ASSERT_EQUAL(m.mark, 1062);
	/* a clock set back and a lowered skew never lower it */
	CU_ASSERT_EQUAL(startmark_cover(&m, 10, 2, &err), 0);
	CU_ASSERT_EQUAL(m.mark, 1062);
	/* past half the lease: moved on */
	CU_ASSERT_EQUAL(startmark_cover(&m, 1002, 60, &err), 0);
	CU_ASSERT_EQUAL(m.mark, 1064);
	startmark_close(&m);
	/* the restart with skew 2 refuses everything a call under skew 60 may have carried */
	CU_ASSERT_EQUAL_FATAL(startmark_open(path, 1003, &m, &prev, &err), 0);
	CU_ASSERT_EQUAL(prev, 1064);
	CU_ASSERT(startmark_not_before(prev, 1003, 2) > 1002 + 60);
	startmark_close(&m);
	/* another gateway sharing the file moved it further: the larger one is kept */
	test_write_file(path, "vmseal-gateway-start-v1 5000\n");
	CU_ASSERT_EQUAL_FATAL(startmark_open(path, 1003, &m, &prev, &err), 0);
	m.mark = 0; /* as if read before the other gateway wrote */
	CU_ASSERT_EQUAL(startmark_cover(&m, 1003, 2, &err), 0);
	CU_ASSERT_EQUAL(m.mark, 5000);
	startmark_close(&m);
	startmark_close(NULL);
}

static void test_refusals(void)
{
	static const char *const torn[] = {
		"vmseal-gateway-start-v1 12", "vmseal-gateway-start-v1 \n", "vmseal-gateway-start-v2 5\n",
		"vmseal-gateway-start-v1 -5\n", "vmseal-gateway-start-v1 5\nx", "\n", "vmseal-gateway-",
		"vmseal-gateway-start-v1 99999999999999999999999\n", "vmseal-gateway-start-v1 0012\n",
		"vmseal-gateway-start-v1  12\n", "vmseal-gateway-start-v1 +12\n",
		/* one byte longer than any mark (the reader takes one more than the longest) */
		"vmseal-gateway-start-v1 1234567890123456789\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
	};
	const char *path = test_path("gw2.start");
	struct startmark m;
	struct vs_error err = {0};
	int64_t prev;

	for (size_t i = 0; i < sizeof(torn) / sizeof(torn[0]); i++) {
		test_write_file(path, torn[i]);
		CU_ASSERT_EQUAL_FATAL(startmark_open(path, 1000, &m, &prev, &err), 0);
		/* not a mark: assume the most a previous run could have accepted */
		CU_ASSERT_EQUAL(prev, 1000 + STARTMARK_LEASE_S + STARTMARK_UNKNOWN_SKEW_S);
		startmark_close(&m);
	}
	/* a file others may write could be set back by them: refused */
	test_write_file(path, "vmseal-gateway-start-v1 5\n");
	chmod(path, 0622);
	CU_ASSERT_EQUAL(startmark_open(path, 1000, &m, &prev, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "not writable by others"));
	unlink(path);
	CU_ASSERT_EQUAL(symlink("/etc/passwd", path), 0);
	CU_ASSERT_EQUAL(startmark_open(path, 1000, &m, &prev, &err), -1);
	unlink(path);
	CU_ASSERT_EQUAL(startmark_open(test_path("no/such/dir/x.start"), 1000, &m, &prev, &err), -1);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"the first created a restart accepts", test_not_before},
		{"the mark's one spelling", test_parse},
		{"covering calls; the restart after them", test_cover_and_restart},
		{"torn marks, others' files, symlinks", test_refusals},
		{NULL, NULL},
	};
	return run_suite("startmark", cases);
}
