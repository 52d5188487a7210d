/* SPDX-License-Identifier: Apache-2.0 */
/* Shared replay cache in Redis (hiredis): one Lua script per claim sets
 * vmseal:replay:KEYID:NONCE NX PX ttl and keeps the key's live claims bounded. */
#include "replay_redis.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <hiredis/hiredis.h>

#include "limits.h"

#define REDIS_RETRY_MS 250
#define EPOCH_KEY "vmseal:epoch" /* never expires: it goes only with the claims */
#define EPOCH_HEX 32
#define REDIS_TIMEOUT_MS 500

struct redis_store {
	struct replay_store base;
	char host[256];
	int port;
	int db;
	char password[256];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	redisContext **idle; /* connected contexts not in use */
	size_t nidle, cap, out;
	int64_t retry_after_ms; /* no new connect attempt before this (monotonic ms) */
	char refused[VS_ERR_REASON_MAX]; /* why the last connection was refused ("" when none) */
	size_t key_limit; /* live claims per keyid in this Redis; 0: no bound (read atomically) */
	char claim_sha[41]; /* SHA-1 of CLAIM_SCRIPT as Redis named it (set under lock) */
	int clock_refused; /* refused says this gateway's clock is off Redis's */
	/* The epoch this Redis's claims belong to (EPOCH_KEY, under lock); when a connection
	 * finds another or none, the claims were lost (a restart without persistence, a
	 * failover to a replica behind, FLUSHALL): lost_at and losses are set (read atomically). */
	char epoch[EPOCH_HEX + 1];
	int64_t lost_at;
	uint64_t losses;
};

/*
 * One claim, atomic in Redis (a script runs alone): KEYS[1] the claim, KEYS[2] the keyid's
 * live claims (a sorted set: nonce scored by its expiry in Redis milliseconds); ARGV[1] the
 * signature's expires plus the clock margin (Unix ms), ARGV[2] the bound (0: none), ARGV[3]
 * the nonce, ARGV[4] the second the claiming gateway verified the signature in (Unix ms: its
 * clock lies in [ARGV[4], ARGV[4] + 1000)), ARGV[5] the margin (ms); KEYS[3] EPOCH_KEY and
 * ARGV[6] the epoch the gateway knows: 4 when they differ (the claims were lost, nothing
 * written).
 * Answers 1 claimed, 0 a replay, 2 the keyid holds its bound of live claims (the claim is taken
 * back: nobody sees it, a script runs alone), 3 the gateway's clock is more than the margin
 * off Redis's (nothing written).
 * Every expiry is on Redis's own clock (TIME and PX): a claim lives until the signature's
 * expires plus the margin there, whichever gateway made it. A gateway accepts a signature
 * until expires on its own clock, and claims only while that clock is within the margin of
 * Redis's, so every gateway that could still accept the call finds its claim (a claim's
 * lifetime counted on the claiming gateway's clock ended early when that clock was ahead: a
 * gateway whose clock was behind then served the captured call again).
 * The SET comes first of the writes: Redis refuses it when full (noeviction, OOM) before
 * anything is written; once a script has written, Redis lets it finish, so the set never
 * misses a claim.
 */
