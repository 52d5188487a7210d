/* SPDX-License-Identifier: Apache-2.0 */
/* qcow2 header reader: every offset and length is checked against the file and its first
 * cluster before a byte is copied (qemu's docs/interop/qcow2.txt). */
#include "qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#define QCOW2_V2_HEADER_LEN 72u
#define QCOW2_V3_HEADER_MIN 104u
#define QCOW2_MIN_CLUSTER_BITS 9u
#define QCOW2_MAX_CLUSTER_BITS 21u

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

const char *image_format_name(enum image_format f)
{
	return f == IMAGE_FORMAT_QCOW2 ? "qcow2" : "raw";
}

static int fd_size(int fd, const char *name, uint64_t *size, struct vs_error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return vs_fail(err, VS_ERR_IO, name, "cannot stat: %s", strerror(errno));
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return vs_fail(err, VS_ERR_IO, name, "cannot get block device size: %s",
				       strerror(errno));
		return 0;
	}
	return vs_fail(err, VS_ERR_INPUT, name, "not a regular file or block device");
}

static int pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = pread(fd, (uint8_t *)buf + n, len - n, (off_t)(off + n));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

/* Copies a header string of len bytes, refusing NUL and control bytes: such a name would mean
 * one thing to us and another to qemu (which stops at the NUL) or forge lines in our logs. */
static int copy_name(const uint8_t *p, size_t len, char *out, const char *what, const char *name,
		     struct vs_error *err)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return vs_fail(err, VS_ERR_INPUT, name, "%s contains control byte 0x%02x at %zu",
				       what, p[i], i);
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

static int read_extensions(const uint8_t *buf, size_t buflen, uint64_t start, uint64_t end,
			   const char *name, struct qcow2_info *out, struct vs_error *err)
{
	int seen_format = 0;
	uint64_t off = start;

	while (off < end) {
		uint32_t type, len;

		if (end - off < 8)
			return vs_fail(err, VS_ERR_INPUT, name,
				       "header extension at offset %llu is cut short",
				       (unsigned long long)off);
		if (off + 8 > buflen)
			return vs_fail(err, VS_ERR_INPUT, name,
				       "header extensions run past the end of the file (offset %llu)",
				       (unsigned long long)off);
		type = be32(buf + off);
		len = be32(buf + off + 4);
		if (type == QCOW2_EXT_END)
			return 0;
		if (len > end - off - 8 || off + 8 + len > buflen)
			return vs_fail(err, VS_ERR_INPUT, name,
				       "header extension 0x%08x at offset %llu: length %u overruns the header cluster",
				       type, (unsigned long long)off, len);
		if (type == QCOW2_EXT_BACKING_FORMAT) {
			if (seen_format++)
				return vs_fail(err, VS_ERR_INPUT, name,
					       "backing format extension appears twice");
			if (len == 0 || len > QCOW2_MAX_FORMAT_NAME)
				return vs_fail(err, VS_ERR_INPUT, name,
					       "backing format name length %u (limit %u)", len,
					       QCOW2_MAX_FORMAT_NAME);
			if (copy_name(buf + off + 8, len, out->backing_format, "backing format name", name,
				      err) < 0)
				return -1;
		} else if (type == QCOW2_EXT_DATA_FILE) {
			size_t n = len > QCOW2_MAX_BACKING_NAME ? QCOW2_MAX_BACKING_NAME : len;

			out->has_data_file = 1;
			/* Kept only for the message; never opened, so control bytes are replaced. */
			memcpy(out->data_file, buf + off + 8, n);
			out->data_file[n] = '\0';
			for (size_t i = 0; i < n; i++)
				if ((unsigned char)out->data_file[i] < 0x20 || out->data_file[i] == 0x7f)
					out->data_file[i] = '?';
		}
		off += 8 + (((uint64_t)len + 7) & ~7ull);
	}
	return 0;
}

