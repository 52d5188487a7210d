/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/sign: the remote signing service; the pipeline sends a digest, the service's key signs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gateway.h"
#include "lib/dsse.h"
#include "lib/keymeta.h"
#include "lib/statement.h"
#include "lib/util.h"

#define SIGN_DEFAULT_EXPIRES_S (365 * 86400)
#define SIGN_MAX_EXPIRES_S (10 * 366 * 86400)

int gateway_sign_key_load(struct gateway *gw, struct vs_error *err)
{
	if (!gw->cfg.signing_key)
		return 0;
	/* A retired, revoked or destroyed key must not start signing again as a service. */
	if (keymeta_check_signable(gw->cfg.signing_key, NULL, err) < 0 ||
	    key_load_private(gw->cfg.signing_key, gw->cfg.signing_passfile, &gw->sign_key, err) < 0 ||
	    keymeta_check_signable(gw->cfg.signing_key, key_id(gw->sign_key), err) < 0)
		return -1;
	return 0;
}

static int is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

/* A template or subject name: printable, no path separators, 1..128 bytes. */
static int sign_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '/' || s[i] == '\\')
			return 0;
	return 1;
}

/* expires: seconds (integer) or a duration string ("365d", "12h"); absent: one year. */
static int get_expires(json_t *v, int64_t *out)
{
	if (!v) {
		*out = SIGN_DEFAULT_EXPIRES_S;
		return 0;
	}
	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (!json_is_string(v) || duration_parse(json_string_value(v), out) < 0)
		return -1;
	return *out > 0 && *out <= SIGN_MAX_EXPIRES_S ? 0 : -1;
}

void sign_route(struct gateway *gw, const struct route *rt, const char *unused, const char *query,
		const char *body, size_t body_len, struct reply *out)
{
	static const char *const fields[] = {"digest", "size", "template", "version", "expires",
					     "name", "format", NULL};
	const struct policy_key *pk;
	struct dsse_envelope *env = NULL;
	struct vs_error err = {0};
	struct statement st;
	json_error_t jerr;
	json_t *req = NULL, *v;
	const char *key, *s;
	char *payload = NULL, *json = NULL;
	size_t plen = 0;
	int64_t expires = 0;

	memset(&st, 0, sizeof(st));
	if (!gw->sign_key) {
		reply_error(out, 503, "not_configured", "this gateway runs without --signing-key");
		return;
	}
	req = json_loadb(body ? body : "", body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(req)) {
		reply_error(out, 400, "bad_request", "body is not a JSON object: %s", jerr.text);
		goto out;
	}
	json_object_foreach(req, key, v) {
		const char *const *f;

		for (f = fields; *f && strcmp(*f, key); f++)
			;
		if (!*f) {
			reply_error(out, 400, "bad_request", "unknown field \"%.64s\"", key);
			goto out;
		}
	}
	s = json_string_value(json_object_get(req, "digest"));
	if (!s || !is_hex64(s)) {
		reply_error(out, 400, "bad_request", "digest must be 64 lowercase hex digits (vmseal-merkle-sha256)");
		goto out;
	}
	memcpy(st.digest, s, 65);
	v = json_object_get(req, "size");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		reply_error(out, 400, "bad_request", "size must be a non-negative integer (bytes)");
		goto out;
	}
	st.size = (uint64_t)json_integer_value(v);
	s = json_string_value(json_object_get(req, "template"));
	if (!s || !sign_name_ok(s)) {
		reply_error(out, 400, "bad_request", "template must be a name of 1..128 printable bytes without /");
		goto out;
	}
	snprintf(st.template_name, sizeof(st.template_name), "%s", s);
	v = json_object_get(req, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		reply_error(out, 400, "bad_request", "version must be a non-negative integer");
		goto out;
	}
	st.template_version = json_integer_value(v);
	if (get_expires(json_object_get(req, "expires"), &expires) < 0) {
		reply_error(out, 400, "bad_request", "expires must be seconds or a duration like 365d, at most 10 years");
		goto out;
	}
	s = json_string_value(json_object_get(req, "name"));
	if (json_object_get(req, "name") && (!s || !sign_name_ok(s))) {
		reply_error(out, 400, "bad_request", "name must be a file name of 1..128 printable bytes");
		goto out;
	}
	snprintf(st.subject_name, sizeof(st.subject_name), "%s", s ? s : st.template_name);
	s = json_string_value(json_object_get(req, "format"));
	if (json_object_get(req, "format") && (!s || (strcmp(s, "qcow2") && strcmp(s, "raw")))) {
		reply_error(out, 400, "bad_request", "format must be qcow2 or raw");
		goto out;
	}
	snprintf(st.format, sizeof(st.format), "%s", s ? s : "qcow2");
	/* The host's own policy may know the service key: then it must still be allowed to sign. */
	pthread_rwlock_rdlock(&gw->policy_lock);
	pk = policy_find_key(gw->policy, key_id(gw->sign_key));
	if (pk && policy_key_check(pk, USAGE_TEMPLATE, 0, vs_now(), &err) < 0) {
		pthread_rwlock_unlock(&gw->policy_lock);
		reply_error(out, 403, "key_refused", "the service's signing key: %s", err.reason);
		goto out;
	}
	pthread_rwlock_unlock(&gw->policy_lock);
	st.chunk_size = VS_CHUNK_SIZE;
	st.signed_at = vs_now();
	st.expires_at = st.signed_at + expires;
	payload = statement_encode(&st, &plen);
	if (!payload || dsse_sign(DSSE_INTOTO_TYPE, (const uint8_t *)payload, plen, gw->sign_key, &env,
				  &err) < 0 || !(json = dsse_encode(env))) {
		reply_error(out, 500, "sign_failed", "%s", err.reason[0] ? err.reason : "out of memory");
		goto out;
	}
	json_decref(out->body);
	out->status = 200;
	out->body = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	if (!out->body)
		reply_error(out, 500, "internal", "out of memory");
out:
	free(json);
	free(payload);
	dsse_free(env);
	json_decref(req);
}