#define CLAIM_SCRIPT                                                                             \
	"if redis.call('GET', KEYS[3]) ~= ARGV[6] then return 4 end\n"                          \
	"local deadline, bound = tonumber(ARGV[1]), tonumber(ARGV[2])\n"                         \
	"local t = redis.call('TIME')\n"                                                         \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                \
	"local gw, margin = tonumber(ARGV[4]), tonumber(ARGV[5])\n"                              \
	"if now < gw - margin or now >= gw + 1000 + margin then return 3 end\n"                  \
	"local ttl = deadline - now\n"                                                           \
	"if ttl < 1 then ttl = 1 end\n"                                                          \
	"if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ttl) then return 0 end\n"            \
	"if bound > 0 then\n"                                                                    \
	"  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)\n"                        \
	"  if redis.call('ZCARD', KEYS[2]) >= bound then\n"                                      \
	"    redis.call('DEL', KEYS[1])\n"                                                       \
	"    return 2\n"                                                                         \
	"  end\n"                                                                                \
	"  redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])\n"                                    \
	"  if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end\n"  \
	"end\n"                                                                                  \
	"return 1\n"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_url(struct redis_store *s, const char *url, struct vs_error *err)
{
	const char *p, *at, *slash, *colon;
	char *end;

	if (strncmp(url, "redis://", 8))
		return vs_fail(err, VS_ERR_USAGE, url, "replay store URL must start with redis://");
	p = url + 8;
	s->port = 6379;
	at = strchr(p, '@');
	if (at) {
		if (*p != ':' || (size_t)(at - p - 1) >= sizeof(s->password))
			return vs_fail(err, VS_ERR_USAGE, url, "credentials must be :PASSWORD@");
		memcpy(s->password, p + 1, (size_t)(at - p - 1));
		p = at + 1;
	}
	slash = strchr(p, '/');
	colon = strchr(p, ':');
	if (colon && slash && colon > slash)
		colon = NULL;
	{
		size_t hl = (size_t)((colon ? colon : slash ? slash : p + strlen(p)) - p);

		if (hl == 0 || hl >= sizeof(s->host))
			return vs_fail(err, VS_ERR_USAGE, url, "missing or overlong host");
		memcpy(s->host, p, hl);
	}
	if (colon) {
		long v;

		errno = 0;
		v = strtol(colon + 1, &end, 10);
		if (errno || !isdigit((unsigned char)colon[1]) || (*end && *end != '/') || v < 1 || v > 65535)
			return vs_fail(err, VS_ERR_USAGE, url, "bad port");
		s->port = (int)v;
	}
	if (slash && slash[1]) {
		long v;

		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (errno || !isdigit((unsigned char)slash[1]) || *end || v < 0 || v > 65535)
			return vs_fail(err, VS_ERR_USAGE, url, "bad database number");
		s->db = (int)v;
	}
	return 0;
}

