/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-call internals shared by its files. */
#ifndef VMSEAL_CALL_H
#define VMSEAL_CALL_H

#include <stddef.h>

#define PROG "vmseal-call"

/* One signed call (vmseal-call's own command line: options, METHOD, PATH, [JSON]). With resp
 * non-NULL, a 2xx answer's body is handed over (malloc'd) instead of printed. Returns the exit
 * code. */
int call_run(int argc, char **argv, char **resp, size_t *resp_len);

/* vmseal-call ssh-cert (call_ssh.c); argv[0] is "ssh-cert". */
int call_ssh_cert(int argc, char **argv);
/* vmseal-call ssh-krl (call_ssh.c); argv[0] is "ssh-krl". */
int call_ssh_krl(int argc, char **argv);

#endif
