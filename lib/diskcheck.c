/* SPDX-License-Identifier: Apache-2.0 */
/* A domain disk's launch decision: structure first (cheap: headers, chain, loops), then each
 * layer's attestation from the bottom up (expensive: the digest), so that a bad chain never
 * costs a full read. */
#include "diskcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest.h"
#include "evalcache.h"
#include "overlayreg.h"
#include "policyindex.h"
#include "qcow2.h"
#include "util.h"

struct diskcheck_memo {
	dev_t dev;
	ino_t ino;
	enum decision decision;
	struct vs_error why;
	const struct policy_template *rule;
	char template_name[VS_MAX_NAME_BYTES];
	int64_t template_version;
};

struct layer {
	char path[VS_MAX_PATH_BYTES];
	enum image_format fmt;          /* the format QEMU will open it with */
	int fd;
	struct stat st;
	int64_t opened_ns;              /* policy_index_now_ns() before it was opened */
	struct qcow2_info hdr;
	/* the inode this layer's header names as backing file, to match the next layer */
	int expect_set;
	dev_t exp_dev;
	ino_t exp_ino;
	/* verdict */
	int exempt;
	int cached;
	enum decision decision;
	const struct policy_template *rule;
	char template_name[VS_MAX_NAME_BYTES];
	int64_t template_version;
};

void diskcheck_init(struct diskcheck *c, const struct policy *p, int64_t now, const char *cache_dir)
{
	memset(c, 0, sizeof(*c));
	c->policy = p;
	c->now = now;
	c->cache_dir = cache_dir;
	c->trust.qemu_uid = FILETRUST_NO_UID;
	c->trust.allow_remote_fs = p ? p->allow_remote_fs : 0;
	c->trust.allow_san = p ? p->allow_san_disks : 0;
}

void diskcheck_free(struct diskcheck *c)
{
	if (!c)
		return;
	free(c->memo);
	c->memo = NULL;
	c->nmemo = c->capmemo = 0;
}

static const struct diskcheck_memo *memo_find(const struct diskcheck *c, const struct stat *st)
{
	for (size_t i = 0; i < c->nmemo; i++)
		if (c->memo[i].dev == st->st_dev && c->memo[i].ino == st->st_ino)
			return &c->memo[i];
	return NULL;
}

static void memo_add(struct diskcheck *c, const struct layer *l, const struct vs_error *why)
{
	struct diskcheck_memo *m;

	if (c->nmemo == c->capmemo) {
		size_t cap = c->capmemo ? c->capmemo * 2 : 8;
		struct diskcheck_memo *nm = realloc(c->memo, cap * sizeof(*nm));

		if (!nm)
			return; /* the memo only saves time */
		c->memo = nm;
		c->capmemo = cap;
	}
	m = &c->memo[c->nmemo++];
	m->dev = l->st.st_dev;
	m->ino = l->st.st_ino;
	m->decision = l->decision;
	m->why = *why;
	m->rule = l->rule;
	memcpy(m->template_name, l->template_name, sizeof(m->template_name));
	m->template_version = l->template_version;
}

/* Records a denial in r. Returns 1 when it is final (enforcing, or an error rather than a
 * verdict), 0 when enforce is false and it only becomes a would-deny. */
static int refuse(const struct diskcheck *c, struct disk_result *r, const struct vs_error *e)
{
	if (policy_refusal(c->policy, e) == DECISION_ALLOW_AUDIT_ONLY) {
		if (r->decision != DECISION_ALLOW_AUDIT_ONLY) {
			r->why = *e;
			r->decision = DECISION_ALLOW_AUDIT_ONLY;
		}
		return 0;
	}
	r->why = *e;
	r->decision = DECISION_DENY;
	return 1;
}

