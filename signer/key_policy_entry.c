/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key policy-entry: print a policy "keys" entry for a public key, ready to paste. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "lib/policy.h"
#include "lib/util.h"
#include "signer/key_cmds.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key policy-entry KEY [--owner NAME] [--usage template|admin|policy|boot]...\n"
		"                               [--role ROLE]... [--status active|retired|revoked]\n"
		"                               [--not-before TIME] [--not-after TIME]\n"
		"\n"
		"Prints one JSON object for the \"keys\" array of a policy: id, public_key (PEM), owner,\n"
		"usage, roles, status and validity window. KEY is NAME.pub, NAME.key (its .pub is read)\n"
		"or a pkcs11: URI. TIME is RFC 3339 UTC, e.g. 2026-01-01T00:00:00Z.\n"
		"\n"
		"Roles (for usage admin): viewer, operator, admin, signer, auditor, ssh.\n"
		"\n"
		"Exit status: 0 printed, 2 usage error or unreadable key.\n");
}

int cmd_policy_entry(int argc, char **argv)
{
	static const struct option opts[] = {
		{"owner", required_argument, NULL, 'o'},
		{"usage", required_argument, NULL, 'u'},
		{"role", required_argument, NULL, 'r'},
		{"status", required_argument, NULL, 's'},
		{"not-before", required_argument, NULL, 'b'},
		{"not-after", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "vmseal-key policy-entry";
	json_t *o = json_object(), *usage_a = json_array(), *roles = json_array();
	struct vs_error err = {0};
	struct vs_key *k = NULL;
	char *pem = NULL, *s = NULL;
	int c, rc = 2;
	int64_t t;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			json_object_set_new(o, "owner", json_string(optarg));
			break;
		case 'u':
			if (strcmp(optarg, "template") && strcmp(optarg, "admin") && strcmp(optarg, "policy") &&
			    strcmp(optarg, "boot")) {
				rc = cli_usage_error(prog, "--usage must be template, admin, policy or boot");
				goto out;
			}
			json_array_append_new(usage_a, json_string(optarg));
			break;
		case 'r':
			if (!role_parse(optarg)) {
				rc = cli_usage_error(prog, "unknown --role \"%s\"", optarg);
				goto out;
			}
			json_array_append_new(roles, json_string(optarg));
			break;
		case 's':
			if (strcmp(optarg, "active") && strcmp(optarg, "retired") && strcmp(optarg, "revoked")) {
				rc = cli_usage_error(prog, "--status must be active, retired or revoked");
				goto out;
			}
			json_object_set_new(o, "status", json_string(optarg));
			break;
		case 'b':
		case 'a':
			if (time_parse_rfc3339(optarg, &t) < 0) {
				rc = cli_usage_error(prog, "\"%s\" is not an RFC 3339 UTC time", optarg);
				goto out;
			}
			json_object_set_new(o, c == 'b' ? "not_before" : "not_after", json_string(optarg));
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			rc = cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
			goto out;
		}
	}
	if (optind + 1 != argc) {
		rc = cli_usage_error(prog, "expected exactly one KEY");
		goto out;
	}
	if (key_load_public(argv[optind], &k, &err) < 0 || !(pem = key_public_pem(k))) {
		vs_error_print(prog, &err);
		goto out;
	}
	if (json_array_size(usage_a) == 0)
		json_array_append_new(usage_a, json_string("template"));
	json_object_set_new(o, "id", json_string(key_id(k)));
	json_object_set_new(o, "public_key", json_string(pem));
	json_object_set(o, "usage", usage_a);
	if (json_array_size(roles))
		json_object_set(o, "roles", roles);
	if (!json_object_get(o, "status"))
		json_object_set_new(o, "status", json_string("active"));
	s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!s)
		goto out;
	printf("%s\n", s);
	rc = 0;
out:
	free(s);
	free(pem);
	key_free(k);
	json_decref(usage_a);
	json_decref(roles);
	json_decref(o);
	return rc;
}
