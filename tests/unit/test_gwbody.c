/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/gwbody.c: the gateway's JSON bodies, what each field accepts and refuses. */
#include <stdio.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/gwbody.h"

#define D64 "3fa2b5c1d4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80"

static void test_names(void)
{
	static const char *ok[] = {"web1", "debian-12.qcow2", "a", "A_b.c-d",
				   "1234567890123456789012345678901234567890123456789012345678901234"};
	static const char *bad[] = {"", ".hidden", "-rf", "a/b", "a b", "..", "caf\xc3\xa9", "a\"b",
				    "12345678901234567890123456789012345678901234567890123456789012345"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CU_ASSERT(gwbody_name_ok(ok[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT(!gwbody_name_ok(bad[i]));
}

static void test_create(void)
{
	static const struct { const char *body, *reason; } bad[] = {
		{"", "not a JSON object"},
		{"[]", "not a JSON object"},
		{"{\"name\":\"a\",\"name\":\"b\",\"template\":\"t\",\"memory_mib\":16,\"vcpus\":1}",
		 "not a JSON object"},
		{"{\"name\":\"a\",\"template\":\"t\",\"memory_mib\":16,\"vcpus\":1,\"disk\":1}",
		 "unknown field \"disk\""},
		{"{\"name\":\"../a\",\"template\":\"t\",\"memory_mib\":16,\"vcpus\":1}", "need name"},
		{"{\"name\":\"a\",\"template\":\"t\",\"memory_mib\":15,\"vcpus\":1}", "need name"},
		{"{\"name\":\"a\",\"template\":\"t\",\"memory_mib\":16,\"vcpus\":65}", "need name"},
		{"{\"name\":\"a\",\"template\":\"t\",\"memory_mib\":\"16\",\"vcpus\":1}", "need name"},
		{"{\"name\":\"a\",\"template\":\"t\",\"vcpus\":1}", "need name"},
	};
	const char *good = "{\"name\":\"web1\",\"template\":\"debian-12.qcow2\",\"memory_mib\":1048576,"
			   "\"vcpus\":64}";
	struct gwbody_create c;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(gwbody_parse_create(good, strlen(good), &c, &err), 0);
	CU_ASSERT_STRING_EQUAL(c.name, "web1");
	CU_ASSERT_STRING_EQUAL(c.template_name, "debian-12.qcow2");
	CU_ASSERT_EQUAL(c.memory_mib, 1048576);
	CU_ASSERT_EQUAL(c.vcpus, 64);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_error_clear(&err);
		CU_ASSERT_EQUAL(gwbody_parse_create(bad[i].body, strlen(bad[i].body), &c, &err), -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
		if (!strstr(err.reason, bad[i].reason))
			fprintf(stderr, "create #%zu: reason \"%s\"\n", i, err.reason);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, bad[i].reason));
	}
	/* the length given is the body: what follows it is not read */
	CU_ASSERT_EQUAL(gwbody_parse_create(good, strlen(good) - 1, &c, &err), -1);
	CU_ASSERT_EQUAL(gwbody_parse_create(NULL, 0, &c, &err), -1);
}

static void test_sign(void)
{
	static const struct { const char *body, *object; } bad[] = {
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\"t\",\"version\":1,\"signedAt\":1}",
		 "body"},
		{"{\"digest\":\"3FA2B5C1D4E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F80\","
		 "\"size\":1,\"template\":\"t\",\"version\":1}", "digest"},
		{"{\"digest\":\"" D64 "0\",\"size\":1,\"template\":\"t\",\"version\":1}", "digest"},
		{"{\"digest\":\"" D64 "\",\"size\":-1,\"template\":\"t\",\"version\":1}", "size"},
		{"{\"digest\":\"" D64 "\",\"size\":1.5,\"template\":\"t\",\"version\":1}", "size"},
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\"a/b\",\"version\":1}", "template"},
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\".t\",\"version\":1}", "template"},
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\"t\",\"version\":-1}", "version"},
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\"t\",\"version\":1,\"expires\":0}",
		 "expires"},
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\"t\",\"version\":1,\"expires\":\"3661d\"}",
		 "expires"},
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\"t\",\"version\":1,\"expires\":\"1y\"}",
		 "expires"},
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\"t\",\"version\":1,\"name\":null}", "name"},
		{"{\"digest\":\"" D64 "\",\"size\":1,\"template\":\"t\",\"version\":1,\"format\":\"vmdk\"}",
		 "format"},
	};
	const char *min = "{\"digest\":\"" D64 "\",\"size\":2147483648,\"template\":\"debian-12\","
			  "\"version\":3}";
	const char *all = "{\"digest\":\"" D64 "\",\"size\":0,\"template\":\"debian-12\",\"version\":0,"
			  "\"expires\":\"30d\",\"name\":\"debian-12.raw\",\"format\":\"raw\"}";
	struct statement st;
	struct vs_error err = {0};
	int64_t expires = 0;

	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL_FATAL(gwbody_parse_sign(min, strlen(min), &st, &expires, &err), 0);
	CU_ASSERT_STRING_EQUAL(st.digest, D64);
	CU_ASSERT_EQUAL(st.size, 2147483648u);
	CU_ASSERT_STRING_EQUAL(st.template_name, "debian-12");
	CU_ASSERT_EQUAL(st.template_version, 3);
	CU_ASSERT_STRING_EQUAL(st.subject_name, "debian-12"); /* defaults to the template */
	CU_ASSERT_STRING_EQUAL(st.format, "qcow2");
	CU_ASSERT_EQUAL(expires, 365 * 86400);
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL_FATAL(gwbody_parse_sign(all, strlen(all), &st, &expires, &err), 0);
	CU_ASSERT_STRING_EQUAL(st.subject_name, "debian-12.raw");
	CU_ASSERT_STRING_EQUAL(st.format, "raw");
	CU_ASSERT_EQUAL(expires, 30 * 86400);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_error_clear(&err);
		CU_ASSERT_EQUAL(gwbody_parse_sign(bad[i].body, strlen(bad[i].body), &st, &expires, &err),
				-1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
		if (strcmp(err.object, bad[i].object))
			fprintf(stderr, "sign #%zu: object \"%s\": %s\n", i, err.object, err.reason);
		CU_ASSERT_STRING_EQUAL(err.object, bad[i].object);
	}
}

