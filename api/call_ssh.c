/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-call ssh-cert: asks the gateway's SSH CA for a short-lived certificate of one's SSH
 * public key (POST /v1/ssh/certs), checks it, and writes KEY-cert.pub beside KEY.pub;
 * vmseal-call ssh-krl: fetches the CA's KRL (GET /v1/ssh/krl), checks it, writes it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "api/call.h"
#include "lib/cli.h"
#include "lib/limits.h"
#include "lib/sshcert.h"
#include "lib/sshkrl.h"
#include "lib/util.h"

#define CERT_PROG PROG " ssh-cert"
#define KRL_PROG PROG " ssh-krl"

static void usage(FILE *f)
{
	fputs("Usage: vmseal-call ssh-cert --url https://HOST:PORT --key KEY [--key KEY2]...\n"
	      "                   --ssh-key FILE.pub --principal NAME [--principal NAME]...\n"
	      "                   [--validity 10m] [--out FILE] [--force] [OPTIONS]\n"
	      "\n"
	      "Sends a signed POST /v1/ssh/certs for the SSH public key, checks the certificate the\n"
	      "gateway returns (a user certificate of exactly that key and those principals, valid\n"
	      "now, its CA signature good) and writes it to FILE-cert.pub beside FILE.pub (OpenSSH\n"
	      "finds it there), atomically. An existing file is replaced only when it holds a\n"
	      "certificate of the same key (a renewal); anything else there needs --force.\n"
	      "\n"
	      "Options:\n"
	      "  --ssh-key FILE.pub     the SSH public key to certify (ssh-ed25519, ecdsa-sha2-\n"
	      "                         nistp256 or ssh-rsa)\n"
	      "  --principal NAME       a login name the certificate is for (repeatable); the\n"
	      "                         policy's ssh rule of the key must allow each\n"
	      "  --validity D           lifetime: 30s, 10m, 1h (default 10m; the policy caps it)\n"
	      "  --out FILE             where to write the certificate instead\n"
	      "  --force                replace FILE whatever it holds\n"
	      "  --url, --key, --passphrase-file, --cacert, --cert, --cert-key, --gateway-pub,\n"
	      "  --expires-in, --verbose  as for a plain call (vmseal-call --help)\n"
	      "\n"
	      "Exit status: 0 written, 1 refused (401/403, a bad certificate), 2 error.\n"
	      "\n"
	      "Example:\n"
	      "  vmseal-call ssh-cert --url https://gw:8443 --key alice.key --cacert gw.crt \\\n"
	      "      --gateway-pub gw-response.pub --ssh-key ~/.ssh/id_ed25519.pub \\\n"
	      "      --principal admin --validity 10m && ssh admin@vm\n",
	      f);
}

/* 1 when path holds a certificate (any CA) of key. */
static int holds_cert_of(const char *path, const struct sshkey *key)
{
	char *buf = NULL;
	size_t len = 0;
	struct sshcert c;
	int same = 0;

	if (file_read_all(path, VS_MAX_SSH_LINE_BYTES, &buf, &len, NULL) < 0)
		return 0;
	if (sshcert_parse_line(buf, len, path, &c, NULL) == 0) {
		same = sshkey_equal(c.key, key);
		sshcert_clear(&c);
	}
	free(buf);
	return same;
}

/* The returned certificate must be what was asked for. */
static int check_cert(const char *line, const struct sshkey *key, char (*principals)[VS_MAX_SSH_PRINCIPAL_BYTES + 1],
		      size_t n, struct vs_error *err)
{
	struct sshcert c;
	int64_t now = vs_now();
	int r = -1;

	if (sshcert_parse_line(line, strlen(line), "certificate", &c, err) < 0)
		return -1;
	if (c.type != SSHCERT_USER || !sshkey_equal(c.key, key))
		vs_fail(err, VS_ERR_DENIED, "certificate", "not a user certificate of --ssh-key");
	else if (c.nprincipals != n)
		vs_fail(err, VS_ERR_DENIED, "certificate", "principals differ from those asked for");
	else if ((int64_t)c.valid_before <= now || (int64_t)c.valid_after > now)
		vs_fail(err, VS_ERR_DENIED, "certificate", "not valid now");
	else
		r = 0;
	for (size_t i = 0; r == 0 && i < n; i++)
		if (strcmp(c.principals[i], principals[i]))
			r = vs_fail(err, VS_ERR_DENIED, "certificate", "principal \"%.64s\" differs",
				    c.principals[i]);
	sshcert_clear(&c);
	return r;
}

