/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway HTTPS front: libmicrohttpd plumbing, limits, signature and role checks,
 * replay claims, audit events and signed responses. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "api/gateway_conn.h"
#include "api/gateway_defer.h"
#include "api/gateway_http.h"
#include "api/gateway_routes.h"
#include "lib/denyagg.h"
#include "lib/gwwire.h"
#include "lib/policy_gateway.h"
#include "lib/replay_redis.h"
#include "lib/util.h"


/* One request, from the URI log callback until MHD reports it completed. */
struct req {
	char *uri; /* raw request target, still percent-encoded */
	int uri_too_long;
	int started;
	int done; /* a response was queued early (413) */
	int too_big;
	size_t discarded;
	char *body;
	size_t len;
	struct http_field fields[VS_MAX_HEADERS];
	size_t nfields;
	int fields_over; /* too many, or one too long: 431 */
	int discard_body; /* a route without a signature (or none): its body is not kept */
	size_t budgeted;  /* bytes of body counted in gw->pending_body_bytes */
	/* A deferred route (gateway_defer.h): the connection is suspended until its answer is in. */
	int deferred;             /* 1 while it runs, 2 once answered (atomic) */
	struct MHD_Connection *conn;
	struct req_view *rv;      /* the request, for the answer's signature */
	struct reply drep;        /* the answer */
	/* The signatures that verified over the headers before the body was read: the check
	 * with the body runs every rule again but not their public-key operations. */
	struct httpsig_memo memo;
	/* An answer held until its audit event is durable (ROUTE_ANSWER_ONLY), the connection
	 * suspended meanwhile: queued when held_durable resumes it. */
	struct MHD_Response *held;
	unsigned held_status;
	struct req_view *held_rv; /* to sign the refusal instead when the event is not durable */
	char held_result[96];
	int held_rc;
	struct gateway *gw;
	/* A ROUTE_ANSWER_ONLY call whose durable result event is on its way (from before its
	 * signature is checked until that event is appended, or the call ends otherwise):
	 * rounds of the group commit wait for it (audit_group_expect). */
	int expecting;
};

static void req_expect(struct gateway *gw, struct req *r)
{
	if (!r->expecting) {
		r->expecting = 1;
		audit_group_expect(gw->group);
	}
}

static void req_unexpect(struct gateway *gw, struct req *r)
{
	if (r->expecting) {
		r->expecting = 0;
		audit_group_unexpect(gw->group);
	}
}

/* Collects the header fields into r (once more from scratch when called again). */
static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value);
static void collect_fields(struct MHD_Connection *conn, struct req *r)
{
	r->nfields = 0;
	r->fields_over = 0;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_field, r);
}


static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req *r = calloc(1, sizeof(*r));

	conn_guard_event(cls, conn, CONN_REQUEST_LINE);
	if (!r)
		return NULL;
	if (strlen(uri) > VS_MAX_URI_BYTES)
		r->uri_too_long = 1;
	else
		r->uri = strdup(uri);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)toe;
	conn_guard_event(cls, conn, CONN_REQUEST_COMPLETED);
	if (!r)
		return;
	req_unexpect(cls, r);
	if (r->budgeted)
		__atomic_sub_fetch(&((struct gateway *)cls)->pending_body_bytes, r->budgeted,
				   __ATOMIC_RELAXED);
	if (r->held)
		MHD_destroy_response(r->held);
	free(r->held_rv);
	free(r->uri);
	free(r->body);
	free(r->rv);
	json_decref(r->drep.body);
	free(r);
	*con_cls = NULL;
}

/* mTLS: ask for a certificate and let GnuTLS refuse the handshake without a valid one
 * (MHD_OPTION_HTTPS_MEM_TRUST alone only requests it). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct gateway *gw = cls;
	const union MHD_ConnectionInfo *ci;

	conn_guard_notify(gw, conn, socket_context, code);
	if (code != MHD_CONNECTION_NOTIFY_STARTED || !gw->client_ca_pem)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci && ci->tls_session) {
		gnutls_session_t s = (gnutls_session_t)ci->tls_session;

		/* A certificate with an extended key usage must list clientAuth (one issued for a
		 * server only is not a client's); GnuTLS accepts one without the extension. */
		static gnutls_typed_vdata_st client_purpose[] = {
			{GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0}};

		gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
		gnutls_session_set_verify_cert2(s, client_purpose, 1, 0);
	}
}

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct req *r = cls;

	(void)kind;
	if (r->nfields >= VS_MAX_HEADERS || !value || strlen(value) > VS_MAX_HEADER_BYTES ||
	    strlen(key) > VS_MAX_HEADER_BYTES) {
		r->fields_over = 1;
		return MHD_NO;
	}
	r->fields[r->nfields++] = (struct http_field){key, value};
	return MHD_YES;
}

/* The request as httpsig sees it. path and query point into buf. */
struct req_view {
	struct http_field_list list;
	struct http_msg msg;
	char target[VS_MAX_URI_BYTES + 1];
};

static void req_view_init(struct req_view *v, struct req *r, const char *method)
{
	char *q;

	snprintf(v->target, sizeof(v->target), "%s", r->uri ? r->uri : "/");
	q = strchr(v->target, '?');
	if (q)
		*q++ = '\0';
	v->list = (struct http_field_list){r->fields, r->nfields};
	v->msg = (struct http_msg){.method = method, .scheme = "https", .path = v->target,
				   .query = q, .fields = http_field_list_get, .fields_ctx = &v->list};
	{
		const char *host = NULL;

		if (http_field_list_get(&v->list, "host", &host, 1) == 1)
			v->msg.authority = host;
	}
}

/* Serialises the reply and signs it bound to the request; NULL on failure. */
static struct MHD_Response *make_response(struct gateway *gw, const struct req_view *rv,
					  struct reply *rep, int want_accept_sig)
{
	char *body = NULL, *digest = NULL, *si = NULL, *sg = NULL;
	struct http_field f[2];
	struct http_field_list fl = {f, 2};
	struct http_msg resp = {.status = (int)rep->status, .fields = http_field_list_get,
				.fields_ctx = &fl, .request = &rv->msg};
	struct MHD_Response *mr = NULL;
	struct vs_error err = {0};
	size_t len;