static int format_parse(const char *s, const char *path, enum image_format *out, struct vs_error *e)
{
	if (!s[0] || !strcmp(s, "raw")) { /* libvirt opens a disk without a format as raw */
		*out = IMAGE_FORMAT_RAW;
		return 0;
	}
	if (!strcmp(s, "qcow2")) {
		*out = IMAGE_FORMAT_QCOW2;
		return 0;
	}
	return vs_fail(e, VS_ERR_DENIED, path, "format \"%s\" is not supported (raw or qcow2 only)", s);
}

/* Opens one layer, checks its file type against the XML's, reads its header. any_type: a
 * layer found through a header, which may be a file or a block device. */
static int layer_open(const struct diskcheck *c, struct layer *l, const char *path,
		      enum disk_type type, int any_type, struct vs_error *e)
{
	if (strlen(path) >= sizeof(l->path))
		return vs_fail(e, VS_ERR_INPUT, "disk", "path is longer than %zu bytes", sizeof(l->path) - 1);
	strcpy(l->path, path);
	l->opened_ns = policy_index_now_ns();
	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_BLK, NULL, &l->fd, &l->st, e) < 0) {
		if (e->kind == VS_ERR_INPUT) /* a FIFO, socket, device or directory: a verdict */
			e->kind = VS_ERR_DENIED;
		return -1;
	}
	if (any_type) {
		if (!S_ISREG(l->st.st_mode) && !S_ISBLK(l->st.st_mode))
			return vs_fail(e, VS_ERR_DENIED, path, "not a regular file or block device");
	} else if (type == DISK_TYPE_FILE && !S_ISREG(l->st.st_mode)) {
		return vs_fail(e, VS_ERR_DENIED, path, "disk type 'file' but not a regular file");
	} else if (type == DISK_TYPE_BLOCK && !S_ISBLK(l->st.st_mode)) {
		return vs_fail(e, VS_ERR_DENIED, path, "disk type 'block' but not a block device");
	}
	if (filetrust_fd(l->fd, path, &c->trust, e) < 0)
		return -1;
	return qcow2_read_header(l->fd, path, &l->hdr, e);
}

/* Walks the chain into layers[]. Returns the number of layers fully checked; -1 when the
 * walk ended in a final denial (r filled). */
