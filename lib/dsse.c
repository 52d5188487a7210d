/* SPDX-License-Identifier: Apache-2.0 */
/* DSSE envelopes (PAE, strict parse, sign, countersign) over jansson and lib/key. */
#include "dsse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "util.h"

int dsse_pae(const char *type, const uint8_t *payload, size_t len, uint8_t **out, size_t *outlen)
{
	char head[128];
	size_t tl = strlen(type), hl, total;
	uint8_t *buf;
	int n;

	n = snprintf(head, sizeof(head), "DSSEv1 %zu ", tl);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	hl = (size_t)n;
	char lenbuf[32];
	int ln = snprintf(lenbuf, sizeof(lenbuf), " %zu ", len);
	total = hl + tl + (size_t)ln + len;
	buf = malloc(total ? total : 1);
	if (!buf)
		return -1;
	memcpy(buf, head, hl);
	memcpy(buf + hl, type, tl);
	memcpy(buf + hl + tl, lenbuf, (size_t)ln);
	if (len)
		memcpy(buf + hl + tl + (size_t)ln, payload, len);
	*out = buf;
	*outlen = total;
	return 0;
}

void dsse_free(struct dsse_envelope *env)
{
	if (!env)
		return;
	for (size_t i = 0; i < env->nsigs; i++)
		free(env->sigs[i].sig);
	free(env->payload_type);
	free(env->payload);
	free(env);
}


int dsse_parse(const char *json, size_t len, const char *object, struct dsse_envelope **out,
	       struct vs_error *err)
{
	struct dsse_envelope *env = NULL;
	json_error_t jerr;
	json_t *root = NULL, *sigs, *v;
	const char *key;
	int r = -1;

	if (len > VS_MAX_ATTESTATION_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "attestation is %zu bytes, limit is %u", len,
			       VS_MAX_ATTESTATION_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vs_fail(err, VS_ERR_INPUT, object, "not valid JSON: %s (line %d)", jerr.text,
			       jerr.line);
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, object, "envelope is not a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "payloadType") && strcmp(key, "payload") && strcmp(key, "signatures")) {
			vs_fail(err, VS_ERR_INPUT, object, "unknown envelope field \"%.64s\"", key);
			goto out;
		}
	}
	env = calloc(1, sizeof(*env));
	if (!env) {
		vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
		goto out;
	}
	v = json_object_get(root, "payloadType");
	if (!json_is_string(v)) {
		vs_fail(err, VS_ERR_INPUT, object, "payloadType missing or not a string");
		goto out;
	}
	env->payload_type = strdup(json_string_value(v));
	v = json_object_get(root, "payload");
	if (!json_is_string(v)) {
		vs_fail(err, VS_ERR_INPUT, object, "payload missing or not a string");
		goto out;
	}
	{
		uint8_t *raw = NULL;
		size_t rl = 0;

		if (b64_decode(json_string_value(v), json_string_length(v), 1, &raw, &rl) < 0) {
			vs_fail(err, VS_ERR_INPUT, object, "payload is not valid base64");
			goto out;
		}
		env->payload = realloc(raw, rl + 1);
		if (!env->payload) {
			free(raw);
			vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
			goto out;
		}
		env->payload[rl] = '\0';
		env->payload_len = rl;
	}
	sigs = json_object_get(root, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) == 0) {
		vs_fail(err, VS_ERR_INPUT, object, "signatures missing or empty");
		goto out;
	}
	if (json_array_size(sigs) > VS_MAX_SIGNATURES) {
		vs_fail(err, VS_ERR_INPUT, object, "%zu signatures, limit is %d", json_array_size(sigs),
			VS_MAX_SIGNATURES);
		goto out;
	}
	for (size_t i = 0; i < json_array_size(sigs); i++) {
		json_t *s = json_array_get(sigs, i), *kid, *sig;
		struct dsse_signature *ds = &env->sigs[i];

		if (!json_is_object(s)) {
			vs_fail(err, VS_ERR_INPUT, object, "signature %zu is not an object", i + 1);
			goto out;
		}
		json_object_foreach(s, key, v) {
			if (strcmp(key, "keyid") && strcmp(key, "sig")) {
				vs_fail(err, VS_ERR_INPUT, object, "signature %zu: unknown field \"%.64s\"",
					i + 1, key);
				goto out;
			}
		}
		kid = json_object_get(s, "keyid");
		sig = json_object_get(s, "sig");
		if (kid && !json_is_string(kid)) {
			vs_fail(err, VS_ERR_INPUT, object, "signature %zu: keyid is not a string", i + 1);
			goto out;
		}
		if (kid && json_string_length(kid) > 0) {
			if (!(strnlen(json_string_value(kid), KEY_ID_HEX_LEN + 1) == KEY_ID_HEX_LEN &&
			      vs_is_lower_hex(json_string_value(kid), KEY_ID_HEX_LEN))) {
				vs_fail(err, VS_ERR_INPUT, object,
					"signature %zu: keyid \"%.80s\" is not 64 lowercase hex digits", i + 1,
					json_string_value(kid));
				goto out;
			}
			memcpy(ds->keyid, json_string_value(kid), KEY_ID_HEX_LEN + 1);
		}
		if (!json_is_string(sig) ||
		    b64_decode(json_string_value(sig), json_string_length(sig), 1, &ds->sig, &ds->siglen) < 0 ||
		    ds->siglen == 0) {
			/* not counted in nsigs yet, so dsse_free would not see it */
			free(ds->sig);
			ds->sig = NULL;
			vs_fail(err, VS_ERR_INPUT, object, "signature %zu: sig missing or not valid base64",
				i + 1);
			goto out;
		}
		env->nsigs++;
	}
	*out = env;
	env = NULL;
	r = 0;
