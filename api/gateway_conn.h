/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway connection guard, used by gateway_http.c (layers: gateway_core.h). */
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

#endif
