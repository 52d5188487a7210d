/* SPDX-License-Identifier: Apache-2.0 */
/* Small jansson helpers shared by the strict parsers. */
#include "jsonx.h"

#include <string.h>

int json_check_fields(json_t *o, const char *const *allowed, const char *where, const char *object,
		      struct vs_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a)
			return vs_fail(err, VS_ERR_INPUT, object, "%s: unknown field \"%.64s\"", where, key);
	}
	return 0;
}
