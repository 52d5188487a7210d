/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key rotate: a new key version; the old one retired in its metadata and the policy. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/policyedit.h"
#include "lib/util.h"
#include "signer/key_cmds.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key rotate --out DIR/NAME [--old DIR/OLDNAME] [--alg ed25519|p256|rsa3072]\n"
		"                         [--passphrase-file FILE | --no-passphrase] [--no-wait]\n"
		"                         [--policy POLICY] [--in-place]\n"
		"\n"
		"Makes the next version of a key and retires the current one.\n"
		"\n"
		"Naming. Without --old, DIR/NAME names the key's lineage: the first version is\n"
		"DIR/NAME, later ones DIR/NAME-v2, DIR/NAME-v3, ... The highest existing version is\n"
		"retired and the next one written (DIR/NAME -> DIR/NAME-v2 -> DIR/NAME-v3). With\n"
		"--old, the new key is written to exactly DIR/NAME and DIR/OLDNAME is retired.\n"
		"\n"
		"The new key is generated like 'vmseal-key generate' (entropy gate, encrypted PKCS#8,\n"
		"0600, atomic, never overwriting) with the old key's algorithm unless --alg says\n"
		"otherwise. Its NAME.json records version N+1 and the keyid it replaces. The old key's\n"
		"metadata becomes status \"retired\" (retired_at, replaced_by): vmseal-sign refuses it\n"
		"from now on, while attestations it made keep verifying. A revoked or destroyed old\n"
		"key keeps that status. The old key's passphrase is not needed.\n"
		"\n"
		"Dry run. Without --in-place nothing is written: no key is made, no metadata and no\n"
		"policy changes. What would be done is printed, with the exact command that applies it\n"
		"(the same arguments plus --in-place), which can be run later.\n"
		"\n"
		"Policy. The change is: add the new key with the old one's owner, usage and roles;\n"
		"mark the old one retired; trust the new keyid in every template rule that trusts the\n"
		"old one; increment the policy version. With --policy it is worked out against that\n"
		"policy (checked before any key is made: the old keyid must be in it), and with\n"
		"--in-place applied: POLICY.bak gets the old bytes, POLICY is replaced atomically\n"
		"(temp file, fsync, rename) after the result passed the same parser vmseal-verify\n"
		"uses. Without --policy the change to make by hand is printed.\n"
		"\n"
		"Options:\n"
		"  --out DIR/NAME         the lineage (without --old) or the new key's name (with --old)\n"
		"  --old DIR/OLDNAME      the key to retire (NAME, NAME.key, NAME.pub or NAME.json)\n"
		"  --alg ALG              algorithm of the new key (default: the old key's)\n"
		"  --passphrase-file FILE passphrase for the new key (else asked twice on the terminal)\n"
		"  --no-passphrase        write the new private key unencrypted (test setups only)\n"
		"  --no-wait              fail at once when the kernel entropy pool is not ready\n"
		"  --policy POLICY        the policy to work out the change against\n"
		"  --in-place             do it: make the new key, retire the old one, and edit POLICY\n"
		"                         (keeps POLICY.bak); without it, a dry run\n"
		"  -h, --help             show this help\n"
		"\n"
		"Output: with --in-place the first line is the new keyid, then one line per change; a\n"
		"dry run's first line is \"dry run: nothing written\", its last the command to apply.\n"
		"\n"
		"Exit status: 0 rotated, 2 usage or runtime error (no key is made when the policy or\n"
		"the old key cannot be read).\n"
		"\n"
		"Examples:\n"
		"  vmseal-key rotate --out keys/pipeline --passphrase-file pass \\\n"
		"                    --policy /etc/vmseal/policy.json --in-place\n"
		"  vmseal-key rotate --old keys/pipeline-2025 --out keys/pipeline-2026 --passphrase-file pass \\\n"
		"                    --in-place\n");
}

static int exists_key(const char *base)
{
	char p[VS_MAX_PATH_BYTES];

	snprintf(p, sizeof(p), "%s.json", base);
	if (access(p, F_OK) == 0)
		return 1;
	snprintf(p, sizeof(p), "%s.pub", base);
	return access(p, F_OK) == 0;
}

/* Prints arg for a POSIX shell: as is when it holds only safe characters, else single-quoted. */
static void print_shell_word(const char *arg)
{
	if (arg[0] && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
				 "-_./=:@%+,") == strlen(arg)) {
		fputs(arg, stdout);
		return;
	}
	putchar('\'');
	for (; *arg; arg++)
		if (*arg == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*arg);
	putchar('\'');
}

