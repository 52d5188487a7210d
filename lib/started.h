/* SPDX-License-Identifier: Apache-2.0 */
/* The `started begin` check: the files QEMU holds open are the ones verified at `start begin`. */
#ifndef VMSEAL_STARTED_H
#define VMSEAL_STARTED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"
#include "hostsecret.h"
#include "limits.h"

#define STARTED_MAX_FILES (VS_MAX_DISKS * VS_MAX_BACKING_DEPTH + VS_MAX_BOOT_FILES)
#define STARTED_MAX_FDS 65536        /* descriptors of one QEMU looked at */
#define STARTED_MAX_RECORD_BYTES (STARTED_MAX_FILES * (2 * VS_MAX_PATH_BYTES + 128) + 1024)

/* How started begin knows a verified file is the one QEMU opened. */
enum started_kind {
	STARTED_HELD, /* QEMU holds it open while it runs (disk layers, the NVRAM file) */
	STARTED_BOOT, /* QEMU reads it at its start and may have closed it (kernel, initrd, DTB,
		       * loader, ACPI tables): its path must still name it, unchanged */
};

struct started_file {
	enum started_kind kind;
	uint64_t dev, ino;
	/* STARTED_BOOT: the judged size and mtime (ns). Not the ctime: libvirt's DAC driver chowns
	 * boot files and records their owner in xattrs after start begin, which sets it. */
	int64_t size, mtime_ns;
	char *path; /* HELD: canonical (realpath at start begin); BOOT: as the XML names it, the
		     * name QEMU opens; malloc'd */
};

/* What start begin verified for one domain. */
struct started_record {
	char domain[VS_MAX_NAME_BYTES];
	int enforce;
	char audit_log[VS_MAX_PATH_BYTES]; /* the log start begin wrote to ("": not recorded) */
	struct started_file *files;
	size_t nfiles, cap;
};

/* Adds one verified file QEMU holds while it runs (canonicalising path; a file already listed
 * is kept once). */
int started_record_add(struct started_record *r, uint64_t dev, uint64_t ino, const char *path,
		       struct vs_error *err);

/* Adds one verified boot file (STARTED_BOOT) with st, its status when it was judged (fstat of
 * the descriptor judged), at the absolute path the domain XML names (a file listed there
 * is kept once). */
int started_record_add_boot(struct started_record *r, const struct stat *st, const char *path,
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

/* Removes the record of domain (release end: the run it describes is over); none is no error. */
int started_record_remove(const char *state_dir, const char *domain, struct vs_error *err);

/* Reads the pid libvirt wrote for domain into pid_dir/DOMAIN.pid. */
int started_read_pid(const char *pid_dir, const char *domain, pid_t *pid, struct vs_error *err);

/* Compares the regular files and block devices process pid holds open (proc_root/PID/fd)
 * with the record: every verified STARTED_HELD file must be held (same device and inode), and
 * no held file at its path may be another inode (a swap); every STARTED_BOOT file's path must
 * still name the same device and inode with the same size and mtime (QEMU read it at its start
 * and may hold it no longer: a file swapped in, or rewritten, for QEMU's open and left there).
 * VS_ERR_DENIED names the path. */
int started_check_pid(const struct started_record *r, const char *proc_root, pid_t pid,
		      struct vs_error *err);

#endif
