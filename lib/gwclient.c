/* SPDX-License-Identifier: Apache-2.0 */
/* Signed gateway calls: lib/httpsig for RFC 9421 both ways, libcurl for TLS 1.3 transport. */
#include "gwclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <openssl/rand.h>

#include "httpsig.h"
#include "limits.h"
#include "sf.h"
#include "util.h"

#define GWC_MAX_RESPONSE_BYTES (16u << 20)
#define GWC_MAX_RESP_HEADERS 64
#define GWC_RESPONSE_SKEW_S 300

struct gwclient {
	CURL *curl;
	char *url;      /* without a trailing slash */
	char authority[VS_MAX_NAME_BYTES];
	const struct vs_key *gateway_key;
	int64_t expires_in;
};

struct gwc_buf {
	char *p;
	size_t len;
	int over;
};

struct gwc_headers {
	struct http_field f[GWC_MAX_RESP_HEADERS];
	char *store[GWC_MAX_RESP_HEADERS];
	size_t n;
	int over;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct gwc_buf *b = arg;
	size_t len = size * n;
	char *np;

	if (b->len + len > GWC_MAX_RESPONSE_BYTES) {
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

static void headers_reset(struct gwc_headers *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->store[i]);
	h->n = 0;
	h->over = 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct gwc_headers *h = arg;
	size_t len = size * n;
	char *line, *colon, *v, *e;

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		headers_reset(h); /* a new response (after 100 Continue) */
		return len;
	}
	if (h->n >= GWC_MAX_RESP_HEADERS) {
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

int gwclient_new(const struct gwclient_opts *o, struct gwclient **out, struct vs_error *err)
{
	struct gwclient *c;
	CURLU *cu = NULL;
	char *host = NULL, *port = NULL;
	int r = -1;

	if (!o->url || strncmp(o->url, "https://", 8))
		return vs_fail(err, VS_ERR_USAGE, o->url ? o->url : "url", "the gateway URL must be https://");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = calloc(1, sizeof(*c));
	if (!c)
		return vs_fail(err, VS_ERR_INTERNAL, o->url, "out of memory");
	c->url = strdup(o->url);
	c->curl = curl_easy_init();
	cu = curl_url();
	if (!c->url || !c->curl || !cu) {
		vs_fail(err, VS_ERR_INTERNAL, o->url, "cannot initialise libcurl");
		goto out;
	}
	while (c->url[0] && c->url[strlen(c->url) - 1] == '/')
		c->url[strlen(c->url) - 1] = '\0';
	/* The authority as curl sends it in Host: host[:port], which is what the gateway signs. */
	if (curl_url_set(cu, CURLUPART_URL, o->url, 0) != CURLUE_OK ||
	    curl_url_get(cu, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		vs_fail(err, VS_ERR_USAGE, o->url, "not a URL");
		goto out;
	}
	if (curl_url_get(cu, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		port = NULL;
	snprintf(c->authority, sizeof(c->authority), "%s%s%s", host, port ? ":" : "", port ? port : "");
	if ((o->cacert && vs_check_input(o->cacert, VS_INPUT_REG, "CA certificate", err) < 0) ||
	    (o->cert && vs_check_input(o->cert, VS_INPUT_REG, "client certificate", err) < 0) ||
	    (o->cert_key && vs_check_input(o->cert_key, VS_INPUT_REG, "client key", err) < 0))
		goto out;
	c->gateway_key = o->gateway_key;
	c->expires_in = o->expires_in > 0 ? o->expires_in : 60;
	curl_easy_setopt(c->curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c->curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
	if (o->cacert)
		curl_easy_setopt(c->curl, CURLOPT_CAINFO, o->cacert);
	if (o->cert)
		curl_easy_setopt(c->curl, CURLOPT_SSLCERT, o->cert);
	if (o->cert_key)
		curl_easy_setopt(c->curl, CURLOPT_SSLKEY, o->cert_key);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	*out = c;
	c = NULL;
	r = 0;
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(cu);
	gwclient_free(c);
	return r;
}

/* The only key an answer may be signed with: the gateway's, under its own keyid. */
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

static int verify_answer(const struct gwclient *c, long status, const struct gwc_headers *rh,
			 const struct gwc_buf *body, const struct http_msg *req, struct vs_error *err)
{
	static const char *const need[] = {"@status", "content-type", "content-digest",
					   "@method;req", "@path;req", "signature;req"};
	struct http_field_list fl = {rh->f, rh->n};
	struct http_msg resp = {.status = (int)status, .fields = http_field_list_get,
				.fields_ctx = &fl, .request = req};
	struct httpsig_verify_opts o = {.key_lookup = gateway_key_lookup,
					.key_ctx = (void *)c->gateway_key, .required = need,
					.nrequired = 6, .require_created = 1, .require_keyid = 1,
					.now = vs_now(), .max_skew_s = GWC_RESPONSE_SKEW_S,
					.body = (const uint8_t *)body->p, .body_len = body->len,
					.digest_if_body = 1, .label = "gw"};
	struct httpsig_result res;

	if (rh->over)
		return vs_fail(err, VS_ERR_DENIED, "response", "too many header fields");
	if (httpsig_verify(&resp, &o, &res, err) < 0) {
		vs_error_prefix(err, "response signature (%s)", res.code);
		err->kind = VS_ERR_DENIED;
		return -1;
	}
	return 0;
}

/* Signs req once per key and joins the members into the two header values. */
static int sign_all(const struct gwclient *c, const struct http_msg *req, int with_digest,
		    const struct vs_key *const *keys, size_t nkeys, char **si_all, char **sg_all,
		    struct vs_error *err)
{
	static const char *const comps[] = {"@method", "@authority", "@path", "@query",
					    "content-digest"};
	struct sf_buf si = {0}, sg = {0};
	int64_t now = vs_now();

	for (size_t i = 0; i < nkeys; i++) {
		uint8_t rnd[16];
		char nonce[33], label[16], *one_si = NULL, *one_sg = NULL;
		struct httpsig_sign_params sp;

		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			vs_fail(err, VS_ERR_INTERNAL, "nonce", "no randomness");
			goto fail;
		}
		hex_encode(rnd, sizeof(rnd), nonce);
		snprintf(label, sizeof(label), "sig%zu", i + 1);
		sp = (struct httpsig_sign_params){.label = label, .components = comps,
						  .ncomponents = with_digest ? 5 : 4, .created = now,
						  .expires = now + c->expires_in, .nonce = nonce};
		if (httpsig_sign(req, keys[i], &sp, &one_si, &one_sg, err) < 0)
			goto fail;
		if (i) {
			sf_buf_puts(&si, ", ");
			sf_buf_puts(&sg, ", ");
		}
		sf_buf_puts(&si, one_si);
		sf_buf_puts(&sg, one_sg);
		free(one_si);
		free(one_sg);
	}
	*si_all = sf_buf_take(&si, NULL);
	*sg_all = sf_buf_take(&sg, NULL);
	if (!*si_all || !*sg_all) {
		free(*si_all);
		free(*sg_all);
		return vs_fail(err, VS_ERR_INTERNAL, "signature", "out of memory");
	}
	return 0;
fail:
	sf_buf_free(&si);
	sf_buf_free(&sg);
	return -1;
}

int gwclient_call(struct gwclient *c, const struct vs_key *const *keys, size_t nkeys,
		  const char *method, const char *target, const char *body, size_t body_len,
		  struct gwclient_response *resp, struct vs_error *err)
{
	char path[VS_MAX_PATH_BYTES], *query = NULL, *digest = NULL, *si = NULL, *sg = NULL;
	char *fullurl = NULL, line[VS_MAX_HEADER_BYTES + 64];
	struct http_field f[4];
	struct http_field_list fl = {f, 0};
	struct http_msg msg;
	struct curl_slist *hdrs = NULL;
	struct gwc_buf rbody = {0};
	struct gwc_headers rh;
	CURLcode cr;
	int r = -1;

	memset(resp, 0, sizeof(*resp));
	memset(&rh, 0, sizeof(rh));
	if (nkeys == 0 || nkeys > HTTPSIG_MAX_SIGS)
		return vs_fail(err, VS_ERR_USAGE, "keys", "1..%d keys sign a call", HTTPSIG_MAX_SIGS);
	if (target[0] != '/' || strlen(target) >= sizeof(path))
		return vs_fail(err, VS_ERR_USAGE, target, "the path must start with /");
	if (body_len > VS_MAX_BODY_BYTES)
		return vs_fail(err, VS_ERR_USAGE, "body", "over %u bytes", VS_MAX_BODY_BYTES);
	snprintf(path, sizeof(path), "%s", target);
	query = strchr(path, '?');
	if (query)
		*query++ = '\0';
	if (body && content_digest_make("sha-256", (const uint8_t *)body, body_len, &digest, err) < 0)
		return -1;
	if (digest)
		f[fl.n++] = (struct http_field){"Content-Digest", digest};
	msg = (struct http_msg){.method = method, .scheme = "https", .authority = c->authority,
				.path = path, .query = query, .fields = http_field_list_get,
				.fields_ctx = &fl};
	if (sign_all(c, &msg, digest != NULL, keys, nkeys, &si, &sg, err) < 0)
		goto out;
	f[fl.n++] = (struct http_field){"Signature-Input", si};
	f[fl.n++] = (struct http_field){"Signature", sg};
	fullurl = malloc(strlen(c->url) + strlen(target) + 1);
	if (!fullurl) {
		vs_fail(err, VS_ERR_INTERNAL, "curl", "out of memory");
		goto out;
	}
	sprintf(fullurl, "%s%s", c->url, target);
	for (size_t i = 0; i < fl.n; i++) {
		snprintf(line, sizeof(line), "%s: %s", f[i].name, f[i].value);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c->curl, CURLOPT_URL, fullurl);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &rbody);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &rh);
	cr = curl_easy_perform(c->curl);
	if (cr != CURLE_OK) {
		vs_fail(err, VS_ERR_IO, fullurl, "%s", rbody.over ? "response too large" : curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (c->gateway_key && verify_answer(c, resp->status, &rh, &rbody, &msg, err) < 0)
		goto out;
	resp->body = rbody.p ? rbody.p : strdup("");
	resp->body_len = rbody.len;
	rbody.p = NULL;
	if (!resp->body) {
		vs_fail(err, VS_ERR_INTERNAL, "response", "out of memory");
		goto out;
	}
	r = 0;
out:
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	headers_reset(&rh);
	free(rbody.p);
	free(digest);
	free(si);
	free(sg);
	free(fullurl);
	return r;
}

void gwclient_response_free(struct gwclient_response *r)
{
	if (!r)
		return;
	free(r->body);
	r->body = NULL;
}

void gwclient_free(struct gwclient *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->url);
	free(c);
}
