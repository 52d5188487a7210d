/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/replay.c: claims, replays, expiry, bounded capacity, threads. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "common_cunit.h"
#include "lib/replay.h"
#include "lib/replay_priv.h"

/* A monotonic clock the tests step: claim_at moves it with the wall clock they pass. */
static int64_t fake_ms;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_ms;
}

static struct replay_store *fake_store(size_t capacity)
{
	return replay_memory_new_clock(capacity, fake_clock, NULL);
}

static enum replay_result claim_at(struct replay_store *s, const char *k, const char *n,
				   int64_t expires, int64_t now)
{
	fake_ms = now * 1000;
	return replay_claim(s, k, n, expires, now);
}

static void test_claim_once(void)
{
	struct replay_store *s = fake_store(100);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(claim_at(s, "k1", "n1", 200, 100), REPLAY_OK);
	CU_ASSERT_EQUAL(claim_at(s, "k1", "n1", 200, 150), REPLAY_SEEN);
	CU_ASSERT_EQUAL(claim_at(s, "k1", "n1", 300, 199), REPLAY_SEEN);
	/* the same nonce under another key, another nonce under the same key */
	CU_ASSERT_EQUAL(claim_at(s, "k2", "n1", 200, 100), REPLAY_OK);
	CU_ASSERT_EQUAL(claim_at(s, "k1", "n2", 200, 100), REPLAY_OK);
	/* the pair is hashed with a separator: "k1"+"n1" differs from "k"+"1n1" */
	CU_ASSERT_EQUAL(claim_at(s, "k", "1n1", 200, 100), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_memory_count(s), 4);
	/* once expired, the signature itself is refused; the pair may be claimed again */
	CU_ASSERT_EQUAL(claim_at(s, "k1", "n1", 400, 200), REPLAY_OK);
	CU_ASSERT_EQUAL(claim_at(s, "k1", "n1", 400, 300), REPLAY_SEEN);
	CU_ASSERT_STRING_EQUAL(replay_result_name(REPLAY_SEEN), "replay");
	replay_destroy(s);
}

static void test_full_never_evicts_unexpired(void)
{
	struct replay_store *s = fake_store(3);
	char nonce[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int i = 0; i < 3; i++) {
		snprintf(nonce, sizeof(nonce), "n%d", i);
		CU_ASSERT_EQUAL(claim_at(s, "k", nonce, 100 + i, 50), REPLAY_OK);
	}
	CU_ASSERT_EQUAL(claim_at(s, "k", "n3", 200, 50), REPLAY_FULL);
	/* the unexpired claims are all still there */
	for (int i = 0; i < 3; i++) {
		snprintf(nonce, sizeof(nonce), "n%d", i);
		CU_ASSERT_EQUAL(claim_at(s, "k", nonce, 100 + i, 99), REPLAY_SEEN);
	}
	/* at 101 the first two have expired: room for two */
	CU_ASSERT_EQUAL(claim_at(s, "k", "n3", 200, 101), REPLAY_OK);
	CU_ASSERT_EQUAL(claim_at(s, "k", "n4", 200, 101), REPLAY_OK);
	CU_ASSERT_EQUAL(claim_at(s, "k", "n5", 200, 101), REPLAY_FULL);
	CU_ASSERT_EQUAL(claim_at(s, "k", "n2", 200, 101), REPLAY_SEEN);
	CU_ASSERT_EQUAL(replay_memory_count(s), 3);
	replay_destroy(s);
	CU_ASSERT_PTR_NULL(replay_memory_new(0));
}

static void test_large_sharded(void)
{
	struct replay_store *s = replay_memory_new(4096);
	char nonce[16];
	int ok = 0, full = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int i = 0; i < 5000; i++) {
		enum replay_result r;

		snprintf(nonce, sizeof(nonce), "%d", i);
		r = replay_claim(s, "k", nonce, 1000, 10);
		ok += r == REPLAY_OK;
		full += r == REPLAY_FULL;
	}
	/* never more than the capacity; shards fill unevenly, so a little less is fine */
	CU_ASSERT(ok <= 4096);
	CU_ASSERT(ok > 3500);
	CU_ASSERT_EQUAL(ok + full, 5000);
	CU_ASSERT_EQUAL(replay_memory_count(s), (size_t)ok);
	replay_destroy(s);
}

