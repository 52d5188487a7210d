/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 9421 signature bases, signing and verification; RFC 9530 Content-Digest. */
#include "httpsig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "limits.h"
#include "util.h"

const char *httpsig_alg_name(enum httpsig_alg alg)
{
	switch (alg) {
	case HTTPSIG_ALG_ED25519:
		return "ed25519";
	case HTTPSIG_ALG_ECDSA_P256_SHA256:
		return "ecdsa-p256-sha256";
	case HTTPSIG_ALG_RSA_PSS_SHA512:
		return "rsa-pss-sha512";
	default:
		return NULL;
	}
}

enum httpsig_alg httpsig_alg_parse(const char *name)
{
	for (int a = HTTPSIG_ALG_ED25519; a <= HTTPSIG_ALG_RSA_PSS_SHA512; a++)
		if (!strcmp(name, httpsig_alg_name(a)))
			return a;
	return HTTPSIG_ALG_NONE;
}

enum httpsig_alg httpsig_alg_of_key(const struct vs_key *k)
{
	switch (key_alg(k)) {
	case KEY_ALG_ED25519:
		return HTTPSIG_ALG_ED25519;
	case KEY_ALG_P256:
		return HTTPSIG_ALG_ECDSA_P256_SHA256;
	case KEY_ALG_RSA3072:
		return HTTPSIG_ALG_RSA_PSS_SHA512;
	default:
		return HTTPSIG_ALG_NONE;
	}
}

size_t http_field_list_get(void *ctx, const char *lname, const char **vals, size_t max)
{
	const struct http_field_list *l = ctx;
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (strcasecmp(l->v[i].name, lname))
			continue;
		if (n < max)
			vals[n] = l->v[i].value;
		n++;
	}
	return n;
}

int httpsig_normalize_authority(const char *scheme, const char *in, char *out, size_t outlen)
{
	size_t n = strlen(in);
	const char *colon;

	if (n == 0 || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '@')
			return -1;
		out[i] = (char)tolower(ch);
	}
	out[n] = '\0';
	colon = strrchr(out, ':');
	if (colon && !strchr(colon, ']')) {
		const char *port = colon + 1;

		if ((scheme && !strcasecmp(scheme, "https") && !strcmp(port, "443")) ||
		    (scheme && !strcasecmp(scheme, "http") && !strcmp(port, "80")))
			out[colon - out] = '\0';
	}
	return 0;
}

/* ---- signature base ---- */

static const char *const derived_names[] = {
	"@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query",
	"@status",
};

static int is_derived(const char *name)
{
	for (size_t i = 0; i < sizeof(derived_names) / sizeof(derived_names[0]); i++)
		if (!strcmp(name, derived_names[i]))
			return 1;
	return 0;
}

/* Field names in components are lowercase tokens (RFC 9421 §2.1). */
static int is_field_name(const char *name)
{
	if (!*name)
		return 0;
	for (const char *p = name; *p; p++) {
		unsigned char ch = (unsigned char)*p;

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      strchr("!#$%&'*+-.^_`|~", ch)))
			return 0;
	}
	return 1;
}

/* Signature base lines must stay one line each and ASCII. */
static int value_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if ((ch < 0x20 && ch != '\t') || ch >= 0x7f)
			return 0;
	}
	return 1;
}

/* Checks one component identifier: a string naming a supported component, with no parameter
 * other than req. Writes its short form ("@path" or "@path;req") to out. */
static int component_check(const struct sf_item *c, int *req, char *out, size_t outlen,
			   struct vs_error *err)
{
	const char *name;

	*req = 0;
	if (c->bare.type != SF_STRING)
		return vs_fail(err, VS_ERR_INPUT, "Signature-Input", "component is not a string");
	name = c->bare.str;
	if (name[0] == '@') {
		if (!is_derived(name))
			return vs_fail(err, VS_ERR_INPUT, "Signature-Input",
				       "unsupported derived component \"%s\"", name);
	} else if (!is_field_name(name)) {
		return vs_fail(err, VS_ERR_INPUT, "Signature-Input",
			       "bad field name \"%.64s\" (must be a lowercase token)", name);
	}
	for (size_t i = 0; i < c->params.n; i++) {
		const struct sf_param *p = &c->params.v[i];

		if (strcmp(p->key, "req") || p->value.type != SF_BOOLEAN || p->value.num != 1)
			return vs_fail(err, VS_ERR_INPUT, "Signature-Input",
				       "unsupported parameter \"%s\" on component \"%s\"", p->key,
				       name);
		*req = 1;
	}
	snprintf(out, outlen, "%s%s", name, *req ? ";req" : "");
	return 0;
}