/* The dry run: what --in-place would do, and the command that does it. Writes nothing. */
static int rotate_plan(int argc, char **argv, const char *oldbase, const struct keymeta *old,
		       const char *newbase, enum key_alg alg, struct policy_doc *doc, const char *policy,
		       struct vs_error *err)
{
	if (exists_key(newbase))
		return vs_fail(err, VS_ERR_IO, newbase, "already exists; refusing to overwrite");
	if (doc && policy_doc_rotate_plan(doc, old->keyid, alg, err) < 0)
		return -1;
	printf("dry run: nothing written\n");
	printf("would write %s (%s, version %lld), replacing %s (keyid %.16s…, %s)\n", newbase,
	       key_alg_name(alg), (long long)old->version + 1, oldbase, old->keyid,
	       old->status == KEYMETA_ACTIVE ? "would become retired" : keymeta_status_name(old->status));
	if (doc)
		printf("would change in %s:\n%s", policy, policy_doc_changes(doc));
	else
		printf("change to make in the policy (or give --policy POLICY to have it made):\n"
		       "  add a keys entry for the new key with the owner, usage and roles of %s\n"
		       "  set the status of key %s to \"retired\"\n"
		       "  add the new keyid to every template rule whose keys list %s\n"
		       "  increment the policy version\n", old->keyid, old->keyid, old->keyid);
	printf("to apply: vmseal-key rotate");
	for (int i = 1; i < argc; i++) {
		putchar(' ');
		print_shell_word(argv[i]);
	}
	printf(" --in-place\n");
	return 0;
}

/* Finds the highest existing version of lineage (DIR/NAME, DIR/NAME-v2, ...): old gets its
 * base, next the base of the version after it. */
static int find_versions(const char *lineage, char *old, char *next, size_t len, struct vs_error *err)
{
	long n;

	if (strlen(lineage) + 16 >= len)
		return vs_fail(err, VS_ERR_USAGE, lineage, "path too long");
	if (!exists_key(lineage))
		return vs_fail(err, VS_ERR_IO, lineage,
			       "no key to rotate (neither %s.json nor %s.pub exists; use --old to name it)",
			       lineage, lineage);
	snprintf(old, len, "%s", lineage);
	for (n = 2; n < 1000000; n++) {
		snprintf(next, len, "%s-v%ld", lineage, n);
		if (!exists_key(next))
			return 0;
		snprintf(old, len, "%s", next);
	}
	return vs_fail(err, VS_ERR_INPUT, lineage, "too many versions");
}

