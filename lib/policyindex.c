/* SPDX-License-Identifier: Apache-2.0 */
/* The policy index (see policyindex.h): a fixed little-endian layout, read with every field
 * bounded before use. */
#include "policyindex.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/statfs.h>
#include <sys/xattr.h>

#include <openssl/evp.h>

#include "limits.h"

/*
 * Layout (all integers little-endian):
 *   0  magic "VSPOLIX1"           64  keys array offset       u64
 *   8  elements                u32 72  keys array length       u64
 *  12  zero                    u32 80  line breaks in it       u64
 *  16  policy st_dev           u64 88  SHA-256 of the text     32 bytes
 *  24  policy st_ino           u64 120 zero                    u64
 *  32  policy size             u64
 *  40  policy mtime, ns        i64
 *  48  policy ctime, ns        i64
 *  56  index made at, ns       i64 (CLOCK_REALTIME_COARSE)
 * then per element: offset u64, length u32, id offset within the element u32, id length u32,
 * flags u32 (1: the id is 64 lowercase hex digits, which follow; 0: the 32 bytes are zero),
 * id 32 bytes.
 */

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

int policy_index_settled(int64_t ctime_ns, int64_t created_ns)
{
	/* A ctime in whole milliseconds may come from a file system that keeps seconds (or two):
	 * wait out the coarsest. Otherwise the time stamps are the kernel's coarse clock, the one
	 * created_ns was read from: a later change gets at least created_ns (one tick kept spare). */
	int64_t margin = ctime_ns % 1000000 == 0 ? 2000000000 : 10000000, d;

	return !__builtin_sub_overflow(created_ns, ctime_ns, &d) && d >= margin;
}

int64_t policy_index_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME_COARSE, &t);
	return vs_timespec_ns(&t);
}

/* File systems whose ctime the kernel keeps from its own clock (the one policy_index_now_ns
 * reads): ext2/3/4, XFS, Btrfs, tmpfs. Elsewhere (NFS, SMB, FUSE, overlays...) a time stamp
 * may come from another clock or from the owner's tools: an index is trusted only with the
 * text's SHA-256 checked. */
int policy_index_fs_keeps_ctime(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return 0;
	switch ((unsigned long)sf.f_type) {
	case 0xEF53UL:     /* EXT2/3/4_SUPER_MAGIC */
	case 0x58465342UL: /* XFS_SUPER_MAGIC */
	case 0x9123683EUL: /* BTRFS_SUPER_MAGIC */
	case 0x01021994UL: /* TMPFS_MAGIC */
		return 1;
	default:
		return 0;
	}
}

int policy_index_encode(const char *text, size_t len, const struct stat *st, int64_t created_ns,
			uint8_t **out, size_t *outlen, struct vs_error *err)
{
	struct jsonscan_index ix;
	uint8_t *b, *e;
	size_t n;

	*out = NULL;
	if (!jsonscan_index(text, len, "keys", VS_MAX_POLICY_KEYS, &ix))
		return vs_fail(err, VS_ERR_INPUT, NULL,
			       "the policy's key entries cannot be indexed (its text is read whole each time)");
	n = POLICY_INDEX_HEADER_BYTES + ix.nelems * POLICY_INDEX_ELEM_BYTES;
	b = calloc(1, n);
	if (!b) {
		jsonscan_index_free(&ix);
		return vs_fail(err, VS_ERR_INTERNAL, NULL, "out of memory");
	}
	memcpy(b, POLICY_INDEX_MAGIC, 8);
	put32(b + 8, (uint32_t)ix.nelems);
	put64(b + 16, (uint64_t)st->st_dev);
	put64(b + 24, (uint64_t)st->st_ino);
	put64(b + 32, (uint64_t)st->st_size);
	put64(b + 40, (uint64_t)vs_timespec_ns(&st->st_mtim));
	put64(b + 48, (uint64_t)vs_timespec_ns(&st->st_ctim));
	put64(b + 56, (uint64_t)created_ns);
	put64(b + 64, ix.arr_off);
	put64(b + 72, ix.arr_len);
	put64(b + 80, ix.arr_lines);
	EVP_Digest(text, len, b + 88, NULL, EVP_sha256(), NULL);
	e = b + POLICY_INDEX_HEADER_BYTES;
	for (size_t i = 0; i < ix.nelems; i++, e += POLICY_INDEX_ELEM_BYTES) {
		const struct jsonscan_elem *x = &ix.elems[i];

		put64(e, x->off);
		put32(e + 8, (uint32_t)x->len);
		put32(e + 12, x->id_len ? (uint32_t)(x->id_off - x->off) : 0);
		put32(e + 16, (uint32_t)x->id_len);
		if (x->id_len == 64 && vs_is_lower_hex(text + x->id_off, 64)) {
			char h[65];

			memcpy(h, text + x->id_off, 64);
			h[64] = '\0';
			put32(e + 20, 1);
			if (hex_decode(h, e + 24, 32) < 0) { /* cannot happen: checked above */
				free(b);
				jsonscan_index_free(&ix);
				return vs_fail(err, VS_ERR_INTERNAL, NULL, "keyid read two ways");
			}
		}
	}
	jsonscan_index_free(&ix);
	*out = b;
	*outlen = n;
	return 0;
}

