/* SPDX-License-Identifier: Apache-2.0 */
/* The allow-list of libvirt's domain XML (see domallow.h): one table, one walk over the whole
 * document. Elements are matched as libvirt's XPath queries match them (no namespace). */
#include "domallow_priv.h"

#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "bootfile.h"
#include "domxml.h"
#include "filetrust.h"
#include "util.h"

#define QEMU_NS_HREF "http://libvirt.org/schemas/domain/qemu/1.0"

struct domallow_walk {
	const struct domallow_opts *o;
	const struct policy_launch *launch;
	struct domallow_result *r;
	struct vs_error *err;
	char path[VS_MAX_XML_WALK_PATH_BYTES]; /* the element being judged, "devices/disk/source" */
	const struct domallow_entry *cur;   /* its entry */
	char dom_id[16];                    /* <domain id>: set by libvirt once the domain runs */
	char dom_name[VS_MAX_NAME_BYTES];   /* <name> */
	/* What gives the firmware a boot device (QEMU's bootindex, with libvirt's -boot strict=on):
	 * without one it falls back to every device, a NIC's PXE ROM among them. */
	unsigned disk_devs;                 /* BOOTDEV_*: the disks' device kinds */
	unsigned os_boot_devs;              /* BOOTDEV_*: <os><boot dev> */
	int device_boot;                    /* a <boot order> on a device that is not an interface */
	int nics;                           /* network interfaces */
	/* What lets a console user choose what boots: a boot menu, a firmware other than the
	 * default SeaBIOS (OVMF's boot manager and UEFI shell load and run any file); and the
	 * first console anyone who connects may type on (a TCP listener, vnc or spice on a TCP
	 * port without a password), "" for none. */
	int bootmenu;
	int own_firmware;                   /* <os firmware>, <loader> */
	char open_console[64];
};

#define BOOTDEV_HD 1u
#define BOOTDEV_CDROM 2u
#define BOOTDEV_FD 4u

static const struct policy_launch no_launch;

/* ---- small helpers ------------------------------------------------------------------------ */

const char *domallow_class_name(enum domallow_class c)
{
	switch (c) {
	case DOMALLOW_HARMLESS: return "harmless";
	case DOMALLOW_SIGNED: return "signed";
	case DOMALLOW_OPTIN: return "opt-in";
	default: return "refused";
	}
}

int domallow_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list ? list : ""; *p;) {
		const char *e = strchr(p, ' ');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == n && !strncmp(p, word, n))
			return 1;
		p += l;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* "devices/disk/source" -> "<devices><disk><source>" */
static void display(const char *path, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (const char *p = path; *p && o + 3 < outlen;) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		int w = snprintf(out + o, outlen - o, "<%.*s>", (int)l, p);

		if (w < 0 || (size_t)w >= outlen - o)
			break;
		o += (size_t)w;
		p += l + (e ? 1 : 0);
	}
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int entry_index(const struct domallow_entry *e);

/* Denies the element being judged: object "<a><b> VALUE", reason from fmt. */
static int deny(struct domallow_walk *w, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int deny(struct domallow_walk *w, const char *value, const char *fmt, ...)
{
	char where[VS_ERR_OBJECT_MAX];
	va_list ap;

	display(w->path, where, sizeof(where));
	vs_error_clear(w->err);
	w->err->kind = VS_ERR_DENIED;
	if (value && value[0])
		snprintf(w->err->object, sizeof(w->err->object), "%s %s", where, value);
	else
		snprintf(w->err->object, sizeof(w->err->object), "%s", where);
	sanitize(w->err->object);
	va_start(ap, fmt);
	vsnprintf(w->err->reason, sizeof(w->err->reason), fmt, ap);
	va_end(ap);
	sanitize(w->err->reason);
	w->r->denied_entry = w->cur ? entry_index(w->cur) : -1;
	return -1;
}

/* Attribute value copied into out; "" when absent. Too long: denied. */
static int prop(struct domallow_walk *w, xmlNode *n, const char *name, char *out, size_t outlen)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	size_t l;

	out[0] = '\0';
	if (!v)
		return 0;
	l = strlen((const char *)v);
	if (l >= outlen) {
		xmlFree(v);
		return deny(w, "", "attribute %s is longer than %zu bytes", name, outlen - 1);
	}
	memcpy(out, v, l + 1);
	xmlFree(v);
	return 0;
}

/* The element's text, trimmed of surrounding white space. */
static int text_of(struct domallow_walk *w, xmlNode *n, char *out, size_t outlen)
{
	xmlChar *v = xmlNodeGetContent(n);
	const char *s = v ? (const char *)v : "";
	size_t l;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	l = strlen(s);
	while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n' || s[l - 1] == '\r'))
		l--;
	out[0] = '\0';
	if (l >= outlen) {
		xmlFree(v);
		return deny(w, "", "text is longer than %zu bytes", outlen - 1);
	}
	memcpy(out, s, l);
	out[l] = '\0';
	xmlFree(v);
	return 0;
}

/* The text of an element that names a path: libvirt hands it to QEMU as written, so white space
 * around it is part of the name ("/boot/vmlinuz " is another file than "/boot/vmlinuz", one
 * that whoever can write the directory may create). Refused rather than trimmed. */
static int path_text_of(struct domallow_walk *w, xmlNode *n, char *out, size_t outlen)
{
	xmlChar *v = xmlNodeGetContent(n);
	const char *s = v ? (const char *)v : "";
	size_t l = strlen(s);
	int padded = l && (strchr(" \t\n\r", s[0]) || strchr(" \t\n\r", s[l - 1]));

	xmlFree(v);
	if (text_of(w, n, out, outlen) < 0)
		return -1;
	if (padded && out[0])
		return deny(w, out, "the path has white space around it; libvirt passes it to QEMU untrimmed, as another file's name");
	return 0;
}

static int parent_prop(struct domallow_walk *w, xmlNode *n, const char *name, char *out, size_t outlen)
{
	if (!n->parent || n->parent->type != XML_ELEMENT_NODE) {
		out[0] = '\0';
		return 0;
	}
	return prop(w, n->parent, name, out, outlen);
}

/* ---- paths -------------------------------------------------------------------------------- */

/* Canonical form of an absolute path, resolved the way the kernel resolves it when QEMU opens
 * it: component by component, each symlink replaced by its target before the next component (so
 * "link/.." is the parent of link's target, not link's own directory). The part that does not
 * exist (QEMU may create it) is kept as written, and must then hold no "." or "..". Returns -1
 * when the path cannot be resolved, -2 when it goes through procfs: /proc/self, /dev/fd,
 * /dev/stdin and /proc/PID/root name the files of the process that opens them, which are not
 * the same in the hook and in QEMU. */
