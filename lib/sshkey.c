/* SPDX-License-Identifier: Apache-2.0 */
/* SSH public keys: strict parsing, encoding, fingerprints and SSH-format signatures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "limits.h"
#include "sshkey.h"
#include "util.h"

#define ED25519_PK_LEN 32
#define P256_POINT_LEN 65
#define P256_SCALAR_LEN 32

static const struct {
	enum sshkey_type t;
	const char *name, *cert;
} types[] = {
	{SSHKEY_ED25519, "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com"},
	{SSHKEY_ECDSA_P256, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com"},
	{SSHKEY_RSA, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com"},
};

const char *sshkey_type_name(enum sshkey_type t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].t == t)
			return types[i].name;
	return NULL;
}

const char *sshkey_cert_type_name(enum sshkey_type t)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].t == t)
			return types[i].cert;
	return NULL;
}

enum sshkey_type sshkey_type_parse(const char *name, size_t n, int cert_name)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const char *s = cert_name ? types[i].cert : types[i].name;

		if (strlen(s) == n && !memcmp(s, name, n))
			return types[i].t;
	}
	return SSHKEY_UNKNOWN;
}

void sshkey_free(struct sshkey *k)
{
	if (!k)
		return;
	free(k->blob);
	EVP_PKEY_free(k->pkey);
	free(k);
}

static EVP_PKEY *pkey_from_params(const char *alg, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = bld ? OSSL_PARAM_BLD_to_param(bld) : NULL;
	EVP_PKEY_CTX *ctx = params ? EVP_PKEY_CTX_new_from_name(NULL, alg, NULL) : NULL;
	EVP_PKEY *pkey = NULL;

	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *p256_from_point(const uint8_t *q, size_t n)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *chk = NULL;

	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, n))
		goto out;
	pkey = pkey_from_params("EC", bld);
	/* the point must lie on the curve (and not be the point at infinity) */
	if (pkey && (!(chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) ||
		     EVP_PKEY_public_check(chk) != 1)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static EVP_PKEY *rsa_from_ne(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
	EVP_PKEY *pkey = NULL;

	if (bld && bn && be && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		pkey = pkey_from_params("RSA", bld);
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* Encodes the blob of a key whose pkey is set, from the pkey (one canonical form). */
static int encode_blob(struct sshkey *k)
{
	struct sshbuf b = {0};

	sshbuf_put_cstring(&b, sshkey_type_name(k->type));
	if (sshkey_put_fields(k, &b) < 0 || b.failed) {
		sshbuf_free(&b);
		return -1;
	}
	k->blob = b.d;
	k->bloblen = b.len;
	return 0;
}

int sshkey_put_fields(const struct sshkey *k, struct sshbuf *b)
{
	uint8_t buf[VS_MAX_SSH_RSA_BITS / 8];
	size_t n = sizeof(buf);
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	int r = -1;

	switch (k->type) {
	case SSHKEY_ED25519:
		if (EVP_PKEY_get_raw_public_key(k->pkey, buf, &n) != 1 || n != ED25519_PK_LEN)
			return -1;
		return sshbuf_put_string(b, buf, n);
	case SSHKEY_ECDSA_P256:
		if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf,
						    sizeof(buf), &n) != 1 ||
		    n != P256_POINT_LEN || buf[0] != 0x04)
			return -1;
		return sshbuf_put_cstring(b, "nistp256") | sshbuf_put_string(b, buf, n);
	case SSHKEY_RSA: {
		uint8_t ebuf[16];
		int nn, en;

		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n) != 1 ||
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e) != 1 ||
		    BN_num_bytes(bn_n) > (int)sizeof(buf) || BN_num_bytes(bn_e) > (int)sizeof(ebuf))
			goto out;
		nn = BN_bn2bin(bn_n, buf);
		en = BN_bn2bin(bn_e, ebuf);
		r = sshbuf_put_mpint(b, ebuf, (size_t)en) | sshbuf_put_mpint(b, buf, (size_t)nn);
		break;
	}
	default:
		return -1;
	}
out:
	BN_free(bn_n);
	BN_free(bn_e);
	return r;
}

int sshkey_read_fields(struct sshrd *r, enum sshkey_type t, const char *object,
		       struct sshkey **out, struct vs_error *err)
{
	struct sshkey *k = calloc(1, sizeof(*k));
	const uint8_t *a, *b;
	size_t alen, blen;
	char curve[16];

