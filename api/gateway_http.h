/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway HTTPS front, started by main (layers: gateway_core.h). */
#ifndef VMSEAL_GATEWAY_HTTP_H
#define VMSEAL_GATEWAY_HTTP_H

#include "api/gateway_core.h"

/* Starts the HTTPS server on cfg.listen (and the connection guard and the aggregation of
 * refused unsigned calls), publishes the names calls must be signed for, prints the
 * "listening" line. */
int gateway_http_start(struct gateway *gw, struct vs_error *err);
/* Stops the server; safe to call twice and after a failed start. */
void gateway_http_stop(struct gateway *gw);

#endif
