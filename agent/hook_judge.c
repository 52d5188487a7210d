/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-hook's judge: libvirt's qemu hook proper, a shared object that the first stage
 * (agent/vmseal-hook.c) loads for the operations it judges; refuses to start a domain whose
 * disks are not attested. */
#define _GNU_SOURCE 1 /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "agent/hook_serve.h"
#include "lib/audit.h"
#include "lib/cli.h"
#include "lib/diskcheck.h"
#include "lib/domallow.h"
#include "lib/domxml.h"
#include "lib/error.h"
#include "lib/evalcache.h"
#include "lib/filetrust.h"
#include "lib/hookop.h"
#include "lib/hostsecret.h"
#include "lib/limits.h"
#include "lib/overlayreg.h"
#include "lib/policy.h"
#include "lib/truststate.h"
#include "lib/started.h"
#include "lib/util.h"

#define PROG "vmseal"
#define DEFAULT_CONFIG "/etc/vmseal/hook.conf"
#define DEFAULT_POLICY "/etc/vmseal/policy.json"
#define DEFAULT_AUDIT_LOG "/var/log/vmseal/audit.jsonl"
#define DEFAULT_CACHE_DIR "/var/cache/vmseal"
#define DEFAULT_STATE_DIR "/var/lib/vmseal"
#define DEFAULT_AUDIT_HEAD "/var/lib/vmseal/audit.head"
#define DEFAULT_QEMU_PID_DIR "/run/libvirt/qemu"
/* The judge server's socket: the installed first stage's VMSEAL_HOOK_SOCKET (Makefile). */
#define HOOK_SERVE_DIR "/run/vmseal"
#define DEFAULT_SOCKET HOOK_SERVE_DIR "/hook.sock"

