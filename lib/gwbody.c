/* SPDX-License-Identifier: Apache-2.0 */
/* Bodies of the gateway's JSON routes, parsed and bounded without libvirt or HTTP. */
#include "gwbody.h"

#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "jsonx.h"
#include "limits.h"
#include "util.h"

int gwbody_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > GWBODY_NAME_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* The body as a JSON object of known fields only. */
static json_t *load_object(const char *body, size_t len, const char *const *fields,
			   struct vs_error *err)
{
	json_error_t jerr;
	json_t *o;

	if (len > VS_MAX_BODY_BYTES) {
		vs_fail(err, VS_ERR_INPUT, "body", "over %u bytes", VS_MAX_BODY_BYTES);
		return NULL;
	}
	o = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		vs_fail(err, VS_ERR_INPUT, "body", "body is not a JSON object: %s",
			o ? "another JSON value" : jerr.text);
		json_decref(o);
		return NULL;
	}
	if (json_check_fields(o, fields, "body", "body", err) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int get_int(json_t *o, const char *k, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

int gwbody_parse_create(const char *body, size_t len, struct gwbody_create *out,
			struct vs_error *err)
{
	static const char *const fields[] = {"name", "template", "memory_mib", "vcpus", NULL};
	json_t *o = load_object(body, len, fields, err);
	const char *name, *tmpl;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!o)
		return -1;
	name = json_string_value(json_object_get(o, "name"));
	tmpl = json_string_value(json_object_get(o, "template"));
	if (!name || !gwbody_name_ok(name) || !tmpl || !gwbody_name_ok(tmpl) ||
	    get_int(o, "memory_mib", 16, 1 << 20, &out->memory_mib) < 0 ||
	    get_int(o, "vcpus", 1, 64, &out->vcpus) < 0) {
		vs_fail(err, VS_ERR_INPUT, "body",
			"need name and template ([A-Za-z0-9._-], at most 64), memory_mib 16..1048576, "
			"vcpus 1..64");
		goto out;
	}
	memcpy(out->name, name, strlen(name) + 1);
	memcpy(out->template_name, tmpl, strlen(tmpl) + 1);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int gwbody_target_ok(const char *s)
{
	size_t p = !strncmp(s, "xvd", 3) ? 3 : (!strncmp(s, "vd", 2) || !strncmp(s, "sd", 2) ||
						   !strncmp(s, "hd", 2)) ? 2 : 0;
	size_t n = strlen(s);

	if (!p || n <= p || n > p + 3)
		return 0;
	for (size_t i = p; i < n; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return 0;
	return 1;
}

/* The template and target fields both routes share. */
static int get_template_target(json_t *o, char tmpl[static GWBODY_NAME_MAX + 1],
			       char target[static GWBODY_TARGET_MAX + 1], struct vs_error *err)
{
	const char *t = json_string_value(json_object_get(o, "template"));
	const char *d = json_string_value(json_object_get(o, "target"));

	if (!t || !gwbody_name_ok(t))
		return vs_fail(err, VS_ERR_INPUT, "template",
			       "template must be a file of the template directory ([A-Za-z0-9._-], at most 64)");
	if (!d || !gwbody_target_ok(d))
		return vs_fail(err, VS_ERR_INPUT, "target",
			       "target must be a disk name such as vdb, sdc or hdc (vd, sd, hd or xvd and 1-3 letters)");
	memcpy(tmpl, t, strlen(t) + 1);
	memcpy(target, d, strlen(d) + 1);
	return 0;
}

int gwbody_parse_disk(const char *body, size_t len, struct gwbody_disk *out, struct vs_error *err)
{
	static const char *const fields[] = {"template", "target", "mode", NULL};
	json_t *o;
	const char *mode;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!(o = load_object(body, len, fields, err)))
		return -1;
	if (get_template_target(o, out->template_name, out->target, err) < 0)
		goto out;
	mode = json_string_value(json_object_get(o, "mode"));
	if (!mode || (strcmp(mode, "readonly") && strcmp(mode, "overlay"))) {
		vs_fail(err, VS_ERR_INPUT, "mode", "mode must be \"readonly\" or \"overlay\"");
		goto out;
	}
	out->overlay = !strcmp(mode, "overlay");
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int gwbody_parse_media(const char *body, size_t len, struct gwbody_media *out, struct vs_error *err)
{
	static const char *const fields[] = {"template", "target", NULL};
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(o = load_object(body, len, fields, err)))
		return -1;
	rc = get_template_target(o, out->template_name, out->target, err);
	json_decref(o);
	return rc;
}

static int is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

/* A template or subject name: printable ASCII, no path separators, 1..128 bytes. */
static int sign_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > GWBODY_SIGN_NAME_MAX || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '/' ||
		    s[i] == '\\')
			return 0;
	return 1;
}

