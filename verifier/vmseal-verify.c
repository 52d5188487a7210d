/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-verify: check an image against the host policy; exit 0 allowed, 1 denied, 2 error. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "lib/attest.h"
#include "lib/audit.h"
#include "lib/cli.h"
#include "lib/limits.h"
#include "lib/policy.h"
#include "lib/progress.h"
#include "lib/util.h"
#include "verifier/verify_boot.h"

static const char *prog = "vmseal-verify";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-verify --policy POLICY [--attestation FILE] [--json] [--trust-state FILE]\n"
		"                     [--audit-log FILE] [--progress | --no-progress] IMAGE\n"
		"       vmseal-verify --policy POLICY --kind KIND [--cmdline STR] [--json]\n"
		"                     [--trust-state FILE] [--audit-log FILE] FILE\n"
		"\n"
		"Checks IMAGE against the host policy: the attestation (default IMAGE.intoto.json)\n"
		"must be a DSSE envelope around an in-toto Statement whose template matches a policy\n"
		"rule, signed by enough of that rule's keys (each key counted once; keys must be\n"
		"active or retired, inside not_before/not_after, with usage \"template\"), at or above\n"
		"the rule's min_version, not expired, not a revoked digest, and IMAGE's size and\n"
		"vmseal-merkle-sha256 digest must match. Anything that cannot be proven denies.\n"
		"\n"
		"Options:\n"
		"  --policy POLICY     policy file (e.g. /etc/vmseal/policy.json); required\n"
		"  --attestation FILE  envelope path (default IMAGE.intoto.json)\n"
		"  --json              print the verdict as one JSON object on stdout\n"
		"  --kind KIND         check FILE as a boot file, as the hook does for <os>: kernel,\n"
		"                      initrd, firmware, nvram, dtb or acpi. It must be pinned by the\n"
		"                      policy's boot section or covered by a boot attestation\n"
		"                      (FILE.intoto.json) of that kind under its boot rules\n"
		"  --cmdline STR       with --kind kernel: the domain's <os><cmdline>; it must be one\n"
		"                      the kernel's Statement lists (default: none, the empty one)\n"
		"  --audit-log FILE    append the decision to this audit log (default: the policy's\n"
		"                      audit_log, if set)\n"
		"  --trust-state FILE  the host's trust state (what vmseal-policy install recorded):\n"
		"                      a policy older than the installed version, an older root.json,\n"
		"                      a plain policy once a root was installed, an expired bundle are\n"
		"                      refused. Default: /var/lib/vmseal/trust.state for the system\n"
		"                      policy /etc/vmseal/policy.json, else trust.state beside POLICY\n"
		"                      (usually absent for a policy of your own: nothing to compare)\n"
		"  --progress          show bytes hashed, rate and ETA on stderr (default: only when\n"
		"                      stderr is a terminal and IMAGE is over 1 GiB)\n"
		"  --no-progress       never show progress\n"
		"  -h, --help          show this help\n"
		"  --version           print the version\n"
		"\n"
		"With \"enforce\": false in the policy (audit-only rollout), a would-deny verdict is\n"
		"reported and logged, and the exit status is 0.\n"
		"\n"
		"Output: on success one line on stdout, \"allowed: IMAGE: template NAME version N, K of\n"
		"M signatures\"; on denial one line on stderr, \"vmseal-verify: denied: IMAGE: REASON\".\n"
		"\n"
		"Exit status: 0 allowed, 1 denied, 2 usage or runtime error (policy missing or\n"
		"unreadable, image unreadable): also a denial.\n"
		"\n"
		"Example:\n"
		"  vmseal-verify --policy /etc/vmseal/policy.json /var/lib/libvirt/images/debian-12.qcow2\n");
}

static const char *decision_name(enum decision d)
{
	return d == DECISION_ALLOW ? "allow" : d == DECISION_ALLOW_AUDIT_ONLY ? "would-deny" : "deny";
}

