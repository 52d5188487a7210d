/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/domallow.c: every table entry has an allowed and a denied case (the
 * denied ones of harmless entries are made by adding an unknown attribute to each element of
 * every allowed document), and libvirt's own schema has no path-naming element or attribute
 * the table does not know. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "common_cunit.h"
#include "lib/domallow_priv.h"
#include "lib/util.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define QEMU "/usr/bin/qemu-system-x86_64"

static char T[512];
static struct domallow_protect prot;
static size_t ntable;
static const struct domallow_entry *table;
static unsigned char *cov_allow, *cov_deny;

struct dcase {
	const char *name;
	const char *top;       /* elements after <name>; NULL: a plain <os> */
	const char *devices;   /* inside <devices> after the <emulator> */
	unsigned allow;        /* launch.allow bits */
	int logdir;            /* launch.log_dir = T/logs */
	const char *reason;    /* NULL: allowed; else a substring of "object: reason" */
	const char *emulator;  /* NULL: QEMU */
	const char *pattern;   /* launch.emulators[0]; NULL: the default */
	int require_rng;
};

/* Replaces every @T@ in s by the test directory. */
static char *subst(const char *s)
{
	size_t n = strlen(s) + 1, tl = strlen(T);
	char *out, *o;

	for (const char *p = s; (p = strchr(p, '@')); p++)
		n += tl;
	out = o = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	while (*s) {
		if (!strncmp(s, "@T@", 3) || !strncmp(s, "@DIR@", 5)) {
			memcpy(o, T, tl);
			o += tl;
			s += s[1] == 'T' ? 3 : 5;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static char *case_xml(const struct dcase *c)
{
	const char *fmt = "<domain type='qemu' id='7'><name>t</name><memory unit='MiB'>64</memory>%s<devices>"
			  "<emulator>%s</emulator>%s</devices></domain>";
	const char *top = c->top ? c->top : "<os><type arch='x86_64' machine='pc'>hvm</type></os>";
	const char *dev = c->devices ? c->devices : "";
	const char *emu = c->emulator ? c->emulator : QEMU;
	size_t n = strlen(fmt) + strlen(top) + strlen(dev) + strlen(emu) + 1;
	char *x = malloc(n), *y;

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	snprintf(x, n, fmt, top, emu, dev);
	y = subst(x);
	free(x);
	return y;
}

static void case_launch(const struct dcase *c, struct policy_launch *l)
{
	memset(l, 0, sizeof(*l));
	l->allow = c->allow;
	l->require_rng = c->require_rng;
	if (c->logdir)
		snprintf(l->log_dir, sizeof(l->log_dir), "%s/logs", T);
	if (c->pattern) {
		char *p = subst(c->pattern);

		snprintf(l->emulators[0], sizeof(l->emulators[0]), "%s", p);
		l->nemulators = 1;
		free(p);
	}
}

/* Runs xml; returns domallow_check's result with err and r filled. hits: per entry. */
static int run_xml(const char *xml, const struct policy_launch *l, unsigned *hits,
		   struct domallow_result *r, struct vs_error *err)
{
	static char netdir[600];
	struct domallow_opts o = {.launch = l, .protect = &prot, .hits = hits, .network_dir = netdir};

	snprintf(netdir, sizeof(netdir), "%s/net", T);
	memset(hits, 0, ntable * sizeof(*hits));
	vs_error_clear(err);
	return domallow_check(xml, strlen(xml), &o, r, err);
}

/* The path domallow judges an element under (see domallow_priv.h). */
static void node_path(xmlNode *n, char *out, size_t outlen)
{
	char tmp[512];

	out[0] = '\0';
	for (; n && n->parent && n->parent->type == XML_ELEMENT_NODE; n = n->parent) {
		const char *name = (const char *)n->name;

		if (!strcmp(name, "backingStore") && !strcmp((const char *)n->parent->name, "backingStore"))
			continue;
		snprintf(tmp, sizeof(tmp), "%s%s%s%s", n->ns ? "qemu:" : "", name, out[0] ? "/" : "", out);
		snprintf(out, outlen, "%s", tmp);
	}
}

static int entry_index(const struct domallow_entry *e)
{
	return (int)(e - table);
}

static int under_skip(xmlNode *n)
{
	char p[512];

	for (n = n->parent; n && n->type == XML_ELEMENT_NODE; n = n->parent) {
		const struct domallow_entry *e;

		node_path(n, p, sizeof(p));
		e = domallow_lookup(p);
		if (e && (e->flags & DA_SKIP))
			return 1;
	}
	return 0;
}

/* Every element of an allowed document, given an attribute no entry lists, must be denied by
 * its own entry as "unknown attribute". */
static void mutate_all(xmlDoc *doc, xmlNode *n, const struct policy_launch *l, unsigned *hits, const char *name)
{
	for (; n; n = n->next) {
		const struct domallow_entry *e;
		struct domallow_result r;
		struct vs_error err;
		xmlChar *buf = NULL;
		int len, rc;
		char p[512];

		if (n->type != XML_ELEMENT_NODE)
			continue;
		mutate_all(doc, n->children, l, hits, name);
		node_path(n, p, sizeof(p));
		e = domallow_lookup(p);
		if (!e || e->cls == DOMALLOW_OPTIN || n->ns || under_skip(n))
			continue;
		xmlSetProp(n, (const xmlChar *)"vmsealbogus", (const xmlChar *)"1");
		xmlDocDumpMemory(doc, &buf, &len);
		xmlUnsetProp(n, (const xmlChar *)"vmsealbogus");
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		rc = run_xml((const char *)buf, l, hits, &r, &err);
		xmlFree(buf);
		if (rc != -1 || r.denied_entry != entry_index(e) || !strstr(err.reason, "unknown attribute")) {
			fprintf(stderr, "\n%s: bogus attribute on <%s> (entry %s): rc %d, entry %d, %s: %s\n", name,
				p, e->path, rc, r.denied_entry, err.object, err.reason);
			CU_FAIL("an unknown attribute was not denied by its element's entry");
			continue;
		}
		cov_deny[entry_index(e)] = 1;
	}
}

static void run_case(const struct dcase *c)
{
	struct policy_launch l;
	struct domallow_result r;
	struct vs_error err;
	unsigned *hits = calloc(ntable, sizeof(*hits));
	char *xml = case_xml(c);
	char said[VS_ERR_OBJECT_MAX + VS_ERR_REASON_MAX + 4];
	char *want = c->reason ? subst(c->reason) : NULL;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(hits);
	case_launch(c, &l);
	rc = run_xml(xml, &l, hits, &r, &err);
	snprintf(said, sizeof(said), "%s: %s", err.object, err.reason);
	if (!c->reason) {
		if (rc != 0)
			fprintf(stderr, "\n%s: denied: %s\n", c->name, said);
		CU_ASSERT_EQUAL(rc, 0);
		if (rc == 0) {
			xmlDoc *doc = xmlReadMemory(xml, (int)strlen(xml), "t.xml", NULL, XML_PARSE_NONET);

			for (size_t i = 0; i < ntable; i++)
				if (hits[i])
					cov_allow[i] = 1;
			CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
			mutate_all(doc, xmlDocGetRootElement(doc), &l, hits, c->name);
			xmlFreeDoc(doc);
		}
	} else {
		if (rc != -1 || err.kind != VS_ERR_DENIED || !strstr(said, want))
			fprintf(stderr, "\n%s: rc %d, want denial \"%s\", got \"%s\"\n", c->name, rc, want,
				rc ? said : "allowed");
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
		CU_ASSERT_PTR_NOT_NULL(strstr(said, want));
		if (rc == -1 && r.denied_entry >= 0)
			cov_deny[r.denied_entry] = 1;
	}
	free(want);
	free(xml);
	free(hits);
}

/* ---- the cases ------------------------------------------------------------------------------- */

/* a disk with the boot index: the firmware boots it or nothing (libvirt's -boot strict=on) */
#define BOOT_DISK "<disk type='file'><source file='@T@/img/boot.raw'/><target dev='vdz'/><boot order='1'/></disk>"

#define A_ALL (LAUNCH_ALLOW_HOSTDEV | LAUNCH_ALLOW_REDIRDEV | LAUNCH_ALLOW_SMARTCARD_DB | \
	       LAUNCH_ALLOW_SHMEM | LAUNCH_ALLOW_TPM_PASSTHROUGH | LAUNCH_ALLOW_FILESYSTEM | \
	       LAUNCH_ALLOW_NVDIMM | LAUNCH_ALLOW_FWCFG | LAUNCH_ALLOW_OPTION_ROM | \
	       LAUNCH_ALLOW_HOST_CHARDEV | LAUNCH_ALLOW_HOST_INTERFACE | LAUNCH_ALLOW_SECLABEL | \
	       LAUNCH_ALLOW_NETWORK_BOOT | LAUNCH_ALLOW_SMBIOS)

static const char top_all[] =
	"<uuid>5fb18672-63df-4b26-a4b4-7a17d16d386d</uuid><genid>43dc0cf8-809b-4adb-9bea-a9abb5f3d90d</genid>"
	"<title>t</title><description>d</description>"
	"<metadata><app:x xmlns:app='http://example.org/app'><app:alias name='/etc/vmseal/policy.json'/></app:x></metadata>"
	"<maxMemory slots='16' unit='KiB'>1524288</maxMemory><currentMemory unit='MiB'>64</currentMemory>"
	"<vcpu placement='static' current='1'>2</vcpu><vcpus><vcpu id='0' enabled='yes'/></vcpus>"
	"<iothreads>1</iothreads><iothreadids><iothread id='1'/></iothreadids>"
	"<cputune><shares>1024</shares></cputune><memtune><hard_limit unit='G'>1</hard_limit></memtune>"
	"<numatune><memory mode='strict' nodeset='0'/></numatune>"
	"<memoryBacking><hugepages/><source type='file'/></memoryBacking>"
	"<resource><partition>/machine</partition></resource>"
	"<features><acpi/><apic/><hyperv mode='custom'><relaxed state='on'/></hyperv></features>"
	"<cpu mode='host-model' check='partial'><topology sockets='1' cores='2' threads='1'/></cpu>"
	"<clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>"
	"<pm><suspend-to-mem enabled='no'/></pm><perf><event name='cmt' enabled='no'/></perf>"
	"<keywrap><cipher name='aes' state='off'/></keywrap>"
	"<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
	"<on_lockfailure>poweroff</on_lockfailure>"
	"<blkiotune><weight>800</weight><device><path>/dev/sda</path><weight>1000</weight></device></blkiotune>"
	"<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/><bootmenu enable='no'/>"
	"<smbios mode='sysinfo'/><bios useserial='yes'/></os>"
	"<seclabel type='dynamic' model='dac' relabel='yes'><label>+0:+0</label><imagelabel>+0:+0</imagelabel></seclabel>";

static const char dev_all[] =
	"<disk type='file' device='disk' snapshot='no'><driver name='qemu' type='qcow2' cache='none' discard='unmap'/>"
	"<source file='@T@/img/top.qcow2' index='2'><seclabel model='dac' relabel='no'/></source>"
	"<backingStore type='file' index='3'><format type='qcow2'/><source file='@T@/img/base.qcow2'/>"
	"<backingStore type='file'><format type='raw'/><source file='@T@/img/b2.raw'/><backingStore/></backingStore>"
	"</backingStore><target dev='vda' bus='virtio'/><serial>abc</serial><wwn>0x5000c50015ea71ac</wwn>"
	"<boot order='1'/><alias name='virtio-disk0'/>"
	"<address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>"
	"<iotune><total_bytes_sec>1000000</total_bytes_sec></iotune>"
	"<blockio logical_block_size='512' physical_block_size='4096'/>"
	"<geometry cyls='16383' heads='16' secs='63' trans='lba'/></disk>"
	"<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='sda' bus='sata'/>"
	"<readonly/><shareable/><vendor>x</vendor><product>y</product></disk>"
	"<disk type='network' device='disk'><source protocol='rbd' name='pool/img'><host name='mon' port='6789'/>"
	"<auth username='u'><secret type='ceph' usage='x'/></auth><config file='@T@/ceph.conf'/></source>"
	"<target dev='vdb' bus='virtio'/></disk>"
	"<disk type='network' device='disk'><source protocol='nbd' name='e'><host transport='unix' socket='@T@/nbd.sock'/></source>"
	"<target dev='vdd' bus='virtio'/></disk>"
	"<disk type='file' device='disk'><source file='@T@/img/t.qcow2'><dataStore type='file'><format type='raw'/>"
	"<source file='@T@/img/d.raw'/></dataStore></source><target dev='vdc'/><transient/>"
	"<encryption format='luks'><secret type='passphrase' uuid='5fb18672-63df-4b26-a4b4-7a17d16d386d'/></encryption>"
	"<auth username='x'><secret type='iscsi' usage='y'/></auth></disk>"
	"<controller type='usb' index='0' model='qemu-xhci' ports='15'><master startport='0'/></controller>"
	"<controller type='pci' index='1' model='pcie-root-port'><model name='pcie-root-port'/>"
	"<target chassis='1' port='0x10'/></controller>"
	"<controller type='pci' index='0' model='pci-root'><pcihole64 unit='KiB'>1048576</pcihole64></controller>"
	"<controller type='virtio-serial' index='0'><driver iommu='on'/></controller>"
	"<interface type='network'><mac address='52:54:00:00:00:01'/><source network='default' portgroup='x'/>"
	"<model type='virtio'/><target dev='vnet0'/><link state='up'/><mtu size='1500'/>"
	"<filterref filter='clean-traffic'><parameter name='IP' value='10.0.0.1'/></filterref>"
	"<bandwidth><inbound average='1000'/></bandwidth><vlan><tag id='42'/></vlan>"
	"<virtualport type='openvswitch'/><tune><sndbuf>1600</sndbuf></tune>"
	"<coalesce><rx><frames max='7'/></rx></coalesce><rom bar='off'/><guest dev='eth0'/>"
	"<teaming type='persistent'/><driver name='vhost' queues='2'><host csum='off'/></driver><acpi index='1'/></interface>"
	"<interface type='user'><ip address='10.0.2.15' family='ipv4' prefix='24'/>"
	"<route family='ipv4' address='0.0.0.0' gateway='10.0.2.2'/><model type='e1000'/></interface>"
	"<interface type='bridge'><source bridge='br0'/></interface>"
	"<serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>"
	"<console type='pty'><target type='serial' port='0'/></console>"
	"<channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-7-t/org.qemu.guest_agent.0'/>"
	"<target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>"
	"<address type='virtio-serial' controller='0' bus='0' port='1'/></channel>"
	"<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>"
	"<parallel type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/><protocol type='telnet'/>"
	"<target port='0'/></parallel>"
	"<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' keymap='en-us' sharePolicy='allow-exclusive' "
	"passwd='x' websocket='-1'><listen type='address' address='127.0.0.1'/></graphics>"
	"<graphics type='spice' autoport='yes' defaultMode='any'><listen type='socket' socket='/var/lib/libvirt/qemu/domain-7-t/spice.sock'/>"
	"<channel name='main' mode='secure'/><image compression='auto_glz'/><jpeg compression='auto'/>"
	"<zlib compression='auto'/><playback compression='on'/><streaming mode='filter'/>"
	"<clipboard copypaste='yes'/><mouse mode='client'/><filetransfer enable='no'/>"
	"<gl enable='no' rendernode='/dev/dri/renderD128'/><audio id='1'/></graphics>"
	"<video><model type='virtio' heads='1' primary='yes'><acceleration accel3d='no' rendernode='/dev/dri/renderD128'/>"
	"<resolution x='800' y='600'/></model><driver iommu='on'/></video>"
	"<input type='tablet' bus='usb'><address type='usb' bus='0' port='1'/></input>"
	"<sound model='ich9'><codec type='duplex'/><audio id='1'/></sound>"
	"<audio id='1' type='none'/><audio id='3' type='spice'><input mixingEngine='yes'/></audio>"
	"<memballoon model='virtio' autodeflate='on'><stats period='10'/></memballoon>"
	"<watchdog model='i6300esb' action='reset'/><panic model='isa'/><hub type='usb'/>"
	"<rng model='virtio'><rate bytes='1234' period='2000'/><backend model='random'>/dev/urandom</backend></rng>"
	"<rng model='virtio'><backend model='builtin'/></rng>"
	"<vsock model='virtio'><cid auto='yes'/></vsock><iommu model='intel'><driver intremap='on'/></iommu>"
	"<tpm model='tpm-crb'><backend type='emulator' version='2.0'><encryption secret='5fb18672-63df-4b26-a4b4-7a17d16d386d'/>"
	"<active_pcr_banks><sha256/></active_pcr_banks></backend></tpm>"
	"<smartcard mode='host'/>"
	"<smartcard mode='passthrough' type='tcp'><source mode='bind' host='127.0.0.1' service='2001'/>"
	"<protocol type='raw'/></smartcard>"
	"<memory model='dimm'><source><pagesize unit='KiB'>2048</pagesize><nodemask>0</nodemask></source>"
	"<target><size unit='MiB'>128</size><node>0</node></target></memory>";

static const struct dcase cases[] = {
	{"a normal VM's devices", top_all, dev_all},
	{"unknown element", NULL, "<foo/>", 0, 0, "<devices><foo>: unknown element"},
	{"unknown top-level element", "<foo/>", NULL, 0, 0, "<foo>: unknown element"},
	{"element of another namespace", NULL, "<x:disk xmlns:x='http://example.org/x'/>", 0, 0, "unknown element"},
	{"attribute of another namespace", NULL, "<video xmlns:x='http://example.org/x' x:model='a'/>", 0, 0,
	 "unknown attribute x:model"},
	{"path-like attribute inside a subtree", "<features><hap file='/etc/x'/></features>", NULL, 0, 0,
	 "<features><hap file>: attribute names a host path"},
	{"path text inside a subtree", "<features><hap>/etc/passwd</hap></features>", NULL, 0, 0,
	 "text names a host path"},
	{"too deep", "<features><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>"
	 "</a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>"
	 "</features>", NULL, 0, 0, "nested deeper than"},

	/* refused */
	{"qemu:commandline", "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
	 "<qemu:arg value='-drive'/></qemu:commandline>", NULL, 0, 0, "<qemu:commandline>: qemu:commandline passes raw"},
	{"qemu:override", "<qemu:override xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>", NULL, 0, 0,
	 "<qemu:override>"},
	{"qemu:capabilities", "<qemu:capabilities xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>", NULL,
	 0, 0, "<qemu:capabilities>"},
	{"qemu:deprecation", "<qemu:deprecation xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>", NULL,
	 0, 0, "<qemu:deprecation>"},
	{"bootloader", "<bootloader>/usr/bin/pygrub</bootloader>", NULL, A_ALL, 0, "<bootloader>: a host bootloader"},
	{"bootloader_args", "<bootloader_args>-q</bootloader_args>", NULL, A_ALL, 0, "<bootloader_args>"},
	{"idmap", "<idmap/>", NULL, A_ALL, 0, "<idmap>"},
	{"os init", "<os><type>exe</type><init>/bin/sh</init></os>", NULL, A_ALL, 0, "<os><init>"},
	{"interface script", NULL, "<interface type='ethernet'><script path='/etc/qemu-ifup'/></interface>", A_ALL, 0,
	 "<devices><interface><script>: an interface script"},
	{"interface downscript", NULL, "<interface type='ethernet'><downscript path='/x'/></interface>", A_ALL, 0,
	 "<devices><interface><downscript>"},
	{"interface backend", NULL, "<interface type='ethernet'><backend tap='/dev/net/tun'/></interface>", A_ALL, 0,
	 "<devices><interface><backend>"},

	{"os initdir", "<os><type>exe</type><initdir>/srv</initdir></os>", NULL, A_ALL, 0, "<os><initdir>"},
	{"os root", "<os><type>exe</type><root>/srv</root></os>", NULL, A_ALL, 0, "<os><root>"},
	{"nvram source", "<os><type>hvm</type><nvram type='file'><source file='@T@/vars.fd'/></nvram></os>", NULL, A_ALL, 0,
	 "<os><nvram><source>: an NVRAM given as a <source>"},
	{"disk reservations", NULL, "<disk type='block'><source dev='/dev/sdz'><reservations managed='no'>"
	 "<source type='unix' path='/run/pr.sock' mode='client'/></reservations></source><target dev='sda'/></disk>",
	 A_ALL, 0, "<devices><disk><source><reservations>: persistent reservations"},
	{"disk mirror", NULL, "<disk type='file'><source file='@T@/img/a.raw'/><mirror type='file' file='@T@/img/m.raw'/>"
	 "<target dev='vda'/></disk>", A_ALL, 0, "<devices><disk><mirror>"},
	{"lease", NULL, "<lease><lockspace>x</lockspace><key>k</key><target path='/tmp/l'/></lease>", A_ALL, 0,
	 "<devices><lease>: lock manager leases"},
	{"network backing store, passt port forward, chardev logs", NULL,
	 "<disk type='file'><source file='@T@/img/o.qcow2'/><backingStore type='network'><format type='raw'/>"
	 "<source protocol='rbd' name='p/i'><host name='mon'/><auth username='u'><secret type='ceph' usage='c'/></auth>"
	 "<config file='@T@/ceph.conf'/></source></backingStore><target dev='vda'/><boot order='1'/></disk>"
	 "<interface type='user'><portForward proto='tcp' address='127.0.0.1'><range start='2022' to='22'/></portForward></interface>"
	 "<rng model='virtio'><backend model='egd' type='pty'><log file='@T@/logs/rng.log'/></backend></rng>"
	 "<smartcard mode='passthrough' type='pty'><log file='@T@/logs/sc.log'/></smartcard>",
	 LAUNCH_ALLOW_HOST_CHARDEV, 1},

	/* boot files: collected for the boot-file decision */
	{"efi loader and nvram", "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><firmware>"
	 "<feature enabled='no' name='secure-boot'/></firmware><loader readonly='yes' type='pflash'>"
	 "/usr/share/OVMF/OVMF_CODE.fd</loader><nvram template='/usr/share/OVMF/OVMF_VARS.fd'>@T@/vars.fd</nvram></os>"},
	{"direct kernel boot", "<os><type>hvm</type><kernel>@T@/vmlinuz</kernel><initrd>@T@/initrd</initrd>"
	 "<cmdline>console=ttyS0</cmdline><dtb>@T@/x.dtb</dtb><acpi><table type='slic'>@T@/slic.dat</table></acpi></os>"},
	{"kernel is the policy", "<os><type>hvm</type><kernel>@T@/policy.json</kernel></os>", NULL, 0, 0,
	 "<os><kernel> @T@/policy.json: names a vmseal path (policy"},
	/* libvirt passes path text untrimmed: "/tmp/vmlinuz " is another file than the signed one */
	{"kernel with a trailing space", "<os><type>hvm</type><kernel>@T@/vmlinuz </kernel></os>", NULL, 0, 0,
	 "<os><kernel> @T@/vmlinuz: the path has white space around it; libvirt passes it to QEMU untrimmed"},
	{"initrd with a trailing newline", "<os><type>hvm</type><initrd>@T@/initrd\n</initrd></os>", NULL, 0, 0,
	 "<os><initrd> @T@/initrd: the path has white space around it"},
	{"loader with a leading tab", "<os><type>hvm</type><loader>\t/usr/share/OVMF/OVMF_CODE.fd</loader></os>", NULL, 0, 0,
	 "<os><loader> /usr/share/OVMF/OVMF_CODE.fd: the path has white space around it"},
	{"emulator with a trailing newline", NULL, NULL, 0, 0, "<devices><emulator> /usr/bin/qemu-system-x86_64: the path has white space around it",
	 "/usr/bin/qemu-system-x86_64\n"},
	{"relative kernel", "<os><type>hvm</type><kernel>vmlinuz</kernel></os>", NULL, 0, 0, "not an absolute path"},
	{"loader into the cache", "<os><type>hvm</type><loader>@T@/cache/x</loader></os>", NULL, 0, 0,
	 "names a vmseal path (cache directory"},
	{"nvram template is the audit log", "<os><type>hvm</type><nvram template='@T@/audit.jsonl'/></os>", NULL, 0, 0,
	 "<os><nvram> @T@/audit.jsonl: names a vmseal path (audit log"},
	{"initrd via ..", "<os><type>hvm</type><initrd>@T@/img/../policy.json</initrd></os>", NULL, 0, 0,
	 "names a vmseal path (policy"},
	{"initrd through a symlink, then ..", "<os><type>hvm</type><initrd>@T@/img/up/../cache/x</initrd></os>", NULL, 0, 0,
	 "names a vmseal path (cache directory"},
	{"kernel is the hook's stdin", "<os><type>hvm</type><kernel>/proc/self/fd/0</kernel></os>", NULL, 0, 0,
	 "<os><kernel> /proc/self/fd/0: text goes through /proc"},
	{"initrd through /dev/fd", "<os><type>hvm</type><initrd>/dev/fd/3</initrd></os>", NULL, 0, 0, "goes through /proc"},
	{"disk is /dev/stdin", NULL, "<disk type='file' device='disk'><source file='/dev/stdin'/><target dev='vda'/></disk>",
	 0, 0, "goes through /proc"},
	{"loader in another process's root", "<os><type>hvm</type><loader>/proc/1/root/usr/share/OVMF/OVMF_CODE.fd</loader></os>",
	 NULL, 0, 0, "goes through /proc"},
	{"dtb via a symlink to the cache", "<os><type>hvm</type><dtb>@T@/cachelink/x.dtb</dtb></os>", NULL, 0, 0,
	 "names a vmseal path (cache directory"},
	{"acpi table is a hard link to the policy", "<os><type>hvm</type><acpi><table>@T@/img/hardlink</table></acpi></os>",
	 NULL, 0, 0, "names a vmseal path (policy"},
	{"two cmdlines", "<os><type>hvm</type><cmdline>a</cmdline><cmdline>b</cmdline></os>", NULL, 0, 0,
	 "more than one <cmdline>"},

	/* emulator */
	{"emulator wrapper script", NULL, NULL, 0, 0, "is not one of the policy's emulators", "@T@/qemu-wrap"},
	{"emulator whose firmware directory holds a ROM others may write", NULL, NULL, 0, 0,
	 "<devices><emulator> @T@/usr/share/seabios/bios-256k.bin: owned by uid 0 with mode 0666: QEMU loads it into guests "
	 "without the domain XML naming it", "@T@/usr/bin/qemu-system-x86_64", "@T@/usr/bin/qemu-system-*"},
#if defined(__x86_64__)
	{"emulator whose module directory holds a module others may write", NULL, NULL, 0, 0,
	 "<devices><emulator> @T@/usr2/lib/x86_64-linux-gnu/qemu/accel-tcg-x86_64.so: owned by uid 0 with mode 0664",
	 "@T@/usr2/bin/qemu-system-x86_64", "@T@/usr2/bin/qemu-system-*"},
#endif
	{"emulator listed but writable by others", NULL, NULL, 0, 0, "mode 0777: a verified file must be owned by root and not writable by group or other",
	 "@T@/qemu-open", "@T@/qemu-open"},
	{"emulator symlink out of the allowed set", NULL, NULL, 0, 0, "is not one of the policy's emulators",
	 "@T@/bin/qemu-system-x86_64", "@T@/bin/qemu-system-*"},
	{"two emulators", NULL, "<emulator>" QEMU "</emulator>", 0, 0, "more than one <emulator>"},
	{"emulator empty", NULL, NULL, 0, 0, "<devices><emulator>: empty <emulator>", ""},

	/* disks */
	{"fdgroup", NULL, "<disk type='file'><source file='@T@/img/a.raw' fdgroup='g'/><target dev='vda'/></disk>", 0, 0,
	 "<devices><disk><source> g: fdgroup: QEMU would use a file descriptor"},
	{"fdgroup on a backing store", NULL, "<disk type='file'><source file='@T@/img/a.qcow2'/><backingStore type='file'>"
	 "<source file='@T@/img/b.raw' fdgroup='g'/></backingStore><target dev='vda'/></disk>", 0, 0, "fdgroup"},
	{"fdgroup on a data store", NULL, "<disk type='file'><source file='@T@/img/a.qcow2'><dataStore type='file'>"
	 "<source file='@T@/img/b.raw' fdgroup='g'/></dataStore></source><target dev='vda'/></disk>", 0, 0, "fdgroup"},
	{"writable disk onto the audit log", NULL, "<disk type='file'><source file='@T@/audit.jsonl'/><target dev='vda'/></disk>",
	 0, 0, "<devices><disk><source> @T@/audit.jsonl: names a vmseal path (audit log"},
	{"disk on the state directory", NULL, "<disk type='block'><source dev='/var/lib/vmseal/x'/><target dev='vda'/></disk>",
	 0, 0, "names a vmseal path (state directory"},
	{"disk directory source containing vmseal paths", NULL, "<disk type='dir'><source dir='@T@'/><target dev='vda'/></disk>",
	 0, 0, "names a vmseal path"},
	{"ceph config is the policy", NULL, "<disk type='network'><source protocol='rbd' name='p'><config file='@T@/policy.json'/>"
	 "</source><target dev='vda'/></disk>", 0, 0, "<devices><disk><source><config> @T@/policy.json: names a vmseal path"},
	{"nbd socket in the cache", NULL, "<disk type='network'><source protocol='nbd'><host transport='unix' socket='@T@/cache/s'/>"
	 "</source><target dev='vda'/></disk>", 0, 0, "names a vmseal path (cache directory"},

	/* option ROMs */
	{"interface option ROM file", NULL, "<interface type='user'><rom file='@T@/evil.rom'/></interface>", 0, 0,
	 "<devices><interface><rom> @T@/evil.rom: an option ROM file runs in the guest before the signed boot disk; "
	 "refused unless the policy sets launch.allow.option_rom"},
	{"interface option ROM file opted in", NULL, BOOT_DISK "<interface type='user'><rom file='@T@/evil.rom'/></interface>",
	 LAUNCH_ALLOW_OPTION_ROM},
	{"option ROM file is the policy", NULL, "<interface type='user'><rom file='@T@/policy.json'/></interface>",
	 LAUNCH_ALLOW_OPTION_ROM, 0, "names a vmseal path"},

	/* chardevs and guest output files */
	{"file serial under log_dir", NULL, "<serial type='file'><source path='@T@/logs/serial.log' append='off'/>"
	 "<target port='1'/></serial><console type='pty'><log file='@T@/logs/console.log' append='on'/></console>"
	 "<channel type='pty'><target type='virtio' name='x'/><log file='@T@/logs/ch.log'/></channel>"
	 "<parallel type='file'><source path='@T@/logs/par.log'/><log file='@T@/logs/p.log'/></parallel>"
	 "<serial type='pty'><log file='@T@/logs/s.log'/></serial>"
	 "<audio id='2' type='file' path='@T@/logs/a.wav'/>", 0, 1},
	{"file serial without log_dir", NULL, "<serial type='file'><source path='@T@/logs/serial.log'/></serial>", 0, 0,
	 "<devices><serial><source> @T@/logs/serial.log: writes a host file; the policy has no launch.log_dir"},
	{"file serial into the cache directory", NULL, "<serial type='file'><source path='@T@/cache/entry'/></serial>", 0, 1,
	 "<devices><serial><source> @T@/cache/entry: names a vmseal path (cache directory"},
	{"file serial onto the audit log", NULL, "<serial type='file'><source path='@T@/audit.jsonl'/></serial>", 0, 1,
	 "names a vmseal path (audit log"},
	{"file serial outside log_dir", NULL, "<serial type='file'><source path='@T@/img/x.log'/></serial>", 0, 1,
	 "writes a host file outside launch.log_dir"},
	{"file serial onto a hard link of the policy in log_dir", NULL,
	 "<serial type='file'><source path='@T@/logs/hardlink'/></serial>", 0, 1, "names a vmseal path (policy"},
	{"log file onto the policy", NULL, "<console type='pty'><log file='@T@/policy.json'/></console>", 0, 1,
	 "<devices><console><log> @T@/policy.json: names a vmseal path"},
	{"log file outside log_dir", NULL, "<channel type='pty'><log file='/tmp/x.log'/></channel>", 0, 1, "outside launch.log_dir"},
	{"parallel log outside log_dir", NULL, "<parallel type='pty'><log file='/tmp/x.log'/></parallel>", 0, 1, "outside launch.log_dir"},
	{"unix channel bound onto the policy", NULL, "<channel type='unix'><source mode='bind' path='@T@/policy.json'/>"
	 "<target type='virtio' name='x'/></channel>", 0, 0, "<devices><channel><source> @T@/policy.json: names a vmseal path"},
	{"parallel source onto the cache", NULL, "<parallel type='unix'><source mode='bind' path='@T@/cache/x'/></parallel>",
	 0, 0, "names a vmseal path"},
	{"console tty onto the policy", NULL, "<console type='pty' tty='@T@/policy.json'/>", 0, 0, "names a vmseal path"},
	{"serial on a host device", NULL, "<serial type='dev'><source path='/dev/ttyS0'/></serial>", 0, 0,
	 "<devices><serial> dev: a chardev on a host pipe or device reads and writes host files; refused unless the policy sets launch.allow.host_chardev"},
	{"serial on a host device opted in", NULL, "<serial type='dev'><source path='/dev/ttyS0'/></serial>"
	 "<channel type='pipe'><source path='/tmp/p'/><target type='virtio' name='y'/></channel>", LAUNCH_ALLOW_HOST_CHARDEV},
	{"channel on a pipe", NULL, "<channel type='pipe'><source path='/tmp/p'/><target type='virtio' name='y'/></channel>", 0, 0,
	 "launch.allow.host_chardev"},
	{"chardev type stdio", NULL, "<serial type='stdio'/>", A_ALL, 0, "chardev type \"stdio\" is not allowed"},
	{"parallel on a device", NULL, "<parallel type='dev'><source path='/dev/parport0'/></parallel>", 0, 0, "host_chardev"},
	{"chardev target model protocol", NULL, "<parallel type='pty'><target port='0'><model name='x'/></target></parallel>"
	 "<console type='tcp'><source mode='bind' host='h' service='1'/><protocol type='raw'/><target><model name='y'/></target></console>"
	 "<channel type='tcp'><source mode='connect' host='h' service='1'/><protocol type='raw'/><target type='guestfwd'><model name='z'/></target></channel>"
	 "<serial type='tcp'><source mode='connect' host='h' service='1'/><protocol type='telnet'/></serial>", LAUNCH_ALLOW_HOST_CHARDEV},

	/* sockets: libvirt (root) unlinks a bind path and binds it; a connected one reaches a host
	 * service. Only libvirt's own channel socket of this domain (id 7, "t") and TCP listeners
	 * go without launch.allow.host_chardev. */
	{"tcp listener console", NULL, "<console type='tcp'><source mode='bind' host='127.0.0.1' service='4444'/>"
	 "<protocol type='telnet'/></console>"},
	{"tcp serial connecting to a host service", NULL, "<serial type='tcp'><source mode='connect' host='127.0.0.1' "
	 "service='6379'/></serial>", 0, 0,
	 "<devices><serial><source> tcp: a tcp or udp chardev that is not a listener sends to a host or network service; "
	 "refused unless the policy sets launch.allow.host_chardev"},
	{"tcp serial without a mode connects", NULL, "<serial type='tcp'><source host='127.0.0.1' service='6379'/></serial>",
	 0, 0, "not a listener"},
	{"guestfwd channel to a host service", NULL, "<channel type='tcp'><source mode='connect' host='127.0.0.1' "
	 "service='6379'/><target type='guestfwd' address='10.0.2.1' port='4600'/></channel>", 0, 0, "launch.allow.host_chardev"},
	{"udp serial", NULL, "<serial type='udp'><source mode='bind' host='127.0.0.1' service='1'/>"
	 "<source mode='connect' host='127.0.0.1' service='2'/></serial>", 0, 0, "launch.allow.host_chardev"},
	{"smartcard passthrough to a host service", NULL, "<smartcard mode='passthrough' type='tcp'>"
	 "<source mode='connect' host='127.0.0.1' service='2001'/></smartcard>", 0, 0, "launch.allow.host_chardev"},
	{"unix channel bound over the hook", NULL, "<channel type='unix'><source mode='bind' "
	 "path='/etc/libvirt/hooks/qemu.d/vmseal'/><target type='virtio' name='x'/></channel>", 0, 0,
	 "<devices><channel><source> /etc/libvirt/hooks/qemu.d/vmseal: a unix socket chardev outside libvirt's channel "
	 "directory of this domain is bound over a host path (libvirt unlinks what is there); refused unless the policy "
	 "sets launch.allow.host_chardev"},
	{"unix serial bound over a host file", NULL, "<serial type='unix'><source mode='bind' path='/etc/passwd'/></serial>",
	 0, 0, "bound over a host path"},
	{"unix serial bound over a host file, opted in", NULL, "<serial type='unix'><source mode='bind' path='/etc/passwd'/>"
	 "</serial>", LAUNCH_ALLOW_HOST_CHARDEV, 0, "/etc/passwd: binding a socket here would replace an existing file"},
	{"unix serial bound to a new path, opted in", NULL, "<serial type='unix'><source mode='bind' path='@T@/new.sock'/>"
	 "</serial>", LAUNCH_ALLOW_HOST_CHARDEV},
	{"unix serial connecting to libvirt's socket", NULL, "<serial type='unix'><source mode='connect' "
	 "path='/run/libvirt/libvirt-sock'/></serial>", 0, 0,
	 "/run/libvirt/libvirt-sock: a unix socket chardev connects to a host service; refused unless the policy sets "
	 "launch.allow.host_chardev"},
	{"unix serial without a mode connects", NULL, "<serial type='unix'><source path='/run/libvirt/libvirt-sock'/></serial>",
	 0, 0, "connects to a host service"},
	{"unix connect opted in", NULL, "<serial type='unix'><source mode='connect' path='/run/x.sock'/></serial>",
	 LAUNCH_ALLOW_HOST_CHARDEV},
	{"unix channel without a path: libvirt makes its own", NULL, "<channel type='unix'><target type='virtio' "
	 "name='org.qemu.guest_agent.0'/></channel>"},
	{"channel socket of another domain id", NULL, "<channel type='unix'><source mode='bind' "
	 "path='/var/lib/libvirt/qemu/channel/target/domain-8-t/org.qemu.guest_agent.0'/><target type='virtio' name='x'/>"
	 "</channel>", 0, 0, "outside libvirt's channel directory of this domain"},
	{"channel socket of another domain name", NULL, "<channel type='unix'><source mode='bind' "
	 "path='/var/lib/libvirt/qemu/channel/target/domain-7-tx/org.qemu.guest_agent.0'/><target type='virtio' name='x'/>"
	 "</channel>", 0, 0, "outside libvirt's channel directory"},
	{"channel socket below the domain's directory", NULL, "<channel type='unix'><source mode='bind' "
	 "path='/var/lib/libvirt/qemu/channel/target/domain-7-t/a/b'/><target type='virtio' name='x'/></channel>", 0, 0,
	 "outside libvirt's channel directory"},
	{"channel socket escaping the domain's directory", NULL, "<channel type='unix'><source mode='bind' "
	 "path='/var/lib/libvirt/qemu/channel/target/domain-7-t/../../../../../../../etc/passwd'/>"
	 "<target type='virtio' name='x'/></channel>", 0, 0, "cannot be resolved"},
	{"connecting to the domain's channel directory", NULL, "<channel type='unix'><source mode='connect' "
	 "path='/var/lib/libvirt/qemu/channel/target/domain-7-t/x'/><target type='virtio' name='x'/></channel>", 0, 0,
	 "connects to a host service"},
	{"channel socket in a domain without an id", "<os><type arch='x86_64' machine='pc'>hvm</type></os>",
	 "<channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain--t/x'/>"
	 "<target type='virtio' name='x'/></channel>", 0, 0, "outside libvirt's channel directory"},

	/* boot devices: without a boot index the firmware falls back to a NIC's PXE ROM */
	{"interface and no disk", NULL, "<interface type='user'/>", 0, 0,
	 "<devices><interface>: no disk or kernel is the boot device, so the firmware would fall back to a network (PXE) boot "
	 "through the interface (SeaBIOS by its option ROM, OVMF by its own drivers even with the ROM off); "
	 "give the boot disk <boot order='1'/> or <os><boot dev='hd'/>"},
	{"interface, a disk and no boot device", NULL, "<disk type='file'><source file='@T@/img/a.raw'/><target dev='vda'/>"
	 "</disk><interface type='user'/>", 0, 0, "fall back to a network (PXE) boot"},
	{"interface, a disk and a floppy boot device", "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='fd'/></os>",
	 "<disk type='file'><source file='@T@/img/a.raw'/><target dev='vda'/></disk><interface type='user'/>", 0, 0,
	 "fall back to a network (PXE) boot"},
	{"interface, a cdrom and a hd boot device", "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>",
	 "<disk type='file' device='cdrom'><source file='@T@/img/a.raw'/><target dev='hdc'/></disk><interface type='user'/>",
	 0, 0, "fall back to a network (PXE) boot"},
	{"interface with its ROM disabled (OVMF boots it over its own drivers)", NULL,
	 "<interface type='user'><rom enabled='no'/></interface>", 0, 0, "fall back to a network (PXE) boot"},
	{"interface with its ROM bar off still boots", NULL, "<interface type='user'><rom bar='off'/></interface>", 0, 0,
	 "fall back to a network (PXE) boot"},
	{"two interfaces, one ROM disabled, a kernel", "<os><type arch='x86_64' machine='pc'>hvm</type><kernel>@T@/kern</kernel></os>",
	 "<interface type='user'><rom enabled='no'/></interface><interface type='user'/>"},
	{"interface with a disk boot order", NULL, BOOT_DISK "<interface type='user'/>"},
	{"interface with a hd boot device", "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>",
	 "<disk type='file' device='disk'><source file='@T@/img/a.raw'/><target dev='vda'/></disk><interface type='user'/>"},
	{"interface with a cdrom boot device", "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='cdrom'/><boot dev='hd'/></os>",
	 "<disk type='file' device='cdrom'><source file='@T@/img/a.raw'/><target dev='hdc'/></disk><interface type='user'/>"},
	{"interface and a network boot opted in", NULL, "<interface type='user'/>", LAUNCH_ALLOW_NETWORK_BOOT},

	/* interfaces */
	{"ethernet interface", NULL, "<interface type='ethernet'/>", 0, 0,
	 "<devices><interface> ethernet: interfaces other than user, network and bridge"},
	{"hostdev interface", NULL, "<interface type='hostdev'/>", 0, 0, "launch.allow.hostdev"},
	{"host interfaces opted in", NULL, "<interface type='udp'><source address='127.0.0.1' port='1234'>"
	 "<local address='127.0.0.1' port='1235'/></source></interface>"
	 "<interface type='vhostuser'><source type='unix' path='@T@/vhu.sock' mode='server'/></interface>"
	 "<interface type='hostdev'/>" BOOT_DISK, LAUNCH_ALLOW_HOST_INTERFACE | LAUNCH_ALLOW_HOSTDEV},
	{"vhostuser socket in the cache", NULL, "<interface type='vhostuser'><source type='unix' path='@T@/cache/s' mode='server'/>"
	 "</interface>", LAUNCH_ALLOW_HOST_INTERFACE, 0, "names a vmseal path"},

	/* networks: what the port of <interface type='network'> became */
	{"nat, isolated and host-bridge networks", NULL, BOOT_DISK "<interface type='network'><source network='default'/></interface>"
	 "<interface type='network'><source network='isolated'/></interface>"
	 "<interface type='network'><source network='hostbridge'/></interface>"},
	{"macvtap network", NULL, BOOT_DISK "<interface type='network'><source network='macvtap'/></interface>", 0, 0,
	 "<devices><interface><source> macvtap: the network connects the guest to a host device (macvtap); refused unless "
	 "the policy sets launch.allow.host_interface"},
	{"macvtap network opted in", NULL, BOOT_DISK "<interface type='network'><source network='macvtap'/></interface>",
	 LAUNCH_ALLOW_HOST_INTERFACE},
	{"hostdev network", NULL, BOOT_DISK "<interface type='network'><source network='vfpool'/></interface>",
	 LAUNCH_ALLOW_HOST_INTERFACE, 0, "vfpool: the network hands the guest a host PCI device; refused unless the policy sets "
	 "launch.allow.hostdev"},
	{"unknown forward mode", NULL, BOOT_DISK "<interface type='network'><source network='weird'/></interface>", A_ALL, 0,
	 "forward mode \"vdpa\" is not known"},
	{"malformed network status", NULL, BOOT_DISK "<interface type='network'><source network='broken'/></interface>",
	 A_ALL, 0, "not well-formed XML"},
	{"network status with a DTD", NULL, BOOT_DISK "<interface type='network'><source network='dtd'/></interface>",
	 A_ALL, 0, "a document type"},
	{"network not running", NULL, BOOT_DISK "<interface type='network'><source network='nosuch'/></interface>", A_ALL, 0,
	 "nosuch: cannot tell what the network connects the guest to"},
	{"network name with a slash", NULL, BOOT_DISK "<interface type='network'><source network='../x'/></interface>", A_ALL, 0,
	 "a network name must be a plain name"},

	/* graphics, video, input, audio */
	{"video driver vhostuser", NULL, "<video><model type='virtio'/><driver name='vhostuser'/></video>", 0, 0,
	 "<devices><video><driver> vhostuser: a vhost-user GPU: libvirt runs a host program the guest's GPU commands reach; "
	 "refused unless the policy sets launch.allow.host_interface"},
	{"video driver vhostuser opted in", NULL, "<video><model type='virtio'/><driver name='vhostuser'/></video>",
	 LAUNCH_ALLOW_HOST_INTERFACE},
	{"video driver unknown", NULL, "<video><driver name='x'/></video>", A_ALL, 0, "video driver \"x\" is not allowed"},
	{"sdl graphics", NULL, "<graphics type='sdl'/>", A_ALL, 0, "graphics type \"sdl\" is not allowed"},
	{"vnc socket of libvirt's own", NULL, "<graphics type='vnc' socket='/var/lib/libvirt/qemu/domain-7-t/vnc.sock'/>"},
	{"vnc socket over a host file", NULL, "<graphics type='vnc' socket='/etc/passwd'/>", 0, 0,
	 "<devices><graphics> /etc/passwd: a graphics socket outside libvirt's directory of this domain is bound over a host "
	 "path (QEMU unlinks what is there); refused unless the policy sets launch.allow.host_chardev"},
	{"spice listen socket over a host file, opted in", NULL, "<graphics type='spice'><listen type='socket' "
	 "socket='/etc/passwd'/></graphics>", LAUNCH_ALLOW_HOST_CHARDEV, 0, "/etc/passwd: binding a socket here would replace an existing file"},
	{"vnc socket of another domain", NULL, "<graphics type='vnc' socket='/var/lib/libvirt/qemu/domain-8-t/vnc.sock'/>", 0, 0,
	 "outside libvirt's directory of this domain"},
	{"vnc socket in the cache", NULL, "<graphics type='vnc' socket='@T@/cache/vnc'/>", 0, 0, "names a vmseal path"},
	{"spice listen socket on the policy", NULL, "<graphics type='spice'><listen type='socket' socket='@T@/policy.json'/></graphics>",
	 0, 0, "<devices><graphics><listen> @T@/policy.json: names a vmseal path"},
	{"gl rendernode on the policy", NULL, "<graphics type='spice'><gl enable='yes' rendernode='@T@/policy.json'/></graphics>",
	 0, 0, "names a vmseal path"},
	{"video rendernode on the policy", NULL, "<video><model type='virtio'><acceleration rendernode='@T@/policy.json'/></model></video>",
	 0, 0, "names a vmseal path"},
	{"evdev input", NULL, "<input type='evdev'><source dev='/dev/input/event1' grab='all' repeat='on'/></input>", 0, 0,
	 "<devices><input> evdev: a host input device in the guest; refused unless the policy sets launch.allow.hostdev"},
	{"passthrough input", NULL, "<input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/></input>", 0, 0,
	 "launch.allow.hostdev"},
	{"unknown input type", NULL, "<input type='joystick' bus='usb'/>", A_ALL, 0, "input type \"joystick\" is not allowed"},
	{"input without a type", NULL, "<input bus='usb'/>", A_ALL, 0, "input type \"\" is not allowed"},
	{"host input opted in", NULL, "<input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/></input>",
	 LAUNCH_ALLOW_HOSTDEV},
	{"alsa audio", NULL, "<audio id='1' type='alsa'/>", A_ALL, 0, "audio type \"alsa\" uses a host sound device"},
	{"serial file escapes log_dir through a symlink and ..", NULL,
	 "<serial type='file'><source path='@T@/logs/out/../escape.log'/></serial>", 0, 1, "outside launch.log_dir"},
	{"audio file outside log_dir", NULL, "<audio id='1' type='file' path='/tmp/a.wav'/>", 0, 1, "outside launch.log_dir"},
	/* below log_dir, but in a directory others may write: swapped for a symlink once checked,
	 * libvirt would chown and QEMU write the target (a root file the guest's serial then fills) */
	{"file serial in a directory others may write below log_dir", NULL,
	 "<serial type='file'><source path='@T@/logs/open/serial.log'/></serial>", 0, 1,
	 "must be root's and not writable by group or other"},
	{"file serial in a sticky directory below log_dir", NULL,
	 "<serial type='file'><source path='@T@/logs/sticky/serial.log'/></serial>", 0, 1,
	 "must be root's and not writable by group or other"},
	{"log file below a directory others may write, in log_dir", NULL,
	 "<channel type='pty'><log file='@T@/logs/open2/sub/x.log'/></channel>", 0, 1, "mode 0777"},
	{"audio file in a directory others may write below log_dir", NULL,
	 "<audio id='1' type='file' path='@T@/logs/open/a.wav'/>", 0, 1, "not writable by group or other"},
	{"audio file onto the policy", NULL, "<audio id='1' type='file' path='@T@/policy.json'/>", 0, 1, "names a vmseal path"},

	/* rng */
	{"rng from /dev/hwrng", NULL, "<rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng>", A_ALL, 0,
	 "<devices><rng><backend> /dev/hwrng: an rng must be fed by /dev/urandom or /dev/random"},
	{"rng egd", NULL, "<rng model='virtio'><backend model='egd' type='unix'><source mode='connect' path='@T@/egd.sock'/>"
	 "<protocol type='raw'/></backend></rng>", 0, 0, "launch.allow.host_chardev"},
	{"rng egd opted in", NULL, "<rng model='virtio'><backend model='egd' type='unix'><source mode='connect' path='@T@/egd.sock'/>"
	 "<protocol type='raw'/></backend></rng>", LAUNCH_ALLOW_HOST_CHARDEV},
	{"rng egd file source onto the cache", NULL, "<rng model='virtio'><backend model='egd' type='unix'>"
	 "<source mode='connect' path='@T@/cache/x'/></backend></rng>", LAUNCH_ALLOW_HOST_CHARDEV, 0, "names a vmseal path"},
	{"rng backend unknown", NULL, "<rng model='virtio'><backend model='x'/></rng>", A_ALL, 0, "rng backend \"x\""},
	{"require_rng without one", NULL, NULL, 0, 0, "<devices><rng>: missing: the policy requires", NULL, NULL, 1},
	{"require_rng with one", NULL, "<rng model='virtio'><backend model='random'>/dev/random</backend></rng>",
	 0, 0, NULL, NULL, NULL, 1},
	{"require_rng with a non-virtio rng", NULL, "<rng model='other'><backend model='random'>/dev/random</backend></rng>",
	 0, 0, "the policy requires", NULL, NULL, 1},

	/* memory devices, sysinfo, tpm, smartcards */
	{"nvdimm", NULL, "<memory model='nvdimm'><source><path>@T@/nv.img</path></source><target><size unit='MiB'>128</size>"
	 "</target></memory>", 0, 0, "<devices><memory> nvdimm: a host file mapped into the guest as memory"},
	{"virtio-pmem", NULL, "<memory model='virtio-pmem' access='shared'><source><path>@T@/nv.img</path></source></memory>",
	 0, 0, "launch.allow.nvdimm"},
	{"nvdimm opted in", NULL, "<memory model='nvdimm'><source><path>@T@/nv.img</path><alignsize unit='KiB'>2048</alignsize>"
	 "<pmem/></source><target><size unit='MiB'>128</size></target></memory>", LAUNCH_ALLOW_NVDIMM},
	{"nvdimm on the policy", NULL, "<memory model='nvdimm'><source><path>@T@/policy.json</path></source></memory>",
	 LAUNCH_ALLOW_NVDIMM, 0, "<devices><memory><source><path> @T@/policy.json: names a vmseal path"},
	{"memory model sgx-epc", NULL, "<memory model='sgx-epc'/>", A_ALL, 0, "memory device model \"sgx-epc\""},
	{"fwcfg", "<sysinfo type='fwcfg'><entry name='opt/com.coreos/config' file='@T@/ign.json'/></sysinfo>", NULL, 0, 0,
	 "<sysinfo> fwcfg: fw_cfg entries hand host files"},
	{"fwcfg opted in", "<sysinfo type='fwcfg'><entry name='opt/com.coreos/config' file='@T@/ign.json'/>"
	 "<entry name='opt/x'>text</entry></sysinfo>", NULL, LAUNCH_ALLOW_FWCFG},
	{"fwcfg entry from the policy", "<sysinfo type='fwcfg'><entry name='opt/x' file='@T@/policy.json'/></sysinfo>", NULL,
	 LAUNCH_ALLOW_FWCFG, 0, "<sysinfo><entry> @T@/policy.json: names a vmseal path"},
	{"smbios sysinfo", "<sysinfo type='smbios'><system><entry name='serial'>ds=nocloud;s=http://10.0.0.9/</entry>"
	 "</system></sysinfo>", NULL, A_ALL & ~LAUNCH_ALLOW_SMBIOS, 0,
	 "<sysinfo> smbios: SMBIOS strings reach the guest's boot as configuration"},
	{"smbios oem strings", "<sysinfo type='smbios'><oemStrings><entry>io.systemd.stub.kernel-cmdline-extra=init=/bin/sh</entry>"
	 "</oemStrings></sysinfo>", NULL, 0, 0, "refused unless the policy sets launch.allow.smbios"},
	{"smbios sysinfo opted in", "<sysinfo type='smbios'><system><entry name='manufacturer'>x</entry></system></sysinfo>"
	 "<os><type arch='x86_64' machine='pc'>hvm</type><smbios mode='sysinfo'/></os>", NULL, LAUNCH_ALLOW_SMBIOS},
	{"sysinfo type unknown", "<sysinfo type='x'/>", NULL, A_ALL, 0, "sysinfo type \"x\""},
	{"blkiotune device on the policy", "<blkiotune><device><path>@T@/policy.json</path></device></blkiotune>", NULL, 0, 0,
	 "<blkiotune><device><path> @T@/policy.json: names a vmseal path"},
	{"tpm passthrough", NULL, "<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>",
	 0, 0, "<devices><tpm><backend> passthrough: a host TPM device"},
	{"tpm external", NULL, "<tpm model='tpm-crb'><backend type='external'><source type='unix' mode='connect' path='@T@/swtpm.sock'/>"
	 "</backend></tpm>", 0, 0, "launch.allow.tpm_passthrough"},
	{"tpm passthrough opted in", NULL, "<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>"
	 "<tpm model='tpm-crb'><backend type='external'><source type='unix' mode='connect' path='@T@/swtpm.sock'/></backend></tpm>",
	 LAUNCH_ALLOW_TPM_PASSTHROUGH},
	{"tpm device on the policy", NULL, "<tpm model='tpm-tis'><backend type='passthrough'><device path='@T@/policy.json'/></backend></tpm>",
	 LAUNCH_ALLOW_TPM_PASSTHROUGH, 0, "<devices><tpm><backend><device> @T@/policy.json: names a vmseal path"},
	{"tpm external socket in the cache", NULL, "<tpm model='tpm-crb'><backend type='external'><source type='unix' path='@T@/cache/s'/>"
	 "</backend></tpm>", LAUNCH_ALLOW_TPM_PASSTHROUGH, 0, "names a vmseal path"},
	{"tpm backend unknown", NULL, "<tpm><backend type='x'/></tpm>", A_ALL, 0, "tpm backend \"x\""},
	{"smartcard database", NULL, "<smartcard mode='host-certificates'><certificate>c1</certificate>"
	 "<database>/etc/pki/nssdb</database></smartcard>", 0, 0,
	 "<devices><smartcard><database>: a host NSS certificate database; refused unless the policy sets launch.allow.smartcard_database"},
	{"smartcard database opted in", NULL, "<smartcard mode='host-certificates'><certificate>c1</certificate>"
	 "<database>/etc/pki/nssdb</database></smartcard>", LAUNCH_ALLOW_SMARTCARD_DB},
	{"smartcard database is the cache", NULL, "<smartcard mode='host-certificates'><database>@T@/cache</database></smartcard>",
	 LAUNCH_ALLOW_SMARTCARD_DB, 0, "names a vmseal path"},
	{"smartcard passthrough on a device", NULL, "<smartcard mode='passthrough' type='dev'><source path='/dev/x'/></smartcard>",
	 0, 0, "launch.allow.host_chardev"},
	{"smartcard passthrough socket on the policy", NULL, "<smartcard mode='passthrough' type='unix'>"
	 "<source mode='bind' path='@T@/policy.json'/></smartcard>", 0, 0, "names a vmseal path"},
	{"smartcard mode unknown", NULL, "<smartcard mode='x'/>", A_ALL, 0, "smartcard mode \"x\""},

	/* host resources */
	{"hostdev", NULL, "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0' slot='1' "
	 "function='0'/></source></hostdev>", 0, 0, "<devices><hostdev>: a host device (PCI, USB, SCSI, mdev) in the guest; "
	 "refused unless the policy sets launch.allow.hostdev"},
	{"hostdev opted in", NULL, "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='0' "
	 "slot='1' function='0'/></source></hostdev>", LAUNCH_ALLOW_HOSTDEV},
	{"hostdev option ROM", NULL, "<hostdev mode='subsystem' type='pci'><source/><rom file='@T@/rom.bin'/></hostdev>",
	 LAUNCH_ALLOW_HOSTDEV, 0, "<devices><hostdev><rom> @T@/rom.bin: an option ROM file"},
	{"hostdev scsi on the policy", NULL, "<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='x'/>"
	 "</hostdev><hostdev mode='capabilities' type='storage'><source><block>@T@/policy.json</block></source></hostdev>",
	 LAUNCH_ALLOW_HOSTDEV, 0, "names a vmseal path"},
	{"redirdev", NULL, "<redirdev bus='usb' type='spicevmc'/>", 0, 0, "<devices><redirdev>: USB redirection"},
	{"redirdev opted in", NULL, "<redirdev bus='usb' type='spicevmc'/>", LAUNCH_ALLOW_REDIRDEV},
	{"filesystem", NULL, "<filesystem type='mount' accessmode='passthrough'><source dir='/srv'/><target dir='tag'/></filesystem>",
	 0, 0, "<devices><filesystem>: a host directory shared into the guest"},
	{"filesystem opted in", NULL, "<filesystem type='mount' accessmode='passthrough'><source dir='@T@/img'/>"
	 "<target dir='tag'/></filesystem>", LAUNCH_ALLOW_FILESYSTEM},
	{"filesystem of the host's /", NULL, "<filesystem type='mount'><source dir='/'/><target dir='tag'/></filesystem>",
	 LAUNCH_ALLOW_FILESYSTEM, 0, "<devices><filesystem><source> /: names a vmseal path"},
	{"shmem", NULL, "<shmem name='x'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>", 0, 0,
	 "<devices><shmem>: memory shared with processes on the host"},
	{"shmem opted in", NULL, "<shmem name='x'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>",
	 LAUNCH_ALLOW_SHMEM},

	/* security labels */
	{"static dac label of root", "<seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>", NULL,
	 A_ALL, 0, "<seclabel> +0:+0: a DAC label of uid or gid 0 runs QEMU as root"},
	{"static dac label root:root", "<seclabel type='static' model='dac'><label>root:root</label></seclabel>", NULL,
	 A_ALL, 0, "runs QEMU as root"},
	{"static dac label of the root group", "<seclabel type='static' model='dac'><label>+107:+0</label></seclabel>", NULL,
	 A_ALL, 0, "runs QEMU as root"},
	{"static label without model", "<seclabel type='static'><label>0:107</label></seclabel>", NULL, A_ALL, 0, "as root"},
	{"static dac label of another user", "<seclabel type='static' model='dac'><label>+107:+107</label></seclabel>", NULL,
	 0, 0, "<seclabel> static: a security label chosen by the domain XML; refused unless the policy sets launch.allow.seclabel"},
	{"static labels opted in", "<seclabel type='static' model='dac'><label>+107:+107</label></seclabel>"
	 "<seclabel type='dynamic' model='selinux'><baselabel>system_u:system_r:svirt_t:s0</baselabel></seclabel>", NULL,
	 LAUNCH_ALLOW_SECLABEL},
	/* network (PXE) boot: code from a DHCP/TFTP server, not the signed disk */
	{"os boot network", "<os><type>hvm</type><boot dev='network'/><boot dev='hd'/></os>", NULL, 0, 0,
	 "<os><boot> network: a network (PXE) boot runs code from the network, not the signed boot disk; refused unless the policy sets launch.allow.network_boot"},
	{"os boot network opted in", "<os><type>hvm</type><boot dev='network'/></os>", NULL, LAUNCH_ALLOW_NETWORK_BOOT},
	/* a console anyone may type on, with a firmware its user can steer (OVMF's boot manager
	 * and UEFI shell, a boot menu): refused unless opted in; SeaBIOS without a menu offers none */
	{"tcp serial listener with OVMF", "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>",
	 "<serial type='tcp'><source mode='bind' host='127.0.0.1' service='24555'/></serial>", 0, 0,
	 "<devices><serial type='tcp'>: a console anyone who connects may type on, with a firmware other than "
	 "the default SeaBIOS (OVMF's boot manager and UEFI shell): they can steer it to code no signature covers; refused "
	 "unless the policy sets launch.allow.open_console"},
	{"tcp serial listener with OVMF, opted in", "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>",
	 "<serial type='tcp'><source mode='bind' host='127.0.0.1' service='24555'/></serial>", LAUNCH_ALLOW_OPEN_CONSOLE},
	{"tcp serial listener with SeaBIOS, no menu", NULL,
	 "<serial type='tcp'><source mode='bind' host='127.0.0.1' service='24555'/></serial>"},
	{"vnc on 127.0.0.1 with OVMF", "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>",
	 "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>",
	 0, 0, "<devices><graphics type='vnc'>: a console anyone who connects may type on"},
	{"spice, libvirt's default listen, with a loader", "<os><type arch='x86_64' machine='q35'>hvm</type>"
	 "<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader></os>",
	 "<graphics type='spice' autoport='yes'/>", 0, 0, "<devices><graphics type='spice'>: a console"},
	/* libvirt gives the hook no secrets: a passwd never shows, and is not taken on trust */
	{"vnc with a password, OVMF", "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>",
	 "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='s3cret'/>", 0, 0,
	 "<devices><graphics type='vnc'>: a console anyone who connects may type on"},
	{"vnc on 127.0.0.1, firmware='bios' (SeaBIOS)", "<os firmware='bios'><type arch='x86_64' machine='pc'>hvm</type></os>",
	 "<graphics type='vnc' listen='127.0.0.1'/>"},
	{"vnc on libvirt's socket, OVMF", "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>",
	 "<graphics type='vnc'><listen type='socket' socket='/var/lib/libvirt/qemu/domain-7-t/vnc.sock'/></graphics>"},
	{"spice without a listener, OVMF", "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>",
	 "<graphics type='spice'><listen type='none'/></graphics>"},
	{"vnc on libvirt's socket with a websocket port, OVMF", "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type></os>",
	 "<graphics type='vnc' websocket='5700'><listen type='socket' socket='/var/lib/libvirt/qemu/domain-7-t/vnc.sock'/></graphics>",
	 0, 0, "<devices><graphics type='vnc'>: a console anyone who connects may type on"},
	{"vnc on 127.0.0.1 and a boot menu", "<os><type>hvm</type><boot dev='hd'/><bootmenu enable='yes'/></os>",
	 "<graphics type='vnc' listen='127.0.0.1'/>", 0, 0, "a console anyone who connects may type on, with a boot menu"},
	/* a boot menu lists the NICs' boot ROMs: a network boot, at a keypress */
	{"boot menu and an interface", "<os><type>hvm</type><boot dev='hd'/><bootmenu enable='yes' timeout='3000'/></os>",
	 "<disk type='file' device='disk'><source file='@T@/a.raw'/><target dev='vda'/></disk><interface type='user'/>", 0, 0,
	 "<os><bootmenu>: a boot menu lets a console user boot from the network through the interface"},
	{"boot menu and an interface, network boot opted in", "<os><type>hvm</type><boot dev='hd'/><bootmenu enable='yes'/></os>",
	 "<disk type='file' device='disk'><source file='@T@/a.raw'/><target dev='vda'/></disk><interface type='user'/>",
	 LAUNCH_ALLOW_NETWORK_BOOT},
	{"boot menu without an interface", "<os><type>hvm</type><boot dev='hd'/><bootmenu enable='yes'/></os>",
	 "<disk type='file' device='disk'><source file='@T@/a.raw'/><target dev='vda'/></disk>"},
	/* an empty drive boots nothing: the firmware goes on (to the network, to OVMF's shell) */
	{"empty cdrom as the boot device, an interface", "<os><type>hvm</type><boot dev='cdrom'/></os>",
	 "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk><interface type='user'/>", 0, 0,
	 "<devices><interface>: no disk or kernel is the boot device"},
	{"lun with rawio", NULL, "<disk type='block' device='lun' rawio='yes'><source dev='/dev/sdb1'/><target dev='sda' bus='scsi'/></disk>",
	 0, 0, "<devices><disk> rawio='yes': raw SCSI commands with CAP_SYS_RAWIO reach the whole device, past a partition and "
	 "past readonly; refused unless the policy sets launch.allow.hostdev"},
	{"lun with rawio, hostdev opted in", NULL, "<disk type='block' device='lun' rawio='yes'><source dev='/dev/sdb'/><target dev='sda' bus='scsi'/></disk>",
	 LAUNCH_ALLOW_HOSTDEV},
	{"lun unfiltered", NULL, "<disk type='block' device='lun' sgio='unfiltered'><source dev='/dev/sdb'/><target dev='sda' bus='scsi'/></disk>",
	 0, 0, "sgio='unfiltered': unfiltered SCSI commands write to the device"},
	{"lun filtered", NULL, "<disk type='block' device='lun' sgio='filtered'><source dev='/dev/sdb'/><target dev='sda' bus='scsi'/></disk>"},
	{"cdrom with an empty <source/> as the boot device, an interface", "<os><type>hvm</type><boot dev='cdrom'/></os>",
	 "<disk type='file' device='cdrom'><source startupPolicy='optional'/><target dev='hdc' bus='ide'/><readonly/></disk>"
	 "<interface type='user'/>", 0, 0, "<devices><interface>: no disk or kernel is the boot device"},
	{"cdrom with source file='' as the boot device, an interface", "<os><type>hvm</type><boot dev='cdrom'/></os>",
	 "<disk type='file' device='cdrom'><source file=''/><target dev='hdc' bus='ide'/><readonly/></disk>"
	 "<interface type='user'/>", 0, 0, "<devices><interface>: no disk or kernel is the boot device"},
	{"empty cdrom with the boot index, an interface", NULL,
	 "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/><boot order='1'/></disk>"
	 "<interface type='user'/>", 0, 0, "<devices><interface>: no disk or kernel is the boot device"},
	{"cdrom with media and the boot index, an interface", NULL,
	 "<disk type='file' device='cdrom'><source file='@T@/a.iso'/><target dev='hdc' bus='ide'/><readonly/><boot order='1'/></disk>"
	 "<interface type='user'/>"},
	{"cdrom with media as the boot device, an interface", "<os><type>hvm</type><boot dev='cdrom'/></os>",
	 "<disk type='file' device='cdrom'><source file='@T@/a.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>"
	 "<interface type='user'/>"},
	{"os boot unknown device", "<os><type>hvm</type><boot dev='usb'/></os>", NULL, A_ALL, 0,
	 "<os><boot> usb: boot device \"usb\" is not allowed"},
	{"interface boot order", NULL, "<interface type='network'><source network='default'/><boot order='1'/></interface>",
	 0, 0, "<devices><interface><boot>: a network (PXE) boot runs code from the network, not the signed boot disk; refused unless the policy sets launch.allow.network_boot"},
	{"interface boot order opted in", NULL,
	 "<interface type='network'><source network='default'/><boot order='1'/></interface>", LAUNCH_ALLOW_NETWORK_BOOT},
	{"seclabel type none", "<seclabel type='none'/>", NULL, 0, 0, "launch.allow.seclabel"},
	{"selinux baselabel", "<seclabel type='dynamic' model='selinux'><baselabel>x</baselabel></seclabel>", NULL, 0, 0,
	 "launch.allow.seclabel"},
	{"disk label of root", NULL, "<disk type='file'><source file='@T@/img/a.raw'><seclabel model='dac'><label>+0:+0</label>"
	 "</seclabel></source><target dev='vda'/></disk>", A_ALL, 0,
	 "<devices><disk><source><seclabel> +0:+0: a DAC label of uid or gid 0"},
	{"disk label of another user", NULL, "<disk type='file'><source file='@T@/img/a.raw'><seclabel model='dac'>"
	 "<label>+107:+107</label></seclabel></source><target dev='vda'/></disk>", 0, 0, "launch.allow.seclabel"},
	{"disk label opted in", NULL, "<disk type='file'><source file='@T@/img/a.raw'><seclabel model='dac'>"
	 "<label>+107:+107</label></seclabel></source><target dev='vda'/></disk>", LAUNCH_ALLOW_SECLABEL},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* Recorded from libvirt 9.0 hooks: must stay allowed. */
static void test_fixtures(void)
{
	static const char *const names[] = {"normal-prepare-begin.xml", "normal-start-begin.xml",
					    "web1-prepare-begin.xml", "web1-start-begin.xml",
					    "web1-restore-begin.xml", "chain3-start-begin.xml", NULL};
	const char *top = getenv("VMSEAL_TOP");

	for (const char *const *n = names; *n; n++) {
		char path[1024];
		char *xml = NULL, *x;
		size_t len;
		struct vs_error err = {0};
		struct domallow_result r;
		struct policy_launch l = {0};
		struct domallow_opts o = {.launch = &l, .protect = &prot};

		snprintf(path, sizeof(path), "%s/tests/data/xml/%s", top ? top : ".", *n);
		CU_ASSERT_EQUAL_FATAL(file_read_all(path, VS_MAX_XML_BYTES, &xml, &len, &err), 0);
		x = subst(xml);
		if (domallow_check(x, strlen(x), &o, &r, &err) < 0)
			fprintf(stderr, "\n%s: %s: %s\n", *n, err.object, err.reason);
		CU_ASSERT_EQUAL(domallow_check(x, strlen(x), &o, &r, &err), 0);
		free(xml);
		free(x);
	}
}

/* A pinned kernel and initrd (the policy's boot section) with the pinned command line pass;
 * another command line, an unpinned file, a cmdline without a kernel are denied. */
static void test_boot_and_operations(void)
{
	struct dcase c = {"kernel", "<os><type>hvm</type><kernel>@T@/vmlinuz</kernel><initrd>@T@/initrd</initrd>"
			  "<cmdline>console=ttyS0</cmdline></os>"};
	char *xml = case_xml(&c), *pj;
	struct policy_launch l = {0};
	struct domallow_opts o = {.launch = &l, .protect = &prot};
	struct domallow_result r;
	struct vs_error err = {0};
	struct policy *pol = NULL;
	char kern[600], kd[65], id[65];
	uint8_t md[32], buf[33];
	static const char kbytes[] = "kernel bytes", ibytes[] = "initrd bytes";
	FILE *f;

	snprintf(kern, sizeof(kern), "%s/vmlinuz", T);
	f = fopen(kern, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(kbytes, f);
	fclose(f);
	snprintf(kern, sizeof(kern), "%s/initrd", T);
	f = fopen(kern, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(ibytes, f);
	fclose(f);
	/* one Merkle leaf: SHA-256(0x00 || bytes) */
	buf[0] = 0;
	memcpy(buf + 1, kbytes, strlen(kbytes));
	EVP_Digest(buf, 1 + strlen(kbytes), md, NULL, EVP_sha256(), NULL);
	hex_encode(md, 32, kd);
	memcpy(buf + 1, ibytes, strlen(ibytes));
	EVP_Digest(buf, 1 + strlen(ibytes), md, NULL, EVP_sha256(), NULL);
	hex_encode(md, 32, id);
	{
		char json[2048];

		snprintf(json, sizeof(json), "{\"version\":1,\"boot\":{\"pinned\":["
			 "{\"path\":\"@T@/vmlinuz\",\"kind\":\"kernel\",\"digest\":\"%s\",\"size\":%zu,"
			 "\"cmdlines\":[\"console=ttyS0\"]},"
			 "{\"kind\":\"initrd\",\"digest\":\"%s\",\"size\":%zu}]}}",
			 kd, strlen(kbytes), id, strlen(ibytes));
		pj = subst(json);
		if (policy_parse(pj, strlen(pj), "policy", &pol, &err) < 0)
			fprintf(stderr, "\npolicy: %s: %s\n", err.object, err.reason);
		CU_ASSERT_PTR_NOT_NULL_FATAL(pol);
		free(pj);
	}

	CU_ASSERT_EQUAL_FATAL(domallow_check(xml, strlen(xml), &o, &r, &err), 0);
	CU_ASSERT_EQUAL(r.nboot, 2);
	CU_ASSERT_EQUAL(r.boot[0].kind, BOOT_KIND_KERNEL);
	snprintf(kern, sizeof(kern), "%s/vmlinuz", T);
	CU_ASSERT_STRING_EQUAL(r.boot[0].path, kern);
	CU_ASSERT_STRING_EQUAL(r.boot[0].element, "<os><kernel>");
	CU_ASSERT_EQUAL(r.boot[1].kind, BOOT_KIND_INITRD);
	CU_ASSERT_TRUE(r.has_cmdline);
	CU_ASSERT_STRING_EQUAL(r.cmdline, "console=ttyS0");
	if (domallow_boot_check(pol, &r, vs_now(), NULL, &err) < 0)
		fprintf(stderr, "\nboot: %s: %s\n", err.object, err.reason);
	CU_ASSERT_EQUAL(domallow_boot_check(pol, &r, vs_now(), NULL, &err), 0);
	free(xml);

	c.top = "<os><type>hvm</type><kernel>@T@/vmlinuz</kernel><cmdline>init=/bin/sh</cmdline></os>";
	xml = case_xml(&c);
	CU_ASSERT_EQUAL_FATAL(domallow_check(xml, strlen(xml), &o, &r, &err), 0);
	CU_ASSERT_EQUAL(domallow_boot_check(pol, &r, vs_now(), NULL, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.object, "<os><kernel> "));
	free(xml);

	c.top = "<os><type>hvm</type><dtb>@T@/initrd</dtb></os>";
	xml = case_xml(&c);
	CU_ASSERT_EQUAL_FATAL(domallow_check(xml, strlen(xml), &o, &r, &err), 0);
	CU_ASSERT_EQUAL(domallow_boot_check(pol, &r, vs_now(), NULL, &err), -1); /* pinned as an initrd only */
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.object, "<os><dtb> "));
	free(xml);

	c.top = "<os><type>hvm</type><cmdline>init=/bin/sh</cmdline></os>";
	xml = case_xml(&c);
	CU_ASSERT_EQUAL_FATAL(domallow_check(xml, strlen(xml), &o, &r, &err), 0);
	CU_ASSERT_EQUAL(domallow_boot_check(pol, &r, vs_now(), NULL, &err), -1);
	CU_ASSERT_STRING_EQUAL(err.object, "<os><cmdline>");
	free(xml);

	c.top = NULL;
	xml = case_xml(&c);
	CU_ASSERT_EQUAL_FATAL(domallow_check(xml, strlen(xml), &o, &r, &err), 0);
	CU_ASSERT_EQUAL(r.nboot, 0);
	CU_ASSERT_EQUAL(domallow_boot_check(pol, &r, vs_now(), NULL, &err), 0);
	CU_ASSERT_STRING_EQUAL(r.emulator, QEMU);
	free(xml);
	policy_free(pol);

	CU_ASSERT_EQUAL(domallow_operation_check(&l, "restore", &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "launch.allow.restore"));
	CU_ASSERT_EQUAL(domallow_operation_check(&l, "start", &err), 0);
	CU_ASSERT_EQUAL(domallow_operation_check(&l, "prepare", &err), 0);
	l.allow = LAUNCH_ALLOW_RESTORE;
	CU_ASSERT_EQUAL(domallow_operation_check(&l, "restore", &err), 0);

	xml = subst("<domain><name>t</name><devices><disk type='file'><source file='@T@/img/a.raw'/></disk></devices></domain>");
	CU_ASSERT_EQUAL(domallow_check(xml, strlen(xml), &o, &r, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_STRING_EQUAL(err.object, "<devices><emulator>");
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "missing"));
	free(xml);

	/* malformed documents are errors, not denials */
	CU_ASSERT_EQUAL(domallow_check("<domain>", 8, &o, &r, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
}

/* Every entry: an allowed case (refused entries have none) and a denied case. */
static void test_table_coverage(void)
{
	int missing = 0;

	for (size_t i = 0; i < ntable; i++) {
		int need_allow = table[i].cls != DOMALLOW_REFUSED;

		if ((need_allow && !cov_allow[i]) || !cov_deny[i]) {
			fprintf(stderr, "\ntable entry \"%s\" (%s) has no %s case", table[i].path,
				domallow_class_name(table[i].cls),
				need_allow && !cov_allow[i] ? (cov_deny[i] ? "allowed" : "allowed or denied") : "denied");
			missing++;
		}
	}
	if (missing)
		fprintf(stderr, "\n");
	CU_ASSERT_EQUAL(missing, 0);
}

static void test_protect_and_policy(void)
{
	struct domallow_protect p = {0};
	struct vs_error err = {0};
	struct policy_launch l;
	json_t *o;
	json_error_t je;

	CU_ASSERT_EQUAL(domallow_protect_add(&p, "relative", "x", &err), -1);
	for (int i = 0; i < VS_MAX_PROTECTED_PATHS; i++)
		CU_ASSERT_EQUAL(domallow_protect_add(&p, "/x", "x", &err), 0);
	CU_ASSERT_EQUAL(domallow_protect_add(&p, "/x", "x", &err), -1);

	o = json_loads("{\"emulators\":[\"/usr/bin/qemu-system-x86_64\"],\"allow\":{\"restore\":true,\"hostdev\":false},"
		       "\"log_dir\":\"/var/log/vm\",\"require_rng\":true}", 0, &je);
	CU_ASSERT_EQUAL(policy_launch_parse(o, &l, "p", &err), 0);
	CU_ASSERT_EQUAL(l.nemulators, 1);
	CU_ASSERT_EQUAL(l.allow, LAUNCH_ALLOW_RESTORE);
	CU_ASSERT_STRING_EQUAL(l.log_dir, "/var/log/vm");
	CU_ASSERT_TRUE(l.require_rng);
	json_decref(o);
	{
		static const char *const bad[] = {
			"{\"emulator\":[]}", "{\"emulators\":[]}", "{\"emulators\":[\"qemu\"]}",
			"{\"allow\":{\"hostdevs\":true}}", "{\"allow\":{\"hostdev\":1}}", "{\"allow\":[]}",
			"{\"log_dir\":\"logs\"}", "{\"require_rng\":\"yes\"}", "[]", NULL};

		for (const char *const *b = bad; *b; b++) {
			o = json_loads(*b, 0, &je);
			CU_ASSERT_PTR_NOT_NULL_FATAL(o);
			if (policy_launch_parse(o, &l, "p", &err) != -1)
				fprintf(stderr, "\nlaunch section %s accepted\n", *b);
			CU_ASSERT_EQUAL(policy_launch_parse(o, &l, "p", &err), -1);
			json_decref(o);
		}
	}
	CU_ASSERT_STRING_EQUAL(launch_optin_name(LAUNCH_ALLOW_OPTION_ROM), "option_rom");
}


/* ---- libvirt's schema ------------------------------------------------------------------------
 * What "names a host file or device" means here (the rule this test enforces):
 *  - an attribute, or an element's text, whose RelaxNG content refers to one of basictypes.rng's
 *    path types (absFilePath, filePath, absDirPath, dirPath, vmwarePath): its entry must list
 *    it among its paths (so it gets the vmseal-path check and its rule), or it must lie below
 *    an opt-in or refused entry;
 *  - an attribute whose name is one libvirt uses for host paths and devices
 *    (domallow_pathy_attrs): its entry must list it (attrs or paths), or it must lie
 *    below an opt-in or refused entry, or below a subtree entry (whose walk refuses such names).
 * Each element on the way must have an entry or lie below a subtree/opt-in/refused one. Elements
 * the schema names with anyName (<metadata>, qemu: passthrough) are not followed. */
#define SCHEMA_DIR "/usr/share/libvirt/schemas"
#define SCHEMA_MAX_DEPTH 14

struct rng {
	xmlDoc *docs[32];
	size_t ndocs;
	struct { const char *name; xmlNode *node; } defs[4096];
	size_t ndefs;
	int missing;
	char seen[2048][160]; /* reported (path attr), to report each once */
	size_t nseen;
	unsigned checked;
};

static int rng_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static void rng_collect(struct rng *g, xmlNode *n)
{
	for (; n; n = n->next) {
		if (rng_is(n, "define") && g->ndefs < sizeof(g->defs) / sizeof(g->defs[0])) {
			xmlChar *name = xmlGetProp(n, (const xmlChar *)"name");

			g->defs[g->ndefs].name = (const char *)name; /* freed at the end of test_schema */
			g->defs[g->ndefs++].node = n;
		}
		if (n->type == XML_ELEMENT_NODE)
			rng_collect(g, n->children);
	}
}

static int rng_load(struct rng *g, const char *file)
{
	char path[1024];
	xmlDoc *doc;

	for (size_t i = 0; i < g->ndocs; i++)
		if (!strcmp((const char *)g->docs[i]->URL, file))
			return 0;
	snprintf(path, sizeof(path), "%s/%s", SCHEMA_DIR, file);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	if (!doc || g->ndocs >= sizeof(g->docs) / sizeof(g->docs[0]))
		return -1;
	xmlFree((xmlChar *)doc->URL);
	doc->URL = xmlStrdup((const xmlChar *)file);
	g->docs[g->ndocs++] = doc;
	rng_collect(g, xmlDocGetRootElement(doc)->children);
	for (xmlNode *c = xmlDocGetRootElement(doc)->children; c; c = c->next)
		if (rng_is(c, "include")) {
			xmlChar *href = xmlGetProp(c, (const xmlChar *)"href");
			int r = href ? rng_load(g, (const char *)href) : -1;

			xmlFree(href);
			if (r < 0)
				return -1;
		}
	return 0;
}

/* The name of an <element> or <attribute>: its name attribute or its <name> child(ren) (first
 * one); "" for anyName/nsName. */
static void rng_name(xmlNode *n, char *out, size_t outlen)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)"name");

	out[0] = '\0';
	if (v) {
		snprintf(out, outlen, "%s", (const char *)v);
		xmlFree(v);
		return;
	}
	for (xmlNode *c = n->children; c; c = c->next)
		if (rng_is(c, "name")) {
			xmlChar *t = xmlNodeGetContent(c);

			snprintf(out, outlen, "%s", t ? (const char *)t : "");
			xmlFree(t);
			return;
		}
}

/* Does the pattern refer to a path type (following refs, not entering elements)? */
static int rng_pathtype(struct rng *g, xmlNode *n, int depth)
{
	static const char *const types = "absFilePath filePath absDirPath dirPath vmwarePath";

	if (depth > 16)
		return 0;
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || rng_is(n, "element") || rng_is(n, "attribute"))
			continue;
		if (rng_is(n, "ref")) {
			char name[128];

			rng_name(n, name, sizeof(name));
			if (domallow_has_word(types, name))
				return 1;
			for (size_t i = 0; i < g->ndefs; i++)
				if (g->defs[i].name && !strcmp(g->defs[i].name, name) &&
				    rng_pathtype(g, g->defs[i].node->children, depth + 1))
					return 1;
			continue;
		}
		if (rng_pathtype(g, n->children, depth + 1))
			return 1;
	}
	return 0;
}

