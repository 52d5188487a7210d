/* SPDX-License-Identifier: Apache-2.0 */
/* lib/replay_redis.c against a real redis-server started on a free loopback port. */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "common_cunit.h"
#include "lib/limits.h"
#include "lib/replay_redis.h"

extern char **environ;
static pid_t redis_pid = -1;
static int redis_port;
static char url[64];

static void stop_redis(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGTERM);
		waitpid(redis_pid, NULL, 0);
		redis_pid = -1;
	}
}

/* Starts redis-server without persistence on redis_port; waits until it answers. */
static int start_redis(void)
{
	char port[16], logfile[128];
	char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", (char *)test_tmpdir(), "--logfile", logfile, NULL};
	struct vs_error err = {0};

	snprintf(port, sizeof(port), "%d", redis_port);
	snprintf(logfile, sizeof(logfile), "%s/redis.log", test_tmpdir());
	if (posix_spawnp(&redis_pid, "redis-server", NULL, NULL, argv, environ) != 0)
		return -1;
	for (int i = 0; i < 100; i++) {
		struct replay_store *s = replay_redis_new(url, 1, &err);
		enum replay_result r = replay_claim(s, "probe", "probe", time(NULL) + 1, time(NULL));

		replay_destroy(s);
		if (r != REPLAY_UNAVAILABLE)
			return 0;
		usleep(50000);
	}
	return -1;
}