int policy_index_decode(const uint8_t *buf, size_t len, struct policy_index *out, struct vs_error *err)
{
	const uint8_t *e = buf + POLICY_INDEX_HEADER_BYTES;
	uint64_t arr_end, prev_end;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (len < POLICY_INDEX_HEADER_BYTES || memcmp(buf, POLICY_INDEX_MAGIC, 8))
		return vs_fail(err, VS_ERR_INPUT, NULL, "not a vmseal policy index");
	n = get32(buf + 8);
	if (n > VS_MAX_POLICY_KEYS || len != POLICY_INDEX_HEADER_BYTES + n * POLICY_INDEX_ELEM_BYTES)
		return vs_fail(err, VS_ERR_INPUT, NULL, "policy index of %zu bytes does not hold %zu entries", len, n);
	if (get32(buf + 12) || get64(buf + 120))
		return vs_fail(err, VS_ERR_INPUT, NULL, "policy index: reserved fields set");
	out->dev = get64(buf + 16);
	out->ino = get64(buf + 24);
	out->size = get64(buf + 32);
	out->mtime_ns = (int64_t)get64(buf + 40);
	out->ctime_ns = (int64_t)get64(buf + 48);
	out->created_ns = (int64_t)get64(buf + 56);
	out->ix.arr_off = get64(buf + 64);
	out->ix.arr_len = get64(buf + 72);
	out->ix.arr_lines = get64(buf + 80);
	memcpy(out->digest, buf + 88, 32);
	/* the array: "[" ... "]" inside the text, its line breaks no more than its bytes */
	if (out->size > VS_MAX_POLICY_BYTES || out->ix.arr_off >= out->size || out->ix.arr_len < 2 ||
	    out->ix.arr_len > out->size - out->ix.arr_off || out->ix.arr_lines > out->ix.arr_len)
		return vs_fail(err, VS_ERR_INPUT, NULL, "policy index: the keys array lies outside the text");
	arr_end = out->ix.arr_off + out->ix.arr_len - 1; /* its ']' */
	out->ix.elems = calloc(n ? n : 1, sizeof(*out->ix.elems));
	out->ids = calloc(n ? n : 1, sizeof(*out->ids));
	if (!out->ix.elems || !out->ids) {
		policy_index_free(out);
		return vs_fail(err, VS_ERR_INTERNAL, NULL, "out of memory");
	}
	out->ix.nelems = n;
	prev_end = out->ix.arr_off + 1;
	for (size_t i = 0; i < n; i++, e += POLICY_INDEX_ELEM_BYTES) {
		struct jsonscan_elem *x = &out->ix.elems[i];
		uint64_t off = get64(e);
		uint32_t elen = get32(e + 8), id_rel = get32(e + 12), id_len = get32(e + 16), fl = get32(e + 20);
		static const uint8_t zero[32];

		/* inside the array, after the previous element, in order; the id inside its element;
		 * a plain id 64 characters long, no bytes where there is none */
		if (fl > 1 || off < prev_end || elen == 0 || off >= arr_end || elen > arr_end - off ||
		    (id_len && (id_rel == 0 || id_len > elen || id_rel > elen - id_len)) ||
		    (fl && id_len != 64) || (!fl && memcmp(e + 24, zero, 32))) {
			policy_index_free(out);
			return vs_fail(err, VS_ERR_INPUT, NULL, "policy index: entry %zu lies outside its place", i);
		}
		x->off = off;
		x->len = elen;
		x->id_off = id_len ? off + id_rel : 0;
		x->id_len = id_len;
		out->ids[i].plain = (int)fl;
		memcpy(out->ids[i].bin, e + 24, 32);
		prev_end = off + elen;
	}
	return 0;
}

