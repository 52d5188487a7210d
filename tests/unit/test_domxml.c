/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/domxml.c: XML recorded from libvirt 9.0 hooks, and hostile documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/domxml.h"
#include "lib/util.h"

static struct domain_xml *parse_fixture(const char *name)
{
	const char *top = getenv("VMSEAL_TOP");
	char path[1024];
	char *xml = NULL;
	size_t len;
	struct vs_error err = {0};
	struct domain_xml *d = NULL;

	snprintf(path, sizeof(path), "%s/tests/data/xml/%s", top ? top : ".", name);
	CU_ASSERT_EQUAL_FATAL(file_read_all(path, VS_MAX_XML_BYTES, &xml, &len, &err), 0);
	if (domxml_parse(xml, len, &d, &err) < 0)
		fprintf(stderr, "\n%s: %s: %s\n", name, err.object, err.reason);
	free(xml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	return d;
}

static int parse_string(const char *xml, struct vs_error *err)
{
	struct domain_xml *d = NULL;
	int r;

	vs_error_clear(err);
	r = domxml_parse(xml, strlen(xml), &d, err);
	CU_ASSERT((r == 0) == (d != NULL));
	domxml_free(d);
	return r;
}

static void expect_refused(const char *xml, const char *reason)
{
	struct vs_error err;

	CU_ASSERT_EQUAL(parse_string(xml, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
	if (!strstr(err.reason, reason))
		fprintf(stderr, "\nreason \"%s\", want \"%s\"\n", err.reason, reason);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, reason));
}

static void test_prepare_begin(void)
{
	struct domain_xml *d = parse_fixture("web1-prepare-begin.xml");

	CU_ASSERT_STRING_EQUAL(d->name, "web1");
	CU_ASSERT_FALSE(d->has_qemu_passthrough);
	CU_ASSERT_EQUAL_FATAL(d->ndisks, 3);
	CU_ASSERT_STRING_EQUAL(d->disks[0].target, "vda");
	CU_ASSERT_EQUAL(d->disks[0].device, DISK_DEVICE_DISK);
	CU_ASSERT_FALSE(d->disks[0].readonly);
	CU_ASSERT_EQUAL(d->disks[0].nlayers, 1);
	CU_ASSERT_FALSE(d->disks[0].chain_end_known);
	CU_ASSERT_EQUAL(d->disks[0].layers[0].type, DISK_TYPE_FILE);
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[0].format, "qcow2");
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[0].source, "@DIR@/top.qcow2");

	CU_ASSERT_STRING_EQUAL(d->disks[1].target, "vdb");
	CU_ASSERT_TRUE(d->disks[1].readonly);
	CU_ASSERT_STRING_EQUAL(d->disks[1].layers[0].format, "raw");
	CU_ASSERT_STRING_EQUAL(d->disks[1].layers[0].source, "@DIR@/data.raw");

	CU_ASSERT_EQUAL(d->disks[2].device, DISK_DEVICE_CDROM);
	CU_ASSERT_TRUE(d->disks[2].readonly);
	CU_ASSERT_PTR_NULL(d->disks[2].layers[0].source);
	domxml_free(d);
}

static void test_start_begin_chain(void)
{
	struct domain_xml *d = parse_fixture("web1-start-begin.xml");
	const struct domain_disk *vda = &d->disks[0];

	CU_ASSERT_EQUAL_FATAL(d->ndisks, 3);
	CU_ASSERT_EQUAL_FATAL(vda->nlayers, 2);
	CU_ASSERT_TRUE(vda->chain_end_known);
	CU_ASSERT_STRING_EQUAL(vda->layers[0].source, "@DIR@/top.qcow2");
	CU_ASSERT_STRING_EQUAL(vda->layers[1].source, "@DIR@/base.qcow2");
	CU_ASSERT_STRING_EQUAL(vda->layers[1].format, "qcow2");
	CU_ASSERT_EQUAL(vda->layers[1].type, DISK_TYPE_FILE);
	/* a raw disk: the chain is known to end at once */
	CU_ASSERT_EQUAL(d->disks[1].nlayers, 1);
	CU_ASSERT_TRUE(d->disks[1].chain_end_known);
	/* the empty cdrom carries <source index='1'/> without a file here */
	CU_ASSERT_PTR_NULL(d->disks[2].layers[0].source);
	domxml_free(d);

	d = parse_fixture("chain3-start-begin.xml");
	CU_ASSERT_EQUAL_FATAL(d->disks[0].nlayers, 3);
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[0].source, "@DIR@/top2.qcow2");
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[1].source, "@DIR@/top.qcow2");
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[2].source, "@DIR@/base.qcow2");
	CU_ASSERT_TRUE(d->disks[0].chain_end_known);
	domxml_free(d);

	d = parse_fixture("chain3-prepare-begin.xml");
	CU_ASSERT_EQUAL(d->disks[0].nlayers, 1);
	CU_ASSERT_FALSE(d->disks[0].chain_end_known);
	domxml_free(d);
}

