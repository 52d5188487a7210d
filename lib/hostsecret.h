/* SPDX-License-Identifier: Apache-2.0 */
/* The hook's host secret: a MAC key so that only the hook can write what it later trusts. */
#ifndef VMSEAL_HOSTSECRET_H
#define VMSEAL_HOSTSECRET_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define HOSTSECRET_BYTES 32
#define HOSTSECRET_FILE "host.key"
#define HOSTSECRET_MAC_HEX 65

/* Loads DIR/host.key: 32 random bytes, a regular file owned by the effective user with no group
 * or other permission (read with vs_open_input, O_NOFOLLOW). When it is missing and create is
 * non-zero, makes it first (O_CREAT|O_EXCL|O_NOFOLLOW, 0600, fsync'd; a concurrent creator's
 * file wins). A file of another owner, mode or size is refused: a secret others could read or
 * plant would let them forge what it authenticates. Wipe key with hostsecret_wipe. */
int hostsecret_load(const char *dir, int create, uint8_t key[static HOSTSECRET_BYTES],
		    struct vs_error *err);

void hostsecret_wipe(uint8_t key[static HOSTSECRET_BYTES]);

/* Lowercase hex HMAC-SHA-256 under key over label, a NUL byte, then data: the label keeps a
 * MAC made for one kind of record from verifying as another. */
void hostsecret_mac(const uint8_t key[static HOSTSECRET_BYTES], const char *label, const void *data,
		    size_t len, char out[static HOSTSECRET_MAC_HEX]);

/* 1 when mac (any string) is the MAC of label and data, compared in constant time; else 0. */
int hostsecret_mac_ok(const uint8_t key[static HOSTSECRET_BYTES], const char *label,
		      const void *data, size_t len, const char *mac);

#endif
