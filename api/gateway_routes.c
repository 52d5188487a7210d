/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway routes: domains over libvirt, verified templates, audit tail, health. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libvirt/virterror.h>

#include "api/gateway.h"
#include "lib/auditcp.h"
#include "lib/gwbody.h"
#include "lib/merkle.h"
#include "lib/tmplcache.h"
#include "lib/util.h"

extern char **environ;

#define MAX_AUDIT_ENTRIES 1000

void reply_error(struct reply *out, unsigned status, const char *code, const char *fmt, ...)
{
	char detail[VS_ERR_REASON_MAX + VS_ERR_OBJECT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_decref(out->body);
	out->status = status;
	out->body = json_pack("{s:s, s:s}", "error", code, "detail", detail);
}

static void reply_ok(struct reply *out, unsigned status, json_t *body)
{
	json_decref(out->body);
	out->status = status;
	out->body = body;
	if (!body)
		reply_error(out, 500, "internal", "out of memory");
}

/* Maps the thread's last libvirt error to a status by what it means. */
static void reply_virt(struct reply *out, const char *what, const char *name)
{
	int code = virGetLastErrorCode();
	const char *msg = virGetLastErrorMessage();

	switch (code) {
	case VIR_ERR_NO_DOMAIN:
		reply_error(out, 404, "not_found", "domain \"%s\" does not exist", name);
		break;
	case VIR_ERR_OPERATION_INVALID:
	case VIR_ERR_DOM_EXIST:
	case VIR_ERR_OPERATION_DENIED:
		reply_error(out, 409, "conflict", "%s \"%s\": %s", what, name, msg);
		break;
	default:
		reply_error(out, 502, "libvirt_error", "%s \"%s\": %s", what, name, msg);
	}
}

static const char *state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING:
		return "running";
	case VIR_DOMAIN_BLOCKED:
		return "blocked";
	case VIR_DOMAIN_PAUSED:
		return "paused";
	case VIR_DOMAIN_SHUTDOWN:
		return "shutting-down";
	case VIR_DOMAIN_SHUTOFF:
		return "shut-off";
	case VIR_DOMAIN_CRASHED:
		return "crashed";
	case VIR_DOMAIN_PMSUSPENDED:
		return "suspended";
	default:
		return "unknown";
	}
}

/* NULL when the domain vanished meanwhile (or another libvirt error). */
static json_t *domain_json(virDomainPtr d)
{
	virDomainInfo info;
	char uuid[VIR_UUID_STRING_BUFLEN];
	const char *name = virDomainGetName(d);

	if (!name || virDomainGetInfo(d, &info) < 0 || virDomainGetUUIDString(d, uuid) < 0)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:I, s:i, s:b}", "name", name, "uuid", uuid, "state",
			 state_name(info.state), "memory_kib", (json_int_t)info.maxMem, "vcpus",
			 (int)info.nrVirtCpu, "persistent", virDomainIsPersistent(d) == 1);
}

static void domains_list(struct gateway *gw, const struct route *rt, const char *name,
			 const char *query, const char *body, size_t body_len, struct reply *out)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(gw->conn, &doms, 0);
	json_t *arr;

	if (n < 0) {
		reply_virt(out, "list", "*");
		return;
	}
	arr = json_array();
	for (int i = 0; i < n; i++) {
		json_t *d = domain_json(doms[i]);

		if (d)
			json_array_append_new(arr, d);
		virDomainFree(doms[i]);
	}
	free(doms);
	reply_ok(out, 200, json_pack("{s:o}", "domains", arr));
}

static virDomainPtr lookup(struct gateway *gw, const char *name, struct reply *out)
{
	virDomainPtr d;

	if (!gwbody_name_ok(name)) {
		reply_error(out, 404, "not_found", "no domain may be named \"%.64s\"", name);
		return NULL;
	}
	d = virDomainLookupByName(gw->conn, name);
	if (!d)
		reply_virt(out, "lookup", name);
	return d;
}

static void domain_get(struct gateway *gw, const struct route *rt, const char *name,
		       const char *query, const char *body, size_t body_len, struct reply *out)
{
	virDomainPtr d = lookup(gw, name, out);
	json_t *j;

	if (!d)
		return;
	j = domain_json(d);
	if (j)
		reply_ok(out, 200, j);
	else
		reply_virt(out, "get", name);
	virDomainFree(d);
}

