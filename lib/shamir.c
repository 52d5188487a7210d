/* SPDX-License-Identifier: Apache-2.0 */
/* Shamir shares of a key file over libgfshare; strict share files with checksums. */
#include "shamir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <jansson.h>
#include <libgfshare.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util.h"

/* libgfshare asks a process-wide callback for its random coefficients and cannot be told
 * that it failed: a failing DRBG aborts rather than hand out predictable shares. */
static void fill_rand_drbg(unsigned char *buf, unsigned int len)
{
	if (RAND_priv_bytes(buf, (int)len) != 1)
		abort();
}

/* The secure heap (mlock'ed, guarded) is small; when it is full or absent, fall back to plain
 * memory locked with mlock (best effort). OPENSSL_secure_clear_free handles both kinds. */
/* For gfshare_ctx_free, which "scrubs" its buffers through the same callback: zeros do. */
static void fill_zero(unsigned char *buf, unsigned int len)
{
	OPENSSL_cleanse(buf, len);
}

static uint8_t *secure_buf(size_t len)
{
	uint8_t *p = OPENSSL_secure_zalloc(len ? len : 1);

	if (!p) {
		p = OPENSSL_zalloc(len ? len : 1);
		if (p)
			mlock(p, len ? len : 1);
	}
	return p;
}

void share_data_free(uint8_t *data, size_t len)
{
	if (data)
		OPENSSL_secure_clear_free(data, len ? len : 1);
}

int shamir_split(const uint8_t *secret, size_t len, unsigned count, unsigned threshold,
		 uint8_t **shares, struct vs_error *err)
{
	unsigned char xs[SHARE_MAX_COUNT];
	uint8_t *copy = NULL;
	gfshare_ctx *ctx = NULL;
	unsigned i;
	int r = -1;

	if (threshold < 2 || threshold > count || count > SHARE_MAX_COUNT)
		return vs_fail(err, VS_ERR_USAGE, "shares",
			       "need 2 <= threshold (%u) <= shares (%u) <= %d", threshold, count,
			       SHARE_MAX_COUNT);
	if (len == 0 || len > VS_MAX_KEY_FILE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, "secret", "size %zu out of range", len);
	if (key_entropy_ready(1, err) < 0)
		return -1;
	/* Instantiate the private DRBG now, while the secure heap it may live in has room. */
	if (RAND_priv_bytes(xs, 1) != 1)
		return vs_fail(err, VS_ERR_INTERNAL, "shares", "random generator unavailable");
	memset(shares, 0, count * sizeof(*shares));
	for (i = 0; i < count; i++)
		xs[i] = (unsigned char)(i + 1);
	copy = secure_buf(len);
	if (!copy) {
		vs_fail(err, VS_ERR_INTERNAL, "secret", "out of memory");
		goto out;
	}
	memcpy(copy, secret, len); /* gfshare wants a non-const pointer */
	gfshare_fill_rand = fill_rand_drbg;
	ctx = gfshare_ctx_init_enc(xs, count, (unsigned char)threshold, (unsigned)len);
	if (!ctx) {
		vs_fail(err, VS_ERR_INTERNAL, "shares", "cannot initialise libgfshare");
		goto out;
	}
	gfshare_ctx_enc_setsecret(ctx, copy);
	for (i = 0; i < count; i++) {
		shares[i] = secure_buf(len);
		if (!shares[i]) {
			vs_fail(err, VS_ERR_INTERNAL, "shares", "out of memory");
			goto out;
		}
		gfshare_ctx_enc_getshare(ctx, (unsigned char)i, shares[i]);
	}
	r = 0;
out:
	if (ctx) {
		gfshare_fill_rand = fill_zero;
		gfshare_ctx_free(ctx); /* overwrites its coefficients before freeing */
	}
	share_data_free(copy, len);
	if (r < 0)
		for (i = 0; i < count; i++) {
			share_data_free(shares[i], len);
			shares[i] = NULL;
		}
	return r;
}

int shamir_combine(uint8_t *const *shares, const uint8_t *xs, unsigned n, size_t len, uint8_t *out,
		   struct vs_error *err)
{
	unsigned char x[SHARE_MAX_COUNT];
	gfshare_ctx *ctx;

