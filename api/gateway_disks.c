/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway: verified hot-plug. libvirt calls no hook for attach-device or change-media,
 * so these routes are the way to add storage to a domain: the image is judged by the same
 * policy evaluation as a template, and the device XML is built here, not taken from the caller. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "api/gateway_routes.h"
#include "lib/gwbody.h"
#include "lib/limits.h"

/* vd → virtio, sd → scsi, hd → ide, xvd → xen (gwbody_target_ok has checked the prefix). */
static const char *target_bus(const char *target)
{
	if (!strncmp(target, "xvd", 3))
		return "xen";
	if (!strncmp(target, "sd", 2))
		return "scsi";
	if (!strncmp(target, "hd", 2))
		return "ide";
	return "virtio";
}

/* Serialises node into a malloc'd string (libxml2 escapes every attribute value). */
static char *node_dump(xmlNodePtr node)
{
	xmlBufferPtr buf = xmlBufferCreate();
	char *s = NULL;

	if (buf && xmlNodeDump(buf, node->doc, node, 0, 0) >= 0)
		s = strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	return s;
}

/* <disk type='file' device='disk'><driver name='qemu' type=FMT/><source file=PATH/>
 * <target dev=T bus=B/>[<readonly/>]</disk> */
static char *disk_xml(const char *format, const char *source, const char *target, int readonly)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr disk = xmlNewNode(NULL, BAD_CAST "disk"), n;
	char *s = NULL;

	if (!doc || !disk)
		goto out;
	xmlDocSetRootElement(doc, disk);
	xmlNewProp(disk, BAD_CAST "type", BAD_CAST "file");
	xmlNewProp(disk, BAD_CAST "device", BAD_CAST "disk");
	n = xmlNewChild(disk, NULL, BAD_CAST "driver", NULL);
	xmlNewProp(n, BAD_CAST "name", BAD_CAST "qemu");
	xmlNewProp(n, BAD_CAST "type", BAD_CAST format);
	n = xmlNewChild(disk, NULL, BAD_CAST "source", NULL);
	xmlNewProp(n, BAD_CAST "file", BAD_CAST source);
	n = xmlNewChild(disk, NULL, BAD_CAST "target", NULL);
	xmlNewProp(n, BAD_CAST "dev", BAD_CAST target);
	xmlNewProp(n, BAD_CAST "bus", BAD_CAST target_bus(target));
	if (readonly)
		xmlNewChild(disk, NULL, BAD_CAST "readonly", NULL);
	s = node_dump(disk);
out:
	if (doc)
		xmlFreeDoc(doc);
	else
		xmlFreeNode(disk);
	return s;
}

/* Live and/or config, as the domain is: a running persistent domain gets both. */
static int affect_flags(virDomainPtr d, struct reply *out, const char *name)
{
	int active = gateway_domain_active(d), flags = 0;

	if (active < 0) {
		reply_virt(out, "attach", name);
		return -1;
	}
	if (active)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	if (virDomainIsPersistent(d) == 1)
		flags |= VIR_DOMAIN_AFFECT_CONFIG;
	return flags;
}

/* POST /v1/domains/{name}/disks: a template of --template-dir readonly, or a new overlay on it
 * in --image-dir. */
static void disks_attach(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	const char *name = c->name;
	struct gwbody_disk req;
	struct image_verdict v;
	struct vs_error err = {0};
	char tpath[VS_MAX_PATH_BYTES], overlay[VS_MAX_PATH_BYTES];
	const char *source, *format;
	virDomainPtr d = NULL;
	char *xml = NULL;
	int flags, reserved = 0;

	if (gwbody_parse_disk(c->body, c->body_len, &req, &err) < 0) {
		reply_error(out, 400, "bad_request", "%s", err.reason);
		return;
	}
	if (!(d = gateway_domain_lookup(gw, name, out)))
		return;
	if ((flags = affect_flags(d, out, name)) < 0 ||
	    template_allowed(gw, req.template_name, req.overlay, &v, tpath, sizeof(tpath), out) < 0)
		goto out;
	source = tpath;
	format = strcmp(v.st.format, "raw") ? "qcow2" : "raw";
	if (req.overlay) {
		if ((size_t)snprintf(overlay, sizeof(overlay), "%s/%s-%s.qcow2", gw->cfg.image_dir, name,
				     req.target) >= sizeof(overlay)) {
			reply_error(out, 400, "bad_request", "overlay path too long");
			goto out;
		}
		if (template_make_overlay(tpath, format, overlay, out) < 0)
			goto out;
		reserved = 1;
		source = overlay;
		format = "qcow2";
	}
	if (!(xml = disk_xml(format, source, req.target, !req.overlay))) {
		reply_error(out, 500, "internal", "out of memory");
		goto out;
	}
	if (virDomainAttachDeviceFlags(d, xml, (unsigned)flags) < 0) {
		reply_virt(out, "attach", name);
		goto out;
	}
	reserved = 0;
	snprintf(out->changed, sizeof(out->changed),
		 "domain=%s disk=%s template=%s (%s) version=%lld digest=%s mode=%s source=%s", name,
		 req.target, req.template_name, v.st.template_name, (long long)v.st.template_version,
		 v.st.digest, req.overlay ? "overlay" : "readonly", source);
	reply_ok(out, 200, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "name", name, "target",
					     req.target, "template", req.template_name, "version",
					     (json_int_t)v.st.template_version, "mode",
					     req.overlay ? "overlay" : "readonly", "source", source));
