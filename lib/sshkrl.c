/* SPDX-License-Identifier: Apache-2.0 */
/* OpenSSH KRLs: serials under one CA, plain keys by SHA-256 fingerprint. */
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "limits.h"
#include "sshbuf.h"
#include "sshkrl.h"

#define KRL_MAGIC 0x5353484b524c0a00ULL
#define KRL_FORMAT_VERSION 1
#define KRL_SECTION_CERTIFICATES 1
#define KRL_SECTION_FINGERPRINT_SHA256 5
#define KRL_SECTION_CERT_SERIAL_LIST 0x20

void sshkrl_clear(struct sshkrl *k)
{
	if (!k)
		return;
	sshkey_free(k->ca);
	free(k->serials);
	free(k->fps);
	memset(k, 0, sizeof(*k));
}

/* Grows an array to hold one more element (within VS_MAX_SSH_REVOKED). */
static int grow(void **arr, size_t n, size_t elem, struct vs_error *err)
{
	void *p;

	if (n >= VS_MAX_SSH_REVOKED)
		return vs_fail(err, VS_ERR_DENIED, "KRL", "already %u entries", VS_MAX_SSH_REVOKED);
	p = realloc(*arr, (n + 1) * elem);
	if (!p)
		return vs_fail(err, VS_ERR_INTERNAL, "KRL", "out of memory");
	*arr = p;
	return 0;
}

int sshkrl_add_serial(struct sshkrl *k, uint64_t serial, struct vs_error *err)
{
	size_t lo = 0, hi = k->nserials;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->serials[mid] == serial)
			return 1;
		if (k->serials[mid] < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (grow((void **)&k->serials, k->nserials, sizeof(*k->serials), err) < 0)
		return -1;
	memmove(k->serials + lo + 1, k->serials + lo, (k->nserials - lo) * sizeof(*k->serials));
	k->serials[lo] = serial;
	k->nserials++;
	return 0;
}

