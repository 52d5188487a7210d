/* SPDX-License-Identifier: Apache-2.0 */
/* The /v1/ssh routes: the SSH certificate authority of a signing gateway (--ssh-ca-key): short-lived user
 * certificates for signed, role-checked, audited calls; host certificates; revocation; KRL. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/virterror.h>

#include "api/gateway_routes.h"
#include "lib/keymeta.h"
#include "lib/sshcert.h"
#include "lib/sshkrl.h"
#include "lib/sshstore.h"
#include "lib/sshpolicy.h"
#include "lib/util.h"

struct ssh_ca {
	struct vs_key *key;
	struct sshkey *pub;
	char *pub_line;
	char fp[SSHKEY_FP_LEN + 1];
	struct ssh_store *store; /* serials and revocations: files, or Redis with --replay-store */
};

int gateway_ssh_load(struct gateway *gw, struct vs_error *err)
{
	struct ssh_ca *ca;
	const char *spec = gw->cfg.ssh_ca_key;

	if (!spec)
		return 0;
	ca = calloc(1, sizeof(*ca));
	if (!ca)
		return vs_fail(err, VS_ERR_INTERNAL, spec, "out of memory");
	gw->ssh = ca;
	if (keymeta_load_signable(spec, gw->cfg.ssh_ca_passfile, &ca->key, err) < 0 ||
	    sshkey_from_pkey(key_pkey(ca->key), spec, &ca->pub, err) < 0)
		return -1;
	if (!(ca->pub_line = sshkey_line(ca->pub, "vmseal-ssh-ca")))
		return vs_fail(err, VS_ERR_INTERNAL, spec, "out of memory");
	sshkey_fingerprint(ca->pub, ca->fp);
	if (gw->cfg.ssh_shared)
		return ssh_store_open_redis(gw->replay, ca->pub, &ca->store, err);
	return ssh_store_open_dir(gw->cfg.ssh_state_dir ? gw->cfg.ssh_state_dir : GATEWAY_SSH_STATE_DIR,
				  ca->pub, &ca->store, err);
}

void gateway_ssh_free(struct gateway *gw)
{
	struct ssh_ca *ca = gw->ssh;

	if (!ca)
		return;
	key_free(ca->key);
	sshkey_free(ca->pub);
	free(ca->pub_line);
	ssh_store_free(ca->store);
	free(ca);
	gw->ssh = NULL;
}

static int configured(struct gateway *gw, struct reply *out)
{
	if (gw->ssh)
		return 1;
	reply_error(out, 503, "not_configured", "this gateway runs without --ssh-ca-key");
	return 0;
}

