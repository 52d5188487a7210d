/* SPDX-License-Identifier: Apache-2.0 */
/* Which libvirt hook calls vmseal judges: the one rule the hook's first stage and its judge share. */
#ifndef VMSEAL_HOOKOP_H
#define VMSEAL_HOOKOP_H

/* 1 when the hook judges libvirt's call "OPERATION SUB-OPERATION": prepare, start, restore,
 * migrate and started, each at "begin", and "release end" (where the hook records what a run
 * it allowed left in its overlays); 0 for every other pair, which the hook lets pass
 * (exit 0) without reading its input. Depends on nothing but libc: agent/vmseal-hook.c, the
 * first stage that runs for every call, links this file alone. */
int hook_op_judged(const char *op, const char *subop);

/* 1 when argv is libvirt's exact call, "NAME DOMAIN OPERATION SUB-OPERATION -" (argc 5, the
 * last "-"): such a call is never parsed for options (a domain named "--policy" stays a name). */
int hook_argv_is_libvirt(int argc, char *const *argv);

/* The judge (agent/hook_judge.c) is a shared object that the first stage loads with dlopen and
 * enters here, with the first stage's argc and argv: it returns the hook's exit status. Loaded,
 * not exec'd: a second exec cost ~0.7 ms per judged call here, and libvirt waits for each. */
#define HOOK_JUDGE_ENTRY "vmseal_hook_judge_main"
int vmseal_hook_judge_main(int argc, char **argv);

/*
 * The judge server (`vmseal-hook --serve`, agent/hook_serve.c): a process that has loaded the
 * judge and its libraries once and forks a child per call, which runs the judge exactly as the
 * first stage would have, on the caller's own stdin, stdout, stderr and working directory
 * (passed as descriptors). On a SOCK_SEQPACKET connection, the server's child for the call
 * first sends HOOK_SERVE_ACK; only then does the first stage send its one request,
 *
 *   "VSHOOK1\0" | umask (u32, little-endian) | argc (u32) | argc NUL-terminated strings
 *
 * with exactly HOOK_SERVE_NFDS descriptors in its SCM_RIGHTS message (stdin, stdout, stderr,
 * the working directory); when the judge has returned, the child answers one byte: the exit
 * status.
 */
#define HOOK_SERVE_MAGIC "VSHOOK1"
#define HOOK_SERVE_MAGIC_BYTES 8 /* with its NUL */
#define HOOK_SERVE_NFDS 4
#define HOOK_SERVE_MAX_ARGS 64
#define HOOK_SERVE_MAX_BYTES 65536
#define HOOK_SERVE_ACK 'A'
/* How long the first stage waits for HOOK_SERVE_ACK before it refuses the call (exit 2), and
 * the server's child for the request after its HOOK_SERVE_ACK. */
#define HOOK_SERVE_ACK_MS 5000

/* Writes the request for (umask, argc, argv) to buf; returns its length, 0 if it does not fit
 * in cap (or in HOOK_SERVE_MAX_BYTES) or argc is not 1..HOOK_SERVE_MAX_ARGS. */
unsigned hook_request_encode(char *buf, unsigned cap, unsigned umask_bits, int argc, char *const *argv);

/* Parses a request of len bytes in buf, in place: argv[0..argc-1] point into buf, argv[argc] is
 * NULL (argv holds HOOK_SERVE_MAX_ARGS + 1). Returns 0, or -1 for anything but an exact
 * request: wrong magic, argc 0 or too large, a string count other than argc, bytes after the
 * last string, an empty argv[0], a umask above 0777. */
int hook_request_decode(char *buf, unsigned len, unsigned *umask_bits, int *argc, char **argv);

#endif
