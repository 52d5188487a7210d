/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key id: print the keyid of a public key, a private key's .pub, or a pkcs11: URI. */
#include <stdio.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "signer/key_cmds.h"

int cmd_id(int argc, char **argv)
{
	struct vs_error err = {0};
	struct vs_key *k = NULL;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: vmseal-key id NAME.pub|NAME.key|pkcs11:URI\n"
		       "\n"
		       "Prints the keyid: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo. For\n"
		       "NAME.key the public half NAME.pub beside it is read, so no passphrase is needed.\n"
		       "\n"
		       "Exit status: 0 printed, 2 the key cannot be read.\n");
		return 0;
	}
	if (argc != 2)
		return cli_usage_error("vmseal-key id", "expected exactly one key");
	if (key_load_public(argv[1], &k, &err) < 0) {
		vs_error_print("vmseal-key id", &err);
		return 2;
	}
	printf("%s\n", key_id(k));
	key_free(k);
	return 0;
}
