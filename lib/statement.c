/* SPDX-License-Identifier: Apache-2.0 */
/* in-toto Statement v1 with the template and boot predicates: strict parse and encode. */
#include "statement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "jsonx.h"
#include "util.h"

static int get_string(json_t *o, const char *field, char *dst, size_t dstlen, const char *object,
		      struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	if (!json_is_string(v))
		return vs_fail(err, VS_ERR_INPUT, object, "statement: \"%s\" missing or not a string", field);
	if (json_string_length(v) == 0 || json_string_length(v) >= dstlen ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return vs_fail(err, VS_ERR_INPUT, object, "statement: \"%s\" is empty, too long or has NUL",
			       field);
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_uint(json_t *o, const char *field, int64_t min, int64_t *out, const char *object,
		    struct vs_error *err)
{
	json_t *v = json_object_get(o, field);

	if (!json_is_integer(v) || json_integer_value(v) < min)
		return vs_fail(err, VS_ERR_INPUT, object,
			       "statement: \"%s\" missing or not an integer >= %lld", field, (long long)min);
	*out = json_integer_value(v);
	return 0;
}

static int get_hex_digest(const char *hex, const char *alg, const char *object, struct vs_error *err)
{
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return vs_fail(err, VS_ERR_INPUT, object, "%s digest \"%.80s\" is not 64 lowercase hex digits",
			       alg, hex);
	return 0;
}

static int get_time(json_t *o, const char *field, int64_t *out, const char *object, struct vs_error *err)
{
	char buf[64];

	if (get_string(o, field, buf, sizeof(buf), object, err) < 0)
		return -1;
	if (time_parse_rfc3339(buf, out) < 0)
		return vs_fail(err, VS_ERR_INPUT, object, "statement: \"%s\" is not an RFC 3339 time: \"%s\"",
			       field, buf);
	return 0;
}

static const char *const kind_names[] = {
	[BOOT_KIND_KERNEL] = "kernel", [BOOT_KIND_INITRD] = "initrd", [BOOT_KIND_FIRMWARE] = "firmware",
	[BOOT_KIND_NVRAM] = "nvram",   [BOOT_KIND_DTB] = "dtb",       [BOOT_KIND_ACPI] = "acpi",
};

enum boot_kind boot_kind_parse(const char *name)
{
	for (size_t i = 1; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (!strcmp(name, kind_names[i]))
			return (enum boot_kind)i;
	return BOOT_KIND_NONE;
}

const char *boot_kind_name(enum boot_kind k)
{
	if ((size_t)k < 1 || (size_t)k >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "none";
	return kind_names[k];
}

/* The template predicate: {"template": {name, version}, "image": {format, size, chunkSize}}. */
static int parse_template_predicate(json_t *p, const char *object, struct statement *st,
				    struct vs_error *err)
{
	static const char *const pred[] = {"template", "image", "signedAt", "expiresAt", NULL};
	static const char *const tmpl[] = {"name", "version", NULL};
	static const char *const img[] = {"format", "size", "chunkSize", NULL};
	json_t *t, *im;
	int64_t n;

	if (json_check_fields(p, pred, "predicate", object, err) < 0)
		return -1;
	t = json_object_get(p, "template");
	if (!json_is_object(t))
		return vs_fail(err, VS_ERR_INPUT, object, "predicate.template missing");
	if (json_check_fields(t, tmpl, "template", object, err) < 0 ||
	    get_string(t, "name", st->template_name, sizeof(st->template_name), object, err) < 0 ||
	    get_uint(t, "version", 0, &st->template_version, object, err) < 0)
		return -1;
	im = json_object_get(p, "image");
	if (!json_is_object(im))
		return vs_fail(err, VS_ERR_INPUT, object, "predicate.image missing");
	if (json_check_fields(im, img, "image", object, err) < 0 ||
	    get_string(im, "format", st->format, sizeof(st->format), object, err) < 0 ||
	    get_uint(im, "size", 0, &n, object, err) < 0)
		return -1;
	st->size = (uint64_t)n;
	if (get_uint(im, "chunkSize", 1, &n, object, err) < 0)
		return -1;
	st->chunk_size = (uint64_t)n;
	return 0;
}

/* A kernel's command lines: exact strings, "" allowed (a domain without <cmdline>), no
 * duplicates, no control characters (they would reach logs and the guest verbatim). */
static int parse_cmdlines(json_t *v, const char *object, struct statement *st, struct vs_error *err)
{
	json_t *e;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > VS_MAX_BOOT_CMDLINES)
		return vs_fail(err, VS_ERR_INPUT, object,
			       "statement: a kernel's \"cmdlines\" must be an array of 1 to %d strings",
			       VS_MAX_BOOT_CMDLINES);
	json_array_foreach(v, i, e) {
		const char *s = json_is_string(e) ? json_string_value(e) : NULL;
		size_t len = s ? json_string_length(e) : 0;

		if (!s || len >= VS_MAX_CMDLINE_BYTES || strlen(s) != len)
			return vs_fail(err, VS_ERR_INPUT, object,
				       "statement: cmdlines[%zu] is not a string of at most %d bytes without NUL",
				       i, VS_MAX_CMDLINE_BYTES - 1);
		for (size_t j = 0; j < len; j++)
			if ((unsigned char)s[j] < 0x20 || s[j] == 0x7f)
				return vs_fail(err, VS_ERR_INPUT, object,
					       "statement: cmdlines[%zu] has a control character", i);
		for (size_t j = 0; j < st->ncmdlines; j++)
			if (!strcmp(st->cmdlines[j], s))
				return vs_fail(err, VS_ERR_INPUT, object, "statement: cmdlines[%zu] listed twice", i);
		memcpy(st->cmdlines[st->ncmdlines++], s, len + 1);
	}
	return 0;
}

/* The boot predicate: {"boot": {name, kind, version}, "file": {size, chunkSize}, "cmdlines"}. */
static int parse_boot_predicate(json_t *p, const char *object, struct statement *st,
				struct vs_error *err)
{
	static const char *const pred[] = {"boot", "file", "cmdlines", "signedAt", "expiresAt", NULL};
	static const char *const boot[] = {"name", "kind", "version", NULL};
	static const char *const file[] = {"size", "chunkSize", NULL};
	char kind[16];
	json_t *b, *f, *c;
	int64_t n;

	st->predicate = STATEMENT_BOOT;
	if (json_check_fields(p, pred, "predicate", object, err) < 0)
		return -1;
	b = json_object_get(p, "boot");
	if (!json_is_object(b))
		return vs_fail(err, VS_ERR_INPUT, object, "predicate.boot missing");
	if (json_check_fields(b, boot, "boot", object, err) < 0 ||
	    get_string(b, "name", st->template_name, sizeof(st->template_name), object, err) < 0 ||
	    get_uint(b, "version", 0, &st->template_version, object, err) < 0 ||
	    get_string(b, "kind", kind, sizeof(kind), object, err) < 0)
		return -1;
	st->boot_kind = boot_kind_parse(kind);
	if (st->boot_kind == BOOT_KIND_NONE)
		return vs_fail(err, VS_ERR_INPUT, object,
			       "statement: boot kind \"%s\" is not kernel, initrd, firmware, nvram, dtb or acpi",
			       kind);
	f = json_object_get(p, "file");
	if (!json_is_object(f))
		return vs_fail(err, VS_ERR_INPUT, object, "predicate.file missing");
	if (json_check_fields(f, file, "file", object, err) < 0 ||
	    get_uint(f, "size", 0, &n, object, err) < 0)
		return -1;
	st->size = (uint64_t)n;
	if (get_uint(f, "chunkSize", 1, &n, object, err) < 0)
		return -1;
	st->chunk_size = (uint64_t)n;
	c = json_object_get(p, "cmdlines");
	if (st->boot_kind == BOOT_KIND_KERNEL)
		return parse_cmdlines(c, object, st, err);
	if (c)
		return vs_fail(err, VS_ERR_INPUT, object, "statement: only a kernel lists cmdlines, not a %s",
			       kind);
	return 0;
}

int statement_parse(const uint8_t *json, size_t len, const char *object, struct statement *st,
		    struct vs_error *err)
{
	static const char *const top[] = {"_type", "subject", "predicateType", "predicate", NULL};
	static const char *const subj[] = {"name", "digest", NULL};
	json_error_t jerr;
	json_t *root, *v, *s, *d, *p;
	char buf[128];
	int boot, r = -1;

	memset(st, 0, sizeof(*st));
	root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vs_fail(err, VS_ERR_INPUT, object, "statement is not valid JSON: %s", jerr.text);
	if (!json_is_object(root) || json_check_fields(root, top, "statement", object, err) < 0) {
		if (!json_is_object(root))
			vs_fail(err, VS_ERR_INPUT, object, "statement is not a JSON object");
		goto out;
	}
	if (get_string(root, "_type", buf, sizeof(buf), object, err) < 0)
		goto out;
	if (strcmp(buf, STATEMENT_TYPE)) {
		vs_fail(err, VS_ERR_INPUT, object, "statement _type \"%s\" is not \"%s\"", buf, STATEMENT_TYPE);
		goto out;
	}
	if (get_string(root, "predicateType", buf, sizeof(buf), object, err) < 0)
		goto out;
	boot = !strcmp(buf, STATEMENT_BOOT_PREDICATE_TYPE);
	if (!boot && strcmp(buf, STATEMENT_PREDICATE_TYPE)) {
		vs_fail(err, VS_ERR_INPUT, object, "predicateType \"%s\" is not \"%s\" or \"%s\"", buf,
			STATEMENT_PREDICATE_TYPE, STATEMENT_BOOT_PREDICATE_TYPE);
		goto out;
	}
	v = json_object_get(root, "subject");
	if (!json_is_array(v) || json_array_size(v) != 1) {
		vs_fail(err, VS_ERR_INPUT, object, "statement must have exactly one subject");
		goto out;
	}
	s = json_array_get(v, 0);
	if (!json_is_object(s) || json_check_fields(s, subj, "subject", object, err) < 0 ||
	    get_string(s, "name", st->subject_name, sizeof(st->subject_name), object, err) < 0) {
		if (!json_is_object(s))
			vs_fail(err, VS_ERR_INPUT, object, "subject is not an object");
		goto out;
	}
	d = json_object_get(s, "digest");
	if (!json_is_object(d) || json_object_size(d) < 1) {
		vs_fail(err, VS_ERR_INPUT, object, "subject digest missing");
		goto out;
	}
	{
		const char *alg;
		json_t *dv;

		/* Every digest named is one vmseal checks (issue #14 item 9). */
		json_object_foreach(d, alg, dv) {
			if (strcmp(alg, STATEMENT_DIGEST_ALG) && strcmp(alg, STATEMENT_SHA256_ALG)) {
				vs_fail(err, VS_ERR_INPUT, object,
					"subject digest algorithm \"%.40s\" is not one vmseal checks (%s, %s)",
					alg, STATEMENT_DIGEST_ALG, STATEMENT_SHA256_ALG);
				goto out;
			}
		}
	}
	if (get_string(d, STATEMENT_DIGEST_ALG, st->digest, sizeof(st->digest), object, err) < 0 ||
	    get_hex_digest(st->digest, STATEMENT_DIGEST_ALG, object, err) < 0)
		goto out;
	if (json_object_get(d, STATEMENT_SHA256_ALG) &&
	    (get_string(d, STATEMENT_SHA256_ALG, st->sha256, sizeof(st->sha256), object, err) < 0 ||
	     get_hex_digest(st->sha256, STATEMENT_SHA256_ALG, object, err) < 0))
		goto out;
	p = json_object_get(root, "predicate");
	if (!json_is_object(p)) {
		vs_fail(err, VS_ERR_INPUT, object, "predicate missing or not an object");
		goto out;
	}
	if ((boot ? parse_boot_predicate(p, object, st, err) : parse_template_predicate(p, object, st, err)) < 0)
		goto out;
	if (st->chunk_size != VS_CHUNK_SIZE) {
		vs_fail(err, VS_ERR_INPUT, object, "chunkSize %llu is not %u", (unsigned long long)st->chunk_size,
			VS_CHUNK_SIZE);
		goto out;
	}
	if (get_time(p, "signedAt", &st->signed_at, object, err) < 0)
		goto out;
	if (json_object_get(p, "expiresAt") && get_time(p, "expiresAt", &st->expires_at, object, err) < 0)
		goto out;
	r = 0;
out:
	json_decref(root);
	return r;
}

char *statement_encode(const struct statement *st, size_t *len)
{
	char signed_at[32], expires_at[32];
	json_t *root, *pred;
	char *s;

	time_format_rfc3339(st->signed_at, signed_at, sizeof(signed_at));
	if (st->predicate == STATEMENT_BOOT) {
		pred = json_pack("{s:{s:s, s:s, s:I}, s:{s:I, s:I}}", "boot", "name", st->template_name,
				 "kind", boot_kind_name(st->boot_kind), "version",
				 (json_int_t)st->template_version, "file", "size", (json_int_t)st->size,
				 "chunkSize", (json_int_t)st->chunk_size);
		if (pred && st->boot_kind == BOOT_KIND_KERNEL) {
			json_t *c = json_array();

			for (size_t i = 0; c && i < st->ncmdlines && i < VS_MAX_BOOT_CMDLINES; i++)
				json_array_append_new(c, json_string(st->cmdlines[i]));
			json_object_set_new(pred, "cmdlines", c);
		}
		if (pred)
			json_object_set_new(pred, "signedAt", json_string(signed_at));
	} else {
		pred = json_pack("{s:{s:s, s:I}, s:{s:s, s:I, s:I}, s:s}",
				 "template", "name", st->template_name, "version",
				 (json_int_t)st->template_version, "image", "format", st->format, "size",
				 (json_int_t)st->size, "chunkSize", (json_int_t)st->chunk_size, "signedAt",
				 signed_at);
	}
	if (!pred)
		return NULL;
	if (st->expires_at) {
		time_format_rfc3339(st->expires_at, expires_at, sizeof(expires_at));
		json_object_set_new(pred, "expiresAt", json_string(expires_at));
	}
	root = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:o}", "_type", STATEMENT_TYPE, "subject",
			 "name", st->subject_name, "digest", STATEMENT_DIGEST_ALG, st->digest,
			 "predicateType",
			 st->predicate == STATEMENT_BOOT ? STATEMENT_BOOT_PREDICATE_TYPE : STATEMENT_PREDICATE_TYPE,
			 "predicate", pred);
	if (!root)
		return NULL;
	if (st->sha256[0])
		json_object_set_new(json_object_get(json_array_get(json_object_get(root, "subject"), 0), "digest"),
				    STATEMENT_SHA256_ALG, json_string(st->sha256));
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (s && len)
		*len = strlen(s);
	return s;
}

/* 1 when the kernel command lines of st are exactly want's (no more, no fewer, any order). */
static int cmdlines_match(const struct statement *st, const char *const *cmdlines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < st->ncmdlines && strcmp(st->cmdlines[j], cmdlines[i]); j++)
			;
		if (j == st->ncmdlines || n != st->ncmdlines)
			return 0;
	}
	return 1;
}

