/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's own names: the @authority values a signed call may be made for. */
#ifndef VMSEAL_GWNAMES_H
#define VMSEAL_GWNAMES_H

#include <stddef.h>

#include "error.h"
#include "limits.h"

/* Normalised authorities (httpsig_normalize_authority with scheme https: lowercase, no :443). */
struct gwnames {
	size_t n;
	char v[VS_MAX_AUTHORITIES][VS_MAX_AUTHORITY_BYTES];
};

/* Adds HOST[:PORT] (a DNS name, an IPv4 address or a bracketed IPv6 address; HOST alone means
 * port 443). Refuses an empty host, a bad port, userinfo, a path and more than
 * VS_MAX_AUTHORITIES names. A name already present is not added twice. */
int gwnames_add(struct gwnames *g, const char *hostport, struct vs_error *err);

/* Adds every DNS and IP subjectAltName of the first certificate in cert_pem, each with port
 * (wildcard DNS names are skipped: a call names one host). Names every host has (localhost
 * and *.localhost, loopback, link-local and unspecified addresses: gwnames_everyones) are
 * taken only with local_only, for a gateway that listens on a loopback address: otherwise a
 * call signed for https://127.0.0.1 on one host would be good at the gateways of every host
 * whose certificate names it too. -1 when no name is left. */
int gwnames_add_cert(struct gwnames *g, const char *cert_pem, unsigned port, int local_only,
		     struct vs_error *err);

/* 1 when host (a DNS name, or an IPv4 or IPv6 address without brackets) names every host:
 * "localhost", a name under .localhost, localhost.localdomain, ip6-localhost, ip6-loopback,
 * 127.0.0.0/8, 0.0.0.0, 169.254.0.0/16, ::1, ::, fe80::/10, and IPv4-mapped forms of these. */
int gwnames_everyones(const char *host);

/* The names joined with ", " into out (for the log line at start). */
void gwnames_format(const struct gwnames *g, char *out, size_t outlen);

#endif
