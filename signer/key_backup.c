/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key backup: Shamir k-of-n split of a key file into self-describing share files. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/shamir.h"
#include "lib/util.h"
#include "signer/key_cmds.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key backup --shares N --threshold K [--out-dir DIR] NAME.key\n"
		"\n"
		"Splits the key file NAME.key, byte for byte as it is on disk (so an encrypted key\n"
		"stays encrypted inside its shares), into N Shamir shares over GF(2^8) (libgfshare) of\n"
		"which any K rebuild it and K-1 reveal nothing. Each share is written to\n"
		"DIR/NAME.share-I-of-N.json (default DIR: the key's directory), mode 0600, atomically,\n"
		"never overwriting. A share file says what it is: format, key name, keyid, algorithm,\n"
		"share index, K, N, a random id of this split (shares of two splits never mix), the\n"
		"SHA-256 of the share bytes (detects an altered share), the SHA-256 of the key file\n"
		"(detects a wrong recombination) and the public key. Give each share to a different\n"
		"custodian; 'vmseal-key recover' rebuilds the key.\n"
		"\n"
		"Options:\n"
		"  --shares N     number of shares, 2..255\n"
		"  --threshold K  shares needed to recover, 2..N\n"
		"  --out-dir DIR  where to write the shares\n"
		"  -h, --help     show this help\n"
		"\n"
		"Exit status: 0 written (one path per line on stdout), 2 usage or runtime error\n"
		"(no share is left behind).\n"
		"\n"
		"Example:\n"
		"  vmseal-key backup --shares 5 --threshold 3 keys/pipeline.key\n");
}

