/* SPDX-License-Identifier: Apache-2.0 */
/* Signed policy bundles and the root of trust that verifies them. */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "dsse.h"
#include "jsonx.h"
#include "util.h"

void root_free(struct root_of_trust *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nkeys; i++)
		key_free(r->keys[i].key);
	free(r);
}

static const char *root_key_owner(const struct root_key *k)
{
	return k->owner[0] ? k->owner : k->id;
}

int root_parse(const char *json, size_t len, const char *object, struct root_of_trust **out,
	       struct vs_error *err)
{
	struct root_of_trust *r = NULL;
	json_error_t jerr;
	static const char *const fields[] = {"version", "threshold", "keys", "comment", NULL};
	json_t *root, *keys, *e, *v;
	size_t i;
	int ret = -1;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vs_fail(err, VS_ERR_INPUT, object, "root of trust is not valid JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, object, "root of trust is not a JSON object");
		goto out;
	}
	if (json_check_fields(root, fields, "root of trust", object, err) < 0)
		goto out;
	if (!json_is_integer(json_object_get(root, "version")) ||
	    json_integer_value(json_object_get(root, "version")) < 1) {
		vs_fail(err, VS_ERR_INPUT, object, "version must be a positive integer");
		goto out;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > VS_MAX_ROOT_KEYS) {
		vs_fail(err, VS_ERR_INPUT, object, "keys must be an array of 1..%d root keys", VS_MAX_ROOT_KEYS);
		goto out;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
		goto out;
	}
	json_array_foreach(keys, i, e) {
		/* Only what is understood: a misspelt "Owner" would leave the owner unset, so
		 * that one person's keys counted as distinct owners toward the threshold. */
		static const char *const key_fields[] = {"id", "public_key", "owner", "comment", NULL};
		json_t *id = json_object_get(e, "id"), *pem = json_object_get(e, "public_key"),
		       *owner = json_object_get(e, "owner");
		char where[32];

		snprintf(where, sizeof(where), "root of trust keys[%zu]", i);
		if (!json_is_object(e) || !json_is_string(id) || !json_is_string(pem)) {
			vs_fail(err, VS_ERR_INPUT, object, "keys[%zu] needs string id and public_key", i);
			goto out;
		}
		if (json_check_fields(e, key_fields, where, object, err) < 0)
			goto out;
		if (owner && (!json_is_string(owner) ||
			      json_string_length(owner) >= sizeof(r->keys[i].owner))) {
			vs_fail(err, VS_ERR_INPUT, object,
				"keys[%zu]: owner must be a string of at most %zu bytes", i,
				sizeof(r->keys[i].owner) - 1);
			goto out;
		}
		if (key_from_public_pem(json_string_value(pem), json_string_length(pem), object,
					&r->keys[i].key, err) < 0)
			goto out;
		r->nkeys = i + 1;
		/* The keys, not the ids: one root key in two encodings would meet a 2-of-2 alone. */
		for (size_t j = 0; j < i; j++)
			if (key_same_material(r->keys[j].key, r->keys[i].key)) {
				vs_fail(err, VS_ERR_INPUT, object,
					"keys[%zu] is the same public key as keys[%zu] (keyid %s): a key may be listed once, in any encoding",
					i, j, key_id(r->keys[i].key));
				goto out;
			}
		if (strcmp(key_id(r->keys[i].key), json_string_value(id))) {
			vs_fail(err, VS_ERR_INPUT, object, "keys[%zu]: id does not match its public key (keyid %s)",
				i, key_id(r->keys[i].key));
			goto out;
		}
		memcpy(r->keys[i].id, key_id(r->keys[i].key), KEY_ID_HEX_LEN + 1);
		snprintf(r->keys[i].owner, sizeof(r->keys[i].owner), "%s", owner ? json_string_value(owner) : "");
	}
	v = json_object_get(root, "threshold");
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > (json_int_t)r->nkeys) {
		vs_fail(err, VS_ERR_INPUT, object, "threshold must be an integer in [1, %zu]", r->nkeys);
		goto out;
	}
	r->threshold = (unsigned)json_integer_value(v);
	{
		/* A threshold above the distinct owners could never be met (signatures of one
		 * owner count once): such a root would accept no bundle and no successor. */
		unsigned nowners = 0;

		for (size_t k = 0; k < r->nkeys; k++) {
			size_t j;

			for (j = 0; j < k && strcmp(root_key_owner(&r->keys[j]), root_key_owner(&r->keys[k])); j++)
				;
			nowners += j == k;
		}
		if (r->threshold > nowners) {
			vs_fail(err, VS_ERR_INPUT, object,
				"threshold %u is above the %u distinct owners of the keys: it could never be met",
				r->threshold, nowners);
			goto out;
		}
	}
	r->version = json_integer_value(json_object_get(root, "version"));
	*out = r;
	r = NULL;
	ret = 0;
out:
	root_free(r);
	json_decref(root);
	return ret;
}

int root_load(const char *path, struct root_of_trust **out, struct vs_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (file_read_all(path, VS_MAX_POLICY_BYTES, &buf, &len, err) < 0)
		return -1;
	r = root_parse(buf, len, path, out, err);
	free(buf);
	return r;
}

int bundle_is_envelope(const char *json, size_t len)
{
	json_t *root = json_loadb(json, len, 0, NULL);
	int r = json_is_object(root) && json_object_get(root, "payloadType") != NULL;

	json_decref(root);
	return r;
}