static void test_restore_begin(void)
{
	struct domain_xml *d = parse_fixture("web1-restore-begin.xml");

	CU_ASSERT_EQUAL_FATAL(d->ndisks, 3);
	CU_ASSERT_EQUAL(d->disks[0].nlayers, 1);
	CU_ASSERT_FALSE(d->disks[0].chain_end_known);
	CU_ASSERT_TRUE(d->disks[1].chain_end_known);
	domxml_free(d);
}

static void test_disk_kinds(void)
{
	struct domain_xml *d = parse_fixture("kinds-start-begin.xml");

	CU_ASSERT_STRING_EQUAL(d->name, "kinds");
	CU_ASSERT_EQUAL_FATAL(d->ndisks, 4);
	CU_ASSERT_EQUAL(d->disks[0].layers[0].type, DISK_TYPE_BLOCK);
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[0].source, "/dev/loop0");
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[0].type_name, "block");

	CU_ASSERT_EQUAL(d->disks[1].layers[0].type, DISK_TYPE_VOLUME);
	CU_ASSERT_PTR_NULL(d->disks[1].layers[0].source);
	CU_ASSERT_STRING_EQUAL(d->disks[1].layers[0].remote, "recpool/vol1.qcow2");

	CU_ASSERT_EQUAL(d->disks[2].layers[0].type, DISK_TYPE_NETWORK);
	CU_ASSERT_STRING_EQUAL(d->disks[2].layers[0].remote, "nbd:export1");
	CU_ASSERT_PTR_NULL(d->disks[2].layers[0].source);
	CU_ASSERT_STRING_EQUAL(d->disks[2].target, "vdc");

	CU_ASSERT_EQUAL(d->disks[3].device, DISK_DEVICE_FLOPPY);
	CU_ASSERT_STRING_EQUAL(d->disks[3].layers[0].source, "@DIR@/fd.img");
	CU_ASSERT_FALSE(d->disks[3].readonly);
	domxml_free(d);

	d = parse_fixture("kinds-prepare-begin.xml");
	CU_ASSERT_EQUAL(d->ndisks, 4);
	domxml_free(d);
}

static void test_lun_datastore_other(void)
{
	struct domain_xml *d = parse_fixture("lun-datastore.xml");

	CU_ASSERT_EQUAL_FATAL(d->ndisks, 3);
	CU_ASSERT_EQUAL(d->disks[0].device, DISK_DEVICE_LUN);
	CU_ASSERT_EQUAL(d->disks[0].layers[0].type, DISK_TYPE_BLOCK);
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[0].source, "/dev/sdz");
	CU_ASSERT_FALSE(d->disks[0].has_data_store);
	CU_ASSERT_TRUE(d->disks[1].has_data_store);
	CU_ASSERT_STRING_EQUAL(d->disks[1].layers[0].source, "@DIR@/df.qcow2");
	CU_ASSERT_EQUAL(d->disks[2].layers[0].type, DISK_TYPE_OTHER);
	CU_ASSERT_STRING_EQUAL(d->disks[2].layers[0].type_name, "nvme");
	CU_ASSERT_PTR_NULL(d->disks[2].layers[0].source);
	domxml_free(d);
}

static void test_qemu_passthrough(void)
{
	static const char xml[] =
		"<domain type='qemu' xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'>"
		"<name>x</name><q:commandline><q:arg value='-drive'/>"
		"<q:arg value='file=/tmp/evil.img'/></q:commandline></domain>";
	struct domain_xml *d = NULL;
	struct vs_error err;

	CU_ASSERT_EQUAL_FATAL(domxml_parse(xml, strlen(xml), &d, &err), 0);
	CU_ASSERT_TRUE(d->has_qemu_passthrough);
	CU_ASSERT_EQUAL(d->ndisks, 0);
	domxml_free(d);
}

/* libvirt's XPath ignores elements in a foreign namespace; so do we, and count the rest. */
static void test_namespaced_disk_ignored(void)
{
	static const char xml[] =
		"<domain><name>x</name><devices>"
		"<y:disk xmlns:y='urn:x' type='file'><source file='/a'/></y:disk>"
		"<disk type='file'><source file='/b'/><target dev='vda'/></disk>"
		"</devices></domain>";
	struct domain_xml *d = NULL;
	struct vs_error err;

	CU_ASSERT_EQUAL_FATAL(domxml_parse(xml, strlen(xml), &d, &err), 0);
	CU_ASSERT_EQUAL_FATAL(d->ndisks, 1);
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[0].source, "/b");
	/* no type attribute: libvirt's default is file */
	CU_ASSERT_EQUAL(d->disks[0].layers[0].type, DISK_TYPE_FILE);
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[0].format, "");
	domxml_free(d);
}

static void test_dtd_refused(void)
{
	expect_refused("<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY a 'aaaa'>"
		       "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]><domain><name>&b;</name></domain>",
		       "DOCTYPE");
	expect_refused("<!DOCTYPE domain SYSTEM 'http://example.com/x.dtd'><domain><name>x</name></domain>",
		       "DOCTYPE");
	expect_refused("<domain><name>x</name><!ENTITY x 'y'></domain>", "ENTITY");
}

