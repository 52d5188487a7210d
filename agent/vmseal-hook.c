/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-hook's first stage: lets libvirt's calls it does not judge pass at once, runs the judge
 * for the others. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/hookop.h"

/* The judge's absolute path, fixed when this file is compiled (Makefile: the build tree's own
 * judge for $(BUILD)/bin and $(BUILD)/testbin, $(LIBEXECDIR)/vmseal for `make install`). Never
 * looked up in PATH or the environment. */
#ifndef VMSEAL_HOOK_JUDGE
#error "VMSEAL_HOOK_JUDGE (the judge's absolute path) must be defined"
#endif

/*
 * libvirt runs its qemu hook at every step of a domain's life (prepare, start, started,
 * stopped, release, reconnect...), at least five times per start and stop, and waits for each.
 * The judge links libxml2 (which brings ICU and libstdc++), OpenSSL and jansson: loading them
 * costs more than the process itself. This stage links only libc and lib/hookop.c, decides
 * from argv alone, and exits 0 for libvirt's exact call of an operation the hook does not
 * judge, exactly as the judge would. Everything else, options and --help included, is the
 * judge's: exec'd with the same arguments, stdin and environment, so the judged calls are
 * handled as before. If the judge cannot be run, the call is refused (exit 2).
 */
int main(int argc, char **argv)
{
	if (hook_argv_is_libvirt(argc, argv) && !hook_op_judged(argv[2], argv[3]))
		return 0;
	execv(VMSEAL_HOOK_JUDGE, argv);
	fprintf(stderr, "vmseal: error: cannot run the hook's judge %s: %s\n", VMSEAL_HOOK_JUDGE,
		strerror(errno));
	return 2;
}
