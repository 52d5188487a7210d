/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway connection guard: a deadline per request against slowloris senders. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <microhttpd.h>

#include "api/gateway_conn.h"

#define REAP_TICK_MS 200
#define CUTS_PER_TICK 64 /* audited one by one; more in one tick are audited as a count */

/* libmicrohttpd's idle timeout restarts with every byte, so a client that trickles a header
 * byte every few seconds would hold its slot for ever. Each connection is tracked from
 * MHD_CONNECTION_NOTIFY_STARTED to _CLOSED; the clock restarts whenever the connection becomes
 * ready for a request (accepted, or its previous request completed) and stops once a request
 * has been received in full. A reaper thread shuts down the socket of any connection past
 * its deadline; libmicrohttpd then sees the end of the stream and closes the connection
 * itself. The CLOSED notification runs before libmicrohttpd closes the descriptor and takes
 * the same lock as the reaper, so the reaper never touches a descriptor already reused. */
struct conn_entry {
	struct conn_entry *prev, *next;
	int fd;
	int64_t ready_ms; /* when the deadline started */
	int received;     /* the current request is in; being answered */
	int seen_uri;     /* its request line arrived */
	int served;       /* at least one request completed on this connection */
	int cut;
	char peer[INET6_ADDRSTRLEN + 8];
};

struct conn_guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct conn_entry head; /* circular list */
	struct gateway *gw;
	unsigned timeout_s;
	int stop;
	int have_thread;
	pthread_t reaper;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void peer_name(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, outlen, "%s:%u", host, port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, outlen, "[%s]:%u", host, port);
	} else {
		snprintf(out, outlen, "unknown peer");
	}
}

struct cut {
	char peer[INET6_ADDRSTRLEN + 8];
	int seen_uri;
};

static void *reaper_main(void *arg)
{
	struct conn_guard *g = arg;
	struct cut cuts[CUTS_PER_TICK];
	char reason[160];

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec until;
		int64_t now = mono_ms(), limit = (int64_t)g->timeout_s * 1000;
		size_t ncut = 0, more = 0;

		for (struct conn_entry *e = g->head.next; e != &g->head; e = e->next) {
			if (e->cut || e->received || now - e->ready_ms < limit)
				continue;
			shutdown(e->fd, SHUT_RDWR);
			e->cut = 1;
			/* An idle keep-alive connection (served, nothing of a next request) simply
			 * ends; every other cut is a client that did not deliver a request. */
			if (e->served && !e->seen_uri)
				continue;
			if (ncut < CUTS_PER_TICK) {
				memcpy(cuts[ncut].peer, e->peer, sizeof(cuts[ncut].peer));
				cuts[ncut++].seen_uri = e->seen_uri;
			} else {
				more++;
			}
		}
		pthread_mutex_unlock(&g->lock);
		for (size_t i = 0; i < ncut; i++) {
			snprintf(reason, sizeof(reason), "no complete request within %u s (%s)",
				 g->timeout_s, cuts[i].seen_uri ? "headers or body unfinished"
								: "no request line");
			gateway_audit(g->gw, "anonymous", "gateway.connection.cut", cuts[i].peer, "deny",
				      reason, 0);
			if (g->gw->cfg.verbose)
				fprintf(stderr, "vmseal-gateway: %s: connection cut: %s\n", cuts[i].peer,
					reason);
		}
		if (more) {
			char what[64];

			snprintf(what, sizeof(what), "%zu more connections", more);
			snprintf(reason, sizeof(reason), "no complete request within %u s", g->timeout_s);
			gateway_audit(g->gw, "anonymous", "gateway.connection.cut", what, "deny", reason, 0);
		}
		pthread_mutex_lock(&g->lock);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += REAP_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (!g->stop)
			pthread_cond_timedwait(&g->wake, &g->lock, &until);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int conn_guard_start(struct gateway *gw, struct vs_error *err)
{
	struct conn_guard *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	if (!g)
		return vs_fail(err, VS_ERR_INTERNAL, "connection guard", "out of memory");
	g->gw = gw;
	g->timeout_s = gw->cfg.request_timeout_s;
	g->head.next = g->head.prev = &g->head;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	gw->conns = g;
	if (g->timeout_s == 0)
		return 0; /* connections are still tracked; nothing is cut */
	if (pthread_create(&g->reaper, NULL, reaper_main, g) != 0)
		return vs_fail(err, VS_ERR_INTERNAL, "connection guard", "cannot start its thread");
	g->have_thread = 1;
	return 0;
}

void conn_guard_stop_reaper(struct gateway *gw)
{
	struct conn_guard *g = gw->conns;

	if (!g || !g->have_thread)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	pthread_cond_signal(&g->wake);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->reaper, NULL);
	g->have_thread = 0;
}

void conn_guard_free(struct gateway *gw)
{
	struct conn_guard *g = gw->conns;

	if (!g)
		return;
	conn_guard_stop_reaper(gw);
	/* The daemon is stopped: every CLOSED notification has run; free what a failed start left. */
	while (g->head.next != &g->head) {
		struct conn_entry *e = g->head.next;

		g->head.next = e->next;
		free(e);
	}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
	gw->conns = NULL;
}

void conn_guard_notify(struct gateway *gw, struct MHD_Connection *conn, void **socket_context,
		       int code)
{
	struct conn_guard *g = gw->conns;
	struct conn_entry *e;

	if (!g)
		return;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(
			conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad = MHD_get_connection_info(
			conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		*socket_context = NULL;
		if (!fd || !(e = calloc(1, sizeof(*e))))
			return; /* untracked: only the idle timeout applies */
		e->fd = fd->connect_fd;
		peer_name(ad ? ad->client_addr : NULL, e->peer, sizeof(e->peer));
		pthread_mutex_lock(&g->lock);
		e->ready_ms = mono_ms();
		e->next = g->head.next;
		e->prev = &g->head;
		g->head.next->prev = e;
		g->head.next = e;
		pthread_mutex_unlock(&g->lock);
		*socket_context = e;
		return;
	}
	e = *socket_context;
	if (!e)
		return;
	pthread_mutex_lock(&g->lock);
	e->prev->next = e->next;
	e->next->prev = e->prev;
	pthread_mutex_unlock(&g->lock);
	free(e);
	*socket_context = NULL;
}

static struct conn_entry *entry_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void conn_guard_event(struct gateway *gw, struct MHD_Connection *conn, enum conn_guard_event ev)
{
	struct conn_guard *g = gw->conns;
	struct conn_entry *e;

	if (!g || !(e = entry_of(conn)))
		return;
	pthread_mutex_lock(&g->lock);
	switch (ev) {
	case CONN_REQUEST_LINE:
		e->seen_uri = 1;
		break;
	case CONN_REQUEST_RECEIVED:
		e->received = 1;
		break;
	case CONN_REQUEST_COMPLETED: /* keep-alive: the next request's clock starts now */
		e->received = 0;
		e->seen_uri = 0;
		e->served = 1;
		e->ready_ms = mono_ms();
		break;
	}
	pthread_mutex_unlock(&g->lock);
}
