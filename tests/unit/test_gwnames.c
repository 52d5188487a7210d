/* SPDX-License-Identifier: Apache-2.0 */
/* The gateway's own names: --authority parsing and the certificate's subjectAltNames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common_cunit.h"
#include "lib/gwnames.h"
#include "lib/util.h"

static void test_add(void)
{
	static const char *const bad[] = {"", "a/b", "host:", "host:0", "host:70000", "host:8x",
					  "user@host", "[zz]:1", "[::1", "[::1]x", "a b", "h:-1",
					  "host:+1", "::1", NULL};
	struct gwnames g = {0};
	struct vs_error err = {0};

	CU_ASSERT_EQUAL(gwnames_add(&g, "GW.Example", &err), 0);
	CU_ASSERT_EQUAL(gwnames_add(&g, "gw.example:443", &err), 0); /* the same name */
	CU_ASSERT_EQUAL(gwnames_add(&g, "gw.example:8443", &err), 0);
	CU_ASSERT_EQUAL(gwnames_add(&g, "[::1]:8443", &err), 0);
	CU_ASSERT_EQUAL(gwnames_add(&g, "10.0.0.1", &err), 0);
	CU_ASSERT_EQUAL_FATAL(g.n, 4);
	CU_ASSERT_STRING_EQUAL(g.v[0], "gw.example");
	CU_ASSERT_STRING_EQUAL(g.v[1], "gw.example:8443");
	CU_ASSERT_STRING_EQUAL(g.v[2], "[::1]:8443");
	CU_ASSERT_STRING_EQUAL(g.v[3], "10.0.0.1");
	for (size_t i = 0; bad[i]; i++) {
		memset(&err, 0, sizeof(err));
		CU_ASSERT_EQUAL(gwnames_add(&g, bad[i], &err), -1);
		CU_ASSERT_EQUAL(err.kind, VS_ERR_USAGE);
	}
	CU_ASSERT_EQUAL(g.n, 4);
	for (int i = 0; g.n < VS_MAX_AUTHORITIES; i++) {
		char n[32];

		snprintf(n, sizeof(n), "h%d.example", i);
		CU_ASSERT_EQUAL_FATAL(gwnames_add(&g, n, &err), 0);
	}
	CU_ASSERT_EQUAL(gwnames_add(&g, "one-more.example", &err), -1);
}

/* Writes a self-signed certificate with the given -addext (NULL: none) and returns its PEM. */
static char *cert_with(const char *name, const char *ext)
{
	char cmd[1024], path[512];
	char *pem = NULL;
	size_t len;
	struct vs_error err = {0};

	snprintf(path, sizeof(path), "%s/%s.crt", test_tmpdir(), name);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s/%s.key "
		 "-out %s -days 1 -subj /CN=ignored.example %s%s%s 2>/dev/null",
		 test_tmpdir(), name, path, ext ? "-addext '" : "", ext ? ext : "", ext ? "'" : "");
	if (system(cmd) != 0 || file_read_all(path, 1 << 16, &pem, &len, &err) < 0)
		return NULL;
	return pem;
}

static void test_cert(void)
{
	struct gwnames g = {0};
	struct vs_error err = {0};
	char *pem = cert_with("sans", "subjectAltName=DNS:GW1.example,DNS:*.wild.example,"
				      "IP:10.1.2.3,IP:::1");
	char *nosan = cert_with("nosan", NULL);
	char *wild = cert_with("wild", "subjectAltName=DNS:*.example");

	CU_ASSERT_PTR_NOT_NULL_FATAL(pem);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nosan);
	CU_ASSERT_PTR_NOT_NULL_FATAL(wild);
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, pem, 8443, 1, &err), 0);
	CU_ASSERT_EQUAL_FATAL(g.n, 3); /* the wildcard is not a name; the CN is not used */
	CU_ASSERT_STRING_EQUAL(g.v[0], "gw1.example:8443");
	CU_ASSERT_STRING_EQUAL(g.v[1], "10.1.2.3:8443");
	CU_ASSERT_STRING_EQUAL(g.v[2], "[::1]:8443");
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, pem, 443, 1, &err), 0);
	CU_ASSERT_STRING_EQUAL(g.v[0], "gw1.example");
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, nosan, 8443, 1, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "--authority"));
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, wild, 8443, 1, &err), -1);
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, "not a certificate", 8443, 1, &err), -1);
	CU_ASSERT_EQUAL(g.n, 0);
	free(pem);
	free(nosan);
	free(wild);
}

/* Names every host has: taken from the certificate only for a gateway on a loopback address. */
static void test_cert_everyones(void)
{
	static const struct { const char *host; int everyones; } v[] = {
		{"localhost", 1}, {"LOCALHOST", 1}, {"localhost.", 1}, {"gw.localhost", 1},
		{"localhost.localdomain", 1}, {"ip6-localhost", 1}, {"ip6-loopback", 1},
		{"127.0.0.1", 1}, {"127.1.2.3", 1}, {"0.0.0.0", 1}, {"169.254.9.9", 1}, {"::1", 1},
		{"::", 1}, {"fe80::1", 1}, {"febf::1", 1}, {"::ffff:127.0.0.1", 1}, {"::ffff:169.254.1.1", 1},
		{"127.1", 1}, {"2130706433", 1}, {"0x7f.1", 1}, {"0", 1},
		{"gw1.example", 0}, {"localhost.example", 0}, {"mylocalhost", 0}, {"10.1.2.3", 0},
		{"128.0.0.1", 0}, {"169.255.0.1", 0}, {"fec0::1", 0}, {"2001:db8::1", 0},
		{"::ffff:10.0.0.1", 0}, {"::2", 0},
	};
	struct gwnames g = {0};
	struct vs_error err = {0};
	char *mixed = cert_with("mixed", "subjectAltName=DNS:gw1.example,DNS:localhost,IP:127.0.0.1,"
					 "IP:::1,IP:169.254.1.1,IP:10.1.2.3");
	char *local = cert_with("local", "subjectAltName=DNS:localhost,IP:127.0.0.1");

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (gwnames_everyones(v[i].host) != v[i].everyones)
			fprintf(stderr, "gwnames_everyones(%s) != %d\n", v[i].host, v[i].everyones);
		CU_ASSERT_EQUAL(gwnames_everyones(v[i].host), v[i].everyones);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(mixed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(local);
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, mixed, 8443, 0, &err), 0);
	CU_ASSERT_EQUAL_FATAL(g.n, 2);
	CU_ASSERT_STRING_EQUAL(g.v[0], "gw1.example:8443");
	CU_ASSERT_STRING_EQUAL(g.v[1], "10.1.2.3:8443");
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, mixed, 8443, 1, &err), 0);
	CU_ASSERT_EQUAL(g.n, 6);
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, local, 8443, 0, &err), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "names only what every host is"));
	CU_ASSERT_EQUAL(g.n, 0);
	CU_ASSERT_EQUAL(gwnames_add_cert(&g, local, 8443, 1, &err), 0);
	free(mixed);
	free(local);
}

int main(void)
{
	static const struct test_case cases[] = {
		{"--authority HOST[:PORT]: normalised, refusals", test_add},
		{"names from the certificate's subjectAltNames", test_cert},
		{"names every host has: only for a gateway on a loopback address", test_cert_everyones},
		{NULL, NULL},
	};
	return run_suite("gwnames", cases);
}