	if (!rep->body)
		reply_error(rep, 500, "internal", "out of memory");
	body = json_dumps(rep->body, JSON_COMPACT);
	if (!body)
		return NULL;
	len = strlen(body);
	if (content_digest_make("sha-256", (const uint8_t *)body, len, &digest, &err) < 0)
		goto out;
	f[0] = (struct http_field){"Content-Type", "application/json"};
	f[1] = (struct http_field){"Content-Digest", digest};
	if (gwwire_sign_answer(&resp, gw->resp_key, vs_now(), &si, &sg, &err) < 0) {
		fprintf(stderr, "vmseal-gateway: cannot sign response: %s\n", err.reason);
		goto out;
	}
	mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!mr)
		goto out;
	body = NULL;
	MHD_add_response_header(mr, "Content-Type", "application/json");
	MHD_add_response_header(mr, "Content-Digest", digest);
	MHD_add_response_header(mr, "Signature-Input", si);
	MHD_add_response_header(mr, "Signature", sg);
	if (want_accept_sig)
		MHD_add_response_header(mr, "Accept-Signature", GWWIRE_ACCEPT_SIGNATURE);
out:
	free(body);
	free(digest);
	free(si);
	free(sg);
	return mr;
}

/* Queues mr (made for rep) and lets go of it. */
static enum MHD_Result queue(struct MHD_Connection *conn, struct MHD_Response *mr,
			     const struct reply *rep)
{
	enum MHD_Result ret;

	if (!mr)
		return MHD_NO;
	ret = MHD_queue_response(conn, rep->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

/* Serialises the reply, signs it bound to the request and queues it. */
static enum MHD_Result respond(struct gateway *gw, struct MHD_Connection *conn,
			       const struct req_view *rv, struct reply *rep, int want_accept_sig)
{
	return queue(conn, make_response(gw, rv, rep, want_accept_sig), rep);
}

static int policy_key_lookup(void *ctx, const char *keyid, const struct vs_key **key,
			     const void **ref, struct vs_error *err)
{
	struct gateway *gw = ctx;
	const struct policy_key *k;

	if (policy_admin_key(gw->policy, keyid, vs_now(), &k, err) < 0)
		return -1;
	*key = k->key;
	*ref = k;
	return 0;
}

/* Checks signatures, role and quorum, and starts claiming the nonces in *claims (which the
 * caller must finish with claims_refused before anything leaves). Returns 0 when the call may
 * proceed so far; otherwise fills rep (401/403) and returns -1 with the claims finished.
 * actor gets the first keyid (or "anonymous"). */
/* A request's nonce claims, started once its signatures verified. */
struct claims {
	struct replay_batch b;
	int started;
	uint64_t losses; /* Redis's losses of claims known before the signatures were checked */
	char label[HTTPSIG_MAX_SIGS][HTTPSIG_MAX_LABEL + 1];
	char nonce[HTTPSIG_MAX_SIGS][VS_AUDIT_PARAM_BYTES]; /* for the audit reason */
	char keyid[HTTPSIG_MAX_SIGS][VS_AUDIT_PARAM_BYTES];
	int replayed; /* a copy of a call of one signature, refused as a replay */
};

/* How many times the shared replay store was found to have lost its claims. */
static uint64_t redis_losses(struct gateway *gw)
{
	uint64_t n = 0;

	replay_redis_not_before(gw->replay, 0, &n);
	return n;
}

/* Waits for the claims; returns 1 with rep and why filled (401 replay, 503 store) when one of
 * them was refused, 0 when all were granted (or none was started). */
static int claims_refused(struct gateway *gw, struct claims *c, struct reply *rep, char *why,
			  size_t whylen, int *accept_sig)
{
	size_t i;
	enum replay_result rr;

	if (!c->started)
		return 0;
	c->started = 0;
	i = replay_claim_finish(gw->replay, &c->b);
	/* Redis lost its claims after the signatures were checked against the moment of the last
	 * loss: granted in the new epoch, the call may be one claimed before it (a replay) */
	if (i == c->b.n && gw->replay_is_redis && redis_losses(gw) != c->losses)
		rr = REPLAY_UNAVAILABLE;
	else if (i == c->b.n)
		return 0;
	else
		rr = c->b.res[i];
	json_decref(rep->body);
	rep->body = NULL;
	if (rr == REPLAY_SEEN) {
		snprintf(why, whylen, "replay: signature %s nonce \"%s\" already used", c->label[i],
			 c->nonce[i]);
		/* A copy of a call of one signature: anyone's who holds it. With more signatures,
		 * some may be fresh (a captured approval beside a new one): the signers' call. */
		if (c->b.n == 1) {
			reply_error(rep, 401, "replay",
				    "signature %s: nonce already used: this exact signed call reached the "
				    "gateway before, and this copy changed nothing (what the first one did is "
				    "in its own answer and the audit log)", c->label[i]);
			c->replayed = 1;
		} else {
			reply_error(rep, 401, "replay", "signature %s: nonce already used; nothing was done",
				    c->label[i]);
		}
		*accept_sig = 1;
	} else if (rr == REPLAY_KEY_FULL) {
		snprintf(why, whylen, "too many live claims: key %s holds %lld",
			 c->keyid[i], (long long)gw->policy->gateway.max_claims_per_key);
		reply_error(rep, 429, "too_many_claims",
			    "key %.16s holds its %lld live replay claims; try again when they expire",
			    c->keyid[i], (long long)gw->policy->gateway.max_claims_per_key);
	} else {
		char refused[VS_ERR_REASON_MAX] = "";

		if (gw->replay_is_redis)
			replay_redis_refused(gw->replay, refused, sizeof(refused));
		snprintf(why, whylen, "replay cache %s%s%s", replay_result_name(rr),
			 refused[0] ? ": " : "", refused);
		reply_error(rep, 503, "replay_cache_unavailable",
			    "the replay cache is %s%s%s; try again later", replay_result_name(rr),
			    refused[0] ? ": " : "", refused);
	}
	return 1;
}

/* The gateway's rules for a request's signatures (policy_lock held). */
static struct httpsig_verify_opts verify_opts(struct gateway *gw, struct req *r)
{
	return (struct httpsig_verify_opts){
		.key_lookup = policy_key_lookup, .key_ctx = gw, .required = gwwire_call_components,
		.nrequired = GWWIRE_CALL_NREQUIRED, .require_created = 1, .require_expires = 1, .require_nonce = 1,
		.require_keyid = 1, .now = vs_now(), .max_skew_s = gw->policy->gateway.max_skew_s,
		.max_future_skew_s = gw->policy->gateway.max_future_skew_s,
		.max_validity_s = gw->policy->gateway.max_validity_s,
		.not_before = gateway_not_before(gw, gw->policy->gateway.max_future_skew_s),
		.check_authority = 1, .authorities = gw->name_ptrs,
		.nauthorities = __atomic_load_n(&gw->nnames, __ATOMIC_ACQUIRE),
		.body = (const uint8_t *)r->body, .body_len = r->len, .digest_if_body = 1,
		.memo = r->memo.n ? &r->memo : NULL};
}

/* Who made a call, for its audit events (issue 15 item 6). */
struct callctx {
	char client[DENYAGG_CLIENT_BYTES + 8];  /* peer address and port */
	char host[DENYAGG_CLIENT_BYTES];        /* peer address alone */
	char cert[256];                         /* the client certificate's subject (mTLS) */
	char signers[HTTPSIG_MAX_SIGS * VS_SHA256_HEX_BYTES + 8]; /* every verified keyid, comma-separated */
	int unauthenticated;                    /* no valid signature: counted, not logged */
};

static int authorize(struct gateway *gw, const struct route *rt, const struct req_view *rv,
		     struct req *r, struct reply *rep, char *actor, size_t actorlen,
		     char *why, size_t whylen, int *accept_sig, struct claims *claims,
		     struct callctx *cx, struct caller *who)
{
	/* first the losses, then the not-before they give: a loss in between is caught after
	 * the claims (claims_refused) */
	uint64_t losses = gw->replay_is_redis ? redis_losses(gw) : 0;
	struct httpsig_verify_opts o = verify_opts(gw, r);
	struct httpsig_result res;
	struct vs_error err = {0};
	enum policy_call_verdict verdict;
	size_t with_role = 0;
	unsigned need;

	snprintf(actor, actorlen, "anonymous");
	/* A policy that expired while the gateway runs authorises nothing (issue #14 item 3). */
	if (policy_check_expiry(gw->policy, o.now, &err) < 0) {
		snprintf(why, whylen, "%s", err.reason);
		reply_error(rep, 503, "policy_expired", "%s", err.reason);
		return -1;
	}
	if (httpsig_verify(&rv->msg, &o, &res, &err) < 0) {
		/* No valid signature: anyone can send this, so it is only counted, per client and
		 * reason (one event per interval), with the claimed keyid only when it names a key
		 * of the policy. The keyid is never the actor: it was not verified. */
		const char *claimed = res.n < HTTPSIG_MAX_SIGS ? res.sigs[res.n].keyid : "";

		cx->unauthenticated = 1;
		denyagg_note(gw->denials, cx->host, res.code,
			     claimed[0] && policy_find_key(gw->policy, claimed) ? claimed : NULL);
		reply_error(rep, 401, res.code, "%s: %s", err.object, err.reason);
		*accept_sig = 1;
		return -1;
	}
	snprintf(actor, actorlen, "%s", res.sigs[0].keyid);
	{
		size_t off = 0;

		cx->signers[0] = '\0';
		for (size_t i = 0; i < res.n && off < sizeof(cx->signers); i++)
			off += (size_t)snprintf(cx->signers + off, sizeof(cx->signers) - off, "%s%.64s",
						i ? "," : "", res.sigs[i].keyid);
	}
	for (size_t i = 0; i < res.n; i++) {
		who->keys[i] = res.sigs[i].key_ref;
		snprintf(who->nonce[i], sizeof(who->nonce[i]), "%s", res.sigs[i].nonce);
	}
	who->n = res.n;
	who->actor = actor;
	/* route_quorum's values are the policy's (gateway_core.h) */
	verdict = policy_call_check(gw->policy, who->keys, who->n, rt->roles,
				    (enum policy_quorum)rt->quorum, &with_role, &need);
	who->with_role = with_role;
	if (verdict == POLICY_CALL_NO_ROLE) {
		snprintf(why, whylen, "forbidden: no signer has a role for %s", rt->event);
		reply_error(rep, 403, "forbidden", "key %.16s has no role allowed to call %s %s",
			    actor, rt->method, rt->pattern);
		return -1;
	}
	if (verdict != POLICY_CALL_ALLOW) {
		snprintf(why, whylen, "quorum: %zu of %u distinct signers", with_role, need);
		reply_error(rep, 403, "quorum_not_met",
			    "%s %s needs signatures from %u distinct owners' admin keys, got %zu", rt->method,
			    rt->pattern, need, with_role);
		return -1;
	}
	/* A call is accepted only once the start mark covers it: a restart refuses it then. */
	if (startmark_cover(&gw->mark, o.now, gw->policy->gateway.max_future_skew_s, &err) < 0) {
		snprintf(why, whylen, "start mark: %s", err.reason);
		reply_error(rep, 503, "start_mark_unavailable", "%s", err.reason);
		return -1;
	}
	/* Only an authorized call takes replay slots: a key without the role for a route cannot
	 * fill the cache with calls that are refused anyway. */
	{
		struct replay_item items[HTTPSIG_MAX_SIGS];

		for (size_t i = 0; i < res.n; i++) {
			/* held for the signature's whole window plus skew on the monotonic
			 * clock too: a fast wall clock set back later frees no claim early */
			items[i] = replay_item_of(res.sigs[i].keyid, res.sigs[i].nonce,
						  res.sigs[i].created, res.sigs[i].expires,
						  gw->policy->gateway.max_skew_s, o.now);
			snprintf(claims->label[i], sizeof(claims->label[i]), "%s", res.sigs[i].label);
			snprintf(claims->nonce[i], sizeof(claims->nonce[i]), "%.64s", res.sigs[i].nonce);
			snprintf(claims->keyid[i], sizeof(claims->keyid[i]), "%.64s", res.sigs[i].keyid);
		}
		claims->losses = losses;
		replay_claim_start(gw->replay, items, res.n, o.now, &claims->b);
		claims->started = 1;
	}
	snprintf(why, whylen, "%zu signer%s", with_role, with_role > 1 ? "s" : "");
	return 0;
}

/* Runs the route with the call's context (policy_lock held for reading). */
static void route_run(struct gateway *gw, const struct route *rt, const struct caller *who,
		      const char *name, const struct req_view *rv, const struct req *r,
		      const char *client, struct reply *rep)
{
	struct call c = {.gw = gw, .rt = rt, .name = name, .query = rv->msg.query, .body = r->body,
			 .body_len = r->len, .who = who, .client = client, .out = rep};

	rt->fn(&c);
}

/* The client's address and, under mTLS, its certificate's subject. */
static void callctx_init(struct gateway *gw, struct MHD_Connection *conn, struct callctx *w)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	unsigned port = 0;

	memset(w, 0, sizeof(*w));
	snprintf(w->host, sizeof(w->host), "unknown");
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, w->host, sizeof(w->host));
		port = ntohs(in->sin_port);
	} else if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, w->host, sizeof(w->host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(w->client, sizeof(w->client), strchr(w->host, ':') ? "[%s]:%u" : "%s:%u",
		 w->host, port);
	if (!gw->client_ca_pem)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci && ci->tls_session) {
		unsigned n = 0;
		const gnutls_datum_t *certs =
			gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
		gnutls_x509_crt_t crt;
		gnutls_datum_t dn = {NULL, 0};

		if (!certs || n == 0 || gnutls_x509_crt_init(&crt) < 0)
			return;
		if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
		    gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
			/* The CA vouched for it, but keep the log plain: no quotes or controls. */
			size_t k = 0;

			for (unsigned i = 0; i < dn.size && k + 1 < sizeof(w->cert); i++) {
				unsigned char c = dn.data[i];

				w->cert[k++] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
			}
			w->cert[k] = '\0';
		}
		gnutls_free(dn.data);
		gnutls_x509_crt_deinit(crt);
	}
}

