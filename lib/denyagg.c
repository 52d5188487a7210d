/* SPDX-License-Identifier: Apache-2.0 */
/* Counts of refused unauthenticated requests per (client, code, claimed keyid). */
#include "denyagg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct denyagg {
	pthread_mutex_t lock;
	struct denyagg_entry *v;
	size_t n, cap;
};

struct denyagg *denyagg_new(size_t slots)
{
	struct denyagg *a = calloc(1, sizeof(*a));

	if (!a || slots < 2 || !(a->v = calloc(slots, sizeof(*a->v)))) {
		free(a);
		return NULL;
	}
	a->cap = slots;
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void denyagg_free(struct denyagg *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->v);
	free(a);
}

static void plain_copy(char *out, size_t outlen, const char *in)
{
	size_t i = 0;

	for (; in && in[i] && i + 1 < outlen; i++) {
		char c = in[i];

		out[i] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				 c == '_' || c == '.' || c == ':' || c == '-'
			 ? c
			 : '_';
	}
	out[i] = '\0';
}

static size_t find(const struct denyagg *a, const struct denyagg_entry *k)
{
	size_t i;

	/* A linear scan: the table holds the clients of one interval only. */
	for (i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].client, k->client) && !strcmp(a->v[i].code, k->code) &&
		    !strcmp(a->v[i].keyid, k->keyid))
			break;
	return i;
}

void denyagg_note(struct denyagg *a, const char *client, const char *code, const char *keyid)
{
	struct denyagg_entry k;
	size_t i;

	memset(&k, 0, sizeof(k));
	plain_copy(k.client, sizeof(k.client), client && *client ? client : "unknown");
	plain_copy(k.code, sizeof(k.code), code && *code ? code : "unknown");
	plain_copy(k.keyid, sizeof(k.keyid), keyid);
	pthread_mutex_lock(&a->lock);
	i = find(a, &k);
	if (i == a->n && a->n + 1 >= a->cap) {
		/* The last slot is kept for everyone past the limit, whatever the reason. */
		memset(&k, 0, sizeof(k));
		strcpy(k.client, "other");
		strcpy(k.code, "various");
		i = find(a, &k);
	}
	if (i == a->n) {
		a->v[a->n] = k;
		a->n++;
	}
	a->v[i].count++;
	pthread_mutex_unlock(&a->lock);
}

size_t denyagg_drain(struct denyagg *a, void (*fn)(void *ctx, const struct denyagg_entry *e),
		     void *ctx)
{
	struct denyagg_entry *snap;
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->n;
	snap = n ? malloc(n * sizeof(*snap)) : NULL;
	if (snap)
		memcpy(snap, a->v, n * sizeof(*snap));
	a->n = 0;
	pthread_mutex_unlock(&a->lock);
	if (n && !snap)
		return 0; /* out of memory: the counts are lost, the requests were refused anyway */
	for (size_t i = 0; i < n; i++)
		fn(ctx, &snap[i]);
	free(snap);
	return n;
}
