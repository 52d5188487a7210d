/* SPDX-License-Identifier: Apache-2.0 */
/* The ownership rule: a verified file is checked where QEMU will find it, so that between the
 * hook's decision and QEMU's open only root (or QEMU's own user) could swap or rewrite it. */
#include "filetrust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "limits.h"
#include "util.h"

struct fs_type {
	long magic;
	const char *name;
	int local;
};

/* Allow-list: a type not listed here is remote until the kernel's magic.h says otherwise. */
static const struct fs_type fs_types[] = {
	{0xEF53, "ext2/ext3/ext4", 1},
	{0x58465342, "xfs", 1},
	{0x9123683E, "btrfs", 1},
	{0x01021994, "tmpfs", 1},
	{0x858458f6, "ramfs", 1},
	{0xF2F52010, "f2fs", 1},
	{0x2FC12FC1, "zfs", 1},
	{0xca451a4e, "bcachefs", 1},
	{0x794c7630, "overlayfs", 1},
	{0x73717368, "squashfs", 1},
	{0xE0F5E1E2, "erofs", 1},
	{0x9660, "iso9660", 1},
	{0x15013346, "udf", 1},
	{0x52654973, "reiserfs", 1},
	{0x3153464a, "jfs", 1},
	{0x3434, "nilfs", 1},
	{0x4d44, "vfat", 1},
	{0x2011BAB0, "exfat", 1},
	{0x6969, "nfs", 0},
	{0xFF534D42, "cifs", 0},
	{0xFE534D42, "smb2", 0},
	{0x65735546, "fuse", 0},
	{0x01021997, "9p", 0},
	{0x00c36400, "ceph", 0},
	{0x01161970, "gfs2", 0},
	{0x7461636f, "ocfs2", 0},
	{0x5346414F, "afs", 0},
	{0x0BD00BD0, "lustre", 0},
	{0x73757245, "coda", 0},
};

const char *filetrust_fs_name(long f_type)
{
	for (size_t i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		if (fs_types[i].magic == f_type)
			return fs_types[i].name;
	return "unknown";
}

int filetrust_fs_is_local(long f_type)
{
	for (size_t i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++)
		if (fs_types[i].magic == f_type)
			return fs_types[i].local;
	return 0;
}

/* fd's file system is of a local type (or the policy accepts remote ones); *type (if given)
 * its type, for the caller's further rules. */
static int fs_check(int fd, const char *what, const char *path, const struct filetrust_opts *o,
		    long *type, struct vs_error *err)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot statfs %s: %s", what, strerror(errno));
	if (type)
		*type = (long)sf.f_type;
	if (filetrust_fs_is_local((long)sf.f_type) || o->allow_remote_fs)
		return 0;
	return vs_fail(err, VS_ERR_DENIED, path,
		       "%s is on a %s file system (type 0x%lx), not a local one; set \"allow_remote_fs\" in the policy to accept it",
		       what, filetrust_fs_name((long)sf.f_type), (unsigned long)sf.f_type);
}

/* A directory a lookup passes through: root's, and not writable by group or other unless
 * sticky (where others can add entries but not rename or delete root's). */
static int dir_check(int dfd, const char *dir, const char *path, const struct filetrust_opts *o,
		     struct stat *st, struct vs_error *err)
{
	if (fstat(dfd, st) < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot stat directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st->st_mode))
		return vs_fail(err, VS_ERR_DENIED, path, "%s is not a directory", dir);
	if (st->st_uid != 0 || ((st->st_mode & 022) && !(st->st_mode & S_ISVTX)))
		return vs_fail(err, VS_ERR_DENIED, path,
			       "directory %s is owned by uid %u with mode %04o: the directories of a verified file must be root's and not writable by group or other (unless sticky)",
			       dir, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
	return fs_check(dfd, "directory", path, o, NULL, err);
}

static void dir_append(char *cur, size_t cap, const char *comp)
{
	size_t n = strlen(cur);

	snprintf(cur + n, cap - n, "%s%s", n > 1 ? "/" : "", comp);
}

static void dir_up(char *cur)
{
	char *slash = strrchr(cur, '/');

	if (!slash || slash == cur)
		strcpy(cur, "/");
	else
		*slash = '\0';
}

static int open_root(int *dfd, char *cur, const char *path, struct vs_error *err)
{
	if (*dfd >= 0)
		close(*dfd);
	*dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot open /: %s", strerror(errno));
	strcpy(cur, "/");
	return 0;
}

/* Looks path up component by component as the kernel would, checking every directory it
 * passes through, and ends on the inode want. */
static int walk(const char *path, const struct stat *want, const struct filetrust_opts *o,
		struct vs_error *err)
{
	char todo[2 * VS_MAX_PATH_BYTES], cur[2 * VS_MAX_PATH_BYTES], comp[NAME_MAX + 1];
	char target[VS_MAX_PATH_BYTES];
	struct stat dst, st;
	int dfd = -1, links = 0, ret = -1;