struct race {
	struct replay_store *s;
	int ok;
};

static void *race_thread(void *arg)
{
	struct race *r = arg;
	char nonce[16];

	for (int i = 0; i < 20000; i++) {
		snprintf(nonce, sizeof(nonce), "%d", i);
		if (replay_claim(r->s, "k", nonce, 1000, 10) == REPLAY_OK)
			r->ok++;
	}
	return NULL;
}

static void test_threads_claim_each_once(void)
{
	struct replay_store *s = replay_memory_new(1 << 16);
	struct race r[4];
	pthread_t t[4];
	int total = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){s, 0};
		pthread_create(&t[i], NULL, race_thread, &r[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += r[i].ok;
	}
	CU_ASSERT_EQUAL(total, 20000);
	replay_destroy(s);
}

/* The in-process store answers two-step claims at once, stopping at the first refusal. */
static void test_start_finish_memory(void)
{
	struct replay_store *s = replay_memory_new(100);
	struct replay_item items[3] = {{"k", "a", 200, 0}, {"k", "b", 200, 0}, {"k", "c", 200, 0}};
	struct replay_batch b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(replay_claim(s, "k", "b", 200, 100), REPLAY_OK);
	replay_claim_start(s, items, 3, 100, &b);
	CU_ASSERT_PTR_NULL(b.pending);
	CU_ASSERT_EQUAL(replay_claim_finish(s, &b), 1);
	CU_ASSERT_EQUAL(b.res[0], REPLAY_OK);
	CU_ASSERT_EQUAL(b.res[1], REPLAY_SEEN);
	CU_ASSERT_EQUAL(b.res[2], REPLAY_UNAVAILABLE); /* not tried: the request is refused anyway */
	CU_ASSERT_EQUAL(replay_claim(s, "k", "c", 200, 100), REPLAY_OK);
	replay_destroy(s);
}

/* Issue 15 item 3: a wall-clock step forward and back, or back alone, frees no claim that
 * could still be replayed. */
static void test_clock_steps(void)
{
	struct replay_store *s = fake_store(100);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	fake_ms = 1000 * 1000;
	CU_ASSERT_EQUAL(replay_claim(s, "k", "captured", 1060, 1000), REPLAY_OK);
	/* +1000 s on the wall clock, 1 s of real time: a sweep (another claim) frees nothing */
	fake_ms += 1000;
	CU_ASSERT_EQUAL(replay_claim(s, "k", "other", 2060, 2000), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_memory_count(s), 2);
	/* and back: the captured call is within its window again, and still refused */
	fake_ms += 1000;
	CU_ASSERT_EQUAL(replay_claim(s, "k", "captured", 1060, 1002), REPLAY_SEEN);
	/* back 500 s while real time passes the claim's life: kept until the wall clock agrees */
	fake_ms += 200 * 1000;
	CU_ASSERT_EQUAL(replay_claim(s, "k", "other2", 600, 500), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(s, "k", "captured", 1060, 1030), REPLAY_SEEN);
	/* expired on both clocks: the pair may be claimed again (its signature is refused anyway) */
	CU_ASSERT_EQUAL(replay_claim(s, "k", "captured", 1200, 1061), REPLAY_OK);
	replay_destroy(s);
}

/* The wall clock 100 s fast when a call is accepted, then set back: the claim's monotonic
 * span came from the fast clock (expires - now), so it ran out 100 s before the signature did,
 * a sweep under the still-fast clock freed it, and once the clock was set back the captured call
 * was valid again and accepted a second time. replay_item_of holds it for the signature's whole
 * window plus skew on the monotonic clock. */