static int domain_active(virDomainPtr d)
{
	virDomainInfo info;

	if (virDomainGetInfo(d, &info) < 0)
		return -1;
	return info.state != VIR_DOMAIN_SHUTOFF && info.state != VIR_DOMAIN_CRASHED &&
	       info.state != VIR_DOMAIN_NOSTATE;
}

/* start/shutdown/reboot/destroy: check the state first, so that the answer means the same
 * whatever the driver reports for a pointless action. */
static void domain_action(struct gateway *gw, const struct route *rt, const char *name,
			  const char *query, const char *body, size_t body_len, struct reply *out)
{
	const char *verb = strrchr(rt->pattern, '/') + 1;
	virDomainPtr d = lookup(gw, name, out);
	int active, r;
	json_t *j;

	if (!d)
		return;
	active = domain_active(d);
	if (active < 0) {
		reply_virt(out, verb, name);
		goto out;
	}
	if (!strcmp(verb, "start") ? active : !active) {
		reply_error(out, 409, "conflict", "domain \"%s\" is %s", name,
			    active ? "already running" : "not running");
		goto out;
	}
	if (!strcmp(verb, "start"))
		r = virDomainCreate(d);
	else if (!strcmp(verb, "shutdown"))
		r = virDomainShutdown(d);
	else if (!strcmp(verb, "reboot"))
		r = virDomainReboot(d, 0);
	else
		r = virDomainDestroy(d);
	if (r < 0) {
		reply_virt(out, verb, name);
		goto out;
	}
	snprintf(out->changed, sizeof(out->changed), "domain=%s %s", name, verb);
	j = domain_json(d);
	reply_ok(out, 200, j ? j : json_pack("{s:s}", "name", name));
out:
	virDomainFree(d);
}

static void overlay_path(struct gateway *gw, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s.qcow2", gw->cfg.image_dir, name);
}

