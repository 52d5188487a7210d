/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key destroy: overwrite and unlink a key file (or delete it from its token), audited. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "lib/audit.h"
#include "lib/cli.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/p11.h"
#include "lib/shamir.h"
#include "lib/shred.h"
#include "lib/util.h"
#include "signer/key_cmds.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key destroy DIR/NAME|NAME.key|SHARE.json|pkcs11:URI [--yes]\n"
		"                          [--audit-log FILE] [--pin-file FILE] [--module PKCS11_MODULE]\n"
		"\n"
		"Destroys a private key, or one backup share of it, for good.\n"
		"\n"
		"Before a byte is written the file must be a PEM private key (a share: a valid share\n"
		"file), a regular file and not a symbolic link, and no other hard link may name it:\n"
		"otherwise nothing is touched and the reason is printed.\n"
		"\n"
		"A key file is overwritten in place, same length, with random bytes and then zeros\n"
		"(fsync after each pass), then unlinked and its directory fsynced. NAME.json is kept\n"
		"as a tombstone with status \"destroyed\" and destroyed_at (vmseal-sign refuses the\n"
		"key, 'vmseal-key list' shows it); NAME.pub stays, so what the key signed can still\n"
		"be checked. Backup shares found beside the key (NAME.share-*.json) and other hard\n"
		"links to the key file are refused (remove them first).\n"
		"\n"
		"Overwriting cannot guarantee erasure on SSDs (wear levelling), copy-on-write file\n"
		"systems (btrfs, ZFS), journaling with data=journal, snapshots or backups. For an\n"
		"encrypted key, destroying every copy of its passphrase makes every copy of the file\n"
		"useless (crypto-shredding). See README, \"Destroying keys\".\n"
		"\n"
		"A key in a PKCS#11 token (NAME.json with location pkcs11, or a pkcs11: URI) is\n"
		"deleted from the token, private and public object, with p11tool --delete (OpenSSL's\n"
		"provider interface cannot delete objects); the token erases it by its own rules.\n"
		"\n"
		"Options:\n"
		"  --yes             do not ask for confirmation (required without a terminal)\n"
		"  --audit-log FILE  append a key.destroy event to this audit log\n"
		"  --pin-file FILE   token PIN (PKCS#11 keys)\n"
		"  --module PATH     PKCS#11 module for p11tool (default: p11-kit's registered ones)\n"
		"  -h, --help        show this help\n"
		"\n"
		"Exit status: 0 destroyed, 2 usage or runtime error (e.g. already destroyed).\n"
		"\n"
		"Example:\n"
		"  vmseal-key destroy keys/pipeline-v1 --yes --audit-log keys/audit.jsonl\n"
		"  vmseal-key destroy keys/pipeline-v1.share-2-of-5.json --yes\n");
}

static int confirm(const char *what, struct vs_error *err)
{
	char line[64] = "";
	FILE *tty = fopen("/dev/tty", "r+");

	if (!tty)
		return vs_fail(err, VS_ERR_USAGE, what, "refusing to destroy without --yes (no terminal to ask)");
	fprintf(tty, "Destroy %s for good? This cannot be undone. Type \"destroy\": ", what);
	fflush(tty);
	if (!fgets(line, sizeof(line), tty))
		line[0] = '\0';
	fclose(tty);
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "destroy"))
		return vs_fail(err, VS_ERR_USAGE, what, "not confirmed; nothing destroyed");
	return 0;
}

/* Names the backup shares lying beside the key, which hold it just as well. */
static void warn_shares(const char *base, const char *name)
{
	char dirbuf[VS_MAX_PATH_BYTES], prefix[VS_MAX_NAME_BYTES + 8];
	const char *dir;
	struct dirent *de;
	DIR *d;

	if (vs_path_dir(base, dirbuf, sizeof(dirbuf)) < 0)
		return;
	dir = dirbuf;
	d = opendir(dir);
	if (!d)
		return;
	snprintf(prefix, sizeof(prefix), "%s.share-", name);
	while ((de = readdir(d)) != NULL)
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			fprintf(stderr, "vmseal-key destroy: warning: backup share %s/%s still holds the key: "
				"destroy it too (vmseal-key destroy %s/%s --yes)\n", dir, de->d_name, dir,
				de->d_name);
	closedir(d);
}

/* A share file, told by its content (a NAME.json beside a key is metadata, not a share); an
 * altered share is still one, and file_shred_check then says what is wrong with it. */
