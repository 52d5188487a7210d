/* SPDX-License-Identifier: Apache-2.0 */
/* Allow-cache of image decisions: one small file per (image, attestation, policy) identity. */
#ifndef VMSEAL_EVALCACHE_H
#define VMSEAL_EVALCACHE_H

#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "hostsecret.h"
#include "limits.h"

#define EVALCACHE_KEY_HEX 65

/* What a cached allow remembers: enough to find the template rule again under the same policy
 * (policy_match_template) and to stop trusting the entry when the attestation or a signing
 * key's validity ends. */
struct evalcache_entry {
	char template_name[VS_MAX_NAME_BYTES];
	int64_t template_version;
	int64_t valid_until; /* 0: no end */
};

/* Key of one decision: SHA-256 over the image's and the attestation's (st_dev, st_ino, size,
 * mtime ns, ctime ns) and the policy digest. Any write to either file changes its ctime, and
 * so the key. */
void evalcache_key(const struct stat *image, const struct stat *attestation,
		   const char *policy_digest, char out[static EVALCACHE_KEY_HEX]);

/* Whether an allow for the file open on fd, whose status st was taken after checked_ns
 * (policy_index_now_ns, read before the file was opened), may be stored: its file system
 * stamps ctime from the kernel's clock (policy_index_fs_keeps_ctime) and st's ctime lies a
 * whole time stamp tick before checked_ns (policy_index_settled). Only then does every write
 * from checked_ns on give the file another ctime, and so another key: a write in the tick of
 * the last change (1 s on ext3 with small inodes, 2 s on vfat, a jiffy on Linux 6.1's ext4,
 * XFS and tmpfs) keeps the ctime, and an entry stored for the bytes before it would allow the
 * bytes after it. */
int evalcache_settled(int fd, const struct stat *st, int64_t checked_ns);

/* Makes sure dir exists (created 0700 if missing; its parent must exist) and is a real
 * directory owned by the effective user with no group or other permissions. A cache directory
 * anyone else could write would let them plant allow decisions. */
int evalcache_dir_check(const char *dir, struct vs_error *err);

/* Returns 1 and fills e on a hit that is still valid at now, 0 on a miss (absent, foreign
 * owner, malformed or expired entries are all misses, and so is an entry without a valid
 * HMAC-SHA-256 under secret over its key and contents: a root-owned 0600 file of the right
 * format that the hook did not write, e.g. a guest's serial console aimed into the cache
 * directory, forges nothing). */
int evalcache_lookup(const char *dir, const uint8_t secret[static HOSTSECRET_BYTES],
		     const char key[static EVALCACHE_KEY_HEX], int64_t now, struct evalcache_entry *e);

/* Writes an entry with its MAC atomically (temp file + rename, mode 0600). */
int evalcache_store(const char *dir, const uint8_t secret[static HOSTSECRET_BYTES],
		    const char key[static EVALCACHE_KEY_HEX], const struct evalcache_entry *e,
		    struct vs_error *err);

#endif
