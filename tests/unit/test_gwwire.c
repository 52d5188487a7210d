/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's wire format: a call's signatures as the gateway checks them (with the refusal
 * overrides), the answer's signature and the client's check of it, each with refusals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/gwwire.h"
#include "lib/util.h"

#define NOW 1800000000

/* A call as a client sends it and the gateway sees it. */
struct call {
	struct http_field f[3];
	struct http_field_list list;
	struct http_msg msg;
	char *digest, *si, *sg;
};

static void call_init(struct call *c, const char *body)
{
	struct vs_error err = {0};

	memset(c, 0, sizeof(*c));
	if (body) {
		CU_ASSERT_EQUAL_FATAL(content_digest_make("sha-256", (const uint8_t *)body, strlen(body),
							  &c->digest, &err), 0);
		c->f[c->list.n++] = (struct http_field){"Content-Digest", c->digest};
	}
	c->list.v = c->f;
	c->msg = (struct http_msg){.method = "POST", .scheme = "https", .authority = "gw.example:8443",
				   .path = "/v1/domains/web1/destroy", .fields = http_field_list_get,
				   .fields_ctx = &c->list};
}

static int call_sign(struct call *c, const struct vs_key *const *keys, size_t n,
		     const struct gwwire_call_params *p)
{
	struct vs_error err = {0};
	size_t base = c->digest ? 1 : 0;

	free(c->si);
	free(c->sg);
	c->list.n = base;
	if (gwwire_sign_call(&c->msg, keys, n, p, &c->si, &c->sg, &err) < 0)
		return -1;
	c->f[base] = (struct http_field){"Signature-Input", c->si};
	c->f[base + 1] = (struct http_field){"Signature", c->sg};
	c->list.n = base + 2;
	return 0;
}

static void call_free(struct call *c)
{
	free(c->digest);
	free(c->si);
	free(c->sg);
}

struct keys2 {
	const struct vs_key *k[2];
};

static int two_keys_lookup(void *ctx, const char *keyid, const struct vs_key **key,
			   const void **ref, struct vs_error *err)
{
	const struct keys2 *ks = ctx;

	(void)ref;
	for (size_t i = 0; i < 2; i++)
		if (!strcmp(keyid, key_id(ks->k[i]))) {
			*key = ks->k[i];
			return 0;
		}
	return vs_fail(err, VS_ERR_DENIED, keyid, "unknown key");
}

/* The gateway's own rules for a call's signatures (api/gateway_http.c verify_opts). */
static const char *gateway_verdict(const struct call *c, const char *body, struct keys2 *ks,
				   struct httpsig_result *res)
{
	struct httpsig_verify_opts o = {
		.key_lookup = two_keys_lookup, .key_ctx = ks, .required = gwwire_call_components,
		.nrequired = GWWIRE_CALL_NREQUIRED, .require_created = 1, .require_expires = 1,
		.require_nonce = 1, .require_keyid = 1, .now = NOW, .max_skew_s = 300,
		.max_validity_s = 300, .body = (const uint8_t *)body, .body_len = body ? strlen(body) : 0,
		.digest_if_body = 1};
	struct vs_error err = {0};

	return httpsig_verify(&c->msg, &o, res, &err) == 0 ? "ok" : res->code;
}

