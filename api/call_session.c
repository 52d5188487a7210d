/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-call's common options and one session with the gateway (keys, client, printing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/call.h"
#include "lib/cli.h"
#include "lib/util.h"

/* Takes option c into o: 1 when it is a common one, 0 when it is not, -1 on a usage error. */
static int call_option(int c, const char *arg, struct call_opts *o)
{
	uint64_t v;

	switch (c) {
	case CALL_OPT_URL: o->url = arg; return 1;
	case CALL_OPT_PASSFILE: o->passfile = arg; return 1;
	case CALL_OPT_CACERT: o->cacert = arg; return 1;
	case CALL_OPT_CERT: o->cert = arg; return 1;
	case CALL_OPT_CERT_KEY: o->cert_key = arg; return 1;
	case CALL_OPT_GATEWAY_PUB: o->gateway_pub = arg; return 1;
	case CALL_OPT_VERBOSE: o->verbose = 1; return 1;
	case CALL_OPT_KEY:
		if (o->nkeys == HTTPSIG_MAX_SIGS) {
			cli_usage_error(PROG, "at most %d --key", HTTPSIG_MAX_SIGS);
			return -1;
		}
		o->keyspecs[o->nkeys++] = arg;
		return 1;
	case CALL_OPT_EXPIRES_IN:
		if (parse_uint_strict(arg, 1, 86400, &v) < 0) {
			cli_usage_error(PROG, "bad --expires-in \"%s\"", arg);
			return -1;
		}
		o->expires_in = (int64_t)v;
		return 1;
	default:
		return 0;
	}
}

int call_getopt(int argc, char **argv, const struct option *opts, struct call_opts *o)
{
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((r = call_option(c, optarg, o)) < 0)
			return CALL_GETOPT_FAILED;
		if (!r)
			return c;
	}
	return -1;
}

int call_opts_check(const struct call_opts *o)
{
	if (!o->url || o->nkeys == 0) {
		cli_usage_error(PROG, "need --url and --key");
		return -1;
	}
	return 0;
}

int call_open(const struct call_opts *o, struct call_session *s, struct vs_error *err)
{
	struct gwclient_opts go = {.url = o->url, .cacert = o->cacert, .cert = o->cert,
				   .cert_key = o->cert_key, .expires_in = o->expires_in};

	memset(s, 0, sizeof(*s));
	s->o = o;
	if (o->gateway_pub && key_load_public(o->gateway_pub, &s->gateway_key, err) < 0)
		return -1;
	go.gateway_key = s->gateway_key;
	if (gwclient_new(&go, &s->gw, err) < 0)
		return -1;
	secrets_protect_process();
	for (; s->nkeys < o->nkeys; s->nkeys++)
		if (key_load_private(o->keyspecs[s->nkeys], o->passfile, &s->keys[s->nkeys], err) < 0)
			return -1;
	return 0;
}

static void print_request(const struct gwclient_signed *sc)
{
	fprintf(stderr, "%s %s%s%s HTTP/1.1\nHost: %s\n", sc->method, sc->path, sc->query ? "?" : "",
		sc->query ? sc->query : "", sc->authority);
	if (sc->body)
		fprintf(stderr, "Content-Type: application/json\n");
	for (size_t i = 0; i < sc->nfields; i++)
		fprintf(stderr, "%s: %s\n", sc->fields[i].name, sc->fields[i].value);
	fprintf(stderr, "\n");
	if (sc->body)
		fprintf(stderr, "%.*s\n", (int)sc->body_len, sc->body);
}

int call_send(struct call_session *s, struct gwclient_call *call, struct gwclient_response *resp,
	      struct vs_error *err)
{
	struct gwclient_signed sc;
	int r;

	memset(resp, 0, sizeof(*resp));
	call->keys = (const struct vs_key *const *)s->keys;
	call->nkeys = s->nkeys;
	r = gwclient_sign(s->gw, call, &sc, err);
	if (r == 0 && (s->o->print_request || s->o->dry_run))
		print_request(&sc);
	if (r == 0 && !s->o->dry_run) {
		r = gwclient_send(s->gw, &sc, resp, err);
		if (s->o->verbose && resp->status) {
			fprintf(stderr, "HTTP %ld\n", resp->status);
			for (size_t i = 0; i < resp->nheaders; i++)
				fprintf(stderr, "%s:%s\n", resp->headers[i].name, resp->headers[i].value);
		}
	}
	gwclient_signed_clear(&sc);
	return r;
}

void call_close(struct call_session *s)
{
	for (size_t i = 0; i < s->nkeys; i++)
		key_free(s->keys[i]);
	key_free(s->gateway_key);
	gwclient_free(s->gw);
	memset(s, 0, sizeof(*s));
}

int call_member(const struct call_opts *o, struct gwclient_call *call, const char *name,
		json_t **ans, const char **value, struct vs_error *err)
{
	struct call_session s;
	struct gwclient_response resp = {0};
	int r;

	*ans = NULL;
	r = call_open(o, &s, err);
	if (r == 0)
		r = call_send(&s, call, &resp, err);
	if (r == 0)
		r = gwclient_response_string(&resp, name, ans, value, err);
	gwclient_response_free(&resp);
	call_close(&s);
	return r;
}