/* The reason of a signed call's audit event: why, then who made it. */
static void reason_of_call(char *reason, size_t len, const char *why, const struct callctx *w)
{
	snprintf(reason, len, "%s; signers=%s; client=%s%s%s%s", why,
		 w->signers[0] ? w->signers : "none", w->client, w->cert[0] ? "; cert=\"" : "",
		 w->cert, w->cert[0] ? "\"" : "");
}

/* Audits one event of a signed call: the reason, then who made it (every verified signer, the
 * client's address, its certificate's subject under mTLS). */
static int audit_call(struct gateway *gw, const char *actor, const char *event, const char *object,
		      const char *decision, const char *why, const struct callctx *w, int durable)
{
	char reason[2048];

	reason_of_call(reason, sizeof(reason), why, w);
	return gateway_audit(gw, actor, event, object, decision, reason, durable);
}

/* The deferred route's answer is in (on the deferred-call thread): the connection resumes and
 * on_access sends it (deferred_answer). */
static void deferred_done(void *arg, struct reply *rep)
{
	struct req *r = arg;

	r->drep = *rep;
	__atomic_store_n(&r->deferred, 2, __ATOMIC_RELEASE);
	MHD_resume_connection(r->conn);
}

/* A deferred route, authorized and its claims granted (policy_lock held, released here): logged
 * as allowed, then run on the deferred-call thread while the connection is suspended, so that
 * this worker serves other connections meanwhile. */