/* The nearest entry for path or an ancestor: *exact says whether it is path's own. */
static const struct domallow_entry *rng_entry(const char *path, int *exact)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", path);
	*exact = 1;
	for (;;) {
		const struct domallow_entry *e = domallow_lookup(p);
		char *slash;

		if (e)
			return e;
		*exact = 0;
		slash = strrchr(p, '/');
		if (!slash)
			return domallow_lookup(p[0] ? "" : "-");
		*slash = '\0';
	}
}

static void rng_report(struct rng *g, const char *path, const char *attr, const char *why)
{
	char key[160];

	snprintf(key, sizeof(key), "%s %s", path, attr);
	for (size_t i = 0; i < g->nseen; i++)
		if (!strcmp(g->seen[i], key))
			return;
	if (g->nseen < sizeof(g->seen) / sizeof(g->seen[0]))
		snprintf(g->seen[g->nseen++], sizeof(g->seen[0]), "%s", key);
	fprintf(stderr, "\nschema: <%s> %s: %s", path, attr, why);
	g->missing++;
}

/* One path-naming attribute (or "#text") at element path. */
static void rng_judge(struct rng *g, const char *path, const char *attr, int bytype)
{
	int exact;
	const struct domallow_entry *e = rng_entry(path, &exact);

	g->checked++;
	/* below an opt-in or refused entry: refused, or accepted by the administrator with the
	 * vmseal-path check on every absolute path */
	for (const struct domallow_entry *a = e; a;) {
		char p[512], *slash;
		int ex;

		if (a->cls == DOMALLOW_OPTIN || a->cls == DOMALLOW_REFUSED)
			return;
		snprintf(p, sizeof(p), "%s", a->path[0] == '*' ? path : a->path);
		slash = strrchr(p, '/');
		if (!slash || !a->path[0])
			break;
		*slash = '\0';
		a = rng_entry(p, &ex);
	}
	if (!e || (!exact && !(e->flags & (DA_SUBTREE | DA_SKIP)))) {
		rng_report(g, path, attr, "element not in the table");
		return;
	}
	if (e->flags & DA_SKIP)
		return;
	if (!exact) { /* in a subtree: the walk refuses path-like names and '/' text */
		if (!strcmp(attr, "#text") || domallow_has_word(domallow_pathy_attrs, attr))
			return;
		rng_report(g, path, attr, "names a host path inside a subtree, and the walk would let it through");
		return;
	}
	if (e->paths && domallow_has_word(e->paths, attr))
		return;
	if (!bytype && domallow_has_word(e->attrs, attr))
		return;
	rng_report(g, path, attr, bytype ? "a path-typed value not listed among the entry's paths" :
		   "a path-like attribute the entry does not list");
}

