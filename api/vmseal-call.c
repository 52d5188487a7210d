/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-call: signs a gateway call (RFC 9421), sends it over TLS 1.3, verifies the signed
 * response and prints its JSON body. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/call.h"
#include "lib/cli.h"
#include "lib/util.h"

static void usage(FILE *f)
{
	fputs("Usage: vmseal-call --url https://HOST:PORT --key KEY [--key KEY2]... [OPTIONS]\n"
	      "                   METHOD PATH [JSON]\n"
	      "       vmseal-call ssh-cert --url URL --key KEY --ssh-key FILE.pub --principal NAME\n"
	      "                   [--validity 10m] [--out FILE] [OPTIONS]   (see ssh-cert --help)\n"
	      "       vmseal-call ssh-krl --url URL --key KEY --out FILE [OPTIONS]  (ssh-krl --help)\n"
	      "\n"
	      "Calls the vmseal gateway: signs the request with an HTTP Message Signature (RFC 9421)\n"
	      "over @method @authority @path @query and, with a body, content-digest (RFC 9530),\n"
	      "with created, expires, a random nonce and the keyid; sends it over TLS 1.3; verifies\n"
	      "the gateway's signature on the response (with --gateway-pub) and prints the JSON body\n"
	      "on stdout. Several --key options sign the request once each (sig1, sig2, …), for\n"
	      "calls that need a quorum. JSON is the body: literal text, @FILE, or - for stdin.\n"
	      "\n"
	      "Options:\n"
	      "  --url URL              gateway base URL, https only\n"
	      "  --key KEY              signing key: NAME.key or a pkcs11: URI (repeat for a quorum)\n"
	      "  --passphrase-file F    passphrase of encrypted keys (otherwise asked on the terminal)\n"
	      "  --cacert FILE          CA certificate(s) that issued the gateway's TLS certificate\n"
	      "  --cert FILE, --cert-key FILE  client certificate and key, for mutual TLS\n"
	      "  --gateway-pub FILE     the gateway's response-signing public key; the response must\n"
	      "                         carry a valid signature bound to this request, else exit 1\n"
	      "  --expires-in SECONDS   signature lifetime (default 60)\n"
	      "  --print-request        print the signed request (line, headers, body) on stderr\n"
	      "  --dry-run              sign and print the request, send nothing\n"
	      "  --verbose              print the response status and headers on stderr\n"
	      "  --help, --version\n"
	      "\n"
	      "vmseal-call ssh-cert (details: vmseal-call ssh-cert --help) sends POST /v1/ssh/certs\n"
	      "and writes the SSH certificate beside the key, with these options besides the above:\n"
	      "  --ssh-key FILE.pub --principal NAME... [--validity 10m] [--out FILE] [--force]\n"
	      "vmseal-call ssh-krl --out FILE (details: ssh-krl --help) fetches GET /v1/ssh/krl,\n"
	      "checks the KRL and writes it (e.g. as sshd's RevokedKeys file).\n"
	      "\n"
	      "Options for testing a gateway (they make requests a gateway should refuse):\n"
	      "  --created T            created parameter (seconds since the epoch) instead of now\n"
	      "  --expires T            expires parameter instead of created + --expires-in\n"
	      "  --nonce S              nonce instead of a random one\n"
	      "  --keyid ID             keyid parameter instead of the key's keyid\n"
	      "  --alg NAME             add alg=NAME (default: no alg parameter)\n"
	      "  --components LIST      covered components, comma-separated, instead of the default\n"
	      "  --omit-param NAME      leave out created, expires or nonce (repeatable)\n"
	      "  --content-digest VALUE send and sign this Content-Digest value instead of sha-256\n"
	      "\n"
	      "Exit status: 0 for a 2xx answer, 1 when the call was refused (401, 403) or the\n"
	      "response signature does not verify, 2 for any other answer or error.\n"
	      "\n"
	      "Examples:\n"
	      "  vmseal-call --url https://127.0.0.1:8443 --key alice.key --cacert gw.crt \\\n"
	      "      --gateway-pub gw-response.pub GET /v1/domains\n"
	      "  vmseal-call --url https://gw:8443 --key alice.key --key bob.key --cacert gw.crt \\\n"
	      "      POST /v1/domains/web1/destroy\n"
	      "  vmseal-call --url https://gw:8443 --key ops.key POST /v1/domains \\\n"
	      "      '{\"name\":\"web2\",\"template\":\"debian-12.qcow2\",\"memory_mib\":512,\"vcpus\":1}'\n",
	      f);
}