static int canon(const char *in, char out[VS_MAX_PATH_BYTES])
{
	char rest[2 * VS_MAX_PATH_BYTES], next[VS_MAX_PATH_BYTES], target[VS_MAX_PATH_BYTES];
	size_t o = 0;
	int links = 0;

	if (in[0] != '/' || strlen(in) >= VS_MAX_PATH_BYTES)
		return -1;
	snprintf(rest, sizeof(rest), "%s", in);
	out[0] = '\0';
	for (char *p = rest; *p;) {
		struct stat st;
		struct statfs fs;
		ssize_t tl;
		size_t l;
		char *e;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		l = e ? (size_t)(e - p) : strlen(p);
		if (l == 1 && p[0] == '.') {
			p += l;
			continue;
		}
		if (l == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			out[o] = '\0';
			p += l;
			continue;
		}
		if (o + 1 + l >= VS_MAX_PATH_BYTES)
			return -1;
		memcpy(next, out, o);
		next[o] = '/';
		memcpy(next + o + 1, p, l);
		next[o + 1 + l] = '\0';
		if (lstat(next, &st) < 0) {
			if (errno != ENOENT && errno != ENOTDIR)
				return -1;
			/* the rest does not exist: kept as written, without "." or ".." */
			for (const char *q = p; *q;) {
				size_t ql;

				while (*q == '/')
					q++;
				ql = strcspn(q, "/");
				if ((ql == 1 && q[0] == '.') || (ql == 2 && q[0] == '.' && q[1] == '.'))
					return -1;
				q += ql;
			}
			if (snprintf(out + o, VS_MAX_PATH_BYTES - o, "/%s", p) >= (int)(VS_MAX_PATH_BYTES - o))
				return -1;
			return 0;
		}
		if (statfs(next, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC)
			return -2;
		p += l;
		if (!S_ISLNK(st.st_mode)) {
			memcpy(out, next, o + 1 + l + 1);
			o += 1 + l;
			continue;
		}
		if (++links > 40)
			return -1;
		tl = readlink(next, target, sizeof(target) - 1);
		if (tl <= 0)
			return -1;
		target[tl] = '\0';
		/* the target replaces the link: what is left of the path follows it */
		if (snprintf(next, sizeof(next), "%s", p) >= (int)sizeof(next) ||
		    snprintf(rest, sizeof(rest), "%s/%s", target, next) >= (int)sizeof(rest))
			return -1;
		p = rest;
		if (target[0] == '/')
			o = 0;
		out[o] = '\0';
	}
	if (!o)
		strcpy(out, "/");
	return 0;
}

/* a is b, lies below b, or contains b (both canonical). */
static int path_overlaps(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (!strcmp(a, b) || !strcmp(a, "/") || !strcmp(b, "/"))
		return 1;
	if (la > lb && !strncmp(a, b, lb) && a[lb] == '/')
		return 1;
	if (lb > la && !strncmp(a, b, la) && b[la] == '/')
		return 1;
	return 0;
}

int domallow_protect_add(struct domallow_protect *p, const char *path, const char *what,
			 struct vs_error *err)
{
	struct stat st;

	if (p->n >= VS_MAX_PROTECTED_PATHS)
		return vs_fail(err, VS_ERR_INTERNAL, path, "more than %d protected paths",
			       VS_MAX_PROTECTED_PATHS);
	if (canon(path, p->p[p->n].path) < 0)
		return vs_fail(err, VS_ERR_INPUT, path, "a protected path must be absolute");
	snprintf(p->p[p->n].what, sizeof(p->p[p->n].what), "%s", what);
	p->p[p->n].exists = stat(path, &st) == 0;
	if (p->p[p->n].exists) {
		p->p[p->n].dev = st.st_dev;
		p->p[p->n].ino = st.st_ino;
	}
	p->n++;
	return 0;
}

/* A path named by the XML: absolute, and no vmseal path. */
static int path_check(struct domallow_walk *w, const char *attr, const char *value)
{
	const struct domallow_protect *pr = w->o->protect;
	char c[VS_MAX_PATH_BYTES];
	struct stat st;
	int exists;

	if (!value[0])
		return 0;
	if (value[0] != '/')
		return deny(w, value, "%s is not an absolute path", attr);
	switch (canon(value, c)) {
	case 0:
		break;
	case -2:
		return deny(w, value, "%s goes through /proc (it names the files of whichever process opens it: the hook and QEMU would see different ones)", attr);
	default:
		return deny(w, value, "%s cannot be resolved", attr);
	}
	if (!pr)
		return 0;
	exists = stat(value, &st) == 0;
	for (size_t i = 0; i < pr->n; i++)
		if (path_overlaps(c, pr->p[i].path) ||
		    (exists && pr->p[i].exists && st.st_dev == pr->p[i].dev && st.st_ino == pr->p[i].ino))
			return deny(w, value, "names a vmseal path (%s %s)", pr->p[i].what, pr->p[i].path);
	return 0;
}

/* File output (file chardevs, <log file>, audio files) only below the policy's log_dir. */
static int under_log_dir(struct domallow_walk *w, const char *value)
{
	const struct domallow_protect *pr = w->o->protect;
	char c[VS_MAX_PATH_BYTES], d[VS_MAX_PATH_BYTES];
	size_t l;

	if (!w->launch->log_dir[0])
		return deny(w, value, "writes a host file; the policy has no launch.log_dir for guest output");
	if (canon(w->launch->log_dir, d) < 0 || canon(value, c) < 0)
		return deny(w, value, "cannot be resolved");
	for (size_t i = 0; pr && i < pr->n; i++)
		if (path_overlaps(d, pr->p[i].path))
			return deny(w, value, "launch.log_dir %s overlaps a vmseal path (%s %s)",
				    w->launch->log_dir, pr->p[i].what, pr->p[i].path);
	l = strlen(d);
	if (!(strlen(c) > l && !strncmp(c, d, l) && (c[l] == '/' || !strcmp(d, "/"))))
		return deny(w, value, "writes a host file outside launch.log_dir %s", w->launch->log_dir);
	/* Below log_dir as resolved now, and nobody but root can make it land elsewhere later (a
	 * directory others may write lets them swap the file or a directory for a symlink after
	 * this check: libvirt then chowns and QEMU writes the symlink's target). */
	{
		const struct filetrust_opts fo = {.qemu_uid = FILETRUST_NO_UID, .allow_remote_fs = 0};
		struct vs_error e = {0};

		if (filetrust_output_dir(value, &fo, &e) < 0)
			return deny(w, value, "%s", e.reason);
	}
	return 0;
}

/* The emulator can be changed by root only: lib/filetrust's rule for verified files (root's,
 * not writable by group or other, root-owned directories, a local file system type, no
 * writer); a file of the host's system, wherever the host's root file system lives. */
static int file_trusted(struct domallow_walk *w, const char *shown, const char *path)
{
	const struct filetrust_opts fo = {.qemu_uid = FILETRUST_NO_UID, .allow_remote_fs = 0, .host_file = 1};
	struct vs_error e = {0};

	if (filetrust_path(path, &fo, &e) < 0)
		return deny(w, shown, "%s%s%s", e.object[0] && strcmp(e.object, shown) ? e.object : "",
			    e.object[0] && strcmp(e.object, shown) ? ": " : "", e.reason);
	return 0;
}

/* What QEMU loads without the XML naming it (the BIOS when there is no <loader>, the VGA BIOS,
 * each NIC's option ROM, linuxboot for a <kernel>) it finds by name in its firmware search path,
 * which Debian's QEMU takes relative to its binary: BINDIR/../share/qemu, ../share/seabios,
 * ../lib/ipxe/qemu (`qemu-system-x86_64 -L help`); the code it dlopens on demand (the TCG
 * accelerator, display, audio and block drivers) from its module directory
 * ../lib/MULTIARCH/qemu; its helpers (qemu-bridge-helper, virtiofsd) live in ../lib/qemu.
 * Trusted like the emulator: only root can change them (lib/filetrust). Pin or sign a firmware
 * file and name it in <os><loader> to judge its bytes. */
static int firmware_dirs_trusted(struct domallow_walk *w, const char *emulator_real)
{
	static const char *const rel[] = {"share/qemu", "share/seabios", "lib/ipxe/qemu", "lib/qemu",
#if defined(__x86_64__)
					  "lib/x86_64-linux-gnu/qemu",
#elif defined(__aarch64__)
					  "lib/aarch64-linux-gnu/qemu",
#endif
	};
	const struct filetrust_opts fo = {.qemu_uid = FILETRUST_NO_UID, .allow_remote_fs = 0};
	char prefix[VS_MAX_PATH_BYTES], dir[VS_MAX_PATH_BYTES + 16];
	char *slash;

	snprintf(prefix, sizeof(prefix), "%s", emulator_real);
	for (int up = 0; up < 2; up++) {
		slash = strrchr(prefix, '/');
		if (!slash)
			return deny(w, emulator_real, "cannot tell QEMU's firmware directories");
		*slash = '\0';
	}
	for (size_t i = 0; i <= sizeof(rel) / sizeof(rel[0]); i++) {
		struct vs_error e = {0};

		/* last: Debian's QEMU (CONFIG_MODULE_UPGRADES) also loads modules from
		 * /var/run/qemu/VERSION/, where its package keeps those of the version it replaced */
		if (i == sizeof(rel) / sizeof(rel[0]))
			snprintf(dir, sizeof(dir), "/run/qemu");
		else
			snprintf(dir, sizeof(dir), "%s/%s", prefix, rel[i]);
		if (filetrust_search_dir(dir, &fo, &e) < 0)
			return deny(w, e.object, "%s", e.reason);
	}
	return 0;
}

/* ---- rules ---------------------------------------------------------------------------------- */

static int need_optin(struct domallow_walk *w, const char *value, unsigned bit, const char *why)
{
	if (w->launch->allow & bit)
		return 0;
	return deny(w, value, "%s; refused unless the policy sets launch.allow.%s", why, launch_optin_name(bit));
}

static int rule_emulator(struct domallow_walk *w, xmlNode *n)
{
	char text[VS_MAX_PATH_BYTES], real[VS_MAX_PATH_BYTES];
	const struct policy_launch *l = w->launch;
	size_t np = l->nemulators ? l->nemulators : 1;
	int ok_text = 0, ok_real = 0;

	if (path_text_of(w, n, text, sizeof(text)) < 0)
		return -1;
	if (w->r->emulator[0])
		return deny(w, text, "more than one <emulator>");
	if (!text[0])
		return deny(w, "", "empty <emulator>");
	if (!realpath(text, real))
		return deny(w, text, "cannot be resolved: %s", strerror(errno));
	for (size_t i = 0; i < np; i++) {
		const char *pat = l->nemulators ? l->emulators[i] : POLICY_LAUNCH_DEFAULT_EMULATOR;

		ok_text |= fnmatch(pat, text, FNM_PATHNAME) == 0;
		ok_real |= fnmatch(pat, real, FNM_PATHNAME) == 0;
	}
	if (!ok_text || !ok_real)
		return deny(w, text, "%s is not one of the policy's emulators (launch.emulators%s)",
			    ok_text ? real : "an emulator that", l->nemulators ? "" : ", default " POLICY_LAUNCH_DEFAULT_EMULATOR);
	if (file_trusted(w, text, text) < 0 || firmware_dirs_trusted(w, real) < 0)
		return -1;
	snprintf(w->r->emulator, sizeof(w->r->emulator), "%s", text);
	return 0;
}

static int boot_add(struct domallow_walk *w, enum boot_kind kind, const char *path)
{
	struct domallow_bootfile *b;

	if (!path[0])
		return 0;
	if (w->r->nboot >= VS_MAX_BOOT_FILES)
		return deny(w, path, "more than %d boot files", VS_MAX_BOOT_FILES);
	b = &w->r->boot[w->r->nboot++];
	b->kind = kind;
	display(w->path, b->element, sizeof(b->element));
	snprintf(b->path, sizeof(b->path), "%s", path);
	return 0;
}

static int rule_bootfile(struct domallow_walk *w, xmlNode *n)
{
	static const struct { const char *name; enum boot_kind kind; } kinds[] = {
		{"loader", BOOT_KIND_FIRMWARE}, {"nvram", BOOT_KIND_NVRAM}, {"kernel", BOOT_KIND_KERNEL},
		{"initrd", BOOT_KIND_INITRD}, {"dtb", BOOT_KIND_DTB}, {"table", BOOT_KIND_ACPI},
	};
	char text[VS_MAX_PATH_BYTES], tmpl[VS_MAX_PATH_BYTES];

	if (path_text_of(w, n, text, sizeof(text)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp((const char *)n->name, kinds[i].name) && boot_add(w, kinds[i].kind, text) < 0)
			return -1;
	if (!strcmp((const char *)n->name, "nvram")) {
		size_t before = w->r->nboot;

		if (prop(w, n, "template", tmpl, sizeof(tmpl)) < 0 || boot_add(w, BOOT_KIND_NVRAM, tmpl) < 0)
			return -1;
		if (w->r->nboot > before) {
			struct domallow_bootfile *b = &w->r->boot[before];

			b->nvram_template = 1;
			snprintf(b->element, sizeof(b->element), "<os><nvram template>");
		}
	}
	return 0;
}

static int rule_cmdline(struct domallow_walk *w, xmlNode *n)
{
	if (w->r->has_cmdline)
		return deny(w, "", "more than one <cmdline>");
	if (text_of(w, n, w->r->cmdline, sizeof(w->r->cmdline)) < 0)
		return -1;
	w->r->has_cmdline = 1;
	return 0;
}

/* A character device's type: serial, parallel, console, channel, smartcard passthrough,
 * redirdev. */
static int chardev_type(struct domallow_walk *w, const char *type)
{
	static const char *const harmless = "pty unix null vc spicevmc spiceport qemu-vdagent tcp udp dbus file";

	if (!type[0] || domallow_has_word(harmless, type))
		return 0; /* libvirt's default is pty; files and sockets are judged at their <source> */
	if (!strcmp(type, "pipe") || !strcmp(type, "dev"))
		return need_optin(w, type, LAUNCH_ALLOW_HOST_CHARDEV,
				  "a chardev on a host pipe or device reads and writes host files");
	return deny(w, type, "chardev type \"%s\" is not allowed", type);
}

static int rule_chardev(struct domallow_walk *w, xmlNode *n)
{
	char type[32];

	if (prop(w, n, "type", type, sizeof(type)) < 0)
		return -1;
	return chardev_type(w, type);
}

/* The socket libvirt makes for a channel given without a path, and passes to the hook from
 * "start begin" on: LIBVIRT_CHANNEL_DIR/domain-ID-SHORTNAME/TARGET, SHORTNAME the first 20
 * characters of the domain's name. ID is this running domain's, so the directory is its own. */
#define LIBVIRT_CHANNEL_DIR "/var/lib/libvirt/qemu/channel/target"

#define LIBVIRT_DOMAIN_DIR "/var/lib/libvirt/qemu" /* domain-ID-SHORTNAME/{vnc,spice}.sock */

/* path is DIR/domain-ID-SHORTNAME/FILE of this running domain (ID its id) */
static int libvirt_domain_socket(const struct domallow_walk *w, const char *dir, const char *path)
{
	char base[VS_MAX_PATH_BYTES], c[VS_MAX_PATH_BYTES];
	const char *p = c, *slash;
	size_t l = strlen(w->dom_id), lb;

	snprintf(base, sizeof(base), "%s/domain-", dir);
	lb = strlen(base);
	if (!l || !w->dom_name[0] || canon(path, c) < 0 || strncmp(p, base, lb))
		return 0;
	p += lb;
	if (strncmp(p, w->dom_id, l) || p[l] != '-')
		return 0;
	p += l + 1;
	slash = strchr(p, '/');
	if (!slash || slash == p || !slash[1] || strchr(slash + 1, '/'))
		return 0;
	return (size_t)(slash - p) <= strlen(w->dom_name) && !strncmp(p, w->dom_name, (size_t)(slash - p));
}

/* A chardev's <source>: a file is guest output (below log_dir); a socket reaches the host. libvirt
 * (root) unlinks a bind path and binds it itself, so a bound socket replaces any file it names;
 * a connected one talks to whatever host service listens there (libvirt's own socket, Redis).
 * Allowed without opt-in: libvirt's own channel socket of this domain, a TCP listener. */
static int rule_chardev_source(struct domallow_walk *w, xmlNode *n)
{
	char type[32], path[VS_MAX_PATH_BYTES], mode[16];
	struct stat st;

	if (parent_prop(w, n, "type", type, sizeof(type)) < 0 || prop(w, n, "path", path, sizeof(path)) < 0 ||
	    prop(w, n, "mode", mode, sizeof(mode)) < 0)
		return -1;
	if (!strcmp(type, "file"))
		return under_log_dir(w, path[0] ? path : "(no path)");
	if (!strcmp(type, "unix")) {
		if (!path[0] || (!strcmp(mode, "bind") && libvirt_domain_socket(w, LIBVIRT_CHANNEL_DIR, path)))
			return 0;
		if (need_optin(w, path, LAUNCH_ALLOW_HOST_CHARDEV, strcmp(mode, "bind") ?
			       "a unix socket chardev connects to a host service" :
			       "a unix socket chardev outside libvirt's channel directory of this domain is bound over a host path (libvirt unlinks what is there)") < 0)
			return -1;
		if (!strcmp(mode, "bind") && lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
			return deny(w, path, "binding a socket here would replace an existing file");
		return 0;
	}
	if (!strcmp(type, "tcp") && !strcmp(mode, "bind")) {
		/* a listener on a host port: the guest's console, typed on by whoever connects */
		const char *dev = !strncmp(w->path, "devices/", 8) ? w->path + 8 : "chardev";

		if (!w->open_console[0])
			snprintf(w->open_console, sizeof(w->open_console), "<devices><%.*s type='tcp'>",
				 (int)strcspn(dev, "/"), dev);
		return 0;
	}
	if (!strcmp(type, "tcp") || !strcmp(type, "udp"))
		return need_optin(w, type, LAUNCH_ALLOW_HOST_CHARDEV,
				  "a tcp or udp chardev that is not a listener sends to a host or network service");
	return 0;
}

/* <graphics type='vnc|spice'>: a TCP port anyone who connects may type on — a listen address,
 * a <listen type='address|network'>, a websocket, or neither a socket nor a <listen>
 * (libvirt's default: vnc_listen / spice_listen, an address). A password does not show:
 * libvirt gives the hook the domain without its secrets (no passwd attribute). */
static int rule_graphics(struct domallow_walk *w, xmlNode *n);

/* A socket QEMU binds for vnc or spice (<graphics socket>, <listen type='socket' socket>): QEMU
 * unlinks what the path names first. libvirt's own one of this domain, or opted in and not over
 * an existing file. */
static int rule_graphics_socket(struct domallow_walk *w, xmlNode *n)
{
	char path[VS_MAX_PATH_BYTES];
	struct stat st;

	if (prop(w, n, "socket", path, sizeof(path)) < 0)
		return -1;
	if (!path[0] || libvirt_domain_socket(w, LIBVIRT_DOMAIN_DIR, path))
		return 0;
	if (need_optin(w, path, LAUNCH_ALLOW_HOST_CHARDEV,
		       "a graphics socket outside libvirt's directory of this domain is bound over a host path (QEMU unlinks what is there)") < 0)
		return -1;
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return deny(w, path, "binding a socket here would replace an existing file");
	return 0;
}

static int rule_log(struct domallow_walk *w, xmlNode *n)
{
	char file[VS_MAX_PATH_BYTES];

	if (prop(w, n, "file", file, sizeof(file)) < 0)
		return -1;
	return file[0] ? under_log_dir(w, file) : 0;
}

/* ---- libvirt networks: <interface type='network'> is whatever its network forwards to ------ */

int domallow_network_judge(const char *xml, size_t len, const char *name, unsigned *need, char *what,
			   size_t whatlen, struct vs_error *err)
{
	xmlDoc *doc;
	xmlNode *root, *net = NULL, *fwd = NULL;
	int r = -1;

	*need = 0;
	snprintf(what, whatlen, "isolated");
	if (len > VS_MAX_XML_BYTES)
		return vs_fail(err, VS_ERR_INPUT, name, "network status larger than %d bytes", VS_MAX_XML_BYTES);
	doc = xmlReadMemory(xml, (int)len, "network.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOCDATA);
	if (!doc)
		return vs_fail(err, VS_ERR_INPUT, name, "not well-formed XML");
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset || doc->extSubset || !root) {
		vs_fail(err, VS_ERR_INPUT, name, "a document type or no root element");
		goto out;
	}
	if (!strcmp((const char *)root->name, "network"))
		net = root;
	for (xmlNode *c = root->children; !net && c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "network"))
			net = c;
	if (!net) {
		vs_fail(err, VS_ERR_INPUT, name, "no <network> element");
		goto out;
	}
	for (xmlNode *c = net->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "forward")) {
			if (fwd) {
				vs_fail(err, VS_ERR_INPUT, name, "more than one <forward>");
				goto out;
			}
			fwd = c;
		}
	if (fwd) {
		xmlChar *m = xmlGetProp(fwd, (const xmlChar *)"mode");
		const char *mode = m ? (const char *)m : "nat";
		int devs = 0;

		for (xmlNode *c = fwd->children; c; c = c->next)
			devs |= c->type == XML_ELEMENT_NODE && (!strcmp((const char *)c->name, "interface") ||
								 !strcmp((const char *)c->name, "pf") ||
								 !strcmp((const char *)c->name, "address"));
		snprintf(what, whatlen, "forward mode %.32s%s", mode, devs ? " over host devices" : "");
		if (!strcmp(mode, "nat") || !strcmp(mode, "route") || !strcmp(mode, "open"))
			*need = 0;
		else if (!strcmp(mode, "bridge") && !devs)
			*need = 0; /* a host bridge, as <interface type='bridge'> */
		else if (!strcmp(mode, "hostdev"))
			*need = LAUNCH_ALLOW_HOSTDEV;
		else if (!strcmp(mode, "bridge") || !strcmp(mode, "private") || !strcmp(mode, "vepa") ||
			 !strcmp(mode, "passthrough"))
			*need = LAUNCH_ALLOW_HOST_INTERFACE;
		else {
			vs_fail(err, VS_ERR_DENIED, name, "forward mode \"%.32s\" is not known", mode);
			xmlFree(m);
			goto out;
		}
		xmlFree(m);
	}
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

/* <interface type='network'>: libvirt gives the hook the network's name, not what the port
 * became (a macvtap on a host NIC, a host PCI function): read the running network's status. */
static int rule_network_source(struct domallow_walk *w, xmlNode *n)
{
	char type[32], net[VS_MAX_NAME_BYTES], path[VS_MAX_PATH_BYTES + VS_MAX_NAME_BYTES], what[96];
	const char *dir = w->o->network_dir ? w->o->network_dir : DOMALLOW_NETWORK_DIR;
	struct vs_error e = {0};
	unsigned need;
	size_t len;
	char *xml;
	int rc;

	if (parent_prop(w, n, "type", type, sizeof(type)) < 0 || strcmp(type, "network"))
		return 0;
	if (prop(w, n, "network", net, sizeof(net)) < 0)
		return -1;
	if (!net[0] || strchr(net, '/') || net[0] == '.')
		return deny(w, net, "a network name must be a plain name");
	snprintf(path, sizeof(path), "%s/%s.xml", dir, net);
	if (file_read_all(path, VS_MAX_XML_BYTES, &xml, &len, &e) < 0)
		return deny(w, net, "cannot tell what the network connects the guest to (%s: %s)", path, e.reason);
	rc = domallow_network_judge(xml, len, path, &need, what, sizeof(what), &e);
	free(xml);
	if (rc < 0)
		return deny(w, net, "%s: %s", path, e.reason);
	if (need)
		return need_optin(w, net, need, need == LAUNCH_ALLOW_HOSTDEV ?
				  "the network hands the guest a host PCI device" :
				  "the network connects the guest to a host device (macvtap)");
	return 0;
}

static int rule_interface(struct domallow_walk *w, xmlNode *n)
{
	char type[32];

	if (prop(w, n, "type", type, sizeof(type)) < 0)
		return -1;
	w->nics++;
	if (!strcmp(type, "user") || !strcmp(type, "network") || !strcmp(type, "bridge"))
		return 0;
	if (!strcmp(type, "hostdev"))
		return need_optin(w, type, LAUNCH_ALLOW_HOSTDEV, "a host PCI device in the guest");
	return need_optin(w, type[0] ? type : "(no type)", LAUNCH_ALLOW_HOST_INTERFACE,
			  "interfaces other than user, network and bridge reach host devices, sockets or scripts");
}

static int rule_rom(struct domallow_walk *w, xmlNode *n)
{
	char file[VS_MAX_PATH_BYTES];

	if (prop(w, n, "file", file, sizeof(file)) < 0)
		return -1;
	if (!file[0])
		return 0;
	return need_optin(w, file, LAUNCH_ALLOW_OPTION_ROM,
			  "an option ROM file runs in the guest before the signed boot disk");
}

static int judge_values(struct domallow_walk *w, xmlNode *n, const struct domallow_values *v)
{
	char val[32];
	size_t i;

	if (prop(w, n, v->attr, val, sizeof(val)) < 0)
		return -1;
	if (val[0] && domallow_has_word(v->harmless, val))
		return 0;
	for (i = 0; val[0] && i < sizeof(v->optin) / sizeof(v->optin[0]) && v->optin[i].values; i++)
		if (domallow_has_word(v->optin[i].values, val))
			return need_optin(w, val, v->optin[i].bit, v->optin[i].why);
	return deny(w, val, "%s \"%s\" is not allowed", v->what, val);
}

static const struct domallow_values graphics_types = {"type", "graphics type", "vnc spice", {{0}}};

static const struct domallow_values memory_models = {
	"model", "memory device model", "dimm virtio-mem",
	{{"nvdimm virtio-pmem", LAUNCH_ALLOW_NVDIMM, "a host file mapped into the guest as memory (it can hold code)"}}};

/* Both kinds hand the guest configuration that its boot runs as code: fw_cfg entries (Ignition
 * configs, host files), SMBIOS strings (cloud-init's "ds=nocloud;s=URL" seed in the system
 * serial, systemd credentials and extra kernel command lines in OEM strings). */
static const struct domallow_values sysinfo_types = {
	"type", "sysinfo type", "",
	{{"fwcfg", LAUNCH_ALLOW_FWCFG, "fw_cfg entries hand host files to the guest's firmware and boot (e.g. Ignition configs)"},
	 {"smbios", LAUNCH_ALLOW_SMBIOS,
	  "SMBIOS strings reach the guest's boot as configuration (a cloud-init seed URL in the serial, systemd credentials and kernel command lines in OEM strings)"}}};

static const struct domallow_values tpm_backends = {
	"type", "tpm backend", "emulator",
	{{"passthrough external", LAUNCH_ALLOW_TPM_PASSTHROUGH, "a host TPM device or an external TPM socket in the guest"}}};

static const struct domallow_values input_types = {
	"type", "input type", "mouse tablet keyboard",
	{{"passthrough evdev", LAUNCH_ALLOW_HOSTDEV, "a host input device in the guest"}}};

/* <video><driver name='vhostuser'/>: libvirt starts a host program (vhost-user-gpu) that the
 * guest's GPU commands reach. */
static int rule_video_driver(struct domallow_walk *w, xmlNode *n)
{
	char name[32];

	if (prop(w, n, "name", name, sizeof(name)) < 0)
		return -1;
	if (!name[0] || !strcmp(name, "qemu"))
		return 0;
	if (!strcmp(name, "vhostuser"))
		return need_optin(w, name, LAUNCH_ALLOW_HOST_INTERFACE,
				  "a vhost-user GPU: libvirt runs a host program the guest's GPU commands reach");
	return deny(w, name, "video driver \"%s\" is not allowed", name);
}

static int rule_rng_backend(struct domallow_walk *w, xmlNode *n)
{
	char model[32], rngmodel[64], text[VS_MAX_PATH_BYTES], c[VS_MAX_PATH_BYTES];
	int virtio;

	if (prop(w, n, "model", model, sizeof(model)) < 0 || parent_prop(w, n, "model", rngmodel, sizeof(rngmodel)) < 0 ||
	    path_text_of(w, n, text, sizeof(text)) < 0)
		return -1;
	virtio = !strncmp(rngmodel, "virtio", 6);
	if (!strcmp(model, "random")) {
		if (!text[0])
			strcpy(text, "/dev/random"); /* libvirt's default */
		if (canon(text, c) < 0 || (strcmp(c, "/dev/urandom") && strcmp(c, "/dev/random")))
			return deny(w, text, "an rng must be fed by /dev/urandom or /dev/random");
		w->r->has_rng |= virtio;
		return 0;
	}
	if (!strcmp(model, "builtin")) {
		w->r->has_rng |= virtio;
		return 0;
	}
	if (!strcmp(model, "egd")) {
		char type[32];

		if (prop(w, n, "type", type, sizeof(type)) < 0 || chardev_type(w, type) < 0)
			return -1;
		return need_optin(w, model, LAUNCH_ALLOW_HOST_CHARDEV, "an egd rng reads entropy from a host chardev");
	}
	return deny(w, model, "rng backend \"%s\" is not allowed", model);
}

static int rule_smartcard(struct domallow_walk *w, xmlNode *n)
{
	char mode[32], type[32];

	if (prop(w, n, "mode", mode, sizeof(mode)) < 0 || prop(w, n, "type", type, sizeof(type)) < 0)
		return -1;
	if (!strcmp(mode, "passthrough"))
		return chardev_type(w, type);
	if (!strcmp(mode, "host") || !strcmp(mode, "host-certificates"))
		return 0;
	return deny(w, mode, "smartcard mode \"%s\" is not allowed", mode);
}

static int rule_audio(struct domallow_walk *w, xmlNode *n)
{
	char type[32], path[VS_MAX_PATH_BYTES];

	if (prop(w, n, "type", type, sizeof(type)) < 0 || prop(w, n, "path", path, sizeof(path)) < 0)
		return -1;
	if (!strcmp(type, "none") || !strcmp(type, "spice"))
		return 0;
	if (!strcmp(type, "file"))
		return under_log_dir(w, path[0] ? path : "(no path)");
	return deny(w, type, "audio type \"%s\" uses a host sound device or server", type);
}

static int rule_graphics(struct domallow_walk *w, xmlNode *n)
{
	char type[16], listen[VS_MAX_PATH_BYTES], sock[VS_MAX_PATH_BYTES], ws[16];
	int tcp, listens = 0;

	if (rule_graphics_socket(w, n) < 0 || prop(w, n, "type", type, sizeof(type)) < 0 ||
	    prop(w, n, "listen", listen, sizeof(listen)) < 0 || prop(w, n, "socket", sock, sizeof(sock)) < 0 ||
	    prop(w, n, "websocket", ws, sizeof(ws)) < 0)
		return -1;
	if (strcmp(type, "vnc") && strcmp(type, "spice"))
		return 0;
	tcp = listen[0] != '\0' || ws[0] != '\0'; /* a websocket is a TCP port of its own */
	for (xmlNode *c = n->children; c; c = c->next) {
		char lt[16];

		if (c->type != XML_ELEMENT_NODE || c->ns || strcmp((const char *)c->name, "listen"))
			continue;
		listens++;
		if (prop(w, c, "type", lt, sizeof(lt)) < 0)
			return -1;
		tcp |= !strcmp(lt, "address") || !strcmp(lt, "network");
	}
	if (!listens && !sock[0])
		tcp = 1;
	if (tcp && !w->open_console[0])
		snprintf(w->open_console, sizeof(w->open_console), "<devices><graphics type='%s'>", type);
	return 0;
}

/* Boot devices: a network boot runs whatever a DHCP/TFTP server on the guest's network hands
 * out (through the NIC's PXE ROM), which no signature covers. */
static const char net_boot_why[] = "a network (PXE) boot runs code from the network, not the signed boot disk";

static const struct domallow_values boot_devs = {
	"dev", "boot device", "hd cdrom fd", {{"network", LAUNCH_ALLOW_NETWORK_BOOT, net_boot_why}}};

/* <boot order> of one device: on a network interface it is a network boot. */
static int disk_has_media(xmlNode *disk);

static int rule_device_boot(struct domallow_walk *w, xmlNode *n)
{
	if (!strncmp(w->path, "devices/interface/", 18))
		return need_optin(w, "", LAUNCH_ALLOW_NETWORK_BOOT, net_boot_why);
	/* an empty drive with the boot index boots nothing either */
	if (strncmp(w->path, "devices/disk/", 13) || disk_has_media(n->parent))
		w->device_boot = 1;
	return 0;
}

static unsigned bootdev_bit(const char *dev)
{
	if (!strcmp(dev, "hd"))
		return BOOTDEV_HD;
	if (!strcmp(dev, "cdrom"))
		return BOOTDEV_CDROM;
	return !strcmp(dev, "fd") ? BOOTDEV_FD : 0;
}

/* <os><boot dev>: libvirt gives the first disk of that kind the boot index. */
static int rule_os_boot(struct domallow_walk *w, xmlNode *n)
{
	char dev[16];

	if (prop(w, n, "dev", dev, sizeof(dev)) < 0)
		return -1;
	w->os_boot_devs |= bootdev_bit(dev);
	return 0;
}

/* The disk has media: a <source> naming a file, a device, a volume or a network image (an
 * empty drive has none, or a <source/> naming nothing, as libvirt writes an optional one). */
static int disk_has_media(xmlNode *disk)
{
	static const char *const names[] = {"file", "dev", "volume", "name", "pool", "dir"};

	for (xmlNode *c = disk ? disk->children : NULL; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || c->ns || strcmp((const char *)c->name, "source"))
			continue;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			xmlChar *v = xmlGetProp(c, (const xmlChar *)names[i]);
			int named = v && v[0];

			xmlFree(v);
			if (named)
				return 1;
		}
	}
	return 0;
}

