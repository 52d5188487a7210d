/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-verify --kind: one boot file, the hook's decision (lib/bootfile.c), printed. */
#include "verifier/verify_boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>

#include "lib/audit.h"
#include "lib/bootfile.h"
#include "lib/error.h"
#include "lib/policy.h"
#include "lib/util.h"

static void print_json(const char *file, enum boot_kind kind, const struct bootfile_result *r,
		       const struct vs_error *err, int runtime_error)
{
	json_t *o = json_object(), *signers = json_array();
	char *s;

	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "kind", json_string(boot_kind_name(kind)));
	json_object_set_new(o, "decision", json_string(runtime_error ? "error" :
		r->decision == DECISION_ALLOW ? "allow" :
		r->decision == DECISION_ALLOW_AUDIT_ONLY ? "would-deny" : "deny"));
	json_object_set_new(o, "reason", json_string(runtime_error ? err->reason :
		r->decision == DECISION_ALLOW ? r->summary : r->why.reason));
	if (!runtime_error) {
		json_object_set_new(o, "pinned", json_boolean(r->pinned));
		if (r->st.predicate == STATEMENT_BOOT) {
			json_object_set_new(o, "name", json_string(r->st.template_name));
			json_object_set_new(o, "version", json_integer(r->st.template_version));
		}
		for (unsigned i = 0; i < r->valid && i < VS_MAX_SIGNATURES; i++)
			json_array_append_new(signers, json_string(r->signers[i]));
	}
	json_object_set_new(o, "signers", signers);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	json_decref(o);
}

int verify_boot(const char *prog, const char *policy_path, const char *trust_state, enum boot_kind kind,
		const char *file, const char *cmdline, int json, const char *auditlog)
{
	struct bootfile_result *r = calloc(1, sizeof(*r));
	struct vs_error err = {0};
	struct policy *p = NULL;
	int rc = 2, runtime_error = 1;

	if (!r) {
		vs_fail(&err, VS_ERR_INTERNAL, file, "out of memory");
		goto out;
	}
	if (policy_load_state_opts(policy_path, trust_state, POLICY_LAZY_KEYS, &p, &err) < 0) {
		vs_error_prefix(&err, "cannot use policy");
		goto out;
	}
	if (!auditlog && p->audit_log[0])
		auditlog = p->audit_log;
	/* No ownership rule here (trust NULL), as for images: it guards what QEMU opens later. */
	if (bootfile_check(p, kind, file, cmdline, vs_now(), NULL, r, &err) == 0) {
		runtime_error = 0;
		rc = r->decision == DECISION_DENY ? 1 : 0;
	}
	if (auditlog) {
		struct vs_error aerr = {0};
		struct audit_event ev = {
			.actor = "vmseal-verify",
			.event = "verify.boot",
			.object = file,
			.decision = runtime_error ? "error" : r->decision == DECISION_ALLOW ? "allow"
				  : r->decision == DECISION_ALLOW_AUDIT_ONLY ? "would-deny" : "deny",
			.reason = runtime_error ? err.reason : r->decision == DECISION_ALLOW ? r->summary : r->why.reason,
		};
		if (audit_record(auditlog, &ev, &aerr) < 0) {
			/* An unrecorded decision is not a decision: deny. */
			vs_error_print(prog, &aerr);
			if (rc == 0) {
				rc = 2;
				runtime_error = 1;
				err = aerr;
			}
		}
	}
out:
	if (json && r && (p || runtime_error))
		print_json(file, kind, r, &err, runtime_error);
	if (runtime_error)
		vs_error_print(prog, &err);
	else if (r->decision == DECISION_ALLOW && !json)
		printf("allowed: %s: %s\n", file, r->summary);
	else if (r->decision == DECISION_ALLOW_AUDIT_ONLY)
		fprintf(stderr, "%s: would deny (policy not enforced, allowing): %s: %s\n", prog, file,
			r->why.reason);
	else if (r->decision == DECISION_DENY)
		vs_error_print(prog, &r->why);
	policy_free(p);
	free(r);
	return rc;
}
