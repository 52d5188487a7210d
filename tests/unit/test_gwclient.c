/* SPDX-License-Identifier: Apache-2.0 */
/* lib/gwclient's reading of an answer: which statuses are a refusal, and one member of a 2xx
 * answer (the transport itself is driven by the shell tests against a real gateway). */
#include <stdlib.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/gwclient.h"

static struct gwclient_response answer(long status, const char *body)
{
	struct gwclient_response r;

	memset(&r, 0, sizeof(r));
	r.status = status;
	r.body = strdup(body);
	r.body_len = strlen(body);
	return r;
}

static void test_status(void)
{
	static const struct {
		long status;
		const char *body;
		int rc;
		enum vs_error_kind kind;
		const char *reason;
	} t[] = {
		{200, "{}", 0, VS_ERR_NONE, ""},
		{201, "{\"name\":\"web1\"}", 0, VS_ERR_NONE, ""},
		{401, "{\"error\":\"replay\",\"detail\":\"signature sig1: nonce already used\"}", -1,
		 VS_ERR_DENIED, "HTTP 401 replay: signature sig1: nonce already used"},
		{403, "{\"error\":\"role\"}", -1, VS_ERR_DENIED, "HTTP 403 role"},
		{500, "{\"error\":\"internal\"}", -1, VS_ERR_IO, "HTTP 500 internal"},
		{302, "", -1, VS_ERR_IO, "HTTP 302 "},
		{199, "{}", -1, VS_ERR_IO, "HTTP 199 "},
		{300, "{}", -1, VS_ERR_IO, "HTTP 300 "},
		/* a body with a duplicated key is not read for the reason */
		{401, "{\"error\":\"replay\",\"error\":\"ok\"}", -1, VS_ERR_DENIED, "HTTP 401 "},
		{503, "not json", -1, VS_ERR_IO, "HTTP 503 "},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct gwclient_response r = answer(t[i].status, t[i].body);
		struct vs_error err = {0};

		CU_ASSERT_EQUAL(gwclient_response_status(&r, &err), t[i].rc);
		CU_ASSERT_EQUAL(err.kind, t[i].kind);
		CU_ASSERT_STRING_EQUAL(err.reason, t[i].reason);
		CU_ASSERT_STRING_EQUAL(err.object, "");
		gwclient_response_free(&r);
	}
}

static void test_string(void)
{
	struct gwclient_response r = answer(200, "{\"certificate\":\"ssh-ed25519-cert-v01@openssh.com AAAA\"}");
	struct vs_error err = {0};
	const char *v = NULL;
	json_t *o = NULL;

	CU_ASSERT_EQUAL(gwclient_response_string(&r, "certificate", &o, &v, &err), 0);
	CU_ASSERT_STRING_EQUAL(v, "ssh-ed25519-cert-v01@openssh.com AAAA");
	json_decref(o);
	/* refusals: no such member, not a string, a duplicated key, not JSON, not 2xx */
	CU_ASSERT_EQUAL(gwclient_response_string(&r, "krl", &o, &v, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
	CU_ASSERT_STRING_EQUAL(err.reason, "no krl in the gateway's answer");
	CU_ASSERT_PTR_NULL(v);
	json_decref(o);
	gwclient_response_free(&r);
	{
		static const char *const bad[] = {"{\"krl\":1}", "{\"krl\":\"a\",\"krl\":\"b\"}", "krl",
						  "[\"krl\"]", NULL};

		for (size_t i = 0; bad[i]; i++) {
			r = answer(200, bad[i]);
			memset(&err, 0, sizeof(err));
			CU_ASSERT_EQUAL(gwclient_response_string(&r, "krl", &o, &v, &err), -1);
			CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
			json_decref(o);
			gwclient_response_free(&r);
		}
	}
	r = answer(403, "{\"krl\":\"AAAA\",\"error\":\"role\"}");
	memset(&err, 0, sizeof(err));
	CU_ASSERT_EQUAL(gwclient_response_string(&r, "krl", &o, &v, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NULL(o);
	CU_ASSERT_PTR_NULL(v);
	gwclient_response_free(&r);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"2xx is an answer; 401 and 403 a refusal, any other status an error", test_status},
		{"one string member of a 2xx answer; refusals", test_string},
		{NULL, NULL},
	};
	return run_suite("gwclient", cases);
}