	if (!k)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	k->type = t;
	switch (t) {
	case SSHKEY_ED25519:
		if (sshrd_string(r, ED25519_PK_LEN, &a, &alen) < 0 || alen != ED25519_PK_LEN) {
			vs_fail(err, VS_ERR_INPUT, object, "ssh-ed25519 key is not 32 bytes");
			goto fail;
		}
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, alen);
		break;
	case SSHKEY_ECDSA_P256:
		if (sshrd_cstring(r, curve, sizeof(curve) - 1) < 0 || strcmp(curve, "nistp256")) {
			vs_fail(err, VS_ERR_INPUT, object, "ecdsa-sha2-nistp256 key names another curve");
			goto fail;
		}
		if (sshrd_string(r, P256_POINT_LEN, &a, &alen) < 0 || alen != P256_POINT_LEN ||
		    a[0] != 0x04) {
			vs_fail(err, VS_ERR_INPUT, object, "P-256 point is not 65 bytes uncompressed");
			goto fail;
		}
		k->pkey = p256_from_point(a, alen);
		break;
	case SSHKEY_RSA:
		if (sshrd_mpint(r, 16, &a, &alen) < 0 ||
		    sshrd_mpint(r, VS_MAX_SSH_RSA_BITS / 8, &b, &blen) < 0) {
			vs_fail(err, VS_ERR_INPUT, object, "RSA key: bad or oversized mpint");
			goto fail;
		}
		if (alen == 0 || !(a[alen - 1] & 1) || (alen == 1 && a[0] == 1)) {
			vs_fail(err, VS_ERR_INPUT, object, "RSA key: exponent must be odd and > 1");
			goto fail;
		}
		if (blen * 8 < VS_MIN_SSH_RSA_BITS || !(b[blen - 1] & 1)) {
			vs_fail(err, VS_ERR_INPUT, object, "RSA key: modulus under %u bits or even",
				VS_MIN_SSH_RSA_BITS);
			goto fail;
		}
		k->pkey = rsa_from_ne(b, blen, a, alen);
		break;
	default:
		vs_fail(err, VS_ERR_INPUT, object, "unknown key type");
		goto fail;
	}
	if (!k->pkey) {
		vs_fail(err, VS_ERR_INPUT, object, "%s key is not a valid public key",
			sshkey_type_name(t));
		goto fail;
	}
	if (encode_blob(k) < 0) {
		vs_fail(err, VS_ERR_INTERNAL, object, "cannot encode the key");
		goto fail;
	}
	*out = k;
	return 0;
fail:
	sshkey_free(k);
	return -1;
}

int sshkey_from_blob(const uint8_t *blob, size_t len, const char *object, struct sshkey **out,
		     struct vs_error *err)
{
	struct sshrd r;
	const uint8_t *name;
	size_t n;
	enum sshkey_type t;
	struct sshkey *k = NULL;

	*out = NULL;
	if (len > VS_MAX_SSH_BLOB_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "key blob over %u bytes", VS_MAX_SSH_BLOB_BYTES);
	sshrd_init(&r, blob, len);
	if (sshrd_string(&r, 64, &name, &n) < 0)
		return vs_fail(err, VS_ERR_INPUT, object, "no key type");
	t = sshkey_type_parse((const char *)name, n, 0);
	if (t == SSHKEY_UNKNOWN && sshkey_type_parse((const char *)name, n, 1) != SSHKEY_UNKNOWN)
		return vs_fail(err, VS_ERR_INPUT, object, "a certificate, not a plain key");
	if (t == SSHKEY_UNKNOWN || memchr(name, 0, n))
		return vs_fail(err, VS_ERR_INPUT, object, "unsupported key type");
	if (sshkey_read_fields(&r, t, object, &k, err) < 0)
		return -1;
	if (sshrd_done(&r) < 0 || k->bloblen != len || memcmp(k->blob, blob, len)) {
		sshkey_free(k);
		return vs_fail(err, VS_ERR_INPUT, object, "trailing or non-canonical data in the key");
	}
	*out = k;
	return 0;
}

int sshkey_parse_line(const char *line, size_t len, const char *object, struct sshkey **out,
		      struct vs_error *err)
{
	const char *sp, *b64, *end;
	size_t b64len;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	enum sshkey_type t;
	struct sshkey *k = NULL;

	*out = NULL;
	if (len > VS_MAX_SSH_LINE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "key line over %u bytes",
			       VS_MAX_SSH_LINE_BYTES);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return vs_fail(err, VS_ERR_INPUT, object,
				       "control character or second line in the key");
	sp = memchr(line, ' ', len);
	if (!sp)
		return vs_fail(err, VS_ERR_INPUT, object, "not \"TYPE BASE64 [COMMENT]\"");
	t = sshkey_type_parse(line, (size_t)(sp - line), 0);
	if (t == SSHKEY_UNKNOWN)
		return vs_fail(err, VS_ERR_INPUT, object, "unsupported key type \"%.*s\"",
			       (int)((sp - line) > 64 ? 64 : sp - line), line);
	b64 = sp + 1;
	end = memchr(b64, ' ', (size_t)(line + len - b64));
	b64len = (size_t)((end ? end : line + len) - b64);
	if (b64_decode(b64, b64len, 0, &blob, &bloblen) < 0)
		return vs_fail(err, VS_ERR_INPUT, object, "key is not valid base64");
	if (sshkey_from_blob(blob, bloblen, object, &k, err) < 0)
		goto out;
	if (k->type != t) {
		vs_fail(err, VS_ERR_INPUT, object, "line says %s but the key is %s",
			sshkey_type_name(t), sshkey_type_name(k->type));
		sshkey_free(k);
		k = NULL;
		goto out;
	}
	*out = k;
out:
	free(blob);
	return *out ? 0 : -1;
}

