/* SPDX-License-Identifier: Apache-2.0 */
/* The libvirt calls the hook judges (lib/hookop.h): what the first stage lets pass unjudged. */
#include <stddef.h>

#include "common_cunit.h"
#include "lib/hookop.h"

static void test_judged(void)
{
	/* the calls that start a guest or bring one in: judged */
	static const char *const judged[][2] = {
		{"prepare", "begin"}, {"start", "begin"}, {"started", "begin"}, {"restore", "begin"},
		{"migrate", "begin"},
	};
	/* everything else passes unjudged, exactly as the one-stage hook let it (a start's "end"
	 * steps, stop, release, libvirtd's reconnect, look-alikes of judged names) */
	static const char *const passed[][2] = {
		{"prepare", "end"}, {"start", "end"}, {"started", "end"}, {"stopped", "end"},
		{"release", "end"}, {"reconnect", "begin"}, {"attach", "begin"}, {"Start", "begin"},
		{"start", "Begin"}, {"start ", "begin"}, {"start", "begin "}, {"", "begin"},
		{"start", ""}, {"startx", "begin"}, {"star", "begin"}, {"begin", "start"},
	};

	for (size_t i = 0; i < sizeof(judged) / sizeof(judged[0]); i++)
		CU_ASSERT_EQUAL(hook_op_judged(judged[i][0], judged[i][1]), 1);
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
		CU_ASSERT_EQUAL(hook_op_judged(passed[i][0], passed[i][1]), 0);
	CU_ASSERT_EQUAL(hook_op_judged(NULL, "begin"), 0);
	CU_ASSERT_EQUAL(hook_op_judged("start", NULL), 0);
}

static void test_libvirt_argv(void)
{
	char *lv[] = {"vmseal", "web1", "start", "begin", "-", NULL};
	char *opt[] = {"vmseal", "--policy", "p.json", "web1", "start", "begin", NULL};
	char *four[] = {"vmseal", "web1", "start", "begin", NULL};
	char *notdash[] = {"vmseal", "web1", "release", "end", "x", NULL};
	char *dashname[] = {"vmseal", "--policy", "release", "end", "-", NULL};

	CU_ASSERT_EQUAL(hook_argv_is_libvirt(5, lv), 1);
	/* a domain named like an option is still libvirt's call: never parsed for options */
	CU_ASSERT_EQUAL(hook_argv_is_libvirt(5, dashname), 1);
	/* anything else goes to the judge (which parses options and judges as before) */
	CU_ASSERT_EQUAL(hook_argv_is_libvirt(6, opt), 0);
	CU_ASSERT_EQUAL(hook_argv_is_libvirt(4, four), 0);
	CU_ASSERT_EQUAL(hook_argv_is_libvirt(5, notdash), 0);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"judged operations; every other one passes", test_judged},
		{"libvirt's exact call form", test_libvirt_argv},
		{NULL, NULL},
	};
	return run_suite("hookop", cases);
}