static int chain_walk(const struct diskcheck *c, const struct domain_disk *d, struct layer *layers,
		      size_t *opened, struct disk_result *r)
{
	char next[VS_MAX_PATH_BYTES], nextfmt[QCOW2_MAX_FORMAT_NAME + 1];
	const char *path = d->layers[0].source, *fmtname = d->layers[0].format;
	enum disk_type type = d->layers[0].type;
	size_t xi = 0, n;
	int from_header = 0, probe = 0;
	struct vs_error e = {0};

	for (n = 0;; n++) {
		struct layer *l, *prev;
		int has_backing;

		if (n >= VS_MAX_BACKING_DEPTH) {
			vs_fail(&e, VS_ERR_DENIED, layers[n - 1].path,
				"backing chain deeper than %d layers", VS_MAX_BACKING_DEPTH);
			goto stop;
		}
		l = &layers[n];
		prev = n ? &layers[n - 1] : NULL;
		if (!probe && format_parse(fmtname, path, &l->fmt, &e) < 0)
			goto stop;
		*opened = n + 1;
		if (layer_open(c, l, path, type, from_header, &e) < 0)
			goto stop;
		if (probe) {
			/* libvirt probes a backing file without a format only safely: a format that
			 * can have a backing file of its own makes the start fail. */
			if (l->hdr.format != IMAGE_FORMAT_RAW) {
				vs_fail(&e, VS_ERR_DENIED, prev->path,
					"backing file \"%s\" has no format in the header and is not raw",
					prev->hdr.backing_file);
				goto stop;
			}
			l->fmt = IMAGE_FORMAT_RAW;
			probe = 0;
		}
		for (size_t j = 0; j < n; j++)
			if (layers[j].st.st_dev == l->st.st_dev && layers[j].st.st_ino == l->st.st_ino) {
				vs_fail(&e, VS_ERR_DENIED, prev->path,
					"backing chain loop: \"%s\" is also layer %zu", path, j);
				goto stop;
			}
		if (prev && prev->expect_set &&
		    (prev->exp_dev != l->st.st_dev || prev->exp_ino != l->st.st_ino)) {
			vs_fail(&e, VS_ERR_DENIED, prev->path,
				"qcow2 header names backing file \"%s\", but the XML's next layer is \"%s\"",
				prev->hdr.backing_file, path);
			goto stop;
		}
		if (l->fmt == IMAGE_FORMAT_QCOW2 && l->hdr.format != IMAGE_FORMAT_QCOW2) {
			vs_fail(&e, VS_ERR_DENIED, path, "format is qcow2 but the file has no qcow2 header");
			goto stop;
		}
		if (l->fmt == IMAGE_FORMAT_QCOW2 && l->hdr.has_data_file) {
			vs_fail(&e, VS_ERR_DENIED, path, "qcow2 external data file \"%s\" is not allowed",
				l->hdr.data_file);
			goto stop;
		}
		/* QEMU reads no header from a layer opened as raw, so it has no backing file. */
		has_backing = l->fmt == IMAGE_FORMAT_QCOW2 && l->hdr.has_backing;
		if (has_backing && qcow2_backing_path(l->path, l->hdr.backing_file, next, sizeof(next), &e) < 0)
			goto stop;

		if (!from_header && xi + 1 < d->nlayers) {
			const struct disk_layer *nx = &d->layers[xi + 1];
			const char *nxfmt = nx->format[0] ? nx->format : "raw";
			struct stat bst;

			if (nx->type != DISK_TYPE_FILE && nx->type != DISK_TYPE_BLOCK) {
				vs_fail(&e, VS_ERR_DENIED, path, "backing layer of disk type \"%s\" is not supported",
					nx->type_name);
				goto stop;
			}
			if (!nx->source) {
				vs_fail(&e, VS_ERR_DENIED, path, "backing layer %zu has no source", xi + 1);
				goto stop;
			}
			if (!has_backing) {
				vs_fail(&e, VS_ERR_DENIED, path,
					"the XML names backing file \"%s\" but the image has none", nx->source);
				goto stop;
			}
			if (stat(next, &bst) < 0) {
				vs_fail(&e, VS_ERR_DENIED, path, "qcow2 header names backing file \"%s\": %s",
					l->hdr.backing_file, strerror(errno));
				goto stop;
			}
			l->expect_set = 1;
			l->exp_dev = bst.st_dev;
			l->exp_ino = bst.st_ino;
			if (l->hdr.backing_format[0] && strcmp(l->hdr.backing_format, nxfmt)) {
				vs_fail(&e, VS_ERR_DENIED, path,
					"qcow2 header says backing format \"%s\", the XML says \"%s\"",
					l->hdr.backing_format, nxfmt);
				goto stop;
			}
			path = nx->source;
			fmtname = nx->format;
			type = nx->type;
			xi++;
			continue;
		}
		if (!from_header && d->chain_end_known) {
			if (has_backing) {
				vs_fail(&e, VS_ERR_DENIED, path,
					"qcow2 header names backing file \"%s\" but the XML's chain ends here",
					l->hdr.backing_file);
				goto stop;
			}
			return (int)n + 1;
		}
		/* No chain in the XML (prepare begin): follow the headers ourselves. */
		if (!has_backing)
			return (int)n + 1;
		from_header = 1;
		path = next;
		if (l->hdr.backing_format[0]) {
			memcpy(nextfmt, l->hdr.backing_format, sizeof(nextfmt));
			fmtname = nextfmt;
		} else {
			probe = 1;
		}
		type = DISK_TYPE_FILE; /* unused: from_header accepts files and block devices */
	}
stop:
	if (refuse(c, r, &e))
		return -1;
	return (int)n; /* would-deny: judge the layers checked so far */
}

/* Judges one layer (memo, then cache, then lib/attest's attestation and policy_eval_image). Returns -1 on a runtime error
 * (e filled); otherwise 0 with l->decision and, unless ALLOW, the reason in why. */
