/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/dsse.c and lib/statement.c: PAE known answer, round trips, strictness. */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common_cunit.h"
#include "lib/dsse.h"
#include "lib/key.h"
#include "lib/statement.h"

static void test_pae_known_answer(void)
{
	/* From the DSSE specification (protocol.md). */
	static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	uint8_t *out = NULL;
	size_t len = 0;

	CU_ASSERT_EQUAL_FATAL(dsse_pae("http://example.com/HelloWorld", (const uint8_t *)"hello world", 11,
				       &out, &len), 0);
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT(memcmp(out, want, len) == 0);
	free(out);
	CU_ASSERT_EQUAL_FATAL(dsse_pae("t", (const uint8_t *)"", 0, &out, &len), 0);
	CU_ASSERT(len == 13 && memcmp(out, "DSSEv1 1 t 0 ", 13) == 0);
	free(out);
}

static void round_trip(enum key_alg alg)
{
	struct vs_error err = {0};
	struct vs_key *k = NULL, *other = NULL;
	struct dsse_envelope *env = NULL, *back = NULL;
	char *json;

	CU_ASSERT_EQUAL_FATAL(key_generate(alg, 1, &k, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(alg, 1, &other, &err), 0);
	CU_ASSERT_EQUAL_FATAL(dsse_sign("application/x", (const uint8_t *)"payload", 7, k, &env, &err), 0);
	json = dsse_encode(env);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_EQUAL_FATAL(dsse_parse(json, strlen(json), "t", &back, &err), 0);
	CU_ASSERT_EQUAL(back->nsigs, 1);
	CU_ASSERT_STRING_EQUAL(back->sigs[0].keyid, key_id(k));
	CU_ASSERT_EQUAL(dsse_verify_sig(back, 0, k), 0);
	CU_ASSERT_EQUAL(dsse_verify_sig(back, 0, other), -1);
	/* Countersign, and the same key twice is refused. */
	CU_ASSERT_EQUAL(dsse_append(back, other, &err), 0);
	CU_ASSERT_EQUAL(dsse_verify_sig(back, 1, other), 0);
	CU_ASSERT_EQUAL(dsse_append(back, k, &err), -1);
	/* Any change to the payload or type breaks every signature. */
	back->payload[0] ^= 1;
	CU_ASSERT_EQUAL(dsse_verify_sig(back, 0, k), -1);
	back->payload[0] ^= 1;
	back->payload_type[0] ^= 1;
	CU_ASSERT_EQUAL(dsse_verify_sig(back, 0, k), -1);
	free(json);
	dsse_free(env);
	dsse_free(back);
	key_free(k);
	key_free(other);
}

static void test_round_trip_ed25519(void) { round_trip(KEY_ALG_ED25519); }
static void test_round_trip_p256(void) { round_trip(KEY_ALG_P256); }
static void test_round_trip_rsa(void) { round_trip(KEY_ALG_RSA3072); }

/* An RSA-PSS signature with a salt other than the digest length is refused. */
static void test_rsa_pss_salt_is_strict(void)
{
	struct vs_error err = {0};
	struct vs_key *k = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t sig[512];
	size_t n = sizeof(sig);

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_RSA3072, 1, &k, &err), 0);
	CU_ASSERT_FATAL(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, key_pkey(k)) == 1);
	EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
	EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_MAX);
	CU_ASSERT_FATAL(EVP_DigestSign(ctx, sig, &n, (const uint8_t *)"m", 1) == 1);
	CU_ASSERT_EQUAL(key_verify(k, NULL, (const uint8_t *)"m", 1, sig, n, 0), -1);
	EVP_MD_CTX_free(ctx);
	key_free(k);
}

