/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway core: the gateway's state (set up and torn down here), the policy lock, the
 * audit log, replies and errors, and the libvirt connection with its small helpers.
 *
 * Layers (each calls only the ones below it; tests/sh/layers.sh checks the includes):
 *
 *   vmseal-gateway.c        options, signals; calls the core, the HTTP front and the SSH CA
 *   gateway_http.c          libmicrohttpd, limits, signatures, roles, replay claims, responses
 *   gateway_conn.c          the connection guard (request deadlines) and the acceptor
 *   gateway_defer.c         the thread that runs slow routes while their connection waits
 *   gateway_routes.c        the route table; a route gets one struct call
 *     gateway_domains.c, gateway_disks.c, gateway_ssh.c, gateway_sign.c, gateway_auditlog.c
 *     gateway_templates.c   (domains and disks use its template judgement and overlays)
 *   gateway_core.c          this file's functions: state, policy lock, audit, replies
 *
 * The core includes no other gateway header; routes never include gateway_http.h or
 * gateway_conn.h; the connection guard and the deferred calls include only the core.
 */
#ifndef VMSEAL_GATEWAY_CORE_H
#define VMSEAL_GATEWAY_CORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <libvirt/libvirt.h>

#include "lib/audit.h"
#include "lib/error.h"
#include "lib/gwnames.h"
#include "lib/httpsig.h"
#include "lib/key.h"
#include "lib/limits.h"
#include "lib/policy.h"
#include "lib/policy_gateway.h"
#include "lib/replay.h"
#include "lib/startmark.h"

struct gateway_config {
	const char *listen;       /* "127.0.0.1:8443" */
	const char *tls_cert, *tls_key, *client_ca;
	const char *policy_path;
	const char *trust_state;  /* NULL: the one that governs policy_path (lib/truststate.h) */
	const char *libvirt_uri;
	const char *response_key, *response_passfile;
	const char *signing_key, *signing_passfile; /* POST /v1/sign (gateway_sign.c); NULL: off */
	const char *ssh_ca_key, *ssh_ca_passfile;   /* the /v1/ssh routes (gateway_ssh.c); NULL: off */
	const char *ssh_state_dir;                  /* serial counter and revocations */
	int ssh_shared;                             /* ... in the --replay-store Redis instead */
	const char *replay_url;      /* --replay-store; NULL: the in-process cache */
	const char *replay_passfile; /* --replay-store-password-file */
	const char *audit_log;    /* overrides the policy's audit_log */
	const char *audit_checkpoint; /* --audit-checkpoint: the signed head, rewritten every N events */
	unsigned checkpoint_every;    /* --checkpoint-every N (default 1000) */
	const char *template_dir; /* verified templates: NAME and NAME.intoto.json */
	const char *image_dir;    /* overlays of created domains */
	unsigned threads;
	int threads_set;            /* --threads given (else more with --replay-store) */
	size_t replay_capacity;
	size_t preauth_memory;      /* --preauth-memory: bodies held before their call is authorized */
	unsigned request_timeout_s; /* --request-timeout; 0: no deadline */
	unsigned max_connections;   /* --max-connections, bounded by the open-file limit */
	int max_connections_set;    /* --max-connections given: an error when it does not fit */
	int verbose;
};

#define GATEWAY_REQUEST_TIMEOUT_DEFAULT 10
#define GATEWAY_MAX_CONNECTIONS_DEFAULT 4096
#define GATEWAY_FD_RESERVE 64 /* descriptors kept for everything but connections (plus 2/thread) */

