/* SPDX-License-Identifier: Apache-2.0 */
/* libvirt domain XML reader (libxml2): elements are matched the way libvirt's own XPath
 * queries match them (no namespace), attributes with xmlGetProp as virXMLPropString does. */
#include "domxml.h"

#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define QEMU_NS_HREF "http://libvirt.org/schemas/domain/qemu/1.0"

const char *disk_device_name(enum disk_device d)
{
	switch (d) {
	case DISK_DEVICE_CDROM: return "cdrom";
	case DISK_DEVICE_FLOPPY: return "floppy";
	case DISK_DEVICE_LUN: return "lun";
	default: return "disk";
	}
}

static int is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && strcmp((const char *)n->name, name) == 0;
}

/* The only child element called name; NULL when none; -1 in *dup when there are several,
 * because libvirt and we might then read different ones. */
static xmlNode *only_child(xmlNode *parent, const char *name, int *dup)
{
	xmlNode *found = NULL;

	for (xmlNode *c = parent->children; c; c = c->next) {
		if (!is_elem(c, name))
			continue;
		if (found)
			*dup = 1;
		found = found ? found : c;
	}
	return found;
}

/* Copies attribute attr of n into out (outlen bytes); "" when absent. */
static int attr_copy(xmlNode *n, const char *attr, char *out, size_t outlen, const char *object,
		     struct vs_error *err)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
	int ret = 0;

	out[0] = '\0';
	if (!v)
		return 0;
	if (strlen((const char *)v) >= outlen)
		ret = vs_fail(err, VS_ERR_INPUT, object, "<%s %s> is longer than %zu bytes", n->name,
			      attr, outlen - 1);
	else
		memcpy(out, v, strlen((const char *)v) + 1);
	xmlFree(v);
	return ret;
}

/* Duplicates attribute attr of n (malloc'd), NULL in *out when absent. */
static int attr_dup(xmlNode *n, const char *attr, size_t max, char **out, const char *object,
		    struct vs_error *err)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);

	*out = NULL;
	if (!v)
		return 0;
	if (strlen((const char *)v) >= max) {
		xmlFree(v);
		return vs_fail(err, VS_ERR_INPUT, object, "<%s %s> is longer than %zu bytes", n->name,
			       attr, max - 1);
	}
	*out = strdup((const char *)v);
	xmlFree(v);
	if (!*out)
		return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	return 0;
}

static enum disk_type type_parse(const char *s)
{
	if (!strcmp(s, "file"))
		return DISK_TYPE_FILE;
	if (!strcmp(s, "block"))
		return DISK_TYPE_BLOCK;
	if (!strcmp(s, "network"))
		return DISK_TYPE_NETWORK;
	if (!strcmp(s, "volume"))
		return DISK_TYPE_VOLUME;
	return DISK_TYPE_OTHER;
}

/* Reads one layer's <source> (and for the disk itself, where the format lives in <driver>). */
static int layer_parse(xmlNode *n, const char *type, const char *fmt_elem, struct disk_layer *l,
		       struct domain_disk *d, const char *object, struct vs_error *err)
{
	xmlNode *src, *fmt;
	int dup = 0, dup_ds = 0;

