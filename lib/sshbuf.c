/* SPDX-License-Identifier: Apache-2.0 */
/* SSH wire format: bounded writer, strict reader. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "limits.h"
#include "sshbuf.h"

int sshbuf_put(struct sshbuf *b, const void *data, size_t n)
{
	size_t max = b->max ? b->max : VS_MAX_SSH_BLOB_BYTES;

	if (b->failed || n > max || b->len > max - n)
		goto fail;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *d;

		while (cap < b->len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		d = malloc(cap);
		if (!d)
			goto fail;
		if (b->d) {
			memcpy(d, b->d, b->len);
			OPENSSL_cleanse(b->d, b->cap);
			free(b->d);
		}
		b->d = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->d + b->len, data, n);
	b->len += n;
	return 0;
fail:
	b->failed = 1;
	return -1;
}

int sshbuf_put_u8(struct sshbuf *b, uint8_t v)
{
	return sshbuf_put(b, &v, 1);
}

int sshbuf_put_u32(struct sshbuf *b, uint32_t v)
{
	uint8_t x[4] = {v >> 24, v >> 16, v >> 8, v};

	return sshbuf_put(b, x, 4);
}

int sshbuf_put_u64(struct sshbuf *b, uint64_t v)
{
	return sshbuf_put_u32(b, (uint32_t)(v >> 32)) | sshbuf_put_u32(b, (uint32_t)v);
}

int sshbuf_put_string(struct sshbuf *b, const void *data, size_t n)
{
	if (n > UINT32_MAX) {
		b->failed = 1;
		return -1;
	}
	return sshbuf_put_u32(b, (uint32_t)n) | sshbuf_put(b, data, n);
}

int sshbuf_put_cstring(struct sshbuf *b, const char *s)
{
	return sshbuf_put_string(b, s, strlen(s));
}

int sshbuf_put_mpint(struct sshbuf *b, const uint8_t *be, size_t n)
{
	while (n > 0 && be[0] == 0) {
		be++;
		n--;
	}
	if (n == 0)
		return sshbuf_put_u32(b, 0);
	if (n >= UINT32_MAX) {
		b->failed = 1;
		return -1;
	}
	if (be[0] & 0x80)
		return sshbuf_put_u32(b, (uint32_t)n + 1) | sshbuf_put_u8(b, 0) | sshbuf_put(b, be, n);
	return sshbuf_put_string(b, be, n);
}

void sshbuf_free(struct sshbuf *b)
{
	if (!b)
		return;
	if (b->d) {
		OPENSSL_cleanse(b->d, b->cap);
		free(b->d);
	}
	b->d = NULL;
	b->len = b->cap = 0;
}

void sshrd_init(struct sshrd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}

static int take(struct sshrd *r, size_t n, const uint8_t **p)
{
	if (n > r->len - r->off)
		return -1;
	*p = r->p + r->off;
	r->off += n;
	return 0;
}

int sshrd_u8(struct sshrd *r, uint8_t *v)
{
	const uint8_t *p;

	if (take(r, 1, &p) < 0)
		return -1;
	*v = p[0];
	return 0;
}

int sshrd_u32(struct sshrd *r, uint32_t *v)
{
	const uint8_t *p;

	if (take(r, 4, &p) < 0)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return 0;
}

int sshrd_u64(struct sshrd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (sshrd_u32(r, &hi) < 0 || sshrd_u32(r, &lo) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int sshrd_string(struct sshrd *r, size_t max, const uint8_t **data, size_t *n)
{
	uint32_t len;
	size_t save = r->off;

	if (sshrd_u32(r, &len) < 0 || len > max || take(r, len, data) < 0) {
		r->off = save;
		return -1;
	}
	*n = len;
	return 0;
}

int sshrd_cstring(struct sshrd *r, char *out, size_t max)
{
	const uint8_t *d;
	size_t n;

	if (sshrd_string(r, max, &d, &n) < 0 || memchr(d, 0, n))
		return -1;
	memcpy(out, d, n);
	out[n] = '\0';
	return 0;
}

int sshrd_mpint(struct sshrd *r, size_t max, const uint8_t **be, size_t *n)
{
	const uint8_t *d;
	size_t len;

	if (sshrd_string(r, max + 1, &d, &len) < 0)
		return -1;
	if (len > 0 && (d[0] & 0x80))
		return -1; /* negative */
	if (len > 0 && d[0] == 0) {
		if (len == 1 || !(d[1] & 0x80))
			return -1; /* a zero byte that no sign bit needs */
		d++;
		len--;
	}
	if (len > max)
		return -1;
	*be = d;
	*n = len;
	return 0;
}

int sshrd_done(const struct sshrd *r)
{
	return r->off == r->len ? 0 : -1;
}