static void put_trimmed(struct sf_buf *b, const char *v)
{
	size_t n = strlen(v);

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	sf_buf_append(b, v, n);
}

/* Appends the value of one component, taken from message m. */
static int component_value(struct sf_buf *b, const struct http_msg *m, const char *name,
			   int is_response, struct vs_error *err)
{
	char auth[VS_MAX_HEADER_BYTES];
	const char *path;

	if (name[0] != '@') {
		const char *vals[HTTPSIG_MAX_FIELD_VALUES];
		size_t n = m->fields ? m->fields(m->fields_ctx, name, vals, HTTPSIG_MAX_FIELD_VALUES)
				     : 0;

		if (n == 0)
			return vs_fail(err, VS_ERR_DENIED, name, "covered field is not in the message");
		if (n > HTTPSIG_MAX_FIELD_VALUES)
			return vs_fail(err, VS_ERR_INPUT, name, "too many field lines (%zu)", n);
		for (size_t i = 0; i < n; i++) {
			if (i)
				sf_buf_append(b, ", ", 2);
			put_trimmed(b, vals[i]);
		}
		return 0;
	}
	if (!strcmp(name, "@status")) {
		char s[8];

		if (!is_response || m->status < 100 || m->status > 999)
			return vs_fail(err, VS_ERR_INPUT, name, "only a response has a status");
		snprintf(s, sizeof(s), "%d", m->status);
		sf_buf_puts(b, s);
		return 0;
	}
	if (is_response)
		return vs_fail(err, VS_ERR_INPUT, name,
			       "request component on a response needs ;req");
	if (!m->method || !m->path || !m->authority)
		return vs_fail(err, VS_ERR_INPUT, name, "message has no request line");
	path = m->path[0] ? m->path : "/";
	if (!strcmp(name, "@method")) {
		sf_buf_puts(b, m->method);
	} else if (!strcmp(name, "@path")) {
		sf_buf_puts(b, path);
	} else if (!strcmp(name, "@query")) {
		sf_buf_append(b, "?", 1);
		sf_buf_puts(b, m->query ? m->query : "");
	} else if (!strcmp(name, "@request-target")) {
		sf_buf_puts(b, path);
		if (m->query) {
			sf_buf_append(b, "?", 1);
			sf_buf_puts(b, m->query);
		}
	} else {
		/* @authority, @scheme, @target-uri */
		if (httpsig_normalize_authority(m->scheme, m->authority, auth, sizeof(auth)) < 0)
			return vs_fail(err, VS_ERR_INPUT, "@authority", "bad authority \"%.64s\"",
				       m->authority);
		if (!strcmp(name, "@authority")) {
			sf_buf_puts(b, auth);
			return 0;
		}
		if (!m->scheme || !*m->scheme)
			return vs_fail(err, VS_ERR_INPUT, name, "message has no scheme");
		for (const char *p = m->scheme; *p; p++) {
			char ch = (char)tolower((unsigned char)*p);

			sf_buf_append(b, &ch, 1);
		}
		if (!strcmp(name, "@scheme"))
			return 0;
		sf_buf_puts(b, "://");
		sf_buf_puts(b, auth);
		sf_buf_puts(b, path);
		if (m->query) {
			sf_buf_append(b, "?", 1);
			sf_buf_puts(b, m->query);
		}
	}
	return 0;
}

