/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the key lifecycle library: lib/keymeta, lib/shamir, lib/p11 URI handling,
 * lib/policyedit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common_cunit.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/p11.h"
#include "lib/policyedit.h"
#include "lib/shamir.h"
#include "lib/shred.h"
#include "lib/util.h"

#define KID "4d8e631e5f5b83128e79dab78dce6b7dbf44186706ef0fdba6be98c9222b9dc5"

static void test_keymeta_round_trip(void)
{
	struct keymeta m, again;
	struct vs_error err = {0};
	char *s;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "pipeline-v2");
	memcpy(m.keyid, KID, sizeof(m.keyid));
	m.alg = KEY_ALG_P256;
	m.created = 1795440000;
	m.status = KEYMETA_RETIRED;
	m.version = 2;
	memcpy(m.replaces, KID, sizeof(m.replaces));
	memcpy(m.replaced_by, KID, sizeof(m.replaced_by));
	m.retired_at = 1795440100;
	s = keymeta_encode(&m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(keymeta_parse(s, strlen(s), "t", &again, &err), 0);
	CU_ASSERT(memcmp(&m, &again, sizeof(m)) == 0);
	free(s);
	m.pkcs11 = 1;
	snprintf(m.uri, sizeof(m.uri), "pkcs11:token=t;object=o");
	s = keymeta_encode(&m);
	CU_ASSERT_EQUAL(keymeta_parse(s, strlen(s), "t", &again, &err), 0);
	CU_ASSERT_EQUAL(again.pkcs11, 1);
	CU_ASSERT_STRING_EQUAL(again.uri, "pkcs11:token=t;object=o");
	free(s);
}

static void test_keymeta_rejects(void)
{
	static const char *const bad[] = {
		"{\"format\":\"vmseal-key-meta-v1\",\"name\":\"x\",\"keyid\":\"" KID "\",\"alg\":\"ed25519\",\"status\":\"active\"}",
		"{\"format\":\"vmseal-key-meta-v2\",\"name\":\"x\",\"keyid\":\"" KID "\",\"alg\":\"ed25519\",\"status\":\"active\",\"location\":\"file\"}",
		"{\"format\":\"vmseal-key-meta-v1\",\"name\":\"x\",\"keyid\":\"" KID "\",\"alg\":\"ED25519\",\"status\":\"active\",\"location\":\"file\"}",
		"{\"format\":\"vmseal-key-meta-v1\",\"name\":\"x\",\"keyid\":\"" KID "0\",\"alg\":\"ed25519\",\"status\":\"active\",\"location\":\"file\"}",
		"{\"format\":\"vmseal-key-meta-v1\",\"name\":\"x\",\"keyid\":\"" KID "\",\"alg\":\"ed25519\",\"status\":\"active\",\"location\":\"file\",\"uri\":\"pkcs11:x\"}",
		"{\"format\":\"vmseal-key-meta-v1\",\"name\":\"x\",\"keyid\":\"" KID "\",\"alg\":\"ed25519\",\"status\":\"active\",\"location\":\"file\",\"version\":0}",
		"{\"format\":\"vmseal-key-meta-v1\",\"name\":\"x\",\"keyid\":\"" KID "\",\"alg\":\"ed25519\",\"status\":\"active\",\"location\":\"file\",\"created\":\"yesterday\"}",
		"[]",
	};
	const char *ok = "{\"format\":\"vmseal-key-meta-v1\",\"name\":\"x\",\"keyid\":\"" KID
			 "\",\"alg\":\"ed25519\",\"status\":\"active\",\"location\":\"file\"}";
	struct keymeta m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vs_error err = {0};

		CU_ASSERT_EQUAL(keymeta_parse(bad[i], strlen(bad[i]), "t", &m, &err), -1);
		CU_ASSERT(err.reason[0] != '\0');
	}
	{
		struct vs_error err = {0};

		CU_ASSERT_EQUAL(keymeta_parse(ok, strlen(ok), "t", &m, &err), 0);
		CU_ASSERT_EQUAL(m.version, 1);
	}
}

static void test_keymeta_base(void)
{
	char b[64];

	CU_ASSERT_EQUAL(keymeta_base("d/k.key", b, sizeof(b)), 0);
	CU_ASSERT_STRING_EQUAL(b, "d/k");
	CU_ASSERT_EQUAL(keymeta_base("d/k.pub", b, sizeof(b)), 0);
	CU_ASSERT_STRING_EQUAL(b, "d/k");
	CU_ASSERT_EQUAL(keymeta_base("d/k.json", b, sizeof(b)), 0);
	CU_ASSERT_STRING_EQUAL(b, "d/k");
	CU_ASSERT_EQUAL(keymeta_base("d/k", b, sizeof(b)), 0);
	CU_ASSERT_STRING_EQUAL(b, "d/k");
	CU_ASSERT_EQUAL(keymeta_base(".key", b, sizeof(b)), 0); /* ".key" alone is a name */
	CU_ASSERT_EQUAL(keymeta_base("abc", b, 3), -1);
}