/* A disk is a boot device of its kind when it has media: an empty cdrom or floppy drive
 * boots nothing, and the firmware goes on to what comes next (OVMF: its UEFI shell). */
static int rule_disk(struct domallow_walk *w, xmlNode *n)
{
	char device[16], rawio[8], sgio[16];
	int media = disk_has_media(n);

	if (prop(w, n, "device", device, sizeof(device)) < 0 || prop(w, n, "rawio", rawio, sizeof(rawio)) < 0 ||
	    prop(w, n, "sgio", sgio, sizeof(sgio)) < 0)
		return -1;
	/* <disk device='lun'>: the guest's SCSI commands go to the device. rawio='yes' gives QEMU
	 * CAP_SYS_RAWIO and sgio='unfiltered' lifts the kernel's command filter: writes to a
	 * readonly disk, the whole disk behind a partition — bytes the hook never hashed. */
	if (!strcmp(rawio, "yes") &&
	    need_optin(w, "rawio='yes'", LAUNCH_ALLOW_HOSTDEV,
		       "raw SCSI commands with CAP_SYS_RAWIO reach the whole device, past a partition and past readonly") < 0)
		return -1;
	if (!strcmp(sgio, "unfiltered") &&
	    need_optin(w, "sgio='unfiltered'", LAUNCH_ALLOW_HOSTDEV,
		       "unfiltered SCSI commands write to the device whatever the domain says (readonly)") < 0)
		return -1;
	if (media)
		w->disk_devs |= bootdev_bit(!device[0] || !strcmp(device, "disk") ? "hd" :
					    !strcmp(device, "floppy") ? "fd" : device);
	return 0;
}

