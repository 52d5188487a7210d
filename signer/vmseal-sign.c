/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-sign: write or countersign an image template's or a boot file's attestation (DSSE + in-toto). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/attest.h"
#include "lib/audit.h"
#include "lib/cli.h"
#include "lib/dsse.h"
#include "lib/key.h"
#include "lib/keymeta.h"
#include "lib/limits.h"
#include "lib/merkle.h"
#include "lib/progress.h"
#include "lib/statement.h"
#include "lib/util.h"
#include "signer/sign_remote.h"

static const char *prog = "vmseal-sign";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmseal-sign --key KEY --template NAME --template-version N [--expires DURATION]\n"
		"                   [--passphrase-file FILE] [--force] [-o OUT]\n"
		"                   [--audit-log FILE] [--progress | --no-progress] IMAGE\n"
		"       vmseal-sign --key KEY --append [--passphrase-file FILE] [-o OUT] IMAGE\n"
		"       vmseal-sign --remote URL --key ADMINKEY [--cacert FILE] [--gateway-pub FILE]\n"
		"                   [--signer-pub FILE] --template NAME --template-version N ... IMAGE\n"
		"       vmseal-sign --key KEY --kind KIND --name NAME --boot-version N\n"
		"                   [--cmdline STR]... [--expires DURATION] [--append] [-o OUT] FILE\n"
		"\n"
		"Hashes IMAGE (vmseal-merkle-sha256, all cores) and writes a DSSE envelope around an\n"
		"in-toto Statement v1 naming the template, its version, the image's size and digest.\n"
		"With --append, checks that OUT's statement matches IMAGE and adds this key's signature\n"
		"(countersigning, for k-of-n policies) without changing the payload.\n"
		"\n"
		"Options:\n"
		"  --key KEY               private key: NAME.key (PKCS#8 PEM) or a pkcs11: URI\n"
		"  --passphrase-file FILE  passphrase for an encrypted key (else asked on the terminal)\n"
		"  --template NAME         template name the policy matches on (e.g. debian-12)\n"
		"  --template-version N    template version, a non-negative integer\n"
		"  --expires DURATION      attestation lifetime: Nd, Nh, Nm, Ns or seconds (default 365d)\n"
		"  --no-expires            write no expiresAt\n"
		"  --format FMT            image format recorded in the statement (default: detected,\n"
		"                          qcow2 or raw)\n"
		"  --sha256                also name the image's plain SHA-256 in the subject (for tools\n"
		"                          that know only sha256); verifiers check it as well\n"
		"  --append                countersign the existing envelope OUT\n"
		"\n"
		"Boot files (urn:vmseal:boot:v1; the hook checks them against the policy's boot section):\n"
		"  --kind KIND             sign FILE as a boot file: kernel, initrd, firmware (<loader>),\n"
		"                          nvram (an NVRAM template), dtb or acpi (an <acpi><table>)\n"
		"  --name NAME             the boot file's name the policy's boot rules match on\n"
		"  --boot-version N        its version, a non-negative integer (rules' min_version)\n"
		"  --cmdline STR           kernel only, required, repeatable (at most 8): an exact command\n"
		"                          line the kernel may boot with; --cmdline '' allows a domain\n"
		"                          without <cmdline>. Any other command line is refused.\n"
		"\n"
		"  --force                 replace an existing OUT (default: refuse)\n"
		"  -o, --output OUT        envelope path (default IMAGE.intoto.json)\n"
		"  --audit-log FILE        append a 'sign' event to this audit log\n"
		"\n"
		"Remote signing (the signing key stays on the signing service, e.g. in an HSM):\n"
		"  --remote URL            hash IMAGE here and ask the gateway's signing service\n"
		"                          (POST URL/v1/sign) to sign the statement; --key is then an\n"
		"                          admin key with role signer that signs the HTTP request\n"
		"                          (RFC 9421); the answer's statement is checked against what\n"
		"                          was asked. Not with --append, --no-expires, --sha256.\n"
		"  --cacert FILE           CA certificate of the gateway's TLS certificate\n"
		"  --cert FILE, --cert-key FILE  client certificate and key (mutual TLS)\n"
		"  --gateway-pub FILE      the gateway's response-signing public key: the answer must\n"
		"                          be signed by it, bound to this request\n"
		"  --signer-pub FILE       the service's signing public key: the envelope must verify\n"
		"  --progress              show bytes hashed, rate and ETA on stderr (default: only\n"
		"                          when stderr is a terminal and IMAGE is over 1 GiB)\n"
		"  --no-progress           never show progress\n"
		"  -h, --help              show this help\n"
		"  --version               print the version\n"
		"\n"
		"A key whose metadata (NAME.json beside NAME.key) says retired, revoked or destroyed\n"
		"is refused: rotated-out keys verify what they signed but sign nothing new.\n"
		"\n"
		"The envelope is written atomically (temp file, fsync, rename): a crash leaves the old\n"
		"envelope or the new one, never a partial file.\n"
		"\n"
		"Exit status: 0 signed, 1 refused (--append on an envelope for another image, or a\n"
		"retired, revoked or destroyed key),\n"
		"2 usage or runtime error.\n"
		"\n"
		"Examples:\n"
		"  vmseal-sign --key keys/pipeline.key --passphrase-file pass --template debian-12 \\\n"
		"              --template-version 3 debian-12.qcow2\n"
		"  vmseal-sign --key keys/release.key --append debian-12.qcow2\n"
		"  vmseal-sign --key keys/boot.key --kind kernel --name debian-12-kernel --boot-version 3 \\\n"
		"              --cmdline 'console=ttyS0 root=/dev/vda1 ro' vmlinuz\n");
}

