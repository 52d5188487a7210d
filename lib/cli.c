/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the command-line front ends. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

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

int cli_version(const char *prog)
{
	printf("%s %s\n", prog, VMSEAL_VERSION);
	return 0;
}
