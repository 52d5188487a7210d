/* SPDX-License-Identifier: Apache-2.0 */
/* Boot-file decisions: pins first (cheap for small distribution firmware), then the boot
 * attestation; signatures, expiry and revocation are policy.c's, never repeated here. */
#include "bootfile.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "dsse.h"
#include "merkle.h"
#include "started.h"
#include "util.h"

/* Opens path with the one safe open (lib/util.c: never blocks on a FIFO, no controlling tty,
 * fstat before any read) as a regular file. A missing file or one of another type is a verdict
 * (VS_ERR_DENIED in err, *missing set when not found); other failures are errors. */
static int open_regular(const char *path, const char *what, struct stat *st, int *missing,
			struct vs_error *err)
{
	int fd;

	*missing = 0;
	if (vs_open_input(path, VS_INPUT_REG, what, &fd, st, err) == 0)
		return fd;
	*missing = err->kind == VS_ERR_NOTFOUND;
	if (*missing || err->kind == VS_ERR_INPUT)
		err->kind = VS_ERR_DENIED;
	return -1;
}

static int cmdline_listed(const char (*list)[VS_MAX_CMDLINE_BYTES], size_t n, const char *cmdline)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], cmdline))
			return 1;
	return 0;
}

static void deny_cmdline(struct bootfile_result *r, const char *path, const char *cmdline,
			 const char *by)
{
	char shown[160];

	/* Quote the command line safely: it came from the domain XML. */
	snprintf(shown, sizeof(shown), "%s", cmdline);
	for (char *c = shown; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '"')
			*c = '?';
	vs_fail(&r->why, VS_ERR_DENIED, path, "kernel command line \"%s\"%s is not one %s allows", shown,
		strlen(cmdline) >= sizeof(shown) ? "…" : "", by);
}

/* Pins: 1 when a pin decided (r filled: allow or deny), 0 when none applies, -1 on I/O error. */
static int check_pins(const struct policy *p, enum boot_kind kind, int fd, const struct stat *st,
		      const char *path, const char *cmdline, struct bootfile_result *r, struct vs_error *err)
{
	const struct policy_boot_pin *path_pin = NULL, *match = NULL;
	struct merkle_result mr;
	char hex[VS_SHA256_HEX_BYTES];
	int any = 0;

	for (size_t i = 0; i < p->boot.npins; i++) {
		const struct policy_boot_pin *pin = &p->boot.pins[i];
		struct stat pst;

		if (pin->kind != kind)
			continue;
		any = 1;
		if (pin->path[0] && (!strcmp(pin->path, path) ||
				     (stat(pin->path, &pst) == 0 && pst.st_dev == st->st_dev &&
				      pst.st_ino == st->st_ino)))
			path_pin = pin;
	}
	if (!any)
		return 0;
	if (merkle_root_fd(fd, path, NULL, &mr, err) < 0)
		return -1;
	hex_encode(mr.root, 32, hex);
	for (size_t i = 0; i < p->boot.npins && !match; i++) {
		const struct policy_boot_pin *pin = &p->boot.pins[i];

		if (pin->kind != kind || pin->size != mr.size || strcmp(pin->digest, hex))
			continue;
		/* With a pin for this path, only pins for this path count. */
		if (path_pin ? pin->path[0] && (pin == path_pin || !strcmp(pin->path, path_pin->path))
			     : !pin->path[0])
			match = pin;
	}
	if (!match && !path_pin)
		return 0;
	if (!match) {
		vs_fail(&r->why, VS_ERR_DENIED, path,
			"pinned digest mismatch: the %s is %.16s… (%llu bytes), the policy pins %.16s… (%llu bytes) for %s",
			boot_kind_name(kind), hex, (unsigned long long)mr.size, path_pin->digest,
			(unsigned long long)path_pin->size, path_pin->path);
		return 1;
	}
	if (policy_digest_revoked(p, hex)) {
		vs_fail(&r->why, VS_ERR_DENIED, path, "digest %.16s… is revoked by the policy", hex);
		return 1;
	}
	if (kind == BOOT_KIND_KERNEL &&
	    !cmdline_listed((const char (*)[VS_MAX_CMDLINE_BYTES])match->cmdlines, match->ncmdlines, cmdline)) {
		deny_cmdline(r, path, cmdline, "the policy's pin");
		return 1;
	}
	r->pinned = 1;
	r->decision = DECISION_ALLOW;
	snprintf(r->summary, sizeof(r->summary), "%s pinned by the policy: digest %.16s…, %llu bytes",
		 boot_kind_name(kind), hex, (unsigned long long)mr.size);
	return 1;
}