	if (path[0] != '/')
		return vs_fail(err, VS_ERR_DENIED, path, "not an absolute path");
	if (strlen(path) >= VS_MAX_PATH_BYTES)
		return vs_fail(err, VS_ERR_INPUT, path, "path too long");
	snprintf(todo, sizeof(todo), "%s", path);
	if (open_root(&dfd, cur, path, err) < 0 || dir_check(dfd, cur, path, o, &dst, err) < 0)
		goto out;
	for (;;) {
		char *p = todo;
		size_t len;
		int last;

		while (*p == '/')
			p++;
		if (!*p) {
			vs_fail(err, VS_ERR_DENIED, path, "names a directory, not a file");
			goto out;
		}
		len = strcspn(p, "/");
		if (len > NAME_MAX) {
			vs_fail(err, VS_ERR_INPUT, path, "a path component is longer than %d bytes", NAME_MAX);
			goto out;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		memmove(todo, p + len, strlen(p + len) + 1);
		last = todo[strspn(todo, "/")] == '\0';
		if (!strcmp(comp, ".") && !last)
			continue;
		if (!strcmp(comp, "..")) {
			int nfd = openat(dfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);

			if (nfd < 0) {
				vs_fail(err, VS_ERR_IO, path, "cannot open %s/..: %s", cur, strerror(errno));
				goto out;
			}
			close(dfd);
			dfd = nfd;
			dir_up(cur);
			if (dir_check(dfd, cur, path, o, &dst, err) < 0)
				goto out;
			continue;
		}
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			vs_fail(err, VS_ERR_DENIED, path, "%s%s%s: %s", cur, strcmp(cur, "/") ? "/" : "", comp,
				strerror(errno));
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			ssize_t n;

			if (++links > FILETRUST_MAX_SYMLINKS) {
				vs_fail(err, VS_ERR_DENIED, path, "more than %d symbolic links", FILETRUST_MAX_SYMLINKS);
				goto out;
			}
			/* In a directory others may write, the link's owner could replace it. */
			if ((dst.st_mode & 022) && st.st_uid != 0) {
				vs_fail(err, VS_ERR_DENIED, path,
					"symbolic link %s/%s is owned by uid %u in directory %s, which others may write",
					cur, comp, (unsigned)st.st_uid, cur);
				goto out;
			}
			n = readlinkat(dfd, comp, target, sizeof(target) - 1);
			if (n < 0) {
				vs_fail(err, VS_ERR_IO, path, "cannot read link %s/%s: %s", cur, comp, strerror(errno));
				goto out;
			}
			target[n] = '\0';
			if (strlen(todo) + (size_t)n + 2 >= sizeof(todo)) {
				vs_fail(err, VS_ERR_INPUT, path, "path too long after following links");
				goto out;
			}
			memmove(todo + n + 1, todo, strlen(todo) + 1);
			memcpy(todo, target, (size_t)n);
			todo[n] = '/';
			if (last)
				todo[n] = '\0';
			if (target[0] == '/' &&
			    (open_root(&dfd, cur, path, err) < 0 || dir_check(dfd, cur, path, o, &dst, err) < 0))
				goto out;
			continue;
		}
		if (!last) {
			int nfd;

			if (!S_ISDIR(st.st_mode)) {
				vs_fail(err, VS_ERR_DENIED, path, "%s/%s is not a directory", cur, comp);
				goto out;
			}
			nfd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd < 0) {
				vs_fail(err, VS_ERR_IO, path, "cannot open directory %s/%s: %s", cur, comp,
					strerror(errno));
				goto out;
			}
			close(dfd);
			dfd = nfd;
			dir_append(cur, sizeof(cur), comp);
			if (dir_check(dfd, cur, path, o, &dst, err) < 0)
				goto out;
			continue;
		}
		if (st.st_dev != want->st_dev || st.st_ino != want->st_ino) {
			vs_fail(err, VS_ERR_DENIED, path, "the path no longer names the file that was opened (replaced while checked)");
			goto out;
		}
		break;
	}
	ret = 0;
out:
	if (dfd >= 0)
		close(dfd);
	return ret;
}

/* A writable descriptor or shared mapping of the file, opened before the check (by root, QEMU
 * or whoever could when it was opened), rewrites the bytes after they were hashed without
 * changing ctime. The kernel refuses a read lease while any such descriptor exists. */
static int no_writers(int fd, const char *path, struct vs_error *err)
{
	if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0) {
		if (errno == EAGAIN)
			return vs_fail(err, VS_ERR_DENIED, path, "is open for writing by another process");
		return vs_fail(err, VS_ERR_DENIED, path, "cannot check for writers (read lease: %s)",
			       strerror(errno));
	}
	fcntl(fd, F_SETLEASE, F_UNLCK);
	return 0;
}