int sshkey_from_pkey(EVP_PKEY *pkey, const char *object, struct sshkey **out, struct vs_error *err)
{
	struct sshkey *k = calloc(1, sizeof(*k));
	unsigned char *der = NULL;
	const unsigned char *p;
	int n;

	*out = NULL;
	if (!k)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	/* Through the SPKI, so that a provider's key (pkcs11) becomes a plain public key. */
	n = i2d_PUBKEY(pkey, &der);
	p = der;
	if (n <= 0 || !(k->pkey = d2i_PUBKEY(NULL, &p, n))) {
		vs_fail_ssl(err, VS_ERR_INPUT, object, "cannot read the public key");
		goto fail;
	}
	if (EVP_PKEY_is_a(k->pkey, "ED25519")) {
		k->type = SSHKEY_ED25519;
	} else if (EVP_PKEY_is_a(k->pkey, "EC")) {
		char group[32];

		if (EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), NULL) != 1 ||
		    (strcmp(group, "prime256v1") && strcmp(group, "P-256"))) {
			vs_fail(err, VS_ERR_INPUT, object, "EC key is not on P-256");
			goto fail;
		}
		k->type = SSHKEY_ECDSA_P256;
	} else if (EVP_PKEY_is_a(k->pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(k->pkey);

		if (bits < VS_MIN_SSH_RSA_BITS || bits > VS_MAX_SSH_RSA_BITS) {
			vs_fail(err, VS_ERR_INPUT, object, "RSA key of %d bits", bits);
			goto fail;
		}
		k->type = SSHKEY_RSA;
	} else {
		vs_fail(err, VS_ERR_INPUT, object, "key type has no SSH form here");
		goto fail;
	}
	if (encode_blob(k) < 0) {
		vs_fail(err, VS_ERR_INTERNAL, object, "cannot encode the key");
		goto fail;
	}
	OPENSSL_free(der);
	*out = k;
	return 0;
fail:
	OPENSSL_free(der);
	sshkey_free(k);
	return -1;
}

char *sshkey_line(const struct sshkey *k, const char *comment)
{
	char *b64 = b64_encode(k->blob, k->bloblen), *line = NULL;

	if (b64 && asprintf(&line, "%s %s%s%s\n", sshkey_type_name(k->type), b64,
			    comment ? " " : "", comment ? comment : "") < 0)
		line = NULL;
	free(b64);
	return line;
}

void sshkey_fingerprint(const struct sshkey *k, char out[static SSHKEY_FP_LEN + 1])
{
	uint8_t h[32];
	char *b64;

	SHA256(k->blob, k->bloblen, h);
	b64 = b64_encode(h, sizeof(h));
	snprintf(out, SSHKEY_FP_LEN + 1, "SHA256:%.43s", b64 ? b64 : "");
	free(b64);
}

int sshkey_fingerprint_decode(const char *fp, uint8_t raw[static 32])
{
	char padded[45];
	uint8_t *d = NULL;
	size_t n = 0;
	int r = -1;

	if (strncmp(fp, "SHA256:", 7) || strlen(fp + 7) != 43)
		return -1;
	snprintf(padded, sizeof(padded), "%s=", fp + 7);
	if (b64_decode(padded, 44, 0, &d, &n) == 0 && n == 32) {
		memcpy(raw, d, 32);
		r = 0;
	}
	free(d);
	return r;
}

int sshkey_equal(const struct sshkey *a, const struct sshkey *b)
{
	return a && b && a->bloblen == b->bloblen && !memcmp(a->blob, b->blob, a->bloblen);
}

