/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway audit routes: the log's tail (GET /v1/audit) and its signed head. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/gateway_routes.h"
#include "lib/limits.h"
#include "lib/util.h"


struct audit_collect {
	json_t *arr;
	uint64_t last;
};

static int collect_entry(const struct audit_entry *e, const char *line, size_t len, void *arg)
{
	struct audit_collect *c = arg;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);

	if (j)
		json_array_append_new(c->arr, j);
	c->last = e->seq;
	return json_array_size(c->arr) >= VS_MAX_AUDIT_ANSWER_ENTRIES;
}

static void audit_tail(const struct call *c)
{
	struct reply *out = c->out;
	const char *query = c->query;
	struct audit_collect col = {.arr = json_array()};
	struct vs_error err = {0};
	uint64_t since = 1;

	if (query && *query &&
	    (strncmp(query, "since=", 6) || parse_uint_strict(query + 6, 0, UINT64_MAX, &since) < 0)) {
		reply_error(out, 400, "bad_request", "query must be since=N");
		json_decref(col.arr);
		return;
	}
	if (audit_foreach(c->gw->audit_path, since, collect_entry, NULL, &col, &err) < 0) {
		reply_error(out, 500, "io_error", "%s: %s", err.object, err.reason);
		json_decref(col.arr);
		return;
	}
	reply_ok(out, 200, json_pack("{s:o, s:I}", "entries", col.arr, "next",
				     (json_int_t)(col.last ? col.last + 1 : since)));
}

/* The log's head, its chain verified first, signed with the response key. */
static void audit_checkpoint(const struct call *c)
{
	struct reply *out = c->out;
	struct vs_error err = {0};
	uint64_t seq = 0;
	json_t *env;
	char *cp;

	if (gateway_checkpoint(c->gw, 1, &seq, &cp, &err) < 0) {
		reply_error(out, err.kind == VS_ERR_DENIED ? 409 : 500,
			    err.kind == VS_ERR_DENIED ? "audit_broken" : "io_error", "%s: %s", err.object, err.reason);
		return;
	}
	env = json_loads(cp, JSON_REJECT_DUPLICATES, NULL);
	free(cp);
	if (!env) {
		reply_error(out, 500, "internal", "cannot encode the checkpoint");
		return;
	}
	reply_ok(out, 200, json_pack("{s:I, s:o}", "seq", (json_int_t)seq, "checkpoint", env));
}

const struct route audit_routes[] = {
	{"GET", "/v1/audit", ROLE_AUDITOR | ROLE_ADMIN, 0, QUORUM_NONE, "gateway.audit.tail",
	 audit_tail},
	{"GET", "/v1/audit/checkpoint", ROLE_AUDITOR | ROLE_ADMIN, 0, QUORUM_NONE,
	 "gateway.audit.checkpoint", audit_checkpoint},
};
const size_t audit_nroutes = sizeof(audit_routes) / sizeof(audit_routes[0]);
