/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for SSH public keys: the first byte picks a key line or a wire blob. An
 * accepted key must encode back to the very bytes it came from and print a fingerprint that
 * decodes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshkey *k = NULL, *again = NULL, *conv = NULL;
	struct vs_error err = {0};
	char fp[SSHKEY_FP_LEN + 1];
	uint8_t raw[32];

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (sshkey_parse_line((const char *)data + 1, size - 1, "fuzz", &k, &err) < 0)
			return 0;
	} else if (sshkey_from_blob(data + 1, size - 1, "fuzz", &k, &err) < 0) {
		return 0;
	} else if (k->bloblen != size - 1 || memcmp(k->blob, data + 1, size - 1)) {
		abort(); /* a blob is accepted only in its one canonical form */
	}
	if (sshkey_from_blob(k->blob, k->bloblen, "again", &again, &err) < 0 || !sshkey_equal(k, again))
		abort();
	if (sshkey_from_pkey(k->pkey, "pkey", &conv, &err) < 0 || !sshkey_equal(k, conv))
		abort(); /* the OpenSSL form converts back to the same key */
	sshkey_fingerprint(k, fp);
	if (sshkey_fingerprint_decode(fp, raw) < 0)
		abort();
	sshkey_free(k);
	sshkey_free(again);
	sshkey_free(conv);
	return 0;
}
