/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's wire format, one home for both ends: what a call's signatures and the answer's
 * signature cover, under which labels, how fresh and how large an answer may be. */
#ifndef VMSEAL_GWWIRE_H
#define VMSEAL_GWWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "httpsig.h"
#include "key.h"
#include "limits.h"

/* A call's signatures are labelled sig1, sig2, … (one per key of a quorum); the answer's is "gw". */
#define GWWIRE_ANSWER_LABEL "gw"
#define GWWIRE_NONCE_BYTES 16 /* random bytes of a call's nonce, sent as hex */

/* Components a call's signatures cover: the first GWWIRE_CALL_NREQUIRED always (the gateway
 * refuses a signature without one of them), all GWWIRE_CALL_NCOMPONENTS when the call has a
 * Content-Digest (RFC 9530). */
#define GWWIRE_CALL_NREQUIRED 4
#define GWWIRE_CALL_NCOMPONENTS 5
extern const char *const gwwire_call_components[GWWIRE_CALL_NCOMPONENTS];

/* The gateway's Accept-Signature on a 401: the same components and the required parameters. */
#define GWWIRE_ACCEPT_SIGNATURE                                                                  \
	"sig1=(\"@method\" \"@authority\" \"@path\" \"@query\" \"content-digest\")"                  \
	";created;expires;nonce;keyid"

/* Components the answer's signature covers, bound to the call (RFC 9421 §2.4): all
 * GWWIRE_ANSWER_NCOMPONENTS, which a client requires (gwwire_check_answer). */
#define GWWIRE_ANSWER_NCOMPONENTS 6
extern const char *const gwwire_answer_components[GWWIRE_ANSWER_NCOMPONENTS];

/* Leave-outs for gwwire_call_params.omit (calls a gateway must refuse). */
#define GWWIRE_OMIT_CREATED 1u
#define GWWIRE_OMIT_EXPIRES 2u
#define GWWIRE_OMIT_NONCE 4u

/* How a call is signed. All zero/NULL but now and expires_in is the gateway's format; the
 * others are for testing a gateway (vmseal-call --created, --nonce, …): they make calls it
 * must refuse. */
struct gwwire_call_params {
	int64_t now;        /* seconds since the epoch: created */
	int64_t expires_in; /* expires = created + expires_in */
	int64_t created, expires;               /* 0: now, created + expires_in */
	const char *nonce;                      /* NULL: GWWIRE_NONCE_BYTES random, per signature */
	const char *keyid;                      /* NULL: each key's own */
	const char *alg;                        /* NULL: no alg parameter */
	const char *const *components;          /* NULL: gwwire_call_components */
	size_t ncomponents;
	unsigned omit;                          /* GWWIRE_OMIT_* */
};

/* Signs the call m once per key (labels sig1, sig2, …) over the call's components — with
 * content-digest exactly when m has a Content-Digest field — and joins the members into the
 * values of Signature-Input and Signature (*sig_input, *sig: malloc'd). 1..HTTPSIG_MAX_SIGS keys. */
int gwwire_sign_call(const struct http_msg *m, const struct vs_key *const *keys, size_t nkeys,
		     const struct gwwire_call_params *p, char **sig_input, char **sig,
		     struct vs_error *err);

/* Signs the gateway's answer resp (its fields hold Content-Type and Content-Digest,
 * resp->request the call) under GWWIRE_ANSWER_LABEL with the key's alg. All answer components
 * when the call carried a usable signature; else without signature;req; else (no usable request
 * line) only @status, content-type and content-digest, which no client accepts. */
int gwwire_sign_answer(const struct http_msg *resp, const struct vs_key *key, int64_t now,
		       char **sig_input, char **sig, struct vs_error *err);

/* An answer as a client received it. */
struct gwwire_answer {
	int status;
	const struct http_field *fields;
	size_t nfields;
	int fields_over;    /* more than VS_MAX_RESPONSE_HEADERS arrived */
	const uint8_t *body;
	size_t body_len;
};

/* Checks that an answer comes from the gateway for this call: at most VS_MAX_RESPONSE_HEADERS
 * fields and VS_MAX_RESPONSE_BYTES of body, a GWWIRE_ANSWER_LABEL signature by gateway_key under
 * its own keyid covering every answer component, created within VS_RESPONSE_SKEW_S of now, the
 * body bound by a matching Content-Digest. req is the call as it was signed. Returns 0, or -1
 * with VS_ERR_DENIED ("response signature (CODE): …" for a signature that fails). */
int gwwire_check_answer(const struct gwwire_answer *a, const struct http_msg *req,
			const struct vs_key *gateway_key, int64_t now, struct vs_error *err);

#endif