static void domain_delete(struct gateway *gw, const struct route *rt, const char *name,
			  const char *query, const char *body, size_t body_len, struct reply *out)
{
	virDomainPtr d = lookup(gw, name, out);
	char overlay[VS_MAX_PATH_BYTES], needle[VS_MAX_PATH_BYTES + 16];
	char *xml = NULL;
	int active, ours = 0;

	if (!d)
		return;
	active = domain_active(d);
	if (active != 0) {
		if (active < 0)
			reply_virt(out, "delete", name);
		else
			reply_error(out, 409, "conflict", "domain \"%s\" is running; destroy it first",
				    name);
		goto out;
	}
	if (virDomainIsPersistent(d) != 1) {
		reply_error(out, 409, "conflict", "domain \"%s\" is not persistent", name);
		goto out;
	}
	if (gw->cfg.image_dir) {
		overlay_path(gw, name, overlay, sizeof(overlay));
		snprintf(needle, sizeof(needle), "file='%s'", overlay);
		xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
		ours = xml && strstr(xml, needle);
	}
	if (virDomainUndefine(d) < 0) {
		reply_virt(out, "delete", name);
		goto out;
	}
	/* The overlay we created goes with the domain; anything else stays. */
	if (ours && unlink(overlay) < 0 && errno != ENOENT) {
		reply_error(out, 500, "io_error", "domain deleted, overlay \"%s\" left: %s", overlay,
			    strerror(errno));
		goto out;
	}
	snprintf(out->changed, sizeof(out->changed), "domain=%s deleted%s%s", name,
		 ours ? " overlay=" : "", ours ? overlay : "");
	reply_ok(out, 200, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
out:
	free(xml);
	virDomainFree(d);
}

/* Evaluates a template file in template_dir against the policy. 0 with v filled when a verdict
 * was reached. */
static int template_eval(struct gateway *gw, const char *file, struct image_verdict *v,
			 struct vs_error *err)
{
	char path[VS_MAX_PATH_BYTES], att[VS_MAX_PATH_BYTES + 16];
	char *env = NULL;
	size_t envlen = 0;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", gw->cfg.template_dir, file);
	snprintf(att, sizeof(att), "%s.intoto.json", path);
	if (file_read_all(att, VS_MAX_ATTESTATION_BYTES, &env, &envlen, err) < 0)
		return -1;
	if (vs_open_input(path, VS_INPUT_REG | VS_INPUT_NOFOLLOW, NULL, &fd, NULL, err) < 0) {
		free(env);
		return -1;
	}
	r = policy_eval_image(gw->policy, fd, file, env, envlen, vs_now(), v, err);
	close(fd);
	free(env);
	return r;
}

/*
 * The listing's verdict on one template file (issue 15 item 11): taken from the cache while
 * neither file nor the policy changed (the hook's key: both files' dev, inode, size, mtime,
 * ctime and the policy digest), else evaluated with one hashing thread, so that a cold listing
 * of a large template leaves the other cores to other calls, and cached: an allow until the
 * attestation expires or TEMPLATE_CACHE_ALLOW_S, a denial for TEMPLATE_CACHE_DENY_S (a key
 * whose validity starts later may turn it). Only the listing is cached; POST /v1/domains
 * evaluates in full. Returns -1 when file has no attestation beside it (not a template), else
 * 0 with e filled (an error is a denial with its reason, not cached).
 */
#define TEMPLATE_CACHE_ALLOW_S 300
#define TEMPLATE_CACHE_DENY_S 60
static int template_listed(struct gateway *gw, const char *file, struct tmplcache_entry *e,
			   int *cached)
{
	char path[VS_MAX_PATH_BYTES], att[VS_MAX_PATH_BYTES + 16];
	struct merkle_opts mo = {.threads = 1};
	struct stat ist, ast, after;
	struct image_verdict v;
	struct vs_error err = {0};
	char *env = NULL;
	size_t envlen = 0;
	int fd = -1, afd = -1;
	int64_t now = vs_now();

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "%s/%s", gw->cfg.template_dir, file);
	snprintf(att, sizeof(att), "%s.intoto.json", path);
	e->decision = DECISION_DENY; /* until a verdict says otherwise */
	if (vs_open_input(att, VS_INPUT_REG, NULL, &afd, &ast, &err) < 0) {
		if (errno == ENOENT)
			return -1;
		snprintf(e->reason, sizeof(e->reason), "%s", err.reason);
		return 0;
	}
	memset(&v, 0, sizeof(v));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &ist) < 0) {
		snprintf(e->reason, sizeof(e->reason), "cannot open: %s", strerror(errno));
		goto out;
	}
	evalcache_key(&ist, &ast, gw->policy->digest, e->key);
	if (gw->tmpl_cache && tmplcache_get(gw->tmpl_cache, e->key, now, e)) {
		*cached = 1;
		goto out;
	}
	if (fd_read_all(afd, att, VS_MAX_ATTESTATION_BYTES, &env, &envlen, &err) < 0 ||
	    policy_eval_image_opts(gw->policy, fd, file, env, envlen, now, &mo, &v, &err) < 0) {
		snprintf(e->reason, sizeof(e->reason), "%s", err.reason);
		goto out; /* an error, not a verdict: not cached */
	}
	e->decision = v.decision;
	snprintf(e->template_name, sizeof(e->template_name), "%s", v.st.template_name);
	e->template_version = v.st.template_version;
	snprintf(e->reason, sizeof(e->reason), "%s", v.why.reason);
	e->until = now + (v.decision == DECISION_ALLOW ? TEMPLATE_CACHE_ALLOW_S : TEMPLATE_CACHE_DENY_S);
	if (v.decision == DECISION_ALLOW && v.st.expires_at > 0 && v.st.expires_at < e->until)
		e->until = v.st.expires_at;
	/* Cache only a verdict on exactly the bytes hashed: unchanged since the key was taken. */
	if (gw->tmpl_cache && fstat(fd, &after) == 0 &&
	    after.st_ctim.tv_sec == ist.st_ctim.tv_sec && after.st_ctim.tv_nsec == ist.st_ctim.tv_nsec &&
	    after.st_size == ist.st_size)
		tmplcache_put(gw->tmpl_cache, e);
out:
	free(env);
	if (fd >= 0)
		close(fd);
	close(afd);
	return 0;
}