/* Audits the certificate (durably) and answers with it. */
static void issue(struct gateway *gw, const struct caller *who, struct sshcert *c,
		  const char *keyid, const char *nonce, struct reply *out)
{
	struct vs_error err = {0};
	char *line = NULL, fp[SSHKEY_FP_LEN + 1], va[32], vb[32], object[64];
	char reason[VS_MAX_SSH_PRINCIPALS * (VS_MAX_SSH_PRINCIPAL_BYTES + 1) + 1024];
	size_t off;
	json_t *principals = json_array();
	int rv;

	sshkey_fingerprint(c->key, fp);
	rv = ssh_store_key_revoked(gw->ssh->store, c->key, &err);
	if (rv != 0) {
		if (rv > 0)
			reply_error(out, 403, "key_revoked", "SSH key %s is revoked", fp);
		else
			reply_error(out, 503, "revocations_unavailable", "%s", err.reason);
		goto out;
	}
	if (ssh_store_next_serial(gw->ssh->store, &c->serial, &err) < 0) {
		reply_error(out, 503, "serial_unavailable", "cannot reserve a serial: %s", err.reason);
		goto out;
	}
	/* Nonces are sf-strings (printable ASCII), so the key id stays printable. */
	snprintf(c->key_id, sizeof(c->key_id), "vmseal:%s:%.256s", keyid, nonce);
	if (sshcert_sign(c, gw->ssh->key, c->key_id, &line, NULL, NULL, &err) < 0) {
		reply_error(out, 500, "sign_failed", "%s", err.reason);
		goto out;
	}
	time_format_rfc3339((int64_t)c->valid_after, va, sizeof(va));
	time_format_rfc3339((int64_t)c->valid_before, vb, sizeof(vb));
	off = (size_t)snprintf(reason, sizeof(reason), "serial=%" PRIu64 " type=%s principals=",
			       c->serial, c->type == SSHCERT_USER ? "user" : "host");
	for (size_t i = 0; i < c->nprincipals && off < sizeof(reason); i++) {
		off += (size_t)snprintf(reason + off, sizeof(reason) - off, "%s%s", i ? "," : "",
					c->principals[i]);
		json_array_append_new(principals, json_string(c->principals[i]));
	}
	if (off < sizeof(reason))
		off += (size_t)snprintf(reason + off, sizeof(reason) - off,
					" valid_after=%s valid_before=%s key=%s signers=", va, vb, fp);
	for (size_t i = 0; i < who->n && off < sizeof(reason); i++)
		off += (size_t)snprintf(reason + off, sizeof(reason) - off, "%s%s", i ? "," : "",
					who->keys[i]->id);
	snprintf(object, sizeof(object), "ssh certificate %" PRIu64, c->serial);
	/* Not waited for here: the route changes state, so the gateway writes the call's result
	 * event durably before anything is sent, and that fsync covers this line, written before
	 * it (one fsync round per call instead of two). */
	rv = gateway_audit(gw, who->actor, c->type == SSHCERT_USER ? "gateway.ssh.cert.issued"
								   : "gateway.ssh.host-cert.issued",
			   object, "info", reason, 0);
	if (rv < 0) {
		reply_error(out, 503, "audit_unavailable", "the audit log cannot record the certificate");
		goto out;
	}
	reply_ok(out, 200, json_pack("{s:s, s:I, s:s, s:O, s:s, s:s, s:s, s:s}", "certificate", line,
				  "serial", (json_int_t)c->serial, "key_id", c->key_id, "principals",
				  principals, "valid_after", va, "valid_before", vb, "fingerprint",
				  fp, "ca_fingerprint", gw->ssh->fp));
out:
	json_decref(principals);
	free(line);
}

/* The first signer holding one of the route's roles: whose rule applies, whose nonce names
 * the certificate. */
static int requester(const struct route *rt, const struct caller *who, size_t *idx)
{
	for (size_t i = 0; i < who->n; i++)
		if (who->keys[i]->roles & rt->roles) {
			*idx = i;
			return 0;
		}
	return -1;
}

static void ssh_certs_route(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	const struct caller *who = c->who;
	struct ssh_cert_request req;
	struct sshcert cert;
	struct vs_error err = {0};
	size_t i;
	int no_quorum = 0;

	memset(&cert, 0, sizeof(cert));
	memset(&req, 0, sizeof(req));
	if (!configured(gw, out))
		return;
	if (ssh_request_parse_cert(c->body, c->body_len, &req, &err) < 0) {
		reply_error(out, 400, "bad_request", "%s", err.reason);
		goto out;
	}
	if (requester(c->rt, who, &i) < 0) {
		reply_error(out, 403, "forbidden", "no signer has the ssh role");
		goto out;
	}
	if (ssh_decide_user_cert(gw->policy->ssh, who->keys[i]->id, who->with_role, &req, vs_now(),
				 &cert, &no_quorum, &err) < 0) {
		reply_error(out, err.kind == VS_ERR_DENIED ? 403 : 500,
			    no_quorum ? "quorum_not_met" : "ssh_denied",
			    "%s", err.reason);
		goto out;
	}
	cert.key = req.key;
	issue(gw, who, &cert, who->keys[i]->id, who->nonce[i], out);
out:
	sshkey_free(req.key);
}

static void ssh_host_certs_route(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	const struct caller *who = c->who;
	struct ssh_host_request req;
	struct sshcert cert;
	struct vs_error err = {0};
	virDomainPtr dom;
	size_t i;

	memset(&cert, 0, sizeof(cert));
	if (!configured(gw, out))
		return;
	if (ssh_request_parse_host(c->body, c->body_len, &req, &err) < 0) {
		reply_error(out, 400, "bad_request", "%s", err.reason);
		return;
	}
	if (requester(c->rt, who, &i) < 0) {
		reply_error(out, 403, "forbidden", "no signer has the operator role");
		goto out;
	}
	/* A name the policy lets the CA vouch for (ssh.host_names), first: whoever may create a
	 * domain may give it any name. */
	if (ssh_decide_host_cert(gw->policy->ssh, req.domain, vs_now(), &cert, &err) < 0) {
		if (err.kind == VS_ERR_DENIED)
			reply_error(out, 403, "forbidden", "%s", err.reason);
		else
			reply_error(out, 400, "bad_request", "%s", err.reason);
		goto out;
	}
	/* And only a domain this gateway knows gets a certificate for its name. */
	dom = gw->conn ? virDomainLookupByName(gw->conn, req.domain) : NULL;
	if (!dom) {
		reply_error(out, 404, "not_found", "domain \"%s\" does not exist", req.domain);
		goto out;
	}
	virDomainFree(dom);
	cert.key = req.key;
	issue(gw, who, &cert, who->keys[i]->id, who->nonce[i], out);
out:
	sshkey_free(req.key);
}

