/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/httpsig.c: RFC 9421 appendix B vectors, round trips, every refusal. */
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/httpsig.h"
#include "lib/key.h"
#include "lib/util.h"

/* RFC 9421 B.1.4 */
static const char ed25519_pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
				      "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
				      "-----END PUBLIC KEY-----\n";
static const char ed25519_priv_pem[] = "-----BEGIN PRIVATE KEY-----\n"
				       "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
				       "-----END PRIVATE KEY-----\n";
/* RFC 9421 B.1.3 */
static const char p256_pub_pem[] = "-----BEGIN PUBLIC KEY-----\n"
				   "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf\n"
				   "w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==\n"
				   "-----END PUBLIC KEY-----\n";

/* RFC 9421 B.2: the test request and response. */
#define B2_REQ_BODY "{\"hello\": \"world\"}"
#define B2_REQ_DIGEST                                                                              \
	"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
#define B2_RESP_BODY "{\"message\": \"good dog\"}"
#define B26_INPUT                                                                                  \
	"sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "              \
	"\"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
#define B26_SIG                                                                                    \
	"sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
#define B26_BASE                                                                                   \
	"\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n"                                                \
	"\"@method\": POST\n"                                                                      \
	"\"@path\": /foo\n"                                                                        \
	"\"@authority\": example.com\n"                                                            \
	"\"content-type\": application/json\n"                                                     \
	"\"content-length\": 18\n"                                                                 \
	"\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" " \
	"\"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
#define B24_INPUT                                                                                  \
	"sig-b24=(\"@status\" \"content-type\" \"content-digest\" \"content-length\");"            \
	"created=1618884473;keyid=\"test-key-ecc-p256\""
#define B24_SIG                                                                                    \
	"sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:"

/* A key store for tests: a few (keyid, key) pairs. */
struct keystore {
	const char *ids[4];
	const struct vs_key *keys[4];
	size_t n;
};

static int keystore_lookup(void *ctx, const char *keyid, const struct vs_key **key, const void **ref,
			   struct vs_error *err)
{
	struct keystore *ks = ctx;

	for (size_t i = 0; i < ks->n; i++) {
		if (!strcmp(ks->ids[i], keyid)) {
			*key = ks->keys[i];
			*ref = ks->ids[i];
			return 0;
		}
	}
	return vs_fail(err, VS_ERR_DENIED, keyid, "unknown key");
}

static struct vs_key *pub_from_pem(const char *pem)
{
	struct vs_key *k = NULL;
	struct vs_error err = {0};

	CU_ASSERT_EQUAL_FATAL(key_from_public_pem(pem, strlen(pem), "test", &k, &err), 0);
	return k;
}

/* A verification that wrongly succeeds leaves code NULL: fail the assertion, do not crash. */
#define CODE(res) ((res).code ? (res).code : "(verified: no refusal code)")

static struct vs_key *priv_from_pem(const char *pem)
{
	char path[256];
	struct vs_key *k = NULL;
	struct vs_error err = {0};
	FILE *f;

	snprintf(path, sizeof(path), "%s/k.pem", test_tmpdir());
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(pem, f);
	fclose(f);
	chmod(path, 0600); /* a private key others can read is refused */
	CU_ASSERT_EQUAL_FATAL(key_load_private(path, NULL, &k, &err), 0);
	remove(path);
	return k;
}

/* The B.2 test request, with room for Signature-Input/Signature. */
struct req {
	struct http_field f[12];
	struct http_field_list list;
	struct http_msg msg;
};

static void b2_request(struct req *r, const char *sig_input, const char *sig)
{
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	r->f[n++] = (struct http_field){"Host", "example.com"};
	r->f[n++] = (struct http_field){"Date", "Tue, 20 Apr 2021 02:07:55 GMT"};
	r->f[n++] = (struct http_field){"Content-Type", "application/json"};
	r->f[n++] = (struct http_field){"Content-Digest", B2_REQ_DIGEST};
	r->f[n++] = (struct http_field){"Content-Length", "18"};
	if (sig_input)
		r->f[n++] = (struct http_field){"Signature-Input", sig_input};
	if (sig)
		r->f[n++] = (struct http_field){"Signature", sig};
	r->list = (struct http_field_list){r->f, n};
	r->msg = (struct http_msg){.method = "POST", .scheme = "https", .authority = "example.com",
				   .path = "/foo", .query = "param=Value&Pet=dog",
				   .fields = http_field_list_get, .fields_ctx = &r->list};
}

static char *base_of(const struct http_msg *m, const char *sig_input, const char *label)
{
	struct sf_members d;
	struct vs_error err = {0};
	const struct sf_member *mem;
	char *base = NULL;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(sf_parse_dict(sig_input, strlen(sig_input), &d, &err), 0);
	mem = sf_dict_get(&d, label);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
	if (httpsig_signature_base(m, mem->inner, mem->ninner, &mem->params, &base, &len, &err) < 0)
		fprintf(stderr, "base: %s: %s\n", err.object, err.reason);
	sf_members_free(&d);
	return base;
}

