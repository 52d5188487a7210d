/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The policy index: what reading a plain policy file learns that does not depend on the caller
 * (where its key entries lie, its SHA-256), kept in POLICY.index beside it, so that the hook and
 * vmseal-verify do not read and hash every byte of a policy of thousands of keys on every call.
 *
 * It is written by `vmseal-policy index` (policy_write_index, lib/policy.h) and trusted only as far as the
 * policy file itself: the same owner, no more writable than the policy, and naming the policy
 * file it was made from by identity (device, inode, size, mtime and ctime to the nanosecond).
 * A change to the policy gives it a new ctime, which no user can set back; an index written
 * while a change could still land on the recorded ctime (the file system's timestamp tick) is
 * "racy", as git calls it, and then the text's SHA-256 must match the recorded one. Anything else
 * (no index, another file's, stale, malformed, owned by someone else) is ignored: the policy is
 * read the ordinary way. Signed bundles are never read through an index.
 */
#ifndef VMSEAL_POLICYINDEX_H
#define VMSEAL_POLICYINDEX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "jsonscan.h"
#include "util.h"

#define POLICY_INDEX_SUFFIX ".index"
#define POLICY_INDEX_MAGIC "VSPOLIX1"
#define POLICY_INDEX_HEADER_BYTES 128u
#define POLICY_INDEX_ELEM_BYTES 56u

/* An element's id as the index keeps it: when plain, its "id" is 64 lowercase hex digits,
 * these bytes (the reader need not read the element's text to know it). */
struct policy_index_id {
	uint8_t bin[32];
	int plain;
};

/* What an index holds, decoded (policy_index_decode). */
struct policy_index {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns, created_ns;
	uint8_t digest[32];
	struct jsonscan_index ix; /* the keys array and its elements, as jsonscan_index found them */
	struct policy_index_id *ids; /* one per element */
};

/* The index file's bytes for a policy text read from a file with status st (the policy must
 * parse; jsonscan_index must index it). created_ns: when it is made (CLOCK_REALTIME_COARSE).
 * malloc'd into *out. */
int policy_index_encode(const char *text, size_t len, const struct stat *st, int64_t created_ns,
			uint8_t **out, size_t *outlen, struct vs_error *err);

/* Reads an index's bytes, every field bounded (offsets inside a text of the recorded size, in
 * order, not overlapping). 0 with *out filled (free with policy_index_free); -1: malformed. */
int policy_index_decode(const uint8_t *buf, size_t len, struct policy_index *out, struct vs_error *err);
void policy_index_free(struct policy_index *pi);

/* The index of the policy file at path whose status is st (from the open fd the caller will
 * read), checked against it (identity, owner, write access) but not against any text: 1 with
 * *out filled (free with policy_index_free) and *settled (policy_index_settled), 0 when there is
 * none or it is not this file's (why says which). */
int policy_index_open(const char *path, const struct stat *st, struct policy_index *out, int *settled,
		      char *why, size_t whylen);

/* The index of the policy at path, which was read as text (len bytes) from a file whose status
 * was st before and after the read: 1 with *ix (the caller frees it) and the digest (hex) when
 * the index is trusted for this text, 0 when it is absent or not (why says which, for tests and
 * debugging; it is no error). */
int policy_index_lookup(const char *path, const struct stat *st, const char *text, size_t len,
			struct jsonscan_index *ix, char digest_hex[static VS_SHA256_HEX_BYTES], char *why,
			size_t whylen);

/* Whether an index made at created_ns for a file of ctime ctime_ns is trusted by identity alone:
 * a later change of the file gets a later ctime. */
int policy_index_settled(int64_t ctime_ns, int64_t created_ns);

/* The clock file systems stamp ctime with (CLOCK_REALTIME_COARSE), in ns. */
int64_t policy_index_now_ns(void);

/* 1 when the file open as fd lies on a file system whose ctime the kernel keeps from that clock
 * (ext2/3/4, XFS, Btrfs, tmpfs): only there is a settled index trusted without its SHA-256. */
int policy_index_fs_keeps_ctime(int fd);

#endif
