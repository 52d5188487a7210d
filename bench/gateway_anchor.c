/* SPDX-License-Identifier: Apache-2.0 */
/* The anchor for bench/gateway.sh: a bare libmicrohttpd server with the gateway's TLS and
 * thread settings that does only the crypto of a signed call (one Ed25519 verify of a
 * request-sized signature base, one Ed25519 sign of a response-sized one) and answers a small
 * JSON body with the signature in a header. What a gateway on this library reaches at best
 * with signed calls and signed answers; the gateway's rate is compared to it in the same run.
 *
 * usage: gateway_anchor TLS_CERT TLS_KEY THREADS   (prints "port N", runs until killed)
 *        gateway_anchor --crypto N                 (CPU µs of one verify + one sign, N pairs) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <openssl/evp.h>

static EVP_PKEY *key;
static unsigned char req_base[420], req_sig[64], resp_base[300];

static int verify_and_sign(unsigned char sig[64])
{
	EVP_MD_CTX *v = EVP_MD_CTX_new(), *s = EVP_MD_CTX_new();
	size_t n = 64;
	int ok = v && s && EVP_DigestVerifyInit(v, NULL, NULL, NULL, key) == 1 &&
		 EVP_DigestVerify(v, req_sig, 64, req_base, sizeof(req_base)) == 1 &&
		 EVP_DigestSignInit(s, NULL, NULL, NULL, key) == 1 &&
		 EVP_DigestSign(s, sig, &n, resp_base, sizeof(resp_base)) == 1;

	EVP_MD_CTX_free(v);
	EVP_MD_CTX_free(s);
	return ok ? 0 : -1;
}

/* A key, and a request-sized signature base signed with it. */
static int setup(void)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_MD_CTX *s = EVP_MD_CTX_new();
	size_t n = 64;
	int ok;

	memset(req_base, 'q', sizeof(req_base));
	memset(resp_base, 'r', sizeof(resp_base));
	ok = kc && s && EVP_PKEY_keygen_init(kc) == 1 && EVP_PKEY_keygen(kc, &key) == 1 &&
	     EVP_DigestSignInit(s, NULL, NULL, NULL, key) == 1 &&
	     EVP_DigestSign(s, req_sig, &n, req_base, sizeof(req_base)) == 1;
	EVP_MD_CTX_free(s);
	EVP_PKEY_CTX_free(kc);
	return ok ? 0 : -1;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	static int started;
	static const char body[] = "{\"domains\":[{\"name\":\"test\",\"state\":\"running\"}]}";
	unsigned char sig[64];
	char hex[129];
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls, (void)url, (void)method, (void)version, (void)upload_data;
	if (!*con_cls) { /* keep-alive: answer on the second call */
		*con_cls = &started;
		return MHD_YES;
	}
	*upload_data_size = 0;
	if (verify_and_sign(sig) < 0)
		return MHD_NO;
	for (int i = 0; i < 64; i++)
		sprintf(hex + 2 * i, "%02x", sig[i]);
	r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Signature", hex);
	ret = MHD_queue_response(conn, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	if (!f || !buf)
		exit(2);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	sigset_t set;
	int sig;

	if (argc == 3 && !strcmp(argv[1], "--crypto")) {
		int pairs = atoi(argv[2]) > 0 ? atoi(argv[2]) : 1000;
		struct timespec t0, t1;
		unsigned char out[64];

		if (setup() < 0)
			return 2;
		/* CPU time, not wall time: what one call's crypto costs whatever else runs. */
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		for (int i = 0; i < pairs; i++)
			if (verify_and_sign(out) < 0)
				return 2;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		printf("pairs=%d cpu_us=%.1f\n", pairs,
		       ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / pairs);
		return 0;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: gateway_anchor TLS_CERT TLS_KEY THREADS\n");
		return 2;
	}
	if (setup() < 0)
		return 2;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* The gateway's settings (api/gateway_http.c): TLS 1.3, a thread pool, epoll. */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_AUTO, 0, NULL, NULL,
			     on_access, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_HTTPS_MEM_KEY, slurp(argv[2]),
			     MHD_OPTION_HTTPS_MEM_CERT, slurp(argv[1]), MHD_OPTION_HTTPS_PRIORITIES,
			     "NORMAL:-VERS-ALL:+VERS-TLS1.3", MHD_OPTION_THREAD_POOL_SIZE,
			     (unsigned)atoi(argv[3]), MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			     (size_t)(64 << 10), MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!d)
		return 2;
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("port %u\n", di ? di->port : 0);
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