static void templates_list(struct gateway *gw, const struct route *rt, const char *name,
			   const char *query, const char *body, size_t body_len, struct reply *out)
{
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

		if (!gwbody_name_ok(e->d_name) || (n > 12 && !strcmp(e->d_name + n - 12, ".intoto.json")))
			continue;
		int cached = 0;

		if (template_listed(gw, e->d_name, &v, &cached) < 0)
			continue; /* not a template: no attestation beside it */
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
static int make_overlay(const char *backing, const char *fmt, const char *overlay,
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

static void domain_create(struct gateway *gw, const struct route *rt, const char *unused,
			  const char *query, const char *body, size_t body_len, struct reply *out)
{
	struct gwbody_create req;
	char tpath[VS_MAX_PATH_BYTES], overlay[VS_MAX_PATH_BYTES], xml[4 * VS_MAX_PATH_BYTES];
	struct image_verdict v;
	struct vs_error err = {0};
	const char *name, *tmpl;
	virDomainPtr d = NULL;
	int fd, reserved = 0;

	memset(&v, 0, sizeof(v));
	if (gwbody_parse_create(body, body_len, &req, &err) < 0) {
		reply_error(out, 400, "bad_request", "%s", err.reason);
		goto out;
	}
	name = req.name;
	tmpl = req.template_name;
	if (!gw->cfg.template_dir || !gw->cfg.image_dir) {
		reply_error(out, 503, "not_configured",
			    "the gateway runs without --template-dir/--image-dir");
		goto out;
	}
	if ((d = virDomainLookupByName(gw->conn, name))) {
		reply_error(out, 409, "conflict", "domain \"%s\" exists", name);
		goto out;
	}
	snprintf(tpath, sizeof(tpath), "%s/%s", gw->cfg.template_dir, tmpl);
	if (access(tpath, F_OK) < 0) {
		reply_error(out, 404, "not_found", "no template \"%s\"", tmpl);
		goto out;
	}
	/* Any error while evaluating (no attestation, unreadable) denies. */
	if (template_eval(gw, tmpl, &v, &err) < 0) {
		reply_error(out, 403, "template_denied", "template \"%s\": %s", tmpl, err.reason);
		goto out;
	}
	if (v.decision == DECISION_DENY) {
		reply_error(out, 403, "template_denied", "template \"%s\": %s", tmpl, v.why.reason);
		goto out;
	}
	if (v.decision == DECISION_ALLOW_AUDIT_ONLY)
		gateway_audit(gw, "gateway", "gateway.template", tmpl, "would-deny", v.why.reason, 0);
	if (!v.rule || !v.allow_overlay) {
		reply_error(out, 403, "template_denied", "template \"%s\": overlays not allowed", tmpl);
		goto out;
	}
	overlay_path(gw, name, overlay, sizeof(overlay));
	/* Reserve the overlay name so that two creates cannot share it. */
	fd = open(overlay, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		reply_error(out, 409, "conflict", "overlay \"%s\": %s", overlay, strerror(errno));
		goto out;
	}
	close(fd);
	reserved = 1;
	if (make_overlay(tpath, strcmp(v.st.format, "raw") ? "qcow2" : "raw", overlay, &err) < 0) {
		reply_error(out, 502, "overlay_failed", "%s: %s", err.object, err.reason);
		goto out;
	}
	snprintf(xml, sizeof(xml),
		 "<domain type='%s'><name>%s</name><memory unit='MiB'>%lld</memory>"
		 "<vcpu>%lld</vcpu><os><type arch='x86_64'>hvm</type></os><devices>"
		 "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
		 "<source file='%s'/><target dev='vda' bus='virtio'/></disk></devices></domain>",
		 !strcmp(virConnectGetType(gw->conn) ? virConnectGetType(gw->conn) : "", "Test")
			 ? "test"
			 : (access("/dev/kvm", R_OK | W_OK) == 0 ? "kvm" : "qemu"),
		 name, (long long)req.memory_mib, (long long)req.vcpus, overlay);
	d = virDomainDefineXML(gw->conn, xml);
	if (!d) {
		reply_virt(out, "define", name);
		goto out;
	}
	reserved = 0;
	snprintf(out->changed, sizeof(out->changed),
		 "domain=%s template=%s (%s) version=%lld digest=%s overlay=%s", name, tmpl,
		 v.st.template_name, (long long)v.st.template_version, v.st.digest, overlay);
	reply_ok(out, 201, json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", name, "template", tmpl,
				     "overlay", overlay, "version",
				     (json_int_t)v.st.template_version, "state", "shut-off"));
out:
	if (reserved)
		unlink(overlay);
	if (d)
		virDomainFree(d);
}

struct audit_collect {
	json_t *arr;
	uint64_t last;
};

static int collect_entry(const struct audit_entry *e, const char *line, size_t len, void *arg)
{
	struct audit_collect *c = arg;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);

	if (j)
		json_array_append_new(c->arr, j);
	c->last = e->seq;
	return json_array_size(c->arr) >= MAX_AUDIT_ENTRIES;
}