static const char *detect_format(int fd)
{
	unsigned char magic[4];

	if (pread(fd, magic, 4, 0) == 4 && !memcmp(magic, "QFI\xfb", 4))
		return "qcow2";
	return "raw";
}

/* The envelope at path and its Statement, which must be in-toto. */
static int read_envelope(const char *path, struct dsse_envelope **env, struct statement *st,
			 struct vs_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (file_read_all(path, VS_MAX_ATTESTATION_BYTES, &buf, &len, err) < 0)
		return -1;
	r = dsse_parse(buf, len, path, env, err);
	free(buf);
	if (r < 0)
		return -1;
	if (strcmp((*env)->payload_type, DSSE_INTOTO_TYPE) ||
	    statement_parse((*env)->payload, (*env)->payload_len, path, st, err) < 0) {
		if (!err->reason[0])
			vs_fail(err, VS_ERR_INPUT, path, "payloadType is not in-toto");
		return -1;
	}
	return 0;
}

/* Everything the command line says. */
struct sign_job {
	const char *keyspec, *passfile, *tmpl, *format, *outpath, *auditlog, *image, *bname;
	int64_t version, expires;
	enum boot_kind kind;
	const char *cmdlines[VS_MAX_BOOT_CMDLINES];
	size_t ncmdlines;
	int used_template, used_boot, append, force;
	enum progress_mode pmode;
	struct merkle_opts mo;
	struct sign_remote_opts ro;
	char out_default[VS_MAX_PATH_BYTES];
};

