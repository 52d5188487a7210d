/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSH certificates: build, sign, parse strictly, verify. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "sshcert.h"
#include "util.h"

#define NONCE_LEN 32

/* In the order the wire format needs: names sorted by strcmp. */
static const struct {
	unsigned bit;
	const char *name;
} exts[] = {
	{SSHCERT_EXT_NO_TOUCH, "no-touch-required"},
	{SSHCERT_EXT_X11, "permit-X11-forwarding"},
	{SSHCERT_EXT_AGENT, "permit-agent-forwarding"},
	{SSHCERT_EXT_PORT, "permit-port-forwarding"},
	{SSHCERT_EXT_PTY, "permit-pty"},
	{SSHCERT_EXT_USER_RC, "permit-user-rc"},
};
#define NEXTS (sizeof(exts) / sizeof(exts[0]))

unsigned sshcert_ext_parse(const char *name)
{
	for (size_t i = 0; i < NEXTS; i++)
		if (!strcmp(exts[i].name, name))
			return exts[i].bit;
	return 0;
}

const char *sshcert_ext_name(unsigned bit)
{
	for (size_t i = 0; i < NEXTS; i++)
		if (exts[i].bit == bit)
			return exts[i].name;
	return NULL;
}

static int printable(const char *s, int allow_space)
{
	for (; *s; s++)
		if ((unsigned char)*s < (allow_space ? 0x20 : 0x21) || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int principal_ok(const char *p)
{
	if (!p[0] || p[0] == '-')
		return 0;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("._@+-", *p)))
			return 0;
	return 1;
}

/* One address or CIDR block: inet_pton and a prefix within the family's width. */
static int cidr_ok(const char *s, size_t n)
{
	char buf[64], *slash;
	uint8_t addr[16];
	int bits = -1, fam;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash) {
		char *end;
		long v;

		*slash = '\0';
		if (!slash[1] || (slash[1] == '0' && slash[2]))
			return 0;
		v = strtol(slash + 1, &end, 10);
		if (*end || v < 0 || v > 128)
			return 0;
		bits = (int)v;
	}
	fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, buf, addr) != 1)
		return 0;
	return bits <= (fam == AF_INET ? 32 : 128);
}

static int source_address_ok(const char *s)
{
	while (1) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);

		if (!cidr_ok(s, n))
			return 0;
		if (!c)
			return 1;
		s = c + 1;
	}
}

int sshcert_check(const struct sshcert *c, struct vs_error *err)
{
	const char *o = "certificate";

	if (c->type != SSHCERT_USER && c->type != SSHCERT_HOST)
		return vs_fail(err, VS_ERR_INPUT, o, "type must be user or host");
	if (!c->key || !sshkey_type_name(c->key->type))
		return vs_fail(err, VS_ERR_INPUT, o, "no public key to certify");
	if (c->nprincipals == 0 || c->nprincipals > VS_MAX_SSH_PRINCIPALS)
		return vs_fail(err, VS_ERR_INPUT, o, "needs 1 to %u principals", VS_MAX_SSH_PRINCIPALS);
	for (size_t i = 0; i < c->nprincipals; i++) {
		if (!principal_ok(c->principals[i]))
			return vs_fail(err, VS_ERR_INPUT, o, "principal \"%.64s\" is not a name",
				       c->principals[i]);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->principals[i], c->principals[j]))
				return vs_fail(err, VS_ERR_INPUT, o, "principal \"%.64s\" twice",
					       c->principals[i]);
	}
	if (!printable(c->key_id, 1))
		return vs_fail(err, VS_ERR_INPUT, o, "key id is not printable");
	if (c->valid_after >= c->valid_before)
		return vs_fail(err, VS_ERR_INPUT, o, "valid_after is not before valid_before");
	if (c->type == SSHCERT_HOST && (c->force_command[0] || c->source_address[0] || c->extensions))
		return vs_fail(err, VS_ERR_INPUT, o, "a host certificate carries no options");
	if (c->extensions & ~SSHCERT_EXT_ALL)
		return vs_fail(err, VS_ERR_INPUT, o, "unknown extension bit");
	if (c->force_command[0] && !printable(c->force_command, 1))
		return vs_fail(err, VS_ERR_INPUT, o, "force-command is not printable");
	if (c->source_address[0] && !source_address_ok(c->source_address))
		return vs_fail(err, VS_ERR_INPUT, o, "source-address \"%.64s\" is not a list of "
			       "addresses or CIDR blocks", c->source_address);
	return 0;
}

