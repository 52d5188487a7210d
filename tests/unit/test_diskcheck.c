/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/diskcheck.c (the hook's whole decision on a disk) and lib/attest.c (the one
 * attestation entry point): signed allowed; tampered, unsigned, wrong key, oversized or FIFO
 * attestation, a writable signed layer denied; enforce false turns verdicts (never errors) into
 * audit-only; the allow-cache never allows a file changed since. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "common_cunit.h"
#include "lib/attest.h"
#include "lib/diskcheck.h"
#include "lib/dsse.h"
#include "lib/evalcache.h"
#include "lib/hostsecret.h"
#include "lib/merkle.h"
#include "lib/policy.h"
#include "lib/policyindex.h"
#include "lib/statement.h"
#include "lib/util.h"

#define NOW 2000000000 /* 2033-05-18 */

static struct vs_key *ksign, *kstranger;

/* The policy: ksign (usage template) under one rule "debian-*". */
static struct policy *mkpolicy(int enforce)
{
	char *pem = key_public_pem(ksign), *s;
	struct policy *p = NULL;
	struct vs_error err = {0};
	json_t *root;

	root = json_pack("{s:i, s:b, s:[{s:s, s:s, s:[s]}], s:[{s:s, s:[s]}]}", "version", 1,
			 "enforce", enforce, "keys", "id", key_id(ksign), "public_key", pem, "usage",
			 "template", "templates", "match", "debian-*", "keys", key_id(ksign));
	s = json_dumps(root, JSON_COMPACT);
	CU_ASSERT_EQUAL(policy_parse(s, strlen(s), "policy", &p, &err), 0);
	json_decref(root);
	free(s);
	free(pem);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CU_ASSERT_FATAL(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

/* A raw image of 100 000 pseudo-random bytes at name. */
static const char *mkimage(const char *name, unsigned seed)
{
	static uint8_t buf[100000];
	const char *path = test_path(name);

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)((i * 2654435761u + seed) >> 13);
	write_file(path, buf, sizeof(buf));
	return path;
}

/* Writes name's attestation (template debian-12 version 3) signed by k. */
static void sign_image(const char *path, struct vs_key *k)
{
	struct statement st;
	struct dsse_envelope *env = NULL;
	struct vs_error err = {0};
	struct merkle_result mr;
	char apath[VS_PATH_TMP_MAX], *payload, *json;
	size_t plen;

	CU_ASSERT_EQUAL_FATAL(merkle_root_path(path, NULL, &mr, &err), 0);
	memset(&st, 0, sizeof(st));
	st.predicate = STATEMENT_TEMPLATE;
	snprintf(st.subject_name, sizeof(st.subject_name), "%s", strrchr(path, '/') + 1);
	hex_encode(mr.root, 32, st.digest);
	strcpy(st.template_name, "debian-12");
	st.template_version = 3;
	strcpy(st.format, "raw");
	st.size = mr.size;
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = NOW - 100;
	payload = statement_encode(&st, &plen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(payload);
	CU_ASSERT_EQUAL_FATAL(dsse_sign(DSSE_INTOTO_TYPE, (uint8_t *)payload, plen, k, &env, &err), 0);
	json = dsse_encode(env);
	CU_ASSERT_EQUAL_FATAL(attest_default_path(path, apath, sizeof(apath), &err), 0);
	write_file(apath, json, strlen(json));
	free(json);
	free(payload);
	dsse_free(env);
}

/* One file disk (raw) on path, readonly unless writable. */
static void mkdisk(struct domain_disk *d, const char *path, int writable)
{
	memset(d, 0, sizeof(*d));
	d->device = DISK_DEVICE_DISK;
	strcpy(d->target, "vda");
	d->readonly = !writable;
	d->chain_end_known = 1;
	d->nlayers = 1;
	d->layers[0].type = DISK_TYPE_FILE;
	strcpy(d->layers[0].type_name, "file");
	strcpy(d->layers[0].format, "raw");
	d->layers[0].source = (char *)path;
}

/* Judges path as a disk under p: the return value of diskcheck_disk, r filled. */
static int judge(const struct policy *p, const char *path, int writable, const char *cache_dir,
		 const uint8_t *secret, struct disk_result *r)
{
	struct diskcheck c;
	struct domain_disk d;
	int rc;

	diskcheck_init(&c, p, NOW, cache_dir);
	c.secret = secret;
	mkdisk(&d, path, writable);
	rc = diskcheck_disk(&c, &d, r);
	diskcheck_free(&c);
	return rc;
}

#define EXPECT_REFUSED(r, rc, want_decision, want)                                          \
	do {                                                                                   \
		CU_ASSERT_EQUAL((r).decision, want_decision);                                  \
		CU_ASSERT_PTR_NOT_NULL(strstr((r).why.reason, want));                          \
		if (!strstr((r).why.reason, want))                                             \
			fprintf(stderr, "  want \"%s\", got \"%s: %s\"\n", want, (r).why.object, \
				(r).why.reason);                                               \
		CU_ASSERT_EQUAL(rc, (want_decision) == DECISION_DENY ? -1 : 0);               \
	} while (0)

static void test_signed_allowed(void)
{
	struct policy *p = mkpolicy(1);
	const char *img = mkimage("good.raw", 1);
	struct disk_result r;

	sign_image(img, ksign);
	CU_ASSERT_EQUAL(judge(p, img, 0, NULL, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
	CU_ASSERT_EQUAL(r.layers, 1);
	CU_ASSERT_EQUAL(r.evaluated, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "good.raw: template \"debian-12\" version 3"));
	policy_free(p);
}

static void test_refusals(void)
{
	struct policy *p = mkpolicy(1);
	struct disk_result r;
	const char *img;
	char apath[VS_PATH_TMP_MAX];
	struct vs_error err = {0};
	int rc;

	/* tampered after signing: one byte */
	img = mkimage("tampered.raw", 2);
	sign_image(img, ksign);
	{
		int fd = open(img, O_WRONLY);

		CU_ASSERT_FATAL(fd >= 0 && pwrite(fd, "x", 1, 5000) == 1);
		close(fd);
	}
	rc = judge(p, img, 0, NULL, NULL, &r);
	EXPECT_REFUSED(r, rc, DECISION_DENY, "digest mismatch");
	CU_ASSERT_STRING_EQUAL(r.why.object, img);

	/* no attestation: a denial naming the attestation, not an error */
	img = mkimage("unsigned.raw", 3);
	rc = judge(p, img, 0, NULL, NULL, &r);
	EXPECT_REFUSED(r, rc, DECISION_DENY, "no attestation (");
	CU_ASSERT_EQUAL(r.why.kind, VS_ERR_DENIED);
	CU_ASSERT_STRING_EQUAL(r.why.object, img);

	/* signed by a key the policy does not know */
	img = mkimage("stranger.raw", 4);
	sign_image(img, kstranger);
	rc = judge(p, img, 0, NULL, NULL, &r);
	EXPECT_REFUSED(r, rc, DECISION_DENY, "unknown key");

	/* an attestation over the size bound: a denial, not an error */
	img = mkimage("big.raw", 5);
	CU_ASSERT_EQUAL_FATAL(attest_default_path(img, apath, sizeof(apath), &err), 0);
	{
		int fd = open(apath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, VS_MAX_ATTESTATION_BYTES + 1) == 0);
		close(fd);
	}
	rc = judge(p, img, 0, NULL, NULL, &r);
	EXPECT_REFUSED(r, rc, DECISION_DENY, "limit is 1048576");
	CU_ASSERT_EQUAL(r.why.kind, VS_ERR_DENIED);

	/* a FIFO where the attestation should be: refused at once, a denial */
	img = mkimage("fifo.raw", 6);
	CU_ASSERT_EQUAL_FATAL(attest_default_path(img, apath, sizeof(apath), &err), 0);
	CU_ASSERT_FATAL(mkfifo(apath, 0644) == 0);
	rc = judge(p, img, 0, NULL, NULL, &r);
	EXPECT_REFUSED(r, rc, DECISION_DENY, "is a FIFO");

	/* a writable disk straight on a signed layer: the guest would write the template */
	img = mkimage("writable.raw", 7);
	sign_image(img, ksign);
	rc = judge(p, img, 1, NULL, NULL, &r);
	EXPECT_REFUSED(r, rc, DECISION_DENY, "writable disk directly on a signed layer");

	/* a disk that is not there: an error, denied */
	rc = judge(p, test_path("absent.raw"), 0, NULL, NULL, &r);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(r.decision, DECISION_DENY);
	CU_ASSERT_EQUAL(r.why.kind, VS_ERR_NOTFOUND);
	policy_free(p);
}

/* enforce false: a verdict becomes ALLOW_AUDIT_ONLY (the reason kept), an error still denies. */
static void test_audit_only(void)
{
	struct policy *p = mkpolicy(0);
	struct disk_result r;
	const char *img = mkimage("audit.raw", 8);
	int rc;

	rc = judge(p, img, 0, NULL, NULL, &r);
	EXPECT_REFUSED(r, rc, DECISION_ALLOW_AUDIT_ONLY, "no attestation (");
	sign_image(img, kstranger);
	rc = judge(p, img, 0, NULL, NULL, &r);
	EXPECT_REFUSED(r, rc, DECISION_ALLOW_AUDIT_ONLY, "unknown key");
	rc = judge(p, test_path("absent.raw"), 0, NULL, NULL, &r);
	CU_ASSERT_EQUAL(rc, -1);
	CU_ASSERT_EQUAL(r.decision, DECISION_DENY);

	/* the one rule: a verdict follows enforce, an error never does */
	{
		struct vs_error denied = {.kind = VS_ERR_DENIED}, io = {.kind = VS_ERR_IO};
		struct policy *enf = mkpolicy(1);

		CU_ASSERT_EQUAL(policy_denial(p), DECISION_ALLOW_AUDIT_ONLY);
		CU_ASSERT_EQUAL(policy_denial(enf), DECISION_DENY);
		CU_ASSERT_EQUAL(policy_denial(NULL), DECISION_DENY);
		CU_ASSERT_EQUAL(policy_refusal(p, &denied), DECISION_ALLOW_AUDIT_ONLY);
		CU_ASSERT_EQUAL(policy_refusal(p, &io), DECISION_DENY);
		CU_ASSERT_EQUAL(policy_refusal(enf, &denied), DECISION_DENY);
		policy_free(enf);
	}
	policy_free(p);
}

/* Waits until path and its attestation were changed last a whole time stamp tick ago
 * (evalcache_settled): only then may an allow for them be stored. */
static void wait_settled(const char *path)
{
	char apath[VS_PATH_TMP_MAX];
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(attest_default_path(path, apath, sizeof(apath), &err), 0);
	for (const char *f = path; f; f = f == path ? apath : NULL) {
		struct stat st;
		int fd = open(f, O_RDONLY);

		CU_ASSERT_FATAL(fd >= 0 && fstat(fd, &st) == 0);
		while (!evalcache_settled(fd, &st, policy_index_now_ns()))
			usleep(2000);
		close(fd);
	}
}

static size_t cache_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The allow-cache: a second check answers from it; a file changed since is evaluated again and
 * denied, however fresh the entry. */
static void test_cache_never_allows_a_changed_file(void)
{
	struct policy *p = mkpolicy(1);
	struct disk_result r;
	const char *img = mkimage("cached.raw", 9);
	char cache[300];
	uint8_t secret[HOSTSECRET_BYTES];
	struct vs_error err = {0};
	int rc;

	snprintf(cache, sizeof(cache), "%s/cache", test_tmpdir());
	CU_ASSERT_EQUAL_FATAL(evalcache_dir_check(cache, &err), 0);
	memset(secret, 0x5a, sizeof(secret));
	sign_image(img, ksign);
	wait_settled(img);
	CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
	CU_ASSERT_EQUAL(r.cached, 0);
	CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
	CU_ASSERT_EQUAL(r.cached, 1);
	CU_ASSERT_EQUAL(r.evaluated, 0);
	{
		int fd = open(img, O_WRONLY);

		CU_ASSERT_FATAL(fd >= 0 && pwrite(fd, "y", 1, 777) == 1);
		close(fd);
	}
	rc = judge(p, img, 0, cache, secret, &r);
	EXPECT_REFUSED(r, rc, DECISION_DENY, "digest mismatch");
	CU_ASSERT_EQUAL(r.cached, 0);
	/* another host secret: the entry's MAC fails, the file is hashed again */
	sign_image(img, ksign);
	wait_settled(img);
	CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0);
	secret[0] ^= 1;
	CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0);
	CU_ASSERT_EQUAL(r.cached, 0);
	CU_ASSERT_EQUAL(r.evaluated, 1);
	/* an entry found under a key naming another policy (as a stale policy digest would name
	 * it): the rule's min_version is checked again, and the image judged afresh */
	secret[0] ^= 1;
	CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0); /* stored again under this secret */
	CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0);
	CU_ASSERT_EQUAL(r.cached, 1);
	{
		struct policy *q = mkpolicy(1);
		char digest[sizeof(q->digest)];

		q->templates[0].min_version = 9; /* version 3 is below it */
		memcpy(digest, policy_digest(p), sizeof(digest));
		memcpy(q->digest, digest, sizeof(digest)); /* the key of p's entries */
		rc = judge(q, img, 0, cache, secret, &r);
		EXPECT_REFUSED(r, rc, DECISION_DENY, "below the policy's min_version");
		CU_ASSERT_EQUAL(r.cached, 0);
		policy_free(q);
	}
	policy_free(p);
}

