/* SPDX-License-Identifier: Apache-2.0 */
/* Counts of refused unauthenticated requests per (client, code, claimed keyid). */
#include "denyagg.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
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
				 c == '_' || c == '.' || c == ':' || c == '-' || c == '/'
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

/* The client a refusal is counted under: an IPv6 address by its /64 (one host picks any of the
 * 2^64 addresses of its subnet at will, one counter each would let it fill the table and the
 * log), an IPv4 address (also written IPv4-mapped) as it is, anything else as given. */
static void client_group(char *out, size_t outlen, const char *client)
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	if (!strchr(client, ':') || inet_pton(AF_INET6, client, &a6) != 1) {
		snprintf(out, outlen, "%s", client);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		snprintf(out, outlen, "%u.%u.%u.%u", a6.s6_addr[12], a6.s6_addr[13], a6.s6_addr[14],
			 a6.s6_addr[15]);
		return;
	}
	memset(a6.s6_addr + 8, 0, 8);
	if (!inet_ntop(AF_INET6, &a6, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	snprintf(out, outlen, "%s/64", text);
}

void denyagg_note(struct denyagg *a, const char *client, const char *code, const char *keyid)
{
	char group[DENYAGG_CLIENT_BYTES];
	struct denyagg_entry k;
	size_t i;

	memset(&k, 0, sizeof(k));
	client_group(group, sizeof(group), client && *client ? client : "unknown");
	plain_copy(k.client, sizeof(k.client), group);
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
