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
#include "lib/policy.h"
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
		"  root --threshold K -o ROOT PUB...\n"
		"        write a root of trust from public keys (NAME.pub or pkcs11: URIs)\n"
		"  sign --key KEY [--passphrase-file F] [-o OUT] POLICY\n"
		"        check POLICY parses, then wrap it in a bundle signed by KEY\n"
		"        (default OUT: POLICY.bundle)\n"
		"  sign --key KEY [--passphrase-file F] --append BUNDLE\n"
		"        countersign an existing bundle (k-of-n root keys)\n"
		"  verify --root ROOT BUNDLE\n"
		"        verify a bundle and the policy inside it; prints its version\n"
		"  install [--policy DEST] [--audit-log F] BUNDLE\n"
		"        verify BUNDLE under DEST's root.json and install it atomically as DEST\n"
		"        (default /etc/vmseal/policy.json); refuses a version lower than or equal to\n"
		"        the installed one (rollback). Concurrent installs are serialised by a lock.\n"
		"\n"
		"Options:\n"
		"  --threshold K        root: distinct root signatures a bundle needs\n"
		"  -o, --output FILE    root: the root of trust to write; sign: the bundle to write\n"
		"  --key KEY            sign: signing key (NAME.key or pkcs11: URI)\n"
		"  --passphrase-file F  sign: passphrase of an encrypted key\n"
		"  --append             sign: countersign the bundle given as argument\n"
		"  --root ROOT          verify: the root of trust\n"
		"  --policy DEST        install: the policy to replace (root.json beside it)\n"
		"  --audit-log F        install: append a policy.install event to this log\n"
		"  -h, --help           show this help\n"
		"  --version            print the version\n"
		"\n"
		"Exit status: 0 success, 1 refused (bad signature, below threshold, rollback),\n"
		"2 usage or runtime error.\n"
		"\n"
		"Example (release host, then every hypervisor):\n"
		"  vmseal-policy root --threshold 2 -o root.json sec1.pub sec2.pub sec3.pub\n"
		"  vmseal-policy sign --key sec1.key policy.json && vmseal-policy sign --key sec2.key --append policy.json.bundle\n"
		"  vmseal-policy install policy.json.bundle\n");
}

static int cmd_root(int argc, char **argv)
{
	static const struct option opts[] = {
		{"threshold", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	long threshold = 0;
	json_t *root = json_object(), *keys = json_array();
	struct vs_error err = {0};
	char *s = NULL;
	int c, rc = 2;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 't': threshold = strtol(optarg, NULL, 10); break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); rc = 0; goto done;
		default: rc = cli_usage_error(prog, "bad option"); goto done;
		}
	}
	if (!out || optind >= argc) {
		rc = cli_usage_error(prog, "root needs -o ROOT and at least one public key");
		goto done;
	}
	if (threshold < 1 || threshold > argc - optind) {
		rc = cli_usage_error(prog, "--threshold must be between 1 and the number of keys");
		goto done;
	}
	for (int i = optind; i < argc; i++) {
		struct vs_key *k = NULL;
		char *pem;

		if (key_load_public(argv[i], &k, &err) < 0)
			goto fail;
		pem = key_public_pem(k);
		json_array_append_new(keys, json_pack("{s:s, s:s, s:s}", "id", key_id(k), "public_key",
						      pem ? pem : "", "owner", argv[i]));
		free(pem);
		key_free(k);
	}
	json_object_set_new(root, "version", json_integer(1));
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
	if (file_write_atomic(out, s, strlen(s), 0644, 0, &err) < 0)
		goto fail;
	printf("%s: root of trust, %zu keys, threshold %ld\n", out, json_array_size(keys), threshold);
	rc = 0;
	goto done;
fail:
	vs_error_print(prog, &err);
done:
	free(s);
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

