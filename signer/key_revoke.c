/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key revoke: mark a key revoked in the policy (and in its metadata when at hand). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/policyedit.h"
#include "lib/util.h"
#include "signer/key_cmds.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key revoke KEYID|DIR/NAME --reason TEXT [--policy POLICY [--in-place]]\n"
		"\n"
		"Revokes a key: from then on the policy trusts nothing it signed, old attestations\n"
		"included (use 'vmseal-key rotate' to retire a key that is merely old).\n"
		"\n"
		"With --policy, the key's entry gets status \"revoked\", revoked_at (now) and the\n"
		"reason, and the policy version is incremented; the change is printed, and applied\n"
		"with --in-place (POLICY.bak keeps the old bytes; POLICY is replaced atomically after\n"
		"the result passed the parser vmseal-verify uses).\n"
		"\n"
		"Given a key (DIR/NAME, NAME.key, NAME.pub or NAME.json) rather than a keyid, its\n"
		"metadata NAME.json is also marked revoked (whether or not --in-place is given), so\n"
		"vmseal-sign refuses it at once on this machine.\n"
		"\n"
		"Options:\n"
		"  --reason TEXT    why (recorded in the policy and the metadata; required)\n"
		"  --policy POLICY  the policy to change\n"
		"  --in-place       apply the change to POLICY (else only print it)\n"
		"  -h, --help       show this help\n"
		"\n"
		"Exit status: 0 revoked (or already revoked), 2 usage or runtime error (e.g. the keyid\n"
		"is not in the policy).\n"
		"\n"
		"Example:\n"
		"  vmseal-key revoke keys/pipeline --reason \"laptop stolen\" \\\n"
		"                    --policy /etc/vmseal/policy.json --in-place\n");
}

static int is_keyid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == KEY_ID_HEX_LEN;
}

int cmd_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"policy", required_argument, NULL, 'P'},
		{"in-place", no_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "vmseal-key revoke", *reason = NULL, *policy = NULL, *target;
	char base[VS_MAX_PATH_BYTES], keyid[KEY_ID_HEX_LEN + 1];
	int in_place = 0, has_meta = 0, c, rc = 2, r;
	struct vs_error err = {0};
	struct policy_doc *doc = NULL;
	struct keymeta m;
	int64_t now = vs_now();

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reason = optarg; break;
		case 'P': policy = optarg; break;
		case 'i': in_place = 1; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(prog, "expected exactly one KEYID or key");
	target = argv[optind];
	if (!reason || !reason[0] || strlen(reason) >= sizeof(m.reason))
		return cli_usage_error(prog, "--reason TEXT is required (1..%zu bytes)", sizeof(m.reason) - 1);
	if (in_place && !policy)
		return cli_usage_error(prog, "--in-place needs --policy");
	if (is_keyid(target)) {
		if (!policy)
			return cli_usage_error(prog, "a bare keyid needs --policy");
		memcpy(keyid, target, sizeof(keyid));
	} else {
		if (keymeta_resolve(target, base, sizeof(base), &m, &has_meta, &err) < 0)
			goto out;
		memcpy(keyid, m.keyid, sizeof(keyid));
	}
	if (policy) {
		if (policy_doc_load(policy, &doc, &err) < 0)
			goto out;
		r = policy_doc_revoke(doc, keyid, reason, now, &err);
		if (r < 0)
			goto out;
		if (r == 0 && in_place && policy_doc_save(doc, &err) < 0)
			goto out;
	}
	if (has_meta && m.status != KEYMETA_REVOKED) {
		m.status = KEYMETA_REVOKED;
		m.revoked_at = now;
		snprintf(m.reason, sizeof(m.reason), "%s", reason);
		if (keymeta_save(base, &m, 1, &err) < 0)
			goto out;
		printf("%s.json: status revoked (vmseal-sign refuses this key)\n", base);
	}
	if (doc)
		printf("%s %s:\n%s", in_place ? "applied to" : "change to make in", policy,
		       policy_doc_changes(doc));
	rc = 0;
out:
	if (rc)
		vs_error_print(prog, &err);
	policy_doc_free(doc);
	return rc;
}
