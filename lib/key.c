/* SPDX-License-Identifier: Apache-2.0 */
/* Key loading, generation, signing and verification over OpenSSL 3 EVP (files and pkcs11). */
#include "key.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/ui.h>
#include <openssl/x509.h>

#include "limits.h"
#include "util.h"

struct vs_key {
	EVP_PKEY *pkey;
	enum key_alg alg;
	int has_private;
	char id[KEY_ID_HEX_LEN + 1];
	unsigned char *spki; /* the canonical DER SPKI the id is computed over (key_canonical_spki) */
	size_t spki_len;
	char source[8];
	/*
	 * Contexts initialised once for the default digest and copied for each signature. OpenSSL
	 * 3.0's EVP_Digest{Sign,Verify}Init_ex fetch the algorithm under process-wide locks, which
	 * kept two gateway threads from verifying faster than about 1.5 threads' worth; a copy does
	 * not fetch. Built on first use under tmpl_lock and read-only afterwards (copying reads
	 * them only), so threads share them. Not used for pkcs11 keys: the token decides there.
	 */
	pthread_mutex_t tmpl_lock;
	EVP_MD_CTX *tmpl[2]; /* [0] verify, [1] sign */
	int tmpl_failed[2];
};

const char *key_alg_name(enum key_alg alg)
{
	switch (alg) {
	case KEY_ALG_ED25519:
		return "ed25519";
	case KEY_ALG_P256:
		return "p256";
	case KEY_ALG_RSA3072:
		return "rsa3072";
	default:
		return NULL;
	}
}

enum key_alg key_alg_parse(const char *name)
{
	if (!name)
		return KEY_ALG_NONE;
	if (!strcmp(name, "ed25519"))
		return KEY_ALG_ED25519;
	if (!strcmp(name, "p256") || !strcmp(name, "ecdsa-p256"))
		return KEY_ALG_P256;
	if (!strcmp(name, "rsa3072") || !strcmp(name, "rsa"))
		return KEY_ALG_RSA3072;
	return KEY_ALG_NONE;
}

void key_id_of_spki(const uint8_t *der, size_t len, char out[static KEY_ID_HEX_LEN + 1])
{
	uint8_t md[32];

	EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), out);
}

static int classify(EVP_PKEY *pkey, const char *object, enum key_alg *alg, struct vs_error *err)
{
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		*alg = KEY_ALG_ED25519;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char group[64] = "";
		size_t gl = 0;

		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), &gl) != 1 ||
		    (strcmp(group, "prime256v1") && strcmp(group, "P-256")))
			return vs_fail(err, VS_ERR_INPUT, object, "unsupported EC curve \"%s\" (only P-256)",
				       group);
		*alg = KEY_ALG_P256;
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS")) {
		if (EVP_PKEY_get_bits(pkey) < 3072)
			return vs_fail(err, VS_ERR_INPUT, object, "RSA key of %d bits is too short (need 3072)",
				       EVP_PKEY_get_bits(pkey));
		*alg = KEY_ALG_RSA3072;
		return 0;
	}
	return vs_fail(err, VS_ERR_INPUT, object, "unsupported key type \"%s\"",
		       EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");
}

/* DER SubjectPublicKeyInfo prefix of a P-256 named-curve key (id-ecPublicKey, prime256v1), up to
 * and including the BIT STRING's unused-bits byte; the 65-byte uncompressed point follows. */
