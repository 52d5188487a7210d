/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-sign --remote: the digest is computed here, the signature is made by the service. */
#include "signer/sign_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "lib/gwclient.h"
#include "lib/limits.h"

int sign_remote(const struct sign_remote_opts *o, const struct vs_key *admin,
		const struct statement *want, int64_t expires, struct dsse_envelope **env,
		struct vs_error *err)
{
	struct gwclient_opts go = {.url = o->url, .cacert = o->cacert, .cert = o->cert,
				   .cert_key = o->cert_key};
	struct gwclient_response resp = {0};
	struct vs_key *gwpub = NULL, *signer = NULL;
	struct gwclient *c = NULL;
	struct statement got;
	json_t *req = NULL;
	char *body = NULL;
	int r = -1;

	if ((o->gateway_pub && key_load_public(o->gateway_pub, &gwpub, err) < 0) ||
	    (o->signer_pub && key_load_public(o->signer_pub, &signer, err) < 0))
		goto out;
	go.gateway_key = gwpub;
	req = json_pack("{s:s, s:I, s:s, s:I, s:I, s:s, s:s}", "digest", want->digest, "size",
			(json_int_t)want->size, "template", want->template_name, "version",
			(json_int_t)want->template_version, "expires", (json_int_t)expires, "name",
			want->subject_name, "format", want->format);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!body) {
		vs_fail(err, VS_ERR_INTERNAL, "request", "cannot encode (names must be UTF-8)");
		goto out;
	}
	if (gwclient_new(&go, &c, err) < 0 ||
	    gwclient_call(c, &admin, 1, "POST", "/v1/sign", body, strlen(body), &resp, err) < 0)
		goto out;
	if (resp.status != 200) {
		json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);
		const char *code = json_string_value(json_object_get(j, "error"));
		const char *detail = json_string_value(json_object_get(j, "detail"));

		vs_fail(err, resp.status == 401 || resp.status == 403 ? VS_ERR_DENIED : VS_ERR_IO, o->url,
			"signing service answered HTTP %ld %s%s%s", resp.status, code ? code : "",
			detail ? ": " : "", detail ? detail : "");
		json_decref(j);
		goto out;
	}
	if (dsse_parse(resp.body, resp.body_len, "signing service answer", env, err) < 0)
		goto out;
	if (strcmp((*env)->payload_type, DSSE_INTOTO_TYPE) || (*env)->nsigs != 1 ||
	    statement_parse((*env)->payload, (*env)->payload_len, "signing service answer", &got, err) < 0) {
		if (!err->reason[0])
			vs_fail(err, VS_ERR_INPUT, o->url, "the answer is not one in-toto signature");
		goto out;
	}
	/* The service must have signed what was asked, nothing else. */
	if (got.predicate != want->predicate || strcmp(got.digest, want->digest) || got.size != want->size ||
	    strcmp(got.template_name, want->template_name) ||
	    got.template_version != want->template_version ||
	    strcmp(got.subject_name, want->subject_name) || strcmp(got.format, want->format) ||
	    got.expires_at - got.signed_at != expires) {
		vs_fail(err, VS_ERR_DENIED, o->url, "the service signed a statement other than the one asked for");
		goto out;
	}
	if (signer && (strcmp((*env)->sigs[0].keyid, key_id(signer)) || dsse_verify_sig(*env, 0, signer) < 0)) {
		vs_fail(err, VS_ERR_DENIED, o->url, "the envelope's signature does not verify under %s", o->signer_pub);
		goto out;
	}
	r = 0;
out:
	if (r < 0) {
		dsse_free(*env);
		*env = NULL;
	}
	gwclient_response_free(&resp);
	gwclient_free(c);
	json_decref(req);
	free(body);
	key_free(gwpub);
	key_free(signer);
	return r;
}