/* Parses argv into j. Returns -1 to go on, else the exit code (help, version, usage error). */
static int parse_options(int argc, char **argv, struct sign_job *j)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"template", required_argument, NULL, 't'},
		{"template-version", required_argument, NULL, 'v'},
		{"expires", required_argument, NULL, 'e'},
		{"no-expires", no_argument, NULL, 'E'},
		{"format", required_argument, NULL, 'F'},
		{"sha256", no_argument, NULL, '2'},
		{"append", no_argument, NULL, 'a'},
		{"force", no_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"audit-log", required_argument, NULL, 'l'},
		{"progress", no_argument, NULL, 'P'},
		{"no-progress", no_argument, NULL, 'N'},
		{"remote", required_argument, NULL, 'R'},
		{"cacert", required_argument, NULL, 'C'},
		{"cert", required_argument, NULL, 'c'},
		{"cert-key", required_argument, NULL, 'K'},
		{"gateway-pub", required_argument, NULL, 'G'},
		{"signer-pub", required_argument, NULL, 'S'},
		{"kind", required_argument, NULL, 'B'},
		{"name", required_argument, NULL, 'n'},
		{"boot-version", required_argument, NULL, 'b'},
		{"cmdline", required_argument, NULL, 'L'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': j->keyspec = optarg; break;
		case 'p': j->passfile = optarg; break;
		case 't': j->tmpl = optarg; j->used_template = 1; break;
		case 'v':
		case 'b': {
			uint64_t n;

			if (parse_uint_strict(optarg, 0, INT64_MAX, &n) < 0)
				return cli_usage_error(prog, "%s \"%s\" is not a non-negative integer",
						       c == 'v' ? "--template-version" : "--boot-version", optarg);
			j->version = (int64_t)n;
			if (c == 'v')
				j->used_template = 1;
			else
				j->used_boot = 1;
			break;
		}
		case 'B':
			j->kind = boot_kind_parse(optarg);
			if (j->kind == BOOT_KIND_NONE)
				return cli_usage_error(prog, "--kind must be kernel, initrd, firmware, nvram, dtb or acpi");
			break;
		case 'n': j->bname = optarg; j->used_boot = 1; break;
		case 'L':
			if (j->ncmdlines == VS_MAX_BOOT_CMDLINES)
				return cli_usage_error(prog, "at most %d --cmdline", VS_MAX_BOOT_CMDLINES);
			if (strlen(optarg) >= VS_MAX_CMDLINE_BYTES)
				return cli_usage_error(prog, "--cmdline is longer than %d bytes", VS_MAX_CMDLINE_BYTES - 1);
			j->cmdlines[j->ncmdlines++] = optarg;
			j->used_boot = 1;
			break;
		case 'e':
			if (duration_parse(optarg, &j->expires) < 0)
				return cli_usage_error(prog, "--expires \"%s\" is not a duration like 365d", optarg);
			break;
		case 'E': j->expires = 0; break;
		case 'F':
			if (strcmp(optarg, "qcow2") && strcmp(optarg, "raw"))
				return cli_usage_error(prog, "--format must be qcow2 or raw");
			j->format = optarg;
			j->used_template = 1;
			break;
		case '2': j->mo.want_sha256 = 1; break;
		case 'a': j->append = 1; break;
		case 'f': j->force = 1; break;
		case 'o': j->outpath = optarg; break;
		case 'l': j->auditlog = optarg; break;
		case 'P': j->pmode = PROGRESS_ON; break;
		case 'N': j->pmode = PROGRESS_OFF; break;
		case 'R': j->ro.url = optarg; break;
		case 'C': j->ro.cacert = optarg; break;
		case 'c': j->ro.cert = optarg; break;
		case 'K': j->ro.cert_key = optarg; break;
		case 'G': j->ro.gateway_pub = optarg; break;
		case 'S': j->ro.signer_pub = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': return cli_version(prog);
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(prog, "expected exactly one IMAGE");
	j->image = argv[optind];
	return -1;
}