static void test_b26_base_and_signature(void)
{
	struct req r;
	struct vs_key *priv = priv_from_pem(ed25519_priv_pem);
	static const char *const comps[] = {"date", "@method", "@path", "@authority",
					    "content-type", "content-length"};
	struct httpsig_sign_params sp = {.label = "sig-b26", .components = comps, .ncomponents = 6,
					 .created = 1618884473, .keyid = "test-key-ed25519"};
	struct vs_error err = {0};
	char *base, *si = NULL, *sg = NULL;

	b2_request(&r, NULL, NULL);
	base = base_of(&r.msg, B26_INPUT, "sig-b26");
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	CU_ASSERT_STRING_EQUAL(base, B26_BASE);
	free(base);
	/* Ed25519 is deterministic: signing reproduces the published headers byte for byte. */
	CU_ASSERT_EQUAL_FATAL(httpsig_sign(&r.msg, priv, &sp, &si, &sg, &err), 0);
	CU_ASSERT_STRING_EQUAL(si, B26_INPUT);
	CU_ASSERT_STRING_EQUAL(sg, B26_SIG);
	free(si);
	free(sg);
	key_free(priv);
}

static int verify_msg(const struct http_msg *m, const struct vs_key *k, const char *keyid,
		      struct httpsig_result *res)
{
	struct keystore ks = {.ids = {keyid}, .keys = {k}, .n = 1};
	struct httpsig_verify_opts o = {.key_lookup = keystore_lookup, .key_ctx = &ks};
	struct vs_error err = {0};

	return httpsig_verify(m, &o, res, &err);
}

static void test_b26_verifies(void)
{
	struct vs_key *pub = pub_from_pem(ed25519_pub_pem);
	struct httpsig_result res;
	struct req r;
	char bad_sig[] = B26_SIG;

	b2_request(&r, B26_INPUT, B26_SIG);
	CU_ASSERT_EQUAL(verify_msg(&r.msg, pub, "test-key-ed25519", &res), 0);
	CU_ASSERT_EQUAL(res.n, 1);
	CU_ASSERT_STRING_EQUAL(res.sigs[0].keyid, "test-key-ed25519");
	CU_ASSERT_EQUAL(res.sigs[0].created, 1618884473);
	CU_ASSERT_EQUAL(res.sigs[0].alg, HTTPSIG_ALG_ED25519);

	/* mutated copies fail: a covered header, the method, the signature bytes */
	b2_request(&r, B26_INPUT, B26_SIG);
	r.f[1].value = "Tue, 20 Apr 2021 02:07:56 GMT";
	CU_ASSERT_EQUAL(verify_msg(&r.msg, pub, "test-key-ed25519", &res), -1);
	CU_ASSERT_STRING_EQUAL(CODE(res), HTTPSIG_E_BAD);
	b2_request(&r, B26_INPUT, B26_SIG);
	r.msg.method = "PUT";
	CU_ASSERT_EQUAL(verify_msg(&r.msg, pub, "test-key-ed25519", &res), -1);
	bad_sig[12] = bad_sig[12] == 'A' ? 'B' : 'A';
	b2_request(&r, B26_INPUT, bad_sig);
	CU_ASSERT_EQUAL(verify_msg(&r.msg, pub, "test-key-ed25519", &res), -1);
	CU_ASSERT_STRING_EQUAL(CODE(res), HTTPSIG_E_BAD);
	/* the uncovered query may change; a covered one may not (see round trips) */
	b2_request(&r, B26_INPUT, B26_SIG);
	r.msg.query = "param=Other";
	CU_ASSERT_EQUAL(verify_msg(&r.msg, pub, "test-key-ed25519", &res), 0);
	/* the same key under another keyid is unknown */
	b2_request(&r, B26_INPUT, B26_SIG);
	CU_ASSERT_EQUAL(verify_msg(&r.msg, pub, "other", &res), -1);
	CU_ASSERT_STRING_EQUAL(CODE(res), HTTPSIG_E_KEY);
	key_free(pub);
}

struct resp {
	struct http_field f[8];
	struct http_field_list list;
	struct http_msg msg;
	char *digest;
};

static void b2_response(struct resp *r, const char *body, const char *sig_input, const char *sig)
{
	struct vs_error err = {0};
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	CU_ASSERT_EQUAL_FATAL(content_digest_make("sha-512", (const uint8_t *)body, strlen(body),
						  &r->digest, &err), 0);
	r->f[n++] = (struct http_field){"Date", "Tue, 20 Apr 2021 02:07:56 GMT"};
	r->f[n++] = (struct http_field){"Content-Type", "application/json"};
	r->f[n++] = (struct http_field){"Content-Digest", r->digest};
	r->f[n++] = (struct http_field){"Content-Length", "23"};
	r->f[n++] = (struct http_field){"Signature-Input", sig_input};
	r->f[n++] = (struct http_field){"Signature", sig};
	r->list = (struct http_field_list){r->f, n};
	r->msg = (struct http_msg){.status = 200, .fields = http_field_list_get,
				   .fields_ctx = &r->list};
}