static void test_call(void)
{
	const char *body = "{\"name\":\"web1\"}";
	struct vs_key *a = NULL, *b = NULL;
	struct vs_error err = {0};
	struct httpsig_result res;
	struct keys2 ks;
	struct call c;
	struct gwwire_call_params p = {.now = NOW, .expires_in = 60};
	const char *no_authority[] = {"@method", "@path", "@query", "content-digest"};

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &a, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_P256, 1, &b, &err), 0);
	ks = (struct keys2){{a, b}};
	call_init(&c, body);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 2, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), "ok");
	CU_ASSERT_EQUAL_FATAL(res.n, 2);
	CU_ASSERT_STRING_EQUAL(res.sigs[0].label, "sig1");
	CU_ASSERT_STRING_EQUAL(res.sigs[1].label, "sig2");
	CU_ASSERT_TRUE(res.sigs[0].covers_digest && res.sigs[1].covers_digest);
	CU_ASSERT_EQUAL(res.sigs[0].created, NOW);
	CU_ASSERT_EQUAL(res.sigs[0].expires, NOW + 60);
	CU_ASSERT_EQUAL(strlen(res.sigs[0].nonce), 2 * GWWIRE_NONCE_BYTES);
	CU_ASSERT_STRING_NOT_EQUAL(res.sigs[0].nonce, res.sigs[1].nonce);
	CU_ASSERT_PTR_NULL(strstr(c.si, "alg="));
	/* the body the gateway received is not the one signed */
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, "{\"name\":\"web9\"}", &ks, &res), HTTPSIG_E_DIGEST);

	/* the overrides make calls the gateway refuses */
	p.omit = GWWIRE_OMIT_NONCE;
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), HTTPSIG_E_PARAM);
	p.omit = GWWIRE_OMIT_EXPIRES;
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), HTTPSIG_E_PARAM);
	p.omit = GWWIRE_OMIT_CREATED;
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), HTTPSIG_E_PARAM);
	p.omit = 0;
	p.components = no_authority;
	p.ncomponents = 4;
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), HTTPSIG_E_COMPONENT);
	p.components = NULL;
	p.created = NOW - 400;
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), HTTPSIG_E_SKEW);
	p.created = NOW;
	p.expires = NOW + 301;
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), HTTPSIG_E_VALIDITY);
	p.expires = 0;
	p.alg = "ecdsa-p256-sha256";
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), HTTPSIG_E_ALG);
	p.alg = "ed25519";
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), "ok");
	p.alg = NULL;
	p.keyid = key_id(b); /* signed by a, claimed as b */
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_NOT_EQUAL(gateway_verdict(&c, body, &ks, &res), "ok");
	p.keyid = NULL;
	p.nonce = "fixed-1";
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), "ok");
	CU_ASSERT_STRING_EQUAL(res.sigs[0].nonce, "fixed-1");
	p.nonce = NULL;
	/* 1..HTTPSIG_MAX_SIGS keys */
	CU_ASSERT_EQUAL(call_sign(&c, ks.k, 0, &p), -1);
	{
		const struct vs_key *many[HTTPSIG_MAX_SIGS + 1];

		for (size_t i = 0; i <= HTTPSIG_MAX_SIGS; i++)
			many[i] = a;
		CU_ASSERT_EQUAL(call_sign(&c, many, HTTPSIG_MAX_SIGS + 1, &p), -1);
	}
	call_free(&c);

	/* no body, no Content-Digest: the four required components only */
	call_init(&c, NULL);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, ks.k, 1, &p), 0);
	CU_ASSERT_PTR_NULL(strstr(c.si, "content-digest"));
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, NULL, &ks, &res), "ok");
	/* a body the signature does not bind is refused */
	CU_ASSERT_STRING_EQUAL(gateway_verdict(&c, body, &ks, &res), HTTPSIG_E_DIGEST_MISSING);
	call_free(&c);
	key_free(a);
	key_free(b);
}

/* Accept-Signature names the call's components in order, with the required parameters. */
static void test_accept_signature(void)
{
	char want[256] = "sig1=(";

	for (size_t i = 0; i < GWWIRE_CALL_NCOMPONENTS; i++) {
		strcat(want, i ? " \"" : "\"");
		strcat(want, gwwire_call_components[i]);
		strcat(want, "\"");
	}
	strcat(want, ");created;expires;nonce;keyid");
	CU_ASSERT_STRING_EQUAL(GWWIRE_ACCEPT_SIGNATURE, want);
}

/* An answer as the gateway signs it (api/gateway_http.c make_response). */
struct answer {
	struct http_field f[VS_MAX_RESPONSE_HEADERS + 1];
	size_t n;
	char *digest, *si, *sg;
	struct gwwire_answer a;
};

