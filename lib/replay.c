/* SPDX-License-Identifier: Apache-2.0 */
/* In-memory replay store: sharded hash tables with a fixed node pool, swept by expiry. */
#include "replay.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#define SHARDS 16
#define NIL UINT32_MAX

struct node {
	uint8_t id[32]; /* SHA-256(keyid NUL nonce): fixed size whatever the client sends */
	int64_t expires;
	uint32_t next;
};

struct shard {
	pthread_mutex_t lock;
	struct node *nodes;
	uint32_t *buckets;
	uint32_t nbuckets, cap, used, free_head;
	int64_t last_sweep;
};

struct memstore {
	struct replay_store base;
	struct shard shards[SHARDS];
	int nshards; /* 1 for small stores, so that a store of n claims holds exactly n */
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
	default:
		return "unavailable";
	}
}

/* Frees every expired node of one shard. Caller holds the lock. */
static void sweep(struct shard *sh, int64_t now)
{
	for (uint32_t b = 0; b < sh->nbuckets; b++) {
		uint32_t *link = &sh->buckets[b];

		while (*link != NIL) {
			struct node *n = &sh->nodes[*link];

			if (n->expires <= now) {
				uint32_t idx = *link;

				*link = n->next;
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

static enum replay_result mem_claim(struct replay_store *s, const char *keyid, const char *nonce,
				    int64_t expires, int64_t now)
{
	struct memstore *m = (struct memstore *)s;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t id[32];
	unsigned idlen = 0;
	struct shard *sh;
	uint32_t b, i;
	enum replay_result r = REPLAY_OK;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, keyid, strlen(keyid) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, nonce, strlen(nonce)) != 1 ||
	    EVP_DigestFinal_ex(ctx, id, &idlen) != 1) {
		EVP_MD_CTX_free(ctx);
		return REPLAY_UNAVAILABLE;
	}
	EVP_MD_CTX_free(ctx);
	sh = &m->shards[id[0] % m->nshards];
	memcpy(&b, id + 4, sizeof(b));
	pthread_mutex_lock(&sh->lock);
	b %= sh->nbuckets;
	for (i = sh->buckets[b]; i != NIL; i = sh->nodes[i].next) {
		if (memcmp(sh->nodes[i].id, id, 32) == 0) {
			if (sh->nodes[i].expires > now) {
				r = REPLAY_SEEN;
			} else {
				/* expired claim of the same pair: renew it */
				sh->nodes[i].expires = expires;
			}
			goto out;
		}
	}
	if (sh->free_head == NIL || now > sh->last_sweep + 1)
		sweep(sh, now);
	if (sh->free_head == NIL) {
		r = REPLAY_FULL;
		goto out;
	}
	i = sh->free_head;
	sh->free_head = sh->nodes[i].next;
	memcpy(sh->nodes[i].id, id, 32);
	sh->nodes[i].expires = expires;
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
		b->res[i] = s->claim(s, items[i].keyid, items[i].nonce, items[i].expires, now);
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

struct replay_store *replay_memory_new(size_t capacity)
{
	struct memstore *m;

	if (capacity == 0 || capacity > (size_t)1 << 30)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->base.claim = mem_claim;
	m->base.destroy = mem_destroy;
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
