/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway route table: every resource's routes, found by method and path; health. */
#include <string.h>

#include "api/gateway_routes.h"

static void healthz(const struct call *c)
{
	reply_ok(c->out, 200, json_pack("{s:s}", "status", "ok"));
}

static const struct route health_routes[] = {
	{"GET", "/healthz", 0, 0, QUORUM_NONE, "gateway.healthz", healthz},
};

static const struct {
	const struct route *v;
	const size_t *n;
} tables[] = {
	{health_routes, NULL},  {domain_routes, &domain_nroutes}, {disk_routes, &disk_nroutes},
	{template_routes, &template_nroutes}, {audit_routes, &audit_nroutes},
	{sign_routes, &sign_nroutes}, {ssh_routes, &ssh_nroutes},
};

/* Matches path against a pattern; {} takes one non-empty segment. */
static int pattern_match(const char *pat, const char *path, char *name, size_t namelen)
{
	while (*pat && *path) {
		if (pat[0] == '{' && pat[1] == '}') {
			size_t n = strcspn(path, "/");

			if (n == 0 || n >= namelen)
				return 0;
			memcpy(name, path, n);
			name[n] = '\0';
			path += n;
			pat += 2;
			continue;
		}
		if (*pat++ != *path++)
			return 0;
	}
	return !*pat && !*path;
}

const struct route *route_find(const char *method, const char *path, char *name, size_t namelen,
			       int *path_known)
{
	*path_known = 0;
	name[0] = '\0';
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		size_t n = tables[t].n ? *tables[t].n : sizeof(health_routes) / sizeof(health_routes[0]);

		for (size_t i = 0; i < n; i++) {
			const struct route *rt = &tables[t].v[i];

			if (!pattern_match(rt->pattern, path, name, namelen))
				continue;
			*path_known = 1;
			if (!strcmp(rt->method, method))
				return rt;
		}
	}
	return NULL;
}