static int layer_eval(struct diskcheck *c, struct layer *l, struct disk_result *r,
		      struct vs_error *why, struct vs_error *e)
{
	const struct diskcheck_memo *m = memo_find(c, &l->st);
	char key[EVALCACHE_KEY_HEX];
	struct image_verdict v;
	struct evalcache_entry ce;
	struct attest a;
	struct stat after;
	int ret = -1, opened;

	vs_error_clear(why);
	if (m) {
		l->decision = m->decision;
		*why = m->why;
		l->rule = m->rule;
		memcpy(l->template_name, m->template_name, sizeof(l->template_name));
		l->template_version = m->template_version;
		return 0;
	}
	opened = attest_open(l->path, NULL, &a, why, e);
	if (opened < 0)
		return -1;
	if (opened == 1) { /* missing or not a file: a verdict */
		l->decision = policy_denial(c->policy);
		memo_add(c, l, why);
		return 0;
	}
	/* Block devices are never cached: writes to a device do not change its node's ctime. */
	if (c->cache_dir && c->secret && S_ISREG(l->st.st_mode)) {
		evalcache_key(&l->st, &a.st, policy_digest(c->policy), key);
		if (evalcache_lookup(c->cache_dir, c->secret, key, c->now, &ce) == 1) {
			l->rule = policy_match_template(c->policy, ce.template_name);
			/* (the key names this policy; its rule's version floor is checked again all
			 * the same, in case a key ever named another) */
			if (l->rule && ce.template_version >= l->rule->min_version) {
				l->decision = DECISION_ALLOW;
				l->cached = 1;
				memcpy(l->template_name, ce.template_name, sizeof(l->template_name));
				l->template_version = ce.template_version;
				r->cached++;
				memo_add(c, l, why);
				ret = 0;
				goto out;
			}
		}
	}
	if (attest_eval(c->policy, &a, l->fd, l->path, c->now, NULL, &v, e) < 0)
		goto out;
	r->evaluated++;
	l->decision = v.decision;
	l->rule = v.rule;
	snprintf(l->template_name, sizeof(l->template_name), "%s", v.st.template_name);
	l->template_version = v.st.template_version;
	if (v.decision != DECISION_ALLOW) {
		*why = v.why;
		why->kind = VS_ERR_DENIED;
		snprintf(why->object, sizeof(why->object), "%s", l->path);
	}
	/* Cache only an allow for exactly the bytes hashed: unchanged since the key was taken, and
	 * changed last a whole tick before the image was opened (evalcache_settled: a write in the
	 * tick of its last change, during or after the hash, would keep the key's ctime). The
	 * attestation was opened later still. */
	if (v.decision == DECISION_ALLOW && c->cache_dir && c->secret && S_ISREG(l->st.st_mode) &&
	    evalcache_settled(l->fd, &l->st, l->opened_ns) && evalcache_settled(a.fd, &a.st, l->opened_ns) &&
	    fstat(l->fd, &after) == 0 && after.st_ctim.tv_sec == l->st.st_ctim.tv_sec &&
	    after.st_ctim.tv_nsec == l->st.st_ctim.tv_nsec && after.st_size == l->st.st_size) {
		struct vs_error ignored;

		memset(&ce, 0, sizeof(ce));
		snprintf(ce.template_name, sizeof(ce.template_name), "%s", v.st.template_name);
		ce.template_version = v.st.template_version;
		ce.valid_until = policy_verdict_valid_until(c->policy, &v);
		evalcache_store(c->cache_dir, c->secret, key, &ce, &ignored);
	}
	memo_add(c, l, why);
	ret = 0;
out:
	attest_close(&a);
	return ret;
}

/* Whether the overlay of status st is listed in the record of the domain's last allowed start
 * whose run saw no release end (c->unstopped). */
