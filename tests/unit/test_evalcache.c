/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/evalcache.c: key sensitivity, trusted directory, strict entries, expiry. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/evalcache.h"
#include "lib/hostsecret.h"
#include "lib/policyindex.h"

static const uint8_t SECRET[HOSTSECRET_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t OTHER_SECRET[HOSTSECRET_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11};

static const char *POLICY = "5d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static void base_stats(struct stat *img, struct stat *att)
{
	memset(img, 0, sizeof(*img));
	memset(att, 0, sizeof(*att));
	img->st_dev = 2049;
	img->st_ino = 1234;
	img->st_size = 2147483648;
	img->st_mtim.tv_sec = 1700000000;
	img->st_mtim.tv_nsec = 1;
	img->st_ctim.tv_sec = 1700000000;
	img->st_ctim.tv_nsec = 2;
	att->st_dev = 2049;
	att->st_ino = 1235;
	att->st_size = 900;
	att->st_mtim.tv_sec = 1700000001;
	att->st_ctim.tv_sec = 1700000001;
}

/* Every field of the key changes it: any write to image or attestation, or a new policy. */
static void test_key_sensitivity(void)
{
	struct stat img, att, i2, a2;
	char k0[EVALCACHE_KEY_HEX], k[EVALCACHE_KEY_HEX];

	base_stats(&img, &att);
	evalcache_key(&img, &att, POLICY, k0);
	CU_ASSERT_EQUAL(strlen(k0), 64);
	evalcache_key(&img, &att, POLICY, k);
	CU_ASSERT_STRING_EQUAL(k, k0);
#define CHANGED(mutation)                                  \
	do {                                               \
		i2 = img;                                  \
		a2 = att;                                  \
		mutation;                                  \
		evalcache_key(&i2, &a2, POLICY, k);        \
		CU_ASSERT_STRING_NOT_EQUAL(k, k0);         \
	} while (0)
	CHANGED(i2.st_dev++);
	CHANGED(i2.st_ino++);
	CHANGED(i2.st_size++);
	CHANGED(i2.st_mtim.tv_nsec++);
	CHANGED(i2.st_ctim.tv_nsec++);
	CHANGED(i2.st_ctim.tv_sec++);
	CHANGED(a2.st_dev++);
	CHANGED(a2.st_ino++);
	CHANGED(a2.st_size++);
	CHANGED(a2.st_mtim.tv_nsec++);
	CHANGED(a2.st_ctim.tv_nsec++);
#undef CHANGED
	evalcache_key(&img, &att, "6d41402abc4b2a76b9719d911017c592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", k);
	CU_ASSERT_STRING_NOT_EQUAL(k, k0);
}

static const char *subdir(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	return path;
}

static void test_dir_check(void)
{
	struct vs_error err;
	const char *d = subdir("cache");
	char link[600];
	struct stat st;

	CU_ASSERT_EQUAL(evalcache_dir_check(d, &err), 0); /* created */
	CU_ASSERT_EQUAL_FATAL(stat(d, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0700);
	CU_ASSERT_EQUAL(evalcache_dir_check(d, &err), 0); /* exists */
	CU_ASSERT_EQUAL(chmod(d, 0770), 0);
	CU_ASSERT_EQUAL(evalcache_dir_check(d, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "mode 0770"));
	CU_ASSERT_EQUAL(chmod(d, 0700), 0);
	snprintf(link, sizeof(link), "%s/cache-link", test_tmpdir());
	CU_ASSERT_EQUAL(symlink(d, link), 0);
	CU_ASSERT_EQUAL(evalcache_dir_check(link, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "not a directory"));
	CU_ASSERT_EQUAL(evalcache_dir_check(subdir("missing-parent/cache"), &err), -1);
}

static void write_entry(const char *dir, const char *key, const char *text, unsigned mode)
{
	char path[700];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static void test_store_lookup(void)
{
	const char *d = subdir("c2");
	struct evalcache_entry e = {.template_version = 3, .valid_until = 2000}, got;
	struct stat img, att;
	struct vs_error err;
	char key[EVALCACHE_KEY_HEX], other[EVALCACHE_KEY_HEX];

	CU_ASSERT_EQUAL_FATAL(evalcache_dir_check(d, &err), 0);
	base_stats(&img, &att);
	evalcache_key(&img, &att, POLICY, key);
	strcpy(e.template_name, "debian-12");
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 1000, &got), 0); /* empty */
	CU_ASSERT_EQUAL_FATAL(evalcache_store(d, SECRET, key, &e, &err), 0);
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 1000, &got), 1);
	CU_ASSERT_STRING_EQUAL(got.template_name, "debian-12");
	CU_ASSERT_EQUAL(got.template_version, 3);
	CU_ASSERT_EQUAL(got.valid_until, 2000);
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 2000, &got), 0); /* expired */
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 5000, &got), 0);
	img.st_ctim.tv_nsec++;
	evalcache_key(&img, &att, POLICY, other);
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, other, 1000, &got), 0); /* changed image */

	e.valid_until = 0; /* no end */
	CU_ASSERT_EQUAL(evalcache_store(d, SECRET, key, &e, &err), 0);
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 1ll << 40, &got), 1);

	strcpy(e.template_name, "a\nb");
	CU_ASSERT_EQUAL(evalcache_store(d, SECRET, key, &e, &err), -1);
	memset(other, 0, sizeof(other));
	strcpy(other, "../../etc/passwd");
	CU_ASSERT_EQUAL(evalcache_store(d, SECRET, other, &e, &err), -1);
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, other, 0, &got), 0);
}

