/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/qcow2.c: headers built byte by byte, valid and hostile. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common_cunit.h"
#include "lib/qcow2.h"

#define CLUSTER_BITS 16
#define CLUSTER (1u << CLUSTER_BITS)

struct hdr_spec {
	unsigned version;          /* 2 or 3 */
	unsigned header_length;    /* v3 only; 0: 104 */
	unsigned cluster_bits;     /* 0: 16 */
	uint64_t incompat;
	const char *backing;       /* NULL: none */
	size_t backing_len;        /* 0: strlen(backing) */
	uint64_t backing_offset;   /* 0: right after the extensions */
	const char *backing_fmt;   /* NULL: no extension */
	int backing_fmt_twice;
	const char *data_file;     /* NULL: no extension */
	uint32_t bogus_ext_len;    /* non-zero: an unknown extension claiming this length */
	size_t file_size;          /* 0: one cluster */
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

static size_t put_ext(uint8_t *buf, size_t off, uint32_t type, const void *data, uint32_t len)
{
	put32(buf + off, type);
	put32(buf + off + 4, len);
	memcpy(buf + off + 8, data, len);
	return off + 8 + ((len + 7u) & ~7u);
}

/* Builds the header cluster described by s into a new file; returns its path. */
static const char *write_image(const char *name, const struct hdr_spec *s)
{
	static char path[512];
	size_t size = s->file_size ? s->file_size : CLUSTER;
	uint8_t *buf = calloc(1, size > CLUSTER ? size : CLUSTER);
	unsigned hl = s->version == 2 ? 72 : (s->header_length ? s->header_length : 104);
	size_t off = hl;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	put32(buf, QCOW2_MAGIC);
	put32(buf + 4, s->version);
	put32(buf + 20, s->cluster_bits ? s->cluster_bits : CLUSTER_BITS);
	put64(buf + 24, 1ull << 30);
	put64(buf + 48, CLUSTER);            /* refcount table */
	put32(buf + 56, 1);
	if (s->version == 3) {
		put64(buf + 72, s->incompat);
		put32(buf + 96, 4);
		put32(buf + 100, hl);
	}
	if (s->backing_fmt) {
		off = put_ext(buf, off, QCOW2_EXT_BACKING_FORMAT, s->backing_fmt, strlen(s->backing_fmt));
		if (s->backing_fmt_twice)
			off = put_ext(buf, off, QCOW2_EXT_BACKING_FORMAT, s->backing_fmt,
				      strlen(s->backing_fmt));
	}
	if (s->data_file)
		off = put_ext(buf, off, QCOW2_EXT_DATA_FILE, s->data_file, strlen(s->data_file));
	if (s->bogus_ext_len) {
		put32(buf + off, 0x12345678);
		put32(buf + off + 4, s->bogus_ext_len);
		off += 8;
	}
	off += 8; /* end-of-extensions marker: already zero */
	if (s->backing) {
		size_t blen = s->backing_len ? s->backing_len : strlen(s->backing);
		uint64_t boff = s->backing_offset ? s->backing_offset : off;

		put64(buf + 8, boff);
		put32(buf + 16, (uint32_t)blen);
		if (boff + strlen(s->backing) <= size)
			memcpy(buf + boff, s->backing, strlen(s->backing));
	}
	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, buf, size) == (ssize_t)size);
	close(fd);
	free(buf);
	return path;
}

/* Reads the header of path; returns qcow2_read_header's result. */
static int read_path(const char *path, struct qcow2_info *info, struct vs_error *err)
{
	int fd = open(path, O_RDONLY);
	int r;

	CU_ASSERT_FATAL(fd >= 0);
	vs_error_clear(err);
	r = qcow2_read_header(fd, path, info, err);
	close(fd);
	return r;
}

static void expect_refused(const char *name, const struct hdr_spec *s, const char *reason)
{
	struct qcow2_info info;
	struct vs_error err;

	CU_ASSERT_EQUAL(read_path(write_image(name, s), &info, &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_INPUT);
	if (!strstr(err.reason, reason))
		fprintf(stderr, "\n%s: reason \"%s\", want \"%s\"\n", name, err.reason, reason);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, reason));
	CU_ASSERT_FALSE(info.has_backing);
}

