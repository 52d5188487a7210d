/* SPDX-License-Identifier: Apache-2.0 */
/* Small jansson helpers shared by the strict parsers (policy, statement, root of trust). */
#ifndef VMSEAL_JSONX_H
#define VMSEAL_JSONX_H

#include <stdint.h>
#include <jansson.h>

#include "error.h"

/* Fails (VS_ERR_INPUT, "WHERE: unknown field \"x\"") when o has a field not in the
 * NULL-terminated allowed list, so that a misspelt field cannot silently weaken a document. */
int json_check_fields(json_t *o, const char *const *allowed, const char *where, const char *object,
		      struct vs_error *err);

/* Optional integer field: absent → dflt; present → an integer in [min, max], else fails
 * ("WHERE: FIELD must be an integer in [min, max]"). */
int json_opt_int(json_t *o, const char *field, int64_t dflt, int64_t min, int64_t max, int64_t *out,
		 const char *where, const char *object, struct vs_error *err);

/* Optional boolean field: absent → dflt; present → true or false, else fails. */
int json_opt_bool(json_t *o, const char *field, int dflt, int *out, const char *where,
		  const char *object, struct vs_error *err);

#endif
