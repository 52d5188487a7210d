/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway core: state set-up and tear-down, the policy lock, audit, replies, libvirt. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libvirt/virterror.h>
#include <openssl/crypto.h>

#include "api/gateway_core.h"
#include "lib/auditcp.h"
#include "lib/gwbody.h"
#include "lib/keymeta.h"
#include "lib/replay_redis.h"
#include "lib/tmplcache.h"
#include "lib/util.h"

#define PROG "vmseal-gateway"

/* ---- the policy lock ---- */

void gateway_policy_read(struct gateway *gw)
{
	pthread_rwlock_rdlock(&gw->policy_lock);
}

void gateway_policy_done(struct gateway *gw)
{
	pthread_rwlock_unlock(&gw->policy_lock);
}

void gateway_policy_reload(struct gateway *gw)
{
	struct policy *np = NULL, *old;
	struct vs_error err = {0};

	if (policy_load_state(gw->cfg.policy_path, gw->cfg.trust_state, &np, &err) < 0) {
		fprintf(stderr, PROG ": SIGHUP: policy not reloaded: %s: %s\n", err.object, err.reason);
		gateway_audit(gw, "gateway", "gateway.policy.reload", gw->cfg.policy_path, "error",
			      err.reason, 1);
		return;
	}
	pthread_rwlock_wrlock(&gw->policy_lock);
	old = gw->policy;
	gw->policy = np;
	pthread_rwlock_unlock(&gw->policy_lock);
	policy_free(old);
	replay_set_key_limit(gw->replay, (size_t)np->gateway.max_claims_per_key);
	gateway_audit(gw, "gateway", "gateway.policy.reload", gw->cfg.policy_path, "info",
		      policy_digest(np), 1);
	fprintf(stderr, PROG ": policy reloaded (%s)\n", policy_digest(np));
	if (np->warning[0])
		fprintf(stderr, PROG ": warning: %s: %s\n", gw->cfg.policy_path, np->warning);
}

/* ---- audit ---- */

/* Every N events the signed head goes to --audit-checkpoint, for shipping off the host. */
static void audit_counted(struct gateway *gw)
{
	struct vs_error err = {0};

	if (gw->cfg.audit_checkpoint &&
	    __atomic_add_fetch(&gw->audit_events, 1, __ATOMIC_RELAXED) % gw->cfg.checkpoint_every == 0) {
		char *cp = NULL;
		uint64_t seq;

		if (gateway_checkpoint(gw, 0, &seq, &cp, &err) < 0 ||
		    file_write_atomic(gw->cfg.audit_checkpoint, cp, strlen(cp), 0644, 1, &err) < 0)
			fprintf(stderr, "vmseal-gateway: audit checkpoint: %s: %s\n", err.object, err.reason);
		free(cp);
	}
}

int gateway_audit(struct gateway *gw, const char *actor, const char *event, const char *object,
		  const char *decision, const char *reason, int durable)
{
	struct audit_event ev = {.actor = actor, .event = event, .object = object,
				 .decision = decision, .reason = reason};
	struct vs_error err = {0};

	if (audit_group_append(gw->group, &ev, durable, &err) < 0) {
		fprintf(stderr, "vmseal-gateway: audit: %s: %s\n", err.object, err.reason);
		return -1;
	}
	audit_counted(gw);
	return 0;
}

int gateway_audit_async(struct gateway *gw, const char *actor, const char *event,
			const char *object, const char *decision, const char *reason,
			void (*done)(void *arg, int rc), void *arg)
{
	struct audit_event ev = {.actor = actor, .event = event, .object = object,
				 .decision = decision, .reason = reason};
	struct vs_error err = {0};

	if (audit_group_append_async(gw->group, &ev, done, arg, &err) < 0) {
		fprintf(stderr, "vmseal-gateway: audit: %s: %s\n", err.object, err.reason);
		return -1;
	}
	audit_counted(gw);
	return 0;
}