struct hook_config {
	char path[VS_MAX_PATH_BYTES];      /* this file */
	char policy[VS_MAX_PATH_BYTES];
	char audit_log[VS_MAX_PATH_BYTES]; /* "" : the policy's audit_log, else the default */
	char cache_dir[VS_MAX_PATH_BYTES];
	char audit_head[VS_MAX_PATH_BYTES]; /* "" : DEFAULT_AUDIT_HEAD for the default log, else LOG.head */
	char trust_state[VS_MAX_PATH_BYTES]; /* "" : the one that governs policy (lib/truststate.h) */
	uid_t qemu_uid;                    /* qemu_user: also trusted to own verified files */
	char state_dir[VS_MAX_PATH_BYTES]; /* "" : state_dir_ready() picks it */
	char qemu_pid_dir[VS_MAX_PATH_BYTES]; /* where libvirt writes DOMAIN.pid */
	int no_cache;
	unsigned seen;                     /* config keys already set, to refuse duplicates */
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: vmseal DOMAIN OPERATION SUB-OPERATION EXTRA   (as libvirt runs it, XML on stdin)\n"
"       vmseal-hook [--config FILE] [--policy FILE] [--audit-log FILE] [--no-cache]\n"
"                   DOMAIN OPERATION SUB-OPERATION [EXTRA]\n"
"       vmseal-hook --serve [--socket PATH]   (the judge server; vmseal-hook.service)\n"
"\n"
"libvirt's qemu hook (install as /etc/libvirt/hooks/qemu.d/vmseal, e.g. `make install-hook`).\n"
"At \"prepare begin\", \"start begin\", \"restore begin\" and \"migrate begin\" it reads the domain\n"
"XML from stdin and refuses the start unless every disk's whole backing chain is covered by\n"
"valid attestations (IMAGE.intoto.json next to each image) under the host policy. A writable\n"
"top overlay needs none when its backing template's policy rule has allow_overlay and the hook\n"
"saw it born empty (no data clusters) at its first start, and changed since only by runs of its\n"
"domain (\"release end\" records what a run left). Every other\n"
"operation exits 0 at once. It prints nothing on stdout (libvirt keeps the XML of the filter\n"
"operations restore and migrate unchanged), never calls libvirt and starts no process.\n"
"\n"
"Files and symlinks: image paths are opened once each, following symlinks as QEMU does; the\n"
"decision is bound to the inode opened. The attestation is looked up next to the path as the\n"
"XML names it. Disks of type 'volume' are refused (resolving them would mean calling libvirt):\n"
"define disks with type 'file' or 'block'. Network disks are refused unless the policy has\n"
"\"allow_network_disks\": true. A domain passing raw QEMU arguments (qemu:commandline) is refused.\n"
"\n"
"Whole domain: every element and attribute of the XML must be in vmseal's allow-list table\n"
"(man vmseal-hook, THE WHOLE DOMAIN); unknown ones are refused. Boot files (<os><loader>,\n"
"<nvram>, <kernel>, <initrd>, <dtb>, <acpi><table>) must be pinned or signed like disks.\n"
"<emulator> must match the policy's launch.emulators (default /usr/bin/qemu-system-*) and be\n"
"root-owned; no path in the XML may name a vmseal path (policy, audit log, cache, /etc/vmseal,\n"
"/var/lib/vmseal); file chardevs and <log file> only below launch.log_dir; fdgroup, option ROM\n"
"files, hostdev, filesystem, nvdimm, fw_cfg, restore begin and migrate begin (an incoming\n"
"migration) are refused unless the policy's\n"
"launch.allow opts in.\n"
"\n"
"Ownership rule: every layer must be a regular file or block device owned by root (or\n"
"qemu_user), not writable by group or other, reached through root-owned directories not\n"
"writable by others (sticky ones excepted), on a local file system and disk (unless the\n"
"policy has \"allow_remote_fs\": true; \"allow_san_disks\": true accepts a SAN's disks), and\n"
"open for writing by no process; so nobody else can swap or\n"
"rewrite it before QEMU opens it (see vmseal-hook(8), OWNERSHIP RULE).\n"
"\n"
"Started check: at \"started begin\" the files QEMU holds open (/proc/PID/fd, PID from\n"
"qemu_pid_dir/DOMAIN.pid) must be those start begin verified (kept MAC'd in state_dir), and\n"
"the boot files it read at its start (kernel, initrd, loader...) still the inodes verified,\n"
"with the same size and mtime; a file swapped in between exits 1 (audited as a swap) and\n"
"libvirt kills the domain. The\n"
"record also holds start begin's enforce and audit log: this check reads no policy.\n"
"\n"
"Options (for manual runs; libvirt passes none, use the config file):\n"
"  --config FILE     configuration file (default " DEFAULT_CONFIG ")\n"
"  --policy FILE     policy (default " DEFAULT_POLICY ", or policy= in the file)\n"
"  --audit-log FILE  audit log (default: the policy's audit_log, else " DEFAULT_AUDIT_LOG ")\n"
"  --no-cache        judge every image afresh; neither read nor write the allow-cache\n"
"  --serve           run as the judge server: load the judge once, listen on the socket and\n"
"                    serve each call in a child of its own (man vmseal-hook, JUDGE SERVER)\n"
"  --socket PATH     the server's socket (default " DEFAULT_SOCKET ", where the installed\n"
"                    hook looks; its directory must be the server user's, writable by no other)\n"
"  -h, --help        this text\n"
"  --version         print the version\n"
"\n"
"Configuration file (optional; a missing file means defaults; any other problem denies):\n"
"  # comment\n"
"  policy = /etc/vmseal/policy.json\n"
"  audit_log = /var/log/vmseal/audit.jsonl\n"
"  audit_head = " DEFAULT_AUDIT_HEAD "   (default: this for the default log, else LOG.head)\n"
"  cache_dir = " DEFAULT_CACHE_DIR "\n"
"  no_cache = false\n"
"  trust_state = /var/lib/vmseal/trust.state   (default for the system policy; else trust.state\n"
"                beside the policy): older policies, older roots, a plain policy once a root was\n"
"                installed, and expired bundles are refused\n"
"  qemu_user = none   (libvirt-qemu with dynamic_ownership: it may own verified files too)\n"
"  state_dir = /var/lib/vmseal/hook   (default for the system policy; else hook-state beside\n"
"              the policy): the host secret that MACs cache entries, the registry of\n"
"              overlays seen born empty, started-check records\n"
"  qemu_pid_dir = " DEFAULT_QEMU_PID_DIR "   (libvirt's DOMAIN.pid files, for started begin)\n"
"Precedence: command line, then the file, then defaults. The hook reads no environment\n"
"variable: what libvirtd's environment holds cannot move its policy or configuration.\n"
"\n"
"Allow-cache: an allowed image's decision is remembered in cache_dir (created 0700; ignored if\n"
"not owned by the hook's user or open to others), keyed by the image's and its attestation's\n"
"(device, inode, size, mtime, ctime) and the policy's digest: any write to the image, a new\n"
"attestation or a new policy misses the cache. Block devices are never cached. Entries expire\n"
"with the attestation or the signing key. Denials are never cached.\n"
"\n"
"Audit: one event per disk (actor \"hook\", event \"hook.OPERATION\"), decision allow, deny or\n"
"would-deny. If the event cannot be written, the start is refused. The head of the chain is\n"
"kept in audit_head (root-only, rewritten on every decision); a log cut short or replaced\n"
"refuses every start (\"audit log truncated or replaced\") until vmseal-audit acknowledge.\n"
"\n"
"Judge server: every judged call loads libxml2, OpenSSL and jansson (about half of a cached\n"
"start begin). When a server of the same user listens on the socket compiled into the hook,\n"
"the hook hands the call over with its stdin, stdout, stderr and working directory: a child\n"
"of the server judges it exactly as the hook's own process would, and the hook exits with its\n"
"status. No server: the hook judges in its own process. A server that does not take the call\n"
"in 5 s, or ends without a verdict, refuses it (exit 2).\n"
"\n"
"Exit status:\n"
"  0  allowed (or an operation the hook does not judge; or enforce is false: would-deny)\n"
"  1  denied: one line on stderr, \"vmseal: denied: domain D disk T FILE: REASON\"\n"
"  2  refused because of an error (policy missing or unreadable, bad XML, I/O, bad config)\n"
"\n"
"Examples:\n"
"  vmseal-hook --policy policy.json web1 start begin - < web1.xml\n"
"  vmseal-hook --policy /tmp/p.json web1 prepare begin - < web1.xml; echo $?\n");
}

