/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/filetrust.c: every part of the ownership rule, each with a refusing case. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/filetrust.h"
#include "lib/util.h"

static const struct filetrust_opts rootonly = {.qemu_uid = FILETRUST_NO_UID};

static char base[512];

/* base/NAME with the given contents and mode, owned by root. */
static const char *mkfile(const char *name, unsigned mode)
{
	static char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", base, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "image", 5) == 5);
	close(fd);
	CU_ASSERT(chmod(path, mode) == 0);
	return path;
}

/* DIR/NAME in a static buffer (one at a time) */
static const char *TMPNAME(const char *dir, const char *name)
{
	static char p[1024];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static int check(const char *path, const struct filetrust_opts *o, struct vs_error *err)
{
	vs_error_clear(err);
	return filetrust_path(path, o, err);
}

static void setup(void)
{
	if (!base[0]) {
		snprintf(base, sizeof(base), "%s/ft", test_tmpdir());
		CU_ASSERT(mkdir(base, 0755) == 0);
	}
}

static int root(void)
{
	if (geteuid() == 0)
		return 1;
	fprintf(stderr, "  (skipped: needs root to create files of other owners)\n");
	return 0;
}

static void test_owner_and_mode(void)
{
	struct filetrust_opts withqemu = {.qemu_uid = 65534};
	struct vs_error err = {0};
	const char *p;

	setup();
	if (!root())
		return;
	p = mkfile("ok", 0644);
	CU_ASSERT_EQUAL(check(p, &rootonly, &err), 0);
	p = mkfile("gw", 0664);
	CU_ASSERT_EQUAL(check(p, &rootonly, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "owned by uid 0 with mode 0664"));
	p = mkfile("ow", 0646);
	CU_ASSERT_EQUAL(check(p, &rootonly, &err), -1);
	p = mkfile("other", 0600);
	CU_ASSERT(chown(p, 65534, 0) == 0);
	CU_ASSERT_EQUAL(check(p, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "owned by uid 65534 with mode 0600"));
	CU_ASSERT_EQUAL(check(p, &withqemu, &err), 0); /* QEMU's user, after libvirt's chown */
	CU_ASSERT(chown(p, 65533, 0) == 0);
	CU_ASSERT_EQUAL(check(p, &withqemu, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "or QEMU's user, uid 65534"));
	CU_ASSERT_EQUAL(check("/dev/null", &rootonly, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_EQUAL(check("relative/path", &rootonly, &err), -1);
}

static void test_directories(void)
{
	struct vs_error err = {0};
	char dir[700], file[800], lnk[800], udir[700], ulnk[800], loop[800];

	setup();
	if (!root())
		return;
	snprintf(dir, sizeof(dir), "%s/d", base);
	snprintf(file, sizeof(file), "%s/f", dir);
	CU_ASSERT(mkdir(dir, 0755) == 0);
	CU_ASSERT(file_write_atomic(file, "x", 1, 0644, 0, &err) == 0);
	CU_ASSERT_EQUAL(check(file, &rootonly, &err), 0);
	CU_ASSERT(chown(dir, 65534, 0) == 0);
	CU_ASSERT_EQUAL(check(file, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "is owned by uid 65534 with mode 0755"));
	CU_ASSERT(chown(dir, 0, 0) == 0);
	CU_ASSERT(chmod(dir, 0775) == 0);
	CU_ASSERT_EQUAL(check(file, &rootonly, &err), -1);
	CU_ASSERT(chmod(dir, 01777) == 0); /* sticky: others cannot replace root's entry */
	CU_ASSERT_EQUAL(check(file, &rootonly, &err), 0);

	/* a symlink in the sticky directory: its owner could replace it */
	snprintf(lnk, sizeof(lnk), "%s/l", dir);
	CU_ASSERT(symlink("f", lnk) == 0);
	CU_ASSERT_EQUAL(check(lnk, &rootonly, &err), 0);
	CU_ASSERT(lchown(lnk, 65534, 0) == 0);
	CU_ASSERT_EQUAL(check(lnk, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "symbolic link"));
	CU_ASSERT(chmod(dir, 0755) == 0);
	CU_ASSERT_EQUAL(check(lnk, &rootonly, &err), 0); /* nobody but root writes dir now */

	/* a root-owned target reached through another user's directory */
	snprintf(udir, sizeof(udir), "%s/u", base);
	snprintf(ulnk, sizeof(ulnk), "%s/u/l", base);
	CU_ASSERT(mkdir(udir, 0755) == 0);
	CU_ASSERT(symlink(file, ulnk) == 0);
	CU_ASSERT_EQUAL(check(ulnk, &rootonly, &err), 0);
	CU_ASSERT(chown(udir, 65534, 0) == 0);
	CU_ASSERT_EQUAL(check(ulnk, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "/u is owned by uid 65534"));
	/* .. and a loop of links */
	snprintf(loop, sizeof(loop), "%s/d/../d/./f", base);
	CU_ASSERT_EQUAL(check(loop, &rootonly, &err), 0);
	snprintf(loop, sizeof(loop), "%s/loop", base);
	CU_ASSERT(symlink("loop", loop) == 0);
	CU_ASSERT_EQUAL(filetrust_path(loop, &rootonly, &err), -1);
}

static void test_replaced_path(void)
{
	struct vs_error err = {0};
	char a[700], b[700];
	int fd;

	setup();
	snprintf(a, sizeof(a), "%s/swap", base);
	snprintf(b, sizeof(b), "%s/evil", base);
	CU_ASSERT(file_write_atomic(a, "good", 4, 0644, 0, &err) == 0);
	CU_ASSERT(file_write_atomic(b, "evil", 4, 0644, 0, &err) == 0);
	fd = open(a, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(rename(b, a) == 0); /* the path now names another inode than the one opened */
	CU_ASSERT_EQUAL(filetrust_fd(fd, a, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "replaced while checked"));
	close(fd);
}

static void test_writers(void)
{
	struct vs_error err = {0};
	const char *p;
	int w;

	setup();
	p = mkfile("held", 0644);
	CU_ASSERT_EQUAL(check(p, &rootonly, &err), 0);
	w = open(p, O_RDWR);
	CU_ASSERT_FATAL(w >= 0);
	CU_ASSERT_EQUAL(check(p, &rootonly, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.reason, "is open for writing by another process");
	close(w);
	CU_ASSERT_EQUAL(check(p, &rootonly, &err), 0);
}

static void test_fs_types(void)
{
	CU_ASSERT_EQUAL(filetrust_fs_is_local(0xEF53), 1);
	CU_ASSERT_EQUAL(filetrust_fs_is_local(0x01021994), 1);
	CU_ASSERT_EQUAL(filetrust_fs_is_local(0x6969), 0);      /* nfs */
	CU_ASSERT_EQUAL(filetrust_fs_is_local(0x65735546), 0);  /* fuse */
	CU_ASSERT_EQUAL(filetrust_fs_is_local(0xFF534D42), 0);  /* cifs */
	CU_ASSERT_EQUAL(filetrust_fs_is_local(0x01021997), 0);  /* 9p */
	CU_ASSERT_EQUAL(filetrust_fs_is_local(0x12345678), 0);  /* unknown: not local */
	CU_ASSERT_STRING_EQUAL(filetrust_fs_name(0x6969), "nfs");
	CU_ASSERT_STRING_EQUAL(filetrust_fs_name(0x12345678), "unknown");
}

/* QEMU's firmware search path: each file it may load by name, root's alone. */
static void test_search_dir(void)
{
	struct vs_error err = {0};
	char fw[700], f[800], l[800], miss[800], open_dir[700];

	setup();
	if (!root())
		return;
	snprintf(fw, sizeof(fw), "%s/fw", base);
	snprintf(f, sizeof(f), "%s/bios-256k.bin", fw);
	CU_ASSERT(mkdir(fw, 0755) == 0);
	CU_ASSERT(file_write_atomic(f, "bios", 4, 0644, 0, &err) == 0);
	CU_ASSERT(mkdir(TMPNAME(fw, "7.2"), 0755) == 0); /* subdirectories are searched too */
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), 0);
	CU_ASSERT(chmod(TMPNAME(fw, "7.2"), 0777) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), -1);
	CU_ASSERT(chmod(TMPNAME(fw, "7.2"), 0755) == 0);
	CU_ASSERT(file_write_atomic(TMPNAME(fw, "7.2/accel-tcg-x86_64.so"), "so", 2, 0664, 0, &err) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.object, "7.2/accel-tcg-x86_64.so"));
	CU_ASSERT(chmod(TMPNAME(fw, "7.2/accel-tcg-x86_64.so"), 0644) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), 0);
	CU_ASSERT(chmod(f, 0664) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_STRING_EQUAL(err.object, f);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "owned by uid 0 with mode 0664: QEMU loads it into guests"));
	CU_ASSERT(chmod(f, 0644) == 0);
	CU_ASSERT(chown(f, 65534, 0) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), -1);
	CU_ASSERT(chown(f, 0, 0) == 0);
	/* the directory: sticky is not enough, anyone could add the file QEMU looks for */
	CU_ASSERT(chmod(fw, 01777) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "QEMU's firmware directory is owned by uid 0 with mode 1777"));
	CU_ASSERT(chmod(fw, 0755) == 0);
	/* a symlink to a file in a directory others may write */
	snprintf(open_dir, sizeof(open_dir), "%s/open", base);
	CU_ASSERT(mkdir(open_dir, 0755) == 0 && chmod(open_dir, 0777) == 0);
	CU_ASSERT(file_write_atomic(TMPNAME(open_dir, "rom"), "rom", 3, 0644, 0, &err) == 0);
	snprintf(l, sizeof(l), "%s/efi-virtio.rom", fw);
	CU_ASSERT(symlink(TMPNAME(open_dir, "rom"), l) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "mode 0777"));
	CU_ASSERT(unlink(l) == 0);
	/* dangling: the directory its target would be made in decides */
	CU_ASSERT(symlink(TMPNAME(open_dir, "nothing"), l) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), -1);
	CU_ASSERT(unlink(l) == 0);
	CU_ASSERT(symlink("../ovmf/OVMF.fd", l) == 0); /* base/ovmf may be made by root only */
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), 0);
	CU_ASSERT(unlink(l) == 0);
	/* a FIFO where QEMU expects a ROM */
	CU_ASSERT(mkfifo(l, 0644) == 0);
	CU_ASSERT_EQUAL(filetrust_search_dir(fw, &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "not a regular file"));
	CU_ASSERT(unlink(l) == 0);
	/* missing: only root may create it */
	snprintf(miss, sizeof(miss), "%s/none", fw);
	CU_ASSERT_EQUAL(filetrust_search_dir(miss, &rootonly, &err), 0);
	snprintf(miss, sizeof(miss), "%s/none", open_dir);
	CU_ASSERT_EQUAL(filetrust_search_dir(miss, &rootonly, &err), -1);
	/* the distribution's own */
	CU_ASSERT_EQUAL(filetrust_search_dir("/usr/share/qemu", &rootonly, &err), 0);
}