/* <os firmware='efi'>: OVMF, whose boot manager and UEFI shell a console user may steer. */
static int rule_os(struct domallow_walk *w, xmlNode *n)
{
	char fw[16];

	if (prop(w, n, "firmware", fw, sizeof(fw)) < 0)
		return -1;
	w->own_firmware |= fw[0] && strcmp(fw, "bios"); /* "bios": the default SeaBIOS */
	for (xmlNode *c = n->children; c; c = c->next)
		w->own_firmware |= c->type == XML_ELEMENT_NODE && !c->ns && !strcmp((const char *)c->name, "loader");
	return 0;
}

static int rule_bootmenu(struct domallow_walk *w, xmlNode *n)
{
	char en[8];

	if (prop(w, n, "enable", en, sizeof(en)) < 0)
		return -1;
	w->bootmenu |= !strcmp(en, "yes");
	return 0;
}

/* libvirt runs QEMU with -boot strict=on, but QEMU ends the firmware's boot list ("HALT")
 * only when some device has a boot index; without one SeaBIOS and OVMF try every device, and
 * boot whatever the network serves: SeaBIOS through a NIC's option ROM, OVMF through its own
 * network drivers and PXE/HTTP boot even when the NIC's ROM is off (<rom enabled='no'/>). */
static int boot_device_check(struct domallow_walk *w)
{
	int kernel = 0;

	for (size_t i = 0; i < w->r->nboot; i++)
		kernel |= w->r->boot[i].kind == BOOT_KIND_KERNEL;
	/* A console anyone may type on, with a firmware that lets its user choose what runs:
	 * OVMF's boot manager and UEFI shell (which loads, edits and runs any file), a boot
	 * menu. Only the default SeaBIOS without a menu offers no choice. */
	if (w->open_console[0] && (w->own_firmware || w->bootmenu) &&
	    !(w->launch->allow & LAUNCH_ALLOW_OPEN_CONSOLE))
		return vs_fail(w->err, VS_ERR_DENIED, w->open_console,
			       "a console anyone who connects may type on, with %s: they can steer it to code "
			       "no signature covers; refused unless the policy sets launch.allow.open_console "
			       "(or give it libvirt's unix socket, <listen type='none'/>, or a pty)",
			       w->own_firmware ? "a firmware other than the default SeaBIOS (OVMF's boot manager and UEFI shell)"
					       : "a boot menu");
	if (w->nics <= 0 || (w->launch->allow & LAUNCH_ALLOW_NETWORK_BOOT))
		return 0;
	/* The boot menu lists every NIC's boot ROM (SeaBIOS), OVMF's network boot entries. */
	if (w->bootmenu)
		return vs_fail(w->err, VS_ERR_DENIED, "<os><bootmenu>",
			       "a boot menu lets a console user boot from the network through the interface "
			       "(PXE: %s); refused unless the policy sets launch.allow.network_boot", net_boot_why);
	if (kernel || w->device_boot || (w->os_boot_devs & w->disk_devs))
		return 0;
	return vs_fail(w->err, VS_ERR_DENIED, "<devices><interface>",
		       "no disk or kernel is the boot device, so the firmware would fall back to a network (PXE) boot "
		       "through the interface (SeaBIOS by its option ROM, OVMF by its own drivers even with the ROM off); "
		       "give the boot disk <boot order='1'/> or <os><boot dev='hd'/>");
}

