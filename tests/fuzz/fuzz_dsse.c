/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for dsse_parse: strict envelope parsing, and encode→parse round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/dsse.h"

static void same_envelope(const struct dsse_envelope *a, const struct dsse_envelope *b)
{
	if (strcmp(a->payload_type, b->payload_type) || a->payload_len != b->payload_len ||
	    memcmp(a->payload, b->payload, a->payload_len) || a->nsigs != b->nsigs)
		abort();
	for (size_t i = 0; i < a->nsigs; i++)
		if (strcmp(a->sigs[i].keyid, b->sigs[i].keyid) || a->sigs[i].siglen != b->sigs[i].siglen ||
		    memcmp(a->sigs[i].sig, b->sigs[i].sig, a->sigs[i].siglen))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsse_envelope *env = NULL, *again = NULL;
	struct vs_error err = {0};
	uint8_t *pae = NULL;
	size_t paelen;
	char *enc;

	if (dsse_parse((const char *)data, size, "fuzz", &env, &err) < 0) {
		if (env || err.reason[0] == '\0')
			abort(); /* a refusal returns nothing and says why */
		return 0;
	}
	if (env->nsigs == 0 || env->nsigs > VS_MAX_SIGNATURES || env->payload[env->payload_len] != '\0')
		abort();
	if (dsse_pae(env->payload_type, env->payload, env->payload_len, &pae, &paelen) < 0 ||
	    paelen < env->payload_len)
		abort();
	free(pae);
	enc = dsse_encode(env);
	if (!enc || dsse_parse(enc, strlen(enc), "fuzz-again", &again, &err) < 0)
		abort(); /* what we write we must read back */
	same_envelope(env, again);
	free(enc);
	dsse_free(again);
	dsse_free(env);
	return 0;
}
