/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the command-line front ends. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

int cli_version(const char *prog)
{
	printf("%s %s\n", prog, VMSEAL_VERSION);
	return 0;
}
