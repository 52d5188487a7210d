/* SPDX-License-Identifier: Apache-2.0 */
/* libvirt domain XML reader: the domain's name and every disk with its backing chain. */
#ifndef VMSEAL_DOMXML_H
#define VMSEAL_DOMXML_H

#include <stddef.h>

#include "error.h"
#include "limits.h"

enum disk_type { DISK_TYPE_FILE, DISK_TYPE_BLOCK, DISK_TYPE_NETWORK, DISK_TYPE_VOLUME, DISK_TYPE_OTHER };
enum disk_device { DISK_DEVICE_DISK, DISK_DEVICE_CDROM, DISK_DEVICE_FLOPPY, DISK_DEVICE_LUN };

#define DOMXML_TYPE_MAX 16
#define DOMXML_FORMAT_MAX 16
#define DOMXML_TARGET_MAX 32

/* One layer of a disk's chain: the disk's own <source> or a <backingStore>. */
struct disk_layer {
	enum disk_type type;
	char type_name[DOMXML_TYPE_MAX]; /* as written: "file", "nvme", … */
	char format[DOMXML_FORMAT_MAX];  /* <driver type> or <format type>; "" when unset */
	char *source;                    /* file or block path; NULL when absent (empty cdrom) */
	char *remote;                    /* network: "protocol:name"; volume: "pool/volume"; else NULL */
};

struct domain_disk {
	enum disk_device device;
	char target[DOMXML_TARGET_MAX];  /* <target dev>; "" when absent */
	int readonly;                    /* <readonly/>; a cdrom counts as readonly */
	/* The XML states where the chain ends (an empty <backingStore/> after the last layer):
	 * libvirt writes that at start begin. 0 at prepare begin: callers follow the headers. */
	int chain_end_known;
	int has_data_store;              /* a <dataStore> (external data file) under <source> */
	size_t nlayers;                  /* ≥ 1; layers[0] is the disk itself */
	struct disk_layer layers[VS_MAX_BACKING_DEPTH];
};

struct domain_xml {
	char name[VS_MAX_NAME_BYTES];
	/* The XML passes arguments or overrides straight to QEMU (qemu:commandline,
	 * qemu:override): those can attach storage that no <disk> shows. */
	int has_qemu_passthrough;
	size_t ndisks;
	struct domain_disk *disks;
};

/* Parses a domain XML document of at most VS_MAX_XML_BYTES: no network, no DTD (a DOCTYPE is
 * refused, so no entity is ever declared or expanded). Refuses more than VS_MAX_DISKS disks, a
 * chain deeper than VS_MAX_BACKING_DEPTH, a duplicated <source>/<backingStore>/<driver>, an
 * unknown disk device, and names or paths beyond the limits. */
int domxml_parse(const char *xml, size_t len, struct domain_xml **out, struct vs_error *err);

void domxml_free(struct domain_xml *d);

struct _xmlDoc;
/* The safe reading domxml_parse uses, for other judges of the same document: same limits, no
 * DTD, root element <domain>. Free *out with xmlFreeDoc. */
int domxml_read(const char *xml, size_t len, struct _xmlDoc **out, struct vs_error *err);

const char *disk_device_name(enum disk_device d);

#endif
