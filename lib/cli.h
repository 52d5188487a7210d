/* SPDX-License-Identifier: Apache-2.0 */
/* Shared bits of the command-line front ends: version, usage errors. */
#ifndef VMSEAL_CLI_H
#define VMSEAL_CLI_H

/* Prints "prog: error: msg (see --help)" and returns 2 (usage error exit code). */
int cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_usage_error, and with json also one JSON object on stdout:
 * {"decision": "error", "error": "usage", "reason": MSG}, so --json holds on every path. */
int cli_usage_error_json(const char *prog, int json, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* 1 when argv holds "--json" before any "--" (for usage errors met before getopt sees it). */
int cli_wants_json(int argc, char **argv);

/* Prints each line of text (newline-separated) as "prog: warning: object: line" on stderr. */
void cli_warn_lines(const char *prog, const char *object, const char *text);

/* The argument getopt just refused (argv[optind - 1]), for "bad option" messages. getopt's own
 * message is off in every program (opterr = 0, set when the program starts): a usage error is
 * one line, the program's. */
const char *cli_bad_option(char **argv);

/* Prints "prog VERSION" (the one version of all programs: the Makefile passes it from
 * debian/changelog) and returns 0. */
int cli_version(const char *prog);

#endif
