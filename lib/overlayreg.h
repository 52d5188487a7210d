/* SPDX-License-Identifier: Apache-2.0 */
/* Registry of writable overlays the hook saw born empty: only these are exempt by allow_overlay. */
#ifndef VMSEAL_OVERLAYREG_H
#define VMSEAL_OVERLAYREG_H

#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "hostsecret.h"

/* One overlay's identity: an inode reused by another file has another birth time. */
struct overlay_id {
	uint64_t dev, ino;
	int64_t birth_sec;
	uint32_t birth_nsec;
};

/* What the overlay was when the hook last saw it as its domain's own: registered born empty, or
 * after a run of its domain (release end). Any write since, or a chmod, chown, rename or link,
 * changes the ctime. */
struct overlay_state {
	int64_t size, mtime_ns, ctime_ns;
};

#define OVERLAYREG_LEGACY 2 /* overlayreg_lookup: registered by a hook that kept no state */

void overlay_state_of(const struct stat *st, struct overlay_state *out);
int overlay_state_equal(const struct overlay_state *a, const struct overlay_state *b);

/* Fills id from the file open on fd (statx STATX_BTIME). A file system that keeps no birth
 * time is refused (VS_ERR_DENIED): without it a reused inode would inherit a registration. */
int overlay_id_of(int fd, const char *name, struct overlay_id *id, struct vs_error *err);

/* 1 when state_dir/overlays holds a registration of id for domain with a valid MAC under
 * secret (*state: the overlay as the hook last saw it); OVERLAYREG_LEGACY for a valid one an
 * older hook wrote without a state; else 0 (absent, another domain's, malformed or unMAC'd
 * records are all 0). */
int overlayreg_lookup(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
		      const struct overlay_id *id, const char *domain, struct overlay_state *state);

/* Registers id for domain in state (atomic, 0600, MAC'd), replacing its registration. */
int overlayreg_add(const char *state_dir, const uint8_t secret[static HOSTSECRET_BYTES],
		   const struct overlay_id *id, const char *domain, const struct overlay_state *state,
		   struct vs_error *err);

#endif
