/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for trust_state_parse (trust.state), with encode→parse round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/truststate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trust_state ts, again;
	struct vs_error err = {0};
	char *enc;

	if (trust_state_parse((const char *)data, size, "fuzz", &ts, &err) < 0) {
		if (err.reason[0] == '\0' || ts.policy_version || ts.root_version)
			abort(); /* a refusal says why and leaves nothing behind */
		return 0;
	}
	if (ts.policy_version < 0 || ts.root_version < 0)
		abort();
	enc = trust_state_encode(&ts);
	if (!enc || trust_state_parse(enc, strlen(enc), "fuzz-again", &again, &err) < 0)
		abort(); /* what we write we must read back */
	if (again.policy_version != ts.policy_version || again.root_version != ts.root_version)
		abort();
	free(enc);
	return 0;
}
