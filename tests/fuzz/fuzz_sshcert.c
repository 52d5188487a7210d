/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for OpenSSH certificates: the first byte picks a certificate line or a wire
 * blob. An accepted certificate must hold what its limits allow and nothing more. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sshcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshcert c;
	struct vs_error err = {0};
	int r;

	if (size < 1)
		return 0;
	if (data[0] & 1)
		r = sshcert_parse_line((const char *)data + 1, size - 1, "fuzz", &c, &err);
	else
		r = sshcert_parse(data + 1, size - 1, "fuzz", &c, &err);
	if (r < 0) {
		if (c.key || c.ca || !err.reason[0])
			abort(); /* a refusal frees everything and says why */
		return 0;
	}
	if (!c.key || !c.ca || c.nprincipals > VS_MAX_SSH_PRINCIPALS ||
	    (c.type != SSHCERT_USER && c.type != SSHCERT_HOST) || (c.extensions & ~SSHCERT_EXT_ALL))
		abort();
	for (size_t i = 0; i < c.nprincipals; i++)
		if (strlen(c.principals[i]) > VS_MAX_SSH_PRINCIPAL_BYTES)
			abort();
	sshcert_clear(&c);
	return 0;
}
