/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for startmark_parse (the gateway's AUDIT_LOG.start), with the rules a
 * restart builds on it: what parses prints back to the same bytes, and the first created a
 * restart accepts lies past the mark and past its own start. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/startmark.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t v = -7, nb, t_start = 1780000000;
	char line[128];
	int r = startmark_parse((const char *)data, size, &v), len;

	if (r != 1) {
		if (v != -7 || (r == 0) != (size == 0) || (r != 0 && r != -2))
			abort(); /* a refusal writes nothing; only an empty file reads as no mark */
		return 0;
	}
	if (v < 0)
		abort();
	len = snprintf(line, sizeof(line), "vmseal-gateway-start-v1 %" PRId64 "\n", v);
	if ((size_t)len != size || memcmp(line, data, size))
		abort(); /* one mark, one spelling: no leading zeros, no second reading */
	for (int64_t fs = -1; fs <= 60; fs += 61) {
		nb = startmark_not_before(v, t_start, fs);
		if ((v < INT64_MAX && nb <= v) || nb <= t_start)
			abort();
	}
	return 0;
}
