/* SPDX-License-Identifier: Apache-2.0 */
/* Small jansson helpers shared by the strict parsers (policy, statement, root of trust). */
#ifndef VMSEAL_JSONX_H
#define VMSEAL_JSONX_H

#include <jansson.h>

#include "error.h"

/* Fails (VS_ERR_INPUT, "WHERE: unknown field \"x\"") when o has a field not in the
 * NULL-terminated allowed list, so that a misspelt field cannot silently weaken a document. */
int json_check_fields(json_t *o, const char *const *allowed, const char *where, const char *object,
		      struct vs_error *err);

#endif