int httpsig_signature_base(const struct http_msg *m, const struct sf_item *components,
			   size_t ncomponents, const struct sf_params *params, char **base,
			   size_t *len, struct vs_error *err)
{
	struct sf_buf b = {0};
	char seen[VS_MAX_SIG_COMPONENTS][VS_MAX_NAME_BYTES];
	int is_response = m->status != 0;
	int r = -1;

	if (ncomponents > VS_MAX_SIG_COMPONENTS) {
		vs_fail(err, VS_ERR_INPUT, "Signature-Input", "%zu components (at most %u)",
			ncomponents, VS_MAX_SIG_COMPONENTS);
		goto out;
	}
	for (size_t i = 0; i < ncomponents; i++) {
		const struct sf_item *c = &components[i];
		const struct http_msg *src = m;
		size_t start;
		int req;

		if (component_check(c, &req, seen[i], sizeof(seen[i]), err) < 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(seen[i], seen[j])) {
				vs_fail(err, VS_ERR_INPUT, "Signature-Input",
					"component \"%s\" listed twice", seen[i]);
				goto out;
			}
		}
		if (req) {
			if (!is_response || !m->request) {
				vs_fail(err, VS_ERR_INPUT, seen[i], ";req outside a response");
				goto out;
			}
			src = m->request;
		}
		if (sf_serialize_item(&b, c) < 0) {
			vs_fail(err, VS_ERR_INPUT, "Signature-Input", "component has no serialization");
			goto out;
		}
		sf_buf_append(&b, ": ", 2);
		start = b.len;
		if (component_value(&b, src, c->bare.str, req ? 0 : is_response, err) < 0)
			goto out;
		if (b.oom)
			break;
		if (!value_ok(b.p + start, b.len - start)) {
			vs_fail(err, VS_ERR_INPUT, seen[i], "value has a byte outside visible ASCII");
			goto out;
		}
		sf_buf_append(&b, "\n", 1);
	}
	sf_buf_puts(&b, "\"@signature-params\": ");
	if (sf_serialize_inner(&b, components, ncomponents, params) < 0) {
		vs_fail(err, VS_ERR_INPUT, "Signature-Input", "parameters have no serialization");
		goto out;
	}
	*base = sf_buf_take(&b, len);
	if (!*base) {
		vs_fail(err, VS_ERR_INTERNAL, "signature base", "out of memory");
		goto out;
	}
	r = 0;
out:
	sf_buf_free(&b);
	return r;
}

/* ---- signing ---- */

static int sign_bytes(const struct vs_key *key, const char *base, size_t len, uint8_t **sig,
		      size_t *siglen, struct vs_error *err)
{
	uint8_t *der = NULL;
	size_t derlen = 0;

	switch (httpsig_alg_of_key(key)) {
	case HTTPSIG_ALG_ED25519:
		return key_sign(key, NULL, (const uint8_t *)base, len, sig, siglen, err);
	case HTTPSIG_ALG_RSA_PSS_SHA512:
		return key_sign(key, "SHA512", (const uint8_t *)base, len, sig, siglen, err);
	case HTTPSIG_ALG_ECDSA_P256_SHA256:
		if (key_sign(key, "SHA256", (const uint8_t *)base, len, &der, &derlen, err) < 0)
			return -1;
		*sig = malloc(64);
		if (!*sig || key_ecdsa_der_to_raw(der, derlen, *sig) < 0) {
			free(der);
			free(*sig);
			*sig = NULL;
			return vs_fail(err, VS_ERR_INTERNAL, key_id(key), "bad ECDSA signature");
		}
		free(der);
		*siglen = 64;
		return 0;
	default:
		return vs_fail(err, VS_ERR_USAGE, key_id(key), "key type has no RFC 9421 algorithm");
	}
}

static int add_string_param(struct sf_params *p, const char *key, const char *val)
{
	struct sf_bare v;

	if (sf_bare_string(&v, val) < 0)
		return -1;
	if (sf_params_add(p, key, &v) < 0) {
		sf_bare_free(&v);
		return -1;
	}
	return 0;
}

static int add_int_param(struct sf_params *p, const char *key, int64_t val)
{
	struct sf_bare v;

	sf_bare_integer(&v, val);
	return sf_params_add(p, key, &v);
}

int httpsig_sign(const struct http_msg *m, const struct vs_key *key,
		 const struct httpsig_sign_params *p, char **sig_input, char **sig,
		 struct vs_error *err)
{
	struct sf_item items[VS_MAX_SIG_COMPONENTS];
	struct sf_params params = {0};
	struct sf_buf b = {0};
	char *base = NULL, *b64 = NULL;
	uint8_t *raw = NULL;
	size_t baselen = 0, rawlen = 0, n = 0;
	int r = -1;

