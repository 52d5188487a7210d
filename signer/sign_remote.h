/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-sign --remote: ask the remote signing service (POST /v1/sign) to sign a statement. */
#ifndef VMSEAL_SIGN_REMOTE_H
#define VMSEAL_SIGN_REMOTE_H

#include "lib/dsse.h"
#include "lib/key.h"
#include "lib/statement.h"

struct sign_remote_opts {
	const char *url;           /* https://HOST:PORT of the gateway */
	const char *cacert;        /* its TLS CA; NULL: system CAs */
	const char *cert, *cert_key; /* client certificate (mutual TLS) */
	const char *gateway_pub;   /* the gateway's response-signing public key; NULL: unchecked */
	const char *signer_pub;    /* the service's signing public key; NULL: unchecked */
};

/* Sends want's digest, size, template, version, subject name, format and expires (seconds)
 * in a call signed by admin (role signer), and returns the service's envelope after checking
 * that its statement says exactly that, with one signature (verified under signer_pub when
 * given). A refusal by the service is VS_ERR_DENIED. */
int sign_remote(const struct sign_remote_opts *o, const struct vs_key *admin,
		const struct statement *want, int64_t expires, struct dsse_envelope **env,
		struct vs_error *err);

#endif
