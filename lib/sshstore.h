/* SPDX-License-Identifier: Apache-2.0 */
/* The SSH CA's state: serials that never repeat and the revocations behind the KRL, kept in
 * crash-safe local files (one gateway) or in Redis (replicas share one counter and one set). */
#ifndef VMSEAL_SSHSTORE_H
#define VMSEAL_SSHSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "replay.h"
#include "sshkey.h"

/* Serials are reserved this many at a time: the counter says the highest serial that may have
 * been issued, so a crash skips at most a block and never repeats one. */
#define SSH_SERIAL_BLOCK 256

struct ssh_store;

/* Local state in dir: "serial" (decimal, the highest serial reserved; written atomically with
 * fsync before a block is used) and "revoked.krl" (the revocations as an OpenSSH KRL, written
 * atomically at each one). A KRL of another CA than ca is refused. A missing counter starts
 * from the clock (seconds << 16), so that lost state is unlikely to repeat serials. */
int ssh_store_open_dir(const char *dir, const struct sshkey *ca, struct ssh_store **out,
		       struct vs_error *err);

/* State in Redis (a store made by replay_redis_new*), under keys named by the CA's SHA-256:
 * vmseal:ssh:HEX:serial (INCRBY of a block; seeded from the clock like the files), :revoked
 * (a set of "s:SERIAL" and "f:HEX-SHA256") and :version. Redis must persist (appendonly,
 * appendfsync always) for a Redis restart to keep them. Nothing is cached: replicas see each
 * other's revocations at once. Redis unreachable: every call fails (the gateway answers 503). */
int ssh_store_open_redis(struct replay_store *redis, const struct sshkey *ca,
			 struct ssh_store **out, struct vs_error *err);

/* The next serial. */
int ssh_store_next_serial(struct ssh_store *s, uint64_t *out, struct vs_error *err);

/* 1 when the plain key is revoked (by fingerprint), 0 when not, -1 on error. */
int ssh_store_key_revoked(struct ssh_store *s, const struct sshkey *key, struct vs_error *err);

/* Revokes a serial (by_serial) or a key's SHA-256 fingerprint, durably. Returns 0 when newly
 * revoked, 1 when it was already, -1 on error (nothing changed). *version gets the KRL's
 * version afterwards. */
int ssh_store_revoke(struct ssh_store *s, int by_serial, uint64_t serial, const uint8_t fp[static 32],
		     uint64_t *version, struct vs_error *err);

/* The KRL of every revocation (generated at now), malloc'd; counts when non-NULL. */
int ssh_store_krl(struct ssh_store *s, int64_t now, uint8_t **out, size_t *len, uint64_t *version,
		  size_t *nserials, size_t *nkeys, struct vs_error *err);

void ssh_store_free(struct ssh_store *s);

#endif
