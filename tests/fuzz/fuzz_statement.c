/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for statement_parse (in-toto Statement v1, template and boot predicates),
 * with encode→parse round trips. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/statement.h"

static void same_statement(const struct statement *a, const struct statement *b)
{
	if (strcmp(a->subject_name, b->subject_name) || strcmp(a->digest, b->digest) ||
	    strcmp(a->template_name, b->template_name) || a->template_version != b->template_version ||
	    strcmp(a->format, b->format) || a->size != b->size || a->chunk_size != b->chunk_size ||
	    a->signed_at != b->signed_at || a->expires_at != b->expires_at ||
	    a->predicate != b->predicate || a->boot_kind != b->boot_kind || a->ncmdlines != b->ncmdlines)
		abort();
	for (size_t i = 0; i < a->ncmdlines; i++)
		if (strcmp(a->cmdlines[i], b->cmdlines[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct statement st, again;
	struct vs_error err = {0};
	size_t len = 0;
	char *enc;

	memset(&st, 0, sizeof(st));
	memset(&again, 0, sizeof(again));
	if (statement_parse(data, size, "fuzz", &st, &err) < 0) {
		if (err.reason[0] == '\0')
			abort();
		return 0;
	}
	if (strlen(st.digest) != 64 || st.chunk_size != VS_CHUNK_SIZE)
		abort();
	/* a boot Statement names a kind; only a kernel's lists command lines, at least one */
	if ((st.predicate == STATEMENT_BOOT) != (st.boot_kind != BOOT_KIND_NONE) ||
	    (st.boot_kind == BOOT_KIND_KERNEL) != (st.ncmdlines > 0) || st.ncmdlines > VS_MAX_BOOT_CMDLINES)
		abort();
	enc = statement_encode(&st, &len);
	if (!enc || strlen(enc) != len)
		abort();
	if (statement_parse((const uint8_t *)enc, len, "fuzz-again", &again, &err) < 0)
		abort(); /* what we sign we must accept */
	same_statement(&st, &again);
	free(enc);
	return 0;
}