/* A file changed in the tick its check begins: no allow is stored for it. On a file system
 * with coarse time stamps (1 s on ext3, a jiffy on Linux 6.1's ext4 and tmpfs) a write in the
 * same tick, after the hash, keeps the ctime and so the key: a stored entry would allow the
 * new bytes. Once settled, the allow is stored and used. */
static void test_cache_skips_a_file_changed_in_its_tick(void)
{
	struct policy *p = mkpolicy(1);
	struct disk_result r;
	const char *img = mkimage("racy.raw", 11);
	char cache[300];
	uint8_t secret[HOSTSECRET_BYTES];
	struct vs_error err = {0};
	int unsettled = 0;

	snprintf(cache, sizeof(cache), "%s/racy-cache", test_tmpdir());
	CU_ASSERT_EQUAL_FATAL(evalcache_dir_check(cache, &err), 0);
	memset(secret, 0x5a, sizeof(secret));
	sign_image(img, ksign);
	wait_settled(img);
	/* the image changed (a chmod: its ctime) right before the check; on a slow run the check
	 * may begin a tick later, so it is tried until one began within the tick */
	for (int i = 0; i < 50 && !unsettled; i++) {
		struct stat st;
		int64_t before;

		CU_ASSERT_EQUAL_FATAL(chmod(img, 0644), 0);
		CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0);
		CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
		CU_ASSERT_EQUAL(r.evaluated, 1);
		before = policy_index_now_ns();
		CU_ASSERT_EQUAL_FATAL(stat(img, &st), 0);
		if (before - vs_timespec_ns(&st.st_ctim) < 10000000) { /* within policy_index_settled's margin */
			unsettled = 1;
			CU_ASSERT_EQUAL(cache_entries(cache), 0);
		}
		wait_settled(img);
		CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0); /* settled: stored */
		CU_ASSERT_EQUAL(r.cached, 0);
		CU_ASSERT_EQUAL(cache_entries(cache), 1);
		CU_ASSERT_EQUAL(judge(p, img, 0, cache, secret, &r), 0);
		CU_ASSERT_EQUAL(r.cached, 1);
		CU_ASSERT_EQUAL(r.evaluated, 0);
		for (DIR *d = opendir(cache); d; closedir(d), d = NULL)
			for (struct dirent *e; (e = readdir(d));)
				if (e->d_name[0] != '.')
					CU_ASSERT_EQUAL(unlinkat(dirfd(d), e->d_name, 0), 0);
	}
	CU_ASSERT(unsettled);
	policy_free(p);
}

