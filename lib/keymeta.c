/* SPDX-License-Identifier: Apache-2.0 */
/* Key metadata files: strict parse, atomic write, the "may this key still sign" check. */
#include "keymeta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "p11.h"
#include "util.h"

static const char *const status_names[] = {"active", "retired", "revoked", "destroyed"};

const char *keymeta_status_name(enum keymeta_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s] : "?";
}

static int ends_with(const char *s, const char *suffix)
{
	size_t sl = strlen(s), xl = strlen(suffix);

	return sl > xl && !strcmp(s + sl - xl, suffix);
}

int keymeta_base(const char *spec, char *out, size_t outlen)
{
	size_t n = strlen(spec);

	if (ends_with(spec, ".key") || ends_with(spec, ".pub"))
		n -= 4;
	else if (ends_with(spec, ".json"))
		n -= 5;
	if (n == 0 || n >= outlen)
		return -1;
	memcpy(out, spec, n);
	out[n] = '\0';
	return 0;
}

void keymeta_init(struct keymeta *m, const char *base, const struct vs_key *k, const char *uri)
{
	const char *slash = strrchr(base, '/');

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", slash ? slash + 1 : base);
	memcpy(m->keyid, key_id(k), sizeof(m->keyid));
	m->alg = key_alg(k);
	m->created = vs_now();
	m->status = KEYMETA_ACTIVE;
	m->version = 1;
	if (uri) {
		m->pkcs11 = 1;
		snprintf(m->uri, sizeof(m->uri), "%s", uri);
	}
}

static int is_keyid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == KEY_ID_HEX_LEN;
}