	memset(items, 0, sizeof(items));
	*sig_input = *sig = NULL;
	if (!p->label || !sf_is_key(p->label) || strlen(p->label) > HTTPSIG_MAX_LABEL) {
		vs_fail(err, VS_ERR_USAGE, "signature", "bad label \"%s\"", p->label ? p->label : "");
		goto out;
	}
	if (p->ncomponents > VS_MAX_SIG_COMPONENTS) {
		vs_fail(err, VS_ERR_USAGE, "signature", "too many components");
		goto out;
	}
	for (n = 0; n < p->ncomponents; n++) {
		char name[VS_MAX_NAME_BYTES];
		const char *semi = strchr(p->components[n], ';');
		size_t nl = semi ? (size_t)(semi - p->components[n]) : strlen(p->components[n]);

		if (nl >= sizeof(name) || (semi && strcmp(semi, ";req"))) {
			vs_fail(err, VS_ERR_USAGE, "signature", "bad component \"%s\"",
				p->components[n]);
			goto out;
		}
		memcpy(name, p->components[n], nl);
		name[nl] = '\0';
		if (sf_bare_string(&items[n].bare, name) < 0) {
			vs_fail(err, VS_ERR_USAGE, "signature", "bad component \"%s\"", name);
			goto out;
		}
		if (semi) {
			struct sf_bare t = {.type = SF_BOOLEAN, .num = 1};

			sf_params_add(&items[n].params, "req", &t);
		}
	}
	if ((p->created && add_int_param(&params, "created", p->created) < 0) ||
	    (p->expires && add_int_param(&params, "expires", p->expires) < 0) ||
	    (p->nonce && add_string_param(&params, "nonce", p->nonce) < 0) ||
	    add_string_param(&params, "keyid", p->keyid ? p->keyid : key_id(key)) < 0 ||
	    (p->alg_name && add_string_param(&params, "alg", p->alg_name) < 0) ||
	    (p->with_alg && !p->alg_name &&
	     add_string_param(&params, "alg", httpsig_alg_name(httpsig_alg_of_key(key))) < 0) ||
	    (p->tag && add_string_param(&params, "tag", p->tag) < 0)) {
		vs_fail(err, VS_ERR_USAGE, "signature", "bad signature parameter");
		goto out;
	}
	if (httpsig_signature_base(m, items, n, &params, &base, &baselen, err) < 0)
		goto out;
	if (sign_bytes(key, base, baselen, &raw, &rawlen, err) < 0)
		goto out;
	sf_buf_puts(&b, p->label);
	sf_buf_append(&b, "=", 1);
	sf_serialize_inner(&b, items, n, &params);
	*sig_input = sf_buf_take(&b, NULL);
	b64 = b64_encode(raw, rawlen);
	sf_buf_puts(&b, p->label);
	sf_buf_puts(&b, "=:");
	if (b64)
		sf_buf_puts(&b, b64);
	sf_buf_puts(&b, ":");
	*sig = sf_buf_take(&b, NULL);
	if (!*sig_input || !*sig || !b64) {
		free(*sig_input);
		free(*sig);
		*sig_input = *sig = NULL;
		vs_fail(err, VS_ERR_INTERNAL, "signature", "out of memory");
		goto out;
	}
	r = 0;
out:
	for (size_t i = 0; i < VS_MAX_SIG_COMPONENTS; i++)
		sf_item_free(&items[i]);
	sf_params_free(&params);
	sf_buf_free(&b);
	free(base);
	free(b64);
	free(raw);
	return r;
}

/* ---- Content-Digest ---- */

static const EVP_MD *digest_md(const char *alg)
{
	if (!strcmp(alg, "sha-256"))
		return EVP_sha256();
	if (!strcmp(alg, "sha-512"))
		return EVP_sha512();
	return NULL;
}

int content_digest_make(const char *alg, const uint8_t *body, size_t len, char **out,
			struct vs_error *err)
{
	const EVP_MD *md = digest_md(alg);
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	char *b64;

	if (!md)
		return vs_fail(err, VS_ERR_USAGE, "Content-Digest", "unsupported algorithm \"%s\"",
			       alg);
	if (EVP_Digest(body ? body : (const uint8_t *)"", len, h, &hl, md, NULL) != 1)
		return vs_fail(err, VS_ERR_INTERNAL, "Content-Digest", "digest failed");
	b64 = b64_encode(h, hl);
	if (!b64 || !(*out = malloc(strlen(alg) + strlen(b64) + 4))) {
		free(b64);
		return vs_fail(err, VS_ERR_INTERNAL, "Content-Digest", "out of memory");
	}
	sprintf(*out, "%s=:%s:", alg, b64);
	free(b64);
	return 0;
}

