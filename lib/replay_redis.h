/* SPDX-License-Identifier: Apache-2.0 */
/* Shared replay cache in Redis: one atomic script per (keyid, nonce) claim (SET NX PX, and the
 * keyid's live claims bounded), for gateway replicas. */
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

/* Every connection (the first and each reconnect) checks that Redis cannot evict claims: its
 * maxmemory-policy must be noeviction (any other policy may drop keys with a TTL). A Redis that
 * fails the check is not used: claims answer REPLAY_UNAVAILABLE, and replay_redis_refused
 * returns 1 with the reason. */
int replay_redis_refused(struct replay_store *s, char *why, size_t whylen);

/* Every connection, and every claim, checks that this Redis still holds the claims it held
 * (a sentinel key, vmseal:epoch, made once with a random value; a restart without persistence,
 * a failover to a replica behind, or FLUSHALL takes it away). A claim that finds it gone or
 * changed answers REPLAY_UNAVAILABLE (its connection is dropped, never retried), and the next
 * connection records the loss. Returns the first created a call may carry after the last loss
 * (the loss's moment on this process's wall clock + future_skew_s + the clock margin + 1; any
 * call claimed before it was created earlier), 0 when none was seen; *losses (may be NULL)
 * counts the losses seen. A process's first connection counts a missing sentinel as a loss. */
int64_t replay_redis_not_before(struct replay_store *s, int64_t future_skew_s, uint64_t *losses);

/* Connects once now: -1 with err when Redis answers but fails the eviction check (refuse to
 * start), 0 when it passes or cannot be reached (claims fail closed until it can). */
int replay_redis_check(struct replay_store *s, struct vs_error *err);

/* Like replay_redis_new with the password given apart from the URL (read from a file by the
 * caller, so that it never appears in argv); a URL that carries one too is refused. */
struct replay_store *replay_redis_new_auth(const char *url, const char *password, unsigned connections,
					   struct vs_error *err);

/* Runs one command on a pooled connection of a store made by replay_redis_new*, for other state
 * the replicas share (the SSH CA's serial counter and revocations, api/gateway_ssh.c). A stale
 * pooled connection is retried once on a fresh one. Returns the reply (free it with
 * freeReplyObject), or NULL when Redis cannot be reached or answers with an error. */
struct redisReply;
struct redisReply *replay_redis_command(struct replay_store *s, const char *fmt, ...);

#endif
