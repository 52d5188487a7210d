/* SPDX-License-Identifier: Apache-2.0 */
/* Which libvirt hook calls vmseal judges: the one rule the hook's first stage and its judge share. */
#ifndef VMSEAL_HOOKOP_H
#define VMSEAL_HOOKOP_H

/* 1 when the hook judges libvirt's call "OPERATION SUB-OPERATION": prepare, start, restore,
 * migrate and started, each at "begin"; 0 for every other pair, which the hook lets pass
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

#endif
