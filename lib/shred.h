/* SPDX-License-Identifier: Apache-2.0 */
/* Best-effort overwrite-then-unlink of a key file (see README "Destroying keys" for the limits). */
#ifndef VMSEAL_SHRED_H
#define VMSEAL_SHRED_H

#include "error.h"

/* What a file must be before file_shred writes a byte to it. */
enum shred_kind {
	SHRED_PRIVATE_KEY, /* a PEM private key (PKCS#8, encrypted or not) */
	SHRED_KEY_SHARE,   /* a vmseal-key backup share (share_parse accepts it) */
};

/* Refuses (VS_ERR_INPUT), without writing anything, a path that is a symlink, not a regular
 * file, named by other hard links (overwriting would zero a file someone else names, and the
 * key would live on under the other name as far as they know), or not a file of that kind. */
int file_shred_check(const char *path, enum shred_kind kind, struct vs_error *err);

/* Checks path as file_shred_check does (on the descriptor it then writes through), then
 * overwrites it in place, same length, first with random bytes then with zeros, fsyncing after
 * each pass, unlinks it and fsyncs its directory. On a journaling, copy-on-write or
 * flash-backed file system the old blocks may survive elsewhere: this narrows the window, it
 * does not prove erasure. */
int file_shred(const char *path, enum shred_kind kind, struct vs_error *err);

#endif
