/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/bootfile.c and the policy's boot section: every check has a case that must
 * refuse (unsigned, wrong kind, wrong command line, expired, revoked key, digest, size, pins). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "common_cunit.h"
#include "lib/bootfile.h"
#include "lib/dsse.h"
#include "lib/merkle.h"
#include "lib/policy.h"
#include "lib/started.h"
#include "lib/statement.h"
#include "lib/util.h"

#define NOW 2000000000 /* 2033-05-18 */

static struct vs_key *kboot, *ktmpl, *kother;

/* A policy with kboot (usage boot, given status), ktmpl (usage template) and kother (boot); in
 * boot_json "@B", "@T" and "@O" stand for their keyids. */
static struct policy *mkpolicy(const char *status, const char *boot_json, const char *extra_top,
			       struct vs_error *err)
{
	char *pb = key_public_pem(kboot), *pt = key_public_pem(ktmpl), *po = key_public_pem(kother);
	char *s, *boot = strdup(boot_json), *at;
	struct policy *p = NULL;
	json_error_t jerr;
	json_t *root, *b;

	while ((at = strchr(boot, '@')) != NULL) {
		const char *id = at[1] == 'B' ? key_id(kboot) : at[1] == 'T' ? key_id(ktmpl) : key_id(kother);
		size_t off = at - boot;
		char *n = malloc(strlen(boot) + 64 + 1);

		memcpy(n, boot, off);
		strcpy(n + off, id);
		strcat(n, at + 2);
		free(boot);
		boot = n;
	}
	root = json_pack("{s:i, s:b, s:[{s:s, s:s, s:[s], s:s}, {s:s, s:s, s:[s]}, {s:s, s:s, s:[s]}]}",
			 "version", 1, "enforce", 1, "keys", "id", key_id(kboot), "public_key", pb, "usage",
			 "boot", "status", status, "id", key_id(ktmpl), "public_key", pt, "usage", "template",
			 "id", key_id(kother), "public_key", po, "usage", "boot");
	b = json_loads(boot, JSON_REJECT_DUPLICATES, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	json_object_set_new(root, "boot", b);
	if (extra_top) {
		json_t *x = json_loads(extra_top, 0, &jerr);

		json_object_update(root, x);
		json_decref(x);
	}
	s = json_dumps(root, JSON_COMPACT);
	if (policy_parse(s, strlen(s), "policy", &p, err) < 0)
		p = NULL;
	json_decref(root);
	free(s);
	free(boot);
	free(pb);
	free(pt);
	free(po);
	return p;
}

static void write_file(const char *name, const char *content, size_t len)
{
	int fd = open(test_path(name), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	CU_ASSERT_FATAL(fd >= 0 && write(fd, content, len) == (ssize_t)len);
	close(fd);
}

/* Signs name's current bytes as a boot file of kind (or as a template when kind is NONE) with
 * the given keys; cmdlines is a NULL-terminated list for a kernel. */
static void sign_file(const char *name, enum boot_kind kind, const char *bname, int64_t version,
		      const char *const *cmdlines, int64_t expires_at, struct vs_key *k1, struct vs_key *k2)
{
	struct statement st;
	struct dsse_envelope *env = NULL;
	struct vs_error err = {0};
	struct merkle_result mr;
	char apath[300], *payload, *json;
	size_t plen;

	CU_ASSERT_EQUAL_FATAL(merkle_root_path(test_path(name), NULL, &mr, &err), 0);
	memset(&st, 0, sizeof(st));
	st.predicate = kind == BOOT_KIND_NONE ? STATEMENT_TEMPLATE : STATEMENT_BOOT;
	st.boot_kind = kind;
	snprintf(st.subject_name, sizeof(st.subject_name), "%s", name);
	hex_encode(mr.root, 32, st.digest);
	snprintf(st.template_name, sizeof(st.template_name), "%s", bname);
	st.template_version = version;
	if (kind == BOOT_KIND_NONE)
		strcpy(st.format, "raw");
	st.size = mr.size;
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = NOW - 100;
	st.expires_at = expires_at;
	for (; cmdlines && *cmdlines; cmdlines++)
		snprintf(st.cmdlines[st.ncmdlines++], VS_MAX_CMDLINE_BYTES, "%s", *cmdlines);
	payload = statement_encode(&st, &plen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(payload);
	CU_ASSERT_EQUAL_FATAL(dsse_sign(DSSE_INTOTO_TYPE, (uint8_t *)payload, plen, k1, &env, &err), 0);
	if (k2)
		CU_ASSERT_EQUAL(dsse_append(env, k2, &err), 0);
	json = dsse_encode(env);
	snprintf(apath, sizeof(apath), "%s%s", test_path(name), BOOTFILE_ATTESTATION_SUFFIX);
	CU_ASSERT_EQUAL(file_write_atomic(apath, json, strlen(json), 0644, 1, &err), 0);
	free(json);
	free(payload);
	dsse_free(env);
}

/* Runs bootfile_check; returns the decision, copies the reason into why. */
static enum decision check(const struct policy *p, enum boot_kind kind, const char *name,
			   const char *cmdline, int64_t now, char *why, size_t whylen)
{
	struct bootfile_result r;
	struct vs_error err = {0};
	int rc = bootfile_check(p, kind, test_path(name), cmdline, now, NULL, &r, &err);

	if (rc < 0) {
		snprintf(why, whylen, "error: %s", err.reason);
		return DECISION_DENY;
	}
	snprintf(why, whylen, "%s", r.decision == DECISION_ALLOW ? r.summary : r.why.reason);
	if (r.decision != DECISION_ALLOW && strcmp(r.why.object, test_path(name)))
		fprintf(stderr, "denial names \"%s\", not the file\n", r.why.object);
	return r.decision;
}

#define EXPECT(dec, want_dec, want_text)                                                   \
	do {                                                                               \
		CU_ASSERT_EQUAL((dec), (want_dec));                                        \
		CU_ASSERT_PTR_NOT_NULL(strstr(why, (want_text)));                          \
		if ((dec) != (want_dec) || !strstr(why, (want_text)))                      \
			fprintf(stderr, "line %d: got %d \"%s\"\n", __LINE__, (dec), why); \
	} while (0)

static const char *const RULES =
	"{\"rules\":[{\"match\":\"debian-*\",\"kinds\":[\"kernel\",\"initrd\",\"dtb\",\"acpi\",\"nvram\",\"firmware\"],"
	"\"keys\":[\"@B\",\"@O\"],\"min_version\":2}]}";

static void test_signed_kernel_and_cmdline(void)
{
	static const char *const cmdlines[] = {"console=ttyS0 root=/dev/vda1", "", NULL};
	static const char *const only_console[] = {"console=ttyS0", NULL};
	struct vs_error err = {0};
	struct policy *p = mkpolicy("active", RULES, NULL, &err);
	char why[600];
	enum decision d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	write_file("vmlinuz", "kernel bytes", 12);
	sign_file("vmlinuz", BOOT_KIND_KERNEL, "debian-12-kernel", 3, cmdlines, 0, kboot, NULL);
	d = check(p, BOOT_KIND_KERNEL, "vmlinuz", "console=ttyS0 root=/dev/vda1", NOW, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW, "signed kernel \"debian-12-kernel\" version 3");
	d = check(p, BOOT_KIND_KERNEL, "vmlinuz", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW, "signed kernel");
	/* the attack: same signed kernel, another command line */
	d = check(p, BOOT_KIND_KERNEL, "vmlinuz", "console=ttyS0 root=/dev/vda1 init=/bin/sh", NOW, why,
		  sizeof(why));
	EXPECT(d, DECISION_DENY, "kernel command line \"console=ttyS0 root=/dev/vda1 init=/bin/sh\" is not one the kernel's Statement allows");
	d = check(p, BOOT_KIND_KERNEL, "vmlinuz", "init=/bin/sh", NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "is not one the kernel's Statement allows");
	/* no <cmdline> is the empty string, allowed only when listed */
	sign_file("vmlinuz", BOOT_KIND_KERNEL, "debian-12-kernel", 3, only_console, 0, kboot, NULL);
	d = check(p, BOOT_KIND_KERNEL, "vmlinuz", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "kernel command line \"\" is not one");
	d = check(p, BOOT_KIND_KERNEL, "vmlinuz", "console=ttyS0 ", NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "is not one");
	policy_free(p);
}

static void test_refusals(void)
{
	static const char *const cmdlines[] = {"console=ttyS0", NULL};
	struct vs_error err = {0};
	struct policy *p = mkpolicy("active", RULES, NULL, &err);
	struct policy *revoked = mkpolicy("revoked", RULES, NULL, &err);
	char why[600];
	enum decision d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(revoked);
	/* unsigned */
	write_file("unsigned.img", "evil", 4);
	d = check(p, BOOT_KIND_INITRD, "unsigned.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "unsigned initrd: no attestation");
	/* wrong kind: a signed initrd used as a kernel, a dtb used as an ACPI table */
	write_file("initrd.img", "initrd bytes", 12);
	sign_file("initrd.img", BOOT_KIND_INITRD, "debian-12-initrd", 3, NULL, 0, kboot, NULL);
	d = check(p, BOOT_KIND_INITRD, "initrd.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW, "signed initrd");
	d = check(p, BOOT_KIND_KERNEL, "initrd.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "signed as initrd \"debian-12-initrd\", used as kernel");
	write_file("board.dtb", "dtb", 3);
	sign_file("board.dtb", BOOT_KIND_DTB, "debian-12-dtb", 3, NULL, 0, kboot, NULL);
	d = check(p, BOOT_KIND_ACPI, "board.dtb", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "signed as dtb");
	/* expired */
	write_file("vmlinuz-old", "old kernel", 10);
	sign_file("vmlinuz-old", BOOT_KIND_KERNEL, "debian-12-kernel", 3, cmdlines, NOW - 10, kboot, NULL);
	d = check(p, BOOT_KIND_KERNEL, "vmlinuz-old", "console=ttyS0", NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "attestation expired at");
	d = check(p, BOOT_KIND_KERNEL, "vmlinuz-old", "console=ttyS0", NOW - 20, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW, "signed kernel");
	/* revoked key */
	d = check(revoked, BOOT_KIND_INITRD, "initrd.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "key revoked");
	/* a key without usage boot, even when the rule lists it */
	{
		struct policy *pt = mkpolicy("active",
			"{\"rules\":[{\"match\":\"*\",\"kinds\":[\"initrd\"],\"keys\":[\"@T\"]}]}", NULL, &err);

		CU_ASSERT_PTR_NOT_NULL_FATAL(pt);
		write_file("initrd-t.img", "initrd bytes", 12);
		sign_file("initrd-t.img", BOOT_KIND_INITRD, "debian-12-initrd", 3, NULL, 0, ktmpl, NULL);
		d = check(pt, BOOT_KIND_INITRD, "initrd-t.img", NULL, NOW, why, sizeof(why));
		EXPECT(d, DECISION_DENY, "key not authorised for boot use");
		policy_free(pt);
	}
	/* signed by a boot key that the matching rule does not list */
	write_file("initrd-u.img", "initrd bytes", 12);
	sign_file("initrd-u.img", BOOT_KIND_INITRD, "debian-12-initrd", 3, NULL, 0, kother, NULL);
	{
		struct policy *pk = mkpolicy("active",
			"{\"rules\":[{\"match\":\"*\",\"kinds\":[\"initrd\"],\"keys\":[\"@B\"]}]}", NULL, &err);

		d = check(pk, BOOT_KIND_INITRD, "initrd-u.img", NULL, NOW, why, sizeof(why));
		EXPECT(d, DECISION_DENY, "key not trusted for boot rule \"*\"");
		policy_free(pk);
	}
	/* digest mismatch: same size, one byte changed after signing */
	write_file("initrd.img", "initrd bytez", 12);
	d = check(p, BOOT_KIND_INITRD, "initrd.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "digest mismatch: file is");
	/* size mismatch */
	write_file("initrd.img", "initrd bytes and more", 21);
	d = check(p, BOOT_KIND_INITRD, "initrd.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "size is 21 bytes, attestation says 12");
	/* no rule for the name; below min_version */
	write_file("other.img", "x", 1);
	sign_file("other.img", BOOT_KIND_INITRD, "ubuntu-initrd", 3, NULL, 0, kboot, NULL);
	d = check(p, BOOT_KIND_INITRD, "other.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "no boot rule of the policy matches initrd \"ubuntu-initrd\"");
	sign_file("other.img", BOOT_KIND_INITRD, "debian-old", 1, NULL, 0, kboot, NULL);
	d = check(p, BOOT_KIND_INITRD, "other.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "version 1 is below boot rule \"debian-*\"'s min_version 2");
	/* a template attestation does not cover a boot file */
	sign_file("other.img", BOOT_KIND_NONE, "debian-12", 3, NULL, 0, kboot, NULL);
	d = check(p, BOOT_KIND_INITRD, "other.img", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "for a disk image template");
	/* a FIFO where a boot file is expected is refused at once, never read */
	CU_ASSERT_EQUAL(mkfifo(test_path("fifo"), 0600), 0);
	d = check(p, BOOT_KIND_FIRMWARE, "fifo", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "firmware is a FIFO, not a regular file");
	/* an attestation over the bound or a FIFO in its place: denials (lib/attest), not errors */
	write_file("bigatt.fd", "fw", 2);
	CU_ASSERT_EQUAL(truncate(test_path("bigatt.fd"), 4096), 0);
	{
		char apath[300];
		int afd;

		snprintf(apath, sizeof(apath), "%s%s", test_path("bigatt.fd"), BOOTFILE_ATTESTATION_SUFFIX);
		afd = open(apath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CU_ASSERT_FATAL(afd >= 0 && ftruncate(afd, VS_MAX_ATTESTATION_BYTES + 1) == 0);
		close(afd);
		d = check(p, BOOT_KIND_FIRMWARE, "bigatt.fd", NULL, NOW, why, sizeof(why));
		EXPECT(d, DECISION_DENY, "limit is 1048576");
		CU_ASSERT_EQUAL(unlink(apath), 0);
		CU_ASSERT_EQUAL(mkfifo(apath, 0600), 0);
		d = check(p, BOOT_KIND_FIRMWARE, "bigatt.fd", NULL, NOW, why, sizeof(why));
		EXPECT(d, DECISION_DENY, "is a FIFO, not a regular file");
	}
	/* a missing file */
	d = check(p, BOOT_KIND_FIRMWARE, "missing.fd", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "firmware: cannot open: No such file");
	policy_free(p);
	policy_free(revoked);
}

static void test_every_matching_rule(void)
{
	struct vs_error err = {0};
	struct policy *p = mkpolicy("active",
		"{\"rules\":[{\"match\":\"*\",\"kinds\":[\"firmware\"],\"keys\":[\"@B\",\"@O\"]},"
		"{\"match\":\"ovmf-*\",\"kinds\":[\"firmware\"],\"keys\":[\"@B\",\"@O\"],\"threshold\":2},"
		"{\"match\":\"*\",\"kinds\":[\"kernel\"],\"keys\":[\"@O\"],\"threshold\":1}]}", NULL, &err);
	char why[600];
	enum decision d;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	write_file("OVMF_CODE.fd", "firmware", 8);
	sign_file("OVMF_CODE.fd", BOOT_KIND_FIRMWARE, "ovmf-2023", 1, NULL, 0, kboot, NULL);
	d = check(p, BOOT_KIND_FIRMWARE, "OVMF_CODE.fd", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "boot rule \"ovmf-*\": 1 of 2 required signatures valid");
	sign_file("OVMF_CODE.fd", BOOT_KIND_FIRMWARE, "ovmf-2023", 1, NULL, 0, kboot, kother);
	d = check(p, BOOT_KIND_FIRMWARE, "OVMF_CODE.fd", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW, "2 signatures");
	/* the same key twice counts once */
	sign_file("OVMF_CODE.fd", BOOT_KIND_FIRMWARE, "ovmf-2023", 1, NULL, 0, kboot, NULL);
	{
		struct dsse_envelope *env = NULL;
		char apath[300], *buf, *json;
		size_t len;

		snprintf(apath, sizeof(apath), "%s.intoto.json", test_path("OVMF_CODE.fd"));
		CU_ASSERT_EQUAL_FATAL(file_read_all(apath, 1 << 20, &buf, &len, &err), 0);
		CU_ASSERT_EQUAL_FATAL(dsse_parse(buf, len, "env", &env, &err), 0);
		env->sigs[1] = env->sigs[0];
		env->sigs[1].sig = malloc(env->sigs[0].siglen);
		memcpy(env->sigs[1].sig, env->sigs[0].sig, env->sigs[0].siglen);
		env->nsigs = 2;
		json = dsse_encode(env);
		CU_ASSERT_EQUAL(file_write_atomic(apath, json, strlen(json), 0644, 1, &err), 0);
		free(json);
		free(buf);
		dsse_free(env);
	}
	d = check(p, BOOT_KIND_FIRMWARE, "OVMF_CODE.fd", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "1 of 2 required signatures valid");
	/* a kernel rule does not cover firmware, a firmware rule not a kernel */
	write_file("fw-as-kernel", "k", 1);
	sign_file("fw-as-kernel", BOOT_KIND_KERNEL, "ovmf-2023", 1, (const char *const[]){"", NULL}, 0,
		  kboot, NULL);
	d = check(p, BOOT_KIND_KERNEL, "fw-as-kernel", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "key not trusted for boot rule");
	policy_free(p);
}

static void test_pins(void)
{
	struct vs_error err = {0};
	struct merkle_result mr;
	char boot[1200], hex[65], why[600], bad[65];
	struct policy *p;
	enum decision d;

	write_file("bios.bin", "seabios bytes", 13);
	CU_ASSERT_EQUAL_FATAL(merkle_root_path(test_path("bios.bin"), NULL, &mr, &err), 0);
	hex_encode(mr.root, 32, hex);
	memcpy(bad, hex, 65);
	bad[0] = bad[0] == 'a' ? 'b' : 'a';
	/* a pin for this path */
	snprintf(boot, sizeof(boot),
		 "{\"pinned\":[{\"path\":\"%s\",\"kind\":\"firmware\",\"digest\":\"%s\",\"size\":13}]}",
		 test_path("bios.bin"), hex);
	p = mkpolicy("active", boot, NULL, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	d = check(p, BOOT_KIND_FIRMWARE, "bios.bin", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW, "firmware pinned by the policy");
	/* pinned as firmware, not as an NVRAM template */
	d = check(p, BOOT_KIND_NVRAM, "bios.bin", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "unsigned nvram");
	/* the file at the pinned path changed */
	write_file("bios.bin", "seabios bytez", 13);
	d = check(p, BOOT_KIND_FIRMWARE, "bios.bin", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "pinned digest mismatch");
	write_file("bios.bin", "seabios bytes", 13);
	policy_free(p);
	/* the pin's digest is wrong; a signature beside the file does not overrule a path pin */
	snprintf(boot, sizeof(boot),
		 "{\"pinned\":[{\"path\":\"%s\",\"kind\":\"firmware\",\"digest\":\"%s\",\"size\":13}],%s",
		 test_path("bios.bin"), bad, RULES + 1);
	p = mkpolicy("active", boot, NULL, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	sign_file("bios.bin", BOOT_KIND_FIRMWARE, "debian-bios", 3, NULL, 0, kboot, NULL);
	d = check(p, BOOT_KIND_FIRMWARE, "bios.bin", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "pinned digest mismatch");
	policy_free(p);
	/* size mismatch with the right digest */
	snprintf(boot, sizeof(boot),
		 "{\"pinned\":[{\"path\":\"%s\",\"kind\":\"firmware\",\"digest\":\"%s\",\"size\":14}]}",
		 test_path("bios.bin"), hex);
	p = mkpolicy("active", boot, NULL, &err);
	d = check(p, BOOT_KIND_FIRMWARE, "bios.bin", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "pinned digest mismatch");
	policy_free(p);
	/* a pin without a path covers any file with its digest (a fresh NVRAM copy of a template) */
	snprintf(boot, sizeof(boot), "{\"pinned\":[{\"kind\":\"nvram\",\"digest\":\"%s\",\"size\":13}]}", hex);
	p = mkpolicy("active", boot, NULL, &err);
	write_file("vm1_VARS.fd", "seabios bytes", 13);
	d = check(p, BOOT_KIND_NVRAM, "vm1_VARS.fd", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW, "nvram pinned by the policy");
	write_file("vm1_VARS.fd", "seabios bytez", 13);
	d = check(p, BOOT_KIND_NVRAM, "vm1_VARS.fd", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "unsigned nvram: no attestation");
	policy_free(p);
	/* a revoked digest is refused even when pinned */
	snprintf(boot, sizeof(boot), "{\"pinned\":[{\"kind\":\"firmware\",\"digest\":\"%s\",\"size\":13}]}", hex);
	{
		char top[200];

		snprintf(top, sizeof(top), "{\"revoked_digests\":[\"%s\"]}", hex);
		p = mkpolicy("active", boot, top, &err);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	d = check(p, BOOT_KIND_FIRMWARE, "bios.bin", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "revoked by the policy");
	policy_free(p);
	/* a pinned kernel still has its command lines checked */
	snprintf(boot, sizeof(boot),
		 "{\"pinned\":[{\"kind\":\"kernel\",\"digest\":\"%s\",\"size\":13,\"cmdlines\":[\"console=ttyS0\"]}]}",
		 hex);
	p = mkpolicy("active", boot, NULL, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	d = check(p, BOOT_KIND_KERNEL, "bios.bin", "console=ttyS0", NOW, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW, "kernel pinned");
	d = check(p, BOOT_KIND_KERNEL, "bios.bin", "console=ttyS0 init=/bin/sh", NOW, why, sizeof(why));
	EXPECT(d, DECISION_DENY, "is not one the policy's pin allows");
	policy_free(p);
	/* enforce false: a would-deny */
	p = mkpolicy("active", RULES, "{\"enforce\":false}", &err);
	d = check(p, BOOT_KIND_FIRMWARE, "vm1_VARS.fd", NULL, NOW, why, sizeof(why));
	EXPECT(d, DECISION_ALLOW_AUDIT_ONLY, "unsigned firmware");
	policy_free(p);
}

static void test_nvram(void)
{
	struct vs_error err = {0};
	struct policy *p = mkpolicy("active", RULES, NULL, &err);
	struct bootfile_result r;
	char evars[300];

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	write_file("OVMF_VARS.fd", "uefi variables template", 23);
	sign_file("OVMF_VARS.fd", BOOT_KIND_NVRAM, "debian-ovmf-vars", 3, NULL, 0, kboot, NULL);
	/* not created yet: libvirt copies the (allowed) template */
	CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("vm_VARS.fd"), test_path("OVMF_VARS.fd"), NOW, NULL, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
	/* no file and no template yet (firmware='efi' at prepare begin): judged at start begin */
	CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("vm_VARS.fd"), NULL, NOW, NULL, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "not created yet"));
	/* a fresh copy of the template, without an attestation of its own */
	write_file("vm_VARS.fd", "uefi variables template", 23);
	CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("vm_VARS.fd"), test_path("OVMF_VARS.fd"), NOW, NULL, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "fresh copy"));
	/* the VM's variables changed (or an attacker's NVRAM was put there) */
	write_file("vm_VARS.fd", "uefi variables evil!!!!", 23);
	CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("vm_VARS.fd"), test_path("OVMF_VARS.fd"), NOW, NULL, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why.reason, "differs from its template"));
	CU_ASSERT_STRING_EQUAL(r.why.object, test_path("vm_VARS.fd"));
	/* an existing NVRAM file without a template must be pinned or signed itself */
	CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("vm_VARS.fd"), NULL, NOW, NULL, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why.reason, "unsigned nvram"));
	/* an unsigned template is refused, naming the template */
	write_file("EVIL_VARS.fd", "uefi variables evil!!!!", 23);
	snprintf(evars, sizeof(evars), "%s", test_path("EVIL_VARS.fd"));
	CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("vm_VARS.fd"), evars, NOW, NULL, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_DENY);
	CU_ASSERT_STRING_EQUAL(r.why.object, evars);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why.reason, "unsigned nvram"));
	policy_free(p);
}

/* With the hook's ownership rule, a boot file others can write is refused however it is signed,
 * and a fresh NVRAM copy others can write is no exemption. */
static void test_ownership_rule(void)
{
	static const char *const cmdlines[] = {"", NULL};
	struct filetrust_opts trust = {.qemu_uid = FILETRUST_NO_UID};
	struct vs_error err = {0};
	struct policy *p = mkpolicy("active", RULES, NULL, &err);
	struct bootfile_result r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	write_file("vmlinuz-trust", "kernel", 6);
	sign_file("vmlinuz-trust", BOOT_KIND_KERNEL, "debian-k", 3, cmdlines, 0, kboot, NULL);
	CU_ASSERT_EQUAL_FATAL(chmod(test_path("vmlinuz-trust"), 0666), 0);
	CU_ASSERT_EQUAL(bootfile_check(p, BOOT_KIND_KERNEL, test_path("vmlinuz-trust"), NULL, NOW, &trust, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why.reason, "not writable by group or other"));
	/* the same file without the rule (vmseal-verify) is signed and allowed */
	CU_ASSERT_EQUAL(bootfile_check(p, BOOT_KIND_KERNEL, test_path("vmlinuz-trust"), NULL, NOW, NULL, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
	/* a fresh copy of a signed NVRAM template, writable by others */
	write_file("T_VARS.fd", "vars", 4);
	sign_file("T_VARS.fd", BOOT_KIND_NVRAM, "debian-vars", 3, NULL, 0, kboot, NULL);
	write_file("copy_VARS.fd", "vars", 4);
	CU_ASSERT_EQUAL_FATAL(chmod(test_path("copy_VARS.fd"), 0666), 0);
	CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("copy_VARS.fd"), test_path("T_VARS.fd"), NOW, &trust, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_DENY);
	/* not created yet, in a directory others may write: libvirt (root) would create it
	 * wherever they point the name first (before start begin judges the copy) */
	CU_ASSERT_EQUAL_FATAL(mkdir(test_path("openvars"), 0777), 0);
	CU_ASSERT_EQUAL_FATAL(chmod(test_path("openvars"), 0777), 0);
	CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("openvars/vm_VARS.fd"), test_path("T_VARS.fd"), NOW, &trust, &r, &err), 0);
	CU_ASSERT_EQUAL(r.decision, DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.why.reason, "not writable by group or other"));
	if (geteuid() == 0) { /* root owns the test's directories: the rule passes for 0644 */
		CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("absent_VARS.fd"), test_path("T_VARS.fd"), NOW, &trust, &r, &err), 0);
		CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
		CU_ASSERT_PTR_NOT_NULL(strstr(r.summary, "not created yet"));
		CU_ASSERT_EQUAL(chmod(test_path("copy_VARS.fd"), 0644), 0);
		CU_ASSERT_EQUAL(chmod(test_path("vmlinuz-trust"), 0644), 0);
		CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("copy_VARS.fd"), test_path("T_VARS.fd"), NOW, &trust, &r, &err), 0);
		CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
		CU_ASSERT_EQUAL(bootfile_check(p, BOOT_KIND_KERNEL, test_path("vmlinuz-trust"), NULL, NOW, &trust, &r, &err), 0);
		CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
		if (r.decision != DECISION_ALLOW)
			fprintf(stderr, "ownership rule as root: %s\n", r.why.reason);
		/* at start begin the inodes judged are kept for started begin: the kernel as read at
		 * QEMU's start, the NVRAM copy as held by QEMU; not the template (libvirt copied it) */
		{
			struct started_record rec = {0};
			struct stat sk, sv;

			trust.record = &rec;
			CU_ASSERT_EQUAL(bootfile_check(p, BOOT_KIND_KERNEL, test_path("vmlinuz-trust"), NULL, NOW, &trust, &r, &err), 0);
			CU_ASSERT_EQUAL(bootfile_check_nvram(p, test_path("copy_VARS.fd"), test_path("T_VARS.fd"), NOW, &trust, &r, &err), 0);
			CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
			/* the template on its own (<nvram template>): allowed, never recorded */
			CU_ASSERT_EQUAL(bootfile_check(p, BOOT_KIND_NVRAM, test_path("T_VARS.fd"), NULL, NOW, &trust, &r, &err), 0);
			CU_ASSERT_EQUAL(r.decision, DECISION_ALLOW);
			CU_ASSERT_EQUAL(chmod(test_path("vmlinuz-trust"), 0666), 0); /* denied: not recorded */
			CU_ASSERT_EQUAL(bootfile_check(p, BOOT_KIND_KERNEL, test_path("vmlinuz-trust"), NULL, NOW, &trust, &r, &err), 0);
			CU_ASSERT_EQUAL(r.decision, DECISION_DENY);
			CU_ASSERT_EQUAL(chmod(test_path("vmlinuz-trust"), 0644), 0);
			CU_ASSERT_EQUAL_FATAL(rec.nfiles, 2);
			CU_ASSERT(stat(test_path("vmlinuz-trust"), &sk) == 0 && stat(test_path("copy_VARS.fd"), &sv) == 0);
			CU_ASSERT_EQUAL(rec.files[0].kind, STARTED_BOOT);
			CU_ASSERT_EQUAL(rec.files[0].ino, (uint64_t)sk.st_ino);
			CU_ASSERT_STRING_EQUAL(rec.files[0].path, test_path("vmlinuz-trust"));
			CU_ASSERT_EQUAL(rec.files[1].kind, STARTED_HELD);
			CU_ASSERT_EQUAL(rec.files[1].ino, (uint64_t)sv.st_ino);
			started_record_free(&rec);
			trust.record = NULL;
		}
	}
	policy_free(p);
}