int cmd_rotate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"old", required_argument, NULL, 'O'},
		{"alg", required_argument, NULL, 'a'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"no-passphrase", no_argument, NULL, 'n'},
		{"no-wait", no_argument, NULL, 'w'},
		{"policy", required_argument, NULL, 'P'},
		{"in-place", no_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "vmseal-key rotate", *out = NULL, *oldspec = NULL, *passfile = NULL,
		   *policy = NULL;
	char oldbase[VS_MAX_PATH_BYTES], newbase[VS_MAX_PATH_BYTES], *pass = NULL;
	enum key_alg alg = KEY_ALG_NONE;
	int no_pass = 0, wait = 1, in_place = 0, has_meta = 0, c, rc = 2;
	struct vs_error err = {0};
	struct policy_doc *doc = NULL;
	struct keymeta old, lineage;
	struct vs_key *k = NULL;
	int64_t now = vs_now();

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'O': oldspec = optarg; break;
		case 'a':
			alg = key_alg_parse(optarg);
			if (alg == KEY_ALG_NONE)
				return cli_usage_error(prog, "unknown --alg \"%s\"", optarg);
			break;
		case 'p': passfile = optarg; break;
		case 'n': no_pass = 1; break;
		case 'w': wait = 0; break;
		case 'P': policy = optarg; break;
		case 'i': in_place = 1; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind != argc)
		return cli_usage_error(prog, "unexpected argument \"%s\"", argv[optind]);
	if (!out)
		return cli_usage_error(prog, "--out DIR/NAME is required");
	if (no_pass && passfile)
		return cli_usage_error(prog, "--passphrase-file and --no-passphrase exclude each other");
	secrets_protect_process();
	if (oldspec) {
		if (keymeta_base(out, newbase, sizeof(newbase)) < 0) {
			vs_fail(&err, VS_ERR_USAGE, out, "not a key name");
			goto out;
		}
		if (keymeta_resolve(oldspec, oldbase, sizeof(oldbase), &old, &has_meta, &err) < 0)
			goto out;
	} else {
		char lin[VS_MAX_PATH_BYTES], cur[VS_MAX_PATH_BYTES];

		if (keymeta_base(out, lin, sizeof(lin)) < 0) {
			vs_fail(&err, VS_ERR_USAGE, out, "not a key name");
			goto out;
		}
		if (find_versions(lin, cur, newbase, sizeof(cur), &err) < 0 ||
		    keymeta_resolve(cur, oldbase, sizeof(oldbase), &old, &has_meta, &err) < 0)
			goto out;
	}
	if (old.pkcs11) {
		vs_fail(&err, VS_ERR_USAGE, oldbase,
			"a pkcs11 key is rotated with 'vmseal-key generate --pkcs11 URI' and --old; not yet supported");
		goto out;
	}
	if (alg == KEY_ALG_NONE)
		alg = old.alg;
	/* Everything that can refuse is checked before a key exists. */
	if (policy) {
		if (policy_doc_load(policy, &doc, &err) < 0)
			goto out;
		if (!policy_doc_has_key(doc, old.keyid)) {
			vs_fail(&err, VS_ERR_INPUT, policy, "keyid %.16s… (%s) is not in the policy",
				old.keyid, oldbase);
			goto out;
		}
	}
	if (!in_place) {
		if (rotate_plan(argc, argv, oldbase, &old, newbase, alg, doc, policy, &err) == 0)
			rc = 0;
		goto out;
	}
	if (!no_pass && (passfile ? passphrase_read_file(passfile, &pass, &err) < 0
				  : passphrase_prompt("New passphrase: ", 1, &pass, &err) < 0))
		goto out;
	memset(&lineage, 0, sizeof(lineage));
	lineage.version = old.version + 1;
	memcpy(lineage.replaces, old.keyid, sizeof(lineage.replaces));
	if (key_cmd_entropy(wait, &err) < 0 ||
	    keymeta_create_key(alg, wait, newbase, pass, &lineage, &k, &err) < 0)
		goto out;
	fault_point("rotate-after-new-key");
	/*
	 * With --in-place the policy is the commit point: it is saved before the old key's metadata
	 * says "retired", so a crash in between leaves the new policy (which already names the old key
	 * retired) and metadata that only lags; the other order could leave the old policy in force
	 * with its only key marked retired.
	 */
	if (doc && policy_doc_rotate(doc, old.keyid, k, now, &err) < 0)
		goto policy_failed;
	if (doc && policy_doc_save(doc, &err) < 0)
		goto policy_failed;
	fault_point("rotate-after-policy");
	if (old.status == KEYMETA_ACTIVE) {
		old.status = KEYMETA_RETIRED;
		old.retired_at = now;
	}
	memcpy(old.replaced_by, key_id(k), sizeof(old.replaced_by));
	if (keymeta_save(oldbase, &old, 1, &err) < 0) {
		vs_error_prefix(&err, "new key %s written%s, but the old key's metadata was not updated",
				newbase, doc ? " and the policy changed" : "");
		goto out;
	}
	printf("%s\n", key_id(k));
	printf("%s (keyid %.16s…) replaces %s (keyid %.16s…, now %s)\n", newbase, key_id(k), oldbase,
	       old.keyid, keymeta_status_name(old.status));
	if (doc) {
		printf("applied to %s:\n%s", policy, policy_doc_changes(doc));
		printf("previous policy kept in %s.bak\n", policy);
	} else {
		printf("change to make in the policy:\n"
		       "  add a keys entry for %s with the owner, usage and roles of %s:\n"
		       "    vmseal-key policy-entry %s.pub --owner ... --usage ...\n"
		       "  set the status of key %s to \"retired\"\n"
		       "  add %s to every template rule whose keys list %s\n"
		       "  increment the policy version\n"
		       "(or give --policy POLICY to have it made)\n",
		       key_id(k), old.keyid, newbase, old.keyid, key_id(k), old.keyid);
	}
	rc = 0;
	goto out;
policy_failed:
	vs_error_prefix(&err, "new key %s written, but neither the policy nor %s was changed", newbase,
			oldbase);
out:
	if (rc)
		vs_error_print(prog, &err);
	passphrase_free(pass);
	key_free(k);
	policy_doc_free(doc);
	return rc;
}