int qcow2_read_header(int fd, const char *name, struct qcow2_info *out, struct vs_error *err)
{
	uint8_t hdr[QCOW2_V3_HEADER_MIN];
	uint8_t *buf = NULL;
	uint64_t fsize, cluster, ext_end, boff, region;
	uint32_t bsize;
	size_t got, buflen;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (fd_size(fd, name, &fsize, err) < 0)
		goto out;
	if (pread_full(fd, hdr, sizeof(hdr), 0, &got) < 0) {
		vs_fail(err, VS_ERR_IO, name, "cannot read header: %s", strerror(errno));
		goto out;
	}
	if (got < 4 || be32(hdr) != QCOW2_MAGIC) {
		out->format = IMAGE_FORMAT_RAW;
		ret = 0;
		goto out;
	}
	out->format = IMAGE_FORMAT_QCOW2;
	if (got < 8) {
		vs_fail(err, VS_ERR_INPUT, name, "truncated qcow2 header (%zu bytes)", got);
		goto out;
	}
	out->version = be32(hdr + 4);
	if (out->version != 2 && out->version != 3) {
		vs_fail(err, VS_ERR_INPUT, name, "unsupported qcow2 version %u", out->version);
		goto out;
	}
	if (got < (out->version == 2 ? QCOW2_V2_HEADER_LEN : QCOW2_V3_HEADER_MIN)) {
		vs_fail(err, VS_ERR_INPUT, name, "truncated qcow2 v%u header (%zu bytes)", out->version,
			got);
		goto out;
	}
	boff = be64(hdr + 8);
	bsize = be32(hdr + 16);
	out->cluster_bits = be32(hdr + 20);
	out->virtual_size = be64(hdr + 24);
	out->crypt_method = be32(hdr + 32);
	out->l1_size = be32(hdr + 36);
	out->l1_table_offset = be64(hdr + 40);
	out->nb_snapshots = be32(hdr + 60);
	if (out->cluster_bits < QCOW2_MIN_CLUSTER_BITS || out->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
		vs_fail(err, VS_ERR_INPUT, name, "cluster_bits %u outside [%u, %u]", out->cluster_bits,
			QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
		goto out;
	}
	cluster = 1ull << out->cluster_bits;
	if (out->version == 2) {
		out->header_length = QCOW2_V2_HEADER_LEN;
	} else {
		out->incompatible_features = be64(hdr + 72);
		out->header_length = be32(hdr + 100);
		if (out->header_length < QCOW2_V3_HEADER_MIN || out->header_length > cluster) {
			vs_fail(err, VS_ERR_INPUT, name, "header_length %u outside [%u, %llu]",
				out->header_length, QCOW2_V3_HEADER_MIN, (unsigned long long)cluster);
			goto out;
		}
		if (out->incompatible_features & ~QCOW2_INCOMPAT_KNOWN) {
			vs_fail(err, VS_ERR_INPUT, name, "unknown incompatible feature bits 0x%llx",
				(unsigned long long)(out->incompatible_features & ~QCOW2_INCOMPAT_KNOWN));
			goto out;
		}
		if (out->incompatible_features & QCOW2_INCOMPAT_DATA_FILE)
			out->has_data_file = 1;
	}
	if (out->header_length > fsize) {
		vs_fail(err, VS_ERR_INPUT, name, "header_length %u is past the end of the file (%llu bytes)",
			out->header_length, (unsigned long long)fsize);
		goto out;
	}

	/* Extensions run from the end of the header to the backing name (or the end of the first
	 * cluster); the backing name must lie inside the first cluster and the file. */
	if (boff != 0) {
		if (boff < out->header_length || boff >= cluster) {
			vs_fail(err, VS_ERR_INPUT, name,
				"backing file offset %llu outside the header cluster [%u, %llu)",
				(unsigned long long)boff, out->header_length, (unsigned long long)cluster);
			goto out;
		}
		if (bsize > QCOW2_MAX_BACKING_NAME || bsize > cluster - boff) {
			vs_fail(err, VS_ERR_INPUT, name, "backing file name length %u (limit %u, %llu left in cluster)",
				bsize, QCOW2_MAX_BACKING_NAME, (unsigned long long)(cluster - boff));
			goto out;
		}
		if (boff + bsize > fsize) {
			vs_fail(err, VS_ERR_INPUT, name,
				"backing file name at %llu+%u is past the end of the file (%llu bytes)",
				(unsigned long long)boff, bsize, (unsigned long long)fsize);
			goto out;
		}
		ext_end = boff;
	} else {
		if (bsize != 0) {
			vs_fail(err, VS_ERR_INPUT, name, "backing file name length %u with offset 0", bsize);
			goto out;
		}
		ext_end = cluster;
	}
	region = cluster < fsize ? cluster : fsize;
	buflen = (size_t)region;
	buf = malloc(buflen ? buflen : 1);
	if (!buf) {
		vs_fail(err, VS_ERR_INTERNAL, name, "out of memory");
		goto out;
	}
	if (pread_full(fd, buf, buflen, 0, &got) < 0) {
		vs_fail(err, VS_ERR_IO, name, "cannot read header cluster: %s", strerror(errno));
		goto out;
	}
	if (got != buflen) {
		vs_fail(err, VS_ERR_IO, name, "file shrank while reading its header");
		goto out;
	}
	if (read_extensions(buf, buflen, out->header_length, ext_end, name, out, err) < 0)
		goto out;
	if (boff != 0 && bsize != 0) {
		if (copy_name(buf + boff, bsize, out->backing_file, "backing file name", name, err) < 0)
			goto out;
		out->has_backing = 1;
	}
	if (!out->has_backing && out->backing_format[0]) {
		vs_fail(err, VS_ERR_INPUT, name, "backing format \"%s\" without a backing file",
			out->backing_format);
		goto out;
	}
	ret = 0;
out:
	free(buf);
	if (ret < 0) {
		enum image_format f = out->format;

		memset(out, 0, sizeof(*out));
		out->format = f;
	}
	return ret;
}

int qcow2_has_data(int fd, const char *name, const struct qcow2_info *hdr, int *has_data,
		   struct vs_error *err)
{
	uint8_t buf[65536];
	uint64_t fsize, cluster, left, off;

	*has_data = 1;
	if (hdr->format != IMAGE_FORMAT_QCOW2)
		return vs_fail(err, VS_ERR_INPUT, name, "not a qcow2 image");
	if (hdr->nb_snapshots)
		return 0; /* internal snapshots hold clusters of their own */
	if (hdr->l1_size > QCOW2_MAX_L1_ENTRIES)
		return vs_fail(err, VS_ERR_INPUT, name, "L1 table of %u entries, limit is %u", hdr->l1_size,
			       QCOW2_MAX_L1_ENTRIES);
	if (fd_size(fd, name, &fsize, err) < 0)
		return -1;
	cluster = 1ull << hdr->cluster_bits;
	left = (uint64_t)hdr->l1_size * 8;
	off = hdr->l1_table_offset;
	if (left && (off % cluster || off > fsize || left > fsize - off))
		return vs_fail(err, VS_ERR_INPUT, name, "L1 table at %llu (%u entries) outside the file or misaligned",
			       (unsigned long long)off, hdr->l1_size);
	while (left) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf), got;

		if (pread_full(fd, buf, want, (off_t)off, &got) < 0 || got != want)
			return vs_fail(err, VS_ERR_IO, name, "cannot read the L1 table");
		for (size_t i = 0; i < want; i++)
			if (buf[i])
				return 0;
		left -= want;
		off += want;
	}
	*has_data = 0;
	return 0;
}

int qcow2_backing_path(const char *image_path, const char *backing, char *out, size_t outlen,
		       struct vs_error *err)
{
	const char *slash;
	size_t dirlen;
	int n;

	if (!backing[0])
		return vs_fail(err, VS_ERR_INPUT, image_path, "empty backing file name");
	/* qemu's path_has_protocol(): a ':' before any '/' selects a protocol driver. */
	if (backing[strcspn(backing, ":/")] == ':')
		return vs_fail(err, VS_ERR_DENIED, image_path,
			       "backing file \"%s\" uses a protocol, only local files are allowed",
			       backing);
	if (backing[0] == '/') {
		n = snprintf(out, outlen, "%s", backing);
	} else {
		slash = strrchr(image_path, '/');
		dirlen = slash ? (size_t)(slash - image_path) + 1 : 0;
		n = snprintf(out, outlen, "%.*s%s", (int)dirlen, image_path, backing);
	}
	if (n < 0 || (size_t)n >= outlen || (size_t)n >= VS_MAX_PATH_BYTES)
		return vs_fail(err, VS_ERR_INPUT, image_path, "backing file path is too long");
	return 0;
}