/* Anything odd about an entry is a miss, never an allow. */
static void test_bad_entries_miss(void)
{
	const char *d = subdir("c3");
	struct evalcache_entry got, e = {.template_version = 3};
	struct vs_error err;
	char key[EVALCACHE_KEY_HEX], path[700], good[1100];
	char *bad[10];
	int fd;
	ssize_t n;

	CU_ASSERT_EQUAL_FATAL(evalcache_dir_check(d, &err), 0);
	memset(key, 'a', 64);
	key[64] = '\0';
	strcpy(e.template_name, "debian-12");
	CU_ASSERT_EQUAL_FATAL(evalcache_store(d, SECRET, key, &e, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", d, key);
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	n = read(fd, good, sizeof(good) - 1);
	close(fd);
	CU_ASSERT_FATAL(n > 0);
	good[n] = '\0';
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 100, &got), 1); /* the good one, for contrast */
	CU_ASSERT_EQUAL(evalcache_lookup(d, OTHER_SECRET, key, 100, &got), 0); /* another host's secret */

	/* forgeries: right format, root-owned 0600, without a MAC the secret made */
	bad[0] = strdup("");
	bad[1] = strdup("vmseal-evalcache 1\ntemplate debian-12\nversion 3\nvalid_until 0\n"); /* old format */
	bad[2] = strdup("vmseal-evalcache 2\ntemplate debian-12\nversion 3\nvalid_until 0\n");  /* no mac */
	bad[3] = strdup("vmseal-evalcache 2\ntemplate debian-12\nversion 3\nvalid_until 0\n"
			"mac 0000000000000000000000000000000000000000000000000000000000000000\n");
	bad[4] = strdup(good);
	bad[4][strlen(bad[4]) - 2] ^= 1;                      /* one MAC digit flipped */
	bad[5] = strdup(good);
	strstr(bad[5], "version 3")[8] = '4';                 /* content changed, MAC kept */
	bad[6] = strdup(good);
	bad[6][strlen(bad[6]) - 1] = 'x';                     /* no final newline */
	bad[7] = strdup(good);
	strstr(bad[7], "debian-12")[0] = 'D';
	for (size_t i = 0; i < 8; i++) {
		write_entry(d, key, bad[i], 0600);
		CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 100, &got), 0);
		free(bad[i]);
	}
	/* a valid entry copied under another image's key */
	key[0] = 'b';
	write_entry(d, key, good, 0600);
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 100, &got), 0);
	key[0] = 'a';
	write_entry(d, key, good, 0666);
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 100, &got), 0); /* writable by others */
	unlink(path);
	CU_ASSERT_EQUAL(symlink("/etc/hostname", path), 0);
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 100, &got), 0); /* symlink */
	key[3] = 'G';
	CU_ASSERT_EQUAL(evalcache_lookup(d, SECRET, key, 100, &got), 0); /* not hex */
}

/* An allow is stored only for a file changed last a whole time stamp tick before it was opened
 * for hashing, on a file system that stamps ctime from the kernel's clock: a write in the tick
 * of the last change keeps the ctime, and so the key. */