/* Returns 0, or -1 with *code set to the reason. */
static int digest_check_code(const char *value, const uint8_t *body, size_t len,
			     const char **code, struct vs_error *err)
{
	struct sf_members d;
	int supported = 0, r = -1;

	*code = HTTPSIG_E_DIGEST;
	if (sf_parse_dict(value, strlen(value), &d, err) < 0) {
		vs_error_prefix(err, "Content-Digest");
		return -1;
	}
	for (size_t i = 0; i < d.n; i++) {
		const struct sf_member *m = &d.v[i];
		const EVP_MD *md = digest_md(m->key);
		uint8_t h[EVP_MAX_MD_SIZE];
		unsigned hl = 0;

		if (!md)
			continue; /* RFC 9530: unknown algorithms are ignored */
		supported++;
		if (m->is_inner || m->item.bare.type != SF_BINARY) {
			vs_fail(err, VS_ERR_INPUT, "Content-Digest", "%s is not a byte sequence",
				m->key);
			goto out;
		}
		if (EVP_Digest(body ? body : (const uint8_t *)"", len, h, &hl, md, NULL) != 1) {
			vs_fail(err, VS_ERR_INTERNAL, "Content-Digest", "digest failed");
			goto out;
		}
		if (m->item.bare.len != hl || CRYPTO_memcmp(h, m->item.bare.bin, hl) != 0) {
			vs_fail(err, VS_ERR_DENIED, "Content-Digest",
				"%s does not match the body", m->key);
			goto out;
		}
	}
	if (!supported) {
		*code = HTTPSIG_E_DIGEST_ALG;
		vs_fail(err, VS_ERR_DENIED, "Content-Digest",
			"no sha-256 or sha-512 digest in \"%.64s\"", value);
		goto out;
	}
	r = 0;
out:
	sf_members_free(&d);
	return r;
}

int content_digest_check(const char *value, const uint8_t *body, size_t len, struct vs_error *err)
{
	const char *code;

	return digest_check_code(value, body, len, &code, err);
}

/* ---- verification ---- */

/* Joins all field lines of name into one malloc'd value, or NULL when absent. */
static char *field_combined(const struct http_msg *m, const char *name, int *too_many)
{
	const char *vals[HTTPSIG_MAX_FIELD_VALUES];
	struct sf_buf b = {0};
	size_t n = m->fields ? m->fields(m->fields_ctx, name, vals, HTTPSIG_MAX_FIELD_VALUES) : 0;

	*too_many = n > HTTPSIG_MAX_FIELD_VALUES;
	if (n == 0 || *too_many)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (i)
			sf_buf_append(&b, ", ", 2);
		put_trimmed(&b, vals[i]);
	}
	return sf_buf_take(&b, NULL);
}

