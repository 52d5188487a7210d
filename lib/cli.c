/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the command-line front ends. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

int cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", prog);
	return 2;
}

void cli_warn_lines(const char *prog, const char *object, const char *text)
{
	while (text && *text) {
		const char *nl = strchr(text, '\n');
		int len = nl ? (int)(nl - text) : (int)strlen(text);

		fprintf(stderr, "%s: warning: %s: %.*s\n", prog, object, len, text);
		text += len + (nl ? 1 : 0);
	}
}

#ifndef VMSEAL_VERSION
#error "VMSEAL_VERSION comes from the Makefile (debian/changelog)"
#endif

int cli_usage_error_json(const char *prog, int json, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "decision", "error", "error", "usage", "reason", msg);
		char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(o);
	}
	return cli_usage_error(prog, "%s", msg);
}

int cli_wants_json(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			return 1;
	return 0;
}

/* getopt would print its own line before the program's: a usage error must be one line. */
__attribute__((constructor)) static void cli_quiet_getopt(void)
{
	opterr = 0;
}

const char *cli_bad_option(char **argv)
{
	return optind > 0 && argv[optind - 1] ? argv[optind - 1] : "?";
}

int cli_version(const char *prog)
{
	printf("%s %s\n", prog, VMSEAL_VERSION);
	return 0;
}