static void rng_walk(struct rng *g, xmlNode *n, const char *path, int depth, const char **stack, int nstack);

static void rng_element(struct rng *g, xmlNode *n, const char *path, int depth)
{
	char name[128], np[512];
	const char *stack[64];
	size_t pl = strlen(path);

	rng_name(n, name, sizeof(name));
	if (!name[0] || strchr(name, ':') || depth > SCHEMA_MAX_DEPTH)
		return;
	if (!strcmp(name, "backingStore") && pl >= 12 && !strcmp(path + pl - 12, "backingStore"))
		snprintf(np, sizeof(np), "%s", path);
	else
		snprintf(np, sizeof(np), "%s%s%s", path, pl ? "/" : "", name);
	if (!strcmp(np, "domain"))
		np[0] = '\0';
	{
		int exact;
		const struct domallow_entry *e = rng_entry(np, &exact);

		if (e && (e->flags & DA_SKIP) && exact)
			return;
	}
	if (rng_pathtype(g, n->children, 0))
		rng_judge(g, np, "#text", 1);
	rng_walk(g, n->children, np, depth + 1, stack, 0);
}

static void rng_walk(struct rng *g, xmlNode *n, const char *path, int depth, const char **stack, int nstack)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (rng_is(n, "element")) {
			rng_element(g, n, path, depth);
		} else if (rng_is(n, "attribute")) {
			char name[128];
			int bytype = rng_pathtype(g, n->children, 0);

			rng_name(n, name, sizeof(name));
			if (name[0] && (bytype || domallow_has_word(domallow_pathy_attrs, name)))
				rng_judge(g, path, name, bytype);
		} else if (rng_is(n, "ref")) {
			char name[128];
			int seen = 0;

			rng_name(n, name, sizeof(name));
			for (int i = 0; i < nstack; i++)
				seen |= !strcmp(stack[i], name);
			if (seen || nstack >= 60)
				continue;
			for (size_t i = 0; i < g->ndefs; i++)
				if (g->defs[i].name && !strcmp(g->defs[i].name, name)) {
					stack[nstack] = g->defs[i].name;
					rng_walk(g, g->defs[i].node->children, path, depth, stack, nstack + 1);
				}
		} else {
			rng_walk(g, n->children, path, depth, stack, nstack);
		}
	}
}

