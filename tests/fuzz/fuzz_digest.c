/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for content_digest_check (RFC 9530): input is "FIELD-VALUE\nBODY". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/httpsig.h"
#include "lib/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t vlen = nl ? (size_t)(nl - data) : size;
	const uint8_t *body = nl ? nl + 1 : data + size;
	size_t blen = size - vlen - (nl ? 1 : 0);
	struct vs_error err = {0};
	char *value, *good = NULL;

	if (vlen > VS_MAX_HEADER_BYTES)
		return -1;
	value = malloc(vlen + 1);
	if (!value)
		abort();
	memcpy(value, data, vlen);
	value[vlen] = '\0';
	if (content_digest_check(value, body, blen, &err) < 0 && err.reason[0] == '\0')
		abort();
	/* a digest we make always checks, and never checks against another body */
	if (content_digest_make(blen & 1 ? "sha-512" : "sha-256", body, blen, &good, &err) < 0 ||
	    content_digest_check(good, body, blen, &err) < 0 ||
	    (blen > 0 && content_digest_check(good, body, blen - 1, &err) == 0))
		abort();
	free(good);
	free(value);
	return 0;
}
