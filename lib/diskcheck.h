/* SPDX-License-Identifier: Apache-2.0 */
/* A domain disk's launch decision: walk its backing chain, cross-check XML against the qcow2
 * headers, and judge every layer through lib/attest (its attestation beside it, then
 * policy_eval_image()). */
#ifndef VMSEAL_DISKCHECK_H
#define VMSEAL_DISKCHECK_H

#include <stdint.h>
#include <sys/types.h>

#include "domxml.h"
#include "error.h"
#include "filetrust.h"
#include "policy.h"
#include "started.h"

struct diskcheck_memo;

/* State shared by the disks of one domain: a template used by several disks is judged once. */
struct diskcheck {
	const struct policy *policy;
	int64_t now;
	const char *cache_dir;   /* NULL: no allow-cache */
	const uint8_t *secret;   /* HOSTSECRET_BYTES: MAC key of cache entries; NULL: no allow-cache */
	struct filetrust_opts trust; /* the ownership rule every layer must pass */
	struct started_record *record; /* non-NULL: every layer of an allowed disk is added to it */
	/* The overlay registry (lib/overlayreg.h): NULL state_secret, none (only overlays empty
	 * now are exempt). register_overlays: record overlays seen empty (start begin). */
	const char *state_dir;
	const uint8_t *state_secret;
	const char *domain;
	int register_overlays;
	/* The record of the domain's last allowed start begin when its run saw no release end
	 * (lib/started.h; NULL: none): a registered overlay it lists that changed since its
	 * registration was written by that run's guest. */
	const struct started_record *unstopped;
	struct diskcheck_memo *memo;
	size_t nmemo, capmemo;
};

struct disk_result {
	enum decision decision;  /* ALLOW_AUDIT_ONLY: would be denied, but enforce is false */
	struct vs_error why;     /* object: the offending layer (a path) or the disk's source */
	char summary[512];       /* for an allow: what was checked, for the audit log */
	unsigned layers;         /* layers walked */
	unsigned evaluated;      /* layers whose digest was computed */
	unsigned cached;         /* layers allowed from the cache */
};

/* cache_dir may be NULL (no cache); it must have passed evalcache_dir_check(). The ownership
 * rule trusts root alone and the policy's allow_remote_fs; set c->trust.qemu_uid to add QEMU's user. */
void diskcheck_init(struct diskcheck *c, const struct policy *p, int64_t now, const char *cache_dir);
void diskcheck_free(struct diskcheck *c);

/* Decides one disk. Files (type file) and block devices (type block) are opened once each
 * (following symlinks, as libvirt and QEMU do; the decision is bound to the opened inode).
 * With the chain in the XML (start begin) every layer must match the previous layer's qcow2
 * header (same inode, same format); without it (prepare begin) the headers are followed.
 * Denied: external data files, protocol backing names, loops, more than VS_MAX_BACKING_DEPTH
 * layers, formats other than raw and qcow2, network disks unless the policy allows them,
 * layers failing the ownership rule (filetrust_fd: others could swap or rewrite them before
 * QEMU opens them),
 * volume and other disk types, and any layer without an attestation that policy_eval_image()
 * allows (a missing, oversized or non-regular one is a verdict, lib/attest) — except a writable top overlay whose backing layer's template rule has
 * allow_overlay and that the hook saw born empty (no L1 entries, no snapshots: now, or
 * registered for this domain when it was, and unchanged since its domain last stopped or
 * changed by its domain's unstopped run). With enforce false, denials of kind VS_ERR_DENIED become ALLOW_AUDIT_ONLY;
 * errors (I/O, hostile headers) still deny. Returns 0 when the disk may start (ALLOW or
 * ALLOW_AUDIT_ONLY), -1 when denied; r->why says why in both non-ALLOW cases. */
int diskcheck_disk(struct diskcheck *c, const struct domain_disk *d, struct disk_result *r);

#endif