/* Any threshold shares recombine; fewer give something else. */
static void test_shamir_subsets(void)
{
	uint8_t secret[300], out[300], *shares[6], *pick[6], xs[6];
	struct vs_error err = {0};
	static const unsigned subsets[][3] = {{1, 2, 3}, {1, 3, 5}, {2, 4, 6}, {6, 5, 4}, {3, 1, 6}};

	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 7 + 3);
	CU_ASSERT_EQUAL_FATAL(shamir_split(secret, sizeof(secret), 6, 3, shares, &err), 0);
	for (size_t s = 0; s < sizeof(subsets) / sizeof(subsets[0]); s++) {
		for (int j = 0; j < 3; j++) {
			pick[j] = shares[subsets[s][j] - 1];
			xs[j] = (uint8_t)subsets[s][j];
		}
		CU_ASSERT_EQUAL(shamir_combine(pick, xs, 3, sizeof(secret), out, &err), 0);
		CU_ASSERT(memcmp(out, secret, sizeof(secret)) == 0);
	}
	for (int j = 0; j < 2; j++) {
		pick[j] = shares[j];
		xs[j] = (uint8_t)(j + 1);
	}
	CU_ASSERT_EQUAL(shamir_combine(pick, xs, 2, sizeof(secret), out, &err), 0);
	CU_ASSERT(memcmp(out, secret, sizeof(secret)) != 0);
	for (int j = 0; j < 6; j++)
		CU_ASSERT(memcmp(shares[j], secret, 16) != 0); /* no share is the secret */
	for (int j = 0; j < 6; j++)
		share_data_free(shares[j], sizeof(secret));
	CU_ASSERT_EQUAL(shamir_split(secret, sizeof(secret), 3, 1, shares, &err), -1);
	CU_ASSERT_EQUAL(shamir_split(secret, sizeof(secret), 3, 4, shares, &err), -1);
}

/* Shares encoded, parsed, recombined, with each refusal. */
static void test_share_files(void)
{
	static const char secret[] = "-----BEGIN PRIVATE KEY-----\nnot really\n-----END PRIVATE KEY-----\n";
	uint8_t *raw[3], *out = NULL;
	struct key_share s, parsed[3];
	const char *names[3] = {"s1", "s2", "s3"};
	struct vs_error err = {0};
	size_t len = 0;
	char *text[3];

	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL_FATAL(shamir_split((const uint8_t *)secret, sizeof(secret), 3, 2, raw, &err), 0);
	snprintf(s.name, sizeof(s.name), "k");
	memcpy(s.keyid, KID, sizeof(s.keyid));
	s.alg = KEY_ALG_ED25519;
	snprintf(s.set, sizeof(s.set), "00112233445566778899aabbccddeeff");
	s.threshold = 2;
	s.count = 3;
	s.size = sizeof(secret);
	EVP_Digest(secret, sizeof(secret), s.secret_sha256, NULL, EVP_sha256(), NULL);
	s.public_key = "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n";
	for (int i = 0; i < 3; i++) {
		s.index = (unsigned)i + 1;
		s.data = raw[i];
		text[i] = share_encode(&s);
		CU_ASSERT_PTR_NOT_NULL_FATAL(text[i]);
		CU_ASSERT_EQUAL_FATAL(share_parse(text[i], strlen(text[i]), names[i], &parsed[i], &err), 0);
	}
	CU_ASSERT_EQUAL(shares_recombine(&parsed[1], names + 1, 2, &out, &len, &err), 0);
	CU_ASSERT_EQUAL(len, sizeof(secret));
	CU_ASSERT(out && memcmp(out, secret, len) == 0);
	share_data_free(out, len);
	out = NULL;
	CU_ASSERT_EQUAL(shares_recombine(parsed, names, 1, &out, &len, &err), -1);
	CU_ASSERT(strstr(err.reason, "1 share given, 2 of the 3") != NULL);
	{
		struct key_share two[2] = {parsed[0], parsed[0]};

		CU_ASSERT_EQUAL(shares_recombine(two, names, 2, &out, &len, &err), -1);
		CU_ASSERT(strstr(err.reason, "given twice") != NULL);
	}
	parsed[2].data[0] ^= 1; /* a wrong share that passed its checksum (recomputed) */
	CU_ASSERT_EQUAL(shares_recombine(&parsed[1], names + 1, 2, &out, &len, &err), -1);
	CU_ASSERT(strstr(err.reason, "does not match its SHA-256") != NULL);
	parsed[2].data[0] ^= 1;
	parsed[2].set[0] = 'f';
	CU_ASSERT_EQUAL(shares_recombine(&parsed[1], names + 1, 2, &out, &len, &err), -1);
	CU_ASSERT(strstr(err.reason, "another backup") != NULL);
	/* A flipped base64 character: the checksum refuses it. */
	{
		char *p = strstr(text[0], "\"share\": \"");
		struct key_share t;

		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		p += 10;
		*p = *p == 'A' ? 'B' : 'A';
		CU_ASSERT_EQUAL(share_parse(text[0], strlen(text[0]), "s1", &t, &err), -1);
		CU_ASSERT(strstr(err.reason, "checksum mismatch") != NULL);
		CU_ASSERT_PTR_NULL(t.data);
	}
	for (int i = 0; i < 3; i++) {
		share_clear(&parsed[i]);
		OPENSSL_secure_clear_free(text[i], strlen(text[i]) + 1);
		share_data_free(raw[i], sizeof(secret));
	}
}

