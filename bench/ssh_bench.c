/* SPDX-License-Identifier: Apache-2.0 */
/* Driver for bench/ssh.sh: POST /v1/ssh/certs from N client threads (lib/gwclient: request
 * signed, answer verified), each certificate parsed and its CA signature checked. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "lib/gwclient.h"
#include "lib/sshcert.h"
#include "lib/util.h"

struct run {
	struct gwclient_opts o;
	struct vs_key *admin;
	char *body;
	double seconds;
	atomic_ulong ok, bad;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* 1 when the answer holds a certificate that parses and verifies. */
static int good_cert(const struct gwclient_response *resp)
{
	json_t *j = json_loadb(resp->body, resp->body_len, 0, NULL);
	const char *line = json_string_value(json_object_get(j, "certificate"));
	struct sshcert c;
	int ok = line && sshcert_parse_line(line, strlen(line), "cert", &c, NULL) == 0;

	if (ok)
		sshcert_clear(&c);
	json_decref(j);
	return ok;
}

static void *client(void *arg)
{
	struct run *r = arg;
	struct gwclient *c = NULL;
	struct vs_error err = {0};
	double t0 = now_s();

	if (gwclient_new(&r->o, &c, &err) < 0) {
		vs_error_print("ssh_bench", &err);
		atomic_fetch_add(&r->bad, 1);
		return NULL;
	}
	while (now_s() - t0 < r->seconds) {
		struct gwclient_response resp = {0};
		const struct vs_key *keys[1] = {r->admin};

		if (gwclient_call(c, keys, 1, "POST", "/v1/ssh/certs", r->body, strlen(r->body), &resp,
				  &err) < 0 || resp.status != 200 || !good_cert(&resp)) {
			if (atomic_fetch_add(&r->bad, 1) == 0)
				fprintf(stderr, "ssh_bench: %s: %s (HTTP %ld) %.200s\n", err.object,
					err.reason, resp.status, resp.body ? resp.body : "");
		} else {
			atomic_fetch_add(&r->ok, 1);
		}
		gwclient_response_free(&resp);
	}
	gwclient_free(c);
	return NULL;
}

int main(int argc, char **argv)
{
	struct run r = {0};
	struct vs_key *gw = NULL;
	struct vs_error err = {0};
	pthread_t th[64];
	char *line = NULL;
	size_t len = 0;
	json_t *body;
	int threads;
	double t0, t;

	if (argc != 8 || (threads = atoi(argv[6])) < 1 || threads > 64) {
		fprintf(stderr, "usage: ssh_bench URL ADMINKEY CACERT GATEWAY_PUB SSHKEY.pub THREADS SECONDS\n");
		return 2;
	}
	r.o = (struct gwclient_opts){.url = argv[1], .cacert = argv[3]};
	r.seconds = atof(argv[7]);
	if (key_load_private(argv[2], NULL, &r.admin, &err) < 0 || key_load_public(argv[4], &gw, &err) < 0 ||
	    file_read_all(argv[5], 64 << 10, &line, &len, &err) < 0) {
		vs_error_print("ssh_bench", &err);
		return 2;
	}
	line[strcspn(line, "\n")] = '\0';
	body = json_pack("{s:s, s:[s], s:i}", "ssh_public_key", line, "principals", "admin",
			 "validity_s", 600);
	r.body = json_dumps(body, JSON_COMPACT);
	r.o.gateway_key = gw;
	t0 = now_s();
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, client, &r);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t = now_s() - t0;
	printf("threads=%d ok=%lu errors=%lu seconds=%.2f rate=%.0f\n", threads, atomic_load(&r.ok),
	       atomic_load(&r.bad), t, atomic_load(&r.ok) / t);
	json_decref(body);
	free(r.body);
	free(line);
	key_free(r.admin);
	key_free(gw);
	return atomic_load(&r.bad) ? 1 : 0;
}