static int read_body(const char *arg, char **out, size_t *len, struct vs_error *err)
{
	if (!strcmp(arg, "-"))
		return fd_read_all(0, "stdin", VS_MAX_BODY_BYTES, out, len, err);
	if (arg[0] == '@')
		return file_read_all(arg + 1, VS_MAX_BODY_BYTES, out, len, err);
	*len = strlen(arg);
	if (*len > VS_MAX_BODY_BYTES)
		return vs_fail(err, VS_ERR_USAGE, "body", "over %u bytes", VS_MAX_BODY_BYTES);
	*out = strdup(arg);
	return *out ? 0 : vs_fail(err, VS_ERR_INTERNAL, "body", "out of memory");
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	/* digits, or '-' and digits: no space or '+' that strtoll would skip */
	if (errno || *end || end == s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return -1;
	*out = v;
	return 0;
}

/* Splits a comma-separated list in place. */
static size_t split_list(char *s, const char **out, size_t max)
{
	size_t n = 0;

	for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ","))
		out[n++] = tok;
	return n;
}

/* --omit-param NAME */
static int omit_flag(const char *name, unsigned *omit)
{
	static const struct {
		const char *name;
		unsigned flag;
	} t[] = {{"created", GWWIRE_OMIT_CREATED}, {"expires", GWWIRE_OMIT_EXPIRES},
		 {"nonce", GWWIRE_OMIT_NONCE}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(name, t[i].name)) {
			*omit |= t[i].flag;
			return 0;
		}
	return cli_usage_error(PROG, "--omit-param takes created, expires or nonce");
}

/* The options for testing a gateway (calls it must refuse) into call. */
static int test_option(int c, char *arg, struct gwclient_call *call, const char **components)
{
	struct gwwire_call_params *p = &call->sig;

	switch (c) {
	case 1:
	case 2:
		if (parse_i64(arg, c == 1 ? &p->created : &p->expires) < 0)
			return cli_usage_error(PROG, "bad time \"%s\"", arg);
		return 0;
	case 3: p->nonce = arg; return 0;
	case 4: p->keyid = arg; return 0;
	case 5: p->alg = arg; return 0;
	case 6:
		p->ncomponents = split_list(arg, components, VS_MAX_SIG_COMPONENTS);
		p->components = components;
		return 0;
	case 7: return omit_flag(arg, &p->omit);
	case 8: call->content_digest = arg; return 0;
	default: return cli_usage_error(PROG, "bad option %s", arg);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		CALL_COMMON_OPTIONS,
		{"print-request", no_argument, NULL, 'p'},
		{"dry-run", no_argument, NULL, 'n'},
		{"created", required_argument, NULL, 1},
		{"expires", required_argument, NULL, 2},
		{"nonce", required_argument, NULL, 3},
		{"keyid", required_argument, NULL, 4},
		{"alg", required_argument, NULL, 5},
		{"components", required_argument, NULL, 6},
		{"omit-param", required_argument, NULL, 7},
		{"content-digest", required_argument, NULL, 8},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *components[VS_MAX_SIG_COMPONENTS];
	struct call_opts o = {0};
	struct gwclient_call call = {0};
	struct call_session s = {0};
	struct gwclient_response resp = {0};
	struct vs_error err = {0};
	char *body = NULL;
	int c, rc = 2;

	if (argc > 1 && !strcmp(argv[1], "ssh-cert"))
		return call_ssh_cert(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "ssh-krl"))
		return call_ssh_krl(argc - 1, argv + 1);
	while ((c = call_getopt(argc, argv, opts, &o)) != -1) {
		switch (c) {
		case CALL_GETOPT_FAILED:
			return 2;
		case 'p': o.print_request = 1; break;
		case 'n': o.dry_run = 1; break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return cli_version(PROG);
		case '?':
			return cli_usage_error(PROG, "bad option %s", cli_bad_option(argv));
		default:
			if (test_option(c, optarg, &call, components))
				return 2;
		}
	}
	if (call_opts_check(&o) < 0)
		return 2;
	if (argc - optind < 2 || argc - optind > 3)
		return cli_usage_error(PROG, "need METHOD and PATH");
	call.method = argv[optind];
	call.target = argv[optind + 1];
	for (const char *m = call.method; *m; m++)
		if (!isupper((unsigned char)*m))
			return cli_usage_error(PROG, "METHOD must be uppercase, e.g. GET");
	if (call.target[0] != '/' || strlen(call.target) >= VS_MAX_HEADER_BYTES)
		return cli_usage_error(PROG, "PATH must start with /");
	if (argc - optind == 3 && read_body(argv[optind + 2], &body, &call.body_len, &err) < 0)
		goto fail;
	call.body = body;
	if (call_open(&o, &s, &err) < 0 || call_send(&s, &call, &resp, &err) < 0)
		goto fail;
	rc = 0;
	if (o.dry_run)
		goto out;
	if (resp.body_len)
		printf("%.*s\n", (int)resp.body_len, resp.body);
	if (gwclient_response_status(&resp, &err) == 0)
		goto out;
fail:
	vs_error_print(PROG, &err);
	rc = vs_error_exit_code(&err);
out:
	gwclient_response_free(&resp);
	call_close(&s);
	free(body);
	return rc;
}
