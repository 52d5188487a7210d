/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for Content-Digest (RFC 9530) checking. Input: the field value, a newline,
 * then the body. What the check accepts must name sha-256 or sha-512 with the body's digest;
 * the digest we make for the body must always be accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "lib/httpsig.h"
#include "lib/limits.h"
#include "lib/sf.h"

/* The accepted value really holds the body's digest under every algorithm we know. */
static void check_accepted(const char *value, const uint8_t *body, size_t len)
{
	struct sf_members d;
	struct vs_error err = {0};
	int known = 0;

	if (sf_parse_dict(value, strlen(value), &d, &err) < 0)
		abort();
	for (size_t i = 0; i < d.n; i++) {
		const EVP_MD *md = !strcmp(d.v[i].key, "sha-256")   ? EVP_sha256()
				   : !strcmp(d.v[i].key, "sha-512") ? EVP_sha512()
								    : NULL;
		uint8_t h[EVP_MAX_MD_SIZE];
		unsigned hl = 0;

		if (!md)
			continue;
		known++;
		EVP_Digest(len ? body : (const uint8_t *)"", len, h, &hl, md, NULL);
		if (d.v[i].is_inner || d.v[i].item.bare.type != SF_BINARY ||
		    d.v[i].item.bare.len != hl || memcmp(d.v[i].item.bare.bin, h, hl))
			abort();
	}
	if (!known)
		abort();
	sf_members_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t vlen = nl ? (size_t)(nl - data) : size;
	const uint8_t *body = nl ? nl + 1 : data + size;
	size_t blen = (size_t)(data + size - body);
	struct vs_error err = {0};
	char *value, *mine = NULL;

	if (size > VS_MAX_BODY_BYTES || vlen > VS_MAX_HEADER_BYTES)
		return -1;
	value = malloc(vlen + 1);
	if (!value)
		abort();
	memcpy(value, data, vlen);
	value[vlen] = '\0';
	if (content_digest_check(value, body, blen, &err) == 0)
		check_accepted(value, body, blen);
	else if (err.reason[0] == '\0')
		abort(); /* a refusal says why */
	for (int i = 0; i < 2; i++) {
		if (content_digest_make(i ? "sha-512" : "sha-256", body, blen, &mine, &err) < 0 ||
		    content_digest_check(mine, body, blen, &err) < 0)
			abort();
		free(mine);
	}
	free(value);
	return 0;
}
