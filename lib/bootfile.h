/* SPDX-License-Identifier: Apache-2.0 */
/* The one decision for a boot file (kernel, initrd, firmware, NVRAM, DTB, ACPI table): pinned
 * in the policy by digest, or covered by a boot attestation (FILE.intoto.json) beside it. */
#ifndef VMSEAL_BOOTFILE_H
#define VMSEAL_BOOTFILE_H

#include <stdint.h>
#include <sys/types.h>

#include "attest.h"
#include "error.h"
#include "filetrust.h"
#include "policy.h"
#include "statement.h"

#define BOOTFILE_ATTESTATION_SUFFIX ATTEST_SUFFIX /* lib/attest.h: one attestation entry point */

struct bootfile_result {
	enum decision decision;   /* ALLOW_AUDIT_ONLY: denied, but the policy's enforce is false */
	struct vs_error why;      /* the denial; object: the file's path */
	char summary[512];        /* for an allow: what covered it, for the audit log */
	int pinned;               /* allowed by a pin of the policy's boot section */
	int unsigned_file;        /* denied only for having no attestation (and no pin) */
	struct statement st;      /* the boot Statement, when an attestation parsed */
	unsigned valid;           /* signatures counted (the last rule checked) */
	char signers[VS_MAX_SIGNATURES][KEY_ID_HEX_LEN + 1];
	dev_t dev;                /* the inode judged (valid once the file was opened) */
	ino_t ino;
};

/* Decides whether the file at path may be used as a boot file of the given kind, at time now.
 * The file is opened once (vs_open_input: it must be a regular file) and the decision is bound
 * to that inode. With trust (the hook's), it must first pass the ownership rule, filetrust_fd:
 * only root (or trust->qemu_uid) can change it, through root-owned directories, on a local file
 * system; trust NULL skips that rule (vmseal-verify, as for images: the rule is about what QEMU
 * opens later, on the host that starts it). It is allowed when
 *  - a pin of the policy's "boot" section covers it: same kind, size and vmseal-merkle-sha256,
 *    and the pin names this path (same string or same inode) or no path. A pin that names this
 *    path decides alone: a file there with another digest is refused, whatever it is signed by;
 *  - or else its attestation (path + ".intoto.json") holds a boot Statement of this very kind
 *    that every boot rule matching its name and kind accepts (signatures by rule keys with
 *    usage "boot", each key once, threshold, min_version), not expired, digest not revoked,
 *    size and digest equal to the file's.
 * For a kernel, cmdline (NULL: the domain has no <cmdline>, taken as "") must be exactly one of
 * the Statement's (or the pin's) command lines. Revoked digests are refused even when pinned.
 * Returns 0 when a verdict was reached (r->decision, r->why), -1 on a runtime error (err:
 * the file cannot be opened or read), which callers treat as a denial. With trust->record
 * (start begin), an allowed file of any kind but nvram is added to it as judged (STARTED_BOOT:
 * QEMU reads it at its start); an nvram file may be a template, which QEMU never opens. */
int bootfile_check(const struct policy *p, enum boot_kind kind, const char *path, const char *cmdline,
		   int64_t now, const struct filetrust_opts *trust, struct bootfile_result *r,
		   struct vs_error *err);

/* The decision for a domain's NVRAM file (<os><nvram>path</nvram>; template_path: its template
 * attribute, or NULL). The template, when named, must pass bootfile_check as kind nvram.
 * The file itself, when it does not exist yet, is allowed (libvirt creates it as a copy of the
 * template it names or picks, as with firmware='efi', before "start begin", where the hook
 * judges the copy and the template libvirt filled in).
 * When it exists it must pass bootfile_check as kind nvram (pinned or signed), or be a fresh
 * copy of the template: the same size and vmseal-merkle-sha256. Anything else is refused: a
 * VM's saved UEFI variables (boot entries, Secure Boot keys) cannot be verified; `virsh start
 * --reset-nvram` recreates the file from the template. Returns as bootfile_check; r->why's
 * object is the file that failed (the template or the NVRAM file). With trust->record, the
 * NVRAM file allowed (not the template) is added to it as judged, as a file QEMU holds. */
int bootfile_check_nvram(const struct policy *p, const char *path, const char *template_path,
			 int64_t now, const struct filetrust_opts *trust, struct bootfile_result *r,
			 struct vs_error *err);

#endif
