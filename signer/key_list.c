/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-key list: the keys of a directory with their lifecycle status, from NAME.json files. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cli.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/limits.h"
#include "lib/util.h"
#include "signer/key_cmds.h"


static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-key list [--full] [DIR]\n"
		"\n"
		"Lists the keys in DIR (default: the current directory), one per line, sorted by name:\n"
		"NAME, KEYID (first 16 hex digits), ALG, CREATED, STATUS and LOCATION (file, or the\n"
		"pkcs11: URI of a key held in a token). The facts come from each NAME.json metadata\n"
		"file. A NAME.key without metadata (made before metadata existed) is listed with its\n"
		"keyid read from NAME.pub and status \"unknown\".\n"
		"\n"
		"Status: active (signs and verifies), retired (rotated out: verifies what it signed,\n"
		"signs nothing new), revoked (verifies nothing), destroyed (private key gone).\n"
		"\n"
		"Options:\n"
		"  --full      print whole keyids\n"
		"  -h, --help  show this help\n"
		"\n"
		"Exit status: 0 listed (also when there are no keys), 2 DIR unreadable or a metadata\n"
		"file is invalid (the other keys are still listed).\n"
		"\n"
		"Example:\n"
		"  vmseal-key list keys/\n");
}

struct row {
	char name[VS_MAX_NAME_BYTES];
	struct keymeta m;
	int legacy;
};

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->name, ((const struct row *)b)->name);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t sl = strlen(s), xl = strlen(suffix);

	return sl > xl && !strcmp(s + sl - xl, suffix);
}

/* Reads one directory entry into row r. Returns 1 when it is a key, 0 when not, -1 on error. */
static int read_entry(const char *dir, const char *fname, struct row *r, struct vs_error *err)
{
	char base[VS_MAX_PATH_BYTES], path[VS_MAX_PATH_BYTES];
	size_t n = strlen(fname);
	struct vs_key *k = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc, ours;

	memset(r, 0, sizeof(*r));
	if (ends_with(fname, ".json")) {
		if (snprintf(base, sizeof(base), "%s/%.*s", dir, (int)(n - 5), fname) >= (int)sizeof(base))
			return vs_fail(err, VS_ERR_USAGE, fname, "path too long");
		snprintf(path, sizeof(path), "%s.json", base);
		/* Policies and shares may live here too: only files naming our format are ours. */
		if (file_read_all(path, KEYMETA_MAX_BYTES, &buf, &len, err) < 0) {
			vs_error_clear(err);
			return 0;
		}
		ours = strstr(buf, "\"" KEYMETA_FORMAT "\"") != NULL;
		rc = ours ? keymeta_parse(buf, len, path, &r->m, err) : 0;
		free(buf);
		if (!ours || rc < 0)
			return rc;
		snprintf(r->name, sizeof(r->name), "%.*s", (int)(n - 5), fname);
		return 1;
	}
	if (!ends_with(fname, ".key"))
		return 0;
	if (snprintf(base, sizeof(base), "%s/%.*s", dir, (int)(n - 4), fname) >= (int)sizeof(base) ||
	    snprintf(path, sizeof(path), "%s.json", base) >= (int)sizeof(path))
		return vs_fail(err, VS_ERR_USAGE, fname, "path too long");
	if (access(path, F_OK) == 0)
		return 0; /* listed through its metadata */
	snprintf(r->name, sizeof(r->name), "%.*s", (int)(n - 4), fname);
	snprintf(r->m.name, sizeof(r->m.name), "%s", r->name);
	r->legacy = 1;
	snprintf(path, sizeof(path), "%s.key", base);
	if (key_load_public(path, &k, err) == 0) {
		memcpy(r->m.keyid, key_id(k), sizeof(r->m.keyid));
		r->m.alg = key_alg(k);
		key_free(k);
	} else {
		vs_error_clear(err);
	}
	return 1;
}

int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"full", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *prog = "vmseal-key list", *dir = ".";
	struct vs_error err = {0};
	struct row *rows = NULL;
	size_t nrows = 0;
	struct dirent *de;
	DIR *d = NULL;
	int full = 0, c, rc = 2, bad = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			full = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 < argc)
		return cli_usage_error(prog, "expected at most one DIR");
	if (optind < argc)
		dir = argv[optind];
	d = opendir(dir);
	if (!d) {
		vs_fail(&err, VS_ERR_IO, dir, "cannot open directory: %m");
		vs_error_print(prog, &err);
		return 2;
	}
	rows = calloc(VS_MAX_KEY_LIST_ENTRIES, sizeof(*rows));
	if (!rows) {
		vs_fail(&err, VS_ERR_INTERNAL, dir, "out of memory");
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		int r;

		if (de->d_name[0] == '.')
			continue;
		if (nrows == VS_MAX_KEY_LIST_ENTRIES) {
			vs_fail(&err, VS_ERR_INPUT, dir, "more than %d keys; listing the first ones",
				VS_MAX_KEY_LIST_ENTRIES);
			vs_error_print(prog, &err);
			bad = 1;
			break;
		}
		r = read_entry(dir, de->d_name, &rows[nrows], &err);
		if (r < 0) {
			vs_error_print(prog, &err);
			vs_error_clear(&err);
			bad = 1;
		} else if (r > 0) {
			nrows++;
		}
	}
	qsort(rows, nrows, sizeof(*rows), cmp_row);
	printf("%-24s %-*s %-8s %-20s %-9s %s\n", "NAME", full ? KEY_ID_HEX_LEN : 16, "KEYID", "ALG",
	       "CREATED", "STATUS", "LOCATION");
	for (size_t i = 0; i < nrows; i++) {
		const struct keymeta *m = &rows[i].m;
		char created[32] = "-";

		if (m->created)
			time_format_rfc3339(m->created, created, sizeof(created));
		printf("%-24s %-*.*s %-8s %-20s %-9s %s\n", rows[i].name, full ? KEY_ID_HEX_LEN : 16,
		       full ? KEY_ID_HEX_LEN : 16, m->keyid[0] ? m->keyid : "?",
		       m->alg ? key_alg_name(m->alg) : "?", created,
		       rows[i].legacy ? "unknown" : keymeta_status_name(m->status),
		       m->pkcs11 ? m->uri : "file");
	}
	rc = bad ? 2 : 0;
out:
	if (rc && err.kind)
		vs_error_print(prog, &err);
	free(rows);
	closedir(d);
	return rc;
}