static int answer_sign(struct answer *an, const struct http_msg *req, const struct vs_key *key,
		       int status, const char *body, int64_t created)
{
	struct http_field_list fl = {an->f, 2};
	struct http_msg resp = {.status = status, .fields = http_field_list_get, .fields_ctx = &fl,
				.request = req};
	struct vs_error err = {0};

	memset(an, 0, sizeof(*an));
	if (content_digest_make("sha-256", (const uint8_t *)body, strlen(body), &an->digest, &err) < 0)
		return -1;
	an->f[0] = (struct http_field){"Content-Type", "application/json"};
	an->f[1] = (struct http_field){"Content-Digest", an->digest};
	if (gwwire_sign_answer(&resp, key, created, &an->si, &an->sg, &err) < 0)
		return -1;
	an->f[2] = (struct http_field){"Signature-Input", an->si};
	an->f[3] = (struct http_field){"Signature", an->sg};
	an->n = 4;
	an->a = (struct gwwire_answer){.status = status, .fields = an->f, .nfields = an->n,
				       .body = (const uint8_t *)body, .body_len = strlen(body)};
	return 0;
}

static void answer_free(struct answer *an)
{
	free(an->digest);
	free(an->si);
	free(an->sg);
}

/* gwwire_check_answer's verdict: "ok", or the reason (which must be a denial). */
static int check(const struct answer *an, const struct http_msg *req, const struct vs_key *gw,
		 const char *want_reason)
{
	struct vs_error err = {0};
	int r = gwwire_check_answer(&an->a, req, gw, NOW, &err);

	if (r == 0)
		return !want_reason;
	return want_reason && err.kind == VS_ERR_DENIED && strstr(err.reason, want_reason) != NULL;
}