static void test_b24_response_verifies(void)
{
	struct vs_key *pub = pub_from_pem(p256_pub_pem);
	struct keystore ks = {.ids = {"test-key-ecc-p256"}, .keys = {pub}, .n = 1};
	struct httpsig_verify_opts o = {.key_lookup = keystore_lookup, .key_ctx = &ks,
					.body = (const uint8_t *)B2_RESP_BODY,
					.body_len = strlen(B2_RESP_BODY)};
	struct httpsig_result res;
	struct vs_error err = {0};
	struct resp r;

	/* The digest recomputed from the body is the one the signature covers. */
	b2_response(&r, B2_RESP_BODY, B24_INPUT, B24_SIG);
	CU_ASSERT_STRING_EQUAL(r.digest, "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4G"
					 "TsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:");
	if (httpsig_verify(&r.msg, &o, &res, &err) < 0)
		fprintf(stderr, "b24: %s: %s\n", err.object, err.reason);
	CU_ASSERT_EQUAL(res.n, 1);
	CU_ASSERT_EQUAL(res.sigs[0].alg, HTTPSIG_ALG_ECDSA_P256_SHA256);
	CU_ASSERT(res.sigs[0].covers_digest);
	free(r.digest);

	/* another status */
	b2_response(&r, B2_RESP_BODY, B24_INPUT, B24_SIG);
	r.msg.status = 201;
	CU_ASSERT_EQUAL(httpsig_verify(&r.msg, &o, &res, &err), -1);
	CU_ASSERT_STRING_EQUAL(CODE(res), HTTPSIG_E_BAD);
	free(r.digest);
	/* the body changed after signing: the digest no longer matches it */
	b2_response(&r, B2_RESP_BODY, B24_INPUT, B24_SIG);
	o.body = (const uint8_t *)"{\"message\": \"bad dog\"}";
	o.body_len = strlen((const char *)o.body);
	CU_ASSERT_EQUAL(httpsig_verify(&r.msg, &o, &res, &err), -1);
	CU_ASSERT_STRING_EQUAL(CODE(res), HTTPSIG_E_DIGEST);
	free(r.digest);
	/* digest recomputed over the changed body: now the signature fails */
	b2_response(&r, "{\"message\": \"bad dog\"}", B24_INPUT, B24_SIG);
	CU_ASSERT_EQUAL(httpsig_verify(&r.msg, &o, &res, &err), -1);
	CU_ASSERT_STRING_EQUAL(CODE(res), HTTPSIG_E_BAD);
	free(r.digest);
	key_free(pub);
}

/* ---- round trips with the gateway's rules ---- */

static const char *const gw_required[] = {"@method", "@authority", "@path", "@query"};
static const char *const gw_components[] = {"@method", "@authority", "@path", "@query",
					    "content-digest"};

struct call {
	struct http_field f[8];
	struct http_field_list list;
	struct http_msg msg;
	char *digest, *si, *sg;
	const char *body;
};

static void call_free(struct call *c)
{
	free(c->digest);
	free(c->si);
	free(c->sg);
	memset(c, 0, sizeof(*c));
}

/* Signs a POST /v1/domains/web1/start?x=1 with body, as vmseal-call will; digest overrides
 * the Content-Digest value when not NULL. */
static int call_sign_digest(struct call *c, const struct vs_key *k,
			    const struct httpsig_sign_params *sp, const char *digest)
{
	struct vs_error err = {0};
	size_t n = 0;

	memset(c, 0, sizeof(*c));
	c->body = "{\"a\":1}";
	if (digest)
		c->digest = strdup(digest);
	else if (content_digest_make("sha-256", (const uint8_t *)c->body, strlen(c->body),
				     &c->digest, &err) < 0)
		return -1;
	c->f[n++] = (struct http_field){"Host", "gw.example:8443"};
	c->f[n++] = (struct http_field){"Content-Digest", c->digest};
	c->list = (struct http_field_list){c->f, n};
	c->msg = (struct http_msg){.method = "POST", .scheme = "https",
				   .authority = "GW.example:8443", .path = "/v1/domains/web1/start",
				   .query = "x=1", .fields = http_field_list_get,
				   .fields_ctx = &c->list};
	if (httpsig_sign(&c->msg, k, sp, &c->si, &c->sg, &err) < 0) {
		fprintf(stderr, "sign: %s: %s\n", err.object, err.reason);
		return -1;
	}
	c->f[n++] = (struct http_field){"Signature-Input", c->si};
	c->f[n++] = (struct http_field){"Signature", c->sg};
	c->list.n = n;
	return 0;
}

static int call_sign(struct call *c, const struct vs_key *k, const struct httpsig_sign_params *sp)
{
	return call_sign_digest(c, k, sp, NULL);
}

static struct httpsig_verify_opts gw_opts(struct keystore *ks, const struct call *c)
{
	return (struct httpsig_verify_opts){
		.key_lookup = keystore_lookup, .key_ctx = ks, .required = gw_required,
		.nrequired = 4, .require_created = 1, .require_expires = 1, .require_nonce = 1,
		.require_keyid = 1, .now = 1000000, .max_skew_s = 300, .max_validity_s = 300,
		.not_before = 999000, .body = (const uint8_t *)c->body,
		.body_len = strlen(c->body), .digest_if_body = 1};
}

