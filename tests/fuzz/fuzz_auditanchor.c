/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the audit anchors: the head file (audit_head_parse) and the checkpoint
 * payload (audit_checkpoint_parse_payload), with save→parse round trips for the head. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "lib/auditcp.h"
#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_head h, again;
	struct audit_checkpoint cp;
	struct vs_error err = {0};
	char log[VS_MAX_PATH_BYTES], log2[VS_MAX_PATH_BYTES], hex[65], *enc;
	json_t *o;

	if (audit_head_parse((const char *)data, size, "fuzz", log, sizeof(log), &h, &err) == 0) {
		if (!log[0] || (h.seq && !h.end))
			abort();
		hex_encode(h.hash, 32, hex);
		o = json_pack("{s:s, s:I, s:s, s:I}", "log", log, "seq", (json_int_t)h.seq, "hash", hex, "end",
			      (json_int_t)h.end);
		enc = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!enc || audit_head_parse(enc, strlen(enc), "again", log2, sizeof(log2), &again, &err) < 0 ||
		    strcmp(log, log2) || memcmp(&h, &again, sizeof(h)))
			abort(); /* what we write we must read back */
		free(enc);
	} else if (!err.reason[0]) {
		abort();
	}
	memset(&err, 0, sizeof(err));
	if (audit_checkpoint_parse_payload((const char *)data, size, "fuzz", &cp, &err) == 0) {
		if (cp.head.seq == 0)
			abort();
	} else if (!err.reason[0]) {
		abort();
	}
	return 0;
}