static void test_parse_rejects(void)
{
	static const char *bad[] = {
		"",
		"[]",
		"{\"payloadType\":\"a\",\"payload\":\"eA==\"}",
		"{\"payloadType\":\"a\",\"payload\":\"eA==\",\"signatures\":[]}",
		"{\"payloadType\":\"a\",\"payload\":\"eA=\",\"signatures\":[{\"sig\":\"eA==\"}]}",
		"{\"payloadType\":\"a\",\"payload\":\"eA==\",\"signatures\":[{\"sig\":\"\"}]}",
		"{\"payloadType\":\"a\",\"payload\":\"eA==\",\"signatures\":[{\"keyid\":\"XY\",\"sig\":\"eA==\"}]}",
		"{\"payloadType\":\"a\",\"payload\":\"eA==\",\"signatures\":[{\"sig\":\"eA==\",\"x\":1}]}",
		"{\"payloadType\":\"a\",\"payloadType\":\"b\",\"payload\":\"eA==\",\"signatures\":[{\"sig\":\"eA==\"}]}",
		"{\"payloadType\":1,\"payload\":\"eA==\",\"signatures\":[{\"sig\":\"eA==\"}]}",
		"{\"payloadType\":\"a\",\"payload\":\"eA==\",\"signatures\":[{\"sig\":\"eA==\"}],\"extra\":0}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dsse_envelope *env = NULL;
		struct vs_error err = {0};

		CU_ASSERT_EQUAL(dsse_parse(bad[i], strlen(bad[i]), "t", &env, &err), -1);
		CU_ASSERT(err.reason[0] != '\0');
		CU_ASSERT_PTR_NULL(env);
	}
}

static void test_too_many_signatures(void)
{
	char buf[4096];
	size_t n = 0;
	struct dsse_envelope *env = NULL;
	struct vs_error err = {0};

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"payloadType\":\"a\",\"payload\":\"eA==\",\"signatures\":[");
	for (int i = 0; i <= VS_MAX_SIGNATURES; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s{\"sig\":\"eA==\"}", i ? "," : "");
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]}");
	CU_ASSERT_EQUAL(dsse_parse(buf, n, "t", &env, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "limit is 16"));
}

static void test_statement_round_trip(void)
{
	struct statement st = {0}, back;
	struct vs_error err = {0};
	size_t len;
	char *json;

	strcpy(st.subject_name, "debian-12.qcow2");
	memset(st.digest, 'a', 64);
	strcpy(st.template_name, "debian-12");
	st.template_version = 3;
	strcpy(st.format, "qcow2");
	st.size = 2147483648ull;
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = 1795435200;
	st.expires_at = 1826971200;
	json = statement_encode(&st, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"signedAt\":\"2026-11-23T12:00:00Z\""));
	CU_ASSERT_EQUAL_FATAL(statement_parse((uint8_t *)json, len, "t", &back, &err), 0);
	CU_ASSERT_EQUAL(memcmp(&st, &back, sizeof(st)), 0);
	free(json);
}

static void test_statement_rejects(void)
{
	static const char *bad[] = {
		/* wrong _type */
		"{\"_type\":\"x\",\"subject\":[],\"predicateType\":\"urn:vmseal:template:v1\",\"predicate\":{}}",
		/* two subjects */
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{},{}],\"predicateType\":\"urn:vmseal:template:v1\",\"predicate\":{}}",
		/* uppercase digest */
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\",\"digest\":{\"vmseal-merkle-sha256\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}],\"predicateType\":\"urn:vmseal:template:v1\",\"predicate\":{}}",
		/* wrong chunk size */
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\",\"digest\":{\"vmseal-merkle-sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}],\"predicateType\":\"urn:vmseal:template:v1\",\"predicate\":{\"template\":{\"name\":\"t\",\"version\":1},\"image\":{\"format\":\"raw\",\"size\":1,\"chunkSize\":1},\"signedAt\":\"2026-11-23T12:00:00Z\"}}",
		/* negative version */
		"{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\"a\",\"digest\":{\"vmseal-merkle-sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}],\"predicateType\":\"urn:vmseal:template:v1\",\"predicate\":{\"template\":{\"name\":\"t\",\"version\":-1},\"image\":{\"format\":\"raw\",\"size\":1,\"chunkSize\":4194304},\"signedAt\":\"2026-11-23T12:00:00Z\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct statement st;
		struct vs_error err = {0};

		CU_ASSERT_EQUAL(statement_parse((const uint8_t *)bad[i], strlen(bad[i]), "t", &st, &err), -1);
		CU_ASSERT(err.reason[0] != '\0');
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		{"PAE known answer", test_pae_known_answer},
		{"round trip Ed25519", test_round_trip_ed25519},
		{"round trip ECDSA P-256", test_round_trip_p256},
		{"round trip RSA-PSS 3072", test_round_trip_rsa},
		{"RSA-PSS salt length is strict", test_rsa_pss_salt_is_strict},
		{"envelope parser rejects malformed input", test_parse_rejects},
		{"envelope parser bounds signatures", test_too_many_signatures},
		{"statement round trip", test_statement_round_trip},
		{"statement parser rejects malformed input", test_statement_rejects},
		{NULL, NULL},
	};
	return run_suite("dsse", cases);
}
