/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway: HTTPS management API over libvirt; every call signed (RFC 9421) and audited. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "api/gateway.h"
#include "lib/cli.h"
#include "lib/replay_redis.h"
#include "lib/tmplcache.h"
#include "lib/util.h"

#define PROG "vmseal-gateway"

enum { OPT_SSH_CA_KEY = 0x100, OPT_SSH_CA_PASS, OPT_SSH_STATE_DIR, OPT_AUDIT_CHECKPOINT, OPT_CHECKPOINT_EVERY };

static void usage(FILE *f)
{
	fputs("Usage: vmseal-gateway --listen HOST:PORT --tls-cert FILE --tls-key FILE\n"
	      "                      --policy POLICY --libvirt URI --response-key KEY\n"
	      "                      [--client-ca FILE] [--audit-log FILE] [OPTIONS]\n"
	      "\n"
	      "HTTPS (TLS 1.3 only) management API in front of libvirt. Every call must carry an\n"
	      "HTTP Message Signature (RFC 9421) by an admin key of the policy, covering @method,\n"
	      "@authority, @path, @query and, with a body, content-digest (RFC 9530); with created,\n"
	      "expires, nonce and keyid; created at most max_skew_s in the past and\n"
	      "max_future_skew_s (default 2) ahead. The key's roles decide what it may call;\n"
	      "destroy and delete may need a quorum of admin signatures. An allowed call claims its\n"
	      "(keyid, nonce) once; a key holds at most max_claims_per_key live claims (429 past it).\n"
	      "At start the gateway waits max_future_skew_s + 1 s before it listens and refuses\n"
	      "older signatures, so nothing accepted before a restart is accepted again. Every\n"
	      "decision is appended to the hash-chained audit log (durably before a state change).\n"
	      "Responses are signed with the response key, bound to the request.\n"
	      "\n"
	      "Options:\n"
	      "  --listen HOST:PORT     address to listen on (port 0: any free port; the port is\n"
	      "                         printed on stderr: \"listening on ... (port N)\")\n"
	      "  --tls-cert FILE        server certificate chain (PEM)\n"
	      "  --tls-key FILE         server private key (PEM, unencrypted)\n"
	      "  --client-ca FILE       require client certificates issued by this CA (mutual TLS);\n"
	      "                         a handshake without a valid one is refused, as is one\n"
	      "                         whose extended key usage lacks clientAuth\n"
	      "  --policy FILE          host policy (admin keys, roles, gateway limits); SIGHUP reloads it\n"
	      "  --trust-state FILE     what vmseal-policy install recorded (rollback, root, expiry);\n"
	      "                         default /var/lib/vmseal/trust.state for /etc/vmseal/policy.json,\n"
	      "                         else trust.state beside --policy\n"
	      "  --libvirt URI          libvirt connection, e.g. qemu:///system or test:///default\n"
	      "  --response-key KEY     key that signs responses (file or pkcs11: URI)\n"
	      "  --passphrase-file F    passphrase of an encrypted --response-key\n"
	      "  --signing-key KEY      serve POST /v1/sign (remote signing): this key (file or pkcs11:\n"
	      "                         URI) signs attestations for callers with role signer\n"
	      "  --signing-passphrase-file F  passphrase (or token PIN) of --signing-key\n"
	      "  --ssh-ca-key KEY       serve /v1/ssh/*: this key (file or pkcs11: URI; Ed25519,\n"
	      "                         P-256 or RSA) signs OpenSSH certificates (a signing host's\n"
	      "                         key, never a hypervisor's)\n"
	      "  --ssh-ca-passphrase-file F  passphrase (or token PIN) of --ssh-ca-key\n"
	      "  --ssh-state-dir DIR    the CA's serial counter and revocations (KRL)\n"
	      "                         (default /var/lib/vmseal/ssh); with --replay-store they\n"
	      "                         are kept in its Redis instead, shared by the replicas\n"
	      "  --audit-log FILE       audit log (default: the policy's audit_log; one is required)\n"
	      "  --audit-checkpoint FILE  every N events, write the log's head signed with the\n"
	      "                         response key here (vmseal-audit verify --checkpoint)\n"
	      "  --checkpoint-every N   events between checkpoints (default 1000)\n"
	      "  --template-dir DIR     verified templates: IMAGE with IMAGE.intoto.json beside it\n"
	      "  --image-dir DIR        where overlays of created domains are written\n"
	      "  --threads N            worker threads (default: one per core, four per core with\n"
	      "                         --replay-store, to work while claims travel)\n"
	      "  --replay-capacity N    live (keyid, nonce) claims held (default 1048576); when full,\n"
	      "                         calls are refused with 503 until claims expire\n"
	      "  --replay-store URL     share the replay cache between gateway replicas in Redis:\n"
	      "                         redis://[:PASSWORD@]HOST[:PORT][/DB]; each (keyid, nonce) is\n"
	      "                         claimed by a Lua script (SET NX PX; max_claims_per_key live\n"
	      "                         per key, shared by the replicas); Redis unreachable: 503;\n"
	      "                         Redis must have maxmemory-policy noeviction (checked at\n"
	      "                         every connect: another policy could evict claims)\n"
	      "  --replay-store-password-file F  the Redis password, read from F (first line; F must\n"
	      "                         not be readable by others, e.g. root:vmseal 0640), so that\n"
	      "                         it is in no command line\n"
	      "  --request-timeout S    a connection must deliver each request (headers and body)\n"
	      "                         within S seconds of being accepted or of its previous\n"
	      "                         answer, or it is closed (slowloris; an idle keep-alive\n"
	      "                         connection is closed after S too); default 10, 0: off\n"
	      "  --max-connections N    connections held at once, at least --threads (default 4096,\n"
	      "                         lowered to what the open-file limit allows; the soft limit\n"
	      "                         is raised to the hard one at start); past it new\n"
	      "                         connections wait in the listen backlog until one closes\n"
	      "  --authority HOST[:PORT]  a name this gateway answers to (repeatable): the\n"
	      "                         @authority a call is signed for must be one of them, else\n"
	      "                         401 wrong_authority (a call made for another gateway);\n"
	      "                         HOST alone means port 443; default: every DNS and IP\n"
	      "                         subjectAltName of --tls-cert with the listening port.\n"
	      "                         Behind a load balancer give the name clients use (and\n"
	      "                         share --replay-store between the replicas)\n"
	      "  --verbose              log libmicrohttpd errors (failed handshakes, …) and cut\n"
	      "                         connections\n"
	      "  --help, --version\n"
	      "\n"
	      "Routes (role needed; admin may call everything but POST /v1/ssh/certs):\n"
	      "  GET    /v1/domains, /v1/domains/NAME, /v1/templates   viewer, operator\n"
	      "  POST   /v1/domains {name, template, memory_mib, vcpus} operator\n"
	      "  POST   /v1/domains/NAME/start|shutdown|reboot          operator\n"
	      "  POST   /v1/domains/NAME/disks {template, target, mode}  operator: attach a\n"
	      "         verified template readonly, or a new overlay on it (mode overlay)\n"
	      "  POST   /v1/domains/NAME/media {template, target}       operator: a verified\n"
	      "         image into a cdrom drive (libvirt runs no hook for either)\n"
	      "  POST   /v1/domains/NAME/destroy, DELETE /v1/domains/NAME  admin (quorum)\n"
	      "  GET    /v1/audit?since=N                               auditor\n"
	      "  GET    /v1/audit/checkpoint                            auditor (signed log head)\n"
	      "  POST   /v1/sign {digest, size, template, version, expires, name, format}  signer\n"
	      "         -> DSSE envelope (in-toto Statement) signed with --signing-key, within\n"
	      "         the caller's policy gateway.signers entry (templates, max_validity_s,\n"
	      "         max_version, quorum); 403 sign_denied otherwise\n"
	      "  POST   /v1/ssh/certs {ssh_public_key, principals, validity_s}  ssh (the policy's\n"
	      "         ssh rule of the key: principals, maximum validity, options, quorum)\n"
	      "  POST   /v1/ssh/host-certs {domain, host_public_key}   operator\n"
	      "  POST   /v1/ssh/revoke {serial | fingerprint}          admin\n"
	      "  GET    /v1/ssh/krl, /v1/ssh/ca                        viewer, ssh, auditor\n"
	      "  GET    /healthz                                        none\n"
	      "Errors are JSON {\"error\": CODE, \"detail\": TEXT}: 401 bad or missing signature\n"
	      "(with Accept-Signature), wrong_authority, replay; 403 role, quorum or template denied;\n"
	      "404, 409, 413, 429 (key's live claims), 431, 502 (libvirt), 503 (replay cache full,\n"
	      "audit log unavailable).\n"
	      "\n"
	      "Exit status: 0 after SIGINT/SIGTERM, 2 when it cannot start.\n"
	      "\n"
	      "Example:\n"
	      "  vmseal-gateway --listen 127.0.0.1:8443 --tls-cert /etc/vmseal/gateway.crt \\\n"
	      "      --tls-key /etc/vmseal/gateway-tls.key --policy /etc/vmseal/policy.json \\\n"
	      "      --libvirt qemu:///system --response-key /etc/vmseal/gateway-response.key \\\n"
	      "      --audit-log /var/log/vmseal-gateway/audit.jsonl\n"
	      "  (the package's service runs it as user vmseal, see man vmseal-gateway, SERVICE;\n"
	      "  the hook's log /var/log/vmseal is root's alone)\n",
	      f);
}

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