/* Valid signatures in env by keys of root, counted once per owner (the keyid when the owner
 * is unset): a threshold counts distinct owners. */
static unsigned count_root_signatures(const struct root_of_trust *root, const struct dsse_envelope *env)
{
	const struct root_key *counted[VS_MAX_SIGNATURES];
	unsigned n = 0;

	for (size_t i = 0; i < env->nsigs; i++) {
		for (size_t k = 0; k < root->nkeys; k++) {
			int dup = 0;

			if (env->sigs[i].keyid[0] && strcmp(env->sigs[i].keyid, root->keys[k].id))
				continue;
			if (dsse_verify_sig(env, i, root->keys[k].key) < 0)
				continue;
			for (unsigned j = 0; j < n; j++)
				dup |= !strcmp(root_key_owner(counted[j]), root_key_owner(&root->keys[k]));
			if (!dup && n < VS_MAX_SIGNATURES)
				counted[n++] = &root->keys[k];
			break;
		}
	}
	return n;
}

int root_rotate_open(const struct root_of_trust *cur, const char *json, size_t len, const char *object,
		     struct root_of_trust **next, char **payload, size_t *plen, struct vs_error *err)
{
	struct dsse_envelope *env = NULL;
	struct root_of_trust *nr = NULL;
	unsigned old_n, new_n;
	int r = -1;

	if (dsse_parse(json, len, object, &env, err) < 0) {
		err->kind = VS_ERR_DENIED;
		vs_error_prefix(err, "new root of trust");
		return -1;
	}
	if (strcmp(env->payload_type, ROOT_PAYLOAD_TYPE)) {
		vs_fail(err, VS_ERR_DENIED, object, "payloadType \"%.64s\" is not \"%s\"", env->payload_type,
			ROOT_PAYLOAD_TYPE);
		goto out;
	}
	if (root_parse((const char *)env->payload, env->payload_len, object, &nr, err) < 0) {
		err->kind = VS_ERR_DENIED;
		goto out;
	}
	/* TUF: root N+1 exactly, signed by a threshold of root N and by a threshold of itself. */
	if (nr->version != cur->version + 1) {
		vs_fail(err, VS_ERR_DENIED, object,
			"new root of trust has version %lld, the installed one %lld: only version %lld follows it",
			(long long)nr->version, (long long)cur->version, (long long)cur->version + 1);
		goto out;
	}
	old_n = count_root_signatures(cur, env);
	new_n = count_root_signatures(nr, env);
	if (old_n < cur->threshold || new_n < nr->threshold) {
		vs_fail(err, VS_ERR_DENIED, object,
			"new root of trust version %lld has %u of %u signatures of the installed root (version %lld) and %u of %u of its own keys: both thresholds must be met",
			(long long)nr->version, old_n, cur->threshold, (long long)cur->version, new_n,
			nr->threshold);
		goto out;
	}
	*next = nr;
	nr = NULL;
	*payload = (char *)env->payload;
	*plen = env->payload_len;
	env->payload = NULL;
	r = 0;
out:
	root_free(nr);
	dsse_free(env);
	return r;
}

int bundle_open(const struct root_of_trust *root, const char *json, size_t len, const char *object,
		char **payload, size_t *plen, unsigned *valid, struct vs_error *err)
{
	struct dsse_envelope *env = NULL;
	unsigned n = 0;
	int r = -1;

	if (dsse_parse(json, len, object, &env, err) < 0) {
		err->kind = VS_ERR_DENIED;
		vs_error_prefix(err, "policy bundle");
		return -1;
	}
	if (strcmp(env->payload_type, BUNDLE_PAYLOAD_TYPE)) {
		vs_fail(err, VS_ERR_DENIED, object, "payloadType \"%.64s\" is not \"%s\"", env->payload_type,
			BUNDLE_PAYLOAD_TYPE);
		goto out;
	}
	n = count_root_signatures(root, env);
	if (n < root->threshold) {
		vs_fail(err, VS_ERR_DENIED, object,
			"policy bundle has %u valid root signature%s, root of trust requires %u", n,
			n == 1 ? "" : "s", root->threshold);
		goto out;
	}
	*payload = (char *)env->payload;
	*plen = env->payload_len;
	env->payload = NULL;
	if (valid)
		*valid = n;
	r = 0;
out:
	dsse_free(env);
	return r;
}

int64_t bundle_peek_version(const char *json, size_t len)
{
	json_t *root = json_loadb(json, len, 0, NULL), *v;
	int64_t version = 0;

	if (json_is_object(root) && json_is_string(json_object_get(root, "payload"))) {
		uint8_t *raw = NULL;
		size_t rl = 0;

		v = json_object_get(root, "payload");
		if (b64_decode(json_string_value(v), json_string_length(v), 1, &raw, &rl) == 0) {
			json_decref(root);
			root = json_loadb((const char *)raw, rl, 0, NULL);
			free(raw);
		}
	}
	v = json_object_get(root, "version");
	if (json_is_integer(v))
		version = json_integer_value(v);
	json_decref(root);
	return version;
}

void bundle_root_path(const char *policy_path, char *out, size_t outlen)
{
	const char *slash = strrchr(policy_path, '/');

	if (!slash)
		snprintf(out, outlen, "%s", ROOT_FILE_NAME);
	else
		snprintf(out, outlen, "%.*s/%s", (int)(slash - policy_path), policy_path, ROOT_FILE_NAME);
}
