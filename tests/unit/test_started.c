/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/started.c: records (MAC'd, bound to the domain) and the held-files check. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/started.h"
#include "lib/util.h"

static const uint8_t SECRET[HOSTSECRET_BYTES] = {7, 7, 7};
static const uint8_t OTHER[HOSTSECRET_BYTES] = {7, 7, 8};

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", test_tmpdir(), name);
}

static void test_record_round_trip(void)
{
	struct started_record r = {0}, got;
	struct vs_error err = {0};
	char a[512], b[512], state[512];
	struct stat sa, sb;

	path_of(a, sizeof(a), "a.img");
	path_of(b, sizeof(b), "b img\nnewline");
	path_of(state, sizeof(state), "state");
	CU_ASSERT(mkdir(state, 0700) == 0);
	CU_ASSERT(file_write_atomic(a, "a", 1, 0644, 1, &err) == 0);
	CU_ASSERT(file_write_atomic(b, "b", 1, 0644, 1, &err) == 0);
	CU_ASSERT(stat(a, &sa) == 0 && stat(b, &sb) == 0);
	snprintf(r.domain, sizeof(r.domain), "web1");
	r.enforce = 1;
	CU_ASSERT_EQUAL(started_record_add(&r, sa.st_dev, sa.st_ino, a, &err), 0);
	CU_ASSERT_EQUAL(started_record_add(&r, sa.st_dev, sa.st_ino, a, &err), 0); /* once */
	CU_ASSERT_EQUAL(started_record_add(&r, sb.st_dev, sb.st_ino, b, &err), 0);
	CU_ASSERT_EQUAL(r.nfiles, 2);
	CU_ASSERT_EQUAL_FATAL(started_record_write(state, SECRET, &r, &err), 0);
	CU_ASSERT_EQUAL(started_record_read(state, SECRET, "web1", &got, &err), 0);
	CU_ASSERT_EQUAL(got.nfiles, 2);
	CU_ASSERT_EQUAL(got.enforce, 1);
	CU_ASSERT_STRING_EQUAL(got.audit_log, ""); /* none recorded */
	CU_ASSERT_STRING_EQUAL(got.files[1].path, b);
	CU_ASSERT_EQUAL(got.files[0].ino, (uint64_t)sa.st_ino);
	started_record_free(&got);
	CU_ASSERT_EQUAL(started_record_read(state, OTHER, "web1", &got, &err), -1); /* no valid MAC */
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_EQUAL(started_record_read(state, SECRET, "web2", &got, &err), -1); /* no record */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "no record"));
	/* the audit log start begin wrote to (the started check reads no policy for it) */
	snprintf(r.audit_log, sizeof(r.audit_log), "/var/log/vmseal/audit\nlog.jsonl");
	CU_ASSERT_EQUAL_FATAL(started_record_write(state, SECRET, &r, &err), 0);
	CU_ASSERT_EQUAL(started_record_read(state, SECRET, "web1", &got, &err), 0);
	CU_ASSERT_STRING_EQUAL(got.audit_log, r.audit_log);
	CU_ASSERT_EQUAL(got.nfiles, 2);
	started_record_free(&got);
	/* a relative one is no record: refused even under a valid MAC */
	snprintf(r.audit_log, sizeof(r.audit_log), "audit.jsonl");
	CU_ASSERT_EQUAL_FATAL(started_record_write(state, SECRET, &r, &err), 0);
	CU_ASSERT_EQUAL(started_record_read(state, SECRET, "web1", &got, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	started_record_free(&r);
}

static void test_check_held(void)
{
	struct started_record r = {0};
	struct vs_error err = {0};
	char a[512], evil[512];
	struct stat sa;
	int fd;

	path_of(a, sizeof(a), "disk.img");
	path_of(evil, sizeof(evil), "evil.img");
	CU_ASSERT(file_write_atomic(a, "good", 4, 0644, 1, &err) == 0);
	CU_ASSERT(file_write_atomic(evil, "evil", 4, 0644, 1, &err) == 0);
	CU_ASSERT(stat(a, &sa) == 0);
	snprintf(r.domain, sizeof(r.domain), "web1");
	CU_ASSERT_EQUAL(started_record_add(&r, sa.st_dev, sa.st_ino, a, &err), 0);

	CU_ASSERT_EQUAL(started_check_pid(&r, "/proc", getpid(), &err), -1); /* not held */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "does not hold the verified file"));
	fd = open(a, O_RDONLY);
	CU_ASSERT_EQUAL(started_check_pid(&r, "/proc", getpid(), &err), 0);
	close(fd);
	/* the swap: another file renamed over the path, then opened by "QEMU" */
	CU_ASSERT(rename(evil, a) == 0);
	fd = open(a, O_RDONLY);
	CU_ASSERT_EQUAL(started_check_pid(&r, "/proc", getpid(), &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "swapped after start begin: QEMU holds device"));
	close(fd);
	CU_ASSERT_EQUAL(started_check_pid(&r, "/proc", 999999999, &err), -1); /* no such process */
	started_record_free(&r);
}