static void test_p11_uri_without_pin(void)
{
	static const struct { const char *in, *out; } v[] = {
		{"pkcs11:token=t;object=o", "pkcs11:token=t;object=o"},
		{"pkcs11:token=t;object=o?pin-value=1234", "pkcs11:token=t;object=o"},
		{"pkcs11:token=t;pin-value=1234;object=o", "pkcs11:token=t;object=o"},
		{"pkcs11:token=t?pin-source=file:/p&module-path=/m.so", "pkcs11:token=t?module-path=/m.so"},
		{"pkcs11:token=t?module-path=/m.so&pin-value=1", "pkcs11:token=t?module-path=/m.so"},
	};
	char out[256];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CU_ASSERT_EQUAL(p11_uri_without_pin(v[i].in, out, sizeof(out)), 0);
		CU_ASSERT_STRING_EQUAL(out, v[i].out);
	}
	CU_ASSERT_EQUAL(p11_uri_without_pin("file:x", out, sizeof(out)), -1);
}

static void test_policyedit(void)
{
	char path[512], *pem = NULL, *enc = NULL, json[4096];
	struct vs_key *a = NULL, *b = NULL;
	struct policy_doc *d = NULL;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 0, &a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 0, &b, &err), 0);
	pem = key_public_pem(a);
	{
		/* JSON-escape the PEM's newlines */
		char esc[1024];
		size_t o = 0;

		for (const char *p = pem; *p && o < sizeof(esc) - 3; p++) {
			if (*p == '\n') {
				esc[o++] = '\\';
				esc[o++] = 'n';
			} else {
				esc[o++] = *p;
			}
		}
		esc[o] = '\0';
		snprintf(json, sizeof(json),
			 "{\"version\": 7, \"keys\": [{\"id\": \"%s\", \"public_key\": \"%s\", \"owner\": \"o\","
			 " \"usage\": [\"template\"]}], \"templates\": [{\"match\": \"*\", \"keys\": [\"%s\"]}],"
			 " \"gateway\": {\"max_skew_s\": 9}}\n", key_id(a), esc, key_id(a));
	}
	snprintf(path, sizeof(path), "%s/policy.json", test_tmpdir());
	CU_ASSERT_EQUAL_FATAL(file_write_atomic(path, json, strlen(json), 0640, 1, &err), 0);
	CU_ASSERT_EQUAL_FATAL(policy_doc_load(path, &d, &err), 0);
	CU_ASSERT_EQUAL(policy_doc_rotate(d, key_id(b), a, 1, &err), -1); /* b not in it */
	CU_ASSERT_EQUAL(policy_doc_rotate(d, key_id(a), a, 1, &err), -1); /* a already in it */
	CU_ASSERT_EQUAL(policy_doc_rotate(d, key_id(a), b, 1795440000, &err), 0);
	enc = policy_doc_encode(d, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
	CU_ASSERT(strstr(enc, "\"version\": 8") != NULL);
	CU_ASSERT(strstr(enc, "\"retired\"") != NULL);
	CU_ASSERT(strstr(enc, "\"max_skew_s\": 9") != NULL);
	CU_ASSERT(strstr(enc, "2026-11-23T") != NULL || strstr(enc, "\"created\"") != NULL);
	CU_ASSERT_EQUAL(policy_doc_revoke(d, key_id(b), "test", 1795440000, &err), 0);
	CU_ASSERT_EQUAL(policy_doc_revoke(d, key_id(b), "again", 1795440000, &err), 1);
	CU_ASSERT_EQUAL(policy_doc_save(d, &err), 0);
	free(enc);
	policy_doc_free(d);
	d = NULL;
	{
		char bak[600], *got = NULL;
		size_t len = 0;

		snprintf(bak, sizeof(bak), "%s.bak", path);
		CU_ASSERT_EQUAL(file_read_all(bak, 1 << 20, &got, &len, &err), 0);
		CU_ASSERT(got && !strcmp(got, json));
		free(got);
	}
	/* An edit on a policy that changed since it was read is refused. */
	CU_ASSERT_EQUAL_FATAL(policy_doc_load(path, &d, &err), 0);
	CU_ASSERT_EQUAL(policy_doc_revoke(d, key_id(a), "r", 1, &err), 0);
	CU_ASSERT_EQUAL(file_write_atomic(path, json, strlen(json), 0640, 1, &err), 0);
	CU_ASSERT_EQUAL(policy_doc_save(d, &err), -1);
	CU_ASSERT(strstr(err.reason, "changed since it was read") != NULL);
	policy_doc_free(d);
	free(pem);
	key_free(a);
	key_free(b);
}