static struct httpsig_sign_params gw_params(const struct vs_key *k)
{
	return (struct httpsig_sign_params){.label = "sig1", .components = gw_components,
					    .ncomponents = 5, .created = 1000000,
					    .expires = 1000060, .nonce = "n-1", .keyid = key_id(k)};
}

static const char *verify_code(struct call *c, struct httpsig_verify_opts *o)
{
	struct httpsig_result res;
	struct vs_error err = {0};

	if (httpsig_verify(&c->msg, o, &res, &err) == 0)
		return "ok";
	return CODE(res);
}

static void roundtrip_alg(enum key_alg alg)
{
	struct vs_key *k = NULL, *other = NULL;
	struct vs_error err = {0};
	struct keystore ks = {.n = 1};
	struct httpsig_sign_params sp;
	struct httpsig_verify_opts o;
	struct httpsig_result res;
	struct call c;

	CU_ASSERT_EQUAL_FATAL(key_generate(alg, 1, &k, &err), 0);
	ks.ids[0] = key_id(k);
	ks.keys[0] = k;
	sp = gw_params(k);
	sp.with_alg = 1;
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	o = gw_opts(&ks, &c);
	CU_ASSERT_EQUAL(httpsig_verify(&c.msg, &o, &res, &err), 0);
	CU_ASSERT_EQUAL(res.n, 1);
	CU_ASSERT_EQUAL(res.sigs[0].alg, httpsig_alg_of_key(k));
	CU_ASSERT_STRING_EQUAL(res.sigs[0].nonce, "n-1");
	CU_ASSERT_EQUAL(res.sigs[0].expires, 1000060);
	CU_ASSERT_PTR_EQUAL(res.sigs[0].key_ref, ks.ids[0]);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.si, httpsig_alg_name(httpsig_alg_of_key(k))));
	/* each covered request component, changed, breaks the signature */
	c.msg.method = "GET";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	c.msg.method = "POST";
	c.msg.path = "/v1/domains/web2/start";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	c.msg.path = "/v1/domains/web1/start";
	c.msg.query = NULL;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	c.msg.query = "x=1";
	c.msg.authority = "evil.example:8443";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	c.msg.authority = "gw.example:8443";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), "ok");
	call_free(&c);

	/* another key of the same type under the same keyid */
	CU_ASSERT_EQUAL_FATAL(key_generate(alg, 1, &other, &err), 0);
	sp = gw_params(k);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, other, &sp), 0);
	o = gw_opts(&ks, &c);
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	call_free(&c);
	key_free(other);
	key_free(k);
}

static void test_roundtrip_ed25519(void)
{
	roundtrip_alg(KEY_ALG_ED25519);
}

static void test_roundtrip_p256(void)
{
	roundtrip_alg(KEY_ALG_P256);
}

static void test_roundtrip_rsa(void)
{
	roundtrip_alg(KEY_ALG_RSA3072);
}

