/* SPDX-License-Identifier: Apache-2.0 */
/* The policy's "ssh" section (who may get which SSH certificate) and the SSH certificate
 * decisions: issuance of user and host certificates, and the gateway's ssh request bodies. */
#ifndef VMSEAL_SSHPOLICY_H
#define VMSEAL_SSHPOLICY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "error.h"
#include "limits.h"
#include "sshcert.h"

/* What one admin key may get. */
struct ssh_rule {
	char id[KEY_ID_HEX_LEN + 1];
	char principals[VS_MAX_SSH_PRINCIPALS][VS_MAX_SSH_PRINCIPAL_BYTES + 1];
	size_t nprincipals;
	int64_t max_validity_s;
	char source_address[VS_MAX_SSH_OPTION_BYTES + 1]; /* "" when none */
	char force_command[VS_MAX_SSH_OPTION_BYTES + 1];  /* "" when none */
	unsigned extensions;                              /* enum sshcert_ext bits */
	unsigned quorum;                                  /* distinct signers needed, >= 1 */
};

/* "ssh": {"max_validity_s": 900, "host_validity_s": 2592000, "host_names": ["vm-*"],
 *         "host_suffixes": [".vm.example"],
 *         "keys": [{"id": KEYID, "principals": [...], "max_validity_s": 600,
 *                   "source_address": "10.0.0.0/8", "force_command": "...",
 *                   "extensions": ["permit-pty"], "quorum": 2}]} */
struct ssh_policy {
	int64_t max_validity_s;  /* a rule's default maximum (≤ VS_MAX_SSH_VALIDITY_S) */
	int64_t host_validity_s; /* host certificates' validity */
	char host_suffixes[VS_MAX_SSH_HOST_SUFFIXES][VS_MAX_NAME_BYTES];
	size_t nhost_suffixes;
	/* the domains whose names a host certificate may carry: name patterns (fnmatch * ? [..]);
	 * none: no host certificates (a CA vouches for a name to every client that trusts it) */
	char host_names[VS_MAX_SSH_HOST_NAMES][VS_MAX_NAME_BYTES];
	size_t nhost_names;
	struct ssh_rule *rules;
	size_t nrules;
};

/* Parses the section (o may be NULL: no rules, so nobody gets a certificate). Every field is
 * typed, unknown fields are refused, validities are capped (VS_MAX_SSH_VALIDITY_S), principals,
 * source_address and force_command must pass sshcert_check's rules, extensions must be known
 * (default ["permit-pty"]). *out is allocated. */
int ssh_policy_parse(json_t *o, const char *object, struct ssh_policy **out, struct vs_error *err);
void ssh_policy_free(struct ssh_policy *p);

/* The rule of keyid, or NULL. */
const struct ssh_rule *ssh_policy_rule(const struct ssh_policy *p, const char *keyid);

/* POST /v1/ssh/certs: {"ssh_public_key": LINE, "principals": [..], "validity_s": N}. */
struct ssh_cert_request {
	struct sshkey *key;
	char principals[VS_MAX_SSH_PRINCIPALS][VS_MAX_SSH_PRINCIPAL_BYTES + 1];
	size_t nprincipals;
	int64_t validity_s;
};
int ssh_request_parse_cert(const char *body, size_t len, struct ssh_cert_request *r,
			   struct vs_error *err);

/* POST /v1/ssh/host-certs: {"domain": NAME, "host_public_key": LINE}. */
struct ssh_host_request {
	char domain[VS_MAX_NAME_BYTES];
	struct sshkey *key;
};
int ssh_request_parse_host(const char *body, size_t len, struct ssh_host_request *r,
			   struct vs_error *err);

/* POST /v1/ssh/revoke: {"serial": N} or {"fingerprint": "SHA256:..."}, exactly one. */
struct ssh_revoke_request {
	int by_serial;
	uint64_t serial;
	uint8_t fp[32];
	char fp_text[SSHKEY_FP_LEN + 1];
};
int ssh_request_parse_revoke(const char *body, size_t len, struct ssh_revoke_request *r,
			     struct vs_error *err);

/* The user certificate decision. requester is the keyid whose rule applies; nsigners the
 * distinct owners whose keys hold the route's role. Refuses (DENIED) a key without a rule, a
 * principal the rule does not list, a validity over the rule's maximum, fewer signers than the
 * rule's quorum. On success fills c (type, principals, validity from now - VS_SSH_BACKDATE_S
 * to now + validity, the rule's options and extensions; c->key, serial and key id are the
 * caller's). *no_quorum (may be NULL) is set to 1 when the refusal is the quorum alone's, so
 * that a front end can say so without reading err's text. */
int ssh_decide_user_cert(const struct ssh_policy *p, const char *requester, size_t nsigners,
			 const struct ssh_cert_request *r, int64_t now, struct sshcert *c,
			 int *no_quorum, struct vs_error *err);

/* The host certificate decision: the domain's name must match one of the policy's host_names
 * (else VS_ERR_DENIED: an operator may create a domain of any name, and a host certificate is
 * a name every client trusting the CA believes); principals are the domain's name and
 * name+suffix for each host suffix; validity host_validity_s. */
int ssh_decide_host_cert(const struct ssh_policy *p, const char *domain, int64_t now,
			 struct sshcert *c, struct vs_error *err);

#endif