static void ssh_revoke_route(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	const struct caller *who = c->who;
	struct ssh_revoke_request req;
	struct vs_error err = {0};
	uint64_t version = 0;
	char what[96];
	int added;

	if (!configured(gw, out))
		return;
	if (ssh_request_parse_revoke(c->body, c->body_len, &req, &err) < 0) {
		reply_error(out, 400, "bad_request", "%s", err.reason);
		return;
	}
	if (req.by_serial)
		snprintf(what, sizeof(what), "serial %" PRIu64, req.serial);
	else
		snprintf(what, sizeof(what), "key %s", req.fp_text);
	added = ssh_store_revoke(gw->ssh->store, req.by_serial, req.serial, req.fp, &version, &err);
	if (added < 0) {
		reply_error(out, 503, "revocation_failed", "%s: %s", what, err.reason);
		return;
	}
	if (gateway_audit(gw, who->actor, "gateway.ssh.revoked", what, "info",
			  added ? "already revoked" : "revoked", 1) < 0) {
		reply_error(out, 500, "audit_unavailable", "revoked, but the audit log failed");
		return;
	}
	reply_ok(out, 200, json_pack("{s:s, s:b, s:I}", "revoked", what, "new", !added, "krl_version",
				  (json_int_t)version));
}

static void ssh_krl_route(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	struct vs_error err = {0};
	uint8_t *d = NULL;
	size_t n = 0, nserials, nkeys;
	uint64_t version;
	char *b64;
	int r;

	if (!configured(gw, out))
		return;
	r = ssh_store_krl(gw->ssh->store, vs_now(), &d, &n, &version, &nserials, &nkeys, &err);
	if (r < 0 || !(b64 = b64_encode(d, n))) {
		free(d);
		reply_error(out, 503, "krl_unavailable", "cannot build the KRL: %s", err.reason);
		return;
	}
	reply_ok(out, 200, json_pack("{s:s, s:I, s:I, s:I, s:s}", "krl", b64, "version",
				  (json_int_t)version, "serials", (json_int_t)nserials, "keys",
				  (json_int_t)nkeys, "ca_fingerprint", gw->ssh->fp));
	free(b64);
	free(d);
}

static void ssh_ca_route(const struct call *c)
{
	struct gateway *gw = c->gw;
	struct reply *out = c->out;
	if (!configured(gw, out))
		return;
	reply_ok(out, 200, json_pack("{s:s, s:s}", "public_key", gw->ssh->pub_line, "fingerprint",
				  gw->ssh->fp));
}

#define VIEW (ROLE_VIEWER | ROLE_OPERATOR | ROLE_ADMIN | ROLE_SSH | ROLE_AUDITOR)

/* Logging in to VMs is its own capability: admin does not imply ssh. */
const struct route ssh_routes[] = {
	{"GET", "/v1/ssh/ca", VIEW, 0, QUORUM_NONE, "gateway.ssh.ca", ssh_ca_route},
	{"GET", "/v1/ssh/krl", VIEW, 0, QUORUM_NONE, "gateway.ssh.krl", ssh_krl_route},
	{"POST", "/v1/ssh/certs", ROLE_SSH, ROUTE_CHANGES_STATE, QUORUM_NONE,
	 "gateway.ssh.certs", ssh_certs_route},
	{"POST", "/v1/ssh/host-certs", ROLE_OPERATOR | ROLE_ADMIN, ROUTE_CHANGES_STATE, QUORUM_NONE,
	 "gateway.ssh.host-certs", ssh_host_certs_route},
	{"POST", "/v1/ssh/revoke", ROLE_ADMIN, ROUTE_CHANGES_STATE, QUORUM_NONE,
	 "gateway.ssh.revoke", ssh_revoke_route},
};
const size_t ssh_nroutes = sizeof(ssh_routes) / sizeof(ssh_routes[0]);
