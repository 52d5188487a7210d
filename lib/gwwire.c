/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's wire format: a call's signatures, the answer's signature and its check. */
#include "gwwire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#include "sf.h"
#include "util.h"

const char *const gwwire_call_components[GWWIRE_CALL_NCOMPONENTS] = {
	"@method", "@authority", "@path", "@query", "content-digest"};

const char *const gwwire_answer_components[GWWIRE_ANSWER_NCOMPONENTS] = {
	"@status", "content-type", "content-digest", "@method;req", "@path;req", "signature;req"};

/* One signature of a call, labelled sig<i + 1>. */
static int sign_one(const struct http_msg *m, const struct vs_key *key, size_t i,
		    const struct gwwire_call_params *p, size_t ncomp, char **si, char **sg,
		    struct vs_error *err)
{
	uint8_t rnd[GWWIRE_NONCE_BYTES];
	char nonce[2 * GWWIRE_NONCE_BYTES + 1], label[16];
	int64_t created = p->created ? p->created : p->now;
	struct httpsig_sign_params sp = {
		.label = label, .components = p->components ? p->components : gwwire_call_components,
		.ncomponents = ncomp, .keyid = p->keyid, .alg_name = p->alg,
		.created = p->omit & GWWIRE_OMIT_CREATED ? 0 : created,
		.expires = p->omit & GWWIRE_OMIT_EXPIRES ? 0
			   : p->expires			 ? p->expires
							 : created + p->expires_in,
		.nonce = p->omit & GWWIRE_OMIT_NONCE ? NULL : p->nonce ? p->nonce : nonce};

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return vs_fail(err, VS_ERR_INTERNAL, "nonce", "no randomness");
	hex_encode(rnd, sizeof(rnd), nonce);
	snprintf(label, sizeof(label), "sig%zu", i + 1);
	return httpsig_sign(m, key, &sp, si, sg, err);
}

int gwwire_sign_call(const struct http_msg *m, const struct vs_key *const *keys, size_t nkeys,
		     const struct gwwire_call_params *p, char **sig_input, char **sig,
		     struct vs_error *err)
{
	struct sf_buf si = {0}, sg = {0};
	const char *digest = NULL;
	size_t ncomp = p->ncomponents;

	*sig_input = *sig = NULL;
	if (nkeys == 0 || nkeys > HTTPSIG_MAX_SIGS)
		return vs_fail(err, VS_ERR_USAGE, "keys", "1..%d keys sign a call", HTTPSIG_MAX_SIGS);
	if (!p->components)
		ncomp = m->fields(m->fields_ctx, "content-digest", &digest, 1) ? GWWIRE_CALL_NCOMPONENTS
									 : GWWIRE_CALL_NREQUIRED;
	for (size_t i = 0; i < nkeys; i++) {
		char *one_si = NULL, *one_sg = NULL;

		if (sign_one(m, keys[i], i, p, ncomp, &one_si, &one_sg, err) < 0) {
			sf_buf_free(&si);
			sf_buf_free(&sg);
			return -1;
		}
		if (i) {
			sf_buf_puts(&si, ", ");
			sf_buf_puts(&sg, ", ");
		}
		sf_buf_puts(&si, one_si);
		sf_buf_puts(&sg, one_sg);
		free(one_si);
		free(one_sg);
	}
	*sig_input = sf_buf_take(&si, NULL);
	*sig = sf_buf_take(&sg, NULL);
	if (!*sig_input || !*sig) {
		free(*sig_input);
		free(*sig);
		*sig_input = *sig = NULL;
		return vs_fail(err, VS_ERR_INTERNAL, "signature", "out of memory");
	}
	return 0;
}

int gwwire_sign_answer(const struct http_msg *resp, const struct vs_key *key, int64_t now,
		       char **sig_input, char **sig, struct vs_error *err)
{
	const struct http_msg *req = resp->request;
	struct httpsig_sign_params sp = {.label = GWWIRE_ANSWER_LABEL,
					 .components = gwwire_answer_components,
					 .ncomponents = GWWIRE_ANSWER_NCOMPONENTS, .created = now,
					 .with_alg = 1};
	const char *sigv = NULL;

	/* A call without a usable Signature field gets an answer that cannot cover it. */
	if (req && req->method && req->authority &&
	    req->fields(req->fields_ctx, "signature", &sigv, 1) != 0 &&
	    httpsig_sign(resp, key, &sp, sig_input, sig, err) == 0)
		return 0;
	sp.ncomponents = GWWIRE_ANSWER_NCOMPONENTS - 1;
	if (httpsig_sign(resp, key, &sp, sig_input, sig, err) == 0)
		return 0;
	sp.ncomponents = 3; /* no usable request line: status and body only */
	return httpsig_sign(resp, key, &sp, sig_input, sig, err);
}

/* The only key an answer may be signed with: the gateway's, under its own keyid. */
static int gateway_key_lookup(void *ctx, const char *keyid, const struct vs_key **key,
			      const void **ref, struct vs_error *err)
{
	const struct vs_key *k = ctx;

	(void)ref;
	if (strcmp(keyid, key_id(k)))
		return vs_fail(err, VS_ERR_DENIED, "response", "signed by keyid %.16s, not by %.16s",
			       keyid, key_id(k));
	*key = k;
	return 0;
}

int gwwire_check_answer(const struct gwwire_answer *a, const struct http_msg *req,
			const struct vs_key *gateway_key, int64_t now, struct vs_error *err)
{
	struct http_field_list fl = {a->fields, a->nfields};
	struct http_msg resp = {.status = a->status, .fields = http_field_list_get,
				.fields_ctx = &fl, .request = req};
	struct httpsig_verify_opts o = {
		.key_lookup = gateway_key_lookup, .key_ctx = (void *)gateway_key,
		.required = gwwire_answer_components, .nrequired = GWWIRE_ANSWER_NCOMPONENTS,
		.require_created = 1, .require_keyid = 1, .now = now,
		.max_skew_s = VS_RESPONSE_SKEW_S, .body = a->body, .body_len = a->body_len,
		.digest_if_body = 1, .label = GWWIRE_ANSWER_LABEL};
	struct httpsig_result res;

	if (a->fields_over || a->nfields > VS_MAX_RESPONSE_HEADERS)
		return vs_fail(err, VS_ERR_DENIED, "response", "too many header fields");
	if (a->body_len > VS_MAX_RESPONSE_BYTES)
		return vs_fail(err, VS_ERR_DENIED, "response", "response too large");
	if (httpsig_verify(&resp, &o, &res, err) < 0) {
		vs_error_prefix(err, "response signature (%s)", res.code);
		err->kind = VS_ERR_DENIED;
		return -1;
	}
	return 0;
}