static int get_str(json_t *o, const char *field, int required, char *out, size_t outlen,
		   const char *object, struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	out[0] = '\0';
	if (!v)
		return required ? vs_fail(err, VS_ERR_INPUT, object, "metadata: %s missing", field) : 0;
	if (!json_is_string(v) || json_string_length(v) >= outlen ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return vs_fail(err, VS_ERR_INPUT, object, "metadata: %s is not a string of < %zu bytes",
			       field, outlen);
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_time(json_t *o, const char *field, int64_t *out, const char *object,
		    struct vs_error *err)
{
	char buf[64];

	*out = 0;
	if (get_str(o, field, 0, buf, sizeof(buf), object, err) < 0)
		return -1;
	if (buf[0] && time_parse_rfc3339(buf, out) < 0)
		return vs_fail(err, VS_ERR_INPUT, object, "metadata: %s \"%s\" is not an RFC 3339 UTC time",
			       field, buf);
	return 0;
}

static int get_keyid(json_t *o, const char *field, int required, char *out, const char *object,
		     struct vs_error *err)
{
	if (get_str(o, field, required, out, KEY_ID_HEX_LEN + 1, object, err) < 0)
		return -1;
	/* a required keyid may not be empty (found by fuzz_keymeta: "keyid": "" was accepted) */
	if ((out[0] || required) && !is_keyid(out))
		return vs_fail(err, VS_ERR_INPUT, object, "metadata: %s \"%.70s\" is not a keyid", field, out);
	return 0;
}

int keymeta_parse(const char *json, size_t len, const char *object, struct keymeta *m,
		  struct vs_error *err)
{
	static const char *const fields[] = {"format", "name", "keyid", "alg", "created", "status",
					     "location", "uri", "version", "replaces", "replaced_by",
					     "retired_at", "revoked_at", "reason", "destroyed_at",
					     NULL};
	char buf[64];
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	int r = -1;

	memset(m, 0, sizeof(*m));
	if (len > KEYMETA_MAX_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "metadata is %zu bytes, limit is %u", len,
			       KEYMETA_MAX_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vs_fail(err, VS_ERR_INPUT, object, "metadata is not valid JSON: %s (line %d)",
			       jerr.text, jerr.line);
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, object, "metadata is not a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v) {
		const char *const *f;

		for (f = fields; *f && strcmp(*f, key); f++)
			;
		if (!*f) {
			vs_fail(err, VS_ERR_INPUT, object, "metadata: unknown field \"%.64s\"", key);
			goto out;
		}
	}
	if (get_str(root, "format", 1, buf, sizeof(buf), object, err) < 0)
		goto out;
	if (strcmp(buf, KEYMETA_FORMAT)) {
		vs_fail(err, VS_ERR_INPUT, object, "metadata: format \"%s\" is not %s", buf, KEYMETA_FORMAT);
		goto out;
	}
	if (get_str(root, "name", 1, m->name, sizeof(m->name), object, err) < 0 ||
	    get_keyid(root, "keyid", 1, m->keyid, object, err) < 0 ||
	    get_keyid(root, "replaces", 0, m->replaces, object, err) < 0 ||
	    get_keyid(root, "replaced_by", 0, m->replaced_by, object, err) < 0 ||
	    get_str(root, "reason", 0, m->reason, sizeof(m->reason), object, err) < 0 ||
	    get_time(root, "created", &m->created, object, err) < 0 ||
	    get_time(root, "retired_at", &m->retired_at, object, err) < 0 ||
	    get_time(root, "revoked_at", &m->revoked_at, object, err) < 0 ||
	    get_time(root, "destroyed_at", &m->destroyed_at, object, err) < 0)
		goto out;
	if (get_str(root, "alg", 1, buf, sizeof(buf), object, err) < 0)
		goto out;
	m->alg = key_alg_parse(buf);
	if (m->alg == KEY_ALG_NONE || strcmp(buf, key_alg_name(m->alg))) {
		vs_fail(err, VS_ERR_INPUT, object, "metadata: alg \"%s\" is not ed25519, p256 or rsa3072", buf);
		goto out;
	}
	if (get_str(root, "status", 1, buf, sizeof(buf), object, err) < 0)
		goto out;
	for (m->status = KEYMETA_ACTIVE; m->status <= KEYMETA_DESTROYED; m->status++)
		if (!strcmp(buf, status_names[m->status]))
			break;
	if (m->status > KEYMETA_DESTROYED) {
		vs_fail(err, VS_ERR_INPUT, object,
			"metadata: status \"%s\" is not active, retired, revoked or destroyed", buf);
		goto out;
	}
	if (get_str(root, "location", 1, buf, sizeof(buf), object, err) < 0 ||
	    get_str(root, "uri", 0, m->uri, sizeof(m->uri), object, err) < 0)
		goto out;
	if (!strcmp(buf, "pkcs11")) {
		m->pkcs11 = 1;
		if (strncmp(m->uri, "pkcs11:", 7)) {
			vs_fail(err, VS_ERR_INPUT, object, "metadata: location pkcs11 needs a pkcs11: uri");
			goto out;
		}
	} else if (strcmp(buf, "file") || m->uri[0]) {
		vs_fail(err, VS_ERR_INPUT, object, "metadata: location must be file (no uri) or pkcs11");
		goto out;
	}
	v = json_object_get(root, "version");
	m->version = 1;
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000) {
			vs_fail(err, VS_ERR_INPUT, object, "metadata: version must be an integer in [1, 1000000]");
			goto out;
		}
		m->version = json_integer_value(v);
	}
	r = 0;
out:
	json_decref(root);
	return r;
}

static int set_time(json_t *o, const char *field, int64_t t)
{
	char buf[32];

	if (!t)
		return 0;
	time_format_rfc3339(t, buf, sizeof(buf));
	return json_object_set_new(o, field, json_string(buf));
}

