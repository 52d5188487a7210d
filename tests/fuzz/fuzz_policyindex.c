/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for policy_index_decode: whatever it accepts is bounded as policyindex.h says
 * (the keys array inside a text of the recorded size, each element inside it, in order, its id
 * inside the element), so that a reader indexing a text of that size never reads outside it. */
#include <stdint.h>
#include <stdlib.h>

#include "lib/limits.h"
#include "lib/policyindex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_index pi;
	struct vs_error err = {0};
	size_t prev;

	if (policy_index_decode(data, size, &pi, &err) < 0) {
		if (pi.ix.elems || !err.reason[0])
			abort();
		return 0;
	}
	if (pi.size > VS_MAX_POLICY_BYTES || pi.ix.arr_off + pi.ix.arr_len > pi.size || pi.ix.arr_len < 2 ||
	    pi.ix.nelems > VS_MAX_POLICY_KEYS)
		abort();
	prev = pi.ix.arr_off + 1;
	for (size_t i = 0; i < pi.ix.nelems; i++) {
		const struct jsonscan_elem *e = &pi.ix.elems[i];

		if (e->off < prev || e->len == 0 || e->off + e->len > pi.ix.arr_off + pi.ix.arr_len - 1)
			abort();
		if (e->id_len && (e->id_off <= e->off || e->id_off + e->id_len > e->off + e->len))
			abort();
		prev = e->off + e->len;
	}
	policy_index_free(&pi);
	return 0;
}