static enum MHD_Result handle_deferred(struct gateway *gw, struct MHD_Connection *conn,
				       struct req *r, const struct route *rt, const char *name,
				       struct req_view *rv, const char *actor, const char *object,
				       const char *why, const struct callctx *cx)
{
	struct call c = {.gw = gw, .rt = rt, .name = name, .query = rv->msg.query, .body = r->body,
			 .body_len = r->len, .client = cx->client};
	struct defer_job *job = defer_job_new(&c);
	struct reply rep = {0};
	enum MHD_Result ret;

	if (!job)
		reply_error(&rep, 500, "internal", "out of memory");
	else if (audit_call(gw, actor, rt->event, object, "allow", why, cx, 0) < 0)
		reply_error(&rep, 503, "audit_unavailable", "the audit log cannot record this call");
	gateway_policy_done(gw);
	if (rep.body) {
		defer_job_free(job);
		ret = respond(gw, conn, rv, &rep, 0);
		json_decref(rep.body);
		free(rv);
		return ret;
	}
	r->rv = rv;
	r->conn = conn;
	r->deferred = 1;
	MHD_suspend_connection(conn);
	defer_submit(gw, job, deferred_done, r);
	return MHD_YES;
}

/* Called again once a deferred route's connection resumed: sends its answer. */
static enum MHD_Result deferred_answer(struct gateway *gw, struct MHD_Connection *conn,
				       struct req *r)
{
	enum MHD_Result ret;

	if (__atomic_load_n(&r->deferred, __ATOMIC_ACQUIRE) != 2)
		return MHD_YES; /* not resumed yet */
	r->deferred = 0;
	r->done = 1;
	ret = respond(gw, conn, r->rv, &r->drep, 0);
	json_decref(r->drep.body);
	r->drep.body = NULL;
	return ret;
}

/* ---- answers held until their audit event is durable ---- */

/* Takes a hold (1), or 0 when the gateway is stopping (the caller waits for the disk). */
static int hold_begin(struct gateway *gw)
{
	int ok;

	pthread_mutex_lock(&gw->held_lock);
	ok = !gw->held_closed;
	gw->nheld += (unsigned)ok;
	pthread_mutex_unlock(&gw->held_lock);
	return ok;
}

static void hold_end(struct gateway *gw)
{
	pthread_mutex_lock(&gw->held_lock);
	if (--gw->nheld == 0)
		pthread_cond_broadcast(&gw->held_cond);
	pthread_mutex_unlock(&gw->held_lock);
}

/* The audit group's callback: the event is durable (0) or cannot be (-1). r may be gone once
 * the connection is resumed; the hold keeps the daemon running until then. */
static void held_durable(void *arg, int rc)
{
	struct req *r = arg;
	struct gateway *gw = r->gw;

	if (rc < 0)
		fprintf(stderr, "vmseal-gateway: audit: %s: an event could not be made durable\n",
			gw->audit_path);
	r->held_rc = rc;
	MHD_resume_connection(r->conn);
	hold_end(gw);
}

/* Suspends conn holding mr (the signed answer) and appends the result event; the answer goes
 * out when held_durable resumes it. Returns 0 when held (mr and rv are r's now), -1 when not
 * (nothing changed: the caller audits and answers the usual way). */