/* A line of a sysfs file, without its newline; "" when unreadable. */
static void sysfs_read(const char *file, char *out, size_t outlen)
{
	ssize_t n = -1;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, out, outlen - 1);
		close(fd);
	}
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

static int has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Whether every controller of the NVMe subsystem directory sub reaches its disks over PCIe. */
/* Every controller of the NVMe subsystem at sub is PCIe (san: or a fabric of a storage
 * network: FC, RDMA, TCP). */
static int nvme_subsystem_local(const char *sub, int san)
{
	char f[PATH_MAX + 64], t[32];
	struct dirent *e;
	DIR *d = opendir(sub);
	int n = 0, ok = 1;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (has_prefix(e->d_name, "nvme") && e->d_name[4] &&
		    strspn(e->d_name + 4, "0123456789") == strlen(e->d_name + 4)) { /* a controller */
			snprintf(f, sizeof(f), "%s/%s/transport", sub, e->d_name);
			sysfs_read(f, t, sizeof(t));
			n++;
			ok &= !strcmp(t, "pcie") ||
			      (san && (!strcmp(t, "fc") || !strcmp(t, "rdma") || !strcmp(t, "tcp")));
		}
	closedir(d);
	return ok && n > 0;
}

/* Why the physical block device at sysfs path rel (under sys) has its data elsewhere, or NULL:
 * a SCSI disk whose host is an initiator of a network transport (iSCSI, iSER: a session;
 * Fibre Channel and FCoE: a remote port, an fc_host; SRP over InfiniBand: an srp_host), a USB
 * disk behind USB/IP's virtual host controller (vhci_hcd). Every SCSI transport class that
 * reaches across a network registers one of these in sysfs. (Ceph rbd, nbd and other network
 * block drivers are virtual devices, refused before this is asked.) */
/* scsi_remote's answers for a storage network's own transports (allow_san) start with it */
#define SAN_MARK "\001"

static const char *scsi_remote(const char *sys, const char *rel)
{
	static const struct { const char *marker, *what; } in_path[] = {
		{"/session", SAN_MARK "iSCSI (a session)"}, {"/rport-", SAN_MARK "Fibre Channel (a remote port)"},
		{"/vhci_hcd", "USB/IP (a virtual host controller)"}, {"/infiniband_srp/", SAN_MARK "SRP over InfiniBand"},
		{".fcoe/", SAN_MARK "FCoE"},
	};
	static const struct { const char *class, *what; } host_class[] = {
		{"iscsi_host", SAN_MARK "iSCSI"}, {"fc_host", SAN_MARK "Fibre Channel"}, {"srp_host", SAN_MARK "SRP"},
	};
	char f[PATH_MAX + 64];
	struct stat st;
	const char *h, *c;

	for (size_t i = 0; i < sizeof(in_path) / sizeof(in_path[0]); i++)
		if (strstr(rel, in_path[i].marker))
			return in_path[i].what;
	/* each SCSI host on the way (".../hostN/targetN:C:T/..."): its transport classes */
	for (h = rel; (h = strstr(h, "/host")); h += 5) {
		size_t nd = strspn(h + 5, "0123456789");

		if (!nd || (h[5 + nd] != '/' && h[5 + nd] != '\0'))
			continue;
		for (size_t i = 0; i < sizeof(host_class) / sizeof(host_class[0]); i++) {
			c = host_class[i].class;
			snprintf(f, sizeof(f), "%s%.*s/%s", sys, (int)(h + 5 + nd - rel), rel, c);
			if (stat(f, &st) == 0)
				return host_class[i].what;
		}
	}
	return NULL;
}

/* Whether the physical device at sysfs path rel sits on a bus whose disks are in this host:
 * under a PCI root bus (a component "pciDDDD:BB", x86's /devices/pci0000:00/... or an ARM
 * PCIe controller's /devices/platform/X.pcie/pci0000:00/...: SATA/SAS HBAs, NVMe, virtio, USB
 * host controllers), a platform (SoC) ATA, MMC or USB host controller, a virtio-mmio device (a
 * microVM's disk, as local as virtio over PCI), or persistent memory (an NVDIMM bus). Any
 * other bus (a platform
 * SCSI host of a software transport, Xen's vbd, Hyper-V's vmbus, s390's ccw, one Linux gains
 * later) is not known to be local: refused, not assumed. Network transports on a local bus
 * (an FC or SRP HBA, an iSCSI offload) are scsi_remote's. */
/* x is the name "PREFIX<digits>", ending at '/' or the string's end */
static int numbered(const char *x, const char *prefix)
{
	size_t np = strlen(prefix), nd;

	if (strncmp(x, prefix, np))
		return 0;
	nd = strspn(x + np, "0123456789");
	return nd > 0 && (x[np + nd] == '/' || x[np + nd] == '\0');
}