static void test_raw(void)
{
	char path[512];
	struct qcow2_info info;
	struct vs_error err;
	int fd;

	snprintf(path, sizeof(path), "%s/raw.img", test_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "QFI\xfa and some more bytes", 24) == 24);
	close(fd);
	CU_ASSERT_EQUAL(read_path(path, &info, &err), 0);
	CU_ASSERT_EQUAL(info.format, IMAGE_FORMAT_RAW);
	CU_ASSERT_STRING_EQUAL(image_format_name(info.format), "raw");

	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	CU_ASSERT_EQUAL(read_path(path, &info, &err), 0); /* empty file */
	CU_ASSERT_EQUAL(info.format, IMAGE_FORMAT_RAW);
}

static void test_v2_plain(void)
{
	struct hdr_spec s = {.version = 2};
	struct qcow2_info info;
	struct vs_error err;

	CU_ASSERT_EQUAL_FATAL(read_path(write_image("v2.qcow2", &s), &info, &err), 0);
	CU_ASSERT_EQUAL(info.format, IMAGE_FORMAT_QCOW2);
	CU_ASSERT_EQUAL(info.version, 2);
	CU_ASSERT_EQUAL(info.header_length, 72);
	CU_ASSERT_EQUAL(info.virtual_size, 1ull << 30);
	CU_ASSERT_FALSE(info.has_backing);
	CU_ASSERT_FALSE(info.has_data_file);
	CU_ASSERT_STRING_EQUAL(info.backing_format, "");
}

static void test_v3_plain(void)
{
	struct hdr_spec s = {.version = 3, .header_length = 112, .incompat = QCOW2_INCOMPAT_DIRTY};
	struct qcow2_info info;
	struct vs_error err;

	CU_ASSERT_EQUAL_FATAL(read_path(write_image("v3.qcow2", &s), &info, &err), 0);
	CU_ASSERT_EQUAL(info.version, 3);
	CU_ASSERT_EQUAL(info.header_length, 112);
	CU_ASSERT_EQUAL(info.incompatible_features, QCOW2_INCOMPAT_DIRTY);
	CU_ASSERT_FALSE(info.has_backing);
	CU_ASSERT_FALSE(info.has_data_file);
}

static void test_v2_backing(void)
{
	struct hdr_spec s = {.version = 2, .backing = "base.qcow2", .backing_fmt = "qcow2"};
	struct qcow2_info info;
	struct vs_error err;

	CU_ASSERT_EQUAL_FATAL(read_path(write_image("v2b.qcow2", &s), &info, &err), 0);
	CU_ASSERT_TRUE(info.has_backing);
	CU_ASSERT_STRING_EQUAL(info.backing_file, "base.qcow2");
	CU_ASSERT_STRING_EQUAL(info.backing_format, "qcow2");
}

static void test_v3_backing(void)
{
	struct hdr_spec s = {.version = 3, .backing = "/var/lib/images/debian-12.raw",
			     .backing_fmt = "raw"};
	struct hdr_spec nofmt = {.version = 3, .backing = "../base.img"};
	struct qcow2_info info;
	struct vs_error err;

	CU_ASSERT_EQUAL_FATAL(read_path(write_image("v3b.qcow2", &s), &info, &err), 0);
	CU_ASSERT_TRUE(info.has_backing);
	CU_ASSERT_STRING_EQUAL(info.backing_file, "/var/lib/images/debian-12.raw");
	CU_ASSERT_STRING_EQUAL(info.backing_format, "raw");

	CU_ASSERT_EQUAL_FATAL(read_path(write_image("v3nofmt.qcow2", &nofmt), &info, &err), 0);
	CU_ASSERT_TRUE(info.has_backing);
	CU_ASSERT_STRING_EQUAL(info.backing_file, "../base.img");
	CU_ASSERT_STRING_EQUAL(info.backing_format, "");
}

/* Offset set but length 0: qemu treats it as no backing file; so do we. */
static void test_empty_backing_name(void)
{
	struct hdr_spec s = {.version = 3, .backing = "", .backing_offset = 512};
	struct qcow2_info info;
	struct vs_error err;

	CU_ASSERT_EQUAL(read_path(write_image("empty-backing.qcow2", &s), &info, &err), 0);
	CU_ASSERT_FALSE(info.has_backing);
}

static void test_huge_backing_length(void)
{
	struct hdr_spec s = {.version = 3, .backing = "base.qcow2", .backing_len = 0x7fffffff};
	struct hdr_spec s1024 = {.version = 2, .backing = "base.qcow2", .backing_len = 1024};

	expect_refused("huge-len.qcow2", &s, "backing file name length 2147483647");
	expect_refused("len1024.qcow2", &s1024, "backing file name length 1024");
}