static int hold_answer(struct gateway *gw, struct MHD_Connection *conn, struct req *r,
		       struct MHD_Response *mr, unsigned status, struct req_view *rv,
		       const char *actor, const char *event, const char *object,
		       const char *decision, const char *reason, const char *result)
{
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(gw->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	/* The only connection: nobody else waits for this worker, which then runs the fdatasync
	 * itself (no hand-off to the sync thread and back). Otherwise held: the worker's other
	 * connections (libmicrohttpd gives one worker up to ten new ones at once) must not wait
	 * for this one's disk. */
	if (!mr || !di || di->num_connections <= 1 || !hold_begin(gw))
		return -1;
	r->held = mr;
	r->held_status = status;
	r->held_rv = rv;
	r->held_rc = 0;
	r->conn = conn;
	r->gw = gw;
	snprintf(r->held_result, sizeof(r->held_result), "%s", result);
	/* Suspended first: the callback may run in another thread as soon as the event is in. */
	MHD_suspend_connection(conn);
	if (gateway_audit_async(gw, actor, event, object, decision, reason, held_durable, r) < 0) {
		r->held_rc = -1;
		MHD_resume_connection(conn);
		hold_end(gw);
	}
	return 0;
}

/* On the call after the resume: the held answer, or the refusal when its event is not durable. */
static enum MHD_Result answer_held(struct gateway *gw, struct MHD_Connection *conn, struct req *r)
{
	struct reply rep = {.status = r->held_status};
	enum MHD_Result ret;

	if (r->held_rc == 0) {
		ret = queue(conn, r->held, &rep);
	} else {
		MHD_destroy_response(r->held);
		reply_error(&rep, 500, "audit_unavailable",
			    "the call ran (%s) but its result could not be logged", r->held_result);
		ret = respond(gw, conn, r->held_rv, &rep, 0);
		json_decref(rep.body);
	}
	r->held = NULL;
	free(r->held_rv);
	r->held_rv = NULL;
	return ret;
}

static enum MHD_Result handle(struct gateway *gw, struct MHD_Connection *conn, struct req *r,
			      const char *method)
{
	struct req_view *rv = calloc(1, sizeof(*rv));
	struct reply rep = {0};
	const struct route *rt;
	char name[VS_MAX_NAME_BYTES], actor[HTTPSIG_MAX_PARAM + 1], why[1024];
	char object[VS_MAX_NAME_BYTES + 64];
	struct callctx cx;
	struct caller who = {.n = 0};
	int path_known = 0, accept_sig = 0, r_audit;
	struct claims claims = {.started = 0};
	struct MHD_Response *mr = NULL;
	enum MHD_Result ret;

	if (!rv)
		return MHD_NO;
	collect_fields(conn, r);
	req_view_init(rv, r, method);
	if (r->uri_too_long) {
		reply_error(&rep, 414, "uri_too_long", "request target over %u bytes", VS_MAX_URI_BYTES);
		goto send;
	}
	if (r->fields_over) {
		reply_error(&rep, 431, "header_limit",
			    "at most %u header fields of at most %u bytes each", VS_MAX_HEADERS,
			    VS_MAX_HEADER_BYTES);
		goto send;
	}
	if (!rv->msg.authority) {
		reply_error(&rep, 400, "bad_request", "no Host header");
		goto send;
	}
	rt = route_find(method, rv->msg.path, name, sizeof(name), &path_known);
	if (!rt) {
		if (path_known)
			reply_error(&rep, 405, "method_not_allowed", "%s is not allowed here", method);
		else
			reply_error(&rep, 404, "not_found", "no route for %.64s", rv->msg.path);
		goto send;
	}
	callctx_init(gw, conn, &cx);
	if (!rt->roles) { /* /healthz: no signature, no policy */
		route_run(gw, rt, &who, name, rv, r, cx.client, &rep);
		goto send;
	}
	snprintf(object, sizeof(object), "%s %s", method, rv->msg.path);
	gateway_policy_read(gw);
	if (authorize(gw, rt, rv, r, &rep, actor, sizeof(actor), why, sizeof(why), &accept_sig,
		      &claims, &cx, &who) < 0)
		goto deny;
	if (!(rt->flags & (ROUTE_CHANGES_STATE | ROUTE_DEFERRED)) && !strcmp(method, "GET") &&
	    claims.b.pending) {
		/*
		 * A read, with the claims on their way to a remote store (the in-process one has
		 * answered already): the read runs and its answer is signed during the round trip.
		 * Nothing leaves, and nothing is logged as allowed, before every claim is granted.
		 */
		route_run(gw, rt, &who, name, rv, r, cx.client, &rep);
		mr = make_response(gw, rv, &rep, 0);
		if (claims_refused(gw, &claims, &rep, why, sizeof(why), &accept_sig)) {
			if (mr)
				MHD_destroy_response(mr);
			mr = NULL;
			goto deny;
		}
		if (audit_call(gw, actor, rt->event, object, "allow", why, &cx, 0) < 0) {
			if (mr)
				MHD_destroy_response(mr);
			mr = NULL;
			reply_error(&rep, 503, "audit_unavailable", "the audit log cannot record this call");
		}
		gateway_policy_done(gw);
		goto send;
	}
	if (claims_refused(gw, &claims, &rep, why, sizeof(why), &accept_sig))
		goto deny;
	if (rt->flags & ROUTE_DEFERRED)
		return handle_deferred(gw, conn, r, rt, name, rv, actor, object, why, &cx);
	/* The decision is logged before anything happens, durably before a change to the host
	 * (ROUTE_ANSWER_ONLY: the result's fdatasync below covers it before the answer). */
	if (audit_call(gw, actor, rt->event, object, "allow", why, &cx,
		       (rt->flags & ROUTE_CHANGES_STATE) && !(rt->flags & ROUTE_ANSWER_ONLY)) < 0) {
		reply_error(&rep, 503, "audit_unavailable", "the audit log cannot record this call");
		gateway_policy_done(gw);
		goto send;
	}
	/* Its result follows within one route run: a round for held answers waits for it, so that
	 * concurrent calls share an fdatasync (audit_group_expect). */
	if (rt->flags & ROUTE_ANSWER_ONLY)
		req_expect(gw, r);
	route_run(gw, rt, &who, name, rv, r, cx.client, &rep);
	if (rt->flags & ROUTE_CHANGES_STATE) {
		char result[96], full[sizeof(result) + sizeof(rep.changed) + 16];
		json_t *code = rep.body ? json_object_get(rep.body, "error") : NULL;
		const char *decision = rep.status < 300 ? "info" : "error";

		snprintf(result, sizeof(result), "%u %s", rep.status,
			 code ? json_string_value(code) : "ok");
		if (rep.changed[0])
			snprintf(full, sizeof(full), "%s; changed: %s", result, rep.changed);
		else
			snprintf(full, sizeof(full), "%s", result);
		if (rt->flags & ROUTE_ANSWER_ONLY) {
			/* The answer is signed now and held, without a worker thread, until the
			 * fdatasync covering the decision and this result is done. */
			char reason[2048];
			struct MHD_Response *held = make_response(gw, rv, &rep, accept_sig);

			reason_of_call(reason, sizeof(reason), full, &cx);
			if (hold_answer(gw, conn, r, held, rep.status, rv, actor, rt->event, object,
					decision, reason, result) == 0) {
				req_unexpect(gw, r); /* appended (or refused) */
				gateway_policy_done(gw);
				json_decref(rep.body);
				return MHD_YES;
			}
			req_unexpect(gw, r); /* appended below, waiting for its fdatasync */
			mr = held; /* sent once the event is durable; NULL: signed again below */
		}
		r_audit = audit_call(gw, actor, rt->event, object, decision, full, &cx, 1);
		if (r_audit < 0) {
			if (mr)
				MHD_destroy_response(mr);
			mr = NULL;
			reply_error(&rep, 500, "audit_unavailable",
				    "the call ran (%s) but its result could not be logged", result);
		}
	}
	gateway_policy_done(gw);
	goto send;
deny:
	claims_refused(gw, &claims, &rep, why, sizeof(why), &accept_sig); /* never left pending */
	/* A replay is anyone's who holds a copy of the signed call: counted per client, reason
	 * and key (one event per interval), not one event each under the key holder's name. */
	if (claims.replayed)
		denyagg_note(gw->denials, cx.host, DENYAGG_REPLAY, claims.keyid[0]);
	else if (!cx.unauthenticated)
		audit_call(gw, actor, rt->event, object, "deny", why, &cx, 0);
	gateway_policy_done(gw);
send:
	req_unexpect(gw, r);
	ret = mr ? queue(conn, mr, &rep) : respond(gw, conn, rv, &rep, accept_sig);
	json_decref(rep.body);
	free(rv);
	return ret;
}

/* Early refusal while the body is still arriving. */
static enum MHD_Result refuse_early_sig(struct gateway *gw, struct MHD_Connection *conn,
					struct req *r, const char *method, unsigned status,
					const char *code, const char *detail, int accept_sig)
{
	struct req_view *rv = calloc(1, sizeof(*rv));
	struct reply rep = {0};
	enum MHD_Result ret;

	if (!rv)
		return MHD_NO;
	collect_fields(conn, r);
	req_view_init(rv, r, method);
	reply_error(&rep, status, code, "%s", detail);
	r->done = 1;
	ret = respond(gw, conn, rv, &rep, accept_sig);
	json_decref(rep.body);
	free(rv);
	return ret;
}

/* RFC 9112 §6.3: a message whose length is ambiguous must not be read (request smuggling). */
struct framing {
	unsigned content_length, transfer_encoding, other_coding;
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct framing *f = cls;

	(void)kind;
	if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
		f->content_length++;
	else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		f->transfer_encoding++;
		if (!value || strcasecmp(value, "chunked"))
			f->other_coding = 1;
	}
	return MHD_YES;
}