static int local_bus(const char *rel)
{
	int platform = has_prefix(rel, "/devices/platform/") || has_prefix(rel, "/devices/virtio-mmio-cmdline/");
	const char *prev = NULL;

	for (const char *c = strchr(rel, '/'); c; prev = c + 1, c = strchr(c + 1, '/')) {
		const char *x = c + 1;
		size_t plen = prev ? (size_t)(c - prev) : 0;

		if (has_prefix(x, "pci") && strspn(x + 3, "0123456789abcdef") == 4 && x[7] == ':' &&
		    strspn(x + 8, "0123456789abcdef") == 2 && (x[10] == '/' || x[10] == '\0'))
			return 1;
		/* persistent memory (NVDIMM, e820 pmem): the host's own memory */
		if (numbered(x, "ndbus"))
			return 1;
		if (!platform || !prev)
			continue;
		if (numbered(x, "ata") || has_prefix(x, "mmc_host/"))
			return 1;
		/* a SoC's own USB host controller's root hub (not USB/IP's virtual one) */
		if (numbered(x, "usb") && strncmp(prev, "vhci_hcd", 8))
			return 1;
		/* virtio-mmio, as device tree ("X.virtio_mmio"), ACPI ("LNRO0005:N") or the kernel
		 * command line ("virtio-mmio.N") names it: the device under it is "virtioN" */
		if (numbered(x, "virtio") &&
		    ((plen > 12 && !strncmp(c - 12, ".virtio_mmio", 12)) || !strncmp(prev, "LNRO0005:", 9) ||
		     !strncmp(prev, "virtio-mmio.", 12)))
			return 1;
	}
	return 0;
}

/* The node of a device under another (a partition's disk, a dm/md slave, a loop's backing
 * device): whoever may write it rewrites the device above. udev's /dev/block/MAJ:MIN names it;
 * absent, only root could make one (mknod). */