	if (strlen(type) >= sizeof(l->type_name))
		return vs_fail(err, VS_ERR_INPUT, object, "disk type \"%.32s\" is too long", type);
	strcpy(l->type_name, type);
	l->type = type_parse(type);
	fmt = only_child(n, fmt_elem, &dup);
	src = only_child(n, "source", &dup);
	if (dup)
		return vs_fail(err, VS_ERR_INPUT, object, "duplicate <%s> or <source> element", fmt_elem);
	if (fmt && attr_copy(fmt, "type", l->format, sizeof(l->format), object, err) < 0)
		return -1;
	if (!src)
		return 0;
	if (only_child(src, "dataStore", &dup_ds))
		d->has_data_store = 1;
	if (l->type == DISK_TYPE_FILE || l->type == DISK_TYPE_BLOCK) {
		if (attr_dup(src, l->type == DISK_TYPE_FILE ? "file" : "dev", VS_MAX_PATH_BYTES,
			     &l->source, object, err) < 0)
			return -1;
		if (l->source && !l->source[0]) {
			free(l->source);
			l->source = NULL;
		}
	} else if (l->type == DISK_TYPE_NETWORK || l->type == DISK_TYPE_VOLUME) {
		const char *a = l->type == DISK_TYPE_NETWORK ? "protocol" : "pool";
		const char *b = l->type == DISK_TYPE_NETWORK ? "name" : "volume";
		char *x = NULL, *y = NULL;
		size_t n2;

		if (attr_dup(src, a, VS_MAX_NAME_BYTES, &x, object, err) < 0 ||
		    attr_dup(src, b, VS_MAX_PATH_BYTES, &y, object, err) < 0) {
			free(x);
			return -1;
		}
		n2 = (x ? strlen(x) : 0) + (y ? strlen(y) : 0) + 2;
		l->remote = malloc(n2);
		if (l->remote)
			snprintf(l->remote, n2, "%s%s%s", x ? x : "", l->type == DISK_TYPE_NETWORK ? ":" : "/",
				 y ? y : "");
		free(x);
		free(y);
		if (!l->remote)
			return vs_fail(err, VS_ERR_INTERNAL, object, "out of memory");
	}
	return 0;
}

static int disk_parse(xmlNode *n, size_t index, struct domain_disk *d, struct vs_error *err)
{
	char object[64], type[DOMXML_TYPE_MAX + 1] = "", device[16] = "";
	xmlNode *cur = n;
	int dup = 0;

	snprintf(object, sizeof(object), "disk %zu", index);
	if (attr_copy(n, "device", device, sizeof(device), object, err) < 0)
		return -1;
	if (!device[0] || !strcmp(device, "disk"))
		d->device = DISK_DEVICE_DISK;
	else if (!strcmp(device, "cdrom"))
		d->device = DISK_DEVICE_CDROM;
	else if (!strcmp(device, "floppy"))
		d->device = DISK_DEVICE_FLOPPY;
	else if (!strcmp(device, "lun"))
		d->device = DISK_DEVICE_LUN;
	else
		return vs_fail(err, VS_ERR_INPUT, object, "unknown disk device \"%s\"", device);
	{
		xmlNode *t = only_child(n, "target", &dup);

		if (t && attr_copy(t, "dev", d->target, sizeof(d->target), object, err) < 0)
			return -1;
		if (d->target[0])
			snprintf(object, sizeof(object), "disk %s", d->target);
	}
	d->readonly = only_child(n, "readonly", &dup) != NULL || d->device == DISK_DEVICE_CDROM;
	if (dup)
		return vs_fail(err, VS_ERR_INPUT, object, "duplicate <target> or <readonly> element");

	if (attr_copy(n, "type", type, sizeof(type), object, err) < 0)
		return -1;
	if (layer_parse(n, type[0] ? type : "file", "driver", &d->layers[0], d, object, err) < 0)
		return -1;
	d->nlayers = 1;
	for (;;) {
		xmlNode *bs = only_child(cur, "backingStore", &dup);

		if (dup)
			return vs_fail(err, VS_ERR_INPUT, object, "duplicate <backingStore> element");
		if (!bs)
			break;
		if (attr_copy(bs, "type", type, sizeof(type), object, err) < 0)
			return -1;
		if (!type[0]) { /* libvirt's terminator: the chain ends here */
			d->chain_end_known = 1;
			break;
		}
		if (d->nlayers >= VS_MAX_BACKING_DEPTH)
			return vs_fail(err, VS_ERR_INPUT, object, "backing chain deeper than %d layers",
				       VS_MAX_BACKING_DEPTH);
		if (layer_parse(bs, type, "format", &d->layers[d->nlayers], d, object, err) < 0) {
			d->nlayers++; /* so that domxml_free frees what was allocated */
			return -1;
		}
		d->nlayers++;
		cur = bs;
	}
	return 0;
}

void domxml_free(struct domain_xml *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->ndisks; i++)
		for (size_t j = 0; j < d->disks[i].nlayers; j++) {
			free(d->disks[i].layers[j].source);
			free(d->disks[i].layers[j].remote);
		}
	free(d->disks);
	free(d);
}