static int overlay_unstopped(const struct diskcheck *c, const struct stat *st)
{
	for (size_t i = 0; c->unstopped && i < c->unstopped->nfiles; i++)
		if (c->unstopped->files[i].kind == STARTED_HELD && c->unstopped->files[i].dev == (uint64_t)st->st_dev &&
		    c->unstopped->files[i].ino == (uint64_t)st->st_ino)
			return 1;
	return 0;
}

/* allow_overlay exempts an overlay only while it holds nothing but what its own guest wrote:
 * the hook saw it born empty (registered then: device, inode, birth time, domain and its size,
 * mtime and ctime), and every change since was made while its domain ran (release end records
 * the state its run left). An overlay holding a whole other disk (qemu-img convert -B), or a
 * registered one written while its domain was off (qemu-img convert -n into it), would
 * otherwise run unsigned: those are judged as any unregistered overlay, empty or denied. An
 * overlay empty now is registered at start begin. */
static int overlay_born_empty(struct diskcheck *c, struct layer *l, const struct layer *tpl,
			      struct vs_error *e)
{
	struct overlay_id id;
	struct overlay_state now, was;
	struct vs_error ide = {0};
	int has_data, have_id = 0, reg = 0;

	overlay_state_of(&l->st, &now);
	if (c->state_secret && c->domain) {
		have_id = overlay_id_of(l->fd, l->path, &id, &ide) == 0;
		if (have_id)
			reg = overlayreg_lookup(c->state_dir, c->state_secret, &id, c->domain, &was);
	}
	if (reg == 1 && overlay_state_equal(&was, &now))
		return 0;
	/* An older hook's registration (it kept no state), or a run of the domain that ended
	 * without release end (the host or libvirtd went down under it): what the overlay holds
	 * now is taken as its guest's. */
	if (reg && (reg == OVERLAYREG_LEGACY || overlay_unstopped(c, &l->st))) {
		if (c->register_overlays && overlayreg_add(c->state_dir, c->state_secret, &id, c->domain, &now, e) < 0)
			return -1;
		return 0;
	}
	vs_error_clear(e);
	if (qcow2_has_data(l->fd, l->path, &l->hdr, &has_data, e) < 0)
		return -1;
	if (has_data && reg)
		return vs_fail(e, VS_ERR_DENIED, l->path,
			       "writable overlay changed since its domain last stopped (size, mtime or ctime): allow_overlay exempts only what its guest wrote while it ran; create it afresh: qemu-img create -f qcow2 -F %s -b %s %s",
			       image_format_name(tpl->fmt), tpl->path, l->path);
	if (has_data)
		return vs_fail(e, VS_ERR_DENIED, l->path,
			       "writable overlay holds data the hook never saw it born empty (allow_overlay exempts only those); create it afresh: qemu-img create -f qcow2 -F %s -b %s %s",
			       image_format_name(tpl->fmt), tpl->path, l->path);
	if (c->register_overlays && c->state_secret && c->domain) {
		if (!have_id) {
			*e = ide;
			return -1;
		}
		if (overlayreg_add(c->state_dir, c->state_secret, &id, c->domain, &now, e) < 0)
			return -1;
	}
	return 0;
}