static int parse_count(const char *s, unsigned *out)
{
	uint64_t v;

	if (parse_uint_strict(s, 2, SHARE_MAX_COUNT, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option opts[] = {
		{"shares", required_argument, NULL, 'n'},
		{"threshold", required_argument, NULL, 'k'},
		{"out-dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "vmseal-key backup", *keyfile, *outdir = NULL;
	char base[VS_MAX_PATH_BYTES], dirbuf[VS_MAX_PATH_BYTES], keydir[VS_MAX_PATH_BYTES];
	char (*paths)[VS_MAX_PATH_BYTES] = NULL;
	char *file = NULL, *text = NULL;
	unsigned n = 0, k = 0, i, written = 0;
	uint8_t *secret = NULL, *shares[SHARE_MAX_COUNT] = {0}, rnd[16];
	size_t len = 0;
	int has_meta = 0, c, rc = 2;
	struct vs_error err = {0};
	struct key_share s;
	struct keymeta m;

	memset(&s, 0, sizeof(s));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_count(optarg, &n) < 0)
				return cli_usage_error(prog, "--shares must be 2..%d", SHARE_MAX_COUNT);
			break;
		case 'k':
			if (parse_count(optarg, &k) < 0)
				return cli_usage_error(prog, "--threshold must be 2..%d", SHARE_MAX_COUNT);
			break;
		case 'd': outdir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(prog, "expected exactly one NAME.key");
	if (!n || !k)
		return cli_usage_error(prog, "--shares and --threshold are required");
	if (k > n)
		return cli_usage_error(prog, "--threshold %u is more than --shares %u", k, n);
	keyfile = argv[optind];
	secrets_protect_process();
	if (keymeta_resolve(keyfile, base, sizeof(base), &m, &has_meta, &err) < 0)
		goto out;
	if (m.pkcs11) {
		vs_fail(&err, VS_ERR_USAGE, keyfile, "a pkcs11 key never leaves its token: back up the token instead");
		goto out;
	}
	if (!outdir) {
		if (vs_path_dir(base, keydir, sizeof(keydir)) < 0) {
			vs_fail(&err, VS_ERR_INPUT, keyfile, "path too long");
			goto out;
		}
		outdir = keydir;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s.key", base);
	if (file_read_all(dirbuf, VS_MAX_KEY_FILE_BYTES, &file, &len, &err) < 0)
		goto out;
	secret = OPENSSL_secure_malloc(len + 1);
	if (!secret) {
		vs_fail(&err, VS_ERR_INTERNAL, keyfile, "out of memory");
		goto out;
	}
	memcpy(secret, file, len);
	OPENSSL_cleanse(file, len);
	if (!memmem(secret, len, "-----BEGIN ", 11) || !memmem(secret, len, "PRIVATE KEY-----", 16)) {
		vs_fail(&err, VS_ERR_INPUT, dirbuf, "not a PEM private key file");
		goto out;
	}
	s.encrypted = memmem(secret, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) != NULL;
	if (!s.encrypted) {
		/* A plain key can be checked against its public half right now. */
		struct vs_key *priv = NULL;

		if (key_load_private_pem((char *)secret, len, dirbuf, NULL, &priv, &err) < 0)
			goto out;
		if (strcmp(key_id(priv), m.keyid)) {
			vs_fail(&err, VS_ERR_INPUT, dirbuf, "private key (keyid %.16s…) does not match %s.pub",
				key_id(priv), base);
			key_free(priv);
			goto out;
		}
		key_free(priv);
	}
	paths = calloc(n, sizeof(*paths));
	if (!paths) {
		vs_fail(&err, VS_ERR_INTERNAL, keyfile, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (snprintf(paths[i], sizeof(paths[i]), "%s/%s.share-%u-of-%u.json", outdir, m.name, i + 1,
			     n) >= (int)sizeof(paths[i])) {
			vs_fail(&err, VS_ERR_USAGE, outdir, "path too long");
			goto out;
		}
		if (access(paths[i], F_OK) == 0) {
			vs_fail(&err, VS_ERR_IO, paths[i], "already exists; refusing to overwrite");
			goto out;
		}
	}
	if (key_cmd_entropy(1, &err) < 0 || shamir_split(secret, len, n, k, shares, &err) < 0)
		goto out;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		vs_fail(&err, VS_ERR_INTERNAL, "set", "no randomness");
		goto out;
	}
	hex_encode(rnd, sizeof(rnd), s.set);
	snprintf(s.name, sizeof(s.name), "%s", m.name);
	memcpy(s.keyid, m.keyid, sizeof(s.keyid));
	s.alg = m.alg;
	s.created = m.created;
	s.threshold = k;
	s.count = n;
	s.size = len;
	EVP_Digest(secret, len, s.secret_sha256, NULL, EVP_sha256(), NULL);
	{
		struct vs_key *pub = NULL;
		char pubpath[VS_MAX_PATH_BYTES];

		snprintf(pubpath, sizeof(pubpath), "%s.pub", base);
		if (key_load_public(pubpath, &pub, &err) < 0)
			goto out;
		s.public_key = key_public_pem(pub);
		key_free(pub);
		if (!s.public_key) {
			vs_fail(&err, VS_ERR_INTERNAL, pubpath, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		s.index = i + 1;
		s.data = shares[i];
		text = share_encode(&s);
		s.data = NULL;
		if (!text) {
			vs_fail(&err, VS_ERR_INTERNAL, paths[i], "cannot encode share");
			goto out;
		}
		if (file_write_atomic(paths[i], text, strlen(text), 0600, 0, &err) < 0)
			goto out;
		written++;
		OPENSSL_secure_clear_free(text, strlen(text) + 1);
		text = NULL;
		fault_point("backup-between-shares");
	}
	for (i = 0; i < n; i++)
		printf("%s\n", paths[i]);
	rc = 0;
out:
	if (rc) {
		vs_error_print(prog, &err);
		for (i = 0; i < written; i++)
			unlink(paths[i]);
	}
	if (text)
		OPENSSL_secure_clear_free(text, strlen(text) + 1);
	for (i = 0; i < n && i < SHARE_MAX_COUNT; i++)
		share_data_free(shares[i], len);
	if (secret)
		OPENSSL_secure_clear_free(secret, len + 1);
	free(file);
	free(s.public_key);
	free(paths);
	return rc;
}
