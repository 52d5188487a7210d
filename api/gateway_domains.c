/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway domain routes over libvirt: list, get, create from a verified template,
 * start, shutdown, reboot, destroy, delete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/gateway_routes.h"
#include "lib/gwbody.h"

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

static void domains_list(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
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

static void domain_get(const struct call *c)
{
	struct reply *out = c->out;
	const char *name = c->name;
	virDomainPtr d = gateway_domain_lookup(c->gw, name, out);
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

/* start/shutdown/reboot/destroy: check the state first, so that the answer means the same
 * whatever the driver reports for a pointless action. */
static void domain_action(const struct call *c)
{
	struct reply *out = c->out;
	const char *name = c->name, *verb = strrchr(c->rt->pattern, '/') + 1;
	virDomainPtr d = gateway_domain_lookup(c->gw, name, out);
	int active, r;
	json_t *j;

	if (!d)
		return;
	active = gateway_domain_active(d);
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

static void domain_delete(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	const char *name = c->name;
	virDomainPtr d = gateway_domain_lookup(gw, name, out);
	char overlay[VS_MAX_PATH_BYTES], needle[VS_MAX_PATH_BYTES + 16];
	char *xml = NULL;
	int active, ours = 0;

	if (!d)
		return;
	active = gateway_domain_active(d);
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

static void domain_create(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	struct gwbody_create req;
	char tpath[VS_MAX_PATH_BYTES], overlay[VS_MAX_PATH_BYTES], xml[4 * VS_MAX_PATH_BYTES];
	struct image_verdict v;
	struct vs_error err = {0};
	const char *name, *tmpl;
	virDomainPtr d = NULL;
	int reserved = 0;

	memset(&v, 0, sizeof(v));
	if (gwbody_parse_create(c->body, c->body_len, &req, &err) < 0) {
		reply_error(out, 400, "bad_request", "%s", err.reason);
		goto out;
	}
	name = req.name;
	tmpl = req.template_name;
	if (template_dir_configured(gw, 1, out) < 0)
		goto out;
	if ((d = virDomainLookupByName(gw->conn, name))) {
		reply_error(out, 409, "conflict", "domain \"%s\" exists", name);
		goto out;
	}
	if (template_allowed(gw, tmpl, 1, &v, tpath, sizeof(tpath), out) < 0)
		goto out;
	overlay_path(gw, name, overlay, sizeof(overlay));
	if (template_make_overlay(tpath, strcmp(v.st.format, "raw") ? "qcow2" : "raw", overlay, out) < 0)
		goto out;
	reserved = 1;
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

#define VIEW (ROLE_VIEWER | ROLE_OPERATOR | ROLE_ADMIN)
#define OPER (ROLE_OPERATOR | ROLE_ADMIN)

const struct route domain_routes[] = {
	{"GET", "/v1/domains", VIEW, 0, QUORUM_NONE, "gateway.domains.list", domains_list},
	{"POST", "/v1/domains", OPER, ROUTE_CHANGES_STATE, QUORUM_NONE, "gateway.domains.create",
	 domain_create},
	{"GET", "/v1/domains/{}", VIEW, 0, QUORUM_NONE, "gateway.domains.get", domain_get},
	{"DELETE", "/v1/domains/{}", ROLE_ADMIN, ROUTE_CHANGES_STATE, QUORUM_DELETE,
	 "gateway.domains.delete", domain_delete},
	{"POST", "/v1/domains/{}/start", OPER, ROUTE_CHANGES_STATE, QUORUM_NONE,
	 "gateway.domains.start", domain_action},
	{"POST", "/v1/domains/{}/shutdown", OPER, ROUTE_CHANGES_STATE, QUORUM_NONE,
	 "gateway.domains.shutdown", domain_action},
	{"POST", "/v1/domains/{}/reboot", OPER, ROUTE_CHANGES_STATE, QUORUM_NONE,
	 "gateway.domains.reboot", domain_action},
	{"POST", "/v1/domains/{}/destroy", ROLE_ADMIN, ROUTE_CHANGES_STATE, QUORUM_DESTROY,
	 "gateway.domains.destroy", domain_action},
};
const size_t domain_nroutes = sizeof(domain_routes) / sizeof(domain_routes[0]);
