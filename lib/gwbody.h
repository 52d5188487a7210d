/* SPDX-License-Identifier: Apache-2.0 */
/* Bodies of the gateway's JSON routes (POST /v1/domains, POST /v1/sign), parsed and bounded
 * without libvirt or HTTP, so that a fuzz target can drive them. */
#ifndef VMSEAL_GWBODY_H
#define VMSEAL_GWBODY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "statement.h"

#define GWBODY_NAME_MAX 64       /* a domain or template name of the domain routes */
#define GWBODY_SIGN_NAME_MAX 128 /* a template or subject name of POST /v1/sign */
#define GWBODY_SIGN_DEFAULT_EXPIRES_S (365 * 86400)
#define GWBODY_SIGN_MAX_EXPIRES_S (10 * 366 * 86400)

/* A domain, template or file name: [A-Za-z0-9._-], 1..GWBODY_NAME_MAX bytes, not starting with
 * '.' or '-', so that it is safe in paths and XML without escaping. */
int gwbody_name_ok(const char *s);

/* POST /v1/domains. */
struct gwbody_create {
	char name[GWBODY_NAME_MAX + 1];
	char template_name[GWBODY_NAME_MAX + 1];
	int64_t memory_mib; /* 16..1048576 */
	int64_t vcpus;      /* 1..64 */
};

/* Parses {name, template, memory_mib, vcpus} (exactly these fields, all required, names by
 * gwbody_name_ok). On failure err is VS_ERR_INPUT and its reason is the detail for the client. */
int gwbody_parse_create(const char *body, size_t len, struct gwbody_create *out,
			struct vs_error *err);

/* A disk target as libvirt names them: vd, sd, hd or xvd followed by 1..3 letters a-z. */
#define GWBODY_TARGET_MAX 8
int gwbody_target_ok(const char *s);

/* POST /v1/domains/{name}/disks: attach a verified template, readonly or as a fresh overlay. */
struct gwbody_disk {
	char template_name[GWBODY_NAME_MAX + 1];
	char target[GWBODY_TARGET_MAX + 1];
	int overlay; /* mode "overlay": a new qcow2 overlay on the template; "readonly": the template */
};

/* Parses {template, target, mode} (exactly these fields, all required; mode "readonly" or
 * "overlay"). On failure err is VS_ERR_INPUT and its reason is the detail for the client. */
int gwbody_parse_disk(const char *body, size_t len, struct gwbody_disk *out, struct vs_error *err);

/* POST /v1/domains/{name}/media: put a verified image (an ISO: raw) in a cdrom drive. */
struct gwbody_media {
	char template_name[GWBODY_NAME_MAX + 1];
	char target[GWBODY_TARGET_MAX + 1];
};

/* Parses {template, target} (exactly these fields, both required). */
int gwbody_parse_media(const char *body, size_t len, struct gwbody_media *out, struct vs_error *err);

/* Parses POST /v1/sign's {digest, size, template, version[, expires, name, format]}: fills st's
 * digest (64 lowercase hex), size, template_name, template_version, subject_name (default: the
 * template) and format (qcow2 or raw, default qcow2), and *expires_s, the validity in seconds
 * (integer or duration like "365d"; default one year, at most ten). Other fields of st are left
 * alone. On failure err is VS_ERR_INPUT and its reason is the detail for the client. */
int gwbody_parse_sign(const char *body, size_t len, struct statement *st, int64_t *expires_s,
		      struct vs_error *err);

#endif