static const unsigned char p256_spki_prefix[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

static int canonical_p256(EVP_PKEY *pub, unsigned char **out, size_t *outlen)
{
	BIGNUM *x = NULL, *y = NULL;
	unsigned char *buf = NULL;
	size_t n = sizeof(p256_spki_prefix);
	int r = -1;

	if (EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
		goto out;
	buf = OPENSSL_malloc(n + 65);
	if (!buf)
		goto out;
	memcpy(buf, p256_spki_prefix, n);
	buf[n] = 0x04;
	if (BN_bn2binpad(x, buf + n + 1, 32) != 32 || BN_bn2binpad(y, buf + n + 33, 32) != 32)
		goto out;
	*out = buf;
	*outlen = n + 65;
	buf = NULL;
	r = 0;
out:
	OPENSSL_free(buf);
	BN_free(x);
	BN_free(y);
	return r;
}

static int canonical_rsa(EVP_PKEY *pub, unsigned char **out, size_t *outlen)
{
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *rsa = NULL;
	unsigned char *der = NULL;
	int len, r = -1;

	if (EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		goto out;
	bld = OSSL_PARAM_BLD_new();
	if (!bld || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &rsa, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	len = i2d_PUBKEY(rsa, &der);
	if (len <= 0)
		goto out;
	*out = der;
	*outlen = (size_t)len;
	r = 0;
out:
	EVP_PKEY_free(rsa);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return r;
}

/*
 * One key, one keyid (issue #14 item 1): the id is computed over one canonical encoding of the
 * public key, whatever encoding it came in. Ed25519: the DER SPKI (there is only one). P-256:
 * the named-curve SPKI with the uncompressed point, also for a key written compressed or with
 * explicit curve parameters. RSA: the rsaEncryption SPKI of (n, e), also for a key written as an
 * RSASSA-PSS SPKI: it is the same key (OpenSSH and TUF identify RSA keys by n and e too), and
 * vmseal always verifies RSA with its own PSS parameters. The SPKI is first re-read by the
 * default provider, so token (pkcs11) keys are canonicalised by the same code.
 */
static int key_canonical_spki(EVP_PKEY *pkey, enum key_alg alg, unsigned char **out, size_t *outlen)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int len, r = -1;

	len = i2d_PUBKEY(pkey, &der);
	if (len <= 0)
		return -1;
	if (alg == KEY_ALG_ED25519) {
		*out = der;
		*outlen = (size_t)len;
		return 0;
	}
	p = der;
	pub = d2i_PUBKEY(NULL, &p, len);
	if (pub)
		r = alg == KEY_ALG_P256 ? canonical_p256(pub, out, outlen) : canonical_rsa(pub, out, outlen);
	EVP_PKEY_free(pub);
	OPENSSL_free(der);
	return r;
}

int key_material_cmp(const struct vs_key *a, const struct vs_key *b)
{
	if (a->spki_len != b->spki_len)
		return a->spki_len < b->spki_len ? -1 : 1;
	return memcmp(a->spki, b->spki, a->spki_len);
}

int key_same_material(const struct vs_key *a, const struct vs_key *b)
{
	return a->spki_len == b->spki_len && memcmp(a->spki, b->spki, a->spki_len) == 0;
}

/* A public vs_key of pkey (a reference is taken) whose canonical SPKI is der (owned). */
static int key_new_public(EVP_PKEY *pkey, enum key_alg alg, unsigned char *der, size_t derlen,
			  const char *object, struct vs_key **out, struct vs_error *err)
{
	struct vs_key *k = calloc(1, sizeof(*k));

	if (!k) {
		OPENSSL_free(der);
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	}
	pthread_mutex_init(&k->tmpl_lock, NULL);
	key_id_of_spki(der, derlen, k->id);
	k->spki = der;
	k->spki_len = derlen;
	EVP_PKEY_up_ref(pkey);
	k->pkey = pkey;
	k->alg = alg;
	k->has_private = 0;
	snprintf(k->source, sizeof(k->source), "file");
	*out = k;
	return 0;
}

int key_from_pkey(EVP_PKEY *pkey, const char *object, struct vs_key **out, struct vs_error *err)
{
	unsigned char *der = NULL;
	size_t derlen = 0;
	enum key_alg alg;

	if (classify(pkey, object, &alg, err) < 0)
		return -1;
	if (key_canonical_spki(pkey, alg, &der, &derlen) < 0)
		return vs_fail_ssl(err, VS_ERR_INPUT, object, "cannot encode public key");
	return key_new_public(pkey, alg, der, derlen, object, out, err);
}

/* The one DER SPKI of an Ed25519 key is this prefix and the 32-byte key (RFC 8410 §4). */
static const unsigned char ED25519_SPKI_PREFIX[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
						      0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
#define PEM_PUB_BEGIN "-----BEGIN PUBLIC KEY-----\n"
#define PEM_PUB_END "\n-----END PUBLIC KEY-----"

/*
 * Policies hold thousands of public keys, and OpenSSL 3.0's PEM decoder costs about 0.4 ms a
 * key (decoder and encoder lookups under process-wide locks), more than a whole cached decision.
 * The PEM of an Ed25519 key exactly as vmseal and openssl write it (one base64 line of the
 * 44-byte SPKI) is read here directly; anything else, and anything this does not recognise
 * byte for byte, goes to the decoder. Both give the same key and the same canonical SPKI.
 * Returns 1 when it did not apply, else 0 or -1 as key_from_public_pem.
 */
static int ed25519_public_pem_fast(const char *pem, size_t len, const char *object,
				   struct vs_key **out, struct vs_error *err)
{
	const size_t nb = sizeof(PEM_PUB_BEGIN) - 1, ne = sizeof(PEM_PUB_END) - 1, b64len = 60;
	uint8_t *der = NULL;
	size_t derlen = 0;
	EVP_PKEY *pkey;
	int r;

	if (len > 0 && pem[len - 1] == '\n')
		len--;
	if (len != nb + b64len + ne || memcmp(pem, PEM_PUB_BEGIN, nb) ||
	    memcmp(pem + nb + b64len, PEM_PUB_END, ne))
		return 1;
	if (b64_decode(pem + nb, b64len, 0, &der, &derlen) < 0 || derlen != 44 ||
	    memcmp(der, ED25519_SPKI_PREFIX, sizeof(ED25519_SPKI_PREFIX))) {
		free(der);
		return 1;
	}
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der + sizeof(ED25519_SPKI_PREFIX), 32);
	if (!pkey) {
		free(der);
		return 1;
	}
	{
		unsigned char *spki = OPENSSL_memdup(der, derlen);

		free(der);
		if (!spki) {
			EVP_PKEY_free(pkey);
			return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
		}
		r = key_new_public(pkey, KEY_ALG_ED25519, spki, 44, object, out, err);
	}
	EVP_PKEY_free(pkey);
	return r;
}

int key_from_public_pem(const char *pem, size_t len, const char *object, struct vs_key **out,
			struct vs_error *err)
{
	BIO *bio;
	EVP_PKEY *pkey;
	int r;

	if (len > VS_MAX_KEY_FILE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "public key PEM too large");
	if ((r = ed25519_public_pem_fast(pem, len, object, out, err)) != 1)
		return r;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!pkey)
		return vs_fail_ssl(err, VS_ERR_INPUT, object, "not a PEM public key (SubjectPublicKeyInfo)");
	r = key_from_pkey(pkey, object, out, err);
	EVP_PKEY_free(pkey);
	return r;
}

/* 1 when der[0..len) is one DER SEQUENCE filling it exactly (definite length, minimal form not
 * required here: the decoder judges the rest). */
static int der_one_sequence(const uint8_t *der, size_t len)
{
	size_t n, hdr = 2;

	if (len < 2 || der[0] != 0x30)
		return 0;
	n = der[1];
	if (n & 0x80) {
		size_t nb = n & 0x7f;

		if (nb == 0 || nb > 3 || len < 2 + nb)
			return 0;
		n = 0;
		for (size_t i = 0; i < nb; i++)
			n = n << 8 | der[2 + i];
		hdr += nb;
	}
	return hdr + n == len;
}

/* The base64 between the PEM's first PUBLIC KEY armour lines, line breaks taken out, decoded.
 * 0 with *der malloc'd, -1 when it has no such block or the body is not strict base64. */
static int pem_public_body(const char *pem, size_t len, uint8_t **der, size_t *derlen)
{
	static const char begin[] = "-----BEGIN PUBLIC KEY-----", end[] = "-----END PUBLIC KEY-----";
	const char *b = memmem(pem, len, begin, sizeof(begin) - 1), *e;
	char *b64;
	size_t n = 0;
	int r;

	if (!b)
		return -1;
	b += sizeof(begin) - 1;
	e = memmem(b, len - (size_t)(b - pem), end, sizeof(end) - 1);
	if (!e)
		return -1;
	b64 = malloc((size_t)(e - b) + 1);
	if (!b64)
		return -1;
	for (const char *c = b; c < e; c++)
		if (*c != '\n' && *c != '\r')
			b64[n++] = *c;
	r = n ? b64_decode(b64, n, 0, der, derlen) : -1;
	free(b64);
	return r;
}

int key_public_pem_precheck(const char *pem, size_t len, const char *object,
			    char id[static KEY_ID_HEX_LEN + 1], struct vs_error *err)
{
	const size_t nb = sizeof(PEM_PUB_BEGIN) - 1, ne = sizeof(PEM_PUB_END) - 1, b64len = 60;
	uint8_t *der = NULL;
	size_t derlen = 0, l = len;
	struct vs_key *k = NULL;
	int ok;

	id[0] = '\0';
	if (len > VS_MAX_KEY_FILE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "public key PEM too large");
	if (l > 0 && pem[l - 1] == '\n')
		l--;
	/* ed25519_public_pem_fast's form: the keyid is SHA-256 of these very 44 bytes */
	if (l == nb + b64len + ne && !memcmp(pem, PEM_PUB_BEGIN, nb) && !memcmp(pem + nb + b64len, PEM_PUB_END, ne) &&
	    b64_decode(pem + nb, b64len, 0, &der, &derlen) == 0 && derlen == 44 &&
	    !memcmp(der, ED25519_SPKI_PREFIX, sizeof(ED25519_SPKI_PREFIX))) {
		key_id_of_spki(der, derlen, id);
		free(der);
		return 0;
	}
	free(der);
	der = NULL;
	ok = pem_public_body(pem, len, &der, &derlen) == 0 && der_one_sequence(der, derlen);
	free(der);
	if (ok)
		return 0;
	/* Not refused on a look alone: only what the decoder refuses too (a policy that the
	 * full check accepts is never refused here). */
	if (key_from_public_pem(pem, len, object, &k, err) < 0)
		return -1;
	key_free(k);
	return 0;
}

int passphrase_prompt(const char *prompt, int confirm, char **out, struct vs_error *err)
{
	char *a = NULL, *b = NULL;
	int fd, r = -1;
	struct termios old, noecho;
	FILE *tty = NULL;

	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return vs_fail(err, VS_ERR_USAGE, NULL,
			       "a passphrase is needed and there is no terminal: use --passphrase-file");
	tty = fdopen(fd, "r+");
	if (!tty) {
		close(fd);
		return vs_fail(err, VS_ERR_INTERNAL, NULL, "cannot open terminal");
	}
	a = OPENSSL_secure_zalloc(VS_MAX_PASSPHRASE_BYTES);
	b = OPENSSL_secure_zalloc(VS_MAX_PASSPHRASE_BYTES);
	if (!a || !b || tcgetattr(fd, &old) < 0) {
		vs_fail(err, VS_ERR_INTERNAL, NULL, "cannot read passphrase from terminal");
		goto out;
	}
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	for (int round = 0; round < (confirm ? 2 : 1); round++) {
		char *buf = round ? b : a;

		fprintf(tty, "%s", round ? "Repeat passphrase: " : prompt);
		fflush(tty);
		tcsetattr(fd, TCSAFLUSH, &noecho);
		if (!fgets(buf, VS_MAX_PASSPHRASE_BYTES, tty))
			buf[0] = '\0';
		tcsetattr(fd, TCSAFLUSH, &old);
		fprintf(tty, "\n");
		buf[strcspn(buf, "\r\n")] = '\0';
	}
	if (!a[0]) {
		vs_fail(err, VS_ERR_USAGE, NULL, "empty passphrase");
		goto out;
	}
	if (confirm && strcmp(a, b) != 0) {
		vs_fail(err, VS_ERR_USAGE, NULL, "passphrases do not match");
		goto out;
	}
	*out = a;
	a = NULL;
	r = 0;
out:
	if (a)
		OPENSSL_secure_clear_free(a, VS_MAX_PASSPHRASE_BYTES);
	if (b)
		OPENSSL_secure_clear_free(b, VS_MAX_PASSPHRASE_BYTES);
	fclose(tty);
	return r;
}

struct pw_ctx {
	const char *passfile;
	const char *object;
	struct vs_error *err;
	int asked;
};

static int key_pem_password_cb(char *buf, int size, int rwflag, void *u)
{
	struct pw_ctx *c = u;
	char *p = NULL;
	int n;

	(void)rwflag;
	c->asked = 1;
	if (c->passfile) {
		if (passphrase_read_file(c->passfile, &p, c->err) < 0)
			return -1;
	} else {
		char prompt[VS_MAX_PATH_BYTES + 32];

		snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", c->object);
		if (passphrase_prompt(prompt, 0, &p, c->err) < 0)
			return -1;
		/* passphrase_prompt allocates a fixed-size buffer; normalise to passphrase_free's size */
	}
	n = (int)strlen(p);
	if (n >= size) {
		n = -1;
	} else {
		memcpy(buf, p, (size_t)n);
	}
	OPENSSL_cleanse(p, strlen(p));
	OPENSSL_secure_free(p);
	return n;
}

static int load_from_store(const char *uri, int want_private, struct pw_ctx *pw, EVP_PKEY **out,
			   struct vs_error *err)
{
	OSSL_STORE_CTX *st;
	UI_METHOD *ui = NULL;
	EVP_PKEY *found = NULL;

	ui = UI_UTIL_wrap_read_pem_callback(key_pem_password_cb, 0);
	st = OSSL_STORE_open(uri, ui, pw, NULL, NULL);
	if (!st) {
		UI_destroy_method(ui);
		return vs_fail_ssl(err, VS_ERR_IO, uri, "cannot open key store (is pkcs11-provider configured?)");
	}
	OSSL_STORE_expect(st, want_private ? OSSL_STORE_INFO_PKEY : OSSL_STORE_INFO_PUBKEY);
	while (!found && !OSSL_STORE_eof(st)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(st);

		if (!info)
			continue;
		if (want_private && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			found = OSSL_STORE_INFO_get1_PKEY(info);
		else if (!want_private && OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PUBKEY)
			found = OSSL_STORE_INFO_get1_PUBKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(st);
	UI_destroy_method(ui);
	if (!found)
		return vs_fail_ssl(err, VS_ERR_INPUT, uri,
				   want_private ? "no private key found" : "no public key found");
	*out = found;
	return 0;
}

/* A private key file whose parts disagree (a flipped bit in an RSA CRT parameter, a public point
 * that is not the private scalar's) loads without complaint in OpenSSL and then signs what no one
 * can verify. One sign/verify of a fixed message catches that at load time; OpenSSL's own
 * pairwise check tests RSA primes for primality (~0.5 s for 3072 bits), this costs one signature. */
static int key_self_test(struct vs_key **k, const char *object, struct vs_error *err)
{
	static const uint8_t msg[] = "vmseal key self-test";
	uint8_t *sig = NULL;
	size_t siglen = 0;
	int r = -1;

	if (key_sign(*k, NULL, msg, sizeof(msg), &sig, &siglen, err) < 0 ||
	    key_verify(*k, NULL, msg, sizeof(msg), sig, siglen, 0) < 0) {
		vs_fail(err, VS_ERR_INPUT, object,
			"corrupt private key: its signature does not verify under its own public key");
		key_free(*k);
		*k = NULL;
		goto out;
	}
	r = 0;
out:
	free(sig);
	return r;
}

int key_load_private(const char *spec, const char *passfile, struct vs_key **out, struct vs_error *err)
{
	struct pw_ctx pw = {passfile, spec, err, 0};
	EVP_PKEY *pkey = NULL;
	char *pem = NULL;
	size_t len = 0;
	int r;

	vs_error_clear(err);
	if (!strncmp(spec, "pkcs11:", 7)) {
		if (load_from_store(spec, 1, &pw, &pkey, err) < 0)
			return -1;
		r = key_from_pkey(pkey, spec, out, err);
		EVP_PKEY_free(pkey);
		if (r == 0) {
			(*out)->has_private = 1;
			snprintf((*out)->source, sizeof((*out)->source), "pkcs11");
		}
		return r;
	}
	if (file_read_secret(spec, VS_MAX_KEY_FILE_BYTES, "private key", &pem, &len, err) < 0)
		return -1;
	r = key_load_private_pem(pem, len, spec, passfile, out, err);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return r;
}

int key_load_private_pem(const char *pem, size_t len, const char *object, const char *passfile,
			 struct vs_key **out, struct vs_error *err)
{
	struct pw_ctx pw = {passfile, object, err, 0};
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int r;

	vs_error_clear(err);
	if (len > VS_MAX_KEY_FILE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "key file too large");
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio)
		pkey = PEM_read_bio_PrivateKey(bio, NULL, key_pem_password_cb, &pw);
	BIO_free(bio);
	if (!pkey) {
		if (err->kind != VS_ERR_NONE)
			return -1; /* passphrase file or prompt failed and said why */
		ERR_clear_error();
		if (pw.asked)
			return vs_fail(err, VS_ERR_INPUT, object, "wrong passphrase or corrupt key file");
		return vs_fail(err, VS_ERR_INPUT, object, "not a PEM private key");
	}
	r = key_from_pkey(pkey, object, out, err);
	EVP_PKEY_free(pkey);
	if (r == 0) {
		(*out)->has_private = 1;
		r = key_self_test(out, object, err);
	}
	return r;
}

int key_load_public(const char *spec, struct vs_key **out, struct vs_error *err)
{
	char *pem = NULL, *path = NULL;
	size_t len = 0, sl = strlen(spec);
	int r;

	vs_error_clear(err);
	if (!strncmp(spec, "pkcs11:", 7)) {
		struct pw_ctx pw = {NULL, spec, err, 0};
		EVP_PKEY *pkey = NULL;

		if (load_from_store(spec, 0, &pw, &pkey, err) < 0)
			return -1;
		r = key_from_pkey(pkey, spec, out, err);
		EVP_PKEY_free(pkey);
		if (r == 0)
			snprintf((*out)->source, sizeof((*out)->source), "pkcs11");
		return r;
	}
	if (sl > 4 && !strcmp(spec + sl - 4, ".key")) {
		path = strdup(spec);
		if (!path)
			return vs_fail(err, VS_ERR_INTERNAL, spec, "out of memory");
		memcpy(path + sl - 4, ".pub", 4);
		if (access(path, F_OK) != 0) {
			free(path);
			return vs_fail(err, VS_ERR_IO, spec, "no public key file beside it (expected .pub)");
		}
	}
	r = file_read_all(path ? path : spec, VS_MAX_KEY_FILE_BYTES, &pem, &len, err);
	if (r == 0)
		r = key_from_public_pem(pem, len, path ? path : spec, out, err);
	free(pem);
	free(path);
	return r;
}

static int entropy_ready(int wait)
{
	unsigned char b;

	if (getrandom(&b, 1, GRND_NONBLOCK) == 1)
		return 0;
	if (errno != EAGAIN || !wait)
		return -1;
	/* silently: front ends say that they wait (signer/vmseal-key.c key_cmd_entropy) */
	while (getrandom(&b, 1, 0) != 1)
		if (errno != EINTR)
			return -1;
	return 0;
}

int key_entropy_ready(int wait, struct vs_error *err)
{
#ifdef VMSEAL_TEST_BUILD
	/* The test build simulates a host whose entropy pool is not ready yet. */
	if (getenv("VMSEAL_TEST_NO_ENTROPY") || entropy_ready(wait) < 0)
#else
	if (entropy_ready(wait) < 0)
#endif
		return vs_fail(err, VS_ERR_IO, "entropy",
			       "kernel entropy pool not initialised; refusing to generate a key");
	return 0;
}

int key_generate(enum key_alg alg, int wait, struct vs_key **out, struct vs_error *err)
{
	EVP_PKEY *pkey = NULL;
	int r;

	if (key_entropy_ready(wait, err) < 0)
		return -1;
	switch (alg) {
	case KEY_ALG_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case KEY_ALG_P256:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case KEY_ALG_RSA3072:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	default:
		return vs_fail(err, VS_ERR_USAGE, "--alg", "unknown algorithm");
	}
	if (!pkey)
		return vs_fail_ssl(err, VS_ERR_INTERNAL, key_alg_name(alg), "key generation failed");
	r = key_from_pkey(pkey, "new key", out, err);
	EVP_PKEY_free(pkey);
	if (r == 0)
		(*out)->has_private = 1;
	return r;
}

static char *bio_to_string(BIO *bio, size_t *len)
{
	char *data, *copy;
	long n = BIO_get_mem_data(bio, &data);

	if (n < 0)
		return NULL;
	copy = OPENSSL_secure_malloc((size_t)n + 1);
	if (!copy)
		return NULL;
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	*len = (size_t)n;
	return copy;
}

char *key_public_pem(const struct vs_key *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s = NULL, *data;
	long n;

	if (!bio)
		return NULL;
	if (PEM_write_bio_PUBKEY(bio, k->pkey) == 1) {
		n = BIO_get_mem_data(bio, &data);
		s = malloc((size_t)n + 1);
		if (s) {
			memcpy(s, data, (size_t)n);
			s[n] = '\0';
		}
	}
	BIO_free(bio);
	return s;
}

int key_write_files(const struct vs_key *k, const char *base, const char *passphrase,
		    struct vs_error *err)
{
	char keypath[VS_MAX_PATH_BYTES], pubpath[VS_MAX_PATH_BYTES];
	BIO *bio = NULL;
	char *priv = NULL, *pub = NULL;
	size_t privlen = 0;
	int r = -1, ok;

	if (snprintf(keypath, sizeof(keypath), "%s.key", base) >= (int)sizeof(keypath) ||
	    snprintf(pubpath, sizeof(pubpath), "%s.pub", base) >= (int)sizeof(pubpath))
		return vs_fail(err, VS_ERR_USAGE, base, "path too long");
	if (access(keypath, F_OK) == 0)
		return vs_fail(err, VS_ERR_IO, keypath, "already exists; refusing to overwrite");
	if (access(pubpath, F_OK) == 0)
		return vs_fail(err, VS_ERR_IO, pubpath, "already exists; refusing to overwrite");
	/* A secure-heap memory BIO is not available; the PEM is cleansed from the BIO on free. */
	bio = BIO_new(BIO_s_secmem());
	if (!bio)
		bio = BIO_new(BIO_s_mem());
	if (!bio)
		return vs_fail(err, VS_ERR_INTERNAL, base, "out of memory");
	if (passphrase)
		ok = PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, EVP_aes_256_cbc(), passphrase,
						   (int)strlen(passphrase), NULL, NULL);
	else
		ok = PEM_write_bio_PKCS8PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL);
	if (ok != 1) {
		vs_fail_ssl(err, VS_ERR_INTERNAL, keypath, "cannot encode private key");
		goto out;
	}
	priv = bio_to_string(bio, &privlen);
	pub = key_public_pem(k);
	if (!priv || !pub) {
		vs_fail(err, VS_ERR_INTERNAL, base, "out of memory");
		goto out;
	}
	/* The public half goes first: a crash in between leaves a .pub without a .key, never a
	 * private key whose public half is missing. */
	if (file_write_atomic(pubpath, pub, strlen(pub), 0600, 0, err) < 0)
		goto out;
	fault_point("key-between-files");
	if (file_write_atomic(keypath, priv, privlen, 0600, 0, err) < 0) {
		unlink(pubpath);
		goto out;
	}
	r = 0;
out:
	if (priv) {
		OPENSSL_cleanse(priv, privlen);
		OPENSSL_secure_free(priv);
	}
	free(pub);
	BIO_free(bio);
	return r;
}

static int is_digest_alg(const struct vs_key *k)
{
	return k->alg != KEY_ALG_ED25519;
}

/* Starts a signing (sign = 1) or verifying context for k and md; RSA keys get PSS with the
 * salt length of the digest. */
static int start_ctx(const struct vs_key *k, const char *md, int sign, EVP_MD_CTX *ctx)
{
	EVP_PKEY_CTX *pctx = NULL;
	const char *mdname = is_digest_alg(k) ? (md ? md : "SHA256") : NULL;
	int r = sign ? EVP_DigestSignInit_ex(ctx, &pctx, mdname, NULL, NULL, k->pkey, NULL)
		     : EVP_DigestVerifyInit_ex(ctx, &pctx, mdname, NULL, NULL, k->pkey, NULL);

	if (r != 1)
		return -1;
	if (k->alg == KEY_ALG_RSA3072 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		return -1;
	return 0;
}

/* A context ready for one signature: a copy of the key's template when md is the default one,
 * else (or when copying is not possible) a fresh one. NULL on failure. */
static EVP_MD_CTX *ready_ctx(const struct vs_key *k, const char *md, int sign)
{
	struct vs_key *mk = (struct vs_key *)k; /* the template cache is not part of the value */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new(), *t;

	if (!ctx)
		return NULL;
	if ((!md || !strcmp(md, "SHA256") || !is_digest_alg(k)) && strcmp(k->source, "pkcs11")) {
		t = __atomic_load_n(&mk->tmpl[sign], __ATOMIC_ACQUIRE);
		if (!t && !__atomic_load_n(&mk->tmpl_failed[sign], __ATOMIC_RELAXED)) {
			pthread_mutex_lock(&mk->tmpl_lock);
			t = mk->tmpl[sign];
			if (!t && !mk->tmpl_failed[sign]) {
				t = EVP_MD_CTX_new();
				if (!t || start_ctx(k, NULL, sign, t) < 0) {
					EVP_MD_CTX_free(t);
					t = NULL;
					__atomic_store_n(&mk->tmpl_failed[sign], 1, __ATOMIC_RELAXED);
				} else {
					__atomic_store_n(&mk->tmpl[sign], t, __ATOMIC_RELEASE);
				}
			}
			pthread_mutex_unlock(&mk->tmpl_lock);
			ERR_clear_error();
		}
		if (t && EVP_MD_CTX_copy_ex(ctx, t) == 1)
			return ctx;
		ERR_clear_error();
		EVP_MD_CTX_reset(ctx);
	}
	if (start_ctx(k, md, sign, ctx) < 0) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int key_sign(const struct vs_key *k, const char *md, const uint8_t *msg, size_t len, uint8_t **sig,
	     size_t *siglen, struct vs_error *err)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	size_t n = 0;
	int r = -1;

	if (!k->has_private)
		return vs_fail(err, VS_ERR_USAGE, key_id(k), "not a private key");
	ctx = ready_ctx(k, md, 1);
	if (!ctx)
		return vs_fail_ssl(err, VS_ERR_INTERNAL, key_id(k), "cannot start signing");
	if (EVP_DigestSign(ctx, NULL, &n, msg, len) != 1 || !(buf = malloc(n)) ||
	    EVP_DigestSign(ctx, buf, &n, msg, len) != 1) {
		vs_fail_ssl(err, VS_ERR_INTERNAL, key_id(k), "signing failed");
		goto out;
	}
	*sig = buf;
	*siglen = n;
	buf = NULL;
	r = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return r;
}

static int ecdsa_raw_to_der(const uint8_t *raw, size_t rawlen, uint8_t **der, size_t *derlen)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, 32, NULL), *sv = BN_bin2bn(raw + 32, 32, NULL);
	unsigned char *p = NULL;
	int n;

	if (rawlen != 64 || !s || !r || !sv || ECDSA_SIG_set0(s, r, sv) != 1) {
		ECDSA_SIG_free(s);
		BN_free(r);
		BN_free(sv);
		return -1;
	}
	n = i2d_ECDSA_SIG(s, &p);
	ECDSA_SIG_free(s);
	if (n <= 0)
		return -1;
	*der = p;
	*derlen = (size_t)n;
	return 0;
}