static void test_refusals(void)
{
	struct vs_key *k = NULL, *p256 = NULL;
	struct vs_error err = {0};
	struct keystore ks = {.n = 1};
	struct httpsig_sign_params sp;
	struct httpsig_verify_opts o;
	struct call c;

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &k, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_P256, 1, &p256, &err), 0);
	ks.ids[0] = key_id(k);
	ks.keys[0] = k;

	/* each required component left out in turn */
	for (size_t drop = 0; drop < 5; drop++) {
		const char *comps[5];
		size_t n = 0;

		for (size_t i = 0; i < 5; i++)
			if (i != drop)
				comps[n++] = gw_components[i];
		sp = gw_params(k);
		sp.components = comps;
		sp.ncomponents = n;
		CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
		o = gw_opts(&ks, &c);
		CU_ASSERT_STRING_EQUAL(verify_code(&c, &o),
				       drop < 4 ? HTTPSIG_E_COMPONENT : HTTPSIG_E_DIGEST_MISSING);
		call_free(&c);
	}

	/* each required parameter left out in turn */
	for (int drop = 0; drop < 3; drop++) {
		sp = gw_params(k);
		if (drop == 0)
			sp.created = 0;
		if (drop == 1)
			sp.expires = 0;
		if (drop == 2)
			sp.nonce = NULL;
		CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
		o = gw_opts(&ks, &c);
		CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_PARAM);
		call_free(&c);
	}

	/* time: skew past and future, expired, too long, before start */
	struct { int64_t created, expires; const char *code; } t[] = {
		{1000000 - 301, 1000000 - 301 + 310, HTTPSIG_E_SKEW},
		{1000000 + 301, 1000000 + 360, HTTPSIG_E_SKEW},
		{1000000 - 300, 1000000 + 0, HTTPSIG_E_EXPIRED},
		{1000000 - 100, 1000000 - 50, HTTPSIG_E_EXPIRED},
		{1000000, 1000000, HTTPSIG_E_EXPIRED},
		{1000000, 1000000 + 301, HTTPSIG_E_VALIDITY},
		{1000000 - 200, 1000000 + 100, "ok"},
		{1000000 + 300, 1000000 + 600, "ok"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		sp = gw_params(k);
		sp.created = t[i].created;
		sp.expires = t[i].expires;
		CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
		o = gw_opts(&ks, &c);
		CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), t[i].code);
		call_free(&c);
	}
	sp = gw_params(k);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	o = gw_opts(&ks, &c);
	o.not_before = 1000001;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BEFORE_START);
	call_free(&c);

	/* alg that does not match the key */
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	{
		char *si = malloc(strlen(c.si) + 32);

		sprintf(si, "%s;alg=\"ecdsa-p256-sha256\"", c.si);
		c.f[2].value = si;
		o = gw_opts(&ks, &c);
		CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_ALG);
		sprintf(si, "%s;alg=\"ed25519\"", c.si);
		/* right alg, but it was not signed: the base changes */
		CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
		free(si);
	}
	call_free(&c);

	/* unknown keyid */
	sp = gw_params(k);
	sp.keyid = "0000";
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	o = gw_opts(&ks, &c);
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_KEY);
	call_free(&c);

	/* body changed after signing; digest with an unsupported algorithm */
	sp = gw_params(k);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	o = gw_opts(&ks, &c);
	o.body = (const uint8_t *)"{\"a\":2}";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_DIGEST);
	call_free(&c);
	CU_ASSERT_EQUAL_FATAL(call_sign_digest(&c, k, &sp, "md5=:nPIPqakGmOeMUPo46u6Sfw==:"), 0);
	o = gw_opts(&ks, &c);
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_DIGEST_ALG);
	/* a digest field changed after signing breaks the signature */
	c.f[1].value = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	call_free(&c);

	/* no signature at all; malformed fields; labels that do not pair up */
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	o = gw_opts(&ks, &c);
	c.list.n = 2;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MISSING);
	c.list.n = 4;
	c.f[3].value = "sig1=:abc";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MALFORMED);
	c.f[3].value = "sig2=:AAAA:";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MALFORMED);
	c.f[3].value = "sig1=(\"@method\")";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MALFORMED);
	c.f[2].value = "sig1=(\"@method\" \"@method\");created=1;keyid=\"x\"";
	c.f[3].value = "sig1=:AAAA:";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MALFORMED);
	c.f[2].value = "sig1=(\"@method\";sf);keyid=\"x\"";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MALFORMED);
	c.f[2].value = "sig1=(\"Host\");keyid=\"x\"";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MALFORMED);
	c.f[2].value = "sig1=(\"@query-param\";name=\"x\");keyid=\"x\"";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MALFORMED);
	c.f[2].value = "sig1=(\"@method\");created=\"1\";keyid=\"x\"";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_MALFORMED);
	call_free(&c);

	/* a covered field that is not in the message */
	{
		const char *comps[] = {"@method", "@authority", "@path", "@query", "content-digest",
				       "x-missing"};
		sp = gw_params(k);
		sp.components = comps;
		sp.ncomponents = 6;
		CU_ASSERT_EQUAL(call_sign(&c, k, &sp), -1);
		call_free(&c);
	}
	key_free(p256);
	key_free(k);
}

static void test_two_signatures(void)
{
	struct vs_key *a = NULL, *b = NULL;
	struct vs_error err = {0};
	struct keystore ks = {.n = 2};
	struct httpsig_sign_params sp;
	struct httpsig_verify_opts o;
	struct httpsig_result res;
	struct call c;
	char *si2 = NULL, *sg2 = NULL, *si = NULL, *sg = NULL;

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_P256, 1, &b, &err), 0);
	ks.ids[0] = key_id(a);
	ks.keys[0] = a;
	ks.ids[1] = key_id(b);
	ks.keys[1] = b;
	sp = gw_params(a);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, a, &sp), 0);
	sp = gw_params(b);
	sp.label = "sig2";
	sp.nonce = "n-2";
	c.list.n = 2; /* the second signer sees the message before signatures */
	CU_ASSERT_EQUAL_FATAL(httpsig_sign(&c.msg, b, &sp, &si2, &sg2, &err), 0);
	si = malloc(strlen(c.si) + strlen(si2) + 3);
	sg = malloc(strlen(c.sg) + strlen(sg2) + 3);
	sprintf(si, "%s, %s", c.si, si2);
	sprintf(sg, "%s, %s", c.sg, sg2);
	c.f[2].value = si;
	c.f[3].value = sg;
	c.list.n = 4;
	o = gw_opts(&ks, &c);
	CU_ASSERT_EQUAL(httpsig_verify(&c.msg, &o, &res, &err), 0);
	CU_ASSERT_EQUAL(res.n, 2);
	CU_ASSERT_STRING_EQUAL(res.sigs[1].nonce, "n-2");
	CU_ASSERT_STRING_EQUAL(res.sigs[1].keyid, key_id(b));
	/* as two field lines */
	c.f[2].value = c.si;
	c.f[3].value = c.sg;
	c.f[4] = (struct http_field){"Signature-Input", si2};
	c.f[5] = (struct http_field){"signature", sg2};
	c.list.n = 6;
	CU_ASSERT_EQUAL(httpsig_verify(&c.msg, &o, &res, &err), 0);
	CU_ASSERT_EQUAL(res.n, 2);
	/* one of the two broken: the whole message fails */
	sg2[6] = sg2[6] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(httpsig_verify(&c.msg, &o, &res, &err), -1);
	/* but asking for sig1 only passes */
	o.label = "sig1";
	CU_ASSERT_EQUAL(httpsig_verify(&c.msg, &o, &res, &err), 0);
	CU_ASSERT_EQUAL(res.n, 1);
	free(si);
	free(sg);
	free(si2);
	free(sg2);
	call_free(&c);
	key_free(a);
	key_free(b);
}

