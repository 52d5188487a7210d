/* SPDX-License-Identifier: Apache-2.0 */
/* vmseal-gateway routes: the table gateway_http.c dispatches through, and what the resource
 * files share (layers: gateway_core.h). */
#ifndef VMSEAL_GATEWAY_ROUTES_H
#define VMSEAL_GATEWAY_ROUTES_H

#include "api/gateway_core.h"

/* Finds the route for method and path; *name gets the {} segment. Returns NULL with
 * *path_known set when only the method is wrong (405). */
const struct route *route_find(const char *method, const char *path, char *name, size_t namelen,
			       int *path_known);

/* Each resource's routes (a table and its length), searched by route_find in this order. */
extern const struct route domain_routes[], disk_routes[], template_routes[], audit_routes[],
	sign_routes[], ssh_routes[];
extern const size_t domain_nroutes, disk_nroutes, template_nroutes, audit_nroutes, sign_nroutes,
	ssh_nroutes;

/* The SSH certificate authority (gateway_ssh.c): loads --ssh-ca-key (refused when its
 * metadata says retired, revoked or destroyed) and the state in --ssh-state-dir. */
#define GATEWAY_SSH_STATE_DIR "/var/lib/vmseal/ssh"
int gateway_ssh_load(struct gateway *gw, struct vs_error *err);
void gateway_ssh_free(struct gateway *gw);

/* Templates (gateway_templates.c), shared with the domain and disk routes. */

/* 0 when --template-dir (and with need_overlay --image-dir) is set, else -1 with out 503. */
int template_dir_configured(struct gateway *gw, int need_overlay, struct reply *out);
/* The template file tmpl of --template-dir, judged by the policy as every route that uses a
 * template judges it: 0 with *v and path filled when it may be used (with need_overlay: as
 * the backing file of an overlay); else -1 with out set (503, 404, 403 template_denied). An
 * audit-only denial is audited and allowed. */
int template_allowed(struct gateway *gw, const char *tmpl, int need_overlay,
		     struct image_verdict *v, char *path, size_t pathlen, struct reply *out);
/* Creates overlay (O_EXCL: a name already taken is 409 conflict) as a qcow2 overlay on backing,
 * whose format is fmt, with qemu-img; on failure nothing is left and out is set (502). */
int template_make_overlay(const char *backing, const char *fmt, const char *overlay,
			  struct reply *out);

#endif
