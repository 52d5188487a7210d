/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-policy: make a root of trust, sign, verify and install policy bundles (rollback-proof). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <jansson.h>

#include "lib/audit.h"
#include "lib/bundle.h"
#include "lib/cli.h"
#include "lib/dsse.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/policy.h"
#include "lib/policyindex.h"
#include "lib/truststate.h"
#include "lib/util.h"

static const char *prog = "vmseal-policy";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-policy COMMAND [OPTIONS]\n"
		"\n"
		"Signed policy bundles for fleets of hosts. A bundle is a DSSE envelope (payloadType\n"
		"application/vnd.vmseal.policy+json) whose payload is the policy itself; its \"version\"\n"
		"field is the bundle's serial number and must increase with every release. A host\n"
		"trusts bundles through root.json beside its policy (/etc/vmseal/root.json): once that\n"
		"file exists, the hook, vmseal-verify and the gateway accept only a policy that is a\n"
		"bundle signed by at least `threshold` distinct root keys.\n"
		"\n"
		"Commands:\n"
		"  root --threshold K -o ROOT [--owner NAME] PUB...\n"
		"        write the first root of trust (version 1) from public keys (NAME.pub or\n"
		"        pkcs11: URIs); the same key twice, in any encoding, is refused\n"
		"  root --previous OLD --key KEY [--passphrase-file F] --threshold K -o NEW\n"
		"       [--owner NAME] PUB...\n"
		"        write root of trust version OLD+1, signed by KEY; countersign it with\n"
		"        'sign --append' until a threshold of OLD's keys and of its own keys signed\n"
		"  install-root [--policy DEST] [--trust-state F] ROOT\n"
		"        install ROOT as the root.json beside DEST: the first one as a plain file\n"
		"        (trusted on first use), every later one only as version N+1 signed by a\n"
		"        threshold of the installed root N and of itself (TUF's rule)\n"
		"  sign --key KEY [--passphrase-file F] [--expires DURATION] [-o OUT] POLICY\n"
		"        check POLICY parses, then wrap it in a bundle signed by KEY (default OUT:\n"
		"        POLICY.bundle); --expires 30d writes a signed \"expires\" into the policy:\n"
		"        hosts refuse the bundle after it and warn in its last 7 days\n"
		"  sign --key KEY [--passphrase-file F] --append BUNDLE|ROOT\n"
		"        countersign an existing bundle or signed root (k-of-n root keys)\n"
		"  verify --root ROOT BUNDLE\n"
		"        verify a bundle and the policy inside it; prints its version\n"
		"  index [--policy DEST]\n"
		"        write DEST.index beside a plain (unsigned) policy: where its key entries lie\n"
		"        and its SHA-256, so that the hook and vmseal-verify read a policy of\n"
		"        thousands of keys without scanning and hashing all of it on every call. It\n"
		"        is used only while it names DEST by identity (device, inode, size, mtime,\n"
		"        ctime) and has DEST's owner; run it again after every change of DEST (a\n"
		"        stale index is ignored, never trusted). Waits until DEST is 10 ms (on file\n"
		"        systems keeping whole seconds, 2 s) past its last change.\n"
		"  install [--policy DEST] [--trust-state F] [--audit-log F] BUNDLE\n"
		"        verify BUNDLE under DEST's root.json and install it atomically as DEST\n"
		"        (audited in --audit-log F, else in the bundle policy's audit_log, if any)\n"
		"        (default /etc/vmseal/policy.json); refuses a version lower than or equal to\n"
		"        the installed one or to any ever installed (rollback), and an expired bundle.\n"
		"        Records the version in the trust state. Concurrent installs are serialised.\n"
		"\n"
		"Trust state: /var/lib/vmseal/trust.state (root writes it, 0644) for the system policy\n"
		"/etc/vmseal/policy.json, else trust.state beside DEST; --trust-state F overrides. It\n"
		"keeps the highest policy version installed and the root's version: every reader (the\n"
		"hook, vmseal-verify, the gateway) refuses an older policy or root.json, and a plain\n"
		"policy once a root was installed, even if root.json was removed.\n"
		"\n"
		"Options:\n"
		"  --threshold K        root: distinct root signatures a bundle needs\n"
		"  -o, --output FILE    root: the root of trust to write; sign: the bundle to write\n"
		"  --previous OLD       root: the root of trust the new one follows\n"
		"  --owner NAME         root: the person or team holding the next PUB; keys of one\n"
		"                       owner count once toward the threshold (none: the keyid)\n"
		"  --key KEY            sign, root --previous: signing key (NAME.key or pkcs11: URI)\n"
		"  --passphrase-file F  sign, root: passphrase of an encrypted key\n"
		"  --expires DURATION   sign: bundle lifetime (Nd, Nh, Nm, Ns or seconds)\n"
		"  --append             sign: countersign the bundle or signed root given as argument\n"
		"  --root ROOT          verify: the root of trust\n"
		"  --policy DEST        install, install-root, index: the policy (root.json beside it)\n"
		"  --trust-state F      install, install-root: the trust state to check and update\n"
		"  --audit-log F        install: append a policy.install event to this log\n"
		"  -h, --help           show this help\n"
		"  --version            print the version\n"
		"\n"
		"Exit status: 0 success, 1 refused (bad signature, below threshold, rollback),\n"
		"2 usage or runtime error.\n"
		"\n"
		"Example (release host, then every hypervisor):\n"
		"  vmseal-policy root --threshold 2 -o root.json --owner alice sec1.pub \\\n"
		"      --owner bob sec2.pub --owner carol sec3.pub\n"
		"  vmseal-policy sign --key sec1.key policy.json && vmseal-policy sign --key sec2.key --append policy.json.bundle\n"
		"  vmseal-policy install policy.json.bundle\n");
}