/* NULL when the framing is unambiguous, else why not. */
static const char *framing_refused(struct MHD_Connection *conn)
{
	struct framing f = {0};

	MHD_get_connection_values(conn, MHD_HEADER_KIND, count_framing, &f);
	if (f.content_length > 1)
		return "more than one Content-Length field";
	if (f.content_length && f.transfer_encoding)
		return "both Content-Length and Transfer-Encoding";
	if (f.transfer_encoding > 1 || f.other_coding)
		return "Transfer-Encoding other than one \"chunked\"";
	return NULL;
}

static enum MHD_Result refuse_early(struct gateway *gw, struct MHD_Connection *conn, struct req *r,
				    const char *method, unsigned status, const char *code,
				    const char *detail)
{
	return refuse_early_sig(gw, conn, r, method, status, code, detail, 0);
}

/*
 * A request that announces a body: its signatures are checked over the headers before a byte
 * of the body is kept (Content-Digest is checked once the body is in, by the full check in
 * handle). Without a valid signature it is refused at once and its body never read; a route
 * that needs no signature, or none, gets its body discarded. Returns MHD_YES to go on reading.
 */
static enum MHD_Result check_before_body(struct gateway *gw, struct MHD_Connection *conn,
					 struct req *r, const char *method)
{
	struct req_view *rv = calloc(1, sizeof(*rv));
	const struct route *rt;
	struct httpsig_verify_opts o;
	struct httpsig_result res;
	struct vs_error err = {0};
	char name[VS_MAX_NAME_BYTES], detail[VS_ERR_OBJECT_MAX + VS_ERR_REASON_MAX + 4];
	int path_known = 0, rc;

	if (!rv)
		return MHD_NO;
	collect_fields(conn, r);
	req_view_init(rv, r, method);
	rt = r->uri_too_long || r->fields_over || !rv->msg.authority
		     ? NULL
		     : route_find(method, rv->msg.path, name, sizeof(name), &path_known);
	if (!rt || !rt->roles) {
		r->discard_body = 1; /* answered from the headers alone, in handle */
		free(rv);
		return MHD_YES;
	}
	/* A signing call: its result is announced while its signature is checked (most of its
	 * work), withdrawn at once when refused, at the latest when the request ends. */
	if (rt->flags & ROUTE_ANSWER_ONLY)
		req_expect(gw, r);
	gateway_policy_read(gw);
	o = verify_opts(gw, r);
	o.body_pending = 1;
	o.memo = &r->memo;
	rc = httpsig_verify(&rv->msg, &o, &res, &err);
	if (rc < 0) {
		struct callctx cx;
		const char *claimed = res.n < HTTPSIG_MAX_SIGS ? res.sigs[res.n].keyid : "";

		callctx_init(gw, conn, &cx);
		denyagg_note(gw->denials, cx.host, res.code,
			     claimed[0] && policy_find_key(gw->policy, claimed) ? claimed : NULL);
	}
	gateway_policy_done(gw);
	free(rv);
	if (rc == 0)
		return MHD_YES;
	req_unexpect(gw, r);
	snprintf(detail, sizeof(detail), "%s: %s", err.object, err.reason);
	return refuse_early_sig(gw, conn, r, method, 401, res.code, detail, 1);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct gateway *gw = cls;
	struct req *r = *con_cls;

	(void)url; (void)version;
	if (!r)
		return MHD_NO;
	if (r->deferred)
		return deferred_answer(gw, conn, r);
	if (r->held)
		return answer_held(gw, conn, r);
	if (r->done) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (!r->started) {
		/* Keep-alive: answer on a later call, once the whole body is in. */
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
								 MHD_HTTP_HEADER_EXPECT);

