/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/replay.c: claims, replays, expiry, bounded capacity, threads. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/replay.h"

static void test_claim_once(void)
{
	struct replay_store *s = replay_memory_new(100);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(replay_claim(s, "k1", "n1", 200, 100), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(s, "k1", "n1", 200, 150), REPLAY_SEEN);
	CU_ASSERT_EQUAL(replay_claim(s, "k1", "n1", 300, 199), REPLAY_SEEN);
	/* the same nonce under another key, another nonce under the same key */
	CU_ASSERT_EQUAL(replay_claim(s, "k2", "n1", 200, 100), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(s, "k1", "n2", 200, 100), REPLAY_OK);
	/* the pair is hashed with a separator: "k1"+"n1" differs from "k"+"1n1" */
	CU_ASSERT_EQUAL(replay_claim(s, "k", "1n1", 200, 100), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_memory_count(s), 4);
	/* once expired, the signature itself is refused; the pair may be claimed again */
	CU_ASSERT_EQUAL(replay_claim(s, "k1", "n1", 400, 200), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(s, "k1", "n1", 400, 300), REPLAY_SEEN);
	CU_ASSERT_STRING_EQUAL(replay_result_name(REPLAY_SEEN), "replay");
	replay_destroy(s);
}

static void test_full_never_evicts_unexpired(void)
{
	struct replay_store *s = replay_memory_new(3);
	char nonce[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int i = 0; i < 3; i++) {
		snprintf(nonce, sizeof(nonce), "n%d", i);
		CU_ASSERT_EQUAL(replay_claim(s, "k", nonce, 100 + i, 50), REPLAY_OK);
	}
	CU_ASSERT_EQUAL(replay_claim(s, "k", "n3", 200, 50), REPLAY_FULL);
	/* the unexpired claims are all still there */
	for (int i = 0; i < 3; i++) {
		snprintf(nonce, sizeof(nonce), "n%d", i);
		CU_ASSERT_EQUAL(replay_claim(s, "k", nonce, 100 + i, 99), REPLAY_SEEN);
	}
	/* at 101 the first two have expired: room for two */
	CU_ASSERT_EQUAL(replay_claim(s, "k", "n3", 200, 101), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(s, "k", "n4", 200, 101), REPLAY_OK);
	CU_ASSERT_EQUAL(replay_claim(s, "k", "n5", 200, 101), REPLAY_FULL);
	CU_ASSERT_EQUAL(replay_claim(s, "k", "n2", 200, 101), REPLAY_SEEN);
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
	struct replay_item items[3] = {{"k", "a", 200}, {"k", "b", 200}, {"k", "c", 200}};
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

int main(void)
{
	static const struct test_case cases[] = {
		{"each pair claimed once", test_claim_once},
		{"full store refuses, never evicts unexpired", test_full_never_evicts_unexpired},
		{"large sharded store stays bounded", test_large_sharded},
		{"threads racing claim each pair once", test_threads_claim_each_once},
		{"two-step claims stop at the first refusal", test_start_finish_memory},
		{NULL, NULL},
	};
	return run_suite("replay", cases);
}
