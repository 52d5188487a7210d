/* SPDX-License-Identifier: Apache-2.0 */
/* The `started begin` check: the files QEMU holds open are the ones verified at `start begin`. */
#ifndef VMSEAL_STARTED_H
#define VMSEAL_STARTED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "hostsecret.h"
#include "limits.h"

#define STARTED_MAX_FILES (VS_MAX_DISKS * VS_MAX_BACKING_DEPTH)
#define STARTED_MAX_FDS 65536        /* descriptors of one QEMU looked at */
#define STARTED_MAX_RECORD_BYTES (STARTED_MAX_FILES * (2 * VS_MAX_PATH_BYTES + 64) + 1024)

struct started_file {
	uint64_t dev, ino;
	char *path; /* canonical (realpath at start begin), malloc'd */
};

/* What start begin verified for one domain. */
struct started_record {
	char domain[VS_MAX_NAME_BYTES];
	int enforce;
	char audit_log[VS_MAX_PATH_BYTES]; /* the log start begin wrote to ("": not recorded) */
	struct started_file *files;
	size_t nfiles, cap;
};

/* Adds one verified file (canonicalising path; a file already listed is kept once). */
int started_record_add(struct started_record *r, uint64_t dev, uint64_t ino, const char *path,
		       struct vs_error *err);
void started_record_free(struct started_record *r);

/* Writes state_dir/started/SHA256(domain) atomically (0600), MAC'd under secret; not fsynced
 * (file_replace_until_reboot): after a crash it may be gone or unreadable, and started begin
 * then refuses, but a crash also ends the QEMU it describes and the next start writes it anew. */
int started_record_write(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
			 const struct started_record *r, struct vs_error *err);

/* Reads the record of domain; a missing, malformed, foreign or unMAC'd record is an error
 * (VS_ERR_DENIED: without it nothing says what QEMU should hold). */
int started_record_read(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
			const char *domain, struct started_record *r, struct vs_error *err);

/* Reads the pid libvirt wrote for domain into pid_dir/DOMAIN.pid. */
int started_read_pid(const char *pid_dir, const char *domain, pid_t *pid, struct vs_error *err);

/* Compares the regular files and block devices process pid holds open (proc_root/PID/fd)
 * with the record: every verified file must be held (same device and inode), and no held
 * file at a verified path may be another inode (a swap). VS_ERR_DENIED names the path. */
int started_check_pid(const struct started_record *r, const char *proc_root, pid_t pid,
		      struct vs_error *err);

#endif
