/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for domallow_network_judge: a libvirt network's status XML, as the hook reads
 * it from /run/libvirt/network for <interface type='network'>. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domallow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_error err = {0};
	unsigned need = 0;
	char what[96];

	if (domallow_network_judge((const char *)data, size, "fuzz.xml", &need, what, sizeof(what), &err) < 0) {
		if (!err.reason[0] || need)
			abort();
		return 0;
	}
	if (need != 0 && need != LAUNCH_ALLOW_HOSTDEV && need != LAUNCH_ALLOW_HOST_INTERFACE)
		abort();
	if (strnlen(what, sizeof(what)) >= sizeof(what))
		abort();
	return 0;
}