static void test_backing_past_end(void)
{
	/* The name's offset is inside the cluster, but the file is shorter than offset + size. */
	struct hdr_spec s = {.version = 3, .backing = "base.qcow2", .backing_offset = 600,
			     .backing_len = 200, .file_size = 700};
	/* The offset is past the header cluster. */
	struct hdr_spec far = {.version = 3, .backing = "x", .backing_offset = 1ull << 40};
	/* The offset points into the header itself. */
	struct hdr_spec inside = {.version = 3, .backing = "x", .backing_offset = 16};
	/* Name crossing the end of the cluster. */
	struct hdr_spec cross = {.version = 3, .backing = "abc", .backing_offset = CLUSTER - 2};

	expect_refused("past-end.qcow2", &s, "past the end of the file");
	expect_refused("far.qcow2", &far, "outside the header cluster");
	expect_refused("inside.qcow2", &inside, "outside the header cluster");
	expect_refused("cross.qcow2", &cross, "left in cluster");
}

static void test_data_file(void)
{
	struct hdr_spec ext = {.version = 3, .incompat = QCOW2_INCOMPAT_DATA_FILE,
			       .data_file = "/dev/sdb"};
	struct hdr_spec bit_only = {.version = 3, .incompat = QCOW2_INCOMPAT_DATA_FILE};
	struct hdr_spec ext_only = {.version = 2, .data_file = "data.raw\n"};
	struct qcow2_info info;
	struct vs_error err;

	CU_ASSERT_EQUAL_FATAL(read_path(write_image("df.qcow2", &ext), &info, &err), 0);
	CU_ASSERT_TRUE(info.has_data_file);
	CU_ASSERT_STRING_EQUAL(info.data_file, "/dev/sdb");
	CU_ASSERT_EQUAL_FATAL(read_path(write_image("dfbit.qcow2", &bit_only), &info, &err), 0);
	CU_ASSERT_TRUE(info.has_data_file);
	CU_ASSERT_STRING_EQUAL(info.data_file, "");
	CU_ASSERT_EQUAL_FATAL(read_path(write_image("dfext.qcow2", &ext_only), &info, &err), 0);
	CU_ASSERT_TRUE(info.has_data_file);
	CU_ASSERT_STRING_EQUAL(info.data_file, "data.raw?");
}

static void test_truncated(void)
{
	struct hdr_spec v3 = {.version = 3, .file_size = 100};
	struct hdr_spec v2 = {.version = 2, .file_size = 60};
	struct hdr_spec tiny = {.version = 2, .file_size = 6};

	expect_refused("trunc3.qcow2", &v3, "truncated qcow2 v3 header (100 bytes)");
	expect_refused("trunc2.qcow2", &v2, "truncated qcow2 v2 header (60 bytes)");
	expect_refused("tiny.qcow2", &tiny, "truncated qcow2 header (6 bytes)");
}

static void test_bad_fields(void)
{
	struct hdr_spec v4 = {.version = 4};
	struct hdr_spec v1 = {.version = 1};
	struct hdr_spec incompat = {.version = 3, .incompat = 1ull << 5};
	struct hdr_spec cbits = {.version = 3, .cluster_bits = 40};
	struct hdr_spec cbits_small = {.version = 2, .cluster_bits = 8};
	struct hdr_spec hlen = {.version = 3, .header_length = 100};
	struct hdr_spec hlen_big = {.version = 3, .header_length = CLUSTER + 8};

	expect_refused("v4.qcow2", &v4, "unsupported qcow2 version 4");
	expect_refused("v1.qcow2", &v1, "unsupported qcow2 version 1");
	expect_refused("incompat.qcow2", &incompat, "unknown incompatible feature bits 0x20");
	expect_refused("cbits.qcow2", &cbits, "cluster_bits 40");
	expect_refused("cbits8.qcow2", &cbits_small, "cluster_bits 8");
	expect_refused("hlen.qcow2", &hlen, "header_length 100");
	expect_refused("hlenbig.qcow2", &hlen_big, "header_length 65544");
}