static void test_signed_response(void)
{
	struct vs_key *gw = NULL, *admin = NULL;
	struct vs_error err = {0};
	struct keystore ks = {.n = 1};
	struct httpsig_sign_params sp;
	struct httpsig_verify_opts o = {0};
	struct httpsig_result res;
	static const char *const rc[] = {"@status", "content-digest", "content-type",
					 "@method;req", "@path;req", "signature;req"};
	const char *body = "{\"domains\":[]}";
	char *digest = NULL, *si = NULL, *sg = NULL;
	struct http_field rf[4];
	struct http_field_list rl = {rf, 4};
	struct http_msg resp = {.status = 200, .fields = http_field_list_get, .fields_ctx = &rl};
	struct call c;

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &gw, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &admin, &err), 0);
	sp = gw_params(admin);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, admin, &sp), 0);
	resp.request = &c.msg;
	CU_ASSERT_EQUAL_FATAL(content_digest_make("sha-256", (const uint8_t *)body, strlen(body),
						  &digest, &err), 0);
	rf[0] = (struct http_field){"Content-Type", "application/json"};
	rf[1] = (struct http_field){"Content-Digest", digest};
	rl.n = 2;
	sp = (struct httpsig_sign_params){.label = "resp", .components = rc, .ncomponents = 6,
					  .created = 1000000};
	CU_ASSERT_EQUAL_FATAL(httpsig_sign(&resp, gw, &sp, &si, &sg, &err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(si,
			       "(\"@status\" \"content-digest\" \"content-type\" \"@method\";req "
			       "\"@path\";req \"signature\";req);created=1000000;keyid=\""));
	rf[2] = (struct http_field){"Signature-Input", si};
	rf[3] = (struct http_field){"Signature", sg};
	rl.n = 4;
	ks.ids[0] = key_id(gw);
	ks.keys[0] = gw;
	o.key_lookup = keystore_lookup;
	o.key_ctx = &ks;
	o.required = rc;
	o.nrequired = 6;
	o.body = (const uint8_t *)body;
	o.body_len = strlen(body);
	o.digest_if_body = 1;
	CU_ASSERT_EQUAL(httpsig_verify(&resp, &o, &res, &err), 0);
	/* bound to the request: another request's signature, method or path fails */
	c.msg.method = "DELETE";
	CU_ASSERT_EQUAL(httpsig_verify(&resp, &o, &res, &err), -1);
	c.msg.method = "POST";
	c.f[3].value = "sig1=:AAAA:";
	CU_ASSERT_EQUAL(httpsig_verify(&resp, &o, &res, &err), -1);
	c.f[3].value = c.sg;
	resp.status = 500;
	CU_ASSERT_EQUAL(httpsig_verify(&resp, &o, &res, &err), -1);
	resp.status = 200;
	CU_ASSERT_EQUAL(httpsig_verify(&resp, &o, &res, &err), 0);
	/* a request component without ;req on a response is refused */
	rf[2].value = "resp=(\"@method\");keyid=\"x\"";
	CU_ASSERT_EQUAL(httpsig_verify(&resp, &o, &res, &err), -1);
	free(digest);
	free(si);
	free(sg);
	call_free(&c);
	key_free(gw);
	key_free(admin);
}