int call_ssh_cert(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ssh-key", required_argument, NULL, 's'},
		{"principal", required_argument, NULL, 'n'},
		{"validity", required_argument, NULL, 'V'},
		{"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		CALL_COMMON_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char principals[VS_MAX_SSH_PRINCIPALS][VS_MAX_SSH_PRINCIPAL_BYTES + 1];
	char out_default[VS_MAX_PATH_BYTES], *keyline = NULL, *body = NULL;
	const char *sshkey_path = NULL, *out = NULL, *certline;
	size_t np = 0, len = 0;
	int64_t validity = 600;
	int force = 0, c, rc = 2;
	struct call_opts co = {0};
	struct gwclient_call call = {.method = "POST", .target = "/v1/ssh/certs"};
	struct sshkey *key = NULL;
	struct vs_error err = {0};
	json_t *req = NULL, *ans = NULL, *jp;

	optind = 0;
	while ((c = call_getopt(argc, argv, opts, &co)) != -1) {
		switch (c) {
		case CALL_GETOPT_FAILED:
			return 2;
		case 's': sshkey_path = optarg; break;
		case 'n':
			if (np == VS_MAX_SSH_PRINCIPALS || strlen(optarg) > VS_MAX_SSH_PRINCIPAL_BYTES)
				return cli_usage_error(CERT_PROG, "--principal: at most %u of at most %u bytes",
						       VS_MAX_SSH_PRINCIPALS, VS_MAX_SSH_PRINCIPAL_BYTES);
			snprintf(principals[np++], sizeof(principals[0]), "%s", optarg);
			break;
		case 'V':
			if (duration_parse(optarg, &validity) < 0 || validity < 1 ||
			    validity > VS_MAX_SSH_VALIDITY_S)
				return cli_usage_error(CERT_PROG, "--validity: \"%.32s\" is not 1s..%uh",
						       optarg, VS_MAX_SSH_VALIDITY_S / 3600);
			break;
		case 'o': out = optarg; break;
		case 'f': force = 1; break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			return cli_usage_error(CERT_PROG, "bad option %s", cli_bad_option(argv));
		}
	}
	if (optind != argc || !sshkey_path || np == 0)
		return cli_usage_error(CERT_PROG, "needs --ssh-key and --principal");
	if (call_opts_check(&co) < 0)
		return 2;
	if (!out) {
		size_t n = strlen(sshkey_path);

		if (n < 5 || strcmp(sshkey_path + n - 4, ".pub") || n + 6 > sizeof(out_default)) {
			vs_fail(&err, VS_ERR_USAGE, sshkey_path, "does not end in .pub: give --out");
			goto fail;
		}
		snprintf(out_default, sizeof(out_default), "%.*s-cert.pub", (int)(n - 4), sshkey_path);
		out = out_default;
	}
	if (file_read_all(sshkey_path, VS_MAX_SSH_LINE_BYTES, &keyline, &len, &err) < 0 ||
	    sshkey_parse_line(keyline, len, sshkey_path, &key, &err) < 0)
		goto fail;
	/* Decided before the call, so that a refusal costs no certificate. */
	if (!force && access(out, F_OK) == 0 && !holds_cert_of(out, key)) {
		vs_fail(&err, VS_ERR_USAGE, out, "exists and is not a certificate of this key: "
			"--force replaces it");
		goto fail;
	}
	req = json_object();
	jp = json_array();
	for (size_t i = 0; i < np; i++)
		json_array_append_new(jp, json_string(principals[i]));
	keyline[strcspn(keyline, "\n")] = '\0';
	json_object_set_new(req, "ssh_public_key", json_string(keyline));
	json_object_set_new(req, "principals", jp);
	json_object_set_new(req, "validity_s", json_integer(validity));
	body = json_dumps(req, JSON_COMPACT);
	if (!body) {
		vs_fail(&err, VS_ERR_INTERNAL, "request", "out of memory");
		goto fail;
	}
	call.body = body;
	call.body_len = strlen(body);
	if (call_member(&co, &call, "certificate", &ans, &certline, &err) < 0 ||
	    check_cert(certline, key, principals, np, &err) < 0 ||
	    file_write_atomic(out, certline, strlen(certline), 0644, 1, &err) < 0)
		goto fail;
	printf("%s: serial %lld, valid until %s\n", out,
	       (long long)json_integer_value(json_object_get(ans, "serial")),
	       json_string_value(json_object_get(ans, "valid_before")) ?: "?");
	rc = 0;
	goto out;
fail:
	vs_error_print(PROG, &err);
	rc = vs_error_exit_code(&err);
out:
	json_decref(req);
	json_decref(ans);
	free(body);
	free(keyline);
	sshkey_free(key);
	return rc;
}

static void usage_krl(FILE *f)
{
	fputs("Usage: vmseal-call ssh-krl --url https://HOST:PORT --key KEY --out FILE [OPTIONS]\n"
	      "\n"
	      "Fetches the SSH CA's revocation list (GET /v1/ssh/krl), checks that it is an OpenSSH\n"
	      "KRL of the form the gateway writes, and writes it to FILE atomically (replacing it),\n"
	      "e.g. the /etc/ssh/vmseal-revoked.krl that sshd's RevokedKeys names. With --gateway-pub\n"
	      "the answer's signature is checked first, so a KRL from anyone else is never written.\n"
	      "\n"
	      "Options: --out FILE; --url, --key, --passphrase-file, --cacert, --cert, --cert-key,\n"
	      "--gateway-pub, --expires-in, --verbose as for a plain call.\n"
	      "\n"
	      "Exit status: 0 written, 1 refused, 2 error.\n",
	      f);
}

int call_ssh_krl(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		CALL_COMMON_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *b64;
	size_t n = 0;
	uint8_t *krl = NULL;
	struct call_opts co = {0};
	struct gwclient_call call = {.method = "GET", .target = "/v1/ssh/krl"};
	struct sshkrl k = {0};
	struct vs_error err = {0};
	json_t *ans = NULL;
	int c, rc = 2;

	optind = 0;
	while ((c = call_getopt(argc, argv, opts, &co)) != -1) {
		switch (c) {
		case CALL_GETOPT_FAILED:
			return 2;
		case 'o': out = optarg; break;
		case 'h':
			usage_krl(stdout);
			rc = 0;
			goto out;
		default:
			return cli_usage_error(KRL_PROG, "bad option %s", cli_bad_option(argv));
		}
	}
	if (optind != argc || !out)
		return cli_usage_error(KRL_PROG, "needs --out FILE");
	if (call_opts_check(&co) < 0)
		return 2;
	if (call_member(&co, &call, "krl", &ans, &b64, &err) < 0)
		goto fail;
	if (b64_decode(b64, strlen(b64), 0, &krl, &n) < 0) {
		vs_fail(&err, VS_ERR_INPUT, "answer", "no base64 KRL in the gateway's answer");
		goto fail;
	}
	if (sshkrl_parse(krl, n, "KRL", &k, &err) < 0 ||
	    file_write_atomic(out, krl, n, 0644, 1, &err) < 0)
		goto fail;
	printf("%s: KRL version %llu, %zu serials, %zu keys\n", out, (unsigned long long)k.version,
	       k.nserials, k.nfps);
	rc = 0;
	goto out;
fail:
	vs_error_print(PROG, &err);
	rc = vs_error_exit_code(&err);
out:
	sshkrl_clear(&k);
	json_decref(ans);
	free(krl);
	return rc;
}
