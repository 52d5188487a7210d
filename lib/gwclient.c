/* SPDX-License-Identifier: Apache-2.0 */
/* Signed gateway calls: lib/httpsig for RFC 9421 both ways, libcurl for TLS 1.3 transport. */
#include "gwclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "httpsig.h"
#include "limits.h"
#include "util.h"

struct gwclient {
	CURL *curl;
	char *url;      /* without a trailing slash */
	char authority[VS_MAX_AUTHORITY_BYTES + 1];
	const struct vs_key *gateway_key;
	int64_t expires_in;
};

/* What the transfer callbacks fill: the answer, and whether its body went over the cap. */
struct gwc_recv {
	struct gwclient_response *r;
	int body_over;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct gwc_recv *rv = arg;
	struct gwclient_response *r = rv->r;
	size_t len = size * n;
	char *np;

	if (r->body_len + len > VS_MAX_RESPONSE_BYTES) {
		rv->body_over = 1;
		return 0;
	}
	np = realloc(r->body, r->body_len + len + 1);
	if (!np)
		return 0;
	r->body = np;
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return len;
}

static void headers_reset(struct gwclient_response *r)
{
	for (size_t i = 0; i < r->nheaders; i++)
		free(r->store[i]);
	r->nheaders = 0;
	r->headers_over = 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct gwclient_response *r = ((struct gwc_recv *)arg)->r;
	size_t len = size * n;
	char *line, *colon, *v, *e;

	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		headers_reset(r); /* a new response (after 100 Continue) */
		return len;
	}
	if (r->nheaders >= VS_MAX_RESPONSE_HEADERS) {
		r->headers_over = 1;
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
	r->store[r->nheaders] = line;
	r->headers[r->nheaders] = (struct http_field){line, v};
	r->nheaders++;
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
	if ((size_t)snprintf(c->authority, sizeof(c->authority), "%s%s%s", host, port ? ":" : "",
			     port ? port : "") >= sizeof(c->authority)) {
		vs_fail(err, VS_ERR_USAGE, o->url, "the host name is too long");
		goto out;
	}
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

int gwclient_sign(const struct gwclient *c, const struct gwclient_call *call,
		  struct gwclient_signed *s, struct vs_error *err)
{
	struct gwwire_call_params sp = call->sig;
	char *q;

	memset(s, 0, sizeof(*s));
	if (call->target[0] != '/' || strlen(call->target) >= sizeof(s->path))
		return vs_fail(err, VS_ERR_USAGE, call->target, "the path must start with /");
	if (call->body_len > VS_MAX_BODY_BYTES)
		return vs_fail(err, VS_ERR_USAGE, "body", "over %u bytes", VS_MAX_BODY_BYTES);
	*s = (struct gwclient_signed){.method = call->method, .target = call->target,
				      .authority = c->authority, .body = call->body,
				      .body_len = call->body_len};
	snprintf(s->path, sizeof(s->path), "%s", call->target);
	q = strchr(s->path, '?');
	if (q) {
		*q++ = '\0';
		s->query = q;
	}
	if (call->content_digest)
		s->owned[0] = strdup(call->content_digest);
	else if (call->body && content_digest_make("sha-256", (const uint8_t *)call->body,
						   call->body_len, &s->owned[0], err) < 0)
		return -1;
	if ((call->content_digest || call->body) && !s->owned[0])
		return vs_fail(err, VS_ERR_INTERNAL, "Content-Digest", "out of memory");
	if (s->owned[0])
		s->fields[s->nfields++] = (struct http_field){"Content-Digest", s->owned[0]};
	s->list = (struct http_field_list){s->fields, s->nfields};
	s->msg = (struct http_msg){.method = s->method, .scheme = "https", .authority = s->authority,
				   .path = s->path, .query = s->query, .fields = http_field_list_get,
				   .fields_ctx = &s->list};
	if (!sp.now)
		sp.now = vs_now();
	if (!sp.expires_in)
		sp.expires_in = c->expires_in;
	if (gwwire_sign_call(&s->msg, call->keys, call->nkeys, &sp, &s->owned[1], &s->owned[2],
			     err) < 0)
		return -1;
	s->fields[s->nfields++] = (struct http_field){"Signature-Input", s->owned[1]};
	s->fields[s->nfields++] = (struct http_field){"Signature", s->owned[2]};
	s->list.n = s->nfields;
	return 0;
}

int gwclient_send(struct gwclient *c, const struct gwclient_signed *s,
		  struct gwclient_response *resp, struct vs_error *err)
{
	char *fullurl = NULL, line[VS_MAX_HEADER_BYTES + 64];
	struct curl_slist *hdrs = NULL;
	struct gwc_recv rv = {.r = resp};
	CURLcode cr;
	int r = -1;

	memset(resp, 0, sizeof(*resp));
	fullurl = malloc(strlen(c->url) + strlen(s->target) + 1);
	if (!fullurl)
		return vs_fail(err, VS_ERR_INTERNAL, "curl", "out of memory");
	/* the base URL without a trailing slash, then the target exactly as signed */
	sprintf(fullurl, "%s%s", c->url, s->target);
	for (size_t i = 0; i < s->nfields; i++) {
		snprintf(line, sizeof(line), "%s: %s", s->fields[i].name, s->fields[i].value);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (s->body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c->curl, CURLOPT_URL, fullurl);
	if (s->body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, s->body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)s->body_len);
	} else {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, s->method);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &rv);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &rv);
	cr = curl_easy_perform(c->curl);
	if (cr != CURLE_OK) {
		vs_fail(err, VS_ERR_IO, fullurl, "%s", rv.body_over ? "response too large" : curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!resp->body && !(resp->body = strdup(""))) {
		vs_fail(err, VS_ERR_INTERNAL, "response", "out of memory");
		goto out;
	}
	if (c->gateway_key) {
		struct gwwire_answer a = {.status = (int)resp->status, .fields = resp->headers,
					  .nfields = resp->nheaders, .fields_over = resp->headers_over,
					  .body = (const uint8_t *)resp->body,
					  .body_len = resp->body_len};

		if (gwwire_check_answer(&a, &s->msg, c->gateway_key, vs_now(), err) < 0)
			goto out;
	}
	r = 0;
out:
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	free(fullurl);
	return r;
}

