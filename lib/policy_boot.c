/* SPDX-License-Identifier: Apache-2.0 */
/* The policy's "boot" section: pinned boot-file digests and rules for signed boot files. */
#include "policy_boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonx.h"

void policy_boot_free(struct policy_boot *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->npins; i++)
		free(b->pins[i].cmdlines);
	for (size_t i = 0; i < b->nrules; i++)
		free(b->rules[i].keys);
	free(b->pins);
	free(b->rules);
	memset(b, 0, sizeof(*b));
}

static int kind_field(json_t *v, const char *where, const char *object, enum boot_kind *out,
		      struct vs_error *err)
{
	*out = json_is_string(v) ? boot_kind_parse(json_string_value(v)) : BOOT_KIND_NONE;
	if (*out == BOOT_KIND_NONE)
		return vs_fail(err, VS_ERR_INPUT, object,
			       "%s: kind \"%.32s\" is not kernel, initrd, firmware, nvram, dtb or acpi", where,
			       json_is_string(v) ? json_string_value(v) : "?");
	return 0;
}

/* A kernel pin's command lines, with the rules of a kernel Statement's (statement.h). */
static int pin_cmdlines(json_t *v, const char *where, const char *object, struct policy_boot_pin *pin,
			struct vs_error *err)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > VS_MAX_BOOT_CMDLINES)
		return vs_fail(err, VS_ERR_INPUT, object,
			       "%s: a kernel pin needs \"cmdlines\", an array of 1 to %d strings (\"\" for none)",
			       where, VS_MAX_BOOT_CMDLINES);
	pin->cmdlines = calloc(json_array_size(v), sizeof(*pin->cmdlines));
	if (!pin->cmdlines)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	json_array_foreach(v, i, e) {
		const char *s = json_is_string(e) ? json_string_value(e) : NULL;

		if (!s || json_string_length(e) >= VS_MAX_CMDLINE_BYTES || strlen(s) != json_string_length(e))
			return vs_fail(err, VS_ERR_INPUT, object, "%s: cmdlines[%zu] is not a string of at most %d bytes",
				       where, i, VS_MAX_CMDLINE_BYTES - 1);
		memcpy(pin->cmdlines[pin->ncmdlines++], s, json_string_length(e) + 1);
	}
	return 0;
}

static int parse_pin(json_t *o, size_t idx, struct policy_boot_pin *pin, const char *object,
		     struct vs_error *err)
{
	static const char *const fields[] = {"path", "kind", "digest", "size", "cmdlines", "comment", NULL};
	char where[64];
	const char *s;
	json_t *v;
	int64_t n;

	snprintf(where, sizeof(where), "boot.pinned[%zu]", idx);
	if (!json_is_object(o))
		return vs_fail(err, VS_ERR_INPUT, object, "%s is not an object", where);
	if (json_check_fields(o, fields, where, object, err) < 0 ||
	    kind_field(json_object_get(o, "kind"), where, object, &pin->kind, err) < 0)
		return -1;
	v = json_object_get(o, "path");
	if (v) {
		if (!json_is_string(v) || json_string_value(v)[0] != '/' ||
		    json_string_length(v) >= sizeof(pin->path) || strlen(json_string_value(v)) != json_string_length(v))
			return vs_fail(err, VS_ERR_INPUT, object, "%s: path must be an absolute path", where);
		memcpy(pin->path, json_string_value(v), json_string_length(v) + 1);
	}
	v = json_object_get(o, "digest");
	s = json_is_string(v) ? json_string_value(v) : "";
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
		return vs_fail(err, VS_ERR_INPUT, object,
			       "%s: digest must be the file's vmseal-merkle-sha256, 64 lowercase hex digits "
			       "(vmseal-digest prints it)", where);
	memcpy(pin->digest, s, 65);
	if (!json_object_get(o, "size"))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: size missing", where);
	if (json_opt_int(o, "size", 0, 0, INT64_MAX, &n, where, object, err) < 0)
		return -1;
	pin->size = (uint64_t)n;
	v = json_object_get(o, "cmdlines");
	if (pin->kind == BOOT_KIND_KERNEL)
		return pin_cmdlines(v, where, object, pin, err);
	if (v)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: only a kernel pin lists cmdlines", where);
	return 0;
}

