/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for signed policy bundles: root_parse (first byte even) or bundle_open under a
 * fixed root of the keys in fuzz_keys.h, threshold 1 (first byte odd), plus the unverified peeks
 * (bundle_is_envelope, bundle_peek_version) that rollback checks make on any input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bundle.h"
#include "tests/fuzz/fuzz_keys.h"

static const struct root_of_trust *fixed_root(void)
{
	static struct root_of_trust *root;
	struct vs_error err = {0};
	char json[4096];
	char *ed = NULL, *p256 = NULL;
	struct vs_key *ke = NULL, *kp = NULL;
	int n;

	if (root)
		return root;
	if (key_from_public_pem(fuzz_ed25519_pub, strlen(fuzz_ed25519_pub), "ed", &ke, &err) < 0 ||
	    key_from_public_pem(fuzz_p256_pub, strlen(fuzz_p256_pub), "p256", &kp, &err) < 0)
		abort();
	/* JSON-escape the PEMs' newlines */
	ed = calloc(1, 2 * sizeof(fuzz_ed25519_pub));
	p256 = calloc(1, 2 * sizeof(fuzz_p256_pub));
	if (!ed || !p256)
		abort();
	for (size_t i = 0, j = 0; fuzz_ed25519_pub[i]; i++)
		j += (size_t)sprintf(ed + j, fuzz_ed25519_pub[i] == '\n' ? "\\n" : "%c", fuzz_ed25519_pub[i]);
	for (size_t i = 0, j = 0; fuzz_p256_pub[i]; i++)
		j += (size_t)sprintf(p256 + j, fuzz_p256_pub[i] == '\n' ? "\\n" : "%c", fuzz_p256_pub[i]);
	n = snprintf(json, sizeof(json),
		     "{\"version\":1,\"threshold\":1,\"keys\":["
		     "{\"id\":\"%s\",\"public_key\":\"%s\",\"owner\":\"ed\"},"
		     "{\"id\":\"%s\",\"public_key\":\"%s\",\"owner\":\"p256\"}]}",
		     key_id(ke), ed, key_id(kp), p256);
	if (n < 0 || (size_t)n >= sizeof(json) || root_parse(json, (size_t)n, "root", &root, &err) < 0) {
		fprintf(stderr, "fuzz_bundle: fixed root: %s\n", err.reason);
		abort();
	}
	key_free(ke);
	key_free(kp);
	free(ed);
	free(p256);
	return root;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data + 1;
	struct vs_error err = {0};

	if (size < 1 || size > VS_MAX_POLICY_BYTES + 1)
		return -1;
	(void)bundle_is_envelope(json, size - 1);
	(void)bundle_peek_version(json, size - 1);
	if (data[0] % 2 == 0) {
		struct root_of_trust *r = NULL;

		if (root_parse(json, size - 1, "fuzz-root", &r, &err) < 0) {
			if (r || err.reason[0] == '\0')
				abort();
			return 0;
		}
		if (r->nkeys == 0 || r->nkeys > VS_MAX_ROOT_KEYS || r->threshold < 1 ||
		    r->threshold > r->nkeys)
			abort();
		root_free(r);
	} else {
		char *payload = NULL;
		size_t plen = 0;
		unsigned valid = 0;

		if (bundle_open(fixed_root(), json, size - 1, "fuzz-bundle", &payload, &plen, &valid,
				&err) < 0) {
			if (payload || err.reason[0] == '\0')
				abort();
			return 0;
		}
		if (valid < 1 || valid > 2 || strlen(payload) != plen)
			abort(); /* an opened bundle was signed by a root key; distinct keys counted once */
		free(payload);
	}
	return 0;
}
