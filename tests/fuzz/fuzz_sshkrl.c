/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for KRLs (the gateway's revocation state is one): an accepted KRL encodes
 * to a KRL that parses to the same revocations. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sshkrl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshkrl k, again;
	struct vs_error err = {0};
	uint8_t *out = NULL;
	size_t n = 0;

	if (sshkrl_parse(data, size, "fuzz", &k, &err) < 0)
		return 0;
	if (sshkrl_encode(&k, NULL, &out, &n, &err) < 0 ||
	    sshkrl_parse(out, n, "again", &again, &err) < 0)
		abort();
	if (again.version != k.version || again.nserials != k.nserials || again.nfps != k.nfps ||
	    (k.nserials && memcmp(again.serials, k.serials, k.nserials * sizeof(*k.serials))) ||
	    (k.nfps && memcmp(again.fps, k.fps, k.nfps * 32)))
		abort();
	for (size_t i = 0; i < k.nserials; i++)
		if (!sshkrl_serial_revoked(&again, k.serials[i]))
			abort();
	free(out);
	sshkrl_clear(&k);
	sshkrl_clear(&again);
	return 0;
}
