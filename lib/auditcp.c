/* SPDX-License-Identifier: Apache-2.0 */
/* Signed audit checkpoints (see auditcp.h). */
#include "auditcp.h"

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "dsse.h"
#include "jsonx.h"
#include "util.h"

char *audit_checkpoint_sign(const char *log_name, const struct audit_head *h, int64_t now,
			    const struct vs_key *key, struct vs_error *err)
{
	struct dsse_envelope *env = NULL;
	char hex[VS_SHA256_HEX_BYTES], when[32], *payload = NULL, *out = NULL;
	json_t *o;

	hex_encode(h->hash, 32, hex);
	time_format_rfc3339(now, when, sizeof(when));
	o = json_pack("{s:s, s:I, s:s, s:s}", "log", log_name, "seq", (json_int_t)h->seq, "head", hex,
		      "time", when);
	payload = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!payload) {
		vs_fail(err, VS_ERR_INTERNAL, log_name, "cannot encode the checkpoint (log name not UTF-8?)");
		return NULL;
	}
	if (dsse_sign(AUDIT_CHECKPOINT_TYPE, (const uint8_t *)payload, strlen(payload), key, &env, err) == 0) {
		out = dsse_encode(env);
		if (!out)
			vs_fail(err, VS_ERR_INTERNAL, log_name, "cannot encode the checkpoint");
	}
	dsse_free(env);
	free(payload);
	return out;
}

int audit_checkpoint_parse_payload(const char *json, size_t len, const char *object,
				   struct audit_checkpoint *out, struct vs_error *err)
{
	static const char *const fields[] = {"log", "seq", "head", "time", NULL};
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!root)
		return vs_fail(err, VS_ERR_INPUT, object, "checkpoint payload is not valid JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, object, "checkpoint payload is not a JSON object");
		goto out;
	}
	if (json_check_fields(root, fields, "checkpoint", object, err) < 0)
		goto out;
	v = json_object_get(root, "log");
	if (!json_is_string(v) || json_string_length(v) >= sizeof(out->log)) {
		vs_fail(err, VS_ERR_INPUT, object, "checkpoint: log must be a string");
		goto out;
	}
	memcpy(out->log, json_string_value(v), json_string_length(v) + 1);
	v = json_object_get(root, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		vs_fail(err, VS_ERR_INPUT, object, "checkpoint: seq must be a positive integer");
		goto out;
	}
	out->head.seq = (uint64_t)json_integer_value(v);
	v = json_object_get(root, "head");
	if (!json_is_string(v) || json_string_length(v) != 64 ||
	    strspn(json_string_value(v), "0123456789abcdef") != 64 ||
	    hex_decode(json_string_value(v), out->head.hash, 32) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "checkpoint: head must be 64 lowercase hex digits");
		goto out;
	}
	v = json_object_get(root, "time");
	if (!json_is_string(v) || time_parse_rfc3339(json_string_value(v), &out->time) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "checkpoint: time is not an RFC 3339 time");
		goto out;
	}
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int audit_checkpoint_open(const char *json, size_t len, const char *object, const struct vs_key *pub,
			  struct audit_checkpoint *out, struct vs_error *err)
{
	struct dsse_envelope *env = NULL;
	int ret = -1, good = 0;

	memset(out, 0, sizeof(*out));
	if (dsse_parse(json, len, object, &env, err) < 0)
		return -1;
	if (strcmp(env->payload_type, AUDIT_CHECKPOINT_TYPE)) {
		vs_fail(err, VS_ERR_INPUT, object, "payloadType \"%.64s\" is not \"%s\"", env->payload_type,
			AUDIT_CHECKPOINT_TYPE);
		goto out;
	}
	for (size_t i = 0; i < env->nsigs && !good; i++)
		good = dsse_verify_sig(env, i, pub) == 0;
	if (!good) {
		vs_fail(err, VS_ERR_DENIED, object, "no signature by key %.16s… verifies the checkpoint",
			key_id(pub));
		goto out;
	}
	if (audit_checkpoint_parse_payload((const char *)env->payload, env->payload_len, object, out, err) < 0)
		goto out;
	snprintf(out->keyid, sizeof(out->keyid), "%s", key_id(pub));
	ret = 0;
out:
	dsse_free(env);
	return ret;
}
