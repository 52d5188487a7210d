/* SPDX-License-Identifier: Apache-2.0 */
/* in-toto Statement v1 with vmseal's template predicate (urn:vmseal:template:v1). */
#ifndef VMSEAL_STATEMENT_H
#define VMSEAL_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "limits.h"

#define STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define STATEMENT_PREDICATE_TYPE "urn:vmseal:template:v1"
#define STATEMENT_DIGEST_ALG "vmseal-merkle-sha256"

struct statement {
	char subject_name[VS_MAX_NAME_BYTES];
	char digest[65];           /* vmseal-merkle-sha256, lowercase hex */
	char template_name[VS_MAX_NAME_BYTES];
	int64_t template_version;
	char format[16];           /* "qcow2", "raw" */
	uint64_t size;
	uint64_t chunk_size;
	int64_t signed_at;
	int64_t expires_at;        /* 0: no expiry */
};

/* Parses and validates a Statement (one subject, our predicate type, all fields typed and
 * bounded, digest 64 lowercase hex, chunkSize == VS_CHUNK_SIZE). */
int statement_parse(const uint8_t *json, size_t len, const char *object, struct statement *out,
		    struct vs_error *err);

/* Serialises a Statement as compact JSON. malloc'd, NUL-terminated; *len excludes the NUL. */
char *statement_encode(const struct statement *st, size_t *len);

#endif