static void test_answer(void)
{
	const char *body = "{\"domains\":[]}";
	static struct answer an; /* VS_MAX_RESPONSE_HEADERS fields: off the stack */
	struct vs_key *gw = NULL, *other = NULL, *admin = NULL;
	struct gwwire_call_params p = {.now = NOW, .expires_in = 60};
	struct vs_error err = {0};
	struct call c;

	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &gw, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &other, &err), 0);
	CU_ASSERT_EQUAL_FATAL(key_generate(KEY_ALG_ED25519, 1, &admin, &err), 0);
	call_init(&c, NULL);
	CU_ASSERT_EQUAL_FATAL(call_sign(&c, (const struct vs_key *const *)&admin, 1, &p), 0);

	CU_ASSERT_EQUAL_FATAL(answer_sign(&an, &c.msg, gw, 200, body, NOW), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(an.si, "gw=(\"@status\" \"content-type\" \"content-digest\" "
					     "\"@method\";req \"@path\";req \"signature\";req)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(an.si, "alg=\"ed25519\""));
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, NULL));
	/* bound to this call: another method, path or signature of the call fails */
	c.msg.method = "DELETE";
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature (signature_invalid)"));
	c.msg.method = "POST";
	c.f[1].value = "sig1=:AAAA:";
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature"));
	c.f[1].value = c.sg;
	/* the status or the body changed */
	an.a.status = 500;
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature"));
	an.a.status = 200;
	an.a.body = (const uint8_t *)"{\"domains\":[1]}";
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature (digest_mismatch)"));
	an.a.body = (const uint8_t *)body;
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, NULL));
	/* signed by another key, or too long ago */
	answer_free(&an);
	CU_ASSERT_EQUAL_FATAL(answer_sign(&an, &c.msg, other, 200, body, NOW), 0);
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature (key_refused)"));
	answer_free(&an);
	CU_ASSERT_EQUAL_FATAL(answer_sign(&an, &c.msg, gw, 200, body, NOW - VS_RESPONSE_SKEW_S - 1), 0);
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature (clock_skew)"));
	answer_free(&an);

	/* too many header fields, or too large a body */
	CU_ASSERT_EQUAL_FATAL(answer_sign(&an, &c.msg, gw, 200, body, NOW), 0);
	an.a.fields_over = 1;
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "too many header fields"));
	an.a.fields_over = 0;
	for (; an.n <= VS_MAX_RESPONSE_HEADERS; an.n++)
		an.f[an.n] = (struct http_field){"X-Pad", "1"};
	an.a.nfields = an.n;
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "too many header fields"));
	an.a.nfields = VS_MAX_RESPONSE_HEADERS;
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, NULL));
	an.a.nfields = 4;
	{
		uint8_t *big = calloc(1, VS_MAX_RESPONSE_BYTES + 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(big);
		an.a.body = big;
		an.a.body_len = VS_MAX_RESPONSE_BYTES + 1;
		CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response too large"));
		free(big);
	}
	answer_free(&an);

	/* a call without a Signature gets an answer without signature;req: no client accepts it */
	c.list.n = 1; /* Signature-Input only */
	CU_ASSERT_EQUAL_FATAL(answer_sign(&an, &c.msg, gw, 401, body, NOW), 0);
	CU_ASSERT_PTR_NULL(strstr(an.si, "signature"));
	CU_ASSERT_PTR_NOT_NULL(strstr(an.si, "\"@path\";req)"));
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature (component_missing)"));
	answer_free(&an);
	/* nor one without a usable request line (status and body only) */
	c.list.n = 2;
	c.msg.authority = NULL;
	CU_ASSERT_EQUAL_FATAL(answer_sign(&an, &c.msg, gw, 400, body, NOW), 0);
	CU_ASSERT_PTR_NULL(strstr(an.si, "@method"));
	CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature"));
	answer_free(&an);
	c.msg.authority = "gw.example:8443";

	/* all components, but under another label than "gw" */
	{
		struct http_field_list fl = {an.f, 2};
		struct http_msg resp = {.status = 200, .fields = http_field_list_get, .fields_ctx = &fl,
					.request = &c.msg};
		struct httpsig_sign_params sp = {.label = "sig1", .components = gwwire_answer_components,
						 .ncomponents = GWWIRE_ANSWER_NCOMPONENTS,
						 .created = NOW, .with_alg = 1};

		memset(&an, 0, sizeof(an));
		CU_ASSERT_EQUAL_FATAL(content_digest_make("sha-256", (const uint8_t *)body, strlen(body),
							  &an.digest, &err), 0);
		an.f[0] = (struct http_field){"Content-Type", "application/json"};
		an.f[1] = (struct http_field){"Content-Digest", an.digest};
		CU_ASSERT_EQUAL_FATAL(httpsig_sign(&resp, gw, &sp, &an.si, &an.sg, &err), 0);
		an.f[2] = (struct http_field){"Signature-Input", an.si};
		an.f[3] = (struct http_field){"Signature", an.sg};
		an.a = (struct gwwire_answer){.status = 200, .fields = an.f, .nfields = 4,
					      .body = (const uint8_t *)body, .body_len = strlen(body)};
		CU_ASSERT_TRUE(check(&an, &c.msg, gw, "response signature"));
		/* the same signature under "gw" passes: the label alone was refused */
		answer_free(&an);
		CU_ASSERT_EQUAL_FATAL(answer_sign(&an, &c.msg, gw, 200, body, NOW), 0);
		CU_ASSERT_TRUE(check(&an, &c.msg, gw, NULL));
		answer_free(&an);
	}
	call_free(&c);
	key_free(gw);
	key_free(other);
	key_free(admin);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"a call's signatures as the gateway checks them; the test overrides refused", test_call},
		{"Accept-Signature names the call's components", test_accept_signature},
		{"the answer's signature and its check: bound, fresh, bounded, labelled gw", test_answer},
		{NULL, NULL},
	};
	return run_suite("gwwire", cases);
}
