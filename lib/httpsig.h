/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP Message Signatures (RFC 9421) and Content-Digest (RFC 9530), shared by gateway and client. */
#ifndef VMSEAL_HTTPSIG_H
#define VMSEAL_HTTPSIG_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "key.h"
#include "sf.h"

#define HTTPSIG_MAX_SIGS 4      /* signatures checked on one message (quorum needs 2) */
#define HTTPSIG_MAX_LABEL 64
#define HTTPSIG_MAX_PARAM 256   /* bytes of a keyid, nonce, alg or tag */
#define HTTPSIG_MAX_FIELD_VALUES 16 /* field lines of one name that a component may combine */

enum httpsig_alg {
	HTTPSIG_ALG_NONE = 0,
	HTTPSIG_ALG_ED25519,           /* "ed25519" */
	HTTPSIG_ALG_ECDSA_P256_SHA256, /* "ecdsa-p256-sha256", raw r||s */
	HTTPSIG_ALG_RSA_PSS_SHA512,    /* "rsa-pss-sha512" */
};

/* RFC 9421 registry names. */
const char *httpsig_alg_name(enum httpsig_alg alg);
enum httpsig_alg httpsig_alg_parse(const char *name);
/* The one algorithm a key is used with. */
enum httpsig_alg httpsig_alg_of_key(const struct vs_key *k);

/* Looks up the field lines named lname (lowercase) in the order they arrived. Writes at most
 * max values to vals and returns how many lines there are in all (which may exceed max). */
typedef size_t (*http_fields_fn)(void *ctx, const char *lname, const char **vals, size_t max);

/* An HTTP message as the signature code sees it, whatever carried it (MHD, libcurl, a test).
 * Strings are NUL-terminated. */
struct http_msg {
	const char *method;    /* requests: "GET" */
	const char *scheme;    /* "https" */
	const char *authority; /* host[:port] as sent, see httpsig_normalize_authority */
	const char *path;      /* raw (still percent-encoded) path, "/" when empty */
	const char *query;     /* raw query without '?', or NULL when the target has none */
	int status;            /* responses: the status code; 0 for requests */
	http_fields_fn fields;
	void *fields_ctx;
	const struct http_msg *request; /* responses: the request, for ";req" components */
};

/* A simple field store for http_msg.fields: an array of name/value pairs (names compared
 * case-insensitively). Pass the struct as fields_ctx and http_field_list_get as fields. */
struct http_field {
	const char *name;
	const char *value;
};
struct http_field_list {
	const struct http_field *v;
	size_t n;
};
size_t http_field_list_get(void *ctx, const char *lname, const char **vals, size_t max);

/* Lowercases host[:port] and drops a default port (443 for https, 80 for http) into out. */
int httpsig_normalize_authority(const char *scheme, const char *in, char *out, size_t outlen);

/* Builds the signature base of RFC 9421 §2.5 for the covered components (an inner list of
 * component identifiers with its signature parameters). Supported components: @method
 * @target-uri @authority @scheme @request-target @path @query @status and header fields, each
 * optionally with ";req" on a response. Any other parameter (sf, key, bs, tr, name) is refused,
 * as are duplicates, uppercase field names, missing fields and values outside visible ASCII.
 * *base is malloc'd and NUL-terminated; it has no trailing newline. */
int httpsig_signature_base(const struct http_msg *m, const struct sf_item *components,
			   size_t ncomponents, const struct sf_params *params, char **base,
			   size_t *len, struct vs_error *err);

/* What to put in a signature. */
struct httpsig_sign_params {
	const char *label;             /* dictionary key, e.g. "sig1" */
	const char *const *components; /* identifiers: "@method", "content-digest", "@path;req" */
	size_t ncomponents;
	int64_t created;               /* 0: omitted */
	int64_t expires;               /* 0: omitted */
	const char *nonce;             /* NULL: omitted */
	const char *keyid;             /* NULL: the key's keyid */
	const char *tag;               /* NULL: omitted */
	int with_alg;                  /* add alg="…" (the key's algorithm) */
	const char *alg_name;          /* add alg="alg_name" instead (tests of refusals) */
};

/* Signs m. On success *sig_input is the Signature-Input member ("label=(…);created=…") and
 * *sig the Signature member ("label=:…:"), both malloc'd; join several with ", ". */
int httpsig_sign(const struct http_msg *m, const struct vs_key *key,
		 const struct httpsig_sign_params *p, char **sig_input, char **sig,
		 struct vs_error *err);

/* One signature that verified. */
struct httpsig_sig {
	char label[HTTPSIG_MAX_LABEL + 1];
	char keyid[HTTPSIG_MAX_PARAM + 1];
	char nonce[HTTPSIG_MAX_PARAM + 1]; /* "" when absent */
	char tag[HTTPSIG_MAX_PARAM + 1];   /* "" when absent */
	enum httpsig_alg alg;
	int64_t created, expires;          /* 0 when absent */
	int covers_digest;                 /* content-digest is covered */
	const void *key_ref;               /* what the key lookup returned as ref */
};

