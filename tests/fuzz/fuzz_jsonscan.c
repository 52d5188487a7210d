/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for jsonscan_index, checked against jansson: whatever the scan accepts,
 * json_loadb accepts, and every span it reports holds the value jansson read there. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "lib/jsonscan.h"

static json_t *load_span(const uint8_t *data, size_t off, size_t len)
{
	return json_loadb((const char *)data + off, len, JSON_DECODE_ANY, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonscan_index ix;
	json_t *root = json_loadb((const char *)data, size, 0, NULL), *keys, *arr;

	if (!jsonscan_index((const char *)data, size, "keys", 64, &ix)) {
		if (ix.elems || ix.nelems || ix.arr_len)
			abort();
		json_decref(root);
		return 0;
	}
	/* accepted: jansson reads it, an object; the array and its elements lie where reported */
	if (!json_is_object(root))
		abort();
	keys = json_object_get(root, "keys");
	if (!ix.arr_len) {
		if (keys || ix.nelems)
			abort();
	} else {
		size_t lines = 0;

		if (!json_is_array(keys) || json_array_size(keys) != ix.nelems || ix.arr_off + ix.arr_len > size)
			abort();
		arr = load_span(data, ix.arr_off, ix.arr_len);
		if (!arr || !json_equal(arr, keys))
			abort();
		json_decref(arr);
		for (size_t i = 0; i < ix.arr_len; i++)
			lines += data[ix.arr_off + i] == '\n';
		if (lines != ix.arr_lines)
			abort();
		for (size_t i = 0; i < ix.nelems; i++) {
			const struct jsonscan_elem *e = &ix.elems[i];
			json_t *v = load_span(data, e->off, e->len), *id;

			if (!v || !json_equal(v, json_array_get(keys, i)))
				abort();
			if (e->id_len) {
				id = json_object_get(v, "id");
				if (!json_is_string(id) || json_string_length(id) != e->id_len ||
				    memcmp(json_string_value(id), data + e->id_off, e->id_len))
					abort();
			}
			json_decref(v);
		}
	}
	jsonscan_index_free(&ix);
	json_decref(root);
	return 0;
}
