/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway templates: GET /v1/templates (cached verdicts), and the one judgement of a
 * template that every route using one applies, with the overlays made on it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/gateway_routes.h"
#include "lib/attest.h"
#include "lib/evalcache.h"
#include "lib/gwbody.h"
#include "lib/merkle.h"
#include "lib/tmplcache.h"
#include "lib/util.h"

extern char **environ;

/* Evaluates a template file in template_dir against the policy (lib/attest: a missing or
 * oversized attestation is a verdict). 0 with v filled when a verdict was reached. */
static int template_eval(struct gateway *gw, const char *file, struct image_verdict *v,
			 struct vs_error *err)
{
	char path[VS_MAX_PATH_BYTES], att[VS_PATH_TMP_MAX];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", gw->cfg.template_dir, file);
	if (attest_default_path(path, att, sizeof(att), err) < 0 ||
	    vs_open_input(path, VS_INPUT_REG | VS_INPUT_NOFOLLOW, NULL, &fd, NULL, err) < 0)
		return -1;
	r = attest_eval_image(gw->policy, fd, file, att, vs_now(), NULL, v, err);
	close(fd);
	return r;
}

int template_dir_configured(struct gateway *gw, int need_overlay, struct reply *out)
{
	if (gw->cfg.template_dir && (!need_overlay || gw->cfg.image_dir))
		return 0;
	reply_error(out, 503, "not_configured", "the gateway runs without --template-dir%s",
		    need_overlay ? "/--image-dir" : "");
	return -1;
}

int template_allowed(struct gateway *gw, const char *tmpl, int need_overlay,
		     struct image_verdict *v, char *path, size_t pathlen, struct reply *out)
{
	struct vs_error err = {0};

	if (template_dir_configured(gw, need_overlay, out) < 0)
		return -1;
	snprintf(path, pathlen, "%s/%s", gw->cfg.template_dir, tmpl);
	if (access(path, F_OK) < 0) {
		reply_error(out, 404, "not_found", "no template \"%s\"", tmpl);
		return -1;
	}
	/* A denial, or any error while evaluating (unreadable), refuses. */
	memset(v, 0, sizeof(*v));
	if (template_eval(gw, tmpl, v, &err) < 0) {
		reply_error(out, 403, "template_denied", "template \"%s\": %s", tmpl, err.reason);
		return -1;
	}
	if (v->decision == DECISION_DENY) {
		reply_error(out, 403, "template_denied", "template \"%s\": %s", tmpl, v->why.reason);
		return -1;
	}
	if (v->decision == DECISION_ALLOW_AUDIT_ONLY)
		gateway_audit(gw, "gateway", "gateway.template", tmpl, "would-deny", v->why.reason, 0);
	if (need_overlay && (!v->rule || !v->allow_overlay)) {
		reply_error(out, 403, "template_denied", "template \"%s\": overlays not allowed", tmpl);
		return -1;
	}
	return 0;
}

/*
 * The listing's verdict on one template file (issue 15 item 11): taken from the cache while
 * neither file nor the policy changed (the hook's key: both files' dev, inode, size, mtime,
 * ctime and the policy digest), else evaluated with one hashing thread, so that a cold listing
 * of a large template leaves the other cores to other calls, and cached: an allow until the
 * attestation expires or TEMPLATE_CACHE_ALLOW_S, a denial for TEMPLATE_CACHE_DENY_S (a key
 * whose validity starts later may turn it), an allow no longer than its signers' keys are valid
 * (not_after). Only the listing is cached; POST /v1/domains
 * evaluates in full. A file without an attestation beside it is denied, as vmseal-verify and
 * the hook deny it (lib/attest). e is always filled (an error is a denial with its reason,
 * not cached).
 */
