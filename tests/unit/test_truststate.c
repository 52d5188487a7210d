/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/truststate.c: the strict parser (a table of refusals), load and save
 * (modes, a missing file, others' writes), and which state governs which policy path. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/truststate.h"

static void test_parse_table(void)
{
	static const char *const bad[] = {
		"", "[]", "{}", "null",
		"{\"format\": \"vmseal-trust-state-v1\", \"policy_version\": 3}",
		"{\"format\": \"vmseal-trust-state-v1\", \"root_version\": 1}",
		"{\"format\": \"vmseal-trust-state-v2\", \"policy_version\": 3, \"root_version\": 1}",
		"{\"policy_version\": 3, \"root_version\": 1}",
		"{\"format\": \"vmseal-trust-state-v1\", \"policy_version\": -1, \"root_version\": 1}",
		"{\"format\": \"vmseal-trust-state-v1\", \"policy_version\": 3, \"root_version\": \"1\"}",
		"{\"format\": \"vmseal-trust-state-v1\", \"policy_version\": 3.5, \"root_version\": 1}",
		"{\"format\": \"vmseal-trust-state-v1\", \"policy_version\": 3, \"root_version\": 1, \"x\": 0}",
		"{\"format\": \"vmseal-trust-state-v1\", \"policy_version\": 3, \"policy_version\": 9, \"root_version\": 1}",
		"{\"format\": \"vmseal-trust-state-v1\", \"policy_version\": 3, \"root_version\": 1",
	};
	struct trust_state ts;
	struct vs_error err = {0};
	const char *good = "{\"format\": \"vmseal-trust-state-v1\", \"policy_version\": 3, \"root_version\": 2}";

	CU_ASSERT_EQUAL(trust_state_parse(good, strlen(good), "t", &ts, &err), 0);
	CU_ASSERT_EQUAL(ts.policy_version, 3);
	CU_ASSERT_EQUAL(ts.root_version, 2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_error_clear(&err);
		if (trust_state_parse(bad[i], strlen(bad[i]), "t", &ts, &err) == 0)
			fprintf(stderr, "\n  accepted: %s", bad[i]);
		CU_ASSERT_EQUAL(trust_state_parse(bad[i], strlen(bad[i]), "t", &ts, &err), -1);
		CU_ASSERT(err.reason[0] != '\0');
		CU_ASSERT_EQUAL(ts.policy_version, 0);
	}
}

static void test_load_save(void)
{
	char path[512], sub[512];
	struct trust_state ts = {.policy_version = 7, .root_version = 2}, back;
	struct vs_error err = {0};
	struct stat st;

	snprintf(path, sizeof(path), "%s/trust.state", test_tmpdir());
	CU_ASSERT_EQUAL(trust_state_load(path, &back, &err), 0); /* missing: nothing installed */
	CU_ASSERT_EQUAL(back.policy_version, 0);
	CU_ASSERT_EQUAL(trust_state_save(path, &ts, &err), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0644);
	CU_ASSERT_EQUAL(trust_state_load(path, &back, &err), 0);
	CU_ASSERT_EQUAL(back.policy_version, 7);
	CU_ASSERT_EQUAL(back.root_version, 2);
	/* must refuse: a state others could have written */
	chmod(path, 0622);
	CU_ASSERT_EQUAL(trust_state_load(path, &back, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "writable by others"));
	chmod(path, 0644);
	/* must refuse: a directory where the file should be */
	snprintf(sub, sizeof(sub), "%s/dir.state", test_tmpdir());
	mkdir(sub, 0700);
	CU_ASSERT_EQUAL(trust_state_load(sub, &back, &err), -1);
	/* save creates the missing directory, 0755 */
	snprintf(sub, sizeof(sub), "%s/lib/trust.state", test_tmpdir());
	CU_ASSERT_EQUAL(trust_state_save(sub, &ts, &err), 0);
	snprintf(sub, sizeof(sub), "%s/lib", test_tmpdir());
	CU_ASSERT_EQUAL(stat(sub, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0755);
}

static void test_path_for(void)
{
	char out[512];

	trust_state_path_for("/etc/vmseal/policy.json", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "/var/lib/vmseal/trust.state");
	trust_state_path_for("/home/u/test/policy.json", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "/home/u/test/trust.state");
	trust_state_path_for("policy.json", out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "trust.state");
}

int main(void)
{
	static const struct test_case cases[] = {
		{"strict parse: every malformed state refused", test_parse_table},
		{"load and save: 0644, missing is empty, others' writes refused", test_load_save},
		{"which trust.state governs a policy path", test_path_for},
		{NULL, NULL},
	};
	return run_suite("truststate", cases);
}
