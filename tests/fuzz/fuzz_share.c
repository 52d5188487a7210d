/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for share_parse (Shamir backup share files), with encode→parse round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "lib/shamir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct key_share s, again;
	struct vs_error err = {0};
	char *enc;

	if (share_parse((const char *)data, size, "fuzz", &s, &err) < 0) {
		/* A refusal says why and leaves nothing allocated behind. */
		if (err.reason[0] == '\0' || s.data || s.public_key)
			abort();
		return 0;
	}
	if (s.index < 1 || s.index > s.count || s.threshold < 2 || s.threshold > s.count ||
	    s.size == 0 || s.size > VS_MAX_KEY_FILE_BYTES || !s.data || !s.public_key ||
	    strlen(s.keyid) != KEY_ID_HEX_LEN || strlen(s.set) != 32)
		abort();
	enc = share_encode(&s);
	if (!enc || share_parse(enc, strlen(enc), "fuzz-again", &again, &err) < 0)
		abort(); /* what we write we must read back */
	if (again.size != s.size || memcmp(again.data, s.data, s.size) || again.index != s.index ||
	    again.threshold != s.threshold || again.count != s.count || strcmp(again.keyid, s.keyid) ||
	    strcmp(again.set, s.set) || strcmp(again.public_key, s.public_key) ||
	    memcmp(again.secret_sha256, s.secret_sha256, 32) || again.encrypted != s.encrypted ||
	    again.created != s.created || again.alg != s.alg || strcmp(again.name, s.name))
		abort();
	OPENSSL_secure_clear_free(enc, strlen(enc) + 1);
	share_clear(&s);
	share_clear(&again);
	return 0;
}