/* Runs one command expecting "+OK"; 0 on success. */
static int expect_ok(redisContext *c, redisReply *r)
{
	int ok = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");

	(void)c;
	if (r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/*
 * Claims are keys with a TTL: every maxmemory-policy but noeviction may drop one under memory
 * pressure (allkeys-* any key, volatile-* exactly those with a TTL), and a dropped claim is a
 * replay. So only noeviction is accepted (a full Redis then refuses the SET: fail closed).
 * 0 when this Redis keeps every claim; -1 with why filled otherwise.
 */
static int check_eviction(redisContext *c, char *why, size_t whylen)
{
	redisReply *r = redisCommand(c, "INFO memory");
	const char *p;
	size_t n;
	int ok = 0;

	if (!r || r->type != REDIS_REPLY_STRING) {
		snprintf(why, whylen, "Redis does not answer INFO memory, so its maxmemory-policy "
				      "cannot be checked");
		goto out;
	}
	p = strstr(r->str, "maxmemory_policy:");
	if (!p) {
		snprintf(why, whylen, "Redis INFO memory names no maxmemory_policy");
		goto out;
	}
	p += strlen("maxmemory_policy:");
	n = strcspn(p, "\r\n");
	ok = n == strlen("noeviction") && !strncmp(p, "noeviction", n);
	if (!ok)
		snprintf(why, whylen,
			 "Redis maxmemory-policy is %.*s, which may evict replay claims (a replay); "
			 "set maxmemory-policy noeviction",
			 (int)(n < 64 ? n : 64), p);
out:
	if (r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/* Loads CLAIM_SCRIPT into this Redis (its script cache is lost on a restart, so every
 * connection loads it) and keeps the name it answers; -1 when Redis refuses it. */
static int load_claim_script(struct redis_store *s, redisContext *c)
{
	redisReply *r = redisCommand(c, "SCRIPT LOAD %s", CLAIM_SCRIPT);
	int ok = r && r->type == REDIS_REPLY_STRING && r->len == 40;

	if (ok) {
		pthread_mutex_lock(&s->lock);
		memcpy(s->claim_sha, r->str, 40);
		s->claim_sha[40] = '\0';
		pthread_mutex_unlock(&s->lock);
	}
	if (r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/*
 * Every connection reads EPOCH_KEY, made (SET NX, a random value) by the first gateway that
 * finds none. A value other than the one this store knew, or none at all, means this Redis no
 * longer holds the claims made before: the loss is recorded (lost_at, this process's wall
 * clock) so that the gateway refuses every signature that may have been claimed before it.
 * The first connection of a process counts a missing key as a loss too (it cannot know what
 * the claims were), and a key it finds as the epoch it joins. -1 when Redis does not answer.
 */
static int check_epoch(struct redis_store *s, redisContext *c)
{
	unsigned char rnd[EPOCH_HEX / 2];
	char mine[EPOCH_HEX + 1];
	redisReply *r;
	int found, lost;

	r = redisCommand(c, "GET %s", EPOCH_KEY);
	if (!r || (r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING)) {
		if (r)
			freeReplyObject(r);
		return -1;
	}
	found = r->type == REDIS_REPLY_STRING;
	freeReplyObject(r);
	if (!found) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -1;
		for (size_t i = 0; i < sizeof(rnd); i++)
			snprintf(mine + 2 * i, 3, "%02x", rnd[i]);
		r = redisCommand(c, "SET %s %s NX", EPOCH_KEY, mine);
		if (!r || r->type == REDIS_REPLY_ERROR) {
			if (r)
				freeReplyObject(r);
			return -1;
		}
		freeReplyObject(r);
	}
	/* whoever set it first: every gateway ends with the same epoch */
	r = redisCommand(c, "GET %s", EPOCH_KEY);
	if (!r || r->type != REDIS_REPLY_STRING || r->len != EPOCH_HEX) {
		if (r)
			freeReplyObject(r);
		return -1;
	}
	pthread_mutex_lock(&s->lock);
	lost = !found || (s->epoch[0] && strcmp(s->epoch, r->str));
	memcpy(s->epoch, r->str, EPOCH_HEX);
	s->epoch[EPOCH_HEX] = '\0';
	if (lost) {
		__atomic_store_n(&s->lost_at, (int64_t)time(NULL), __ATOMIC_RELEASE);
		__atomic_add_fetch(&s->losses, 1, __ATOMIC_ACQ_REL);
	}
	pthread_mutex_unlock(&s->lock);
	freeReplyObject(r);
	return 0;
}

static redisContext *connect_one(struct redis_store *s)
{
	struct timeval tv = {REDIS_TIMEOUT_MS / 1000, (REDIS_TIMEOUT_MS % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
	char why[VS_ERR_REASON_MAX];

	if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK)
		goto fail;
	if (s->password[0] && expect_ok(c, redisCommand(c, "AUTH %s", s->password)) < 0)
		goto fail;
	if (s->db && expect_ok(c, redisCommand(c, "SELECT %d", s->db)) < 0)
		goto fail;
	if (check_eviction(c, why, sizeof(why)) < 0) {
		pthread_mutex_lock(&s->lock);
		snprintf(s->refused, sizeof(s->refused), "%s", why);
		s->clock_refused = 0;
		pthread_mutex_unlock(&s->lock);
		goto fail;
	}
	if (load_claim_script(s, c) < 0 || check_epoch(s, c) < 0)
		goto fail;
	pthread_mutex_lock(&s->lock);
	s->refused[0] = '\0';
	s->clock_refused = 0;
	pthread_mutex_unlock(&s->lock);
	return c;
fail:
	if (c)
		redisFree(c);
	return NULL;
}

int64_t replay_redis_not_before(struct replay_store *base, int64_t future_skew_s, uint64_t *losses)
{
	struct redis_store *s = (struct redis_store *)base;
	uint64_t n = __atomic_load_n(&s->losses, __ATOMIC_ACQUIRE);
	int64_t at = __atomic_load_n(&s->lost_at, __ATOMIC_ACQUIRE);

	if (losses)
		*losses = n;
	if (!n)
		return 0;
	/* a call claimed before the loss, by any gateway (each within the margin of Redis's
	 * clock), was created at most future_skew_s after it */
	return at + (future_skew_s > 0 ? future_skew_s : 0) + VS_REPLAY_CLOCK_MARGIN_S + 1;
}

int replay_redis_refused(struct replay_store *base, char *why, size_t whylen)
{
	struct redis_store *s = (struct redis_store *)base;
	int r;

	pthread_mutex_lock(&s->lock);
	r = s->refused[0] != '\0';
	snprintf(why, whylen, "%s", s->refused);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int replay_redis_check(struct replay_store *base, struct vs_error *err)
{
	struct redis_store *s = (struct redis_store *)base;
	redisContext *c = connect_one(s);
	char why[VS_ERR_REASON_MAX];

	if (c) {
		redisFree(c);
		return 0;
	}
	if (replay_redis_refused(base, why, sizeof(why)))
		return vs_fail(err, VS_ERR_USAGE, "--replay-store", "%s", why);
	return 0; /* unreachable now: claims fail closed until it is back */
}

/* Takes an idle connection (*reused = 1) or makes one; NULL when Redis cannot be reached now. */
static redisContext *take(struct redis_store *s, int *reused)
{
	redisContext *c = NULL;
	int may_connect = 0;

	*reused = 0;
	pthread_mutex_lock(&s->lock);
	while (s->nidle == 0 && s->out >= s->cap)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->nidle) {
		c = s->idle[--s->nidle];
		s->out++;
		*reused = 1;
	} else if (mono_ms() >= s->retry_after_ms) {
		s->out++;
		may_connect = 1;
	}
	pthread_mutex_unlock(&s->lock);
	if (!may_connect)
		return c;
	c = connect_one(s);
	if (!c) {
		/* Only a failed connect pauses reconnecting, so a down Redis is not hammered. */
		pthread_mutex_lock(&s->lock);
		s->out--;
		s->retry_after_ms = mono_ms() + REDIS_RETRY_MS;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	return c;
}

/* Returns a connection to the pool, or drops a broken one. */
static void give_back(struct redis_store *s, redisContext *c, int broken)
{
	pthread_mutex_lock(&s->lock);
	s->out--;
	if (broken)
		redisFree(c);
	else
		s->idle[s->nidle++] = c;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Claims sent on a connection, waiting for their answers. */
struct pending {
	redisContext *c;
	int reused;
	size_t n;
	size_t limit;
	char sha[41];
	char epoch[EPOCH_HEX + 1];
	size_t keylen[REPLAY_MAX_BATCH], livelen[REPLAY_MAX_BATCH], noncelen[REPLAY_MAX_BATCH];
	long long until_ms[REPLAY_MAX_BATCH]; /* the claim's end, Unix ms on Redis's clock */
	long long now_ms;                     /* the caller's now (Unix ms, whole seconds) */
	int clock_off;                        /* a claim was refused: this clock is off Redis's */
	int epoch_lost;                       /* Redis's epoch is not the one sent: no retry */
	/* Into keys: copies, since a claim that found its pooled connection dead is sent again from
	 * redis_finish, when the caller's strings (a request's parsed signature, on the stack of
	 * the function that started the claim) may be gone. */
	char *key[REPLAY_MAX_BATCH], *live[REPLAY_MAX_BATCH], *nonce[REPLAY_MAX_BATCH];
	char keys[];
};

#define KEY_PREFIX "vmseal:replay:"
#define LIVE_PREFIX "vmseal:live:" /* not under KEY_PREFIX: only claims match vmseal:replay:* */

/* Queues the SETs of p on its connection and writes them out; -1 if the connection failed. */
static int send_claims(struct pending *p)
{
	int done = 0;

	for (size_t i = 0; i < p->n; i++)
		if (redisAppendCommand(p->c, "EVALSHA %s 3 %b %b %s %lld %lld %b %lld %lld %s", p->sha,
				       p->key[i], p->keylen[i], p->live[i], p->livelen[i], EPOCH_KEY,
				       p->until_ms[i], (long long)p->limit, p->nonce[i], p->noncelen[i],
				       p->now_ms, (long long)VS_REPLAY_CLOCK_MARGIN_S * 1000,
				       p->epoch) != REDIS_OK)
			return -1;
	while (!done)
		if (redisBufferWrite(p->c, &done) != REDIS_OK)
			return -1;
	return 0;
}

/* Reads the answers into res; returns how many were read before an error (n if none). */
static size_t read_claims(struct pending *p, enum replay_result *res)
{
	for (size_t i = 0; i < p->n; i++) {
		redisReply *r = NULL;
		int ok = 1;

		if (redisGetReply(p->c, (void **)&r) != REDIS_OK || !r)
			return i;
		if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
			res[i] = REPLAY_OK;
		else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0)
			res[i] = REPLAY_SEEN;
		else if (r->type == REDIS_REPLY_INTEGER && r->integer == 2)
			res[i] = REPLAY_KEY_FULL;
		else if (r->type == REDIS_REPLY_INTEGER && r->integer == 3) {
			res[i] = REPLAY_UNAVAILABLE; /* nothing written: fail closed */
			p->clock_off = 1;
		} else if (r->type == REDIS_REPLY_INTEGER && r->integer == 4) {
			/* the claims this Redis held are gone: nothing written, the connection is
			 * dropped, and its next connect records the loss */
			res[i] = REPLAY_UNAVAILABLE;
			p->epoch_lost = 1;
			ok = 0;
		} else
			ok = 0; /* an error reply (OOM, read-only replica, NOSCRIPT...): fail closed */
		freeReplyObject(r);
		if (!ok)
			return i;
	}
	return p->n;
}

/*
 * The first step: the claims go out at once on a pooled connection, and the caller goes on
 * (the gateway builds and signs its answer meanwhile) until redis_finish reads the replies.
 * A round trip costs both sides syscalls and a wake-up; a reply that is already there when it
 * is read costs the caller no sleep.
 */
static void *redis_start(struct replay_store *base, const struct replay_item *items, size_t n,
			 int64_t now, enum replay_result *res)
{
	struct redis_store *s = (struct redis_store *)base;
	struct pending *p;
	size_t total = 0, off = 0;

	for (size_t i = 0; i < n; i++)
		total += sizeof(KEY_PREFIX) + strlen(items[i].keyid) + 1 + strlen(items[i].nonce) +
			 sizeof(LIVE_PREFIX) + strlen(items[i].keyid) + strlen(items[i].nonce) + 1;
	p = malloc(sizeof(*p) + total);
	if (!p)
		return NULL; /* res stays REPLAY_UNAVAILABLE: fail closed */
	p->n = n;
	p->limit = __atomic_load_n(&s->key_limit, __ATOMIC_RELAXED);
	p->clock_off = 0;
	p->epoch_lost = 0;
	p->now_ms = (long long)now * 1000; /* the clock the caller verified the signature with */
	for (size_t i = 0; i < n; i++) {
		int len;

		p->key[i] = p->keys + off;
		len = snprintf(p->key[i], total - off, KEY_PREFIX "%s:%s", items[i].keyid, items[i].nonce);
		p->keylen[i] = (size_t)len;
		off += (size_t)len + 1;
		p->live[i] = p->keys + off;
		len = snprintf(p->live[i], total - off, LIVE_PREFIX "%s", items[i].keyid);
		p->livelen[i] = (size_t)len;
		off += (size_t)len + 1;
		p->nonce[i] = p->keys + off;
		len = snprintf(p->nonce[i], total - off, "%s", items[i].nonce);
		p->noncelen[i] = (size_t)len;
		off += (size_t)len + 1;
		/* The claim must outlive the signature's validity on every replica (the script
		 * refuses a gateway whose clock is further off Redis's than the margin). Redis has
		 * only its wall clock: hold_s, a span on this process's monotonic clock, cannot be
		 * kept there (the margin bounds how far the two wall clocks may disagree). */
		p->until_ms[i] = ((long long)items[i].expires + VS_REPLAY_CLOCK_MARGIN_S) * 1000;
	}
	p->c = take(s, &p->reused);
	pthread_mutex_lock(&s->lock);
	memcpy(p->sha, s->claim_sha, sizeof(p->sha)); /* set by the connect that made p->c */
	memcpy(p->epoch, s->epoch, sizeof(p->epoch));
	pthread_mutex_unlock(&s->lock);
	if (p->c && send_claims(p) < 0 && !p->reused) {
		give_back(s, p->c, 1);
		p->c = NULL;
	}
	(void)res;
	return p;
}

static void redis_finish(struct replay_store *base, void *pending, enum replay_result *res)
{
	struct redis_store *s = (struct redis_store *)base;
	struct pending *p = pending;

	for (int attempt = 0; attempt < 2 && p->c; attempt++) {
		size_t answered = read_claims(p, res);
		int broken = answered < p->n || p->c->err != 0;

		give_back(s, p->c, broken);
		p->c = NULL;
		/* A pooled connection may have died with a Redis restart: when it answered nothing,
		 * the claims go once more on a fresh one. Claims left without an answer stay
		 * UNAVAILABLE: their SET may or may not have happened; the caller fails closed. */
		if (!broken || answered || !p->reused || p->epoch_lost)
			break;
		p->c = take(s, &p->reused);
		if (p->c && send_claims(p) < 0) {
			give_back(s, p->c, 1);
			p->c = NULL;
		}
		p->reused = 0; /* no third attempt */
	}
	/* why the 503 (replay_redis_refused), until a claim made with this clock succeeds */
	if (p->clock_off) {
		pthread_mutex_lock(&s->lock);
		snprintf(s->refused, sizeof(s->refused),
			 "this gateway's clock is more than %d s off Redis's (claims expire on Redis's clock)",
			 VS_REPLAY_CLOCK_MARGIN_S);
		__atomic_store_n(&s->clock_refused, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&s->lock);
	} else if (p->n && res[0] == REPLAY_OK && __atomic_load_n(&s->clock_refused, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&s->lock);
		if (s->clock_refused)
			s->refused[0] = '\0';
		s->clock_refused = 0;
		pthread_mutex_unlock(&s->lock);
	}
	free(p);
}

static enum replay_result redis_claim(struct replay_store *base, const struct replay_item *item,
				      int64_t now)
{
	enum replay_result res = REPLAY_UNAVAILABLE;
	void *p = redis_start(base, item, 1, now, &res);

	if (p)
		redis_finish(base, p, &res);
	return res;
}

/* The bound holds for the keyid across every gateway sharing this Redis: the set is shared. */
static void redis_set_key_limit(struct replay_store *base, size_t per_key)
{
	struct redis_store *s = (struct redis_store *)base;

	__atomic_store_n(&s->key_limit, per_key, __ATOMIC_RELAXED);
}

static void redis_destroy(struct replay_store *base)
{
	struct redis_store *s = (struct redis_store *)base;

	for (size_t i = 0; i < s->nidle; i++)
		redisFree(s->idle[i]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->idle);
	free(s);
}

struct redisReply *replay_redis_command(struct replay_store *base, const char *fmt, ...)
{
	struct redis_store *s = (struct redis_store *)base;
	redisReply *r = NULL;

	for (int attempt = 0; attempt < 2 && !r; attempt++) {
		int reused = 0;
		redisContext *c = take(s, &reused);
		va_list ap;

		if (!c)
			return NULL;
		va_start(ap, fmt);
		r = redisvCommand(c, fmt, ap);
		va_end(ap);
		give_back(s, c, !r);
		if (!r && !reused)
			break; /* a fresh connection failed: Redis is down */
	}
	if (r && r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		r = NULL;
	}
	return r;
}

struct replay_store *replay_redis_new(const char *url, unsigned connections, struct vs_error *err)
{
	return replay_redis_new_auth(url, NULL, connections, err);
}

struct replay_store *replay_redis_new_auth(const char *url, const char *password, unsigned connections,
					   struct vs_error *err)
{
	struct redis_store *s = calloc(1, sizeof(*s));

	if (!s) {
		vs_fail(err, VS_ERR_INTERNAL, url, "out of memory");
		return NULL;
	}
	if (parse_url(s, url, err) < 0) {
		free(s);
		return NULL;
	}
	if (password && (s->password[0] || !password[0] || strlen(password) >= sizeof(s->password))) {
		vs_fail(err, VS_ERR_USAGE, url, s->password[0] ? "the URL carries a password and a password file is given too"
								 : "password empty or longer than %zu bytes",
			sizeof(s->password) - 1);
		OPENSSL_cleanse(s->password, sizeof(s->password));
		free(s);
		return NULL;
	}
	if (password)
		snprintf(s->password, sizeof(s->password), "%s", password);
	s->cap = connections ? connections : 4;
	s->idle = calloc(s->cap, sizeof(*s->idle));
	if (!s->idle) {
		free(s);
		vs_fail(err, VS_ERR_INTERNAL, url, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->base.claim = redis_claim;
	s->base.start = redis_start;
	s->base.finish = redis_finish;
	s->base.destroy = redis_destroy;
	s->base.set_key_limit = redis_set_key_limit;
	return &s->base;
}
