/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for domxml_parse: libvirt domain XML as the hook receives it on stdin. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domain_xml *d = NULL;
	struct vs_error err = {0};

	if (domxml_parse((const char *)data, size, &d, &err) < 0) {
		if (d || err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (d->ndisks > VS_MAX_DISKS || strnlen(d->name, sizeof(d->name)) >= sizeof(d->name))
		abort();
	for (size_t i = 0; i < d->ndisks; i++) {
		const struct domain_disk *k = &d->disks[i];

		if (k->nlayers < 1 || k->nlayers > VS_MAX_BACKING_DEPTH || !disk_device_name(k->device))
			abort();
		for (size_t j = 0; j < k->nlayers; j++) {
			const struct disk_layer *l = &k->layers[j];

			if (l->source && strlen(l->source) >= VS_MAX_PATH_BYTES)
				abort();
			if (strnlen(l->format, sizeof(l->format)) >= sizeof(l->format))
				abort();
		}
	}
	domxml_free(d);
	return 0;
}