/* sys/REL: a directory, with FILE holding TEXT when given */
static void sysmk(const char *sys, const char *rel, const char *file, const char *text)
{
	char p[1024], cmd[1200];
	struct vs_error err = {0};

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", sys, rel);
	CU_ASSERT(system(cmd) == 0);
	if (file) {
		snprintf(p, sizeof(p), "%s/%s/%s", sys, rel, file);
		CU_ASSERT(file_write_atomic(p, text, strlen(text), 0644, 0, &err) == 0);
	}
}

static void syslink(const char *sys, const char *devno, const char *rel)
{
	char l[1024], t[1024];

	snprintf(l, sizeof(l), "%s/dev/block/%s", sys, devno);
	snprintf(t, sizeof(t), "../../%s", rel);
	CU_ASSERT(symlink(t, l) == 0);
}

/* Disks of one bus each (sysfs path under /sys, device number): local or not by the bus alone.
 * The made tree's device numbers have majors above 1000, which no real device has: the files of
 * this test (on this machine's own disk, added to the tree as a PCI disk) never meet one. */
static const struct {
	const char *rel;
	unsigned major, minor;
	int local;
} buses[] = {
	{"devices/vbd-51712/block/xvda", 1202, 0, 0}, /* Xen's vbd */
	/* a SCSI host of a transport vmseal does not know: not assumed local */
	{"devices/platform/netdisk.0/host9/target9:0:0/9:0:0:0/block/sdh", 1008, 112, 0},
	{"devices/platform/40000000.pcie/pci0000:00/0000:00:00.0/0000:01:00.0/nvme/nvme3/nvme3n1", 1259, 3, 1},
	{"devices/platform/soc/1c18000.sata/ata2/host1/target1:0:0/1:0:0:0/block/sdi", 1008, 128, 1},
	{"devices/platform/soc/fe340000.mmc/mmc_host/mmc0/mmc0:0001/block/mmcblk0", 1179, 0, 1},
	/* virtio-mmio as device tree, the kernel command line and ACPI name it */
	{"devices/platform/a003e00.virtio_mmio/virtio0/block/vdb", 1254, 16, 1},
	{"devices/virtio-mmio-cmdline/virtio-mmio.1/virtio1/block/vdc", 1254, 32, 1},
	{"devices/platform/LNRO0005:00/virtio2/block/vdd", 1254, 48, 1},
	{"devices/platform/virtio_mmio/virtio3/block/vde", 1254, 64, 0}, /* a look-alike */
	{"devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0012:00/ndbus0/region0/namespace0.0/block/pmem0", 1259, 8, 1},
	{"devices/platform/soc/3100000.usb/xhci-hcd.0.auto/usb1/1-1/1-1:1.0/host2/target2:0:0/2:0:0:0/block/sdk", 1008, 160, 1},
	/* "pcie0000:00" is not a PCI root bus's name */
	{"devices/platform/pci-ish/pcie0000:00/host10/target10:0:0/10:0:0:0/block/sdj", 1008, 144, 0},
};

