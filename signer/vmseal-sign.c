/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-sign: write or countersign an image template's or a boot file's attestation (DSSE + in-toto). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static int read_envelope(const char *path, struct dsse_envelope **env, struct vs_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (file_read_all(path, VS_MAX_ATTESTATION_BYTES, &buf, &len, err) < 0)
		return -1;
	r = dsse_parse(buf, len, path, env, err);
	free(buf);
	return r;
}

int main(int argc, char **argv)
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
	const char *keyspec = NULL, *passfile = NULL, *tmpl = NULL, *format = NULL, *outpath = NULL,
		   *auditlog = NULL, *image;
	int64_t version = -1, expires = 365 * 86400;
	enum boot_kind kind = BOOT_KIND_NONE;
	const char *cmdlines[VS_MAX_BOOT_CMDLINES];
	size_t ncmdlines = 0;
	int used_template = 0, used_boot = 0;
	const char *bname = NULL;
	int append = 0, force = 0, c, rc = 2, fd = -1;
	struct vs_error err = {0};
	struct vs_key *key = NULL;
	struct dsse_envelope *env = NULL;
	struct merkle_opts mo = {0};
	struct merkle_result mr;
	struct progress pr;
	enum progress_mode pmode = PROGRESS_AUTO;
	struct statement st;
	struct sign_remote_opts ro = {0};
	char out_default[VS_MAX_PATH_BYTES], *payload = NULL, *json = NULL;
	size_t plen = 0;

	while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyspec = optarg; break;
		case 'p': passfile = optarg; break;
		case 't': tmpl = optarg; used_template = 1; break;
		case 'v':
		case 'b': {
			uint64_t n;

			if (parse_uint_strict(optarg, 0, INT64_MAX, &n) < 0)
				return cli_usage_error(prog, "%s \"%s\" is not a non-negative integer",
						       c == 'v' ? "--template-version" : "--boot-version", optarg);
			version = (int64_t)n;
			if (c == 'v')
				used_template = 1;
			else
				used_boot = 1;
			break;
		}
		case 'B':
			kind = boot_kind_parse(optarg);
			if (kind == BOOT_KIND_NONE)
				return cli_usage_error(prog, "--kind must be kernel, initrd, firmware, nvram, dtb or acpi");
			break;
		case 'n': bname = optarg; used_boot = 1; break;
		case 'L':
			if (ncmdlines == VS_MAX_BOOT_CMDLINES)
				return cli_usage_error(prog, "at most %d --cmdline", VS_MAX_BOOT_CMDLINES);
			if (strlen(optarg) >= VS_MAX_CMDLINE_BYTES)
				return cli_usage_error(prog, "--cmdline is longer than %d bytes", VS_MAX_CMDLINE_BYTES - 1);
			cmdlines[ncmdlines++] = optarg;
			used_boot = 1;
			break;
		case 'e':
			if (duration_parse(optarg, &expires) < 0)
				return cli_usage_error(prog, "--expires \"%s\" is not a duration like 365d", optarg);
			break;
		case 'E': expires = 0; break;
		case 'F':
			if (strcmp(optarg, "qcow2") && strcmp(optarg, "raw"))
				return cli_usage_error(prog, "--format must be qcow2 or raw");
			format = optarg;
			used_template = 1;
			break;
		case '2': mo.want_sha256 = 1; break;
		case 'a': append = 1; break;
		case 'f': force = 1; break;
		case 'o': outpath = optarg; break;
		case 'l': auditlog = optarg; break;
		case 'P': pmode = PROGRESS_ON; break;
		case 'N': pmode = PROGRESS_OFF; break;
		case 'R': ro.url = optarg; break;
		case 'C': ro.cacert = optarg; break;
		case 'c': ro.cert = optarg; break;
		case 'K': ro.cert_key = optarg; break;
		case 'G': ro.gateway_pub = optarg; break;
		case 'S': ro.signer_pub = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': return cli_version(prog);
		default: return cli_usage_error(prog, "bad option \"%s\" (unknown, or missing its value)", cli_bad_option(argv));
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(prog, "expected exactly one IMAGE");
	image = argv[optind];
	if (!keyspec)
		return cli_usage_error(prog, "--key is required");
	if (ro.url && (append || !expires || mo.want_sha256))
		return cli_usage_error(prog, "--remote does not go with --append, --no-expires or --sha256");
	if (!ro.url && (ro.cacert || ro.cert || ro.cert_key || ro.gateway_pub || ro.signer_pub))
		return cli_usage_error(prog, "--cacert, --cert, --cert-key, --gateway-pub and --signer-pub need --remote");
	if (kind != BOOT_KIND_NONE) {
		if (used_template || ro.url)
			return cli_usage_error(prog, "--kind signs a boot file: use --name and --boot-version "
					       "(not --template, --template-version, --format or --remote)");
		if (!append && (!bname || version < 0))
			return cli_usage_error(prog, "--kind needs --name and --boot-version");
		if (!append && kind == BOOT_KIND_KERNEL && ncmdlines == 0)
			return cli_usage_error(prog, "a kernel needs at least one --cmdline (--cmdline '' for none)");
		if (kind != BOOT_KIND_KERNEL && ncmdlines)
			return cli_usage_error(prog, "--cmdline is only for --kind kernel");
		for (size_t i = 0; i < ncmdlines; i++) {
			for (size_t j = 0; j < i; j++)
				if (!strcmp(cmdlines[i], cmdlines[j]))
					return cli_usage_error(prog, "--cmdline \"%.64s\" given twice", cmdlines[i]);
			for (const char *ch = cmdlines[i]; *ch; ch++)
				if ((unsigned char)*ch < 0x20 || *ch == 0x7f)
					return cli_usage_error(prog, "--cmdline %zu has a control character", i + 1);
		}
		tmpl = bname;
	} else if (used_boot) {
		return cli_usage_error(prog, "--name, --boot-version and --cmdline need --kind");
	}
	if (!append && (!tmpl || version < 0))
		return cli_usage_error(prog, "--template and --template-version are required");
	if (tmpl && (strlen(tmpl) == 0 || strlen(tmpl) >= VS_MAX_NAME_BYTES))
		return cli_usage_error(prog, "--template must be 1..%d bytes", VS_MAX_NAME_BYTES - 1);
	if (!outpath) {
		if (snprintf(out_default, sizeof(out_default), "%s.intoto.json", image) >= (int)sizeof(out_default))
			return cli_usage_error(prog, "image path too long");
		outpath = out_default;
	}
	secrets_protect_process();
	if (vs_open_input(image, VS_INPUT_REG | VS_INPUT_BLK, NULL, &fd, NULL, &err) < 0)
		goto out;
	/* Lifecycle first (a destroyed key has no file left to complete with), then load the
	 * key before the long hash, so a wrong passphrase fails at once. */
	if (keymeta_check_signable(keyspec, NULL, &err) < 0 ||
	    key_load_private(keyspec, passfile, &key, &err) < 0 ||
	    keymeta_check_signable(keyspec, key_id(key), &err) < 0)
		goto out;
	progress_init(&pr, pmode, stderr, prog, image);
	progress_attach(&pr, &mo);
	if (merkle_root_fd(fd, image, &mo, &mr, &err) < 0) {
		progress_end(&pr);
		goto out;
	}
	if (append) {
		char hex[65];

		if (read_envelope(outpath, &env, &err) < 0)
			goto out;
		if (strcmp(env->payload_type, DSSE_INTOTO_TYPE) ||
		    statement_parse(env->payload, env->payload_len, outpath, &st, &err) < 0) {
			if (!err.reason[0])
				vs_fail(&err, VS_ERR_INPUT, outpath, "payloadType is not in-toto");
			goto out;
		}
		hex_encode(mr.root, 32, hex);
		if (strcmp(hex, st.digest) || st.size != mr.size) {
			vs_fail(&err, VS_ERR_DENIED, image,
				"refusing to countersign: envelope %s is for another image (digest %.16s…, image is %.16s…)",
				outpath, st.digest, hex);
			goto out;
		}
		if ((tmpl && strcmp(tmpl, st.template_name)) || (version >= 0 && version != st.template_version) ||
		    (kind != BOOT_KIND_NONE && (st.predicate != STATEMENT_BOOT || st.boot_kind != kind)) ||
		    (used_template && st.predicate != STATEMENT_TEMPLATE)) {
			vs_fail(&err, VS_ERR_DENIED, outpath,
				"refusing to countersign: envelope names %s \"%s\" version %lld",
				st.predicate == STATEMENT_BOOT ? boot_kind_name(st.boot_kind) : "template",
				st.template_name, (long long)st.template_version);
			goto out;
		}
		for (size_t i = 0; i < ncmdlines; i++) {
			size_t j;

			for (j = 0; j < st.ncmdlines && strcmp(st.cmdlines[j], cmdlines[i]); j++)
				;
			if (j == st.ncmdlines || ncmdlines != st.ncmdlines) {
				vs_fail(&err, VS_ERR_DENIED, outpath,
					"refusing to countersign: the envelope's kernel command lines differ from --cmdline");
				goto out;
			}
		}
		if (dsse_append(env, key, &err) < 0)
			goto out;
	} else {
		const char *base = strrchr(image, '/');

		if (!force && access(outpath, F_OK) == 0) {
			vs_fail(&err, VS_ERR_IO, outpath, "already exists; use --append to countersign or --force to replace");
			goto out;
		}
		memset(&st, 0, sizeof(st));
		snprintf(st.subject_name, sizeof(st.subject_name), "%s", base ? base + 1 : image);
		hex_encode(mr.root, 32, st.digest);
		if (mo.want_sha256)
			hex_encode(mr.sha256, 32, st.sha256);
		snprintf(st.template_name, sizeof(st.template_name), "%s", tmpl);
		st.template_version = version;
		if (kind == BOOT_KIND_NONE)
			snprintf(st.format, sizeof(st.format), "%s", format ? format : detect_format(fd));
		st.predicate = kind == BOOT_KIND_NONE ? STATEMENT_TEMPLATE : STATEMENT_BOOT;
		st.boot_kind = kind;
		for (size_t i = 0; i < ncmdlines; i++)
			snprintf(st.cmdlines[st.ncmdlines++], sizeof(st.cmdlines[0]), "%s", cmdlines[i]);
		st.size = mr.size;
		st.chunk_size = VS_CHUNK_SIZE;
		st.signed_at = vs_now();
		st.expires_at = expires ? st.signed_at + expires : 0;
		payload = statement_encode(&st, &plen);
		if (!payload) {
			vs_fail(&err, VS_ERR_INTERNAL, image, "cannot encode statement");
			goto out;
		}
		if (ro.url ? sign_remote(&ro, key, &st, expires, &env, &err) < 0
			   : dsse_sign(DSSE_INTOTO_TYPE, (const uint8_t *)payload, plen, key, &env, &err) < 0)
			goto out;
	}
	json = dsse_encode(env);
	if (!json) {
		vs_fail(&err, VS_ERR_INTERNAL, outpath, "cannot encode envelope");
		goto out;
	}
	fault_point("sign-before-write");
	if (file_write_atomic(outpath, json, strlen(json), 0644, 1, &err) < 0)
		goto out;
	printf("%s: %s %s %s version %lld, %zu signature%s, keyid %s\n", outpath,
	       append ? "countersigned" : "signed",
	       st.predicate == STATEMENT_BOOT ? boot_kind_name(st.boot_kind) : "template",
	       st.template_name, (long long)st.template_version,
	       env->nsigs, env->nsigs == 1 ? "" : "s", ro.url ? env->sigs[0].keyid : key_id(key));
	rc = 0;
out:
	if (auditlog) {
		struct vs_error aerr = {0};
		struct audit_event ev = {
			.actor = key ? key_id(key) : "vmseal-sign",
			.event = append ? "sign.append" : "sign",
			.object = image,
			.decision = rc == 0 ? "allow" : err.kind == VS_ERR_DENIED ? "deny" : "error",
			.reason = rc == 0 ? NULL : err.reason,
		};
		if (audit_record(auditlog, &ev, &aerr) < 0) {
			vs_error_print(prog, &aerr);
			if (rc == 0)
				rc = 2;
		}
	}
	if (rc)
		vs_error_print(prog, &err);
	if (rc == 2 && err.kind == VS_ERR_DENIED)
		rc = 1;
	if (fd >= 0)
		close(fd);
	free(json);
	free(payload);
	dsse_free(env);
	key_free(key);
	return rc;
}