	if (n == 0 || n > SHARE_MAX_COUNT || len == 0)
		return vs_fail(err, VS_ERR_INPUT, "shares", "nothing to recombine");
	memcpy(x, xs, n);
	ctx = gfshare_ctx_init_dec(x, n, (unsigned)len);
	if (!ctx)
		return vs_fail(err, VS_ERR_INTERNAL, "shares", "cannot initialise libgfshare");
	for (unsigned i = 0; i < n; i++)
		gfshare_ctx_dec_giveshare(ctx, (unsigned char)i, shares[i]);
	gfshare_ctx_dec_extract(ctx, out);
	gfshare_fill_rand = fill_zero;
	gfshare_ctx_free(ctx);
	return 0;
}

void share_clear(struct key_share *s)
{
	free(s->public_key);
	share_data_free(s->data, s->size);
	memset(s, 0, sizeof(*s));
}

static void sha256_hex(const uint8_t *data, size_t len, char out[VS_SHA256_HEX_BYTES])
{
	uint8_t md[32];

	EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, 32, out);
}

char *share_encode(const struct key_share *s)
{
	json_t *o = json_object();
	char digest[VS_SHA256_HEX_BYTES], sum[VS_SHA256_HEX_BYTES], created[32], *b64 = NULL, *text = NULL, *line = NULL;
	int bad = 0;
	size_t n;

	if (!o)
		return NULL;
	b64 = b64_encode(s->data, s->size);
	hex_encode(s->secret_sha256, 32, digest);
	sha256_hex(s->data, s->size, sum);
	bad |= !b64;
	bad |= json_object_set_new(o, "format", json_string(SHARE_FORMAT));
	bad |= json_object_set_new(o, "name", json_string(s->name));
	bad |= json_object_set_new(o, "keyid", json_string(s->keyid));
	bad |= json_object_set_new(o, "alg", json_string(key_alg_name(s->alg)));
	if (s->created) {
		time_format_rfc3339(s->created, created, sizeof(created));
		bad |= json_object_set_new(o, "created", json_string(created));
	}
	bad |= json_object_set_new(o, "encrypted", json_boolean(s->encrypted));
	bad |= json_object_set_new(o, "set", json_string(s->set));
	bad |= json_object_set_new(o, "index", json_integer(s->index));
	bad |= json_object_set_new(o, "threshold", json_integer(s->threshold));
	bad |= json_object_set_new(o, "shares", json_integer(s->count));
	bad |= json_object_set_new(o, "size", json_integer((json_int_t)s->size));
	bad |= json_object_set_new(o, "secret_sha256", json_string(digest));
	bad |= json_object_set_new(o, "public_key", json_string(s->public_key));
	bad |= json_object_set_new(o, "share", b64 ? json_string(b64) : json_null());
	bad |= json_object_set_new(o, "checksum", json_string(sum));
	if (!bad)
		text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text) {
		n = strlen(text);
		line = (char *)secure_buf(n + 2);
		if (line) {
			memcpy(line, text, n);
			memcpy(line + n, "\n", 2);
		}
		OPENSSL_cleanse(text, n);
		free(text);
	}
	if (b64) {
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
	/* jansson copied the base64 into the object: scrub that copy before it is freed. */
	{
		json_t *sh = json_object_get(o, "share");

		if (json_is_string(sh))
			OPENSSL_cleanse((char *)json_string_value(sh), json_string_length(sh));
	}
	json_decref(o);
	return line;
}

static int is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == n;
}

