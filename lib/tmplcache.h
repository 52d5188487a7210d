/* SPDX-License-Identifier: Apache-2.0 */
/* In-process cache of template verdicts for the gateway's listing, keyed like the hook's
 * allow-cache (evalcache_key: both files' identity and the policy digest). */
#ifndef VMSEAL_TMPLCACHE_H
#define VMSEAL_TMPLCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "evalcache.h"
#include "limits.h"

#define TMPLCACHE_REASON_BYTES 256

struct tmplcache_entry {
	char key[EVALCACHE_KEY_HEX];
	int decision; /* enum decision */
	char template_name[VS_MAX_NAME_BYTES];
	int64_t template_version;
	char reason[TMPLCACHE_REASON_BYTES];
	int64_t until; /* trusted before this time (wall clock) */
};

struct tmplcache;

/* A table of cap entries (a new entry may replace an older one); NULL when out of memory. */
struct tmplcache *tmplcache_new(size_t cap);
void tmplcache_free(struct tmplcache *c);

/* 1 and *out on a hit with now < until, else 0. Thread-safe. */
int tmplcache_get(struct tmplcache *c, const char key[static EVALCACHE_KEY_HEX], int64_t now,
		  struct tmplcache_entry *out);

/* Stores e (replacing whatever held its slot). Thread-safe. */
void tmplcache_put(struct tmplcache *c, const struct tmplcache_entry *e);

#endif
