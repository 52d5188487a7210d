/* SPDX-License-Identifier: Apache-2.0 */
/* Shamir k-of-n backup of a key file (libgfshare, GF(2^8)) and the self-describing share format. */
#ifndef VMSEAL_SHAMIR_H
#define VMSEAL_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "key.h"
#include "limits.h"

/*
 * A share file, NAME.share-I-of-N.json (one JSON object, fields in this order, parsed
 * strictly: duplicate or unknown fields refused):
 *
 *   {"format": "vmseal-key-share-v1",
 *    "name": "pipeline", "keyid": "<64 hex>", "alg": "ed25519", "created": "<RFC 3339>",
 *    "encrypted": true,                 the key file is encrypted PKCS#8
 *    "set": "<32 hex>",                 random id of this split: shares of two splits never mix
 *    "index": 3, "threshold": 3, "shares": 5,
 *    "size": 1834,                      bytes of the key file = bytes of every share
 *    "secret_sha256": "<64 hex>",       SHA-256 of the key file: detects a wrong recombination
 *    "public_key": "-----BEGIN PUBLIC KEY-----\n...",
 *    "share": "<base64 of the share bytes>",
 *    "checksum": "<64 hex>"}            SHA-256 of the share bytes: detects an altered share
 *
 * "created" is optional. index is the share's x coordinate (1..255); threshold >= 2.
 */
#define SHARE_FORMAT "vmseal-key-share-v1"
#define SHARE_MAX_COUNT 255
#define SHARE_MAX_FILE_BYTES (4 * VS_MAX_KEY_FILE_BYTES)

struct key_share {
	char name[VS_MAX_NAME_BYTES];
	char keyid[KEY_ID_HEX_LEN + 1];
	enum key_alg alg;
	int64_t created; /* 0: unknown */
	int encrypted;
	char set[VS_SHARE_SET_HEX_BYTES];
	unsigned index, threshold, count;
	size_t size;
	uint8_t secret_sha256[32];
	char *public_key; /* PEM, malloc'd */
	uint8_t *data;    /* size bytes, secure heap */
};

/* Splits secret into count shares (x = 1..count) of which any threshold recombine it.
 * Coefficients come from OpenSSL's private DRBG after the entropy gate. shares[i] gets a
 * secure-heap buffer of len bytes (free with share_data_free). */
int shamir_split(const uint8_t *secret, size_t len, unsigned count, unsigned threshold,
		 uint8_t **shares, struct vs_error *err);

/* Recombines from n shares with x coordinates xs[0..n-1] into out (len bytes). Says nothing
 * about whether the result is right: callers check a digest. */
int shamir_combine(uint8_t *const *shares, const uint8_t *xs, unsigned n, size_t len, uint8_t *out,
		   struct vs_error *err);

void share_data_free(uint8_t *data, size_t len);

/* Encodes s as a share file (JSON, indented, ending in a newline), malloc'd; the base64 of the
 * share is wiped from intermediate buffers. NULL when out of memory. */
char *share_encode(const struct key_share *s);

/* Parses a share file and checks its checksum. object names it in errors. On failure s is
 * cleared. */
int share_parse(const char *text, size_t len, const char *object, struct key_share *s,
		struct vs_error *err);

/* Wipes and frees what s holds. */
void share_clear(struct key_share *s);

/* Checks that n parsed shares belong together (same set, key, threshold, size, digest, public
 * key; distinct indexes) and that there are at least threshold of them, recombines, and checks
 * the result's SHA-256. *secret gets a secure-heap buffer of *len bytes (share_data_free).
 * names[i] names share i in errors. */
int shares_recombine(const struct key_share *shares, const char *const *names, size_t n,
		     uint8_t **secret, size_t *len, struct vs_error *err);

#endif
