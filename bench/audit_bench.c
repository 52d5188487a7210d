/* SPDX-License-Identifier: Apache-2.0 */
/* Audit log append throughput: fsync per event, no fsync, and group commit from threads. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/audit.h"

struct worker {
	struct audit_group *g;
	int n, durable_every;
	double *lat; /* per-event latency, seconds */
	int failures;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const struct audit_event ev = {
	"3fa2c0ffee3fa2c0ffee3fa2c0ffee3fa2c0ffee3fa2c0ffee3fa2c0ffee1234", "http.request",
	"POST /v1/domains/web1/start", "allow", "signature ok, role operator"};

static void *work(void *a)
{
	struct worker *w = a;
	struct vs_error err;

	for (int i = 0; i < w->n; i++) {
		double t0 = now();

		w->failures += audit_group_append(w->g, &ev, w->durable_every && i % w->durable_every == 0, &err) < 0;
		w->lat[i] = now() - t0;
	}
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int open_fresh(const char *path, struct audit_log **log)
{
	struct vs_error err;

	unlink(path);
	if (audit_open(path, log, &err) < 0) {
		fprintf(stderr, "audit_bench: %s: %s\n", err.object, err.reason);
		return -1;
	}
	return 0;
}

static int single(const char *path, const char *name, int durable, int n)
{
	struct audit_log *log;
	struct vs_error err;
	double t0;

	if (open_fresh(path, &log) < 0)
		return -1;
	t0 = now();
	for (int i = 0; i < n; i++)
		if (audit_append_seq(log, &ev, durable, NULL, &err) < 0)
			return -1;
	printf("| %s | 1 | %d | %.0f | %d |\n", name, n, n / (now() - t0), durable ? n : 0);
	audit_close(log);
	return 0;
}

static double last_rate; /* of the last group() run */

static int group(const char *path, const char *name, int threads, int per, int durable_every)
{
	struct audit_log *log;
	struct audit_group *g;
	struct vs_error err;
	pthread_t th[64];
	struct worker w[64];
	double t0, el, *all = malloc(sizeof(double) * (size_t)threads * (size_t)per);
	uint64_t syncs;
	int fails = 0;

	if (threads > 64 || open_fresh(path, &log) < 0 || audit_group_start(log, &g, &err) < 0)
		return -1;
	t0 = now();
	for (int i = 0; i < threads; i++) {
		w[i] = (struct worker){g, per, durable_every, all + (size_t)i * (size_t)per, 0};
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		fails += w[i].failures;
	}
	el = now() - t0;
	syncs = audit_group_syncs(g);
	audit_group_stop(g);
	audit_close(log);
	qsort(all, (size_t)threads * (size_t)per, sizeof(double), cmp);
	last_rate = threads * per / el;
	printf("| %s | %d | %d | %.0f | %" PRIu64 " (p99 append %.2f ms) |\n", name, threads,
	       threads * per, last_rate, syncs, all[(size_t)(threads * per * 0.99)] * 1e3);
	free(all);
	return fails ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "audit-bench.log";
	const char *shm = argc > 2 ? argv[2] : NULL; /* a path on tmpfs: fdatasync costs nothing */
	double disk16;
	int rc = 0;

	printf("| mode | threads | events | events/s | fsyncs |\n|---|---|---|---|---|\n");
	rc |= single(path, "fsync per event (audit_append)", 1, 500);
	rc |= single(path, "no fsync (audit_append_nosync)", 0, 50000);
	rc |= group(path, "group commit, every event durable", 32, 200, 1);
	rc |= group(path, "group commit, 1 in 10 durable", 32, 1000, 10);
	rc |= group(path, "group commit, none durable (10 ms timer)", 4, 20000, 0);
	rc |= group(path, "group commit, every event durable, 16 threads", 16, 400, 1);
	disk16 = last_rate;
	if (shm) {
		rc |= group(shm, "the same on tmpfs (fdatasync free)", 16, 400, 1);
		printf("\nDurable on disk / on tmpfs, 16 threads: %.2f\n", last_rate > 0 ? disk16 / last_rate : 0);
	}
	unlink(path);
	return rc ? 2 : 0;
}