/* Every boot rule matching the Statement's name and kind must accept its signatures and version. */
static int check_rules(const struct policy *p, const struct dsse_envelope *env, enum boot_kind kind,
		       const char *path, int64_t now, struct bootfile_result *r)
{
	size_t matched = 0;

	for (size_t i = 0; i < p->boot.nrules; i++) {
		const struct policy_boot_rule *rule = &p->boot.rules[i];
		char label[VS_MAX_NAME_BYTES + 32], prefix[VS_MAX_NAME_BYTES + 32];

		if (!(rule->kinds & (1u << kind)) || fnmatch(rule->match, r->st.template_name, 0))
			continue;
		matched++;
		snprintf(label, sizeof(label), "boot rule \"%s\"", rule->match);
		snprintf(prefix, sizeof(prefix), "%s: ", label);
		memset(r->signers, 0, sizeof(r->signers));
		if (policy_check_signatures(p, env, (const char (*)[KEY_ID_HEX_LEN + 1])rule->keys, rule->nkeys,
					    rule->threshold, USAGE_BOOT, label, prefix, path, now,
					    r->st.signed_at, &r->valid, r->signers, &r->why) < 0)
			return -1;
		if (r->st.template_version < rule->min_version)
			return vs_fail(&r->why, VS_ERR_DENIED, path,
				       "%s \"%s\" version %lld is below %s's min_version %lld",
				       boot_kind_name(kind), r->st.template_name, (long long)r->st.template_version,
				       label, (long long)rule->min_version);
	}
	if (!matched)
		return vs_fail(&r->why, VS_ERR_DENIED, path, "no boot rule of the policy matches %s \"%s\"",
			       boot_kind_name(kind), r->st.template_name);
	return 0;
}

static int check_attestation(const struct policy *p, enum boot_kind kind, int fd, const char *path,
			     const char *cmdline, int64_t now, struct bootfile_result *r, struct vs_error *err)
{
	struct dsse_envelope *env = NULL;
	struct merkle_result mr = {0};
	struct attest a;
	char *buf = NULL;
	size_t len;
	int opened, ret = -1;

	opened = attest_open(path, NULL, &a, &r->why, err);
	if (opened < 0)
		return -1;
	if (opened == 1) { /* missing or not a file: a verdict */
		r->unsigned_file = a.missing;
		if (a.missing)
			vs_fail(&r->why, VS_ERR_DENIED, path,
				"unsigned %s: no attestation (%s not found) and no pin of the policy covers it",
				boot_kind_name(kind), a.path);
		return 0;
	}
	opened = attest_read(&a, path, &buf, &len, &r->why, err);
	if (opened != 0) {
		ret = opened < 0 ? -1 : 0;
		goto out;
	}
	ret = 0;
	if (policy_open_attestation(buf, len, path, &env, &r->st, &r->why) < 0)
		goto out;
	if (r->st.predicate != STATEMENT_BOOT) {
		vs_fail(&r->why, VS_ERR_DENIED, path,
			"the attestation is for a disk image template (\"%s\"), not a boot file",
			r->st.template_name);
		goto out;
	}
	if (r->st.boot_kind != kind) {
		vs_fail(&r->why, VS_ERR_DENIED, path, "signed as %s \"%s\", used as %s",
			boot_kind_name(r->st.boot_kind), r->st.template_name, boot_kind_name(kind));
		goto out;
	}
	if (check_rules(p, env, kind, path, now, r) < 0)
		goto out;
	if (kind == BOOT_KIND_KERNEL &&
	    !cmdline_listed((const char (*)[VS_MAX_CMDLINE_BYTES])r->st.cmdlines, r->st.ncmdlines, cmdline)) {
		deny_cmdline(r, path, cmdline, "the kernel's Statement");
		goto out;
	}
	if (policy_check_subject(p, fd, path, &r->st, now, NULL, &mr, &r->why, err) < 0) {
		ret = -1;
		goto out;
	}
	if (r->why.kind != VS_ERR_NONE)
		goto out;
	r->decision = DECISION_ALLOW;
	snprintf(r->summary, sizeof(r->summary), "signed %s \"%s\" version %lld, %u signature%s (keyid %.8s…)",
		 boot_kind_name(kind), r->st.template_name, (long long)r->st.template_version, r->valid,
		 r->valid == 1 ? "" : "s", r->signers[0]);
out:
	dsse_free(env);
	free(buf);
	attest_close(&a);
	return ret;
}

/* Adds an allowed boot file with status st (as judged) to trust->record. A file of kind nvram
 * is either an NVRAM template, which libvirt copies and QEMU never opens, or the VM's NVRAM
 * file, which QEMU holds while it runs (and writes: its times change): bootfile_check_nvram
 * adds that one, as held. The others QEMU reads at its start. */
static int record_judged(const struct filetrust_opts *trust, enum boot_kind kind, const struct stat *st,
			 const char *path, struct vs_error *err)
{
	if (!trust || !trust->record)
		return 0;
	if (kind == BOOT_KIND_NVRAM)
		return started_record_add(trust->record, st->st_dev, st->st_ino, path, err);
	return started_record_add_boot(trust->record, st, path, err);
}

int bootfile_check(const struct policy *p, enum boot_kind kind, const char *path, const char *cmdline,
		   int64_t now, const struct filetrust_opts *trust, struct bootfile_result *r,
		   struct vs_error *err)
{
	struct stat st;
	int fd, ret = -1, pinned, missing;

