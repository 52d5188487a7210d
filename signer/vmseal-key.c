/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key: key lifecycle front end; dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "signer/key_cmds.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"generate", cmd_generate, "create a new key pair (NAME.key encrypted, NAME.pub)"},
	{"id", cmd_id, "print the keyid of a key file or pkcs11: URI"},
	{"policy-entry", cmd_policy_entry, "print a policy \"keys\" entry for a public key"},
	{"list", cmd_list, "list keys with keyid, algorithm, creation time, status, location"},
	{"rotate", cmd_rotate, "make the next key version, retire the old one (and in the policy)"},
	{"revoke", cmd_revoke, "mark a key revoked in the policy and its metadata"},
	{"backup", cmd_backup, "split a key file into K-of-N Shamir shares"},
	{"recover", cmd_recover, "rebuild a key file from K shares, checking each one"},
	{"destroy", cmd_destroy, "overwrite and unlink a key (or delete it from its token), audited"},
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key COMMAND [OPTIONS]\n"
		"       vmseal-key --help | --version\n"
		"\n"
		"Manage vmseal signing keys. Private keys are PKCS#8, encrypted with a passphrase by\n"
		"default, written 0600 with O_EXCL and never overwritten. A keyid is the lowercase hex\n"
		"SHA-256 of the public key's DER SubjectPublicKeyInfo.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"Run 'vmseal-key COMMAND --help' for the options of one command.\n"
		"\n"
		"Exit status: 0 success, 1 denied or verification failed, 2 usage or runtime error.\n");
}

int key_cmd_entropy(int wait, struct vs_error *err)
{
	if (key_entropy_ready(0, err) == 0)
		return 0;
	if (!wait)
		return -1;
	vs_error_clear(err);
	fprintf(stderr, "vmseal: waiting for the kernel entropy pool to be initialised...\n");
	return key_entropy_ready(1, err);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("vmseal-key", "missing command");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return usage(stdout), 0;
	if (!strcmp(argv[1], "--version"))
		return cli_version("vmseal-key");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	return cli_usage_error("vmseal-key", "unknown command \"%s\"", argv[1]);
}
