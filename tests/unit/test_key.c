/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/key.c signing and verification: every algorithm, other digests, and one
 * key shared by threads (the per-key template contexts are built lazily and copied). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/key.h"

#include <openssl/core_names.h>
#include <openssl/x509.h>

#define ROUNDS 200

struct worker {
	struct vs_key *k;
	const char *md;
	int rounds, good, bad;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	uint8_t msg[64];

	for (int i = 0; i < w->rounds; i++) {
		uint8_t *sig = NULL;
		size_t n = 0;
		struct vs_error err = {0};

		memset(msg, i, sizeof(msg));
		if (key_sign(w->k, w->md, msg, sizeof(msg), &sig, &n, &err) < 0)
			continue;
		if (key_verify(w->k, w->md, msg, sizeof(msg), sig, n, 0) == 0)
			w->good++;
		msg[i % sizeof(msg)] ^= 1; /* a changed message must not verify */
		if (key_verify(w->k, w->md, msg, sizeof(msg), sig, n, 0) == 0)
			w->bad++;
		sig[n / 2] ^= 0x10; /* nor a changed signature over the right one */
		msg[i % sizeof(msg)] ^= 1;
		if (key_verify(w->k, w->md, msg, sizeof(msg), sig, n, 0) == 0)
			w->bad++;
		free(sig);
	}
	return NULL;
}

static void threads_share_key(enum key_alg alg, const char *md, int rounds)
{
	struct vs_key *k = NULL;
	struct vs_error err = {0};
	struct worker w[4];
	pthread_t t[4];

	CU_ASSERT_EQUAL_FATAL(key_generate(alg, 0, &k, &err), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){k, md, rounds, 0, 0};
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[i].good, rounds);
		CU_ASSERT_EQUAL(w[i].bad, 0);
	}
	key_free(k);
}

static void test_ed25519_threads(void)
{
	threads_share_key(KEY_ALG_ED25519, NULL, ROUNDS);
}

static void test_p256_threads(void)
{
	threads_share_key(KEY_ALG_P256, NULL, ROUNDS);
	threads_share_key(KEY_ALG_P256, "SHA512", ROUNDS); /* not the template's digest: a fresh context */
}

static void test_rsa_threads(void)
{
	threads_share_key(KEY_ALG_RSA3072, NULL, 25); /* RSA signing is slow */
}

/* A signature made with one digest does not verify under another (templates are per digest). */
static void test_digest_is_bound(void)
{
	struct vs_key *k = NULL;
	struct vs_error err = {0};
	const uint8_t msg[] = "vmseal";
	uint8_t *sig = NULL;
	size_t n = 0;

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_P256, 0, &k, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_sign(k, "SHA512", msg, sizeof(msg), &sig, &n, &err), 0);
	CU_ASSERT_EQUAL(key_verify(k, "SHA512", msg, sizeof(msg), sig, n, 0), 0);
	/* exactly -1: callers test "< 0", so a failure returned as 1 would read as valid */
	CU_ASSERT_EQUAL(key_verify(k, NULL, msg, sizeof(msg), sig, n, 0), -1);
	CU_ASSERT_EQUAL(key_verify(k, "SHA256", msg, sizeof(msg), sig, n, 0), -1);
	sig[n / 2] ^= 1;
	CU_ASSERT_EQUAL(key_verify(k, "SHA512", msg, sizeof(msg), sig, n, 0), -1);
	free(sig);
	key_free(k);
}

/* A copy of k's public key re-encoded with the point compressed (what openssl ec -conv_form
 * compressed writes). */
static struct vs_key *compressed_copy(const struct vs_key *k)
{
	EVP_PKEY *dup = EVP_PKEY_dup(key_pkey(k));
	unsigned char *der = NULL;
	const unsigned char *p;
	struct vs_key *out = NULL;
	struct vs_error err = {0};
	EVP_PKEY *pub;
	int len;

	CU_ASSERT_FATAL(dup != NULL);
	CU_ASSERT_EQUAL(EVP_PKEY_set_utf8_string_param(dup, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
						       "compressed"), 1);
	len = i2d_PUBKEY(dup, &der);
	CU_ASSERT_EQUAL(len, 59); /* 26 + 33: the SPKI really is compressed */
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	CU_ASSERT_EQUAL(key_from_pkey(pub, "compressed", &out, &err), 0);
	EVP_PKEY_free(pub);
	EVP_PKEY_free(dup);
	OPENSSL_free(der);
	return out;
}

