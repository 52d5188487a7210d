/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for RFC 9421 verification: Signature-Input and Signature parsing, the
 * signature base, parameters, freshness and Content-Digest, as the gateway runs them.
 * Input: five lines "SIGNATURE-INPUT\nSIGNATURE\nCONTENT-DIGEST\nMETHOD\nTARGET\n" then the body;
 * an empty line leaves that header out. Keyids "fuzz-ed25519", "fuzz-p256" and "fuzz-rsa" name
 * the keys in fuzz_keys.h, so the seed corpus holds messages that verify. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/httpsig.h"
#include "lib/limits.h"
#include "tests/fuzz/fuzz_keys.h"

#define FUZZ_NOW 1790000000

struct fuzz_keys {
	struct vs_key *ed, *p256, *rsa;
};

static const struct fuzz_keys *keys(void)
{
	static struct fuzz_keys k;
	struct vs_error err = {0};

	if (!k.ed &&
	    (key_from_public_pem(fuzz_ed25519_pub, strlen(fuzz_ed25519_pub), "ed", &k.ed, &err) < 0 ||
	     key_from_public_pem(fuzz_p256_pub, strlen(fuzz_p256_pub), "p256", &k.p256, &err) < 0 ||
	     key_from_public_pem(fuzz_rsa3072_pub, strlen(fuzz_rsa3072_pub), "rsa", &k.rsa, &err) < 0))
		abort();
	return &k;
}

static int lookup(void *ctx, const char *keyid, const struct vs_key **key, const void **ref,
		  struct vs_error *err)
{
	const struct fuzz_keys *k = ctx;

	if (!strcmp(keyid, "fuzz-ed25519"))
		*key = k->ed;
	else if (!strcmp(keyid, "fuzz-p256"))
		*key = k->p256;
	else if (!strcmp(keyid, "fuzz-rsa"))
		*key = k->rsa;
	else
		return vs_fail(err, VS_ERR_DENIED, keyid, "unknown key");
	if (ref)
		*ref = *key;
	return 0;
}

/* Splits off the next line of the input into a NUL-terminated copy. */
static char *next_line(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, *p, n);
	s[n] = '\0';
	*p += n + (nl ? 1 : 0);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const required[] = {"@method", "@authority", "@path"};
	const uint8_t *p = data, *end = data + size;
	char *line[5];
	struct http_field fields[5];
	struct http_field_list list = {fields, 0};
	struct http_msg m = {0};
	struct httpsig_verify_opts o = {0};
	struct httpsig_result res;
	struct vs_error err = {0};
	char *path, *query;
	int r;

	if (size > VS_MAX_BODY_BYTES)
		return -1;
	for (int i = 0; i < 5; i++)
		line[i] = next_line(&p, end);
	if (line[0][0])
		fields[list.n++] = (struct http_field){"Signature-Input", line[0]};
	if (line[1][0])
		fields[list.n++] = (struct http_field){"Signature", line[1]};
	if (line[2][0])
		fields[list.n++] = (struct http_field){"Content-Digest", line[2]};
	fields[list.n++] = (struct http_field){"Content-Type", "application/json"};
	path = line[4][0] ? line[4] : "/";
	query = strchr(path, '?');
	if (query)
		*query++ = '\0';
	m.method = line[3][0] ? line[3] : "POST";
	m.scheme = "https";
	m.authority = "gw.example:8443";
	m.path = path[0] ? path : "/";
	m.query = query;
	m.fields = http_field_list_get;
	m.fields_ctx = &list;

	o.key_lookup = lookup;
	o.key_ctx = (void *)keys();
	o.required = required;
	o.nrequired = 3;
	o.require_created = o.require_expires = o.require_nonce = o.require_keyid = 1;
	o.now = FUZZ_NOW;
	o.max_skew_s = 300;
	o.max_validity_s = 300;
	o.body = p;
	o.body_len = (size_t)(end - p);
	o.digest_if_body = 1;
	memset(&res, 0, sizeof(res));
	r = httpsig_verify(&m, &o, &res, &err);
#ifdef FUZZ_DEBUG /* cc -DFUZZ_DEBUG: say what each seed does */
	fprintf(stderr, "%s: %s %s: %s\n", r ? "refused" : "verified", r ? res.code : "",
		err.object, err.reason);
#endif
	if (r < 0 && (!res.code || err.reason[0] == '\0'))
		abort(); /* every refusal names a stable reason */
	if (r == 0) {
		if (res.n == 0 || res.n > HTTPSIG_MAX_SIGS)
			abort();
		for (size_t i = 0; i < res.n; i++)
			if (res.sigs[i].created < FUZZ_NOW - 300 || res.sigs[i].created > FUZZ_NOW + 300 ||
			    res.sigs[i].expires <= FUZZ_NOW || !res.sigs[i].key_ref ||
			    (o.body_len && !res.sigs[i].covers_digest))
				abort(); /* an accepted signature met every requirement */
	}
	for (int i = 0; i < 5; i++)
		free(line[i]);
	return 0;
}
