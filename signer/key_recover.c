/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key recover: rebuild a key file from K Shamir shares, checking every share and keyid. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/shamir.h"
#include "lib/util.h"
#include "signer/key_cmds.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key recover --out DIR/NAME [--passphrase-file FILE] SHARE...\n"
		"\n"
		"Rebuilds a key file from shares written by 'vmseal-key backup' and writes\n"
		"DIR/NAME.key (the key file exactly as it was backed up), DIR/NAME.pub and\n"
		"DIR/NAME.json, mode 0600, atomically, never overwriting.\n"
		"\n"
		"Status. The key comes back no more alive than it was: its metadata (NAME.json beside\n"
		"--out or beside any SHARE) is read first. A destroyed key (the tombstone destroy\n"
		"leaves) is refused; a retired or revoked key keeps that status; otherwise active.\n"
		"Copies of the shares moved elsewhere carry no status: what verifiers accept is the\n"
		"policy's status for the keyid, so revoke it there.\n"
		"\n"
		"Checks, each with its own error: every share's checksum (an altered or corrupt\n"
		"share), that all shares come from the same split of the same key, no index twice,\n"
		"at least K shares, the SHA-256 of the rebuilt file (a wrong share whose checksum\n"
		"was recomputed), that the public key in the shares has the shares' keyid, and that\n"
		"the rebuilt private key has it too. An encrypted key is decrypted for that last\n"
		"check only with --passphrase-file; without it, the digest check stands in for it.\n"
		"\n"
		"Options:\n"
		"  --out DIR/NAME          where to write the key\n"
		"  --passphrase-file FILE  passphrase of an encrypted key, to check its keyid\n"
		"  -h, --help              show this help\n"
		"\n"
		"Exit status: 0 recovered (keyid on stdout), 2 usage error, too few shares, a bad\n"
		"share, a mismatch (nothing is written).\n"
		"\n"
		"Example:\n"
		"  vmseal-key recover --out keys/pipeline share-1.json share-4.json share-5.json\n");
}

/* What the key's own metadata says, wherever it is known: beside --out and beside every
 * share (backup writes shares next to the key, destroy leaves NAME.json there as a tombstone).
 * A destroyed key is refused; a retired or revoked one keeps that status when recovered, so
 * recovering never brings a key back to active. prior gets the strongest status found. */
static int known_status(const char *base, char *const *share_paths, size_t n, const struct key_share *s,
			struct keymeta *prior, struct vs_error *err)
{
	char dir[VS_MAX_PATH_BYTES], cand[VS_MAX_PATH_BYTES];

	memset(prior, 0, sizeof(*prior));
	prior->status = KEYMETA_ACTIVE;
	for (size_t i = 0; i <= n; i++) {
		struct keymeta m;
		struct vs_error e = {0};
		const char *slash;

		if (i == n) {
			snprintf(cand, sizeof(cand), "%s", base);
		} else {
			slash = strrchr(share_paths[i], '/');
			snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - share_paths[i]) : 1,
				 slash ? share_paths[i] : ".");
			if ((size_t)snprintf(cand, sizeof(cand), "%s/%s", dir, s->name) >= sizeof(cand))
				continue;
		}
		if (keymeta_load(cand, &m, &e) != 0 || strcmp(m.keyid, s->keyid))
			continue;
		if (m.status == KEYMETA_DESTROYED) {
			char t[32] = "an unknown time";

			if (m.destroyed_at)
				time_format_rfc3339(m.destroyed_at, t, sizeof(t));
			return vs_fail(err, VS_ERR_DENIED, cand,
				       "key %.16s… was destroyed at %s (%s.json): recovering it would bring it back; nothing written",
				       s->keyid, t, cand);
		}
		if (m.status > prior->status)
			*prior = m;
	}
	return 0;
}