struct gateway {
	struct gateway_config cfg;
	pthread_rwlock_t policy_lock; /* read for a request, write for a SIGHUP reload */
	struct policy *policy;
	virConnectPtr conn;
	struct vs_key *resp_key;
	struct vs_key *sign_key; /* the remote signing service's key, or NULL */
	struct ssh_ca *ssh;      /* the SSH certificate authority (gateway_ssh.c), or NULL */
	struct audit_log *audit;
	struct audit_group *group;
	char audit_path[VS_MAX_PATH_BYTES];
	struct replay_store *replay;
	/* Beside the audit log: the latest created any accepted call may carry, so that a
	 * restart (an empty in-process cache) refuses every call accepted before it. */
	struct startmark mark;
	int replay_is_redis; /* --replay-store: refusals can say why Redis was not used */
	uint64_t redis_losses_seen; /* losses of Redis's claims already logged (atomic) */
	int64_t started; /* signatures created before this are refused */
	uint64_t audit_events; /* appended since the start (atomic), for --checkpoint-every */
	char *tls_cert_pem, *tls_key_pem, *client_ca_pem;
	struct MHD_Daemon *daemon;
	struct conn_guard *conns; /* gateway_conn.c */
	struct defer *defer;      /* the deferred-call thread (gateway_defer.c) */
	/* The @authority values a call may be signed for (--authority, else the certificate's
	 * names with the bound port). name_ptrs[0..nnames) are published once, before the
	 * "listening" line; until then every signed call is refused (nnames is read atomically). */
	size_t pending_body_bytes; /* bodies buffered before their call is authorized (atomic) */
	struct tmplcache *tmpl_cache; /* GET /v1/templates verdicts (gateway_templates.c) */
	struct denyagg *denials; /* refused unsigned calls, logged once per interval (deny.c) */
	pthread_t deny_thread;
	int deny_running;
	pthread_mutex_t deny_lock;
	pthread_cond_t deny_cond;
	int deny_stop;
	struct gwnames names;
	const char *name_ptrs[VS_MAX_AUTHORITIES];
	size_t nnames;
	/* Answers held, their connection suspended, until their audit event is durable
	 * (ROUTE_ANSWER_ONLY routes, gateway_http.c): no worker thread waits for the disk. */
	pthread_mutex_t held_lock;
	pthread_cond_t held_cond;
	unsigned nheld;
	int held_closed; /* stopping: answers are no longer held; the daemon stops at nheld 0 */
};

/* A route's answer: status and a JSON body (owned; NULL only with an error set). */
struct reply {
	unsigned status;
	json_t *body;
	char changed[768]; /* what a state change did, for its audit event ("" when nothing) */
};

/* Who is calling: every signature that verified, in order, with its nonce. */
struct caller {
	const struct policy_key *keys[HTTPSIG_MAX_SIGS];
	char nonce[HTTPSIG_MAX_SIGS][HTTPSIG_MAX_PARAM + 1];
	size_t n;
	size_t with_role;  /* distinct owners whose keys hold one of the route's roles */
	const char *actor; /* first keyid, for the audit log */
};

struct route;

/* One call as a route sees it (built by gateway_http.c, policy_lock held for reading). */
struct call {
	struct gateway *gw;
	const struct route *rt;
	const char *name;          /* the {} path segment, "" when the pattern has none */
	const char *query;         /* raw query, or NULL */
	const char *body;          /* NUL-terminated, or NULL */
	size_t body_len;
	const struct caller *who;  /* the verified signers (n == 0 on a route without roles) */
	const char *client;        /* the peer's address and port */
	struct reply *out;         /* the answer the route builds */
};

typedef void (*route_fn)(const struct call *c);

enum route_quorum { /* the policy's quorums (lib/policy_gateway.h) */
	QUORUM_NONE = POLICY_QUORUM_NONE,
	QUORUM_DESTROY = POLICY_QUORUM_DESTROY,
	QUORUM_DELETE = POLICY_QUORUM_DELETE,
};

/* Its audit event must be durable before the answer, and its result is audited too. */
#define ROUTE_CHANGES_STATE 1u
/* Runs on the deferred-call thread (gateway_defer.h), its connection suspended, not on a
 * libmicrohttpd worker: for a read that may take long. It gets no signers (c->who->n 0) and
 * changes no state. */
