/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway connection guard: a deadline per request against slowloris senders, and the
 * acceptor that hands new connections to libmicrohttpd's workers in turn. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "api/gateway_conn.h"
#include "lib/denyagg.h"

#define REAP_TICK_MS 200
#define CUTS_PER_TICK 64 /* said one by one with --verbose; more in one tick as a count */

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
	char host[INET6_ADDRSTRLEN]; /* the peer's address alone: cuts are counted per address */
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
	/* The acceptor (see conn_accept_start). */
	int listen_fd;
	int stop_pipe[2];   /* written once to stop the acceptor */
	unsigned live;      /* connections handed to libmicrohttpd and not closed yet */
	unsigned limit;     /* --max-connections */
	pthread_cond_t slot; /* a connection closed: the acceptor may take one more */
	int accept_stop;
	int have_acceptor;
	pthread_t acceptor;
	struct MHD_Daemon *daemon;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void peer_name(const struct sockaddr *sa, char *out, size_t outlen, char host[INET6_ADDRSTRLEN])
{
	unsigned port = 0;

	snprintf(host, INET6_ADDRSTRLEN, "unknown");
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, INET6_ADDRSTRLEN);
		port = ntohs(in->sin_port);
		snprintf(out, outlen, "%s:%u", host, port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, INET6_ADDRSTRLEN);
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
			/* Counted, per client address and reason: one audit event per interval
			 * (gateway_http.c deny_log), however many connections a client opens. */
			denyagg_note(g->gw->denials, e->host,
				     e->seen_uri ? DENYAGG_CUT_UNFINISHED : DENYAGG_CUT_NO_REQUEST, NULL);
			if (!g->gw->cfg.verbose)
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
			fprintf(stderr, "vmseal-gateway: %s: connection cut: %s\n", cuts[i].peer, reason);
		}
		if (more)
			fprintf(stderr, "vmseal-gateway: %zu more connections cut: no complete request within %u s\n",
				more, g->timeout_s);
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
	g->listen_fd = g->stop_pipe[0] = g->stop_pipe[1] = -1;
	g->limit = gw->cfg.max_connections;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->slot, NULL);
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
	conn_accept_stop(gw);
	/* The daemon is stopped: every CLOSED notification has run; free what a failed start left. */
	while (g->head.next != &g->head) {
		struct conn_entry *e = g->head.next;

		g->head.next = e->next;
		free(e);
	}
	if (g->listen_fd >= 0)
		close(g->listen_fd);
	for (int i = 0; i < 2; i++)
		if (g->stop_pipe[i] >= 0)
			close(g->stop_pipe[i]);
	pthread_cond_destroy(&g->slot);
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
	gw->conns = NULL;
}

/* ---- the acceptor ---- */

/*
 * libmicrohttpd's thread pool shares one listen socket among its workers, and a worker that
 * wakes for it accepts up to eleven connections in a row. A burst of keep-alive clients (16
 * connecting at once) thus lands mostly on one worker, which serves them for as long as they
 * stay while the other workers idle: measured 14 of 16 connections on one of two workers, that
 * worker saturated at half the gateway's rate and the p99 latency at 100 ms and more. Here one
 * thread accepts and gives each connection to MHD_add_connection, which picks the worker by the
 * descriptor's number modulo the pool size: connections accepted in a row alternate between
 * the workers, and a descriptor freed by a closed connection goes back to the same worker.
 * Past --max-connections the acceptor stops accepting, so new connections wait in the listen
 * backlog until one closes (as libmicrohttpd itself did).
 */
int conn_accept_listen(struct gateway *gw, const struct sockaddr_storage *ss, unsigned *port,
		       struct vs_error *err)
{
	struct conn_guard *g = gw->conns;
	struct sockaddr_storage bound;
	socklen_t len = ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						   : sizeof(struct sockaddr_in);
	int fd, one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_fail(err, VS_ERR_IO, gw->cfg.listen, "cannot create a socket: %s",
			       strerror(errno));
	/* As libmicrohttpd's own listen socket: address reuse, and IPv6 only on an IPv6 address. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    pipe2(g->stop_pipe, O_CLOEXEC) < 0) {
		int saved = errno;

		close(fd);
		return vs_fail(err, VS_ERR_IO, gw->cfg.listen, "cannot listen: %s", strerror(saved));
	}
	len = sizeof(bound);
	*port = 0;
	if (getsockname(fd, (struct sockaddr *)&bound, &len) == 0)
		*port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
							  : ((struct sockaddr_in *)&bound)->sin_port);
	g->listen_fd = fd;
	return 0;
}

static void *acceptor_main(void *arg)
{
	struct conn_guard *g = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = g->listen_fd, .events = POLLIN},
				      {.fd = g->stop_pipe[0], .events = POLLIN}};
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int fd;

		pthread_mutex_lock(&g->lock);
		while (!g->accept_stop && g->live >= g->limit)
			pthread_cond_wait(&g->slot, &g->lock);
		if (g->accept_stop) {
			pthread_mutex_unlock(&g->lock);
			break;
		}
		pthread_mutex_unlock(&g->lock);
		if (poll(p, 2, -1) < 0) {
			if (errno != EINTR)
				poll(NULL, 0, 10); /* out of memory: again in a moment, not a spin */
			continue;
		}
		if (p[1].revents)
			continue; /* stopping: seen at the top */
		if (!(p[0].revents & POLLIN)) {
			if (p[0].revents)
				poll(NULL, 0, 10); /* an error on the listen socket: not a spin */
			continue;
		}
		fd = accept4(g->listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of descriptors or memory: retry in a moment rather than spin. */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				poll(NULL, 0, 10);
			continue;
		}
		pthread_mutex_lock(&g->lock);
		g->live++;
		pthread_mutex_unlock(&g->lock);
		/* It closes fd when it refuses. A connection libmicrohttpd drops before it starts
		 * (no memory for its pool) keeps its slot: fewer connections, never more. */
		if (MHD_add_connection(g->daemon, fd, (struct sockaddr *)&sa, len) != MHD_YES) {
			pthread_mutex_lock(&g->lock);
			g->live--;
			pthread_mutex_unlock(&g->lock);
		}
	}
	return NULL;
}

int conn_accept_start(struct gateway *gw, struct MHD_Daemon *daemon, struct vs_error *err)
{
	struct conn_guard *g = gw->conns;

	g->daemon = daemon;
	if (pthread_create(&g->acceptor, NULL, acceptor_main, g) != 0)
		return vs_fail(err, VS_ERR_INTERNAL, "connection acceptor", "cannot start its thread");
	g->have_acceptor = 1;
	return 0;
}

void conn_accept_stop(struct gateway *gw)
{
	struct conn_guard *g = gw->conns;

	if (!g || !g->have_acceptor)
		return;
	pthread_mutex_lock(&g->lock);
	g->accept_stop = 1;
	pthread_cond_signal(&g->slot);
	pthread_mutex_unlock(&g->lock);
	if (write(g->stop_pipe[1], "x", 1) < 0) {
		/* a pipe with room for 64 KiB: cannot fail here */
	}
	pthread_join(g->acceptor, NULL);
	g->have_acceptor = 0;
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
		peer_name(ad ? ad->client_addr : NULL, e->peer, sizeof(e->peer), e->host);
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
	if (code != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	e = *socket_context;
	pthread_mutex_lock(&g->lock);
	if (g->live > 0) { /* every connection came from the acceptor: its slot is free */
		g->live--;
		pthread_cond_signal(&g->slot);
	}
	if (e) {
		e->prev->next = e->next;
		e->next->prev = e->prev;
	}
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
