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

int json_opt_int(json_t *o, const char *field, int64_t dflt, int64_t min, int64_t max, int64_t *out,
		 const char *where, const char *object, struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: %s must be an integer in [%lld, %lld]", where,
			       field, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

int json_opt_bool(json_t *o, const char *field, int dflt, int *out, const char *where,
		  const char *object, struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: %s is not true or false", where, field);
	*out = json_is_true(v);
	return 0;
}