/* Where a block device's bytes live, read from a sysfs tree made here. */
static void test_blockdev(void)
{
	const struct filetrust_opts remote = {.qemu_uid = FILETRUST_NO_UID, .allow_remote_fs = 1};
	struct vs_error err = {0};
	char sys[700], back[800];

	setup();
	snprintf(sys, sizeof(sys), "%s/sys", base);
	snprintf(back, sizeof(back), "%s/backing.img\n", base);
	sysmk(sys, "dev/block", NULL, NULL);
	/* this machine's own disk, which holds base (the loop's backing file): a PCI disk here */
	{
		struct stat bst;
		char devno[32];

		CU_ASSERT_FATAL(stat(base, &bst) == 0);
		if (major(bst.st_dev)) {
			snprintf(devno, sizeof(devno), "%u:%u", major(bst.st_dev), minor(bst.st_dev));
			sysmk(sys, "devices/pci0000:00/0000:00:1f.7/virtio9/block/here", NULL, NULL);
			syslink(sys, devno, "devices/pci0000:00/0000:00:1f.7/virtio9/block/here");
		}
	}
	sysmk(sys, "devices/virtual/block/loop0/loop", "backing_file", back);
	syslink(sys, "1007:0", "devices/virtual/block/loop0");
	sysmk(sys, "devices/virtual/block/nbd0", NULL, NULL);
	syslink(sys, "1043:0", "devices/virtual/block/nbd0");
	sysmk(sys, "devices/platform/host3/session1/target3:0:0/3:0:0:0/block/sda", NULL, NULL);
	syslink(sys, "1008:0", "devices/platform/host3/session1/target3:0:0/3:0:0:0/block/sda");
	sysmk(sys, "devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1", "partition", "1\n");
	syslink(sys, "1008:16", "devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sdb");
	syslink(sys, "1008:17", "devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sdb/sdb1");
	sysmk(sys, "devices/virtual/block/dm-0/slaves/loop0", "dev", "1007:0\n");
	syslink(sys, "1254:0", "devices/virtual/block/dm-0");
	sysmk(sys, "devices/virtual/block/dm-1/slaves/sdb1", "dev", "1008:17\n");
	sysmk(sys, "devices/virtual/block/dm-1/slaves/nbd0", "dev", "1043:0\n");
	syslink(sys, "1254:1", "devices/virtual/block/dm-1");
	sysmk(sys, "devices/virtual/block/dm-2/slaves", NULL, NULL);
	syslink(sys, "1254:2", "devices/virtual/block/dm-2");
	sysmk(sys, "devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1", NULL, NULL);
	sysmk(sys, "devices/virtual/nvme-subsystem/nvme-subsys0/nvme0", "transport", "pcie\n");
	syslink(sys, "1259:0", "devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1");
	sysmk(sys, "devices/virtual/nvme-subsystem/nvme-subsys1/nvme1n1", NULL, NULL);
	sysmk(sys, "devices/virtual/nvme-subsystem/nvme-subsys1/nvme1", "transport", "pcie\n");
	sysmk(sys, "devices/virtual/nvme-subsystem/nvme-subsys1/nvme2", "transport", "tcp\n");
	syslink(sys, "1259:1", "devices/virtual/nvme-subsystem/nvme-subsys1/nvme1n1");
	/* SCSI and USB disks reached over a network: Fibre Channel (a remote port; a host of the
	 * fc_host class), SRP (srp_host), USB/IP (vhci_hcd); a local USB disk beside them */
#define FC "devices/pci0000:00/0000:00:03.0/host4/rport-4:0-1/target4:0:0/4:0:0:0/block/sdc"
#define FCH "devices/pci0000:00/0000:00:04.0/host5"
#define SRP "devices/pci0000:00/0000:00:05.0/host6"
#define USBIP "devices/platform/vhci_hcd.0/usb3/3-1/3-1:1.0/host7/target7:0:0/7:0:0:0/block/sdf"
#define USB "devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host8"
	sysmk(sys, FC, NULL, NULL);
	syslink(sys, "1008:32", FC);
	sysmk(sys, FCH "/fc_host/host5", NULL, NULL);
	sysmk(sys, FCH "/target5:0:0/5:0:0:0/block/sdd", NULL, NULL);
	syslink(sys, "1008:48", FCH "/target5:0:0/5:0:0:0/block/sdd");
	sysmk(sys, SRP "/srp_host/host6", NULL, NULL);
	sysmk(sys, SRP "/target6:0:0/6:0:0:0/block/sde", NULL, NULL);
	syslink(sys, "1008:64", SRP "/target6:0:0/6:0:0:0/block/sde");
	sysmk(sys, USBIP, NULL, NULL);
	syslink(sys, "1008:80", USBIP);
	sysmk(sys, USB "/scsi_host/host8", NULL, NULL);
	sysmk(sys, USB "/target8:0:0/8:0:0:0/block/sdg", NULL, NULL);
	syslink(sys, "1008:96", USB "/target8:0:0/8:0:0:0/block/sdg");
	sysmk(sys, "devices/pci0000:00/0000:00:1f.2/ata1/host0/scsi_host/host0", NULL, NULL);
	/* buses: only those known to keep their disks in this host; each a disk of its own */
	for (size_t i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		char devno[32];

		snprintf(devno, sizeof(devno), "%u:%u", buses[i].major, buses[i].minor);
		sysmk(sys, buses[i].rel, NULL, NULL);
		syslink(sys, devno, buses[i].rel);
	}
	mkfile("backing.img", 0644);

	for (size_t i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		const char *rel = buses[i].rel, *dev = strrchr(rel, '/') + 1;
		char node[64];
		int r;

		snprintf(node, sizeof(node), "/dev/%s", dev);
		memset(&err, 0, sizeof(err));
		r = filetrust_blockdev_local(sys, makedev(buses[i].major, buses[i].minor), node, &rootonly, &err);
		if (r != (buses[i].local ? 0 : -1))
			fprintf(stderr, "bus case %s: %d (%s)\n", rel, r, err.reason);
		CU_ASSERT_EQUAL(r, buses[i].local ? 0 : -1);
		if (!buses[i].local) {
			CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "is not on a bus known to keep its disks in this host"));
			/* allow_remote_fs accepts what no bus rule proves local */
			CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(buses[i].major, buses[i].minor), node,
								 &remote, &err), 0);
		}
	}
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 32), "/dev/sdc", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "is reached over Fibre Channel"));
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 48), "/dev/sdd", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "is reached over Fibre Channel"));
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 64), "/dev/sde", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "is reached over SRP"));
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 80), "/dev/sdf", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "is reached over USB/IP"));
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 80), "/dev/sdf", &remote, &err), 0);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 96), "/dev/sdg", &rootonly, &err), 0);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1007, 0), "/dev/loop0", &rootonly, &err), 0);
	mkfile("backing.img", 0666);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1007, 0), "/dev/loop0", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "with mode 0666: it must be root's"));
	mkfile("backing.img", 0644);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1043, 0), "/dev/nbd0", &rootonly, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_STRING_EQUAL(err.object, "/dev/nbd0");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "block device nbd0 is not a local disk"));
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1043, 0), "/dev/nbd0", &remote, &err), 0);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 0), "/dev/sda", &rootonly, &err), -1); /* iSCSI */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "session1"));
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 16), "/dev/sdb", &rootonly, &err), 0);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 17), "/dev/sdb1", &rootonly, &err), 0);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1254, 0), "/dev/dm-0", &rootonly, &err), 0);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1254, 1), "/dev/dm-1", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "nbd0"));
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1254, 2), "/dev/dm-2", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "has no slaves"));
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1259, 0), "/dev/nvme0n1", &rootonly, &err), 0);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1259, 1), "/dev/nvme1n1", &rootonly, &err), -1);
	CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1, 99), "/dev/x", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "cannot tell where the data of block device 1:99 lives"));

	/* allow_san_disks: a storage network's own transports, and nothing else */
	{
		const struct filetrust_opts san = {.qemu_uid = FILETRUST_NO_UID, .allow_san = 1};

		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 32), "/dev/sdc", &rootonly, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "set \"allow_san_disks\""));
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 32), "/dev/sdc", &san, &err), 0); /* FC */
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 48), "/dev/sdd", &san, &err), 0); /* fc_host */
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 64), "/dev/sde", &san, &err), 0); /* SRP */
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 0), "/dev/sda", &san, &err), 0);  /* iSCSI */
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1259, 1), "/dev/nvme1n1", &rootonly, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "NVMe over a fabric"));
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1259, 1), "/dev/nvme1n1", &san, &err), 0); /* NVMe/TCP */
		CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1008, 0), "/srv/t.raw", &san, &err), 0);
		/* not a SAN: USB/IP, nbd, a bus vmseal does not know */
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1008, 80), "/dev/sdf", &san, &err), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "set \"allow_remote_fs\""));
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1043, 0), "/dev/nbd0", &san, &err), -1);
		CU_ASSERT_EQUAL(filetrust_blockdev_local(sys, makedev(1202, 0), "/dev/xvda", &san, &err), -1);
		CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1043, 0), "/srv/t.raw", &san, &err), -1);
	}

	/* a file's file system: as local as its device, the owners of device nodes aside */
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1043, 0), "/srv/t.raw", &rootonly, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.object, "/srv/t.raw");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "its file system's device: block device nbd0 is not a local disk"));
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1043, 0), "/srv/t.raw", &remote, &err), 0);
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1008, 0), "/srv/t.raw", &rootonly, &err), -1); /* iSCSI */
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "session1"));
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1254, 1), "/srv/t.raw", &rootonly, &err), -1); /* dm over nbd */
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1202, 0), "/srv/t.raw", &rootonly, &err), -1); /* Xen vbd */
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1008, 17), "/srv/t.raw", &rootonly, &err), 0);
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1254, 0), "/srv/t.raw", &rootonly, &err), 0); /* dm over loop */
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1259, 0), "/srv/t.raw", &rootonly, &err), 0);
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(0, 42), "/srv/t.raw", &rootonly, &err), 0); /* tmpfs... */
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1, 99), "/srv/t.raw", &rootonly, &err), -1);
	/* a loop device over a file others may write: whoever may rewrites the file system */
	mkfile("backing.img", 0666);
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1007, 0), "/srv/t.raw", &rootonly, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "with mode 0666: it must be root's"));
	mkfile("backing.img", 0644);
	CU_ASSERT_EQUAL(filetrust_fsdev_local(sys, makedev(1007, 0), "/srv/t.raw", &rootonly, &err), 0);
	/* a real file here, its file system's device as the made trees say: a PCI disk in sys, an
	 * nbd export in sys2 (refused, but for the host's own files and with allow_remote_fs) */
	{
		struct stat bst;
		char sys2[720], devno[32];
		const char *img = mkfile("img.raw", 0644);

		CU_ASSERT_FATAL(stat(base, &bst) == 0);
		if (root() && major(bst.st_dev)) {
			const struct filetrust_opts here = {.qemu_uid = FILETRUST_NO_UID, .sysfs = sys};
			const struct filetrust_opts far = {.qemu_uid = FILETRUST_NO_UID, .sysfs = sys2};
			const struct filetrust_opts far_host = {.qemu_uid = FILETRUST_NO_UID, .sysfs = sys2, .host_file = 1};
			const struct filetrust_opts far_ok = {.qemu_uid = FILETRUST_NO_UID, .sysfs = sys2, .allow_remote_fs = 1};

			snprintf(sys2, sizeof(sys2), "%s/sys2", base);
			snprintf(devno, sizeof(devno), "%u:%u", major(bst.st_dev), minor(bst.st_dev));
			sysmk(sys2, "dev/block", NULL, NULL);
			sysmk(sys2, "devices/virtual/block/nbd9", NULL, NULL);
			syslink(sys2, devno, "devices/virtual/block/nbd9");
			CU_ASSERT_EQUAL(check(img, &here, &err), 0);
			CU_ASSERT_EQUAL(check(img, &far, &err), -1);
			CU_ASSERT_STRING_EQUAL(err.object, img);
			CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "its file system's device: block device nbd9 is not a local disk"));
			CU_ASSERT_EQUAL(check(img, &far_host, &err), 0);
			CU_ASSERT_EQUAL(check(img, &far_ok, &err), 0);
		}
	}
	/* this machine's own: a loop device on a file here */
	if (root() && system("command -v losetup >/dev/null") == 0) {
		char cmd[1200], dev[64] = "";
		FILE *f;

		snprintf(cmd, sizeof(cmd), "losetup --find --show '%s/backing.img' 2>/dev/null", base);
		f = popen(cmd, "r");
		if (f && fgets(dev, sizeof(dev), f))
			dev[strcspn(dev, "\n")] = '\0';
		if (f)
			pclose(f);
		if (dev[0]) {
			struct stat was;

			/* udev may have made it root:disk 0660 (refused by the ownership rule) */
			CU_ASSERT(stat(dev, &was) == 0 && chmod(dev, 0600) == 0);
			CU_ASSERT_EQUAL(check(dev, &rootonly, &err), 0);
			CU_ASSERT(chmod(dev, was.st_mode & 07777) == 0);
			/* a loop over that loop device: the lower one's rule too */
			{
				char dev2[64] = "";

				snprintf(cmd, sizeof(cmd), "losetup --find --show '%s' 2>/dev/null", dev);
				f = popen(cmd, "r");
				if (f && fgets(dev2, sizeof(dev2), f))
					dev2[strcspn(dev2, "\n")] = '\0';
				if (f)
					pclose(f);
				if (dev2[0]) {
					struct stat was2;

					CU_ASSERT(stat(dev2, &was2) == 0 && chmod(dev2, 0600) == 0);
					CU_ASSERT(chmod(dev, 0600) == 0);
					CU_ASSERT_EQUAL(check(dev2, &rootonly, &err), 0);
					mkfile("backing.img", 0666);
					CU_ASSERT_EQUAL(check(dev2, &rootonly, &err), -1);
					CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "backing.img, owned by uid 0 with mode 0666"));
					mkfile("backing.img", 0644);
					CU_ASSERT(chmod(dev, 0660) == 0);
					CU_ASSERT_EQUAL(check(dev2, &rootonly, &err), -1);
					CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "with mode 0660"));
					CU_ASSERT(chmod(dev, was.st_mode & 07777) == 0 && chmod(dev2, was2.st_mode & 07777) == 0);
					snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev2);
					CU_ASSERT(system(cmd) == 0);
				}
			}
			snprintf(cmd, sizeof(cmd), "losetup -d '%s'", dev);
			CU_ASSERT(system(cmd) == 0);
		}
	}
}

int main(void)
{
	static const struct test_case cases[] = {
		{"owner and mode of a verified file", test_owner_and_mode},
		{"directories, sticky directories, symlinks", test_directories},
		{"path replaced after the open", test_replaced_path},
		{"open for writing by another process", test_writers},
		{"local file systems only (allow-list)", test_fs_types},
		{"QEMU's firmware search directories", test_search_dir},
		{"block devices: local disks only (allow-list)", test_blockdev},
		{NULL, NULL},
	};
	return run_suite("filetrust", cases);
}
