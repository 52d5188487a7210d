/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the judge server's request parser (lib/hookop.c): what parses must
 * encode back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hookop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[HOOK_SERVE_MAX_BYTES], again[HOOK_SERVE_MAX_BYTES];
	char *argv[HOOK_SERVE_MAX_ARGS + 1];
	unsigned mask, len;
	int argc;

	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (hook_request_decode(buf, (unsigned)size, &mask, &argc, argv) < 0)
		return 0;
	if (argc < 1 || argc > HOOK_SERVE_MAX_ARGS || mask > 0777 || argv[argc])
		abort();
	len = hook_request_encode(again, sizeof(again), mask, argc, argv);
	if (len != size || memcmp(again, data, size))
		abort();
	return 0;
}