/* The log's head signed with the response key (lib/auditcp), for auditors to keep off the host:
 * vmseal-audit verify --checkpoint later fails if the log lost that entry. The chain is
 * verified first, so a broken log gets no signature. */
int gateway_checkpoint(struct gateway *gw, int verify, uint64_t *seq, char **json, struct vs_error *err)
{
	struct audit_head h;

	*json = NULL;
	if (verify) {
		struct audit_verify_result res;

		if (audit_verify(gw->audit_path, &res, err) < 0)
			return -1;
		h = res.head;
	} else {
		/* The head first, then the fsync: what is signed is durable. */
		audit_log_head(gw->audit, &h);
		if (audit_sync(gw->audit, err) < 0)
			return -1;
	}
	*seq = h.seq;
	*json = audit_checkpoint_sign(gw->audit_path, &h, vs_now(), gw->resp_key, err);
	return *json ? 0 : -1;
}

/* ---- replies ---- */

void reply_error(struct reply *out, unsigned status, const char *code, const char *fmt, ...)
{
	char detail[VS_ERR_REASON_MAX + VS_ERR_OBJECT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_decref(out->body);
	out->status = status;
	out->body = json_pack("{s:s, s:s}", "error", code, "detail", detail);
}

void reply_ok(struct reply *out, unsigned status, json_t *body)
{
	json_decref(out->body);
	out->status = status;
	out->body = body;
	if (!body)
		reply_error(out, 500, "internal", "out of memory");
}

void reply_virt(struct reply *out, const char *what, const char *name)
{
	int code = virGetLastErrorCode();
	const char *msg = virGetLastErrorMessage();

	switch (code) {
	case VIR_ERR_NO_DOMAIN:
		reply_error(out, 404, "not_found", "domain \"%s\" does not exist", name);
		break;
	case VIR_ERR_OPERATION_INVALID:
	case VIR_ERR_DOM_EXIST:
	case VIR_ERR_OPERATION_DENIED:
		reply_error(out, 409, "conflict", "%s \"%s\": %s", what, name, msg);
		break;
	default:
		reply_error(out, 502, "libvirt_error", "%s \"%s\": %s", what, name, msg);
	}
}

/* ---- libvirt ---- */

virDomainPtr gateway_domain_lookup(struct gateway *gw, const char *name, struct reply *out)
{
	virDomainPtr d;

	if (!gwbody_name_ok(name)) {
		reply_error(out, 404, "not_found", "no domain may be named \"%.64s\"", name);
		return NULL;
	}
	d = virDomainLookupByName(gw->conn, name);
	if (!d)
		reply_virt(out, "lookup", name);
	return d;
}

int gateway_domain_active(virDomainPtr d)
{
	virDomainInfo info;

	if (virDomainGetInfo(d, &info) < 0)
		return -1;
	return info.state != VIR_DOMAIN_SHUTOFF && info.state != VIR_DOMAIN_CRASHED &&
	       info.state != VIR_DOMAIN_NOSTATE;
}

static void silence(void *ud, virErrorPtr e)
{
	(void)ud; (void)e;
}

/* A remote driver (qemu:///system) needs an event loop for its keepalive messages. */
static void *event_loop(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			usleep(100000);
	return NULL;
}

/* Opens the libvirt connection for the gateway's lifetime. */
static int libvirt_open(struct gateway *gw, struct vs_error *err)
{
	int remote = strncmp(gw->cfg.libvirt_uri, "test:", 5) != 0;

	if (virInitialize() < 0)
		return vs_fail(err, VS_ERR_INTERNAL, "libvirt", "cannot initialise");
	virSetErrorFunc(NULL, silence);
	if (remote) {
		pthread_t th;

		if (virEventRegisterDefaultImpl() < 0 ||
		    pthread_create(&th, NULL, event_loop, NULL) != 0)
			return vs_fail(err, VS_ERR_INTERNAL, "libvirt", "cannot start the event loop");
		pthread_detach(th);
	}
	gw->conn = virConnectOpen(gw->cfg.libvirt_uri);
	if (!gw->conn)
		return vs_fail(err, VS_ERR_IO, gw->cfg.libvirt_uri, "cannot connect: %s",
			       virGetLastErrorMessage());
	if (remote && virConnectSetKeepAlive(gw->conn, 5, 3) < 0)
		return vs_fail(err, VS_ERR_IO, gw->cfg.libvirt_uri, "cannot enable keepalive: %s",
			       virGetLastErrorMessage());
	return 0;
}

/* ---- set-up and tear-down ---- */

static int read_pem(const char *path, char **out, struct vs_error *err)
{
	size_t len;

	return file_read_all(path, VS_MAX_KEY_FILE_BYTES, out, &len, err);
}

/* The Redis password: the file's first line; refused when others may read the file. */
static int replay_password_read(const char *path, char **out, struct vs_error *err)
{
	struct stat st;
	size_t len;

	if (stat(path, &st) < 0)
		return vs_fail(err, VS_ERR_IO, path, "%s", strerror(errno));
	if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP))
		return vs_fail(err, VS_ERR_INPUT, path, "password file mode %04o: others may read or change it "
			       "(chmod 0640, owner root, group vmseal)", (unsigned)(st.st_mode & 07777));
	if (file_read_all(path, 1024, out, &len, err) < 0)
		return -1;
	(*out)[strcspn(*out, "\r\n")] = '\0';
	return 0;
}

