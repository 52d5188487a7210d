/* SPDX-License-Identifier: Apache-2.0 */
/* Driver for bench/keys.sh: key_sign in a loop (file or pkcs11 key), POST /v1/sign through
 * the gateway from N client threads (lib/gwclient: request signed, answer verified), and the
 * latency of fdatasync after a small append (what one durable audit event waits for). */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/gwclient.h"
#include "lib/key.h"
#include "lib/util.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A DSSE PAE of a typical statement is about this long. */
static uint8_t msg[420];

static int bench_sign(const char *spec, const char *passfile, double seconds)
{
	struct vs_error err = {0};
	struct vs_key *k = NULL;
	double t0, t;
	unsigned long n = 0;

	if (key_load_private(spec, passfile, &k, &err) < 0) {
		vs_error_print("keys_bench", &err);
		return 2;
	}
	memset(msg, 'x', sizeof(msg));
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++) {
			uint8_t *sig = NULL;
			size_t siglen = 0;

			msg[n % sizeof(msg)]++;
			if (key_sign(k, NULL, msg, sizeof(msg), &sig, &siglen, &err) < 0) {
				vs_error_print("keys_bench", &err);
				key_free(k);
				return 2;
			}
			free(sig);
			n++;
		}
		t = now_s() - t0;
	} while (t < seconds);
	printf("alg=%s source=%s signs=%lu seconds=%.2f rate=%.0f\n", key_alg_name(key_alg(k)),
	       key_source(k), n, t, n / t);
	key_free(k);
	return 0;
}

struct remote {
	struct gwclient_opts o;
	struct vs_key *admin;
	double seconds;
	atomic_ulong ok, bad;
};

static void *remote_thread(void *arg)
{
	static const char body[] =
		"{\"digest\":\"3fa2c1d0e4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff\","
		"\"size\":2147483648,\"template\":\"debian-12\",\"version\":3,\"expires\":\"365d\"}";
	struct remote *r = arg;
	struct gwclient *c = NULL;
	struct vs_error err = {0};
	double t0 = now_s();

	if (gwclient_new(&r->o, &c, &err) < 0) {
		vs_error_print("keys_bench", &err);
		atomic_fetch_add(&r->bad, 1);
		return NULL;
	}
	while (now_s() - t0 < r->seconds) {
		struct gwclient_response resp;
		const struct vs_key *keys[1] = {r->admin};

		if (gwclient_call(c, keys, 1, "POST", "/v1/sign", body, sizeof(body) - 1, &resp, &err) < 0 ||
		    resp.status != 200) {
			if (atomic_fetch_add(&r->bad, 1) == 0)
				fprintf(stderr, "keys_bench: %s: %s (HTTP %ld)\n", err.object, err.reason, resp.status);
		} else {
			atomic_fetch_add(&r->ok, 1);
		}
		gwclient_response_free(&resp);
	}
	gwclient_free(c);
	return NULL;
}

static int bench_remote(const char *url, const char *adminkey, const char *cacert, const char *gwpub,
			int threads, double seconds)
{
	struct remote r = {.o = {.url = url, .cacert = cacert}, .seconds = seconds};
	struct vs_key *gw = NULL;
	struct vs_error err = {0};
	pthread_t th[64];
	double t0, t;

	if (key_load_private(adminkey, NULL, &r.admin, &err) < 0 || key_load_public(gwpub, &gw, &err) < 0) {
		vs_error_print("keys_bench", &err);
		return 2;
	}
	r.o.gateway_key = gw;
	t0 = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, remote_thread, &r);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t = now_s() - t0;
	printf("threads=%d ok=%lu errors=%lu seconds=%.2f rate=%.0f\n", threads, atomic_load(&r.ok),
	       atomic_load(&r.bad), t, atomic_load(&r.ok) / t);
	key_free(r.admin);
	key_free(gw);
	return atomic_load(&r.bad) ? 1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* n appends of an audit-sized line to a fresh file at path, each followed by fdatasync. */
static int bench_fsync(const char *path, int n)
{
	char line[400];
	double *lat = calloc((size_t)n, sizeof(double)), sum = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0 || !lat) {
		perror(path);
		return 2;
	}
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (int i = 0; i < n; i++) {
		double t0;

		if (write(fd, line, sizeof(line)) != (ssize_t)sizeof(line))
			return 2;
		t0 = now_s();
		if (fdatasync(fd) < 0)
			return 2;
		lat[i] = now_s() - t0;
		sum += lat[i];
	}
	close(fd);
	unlink(path);
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("n=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f mean_ms=%.3f\n", n, lat[n / 2] * 1e3,
	       lat[n * 9 / 10] * 1e3, lat[n * 99 / 100] * 1e3, sum / n * 1e3);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "fsync"))
		return bench_fsync(argv[2], atoi(argv[3]) > 0 ? atoi(argv[3]) : 100);
	if (argc == 5 && !strcmp(argv[1], "sign"))
		return bench_sign(argv[2], strcmp(argv[3], "-") ? argv[3] : NULL, atof(argv[4]));
	if (argc == 8 && !strcmp(argv[1], "remote")) {
		int threads = atoi(argv[6]);

		if (threads < 1 || threads > 64)
			return 2;
		return bench_remote(argv[2], argv[3], argv[4], argv[5], threads, atof(argv[7]));
	}
	fprintf(stderr, "usage: keys_bench sign KEY PASSFILE|- SECONDS\n"
			"       keys_bench remote URL ADMINKEY CACERT GATEWAY_PUB THREADS SECONDS\n"
			"       keys_bench fsync PATH COUNT\n");
	return 2;
}
