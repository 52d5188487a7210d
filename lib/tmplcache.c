/* SPDX-License-Identifier: Apache-2.0 */
/* Template verdicts cached in memory, one slot per key hash. */
#include "tmplcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tmplcache {
	pthread_mutex_t lock;
	struct tmplcache_entry *v;
	size_t cap;
};

struct tmplcache *tmplcache_new(size_t cap)
{
	struct tmplcache *c = calloc(1, sizeof(*c));

	if (!c || cap == 0 || !(c->v = calloc(cap, sizeof(*c->v)))) {
		free(c);
		return NULL;
	}
	c->cap = cap;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void tmplcache_free(struct tmplcache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->v);
	free(c);
}

static size_t slot(const struct tmplcache *c, const char *key)
{
	size_t h = 0;

	for (int i = 0; i < 16 && key[i]; i++) /* the key is SHA-256 hex: its head is uniform */
		h = h * 16 + (size_t)(key[i] <= '9' ? key[i] - '0' : key[i] - 'a' + 10);
	return h % c->cap;
}

int tmplcache_get(struct tmplcache *c, const char key[static EVALCACHE_KEY_HEX], int64_t now,
		  struct tmplcache_entry *out)
{
	const struct tmplcache_entry *e;
	int hit;

	pthread_mutex_lock(&c->lock);
	e = &c->v[slot(c, key)];
	hit = e->key[0] && !strcmp(e->key, key) && now < e->until;
	if (hit)
		*out = *e;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void tmplcache_put(struct tmplcache *c, const struct tmplcache_entry *e)
{
	pthread_mutex_lock(&c->lock);
	c->v[slot(c, e->key)] = *e;
	pthread_mutex_unlock(&c->lock);
}