char *keymeta_encode(const struct keymeta *m)
{
	json_t *o = json_object();
	char *s = NULL;
	int bad = 0;

	if (!o)
		return NULL;
	bad |= json_object_set_new(o, "format", json_string(KEYMETA_FORMAT));
	bad |= json_object_set_new(o, "name", json_string(m->name));
	bad |= json_object_set_new(o, "keyid", json_string(m->keyid));
	bad |= json_object_set_new(o, "alg", json_string(key_alg_name(m->alg)));
	bad |= set_time(o, "created", m->created);
	bad |= json_object_set_new(o, "status", json_string(keymeta_status_name(m->status)));
	bad |= json_object_set_new(o, "location", json_string(m->pkcs11 ? "pkcs11" : "file"));
	if (m->pkcs11)
		bad |= json_object_set_new(o, "uri", json_string(m->uri));
	bad |= json_object_set_new(o, "version", json_integer(m->version));
	if (m->replaces[0])
		bad |= json_object_set_new(o, "replaces", json_string(m->replaces));
	if (m->replaced_by[0])
		bad |= json_object_set_new(o, "replaced_by", json_string(m->replaced_by));
	bad |= set_time(o, "retired_at", m->retired_at);
	bad |= set_time(o, "revoked_at", m->revoked_at);
	if (m->reason[0])
		bad |= json_object_set_new(o, "reason", json_string(m->reason));
	bad |= set_time(o, "destroyed_at", m->destroyed_at);
	/* json_string returns NULL for invalid UTF-8 and set_new then fails: caught by bad. */
	if (!bad)
		s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static int meta_path(const char *base, char *path, size_t len, struct vs_error *err)
{
	if (snprintf(path, len, "%s.json", base) >= (int)len)
		return vs_fail(err, VS_ERR_USAGE, base, "path too long");
	return 0;
}

int keymeta_load(const char *base, struct keymeta *m, struct vs_error *err)
{
	char path[VS_MAX_PATH_BYTES], *buf = NULL;
	size_t len = 0;
	int r;

	if (meta_path(base, path, sizeof(path), err) < 0)
		return -1;
	if (access(path, F_OK) != 0)
		return 1;
	if (file_read_all(path, KEYMETA_MAX_BYTES, &buf, &len, err) < 0)
		return -1;
	r = keymeta_parse(buf, len, path, m, err);
	free(buf);
	return r;
}

int keymeta_save(const char *base, const struct keymeta *m, int replace, struct vs_error *err)
{
	char path[VS_MAX_PATH_BYTES], *s, *line;
	size_t n;
	int r;

	if (meta_path(base, path, sizeof(path), err) < 0)
		return -1;
	s = keymeta_encode(m);
	if (!s)
		return vs_fail(err, VS_ERR_INPUT, path, "cannot encode metadata (not UTF-8?)");
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return vs_fail(err, VS_ERR_INTERNAL, path, "out of memory");
	}
	memcpy(line + n, "\n", 2);
	r = file_write_atomic(path, line, n + 1, 0600, replace, err);
	free(line);
	return r;
}

int keymeta_check_signable(const char *keyspec, const char *keyid, struct vs_error *err)
{
	char base[VS_MAX_PATH_BYTES], t[32];
	struct keymeta m;
	int r;

	if (!strncmp(keyspec, "pkcs11:", 7) || keymeta_base(keyspec, base, sizeof(base)) < 0)
		return 0;
	r = keymeta_load(base, &m, err);
	if (r != 0)
		return r > 0 ? 0 : -1;
	if (keyid && strcmp(keyid, m.keyid))
		return vs_fail(err, VS_ERR_INPUT, keyspec,
			       "metadata %s.json names keyid %.16s…, the key is %.16s… (mixed-up files)",
			       base, m.keyid, keyid);
	switch (m.status) {
	case KEYMETA_ACTIVE:
		return 0;
	case KEYMETA_RETIRED:
		time_format_rfc3339(m.retired_at, t, sizeof(t));
		return vs_fail(err, VS_ERR_DENIED, keyspec,
			       "key retired%s%s%s%.16s%s: it verifies old signatures but signs nothing new",
			       m.retired_at ? " at " : "", m.retired_at ? t : "",
			       m.replaced_by[0] ? ", replaced by keyid " : "", m.replaced_by,
			       m.replaced_by[0] ? "…" : "");
	case KEYMETA_REVOKED:
		return vs_fail(err, VS_ERR_DENIED, keyspec, "key revoked%s%s%s: it must not sign",
			       m.reason[0] ? " (\"" : "", m.reason, m.reason[0] ? "\")" : "");
	default:
		return vs_fail(err, VS_ERR_DENIED, keyspec, "key destroyed: it cannot sign");
	}
}