static int cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"append", no_argument, NULL, 'a'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *keyspec = NULL, *passfile = NULL, *out = NULL, *in;
	char outbuf[VS_MAX_PATH_BYTES], *buf = NULL, *json = NULL;
	struct dsse_envelope *env = NULL;
	struct policy *pol = NULL;
	struct vs_key *key = NULL;
	struct vs_error err = {0};
	size_t len = 0;
	int append = 0, c, rc = 2;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyspec = optarg; break;
		case 'p': passfile = optarg; break;
		case 'a': append = 1; break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option");
		}
	}
	if (!keyspec || optind + 1 != argc)
		return cli_usage_error(prog, "sign needs --key and exactly one POLICY or BUNDLE");
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
		if (strcmp(env->payload_type, BUNDLE_PAYLOAD_TYPE)) {
			vs_fail(&err, VS_ERR_INPUT, in, "not a policy bundle (payloadType \"%.64s\")", env->payload_type);
			goto fail;
		}
		if (policy_parse((char *)env->payload, env->payload_len, in, &pol, &err) < 0)
			goto fail;
	} else {
		/* Signing a policy that hosts would refuse helps nobody: check it first. */
		if (policy_parse(buf, len, in, &pol, &err) < 0)
			goto fail;
	}
	warn_lint(in, pol);
	if (key_load_private(keyspec, passfile, &key, &err) < 0)
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
	printf("%s: policy version %lld, %zu signature%s\n", out, (long long)pol->version, env->nsigs,
	       env->nsigs == 1 ? "" : "s");
	rc = 0;
	goto done;
fail:
	vs_error_print(prog, &err);
done:
	free(json);
	free(buf);
	dsse_free(env);
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
		default: return cli_usage_error(prog, "bad option");
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

static int cmd_install(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"audit-log", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dest = "/etc/vmseal/policy.json", *auditlog = NULL, *bundle;
	char rootpath[VS_MAX_PATH_BYTES], lockpath[VS_MAX_PATH_BYTES], *buf = NULL, *cur = NULL;
	struct policy *pol = NULL;
	struct vs_error err = {0};
	size_t len = 0, curlen = 0;
	int64_t installed = 0;
	int c, rc = 2, lockfd = -1;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': dest = optarg; break;
		case 'l': auditlog = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(prog, "install needs exactly one BUNDLE");
	bundle = argv[optind];
	bundle_root_path(dest, rootpath, sizeof(rootpath));
	snprintf(lockpath, sizeof(lockpath), "%s.lock", dest);
	if (file_read_all(bundle, VS_MAX_POLICY_BYTES, &buf, &len, &err) < 0)
		goto out;
	if (access(rootpath, F_OK) != 0) {
		vs_fail(&err, VS_ERR_IO, rootpath, "no root of trust: create it with 'vmseal-policy root' first");
		goto out;
	}
	if (open_bundle(rootpath, bundle, buf, len, &pol, NULL, &err) < 0)
		goto out;
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		vs_fail(&err, VS_ERR_IO, lockpath, "cannot lock: %s", strerror(errno));
		goto out;
	}
	/* Under the lock: compare with what is installed now, then replace it in one rename. */
	if (file_read_all(dest, VS_MAX_POLICY_BYTES, &cur, &curlen, &err) == 0)
		installed = bundle_peek_version(cur, curlen);
	else if (errno != ENOENT && access(dest, F_OK) == 0)
		goto out;
	vs_error_clear(&err);
	if (pol->version <= installed) {
		vs_fail(&err, VS_ERR_DENIED, bundle,
			"rollback refused: bundle version %lld is not newer than installed version %lld",
			(long long)pol->version, (long long)installed);
		goto out;
	}
	fault_point("policy-install-before-write");
	if (file_write_atomic(dest, buf, len, 0644, 1, &err) < 0)
		goto out;
	printf("installed %s as %s: policy version %lld (was %lld)\n", bundle, dest,
	       (long long)pol->version, (long long)installed);
	rc = 0;
out:
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
	policy_free(pol);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), 2;
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
	return cli_usage_error(prog, "unknown command \"%s\"", argv[1]);
}
