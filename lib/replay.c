/* SPDX-License-Identifier: Apache-2.0 */
/* In-memory replay store: sharded hash tables with a fixed node pool, swept by expiry. */
#include "replay.h"
#include "replay_priv.h"
#include "limits.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define SHARDS 16
#define NIL UINT32_MAX
/* distinct keyids with live claims at once: a policy's keys, twice (a reload's new ones too) */
#define KEY_SLOTS (2 * VS_MAX_POLICY_KEYS)

struct node {
	uint8_t id[32];    /* SHA-256(secret, keyid NUL nonce): fixed size, not chosen by clients */
	int64_t expires;   /* the signature's expires, wall clock */
	int64_t mono_exp;  /* the same moment on the monotonic clock (ms), as seen at the claim */
	uint32_t next;
	uint16_t keyslot;  /* its keyid's entry in the store's keys[] */
};

/* Live claims of one keyid in one shard. */
struct keycount {
	uint8_t kh[16]; /* SHA-256(secret, keyid), cut */
	uint32_t live;
};

struct shard {
	pthread_mutex_t lock;
	struct node *nodes;
	uint32_t *buckets;
	uint32_t nbuckets, cap, used, free_head;
	int64_t last_sweep;
};

/* Live claims per keyid, over all shards (a key's claims spread over them): the bound per key
 * is exact. Its lock is taken inside a shard's, never the other way round. */
struct keytable {
	pthread_mutex_t lock;
	struct keycount keys[KEY_SLOTS];
	uint32_t nkeys;
};

struct memstore {
	struct replay_store base;
	struct shard shards[SHARDS];
	int nshards; /* 1 for small stores, so that a store of n claims holds exactly n */
	uint8_t secret[32]; /* keys the shard and bucket choice: a client cannot aim at one shard */
	uint32_t key_limit; /* live claims per keyid; 0: no bound (read atomically) */
	struct keytable *kt;
	int64_t (*mono_ms)(void *ctx);
	void *mono_ctx;
};

const char *replay_result_name(enum replay_result r)
{
	switch (r) {
	case REPLAY_OK:
		return "ok";
	case REPLAY_SEEN:
		return "replay";
	case REPLAY_FULL:
		return "full";
	case REPLAY_KEY_FULL:
		return "key_full";
	default:
		return "unavailable";
	}
}

/* A claim may be forgotten only once its signature has expired on both clocks: a wall-clock
 * step forward (or back) alone never frees a claim that could still be replayed. */
static int node_expired(const struct node *n, int64_t now, int64_t mono)
{
	return n->expires <= now && n->mono_exp <= mono;
}

/* Frees every expired node of one shard. Caller holds the lock. */
static void sweep(struct memstore *m, struct shard *sh, int64_t now, int64_t mono)
{
	for (uint32_t b = 0; b < sh->nbuckets; b++) {
		uint32_t *link = &sh->buckets[b];

		while (*link != NIL) {
			struct node *n = &sh->nodes[*link];

			if (node_expired(n, now, mono)) {
				uint32_t idx = *link;

				*link = n->next;
				/* the table's lock for one decrement: other shards' claims go on */
				pthread_mutex_lock(&m->kt->lock);
				m->kt->keys[n->keyslot].live--;
				pthread_mutex_unlock(&m->kt->lock);
				n->next = sh->free_head;
				sh->free_head = idx;
				sh->used--;
			} else {
				link = &n->next;
			}
		}
	}
	sh->last_sweep = now;
}

/* The entry counting kh's claims in sh (reusing one with none live), or -1 when the table is
 * full of other keys' live claims. Caller holds the lock. */
/* kt's entry for kh (made, or one without live claims reused), its lock held; -1 when full. */
static int keyslot_find(struct keytable *kt, const uint8_t kh[static 16])
{
	int reuse = -1;

	for (uint32_t i = 0; i < kt->nkeys; i++) {
		if (memcmp(kt->keys[i].kh, kh, 16) == 0)
			return (int)i;
		if (reuse < 0 && kt->keys[i].live == 0)
			reuse = (int)i;
	}
	if (reuse < 0 && kt->nkeys < KEY_SLOTS)
		reuse = (int)kt->nkeys++;
	if (reuse >= 0) {
		memcpy(kt->keys[reuse].kh, kh, 16);
		kt->keys[reuse].live = 0;
	}
	return reuse;
}

