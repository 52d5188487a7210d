/* SPDX-License-Identifier: Apache-2.0 */
/* Load generator for bench/gateway.sh: pre-signs requests (each with its own nonce), then sends
 * them over TLS 1.3 keep-alive connections, at full speed or at a fixed rate, and reports the
 * rate and latency percentiles. Latency at a fixed rate counts from the scheduled send time, so
 * a stall delays the following requests' clocks too (no coordinated omission). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/gwwire.h"
#include "lib/httpsig.h"
#include "lib/key.h"
#include "lib/util.h"

struct shared {
	const char *host;
	int port;
	char **reqs;
	size_t *reqlen;
	size_t nreqs;
	atomic_size_t next;
	SSL_CTX *ctx;
	int conns;
	double rate;    /* requests/s over all connections; 0: as fast as possible */
	double seconds;
	double t0;
	atomic_size_t errors;
};

struct worker {
	struct shared *sh;
	int id;
	double *lat; /* seconds */
	size_t nlat, cap;
	pthread_t th;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static SSL *connect_tls(struct shared *sh)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sh->port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	SSL *ssl;

	if (fd < 0 || inet_pton(AF_INET, sh->host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ssl = SSL_new(sh->ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	return ssl;
}

static void close_tls(SSL *ssl)
{
	int fd = SSL_get_fd(ssl);

	SSL_free(ssl);
	close(fd);
}

/* Reads one response; returns its status or -1. */
static int read_response(SSL *ssl, char *buf, size_t cap)
{
	size_t have = 0;
	char *end = NULL, *cl;
	long body, status;

	for (;;) {
		int n = SSL_read(ssl, buf + have, (int)(cap - 1 - have));

		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (have >= cap - 1)
			return -1;
	}
	status = strtol(buf + 9, NULL, 10);
	cl = strcasestr(buf, "\r\nContent-Length:");
	body = cl ? strtol(cl + 17, NULL, 10) : 0;
	{
		size_t got = have - (size_t)(end + 4 - buf);

		while ((long)got < body) {
			int n = SSL_read(ssl, buf, (int)(cap - 1));

			if (n <= 0)
				return -1;
			got += (size_t)n;
		}
	}
	return (int)status;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	char buf[65536];
	SSL *ssl = connect_tls(sh);
	double interval = sh->rate > 0 ? sh->conns / sh->rate : 0;
	double sched = sh->t0 + (interval > 0 ? interval * w->id / sh->conns : 0);

	if (!ssl) {
		atomic_fetch_add(&sh->errors, 1);
		return NULL;
	}
	for (;;) {
		size_t i;
		double start, t;
		int st;

		if (interval > 0) {
			t = now_s();
			if (sched > t) {
				struct timespec ts = {(time_t)(sched - t),
						      (long)((sched - t - (time_t)(sched - t)) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
		start = interval > 0 ? sched : now_s();
		if (start - sh->t0 >= sh->seconds)
			break;
		i = atomic_fetch_add(&sh->next, 1);
		if (i >= sh->nreqs)
			break;
		if (SSL_write(ssl, sh->reqs[i], (int)sh->reqlen[i]) <= 0 ||
		    (st = read_response(ssl, buf, sizeof(buf))) < 0) {
			atomic_fetch_add(&sh->errors, 1);
			close_tls(ssl);
			ssl = connect_tls(sh);
			if (!ssl)
				break;
			continue;
		}
		if (st != 200)
			atomic_fetch_add(&sh->errors, 1);
		if (w->nlat == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 4096;
			w->lat = realloc(w->lat, w->cap * sizeof(double));
			if (!w->lat)
				abort();
		}
		t = now_s();
		w->lat[w->nlat++] = t - start;
		sched += interval;
	}
	if (ssl)
		close_tls(ssl);
	return NULL;
}

/* User + system seconds in ru. */
static double cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
	       ru->ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"port", required_argument, NULL, 'p'},   {"key", required_argument, NULL, 'k'},
		{"path", required_argument, NULL, 'P'},   {"conns", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 's'}, {"rate", required_argument, NULL, 'r'},
		{"count", required_argument, NULL, 'n'},  {NULL, 0, NULL, 0},
	};
	struct shared sh = {.host = "127.0.0.1", .conns = 32, .seconds = 5};
	const char *keyfile = NULL, *path = "/v1/domains";
	size_t count = 0, total = 0;
	struct vs_key *key = NULL;
	struct vs_error err = {0};
	struct worker *w;
	char authority[64];
	double elapsed, *all;
	struct rusage ru0, ru1;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': sh.port = atoi(optarg); break;
		case 'k': keyfile = optarg; break;
		case 'P': path = optarg; break;
		case 'c': sh.conns = atoi(optarg); break;
		case 's': sh.seconds = atof(optarg); break;
		case 'r': sh.rate = atof(optarg); break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: gateway_load --port P [--key KEY] [--path P] [--conns N] "
					"[--seconds S] [--rate R] [--count N]\n");
			return 2;
		}
	}
	if (!sh.port || sh.conns < 1) {
		fprintf(stderr, "gateway_load: --port needed\n");
		return 2;
	}
	if (keyfile && key_load_private(keyfile, NULL, &key, &err) < 0) {
		vs_error_print("gateway_load", &err);
		return 2;
	}
	if (!count)
		count = (size_t)((sh.rate > 0 ? sh.rate : 30000) * sh.seconds * 1.1) + 1000;
	snprintf(authority, sizeof(authority), "%s:%d", sh.host, sh.port);
	sh.reqs = calloc(count, sizeof(char *));
	sh.reqlen = calloc(count, sizeof(size_t));
	if (!sh.reqs || !sh.reqlen)
		return 2;
	/* Sign everything up front: the client's own signing must not count. */
	for (size_t i = 0; i < count; i++) {
		char *si = NULL, *sg = NULL, req[2048];
		struct http_field_list none = {NULL, 0};
		struct http_msg m = {.method = "GET", .scheme = "https", .authority = authority,
				     .path = path, .fields = http_field_list_get, .fields_ctx = &none};
		struct gwwire_call_params p = {.now = vs_now(), .expires_in = 300};
		const struct vs_key *keys[1] = {key};
		int n;

		if (key) {
			if (gwwire_sign_call(&m, keys, 1, &p, &si, &sg, &err) < 0) {
				vs_error_print("gateway_load", &err);
				return 2;
			}
			n = snprintf(req, sizeof(req),
				     "GET %s HTTP/1.1\r\nHost: %s\r\nSignature-Input: %s\r\n"
				     "Signature: %s\r\n\r\n", path, authority, si, sg);
		} else {
			n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path,
				     authority);
		}
		free(si);
		free(sg);
		sh.reqs[i] = strndup(req, (size_t)n);
		sh.reqlen[i] = (size_t)n;
	}
	sh.nreqs = count;
	sh.ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(sh.ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(sh.ctx, SSL_VERIFY_NONE, NULL);
	/* Read whatever has arrived in one syscall (as wrk does), not each TLS record header and
	 * body apart: the client shares the cores with the server it measures. */
	SSL_CTX_set_read_ahead(sh.ctx, 1);
	w = calloc((size_t)sh.conns, sizeof(*w));
	getrusage(RUSAGE_SELF, &ru0);
	sh.t0 = now_s() + 0.05;
	for (int i = 0; i < sh.conns; i++) {
		w[i] = (struct worker){.sh = &sh, .id = i};
		pthread_create(&w[i].th, NULL, work, &w[i]);
	}
	for (int i = 0; i < sh.conns; i++) {
		pthread_join(w[i].th, NULL);
		total += w[i].nlat;
	}
	elapsed = now_s() - sh.t0;
	getrusage(RUSAGE_SELF, &ru1);
	if (elapsed > sh.seconds + 1)
		elapsed = sh.seconds; /* the last responses drain after the deadline */
	all = malloc((total ? total : 1) * sizeof(double));
	total = 0;
	for (int i = 0; i < sh.conns; i++) {
		memcpy(all + total, w[i].lat, w[i].nlat * sizeof(double));
		total += w[i].nlat;
		free(w[i].lat);
	}
	qsort(all, total, sizeof(double), cmp_double);
	/* one line, key=value, for the script */
	printf("requests=%zu errors=%zu rate=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f client_cpu_us=%.0f%s\n",
	       total,
	       (size_t)atomic_load(&sh.errors), total / (elapsed < sh.seconds ? elapsed : sh.seconds),
	       total ? all[total / 2] * 1e3 : 0, total ? all[(size_t)(total * 0.99)] * 1e3 : 0,
	       total ? all[total - 1] * 1e3 : 0, total ? (cpu_s(&ru1) - cpu_s(&ru0)) * 1e6 / total : 0,
	       sh.next >= sh.nreqs ? " (ran out of pre-signed requests)" : "");
	free(all);
	return 0;
}