int keymeta_create_key(enum key_alg alg, int wait, const char *base, const char *passphrase,
		       const struct keymeta *m, struct vs_key **out, struct vs_error *err)
{
	char path[VS_MAX_PATH_BYTES];
	struct vs_key *k = NULL;
	struct keymeta meta;
	int r = -1;

	if (meta_path(base, path, sizeof(path), err) < 0)
		return -1;
	if (access(path, F_OK) == 0)
		return vs_fail(err, VS_ERR_IO, path, "already exists; refusing to overwrite");
	if (key_generate(alg, wait, &k, err) < 0)
		return -1;
	fault_point("keygen-before-write");
	if (key_write_files(k, base, passphrase, err) < 0)
		goto out;
	keymeta_init(&meta, base, k, NULL);
	if (m) {
		meta.version = m->version;
		memcpy(meta.replaces, m->replaces, sizeof(meta.replaces));
	}
	if (keymeta_save(base, &meta, 0, err) < 0) {
		/* All or nothing: the key without its metadata would escape the lifecycle. */
		snprintf(path, sizeof(path), "%s.key", base);
		unlink(path);
		snprintf(path, sizeof(path), "%s.pub", base);
		unlink(path);
		goto out;
	}
	if (out) {
		*out = k;
		k = NULL;
	}
	r = 0;
out:
	key_free(k);
	return r;
}

int keymeta_resolve(const char *spec, char *base, size_t baselen, struct keymeta *m, int *has_meta,
		    struct vs_error *err)
{
	char pub[VS_MAX_PATH_BYTES];
	struct vs_key *k = NULL;
	int r;

	if (keymeta_base(spec, base, baselen) < 0)
		return vs_fail(err, VS_ERR_USAGE, spec, "not a key name (path too long?)");
	if (snprintf(pub, sizeof(pub), "%s.pub", base) >= (int)sizeof(pub))
		return vs_fail(err, VS_ERR_USAGE, spec, "path too long");
	r = keymeta_load(base, m, err);
	if (r < 0)
		return -1;
	*has_meta = r == 0;
	if (access(pub, F_OK) != 0) {
		if (*has_meta)
			return 0;
		return vs_fail(err, VS_ERR_IO, spec, "no key here: neither %s.json nor %s exists", base, pub);
	}
	if (key_load_public(pub, &k, err) < 0)
		return -1;
	if (!*has_meta) {
		keymeta_init(m, base, k, NULL);
		m->created = 0;
	} else if (strcmp(m->keyid, key_id(k))) {
		vs_fail(err, VS_ERR_INPUT, spec, "metadata %s.json names keyid %.16s…, %s is %.16s… (mixed-up files)",
			base, m->keyid, pub, key_id(k));
		key_free(k);
		return -1;
	}
	key_free(k);
	return 0;
}

int keymeta_create_p11_key(enum key_alg alg, const char *uri, const char *pinfile, const char *base,
			   struct vs_key **out, struct vs_error *err)
{
	char pub[VS_MAX_PATH_BYTES], meta[VS_MAX_PATH_BYTES], clean[VS_MAX_PATH_BYTES], *pem = NULL;
	struct vs_key *k = NULL;
	struct keymeta m;
	int r = -1;

	if (snprintf(pub, sizeof(pub), "%s.pub", base) >= (int)sizeof(pub) ||
	    meta_path(base, meta, sizeof(meta), err) < 0)
		return vs_fail(err, VS_ERR_USAGE, base, "path too long");
	if (p11_uri_without_pin(uri, clean, sizeof(clean)) < 0)
		return vs_fail(err, VS_ERR_USAGE, uri, "not a pkcs11: URI");
	if (access(pub, F_OK) == 0 || access(meta, F_OK) == 0)
		return vs_fail(err, VS_ERR_IO, base, "%s.pub or %s.json already exists; refusing to overwrite",
			       base, base);
	if (p11_generate(alg, uri, pinfile, &k, err) < 0)
		return -1;
	pem = key_public_pem(k);
	if (!pem) {
		vs_fail(err, VS_ERR_INTERNAL, base, "out of memory");
		goto out;
	}
	keymeta_init(&m, base, k, clean);
	if (file_write_atomic(pub, pem, strlen(pem), 0600, 0, err) < 0)
		goto out;
	if (keymeta_save(base, &m, 0, err) < 0) {
		unlink(pub);
		goto out;
	}
	if (out) {
		*out = k;
		k = NULL;
	}
	r = 0;
out:
	free(pem);
	key_free(k);
	return r;
}

int keymeta_load_signable(const char *keyspec, const char *passfile, struct vs_key **out,
			  struct vs_error *err)
{
	*out = NULL;
	if (keymeta_check_signable(keyspec, NULL, err) < 0 ||
	    key_load_private(keyspec, passfile, out, err) < 0)
		return -1;
	return keymeta_check_signable(keyspec, key_id(*out), err);
}