static int is_share_file(const char *path)
{
	struct vs_error err = {0};
	char *data = NULL;
	size_t len = 0, n = strlen(path);
	int r;

	if (n < 5 || strcmp(path + n - 5, ".json"))
		return 0;
	if (file_read_all(path, SHARE_MAX_FILE_BYTES, &data, &len, &err) < 0)
		return 0;
	r = memmem(data, len, "\"" SHARE_FORMAT "\"", strlen(SHARE_FORMAT) + 2) != NULL;
	OPENSSL_cleanse(data, len);
	free(data);
	return r;
}

/* Destroys one backup share file: the same checks and overwrite as a key file. */
static int destroy_share(const char *path, int yes, char *object, size_t objlen, struct vs_error *err)
{
	snprintf(object, objlen, "backup share %s", path);
	if (file_shred_check(path, SHRED_KEY_SHARE, err) < 0 || (!yes && confirm(object, err) < 0) ||
	    file_shred(path, SHRED_KEY_SHARE, err) < 0)
		return -1;
	printf("destroyed %s: overwritten (random, then zeros), fsynced, unlinked\n", object);
	return 0;
}

int cmd_destroy(int argc, char **argv)
{
	static const struct option opts[] = {
		{"yes", no_argument, NULL, 'y'},
		{"audit-log", required_argument, NULL, 'l'},
		{"pin-file", required_argument, NULL, 'p'},
		{"module", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "vmseal-key destroy", *auditlog = NULL, *pinfile = NULL, *module = NULL,
		   *spec;
	char base[VS_MAX_PATH_BYTES], keypath[VS_MAX_PATH_BYTES], object[VS_MAX_PATH_BYTES + 100];
	int yes = 0, has_meta = 0, c, rc = 2;
	struct vs_error err = {0};
	struct keymeta m;
	const char *uri = NULL;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'y': yes = 1; break;
		case 'l': auditlog = optarg; break;
		case 'p': pinfile = optarg; break;
		case 'm': module = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(prog, "expected exactly one key");
	spec = argv[optind];
	snprintf(object, sizeof(object), "%s", spec);
	memset(&m, 0, sizeof(m));
	if (!strncmp(spec, "pkcs11:", 7)) {
		uri = spec;
	} else if (is_share_file(spec)) {
		if (destroy_share(spec, yes, object, sizeof(object), &err) == 0)
			rc = 0;
		goto out;
	} else {
		if (keymeta_resolve(spec, base, sizeof(base), &m, &has_meta, &err) < 0)
			goto out;
		snprintf(object, sizeof(object), "%s (keyid %s)", base, m.keyid);
		if (m.status == KEYMETA_DESTROYED) {
			vs_fail(&err, VS_ERR_USAGE, base, "already destroyed");
			goto out;
		}
		if (m.pkcs11)
			uri = m.uri;
	}
	if (!uri) {
		snprintf(keypath, sizeof(keypath), "%s.key", base);
		if (file_shred_check(keypath, SHRED_PRIVATE_KEY, &err) < 0)
			goto out;
	}
	if (!yes && confirm(object, &err) < 0)
		goto out;
	if (uri) {
		if (p11_destroy(uri, module, pinfile, &err) < 0)
			goto out;
		printf("destroyed %s: deleted from its token\n", object);
	} else {
		if (file_shred(keypath, SHRED_PRIVATE_KEY, &err) < 0)
			goto out;
		printf("destroyed %s: %s overwritten (random, then zeros), fsynced, unlinked\n", object, keypath);
	}
	fault_point("destroy-before-meta");
	if (!uri || has_meta) {
		m.status = KEYMETA_DESTROYED;
		m.destroyed_at = vs_now();
		if (keymeta_save(base, &m, 1, &err) < 0)
			goto out;
		printf("%s.json: status destroyed\n", base);
		warn_shares(base, m.name);
	}
	rc = 0;
out:
	if (auditlog) {
		struct vs_error aerr = {0};
		struct audit_event ev = {
			.actor = "vmseal-key",
			.event = "key.destroy",
			.object = object,
			.decision = rc == 0 ? "allow" : "error",
			.reason = rc == 0 ? (uri ? "deleted from PKCS#11 token" : "overwritten and unlinked")
					  : err.reason,
		};

		if (audit_record(auditlog, &ev, &aerr) < 0) {
			vs_error_print(prog, &aerr);
			rc = 2;
		}
	}
	if (rc && err.kind)
		vs_error_print(prog, &err);
	return rc;
}