		const char *bad_framing = framing_refused(conn);

		r->started = 1;
		if (bad_framing)
			return refuse_early(gw, conn, r, method, 400, "bad_framing", bad_framing);
		if (cl) {
			char *end;
			unsigned long long n;

			errno = 0;
			n = strtoull(cl, &end, 10);
			if (errno || *end || end == cl || n > VS_MAX_BODY_BYTES) {
				/* A client waiting for 100 Continue gets the refusal instead and sends
				 * no body; any other is read out (up to a bound) so that it sees the
				 * answer instead of a reset connection. */
				if (expect && !strcasecmp(expect, "100-continue"))
					return refuse_early(gw, conn, r, method, 413, "body_too_large",
							    "request body over 1 MiB");
				r->too_big = 1;
			}
		}
		if (!r->too_big &&
		    ((cl && strcmp(cl, "0")) ||
		     MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_TRANSFER_ENCODING)))
			return check_before_body(gw, conn, r, method);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		char *nb;

		*upload_data_size = 0;
		if (r->discard_body && !r->too_big && r->discarded + n <= VS_MAX_BODY_BYTES) {
			r->discarded += n;
			return MHD_YES;
		}
		if (r->too_big || r->discard_body || r->len + n > VS_MAX_BODY_BYTES) {
			r->too_big = 1;
			r->discarded += n;
			if (r->discarded > VS_MAX_DISCARD_BYTES)
				return refuse_early(gw, conn, r, method, 413, "body_too_large",
						    "request body over 1 MiB");
			return MHD_YES;
		}
		/* Bodies of calls not yet authorized are bounded in total (many connections each
		 * sending a body under one captured signature must not exhaust memory). */
		if (__atomic_add_fetch(&gw->pending_body_bytes, n, __ATOMIC_RELAXED) >
		    gw->cfg.preauth_memory) {
			__atomic_sub_fetch(&gw->pending_body_bytes, n, __ATOMIC_RELAXED);
			return refuse_early(gw, conn, r, method, 503, "busy",
					    "too many request bodies in flight; try again");
		}
		r->budgeted += n;
		nb = realloc(r->body, r->len + n + 1);
		if (!nb)
			return MHD_NO;
		r->body = nb;
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	conn_guard_event(gw, conn, CONN_REQUEST_RECEIVED); /* its deadline is met */
	if (r->too_big)
		return refuse_early(gw, conn, r, method, 413, "body_too_large",
				    "request body over 1 MiB");
	return handle(gw, conn, r, method);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, struct vs_error *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	size_t hl;
	int rc;

	if (!colon || colon == listen || !colon[1])
		return vs_fail(err, VS_ERR_USAGE, "--listen", "expected HOST:PORT, got \"%s\"", listen);
	hl = (size_t)(colon - listen);
	if (listen[0] == '[' && colon[-1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return vs_fail(err, VS_ERR_USAGE, "--listen", "host too long");
	memcpy(host, listen, hl);
	host[hl] = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0 || !ai)
		return vs_fail(err, VS_ERR_USAGE, "--listen", "cannot resolve \"%s\": %s", host,
			       gai_strerror(rc));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

/* ---- refused unsigned calls: one audit event per client and reason per interval ---- */

static void deny_log(void *ctx, const struct denyagg_entry *e)
{
	struct gateway *gw = ctx;
	char object[DENYAGG_CLIENT_BYTES + 8], reason[256];
	int unfinished = !strcmp(e->code, DENYAGG_CUT_UNFINISHED);

	snprintf(object, sizeof(object), "client %s", e->client);
	if (!strcmp(e->code, DENYAGG_REPLAY)) {
		snprintf(reason, sizeof(reason),
			 "replay: %llu cop%s of signed calls already accepted, within %u s%s%s",
			 (unsigned long long)e->count, e->count == 1 ? "y" : "ies", VS_DENY_AGG_INTERVAL_S,
			 e->keyid[0] ? "; keyid=" : "", e->keyid);
		gateway_audit(gw, "anonymous", "gateway.replay", object, "deny", reason, 0);
		return;
	}
	if (!strcmp(e->code, "various")) { /* the table was full: of every kind */
		snprintf(reason, sizeof(reason),
			 "%llu more refusals (requests without a valid signature, replays, cut connections) within %u s",
			 (unsigned long long)e->count, VS_DENY_AGG_INTERVAL_S);
		gateway_audit(gw, "anonymous", "gateway.unauthenticated", object, "deny", reason, 0);
		return;
	}
	if (unfinished || !strcmp(e->code, DENYAGG_CUT_NO_REQUEST)) {
		snprintf(reason, sizeof(reason),
			 "%llu connection%s cut: no complete request within %u s (%s), within %u s",
			 (unsigned long long)e->count, e->count == 1 ? "" : "s", gw->cfg.request_timeout_s,
			 unfinished ? "headers or body unfinished" : "no request line", VS_DENY_AGG_INTERVAL_S);
		gateway_audit(gw, "anonymous", "gateway.connection.cut", object, "deny", reason, 0);
		return;
	}
	snprintf(reason, sizeof(reason), "%s: %llu request%s without a valid signature within %u s%s%s",
		 e->code, (unsigned long long)e->count, e->count == 1 ? "" : "s",
		 VS_DENY_AGG_INTERVAL_S, e->keyid[0] ? "; claimed_keyid=" : "", e->keyid);
	gateway_audit(gw, "anonymous", "gateway.unauthenticated", object, "deny", reason, 0);
}

static void *deny_flusher(void *arg)
{
	struct gateway *gw = arg;
	struct timespec until;

	pthread_mutex_lock(&gw->deny_lock);
	while (!gw->deny_stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += VS_DENY_AGG_INTERVAL_S;
		while (!gw->deny_stop &&
		       pthread_cond_timedwait(&gw->deny_cond, &gw->deny_lock, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&gw->deny_lock);
		denyagg_drain(gw->denials, deny_log, gw);
		pthread_mutex_lock(&gw->deny_lock);
	}
	pthread_mutex_unlock(&gw->deny_lock);
	return NULL;
}

static int deny_start(struct gateway *gw, struct vs_error *err)
{
	pthread_condattr_t ca;

	gw->denials = denyagg_new(VS_DENY_AGG_SLOTS);
	if (!gw->denials)
		return vs_fail(err, VS_ERR_INTERNAL, "gateway", "out of memory");
	pthread_mutex_init(&gw->deny_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&gw->deny_cond, &ca);
	pthread_condattr_destroy(&ca);
	gw->deny_stop = 0;
	if (pthread_create(&gw->deny_thread, NULL, deny_flusher, gw) != 0)
		return vs_fail(err, VS_ERR_INTERNAL, "gateway", "cannot start a thread");
	gw->deny_running = 1;
	return 0;
}

/* After the daemon stopped: the last counts are logged (the flusher drains once more). */
static void deny_stop(struct gateway *gw)
{
	if (gw->deny_running) {
		pthread_mutex_lock(&gw->deny_lock);
		gw->deny_stop = 1;
		pthread_cond_signal(&gw->deny_cond);
		pthread_mutex_unlock(&gw->deny_lock);
		pthread_join(gw->deny_thread, NULL);
		gw->deny_running = 0;
		pthread_cond_destroy(&gw->deny_cond);
		pthread_mutex_destroy(&gw->deny_lock);
	}
	if (gw->denials)
		denyagg_drain(gw->denials, deny_log, gw);
	denyagg_free(gw->denials);
	gw->denials = NULL;
}

/* The listen address reaches this host alone (127.0.0.0/8, ::1, or an IPv4-mapped 127.x). */
static int listen_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return 0;
}

int gateway_http_start(struct gateway *gw, struct vs_error *err)
{
	struct sockaddr_storage ss;
	/* Suspend and resume: a deferred route's connection waits while its route runs elsewhere.
	 * No listen socket of its own: the acceptor (gateway_conn.c) hands it the connections. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_AUTO |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
	const union MHD_DaemonInfo *di;
	unsigned port = 0, mhd_limit;

	memset(&ss, 0, sizeof(ss));
	if (parse_listen(gw->cfg.listen, &ss, err) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (gw->cfg.verbose)
		flags |= MHD_USE_ERROR_LOG;
	pthread_mutex_init(&gw->held_lock, NULL);
	pthread_cond_init(&gw->held_cond, NULL);
	gw->nheld = 0;
	gw->held_closed = 0;
	/* the counts first: the guard's reaper counts the connections it cuts there */
	if (deny_start(gw, err) < 0 || conn_guard_start(gw, err) < 0 ||
	    conn_accept_listen(gw, &ss, &port, err) < 0 || defer_start(gw, err) < 0)
		return -1;
	/* The acceptor keeps the total to --max-connections; each worker may take all of them, so
	 * that libmicrohttpd never drops a connection the acceptor counted (fd-number spreading
	 * can give one worker more than its share). */
	mhd_limit = gw->cfg.max_connections > UINT_MAX / gw->cfg.threads
			    ? UINT_MAX
			    : gw->cfg.max_connections * gw->cfg.threads;
	{
		struct MHD_OptionItem o[20];
		size_t n = 0;

		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, gw->tls_key_pem};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, gw->tls_cert_pem};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
						 (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3"};
		if (gw->client_ca_pem)
			o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
							 gw->client_ca_pem};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, gw->cfg.threads, NULL};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 << 10, NULL};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL};
		/* (its default is FD_SETSIZE - 4 = 1020) */
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, mhd_limit, NULL};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
		/* Two-argument options take the function as intptr_t (MHD_OPTION_ARRAY rules). */
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)on_uri, gw};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed,
						 gw};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
						 (intptr_t)on_connection, gw};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
		gw->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, gw, MHD_OPTION_ARRAY, o,
					      MHD_OPTION_END);
	}
	if (!gw->daemon)
		return vs_fail(err, VS_ERR_IO, gw->cfg.listen,
			       "cannot start the HTTPS server (address in use, or bad TLS files)");
	di = MHD_get_daemon_info(gw->daemon, MHD_DAEMON_INFO_FLAGS);
	/* select() cannot watch descriptors past FD_SETSIZE: more connections need epoll. */
	if (!di || !(di->flags & MHD_USE_EPOLL)) {
		gateway_http_stop(gw);
		return vs_fail(err, VS_ERR_INTERNAL, "libmicrohttpd", "built without epoll");
	}
	if (conn_accept_start(gw, gw->daemon, err) < 0) {
		gateway_http_stop(gw);
		return -1;
	}
	if (!gw->names.n && gwnames_add_cert(&gw->names, gw->tls_cert_pem, port, listen_is_loopback(&ss), err) < 0) {
		gateway_http_stop(gw);
		return -1;
	}
	{
		char names[1024];

		for (size_t i = 0; i < gw->names.n; i++)
			gw->name_ptrs[i] = gw->names.v[i];
		__atomic_store_n(&gw->nnames, gw->names.n, __ATOMIC_RELEASE);
		gwnames_format(&gw->names, names, sizeof(names));
		fprintf(stderr, "vmseal-gateway: calls must be signed for one of: %s\n", names);
	}
	{
		/* The URL shows the port really bound (--listen HOST:0 picks a free one). */
		const char *colon = strrchr(gw->cfg.listen, ':');
		int hostlen = colon ? (int)(colon - gw->cfg.listen) : (int)strlen(gw->cfg.listen);

		fprintf(stderr, "vmseal-gateway: listening on https://%.*s:%u (port %u), %u threads, "
				"at most %u connections, request timeout %u s%s\n",
			hostlen, gw->cfg.listen, port, port, gw->cfg.threads, gw->cfg.max_connections,
			gw->cfg.request_timeout_s, gw->client_ca_pem ? ", client certificates required" : "");
	}
	return 0;
}

void gateway_http_stop(struct gateway *gw)
{
	conn_accept_stop(gw); /* no new connection for the daemon once it stops */
	conn_guard_stop_reaper(gw);
	/* Every suspended connection is answered (resumed) before the daemon stops: stopping it
	 * with one still suspended is not allowed. */
	defer_stop(gw);
	if (gw->daemon) {
		/* Held answers first: each is resumed within one fdatasync (or its failure), and a
		 * call arriving meanwhile waits for the disk in its worker instead. */
		pthread_mutex_lock(&gw->held_lock);
		gw->held_closed = 1;
		while (gw->nheld > 0)
			pthread_cond_wait(&gw->held_cond, &gw->held_lock);
		pthread_mutex_unlock(&gw->held_lock);
		MHD_stop_daemon(gw->daemon);
	}
	gw->daemon = NULL;
	conn_guard_free(gw); /* after the daemon: its CLOSED notifications use the guard */
	deny_stop(gw);
	defer_free(gw);
}