static int rule_disk_source(struct domallow_walk *w, xmlNode *n)
{
	char fdgroup[VS_MAX_NAME_BYTES];

	if (prop(w, n, "fdgroup", fdgroup, sizeof(fdgroup)) < 0)
		return -1;
	if (fdgroup[0])
		return deny(w, fdgroup, "fdgroup: QEMU would use a file descriptor passed by the caller, not the file the hook checked");
	return 0;
}

/* "+0:+0", "root:root", "0:5", "user:root": is the user or the group root? */
static int dac_label_is_root(const char *label)
{
	char part[2][VS_MAX_NAME_BYTES];
	const char *colon = strchr(label, ':');

	if (!colon || (size_t)(colon - label) >= sizeof(part[0]) || strlen(colon + 1) >= sizeof(part[1]))
		return 1; /* not a user:group label: refuse, it cannot be judged */
	memcpy(part[0], label, (size_t)(colon - label));
	part[0][colon - label] = '\0';
	strcpy(part[1], colon + 1);
	for (int i = 0; i < 2; i++) {
		const char *s = part[i];
		char *end;
		unsigned long id;

		if (s[0] == '+' || (s[0] >= '0' && s[0] <= '9')) {
			errno = 0;
			id = strtoul(s + (s[0] == '+'), &end, 10);
			if (errno || *end || end == s + (s[0] == '+') || id == 0)
				return 1;
			continue;
		}
		if (i == 0) {
			const struct passwd *pw = getpwnam(s);

			if (!pw || pw->pw_uid == 0)
				return 1;
		} else {
			const struct group *gr = getgrnam(s);

			if (!gr || gr->gr_gid == 0)
				return 1;
		}
	}
	return 0;
}

