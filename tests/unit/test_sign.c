/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for vmseal-sign's decisions in lib/: "may this key sign" (keymeta_load_signable:
 * lifecycle, load, metadata of this key) and the countersign match
 * (statement_countersign_check). Every refusal has a case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/statement.h"
#include "lib/util.h"

static void set_status(const char *base, enum keymeta_status st)
{
	struct keymeta m;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(keymeta_load(base, &m, &err), 0);
	m.status = st;
	if (st == KEYMETA_RETIRED)
		m.retired_at = 1795440100;
	CU_ASSERT_EQUAL_FATAL(keymeta_save(base, &m, 1, &err), 0);
}

static void test_load_signable(void)
{
	const char *a = test_path("a"), *b = test_path("b");
	char spec[300], json_a[300], json_b[300];
	struct vs_key *k = NULL, *ka = NULL, *kb = NULL;
	struct vs_error err = {0};
	static const struct { enum keymeta_status st; const char *want; } refused[] = {
		{KEYMETA_RETIRED, "key retired at"},
		{KEYMETA_REVOKED, "key revoked"},
		{KEYMETA_DESTROYED, "key destroyed"},
	};

	CU_ASSERT_EQUAL_FATAL(keymeta_create_key(KEY_ALG_ED25519, 1, a, NULL, NULL, &ka, &err), 0);
	CU_ASSERT_EQUAL_FATAL(keymeta_create_key(KEY_ALG_ED25519, 1, b, NULL, NULL, &kb, &err), 0);
	snprintf(spec, sizeof(spec), "%s.key", a);
	CU_ASSERT_EQUAL(keymeta_load_signable(spec, NULL, &k, &err), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_STRING_EQUAL(key_id(k), key_id(ka));
	key_free(k);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		set_status(a, refused[i].st);
		vs_error_clear(&err);
		k = NULL;
		CU_ASSERT_EQUAL(keymeta_load_signable(spec, NULL, &k, &err), -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
		CU_ASSERT_PTR_NULL(k); /* refused before the key is even read */
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, refused[i].want));
		key_free(k);
	}
	/* a.key beside b's metadata: mixed-up files, refused after loading */
	set_status(a, KEYMETA_ACTIVE);
	snprintf(json_a, sizeof(json_a), "%s.json", a);
	snprintf(json_b, sizeof(json_b), "%s.json", b);
	CU_ASSERT_EQUAL_FATAL(rename(json_b, json_a), 0);
	k = NULL;
	CU_ASSERT_EQUAL(keymeta_load_signable(spec, NULL, &k, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "mixed-up files"));
	key_free(k);
	/* no key file: an error, not a key */
	snprintf(spec, sizeof(spec), "%s/none.key", test_tmpdir());
	k = NULL;
	CU_ASSERT_EQUAL(keymeta_load_signable(spec, NULL, &k, &err), -1);
	CU_ASSERT_NOT_EQUAL(err.kind, VS_ERR_NONE);
	CU_ASSERT_PTR_NULL(k);
	key_free(ka);
	key_free(kb);
}

#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "2222222222222222222222222222222222222222222222222222222222222222"

static void test_countersign_check(void)
{
	static const char *const cmd_ab[] = {"a", "b"}, *const cmd_ba[] = {"b", "a"},
			  *const cmd_a[] = {"a"}, *const cmd_c[] = {"a", "c"};
	struct statement tmpl = {.predicate = STATEMENT_TEMPLATE, .digest = D1, .size = 4096,
				 .template_name = "debian-12", .template_version = 3};
	struct statement kern = {.predicate = STATEMENT_BOOT, .digest = D1, .size = 4096,
				 .template_name = "k", .template_version = 1,
				 .boot_kind = BOOT_KIND_KERNEL, .ncmdlines = 2, .cmdlines = {"a", "b"}};
	static const struct {
		int boot;
		struct statement_expect want;
		const char *refusal; /* NULL: allowed */
	} cases[] = {
		{0, {.digest = D1, .size = 4096, .version = -1}, NULL},
		{0, {.digest = D1, .size = 4096, .name = "debian-12", .version = 3, .template_only = 1}, NULL},
		{0, {.digest = D2, .size = 4096, .version = -1}, "is for another image"},
		{0, {.digest = D1, .size = 4095, .version = -1}, "is for another image"},
		{0, {.digest = D1, .size = 4096, .name = "debian-13", .version = -1}, "envelope names template \"debian-12\" version 3"},
		{0, {.digest = D1, .size = 4096, .version = 4}, "envelope names template"},
		{0, {.digest = D1, .size = 4096, .version = -1, .kind = BOOT_KIND_KERNEL}, "envelope names template"},
		{1, {.digest = D1, .size = 4096, .version = -1, .kind = BOOT_KIND_KERNEL, .cmdlines = cmd_ba, .ncmdlines = 2}, NULL},
		{1, {.digest = D1, .size = 4096, .version = -1, .kind = BOOT_KIND_KERNEL, .cmdlines = cmd_ab, .ncmdlines = 2}, NULL},
		{1, {.digest = D1, .size = 4096, .version = -1, .template_only = 1}, "envelope names kernel \"k\""},
		{1, {.digest = D1, .size = 4096, .version = -1, .kind = BOOT_KIND_INITRD}, "envelope names kernel"},
		{1, {.digest = D1, .size = 4096, .version = -1, .cmdlines = cmd_a, .ncmdlines = 1}, "command lines differ"},
		{1, {.digest = D1, .size = 4096, .version = -1, .cmdlines = cmd_c, .ncmdlines = 2}, "command lines differ"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vs_error err = {0};
		int rc = statement_countersign_check(cases[i].boot ? &kern : &tmpl, &cases[i].want, "img",
						     "img.intoto.json", &err);

		if (!cases[i].refusal) {
			CU_ASSERT_EQUAL(rc, 0);
			continue;
		}
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "refusing to countersign"));
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, cases[i].refusal));
		if (rc != -1 || !strstr(err.reason, cases[i].refusal))
			fprintf(stderr, "  case %zu: rc %d \"%s\"\n", i, rc, err.reason);
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		{"may this key sign: lifecycle, load, its own metadata", test_load_signable},
		{"countersign match: image, name, version, kind, command lines", test_countersign_check},
		{NULL, NULL},
	};

	return run_suite("sign", cases);
}