/* The caller's key store: finds the public key for keyid. Returns 0 and *key (borrowed; it
 * must outlive the verification) and optionally *ref, or -1 with err filled: the reason is
 * reported to the client, so say "unknown key", "key revoked", never more than that. */
typedef int (*httpsig_key_fn)(void *ctx, const char *keyid, const struct vs_key **key,
			      const void **ref, struct vs_error *err);

/* A message verified twice (a request's headers before its body is read, then the whole of it)
 * need not repeat the public-key operation. The memo keeps, for each signature that verified, a
 * SHA-256 over the key's id, the algorithm, the signature base and the signature bytes; a later
 * verification with the same memo runs every other check again (parameters, freshness, key
 * lookup, authority, Content-Digest) and skips only a public-key verification whose exact inputs
 * verified before. One memo per message; zero it before the first use. */
struct httpsig_memo {
	size_t n;
	uint8_t h[HTTPSIG_MAX_SIGS][32];
};

/* What a verifier requires. Zero means "not checked" for every number, so the RFC's own test
 * vectors (which carry no nonce or expiry) can be checked with the same code. */
struct httpsig_verify_opts {
	httpsig_key_fn key_lookup;
	void *key_ctx;
	const char *const *required;  /* component identifiers every signature must cover */
	size_t nrequired;
	int require_created, require_expires, require_nonce, require_keyid;
	int64_t now;
	int64_t max_skew_s;     /* |created - now| <= max_skew_s */
	int64_t max_validity_s; /* expires - created <= max_validity_s */
	int64_t max_future_skew_s; /* created - now <= max_future_skew_s (0: max_skew_s applies) */
	int64_t not_before;     /* created < not_before is refused (signatures from before start) */
	/* The verifier's own names (normalised authorities, httpsig_normalize_authority): with
	 * check_authority set, the message's @authority must be one of them, else
	 * HTTPSIG_E_AUTHORITY (a call signed for another host; none listed refuses all). */
	int check_authority;
	const char *const *authorities;
	size_t nauthorities;
	const uint8_t *body;    /* the received body, for Content-Digest */
	size_t body_len;
	int digest_if_body;     /* a non-empty body needs a covered, matching content-digest */
	/* The body has not arrived yet (it is checked before anything buffers it): content-digest
	 * must be covered, its value is checked by a second verification once the body is in. */
	int body_pending;
	const char *label;      /* only this signature; NULL: all of them */
	struct httpsig_memo *memo; /* NULL: none (see struct httpsig_memo) */
};

/* Reasons a verification failed, stable strings for JSON errors and tests. */
#define HTTPSIG_E_MISSING "signature_missing"        /* no Signature-Input/Signature */
#define HTTPSIG_E_MALFORMED "signature_malformed"    /* not a valid RFC 8941 dictionary etc. */
#define HTTPSIG_E_COMPONENT "component_missing"      /* a required component is not covered */
#define HTTPSIG_E_PARAM "parameter_missing"          /* created/expires/nonce/keyid absent */
#define HTTPSIG_E_EXPIRED "signature_expired"
#define HTTPSIG_E_SKEW "clock_skew"                  /* created too far from now */
#define HTTPSIG_E_VALIDITY "validity_too_long"       /* expires - created too large */
#define HTTPSIG_E_BEFORE_START "signature_predates_start"
#define HTTPSIG_E_AUTHORITY "wrong_authority"       /* signed for another host */
#define HTTPSIG_E_KEY "key_refused"                  /* unknown, revoked, wrong usage */
#define HTTPSIG_E_ALG "alg_mismatch"
#define HTTPSIG_E_BAD "signature_invalid"
#define HTTPSIG_E_DIGEST "digest_mismatch"
#define HTTPSIG_E_DIGEST_MISSING "digest_missing"
#define HTTPSIG_E_DIGEST_ALG "digest_unsupported"

struct httpsig_result {
	struct httpsig_sig sigs[HTTPSIG_MAX_SIGS];
	size_t n;
	const char *code; /* one of HTTPSIG_E_* when verification failed */
};

/* Verifies every signature of m (or the one named by opts->label): both headers parse as
 * RFC 8941 dictionaries with the same labels, each covers the required components, carries the
 * required parameters, is fresh, uses the algorithm of its key, and verifies; a body is bound by
 * a matching Content-Digest. All must pass (one bad signature fails the message). Returns 0 with
 * res filled, or -1 with res->code and err (VS_ERR_DENIED for a verdict, INPUT for malformed). */
int httpsig_verify(const struct http_msg *m, const struct httpsig_verify_opts *opts,
		   struct httpsig_result *res, struct vs_error *err);

/* Content-Digest (RFC 9530). alg: "sha-256" or "sha-512". *out is the field value,
 * e.g. "sha-256=:…:", malloc'd. */
int content_digest_make(const char *alg, const uint8_t *body, size_t len, char **out,
			struct vs_error *err);

/* Checks a received Content-Digest field value against body: it must parse, name at least one
 * of sha-256/sha-512 (others are ignored), and every one of those must match. */
int content_digest_check(const char *value, const uint8_t *body, size_t len, struct vs_error *err);

#endif