static void test_boot_attestation_is_no_disk(void)
{
	static const char *const cmdlines[] = {"", NULL};
	struct vs_error err = {0};
	struct policy *p = mkpolicy("active", RULES, NULL, &err);
	struct image_verdict v;
	char apath[300], *env;
	size_t len;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	write_file("kernel-as-disk", "kernel", 6);
	sign_file("kernel-as-disk", BOOT_KIND_KERNEL, "debian-12", 3, cmdlines, 0, kboot, NULL);
	snprintf(apath, sizeof(apath), "%s.intoto.json", test_path("kernel-as-disk"));
	CU_ASSERT_EQUAL_FATAL(file_read_all(apath, 1 << 20, &env, &len, &err), 0);
	fd = open(test_path("kernel-as-disk"), O_RDONLY);
	CU_ASSERT_EQUAL(policy_eval_image(p, fd, "kernel-as-disk", env, len, NOW, &v, &err), 0);
	CU_ASSERT_EQUAL(v.decision, DECISION_DENY);
	CU_ASSERT_PTR_NOT_NULL(strstr(v.why.reason, "is for a boot file (kernel \"debian-12\"), not a disk image"));
	close(fd);
	free(env);
	policy_free(p);
}

static void test_policy_boot_rejects(void)
{
	static const struct { const char *boot, *want; } cases[] = {
		{"{\"pins\":[]}", "boot: unknown field \"pins\""},
		{"[]", "boot is not an object"},
		{"{\"rules\":[{\"match\":\"*\",\"keys\":[\"@B\"]}]}", "kinds must be a non-empty array"},
		{"{\"rules\":[{\"match\":\"*\",\"kinds\":[\"bios\"],\"keys\":[\"@B\"]}]}", "kind \"bios\" is not"},
		{"{\"rules\":[{\"match\":\"*\",\"kinds\":[\"kernel\"],\"keys\":[\"@B\"],\"threshold\":2}]}",
		 "threshold must be an integer in [1, 1]"},
		{"{\"rules\":[{\"match\":\"*\",\"kinds\":[\"kernel\"],\"keys\":[\"@B\",\"@B\"]}]}", "keyid listed twice"},
		{"{\"rules\":[{\"match\":\"*\",\"kinds\":[\"kernel\"],\"keys\":[\"ab\"]}]}", "is not a key of this policy"},
		{"{\"rules\":[{\"match\":\"*\",\"kinds\":[\"kernel\"],\"keys\":[\"@B\"],\"cmdline\":\"x\"}]}",
		 "unknown field \"cmdline\""},
		{"{\"pinned\":[{\"kind\":\"firmware\",\"digest\":\"00\",\"size\":1}]}", "64 lowercase hex"},
		{"{\"pinned\":[{\"kind\":\"firmware\",\"digest\":\"0000000000000000000000000000000000000000000000000000000000000000\"}]}",
		 "size missing"},
		{"{\"pinned\":[{\"kind\":\"firmware\",\"path\":\"rel/bios.bin\",\"digest\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1}]}",
		 "path must be an absolute path"},
		{"{\"pinned\":[{\"kind\":\"kernel\",\"digest\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1}]}",
		 "a kernel pin needs \"cmdlines\""},
		{"{\"pinned\":[{\"kind\":\"initrd\",\"cmdlines\":[\"\"],\"digest\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1}]}",
		 "only a kernel pin lists cmdlines"},
		{"{\"pinned\":[{\"kind\":\"firmware\",\"sha256\":\"x\",\"digest\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1}]}",
		 "unknown field \"sha256\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vs_error err = {0};
		struct policy *p = mkpolicy("active", cases[i].boot, NULL, &err);

		CU_ASSERT_PTR_NULL(p);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, cases[i].want));
		if (p || !strstr(err.reason, cases[i].want))
			fprintf(stderr, "case %zu: got \"%s\"\n", i, err.reason);
		policy_free(p);
	}
	{
		struct vs_error err = {0};
		struct policy *p = mkpolicy("active", "{\"pinned\":[],\"rules\":[]}", NULL, &err);

		CU_ASSERT_PTR_NOT_NULL(p);
		policy_free(p);
	}
}