#define TEMPLATE_CACHE_ALLOW_S 300
#define TEMPLATE_CACHE_DENY_S 60
static void template_listed(struct gateway *gw, const char *file, struct tmplcache_entry *e,
			    int *cached)
{
	char path[VS_MAX_PATH_BYTES];
	struct merkle_opts mo = {.threads = 1};
	struct stat ist, after;
	struct image_verdict v;
	struct vs_error err = {0}, why = {0};
	struct attest a = {.fd = -1};
	int fd = -1, opened;
	int64_t now = vs_now();

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "%s/%s", gw->cfg.template_dir, file);
	e->decision = DECISION_DENY; /* until a verdict says otherwise */
	opened = attest_open(path, NULL, &a, &why, &err);
	if (opened != 0) {
		if (opened == 1) /* no attestation: a verdict, cheap to reach again */
			e->decision = policy_denial(gw->policy);
		snprintf(e->reason, sizeof(e->reason), "%s", opened == 1 ? why.reason : err.reason);
		return;
	}
	memset(&v, 0, sizeof(v));
	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_NOFOLLOW, NULL, &fd, &ist, &err) < 0) {
		snprintf(e->reason, sizeof(e->reason), "%s", err.reason);
		goto out;
	}
	evalcache_key(&ist, &a.st, policy_digest(gw->policy), e->key);
	if (gw->tmpl_cache && tmplcache_get(gw->tmpl_cache, e->key, now, e)) {
		*cached = 1;
		goto out;
	}
	if (attest_eval(gw->policy, &a, fd, file, now, &mo, &v, &err) < 0) {
		snprintf(e->reason, sizeof(e->reason), "%s", err.reason);
		goto out; /* an error, not a verdict: not cached */
	}
	e->decision = v.decision;
	snprintf(e->template_name, sizeof(e->template_name), "%s", v.st.template_name);
	e->template_version = v.st.template_version;
	snprintf(e->reason, sizeof(e->reason), "%s", v.why.reason);
	e->until = now + (v.decision == DECISION_ALLOW ? TEMPLATE_CACHE_ALLOW_S : TEMPLATE_CACHE_DENY_S);
	/* the hook's rule: no longer than the attestation or a key that counted for it is valid */
	if (v.decision == DECISION_ALLOW) {
		int64_t end = policy_verdict_valid_until(gw->policy, &v);

		if (end > 0 && end < e->until)
			e->until = end;
	}
	/* Cache only a verdict on exactly the bytes hashed: unchanged since the key was taken. */
	if (gw->tmpl_cache && fstat(fd, &after) == 0 &&
	    after.st_ctim.tv_sec == ist.st_ctim.tv_sec && after.st_ctim.tv_nsec == ist.st_ctim.tv_nsec &&
	    after.st_size == ist.st_size)
		tmplcache_put(gw->tmpl_cache, e);
out:
	if (fd >= 0)
		close(fd);
	attest_close(&a);
}

static void templates_list(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	DIR *dir;
	struct dirent *e;
	json_t *arr;

	if (!gw->cfg.template_dir) {
		reply_ok(out, 200, json_pack("{s:[]}", "templates"));
		return;
	}
	dir = opendir(gw->cfg.template_dir);
	if (!dir) {
		reply_error(out, 500, "io_error", "template directory: %s", strerror(errno));
		return;
	}
	arr = json_array();
	while ((e = readdir(dir))) {
		struct tmplcache_entry v;
		size_t n = strlen(e->d_name);
		json_t *t;

		int cached = 0;

		/* every file but the attestations is a template (a directory is none) */
		if (!gwbody_name_ok(e->d_name) || e->d_type == DT_DIR ||
		    (n > ATTEST_SUFFIX_LEN && !strcmp(e->d_name + n - ATTEST_SUFFIX_LEN, ATTEST_SUFFIX)))
			continue;
		template_listed(gw, e->d_name, &v, &cached);
		t = json_pack("{s:s, s:s, s:I, s:s, s:b}", "file", e->d_name, "template",
			      v.template_name, "version", (json_int_t)v.template_version, "decision",
			      v.decision == DECISION_ALLOW ? "allow"
			      : v.decision == DECISION_ALLOW_AUDIT_ONLY ? "would-deny" : "deny",
			      "cached", cached);
		if (t && v.decision != DECISION_ALLOW)
			json_object_set_new(t, "reason", json_string(v.reason));
		if (t)
			json_array_append_new(arr, t);
	}
	closedir(dir);
	reply_ok(out, 200, json_pack("{s:o}", "templates", arr));
}

/* Runs qemu-img (no shell) to create a qcow2 overlay backed by the template. */
static int qemu_img_overlay(const char *backing, const char *fmt, const char *overlay,
			    struct vs_error *err)
{
	char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F", (char *)fmt, "-b",
			(char *)backing, (char *)overlay, NULL};
	pid_t pid;
	int status, rc;

	rc = posix_spawnp(&pid, "qemu-img", NULL, NULL, argv, environ);
	if (rc != 0)
		return vs_fail(err, VS_ERR_IO, "qemu-img", "cannot run: %s", strerror(rc));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vs_fail(err, VS_ERR_IO, "qemu-img", "wait: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return vs_fail(err, VS_ERR_IO, "qemu-img", "failed (status %d)", status);
	return 0;
}

int template_make_overlay(const char *backing, const char *fmt, const char *overlay,
			  struct reply *out)
{
	struct vs_error err = {0};
	/* Reserve the overlay name first, so that two calls cannot share it. */
	int fd = open(overlay, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		reply_error(out, 409, "conflict", "overlay \"%s\": %s", overlay, strerror(errno));
		return -1;
	}
	close(fd);
	if (qemu_img_overlay(backing, fmt, overlay, &err) < 0) {
		unlink(overlay);
		reply_error(out, 502, "overlay_failed", "%s: %s", err.object, err.reason);
		return -1;
	}
	return 0;
}


#define VIEW (ROLE_VIEWER | ROLE_OPERATOR | ROLE_ADMIN)

const struct route template_routes[] = {
	/* A cold listing hashes every template: deferred, so that it holds no worker. */
	{"GET", "/v1/templates", VIEW, ROUTE_DEFERRED, QUORUM_NONE,
	 "gateway.templates.list", templates_list},
};
const size_t template_nroutes = sizeof(template_routes) / sizeof(template_routes[0]);