/* One EVP signature with an explicit digest and, for RSA, PKCS#1 v1.5 padding. */
static int evp_sign(EVP_PKEY *pkey, const char *md, int pkcs1, const uint8_t *data, size_t len,
		    uint8_t **sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *buf = NULL;
	size_t n = 0;
	int r = -1;

	if (!ctx || EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, pkey, NULL) != 1 ||
	    (pkcs1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_DigestSign(ctx, NULL, &n, data, len) != 1 || !(buf = malloc(n)) ||
	    EVP_DigestSign(ctx, buf, &n, data, len) != 1)
		goto out;
	*sig = buf;
	*siglen = n;
	buf = NULL;
	r = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

static int evp_verify(EVP_PKEY *pkey, const char *md, int pkcs1, const uint8_t *data, size_t len,
		      const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = ctx && EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, pkey, NULL) == 1 &&
		 (!pkcs1 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
		 EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;

	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : -1;
}

int sshkey_sign(const struct vs_key *ca, const uint8_t *data, size_t len, struct sshbuf *sig,
		struct vs_error *err)
{
	EVP_PKEY *pkey = key_pkey(ca);
	uint8_t *s = NULL;
	size_t slen = 0;
	int r = -1;

	switch (key_alg(ca)) {
	case KEY_ALG_ED25519:
		/* key_sign reuses a context set up once (OpenSSL 3.0 fetches under global locks) */
		if (key_sign(ca, NULL, data, len, &s, &slen, err) < 0)
			break;
		sshbuf_put_cstring(sig, "ssh-ed25519");
		r = sshbuf_put_string(sig, s, slen);
		break;
	case KEY_ALG_P256: {
		uint8_t raw[64];
		struct sshbuf inner = {0};

		if (key_sign(ca, "SHA256", data, len, &s, &slen, err) < 0 ||
		    key_ecdsa_der_to_raw(s, slen, raw) < 0)
			break;
		sshbuf_put_mpint(&inner, raw, 32);
		sshbuf_put_mpint(&inner, raw + 32, 32);
		sshbuf_put_cstring(sig, "ecdsa-sha2-nistp256");
		r = inner.failed ? -1 : sshbuf_put_string(sig, inner.d, inner.len);
		sshbuf_free(&inner);
		break;
	}
	case KEY_ALG_RSA3072:
		if (evp_sign(pkey, "SHA512", 1, data, len, &s, &slen) < 0)
			break;
		sshbuf_put_cstring(sig, "rsa-sha2-512");
		r = sshbuf_put_string(sig, s, slen);
		break;
	default:
		break;
	}
	free(s);
	if (r < 0 || sig->failed)
		return vs_fail_ssl(err, VS_ERR_INTERNAL, key_id(ca), "SSH signature failed");
	return 0;
}

int sshkey_verify(const struct sshkey *k, const uint8_t *sig, size_t siglen, const uint8_t *data,
		  size_t len, struct vs_error *err)
{
	struct sshrd r;
	char alg[32];
	const uint8_t *s;
	size_t slen;
	int ok = -1;

	sshrd_init(&r, sig, siglen);
	if (sshrd_cstring(&r, alg, sizeof(alg) - 1) < 0 ||
	    sshrd_string(&r, VS_MAX_SSH_RSA_BITS / 8, &s, &slen) < 0 || sshrd_done(&r) < 0)
		return vs_fail(err, VS_ERR_INPUT, "signature", "malformed SSH signature");
	switch (k->type) {
	case SSHKEY_ED25519:
		if (!strcmp(alg, "ssh-ed25519") && slen == 64)
			ok = evp_verify(k->pkey, NULL, 0, data, len, s, slen);
		break;
	case SSHKEY_ECDSA_P256: {
		struct sshrd in;
		const uint8_t *rr, *ss;
		size_t rn, sn;
		ECDSA_SIG *es = NULL;
		BIGNUM *br = NULL, *bs = NULL;
		unsigned char *der = NULL;
		int dn;

		sshrd_init(&in, s, slen);
		if (strcmp(alg, "ecdsa-sha2-nistp256") || sshrd_mpint(&in, P256_SCALAR_LEN, &rr, &rn) < 0 ||
		    sshrd_mpint(&in, P256_SCALAR_LEN, &ss, &sn) < 0 || sshrd_done(&in) < 0)
			break;
		es = ECDSA_SIG_new();
		br = BN_bin2bn(rr, (int)rn, NULL);
		bs = BN_bin2bn(ss, (int)sn, NULL);
		if (es && br && bs && ECDSA_SIG_set0(es, br, bs) == 1) {
			br = bs = NULL;
			dn = i2d_ECDSA_SIG(es, &der);
			if (dn > 0)
				ok = evp_verify(k->pkey, "SHA256", 0, data, len, der, (size_t)dn);
		}
		OPENSSL_free(der);
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(es);
		break;
	}
	case SSHKEY_RSA:
		if (!strcmp(alg, "rsa-sha2-512"))
			ok = evp_verify(k->pkey, "SHA512", 1, data, len, s, slen);
		else if (!strcmp(alg, "rsa-sha2-256"))
			ok = evp_verify(k->pkey, "SHA256", 1, data, len, s, slen);
		break;
	default:
		break;
	}
	if (ok < 0)
		return vs_fail(err, VS_ERR_DENIED, "signature", "%s signature does not verify",
			       alg[0] ? alg : "SSH");
	return 0;
}