/* <seclabel> of the domain (QEMU's own label) or of one device (its file's label). */
static int rule_seclabel(struct domallow_walk *w, xmlNode *n)
{
	char type[32], model[32], label[VS_MAX_NAME_BYTES] = "";
	int domain_level = !strcmp(w->path, "seclabel"), has_label = 0, has_base = 0;

	if (prop(w, n, "type", type, sizeof(type)) < 0 || prop(w, n, "model", model, sizeof(model)) < 0)
		return -1;
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!strcmp((const char *)c->name, "label")) {
			has_label = 1;
			if (text_of(w, c, label, sizeof(label)) < 0)
				return -1;
		}
		has_base |= !strcmp((const char *)c->name, "baselabel");
	}
	if (domain_level && (!type[0] || !strcmp(type, "dynamic")) && !has_base)
		return 0; /* libvirt makes the label from qemu.conf; a dynamic label in the XML is ignored */
	if (has_label && (!model[0] || !strcmp(model, "dac")) && dac_label_is_root(label))
		return deny(w, label, "a DAC label of uid or gid 0 runs %s as root",
			    domain_level ? "QEMU" : "the file's access");
	if (!domain_level && !has_label)
		return 0; /* relabel='no' alone: libvirt leaves the file's label alone */
	return need_optin(w, type[0] ? type : model, LAUNCH_ALLOW_SECLABEL,
			  "a security label chosen by the domain XML");
}

/* ---- the table ---------------------------------------------------------------------------- */

#define H(p, a, ps) {p, DOMALLOW_HARMLESS, a, ps, 0, 0, NULL, NULL, NULL}
#define HV(p, a, ps, v) {p, DOMALLOW_HARMLESS, a, ps, 0, 0, NULL, NULL, &v}
#define HR(p, a, ps, r) {p, DOMALLOW_HARMLESS, a, ps, 0, 0, r, NULL, NULL}
#define HS(p, a) {p, DOMALLOW_HARMLESS, a, NULL, 0, DA_SUBTREE, NULL, NULL, NULL}
#define S(p, a, ps, r) {p, DOMALLOW_SIGNED, a, ps, 0, 0, r, NULL, NULL}
#define O(p, bit, why) {p, DOMALLOW_OPTIN, NULL, NULL, bit, DA_SUBTREE, NULL, why, NULL}
#define R(p, why) {p, DOMALLOW_REFUSED, NULL, NULL, 0, 0, NULL, why, NULL}

/* Path-free attributes shared by the chardevs (serial, parallel, console, channel). */
#define CHR_SOURCE_ATTRS "mode host service tls channel append master slave"
#define CHARDEV(dev) \
	HR(dev, "type tty", "tty", rule_chardev), \
	HR(dev "/source", CHR_SOURCE_ATTRS, "path", rule_chardev_source), \
	H(dev "/target", "type port name state address", NULL), \
	H(dev "/target/model", "name", NULL), \
	H(dev "/protocol", "type", NULL), \
	HR(dev "/log", "append", "file", rule_log)

