/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway internals shared by its files: state, request context, routes. */
#ifndef VMSEAL_GATEWAY_H
#define VMSEAL_GATEWAY_H

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
#include "lib/replay.h"

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
	const char *audit_log;    /* overrides the policy's audit_log */
	const char *audit_checkpoint; /* --audit-checkpoint: the signed head, rewritten every N events */
	unsigned checkpoint_every;    /* --checkpoint-every N (default 1000) */
	const char *template_dir; /* verified templates: NAME and NAME.intoto.json */
	const char *image_dir;    /* overlays of created domains */
	unsigned threads;
	size_t replay_capacity;
	unsigned request_timeout_s; /* --request-timeout; 0: no deadline */
	unsigned max_connections;   /* --max-connections, bounded by the open-file limit */
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
	int replay_is_redis; /* --replay-store: refusals can say why Redis was not used */
	int64_t started; /* signatures created before this are refused */
	uint64_t audit_events; /* appended since the start (atomic), for --checkpoint-every */
	char *tls_cert_pem, *tls_key_pem, *client_ca_pem;
	struct MHD_Daemon *daemon;
	struct conn_guard *conns; /* gateway_conn.c */
	/* The @authority values a call may be signed for (--authority, else the certificate's
	 * names with the bound port). name_ptrs[0..nnames) are published once, before the
	 * "listening" line; until then every signed call is refused (nnames is read atomically). */
	size_t pending_body_bytes; /* bodies buffered before their call is authorized (atomic) */
	struct tmplcache *tmpl_cache; /* GET /v1/templates verdicts (gateway_routes.c) */
	struct denyagg *denials; /* refused unsigned calls, logged once per interval (deny.c) */
	pthread_t deny_thread;
	int deny_running;
	pthread_mutex_t deny_lock;
	pthread_cond_t deny_cond;
	int deny_stop;
	struct gwnames names;
	const char *name_ptrs[VS_MAX_AUTHORITIES];
	size_t nnames;
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
typedef void (*route_fn)(struct gateway *gw, const struct route *rt, const char *name,
			 const char *query, const char *body, size_t body_len, struct reply *out);
/* A route that needs its signers (their keys and nonces). */
typedef void (*route_caller_fn)(struct gateway *gw, const struct route *rt, const struct caller *who,
				const char *name, const char *query, const char *body,
				size_t body_len, struct reply *out);

enum route_quorum { QUORUM_NONE = 0, QUORUM_DESTROY, QUORUM_DELETE };

struct route {
	const char *method;
	const char *pattern; /* "/v1/domains/{}/start": {} is one path segment, a name */
	unsigned roles;      /* any of these role bits may call it; 0: no signature needed */
	int changes_state;   /* its audit event must be durable before the answer */
	enum route_quorum quorum;
	const char *event;   /* audit event name */
	route_fn fn;         /* NULL: a route of gateway_ssh_routes, run by gateway_ssh_call */
	route_caller_fn with_caller; /* set: run this instead of fn, with the signers */
};

/* Finds the route for method and path; *name gets the {} segment. Returns NULL with
 * *path_known set when only the method is wrong (405). */
const struct route *route_find(const char *method, const char *path, char *name, size_t namelen,
			       int *path_known);

