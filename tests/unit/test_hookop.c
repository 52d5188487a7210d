/* SPDX-License-Identifier: Apache-2.0 */
/* The libvirt calls the hook judges (lib/hookop.h): what the first stage lets pass unjudged. */
#include <stddef.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/hookop.h"

static void test_judged(void)
{
	/* the calls that start a guest or bring one in: judged; and the end of a run (release
	 * end: the overlay registry records what the run left) */
	static const char *const judged[][2] = {
		{"prepare", "begin"}, {"start", "begin"}, {"started", "begin"}, {"restore", "begin"},
		{"migrate", "begin"}, {"release", "end"},
	};
	/* everything else passes unjudged, exactly as the one-stage hook let it (a start's "end"
	 * steps, stop, libvirtd's reconnect, look-alikes of judged names) */
	static const char *const passed[][2] = {
		{"prepare", "end"}, {"start", "end"}, {"started", "end"}, {"stopped", "end"},
		{"release", "begin"}, {"Release", "end"}, {"release", "End"},
		{"reconnect", "begin"}, {"attach", "begin"}, {"Start", "begin"},
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

/* The judge server's request (lib/hookop.h): what is encoded decodes to the same argv and
 * umask; anything but an exact request is refused. */
static void test_request(void)
{
	static char buf[HOOK_SERVE_MAX_BYTES], copy[HOOK_SERVE_MAX_BYTES];
	char *in[] = {"vmseal", "web1", "start", "begin", "-", NULL};
	char *dec[HOOK_SERVE_MAX_ARGS + 1];
	char *many[HOOK_SERVE_MAX_ARGS + 2];
	char big[HOOK_SERVE_MAX_BYTES];
	unsigned len, mask;
	int argc;

	len = hook_request_encode(buf, sizeof(buf), 022, 5, in);
	CU_ASSERT_EQUAL(len, HOOK_SERVE_MAGIC_BYTES + 8 + 7 + 5 + 6 + 6 + 2);
	memcpy(copy, buf, len);
	CU_ASSERT_EQUAL(hook_request_decode(copy, len, &mask, &argc, dec), 0);
	CU_ASSERT_EQUAL(mask, 022);
	CU_ASSERT_EQUAL(argc, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_STRING_EQUAL(dec[i], in[i]);
	CU_ASSERT_PTR_NULL(dec[5]);
	/* cut short, one byte more, a string without its NUL, a wrong count or magic: refused */
	for (unsigned n = 0; n < len; n++) {
		memcpy(copy, buf, len);
		CU_ASSERT_EQUAL(hook_request_decode(copy, n, &mask, &argc, dec), -1);
	}
	memcpy(copy, buf, len);
	copy[len] = 'x';
	CU_ASSERT_EQUAL(hook_request_decode(copy, len + 1, &mask, &argc, dec), -1);
	memcpy(copy, buf, len);
	copy[len] = '\0';
	CU_ASSERT_EQUAL(hook_request_decode(copy, len + 1, &mask, &argc, dec), -1);
	memcpy(copy, buf, len);
	copy[HOOK_SERVE_MAGIC_BYTES + 4] = 4; /* argc 4, five strings */
	CU_ASSERT_EQUAL(hook_request_decode(copy, len, &mask, &argc, dec), -1);
	memcpy(copy, buf, len);
	copy[HOOK_SERVE_MAGIC_BYTES + 4] = 6; /* argc 6, five strings */
	CU_ASSERT_EQUAL(hook_request_decode(copy, len, &mask, &argc, dec), -1);
	memcpy(copy, buf, len);
	copy[0] = 'W';
	CU_ASSERT_EQUAL(hook_request_decode(copy, len, &mask, &argc, dec), -1);
	memcpy(copy, buf, len);
	copy[HOOK_SERVE_MAGIC_BYTES + 1] = 2; /* umask 01000 + 022 */
	CU_ASSERT_EQUAL(hook_request_decode(copy, len, &mask, &argc, dec), -1);
	/* an empty argv[0]; no arguments; too many; too long; a umask above 0777 */
	in[0] = "";
	len = hook_request_encode(buf, sizeof(buf), 022, 5, in);
	CU_ASSERT(len > 0);
	CU_ASSERT_EQUAL(hook_request_decode(buf, len, &mask, &argc, dec), -1);
	in[0] = "vmseal";
	CU_ASSERT_EQUAL(hook_request_encode(buf, sizeof(buf), 022, 0, in), 0);
	for (int i = 0; i <= HOOK_SERVE_MAX_ARGS; i++)
		many[i] = "x";
	many[HOOK_SERVE_MAX_ARGS + 1] = NULL;
	CU_ASSERT(hook_request_encode(buf, sizeof(buf), 0, HOOK_SERVE_MAX_ARGS, many) > 0);
	CU_ASSERT_EQUAL(hook_request_encode(buf, sizeof(buf), 0, HOOK_SERVE_MAX_ARGS + 1, many), 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	in[1] = big;
	CU_ASSERT_EQUAL(hook_request_encode(buf, sizeof(buf), 022, 5, in), 0);
	in[1] = "web1";
	CU_ASSERT_EQUAL(hook_request_encode(buf, sizeof(buf), 01000, 5, in), 0);
	CU_ASSERT_EQUAL(hook_request_encode(buf, 20, 022, 5, in), 0);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"judged operations; every other one passes", test_judged},
		{"libvirt's exact call form", test_libvirt_argv},
		{"the judge server's request", test_request},
		{NULL, NULL},
	};
	return run_suite("hookop", cases);
}