void policy_index_free(struct policy_index *pi)
{
	if (!pi)
		return;
	jsonscan_index_free(&pi->ix);
	free(pi->ids);
	pi->ids = NULL;
}

static void index_path(const char *path, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s", path, POLICY_INDEX_SUFFIX);
}

int policy_index_open(const char *path, const struct stat *st, struct policy_index *out, int *settled,
		      char *why, size_t whylen)
{
	char ipath[VS_PATH_TMP_MAX];
	struct vs_error err = {0};
	struct stat ist;
	uint8_t *buf = NULL;
	size_t blen = 0;
	int fd, r;

	memset(out, 0, sizeof(*out));
	*settled = 0;
	index_path(path, ipath, sizeof(ipath));
	if (vs_open_input(ipath, VS_INPUT_REG | VS_INPUT_NOFOLLOW, NULL, &fd, &ist, &err) < 0) {
		snprintf(why, whylen, "%s", err.reason);
		return 0;
	}
	/* the policy owner's alone: owned by the same user, writable by nobody else (no group or
	 * other write bit, no access ACL that could grant one) */
	if (ist.st_uid != st->st_uid || (ist.st_mode & 022) ||
	    fgetxattr(fd, "system.posix_acl_access", NULL, 0) >= 0 || (errno != ENODATA && errno != ENOTSUP)) {
		close(fd);
		snprintf(why, whylen, "not the policy owner's alone (uid %u, mode %04o, or an ACL)",
			 (unsigned)ist.st_uid, (unsigned)(ist.st_mode & 07777));
		return 0;
	}
	r = fd_read_all(fd, ipath, POLICY_INDEX_HEADER_BYTES + VS_MAX_POLICY_KEYS * POLICY_INDEX_ELEM_BYTES,
			(char **)&buf, &blen, &err);
	close(fd);
	if (r < 0 || policy_index_decode(buf, blen, out, &err) < 0) {
		free(buf);
		snprintf(why, whylen, "%s", err.reason);
		return 0;
	}
	free(buf);
	if (out->dev != (uint64_t)st->st_dev || out->ino != (uint64_t)st->st_ino ||
	    out->size != (uint64_t)st->st_size || out->mtime_ns != vs_timespec_ns(&st->st_mtim) ||
	    out->ctime_ns != vs_timespec_ns(&st->st_ctim)) {
		policy_index_free(out);
		snprintf(why, whylen, "made for another version of the policy file");
		return 0;
	}
	/* settled, and not made "later" than now (a clock stepped back since) */
	*settled = policy_index_settled(out->ctime_ns, out->created_ns) && out->created_ns <= policy_index_now_ns();
	snprintf(why, whylen, *settled ? "used" : "used (racy: SHA-256 checked)");
	return 1;
}

int policy_index_lookup(const char *path, const struct stat *st, const char *text, size_t len,
			struct jsonscan_index *ix, char digest_hex[static VS_SHA256_HEX_BYTES], char *why,
			size_t whylen)
{
	struct policy_index pi;
	uint8_t md[32];
	int settled, r = 0;

	memset(ix, 0, sizeof(*ix));
	if (!policy_index_open(path, st, &pi, &settled, why, whylen))
		return 0;
	if (pi.size != len || text[pi.ix.arr_off] != '[' || text[pi.ix.arr_off + pi.ix.arr_len - 1] != ']') {
		snprintf(why, whylen, "the keys array is not where it says");
	} else if (!settled && (EVP_Digest(text, len, md, NULL, EVP_sha256(), NULL), memcmp(md, pi.digest, 32))) {
		/* racy: the policy could have changed since within its ctime's tick; the text decides */
		snprintf(why, whylen, "racy, and the text's SHA-256 differs");
	} else {
		hex_encode(pi.digest, 32, digest_hex);
		*ix = pi.ix;
		memset(&pi.ix, 0, sizeof(pi.ix));
		r = 1;
	}
	policy_index_free(&pi);
	return r;
}
