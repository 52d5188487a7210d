/* SPDX-License-Identifier: Apache-2.0 */
/* PKCS#11 key generation (pkcs11-provider keygen) and destruction (p11tool --delete). */
#include "p11.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "limits.h"
#include "util.h"

static int is_pin_attr(const char *a, size_t n)
{
	return (n >= 10 && !strncmp(a, "pin-value=", 10)) || (n >= 11 && !strncmp(a, "pin-source=", 11));
}

int p11_uri_without_pin(const char *uri, char *out, size_t outlen)
{
	const char *p = uri;
	size_t o = 0;
	char sep_seen = 0;

	if (strncmp(uri, "pkcs11:", 7) || strlen(uri) >= outlen)
		return -1;
	memcpy(out, "pkcs11:", 7);
	o = 7;
	p = uri + 7;
	/* Attributes are separated by ';' in the path and '&' in the query (after '?'). */
	while (*p) {
		size_t n = strcspn(p, ";&?");
		char next = p[n];

		if (n && !is_pin_attr(p, n)) {
			if (o > 7 && out[o - 1] != '?')
				out[o++] = sep_seen == '?' ? '&' : ';';
			memcpy(out + o, p, n);
			o += n;
		}
		if (next == '?') {
			sep_seen = '?';
			out[o++] = '?';
		}
		p += n + (next ? 1 : 0);
	}
	if (o > 7 && out[o - 1] == '?')
		o--;
	out[o] = '\0';
	return 0;
}

static int safe_path(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '/' || *s == '.' || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

int p11_generate(enum key_alg alg, const char *uri, const char *pinfile, struct vs_key **out,
		 struct vs_error *err)
{
	char genuri[VS_MAX_PATH_BYTES * 2 + 64], abspin[VS_MAX_PATH_BYTES];
	const char *type = alg == KEY_ALG_ED25519 ? "ED25519" : alg == KEY_ALG_P256 ? "EC" : "RSA";
	OSSL_PARAM params[4], *pp = params;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	struct vs_key *existing = NULL;
	struct vs_error ignore = {0};
	size_t bits = 3072;
	int r = -1;

	if (strncmp(uri, "pkcs11:", 7) || strchr(uri, '?') || strlen(uri) >= VS_MAX_PATH_BYTES)
		return vs_fail(err, VS_ERR_USAGE, uri,
			       "expected pkcs11:token=...;object=... (no query: give the PIN with a file)");
	if (!strstr(uri, "object=") && !strstr(uri, "id="))
		return vs_fail(err, VS_ERR_USAGE, uri, "name the new key with object=LABEL");
	if (key_entropy_ready(1, err) < 0)
		return -1;
	if (pinfile) {
		if (!realpath(pinfile, abspin))
			return vs_fail(err, VS_ERR_IO, pinfile, "cannot resolve PIN file: %s", strerror(errno));
		if (!safe_path(abspin))
			return vs_fail(err, VS_ERR_USAGE, pinfile,
				       "PIN file path must be made of [A-Za-z0-9/._-] (it goes into a URI)");
		snprintf(genuri, sizeof(genuri), "%s?pin-source=file:%s", uri, abspin);
	} else {
		snprintf(genuri, sizeof(genuri), "%s", uri);
	}
	if (key_load_public(genuri, &existing, &ignore) == 0) {
		key_free(existing);
		return vs_fail(err, VS_ERR_IO, uri, "the token already holds a key here; refusing to add another");
	}
	ERR_clear_error();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, "provider=pkcs11");
	if (!ctx) {
		vs_fail_ssl(err, VS_ERR_IO, uri, "no pkcs11 provider loaded (OPENSSL_CONF?)");
		goto out;
	}
	*pp++ = OSSL_PARAM_construct_utf8_string("pkcs11_uri", genuri, 0);
	if (alg == KEY_ALG_P256)
		*pp++ = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
	if (alg == KEY_ALG_RSA3072)
		*pp++ = OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &bits);
	*pp = OSSL_PARAM_construct_end();
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_CTX_set_params(ctx, params) != 1) {
		vs_fail_ssl(err, VS_ERR_INTERNAL, uri, "cannot set up key generation in the token");
		goto out;
	}
	if (EVP_PKEY_generate(ctx, &pkey) != 1) {
		vs_fail_ssl(err, VS_ERR_IO, uri, "key generation in the token failed (wrong PIN? token?)");
		goto out;
	}
	if (key_from_pkey(pkey, uri, out, err) < 0)
		goto out;
	r = 0;
out:
	OPENSSL_cleanse(genuri, sizeof(genuri));
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

int p11_destroy(const char *uri, const char *module, const char *pinfile, struct vs_error *err)
{
	char *pin = NULL, output[1024] = "";
	int pipefd[2], status = 0;
	size_t got = 0;
	pid_t pid;

	if (strncmp(uri, "pkcs11:", 7))
		return vs_fail(err, VS_ERR_USAGE, uri, "not a pkcs11: URI");
	if (pinfile && passphrase_read_file(pinfile, &pin, err) < 0)
		return -1;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		passphrase_free(pin);
		return vs_fail(err, VS_ERR_IO, uri, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		passphrase_free(pin);
		close(pipefd[0]);
		close(pipefd[1]);
		return vs_fail(err, VS_ERR_IO, uri, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		const char *argv[9];
		int a = 0;

		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		if (pin)
			setenv("GNUTLS_PIN", pin, 1);
		argv[a++] = "p11tool";
		argv[a++] = "--batch";
		argv[a++] = "--login";
		if (module) {
			argv[a++] = "--provider";
			argv[a++] = module;
		}
		argv[a++] = "--delete";
		argv[a++] = uri;
		argv[a] = NULL;
		execvp("p11tool", (char *const *)argv);
		dprintf(2, "cannot run p11tool (Debian package gnutls-bin): %s\n", strerror(errno));
		_exit(127);
	}
	passphrase_free(pin);
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], output + got, sizeof(output) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(output) - 1) {
			char sink[256];

			while (read(pipefd[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	output[got] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(output, "deleted")) {
		output[strcspn(output, "\n")] = '\0';
		return vs_fail(err, VS_ERR_IO, uri, "p11tool --delete failed: %s",
			       output[0] ? output : "no output");
	}
	return 0;
}
