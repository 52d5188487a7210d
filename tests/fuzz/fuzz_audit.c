/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for audit_parse_line, the audit log's single-line parser. */
// Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -iquote .
//        tests/fuzz/fuzz_audit.c lib/*.c $(pkg-config --cflags --libs $PKGS) -lgfshare -lpthread
// Run:   ./fuzz_audit tests/fuzz/corpus/audit
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/audit.h"
#include "lib/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_entry e;
	struct vs_error err = {0};

	if (size > VS_MAX_AUDIT_LINE_BYTES + 16)
		return -1;
	/* The parser takes a length, not a C string: no terminator may be needed. */
	if (audit_parse_line((const char *)data, size, &e, &err) == 0) {
		/* Accepted lines are canonical, so they carry no raw newline and name a positive seq. */
		if (memchr(data, '\n', size) || e.seq == 0 || !e.actor || !e.reason || strlen(e.prev) != 64)
			abort();
		audit_entry_clear(&e);
	} else if (e.actor || e.time || err.reason[0] == '\0') {
		abort(); /* a refusal leaves the entry cleared and says why */
	}
	return 0;
}