/* name, then a string holding the string value (critical options carry a string each). */
static void put_option(struct sshbuf *b, const char *name, const char *value)
{
	struct sshbuf v = {0};

	sshbuf_put_cstring(&v, value);
	sshbuf_put_cstring(b, name);
	if (v.failed)
		b->failed = 1;
	else
		sshbuf_put_string(b, v.d, v.len);
	sshbuf_free(&v);
}

int sshcert_sign(const struct sshcert *c, const struct vs_key *ca, const char *comment,
		 char **line, uint8_t **blob, size_t *bloblen, struct vs_error *err)
{
	struct sshbuf b = {0}, sub = {0}, sig = {0};
	struct sshkey *cakey = NULL;
	uint8_t nonce[NONCE_LEN];
	char *b64 = NULL;
	int r = -1;

	if (line)
		*line = NULL;
	if (blob)
		*blob = NULL;
	if (sshcert_check(c, err) < 0)
		return -1;
	if (sshkey_from_pkey(key_pkey(ca), "SSH CA key", &cakey, err) < 0)
		return -1;
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		vs_fail_ssl(err, VS_ERR_INTERNAL, "certificate", "no random nonce");
		goto out;
	}
	sshbuf_put_cstring(&b, sshkey_cert_type_name(c->key->type));
	sshbuf_put_string(&b, nonce, sizeof(nonce));
	if (sshkey_put_fields(c->key, &b) < 0)
		b.failed = 1;
	sshbuf_put_u64(&b, c->serial);
	sshbuf_put_u32(&b, (uint32_t)c->type);
	sshbuf_put_cstring(&b, c->key_id);
	for (size_t i = 0; i < c->nprincipals; i++)
		sshbuf_put_cstring(&sub, c->principals[i]);
	sshbuf_put_string(&b, sub.d, sub.len);
	sshbuf_free(&sub);
	sshbuf_put_u64(&b, c->valid_after);
	sshbuf_put_u64(&b, c->valid_before);
	if (c->force_command[0])
		put_option(&sub, "force-command", c->force_command);
	if (c->source_address[0])
		put_option(&sub, "source-address", c->source_address);
	sshbuf_put_string(&b, sub.d, sub.len);
	sshbuf_free(&sub);
	for (size_t i = 0; i < NEXTS; i++)
		if (c->extensions & exts[i].bit) {
			sshbuf_put_cstring(&sub, exts[i].name);
			sshbuf_put_string(&sub, NULL, 0);
		}
	sshbuf_put_string(&b, sub.d, sub.len);
	sshbuf_put_string(&b, NULL, 0); /* reserved */
	sshbuf_put_string(&b, cakey->blob, cakey->bloblen);
	if (b.failed || sub.failed) {
		vs_fail(err, VS_ERR_INTERNAL, "certificate", "out of memory or over %u bytes",
			VS_MAX_SSH_BLOB_BYTES);
		goto out;
	}
	if (sshkey_sign(ca, b.d, b.len, &sig, err) < 0)
		goto out;
	sshbuf_put_string(&b, sig.d, sig.len);
	if (b.failed || !(b64 = b64_encode(b.d, b.len))) {
		vs_fail(err, VS_ERR_INTERNAL, "certificate", "out of memory");
		goto out;
	}
	if (line && asprintf(line, "%s %s%s%s\n", sshkey_cert_type_name(c->key->type), b64,
			     comment ? " " : "", comment ? comment : "") < 0) {
		*line = NULL;
		vs_fail(err, VS_ERR_INTERNAL, "certificate", "out of memory");
		goto out;
	}
	if (blob) {
		*blob = b.d;
		*bloblen = b.len;
		b.d = NULL;
	}
	r = 0;
out:
	OPENSSL_cleanse(nonce, sizeof(nonce));
	free(b64);
	sshbuf_free(&b);
	sshbuf_free(&sub);
	sshbuf_free(&sig);
	sshkey_free(cakey);
	return r;
}

void sshcert_clear(struct sshcert *c)
{
	if (!c)
		return;
	sshkey_free(c->key);
	sshkey_free(c->ca);
	c->key = c->ca = NULL;
}

