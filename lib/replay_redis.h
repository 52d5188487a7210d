/* SPDX-License-Identifier: Apache-2.0 */
/* Shared replay cache in Redis: one atomic SET NX EX per (keyid, nonce), for gateway replicas. */
#ifndef VMSEAL_REPLAY_REDIS_H
#define VMSEAL_REPLAY_REDIS_H

#include "error.h"
#include "replay.h"

/* Creates a store talking to url: redis://[:PASSWORD@]HOST[:PORT][/DB] (port 6379, db 0 by
 * default). It holds up to `connections` connections (one per gateway thread is plenty).
 * Connecting is lazy: an unreachable Redis makes claims answer REPLAY_UNAVAILABLE (the gateway
 * then refuses with 503) and is retried at most every 250 ms, so a down Redis costs no more
 * than a failed connect per retry period. Returns NULL with err on a malformed url. */
struct replay_store *replay_redis_new(const char *url, unsigned connections, struct vs_error *err);

#endif