static int parse_rule(json_t *o, size_t idx, const struct policy *p, struct policy_boot_rule *r,
		      const char *object, struct vs_error *err)
{
	static const char *const fields[] = {"match", "kinds", "keys", "threshold", "min_version",
					     "comment", NULL};
	char where[64];
	json_t *v, *e;
	size_t i;
	int64_t n;

	snprintf(where, sizeof(where), "boot.rules[%zu]", idx);
	if (!json_is_object(o))
		return vs_fail(err, VS_ERR_INPUT, object, "%s is not an object", where);
	if (json_check_fields(o, fields, where, object, err) < 0)
		return -1;
	v = json_object_get(o, "match");
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= sizeof(r->match))
		return vs_fail(err, VS_ERR_INPUT, object, "%s: match must be a non-empty glob", where);
	memcpy(r->match, json_string_value(v), json_string_length(v) + 1);
	/* Kinds are required: a rule meant for kernels must not quietly cover firmware too. */
	v = json_object_get(o, "kinds");
	if (!json_is_array(v) || json_array_size(v) == 0)
		return vs_fail(err, VS_ERR_INPUT, object, "%s: kinds must be a non-empty array of boot kinds",
			       where);
	json_array_foreach(v, i, e) {
		enum boot_kind k;

		if (kind_field(e, where, object, &k, err) < 0)
			return -1;
		r->kinds |= 1u << k;
	}
	if (policy_parse_keyids(json_object_get(o, "keys"), p, where, object, &r->keys, &r->nkeys, err) < 0)
		return -1;
	if (json_opt_int(o, "threshold", 1, 1, (int64_t)r->nkeys, &n, where, object, err) < 0)
		return -1;
	r->threshold = (unsigned)n;
	return json_opt_int(o, "min_version", 0, 0, INT64_MAX, &r->min_version, where, object, err);
}

int policy_boot_parse(json_t *o, struct policy *p, const char *object, struct vs_error *err)
{
	static const char *const fields[] = {"pinned", "rules", "comment", NULL};
	struct policy_boot *b = &p->boot;
	json_t *v, *e;
	size_t i;

	if (!o)
		return 0;
	if (!json_is_object(o))
		return vs_fail(err, VS_ERR_INPUT, object, "boot is not an object");
	if (json_check_fields(o, fields, "boot", object, err) < 0)
		return -1;
	v = json_object_get(o, "pinned");
	if (v && (!json_is_array(v) || json_array_size(v) > VS_MAX_BOOT_PINS))
		return vs_fail(err, VS_ERR_INPUT, object, "boot.pinned must be an array of at most %d",
			       VS_MAX_BOOT_PINS);
	b->pins = calloc(json_array_size(v) + 1, sizeof(*b->pins));
	if (!b->pins)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	json_array_foreach(v, i, e) {
		b->npins = i + 1;
		if (parse_pin(e, i, &b->pins[i], object, err) < 0)
			return -1;
	}
	v = json_object_get(o, "rules");
	if (v && (!json_is_array(v) || json_array_size(v) > VS_MAX_BOOT_RULES))
		return vs_fail(err, VS_ERR_INPUT, object, "boot.rules must be an array of at most %d",
			       VS_MAX_BOOT_RULES);
	b->rules = calloc(json_array_size(v) + 1, sizeof(*b->rules));
	if (!b->rules)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	json_array_foreach(v, i, e) {
		b->nrules = i + 1;
		if (parse_rule(e, i, p, &b->rules[i], object, err) < 0)
			return -1;
	}
	return 0;
}