int key_ecdsa_der_to_raw(const uint8_t *der, size_t derlen, uint8_t raw[static 64])
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	int r = -1;

	if (s && p == der + derlen &&
	    BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, 32) == 32 &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + 32, 32) == 32)
		r = 0;
	ECDSA_SIG_free(s);
	return r;
}

int key_verify(const struct vs_key *k, const char *md, const uint8_t *msg, size_t len,
	       const uint8_t *sig, size_t siglen, int raw_ecdsa)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t *der = NULL;
	size_t derlen = 0;
	int r = -1;

	if (k->alg == KEY_ALG_P256 && raw_ecdsa) {
		if (ecdsa_raw_to_der(sig, siglen, &der, &derlen) < 0)
			goto out;
		sig = der;
		siglen = derlen;
	}
	ctx = ready_ctx(k, md, 0);
	if (ctx && EVP_DigestVerify(ctx, sig, siglen, msg, len) == 1)
		r = 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return r;
}

const char *key_id(const struct vs_key *k)
{
	return k ? k->id : "(no key)";
}

enum key_alg key_alg(const struct vs_key *k)
{
	return k->alg;
}

int key_has_private(const struct vs_key *k)
{
	return k->has_private;
}

EVP_PKEY *key_pkey(const struct vs_key *k)
{
	return k->pkey;
}