static void test_statement_boot_round_trip_and_rejects(void)
{
	static const char *const bad[] = {
		/* kind unknown */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"bios\",\"version\":1},\"file\":{\"size\":1,\"chunkSize\":4194304},\"signedAt\":\"2026-11-23T12:00:00Z\"}",
		/* a kernel without cmdlines */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"kernel\",\"version\":1},\"file\":{\"size\":1,\"chunkSize\":4194304},\"signedAt\":\"2026-11-23T12:00:00Z\"}",
		/* an initrd with cmdlines */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"initrd\",\"version\":1},\"file\":{\"size\":1,\"chunkSize\":4194304},\"cmdlines\":[\"\"],\"signedAt\":\"2026-11-23T12:00:00Z\"}",
		/* duplicate command line */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"kernel\",\"version\":1},\"file\":{\"size\":1,\"chunkSize\":4194304},\"cmdlines\":[\"a\",\"a\"],\"signedAt\":\"2026-11-23T12:00:00Z\"}",
		/* control character */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"kernel\",\"version\":1},\"file\":{\"size\":1,\"chunkSize\":4194304},\"cmdlines\":[\"a\\nb\"],\"signedAt\":\"2026-11-23T12:00:00Z\"}",
		/* the template's image object in a boot predicate */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"dtb\",\"version\":1},\"image\":{\"format\":\"raw\",\"size\":1,\"chunkSize\":4194304},\"signedAt\":\"2026-11-23T12:00:00Z\"}",
		/* unknown field in boot */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"dtb\",\"version\":1,\"arch\":\"x86\"},\"file\":{\"size\":1,\"chunkSize\":4194304},\"signedAt\":\"2026-11-23T12:00:00Z\"}",
		/* wrong chunk size */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"dtb\",\"version\":1},\"file\":{\"size\":1,\"chunkSize\":4096},\"signedAt\":\"2026-11-23T12:00:00Z\"}",
		/* nine command lines */
		"{\"boot\":{\"name\":\"k\",\"kind\":\"kernel\",\"version\":1},\"file\":{\"size\":1,\"chunkSize\":4194304},\"cmdlines\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"],\"signedAt\":\"2026-11-23T12:00:00Z\"}",
	};
	static const char *const good =
		"{\"boot\":{\"name\":\"k\",\"kind\":\"kernel\",\"version\":1},\"file\":{\"size\":1,\"chunkSize\":4194304},\"cmdlines\":[\"\",\"console=ttyS0\"],\"signedAt\":\"2026-11-23T12:00:00Z\"}";
	char doc[2048];
	struct statement st, back;
	struct vs_error err = {0};
	size_t len;
	char *enc;

	for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
		const char *pred = i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : good;

		snprintf(doc, sizeof(doc),
			 "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\",\"digest\":"
			 "{\"vmseal-merkle-sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}],"
			 "\"predicateType\":\"urn:vmseal:boot:v1\",\"predicate\":%s}", pred);
		CU_ASSERT_EQUAL(statement_parse((uint8_t *)doc, strlen(doc), "t", &st, &err),
				pred == good ? 0 : -1);
	}
	CU_ASSERT_EQUAL(st.predicate, STATEMENT_BOOT);
	CU_ASSERT_EQUAL(st.boot_kind, BOOT_KIND_KERNEL);
	CU_ASSERT_EQUAL(st.ncmdlines, 2);
	CU_ASSERT_STRING_EQUAL(st.cmdlines[1], "console=ttyS0");
	enc = statement_encode(&st, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
	CU_ASSERT_EQUAL_FATAL(statement_parse((uint8_t *)enc, len, "t", &back, &err), 0);
	CU_ASSERT_EQUAL(memcmp(&st, &back, sizeof(st)), 0);
	free(enc);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"signed kernel: exact command lines only", test_signed_kernel_and_cmdline},
		{"refusals: unsigned, kind, expired, revoked, usage, digest, size, rule, version, FIFO",
		 test_refusals},
		{"every matching boot rule must hold, keys counted once", test_every_matching_rule},
		{"pins: path, kind, digest, size, revoked, kernel command lines, audit-only", test_pins},
		{"NVRAM: absent, a fresh copy, changed, no template, unsigned template", test_nvram},
		{"ownership rule: others can write it, refused however signed", test_ownership_rule},
		{"a boot attestation never covers a disk", test_boot_attestation_is_no_disk},
		{"policy boot section: strict parsing", test_policy_boot_rejects},
		{"boot Statement: round trip and strict parsing", test_statement_boot_round_trip_and_rejects},
		{NULL, NULL},
	};
	struct vs_error err = {0};

	if (key_generate(KEY_ALG_ED25519, 1, &kboot, &err) < 0 ||
	    key_generate(KEY_ALG_ED25519, 1, &ktmpl, &err) < 0 ||
	    key_generate(KEY_ALG_P256, 1, &kother, &err) < 0)
		return 2;
	return run_suite("bootfile", cases);
}