static size_t fp_find(const struct sshkrl *k, const uint8_t fp[static 32], int *found)
{
	size_t lo = 0, hi = k->nfps;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(k->fps[mid], fp, 32);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int sshkrl_add_fingerprint(struct sshkrl *k, const uint8_t fp[static 32], struct vs_error *err)
{
	int found;
	size_t at = fp_find(k, fp, &found);

	if (found)
		return 1;
	if (grow((void **)&k->fps, k->nfps, sizeof(*k->fps), err) < 0)
		return -1;
	memmove(k->fps + at + 1, k->fps + at, (k->nfps - at) * sizeof(*k->fps));
	memcpy(k->fps[at], fp, 32);
	k->nfps++;
	return 0;
}

int sshkrl_serial_revoked(const struct sshkrl *k, uint64_t serial)
{
	size_t lo = 0, hi = k->nserials;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->serials[mid] == serial)
			return 1;
		if (k->serials[mid] < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int sshkrl_key_revoked(const struct sshkrl *k, const struct sshkey *key)
{
	uint8_t h[32];
	int found;

	SHA256(key->blob, key->bloblen, h);
	fp_find(k, h, &found);
	return found;
}

int sshkrl_encode(const struct sshkrl *k, const char *comment, uint8_t **out, size_t *len,
		  struct vs_error *err)
{
	struct sshbuf b = {0}, sec = {0}, list = {0};

	*out = NULL;
	sshbuf_put_u64(&b, KRL_MAGIC);
	sshbuf_put_u32(&b, KRL_FORMAT_VERSION);
	sshbuf_put_u64(&b, k->version);
	sshbuf_put_u64(&b, k->generated);
	sshbuf_put_u64(&b, 0); /* flags */
	sshbuf_put_string(&b, NULL, 0);
	sshbuf_put_cstring(&b, comment ? comment : "");
	if (k->nserials) {
		if (!k->ca) {
			sshbuf_free(&b);
			return vs_fail(err, VS_ERR_INTERNAL, "KRL", "serials without a CA");
		}
		for (size_t i = 0; i < k->nserials; i++)
			sshbuf_put_u64(&list, k->serials[i]);
		sshbuf_put_string(&sec, k->ca->blob, k->ca->bloblen);
		sshbuf_put_string(&sec, NULL, 0);
		sshbuf_put_u8(&sec, KRL_SECTION_CERT_SERIAL_LIST);
		sshbuf_put_string(&sec, list.d, list.len);
		sshbuf_put_u8(&b, KRL_SECTION_CERTIFICATES);
		sshbuf_put_string(&b, sec.d, sec.len);
		if (list.failed || sec.failed)
			b.failed = 1;
		sshbuf_free(&list);
		sshbuf_free(&sec);
	}
	if (k->nfps) {
		for (size_t i = 0; i < k->nfps; i++)
			sshbuf_put_string(&sec, k->fps[i], 32);
		sshbuf_put_u8(&b, KRL_SECTION_FINGERPRINT_SHA256);
		sshbuf_put_string(&b, sec.d, sec.len);
		if (sec.failed)
			b.failed = 1;
		sshbuf_free(&sec);
	}
	if (b.failed) {
		sshbuf_free(&b);
		return vs_fail(err, VS_ERR_INTERNAL, "KRL", "out of memory or over %u bytes",
			       VS_MAX_SSH_BLOB_BYTES);
	}
	*out = b.d;
	*len = b.len;
	return 0;
}

static int parse_certs(const uint8_t *d, size_t n, const char *o, struct sshkrl *k,
		       struct vs_error *err)
{
	struct sshrd r, lr;
	const uint8_t *ca, *res, *sub;
	size_t can, resn, subn;
	struct sshkey *key = NULL;
	uint8_t type;

	sshrd_init(&r, d, n);
	if (sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &ca, &can) < 0 || can == 0 ||
	    sshrd_string(&r, 0, &res, &resn) < 0)
		return vs_fail(err, VS_ERR_INPUT, o, "certificate section: no CA key or reserved "
			       "field not empty");
	if (sshkey_from_blob(ca, can, o, &key, err) < 0)
		return -1;
	if (k->ca && !sshkey_equal(k->ca, key)) {
		sshkey_free(key);
		return vs_fail(err, VS_ERR_INPUT, o, "certificate sections of two CAs");
	}
	if (!k->ca)
		k->ca = key;
	else
		sshkey_free(key);
	if (r.off == r.len)
		return vs_fail(err, VS_ERR_INPUT, o, "empty certificate section");
	while (r.off < r.len) {
		if (sshrd_u8(&r, &type) < 0 || type != KRL_SECTION_CERT_SERIAL_LIST ||
		    sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &sub, &subn) < 0 || subn == 0 || subn % 8)
			return vs_fail(err, VS_ERR_INPUT, o, "certificate section: only non-empty "
				       "serial lists are read");
		sshrd_init(&lr, sub, subn);
		while (lr.off < lr.len) {
			uint64_t s;

			sshrd_u64(&lr, &s);
			if (k->nserials && s <= k->serials[k->nserials - 1])
				return vs_fail(err, VS_ERR_INPUT, o, "serials not in ascending order");
			if (sshkrl_add_serial(k, s, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int parse_fps(const uint8_t *d, size_t n, const char *o, struct sshkrl *k,
		     struct vs_error *err)
{
	struct sshrd r;
	const uint8_t *fp;
	size_t fn;

	sshrd_init(&r, d, n);
	if (n == 0)
		return vs_fail(err, VS_ERR_INPUT, o, "empty fingerprint section");
	while (r.off < r.len) {
		if (sshrd_string(&r, 32, &fp, &fn) < 0 || fn != 32)
			return vs_fail(err, VS_ERR_INPUT, o, "fingerprint is not 32 bytes");
		if (k->nfps && memcmp(fp, k->fps[k->nfps - 1], 32) <= 0)
			return vs_fail(err, VS_ERR_INPUT, o, "fingerprints not in ascending order");
		if (sshkrl_add_fingerprint(k, fp, err) < 0)
			return -1;
	}
	return 0;
}

int sshkrl_parse(const uint8_t *d, size_t len, const char *o, struct sshkrl *k,
		 struct vs_error *err)
{
	struct sshrd r;
	uint64_t magic, flags;
	uint32_t format;
	const uint8_t *res, *comment, *sec;
	size_t resn, cn, secn;
	uint8_t type;
	int seen_fps = 0;

	memset(k, 0, sizeof(*k));
	if (len > VS_MAX_SSH_BLOB_BYTES)
		return vs_fail(err, VS_ERR_INPUT, o, "KRL over %u bytes", VS_MAX_SSH_BLOB_BYTES);
	sshrd_init(&r, d, len);
	if (sshrd_u64(&r, &magic) < 0 || magic != KRL_MAGIC || sshrd_u32(&r, &format) < 0 ||
	    format != KRL_FORMAT_VERSION)
		return vs_fail(err, VS_ERR_INPUT, o, "not an OpenSSH KRL of format 1");
	if (sshrd_u64(&r, &k->version) < 0 || sshrd_u64(&r, &k->generated) < 0 ||
	    sshrd_u64(&r, &flags) < 0 || flags != 0 || sshrd_string(&r, 0, &res, &resn) < 0 ||
	    sshrd_string(&r, VS_MAX_SSH_KRL_COMMENT_BYTES, &comment, &cn) < 0)
		return vs_fail(err, VS_ERR_INPUT, o, "bad KRL header");
	while (r.off < r.len) {
		if (sshrd_u8(&r, &type) < 0 || sshrd_string(&r, VS_MAX_SSH_BLOB_BYTES, &sec, &secn) < 0) {
			vs_fail(err, VS_ERR_INPUT, o, "truncated section");
			goto fail;
		}
		if (type == KRL_SECTION_CERTIFICATES && !seen_fps) {
			if (parse_certs(sec, secn, o, k, err) < 0)
				goto fail;
		} else if (type == KRL_SECTION_FINGERPRINT_SHA256) {
			seen_fps = 1;
			if (parse_fps(sec, secn, o, k, err) < 0)
				goto fail;
		} else {
			vs_fail(err, VS_ERR_INPUT, o, "section type %u is not read here", type);
			goto fail;
		}
	}
	return 0;
fail:
	sshkrl_clear(k);
	return -1;
}