const char *key_source(const struct vs_key *k)
{
	return k->source;
}

void key_free(struct vs_key *k)
{
	if (!k)
		return;
	EVP_MD_CTX_free(k->tmpl[0]);
	EVP_MD_CTX_free(k->tmpl[1]);
	pthread_mutex_destroy(&k->tmpl_lock);
	EVP_PKEY_free(k->pkey);
	OPENSSL_free(k->spki);
	free(k);
}

static int fixed_password_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pass = u;
	size_t n;

	(void)rwflag;
	if (!pass)
		return -1; /* encrypted, and no passphrase given: never prompt from here */
	n = strlen(pass);
	if (n >= (size_t)size)
		return -1;
	memcpy(buf, pass, n);
	return (int)n;
}

int key_from_private_pem_mem(const char *pem, size_t len, const char *passphrase, const char *object,
			     struct vs_key **out, struct vs_error *err)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio;
	int r;

	if (len > VS_MAX_KEY_FILE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "private key PEM too large");
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	pkey = PEM_read_bio_PrivateKey(bio, NULL, fixed_password_cb, (void *)passphrase);
	BIO_free(bio);
	if (!pkey)
		return vs_fail_ssl(err, VS_ERR_INPUT, object,
				   "not a PEM private key, or wrong passphrase");
	r = key_from_pkey(pkey, object, out, err);
	EVP_PKEY_free(pkey);
	if (r == 0) {
		(*out)->has_private = 1;
		r = key_self_test(out, object, err);
	}
	return r;
}
