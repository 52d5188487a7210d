/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for domxml_parse and the allow-list walk (domallow_check): libvirt domain XML
 * as the hook receives it on stdin. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domallow.h"
#include "lib/domxml.h"

static void fuzz_domallow(const uint8_t *data, size_t size)
{
	static struct domallow_result r;
	static const struct policy_launch launch = {.allow = LAUNCH_ALLOW_HOSTDEV | LAUNCH_ALLOW_FILESYSTEM,
						    .log_dir = "/tmp/vmseal-fuzz-logs", .require_rng = 0};
	static struct domallow_protect prot;
	struct domallow_opts o = {.launch = &launch, .protect = &prot};
	struct vs_error err = {0};

	if (!prot.n && domallow_protect_add(&prot, "/etc/vmseal", "configuration directory", &err) < 0)
		abort();
	if (domallow_check((const char *)data, size, &o, &r, &err) < 0) {
		if (err.reason[0] == '\0')
			abort();
		return;
	}
	if (r.denied_entry != -1 || r.nboot > VS_MAX_BOOT_FILES || !r.emulator[0] ||
	    strnlen(r.cmdline, sizeof(r.cmdline)) >= sizeof(r.cmdline))
		abort();
	for (size_t i = 0; i < r.nboot; i++)
		if (r.boot[i].path[0] != '/')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct domain_xml *d = NULL;
	struct vs_error err = {0};

	fuzz_domallow(data, size);

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
