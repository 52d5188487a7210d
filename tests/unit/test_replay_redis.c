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

#include "common_cunit.h"
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

int main(void)
{
	static const struct test_case cases[] = {
		{"claim once, shared between stores", test_claim_once},
		{"claims expire after their signature", test_claim_expires},
		{"Redis down fails closed, recovers", test_down_fails_closed_then_recovers},
		{"malformed URLs refused", test_bad_urls},
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
