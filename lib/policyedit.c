/* SPDX-License-Identifier: Apache-2.0 */
/* Policy edits for rotate and revoke: JSON-preserving, validated, atomic with a backup. */
#include "policyedit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>

#include "limits.h"
#include "policy.h"
#include "util.h"


struct policy_doc {
	char path[VS_MAX_PATH_BYTES];
	char *orig; /* the bytes as read, for the .bak and the changed-under-us check */
	size_t orig_len;
	json_t *root;
	int edited;
	char changes[VS_MAX_POLICYEDIT_CHANGES_BYTES];
};

static void note(struct policy_doc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct policy_doc *d, const char *fmt, ...)
{
	size_t n = strlen(d->changes);
	va_list ap;

	if (n + 1 >= sizeof(d->changes))
		return;
	va_start(ap, fmt);
	vsnprintf(d->changes + n, sizeof(d->changes) - n, fmt, ap);
	va_end(ap);
}

static int check(const char *json, size_t len, const char *object, struct vs_error *err)
{
	struct policy *p = NULL;
	int r = policy_parse(json, len, object, &p, err);

	policy_free(p);
	return r;
}

int policy_doc_load(const char *path, struct policy_doc **out, struct vs_error *err)
{
	struct policy_doc *d = calloc(1, sizeof(*d));
	json_error_t jerr;

	if (!d)
		return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
	if (strlen(path) >= sizeof(d->path)) {
		free(d);
		return vs_fail(err, VS_ERR_USAGE, path, "path too long");
	}
	strcpy(d->path, path);
	if (file_read_all(path, VS_MAX_POLICY_BYTES, &d->orig, &d->orig_len, err) < 0 ||
	    check(d->orig, d->orig_len, path, err) < 0)
		goto fail;
	d->root = json_loadb(d->orig, d->orig_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!d->root) {
		vs_fail(err, VS_ERR_INPUT, path, "policy is not valid JSON: %s", jerr.text);
		goto fail;
	}
	*out = d;
	return 0;
fail:
	policy_doc_free(d);
	return -1;
}

static json_t *find_key(const struct policy_doc *d, const char *keyid)
{
	json_t *keys = json_object_get(d->root, "keys"), *e;
	size_t i;

	json_array_foreach(keys, i, e) {
		json_t *id = json_object_get(e, "id");

		if (json_is_string(id) && !strcmp(json_string_value(id), keyid))
			return e;
	}
	return NULL;
}

int policy_doc_has_key(const struct policy_doc *d, const char *keyid)
{
	return find_key(d, keyid) != NULL;
}

static int bump_version(struct policy_doc *d)
{
	json_t *v = json_object_get(d->root, "version");

	if (d->edited)
		return 0;
	d->edited = 1;
	note(d, "policy version %lld -> %lld\n", (long long)json_integer_value(v),
	     (long long)json_integer_value(v) + 1);
	return json_object_set_new(d->root, "version", json_integer(json_integer_value(v) + 1));
}

static const char *status_of(json_t *entry)
{
	json_t *s = json_object_get(entry, "status");

	return json_is_string(s) ? json_string_value(s) : "active";
}

int policy_doc_rotate(struct policy_doc *d, const char *old_id, const struct vs_key *newkey,
		      int64_t now, struct vs_error *err)
{
	json_t *old = find_key(d, old_id), *entry = NULL, *keys, *tmpls, *t;
	const char *copy[] = {"owner", "usage", "roles"};
	char created[32], *pem = NULL;
	size_t i;
	int r = -1;

	if (!old)
		return vs_fail(err, VS_ERR_INPUT, d->path, "keyid %.16s… (the key being rotated) is not in the policy",
			       old_id);
	if (find_key(d, key_id(newkey)))
		return vs_fail(err, VS_ERR_INPUT, d->path, "keyid %.16s… is already in the policy",
			       key_id(newkey));
	pem = key_public_pem(newkey);
	entry = json_object();
	if (!pem || !entry || bump_version(d) < 0) {
		vs_fail(err, VS_ERR_INTERNAL, d->path, "out of memory");
		goto out;
	}
	time_format_rfc3339(now, created, sizeof(created));
	json_object_set_new(entry, "id", json_string(key_id(newkey)));
	json_object_set_new(entry, "public_key", json_string(pem));
	for (i = 0; i < sizeof(copy) / sizeof(copy[0]); i++)
		if (json_object_get(old, copy[i]))
			json_object_set_new(entry, copy[i], json_deep_copy(json_object_get(old, copy[i])));
	json_object_set_new(entry, "status", json_string("active"));
	json_object_set_new(entry, "created", json_string(created));
	keys = json_object_get(d->root, "keys");
	if (json_array_append(keys, entry) < 0) {
		vs_fail(err, VS_ERR_INTERNAL, d->path, "out of memory");
		goto out;
	}
	note(d, "add key %s (active, %s) with the owner, usage and roles of %.16s…\n", key_id(newkey),
	     key_alg_name(key_alg(newkey)), old_id);
	if (!strcmp(status_of(old), "active")) {
		json_object_set_new(old, "status", json_string("retired"));
		json_object_set_new(old, "retired_at", json_string(created));
		note(d, "key %s: status active -> retired at %s (verifies what it signed until then, signs nothing new)\n",
		     old_id, created);
	} else {
		note(d, "key %s: status stays %s\n", old_id, status_of(old));
	}
	tmpls = json_object_get(d->root, "templates");
	json_array_foreach(tmpls, i, t) {
		json_t *tk = json_object_get(t, "keys"), *e;
		size_t j;
		int has_old = 0;

		json_array_foreach(tk, j, e)
			if (json_is_string(e) && !strcmp(json_string_value(e), old_id))
				has_old = 1;
		if (!has_old)
			continue;
		json_array_append_new(tk, json_string(key_id(newkey)));
		note(d, "templates[%zu] \"%s\": trust %.16s… beside %.16s…\n", i,
		     json_string_value(json_object_get(t, "match")), key_id(newkey), old_id);
	}
	r = 0;
out:
	json_decref(entry);
	free(pem);
	return r;
}

