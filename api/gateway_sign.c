/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/sign: the remote signing service; the pipeline sends a digest, the service's key signs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gateway_routes.h"
#include "lib/dsse.h"
#include "lib/gwbody.h"
#include "lib/statement.h"
#include "lib/util.h"

/* Signs a statement for the calling signer keys, within what the policy lets each of them sign
 * (policy_lock held by the caller, gateway_http.c). */
static void sign_route(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	const struct policy_key *pk;
	struct dsse_envelope *env = NULL;
	struct vs_error err = {0};
	struct statement st;
	char *payload = NULL, *json = NULL;
	size_t plen = 0;
	int64_t expires = 0;

	memset(&st, 0, sizeof(st));
	if (!gw->sign_key) {
		reply_error(out, 503, "not_configured", "this gateway runs without --signing-key");
		return;
	}
	if (gwbody_parse_sign(c->body, c->body_len, &st, &expires, &err) < 0) {
		reply_error(out, 400, "bad_request", "%s", err.reason);
		goto out;
	}
	/* Each signer key is bounded by the policy: what it may have signed, up to which version
	 * and for how long, and with how many other signers (issue 15 item 5). */
	if (policy_sign_check(gw->policy, c->who->keys, c->who->n, st.template_name, st.template_version,
			      expires, &err) < 0) {
		reply_error(out, 403, "sign_denied", "%s", err.reason);
		goto out;
	}
	/* The host's own policy may know the service key: then it must still be allowed to sign. */
	pk = policy_find_key(gw->policy, key_id(gw->sign_key));
	if (pk && policy_key_check(pk, USAGE_TEMPLATE, 0, vs_now(), &err) < 0) {
		reply_error(out, 403, "key_refused", "the service's signing key: %s", err.reason);
		goto out;
	}
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = vs_now();
	st.expires_at = st.signed_at + expires;
	payload = statement_encode(&st, &plen);
	if (!payload || dsse_sign(DSSE_INTOTO_TYPE, (const uint8_t *)payload, plen, gw->sign_key, &env,
				  &err) < 0 || !(json = dsse_encode(env))) {
		reply_error(out, 500, "sign_failed", "%s", err.reason[0] ? err.reason : "out of memory");
		goto out;
	}
	{
		char exp[32];

		time_format_rfc3339(st.expires_at, exp, sizeof(exp));
		snprintf(out->changed, sizeof(out->changed),
			 "signed digest=%s size=%llu template=%s version=%lld expires=%s name=%s",
			 st.digest, (unsigned long long)st.size, st.template_name,
			 (long long)st.template_version, exp, st.subject_name);
	}
	reply_ok(out, 200, json_loads(json, JSON_REJECT_DUPLICATES, NULL));
out:
	free(json);
	free(payload);
	dsse_free(env);
}

const struct route sign_routes[] = {
	{"POST", "/v1/sign", POLICY_SIGN_ROLES, ROUTE_CHANGES_STATE | ROUTE_ANSWER_ONLY,
	 QUORUM_NONE, "gateway.sign", sign_route},
};
const size_t sign_nroutes = sizeof(sign_routes) / sizeof(sign_routes[0]);