int domxml_read(const char *xml, size_t len, struct _xmlDoc **out, struct vs_error *err)
{
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	xmlNode *root;
	int ret = -1;

	*out = NULL;
	if (len > VS_MAX_XML_BYTES) {
		vs_fail(err, VS_ERR_INPUT, "domain XML", "%zu bytes, limit is %u", len, VS_MAX_XML_BYTES);
		goto out;
	}
	if (memchr(xml, '\0', len)) {
		vs_fail(err, VS_ERR_INPUT, "domain XML", "contains a NUL byte");
		goto out;
	}
	/* Refused before parsing, so that no entity declaration is ever processed. */
	if (memmem(xml, len, "<!DOCTYPE", 9) || memmem(xml, len, "<!ENTITY", 8)) {
		vs_fail(err, VS_ERR_INPUT, "domain XML", "a DOCTYPE or ENTITY declaration is not allowed");
		goto out;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		vs_fail(err, VS_ERR_INTERNAL, "domain XML", "out of memory");
		goto out;
	}
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		vs_fail(err, VS_ERR_INPUT, "domain XML", "not well-formed: line %d: %s",
			e ? e->line : 0, e && e->message ? e->message : "parse error");
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		vs_fail(err, VS_ERR_INPUT, "domain XML", "a DTD is not allowed");
		goto out;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !is_elem(root, "domain")) {
		vs_fail(err, VS_ERR_INPUT, "domain XML", "root element is \"%s\", not \"domain\"",
			root ? (const char *)root->name : "");
		goto out;
	}
	*out = doc;
	doc = NULL;
	ret = 0;
out:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return ret;
}

int domxml_parse(const char *xml, size_t len, struct domain_xml **out, struct vs_error *err)
{
	xmlDocPtr doc = NULL;
	xmlNode *root, *name = NULL;
	struct domain_xml *d = NULL;
	xmlChar *text = NULL;
	int ret = -1;

	*out = NULL;
	if (domxml_read(xml, len, &doc, err) < 0)
		goto out;
	root = xmlDocGetRootElement(doc);
	d = calloc(1, sizeof(*d));
	if (!d) {
		vs_fail(err, VS_ERR_INTERNAL, "domain XML", "out of memory");
		goto out;
	}
	for (xmlNode *c = root->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE && c->ns && c->ns->href &&
		    !strcmp((const char *)c->ns->href, QEMU_NS_HREF))
			d->has_qemu_passthrough = 1;
		if (!name && is_elem(c, "name"))
			name = c;
	}
	text = name ? xmlNodeGetContent(name) : NULL;
	if (!text || !text[0]) {
		vs_fail(err, VS_ERR_INPUT, "domain XML", "no <name>");
		goto out;
	}
	if (strlen((const char *)text) >= sizeof(d->name)) {
		vs_fail(err, VS_ERR_INPUT, "domain XML", "<name> is longer than %zu bytes", sizeof(d->name) - 1);
		goto out;
	}
	strcpy(d->name, (const char *)text);

	for (xmlNode *dev = root->children; dev; dev = dev->next) {
		if (!is_elem(dev, "devices"))
			continue;
		for (xmlNode *c = dev->children; c; c = c->next) {
			if (!is_elem(c, "disk"))
				continue;
			if (d->ndisks >= VS_MAX_DISKS) {
				vs_fail(err, VS_ERR_INPUT, "domain XML", "more than %d disks", VS_MAX_DISKS);
				goto out;
			}
			if (!d->disks) {
				d->disks = calloc(VS_MAX_DISKS, sizeof(*d->disks));
				if (!d->disks) {
					vs_fail(err, VS_ERR_INTERNAL, "domain XML", "out of memory");
					goto out;
				}
			}
			d->ndisks++;
			if (disk_parse(c, d->ndisks - 1, &d->disks[d->ndisks - 1], err) < 0)
				goto out;
		}
	}
	*out = d;
	d = NULL;
	ret = 0;
out:
	xmlFree(text);
	domxml_free(d);
	xmlFreeDoc(doc);
	return ret;
}