/* Reads a critical option's value: a string holding exactly one string. */
static int option_value(const uint8_t *d, size_t n, char *out, size_t max)
{
	struct sshrd r;

	sshrd_init(&r, d, n);
	return sshrd_cstring(&r, out, max) < 0 || sshrd_done(&r) < 0 ? -1 : 0;
}

static int parse_options(const uint8_t *d, size_t n, struct sshcert *c, struct vs_error *err,
			 const char *o)
{
	struct sshrd r;
	char name[64], prev[64] = "";
	const uint8_t *v;
	size_t vn;

	sshrd_init(&r, d, n);
	for (size_t i = 0; r.off < r.len; i++) {
		if (i >= VS_MAX_SSH_OPTIONS || sshrd_cstring(&r, name, sizeof(name) - 1) < 0 ||
		    sshrd_string(&r, VS_MAX_SSH_OPTION_BYTES + 4, &v, &vn) < 0)
			return vs_fail(err, VS_ERR_INPUT, o, "malformed critical options");
		if (strcmp(prev, name) >= 0)
			return vs_fail(err, VS_ERR_INPUT, o, "critical options out of order or repeated");
		snprintf(prev, sizeof(prev), "%s", name);
		if (!strcmp(name, "force-command")) {
			if (option_value(v, vn, c->force_command, VS_MAX_SSH_OPTION_BYTES) < 0 ||
			    !c->force_command[0] || !printable(c->force_command, 1))
				return vs_fail(err, VS_ERR_INPUT, o, "malformed force-command");
		} else if (!strcmp(name, "source-address")) {
			if (option_value(v, vn, c->source_address, VS_MAX_SSH_OPTION_BYTES) < 0 ||
			    !source_address_ok(c->source_address))
				return vs_fail(err, VS_ERR_INPUT, o, "malformed source-address");
		} else {
			return vs_fail(err, VS_ERR_INPUT, o, "unknown critical option \"%s\"", name);
		}
	}
	return 0;
}

static int parse_extensions(const uint8_t *d, size_t n, struct sshcert *c, struct vs_error *err,
			    const char *o)
{
	struct sshrd r;
	char name[64], prev[64] = "";
	const uint8_t *v;
	size_t vn;
	unsigned bit;

	sshrd_init(&r, d, n);
	for (size_t i = 0; r.off < r.len; i++) {
		if (i >= VS_MAX_SSH_OPTIONS || sshrd_cstring(&r, name, sizeof(name) - 1) < 0 ||
		    sshrd_string(&r, 0, &v, &vn) < 0)
			return vs_fail(err, VS_ERR_INPUT, o, "malformed extensions");
		if (strcmp(prev, name) >= 0)
			return vs_fail(err, VS_ERR_INPUT, o, "extensions out of order or repeated");
		snprintf(prev, sizeof(prev), "%s", name);
		bit = sshcert_ext_parse(name);
		if (!bit)
			return vs_fail(err, VS_ERR_INPUT, o, "unknown extension \"%s\"", name);
		c->extensions |= bit;
	}
	return 0;
}

int sshcert_parse(const uint8_t *blob, size_t len, const char *o, struct sshcert *c,
		  struct vs_error *err)
{
	struct sshrd r, pr;
	const uint8_t *name, *nonce, *pd, *od, *ed, *rd, *cad, *sig;
	size_t n, nn, pn, on, en, rn, can, sn, signed_len;
	uint32_t type;
	enum sshkey_type kt;

