/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/overlayreg.c: a registration holds for its overlay and domain only. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
	struct overlay_state got, s0, s1;
	struct vs_error err = {0};
	struct stat st;
	int fd;

	snprintf(state, sizeof(state), "%s/state", test_tmpdir());
	snprintf(ov, sizeof(ov), "%s/ov.qcow2", test_tmpdir());
	CU_ASSERT(mkdir(state, 0700) == 0);
	CU_ASSERT(file_write_atomic(ov, "x", 1, 0600, 1, &err) == 0);
	fd = open(ov, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(overlay_id_of(fd, ov, &id, &err), 0);
	close(fd);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1", &got), 0); /* not registered */
	CU_ASSERT_EQUAL(stat(ov, &st), 0);
	overlay_state_of(&st, &s0);
	CU_ASSERT_EQUAL(overlayreg_add(state, SECRET, &id, "web1", &s0, &err), 0);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1", &got), 1);
	CU_ASSERT(overlay_state_equal(&got, &s0));
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web2", &got), 0);  /* another domain */
	CU_ASSERT_EQUAL(overlayreg_lookup(state, OTHER, &id, "web1", &got), 0);   /* no valid MAC */
	id2 = id;
	id2.birth_nsec ^= 1; /* the same inode, born again: another file */
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id2, "web1", &got), 0);
	/* a write changes the state the registration holds (the hook then judges it again) */
	s1 = s0;
	s1.ctime_ns++;
	CU_ASSERT(!overlay_state_equal(&s1, &s0));
	s1 = s0;
	s1.size++;
	CU_ASSERT(!overlay_state_equal(&s1, &s0));
	s1 = s0;
	s1.mtime_ns--;
	CU_ASSERT(!overlay_state_equal(&s1, &s0));
	/* re-registered with the state a run left (release end): replaces the old one */
	s1.size = 1 << 20;
	CU_ASSERT_EQUAL(overlayreg_add(state, SECRET, &id, "web1", &s1, &err), 0);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1", &got), 1);
	CU_ASSERT(overlay_state_equal(&got, &s1));
	snprintf(path, sizeof(path), "%s/overlays/%llu-%llu", state, (unsigned long long)id.dev,
		 (unsigned long long)id.ino);
	/* the state line changed without the MAC: no registration */
	{
		char *buf = NULL, *p;
		size_t len;

		CU_ASSERT_EQUAL_FATAL(file_read_all(path, 4096, &buf, &len, &err), 0);
		p = strstr(buf, "state 1048576 ");
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		p[6] = '2';
		CU_ASSERT_EQUAL(file_write_atomic(path, buf, len, 0600, 1, &err), 0);
		CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1", &got), 0);
		free(buf);
	}
	CU_ASSERT_EQUAL(overlayreg_add(state, SECRET, &id, "web1", &s1, &err), 0);
	CU_ASSERT_EQUAL(chmod(path, 0644), 0);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1", &got), 0);  /* readable by others */
}

/* A registration an older hook wrote (no state line) still counts, as such, once: the hook
 * rewrites it with the state it finds. */
static void test_legacy_record(void)
{
	char state[512], ov[512], path[700], body[512], mac[HOSTSECRET_MAC_HEX], rec[700], dhex[16];
	struct overlay_id id;
	struct overlay_state got;
	struct vs_error err = {0};
	int fd, n;

	snprintf(state, sizeof(state), "%s/state-legacy", test_tmpdir());
	snprintf(ov, sizeof(ov), "%s/ov-legacy.qcow2", test_tmpdir());
	CU_ASSERT(mkdir(state, 0700) == 0);
	snprintf(path, sizeof(path), "%s/overlays", state);
	CU_ASSERT(mkdir(path, 0700) == 0);
	CU_ASSERT(file_write_atomic(ov, "x", 1, 0600, 1, &err) == 0);
	fd = open(ov, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(overlay_id_of(fd, ov, &id, &err), 0);
	close(fd);
	hex_encode((const uint8_t *)"web1", 4, dhex);
	n = snprintf(body, sizeof(body), "vmseal-overlay 1\ndomain %s\ndev %llu\nino %llu\nbirth %lld.%09u\n", dhex,
		     (unsigned long long)id.dev, (unsigned long long)id.ino, (long long)id.birth_sec, id.birth_nsec);
	hostsecret_mac(SECRET, "vmseal-overlay", body, (size_t)n, mac);
	n = snprintf(rec, sizeof(rec), "%smac %s\n", body, mac);
	snprintf(path, sizeof(path), "%s/overlays/%llu-%llu", state, (unsigned long long)id.dev,
		 (unsigned long long)id.ino);
	CU_ASSERT_EQUAL(file_write_atomic(path, rec, (size_t)n, 0600, 1, &err), 0);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web1", &got), OVERLAYREG_LEGACY);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, OTHER, &id, "web1", &got), 0);
	CU_ASSERT_EQUAL(overlayreg_lookup(state, SECRET, &id, "web2", &got), 0);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"registration: overlay, birth, domain, state and MAC bound", test_register_lookup},
		{"an older hook's registration (no state) is one, as such", test_legacy_record},
		{NULL, NULL},
	};
	return run_suite("overlayreg", cases);
}
