/* SPDX-License-Identifier: Apache-2.0 */
/* SSH wire format (RFC 4251 §5): a bounded writer and a strict reader of byte, uint32, uint64,
 * string and mpint. */
#ifndef VMSEAL_SSHBUF_H
#define VMSEAL_SSHBUF_H

#include <stddef.h>
#include <stdint.h>

/* A growing buffer that refuses to pass max bytes. Zero-initialise, set max (0: VS_MAX_SSH_BLOB_BYTES). */
struct sshbuf {
	uint8_t *d;
	size_t len, cap, max;
	int failed; /* a put failed (no memory or over max): every later put fails too */
};

/* Each put returns 0, or -1 (and sets failed) when out of memory or past max. */
int sshbuf_put(struct sshbuf *b, const void *data, size_t n);
int sshbuf_put_u8(struct sshbuf *b, uint8_t v);
int sshbuf_put_u32(struct sshbuf *b, uint32_t v);
int sshbuf_put_u64(struct sshbuf *b, uint64_t v);
/* uint32 length and the bytes. */
int sshbuf_put_string(struct sshbuf *b, const void *data, size_t n);
int sshbuf_put_cstring(struct sshbuf *b, const char *s);
/* A non-negative integer given as big-endian magnitude bytes: leading zeros dropped, one zero
 * byte prepended when the top bit is set (RFC 4251 mpint). */
int sshbuf_put_mpint(struct sshbuf *b, const uint8_t *be, size_t n);
/* Frees and wipes the contents (they may hold a signed blob or a nonce). */
void sshbuf_free(struct sshbuf *b);

/* A reader over bytes it does not own; every get checks the remaining length first. */
struct sshrd {
	const uint8_t *p;
	size_t len, off;
};

void sshrd_init(struct sshrd *r, const uint8_t *p, size_t len);
int sshrd_u8(struct sshrd *r, uint8_t *v);
int sshrd_u32(struct sshrd *r, uint32_t *v);
int sshrd_u64(struct sshrd *r, uint64_t *v);
/* A string of at most max bytes; *data points into the reader's bytes. */
int sshrd_string(struct sshrd *r, size_t max, const uint8_t **data, size_t *n);
/* A string of at most max bytes with no NUL inside, copied NUL-terminated into out (max + 1 bytes). */
int sshrd_cstring(struct sshrd *r, char *out, size_t max);
/* A canonical non-negative mpint (no negative value, no superfluous leading zero) of at most
 * max magnitude bytes; *be points at its magnitude (without the sign byte). */
int sshrd_mpint(struct sshrd *r, size_t max, const uint8_t **be, size_t *n);
/* 0 when every byte was read, -1 when bytes are left over. */
int sshrd_done(const struct sshrd *r);

#endif