static int fail_code(struct httpsig_result *res, const char *code, struct vs_error *err,
		     enum vs_error_kind kind, const char *object, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int fail_code(struct httpsig_result *res, const char *code, struct vs_error *err,
		     enum vs_error_kind kind, const char *object, const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	va_start(ap, fmt);
	vs_failv(err, kind, object, fmt, ap);
	va_end(ap);
	return -1;
}

/* Copies a string parameter; -1 when present with another type or too long. */
static int param_string(const struct sf_params *p, const char *key, char *out, size_t outlen,
			int *present)
{
	const struct sf_bare *v = sf_param_get(p, key);

	*present = v != NULL;
	out[0] = '\0';
	if (!v)
		return 0;
	if (v->type != SF_STRING || v->len >= outlen || v->len == 0)
		return -1;
	memcpy(out, v->str, v->len + 1);
	return 0;
}

static int param_int(const struct sf_params *p, const char *key, int64_t *out, int *present)
{
	const struct sf_bare *v = sf_param_get(p, key);

	*present = v != NULL;
	*out = 0;
	if (!v)
		return 0;
	if (v->type != SF_INTEGER || v->num <= 0)
		return -1;
	*out = v->num;
	return 0;
}

/* What a memo entry stands for: this key (its id is the hash of its public key) verified sig
 * over base with alg. Lengths are framed so that no two inputs hash alike. */
static int memo_hash(const struct vs_key *key, enum httpsig_alg alg, const char *base,
		     size_t baselen, const uint8_t *sig, size_t siglen, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t len[3] = {(uint64_t)alg, baselen, siglen};
	unsigned int n = 32;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, key_id(key), KEY_ID_HEX_LEN + 1) == 1 &&
		 EVP_DigestUpdate(ctx, len, sizeof(len)) == 1 &&
		 EVP_DigestUpdate(ctx, base, baselen) == 1 && EVP_DigestUpdate(ctx, sig, siglen) == 1 &&
		 EVP_DigestFinal_ex(ctx, out, &n) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int verify_one(const struct http_msg *m, const struct httpsig_verify_opts *o,
		      const struct sf_member *in, const struct sf_member *sv,
		      struct httpsig_sig *out, struct httpsig_result *res, struct vs_error *err)
{
	char obj[HTTPSIG_MAX_LABEL + 16], alg[HTTPSIG_MAX_PARAM + 1];
	char names[VS_MAX_SIG_COMPONENTS][VS_MAX_NAME_BYTES];
	int has_created, has_expires, has_nonce, has_keyid, has_alg, has_tag, ok;
	const struct vs_key *key = NULL;
	char *base = NULL;
	size_t baselen = 0;
	const uint8_t *sig;
	size_t siglen;
	uint8_t memo_h[32];
	int memo_ok = 0, r = -1;

	memset(out, 0, sizeof(*out));
	snprintf(out->label, sizeof(out->label), "%s", in->key);
	snprintf(obj, sizeof(obj), "signature %s", in->key);
	if (!in->is_inner)
		return fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, obj,
				 "Signature-Input member is not an inner list");
	if (sv->is_inner || sv->item.bare.type != SF_BINARY)
		return fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, obj,
				 "Signature member is not a byte sequence");
	if (in->ninner > VS_MAX_SIG_COMPONENTS)
		return fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, obj,
				 "%zu components (at most %u)", in->ninner, VS_MAX_SIG_COMPONENTS);
	for (size_t i = 0; i < in->ninner; i++) {
		int req;

		if (component_check(&in->inner[i], &req, names[i], sizeof(names[i]), err) < 0) {
			res->code = HTTPSIG_E_MALFORMED;
			vs_error_prefix(err, "%s", obj);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(names[i], names[j]))
				return fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, obj,
						 "component \"%s\" listed twice", names[i]);
		if (!strcmp(names[i], "content-digest"))
			out->covers_digest = 1;
	}
	if (param_int(&in->params, "created", &out->created, &has_created) < 0 ||
	    param_int(&in->params, "expires", &out->expires, &has_expires) < 0 ||
	    param_string(&in->params, "nonce", out->nonce, sizeof(out->nonce), &has_nonce) < 0 ||
	    param_string(&in->params, "keyid", out->keyid, sizeof(out->keyid), &has_keyid) < 0 ||
	    param_string(&in->params, "alg", alg, sizeof(alg), &has_alg) < 0 ||
	    param_string(&in->params, "tag", out->tag, sizeof(out->tag), &has_tag) < 0)
		return fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, obj,
				 "a signature parameter has the wrong type or size");

	/* Cheap checks first: what is covered, which parameters, freshness. */
	for (size_t i = 0; i < o->nrequired; i++) {
		ok = 0;
		for (size_t j = 0; j < in->ninner && !ok; j++)
			ok = !strcmp(o->required[i], names[j]);
		if (!ok)
			return fail_code(res, HTTPSIG_E_COMPONENT, err, VS_ERR_DENIED, obj,
					 "required component \"%s\" is not covered",
					 o->required[i]);
	}
	if (o->digest_if_body && (o->body_len > 0 || o->body_pending) && !out->covers_digest)
		return fail_code(res, HTTPSIG_E_DIGEST_MISSING, err, VS_ERR_DENIED, obj,
				 "the request has a body but content-digest is not covered");
	if ((o->require_created && !has_created) || (o->require_expires && !has_expires) ||
	    (o->require_nonce && !has_nonce) || (o->require_keyid && !has_keyid) || !has_keyid)
		return fail_code(res, HTTPSIG_E_PARAM, err, VS_ERR_DENIED, obj,
				 "parameter \"%s\" is missing",
				 !has_keyid ? "keyid" : !has_created && o->require_created ? "created"
				 : !has_expires && o->require_expires ? "expires" : "nonce");
	if (has_created && o->max_skew_s > 0 &&
	    (out->created > o->now + o->max_skew_s || out->created < o->now - o->max_skew_s))
		return fail_code(res, HTTPSIG_E_SKEW, err, VS_ERR_DENIED, obj,
				 "created %lld is %lld s from now (at most %lld)",
				 (long long)out->created, (long long)(out->created - o->now),
				 (long long)o->max_skew_s);
	if (has_created && o->max_future_skew_s > 0 && out->created > o->now + o->max_future_skew_s)
		return fail_code(res, HTTPSIG_E_SKEW, err, VS_ERR_DENIED, obj,
				 "created %lld is %lld s in the future (at most %lld)",
				 (long long)out->created, (long long)(out->created - o->now),
				 (long long)o->max_future_skew_s);
	if (has_expires && has_created && out->expires <= out->created)
		return fail_code(res, HTTPSIG_E_EXPIRED, err, VS_ERR_DENIED, obj,
				 "expires %lld is not after created %lld", (long long)out->expires,
				 (long long)out->created);
	if (has_expires && o->now > 0 && o->now >= out->expires)
		return fail_code(res, HTTPSIG_E_EXPIRED, err, VS_ERR_DENIED, obj,
				 "expired at %lld (now %lld)", (long long)out->expires,
				 (long long)o->now);
	if (has_expires && has_created && o->max_validity_s > 0 &&
	    out->expires - out->created > o->max_validity_s)
		return fail_code(res, HTTPSIG_E_VALIDITY, err, VS_ERR_DENIED, obj,
				 "valid for %lld s (at most %lld)",
				 (long long)(out->expires - out->created), (long long)o->max_validity_s);
	if (o->not_before > 0 && (!has_created || out->created < o->not_before))
		return fail_code(res, HTTPSIG_E_BEFORE_START, err, VS_ERR_DENIED, obj,
				 "created %lld, before the verifier started at %lld",
				 (long long)out->created, (long long)o->not_before);

	if (!o->key_lookup ||
	    o->key_lookup(o->key_ctx, out->keyid, &key, &out->key_ref, err) < 0 || !key) {
		res->code = HTTPSIG_E_KEY;
		if (!o->key_lookup || err->kind == VS_ERR_NONE)
			vs_fail(err, VS_ERR_DENIED, obj, "no key for keyid \"%.64s\"", out->keyid);
		err->kind = VS_ERR_DENIED;
		return -1;
	}
	out->alg = httpsig_alg_of_key(key);
	if (has_alg && httpsig_alg_parse(alg) != out->alg)
		return fail_code(res, HTTPSIG_E_ALG, err, VS_ERR_DENIED, obj,
				 "alg \"%.32s\" but the key is %s", alg,
				 httpsig_alg_name(out->alg) ? httpsig_alg_name(out->alg) : "unusable");

	if (httpsig_signature_base(m, in->inner, in->ninner, &in->params, &base, &baselen, err) < 0) {
		res->code = err->kind == VS_ERR_DENIED ? HTTPSIG_E_COMPONENT : HTTPSIG_E_MALFORMED;
		vs_error_prefix(err, "%s", obj);
		goto out;
	}
	sig = sv->item.bare.bin;
	siglen = sv->item.bare.len;
	if (o->memo && memo_hash(key, out->alg, base, baselen, sig, siglen, memo_h) == 0) {
		for (size_t i = 0; i < o->memo->n; i++)
			if (!CRYPTO_memcmp(o->memo->h[i], memo_h, sizeof(memo_h))) {
				r = 0; /* these exact inputs verified under this key before */
				goto out;
			}
		memo_ok = 1;
	}
	switch (out->alg) {
	case HTTPSIG_ALG_ED25519:
		ok = siglen == 64 && key_verify(key, NULL, (const uint8_t *)base, baselen, sig,
						siglen, 0) == 0;
		break;
	case HTTPSIG_ALG_ECDSA_P256_SHA256:
		ok = siglen == 64 && key_verify(key, "SHA256", (const uint8_t *)base, baselen, sig,
						siglen, 1) == 0;
		break;
	case HTTPSIG_ALG_RSA_PSS_SHA512:
		ok = key_verify(key, "SHA512", (const uint8_t *)base, baselen, sig, siglen, 0) == 0;
		break;
	default:
		ok = 0;
	}
	if (!ok) {
		fail_code(res, HTTPSIG_E_BAD, err, VS_ERR_DENIED, obj,
			  "signature does not verify under key %.16s", out->keyid);
		goto out;
	}
	if (memo_ok && o->memo->n < HTTPSIG_MAX_SIGS)
		memcpy(o->memo->h[o->memo->n++], memo_h, sizeof(memo_h));
	r = 0;