int statement_countersign_check(const struct statement *st, const struct statement_expect *want,
				const char *image, const char *object, struct vs_error *err)
{
	if (strcmp(want->digest, st->digest) || st->size != want->size)
		return vs_fail(err, VS_ERR_DENIED, image,
			       "refusing to countersign: envelope %s is for another image (digest %.16s…, image is %.16s…)",
			       object, st->digest, want->digest);
	if ((want->name && strcmp(want->name, st->template_name)) ||
	    (want->version >= 0 && want->version != st->template_version) ||
	    (want->kind != BOOT_KIND_NONE && (st->predicate != STATEMENT_BOOT || st->boot_kind != want->kind)) ||
	    (want->template_only && st->predicate != STATEMENT_TEMPLATE))
		return vs_fail(err, VS_ERR_DENIED, object,
			       "refusing to countersign: envelope names %s \"%s\" version %lld",
			       st->predicate == STATEMENT_BOOT ? boot_kind_name(st->boot_kind) : "template",
			       st->template_name, (long long)st->template_version);
	if (!cmdlines_match(st, want->cmdlines, want->ncmdlines))
		return vs_fail(err, VS_ERR_DENIED, object,
			       "refusing to countersign: the envelope's kernel command lines differ from --cmdline");
	return 0;
}
