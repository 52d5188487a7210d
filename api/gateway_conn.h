/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway connection guard and acceptor, used by gateway_http.c (layers: gateway_core.h). */
#ifndef VMSEAL_GATEWAY_CONN_H
#define VMSEAL_GATEWAY_CONN_H

#include "api/gateway_core.h"

/* A deadline from the moment a connection is ready for a request (accepted, or its previous
 * request answered) until that request is received in full; connections past it are shut
 * down. conn_guard_notify is the NOTIFY_CONNECTION hook. */
struct MHD_Connection;
enum conn_guard_event { CONN_REQUEST_LINE, CONN_REQUEST_RECEIVED, CONN_REQUEST_COMPLETED };
int conn_guard_start(struct gateway *gw, struct vs_error *err);
void conn_guard_stop_reaper(struct gateway *gw);
void conn_guard_free(struct gateway *gw);
void conn_guard_notify(struct gateway *gw, struct MHD_Connection *conn, void **socket_context,
		       int code);
void conn_guard_event(struct gateway *gw, struct MHD_Connection *conn, enum conn_guard_event ev);

/* The acceptor: the gateway's own listen socket (bound to ss, the port bound in *port), and a
 * thread that accepts from it and hands each connection to libmicrohttpd (started without a
 * listen socket of its own), which spreads them over its workers; at most
 * cfg.max_connections at once, the rest wait in the backlog. conn_accept_listen after
 * conn_guard_start; conn_accept_start once the daemon runs; conn_accept_stop before it stops
 * (safe to call twice, and when never started). */
struct sockaddr_storage;
struct MHD_Daemon;
int conn_accept_listen(struct gateway *gw, const struct sockaddr_storage *ss, unsigned *port,
		       struct vs_error *err);
int conn_accept_start(struct gateway *gw, struct MHD_Daemon *daemon, struct vs_error *err);
void conn_accept_stop(struct gateway *gw);

#endif