static int cmd_root(int argc, char **argv)
{
	static const struct option opts[] = {
		{"threshold", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{"previous", required_argument, NULL, 'P'},
		{"key", required_argument, NULL, 'k'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"owner", required_argument, NULL, 'O'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *previous = NULL, *keyspec = NULL, *passfile = NULL, *owner = NULL;
	const char *pubs[VS_MAX_ROOT_KEYS], *owners[VS_MAX_ROOT_KEYS];
	size_t npubs = 0;
	long threshold = 0;
	json_t *root = json_object(), *keys = json_array();
	struct root_of_trust *prev = NULL;
	struct dsse_envelope *env = NULL;
	struct vs_key *signer = NULL;
	struct vs_error err = {0};
	char *s = NULL, *signed_root = NULL;
	int64_t version = 1;
	int c, rc = 2;

	/* "-": PUBs come in order (case 1), so that --owner names the owner of the PUB after it */
	while ((c = getopt_long(argc, argv, "-ho:", opts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (npubs == VS_MAX_ROOT_KEYS) {
				rc = cli_usage_error(prog, "root takes at most %d public keys", VS_MAX_ROOT_KEYS);
				goto done;
			}
			owners[npubs] = owner;
			pubs[npubs++] = optarg;
			owner = NULL;
			break;
		case 'O':
			if (owner || !optarg[0] || strlen(optarg) >= VS_MAX_NAME_BYTES) {
				rc = cli_usage_error(prog, owner ? "--owner \"%.64s\" follows another --owner: each names the PUB after it"
								 : "--owner \"%.64s\" must be 1 to 255 bytes", optarg);
				goto done;
			}
			owner = optarg;
			break;
		case 't': {
			uint64_t t;

			if (parse_uint_strict(optarg, 1, VS_MAX_ROOT_KEYS, &t) < 0) {
				rc = cli_usage_error(prog, "--threshold \"%.32s\" is not a number from 1 to %d", optarg,
						     VS_MAX_ROOT_KEYS);
				goto done;
			}
			threshold = (long)t;
			break;
		}
		case 'o': out = optarg; break;
		case 'P': previous = optarg; break;
		case 'k': keyspec = optarg; break;
		case 'p': passfile = optarg; break;
		case 'h': usage(stdout); rc = 0; goto done;
		default: rc = cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv)); goto done;
		}
	}
	for (; optind < argc; optind++) { /* after "--" */
		if (npubs == VS_MAX_ROOT_KEYS) {
			rc = cli_usage_error(prog, "root takes at most %d public keys", VS_MAX_ROOT_KEYS);
			goto done;
		}
		owners[npubs] = owner;
		pubs[npubs++] = argv[optind];
		owner = NULL;
	}
	if (owner) {
		rc = cli_usage_error(prog, "--owner \"%.64s\" names no public key: put it before its PUB", owner);
		goto done;
	}
	if (!out || npubs == 0) {
		rc = cli_usage_error(prog, "root needs -o ROOT and at least one public key");
		goto done;
	}
	if (threshold < 1 || threshold > (long)npubs) {
		rc = cli_usage_error(prog, "--threshold must be between 1 and the number of keys");
		goto done;
	}
	if (!previous != !keyspec) {
		rc = cli_usage_error(prog, "root --previous OLD needs --key KEY (a key of OLD or of the new root), and --key needs --previous");
		goto done;
	}
	if (previous) {
		if (root_load(previous, &prev, &err) < 0)
			goto fail;
		version = prev->version + 1;
	}
	for (size_t i = 0; i < npubs; i++) {
		struct vs_key *k = NULL;
		json_t *e;
		char *pem;

		if (key_load_public(pubs[i], &k, &err) < 0)
			goto fail;
		pem = key_public_pem(k);
		/* The owner is who holds the key (a person or team, as in the policy), never the
		 * file it was read from: the threshold counts distinct owners. */
		e = json_pack("{s:s, s:s}", "id", key_id(k), "public_key", pem ? pem : "");
		if (e && owners[i])
			json_object_set_new(e, "owner", json_string(owners[i]));
		json_array_append_new(keys, e);
		free(pem);
		key_free(k);
	}
	json_object_set_new(root, "version", json_integer(version));
	json_object_set_new(root, "threshold", json_integer(threshold));
	json_object_set(root, "keys", keys);
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!s) {
		vs_fail(&err, VS_ERR_INTERNAL, out, "cannot encode root of trust");
		goto fail;
	}
	{
		/* Write only what hosts will read: the same key twice, in any encoding, is refused. */
		struct root_of_trust *check = NULL;

		if (root_parse(s, strlen(s), out, &check, &err) < 0)
			goto fail;
		root_free(check);
	}
	if (previous) {
		/* Root N+1 is a signed envelope: a threshold of root N's keys and of its own must sign
		 * it (this key, then `sign --append`) before install-root takes it. */
		secrets_protect_process();
		if (keymeta_load_signable(keyspec, passfile, &signer, &err) < 0 ||
		    dsse_sign(ROOT_PAYLOAD_TYPE, (uint8_t *)s, strlen(s), signer, &env, &err) < 0)
			goto fail;
		signed_root = dsse_encode(env);
		if (!signed_root) {
			vs_fail(&err, VS_ERR_INTERNAL, out, "cannot encode the signed root");
			goto fail;
		}
	}
	if (file_write_atomic(out, signed_root ? signed_root : s, strlen(signed_root ? signed_root : s),
			      0644, 0, &err) < 0)
		goto fail;
	printf("%s: root of trust version %lld, %zu keys, threshold %ld%s\n", out, (long long)version,
	       json_array_size(keys), threshold,
	       previous ? ", signed once: countersign with 'vmseal-policy sign --append', then install-root" : "");
	rc = 0;
	goto done;
fail:
	vs_error_print(prog, &err);
	rc = vs_error_exit_code(&err); /* a retired key's refusal is a denial (1) */
done:
	free(s);
	free(signed_root);
	dsse_free(env);
	key_free(signer);
	root_free(prev);
	json_decref(keys);
	json_decref(root);
	return rc;
}

/* Rules that can never apply are mistakes worth a warning, not a refusal. */
static void warn_lint(const char *path, const struct policy *pol)
{
	char text[4096];

	if (policy_lint(pol, text, sizeof(text)))
		cli_warn_lines(prog, path, text);
}

/* Sets the policy text's signed "expires" to now + lifetime (issue #14 item 3): the policy is
 * re-serialised, field order kept. */
static int policy_set_expires(char **buf, size_t *len, const char *in, int64_t lifetime,
			      struct vs_error *err)
{
	json_error_t jerr;
	json_t *o = json_loadb(*buf, *len, JSON_REJECT_DUPLICATES, &jerr);
	char t[32], *s;

	if (!json_is_object(o)) {
		json_decref(o);
		return vs_fail(err, VS_ERR_INPUT, in, "policy is not a JSON object");
	}
	time_format_rfc3339(vs_now() + lifetime, t, sizeof(t));
	json_object_set_new(o, "expires", json_string(t));
	s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return vs_fail(err, VS_ERR_INTERNAL, in, "cannot encode policy");
	free(*buf);
	*buf = s;
	*len = strlen(s);
	return 0;
}

static int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"append", no_argument, NULL, 'a'},
		{"output", required_argument, NULL, 'o'},
		{"expires", required_argument, NULL, 'e'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *keyspec = NULL, *passfile = NULL, *out = NULL, *in;
	char outbuf[VS_MAX_PATH_BYTES], *buf = NULL, *json = NULL;
	struct dsse_envelope *env = NULL;
	struct root_of_trust *newroot = NULL;
	struct policy *pol = NULL;
	struct vs_key *key = NULL;
	struct vs_error err = {0};
	size_t len = 0;
	int64_t lifetime = 0;
	int append = 0, c, rc = 2;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyspec = optarg; break;
		case 'p': passfile = optarg; break;
		case 'a': append = 1; break;
		case 'o': out = optarg; break;
		case 'e':
			if (duration_parse(optarg, &lifetime) < 0)
				return cli_usage_error(prog, "--expires \"%s\" is not a duration (30d, 12h, 3600)", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (!keyspec || optind + 1 != argc)
		return cli_usage_error(prog, "sign needs --key and exactly one POLICY or BUNDLE");
	if (append && lifetime)
		return cli_usage_error(prog, "--expires is part of what is signed: give it when the bundle is made, not with --append");
	in = argv[optind];
	if (!out) {
		if (append)
			out = in;
		else {
			snprintf(outbuf, sizeof(outbuf), "%s.bundle", in);
			out = outbuf;
		}
	}
	secrets_protect_process();
	if (file_read_all(in, VS_MAX_POLICY_BYTES, &buf, &len, &err) < 0)
		goto fail;
	if (append) {
		if (dsse_parse(buf, len, in, &env, &err) < 0)
			goto fail;
		if (!strcmp(env->payload_type, ROOT_PAYLOAD_TYPE)) {
			/* Countersigning a root of trust N+1 (vmseal-policy root --previous). */
			if (root_parse((char *)env->payload, env->payload_len, in, &newroot, &err) < 0)
				goto fail;
		} else if (strcmp(env->payload_type, BUNDLE_PAYLOAD_TYPE)) {
			vs_fail(&err, VS_ERR_INPUT, in, "not a policy bundle nor a signed root (payloadType \"%.64s\")",
				env->payload_type);
			goto fail;
		} else if (policy_parse((char *)env->payload, env->payload_len, in, &pol, &err) < 0) {
			goto fail;
		}
	} else {
		if (lifetime && policy_set_expires(&buf, &len, in, lifetime, &err) < 0)
			goto fail;
		/* Signing a policy that hosts would refuse helps nobody: check it first. */
		if (policy_parse(buf, len, in, &pol, &err) < 0)
			goto fail;
	}
	if (pol)
		warn_lint(in, pol);
	if (keymeta_load_signable(keyspec, passfile, &key, &err) < 0)
		goto fail;
	if (append ? dsse_append(env, key, &err) < 0
		   : dsse_sign(BUNDLE_PAYLOAD_TYPE, (uint8_t *)buf, len, key, &env, &err) < 0)
		goto fail;
	json = dsse_encode(env);
	if (!json || file_write_atomic(out, json, strlen(json), 0644, append, &err) < 0) {
		if (!json)
			vs_fail(&err, VS_ERR_INTERNAL, out, "cannot encode bundle");
		goto fail;
	}
	if (newroot)
		printf("%s: root of trust version %lld, %zu signature%s\n", out, (long long)newroot->version,
		       env->nsigs, env->nsigs == 1 ? "" : "s");
	else
		printf("%s: policy version %lld, %zu signature%s\n", out, (long long)pol->version, env->nsigs,
		       env->nsigs == 1 ? "" : "s");
	rc = 0;
	goto done;
fail:
	vs_error_print(prog, &err);
	rc = vs_error_exit_code(&err); /* a retired key's refusal is a denial (1) */
done:
	free(json);
	free(buf);
	dsse_free(env);
	root_free(newroot);
	policy_free(pol);
	key_free(key);
	return rc;
}

/* Verifies bundle text under root and parses the policy inside. */
static int open_bundle(const char *rootpath, const char *path, const char *buf, size_t len,
		       struct policy **pol, unsigned *valid, struct vs_error *err)
{
	struct root_of_trust *root = NULL;
	char *payload = NULL;
	size_t plen = 0;
	int r = -1;

	if (root_load(rootpath, &root, err) < 0) {
		vs_error_prefix(err, "root of trust");
		return -1;
	}
	if (bundle_open(root, buf, len, path, &payload, &plen, valid, err) == 0) {
		r = policy_parse(payload, plen, path, pol, err);
		if (r < 0)
			err->kind = VS_ERR_DENIED;
		else
			warn_lint(path, *pol);
	}
	free(payload);
	root_free(root);
	return r;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *rootpath = NULL;
	struct policy *pol = NULL;
	struct vs_error err = {0};
	char *buf = NULL;
	size_t len = 0;
	unsigned valid = 0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rootpath = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (!rootpath || optind + 1 != argc)
		return cli_usage_error(prog, "verify needs --root ROOT and one BUNDLE");
	if (file_read_all(argv[optind], VS_MAX_POLICY_BYTES, &buf, &len, &err) < 0 ||
	    open_bundle(rootpath, argv[optind], buf, len, &pol, &valid, &err) < 0) {
		vs_error_print(prog, &err);
		rc = vs_error_exit_code(&err);
	} else {
		printf("ok: %s: policy version %lld, %u valid root signature%s\n", argv[optind],
		       (long long)pol->version, valid, valid == 1 ? "" : "s");
		rc = 0;
	}
	free(buf);
	policy_free(pol);
	return rc;
}

/* The trust state for dest: --trust-state, else the one that governs dest. */
static const char *state_path_of(const char *opt, const char *dest, char *buf, size_t buflen)
{
	if (opt)
		return opt;
	trust_state_path_for(dest, buf, buflen);
	return buf;
}

/* Serialises installs of dest and of its root (DEST.lock, kept); the fd or -1. */
static int install_lock(const char *dest, struct vs_error *err)
{
	char lockpath[VS_MAX_PATH_BYTES];
	int fd;

	snprintf(lockpath, sizeof(lockpath), "%s.lock", dest);
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		vs_fail(err, VS_ERR_IO, lockpath, "cannot lock: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int cmd_install(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"audit-log", required_argument, NULL, 'l'},
		{"trust-state", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dest = SYSTEM_POLICY_PATH, *auditlog = NULL, *state_opt = NULL, *state_path, *bundle;
	char rootpath[VS_MAX_PATH_BYTES], statebuf[VS_MAX_PATH_BYTES];
	char *buf = NULL, *cur = NULL;
	struct root_of_trust *root = NULL;
	struct trust_state ts;
	struct policy *pol = NULL;
	struct vs_error err = {0};
	size_t len = 0, curlen = 0;
	int64_t installed = 0;
	int c, rc = 2, lockfd = -1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': dest = optarg; break;
		case 'l': auditlog = optarg; break;
		case 's': state_opt = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(prog, "install needs exactly one BUNDLE");
	bundle = argv[optind];
	bundle_root_path(dest, rootpath, sizeof(rootpath));
	state_path = state_path_of(state_opt, dest, statebuf, sizeof(statebuf));
	if (file_read_all(bundle, VS_MAX_POLICY_BYTES, &buf, &len, &err) < 0)
		goto out;
	if (access(rootpath, F_OK) != 0) {
		vs_fail(&err, VS_ERR_IO, rootpath, "no root of trust: create it with 'vmseal-policy root' first");
		goto out;
	}
	if (root_load(rootpath, &root, &err) < 0 || open_bundle(rootpath, bundle, buf, len, &pol, NULL, &err) < 0)
		goto out;
	lockfd = install_lock(dest, &err);
	if (lockfd < 0)
		goto out;
	/* Under the lock: compare with what is installed now and with what was ever installed
	 * (trust.state: deleting the policy first does not reset it), then replace in one rename. */
	if (trust_state_load(state_path, &ts, &err) < 0)
		goto out;
	if (file_read_all(dest, VS_MAX_POLICY_BYTES, &cur, &curlen, &err) == 0)
		installed = bundle_peek_version(cur, curlen);
	else if (err.kind != VS_ERR_NOTFOUND && access(dest, F_OK) == 0)
		goto out;
	vs_error_clear(&err);
	if (ts.policy_version > installed)
		installed = ts.policy_version;
	if (pol->version <= installed) {
		vs_fail(&err, VS_ERR_DENIED, bundle,
			"rollback refused: bundle version %lld is not newer than installed version %lld",
			(long long)pol->version, (long long)installed);
		goto out;
	}
	if (root->version < ts.root_version) {
		vs_fail(&err, VS_ERR_DENIED, rootpath,
			"root of trust version %lld is older than the installed version %lld (rollback)",
			(long long)root->version, (long long)ts.root_version);
		goto out;
	}
	if (policy_check_trust(pol, bundle, &ts, state_path, vs_now(), &err) < 0) {
		err.kind = VS_ERR_DENIED;
		goto out;
	}
	if (pol->warning[0])
		cli_warn_lines(prog, bundle, pol->warning);
	fault_point("policy-install-before-write");
	if (file_write_atomic(dest, buf, len, 0644, 1, &err) < 0)
		goto out;
	/* The policy first, then the state: a crash between leaves a state that is not ahead. */
	ts.policy_version = pol->version;
	if (root->version > ts.root_version)
		ts.root_version = root->version;
	if (trust_state_save(state_path, &ts, &err) < 0)
		goto out;
	printf("installed %s as %s: policy version %lld (was %lld)\n", bundle, dest,
	       (long long)pol->version, (long long)installed);
	rc = 0;
out:
	/* A root-signed policy that names an audit log gets its installs audited there too. */
	if (!auditlog && pol && pol->audit_log[0])
		auditlog = pol->audit_log;
	if (auditlog) {
		struct vs_error aerr = {0};
		struct audit_event ev = {.actor = "vmseal-policy", .event = "policy.install", .object = bundle,
					 .decision = rc == 0 ? "allow" : err.kind == VS_ERR_DENIED ? "deny" : "error",
					 .reason = rc == 0 ? NULL : err.reason};
		if (audit_record(auditlog, &ev, &aerr) < 0)
			vs_error_print(prog, &aerr);
	}
	if (rc) {
		vs_error_print(prog, &err);
		rc = vs_error_exit_code(&err);
	}
	if (lockfd >= 0)
		close(lockfd);
	free(buf);
	free(cur);
	root_free(root);
	policy_free(pol);
	return rc;
}

/* index: DEST.index for a plain policy (lib/policyindex.h). */
static int cmd_index(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dest = SYSTEM_POLICY_PATH;
	char rootpath[VS_MAX_PATH_BYTES];
	struct vs_error err = {0};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': dest = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind != argc)
		return cli_usage_error(prog, "index takes no arguments (the policy is --policy DEST)");
	bundle_root_path(dest, rootpath, sizeof(rootpath));
	if (access(rootpath, F_OK) == 0) {
		vs_fail(&err, VS_ERR_INPUT, dest,
			"%s is beside it: a signed bundle is verified on every read and never indexed", rootpath);
	} else if (policy_write_index(dest, &err) == 0) {
		printf("indexed %s as %s%s\n", dest, dest, POLICY_INDEX_SUFFIX);
		return 0;
	}
	vs_error_print(prog, &err);
	return vs_error_exit_code(&err);
}

/* install-root: the first root of trust (plain root.json, trust on first use), or root N+1 signed
 * by a threshold of the installed root N and of itself (TUF). */
static int cmd_install_root(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"trust-state", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dest = SYSTEM_POLICY_PATH, *state_opt = NULL, *state_path, *in;
	char rootpath[VS_MAX_PATH_BYTES], statebuf[VS_MAX_PATH_BYTES];
	char *buf = NULL, *payload = NULL;
	struct root_of_trust *cur = NULL, *next = NULL;
	struct trust_state ts;
	struct vs_error err = {0};
	size_t len = 0, plen = 0;
	int c, rc = 2, lockfd = -1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': dest = optarg; break;
		case 's': state_opt = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(prog, "install-root needs exactly one ROOT");
	in = argv[optind];
	bundle_root_path(dest, rootpath, sizeof(rootpath));
	state_path = state_path_of(state_opt, dest, statebuf, sizeof(statebuf));
	if (file_read_all(in, VS_MAX_POLICY_BYTES, &buf, &len, &err) < 0)
		goto out;
	lockfd = install_lock(dest, &err);
	if (lockfd < 0)
		goto out;
	if (trust_state_load(state_path, &ts, &err) < 0)
		goto out;
	if (access(rootpath, F_OK) == 0) {
		if (root_load(rootpath, &cur, &err) < 0)
			goto out;
		if (cur->version < ts.root_version) {
			vs_fail(&err, VS_ERR_DENIED, rootpath,
				"root of trust version %lld is older than the installed version %lld (rollback): restore the newest root.json first",
				(long long)cur->version, (long long)ts.root_version);
			goto out;
		}
	} else if (ts.root_version > 0) {
		vs_fail(&err, VS_ERR_DENIED, rootpath,
			"missing, but root of trust version %lld was installed (%s): restore it first",
			(long long)ts.root_version, state_path);
		goto out;
	}
	if (!cur) {
		/* The first root: trusted on first use, like TUF's initial root.json. */
		if (bundle_is_envelope(buf, len)) {
			vs_fail(&err, VS_ERR_DENIED, in,
				"a signed root rotates an installed one, but there is no %s: install the first root (plain root.json) instead",
				rootpath);
			goto out;
		}
		if (root_parse(buf, len, in, &next, &err) < 0)
			goto out;
		payload = buf;
		plen = len;
		buf = NULL;
	} else {
		if (!bundle_is_envelope(buf, len)) {
			vs_fail(&err, VS_ERR_DENIED, in,
				"a root of trust is installed: its successor must be signed by it and by itself ('vmseal-policy root --previous')");
			goto out;
		}
		if (root_rotate_open(cur, buf, len, in, &next, &payload, &plen, &err) < 0)
			goto out;
	}
	if (file_write_atomic(rootpath, payload, plen, 0644, 1, &err) < 0)
		goto out;
	ts.root_version = next->version;
	if (trust_state_save(state_path, &ts, &err) < 0)
		goto out;
	printf("installed %s as %s: root of trust version %lld (was %lld), %zu keys, threshold %u\n", in,
	       rootpath, (long long)next->version, (long long)(cur ? cur->version : 0), next->nkeys,
	       next->threshold);
	if (cur)
		printf("note: the installed policy must now be a bundle signed by the new root's keys\n");
	rc = 0;
out:
	if (rc) {
		vs_error_print(prog, &err);
		rc = vs_error_exit_code(&err);
	}
	if (lockfd >= 0)
		close(lockfd);
	free(buf);
	free(payload);
	root_free(cur);
	root_free(next);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(prog, "missing command");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout), 0;
	if (!strcmp(argv[1], "--version"))
		return cli_version(prog);
	if (!strcmp(argv[1], "root"))
		return cmd_root(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sign"))
		return cmd_sign(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "install"))
		return cmd_install(argc - 1, argv + 1);
	if (!strcmp(argv[1], "index"))
		return cmd_index(argc - 1, argv + 1);
	if (!strcmp(argv[1], "install-root"))
		return cmd_install_root(argc - 1, argv + 1);
	return cli_usage_error(prog, "unknown command \"%s\"", argv[1]);
}
