/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the command-line front ends: version, usage errors. */
#ifndef VMSEAL_CLI_H
#define VMSEAL_CLI_H

/* Prints "prog: error: msg (see --help)" and returns 2 (usage error exit code). */
int cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints each line of text (newline-separated) as "prog: warning: object: line" on stderr. */
void cli_warn_lines(const char *prog, const char *object, const char *text);

/* Prints "prog VERSION" (the one version of all programs: the Makefile passes it from
 * debian/changelog) and returns 0. */
int cli_version(const char *prog);

#endif