static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void sanitize_copy(char *out, size_t outlen, const char *in)
{
	snprintf(out, outlen, "%s", in);
	sanitize(out);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int config_path_value(const char *path, unsigned lineno, const char *key, const char *val,
			     char *out, struct vs_error *err)
{
	if (val[0] != '/' || strlen(val) >= VS_MAX_PATH_BYTES)
		return vs_fail(err, VS_ERR_INPUT, path, "line %u: %s must be an absolute path", lineno, key);
	strcpy(out, val);
	return 0;
}

/* qemu_user = NAME or UID (the user libvirt's DAC driver chowns images to), or none. */
static int config_uid(const char *path, unsigned lineno, const char *val, uid_t *out, struct vs_error *err)
{
	const struct passwd *pw;
	char *end;
	unsigned long u;

	if (!strcmp(val, "none")) {
		*out = FILETRUST_NO_UID;
		return 0;
	}
	errno = 0;
	u = strtoul(val, &end, 10);
	if (val[0] >= '0' && val[0] <= '9' && !*end && !errno && u < FILETRUST_NO_UID) {
		*out = (uid_t)u;
		return 0;
	}
	pw = getpwnam(val);
	if (!pw)
		return vs_fail(err, VS_ERR_INPUT, path, "line %u: qemu_user \"%.64s\" is not a user", lineno, val);
	if (pw->pw_uid == 0)
		return vs_fail(err, VS_ERR_INPUT, path, "line %u: qemu_user is root (use none)", lineno);
	*out = pw->pw_uid;
	return 0;
}

/* Reads KEY = VALUE lines; '#' starts a comment line. Unknown or repeated keys are errors, so
 * that a typo cannot silently fall back to a default. */
static int config_load(const char *path, int explicit, struct hook_config *cfg, struct vs_error *err)
{
	static const char *const keys[] = {"policy", "audit_log", "cache_dir", "no_cache", "audit_head",
					   "trust_state", "qemu_user", "state_dir", "qemu_pid_dir", NULL};
	char *data = NULL, *line, *save = NULL;
	size_t len;
	unsigned lineno = 0;
	int ret = -1;

	if (file_read_all(path, VS_MAX_HOOK_CONF_BYTES, &data, &len, err) < 0) {
		struct stat st;

		if (!explicit && lstat(path, &st) < 0 && errno == ENOENT) {
			vs_error_clear(err);
			return 0;
		}
		return -1;
	}
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq, *key, *val;
		unsigned k;

		lineno++;
		line = trim(line);
		if (!line[0] || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			vs_fail(err, VS_ERR_INPUT, path, "line %u: expected KEY = VALUE", lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		for (k = 0; keys[k] && strcmp(keys[k], key); k++)
			;
		if (!keys[k]) {
			vs_fail(err, VS_ERR_INPUT, path, "line %u: unknown key \"%.64s\"", lineno, key);
			goto out;
		}
		if (cfg->seen & (1u << k)) {
			vs_fail(err, VS_ERR_INPUT, path, "line %u: %s set twice", lineno, key);
			goto out;
		}
		cfg->seen |= 1u << k;
		if (!strcmp(key, "qemu_user")) {
			if (config_uid(path, lineno, val, &cfg->qemu_uid, err) < 0)
				goto out;
		} else if (!strcmp(key, "no_cache")) {
			if (!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "1"))
				cfg->no_cache = 1;
			else if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "0"))
				cfg->no_cache = 0;
			else {
				vs_fail(err, VS_ERR_INPUT, path, "line %u: no_cache must be true or false",
					lineno);
				goto out;
			}
		} else if (config_path_value(path, lineno, key, val,
					     !strcmp(key, "policy") ? cfg->policy :
					     !strcmp(key, "audit_log") ? cfg->audit_log :
					     !strcmp(key, "audit_head") ? cfg->audit_head :
					     !strcmp(key, "trust_state") ? cfg->trust_state :
					     !strcmp(key, "state_dir") ? cfg->state_dir :
					     !strcmp(key, "qemu_pid_dir") ? cfg->qemu_pid_dir : cfg->cache_dir,
					     err) < 0) {
			goto out;
		}
	}
	ret = 0;
out:
	free(data);
	return ret;
}

/* The hook's own state (host secret, overlay registry, started-check records): under
 * /var/lib/vmseal for the system policy, else beside the policy (as trust.state), so that a
 * test's or a manual run's policy never reaches the host's state. */
static void state_dir_path(const struct hook_config *cfg, char *out, size_t outlen)
{
	const char *slash = strrchr(cfg->policy, '/');

	if (cfg->state_dir[0])
		snprintf(out, outlen, "%s", cfg->state_dir);
	else if (!strcmp(cfg->policy, DEFAULT_POLICY))
		snprintf(out, outlen, "%s/hook", DEFAULT_STATE_DIR);
	else
		snprintf(out, outlen, "%.*s/hook-state", slash ? (int)(slash - cfg->policy) : 1,
			 slash ? cfg->policy : ".");
}

static int state_dir_ready(struct hook_config *cfg, struct vs_error *err)
{
	if (!cfg->state_dir[0]) {
		if (!strcmp(cfg->policy, DEFAULT_POLICY) && mkdir(DEFAULT_STATE_DIR, 0755) < 0 && errno != EEXIST)
			return vs_fail(err, VS_ERR_IO, DEFAULT_STATE_DIR, "cannot create: %s", strerror(errno));
		state_dir_path(cfg, cfg->state_dir, sizeof(cfg->state_dir));
	}
	return evalcache_dir_check(cfg->state_dir, err);
}

/* Context of one hook run, for the audit log and stderr. */
struct run {
	const char *op;
	char domain[VS_MAX_NAME_BYTES];
	char event[32];
	char audit_path[VS_MAX_PATH_BYTES];
	char head_path[VS_MAX_PATH_BYTES];
	int head_ok; /* the log still holds the head: this run may move it on */
	struct audit_log *log;
	int denied_rc;
};

/* mode: 0700 for the audit log's directory; 0755 for the state directory of the head file,
 * which also holds trust.state that the gateway (user vmseal) must be able to read. */
