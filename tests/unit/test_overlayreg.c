/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/overlayreg.c: a registration holds for its overlay and domain only. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/overlayreg.h"
#include "lib/util.h"

static const uint8_t SECRET[HOSTSECRET_BYTES] = {9, 9, 9};
static const uint8_t OTHER[HOSTSECRET_BYTES] = {9, 9, 8};

static void test_register_lookup(void)
{
	char state[512], ov[512], path[700];
	struct overlay_id id, id2;
	struct vs_error err = {0};
	int fd;

	snprintf(state, sizeof(state), "%s/state", test_tmpdir());
	snprintf(ov, sizeof(ov), "%s/ov.qcow2", test_tmpdir());
	CU_ASSERT(mkdir(state, 0700) == 0);
	CU_ASSERT(file_write_atomic(ov, "x", 1, 0600, 1, &err) == 0);
	fd = open(ov, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(overlay_id_of(fd, ov, &id, &err), 0);
	close(fd);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1"), 0); /* not registered */
	CU_ASSERT_EQUAL(overlayreg_add(state, SECRET, &id, "web1", &err), 0);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1"), 1);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web2"), 0);  /* another domain */
	CU_ASSERT_EQUAL(overlayreg_lookup(state, OTHER, &id, "web1"), 0);   /* no valid MAC */
	id2 = id;
	id2.birth_nsec ^= 1; /* the same inode, born again: another file */
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id2, "web1"), 0);
	snprintf(path, sizeof(path), "%s/overlays/%llu-%llu", state, (unsigned long long)id.dev,
		 (unsigned long long)id.ino);
	CU_ASSERT_EQUAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1"), 0);  /* readable by others */
}

int main(void)
{
	static const struct test_case cases[] = {
		{"registration: overlay, birth, domain and MAC bound", test_register_lookup},
		{NULL, NULL},
	};
	return run_suite("overlayreg", cases);
}
