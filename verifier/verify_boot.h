/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-verify --kind: check one boot file with bootfile_check(), as the hook does. */
#ifndef VMSEAL_VERIFY_BOOT_H
#define VMSEAL_VERIFY_BOOT_H

#include "lib/statement.h"

/* Loads the policy (refused when trust_state, or the state beside it when NULL, records a newer
 * one: the image check's rule), judges file as a boot file of kind (a kernel with cmdline; NULL: none),
 * prints the verdict (one line, or JSON), records it in auditlog (NULL: the policy's, if any).
 * Returns the exit status: 0 allowed (or would-deny with enforce false), 1 denied, 2 error. */
int verify_boot(const char *prog, const char *policy_path, const char *trust_state, enum boot_kind kind,
		const char *file, const char *cmdline, int json, const char *auditlog);

#endif