/* attest_eval_image: the entry point vmseal-verify and the gateway use, same answers. */
static void test_attest_entry_point(void)
{
	struct policy *p = mkpolicy(1);
	const char *img = mkimage("entry.raw", 10);
	struct image_verdict v;
	struct vs_error err = {0};
	int fd;

	CU_ASSERT_FATAL((fd = open(img, O_RDONLY)) >= 0);
	CU_ASSERT_EQUAL(attest_eval_image(p, fd, img, NULL, NOW, NULL, &v, &err), 0);
	CU_ASSERT_EQUAL(v.decision, DECISION_DENY);
	CU_ASSERT_EQUAL(v.why.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.why.reason, "no attestation ("));
	CU_ASSERT_STRING_EQUAL(v.why.object, img);
	sign_image(img, ksign);
	CU_ASSERT_EQUAL(attest_eval_image(p, fd, img, NULL, NOW, NULL, &v, &err), 0);
	CU_ASSERT_EQUAL(v.decision, DECISION_ALLOW);
	CU_ASSERT_STRING_EQUAL(v.st.template_name, "debian-12");
	/* an explicit path that is not there: denied, naming it */
	CU_ASSERT_EQUAL(attest_eval_image(p, fd, img, test_path("nope.json"), NOW, NULL, &v, &err), 0);
	CU_ASSERT_EQUAL(v.decision, DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.why.reason, "nope.json not found"));
	/* an attestation path past the bound: an error, never a verdict */
	{
		char longpath[VS_PATH_TMP_MAX + 8];

		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[sizeof(longpath) - 1] = '\0';
		CU_ASSERT_EQUAL(attest_eval_image(p, fd, img, longpath, NOW, NULL, &v, &err), -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
	}
	close(fd);
	policy_free(p);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"signed image allowed", test_signed_allowed},
		{"refusals: tampered, no attestation, wrong key, oversized, FIFO, writable, absent",
		 test_refusals},
		{"enforce false: verdicts audit-only, errors still deny", test_audit_only},
		{"cache hit never allows a changed file", test_cache_never_allows_a_changed_file},
		{"no allow cached for a file changed in its check's tick", test_cache_skips_a_file_changed_in_its_tick},
		{"attest_eval_image: one entry point, missing is a denial", test_attest_entry_point},
		{NULL, NULL},
	};
	struct vs_error err = {0};
	int rc;

	if (geteuid() != 0) {
		/* the ownership rule (lib/filetrust) trusts root's files alone */
		fprintf(stderr, "test_diskcheck: skipped: needs root\n");
		return 0;
	}
	if (key_generate(KEY_ALG_ED25519, 1, &ksign, &err) < 0 ||
	    key_generate(KEY_ALG_ED25519, 1, &kstranger, &err) < 0)
		return 2;
	rc = run_suite("diskcheck", cases);
	key_free(ksign);
	key_free(kstranger);
	return rc;
}