static void test_fast_wall_set_back(void)
{
	/* true time 1000 at monotonic 0; the signature: created 1000, expires 1300; skew 300 */
	struct replay_item it = replay_item_of("k", "captured", 1000, 1300, 300, 1100);
	struct replay_item other;
	struct replay_store *s = fake_store(100), *old = fake_store(100);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(old);
	CU_ASSERT_EQUAL(it.expires, 1300);      /* the wall clock refuses the signature from then */
	CU_ASSERT_EQUAL(it.hold_s, 300 + 300);  /* expires - created + skew, not expires - now */
	fake_ms = 0;
	CU_ASSERT_EQUAL(replay_claim_item(s, &it, 1100), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(old, "k", "captured", 1300, 1100), REPLAY_OK); /* the old rule */
	/* 200 s later the fast clock reads 1300 (past expires) and another claim sweeps */
	fake_ms = 200 * 1000;
	other = replay_item_of("k", "other", 1300, 1500, 300, 1301);
	CU_ASSERT_EQUAL(replay_claim_item(s, &other, 1301), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(old, "k", "other", 1500, 1301), REPLAY_OK);
	/* the clock is set back 100 s to true time 1200: the signature verifies again */
	it = replay_item_of("k", "captured", 1000, 1300, 300, 1201);
	CU_ASSERT_EQUAL(replay_claim_item(s, &it, 1201), REPLAY_SEEN);
	CU_ASSERT_EQUAL(replay_claim(old, "k", "captured", 1300, 1201), REPLAY_OK); /* was a replay */
	/* and set fast again by 1000 s at true time 1299: still held on the monotonic clock */
	fake_ms = 299 * 1000;
	other = replay_item_of("k", "other2", 2290, 2300, 300, 2299);
	CU_ASSERT_EQUAL(replay_claim_item(s, &other, 2299), REPLAY_OK);
	fake_ms = 299 * 1000 + 1;
	it = replay_item_of("k", "captured", 1000, 1300, 300, 1299);
	CU_ASSERT_EQUAL(replay_claim_item(s, &it, 1299), REPLAY_SEEN);
	/* gone only when both bounds passed: wall 1300 and monotonic 600 s */
	fake_ms = 600 * 1000 - 1;
	CU_ASSERT_EQUAL(replay_claim_item(s, &it, 1300), REPLAY_SEEN);
	fake_ms = 600 * 1000;
	CU_ASSERT_EQUAL(replay_claim_item(s, &it, 1299), REPLAY_SEEN);
	CU_ASSERT_EQUAL(replay_claim_item(s, &it, 1300), REPLAY_OK);
	/* no overflow at the ends of the range */
	it = replay_item_of("k", "x", 1, INT64_MAX, 300, 10);
	CU_ASSERT_EQUAL(it.expires, INT64_MAX);
	CU_ASSERT(it.hold_s > 0);
	CU_ASSERT_EQUAL(replay_claim_item(s, &it, 10), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim_item(s, &it, 11), REPLAY_SEEN);
	replay_destroy(s);
	replay_destroy(old);
}