	memset(r, 0, sizeof(*r));
	r->decision = DECISION_DENY;
	if (kind == BOOT_KIND_NONE)
		return vs_fail(err, VS_ERR_INTERNAL, path, "bootfile_check without a boot kind");
	if (!cmdline)
		cmdline = ""; /* no <cmdline>: QEMU boots the kernel with an empty one */
	fd = open_regular(path, boot_kind_name(kind), &st, &missing, &r->why);
	if (fd < 0) {
		if (r->why.kind != VS_ERR_DENIED) {
			*err = r->why;
			return -1;
		}
		goto verdict;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	/* Only root may be able to change what is checked before QEMU opens it. */
	if (trust && filetrust_fd(fd, path, trust, &r->why) < 0) {
		if (r->why.kind != VS_ERR_DENIED) {
			*err = r->why;
			goto out;
		}
		goto verdict;
	}
	pinned = check_pins(p, kind, fd, &st, path, cmdline, r, err);
	if (pinned < 0)
		goto out;
	if (!pinned && check_attestation(p, kind, fd, path, cmdline, now, r, err) < 0)
		goto out;
verdict:
	if (r->decision == DECISION_ALLOW) {
		vs_error_clear(&r->why);
		if (kind != BOOT_KIND_NVRAM && record_judged(trust, kind, &st, path, err) < 0)
			goto out;
	} else {
		r->decision = policy_denial(p);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* 1 when the file open on fd and the file at b have the same size and Merkle digest, 0 when
 * not, -1 on error. */
static int same_content(int fd, const char *a, const char *b, struct vs_error *err)
{
	struct merkle_result ma, mb;

	if (merkle_root_fd(fd, a, NULL, &ma, err) < 0 || merkle_root_path(b, NULL, &mb, err) < 0)
		return -1;
	return ma.size == mb.size && !memcmp(ma.root, mb.root, sizeof(ma.root));
}

int bootfile_check_nvram(const struct policy *p, const char *path, const char *template_path,
			 int64_t now, const struct filetrust_opts *trust, struct bootfile_result *r,
			 struct vs_error *err)
{
	struct stat st;
	int same, fd, missing;

	if (template_path) {
		if (bootfile_check(p, BOOT_KIND_NVRAM, template_path, NULL, now, trust, r, err) < 0)
			return -1;
		if (r->decision != DECISION_ALLOW)
			return 0;
	}
	if (lstat(path, &st) < 0 && errno == ENOENT) {
		/* Nothing to open yet. libvirt creates it (from the template it names or picks, as
		 * with firmware='efi') before "start begin", where the copy is judged. It does so as
		 * root: in a directory others may write, what it writes (and chowns) would be wherever
		 * they point the name first, before start begin could refuse the copy. */
		struct vs_error why = {0};

		memset(r, 0, sizeof(*r));
		if (trust && filetrust_output_dir(path, trust, &why) < 0) {
			r->why = why;
			r->why.kind = VS_ERR_DENIED;
			r->decision = policy_denial(p);
			return 0;
		}
		r->decision = DECISION_ALLOW;
		snprintf(r->summary, sizeof(r->summary),
			 "not created yet: libvirt copies it from %s before start begin, where it is judged",
			 template_path ? template_path : "the NVRAM template it picks");
		return 0;
	}
	if (bootfile_check(p, BOOT_KIND_NVRAM, path, NULL, now, trust, r, err) < 0)
		return -1;
	if (r->decision == DECISION_ALLOW) {
		st.st_dev = r->dev;
		st.st_ino = r->ino;
		return record_judged(trust, BOOT_KIND_NVRAM, &st, path, err);
	}
	/* Only a file refused for being neither pinned nor signed may be a fresh copy: one that
	 * failed the ownership rule or carries a bad attestation stays refused. */
	if (!template_path || !r->unsigned_file)
		return 0;
	fd = open_regular(path, "nvram", &st, &missing, err);
	if (fd < 0)
		return -1;
	if (st.st_dev != r->dev || st.st_ino != r->ino) { /* not the inode the ownership rule passed */
		close(fd);
		return vs_fail(err, VS_ERR_DENIED, path, "NVRAM file replaced while it was checked");
	}
	same = same_content(fd, path, template_path, err);
	close(fd);
	if (same < 0)
		return -1;
	if (same) {
		memset(r, 0, sizeof(*r));
		r->decision = DECISION_ALLOW;
		r->dev = st.st_dev;
		r->ino = st.st_ino;
		snprintf(r->summary, sizeof(r->summary), "a fresh copy of the allowed template %s", template_path);
		return record_judged(trust, BOOT_KIND_NVRAM, &st, path, err);
	}
	vs_fail(&r->why, VS_ERR_DENIED, path,
		"NVRAM file differs from its template %s and is neither pinned nor signed: saved UEFI "
		"variables cannot be verified (`virsh start --reset-nvram` recreates it from the template)",
		template_path);
	return 0;
}
