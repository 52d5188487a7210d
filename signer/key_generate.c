/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key generate: new key pair, encrypted at rest, after the entropy pool is ready. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/util.h"
#include "signer/key_cmds.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key generate [--alg ed25519|p256|rsa3072] --out DIR/NAME\n"
		"                           [--passphrase-file FILE | --no-passphrase] [--no-wait]\n"
		"                           [--pkcs11 'pkcs11:token=TOKEN;object=LABEL']\n"
		"\n"
		"Generates a key pair and writes DIR/NAME.key (PKCS#8 PEM, AES-256 encrypted),\n"
		"DIR/NAME.pub (SubjectPublicKeyInfo PEM) and DIR/NAME.json (metadata: keyid, algorithm,\n"
		"creation time, status active, location), all mode 0600, atomically. Existing files\n"
		"are never overwritten. Prints the new keyid on stdout.\n"
		"\n"
		"With --pkcs11 the key pair is generated inside the PKCS#11 token by OpenSSL's\n"
		"pkcs11-provider (OPENSSL_CONF must load it): the private key is created sensitive and\n"
		"never extractable and never leaves the token. Only DIR/NAME.pub (exported public key)\n"
		"and DIR/NAME.json (location pkcs11, the URI) are written; sign with\n"
		"--key 'pkcs11:token=TOKEN;object=LABEL'. --passphrase-file then holds the token PIN\n"
		"(handed to the provider as pin-source, never read by vmseal-key); without it the\n"
		"provider's configuration must supply the PIN.\n"
		"\n"
		"Options:\n"
		"  --alg ALG              ed25519 (default), p256 (ECDSA P-256, SHA-256) or rsa3072\n"
		"                         (RSA-PSS, SHA-256)\n"
		"  --out DIR/NAME         where to write NAME.key and NAME.pub (required)\n"
		"  --passphrase-file FILE read the passphrase from the first line of FILE; without it\n"
		"                         the passphrase is asked twice on the terminal, without echo\n"
		"  --no-passphrase        write the private key unencrypted (test setups only)\n"
		"  --no-wait              fail at once instead of waiting when the kernel's entropy\n"
		"                         pool is not yet initialised (fresh VMs and hosts)\n"
		"  --pkcs11 URI           generate inside this PKCS#11 token object (Ed25519, P-256\n"
		"                         and RSA-3072 work with SoftHSM2 2.6)\n"
		"  -h, --help             show this help\n"
		"\n"
		"Exit status: 0 written, 2 usage or runtime error (nothing is left half-written).\n"
		"\n"
		"Example:\n"
		"  vmseal-key generate --out keys/pipeline --passphrase-file /run/secrets/pipeline.pass\n");
}

int cmd_generate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"alg", required_argument, NULL, 'a'},
		{"out", required_argument, NULL, 'o'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"no-passphrase", no_argument, NULL, 'n'},
		{"no-wait", no_argument, NULL, 'w'},
		{"pkcs11", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "vmseal-key generate", *out = NULL, *passfile = NULL, *uri = NULL;
	enum key_alg alg = KEY_ALG_ED25519;
	int no_pass = 0, wait = 1, c, rc = 2;
	struct vs_error err = {0};
	struct vs_key *k = NULL;
	char *pass = NULL;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			alg = key_alg_parse(optarg);
			if (alg == KEY_ALG_NONE)
				return cli_usage_error(prog, "unknown --alg \"%s\"", optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'n':
			no_pass = 1;
			break;
		case 'w':
			wait = 0;
			break;
		case 'P':
			uri = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind != argc)
		return cli_usage_error(prog, "unexpected argument \"%s\"", argv[optind]);
	if (!out)
		return cli_usage_error(prog, "--out DIR/NAME is required");
	if (no_pass && passfile)
		return cli_usage_error(prog, "--passphrase-file and --no-passphrase exclude each other");
	secrets_protect_process();
	if (uri) {
		if (no_pass)
			return cli_usage_error(prog, "--no-passphrase means nothing with --pkcs11");
		if (key_cmd_entropy(wait, &err) < 0)
			goto out;
		if (keymeta_create_p11_key(alg, uri, passfile, out, &k, &err) < 0)
			goto out;
		printf("%s\n", key_id(k));
		rc = 0;
		goto out;
	}
	if (!no_pass) {
		if (passfile ? passphrase_read_file(passfile, &pass, &err) < 0
			     : passphrase_prompt("New passphrase: ", 1, &pass, &err) < 0)
			goto out;
	}
	if (key_cmd_entropy(wait, &err) < 0 ||
	    keymeta_create_key(alg, wait, out, pass, NULL, &k, &err) < 0)
		goto out;
	printf("%s\n", key_id(k));
	rc = 0;
out:
	if (rc)
		vs_error_print(prog, &err);
	passphrase_free(pass);
	key_free(k);
	return rc;
}