/* --signing-key for POST /v1/sign: a retired, revoked or destroyed key must not start signing
 * again as a service. */
static int sign_key_load(struct gateway *gw, struct vs_error *err)
{
	if (!gw->cfg.signing_key)
		return 0;
	return keymeta_load_signable(gw->cfg.signing_key, gw->cfg.signing_passfile, &gw->sign_key, err);
}

static int replay_open(struct gateway *gw, struct vs_error *err)
{
	char *pass = NULL;

	if (gw->cfg.replay_passfile && !gw->cfg.replay_url)
		return vs_fail(err, VS_ERR_USAGE, "--replay-store-password-file", "needs --replay-store");
	if (!gw->cfg.replay_url) {
		gw->replay = replay_memory_new(gw->cfg.replay_capacity);
		if (!gw->replay)
			return vs_fail(err, VS_ERR_INTERNAL, "replay cache", "out of memory");
		return 0;
	}
	/* A worker may still wait for a claim's round trip after its own work is done: four
	 * workers per core keep the cores busy meanwhile (bench/fleet.sh: with 2 cores and
	 * two replicas, Redis / in-process was 0.63 at two per core, 0.81 at four, 0.82 at
	 * eight). */
	if (!gw->cfg.threads_set && gw->cfg.threads <= 64)
		gw->cfg.threads *= 4;
	if (gw->cfg.replay_passfile && replay_password_read(gw->cfg.replay_passfile, &pass, err) < 0)
		return -1;
	gw->replay = replay_redis_new_auth(gw->cfg.replay_url, pass, gw->cfg.threads, err);
	if (pass) {
		OPENSSL_cleanse(pass, strlen(pass));
		free(pass);
	}
	if (!gw->replay || replay_redis_check(gw->replay, err) < 0)
		return -1;
	gw->replay_is_redis = 1;
	return 0;
}

/* Raises the soft RLIMIT_NOFILE to the hard limit and bounds cfg.max_connections by it
 * (an explicit --max-connections that does not fit, or that is below cfg.threads, is an
 * error). */