static void summary_add(struct disk_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void summary_add(struct disk_result *r, const char *fmt, ...)
{
	size_t n = strlen(r->summary);
	va_list ap;

	if (n + 1 >= sizeof(r->summary))
		return;
	va_start(ap, fmt);
	vsnprintf(r->summary + n, sizeof(r->summary) - n, fmt, ap);
	va_end(ap);
}

int diskcheck_disk(struct diskcheck *c, const struct domain_disk *d, struct disk_result *r)
{
	const struct disk_layer *top = &d->layers[0];
	const char *obj = top->source ? top->source : top->remote ? top->remote : "";
	struct layer *layers = NULL;
	struct vs_error e = {0}, why;
	size_t opened = 0;
	int n, final = 0;

	memset(r, 0, sizeof(*r));
	r->decision = DECISION_ALLOW;
	if (d->has_data_store) {
		vs_fail(&e, VS_ERR_DENIED, obj, "external data file (<dataStore>) is not allowed");
		final = refuse(c, r, &e);
		goto out;
	}
	switch (top->type) {
	case DISK_TYPE_FILE:
	case DISK_TYPE_BLOCK:
		break;
	case DISK_TYPE_NETWORK:
		if (c->policy->allow_network_disks) {
			summary_add(r, "network disk %s allowed by the policy", obj);
			goto out;
		}
		vs_fail(&e, VS_ERR_DENIED, obj, "network disks are not allowed by the policy");
		final = refuse(c, r, &e);
		goto out;
	case DISK_TYPE_VOLUME:
		vs_fail(&e, VS_ERR_DENIED, obj,
			"disk type 'volume' cannot be checked without asking libvirt; use type 'file'");
		final = refuse(c, r, &e);
		goto out;
	default:
		vs_fail(&e, VS_ERR_DENIED, obj, "disk type \"%s\" is not supported", top->type_name);
		final = refuse(c, r, &e);
		goto out;
	}
	if (!top->source) {
		summary_add(r, "no media");
		goto out;
	}
	layers = calloc(VS_MAX_BACKING_DEPTH, sizeof(*layers));
	if (!layers) {
		vs_fail(&e, VS_ERR_INTERNAL, obj, "out of memory");
		final = refuse(c, r, &e);
		goto out;
	}
	for (size_t i = 0; i < VS_MAX_BACKING_DEPTH; i++)
		layers[i].fd = -1;
	n = chain_walk(c, d, layers, &opened, r);
	if (n < 0) {
		final = 1;
		goto out;
	}
	r->layers = (unsigned)n;
	/* Bottom up: an overlay's exemption depends on the template below it. */
	for (int j = n - 1; j >= 0; j--) {
		struct layer *l = &layers[j];

		if (j == 0 && n > 1 && !d->readonly && layers[1].decision != DECISION_DENY &&
		    layers[1].rule && policy_template_allows_overlay(c->policy, layers[1].template_name)) {
			if (overlay_born_empty(c, l, &layers[1], &e) < 0) {
				if (refuse(c, r, &e)) {
					final = 1;
					goto out;
				}
				continue; /* would-deny: judged, not exempt */
			}
			l->exempt = 1;
			continue;
		}
		if (layer_eval(c, l, r, &why, &e) < 0) {
			snprintf(e.object, sizeof(e.object), "%s", l->path);
			final = refuse(c, r, &e);
			goto out;
		}
		if (l->decision != DECISION_ALLOW && refuse(c, r, &why)) {
			final = 1;
			goto out;
		}
	}
	/* The guest would write into the signed template itself. */
	if (n > 0 && !d->readonly && !layers[0].exempt && layers[0].decision == DECISION_ALLOW) {
		vs_fail(&e, VS_ERR_DENIED, layers[0].path,
			"a writable disk directly on a signed layer; attach it <readonly/> or through an overlay");
		if (refuse(c, r, &e)) {
			final = 1;
			goto out;
		}
	}
	for (int j = 0; c->record && j < n; j++)
		if (started_record_add(c->record, layers[j].st.st_dev, layers[j].st.st_ino, layers[j].path, &e) < 0) {
			final = refuse(c, r, &e);
			goto out;
		}
	for (int j = 0; j < n; j++) {
		const struct layer *l = &layers[j];
		const char *base = strrchr(l->path, '/');

		base = base ? base + 1 : l->path;
		if (l->exempt)
			summary_add(r, "%s%s: writable overlay, template \"%s\" allows overlays", j ? "; " : "",
				    base, layers[1].template_name);
		else
			summary_add(r, "%s%s: template \"%s\" version %lld%s", j ? "; " : "", base,
				    l->template_name, (long long)l->template_version,
				    l->cached ? " (cached)" : "");
	}
out:
	if (layers)
		for (size_t i = 0; i < opened && i < VS_MAX_BACKING_DEPTH; i++)
			if (layers[i].fd >= 0)
				close(layers[i].fd);
	free(layers);
	return final ? -1 : 0;
}