/* Boot files QEMU read at its start and closed: their path must name the inode judged, with
 * the size and mtime judged. A kernel renamed over the path, rewritten in place or removed
 * after start begin is refused; the record keeps it through a write and a read. */
static void test_check_boot(void)
{
	struct started_record r = {0}, got;
	struct vs_error err = {0};
	char k[512], evil[512], state[512];
	struct stat sk;

	path_of(k, sizeof(k), "vmlinuz");
	path_of(evil, sizeof(evil), "evil-vmlinuz");
	path_of(state, sizeof(state), "boot-state");
	CU_ASSERT(mkdir(state, 0700) == 0);
	CU_ASSERT(file_write_atomic(k, "kernel", 6, 0644, 1, &err) == 0);
	CU_ASSERT(stat(k, &sk) == 0);
	snprintf(r.domain, sizeof(r.domain), "web1");
	CU_ASSERT_EQUAL(started_record_add_boot(&r, &sk, k, &err), 0);
	CU_ASSERT_EQUAL(started_record_add_boot(&r, &sk, k, &err), 0); /* once */
	CU_ASSERT_EQUAL(r.nfiles, 1);
	CU_ASSERT_EQUAL(started_record_add_boot(&r, &sk, "vmlinuz", &err), -1); /* relative */
	CU_ASSERT_EQUAL_FATAL(started_record_write(state, SECRET, &r, &err), 0);
	CU_ASSERT_EQUAL_FATAL(started_record_read(state, SECRET, "web1", &got, &err), 0);
	CU_ASSERT_EQUAL(got.nfiles, 1);
	CU_ASSERT_EQUAL(got.files[0].kind, STARTED_BOOT);
	CU_ASSERT_EQUAL(got.files[0].size, 6);
	CU_ASSERT_EQUAL(got.files[0].mtime_ns, vs_timespec_ns(&sk.st_mtim));
	CU_ASSERT_STRING_EQUAL(got.files[0].path, k);
	/* not held by "QEMU" (it closed it): still allowed, unchanged */
	CU_ASSERT_EQUAL(started_check_pid(&got, "/proc", getpid(), &err), 0);
	/* a chown (libvirt's DAC driver at the start) changes the ctime only */
	CU_ASSERT_EQUAL(chown(k, 0, 0), 0);
	CU_ASSERT_EQUAL(started_check_pid(&got, "/proc", getpid(), &err), 0);
	/* rewritten in place: same inode, another mtime */
	{
		struct timespec ts[2] = {{0, UTIME_OMIT}, {sk.st_mtim.tv_sec + 1, sk.st_mtim.tv_nsec}};
		int fd = open(k, O_WRONLY);

		CU_ASSERT_FATAL(fd >= 0 && pwrite(fd, "K", 1, 0) == 1 && futimens(fd, ts) == 0);
		close(fd);
	}
	CU_ASSERT_EQUAL(started_check_pid(&got, "/proc", getpid(), &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "rewritten after start begin"));
	/* swapped: another file renamed over the path */
	CU_ASSERT(file_write_atomic(evil, "kernel", 6, 0644, 1, &err) == 0);
	CU_ASSERT(rename(evil, k) == 0);
	CU_ASSERT_EQUAL(started_check_pid(&got, "/proc", getpid(), &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "swapped after start begin: the path names device"));
	CU_ASSERT_STRING_EQUAL(err.object, k);
	CU_ASSERT(unlink(k) == 0);
	CU_ASSERT_EQUAL(started_check_pid(&got, "/proc", getpid(), &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "swapped after start begin: No such file"));
	started_record_free(&got);
	started_record_free(&r);
}

static void test_pid_file(void)
{
	struct vs_error err = {0};
	char dir[512], f[600];
	pid_t pid = 0;

	path_of(dir, sizeof(dir), "run");
	CU_ASSERT(mkdir(dir, 0755) == 0);
	snprintf(f, sizeof(f), "%s/web1.pid", dir);
	CU_ASSERT(file_write_atomic(f, "1234\n", 5, 0644, 1, &err) == 0);
	CU_ASSERT_EQUAL(started_read_pid(dir, "web1", &pid, &err), 0);
	CU_ASSERT_EQUAL(pid, 1234);
	CU_ASSERT(file_write_atomic(f, "12x4\n", 5, 0644, 1, &err) == 0);
	CU_ASSERT_EQUAL(started_read_pid(dir, "web1", &pid, &err), -1);
	CU_ASSERT(file_write_atomic(f, "1\n", 2, 0644, 1, &err) == 0);
	CU_ASSERT_EQUAL(started_read_pid(dir, "web1", &pid, &err), -1); /* init is no QEMU */
	CU_ASSERT_EQUAL(started_read_pid(dir, "../web1", &pid, &err), -1);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"record round trip, MAC and domain bound", test_record_round_trip},
		{"held files: missing and swapped refused", test_check_held},
		{"boot files: swapped, rewritten or gone refused", test_check_boot},
		{"pid file", test_pid_file},
		{NULL, NULL},
	};
	return run_suite("started", cases);
}