static int fd_budget(struct gateway *gw, struct vs_error *err)
{
	struct rlimit rl;
	rlim_t room, reserve = GATEWAY_FD_RESERVE + 2 * (rlim_t)gw->cfg.threads;
	int explicit_max = gw->cfg.max_connections_set;

	/* The soft limit is often 1024 (systemd's default) while the hard limit is far higher:
	 * take what we may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return vs_fail(err, VS_ERR_IO, "RLIMIT_NOFILE", "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {rl.rlim_max, rl.rlim_max};

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	room = rl.rlim_cur > reserve ? rl.rlim_cur - reserve : 0;
	/* libmicrohttpd shares the limit out among its worker threads; one whose share is 0
	 * never wakes up again, and MHD_stop_daemon waits for it for ever. */
	if (explicit_max && gw->cfg.max_connections < gw->cfg.threads)
		return vs_fail(err, VS_ERR_USAGE, "--max-connections",
			       "%u is fewer than the %u worker threads", gw->cfg.max_connections,
			       gw->cfg.threads);
	if (room < gw->cfg.threads)
		return vs_fail(err, VS_ERR_USAGE, "RLIMIT_NOFILE", "open-file limit %llu is too low",
			       (unsigned long long)rl.rlim_cur);
	if (gw->cfg.max_connections > room) {
		if (explicit_max)
			return vs_fail(err, VS_ERR_USAGE, "--max-connections",
				       "%u needs more descriptors than the open-file limit %llu "
				       "leaves (%llu after %llu reserved)",
				       gw->cfg.max_connections, (unsigned long long)rl.rlim_cur,
				       (unsigned long long)room, (unsigned long long)reserve);
		gw->cfg.max_connections = (unsigned)room;
	}
	return 0;
}

int gateway_core_start(struct gateway *gw, int64_t t_start, struct vs_error *err)
{
	pthread_rwlock_init(&gw->policy_lock, NULL);
	if (policy_load_state(gw->cfg.policy_path, gw->cfg.trust_state, &gw->policy, err) < 0 ||
	    key_load_private(gw->cfg.response_key, gw->cfg.response_passfile, &gw->resp_key, err) < 0 ||
	    sign_key_load(gw, err) < 0 ||
	    read_pem(gw->cfg.tls_cert, &gw->tls_cert_pem, err) < 0 ||
	    read_pem(gw->cfg.tls_key, &gw->tls_key_pem, err) < 0 ||
	    (gw->cfg.client_ca && read_pem(gw->cfg.client_ca, &gw->client_ca_pem, err) < 0))
		return -1;
	if (httpsig_alg_of_key(gw->resp_key) == HTTPSIG_ALG_NONE)
		return vs_fail(err, VS_ERR_USAGE, gw->cfg.response_key, "key type cannot sign responses");
	if (gw->policy->warning[0])
		fprintf(stderr, PROG ": warning: %s: %s\n", gw->cfg.policy_path, gw->policy->warning);
	snprintf(gw->audit_path, sizeof(gw->audit_path), "%s",
		 gw->cfg.audit_log ? gw->cfg.audit_log : gw->policy->audit_log);
	if (!gw->audit_path[0])
		return vs_fail(err, VS_ERR_USAGE, "audit log",
			       "none configured: give --audit-log or set audit_log in the policy");
	if (audit_open(gw->audit_path, &gw->audit, err) < 0 ||
	    audit_group_start(gw->audit, &gw->group, err) < 0 || replay_open(gw, err) < 0)
		return -1;
	gw->tmpl_cache = tmplcache_new(1024);
	if (!gw->tmpl_cache)
		return vs_fail(err, VS_ERR_INTERNAL, "template cache", "out of memory");
	if (libvirt_open(gw, err) < 0 || fd_budget(gw, err) < 0)
		return -1;
	/*
	 * The in-process replay cache starts empty, so a call accepted before a restart must fail
	 * otherwise: one created up to t_start + max_future_skew_s may have been, and one created
	 * up to the start mark the previous runs left (their skew may have been larger, their
	 * clock ahead of ours), so the gateway refuses those (signature_predates_start) and
	 * listens only once calls created now are later than that (usually a wait of at most
	 * max_future_skew_s + STARTMARK_LEASE_S + 1 s, mostly spent loading).
	 */
	{
		char path[VS_MAX_PATH_BYTES];
		int64_t prev = 0;

		if (snprintf(path, sizeof(path), "%s.start", gw->audit_path) >= (int)sizeof(path))
			return vs_fail(err, VS_ERR_USAGE, gw->audit_path, "path too long");
		if (startmark_open(path, t_start, &gw->mark, &prev, err) < 0)
			return -1;
		gw->started = startmark_not_before(prev, t_start, gw->policy->gateway.max_future_skew_s);
		if (gw->started > t_start + gw->policy->gateway.max_future_skew_s + 1)
			fprintf(stderr, PROG ": %s: a previous run may have accepted calls created until "
				"%lld (its skew larger or its clock ahead): refusing those, for %lld s\n",
				path, (long long)prev, (long long)(gw->started - vs_now()));
	}
	if (gw->replay_is_redis) {
		/* a Redis that lost (or never had) the claims: refuse what may have been claimed */
		int64_t nb = replay_redis_not_before(gw->replay, gw->policy->gateway.max_future_skew_s,
						     &gw->redis_losses_seen);

		if (nb > gw->started)
			gw->started = nb;
	}
	replay_set_key_limit(gw->replay, (size_t)gw->policy->gateway.max_claims_per_key);
	return 0;
}