static void test_one_key_one_id(void)
{
	struct vs_key *p = NULL, *q = NULL, *c, *e = NULL;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_P256, 0, &p, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_P256, 0, &q, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 0, &e, &err), 0);
	c = compressed_copy(p);
	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT_STRING_EQUAL(key_id(c), key_id(p));
	CU_ASSERT(key_same_material(c, p));
	/* must refuse: other keys are other material */
	CU_ASSERT(!key_same_material(p, q));
	CU_ASSERT(!key_same_material(p, e));
	CU_ASSERT_STRING_NOT_EQUAL(key_id(p), key_id(q));
	key_free(c);
	key_free(p);
	key_free(q);
	key_free(e);
}

/* The direct reader of Ed25519 public PEM (policies hold thousands) and OpenSSL's decoder give
 * the same key: same id, same material, and its signatures verify; PEM it does not recognise
 * byte for byte (CRLF, a blank line, text around it, another algorithm) still goes to the
 * decoder, and a damaged PEM is refused either way. */
static void test_public_pem_fast_path(void)
{
	struct vs_key *k = NULL, *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	struct vs_error err = {0};
	char *pem, *crlf, *text, *bad;
	uint8_t *sig = NULL;
	size_t siglen = 0, n;

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 0, &k, &err), 0);
	pem = key_public_pem(k);
	CU_ASSERT_FATAL(pem != NULL);
	n = strlen(pem);
	CU_ASSERT_EQUAL(key_from_public_pem(pem, n, "fast", &a, &err), 0);
	/* CRLF line ends and surrounding text: not the fast path's exact form, the decoder reads them */
	crlf = calloc(1, 2 * n + 1);
	for (size_t i = 0, j = 0; i < n; i++) {
		if (pem[i] == '\n')
			crlf[j++] = '\r';
		crlf[j++] = pem[i];
	}
	CU_ASSERT_EQUAL(key_from_public_pem(crlf, strlen(crlf), "crlf", &b, &err), 0);
	text = calloc(1, n + 32);
	snprintf(text, n + 32, "a comment\n%s\n", pem);
	CU_ASSERT_EQUAL(key_from_public_pem(text, strlen(text), "text", &c, &err), 0);
	CU_ASSERT_FATAL(a && b && c);
	CU_ASSERT_STRING_EQUAL(key_id(a), key_id(k));
	CU_ASSERT_STRING_EQUAL(key_id(b), key_id(k));
	CU_ASSERT_STRING_EQUAL(key_id(c), key_id(k));
	CU_ASSERT(key_same_material(a, b) && key_same_material(a, c) && key_material_cmp(a, c) == 0);
	CU_ASSERT_EQUAL_FATAL(key_sign(k, NULL, (const uint8_t *)"m", 1, &sig, &siglen, &err), 0);
	CU_ASSERT_EQUAL(key_verify(a, NULL, (const uint8_t *)"m", 1, sig, siglen, 0), 0);
	/* must refuse: the message changed, the base64 damaged */
	CU_ASSERT_NOT_EQUAL(key_verify(a, NULL, (const uint8_t *)"n", 1, sig, siglen, 0), 0);
	bad = strdup(pem);
	bad[strlen("-----BEGIN PUBLIC KEY-----\n") + 3] = '*';
	CU_ASSERT_EQUAL(key_from_public_pem(bad, strlen(bad), "bad", &d, &err), -1);
	CU_ASSERT_PTR_NULL(d);
	free(sig);
	free(bad);
	free(text);
	free(crlf);
	free(pem);
	key_free(a);
	key_free(b);
	key_free(c);
	key_free(k);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"ed25519: one key, four threads", test_ed25519_threads},
		{"p256: one key, four threads, two digests", test_p256_threads},
		{"rsa3072: one key, four threads", test_rsa_threads},
		{"a signature is bound to its digest", test_digest_is_bound},
		{"one key, one id: P-256 compressed and uncompressed", test_one_key_one_id},
		{"ed25519 public PEM: the direct reader and the decoder agree", test_public_pem_fast_path},
		{NULL, NULL},
	};
	return run_suite("key", cases);
}