/* The options that go together. Returns -1 when they do, else the exit code. */
static int check_options(struct sign_job *j)
{
	if (!j->keyspec)
		return cli_usage_error(prog, "--key is required");
	if (j->ro.url && (j->append || !j->expires || j->mo.want_sha256))
		return cli_usage_error(prog, "--remote does not go with --append, --no-expires or --sha256");
	if (!j->ro.url && (j->ro.cacert || j->ro.cert || j->ro.cert_key || j->ro.gateway_pub || j->ro.signer_pub))
		return cli_usage_error(prog, "--cacert, --cert, --cert-key, --gateway-pub and --signer-pub need --remote");
	if (j->kind != BOOT_KIND_NONE) {
		if (j->used_template || j->ro.url)
			return cli_usage_error(prog, "--kind signs a boot file: use --name and --boot-version "
					       "(not --template, --template-version, --format or --remote)");
		if (!j->append && (!j->bname || j->version < 0))
			return cli_usage_error(prog, "--kind needs --name and --boot-version");
		if (!j->append && j->kind == BOOT_KIND_KERNEL && j->ncmdlines == 0)
			return cli_usage_error(prog, "a kernel needs at least one --cmdline (--cmdline '' for none)");
		if (j->kind != BOOT_KIND_KERNEL && j->ncmdlines)
			return cli_usage_error(prog, "--cmdline is only for --kind kernel");
		for (size_t i = 0; i < j->ncmdlines; i++) {
			for (size_t k = 0; k < i; k++)
				if (!strcmp(j->cmdlines[i], j->cmdlines[k]))
					return cli_usage_error(prog, "--cmdline \"%.64s\" given twice", j->cmdlines[i]);
			for (const char *ch = j->cmdlines[i]; *ch; ch++)
				if ((unsigned char)*ch < 0x20 || *ch == 0x7f)
					return cli_usage_error(prog, "--cmdline %zu has a control character", i + 1);
		}
		j->tmpl = j->bname;
	} else if (j->used_boot) {
		return cli_usage_error(prog, "--name, --boot-version and --cmdline need --kind");
	}
	if (!j->append && (!j->tmpl || j->version < 0))
		return cli_usage_error(prog, "--template and --template-version are required");
	if (j->tmpl && (strlen(j->tmpl) == 0 || strlen(j->tmpl) >= VS_MAX_NAME_BYTES))
		return cli_usage_error(prog, "--template must be 1..%d bytes", VS_MAX_NAME_BYTES - 1);
	if (!j->outpath) {
		struct vs_error err = {0};

		if (attest_default_path(j->image, j->out_default, sizeof(j->out_default), &err) < 0)
			return cli_usage_error(prog, "image path too long");
		j->outpath = j->out_default;
	}
	return -1;
}

/* --append: the envelope at outpath must be for the image hashed (mr) and say what the command
 * line names; then key's signature is added. */
static int countersign(const struct sign_job *j, const struct vs_key *key, const struct merkle_result *mr,
		       struct dsse_envelope **env, struct statement *st, struct vs_error *err)
{
	char hex[VS_SHA256_HEX_BYTES];
	struct statement_expect want = {
		.digest = hex, .size = mr->size, .name = j->tmpl, .version = j->version,
		.template_only = j->used_template, .kind = j->kind, .cmdlines = j->cmdlines,
		.ncmdlines = j->ncmdlines,
	};

	hex_encode(mr->root, 32, hex);
	if (read_envelope(j->outpath, env, st, err) < 0 ||
	    statement_countersign_check(st, &want, j->image, j->outpath, err) < 0)
		return -1;
	return dsse_append(*env, key, err);
}

/* A new envelope: the Statement for the image hashed (mr, open on fd), signed by key here or by
 * the remote signing service. */
static int sign_new(const struct sign_job *j, const struct vs_key *key, int fd,
		    const struct merkle_result *mr, struct dsse_envelope **env, struct statement *st,
		    struct vs_error *err)
{
	const char *base = strrchr(j->image, '/');
	char *payload;
	size_t plen = 0;
	int r;

	if (!j->force && access(j->outpath, F_OK) == 0)
		return vs_fail(err, VS_ERR_IO, j->outpath, "already exists; use --append to countersign or --force to replace");
	memset(st, 0, sizeof(*st));
	snprintf(st->subject_name, sizeof(st->subject_name), "%s", base ? base + 1 : j->image);
	hex_encode(mr->root, 32, st->digest);
	if (j->mo.want_sha256)
		hex_encode(mr->sha256, 32, st->sha256);
	snprintf(st->template_name, sizeof(st->template_name), "%s", j->tmpl);
	st->template_version = j->version;
	if (j->kind == BOOT_KIND_NONE)
		snprintf(st->format, sizeof(st->format), "%s", j->format ? j->format : detect_format(fd));
	st->predicate = j->kind == BOOT_KIND_NONE ? STATEMENT_TEMPLATE : STATEMENT_BOOT;
	st->boot_kind = j->kind;
	for (size_t i = 0; i < j->ncmdlines; i++)
		snprintf(st->cmdlines[st->ncmdlines++], sizeof(st->cmdlines[0]), "%s", j->cmdlines[i]);
	st->size = mr->size;
	st->chunk_size = VS_CHUNK_SIZE;
	st->signed_at = vs_now();
	st->expires_at = j->expires ? st->signed_at + j->expires : 0;
	payload = statement_encode(st, &plen);
	if (!payload)
		return vs_fail(err, VS_ERR_INTERNAL, j->image, "cannot encode statement");
	r = j->ro.url ? sign_remote(&j->ro, key, st, j->expires, env, err)
		      : dsse_sign(DSSE_INTOTO_TYPE, (const uint8_t *)payload, plen, key, env, err);
	free(payload);
	return r;
}