out:
	if (reserved)
		unlink(overlay);
	free(xml);
	if (d)
		virDomainFree(d);
}

/* The domain's cdrom drive TARGET as device XML with its medium replaced by the image. */
static char *media_xml(const char *domxml, const char *target, const char *format,
		       const char *source, int *found)
{
	xmlDocPtr doc = xmlReadMemory(domxml, (int)strlen(domxml), "domain.xml", NULL,
				      XML_PARSE_NONET);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, devs = NULL, disk = NULL, n;
	char *s = NULL;

	*found = 0;
	for (n = root ? root->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && !xmlStrcmp(n->name, BAD_CAST "devices"))
			devs = n;
	for (n = devs ? devs->children : NULL; n && !disk; n = n->next) {
		xmlChar *dev;

		if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "disk"))
			continue;
		dev = xmlGetProp(n, BAD_CAST "device");
		if (dev && !xmlStrcmp(dev, BAD_CAST "cdrom"))
			for (xmlNodePtr t = n->children; t; t = t->next) {
				xmlChar *tdev;

				if (t->type != XML_ELEMENT_NODE || xmlStrcmp(t->name, BAD_CAST "target"))
					continue;
				tdev = xmlGetProp(t, BAD_CAST "dev");
				if (tdev && !xmlStrcmp(tdev, BAD_CAST target))
					disk = n;
				xmlFree(tdev);
			}
		xmlFree(dev);
	}
	if (!disk)
		goto out;
	*found = 1;
	/* Keep the drive (target, bus, address, alias); replace what it holds and how it is read. */
	for (n = disk->children; n;) {
		xmlNodePtr next = n->next;

		if (n->type == XML_ELEMENT_NODE &&
		    (!xmlStrcmp(n->name, BAD_CAST "source") || !xmlStrcmp(n->name, BAD_CAST "driver") ||
		     !xmlStrcmp(n->name, BAD_CAST "backingStore") ||
		     !xmlStrcmp(n->name, BAD_CAST "readonly"))) {
			xmlUnlinkNode(n);
			xmlFreeNode(n);
		}
		n = next;
	}
	xmlSetProp(disk, BAD_CAST "type", BAD_CAST "file");
	n = xmlNewChild(disk, NULL, BAD_CAST "driver", NULL);
	xmlNewProp(n, BAD_CAST "name", BAD_CAST "qemu");
	xmlNewProp(n, BAD_CAST "type", BAD_CAST format);
	n = xmlNewChild(disk, NULL, BAD_CAST "source", NULL);
	xmlNewProp(n, BAD_CAST "file", BAD_CAST source);
	xmlNewChild(disk, NULL, BAD_CAST "readonly", NULL);
	s = node_dump(disk);
out:
	xmlFreeDoc(doc);
	return s;
}

/* POST /v1/domains/{name}/media: a template of --template-dir into a cdrom drive. */
static void media_change(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	const char *name = c->name;
	struct gwbody_media req;
	struct image_verdict v;
	struct vs_error err = {0};
	char tpath[VS_MAX_PATH_BYTES];
	virDomainPtr d = NULL;
	char *domxml = NULL, *xml = NULL;
	int flags, found;

	if (gwbody_parse_media(c->body, c->body_len, &req, &err) < 0) {
		reply_error(out, 400, "bad_request", "%s", err.reason);
		return;
	}
	if (!(d = gateway_domain_lookup(gw, name, out)))
		return;
	if ((flags = affect_flags(d, out, name)) < 0 ||
	    template_allowed(gw, req.template_name, 0, &v, tpath, sizeof(tpath), out) < 0)
		goto out;
	if (!(domxml = virDomainGetXMLDesc(d, 0))) {
		reply_virt(out, "media", name);
		goto out;
	}
	xml = media_xml(domxml, req.target, strcmp(v.st.format, "raw") ? "qcow2" : "raw", tpath, &found);
	if (!xml) {
		if (found)
			reply_error(out, 500, "internal", "out of memory");
		else
			reply_error(out, 404, "not_found", "domain \"%s\" has no cdrom drive \"%s\"", name,
				    req.target);
		goto out;
	}
	if (virDomainUpdateDeviceFlags(d, xml, (unsigned)flags) < 0) {
		reply_virt(out, "media", name);
		goto out;
	}
	snprintf(out->changed, sizeof(out->changed),
		 "domain=%s cdrom=%s template=%s (%s) version=%lld digest=%s source=%s", name,
		 req.target, req.template_name, v.st.template_name, (long long)v.st.template_version,
		 v.st.digest, tpath);
	reply_ok(out, 200, json_pack("{s:s, s:s, s:s, s:I, s:s}", "name", name, "target",
					     req.target, "template", req.template_name, "version",
					     (json_int_t)v.st.template_version, "source", tpath));
out:
	free(xml);
	free(domxml);
	if (d)
		virDomainFree(d);
}

#define OPER (ROLE_OPERATOR | ROLE_ADMIN)

const struct route disk_routes[] = {
	{"POST", "/v1/domains/{}/disks", OPER, ROUTE_CHANGES_STATE, QUORUM_NONE,
	 "gateway.domains.disks", disks_attach},
	{"POST", "/v1/domains/{}/media", OPER, ROUTE_CHANGES_STATE, QUORUM_NONE,
	 "gateway.domains.media", media_change},
};
const size_t disk_nroutes = sizeof(disk_routes) / sizeof(disk_routes[0]);
