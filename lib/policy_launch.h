/* SPDX-License-Identifier: Apache-2.0 */
/* The policy's "launch" section: which emulators may run, what the domain XML may opt into. */
#ifndef VMSEAL_POLICY_LAUNCH_H
#define VMSEAL_POLICY_LAUNCH_H

#include <jansson.h>

#include "error.h"
#include "limits.h"

/* Opt-ins: each admits something the hook cannot verify (man vmseal-hook, POLICY). */
enum launch_optin {
	LAUNCH_ALLOW_RESTORE = 1u << 0,        /* restore a saved image (its RAM is unverified) */
	LAUNCH_ALLOW_HOSTDEV = 1u << 1,        /* <hostdev>, <interface type='hostdev'>, evdev input */
	LAUNCH_ALLOW_REDIRDEV = 1u << 2,       /* <redirdev>: USB redirection */
	LAUNCH_ALLOW_SMARTCARD_DB = 1u << 3,   /* <smartcard><database>: a host NSS database */
	LAUNCH_ALLOW_SHMEM = 1u << 4,          /* <shmem>: memory shared with host processes */
	LAUNCH_ALLOW_TPM_PASSTHROUGH = 1u << 5,/* <tpm> backend passthrough or external */
	LAUNCH_ALLOW_FILESYSTEM = 1u << 6,     /* <filesystem>: a host directory in the guest */
	LAUNCH_ALLOW_NVDIMM = 1u << 7,         /* <memory model='nvdimm|virtio-pmem'>: a file as RAM */
	LAUNCH_ALLOW_FWCFG = 1u << 8,          /* <sysinfo type='fwcfg'>: host files into fw_cfg */
	LAUNCH_ALLOW_OPTION_ROM = 1u << 9,     /* <rom file>: an unsigned option ROM runs first */
	LAUNCH_ALLOW_HOST_CHARDEV = 1u << 10,  /* chardevs of type pipe/dev, rng egd */
	LAUNCH_ALLOW_HOST_INTERFACE = 1u << 11,/* interfaces other than user/network/bridge */
	LAUNCH_ALLOW_SECLABEL = 1u << 12,      /* a security label the domain chooses */
	LAUNCH_ALLOW_NETWORK_BOOT = 1u << 13,  /* boot from the network (PXE): unsigned code */
	LAUNCH_ALLOW_SMBIOS = 1u << 14,        /* <sysinfo type='smbios'>: strings guests run as config */
	LAUNCH_ALLOW_MIGRATE = 1u << 15,       /* an incoming migration (its RAM is unverified) */
	LAUNCH_ALLOW_OPEN_CONSOLE = 1u << 16,  /* a console anyone who connects may type on, with
						* a firmware they can steer (UEFI, a boot menu) */
};

#define POLICY_LAUNCH_MAX_EMULATORS 16

struct policy_launch {
	/* fnmatch(3) patterns (FNM_PATHNAME) for <emulator>; none: POLICY_LAUNCH_DEFAULT_EMULATOR */
	char emulators[POLICY_LAUNCH_MAX_EMULATORS][VS_MAX_PATH_BYTES];
	size_t nemulators;
	unsigned allow;                   /* enum launch_optin bits */
	char log_dir[VS_MAX_PATH_BYTES];  /* file chardevs and <log file> only below it; "" : none */
	int require_rng;                  /* every domain needs a virtio <rng> from the kernel's RNG */
};

#define POLICY_LAUNCH_DEFAULT_EMULATOR "/usr/bin/qemu-system-*"

/* Parses the "launch" object (NULL: defaults). Unknown fields and opt-ins are refused;
 * emulator patterns and log_dir must be absolute paths. */
int policy_launch_parse(json_t *o, struct policy_launch *l, const char *object, struct vs_error *err);

/* The policy's name of one opt-in bit ("hostdev"), "?" when unknown. */
const char *launch_optin_name(unsigned bit);

#endif