out:
	dsse_free(env);
	json_decref(root);
	return r;
}

static int sign_into(struct dsse_envelope *env, const struct vs_key *key, struct vs_error *err)
{
	uint8_t *pae = NULL;
	size_t paelen = 0;
	struct dsse_signature *ds;
	int r;

	if (env->nsigs >= VS_MAX_SIGNATURES)
		return vs_fail(err, VS_ERR_INPUT, "envelope", "already has %d signatures", VS_MAX_SIGNATURES);
	for (size_t i = 0; i < env->nsigs; i++)
		if (!strcmp(env->sigs[i].keyid, key_id(key)))
			return vs_fail(err, VS_ERR_INPUT, key_id(key),
				       "this key already signed the envelope (signature %zu)", i + 1);
	if (dsse_pae(env->payload_type, env->payload, env->payload_len, &pae, &paelen) < 0)
		return vs_fail(err, VS_ERR_INTERNAL, "envelope", "out of memory");
	ds = &env->sigs[env->nsigs];
	r = key_sign(key, NULL, pae, paelen, &ds->sig, &ds->siglen, err);
	free(pae);
	if (r < 0)
		return -1;
	memcpy(ds->keyid, key_id(key), KEY_ID_HEX_LEN + 1);
	env->nsigs++;
	return 0;
}

int dsse_sign(const char *type, const uint8_t *payload, size_t len, const struct vs_key *key,
	      struct dsse_envelope **out, struct vs_error *err)
{
	struct dsse_envelope *env = calloc(1, sizeof(*env));

	if (!env || !(env->payload_type = strdup(type)) || !(env->payload = malloc(len + 1))) {
		dsse_free(env);
		return vs_fail(err, VS_ERR_INTERNAL, "envelope", "out of memory");
	}
	memcpy(env->payload, payload, len);
	env->payload[len] = '\0';
	env->payload_len = len;
	if (sign_into(env, key, err) < 0) {
		dsse_free(env);
		return -1;
	}
	*out = env;
	return 0;
}

int dsse_append(struct dsse_envelope *env, const struct vs_key *key, struct vs_error *err)
{
	return sign_into(env, key, err);
}

int dsse_verify_sig(const struct dsse_envelope *env, size_t i, const struct vs_key *key)
{
	uint8_t *pae = NULL;
	size_t paelen = 0;
	int r;

	if (i >= env->nsigs ||
	    dsse_pae(env->payload_type, env->payload, env->payload_len, &pae, &paelen) < 0)
		return -1;
	r = key_verify(key, NULL, pae, paelen, env->sigs[i].sig, env->sigs[i].siglen, 0);
	free(pae);
	return r;
}

char *dsse_encode(const struct dsse_envelope *env)
{
	json_t *root = json_object(), *sigs = json_array();
	char *payload = b64_encode(env->payload, env->payload_len), *s = NULL, *out = NULL;

	if (!root || !sigs || !payload)
		goto out;
	json_object_set_new(root, "payloadType", json_string(env->payload_type));
	json_object_set_new(root, "payload", json_string(payload));
	for (size_t i = 0; i < env->nsigs; i++) {
		char *b = b64_encode(env->sigs[i].sig, env->sigs[i].siglen);

		if (!b)
			goto out;
		json_array_append_new(sigs, json_pack("{s:s, s:s}", "keyid", env->sigs[i].keyid, "sig", b));
		free(b);
	}
	json_object_set(root, "signatures", sigs);
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s && (out = malloc(strlen(s) + 2)))
		sprintf(out, "%s\n", s);
out:
	free(s);
	free(payload);
	json_decref(sigs);
	json_decref(root);
	return out;
}
