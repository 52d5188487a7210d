/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's own names: --authority values, or its certificate's subjectAltNames. */
#include "gwnames.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "httpsig.h"

static int dns_name_ok(const char *h, size_t n)
{
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];

		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return 0;
	}
	return 1;
}

int gwnames_add(struct gwnames *g, const char *hostport, struct vs_error *err)
{
	char norm[VS_MAX_AUTHORITY_BYTES], host[VS_MAX_AUTHORITY_BYTES];
	const char *port = NULL, *end;
	size_t hl, len = strlen(hostport);

	if (len == 0 || len >= sizeof(norm))
		return vs_fail(err, VS_ERR_USAGE, "--authority", "bad name \"%.64s\"", hostport);
	if (hostport[0] == '[') {
		end = strchr(hostport, ']');
		if (!end || end == hostport + 1)
			return vs_fail(err, VS_ERR_USAGE, "--authority",
				       "unterminated IPv6 address in \"%s\"", hostport);
		hl = (size_t)(end - hostport - 1);
		memcpy(host, hostport + 1, hl);
		host[hl] = '\0';
		{
			struct in6_addr a6;

			if (inet_pton(AF_INET6, host, &a6) != 1)
				return vs_fail(err, VS_ERR_USAGE, "--authority",
					       "\"%s\" is not an IPv6 address", host);
		}
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return vs_fail(err, VS_ERR_USAGE, "--authority", "bad name \"%s\"", hostport);
	} else {
		end = strchr(hostport, ':');
		hl = end ? (size_t)(end - hostport) : len;
		if (!dns_name_ok(hostport, hl))
			return vs_fail(err, VS_ERR_USAGE, "--authority",
				       "\"%s\" is not HOST[:PORT] (a DNS name or an address)",
				       hostport);
		if (end)
			port = end + 1;
	}
	if (port) {
		char *pe;
		unsigned long p = strtoul(port, &pe, 10);

		if (!isdigit((unsigned char)port[0]) || *pe || p == 0 || p > 65535)
			return vs_fail(err, VS_ERR_USAGE, "--authority", "bad port in \"%s\"",
				       hostport);
	}
	if (httpsig_normalize_authority("https", hostport, norm, sizeof(norm)) < 0)
		return vs_fail(err, VS_ERR_USAGE, "--authority", "bad name \"%s\"", hostport);
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->v[i], norm))
			return 0;
	if (g->n >= VS_MAX_AUTHORITIES)
		return vs_fail(err, VS_ERR_USAGE, "--authority", "more than %u names",
			       VS_MAX_AUTHORITIES);
	memcpy(g->v[g->n++], norm, strlen(norm) + 1);
	return 0;
}

static int add_with_port(struct gwnames *g, const char *host, int v6, unsigned port,
			 struct vs_error *err)
{
	char hp[VS_MAX_AUTHORITY_BYTES];

	if (port)
		snprintf(hp, sizeof(hp), "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
	else
		snprintf(hp, sizeof(hp), "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
	return gwnames_add(g, hp, err);
}

int gwnames_everyones(const char *host)
{
	static const char *const names[] = {"localhost", "localhost.localdomain", "ip6-localhost",
					    "ip6-loopback"};
	unsigned char a[16];
	size_t n = strlen(host);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(host, names[i]) ||
		    (!strncasecmp(host, names[i], strlen(names[i])) && !strcmp(host + strlen(names[i]), ".")))
			return 1;
	if (n >= 10 && !strcasecmp(host + n - 10, ".localhost"))
		return 1;
	if (n >= 11 && !strcasecmp(host + n - 11, ".localhost."))
		return 1;
	/* inet_aton reads what a resolver would take too: 127.1, 2130706433, 0x7f.1, 0 */
	{
		struct in_addr in;

		if (inet_aton(host, &in) == 1) {
			memcpy(a, &in.s_addr, 4);
			return a[0] == 127 || (a[0] == 169 && a[1] == 254) || !(a[0] | a[1] | a[2] | a[3]);
		}
	}
	if (inet_pton(AF_INET6, host, a) == 1) {
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		int zero = 1;

		for (int i = 0; i < 15; i++)
			zero &= a[i] == 0;
		if (zero && (a[15] == 0 || a[15] == 1))
			return 1; /* :: and ::1 */
		if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
			return 1; /* fe80::/10 */
		if (!memcmp(a, mapped, sizeof(mapped)))
			return a[12] == 127 || (a[12] == 169 && a[13] == 254) || !(a[12] | a[13] | a[14] | a[15]);
	}
	return 0;
}

int gwnames_add_cert(struct gwnames *g, const char *cert_pem, unsigned port, int local_only,
		     struct vs_error *err)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
	size_t before = g->n;
	int r = -1, skipped = 0;

	if (!x) {
		vs_fail_ssl(err, VS_ERR_INPUT, "--tls-cert", "not a PEM certificate");
		goto out;
	}
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		char host[VS_MAX_AUTHORITY_BYTES];

		if (gn->type == GEN_DNS) {
			const ASN1_IA5STRING *s = gn->d.dNSName;
			int n = ASN1_STRING_length(s);

			if (n <= 0 || (size_t)n >= sizeof(host) ||
			    memchr(ASN1_STRING_get0_data(s), '*', (size_t)n) ||
			    memchr(ASN1_STRING_get0_data(s), '\0', (size_t)n))
				continue;
			memcpy(host, ASN1_STRING_get0_data(s), (size_t)n);
			host[n] = '\0';
			if (!local_only && gwnames_everyones(host)) {
				skipped++;
				continue;
			}
			if (add_with_port(g, host, 0, port, err) < 0)
				goto out;
		} else if (gn->type == GEN_IPADD) {
			const ASN1_OCTET_STRING *s = gn->d.iPAddress;
			int n = ASN1_STRING_length(s);

			if ((n != 4 && n != 16) ||
			    !inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), host,
				       sizeof(host)))
				continue;
			if (!local_only && gwnames_everyones(host)) {
				skipped++;
				continue;
			}
			if (add_with_port(g, host, n == 16, port, err) < 0)
				goto out;
		}
	}
	if (g->n == before) {
		if (skipped)
			vs_fail(err, VS_ERR_USAGE, "--tls-cert",
				"the certificate names only what every host is (localhost, loopback or "
				"link-local addresses), which a gateway listening beyond this host does "
				"not answer to: give --authority HOST[:PORT], or a certificate with this "
				"host's own name");
		else
			vs_fail(err, VS_ERR_USAGE, "--tls-cert",
				"the certificate has no DNS or IP subjectAltName to take the gateway's names "
				"from: give --authority HOST[:PORT]");
		goto out;
	}
	r = 0;
out:
	GENERAL_NAMES_free(gens);
	X509_free(x);
	BIO_free(bio);
	return r;
}

void gwnames_format(const struct gwnames *g, char *out, size_t outlen)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < g->n && off < outlen; i++) {
		int w = snprintf(out + off, outlen - off, "%s%s", i ? ", " : "", g->v[i]);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}