	memset(c, 0, sizeof(*c));
	if (len > VS_MAX_SSH_BLOB_BYTES)
		return vs_fail(err, VS_ERR_INPUT, o, "certificate over %u bytes", VS_MAX_SSH_BLOB_BYTES);
	sshrd_init(&r, blob, len);
	if (sshrd_string(&r, 64, &name, &n) < 0 ||
	    (kt = sshkey_type_parse((const char *)name, n, 1)) == SSHKEY_UNKNOWN)
		return vs_fail(err, VS_ERR_INPUT, o, "not a supported certificate type");
	if (sshrd_string(&r, VS_MAX_SSH_NONCE_BYTES, &nonce, &nn) < 0 || nn < VS_MIN_SSH_NONCE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, o, "nonce not %u..%u bytes", VS_MIN_SSH_NONCE_BYTES,
			       VS_MAX_SSH_NONCE_BYTES);
	if (sshkey_read_fields(&r, kt, o, &c->key, err) < 0)
		goto fail;
	if (sshrd_u64(&r, &c->serial) < 0 || sshrd_u32(&r, &type) < 0 ||
	    (type != SSHCERT_USER && type != SSHCERT_HOST)) {
		vs_fail(err, VS_ERR_INPUT, o, "bad serial or certificate type");
		goto fail;
	}
	c->type = (enum sshcert_type)type;
	if (sshrd_cstring(&r, c->key_id, VS_MAX_SSH_KEY_ID_BYTES) < 0) {
		vs_fail(err, VS_ERR_INPUT, o, "bad key id");
		goto fail;
	}
	if (sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &pd, &pn) < 0) {
		vs_fail(err, VS_ERR_INPUT, o, "bad principals");
		goto fail;
	}
	sshrd_init(&pr, pd, pn);
	while (pr.off < pr.len) {
		if (c->nprincipals >= VS_MAX_SSH_PRINCIPALS ||
		    sshrd_cstring(&pr, c->principals[c->nprincipals], VS_MAX_SSH_PRINCIPAL_BYTES) < 0) {
			vs_fail(err, VS_ERR_INPUT, o, "bad principal or more than %u",
				VS_MAX_SSH_PRINCIPALS);
			goto fail;
		}
		c->nprincipals++;
	}
	if (sshrd_u64(&r, &c->valid_after) < 0 || sshrd_u64(&r, &c->valid_before) < 0 ||
	    sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &od, &on) < 0 ||
	    sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &ed, &en) < 0 ||
	    sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &rd, &rn) < 0) {
		vs_fail(err, VS_ERR_INPUT, o, "truncated certificate");
		goto fail;
	}
	if (parse_options(od, on, c, err, o) < 0 || parse_extensions(ed, en, c, err, o) < 0)
		goto fail;
	if (rn != 0) {
		vs_fail(err, VS_ERR_INPUT, o, "reserved field is not empty");
		goto fail;
	}
	if (sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &cad, &can) < 0 ||
	    sshkey_from_blob(cad, can, o, &c->ca, err) < 0) {
		if (!err || !err->reason[0])
			vs_fail(err, VS_ERR_INPUT, o, "bad signature key");
		vs_error_prefix(err, "CA key");
		goto fail;
	}
	signed_len = r.off;
	if (sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &sig, &sn) < 0 || sshrd_done(&r) < 0) {
		vs_fail(err, VS_ERR_INPUT, o, "bad signature field or trailing data");
		goto fail;
	}
	if (sshkey_verify(c->ca, sig, sn, blob, signed_len, err) < 0) {
		vs_error_prefix(err, "certificate");
		goto fail;
	}
	return 0;
fail:
	sshcert_clear(c);
	return -1;
}

int sshcert_parse_line(const char *line, size_t len, const char *object, struct sshcert *c,
		       struct vs_error *err)
{
	const char *sp, *b64, *end;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	enum sshkey_type t;
	int r;

	memset(c, 0, sizeof(*c));
	if (len > VS_MAX_SSH_LINE_BYTES)
		return vs_fail(err, VS_ERR_INPUT, object, "line over %u bytes", VS_MAX_SSH_LINE_BYTES);
	if (len > 0 && line[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return vs_fail(err, VS_ERR_INPUT, object, "control character in the line");
	sp = memchr(line, ' ', len);
	if (!sp || (t = sshkey_type_parse(line, (size_t)(sp - line), 1)) == SSHKEY_UNKNOWN)
		return vs_fail(err, VS_ERR_INPUT, object, "not \"TYPE-cert-v01@openssh.com BASE64\"");
	b64 = sp + 1;
	end = memchr(b64, ' ', (size_t)(line + len - b64));
	if (b64_decode(b64, (size_t)((end ? end : line + len) - b64), 0, &blob, &bloblen) < 0)
		return vs_fail(err, VS_ERR_INPUT, object, "certificate is not valid base64");
	r = sshcert_parse(blob, bloblen, object, c, err);
	free(blob);
	if (r == 0 && c->key->type != t) {
		sshcert_clear(c);
		return vs_fail(err, VS_ERR_INPUT, object, "line type does not match the certificate");
	}
	return r;
}