static int64_t mono_ms_real(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int keyed_digest(const struct memstore *m, const char *keyid, const char *nonce,
			uint8_t out[static 32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, m->secret, sizeof(m->secret)) == 1 &&
		 EVP_DigestUpdate(ctx, keyid, strlen(keyid) + 1) == 1 &&
		 (!nonce || EVP_DigestUpdate(ctx, nonce, strlen(nonce)) == 1) &&
		 EVP_DigestFinal_ex(ctx, out, &len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

struct replay_item replay_item_of(const char *keyid, const char *nonce, int64_t created,
				  int64_t expires, int64_t skew_s, int64_t now)
{
	int64_t from = created > 0 && created < now ? created : now;
	struct replay_item it = {keyid, nonce, expires, 0};

	if (skew_s < 0)
		skew_s = 0;
	/* saturating: a claim held too long only costs room, one held too short is a replay */
	it.hold_s = expires > from ? expires - from : 0;
	it.hold_s = it.hold_s > INT64_MAX / 1000 - skew_s ? INT64_MAX / 1000 : it.hold_s + skew_s;
	return it;
}

/* The monotonic moment (ms) until which a claim made at wall now and monotonic mono is held. */
static int64_t hold_until(const struct replay_item *it, int64_t now, int64_t mono)
{
	int64_t left = it->expires > now ? it->expires - now : 0;

	if (it->hold_s > left)
		left = it->hold_s;
	if (left > (INT64_MAX - mono) / 1000)
		return INT64_MAX;
	return mono + left * 1000;
}

static enum replay_result claim_once(struct memstore *m, const struct replay_item *item, int64_t now);

/* A key at its bound may hold claims that expired in shards no claim has swept since: those
 * are swept (each shard at most once a second, as a claim sweeps it) and the claim tried again. */
static enum replay_result mem_claim(struct replay_store *s, const struct replay_item *item,
				    int64_t now)
{
	struct memstore *m = (struct memstore *)s;
	enum replay_result r = claim_once(m, item, now);

	if (r == REPLAY_KEY_FULL && m->nshards > 1) {
		int64_t mono = m->mono_ms(m->mono_ctx);
		int swept = 0;

		for (int k = 0; k < m->nshards; k++) {
			struct shard *sh = &m->shards[k];

			pthread_mutex_lock(&sh->lock);
			if (now > sh->last_sweep + 1) {
				sweep(m, sh, now, mono);
				swept = 1;
			}
			pthread_mutex_unlock(&sh->lock);
		}
		if (swept)
			r = claim_once(m, item, now);
	}
	return r;
}

static enum replay_result claim_once(struct memstore *m, const struct replay_item *item, int64_t now)
{
	const char *keyid = item->keyid, *nonce = item->nonce;
	int64_t expires = item->expires;
	uint8_t id[32], kh[32];
	struct shard *sh;
	uint32_t b, i, limit = __atomic_load_n(&m->key_limit, __ATOMIC_RELAXED);
	int64_t mono = m->mono_ms(m->mono_ctx);
	int slot;
	enum replay_result r = REPLAY_OK;

	if (keyed_digest(m, keyid, nonce, id) < 0 || keyed_digest(m, keyid, NULL, kh) < 0)
		return REPLAY_UNAVAILABLE;
	sh = &m->shards[id[0] % m->nshards];
	memcpy(&b, id + 4, sizeof(b));
	pthread_mutex_lock(&sh->lock);
	b %= sh->nbuckets;
	for (i = sh->buckets[b]; i != NIL; i = sh->nodes[i].next) {
		struct node *n = &sh->nodes[i];

		if (memcmp(n->id, id, 32) == 0) {
			if (!node_expired(n, now, mono)) {
				r = REPLAY_SEEN;
			} else {
				/* expired claim of the same pair: renew it */
				n->expires = expires;
				n->mono_exp = hold_until(item, now, mono);
			}
			goto out;
		}
	}
	if (sh->free_head == NIL || now > sh->last_sweep + 1)
		sweep(m, sh, now, mono);
	if (sh->free_head == NIL) {
		r = REPLAY_FULL;
		goto out;
	}
	/* the key's count, over every shard, takes this claim or refuses it */
	pthread_mutex_lock(&m->kt->lock);
	slot = keyslot_find(m->kt, kh);
	if (slot < 0)
		r = REPLAY_FULL;
	else if (limit && m->kt->keys[slot].live >= limit)
		r = REPLAY_KEY_FULL;
	else
		m->kt->keys[slot].live++;
	pthread_mutex_unlock(&m->kt->lock);
	if (r != REPLAY_OK)
		goto out;
	i = sh->free_head;
	sh->free_head = sh->nodes[i].next;
	memcpy(sh->nodes[i].id, id, 32);
	sh->nodes[i].expires = expires;
	sh->nodes[i].mono_exp = hold_until(item, now, mono);
	sh->nodes[i].keyslot = (uint16_t)slot;
	sh->nodes[i].next = sh->buckets[b];
	sh->buckets[b] = i;
	sh->used++;
out:
	pthread_mutex_unlock(&sh->lock);
	return r;
}

void replay_claim_start(struct replay_store *s, const struct replay_item *items, size_t n,
			int64_t now, struct replay_batch *b)
{
	b->n = n < REPLAY_MAX_BATCH ? n : REPLAY_MAX_BATCH;
	b->pending = NULL;
	for (size_t i = 0; i < b->n; i++)
		b->res[i] = REPLAY_UNAVAILABLE;
	if (s->start) {
		b->pending = s->start(s, items, b->n, now, b->res);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		b->res[i] = s->claim(s, &items[i], now);
		if (b->res[i] != REPLAY_OK)
			break;
	}
}

size_t replay_claim_finish(struct replay_store *s, struct replay_batch *b)
{
	size_t i;

	if (b->pending)
		s->finish(s, b->pending, b->res);
	b->pending = NULL;
	for (i = 0; i < b->n && b->res[i] == REPLAY_OK; i++)
		;
	return i;
}

static void mem_destroy(struct replay_store *s)
{
	struct memstore *m = (struct memstore *)s;

	for (int k = 0; k < m->nshards; k++) {
		pthread_mutex_destroy(&m->shards[k].lock);
		free(m->shards[k].nodes);
		free(m->shards[k].buckets);
	}
	if (m->kt)
		pthread_mutex_destroy(&m->kt->lock);
	free(m->kt);
	free(m);
}

size_t replay_memory_count(struct replay_store *s)
{
	struct memstore *m = (struct memstore *)s;
	size_t n = 0;

	for (int k = 0; k < m->nshards; k++) {
		pthread_mutex_lock(&m->shards[k].lock);
		n += m->shards[k].used;
		pthread_mutex_unlock(&m->shards[k].lock);
	}
	return n;
}

void replay_set_key_limit(struct replay_store *s, size_t per_key)
{
	if (s->set_key_limit)
		s->set_key_limit(s, per_key);
}

static void mem_set_key_limit(struct replay_store *s, size_t per_key)
{
	struct memstore *m = (struct memstore *)s;

	__atomic_store_n(&m->key_limit, per_key > UINT32_MAX ? UINT32_MAX : (uint32_t)per_key,
			 __ATOMIC_RELAXED);
}

struct replay_store *replay_memory_new(size_t capacity)
{
	return replay_memory_new_clock(capacity, mono_ms_real, NULL);
}

struct replay_store *replay_memory_new_clock(size_t capacity, int64_t (*mono_ms)(void *ctx),
					     void *ctx)
{
	struct memstore *m;

	if (capacity == 0 || capacity > (size_t)1 << 30)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->base.claim = mem_claim;
	m->base.destroy = mem_destroy;
	m->base.set_key_limit = mem_set_key_limit;
	m->mono_ms = mono_ms;
	m->mono_ctx = ctx;
	m->kt = calloc(1, sizeof(*m->kt));
	if (!m->kt || RAND_bytes(m->secret, sizeof(m->secret)) != 1) {
		free(m->kt);
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->kt->lock, NULL);
	m->nshards = capacity >= 64 * SHARDS ? SHARDS : 1;
	for (int k = 0; k < m->nshards; k++) {
		struct shard *sh = &m->shards[k];
		/* Spread the capacity over the shards; the first ones take the remainder, so the
		 * total is exact. A full shard refuses even if others have room: that keeps each
		 * claim to one lock, and SHA-256 spreads claims evenly. */
		uint32_t cap = (uint32_t)(capacity / m->nshards + ((size_t)k < capacity % m->nshards));

		pthread_mutex_init(&sh->lock, NULL);
		sh->cap = cap;
		sh->nbuckets = cap ? cap : 1;
		sh->buckets = malloc(sh->nbuckets * sizeof(uint32_t));
		sh->nodes = malloc((cap ? cap : 1) * sizeof(struct node));
		if (!sh->buckets || !sh->nodes) {
			mem_destroy(&m->base);
			return NULL;
		}
		for (uint32_t b = 0; b < sh->nbuckets; b++)
			sh->buckets[b] = NIL;
		sh->free_head = cap ? 0 : NIL;
		for (uint32_t i = 0; i < cap; i++)
			sh->nodes[i].next = i + 1 < cap ? i + 1 : NIL;
	}
	return &m->base;
}
