/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-digest: print images' vmseal-merkle-sha256 digests, like sha256sum but parallel. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cli.h"
#include "lib/error.h"
#include "lib/limits.h"
#include "lib/merkle.h"
#include "lib/progress.h"
#include "lib/util.h"

#define PROG "vmseal-digest"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [--sha256] [--threads N] [--progress | --no-progress] IMAGE...\n"
		"\n"
		"Print the vmseal-merkle-sha256 digest of each IMAGE (a regular file or a block\n"
		"device): the RFC 6962 Merkle Tree Hash over the image's bytes cut into 4 MiB chunks,\n"
		"leaf = SHA-256(0x00 || chunk), node = SHA-256(0x01 || left || right), and SHA-256 of\n"
		"nothing for an empty image. This is the digest vmseal-sign puts into attestations.\n"
		"Chunks are hashed in parallel, one thread per core; memory stays bounded (a few MiB)\n"
		"whatever the image's size. An image whose size or mtime changes while it is read is\n"
		"an error.\n"
		"\n"
		"Output, one line per IMAGE, fields separated by two spaces:\n"
		"  <merkle hex>  <size in bytes>  IMAGE\n"
		"  <merkle hex>  <size in bytes>  <sha256 hex>  IMAGE         (with --sha256)\n"
		"Hex is lowercase. As with sha256sum, a name containing a newline or a backslash is\n"
		"printed with those escaped as \\n and \\\\ and the line starts with a backslash.\n"
		"\n"
		"Options:\n"
		"  --sha256       also print the plain SHA-256 of the whole image (for tools that only\n"
		"                 know that). It is computed in the same pass by one extra thread, so\n"
		"                 it costs about one core's SHA-256 speed.\n"
		"  --threads N    hash with N threads (1-%d); default: one per core available.\n"
		"  --progress     show bytes done, rate and ETA on stderr while hashing, whatever\n"
		"                 the image's size (one line a second when stderr is not a terminal).\n"
		"                 Default: shown only when stderr is a terminal and the image is\n"
		"                 over 1 GiB.\n"
		"  --no-progress  never show progress.\n"
		"  -h, --help     show this help and exit.\n"
		"  --version      print the version and exit.\n"
		"\n"
		"Exit status:\n"
		"  0  every IMAGE was hashed\n"
		"  2  usage error, or some IMAGE could not be hashed (one line on stderr names it;\n"
		"     the other images are still printed)\n"
		"\n"
		"Examples:\n"
		"  " PROG " debian-12.qcow2\n"
		"  " PROG " --sha256 --threads 4 /dev/vg0/template-root\n",
		VS_MERKLE_MAX_THREADS);
}

/* Prints the name like sha256sum does: escape newline and backslash, flag the line with '\'. */
static void print_line(const struct merkle_result *r, int with_sha256, const char *name)
{
	char root[VS_SHA256_HEX_BYTES], sha[VS_SHA256_HEX_BYTES];
	int escape = strpbrk(name, "\n\\") != NULL;

	hex_encode(r->root, 32, root);
	printf("%s%s  %llu  ", escape ? "\\" : "", root, (unsigned long long)r->size);
	if (with_sha256) {
		hex_encode(r->sha256, 32, sha);
		printf("%s  ", sha);
	}
	for (const char *s = name; *s; s++) {
		if (escape && *s == '\n')
			fputs("\\n", stdout);
		else if (escape && *s == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*s);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"sha256", no_argument, NULL, 's'},
		{"threads", required_argument, NULL, 't'},
		{"progress", no_argument, NULL, 'p'},
		{"no-progress", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct merkle_opts opts = {0};
	enum progress_mode pmode = PROGRESS_AUTO;
	int rc = 0, c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opts.want_sha256 = 1;
			break;
		case 't': {
			uint64_t n;

			if (parse_uint_strict(optarg, 1, VS_MERKLE_MAX_THREADS, &n) < 0)
				return cli_usage_error(PROG, "--threads: \"%s\" is not 1-%d", optarg,
						       VS_MERKLE_MAX_THREADS);
			opts.threads = (unsigned)n;
			break;
		}
		case 'p':
			pmode = PROGRESS_ON;
			break;
		case 'P':
			pmode = PROGRESS_OFF;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return cli_version(PROG);
		default:
			return cli_usage_error(PROG, "bad option %s", cli_bad_option(argv));
		}
	}
	if (optind >= argc)
		return cli_usage_error(PROG, "no IMAGE given");

	for (int i = optind; i < argc; i++) {
		struct merkle_result r;
		struct vs_error err = {0};
		struct progress pr;

		progress_init(&pr, pmode, stderr, PROG, argv[i]);
		opts.progress = NULL;
		progress_attach(&pr, &opts);
		if (merkle_root_path(argv[i], &opts, &r, &err) < 0) {
			progress_end(&pr);
			fflush(stdout);
			vs_error_print(PROG, &err);
			rc = 2;
			continue;
		}
		print_line(&r, opts.want_sha256, argv[i]);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": error: writing the output failed\n");
		rc = 2;
	}
	return rc;
}
