/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for keymeta_parse (NAME.json key metadata), with encode→parse round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keymeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keymeta m, again;
	struct vs_error err = {0};
	char *enc;

	memset(&m, 0, sizeof(m));
	memset(&again, 0, sizeof(again));
	if (keymeta_parse((const char *)data, size, "fuzz", &m, &err) < 0) {
		if (err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (strlen(m.keyid) != KEY_ID_HEX_LEN || !keymeta_status_name(m.status))
		abort();
	enc = keymeta_encode(&m);
	if (!enc || keymeta_parse(enc, strlen(enc), "fuzz-again", &again, &err) < 0)
		abort(); /* what we write we must read back */
	if (memcmp(&m, &again, sizeof(m)) != 0)
		abort(); /* both were zeroed first, and every field is a fixed array or a number */
	free(enc);
	return 0;
}
