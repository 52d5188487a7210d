/* SPDX-License-Identifier: Apache-2.0 */
/* The libvirt operations the hook judges (lib/hookop.h). */
#include "hookop.h"

#include <string.h>

int hook_op_judged(const char *op, const char *subop)
{
	static const char *const ops[] = {"prepare", "start", "restore", "migrate", "started", NULL};

	if (!op || !subop || strcmp(subop, "begin"))
		return 0;
	for (const char *const *o = ops; *o; o++)
		if (!strcmp(op, *o))
			return 1;
	return 0;
}

int hook_argv_is_libvirt(int argc, char *const *argv)
{
	return argc == 5 && argv[4] && !strcmp(argv[4], "-");
}