out:
	free(base);
	return r;
}

int httpsig_verify(const struct http_msg *m, const struct httpsig_verify_opts *opts,
		   struct httpsig_result *res, struct vs_error *err)
{
	struct sf_members inputs = {0}, sigs = {0};
	char *input_v = NULL, *sig_v = NULL;
	int too_many_i = 0, too_many_s = 0, digest_checked = 0;
	int r = -1;

	memset(res, 0, sizeof(*res));
	input_v = field_combined(m, "signature-input", &too_many_i);
	sig_v = field_combined(m, "signature", &too_many_s);
	if (too_many_i || too_many_s) {
		fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, "Signature",
			  "too many field lines");
		goto out;
	}
	if (!input_v || !sig_v) {
		fail_code(res, HTTPSIG_E_MISSING, err, VS_ERR_DENIED, "request",
			  "no %s field", !input_v ? "Signature-Input" : "Signature");
		goto out;
	}
	if (opts->check_authority) {
		char auth[VS_MAX_AUTHORITY_BYTES];
		size_t i = 0;

		if (m->authority &&
		    httpsig_normalize_authority(m->scheme, m->authority, auth, sizeof(auth)) == 0)
			for (; i < opts->nauthorities && strcmp(auth, opts->authorities[i]); i++)
				;
		if (!m->authority || i >= opts->nauthorities) {
			fail_code(res, HTTPSIG_E_AUTHORITY, err, VS_ERR_DENIED, "@authority",
				  "\"%.64s\" is not a name of this gateway",
				  m->authority ? m->authority : "");
			goto out;
		}
	}
	if (sf_parse_dict(input_v, strlen(input_v), &inputs, err) < 0) {
		res->code = HTTPSIG_E_MALFORMED;
		vs_error_prefix(err, "Signature-Input");
		goto out;
	}
	if (sf_parse_dict(sig_v, strlen(sig_v), &sigs, err) < 0) {
		res->code = HTTPSIG_E_MALFORMED;
		vs_error_prefix(err, "Signature");
		goto out;
	}
	if (inputs.n == 0) {
		fail_code(res, HTTPSIG_E_MISSING, err, VS_ERR_DENIED, "request",
			  "empty Signature-Input");
		goto out;
	}
	if (!opts->label && inputs.n != sigs.n) {
		fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, "Signature",
			  "%zu Signature-Input members but %zu Signature members", inputs.n, sigs.n);
		goto out;
	}
	if (!opts->label && inputs.n > HTTPSIG_MAX_SIGS) {
		fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, "Signature",
			  "%zu signatures (at most %d)", inputs.n, HTTPSIG_MAX_SIGS);
		goto out;
	}
	for (size_t i = 0; i < inputs.n; i++) {
		const struct sf_member *in = &inputs.v[i];
		const struct sf_member *sv = sf_dict_get(&sigs, in->key);

		if (opts->label && strcmp(opts->label, in->key))
			continue;
		if (!sv) {
			fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT, "Signature",
				  "no Signature member for label \"%s\"", in->key);
			goto out;
		}
		if (verify_one(m, opts, in, sv, &res->sigs[res->n], res, err) < 0)
			goto out;
		if (res->sigs[res->n].covers_digest && !digest_checked && !opts->body_pending) {
			const char *v[2];
			size_t n = m->fields ? m->fields(m->fields_ctx, "content-digest", v, 2) : 0;
			const char *code;

			if (n != 1) {
				fail_code(res, HTTPSIG_E_MALFORMED, err, VS_ERR_INPUT,
					  "Content-Digest", "expected one field line, got %zu", n);
				goto out;
			}
			if (digest_check_code(v[0], opts->body, opts->body_len, &code, err) < 0) {
				res->code = code;
				goto out;
			}
			digest_checked = 1;
		}
		res->n++;
	}
	if (res->n == 0) {
		fail_code(res, HTTPSIG_E_MISSING, err, VS_ERR_DENIED, "request",
			  "no signature labelled \"%s\"", opts->label ? opts->label : "");
		goto out;
	}
	r = 0;
out:
	sf_members_free(&inputs);
	sf_members_free(&sigs);
	free(input_v);
	free(sig_v);
	return r;
}
