/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-hook's first stage: lets libvirt's calls it does not judge pass at once, loads the
 * judge for the others. */
#include <dlfcn.h>
#include <stdio.h>

#include "lib/hookop.h"

/* The judge's absolute path, fixed when this file is compiled (Makefile: the build tree's own
 * judge for $(BUILD)/bin and $(BUILD)/testbin, $(LIBEXECDIR)/vmseal for `make install`). Never
 * looked up in a search path or the environment. */
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
 * judge's: loaded into this process and entered with the same arguments, stdin and
 * environment, so the judged calls are handled as before. If the judge cannot be loaded, the
 * call is refused (exit 2). The judge is linked with -z now, so a symbol it lacks fails the
 * dlopen even with RTLD_LAZY; its libraries then bind as they would in a process of their own
 * (lazily where they were built so): RTLD_NOW would resolve every PLT slot of libstdc++ and
 * the rest at once, ~1200 lookups (~0.3 ms here) that this call never uses.
 */
int main(int argc, char **argv)
{
	int (*judge)(int, char **) = NULL;
	void *h;

	if (hook_argv_is_libvirt(argc, argv) && !hook_op_judged(argv[2], argv[3]))
		return 0;
	h = dlopen(VMSEAL_HOOK_JUDGE, RTLD_LAZY | RTLD_LOCAL);
	if (h)
		*(void **)&judge = dlsym(h, HOOK_JUDGE_ENTRY);
	if (!judge) {
		fprintf(stderr, "vmseal: error: cannot run the hook's judge %s: %s\n", VMSEAL_HOOK_JUDGE,
			dlerror());
		return 2;
	}
	return judge(argc, argv);
}