static int write_outputs(const char *base, const uint8_t *secret, size_t len,
			 const struct key_share *s, const struct keymeta *prior, struct vs_error *err)
{
	char pk[VS_MAX_PATH_BYTES], pp[VS_MAX_PATH_BYTES], pj[VS_MAX_PATH_BYTES];
	const char *slash = strrchr(base, '/');
	struct keymeta m;

	if (snprintf(pk, sizeof(pk), "%s.key", base) >= (int)sizeof(pk) ||
	    snprintf(pp, sizeof(pp), "%s.pub", base) >= (int)sizeof(pp) ||
	    snprintf(pj, sizeof(pj), "%s.json", base) >= (int)sizeof(pj))
		return vs_fail(err, VS_ERR_USAGE, base, "path too long");
	if (!access(pk, F_OK) || !access(pp, F_OK) || !access(pj, F_OK))
		return vs_fail(err, VS_ERR_IO, base, "%s.key, .pub or .json already exists; refusing to overwrite",
			       base);
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", slash ? slash + 1 : base);
	memcpy(m.keyid, s->keyid, sizeof(m.keyid));
	m.alg = s->alg;
	m.created = s->created;
	/* Never more alive than the key was: a retired or revoked key stays so. */
	m.status = prior->status;
	m.retired_at = prior->retired_at;
	m.revoked_at = prior->revoked_at;
	memcpy(m.replaced_by, prior->replaced_by, sizeof(m.replaced_by));
	memcpy(m.reason, prior->reason, sizeof(m.reason));
	m.version = prior->version ? prior->version : 1;
	if (file_write_atomic(pp, s->public_key, strlen(s->public_key), 0600, 0, err) < 0)
		return -1;
	if (file_write_atomic(pk, secret, len, 0600, 0, err) < 0) {
		unlink(pp);
		return -1;
	}
	if (keymeta_save(base, &m, 0, err) < 0) {
		unlink(pk);
		unlink(pp);
		return -1;
	}
	return 0;
}

int cmd_recover(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "vmseal-key recover", *out = NULL, *passfile = NULL;
	char base[VS_MAX_PATH_BYTES];
	struct key_share *shares = NULL;
	struct vs_key *pub = NULL, *priv = NULL;
	uint8_t *secret = NULL;
	size_t len = 0, n = 0;
	int c, rc = 2;
	struct vs_error err = {0};
	struct keymeta prior;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': passfile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (!out)
		return cli_usage_error(prog, "--out DIR/NAME is required");
	if (optind == argc)
		return cli_usage_error(prog, "no SHARE given");
	if (argc - optind > SHARE_MAX_COUNT)
		return cli_usage_error(prog, "more than %d shares", SHARE_MAX_COUNT);
	if (keymeta_base(out, base, sizeof(base)) < 0)
		return cli_usage_error(prog, "--out \"%s\" is not a key name", out);
	secrets_protect_process();
	shares = calloc((size_t)(argc - optind), sizeof(*shares));
	if (!shares) {
		vs_fail(&err, VS_ERR_INTERNAL, "shares", "out of memory");
		goto out;
	}
	for (int i = optind; i < argc; i++, n++) {
		char *text = NULL;
		size_t tlen = 0;
		int r;

		if (file_read_all(argv[i], SHARE_MAX_FILE_BYTES, &text, &tlen, &err) < 0)
			goto out;
		r = share_parse(text, tlen, argv[i], &shares[n], &err);
		OPENSSL_cleanse(text, tlen);
		free(text);
		if (r < 0)
			goto out;
	}
	if (known_status(base, argv + optind, n, &shares[0], &prior, &err) < 0)
		goto out;
	if (shares_recombine(shares, (const char *const *)argv + optind, n, &secret, &len, &err) < 0)
		goto out;
	/* The share bytes are no longer needed: wipe them now and give the secure heap back, which
	 * OpenSSL's PEM decoder needs for the private key. */
	for (size_t i = 0; i < n; i++) {
		share_data_free(shares[i].data, shares[i].size);
		shares[i].data = NULL;
	}
	if (key_from_public_pem(shares[0].public_key, strlen(shares[0].public_key), "share public_key",
				&pub, &err) < 0)
		goto out;
	if (strcmp(key_id(pub), shares[0].keyid)) {
		vs_fail(&err, VS_ERR_INPUT, argv[optind], "public key in the shares is keyid %.16s…, not %.16s…",
			key_id(pub), shares[0].keyid);
		goto out;
	}
	if (!shares[0].encrypted || passfile) {
		if (key_load_private_pem((char *)secret, len, "recovered key", passfile, &priv, &err) < 0)
			goto out;
		if (strcmp(key_id(priv), shares[0].keyid)) {
			vs_fail(&err, VS_ERR_INPUT, "recovered key", "keyid %.16s… is not the shares' %.16s…",
				key_id(priv), shares[0].keyid);
			goto out;
		}
	} else {
		fprintf(stderr, "%s: note: encrypted key not decrypted (no --passphrase-file); its bytes match "
				"the backed-up file's SHA-256\n", prog);
	}
	if (write_outputs(base, secret, len, &shares[0], &prior, &err) < 0)
		goto out;
	printf("%s\n", shares[0].keyid);
	rc = 0;
out:
	if (rc)
		vs_error_print(prog, &err);
	for (size_t i = 0; shares && i < (size_t)(argc - optind); i++)
		share_clear(&shares[i]);
	free(shares);
	share_data_free(secret, len);
	key_free(pub);
	key_free(priv);
	return rc;
}