static void test_settled(void)
{
	const int64_t sec = 1700000100LL * 1000000000LL, t = sec + 500000123; /* when it was opened */
	struct stat st;
	int fd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY), procfd = open("/proc/self/status", O_RDONLY);
	const struct {
		int64_t ctime_ns;
		int settled;
	} rows[] = {
		{t - 5000000000LL, 1},      /* changed seconds before */
		{t - 20000000, 1},          /* two jiffies before (ns time stamps: the kernel's coarse clock) */
		{t - 1000001, 0},           /* a millisecond before: the same jiffy at HZ 100 */
		{t - 1, 0},                 /* the same tick */
		{t, 0},
		{t + 3000000000LL, 0},      /* ahead of the clock */
		{sec - 1000000000LL, 0},    /* whole seconds (ext3, vfat): 1.5 s before, within two */
		{sec - 2000000000LL, 1},
	};

	CU_ASSERT_FATAL(fd >= 0 && procfd >= 0);
	if (!policy_index_fs_keeps_ctime(fd)) {
		fprintf(stderr, "  (the test directory's file system keeps no kernel ctime: rows skipped)\n");
	} else {
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			memset(&st, 0, sizeof(st));
			st.st_ctim.tv_sec = rows[i].ctime_ns / 1000000000;
			st.st_ctim.tv_nsec = rows[i].ctime_ns % 1000000000;
			CU_ASSERT_EQUAL(evalcache_settled(fd, &st, t), rows[i].settled);
			if (evalcache_settled(fd, &st, t) != rows[i].settled)
				fprintf(stderr, "  row %zu: want %d\n", i, rows[i].settled);
		}
	}
	/* a file system whose ctime is not the kernel's clock (here /proc): never settled */
	memset(&st, 0, sizeof(st));
	st.st_ctim.tv_sec = 1000;
	CU_ASSERT_EQUAL(evalcache_settled(procfd, &st, t), 0);
	close(fd);
	close(procfd);
}

/* The secret is made once, 0600, and a secret others could read or plant is refused. */
static void test_host_secret(void)
{
	const char *d = subdir("state");
	uint8_t k1[HOSTSECRET_BYTES], k2[HOSTSECRET_BYTES];
	char path[700], m1[HOSTSECRET_MAC_HEX];
	struct vs_error err;
	struct stat st;

	CU_ASSERT_EQUAL_FATAL(evalcache_dir_check(d, &err), 0);
	CU_ASSERT_EQUAL(hostsecret_load(d, 0, k1, &err), -1); /* missing, not created */
	CU_ASSERT_EQUAL(hostsecret_load(d, 1, k1, &err), 0);
	snprintf(path, sizeof(path), "%s/%s", d, HOSTSECRET_FILE);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL(st.st_size, HOSTSECRET_BYTES);
	CU_ASSERT_EQUAL(hostsecret_load(d, 1, k2, &err), 0);
	CU_ASSERT(memcmp(k1, k2, sizeof(k1)) == 0); /* made once */
	hostsecret_mac(k1, "a", "bc", 2, m1);
	CU_ASSERT_EQUAL(hostsecret_mac_ok(k1, "a", "bc", 2, m1), 1);
	CU_ASSERT_EQUAL(hostsecret_mac_ok(k1, "ab", "c", 1, m1), 0); /* label separates */
	CU_ASSERT_EQUAL(hostsecret_mac_ok(k1, "a", "bd", 2, m1), 0);
	CU_ASSERT_EQUAL(chmod(path, 0640), 0);
	CU_ASSERT_EQUAL(hostsecret_load(d, 1, k2, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "mode 0640"));
	CU_ASSERT_EQUAL(chmod(path, 0600), 0);
	CU_ASSERT_EQUAL(truncate(path, 16), 0);
	CU_ASSERT_EQUAL(hostsecret_load(d, 1, k2, &err), -1);
	hostsecret_wipe(k1);
	hostsecret_wipe(k2);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"key changes with every identity field", test_key_sensitivity},
		{"cache directory must be ours and private", test_dir_check},
		{"store, lookup, expiry", test_store_lookup},
		{"malformed, foreign, forged or odd entries miss", test_bad_entries_miss},
		{"host secret: made once, private", test_host_secret},
		{"an allow is stored only for a file settled before it was opened", test_settled},
		{NULL, NULL},
	};
	return run_suite("evalcache", cases);
}