int gwclient_call(struct gwclient *c, const struct vs_key *const *keys, size_t nkeys,
		  const char *method, const char *target, const char *body, size_t body_len,
		  struct gwclient_response *resp, struct vs_error *err)
{
	struct gwclient_call call = {.method = method, .target = target, .body = body,
				     .body_len = body_len, .keys = keys, .nkeys = nkeys};
	struct gwclient_signed s;
	int r;

	memset(resp, 0, sizeof(*resp));
	r = gwclient_sign(c, &call, &s, err);
	if (r == 0)
		r = gwclient_send(c, &s, resp, err);
	if (r < 0)
		gwclient_response_free(resp);
	gwclient_signed_clear(&s);
	return r;
}

int gwclient_response_status(const struct gwclient_response *r, struct vs_error *err)
{
	json_t *j;
	const char *code, *detail;

	if (r->status >= 200 && r->status < 300)
		return 0;
	j = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, NULL);
	code = json_string_value(json_object_get(j, "error"));
	detail = json_string_value(json_object_get(j, "detail"));
	vs_fail(err, r->status == 401 || r->status == 403 ? VS_ERR_DENIED : VS_ERR_IO, "",
		"HTTP %ld %s%s%s", r->status, code ? code : "", detail ? ": " : "", detail ? detail : "");
	json_decref(j);
	return -1;
}

int gwclient_response_string(const struct gwclient_response *r, const char *name, json_t **obj,
			     const char **value, struct vs_error *err)
{
	*obj = NULL;
	*value = NULL;
	if (gwclient_response_status(r, err) < 0)
		return -1;
	*obj = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
	*value = json_string_value(json_object_get(*obj, name));
	if (!*value)
		return vs_fail(err, VS_ERR_INPUT, "answer", "no %s in the gateway's answer", name);
	return 0;
}

void gwclient_signed_clear(struct gwclient_signed *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < sizeof(s->owned) / sizeof(s->owned[0]); i++) {
		free(s->owned[i]);
		s->owned[i] = NULL;
	}
	s->nfields = 0;
}

void gwclient_response_free(struct gwclient_response *r)
{
	if (!r)
		return;
	headers_reset(r);
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
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