static void test_bad_extensions(void)
{
	struct hdr_spec overrun = {.version = 3, .bogus_ext_len = 0xfffffff0};
	struct hdr_spec overrun_backing = {.version = 3, .backing = "b", .backing_offset = 200,
					   .bogus_ext_len = 200};
	struct hdr_spec twice = {.version = 3, .backing = "b", .backing_fmt = "qcow2",
				 .backing_fmt_twice = 1};
	struct hdr_spec longfmt = {.version = 3, .backing = "b",
				   .backing_fmt = "qcow2qcow2qcow2qcow2"};
	struct hdr_spec fmt_alone = {.version = 3, .backing_fmt = "qcow2"};
	struct hdr_spec nul = {.version = 3, .backing = "ba\x01se"};

	expect_refused("ext-overrun.qcow2", &overrun, "overruns the header cluster");
	expect_refused("ext-overrun-b.qcow2", &overrun_backing, "overruns the header cluster");
	expect_refused("fmt-twice.qcow2", &twice, "appears twice");
	expect_refused("fmt-long.qcow2", &longfmt, "backing format name length 20");
	expect_refused("fmt-alone.qcow2", &fmt_alone, "without a backing file");
	expect_refused("ctl-name.qcow2", &nul, "control byte 0x01");
}

/* A NUL in the backing name: qemu would stop at it, we refuse the whole name. */
static void test_backing_name_nul(void)
{
	struct hdr_spec s = {.version = 3, .backing = "evil", .backing_len = 8};

	expect_refused("nul-name.qcow2", &s, "control byte 0x00 at 4");
}

/* Flipping random bytes of valid headers must never crash or read out of bounds (run under
 * `make SAN=1` to make that visible). */
static void test_mutations_never_crash(void)
{
	struct hdr_spec s = {.version = 3, .backing = "base.qcow2", .backing_fmt = "qcow2",
			     .data_file = "d", .file_size = 4096};
	const char *path = write_image("mut.qcow2", &s);
	uint8_t orig[4096], buf[4096];
	int fd = open(path, O_RDWR);
	unsigned seed = 12345, accepted = 0;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pread(fd, orig, sizeof(orig), 0) == (ssize_t)sizeof(orig));
	for (int round = 0; round < 3000; round++) {
		struct qcow2_info info;
		struct vs_error err;

		memcpy(buf, orig, sizeof(buf));
		for (int k = 0; k < 4; k++) {
			unsigned pos = (unsigned)rand_r(&seed) % 256;

			buf[pos] = (uint8_t)rand_r(&seed);
		}
		CU_ASSERT_FATAL(pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
		if (qcow2_read_header(fd, path, &info, &err) == 0) {
			accepted++;
			CU_ASSERT(strlen(info.backing_file) <= QCOW2_MAX_BACKING_NAME);
		} else {
			CU_ASSERT(err.reason[0] != '\0');
		}
	}
	close(fd);
	CU_ASSERT(accepted > 0);
}