static void test_content_digest(void)
{
	struct vs_error err = {0};
	char *d = NULL;
	const uint8_t *body = (const uint8_t *)B2_REQ_BODY;
	size_t n = strlen(B2_REQ_BODY);

	CU_ASSERT_EQUAL(content_digest_make("sha-256", body, n, &d, &err), 0);
	CU_ASSERT_STRING_EQUAL(d, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
	CU_ASSERT_EQUAL(content_digest_check(d, body, n, &err), 0);
	free(d);
	CU_ASSERT_EQUAL(content_digest_make("sha-512", body, n, &d, &err), 0);
	CU_ASSERT_STRING_EQUAL(d, B2_REQ_DIGEST);
	free(d);
	CU_ASSERT_EQUAL(content_digest_make("md5", body, n, &d, &err), -1);
	CU_ASSERT_EQUAL(content_digest_check(B2_REQ_DIGEST, body, n, &err), 0);
	CU_ASSERT_EQUAL(content_digest_check(B2_REQ_DIGEST, body, n - 1, &err), -1);
	/* unknown algorithms are ignored beside a known one, refused alone */
	CU_ASSERT_EQUAL(content_digest_check("md5=:AAAA:, " B2_REQ_DIGEST, body, n, &err), 0);
	CU_ASSERT_EQUAL(content_digest_check("md5=:AAAA:", body, n, &err), -1);
	CU_ASSERT_EQUAL(content_digest_check("", body, n, &err), -1);
	/* every known one must match */
	CU_ASSERT_EQUAL(content_digest_check(B2_REQ_DIGEST ", sha-256=:AAAA:", body, n, &err), -1);
	CU_ASSERT_EQUAL(content_digest_check("sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"",
					     body, n, &err), -1);
	CU_ASSERT_EQUAL(content_digest_check("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",
					     body, n, &err), -1);
	/* the empty body */
	CU_ASSERT_EQUAL(content_digest_make("sha-256", NULL, 0, &d, &err), 0);
	CU_ASSERT_STRING_EQUAL(d, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
	CU_ASSERT_EQUAL(content_digest_check(d, NULL, 0, &err), 0);
	free(d);
}

static void test_authority_and_derived(void)
{
	char out[64];
	struct http_field f[] = {{"X-Multi", " a "}, {"x-multi", "b\t"}, {"X-Bad", "caf\xc3\xa9"}};
	struct http_field_list l = {f, 3};
	struct http_msg m = {.method = "GET", .scheme = "HTTPS", .authority = "Example.COM:443",
			     .path = "", .query = NULL, .fields = http_field_list_get,
			     .fields_ctx = &l};
	struct sf_item items[8] = {0};
	static const char *const names[] = {"@method", "@target-uri", "@authority", "@scheme",
					    "@request-target", "@path", "@query", "x-multi"};
	struct sf_params p = {0};
	struct vs_error err = {0};
	char *base = NULL;
	size_t len;

	CU_ASSERT_EQUAL(httpsig_normalize_authority("https", "Example.COM:443", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "example.com");
	CU_ASSERT_EQUAL(httpsig_normalize_authority("https", "example.com:8443", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "example.com:8443");
	CU_ASSERT_EQUAL(httpsig_normalize_authority("http", "h:80", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "h");
	CU_ASSERT_EQUAL(httpsig_normalize_authority("https", "[::1]:443", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "[::1]");
	CU_ASSERT_EQUAL(httpsig_normalize_authority("https", "a b", out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(httpsig_normalize_authority("https", "u@h", out, sizeof(out)), -1);
	CU_ASSERT_EQUAL(httpsig_normalize_authority("https", "", out, sizeof(out)), -1);

	for (size_t i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(sf_bare_string(&items[i].bare, names[i]), 0);
	CU_ASSERT_EQUAL_FATAL(httpsig_signature_base(&m, items, 8, &p, &base, &len, &err), 0);
	CU_ASSERT_STRING_EQUAL(base, "\"@method\": GET\n"
				     "\"@target-uri\": https://example.com/\n"
				     "\"@authority\": example.com\n"
				     "\"@scheme\": https\n"
				     "\"@request-target\": /\n"
				     "\"@path\": /\n"
				     "\"@query\": ?\n"
				     "\"x-multi\": a, b\n"
				     "\"@signature-params\": (\"@method\" \"@target-uri\" \"@authority\" "
				     "\"@scheme\" \"@request-target\" \"@path\" \"@query\" \"x-multi\")");
	free(base);
	m.query = "";
	m.path = "/a%2Fb";
	CU_ASSERT_EQUAL_FATAL(httpsig_signature_base(&m, items + 4, 3, &p, &base, &len, &err), 0);
	CU_ASSERT_STRING_EQUAL(base, "\"@request-target\": /a%2Fb?\n\"@path\": /a%2Fb\n\"@query\": ?\n"
				     "\"@signature-params\": (\"@request-target\" \"@path\" \"@query\")");
	free(base);
	/* non-ASCII field value, @status on a request, ;req on a request */
	sf_bare_free(&items[7].bare);
	CU_ASSERT_EQUAL(sf_bare_string(&items[7].bare, "x-bad"), 0);
	CU_ASSERT_EQUAL(httpsig_signature_base(&m, items + 7, 1, &p, &base, &len, &err), -1);
	sf_bare_free(&items[7].bare);
	CU_ASSERT_EQUAL(sf_bare_string(&items[7].bare, "@status"), 0);
	CU_ASSERT_EQUAL(httpsig_signature_base(&m, items + 7, 1, &p, &base, &len, &err), -1);
	{
		struct sf_bare t = {.type = SF_BOOLEAN, .num = 1};

		CU_ASSERT_EQUAL(sf_params_add(&items[0].params, "req", &t), 0);
		CU_ASSERT_EQUAL(httpsig_signature_base(&m, items, 1, &p, &base, &len, &err), -1);
	}
	for (size_t i = 0; i < 8; i++)
		sf_item_free(&items[i]);
}

/* Issue 15 item 1: a call signed for one gateway is refused by another; item 3: created may
 * lie only max_future_skew_s ahead. */
static void test_own_names_and_future(void)
{
	static const char *const ours[] = {"gw.example:8443", "10.0.0.1:8443"};
	static const char *const others[] = {"gw2.example:8443", "gw.example:8444"};
	struct vs_key *k = NULL;
	struct vs_error err = {0};
	struct keystore ks = {.n = 1};
	struct httpsig_sign_params sp;
	struct httpsig_verify_opts o;
	struct call c;

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &k, &err), 0);
	ks.ids[0] = key_id(k);
	ks.keys[0] = k;
	sp = gw_params(k);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	o = gw_opts(&ks, &c);
	o.check_authority = 1;
	o.authorities = ours;
	o.nauthorities = 2;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), "ok"); /* "GW.example:8443" normalised */
	o.authorities = others;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_AUTHORITY);
	o.nauthorities = 0; /* no names yet: nothing passes */
	o.authorities = ours;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_AUTHORITY);
	o.nauthorities = 2;
	c.msg.authority = NULL;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_AUTHORITY);
	call_free(&c);

	/* created 3 s ahead: within max_skew_s (300) but past max_future_skew_s (2) */
	sp = gw_params(k);
	sp.created = 1000003;
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	o = gw_opts(&ks, &c);
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), "ok");
	o.max_future_skew_s = 2;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_SKEW);
	o.max_future_skew_s = 3;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), "ok");
	call_free(&c);

	/* item 8: checked from the headers before the body arrives: content-digest must be
	 * covered, its value waits for the body */
	sp = gw_params(k);
	CU_ASSERT_EQUAL_FATAL(call_sign_digest(&c, k, &sp, "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"), 0);
	o = gw_opts(&ks, &c);
	o.body = NULL;
	o.body_len = 0;
	o.body_pending = 1;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), "ok");
	o.body = (const uint8_t *)c.body;
	o.body_len = strlen(c.body);
	o.body_pending = 0;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_DIGEST); /* once it is in */
	call_free(&c);
	{
		static const char *const no_digest[] = {"@method", "@authority", "@path", "@query"};

		sp = gw_params(k);
		sp.components = no_digest;
		sp.ncomponents = 4;
		CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
		o = gw_opts(&ks, &c);
		o.body = NULL;
		o.body_len = 0;
		o.body_pending = 1;
		CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_DIGEST_MISSING);
		call_free(&c);
	}
	key_free(k);
}