/* expires: seconds (integer) or a duration string ("365d", "12h"); absent: one year. */
static int get_expires(json_t *v, int64_t *out)
{
	if (!v) {
		*out = GWBODY_SIGN_DEFAULT_EXPIRES_S;
		return 0;
	}
	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (!json_is_string(v) || duration_parse(json_string_value(v), out) < 0)
		return -1;
	return *out > 0 && *out <= GWBODY_SIGN_MAX_EXPIRES_S ? 0 : -1;
}

int gwbody_parse_sign(const char *body, size_t len, struct statement *st, int64_t *expires_s,
		      struct vs_error *err)
{
	static const char *const fields[] = {"digest", "size", "template", "version", "expires",
					     "name", "format", NULL};
	json_t *o = load_object(body, len, fields, err), *v;
	const char *s;
	int rc = -1;

	if (!o)
		return -1;
	s = json_string_value(json_object_get(o, "digest"));
	if (!s || !is_hex64(s)) {
		vs_fail(err, VS_ERR_INPUT, "digest",
			"digest must be 64 lowercase hex digits (vmseal-merkle-sha256)");
		goto out;
	}
	memcpy(st->digest, s, 65);
	v = json_object_get(o, "size");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		vs_fail(err, VS_ERR_INPUT, "size", "size must be a non-negative integer (bytes)");
		goto out;
	}
	st->size = (uint64_t)json_integer_value(v);
	s = json_string_value(json_object_get(o, "template"));
	if (!s || !sign_name_ok(s)) {
		vs_fail(err, VS_ERR_INPUT, "template",
			"template must be a name of 1..128 printable bytes without /");
		goto out;
	}
	snprintf(st->template_name, sizeof(st->template_name), "%s", s);
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		vs_fail(err, VS_ERR_INPUT, "version", "version must be a non-negative integer");
		goto out;
	}
	st->template_version = json_integer_value(v);
	if (get_expires(json_object_get(o, "expires"), expires_s) < 0) {
		vs_fail(err, VS_ERR_INPUT, "expires",
			"expires must be seconds or a duration like 365d, at most 10 years");
		goto out;
	}
	v = json_object_get(o, "name");
	s = json_string_value(v);
	if (v && (!s || !sign_name_ok(s))) {
		vs_fail(err, VS_ERR_INPUT, "name", "name must be a file name of 1..128 printable bytes");
		goto out;
	}
	snprintf(st->subject_name, sizeof(st->subject_name), "%s", s ? s : st->template_name);
	v = json_object_get(o, "format");
	s = json_string_value(v);
	if (v && (!s || (strcmp(s, "qcow2") && strcmp(s, "raw")))) {
		vs_fail(err, VS_ERR_INPUT, "format", "format must be qcow2 or raw");
		goto out;
	}
	snprintf(st->format, sizeof(st->format), "%s", s ? s : "qcow2");
	rc = 0;
out:
	json_decref(o);
	return rc;
}