int policy_doc_rotate_plan(struct policy_doc *d, const char *old_id, enum key_alg alg,
			   struct vs_error *err)
{
	json_t *old = find_key(d, old_id), *tmpls, *t, *v;
	size_t i;

	if (!old)
		return vs_fail(err, VS_ERR_INPUT, d->path, "keyid %.16s… (the key being rotated) is not in the policy",
			       old_id);
	v = json_object_get(d->root, "version");
	note(d, "policy version %lld -> %lld\n", (long long)json_integer_value(v),
	     (long long)json_integer_value(v) + 1);
	note(d, "add key NEW (active, %s) with the owner, usage and roles of %.16s…\n",
	     key_alg_name(alg), old_id);
	if (!strcmp(status_of(old), "active"))
		note(d, "key %s: status active -> retired (verifies what it signed, signs nothing new)\n",
		     old_id);
	else
		note(d, "key %s: status stays %s\n", old_id, status_of(old));
	tmpls = json_object_get(d->root, "templates");
	json_array_foreach(tmpls, i, t) {
		json_t *tk = json_object_get(t, "keys"), *e;
		size_t j;

		json_array_foreach(tk, j, e)
			if (json_is_string(e) && !strcmp(json_string_value(e), old_id)) {
				note(d, "templates[%zu] \"%s\": trust NEW beside %.16s…\n", i,
				     json_string_value(json_object_get(t, "match")), old_id);
				break;
			}
	}
	return 0;
}

int policy_doc_revoke(struct policy_doc *d, const char *keyid, const char *reason, int64_t now,
		      struct vs_error *err)
{
	json_t *k = find_key(d, keyid);
	char t[32];

	if (!k)
		return vs_fail(err, VS_ERR_INPUT, d->path, "keyid %.16s… is not in the policy", keyid);
	if (!strcmp(status_of(k), "revoked")) {
		note(d, "key %s: already revoked, nothing to do\n", keyid);
		return 1;
	}
	if (bump_version(d) < 0)
		return vs_fail(err, VS_ERR_INTERNAL, d->path, "out of memory");
	time_format_rfc3339(now, t, sizeof(t));
	note(d, "key %s: status %s -> revoked (verifies nothing from now on), reason \"%s\"\n", keyid,
	     status_of(k), reason);
	if (json_object_set_new(k, "status", json_string("revoked")) < 0 ||
	    json_object_set_new(k, "revoked_at", json_string(t)) < 0 ||
	    json_object_set_new(k, "reason", json_string(reason)) < 0)
		return vs_fail(err, VS_ERR_INPUT, d->path, "cannot set the reason (not UTF-8?)");
	return 0;
}

const char *policy_doc_changes(const struct policy_doc *d)
{
	return d->changes;
}

char *policy_doc_encode(const struct policy_doc *d, struct vs_error *err)
{
	char *s = json_dumps(d->root, JSON_INDENT(2) | JSON_PRESERVE_ORDER), *line;
	size_t n;

	if (!s) {
		vs_fail(err, VS_ERR_INTERNAL, d->path, "cannot encode policy");
		return NULL;
	}
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		vs_fail(err, VS_ERR_INTERNAL, d->path, "out of memory");
		return NULL;
	}
	memcpy(line + n, "\n", 2);
	if (check(line, n + 1, d->path, err) < 0) {
		vs_error_prefix(err, "edited policy would not load");
		free(line);
		return NULL;
	}
	return line;
}

int policy_doc_save(const struct policy_doc *d, struct vs_error *err)
{
	char bak[VS_MAX_PATH_BYTES + 8], *now = NULL, *s = NULL;
	size_t now_len = 0;
	struct stat st;
	int r = -1;

	if (snprintf(bak, sizeof(bak), "%s.bak", d->path) >= (int)sizeof(bak))
		return vs_fail(err, VS_ERR_USAGE, d->path, "path too long");
	s = policy_doc_encode(d, err);
	if (!s)
		return -1;
	/* Someone else's edit between our read and our write would be lost: refuse instead. */
	if (file_read_all(d->path, VS_MAX_POLICY_BYTES, &now, &now_len, err) < 0)
		goto out;
	if (now_len != d->orig_len || memcmp(now, d->orig, now_len)) {
		vs_fail(err, VS_ERR_IO, d->path, "changed since it was read; run again");
		goto out;
	}
	if (stat(d->path, &st) < 0) {
		vs_fail(err, VS_ERR_IO, d->path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (file_write_atomic(bak, d->orig, d->orig_len, st.st_mode & 07777, 1, err) < 0)
		goto out;
	fault_point("policy-after-bak");
	if (file_write_atomic(d->path, s, strlen(s), st.st_mode & 07777, 1, err) < 0)
		goto out;
	r = 0;
out:
	free(now);
	free(s);
	return r;
}

void policy_doc_free(struct policy_doc *d)
{
	if (!d)
		return;
	json_decref(d->root);
	free(d->orig);
	free(d);
}
