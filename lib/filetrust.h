/* SPDX-License-Identifier: Apache-2.0 */
/* Whether a verified file can still change before QEMU opens it: owner, mode, directories, file system. */
#ifndef VMSEAL_FILETRUST_H
#define VMSEAL_FILETRUST_H

#include <sys/types.h>

#include "error.h"

#define FILETRUST_NO_UID ((uid_t)-1)

struct started_record;
#define FILETRUST_MAX_SYMLINKS 40 /* as the kernel's path walk (ELOOP) */

struct filetrust_opts {
	/* Besides root, the one uid a verified file may be owned by: the user libvirt's DAC driver
	 * chowns images to with dynamic_ownership (hook.conf qemu_user). FILETRUST_NO_UID: root only. */
	uid_t qemu_uid;
	int allow_remote_fs; /* the policy's allow_remote_fs: NFS, CIFS, FUSE, 9p... accepted */
	/* the policy's allow_san_disks: disks reached over a storage network's own transport (Fibre
	 * Channel, FCoE, iSCSI, iSER, SRP, NVMe over FC, RDMA or TCP) are accepted, raw or under a
	 * file system; other network disks (nbd, rbd, USB/IP) and file systems still are not */
	int allow_san;
	/* A file of the host's own system (QEMU): the device its file system is on is not judged
	 * (filetrust_fsdev_local), since the host, vmseal and libvirt run from there too (a host
	 * booted from a SAN); its file system's type, owners and directories still are. */
	int host_file;
	const char *sysfs; /* where sysfs is: NULL for /sys (a test gives a tree of its own) */
	/* The second half of the rule, what was checked is what QEMU opens: non-NULL, each boot
	 * file bootfile_check() allows is added here with the inode it judged (lib/started.h),
	 * for the started begin check. Read by lib/bootfile.c alone. */
	struct started_record *record;
};

/* Checks that only root (or opts->qemu_uid) can change the file open on fd, reached through
 * the absolute path: the file is a regular file or block device owned by root or qemu_uid and
 * not writable by group or other; every directory a lookup of path passes through (following
 * symlinks as the kernel, and so QEMU, does) is owned by root and not writable by group or
 * other unless sticky, and then the entry looked up in it is root's; each is on a local file
 * system (an allow-list of kernel file system types) unless allow_remote_fs; the path still
 * names the inode open on fd; a block device keeps its data in this host, and so do the devices
 * of a regular file's file system (filetrust_fsdev_local; not for opts->host_file), unless
 * allow_remote_fs; and no process holds the file open for writing (a read lease
 * can be taken: a writable fd or shared mapping opened before the check, by whoever could
 * then, would rewrite the bytes after they were hashed). Denials are VS_ERR_DENIED and name
 * the path, its owner (uid) and mode. */
int filetrust_fd(int fd, const char *path, const struct filetrust_opts *opts, struct vs_error *err);

/* Opens path (vs_open_input: a regular file or a block device) and checks it with filetrust_fd. */
int filetrust_path(const char *path, const struct filetrust_opts *opts, struct vs_error *err);

/* For a file QEMU (or libvirt, as root) will create or write at the absolute path: only root can
 * change where it lands. Its directory is root's and not writable by group or other (sticky is
 * not enough: another user could create the entry first, as a symlink), on a local file system
 * unless allow_remote_fs, and every directory a lookup of that directory passes through
 * (following symlinks as the kernel does) passes filetrust_fd's rule for directories. Denials
 * are VS_ERR_DENIED and name the directory, its owner and mode. */
int filetrust_output_dir(const char *path, const struct filetrust_opts *opts, struct vs_error *err);

/* The kernel's name of a file system type (statfs f_type), "unknown" when not known. */
const char *filetrust_fs_name(long f_type);

/* 1 when f_type is a local file system (on this host's disks or memory), else 0. */
/* A directory QEMU loads files from by name, without the domain XML naming them (its firmware
 * search path: the BIOS, VGA BIOS, NIC option ROMs, linuxboot): only root can change what it
 * finds there. The directory is root's and not writable by group or other (sticky is not
 * enough), passes filetrust_fd's rule for directories up to /, and is on a local file system
 * unless allow_remote_fs; every entry but a subdirectory is a regular file owned by root and not
 * writable by group or other (a symlink: its target, and the directories leading to it; a
 * dangling one: the directory its target would be created in passes filetrust_output_dir).
 * A directory that does not exist: its parent passes filetrust_output_dir's rule. */
int filetrust_search_dir(const char *dir, const struct filetrust_opts *opts, struct vs_error *err);

/* For a block device rdev (path for errors), filetrust_fd's rule that its data lives on this
 * host, read from the sysfs tree at sysfs ("/sys"; a test passes its own tree): a disk of a
 * local bus (not an iSCSI session or rbd), a RAM or zram disk, a loop device backed by a file
 * on a local file system, an NVMe namespace whose controllers are all PCIe, a device-mapper or
 * md device whose slaves all are local. nbd, rbd, iSCSI, NVMe over fabrics, drbd and anything
 * else can change their bytes from elsewhere after they were hashed: VS_ERR_DENIED unless
 * allow_remote_fs. */
int filetrust_blockdev_local(const char *sysfs, dev_t rdev, const char *path, const struct filetrust_opts *o,
			     struct vs_error *err);

/* The device of a file system (st_dev of a file on it) under sysfs keeps its data in this host,
 * by blockdev_local's rules but for the device nodes' owners (root's group "disk" writes every
 * disk): a file on ext4 over an iSCSI LUN, an nbd export or a loop device backed by a file others
 * may write is refused, unless allow_remote_fs. A file system without a device (major 0) is
 * left to filetrust_fd, which asks btrfs for its devices, takes tmpfs, ramfs and ZFS by type
 * and refuses the rest (overlayfs, a file-backed erofs). 0, or -1 with
 * err (VS_ERR_DENIED, "its file system's device: block device ..."). */
int filetrust_fsdev_local(const char *sysfs, dev_t dev, const char *path, const struct filetrust_opts *o,
			  struct vs_error *err);

int filetrust_fs_is_local(long f_type);

#endif