int64_t gateway_not_before(struct gateway *gw, int64_t future_skew_s)
{
	uint64_t losses, seen;
	int64_t nb;

	if (!gw->replay_is_redis)
		return gw->started;
	nb = replay_redis_not_before(gw->replay, future_skew_s, &losses);
	seen = __atomic_load_n(&gw->redis_losses_seen, __ATOMIC_ACQUIRE);
	if (losses != seen &&
	    __atomic_compare_exchange_n(&gw->redis_losses_seen, &seen, losses, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		fprintf(stderr, PROG ": --replay-store: Redis lost the replay claims (restart, failover "
			"or flush): refusing signatures created before %lld\n", (long long)nb);
	return nb > gw->started ? nb : gw->started;
}

void gateway_wait_start(const struct gateway *gw)
{
	/* A long wait (a previous run's clock was ahead) is spent listening, refusing calls
	 * created before gw->started (signature_predates_start): a service manager sees it up. */
	if (gw->started - vs_now() > gw->policy->gateway.max_future_skew_s + STARTMARK_LEASE_S + 2)
		return;
	while (vs_now() < gw->started)
		usleep(50000);
}

void gateway_core_free(struct gateway *gw)
{
	if (gw->conn)
		virConnectClose(gw->conn);
	gw->conn = NULL;
	if (gw->group) {
		uint64_t events, syncs, ns;

		audit_group_stats(gw->group, &events, &syncs, &ns);
		/* How the group commit went (bench/keys.sh reads it). */
		fprintf(stderr, PROG ": audit: %llu events, %llu fdatasyncs, %.3f ms each on average\n",
			(unsigned long long)events, (unsigned long long)syncs,
			syncs ? (double)ns / (double)syncs / 1e6 : 0.0);
		audit_group_stop(gw->group);
	}
	audit_close(gw->audit);
	replay_destroy(gw->replay);
	startmark_close(&gw->mark);
	tmplcache_free(gw->tmpl_cache);
	key_free(gw->resp_key);
	key_free(gw->sign_key);
	policy_free(gw->policy);
	if (gw->tls_key_pem) {
		OPENSSL_cleanse(gw->tls_key_pem, strlen(gw->tls_key_pem));
		free(gw->tls_key_pem);
	}
	free(gw->tls_cert_pem);
	free(gw->client_ca_pem);
	pthread_rwlock_destroy(&gw->policy_lock);
}
