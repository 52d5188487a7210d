/* SPDX-License-Identifier: Apache-2.0 */
/* Replay cache: each (keyid, nonce) is accepted once while its signature could still verify. */
#ifndef VMSEAL_REPLAY_H
#define VMSEAL_REPLAY_H

#include <stddef.h>
#include <stdint.h>

enum replay_result {
	REPLAY_OK = 0,      /* first time seen: claimed until expires */
	REPLAY_SEEN,        /* already claimed and not yet expired: a replay */
	REPLAY_FULL,        /* no room without evicting an unexpired claim: refuse (fail closed) */
	REPLAY_UNAVAILABLE, /* the store cannot answer (a remote store is down): refuse */
	REPLAY_KEY_FULL,    /* this keyid holds its bound of live claims: refuse it alone */
};

/*
 * A replay store. Implementations must be thread-safe and must never forget a claim before
 * its expires time (seconds since the epoch), so that a signature cannot be replayed while it
 * is still valid. The in-memory store is below; a shared store (Redis, issue 8) implements the
 * same functions (lib/replay_redis.c: one Lua script per claim).
 */
struct replay_item {
	const char *keyid, *nonce;
	int64_t expires; /* wall clock: the claim is kept at least until this has passed */
	/* monotonic clock: the claim is kept at least this many seconds from the claim as well
	 * (0: expires - now, as the wall clock saw it; replay_item_of computes the safe span) */
	int64_t hold_s;
};

/* The claim of a signature with created and expires, verified at wall time now under a skew
 * of skew_s: kept until expires has passed on the wall clock (the verifier refuses it from
 * then on) AND, on the monotonic clock, for expires - min(created, now) + skew_s seconds from
 * now (a store that has a monotonic clock: the memory store). The monotonic span does
 * not take the wall clock's word for how long the signature has left: a wall clock that was
 * up to skew_s fast at the claim (and is set back later) frees the claim no earlier than the
 * signature's true expiry, for every signature created at most skew_s ahead of true time. */
struct replay_item replay_item_of(const char *keyid, const char *nonce, int64_t created,
				  int64_t expires, int64_t skew_s, int64_t now);

struct replay_store {
	enum replay_result (*claim)(struct replay_store *s, const struct replay_item *item,
				    int64_t now);
	void (*destroy)(struct replay_store *s);
	/* Optional, for a remote store: sends the claims of items without waiting for the answers
	 * and returns what finish needs (NULL: res[] is already filled in); finish waits for the
	 * answers, fills res[] and releases the pending state. */
	void *(*start)(struct replay_store *s, const struct replay_item *items, size_t n,
		       int64_t now, enum replay_result *res);
	void (*finish)(struct replay_store *s, void *pending, enum replay_result *res);
	/* Optional: bounds the live claims of each keyid (0: no bound). */
	void (*set_key_limit)(struct replay_store *s, size_t per_key);
};

#define REPLAY_MAX_BATCH 8

/* Claims of one request in two steps, so that a caller can work while a remote store answers.
 * Every replay_claim_start must be followed by one replay_claim_finish. */
struct replay_batch {
	size_t n;
	enum replay_result res[REPLAY_MAX_BATCH];
	void *pending;
};

/* Starts claiming items[0..n) (n ≤ REPLAY_MAX_BATCH). A store without start claims them now,
 * in order, up to the first that is not REPLAY_OK (the rest are left REPLAY_UNAVAILABLE). */
void replay_claim_start(struct replay_store *s, const struct replay_item *items, size_t n,
			int64_t now, struct replay_batch *b);

/* Waits for the answers; returns the index of the first claim that is not REPLAY_OK, or n. */
size_t replay_claim_finish(struct replay_store *s, struct replay_batch *b);

/* Claims (keyid, nonce) until expires (hold_s 0). */
static inline enum replay_result replay_claim(struct replay_store *s, const char *keyid,
					      const char *nonce, int64_t expires, int64_t now)
{
	struct replay_item item = {keyid, nonce, expires, 0};

	return s->claim(s, &item, now);
}

static inline enum replay_result replay_claim_item(struct replay_store *s,
						   const struct replay_item *item, int64_t now)
{
	return s->claim(s, item, now);
}

static inline void replay_destroy(struct replay_store *s)
{
	if (s)
		s->destroy(s);
}

/* In-process store holding at most capacity live claims (capacity ≥ 1). A claim is kept until
 * its expires has passed on the wall clock AND its hold_s (at least the expires - now it had
 * left when it was made) on the monotonic clock, so a clock step neither way frees a claim
 * early. Shards and buckets
 * are chosen by a keyed hash (a random secret per store), so clients cannot aim their nonces at
 * one shard. Expired claims are swept when room is needed. NULL when out of memory. */
struct replay_store *replay_memory_new(size_t capacity);

/* Bounds each keyid's live claims to about per_key (0: no bound); past it a claim of that key
 * is REPLAY_KEY_FULL while other keys still claim. Stores without the bound ignore it. */
void replay_set_key_limit(struct replay_store *s, size_t per_key);

/* Live claims in a memory store (for tests and metrics). */
size_t replay_memory_count(struct replay_store *s);

const char *replay_result_name(enum replay_result r);

#endif
