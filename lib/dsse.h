/* SPDX-License-Identifier: Apache-2.0 */
/* DSSE envelopes: PAE, parse, encode, sign and countersign. */
#ifndef VMSEAL_DSSE_H
#define VMSEAL_DSSE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "key.h"
#include "limits.h"

#define DSSE_INTOTO_TYPE "application/vnd.in-toto+json"

struct dsse_signature {
	char keyid[KEY_ID_HEX_LEN + 1]; /* may be empty: then every policy key is tried */
	uint8_t *sig;
	size_t siglen;
};

struct dsse_envelope {
	char *payload_type;
	uint8_t *payload; /* decoded bytes, NUL-terminated for convenience */
	size_t payload_len;
	struct dsse_signature sigs[VS_MAX_SIGNATURES];
	size_t nsigs;
};

/* Builds PAE(type, payload) = "DSSEv1" SP len(type) SP type SP len(payload) SP payload. */
int dsse_pae(const char *type, const uint8_t *payload, size_t len, uint8_t **out, size_t *outlen);

/* Parses an envelope (strict: JSON_REJECT_DUPLICATES, size limit, strict base64, at most
 * VS_MAX_SIGNATURES, no unknown top-level type for fields). */
int dsse_parse(const char *json, size_t len, const char *object, struct dsse_envelope **out,
	       struct vs_error *err);

/* Creates an envelope with one signature over payload by key. */
int dsse_sign(const char *type, const uint8_t *payload, size_t len, const struct vs_key *key,
	      struct dsse_envelope **out, struct vs_error *err);

/* Adds a signature by key (countersign); the payload is not changed. Refuses a second
 * signature by the same key. */
int dsse_append(struct dsse_envelope *env, const struct vs_key *key, struct vs_error *err);

/* Checks signature i under key: 0 valid, -1 not. */
int dsse_verify_sig(const struct dsse_envelope *env, size_t i, const struct vs_key *key);

/* Serialises as compact JSON (one line, trailing newline). malloc'd. */
char *dsse_encode(const struct dsse_envelope *env);

void dsse_free(struct dsse_envelope *env);

#endif
