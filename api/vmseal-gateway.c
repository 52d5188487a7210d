/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway: HTTPS management API over libvirt; every call signed (RFC 9421) and audited. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/gateway_http.h"
#include "api/gateway_routes.h"
#include "lib/cli.h"
#include "lib/util.h"

#define PROG "vmseal-gateway"

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
	      "  --preauth-memory BYTES  request bodies held in total before their calls are\n"
	      "                         authorized (default 33554432, 32 MiB; 1048576 to\n"
	      "                         17179869184); past it a body is cut with 503 busy\n"
	      "  --authority HOST[:PORT]  a name this gateway answers to (repeatable): the\n"
	      "                         @authority a call is signed for must be one of them, else\n"
	      "                         401 wrong_authority (a call made for another gateway);\n"
	      "                         HOST alone means port 443; default: every DNS and IP\n"
	      "                         subjectAltName of --tls-cert with the listening port\n"
	      "                         (localhost, 127.x, ::1, link-local: only when --listen\n"
	      "                         is a loopback address, as every host has them).\n"
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

/* *dir (when given) becomes its real path, in buf. */
static int real_dir(const char *opt, const char **dir, char buf[static PATH_MAX])
{
	if (!*dir)
		return 0;
	if (!realpath(*dir, buf)) {
		fprintf(stderr, PROG ": error: %s %s: %s\n", opt, *dir, strerror(errno));
		return -1;
	}
	*dir = buf;
	return 0;
}

#define CFG(field) offsetof(struct gateway_config, field)
#define NONE SIZE_MAX

/* The options that set one string of the configuration (getopt value: 0x100 + index). */
static const struct {
	const char *name;
	size_t off;
} str_opts[] = {
	{"listen", CFG(listen)}, {"tls-cert", CFG(tls_cert)}, {"tls-key", CFG(tls_key)},
	{"client-ca", CFG(client_ca)}, {"policy", CFG(policy_path)},
	{"trust-state", CFG(trust_state)}, {"libvirt", CFG(libvirt_uri)},
	{"response-key", CFG(response_key)}, {"passphrase-file", CFG(response_passfile)},
	{"signing-key", CFG(signing_key)}, {"signing-passphrase-file", CFG(signing_passfile)},
	{"ssh-ca-key", CFG(ssh_ca_key)}, {"ssh-ca-passphrase-file", CFG(ssh_ca_passfile)},
	{"ssh-state-dir", CFG(ssh_state_dir)}, {"audit-checkpoint", CFG(audit_checkpoint)},
	{"audit-log", CFG(audit_log)}, {"template-dir", CFG(template_dir)},
	{"image-dir", CFG(image_dir)}, {"replay-store", CFG(replay_url)},
	{"replay-store-password-file", CFG(replay_passfile)},
};

/* The options that set a number (getopt value: 0x200 + index): its field (unsigned or size_t),
 * its range, and an int set to 1 when it is given (NONE: no such field). */
static const struct {
	const char *name;
	size_t off, size;
	uint64_t min, max;
	size_t given;
} num_opts[] = {
	{"threads", CFG(threads), sizeof(unsigned), 1, 256, CFG(threads_set)},
	{"replay-capacity", CFG(replay_capacity), sizeof(size_t), 1, 1ul << 30, NONE},
	{"request-timeout", CFG(request_timeout_s), sizeof(unsigned), 0, 3600, NONE},
	{"max-connections", CFG(max_connections), sizeof(unsigned), 1, 1000000,
	 CFG(max_connections_set)},
	{"checkpoint-every", CFG(checkpoint_every), sizeof(unsigned), 1, 1000000000, NONE},
	/* at least one body of the largest size must fit */
	{"preauth-memory", CFG(preauth_memory), sizeof(size_t), VS_MAX_BODY_BYTES,
	 VS_PREAUTH_MEMORY_MAX, NONE},
};

#define NSTR (sizeof(str_opts) / sizeof(str_opts[0]))
#define NNUM (sizeof(num_opts) / sizeof(num_opts[0]))

/* num_opts[i] from text: 0, or -1 after a usage error was printed. */
static int set_number(struct gateway_config *cfg, size_t i, const char *text)
{
	uint64_t v;
	char *base = (char *)cfg;

	if (parse_uint_strict(text, num_opts[i].min, num_opts[i].max, &v) < 0) {
		cli_usage_error(PROG, "bad --%s \"%s\": a number from %llu to %llu", num_opts[i].name,
				text, (unsigned long long)num_opts[i].min,
				(unsigned long long)num_opts[i].max);
		return -1;
	}
	if (num_opts[i].size == sizeof(unsigned))
		*(unsigned *)(base + num_opts[i].off) = (unsigned)v;
	else
		*(size_t *)(base + num_opts[i].off) = (size_t)v;
	if (num_opts[i].given != NONE)
		*(int *)(base + num_opts[i].given) = 1;
	return 0;
}