/* Issue 15 item 2: one key holds a bounded number of live claims; others are not starved. */
static void test_key_limit(void)
{
	struct replay_store *s = fake_store(100);
	char nonce[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	replay_set_key_limit(s, 3);
	for (int i = 0; i < 3; i++) {
		snprintf(nonce, sizeof(nonce), "n%d", i);
		CU_ASSERT_EQUAL(claim_at(s, "flooder", nonce, 200, 100), REPLAY_OK);
	}
	CU_ASSERT_EQUAL(claim_at(s, "flooder", "n3", 200, 100), REPLAY_KEY_FULL);
	CU_ASSERT_EQUAL(claim_at(s, "flooder", "n0", 200, 100), REPLAY_SEEN); /* still claimed */
	CU_ASSERT_EQUAL(claim_at(s, "admin", "n0", 200, 100), REPLAY_OK);
	CU_ASSERT_EQUAL(claim_at(s, "admin", "n1", 200, 100), REPLAY_OK);
	CU_ASSERT_STRING_EQUAL(replay_result_name(REPLAY_KEY_FULL), "key_full");
	/* once the flooder's claims expire it may claim again */
	CU_ASSERT_EQUAL(claim_at(s, "flooder", "n3", 400, 201), REPLAY_OK);
	replay_set_key_limit(s, 0);
	for (int i = 4; i < 20; i++) {
		snprintf(nonce, sizeof(nonce), "n%d", i);
		CU_ASSERT_EQUAL(claim_at(s, "flooder", nonce, 400, 201), REPLAY_OK);
	}
	replay_destroy(s);
}

/* The bound holds for the store as a whole, however its claims spread over shards (a store of
 * 100000 claims has 16): exactly the limit, not a share of it per shard. */
static void test_key_limit_sharded(void)
{
	struct replay_store *s = fake_store(100000);
	char nonce[16];
	int ok = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	replay_set_key_limit(s, 5);
	for (int i = 0; i < 200; i++) {
		snprintf(nonce, sizeof(nonce), "n%d", i);
		ok += claim_at(s, "flooder", nonce, 200, 100) == REPLAY_OK;
	}
	CU_ASSERT_EQUAL(ok, 5);
	snprintf(nonce, sizeof(nonce), "m0");
	CU_ASSERT_EQUAL(claim_at(s, "flooder", nonce, 200, 100), REPLAY_KEY_FULL);
	for (int i = 0; i < 5; i++) {
		snprintf(nonce, sizeof(nonce), "a%d", i);
		CU_ASSERT_EQUAL(claim_at(s, "admin", nonce, 200, 100), REPLAY_OK);
	}
	/* expired, wherever they lie: the key may claim its 5 again at once */
	ok = 0;
	for (int i = 0; i < 5; i++) {
		snprintf(nonce, sizeof(nonce), "later%d", i);
		ok += claim_at(s, "flooder", nonce, 400, 300) == REPLAY_OK;
	}
	CU_ASSERT_EQUAL(ok, 5);
	CU_ASSERT_EQUAL(claim_at(s, "flooder", "later5", 400, 300), REPLAY_KEY_FULL);
	replay_destroy(s);
}

/* Issue 15 item 2: nonces chosen to share one shard under a public hash do not fill a shard
 * (the shard is picked by a keyed hash). 1024 claims in 16 shards of 64: 200 nonces that all
 * fall in shard 0 by SHA-256(keyid NUL nonce) fill only a share of each. */
static void test_shards_not_aimable(void)
{
	struct replay_store *s = replay_memory_new(1024);
	char nonce[32];
	int found = 0, ok = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (unsigned i = 0; found < 200; i++) {
		uint8_t id[32];
		unsigned len = 0;
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		snprintf(nonce, sizeof(nonce), "aim-%u", i);
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		EVP_DigestUpdate(c, "k", 2);
		EVP_DigestUpdate(c, nonce, strlen(nonce));
		EVP_DigestFinal_ex(c, id, &len);
		EVP_MD_CTX_free(c);
		if (id[0] % 16)
			continue;
		found++;
		ok += replay_claim(s, "k", nonce, 1000, 10) == REPLAY_OK;
	}
	CU_ASSERT_EQUAL(ok, 200);
	replay_destroy(s);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"each pair claimed once", test_claim_once},
		{"full store refuses, never evicts unexpired", test_full_never_evicts_unexpired},
		{"large sharded store stays bounded", test_large_sharded},
		{"threads racing claim each pair once", test_threads_claim_each_once},
		{"two-step claims stop at the first refusal", test_start_finish_memory},
		{"wall-clock steps free no live claim", test_clock_steps},
		{"a fast wall clock set back frees no live claim", test_fast_wall_set_back},
		{"live claims bounded per key", test_key_limit},
		{"the bound per key is exact over 16 shards", test_key_limit_sharded},
		{"shards cannot be aimed at", test_shards_not_aimable},
		{NULL, NULL},
	};
	return run_suite("replay", cases);
}