static void audit_tail(struct gateway *gw, const struct route *rt, const char *name,
		       const char *query, const char *body, size_t body_len, struct reply *out)
{
	struct audit_collect c = {.arr = json_array()};
	struct vs_error err = {0};
	uint64_t since = 1;

	if (query && *query &&
	    (strncmp(query, "since=", 6) || parse_uint_strict(query + 6, 0, UINT64_MAX, &since) < 0)) {
		reply_error(out, 400, "bad_request", "query must be since=N");
		json_decref(c.arr);
		return;
	}
	if (audit_foreach(gw->audit_path, since, collect_entry, NULL, &c, &err) < 0) {
		reply_error(out, 500, "io_error", "%s: %s", err.object, err.reason);
		json_decref(c.arr);
		return;
	}
	reply_ok(out, 200, json_pack("{s:o, s:I}", "entries", c.arr, "next",
				     (json_int_t)(c.last ? c.last + 1 : since)));
}

/* The log's head signed with the response key (lib/auditcp), for auditors to keep off the host:
 * vmseal-audit verify --checkpoint later fails if the log lost that entry. The chain is
 * verified first, so a broken log gets no signature. */
int gateway_checkpoint(struct gateway *gw, int verify, uint64_t *seq, char **json, struct vs_error *err)
{
	struct audit_head h;

	*json = NULL;
	if (verify) {
		struct audit_verify_result res;

		if (audit_verify(gw->audit_path, &res, err) < 0)
			return -1;
		h = res.head;
	} else {
		/* The head first, then the fsync: what is signed is durable. */
		audit_log_head(gw->audit, &h);
		if (audit_sync(gw->audit, err) < 0)
			return -1;
	}
	*seq = h.seq;
	*json = audit_checkpoint_sign(gw->audit_path, &h, vs_now(), gw->resp_key, err);
	return *json ? 0 : -1;
}

static void audit_checkpoint(struct gateway *gw, const struct route *rt, const char *name,
			     const char *query, const char *body, size_t body_len, struct reply *out)
{
	struct vs_error err = {0};
	uint64_t seq = 0;
	json_t *env;
	char *cp;

	if (gateway_checkpoint(gw, 1, &seq, &cp, &err) < 0) {
		reply_error(out, err.kind == VS_ERR_DENIED ? 409 : 500,
			    err.kind == VS_ERR_DENIED ? "audit_broken" : "io_error", "%s: %s", err.object, err.reason);
		return;
	}
	env = json_loads(cp, JSON_REJECT_DUPLICATES, NULL);
	free(cp);
	if (!env) {
		reply_error(out, 500, "internal", "cannot encode the checkpoint");
		return;
	}
	reply_ok(out, 200, json_pack("{s:I, s:o}", "seq", (json_int_t)seq, "checkpoint", env));
}

static void healthz(struct gateway *gw, const struct route *rt, const char *name,
		    const char *query, const char *body, size_t body_len, struct reply *out)
{
	reply_ok(out, 200, json_pack("{s:s}", "status", "ok"));
}

/* The helpers gateway_disks.c shares with the domain routes. */
virDomainPtr gateway_lookup(struct gateway *gw, const char *name, struct reply *out)
{
	return lookup(gw, name, out);
}

void gateway_reply_virt(struct reply *out, const char *what, const char *name)
{
	reply_virt(out, what, name);
}

void gateway_reply_ok(struct reply *out, unsigned status, json_t *body)
{
	reply_ok(out, status, body);
}

int gateway_domain_active(virDomainPtr d)
{
	return domain_active(d);
}

int gateway_template_eval(struct gateway *gw, const char *file, struct image_verdict *v,
			  struct vs_error *err)
{
	return template_eval(gw, file, v, err);
}

int gateway_make_overlay(const char *backing, const char *fmt, const char *overlay,
			 struct vs_error *err)
{
	return make_overlay(backing, fmt, overlay, err);
}

#define VIEW (ROLE_VIEWER | ROLE_OPERATOR | ROLE_ADMIN)
#define OPER (ROLE_OPERATOR | ROLE_ADMIN)

