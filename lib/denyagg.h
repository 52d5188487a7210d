/* SPDX-License-Identifier: Apache-2.0 */
/* Counts of refused unauthenticated requests, per client address and reason, for one audit
 * event per interval instead of one per request (junk must not fill the log). */
#ifndef VMSEAL_DENYAGG_H
#define VMSEAL_DENYAGG_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

#define DENYAGG_CODE_BYTES 32      /* a reason code: "signature_invalid" */
#define DENYAGG_CLIENT_BYTES 48    /* an IPv6 address in text */
#define DENYAGG_KEYID_BYTES 65     /* a policy keyid in hex */
/* Codes of connections the gateway cut (--request-timeout), counted like refused requests */
#define DENYAGG_CUT_NO_REQUEST "cut_no_request_line"
#define DENYAGG_CUT_UNFINISHED "cut_unfinished"
/* a copy of a signed call already accepted (its nonce claimed): anyone holding the copy */
#define DENYAGG_REPLAY "replay"

struct denyagg;

/* A table of at most slots (client, code, claimed keyid) counters; NULL when out of memory. */
struct denyagg *denyagg_new(size_t slots);
void denyagg_free(struct denyagg *a);

/* Counts one refusal. client is the peer's address (no port; an IPv6 address is counted under
 * its /64, "2001:db8:1:2::/64", an IPv4-mapped one as IPv4), code a short reason code, keyid
 * the claimed keyid when it names a key of the policy (else NULL: an unknown keyid is
 * attacker-chosen text and is not kept). Each string is cut to its bound and anything outside
 * [0-9A-Za-z_.:/-] becomes '_', so what reaches the log is bounded and plain. When the table is
 * full the refusal is counted under client "other", code "various". Thread-safe. */
void denyagg_note(struct denyagg *a, const char *client, const char *code, const char *keyid);

/* One counter as drained. */
struct denyagg_entry {
	char client[DENYAGG_CLIENT_BYTES];
	char code[DENYAGG_CODE_BYTES];
	char keyid[DENYAGG_KEYID_BYTES]; /* "" when none */
	uint64_t count;
};

/* Empties the table, calling fn once per counter gathered since the last drain, in the order
 * first seen. Returns how many counters there were. */
size_t denyagg_drain(struct denyagg *a, void (*fn)(void *ctx, const struct denyagg_entry *e),
		     void *ctx);

#endif