static void test_targets(void)
{
	static const char *ok[] = {"vda", "vdb", "sdc", "hdc", "xvda", "vdaa", "vdzzz"};
	static const char *bad[] = {"", "vd", "sd", "xvd", "vdA", "vd1", "vdaaaa", "nvme0n1", "fda",
				    "vda/", "../vda", "hdc\"", "vd\xc3\xa9"};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CU_ASSERT(gwbody_target_ok(ok[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT(!gwbody_target_ok(bad[i]));
}

static void test_disk_media(void)
{
	static const struct { const char *body, *reason; } bad[] = {
		{"{\"template\":\"t\",\"target\":\"vdb\"}", "mode"},
		{"{\"template\":\"t\",\"target\":\"vdb\",\"mode\":\"rw\"}", "mode"},
		{"{\"template\":\"t\",\"target\":\"vdb\",\"mode\":1}", "mode"},
		{"{\"template\":\"../t\",\"target\":\"vdb\",\"mode\":\"readonly\"}", "template"},
		{"{\"template\":\"t\",\"target\":\"vd1\",\"mode\":\"readonly\"}", "target"},
		{"{\"target\":\"vdb\",\"mode\":\"readonly\"}", "template"},
		{"{\"template\":\"t\",\"target\":\"vdb\",\"mode\":\"readonly\",\"source\":\"/dev/sda\"}",
		 "unknown field \"source\""},
		{"{\"template\":\"t\",\"template\":\"u\",\"target\":\"vdb\",\"mode\":\"readonly\"}",
		 "not a JSON object"},
	};
	const char *ro = "{\"template\":\"data.qcow2\",\"target\":\"vdb\",\"mode\":\"readonly\"}";
	const char *ov = "{\"mode\":\"overlay\",\"target\":\"sdc\",\"template\":\"data.qcow2\"}";
	const char *md = "{\"template\":\"install.iso\",\"target\":\"hdc\"}";
	struct gwbody_disk d;
	struct gwbody_media m;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(gwbody_parse_disk(ro, strlen(ro), &d, &err), 0);
	CU_ASSERT_STRING_EQUAL(d.template_name, "data.qcow2");
	CU_ASSERT_STRING_EQUAL(d.target, "vdb");
	CU_ASSERT_EQUAL(d.overlay, 0);
	CU_ASSERT_EQUAL_FATAL(gwbody_parse_disk(ov, strlen(ov), &d, &err), 0);
	CU_ASSERT_EQUAL(d.overlay, 1);
	CU_ASSERT_STRING_EQUAL(d.target, "sdc");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vs_error_clear(&err);
		CU_ASSERT_EQUAL(gwbody_parse_disk(bad[i].body, strlen(bad[i].body), &d, &err), -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
		if (!strstr(err.reason, bad[i].reason))
			fprintf(stderr, "disk #%zu: reason \"%s\"\n", i, err.reason);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, bad[i].reason));
	}
	CU_ASSERT_EQUAL_FATAL(gwbody_parse_media(md, strlen(md), &m, &err), 0);
	CU_ASSERT_STRING_EQUAL(m.template_name, "install.iso");
	CU_ASSERT_STRING_EQUAL(m.target, "hdc");
	CU_ASSERT_EQUAL(gwbody_parse_media(ro, strlen(ro), &m, &err), -1); /* mode is not a field */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "unknown field \"mode\""));
	CU_ASSERT_EQUAL(gwbody_parse_media("{\"template\":\"a/b\",\"target\":\"hdc\"}", 37, &m, &err), -1);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"names: the safe alphabet", test_names},
		{"POST /v1/domains body", test_create},
		{"POST /v1/sign body", test_sign},
		{"disk targets", test_targets},
		{"POST /v1/domains/{name}/disks and /media bodies", test_disk_media},
		{NULL, NULL},
	};
	return run_suite("gwbody", cases);
}
