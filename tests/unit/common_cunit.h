/* SPDX-License-Identifier: Apache-2.0 */
/* Shared CUnit runner for the unit test binaries. */
#ifndef VMSEAL_TEST_COMMON_H
#define VMSEAL_TEST_COMMON_H

#include <CUnit/CUnit.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* Registers one suite with the NULL-terminated cases and runs it; returns the process exit code. */
int run_suite(const char *suite, const struct test_case *cases);

/* Path of a fresh temp dir for this test binary (removed at exit). */
const char *test_tmpdir(void);

/* test_tmpdir()/name, in one of four rotating static buffers (four may be live at once). */
const char *test_path(const char *name);

/* Writes text to path (created or truncated), asserting (fatally) that it opens. */
void test_write_file(const char *path, const char *text);

#endif