/* Sets out to {"error": code, "detail": detail}. */
void reply_error(struct reply *out, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Audit one event through the group committer; durable waits for the fsync. */
/* Signs the audit log's head with the response key (lib/auditcp): *json is the envelope
 * (malloc'd). verify: check the whole chain first (GET /v1/audit/checkpoint), else the head this
 * gateway last wrote, made durable before it is signed. */
int gateway_checkpoint(struct gateway *gw, int verify, uint64_t *seq, char **json, struct vs_error *err);

int gateway_audit(struct gateway *gw, const char *actor, const char *event, const char *object,
		  const char *decision, const char *reason, int durable);

/* The remote signing service (gateway_sign.c): loads --signing-key (refusing a key whose
 * metadata says retired, revoked or destroyed); POST /v1/sign. */
int gateway_sign_key_load(struct gateway *gw, struct vs_error *err);
void sign_route(struct gateway *gw, const struct route *rt, const struct caller *who,
		const char *name, const char *query, const char *body, size_t body_len,
		struct reply *out);

/* The SSH certificate authority (gateway_ssh.c): loads --ssh-ca-key (refused when its
 * metadata says retired, revoked or destroyed) and the state in --ssh-state-dir; the routes. */
#define GATEWAY_SSH_STATE_DIR "/var/lib/vmseal/ssh"
int gateway_ssh_load(struct gateway *gw, struct vs_error *err);
void gateway_ssh_free(struct gateway *gw);
/* The /v1/ssh routes, a table beside gateway_routes.c's that route_find also searches. */
extern const struct route gateway_ssh_routes[];
extern const size_t gateway_ssh_nroutes;
/* Runs one of gateway_ssh_routes (those without fn) with its signers. */
void gateway_ssh_call(struct gateway *gw, const struct route *rt, const struct caller *who,
		      const char *name, const char *query, const char *body, size_t body_len,
		      struct reply *out);

/* Helpers of the domain routes (gateway_routes.c) shared with gateway_disks.c: the domain by
 * name (NULL with out set), libvirt's error as a status, a 2xx answer, whether it runs, a template
 * of --template-dir judged by the policy, a qcow2 overlay made with qemu-img. */
virDomainPtr gateway_lookup(struct gateway *gw, const char *name, struct reply *out);
void gateway_reply_virt(struct reply *out, const char *what, const char *name);
void gateway_reply_ok(struct reply *out, unsigned status, json_t *body);
int gateway_domain_active(virDomainPtr d);
int gateway_template_eval(struct gateway *gw, const char *file, struct image_verdict *v,
			  struct vs_error *err);
int gateway_make_overlay(const char *backing, const char *fmt, const char *overlay,
			 struct vs_error *err);

/* Verified hot-plug (gateway_disks.c): POST /v1/domains/{name}/disks attaches a template of
 * --template-dir readonly or as a new overlay in --image-dir; POST /v1/domains/{name}/media puts
 * one in a cdrom drive. libvirt runs no hook for either: the gateway judges the image. */
void disks_attach(struct gateway *gw, const struct route *rt, const char *name, const char *query,
		  const char *body, size_t body_len, struct reply *out);
void media_change(struct gateway *gw, const struct route *rt, const char *name, const char *query,
		  const char *body, size_t body_len, struct reply *out);

/* Starts/stops the HTTPS server (gateway_http.c). */
int gateway_http_start(struct gateway *gw, struct vs_error *err);
void gateway_http_stop(struct gateway *gw);

/* The connection guard (gateway_conn.c): a deadline from the moment a connection is ready for
 * a request (accepted, or its previous request answered) until that request is received in
 * full; connections past it are shut down. conn_guard_notify is the NOTIFY_CONNECTION hook. */
struct MHD_Connection;
enum conn_guard_event { CONN_REQUEST_LINE, CONN_REQUEST_RECEIVED, CONN_REQUEST_COMPLETED };
int conn_guard_start(struct gateway *gw, struct vs_error *err);
void conn_guard_stop_reaper(struct gateway *gw);
void conn_guard_free(struct gateway *gw);
void conn_guard_notify(struct gateway *gw, struct MHD_Connection *conn, void **socket_context,
		       int code);
void conn_guard_event(struct gateway *gw, struct MHD_Connection *conn, enum conn_guard_event ev);

/* Raises the soft RLIMIT_NOFILE to the hard limit and bounds cfg.max_connections by it
 * (an explicit --max-connections that does not fit, or that is below cfg.threads, is an
 * error). */
int gateway_fd_budget(struct gateway *gw, int explicit_max, struct vs_error *err);

/* Opens the libvirt connection for the gateway's lifetime (gateway_routes.c). */
int gateway_libvirt_open(struct gateway *gw, struct vs_error *err);
void gateway_libvirt_close(struct gateway *gw);

#endif