/* Fills cfg (and names, from --authority) from the command line: 0 to run, 1 when --help or
 * --version answered, -1 after a usage error was printed. tdir and idir hold the real paths of
 * --template-dir and --image-dir. */
static int parse_args(int argc, char **argv, struct gateway_config *cfg, struct gwnames *names,
		      char tdir[static PATH_MAX], char idir[static PATH_MAX])
{
	struct option opts[NSTR + NNUM + 5] = {
		{"authority", required_argument, NULL, 'A'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
	};
	struct vs_error err = {0};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = 4;
	int c;

	for (size_t i = 0; i < NSTR; i++)
		opts[n++] = (struct option){str_opts[i].name, required_argument, NULL, 0x100 + (int)i};
	for (size_t i = 0; i < NNUM; i++)
		opts[n++] = (struct option){num_opts[i].name, required_argument, NULL, 0x200 + (int)i};
	cfg->threads = ncpu > 0 && ncpu < 256 ? (unsigned)ncpu : 2;
	cfg->replay_capacity = 1u << 20;
	cfg->request_timeout_s = GATEWAY_REQUEST_TIMEOUT_DEFAULT;
	cfg->max_connections = GATEWAY_MAX_CONNECTIONS_DEFAULT;
	cfg->preauth_memory = VS_PREAUTH_MEMORY_DEFAULT;
	cfg->checkpoint_every = 1000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c >= 0x100 && c < 0x100 + (int)NSTR) {
			*(const char **)((char *)cfg + str_opts[c - 0x100].off) = optarg;
			continue;
		}
		if (c >= 0x200 && c < 0x200 + (int)NNUM) {
			if (set_number(cfg, (size_t)(c - 0x200), optarg) < 0)
				return -1;
			continue;
		}
		switch (c) {
		case 'v':
			cfg->verbose = 1;
			break;
		case 'A':
			if (gwnames_add(names, optarg, &err) < 0) {
				cli_usage_error(PROG, "bad --authority \"%s\": %s", optarg, err.reason);
				return -1;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			cli_version(PROG);
			return 1;
		default:
			cli_usage_error(PROG, "bad option %s", cli_bad_option(argv));
			return -1;
		}
	}
	if (optind != argc || !cfg->listen || !cfg->tls_cert || !cfg->tls_key ||
	    !cfg->policy_path || !cfg->libvirt_uri || !cfg->response_key) {
		cli_usage_error(PROG, "--listen, --tls-cert, --tls-key, --policy, --libvirt and "
				"--response-key are required");
		return -1;
	}
	if (cfg->ssh_state_dir && cfg->replay_url) {
		cli_usage_error(PROG, "--ssh-state-dir is not used with --replay-store: the SSH CA's "
				"serials and revocations are kept in its Redis");
		return -1;
	}
	cfg->ssh_shared = cfg->replay_url != NULL;
	if (real_dir("--template-dir", &cfg->template_dir, tdir) < 0 ||
	    real_dir("--image-dir", &cfg->image_dir, idir) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	/* Before anything else: a call the previous gateway accepted was created at most
	 * max_future_skew_s after it stopped, so after this moment (gateway_core_start). */
	int64_t t_start = vs_now();
	struct gateway gw;
	struct vs_error err = {0};
	char tdir[PATH_MAX], idir[PATH_MAX];
	sigset_t set;
	int rc;

	memset(&gw, 0, sizeof(gw));
	rc = parse_args(argc, argv, &gw.cfg, &gw.names, tdir, idir);
	if (rc != 0)
		return rc < 0 ? 2 : 0;
	secrets_protect_process();

	/* Signals are taken by sigwait in this thread only; every thread started below inherits
	 * the mask. SIGPIPE from a client that went away must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (gateway_core_start(&gw, t_start, &err) < 0 || gateway_ssh_load(&gw, &err) < 0)
		goto fail;
	gateway_wait_start(&gw);
	if (gateway_http_start(&gw, &err) < 0)
		goto fail;
	gateway_audit(&gw, "gateway", "gateway.start", gw.cfg.listen, "info", policy_digest(gw.policy), 1);
	for (;;) {
		int sig = 0;

		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		gateway_policy_reload(&gw);
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
	gateway_ssh_free(&gw);
	gateway_core_free(&gw);
	return rc;
}
