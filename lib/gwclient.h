/* SPDX-License-Identifier: Apache-2.0 */
/* Client for the gateway: RFC 9421-signed calls over TLS 1.3 (libcurl), signed answers checked. */
#ifndef VMSEAL_GWCLIENT_H
#define VMSEAL_GWCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "error.h"
#include "gwwire.h"
#include "httpsig.h"
#include "key.h"
#include "limits.h"

struct gwclient_opts {
	const char *url;                /* https://HOST:PORT (https only) */
	const char *cacert;             /* CA of the gateway's TLS certificate; NULL: system CAs */
	const char *cert, *cert_key;    /* client certificate for mutual TLS; NULL: none */
	const struct vs_key *gateway_key; /* response-signing key; NULL: answers not checked */
	int64_t expires_in;             /* signature lifetime in seconds; 0: 60 */
};

struct gwclient;

/* One call. Keys sign it once each (sig1, sig2, … for a quorum). content_digest and sig are
 * zero for the gateway's format (lib/gwwire.h; sig.now and sig.expires_in 0: now and the
 * client's expires_in); the others make calls a gateway must refuse. */
struct gwclient_call {
	const char *method;
	const char *target;          /* a path, optionally with ?query, sent and signed as is */
	const char *body;            /* JSON; NULL: none */
	size_t body_len;
	const struct vs_key *const *keys;
	size_t nkeys;
	const char *content_digest;  /* Content-Digest to send; NULL: sha-256 of the body, if any */
	struct gwwire_call_params sig;
};

/* A signed call as it goes on the wire (gwclient_sign; for printing it, or sending it). It
 * points into itself: keep it where gwclient_sign wrote it. */
struct gwclient_signed {
	const char *method, *target, *authority, *query;
	char path[VS_MAX_HEADER_BYTES];
	struct http_field fields[3]; /* Content-Digest (if any), Signature-Input, Signature */
	size_t nfields;
	const char *body;
	size_t body_len;
	struct http_field_list list;
	struct http_msg msg;         /* the call as signed, for the answer's check */
	char *owned[3];
};

struct gwclient_response {
	long status;
	char *body; /* NUL-terminated, malloc'd */
	size_t body_len;
	struct http_field headers[VS_MAX_RESPONSE_HEADERS]; /* as received: "Name", " value" */
	size_t nheaders;
	int headers_over;
	char *store[VS_MAX_RESPONSE_HEADERS];
};

/* One connection (kept alive between calls) to the gateway at o->url. Options are copied. */
int gwclient_new(const struct gwclient_opts *o, struct gwclient **out, struct vs_error *err);

/* Signs call for the gateway of c into *s (clear it with gwclient_signed_clear in every case):
 * @method @authority @path @query and, with a Content-Digest, content-digest, with created,
 * expires, a random nonce and the keyid — the signature lib/httpsig verifies in the gateway. */
int gwclient_sign(const struct gwclient *c, const struct gwclient_call *call,
		  struct gwclient_signed *s, struct vs_error *err);

/* Sends the signed call s and reads the answer into resp (free it with gwclient_response_free
 * in every case). With opts.gateway_key set, the answer must pass gwwire_check_answer, else -1
 * with VS_ERR_DENIED and resp still holding what arrived (to show it). Any HTTP status is a
 * success of the call: look at resp->status, or gwclient_response_status. */
int gwclient_send(struct gwclient *c, const struct gwclient_signed *s,
		  struct gwclient_response *resp, struct vs_error *err);

/* gwclient_sign and gwclient_send with the gateway's format; on -1 resp holds nothing. */
int gwclient_call(struct gwclient *c, const struct vs_key *const *keys, size_t nkeys,
		  const char *method, const char *target, const char *body, size_t body_len,
		  struct gwclient_response *resp, struct vs_error *err);

/* 0 for a 2xx answer; else -1 with err: VS_ERR_DENIED for 401 and 403 (the call was refused),
 * VS_ERR_IO for any other status; the reason "HTTP STATUS ERROR: DETAIL" from the answer's
 * JSON error. */
int gwclient_response_status(const struct gwclient_response *r, struct vs_error *err);

/* A 2xx answer's JSON object (*obj, json_decref it) and its string member name (*value,
 * borrowed from *obj): gwclient_response_status's error for another status, VS_ERR_INPUT
 * "answer: no NAME in the gateway's answer" when the body is not such an object. */
int gwclient_response_string(const struct gwclient_response *r, const char *name, json_t **obj,
			     const char **value, struct vs_error *err);

void gwclient_signed_clear(struct gwclient_signed *s);
void gwclient_response_free(struct gwclient_response *r);
void gwclient_free(struct gwclient *c);

#endif
