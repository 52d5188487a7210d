/* SPDX-License-Identifier: Apache-2.0 */
/* in-toto Statement v1 with vmseal's predicates: a template image (urn:vmseal:template:v1) or a
 * boot file (urn:vmseal:boot:v1: kernel, initrd, firmware, NVRAM template, DTB, ACPI table). */
#ifndef VMSEAL_STATEMENT_H
#define VMSEAL_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "limits.h"

#define STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define STATEMENT_PREDICATE_TYPE "urn:vmseal:template:v1"
#define STATEMENT_BOOT_PREDICATE_TYPE "urn:vmseal:boot:v1"
#define STATEMENT_DIGEST_ALG "vmseal-merkle-sha256"
#define STATEMENT_SHA256_ALG "sha256"

enum statement_predicate { STATEMENT_TEMPLATE = 0, STATEMENT_BOOT };

/* What a boot file is used as; BOOT_KIND_NONE only in template Statements. */
enum boot_kind {
	BOOT_KIND_NONE = 0,
	BOOT_KIND_KERNEL,
	BOOT_KIND_INITRD,
	BOOT_KIND_FIRMWARE, /* <os><loader> */
	BOOT_KIND_NVRAM,    /* <nvram template>, or an NVRAM file itself */
	BOOT_KIND_DTB,
	BOOT_KIND_ACPI,     /* <acpi><table> */
};

struct statement {
	enum statement_predicate predicate;
	char subject_name[VS_MAX_NAME_BYTES];
	char digest[VS_SHA256_HEX_BYTES]; /* vmseal-merkle-sha256, lowercase hex */
	char sha256[VS_SHA256_HEX_BYTES]; /* optional plain SHA-256 of the whole file; "" when absent */
	char template_name[VS_MAX_NAME_BYTES]; /* template.name, or boot.name */
	int64_t template_version;              /* template.version, or boot.version */
	char format[16];           /* template only: "qcow2", "raw" */
	uint64_t size;
	uint64_t chunk_size;
	int64_t signed_at;
	int64_t expires_at;        /* 0: no expiry */
	/* boot predicate only */
	enum boot_kind boot_kind;
	size_t ncmdlines;          /* kernel: ≥ 1; other kinds: 0 */
	char cmdlines[VS_MAX_BOOT_CMDLINES][VS_MAX_CMDLINE_BYTES]; /* exact; "" allows none */
};

/* Parses and validates a Statement: one subject, one of our predicate types, all fields typed
 * and bounded, unknown fields refused, digest 64 lowercase hex, chunkSize == VS_CHUNK_SIZE.
 * A boot Statement names a known kind; a kernel's lists 1..VS_MAX_BOOT_CMDLINES distinct
 * command lines without control characters, and no other kind may list any. Callers check
 * st->predicate: a boot Statement never covers a disk, nor a template Statement a boot file.
 * The subject's digest holds vmseal-merkle-sha256 and optionally sha256, each 64 lowercase
 * hex; any other algorithm is refused (every digest a subject names is checked). */
int statement_parse(const uint8_t *json, size_t len, const char *object, struct statement *out,
		    struct vs_error *err);

/* What a countersignature (vmseal-sign --append) must agree with: the image hashed here, and
 * whatever the signer named on the command line. */
struct statement_expect {
	const char *digest;     /* the image's vmseal-merkle-sha256, 64 lowercase hex */
	uint64_t size;          /* the image's size in bytes */
	const char *name;       /* NULL: any; else template.name or boot.name */
	int64_t version;        /* -1: any */
	int template_only;      /* 1: must be a template Statement */
	enum boot_kind kind;    /* BOOT_KIND_NONE: any; else a boot Statement of this kind */
	const char *const *cmdlines; /* ncmdlines 0: any; else exactly these, in any order */
	size_t ncmdlines;
};

/* The countersign match: 0 when st (the envelope at object's statement) is for the image
 * described by want and says what want names; else -1 (VS_ERR_DENIED, "refusing to
 * countersign: ...") naming image for another image's envelope, object for another name,
 * version, kind or command lines. */
int statement_countersign_check(const struct statement *st, const struct statement_expect *want,
				const char *image, const char *object, struct vs_error *err);

/* Serialises a Statement as compact JSON. malloc'd, NUL-terminated; *len excludes the NUL. */
char *statement_encode(const struct statement *st, size_t *len);

/* "kernel", "initrd", "firmware", "nvram", "dtb", "acpi" ↔ enum boot_kind (NONE when unknown). */
enum boot_kind boot_kind_parse(const char *name);
const char *boot_kind_name(enum boot_kind k);

#endif