static void test_backing_path(void)
{
	char out[VS_MAX_PATH_BYTES];
	struct vs_error err;

	CU_ASSERT_EQUAL(qcow2_backing_path("/img/vm/top.qcow2", "base.qcow2", out, sizeof(out), &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "/img/vm/base.qcow2");
	CU_ASSERT_EQUAL(qcow2_backing_path("/img/vm/top.qcow2", "../t/b.raw", out, sizeof(out), &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "/img/vm/../t/b.raw");
	CU_ASSERT_EQUAL(qcow2_backing_path("/img/top.qcow2", "/abs/b", out, sizeof(out), &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "/abs/b");
	CU_ASSERT_EQUAL(qcow2_backing_path("top.qcow2", "b", out, sizeof(out), &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "b");
	CU_ASSERT_EQUAL(qcow2_backing_path("/i/top", "dir/x:y", out, sizeof(out), &err), 0);
	CU_ASSERT_STRING_EQUAL(out, "/i/dir/x:y");

	CU_ASSERT_EQUAL(qcow2_backing_path("/i/top", "nbd:localhost:10809", out, sizeof(out), &err), -1);
	CU_ASSERT_EQUAL(err.kind, VS_ERR_DENIED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "uses a protocol"));
	CU_ASSERT_EQUAL(qcow2_backing_path("/i/top", "json:{\"driver\":\"raw\"}", out, sizeof(out), &err), -1);
	CU_ASSERT_EQUAL(qcow2_backing_path("/i/top", "http://x/y", out, sizeof(out), &err), -1);
	CU_ASSERT_EQUAL(qcow2_backing_path("/i/top", "", out, sizeof(out), &err), -1);
	CU_ASSERT_EQUAL(qcow2_backing_path("/i/top", "abc", out, 5, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "too long"));
}

/* An overlay born empty has no L1 entry and no snapshot; anything else holds data. */
static void test_has_data(void)
{
	struct hdr_spec s = {.version = 3, .file_size = 2 * CLUSTER};
	struct qcow2_info info;
	struct vs_error err;
	const char *path = write_image("l1.qcow2", &s);
	uint8_t b[8] = {0};
	int fd, has;

	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	put32(b, 2);
	CU_ASSERT(pwrite(fd, b, 4, 36) == 4);               /* l1_size 2 */
	put64(b, CLUSTER);
	CU_ASSERT(pwrite(fd, b, 8, 40) == 8);               /* L1 at cluster 1, all zero */
	CU_ASSERT_EQUAL_FATAL(qcow2_read_header(fd, path, &info, &err), 0);
	CU_ASSERT_EQUAL(qcow2_has_data(fd, path, &info, &has, &err), 0);
	CU_ASSERT_EQUAL(has, 0);
	put64(b, 3 * CLUSTER);
	CU_ASSERT(pwrite(fd, b, 8, CLUSTER + 8) == 8);      /* second L1 entry: an L2 table */
	CU_ASSERT_EQUAL(qcow2_has_data(fd, path, &info, &has, &err), 0);
	CU_ASSERT_EQUAL(has, 1);
	memset(b, 0, 8);
	CU_ASSERT(pwrite(fd, b, 8, CLUSTER + 8) == 8);
	put32(b, 1);
	CU_ASSERT(pwrite(fd, b, 4, 60) == 4);               /* one internal snapshot */
	CU_ASSERT_EQUAL(qcow2_read_header(fd, path, &info, &err), 0);
	CU_ASSERT_EQUAL(qcow2_has_data(fd, path, &info, &has, &err), 0);
	CU_ASSERT_EQUAL(has, 1);
	memset(b, 0, 8);
	CU_ASSERT(pwrite(fd, b, 4, 60) == 4);
	put32(b, 1u << 30);
	CU_ASSERT(pwrite(fd, b, 4, 36) == 4);               /* L1 larger than the limit */
	CU_ASSERT_EQUAL(qcow2_read_header(fd, path, &info, &err), 0);
	CU_ASSERT_EQUAL(qcow2_has_data(fd, path, &info, &has, &err), -1);
	CU_ASSERT_EQUAL(has, 1);
	put32(b, 8193);
	CU_ASSERT(pwrite(fd, b, 4, 36) == 4);               /* L1 past the end of the file */
	CU_ASSERT_EQUAL(qcow2_read_header(fd, path, &info, &err), 0);
	CU_ASSERT_EQUAL(qcow2_has_data(fd, path, &info, &has, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "outside the file"));
	put32(b, 1);
	CU_ASSERT(pwrite(fd, b, 4, 36) == 4);
	put64(b, CLUSTER + 8);
	CU_ASSERT(pwrite(fd, b, 8, 40) == 8);               /* misaligned */
	CU_ASSERT_EQUAL(qcow2_read_header(fd, path, &info, &err), 0);
	CU_ASSERT_EQUAL(qcow2_has_data(fd, path, &info, &has, &err), -1);
	close(fd);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"raw files are reported as raw", test_raw},
		{"v2 without backing", test_v2_plain},
		{"v3 without backing", test_v3_plain},
		{"v2 with backing file and format", test_v2_backing},
		{"v3 with backing file, with and without format", test_v3_backing},
		{"offset with empty name is no backing", test_empty_backing_name},
		{"huge backing name length refused", test_huge_backing_length},
		{"backing name outside file or cluster refused", test_backing_past_end},
		{"external data file reported", test_data_file},
		{"truncated headers refused", test_truncated},
		{"bad version, features, cluster bits, header length", test_bad_fields},
		{"bad header extensions refused", test_bad_extensions},
		{"NUL in backing name refused", test_backing_name_nul},
		{"random mutations never crash", test_mutations_never_crash},
		{"backing path resolution", test_backing_path},
		{"born empty: L1 entries and snapshots", test_has_data},
		{NULL, NULL},
	};
	return run_suite("qcow2", cases);
}
