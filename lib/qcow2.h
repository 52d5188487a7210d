/* SPDX-License-Identifier: Apache-2.0 */
/* qcow2 header reader: format, backing file and format, external data file; hostile input safe. */
#ifndef VMSEAL_QCOW2_H
#define VMSEAL_QCOW2_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "limits.h"

#define QCOW2_MAGIC 0x514649fbu            /* "QFI\xfb" */
#define QCOW2_MAX_BACKING_NAME 1023        /* qemu's own limit on the backing file name */
#define QCOW2_MAX_FORMAT_NAME 15           /* qemu's limit on the backing format name */
#define QCOW2_MAX_L1_ENTRIES (1u << 20) /* 8 MiB of L1: 512 TiB at 64 KiB clusters */
#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_DATA_FILE 0x44415441u

/* Incompatible feature bits (qcow2 v3). Any bit not listed makes the image unreadable to us. */
#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN 0x1full

enum image_format { IMAGE_FORMAT_RAW = 0, IMAGE_FORMAT_QCOW2 };

struct qcow2_info {
	enum image_format format;       /* RAW: no qcow2 magic; the other fields are zero */
	uint32_t version;               /* 2 or 3 */
	uint32_t header_length;         /* 72 for v2 */
	uint32_t cluster_bits;
	uint64_t virtual_size;
	uint32_t crypt_method;
	uint32_t l1_size;               /* entries of the active L1 table */
	uint64_t l1_table_offset;
	uint32_t nb_snapshots;
	uint64_t incompatible_features;
	int has_backing;
	char backing_file[QCOW2_MAX_BACKING_NAME + 1];   /* as written in the header */
	char backing_format[QCOW2_MAX_FORMAT_NAME + 1];  /* "" when the header names none */
	/* An external data file (extension 0x44415441 or incompatible bit 2): the guest's data is
	 * not in this file, so its digest says nothing about the disk. Callers deny. */
	int has_data_file;
	char data_file[QCOW2_MAX_BACKING_NAME + 1];      /* "" when only the feature bit is set */
};

/* Reads and validates the header of the image open on fd with pread (the fd's offset is
 * untouched). A file without the qcow2 magic is reported as IMAGE_FORMAT_RAW. A qcow2 header
 * that is truncated, of an unknown version, with unknown incompatible features, or whose
 * backing name or extensions fall outside the file or its first cluster is refused
 * (VS_ERR_INPUT) with the bad value quoted; name is for errors. */
int qcow2_read_header(int fd, const char *name, struct qcow2_info *out, struct vs_error *err);

/* Whether the qcow2 image open on fd (header hdr, from qcow2_read_header) holds any guest data
 * of its own: *has_data = 1 when it has internal snapshots or any non-zero entry in its L1
 * table (an L2 table exists: data, zero or discarded clusters that would hide the backing
 * file's), 0 when every read falls through to the backing file, as in an overlay just made by
 * `qemu-img create -b`. Reads at most QCOW2_MAX_L1_ENTRIES entries, bounded by the file; an L1
 * table outside the file or misaligned is refused (VS_ERR_INPUT). */
int qcow2_has_data(int fd, const char *name, const struct qcow2_info *hdr, int *has_data,
		   struct vs_error *err);

/* Resolves a header's backing file name the way qemu does: an absolute name as is, a relative
 * one against the directory of image_path (as given, symlinks not resolved). Names with a
 * protocol prefix ("json:", "nbd:", "http://…") are refused: the hook only follows local files.
 * out holds VS_MAX_PATH_BYTES. */
int qcow2_backing_path(const char *image_path, const char *backing, char *out, size_t outlen,
		       struct vs_error *err);

/* "raw" or "qcow2". */
const char *image_format_name(enum image_format f);

#endif