static const char *get_string(json_t *o, const char *field, size_t max)
{
	json_t *v = json_object_get(o, field);

	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int get_uint(json_t *o, const char *field, json_int_t min, json_int_t max, json_int_t *out)
{
	json_t *v = json_object_get(o, field);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

int share_parse(const char *text, size_t len, const char *object, struct key_share *s,
		struct vs_error *err)
{
	static const char *const fields[] = {"format", "name", "keyid", "alg", "created",
					     "encrypted", "set", "index", "threshold", "shares",
					     "size", "secret_sha256", "public_key", "share",
					     "checksum", NULL};
	const char *v, *key;
	char sum[VS_SHA256_HEX_BYTES];
	json_error_t jerr;
	json_t *root, *e;
	json_int_t n;
	size_t dlen = 0;
	uint8_t *raw = NULL;
	int r = -1;

	memset(s, 0, sizeof(*s));
	if (len > SHARE_MAX_FILE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "share file is %zu bytes, limit is %u", len,
			       SHARE_MAX_FILE_BYTES);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vs_fail(err, VS_ERR_INPUT, object, "not a share file: %s (line %d)", jerr.text,
			       jerr.line);
	if (!json_is_object(root)) {
		vs_fail(err, VS_ERR_INPUT, object, "not a share file (not a JSON object)");
		goto out;
	}
	json_object_foreach(root, key, e) {
		const char *const *f;

		for (f = fields; *f && strcmp(*f, key); f++)
			;
		if (!*f) {
			vs_fail(err, VS_ERR_INPUT, object, "share: unknown field \"%.64s\"", key);
			goto out;
		}
	}
	if (!(v = get_string(root, "format", 64)) || strcmp(v, SHARE_FORMAT)) {
		vs_fail(err, VS_ERR_INPUT, object, "share: format is not %s", SHARE_FORMAT);
		goto out;
	}
	if (!(v = get_string(root, "name", sizeof(s->name) - 1))) {
		vs_fail(err, VS_ERR_INPUT, object, "share: name missing or too long");
		goto out;
	}
	strcpy(s->name, v);
	if (!(v = get_string(root, "keyid", KEY_ID_HEX_LEN)) || !is_lower_hex(v, KEY_ID_HEX_LEN)) {
		vs_fail(err, VS_ERR_INPUT, object, "share: keyid is not 64 lowercase hex digits");
		goto out;
	}
	strcpy(s->keyid, v);
	if (!(v = get_string(root, "alg", 16)) || (s->alg = key_alg_parse(v)) == KEY_ALG_NONE ||
	    strcmp(v, key_alg_name(s->alg))) {
		vs_fail(err, VS_ERR_INPUT, object, "share: alg is not ed25519, p256 or rsa3072");
		goto out;
	}
	if (json_object_get(root, "created") &&
	    (!(v = get_string(root, "created", 40)) || time_parse_rfc3339(v, &s->created) < 0)) {
		vs_fail(err, VS_ERR_INPUT, object, "share: created is not an RFC 3339 UTC time");
		goto out;
	}
	e = json_object_get(root, "encrypted");
	if (!json_is_boolean(e)) {
		vs_fail(err, VS_ERR_INPUT, object, "share: encrypted is not true or false");
		goto out;
	}
	s->encrypted = json_is_true(e);
	if (!(v = get_string(root, "set", 32)) || !is_lower_hex(v, 32)) {
		vs_fail(err, VS_ERR_INPUT, object, "share: set is not 32 lowercase hex digits");
		goto out;
	}
	strcpy(s->set, v);
	if (get_uint(root, "shares", 2, SHARE_MAX_COUNT, &n) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "share: shares must be an integer in [2, %d]", SHARE_MAX_COUNT);
		goto out;
	}
	s->count = (unsigned)n;
	if (get_uint(root, "threshold", 2, s->count, &n) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "share: threshold must be an integer in [2, shares]");
		goto out;
	}
	s->threshold = (unsigned)n;
	if (get_uint(root, "index", 1, s->count, &n) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "share: index must be an integer in [1, shares]");
		goto out;
	}
	s->index = (unsigned)n;
	if (get_uint(root, "size", 1, VS_MAX_KEY_FILE_BYTES, &n) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "share: size must be an integer in [1, %u]",
			VS_MAX_KEY_FILE_BYTES);
		goto out;
	}
	s->size = (size_t)n;
	if (!(v = get_string(root, "secret_sha256", 64)) || !is_lower_hex(v, 64)) {
		vs_fail(err, VS_ERR_INPUT, object, "share: secret_sha256 is not 64 lowercase hex digits");
		goto out;
	}
	hex_decode(v, s->secret_sha256, 32);
	if (!(v = get_string(root, "public_key", VS_MAX_KEY_FILE_BYTES)) || !(s->public_key = strdup(v))) {
		vs_fail(err, VS_ERR_INPUT, object, "share: public_key missing");
		goto out;
	}
	if (!(v = get_string(root, "checksum", 64)) || !is_lower_hex(v, 64)) {
		vs_fail(err, VS_ERR_INPUT, object, "share: checksum is not 64 lowercase hex digits");
		goto out;
	}
	strcpy(sum, v);
	if (!(v = get_string(root, "share", 4 * ((VS_MAX_KEY_FILE_BYTES + 2) / 3))) ||
	    b64_decode(v, strlen(v), 0, &raw, &dlen) < 0) {
		vs_fail(err, VS_ERR_INPUT, object, "share: share is not base64");
		goto out;
	}
	if (dlen != s->size) {
		vs_fail(err, VS_ERR_INPUT, object, "share: %zu share bytes, size says %zu", dlen, s->size);
		goto out;
	}
	s->data = secure_buf(dlen);
	if (!s->data) {
		vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
		goto out;
	}
	memcpy(s->data, raw, dlen);
	{
		char have[VS_SHA256_HEX_BYTES];

		sha256_hex(s->data, s->size, have);
		if (CRYPTO_memcmp(have, sum, 64) != 0) {
			vs_fail(err, VS_ERR_INPUT, object,
				"share %u: checksum mismatch: the share is altered or corrupt", s->index);
			goto out;
		}
	}
	r = 0;