#define ROUTE_DEFERRED 2u
/* Its only effect is what it answers (a signature): the decision is written before it acts, and
 * one fdatasync makes the decision and the result durable before the answer (a crash in
 * between leaves nothing out: the signature never left). With ROUTE_CHANGES_STATE. */
#define ROUTE_ANSWER_ONLY 4u

struct route {
	const char *method;
	const char *pattern; /* "/v1/domains/{}/start": {} is one path segment, a name */
	unsigned roles;      /* any of these role bits may call it; 0: no signature needed */
	unsigned flags;      /* ROUTE_CHANGES_STATE, ROUTE_DEFERRED, ROUTE_ANSWER_ONLY */
	enum route_quorum quorum;
	const char *event;   /* audit event name */
	route_fn fn;
};

/* ---- state ---- */

/* Loads everything the gateway runs on, in this order: policy, response and signing keys,
 * TLS files, audit log and its group committer, replay store, template cache, libvirt
 * connection, descriptor budget. t_start is the time taken first thing in main: signatures
 * created up to t_start + max_future_skew_s may have been accepted by a previous gateway, so
 * they are refused, and gateway_wait_start waits until calls made now are later than that.
 * On failure err is set; gateway_core_free frees what was set up either way. */
int gateway_core_start(struct gateway *gw, int64_t t_start, struct vs_error *err);
/* Returns once a call created now is newer than every call accepted before the start. */
void gateway_wait_start(const struct gateway *gw);

/* The first created a call may carry now: gw->started, or later when the shared replay store
 * lost its claims since (replay_redis_not_before with future_skew_s; a new loss is logged in
 * one line). */
int64_t gateway_not_before(struct gateway *gw, int64_t future_skew_s);
void gateway_core_free(struct gateway *gw);
/* SIGHUP: loads the policy again and swaps it in under the write lock (or keeps the old one,
 * audited, when the new one does not load). */
void gateway_policy_reload(struct gateway *gw);

/* The policy read lock, held by a request from its signature check to its audit event. */
void gateway_policy_read(struct gateway *gw);
void gateway_policy_done(struct gateway *gw);

/* ---- audit ---- */

/* Audit one event through the group committer; durable waits for the fsync. */
int gateway_audit(struct gateway *gw, const char *actor, const char *event, const char *object,
		  const char *decision, const char *reason, int durable);
/* Like gateway_audit with durable, without waiting: done(arg, 0) once the event is durable,
 * done(arg, -1) when it cannot be (audit_group_append_async). -1: not written, no call. */
int gateway_audit_async(struct gateway *gw, const char *actor, const char *event,
			const char *object, const char *decision, const char *reason,
			void (*done)(void *arg, int rc), void *arg);
/* Signs the audit log's head with the response key (lib/auditcp): *json is the envelope
 * (malloc'd). verify: check the whole chain first (GET /v1/audit/checkpoint), else the head this
 * gateway last wrote, made durable before it is signed. */
int gateway_checkpoint(struct gateway *gw, int verify, uint64_t *seq, char **json, struct vs_error *err);

/* ---- replies ---- */

/* Sets out to {"error": code, "detail": detail}. */
void reply_error(struct reply *out, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Sets out to status and body (taken; NULL: 500 out of memory). */
void reply_ok(struct reply *out, unsigned status, json_t *body);
/* Maps the thread's last libvirt error to a status by what it means (404, 409, 502). */
void reply_virt(struct reply *out, const char *what, const char *name);

/* ---- libvirt ---- */

/* The domain by name (NULL with out set: 404 for a name no domain may have). */
virDomainPtr gateway_domain_lookup(struct gateway *gw, const char *name, struct reply *out);
/* 1 running (or paused, ...), 0 shut off, -1 libvirt error. */
int gateway_domain_active(virDomainPtr d);

#endif