static void test_claim_once(void)
{
	struct vs_error err = {0};
	struct replay_store *a = replay_redis_new(url, 2, &err), *b = replay_redis_new(url, 2, &err);
	int64_t now = time(NULL);
	char nonce[32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	snprintf(nonce, sizeof(nonce), "n-%ld", (long)random());
	CU_ASSERT_EQUAL(replay_claim(a, "k1", nonce, now + 60, now), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(a, "k1", nonce, now + 60, now), REPLAY_SEEN);
	/* A second replica (another store, same Redis) sees the claim too. */
	CU_ASSERT_EQUAL(replay_claim(b, "k1", nonce, now + 60, now), REPLAY_SEEN);
	CU_ASSERT_EQUAL(replay_claim(b, "k2", nonce, now + 60, now), REPLAY_OK);
	/* Nonces are binary-safe: spaces and colons cannot collide keys. */
	CU_ASSERT_EQUAL(replay_claim(a, "k1:x", "y", now + 60, now), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(a, "k1", "x y", now + 60, now), REPLAY_OK);
	replay_destroy(a);
	replay_destroy(b);
}

static void test_claim_expires(void)
{
	struct vs_error err = {0};
	struct replay_store *a = replay_redis_new(url, 1, &err);
	int64_t now = time(NULL);

	CU_ASSERT_EQUAL(replay_claim(a, "k", "short", now, now), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(a, "k", "short", now, now), REPLAY_SEEN);
	sleep(2);
	CU_ASSERT_EQUAL(replay_claim(a, "k", "short", now + 2, now + 2), REPLAY_OK);
	replay_destroy(a);
}

static void test_down_fails_closed_then_recovers(void)
{
	struct vs_error err = {0};
	struct replay_store *a = replay_redis_new(url, 2, &err);
	int64_t now = time(NULL);

	CU_ASSERT_EQUAL(replay_claim(a, "k", "before", now + 60, now), REPLAY_OK);
	stop_redis();
	CU_ASSERT_EQUAL(replay_claim(a, "k", "during", now + 60, now), REPLAY_UNAVAILABLE);
	CU_ASSERT_EQUAL(replay_claim(a, "k", "during2", now + 60, now), REPLAY_UNAVAILABLE);
	CU_ASSERT_EQUAL_FATAL(start_redis(), 0);
	usleep(300000); /* past the reconnect pause */
	CU_ASSERT_EQUAL(replay_claim(a, "k", "after", now + 60, now), REPLAY_OK);
	replay_destroy(a);
}

/* Two-step claims (the gateway's path): several pairs in one round trip, answered in order. */
static void test_start_finish(void)
{
	struct vs_error err = {0};
	struct replay_store *a = replay_redis_new(url, 1, &err);
	int64_t now = time(NULL);
	char n1[32], n2[32], n3[32];
	struct replay_item items[3] = {{"k", n1, now + 60, 0}, {"k", n2, now + 60, 0}, {"k", n3, now + 60, 0}};
	struct replay_batch b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	snprintf(n1, sizeof(n1), "s1-%ld", (long)random());
	snprintf(n2, sizeof(n2), "s2-%ld", (long)random());
	snprintf(n3, sizeof(n3), "s3-%ld", (long)random());
	CU_ASSERT_EQUAL(replay_claim(a, "k", n2, now + 60, now), REPLAY_OK);
	replay_claim_start(a, items, 3, now, &b);
	CU_ASSERT_PTR_NOT_NULL(b.pending); /* sent, not yet read */
	CU_ASSERT_EQUAL(replay_claim_finish(a, &b), 1);
	CU_ASSERT_EQUAL(b.res[0], REPLAY_OK);
	CU_ASSERT_EQUAL(b.res[1], REPLAY_SEEN);
	CU_ASSERT_EQUAL(b.res[2], REPLAY_OK);
	/* the one pooled connection was given back: the store still answers */
	CU_ASSERT_EQUAL(replay_claim(a, "k", n3, now + 60, now), REPLAY_SEEN);
	replay_claim_start(a, items, 1, now, &b);
	CU_ASSERT_EQUAL(replay_claim_finish(a, &b), 0);
	CU_ASSERT_EQUAL(b.res[0], REPLAY_SEEN);
	replay_destroy(a);
}

/* A Redis restart between two calls: the claims sent on the dead pooled connection get no answer
 * and go again on a fresh one (only if Redis kept its claims); while Redis is down, every claim
 * is refused. */
static void test_start_finish_restart(void)
{
	struct vs_error err = {0};
	struct replay_store *a = replay_redis_new(url, 1, &err);
	int64_t now = time(NULL);
	struct replay_item items[2] = {{"k", "r1", now + 60, 0}, {"k", "r2", now + 60, 0}};
	struct replay_batch b;

	CU_ASSERT_EQUAL(replay_claim(a, "k", "warm", now + 60, now), REPLAY_OK);
	stop_redis();
	replay_claim_start(a, items, 2, now, &b);
	CU_ASSERT_EQUAL(replay_claim_finish(a, &b), 0);
	CU_ASSERT_EQUAL(b.res[0], REPLAY_UNAVAILABLE);
	CU_ASSERT_EQUAL(b.res[1], REPLAY_UNAVAILABLE);
	CU_ASSERT_EQUAL_FATAL(start_redis(), 0);
	usleep(300000); /* past the reconnect pause */
	replay_claim_start(a, items, 2, now, &b);
	CU_ASSERT_EQUAL(replay_claim_finish(a, &b), 2);
	CU_ASSERT_EQUAL(replay_claim(a, "k", "warm2", now + 60, now), REPLAY_OK);
	/* a restart without persistence lost the claims: the retry on a fresh connection finds
	 * the sentinel gone and claims nothing (warm2 would be claimable again: a replay) */
	stop_redis();
	CU_ASSERT_EQUAL_FATAL(start_redis(), 0);
	{
		struct replay_item w2[1] = {{"k", "warm2", now + 60, 0}};

		replay_claim_start(a, w2, 1, now, &b);
		CU_ASSERT_EQUAL(replay_claim_finish(a, &b), 0);
		CU_ASSERT_EQUAL(b.res[0], REPLAY_UNAVAILABLE);
	}
	CU_ASSERT_EQUAL(replay_claim(a, "k", "warm3", now + 60, now), REPLAY_OK);
	{
		/* a Redis that comes back with its data (persistence): its sentinel is the same */
		redisReply *r = replay_redis_command(a, "GET vmseal:epoch");
		char epoch[64] = "";
		redisContext *c;

		CU_ASSERT_FATAL(r && r->type == REDIS_REPLY_STRING && r->len < sizeof(epoch));
		memcpy(epoch, r->str, r->len);
		freeReplyObject(r);
		stop_redis();
		CU_ASSERT_EQUAL_FATAL(start_redis(), 0);
		c = redisConnect("127.0.0.1", redis_port);
		CU_ASSERT_FATAL(c && !c->err);
		r = redisCommand(c, "SET vmseal:epoch %s", epoch);
		CU_ASSERT(r && r->type == REDIS_REPLY_STATUS);
		if (r)
			freeReplyObject(r);
		redisFree(c);
	}
	/* the pooled connection is stale now: the retry on a fresh one answers, and it claims what
	 * was started, though the caller's strings are gone by then (the gateway's nonce lives in
	 * a request parsed on the stack of the function that started the claim) */
	{
		char keyid[16] = "kn", nonce[16] = "r3";
		struct replay_item again[1] = {{keyid, nonce, now + 60, 0}};
		redisReply *r;

		replay_set_key_limit(a, 100);
		replay_claim_start(a, again, 1, now, &b);
		memset(nonce, 'X', sizeof(nonce) - 1);
		memset(keyid, 'Y', sizeof(keyid) - 1);
		CU_ASSERT_EQUAL(replay_claim_finish(a, &b), 1);
		r = replay_redis_command(a, "ZSCORE vmseal:live:kn r3");
		CU_ASSERT(r && r->type == REDIS_REPLY_STRING);
		if (r)
			freeReplyObject(r);
		CU_ASSERT_EQUAL(replay_claim(a, "kn", "r3", now + 60, now), REPLAY_SEEN);
	}
	replay_destroy(a);
}

/* The per-key bound of live claims holds in Redis, for every store (gateway) sharing it: one
 * key past it is refused alone, a replay is still a replay, and the bound frees as claims
 * expire on Redis's clock. */
static void test_key_limit(void)
{
	struct vs_error err = {0};
	struct replay_store *a = replay_redis_new(url, 2, &err), *b = replay_redis_new(url, 2, &err);
	int64_t now = time(NULL);
	char key[32], other[32], n[8][32];

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	snprintf(key, sizeof(key), "flooder-%ld", (long)random());
	snprintf(other, sizeof(other), "other-%ld", (long)random());
	for (int i = 0; i < 8; i++)
		snprintf(n[i], sizeof(n[i]), "n%d", i);
	replay_set_key_limit(a, 3);
	replay_set_key_limit(b, 3);
	/* two claims through one gateway, one through the other: the key's bound is shared */
	CU_ASSERT_EQUAL(replay_claim(a, key, n[0], now, now), REPLAY_OK); /* lives 1 s */
	CU_ASSERT_EQUAL(replay_claim(a, key, n[1], now + 60, now), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(b, key, n[2], now + 60, now), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(a, key, n[3], now + 60, now), REPLAY_KEY_FULL);
	CU_ASSERT_EQUAL(replay_claim(b, key, n[3], now + 60, now), REPLAY_KEY_FULL);
	/* a replay at the bound is still a replay, not a refusal that could pass once room frees */
	CU_ASSERT_EQUAL(replay_claim(b, key, n[1], now + 60, now), REPLAY_SEEN);
	/* another key is not touched */
	CU_ASSERT_EQUAL(replay_claim(a, other, n[0], now + 60, now), REPLAY_OK);
	/* the refused claim was not written: once room frees it claims, once */
	usleep(2100000); /* n[0] lives until its expires + 1 s on Redis's clock */
	now = time(NULL);
	CU_ASSERT_EQUAL(replay_claim(b, key, n[3], now + 60, now), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(a, key, n[3], now + 60, now), REPLAY_SEEN);
	CU_ASSERT_EQUAL(replay_claim(a, key, n[4], now + 60, now), REPLAY_KEY_FULL);
	/* without a bound (0) the key claims again */
	replay_set_key_limit(a, 0);
	CU_ASSERT_EQUAL(replay_claim(a, key, n[4], now + 60, now), REPLAY_OK);
	replay_destroy(a);
	replay_destroy(b);
}

/*
 * Claims expire on Redis's clock, so a gateway whose clock is off Redis's would see them end
 * before its signatures do (a gateway with the right time then serves the captured call
 * again): a claim whose caller's now is more than 1 s off Redis's is refused, nothing written,
 * and the refusal names the clock.
 */
static void test_clock_off(void)
{
	struct vs_error err = {0};
	struct replay_store *s = replay_redis_new(url, 1, &err);
	int64_t now = time(NULL);
	char why[VS_ERR_REASON_MAX] = "", nonce[32];
	redisReply *k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	snprintf(nonce, sizeof(nonce), "clock-%ld", (long)random());
	CU_ASSERT_EQUAL(replay_claim(s, "k", nonce, now + 60, now + 10), REPLAY_UNAVAILABLE);
	CU_ASSERT(replay_redis_refused(s, why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "clock is more than 1 s off Redis's"));
	CU_ASSERT_EQUAL(replay_claim(s, "k", nonce, now + 60, now - 3), REPLAY_UNAVAILABLE);
	k = replay_redis_command(s, "EXISTS vmseal:replay:k:%s", nonce);
	CU_ASSERT(k && k->type == REDIS_REPLY_INTEGER && k->integer == 0);
	if (k)
		freeReplyObject(k);
	/* with the right time the same nonce claims, once, and the refusal's reason is gone */
	now = time(NULL);
	CU_ASSERT_EQUAL(replay_claim(s, "k", nonce, now + 60, now), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(s, "k", nonce, now + 60, now), REPLAY_SEEN);
	CU_ASSERT(!replay_redis_refused(s, why, sizeof(why)));
	replay_destroy(s);
}

static void test_bad_urls(void)
{
	static const char *bad[] = {"http://x", "redis://", "redis://:pw", "redis://h:0", "redis://h:99999",
				    "redis://h:12x", "redis://h/abc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vs_error err = {0};

		CU_ASSERT_PTR_NULL(replay_redis_new(bad[i], 1, &err));
		CU_ASSERT(err.reason[0] != '\0');
	}
}

/* Redis loses its claims (FLUSHDB here; a restart without persistence, a failover to a replica
 * behind): the store notices at the next claim and connection, and tells when calls are safe. */
static void test_loss_noticed(void)
{
	struct vs_error err = {0};
	struct replay_store *a = replay_redis_new(url, 1, &err), *b = replay_redis_new(url, 1, &err);
	int64_t now = time(NULL), nb;
	uint64_t la0 = 0, la = 0, lb0 = 0, lb = 0;
	struct redisReply *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(replay_claim(a, "kl", "before", now + 60, now), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(b, "kl", "b-warm", now + 60, now), REPLAY_OK);
	replay_redis_not_before(a, 2, &la0);
	replay_redis_not_before(b, 2, &lb0);
	r = replay_redis_command(a, "FLUSHDB");
	CU_ASSERT_PTR_NOT_NULL(r);
	if (r)
		freeReplyObject(r);
	/* the claim finds the sentinel gone: nothing written, refused */
	CU_ASSERT_EQUAL(replay_claim(a, "kl", "before", now + 60, now), REPLAY_UNAVAILABLE);
	/* the next connection records the loss; the claim made before is refused by the gateway
	 * through the not-before, and a new one is claimed in the new epoch */
	CU_ASSERT_EQUAL(replay_claim(a, "kl", "after", now + 60, now), REPLAY_OK);
	nb = replay_redis_not_before(a, 2, &la);
	CU_ASSERT_EQUAL(la, la0 + 1);
	CU_ASSERT(nb >= now + 2 + VS_REPLAY_CLOCK_MARGIN_S + 1);
	/* the other store sees that its epoch changed: a loss for it too, counted once */
	CU_ASSERT_EQUAL(replay_claim(b, "kl", "b-after", now + 60, now), REPLAY_UNAVAILABLE);
	CU_ASSERT_EQUAL(replay_claim(b, "kl", "b-after", now + 60, now), REPLAY_OK);
	replay_redis_not_before(b, 2, &lb);
	CU_ASSERT_EQUAL(lb, lb0 + 1);
	CU_ASSERT_EQUAL(replay_claim(b, "kl", "after", now + 60, now), REPLAY_SEEN);
	replay_redis_not_before(a, 2, &la0);
	CU_ASSERT_EQUAL(la0, la); /* no loss without one */
	replay_destroy(a);
	replay_destroy(b);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"claim once, shared between stores", test_claim_once},
		{"claims expire after their signature", test_claim_expires},
		{"Redis down fails closed, recovers", test_down_fails_closed_then_recovers},
		{"malformed URLs refused", test_bad_urls},
		{"two-step claims, pipelined, in order", test_start_finish},
		{"two-step claims across a Redis restart", test_start_finish_restart},
		{"live claims bounded per key, shared by stores", test_key_limit},
		{"a caller whose clock is off Redis's: claims refused, nothing written, the clock named", test_clock_off},
		{"Redis losing its claims is noticed by every store", test_loss_noticed},
		{NULL, NULL},
	};
	int rc;

	srandom((unsigned)getpid());
	redis_port = 20000 + (int)(getpid() % 20000);
	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", redis_port);
	if (start_redis() < 0) {
		fprintf(stderr, "cannot start redis-server on port %d\n", redis_port);
		stop_redis();
		return 2;
	}
	rc = run_suite("replay_redis", cases);
	stop_redis();
	return rc;
}
