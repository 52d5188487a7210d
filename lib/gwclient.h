/* SPDX-License-Identifier: Apache-2.0 */
/* Client for the gateway: RFC 9421-signed calls over TLS 1.3 (libcurl), signed answers checked. */
#ifndef VMSEAL_GWCLIENT_H
#define VMSEAL_GWCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "key.h"

struct gwclient_opts {
	const char *url;                /* https://HOST:PORT (https only) */
	const char *cacert;             /* CA of the gateway's TLS certificate; NULL: system CAs */
	const char *cert, *cert_key;    /* client certificate for mutual TLS; NULL: none */
	const struct vs_key *gateway_key; /* response-signing key; NULL: answers not checked */
	int64_t expires_in;             /* signature lifetime in seconds; 0: 60 */
};

struct gwclient;

struct gwclient_response {
	long status;
	char *body; /* NUL-terminated, malloc'd */
	size_t body_len;
};

/* One connection (kept alive between calls) to the gateway at o->url. Options are copied. */
int gwclient_new(const struct gwclient_opts *o, struct gwclient **out, struct vs_error *err);

/* Calls METHOD target (a path, optionally with ?query) with an optional JSON body, signed by
 * each of keys (sig1, sig2, … for a quorum) over @method @authority @path @query and, with a
 * body, content-digest (sha-256), with created, expires, a random nonce and the keyid — the
 * same signature lib/httpsig verifies in the gateway. With opts.gateway_key set, the answer
 * must carry the gateway's signature bound to this request (@status, content-type,
 * content-digest, @method;req, @path;req, signature;req), else -1 with VS_ERR_DENIED. Any
 * HTTP status is a success of the call: look at resp->status. */
int gwclient_call(struct gwclient *c, const struct vs_key *const *keys, size_t nkeys,
		  const char *method, const char *target, const char *body, size_t body_len,
		  struct gwclient_response *resp, struct vs_error *err);

void gwclient_response_free(struct gwclient_response *r);
void gwclient_free(struct gwclient *c);

#endif