static const struct domallow_entry table[] = {
	H("", "type id", NULL), /* <domain> itself */
	H("name", "", NULL),
	H("uuid", "", NULL),
	H("genid", "", NULL),
	H("title", "", NULL),
	H("description", "", NULL),
	{"metadata", DOMALLOW_HARMLESS, "", NULL, 0, DA_SKIP, NULL, NULL, NULL},
	H("memory", "unit dumpCore", NULL),
	H("currentMemory", "unit", NULL),
	H("maxMemory", "slots unit", NULL),
	H("vcpu", "placement cpuset current", NULL),
	HS("vcpus", ""),
	H("iothreads", "", NULL),
	HS("iothreadids", ""),
	HS("cputune", ""),
	HS("memtune", ""),
	HS("numatune", ""),
	HS("memoryBacking", ""),
	HS("resource", ""),
	H("resource/partition", "", "#text"), /* a cgroup; typed as a path by the schema */
	HS("features", ""),
	HS("cpu", "mode match check migratable"),
	HS("clock", "offset timezone adjustment basis"),
	HS("pm", ""),
	HS("perf", ""),
	HS("keywrap", ""),
	H("on_poweroff", "", NULL),
	H("on_reboot", "", NULL),
	H("on_crash", "", NULL),
	H("on_lockfailure", "", NULL),
	HS("blkiotune", ""),
	H("blkiotune/device/path", "", "#text"), /* cgroup I/O tuning of a host device */
	R("bootloader", "a host bootloader program (Xen) runs outside the signed chain"),
	R("bootloader_args", "arguments to a host bootloader program"),
	R("idmap", "user namespace maps (LXC)"),
	R("os/init", "a container init path (LXC)"),
	R("os/initdir", "a container's working directory (LXC)"),
	R("os/root", "a container's root file system (LXC)"),
	R("os/nvram/source", "an NVRAM given as a <source> cannot be verified; use the <nvram> path form"),

	/* sysinfo: SMBIOS strings are harmless; fw_cfg entries are host files */
	{"sysinfo", DOMALLOW_HARMLESS, "type", NULL, 0, DA_SUBTREE, NULL, NULL, &sysinfo_types},
	H("sysinfo/entry", "name", "file"),

	/* <os>: boot files are signed like disks */
	HR("os", "firmware", NULL, rule_os),
	H("os/type", "arch machine", NULL),
	{"os/boot", DOMALLOW_HARMLESS, "dev", NULL, 0, 0, rule_os_boot, NULL, &boot_devs},
	HR("os/bootmenu", "enable timeout", NULL, rule_bootmenu),
	H("os/smbios", "mode", NULL),
	H("os/bios", "useserial rebootTimeout", NULL),
	H("os/firmware", "", NULL),
	H("os/firmware/feature", "enabled name", NULL),
	S("os/loader", "readonly secure type stateless format", "#text", rule_bootfile),
	S("os/nvram", "format templateFormat type", "#text template", rule_bootfile),
	S("os/kernel", "", "#text", rule_bootfile),
	S("os/initrd", "", "#text", rule_bootfile),
	S("os/dtb", "", "#text", rule_bootfile),
	S("os/cmdline", "", NULL, rule_cmdline),
	H("os/acpi", "", NULL),
	S("os/acpi/table", "type", "#text", rule_bootfile),

	/* domain-level security label */
	HR("seclabel", "type model relabel", NULL, rule_seclabel),
	H("seclabel/label", "", NULL),
	H("seclabel/imagelabel", "", NULL),
	H("seclabel/baselabel", "", NULL),

	H("devices", "", NULL),
	HR("devices/emulator", "", "#text", rule_emulator),

	/* disks: structure here, images in lib/diskcheck */
	HR("devices/disk", "type device snapshot model rawio sgio", NULL, rule_disk),
	HR("devices/disk/source", "index startupPolicy protocol name query pool volume mode tls fdgroup",
	   "file dev dir path", rule_disk_source),
	H("devices/disk/source/host", "name port transport", "socket"),
	H("devices/disk/source/auth", "username", NULL),
	H("devices/disk/source/auth/secret", "type usage uuid", NULL),
	H("devices/disk/source/config", "", "file"),
	H("devices/disk/source/dataStore", "type", NULL), /* refused by lib/diskcheck */
	H("devices/disk/source/dataStore/format", "type", NULL),
	HR("devices/disk/source/dataStore/source", "index", "file dev", rule_disk_source),
	H("devices/disk/backingStore", "type index", NULL),
	H("devices/disk/backingStore/format", "type", NULL),
	HR("devices/disk/backingStore/source", "index protocol name query pool volume mode tls fdgroup",
	   "file dev dir path", rule_disk_source),
	H("devices/disk/backingStore/source/host", "name port transport", "socket"),
	H("devices/disk/backingStore/source/auth", "username", NULL),
	H("devices/disk/backingStore/source/auth/secret", "type usage uuid", NULL),
	H("devices/disk/backingStore/source/config", "", "file"),
	R("*/source/reservations", "persistent reservations hand the disk to a host helper's socket"),
	R("devices/disk/mirror", "a block job's mirror is written outside any check"),
	H("devices/disk/target", "dev bus tray removable rotation_rate", NULL),
	H("devices/disk/readonly", "", NULL),
	H("devices/disk/shareable", "", NULL),
	H("devices/disk/transient", "shareBacking", NULL),
	H("devices/disk/serial", "", NULL),
	H("devices/disk/wwn", "", NULL),
	H("devices/disk/vendor", "", NULL),
	H("devices/disk/product", "", NULL),
	HS("devices/disk/iotune", ""),
	H("devices/disk/blockio", "logical_block_size physical_block_size discard_granularity", NULL),
	H("devices/disk/geometry", "cyls heads secs trans", NULL),
	H("devices/disk/encryption", "format engine", NULL),
	H("devices/disk/encryption/secret", "type uuid usage", NULL),
	H("devices/disk/auth", "username", NULL),
	H("devices/disk/auth/secret", "type usage uuid", NULL),

	/* controllers */
	H("devices/controller", "type index model ports vectors maxGrantFrames maxEventChannels", NULL),
	H("devices/controller/target", "chassisNr chassis port busNr hotplug index memReserve", NULL),
	H("devices/controller/model", "name", NULL),
	H("devices/controller/master", "startport", NULL),
	H("devices/controller/pcihole64", "unit", NULL),

	/* network interfaces: user, network and bridge without an option ROM file */
	HR("devices/interface", "type trustGuestRxFilters", NULL, rule_interface),
	H("devices/interface/mac", "address type check", NULL),
	H("devices/interface/model", "type", NULL),
	HR("devices/interface/source", "network bridge portgroup portid dev mode type address port",
	   "path", rule_network_source),
	H("devices/interface/source/local", "address port", NULL),
	H("devices/interface/target", "dev managed", NULL),
	H("devices/interface/link", "state", NULL),
	H("devices/interface/mtu", "size", NULL),
	H("devices/interface/filterref", "filter", NULL),
	H("devices/interface/filterref/parameter", "name value", NULL),
	HS("devices/interface/virtualport", "type"),
	HS("devices/interface/bandwidth", ""),
	HS("devices/interface/vlan", "trunk"),
	HS("devices/interface/tune", ""),
	HS("devices/interface/coalesce", ""),
	H("devices/interface/ip", "address family prefix peer", NULL),
	H("devices/interface/route", "family address netmask prefix gateway metric", NULL),
	H("devices/interface/guest", "dev actual", NULL),
	H("devices/interface/teaming", "type persistent", NULL),
	HS("devices/interface/portForward", "proto address dev"),
	R("devices/interface/script", "an interface script runs a host program as root"),
	R("devices/interface/downscript", "an interface script runs a host program as root"),
	R("devices/interface/backend", "tap and vhost device paths name host devices"),
	HR("*/rom", "bar enabled", "file", rule_rom),

	/* character devices, consoles, the qemu-ga channel */
	CHARDEV("devices/serial"),
	CHARDEV("devices/parallel"),
	CHARDEV("devices/console"),
	CHARDEV("devices/channel"),

	/* graphics, video, input, sound */
	{"devices/graphics", DOMALLOW_HARMLESS, "type port autoport websocket listen passwd passwdValidTo connected keymap sharePolicy tlsPort defaultMode powerControl",
	 "socket", 0, 0, rule_graphics, NULL, &graphics_types},
	HR("devices/graphics/listen", "type address network autoGenerated", "socket", rule_graphics_socket),
	H("devices/graphics/channel", "name mode", NULL),
	H("devices/graphics/image", "compression", NULL),
	H("devices/graphics/jpeg", "compression", NULL),
	H("devices/graphics/zlib", "compression", NULL),
	H("devices/graphics/playback", "compression", NULL),
	H("devices/graphics/streaming", "mode", NULL),
	H("devices/graphics/clipboard", "copypaste", NULL),
	H("devices/graphics/mouse", "mode", NULL),
	H("devices/graphics/filetransfer", "enable", NULL),
	H("devices/graphics/gl", "enable", "rendernode"),
	H("devices/graphics/audio", "id", NULL),
	H("devices/video", "", NULL),
	H("devices/video/model", "type vram heads primary ram vgamem vram64 blob", NULL),
	H("devices/video/model/acceleration", "accel3d accel2d", "rendernode"),
	H("devices/video/model/resolution", "x y", NULL),
	HV("devices/input", "type bus model", NULL, input_types),
	H("devices/input/source", "grab repeat grabToggle", "evdev dev"),
	H("devices/sound", "model", NULL),
	H("devices/sound/codec", "type", NULL),
	H("devices/sound/audio", "id", NULL),
	{"devices/audio", DOMALLOW_HARMLESS, "id type timerPeriod", "path", 0, DA_SUBTREE, rule_audio, NULL, NULL},

	/* small devices of a normal VM */
	H("devices/memballoon", "model autodeflate freePageReporting", NULL),
	H("devices/memballoon/stats", "period", NULL),
	H("devices/watchdog", "model action", NULL),
	H("devices/panic", "model", NULL),
	H("devices/hub", "type", NULL),
	H("devices/rng", "model", NULL),
	H("devices/rng/rate", "bytes period", NULL),
	HR("devices/rng/backend", "model type", "#text", rule_rng_backend),
	HR("devices/rng/backend/source", CHR_SOURCE_ATTRS, "path", rule_chardev_source),
	HR("devices/rng/backend/log", "append", "file", rule_log),
	H("devices/rng/backend/protocol", "type", NULL),
	H("devices/vsock", "model", NULL),
	H("devices/vsock/cid", "auto address", NULL),
	HS("devices/iommu", "model"),
	H("devices/tpm", "model", NULL),
	HV("devices/tpm/backend", "type version persistent_state debug", NULL, tpm_backends),
	H("devices/tpm/backend/device", "", "path"),
	H("devices/tpm/backend/source", "type mode", "path"),
	H("devices/tpm/backend/encryption", "secret", NULL),
	HS("devices/tpm/backend/active_pcr_banks", ""),
	HR("devices/smartcard", "mode type", NULL, rule_smartcard),
	H("devices/smartcard/certificate", "", NULL),
	{"devices/smartcard/database", DOMALLOW_OPTIN, "", "#text", LAUNCH_ALLOW_SMARTCARD_DB, 0, NULL,
	 "a host NSS certificate database", NULL},
	HR("devices/smartcard/source", CHR_SOURCE_ATTRS, "path", rule_chardev_source),
	H("devices/smartcard/protocol", "type", NULL),
	HR("devices/smartcard/log", "append", "file", rule_log),
	HV("devices/memory", "model access discard", NULL, memory_models),
	H("devices/memory/source", "", NULL),
	H("devices/memory/source/path", "", "#text"),
	H("devices/memory/source/pagesize", "unit", NULL),
	H("devices/memory/source/nodemask", "", NULL),
	H("devices/memory/source/alignsize", "unit", NULL),
	H("devices/memory/source/pmem", "", NULL),
	HS("devices/memory/target", ""),

	/* host resources: opt-in, everything below them allowed once opted in */
	O("devices/hostdev", LAUNCH_ALLOW_HOSTDEV, "a host device (PCI, USB, SCSI, mdev) in the guest"),
	O("devices/redirdev", LAUNCH_ALLOW_REDIRDEV, "USB redirection from outside the host's control"),
	O("devices/filesystem", LAUNCH_ALLOW_FILESYSTEM, "a host directory shared into the guest"),
	O("devices/shmem", LAUNCH_ALLOW_SHMEM, "memory shared with processes on the host"),
	R("devices/lease", "lock manager leases name host files"),

	/* per-device security labels and the generic sub-elements of every device */
	HR("*/seclabel", "model relabel", NULL, rule_seclabel),
	H("*/seclabel/label", "", NULL),
	H("*/alias", "name", NULL),
	HS("*/address", "type domain bus slot function multifunction controller target unit port reg cssid ssid devno iobase irq base"),
	HR("*/boot", "order loadparm", NULL, rule_device_boot),
	H("*/acpi", "index", NULL),
	{"devices/video/driver", DOMALLOW_HARMLESS, "name vgaconf iommu ats packed page_per_vq", NULL, 0, 0,
	 rule_video_driver, NULL, NULL},
	HS("*/driver", "name type cache error_policy rerror_policy io ioeventfd event_idx copy_on_read discard iothread detect_zeroes queues queue_size iommu ats packed page_per_vq txmode tx_queue_size rx_queue_size rss rss_hash_report vgaconf cmd_per_lun max_sectors intremap caching_mode eim iotlb aw_bits"),

	/* raw QEMU passthrough: no entry can judge what it attaches */
	R("qemu:commandline", "qemu:commandline passes raw arguments to QEMU (it can attach storage no <disk> shows)"),
	R("qemu:override", "qemu:override changes device properties behind libvirt's back"),
	R("qemu:capabilities", "qemu:capabilities changes what libvirt believes QEMU can do"),
	R("qemu:deprecation", "qemu:deprecation changes QEMU's behaviour behind libvirt's back"),
};

const struct domallow_entry *domallow_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

static int entry_index(const struct domallow_entry *e)
{
	return (int)(e - table);
}

static int path_match(const char *pat, const char *path)
{
	size_t lp, l;

	if (pat[0] != '*' || pat[1] != '/')
		return !strcmp(pat, path);
	pat += 2;
	lp = strlen(pat);
	l = strlen(path);
	return l > lp && path[l - lp - 1] == '/' && !strcmp(path + l - lp, pat);
}

const struct domallow_entry *domallow_lookup(const char *path)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (path_match(table[i].path, path))
			return &table[i];
	return NULL;
}

/* ---- the walk ----------------------------------------------------------------------------- */

/* Attribute names that name host paths in libvirt's schema (tests/unit/test_domallow.c keeps
 * this in step with domaincommon.rng): inside a DA_SUBTREE they still need an entry. */
const char *const domallow_pathy_attrs =
	"file path dev socket dir template database rendernode tty evdev tap vhost logFile";

/* lenient: 0 strict (the entry's lists only), LENIENT_SUBTREE (any attribute but path-like
 * ones), LENIENT_OPTIN (inside an opted-in host resource: path-like ones must still not name
 * a vmseal path). */
#define LENIENT_SUBTREE 1
#define LENIENT_OPTIN 2

