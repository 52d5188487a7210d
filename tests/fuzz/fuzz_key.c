/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for PEM key loading: public SPKI and private PKCS#8 (plain or encrypted). The
 * first byte picks the loader; a loaded key must round-trip its public half and sign/verify; a
 * public PEM's lazy look (key_public_pem_precheck) must agree with the decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "lib/key.h"
#include "lib/limits.h"

#define FUZZ_PASSPHRASE "fuzz-passphrase"

static void check_key(const struct vs_key *k)
{
	struct vs_key *pub = NULL;
	struct vs_error err = {0};
	char *pem = key_public_pem(k);

	if (!pem || strlen(key_id(k)) != KEY_ID_HEX_LEN || !key_alg_name(key_alg(k)))
		abort();
	if (key_from_public_pem(pem, strlen(pem), "fuzz-pub", &pub, &err) < 0 ||
	    strcmp(key_id(pub), key_id(k)))
		abort(); /* the public half we print is the key we loaded */
	free(pem);
	if (key_has_private(k)) {
		static const uint8_t msg[] = "vmseal fuzz";
		uint8_t *sig = NULL;
		size_t siglen = 0;

		if (key_sign(k, NULL, msg, sizeof(msg), &sig, &siglen, &err) < 0 ||
		    key_verify(pub, NULL, msg, sizeof(msg), sig, siglen, 0) < 0)
			abort();
		free(sig);
	}
	key_free(pub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_key *k = NULL;
	struct vs_error err = {0};
	int r;

	if (size < 1 || size > VS_MAX_KEY_FILE_BYTES + 1)
		return -1;
	switch (data[0] % 3) {
	case 0:
		r = key_from_public_pem((const char *)data + 1, size - 1, "fuzz", &k, &err);
		break;
	case 1:
		r = key_from_private_pem_mem((const char *)data + 1, size - 1, NULL, "fuzz", &k, &err);
		break;
	default:
		r = key_from_private_pem_mem((const char *)data + 1, size - 1, FUZZ_PASSPHRASE, "fuzz", &k,
					     &err);
		break;
	}
	if (data[0] % 3 == 0) {
		/* the policy's lazy look (key_public_pem_precheck) refuses only what the decoder
		 * refuses, and an id it computes without the decoder is the decoder's */
		char id[KEY_ID_HEX_LEN + 1];
		struct vs_error perr = {0};
		int pr = key_public_pem_precheck((const char *)data + 1, size - 1, "fuzz", id, &perr);

		if ((pr < 0 && r == 0) || (pr == 0 && id[0] && (r < 0 || strcmp(id, key_id(k)))))
			abort();
	}
	if (r < 0) {
		if (k || err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (data[0] % 3 != 0 && !key_has_private(k))
		abort();
	check_key(k);
	key_free(k);
	return 0;
}