/* Writes env to outpath atomically. */
static int envelope_write(const char *outpath, const struct dsse_envelope *env, struct vs_error *err)
{
	char *json = dsse_encode(env);
	int r;

	if (!json)
		return vs_fail(err, VS_ERR_INTERNAL, outpath, "cannot encode envelope");
	fault_point("sign-before-write");
	r = file_write_atomic(outpath, json, strlen(json), 0644, 1, err);
	free(json);
	return r;
}

/* The 'sign' event for --audit-log; rc becomes 2 when it cannot be recorded. */
static int audit_sign(const struct sign_job *j, const struct vs_key *key, int rc, const struct vs_error *err)
{
	struct vs_error aerr = {0};
	struct audit_event ev = {
		.actor = key ? key_id(key) : "vmseal-sign",
		.event = j->append ? "sign.append" : "sign",
		.object = j->image,
		.decision = rc == 0 ? "allow" : err->kind == VS_ERR_DENIED ? "deny" : "error",
		.reason = rc == 0 ? NULL : err->reason,
	};

	if (!j->auditlog || audit_record(j->auditlog, &ev, &aerr) == 0)
		return rc;
	vs_error_print(prog, &aerr);
	return rc == 0 ? 2 : rc;
}

int main(int argc, char **argv)
{
	struct sign_job j = {.version = -1, .expires = 365 * 86400, .pmode = PROGRESS_AUTO};
	struct vs_error err = {0};
	struct vs_key *key = NULL;
	struct dsse_envelope *env = NULL;
	struct merkle_result mr;
	struct progress pr;
	struct statement st;
	int rc, fd = -1;

	if ((rc = parse_options(argc, argv, &j)) >= 0 || (rc = check_options(&j)) >= 0)
		return rc;
	rc = 2;
	secrets_protect_process();
	if (vs_open_input(j.image, VS_INPUT_REG | VS_INPUT_BLK, NULL, &fd, NULL, &err) < 0)
		goto out;
	/* The key before the long hash, so a wrong passphrase or a retired key fails at once. */
	if (keymeta_load_signable(j.keyspec, j.passfile, &key, &err) < 0)
		goto out;
	progress_init(&pr, j.pmode, stderr, prog, j.image);
	progress_attach(&pr, &j.mo);
	if (merkle_root_fd(fd, j.image, &j.mo, &mr, &err) < 0) {
		progress_end(&pr);
		goto out;
	}
	if ((j.append ? countersign(&j, key, &mr, &env, &st, &err)
		      : sign_new(&j, key, fd, &mr, &env, &st, &err)) < 0 ||
	    envelope_write(j.outpath, env, &err) < 0)
		goto out;
	printf("%s: %s %s %s version %lld, %zu signature%s, keyid %s\n", j.outpath,
	       j.append ? "countersigned" : "signed",
	       st.predicate == STATEMENT_BOOT ? boot_kind_name(st.boot_kind) : "template",
	       st.template_name, (long long)st.template_version,
	       env->nsigs, env->nsigs == 1 ? "" : "s", j.ro.url ? env->sigs[0].keyid : key_id(key));
	rc = 0;
out:
	rc = audit_sign(&j, key, rc, &err);
	if (rc)
		vs_error_print(prog, &err);
	if (rc == 2 && err.kind == VS_ERR_DENIED)
		rc = 1;
	if (fd >= 0)
		close(fd);
	dsse_free(env);
	key_free(key);
	return rc;
}