static int judge_attrs(struct domallow_walk *w, xmlNode *n, const struct domallow_entry *e, int lenient)
{
	char value[VS_MAX_PATH_BYTES];

	for (xmlAttr *a = n->properties; a; a = a->next) {
		const char *name = (const char *)a->name;

		if (a->ns)
			return deny(w, "", "unknown attribute %s:%s", a->ns->prefix ? (const char *)a->ns->prefix : "?", name);
		if (e && e->paths && domallow_has_word(e->paths, name)) {
			if (prop(w, n, name, value, sizeof(value)) < 0 || path_check(w, name, value) < 0)
				return -1;
			continue;
		}
		if (e && domallow_has_word(e->attrs, name))
			continue;
		if (lenient && !domallow_has_word(domallow_pathy_attrs, name))
			continue;
		if (lenient == LENIENT_OPTIN) {
			/* opted in: names that are not absolute paths (a mount tag) are not paths */
			if (prop(w, n, name, value, sizeof(value)) < 0 ||
			    (value[0] == '/' && path_check(w, name, value) < 0))
				return -1;
			continue;
		}
		{
			char where[VS_ERR_OBJECT_MAX];

			display(w->path, where, sizeof(where));
			if (strlen(where) > 1)
				where[strlen(where) - 1] = '\0'; /* "<a><b" + " name>" */
			vs_error_clear(w->err);
			w->err->kind = VS_ERR_DENIED;
			snprintf(w->err->object, sizeof(w->err->object), "%s %s>", where, name);
			sanitize(w->err->object);
			snprintf(w->err->reason, sizeof(w->err->reason), lenient ?
				 "attribute names a host path and has no entry in the allow-list" :
				 "unknown attribute");
			w->r->denied_entry = e ? entry_index(e) : -1;
			return -1;
		}
	}
	return 0;
}

static int walk_children(struct domallow_walk *w, xmlNode *n, int lenient, int depth);

static int walk_elem(struct domallow_walk *w, xmlNode *n, int lenient, int depth)
{
	size_t plen = strlen(w->path);
	const char *name = (const char *)n->name;
	const struct domallow_entry *e;
	char text[VS_MAX_PATH_BYTES];
	int ret = -1;

	if (depth > VS_MAX_XML_DEPTH)
		return deny(w, "", "elements nested deeper than %d", VS_MAX_XML_DEPTH);
	/* a backingStore inside a backingStore is judged like the outer one */
	if (!(n->ns == NULL && !strcmp(name, "backingStore") && plen >= 13 &&
	      !strcmp(w->path + plen - 12, "backingStore"))) {
		int l;

		if (n->ns && n->ns->href && !strcmp((const char *)n->ns->href, QEMU_NS_HREF))
			l = snprintf(w->path + plen, sizeof(w->path) - plen, "%sqemu:%s", plen ? "/" : "", name);
		else if (n->ns)
			l = snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s:%s", plen ? "/" : "",
				     n->ns->prefix ? (const char *)n->ns->prefix : "?", name);
		else
			l = snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s", plen ? "/" : "", name);
		if (l < 0 || (size_t)l >= sizeof(w->path) - plen) {
			w->path[plen] = '\0';
			return deny(w, "", "element path too long");
		}
	}
	e = domallow_lookup(w->path);
	w->cur = e;
	if (!e) {
		if (!lenient || n->ns) {
			deny(w, "", "unknown element");
			goto out;
		}
		if (judge_attrs(w, n, NULL, lenient) < 0)
			goto out;
		for (xmlNode *c = n->children; c; c = c->next)
			if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
				if (text_of(w, n, text, sizeof(text)) < 0)
					goto out;
				if (text[0] == '/' && lenient == LENIENT_OPTIN) {
					if (path_check(w, "text", text) < 0)
						goto out;
				} else if (text[0] == '/') {
					deny(w, text, "text names a host path and has no entry in the allow-list");
					goto out;
				}
				break;
			}
		ret = walk_children(w, n, lenient, depth);
		goto out;
	}
	if (w->o->hits)
		w->o->hits[entry_index(e)]++;
	if (e->cls == DOMALLOW_REFUSED) {
		deny(w, "", "%s", e->why);
		goto out;
	}
	if (e->cls == DOMALLOW_OPTIN && need_optin(w, "", e->optin, e->why) < 0)
		goto out;
	if (judge_attrs(w, n, e, e->cls == DOMALLOW_OPTIN ? LENIENT_OPTIN : 0) < 0)
		goto out;
	if (e->paths && domallow_has_word(e->paths, "#text")) {
		if (path_text_of(w, n, text, sizeof(text)) < 0 || path_check(w, "text", text) < 0)
			goto out;
	}
	w->cur = e;
	if (e->values && judge_values(w, n, e->values) < 0)
		goto out;
	if (e->rule && e->rule(w, n) < 0)
		goto out;
	if (e->flags & DA_SKIP) {
		ret = 0;
		goto out;
	}
	if (e->cls == DOMALLOW_OPTIN)
		lenient = LENIENT_OPTIN;
	else if ((e->flags & DA_SUBTREE) && !lenient)
		lenient = LENIENT_SUBTREE;
	ret = walk_children(w, n, lenient, depth);
out:
	if (ret == 0)
		w->path[plen] = '\0';
	return ret;
}

static int walk_children(struct domallow_walk *w, xmlNode *n, int lenient, int depth)
{
	for (xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (walk_elem(w, c, lenient, depth + 1) < 0)
			return -1;
	}
	return 0;
}

int domallow_check(const char *xml, size_t len, const struct domallow_opts *o,
		   struct domallow_result *r, struct vs_error *err)
{
	struct domallow_walk w = {.o = o, .r = r, .err = err};
	xmlDoc *doc = NULL;
	xmlNode *root;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->denied_entry = -1;
	w.launch = o->launch ? o->launch : &no_launch;
	if (domxml_read(xml, len, &doc, err) < 0)
		return -1;
	root = xmlDocGetRootElement(doc);
	w.cur = domallow_lookup("");
	if (prop(&w, root, "id", w.dom_id, sizeof(w.dom_id)) < 0)
		goto out;
	if (strspn(w.dom_id, "0123456789") != strlen(w.dom_id))
		w.dom_id[0] = '\0';
	for (xmlNode *c = root->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !c->ns && !strcmp((const char *)c->name, "name")) {
			if (text_of(&w, c, w.dom_name, sizeof(w.dom_name)) < 0)
				goto out;
			break;
		}
	if (o->hits)
		o->hits[entry_index(w.cur)]++;
	if (judge_attrs(&w, root, w.cur, 0) < 0 || walk_children(&w, root, 0, 0) < 0)
		goto out;
	w.path[0] = '\0';
	w.cur = NULL;
	if (!r->emulator[0]) {
		vs_fail(err, VS_ERR_DENIED, "<devices><emulator>",
			"missing: the emulator must be named so that it can be checked");
		goto out;
	}
	if (boot_device_check(&w) < 0)
		goto out;
	if (w.launch->require_rng && !r->has_rng) {
		vs_fail(err, VS_ERR_DENIED, "<devices><rng>",
			"missing: the policy requires a virtio rng fed by /dev/urandom or /dev/random");
		goto out;
	}
	ret = 0;
out:
	xmlFreeDoc(doc);
	return ret;
}

int domallow_boot_check(const struct policy *p, struct domallow_result *r, int64_t now,
			const struct filetrust_opts *trust, struct vs_error *err)
{
	int has_kernel = 0;

	for (size_t i = 0; i < r->nboot; i++) {
		struct domallow_bootfile *b = &r->boot[i];
		const struct domallow_bootfile *named = b;
		struct bootfile_result *res = calloc(1, sizeof(*res));
		struct vs_error e = {0};
		int rc;

		if (!res)
			return vs_fail(err, VS_ERR_INTERNAL, b->element, "out of memory");
		has_kernel |= b->kind == BOOT_KIND_KERNEL;
		if (b->kind == BOOT_KIND_NVRAM && !b->nvram_template) {
			/* The VM's own NVRAM file: absent, a fresh copy of its template, or signed. */
			const char *tmpl = NULL;

			for (size_t j = 0; j < r->nboot; j++)
				if (r->boot[j].nvram_template)
					tmpl = r->boot[j].path;
			rc = bootfile_check_nvram(p, b->path, tmpl, now, trust, res, &e);
			for (size_t j = 0; j < r->nboot; j++)
				if (r->boot[j].nvram_template && !strcmp(res->why.object, r->boot[j].path))
					named = &r->boot[j]; /* the template failed */
		} else {
			rc = bootfile_check(p, b->kind, b->path,
					    b->kind == BOOT_KIND_KERNEL && r->has_cmdline ? r->cmdline : NULL, now,
					    trust, res, &e);
		}
		if (rc < 0 || res->decision != DECISION_ALLOW) {
			const struct vs_error *why = rc < 0 ? &e : &res->why;

			vs_error_clear(err);
			err->kind = why->kind;
			snprintf(err->object, sizeof(err->object), "%s %s", named->element, named->path);
			snprintf(err->reason, sizeof(err->reason), "%s", why->reason);
			free(res);
			return -1;
		}
		snprintf(b->verdict, sizeof(b->verdict), "%s", res->summary);
		free(res);
	}
	if (r->has_cmdline && !has_kernel)
		return vs_fail(err, VS_ERR_DENIED, "<os><cmdline>", "a kernel command line without a <kernel>");
	return 0;
}

int domallow_operation_check(const struct policy_launch *l, const char *op, struct vs_error *err)
{
	if (!strcmp(op, "restore") && !(l->allow & LAUNCH_ALLOW_RESTORE))
		return vs_fail(err, VS_ERR_DENIED, "restore",
			       "a saved image's RAM cannot be verified; refused unless the policy sets launch.allow.restore");
	/* libvirt calls "migrate begin" on the destination of an incoming migration: the guest
	 * continues from RAM sent by the source host, which no signature covers. */
	if (!strcmp(op, "migrate") && !(l->allow & LAUNCH_ALLOW_MIGRATE))
		return vs_fail(err, VS_ERR_DENIED, "migrate",
			       "an incoming migration's RAM cannot be verified; refused unless the policy sets launch.allow.migrate");
	return 0;
}