/* The gateway verifies a request with a body twice (headers first, then with the body): the
 * memo spares the second public-key operation and nothing else. */
static void test_memo(void)
{
	struct vs_key *k = NULL, *other = NULL;
	struct vs_error err = {0};
	struct keystore ks = {.n = 1};
	struct httpsig_sign_params sp;
	struct httpsig_verify_opts o;
	struct httpsig_memo memo;
	struct call c;

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &k, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &other, &err), 0);
	ks.ids[0] = key_id(k);
	ks.keys[0] = k;
	sp = gw_params(k);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, k, &sp), 0);
	memset(&memo, 0, sizeof(memo));
	o = gw_opts(&ks, &c);
	o.memo = &memo;
	o.body_pending = 1;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), "ok");
	CU_ASSERT_EQUAL(memo.n, 1);
	o.body_pending = 0;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), "ok"); /* the same inputs: remembered */
	CU_ASSERT_EQUAL(memo.n, 1);
	/* every other check runs again */
	o.body = (const uint8_t *)"{\"a\":2}";
	o.body_len = 7;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_DIGEST);
	o = gw_opts(&ks, &c);
	o.memo = &memo;
	o.now = 1000060; /* expired meanwhile */
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_EXPIRED);
	o.now = 1000000;
	o.check_authority = 1; /* no names: wrong_authority */
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_AUTHORITY);
	o.check_authority = 0;
	ks.n = 0; /* the key left the policy */
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_KEY);
	ks.n = 1;
	/* another key under the same keyid (a policy swapped meanwhile): verified afresh, refused */
	ks.keys[0] = other;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	ks.keys[0] = k;
	/* a changed request is not the remembered one */
	c.msg.path = "/v1/domains/web2/start";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	c.msg.path = "/v1/domains/web1/start";
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), "ok");
	CU_ASSERT_EQUAL(memo.n, 1);
	call_free(&c);
	/* a signature that failed is never remembered */
	memset(&memo, 0, sizeof(memo));
	sp = gw_params(k);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, other, &sp), 0);
	o = gw_opts(&ks, &c);
	o.memo = &memo;
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	CU_ASSERT_STRING_EQUAL(verify_code(&c, &o), HTTPSIG_E_BAD);
	CU_ASSERT_EQUAL(memo.n, 0);
	call_free(&c);
	key_free(other);
	key_free(k);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"B.2.6 signature base and Ed25519 signature, byte for byte", test_b26_base_and_signature},
		{"B.2.6 verifies, mutated copies fail", test_b26_verifies},
		{"B.2.4 P-256 response verifies, mutated copies fail", test_b24_response_verifies},
		{"round trip ed25519", test_roundtrip_ed25519},
		{"round trip ecdsa-p256-sha256", test_roundtrip_p256},
		{"round trip rsa-pss-sha512", test_roundtrip_rsa},
		{"every refusal", test_refusals},
		{"two signatures (quorum)", test_two_signatures},
		{"signed response bound to the request", test_signed_response},
		{"content digest", test_content_digest},
		{"authority and derived components", test_authority_and_derived},
		{"own names (wrong_authority), future skew, body still to come", test_own_names_and_future},
		{"memo: a second verification skips only the remembered public-key check", test_memo},
		{NULL, NULL},
	};
	return run_suite("httpsig", cases);
}