/* destroy's refusals: each case must be refused before a byte is written. */
static void test_shred_refusals(void)
{
	static const char pem[] = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
	char key[512], link2[512], sym[512], notkey[512], *got = NULL;
	struct vs_error err = {0};
	size_t len;

	snprintf(key, sizeof(key), "%s/shred.key", test_tmpdir());
	snprintf(link2, sizeof(link2), "%s/shred.link", test_tmpdir());
	snprintf(sym, sizeof(sym), "%s/shred.sym", test_tmpdir());
	snprintf(notkey, sizeof(notkey), "%s/notkey.key", test_tmpdir());
	test_write_file(key, pem);
	test_write_file(notkey, "{\"version\": 1}\n");
	CU_ASSERT_EQUAL(link(key, link2), 0);
	CU_ASSERT_EQUAL(symlink(key, sym), 0);

	CU_ASSERT_EQUAL(file_shred_check(key, SHRED_PRIVATE_KEY, &err), -1);
	CU_ASSERT(strstr(err.reason, "other hard link") != NULL);
	CU_ASSERT_EQUAL(file_shred(key, SHRED_PRIVATE_KEY, &err), -1);
	CU_ASSERT_EQUAL(file_read_all(link2, 4096, &got, &len, &err), 0);
	CU_ASSERT(got && len == strlen(pem) && !memcmp(got, pem, len));
	free(got);
	CU_ASSERT_EQUAL(file_shred(sym, SHRED_PRIVATE_KEY, &err), -1);
	CU_ASSERT(strstr(err.reason, "symbolic link") != NULL);
	CU_ASSERT_EQUAL(file_shred(notkey, SHRED_PRIVATE_KEY, &err), -1);
	CU_ASSERT(strstr(err.reason, "not a PEM private key") != NULL);
	CU_ASSERT_EQUAL(file_shred(notkey, SHRED_KEY_SHARE, &err), -1);
	CU_ASSERT_EQUAL(file_shred(key, SHRED_KEY_SHARE, &err), -1);
	CU_ASSERT_EQUAL(access(notkey, F_OK), 0);

	/* The one case that is allowed: one name, a key. */
	unlink(sym);
	unlink(link2);
	CU_ASSERT_EQUAL(file_shred_check(key, SHRED_PRIVATE_KEY, &err), 0);
	CU_ASSERT_EQUAL(file_shred(key, SHRED_PRIVATE_KEY, &err), 0);
	CU_ASSERT_NOT_EQUAL(access(key, F_OK), 0);
	unlink(notkey);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"key metadata round trip", test_keymeta_round_trip},
		{"key metadata refusals", test_keymeta_rejects},
		{"key metadata base names", test_keymeta_base},
		{"shamir: any K of N, not K-1", test_shamir_subsets},
		{"share files: encode, parse, recombine, refusals", test_share_files},
		{"pkcs11 URI without PIN", test_p11_uri_without_pin},
		{"policy edits: rotate, revoke, .bak, concurrent change", test_policyedit},
		{"destroy refuses hard links, symlinks and non-keys before writing", test_shred_refusals},
		{NULL, NULL},
	};
	return run_suite("keylife", cases);
}
