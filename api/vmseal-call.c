/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-call: signs a gateway call (RFC 9421), sends it over TLS 1.3, verifies the signed
 * response and prints its JSON body. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "lib/cli.h"
#include "lib/httpsig.h"
#include "lib/key.h"
#include "lib/util.h"

#include "api/call.h"
#define MAX_RESPONSE_BYTES (16u << 20)
#define MAX_RESP_HEADERS 64
#define RESPONSE_SKEW_S 300

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

struct buf {
	char *p;
	size_t len;
	int over;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;
	char *np;

	if (b->len + len > MAX_RESPONSE_BYTES) {
		b->over = 1;
		return 0;
	}
	np = realloc(b->p, b->len + len + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

struct resp_headers {
	struct http_field f[MAX_RESP_HEADERS];
	char *store[MAX_RESP_HEADERS];
	size_t n;
	int over;
};

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct resp_headers *h = arg;
	size_t len = size * n;
	char *line, *colon, *v, *e;

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		/* a new response (after 100 Continue): forget the previous headers */
		for (size_t i = 0; i < h->n; i++)
			free(h->store[i]);
		h->n = 0;
		return len;
	}
	if (h->n >= MAX_RESP_HEADERS) {
		h->over = 1;
		return len;
	}
	line = strndup(data, len);
	if (!line)
		return 0;
	colon = strchr(line, ':');
	if (!colon) {
		free(line);
		return len;
	}
	*colon = '\0';
	v = colon + 1;
	e = v + strlen(v);
	while (e > v && (e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	h->store[h->n] = line;
	h->f[h->n] = (struct http_field){line, v};
	h->n++;
	return len;
}

/* The only key a response may be signed with: the gateway's, under its own keyid. */
static int gateway_key_lookup(void *ctx, const char *keyid, const struct vs_key **key,
			      const void **ref, struct vs_error *err)
{
	const struct vs_key *k = ctx;

	(void)ref;
	if (strcmp(keyid, key_id(k)))
		return vs_fail(err, VS_ERR_DENIED, "response", "signed by keyid %.16s, not by %.16s",
			       keyid, key_id(k));
	*key = k;
	return 0;
}

static int verify_response(const char *gateway_pub, long status, struct resp_headers *rh,
			   const struct buf *body, const struct http_msg *req, struct vs_error *err)
{
	static const char *const need[] = {"@status", "content-type", "content-digest",
					   "@method;req", "@path;req", "signature;req"};
	struct vs_key *pub = NULL;
	struct http_field_list fl = {rh->f, rh->n};
	struct http_msg resp = {.status = (int)status, .fields = http_field_list_get,
				.fields_ctx = &fl, .request = req};
	struct httpsig_verify_opts o = {.key_lookup = gateway_key_lookup, .required = need,
					.nrequired = 6, .require_created = 1, .require_keyid = 1,
					.now = vs_now(), .max_skew_s = RESPONSE_SKEW_S,
					.body = (const uint8_t *)body->p, .body_len = body->len,
					.digest_if_body = 1, .label = "gw"};
	struct httpsig_result res;
	int r;

	if (rh->over)
		return vs_fail(err, VS_ERR_DENIED, "response", "too many header fields");
	if (key_load_public(gateway_pub, &pub, err) < 0)
		return -1;
	o.key_ctx = pub;
	r = httpsig_verify(&resp, &o, &res, err);
	if (r < 0) {
		vs_error_prefix(err, "response signature (%s)", res.code);
		err->kind = VS_ERR_DENIED;
	}
	key_free(pub);
	return r;
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

#define MAX_KEYS HTTPSIG_MAX_SIGS

/* The call itself; with resp non-NULL the 2xx body is handed over instead of printed. */
int call_run(int argc, char **argv, char **resp, size_t *resp_len)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"key", required_argument, NULL, 'k'},
		{"passphrase-file", required_argument, NULL, 'P'},
		{"cacert", required_argument, NULL, 'c'},
		{"cert", required_argument, NULL, 'C'},
		{"cert-key", required_argument, NULL, 'K'},
		{"gateway-pub", required_argument, NULL, 'g'},
		{"expires-in", required_argument, NULL, 'e'},
		{"print-request", no_argument, NULL, 'p'},
		{"dry-run", no_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},
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
	const char *url = NULL, *keyspecs[MAX_KEYS], *passfile = NULL, *cacert = NULL;
	const char *cert = NULL, *cert_key = NULL, *gateway_pub = NULL, *nonce_arg = NULL;
	const char *keyid_arg = NULL, *alg_arg = NULL, *digest_arg = NULL;
	const char *components[VS_MAX_SIG_COMPONENTS];
	char *components_arg = NULL;
	size_t nkeys = 0, ncomponents = 0;
	int64_t expires_in = 60, created_arg = 0, expires_arg = 0;
	int print_request = 0, dry_run = 0, verbose = 0;
	int omit_created = 0, omit_expires = 0, omit_nonce = 0;
	struct vs_key *keys[MAX_KEYS] = {0};
	struct vs_error err = {0};
	char *body = NULL, *digest = NULL, *target = NULL, *fullurl = NULL;
	char *si_all = NULL, *sg_all = NULL, *host = NULL, *port = NULL;
	char authority[512], path[VS_MAX_HEADER_BYTES];
	const char *method, *query = NULL;
	size_t body_len = 0;
	struct http_field f[4];
	struct http_field_list fl = {f, 0};
	struct http_msg msg;
	struct buf rbody = {0};
	struct resp_headers rh;
	struct curl_slist *hdrs = NULL;
	CURL *curl = NULL;
	CURLU *cu = NULL;
	long status = 0;
	int c, rc = 2;

	memset(&rh, 0, sizeof(rh));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': url = optarg; break;
		case 'k':
			if (nkeys == MAX_KEYS) {
				fprintf(stderr, PROG ": error: at most %d --key (see --help)\n", MAX_KEYS);
				return 2;
			}
			keyspecs[nkeys++] = optarg;
			break;
		case 'P': passfile = optarg; break;
		case 'c': cacert = optarg; break;
		case 'C': cert = optarg; break;
		case 'K': cert_key = optarg; break;
		case 'g': gateway_pub = optarg; break;
		case 'p': print_request = 1; break;
		case 'n': dry_run = print_request = 1; break;
		case 'v': verbose = 1; break;
		case 'e':
			if (parse_i64(optarg, &expires_in) < 0 || expires_in < 1 || expires_in > 86400) {
				fprintf(stderr, PROG ": error: bad --expires-in \"%s\" (see --help)\n", optarg);
				return 2;
			}
			break;
		case 1:
		case 2:
			if (parse_i64(optarg, c == 1 ? &created_arg : &expires_arg) < 0) {
				fprintf(stderr, PROG ": error: bad time \"%s\" (see --help)\n", optarg);
				return 2;
			}
			break;
		case 3: nonce_arg = optarg; break;
		case 4: keyid_arg = optarg; break;
		case 5: alg_arg = optarg; break;
		case 6: components_arg = optarg; break;
		case 7:
			if (!strcmp(optarg, "created"))
				omit_created = 1;
			else if (!strcmp(optarg, "expires"))
				omit_expires = 1;
			else if (!strcmp(optarg, "nonce"))
				omit_nonce = 1;
			else {
				fprintf(stderr, PROG ": error: --omit-param takes created, expires or nonce\n");
				return 2;
			}
			break;
		case 8: digest_arg = optarg; break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			return cli_version(PROG);
		default:
			fprintf(stderr, PROG ": error: bad arguments (see --help)\n");
			return 2;
		}
	}
	if (!url || nkeys == 0 || argc - optind < 2 || argc - optind > 3) {
		fprintf(stderr, PROG ": error: need --url, --key, METHOD and PATH (see --help)\n");
		return 2;
	}
	if (strncmp(url, "https://", 8)) {
		fprintf(stderr, PROG ": error: --url must be https:// (see --help)\n");
		return 2;
	}
	method = argv[optind];
	for (const char *m = method; *m; m++)
		if (!isupper((unsigned char)*m)) {
			fprintf(stderr, PROG ": error: METHOD must be uppercase, e.g. GET\n");
			return 2;
		}
	if (argv[optind + 1][0] != '/' || strlen(argv[optind + 1]) >= sizeof(path)) {
		fprintf(stderr, PROG ": error: PATH must start with / (see --help)\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s", argv[optind + 1]);
	{
		char *q = strchr(path, '?');

		if (q) {
			*q = '\0';
			query = q + 1;
		}
	}
	if (components_arg)
		ncomponents = split_list(components_arg, components, VS_MAX_SIG_COMPONENTS);
	if (argc - optind == 3 && read_body(argv[optind + 2], &body, &body_len, &err) < 0)
		goto fail;
	if ((cacert && vs_check_input(cacert, VS_INPUT_REG, "--cacert", &err) < 0) ||
	    (cert && vs_check_input(cert, VS_INPUT_REG, "--cert", &err) < 0) ||
	    (cert_key && vs_check_input(cert_key, VS_INPUT_REG, "--cert-key", &err) < 0))
		goto fail;
	secrets_protect_process();
	for (size_t i = 0; i < nkeys; i++)
		if (key_load_private(keyspecs[i], passfile, &keys[i], &err) < 0)
			goto fail;

	/* The authority as curl will send it in Host: host[:port]. */
	cu = curl_url();
	if (!cu || curl_url_set(cu, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		vs_fail(&err, VS_ERR_USAGE, url, "not a URL");
		goto fail;
	}
	if (curl_url_get(cu, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	snprintf(authority, sizeof(authority), "%s%s%s", host, port ? ":" : "", port ? port : "");

	if (body || digest_arg) {
		if (digest_arg)
			digest = strdup(digest_arg);
		else if (content_digest_make("sha-256", (const uint8_t *)body, body_len, &digest,
					     &err) < 0)
			goto fail;
		f[fl.n++] = (struct http_field){"Content-Digest", digest};
	}
	msg = (struct http_msg){.method = method, .scheme = "https", .authority = authority,
				.path = path, .query = query, .fields = http_field_list_get,
				.fields_ctx = &fl};
	if (!components_arg) {
		static const char *const def[] = {"@method", "@authority", "@path", "@query",
						  "content-digest"};

		ncomponents = digest ? 5 : 4;
		memcpy(components, def, sizeof(def));
	}
	{
		struct sf_buf si = {0}, sg = {0};
		int64_t now = vs_now();

		for (size_t i = 0; i < nkeys; i++) {
			uint8_t rnd[16];
			char nonce[33], label[16];
			char *one_si = NULL, *one_sg = NULL;
			struct httpsig_sign_params sp;

			if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
				vs_fail(&err, VS_ERR_INTERNAL, "nonce", "no randomness");
				goto fail;
			}
			hex_encode(rnd, sizeof(rnd), nonce);
			snprintf(label, sizeof(label), "sig%zu", i + 1);
			sp = (struct httpsig_sign_params){
				.label = label, .components = components, .ncomponents = ncomponents,
				.created = omit_created ? 0 : created_arg ? created_arg : now,
				.nonce = omit_nonce ? NULL : nonce_arg ? nonce_arg : nonce,
				.keyid = keyid_arg, .alg_name = alg_arg};
			sp.expires = omit_expires ? 0
				     : expires_arg ? expires_arg
						   : (created_arg ? created_arg : now) + expires_in;
			if (httpsig_sign(&msg, keys[i], &sp, &one_si, &one_sg, &err) < 0) {
				sf_buf_free(&si);
				sf_buf_free(&sg);
				goto fail;
			}
			if (i) {
				sf_buf_puts(&si, ", ");
				sf_buf_puts(&sg, ", ");
			}
			sf_buf_puts(&si, one_si);
			sf_buf_puts(&sg, one_sg);
			free(one_si);
			free(one_sg);
		}
		si_all = sf_buf_take(&si, NULL);
		sg_all = sf_buf_take(&sg, NULL);
		if (!si_all || !sg_all) {
			vs_fail(&err, VS_ERR_INTERNAL, "signature", "out of memory");
			goto fail;
		}
	}
	f[fl.n++] = (struct http_field){"Signature-Input", si_all};
	f[fl.n++] = (struct http_field){"Signature", sg_all};

	if (print_request) {
		fprintf(stderr, "%s %s%s%s HTTP/1.1\nHost: %s\n", method, path, query ? "?" : "",
			query ? query : "", authority);
		if (body)
			fprintf(stderr, "Content-Type: application/json\n");
		for (size_t i = 0; i < fl.n; i++)
			fprintf(stderr, "%s: %s\n", f[i].name, f[i].value);
		fprintf(stderr, "\n");
		if (body)
			fprintf(stderr, "%.*s\n", (int)body_len, body);
	}
	if (dry_run) {
		rc = 0;
		goto out;
	}

	curl_global_init(CURL_GLOBAL_DEFAULT);
	curl = curl_easy_init();
	target = malloc(strlen(url) + strlen(argv[optind + 1]) + 1);
	if (!curl || !target) {
		vs_fail(&err, VS_ERR_INTERNAL, "curl", "cannot initialise");
		goto fail;
	}
	/* base URL without a trailing slash, then PATH exactly as signed */
	strcpy(target, url);
	while (*target && target[strlen(target) - 1] == '/')
		target[strlen(target) - 1] = '\0';
	fullurl = malloc(strlen(target) + strlen(argv[optind + 1]) + 1);
	if (!fullurl) {
		vs_fail(&err, VS_ERR_INTERNAL, "curl", "out of memory");
		goto fail;
	}
	sprintf(fullurl, "%s%s", target, argv[optind + 1]);
	for (size_t i = 0; i < fl.n; i++) {
		char line[VS_MAX_HEADER_BYTES + 64];

		snprintf(line, sizeof(line), "%s: %s", f[i].name, f[i].value);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, fullurl);
	curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (!strcmp(method, "GET")) {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
	if (cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, cacert);
	if (cert)
		curl_easy_setopt(curl, CURLOPT_SSLCERT, cert);
	if (cert_key)
		curl_easy_setopt(curl, CURLOPT_SSLKEY, cert_key);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &rbody);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &rh);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	{
		CURLcode cr = curl_easy_perform(curl);

		if (cr != CURLE_OK) {
			vs_fail(&err, VS_ERR_IO, fullurl, "%s", rbody.over ? "response too large"
									   : curl_easy_strerror(cr));
			goto fail;
		}
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (verbose) {
		fprintf(stderr, "HTTP %ld\n", status);
		for (size_t i = 0; i < rh.n; i++)
			fprintf(stderr, "%s:%s\n", rh.f[i].name, rh.f[i].value);
	}
	if (gateway_pub && verify_response(gateway_pub, status, &rh, &rbody, &msg, &err) < 0)
		goto fail;
	if (rbody.len && !resp)
		printf("%.*s\n", (int)rbody.len, rbody.p);
	if (status >= 200 && status < 300) {
		rc = 0;
		if (resp) {
			*resp = rbody.p;
			*resp_len = rbody.len;
			rbody.p = NULL;
		}
	} else {
		json_t *j = json_loadb(rbody.p ? rbody.p : "", rbody.len, 0, NULL);
		const char *code = json_string_value(json_object_get(j, "error"));
		const char *detail = json_string_value(json_object_get(j, "detail"));

		rc = status == 401 || status == 403 ? 1 : 2;
		fprintf(stderr, PROG ": %s: HTTP %ld %s%s%s\n", rc == 1 ? "denied" : "error", status,
			code ? code : "", detail ? ": " : "", detail ? detail : "");
		json_decref(j);
	}
	goto out;
fail:
	vs_error_print(PROG, &err);
	rc = vs_error_exit_code(&err);
out:
	for (size_t i = 0; i < nkeys; i++)
		key_free(keys[i]);
	for (size_t i = 0; i < rh.n; i++)
		free(rh.store[i]);
	curl_slist_free_all(hdrs);
	if (curl)
		curl_easy_cleanup(curl);
	curl_url_cleanup(cu);
	curl_free(host);
	curl_free(port);
	free(body);
	free(digest);
	free(si_all);
	free(sg_all);
	free(target);
	free(fullurl);
	free(rbody.p);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "ssh-cert"))
		return call_ssh_cert(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "ssh-krl"))
		return call_ssh_krl(argc - 1, argv + 1);
	return call_run(argc, argv, NULL, NULL);
}