static int audit_mkdir_parent(const char *path, unsigned mode)
{
	char dir[VS_MAX_PATH_BYTES];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Appends one event (not yet durable; run_finish syncs). */
static int run_audit(struct run *run, const char *object, const char *decision, const char *reason,
		     struct vs_error *err)
{
	struct audit_event ev = {.actor = "hook", .event = run->event, .object = object,
				 .decision = decision, .reason = reason};

	if (!run->log) {
		audit_mkdir_parent(run->audit_path, 0700);
		if (audit_open(run->audit_path, &run->log, err) < 0)
			return -1;
	}
	return audit_append_nosync(run->log, &ev, err);
}

/* logrotate renames the log to LOG.1 and creates nothing: when LOG.1 holds the head where it
 * was, nothing was lost, and the chain goes on in a new LOG that continues LOG.1. */
static int rotated_by_rename(struct run *run, const struct audit_head *h)
{
	char prev[VS_MAX_PATH_BYTES];
	struct audit_head cont;
	struct vs_error e = {0};

	if ((size_t)snprintf(prev, sizeof(prev), "%s.1", run->audit_path) >= sizeof(prev) ||
	    audit_head_check(prev, h, &e) < 0)
		return 0;
	return audit_continue(run->audit_path, prev, "hook", &cont, &e) == 0;
}

/* The head this hook last left in the log must still be there: a log cut short, or replaced
 * by another file (a guest's serial console aimed at it, an rm and a fresh chain), refuses
 * every start until vmseal-audit acknowledge records that an administrator saw it. */
static int head_check(struct run *run, const struct hook_config *cfg, struct vs_error *err)
{
	char log[VS_MAX_PATH_BYTES];
	struct audit_head h;
	int exists;

	if (cfg->audit_head[0])
		snprintf(run->head_path, sizeof(run->head_path), "%s", cfg->audit_head);
	else if (!strcmp(run->audit_path, DEFAULT_AUDIT_LOG))
		snprintf(run->head_path, sizeof(run->head_path), "%s", DEFAULT_AUDIT_HEAD);
	else if ((size_t)snprintf(run->head_path, sizeof(run->head_path), "%s.head", run->audit_path) >=
		 sizeof(run->head_path))
		return vs_fail(err, VS_ERR_INPUT, run->audit_path, "audit log path too long for its head file");
	if (audit_head_load(run->head_path, log, sizeof(log), &h, &exists, err) < 0)
		return -1;
	if (exists && strcmp(log, run->audit_path))
		return vs_fail(err, VS_ERR_DENIED, run->audit_path,
			       "audit log truncated or replaced: the head in %s is for %s (acknowledge with vmseal-audit acknowledge)",
			       run->head_path, log);
	if (exists && audit_head_check(run->audit_path, &h, err) < 0) {
		size_t l = strlen(err->reason);

		if (err->kind != VS_ERR_DENIED)
			return -1;
		if (!rotated_by_rename(run, &h)) {
			snprintf(err->reason + l, sizeof(err->reason) - l,
				 " (acknowledge with vmseal-audit acknowledge --head %s)", run->head_path);
			return -1;
		}
		vs_error_clear(err);
	}
	run->head_ok = 1;
	return 0;
}

static int run_sync(struct run *run, struct vs_error *err)
{
	int r = 0;

	if (run->log) {
		r = audit_sync(run->log, err);
		if (r == 0 && run->head_ok) {
			audit_mkdir_parent(run->head_path, 0755);
			r = audit_head_advance(run->head_path, run->log, run->audit_path, err);
		}
		audit_close(run->log);
		run->log = NULL;
	}
	return r;
}

/* Denies the whole domain for err (before or outside any disk): audit, one stderr line. */
static int deny_domain(struct run *run, const struct vs_error *why)
{
	char object[VS_MAX_NAME_BYTES + 16], reason[VS_ERR_OBJECT_MAX + VS_ERR_REASON_MAX + 4];
	struct vs_error aerr = {0};

	snprintf(object, sizeof(object), "domain %s", run->domain);
	if (why->object[0])
		snprintf(reason, sizeof(reason), "%s: %s", why->object, why->reason);
	else
		snprintf(reason, sizeof(reason), "%s", why->reason);
	if (run_audit(run, object, "deny", reason, &aerr) < 0 || run_sync(run, &aerr) < 0)
		fprintf(stderr, "%s: denied: %s: %s (and the audit log failed: %s: %s)\n", PROG, object,
			reason, aerr.object, aerr.reason);
	else
		fprintf(stderr, "%s: denied: %s: %s\n", PROG, object, reason);
	return why->kind == VS_ERR_DENIED ? 1 : 2;
}

/* vmseal's own paths: no domain XML may name them (a file chardev into the cache directory
 * forges allow-cache entries, one onto the audit log truncates it). */
static int protect_paths(const struct hook_config *cfg, const struct run *run,
			 struct domallow_protect *pr, struct vs_error *err)
{
	char root[VS_MAX_PATH_BYTES + 16];
	const char *slash = strrchr(cfg->policy, '/');

	snprintf(root, sizeof(root), "%.*s/root.json", slash ? (int)(slash - cfg->policy) : 1,
		 slash ? cfg->policy : ".");
	memset(pr, 0, sizeof(*pr));
	if (domallow_protect_add(pr, cfg->policy, "policy", err) < 0 ||
	    domallow_protect_add(pr, root, "root of trust", err) < 0 ||
	    domallow_protect_add(pr, run->audit_path, "audit log", err) < 0 ||
	    domallow_protect_add(pr, cfg->cache_dir, "cache directory", err) < 0 ||
	    domallow_protect_add(pr, DEFAULT_STATE_DIR, "state directory", err) < 0 ||
	    domallow_protect_add(pr, "/etc/vmseal", "configuration directory", err) < 0 ||
	    domallow_protect_add(pr, "/var/log/vmseal", "audit log directory", err) < 0 ||
	    domallow_protect_add(pr, DEFAULT_CACHE_DIR, "cache directory", err) < 0)
		return -1;
	if (cfg->path[0] && domallow_protect_add(pr, cfg->path, "hook configuration", err) < 0)
		return -1;
	if (run->head_path[0] && domallow_protect_add(pr, run->head_path, "audit head", err) < 0)
		return -1;
	if (cfg->trust_state[0])
		snprintf(root, sizeof(root), "%s", cfg->trust_state);
	else
		trust_state_path_for(cfg->policy, root, sizeof(root));
	if (domallow_protect_add(pr, root, "trust state", err) < 0)
		return -1;
	state_dir_path(cfg, root, sizeof(root));
	if (domallow_protect_add(pr, root, "hook state directory", err) < 0)
		return -1;
	/* what runs the judge: libvirt's hooks (the first stage among them) and configuration, this
	 * judge, the judge server's socket (a socket bound over it would answer for the server) */
	if (domallow_protect_add(pr, "/etc/libvirt", "libvirt configuration and hooks", err) < 0 ||
	    domallow_protect_add(pr, HOOK_SERVE_DIR, "judge server directory", err) < 0)
		return -1;
	{
		Dl_info self;

		if (dladdr((void *)protect_paths, &self) && self.dli_fname && self.dli_fname[0] == '/' &&
		    domallow_protect_add(pr, self.dli_fname, "hook judge", err) < 0)
			return -1;
	}
	return 0;
}

/* The whole domain against the allow-list (lib/domallow): -1 when denied (printed and audited,
 * run->denied_rc set); a refusal with enforce false becomes a would-deny (*would). rec
 * non-NULL: the boot files allowed are added to it. */
static int judge_whole_domain(struct run *run, const struct hook_config *cfg, const struct policy *policy,
			      const char *xml, size_t xmllen, int *would, struct started_record *rec)
{
	struct domallow_protect *pr = calloc(1, sizeof(*pr));
	struct domallow_result *res = calloc(1, sizeof(*res));
	struct domallow_opts o = {.launch = &policy->launch, .protect = pr};
	/* boot files pass the same ownership rule as disk layers (lib/filetrust.h); at start
	 * begin the inodes judged are kept for started begin, as the disks' are */
	const struct filetrust_opts trust = {.qemu_uid = cfg->qemu_uid,
					     .allow_remote_fs = policy->allow_remote_fs,
					     .allow_san = policy->allow_san_disks, .record = rec};
	struct vs_error err = {0};
	int r = -1;

	if (!pr || !res) {
		vs_fail(&err, VS_ERR_INTERNAL, "hook", "out of memory");
		goto deny;
	}
	if (protect_paths(cfg, run, pr, &err) < 0)
		goto deny;
	if (domallow_operation_check(&policy->launch, run->op, &err) < 0 ||
	    domallow_check(xml, xmllen, &o, res, &err) < 0 ||
	    domallow_boot_check(policy, res, vs_now(), &trust, &err) < 0) {
		char dobj[VS_MAX_NAME_BYTES + 16], reason[VS_ERR_OBJECT_MAX + VS_ERR_REASON_MAX + 4];

		if (policy_refusal(policy, &err) != DECISION_ALLOW_AUDIT_ONLY)
			goto deny;
		snprintf(dobj, sizeof(dobj), "domain %s", run->domain);
		snprintf(reason, sizeof(reason), "%s%s%s", err.object, err.object[0] ? ": " : "", err.reason);
		if (run_audit(run, dobj, "would-deny", reason, &err) < 0)
			goto deny;
		fprintf(stderr, "%s: would deny (enforce is false): domain %s: %s\n", PROG, run->domain, reason);
		*would = 1;
	} else {
		/* what booted, and what covered it: one event per boot file */
		for (size_t i = 0; i < res->nboot; i++) {
			char object[VS_MAX_NAME_BYTES + VS_MAX_PATH_BYTES + 80];

			snprintf(object, sizeof(object), "domain %s %s %s", run->domain, res->boot[i].element,
				 res->boot[i].path);
			sanitize(object);
			if (run_audit(run, object, "allow", res->boot[i].verdict, &err) < 0)
				goto deny;
		}
	}
	r = 0;
	goto out;
deny:
	run->denied_rc = deny_domain(run, &err);
out:
	free(pr);
	free(res);
	return r;
}

static int judge_domain(struct run *run, struct hook_config *cfg, const char *argv_domain)
{
	struct policy *policy = NULL;
	struct domain_xml *dom = NULL;
	struct diskcheck dc;
	struct vs_error err = {0};
	char *xml = NULL;
	size_t xmllen;
	const char *cache_dir = NULL;
	char dobj[VS_MAX_NAME_BYTES + 16];
	uint8_t secret[HOSTSECRET_BYTES];
	struct started_record rec = {0}, prev = {0};
	int rc, would = 0, have_secret = 0, have_prev = 0, keep = !strcmp(run->op, "start");

	diskcheck_init(&dc, NULL, vs_now(), NULL);
	if (fd_read_all(STDIN_FILENO, "domain XML on stdin", VS_MAX_XML_BYTES, &xml, &xmllen, &err) < 0 ||
	    policy_load_state_opts(cfg->policy, cfg->trust_state[0] ? cfg->trust_state : NULL, POLICY_LAZY_KEYS,
				   &policy, &err) < 0) {
		rc = deny_domain(run, &err);
		goto out;
	}
	if (policy->warning[0])
		fprintf(stderr, "vmseal: warning: %s: %s\n", cfg->policy, policy->warning);
	if (!cfg->audit_log[0] && policy->audit_log[0])
		snprintf(run->audit_path, sizeof(run->audit_path), "%s", policy->audit_log);
	if (head_check(run, cfg, &err) < 0) {
		rc = deny_domain(run, &err);
		goto out;
	}
	if (domxml_parse(xml, xmllen, &dom, &err) < 0) {
		rc = deny_domain(run, &err);
		goto out;
	}
	if (strcmp(dom->name, argv_domain)) {
		vs_fail(&err, VS_ERR_INPUT, "domain XML", "names domain \"%s\", libvirt passed \"%s\"",
			dom->name, argv_domain);
		rc = deny_domain(run, &err);
		goto out;
	}
	if (judge_whole_domain(run, cfg, policy, xml, xmllen, &would, keep ? &rec : NULL) < 0) {
		rc = run->denied_rc;
		goto out;
	}
	{
		struct vs_error serr;

		/* Without the state directory and its secret: no cache, no overlay registry (only
		 * overlays empty now are exempt), and start begin denies (it keeps a record). */
		have_secret = state_dir_ready(cfg, &serr) == 0 &&
			      hostsecret_load(cfg->state_dir, 1, secret, &serr) == 0;
		/* An unusable cache directory only costs time: judge everything afresh. */
		if (have_secret && !cfg->no_cache && evalcache_dir_check(cfg->cache_dir, &serr) == 0)
			cache_dir = cfg->cache_dir;
	}
	/* A record of the domain's last allowed start still there: its run saw no release end */
	if (have_secret) {
		struct vs_error rerr;

		have_prev = started_record_read(cfg->state_dir, secret, argv_domain, &prev, &rerr) == 0;
	}
	diskcheck_init(&dc, policy, vs_now(), cache_dir);
	dc.unstopped = have_prev ? &prev : NULL;
	dc.secret = cache_dir ? secret : NULL;
	dc.state_dir = cfg->state_dir;
	dc.state_secret = have_secret ? secret : NULL;
	dc.domain = argv_domain;
	dc.register_overlays = keep;
	dc.trust.qemu_uid = cfg->qemu_uid;
	/* start begin keeps what it verified, for the started begin check */
	snprintf(rec.domain, sizeof(rec.domain), "%s", argv_domain);
	rec.enforce = policy->enforce;
	snprintf(rec.audit_log, sizeof(rec.audit_log), "%s", run->audit_path);
	if (keep)
		dc.record = &rec;
	for (size_t i = 0; i < dom->ndisks; i++) {
		const struct domain_disk *d = &dom->disks[i];
		const struct disk_layer *top = &d->layers[0];
		char object[VS_MAX_NAME_BYTES + DOMXML_TARGET_MAX + VS_MAX_PATH_BYTES + 32], target[DOMXML_TARGET_MAX];
		struct disk_result r;
		const char *decision;
		char reason[VS_ERR_OBJECT_MAX + VS_ERR_REASON_MAX + 4];
		const char *src = top->source ? top->source : top->remote ? top->remote : "";

		sanitize_copy(target, sizeof(target), d->target[0] ? d->target : "?");
		snprintf(object, sizeof(object), "domain %s disk %s%s%s", run->domain, target,
			 src[0] ? " " : "", src);
		sanitize(object);
		diskcheck_disk(&dc, d, &r);
		if (r.decision == DECISION_ALLOW) {
			decision = "allow";
			snprintf(reason, sizeof(reason), "%s", r.summary);
		} else {
			decision = r.decision == DECISION_DENY ? "deny" : "would-deny";
			/* the failing layer, when it is not the disk's own file */
			if (r.why.object[0] && strcmp(r.why.object, src))
				snprintf(reason, sizeof(reason), "%s: %s", r.why.object, r.why.reason);
			else
				snprintf(reason, sizeof(reason), "%s", r.why.reason);
		}
		if (run_audit(run, object, decision, reason, &err) < 0) {
			rc = deny_domain(run, &err);
			goto out;
		}
		if (r.decision == DECISION_DENY) {
			struct vs_error serr = {0};

			if (run_sync(run, &serr) < 0)
				fprintf(stderr, "%s: denied: %s: %s (and the audit log failed: %s)\n", PROG,
					object, reason, serr.reason);
			else
				fprintf(stderr, "%s: denied: %s: %s\n", PROG, object, reason);
			rc = r.why.kind == VS_ERR_DENIED ? 1 : 2;
			goto out;
		}
		if (r.decision == DECISION_ALLOW_AUDIT_ONLY) {
			fprintf(stderr, "%s: would deny (enforce is false): %s: %s\n", PROG, object, reason);
			would = 1;
		}
	}
	snprintf(dobj, sizeof(dobj), "domain %s", run->domain);
	if (dom->ndisks == 0 && run_audit(run, dobj, would ? "would-deny" : "allow", "no disks", &err) < 0) {
		rc = deny_domain(run, &err);
		goto out;
	}
	if (keep && ((!have_secret && (state_dir_ready(cfg, &err) < 0 ||
				       hostsecret_load(cfg->state_dir, 1, secret, &err) < 0)) ||
		     started_record_write(cfg->state_dir, secret, &rec, &err) < 0)) {
		vs_error_prefix(&err, "cannot keep what start begin verified");
		rc = deny_domain(run, &err);
		goto out;
	}
	/* An allow that cannot be made durable in the audit log is no allow. */
	if (run_sync(run, &err) < 0) {
		fprintf(stderr, "%s: denied: domain %s: cannot write the audit log: %s: %s\n", PROG,
			run->domain, err.object, err.reason);
		rc = 2;
		goto out;
	}
	rc = 0;
out:
	hostsecret_wipe(secret);
	started_record_free(&rec);
	started_record_free(&prev);
	if (run->log)
		audit_close(run->log);
	diskcheck_free(&dc);
	domxml_free(dom);
	policy_free(policy);
	free(xml);
	return rc;
}

/* started begin: the image files QEMU holds must be the ones start begin verified (a path
 * swapped in between is caught here; libvirt kills the domain when this exits non-zero). */
static int check_started(struct run *run, struct hook_config *cfg, const char *argv_domain)
{
	struct policy *policy = NULL;
	/* what start begin decided under: its enforce, for the one audit-only rule (policy_refusal) */
	struct policy under = {0};
	struct started_record rec = {0};
	struct vs_error err = {0}, rerr = {0};
	uint8_t secret[HOSTSECRET_BYTES];
	char object[VS_MAX_NAME_BYTES + 16], reason[VS_ERR_OBJECT_MAX + VS_ERR_REASON_MAX + 64];
	pid_t pid;
	int rc, have_rec;

	memset(secret, 0, sizeof(secret));
	/* start begin's MAC'd record says what it verified, under which enforce, into which audit
	 * log: this check needs no policy (reading one costs with its size). Only without a record
	 * that names its log is the policy read, for its audit_log. */
	have_rec = state_dir_ready(cfg, &rerr) == 0 && hostsecret_load(cfg->state_dir, 0, secret, &rerr) == 0 &&
		   started_record_read(cfg->state_dir, secret, argv_domain, &rec, &rerr) == 0;
	if (!cfg->audit_log[0] && have_rec && rec.audit_log[0]) {
		snprintf(run->audit_path, sizeof(run->audit_path), "%s", rec.audit_log);
	} else if (!cfg->audit_log[0]) {
		if (policy_load_state_opts(cfg->policy, cfg->trust_state[0] ? cfg->trust_state : NULL,
					   POLICY_LAZY_KEYS, &policy, &err) < 0) {
			rc = deny_domain(run, &err);
			goto out;
		}
		if (policy->audit_log[0])
			snprintf(run->audit_path, sizeof(run->audit_path), "%s", policy->audit_log);
	}
	if (!have_rec) {
		rc = deny_domain(run, &rerr);
		goto out;
	}
	under.enforce = rec.enforce;
	if (head_check(run, cfg, &err) < 0 || started_read_pid(cfg->qemu_pid_dir, argv_domain, &pid, &err) < 0) {
		rc = deny_domain(run, &err);
		goto out;
	}
	snprintf(object, sizeof(object), "domain %s", run->domain);
	if (started_check_pid(&rec, "/proc", pid, &err) < 0) {
		const char *decision = policy_refusal(&under, &err) == DECISION_ALLOW_AUDIT_ONLY ? "would-deny" : "deny";
		struct vs_error aerr = {0};

		snprintf(reason, sizeof(reason), "swap: %s: %s", err.object, err.reason);
		sanitize(reason);
		if (run_audit(run, object, decision, reason, &aerr) < 0 || run_sync(run, &aerr) < 0)
			fprintf(stderr, "%s: denied: %s: %s (and the audit log failed: %s)\n", PROG, object,
				reason, aerr.reason);
		else if (!strcmp(decision, "would-deny"))
			fprintf(stderr, "%s: would deny (enforce is false): %s: %s\n", PROG, object, reason);
		else
			fprintf(stderr, "%s: denied: %s: %s\n", PROG, object, reason);
		rc = !strcmp(decision, "would-deny") ? 0 : err.kind == VS_ERR_DENIED ? 1 : 2;
		goto out;
	}
	{
		size_t nboot = 0;

		for (size_t i = 0; i < rec.nfiles; i++)
			nboot += rec.files[i].kind == STARTED_BOOT;
		if (nboot)
			snprintf(reason, sizeof(reason),
				 "QEMU (pid %d) holds the %zu files start begin verified; the %zu boot files it read are unchanged",
				 (int)pid, rec.nfiles - nboot, nboot);
		else
			snprintf(reason, sizeof(reason), "QEMU (pid %d) holds the %zu files start begin verified",
				 (int)pid, rec.nfiles);
	}
	if (run_audit(run, object, "allow", reason, &err) < 0 || run_sync(run, &err) < 0) {
		fprintf(stderr, "%s: denied: %s: cannot write the audit log: %s: %s\n", PROG, object, err.object,
			err.reason);
		rc = 2;
		goto out;
	}
	rc = 0;
out:
	hostsecret_wipe(secret);
	started_record_free(&rec);
	policy_free(policy);
	if (run->log)
		audit_close(run->log);
	return rc;
}

/* release end: the run that start begin allowed is over. Each registered overlay its record
 * lists gets the state the run left (its guest's writes), and the record goes: an overlay
 * written after this, while the domain is off, is no longer exempt (lib/diskcheck.c). Nothing
 * to do without a record (a start refused, or a domain not started through the hook). */
static int release_domain(struct hook_config *cfg, const char *argv_domain)
{
	struct started_record rec = {0};
	struct vs_error err = {0};
	uint8_t secret[HOSTSECRET_BYTES];
	int rc = 0;

	memset(secret, 0, sizeof(secret));
	if (state_dir_ready(cfg, &err) < 0 || hostsecret_load(cfg->state_dir, 0, secret, &err) < 0 ||
	    started_record_read(cfg->state_dir, secret, argv_domain, &rec, &err) < 0)
		goto out; /* no state, no secret or no record: no registration to carry on */
	for (size_t i = 0; i < rec.nfiles; i++) {
		const struct started_file *f = &rec.files[i];
		struct overlay_id id;
		struct overlay_state was, now;
		struct stat st;
		int fd;

		if (f->kind != STARTED_HELD ||
		    vs_open_input(f->path, VS_INPUT_REG, NULL, &fd, &st, NULL) < 0)
			continue; /* gone: nothing to carry on */
		overlay_state_of(&st, &now);
		if ((uint64_t)st.st_dev == f->dev && (uint64_t)st.st_ino == f->ino &&
		    overlay_id_of(fd, f->path, &id, NULL) == 0 &&
		    overlayreg_lookup(cfg->state_dir, secret, &id, argv_domain, &was) &&
		    overlayreg_add(cfg->state_dir, secret, &id, argv_domain, &now, &err) < 0) {
			close(fd);
			goto fail;
		}
		close(fd);
	}
	if (started_record_remove(cfg->state_dir, argv_domain, &err) < 0)
		goto fail;
	goto out;
fail:
	/* libvirt logs a failed release hook and goes on; the record stays, so the next start
	 * takes the overlay as the guest left it (as after a crash) */
	fprintf(stderr, "%s: domain %s: release: %s: %s\n", PROG, argv_domain, err.object, err.reason);
	rc = 2;
out:
	hostsecret_wipe(secret);
	started_record_free(&rec);
	return rc;
}

/* The hook proper (lib/hookop.h): argv as libvirt, or a user, gave it to the first stage. */
int vmseal_hook_judge_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'}, {"policy", required_argument, NULL, 'p'},
		{"audit-log", required_argument, NULL, 'a'}, {"no-cache", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{"serve", no_argument, NULL, 'S'}, {"socket", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct hook_config cfg = {.policy = DEFAULT_POLICY, .cache_dir = DEFAULT_CACHE_DIR,
				  .qemu_pid_dir = DEFAULT_QEMU_PID_DIR, .qemu_uid = FILETRUST_NO_UID};
	const char *config = NULL, *opt_policy = NULL, *opt_audit = NULL, *opt_socket = NULL;
	struct run run = {0};
	struct vs_error err = {0};
	int opt_no_cache = 0, explicit_config = 0, opt_serve = 0, c;
	char **pos;

	/* The host secret (the allow-cache's and the records' MAC key) is loaded below: no core
	 * dump of this process, no ptrace by other root-less processes. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* no secure heap: the secret is a wiped stack buffer */
	/* libvirt's exact call (4 arguments, the last "-") is never parsed for options, so that a
	 * domain name starting with '-' cannot be taken for one. */
	if (hook_argv_is_libvirt(argc, argv)) {
		pos = argv + 1;
	} else {
		while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
			switch (c) {
			case 'c': config = optarg; explicit_config = 1; break;
			case 'p': opt_policy = optarg; break;
			case 'a': opt_audit = optarg; break;
			case 'n': opt_no_cache = 1; break;
			case 'h': usage(stdout); return 0;
			case 'V': return cli_version("vmseal-hook");
			case 'S': opt_serve = 1; break;
			case 's': opt_socket = optarg; break;
			default:
				return cli_usage_error(PROG, "bad option %s", cli_bad_option(argv));
			}
		}
		if (opt_serve || opt_socket) {
			if (hook_serve_in_child())
				return cli_usage_error(PROG, "--serve: not in a call the judge server serves");
			if (!opt_serve || config || opt_policy || opt_audit || opt_no_cache || optind != argc)
				return cli_usage_error(PROG, "usage: vmseal-hook --serve [--socket PATH]");
			return hook_serve(opt_socket ? opt_socket : DEFAULT_SOCKET, vmseal_hook_judge_main);
		}
		if (argc - optind < 3 || argc - optind > 4)
			return cli_usage_error(PROG, "usage: vmseal DOMAIN OPERATION SUB-OPERATION -");
		pos = argv + optind;
	}
	if (!hook_op_judged(pos[1], pos[2]))
		return 0;

	run.op = pos[1];
	sanitize_copy(run.domain, sizeof(run.domain), pos[0]);
	snprintf(run.event, sizeof(run.event), "hook.%s", pos[1]);
	/* As OpenSSL's implicit first use would (configuration loaded), but without its atexit
	 * handler: freeing every provider and table at exit cost ~0.3 ms per run, and libvirt waits
	 * for the hook. The host secret is wiped where it is used, not at exit. */
	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL) != 1) {
		vs_fail(&err, VS_ERR_INTERNAL, "OpenSSL", "cannot initialise libcrypto");
		return deny_domain(&run, &err);
	}
	/* --audit-log holds even when the config file is refused (that denial is logged too). */
	snprintf(run.audit_path, sizeof(run.audit_path), "%s", opt_audit ? opt_audit : DEFAULT_AUDIT_LOG);
	if (config_load(config ? config : DEFAULT_CONFIG, explicit_config, &cfg, &err) < 0)
		return deny_domain(&run, &err);
	snprintf(cfg.path, sizeof(cfg.path), "%s", config ? config : DEFAULT_CONFIG);
	if (opt_policy)
		snprintf(cfg.policy, sizeof(cfg.policy), "%s", opt_policy);
	if (opt_audit)
		snprintf(cfg.audit_log, sizeof(cfg.audit_log), "%s", opt_audit);
	if (opt_no_cache)
		cfg.no_cache = 1;
	if (cfg.audit_log[0])
		snprintf(run.audit_path, sizeof(run.audit_path), "%s", cfg.audit_log);
	if (!strcmp(run.op, "started"))
		return check_started(&run, &cfg, pos[0]);
	if (!strcmp(run.op, "release"))
		return release_domain(&cfg, pos[0]);
	return judge_domain(&run, &cfg, pos[0]);
}
