/* SPDX-License-Identifier: Apache-2.0 */
/* The allow-list of libvirt's domain XML: every element and attribute vmseal understands. */
#ifndef VMSEAL_DOMALLOW_H
#define VMSEAL_DOMALLOW_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "filetrust.h"
#include "limits.h"
#include "policy.h"
#include "policy_launch.h"
#include "statement.h"

/* How the table classifies an element (lib/domallow.c, "the table"). */
enum domallow_class {
	DOMALLOW_HARMLESS, /* names nothing on the host that could run in the guest */
	DOMALLOW_SIGNED,   /* names a file that must be covered: disks (lib/diskcheck), boot files */
	DOMALLOW_OPTIN,    /* refused unless the policy's launch.allow enables it */
	DOMALLOW_REFUSED,  /* always refused */
};

/* A boot file the domain names (a "signed" element other than a disk). */
struct domallow_bootfile {
	enum boot_kind kind;
	char element[48];               /* "<os><kernel>", "<os><nvram template>" */
	char path[VS_MAX_PATH_BYTES];
	int nvram_template;             /* <nvram template='…'>, not the NVRAM file itself */
	char verdict[512];              /* domallow_boot_check: what allowed it, for the audit log */
};

/* vmseal's own files and directories, canonicalised when added: no source, target or path in
 * the domain XML may be, lie under, or contain one of them (nor be a hard link to one). */
struct domallow_protect {
	size_t n;
	struct {
		char path[VS_MAX_PATH_BYTES]; /* canonical */
		char what[32];                /* "policy", "audit log", "cache directory" … */
		int exists;
		dev_t dev;
		ino_t ino;
	} p[VS_MAX_PROTECTED_PATHS];
};

/* Adds path (a file or a directory, need not exist) as what. -1 when the list is full or the
 * path is not absolute. */
int domallow_protect_add(struct domallow_protect *p, const char *path, const char *what,
			 struct vs_error *err);

struct domallow_opts {
	const struct policy_launch *launch;     /* NULL: the defaults (no opt-ins) */
	const struct domallow_protect *protect; /* NULL: nothing protected */
	unsigned *hits;                         /* tests: per table entry, elements matched; or NULL */
	const char *network_dir;                /* running networks' status; NULL: DOMALLOW_NETWORK_DIR */
};

/* Where libvirt keeps the status XML of each running network (NAME.xml). */
#define DOMALLOW_NETWORK_DIR "/run/libvirt/network"

/* What a libvirt network's status (or definition) XML lets an <interface type='network'> reach:
 * *need is the launch.allow bit it needs, 0 for none (isolated, nat, route, open, a host
 * bridge), LAUNCH_ALLOW_HOSTDEV for mode hostdev, LAUNCH_ALLOW_HOST_INTERFACE for macvtap modes
 * (bridge over host devices, private, vepa, passthrough); what says which, for messages. An
 * unknown mode is VS_ERR_DENIED, a malformed document VS_ERR_INPUT; name is for errors. */
int domallow_network_judge(const char *xml, size_t len, const char *name, unsigned *need, char *what,
			   size_t whatlen, struct vs_error *err);

struct domallow_result {
	char emulator[VS_MAX_PATH_BYTES];   /* <devices><emulator>, checked */
	size_t nboot;
	struct domallow_bootfile boot[VS_MAX_BOOT_FILES];
	int has_cmdline;
	char cmdline[VS_MAX_CMDLINE_BYTES]; /* <os><cmdline>: judged with the kernel */
	int has_rng;                        /* a virtio <rng> fed by /dev/urandom, /dev/random or builtin */
	int denied_entry;                   /* the table entry that denied, -1 for none */
};

/* Judges the whole domain XML against the table: every element and attribute must be in it
 * (else "unknown element <devices><foo>" / "unknown attribute"), refused and not-opted-in
 * entries deny, no path may name a protected path, file chardevs and <log file> must lie under
 * launch.log_dir, <emulator> must match launch.emulators and be a root-owned file not writable
 * by group or other in root-owned directories, a static DAC label of uid or gid 0 is refused,
 * and with launch.require_rng a virtio <rng> from the kernel's RNG is required. Disks are only
 * read for their structure here (fdgroup refused); their images are diskcheck_disk()'s. Boot
 * files are collected into r->boot for the boot-file decision. Returns 0 when allowed, -1
 * with err (VS_ERR_DENIED for a refusal, VS_ERR_INPUT for a malformed document). */
int domallow_check(const char *xml, size_t len, const struct domallow_opts *o,
		   struct domallow_result *r, struct vs_error *err);

/* Every boot file the domain names must pass bootfile_check() (lib/bootfile.h) for its kind at
 * time now, with the ownership rule trust (the hook's; NULL: none), the kernel with the domain's
 * <cmdline>, the NVRAM file with bootfile_check_nvram(); a <cmdline> without a <kernel> is refused.
 * Each allowed file's boot[i].verdict says what covered it (pin or signature), for the audit.
 * 0 when all are allowed (or the domain names none); -1 with err naming the element and the
 * file: VS_ERR_DENIED for a refusal (also when the policy's enforce is false: the caller
 * decides about audit-only mode), another kind for a runtime error. */
int domallow_boot_check(const struct policy *p, struct domallow_result *r, int64_t now,
			const struct filetrust_opts *trust, struct vs_error *err);

/* Refuses libvirt operations whose guest state no check can see: "restore" (the saved RAM)
 * unless launch.allow.restore. */
int domallow_operation_check(const struct policy_launch *l, const char *op, struct vs_error *err);

const char *domallow_class_name(enum domallow_class c);

#endif