static void test_malformed_refused(void)
{
	struct vs_error err;
	char nul[] = "<domain><name>x</name>\0</domain>";
	struct domain_xml *d = NULL;

	expect_refused("<domain><name>x</name>", "not well-formed");
	expect_refused("", "not well-formed");
	expect_refused("<vm><name>x</name></vm>", "root element is \"vm\"");
	expect_refused("<domain><devices/></domain>", "no <name>");
	expect_refused("<domain><name></name></domain>", "no <name>");
	expect_refused("<domain><name>x</name><devices><disk device='tape'/></devices></domain>",
		       "unknown disk device \"tape\"");
	expect_refused("<domain><name>x</name><devices><disk type='file'><source file='/a'/>"
		       "<source file='/b'/></disk></devices></domain>", "duplicate");
	expect_refused("<domain><name>x</name><devices><disk type='file'><source file='/a'/>"
		       "<backingStore type='file'><source file='/b'/></backingStore>"
		       "<backingStore type='file'><source file='/c'/></backingStore>"
		       "</disk></devices></domain>", "duplicate <backingStore>");
	CU_ASSERT_EQUAL(domxml_parse(nul, sizeof(nul) - 1, &d, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "NUL"));
	CU_ASSERT_PTR_NULL(d);
}

static char *build_domain(size_t ndisks, size_t depth, size_t path_len)
{
	size_t cap = 64 + ndisks * (200 + path_len) + depth * 120 * ndisks + 64;
	char *x = malloc(cap), *p = x;
	char *longpath = malloc(path_len + 2);

	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	memset(longpath, 'a', path_len);
	longpath[0] = '/';
	longpath[path_len] = '\0';
	p += sprintf(p, "<domain><name>many</name><devices>");
	for (size_t i = 0; i < ndisks; i++) {
		p += sprintf(p, "<disk type='file'><driver type='qcow2'/><source file='%s'/>"
			     "<target dev='vd%zu'/>", path_len ? longpath : "/top", i);
		for (size_t j = 1; j < depth; j++)
			p += sprintf(p, "<backingStore type='file'><format type='qcow2'/>"
				     "<source file='/layer%zu'/>", j);
		if (depth)
			p += sprintf(p, "<backingStore/>");
		for (size_t j = 1; j < depth; j++)
			p += sprintf(p, "</backingStore>");
		p += sprintf(p, "</disk>");
	}
	sprintf(p, "</devices></domain>");
	free(longpath);
	return x;
}

static void test_limits(void)
{
	struct domain_xml *d = NULL;
	struct vs_error err;
	char *x;

	x = build_domain(VS_MAX_DISKS, 2, 0);
	CU_ASSERT_EQUAL(domxml_parse(x, strlen(x), &d, &err), 0);
	CU_ASSERT_EQUAL(d ? d->ndisks : 0, VS_MAX_DISKS);
	domxml_free(d);
	free(x);
	x = build_domain(VS_MAX_DISKS + 1, 1, 0);
	expect_refused(x, "more than 64 disks");
	free(x);

	x = build_domain(1, VS_MAX_BACKING_DEPTH, 0);
	CU_ASSERT_EQUAL(domxml_parse(x, strlen(x), &d, &err), 0);
	CU_ASSERT_EQUAL_FATAL(d ? d->disks[0].nlayers : 0, VS_MAX_BACKING_DEPTH);
	CU_ASSERT_STRING_EQUAL(d->disks[0].layers[15].source, "/layer15");
	CU_ASSERT_TRUE(d->disks[0].chain_end_known);
	domxml_free(d);
	free(x);
	x = build_domain(1, VS_MAX_BACKING_DEPTH + 1, 0);
	expect_refused(x, "deeper than 16 layers");
	free(x);

	x = build_domain(1, 1, VS_MAX_PATH_BYTES - 1);
	CU_ASSERT_EQUAL(parse_string(x, &err), 0);
	free(x);
	x = build_domain(1, 1, VS_MAX_PATH_BYTES);
	expect_refused(x, "longer than 4095 bytes");
	free(x);

	x = malloc(VS_MAX_XML_BYTES + 2);
	memset(x, ' ', VS_MAX_XML_BYTES + 1);
	x[VS_MAX_XML_BYTES + 1] = '\0';
	expect_refused(x, "limit is 1048576");
	free(x);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"prepare begin: top images only", test_prepare_begin},
		{"start begin: backingStore chains", test_start_begin_chain},
		{"restore begin", test_restore_begin},
		{"block, volume, network, floppy disks", test_disk_kinds},
		{"lun, dataStore, nvme", test_lun_datastore_other},
		{"qemu:commandline is flagged", test_qemu_passthrough},
		{"foreign-namespace disk ignored like libvirt", test_namespaced_disk_ignored},
		{"DOCTYPE and entities refused", test_dtd_refused},
		{"malformed documents refused", test_malformed_refused},
		{"disk count, depth, path and size limits", test_limits},
		{NULL, NULL},
	};
	return run_suite("domxml", cases);
}