static void reload_policy(struct gateway *gw)
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
		      np->digest, 1);
	fprintf(stderr, PROG ": policy reloaded (%s)\n", np->digest);
	if (np->warning[0])
		fprintf(stderr, PROG ": warning: %s: %s\n", gw->cfg.policy_path, np->warning);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"tls-cert", required_argument, NULL, 'c'},
		{"tls-key", required_argument, NULL, 'k'},
		{"client-ca", required_argument, NULL, 'C'},
		{"policy", required_argument, NULL, 'p'},
		{"trust-state", required_argument, NULL, 0x100 + 't'},
		{"libvirt", required_argument, NULL, 'L'},
		{"response-key", required_argument, NULL, 'r'},
		{"passphrase-file", required_argument, NULL, 'P'},
		{"signing-key", required_argument, NULL, 'K'},
		{"signing-passphrase-file", required_argument, NULL, 'Q'},
		{"ssh-ca-key", required_argument, NULL, OPT_SSH_CA_KEY},
		{"ssh-ca-passphrase-file", required_argument, NULL, OPT_SSH_CA_PASS},
		{"ssh-state-dir", required_argument, NULL, OPT_SSH_STATE_DIR},
		{"audit-checkpoint", required_argument, NULL, OPT_AUDIT_CHECKPOINT},
		{"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
		{"audit-log", required_argument, NULL, 'a'},
		{"template-dir", required_argument, NULL, 't'},
		{"image-dir", required_argument, NULL, 'i'},
		{"threads", required_argument, NULL, 'T'},
		{"replay-capacity", required_argument, NULL, 'R'},
		{"replay-store", required_argument, NULL, 'S'},
		{"replay-store-password-file", required_argument, NULL, 'X'},
		{"request-timeout", required_argument, NULL, 'W'},
		{"max-connections", required_argument, NULL, 'M'},
		{"authority", required_argument, NULL, 'A'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct gateway gw;
	struct vs_error err = {0};
	char tdir[PATH_MAX], idir[PATH_MAX];
	sigset_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	const char *replay_url = NULL, *replay_passfile = NULL;
	int c, rc = 2, threads_set = 0, max_set = 0;

	/* Before anything else: a call the previous gateway accepted was created at most
	 * max_future_skew_s after it stopped, so after this moment (see below). */
	int64_t t_start = vs_now();

	memset(&gw, 0, sizeof(gw));
	gw.cfg.threads = ncpu > 0 && ncpu < 256 ? (unsigned)ncpu : 2;
	gw.cfg.replay_capacity = 1u << 20;
	gw.cfg.request_timeout_s = GATEWAY_REQUEST_TIMEOUT_DEFAULT;
	gw.cfg.max_connections = GATEWAY_MAX_CONNECTIONS_DEFAULT;
	gw.cfg.checkpoint_every = 1000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		uint64_t v64 = 0;
		unsigned long v;

		switch (c) {
		case 'l': gw.cfg.listen = optarg; break;
		case 'c': gw.cfg.tls_cert = optarg; break;
		case 'k': gw.cfg.tls_key = optarg; break;
		case 'C': gw.cfg.client_ca = optarg; break;
		case 'p': gw.cfg.policy_path = optarg; break;
		case 0x100 + 't': gw.cfg.trust_state = optarg; break;
		case 'L': gw.cfg.libvirt_uri = optarg; break;
		case 'r': gw.cfg.response_key = optarg; break;
		case 'P': gw.cfg.response_passfile = optarg; break;
		case 'K': gw.cfg.signing_key = optarg; break;
		case 'Q': gw.cfg.signing_passfile = optarg; break;
		case OPT_SSH_CA_KEY: gw.cfg.ssh_ca_key = optarg; break;
		case OPT_SSH_CA_PASS: gw.cfg.ssh_ca_passfile = optarg; break;
		case OPT_SSH_STATE_DIR: gw.cfg.ssh_state_dir = optarg; break;
		case OPT_AUDIT_CHECKPOINT: gw.cfg.audit_checkpoint = optarg; break;
		case OPT_CHECKPOINT_EVERY:
			if (parse_uint_strict(optarg, 1, 1000000000, &v64) < 0) {
				fprintf(stderr, PROG ": error: bad --checkpoint-every \"%s\" (see --help)\n", optarg);
				return 2;
			}
			gw.cfg.checkpoint_every = (unsigned)v64;
			break;
		case 'a': gw.cfg.audit_log = optarg; break;
		case 't': gw.cfg.template_dir = optarg; break;
		case 'i': gw.cfg.image_dir = optarg; break;
		case 'v': gw.cfg.verbose = 1; break;
		case 'A':
			if (gwnames_add(&gw.names, optarg, &err) < 0) {
				fprintf(stderr, PROG ": error: bad --authority \"%s\": %s\n", optarg,
					err.reason);
				return 2;
			}
			break;
		case 'S': replay_url = optarg; break;
		case 'X': replay_passfile = optarg; break;
		case 'W':
		case 'M':
			if (parse_uint_strict(optarg, c == 'M', c == 'W' ? 3600 : 1000000, &v64) < 0) {
				fprintf(stderr, PROG ": error: bad --%s \"%s\" (see --help)\n",
					c == 'W' ? "request-timeout" : "max-connections", optarg);
				return 2;
			}
			v = (unsigned long)v64;
			if (c == 'W') {
				gw.cfg.request_timeout_s = (unsigned)v;
			} else {
				gw.cfg.max_connections = (unsigned)v;
				max_set = 1;
			}
			break;
		case 'T':
		case 'R':
			if (parse_uint_strict(optarg, 1, c == 'T' ? 256 : 1ul << 30, &v64) < 0) {
				fprintf(stderr, PROG ": error: bad --%s \"%s\" (see --help)\n",
					c == 'T' ? "threads" : "replay-capacity", optarg);
				return 2;
			}
			v = (unsigned long)v64;
			if (c == 'T') {
				gw.cfg.threads = (unsigned)v;
				threads_set = 1;
			}
			else
				gw.cfg.replay_capacity = v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return cli_version(PROG);
		default:
			fprintf(stderr, PROG ": error: bad arguments (see --help)\n");
			return 2;
		}
	}
	if (optind != argc || !gw.cfg.listen || !gw.cfg.tls_cert || !gw.cfg.tls_key ||
	    !gw.cfg.policy_path || !gw.cfg.libvirt_uri || !gw.cfg.response_key) {
		fprintf(stderr, PROG ": error: --listen, --tls-cert, --tls-key, --policy, --libvirt "
				"and --response-key are required (see --help)\n");
		return 2;
	}
	if (gw.cfg.ssh_state_dir && replay_url) {
		fprintf(stderr, PROG ": error: --ssh-state-dir is not used with --replay-store: the SSH "
				"CA's serials and revocations are kept in its Redis\n");
		return 2;
	}
	gw.cfg.ssh_shared = replay_url != NULL;
	if (gw.cfg.template_dir) {
		if (!realpath(gw.cfg.template_dir, tdir)) {
			fprintf(stderr, PROG ": error: --template-dir %s: %s\n", gw.cfg.template_dir,
				strerror(errno));
			return 2;
		}
		gw.cfg.template_dir = tdir;
	}
	if (gw.cfg.image_dir) {
		if (!realpath(gw.cfg.image_dir, idir)) {
			fprintf(stderr, PROG ": error: --image-dir %s: %s\n", gw.cfg.image_dir,
				strerror(errno));
			return 2;
		}
		gw.cfg.image_dir = idir;
	}
	secrets_protect_process();
	pthread_rwlock_init(&gw.policy_lock, NULL);

	/* Signals are taken by sigwait in this thread only; every thread started below inherits
	 * the mask. SIGPIPE from a client that went away must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (policy_load_state(gw.cfg.policy_path, gw.cfg.trust_state, &gw.policy, &err) < 0 ||
	    key_load_private(gw.cfg.response_key, gw.cfg.response_passfile, &gw.resp_key, &err) < 0 ||
	    gateway_sign_key_load(&gw, &err) < 0 ||
	    read_pem(gw.cfg.tls_cert, &gw.tls_cert_pem, &err) < 0 ||
	    read_pem(gw.cfg.tls_key, &gw.tls_key_pem, &err) < 0 ||
	    (gw.cfg.client_ca && read_pem(gw.cfg.client_ca, &gw.client_ca_pem, &err) < 0))
		goto fail;
	if (httpsig_alg_of_key(gw.resp_key) == HTTPSIG_ALG_NONE) {
		vs_fail(&err, VS_ERR_USAGE, gw.cfg.response_key, "key type cannot sign responses");
		goto fail;
	}
	if (gw.policy->warning[0])
		fprintf(stderr, PROG ": warning: %s: %s\n", gw.cfg.policy_path, gw.policy->warning);
	snprintf(gw.audit_path, sizeof(gw.audit_path), "%s",
		 gw.cfg.audit_log ? gw.cfg.audit_log : gw.policy->audit_log);
	if (!gw.audit_path[0]) {
		vs_fail(&err, VS_ERR_USAGE, "audit log",
			"none configured: give --audit-log or set audit_log in the policy");
		goto fail;
	}
	if (audit_open(gw.audit_path, &gw.audit, &err) < 0 ||
	    audit_group_start(gw.audit, &gw.group, &err) < 0)
		goto fail;
	if (replay_passfile && !replay_url) {
		vs_fail(&err, VS_ERR_USAGE, "--replay-store-password-file", "needs --replay-store");
		goto fail;
	}
	if (replay_url) {
		/* A worker may still wait for a claim's round trip after its own work is done: four
		 * workers per core keep the cores busy meanwhile (bench/fleet.sh: with 2 cores and
		 * two replicas, Redis / in-process was 0.63 at two per core, 0.81 at four, 0.82 at
		 * eight). */
		if (!threads_set && gw.cfg.threads <= 64)
			gw.cfg.threads *= 4;
		char *pass = NULL;

		if (replay_passfile && replay_password_read(replay_passfile, &pass, &err) < 0)
			goto fail;
		gw.replay = replay_redis_new_auth(replay_url, pass, gw.cfg.threads, &err);
		if (pass) {
			OPENSSL_cleanse(pass, strlen(pass));
			free(pass);
		}
		if (!gw.replay || replay_redis_check(gw.replay, &err) < 0)
			goto fail;
		gw.replay_is_redis = 1;
	} else {
		gw.replay = replay_memory_new(gw.cfg.replay_capacity);
		if (!gw.replay) {
			vs_fail(&err, VS_ERR_INTERNAL, "replay cache", "out of memory");
			goto fail;
		}
	}
	gw.tmpl_cache = tmplcache_new(1024);
	if (!gw.tmpl_cache) {
		vs_fail(&err, VS_ERR_INTERNAL, "template cache", "out of memory");
		goto fail;
	}
	if (gateway_ssh_load(&gw, &err) < 0 || gateway_libvirt_open(&gw, &err) < 0 ||
	    gateway_fd_budget(&gw, max_set, &err) < 0)
		goto fail;
	/*
	 * The in-process replay cache starts empty, so a call accepted before a restart must fail
	 * otherwise: one created up to t_start + max_future_skew_s may have been, so the gateway
	 * refuses those (signature_predates_start) and listens only once calls created now are
	 * later than that (a wait of at most max_future_skew_s + 1 s, mostly spent loading).
	 */
	gw.started = t_start + gw.policy->gateway.max_future_skew_s + 1;
	replay_set_key_limit(gw.replay, (size_t)gw.policy->gateway.max_claims_per_key);
	while (vs_now() < gw.started)
		usleep(50000);
	if (gateway_http_start(&gw, &err) < 0)
		goto fail;
	gateway_audit(&gw, "gateway", "gateway.start", gw.cfg.listen, "info", gw.policy->digest, 1);

	for (;;) {
		int sig = 0;

		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload_policy(&gw);
			continue;
		}
		break;
	}
	gateway_http_stop(&gw);
	gateway_audit(&gw, "gateway", "gateway.stop", gw.cfg.listen, "info", NULL, 1);
	rc = 0;
	goto out;
fail:
	vs_error_print(PROG, &err);
	rc = 2;
out:
	gateway_http_stop(&gw);
	gateway_libvirt_close(&gw);
	if (gw.group)
		audit_group_stop(gw.group);
	audit_close(gw.audit);
	replay_destroy(gw.replay);
	tmplcache_free(gw.tmpl_cache);
	key_free(gw.resp_key);
	key_free(gw.sign_key);
	gateway_ssh_free(&gw);
	policy_free(gw.policy);
	if (gw.tls_key_pem) {
		OPENSSL_cleanse(gw.tls_key_pem, strlen(gw.tls_key_pem));
		free(gw.tls_key_pem);
	}
	free(gw.tls_cert_pem);
	free(gw.client_ca_pem);
	pthread_rwlock_destroy(&gw.policy_lock);
	return rc;
}
