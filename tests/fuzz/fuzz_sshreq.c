/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the SSH CA's JSON: the first byte picks a POST /v1/ssh/certs,
 * /v1/ssh/host-certs or /v1/ssh/revoke body, or the policy's ssh section. What is accepted
 * must hold within its limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sshpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vs_error err = {0};
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0: {
		struct ssh_cert_request r;

		if (ssh_request_parse_cert(body, len, &r, &err) < 0) {
			if (r.key)
				abort();
			break;
		}
		if (!r.key || r.nprincipals < 1 || r.nprincipals > VS_MAX_SSH_PRINCIPALS ||
		    r.validity_s < 1 || r.validity_s > VS_MAX_SSH_VALIDITY_S)
			abort();
		sshkey_free(r.key);
		break;
	}
	case 1: {
		struct ssh_host_request h;

		if (ssh_request_parse_host(body, len, &h, &err) == 0) {
			if (!h.key || !h.domain[0])
				abort();
			sshkey_free(h.key);
		}
		break;
	}
	case 2: {
		struct ssh_revoke_request v;

		if (ssh_request_parse_revoke(body, len, &v, &err) == 0 && v.by_serial && v.serial == 0)
			abort();
		break;
	}
	default: {
		json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
		struct ssh_policy *p = NULL;

		if (o && ssh_policy_parse(o, "fuzz", &p, &err) == 0) {
			if (p->max_validity_s > VS_MAX_SSH_VALIDITY_S)
				abort();
			for (size_t i = 0; i < p->nrules; i++)
				if (p->rules[i].max_validity_s > VS_MAX_SSH_VALIDITY_S ||
				    p->rules[i].quorum < 1 || p->rules[i].nprincipals < 1)
					abort();
			ssh_policy_free(p);
		}
		json_decref(o);
	}
	}
	return 0;
}
