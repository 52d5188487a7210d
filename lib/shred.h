/* SPDX-License-Identifier: Apache-2.0 */
/* Best-effort overwrite-then-unlink of a key file (see README "Destroying keys" for the limits). */
#ifndef VMSEAL_SHRED_H
#define VMSEAL_SHRED_H

#include "error.h"

/* Overwrites the regular file at path in place, same length, first with random bytes then with
 * zeros, fsyncing after each pass, then unlinks it and fsyncs its directory. Never follows a
 * symlink. *other_links gets the number of other hard links that still name the (now zeroed)
 * inode. On a journaling, copy-on-write or flash-backed file system the old blocks may survive
 * elsewhere: this narrows the window, it does not prove erasure. */
int file_shred(const char *path, unsigned *other_links, struct vs_error *err);

#endif