static void test_schema(void)
{
	struct rng *g = calloc(1, sizeof(*g));
	const char *stack[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	if (access(SCHEMA_DIR "/domain.rng", R_OK) < 0) {
		/* libvirt0 ships the schemas; the build needs libvirt-dev, which depends on it */
		CU_FAIL("no " SCHEMA_DIR "/domain.rng (install libvirt0)");
		free(g);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(rng_load(g, "domain.rng"), 0);
	for (size_t i = 0; i < g->ndefs; i++)
		if (g->defs[i].name && !strcmp(g->defs[i].name, "domain")) {
			stack[0] = "domain";
			rng_walk(g, g->defs[i].node->children, "", 0, stack, 1);
		}
	if (g->missing)
		fprintf(stderr, "\n%d path-naming schema items not classified (of %u checked)\n", g->missing, g->checked);
	CU_ASSERT(g->checked > 100);
	CU_ASSERT_EQUAL(g->missing, 0);
	for (size_t i = 0; i < g->ndefs; i++)
		xmlFree((xmlChar *)g->defs[i].name);
	for (size_t i = 0; i < g->ndocs; i++)
		xmlFreeDoc(g->docs[i]);
	free(g);
}


/* T/TOP/bin/qemu-system-x86_64 (a wrapper of the real one) and T/TOP/DIR/FILE with mode. */
static void fake_emulator(const char *top, const char *dir, const char *file, mode_t mode)
{
	char p[1024], cmd[1200];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s/bin' '%s/%s/%s'", T, top, T, top, dir);
	if (system(cmd) != 0)
		perror("mkdir");
	snprintf(p, sizeof(p), "%s/%s/bin/qemu-system-x86_64", T, top);
	f = fopen(p, "w");
	if (f) {
		fputs("#!/bin/sh\nexec " QEMU " \"$@\"\n", f);
		fclose(f);
	}
	chmod(p, 0755);
	snprintf(p, sizeof(p), "%s/%s/%s/%s", T, top, dir, file);
	f = fopen(p, "w");
	if (f)
		fclose(f);
	chmod(p, mode);
}

static void setup(void)
{
	char p[1024], q[1024];
	struct vs_error e = {0};
	FILE *f;

	snprintf(T, sizeof(T), "%s", test_tmpdir());
	chmod(T, 0755);
	table = domallow_table(&ntable);
	cov_allow = calloc(ntable, 1);
	cov_deny = calloc(ntable, 1);
#define MK(path) (snprintf(p, sizeof(p), "%s/%s", T, path), p)
	mkdir(MK("cache"), 0700);
	mkdir(MK("logs"), 0755);
	mkdir(MK("img"), 0755);
	mkdir(MK("bin"), 0755);
	mkdir(MK("logs/open"), 0777);
	chmod(p, 0777);
	mkdir(MK("logs/sticky"), 01777);
	chmod(p, 01777);
	mkdir(MK("logs/open2"), 0777);
	chmod(p, 0777);
	mkdir(MK("logs/open2/sub"), 0755);
	f = fopen(MK("policy.json"), "w");
	if (f) {
		fputs("{}", f);
		fclose(f);
	}
	snprintf(q, sizeof(q), "%s/policy.json", T);
	if (link(q, MK("img/hardlink")) < 0)
		perror("link");
	if (link(q, MK("logs/hardlink")) < 0)
		perror("link");
	snprintf(q, sizeof(q), "%s/cache", T);
	if (symlink(q, MK("cachelink")) < 0)
		perror("link");
	/* img/up and logs/out lead elsewhere: "LINK/.." is the parent of the link's target */
	mkdir(MK("deep"), 0755);
	snprintf(q, sizeof(q), "%s/deep", T);
	if (symlink(q, MK("img/up")) < 0)
		perror("link");
	if (symlink(q, MK("logs/out")) < 0)
		perror("link");
	if (symlink(QEMU, MK("bin/qemu-system-x86_64")) < 0)
		perror("link");
	f = fopen(MK("qemu-wrap"), "w");
	if (f) {
		fputs("#!/bin/sh\nexec " QEMU " \"$@\"\n", f);
		fclose(f);
	}
	chmod(p, 0755);
	f = fopen(MK("qemu-open"), "w");
	if (f) {
		fputs("#!/bin/sh\nexec " QEMU " \"$@\"\n", f);
		fclose(f);
	}
	chmod(p, 0777);
	/* emulators whose firmware (../share/seabios) or module directory holds a file others may write */
	fake_emulator("usr", "share/seabios", "bios-256k.bin", 0666);
	fake_emulator("usr2", "lib/x86_64-linux-gnu/qemu", "accel-tcg-x86_64.so", 0664);
	/* running networks' status, as libvirt keeps them in /run/libvirt/network */
	mkdir(MK("net"), 0755);
	{
		static const char *const nets[][2] = {
			{"default", "<networkstatus><class_id bitmap='0-2'/><network><name>default</name>"
				    "<forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>"
				    "<bridge name='virbr0'/></network></networkstatus>"},
			{"isolated", "<network><name>isolated</name><bridge name='virbr9'/></network>"},
			{"hostbridge", "<networkstatus><network><forward mode='bridge'/><bridge name='br0'/></network></networkstatus>"},
			{"macvtap", "<networkstatus><network><forward mode='bridge'><interface dev='eth0'/></forward>"
				    "</network></networkstatus>"},
			{"vfpool", "<networkstatus><network><forward mode='hostdev' managed='yes'><pf dev='eth1'/></forward>"
				   "</network></networkstatus>"},
			{"weird", "<networkstatus><network><forward mode='vdpa'/></network></networkstatus>"},
			{"broken", "<networkstatus><network>"},
			{"dtd", "<!DOCTYPE network [<!ENTITY x 'y'>]><network><forward mode='&x;'/></network>"},
		};
		for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
			char name[64];

			snprintf(name, sizeof(name), "net/%s.xml", nets[i][0]);
			f = fopen(MK(name), "w");
			if (f) {
				fputs(nets[i][1], f);
				fclose(f);
			}
		}
	}
	memset(&prot, 0, sizeof(prot));
	domallow_protect_add(&prot, MK("policy.json"), "policy", &e);
	domallow_protect_add(&prot, MK("cache"), "cache directory", &e);
	domallow_protect_add(&prot, MK("audit.jsonl"), "audit log", &e);
	domallow_protect_add(&prot, "/var/lib/vmseal", "state directory", &e);
#undef MK
}

int main(void)
{
	static const struct test_case tcs[] = {
		{"table-driven cases: allowed, denied, unknown attributes", test_cases},
		{"recorded libvirt XML is allowed", test_fixtures},
		{"boot files judged by bootfile_check, restore refused", test_boot_and_operations},
		{"protected paths and the launch policy section", test_protect_and_policy},
		{"every table entry has an allowed and a denied case", test_table_coverage},
		{"libvirt's schema: every path-naming element and attribute is classified", test_schema},
		{NULL, NULL},
	};

	setup();
	return run_suite("domallow", tcs);
}