static int under_node_ok(dev_t dev, const char *what, const char *path, struct vs_error *err)
{
	char node[64];
	struct stat st;

	snprintf(node, sizeof(node), "/dev/block/%u:%u", major(dev), minor(dev));
	if (stat(node, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != dev)
		return 0;
	if (st.st_uid == 0 && !(st.st_mode & 022))
		return 0;
	return vs_fail(err, VS_ERR_DENIED, path,
		       "%s (block device %u:%u) is owned by uid %u with mode %04o: whoever may write it rewrites this device; it must be root's and not writable by group or other",
		       what, major(dev), minor(dev), (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
}

/* The data of block device rdev lives on this host: a physical disk on a local bus (local_bus:
 * PCI or PCIe, a platform ATA or MMC controller) not reached over a network SCSI transport
 * (scsi_remote: iSCSI/iSER, Fibre Channel/FCoE, SRP), a RAM or zram disk, a loop device backed by a file on a local file
 * system, an NVMe namespace whose controllers are all PCIe, or a device-mapper or md device
 * all of whose slaves are local. Anything else (nbd, rbd, iSCSI, NVMe over fabrics, drbd, ...)
 * can change its bytes from elsewhere after they were hashed: refused unless allow_remote_fs. */
static int fs_devices_local(int fd, const struct stat *st, long f_type, const char *sys, const char *path,
			    int depth, const struct filetrust_opts *o, struct vs_error *err);

static int blockdev_local(const char *sys, dev_t rdev, const char *path, int depth, int fsdev,
			  const struct filetrust_opts *o, struct vs_error *err)
{
	char link[PATH_MAX], d[PATH_MAX], f[PATH_MAX + 64], v[PATH_MAX];
	const char *name, *rel;
	struct stat st;
	size_t ls = strlen(sys);

	if (o->allow_remote_fs)
		return 0;
	if (depth > 8)
		return vs_fail(err, VS_ERR_DENIED, path, "block devices stacked deeper than 8");
	snprintf(link, sizeof(link), "%s/dev/block/%u:%u", sys, major(rdev), minor(rdev));
	if (!realpath(link, d) || strncmp(d, sys, ls) || d[ls] != '/')
		return vs_fail(err, VS_ERR_DENIED, path, "cannot tell where the data of block device %u:%u lives (%s: %s)",
			       major(rdev), minor(rdev), link, strerror(errno));
	snprintf(f, sizeof(f), "%s/partition", d);
	if (stat(f, &st) == 0) {
		unsigned ma, mi;

		*strrchr(d, '/') = '\0'; /* a partition: its disk decides */
		snprintf(f, sizeof(f), "%s/dev", d);
		sysfs_read(f, v, sizeof(v));
		if (!fsdev && sscanf(v, "%u:%u", &ma, &mi) == 2 &&
		    under_node_ok(makedev(ma, mi), "its disk", path, err) < 0)
			return -1;
	}
	name = strrchr(d, '/') + 1;
	rel = d + ls; /* "/devices/..." */
	if (has_prefix(rel, "/devices/virtual/block/")) {
		if (has_prefix(name, "ram") || has_prefix(name, "zram"))
			return 0;
		if (has_prefix(name, "loop")) {
			struct statfs sf;

			snprintf(f, sizeof(f), "%s/loop/backing_file", d);
			sysfs_read(f, v, sizeof(v));
			if (!v[0] || statfs(v, &sf) < 0)
				return vs_fail(err, VS_ERR_DENIED, path, "loop device %s: cannot read its backing file", name);
			if (!filetrust_fs_is_local((long)sf.f_type))
				return vs_fail(err, VS_ERR_DENIED, path,
					       "loop device %s is backed by %s on a %s file system, not a local one; set \"allow_remote_fs\" in the policy to accept it",
					       name, v, filetrust_fs_name((long)sf.f_type));
			/* whoever may write the backing file rewrites the device */
			if (stat(v, &st) < 0)
				return vs_fail(err, VS_ERR_DENIED, path, "loop device %s: cannot stat its backing file %s", name, v);
			if (S_ISBLK(st.st_mode)) { /* a loop over a block device: that one's rule too */
				if (!fsdev && (st.st_uid != 0 || (st.st_mode & 022)))
					return vs_fail(err, VS_ERR_DENIED, path,
						       "loop device %s is backed by block device %s, owned by uid %u with mode %04o: it must be root's and not writable by group or other",
						       name, v, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
				return blockdev_local(sys, st.st_rdev, path, depth + 1, fsdev, o, err);
			}
			if (st.st_uid != 0 || (st.st_mode & 022))
				return vs_fail(err, VS_ERR_DENIED, path,
					       "loop device %s is backed by %s, owned by uid %u with mode %04o: it must be root's and not writable by group or other",
					       name, v, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
			/* the backing file's own file system: as local as its devices */
			if (walk(v, &st, o, err) < 0)
				return -1;
			{
				int bfd = open(v, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), r;
				struct stat bst;

				if (bfd < 0 || fstat(bfd, &bst) < 0 || bst.st_dev != st.st_dev || bst.st_ino != st.st_ino) {
					if (bfd >= 0)
						close(bfd);
					return vs_fail(err, VS_ERR_DENIED, path, "loop device %s: cannot open its backing file %s", name, v);
				}
				r = fs_devices_local(bfd, &bst, (long)sf.f_type, sys, path, depth + 1, o, err);
				close(bfd);
				return r;
			}
		}
		if (has_prefix(name, "dm-") || has_prefix(name, "md")) {
			struct dirent *e;
			DIR *sl;
			int n = 0, r = 0;

			snprintf(f, sizeof(f), "%s/slaves", d);
			sl = opendir(f);
			if (!sl)
				return vs_fail(err, VS_ERR_DENIED, path, "%s: cannot read its slaves", name);
			while (r == 0 && (e = readdir(sl))) {
				unsigned ma, mi;
				char dev[32];

				if (e->d_name[0] == '.')
					continue;
				snprintf(f, sizeof(f), "%s/slaves/%s/dev", d, e->d_name);
				sysfs_read(f, dev, sizeof(dev));
				if (sscanf(dev, "%u:%u", &ma, &mi) != 2)
					r = vs_fail(err, VS_ERR_DENIED, path, "%s: cannot read the device of its slave %s", name, e->d_name);
				else if (fsdev || (r = under_node_ok(makedev(ma, mi), e->d_name, path, err)) == 0)
					r = blockdev_local(sys, makedev(ma, mi), path, depth + 1, fsdev, o, err);
				n++;
			}
			closedir(sl);
			if (r == 0 && n == 0)
				r = vs_fail(err, VS_ERR_DENIED, path, "%s has no slaves: its data does not come from a local disk", name);
			return r;
		}
		return vs_fail(err, VS_ERR_DENIED, path,
			       "block device %s is not a local disk (its data can change from elsewhere after it was hashed); set \"allow_remote_fs\" in the policy to accept it",
			       name);
	}
	if (has_prefix(rel, "/devices/virtual/nvme-subsystem/")) {
		snprintf(v, sizeof(v), "%s", d);
		*strrchr(v, '/') = '\0';
		if (nvme_subsystem_local(v, o->allow_san))
			return 0;
		return vs_fail(err, VS_ERR_DENIED, path,
			       "block device %s is an NVMe namespace with a controller that is not PCIe (NVMe over a fabric): its data can change from elsewhere after it was hashed; set \"allow_san_disks\" (FC, RDMA, TCP) or \"allow_remote_fs\" in the policy to accept it",
			       name);
	} else if (has_prefix(rel, "/devices/") && !has_prefix(rel, "/devices/virtual/")) {
		const char *why = scsi_remote(sys, rel);

		if (why && why[0] == SAN_MARK[0] && o->allow_san)
			return 0; /* the policy trusts its storage network */
		if (why)
			return vs_fail(err, VS_ERR_DENIED, path,
				       "block device %s (%s) is reached over %s: its data can change from elsewhere after it was hashed; set \"%s\" in the policy to accept it",
				       name, rel, why + (why[0] == SAN_MARK[0]),
				       why[0] == SAN_MARK[0] ? "allow_san_disks" : "allow_remote_fs");
		if (local_bus(rel))
			return 0;
		return vs_fail(err, VS_ERR_DENIED, path,
			       "block device %s (%s) is not on a bus known to keep its disks in this host (PCI or PCIe, a platform ATA, MMC or USB controller, virtio-mmio, NVDIMM): its data may change from elsewhere after it was hashed; set \"allow_remote_fs\" in the policy to accept it",
			       name, rel);
	}
	return vs_fail(err, VS_ERR_DENIED, path,
		       "block device %s (%s) is not a local disk (its data can change from elsewhere after it was hashed); set \"allow_remote_fs\" in the policy to accept it",
		       name, rel);
}

int filetrust_blockdev_local(const char *sysfs, dev_t rdev, const char *path, const struct filetrust_opts *o,
			     struct vs_error *err)
{
	return blockdev_local(sysfs, rdev, path, 0, 0, o, err);
}

/* "its file system's device: " before what denied (a -1 of the rule on a file system's device) */
static int as_fs_device(const char *path, struct vs_error *err)
{
	char was[VS_ERR_REASON_MAX];

	snprintf(was, sizeof(was), "%s", err ? err->reason : "");
	return vs_fail(err, err ? err->kind : VS_ERR_DENIED, path, "its file system's device: %s", was);
}

int filetrust_fsdev_local(const char *sysfs, dev_t dev, const char *path, const struct filetrust_opts *o,
			  struct vs_error *err)
{
	/* no device (major 0): tmpfs, overlayfs, btrfs's and FUSE's own numbers; the type decides */
	if (!major(dev) || blockdev_local(sysfs, dev, path, 0, 1, o, err) == 0)
		return 0;
	return as_fs_device(path, err);
}

#define BTRFS_SUPER_MAGIC_ 0x9123683E
#define TMPFS_MAGIC_ 0x01021994
#define RAMFS_MAGIC_ 0x858458f6
#define ZFS_MAGIC_ 0x2FC12FC1
/* BTRFS_IOC_FS_INFO's argument (linux/btrfs.h), its first fields */
struct btrfs_fs_info_args_ {
	uint64_t max_id, num_devices;
	uint8_t fsid[16];
	uint8_t rest[1024 - 32];
};
#define BTRFS_IOC_FS_INFO_ _IOR(0x94, 31, struct btrfs_fs_info_args_)

/* The devices of the file system of the file open on fd (st its status) keep its data in this
 * host: st_dev's device, or for btrfs (whose st_dev is a number of its own) each device
 * /sys/fs/btrfs/FSID/devices lists; a file system with neither (tmpfs, overlayfs, FUSE) is left
 * to its type. */
static int fs_devices_local(int fd, const struct stat *st, long f_type, const char *sys, const char *path,
			    int depth, const struct filetrust_opts *o, struct vs_error *err)
{
	struct btrfs_fs_info_args_ fi;
	char dir[PATH_MAX], f[PATH_MAX + 2 * NAME_MAX], v[64];
	unsigned long type = (unsigned long)f_type;
	struct dirent *e;
	DIR *d;
	int n = 0, r = 0;

	if (o->allow_remote_fs)
		return 0;
	if (major(st->st_dev))
		return blockdev_local(sys, st->st_dev, path, depth, 1, o, err);
	/* Without a device of its own: memory (tmpfs, ramfs), btrfs (below), ZFS (its pool's
	 * disks cannot be named from here: judged by its type). Anything else stacks on what it
	 * does not show (overlayfs's layers, erofs or another mounted straight from a file, FUSE):
	 * refused, not assumed local. */
	if (type == TMPFS_MAGIC_ || type == RAMFS_MAGIC_ || type == ZFS_MAGIC_)
		return 0;
	if (type != BTRFS_SUPER_MAGIC_)
		return vs_fail(err, VS_ERR_DENIED, path,
			       "none: %s has no device of its own, and what it is stacked on (layers, an image file) is not judged; set \"allow_remote_fs\" in the policy to accept it",
			       filetrust_fs_name(f_type));
	memset(&fi, 0, sizeof(fi));
	if (ioctl(fd, BTRFS_IOC_FS_INFO_, &fi) < 0)
		return vs_fail(err, VS_ERR_DENIED, path, "cannot list the devices of its btrfs file system: %s",
			       strerror(errno));
	snprintf(dir, sizeof(dir),
		 "%s/fs/btrfs/%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x/devices", sys,
		 fi.fsid[0], fi.fsid[1], fi.fsid[2], fi.fsid[3], fi.fsid[4], fi.fsid[5], fi.fsid[6], fi.fsid[7],
		 fi.fsid[8], fi.fsid[9], fi.fsid[10], fi.fsid[11], fi.fsid[12], fi.fsid[13], fi.fsid[14], fi.fsid[15]);
	d = opendir(dir);
	if (!d)
		return vs_fail(err, VS_ERR_DENIED, path, "cannot list the devices of its btrfs file system (%s: %s)", dir,
			       strerror(errno));
	while (r == 0 && (e = readdir(d))) {
		unsigned ma, mi;

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s/dev", dir, e->d_name);
		sysfs_read(f, v, sizeof(v));
		if (sscanf(v, "%u:%u", &ma, &mi) != 2)
			r = vs_fail(err, VS_ERR_DENIED, path, "btrfs device %s: cannot read its device number", e->d_name);
		else
			r = blockdev_local(sys, makedev(ma, mi), path, depth + 1, 1, o, err);
		n++;
	}
	closedir(d);
	if (r == 0 && (uint64_t)n != fi.num_devices)
		r = vs_fail(err, VS_ERR_DENIED, path, "its btrfs file system has %llu devices, %d listed in %s",
			    (unsigned long long)fi.num_devices, n, dir);
	return r;
}

int filetrust_fd(int fd, const char *path, const struct filetrust_opts *o, struct vs_error *err)
{
	struct stat st;
	long type = 0;

	if (fstat(fd, &st) < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return vs_fail(err, VS_ERR_DENIED, path, "is %s, not a regular file or block device",
			       vs_file_type_name(st.st_mode));
	if ((st.st_uid != 0 && (o->qemu_uid == FILETRUST_NO_UID || st.st_uid != o->qemu_uid)) ||
	    (st.st_mode & 022)) {
		char also[48] = "";

		if (o->qemu_uid != FILETRUST_NO_UID)
			snprintf(also, sizeof(also), " (or QEMU's user, uid %u)", (unsigned)o->qemu_uid);
		return vs_fail(err, VS_ERR_DENIED, path,
			       "owned by uid %u with mode %04o: a verified file must be owned by root%s and not writable by group or other",
			       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), also);
	}
	if (fs_check(fd, "the file", path, o, &type, err) < 0 || walk(path, &st, o, err) < 0)
		return -1;
	if (S_ISBLK(st.st_mode))
		return blockdev_local(o->sysfs ? o->sysfs : "/sys", st.st_rdev, path, 0, 0, o, err);
	/* ext4 on an iSCSI LUN, an nbd export, a loop device over someone's file: the bytes of a
	 * file are where its file system's device keeps them */
	if (!o->host_file && fs_devices_local(fd, &st, type, o->sysfs ? o->sysfs : "/sys", path, 0, o, err) < 0)
		return as_fs_device(path, err);
	/* Leases exist on local file systems only; a remote one was accepted by the policy. */
	if (!filetrust_fs_is_local(type))
		return 0;
	return no_writers(fd, path, err);
}

int filetrust_path(const char *path, const struct filetrust_opts *o, struct vs_error *err)
{
	int fd, r;

	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_BLK, NULL, &fd, NULL, err) < 0) {
		if (err && err->kind == VS_ERR_INPUT)
			err->kind = VS_ERR_DENIED;
		return -1;
	}
	r = filetrust_fd(fd, path, o, err);
	close(fd);
	return r;
}

int filetrust_output_dir(const char *path, const struct filetrust_opts *o, struct vs_error *err)
{
	char dir[VS_MAX_PATH_BYTES];
	char *slash;
	struct stat st;
	int fd, r;

	if (path[0] != '/' || strlen(path) >= sizeof(dir))
		return vs_fail(err, VS_ERR_DENIED, path, "not an absolute path");
	snprintf(dir, sizeof(dir), "%s", path);
	while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = '\0';
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return vs_fail(err, VS_ERR_DENIED, path, "a file QEMU writes must not be in /");
	*slash = '\0';
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vs_fail(err, VS_ERR_DENIED, path, "cannot open its directory %s: %s", dir, strerror(errno));
	if (fstat(fd, &st) < 0) {
		r = vs_fail(err, VS_ERR_IO, path, "cannot stat directory %s: %s", dir, strerror(errno));
	} else if (st.st_uid != 0 || (st.st_mode & 022)) {
		/* sticky is not enough here: whoever may add the entry first makes it a symlink */
		r = vs_fail(err, VS_ERR_DENIED, path,
			    "directory %s is owned by uid %u with mode %04o: the directory of a file QEMU writes must be root's and not writable by group or other (else the file is swapped for a symlink once checked)",
			    dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	} else {
		r = fs_check(fd, "its directory", path, o, NULL, err) < 0 || walk(dir, &st, o, err) < 0 ? -1 : 0;
	}
	close(fd);
	return r;
}

/* A path that does not exist: only root can create it, that is the deepest directory of it
 * that exists passes filetrust_output_dir's rule. */
static int root_creates_only(const char *path, const struct filetrust_opts *o, struct vs_error *err)
{
	char p[VS_MAX_PATH_BYTES + 2];
	struct stat st;
	char *slash;

	if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p) - 2)
		return vs_fail(err, VS_ERR_DENIED, path, "path too long");
	while ((slash = strrchr(p, '/')) && slash != p) {
		char real[PATH_MAX], child[PATH_MAX + 4];

		*slash = '\0';
		if (stat(p, &st) == 0 && realpath(p, real)) {
			if (!strcmp(real, "/"))
				return 0;
			snprintf(child, sizeof(child), "%s/x", real);
			return filetrust_output_dir(child, o, err);
		}
	}
	return 0; /* up to "/", root's */
}

static int search_dir(const char *dir, int depth, const struct filetrust_opts *o, struct vs_error *err);

/* One entry of a search directory (dfd); a subdirectory is searched in turn (QEMU's module
 * upgrade directory keeps one per version; libvirt reads firmware descriptors below share/qemu). */
static int search_entry(int dfd, const char *dir, const char *name, int depth, const struct filetrust_opts *o,
			struct vs_error *err)
{
	char path[VS_MAX_PATH_BYTES], target[VS_MAX_PATH_BYTES];
	struct stat st;
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return vs_fail(err, VS_ERR_DENIED, dir, "an entry's path is too long");
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return vs_fail(err, VS_ERR_IO, path, "cannot stat: %s", strerror(errno));
	if (S_ISDIR(st.st_mode))
		return search_dir(path, depth + 1, o, err);
	if (S_ISLNK(st.st_mode)) {
		if (stat(path, &st) == 0) {
			if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
				return vs_fail(err, VS_ERR_DENIED, path, "QEMU loads the files of its firmware directory by name: this one is not a regular file");
			if (S_ISDIR(st.st_mode))
				return search_dir(path, depth + 1, o, err);
			if (st.st_uid != 0 || (st.st_mode & 022))
				goto loose;
			return walk(path, &st, o, err);
		}
		/* dangling: whoever may create its target decides what QEMU loads */
		n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return vs_fail(err, VS_ERR_IO, path, "cannot read the symlink: %s", strerror(errno));
		target[n] = '\0';
		if (target[0] != '/') {
			char abs[VS_MAX_PATH_BYTES];

			if (snprintf(abs, sizeof(abs), "%s/%s", dir, target) >= (int)sizeof(abs))
				return vs_fail(err, VS_ERR_DENIED, path, "the symlink's target is too long");
			return root_creates_only(abs, o, err);
		}
		return root_creates_only(target, o, err);
	}
	if (!S_ISREG(st.st_mode))
		return vs_fail(err, VS_ERR_DENIED, path, "QEMU loads the files of its firmware directory by name: this one is not a regular file");
	if (st.st_uid == 0 && !(st.st_mode & 022))
		return 0;
loose:
	return vs_fail(err, VS_ERR_DENIED, path,
		       "owned by uid %u with mode %04o: QEMU loads it into guests without the domain XML naming it (firmware, option ROMs), so it must be root's and not writable by group or other",
		       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
}

int filetrust_search_dir(const char *dir, const struct filetrust_opts *o, struct vs_error *err)
{
	return search_dir(dir, 0, o, err);
}

static int search_dir(const char *dir, int depth, const struct filetrust_opts *o, struct vs_error *err)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd, r;

	if (depth > 4)
		return vs_fail(err, VS_ERR_DENIED, dir, "QEMU's firmware directory nests deeper than 4");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return root_creates_only(dir, o, err);
		return vs_fail(err, VS_ERR_DENIED, dir, "cannot open QEMU's firmware directory: %s", strerror(errno));
	}
	if (fstat(fd, &st) < 0) {
		r = vs_fail(err, VS_ERR_IO, dir, "cannot stat: %s", strerror(errno));
		close(fd);
		return r;
	}
	if (st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return vs_fail(err, VS_ERR_DENIED, dir,
			       "QEMU's firmware directory is owned by uid %u with mode %04o: it must be root's and not writable by group or other (sticky is not enough: QEMU loads its files by name)",
			       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	if (fs_check(fd, "QEMU's firmware directory", dir, o, NULL, err) < 0 || walk(dir, &st, o, err) < 0) {
		close(fd);
		return -1;
	}
	d = fdopendir(fd);
	if (!d) {
		r = vs_fail(err, VS_ERR_IO, dir, "cannot read: %s", strerror(errno));
		close(fd);
		return r;
	}
	r = 0;
	errno = 0;
	while (r == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r = search_entry(dirfd(d), dir, e->d_name, depth, o, err);
		errno = 0;
	}
	if (r == 0 && errno)
		r = vs_fail(err, VS_ERR_IO, dir, "cannot read: %s", strerror(errno));
	closedir(d);
	return r;
}