out:
	if (raw) {
		OPENSSL_cleanse(raw, dlen);
		free(raw);
	}
	e = json_object_get(root, "share");
	if (json_is_string(e))
		OPENSSL_cleanse((char *)json_string_value(e), json_string_length(e));
	json_decref(root);
	if (r < 0)
		share_clear(s);
	return r;
}

int shares_recombine(const struct key_share *shares, const char *const *names, size_t n,
		     uint8_t **secret, size_t *len, struct vs_error *err)
{
	const struct key_share *a = &shares[0];
	uint8_t xs[SHARE_MAX_COUNT], *data[SHARE_MAX_COUNT], *out = NULL, md[32];
	unsigned seen[SHARE_MAX_COUNT + 1] = {0};

	if (n == 0)
		return vs_fail(err, VS_ERR_USAGE, "shares", "no share given");
	if (n > SHARE_MAX_COUNT)
		return vs_fail(err, VS_ERR_USAGE, "shares", "more than %d shares", SHARE_MAX_COUNT);
	for (size_t i = 0; i < n; i++) {
		const struct key_share *b = &shares[i];

		if (strcmp(a->keyid, b->keyid))
			return vs_fail(err, VS_ERR_INPUT, names[i],
				       "share of another key (keyid %.16s…, %s is of %.16s…)", b->keyid,
				       names[0], a->keyid);
		if (strcmp(a->set, b->set))
			return vs_fail(err, VS_ERR_INPUT, names[i],
				       "share of another backup of this key (set %s, %s is of set %s)",
				       b->set, names[0], a->set);
		if (a->threshold != b->threshold || a->count != b->count || a->size != b->size ||
		    a->encrypted != b->encrypted || a->alg != b->alg ||
		    memcmp(a->secret_sha256, b->secret_sha256, 32) || strcmp(a->public_key, b->public_key))
			return vs_fail(err, VS_ERR_INPUT, names[i],
				       "share disagrees with %s on threshold, size, digest or public key",
				       names[0]);
		if (seen[b->index])
			return vs_fail(err, VS_ERR_INPUT, names[i], "share %u given twice (also %s)",
				       b->index, names[seen[b->index] - 1]);
		seen[b->index] = (unsigned)i + 1;
		xs[i] = (uint8_t)b->index;
		data[i] = b->data;
	}
	if (n < a->threshold)
		return vs_fail(err, VS_ERR_INPUT, "shares",
			       "%zu share%s given, %u of the %u are needed to recover key %.16s…", n,
			       n == 1 ? "" : "s", a->threshold, a->count, a->keyid);
	out = secure_buf(a->size);
	if (!out)
		return vs_fail(err, VS_ERR_INTERNAL, "shares", "out of memory");
	if (shamir_combine(data, xs, (unsigned)n, a->size, out, err) < 0)
		goto fail;
	EVP_Digest(out, a->size, md, NULL, EVP_sha256(), NULL);
	if (CRYPTO_memcmp(md, a->secret_sha256, 32) != 0) {
		vs_fail(err, VS_ERR_INPUT, "shares",
			"recombined key does not match its SHA-256: a share is wrong or was altered "
			"(its checksum recomputed)");
		goto fail;
	}
	*secret = out;
	*len = a->size;
	return 0;
fail:
	share_data_free(out, a->size);
	return -1;
}