static void print_json(const char *image, const struct image_verdict *v, const struct vs_error *err,
		       int runtime_error)
{
	json_t *o = json_object(), *signers = json_array();
	char hex[VS_SHA256_HEX_BYTES];
	char *s;

	json_object_set_new(o, "image", json_string(image));
	json_object_set_new(o, "decision", json_string(runtime_error ? "error" : decision_name(v->decision)));
	if (runtime_error)
		json_object_set_new(o, "reason", json_string(err->reason));
	else if (v->decision != DECISION_ALLOW)
		json_object_set_new(o, "reason", json_string(v->why.reason));
	if (!runtime_error && v->st.template_name[0]) {
		json_object_set_new(o, "template", json_string(v->st.template_name));
		json_object_set_new(o, "version", json_integer(v->st.template_version));
		json_object_set_new(o, "attested_digest", json_string(v->st.digest));
		json_object_set_new(o, "attested_size", json_integer((json_int_t)v->st.size));
	}
	if (!runtime_error && v->size) {
		hex_encode(v->root, 32, hex);
		json_object_set_new(o, "digest", json_string(hex));
	}
	for (unsigned i = 0; !runtime_error && i < v->valid; i++)
		json_array_append_new(signers, json_string(v->signers[i]));
	json_object_set_new(o, "signers", signers);
	if (!runtime_error && v->rule)
		json_object_set_new(o, "threshold", json_integer(v->rule->threshold));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(o);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"attestation", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"kind", required_argument, NULL, 'k'},
		{"cmdline", required_argument, NULL, 'c'},
		{"audit-log", required_argument, NULL, 'l'},
		{"trust-state", required_argument, NULL, 't'},
		{"progress", no_argument, NULL, 'P'},
		{"no-progress", no_argument, NULL, 'N'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *policy_path = NULL, *att = NULL, *auditlog = NULL, *trust_state = NULL, *image;
	char att_default[VS_PATH_TMP_MAX];
	struct vs_error err = {0};
	struct image_verdict v;
	struct policy *p = NULL;
	struct merkle_opts mo = {0};
	struct progress pr;
	enum progress_mode pmode = PROGRESS_AUTO;
	int json = cli_wants_json(argc, argv), c, rc = 2, fd = -1, runtime_error = 1;
	enum boot_kind kind = BOOT_KIND_NONE;
	const char *cmdline = NULL;

	memset(&v, 0, sizeof(v));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': policy_path = optarg; break;
		case 'a': att = optarg; break;
		case 'j': json = 1; break;
		case 'k':
			kind = boot_kind_parse(optarg);
			if (kind == BOOT_KIND_NONE)
				return cli_usage_error_json(prog, json, "--kind must be kernel, initrd, firmware, nvram, dtb or acpi");
			break;
		case 'c': cmdline = optarg; break;
		case 'l': auditlog = optarg; break;
		case 't': trust_state = optarg; break;
		case 'P': pmode = PROGRESS_ON; break;
		case 'N': pmode = PROGRESS_OFF; break;
		case 'h': usage(stdout); return 0;
		case 'V': return cli_version(prog);
		default: return cli_usage_error_json(prog, json, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error_json(prog, json, "expected exactly one IMAGE");
	if (!policy_path)
		return cli_usage_error_json(prog, json, "--policy is required");
	image = argv[optind];
	if (cmdline && kind != BOOT_KIND_KERNEL)
		return cli_usage_error_json(prog, json, "--cmdline needs --kind kernel");
	if (kind != BOOT_KIND_NONE) {
		if (att)
			return cli_usage_error_json(prog, json, "--kind reads FILE.intoto.json; --attestation is for images");
		return verify_boot(prog, policy_path, trust_state, kind, image, cmdline, json, auditlog);
	}
	if (!att && attest_default_path(image, att_default, sizeof(att_default), &err) < 0)
		return cli_usage_error_json(prog, json, "image path too long");
	/* keys decoded when the decision uses them (lib/policy.h, POLICY_LAZY_KEYS) */
	if (policy_load_state_opts(policy_path, trust_state, POLICY_LAZY_KEYS, &p, &err) < 0) {
		vs_error_prefix(&err, "cannot use policy");
		goto out;
	}
	if (p->warning[0])
		cli_warn_lines(prog, policy_path, p->warning);
	{
		char lint[4096];

		if (policy_lint(p, lint, sizeof(lint)))
			cli_warn_lines(prog, policy_path, lint);
	}
	if (!auditlog && p->audit_log[0]) {
		if (policy_file_is_system(policy_path))
			auditlog = p->audit_log;
		else
			fprintf(stderr,
				"%s: warning: %s: not a system policy (owned by root, not writable by others): ignoring the policy's audit_log %s (use --audit-log)\n",
				prog, policy_path, p->audit_log);
	}
	if (vs_open_input(image, VS_INPUT_REG | VS_INPUT_BLK, NULL, &fd, NULL, &err) < 0)
		goto out;
	progress_init(&pr, pmode, stderr, prog, image);
	progress_attach(&pr, &mo);
	if (attest_eval_image(p, fd, image, att, vs_now(), &mo, &v, &err) < 0) {
		progress_end(&pr);
		goto verdict;
	}
	runtime_error = 0;
verdict:
	if (!runtime_error && v.decision == DECISION_ALLOW)
		rc = 0;
	else if (!runtime_error && v.decision == DECISION_ALLOW_AUDIT_ONLY)
		rc = 0;
	else if (!runtime_error)
		rc = 1;
out:
	if (auditlog) {
		struct vs_error aerr = {0};
		struct audit_event ev = {
			.actor = "vmseal-verify",
			.event = "verify",
			.object = image,
			.decision = runtime_error ? "error" : v.decision == DECISION_ALLOW ? "allow"
				  : v.decision == DECISION_ALLOW_AUDIT_ONLY ? "would-deny" : "deny",
			.reason = runtime_error ? err.reason : v.decision == DECISION_ALLOW ? NULL : v.why.reason,
		};
		if (audit_record(auditlog, &ev, &aerr) < 0) {
			/* An unrecorded decision is not a decision: deny. An allow becomes this error
			 * (printed once, below); a denial stays one and the audit failure is added. */
			if (rc == 0) {
				rc = 2;
				runtime_error = 1;
				err = aerr;
			} else {
				vs_error_print(prog, &aerr);
			}
		}
	}
	if (json && (p || runtime_error))
		print_json(image, &v, &err, runtime_error);
	if (runtime_error) {
		vs_error_print(prog, &err);
	} else if (v.decision == DECISION_ALLOW) {
		if (!json)
			printf("allowed: %s: template %s version %lld, %u of %u signatures\n", image,
			       v.st.template_name, (long long)v.st.template_version, v.valid, v.rule->threshold);
	} else if (v.decision == DECISION_ALLOW_AUDIT_ONLY) {
		fprintf(stderr, "%s: would deny (policy not enforced, allowing): %s: %s\n", prog,
			v.why.object[0] ? v.why.object : image, v.why.reason);
	} else {
		vs_error_print(prog, &v.why);
	}
	if (fd >= 0)
		close(fd);
	policy_free(p);
	return rc;
}
