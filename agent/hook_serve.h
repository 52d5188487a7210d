/* SPDX-License-Identifier: Apache-2.0 */
/* The hook's judge server (`vmseal-hook --serve`): the judge loaded once, a child per call. */
#ifndef VMSEAL_HOOK_SERVE_H
#define VMSEAL_HOOK_SERVE_H

/* Listens on the SOCK_SEQPACKET socket path (its directory must be the caller's and writable by
 * nobody else; a stale socket there is replaced, a live one is an error) for requests of the
 * first stage (lib/hookop.h), from processes of this process's own user only. Each call is
 * served by a child of its own, forked before the call came (the spare, which accepts it), which runs judge(argc, argv) on the caller's stdin, stdout,
 * stderr, working directory and umask, and answers its exit status. Returns when SIGTERM or
 * SIGINT arrives: 0, or 2 after one line on stderr if it cannot listen. */
int hook_serve(const char *path, int (*judge)(int, char **));

/* 1 in a served call's child (the judge refuses --serve there), else 0. */
int hook_serve_in_child(void);

#endif