static const struct route routes[] = {
	{"GET", "/healthz", 0, 0, QUORUM_NONE, "gateway.healthz", healthz, NULL},
	{"GET", "/v1/domains", VIEW, 0, QUORUM_NONE, "gateway.domains.list", domains_list, NULL},
	{"POST", "/v1/domains", OPER, 1, QUORUM_NONE, "gateway.domains.create", domain_create, NULL},
	{"GET", "/v1/domains/{}", VIEW, 0, QUORUM_NONE, "gateway.domains.get", domain_get, NULL},
	{"DELETE", "/v1/domains/{}", ROLE_ADMIN, 1, QUORUM_DELETE, "gateway.domains.delete",
	 domain_delete, NULL},
	{"POST", "/v1/domains/{}/start", OPER, 1, QUORUM_NONE, "gateway.domains.start",
	 domain_action, NULL},
	{"POST", "/v1/domains/{}/shutdown", OPER, 1, QUORUM_NONE, "gateway.domains.shutdown",
	 domain_action, NULL},
	{"POST", "/v1/domains/{}/reboot", OPER, 1, QUORUM_NONE, "gateway.domains.reboot",
	 domain_action, NULL},
	{"POST", "/v1/domains/{}/destroy", ROLE_ADMIN, 1, QUORUM_DESTROY, "gateway.domains.destroy",
	 domain_action, NULL},
	{"POST", "/v1/domains/{}/disks", OPER, 1, QUORUM_NONE, "gateway.domains.disks", disks_attach, NULL},
	{"POST", "/v1/domains/{}/media", OPER, 1, QUORUM_NONE, "gateway.domains.media", media_change, NULL},
	{"GET", "/v1/templates", VIEW, 0, QUORUM_NONE, "gateway.templates.list", templates_list, NULL},
	{"GET", "/v1/audit", ROLE_AUDITOR | ROLE_ADMIN, 0, QUORUM_NONE, "gateway.audit.tail",
	 audit_tail, NULL},
	{"GET", "/v1/audit/checkpoint", ROLE_AUDITOR | ROLE_ADMIN, 0, QUORUM_NONE,
	 "gateway.audit.checkpoint", audit_checkpoint, NULL},
	{"POST", "/v1/sign", ROLE_SIGNER | ROLE_ADMIN, 1, QUORUM_NONE, "gateway.sign", NULL, sign_route},
};

/* Matches path against a pattern; {} takes one non-empty segment. */
static int pattern_match(const char *pat, const char *path, char *name, size_t namelen)
{
	while (*pat && *path) {
		if (pat[0] == '{' && pat[1] == '}') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= namelen)
				return 0;
			memcpy(name, path, n);
			name[n] = '\0';
			path += n;
			pat += 2;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	return !*pat && !*path;
}

const struct route *route_find(const char *method, const char *path, char *name, size_t namelen,
			       int *path_known)
{
	*path_known = 0;
	name[0] = '\0';
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) + gateway_ssh_nroutes; i++) {
		const struct route *rt = i < sizeof(routes) / sizeof(routes[0])
					 ? &routes[i] : &gateway_ssh_routes[i - sizeof(routes) / sizeof(routes[0])];

		if (!pattern_match(rt->pattern, path, name, namelen))
			continue;
		*path_known = 1;
		if (!strcmp(rt->method, method))
			return rt;
	}
	return NULL;
}

static void silence(void *ud, virErrorPtr e)
{
}

/* A remote driver (qemu:///system) needs an event loop for its keepalive messages. */
static void *event_loop(void *arg)
{
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			usleep(100000);
	return NULL;
}

int gateway_libvirt_open(struct gateway *gw, struct vs_error *err)
{
	int remote = strncmp(gw->cfg.libvirt_uri, "test:", 5) != 0;

	if (virInitialize() < 0)
		return vs_fail(err, VS_ERR_INTERNAL, "libvirt", "cannot initialise");
	virSetErrorFunc(NULL, silence);
	if (remote) {
		pthread_t th;

		if (virEventRegisterDefaultImpl() < 0 ||
		    pthread_create(&th, NULL, event_loop, NULL) != 0)
			return vs_fail(err, VS_ERR_INTERNAL, "libvirt", "cannot start the event loop");
		pthread_detach(th);
	}
	gw->conn = virConnectOpen(gw->cfg.libvirt_uri);
	if (!gw->conn)
		return vs_fail(err, VS_ERR_IO, gw->cfg.libvirt_uri, "cannot connect: %s",
			       virGetLastErrorMessage());
	if (remote && virConnectSetKeepAlive(gw->conn, 5, 3) < 0)
		return vs_fail(err, VS_ERR_IO, gw->cfg.libvirt_uri, "cannot enable keepalive: %s",
			       virGetLastErrorMessage());
	return 0;
}

void gateway_libvirt_close(struct gateway *gw)
{
	if (gw->conn)
		virConnectClose(gw->conn);
	gw->conn = NULL;
}
